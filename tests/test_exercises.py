"""Tests of the exercise checkers in exercises.py (notebooks 03-07).

For each checker: a correct function passes, the stub fails as "not
implemented", and each usual mistake fails with a message that names it.
Every checker prints exactly one line and never raises, whatever the
learner's function does (:func:`run` asserts that on every call, on several
seeds: the test problems are drawn afresh on every run). Then the rules
(no loops, no warnings, no calling the tutorial's own solution), the
messages for rounded, mis-shaped and mis-scaled answers, and the pieces the
grader reuses (:func:`exercises.planned_calls`, :func:`exercises.judge`
with a replaying caller, :func:`exercises.record_call`,
:func:`exercises.loops_in`).
"""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import exercises, settings
import helpers


SEEDS = (0, 1, 2, 3)


def run(checker, fn, capsys):
    """Call a checker on several seeds; return (result, the one line it printed for the first seed)."""
    verdicts = []
    for seed in SEEDS:
        result = checker(fn, seed=seed)
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert len(lines) == 1, f"expected exactly one line, got {out!r}"
        assert lines[0].startswith("PASSED: " if result else "FAILED: ")
        assert isinstance(result, bool)
        verdicts.append((result, lines[0]))
    assert len({r for r, _ in verdicts}) == 1, f"the verdict depends on the seed: {verdicts}"
    return verdicts[0]


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
    assert "wrong value on the case lambda_=0: X_grad differs from the right gradient: X_grad[" in line
    assert "(the largest difference)" in line


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
    return norm_ok(Y, R)


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
    for fn in (norm_ok, norm_ok_loop, norm_ok_prints):
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
    (step_wrong, ["X_new differs from the result of one step", "largest difference"]),
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
    assert {"check_cofi_cost", "check_cofi_gradients", "check_normalize_ratings", "check_gradient_step",
            "check_top_n"} <= set(exercises.__all__) & set(exercises.EXERCISES)


# ---------------------------------------------------------------- the rules: no loops, no warnings, no reference


def cost_loops(X, Theta, Y, R, lambda_=0.0):
    J = 0.0
    for i, j in zip(*np.nonzero(R)):
        J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2
    return J + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


def grads_comprehension(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    X_grad = np.array([E[i] @ Theta for i in range(X.shape[0])]) + lambda_ * X
    return X_grad, E.T @ X + lambda_ * Theta


def norm_warns(Y, R):
    counts = R.sum(axis=1)
    mean = np.nan_to_num(np.where(R, Y, 0).sum(axis=1) / counts)  # 0 / 0 for the movie nobody rated
    return np.where(R, Y - mean[:, None], 0.0), mean


def cost_calls_helpers(X, Theta, Y, R, lambda_=0.0):
    return helpers.cofi_cost(X, Theta, Y, R, lambda_)


def grads_call_hidden(X, Theta, Y, R, lambda_=0.0):
    fn = getattr(helpers, "cofi_" + "gradients")  # no name the source shows
    return fn(X, Theta, Y, R, lambda_)


def step_calls_gradient_descent(X, Theta, Y, R, lambda_, alpha):
    return tuple(helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1)[:2])


@pytest.mark.parametrize("checker, fn, words", [
    (exercises.check_cofi_cost, cost_loops, ["values are right", "a for loop (line 3)", "no Python loops"]),
    (exercises.check_cofi_gradients, grads_comprehension, ["values are right", "a list comprehension (line 3)"]),
    (exercises.check_normalize_ratings, norm_warns, ["values are right", "RuntimeWarning", "where=counts > 0"]),
])
def test_rules_broken_by_right_values(checker, fn, words, capsys):
    ok, line = run(checker, fn, capsys)
    assert not ok
    for w in words:
        assert w in line, line


@pytest.mark.parametrize("checker, fn, called", [
    (exercises.check_cofi_cost, cost_calls_helpers, "helpers.cofi_cost"),
    (exercises.check_cofi_gradients, grads_call_hidden, "helpers.cofi_gradients"),
    (exercises.check_gradient_step, step_calls_gradient_descent, "helpers.gradient_descent"),
])
def test_calling_the_tutorials_solution_is_not_done(checker, fn, called, capsys):
    ok, line = run(checker, fn, capsys)
    assert not ok
    assert f"calls {called}, the tutorial's own solution" in line, line


