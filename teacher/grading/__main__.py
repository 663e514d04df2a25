"""``python -m teacher.grading SUBMISSIONS``: grade a class and write SUBMISSIONS/grades.csv (``make grade``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

from teacher.grading import grade_class, write_grades


def main(argv=None) -> int:
    """Command line; prints each student's total and where grades.csv is. Returns 0, or 1 on a bad folder."""
    parser = argparse.ArgumentParser(prog="python -m teacher.grading", description=__doc__)
    parser.add_argument("submissions", help="a folder with one folder per student, holding their notebooks")
    parser.add_argument("--teacher", help="the teacher's notebooks (default: the repository's notebooks/)")
    parser.add_argument("--jobs", type=int, help="notebooks graded at once (default: the number of cores)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per student notebook (default 30)")
    parser.add_argument("--seed", type=int, help="the run's seed, to repeat a run (default: a new one)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        rows, seed = grade_class(args.submissions, teacher=args.teacher, jobs=args.jobs, timeout=args.timeout,
                                 seed=args.seed)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = write_grades(rows, f"{args.submissions}/grades.csv")
    totals = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        totals[r.student][0] += r.points
        totals[r.student][1] += r.max_points
    for student, (got, out_of) in totals.items():
        print(f"{student:<24} {got:g} / {out_of:g}")
    print(f"{len(totals)} students graded in {time.perf_counter() - start:.1f} s (seed {seed}; "
          f"--seed {seed} repeats this run): {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
