"""Grading a class: ``make grade SUBMISSIONS=DIR`` (``python -m teacher.grading DIR``).

``DIR`` holds one folder per student with their notebooks under their
original names (``DIR/alice/03-cost-function.ipynb``, ...). The exercises,
their checkers and their points come from the teacher's notebooks
(``notebooks/``, nbgrader's format: see :mod:`grading.notebooks`). The
result is ``DIR/grades.csv`` with the columns ``student, notebook,
exercise, points, max_points, feedback`` (:mod:`grading.classroom`); how
each answer is run and judged is in :mod:`grading.grader`.
:mod:`grading.student` makes the student copy, :mod:`grading.sample_class`
a class of made-up submissions to try the grader on.

Nothing is imported here eagerly: the process that runs a student's code
(:mod:`grading._child`) imports this package and should start fast.
"""

from __future__ import annotations

import importlib

__all__ = ["grade_class", "write_grades", "students_in", "COLUMNS", "teacher_exercises"]

_HOMES = {"grade_class": "classroom", "write_grades": "classroom", "students_in": "classroom",
          "COLUMNS": "classroom", "teacher_exercises": "notebooks"}


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(f"teacher.grading.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'grading' has no attribute {name!r}")
