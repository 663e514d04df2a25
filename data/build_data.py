"""Fill ``data/`` with the files the notebooks read.

Usage::

    python data/build_data.py [--source DIR_OR_ZIP] [--dest DIR] [--force]

Outputs (see ``data/README.md`` for the full description):

* ``ex8_movies.xlsx`` -- sheets ``y`` (ratings 0-5, 0 = not rated) and ``R``
  (TRUE/FALSE rated flags), movies as rows, users as columns, no header.
* ``movie_params.xlsx`` -- sheets ``X`` (movies x features) and ``theta``
  (users x features), no header.
* ``movie_ids.txt`` -- ``"<id> <title>"`` per line, Latin-1.
* the raw MovieLens 100K files (``u.data``, ``u.item``, ... and the
  MovieLens README saved as ``ml-100k-README.txt``).

Sources, first found wins:

1. ``--source``: a directory laid out like ``shared/data`` (holding
   ``coursera-ex8/`` and/or ``ml-100k/``), an ``ml-100k`` directory, a
   ``coursera-ex8`` directory or an ``ml-100k.zip``.  When given, it is the
   only local source that is looked at.
2. ``<repo>/../shared/data`` when it exists.
3. A previously downloaded ``ml-100k.zip`` kept in the destination, if its
   MD5 still matches.
4. A download of ``ml-100k.zip`` from GroupLens (``--url`` or the
   ``ML100K_URL`` environment variable), checked against ``--md5``.

The inputs are read with the project's own loaders: the Coursera ``.mat``
files with :func:`helpers.load_ratings` and :func:`helpers.load_parameters`,
``u.data`` with :func:`research.load_movielens_ratings`.  When the Coursera
files are available the workbooks hold exactly their ``Y``, ``R``, ``X`` and
``Theta``.  From MovieLens alone ``Y`` and ``R`` are the pivot of ``u.data``
(the same matrices) and ``X``/``Theta`` are trained here with
:func:`helpers.train_lbfgs`.

Every file is written to a ``*.part`` temporary file in the destination and
moved into place with :func:`os.replace` (:func:`recsys_tutorial.files.atomic_write`), so
an interrupted or failed run never leaves a half-written file.  Files that
already exist and hold what would be written are skipped unless ``--force``
is given.  The workbooks are written by :func:`xlsx_writer.write_xlsx` (``data/xlsx_writer.py``), whose
module docstring says why the project writes SpreadsheetML itself.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
for folder in (REPO_ROOT, HERE):   # the tutorial (installed or not) and xlsx_writer.py beside this file
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import helpers  # noqa: E402
from recsys_tutorial.files import (MAX_TEXT_BYTES, DataError, atomic_write, check_zip_members,  # noqa: E402
                                   remove_stale_parts)
from recsys_tutorial import paths  # noqa: E402
from recsys_tutorial.validation import as_bool, as_float, as_int  # noqa: E402
from recsys_tutorial.settings import download_md5, download_url  # noqa: E402
from xlsx_writer import workbook_matches, write_xlsx  # noqa: E402  (data/xlsx_writer.py, beside this file)

DEFAULT_DEST = REPO_ROOT / "data"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_MD5 = "0e33842e24a9c977be4e0107933c0723"
ZIP_CACHE_NAME = "ml-100k.zip"
DOWNLOAD_TIMEOUT = 60.0
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
#: What a MovieLens 100K source may hold (it holds 24 files, 16 MB unpacked, u.data
#: the largest at 2 MB): a larger zip or file is refused before it is read.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_ZIP_MEMBERS = 1_000
MAX_RAW_BYTES = MAX_TEXT_BYTES

#: Raw MovieLens files copied verbatim: name in data/ -> name in ml-100k.
RAW_FILES = {
    "u.data": "u.data",
    "u.item": "u.item",
    "u.genre": "u.genre",
    "u.user": "u.user",
    "u.info": "u.info",
    "u.occupation": "u.occupation",
    **{f"u{k}.{part}": f"u{k}.{part}" for k in range(1, 6) for part in ("base", "test")},
    **{f"u{k}.{part}": f"u{k}.{part}" for k in ("a", "b") for part in ("base", "test")},
    "ml-100k-README.txt": "README",
}
COURSERA_FILES = ("ex8_movies.mat", "ex8_movieParams.mat", "movie_ids.txt")

RATINGS_BOOK = "ex8_movies.xlsx"
PARAMS_BOOK = "movie_params.xlsx"
MOVIE_IDS = "movie_ids.txt"

#: Training settings used when only MovieLens is available (see data card).
NUM_FEATURES = 10
LAMBDA = 10.0
SEED = 0
NUM_ITERS = 200
#: The largest --lambda and --num-iters accepted: above 1e6 every learned feature is 0
#: (and 1e308 overflows the cost), and L-BFGS converges long before 10,000 iterations.
MAX_LAMBDA = 1e6
MAX_NUM_ITERS = 10_000


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`workbooks.atomic_write`)."""
    with atomic_write(path) as fh:
        fh.write(data)


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------


