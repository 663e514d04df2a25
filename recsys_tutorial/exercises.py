"""The check cells of the exercises in notebooks 03-07: expected values, never the answers' formulas.

Each ``check_*`` function takes the learner's function, runs it on the exercise's fixed test
problems and prints exactly one line: ``PASSED: <name> <what it does right>`` or ``FAILED:
<name>: <what is wrong>``. It returns ``True``/``False`` and never raises, so a learner's "Run
All" carries on to the end of the notebook; only when nbgrader grades the notebook (its
autograde and validate runs set ``NBGRADER_EXECUTION``) does a failed check raise
``AssertionError``, which is how nbgrader's graded check cells score 0.

What a check knows is data, as in the public tests of the DeepLearning.AI labs: for each
problem, the arguments, the expected output, and the output each known mistake gives (its
fingerprint), read from ``exercise_cases.json`` beside this file. The teacher's formulas wrote
that file (``python -m teacher.exercises``); they are not part of a learner's runtime. How an
output is compared and a mistake named is :func:`recsys_tutorial.judging.judge`, which the
grader uses too, on problems of its own.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from .judging import RULES, Case, Verdict, judge, loops_in, record_call, reference_codes
from .settings import graded_run

__all__ = ["check_cofi_cost", "check_cofi_gradients", "check_normalize_ratings", "check_gradient_step",
           "check_top_n", "cases", "decode", "CASE_FILE", "RULES", "Verdict", "record_call", "reference_codes",
           "loops_in"]

#: The checks' fixed problems, written by ``python -m teacher.exercises``.
CASE_FILE = Path(__file__).with_name("exercise_cases.json")


def decode(data):
    """A value of the case file: a number, an array (``dtype``, ``shape``, ``values``) or a ``tuple`` of them."""
    if isinstance(data, dict) and "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if isinstance(data, dict):
        return np.array(data["values"], dtype=data["dtype"]).reshape(data["shape"])
    return data


@functools.lru_cache(maxsize=None)
def _case_file() -> dict:
    return json.loads(CASE_FILE.read_text(encoding="utf-8"))


def cases(checker: str) -> list[Case]:
    """The fixed test problems of the check ``checker`` (a key of :data:`RULES`)."""
    return [Case(c["label"], tuple(decode(a) for a in c["arrays"]), tuple(decode(s) for s in c["scalars"]),
                 decode(c["expected"]), {k: decode(v) for k, v in c["mistakes"].items()}, c["kind"])
            for c in _case_file()[checker]]


def _self_check(checker: str, fn) -> bool:
    """Judge, print the one line, and raise only inside nbgrader's grading runs."""
    verdict = judge(checker, cases(checker), fn)
    print(verdict.line)
    if not verdict.ok and graded_run():
        raise AssertionError(verdict.line)
    return verdict.ok


def check_cofi_cost(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> J`` (notebook 03).

    Runs three small problems (with and without regularisation, and with junk stored in unrated
    entries of ``Y``), compares with the expected cost and names the mistake when the result
    equals what a known mistake gives: a missing mask, masking only the predictions, a missing
    1/2, a mean or a division by the number of ratings instead of a sum, the square of the sum, a
    missing, partial or unsquared regularisation term, a rounded or fixed result, a constant
    factor, single precision. Also fails a function that returns something other than a single
    number, changes its inputs in place, calls ``helpers.cofi_cost`` or uses a Python loop.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_cofi_cost", fn)


def check_cofi_gradients(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` (notebook 04).

    Runs three small problems (with and without regularisation, and with junk stored in unrated
    entries of ``Y``), compares both gradients with the expected ones and names the mistake when
    it is a known one: a missing mask, masking only the predictions, a flipped sign, a missing,
    halved or subtracted regularisation term, a doubled error, a constant factor, the two arrays
    swapped or transposed. A function that passes is finally compared with central differences
    of the cost at ``lambda_=1.5``. Calling ``helpers.cofi_gradients`` or using a Python loop fails.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_cofi_gradients", fn)


def check_normalize_ratings(fn) -> bool:
    """Check a learner's ``fn(Y, R) -> (Y_norm, Y_mean)`` (notebook 05).

    Runs problems with a movie nobody rated and a movie rated once, first with zeros and then
    with junk in the unrated entries of ``Y``. Names the usual mistakes: the two results swapped,
    a vector instead of a matrix (the article's formula), NaN for the unrated movie or in the
    unrated entries, means that count the zeros or add up the junk, one overall mean, the mean
    subtracted from unrated entries too, inputs changed in place, a RuntimeWarning (none is
    allowed) and calling ``helpers.normalize_ratings``.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_normalize_ratings", fn)


def check_gradient_step(fn) -> bool:
    """Check a learner's ``fn(X, Theta, Y, R, lambda_, alpha) -> (X_new, Theta_new)`` (notebook 06).

    The answer is one iteration of gradient descent. Names a sequential update (either order), a
    missing mask, a missing regularisation term, a step uphill or without ``alpha``, ``alpha`` and
    ``lambda_`` swapped, a step that moves only one of the two, and inputs changed in place;
    calling ``helpers.gradient_descent`` fails (``helpers.cofi_gradients`` is allowed).

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_gradient_step", fn)


def check_top_n(fn) -> bool:
    """Check a learner's ``fn(predictions, rated, n) -> movie indices`` (notebook 07).

    The answer lists the ``n`` movies not yet rated with the highest predictions, best first, as
    indices into ``predictions``. The test predictions include two-digit and negative numbers, so a
    sort of the numbers as text gives a different order and is named; so are ascending order,
    already-rated movies in the list, positions in the filtered array, ids counted from 1,
    ratings, pairs, a boolean mask or a pandas object returned instead of indices, a wrong length,
    asking for more movies than there are unrated ones, and inputs changed in place.

    Prints one line starting with ``PASSED:`` or ``FAILED:``; returns a bool.
    """
    return _self_check("check_top_n", fn)
