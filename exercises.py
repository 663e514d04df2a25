"""Self-checks for the classroom exercises in notebooks 03-07.

Each public ``check_*`` function takes the learner's function, runs it on a
few small problems whose answers are known, and prints exactly one line:
``PASSED: <name> <what it does right>`` or ``FAILED: <name>: <what is wrong>``.
It returns ``True``/``False`` and never raises, whatever the learner's
function does, so "Run All" carries on to the rest of the notebook.

How a check works: :func:`_run_cases` calls the learner's function on each
case (its own prints swallowed) and stops at an exception or an input changed
in place; the topic's checker then compares the result with the answer and,
when it is wrong, recognises the usual mistakes by computing what each of
them would return (``_*_variants``) and naming the first that matches
(``_*_HINTS``). A wrong answer is signalled inside the module by raising
:class:`_Fail`; :func:`_verdict` turns that into the one printed line.

The answers come from :mod:`helpers` (``normalize_ratings``,
``gradient_descent``, ``check_gradients``) or, for the cost and the
gradients, from the reference formula beside the mistakes it is told from.
"""

from __future__ import annotations

import contextlib
import io
import traceback

import numpy as np

import helpers

__all__ = ["report", "check_cofi_cost", "check_cofi_gradients",
           "check_normalize_ratings", "check_gradient_step", "check_top_n"]

_RTOL, _ATOL = 1e-6, 1e-8
_FACTORS = ("X", "Theta", "Y", "R")
_JUNK = " (with non-zero values stored in the unrated entries of Y)"


def report(ok: bool, what: str, why: str = "") -> bool:
    """Print a one-line PASSED/FAILED verdict and return ``ok``."""
    if ok:
        print(f"PASSED: {what}")
    else:
        print(f"FAILED: {what}: {why}")
    return bool(ok)


# ---------------------------------------------------------------- the shared core


class _Fail(Exception):
    """The reason a learner's function fails, found while checking it."""


def _verdict(fn, check) -> bool:
    """Run ``check(fn)`` and report: PASSED with the text it returns, else why not."""
    name = getattr(fn, "__name__", "your function")
    try:
        return report(True, f"{name} {check(fn)}")
    except _Fail as fail:
        return report(False, name, str(fail))
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, name, f"the check itself failed ({type(exc).__name__}: {exc})")


def _call(fn, *args, **kwargs):
    """Call the learner's function with its prints swallowed: ``(True, result)``,
    or ``(False, message)`` if it raised."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return True, fn(*args, **kwargs)
    except NotImplementedError:
        return False, "not implemented yet (the stub still raises NotImplementedError)"
    except Exception as exc:  # a learner's bug: show it, don't stop the notebook
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return False, f"raised {last}"


def _run_cases(fn, cases, names, fix):
    """Call ``fn(*arrays, *scalars)`` for each ``(label, arrays, scalars)`` in ``cases``.

    ``fn`` gets copies of ``arrays`` (named ``names``). Yields
    ``(label, arrays, scalars, output)``; raises :class:`_Fail` when ``fn``
    raises or changes one of its inputs in place (``fix`` says what to do).
    """
    for label, arrays, scalars in cases:
        given = [a.copy() for a in arrays]
        ok, out = _call(fn, *given, *scalars)
        if not ok:
            raise _Fail(out)
        changed = [n for n, a, g in zip(names, arrays, given) if not np.array_equal(a, g)]
        if changed:
            raise _Fail(f"changes its input {' and '.join(changed)} in place; {fix}")
        yield label, arrays, scalars, out


def _close(a, b) -> bool:
    """Equal within the checks' tolerance; tuples compare element by element."""
    if isinstance(a, tuple):
        return all(_close(x, y) for x, y in zip(a, b))
    return bool(np.allclose(a, b, rtol=_RTOL, atol=_ATOL))


def _diagnose(got, good, variants, hints):
    """The hint of the first mistake in ``hints`` whose variant gives ``got`` (and not ``good``)."""
    for mistake, hint in hints.items():
        if _close(got, variants[mistake]) and not _close(variants[mistake], good):
            return hint
    return None


def _differ(names, got, good) -> str:
    """'A differs' or 'A and B differ': the outputs that are not close to the answer."""
    wrong = [n for n, g, r in zip(names, got, good) if not _close(g, r)]
    return f"{' and '.join(wrong)} {'differs' if len(wrong) == 1 else 'differ'}"


