"""How a check judges a learner's function, from expected values: no formula of any answer is here.

A check (:mod:`recsys_tutorial.exercises` in a notebook, :mod:`teacher.exercises` in the grader)
hands :func:`judge` the learner's function and a list of :class:`Case`: the arguments of one call,
the **expected** output, and the output each **known mistake** gives on those arguments (its
fingerprint). The notebook's checks read fixed cases from data; the grader computes fresh ones
with the teacher's formulas. Both go through the code below, so the same mistake gets the same
message in both.

How a check works: the exercise's judge (``_judge_cost`` ...) asks a :class:`Run` to call the
function on each case; the run records what came back, whether an input was changed in place, the
warnings it emitted and whether it called the tutorial's own solution (a profiler hook watches for
the code of ``helpers.cofi_cost`` and friends, however it was reached). The judge compares the
output with the expected one; when they differ it names the mistake whose fingerprint the output
matches, or says what is wrong from the shapes, types and numbers alone (a constant factor, a
rounded result, single precision, where the largest difference is). Then the exercise's
:data:`RULES` apply: no Python loops where the text forbids them (read from the function's
source with :mod:`ast`), no warning where none is allowed. :func:`judge` returns a
:class:`Verdict`, and never raises, whatever the function does.

The grader runs no learner code in its own process: it makes the calls elsewhere with
:func:`record_call` and gives :func:`judge` a ``caller`` that replays the records.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import inspect
import io
import os
import sys
import textwrap
import traceback
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

__all__ = ["Case", "Rules", "RULES", "Verdict", "judge", "record_call", "reference_codes", "loops_in",
           "RTOL", "ATOL"]

RTOL, ATOL = 1e-9, 1e-10   # float64 answers agree to ~1e-14; a rounded one never passes by luck
_NOT_WRITTEN = "not implemented yet (the stub still raises NotImplementedError)"


# ---------------------------------------------------------------- what a check knows


@dataclass(frozen=True)
class Case:
    """One call of a check: ``fn(*arrays, *scalars)`` should return ``expected``.

    ``label`` names the case in messages ("lambda_=1.5"); ``mistakes`` maps the name of each
    known mistake to the output it gives on these arguments; ``kind`` is ``'value'``, or
    ``'numerical'`` for the gradients' final comparison with central differences.
    """

    label: str
    arrays: tuple
    scalars: tuple
    expected: object
    mistakes: Mapping[str, object] = field(default_factory=dict)
    kind: str = "value"


@dataclass(frozen=True)
class Rules:
    """What an exercise's text asks, besides the right values.

    ``task`` what the learner writes; ``arguments`` the names of the array arguments;
    ``forbidden`` the tutorial's functions that already compute it (calling one means "not done");
    ``no_loops``/``no_warnings`` the rules the text states, and ``warning_fix`` how to avoid the
    warning.
    """

    task: str
    arguments: tuple[str, ...]
    forbidden: tuple[str, ...]
    no_loops: bool = False
    no_warnings: bool = False
    warning_fix: str = ""


_FACTORS = ("X", "Theta", "Y", "R")
_COST_CODE = ("helpers._cost_and_gradients", "helpers.gradient_descent", "helpers.train_lbfgs",
              "recsys_tutorial.observed.ObservedRatings.cost_and_gradients",
              "recsys_tutorial.observed.ObservedRatings._cost_and_gradients_numpy",
              "recsys_tutorial.observed.ObservedRatings.residuals")   # the masked error: most of the answer

#: The rules of each exercise, by the name of its check.
RULES = MappingProxyType({
    "check_cofi_cost": Rules("the cost", _FACTORS, ("helpers.cofi_cost", *_COST_CODE), no_loops=True),
    "check_cofi_gradients": Rules("the gradients", _FACTORS, ("helpers.cofi_gradients", *_COST_CODE),
                                  no_loops=True),
    "check_normalize_ratings": Rules(
        "the normalisation", ("Y", "R"), ("helpers.normalize_ratings", "helpers._normalize"), no_warnings=True,
        warning_fix="divide only where the count is > 0 (read about the out= and where= arguments of np.divide)"),
    "check_gradient_step": Rules("the step", _FACTORS, ("helpers.gradient_descent", "helpers.train_lbfgs")),
    "check_top_n": Rules("the top-n list", ("predictions", "rated"), ("helpers.recommend",
                                                                     "recsys_tutorial.interactive.training._explorer_top")),
})


@dataclass(frozen=True)
class Verdict:
    """A check's conclusion.

    ``status``: 'passed'; 'rule' (right values, a rule of the exercise broken); 'not_done' (calls
    the tutorial's own solution); or 'failed'. ``mistake`` names what the message diagnoses
    ('unmasked', 'in_place', ...; '' when nothing more specific than "wrong value" is known).
    """

    status: str
    name: str
    message: str
    mistake: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def line(self) -> str:
        """The one line a check prints."""
        return f"PASSED: {self.name} {self.message}" if self.ok else f"FAILED: {self.name}: {self.message}"


class _Fail(Exception):
    """Why a learner's function fails, found while checking it; ``mistake`` names the diagnosis."""

    def __init__(self, message: str, mistake: str = ""):
        super().__init__(message)
        self.mistake = mistake


# ---------------------------------------------------------------- calling the learner's function


def reference_codes(names) -> dict:
    """Where the tutorial's functions are, without importing them: ``{qualname: [(file, dotted name)]}``.

    ``names`` are dotted, ``'helpers.cofi_cost'`` or
    ``'recsys_tutorial.observed.ObservedRatings.cost_and_gradients'``. A function is known by its
    file and qualified name, not by the object a module attribute holds, so ``helpers.cofi_cost =
    my_function`` makes ``my_function`` no reference, and the real one is still recognised however
    it is reached.
    """
    found: dict[str, list] = {}
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):   # the longest prefix that is a module
            try:
                spec = importlib.util.find_spec(".".join(parts[:cut]))
            except (ModuleNotFoundError, ValueError):
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

    Its prints are swallowed; NumPy's floating-point problems are turned into warnings. Returns a
    dict: ``ok``, ``out`` (the result) or ``error`` (the exception's last line; None for
    NotImplementedError), ``warnings`` (``[(category name, message)]``) and ``references`` (the
    names, from ``references`` as made by :func:`reference_codes`, of the functions it called).
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


