"""Where the tutorial's data lives: one answer for every notebook, script and test.

The built data (``make data``, i.e. ``data/build_data.py``) sits in the
repository's ``data/`` folder. The environment variable ``MOVIELENS_DATA``
overrides that with any folder that holds the same files, e.g. a shared copy
on a JupyterHub::

    export MOVIELENS_DATA=/srv/course/movielens

It must be an absolute path (or start with ``~``); anything else raises
:class:`~recsys_tutorial.settings.SettingError`, naming the variable
(:mod:`recsys_tutorial.settings` documents what each variable accepts).

The project is installed in editable mode (``make`` runs ``pip install -e .``),
so ``from recsys_tutorial import paths`` works from any folder: ``notebooks/``, ``student/``,
nbgrader's ``autograded/<student>/<assignment>/`` or a hub home directory.
A missing file raises :class:`DataNotBuiltError`, which says how to build it.

The data step also records where each file came from (:data:`SOURCES`): the
ratings are the same on every path, but ``movie_params.xlsx`` holds the course's
pre-trained X and Θ only when the Coursera files were found; otherwise the data
step trained its own, and the course's numbers that depend on them (notebook 03's
checkpoints 22.22 and 31.34) do not apply (:func:`parameters_origin`).
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import existing_file
from .settings import DATA_ENV, data_folder

__all__ = ["DATA_ENV", "BUILT_FILES", "SOURCES", "DataNotBuiltError", "repository_root", "data_dir", "data_file",
           "parameters_origin", "parameters_note"]

#: Files every complete build holds (``make data`` writes these and more).
BUILT_FILES = ("ex8_movies.xlsx", "movie_params.xlsx", "movie_ids.txt", "u.data", "u.item", "u.genre")
#: The data step's record of where each file came from, beside them (JSON; ``data/build_data.py``).
SOURCES = "sources.json"


class DataNotBuiltError(FileNotFoundError):
    """A data file is missing: the message says which, where it was looked for, and how to build it."""


def repository_root() -> Path:
    """The repository: the folder that holds ``helpers.py``, this package and ``data/build_data.py``."""
    return Path(__file__).resolve().parents[1]


def _how_to_build(folder: Path) -> str:
    root = repository_root()
    step = f"`python data/build_data.py --dest {folder}` in {root}"
    if _is_file(root / "Makefile"):            # a checkout; a hand-out has the data step but no Makefile
        step = f"`make data` in {root} (or {step})"
    return f"Build the data with {step}, or set {DATA_ENV} to a folder that already holds it."


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; False when it cannot be looked at (a name too long, no permission)."""
    try:
        return path.is_file()
    except OSError:
        return False


def data_dir(*, check: bool = True) -> Path:
    """The data folder: ``$MOVIELENS_DATA`` if set, else ``<repository>/data``.

    Parameters
    ----------
    check : bool, default=True
        Require a complete build (every name in :data:`BUILT_FILES`); the data
        step itself passes ``False``.

    Raises
    ------
    DataNotBuiltError
        If ``check`` and files are missing: names them and says how to build them.
    """
    override = data_folder()
    folder = override or repository_root() / "data"
    if check:
        missing = [name for name in BUILT_FILES if not _is_file(folder / name)]
        if missing:
            where = f"{DATA_ENV}={override}" if override else "the repository's data/ folder"
            raise DataNotBuiltError(f"the data is not built: {', '.join(missing)} not found in {folder} "
                                    f"({where}{_folder_problem(folder)}). {_how_to_build(folder)}")
    return folder


def _folder_problem(folder: Path) -> str:
    """What is wrong with ``folder`` itself, if anything: '' when it is a folder."""
    try:
        if folder.is_dir():
            return ""
        return ", which is not a folder" if folder.exists() else ", which does not exist"
    except OSError as exc:
        return f", which cannot be looked at: {exc.strerror}"


def data_file(name: str) -> Path:
    """The path of one data file, e.g. ``data_file("u1.base")``.

    Raises
    ------
    DataNotBuiltError
        If the file is not there: says where it was looked for and how to build it.
    TypeError, ValueError
        If ``name`` is not a plain file name (a path such as ``'../x'`` is refused).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name (str), e.g. 'u.data'; got {name!r} ({type(name).__name__})")
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"name must be the name of a file in the data folder, e.g. 'u.data'; got {name!r}")
    folder = data_dir(check=False)
    path = folder / name
    if not _is_file(path):
        raise DataNotBuiltError(f"data file {name!r} not found in {folder}. {_how_to_build(folder)}")
    return path


def parameters_origin(folder=None) -> str:
    """Where ``movie_params.xlsx``'s X and Θ came from, as the data step recorded it (:data:`SOURCES`)
    in ``folder`` (default: :func:`data_dir`).

    ``'course'``: the course's pre-trained parameters (``ex8_movieParams.mat``), so the course's
    numbers are reproduced. ``'trained'``: the data step found no Coursera files (only MovieLens,
    e.g. GroupLens' download) and trained its own (``data/README.md``), so the numbers that depend
    on the course's X and Θ come out differently. ``'unknown'``: no readable record (data copied by
    hand, or built before the record existed: ``make data`` writes it). Only a hint for the
    notebooks' text: an unreadable record is never an error.
    """
    try:
        path = existing_file(Path(folder or data_dir(check=False)) / SOURCES, "the data step's record", max_bytes=2**16)
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):               # missing, not a file, too large, not UTF-8 or JSON
        return "unknown"
    origin = record.get("parameters") if isinstance(record, dict) else None
    return origin if origin in ("course", "trained") else "unknown"


def parameters_note() -> str:
    """One sentence for a notebook that quotes the course's numbers: whose X and Θ it loads."""
    return {
        "course": "X and Theta are the course's pre-trained parameters: the course's numbers are reproduced.",
        "trained": "X and Theta were trained by the data step, which found no Coursera files: the numbers that "
                   "depend on them (the course's checkpoints among them) differ from those this notebook quotes. "
                   "Your code is not at fault; data/README.md explains.",
        "unknown": "Where X and Theta came from is not recorded (`make data` records it): the numbers this notebook "
                   "quotes hold for the course's pre-trained parameters.",
    }[parameters_origin()]
