"""A disk cache for parsed workbooks: the ratings workbook is parsed once, then loaded in milliseconds.

Parsing ``ex8_movies.xlsx`` (two sheets of 1682 x 943 cells) takes about 5 s,
and notebooks 03, 05, 06 and 07 each start by loading it.
:func:`helpers.load_ratings` is wrapped in :func:`cached_by_content`: the first
load of a workbook parses it and stores the arrays; every later load of the
same bytes, in any kernel, reads them back (about 0.05 s; timings in
``benchmarks/README.md``, key ``xlsx_reload_over_article``).

**Where.** In a folder of its own, :data:`SUBFOLDER` (``parsed-workbooks``),
inside the folder ``$MOVIE_RECOMMENDER_CACHE`` names (``off`` turns the cache
off), else ``$XDG_CACHE_HOME/movie-recommender``, else
``~/.cache/movie-recommender`` (:mod:`recsys_tutorial.settings`): outside the
repository, so a learner's checkout stays clean. The cache creates that
subfolder itself, private to the user (mode 0700), with a ``CACHEDIR.TAG``
(the Cache Directory Tagging convention, which backup tools honour) that
marks it as this cache's. It reads, writes and deletes only in a subfolder
so marked, owned by the user and writable by no one else; a folder of that
name that is not so marked (a learner's own, a symbolic link) is left alone
and the cache is off. Inside it, it deletes only regular files named as its
entries are (``<loader>-<40 hex digits>.npz``) and the temporary files of its
own interrupted writes. Whatever the variable points at, nothing else is
ever written or deleted. A location that cannot be written just means no cache.

**Key.** The SHA-256 of the file's bytes together with a fingerprint of the
code that parses it (the source of the loader's module, ``workbooks.py``,
``files.py``, ``validation.py`` and this file, and the numpy, pandas and
python-calamine versions), so neither a changed workbook nor changed parsing
code is ever answered from an old entry. The path is taken once (a path-like
object is asked for it once) and its links resolved once, so the file hashed
is the file parsed; it is hashed again after the parse and the entry written
only if the same file (device, inode, size, modification time) holds the
same bytes. Only
a regular file is hashed: a FIFO or a device is left to the loader, which
refuses it, and is never opened here (opening a FIFO blocks).

**Entries are untrusted.** One compressed ``.npz`` per key (0.5 MB for the
ratings workbook), written atomically; the newest :data:`MAX_ENTRIES` are
kept. Whoever can write the folder could have planted one, so each entry
read back is checked against its :class:`EntrySpec`, in this order, and a
bad one is discarded (removed, when it is a regular file) and the workbook
parsed again: it is never returned.

1. A regular file owned by the user, opened without following a symbolic
   link and without blocking (a FIFO, a device, a folder or a link is
   skipped: not read, not removed, not replaced), of at most the size the
   largest honest entry can have (:meth:`EntrySpec.max_file_bytes`, 48 MB).
2. A zip of exactly the expected members (``arr_0.npy``, ``arr_1.npy``),
   checked from its end record before :mod:`zipfile` parses its directory,
   each member no larger unpacked than its array can be
   (:func:`files.check_zip_members`).
3. Every array's ``.npy`` header, before any array is allocated: the exact
   dtype (byte order included), C order, the number of dimensions, each
   dimension and the number of elements within the workbook limits
   (:mod:`recsys_tutorial.workbooks`: at most 10,000 rows, 10,000 columns,
   5 million cells), one shape for Y and R, and each member exactly as long
   as its array. Only then are the arrays allocated (at most 45 MB) and
   read, and each member's CRC checked.
4. The values: the arrays must be exactly what the loader's own last step
   returns for them (for the ratings, :func:`validation.as_loaded_ratings`:
   Y finite, 0 to 5, no NaN, 1 to 5 where R is TRUE).

No pickle is ever loaded. A :class:`MemoryError` is not taken for a bad
entry: no step above allocates more than the limits, so one would be a bug.
Why by hand rather than ``np.load``: it allocates whatever shape a header
declares (a 3 MB entry made it allocate and return a 3 GiB array), follows
links and blocks on a FIFO; numpy's own header readers
(``np.lib.format.read_array_header_1_0``/``2_0``) and :mod:`zipfile` do the
parsing here, this module only the checks between them.

5. The shape the workbook itself declares: an entry is bound to its
   workbook's sheet ``R`` dimension (``<dimension ref="A1:E7">``, read from
   the head of the sheet's XML, a few milliseconds,
   :func:`workbooks.declared_area`): entries of another shape (``[Y.T,
   R.T]``, a 2 x 2 of ones) are discarded, and a workbook that declares no
   such dimension is not cached.

What the checks cannot tell: an entry with valid ratings of the right shape
that are not the workbook's. Only the user's own account can write the
private folder (mode 0700), and it could as well edit the workbook or this
code: whoever can write that folder is trusted. (An HMAC with a key kept in
the same folder would not change that: whoever can write there can read the
key.)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from .files import atomic_write, check_zip_members, remove_stale_parts
from .settings import cache_folder
from .validation import as_loaded_ratings
from .workbooks import MAX_CELLS, MAX_COLS, MAX_ROWS, declared_area

__all__ = ["SUBFOLDER", "MAX_ENTRIES", "EntrySpec", "LOADED_RATINGS", "cached_by_content", "owned_folder",
           "entry_path"]

SUBFOLDER = "parsed-workbooks"
MAX_ENTRIES = 16
_FORMAT = b"parsed-workbook-cache 3\n"
#: The tag marking the cache's own folder (https://bford.info/cachedir/: the first line is the convention's).
_TAG_NAME = "CACHEDIR.TAG"
_TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
        b"# The movie recommender tutorial's cache of parsed workbooks (recsys_tutorial/cache.py).\n"
        b"# It deletes only its own entries here; delete this folder to empty the cache.\n")
_LOADERS: set[str] = set()   # the names of the cached loaders: entries are "<name>-<40 hex digits>.npz"
_MAX_HEADER = 1024            # bytes of one .npy header (a 2-D array's is 128)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class _BadEntry(ValueError):
    """An entry that is not exactly what its loader returns: discarded, never returned."""


@dataclass(frozen=True)
class EntrySpec:
    """What an entry of a cached loader must hold, checked before anything large is allocated.

    ``dtypes``: the exact arrays, one dtype each, in order. ``max_dims``: the
    largest size of each dimension (so also the number of dimensions; each
    at least 1). ``max_elements``: the most elements of one array.
    ``normalise``: the loader's own last step, ``normalise(*arrays) ->
    arrays``, raising ValueError; an entry is accepted only if it returns the
    same arrays (same dtypes, shapes and values; NaN never equals NaN).
    ``same_shape``: every array has one shape (checked from the headers,
    before any is allocated). ``declared_shape(f)``: the shape the open file
    ``f`` itself declares its arrays to have (cheaply, without parsing it), or
    None: an entry is returned, and written, only for the shape its file
    declares, and a file that declares none is not cached.
    """

    dtypes: tuple
    max_dims: tuple
    max_elements: int
    normalise: Callable
    same_shape: bool = True
    declared_shape: Callable | None = None

    def max_member_bytes(self, i: int) -> int:
        return _MAX_HEADER + np.dtype(self.dtypes[i]).itemsize * self.max_elements

    def max_file_bytes(self) -> int:
        """The largest honest entry: every member at its largest, stored, plus the zip's own records."""
        members = sum(self.max_member_bytes(i) for i in range(len(self.dtypes)))
        return members + members // 100 + 4096 * len(self.dtypes)


