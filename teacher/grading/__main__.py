"""``python -m teacher.grading SUBMISSIONS``: grade a class into SUBMISSIONS/grades.csv (``make grade``).

Every hand-in notebook runs whole in a bubblewrap sandbox (Linux); the judge
runs outside it. One line per graded notebook goes to stderr (``--quiet``: none). Exit status: 0 when grades.csv was written (also after an
interruption: the notebooks not graded then get 0, "not graded"); 1 when
nothing could be graded (a bad folder, no sandbox); 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from recsys_tutorial import paths
from teacher.grading.classroom import Progress, cell_text, grade_class, students_in, write_grades
from teacher.grading.notebooks import teacher_notebooks
from teacher.grading.sandbox import Limits, SandboxUnavailable

_DEFAULT = Limits()


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 86400:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most 86400 (a day); got {text!r}")
    return value


def _bounded_int(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number ({what}), got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high} ({what}); got {value}")
        return value
    return parse


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {text!r}")
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m teacher.grading", description=__doc__.split("\n\n")[0])
    p.add_argument("submissions", type=_folder, help="a folder with one folder per student, holding their notebooks")
    p.add_argument("--notebooks", nargs="+", metavar="NN",
                   help="grade only these notebooks, by number (03 05) or name (default: every graded one)")
    p.add_argument("--teacher", type=_folder, help="the teacher's notebooks (default: the repository's notebooks/)")
    p.add_argument("--jobs", type=_bounded_int(1, 64, "notebooks graded at once"),
                   help="notebooks graded at once (default: the number of cores)")
    p.add_argument("--timeout", type=_seconds, default=_DEFAULT.wall,
                   help=f"seconds one student's notebook may run, whole (default {_DEFAULT.wall:g})")
    p.add_argument("--memory", type=_bounded_int(256, 65536, "megabytes"), default=_DEFAULT.memory // 2**20,
                   help=f"megabytes one notebook's processes may hold in all (default {_DEFAULT.memory // 2**20})")
    p.add_argument("--seed", type=_bounded_int(0, 2**32 - 1, "0 to 2**32 - 1"),
                   help="the run's seed, to repeat a run (default: a new one)")
    p.add_argument("--quiet", action="store_true", help="no progress line per graded notebook (on stderr)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run hand-ins without the sandbox, as you, with your files in reach: only for hand-ins you "
                        "trust; grades.csv records it")
    return p


def _summary(rows, info, path, kept, seconds) -> None:
    totals = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        totals[r.student][0] += r.points
        totals[r.student][1] += r.max_points
    for student, (got, out_of) in totals.items():
        print(f"{cell_text(student)[:40]:<24} {got:g} / {out_of:g}")
    if kept:
        print(f"the previous grades are kept in {kept}")
    if info.interrupted:
        print("grading was interrupted: the notebooks not graded by then have 0 points, feedback 'not graded'")
    print(f"{len(totals)} students graded in {seconds:.1f} s (seed {info.seed}; --seed {info.seed} repeats this "
          f"run; sandbox: {info.sandbox}): {path}")


def _progress(args) -> Progress:
    """A progress line per notebook, on stderr: the class is counted first (cheap: folder names only)."""
    try:
        graded = teacher_notebooks(args.teacher or paths.repository_root() / "notebooks", args.notebooks)
        total = len(students_in(args.submissions)) * len(graded)
    except (OSError, ValueError):
        total = 0                      # grade_class reports the problem itself
    return Progress(total)


def main(argv=None) -> int:
    """Command line; prints each student's total and where grades.csv is."""
    args = parser().parse_args(argv)
    limits = Limits(wall=args.timeout, cpu=args.timeout, memory=args.memory * 2**20)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    start = time.perf_counter()
    try:
        rows, info = grade_class(args.submissions, teacher=args.teacher, notebooks=args.notebooks, jobs=args.jobs,
                                 limits=limits, seed=args.seed, sandbox=not args.no_sandbox, stop=stop,
                                 progress=None if args.quiet else _progress(args))
    except SandboxUnavailable as exc:
        print(f"error: cannot grade in a sandbox here: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    path, kept = write_grades(rows, args.submissions / "grades.csv", info)
    _summary(rows, info, path, kept, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