def _open_zip(data: bytes, label: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open zip bytes, refusing a truncated or corrupt file, unsafe member names and zip bombs."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise DataError(f"{label}: not a readable zip file, truncated or corrupt ({exc})") from exc
    check_zip_members(infos, label, max_members=MAX_ZIP_MEMBERS, max_member_bytes=MAX_UNPACKED_BYTES,
                      max_unpacked_bytes=MAX_UNPACKED_BYTES, usual="an ml-100k.zip holds 24 files, 16 MB unpacked",
                      error=DataError)
    return zf, infos


def _zip_members(infos: list[zipfile.ZipInfo], label: str) -> dict[str, zipfile.ZipInfo]:
    """The members holding the MovieLens files, by base name; each exactly once."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.is_dir():
            continue
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        if base in RAW_FILES.values():
            if base in members:
                raise DataError(
                    f"{label}: zip holds {base} twice "
                    f"({members[base].filename!r} and {info.filename!r})"
                )
            members[base] = info
    missing = [n for n in RAW_FILES.values() if n not in members]
    if missing:
        raise DataError(f"{label}: zip is missing the MovieLens files {', '.join(missing)}")
    big = [n for n, i in members.items() if i.file_size > MAX_RAW_BYTES]
    if big:
        raise DataError(f"{label}: zip member {members[big[0]].filename} unpacks to {members[big[0]].file_size:,} "
                        f"bytes; at most {MAX_RAW_BYTES:,} are accepted (u.data, the largest, is 2 MB)")
    return members


def _check_crcs(zf: zipfile.ZipFile, label: str) -> None:
    """Decompress every member and compare its CRC, naming the first bad one."""
    try:
        bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError,
            ValueError) as exc:
        raise DataError(f"{label}: zip content is corrupt ({exc})") from exc
    if bad is not None:
        raise DataError(f"{label}: zip member {bad!r} is corrupt (CRC mismatch)")


class MovieLensSource:
    """Read access to the MovieLens 100K files, from a directory or a zip.

    Use :meth:`from_dir` or :meth:`from_zip`; both check that every file in
    :data:`RAW_FILES` is present (and, for a zip, intact) before returning,
    so nothing is written from a source that would fail half-way.
    """

    def __init__(self, label: str, reader: Callable[[str], bytes], checker: Callable[[str, Path], bool],
                 directory: Path | None = None):
        self.label = label
        self._reader = reader
        self._checker = checker
        self._directory = directory
        self._cache: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        """Return the bytes of MovieLens file ``name`` (e.g. ``"u.data"``)."""
        if name not in self._cache:
            self._cache[name] = self._reader(name)
        return self._cache[name]

    def same_as(self, name: str, path: Path) -> bool:
        """Tell whether ``path`` holds exactly MovieLens file ``name``."""
        return Path(path).is_file() and self._checker(name, Path(path))

    def where(self, name: str) -> str:
        """How messages name MovieLens file ``name``: its path, or ``"<name> in <zip>"``."""
        return str(self._directory / name) if self._directory is not None else f"{name} in {self.label}"

    @contextlib.contextmanager
    def local_dir(self) -> Iterator[Path]:
        """A directory holding every MovieLens file: the source itself, or a temporary copy of the zip's."""
        if self._directory is not None:
            yield self._directory
            return
        with tempfile.TemporaryDirectory(prefix="ml-100k-") as tmp:
            for name in RAW_FILES.values():
                (Path(tmp) / name).write_bytes(self.read(name))
            yield Path(tmp)

    @classmethod
    def from_dir(cls, directory: Path) -> "MovieLensSource":
        """Use an extracted ``ml-100k`` directory.

        Parameters
        ----------
        directory : Path
            Directory holding ``u.data``, ``u.item``, ... and ``README``.

        Raises
        ------
        FileNotFoundError
            If a required file is missing.
        """
        directory = Path(directory)
        missing = [n for n in RAW_FILES.values() if not (directory / n).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{directory}: MovieLens 100K directory is missing {', '.join(missing)}"
            )
        big = [n for n in RAW_FILES.values() if (directory / n).stat().st_size > MAX_RAW_BYTES]
        if big:
            raise DataError(f"{directory / big[0]}: {(directory / big[0]).stat().st_size:,} bytes; at most "
                            f"{MAX_RAW_BYTES:,} are accepted (u.data, the largest MovieLens 100K file, is 2 MB)")

        def reader(name: str) -> bytes:
            return (directory / name).read_bytes()

        def checker(name: str, path: Path) -> bool:
            src = directory / name
            if src.stat().st_size != path.stat().st_size:
                return False
            return src.read_bytes() == path.read_bytes()

        return cls(str(directory), reader, checker, directory)

    @classmethod
    def from_zip(cls, data: bytes, label: str) -> "MovieLensSource":
        """Use the bytes of an ``ml-100k.zip``.

        Every member name is checked (no absolute paths, no ``..``) and every
        member's CRC is verified before this returns.

        Parameters
        ----------
        data : bytes
            Content of the zip file.
        label : str
            Where the zip came from, used in messages.

        Raises
        ------
        DataError
            If the zip is truncated or corrupt, has an unsafe member name, or
            lacks a required file.
        """
        zf, infos = _open_zip(data, label)
        members = _zip_members(infos, label)
        _check_crcs(zf, label)

        def reader(name: str) -> bytes:
            with zf.open(members[name]) as fh:
                return fh.read()

        def checker(name: str, path: Path) -> bool:
            info = members[name]
            if path.stat().st_size != info.file_size:
                return False
            return zlib.crc32(path.read_bytes()) == info.CRC

        return cls(label, reader, checker)


def md5_hex(data: bytes) -> str:
    """Return the hexadecimal MD5 digest of ``data``."""
    return hashlib.md5(data).hexdigest()


def download(url: str, timeout: float = DOWNLOAD_TIMEOUT, progress: bool = True) -> bytes:
    """Download ``url`` into memory.

    Parameters
    ----------
    url : str
        Address to fetch.
    timeout : float
        Socket timeout in seconds.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    bytes
        The response body.

    Raises
    ------
    DataError
        On any network or HTTP error, or a body over 200 MiB.
    """
    from tqdm.auto import tqdm

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            chunks = []
            size = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc="downloading", disable=not progress, leave=False
            ) as bar:
                while chunk := resp.read(1 << 16):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DataError(f"{url}: download exceeds {MAX_DOWNLOAD_BYTES} bytes")
                    chunks.append(chunk)
                    bar.update(len(chunk))
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: download failed with HTTP {exc.code} {exc.reason}. {_OFFLINE}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed ({reason}). {_OFFLINE}") from exc


