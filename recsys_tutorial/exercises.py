"""Self-checks for the classroom exercises in notebooks 03-07, and the rules the grader applies.

Each public ``check_*`` function takes the learner's function, runs it on a
few small problems drawn afresh on every run (``seed=`` makes one
repeatable), and prints exactly one line: ``PASSED: <name> <what it does
right>`` or ``FAILED: <name>: <what is wrong>``. It returns ``True``/``False``
and never raises, so a learner's "Run All" carries on to the end of the
notebook; only when nbgrader grades the notebook (its autograde and validate
runs set ``NBGRADER_EXECUTION``) does a failed check raise ``AssertionError``,
which is how nbgrader's graded check cells score 0.

How a check works: the topic's judge (``_check_cost`` ...) asks a
:class:`_Run` to call the learner's function on each case; the run records
what came back, whether an input was changed in place, the warnings it
emitted and whether it called the tutorial's own solution (a profiler hook
watches for the code of ``helpers.cofi_cost`` and friends, however it was
reached). The judge compares each result with the answer of this module's
private reference formulas, never with :mod:`helpers`, so patching
``helpers`` changes nothing, and when it is wrong names the usual mistake by
computing what each would return (``_*_variants``, ``_*_HINTS``). Then the
exercise's rules apply: no Python loops where the text forbids them (read
from the function's source with :mod:`ast`), no warning where none is
allowed. :func:`judge` returns the :class:`Verdict`.

The grader (:mod:`grading`) uses the same judges without running any
learner code in its own process: :func:`planned_calls` lists the calls a
judge will make for a seed, a separate process makes them with
:func:`record_call`, and :func:`judge` replays the records (``caller=``).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import io
import os
import sys
import textwrap
import traceback
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

import numpy as np

from .settings import graded_run

__all__ = ["check_cofi_cost", "check_cofi_gradients", "check_normalize_ratings",
           "check_gradient_step", "check_top_n", "Exercise", "EXERCISES", "Verdict", "judge",
           "planned_calls", "record_call", "loops_in", "reference_codes"]

_RTOL, _ATOL = 1e-6, 1e-8
_FACTORS = ("X", "Theta", "Y", "R")
_JUNK = " (with non-zero values stored in the unrated entries of Y)"
_NOT_WRITTEN = "not implemented yet (the stub still raises NotImplementedError)"


# ---------------------------------------------------------------- calling the learner's function


class _Fail(Exception):
    """The reason a learner's function fails, found while checking it."""


def reference_codes(names) -> dict:
    """Where the tutorial's functions are, without importing them: ``{qualname: [(file, dotted name)]}``.

    ``names`` are dotted, ``'helpers.cofi_cost'`` or
    ``'recsys_tutorial.observed.ObservedRatings.cost_and_gradients'``. A function is known
    by its file and qualified name, not by the object a module attribute
    holds, so ``helpers.cofi_cost = my_function`` makes ``my_function`` no
    reference, and the real one is still recognised however it is reached.
    """
    found: dict[str, list] = {}
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):   # the longest prefix that is a module
            try:
                spec = importlib.util.find_spec(".".join(parts[:cut]))
            except ModuleNotFoundError:
                spec = None
            if spec is not None and spec.origin:
                found.setdefault(".".join(parts[cut:]), []).append((os.path.realpath(spec.origin), name))
                break
    return found


def _reference_name(code, references):
    """The dotted name of the tutorial function whose code ``code`` is, or None."""
    for file, name in references.get(getattr(code, "co_qualname", None), ()):
        if os.path.realpath(code.co_filename) == file:
            return name
    return None


