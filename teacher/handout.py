"""The hand-out of graded assignments: a folder and a zip a teacher gives students (``make handout``).

``python -m teacher.handout [--dest handout] [--no-hints] [03 05 ...]`` writes, for the
assignments named (default: every notebook with an exercise, 03-07),

* ``<dest>/<name>/``, the hand-out itself: the student notebooks (exercises open, outputs and
  widget state cleared, check cells locked, hints kept or dropped), the learner runtime they
  import (:data:`RUNTIME`), ``requirements.txt``, the data step and the data card (the
  MovieLens licence forbids handing out the data: each student builds it) and a README;
* ``<dest>/<name>.zip``, the same folder zipped (entries sorted, fixed dates: the same input
  gives the same bytes).

``<name>`` is ``movie-recommender-03-05``. What is left out is what holds an answer: the teacher's
notebooks, the reference formulas (``teacher/``), ``research/`` beyond what the data step reads,
and every cell the teacher's notebooks tag ``teacher-only`` (see :mod:`teacher.student_copy`).
``helpers.py`` ships as it is: the notebooks call its tested functions after each exercise; the
checks score an answer that calls them 0, but a student can read it.

Before anything is written, :func:`audit` checks the staged hand-out: no line of any worked
solution in any notebook cell or shipped text file (helpers aside), no teacher notebook, no
outputs or widget state, every check cell locked, nothing in ``data/`` but the data step. A
hand-out that fails is not written.

``--nbgrader-source DIR`` writes nbgrader's source folder for one assignment instead: the same
files, with the teacher's notebooks minus their teacher-only cells (solution blocks kept, for
``nbgrader generate_assignment`` to clear).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from teacher.exercises import format_case_data, write_case_file
from teacher.student_copy import BEGIN, END, TEACHER_ONLY, is_check, is_solution, student_notebook

__all__ = ["ROOT", "RUNTIME", "DATA_STEP", "assignments", "select", "normalised", "solution_lines", "audit",
           "stage", "build", "nbgrader_source", "main"]

ROOT = Path(__file__).resolve().parents[1]
#: The learner runtime a hand-out ships (globs under the repository root): ``helpers.py``; the
#: modules of ``recsys_tutorial`` and of its ``interactive`` widgets (the notebooks' setup may reach
#: for any of them) and its checks' case file; of ``research/``, only what the data step reads (the rest serves notebooks 09-10,
#: and its models compute the exercises' answers in other forms).
RUNTIME = ("helpers.py", "recsys_tutorial/*.py", "recsys_tutorial/interactive/*.py",
           "recsys_tutorial/exercise_cases.json", "recsys_tutorial/research/__init__.py", "recsys_tutorial/research/splits.py")
#: The data step and the data card: students build the data themselves.
DATA_STEP = ("data/README.md", "data/build_data.py", "data/xlsx_writer.py")
REQUIREMENTS = "requirements.txt"
MARKER = ".handout"          # marks a folder this module wrote, which it may replace
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".json", ".ipynb", ".cfg", ".toml"}
_MIN_LINE, _MIN_EXPRESSION = 10, 20   # shorter solution lines (``return Y_norm, Y_mean``) are not searched


# ---------------------------------------------------------------- which notebooks


def _has_exercise(path: Path) -> bool:
    return any(is_solution(c) for c in nbformat.read(path, as_version=4).cells)


def assignments(folder=ROOT / "notebooks") -> dict[str, Path]:
    """The teacher's notebooks with at least one exercise, by number: ``{'03': Path(...), ...}``."""
    return {p.name[:2]: p for p in sorted(Path(folder).glob("[0-9][0-9]-*.ipynb")) if _has_exercise(p)}


def select(numbers, folder=ROOT / "notebooks") -> list[Path]:
    """The teacher's notebooks for ``numbers`` ('03', '3', '03-cost-function.ipynb'); all assignments if empty.

    Raises
    ------
    ValueError
        For a number that names no notebook with an exercise (the message lists those that do).
    """
    found = assignments(folder)
    if not numbers:
        return list(found.values())
    chosen = []
    for number in numbers:
        key = str(number).strip()[:2].zfill(2) if str(number).strip()[:1].isdigit() else ""
        if key not in found:
            raise ValueError(f"NOTEBOOKS: {number!r} is not an assignment; the notebooks with exercises are "
                             f"{', '.join(found)} ({', '.join(p.name for p in found.values())})")
        if found[key] not in chosen:
            chosen.append(found[key])
    return chosen


# ---------------------------------------------------------------- what must not be in a hand-out


def normalised(text: str) -> str:
    """Code as the audit compares it: no spaces, one kind of quote, ``0.0`` written ``0``."""
    text = re.sub(r"\s+", "", text).replace('"', "'")
    return re.sub(r"(?<![\w.])(\d+)\.0(?![\d])", r"\1", text)


