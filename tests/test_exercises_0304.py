"""Tests of the notebook 03-04 exercise checkers in exercises.py.

A correct function must pass, the stub must fail as "not implemented", and each
usual mistake must fail with a message that names it. Every checker prints
exactly one line and never raises.
"""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from checkutil import run




# ---------------------------------------------------------------- learner functions: the cost


def cost_ok(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return 0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_ok_fancy_index(X, Theta, Y, R, lambda_=0.0):
    err = (X @ Theta.T - Y)[R]
    return float(err @ err) / 2 + lambda_ / 2 * (np.sum(X * X) + np.sum(Theta * Theta))


def cost_stub(X, Theta, Y, R, lambda_=0.0):
    # YOUR CODE HERE
    raise NotImplementedError


def cost_unmasked(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((X @ Theta.T - Y) ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_unregularised(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2)


def cost_masks_predictions_only(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T) - Y) ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_no_half(X, Theta, Y, R, lambda_=0.0):
    return np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_regularises_theta_only(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ / 2 * np.sum(Theta ** 2)


def cost_reg_without_half(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_article(X, Theta, Y, R, lambda_=0.0):
    """The article's function: returns (J, J + penalties) instead of one number."""
    J = 0.5 * np.sum(((X @ Theta.T - Y) ** 2) * R)
    return J, J + lambda_ / 2 * np.sum(Theta ** 2) + lambda_ / 2 * np.sum(X ** 2)


def cost_matrix(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * (R * (X @ Theta.T - Y)) ** 2


def cost_zeroes_Y_in_place(X, Theta, Y, R, lambda_=0.0):
    Y[~R] = 0.0
    return cost_ok(X, Theta, Y, R, lambda_)


def cost_crashes(X, Theta, Y, R, lambda_=0.0):
    return X @ Theta  # shapes do not align


def cost_chatty(X, Theta, Y, R, lambda_=0.0):
    print("debugging", X.shape)
    return cost_ok(X, Theta, Y, R, lambda_)


# ---------------------------------------------------------------- the cost checker


@pytest.mark.parametrize("fn", [cost_ok, cost_ok_fancy_index, cost_chatty])
def test_cost_correct_passes(fn, capsys):
    ok, line = run(exercises.check_cofi_cost, fn, capsys)
    assert ok, line
    assert fn.__name__ in line


@pytest.mark.parametrize("fn, words", [
    (cost_stub, "not implemented"),
    (cost_unmasked, "forgot the mask R"),
    (cost_unregularised, "forgot regularisation"),
    (cost_masks_predictions_only, "masks the predictions but not Y"),
    (cost_no_half, "not halved"),
    (cost_regularises_theta_only, "regularises Theta only"),
    (cost_reg_without_half, "lambda_/2"),
    (cost_article, "single number"),
    (cost_matrix, "wrong shape"),
    (cost_zeroes_Y_in_place, "in place"),
    (cost_crashes, "raised ValueError"),
])
def test_cost_mistakes_fail_with_the_right_message(fn, words, capsys):
    ok, line = run(exercises.check_cofi_cost, fn, capsys)
    assert not ok
    assert words in line, line
    assert fn.__name__ in line


def test_cost_unregularised_passes_lambda_zero_case_first(capsys):
    """Forgetting the penalty is caught on the lambda_=1.5 case, and the message says so."""
    _, line = run(exercises.check_cofi_cost, cost_unregularised, capsys)
    assert "lambda_=1.5" in line


def test_cost_checker_survives_non_callable(capsys):
    ok, line = run(exercises.check_cofi_cost, None, capsys)
    assert not ok and line.startswith("FAILED: ")


# ---------------------------------------------------------------- learner functions: the gradients


def grads_ok(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def grads_ok_list(X, Theta, Y, R, lambda_=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return [E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta]


def grads_stub(X, Theta, Y, R, lambda_=0.0):
    raise NotImplementedError


def grads_unmasked(X, Theta, Y, R, lambda_=0.0):
    """The article's gradient: the mask is missing."""
    E = X @ Theta.T - Y
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def grads_unregularised(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta, E.T @ X


def grads_theta_unregularised(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X


def grads_masks_predictions_only(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T) - Y
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def grads_wrong_sign(X, Theta, Y, R, lambda_=0.0):
    E = R * (Y - X @ Theta.T)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def grads_half_reg(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ / 2 * X, E.T @ X + lambda_ / 2 * Theta


def grads_swapped(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = grads_ok(X, Theta, Y, R, lambda_)
    return Tg, Xg


def grads_transposed(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = grads_ok(X, Theta, Y, R, lambda_)
    return Xg.T, Tg


def grads_one_array(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = grads_ok(X, Theta, Y, R, lambda_)
    return np.concatenate([Xg.ravel(), Tg.ravel()])


def grads_in_place(X, Theta, Y, R, lambda_=0.0):
    Y[~R] = 0.0
    return grads_ok(X, Theta, Y, R, lambda_)


# ---------------------------------------------------------------- the gradient checker


@pytest.mark.parametrize("fn", [grads_ok, grads_ok_list])
def test_gradients_correct_pass(fn, capsys):
    ok, line = run(exercises.check_cofi_gradients, fn, capsys)
    assert ok, line
    assert "numerical gradient" in line


@pytest.mark.parametrize("fn, words", [
    (grads_stub, "not implemented"),
    (grads_unmasked, "forgot the mask R"),
    (grads_unregularised, "forgot regularisation"),
    (grads_theta_unregularised, "Theta_grad: forgot regularisation"),
    (grads_masks_predictions_only, "masks the predictions but not Y"),
    (grads_wrong_sign, "wrong sign"),
    (grads_half_reg, "not lambda_/2"),
    (grads_swapped, "order is (X_grad, Theta_grad)"),
    (grads_transposed, "wrong shape"),
    (grads_one_array, "two arrays"),
    (grads_in_place, "in place"),
])
def test_gradient_mistakes_fail_with_the_right_message(fn, words, capsys):
    ok, line = run(exercises.check_cofi_gradients, fn, capsys)
    assert not ok
    assert words in line, line


def test_gradient_checker_catches_a_subtle_error_it_has_no_name_for(capsys):
    def grads_off_by_a_bit(X, Theta, Y, R, lambda_=0.0):
        Xg, Tg = grads_ok(X, Theta, Y, R, lambda_)
        return Xg * 1.001, Tg
    ok, line = run(exercises.check_cofi_gradients, grads_off_by_a_bit, capsys)
    assert not ok
    assert "wrong value on the case lambda_=0: X_grad differs from the reference" in line


def test_checkers_are_exported():
    assert {"check_cofi_cost", "check_cofi_gradients"} <= set(exercises.__all__)
