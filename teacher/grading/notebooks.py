"""What the grader reads from notebooks: the teacher's exercises, and a student's answers.

The teacher's notebooks are the one source of truth. Each graded check cell
(``metadata.nbgrader.grade``) calls a checker of :mod:`exercises` on a
function, ``exercises.check_cofi_cost(my_cofi_cost)``; the nbgrader
solution cell that defines that function is the answer cell, and its
``grade_id`` names the exercise; the check cell's ``points`` are what it is
worth. A student's answer is found by that ``grade_id`` (what nbgrader
keeps in a student's copy) or, if the cell lost its metadata, as the last
cell that defines the function. Check cells are never taken from a student.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from recsys_tutorial import exercises
from teacher.grading._child import strip_magics

__all__ = ["ExerciseSpec", "teacher_exercises", "defined_functions", "checker_call", "answer_cells"]


@dataclass(frozen=True)
class ExerciseSpec:
    """One graded exercise: in ``notebook``, the answer cell ``exercise`` defines ``function``,
    which ``checker`` (a key of :data:`exercises.EXERCISES`) judges for ``points``."""

    notebook: str
    exercise: str
    function: str
    checker: str
    points: float


def _nbgrader(cell) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _tree(source: str):
    """The AST of a cell's code (magics removed), or None if it does not parse."""
    try:
        return ast.parse(strip_magics(source))
    except SyntaxError:
        return None


def defined_functions(source: str) -> set[str]:
    """The names of the functions a cell defines at its top level."""
    tree = _tree(source)
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))} if tree else set()


def checker_call(source: str) -> tuple[str, str] | None:
    """``(checker, function)`` for a check cell ``exercises.check_x(my_fn)``, or None."""
    tree = _tree(source)
    for node in ast.walk(tree) if tree else ():
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "exercises"
                and node.args and isinstance(node.args[0], ast.Name)):
            return node.func.attr, node.args[0].id
    return None


def _specs_of(path: Path) -> list[ExerciseSpec]:
    nb = nbformat.read(path, as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            answers.update({name: meta["grade_id"] for name in defined_functions(cell.source)})
    specs = []
    for k, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        found = checker_call(cell.source)
        if found is None or found[0] not in exercises.EXERCISES or found[1] not in answers:
            raise ValueError(f"{path.name} cell {k}: a graded check cell must call a checker of exercises.py "
                             f"({', '.join(exercises.EXERCISES)}) on a function that an nbgrader solution "
                             f"cell defines; it holds {cell.source!r}")
        specs.append(ExerciseSpec(path.name, answers[found[1]], found[1], found[0], float(meta["points"])))
    return specs


def teacher_exercises(folder) -> list[ExerciseSpec]:
    """Every graded exercise of the numbered notebooks in ``folder``, in notebook order.

    Raises
    ------
    ValueError
        If a graded check cell does not call a known checker on a solution cell's function.
    """
    return [spec for path in sorted(Path(folder).glob("[0-9]*.ipynb")) for spec in _specs_of(path)]


def answer_cells(nb, spec: ExerciseSpec) -> list[str]:
    """The student's answer to ``spec``: the source of its answer cell (found by ``grade_id``, else by the
    last cell defining the function, never a graded check cell); [] if there is none."""
    code = [c for c in nb.cells if c.get("cell_type") == "code" and not _nbgrader(c).get("grade")]
    by_id = [c.source for c in code if _nbgrader(c).get("grade_id") == spec.exercise]
    if by_id:
        return by_id
    defining = [c.source for c in code if spec.function in c.source and
                (spec.function in defined_functions(c.source) or _tree(c.source) is None)]
    return defining[-1:]