def solution_lines(notebooks) -> list[tuple[str, str]]:
    """``(where, normalised code)`` of every line of every worked solution in ``notebooks``, and of the
    expression each assignment or ``return`` line computes (when long enough to be an answer)."""
    found = []
    for path in map(Path, notebooks):
        for k, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if BEGIN not in cell.source:
                continue
            block = cell.source.split(BEGIN, 1)[1].split(END, 1)[0].split("\n")[1:-1]
            for line in block:
                code = normalised(line.split("#", 1)[0])
                where = f"{path.name} cell {k}: {line.strip()}"
                if len(code) >= _MIN_LINE:
                    found.append((where, code))
                expression = re.sub(r"^(return|[\w,\[\]]+=)", "", code)
                if expression != code and len(expression) >= _MIN_EXPRESSION:
                    found.append((where, expression))
    return found


def _texts(folder: Path):
    """``(relative path, text)`` of each text a hand-out shows: notebook cells one by one, other files whole."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            for k, cell in enumerate(nb.cells):
                yield f"{name} cell {k}", cell.source + repr(dict(cell.metadata))
        elif path.suffix in _TEXT_SUFFIXES:
            yield name, path.read_text(encoding="utf-8", errors="replace")


def _notebook_problems(folder: Path) -> list[str]:
    problems = []
    for path in sorted(folder.rglob("*.ipynb")):
        name = path.relative_to(folder).as_posix()
        nb = nbformat.read(path, as_version=4)
        if "widgets" in nb.metadata:
            problems.append(f"{name}: holds widget state")
        for k, cell in enumerate(nb.cells):
            where = f"{name} cell {k}"
            if cell.get("outputs"):
                problems.append(f"{where}: holds outputs")
            if TEACHER_ONLY in cell.metadata.get("tags", []):
                problems.append(f"{where}: a teacher-only cell")
            if BEGIN in cell.source or END in cell.source:
                problems.append(f"{where}: solution markers")
            if is_check(cell) and (cell.metadata.get("editable", True) or cell.metadata.get("deletable", True)):
                problems.append(f"{where}: a check cell that is not locked (editable and deletable must be false)")
    return problems


def audit(folder, teacher_notebooks) -> list[str]:
    """What makes ``folder`` no hand-out: every answer, teacher notebook, unlocked check or data file found.

    ``teacher_notebooks`` are the notebooks whose worked solutions must not appear (all of them,
    not only the assignments handed out). ``helpers.py`` is not searched: it ships as it is.
    """
    folder = Path(folder)
    problems = _notebook_problems(folder)
    lines = solution_lines(teacher_notebooks)
    for name, text in _texts(folder):
        if name == "helpers.py":
            continue
        flat = normalised(text)
        problems += [f"{name} holds a line of a worked solution ({where})" for where, code in lines if code in flat]
    data = {p.relative_to(folder).as_posix() for p in (folder / "data").rglob("*") if p.is_file()}
    problems += [f"{name}: only the data step and its card may be in data/" for name in sorted(data - set(DATA_STEP))]
    return problems


# ---------------------------------------------------------------- writing it


def _readme(notebooks, hints: bool) -> str:
    names = "\n".join(f"* `{p.name}`" for p in notebooks)
    return f"""# Movie recommender: your assignment

This folder holds the notebooks of your assignment:

{names}

and what they need to run: `helpers.py` and the `recsys_tutorial` package (the tutorial's code), the
list of Python packages (`requirements.txt`) and the data step (`data/build_data.py`).

## Set up, once (Python 3.11)

Linux or macOS, in this folder:

```bash
python3 -m venv .venv
.venv/bin/python -m pip install -r requirements.txt
.venv/bin/python data/build_data.py      # downloads MovieLens 100K from GroupLens (5 MB) and builds data/
.venv/bin/jupyter lab                     # as root (in some containers): add --allow-root
```

Windows (PowerShell), in this folder:

```powershell
py -3.11 -m venv .venv
.venv\\Scripts\\python -m pip install -r requirements.txt
.venv\\Scripts\\python data\\build_data.py
.venv\\Scripts\\jupyter lab
```

If your teacher gave you a folder that already holds the data, set `MOVIELENS_DATA` to it instead of
running the data step. The data is MovieLens 100K by GroupLens Research: its licence allows teaching
and research but forbids passing it on, so each of you builds your own copy (`data/README.md` says
more). Do not hand it in. GroupLens' download does not hold the course's pre-trained parameters, so the
data step trains its own: notebook 03 says so, and the course's numbers it quotes for them (such as
22.22) then read differently. Your check cells are not affected.

## Work

Open the notebooks in JupyterLab, in order, and run their cells from the top. Each exercise is a
cell that says `# YOUR CODE HERE`: replace that line and `raise NotImplementedError()` with your
answer, then run the check cell below it. It prints `PASSED: ...` or says what is wrong. The check
cells are locked: leave them as they are.{" Under each check, a hint unfolds if you are stuck." if hints else ""}
The text of each exercise says which of the tutorial's functions you may call; an answer that calls
the function it asks you to write scores 0.

## Hand in