#: What to do when the download fails (offline, or GroupLens unreachable).
_OFFLINE = ("Offline? Give a copy with --source (an ml-100k.zip or a folder holding ml-100k/), or set "
            "MOVIELENS_DATA to a folder that already holds the built data.")


def _check_md5(data: bytes, expected: str | None, label: str) -> None:
    """Raise DataError naming both digests when ``data`` does not match."""
    if expected is None:
        return
    actual = md5_hex(data)
    if actual.lower() != expected.lower():
        raise DataError(
            f"{label}: MD5 checksum mismatch: expected {expected.lower()}, got {actual} "
            "(incomplete download or a different file)"
        )


@dataclass
class Sources:
    """Where each part of the data comes from.

    Attributes
    ----------
    coursera : Path or None
        Directory with the Coursera ex8 files, if any.
    movielens : MovieLensSource
        The MovieLens 100K files.
    zip_to_cache : bytes or None
        A freshly downloaded and verified ``ml-100k.zip`` to keep in the
        destination so later runs need no network.
    """

    coursera: Path | None
    movielens: MovieLensSource
    zip_to_cache: bytes | None = None


def _is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder. One that exists but is not (a file, a link in a loop or to nothing) is an
    error naming it: skipping it would quietly take the data from elsewhere (or download it)."""
    if path.is_dir():
        return True
    if not os.path.lexists(path):
        return False
    try:
        os.stat(path)
        what = "a file"
    except OSError as exc:
        what = "a symbolic link in a loop" if exc.errno == errno.ELOOP else f"a link that leads nowhere ({exc.strerror})"
    raise DataError(f"{path}: expected a folder of data files, but it is {what}; move it away or make it the folder")


def _coursera_dir(directory: Path) -> Path | None:
    """Return the Coursera ex8 directory inside (or at) ``directory``, if any."""
    for cand in (directory / "coursera-ex8", directory):
        if _is_folder(cand) and any((cand / n).exists() for n in COURSERA_FILES[:2]):
            missing = [n for n in COURSERA_FILES if not (cand / n).is_file()]
            if missing:
                raise FileNotFoundError(f"{cand}: Coursera ex8 directory is missing {', '.join(missing)}")
            return cand
    return None


def _zip_bytes(path: Path, md5: str | None) -> bytes:
    """The bytes of a local zip given as a source: a zip (not, say, u.data), not too large, matching ``md5``."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04":
        raise DataError(f"{path}: a source file must be ml-100k.zip, and this is not a zip archive (it starts "
                        f"{head!r}); to use loose MovieLens files give their folder (the one holding u.data), "
                        "or a folder holding coursera-ex8/ and ml-100k/")
    if path.stat().st_size > MAX_DOWNLOAD_BYTES:
        raise DataError(f"{path}: {path.stat().st_size:,} bytes; ml-100k.zip is 5 MB (at most "
                        f"{MAX_DOWNLOAD_BYTES:,} accepted)")
    data = path.read_bytes()
    _check_md5(data, md5, str(path))
    return data


def _movielens_local(path: Path, md5: str | None) -> MovieLensSource | None:
    """Return the MovieLens source found at ``path`` (dir or zip), if any.

    A zip is checked against ``md5`` (when not None) like a download.
    """
    if path.is_file():
        return MovieLensSource.from_zip(_zip_bytes(path, md5), str(path))
    if _is_folder(path / "ml-100k"):
        return MovieLensSource.from_dir(path / "ml-100k")
    if any((path / n).exists() for n in ("u.data", "u.item", "u.user")):
        return MovieLensSource.from_dir(path)
    if (path / ZIP_CACHE_NAME).is_file():
        return _movielens_local(path / ZIP_CACHE_NAME, md5)
    return None


def _local_sources(source: Path | None, shared_dir: Path | None,
                   md5: str | None) -> tuple[Path | None, MovieLensSource | None]:
    """The Coursera directory and MovieLens source found in ``source`` (or else ``shared_dir``)."""
    if source is not None:
        local = Path(source)
        if not local.exists():
            raise FileNotFoundError(f"{local}: source does not exist")
    elif shared_dir is not None and Path(shared_dir).is_dir():
        local = Path(shared_dir)
    else:
        return None, None
    coursera = _coursera_dir(local) if local.is_dir() else None
    movielens = _movielens_local(local, md5)
    if source is not None and coursera is None and movielens is None:
        raise FileNotFoundError(
            f"{local}: no coursera-ex8/ or ml-100k/ directory, MovieLens files or "
            "ml-100k.zip found there"
        )
    return coursera, movielens


def _cached_zip(path: Path, md5: str | None) -> MovieLensSource | None:
    """A zip downloaded by an earlier run, if it is there, matches ``md5`` and is intact."""
    if md5 is None or not path.is_file() or path.stat().st_size > MAX_DOWNLOAD_BYTES:
        return None
    data = path.read_bytes()
    if md5_hex(data) != md5.lower():
        return None
    with contextlib.suppress(DataError):
        return MovieLensSource.from_zip(data, str(path))
    return None


