"""Every environment variable the tutorial reads, parsed here and nowhere else.

===========================  ====================================  =================================================
variable                     accepted values                       effect
===========================  ====================================  =================================================
``MOVIELENS_DATA``           an absolute folder path, or one       where the data lives (default: the repository's
                             starting with ``~`` or ``~user``      ``data/``); :mod:`recsys_tutorial.paths`
``MOVIE_RECOMMENDER_CACHE``  an absolute folder path, one          the folder in which the cache of parsed
                             starting with ``~`` or ``~user``,     workbooks keeps its own subfolder (default:
                             or ``off``                            ``$XDG_CACHE_HOME/movie-recommender``);
                                                                   :mod:`recsys_tutorial.cache`
``XDG_CACHE_HOME``           an absolute folder path               the user's cache folder (default
                                                                   ``$HOME/.cache``); as the XDG specification
                                                                   says, a relative path is ignored
``MOVIE_RECOMMENDER_NUMBA``  ``on`` or ``off`` (also ``1``/``0``,  whether the fast cost runs numba's compiled
                             ``true``/``false``, ``yes``/``no``)   kernel where numba is installed (default on);
                                                                   :mod:`recsys_tutorial.observed`
``NBGRADER_EXECUTION``       ``autograde`` or ``validate``, as     check cells raise instead of printing
                             nbgrader sets it while it grades      (:mod:`recsys_tutorial.exercises`)
``ML100K_URL``               an ``http://`` or ``https://``        where the data step downloads MovieLens 100K
                             address, without spaces, control      from (default: GroupLens); ``data/build_data.py``
                             characters or ``user:password@``      (a local zip: its ``--source``)
``ML100K_MD5``               32 hexadecimal digits, or ``none``    the MD5 the downloaded zip must have (default:
                                                                   GroupLens' zip's); ``none`` skips the check
===========================  ====================================  =================================================

Unset, or set to the empty string, means the default. Surrounding spaces are
ignored and words are read in any case (``'OFF '`` is ``off``). Anything else
raises :class:`SettingError`, which names the variable, what it holds and what
it accepts: a value of spaces only (``'   '`` is a mistake, not "unset"), a
relative path (it would name a different folder in each folder a notebook
runs in: it is refused, not resolved), ``~user`` for a user that does not
exist, a word or an address not listed. Each function reads the environment
when it is called, so a change made in a running kernel takes effect at once.

The default cache folder needs a home folder: when ``$HOME`` is unset and the
user has none, or ``$HOME`` is empty or a relative path, there is no default cache
(:func:`cache_folder` returns None, as for ``off``) rather than a cache in the
current folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["SettingError", "DATA_ENV", "CACHE_ENV", "NUMBA_ENV", "GRADING_ENV", "URL_ENV", "MD5_ENV", "data_folder",
           "cache_folder", "use_numba", "graded_run", "download_url", "download_md5"]

DATA_ENV = "MOVIELENS_DATA"
CACHE_ENV = "MOVIE_RECOMMENDER_CACHE"
NUMBA_ENV = "MOVIE_RECOMMENDER_NUMBA"
GRADING_ENV = "NBGRADER_EXECUTION"
URL_ENV = "ML100K_URL"
MD5_ENV = "ML100K_MD5"

_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}
_GRADING = {"autograde", "validate"}          # the two values nbgrader sets (its autograde and validate apps)
_URL_SCHEMES = {"http", "https"}      # a local zip is given with --source, which checks it is a regular file


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
    """An absolute path from ``value`` (``~`` and ``~user`` expanded), or SettingError naming ``name``."""
    try:
        path = Path(value).expanduser()
    except RuntimeError:   # pathlib: "Could not determine home directory" for an unknown ~user, or no home
        user = value[1:].split("/")[0] or "the current user"
        raise SettingError(f"{name}={value!r}: cannot expand '~' ({user} has no home folder here); "
                           "give an absolute path") from None
    if not path.is_absolute():
        raise SettingError(f"{name}={value!r} is a relative path, which would name a different folder in each "
                           f"folder a notebook runs in; give an absolute path, e.g. {name}={Path(value).absolute()}")
    return path


def data_folder() -> Path | None:
    """``$MOVIELENS_DATA`` as an absolute folder, or None when unset (the repository's ``data/``)."""
    value = _raw(DATA_ENV)
    return None if value is None else _folder(DATA_ENV, value)


def _user_cache_home() -> Path | None:
    """``$XDG_CACHE_HOME`` if absolute, else ``~/.cache``; None when there is no absolute home folder."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    if os.environ.get("HOME", "x").strip() == "":   # set but empty: Python would take '/' for it
        return None
    try:
        home = Path.home()
    except RuntimeError:   # no $HOME and no home folder in the user database
        return None
    return home / ".cache" if home.is_absolute() else None


def cache_folder() -> Path | None:
    """The folder ``$MOVIE_RECOMMENDER_CACHE`` names, ``$XDG_CACHE_HOME/movie-recommender`` or
    ``~/.cache/movie-recommender`` when it is unset; None when it is ``off`` (or there is no home folder)."""
    value = _raw(CACHE_ENV)
    if value is not None and value.lower() in (_OFF | {"none", "disable", "disabled"}) - {"off"}:
        raise SettingError(f"{CACHE_ENV}={value!r}: to turn the cache off, set it to off; else give an absolute "
                           "folder path")
    if value is not None:
        return None if value.lower() == "off" else _folder(CACHE_ENV, value)
    base = _user_cache_home()
    return None if base is None else base / "movie-recommender"


def use_numba() -> bool:
    """Whether ``$MOVIE_RECOMMENDER_NUMBA`` allows numba's compiled kernel (default: yes)."""
    value = _raw(NUMBA_ENV)
    if value is None or value.lower() in _ON:
        return True
    if value.lower() in _OFF:
        return False
    raise SettingError(f"{NUMBA_ENV}={value!r}: expected on or off (or 1/0, true/false, yes/no)")


def graded_run() -> bool:
    """True while nbgrader executes a notebook: it sets ``NBGRADER_EXECUTION`` to 'autograde' or 'validate'."""
    value = _raw(GRADING_ENV)
    if value is None:
        return False
    if value.lower() in _GRADING:
        return True
    raise SettingError(f"{GRADING_ENV}={value!r}: nbgrader sets it to 'autograde' or 'validate' while it grades; "
                       "unset it otherwise")


def download_url() -> str | None:
    """``$ML100K_URL``, the address the data step downloads ``ml-100k.zip`` from; None when unset."""
    value = _raw(URL_ENV)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        scheme, ok = parts.scheme.lower(), bool(parts.hostname)
    except ValueError:     # e.g. an unclosed [ in the host
        scheme, ok = "", False
    if scheme not in _URL_SCHEMES or not ok:
        raise SettingError(f"{URL_ENV}={value!r}: expected the http:// or https:// address of ml-100k.zip, e.g. "
                           "https://files.grouplens.org/datasets/movielens/ml-100k.zip (a local zip: --source)")
    if parts.username is not None or parts.password is not None:
        raise SettingError(f"{URL_ENV} holds a user name or password (user:password@host): the data step "
                           "downloads a public file and never sends credentials; give the address without them")
    bad = next((c for c in value if c.isspace() or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:   # a line break could add a header to the request; a space is no part of an address
        raise SettingError(f"{URL_ENV}={value!r}: an address holds no spaces, line breaks or control characters "
                           f"(found {bad!r}); encode a space in a path as %20")
    return value


def download_md5(default: str | None) -> str | None:
    """``$ML100K_MD5`` in lower case, None for ``none`` (no check), or ``default`` when it is unset."""
    value = _raw(MD5_ENV)
    if value is None:
        return default
    if value.lower() == "none":
        return None
    if len(value) != 32 or any(c not in "0123456789abcdef" for c in value.lower()):
        raise SettingError(f"{MD5_ENV}={value!r}: expected the zip's MD5 as 32 hexadecimal digits, or none to skip "
                           "the check")
    return value.lower()
