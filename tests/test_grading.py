"""Tests of the grader (grading/): a made-up class graded end to end with `make grade`, and its parts.

The class (grading.sample_class) has one student per case: a correct
submission of every notebook, each kind of wrong answer, an unsolved stub, a
rewritten check cell, a monkeypatched checker and helper, an infinite loop,
a syntax error and a crashing process. Each must get exactly the points a
teacher would give; one student's trouble must cost nobody else anything.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from teacher import sample_class
from teacher.grading import _child, classroom, codec, grader
from teacher.grading.notebooks import ExerciseSpec, answer_cells, checker_call, defined_functions, teacher_exercises

ROOT = Path(__file__).resolve().parents[1]
SPECS = teacher_exercises(ROOT / "notebooks")
BY_NOTEBOOK = {s.notebook: s for s in SPECS}
NB03, NB05 = "03-cost-function.ipynb", "05-mean-normalisation.ipynb"
NB06, NB07 = "06-training.ipynb", "07-recommending.ipynb"
TIMEOUT = 8  # seconds per student notebook in these tests (a normal one takes about 1 s)

# student -> ({notebook: case}, {notebook: (points, words in the feedback)})
CLASS = {
    "ada_correct": ({s.notebook: "correct" for s in SPECS}, {s.notebook: (s.points, "PASSED") for s in SPECS}),
    "ben_wrong": ({NB03: "wrong"}, {NB03: (0, "forgot the mask R")}),
    "cat_unsolved": ({NB03: "unsolved"}, {NB03: (0, "not implemented yet")}),
    "dan_reference": ({NB03: "reference"}, {NB03: (0, "not done: calls helpers.cofi_cost")}),
    "eve_loop": ({NB03: "loop"}, {NB03: (1, "the values are right, but it uses a for loop")}),
    "fay_warning": ({NB05: "warning"}, {NB05: (1, "RuntimeWarning")}),
    "gus_patched_helpers": ({NB05: "patched_helpers"}, {NB05: (0, "count the unrated entries as zeros")}),
    "hal_tampered_check": ({NB03: "tampered_check"}, {NB03: (0, "forgot the mask R")}),
    "ivy_patched_checker": ({NB03: "patched_checker"}, {NB03: (0, "forgot the mask R")}),
    "jon_infinite_loop": ({NB03: "infinite_loop", NB05: "correct"},
                          {NB03: (0, f"did not finish within {TIMEOUT} s"), NB05: (2, "PASSED")}),
    "kim_syntax_error": ({NB03: "syntax_error"}, {NB03: (0, "syntax error (line 3")}),
    "lea_crash": ({NB03: "crash"}, {NB03: (0, "crashed (exit code 3)")}),
    "max_hard_coded": ({NB07: "hard_coded"}, {NB07: (0, "")}),  # a list copied from a FAILED message
    "nia_reference": ({NB06: "reference"}, {NB06: (0, "not done: calls helpers.gradient_descent")}),
    "oli_wrong": ({NB06: "wrong", NB07: "wrong"}, {NB06: (0, "sequential update"), NB07: (0, "as text")}),
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class above, graded by `make grade` into grades.csv: {(student, notebook): row}."""
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    folder = tmp_path_factory.mktemp("class")
    sample_class.make_class(folder, {student: cases for student, (cases, _) in CLASS.items()})
    (folder / ".hidden").mkdir()
    (folder / "notes.txt").write_text("not a student")
    cmd = ["make", "-s", "-o", f"{sys.prefix}/.installed-stamp", "grade", f"VENV={sys.prefix}",
           f"SUBMISSIONS={folder}", f"GRADE_ARGS=--jobs 2 --timeout {TIMEOUT} --seed 11"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(folder / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["student"], r["notebook"]): r for r in rows}, result.stdout, folder


@pytest.mark.slow
def test_every_case_gets_the_points_a_teacher_would_give(graded_class):
    rows, _, _ = graded_class
    assert len(rows) == len(CLASS) * len(SPECS), "one row per student and exercise, no more"
    for student, (_, expected) in CLASS.items():
        for spec in SPECS:
            row = rows[(student, spec.notebook)]
            points, words = expected.get(spec.notebook, (0, f"not handed in: no {spec.notebook}"))
            assert float(row["points"]) == points, f"{student} {spec.notebook}: {row}"
            assert float(row["max_points"]) == spec.points and row["exercise"] == spec.exercise
            assert words in row["feedback"], f"{student} {spec.notebook}: {row['feedback']!r}"


@pytest.mark.slow
def test_grades_csv_and_summary(graded_class):
    rows, stdout, folder = graded_class
    header = (folder / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "student,notebook,exercise,points,max_points,feedback"
    total = sum(s.points for s in SPECS)
    assert f"ada_correct              {total:g} / {total:g}" in stdout
    assert "seed 11" in stdout and ".hidden" not in stdout and "notes.txt" not in stdout


def test_teacher_exercises_come_from_the_notebooks():
    assert [(s.notebook, s.function, s.checker) for s in SPECS[:3]] == [
        (NB03, "my_cofi_cost", "check_cofi_cost"),
        ("04-gradient-checking.ipynb", "my_cofi_gradients", "check_cofi_gradients"),
        (NB05, "my_normalize_ratings", "check_normalize_ratings")]
    assert all(s.points == 2 and s.exercise == s.function for s in SPECS)


def test_teacher_exercises_refuse_a_check_cell_without_a_checker(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / NB03, as_version=4)
    check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    check.source = "assert my_cofi_cost(1, 2, 3, 4) == 5"
    nbformat.write(nb, tmp_path / NB03)
    with pytest.raises(ValueError, match="must call a checker of exercises.py"):
        teacher_exercises(tmp_path)


def test_answer_cells_by_grade_id_else_by_definition():
    spec = BY_NOTEBOOK[NB03]
    nb = sample_class.submission(ROOT / "notebooks" / NB03, {spec.function: "correct"}, [spec])
    (source,) = answer_cells(nb, spec)
    assert "def my_cofi_cost" in source and "np.sum" in source
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)  # a student who copied the cell into a new one
    assert answer_cells(nb, spec) == [source]
    nb.cells = [c for c in nb.cells if "def my_cofi_cost" not in c.source]
    assert answer_cells(nb, spec) == []


