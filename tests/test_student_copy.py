"""The classroom exercises and the student copy made by `make student`.

Conventions (shared by every numbered notebook, see exercises.py):

* a cell tagged ``exercise`` holds the stub the learner completes;
* the very next cell, tagged ``solution``, redefines the same function(s) with
  the teacher's answer; ``make student`` removes it;
* the cell after that, tagged ``check``, calls a checker from exercises.py,
  which prints one line starting with ``PASSED:`` or ``FAILED:``;
* a markdown hint in ``<details><summary>Hint</summary>...`` follows.

The fast tests read the notebooks' structure. The slow ones build the student
copy with ``make student`` into ``.student-test/`` (beside ``notebooks/``, so the
notebooks' ``ROOT = Path.cwd().parent`` still finds helpers.py and data/),
run every notebook that has exercises from a clean kernel, and require that
the student copy runs to the end with every check FAILED, and that the
teacher's copy runs to the end with every check PASSED.

Notebooks are discovered with ``notebooks/[0-9]*.ipynb``, so new ones are
covered automatically.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
STUDENT_DIR = ROOT / ".student-test"          # git-ignored; must sit beside notebooks/
NOTEBOOKS_WITH_REQUIRED_EXERCISES = range(3, 8)  # notebooks 03-07 each have at least one exercise
CELL_TIMEOUT = 900                             # seconds per cell; training cells can be slow on CI
HINT = "<details><summary>Hint</summary>"


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def has_exercises(path: Path) -> bool:
    return any("exercise" in tags(c) for c in read(path).cells)


def number(path: Path) -> int:
    return int(re.match(r"\d+", path.name).group())


def defined_functions(source: str) -> set[str]:
    return set(re.findall(r"^def\s+(\w+)\s*\(", source, flags=re.MULTILINE))


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def errors_in(nb) -> list[str]:
    """Error outputs of cells not tagged raises-exception, as 'cell N: Name: message'."""
    found = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" in tags(cell):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {k}: {out.get('ename')}: {out.get('evalue')}")
    return found


def execute(path: Path):
    """Run a notebook from a clean kernel of *this* interpreter, in the notebook's folder."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = read(path)
    # Only ipykernel's native spec: its argv starts with sys.executable, whatever
    # kernelspecs the user has installed elsewhere.
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no numbered notebooks in {NOTEBOOK_DIR}"


# ---------------------------------------------------------------- structure (fast)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_cells_follow_the_convention(path):
    nb = read(path)
    cells = nb.cells
    n_exercises = 0
    for k, cell in enumerate(cells):
        if "exercise" not in tags(cell):
            assert "solution" not in tags(cell) or "exercise" in tags(cells[k - 1]), \
                f"{path.name} cell {k}: a solution cell must come right after an exercise cell"
            continue
        n_exercises += 1
        where = f"{path.name} cell {k}"
        assert cell.cell_type == "code", f"{where}: the exercise cell must be a code cell"
        stubs = defined_functions(cell.source)
        assert stubs, f"{where}: the exercise stub defines no function"
        assert "NotImplementedError" in cell.source, f"{where}: the stub should raise NotImplementedError"
        assert k + 2 < len(cells), f"{where}: the exercise needs a solution and a check cell after it"
        solution, check = cells[k + 1], cells[k + 2]
        assert "solution" in tags(solution), f"{where}: the next cell must be tagged 'solution'"
        assert solution.cell_type == "code"
        assert stubs <= defined_functions(solution.source), \
            f"{where}: the solution must redefine {sorted(stubs)}"
        assert "NotImplementedError" not in solution.source, f"{where}: the solution is still a stub"
        assert "check" in tags(check) and check.cell_type == "code", \
            f"{where}: the cell after the solution must be a code cell tagged 'check'"
        assert re.search(r"exercises\.check_\w+\(", check.source), \
            f"{where}: the check cell must call a checker from exercises.py"
        assert any(name in check.source for name in stubs), \
            f"{where}: the check cell must pass the learner's function ({sorted(stubs)})"
        following = cells[k + 3:]
        next_exercise = next((j for j, c in enumerate(following) if "exercise" in tags(c)), len(following))
        assert any(c.cell_type == "markdown" and HINT in c.source for c in following[:next_exercise]), \
            f"{where}: a markdown hint ({HINT}...</details>) must follow the check"
    if number(path) in NOTEBOOKS_WITH_REQUIRED_EXERCISES:
        assert n_exercises >= 1, f"{path.name}: notebooks 03-07 must have at least one exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_check_outputs_say_passed(path):
    """The committed (teacher) outputs show PASSED for every check."""
    for k, cell in enumerate(read(path).cells):
        if "check" in tags(cell) and cell.get("outputs"):
            assert stdout_of(cell).startswith("PASSED"), \
                f"{path.name} cell {k}: committed check output is {stdout_of(cell)!r}"


