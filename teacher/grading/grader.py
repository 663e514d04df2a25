"""Grading one student's notebook: run it in the sandbox, read back what it reports, judge it outside.

For each (student, notebook) the grader

1. reads the hand-in defensively and puts it back together as nbgrader does
   (:func:`teacher.grading.notebooks.run_plan`: the student's cells, the
   teacher's check and locked cells);
2. asks :func:`teacher.exercises.planned_calls` for the calls each check
   makes, on problems seeded per run, per student and per notebook (a
   hard-coded answer fails; they are not the notebook's problems either);
3. runs the whole notebook and those calls in the sandbox
   (:class:`teacher.grading.workspace.Workspace`), which holds neither the
   answers nor the checkers;
4. reads the runner's report (:func:`parse_report`): one JSON line per check,
   in a strict format and a limited size; anything else makes the whole
   hand-in score 0 with feedback saying so;
5. judges each check in its own process (a fork of a fork server, with a time
   limit: reading a hand-in's code never holds the grader's GIL, so its
   sandboxes' watchdogs keep running) with :func:`teacher.exercises.judge`
   (the same judge, and so the same messages, as the notebook's check cell),
   and applies the no-loops rule to every function of the student's own cells
   that the checked function runs (:func:`teacher.grading.notebooks.student_code_ran`),
   and to code it ran from a string or a file written at run time
   (:func:`teacher.grading.notebooks.written_code`).

Points: the check cell's ``points`` when the judge passes; half of them when
the values are right but a rule of the exercise is broken (a loop where the
text says no loops, a warning where none is allowed); 0 otherwise, with
feedback saying why (the mistake, not written, a time-out, a crash...). One
hand-in's trouble costs that hand-in only.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import zlib
from dataclasses import dataclass

import numpy as np

from teacher import exercises
from teacher.grading import runner
from teacher.grading.notebooks import Cell, HandInError, read_hand_in, run_plan, student_code_ran, written_code
from teacher.grading.sandbox import STOPPED

__all__ = ["Row", "RULE_SHARE", "STARVED_SHARE", "NEW_PROBLEMS", "student_seed", "grade_notebook", "parse_report",
           "ReportError", "loop_rule", "starved"]

RULE_SHARE = 0.5   # of the points, for right values with a rule of the exercise broken
#: Seconds the judge of one check may take, in its own process (it takes milliseconds; reading 2 MB of code, ~2 s).
JUDGE_SECONDS = 60.0
#: A run stopped at its wall time with less CPU time than this share of it was starved (see :func:`starved`).
STARVED_SHARE = 0.5
#: Ends the feedback of every exercise that did not pass (issue 20, item 3).
NEW_PROBLEMS = ("(the grader checks on new test problems, not the notebook's: its numbers differ from those "
                "your check cell printed)")
_NO_LOOPS = "the exercise asks for matrix operations only, no Python loops (whole-array NumPy expressions)"


@dataclass(frozen=True)
class Row:
    """One line of grades.csv."""

    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    feedback: str


class ReportError(ValueError):
    """What the sandbox sent back is not a report the runner writes: the whole hand-in scores 0."""


def student_seed(run_seed: int, student: str, notebook: str) -> int:
    """The seed of one student's problems in one notebook: new per run, different per student."""
    words = [run_seed & 0xFFFFFFFF, zlib.crc32(student.encode("utf-8", "replace")), zlib.crc32(notebook.encode())]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


# ---------------------------------------------------------------- the report


def _is_text(x, limit=runner.MAX_TEXT + 200) -> bool:
    return isinstance(x, str) and len(x) <= limit


