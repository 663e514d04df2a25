"""recsys_tutorial/judging.py's own pieces: calling a learner's function, comparing, the rules.

How it judges whole exercises is tested in tests/test_exercises.py (the catalogue of hand-ins,
through the notebooks' checks and the grader's judge).
"""

from __future__ import annotations

import numpy as np
import pytest

from catalogue import CATALOGUE
from recsys_tutorial import exercises, judging
from teacher import exercises as teacher


def test_verdict_line_and_ok():
    assert judging.Verdict("passed", "f", "is right").line == "PASSED: f is right"
    failed = judging.Verdict("failed", "f", "is wrong", "unmasked")
    assert failed.line == "FAILED: f: is wrong" and not failed.ok and failed.mistake == "unmasked"
    assert judging.Verdict("rule", "f", "x").mistake == "", "the grader builds verdicts without a mistake"


def test_scale_and_rounding():
    good = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert judging._scale(2 * good, good) == 2.0 and judging._scale(-good / 2, good) == -0.5
    assert judging._scale(good + 1, good) is None and judging._scale(good, np.zeros(4)) is None
    assert judging._rounding(3.14, 3.14159) == 2 and judging._rounding(3.0, 3.14159) == 0
    assert judging._rounding(3.1416, 3.14159) == 4 and judging._rounding(3.2, 3.14159) is None


@pytest.mark.parametrize("output, found", [
    (np.float32(1.0), "float32"), ((np.ones(2), np.ones(2, np.float16)), "float16"), (np.ones(2), None),
    (np.longdouble(1.0), None), (1.0, None), ([np.ones(2, np.float32)], "float32")])
def test_single_precision(output, found):
    assert judging._single_precision(output) == found


def test_messages_show_the_digits_that_differ():
    """Numbers that print alike get more digits; single precision is named, not shown as equal numbers."""
    assert judging._numbers(-16.05781, -16.05782) == "got -16.05781, expected -16.05782"
    assert judging._numbers(1 / 3, 0.3333333333333333 + 1e-15).startswith("got 0.33333333333333")
    got, expected = judging._numbers(1.0000001, 1.0).split(", ")
    assert got.split()[-1] != expected.split()[-1]
    grads = next(e.fn for e in CATALOGUE if e.name == "grads_float32")
    line = judging.judge("check_cofi_gradients", exercises.cases("check_cofi_gradients"), grads).line
    assert "float32" in line and "float64" in line and "expected" not in line


def test_record_call():
    def noisy(a):
        print("hidden")
        return np.log(a - a)  # divide by zero -> -inf, with a RuntimeWarning
    record = exercises.record_call(noisy, (np.ones(2),))
    assert record["ok"] and np.all(np.isinf(record["out"]))
    assert record["warnings"][0][0] == "RuntimeWarning"
    stub = next(e.fn for e in CATALOGUE if e.name == "cost_stub")
    assert exercises.record_call(stub, [None] * 4)["error"] is None
    assert exercises.record_call(lambda: 1 / 0, ())["error"] == "ZeroDivisionError: division by zero"
    codes = exercises.reference_codes(["helpers.cofi_cost", "helpers.no_such_function", "no_such_module.f"])
    assert set(codes) == {"cofi_cost", "no_such_function"} and codes["cofi_cost"][0][1] == "helpers.cofi_cost"
    calls = next(e.fn for e in CATALOGUE if e.name == "cost_calls_helpers")
    called = exercises.record_call(calls, (np.ones((2, 1)), np.ones((3, 1)), np.ones((2, 3)), np.ones((2, 3), bool)),
                                   codes)
    assert called["references"] == ["helpers.cofi_cost"]


def test_loops_in():
    source = ("def f(a):\n    total = sum(x for x in a)\n    while False:\n        pass\n"
              "    return list(map(abs, a))\n\ndef g(a):\n    for x in a:\n        pass\n")
    assert exercises.loops_in(source, "f") == ["a generator expression (line 2)", "a while loop (line 3)",
                                               "map() (line 5)"]
    assert exercises.loops_in(source, "g") == ["a for loop (line 2)"]
    assert exercises.loops_in("def f(a):\n    return a @ a\n", "f") == []
    assert exercises.loops_in("[x for x in y]", "missing") == ["a list comprehension (line 1)"]
    assert teacher.loops_in is exercises.loops_in is judging.loops_in


def test_loops_in_counts_loops_by_other_names_and_code_it_cannot_read():
    # Escapes of the no-loops rule found in review: reduce, recursion, and a loop run from a string.
    source = ("def f(X, pairs):\n    import functools, itertools\n"
              "    a = functools.reduce(lambda s, p: s + p, pairs, 0.0)\n    b = itertools.accumulate(pairs)\n"
              "    ns = {}\n    exec('def g():\\n    for i in range(3): pass', ns)\n    return a + eval('1')\n")
    assert exercises.loops_in(source, "f") == [
        "reduce() (line 3)", "accumulate() (line 4)",
        "exec() (line 6: code run from a string or loaded at run time cannot be read, so it counts as a loop)",
        "eval() (line 7: code run from a string or loaded at run time cannot be read, so it counts as a loop)"]
    recursive = "def f(X):\n    def rec(k):\n        return 0 if k == 0 else X[k] + rec(k - 1)\n    return rec(3)\n"
    assert exercises.loops_in(recursive, "f") == ["recursion (rec calls itself) (line 3)"]
    # whole-array NumPy (ufunc reduce/accumulate) and pandas' own eval are not loops
    vectorised = "def f(X, df):\n    return np.add.reduce(X) + np.maximum.accumulate(X) + df.eval('a + b')\n"
    assert exercises.loops_in(vectorised, "f") == []

