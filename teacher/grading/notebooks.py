"""What the grader reads from notebooks: the teacher's exercises, a hand-in, and the order to run it in.

The teacher's notebooks are the one source of truth. Each graded check cell
(``metadata.nbgrader.grade``) calls a checker of :mod:`teacher.exercises` on a
function, ``exercises.check_cofi_cost(my_cofi_cost)``; the nbgrader solution
cell that defines that function is the answer cell, and its ``grade_id``
names the exercise; the check cell's ``points`` are what it is worth.

A hand-in is untrusted: :func:`read_hand_in` refuses a symbolic link, a hard
link (a file with a second name: it may be the teacher's worked notebook), a
file that is not a regular file, more than :data:`MAX_NOTEBOOK_BYTES`, JSON that is
not a notebook, more than :data:`MAX_CELLS` cells or :data:`MAX_CODE_CHARS` of
code, each with a message that quotes nothing of the file. Metadata that is
not what nbgrader writes (``"nbgrader": "zz"``) is treated as no metadata.

:func:`run_plan` puts the hand-in back together as nbgrader's autograder does:
the student's code cells in their order, with each of the teacher's graded
check cells and locked cells restored from the teacher's notebook wherever the
hand-in has a cell with its ``grade_id``; one that was deleted comes back
right after the solution or graded cell that precedes it in the teacher's
notebook, else at the end (as nbgrader's ``OverwriteCells.add_missing_cells``
does). A check cell is never
run as code: it becomes a *check* step, where the grader's runner calls the
function. :func:`student_code_ran` finds, for the no-loops rule, every
function of the student's own cells that the checked function calls (by name,
through helpers of helpers, in the same or earlier cells).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from teacher import exercises

__all__ = ["ExerciseSpec", "TeacherNotebook", "HandInError", "Cell", "Plan", "MAX_NOTEBOOK_BYTES", "MAX_CELLS",
           "MAX_CODE_CHARS", "teacher_exercises", "teacher_notebooks", "defined_functions", "checker_call",
           "strip_magics", "read_hand_in", "run_plan", "student_code_ran", "written_code"]

#: The largest hand-in read (a notebook with its outputs; 06 with widget state is 0.3 MB).
MAX_NOTEBOOK_BYTES = 20 * 2**20
#: The most cells a hand-in may have, and the most characters of code in all of them.
MAX_CELLS = 2000
MAX_CODE_CHARS = 2 * 2**20
_MAGIC = re.compile(r"^([ \t]*)[%!].*$", flags=re.MULTILINE)   # [ \t], not \s: \s spans lines (quadratic)


@dataclass(frozen=True)
class ExerciseSpec:
    """One graded exercise: in ``notebook``, the answer cell ``exercise`` defines ``function``,
    which ``checker`` (a key of ``teacher.exercises.EXERCISES``) judges for ``points``; the check
    cell's ``grade_id`` is ``check_id``."""

    notebook: str
    exercise: str
    function: str
    checker: str
    points: float
    check_id: str = ""


@dataclass(frozen=True)
class TeacherNotebook:
    """What the grader needs of one teacher notebook.

    ``fixed`` maps the ``grade_id`` of each graded or locked code cell to its
    source; ``ids`` lists every code cell's ``grade_id`` (or None) in order;
    ``sources`` holds the teacher's code as the student got it (solution cells
    left out), to tell the student's own code from the teacher's.
    """

    name: str
    specs: tuple
    fixed: dict
    ids: tuple
    sources: frozenset

    @property
    def checks(self) -> dict:
        """``{check cell grade_id: spec}``."""
        return {s.check_id: s for s in self.specs}


class HandInError(ValueError):
    """A hand-in cannot be graded; the message is safe to show (it quotes nothing of the file)."""


@dataclass(frozen=True)
class Cell:
    """A code cell to run: ``source``, where it came from (``label``: 'cell 16', 'the restored check cell'),
    and whether it is the student's own code."""

    source: str
    label: str
    student: bool


@dataclass
class Plan:
    """A hand-in's run: ``steps`` are :class:`Cell` or :class:`ExerciseSpec` (a check), in order."""

    steps: list = field(default_factory=list)

    @property
    def cells(self) -> list:
        return [s for s in self.steps if isinstance(s, Cell)]


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or {} when it is missing or not what nbgrader writes."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell):
    value = _nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) else None


def _source(cell) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise HandInError("a cell's source is neither text nor a list of lines")


