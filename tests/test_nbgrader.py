"""nbgrader on the teacher's notebooks: generate_assignment, then autograde a correct and a wrong submission.

Runs nbgrader's own command line in a throwaway course folder (tmp_path) on
notebook 03. ``generate_assignment`` must ship the stub, not the solution,
and find the graded check cell (2 points); ``autograde`` runs the notebook in
``autograded/<student>/cost/``, where ``import helpers`` works only because
the project is installed, and with ``NBGRADER_EXECUTION`` set, so the check
cell raises for the wrong answer: 2 points for the correct one, 0 for the
wrong one. Needs the ``teacher`` extra (``make test`` installs it); skipped
without nbgrader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from teacher.sample_class import answer_source

pytestmark = pytest.mark.slow
pytest.importorskip("nbgrader", reason="nbgrader is not installed: make teacher")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "03-cost-function.ipynb"


def nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def cells_by_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "source" / "cost").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, course / "source" / "cost" / NOTEBOOK)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'recommender'\n"
        "c.CourseDirectory.db_assignments = [dict(name='cost')]\n")
    nbgrader(course, "generate_assignment", "cost", "--force")
    return course


def test_generate_assignment_ships_the_stub_and_a_graded_check(course):
    released = nbformat.read(course / "release" / "cost" / NOTEBOOK, as_version=4)
    cells = cells_by_id(released)
    assert "raise NotImplementedError()" in cells["my_cofi_cost"].source
    assert "BEGIN SOLUTION" not in cells["my_cofi_cost"].source and "np.sum" not in cells["my_cofi_cost"].source
    check = cells["check_my_cofi_cost"].metadata["nbgrader"]
    assert check["points"] == 2 and check["locked"] and check["grade"]
    assert any("hint" in c.metadata.get("tags", []) for c in released.cells)


def test_autograde_scores_a_correct_and_a_wrong_submission(course):
    released = course / "release" / "cost" / NOTEBOOK
    for student, case in (("alice", "correct"), ("bob", "wrong")):
        nb = nbformat.read(released, as_version=4)
        answer = cells_by_id(nb)["my_cofi_cost"]
        answer.source = answer_source(answer.source, "my_cofi_cost", "check_cofi_cost", case)
        (course / "submitted" / student / "cost").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "cost" / NOTEBOOK)
    nbgrader(course, "autograde", "cost", "--force")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="recommender") as gb:
        scores = {s: (gb.find_submission("cost", s).score, gb.find_submission("cost", s).max_score)
                  for s in ("alice", "bob")}
    assert scores == {"alice": (2.0, 2.0), "bob": (0.0, 2.0)}
    graded = nbformat.read(course / "autograded" / "bob" / "cost" / NOTEBOOK, as_version=4)
    outputs = cells_by_id(graded)["check_my_cofi_cost"].outputs
    assert "FAILED: my_cofi_cost: on the case lambda_=0: forgot the mask R" in outputs[0]["text"]
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["ename"] == "AssertionError"
