"""The classroom exercises in nbgrader's format, and the student copy made by `make student`.

Conventions (shared by every numbered notebook, see exercises.py and grading/):

* an exercise is one code cell tagged ``exercise`` with nbgrader's solution
  metadata (``{"solution": true, "grade": false, "locked": false, "grade_id": ...}``):
  the function's ``def`` line and docstring, then the teacher's answer between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* the next code cell, tagged ``check``, is a locked, graded nbgrader cell with
  ``points`` that calls a checker of exercises.py on that function; it prints
  one line starting with ``PASSED:`` or ``FAILED:`` (and raises only when
  nbgrader grades the notebook);
* a markdown hint tagged ``hint``, in ``<details><summary>Hint</summary>...``,
  follows; it guides without holding the answer;
* the markdown cell before the exercise says which of the tutorial's functions it allows, and
  that calling the one it asks for scores 0;
* a cell that states an answer is tagged ``teacher-only``: the student copy shows its
  ``student_version`` (metadata) instead, or drops it.

The fast tests read the notebooks' structure. The slow ones build the student
copy with ``make student`` into ``.student-test/``, check it against the
teacher's notebooks, run every notebook that has exercises from a clean
kernel (the student copy to the end with every check FAILED, the teacher's
with every check PASSED), run one student notebook from a folder outside the
repository, and check the message when the data is not built.

Notebooks are discovered with ``notebooks/[0-9]*.ipynb``, so new ones are
covered automatically.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from fakes import run_make
from recsys_tutorial.judging import RULES
from teacher.grading.notebooks import checker_call, defined_functions
from teacher.handout import normalised, solution_lines
from teacher.student_copy import BEGIN, END, STUDENT_VERSION, TEACHER_ONLY, clear_solutions, student_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
STUDENT_DIR = ROOT / ".student-test"          # git-ignored
NOTEBOOKS_WITH_REQUIRED_EXERCISES = range(3, 8)  # notebooks 03-07 each have at least one exercise
CELL_TIMEOUT = 900                             # seconds per cell; training cells can be slow on CI
HINT = "<details><summary>Hint</summary>"


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def grading(cell) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def is_exercise(cell) -> bool:
    return bool(grading(cell).get("solution"))


def has_exercises(path: Path) -> bool:
    return any(is_exercise(c) or "exercise" in tags(c) for c in read(path).cells)


def number(path: Path) -> int:
    return int(re.match(r"\d+", path.name).group())


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


def execute(path: Path, allow_errors: bool = True):
    """Run a notebook from a clean kernel of *this* interpreter, in the notebook's folder."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = read(path)
    # Only ipykernel's native spec: its argv starts with sys.executable, whatever
    # kernelspecs the user has installed elsewhere.
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no numbered notebooks in {NOTEBOOK_DIR}"


# ---------------------------------------------------------------- structure (fast)