def record_call(fn, args, references=MappingProxyType({})) -> dict:
    """Call ``fn(*args)`` and record what happened, whatever it does.

    Its prints are swallowed; NumPy's floating-point problems are turned into
    warnings. Returns a dict: ``ok``, ``out`` (the result) or ``error`` (the
    exception's last line; None for NotImplementedError), ``warnings``
    (``[(category name, message)]``) and ``references`` (the names, from
    ``references`` as made by :func:`reference_codes`, of the functions it called).
    """
    called: list[str] = []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_qualname in references:
            name = _reference_name(frame.f_code, references)
            if name:
                called.append(name)

    record = {"ok": False, "out": None, "error": None}
    previous = sys.getprofile()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()), \
            np.errstate(divide="warn", over="warn", invalid="warn"):
        warnings.simplefilter("always")
        sys.setprofile(watch)
        try:
            record.update(ok=True, out=fn(*args))
        except NotImplementedError:
            pass
        except (Exception, SystemExit) as exc:  # a learner's bug: show it, don't stop the notebook
            record["error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
        finally:
            sys.setprofile(previous)
    record["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
    record["references"] = list(dict.fromkeys(called))
    return record


def _shape_hint(message: str, names, arrays) -> str:
    """A sentence on the input shapes when ``message`` is NumPy's complaint about a matrix product."""
    if not any(word in message for word in ("matmul", "not aligned", "broadcast")):
        return ""
    shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(names, arrays))
    hint = f". A matrix product or element-wise operation got arrays whose sizes do not fit: {shapes}"
    if "X" in names and "Theta" in names:
        hint += (f"; the predictions X @ Theta.T are {(np.shape(arrays[0])[0], np.shape(arrays[1])[0])}, "
                 "the shape of Y and R (X.T @ Theta or X @ Theta do not fit)")
    return hint


class _Run:
    """One checking run: calls the learner's function through ``caller`` and keeps what it saw.

    ``caller(k, given, scalars)`` makes call number ``k`` with the array
    copies ``given`` (which it may change in place, as the function would)
    and returns a record like :func:`record_call`'s.
    """

    def __init__(self, name: str, caller, rng):
        self.name, self.caller, self.rng = name, caller, rng
        self.warnings: list[tuple[str, str]] = []
        self.references: list[str] = []
        self.count = 0

    def call(self, arrays, scalars=()):
        """``(ok, output or the reason it failed, the copies it was given)``."""
        given = [np.array(a, copy=True) for a in arrays]
        record = self.caller(self.count, given, tuple(scalars))
        self.count += 1
        self.warnings += [tuple(w) for w in record.get("warnings", ())]
        self.references += [r for r in record.get("references", ()) if r not in self.references]
        if record["ok"]:
            return True, record["out"], given
        return False, (f"raised {record['error']}" if record["error"] else _NOT_WRITTEN), given

    def cases(self, cases, names, fix):
        """Call the function on each ``(label, arrays, scalars)``; yield ``(label, arrays, scalars, output)``.

        Raises :class:`_Fail` when it raises or changes one of its inputs
        (named ``names``) in place; ``fix`` says what to do instead.
        """
        for label, arrays, scalars in cases:
            ok, out, given = self.call(arrays, scalars)
            if not ok:
                raise _Fail(out + _shape_hint(out, names, arrays))
            changed = [n for n, a, g in zip(names, arrays, given) if not np.array_equal(a, g, equal_nan=True)]
            if changed:
                raise _Fail(f"changes its input {' and '.join(changed)} in place; {fix}")
            yield label, arrays, scalars, out


# ---------------------------------------------------------------- comparing and explaining


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


_SIMPLE_FACTORS = (2.0, 0.5, -1.0, -2.0, -0.5, 4.0, 0.25, 3.0, 1 / 3)


def _scale(got, good):
    """The simple constant ``c`` (2, 1/2, -1, ...) with ``got == c * good`` everywhere, or None."""
    g, r = np.ravel(np.asarray(got, float)), np.ravel(np.asarray(good, float))
    if g.shape != r.shape or not np.any(r):
        return None
    c = float(g @ r / (r @ r))
    if not np.allclose(g, c * r, rtol=_RTOL, atol=_ATOL):
        return None
    return next((s for s in _SIMPLE_FACTORS if np.isclose(c, s)), None)


def _numbers(got: float, expected: float) -> str:
    """'got A, expected B' with just enough digits to tell the two apart."""
    for digits in range(6, 18):
        a, b = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if a != b:
            return f"got {a}, expected {b}"
    return f"got {got!r}, expected {expected!r}"


def _rounding(got: float, expected: float):
    """The number of decimals ``got`` is ``expected`` rounded to, or None."""
    for decimals in range(0, 9):
        if np.isclose(got, round(expected, decimals), rtol=1e-12, atol=1e-12):
            return decimals
    return None


def _largest_difference(name, got, good) -> str:
    """Where ``got`` differs most from ``good``: 'X_grad[2, 1] is 0.5, expected 0.25'."""
    diff = np.abs(np.asarray(got, float) - good)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = f"{name}[{', '.join(str(int(i)) for i in at)}]"
    return f"{where} is {float(np.asarray(got)[at]):.6g}, expected {float(good[at]):.6g} (the largest difference)"


def _array_mistake(names, got, good, what) -> str:
    """Why arrays ``got`` differ from ``good``: a constant factor, or where the largest difference is."""
    for name, g, r in zip(names, got, good):
        if _close(g, r):
            continue
        c = _scale(g, r)
        if c is not None:
            return (f"{name} is {c:g} times the {what} everywhere: a constant factor is wrong "
                    "(the 1/2 of J cancels the 2 from differentiating the square; lambda_ appears once)")
        return f"{name} differs from the {what}: {_largest_difference(name, g, r)}"
    return f"{' and '.join(names)} differ from the {what}"


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


# ---------------------------------------------------------------- test problems (drawn from the run's rng)


def _factor_problem(rng, n_movies, n_users, k, junk):
    """A small (X, Theta, Y, R) problem; unrated Y entries are 0, or random values if ``junk``."""
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[-1, -1] = True
    R[0, -1] = R[-1, 0] = False  # at least one rated and one unrated entry in the corners
    Y[~R] = rng.uniform(-50, 50, size=int((~R).sum())) if junk else 0.0
    return X, Theta, Y, R


def _factor_cases(rng):
    """The cost and gradient cases: ``(label, (X, Theta, Y, R), (lambda_,))``."""
    yield "lambda_=0", _factor_problem(rng, 6, 4, 3, junk=False), (0.0,)
    yield "lambda_=1.5", _factor_problem(rng, 6, 4, 3, junk=False), (1.5,)
    yield ("lambda_=1.5 with non-zero values in the unrated entries of Y",
           _factor_problem(rng, 7, 5, 2, junk=True), (1.5,))


def _ratings(rng, junk):
    """A 6-movie x 5-user (Y, R): one movie nobody rated, one rated exactly once, the others at least once."""
    n_movies, n_users = 6, 5
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.6
    R[np.arange(n_movies), rng.integers(0, n_users, n_movies)] = True
    nobody, once = rng.choice(n_movies, size=2, replace=False)
    R[nobody] = False
    R[once] = False
    R[once, rng.integers(0, n_users)] = True
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


def _cost_mistake(J, variants, label) -> str:
    """Why the cost ``J`` is not ``variants['correct']``."""
    expected = variants["correct"]
    hint = _diagnose(J, expected, variants, _COST_HINTS)
    if hint:
        return f"on the case {label}: {hint}"
    decimals = _rounding(J, expected)
    if decimals is not None:
        return (f"on the case {label}: returns J rounded to {decimals} decimals ({_numbers(J, expected)}); "
                "return the full value and round only when printing")
    c = _scale(J, expected)
    if c is not None:
        return (f"on the case {label}: J is {c:g} times the right cost ({_numbers(J, expected)}); "
                "a constant factor is wrong: J = 1/2 * sum of squared errors + lambda_/2 * (...)")
    return f"wrong value on the case {label}: {_numbers(J, expected)}"


def _check_cost(run) -> str:
    """The cost checks; returns the PASSED text or raises :class:`_Fail`."""
    for label, arrays, (lambda_,), out in run.cases(
            _factor_cases(run.rng), _FACTORS, "compute with new arrays instead (e.g. err = X @ Theta.T - Y)"):
        J = _single_number(out)
        variants = _cost_variants(*arrays, lambda_)
        if not _close(J, variants["correct"]):
            raise _Fail(_cost_mistake(J, variants, label))
    return ("matches the reference cost with and without regularisation, "
            "ignoring whatever unrated entries of Y hold")


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


def _numerical_gradient(cost, params, eps=1e-4):
    """Central differences of ``cost`` at ``params``, all coordinates at once (one row of steps each)."""
    steps = np.eye(params.size) * eps
    return np.array([cost(params + s) - cost(params - s) for s in steps]) / (2 * eps)


def _check_numerically(run):
    """:class:`_Fail` unless the learner's gradient matches central differences of the reference cost."""
    X, Theta, Y, R = _factor_problem(run.rng, 4, 5, 3, junk=True)
    lambda_, n = 1.5, X.size
    ok, out, _ = run.call((X, Theta, Y, R), (lambda_,))
    if not ok:
        raise _Fail(f"the numerical gradient check: {out}")
    got = np.concatenate([np.ravel(a) for a in _two_arrays(out, ("X_grad", "Theta_grad"))])

    def cost(p):
        return _cost_variants(p[:n].reshape(X.shape), p[n:].reshape(Theta.shape), Y, R, lambda_)["correct"]

    num = _numerical_gradient(cost, np.concatenate([X.ravel(), Theta.ravel()]))
    diff = float(np.linalg.norm(num - got) / max(np.linalg.norm(num + got), 1e-300)) if got.shape == num.shape \
        else np.inf
    if not diff < 1e-9:
        raise _Fail(f"the numerical gradient check disagrees: relative difference {diff:.1e} against "
                    "central differences of the cost")


def _check_gradients(run) -> str:
    """The gradient checks, then central differences; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_grad", "Theta_grad")
    for label, arrays, (lambda_,), out in run.cases(
            _factor_cases(run.rng), _FACTORS,
            "compute with new arrays instead (e.g. E = R * (X @ Theta.T - Y))"):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, arrays[0], arrays[1], names)
        variants = _gradient_variants(*arrays, lambda_)
        if _close(got, variants["correct"]):
            continue
        hint = _gradient_mistake(got, variants)
        if hint:
            raise _Fail(f"on the case {label}: {hint}")
        raise _Fail(f"wrong value on the case {label}: "
                    f"{_array_mistake(names, got, variants['correct'], 'right gradient')}")
    _check_numerically(run)
    return ("matches the reference gradients and the numerical gradient "
            "(relative difference < 1e-9), with and without regularisation")


# ---------------------------------------------------------------- mean normalisation (notebook 05)


def _normalized(Y, R):
    """The reference: ``(Y_norm, means)`` over rated entries only, 0 for a movie nobody rated."""
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0.0).sum(axis=1)
    means = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
    return np.where(R, Y - means[:, None], 0.0), means


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
        raise _Fail(f"Y_mean[{i}] is {Y_mean[i]:.6g}, expected {expected[i]:.6g}{extra}{label}")


def _check_normalize(run) -> str:
    """The mean-normalisation checks; returns the PASSED text or raises :class:`_Fail`."""
    cases = ((label, _ratings(run.rng, junk=bool(label)), ()) for label in ("", _JUNK))
    for label, (Y, R), _, out in run.cases(cases, ("Y", "R"), "build new arrays (e.g. np.where(R, Y - mean, 0))"):
        Y_norm, Y_mean = _two_arrays(out, ("Y_norm", "Y_mean"), noun="values")
        _normalize_shapes(Y, Y_norm, Y_mean)
        Y_mean = Y_mean.ravel()
        if not np.all(np.isfinite(Y_mean)) or not np.all(np.isfinite(Y_norm)):
            nobody = int(np.flatnonzero(R.sum(axis=1) == 0)[0])
            raise _Fail(f"gives NaN/inf for movie {nobody}, which nobody rated (0 / 0); "
                        "its mean must be 0: divide only where the count is > 0")
        expected_norm, expected_mean = _normalized(Y, R)
        _normalize_means(Y, R, Y_mean, expected_mean, label)
        if np.any(Y_norm[~R] != 0):
            i, j = np.argwhere((Y_norm != 0) & ~R)[0]
            raise _Fail(f"Y_norm must be 0 where R is 0 (not rated), but Y_norm[{i}, {j}] is "
                        f"{Y_norm[i, j]:.4g}{label}; subtract the mean from rated entries only")
        if not _close(Y_norm, expected_norm):
            i, j = np.argwhere(~np.isclose(Y_norm, expected_norm))[0]
            raise _Fail(f"Y_norm[{i}, {j}] is {Y_norm[i, j]:.6g}, expected {expected_norm[i, j]:.6g} "
                        f"(rating minus the movie's mean){label}")
    return "averages rated entries only, gives 0 for a movie nobody rated and leaves unrated entries at 0"


# ---------------------------------------------------------------- one gradient-descent step (notebook 06)


def _step_variants(X, Theta, Y, R, lambda_, alpha):
    """One gradient-descent step, right and as the usual mistakes do it, by name: (X_new, Theta_new)."""
    gradients = _gradient_variants(X, Theta, Y, R, lambda_)
    gx, gt = gradients["correct"]
    X_first, Theta_first = X - alpha * gx, Theta - alpha * gt

    def step(grads):
        return X - alpha * grads[0], Theta - alpha * grads[1]

    def gradient_at(X_now, Theta_now):
        return _gradient_variants(X_now, Theta_now, Y, R, lambda_)["correct"]

    return {
        "correct": (X_first, Theta_first),
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


def _step_cases(rng):
    """``(label, (X, Theta, Y, R), (lambda_, alpha))``, the second with junk in unrated Y."""
    for label, lambda_, alpha in (("", 1.5, 0.05), (_JUNK, 0.7, 0.02)):
        Y, R = _ratings(rng, junk=bool(label))
        X = rng.standard_normal((Y.shape[0], 3))
        Theta = rng.standard_normal((Y.shape[1], 3))
        yield label, (X, Theta, Y, R), (lambda_, alpha)


def _check_step(run) -> str:
    """The gradient-step checks; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_new", "Theta_new")
    for label, arrays, (lambda_, alpha), out in run.cases(
            _step_cases(run.rng), _FACTORS, "return new arrays (X_new = X - alpha * X_grad, not X -= ...)"):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, arrays[0], arrays[1], names)
        variants = _step_variants(*arrays, lambda_, alpha)
        good = variants["correct"]
        if _close(got, good):
            continue
        hint = _diagnose(got, good, variants, _STEP_HINTS)
        if hint:
            raise _Fail(hint + label)
        raise _Fail(f"{_array_mistake(names, got, good, 'result of one step')} "
                    f"(lambda_={lambda_}, alpha={alpha}){label}")
    return "makes one simultaneous gradient-descent step, the same as helpers.gradient_descent"


