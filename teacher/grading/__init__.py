"""Grading a class: ``make grade SUBMISSIONS=DIR [NOTEBOOKS="03 05"]`` (``python -m teacher.grading DIR``).

``DIR`` holds one folder per student with their notebooks under their
original names (``DIR/alice/03-cost-function.ipynb``, ...). The exercises,
their checks and their points come from the teacher's notebooks
(``notebooks/``, nbgrader's format). The result is ``DIR/grades.csv``.

A hand-in is untrusted code. Each one runs whole, in its own bubblewrap
sandbox, and the judge runs outside it:

==================  =============================================================
module              what it does
==================  =============================================================
``notebooks``       the teacher's exercises; reading a hand-in defensively; the
                    order its cells and the restored check cells run in
``runtime``         what the sandbox imports: the learner runtime without the
                    functions the exercises ask for, and without the checkers
``runner``          the only grading code inside the sandbox: runs the notebook,
                    calls the checked functions, reports in a strict format
``sandbox``         bubblewrap, seccomp, limits on the whole sandbox, a watchdog
``_launch``         limits and identity, then ``exec bwrap`` (its own process)
``workspace``       a run's folder: runtimes, parsed data, the sandbox
``grader``          one hand-in: run it, read the report, judge with
                    :mod:`teacher.exercises`, points and feedback
``classroom``       the whole class, in parallel; grades.csv
==================  =============================================================

Nothing is imported here eagerly.
"""

from __future__ import annotations

import importlib

__all__ = ["grade_class", "write_grades", "students_in", "COLUMNS", "teacher_exercises"]

_HOMES = {"grade_class": "classroom", "write_grades": "classroom", "students_in": "classroom",
          "COLUMNS": "classroom", "teacher_exercises": "notebooks"}


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(f"teacher.grading.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'teacher.grading' has no attribute {name!r}")