def test_checker_call_and_defined_functions():
    assert checker_call("exercises.check_top_n(my_top_n);") == ("check_top_n", "my_top_n")
    assert checker_call("print('PASSED')") is None and checker_call("def (") is None
    assert defined_functions("%time x = 1\ndef f():\n    pass\nclass C:\n    def g(self): pass") == {"f"}


def test_student_seed_differs_per_student_notebook_and_run():
    seeds = {grader.student_seed(run, s, nb) for run in (1, 2) for s in ("ada", "ben") for nb in (NB03, NB05)}
    assert len(seeds) == 8 and grader.student_seed(1, "ada", NB03) == grader.student_seed(1, "ada", NB03)


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.array([np.nan, np.inf, -np.inf]),
                                   np.array([True, False]), np.arange(3, dtype=np.int32), np.float64(2.5),
                                   (np.ones(2), [1, 2.5]), None, "text", 7, 2.0, float("nan")])
def test_codec_round_trip(value):
    back = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value, equal_nan=True)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    elif not isinstance(value, tuple):
        assert back == value


def test_codec_keeps_untrusted_values_inert():
    back = codec.decode(codec.encode({"a": 1}))
    assert isinstance(back, codec.Opaque) and type(back).__name__ == "dict"
    assert type(codec.decode(codec.encode(np.zeros(codec.MAX_ELEMENTS + 1)))).__name__ == "ndarray"
    forged = {"array": [1, 2], "dtype": "O", "shape": [2]}
    assert isinstance(codec.decode(forged), codec.Opaque)
    assert isinstance(codec.decode({"array": [1, 2], "dtype": "<f8", "shape": [3]}), codec.Opaque)


def test_run_answers_time_out_and_crash():
    result, why = grader.run_answers(["x = 1"], [], timeout=20)
    assert why is None and result == {"cell_problems": [], "exercises": []}
    result, why = grader.run_answers(["while True:\n    pass"], [], timeout=2)
    assert result is None and "did not finish within 2 s" in why
    result, why = grader.run_answers(["import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"], [], timeout=20)
    assert result is None and "crashed (killed by SIGSEGV)" in why


def test_grade_notebook_without_a_usable_answer(tmp_path):
    spec = BY_NOTEBOOK[NB03]
    (tmp_path / NB03).write_text("{not json")
    (row,) = grader.grade_notebook("zoe", tmp_path / NB03, [spec], run_seed=1)
    assert row.points == 0 and "cannot read" in row.feedback
    (row,) = grader.grade_notebook("zoe", tmp_path / "missing.ipynb", [spec], run_seed=1)
    assert "not handed in" in row.feedback
    nb = sample_class.submission(ROOT / "notebooks" / NB03, {}, [spec])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == spec.exercise:
            cell.source = "def other():\n    pass\nundefined_name"
    nbformat.write(nb, tmp_path / NB03)
    (row,) = grader.grade_notebook("zoe", tmp_path / NB03, [spec], run_seed=1, timeout=30)
    assert row.points == 0
    assert "my_cofi_cost is not defined; answer cell 1 raised NameError" in row.feedback, row.feedback


def test_points_for_each_verdict():
    spec = ExerciseSpec(NB03, "my_cofi_cost", "my_cofi_cost", "check_cofi_cost", 2.0)
    verdict = type("V", (), {"status": "rule", "message": "the values are right, but x"})
    assert grader._points_and_feedback(spec, verdict) == (1.0, "the values are right, but x (right values, "
                                                                "a rule broken: 1 of 2 points)")
    verdict.status = "not_done"
    assert grader._points_and_feedback(spec, verdict)[0] == 0


def test_students_in_and_write_grades(tmp_path):
    for name in ("bob", "ann", ".git", "_skip"):
        (tmp_path / name).mkdir()
    (tmp_path / "grades.csv").write_text("old")
    assert classroom.students_in(tmp_path) == ["ann", "bob"]
    rows = [grader.Row("ann", NB03, "my_cofi_cost", 1.0, 2.0, "a, b")]
    classroom.write_grades(rows, tmp_path / "grades.csv")
    assert (tmp_path / "grades.csv").read_text().splitlines() == [
        "student,notebook,exercise,points,max_points,feedback", 'ann,03-cost-function.ipynb,my_cofi_cost,1,2,"a, b"']
    with pytest.raises(FileNotFoundError, match="one folder per student"):
        classroom.grade_class(tmp_path / "nowhere")


def test_strip_magics_and_lazy_import():
    assert _child.strip_magics("%matplotlib inline\nx = 1\n    !ls\n") == "pass\nx = 1\n    pass\n"
    assert _child.lazy_import("json") is sys.modules["json"]


def test_sample_class_command_line(tmp_path, capsys):
    assert sample_class.main([str(tmp_path / "c"), "--students", "2"]) == 0
    assert "2 students" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "c" / "student001").iterdir()) == sorted(BY_NOTEBOOK)
