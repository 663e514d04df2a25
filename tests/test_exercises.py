"""Tests of the exercise checkers in exercises.py (notebooks 03-07).

For each checker: a correct function passes, the stub fails as "not
implemented", and each usual mistake fails with a message that names it.
Every checker prints exactly one line and never raises, whatever the
learner's function does (:func:`run` asserts that on every call).
"""

from __future__ import annotations

import numpy as np
import pytest

import exercises
import helpers


def run(checker, fn, capsys):
    """Call a checker and return (result, the one line it printed)."""
    result = checker(fn)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, f"expected exactly one line, got {out!r}"
    assert lines[0].startswith("PASSED: " if result else "FAILED: ")
    assert isinstance(result, bool)
    return result, lines[0]


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError


# ---------------------------------------------------------------- 03: the cost, learner functions


def cost_ok(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return 0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def cost_ok_fancy_index(X, Theta, Y, R, lambda_=0.0):
    err = (X @ Theta.T - Y)[R]
    return float(err @ err) / 2 + lambda_ / 2 * (np.sum(X * X) + np.sum(Theta * Theta))


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


# ---------------------------------------------------------------- 03: the cost checker


@pytest.mark.parametrize("fn", [cost_ok, cost_ok_fancy_index, cost_chatty])
def test_cost_correct_passes(fn, capsys):
    ok, line = run(exercises.check_cofi_cost, fn, capsys)
    assert ok, line
    assert fn.__name__ in line


@pytest.mark.parametrize("fn, words", [
    (stub, "not implemented"),
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


# ---------------------------------------------------------------- 04: the gradients, learner functions


def grads_ok(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def grads_ok_list(X, Theta, Y, R, lambda_=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return [E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta]


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


# ---------------------------------------------------------------- 04: the gradient checker


@pytest.mark.parametrize("fn", [grads_ok, grads_ok_list])
def test_gradients_correct_pass(fn, capsys):
    ok, line = run(exercises.check_cofi_gradients, fn, capsys)
    assert ok, line
    assert "numerical gradient" in line


@pytest.mark.parametrize("fn, words", [
    (stub, "not implemented"),
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


# ---------------------------------------------------------------- 05: normalize_ratings


def norm_ok(Y, R):
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0).sum(axis=1)
    mean = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
    return np.where(R, Y - mean[:, None], 0.0), mean


def norm_ok_loop(Y, R):
    Y_norm, Y_mean = np.zeros(Y.shape), np.zeros(Y.shape[0])
    for i in range(Y.shape[0]):
        rated = R[i]
        if rated.any():
            Y_mean[i] = Y[i, rated].mean()
            Y_norm[i, rated] = Y[i, rated] - Y_mean[i]
    return Y_norm, Y_mean


def norm_ok_prints(Y, R):
    print("debugging output the checker must swallow")
    return helpers.normalize_ratings(Y, R)


def norm_swapped(Y, R):
    Y_norm, Y_mean = norm_ok(Y, R)
    return Y_mean, Y_norm


def norm_article(Y, R):
    with np.errstate(divide="ignore", invalid="ignore"):
        ymean = np.sum(Y, axis=1) / np.sum(R, axis=1)
    ynorm = np.sum(Y, axis=1) * np.sum(R, axis=1) - ymean
    return ynorm, ymean


def norm_nan(Y, R):
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


def norm_counts_zeros(Y, R):
    mean = np.where(R, Y, 0).mean(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


def norm_sums_unrated(Y, R):
    counts = R.sum(axis=1)
    mean = np.divide(Y.sum(axis=1), counts, out=np.zeros(len(counts)), where=counts > 0)
    return np.where(R, Y - mean[:, None], 0.0), mean


def norm_everywhere(Y, R):
    _, mean = norm_ok(Y, R)
    return Y - mean[:, None], mean


def norm_in_place(Y, R):
    Y_norm, mean = norm_ok(Y, R)
    Y[:] = Y_norm
    return Y, mean


def norm_wrong_shape(Y, R):
    Y_norm, mean = norm_ok(Y, R)
    return Y_norm.T, mean


def norm_single(Y, R):
    return norm_ok(Y, R)[0]


def norm_raises(Y, R):
    return Y - Y.sum(axis=2), Y.mean(axis=1)  # AxisError: Y is 2-D


def test_normalize_correct_passes(capsys):
    for fn in (norm_ok, norm_ok_loop, norm_ok_prints, helpers.normalize_ratings):
        ok, line = run(exercises.check_normalize_ratings, fn, capsys)
        assert ok, line
        assert fn.__name__ in line


def test_normalize_stub_fails(capsys):
    ok, line = run(exercises.check_normalize_ratings, stub, capsys)
    assert not ok and "not implemented" in line


@pytest.mark.parametrize("fn, words", [
    (norm_swapped, ["order is (Y_norm, Y_mean)"]),
    (norm_article, ["shape (6,)", "matrix"]),
    (norm_nan, ["NaN", "nobody rated"]),
    (norm_counts_zeros, ["count the unrated entries as zeros", "R.sum(axis=1)"]),
    (norm_sums_unrated, ["add up Y where R is 0", "non-zero values"]),
    (norm_everywhere, ["must be 0 where R is 0"]),
    (norm_in_place, ["changes its input Y in place"]),
    (norm_wrong_shape, ["Y_norm has shape (5, 6)"]),
    (norm_single, ["two values"]),
    (norm_raises, ["raised", "AxisError"]),
])
def test_normalize_mistakes_named(fn, words, capsys):
    ok, line = run(exercises.check_normalize_ratings, fn, capsys)
    assert not ok
    for w in words:
        assert w in line, line


# ---------------------------------------------------------------- 06: one gradient-descent step


def step_ok(X, Theta, Y, R, lambda_, alpha):
    gx, gt = grads_ok(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


def step_ok_helpers(X, Theta, Y, R, lambda_, alpha):
    gx, gt = helpers.cofi_gradients(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


def step_sequential(X, Theta, Y, R, lambda_, alpha):
    X = X - alpha * grads_ok(X, Theta, Y, R, lambda_)[0]
    Theta = Theta - alpha * grads_ok(X, Theta, Y, R, lambda_)[1]
    return X, Theta


def step_sequential_theta_first(X, Theta, Y, R, lambda_, alpha):
    Theta = Theta - alpha * grads_ok(X, Theta, Y, R, lambda_)[1]
    X = X - alpha * grads_ok(X, Theta, Y, R, lambda_)[0]
    return X, Theta


def step_unmasked(X, Theta, Y, R, lambda_, alpha):
    E = X @ Theta.T - Y
    return X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)


def step_no_reg(X, Theta, Y, R, lambda_, alpha):
    gx, gt = grads_ok(X, Theta, Y, R, 0.0)
    return X - alpha * gx, Theta - alpha * gt


def step_uphill(X, Theta, Y, R, lambda_, alpha):
    gx, gt = grads_ok(X, Theta, Y, R, lambda_)
    return X + alpha * gx, Theta + alpha * gt


def step_no_alpha(X, Theta, Y, R, lambda_, alpha):
    gx, gt = grads_ok(X, Theta, Y, R, lambda_)
    return X - gx, Theta - gt


def step_x_only(X, Theta, Y, R, lambda_, alpha):
    return X - alpha * grads_ok(X, Theta, Y, R, lambda_)[0], Theta


def step_in_place(X, Theta, Y, R, lambda_, alpha):
    gx, gt = grads_ok(X, Theta, Y, R, lambda_)
    X -= alpha * gx
    Theta -= alpha * gt
    return X, Theta


def step_swapped(X, Theta, Y, R, lambda_, alpha):
    X_new, Theta_new = step_ok(X, Theta, Y, R, lambda_, alpha)
    return Theta_new, X_new


def step_wrong(X, Theta, Y, R, lambda_, alpha):
    X_new, Theta_new = step_ok(X, Theta, Y, R, lambda_, alpha)
    return X_new * 1.01, Theta_new


def step_returns_none(X, Theta, Y, R, lambda_, alpha):
    step_ok(X, Theta, Y, R, lambda_, alpha)


def test_step_correct_passes(capsys):
    for fn in (step_ok, step_ok_helpers):
        ok, line = run(exercises.check_gradient_step, fn, capsys)
        assert ok, line
        assert "simultaneous" in line


def test_step_stub_fails(capsys):
    ok, line = run(exercises.check_gradient_step, stub, capsys)
    assert not ok and "not implemented" in line


@pytest.mark.parametrize("fn, words", [
    (step_sequential, ["sequential", "*new* X"]),
    (step_sequential_theta_first, ["sequential", "*new* Theta"]),
    (step_unmasked, ["R * (X @ Theta.T - Y)"]),
    (step_no_reg, ["ignores lambda_"]),
    (step_uphill, ["uphill"]),
    (step_no_alpha, ["learning rate"]),
    (step_x_only, ["only X moves"]),
    (step_in_place, ["in place"]),
    (step_swapped, ["order is (X_new, Theta_new)"]),
    (step_wrong, ["X_new differs"]),
    (step_returns_none, ["two arrays"]),
])
def test_step_mistakes_named(fn, words, capsys):
    ok, line = run(exercises.check_gradient_step, fn, capsys)
    assert not ok
    for w in words:
        assert w in line, line


# ---------------------------------------------------------------- 07: top-n selection


def top_ok(predictions, rated, n):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n]


def top_ok_list(predictions, rated, n):
    candidates = [i for i in range(len(predictions)) if not rated[i]]
    return sorted(candidates, key=lambda i: predictions[i], reverse=True)[:n]


def top_ok_masked(predictions, rated, n):
    masked = np.where(rated, -np.inf, predictions)
    k = min(n, int((~rated).sum()))
    return np.argsort(masked)[::-1][:k]


def top_includes_rated(predictions, rated, n):
    return np.argsort(-predictions, kind="stable")[:n]


def top_ascending(predictions, rated, n):
    order = np.argsort(predictions, kind="stable")
    return order[~rated[order]][:n]


def top_as_text(predictions, rated, n):
    free = [i for i in range(len(predictions)) if not rated[i]]
    return sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]


def top_values(predictions, rated, n):
    return np.sort(predictions[~rated])[::-1][:n]


def top_fixed_n(predictions, rated, n):
    order = np.argsort(-predictions, kind="stable")
    out = list(order[~rated[order]][:n])
    while len(out) < n:
        out.append(out[-1])
    return out


def top_off_by_one(predictions, rated, n):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][: n - 1]


def top_in_place(predictions, rated, n):
    predictions[rated] = -np.inf
    return np.argsort(-predictions, kind="stable")[: min(n, int((~rated).sum()))]


def test_top_correct_passes(capsys):
    for fn in (top_ok, top_ok_list, top_ok_masked):
        ok, line = run(exercises.check_top_n, fn, capsys)
        assert ok, line


def test_top_stub_fails(capsys):
    ok, line = run(exercises.check_top_n, stub, capsys)
    assert not ok and "not implemented" in line


@pytest.mark.parametrize("fn, words", [
    (top_includes_rated, ["already rated"]),
    (top_ascending, ["lowest predictions first"]),
    (top_as_text, ["as text"]),
    (top_values, ["predicted ratings", "indices"]),
    (top_fixed_n, ["twice"]),
    (top_off_by_one, ["returned 4 movies for n=5"]),
    (top_in_place, ["in place"]),
])
def test_top_mistakes_named(fn, words, capsys):
    ok, line = run(exercises.check_top_n, fn, capsys)
    assert not ok
    for w in words:
        assert w in line, line


def test_top_needs_all_when_n_too_large(capsys):
    def top_pads_short(predictions, rated, n):
        order = np.argsort(-predictions, kind="stable")
        free = order[~rated[order]]
        return free[:n] if n <= len(free) else free[: len(free) - 1]

    ok, line = run(exercises.check_top_n, top_pads_short, capsys)
    assert not ok and "only 9 movies are unrated" in line


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize("checker", [exercises.check_normalize_ratings,
                                     exercises.check_gradient_step, exercises.check_top_n])
@pytest.mark.parametrize("bad", [lambda *a: None, lambda *a: "text", lambda *a: (1, 2, 3),
                                 lambda *a: 1 / 0, lambda *a: [object()]])
def test_never_raises(checker, bad, capsys):
    ok, line = run(checker, bad, capsys)
    assert not ok
    assert "the check itself failed" not in line, line


def test_checkers_are_exported():
    assert {"check_cofi_cost", "check_cofi_gradients"} <= set(exercises.__all__)


@pytest.mark.parametrize("checker, fn", [(exercises.check_cofi_cost, helpers.cofi_cost),
                                         (exercises.check_cofi_gradients, helpers.cofi_gradients)])
def test_reference_formulas_agree_with_helpers(checker, fn, capsys):
    """The cost and gradient checkers use their own reference formula: helpers' code must pass them."""
    ok, line = run(checker, fn, capsys)
    assert ok, line