def _check_exercise(path: Path, cells, k: int) -> str:
    """Assert the conventions for the exercise at cell ``k``; returns its grade_id."""
    cell, where = cells[k], f"{path.name} cell {k}"
    meta = grading(cell)
    assert cell.cell_type == "code" and "exercise" in tags(cell), f"{where}: a code cell tagged 'exercise'"
    assert meta.get("grade") is False and meta.get("locked") is False and meta.get("grade_id"), \
        f"{where}: nbgrader metadata must be solution true, grade false, locked false, with a grade_id"
    functions = defined_functions(cell.source)
    assert functions, f"{where}: the exercise defines no function"
    stub, replaced = clear_solutions(cell.source)
    assert replaced and "raise NotImplementedError()" in stub, f"{where}: needs ### {BEGIN} ... ### {END}"
    assert functions <= defined_functions(stub), f"{where}: the def line must stay outside the solution block"
    check = next((c for c in cells[k + 1:] if c.cell_type == "code"), None)
    assert check is not None and cells.index(check) == k + 1, f"{where}: the check cell must come right after"
    check_meta = grading(check)
    assert "check" in tags(check) and check_meta.get("grade") is True and check_meta.get("locked") is True \
        and check_meta.get("solution") is False and check_meta.get("points", 0) > 0, \
        f"{where}: the check must be a locked, graded nbgrader cell with points, tagged 'check'"
    called = checker_call(check.source)
    assert called and called[1] in functions, f"{where}: the check must call exercises.check_*({sorted(functions)})"
    following = cells[k + 2:]
    end = next((j for j, c in enumerate(following) if is_exercise(c)), len(following))
    hints = [c for c in following[:end] if "hint" in tags(c)]
    assert hints and all(c.cell_type == "markdown" and HINT in c.source for c in hints), \
        f"{where}: a markdown hint tagged 'hint' ({HINT}...</details>) must follow the check"
    solution = cell.source.split(BEGIN, 1)[1].split(END, 1)[0]
    for line in (s.split("#")[0].strip() for s in solution.splitlines()):
        assert len(line) < 12 or all(line not in h.source for h in hints), \
            f"{where}: the hint gives the answer away: {line!r}"
    text = cells[k - 1].source
    forbidden = [f for f in RULES[called[0]].forbidden if f.startswith("helpers.") and not f.startswith("helpers._")]
    assert cells[k - 1].cell_type == "markdown" and all(f"`{f}`" in text for f in forbidden) \
        and "scores 0" in text, f"{where}: the exercise text must name {forbidden} and say that calling them scores 0"
    return meta["grade_id"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_cells_follow_nbgraders_conventions(path):
    cells = read(path).cells
    ids = [_check_exercise(path, cells, k) for k, c in enumerate(cells) if is_exercise(c)]
    ids += [grading(c)["grade_id"] for c in cells if grading(c).get("grade")]
    assert len(ids) == len(set(ids)), f"{path.name}: grade_ids must be unique: {ids}"
    for k, cell in enumerate(cells):
        marked = f"### {BEGIN}" in cell.source or f"### {END}" in cell.source
        assert not marked or is_exercise(cell), f"{path.name} cell {k}: solution markers outside an exercise"
        assert "solution" not in tags(cell), f"{path.name} cell {k}: the old 'solution' tag; use nbgrader's markers"
        assert HINT not in cell.source or "hint" in tags(cell), f"{path.name} cell {k}: tag the hint 'hint'"
    if number(path) in NOTEBOOKS_WITH_REQUIRED_EXERCISES:
        assert ids, f"{path.name}: notebooks 03-07 must have at least one exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_check_outputs_say_passed(path):
    """The committed (teacher) outputs show PASSED for every check."""
    for k, cell in enumerate(read(path).cells):
        if "check" in tags(cell) and cell.get("outputs"):
            assert stdout_of(cell).startswith("PASSED"), \
                f"{path.name} cell {k}: committed check output is {stdout_of(cell)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_teacher_only_cells_have_a_student_version_without_the_answer(path):
    lines = solution_lines(NOTEBOOKS)
    for k, cell in enumerate(read(path).cells):
        if TEACHER_ONLY not in tags(cell):
            continue
        student = cell.metadata.get(STUDENT_VERSION)
        assert student is None or isinstance(student, str), f"{path.name} cell {k}: {STUDENT_VERSION} must be text"
        flat = normalised(student or "")
        assert not [code for _, code in lines if code in flat], f"{path.name} cell {k}: its student version answers"
        assert [code for _, code in lines if code in normalised(cell.source)], \
            f"{path.name} cell {k}: tagged {TEACHER_ONLY} but states no solution line"


def test_student_notebook_replaces_solutions_like_nbgrader():
    nb = nbformat.v4.new_notebook()
    code = "def f(x):\n    '''Doc.'''\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\nf(1)"
    nb.cells = [nbformat.v4.new_code_cell(code, metadata={"nbgrader": {"solution": True, "grade_id": "f"}},
                                          execution_count=3, outputs=[{"output_type": "stream", "name": "stdout",
                                                                       "text": "1"}]),
                nbformat.v4.new_markdown_cell("<details>...</details>", metadata={"tags": ["hint"]}),
                nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": {"solution": True, "grade_id": "m"}})]
    nb.cells += [nbformat.v4.new_code_cell("check(f)", metadata={"nbgrader": {"grade": True, "locked": True,
                                                                               "solution": False, "points": 1}}),
                 nbformat.v4.new_code_cell("answer = 42", metadata={"tags": [TEACHER_ONLY]}),
                 nbformat.v4.new_markdown_cell("the answer is 42", metadata={"tags": [TEACHER_ONLY, "x"],
                                                                             STUDENT_VERSION: "think about it"})]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"teacher's": "picture"}}}
    student = student_notebook(nb)
    assert student.cells[0].source == ("def f(x):\n    '''Doc.'''\n    # YOUR CODE HERE\n"
                                       "    raise NotImplementedError()\n\nf(1)")
    assert student.cells[0].metadata["deletable"] is False and "editable" not in student.cells[0].metadata
    check, last = student.cells[3], student.cells[-1]
    assert check.metadata["editable"] is False and check.metadata["deletable"] is False
    assert [c.source for c in student.cells[3:]] == ["check(f)", "think about it"], "the teacher-only cells"
    assert last.metadata["tags"] == ["x"] and STUDENT_VERSION not in last.metadata
    assert "widgets" not in student.metadata and "widgets" in nb.metadata
    source = student_notebook(nb, solutions=True)
    assert "### BEGIN SOLUTION" in source.cells[0].source and "editable" not in source.cells[3].metadata
    assert [c.source for c in source.cells[3:]] == ["check(f)", "think about it"]
    del nb.cells[3:]
    assert student.cells[0].outputs == [] and student.cells[0].execution_count is None
    assert student.cells[2].source == "YOUR ANSWER HERE" and len(student.cells) == 5
    assert [c.cell_type for c in student_notebook(nb, hints=False).cells] == ["code", "markdown"]
    assert nb.cells[0].source == code, "the teacher's notebook is not changed"
    nb.cells[0].metadata = {}
    with pytest.raises(ValueError, match="not marked as a solution cell"):
        student_notebook(nb, name="x.ipynb")
    with pytest.raises(ValueError, match="never closed"):
        clear_solutions("### BEGIN SOLUTION\nx")
    with pytest.raises(ValueError, match="without a"):
        clear_solutions("x\n### END SOLUTION")