@pytest.mark.parametrize("checker, fn", [(exercises.check_cofi_cost, helpers.cofi_cost),
                                         (exercises.check_cofi_gradients, helpers.cofi_gradients),
                                         (exercises.check_normalize_ratings, helpers.normalize_ratings)])
def test_the_tutorials_function_itself_is_not_done(checker, fn, capsys):
    ok, line = run(checker, fn, capsys)
    assert not ok and f"is helpers.{fn.__name__} itself" in line, line


def test_patching_helpers_changes_no_expected_value(monkeypatch, capsys):
    """The checkers' answers come from exercises' own formulas: a wrong function put into helpers stays wrong."""
    monkeypatch.setattr(helpers, "normalize_ratings", norm_counts_zeros)
    monkeypatch.setattr(helpers, "cofi_cost", cost_no_half)
    assert not run(exercises.check_normalize_ratings, norm_counts_zeros, capsys)[0]
    assert not run(exercises.check_cofi_cost, cost_no_half, capsys)[0]
    assert run(exercises.check_cofi_cost, cost_ok, capsys)[0]


@pytest.mark.parametrize("checker, fn", [(exercises.check_cofi_cost, cost_ok),
                                         (exercises.check_cofi_gradients, grads_ok),
                                         (exercises.check_normalize_ratings, norm_ok),
                                         (exercises.check_gradient_step, step_ok),
                                         (exercises.check_top_n, top_ok)])
def test_reference_formulas_agree_with_helpers(checker, fn, capsys):
    """Each exercise's private reference is right: the learner-style correct function passes with it."""
    assert run(checker, fn, capsys)[0]
    for seed in SEEDS:
        for arrays, scalars in exercises.planned_calls(checker.__name__, seed):
            expected = exercises.EXERCISES[checker.__name__].reference(*arrays, *scalars)
            got = fn(*arrays, *scalars)
            pairs = zip(got, expected) if isinstance(expected, tuple) else [(got, expected)]
            assert all(np.allclose(a, b) for a, b in pairs)


# ---------------------------------------------------------------- messages that say what is wrong


def cost_rounded(X, Theta, Y, R, lambda_=0.0):
    return round(float(cost_ok(X, Theta, Y, R, lambda_)), 3)


def cost_transposed_product(X, Theta, Y, R, lambda_=0.0):
    E = R * (X.T @ Theta - Y)
    return 0.5 * np.sum(E ** 2)