def _check_report(entry: dict, n_cells: int) -> None:
    """:class:`ReportError` unless ``entry`` is a check report as the runner writes it."""
    allowed = {"check", "errors", "missing", "defined", "records", "ran", "foreign"}
    if set(entry) - allowed or not isinstance(entry.get("errors", []), list) or len(entry.get("errors", [])) > 3:
        raise ReportError("a check report with unknown fields")
    for error in entry.get("errors", []):
        if not (isinstance(error, list) and len(error) == 2 and isinstance(error[0], int) and _is_text(error[1])):
            raise ReportError("a malformed cell error")
    if "missing" in entry:
        if not _is_text(entry["missing"]) or {"records", "ran", "defined", "foreign"} & set(entry):
            raise ReportError("a malformed missing-function report")
        return
    ran = entry.get("ran")
    if not isinstance(entry.get("records"), list) or not isinstance(ran, list) or len(ran) > 200:
        raise ReportError("a check report without records")
    for item in ran:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], int) and isinstance(item[1], int)
                and _is_text(item[2], 200) and 0 <= item[0] < n_cells):
            raise ReportError("a malformed list of the functions that ran")
    foreign = entry.get("foreign", [])
    if not isinstance(foreign, list) or len(foreign) > 20 or not all(
            isinstance(f, list) and len(f) == 3 and _is_text(f[0], 200) and isinstance(f[1], int)
            and _is_text(f[2], 200) for f in foreign):
        raise ReportError("a malformed list of the code that ran from files")


def parse_report(data: bytes, n_checks: int, n_cells: int, *, finished: bool) -> tuple[dict, dict | None]:
    """``({check number: report}, final report or None)`` from the runner's output.

    A last line cut short is ignored when the run was stopped (``finished``
    False); everything else must be exactly what the runner writes: one JSON
    object per line, each check reported at most once, ``done`` last.

    Raises
    ------
    ReportError
        On anything else.
    """
    lines = data.split(b"\n")
    if lines[-1] and finished:
        raise ReportError("the report ends in the middle of a line")
    checks, done = {}, None
    for line in lines[:-1]:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            raise ReportError("a line of the report is not JSON") from None
        if not isinstance(entry, dict) or done is not None:
            raise ReportError("a report line after the final one, or not an object")
        if "done" in entry:
            if entry.get("done") is not True or set(entry) - {"done", "errors"}:
                raise ReportError("a malformed final report")
            done = entry
            continue
        number = entry.get("check")
        if not isinstance(number, int) or not 0 <= number < n_checks or number in checks:
            raise ReportError("a check reported twice, or one that was not asked for")
        _check_report(entry, n_cells)
        checks[number] = entry
    return checks, done


def _valid_records(records, calls) -> bool:
    if len(records) != len(calls):
        return False
    for record, (arrays, _) in zip(records, calls):
        if not (isinstance(record, dict) and set(record) == {"ok", "out", "error", "warnings", "after"}
                and isinstance(record["ok"], bool) and (record["error"] is None or _is_text(record["error"]))
                and isinstance(record["warnings"], list) and len(record["warnings"]) <= 20
                and all(isinstance(w, list) and len(w) == 2 and all(_is_text(x) for x in w)
                        for w in record["warnings"])
                and isinstance(record["after"], list) and len(record["after"]) == len(arrays)):
            return False
    return True


def _replayer(calls, records):
    """A :func:`teacher.exercises.judge` caller that hands back the sandbox's records for the planned calls."""
    def replay(k, given, scalars):
        arrays, planned = calls[k]
        if scalars != planned or not all(np.array_equal(a, g) for a, g in zip(arrays, given)):
            raise RuntimeError(f"grader: call {k} differs from the planned one")  # a bug, not the student's
        record = records[k]
        for g, after in zip(given, record["after"]):
            after = runner.decode(after)
            if isinstance(after, np.ndarray) and after.shape == g.shape and after.dtype.kind in "biuf":
                g[...] = after  # what the student's function did to its inputs
        return {"ok": record["ok"], "out": runner.decode(record["out"]), "error": record["error"],
                "warnings": [tuple(w) for w in record["warnings"]], "references": []}
    return replay


# ---------------------------------------------------------------- judging


def loop_rule(checker: str, function: str, helpers, unreadable=()) -> str:
    """'' or why the student's helper functions that ``function`` runs break the exercise's no-loops rule.

    ``unreadable``: code it ran that the grader cannot read (from a string, or a file written at run time,
    :func:`teacher.grading.notebooks.written_code`): it counts as a loop."""
    if not exercises.EXERCISES[checker].no_loops:
        return ""
    if unreadable:
        return (f"the values are right, but {function} runs {unreadable[0]}: code the grader cannot read counts "
                f"as a loop; {_NO_LOOPS}")
    for name, label, source in helpers:
        try:
            loops = exercises.loops_in(source, name)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if loops:
            return (f"the values are right, but {function} calls {name} ({label}), which uses {', '.join(loops)}; "
                    f"{_NO_LOOPS}")
    return ""