class Run:
    """One checking run over ``cases``: calls the learner's function through ``caller``, keeps what it saw.

    ``caller(k, given, scalars)`` makes the call of case number ``k`` with the array copies
    ``given`` (which it may change in place, as the function would) and returns a record like
    :func:`record_call`'s. Each case is called at most once.
    """

    def __init__(self, caller, cases, arguments):
        self.caller, self.cases, self.arguments = caller, list(cases), arguments
        self.warnings: list[tuple[str, str]] = []
        self.references: list[str] = []
        self._done: dict[int, tuple] = {}

    def call(self, k: int):
        """``(ok, output or the reason it failed, the copies it was given)`` for case ``k``."""
        if k not in self._done:
            case = self.cases[k]
            given = [np.array(a, copy=True) for a in case.arrays]
            record = self.caller(k, given, tuple(case.scalars))
            self.warnings += [tuple(w) for w in record.get("warnings", ())]
            self.references += [r for r in record.get("references", ()) if r not in self.references]
            if record["ok"]:
                self._done[k] = (True, record["out"], given)
            else:
                self._done[k] = (False, f"raised {record['error']}" if record["error"] else _NOT_WRITTEN, given)
        return self._done[k]

    def outputs(self, kind: str = "value", fix: str = ""):
        """Yield ``(case, output)`` for the cases of ``kind``, in order.

        Raises :class:`_Fail` when the function raises or changes one of its inputs in place;
        ``fix`` says what to do instead.
        """
        for k, case in enumerate(self.cases):
            if case.kind != kind:
                continue
            ok, out, given = self.call(k)
            if not ok:
                mistake = "not_written" if out == _NOT_WRITTEN else "raised"
                raise _Fail(out + _shape_hint(out, self.arguments, case.arrays), mistake)
            changed = [n for n, a, g in zip(self.arguments, case.arrays, given)
                       if not np.array_equal(a, g, equal_nan=True)]
            if changed:
                raise _Fail(f"changes its input {' and '.join(changed)} in place; {fix}", "in_place")
            if out is None:
                raise _Fail("returns None: the function ends without a return statement that gives the result",
                            "returns_none")
            yield case, out

    def other_outputs(self, case):
        """The outputs of the other value cases that run without raising (to tell a constant answer)."""
        found = []
        for k, other in enumerate(self.cases):
            if other is not case and other.kind == "value":
                ok, out, _ = self.call(k)
                if ok:
                    found.append(out)
        return found


# ---------------------------------------------------------------- comparing and explaining