def resolve_sources(
    dest: Path,
    source: Path | None = None,
    shared_dir: Path | None = DEFAULT_SHARED,
    url: str | None = None,
    md5: str | None = ML100K_MD5,
    progress: bool = True,
) -> Sources:
    """Find (and if needed download) the input files, checking them all.

    Parameters
    ----------
    dest : Path
        Destination directory (a cached ``ml-100k.zip`` there is reused).
    source : Path, optional
        Explicit source: a directory like ``shared/data``, an ``ml-100k`` or
        ``coursera-ex8`` directory, or an ``ml-100k.zip``.  When given, no
        other local source is considered.
    shared_dir : Path or None
        The project's shared data directory, used when ``source`` is None
        and it exists.  None disables it.
    url : str, optional
        Download address; defaults to ``$ML100K_URL`` or :data:`ML100K_URL`.
    md5 : str or None
        Expected MD5 of the zip; None skips the check.
    progress : bool
        Show a download progress bar.

    Returns
    -------
    Sources

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist or a required file is missing.
    DataError
        If a zip is corrupt, unsafe or fails its checksum, or the download
        fails.
    """
    coursera, movielens = _local_sources(source, shared_dir, md5)
    if movielens is None:
        movielens = _cached_zip(Path(dest) / ZIP_CACHE_NAME, md5)
    if movielens is not None:
        return Sources(coursera, movielens)
    url = url or download_url() or ML100K_URL
    data = download(url, progress=progress)
    _check_md5(data, md5, url)
    return Sources(coursera, MovieLensSource.from_zip(data, url), zip_to_cache=data)


# --------------------------------------------------------------------------
# Loading the matrices
# --------------------------------------------------------------------------


def _loaded(load: Callable, path: Path):
    """``load(path)`` with a ValueError (the loaders' "bad content") raised as a DataError."""
    try:
        return load(path)
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def _whole_ratings(Y: np.ndarray, where: str) -> np.ndarray:
    """``Y`` as uint8, so the workbook holds integer cells; refuses ratings like 3.5."""
    if not np.array_equal(Y, np.round(Y)):
        raise DataError(f"{where}: ratings must be whole numbers (0 = not rated, 1-5)")
    return Y.astype(np.uint8)


def load_coursera(directory: Path) -> dict[str, object]:
    """Load Y, R, X, Theta and movie_ids.txt from the Coursera ex8 files.

    The ``.mat`` files go through :func:`helpers.load_ratings` and
    :func:`helpers.load_parameters`, ``movie_ids.txt`` through
    :func:`helpers.load_movie_titles` (ids 1, 2, ..., n), so the data step
    accepts exactly what the notebooks accept.

    Parameters
    ----------
    directory : Path
        Directory holding ``ex8_movies.mat``, ``ex8_movieParams.mat`` and
        ``movie_ids.txt``.

    Returns
    -------
    dict
        ``Y`` (uint8), ``R`` (bool), ``X``, ``Theta`` (float64),
        ``movie_ids`` (bytes, as in the file).

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    DataError
        If a file cannot be read, or shapes or values are not those of a
        ratings problem; the message names the file.
    """
    movies_path, params_path, ids_path = (Path(directory) / n for n in COURSERA_FILES)
    Y, R = _loaded(helpers.load_ratings, movies_path)
    X, Theta = _loaded(helpers.load_parameters, params_path)
    n_movies, n_users = Y.shape
    if X.shape[0] != n_movies or Theta.shape[0] != n_users:
        raise DataError(
            f"{params_path}: expected X ({n_movies}, k) and Theta ({n_users}, k), "
            f"got {X.shape} and {Theta.shape}"
        )
    if np.any(Y[~R] != 0):
        i, j = np.argwhere((Y != 0) & ~R)[0]
        raise DataError(f"{movies_path}: Y must be 0 where R is 0 (not rated); found {Y[i, j]:g} at movie row "
                        f"{i}, user column {j}")
    titles = _loaded(helpers.load_movie_titles, ids_path)
    ids = ids_path.read_bytes()
    _check_latin1(ids, str(ids_path))
    if len(titles) != n_movies or len(ids.splitlines()) != n_movies:
        raise DataError(f"{ids_path}: expected {n_movies} lines, one per movie, got {len(ids.splitlines())}")
    return {
        "Y": _whole_ratings(Y, str(movies_path)),
        "R": R,
        "X": np.asarray(X, dtype=np.float64),
        "Theta": np.asarray(Theta, dtype=np.float64),
        "movie_ids": ids,
    }


def _check_latin1(data: bytes, where: str) -> None:
    """Refuse a UTF-8 file where MovieLens and the course have Latin-1 (the notebooks teach the difference)."""
    if data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    raise DataError(f"{where}: the file is UTF-8 encoded, but MovieLens' and the course's files are Latin-1 "
                    "(ISO-8859-1), which notebook 02 teaches: use the original file, or convert it back "
                    "(iconv -f UTF-8 -t LATIN1)")


def _numbered_lines(data: bytes, name: str, n_fields: int | None = None, id_field: int = 0,
                    first_id: int = 1) -> list[list[bytes]]:
    """Split a ``|``-separated MovieLens file; check the fields per line and that ids run first_id, +1, ..."""
    rows = [line.rstrip(b"\r").split(b"|") for line in data.split(b"\n") if line.strip()]
    for lineno, row in enumerate(rows, start=1):
        if n_fields is not None and len(row) != n_fields:
            raise DataError(f"{name}, line {lineno}: expected {n_fields} '|'-separated fields; got {len(row)}")
    try:
        ids = [int(r[id_field]) for r in rows]
    except (ValueError, IndexError) as exc:
        raise DataError(f"{name}: field {id_field + 1} must be an integer id ({exc})") from exc
    if ids != list(range(first_id, first_id + len(ids))):
        raise DataError(f"{name}: ids must run {first_id}, {first_id + 1}, ..., n in order")
    return rows