def _feedback(spec, verdict, helper_rule: str) -> tuple[float, str]:
    """Points, and the check cell's own line (the same words as in the notebook) plus what the grader adds."""
    if verdict.status == "passed" and helper_rule:
        verdict = exercises.Verdict("rule", verdict.name, helper_rule)
    if verdict.status == "passed":
        return spec.points, verdict.line
    if verdict.status == "rule":
        points = spec.points * RULE_SHARE
        return points, f"{verdict.line} (right values, a rule broken: {points:g} of {spec.points:g} points)"
    if verdict.status == "not_done":
        return 0.0, f"not done: {verdict.line}"
    return 0.0, f"{verdict.line} {NEW_PROBLEMS}"


def _missing(spec, report, labels) -> str:
    errors = "; ".join(f"{labels[k] if 0 <= k < len(labels) else 'a cell'} raised {text}"
                       for k, text in report.get("errors", [])[-1:])
    return (f"{report['missing']} when its check cell runs" + (f" ({errors})" if errors else "")
            + "; the notebook runs from the top, each cell in order, with the check cells as the teacher wrote them")


def starved(outcome) -> bool:
    """Whether a run was stopped at its wall-clock limit having had less than half of that time on a CPU:
    the machine was too busy for it (an honest 3-s notebook was stopped at 60 s under a load of 20)."""
    if not (outcome.stopped or "").startswith("wall time"):
        return False
    return outcome.cpu < STARVED_SHARE * outcome.wall


def _not_reached(spec, outcome, retried: bool = False) -> str:
    where = f"before the check of {spec.function} ran"
    if outcome.stopped == STOPPED:
        return "not graded: grading was stopped while this notebook ran"
    if outcome.stopped:
        if outcome.stopped.startswith("wall time"):
            limit = outcome.stopped.split(": ")[1]
            if starved(outcome):
                again = (" It was graded again, alone, after the rest of the class, and stopped again: ask your "
                         "teacher to grade it on a less busy machine" if retried else "")
                return (f"the notebook did not finish within its time limit ({limit} of wall-clock time) {where}, "
                        f"having had only {outcome.cpu:.1f} s of CPU time in it: the grading machine was too busy, "
                        f"not necessarily your code.{again}")
            return (f"the notebook did not finish within its time limit ({limit} of wall-clock time, "
                    f"{outcome.cpu:.0f} s of CPU time used) {where}: an infinite loop, or a cell that takes too long?")
        return f"the notebook was stopped at a limit of the grading sandbox ({outcome.stopped}) {where}"
    code = outcome.returncode
    signalled = -code if code is not None and code < 0 else code - 128 if code is not None and code > 128 else None
    if signalled:       # (bubblewrap reports a command killed by signal N as exit code 128 + N)
        try:
            how = f"killed by {signal.Signals(signalled).name}"
        except ValueError:
            how = f"killed by signal {signalled}"
    else:
        how = f"exit code {code}"
    return f"the notebook's Python process ended ({how}) {where}"


def _judge_here(spec, calls, report, plan, check_index, seed) -> tuple[float, str]:
    records = report["records"]
    if not _valid_records(records, calls):
        return 0.0, "the sandbox's report for this check is malformed (a hand-in that writes to the grader's channel?)"
    main, helpers = student_code_ran(plan, check_index, spec.function, report.get("ran", ()), report.get("defined"))
    readable, unreadable = written_code(plan, check_index, report.get("foreign", ()))
    verdict = exercises.judge(spec.checker, name=spec.function, seed=seed, source=main,
                              caller=_replayer(calls, records))
    return _feedback(spec, verdict, loop_rule(spec.checker, spec.function, helpers + readable, unreadable))


def _judge_child(conn, args) -> None:
    """In the judge's own process: judge, and send ``(points, feedback)`` or the grader's own error back."""
    try:
        conn.send(("ok", _judge_here(*args)))
    except BaseException as exc:     # a grader bug: reported by the parent, costs this check only
        conn.send(("error", f"{type(exc).__name__}: {str(exc)[:200]}"))
    finally:
        conn.close()


