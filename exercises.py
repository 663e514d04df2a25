"""Self-checks for the classroom exercises in notebooks 03-07.

Each ``check_*`` function takes the learner's function, runs it on small
inputs whose answers are known (computed with the tested code in
:mod:`helpers`), prints one line that starts with ``PASSED`` or ``FAILED``
and says what is wrong, and returns ``True``/``False``. They never raise on a
wrong answer, so "Run All" carries on to the rest of the notebook.
"""

from __future__ import annotations

import traceback

import numpy as np

import helpers

__all__ = ["report", "check_cofi_cost", "check_cofi_gradients",
           "check_normalize_ratings", "check_gradient_step", "check_top_n"]


def report(ok: bool, what: str, why: str = "") -> bool:
    """Print a one-line PASSED/FAILED verdict and return ``ok``."""
    if ok:
        print(f"PASSED: {what}")
    else:
        print(f"FAILED: {what}: {why}")
    return bool(ok)


def _call(fn, *args, what: str):
    """Call the learner's function; turn an exception into a FAILED message."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, "not implemented yet (the stub still raises NotImplementedError)"
    except Exception as exc:  # a learner's bug: show it, don't stop the notebook
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return False, f"raised {last}"


# ---- notebooks 03-04 ----
# Checkers for the cost exercise (03-cost-function) and the gradient exercise
# (04-gradient-checking). Each one runs the learner's function on a few small
# problems with known answers, recognises the usual mistakes by comparing the
# result with what those mistakes would give, and prints a single verdict line.

import contextlib as _contextlib
import io as _io

_RTOL, _ATOL = 1e-6, 1e-8


def _cf_problem(seed=3, n_movies=6, n_users=4, k=3, garbage=False):
    """A small (X, Theta, Y, R) problem; unrated Y entries are 0, or junk if ``garbage``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[-1, -1] = True
    R[0, -1] = R[-1, 0] = False  # at least one rated and one unrated entry in the corners
    Y[~R] = rng.uniform(-50, 50, size=int((~R).sum())) if garbage else 0.0
    return X, Theta, Y, R


_CF_CASES = [
    # (label, lambda_, garbage in unrated entries of Y?, problem shape)
    ("lambda_=0", 0.0, False, (6, 4, 3)),
    ("lambda_=1.5", 1.5, False, (6, 4, 3)),
    ("lambda_=1.5 with non-zero values in the unrated entries of Y", 1.5, True, (7, 5, 2)),
]


def _quiet_call(fn, *args):
    """:func:`_call` with the learner's own prints swallowed (the verdict stays one line)."""
    with _contextlib.redirect_stdout(_io.StringIO()):
        return _call(fn, *args, what=getattr(fn, "__name__", "your function"))


def _close(a, b):
    return bool(np.allclose(a, b, rtol=_RTOL, atol=_ATOL))


def _modified(before, after, names=("X", "Theta", "Y", "R")):
    """Names of the inputs whose values differ between ``before`` and ``after``."""
    return [n for n, b, a in zip(names, before, after) if not np.array_equal(b, a)]


class _Fail(Exception):
    """The reason a learner's function fails, found while running it."""


def _cf_runs(fn, example):
    """Run ``fn(X, Theta, Y, R, lambda_)`` on each of the ``_CF_CASES``.

    Yields ``(label, lambda_, (X, Theta, Y, R), output)``; raises :class:`_Fail`
    when ``fn`` raises or changes its inputs in place (``example`` shows the fix).
    """
    for label, lambda_, garbage, (nm, nu, k) in _CF_CASES:
        inputs = _cf_problem(n_movies=nm, n_users=nu, k=k, garbage=garbage)
        before = [a.copy() for a in inputs]
        ok, out = _quiet_call(fn, *inputs, lambda_)
        if not ok:
            raise _Fail(out)
        changed = _modified(before, inputs)
        if changed:
            raise _Fail(f"changes its input {', '.join(changed)} in place; "
                        f"compute with new arrays instead (e.g. {example})")
        yield label, lambda_, before, out