# ---------------------------------------------------------------- top-n selection (notebook 07)


def _top_problem(rng):
    """12 predictions that only a numeric sort orders right (two digits, negatives); 3 of the best rated."""
    while True:
        predictions = np.round(np.concatenate([rng.uniform(10, 13, 4), rng.uniform(0.1, 9.9, 5),
                                               rng.uniform(-2, -0.1, 3)]), 2)
        predictions = rng.permutation(predictions)
        rated = np.zeros(predictions.size, dtype=bool)
        rated[rng.choice(np.argsort(-predictions)[:5], size=3, replace=False)] = True
        free = np.flatnonzero(~rated)
        by_number = free[np.argsort(-predictions[free], kind="stable")]
        as_text = sorted(free, key=lambda i: str(predictions[i]), reverse=True)
        if len(set(predictions)) == predictions.size and list(by_number[:5]) != list(as_text[:5]):
            return predictions, rated


def _top_ranking(predictions, rated, n):
    """The reference: indices of the ``n`` best unrated movies, highest prediction first."""
    free = np.flatnonzero(~rated)
    return free[np.argsort(-predictions[free], kind="stable")][:n]


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


def _check_top(run) -> str:
    """The top-n checks; returns the PASSED text or raises :class:`_Fail`."""
    predictions, rated = _top_problem(run.rng)
    free = np.flatnonzero(~rated)
    cases = ((f"n={n}", (predictions, rated), (n,)) for n in (5, free.size + 3))
    for _, _, (n,), out in run.cases(cases, ("predictions", "rated"), "work on a copy (or with indices)"):
        got = _top_indices(out, predictions, rated)
        expected = _top_ranking(predictions, rated, n)
        if got.size != expected.size:
            if n > free.size:
                raise _Fail(f"asked for n={n} but only {free.size} movies are unrated: "
                            f"return those {free.size}; got {got.size}")
            raise _Fail(f"returned {got.size} movies for n={n}")
        if not np.array_equal(got, expected):
            raise _Fail(_top_order_mistake(got, expected, predictions, rated, n))
    return "returns the best unrated movies, highest prediction first, sorted as numbers"