# ---------------------------------------------------------------- the student copy (slow)


@pytest.fixture(scope="module")
def student_copy():
    """Run `make student` into .student-test/ and remove it afterwards."""
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed (the student copy is built by `make student`)")
    env_bin = Path(sys.prefix) / "bin"
    if not (env_bin / "jupyter").exists():
        pytest.skip(f"jupyter is not installed in the running environment ({env_bin})")
    shutil.rmtree(STUDENT_DIR, ignore_errors=True)
    stamp = f"{sys.prefix}/.installed-stamp"
    # VENV points the Makefile at the running environment; -o stops make from
    # (re)creating the venv or reinstalling requirements inside a test run.
    cmd = ["make", "-s", "-o", stamp, "student", f"VENV={sys.prefix}", f"STUDENT_DIR={STUDENT_DIR.name}"]
    try:
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
        yield STUDENT_DIR
    finally:
        shutil.rmtree(STUDENT_DIR, ignore_errors=True)


@pytest.mark.slow
def test_student_copy_has_stubs_and_no_solutions(student_copy):
    for path in NOTEBOOKS:
        copy = student_copy / path.name
        assert copy.is_file(), f"make student did not write {copy}"
        teacher, student = read(path), read(copy)
        assert not [c for c in student.cells if "solution" in tags(c)], f"{copy.name}: a solution cell remains"
        assert [c.source for c in student.cells if "exercise" in tags(c)] == \
               [c.source for c in teacher.cells if "exercise" in tags(c)], f"{copy.name}: exercise stubs changed"
        assert [c.source for c in student.cells] == \
               [c.source for c in teacher.cells if "solution" not in tags(c)], \
               f"{copy.name}: cells other than the solutions were removed or changed"
        assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code"), \
            f"{copy.name}: outputs were not cleared"


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if has_exercises(p)]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_student_notebook_runs_to_the_end_with_failed_checks(student_copy, path):
    nb = execute(student_copy / path.name)
    assert not errors_in(nb), f"student {path.name} does not run to the end: {errors_in(nb)}"
    checks = [(k, c) for k, c in enumerate(nb.cells) if "check" in tags(c)]
    assert checks
    for k, cell in checks:
        out = stdout_of(cell)
        assert out.startswith("FAILED"), f"student {path.name} cell {k}: check printed {out!r}"
        assert len(out.splitlines()) == 1, f"student {path.name} cell {k}: the checker printed {out!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_teacher_notebook_runs_with_passed_checks(path):
    nb = execute(path)
    assert not errors_in(nb), f"teacher {path.name} raised: {errors_in(nb)}"
    for k, cell in enumerate(nb.cells):
        if "check" in tags(cell):
            out = stdout_of(cell)
            assert out.startswith("PASSED"), f"teacher {path.name} cell {k}: check printed {out!r}"
            assert len(out.splitlines()) == 1, f"teacher {path.name} cell {k}: the checker printed {out!r}"
