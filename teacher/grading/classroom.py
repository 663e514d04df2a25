"""Grading a whole class: every student folder, in parallel, into grades.csv."""

from __future__ import annotations

import csv
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from pathlib import Path

from recsys_tutorial import paths
from teacher.grading.grader import Row, grade_notebook
from teacher.grading.notebooks import teacher_exercises

__all__ = ["COLUMNS", "students_in", "grade_class", "write_grades"]

COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "feedback")


def students_in(folder) -> list[str]:
    """The student folders in ``folder`` (hidden ones and files such as grades.csv left out), sorted."""
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _find(student_dir: Path, notebook: str) -> Path:
    """``student_dir/notebook``, or the same name one level or more further down (nbgrader's layout)."""
    direct = student_dir / notebook
    if direct.is_file():
        return direct
    nested = sorted(p for p in student_dir.rglob(notebook) if ".ipynb_checkpoints" not in p.parts)
    return nested[0] if nested else direct


def grade_class(folder, *, teacher=None, jobs=None, timeout: float = 30.0, seed=None) -> tuple[list[Row], int]:
    """Grade every student folder in ``folder``; returns ``(rows, the run's seed)``.

    Parameters
    ----------
    teacher : path, optional
        The teacher's notebooks (default: the repository's ``notebooks/``).
    jobs : int, optional
        Submissions graded at once (default: the number of cores).
    timeout : float
        Seconds allowed for one student's notebook (its answer cells and the checks' calls).
    seed : int, optional
        The run's seed (default: a fresh one); each student's problems are drawn from it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: '{folder}' (expected one folder per student)")
    specs = teacher_exercises(teacher or paths.repository_root() / "notebooks")
    seed = secrets.randbits(32) if seed is None else int(seed)
    by_notebook = [list(group) for _, group in groupby(specs, key=lambda s: s.notebook)]
    tasks = [(student, group) for student in students_in(folder) for group in by_notebook]
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        results = pool.map(lambda task: grade_notebook(task[0], _find(folder / task[0], task[1][0].notebook),
                                                       task[1], run_seed=seed, timeout=timeout), tasks)
        rows = [row for rows in results for row in rows]
    return rows, seed


def write_grades(rows, path) -> Path:
    """Write ``rows`` as CSV with :data:`COLUMNS` (points as plain numbers: 2, 1, 0.5)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([r.student, r.notebook, r.exercise, f"{r.points:g}", f"{r.max_points:g}", r.feedback])
    os.replace(tmp, path)
    return path