Save each notebook and hand in the `.ipynb` files, under the names they have here, as your teacher
asks. Your teacher's grader runs your notebook from the top and checks your functions again on test
problems of its own, so its feedback may quote other numbers than your check cells did.
"""


def _copy_runtime(dest: Path) -> None:
    for pattern in (*RUNTIME, *DATA_STEP, REQUIREMENTS):
        matches = sorted(ROOT.glob(pattern))
        if not matches:
            raise ValueError(f"the hand-out needs {pattern}, which is not in {ROOT}")
        for path in matches:
            target = dest / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _keep_cases_of(dest: Path, notebooks) -> None:
    """Trim the copied case file to the checks the handed-out notebooks call (one assignment, its data)."""
    called = {m for path in notebooks for cell in nbformat.read(path, as_version=4).cells if is_check(cell)
              for m in re.findall(r"exercises\.(check_\w+)\(", cell.source)}
    path = dest / "recsys_tutorial" / "exercise_cases.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    kept = {k: v for k, v in data.items() if k == "about" or k in called}
    path.write_text(format_case_data(kept), encoding="utf-8")


def stage(notebooks, dest, *, hints: bool = True, solutions: bool = False) -> Path:
    """Write the hand-out's files for ``notebooks`` into the new folder ``dest`` (no audit, no zip)."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    for path in map(Path, notebooks):
        nb = student_notebook(nbformat.read(path, as_version=4), hints=hints, solutions=solutions, name=path.name)
        nbformat.write(nb, dest / path.name)
    _copy_runtime(dest)
    _keep_cases_of(dest, notebooks)
    (dest / "README.md").write_text(_readme(notebooks, hints), encoding="utf-8")
    return dest


def _zip(folder: Path, target: Path) -> None:
    """``folder`` zipped under its own name, reproducibly (sorted entries, fixed dates and modes)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _replaceable(dest: Path) -> None:
    """ValueError unless ``dest`` is missing, empty or a hand-out folder written here before."""
    if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MARKER).is_file())):
        raise ValueError(f"{dest} exists and is not a hand-out folder made by `make handout` (no {MARKER} in it): "
                         "choose another HANDOUT_DIR, or empty it")


def build(numbers=(), dest="handout", *, hints: bool = True) -> tuple[Path, Path]:
    """Build the hand-out of the assignments ``numbers`` into ``dest``; returns (its folder, its zip).

    Raises
    ------
    ValueError
        For an unknown assignment, a ``dest`` that is not a hand-out folder, or a hand-out that
        fails :func:`audit` (nothing is written then).
    """
    notebooks = select(numbers)
    dest = Path(dest)
    _replaceable(dest)
    write_case_file()
    name = "movie-recommender-" + "-".join(p.name[:2] for p in notebooks)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".staging-") as tmp:
        staged = stage(notebooks, Path(tmp) / name, hints=hints)
        problems = audit(staged, sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")))
        if problems:
            raise ValueError("the hand-out would hold what it must not:\n  " + "\n  ".join(problems))
        _zip(staged, Path(tmp) / f"{name}.zip")
        for old in dest.iterdir():
            if not old.name.startswith(".staging-"):
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        (dest / MARKER).write_text("written by `make handout` (python -m teacher.handout); replaced on the next run\n")
        shutil.move(str(staged), dest / name)
        shutil.move(str(Path(tmp) / f"{name}.zip"), dest / f"{name}.zip")
    return dest / name, dest / f"{name}.zip"


def nbgrader_source(number, dest, *, hints: bool = True) -> Path:
    """nbgrader's source folder for one assignment (``course/source/<assignment>``): the hand-out's
    files, with the teacher's notebook minus its teacher-only cells (solutions kept)."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty: nbgrader's source folder for one assignment must start empty")
    dest.rmdir() if dest.exists() else None
    write_case_file()
    return stage(select([number]), dest, hints=hints, solutions=True)


def main(argv=None) -> int:
    """Command line: build the hand-out (or nbgrader's source) and say where it is."""
    parser = argparse.ArgumentParser(prog="python -m teacher.handout", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="assignment numbers, e.g. 03 05 (default: all of them)")
    parser.add_argument("--dest", type=Path, default=Path("handout"), help="output folder (default: handout)")
    parser.add_argument("--no-hints", action="store_true", help="drop the cells tagged 'hint'")
    parser.add_argument("--nbgrader-source", type=Path, metavar="DIR",
                        help="write nbgrader's source folder for one assignment into DIR instead")
    args = parser.parse_args(argv)
    try:
        if args.nbgrader_source:
            if len(args.notebooks) != 1:
                raise ValueError("--nbgrader-source takes exactly one assignment (nbgrader grades one at a time)")
            folder = nbgrader_source(args.notebooks[0], args.nbgrader_source, hints=not args.no_hints)
            print(f"nbgrader source in {folder}/: run `nbgrader generate_assignment {folder.name}` "
                  "in the course folder")
            return 0
        folder, archive = build(args.notebooks, args.dest, hints=not args.no_hints)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"hand-out in {folder}/ and {archive} ({archive.stat().st_size / 1024:.0f} kB): give the zip to your "
          "students; its README.md says how to set up, work and hand in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