def _cost_variants(X, Theta, Y, R, lambda_):
    """The correct cost and what the common mistakes give, by name."""
    P = X @ Theta.T
    masked = np.where(R, P - Y, 0.0)
    sq_masked = float(np.sum(masked ** 2))
    sq_unmasked = float(np.sum((P - Y) ** 2))
    sq_pred_only = float(np.sum((np.where(R, P, 0.0) - Y) ** 2))
    rx, rt = float(np.sum(X ** 2)), float(np.sum(Theta ** 2))
    reg = lambda_ / 2 * (rx + rt)
    return {
        "correct": sq_masked / 2 + reg,
        "unmasked": sq_unmasked / 2 + reg,
        "pred_only": sq_pred_only / 2 + reg,
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


def check_cofi_cost(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> J`` (notebook 03).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares with
    :func:`helpers.cofi_cost` and names the mistake when the result equals
    what a known mistake gives: a missing mask, masking only the
    predictions, a missing 1/2, a mean instead of a sum, a missing or
    partial regularisation term. Also fails a function that returns
    something other than a single number or changes its inputs in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    name = getattr(fn, "__name__", "your function")
    what = f"{name}"
    try:
        for label, lambda_, before, out in _cf_runs(fn, "err = X @ Theta.T - Y"):
            if isinstance(out, (tuple, list)) or np.ndim(out) != 0:
                kind = type(out).__name__ if isinstance(out, (tuple, list)) else f"an array of shape {np.shape(out)}"
                return report(False, what, f"wrong shape: should return a single number J, got {kind} "
                                           "(sum over all entries, e.g. with np.sum)")
            try:
                J = float(out)
            except (TypeError, ValueError):
                return report(False, what, f"should return a number; got {type(out).__name__}")
            variants = _cost_variants(*before, lambda_)
            expected = variants["correct"]
            if _close(J, expected):
                continue
            for mistake, hint in _COST_HINTS.items():
                if _close(J, variants[mistake]) and not _close(variants[mistake], expected):
                    return report(False, what, f"on the case {label}: {hint}")
            return report(False, what, f"wrong value on the case {label}: got {J:.6g}, expected {expected:.6g}")
        return report(True, f"{name} matches the reference cost with and without regularisation, "
                            "ignoring whatever unrated entries of Y hold")
    except _Fail as fail:
        return report(False, what, str(fail))
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, what, f"the check itself failed ({type(exc).__name__}: {exc})")


def _gradient_variants(X, Theta, Y, R, lambda_):
    """Correct gradients and what the common mistakes give, by name: (X_grad, Theta_grad)."""
    P = X @ Theta.T
    E = np.where(R, P - Y, 0.0)
    E_unmasked = P - Y
    E_pred_only = np.where(R, P, 0.0) - Y
    return {
        "correct": (E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta),
        "unmasked": (E_unmasked @ Theta + lambda_ * X, E_unmasked.T @ X + lambda_ * Theta),
        "pred_only": (E_pred_only @ Theta + lambda_ * X, E_pred_only.T @ X + lambda_ * Theta),
        "sign": (-(E @ Theta) + lambda_ * X, -(E.T @ X) + lambda_ * Theta),
        "no_reg": (E @ Theta, E.T @ X),
        "reg_half": (E @ Theta + lambda_ / 2 * X, E.T @ X + lambda_ / 2 * Theta),
    }


_GRAD_HINTS = {
    "unmasked": "forgot the mask R: the error must be R * (X @ Theta.T - Y), otherwise unrated entries "
                "pull the predictions towards whatever Y holds there",
    "pred_only": "masks the predictions but not Y, so values stored in unrated entries of Y still count; "
                 "multiply the whole error (X @ Theta.T - Y) by R",
    "sign": "the gradient has the wrong sign: use the error prediction - rating (X @ Theta.T - Y)",
    "no_reg": "forgot regularisation: add lambda_ * X to X_grad and lambda_ * Theta to Theta_grad",
    "reg_half": "the regularisation gradient is lambda_ * X (and lambda_ * Theta), not lambda_/2 * X",
}


def _grad_diagnosis(Xg, Tg, variants):
    """Name the mistake that reproduces (Xg, Tg), looking at both arrays, then each one alone."""
    good_x, good_t = variants["correct"]
    for mistake, hint in _GRAD_HINTS.items():
        vx, vt = variants[mistake]
        if _close(Xg, vx) and _close(Tg, vt) and not (_close(vx, good_x) and _close(vt, good_t)):
            return hint
    for label, got, idx, good in (("X_grad", Xg, 0, good_x), ("Theta_grad", Tg, 1, good_t)):
        if _close(got, good):
            continue
        for mistake, hint in _GRAD_HINTS.items():
            v = variants[mistake][idx]
            if _close(got, v) and not _close(v, good):
                return f"{label}: {hint}"
    return None


def check_cofi_gradients(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` (notebook 04).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares both gradients with
    :func:`helpers.cofi_gradients` and names the mistake when it is a known
    one: a missing mask, masking only the predictions, a flipped sign, a
    missing or halved regularisation term, the two arrays swapped or
    transposed. A function that passes is finally run through
    :func:`helpers.check_gradients` (central differences) at ``lambda_=1.5``.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    name = getattr(fn, "__name__", "your function")
    what = f"{name}"
    try:
        for label, lambda_, before, out in _cf_runs(fn, "E = R * (X @ Theta.T - Y)"):
            X, Theta = before[0], before[1]
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                return report(False, what, f"should return two arrays (X_grad, Theta_grad); got {got}")
            try:
                Xg, Tg = (np.asarray(a, dtype=float) for a in out)
            except (TypeError, ValueError):
                return report(False, what, "X_grad and Theta_grad must be numeric arrays")
            if Xg.shape != X.shape or Tg.shape != Theta.shape:
                if Xg.shape == Theta.shape and Tg.shape == X.shape:
                    why = "returns (Theta_grad, X_grad); the order is (X_grad, Theta_grad)"
                else:
                    why = (f"wrong shape: X_grad must be {X.shape} like X (a row per movie) and Theta_grad "
                           f"{Theta.shape} like Theta (a row per user); got {Xg.shape} and {Tg.shape}")
                return report(False, what, why)
            variants = _gradient_variants(*before, lambda_)
            good_x, good_t = variants["correct"]
            if _close(Xg, good_x) and _close(Tg, good_t):
                continue
            hint = _grad_diagnosis(Xg, Tg, variants)
            if hint:
                return report(False, what, f"on the case {label}: {hint}")
            wrong = [n for n, g, r in (("X_grad", Xg, good_x), ("Theta_grad", Tg, good_t)) if not _close(g, r)]
            verb = "differs" if len(wrong) == 1 else "differ"
            return report(False, what, f"wrong value on the case {label}: {' and '.join(wrong)} {verb} from the reference")
        ok, diff = _quiet_call(lambda *a: helpers.check_gradients(*a, gradient_fn=fn), 1.5, 0)
        if not ok or not diff < 1e-9:
            why = diff if not ok else f"relative difference {diff:.1e} against central differences"
            return report(False, what, f"the numerical gradient check disagrees: {why}")
        return report(True, f"{name} matches the reference gradients and the numerical gradient "
                            "(relative difference < 1e-9), with and without regularisation")
    except _Fail as fail:
        return report(False, what, str(fail))
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, what, f"the check itself failed ({type(exc).__name__}: {exc})")


# ---- notebooks 05-07 ----
# Checkers for the mean-normalisation exercise (05-mean-normalisation), the
# gradient-descent step (06-training) and the top-n selection (07-recommending).
# Same approach as above: small problems with known answers, the usual mistakes
# recognised by what they return, one verdict line, never an exception.

# The same quiet call and tolerance as the checkers above.
_nb57_quiet = _quiet_call
_nb57_close = _close


def _nb57_ratings(garbage=False):
    """A 6-movie x 5-user problem: movie 4 has no ratings, movie 5 has exactly one."""
    rng = np.random.default_rng(57)
    Y = rng.integers(1, 6, size=(6, 5)).astype(float)
    R = np.array([[1, 0, 1, 1, 0],
                  [1, 1, 1, 1, 1],
                  [0, 1, 0, 1, 1],
                  [1, 0, 0, 0, 1],
                  [0, 0, 0, 0, 0],
                  [0, 0, 1, 0, 0]], dtype=bool)
    Y[~R] = rng.uniform(-20, 20, size=int((~R).sum())) if garbage else 0.0
    return Y, R


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
    name = getattr(fn, "__name__", "your function")
    try:
        for garbage in (False, True):
            case = " (with non-zero values stored in the unrated entries of Y)" if garbage else ""
            Y, R = _nb57_ratings(garbage)
            Y_in, R_in = Y.copy(), R.copy()
            ok, out = _nb57_quiet(fn, Y_in, R_in)
            if not ok:
                return report(False, name, out)
            changed = _modified((Y, R), (Y_in, R_in), names=("Y", "R"))
            if changed:
                return report(False, name, f"changes its input {' and '.join(changed)} in place; "
                                           "build new arrays (e.g. np.where(R, Y - mean, 0))")
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                return report(False, name, "should return two values, (Y_norm, Y_mean); "
                                           f"got {type(out).__name__}")
            try:
                Y_norm, Y_mean = (np.asarray(a, dtype=float) for a in out)
            except (TypeError, ValueError):
                return report(False, name, "Y_norm and Y_mean must be numeric arrays")
            n_movies = Y.shape[0]
            if Y_norm.ndim == 1 and Y_mean.shape == Y.shape:
                return report(False, name, "returns (Y_mean, Y_norm); the order is (Y_norm, Y_mean)")
            if Y_norm.shape != Y.shape:
                return report(False, name, f"Y_norm has shape {Y_norm.shape}; it must be a matrix shaped "
                                           f"like Y {Y.shape}, one normalised rating per entry (the article's "
                                           "sum(y)*sum(r) - ymean gives one number per movie)")
            if Y_mean.shape not in ((n_movies,), (n_movies, 1)):
                return report(False, name, f"Y_mean has shape {Y_mean.shape}; expected ({n_movies},), "
                                           "one mean per movie (average along axis=1)")
            Y_mean = Y_mean.ravel()
            exp_norm, exp_mean = helpers.normalize_ratings(Y, R)
            counts = R.sum(axis=1)
            if not np.all(np.isfinite(Y_mean)) or not np.all(np.isfinite(Y_norm)):
                return report(False, name, "gives NaN/inf for movie 4, which nobody rated (0 / 0); "
                                           "its mean must be 0: divide only where the count is > 0")
            sums = np.where(R, Y, 0.0).sum(axis=1)
            if _nb57_close(Y_mean, sums / Y.shape[1]):
                return report(False, name, "the means count the unrated entries as zeros (divided by the "
                                           "number of users); divide each movie's sum by its number of "
                                           "ratings, R.sum(axis=1)")
            if garbage and _nb57_close(Y_mean, np.divide(Y.sum(axis=1), counts, out=np.zeros(n_movies),
                                                         where=counts > 0)):
                return report(False, name, f"the means add up Y where R is 0{case}; sum only the rated "
                                           "entries, e.g. np.where(R, Y, 0).sum(axis=1)")
            if not _nb57_close(Y_mean, exp_mean):
                i = int(np.argmax(~np.isclose(Y_mean, exp_mean)))
                extra = " (a movie nobody rated gets mean 0)" if counts[i] == 0 else \
                    " (the mean over the rated entries only)"
                return report(False, name, f"Y_mean[{i}] is {Y_mean[i]:.4g}, expected {exp_mean[i]:.4g}"
                                           f"{extra}{case}")
            if np.any(Y_norm[~R] != 0):
                i, j = np.argwhere((Y_norm != 0) & ~R)[0]
                return report(False, name, f"Y_norm must be 0 where R is 0 (not rated), but Y_norm[{i}, {j}] "
                                           f"is {Y_norm[i, j]:.4g}{case}; subtract the mean from rated "
                                           "entries only")
            if not _nb57_close(Y_norm, exp_norm):
                i, j = np.argwhere(~np.isclose(Y_norm, exp_norm))[0]
                return report(False, name, f"Y_norm[{i}, {j}] is {Y_norm[i, j]:.4g}, expected "
                                           f"{exp_norm[i, j]:.4g} (rating minus the movie's mean){case}")
        return report(True, f"{name} averages rated entries only, gives 0 for a movie nobody rated and "
                            "leaves unrated entries at 0")
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, name, f"the check itself failed ({type(exc).__name__}: {exc})")


def _nb57_step_variants(X, Theta, Y, R, lambda_, alpha):
    """One gradient-descent step done right, and as the usual mistakes do it."""
    def grads(X, Theta, mask=True, lam=lambda_):
        E = X @ Theta.T - Y
        if mask:
            E = np.where(R, E, 0.0)
        return E @ Theta + lam * X, E.T @ X + lam * Theta

    gx, gt = grads(X, Theta)
    X_seq = X - alpha * gx
    ux, ut = grads(X, Theta, mask=False)
    nx, nt = grads(X, Theta, lam=0.0)
    Theta_first = Theta - alpha * gt
    return {
        "correct": (X - alpha * gx, Theta - alpha * gt),
        "sequential": (X_seq, Theta - alpha * grads(X_seq, Theta)[1]),
        "sequential_theta_first": (X - alpha * grads(X, Theta_first)[0], Theta_first),
        "unmasked": (X - alpha * ux, Theta - alpha * ut),
        "no_reg": (X - alpha * nx, Theta - alpha * nt),
        "uphill": (X + alpha * gx, Theta + alpha * gt),
        "no_alpha": (X - gx, Theta - gt),
        "x_only": (X - alpha * gx, Theta),
        "theta_only": (X, Theta - alpha * gt),
    }


_NB57_STEP_HINTS = {
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


def check_gradient_step(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_, alpha) -> (X_new, Theta_new)`` (notebook 06).

    The answer is one iteration of :func:`helpers.gradient_descent`. Names a
    sequential update (either order), a missing mask, a missing
    regularisation term, a step uphill or without ``alpha``, a step that
    moves only one of the two, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    name = getattr(fn, "__name__", "your function")
    try:
        for lambda_, alpha, garbage in ((1.5, 0.05, False), (0.7, 0.02, True)):
            case = " (with non-zero values stored in the unrated entries of Y)" if garbage else ""
            Y, R = _nb57_ratings(garbage)
            rng = np.random.default_rng(6)
            X = rng.standard_normal((Y.shape[0], 3))
            Theta = rng.standard_normal((Y.shape[1], 3))
            before = [a.copy() for a in (X, Theta, Y, R)]
            ok, out = _nb57_quiet(fn, X, Theta, Y, R, lambda_, alpha)
            if not ok:
                return report(False, name, out)
            changed = _modified(before, (X, Theta, Y, R))
            if changed:
                return report(False, name, f"changes its input {' and '.join(changed)} in place (e.g. X -= ...); "
                                           "return new arrays, X_new = X - alpha * X_grad")
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                return report(False, name, "should return two arrays, (X_new, Theta_new); "
                                           f"got {type(out).__name__}")
            try:
                Xn, Tn = (np.asarray(a, dtype=float) for a in out)
            except (TypeError, ValueError):
                return report(False, name, "X_new and Theta_new must be numeric arrays")
            X, Theta, Y, R = before
            if Xn.shape != X.shape or Tn.shape != Theta.shape:
                if Xn.shape == Theta.shape and Tn.shape == X.shape:
                    why = "returns (Theta_new, X_new); the order is (X_new, Theta_new)"
                else:
                    why = (f"X_new must have the shape of X {X.shape} and Theta_new that of Theta "
                           f"{Theta.shape}; got {Xn.shape} and {Tn.shape}")
                return report(False, name, why)
            variants = _nb57_step_variants(X, Theta, Y, R, lambda_, alpha)
            good_x, good_t = variants["correct"]
            ref_x, ref_t, _ = helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1)
            assert _nb57_close(ref_x, good_x) and _nb57_close(ref_t, good_t)
            if _nb57_close(Xn, good_x) and _nb57_close(Tn, good_t):
                continue
            for mistake, hint in _NB57_STEP_HINTS.items():
                vx, vt = variants[mistake]
                if _nb57_close(Xn, vx) and _nb57_close(Tn, vt):
                    return report(False, name, hint + case)
            wrong = [n for n, got, ref in (("X_new", Xn, good_x), ("Theta_new", Tn, good_t))
                     if not _nb57_close(got, ref)]
            return report(False, name, f"{' and '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from "
                                       f"one step of helpers.gradient_descent (lambda_={lambda_}, "
                                       f"alpha={alpha}){case}")
        return report(True, f"{name} makes one simultaneous gradient-descent step, the same as "
                            "helpers.gradient_descent")
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, name, f"the check itself failed ({type(exc).__name__}: {exc})")


def _nb57_top_problem():
    """Predictions that only a numeric sort orders right (two digits, negatives)."""
    predictions = np.array([4.25, 10.2, 9.5, -0.5, 3.75, 12.0, 2.0, -1.5, 9.75, 0.25, 5.5, 11.0])
    rated = np.zeros(predictions.size, dtype=bool)
    rated[[5, 8, 2]] = True  # three of the highest are already rated
    return predictions, rated


def _nb57_expected_top(predictions, rated, n):
    candidates = np.flatnonzero(~rated)
    order = np.argsort(-predictions[candidates], kind="stable")
    return candidates[order][:n]


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
    name = getattr(fn, "__name__", "your function")
    try:
        predictions, rated = _nb57_top_problem()
        n_free = int((~rated).sum())
        for n in (5, n_free + 3):
            p_in, r_in = predictions.copy(), rated.copy()
            ok, out = _nb57_quiet(fn, p_in, r_in, n)
            if not ok:
                return report(False, name, out)
            if not (np.array_equal(p_in, predictions) and np.array_equal(r_in, rated)):
                return report(False, name, "changes its input predictions or rated in place; "
                                           "work on a copy (or with indices)")
            try:
                got = np.asarray(out).ravel()
                got_f = got.astype(float)
            except (TypeError, ValueError):
                return report(False, name, "should return movie indices (integers); "
                                           f"got {type(out).__name__}")
            expected = _nb57_expected_top(predictions, rated, n)
            if got.size and np.any(got_f != np.round(got_f)):
                return report(False, name, "returned predicted ratings; return the movie indices "
                                           "(positions in predictions), e.g. from np.argsort")
            got = got_f.astype(int)
            if got.size and (got.min() < 0 or got.max() >= predictions.size):
                return report(False, name, f"returned {got.tolist()}: movie indices must lie in "
                                           f"0..{predictions.size - 1}")
            if len(set(got.tolist())) != got.size:
                return report(False, name, f"lists a movie twice: {got.tolist()}")
            already = [int(i) for i in got if rated[i]]
            if already:
                return report(False, name, f"recommends movie {already[0]}, which is already rated; "
                                           "leave out every movie with rated[i] True")
            if got.size != expected.size:
                if n > n_free:
                    return report(False, name, f"asked for n={n} but only {n_free} movies are unrated: "
                                               f"return those {n_free}; got {got.size}")
                return report(False, name, f"returned {got.size} movies for n={n}")
            if np.array_equal(got, expected):
                continue
            free = np.flatnonzero(~rated)
            ascending = free[np.argsort(predictions[free], kind="stable")][:n]
            as_text = sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]
            if np.array_equal(got, as_text):
                return report(False, name, "sorts the predictions as text ('9.5' comes before '12.0'); "
                                           "sort the numbers themselves")
            if np.array_equal(got, ascending) or np.array_equal(got, expected[::-1]):
                return report(False, name, "lists the lowest predictions first; the best (highest) "
                                           "prediction comes first")
            if set(got.tolist()) == set(expected.tolist()):
                return report(False, name, f"has the right movies in the wrong order: {got.tolist()}, "
                                           f"expected {expected.tolist()} (highest prediction first)")
            return report(False, name, f"returned {got.tolist()}, expected {expected.tolist()} "
                                       f"for n={n}")
        return report(True, f"{name} returns the best unrated movies, highest prediction first, "
                            "sorted as numbers")
    except Exception as exc:  # a checker must never stop "Run All"
        return report(False, name, f"the check itself failed ({type(exc).__name__}: {exc})")