def _close(a, b) -> bool:
    """Equal within the checks' tolerance; tuples compare element by element."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _diagnose(got, case: Case, hints: dict, pick=None):
    """``(mistake, hint)`` of the first mistake in ``hints`` whose fingerprint ``got`` matches, or None.

    ``pick(output)`` takes the part of each fingerprint to compare (one of two arrays).
    """
    pick = pick or (lambda output: output)
    good = pick(case.expected)
    for mistake, hint in hints.items():
        if mistake in case.mistakes:
            fingerprint = pick(case.mistakes[mistake])
            if _close(got, fingerprint) and not _close(fingerprint, good):
                return mistake, hint
    return None


_SIMPLE_FACTORS = (2.0, 0.5, -1.0, -2.0, -0.5, 4.0, 0.25, 3.0, 1 / 3)


def _scale(got, good):
    """The simple constant ``c`` (2, 1/2, -1, ...) with ``got == c * good`` everywhere, or None."""
    g, r = np.ravel(np.asarray(got, float)), np.ravel(np.asarray(good, float))
    if g.shape != r.shape or not np.any(r):
        return None
    c = float(g @ r / (r @ r))
    if not np.allclose(g, c * r, rtol=RTOL, atol=ATOL):
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


def _single_precision(output) -> str | None:
    """The name of a floating dtype narrower than float64 in ``output`` (or a tuple of them), or None."""
    for part in output if isinstance(output, (tuple, list)) else (output,):
        dtype = getattr(part, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
            return str(dtype)
    return None


def _precision_fail(output, what: str):
    """:class:`_Fail` when ``output`` is single (or half) precision: the checks compare ~7 digits."""
    dtype = _single_precision(output)
    if dtype:
        raise _Fail(f"{what} is {dtype}, which keeps only about {7 if dtype == 'float32' else 3} significant "
                    "digits; the inputs are float64: compute in float64 (no .astype(np.float32) or "
                    "np.float32(...) on the way)", "single_precision")


def _largest_difference(name, got, good) -> str:
    """Where ``got`` differs most from ``good``: 'X_grad[2, 1]: got 0.5, expected 0.25'."""
    diff = np.abs(np.asarray(got, float) - good)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = f"{name}[{', '.join(str(int(i)) for i in at)}]"
    return f"{where}: {_numbers(float(np.asarray(got)[at]), float(good[at]))} (the largest difference)"


def _array_mistake(names, got, good, what) -> tuple[str, str]:
    """``(message, mistake)`` for arrays ``got`` that differ from ``good``: a constant factor, or where."""
    for name, g, r in zip(names, got, good):
        if _close(g, r):
            continue
        c = _scale(g, r)
        if c is not None:
            return (f"{name} is {c:g} times the {what} everywhere: a constant factor is wrong "
                    "(the 1/2 of J cancels the 2 from differentiating the square; lambda_ appears once)",
                    "constant_factor")
        return f"{name} differs from the {what}: {_largest_difference(name, g, r)}", ""
    return f"{' and '.join(names)} differ from the {what}", ""


def _two_arrays(out, names, noun="arrays"):
    """``out`` as two float arrays, or :class:`_Fail` saying what the function returned."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise _Fail(f"should return two {noun}, ({names[0]}, {names[1]}); got {got}", "not_a_pair")
    try:
        return tuple(np.asarray(a, dtype=float) for a in out)
    except (TypeError, ValueError):
        raise _Fail(f"{names[0]} and {names[1]} must be numeric arrays", "not_numeric") from None


def _check_factor_shapes(got, X, Theta, names):
    """:class:`_Fail` unless ``got`` holds an array shaped like ``X`` then one like ``Theta``."""
    first, second = got
    if first.shape == X.shape and second.shape == Theta.shape:
        return
    if first.shape == Theta.shape and second.shape == X.shape:
        raise _Fail(f"returns ({names[1]}, {names[0]}); the order is ({names[0]}, {names[1]})", "swapped")
    raise _Fail(f"wrong shape: {names[0]} must be {X.shape} like X (a row per movie) and {names[1]} "
                f"{Theta.shape} like Theta (a row per user); got {first.shape} and {second.shape}", "shape")


# ---------------------------------------------------------------- the cost (notebook 03)


_COST_HINTS = {
    "unmasked": "forgot the mask R: unrated entries are counted as if they were ratings; "
                "multiply the error (X @ Theta.T - Y) by R before squaring",
    "pred_only": "masks the predictions but not Y, so the values stored in unrated entries of Y still count; "
                 "multiply the whole error (X @ Theta.T - Y) by R",
    "no_half": "the squared-error sum is not halved (J starts with 1/2)",
    "mean": "averages the squared errors over every entry; J sums them (and halves the sum)",
    "per_rating": "divides by the number of ratings; J is a sum over the rated entries, not an average",
    "square_of_sum": "squares the sum of the errors; J sums the squared errors (square each error, then add)",
    "no_reg": "forgot regularisation: the result is the unregularised cost; "
              "add lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_x_only": "regularises X only; the penalty is lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_theta_only": "regularises Theta only; the penalty is lambda_/2 * (sum of X**2 + sum of Theta**2)",
    "reg_no_half": "the regularisation term is lambda_/2 * (...), not lambda_ * (...)",
    "reg_norm": "the penalty uses the norms of X and Theta, not their squares: np.linalg.norm(X) is the square "
                "root of the sum of squares; use np.sum(X ** 2) (or the norm squared)",
    "abs_errors": "adds up the absolute errors; J adds up the squared errors",
}


def _single_number(out) -> float:
    """``out`` as one float, or :class:`_Fail` saying what the function returned instead."""
    if isinstance(out, (str, bytes)):
        raise _Fail(f"returns the text {out!r}; return the number itself (format it only when printing)",
                    "not_a_number")
    if isinstance(out, (tuple, list)) or np.ndim(out) != 0:
        kind = type(out).__name__ if isinstance(out, (tuple, list)) else f"an array of shape {np.shape(out)}"
        raise _Fail(f"wrong shape: should return a single number J, got {kind} "
                    "(sum over all entries, e.g. with np.sum)", "not_a_number")
    try:
        return float(out)
    except (TypeError, ValueError):
        raise _Fail(f"should return a number; got {type(out).__name__}", "not_a_number") from None