# ---------------------------------------------------------------- the exercises and their rules


@dataclass(frozen=True)
class Exercise:
    """What one checker requires.

    ``check(run)`` is the judge; ``reference`` the correct function (used to
    plan the calls); ``task`` what the learner writes; ``forbidden`` the
    tutorial's functions that already do it (calling one means "not done");
    ``no_loops``/``no_warnings`` the rules the exercise text states, and
    ``warning_fix`` how to avoid the warning.
    """

    check: Callable
    reference: Callable
    task: str
    forbidden: tuple[str, ...]
    no_loops: bool = False
    no_warnings: bool = False
    warning_fix: str = ""


_COST_CODE = ("helpers.gradient_descent", "helpers.train_lbfgs", "recsys_tutorial.observed.ObservedRatings.cost_and_gradients")

EXERCISES = MappingProxyType({
    "check_cofi_cost": Exercise(
        _check_cost, lambda X, Theta, Y, R, lambda_=0.0: _cost_variants(X, Theta, Y, R, lambda_)["correct"],
        "the cost", ("helpers.cofi_cost", *_COST_CODE), no_loops=True),
    "check_cofi_gradients": Exercise(
        _check_gradients, lambda X, Theta, Y, R, lambda_=0.0: _gradient_variants(X, Theta, Y, R, lambda_)["correct"],
        "the gradients", ("helpers.cofi_gradients", *_COST_CODE), no_loops=True),
    "check_normalize_ratings": Exercise(
        _check_normalize, _normalized, "the normalisation", ("helpers.normalize_ratings", "helpers._normalize"),
        no_warnings=True, warning_fix="divide only where the count is > 0, e.g. np.divide(sums, counts, "
                                      "out=np.zeros(len(counts)), where=counts > 0)"),
    "check_gradient_step": Exercise(
        _check_step, lambda X, Theta, Y, R, lambda_, alpha: _step_variants(X, Theta, Y, R, lambda_, alpha)["correct"],
        "the step", ("helpers.gradient_descent", "helpers.train_lbfgs")),
    "check_top_n": Exercise(_check_top, _top_ranking, "the top-n list", ("helpers.recommend",)),
})