def strip_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines become ``pass`` (same indentation): plain Python remains."""
    return _MAGIC.sub(r"\1pass", source)


def _tree(source: str):
    """The AST of a cell's code (magics removed), or None if it does not parse (whatever the reason)."""
    try:
        return ast.parse(strip_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
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


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _teacher_notebook(path: Path) -> TeacherNotebook:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    answers = {}
    for cell in code:
        if _nbgrader(cell).get("solution"):
            answers.update({name: _grade_id(cell) for name in defined_functions(_source(cell))})
    specs, fixed = [], {}
    for k, cell in enumerate(code):
        meta, source = _nbgrader(cell), _source(cell)
        if meta.get("grade") or meta.get("locked"):
            fixed[_grade_id(cell)] = source
        if not meta.get("grade"):
            continue
        found = checker_call(source)
        if found is None or found[0] not in exercises.EXERCISES or found[1] not in answers:
            raise ValueError(f"{path.name} code cell {k + 1}: a graded check cell must call a checker of exercises.py "
                             f"({', '.join(exercises.EXERCISES)}) on a function that an nbgrader solution "
                             f"cell defines; it holds {source!r}")
        specs.append(ExerciseSpec(path.name, answers[found[1]], found[1], found[0], float(meta["points"]),
                                  _grade_id(cell)))
    sources = frozenset(_normal(_source(c)) for c in code if not _nbgrader(c).get("solution"))
    return TeacherNotebook(path.name, tuple(specs), fixed, tuple(_grade_id(c) for c in code), sources)


def teacher_notebooks(folder, only=None) -> list[TeacherNotebook]:
    """The numbered notebooks of ``folder`` that hold a graded exercise, in order.

    ``only``: notebook numbers or names to keep (``["03", "05"]``).

    Raises
    ------
    ValueError
        If a graded check cell does not call a known checker on a solution cell's function, or
        ``only`` names a notebook without a graded exercise.
    """
    notebooks = [_teacher_notebook(p) for p in sorted(Path(folder).glob("[0-9]*.ipynb"))]
    notebooks = [n for n in notebooks if n.specs]
    if only is None:
        return notebooks
    kept = []
    for wanted in only:
        match = [n for n in notebooks if n.name == wanted or n.name.split("-")[0] == str(wanted)]
        if not match:
            graded = ", ".join(n.name.split("-")[0] for n in notebooks)
            raise ValueError(f"notebook {wanted!r} has no graded exercise in {folder} (graded: {graded})")
        kept += [n for n in match if n not in kept]
    return sorted(kept, key=lambda n: n.name)


def teacher_exercises(folder) -> list[ExerciseSpec]:
    """Every graded exercise of the numbered notebooks in ``folder``, in notebook order."""
    return [spec for nb in teacher_notebooks(folder) for spec in nb.specs]


# ---------------------------------------------------------------- a hand-in


def _read_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file, never through a symbolic link, at most MAX_NOTEBOOK_BYTES."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise HandInError("not handed in") from None
    if stat.S_ISLNK(info.st_mode):
        raise HandInError("the hand-in is a symbolic link, which the grader never follows: hand in the notebook itself")
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise HandInError("the hand-in is a hard link (a file with more than one name, perhaps someone else's), "
                          "which the grader does not read: hand in a copy of the notebook itself")
    if not stat.S_ISREG(info.st_mode):
        raise HandInError("the hand-in is not a regular file")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise HandInError(f"the hand-in is {info.st_size:,} bytes; at most {MAX_NOTEBOOK_BYTES:,} are read "
                          "(clear the outputs and hand it in again)")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise HandInError("the hand-in is not a regular file")
        if opened.st_nlink > 1:
            raise HandInError("the hand-in is a hard link (a file with more than one name, perhaps someone "
                              "else's), which the grader does not read: hand in a copy of the notebook itself")
        chunks, size = [], 0
        while size <= MAX_NOTEBOOK_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_NOTEBOOK_BYTES:
        raise HandInError(f"the hand-in holds more than {MAX_NOTEBOOK_BYTES:,} bytes")
    return b"".join(chunks)


def read_hand_in(path) -> list[dict]:
    """The cells of the hand-in at ``path`` (a list of dicts with ``cell_type`` and a text ``source``).

    Raises
    ------
    HandInError
        Missing, a symbolic link, not a regular file, too large, not a notebook, too many cells or too much code.
    """
    data = _read_bytes(Path(path))
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise HandInError("cannot read the hand-in as a notebook: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise HandInError(f"cannot read the hand-in as a notebook: not valid JSON (line {exc.lineno}, "
                          f"column {exc.colno})") from None
    except (RecursionError, MemoryError, ValueError):
        raise HandInError("cannot read the hand-in as a notebook: its JSON is nested too deeply") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise HandInError("cannot read the hand-in as a notebook: no list of cells")
    if len(nb["cells"]) > MAX_CELLS:
        raise HandInError(f"the hand-in has {len(nb['cells']):,} cells; at most {MAX_CELLS:,} are graded")
    cells, code_chars = [], 0
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise HandInError("cannot read the hand-in as a notebook: a cell without a cell_type")
        source = _source(cell)
        if cell["cell_type"] == "code":
            code_chars += len(source)
        cells.append({"cell_type": cell["cell_type"], "source": source, "metadata": {"nbgrader": _nbgrader(cell)}})
    if code_chars > MAX_CODE_CHARS:
        raise HandInError(f"the hand-in holds {code_chars:,} characters of code; at most {MAX_CODE_CHARS:,} are run")
    return cells


def run_plan(teacher: TeacherNotebook, cells) -> Plan:
    """The steps that run hand-in ``cells`` as nbgrader would, with the teacher's check and locked cells."""
    checks, plan, placed = teacher.checks, Plan(), set()
    position = {}                   # grade_id -> step index: where a deleted cell's predecessor stands
    for number, cell in enumerate(cells, start=1):
        if cell["cell_type"] != "code":
            continue
        gid = _grade_id(cell)
        if gid in teacher.fixed:
            if gid in placed:
                continue            # a copy of a check or locked cell: the teacher's runs once
            placed.add(gid)
            plan.steps.append(checks[gid] if gid in checks else Cell(teacher.fixed[gid], f"cell {number}", False))
        else:
            teacher_code = _normal(cell["source"]) in teacher.sources
            plan.steps.append(Cell(cell["source"], f"cell {number}", not teacher_code))
        if gid is not None:
            position.setdefault(gid, len(plan.steps) - 1)
    end = len(plan.steps) - 1
    restored: dict[int, list] = {}
    for k, gid in enumerate(teacher.ids):
        if gid in teacher.fixed and gid not in placed:
            anchors = [position[g] for g in teacher.ids[:k] if g in position]
            step = checks[gid] if gid in checks else Cell(teacher.fixed[gid], "a locked cell the grader restored", False)
            restored.setdefault(max(anchors) if anchors else end, []).append(step)
    steps = restored.get(-1, [])    # (a hand-in without a code cell)
    for k, step in enumerate(plan.steps):
        steps += [step, *restored.get(k, [])]
    plan.steps = steps
    return plan


# ---------------------------------------------------------------- the student's code a check ran


def _top_level(tree):
    """``{name: node}`` for the functions (def, or ``name = lambda``) and aliases (``name = other``) a cell defines."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign) and isinstance(node.value, (ast.Lambda, ast.Name)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
    return found


def _names_used(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _segment(lines: list, node) -> str:
    """The text of ``node`` from its cell's ``lines``."""
    return "\n".join(lines[node.lineno - 1: node.end_lineno])


def student_code_ran(plan: Plan, check_index: int, function: str, ran=(), defined=None) -> tuple[str | None, list]:
    """The source of ``function`` as defined when step ``check_index`` runs, and the student's helpers it calls.

    Returns ``(source of the function's def or None, [(name, label, source)] of the student's other
    functions it reaches)``: by name, transitively, through the student's own cells before the check
    (the teacher's unchanged cells are not the student's code); ``ran`` adds those the runner saw
    running (``[cell number, first line, name]``), and ``defined`` (``[cell number, first line]``) is
    where the runner saw the checked function come from, used when no ``def`` of it is found. Both are
    untrusted: they can only add code to look at.
    """
    defs: dict[str, tuple] = {}
    cells, parsed = [], {}        # each cell parsed once per check, however many functions it reports
    for step in plan.steps[:check_index]:
        if not isinstance(step, Cell):
            continue
        cells.append(step)
        tree = _tree(step.source)
        parsed[id(step)] = [tree, strip_magics(step.source).splitlines(), None]
        for name, node in (_top_level(tree).items() if tree else ()):
            defs[name] = (step, node) if step.student else None
    main, helpers, seen, todo, itself = None, [], {function}, [function], {function}
    while todo:
        name = todo.pop()
        entry = defs.get(name)
        if entry is None:
            continue
        step, node = entry
        if isinstance(node, ast.Name):          # an alias: f = g
            if name in itself:
                itself.add(node.id)
            if node.id not in seen:
                seen.add(node.id)
                todo.append(node.id)
            continue
        source = _segment(parsed[id(step)][1], node)
        if name in itself and main is None:
            main = source
        else:
            helpers.append((name, step.label, source))
        for used in sorted(_names_used(node) - seen):
            seen.add(used)
            todo.append(used)
    if main is None and isinstance(defined, list) and len(defined) == 2:
        found = _function_at(cells, parsed, defined[0], defined[1], None)
        main = found[1] if found else None
    for cell_number, line, name in ran:
        found = _function_at(cells, parsed, cell_number, line, name)
        if found and found[1] != main and all(found[1] != s for _, _, s in helpers):
            helpers.append((name, *found))
    return main, helpers


def _functions_by_line(tree) -> dict:
    """``{first line: [function or lambda nodes]}`` of a cell's AST (a decorated def starts at its decorator)."""
    index: dict[int, list] = {}
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            start = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
            index.setdefault(start, []).append(node)
    return index


def _function_at(cells, parsed, number, line, name) -> tuple[str, str] | None:
    """``(label, source)`` of the function (or lambda) called ``name`` (any, if None) whose code starts at
    ``line`` of the student's cell ``number``, or None. ``parsed``: ``{id(cell): [its AST, the lines of
    its source without magics, its functions by line (made on first use)]}``, made once per check: one parse and one
    walk of a cell however many of its functions the runner reports."""
    if not (isinstance(number, int) and isinstance(line, int) and 0 <= number < len(cells)
            and cells[number].student):
        return None
    step = cells[number]
    entry = parsed[id(step)]
    if entry[2] is None:
        entry[2] = _functions_by_line(entry[0])
    for node in entry[2].get(line, ()):
        if name in (None, getattr(node, "name", "<lambda>")):
            return step.label, _segment(entry[1], node)
    return None


def _written_files(cells) -> dict:
    """``{file name: (label, lines)}`` of the files the student's ``%%writefile`` cells write (the last wins)."""
    found = {}
    for step in cells:
        first, _, body = step.source.partition("\n")
        if not (step.student and first.startswith("%%writefile")):
            continue
        try:
            words = [w for w in shlex.split(first)[1:] if not w.startswith("-")]
        except ValueError:
            continue
        if words:
            found[os.path.basename(words[-1])] = (step.label, body.splitlines())
    return found


def _calls_hidden_code(cells) -> bool:
    """Whether a student cell calls ``exec``, ``eval`` or ``compile`` (code that ran from a string is theirs)."""
    for step in cells:
        tree = _tree(step.source) if step.student else None
        for node in ast.walk(tree) if tree else ():
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("exec", "eval", "compile")):
                return True
    return False


def written_code(plan: Plan, check_index: int, foreign) -> tuple[list, list]:
    """What the checked function ran from files or strings (the runner's ``foreign``: ``[file, first line,
    name]``), for the no-loops rule: ``([(name, label, source)] the grader can read, [what it cannot])``.

    A file the student's own ``%%writefile`` cell wrote is read from that cell; any other file written while
    the notebook ran, or code run from a string by a student's ``exec``/``eval``, cannot be read: it is
    listed so that the rule counts it as a loop. (``<string>`` code with no such call in the student's cells
    is Python's own, such as a namedtuple's ``__new__``.)
    """
    cells = [s for s in plan.steps[:check_index] if isinstance(s, Cell)]
    files, readable, unreadable = _written_files(cells), [], []
    hidden = None
    for filename, line, name in foreign:
        if filename == "<string>":
            hidden = _calls_hidden_code(cells) if hidden is None else hidden
            if hidden:
                unreadable.append(f"{name}, code run from a string (exec or eval)")
            continue
        base = os.path.basename(filename)
        if base not in files:
            unreadable.append(f"{name} from {base}, a file written while the notebook ran")
            continue
        label, lines = files[base]
        tree = _tree("\n".join(lines))
        node = next((n for n in _functions_by_line(tree).get(line, ()) if getattr(n, "name", "<lambda>") == name),
                    None)
        if node is None:
            unreadable.append(f"{name} from {base}, which is not what the notebook's %%writefile cell wrote")
        else:
            readable.append((name, f"{label}, written to {base}", _segment(lines, node)))
    return readable, unreadable
