"""nbgrader on one assignment, as the README's walk-through runs it: source, release, autograde, export.

In a throwaway course folder (tmp_path): ``python -m teacher.handout --nbgrader-source
source/cost 03`` writes nbgrader's source folder (notebook 03 without its teacher-only cells,
solutions kept, plus the learner runtime, the data step and the students' README);
``nbgrader generate_assignment`` must release it with the stub, not the solution, nothing the
hand-out audit objects to, and the graded check cell (2 points) locked. ``autograde`` runs a
correct and a wrong submission in ``autograded/<student>/cost/``, where nbgrader copies the
source's runtime beside the notebook, with ``NBGRADER_EXECUTION`` set, so the check cell raises
for the wrong answer: 2 points and 0. ``nbgrader export`` writes them to ``grades.csv``. Needs
the ``teacher`` extra (``make test`` installs it); skipped without nbgrader.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from recsys_tutorial.paths import data_dir
from teacher.handout import audit
from teacher.sample_class import answer_source

pytestmark = pytest.mark.slow
pytest.importorskip("nbgrader", reason="nbgrader is not installed: make teacher")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "03-cost-function.ipynb"


def run(cwd: Path, *args: str) -> str:
    # As the README says: the data folder named, because the runtime nbgrader copies beside each
    # notebook would otherwise look for data/ beside itself.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MOVIELENS_DATA": str(data_dir())}
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def cells_by_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    run(ROOT, "-m", "teacher.handout", "--nbgrader-source", str(course / "source" / "cost"), "03")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'recommender'\n")
    run(course, "-m", "nbgrader", "generate_assignment", "cost", "--force")
    return course


def test_the_source_keeps_the_solution_and_drops_the_teacher_only_cells(course):
    source = nbformat.read(course / "source" / "cost" / NOTEBOOK, as_version=4)
    assert "### BEGIN SOLUTION" in cells_by_id(source)["my_cofi_cost"].source
    assert not [c for c in source.cells if "teacher-only" in c.metadata.get("tags", [])]
    assert (course / "source" / "cost" / "helpers.py").is_file()
    assert (course / "source" / "cost" / "recsys_tutorial" / "exercise_cases.json").is_file()


def test_generate_assignment_releases_the_stub_a_locked_check_and_no_answer(course):
    release = course / "release" / "cost"
    released = nbformat.read(release / NOTEBOOK, as_version=4)
    cells = cells_by_id(released)
    assert "raise NotImplementedError()" in cells["my_cofi_cost"].source
    assert "BEGIN SOLUTION" not in cells["my_cofi_cost"].source and "np.sum" not in cells["my_cofi_cost"].source
    check = cells["check_my_cofi_cost"]
    assert check.metadata["nbgrader"]["points"] == 2 and check.metadata["nbgrader"]["locked"]
    assert check.metadata["editable"] is False and check.metadata["deletable"] is False
    assert any("hint" in c.metadata.get("tags", []) for c in released.cells)
    assert (release / "helpers.py").is_file() and (release / "data" / "build_data.py").is_file()
    assert audit(release, sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))) == []


def test_autograde_then_export_scores_a_correct_and_a_wrong_submission(course):
    released = course / "release" / "cost" / NOTEBOOK
    for student, case in (("alice", "correct"), ("bob", "wrong")):
        nb = nbformat.read(released, as_version=4)
        answer = cells_by_id(nb)["my_cofi_cost"]
        answer.source = answer_source(answer.source, "my_cofi_cost", "check_cofi_cost", case)
        (course / "submitted" / student / "cost").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "cost" / NOTEBOOK)
    run(course, "-m", "nbgrader", "autograde", "cost", "--force")
    graded = nbformat.read(course / "autograded" / "bob" / "cost" / NOTEBOOK, as_version=4)
    outputs = cells_by_id(graded)["check_my_cofi_cost"].outputs
    assert "FAILED: my_cofi_cost: on the case lambda_=0: forgot the mask R" in outputs[0]["text"]
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["ename"] == "AssertionError"
    assert (course / "autograded" / "bob" / "cost" / "recsys_tutorial").is_dir(), "nbgrader copies the runtime"
    alice = nbformat.read(course / "autograded" / "alice" / "cost" / NOTEBOOK, as_version=4)
    errors = [o.get("ename") for c in alice.cells if c.cell_type == "code" for o in c.outputs
              if o["output_type"] == "error"]
    assert errors == [], "the right answer's notebook runs without an error: the data is found"

    run(course, "-m", "nbgrader", "export")
    with open(course / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle) if r["assignment"] == "cost"}
    scores = {s: (float(r["score"]), float(r["max_score"])) for s, r in rows.items()}
    assert scores == {"alice": (2.0, 2.0), "bob": (0.0, 2.0)}