def _cost_pair(out, case: Case):
    """:class:`_Fail` naming the article's two-number return (J without and with the penalty)."""
    if isinstance(out, (tuple, list)) and len(out) == 2 and all(np.ndim(v) == 0 for v in out):
        with contextlib.suppress(TypeError, ValueError):
            if any(_close(float(v), case.expected) for v in out):
                raise _Fail(f"on the case {case.label}: returns two numbers; return a single number, the "
                            "regularised J (the article's cost function returns two: J without and with the "
                            "penalty)", "article_pair")


_CHECKPOINTS = (22.22, 31.34)   # the course's checkpoint costs, quoted in notebook 03


def _hard_coded_cost(J, run, case) -> str | None:
    """The message for a fixed J (a course checkpoint, or the same number on every problem), or None."""
    if any(abs(J - c) < 0.01 for c in _CHECKPOINTS):
        return (f"returns {J:g}, one of the course's checkpoints (22.22, 31.34), which are the costs of "
                "notebook 03's data, not of the inputs it is given: compute J from X, Theta, Y, R and lambda_")
    others = []
    for out in run.other_outputs(case):
        with contextlib.suppress(TypeError, ValueError):
            others.append(float(out))
    if others and all(_close(o, J) for o in others):
        return (f"returns {J:g} whatever the inputs (a fixed value); compute J from X, Theta, Y, R and "
                "lambda_")
    return None


def _cost_mistake(J, run, case) -> tuple[str, str]:
    """``(message, mistake)``: why the cost ``J`` is not the expected one."""
    expected = case.expected
    found = _diagnose(J, case, _COST_HINTS)
    if found:
        return f"on the case {case.label}: {found[1]}", found[0]
    fixed = _hard_coded_cost(J, run, case)
    if fixed:
        return fixed, "constant"
    decimals = _rounding(J, expected)
    if decimals is not None:
        return (f"on the case {case.label}: returns J rounded to {decimals} decimals ({_numbers(J, expected)}); "
                "return the full value and round only when printing"), "rounded"
    c = _scale(J, expected)
    if c is not None:
        return (f"on the case {case.label}: J is {c:g} times the right cost ({_numbers(J, expected)}); "
                "a constant factor is wrong: J = 1/2 * sum of squared errors + lambda_/2 * (...)"), "constant_factor"
    return f"wrong value on the case {case.label}: {_numbers(J, expected)}", ""


def _judge_cost(run) -> str:
    """The cost checks; returns the PASSED text or raises :class:`_Fail`."""
    for case, out in run.outputs(fix="compute with new arrays instead (err = X @ Theta.T - Y makes one); "
                                     "never assign into Y, R, X or Theta"):
        _cost_pair(out, case)
        J = _single_number(out)
        _precision_fail(out, "J")
        if not _close(J, case.expected):
            raise _Fail(*_cost_mistake(J, run, case))
    return ("matches the reference cost with and without regularisation, "
            "ignoring whatever unrated entries of Y hold")


# ---------------------------------------------------------------- the gradients (notebook 04)


_GRADIENT_HINTS = {
    "unmasked": "forgot the mask R: the error must be R * (X @ Theta.T - Y), otherwise unrated entries "
                "pull the predictions towards whatever Y holds there",
    "pred_only": "masks the predictions but not Y, so values stored in unrated entries of Y still count; "
                 "multiply the whole error (X @ Theta.T - Y) by R",
    "sign": "the gradient has the wrong sign: use the error prediction - rating (X @ Theta.T - Y)",
    "no_reg": "forgot regularisation: add lambda_ * X to X_grad and lambda_ * Theta to Theta_grad",
    "reg_half": "the regularisation gradient is lambda_ * X (and lambda_ * Theta), not lambda_/2 * X",
    "reg_swapped": "the regularisation terms are swapped: X_grad gets lambda_ * X and Theta_grad lambda_ * Theta",
    "reg_sign": "the regularisation gradient has the wrong sign: add lambda_ * X (and lambda_ * Theta), "
                "don't subtract it",
    "error_doubled": "the error term is doubled: the 1/2 in J cancels the 2 from differentiating the square",
}


def _gradient_mistake(got, case: Case):
    """``(mistake, hint)`` reproducing ``got``, looking at both arrays, then each one alone; or None."""
    found = _diagnose(got, case, _GRADIENT_HINTS)
    if found:
        return found
    for i, name in enumerate(("X_grad", "Theta_grad")):
        if not _close(got[i], case.expected[i]):
            found = _diagnose(got[i], case, _GRADIENT_HINTS, pick=lambda output, i=i: output[i])
            if found:
                return found[0], f"{name}: {found[1]}"
    return None


def _relative_difference(got, numerical) -> float:
    """``|num - got| / |num + got|``, the gradient check's measure (inf when the sizes differ)."""
    got = np.concatenate([np.ravel(a) for a in got])
    numerical = np.concatenate([np.ravel(a) for a in numerical])
    if got.shape != numerical.shape:
        return np.inf
    return float(np.linalg.norm(numerical - got) / max(np.linalg.norm(numerical + got), 1e-300))


