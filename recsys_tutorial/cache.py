"""A disk cache for parsed workbooks: the ratings workbook is parsed once, then loaded in milliseconds.

Parsing ``ex8_movies.xlsx`` (two sheets of 1682 x 943 cells) takes about 5 s,
and notebooks 03, 05, 06 and 07 each start by loading it.
:func:`helpers.load_ratings` is wrapped in :func:`cached_by_content`: the first
load of a workbook parses it and stores the arrays; every later load of the
same bytes, in any kernel, reads them back (about 0.05 s; timings in
``benchmarks/README.md``, key ``xlsx_reload_over_article``).

Where: ``$MOVIE_RECOMMENDER_CACHE`` if set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/movie-recommender``, else ``~/.cache/movie-recommender``:
outside the repository, so a learner's checkout stays clean. A location that
cannot be written just means no cache.

Key: the SHA-256 of the file's bytes together with a fingerprint of the code
that parses it (the source of the loader's module, ``workbooks.py``,
``validation.py`` and this file, and the numpy, pandas and python-calamine
versions), so neither a changed workbook nor changed
parsing code is ever answered from an old entry. The file is hashed again
after the parse and the entry written only if the bytes did not change
meanwhile.

Entry: one compressed ``.npz`` per key (0.5 MB for the ratings workbook),
written atomically; an entry that cannot be read is ignored and rewritten by
the parse that follows. The newest :data:`MAX_ENTRIES` entries are kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import os
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from .settings import cache_folder
from .files import atomic_write

MAX_ENTRIES = 16
_FORMAT = b"parsed-workbook-cache 2\n"


@functools.cache
def _code_fingerprint(module: str) -> bytes:
    """The parsing code's identity: the loader's module, the modules it parses with, the libraries' versions."""
    h = hashlib.sha256(_FORMAT)
    for name in (module, "recsys_tutorial.workbooks", "recsys_tutorial.files", "recsys_tutorial.validation", __name__):
        source = Path(importlib.import_module(name).__file__)
        h.update(name.encode() + b"\0" + source.read_bytes() + b"\0")
    for dist in ("numpy", "pandas", "python-calamine"):
        try:
            h.update(f"{dist}=={metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} missing\n".encode())
    return h.digest()


def _content_key(path: Path, func) -> str:
    h = hashlib.sha256(_code_fingerprint(func.__module__))
    h.update(f"{func.__module__}.{func.__qualname__}\n".encode())
    with open(path, "rb") as f:
        h.update(hashlib.file_digest(f, "sha256").digest())  # read in chunks, however large the file
    return h.hexdigest()


def _read_entry(entry: Path) -> tuple[np.ndarray, ...] | None:
    """The arrays of an entry, or None if it is missing or unreadable (a corrupt entry is removed)."""
    try:
        with np.load(entry, allow_pickle=False) as z:
            arrays = tuple(z[f"arr_{i}"] for i in range(len(z.files)))
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file: any error means "not cached"
        with contextlib.suppress(OSError):
            entry.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used: kept by _prune
    return arrays


def _write_entry(entry: Path, arrays) -> None:
    """An ``.npz`` as ``np.savez_compressed`` writes it, at zlib level 1 (3x faster to write, and to read)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(entry) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i, a in enumerate(arrays):
            with zf.open(f"arr_{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)
    _prune(entry.parent)


def _prune(directory: Path) -> None:
    """Keep the newest MAX_ENTRIES entries."""
    entries = sorted(directory.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)


def cached_by_content(suffixes, max_bytes=None):
    """Decorator: cache ``func(path)`` (a tuple of arrays) on disk, keyed by the file's content.

    Only files whose suffix is in ``suffixes`` (and, with ``max_bytes``, of at
    most that size, so an oversized file is refused by ``func`` before anything
    reads it whole) are cached; any other call (another suffix, a larger file,
    extra arguments, a path that cannot be read, the cache off) goes straight
    to ``func``, which raises its own errors. A hit returns
    new arrays equal to, and of the same dtype, shape and memory order as,
    what ``func`` returned.
    """
    suffixes = {s.lower() for s in suffixes}

    def decorate(func):
        @functools.wraps(func)
        def wrapper(path, *args, **kwargs):
            directory = cache_folder()
            try:
                p = Path(os.fspath(path))
                use = (directory is not None and not (args or kwargs) and p.suffix.lower() in suffixes
                       and (max_bytes is None or p.stat().st_size <= max_bytes))
                key = _content_key(p, func) if use else None
            except (TypeError, OSError):
                key = None
            if key is None:
                return func(path, *args, **kwargs)
            entry = directory / f"{func.__name__}-{key[:40]}.npz"
            hit = _read_entry(entry)
            if hit is not None:
                return hit
            result = func(path)
            try:
                if (isinstance(result, tuple) and all(isinstance(a, np.ndarray) for a in result)
                        and _content_key(p, func) == key):  # unchanged while it was parsed
                    _write_entry(entry, result)
            except OSError:
                pass  # a read-only or full disk: no cache, same result
            return result

        return wrapper

    return decorate