# Where each exercise's forbidden functions are (file and qualified name; nothing imported).
_REFERENCE_CODES = {name: reference_codes(ex.forbidden) for name, ex in EXERCISES.items()}


@dataclass(frozen=True)
class Verdict:
    """A checker's conclusion. ``status``: 'passed'; 'rule' (right values, a rule of the exercise
    broken); 'not_done' (calls the tutorial's own solution); or 'failed'."""

    status: str
    name: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def line(self) -> str:
        """The one line a checker prints."""
        return f"PASSED: {self.name} {self.message}" if self.ok else f"FAILED: {self.name}: {self.message}"


_LOOP_NODES = {ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
               ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
               ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression"}
_LOOP_CALLS = {"map", "filter", "vectorize", "apply_along_axis", "frompyfunc"}


def loops_in(source: str, name: str) -> list[str]:
    """The Python-level loops in function ``name`` of ``source`` (the whole source if no such def).

    Each as 'a for loop (line 3)', lines counted from the ``def`` line;
    ``map``/``filter``/``np.vectorize``/``np.apply_along_axis`` count as loops.
    """
    tree = ast.parse(textwrap.dedent(source))
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    root, first = (defs[-1], defs[-1].lineno) if defs else (tree, 1)
    found = []
    for node in ast.walk(root):
        callee = getattr(node, "func", None) if isinstance(node, ast.Call) else None
        callee = getattr(callee, "attr", None) or getattr(callee, "id", None)
        kind = _LOOP_NODES.get(type(node)) or (f"{callee}()" if callee in _LOOP_CALLS else None)
        if kind:
            found.append((node.lineno, node.col_offset, f"{kind} (line {node.lineno - first + 1})"))
    return [text for *_, text in sorted(found)]


def _source_of(fn):
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def _rules_broken(exercise: Exercise, fn, name: str, source, run) -> str:
    """'' or what rule of the exercise the (correct) function breaks."""
    source = source if source is not None else _source_of(fn)
    if exercise.no_loops and source is not None:
        try:
            loops = loops_in(source, name)
        except SyntaxError:
            loops = []
        if loops:
            return (f"it uses {', '.join(loops)}; the exercise asks for matrix operations only, "
                    "no Python loops (whole-array NumPy expressions)")
    runtime = [w for w in run.warnings if w[0] == "RuntimeWarning"]  # NumPy's: 0/0, overflow, ...
    if exercise.no_warnings and runtime:
        category, message = runtime[0]
        return f"it emits a {category} ({message}); the exercise allows no warning: {exercise.warning_fix}"
    return ""


def judge(checker: str, fn=None, *, name=None, seed=None, source=None, caller=None) -> Verdict:
    """Check a learner's function for the exercise of ``checker`` (a key of :data:`EXERCISES`).

    Parameters
    ----------
    fn : callable, optional
        The learner's function, called in this process (a notebook's self-check).
    name : str, optional
        The function's name in messages (default ``fn.__name__``).
    seed : int, optional
        Seeds the test problems; None draws fresh ones.
    source : str, optional
        The source that defines the function, for the no-loops rule
        (default: :func:`inspect.getsource`).
    caller : callable, optional
        Replays calls made elsewhere instead of calling ``fn`` (see :class:`_Run`).

    Returns
    -------
    Verdict
        Never raises, whatever the function does.
    """
    exercise = EXERCISES[checker]
    name = name or getattr(fn, "__name__", None) or "your function"
    codes = _REFERENCE_CODES[checker]
    itself = _reference_name(getattr(fn, "__code__", None), codes) if caller is None else None
    if itself:
        return Verdict("not_done", name, f"is {itself} itself, the tutorial's solution: write {exercise.task} yourself")
    if caller is None:
        def caller(k, given, scalars):
            return record_call(fn, (*given, *scalars), codes)
    run = _Run(name, caller, np.random.default_rng(seed))
    try:
        text, failure = exercise.check(run), None
    except _Fail as fail:
        text, failure = None, str(fail)
    except Exception as exc:  # a checker must never stop "Run All"
        text, failure = None, f"the check itself failed ({type(exc).__name__}: {exc})"
    if run.references:
        return Verdict("not_done", name, f"calls {', '.join(run.references)}, the tutorial's own solution, "
                                         f"instead of computing {exercise.task}: write it yourself")
    if failure is not None:
        return Verdict("failed", name, failure)
    broken = _rules_broken(exercise, fn, name, source, run)
    if broken:
        return Verdict("rule", name, f"the values are right, but {broken}")
    return Verdict("passed", name, text)


def planned_calls(checker: str, seed) -> list[tuple[list, tuple]]:
    """The calls :func:`judge` makes for ``seed`` when every answer is right: ``[(arrays, scalars)]``.

    A judge stops at the first wrong answer, so a wrong function gets a
    prefix of these calls, with the same arguments.
    """
    exercise, calls = EXERCISES[checker], []

    def recorder(k, given, scalars):
        calls.append(([g.copy() for g in given], scalars))
        return {"ok": True, "out": exercise.reference(*given, *scalars)}

    exercise.check(_Run("reference", recorder, np.random.default_rng(seed)))
    return calls


def _self_check(checker: str, fn, seed) -> bool:
    """Judge, print the one line, and raise only inside nbgrader's grading runs."""
    verdict = judge(checker, fn, seed=seed)
    print(verdict.line)
    if not verdict.ok and graded_run():
        raise AssertionError(verdict.line)
    return verdict.ok


def check_cofi_cost(fn, *, seed=None) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> J`` (notebook 03).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares with the reference
    cost and names the mistake when the result equals what a known mistake
    gives: a missing mask, masking only the predictions, a missing 1/2, a
    mean instead of a sum, a missing or partial regularisation term, a
    rounded result, a constant factor. Also fails a function that returns
    something other than a single number, changes its inputs in place,
    calls ``helpers.cofi_cost`` or uses a Python loop.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_cofi_cost", fn, seed)


def check_cofi_gradients(fn, *, seed=None) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` (notebook 04).

    Runs three small problems (with and without regularisation, and with
    junk stored in unrated entries of ``Y``), compares both gradients with
    the reference and names the mistake when it is a known one: a missing
    mask, masking only the predictions, a flipped sign, a missing or halved
    regularisation term, a constant factor, the two arrays swapped or
    transposed. A function that passes is finally compared with central
    differences of the cost at ``lambda_=1.5``. Calling
    ``helpers.cofi_gradients`` or using a Python loop fails.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_cofi_gradients", fn, seed)


def check_normalize_ratings(fn, *, seed=None) -> bool:
    """Check a learner's ``fn(Y, R) -> (Y_norm, Y_mean)`` (notebook 05).

    Compares with the reference on small problems with a movie nobody rated
    and a movie rated once, first with zeros and then with junk in the
    unrated entries of ``Y``. Names the usual mistakes: the two results
    swapped, a vector instead of a matrix (the article's formula), NaN for
    the unrated movie, means that count the zeros, the mean subtracted from
    unrated entries too, inputs changed in place, a RuntimeWarning (none is
    allowed) and calling ``helpers.normalize_ratings``.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_normalize_ratings", fn, seed)


def check_gradient_step(fn, *, seed=None) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_, alpha) -> (X_new, Theta_new)`` (notebook 06).

    The answer is one iteration of gradient descent. Names a sequential
    update (either order), a missing mask, a missing regularisation term, a
    step uphill or without ``alpha``, a step that moves only one of the two,
    and inputs changed in place; calling ``helpers.gradient_descent`` fails
    (``helpers.cofi_gradients`` is allowed).

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_gradient_step", fn, seed)


def check_top_n(fn, *, seed=None) -> bool:
    """Check a learner's ``fn(predictions, rated, n) -> movie indices`` (notebook 07).

    The answer lists the ``n`` movies not yet rated with the highest
    predictions, best first, as indices into ``predictions``. The test
    predictions, new on every run, include two-digit and negative numbers,
    so a sort of the numbers as text gives a different order and is named;
    so are ascending order, already-rated movies in the list, ratings
    returned instead of indices, a wrong length, asking for more movies than
    there are unrated ones, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_top_n", fn, seed)