def _two_arrays(out, names, noun="arrays"):
    """``out`` as two float arrays, or :class:`_Fail` saying what the function returned."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise _Fail(f"should return two {noun}, ({names[0]}, {names[1]}); got {got}")
    try:
        return tuple(np.asarray(a, dtype=float) for a in out)
    except (TypeError, ValueError):
        raise _Fail(f"{names[0]} and {names[1]} must be numeric arrays") from None


def _check_factor_shapes(got, X, Theta, names):
    """:class:`_Fail` unless ``got`` holds an array shaped like ``X`` then one like ``Theta``."""
    first, second = got
    if first.shape == X.shape and second.shape == Theta.shape:
        return
    if first.shape == Theta.shape and second.shape == X.shape:
        raise _Fail(f"returns ({names[1]}, {names[0]}); the order is ({names[0]}, {names[1]})")
    raise _Fail(f"wrong shape: {names[0]} must be {X.shape} like X (a row per movie) and {names[1]} "
                f"{Theta.shape} like Theta (a row per user); got {first.shape} and {second.shape}")


# ---------------------------------------------------------------- test problems


def _factor_problem(n_movies, n_users, k, junk):
    """A small (X, Theta, Y, R) problem; unrated Y entries are 0, or random values if ``junk``."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[-1, -1] = True
    R[0, -1] = R[-1, 0] = False  # at least one rated and one unrated entry in the corners
    Y[~R] = rng.uniform(-50, 50, size=int((~R).sum())) if junk else 0.0
    return X, Theta, Y, R


def _factor_cases():
    """The cost and gradient cases: ``(label, (X, Theta, Y, R), (lambda_,))``."""
    yield "lambda_=0", _factor_problem(6, 4, 3, junk=False), (0.0,)
    yield "lambda_=1.5", _factor_problem(6, 4, 3, junk=False), (1.5,)
    yield ("lambda_=1.5 with non-zero values in the unrated entries of Y",
           _factor_problem(7, 5, 2, junk=True), (1.5,))


def _ratings(junk):
    """A 6-movie x 5-user (Y, R): movie 4 has no ratings, movie 5 has exactly one."""
    rng = np.random.default_rng(57)
    Y = rng.integers(1, 6, size=(6, 5)).astype(float)
    R = np.array([[1, 0, 1, 1, 0],
                  [1, 1, 1, 1, 1],
                  [0, 1, 0, 1, 1],
                  [1, 0, 0, 0, 1],
                  [0, 0, 0, 0, 0],
                  [0, 0, 1, 0, 0]], dtype=bool)
    Y[~R] = rng.uniform(-20, 20, size=int((~R).sum())) if junk else 0.0
    return Y, R


# ---------------------------------------------------------------- the cost (notebook 03)


def _cost_variants(X, Theta, Y, R, lambda_):
    """The correct cost and what the common mistakes give, by name."""
    P = X @ Theta.T
    masked = np.where(R, P - Y, 0.0)
    sq_masked = float(np.sum(masked ** 2))
    rx, rt = float(np.sum(X ** 2)), float(np.sum(Theta ** 2))
    reg = lambda_ / 2 * (rx + rt)
    return {
        "correct": sq_masked / 2 + reg,
        "unmasked": float(np.sum((P - Y) ** 2)) / 2 + reg,
        "pred_only": float(np.sum((np.where(R, P, 0.0) - Y) ** 2)) / 2 + reg,
        "no_half": sq_masked + reg,
        "mean": float(np.mean(masked ** 2)) / 2 + reg,
        "no_reg": sq_masked / 2,
        "reg_x_only": sq_masked / 2 + lambda_ / 2 * rx,
        "reg_theta_only": sq_masked / 2 + lambda_ / 2 * rt,
        "reg_no_half": sq_masked / 2 + lambda_ * (rx + rt),
    }


_COST_HINTS = {
    "unmasked": "forgot the mask R: unrated entries are counted as if they were ratings; "
                "multiply the error (X @ Theta.T - Y) by R before squaring",
    "pred_only": "masks the predictions but not Y, so the values stored in unrated entries of Y still count; "
                 "multiply the whole error (X @ Theta.T - Y) by R",
    "no_half": "the squared-error sum is not halved (J starts with 1/2)",
    "mean": "averages the squared errors; J sums them (and halves the sum)",
    "no_reg": "forgot regularisation: the result is the unregularised cost; add lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_x_only": "regularises X only; the penalty is lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_theta_only": "regularises Theta only; the penalty is lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_no_half": "the regularisation term is lambda_/2 * (...), not lambda_ * (...)",
}