def _normalise_ratings(Y, R):
    return as_loaded_ratings(Y, R, "cache entry")


#: What :func:`helpers.load_ratings` returns for a workbook: Y float64 and R bool of one shape within the
#: workbook limits, the values :func:`validation.as_loaded_ratings` accepts.
LOADED_RATINGS = EntrySpec((np.dtype(np.float64), np.dtype(np.bool_)), (MAX_ROWS, MAX_COLS), MAX_CELLS,
                           _normalise_ratings, declared_shape=lambda f: declared_area(f, "R"))


# ---------------------------------------------------------------- the key


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


@contextlib.contextmanager
def _open_regular(path, max_bytes: int, *, follow: bool = False):
    """``path`` opened for reading if it is a regular file of at most ``max_bytes``, else None.

    Looked at with stat first (a FIFO or a device is not opened at all), then
    opened with O_NONBLOCK (should a FIFO be swapped in meanwhile, opening it
    returns at once instead of waiting for a writer) and, unless ``follow``,
    O_NOFOLLOW (a symbolic link is not followed), and checked again with
    fstat on what was opened: a regular file, of at most ``max_bytes``, the
    user's own unless ``follow``.
    """
    try:
        regular = stat.S_ISREG(os.stat(path, follow_symlinks=follow).st_mode)   # a FIFO is not even opened
        fd = os.open(path, _OPEN_FLAGS | (0 if follow else _NOFOLLOW)) if regular else None
    except OSError:
        fd = None
    if fd is None:
        yield None
        return
    info = os.fstat(fd)
    mine = follow or not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    if not (stat.S_ISREG(info.st_mode) and info.st_size <= max_bytes and mine):
        os.close(fd)
        yield None
        return
    with os.fdopen(fd, "rb") as f:
        yield f