def _context():
    """The judges' process context: a fork server that has imported the judge once (cheap forks after that,
    and never a fork of the grader's threads)."""
    global _CONTEXT
    if _CONTEXT is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["teacher.grading.grader", "recsys_tutorial.interactive"])
        _CONTEXT = context
    return _CONTEXT


_CONTEXT = None


def _judge(spec, calls, report, plan, check_index, seed) -> tuple[float, str]:
    """Judge one check in a process of its own, within :data:`JUDGE_SECONDS`: the judge reads the student's
    code (its syntax tree, the no-loops rule), and no hand-in may hold the grader's GIL (and so its
    sandboxes' watchdogs) or its time with it."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_judge_child, args=(send, (spec, calls, report, plan, check_index, seed)),
                            daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(JUDGE_SECONDS):
            kind, value = receive.recv()
        else:
            kind, value = "late", None
    except (EOFError, OSError):
        kind, value = "error", "the judge's process ended without an answer"
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "ok":
        return value
    if kind == "late":
        return 0.0, (f"the grader could not judge this answer within {JUDGE_SECONDS:g} s (reading the notebook's "
                     "code took too long: is it very large?)")
    return 0.0, f"not graded: the grader failed on this check ({value}); please report it"


def _job(plan, calls_of) -> dict:
    steps, check_number, cell_number = [], 0, 0
    for step in plan.steps:
        if isinstance(step, Cell):
            steps.append({"cell": cell_number, "source": step.source})
            cell_number += 1
        else:
            calls = calls_of[check_number]
            steps.append({"check": check_number, "function": step.function,
                          "calls": [{"arrays": [runner.encode(a) for a in arrays],
                                     "scalars": [runner.encode(x) for x in scalars]} for arrays, scalars in calls]})
            check_number += 1
    return {"steps": steps}


def grade_notebook(student: str, path, teacher, workspace, *, run_seed: int, slot: int = 0, retried: bool = False,
                   notes: dict | None = None) -> list[Row]:
    """Grade one student's hand-in of ``teacher`` (a TeacherNotebook) at ``path``: one Row per exercise.

    ``notes`` (a dict), if given, gets ``starved=True`` when the run was stopped at its wall time while
    starved of CPU (:func:`starved`) before a check ran: the caller may grade it again alone; ``retried`` says this is that
    second run (the feedback then says so)."""
    def all_rows(feedback):
        return [Row(student, teacher.name, s.exercise, 0.0, s.points, feedback) for s in teacher.specs]

    try:
        plan = run_plan(teacher, read_hand_in(path))
    except HandInError as exc:
        text = str(exc)
        return all_rows(f"not handed in: no {teacher.name} in the student's folder" if text == "not handed in"
                        else text)
    seed = student_seed(run_seed, student, teacher.name)
    checks = [(k, step) for k, step in enumerate(plan.steps) if not isinstance(step, Cell)]
    calls_of = [exercises.planned_calls(spec.checker, seed) for _, spec in checks]
    outcome = workspace.run(teacher.name, _job(plan, calls_of), slot)
    finished = outcome.stopped is None and outcome.returncode == 0
    try:
        reports, _ = parse_report(outcome.result, len(checks), len(plan.cells), finished=finished)
    except ReportError as exc:
        return all_rows(f"the grader could not read what the notebook's run sent back ({exc}): "
                        "nothing of this notebook is graded")
    if notes is not None:   # worth a second run only if the stop cost a check
        notes["starved"] = starved(outcome) and len(reports) < len(checks)
    labels = [c.label for c in plan.cells]
    rows = {}
    for number, (index, spec) in enumerate(checks):
        report = reports.get(number)
        if report is None:
            points, feedback = 0.0, _not_reached(spec, outcome, retried)
        elif "missing" in report:
            points, feedback = 0.0, _missing(spec, report, labels)
        else:
            points, feedback = _judge(spec, calls_of[number], report, plan, index, seed)
        rows[spec.exercise] = Row(student, teacher.name, spec.exercise, points, spec.points, feedback)
    return [rows[s.exercise] for s in teacher.specs]
