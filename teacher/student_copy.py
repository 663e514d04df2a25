"""The student copy of the teacher's notebooks, made from nbgrader's markers and two more marks.

The teacher's notebooks (``notebooks/``) follow nbgrader's conventions: an exercise is a code cell
with ``metadata.nbgrader.solution`` whose answer sits between ``### BEGIN SOLUTION`` and ``###
END SOLUTION``; a check is a graded, locked nbgrader cell. The student copy

* replaces each solution block with nbgrader's own stub (same indentation)::

      # YOUR CODE HERE
      raise NotImplementedError()

* replaces each cell tagged ``teacher-only`` (a cell that states an answer, kept in the teacher's
  copy) with the source in its metadata ``student_version``, or drops it when there is none;
* locks what nbgrader locks: check cells (``locked``) get ``editable`` and ``deletable`` false,
  exercise cells ``deletable`` false (JupyterLab honours both);
* clears every output and the notebook's widget state (the teacher's pictures, numbers and top
  five live there), and, with ``hints=False``, drops the markdown cells tagged ``hint``.

Everything else stays as it is, so ``nbgrader generate_assignment`` and this module give the same
exercise cells; this one needs no nbgrader, so a learner can build it. ``solutions=True`` keeps the
solution blocks (and locks nothing): the teacher's notebooks without their teacher-only cells, the
source nbgrader's ``generate_assignment`` needs.

Command line (``make student`` runs it)::

    python -m teacher.student_copy [--dest student] [--no-hints] [--force] notebooks

A notebook that already exists in ``--dest`` is a learner's work: it is kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat

__all__ = ["BEGIN", "END", "CODE_STUB", "TEXT_STUB", "TEACHER_ONLY", "STUDENT_VERSION", "clear_solutions",
           "is_solution", "is_check", "student_notebook", "build", "main"]

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"      # as in "### BEGIN SOLUTION" (nbgrader's delimiters)
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("YOUR ANSWER HERE",)
TEACHER_ONLY = "teacher-only"            # the tag of a cell that states an answer
STUDENT_VERSION = "student_version"      # its metadata key: what the student copy shows instead


def is_solution(cell) -> bool:
    """True for a cell nbgrader treats as an answer cell (``metadata.nbgrader.solution``)."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def is_check(cell) -> bool:
    """True for a cell nbgrader locks (``metadata.nbgrader.locked``, or a graded cell that is no answer)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def clear_solutions(source: str, stub=CODE_STUB, where: str = "cell") -> tuple[str, bool]:
    """``source`` with each BEGIN/END SOLUTION block replaced by ``stub``; and whether one was.

    Raises
    ------
    ValueError
        If a block is not closed, or an END comes without a BEGIN (``where`` names the cell).
    """
    out, inside, replaced = [], False, False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            if inside:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' inside a solution block; close it first")
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + s for s in stub]
            inside = replaced = True
        elif END in line:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out), replaced


def _student_cell(cell, *, hints: bool, solutions: bool, where: str):
    """The cell as the student copy has it, or None to drop it."""
    cell_tags = cell.get("metadata", {}).get("tags", [])
    if "solution" in cell_tags or (not hints and "hint" in cell_tags):
        return None  # "solution": a whole answer cell in the older format (before nbgrader's markers)
    if TEACHER_ONLY in cell_tags:
        if STUDENT_VERSION not in cell.metadata:
            return None
        cell.source = cell.metadata.pop(STUDENT_VERSION)
        cell.metadata["tags"] = [t for t in cell_tags if t != TEACHER_ONLY]
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    source, replaced = clear_solutions(cell.source, stub, where)
    if replaced and not is_solution(cell):
        raise ValueError(f"{where} has '### {BEGIN}' but is not marked as a solution cell: give it "
                         'metadata {"nbgrader": {"solution": true, "grade_id": ...}}')
    if not solutions:
        if is_solution(cell) and cell.cell_type == "markdown" and not replaced:
            source = TEXT_STUB[0]
        cell.source = source
        if is_check(cell):
            cell.metadata.update(editable=False, deletable=False)
        elif is_solution(cell):
            cell.metadata["deletable"] = False
    cell.metadata.pop("execution", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def student_notebook(nb, *, hints: bool = True, solutions: bool = False, name: str = "notebook"):
    """A copy of ``nb`` as a student gets it (see the module's docstring).

    ``hints=False`` drops the hint cells; ``solutions=True`` keeps the solution blocks and locks
    nothing (nbgrader's source).

    Raises
    ------
    ValueError
        If solution markers sit in a cell that is not an nbgrader solution
        cell (nbgrader would refuse it too), or are unbalanced.
    """
    nb = copy.deepcopy(nb)
    cells = [_student_cell(cell, hints=hints, solutions=solutions, where=f"{name} cell {k}")
             for k, cell in enumerate(nb.cells)]
    nb.cells = [c for c in cells if c is not None]
    nb.metadata.pop("widgets", None)   # the teacher's widget state: their pictures, numbers, top five
    return nb


def _write(nb, path: Path) -> None:
    """Write atomically: a learner never finds half a notebook."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _expand(notebooks) -> list[Path]:
    """Notebook paths; a folder stands for its numbered notebooks (``[0-9]*.ipynb``)."""
    paths = []
    for path in map(Path, notebooks):
        paths += sorted(path.glob("[0-9]*.ipynb")) if path.is_dir() else [path]
    return paths


def build(notebooks, dest, *, hints: bool = True, force: bool = False) -> dict[str, str]:
    """Write the student copy of each notebook (or folder of them) into ``dest``;
    returns ``{name: 'written' or 'kept'}``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    done = {}
    for path in _expand(notebooks):
        target = dest / path.name
        if target.exists() and not force:
            done[path.name] = "kept"
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises several types for a file that is not a notebook
            raise ValueError(f"cannot read {path} as a notebook ({type(exc).__name__}: {exc})") from None
        _write(student_notebook(nb, hints=hints, name=path.name), target)
        done[path.name] = "written"
    return done


def main(argv=None) -> int:
    """Command line: build the student copy; prints what was written and what was kept."""
    parser = argparse.ArgumentParser(prog="python -m teacher.student_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path,
                        help="the teacher's notebooks, or a folder of them (its [0-9]*.ipynb)")
    parser.add_argument("--dest", type=Path, default=Path("student"), help="output folder (default: student)")
    parser.add_argument("--no-hints", action="store_true", help="drop the cells tagged 'hint'")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks already in --dest")
    args = parser.parse_args(argv)
    try:
        done = build(args.notebooks, args.dest, hints=not args.no_hints, force=args.force)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    written = [n for n, s in done.items() if s == "written"]
    kept = [n for n, s in done.items() if s == "kept"]
    print(f"student copy in {args.dest}/: {len(written)} written"
          + (f", {len(kept)} kept as they were (a learner's work; --force or FORCE=1 rebuilds them): "
             + ", ".join(kept) if kept else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
