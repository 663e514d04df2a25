"""The notebooks' setup, in one line::

    from recsys_tutorial.notebook import np, pd, plt, helpers, DATA

Importing this module imports NumPy, pandas and pyplot, turns on the inline
backend (what ``%matplotlib inline`` does) and applies the tutorial's figure
style (:func:`recsys_tutorial.style.apply`). Every other name a notebook asks
for is loaded only then, so a notebook pays only for what it uses:

``helpers``       the tested core (``helpers.py``)
``DATA``          the data folder (:func:`recsys_tutorial.paths.data_dir`): it
                  says how to build the data when it is missing
``exercises``, ``interactive``, ``plots``, ``research``, ``style``, ``paths``
                  the modules of this package
"""

from __future__ import annotations

import importlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import style

__all__ = ["np", "pd", "plt", "helpers", "DATA", "exercises", "interactive", "plots", "research", "style", "paths"]

_MODULES = {"helpers": "helpers", "exercises": "recsys_tutorial.exercises",
            "interactive": "recsys_tutorial.interactive", "plots": "recsys_tutorial.plots",
            "research": "recsys_tutorial.research", "paths": "recsys_tutorial.paths"}


def _inline_backend() -> None:
    """``%matplotlib inline`` when running in a kernel (it must come before the style's figure format)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")


_inline_backend()
style.apply()


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name == "DATA":
        from .paths import data_dir

        return data_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