def grads_doubled(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = grads_ok(X, Theta, Y, R, lambda_)
    return 2 * Xg, Tg


@pytest.mark.parametrize("checker, fn, words", [
    (exercises.check_cofi_cost, cost_rounded, ["rounded to 3 decimals", "round only when printing"]),
    (exercises.check_cofi_cost, cost_transposed_product, ["raised ValueError", "X (6, 3), Theta (4, 3)",
                                                          "X @ Theta.T are (6, 4)"]),
    (exercises.check_cofi_gradients, grads_doubled, ["X_grad is 2 times the right gradient", "constant factor"]),
])
def test_messages_say_what_is_wrong(checker, fn, words, capsys):
    ok, line = run(checker, fn, capsys)
    assert not ok
    for w in words:
        assert w in line, line
    if "rounded" in words[0]:  # both numbers printed with enough digits to differ
        got, expected = line.split("(got ")[1].split(")")[0].split(", expected ")
        assert got != expected


def test_problems_are_new_on_every_run():
    """A list copied from one FAILED message fails on the next run (the problems are drawn afresh)."""
    (predictions, rated), _ = exercises.planned_calls("check_top_n", 0)[0]
    answer = list(top_ok(predictions, rated, 5))

    def top_hard_coded(predictions, rated, n):
        return answer[:n]

    assert exercises.judge("check_top_n", top_hard_coded, seed=0).status == "failed"  # n > unrated case
    assert "expected" not in exercises.judge("check_top_n", top_hard_coded, seed=0).message.split("n=5")[0]
    for seed in (1, 2, 3, None):
        assert exercises.judge("check_top_n", top_hard_coded, seed=seed).message.startswith(
            ("recommends movie", "returned", "has the right", "lists", "sorts")), seed
    firsts = {tuple(exercises.planned_calls("check_top_n", s)[0][0][0]) for s in range(5)}
    assert len(firsts) == 5


# ---------------------------------------------------------------- under nbgrader, and the grader's pieces


def test_graded_run_raises_on_failure_only(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert settings.graded_run()
    assert exercises.check_cofi_cost(cost_ok) is True
    with pytest.raises(AssertionError, match="FAILED: stub: not implemented"):
        exercises.check_cofi_cost(stub)
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED: stub")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert not settings.graded_run() and exercises.check_cofi_cost(stub) is False


def test_judge_statuses():
    assert exercises.judge("check_cofi_cost", cost_ok).status == "passed"
    assert exercises.judge("check_cofi_cost", cost_loops).status == "rule"
    assert exercises.judge("check_cofi_cost", cost_calls_helpers).status == "not_done"
    assert exercises.judge("check_cofi_cost", cost_no_half).status == "failed"
    verdict = exercises.judge("check_cofi_cost", stub, name="my_cofi_cost")
    assert verdict.line == "FAILED: my_cofi_cost: " + verdict.message and not verdict.ok


@pytest.mark.parametrize("fn, status", [(grads_ok, "passed"), (grads_unmasked, "failed"),
                                        (grads_in_place, "failed"), (stub, "failed")])
def test_judge_replays_recorded_calls(fn, status):
    """What the grader does: plan the calls, make them elsewhere with record_call, judge the records."""
    seed = 7
    records, afters = [], []
    for arrays, scalars in exercises.planned_calls("check_cofi_gradients", seed):
        copies = [a.copy() for a in arrays]
        records.append(exercises.record_call(fn, copies + list(scalars)))
        afters.append(copies)
    live = exercises.judge("check_cofi_gradients", fn, seed=seed)

    def replay(k, given, scalars):
        for g, after in zip(given, afters[k]):
            g[...] = after  # what the function did to its inputs
        return records[k]

    replayed = exercises.judge("check_cofi_gradients", name=fn.__name__, seed=seed, caller=replay,
                               source="def f(): pass")
    assert replayed.status == live.status == status
    assert replayed.line == live.line


def test_record_call():
    def noisy(a):
        print("hidden")
        return np.log(a - a)  # divide by zero -> -inf, with a RuntimeWarning
    record = exercises.record_call(noisy, (np.ones(2),))
    assert record["ok"] and np.all(np.isinf(record["out"]))
    assert record["warnings"][0][0] == "RuntimeWarning"
    assert exercises.record_call(stub, ())["error"] is None
    assert exercises.record_call(lambda: 1 / 0, ())["error"] == "ZeroDivisionError: division by zero"
    codes = exercises.reference_codes(["helpers.cofi_cost", "helpers.no_such_function", "no_such_module.f"])
    assert set(codes) == {"cofi_cost", "no_such_function"} and codes["cofi_cost"][0][1] == "helpers.cofi_cost"
    called = exercises.record_call(cost_calls_helpers, (np.ones((2, 1)), np.ones((3, 1)), np.ones((2, 3)),
                                                        np.ones((2, 3), bool)), codes)
    assert called["references"] == ["helpers.cofi_cost"]


def test_loops_in():
    source = ("def f(a):\n    total = sum(x for x in a)\n    while False:\n        pass\n"
              "    return list(map(abs, a))\n\ndef g(a):\n    for x in a:\n        pass\n")
    assert exercises.loops_in(source, "f") == ["a generator expression (line 2)", "a while loop (line 3)",
                                               "map() (line 5)"]
    assert exercises.loops_in(source, "g") == ["a for loop (line 2)"]
    assert exercises.loops_in("def f(a):\n    return a @ a\n", "f") == []
    assert exercises.loops_in("[x for x in y]", "missing") == ["a list comprehension (line 1)"]