def _judge_gradients(run) -> str:
    """The gradient checks, then central differences; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_grad", "Theta_grad")
    fix = "compute with new arrays instead; never assign into Y, R, X or Theta (no Y[...] = ..., no X -= ...)"
    for case, out in run.outputs(fix=fix):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, case.arrays[0], case.arrays[1], names)
        _precision_fail(out, "the gradient")
        if _close(got, case.expected):
            continue
        found = _gradient_mistake(got, case)
        if found:
            raise _Fail(f"on the case {case.label}: {found[1]}", found[0])
        message, mistake = _array_mistake(names, got, case.expected, "right gradient")
        raise _Fail(f"wrong value on the case {case.label}: {message}", mistake)
    for case, out in run.outputs("numerical", fix=fix):
        got = _two_arrays(out, names)
        diff = _relative_difference(got, case.expected)
        if not diff < 1e-9:
            raise _Fail(f"the numerical gradient check disagrees: relative difference {diff:.1e} against "
                        "central differences of the cost", "numerical")
    return ("matches the reference gradients and the numerical gradient "
            "(relative difference < 1e-9), with and without regularisation")


# ---------------------------------------------------------------- mean normalisation (notebook 05)


_MEAN_HINTS = {
    "counts_zeros": "the means count the unrated entries as zeros (divided by the number of users); "
                    "divide each movie's sum by its number of ratings, R.sum(axis=1)",
    "sums_unrated": "the means add up Y where R is 0; sum only the rated entries (make the unrated ones zero "
                    "first, whatever Y holds there)",
    "global_mean": "every movie gets the same mean, the mean of all ratings; each movie needs its own mean, "
                   "over its own ratings (along axis=1)",
    "median": "uses the median of each movie's ratings; the exercise asks for the mean",
}
_NORM_HINTS = {
    "not_subtracted": "Y_norm holds the ratings themselves: subtract each movie's mean from its rated entries",
    "mean_added": "adds the mean to the ratings; subtract it (rating minus the movie's mean)",
    "divided": "divides the ratings by the mean; subtract it (rating minus the movie's mean)",
}


def _normalize_shapes(Y, Y_norm, Y_mean):
    """:class:`_Fail` unless Y_norm is shaped like Y and Y_mean holds one mean per movie."""
    n_movies = Y.shape[0]
    if Y_norm.ndim == 1 and Y_mean.shape == Y.shape:
        raise _Fail("returns (Y_mean, Y_norm); the order is (Y_norm, Y_mean)", "swapped")
    if Y_norm.shape != Y.shape:
        raise _Fail(f"Y_norm has shape {Y_norm.shape}; it must be a matrix shaped like Y {Y.shape}, "
                    "one normalised rating per entry (the article's sum(y)*sum(r) - ymean gives one "
                    "number per movie)", "shape")
    if Y_mean.shape not in ((n_movies,), (n_movies, 1)):
        raise _Fail(f"Y_mean has shape {Y_mean.shape}; expected ({n_movies},), "
                    "one mean per movie (average along axis=1)", "shape")


def _normalize_means(case: Case, Y_mean) -> None:
    """:class:`_Fail` naming the mistake when the means are not the expected ones."""
    Y, R = case.arrays
    expected = case.expected[1]
    raters = np.count_nonzero(R, axis=1)      # how many users rated each movie
    nobody = np.flatnonzero(raters == 0)
    if not np.all(np.isfinite(Y_mean)):
        i = int(np.flatnonzero(~np.isfinite(Y_mean))[0])
        if i in nobody:
            raise _Fail(f"gives NaN/inf for movie {i}, which nobody rated (0 / 0); "
                        "its mean must be 0: divide only where the count is > 0", "nan_mean")
        raise _Fail(f"Y_mean[{i}] is {Y_mean[i]}, but movie {i} has {raters[i]} ratings: expected "
                    f"{expected[i]:.6g}", "")
    if _close(Y_mean, expected):
        return
    found = _diagnose(Y_mean, case, _MEAN_HINTS, pick=lambda output: np.ravel(output[1]))
    if found:
        raise _Fail(found[1] + case.label, found[0])
    i = int(np.argmax(~np.isclose(Y_mean, expected)))
    extra = " (a movie nobody rated gets mean 0)" if raters[i] == 0 else " (the mean over the rated entries only)"
    raise _Fail(f"Y_mean[{i}]: {_numbers(float(Y_mean[i]), float(expected[i]))}{extra}{case.label}",
                "nobody_mean" if raters[i] == 0 else "")


def _normalize_entries(case: Case, Y_norm) -> None:
    """:class:`_Fail` naming the mistake when Y_norm is not the expected matrix (the means being right)."""
    R = case.arrays[1]
    expected = case.expected[0]
    bad = ~np.isfinite(Y_norm)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        where = "where R is False (not rated)" if not R[i, j] else "at a rated entry"
        raise _Fail(f"Y_norm holds {Y_norm[i, j]} {where}, e.g. Y_norm[{i}, {j}]; "
                    + ("it must be exactly 0 there (0.0, not np.nan)" if not R[i, j] else
                       f"expected {expected[i, j]:.6g}"), "nan_unrated" if not R[i, j] else "")
    if np.any(Y_norm[~R] != 0):
        i, j = np.argwhere((Y_norm != 0) & ~R)[0]
        raise _Fail(f"Y_norm must be 0 where R is 0 (not rated), but Y_norm[{i}, {j}] is "
                    f"{Y_norm[i, j]:.4g}{case.label}; subtract the mean from rated entries only", "unrated_not_zero")
    if not _close(Y_norm, expected):
        found = _diagnose(Y_norm, case, _NORM_HINTS, pick=lambda output: output[0])
        if found:
            raise _Fail(found[1] + case.label, found[0])
        i, j = np.argwhere(~np.isclose(Y_norm, expected))[0]
        raise _Fail(f"Y_norm[{i}, {j}]: {_numbers(float(Y_norm[i, j]), float(expected[i, j]))} "
                    f"(rating minus the movie's mean){case.label}", "")


def _judge_normalize(run) -> str:
    """The mean-normalisation checks; returns the PASSED text or raises :class:`_Fail`."""
    for case, out in run.outputs(fix="build new arrays instead of writing into Y or R"):
        Y_norm, Y_mean = _two_arrays(out, ("Y_norm", "Y_mean"), noun="values")
        _normalize_shapes(case.arrays[0], Y_norm, Y_mean)
        _precision_fail(out, "the result")
        _normalize_means(case, Y_mean.ravel())
        _normalize_entries(case, Y_norm)
    return "averages rated entries only, gives 0 for a movie nobody rated and leaves unrated entries at 0"


# ---------------------------------------------------------------- one gradient-descent step (notebook 06)


_STEP_HINTS = {
    "sequential": "Theta was updated with the gradient at the *new* X (a sequential update, as in the "
                  "article); compute both gradients from the old X and Theta first, then update both",
    "sequential_theta_first": "X was updated with the gradient at the *new* Theta (a sequential update); "
                              "compute both gradients from the old X and Theta first, then update both",
    "unmasked": "the gradient counts the unrated entries: the error must be R * (X @ Theta.T - Y)",
    "no_reg": "the step ignores lambda_: the gradients need + lambda_ * X and + lambda_ * Theta",
    "uphill": "the step goes uphill: subtract alpha * gradient, don't add it",
    "no_alpha": "the step forgets the learning rate: X - alpha * X_grad, not X - X_grad",
    "alpha_lambda_swapped": "lambda_ and alpha are swapped: the arguments come in the order "
                            "(X, Theta, Y, R, lambda_, alpha); alpha is the step size, lambda_ the penalty",
    "x_only": "only X moves: Theta must be updated in the same step",
    "theta_only": "only Theta moves: X must be updated in the same step",
    "gradients_swapped": "X moves along Theta's gradient and Theta along X's: X - alpha * X_grad, "
                         "Theta - alpha * Theta_grad",
}


def _judge_step(run) -> str:
    """The gradient-step checks; returns the PASSED text or raises :class:`_Fail`."""
    names = ("X_new", "Theta_new")
    for case, out in run.outputs(fix="return new arrays (X_new = X - alpha * X_grad, not X -= ...)"):
        got = _two_arrays(out, names)
        _check_factor_shapes(got, case.arrays[0], case.arrays[1], names)
        _precision_fail(out, "the result")
        if _close(got, case.expected):
            continue
        found = _diagnose(got, case, _STEP_HINTS)
        if found:
            raise _Fail(found[1] + case.label, found[0])
        lambda_, alpha = case.scalars
        message, mistake = _array_mistake(names, got, case.expected, "result of one step")
        raise _Fail(f"{message} (lambda_={lambda_}, alpha={alpha}){case.label}", mistake)
    return "makes one simultaneous gradient-descent step, the same as helpers.gradient_descent"


# ---------------------------------------------------------------- top-n selection (notebook 07)


_TOP_INDEX_HINTS = {
    "filtered_positions": "returns positions in the filtered array predictions[~rated], not rows of predictions: "
                          "map them back to movie rows (np.flatnonzero(~rated) lists the rows of the unrated "
                          "movies, in order)",
    "one_based": "returns movie ids counting from 1 (row + 1); return the rows of predictions, counting from 0",
}
_TOP_ORDER_HINTS = {
    "as_text": "sorts the predictions as text ('9.5' comes before '12.0'); sort the numbers themselves",
    "ascending": "lists the lowest predictions first; the best (highest) prediction comes first",
}


def _top_array(out, case: Case) -> np.ndarray:
    """``out`` as a 1-D float array of candidate indices, or :class:`_Fail` saying what it is instead."""
    kind = type(out).__name__
    if kind in ("Series", "DataFrame", "Index"):
        raise _Fail(f"returns a pandas {kind}; return the movie rows as a NumPy array of integers "
                    "(the index of a Series of predictions holds them: .index.to_numpy())", "pandas")
    try:
        arr = np.asarray(out)
    except (TypeError, ValueError):
        arr = np.asarray([], dtype=object)
    if arr.dtype == bool:
        raise _Fail(f"returns a boolean mask ({arr.size} True/False values); return the indices of the chosen "
                    "movies, highest prediction first (np.argsort gives indices)", "bool_mask")
    if arr.ndim == 2 and arr.shape[1] == 2:
        raise _Fail("returns (index, rating) pairs; return only the indices (movie rows), highest prediction "
                    "first", "pairs")
    if arr.ndim > 1 and max(arr.shape) != arr.size:
        raise _Fail(f"should return a 1-D array of movie indices; got an array of shape {arr.shape}", "shape")
    try:
        return arr.ravel().astype(float)
    except (TypeError, ValueError):
        raise _Fail(f"should return movie indices (integers); got {kind}", "not_indices") from None


def _top_indices(out, case: Case) -> np.ndarray:
    """``out`` as distinct indices of unrated movies, or :class:`_Fail` saying what it is instead."""
    predictions, rated = case.arrays
    got = _top_array(out, case)
    if got.size and np.any(got != np.round(got)):
        if np.all(np.isin(got, predictions)):
            raise _Fail("returned predicted ratings (the values); return the movie indices "
                        "(positions in predictions), e.g. from np.argsort", "ratings")
        raise _Fail(f"should return movie indices (whole numbers); got {got[:5].tolist()}", "not_indices")
    got = got.astype(int)
    found = next((m for m in _TOP_INDEX_HINTS if m in case.mistakes and np.array_equal(got, case.mistakes[m])
                  and not np.array_equal(got, case.expected)), None)
    if found:
        raise _Fail(_TOP_INDEX_HINTS[found], found)
    if got.size and (got.min() < 0 or got.max() >= predictions.size):
        raise _Fail(f"returned {got.tolist()}: movie indices must lie in 0..{predictions.size - 1}", "out_of_range")
    if len(set(got.tolist())) != got.size:
        raise _Fail(f"lists a movie twice: {got.tolist()}", "duplicates")
    already = [int(i) for i in got if rated[i]]
    if already:
        raise _Fail(f"recommends movie {already[0]}, which is already rated; "
                    "leave out every movie with rated[i] True", "includes_rated")
    return got


def _top_order_mistake(got, case: Case) -> tuple[str, str]:
    """``(message, mistake)``: why ``got``, the right number of unrated movies, is not the expected list."""
    expected = np.asarray(case.expected)
    for mistake, hint in _TOP_ORDER_HINTS.items():
        if mistake in case.mistakes and np.array_equal(got, case.mistakes[mistake]):
            return hint, mistake
    if np.array_equal(got, expected[::-1]):
        return _TOP_ORDER_HINTS["ascending"], "ascending"
    if set(got.tolist()) == set(expected.tolist()):
        return (f"has the right movies in the wrong order: {got.tolist()}, "
                f"expected {expected.tolist()} (highest prediction first)"), "order"
    return f"returned {got.tolist()}, expected {expected.tolist()} for n={case.scalars[0]}", ""


def _judge_top(run) -> str:
    """The top-n checks; returns the PASSED text or raises :class:`_Fail`."""
    for case, out in run.outputs(fix="work on a copy (or with indices)"):
        predictions, rated = case.arrays
        n, free = case.scalars[0], int((~rated).sum())
        got = _top_indices(out, case)
        expected = np.asarray(case.expected)
        if got.size != expected.size:
            if n > free:
                raise _Fail(f"asked for n={n} but only {free} movies are unrated: "
                            f"return those {free}; got {got.size}", "too_few_unrated")
            raise _Fail(f"returned {got.size} movies for n={n}", "length")
        if not np.array_equal(got, expected):
            raise _Fail(*_top_order_mistake(got, case))
    return "returns the best unrated movies, highest prediction first, sorted as numbers"


# ---------------------------------------------------------------- the rules, and the verdict


_JUDGES = MappingProxyType({"check_cofi_cost": _judge_cost, "check_cofi_gradients": _judge_gradients,
                            "check_normalize_ratings": _judge_normalize, "check_gradient_step": _judge_step,
                            "check_top_n": _judge_top})

_LOOP_NODES = {ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
               ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
               ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression"}
_LOOP_CALLS = {"map", "filter", "vectorize", "apply_along_axis", "frompyfunc"}
#: Loops by another name, when called from their module (``np.add.reduce`` is a whole-array operation).
_LOOP_MODULE_CALLS = {"reduce": "functools", "accumulate": "itertools", "starmap": "itertools"}
#: Calls that run code no one can read from the function's source: they count as loops.
_HIDDEN_CODE = {"exec", "eval", "compile", "__import__"}
_HIDDEN_MODULE_CALLS = {"import_module": "importlib", "run_path": "runpy", "run_module": "runpy"}


def _loop_call(node) -> str | None:
    """What a call node does that counts as a loop, or None."""
    func = node.func
    name, owner = (func.id, None) if isinstance(func, ast.Name) else (
        (func.attr, func.value.id if isinstance(func.value, ast.Name) else "") if isinstance(func, ast.Attribute)
        else (None, None))
    if name in _LOOP_CALLS:
        return f"{name}()"
    if name in _LOOP_MODULE_CALLS and owner in (None, _LOOP_MODULE_CALLS[name]):
        return f"{name}()"
    if (name in _HIDDEN_CODE and owner in (None, "builtins")) or (
            name in _HIDDEN_MODULE_CALLS and owner in (None, _HIDDEN_MODULE_CALLS[name])):
        return f"{name}() (code run from a string or loaded at run time cannot be read, so it counts as a loop)"
    return None


def _recursion(root) -> list:
    """``(line, column, text)`` for each function in ``root`` that calls itself by name (a loop by recursion)."""
    found = []
    for fn in ast.walk(root):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                     and n.func.id == fn.name]
            found += [(n.lineno, n.col_offset, f"recursion ({fn.name} calls itself)") for n in calls[:1]]
    return found


def loops_in(source: str, name: str) -> list[str]:
    """The Python-level loops in function ``name`` of ``source`` (the whole source if no such def).

    Each as 'a for loop (line 3)', lines counted from the ``def`` line;
    ``map``/``filter``/``np.vectorize``/``np.apply_along_axis``/``functools.reduce``/
    ``itertools.accumulate`` count as loops, and so do a function that calls itself
    (recursion) and code that cannot be read from the source: ``exec``,
    ``eval``, ``compile``, ``__import__``, ``importlib.import_module``, ``runpy``.
    """
    tree = ast.parse(textwrap.dedent(source))
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    root, first = (defs[-1], defs[-1].lineno) if defs else (tree, 1)
    found = []
    for node in ast.walk(root):
        kind = _LOOP_NODES.get(type(node)) or (_loop_call(node) if isinstance(node, ast.Call) else None)
        if kind:
            found.append((node.lineno, node.col_offset, kind))
    found += _recursion(root)
    return [_at_line(text, line - first + 1) for line, _, text in sorted(found)]


def _at_line(kind: str, line: int) -> str:
    """'a for loop (line 3)'; 'exec() (line 2: code run from a string ...)'."""
    if kind.endswith(")") and " (" in kind and not kind.startswith("recursion"):
        head, note = kind.split(" (", 1)
        return f"{head} (line {line}: {note}"
    return f"{kind} (line {line})"


def _source_of(fn):
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def _rules_broken(rules: Rules, fn, name: str, source, run) -> tuple[str, str]:
    """``('', '')`` or ``(what rule of the exercise the correct function breaks, its name)``."""
    source = source if source is not None else _source_of(fn)
    if rules.no_loops and source is not None:
        try:
            loops = loops_in(source, name)
        except SyntaxError:
            loops = []
        if loops:
            return (f"it uses {', '.join(loops)}; the exercise asks for matrix operations only, "
                    "no Python loops (whole-array NumPy expressions)"), "loops"
    runtime = [w for w in run.warnings if w[0] == "RuntimeWarning"]  # NumPy's: 0/0, overflow, ...
    if rules.no_warnings and runtime:
        category, message = runtime[0]
        return f"it emits a {category} ({message}); the exercise allows no warning: {rules.warning_fix}", "warning"
    return "", ""


@functools.lru_cache(maxsize=None)
def _forbidden_codes(checker: str) -> dict:
    """Where each exercise's forbidden functions are (file and qualified name; nothing imported)."""
    return reference_codes(RULES[checker].forbidden)


