"""Grading a whole class: every student folder, several notebooks at once, into grades.csv.

The submissions folder holds one folder per student (``hand-ins/alice/``),
with the notebooks under their original names, directly or further down as
nbgrader collects them (``hand-ins/alice/cost/03-cost-function.ipynb``).
Folder entries are never followed through symbolic links: a student "folder"
that is a link gets 0 for every exercise, with feedback saying why.

grades.csv (:func:`write_grades`) always has one row per student and
exercise, is written atomically, keeps the previous file as
``grades-<its time>.csv``, and records the run: its seed, when it ran and
whether hand-ins ran in the sandbox. Every text cell is sanitised against
formula injection (OWASP: a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with ``'``) and control characters; text
that cannot be written as UTF-8 (a lone surrogate from a hand-in's error
message, a student folder whose name is not UTF-8) shows U+FFFD in its place,
and Unicode format characters (category Cf: zero-width spaces, right-to-left
overrides) show as ``<U+200B>``, so that a look-alike of a classmate's name is
visible. Whatever a row holds, writing grades.csv does not fail on its text.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from recsys_tutorial import paths
from teacher.grading.grader import Row, grade_notebook
from teacher.grading.notebooks import teacher_notebooks
from teacher.grading.sandbox import Limits
from teacher.grading.workspace import Workspace

__all__ = ["COLUMNS", "RunInfo", "Progress", "students_in", "find_hand_in", "grade_class", "write_grades", "cell_text",
           "visible_text"]

COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "feedback", "seed", "graded_at", "sandbox")
_MAX_CELL = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RunInfo:
    """What grades.csv records of a run."""

    seed: int
    graded_at: str
    sandbox: str
    interrupted: bool = False


def visible_text(value) -> str:
    """``value`` as text that encodes as UTF-8 and hides nothing: each lone surrogate becomes U+FFFD and
    each format character (Unicode category Cf: zero-width, bidirectional overrides) ``<U+XXXX>``."""
    try:
        text = str(value)
    except Exception as exc:   # (a row's fields are the grader's own str; this is only a last defence)
        text = f"(unprintable {type(exc).__name__})"
    text = _SURROGATE.sub("\ufffd", text)
    if text.isascii():
        return text
    return "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) == "Cf" else c for c in text)


def cell_text(value) -> str:
    """``value`` as a safe CSV cell: one line, no control characters, valid UTF-8 with format characters
    shown (:func:`visible_text`), at most 2000 characters, and no leading ``= + - @`` (a spreadsheet
    would run it as a formula)."""
    text = visible_text(_CONTROL.sub(" ", str(value)[: 4 * _MAX_CELL]))[:_MAX_CELL]
    return "'" + text if text.lstrip(" ").startswith(_FORMULA) else text


def students_in(folder) -> list[str]:
    """The student folders in ``folder`` (symbolic links included, to be refused; hidden entries and files
    such as grades.csv left out), sorted."""
    names = []
    for entry in os.scandir(folder):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir(follow_symlinks=False) or entry.is_symlink():
            names.append(entry.name)
    return sorted(names)


def find_hand_in(student_dir: Path, notebook: str, max_depth: int = 3) -> Path | None:
    """``student_dir/notebook``, else the shallowest file of that name further down (nbgrader's layout);
    symbolic links to folders are not followed. None when there is none."""
    direct = student_dir / notebook
    if os.path.lexists(direct):
        return direct
    base = len(student_dir.parts)
    for folder, dirs, files in os.walk(student_dir, followlinks=False):
        depth = len(Path(folder).parts) - base
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints" and depth < max_depth)
        if notebook in files:
            return Path(folder) / notebook
    return None


def _refused(student: str, teacher, why: str) -> list[Row]:
    return [Row(student, teacher.name, s.exercise, 0.0, s.points, why) for s in teacher.specs]


class Progress:
    """One line per graded notebook on ``stream`` (stderr): ``[3/240] alice 03-cost-function.ipynb: 2 / 2``."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self._lock = threading.Lock()

    def __call__(self, student: str, notebook: str, rows, note: str = "", again: bool = False) -> None:
        with self._lock:
            self.done += 0 if again else 1
            got, out_of = sum(r.points for r in rows), sum(r.max_points for r in rows)
            print(f"[{'again' if again else self.done}/{self.total}] {cell_text(student)[:40]} {notebook}: "
                  f"{got:g} / {out_of:g}{note}", file=self.stream, flush=True)


def _grade_one(task, folder: Path, workspace, seed: int, slots: queue.Queue, stop: threading.Event,
               retried: bool = False) -> tuple[list[Row], bool]:
    """``(rows, starved)``: the notebook's rows, and whether its run was starved of CPU (worth a second run)."""
    student, teacher = task
    if stop.is_set():
        return _refused(student, teacher, "not graded: grading was stopped before this notebook"), False
    student_dir = folder / student
    if stat.S_ISLNK(os.lstat(student_dir).st_mode):
        return _refused(student, teacher, "the student's folder is a symbolic link, which the grader never "
                                          "follows: hand in a folder"), False
    path = find_hand_in(student_dir, teacher.name) or student_dir / teacher.name
    slot, notes = slots.get(), {}
    try:
        rows = grade_notebook(student, path, teacher, workspace, run_seed=seed, slot=slot, retried=retried,
                              notes=notes)
        return rows, bool(notes.get("starved"))
    except Exception as exc:   # a grader bug must cost this hand-in only, and say so
        return _refused(student, teacher, f"not graded: the grader failed on this notebook "
                                          f"({type(exc).__name__}: {visible_text(exc)[:200]}); please report it"), False
    finally:
        slots.put(slot)


def _graded(task, progress, *args, retried: bool = False) -> tuple[list[Row], bool]:
    rows, starved = _grade_one(task, *args, retried=retried)
    if progress is not None:
        note = (" (stopped at its time limit with little CPU time: the machine was busy; graded again alone after "
                "the class)" if starved and not retried else " (graded again, alone)" if retried else "")
        progress(task[0], task[1].name, rows, note, again=retried)
    return rows, starved


def _regrade_starved(tasks, results, progress, folder, workspace, seed, stop) -> None:
    """Grade again, one at a time after the class, each notebook whose run was stopped at its wall time while
    starved of CPU (the machine was busy, not its code): the second run's rows replace the first's."""
    alone: queue.Queue = queue.Queue()
    alone.put(0)
    for k, task in enumerate(tasks):
        if results[k][1] and not stop.is_set():
            results[k] = _graded(task, progress, folder, workspace, seed, alone, stop, retried=True)


def grade_class(folder, *, teacher=None, notebooks=None, jobs=None, limits: Limits = Limits(), seed=None,
                sandbox: bool = True, stop: threading.Event | None = None,
                progress=None) -> tuple[list[Row], RunInfo]:
    """Grade every student folder in ``folder``; returns ``(rows, RunInfo)``.

    Parameters
    ----------
    teacher : path, optional
        The teacher's notebooks (default: the repository's ``notebooks/``).
    notebooks : list of str, optional
        Only these notebooks (numbers such as ``"03"``, or names).
    jobs : int, optional
        Notebooks graded at once (default: the number of cores).
    limits : Limits
        What one hand-in notebook may use in the sandbox (``wall`` is its time limit).
    seed : int, optional
        The run's seed (default: a fresh one); each student's problems are drawn from it.
    sandbox : bool
        False: run hand-ins without the sandbox (trusted hand-ins only).
    stop : threading.Event, optional
        Set it (from a signal handler) to stop: notebooks not yet graded get 0, "not graded".
    progress : callable, optional
        Called as ``progress(student, notebook, rows, note)`` after each notebook (:class:`Progress`).

    A notebook stopped at its wall time while it had less than half of that time on a CPU (a busy
    machine, not its code: :func:`teacher.grading.grader.starved`) is graded again, alone, after the
    class; its feedback says so if that run is starved too.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        ``folder`` or ``teacher`` is not a folder.
    ValueError
        A teacher notebook is malformed, or ``notebooks`` names one without a graded exercise.
    SandboxUnavailable
        The sandbox cannot run here (and ``sandbox`` is True).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: '{folder}' (expected one folder per student)")
    teacher = Path(teacher) if teacher is not None else paths.repository_root() / "notebooks"
    if not teacher.is_dir():
        raise NotADirectoryError(f"teacher's notebooks folder not found: '{teacher}'")
    graded = teacher_notebooks(teacher, notebooks)
    if not graded:
        raise ValueError(f"no notebook in '{teacher}' has a graded exercise")
    seed = secrets.randbits(32) if seed is None else int(seed)
    jobs = max(1, jobs or os.cpu_count() or 1)
    stop = stop or threading.Event()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tasks = [(student, nb) for student in students_in(folder) for nb in graded]
    workspace = Workspace(graded, sandbox=sandbox, limits=limits, slots=jobs)
    slots: queue.Queue = queue.Queue()
    for k in range(jobs):
        slots.put(k)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_graded, t, progress, folder, workspace, seed, slots, stop) for t in tasks]
            while not all(f.done() for f in futures):
                if stop.wait(0.1):
                    workspace.stop_all()
            results = [f.result() for f in futures]
        _regrade_starved(tasks, results, progress, folder, workspace, seed, stop)
        rows = [row for rows_of, _ in results for row in rows_of]
    finally:
        workspace.close()
    how = ("bubblewrap sandbox" if sandbox else
           "none: --no-sandbox, hand-ins ran as the teacher (trusted hand-ins only)")
    return rows, RunInfo(seed, started, how, interrupted=stop.is_set())


def _free_name(folder: Path, stem: str) -> Path:
    for k in range(1000):
        candidate = folder / (f"{stem}.csv" if k == 0 else f"{stem}-{k}.csv")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"too many grades files in {folder}")


def _stamp(seconds: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(seconds))


def write_grades(rows, path, info: RunInfo) -> tuple[Path, Path | None]:
    """Write ``rows`` with :data:`COLUMNS` to ``path`` atomically; returns ``(where it went, the kept previous)``.

    A previous regular file at ``path`` is kept as ``grades-<its time>.csv``
    beside it. If ``path`` is something else (a folder, a symbolic link: a
    student folder named grades.csv), it is left alone and the grades go to
    ``grades-<now>.csv`` instead.
    """
    path = Path(path)
    folder, kept = path.parent, None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([cell_text(r.student), cell_text(r.notebook), cell_text(r.exercise), f"{r.points:g}",
                         f"{r.max_points:g}", cell_text(r.feedback), str(info.seed), info.graded_at,
                         cell_text(info.sandbox)])
    fd, tmp = tempfile.mkstemp(prefix=".grades.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        try:
            old = os.lstat(path)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISREG(old.st_mode):
            kept = _free_name(folder, f"{path.stem}-{_stamp(old.st_mtime)}")
            shutil.copy2(path, kept, follow_symlinks=False)
        elif old is not None:
            path = _free_name(folder, f"{path.stem}-{_stamp(time.time())}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return path, kept
