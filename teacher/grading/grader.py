"""Grading one student's notebook, and a whole class.

For each (student, notebook) the grader

1. reads the submission and takes the student's answer cells only (never
   their check cells, so a rewritten check cell changes nothing), and reports
   a syntax error in one without running anything;
2. asks :func:`exercises.planned_calls` for the calls the checker will make,
   on problems seeded per run and per student (a hard-coded answer fails);
3. runs the answer cells and those calls in a fresh ``python -m
   teacher.grading._child`` process, in a temporary folder, with a time limit (the
   whole process group is killed when it passes) and memory and CPU limits;
4. judges the records in its own process with :func:`exercises.judge`,
   whose expected values come from :mod:`exercises`' private formulas, which
   the student's process cannot reach: a monkeypatched checker or helper
   lives and dies in that process.

Points: the check cell's ``points`` when the checker passes; half of them
when the values are right but a rule of the exercise is broken (a loop
where the text says no loops, a warning where none is allowed); 0
otherwise, including for calling the tutorial's own solution ("not done"),
an unsolved stub, a syntax error, a time-out or a crash, each with feedback
saying so. One submission's trouble costs that submission only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from recsys_tutorial import exercises
from recsys_tutorial import paths
from teacher.grading import codec
from teacher.grading._child import strip_magics
from teacher.grading.notebooks import ExerciseSpec, answer_cells

__all__ = ["Row", "student_seed", "grade_notebook", "run_answers"]

RULE_SHARE = 0.5   # of the points, for right values with a rule of the exercise broken


@dataclass(frozen=True)
class Row:
    """One line of grades.csv."""

    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    feedback: str


def student_seed(run_seed: int, student: str, notebook: str) -> int:
    """The seed of one student's problems in one notebook: new per run, different per student."""
    words = [run_seed & 0xFFFFFFFF, zlib.crc32(student.encode()), zlib.crc32(notebook.encode())]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def _child_env(workdir: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "MPLBACKEND": "Agg",
           "PYTHONPATH": str(paths.repository_root()), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def _crash_text(returncode: int, stderr: bytes) -> str:
    if returncode < 0:
        try:
            how = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"killed by signal {-returncode}"
    else:
        how = f"exit code {returncode}"
    last = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return f"the Python process running your answers crashed ({how}){': ' + last[0][:200] if last[0] else ''}"


def run_answers(cells, jobs, timeout: float):
    """Run answer ``cells`` and the planned calls ``jobs`` in a fresh process.

    ``jobs`` is a list of ``{"function", "checker", "calls"}``. Returns
    ``(result, None)`` with the child's JSON, or ``(None, why)`` for a
    time-out or a crash.
    """
    job = {"cells": cells, "exercises": jobs, "cpu_seconds": int(timeout) + 5}
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir:
        result_path = os.path.join(workdir, "result.json")
        proc = subprocess.Popen([sys.executable, "-m", "teacher.grading._child", result_path], cwd=workdir,
                                env=_child_env(workdir), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, stderr = proc.communicate(json.dumps(job).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, (f"did not finish within {timeout:g} s (an infinite loop?): your answer cells and "
                          "the checker's calls must finish in that time")
        finally:
            if proc.poll() is None:  # pragma: no cover - an exception while waiting
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0 or not os.path.exists(result_path):
            return None, _crash_text(proc.returncode, stderr)
        with open(result_path, encoding="utf-8") as handle:
            return json.load(handle), None


def _replayer(planned, records):
    """A :func:`exercises.judge` caller that hands back the child's records for the planned calls."""
    def replay(k, given, scalars):
        arrays, planned_scalars = planned[k]
        if scalars != planned_scalars or not all(np.array_equal(a, g) for a, g in zip(arrays, given)):
            raise RuntimeError(f"grader: call {k} differs from the planned one")  # a bug, not the student's
        record = records[k]
        for g, after in zip(given, record["after"]):
            after = codec.decode(after)
            if isinstance(after, np.ndarray) and after.shape == g.shape:
                g[...] = after  # what the student's function did to its inputs
        return {**record, "out": codec.decode(record["out"])}
    return replay


def _points_and_feedback(spec: ExerciseSpec, verdict) -> tuple[float, str]:
    if verdict.status == "passed":
        return spec.points, f"PASSED: {verdict.message}"
    if verdict.status == "rule":
        points = spec.points * RULE_SHARE
        return points, f"{verdict.message} (right values, a rule broken: {points:g} of {spec.points:g} points)"
    if verdict.status == "not_done":
        return 0.0, f"not done: {verdict.message}"
    return 0.0, verdict.message


def _syntax_problem(cells) -> str | None:
    for k, source in enumerate(cells, start=1):
        try:
            compile(strip_magics(source), f"<answer cell {k}>", "exec")
        except SyntaxError as exc:
            return (f"your answer cell has a syntax error (line {exc.lineno}: {exc.msg}); "
                    "fix it so that the cell runs")
    return None


def _prepare(nb, specs, seed):
    """Per exercise: (answer cells, planned calls, feedback if it cannot run)."""
    prepared = []
    for spec in specs:
        cells = answer_cells(nb, spec)
        problem = _syntax_problem(cells) if cells else \
            f"no answer cell: no cell with grade_id {spec.exercise!r} or defining {spec.function}()"
        calls = [] if problem else exercises.planned_calls(spec.checker, seed)
        prepared.append((cells, calls, problem))
    return prepared


def _missing_feedback(result, missing) -> str:
    problems = result.get("cell_problems", [])
    extra = f"; {problems[0]}" if problems else ""
    return (f"{missing}{extra} (answer cells run on their own, after import numpy as np, pandas as pd "
            "and helpers)")


def grade_notebook(student: str, path, specs, *, run_seed: int, timeout: float = 30.0) -> list[Row]:
    """Grade one student's notebook for the exercises ``specs`` (all of one notebook); one Row each."""
    name = specs[0].notebook

    def rows(feedback_of):
        return [Row(student, name, s.exercise, *feedback_of(s)) for s in specs]

    path = Path(path)
    if not path.is_file():
        return rows(lambda s: (0.0, s.points, f"not handed in: no {name} in {student}/"))
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook: the file is the student's problem
        return rows(lambda s: (0.0, s.points, f"cannot read {name} as a notebook ({type(exc).__name__}: {exc})"))
    seed = student_seed(run_seed, student, name)
    prepared = _prepare(nb, specs, seed)
    runnable = [(s, p) for s, p in zip(specs, prepared) if p[2] is None]
    result, why = (None, None)
    if runnable:
        cells = [c for _, (cs, _, _) in runnable for c in cs]
        jobs = [{"function": s.function, "checker": s.checker,
                 "calls": [{"arrays": [codec.encode(a) for a in arrays], "scalars": [codec.encode(x) for x in sc]}
                           for arrays, sc in calls]} for s, (_, calls, _) in runnable]
        result, why = run_answers(cells, jobs, timeout)
    out, k = [], 0
    for spec, (cells, calls, problem) in zip(specs, prepared):
        if problem is None and why is None:
            problem, verdict = _judge_one(spec, cells, calls, result, k, seed)
            k += 1
        points, feedback = (0.0, problem or why) if (problem or why) else _points_and_feedback(spec, verdict)
        out.append(Row(student, name, spec.exercise, points, spec.points, feedback))
    return out


def _judge_one(spec, cells, calls, result, k, seed):
    """``(problem, verdict)`` for exercise ``k`` of a child's ``result``."""
    entry = result["exercises"][k]
    if "missing" in entry:
        return _missing_feedback(result, entry["missing"]), None
    replay = _replayer(calls, entry["records"])
    verdict = exercises.judge(spec.checker, name=spec.function, seed=seed, source="\n".join(cells),
                              caller=replay)
    return None, verdict