def _single_number(out) -> float:
    """``out`` as one float, or :class:`_Fail` saying what the function returned instead."""
    if isinstance(out, (tuple, list)) or np.ndim(out) != 0:
        kind = type(out).__name__ if isinstance(out, (tuple, list)) else f"an array of shape {np.shape(out)}"
        raise _Fail(f"wrong shape: should return a single number J, got {kind} "
                    "(sum over all entries, e.g. with np.sum)")
    try:
        return float(out)
    except (TypeError, ValueError):
        raise _Fail(f"should return a number; got {type(out).__name__}") from None


def _check_cost(fn) -> str:
    """The cost checks; returns the PASSED text or raises :class:`_Fail`."""
    for label, arrays, (lambda_,), out in _run_cases(
            fn, _factor_cases(), _FACTORS, "compute with new arrays instead (e.g. err = X @ Theta.T - Y)"):
        J = _single_number(out)
        variants = _cost_variants(*arrays, lambda_)
        expected = variants["correct"]
        if _close(J, expected):
            continue
        hint = _diagnose(J, expected, variants, _COST_HINTS)
        if hint:
            raise _Fail(f"on the case {label}: {hint}")
        raise _Fail(f"wrong value on the case {label}: got {J:.6g}, expected {expected:.6g}")
    return ("matches the reference cost with and without regularisation, "
            "ignoring whatever unrated entries of Y hold")


