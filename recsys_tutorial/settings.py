"""Every environment variable the tutorial reads, parsed here and nowhere else.

=========================  ===================================  ==============================================
variable                   accepted values                      effect
=========================  ===================================  ==============================================
``MOVIELENS_DATA``         an absolute folder path, or one      where the data lives (default: the repository's
                           starting with ``~``                  ``data/``); :mod:`recsys_tutorial.paths`
``MOVIE_RECOMMENDER_CACHE``  an absolute folder path, one        where parsed workbooks are kept (default:
                           starting with ``~``, or ``off``      ``$XDG_CACHE_HOME/movie-recommender``);
                                                                :mod:`recsys_tutorial.cache`
``XDG_CACHE_HOME``         an absolute folder path              the user's cache folder (default ``~/.cache``;
                                                                a relative path is ignored, as the XDG
                                                                specification says)
``MOVIE_RECOMMENDER_NUMBA``  ``on`` or ``off`` (also ``1``/``0``,   whether the fast cost runs numba's compiled
                           ``true``/``false``, ``yes``/``no``)  kernel where numba is installed (default on);
                                                                :mod:`recsys_tutorial.observed`
``NBGRADER_EXECUTION``     set by nbgrader while it grades      check cells raise instead of printing
=========================  ===================================  ==============================================

Unset, or set to the empty string, means the default. Surrounding spaces are
ignored and words are read in any case (``'OFF '`` is ``off``). Anything else
(a blank value, a relative path, which would mean a different folder in each
notebook's working folder, ``~user`` for a user that does not exist, a word
not listed) raises :class:`SettingError`, which names the variable, what it
holds and what it accepts. Each function reads the environment when it is
called, so a change made in a running kernel takes effect at once.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SettingError", "DATA_ENV", "CACHE_ENV", "NUMBA_ENV", "data_folder", "cache_folder", "use_numba",
           "graded_run"]

DATA_ENV = "MOVIELENS_DATA"
CACHE_ENV = "MOVIE_RECOMMENDER_CACHE"
NUMBA_ENV = "MOVIE_RECOMMENDER_NUMBA"

_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}


class SettingError(ValueError):
    """An environment variable holds a value the tutorial does not accept: the message names it."""


def _raw(name: str) -> str | None:
    """The variable's value with surrounding spaces removed; None when unset or empty."""
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if not value.strip():
        raise SettingError(f"{name} is set to {value!r}, only spaces: unset it, or give a value")
    return value.strip()


def _folder(name: str, value: str) -> Path:
    """An absolute path from ``value`` (``~`` expanded), or SettingError naming ``name``."""
    try:
        path = Path(value).expanduser()
    except RuntimeError as exc:   # pathlib: "Could not determine home directory" for an unknown ~user
        raise SettingError(f"{name}={value!r}: cannot expand '~' ({exc}); give an absolute path") from None
    if not path.is_absolute():
        raise SettingError(f"{name}={value!r} is a relative path, which would name a different folder in each "
                           f"folder a notebook runs in; give an absolute path, e.g. {name}={Path(value).absolute()}")
    return path


def data_folder() -> Path | None:
    """``$MOVIELENS_DATA`` as an absolute folder, or None when unset (the repository's ``data/``)."""
    value = _raw(DATA_ENV)
    return None if value is None else _folder(DATA_ENV, value)


def cache_folder() -> Path | None:
    """The folder ``$MOVIE_RECOMMENDER_CACHE`` names, ``$XDG_CACHE_HOME/movie-recommender`` or
    ``~/.cache/movie-recommender`` when it is unset; None when it is ``off``."""
    value = _raw(CACHE_ENV)
    if value is not None:
        return None if value.lower() == "off" else _folder(CACHE_ENV, value)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "movie-recommender"


def use_numba() -> bool:
    """Whether ``$MOVIE_RECOMMENDER_NUMBA`` allows numba's compiled kernel (default: yes)."""
    value = _raw(NUMBA_ENV)
    if value is None or value.lower() in _ON:
        return True
    if value.lower() in _OFF:
        return False
    raise SettingError(f"{NUMBA_ENV}={value!r}: expected on or off (or 1/0, true/false, yes/no)")


def graded_run() -> bool:
    """True while nbgrader executes a notebook (it sets ``NBGRADER_EXECUTION``, to 'autograde' or 'validate')."""
    return bool(os.environ.get("NBGRADER_EXECUTION", "").strip())