def movie_ids_from_item(u_item: bytes) -> bytes:
    """Build ``movie_ids.txt`` (``"<id> <title>"`` lines) from ``u.item``.

    The bytes are kept as they are (Latin-1), never decoded.

    Parameters
    ----------
    u_item : bytes
        Content of ``u.item``.

    Returns
    -------
    bytes
    """
    rows = _numbered_lines(u_item, "u.item")
    if any(len(r) < 2 for r in rows):
        raise DataError("u.item: every line needs at least 'id|title'")
    return b"".join(r[0] + b" " + r[1] + b"\n" for r in rows)


def _info_totals(data: bytes, where: str) -> dict[str, int]:
    """``u.info``'s counts: ``{"users": 943, "items": 1682, "ratings": 100000}`` for MovieLens 100K."""
    totals = {}
    for line in data.decode("latin-1").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            totals[parts[1]] = int(parts[0])
    if not all(totals.get(key, 0) > 0 for key in ("users", "items", "ratings")):
        raise DataError(f"{where}: expected the lines '<n> users', '<n> items' and '<n> ratings'; got {data[:80]!r}")
    return totals


def _check_count(where: str, what: str, got: int, expected: int) -> None:
    if got != expected:
        raise DataError(f"{where}: {got:,} {what}, but u.info says {expected:,}: the file is truncated or "
                        "altered; use a fresh copy of ml-100k")


def _check_tables(ml: MovieLensSource, info: dict[str, int]) -> list[list[bytes]]:
    """``u.item`` (returned), ``u.user``, ``u.genre``, ``u.occupation`` and ``README``, line by line."""
    where = ml.where
    _check_latin1(ml.read("u.item"), where("u.item"))
    items = _numbered_lines(ml.read("u.item"), where("u.item"), 24)  # id, title, 2 dates, URL, 19 genres
    _check_count(where("u.item"), "movies", len(items), info["items"])
    _check_count(where("u.user"), "users", len(_numbered_lines(ml.read("u.user"), where("u.user"), 5)),
                 info["users"])
    _numbered_lines(ml.read("u.genre"), where("u.genre"), 2, id_field=1, first_id=0)
    occupations = [line for line in ml.read("u.occupation").split(b"\n") if line.strip()]
    if not occupations or any(b"|" in line for line in occupations):
        raise DataError(f"{where('u.occupation')}: expected one occupation per line")
    if not ml.read("README").strip():
        raise DataError(f"{where('README')}: the MovieLens README is empty")
    return items


def _check_ratings(ml: MovieLensSource, shape: tuple[int, int], n_ratings: int):
    """``u.data`` parsed (every line, id and rating checked), and every fold = ``u.data`` split in two."""
    from recsys_tutorial import research  # here, not at the top: it loads scipy.stats, which only this path needs

    folds = [name[:-len(".base")] for name in RAW_FILES if name.endswith(".base")]
    with ml.local_dir() as d:
        try:
            ratings = research.load_movielens_ratings(d / "u.data", shape)
            _check_count(ml.where("u.data"), "ratings", ratings.n_ratings, n_ratings)
            everything = np.lexsort((ratings.cols, ratings.rows))
            for fold in folds:
                train, test = research.load_movielens_split(d, fold, shape=shape)
                parts = [np.concatenate([train.rows, test.rows]), np.concatenate([train.cols, test.cols]),
                         np.concatenate([train.values, test.values])]
                order = np.lexsort((parts[1], parts[0]))
                if len(order) != len(everything) or not all(
                        np.array_equal(a[order], b[everything]) for a, b in
                        zip(parts, (ratings.rows, ratings.cols, ratings.values))):
                    raise DataError(f"{ml.where(fold + '.base')} and {fold}.test: together "
                                    f"{len(order):,} ratings that are not u.data's {n_ratings:,}: truncated or "
                                    "altered files; use a fresh copy of ml-100k")
        except DataError:
            raise
        except ValueError as exc:
            raise DataError(str(exc).replace(str(d), ml.label)) from exc
    return ratings


def load_movielens(ml: MovieLensSource) -> dict[str, object]:
    """Check every MovieLens file and build Y, R and movie_ids.txt from them.

    Checked: ``u.info``'s totals against the lines of ``u.item``, ``u.user``
    and ``u.data``; the fields of every line of ``u.item`` (and Latin-1),
    ``u.user``, ``u.genre`` and ``u.occupation``; ids running 1..n; every
    rating line (research.load_movielens_ratings: ids in range, ratings 1-5,
    no pair twice); and that each fold's base and test files split exactly
    ``u.data``. Files that are copied verbatim are so checked too.

    Returns
    -------
    dict
        ``Y`` (uint8), ``R`` (bool), ``movie_ids`` (bytes).

    Raises
    ------
    DataError
        Naming the file and, where there is one, the line.
    """
    info = _info_totals(ml.read("u.info"), ml.where("u.info"))
    items = _check_tables(ml, info)
    ratings = _check_ratings(ml, (len(items), info["users"]), info["ratings"])
    Y, R = ratings.to_dense()
    return {"Y": _whole_ratings(Y, ml.where("u.data")), "R": R, "movie_ids": movie_ids_from_item(ml.read("u.item"))}


