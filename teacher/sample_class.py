"""A made-up class of submissions, to try the grader on (and to test it).

Each student's notebooks are the student copy of the teacher's notebooks
with the answer cell filled in according to a *case*:

============== ====================================================== ===========
case           the answer                                             points
============== ====================================================== ===========
correct        the worked solution, written out                       all
wrong          a usual mistake (the mask forgotten, means with zeros, none
               a text sort, ...)
unsolved       the stub, untouched                                    none
reference      calls the tutorial's own solution (helpers.cofi_cost)  none
loop           right values with a Python loop (notebooks 03, 04)     half
warning        right values with a RuntimeWarning (notebook 05)       half
hard_coded     a fixed answer copied from a FAILED message            none
patched_helpers wrong, plus ``helpers.<solution> = my_function``      none
tampered_check wrong, check cell replaced by ``print('PASSED: ...')`` none
patched_checker wrong, plus ``exercises.check_x = lambda fn: True``   none
infinite_loop  ``while True: pass``                                   none
syntax_error   a line that does not parse                             none
crash          the process exits in the middle of the answer cell     none
============== ====================================================== ===========

``python -m teacher.sample_class DEST --students 120`` writes a class that
cycles through the cases; :func:`make_class` takes an explicit plan.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import textwrap
from pathlib import Path

import nbformat

from recsys_tutorial import exercises
from recsys_tutorial import paths
from teacher.grading.notebooks import teacher_exercises
from teacher.student_copy import CODE_STUB, student_notebook

__all__ = ["BODIES", "CASES", "answer_source", "submission", "make_class", "main"]

#: Function bodies per function and case (the generic cases are built in :func:`answer_source`).
BODIES = {
    "my_cofi_cost": {
        "correct": "E = R * (X @ Theta.T - Y)\n"
                   "return float(0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2)))",
        "wrong": "E = X @ Theta.T - Y\nreturn 0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))",
        "loop": "J = 0.0\nfor i, j in zip(*np.nonzero(R)):\n    J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2\n"
                "return J + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))",
        "hard_coded": "return 22.22",
        "reference": "return helpers.cofi_cost(X, Theta, Y, R, lambda_)",
    },
    "my_cofi_gradients": {
        "correct": "E = R * (X @ Theta.T - Y)\nreturn E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta",
        "wrong": "E = R * (X @ Theta.T - Y)\nreturn 2 * (E @ Theta + lambda_ * X), 2 * (E.T @ X + lambda_ * Theta)",
        "loop": "E = R * (X @ Theta.T - Y)\nX_grad = np.array([E[i] @ Theta for i in range(len(X))])\n"
                "return X_grad + lambda_ * X, E.T @ X + lambda_ * Theta",
        "hard_coded": "return np.zeros_like(X), np.zeros_like(Theta)",
        "reference": "return helpers.cofi_gradients(X, Theta, Y, R, lambda_)",
    },
    "my_normalize_ratings": {
        "correct": "counts = R.sum(axis=1)\nsums = np.where(R, Y, 0.0).sum(axis=1)\n"
                   "mean = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)\n"
                   "return np.where(R, Y - mean[:, None], 0.0), mean",
        "wrong": "mean = np.where(R, Y, 0.0).mean(axis=1)\nreturn np.where(R, Y - mean[:, None], 0.0), mean",
        "warning": "mean = np.nan_to_num(np.where(R, Y, 0.0).sum(axis=1) / R.sum(axis=1))\n"
                   "return np.where(R, Y - mean[:, None], 0.0), mean",
        "hard_coded": "return np.zeros(Y.shape), np.zeros(Y.shape[0])",
        "reference": "return helpers.normalize_ratings(Y, R)",
    },
    "my_gradient_step": {
        "correct": "E = R * (X @ Theta.T - Y)\n"
                   "return X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)",
        "wrong": "E = R * (X @ Theta.T - Y)\nX = X - alpha * (E @ Theta + lambda_ * X)\n"
                 "E = R * (X @ Theta.T - Y)\nreturn X, Theta - alpha * (E.T @ X + lambda_ * Theta)",
        "hard_coded": "return X, Theta",
        "reference": "return tuple(helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1)[:2])",
    },
    "my_top_n": {
        "correct": "order = np.argsort(-predictions, kind='stable')\nreturn order[~rated[order]][:n]",
        "wrong": "free = [i for i in range(len(predictions)) if not rated[i]]\n"
                 "return sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]",
        "hard_coded": "return [1, 11, 10, 0, 4][:n]",
    },
}

CASES = ("correct", "wrong", "unsolved", "reference", "loop", "warning", "hard_coded", "patched_helpers",
         "tampered_check", "patched_checker", "infinite_loop", "syntax_error", "crash")


def _body(function: str, case: str, checker: str) -> str:
    bodies = BODIES[function]
    if case in bodies:
        return bodies[case]
    if case == "infinite_loop":
        return "while True:\n    pass"
    if case == "syntax_error":
        return "return (X @ Theta.T"
    return bodies["wrong"]  # a rule the exercise does not have, patched_*, tampered_check


def answer_source(stub_cell: str, function: str, checker: str, case: str) -> str:
    """The answer cell for ``case``: the stub cell with its stub replaced (and extra lines for some cases)."""
    stub = "\n".join(CODE_STUB)
    indent = next(line[: len(line) - len(line.lstrip())] for line in stub_cell.split("\n") if CODE_STUB[0] in line)
    if case == "unsolved":
        return stub_cell
    body = _body(function, case, checker)
    source = stub_cell.replace(textwrap.indent(stub, indent), textwrap.indent(body, indent))
    if case == "patched_helpers":
        source += f"\n\n{exercises.EXERCISES[checker].forbidden[0]} = {function}   # the checker compares with me now"
    if case == "patched_checker":
        source += f"\n\nexercises.{checker} = lambda fn, **kw: print('PASSED: ' + fn.__name__) or True"
    if case == "crash":
        source = "import os\nos._exit(3)\n" + source
    return source


def submission(teacher_path, cases: dict, specs):
    """The student copy of one teacher notebook with each exercise answered as ``cases[function]``."""
    nb = student_notebook(nbformat.read(teacher_path, as_version=4), name=Path(teacher_path).name)
    for spec in specs:
        case = cases.get(spec.function, "unsolved")
        for cell in nb.cells:
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if grading.get("grade_id") == spec.exercise:
                cell.source = answer_source(cell.source, spec.function, spec.checker, case)
            elif grading.get("grade") and case == "tampered_check" and spec.function in cell.source:
                cell.source = f"print('PASSED: {spec.function} is right')"
    return nb


def make_class(dest, plan: dict, teacher=None) -> Path:
    """Write ``dest/<student>/<notebook>`` for ``plan = {student: {notebook: case}}``; returns ``dest``."""
    teacher = Path(teacher or paths.repository_root() / "notebooks")
    specs = teacher_exercises(teacher)
    dest = Path(dest)
    for student, notebooks in plan.items():
        (dest / student).mkdir(parents=True, exist_ok=True)
        for notebook, case in notebooks.items():
            mine = [s for s in specs if s.notebook == notebook]
            nb = submission(teacher / notebook, {s.function: case for s in mine}, mine)
            nbformat.write(nb, dest / student / notebook)
    return dest


def main(argv=None) -> int:
    """``python -m teacher.sample_class DEST [--students N]``: N students cycling through :data:`CASES`."""
    parser = argparse.ArgumentParser(prog="python -m teacher.sample_class", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--students", type=int, default=len(CASES))
    args = parser.parse_args(argv)
    notebooks = sorted({s.notebook for s in teacher_exercises(paths.repository_root() / "notebooks")})
    cases = itertools.cycle(CASES)
    plan = {f"student{k:03d}": {nb: next(cases) for nb in notebooks} for k in range(1, args.students + 1)}
    make_class(args.dest, plan)
    print(f"{args.students} students, {len(notebooks)} notebooks each, in {args.dest}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
