"""Tests of the grader's parts (teacher/grading/): reading notebooks and hand-ins, the run plan, the student's
code a check runs, the runner's wire format and report, the runtime without the answers, feedback, grades.csv
and the command line. The sandbox itself: test_sandbox.py; a hostile class graded end to end:
test_grading_hostile.py.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from teacher import exercises, sample_class
from teacher.grading import classroom, grader, notebooks, runner, runtime
from teacher.grading.__main__ import main as grade_main
from teacher.grading.notebooks import Cell, ExerciseSpec, HandInError

ROOT = Path(__file__).resolve().parents[1]
TEACHER = notebooks.teacher_notebooks(ROOT / "notebooks")
BY_NAME = {nb.name: nb for nb in TEACHER}
NB03, NB05, NB06 = "03-cost-function.ipynb", "05-mean-normalisation.ipynb", "06-training.ipynb"
T03 = BY_NAME[NB03]
SPEC03 = T03.specs[0]


def hand_in(tmp_path, cases=None, name=NB03, edit=None, bodies=None) -> Path:
    """A student copy of ``name`` answered as ``cases`` (default: correct), optionally edited, written to tmp_path."""
    specs = BY_NAME[name].specs
    nb = sample_class.submission(ROOT / "notebooks" / name, cases or {s.function: "correct" for s in specs},
                                 specs, bodies=bodies)
    if edit:
        edit(nb)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def cells_of(nb) -> list[dict]:
    return json.loads(nbformat.writes(nb))["cells"]


# ---------------------------------------------------------------- the teacher's notebooks


def test_teacher_exercises_come_from_the_notebooks():
    specs = notebooks.teacher_exercises(ROOT / "notebooks")
    assert [(s.notebook, s.function, s.checker, s.check_id) for s in specs[:2]] == [
        (NB03, "my_cofi_cost", "check_cofi_cost", "check_my_cofi_cost"),
        ("04-gradient-checking.ipynb", "my_cofi_gradients", "check_cofi_gradients", "check_my_cofi_gradients")]
    assert [nb.name[:2] for nb in TEACHER] == ["03", "04", "05", "06", "07"]
    assert all(s.points == 2 and s.exercise == s.function for s in specs)
    assert T03.fixed == {"check_my_cofi_cost": "exercises.check_cofi_cost(my_cofi_cost);"}


def test_teacher_notebooks_selects_by_number_or_name():
    assert [n.name for n in notebooks.teacher_notebooks(ROOT / "notebooks", ["05", NB03])] == [NB03, NB05]
    with pytest.raises(ValueError, match=r"notebook '01' has no graded exercise .*\(graded: 03, 04, 05, 06, 07\)"):
        notebooks.teacher_notebooks(ROOT / "notebooks", ["01"])


def test_teacher_notebook_refuses_a_check_cell_without_a_checker(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / NB03, as_version=4)
    check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    check.source = "assert my_cofi_cost(1, 2, 3, 4) == 5"
    nbformat.write(nb, tmp_path / NB03)
    with pytest.raises(ValueError, match="must call a checker of exercises.py"):
        notebooks.teacher_exercises(tmp_path)


def test_checker_call_and_defined_functions():
    assert notebooks.checker_call("exercises.check_top_n(my_top_n);") == ("check_top_n", "my_top_n")
    assert notebooks.checker_call("print('PASSED')") is None and notebooks.checker_call("def (") is None
    assert notebooks.defined_functions("%time x = 1\ndef f():\n    pass\nclass C:\n    def g(self): pass") == {"f"}
    assert notebooks.defined_functions("x = " + "1 + " * 100_000 + "1") == set()   # too deep: no crash
    assert notebooks.strip_magics("%matplotlib inline\nx = 1\n    !ls\n") == "pass\nx = 1\n    pass\n"


# ---------------------------------------------------------------- reading a hand-in


def test_read_hand_in_gives_the_cells(tmp_path):
    cells = notebooks.read_hand_in(hand_in(tmp_path))
    assert [c["cell_type"] for c in cells][:2] == ["markdown", "code"]
    assert any("def my_cofi_cost" in c["source"] for c in cells)


def test_read_hand_in_refuses_links_and_special_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    (tmp_path / "link.ipynb").symlink_to(secret)
    with pytest.raises(HandInError, match="symbolic link") as info:
        notebooks.read_hand_in(tmp_path / "link.ipynb")
    assert "TOP-SECRET" not in str(info.value)
    os.mkfifo(tmp_path / "fifo.ipynb")      # reading it would block for ever
    with pytest.raises(HandInError, match="not a regular file"):
        notebooks.read_hand_in(tmp_path / "fifo.ipynb")
    with pytest.raises(HandInError, match="not handed in"):
        notebooks.read_hand_in(tmp_path / "missing.ipynb")


def test_read_hand_in_refuses_a_hard_link(tmp_path):
    # A hand-in that is a hard link to the teacher's worked notebook ran the worked solution and scored.
    teacher = tmp_path / "teacher.ipynb"
    teacher.write_bytes((ROOT / "notebooks" / NB03).read_bytes())
    (tmp_path / "student").mkdir()
    os.link(teacher, tmp_path / "student" / NB03)
    with pytest.raises(HandInError, match="hard link") as info:
        notebooks.read_hand_in(tmp_path / "student" / NB03)
    assert "BEGIN SOLUTION" not in str(info.value)


def test_strip_magics_is_linear_in_the_cell_size():
    # r"^(\s*)[%!]" spanned lines: a 100 KB cell of newlines took ~70 s of the grader's CPU, holding the GIL.
    def seconds(n):
        text = "x = 1" + "\n" * n
        start = time.perf_counter()
        notebooks.strip_magics(text)
        return time.perf_counter() - start
    seconds(1000)
    small, large = min(seconds(4_000) for _ in range(3)), min(seconds(40_000) for _ in range(3))
    assert large < 40 * small + 0.05                 # 10x the text: ~10x the time (quadratic: ~100x)
    assert notebooks.strip_magics("  %time x = 1\n\n!ls\ny = 2") == "  pass\n\npass\ny = 2"


def test_student_code_ran_parses_each_cell_once(monkeypatch):
    # One re-parse per reported function (up to 200) of a 2 MB cell stalled the grader for minutes.
    defs = "".join(f"def f{k}():\n    return {k}\n" for k in range(50))
    plan = plan_of(defs, "def my_cofi_cost(X):\n    return " + " + ".join(f"f{k}()" for k in range(50)))
    parses = []
    real = notebooks.ast.parse
    monkeypatch.setattr(notebooks.ast, "parse", lambda *a, **k: parses.append(1) or real(*a, **k))
    ran = [[0, 2 * k + 1, f"f{k}"] for k in range(50)]
    main, helpers = notebooks.student_code_ran(plan, 2, "my_cofi_cost", ran=ran, defined=[1, 1])
    assert len(helpers) == 50 and main.startswith("def my_cofi_cost")
    assert len(parses) == 2                          # two cells, one parse each


@pytest.mark.parametrize("content, words", [
    (b"TOP-SECRET-LINE is not JSON", "not valid JSON (line 1, column 1)"),
    (b"\xff\xfe TOP-SECRET-LINE", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"cells": "TOP-SECRET-LINE"}', "no list of cells"),
    (b'{"cells": ["TOP-SECRET-LINE"]}', "a cell without a cell_type"),
    (b'{"cells": [{"cell_type": "code", "source": 5}]}', "neither text nor a list of lines"),
])
def test_read_hand_in_refuses_what_is_not_a_notebook_without_quoting_it(tmp_path, content, words):
    path = tmp_path / NB03
    path.write_bytes(content)
    with pytest.raises(HandInError, match=re.escape(words)) as info:
        notebooks.read_hand_in(path)
    assert "TOP-SECRET" not in str(info.value)


def test_read_hand_in_limits(tmp_path, monkeypatch):
    path = hand_in(tmp_path)
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_BYTES", 1000)
    with pytest.raises(HandInError, match="at most 1,000 are read"):
        notebooks.read_hand_in(path)
    monkeypatch.undo()
    monkeypatch.setattr(notebooks, "MAX_CELLS", 10)
    with pytest.raises(HandInError, match="at most 10 are graded"):
        notebooks.read_hand_in(path)
    monkeypatch.undo()
    monkeypatch.setattr(notebooks, "MAX_CODE_CHARS", 100)
    with pytest.raises(HandInError, match="characters of code; at most 100"):
        notebooks.read_hand_in(path)


def test_metadata_that_is_not_nbgraders_counts_as_none(tmp_path):
    nb = json.loads(hand_in(tmp_path).read_text())
    nb["cells"][1]["metadata"]["nbgrader"] = "zz"
    nb["cells"][2]["metadata"] = ["not", "a", "dict"]
    (tmp_path / "odd.ipynb").write_text(json.dumps(nb))
    cells = notebooks.read_hand_in(tmp_path / "odd.ipynb")
    assert cells[1]["metadata"] == cells[2]["metadata"] == {"nbgrader": {}}


# ---------------------------------------------------------------- the run plan


def steps_of(plan):
    return [("check", s.function) if isinstance(s, ExerciseSpec) else (s.label, s.student) for s in plan.steps]


def test_run_plan_runs_the_students_cells_and_the_teachers_check(tmp_path):
    def edit(nb):   # a tampered check cell, and a new cell of the student's
        check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        check.source = "print('PASSED: my_cofi_cost is right')"
        nb.cells.insert(3, nbformat.v4.new_code_cell("mine = 1"))
    plan = notebooks.run_plan(T03, notebooks.read_hand_in(hand_in(tmp_path, edit=edit)))
    steps = steps_of(plan)
    assert steps.count(("check", "my_cofi_cost")) == 1
    assert steps[steps.index(("check", "my_cofi_cost")) - 1] == ("cell 17", True)   # the answer cell, shifted by 1
    assert ("cell 4", True) in steps and ("cell 2", False) in steps      # the student's new cell; the teacher's
    assert not any("PASSED" in c.source for c in plan.cells)


@pytest.mark.parametrize("how", ["delete", "markdown", "strip_metadata"])
def test_a_deleted_check_cell_comes_back_after_its_solution_cell(tmp_path, how):
    def edit(nb):
        k = next(k for k, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
        if how == "delete":
            del nb.cells[k]
        elif how == "markdown":
            nb.cells[k] = nbformat.v4.new_markdown_cell("gone", metadata=nb.cells[k].metadata)
        else:
            nb.cells[k].metadata = {}
            nb.cells[k].source = "pass"
    plan = notebooks.run_plan(T03, notebooks.read_hand_in(hand_in(tmp_path, edit=edit)))
    steps = steps_of(plan)
    assert steps.count(("check", "my_cofi_cost")) == 1
    assert steps[steps.index(("check", "my_cofi_cost")) - 1] == ("cell 16", True)


def test_a_copied_check_cell_runs_once_and_locked_cells_are_restored(tmp_path):
    teacher = notebooks.TeacherNotebook(
        "x.ipynb", T03.specs, {"check_my_cofi_cost": T03.fixed["check_my_cofi_cost"], "locked": "setup = 1"},
        ("locked", "my_cofi_cost", "check_my_cofi_cost"), frozenset())
    meta = {"locked": {"nbgrader": {"grade_id": "locked", "locked": True}},
            "answer": {"nbgrader": {"grade_id": "my_cofi_cost", "solution": True}},
            "check": {"nbgrader": {"grade_id": "check_my_cofi_cost", "grade": True}}}
    def cell(source, kind):
        return {"cell_type": "code", "source": source, "metadata": meta.get(kind, {})}
    plan = notebooks.run_plan(teacher, [cell("setup = 666", "locked"), cell("def my_cofi_cost(): pass", "answer"),
                                        cell("print('PASSED')", "check"), cell("print('PASSED')", "check")])
    assert [c.source for c in plan.cells] == ["setup = 1", "def my_cofi_cost(): pass"]
    assert steps_of(plan)[-1] == ("check", "my_cofi_cost") and len(plan.steps) == 3
    plan = notebooks.run_plan(teacher, [cell("def my_cofi_cost(): pass", "answer")])   # locked cell deleted
    assert [(c.source, c.student) for c in plan.cells] == [("def my_cofi_cost(): pass", True), ("setup = 1", False)]


# ---------------------------------------------------------------- the student's code a check runs


def plan_of(*sources, student=True):
    plan = notebooks.Plan([Cell(s, f"cell {k + 1}", student) for k, s in enumerate(sources)])
    plan.steps.append(SPEC03)
    return plan


def test_student_code_ran_follows_helpers_through_earlier_cells():
    plan = plan_of("def a(x):\n    return [v for v in x]\n\nunused = lambda: [1 for _ in ()]",
                   "b = a\ndef c(x):\n    return b(x)",
                   "import numpy as np\ndef my_cofi_cost(X, Theta, Y, R, lambda_=0.0):\n    return np.sum(c(X))")
    main, helpers = notebooks.student_code_ran(plan, 3, "my_cofi_cost")
    assert main.startswith("def my_cofi_cost") and "np.sum(c(X))" in main
    assert [(name, label) for name, label, _ in helpers] == [("c", "cell 2"), ("a", "cell 1")]
    assert grader.loop_rule("check_cofi_cost", "my_cofi_cost", helpers) == (
        "the values are right, but my_cofi_cost calls a (cell 1), which uses a list comprehension (line 2); "
        "the exercise asks for matrix operations only, no Python loops (whole-array NumPy expressions)")
    assert grader.loop_rule("check_gradient_step", "my_gradient_step", helpers) == ""   # 06 allows loops


def test_student_code_ran_ignores_the_teachers_cells_and_later_definitions():
    plan = notebooks.Plan([Cell("def helper(x):\n    for v in x:\n        pass", "cell 1", False),
                           Cell("def my_cofi_cost(X):\n    return helper(X)", "cell 2", True), SPEC03,
                           Cell("def my_cofi_cost(X):\n    for v in X:\n        pass", "cell 3", True)])
    main, helpers = notebooks.student_code_ran(plan, 2, "my_cofi_cost")
    assert main == "def my_cofi_cost(X):\n    return helper(X)" and helpers == []


def test_student_code_ran_adds_what_the_runner_saw_running():
    plan = plan_of("def hidden(x):\n    while x:\n        x -= 1\n    return x",
                   "def my_cofi_cost(X):\n    return globals()['hid' + 'den'](X)")
    _, helpers = notebooks.student_code_ran(plan, 2, "my_cofi_cost", ran=[[0, 1, "hidden"], [9, 1, "x"], [1, 1, "y"]])
    assert [(n, label) for n, label, _ in helpers] == [("hidden", "cell 1")]
    plan = plan_of("exec('def my_cofi_cost(X): ...')", "def made(X):\n    return [x for x in X]\nmy_cofi_cost = made")
    assert notebooks.student_code_ran(plan, 2, "my_cofi_cost")[0].startswith("def made")       # an alias
    plan = plan_of("f = [lambda X: [x for x in X]]\nmy_cofi_cost = f[0]")
    assert notebooks.student_code_ran(plan, 1, "my_cofi_cost")[0] is None
    assert notebooks.student_code_ran(plan, 1, "my_cofi_cost", defined=[0, 1])[0] == plan.steps[0].source.splitlines()[0]



def test_written_code_reads_writefile_cells_and_counts_the_rest_as_loops():
    # A loop in a module written to /tmp at run time and imported escaped the rule; %%writefile is honest.
    plan = plan_of("%%writefile costlib.py\ndef masked(E):\n    return [e for e in E]\n",
                   "from costlib import masked\ndef my_cofi_cost(X):\n    return masked(X)")
    readable, unreadable = notebooks.written_code(plan, 2, [["/tmp/costlib.py", 1, "masked"],
                                                           ["/tmp/mymod.py", 1, "g"], ["<string>", 1, "__new__"]])
    assert readable == [("masked", "cell 1, written to costlib.py", "def masked(E):\n    return [e for e in E]")]
    assert unreadable == ["g from mymod.py, a file written while the notebook ran"]   # (no exec: <string> is Python's)
    plan = plan_of("ns = {}\nexec('def g(X): ...', ns)", "def my_cofi_cost(X):\n    return ns['g'](X)")
    assert notebooks.written_code(plan, 2, [["<string>", 1, "g"]])[1] == ["g, code run from a string (exec or eval)"]
    rule = grader.loop_rule("check_cofi_cost", "my_cofi_cost", readable, unreadable)
    assert rule.startswith("the values are right, but my_cofi_cost runs g from mymod.py") and "cannot read" in rule
    assert grader.loop_rule("check_cofi_cost", "my_cofi_cost", readable).startswith(
        "the values are right, but my_cofi_cost calls masked (cell 1, written to costlib.py), which uses a list")


def test_the_runner_tells_written_code_from_the_installed_environment(monkeypatch):
    # A checkout (and so the venv) under /tmp must not make NumPy's code count as written at run time.
    monkeypatch.setattr(runner, "_WRITABLE", ["/tmp/", "/dev/shm/", "/tmp/work/"])
    monkeypatch.setattr(runner, "_INSTALLED", ["/tmp/checkout/.venv/", "/grading/lib/"])
    assert runner._written("/tmp/mymod.py") and runner._written("/tmp/work/costlib.py") and runner._written("<string>")
    assert not runner._written("/tmp/checkout/.venv/lib/python3.11/site-packages/numpy/core/fromnumeric.py")
    assert not runner._written("/usr/lib/python3.11/functools.py") and not runner._written("<frozen abc>")

# ---------------------------------------------------------------- the runner's wire format and report


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.array([np.nan, np.inf, -np.inf]),
                                   np.array([True, False]), np.arange(3, dtype=np.int32), np.float64(2.5),
                                   (np.ones(2), [1, 2.5]), None, "text", 7, 2.0, float("nan")])
def test_wire_round_trip(value):
    back = runner.decode(json.loads(json.dumps(runner.encode(value), allow_nan=False)))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value, equal_nan=True)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    elif not isinstance(value, tuple):
        assert back == value


def test_wire_carries_namedtuples_and_pandas_values_as_their_numbers():
    # Honest answers scored 0 that pass their check cell: 04 returning a namedtuple of arrays, 05 returning
    # (DataFrame, Series). 07's check names the pandas type it got, so the type's name travels too.
    import collections
    import pandas as pd

    Gradients = collections.namedtuple("Gradients", "X_grad Theta_grad")
    back = runner.decode(json.loads(json.dumps(runner.encode(Gradients(np.ones(2), np.zeros((2, 2)))))))
    assert type(back) is tuple and np.array_equal(back[1], np.zeros((2, 2)))
    frame, series = pd.DataFrame([[1.0, np.nan], [3.0, 4.0]]), pd.Series([1, 2, 3])
    back = runner.decode(json.loads(json.dumps(runner.encode((frame, series)), allow_nan=False)))
    assert [type(v).__name__ for v in back] == ["DataFrame", "Series"]
    assert np.array_equal(np.asarray(back[0], dtype=float), frame.to_numpy(), equal_nan=True)
    assert type(np.asarray(back[1], dtype=float)) is np.ndarray and list(np.asarray(back[1])) == [1, 2, 3]
    assert runner.decode(runner.encode(pd.Series(["a", "b"]))).__class__.__name__ == "Series"    # opaque, named


def test_wire_keeps_untrusted_values_inert():
    class Liar(float):
        def __eq__(self, other):
            return True
    back = runner.decode(runner.encode(Liar(0.0)))
    assert isinstance(back, runner.Opaque) and type(back).__name__ == "Liar"
    assert type(runner.decode(runner.encode(np.zeros(runner.MAX_ELEMENTS + 1)))).__name__ == "ndarray"
    sub = runner.decode(runner.encode(np.ones(3).view(np.matrix)))
    assert type(sub) is np.ndarray and sub.tolist() == [[1.0, 1.0, 1.0]]
    for forged in ({"array": [1, 2], "dtype": "O", "shape": [2]}, {"array": [1, 2], "dtype": "<f8", "shape": [3]},
                   {"array": ["x"], "dtype": "<f8", "shape": [1]}, {"array": [1], "dtype": "<i8", "shape": [-1]},
                   {"array": [1.5], "dtype": "<i8", "shape": [1]}, {"int": "7"}, {"number": {"float": "1e999"}},
                   {"tuple": "abc"}, {"list": [{}] * 2000}, "not a dict", {"plain": [1]}, {"a": 1, "b": 2, "c": 3,
                   "d": 4, "e": 5}, {"list": [{"list": [{"list": [{"list": [{"int": 1}]}]}]}]}):
        assert isinstance(runner.decode(forged), (runner.Opaque, list)), forged
    assert isinstance(runner.decode({"list": [{"list": [{"list": [{"list": [{"int": 1}]}]}]}]})[0][0][0][0],
                      runner.Opaque)


def report(*entries) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in entries)


RECORD = {"ok": True, "out": {"number": 1.0}, "error": None, "warnings": [], "after": []}


def test_parse_report_reads_what_the_runner_writes():
    data = report({"check": 0, "errors": [], "records": [RECORD], "ran": [[0, 1, "f"]]},
                  {"check": 1, "errors": [[2, "NameError: x"]], "missing": "f is not defined"},
                  {"done": True, "errors": []})
    checks, done = grader.parse_report(data, 2, 3, finished=True)
    assert set(checks) == {0, 1} and done == {"done": True, "errors": []}
    checks, done = grader.parse_report(data[:-5], 2, 3, finished=False)   # stopped while writing the last line
    assert set(checks) == {0, 1} and done is None


@pytest.mark.parametrize("data, words", [
    (report({"check": 0, "records": [], "ran": []}, {"check": 0, "records": [], "ran": []}), "twice"),
    (report({"check": 5, "records": [], "ran": []}), "not asked for"),
    (report({"done": True}, {"check": 0, "records": [], "ran": []}), "after the final one"),
    (b"not json\n", "not JSON"),
    (report({"check": 0, "records": [], "ran": []})[:-3], "middle of a line"),
    (report({"check": 0, "records": [], "ran": [], "extra": 1}), "unknown fields"),
    (report({"check": 0, "records": [], "ran": [[99, 1, "f"]]}), "functions that ran"),
    (report({"check": 0, "missing": "x" * 5000}), "missing-function"),
    (report({"done": "yes"}), "final report"),
    (report([1, 2]), "not an object"),
])
def test_parse_report_refuses_anything_else(data, words):
    with pytest.raises(grader.ReportError, match=re.escape(words)):
        grader.parse_report(data, 1, 2, finished=True)


def test_records_must_match_the_planned_calls():
    calls = [([np.zeros(2), np.ones(2)], (0.5,))]
    good = {**RECORD, "after": [runner.encode(np.zeros(2)), runner.encode(np.ones(2))]}
    assert grader._valid_records([good], calls)
    for bad in ([], [good, good], [{**good, "after": []}], [{**good, "ok": "yes"}], [{**good, "warnings": [["a"]]}],
                [{**good, "extra": 1}], [{**good, "error": 5}], ["record"]):
        assert not grader._valid_records(bad, calls)


# ---------------------------------------------------------------- the runtime without the answers


def test_stub_source_replaces_only_the_bodies():
    source = ('import x\n\n\n@decorator\ndef f(a, b=1):\n    """Doc."""\n    return a + b  # the answer\n\n\n'
              'class C:\n    def m(self):\n        return 42\n\n    def n(self):\n        return 1\n')
    stubbed = runtime.stub_source(source, {"f": "f: no", "C.m": "C.m: no"})
    assert stubbed == ('import x\n\n\n@decorator\ndef f(a, b=1):\n    raise RuntimeError(\'f: no\')\n\n\n'
                       "class C:\n    def m(self):\n        raise RuntimeError('C.m: no')\n\n"
                       "    def n(self):\n        return 1\n")
    with pytest.raises(ValueError, match="no function g to stub"):
        runtime.stub_source(source, {"g": "no"})
    with pytest.raises(ValueError, match="starts on its def line"):
        runtime.stub_source("def f(): return 1\n", {"f": "no"})


def test_build_runtime_holds_no_answer_and_no_checker(tmp_path):
    forbidden = exercises.EXERCISES["check_cofi_cost"].forbidden
    lib = runtime.build_runtime(tmp_path / "lib", runtime.stubs_for(forbidden, ["my_cofi_cost"]))
    files = sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*.py"))
    assert "helpers.py" in files and not any("research" in f for f in files)
    assert (lib / "recsys_tutorial" / "exercises.py").read_text() == runtime.EXERCISES_STUB
    helpers_text = (lib / "helpers.py").read_text()
    assert "E = np.where(R, X @ Theta.T - Y, 0.0)" not in helpers_text     # the formula of the cost
    assert "def load_ratings(path)" in helpers_text and "ratings_sheets(p)" in helpers_text
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in lib.rglob("*.py"))
    code = ("import helpers, recsys_tutorial.exercises as ex\n"
            "for call in (lambda: helpers.cofi_cost(1, 2, 3, 4), lambda: ex.EXERCISES):\n"
            "    try:\n        call()\n    except (RuntimeError, AttributeError) as e:\n        print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(lib)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["helpers.cofi_cost is not available while the grader runs this notebook: it computes what the "
                   "exercise asks you to write (my_cofi_cost()), so your code must compute it itself",
                   "exercises.EXERCISES is not available while the grader runs this notebook: the grader checks your "
                   "answers itself, on test problems of its own"]


def test_every_function_the_sandbox_withholds_exists(tmp_path):
    """A renamed function in helpers or observed must fail here, not be silently left in the sandbox."""
    names = [n for ex in exercises.EXERCISES.values() for n in ex.forbidden]
    lib = runtime.build_runtime(tmp_path / "lib", runtime.stubs_for(names, ["f"]))
    for name in names + [n for values in runtime.RESTS_ON.values() for n in values]:
        assert f"raise RuntimeError('{name} is not available" in (
            (lib / "helpers.py").read_text() + (lib / "recsys_tutorial" / "observed.py").read_text()
            + "".join(p.read_text() for p in sorted((lib / "recsys_tutorial").rglob("*.py")))), name
    with pytest.raises(ValueError, match="only functions of helpers and recsys_tutorial"):
        runtime.build_runtime(tmp_path / "other", {"numpy.sum": "no"})



@pytest.mark.parametrize("checker, function, private", [
    ("check_cofi_cost", "my_cofi_cost", "recsys_tutorial.observed.ObservedRatings.residuals"),
    ("check_cofi_gradients", "my_cofi_gradients", "recsys_tutorial.observed.ObservedRatings.residuals"),
    ("check_top_n", "my_top_n", "recsys_tutorial.interactive.training._explorer_top")])
def test_private_functions_that_compute_an_answer_are_withheld(tmp_path, checker, function, private):
    # Found in review: 03's masked error through ObservedRatings.from_dense(Y, R).residuals(X, Theta), and 07's
    # top list through the explorer's private _explorer_top, were callable in the sandbox.
    lib = runtime.build_runtime(tmp_path / "lib", runtime.stubs_for(exercises.EXERCISES[checker].forbidden, [function]))
    module, name = private.rsplit(".", 1)
    owner = module.split(".")
    if owner[-1][0].isupper():
        module, cls = module.rsplit(".", 1)
        name = f"{cls}.{name}"
    code = (f"import importlib\nm = importlib.import_module({module!r})\nf = m\n"
            f"for part in {name!r}.split('.'):\n    f = getattr(f, part)\n"
            "try:\n    f(*[None] * (f.__code__.co_argcount))\nexcept RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(lib)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith(f"{private} is not available while the grader runs this notebook"), out


# ---------------------------------------------------------------- feedback, seeds, grades.csv


def test_points_and_feedback_for_each_verdict():
    spec = ExerciseSpec(NB03, "my_cofi_cost", "my_cofi_cost", "check_cofi_cost", 2.0)
    V = exercises.Verdict
    assert grader._feedback(spec, V("passed", "f", "is right"), "") == (2.0, "PASSED: f is right")
    assert grader._feedback(spec, V("passed", "f", "is right"), "loops") == (
        1.0, "FAILED: f: loops (right values, a rule broken: 1 of 2 points)")
    assert grader._feedback(spec, V("failed", "f", "wrong"), "") == (0.0, f"FAILED: f: wrong {grader.NEW_PROBLEMS}")
    assert grader._feedback(spec, V("not_done", "f", "calls it"), "")[0] == 0


def test_student_seed_differs_per_student_notebook_and_run():
    seeds = {grader.student_seed(run, s, nb) for run in (1, 2) for s in ("ada", "ben") for nb in (NB03, NB05)}
    assert len(seeds) == 8 and grader.student_seed(1, "ada", NB03) == grader.student_seed(1, "ada", NB03)


@pytest.mark.parametrize("value, safe", [("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
                                         ("\t=x", "' =x"), ("a\nb\x00c", "a b c"), ("ok", "ok"), ("x" * 3000, "x" * 2000)])
def test_cell_text_is_safe_in_a_spreadsheet(value, safe):
    assert classroom.cell_text(value) == safe


INFO = classroom.RunInfo(7, "2026-01-01T00:00:00+00:00", "bubblewrap sandbox")


def test_write_grades_keeps_the_previous_file_and_never_follows_a_link(tmp_path):
    rows = [grader.Row("=ann", NB03, "my_cofi_cost", 1.0, 2.0, "a, b")]
    path, kept = classroom.write_grades(rows, tmp_path / "grades.csv", INFO)
    assert kept is None and path.read_text().splitlines() == [
        ",".join(classroom.COLUMNS),
        "'=ann,03-cost-function.ipynb,my_cofi_cost,1,2,\"a, b\",7,2026-01-01T00:00:00+00:00,bubblewrap sandbox"]
    first = path.read_text()
    path2, kept = classroom.write_grades(rows[:0], tmp_path / "grades.csv", INFO)
    assert path2 == path and kept.read_text() == first and kept.name.startswith("grades-")
    (tmp_path / "grades.csv").unlink()
    target = tmp_path / "teacher-file.txt"
    target.write_text("keep me")
    (tmp_path / "grades.csv").symlink_to(target)
    path3, _ = classroom.write_grades(rows, tmp_path / "grades.csv", INFO)
    assert target.read_text() == "keep me" and path3.name.startswith("grades-") and path3.is_file()
    assert not list(tmp_path.glob(".grades.*"))


@pytest.mark.parametrize("value, shown", [("bad \udcff byte", "bad \ufffd byte"), ("zed\udcff", "zed\ufffd"),
                                          ("ada_correct\u200b", "ada_correct<U+200B>"),
                                          ("\u202etcerroc_ada", "<U+202E>tcerroc_ada"), ("\u202e=cmd", "<U+202E>=cmd"),
                                          ("Zoë Ñúñez", "Zoë Ñúñez")])
def test_cell_text_is_valid_utf8_and_shows_format_characters(value, shown):
    assert classroom.cell_text(value) == shown
    classroom.cell_text(value).encode("utf-8")


def test_write_grades_never_fails_on_a_hand_ins_text(tmp_path):
    # A lone surrogate in an error message, or a student folder whose name is not UTF-8 (b"zed\xff" reads as
    # "zed\udcff"), made write_grades raise UnicodeEncodeError: no grades.csv for the whole class.
    rows = [grader.Row(os.fsdecode(b"zed\xff"), NB03, "my_cofi_cost", 0.0, 2.0, "raised ValueError: bad \udcff"),
            grader.Row("ada_correct\u200b", NB03, "my_cofi_cost", 0.0, 2.0, "ok"),
            grader.Row("ada_correct", NB03, "my_cofi_cost", 2.0, 2.0, "PASSED")]
    path, _ = classroom.write_grades(rows, tmp_path / "grades.csv", INFO)
    with open(path, newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert [r["student"] for r in read] == ["zed\ufffd", "ada_correct<U+200B>", "ada_correct"]
    assert read[0]["feedback"] == "raised ValueError: bad \ufffd"


def test_a_folder_named_grades_csv_gets_the_grades_beside_it(tmp_path):
    (tmp_path / "grades.csv").mkdir()
    path, _ = classroom.write_grades([], tmp_path / "grades.csv", INFO)
    assert path.parent == tmp_path and path.name.startswith("grades-") and (tmp_path / "grades.csv").is_dir()


def test_students_and_their_hand_ins_are_found_without_following_links(tmp_path):
    for name in ("bob", "ann", ".git", "_skip", "ann/cost", "bob/.ipynb_checkpoints", "elsewhere"):
        (tmp_path / name).mkdir()
    (tmp_path / "grades.csv").write_text("old")
    (tmp_path / "eve").symlink_to(tmp_path / "ann")
    (tmp_path / "ann" / "cost" / NB03).write_text("{}")
    (tmp_path / "bob" / ".ipynb_checkpoints" / NB03).write_text("{}")
    (tmp_path / "elsewhere" / NB03).write_text("{}")
    (tmp_path / "bob" / "link").symlink_to(tmp_path / "elsewhere")
    assert classroom.students_in(tmp_path) == ["ann", "bob", "elsewhere", "eve"]
    assert classroom.find_hand_in(tmp_path / "ann", NB03) == tmp_path / "ann" / "cost" / NB03
    assert classroom.find_hand_in(tmp_path / "bob", NB03) is None


@pytest.mark.parametrize("args, words", [
    (["--timeout", "0"], "above 0"), (["--timeout", "-5"], "above 0"), (["--timeout", "inf"], "above 0"),
    (["--timeout", "nan"], "above 0"), (["--timeout", "ten"], "expected a number of seconds"),
    (["--jobs", "0"], "between 1 and 64"), (["--seed", "-1"], "between 0"), (["--memory", "10"], "between 256"),
    (["--teacher", "/nonexistent-folder"], "not a folder: '/nonexistent-folder'"),
])
def test_the_command_line_is_validated(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as info:
        grade_main([str(tmp_path), *args])
    assert info.value.code == 2 and words in capsys.readouterr().err


def test_the_command_line_refuses_a_missing_folder_and_an_unknown_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        grade_main([str(tmp_path / "nowhere")])
    assert "not a folder" in capsys.readouterr().err
    assert grade_main([str(tmp_path), "--notebooks", "01"]) == 1
    assert "notebook '01' has no graded exercise" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()


def test_grade_class_refuses_a_teacher_folder_without_exercises(tmp_path):
    with pytest.raises(ValueError, match="no notebook .* has a graded exercise"):
        classroom.grade_class(tmp_path, teacher=tmp_path)
    with pytest.raises(FileNotFoundError, match="one folder per student"):
        classroom.grade_class(tmp_path / "nowhere")


def test_sample_class_command_line(tmp_path, capsys):
    assert sample_class.main([str(tmp_path / "c"), "--students", "2"]) == 0
    assert "2 students" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "c" / "student001").iterdir()) == sorted(BY_NAME)


# ---------------------------------------------------------------- a hand-in graded (unconfined: the sandbox is test_sandbox.py's)


@pytest.fixture(scope="module")
def unconfined():
    from teacher.grading.sandbox import Limits
    from teacher.grading.workspace import Workspace

    made = Workspace([T03, BY_NAME[NB05]], sandbox=False, limits=Limits(wall=60, cpu=60))
    yield made
    made.close()


MISTAKES = {  # the notebook's check cell names each of these; the grader must say the same
    "no mask": "E = X @ Theta.T - Y\nreturn 0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))",
    "no half": "E = R * (X @ Theta.T - Y)\nreturn np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))",
    "rounded": "E = R * (X @ Theta.T - Y)\nreturn round(float(0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + "
               "np.sum(Theta ** 2))), 2)",
    "a loop": "J = 0.0\nfor i, j in zip(*np.nonzero(R)):\n    J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2\n"
              "return J + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))",
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_the_grader_gives_the_check_cells_message_for_the_same_mistake(tmp_path, unconfined, mistake):
    path = hand_in(tmp_path, bodies={"my_cofi_cost": MISTAKES[mistake]})
    (row,) = grader.grade_notebook("zoe", path, T03, unconfined, run_seed=5)
    source = next(c["source"] for c in notebooks.read_hand_in(path) if "def my_cofi_cost" in c["source"])
    namespace = {"np": np}
    exec(source, namespace)      # as the notebook's check cell sees it
    line = exercises.judge("check_cofi_cost", namespace["my_cofi_cost"], seed=grader.student_seed(5, "zoe", NB03),
                           source=source).line
    assert row.feedback.startswith(line) and line.startswith("FAILED: my_cofi_cost: ")
    assert row.points == (1 if mistake == "a loop" else 0)
    assert (grader.NEW_PROBLEMS in row.feedback) == (mistake != "a loop")


def test_each_check_is_judged_in_a_process_of_its_own_within_a_time_limit(tmp_path, unconfined, monkeypatch):
    # The judge reads the hand-in's code (its syntax tree): in the grader's own thread, a large cell held the
    # GIL, and with it every sandbox's watchdog. It runs in a child process, which is stopped at the limit.
    (row,) = grader.grade_notebook("zoe", hand_in(tmp_path), T03, unconfined, run_seed=5)
    assert row.points == 2.0
    children = []
    real = grader._context().Process
    monkeypatch.setattr(grader._context(), "Process", lambda *a, **k: children.append(real(*a, **k)) or children[-1])
    monkeypatch.setattr(grader, "JUDGE_SECONDS", 1e-6)
    (row,) = grader.grade_notebook("zoe", hand_in(tmp_path), T03, unconfined, run_seed=5)
    assert (row.points, row.feedback) == (0.0, "the grader could not judge this answer within 1e-06 s (reading the "
                                                "notebook's code took too long: is it very large?)")
    assert len(children) == 1 and children[0].pid != os.getpid() and not children[0].is_alive()

def test_an_answer_using_its_own_earlier_cells_gets_its_points(tmp_path, unconfined):
    def edit(nb):
        k = next(k for k, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
        nb.cells.insert(k, nbformat.v4.new_code_cell("import numpy\ndef masked(X, Theta, Y, R):\n"
                                                     "    return numpy.where(R, X @ Theta.T - Y, 0.0)"))
    body = "E = masked(X, Theta, Y, R)\nreturn float(numpy.sum(E ** 2) / 2 + lambda_ / 2 * (numpy.sum(X ** 2) + numpy.sum(Theta ** 2)))"
    (row,) = grader.grade_notebook("zoe", hand_in(tmp_path, bodies={"my_cofi_cost": body}, edit=edit), T03,
                                   unconfined, run_seed=5)
    assert (row.points, row.feedback[:22]) == (2.0, "PASSED: my_cofi_cost m")


def test_a_hand_in_that_cannot_run_costs_that_hand_in_only(tmp_path, unconfined):
    (tmp_path / NB03).write_text("{not json")
    (row,) = grader.grade_notebook("zoe", tmp_path / NB03, T03, unconfined, run_seed=1)
    assert row.points == 0 and "cannot read the hand-in as a notebook" in row.feedback
    (row,) = grader.grade_notebook("zoe", tmp_path / "missing.ipynb", T03, unconfined, run_seed=1)
    assert row.feedback == f"not handed in: no {NB03} in the student's folder"
    path = hand_in(tmp_path, bodies={"my_cofi_cost": "return undefined_name"},
                   edit=lambda nb: nb.cells.insert(1, nbformat.v4.new_code_cell("def my_cofi_cost(:")))
    (row,) = grader.grade_notebook("zoe", path, T03, unconfined, run_seed=1)
    assert "raised NameError: name 'undefined_name' is not defined" in row.feedback
    (row,) = grader.grade_notebook("zoe", hand_in(tmp_path, edit=lambda nb: [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")][0].update(source="x = 1")), T03,
        unconfined, run_seed=1)
    assert row.points == 0 and row.feedback.startswith("my_cofi_cost is not defined when its check cell runs")


def test_no_sandbox_is_recorded(tmp_path):
    (tmp_path / "ann").mkdir()
    hand_in(tmp_path / "ann")
    rows, info = classroom.grade_class(tmp_path, notebooks=["03"], sandbox=False, seed=3)
    assert [r.points for r in rows] == [2.0] and info.seed == 3
    assert info.sandbox.startswith("none: --no-sandbox") and not info.interrupted


def test_a_stopped_run_still_writes_grades_for_everyone(tmp_path):
    """SIGTERM to the grader (from the teacher: a hand-in cannot reach it) ends the run with grades.csv written."""
    for student in ("ann", "bob", "cat", "dan"):
        (tmp_path / student).mkdir()
        hand_in(tmp_path / student, {"my_cofi_cost": "infinite_loop"})
    proc = subprocess.Popen([sys.executable, "-m", "teacher.grading", str(tmp_path), "--notebooks", "03",
                             "--no-sandbox", "--jobs", "1", "--timeout", "600"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(Path(tempfile.gettempdir()).glob("grading-unconfined-*/*")) and time.monotonic() < deadline:
        time.sleep(0.2)                   # until a notebook runs
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    rows = list(csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert [r["student"] for r in rows] == ["ann", "bob", "cat", "dan"]
    assert all(r["points"] == "0" for r in rows) and "grading was interrupted" in out
    assert all(r["feedback"].startswith("not graded: grading was stopped") for r in rows)


def test_a_notebook_starved_of_cpu_is_graded_again_alone(tmp_path, monkeypatch):
    # Under a load of 17-23 an honest 3-s notebook was stopped at its 60-s wall limit and got 0, "an infinite
    # loop?". A run stopped at its wall time with little CPU time is graded again, alone, after the class.
    import io

    marker = tmp_path / "first-run-done"
    slow_once = (f"import os, time\nif not os.path.exists({str(marker)!r}):\n    open({str(marker)!r}, 'w').close()\n"
                 "    time.sleep(60)")
    monkeypatch.setitem(sample_class.ATTACKS, "ann_slow_once", sample_class.Case("class", case="correct",
                                                                                  before=(slow_once,)))
    monkeypatch.setitem(sample_class.ATTACKS, "bob_sleeps", sample_class.Case("class", case="correct",
                                                                               before=("import time\ntime.sleep(60)",)))
    monkeypatch.setitem(sample_class.ATTACKS, "cat_spins", sample_class.Case("class", case="infinite_loop"))
    folder = tmp_path / "class"
    sample_class.make_hostile_class(folder, {"canary": "/nonexistent"}, honest=[],
                                    attacks=["ann_slow_once", "bob_sleeps", "cat_spins"])
    lines = io.StringIO()
    rows, _ = classroom.grade_class(folder, notebooks=["03"], sandbox=False, seed=3, jobs=1,
                                    limits=runner_limits(wall=6.0), progress=classroom.Progress(3, stream=lines))
    by = {r.student: r for r in rows}
    assert by["ann_slow_once"].points == 2.0 and by["ann_slow_once"].feedback.startswith("PASSED")
    assert by["bob_sleeps"].points == 0 and "the grading machine was too busy" in by["bob_sleeps"].feedback
    assert "graded again, alone, after the rest of the class, and stopped again" in by["bob_sleeps"].feedback
    cat = by["cat_spins"].feedback       # it spins: it had the CPU, unless the machine is very busy right now
    assert by["cat_spins"].points == 0 and ("an infinite loop" in cat and "of CPU time used" in cat
                                            or "(CPU time: " in cat                  # its CPU limit came first
                                            or "the grading machine was too busy" in cat), cat
    printed = lines.getvalue().splitlines()
    assert printed[0].startswith("[1/3] ann_slow_once 03-cost-function.ipynb: 0 / 2 (stopped at its time limit")
    assert "[again/3] ann_slow_once 03-cost-function.ipynb: 2 / 2 (graded again, alone)" in printed
    assert "[again/3] bob_sleeps 03-cost-function.ipynb: 0 / 2 (graded again, alone)" in printed
    assert len(printed) == 5 + ("too busy" in cat), printed


def runner_limits(wall: float):
    from teacher.grading.sandbox import Limits

    return Limits(wall=wall, cpu=wall)


def test_where_the_sandbox_cannot_start_grading_stops_and_says_what_to_do(tmp_path, capsys, monkeypatch):
    from teacher.grading import sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    (tmp_path / "ann").mkdir()
    hand_in(tmp_path / "ann")
    assert grade_main([str(tmp_path), "--notebooks", "03"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot grade in a sandbox here: bubblewrap (bwrap) is not installed: install it "
                          "(Debian/Ubuntu: sudo apt-get install bubblewrap") and "--no-sandbox" in err
    assert not (tmp_path / "grades.csv").exists()