def check_cofi_cost(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> J`` (notebook 03).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares with the reference
    cost (the formula of :func:`helpers.cofi_cost`) and names the mistake
    when the result equals what a known mistake gives: a missing mask,
    masking only the predictions, a missing 1/2, a mean instead of a sum, a
    missing or partial regularisation term. Also fails a function that
    returns something other than a single number or changes its inputs in
    place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _verdict(fn, _check_cost)


# ---------------------------------------------------------------- the gradients (notebook 04)


def _gradient_variants(X, Theta, Y, R, lambda_):
    """Correct gradients and what the common mistakes give, by name: (X_grad, Theta_grad)."""
    P = X @ Theta.T
    E = np.where(R, P - Y, 0.0)

    def grads(err, lam=lambda_):
        return err @ Theta + lam * X, err.T @ X + lam * Theta

    return {
        "correct": grads(E),
        "unmasked": grads(P - Y),
        "pred_only": grads(np.where(R, P, 0.0) - Y),
        "sign": (-(E @ Theta) + lambda_ * X, -(E.T @ X) + lambda_ * Theta),
        "no_reg": grads(E, 0.0),
        "reg_half": grads(E, lambda_ / 2),
    }


_GRADIENT_HINTS = {
    "unmasked": "forgot the mask R: the error must be R * (X @ Theta.T - Y), otherwise unrated entries "
                "pull the predictions towards whatever Y holds there",
    "pred_only": "masks the predictions but not Y, so values stored in unrated entries of Y still count; "
                 "multiply the whole error (X @ Theta.T - Y) by R",
    "sign": "the gradient has the wrong sign: use the error prediction - rating (X @ Theta.T - Y)",
    "no_reg": "forgot regularisation: add lambda_ * X to X_grad and lambda_ * Theta to Theta_grad",
    "reg_half": "the regularisation gradient is lambda_ * X (and lambda_ * Theta), not lambda_/2 * X",
}


def _gradient_mistake(got, variants):
    """Name the mistake that reproduces ``got``, looking at both arrays, then each one alone."""
    good = variants["correct"]
    hint = _diagnose(got, good, variants, _GRADIENT_HINTS)
    if hint:
        return hint
    for i, name in enumerate(("X_grad", "Theta_grad")):
        if not _close(got[i], good[i]):
            hint = _diagnose(got[i], good[i], {k: v[i] for k, v in variants.items()}, _GRADIENT_HINTS)
            if hint:
                return f"{name}: {hint}"
    return None


def _check_gradients(fn) -> str:
    """The gradient checks, then central differences; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_grad", "Theta_grad")
    for label, arrays, (lambda_,), out in _run_cases(
            fn, _factor_cases(), _FACTORS,
            "compute with new arrays instead (e.g. E = R * (X @ Theta.T - Y))"):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, arrays[0], arrays[1], names)
        variants = _gradient_variants(*arrays, lambda_)
        if _close(got, variants["correct"]):
            continue
        hint = _gradient_mistake(got, variants)
        if hint:
            raise _Fail(f"on the case {label}: {hint}")
        wrong = _differ(names, got, variants["correct"])
        raise _Fail(f"wrong value on the case {label}: {wrong} from the reference")
    ok, diff = _call(helpers.check_gradients, 1.5, 0, gradient_fn=fn)
    if not ok or not diff < 1e-9:
        why = diff if not ok else f"relative difference {diff:.1e} against central differences"
        raise _Fail(f"the numerical gradient check disagrees: {why}")
    return ("matches the reference gradients and the numerical gradient "
            "(relative difference < 1e-9), with and without regularisation")


def check_cofi_gradients(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` (notebook 04).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares both gradients with
    the reference (the formula of :func:`helpers.cofi_gradients`) and names
    the mistake when it is a known one: a missing mask, masking only the
    predictions, a flipped sign, a missing or halved regularisation term,
    the two arrays swapped or transposed. A function that passes is finally
    run through :func:`helpers.check_gradients` (central differences) at
    ``lambda_=1.5``.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _verdict(fn, _check_gradients)


# ---------------------------------------------------------------- mean normalisation (notebook 05)


def _normalize_shapes(Y, Y_norm, Y_mean):
    """:class:`_Fail` unless Y_norm is shaped like Y and Y_mean holds one mean per movie."""
    n_movies = Y.shape[0]
    if Y_norm.ndim == 1 and Y_mean.shape == Y.shape:
        raise _Fail("returns (Y_mean, Y_norm); the order is (Y_norm, Y_mean)")
    if Y_norm.shape != Y.shape:
        raise _Fail(f"Y_norm has shape {Y_norm.shape}; it must be a matrix shaped like Y {Y.shape}, "
                    "one normalised rating per entry (the article's sum(y)*sum(r) - ymean gives one "
                    "number per movie)")
    if Y_mean.shape not in ((n_movies,), (n_movies, 1)):
        raise _Fail(f"Y_mean has shape {Y_mean.shape}; expected ({n_movies},), "
                    "one mean per movie (average along axis=1)")


def _normalize_means(Y, R, Y_mean, expected, label):
    """:class:`_Fail` naming the mistake when the means are not ``expected``."""
    counts = R.sum(axis=1)
    if _close(Y_mean, np.where(R, Y, 0.0).sum(axis=1) / Y.shape[1]):
        raise _Fail("the means count the unrated entries as zeros (divided by the number of users); "
                    "divide each movie's sum by its number of ratings, R.sum(axis=1)")
    if label and _close(Y_mean, np.divide(Y.sum(axis=1), counts, out=np.zeros(len(counts)),
                                          where=counts > 0)):
        raise _Fail(f"the means add up Y where R is 0{label}; sum only the rated entries, "
                    "e.g. np.where(R, Y, 0).sum(axis=1)")
    if not _close(Y_mean, expected):
        i = int(np.argmax(~np.isclose(Y_mean, expected)))
        extra = " (a movie nobody rated gets mean 0)" if counts[i] == 0 else \
            " (the mean over the rated entries only)"
        raise _Fail(f"Y_mean[{i}] is {Y_mean[i]:.4g}, expected {expected[i]:.4g}{extra}{label}")


def _check_normalize(fn) -> str:
    """The mean-normalisation checks; returns the PASSED text or raises :class:`_Fail`."""
    cases = ((label, _ratings(junk=bool(label)), ()) for label in ("", _JUNK))
    for label, (Y, R), _, out in _run_cases(
            fn, cases, ("Y", "R"), "build new arrays (e.g. np.where(R, Y - mean, 0))"):
        Y_norm, Y_mean = _two_arrays(out, ("Y_norm", "Y_mean"), noun="values")
        _normalize_shapes(Y, Y_norm, Y_mean)
        Y_mean = Y_mean.ravel()
        if not np.all(np.isfinite(Y_mean)) or not np.all(np.isfinite(Y_norm)):
            raise _Fail("gives NaN/inf for movie 4, which nobody rated (0 / 0); "
                        "its mean must be 0: divide only where the count is > 0")
        expected_norm, expected_mean = helpers.normalize_ratings(Y, R)
        _normalize_means(Y, R, Y_mean, expected_mean, label)
        if np.any(Y_norm[~R] != 0):
            i, j = np.argwhere((Y_norm != 0) & ~R)[0]
            raise _Fail(f"Y_norm must be 0 where R is 0 (not rated), but Y_norm[{i}, {j}] is "
                        f"{Y_norm[i, j]:.4g}{label}; subtract the mean from rated entries only")
        if not _close(Y_norm, expected_norm):
            i, j = np.argwhere(~np.isclose(Y_norm, expected_norm))[0]
            raise _Fail(f"Y_norm[{i}, {j}] is {Y_norm[i, j]:.4g}, expected {expected_norm[i, j]:.4g} "
                        f"(rating minus the movie's mean){label}")
    return "averages rated entries only, gives 0 for a movie nobody rated and leaves unrated entries at 0"


def check_normalize_ratings(fn) -> bool:
    """Check a learner's ``fn(Y, R) -> (Y_norm, Y_mean)`` (notebook 05).

    Compares with :func:`helpers.normalize_ratings` on a small problem with a
    movie nobody rated and a movie rated once, first with zeros and then with
    junk in the unrated entries of ``Y``. Names the usual mistakes: the two
    results swapped, a vector instead of a matrix (the article's formula),
    NaN for the unrated movie, means that count the zeros, the mean
    subtracted from unrated entries too, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _verdict(fn, _check_normalize)


# ---------------------------------------------------------------- one gradient-descent step (notebook 06)


def _step_variants(X, Theta, Y, R, lambda_, alpha):
    """One gradient-descent step as the usual mistakes do it, by name: (X_new, Theta_new)."""
    gradients = _gradient_variants(X, Theta, Y, R, lambda_)
    gx, gt = gradients["correct"]
    X_first, Theta_first = X - alpha * gx, Theta - alpha * gt

    def step(grads):
        return X - alpha * grads[0], Theta - alpha * grads[1]

    def gradient_at(X_now, Theta_now):
        return _gradient_variants(X_now, Theta_now, Y, R, lambda_)["correct"]

    return {
        "sequential": (X_first, Theta - alpha * gradient_at(X_first, Theta)[1]),
        "sequential_theta_first": (X - alpha * gradient_at(X, Theta_first)[0], Theta_first),
        "unmasked": step(gradients["unmasked"]),
        "no_reg": step(gradients["no_reg"]),
        "uphill": (X + alpha * gx, Theta + alpha * gt),
        "no_alpha": (X - gx, Theta - gt),
        "x_only": (X_first, Theta),
        "theta_only": (X, Theta_first),
    }


_STEP_HINTS = {
    "sequential": "Theta was updated with the gradient at the *new* X (a sequential update, as in the "
                  "article); compute both gradients from the old X and Theta first, then update both",
    "sequential_theta_first": "X was updated with the gradient at the *new* Theta (a sequential update); "
                              "compute both gradients from the old X and Theta first, then update both",
    "unmasked": "the gradient counts the unrated entries: the error must be R * (X @ Theta.T - Y)",
    "no_reg": "the step ignores lambda_: the gradients need + lambda_ * X and + lambda_ * Theta",
    "uphill": "the step goes uphill: subtract alpha * gradient, don't add it",
    "no_alpha": "the step forgets the learning rate: X - alpha * X_grad, not X - X_grad",
    "x_only": "only X moves: Theta must be updated in the same step",
    "theta_only": "only Theta moves: X must be updated in the same step",
}


def _step_cases():
    """``(label, (X, Theta, Y, R), (lambda_, alpha))``, the second with junk in unrated Y."""
    for label, lambda_, alpha in (("", 1.5, 0.05), (_JUNK, 0.7, 0.02)):
        Y, R = _ratings(junk=bool(label))
        rng = np.random.default_rng(6)
        X = rng.standard_normal((Y.shape[0], 3))
        Theta = rng.standard_normal((Y.shape[1], 3))
        yield label, (X, Theta, Y, R), (lambda_, alpha)


def _check_step(fn) -> str:
    """The gradient-step checks; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_new", "Theta_new")
    for label, arrays, (lambda_, alpha), out in _run_cases(
            fn, _step_cases(), _FACTORS, "return new arrays (X_new = X - alpha * X_grad, not X -= ...)"):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, arrays[0], arrays[1], names)
        good = tuple(helpers.gradient_descent(*arrays, lambda_, alpha, 1)[:2])
        if _close(got, good):
            continue
        hint = _diagnose(got, good, _step_variants(*arrays, lambda_, alpha), _STEP_HINTS)
        if hint:
            raise _Fail(hint + label)
        raise _Fail(f"{_differ(names, got, good)} from one step of helpers.gradient_descent "
                    f"(lambda_={lambda_}, alpha={alpha}){label}")
    return "makes one simultaneous gradient-descent step, the same as helpers.gradient_descent"


def check_gradient_step(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_, alpha) -> (X_new, Theta_new)`` (notebook 06).

    The answer is one iteration of :func:`helpers.gradient_descent`. Names a
    sequential update (either order), a missing mask, a missing
    regularisation term, a step uphill or without ``alpha``, a step that
    moves only one of the two, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _verdict(fn, _check_step)


# ---------------------------------------------------------------- top-n selection (notebook 07)


def _top_problem():
    """Predictions that only a numeric sort orders right (two digits, negatives)."""
    predictions = np.array([4.25, 10.2, 9.5, -0.5, 3.75, 12.0, 2.0, -1.5, 9.75, 0.25, 5.5, 11.0])
    rated = np.zeros(predictions.size, dtype=bool)
    rated[[5, 8, 2]] = True  # three of the highest are already rated
    return predictions, rated


def _top_indices(out, predictions, rated):
    """``out`` as distinct indices of unrated movies, or :class:`_Fail` saying what it is instead."""
    try:
        got = np.asarray(out).ravel().astype(float)
    except (TypeError, ValueError):
        raise _Fail(f"should return movie indices (integers); got {type(out).__name__}") from None
    if got.size and np.any(got != np.round(got)):
        raise _Fail("returned predicted ratings; return the movie indices "
                    "(positions in predictions), e.g. from np.argsort")
    got = got.astype(int)
    if got.size and (got.min() < 0 or got.max() >= predictions.size):
        raise _Fail(f"returned {got.tolist()}: movie indices must lie in 0..{predictions.size - 1}")
    if len(set(got.tolist())) != got.size:
        raise _Fail(f"lists a movie twice: {got.tolist()}")
    already = [int(i) for i in got if rated[i]]
    if already:
        raise _Fail(f"recommends movie {already[0]}, which is already rated; "
                    "leave out every movie with rated[i] True")
    return got


def _top_order_mistake(got, expected, predictions, rated, n) -> str:
    """Why ``got``, the right number of unrated movies, is not ``expected``."""
    free = np.flatnonzero(~rated)
    ascending = free[np.argsort(predictions[free], kind="stable")][:n]
    as_text = sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]
    if np.array_equal(got, as_text):
        return "sorts the predictions as text ('9.5' comes before '12.0'); sort the numbers themselves"
    if np.array_equal(got, ascending) or np.array_equal(got, expected[::-1]):
        return "lists the lowest predictions first; the best (highest) prediction comes first"
    if set(got.tolist()) == set(expected.tolist()):
        return (f"has the right movies in the wrong order: {got.tolist()}, "
                f"expected {expected.tolist()} (highest prediction first)")
    return f"returned {got.tolist()}, expected {expected.tolist()} for n={n}"


def _check_top(fn) -> str:
    """The top-n checks; returns the PASSED text or raises :class:`_Fail`."""
    predictions, rated = _top_problem()
    free = np.flatnonzero(~rated)
    expected_order = free[np.argsort(-predictions[free], kind="stable")]
    cases = ((f"n={n}", (predictions, rated), (n,)) for n in (5, free.size + 3))
    for _, _, (n,), out in _run_cases(fn, cases, ("predictions", "rated"),
                                      "work on a copy (or with indices)"):
        got = _top_indices(out, predictions, rated)
        expected = expected_order[:n]
        if got.size != expected.size:
            if n > free.size:
                raise _Fail(f"asked for n={n} but only {free.size} movies are unrated: "
                            f"return those {free.size}; got {got.size}")
            raise _Fail(f"returned {got.size} movies for n={n}")
        if not np.array_equal(got, expected):
            raise _Fail(_top_order_mistake(got, expected, predictions, rated, n))
    return "returns the best unrated movies, highest prediction first, sorted as numbers"


def check_top_n(fn) -> bool:
    """Check a learner's ``fn(predictions, rated, n) -> movie indices`` (notebook 07).

    The answer lists the ``n`` movies not yet rated with the highest
    predictions, best first, as indices into ``predictions``. The test
    predictions include two-digit and negative numbers, so a sort of the
    numbers as text gives a different order and is named; so are ascending
    order, already-rated movies in the list, ratings returned instead of
    indices, a wrong length, asking for more movies than there are unrated
    ones, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _verdict(fn, _check_top)