def _hashed(path: Path, func, max_bytes: int) -> tuple[str, tuple] | None:
    """The entry key of ``func(path)`` and the identity of the file hashed (device, inode, size, mtime), or None
    if ``path`` is not a regular file of at most ``max_bytes``."""
    with _open_regular(path, max_bytes, follow=True) as f:   # a workbook may be a link to one
        if f is None:
            return None
        h = hashlib.sha256(_code_fingerprint(func.__module__))
        h.update(f"{func.__module__}.{func.__qualname__}\n".encode())
        h.update(hashlib.file_digest(f, "sha256").digest())  # read in chunks, however large the file
        info = os.fstat(f.fileno())
        return h.hexdigest(), (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _content_key(path: Path, func, max_bytes: int) -> str | None:
    """The entry key of ``func(path)``, or None if ``path`` is not a regular file of at most ``max_bytes``."""
    hashed = _hashed(path, func, max_bytes)
    return None if hashed is None else hashed[0]


# ---------------------------------------------------------------- the folder


def _is_owned(folder: Path) -> bool:
    """Whether ``folder`` is the cache's own: a real folder (not a link), the user's, writable by no one
    else, holding this cache's CACHEDIR.TAG."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "geteuid") and (info.st_uid != os.geteuid() or info.st_mode & 0o022):
        return False
    with _open_regular(folder / _TAG_NAME, 4096) as f:
        return f is not None and f.read(len(_TAG)) == _TAG


def owned_folder(create: bool = False) -> Path | None:
    """The cache's own folder (:data:`SUBFOLDER` in :func:`settings.cache_folder`), or None: the cache off.

    With ``create``, a missing one is made: a private temporary folder with
    the tag is renamed into place, so the folder never exists untagged. A
    folder or file of that name that is not the cache's is left as it is.
    """
    return _owned_folder(cache_folder(), create)


def _owned_folder(base: Path | None, create: bool) -> Path | None:
    if base is None:
        return None
    folder = base / SUBFOLDER
    if _is_owned(folder):
        return folder
    if not create or os.path.lexists(folder):
        return None
    made = None
    try:
        base.mkdir(parents=True, exist_ok=True)
        made = tempfile.mkdtemp(prefix=f".{SUBFOLDER}.", dir=base)    # mode 0700
        with atomic_write(Path(made) / _TAG_NAME) as f:
            f.write(_TAG)
        os.rename(made, folder)
        made = None
    except OSError:
        pass
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)   # the temporary folder made just above, and only it
    return folder if _is_owned(folder) else None


def entry_path(func, path, max_bytes=None) -> Path | None:
    """Where the cache keeps ``func(path)``, or None (the cache off, or ``path`` not a regular file it takes)."""
    folder = owned_folder()
    if folder is None:
        return None
    key = _content_key(Path(os.fspath(path)), func, max_bytes if max_bytes is not None else 2**63)
    return None if key is None else folder / f"{func.__name__}-{key[:40]}.npz"


# ---------------------------------------------------------------- reading an entry


def _zip_records_ok(f, size: int, n: int) -> bool:
    """Whether the zip's end record says exactly ``n`` members and a small central directory, at the end.

    Read before :class:`zipfile.ZipFile` parses anything: a forged directory
    of a million members would otherwise become a million objects.
    """
    if size < 22:
        return False
    f.seek(size - 22)
    record = f.read(22)
    sig, disk, cd_disk, here, total, cd_size, cd_offset, comment = struct.unpack("<4s4H2LH", record)
    if sig != b"PK\x05\x06" or disk or cd_disk or here != n or total != n or comment:
        return False
    if size >= 42:
        f.seek(size - 42)
        if f.read(4) == b"PK\x06\x07":  # a zip64 locator: the cache never writes one
            return False
    return cd_size <= 1024 * n and cd_offset + cd_size == size - 22


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dtype, spec: EntrySpec) -> tuple[tuple, int]:
    """The shape an array member declares and its header's length, checked against ``spec``; nothing allocated."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise _BadEntry(f"{info.filename}: npy format {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, got = read_header(f, max_header_size=_MAX_HEADER)
        offset = f.tell()
    if got != dtype or fortran:
        raise _BadEntry(f"{info.filename}: dtype {got}, fortran order {fortran}; expected {dtype} in C order")
    if (len(shape) != len(spec.max_dims) or any(not 1 <= d <= m for d, m in zip(shape, spec.max_dims))
            or np.prod(shape, dtype=object) > spec.max_elements):
        raise _BadEntry(f"{info.filename}: shape {shape}, beyond {spec.max_dims} or {spec.max_elements:,} elements")
    if info.file_size != offset + int(np.prod(shape, dtype=object)) * dtype.itemsize:
        raise _BadEntry(f"{info.filename}: {info.file_size:,} bytes for an array of shape {shape}")
    return shape, offset


def _member_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple, dtype, offset: int) -> np.ndarray:
    """The array of a member whose header :func:`_member_header` accepted; its length and CRC checked."""
    array = np.empty(shape, dtype)
    view, done = memoryview(array.reshape(-1).view(np.uint8)), 0
    with zf.open(info) as f:
        f.read(offset)
        while done < view.nbytes:
            got = f.readinto(view[done:])
            if not got:
                raise _BadEntry(f"{info.filename}: ends early")
            done += got
        if f.read(1):        # at the end, the CRC is checked (zipfile.BadZipFile if it is wrong)
            raise _BadEntry(f"{info.filename}: longer than it declares")
    return array


