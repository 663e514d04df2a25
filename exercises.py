"""Self-checks for the classroom exercises in notebooks 03-07.

Each ``check_*`` function takes the learner's function, runs it on small
inputs whose answers are known (computed with the tested code in
:mod:`helpers`), prints one line that starts with ``PASSED`` or ``FAILED``
and says what is wrong, and returns ``True``/``False``. They never raise on a
wrong answer, so "Run All" carries on to the rest of the notebook.
"""

from __future__ import annotations

import traceback

import numpy as np

import helpers

__all__ = ["report"]


def report(ok: bool, what: str, why: str = "") -> bool:
    """Print a one-line PASSED/FAILED verdict and return ``ok``."""
    if ok:
        print(f"PASSED: {what}")
    else:
        print(f"FAILED: {what}: {why}")
    return bool(ok)


def _call(fn, *args, what: str):
    """Call the learner's function; turn an exception into a FAILED message."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, "not implemented yet (the stub still raises NotImplementedError)"
    except Exception as exc:  # a learner's bug: show it, don't stop the notebook
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return False, f"raised {last}"
