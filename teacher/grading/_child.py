"""The process that runs one student's answer cells (``python -m teacher.grading._child RESULT.json``).

It reads a job from standard input, as JSON: ``cells`` (the answer cells'
code) and ``exercises`` (``function``, ``checker``, ``calls``: each call's
``arrays`` and ``scalars``, encoded by :mod:`grading.codec`). It runs a
fixed prelude (``numpy as np``, ``pandas as pd``, ``helpers``: what the
notebooks import; the last two load on first use, so most answers never pay
for them), then the cells, then each planned call through
:func:`exercises.record_call`, and writes the records to RESULT.json.

Nothing here judges anything: the grader compares the records with its own
answers in its own process. The limits (memory, CPU time) are set before any
student code runs; the grader kills the whole process group at its time limit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import sys

PRELUDE = "import numpy as np\nfrom teacher.grading._child import lazy_import\npd = lazy_import('pandas')\n" \
          "helpers = lazy_import('helpers')\n"
MEMORY_LIMIT = 4 * 2 ** 30          # bytes of address space
_MAGIC = re.compile(r"^(\s*)[%!].*$", flags=re.MULTILINE)


def strip_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines become ``pass`` (same indentation): plain Python remains."""
    return _MAGIC.sub(r"\1pass", source)


def lazy_import(name: str):
    """Module ``name``, executed on its first attribute access (importlib's LazyLoader recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _limit_resources(cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows; the grader's time limit still applies
        return
    for limit, value in ((resource.RLIMIT_AS, MEMORY_LIMIT), (resource.RLIMIT_CPU, cpu_seconds)):
        soft, hard = resource.getrlimit(limit)
        if hard == resource.RLIM_INFINITY or hard > value:
            resource.setrlimit(limit, (value, hard))


def _run_cells(cells, namespace) -> list[str]:
    """Run each cell in ``namespace``; returns 'answer cell 1 raised NameError: ...' for those that failed."""
    problems = []
    for k, source in enumerate(cells, start=1):
        try:
            code = compile(strip_magics(source), f"<answer cell {k}>", "exec")
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(code, namespace)  # noqa: S102 - running the student's answer is the point
        except (Exception, SystemExit) as exc:
            problems.append(f"answer cell {k} raised {type(exc).__name__}: {exc}")
    return problems


def _run_calls(exercise, namespace, references, codec, exercises) -> dict:
    """The records of the planned calls of one exercise (or why there are none)."""
    fn = namespace.get(exercise["function"])
    if not callable(fn):
        return {"missing": f"{exercise['function']} is not defined" if fn is None else
                f"{exercise['function']} is a {type(fn).__name__}, not a function"}
    records = []
    for call in exercise["calls"]:
        arrays = [codec.decode(a) for a in call["arrays"]]
        scalars = tuple(codec.decode(s) for s in call["scalars"])
        record = exercises.record_call(fn, (*arrays, *scalars), references)
        record["out"] = codec.encode(record["out"])
        record["after"] = [codec.encode(a) for a in arrays]
        records.append(record)
    return {"records": records}


def main(argv=None) -> int:
    """Run the job on standard input; write the records to the file named by the one argument."""
    argv = sys.argv[1:] if argv is None else argv
    result_path = argv[0]
    job = json.loads(sys.stdin.read())
    _limit_resources(int(job.get("cpu_seconds", 120)))
    from recsys_tutorial import exercises
    from teacher.grading import codec

    # Before any student code runs: the tutorial's solutions as they are, not as a cell may patch them.
    references = [exercises.reference_codes(exercises.EXERCISES[ex["checker"]].forbidden) for ex in job["exercises"]]
    namespace = {"__name__": "__main__"}
    exec(PRELUDE, namespace)  # noqa: S102
    problems = _run_cells(job["cells"], namespace)
    results = [_run_calls(ex, namespace, refs, codec, exercises) for ex, refs in zip(job["exercises"], references)]
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"cell_problems": problems, "exercises": results}, handle)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