def _read_entry(f, size: int, spec: EntrySpec) -> tuple[np.ndarray, ...]:
    """The arrays of an open entry file, checked as the module docstring says; _BadEntry (or another error)."""
    n = len(spec.dtypes)
    if not _zip_records_ok(f, size, n):
        raise _BadEntry("not a zip of the expected members")
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        names = [f"arr_{i}.npy" for i in range(n)]
        if [i.filename for i in infos] != names:
            raise _BadEntry(f"members {[i.filename for i in infos][:5]}; expected {names}")
        most = [spec.max_member_bytes(i) for i in range(n)]
        check_zip_members(infos, "cache entry", max_members=n, max_member_bytes=max(most),
                          max_unpacked_bytes=sum(most), max_ratio=float("inf"), error=_BadEntry)
        dtypes = [np.dtype(d) for d in spec.dtypes]
        headers = [_member_header(zf, info, dtype, spec) for info, dtype in zip(infos, dtypes)]
        if spec.same_shape and len({shape for shape, _ in headers}) > 1:
            raise _BadEntry(f"arrays of different shapes {[shape for shape, _ in headers]}")
        arrays = tuple(_member_array(zf, info, shape, dtype, offset)
                       for info, dtype, (shape, offset) in zip(infos, dtypes, headers))
    _check_values(arrays, spec)
    return arrays


def _check_values(arrays, spec: EntrySpec) -> None:
    """_BadEntry unless ``arrays`` are exactly what ``spec.normalise`` returns for them."""
    try:
        same = spec.normalise(*arrays)
    except ValueError as exc:
        raise _BadEntry(str(exc)) from None
    if len(same) != len(arrays) or not all(
            a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) for a, b in zip(arrays, same)):
        raise _BadEntry("the loader would not return these arrays as they are")


def _lookup(entry: Path, spec: EntrySpec) -> tuple[np.ndarray, ...] | None:
    """The arrays of ``entry`` if it is a good entry; None otherwise (a bad regular file of the user's is
    removed; anything else is left as it is)."""
    with _open_regular(entry, spec.max_file_bytes()) as f:
        if f is None:
            return None          # missing, too large, a link, a FIFO, a device, a folder: not read, not removed
        try:
            arrays = _read_entry(f, os.fstat(f.fileno()).st_size, spec)
        except MemoryError:
            raise
        except Exception:        # zipfile, zlib, numpy's header reader and _BadEntry: any error means "not cached"
            arrays = None
        with contextlib.suppress(OSError):
            if arrays is None:
                entry.unlink()   # a regular file named as an entry, in the cache's own folder
            else:
                os.utime(f.fileno() if os.utime in os.supports_fd else entry)   # recently used: kept by _prune
    return arrays


# ---------------------------------------------------------------- writing an entry


def _conforms(result, spec: EntrySpec) -> bool:
    """Whether ``func``'s result is what an entry may hold (else it is returned but not stored)."""
    if not (isinstance(result, tuple) and len(result) == len(spec.dtypes)):
        return False
    if spec.same_shape and len({getattr(a, "shape", None) for a in result}) > 1:
        return False
    for a, dtype in zip(result, spec.dtypes):
        if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
                and a.ndim == len(spec.max_dims) and a.size <= spec.max_elements
                and all(1 <= d <= m for d, m in zip(a.shape, spec.max_dims))):
            return False
    try:
        _check_values(result, spec)
    except _BadEntry:
        return False
    return True