def judge(checker: str, cases, fn=None, *, name=None, source=None, caller=None) -> Verdict:
    """Check a learner's function on ``cases`` for the exercise of ``checker`` (a key of :data:`RULES`).

    Parameters
    ----------
    cases : list of Case
        The calls to make, with their expected outputs and the known mistakes' outputs.
    fn : callable, optional
        The learner's function, called in this process (a notebook's check).
    name : str, optional
        The function's name in messages (default ``fn.__name__``).
    source : str, optional
        The source that defines the function, for the no-loops rule (default: :func:`inspect.getsource`).
    caller : callable, optional
        Replays calls made elsewhere instead of calling ``fn`` (see :class:`Run`).

    Returns
    -------
    Verdict
        Never raises, whatever the function does.
    """
    rules = RULES[checker]
    name = name or getattr(fn, "__name__", None) or "your function"
    codes = _forbidden_codes(checker)
    itself = _reference_name(getattr(fn, "__code__", None), codes) if caller is None else None
    if itself:
        return Verdict("not_done", name, f"is {itself} itself, the tutorial's solution: write {rules.task} yourself",
                       "itself")
    if caller is None:
        def caller(k, given, scalars):
            return record_call(fn, (*given, *scalars), codes)
    run = Run(caller, cases, rules.arguments)
    try:
        text, failure = _JUDGES[checker](run), None
    except _Fail as fail:
        text, failure = None, fail
    except Exception as exc:  # a check must never stop "Run All"
        text, failure = None, _Fail(f"the check itself failed ({type(exc).__name__}: {exc})", "check_failed")
    if run.references:
        return Verdict("not_done", name, f"calls {', '.join(run.references)}, the tutorial's own solution, "
                                         f"instead of computing {rules.task}: write it yourself", "calls_solution")
    if failure is not None:
        return Verdict("failed", name, str(failure), failure.mistake)
    broken, rule = _rules_broken(rules, fn, name, source, run)
    if broken:
        return Verdict("rule", name, f"the values are right, but {broken}", rule)
    return Verdict("passed", name, text)
