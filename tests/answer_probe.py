"""Looks for a function that computes an exercise's answer among the modules of a hand-out (a script).

Run by ``tests/test_handout.py`` in the hand-out's folder, with the interpreter of a fresh virtual
environment in which the tutorial is not installed (so every import is the hand-out's own)::

    python answer_probe.py PROBLEMS.json MODULE [MODULE ...]

``PROBLEMS.json`` holds fresh test problems drawn by the teacher's generators, each with its
exercise's name, arguments and right answer (``teacher.exercises.encode``). For every function a
module defines, every method of every class it defines, and every way of calling them with the
problem's arguments in order (each ordered subset, with the parameters left over filled with 1 or
0, and by keyword where the names match; a method's instance made by a constructor or class method
from some of the arguments, the rest passed to the method), the output is compared with the
answer, and with each part of it when the output is a tuple, list or dict; and with the problem's
*partial answers* (``partials``: what most of the answer is, such as the cost's masked error at the
rated entries), as a set of values in any order and shape, so that a function computing the heart of
an answer is found although it returns something else around it. Prints one JSON object:
``{"found": [[module, qualified name, exercise], ...], "functions": n, "calls": n}``.

Each call has a time limit of two seconds; whatever a call raises or prints is ignored.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import itertools
import json
import os
import signal
import sys
import warnings

import numpy as np


LIMIT_SECONDS = 2.0


def close(a, b) -> bool:
    if isinstance(b, tuple):
        return isinstance(a, (tuple, list)) and len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-10))


def holds(out, answer) -> bool:
    """Whether ``out`` is the answer, or holds it among its parts (a run of parts for a tuple answer)."""
    if close(out, answer):
        return True
    if isinstance(out, dict):
        return any(holds(v, answer) for v in out.values())
    if isinstance(out, (tuple, list)) and len(out) < 50:
        if isinstance(answer, tuple):
            k = len(answer)
            if any(close(tuple(out[i:i + k]), answer) for i in range(len(out) - k + 1)):
                return True
        return any(holds(v, answer) for v in out)
    return False


def same_values(out, partial) -> bool:
    """Whether ``out`` holds exactly the values of ``partial``, in any order and shape (at least 4 of them)."""
    try:
        a = np.sort(np.asarray(out, dtype=float).ravel())
    except (TypeError, ValueError):
        return False
    return a.size == partial.size >= 4 and bool(np.allclose(a, partial, rtol=1e-9, atol=1e-10))


def holds_partial(out, partials) -> bool:
    """Whether ``out`` (or a part of it) has the values of one of ``partials`` (sorted flat arrays)."""
    if any(same_values(out, p) for p in partials):
        return True
    if isinstance(out, (tuple, list)) and len(out) < 50:
        return any(holds_partial(v, partials) for v in out)
    return False


class _Late(Exception):
    pass


def _alarm(signum, frame):
    raise _Late()


def call(fn, args, kwargs=None):
    """``fn(*args, **kwargs)`` within the time limit, quietly; ``(True, output)`` or ``(False, None)``."""
    signal.setitimer(signal.ITIMER_REAL, LIMIT_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return True, fn(*args, **(kwargs or {}))
    except BaseException:  # noqa: BLE001 - anything a probed function raises means "not this way"
        return False, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _argument_lists(fn, names, values):
    """The argument lists to try: ordered subsets of ``values``, required parameters left over filled
    with 1 or 0; and the values whose ``names`` match the parameters, by keyword."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    for size in range(1, len(values) + 1):
        for subset in itertools.combinations(range(len(values)), size):
            args = [values[i] for i in subset]
            for extra in ([], [1], [0], [1, 1], [0, 0]):
                with contextlib.suppress(TypeError):
                    signature.bind(*args, *extra)
                    yield args + extra, {}
    by_name = {n: v for n, v in zip(names, values) if n in signature.parameters}
    if by_name:
        with contextlib.suppress(TypeError):
            signature.bind_partial(**by_name)
            yield [], by_name


def _defined(module):
    """``(qualified name, function, owner class or None)`` of what ``module`` itself defines."""
    for name, value in list(vars(module).items()):   # a call may add to it (a lazy import)
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            yield name, value, None
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for attr, member in list(vars(value).items()):
                if isinstance(member, (staticmethod, classmethod)):
                    yield f"{name}.{attr}", getattr(value, attr), None
                elif inspect.isfunction(member):
                    yield f"{name}.{attr}", member, value


def _instances(cls, names, values):
    """Objects of ``cls`` made from some of the arguments, with the indices of those left."""
    makers = [cls] + [getattr(cls, a) for a, m in vars(cls).items() if isinstance(m, classmethod)]
    for maker in makers:
        for args, _ in _argument_lists(maker, names, values):
            ok, obj = call(maker, args)
            if ok and isinstance(obj, cls):
                used = [i for i, v in enumerate(values) if any(v is a for a in args)]
                yield obj, [i for i in range(len(values)) if i not in used]


def probe(modules, problems):
    found, functions, calls = set(), 0, 0
    for module_name in modules:
        module = importlib.import_module(module_name)
        for qualname, fn, owner in _defined(module):
            functions += 1
            for problem in problems:
                names, values, answer = problem["names"], problem["values"], problem["answer"]
                if owner is None:
                    attempts = [(fn, args, kw) for args, kw in _argument_lists(fn, names, values)]
                else:
                    attempts = []
                    for obj, left in itertools.islice(_instances(owner, names, values), 20):
                        bound = getattr(obj, fn.__name__)
                        rest = ([names[i] for i in left], [values[i] for i in left])
                        attempts += [(bound, args, kw) for args, kw in _argument_lists(bound, *rest)]
                for target, args, kwargs in attempts:
                    calls += 1
                    ok, out = call(target, args, kwargs)
                    if ok and (holds(out, answer) or holds_partial(out, problem.get("partials", ()))):
                        found.add((module_name, qualname, problem["exercise"]))
                        break
    return {"found": sorted(found), "functions": functions, "calls": calls}


def main(argv) -> int:
    sys.path.insert(0, os.getcwd())   # the hand-out's folder: its modules, not this script's folder
    from recsys_tutorial.exercises import decode   # the case file's values, as the hand-out's checks read them
    signal.signal(signal.SIGALRM, _alarm)
    problems = json.loads(open(argv[0], encoding="utf-8").read())
    for p in problems:
        p["values"] = [decode(v) for v in p["values"]]
        p["answer"] = decode(p["answer"])
        p["partials"] = [np.sort(np.asarray(decode(v), dtype=float).ravel()) for v in p.get("partials", ())]
    print(json.dumps(probe(argv[1:], problems)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
