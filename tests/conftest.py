"""Suite-wide set-up: one fresh workbook cache for the whole run.

``helpers.load_ratings`` keeps parsed workbooks in a disk cache (``_cache.py``;
by default under ``~/.cache``). The suite points it at a temporary folder of
its own, through the environment so that the notebooks' kernels and every
subprocess share it: the ratings workbook is parsed once per run instead of
once per notebook, and nothing is written to the user's cache. A
``MOVIE_RECOMMENDER_CACHE`` already set (a folder, or ``off``) is left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_made = []


def pytest_configure(config):
    from recsys_tutorial.cache import ENV_VAR

    if os.environ.get(ENV_VAR):
        return
    folder = tempfile.mkdtemp(prefix="movie-recommender-test-cache-")
    os.environ[ENV_VAR] = folder
    _made.append((ENV_VAR, folder))


def pytest_unconfigure(config):
    for name, folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(name) == folder:
            del os.environ[name]