# --------------------------------------------------------------------------
# Training (MovieLens-only path)
# --------------------------------------------------------------------------


def train_parameters(
    Y: np.ndarray,
    R: np.ndarray,
    num_features: int = NUM_FEATURES,
    lambda_: float = LAMBDA,
    num_iters: int = NUM_ITERS,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train movie features X and user parameters Theta on raw ratings.

    Calls :func:`helpers.train_lbfgs` (L-BFGS-B on the regularised
    collaborative-filtering cost).  Ratings are not mean-normalised, so
    ``X @ Theta.T`` approximates ``Y`` itself, as the Coursera parameters do.

    Parameters
    ----------
    Y : ndarray, shape (n_movies, n_users)
        Ratings, 0 where missing.
    R : ndarray, shape (n_movies, n_users)
        Rated flags.
    num_features : int
        Number of latent features.
    lambda_ : float
        Regularisation strength.
    num_iters : int
        L-BFGS iteration limit.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    X : ndarray, shape (n_movies, num_features)
    Theta : ndarray, shape (n_users, num_features)
    info : dict
        ``iterations`` run and the ``initial_cost`` and ``final_cost``.
    """
    X, Theta, history = helpers.train_lbfgs(
        np.asarray(Y, dtype=float), np.asarray(R, dtype=bool),
        num_features=num_features, lambda_=lambda_, num_iters=num_iters, seed=seed,
    )
    info = {"iterations": len(history) - 1, "initial_cost": float(history[0]),
            "final_cost": float(history[-1])}
    X = np.asarray(X, dtype=np.float64)
    Theta = np.asarray(Theta, dtype=np.float64)
    if X.shape != (Y.shape[0], num_features) or Theta.shape != (Y.shape[1], num_features):
        raise DataError(f"training returned X {X.shape} and Theta {Theta.shape}, expected "
                        f"{(Y.shape[0], num_features)} and {(Y.shape[1], num_features)}")
    if not (np.isfinite(X).all() and np.isfinite(Theta).all()):
        raise DataError("training produced non-finite parameters")
    if info["iterations"] < 1 or not np.isfinite(info["final_cost"]) or not info["final_cost"] < info["initial_cost"]:
        raise DataError(f"training did not train X and Theta (lambda={lambda_:g}: {info['iterations']} iterations, "
                        f"cost {info['initial_cost']:.4g} -> {info['final_cost']:.4g}), so they are not written; "
                        f"try the default --lambda {LAMBDA:g}")
    return X, Theta, info


def _timed_training(Y: np.ndarray, R: np.ndarray, lambda_: float, num_iters: int,
                    quiet: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`train_parameters` with the data step's settings, timed and reported."""
    start = time.perf_counter()
    X, Theta, info = train_parameters(Y, R, NUM_FEATURES, lambda_, num_iters, SEED)
    training = {"lambda": lambda_, "num_iters": num_iters, "num_features": NUM_FEATURES, "seed": SEED,
                **info, "seconds": round(time.perf_counter() - start, 3)}
    if not quiet:
        print(f"trained X, Theta with helpers.train_lbfgs (lambda={lambda_}, "
              f"{info['iterations']} iterations, cost {info['initial_cost']:.4g} -> "
              f"{info['final_cost']:.4g}, {training['seconds']:.1f} s)", flush=True)
    return X, Theta, training


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------


@dataclass
class _Outputs:
    """Writes each output file unless it already holds the right content, and reports it."""

    dest: Path
    force: bool
    quiet: bool
    files: dict[str, dict] = field(default_factory=dict)

    def write(self, name: str, label: str, write: Callable[[Path], None], valid: Callable[[Path], bool]) -> None:
        """Write ``dest/name`` with ``write`` unless ``valid`` says it is already right (and not ``force``)."""
        path = self.dest / name
        existed = path.exists()
        if not self.force and existed and valid(path):
            self._add(name, "skipped (valid)", label)
            return
        start = time.perf_counter()
        write(path)
        status = "written" if not existed else ("rewritten" if self.force else "replaced invalid")
        self._add(name, status, label, time.perf_counter() - start)

    def _add(self, name: str, status: str, source: str, seconds: float = 0.0) -> None:
        self.files[name] = {"status": status, "source": source, "seconds": round(seconds, 3)}
        if not self.quiet:
            timing = f", {seconds:.1f} s" if seconds >= 0.05 else ""
            print(f"{status:<17} {name:<20} (from {source}{timing})", flush=True)


def _inputs(src: Sources) -> tuple[dict, dict[str, str]]:
    """Every input parsed and checked, and where each derived output comes from.

    The MovieLens files are checked even when the Coursera files give the
    workbooks: they are copied to the destination too.
    """
    c, ml = src.coursera, src.movielens
    from_movielens = load_movielens(ml)
    if c is not None:
        labels = {"ids": str(c / MOVIE_IDS), "ratings": str(c / "ex8_movies.mat"),
                  "params": str(c / "ex8_movieParams.mat")}
        return load_coursera(c), labels
    labels = {"ids": f"u.item of {ml.label}", "ratings": f"u.data of {ml.label}",
              "params": f"training on u.data of {ml.label}"}
    return from_movielens, labels


def _write_raw(out: _Outputs, src: Sources) -> None:
    """The downloaded zip (when there is one) and the MovieLens files, copied verbatim."""
    ml = src.movielens
    if src.zip_to_cache is not None:
        data = src.zip_to_cache
        out.write(ZIP_CACHE_NAME, ml.label, lambda p: write_bytes_atomic(p, data),
                  lambda p: p.stat().st_size == len(data) and md5_hex(p.read_bytes()) == md5_hex(data))
    for out_name, ml_name in RAW_FILES.items():
        out.write(out_name, ml.where(ml_name),
                  lambda p, n=ml_name: write_bytes_atomic(p, ml.read(n)),
                  lambda p, n=ml_name: ml.same_as(n, p))


def _write_ratings(out: _Outputs, arrays: dict, labels: dict[str, str], progress: bool) -> None:
    """``movie_ids.txt`` and ``ex8_movies.xlsx``."""
    ids = arrays["movie_ids"]
    out.write(MOVIE_IDS, labels["ids"], lambda p: write_bytes_atomic(p, ids), lambda p: p.read_bytes() == ids)
    Y, R = arrays["Y"], arrays["R"]
    out.write(RATINGS_BOOK, labels["ratings"],
              lambda p: write_xlsx(p, {"y": Y, "R": R}, progress=progress),
              lambda p: workbook_matches(p, {"y": (Y, Y.shape), "R": (R, R.shape)}))


def _write_parameters(out: _Outputs, arrays: dict, label: str, lambda_: float, num_iters: int,
                      progress: bool, quiet: bool) -> dict | None:
    """``movie_params.xlsx``: the course's X/Theta, or X/Theta trained only when the file must be written.

    Returns the training settings and result, or None when nothing was trained.
    """
    if "X" in arrays:
        X, Theta = arrays["X"], arrays["Theta"]
        out.write(PARAMS_BOOK, label, lambda p: write_xlsx(p, {"X": X, "theta": Theta}, progress=progress),
                  lambda p: workbook_matches(p, {"X": (X, X.shape), "theta": (Theta, Theta.shape)}))
        return None
    Y, R = arrays["Y"], arrays["R"]
    training: dict = {}

    def train_and_write(p: Path) -> None:
        X, Theta, info = _timed_training(Y, R, lambda_, num_iters, quiet)
        training.update(info)
        write_xlsx(p, {"X": X, "theta": Theta}, progress=progress)

    out.write(PARAMS_BOOK, label, train_and_write, lambda p: parameters_trained(p, Y, R, lambda_))
    return training or None


def parameters_trained(path: Path, Y: np.ndarray, R: np.ndarray, lambda_: float) -> bool:
    """Tell whether an existing ``movie_params.xlsx`` holds trained parameters for ``(Y, R)``.

    Its sheets must hold finite X (n_movies x 10) and theta (n_users x 10),
    and their cost on ``(Y, R)`` with ``lambda_`` must lie below that of the
    seeded random start training begins from: a file holding untrained
    parameters (as an earlier version wrote when training failed) is
    invalid, and replaced.
    """
    shapes = {"X": (None, (Y.shape[0], NUM_FEATURES)), "theta": (None, (Y.shape[1], NUM_FEATURES))}
    if not workbook_matches(path, shapes):
        return False
    X, Theta = helpers.load_parameters(path)
    X0, Theta0 = helpers.init_parameters(*Y.shape, NUM_FEATURES, seed=SEED)
    Y, R = np.asarray(Y, dtype=float), np.asarray(R, dtype=bool)
    return helpers.cofi_cost(X, Theta, Y, R, lambda_) < helpers.cofi_cost(X0, Theta0, Y, R, lambda_)


def _write_record(out: _Outputs, origin: str) -> None:
    """``sources.json``: whose X and Θ ``movie_params.xlsx`` holds, 'course' or 'trained'
    (:func:`recsys_tutorial.paths.parameters_origin` reads it for the notebooks' text and the tests).

    A trained-path run that kept an existing ``movie_params.xlsx`` keeps its recorded origin: the
    file may hold the course's parameters from an earlier build (they pass the trained-file check).
    """
    if origin == "trained" and out.files[PARAMS_BOOK]["status"] == "skipped (valid)":
        origin = paths.parameters_origin(out.dest)
    record = {"about": "written by data/build_data.py: where movie_params.xlsx's X and theta came from "
                       "('course': ex8_movieParams.mat; 'trained': helpers.train_lbfgs on the ratings)",
              "parameters": origin}
    data = (json.dumps(record, indent=1) + "\n").encode("ascii")
    out.write(paths.SOURCES, f"X and theta: {origin}", lambda p: write_bytes_atomic(p, data),
              lambda p: p.read_bytes() == data)


def _prepare_dest(dest: Path, quiet: bool) -> list[str]:
    """Create ``dest`` if needed and remove the temporary files interrupted runs left there."""
    dest.mkdir(parents=True, exist_ok=True)
    stale = remove_stale_parts(dest, [*RAW_FILES, MOVIE_IDS, RATINGS_BOOK, PARAMS_BOOK, ZIP_CACHE_NAME, paths.SOURCES])
    if stale and not quiet:
        print(f"removed {len(stale)} temporary file(s) left by an interrupted run: {', '.join(stale)}", flush=True)
    return stale


def _checked_settings(dest, source, shared_dir, url, md5, force, lambda_, num_iters, progress,
                      quiet) -> tuple[float, int]:
    """Every argument of :func:`build` checked before anything is read or written; ``(lambda_, num_iters)``."""
    for name, value in (("dest", dest), ("source", source), ("shared_dir", shared_dir)):
        if not isinstance(value, (str, os.PathLike)) and (value is not None or name == "dest"):
            raise ValueError(f"{name} must be a path (str or pathlib.Path); got {value!r}")
    if url is not None and not isinstance(url, str):
        raise ValueError(f"url (--url) must be a str; got {url!r}")
    if md5 is not None and not (isinstance(md5, str) and re.fullmatch(r"[0-9a-fA-F]{32}", md5)):
        raise ValueError(f"md5 (--md5) must be 32 hexadecimal digits, or None ('none') to skip the check; "
                         f"got {md5!r}")
    for name, value in (("force", force), ("progress", progress), ("quiet", quiet)):
        as_bool(value, name)
    return (as_float(lambda_, "lambda_ (--lambda)", low=0, high=MAX_LAMBDA),
            as_int(num_iters, "num_iters (--num-iters)", low=1, high=MAX_NUM_ITERS))


def build(
    dest: Path = DEFAULT_DEST,
    source: Path | None = None,
    *,
    shared_dir: Path | None = DEFAULT_SHARED,
    url: str | None = None,
    md5: str | None = ML100K_MD5,
    force: bool = False,
    lambda_: float = LAMBDA,
    num_iters: int = NUM_ITERS,
    progress: bool = True,
    quiet: bool = False,
) -> dict:
    """Fill ``dest`` with the workbooks, movie list and raw MovieLens files.

    All sources are located and checked before anything is written; each
    file is then written atomically.  Files that already hold the right
    content are skipped unless ``force``.

    Parameters
    ----------
    dest : Path
        Output directory (created if needed).
    source : Path, optional
        Explicit source, see :func:`resolve_sources`.
    shared_dir : Path or None
        Shared data directory tried when ``source`` is None; None disables.
    url : str, optional
        Download address used when no local MovieLens copy is found.
    md5 : str or None
        Expected MD5 of the downloaded zip; None skips the check.
    force : bool
        Rewrite every file even when it is already valid.
    lambda_ : float
        Regularisation for training X/Theta (MovieLens-only path).
    num_iters : int
        L-BFGS iteration limit for that training.
    progress : bool
        Show tqdm progress bars.
    quiet : bool
        Do not print the per-file lines.

    Returns
    -------
    dict
        ``dest``, ``sources`` (descriptions), ``files`` (name -> status,
        source, seconds), ``removed`` (temporary files an interrupted run
        had left), ``training`` (None, or the settings and result of
        training) and ``seconds`` (total).

    Raises
    ------
    ValueError, FileNotFoundError, DataError
        A bad setting, or a source missing or failing its checks: nothing is written.
    """
    t0 = time.perf_counter()
    lambda_, num_iters = _checked_settings(dest, source, shared_dir, url, md5, force, lambda_, num_iters,
                                           progress, quiet)
    dest = Path(dest)
    src = resolve_sources(dest, source, shared_dir, url, md5, progress)
    # Parse every input before writing anything, so a bad source leaves
    # the destination untouched.
    arrays, labels = _inputs(src)
    stale = _prepare_dest(dest, quiet)
    out = _Outputs(dest, force, quiet)
    _write_raw(out, src)
    _write_ratings(out, arrays, labels, progress)
    training = _write_parameters(out, arrays, labels["params"], lambda_, num_iters, progress, quiet)
    _write_record(out, "course" if "X" in arrays else "trained")
    return {
        "dest": str(dest),
        "sources": {
            "coursera": None if src.coursera is None else str(src.coursera),
            "movielens": src.movielens.label,
            "downloaded": src.zip_to_cache is not None,
        },
        "files": out.files,
        "removed": stale,
        "training": training,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on a data error or a bad setting (printed as
        ``error: ...``).
    """
    parser = argparse.ArgumentParser(
        description="Fill data/ with the ex8 workbooks, movie list and MovieLens 100K files."
    )
    parser.add_argument(
        "--source", type=Path,
        help="shared/data-like dir, ml-100k dir, coursera-ex8 dir or ml-100k.zip",
    )
    parser.add_argument(
        "--dest", type=Path, default=DEFAULT_DEST, help="output directory (default: <repo>/data)"
    )
    parser.add_argument("--force", action="store_true", help="rewrite files even when they are valid")
    parser.add_argument("--no-shared", action="store_true", help="ignore <repo>/../shared/data")
    parser.add_argument("--url", default=None, help="ml-100k.zip address (default: $ML100K_URL or GroupLens)")
    parser.add_argument("--md5", default=None,
                        help="expected MD5 of the zip ('none' to skip; default: $ML100K_MD5 or GroupLens' zip's)")
    parser.add_argument("--lambda", dest="lambda_", type=float, default=LAMBDA,
                        help="regularisation when training X/Theta from MovieLens alone")
    parser.add_argument("--num-iters", "--max-iter", dest="num_iters", type=int, default=NUM_ITERS,
                        help="L-BFGS iterations for that training (--max-iter: old spelling, deprecated)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    try:
        md5 = download_md5(ML100K_MD5) if args.md5 is None else None if args.md5.lower() == "none" else args.md5
        summary = build(
            args.dest, args.source,
            shared_dir=None if args.no_shared else DEFAULT_SHARED,
            url=args.url, md5=md5, force=args.force,
            lambda_=args.lambda_, num_iters=args.num_iters, progress=not args.no_progress,
        )
    except (ValueError, OSError) as exc:  # DataError is a ValueError; OSError covers FileNotFoundError
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n_written = sum(f["status"] != "skipped (valid)" for f in summary["files"].values())
    print(f"done in {summary['seconds']:.1f} s: {n_written} written, "
          f"{len(summary['files']) - n_written} skipped, in {summary['dest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
