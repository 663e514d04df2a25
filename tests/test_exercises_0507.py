"""Tests of the notebook 05-07 exercise checkers in exercises.py.

For each checker: a correct function passes, the stub fails as "not
implemented", and each usual mistake fails with a message that names it.
Every checker prints exactly one line and never raises, whatever the
learner's function does.
"""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from checkutil import run
import helpers




def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError


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


def _grads(X, Theta, Y, R, lambda_):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def step_ok(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


def step_ok_helpers(X, Theta, Y, R, lambda_, alpha):
    gx, gt = helpers.cofi_gradients(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


def step_sequential(X, Theta, Y, R, lambda_, alpha):
    X = X - alpha * _grads(X, Theta, Y, R, lambda_)[0]
    Theta = Theta - alpha * _grads(X, Theta, Y, R, lambda_)[1]
    return X, Theta


def step_sequential_theta_first(X, Theta, Y, R, lambda_, alpha):
    Theta = Theta - alpha * _grads(X, Theta, Y, R, lambda_)[1]
    X = X - alpha * _grads(X, Theta, Y, R, lambda_)[0]
    return X, Theta


def step_unmasked(X, Theta, Y, R, lambda_, alpha):
    E = X @ Theta.T - Y
    return X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)


def step_no_reg(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, 0.0)
    return X - alpha * gx, Theta - alpha * gt


def step_uphill(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X + alpha * gx, Theta + alpha * gt


def step_no_alpha(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X - gx, Theta - gt


def step_x_only(X, Theta, Y, R, lambda_, alpha):
    return X - alpha * _grads(X, Theta, Y, R, lambda_)[0], Theta


def step_in_place(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
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