def test_student_command_line_takes_a_folder(tmp_path, capsys):
    from teacher.student_copy import main
    assert main(["--dest", str(tmp_path / "s"), str(NOTEBOOK_DIR)]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [p.name for p in NOTEBOOKS]
    assert main(["--dest", str(tmp_path / "s"), "--no-hints", str(NOTEBOOK_DIR)]) == 0
    assert f"{len(NOTEBOOKS)} kept as they were" in capsys.readouterr().out
    (tmp_path / "bad.ipynb").write_text("{}")
    assert main(["--dest", str(tmp_path / "t"), str(tmp_path / "bad.ipynb")]) == 1


# ---------------------------------------------------------------- the student copy (slow)


def make_student(dest: Path, *extra: str):
    """Run `make student` into ``dest`` (a folder inside the repository root)."""
    return run_make("student", f"STUDENT_DIR={dest.relative_to(ROOT)}", *extra)


@pytest.fixture(scope="module")
def student_copy():
    """Run `make student` into .student-test/ and remove it afterwards."""
    shutil.rmtree(STUDENT_DIR, ignore_errors=True)
    try:
        make_student(STUDENT_DIR)
        yield STUDENT_DIR
    finally:
        shutil.rmtree(STUDENT_DIR, ignore_errors=True)


@pytest.mark.slow
def test_student_copy_has_stubs_and_no_solutions(student_copy):
    for path in NOTEBOOKS:
        copy = student_copy / path.name
        assert copy.is_file(), f"make student did not write {copy}"
        teacher, student = read(path), read(copy)
        kept = [t for t in teacher.cells if TEACHER_ONLY not in tags(t) or STUDENT_VERSION in t.metadata]
        assert len(student.cells) == len(kept), f"{copy.name}: cells were added or removed"
        assert "widgets" not in student.metadata, f"{copy.name}: the teacher's widget state was kept"
        for k, (t, s) in enumerate(zip(kept, student.cells)):
            expected = t.metadata.get(STUDENT_VERSION, t.source)
            expected = clear_solutions(expected)[0] if is_exercise(t) else expected
            assert s.source == expected, f"{copy.name} cell {k}: changed beyond its solution block"
            assert BEGIN not in s.source, f"{copy.name} cell {k}: a solution remains"
            assert not s.get("outputs"), f"{copy.name} cell {k}: outputs were not cleared"
            if "check" in tags(t):
                assert s.metadata.get("editable") is False and s.metadata.get("deletable") is False, \
                    f"{copy.name} cell {k}: the check cell is not locked"


@pytest.mark.slow
def test_make_student_drops_hints_and_keeps_a_learners_work():
    dest = STUDENT_DIR / "hints"  # inside the git-ignored .student-test/
    shutil.rmtree(dest, ignore_errors=True)
    try:
        make_student(dest, "HINTS=0")
        nb = read(dest / "03-cost-function.ipynb")
        assert not [c for c in nb.cells if "hint" in tags(c)]
        (dest / "03-cost-function.ipynb").write_text("my work")
        out = make_student(dest)
        assert "kept" in out and (dest / "03-cost-function.ipynb").read_text() == "my work"
        make_student(dest, "FORCE=1")
        assert [c for c in read(dest / "03-cost-function.ipynb").cells if "hint" in tags(c)]
    finally:
        shutil.rmtree(dest, ignore_errors=True)


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
        assert out.startswith("FAILED") and "not implemented" in out, \
            f"student {path.name} cell {k}: check printed {out!r}"
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


@pytest.mark.slow
def test_student_notebook_runs_outside_the_repository(tmp_path, monkeypatch):
    """Handed out alone (a hub, a student's own folder): it imports the installed tutorial and finds data/."""
    copy = tmp_path / "03-cost-function.ipynb"
    nbformat.write(student_notebook(read(NOTEBOOK_DIR / copy.name)), copy)
    nb = execute(copy)
    assert not errors_in(nb), errors_in(nb)
    assert any(stdout_of(c).startswith("FAILED: my_cofi_cost: not implemented") for c in nb.cells)
    monkeypatch.setenv("MOVIELENS_DATA", str(tmp_path / "nowhere"))
    from nbclient.exceptions import CellExecutionError
    with pytest.raises(CellExecutionError) as info:
        execute(copy, allow_errors=False)
    assert "DataNotBuiltError" in str(info.value) and "make data" in str(info.value)
