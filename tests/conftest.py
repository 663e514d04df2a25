"""Suite-wide set-up and the fixtures several test modules share.

One fresh workbook cache for the whole run: ``helpers.load_ratings`` keeps
parsed workbooks in a disk cache (``recsys_tutorial/cache.py``; by default
under ``~/.cache``). The suite points it at a temporary folder of
its own, through the environment so that the notebooks' kernels and every
subprocess share it: the ratings workbook is parsed once per run instead of
once per notebook, and nothing is written to the user's cache. A
``MOVIE_RECOMMENDER_CACHE`` already set (a folder, or ``off``) is left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from fakes import EX8, serving

_made = []


def pytest_configure(config):
    from recsys_tutorial.settings import CACHE_ENV

    if os.environ.get(CACHE_ENV):
        return
    folder = tempfile.mkdtemp(prefix="movie-recommender-test-cache-")
    os.environ[CACHE_ENV] = folder
    _made.append((CACHE_ENV, folder))


def pytest_collection_modifyitems(config, items):
    """Skip nbval's cells of the notebooks that quote numbers from the course's pre-trained X and Θ (notebook
    metadata ``recsys_tutorial.quotes_course_parameters``) when the data step trained its own instead (it found
    no Coursera files: GroupLens' download alone); ``recsys_tutorial.paths.parameters_origin`` says which."""
    import json

    from recsys_tutorial.paths import parameters_origin

    notebooks = {str(item.path) for item in items if item.path.suffix == ".ipynb"}
    quoting = {path for path in notebooks
               if json.loads(open(path, encoding="utf-8").read()).get("metadata", {})
               .get("recsys_tutorial", {}).get("quotes_course_parameters")}
    if not quoting or parameters_origin() != "trained":
        return
    skip = pytest.mark.skip(reason="the data step trained X and Theta itself (no Coursera files were found), "
                                   "and this notebook quotes numbers that hold for the course's parameters only")
    for item in items:
        if str(item.path) in quoting:
            item.add_marker(skip)


def pytest_unconfigure(config):
    for name, folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(name) == folder:
            del os.environ[name]


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1: ``(base URL, routes)``; put ``routes[path] = bytes`` to serve them."""
    routes: dict[str, bytes] = {}
    with serving(routes) as base:
        yield base, routes


@pytest.fixture
def dest(tmp_path):
    """A data folder to build into, holding keep.txt only (``fakes.assert_untouched`` checks it)."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "keep.txt").write_text("keep")
    return d


@pytest.fixture(scope="module")
def course():
    """The course's arrays and titles: ``(Y, R, X, Theta, titles)`` (skipped without ``shared/data``)."""
    import helpers as h

    if not EX8.is_dir():
        pytest.skip(f"course data not found at {EX8}")
    Y, R = h.load_ratings(EX8 / "ex8_movies.mat")
    X, Theta = h.load_parameters(EX8 / "ex8_movieParams.mat")
    titles = h.load_movie_titles(EX8 / "movie_ids.txt")
    return Y, R, X, Theta, titles


@pytest.fixture(scope="module")
def runs():
    """Notebook 06's explorer on fakes.small_ratings (module scope: its runs are kept between tests)."""
    from recsys_tutorial import interactive as ia
    from fakes import small_ratings

    Y, R = small_ratings()
    return ia.TrainingRuns(Y, R, {0: 5, 3: 1, 7: 4}, num_features=3, validation=0.2)


@pytest.fixture(scope="module")
def base_model():
    """``(Y, R, model)``: a course model of fakes.small_ratings(4) for notebook 07's widget."""
    import helpers as h
    from fakes import WIDGET_TITLES as TITLES, small_ratings

    Y, R = small_ratings(4)
    _, base = h.recommend({}, Y, R, TITLES, num_features=3, num_iters=20, return_model=True)
    return Y, R, base