def _write_entry(entry: Path, arrays) -> None:
    """An ``.npz`` as ``np.savez_compressed`` writes it, at zlib level 1 (3x faster to write, and to read).

    Not over anything that is not a regular file (a link, a FIFO planted
    under the entry's name stays as it is)."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(entry).st_mode):
            return
    with atomic_write(entry) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i, a in enumerate(arrays):
            with zf.open(f"arr_{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)
    _prune(entry.parent)


def _prune(folder: Path) -> None:
    """Keep the newest MAX_ENTRIES entries; remove what killed writers left. Only the cache's own names."""
    names = "|".join(re.escape(name) for name in sorted(_LOADERS))
    entry_name = re.compile(rf"(?:{names})-[0-9a-f]{{40}}\.npz")
    part_name = re.compile(rf"\.((?:{names})-[0-9a-f]{{40}}\.npz)\.[^/]*\.part")
    entries, parts = [], set()
    for item in os.scandir(folder):
        if entry_name.fullmatch(item.name) and item.is_file(follow_symlinks=False):
            entries.append((item.stat(follow_symlinks=False).st_mtime_ns, item.name))
        elif (part := part_name.fullmatch(item.name)) and item.is_file(follow_symlinks=False):
            parts.add(part[1])
    for _, name in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        (folder / name).unlink(missing_ok=True)
    remove_stale_parts(folder, sorted(parts))


# ---------------------------------------------------------------- the decorator


def _declared_shape(path: Path, spec: EntrySpec, max_bytes: int) -> tuple | None:
    """The shape ``path`` declares its arrays to have (``spec.declared_shape``), ``()`` if ``spec`` binds no
    shape, None if the file declares none (or is no longer a regular file)."""
    if spec.declared_shape is None:
        return ()
    with _open_regular(path, max_bytes, follow=True) as f:
        return None if f is None else spec.declared_shape(f)


def cached_by_content(suffixes, max_bytes=None, spec: EntrySpec = LOADED_RATINGS):
    """Decorator: cache ``func(path)`` (a tuple of arrays) on disk, keyed by the file's content.

    Only regular files whose suffix is in ``suffixes`` (and, with
    ``max_bytes``, of at most that size, so an oversized file is refused by
    ``func`` before anything reads it whole) are cached; any other call
    (another suffix, a larger file, a FIFO, extra arguments, a path that
    cannot be read, the cache off) goes straight to ``func``, which raises
    its own errors. Only a result that ``spec`` accepts is stored, and an
    entry is returned only after ``spec``'s checks. A hit returns new arrays
    equal to, and of the same dtype, shape and memory order as, what
    ``func`` returned. A bad ``MOVIE_RECOMMENDER_CACHE`` raises
    :class:`settings.SettingError`, naming it.
    """
    suffixes = {s.lower() for s in suffixes}
    limit = max_bytes if max_bytes is not None else 2**63

    def decorate(func):
        _LOADERS.add(func.__name__)

        @functools.wraps(func)
        def wrapper(path, *args, **kwargs):
            base = cache_folder()          # a bad MOVIE_RECOMMENDER_CACHE: SettingError, naming it
            hashed = None
            if base is not None and not (args or kwargs) and isinstance(path, (str, os.PathLike)):
                try:
                    # The path once (a path-like whose __fspath__ changes cannot poison an entry), its links
                    # resolved once: the file hashed is the file parsed, whatever a link points at meanwhile.
                    p = Path(os.path.realpath(os.fspath(path)))
                    hashed = _hashed(p, func, limit) if p.suffix.lower() in suffixes else None
                except (TypeError, ValueError, OSError):   # bytes paths, NUL characters, unreadable folders
                    hashed = None
            if hashed is None:
                return func(path, *args, **kwargs)
            declared = _declared_shape(p, spec, limit)
            if declared is None:           # the file does not say what shape it holds: nothing to bind an entry to
                return func(p)
            name = f"{func.__name__}-{hashed[0][:40]}.npz"
            folder = _owned_folder(base, create=False)
            hit = _lookup(folder / name, spec) if folder is not None else None
            if hit is not None and declared in ((), hit[0].shape):
                return hit
            if hit is not None:            # valid arrays, but not of the shape the file declares: not its entry
                (folder / name).unlink(missing_ok=True)
            result = func(p)
            try:   # stored only if the file is the same one, unchanged, after the parse (same bytes, inode, mtime)
                if (_conforms(result, spec) and declared in ((), result[0].shape)
                        and _hashed(p, func, limit) == hashed):
                    folder = _owned_folder(base, create=True)
                    if folder is not None:
                        _write_entry(folder / name, result)
            except OSError:
                pass  # a read-only or full disk: no cache, same result
            return result

        return wrapper

    return decorate
