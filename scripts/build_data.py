"""Fill ``data/`` with the files the notebooks read.

Usage::

    python scripts/build_data.py [--source DIR_OR_ZIP] [--dest DIR] [--force]

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

When the Coursera ``.mat`` files are available the workbooks hold exactly
their ``Y``, ``R``, ``X`` and ``Theta``.  From MovieLens alone ``Y`` and
``R`` are the pivot of ``u.data`` (the same matrices) and ``X``/``Theta``
are trained here with L-BFGS.

Every file is written to a ``*.part`` temporary file in the destination and
moved into place with :func:`os.replace`, so an interrupted or failed run
never leaves a half-written file.  Files that already exist and hold what
would be written are skipped unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO_ROOT / "data"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_MD5 = "0e33842e24a9c977be4e0107933c0723"
ZIP_CACHE_NAME = "ml-100k.zip"
DOWNLOAD_TIMEOUT = 60.0
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024

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
MAX_ITER = 200


class DataError(ValueError):
    """A source or output file is unusable; the message names the file."""


# --------------------------------------------------------------------------
# Atomic writing
# --------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` and move it into place on success.

    Parameters
    ----------
    path : Path
        Final location of the file.

    Yields
    ------
    BinaryIO
        A binary file object opened for writing.  It lives in the same
        directory as ``path`` with a ``.part`` suffix.

    Notes
    -----
    If the body raises (including ``KeyboardInterrupt``) the temporary file
    is deleted and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = tempfile.NamedTemporaryFile(
        mode="wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : Path
        Destination file.
    data : bytes
        Content to write.
    """
    with atomic_write(path) as fh:
        fh.write(data)


# --------------------------------------------------------------------------
# Minimal .xlsx writer and reader
# --------------------------------------------------------------------------

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_STYLES_XML = (
    _XML_DECL + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def column_letters(n: int) -> list[str]:
    """Return the spreadsheet column names of the first ``n`` columns.

    Parameters
    ----------
    n : int
        Number of columns.

    Returns
    -------
    list of str
        ``["A", "B", ..., "Z", "AA", ...]``.
    """
    names = []
    for j in range(1, n + 1):
        name = ""
        while j:
            j, rem = divmod(j - 1, 26)
            name = chr(65 + rem) + name
        names.append(name)
    return names


def _row_renderer(values: np.ndarray) -> Callable[[int, list, list[str]], str]:
    """Return a function rendering one row of ``values`` as SpreadsheetML cells."""
    if values.dtype == bool:
        return lambda r, row, cols: "".join(
            [f'<c r="{c}{r}" t="b"><v>{1 if v else 0}</v></c>' for c, v in zip(cols, row)]
        )
    if np.issubdtype(values.dtype, np.integer):
        return lambda r, row, cols: "".join(
            [f'<c r="{c}{r}"><v>{v}</v></c>' for c, v in zip(cols, row)]
        )
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)):
            raise DataError("refusing to write NaN or infinite values to a workbook")
        # repr() of a Python float is the shortest text that reads back as
        # exactly the same double, so the workbook round-trips bit for bit.
        return lambda r, row, cols: "".join(
            [f'<c r="{c}{r}"><v>{v!r}</v></c>' for c, v in zip(cols, row)]
        )
    raise DataError(f"cannot write values of dtype {values.dtype} to a workbook")


def write_xlsx(
    path: Path,
    sheets: dict[str, np.ndarray],
    progress: bool = True,
) -> None:
    """Write 2-D arrays as sheets of an .xlsx workbook, atomically.

    Each array becomes one sheet with no header row and no index column:
    cell ``A1`` holds ``array[0, 0]``.  Boolean arrays are written as
    TRUE/FALSE cells, integer and float arrays as numbers.

    Parameters
    ----------
    path : Path
        Destination workbook.
    sheets : dict of str to ndarray
        Sheet name -> 2-D array, in sheet order.
    progress : bool, default True
        Show a tqdm progress bar over the rows written.

    Notes
    -----
    The SpreadsheetML parts are generated directly rather than through
    openpyxl or XlsxWriter, for two measured reasons. Exactness: both
    libraries format numbers with ``"%.16g"``, which does not round-trip
    37.5 % of the course's ``X``/``Theta`` doubles (9,857 of 26,250), while
    ``repr`` here is the shortest text that reads back bit for bit, so the
    workbooks hold exactly the ``.mat`` values. Speed: for the 1682 x 943
    ratings workbook openpyxl's write-only mode takes about 40 s on this
    project's machines (pandas ``to_excel`` about 85 s, XlsxWriter's
    constant-memory mode about 28 s of CPU), this writer about 2 s. The
    files read back identically with openpyxl, calamine and LibreOffice Calc.
    """
    from tqdm.auto import tqdm

    names = list(sheets)
    arrays = [np.asarray(sheets[name]) for name in names]
    for name, arr in zip(names, arrays):
        if arr.ndim != 2 or 0 in arr.shape:
            raise DataError(f"{Path(path).name}: sheet {name!r} must be a non-empty 2-D array")
    content_types = (
        _XML_DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(names) + 1)
        )
        + "</Types>"
    )
    root_rels = (
        _XML_DECL + f'<Relationships xmlns="{_NS_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook = (
        _XML_DECL + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><sheets>'
        + "".join(
            f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, 1)
        )
        + "</sheets></workbook>"
    )
    workbook_rels = (
        _XML_DECL + f'<Relationships xmlns="{_NS_PKG_REL}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        + f'<Relationship Id="rId{len(names) + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    total_rows = sum(arr.shape[0] for arr in arrays)
    with atomic_write(path) as fh, zipfile.ZipFile(
        fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
    ) as zf, tqdm(
        total=total_rows,
        desc=f"writing {Path(path).name}",
        unit="row",
        disable=not progress,
        leave=False,
    ) as bar:
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr("_rels/.rels", root_rels)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        zf.writestr("xl/styles.xml", _STYLES_XML)
        for i, arr in enumerate(arrays, 1):
            render = _row_renderer(arr)
            cols = column_letters(arr.shape[1])
            dim = f"A1:{cols[-1]}{arr.shape[0]}"
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as part:
                part.write(
                    (
                        _XML_DECL
                        + f'<worksheet xmlns="{_NS_MAIN}"><dimension ref="{dim}"/><sheetData>'
                    ).encode()
                )
                for r, row in enumerate(arr.tolist(), 1):
                    part.write(f'<row r="{r}">{render(r, row, cols)}</row>'.encode())
                    bar.update(1)
                part.write(b"</sheetData></worksheet>")


def read_xlsx(path: Path) -> dict[str, list[list[object]]]:
    """Read every sheet of a workbook with calamine.

    Parameters
    ----------
    path : Path
        Workbook to read.

    Returns
    -------
    dict of str to list of list
        Sheet name -> rows of cell values (numbers come back as ``float``,
        TRUE/FALSE as ``bool``).

    Raises
    ------
    DataError
        If the file cannot be opened as a workbook.
    """
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    except Exception as exc:  # calamine raises its own exception types
        raise DataError(f"{path}: cannot be read as an .xlsx workbook ({exc})") from exc


def _sheet_array(rows: list[list[object]], kind: str) -> np.ndarray | None:
    """Convert calamine rows to an array of ``kind`` ('bool' or 'float'), or None."""
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        return None
    if kind == "bool":
        if not all(type(v) is bool for row in rows for v in row):
            return None
        return np.array(rows, dtype=bool)
    if not all(type(v) in (int, float) for row in rows for v in row):
        return None
    return np.array(rows, dtype=float)


def workbook_matches(path: Path, expected: dict[str, tuple[np.ndarray | None, tuple[int, int]]]) -> bool:
    """Tell whether an existing workbook holds the expected sheets.

    Parameters
    ----------
    path : Path
        Workbook to check.
    expected : dict
        Sheet name -> ``(values, shape)``.  ``values`` is the exact array the
        sheet must hold, or None to check only the shape and that every cell
        is a finite number.

    Returns
    -------
    bool
        True when the file exists, opens, and every sheet matches.
    """
    if not Path(path).is_file():
        return False
    try:
        book = read_xlsx(path)
    except DataError:
        return False
    if list(book) != list(expected):
        return False
    for name, (values, shape) in expected.items():
        kind = "bool" if values is not None and values.dtype == bool else "float"
        arr = _sheet_array(book[name], kind)
        if arr is None or arr.shape != tuple(shape):
            return False
        if values is None:
            if not np.all(np.isfinite(arr)):
                return False
        elif not np.array_equal(arr, values.astype(arr.dtype)):
            return False
    return True


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------


def _unsafe_member(name: str) -> bool:
    """Tell whether a zip member name is absolute or climbs out with ``..``."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[0].isalpha() and name[1] == ":"):
        return True
    parts = name.replace("\\", "/").split("/")
    return ".." in parts


class MovieLensSource:
    """Read access to the MovieLens 100K files, from a directory or a zip.

    Use :meth:`from_dir` or :meth:`from_zip`; both check that every file in
    :data:`RAW_FILES` is present (and, for a zip, intact) before returning,
    so nothing is written from a source that would fail half-way.
    """

    def __init__(self, label: str, reader: Callable[[str], bytes], checker: Callable[[str, Path], bool]):
        self.label = label
        self._reader = reader
        self._checker = checker
        self._cache: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        """Return the bytes of MovieLens file ``name`` (e.g. ``"u.data"``)."""
        if name not in self._cache:
            self._cache[name] = self._reader(name)
        return self._cache[name]

    def same_as(self, name: str, path: Path) -> bool:
        """Tell whether ``path`` holds exactly MovieLens file ``name``."""
        return Path(path).is_file() and self._checker(name, Path(path))

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

        def reader(name: str) -> bytes:
            return (directory / name).read_bytes()

        def checker(name: str, path: Path) -> bool:
            src = directory / name
            if src.stat().st_size != path.stat().st_size:
                return False
            return src.read_bytes() == path.read_bytes()

        return cls(str(directory), reader, checker)

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
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise DataError(f"{label}: not a readable zip file, truncated or corrupt ({exc})") from exc
        unsafe = [i.filename for i in infos if _unsafe_member(i.filename)]
        if unsafe:
            raise DataError(
                f"{label}: refusing a zip with member paths that are absolute or contain "
                f"'..': {', '.join(repr(n) for n in unsafe)}"
            )
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise DataError(f"{label}: zip unpacks to more than {MAX_UNPACKED_BYTES} bytes")
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
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError,
                ValueError) as exc:
            raise DataError(f"{label}: zip content is corrupt ({exc})") from exc
        if bad is not None:
            raise DataError(f"{label}: zip member {bad!r} is corrupt (CRC mismatch)")

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
        raise DataError(f"{url}: download failed with HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed ({reason})") from exc


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


def _coursera_dir(directory: Path) -> Path | None:
    """Return the Coursera ex8 directory inside (or at) ``directory``, if any."""
    for cand in (directory / "coursera-ex8", directory):
        if cand.is_dir() and any((cand / n).exists() for n in COURSERA_FILES[:2]):
            missing = [n for n in COURSERA_FILES if not (cand / n).is_file()]
            if missing:
                raise FileNotFoundError(f"{cand}: Coursera ex8 directory is missing {', '.join(missing)}")
            return cand
    return None


def _movielens_local(path: Path, md5: str | None) -> MovieLensSource | None:
    """Return the MovieLens source found at ``path`` (dir or zip), if any.

    A zip is checked against ``md5`` (when not None) like a download.
    """
    if path.is_file():
        data = path.read_bytes()
        _check_md5(data, md5, str(path))
        return MovieLensSource.from_zip(data, str(path))
    if (path / "ml-100k").is_dir():
        return MovieLensSource.from_dir(path / "ml-100k")
    if any((path / n).exists() for n in ("u.data", "u.item", "u.user")):
        return MovieLensSource.from_dir(path)
    if (path / ZIP_CACHE_NAME).is_file():
        return _movielens_local(path / ZIP_CACHE_NAME, md5)
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
    coursera = None
    movielens = None
    local = None
    if source is not None:
        local = Path(source)
        if not local.exists():
            raise FileNotFoundError(f"{local}: source does not exist")
    elif shared_dir is not None and Path(shared_dir).is_dir():
        local = Path(shared_dir)
    if local is not None:
        if local.is_dir():
            coursera = _coursera_dir(local)
        movielens = _movielens_local(local, md5)
        if source is not None and coursera is None and movielens is None:
            raise FileNotFoundError(
                f"{local}: no coursera-ex8/ or ml-100k/ directory, MovieLens files or "
                "ml-100k.zip found there"
            )
    if movielens is not None:
        return Sources(coursera, movielens)

    cached = Path(dest) / ZIP_CACHE_NAME
    if cached.is_file():
        data = cached.read_bytes()
        if md5 is not None and md5_hex(data) == md5.lower():
            with contextlib.suppress(DataError):
                return Sources(coursera, MovieLensSource.from_zip(data, str(cached)))

    url = url or os.environ.get("ML100K_URL") or ML100K_URL
    data = download(url, progress=progress)
    _check_md5(data, md5, url)
    return Sources(coursera, MovieLensSource.from_zip(data, url), zip_to_cache=data)


# --------------------------------------------------------------------------
# Loading the matrices
# --------------------------------------------------------------------------


def load_mat(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load variables from a MATLAB file, naming the file on any problem.

    Parameters
    ----------
    path : Path
        The ``.mat`` file.
    keys : tuple of str
        Variables that must be present.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    DataError
        If it cannot be read or lacks a variable.
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several types for bad files
        raise DataError(f"{path}: cannot be read as a MATLAB .mat file ({exc})") from exc
    missing = [k for k in keys if k not in mat]
    if missing:
        raise DataError(f"{path}: expected variables {', '.join(keys)}; missing {', '.join(missing)}")
    return {k: np.asarray(mat[k]) for k in keys}


def load_coursera(directory: Path) -> dict[str, object]:
    """Load Y, R, X, Theta and movie_ids.txt from the Coursera ex8 files.

    Parameters
    ----------
    directory : Path
        Directory holding ``ex8_movies.mat``, ``ex8_movieParams.mat`` and
        ``movie_ids.txt``.

    Returns
    -------
    dict
        ``Y`` (uint8), ``R`` (bool), ``X``, ``Theta`` (float64),
        ``movie_ids`` (bytes).

    Raises
    ------
    DataError
        If shapes or values are not those of a ratings problem.
    """
    directory = Path(directory)
    movies_path = directory / "ex8_movies.mat"
    params_path = directory / "ex8_movieParams.mat"
    ids_path = directory / "movie_ids.txt"
    m = load_mat(movies_path, ("Y", "R"))
    p = load_mat(params_path, ("X", "Theta"))
    Y, R, X, Theta = m["Y"], m["R"], p["X"], p["Theta"]
    if Y.ndim != 2 or Y.shape != R.shape:
        raise DataError(
            f"{movies_path}: Y and R must be 2-D with the same shape, got {Y.shape} and {R.shape}"
        )
    if not np.isin(R, (0, 1)).all():
        raise DataError(f"{movies_path}: R must hold only 0 and 1")
    if Y.min() < 0 or Y.max() > 5:
        raise DataError(f"{movies_path}: Y must hold ratings between 0 and 5")
    n_movies, n_users = Y.shape
    if (
        X.ndim != 2
        or Theta.ndim != 2
        or X.shape[0] != n_movies
        or Theta.shape[0] != n_users
        or X.shape[1] != Theta.shape[1]
    ):
        raise DataError(
            f"{params_path}: expected X ({n_movies}, k) and Theta ({n_users}, k), "
            f"got {X.shape} and {Theta.shape}"
        )
    if not (np.isfinite(X).all() and np.isfinite(Theta).all()):
        raise DataError(f"{params_path}: X and Theta must be finite")
    if not ids_path.is_file():
        raise FileNotFoundError(f"{ids_path}: file not found")
    ids = ids_path.read_bytes()
    if len(ids.splitlines()) != n_movies:
        raise DataError(f"{ids_path}: expected {n_movies} lines, one per movie, got {len(ids.splitlines())}")
    return {
        "Y": Y.astype(np.uint8),
        "R": R.astype(bool),
        "X": X.astype(np.float64),
        "Theta": Theta.astype(np.float64),
        "movie_ids": ids,
    }


def _numbered_lines(data: bytes, name: str) -> list[list[bytes]]:
    """Split a ``|``-separated MovieLens file and check ids run 1..n."""
    rows = [line.rstrip(b"\r").split(b"|") for line in data.split(b"\n") if line.strip()]
    try:
        ids = [int(r[0]) for r in rows]
    except ValueError as exc:
        raise DataError(f"{name}: first field must be an integer id ({exc})") from exc
    if ids != list(range(1, len(ids) + 1)):
        raise DataError(f"{name}: ids must run 1, 2, ..., n in order")
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


def ratings_from_movielens(u_data: bytes, n_movies: int, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Pivot ``u.data`` into the movies x users matrices Y and R.

    Parameters
    ----------
    u_data : bytes
        Content of ``u.data``: ``user item rating timestamp`` per line.
    n_movies, n_users : int
        Matrix shape (lines of ``u.item`` and ``u.user``).

    Returns
    -------
    Y : ndarray of uint8, shape (n_movies, n_users)
        ``Y[i - 1, u - 1]`` is user ``u``'s rating of movie ``i``, 0 if none.
    R : ndarray of bool, shape (n_movies, n_users)
        True where a rating exists.

    Raises
    ------
    DataError
        If ``u.data`` is malformed, has ids out of range, ratings outside
        1-5 or the same (user, movie) pair twice.
    """
    try:
        flat = np.array(u_data.split(), dtype=np.int64)
    except ValueError as exc:
        raise DataError(f"u.data: expected whitespace-separated integers ({exc})") from exc
    if flat.size == 0 or flat.size % 4:
        raise DataError("u.data: expected 4 fields per line (user, item, rating, timestamp)")
    users, items, ratings = flat.reshape(-1, 4)[:, :3].T
    if users.min() < 1 or users.max() > n_users or items.min() < 1 or items.max() > n_movies:
        raise DataError(f"u.data: user ids must be in 1..{n_users} and item ids in 1..{n_movies}")
    if ratings.min() < 1 or ratings.max() > 5:
        raise DataError("u.data: ratings must be between 1 and 5")
    keys = (items - 1) * n_users + (users - 1)
    if np.unique(keys).size != keys.size:
        raise DataError("u.data: some (user, item) pair is rated twice")
    Y = np.zeros((n_movies, n_users), dtype=np.uint8)
    Y[items - 1, users - 1] = ratings
    return Y, Y > 0


def load_movielens(ml: MovieLensSource) -> dict[str, object]:
    """Build Y, R and movie_ids.txt from MovieLens files.

    Parameters
    ----------
    ml : MovieLensSource

    Returns
    -------
    dict
        ``Y`` (uint8), ``R`` (bool), ``movie_ids`` (bytes).
    """
    movie_ids = movie_ids_from_item(ml.read("u.item"))
    n_movies = len(movie_ids.splitlines())
    n_users = len(_numbered_lines(ml.read("u.user"), "u.user"))
    Y, R = ratings_from_movielens(ml.read("u.data"), n_movies, n_users)
    return {"Y": Y, "R": R, "movie_ids": movie_ids}


# --------------------------------------------------------------------------
# Training (MovieLens-only path)
# --------------------------------------------------------------------------


def train_parameters(
    Y: np.ndarray,
    R: np.ndarray,
    num_features: int = NUM_FEATURES,
    lambda_: float = LAMBDA,
    max_iter: int = MAX_ITER,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train movie features X and user parameters Theta on raw ratings.

    Calls ``helpers.train_lbfgs`` (L-BFGS-B on the regularised
    collaborative-filtering cost) from the repository root.  Ratings are not
    mean-normalised, so ``X @ Theta.T`` approximates ``Y`` itself, as the
    Coursera parameters do.

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
    max_iter : int
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
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from helpers import train_lbfgs

    X, Theta, history = train_lbfgs(
        np.asarray(Y, dtype=float), np.asarray(R, dtype=bool),
        num_features=num_features, lambda_=lambda_, max_iter=max_iter, seed=seed,
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
    return X, Theta, info


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------


@dataclass
class _Report:
    """Collects one entry per output file and prints it."""

    quiet: bool
    files: dict[str, dict] = field(default_factory=dict)

    def add(self, name: str, status: str, source: str, seconds: float = 0.0) -> None:
        self.files[name] = {"status": status, "source": source, "seconds": round(seconds, 3)}
        if not self.quiet:
            timing = f", {seconds:.1f} s" if seconds >= 0.05 else ""
            print(f"{status:<17} {name:<20} (from {source}{timing})", flush=True)


def build(
    dest: Path = DEFAULT_DEST,
    source: Path | None = None,
    *,
    shared_dir: Path | None = DEFAULT_SHARED,
    url: str | None = None,
    md5: str | None = ML100K_MD5,
    force: bool = False,
    lambda_: float = LAMBDA,
    max_iter: int = MAX_ITER,
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
    max_iter : int
        L-BFGS iteration limit for that training.
    progress : bool
        Show tqdm progress bars.
    quiet : bool
        Do not print the per-file lines.

    Returns
    -------
    dict
        ``dest``, ``sources`` (descriptions), ``files`` (name -> status,
        source, seconds), ``training`` (None, or the settings and result of training) and
        ``seconds`` (total).
    """
    t0 = time.perf_counter()
    dest = Path(dest)
    src = resolve_sources(dest, source, shared_dir, url, md5, progress)
    ml = src.movielens
    report = _Report(quiet)

    # Parse every input before writing anything, so a bad source leaves
    # the destination untouched.
    training = None
    if src.coursera is not None:
        arrays = load_coursera(src.coursera)
        c = src.coursera
        ids_label = str(c / "movie_ids.txt")
        ratings_label = str(c / "ex8_movies.mat")
        params_label = str(c / "ex8_movieParams.mat")
    else:
        arrays = load_movielens(ml)
        ids_label = f"u.item of {ml.label}"
        ratings_label = f"u.data of {ml.label}"
        params_label = f"training on u.data of {ml.label}"
    dest.mkdir(parents=True, exist_ok=True)

    def timed_write(name: str, label: str, write: Callable[[Path], None], valid: Callable[[Path], bool]):
        path = dest / name
        existed = path.exists()
        if not force and existed and valid(path):
            report.add(name, "skipped (valid)", label)
            return
        start = time.perf_counter()
        write(path)
        status = "written" if not existed else ("rewritten" if force else "replaced invalid")
        report.add(name, status, label, time.perf_counter() - start)

    if src.zip_to_cache is not None:
        data = src.zip_to_cache
        timed_write(
            ZIP_CACHE_NAME, ml.label,
            lambda p: write_bytes_atomic(p, data),
            lambda p: p.stat().st_size == len(data) and md5_hex(p.read_bytes()) == md5_hex(data),
        )

    for out_name, ml_name in RAW_FILES.items():
        timed_write(
            out_name, f"{ml.label}/{ml_name}" if Path(ml.label).is_dir() else f"{ml_name} in {ml.label}",
            lambda p, n=ml_name: write_bytes_atomic(p, ml.read(n)),
            lambda p, n=ml_name: ml.same_as(n, p),
        )

    ids = arrays["movie_ids"]
    timed_write(MOVIE_IDS, ids_label, lambda p: write_bytes_atomic(p, ids),
                lambda p: p.read_bytes() == ids)

    Y, R = arrays["Y"], arrays["R"]
    timed_write(
        RATINGS_BOOK, ratings_label,
        lambda p: write_xlsx(p, {"y": Y, "R": R}, progress=progress),
        lambda p: workbook_matches(p, {"y": (Y, Y.shape), "R": (R, R.shape)}),
    )

    if src.coursera is not None:
        X, Theta = arrays["X"], arrays["Theta"]
        params_expected = {"X": (X, X.shape), "theta": (Theta, Theta.shape)}
        params_write = lambda p: write_xlsx(p, {"X": X, "theta": Theta}, progress=progress)  # noqa: E731
    else:
        k = NUM_FEATURES
        params_expected = {"X": (None, (Y.shape[0], k)), "theta": (None, (Y.shape[1], k))}

        def params_write(p: Path) -> None:
            nonlocal training
            start = time.perf_counter()
            X, Theta, info = train_parameters(Y, R, k, lambda_, max_iter, SEED)
            training = {"lambda": lambda_, "max_iter": max_iter, "num_features": k, "seed": SEED,
                        **info, "seconds": round(time.perf_counter() - start, 3)}
            if not quiet:
                print(f"trained X, Theta with helpers.train_lbfgs (lambda={lambda_}, "
                      f"{info['iterations']} iterations, cost {info['initial_cost']:.4g} -> "
                      f"{info['final_cost']:.4g}, {training['seconds']:.1f} s)", flush=True)
            write_xlsx(p, {"X": X, "theta": Theta}, progress=progress)

    timed_write(PARAMS_BOOK, params_label, params_write,
                lambda p: workbook_matches(p, params_expected))

    return {
        "dest": str(dest),
        "sources": {
            "coursera": None if src.coursera is None else str(src.coursera),
            "movielens": ml.label,
            "downloaded": src.zip_to_cache is not None,
        },
        "files": report.files,
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
        0 on success, 1 on a data error (printed as ``error: ...``).
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
    parser.add_argument("--md5", default=ML100K_MD5, help="expected MD5 of the zip ('none' to skip)")
    parser.add_argument("--lambda", dest="lambda_", type=float, default=LAMBDA,
                        help="regularisation when training X/Theta from MovieLens alone")
    parser.add_argument("--max-iter", type=int, default=MAX_ITER, help="L-BFGS iterations for that training")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    md5 = None if args.md5.lower() == "none" else args.md5
    try:
        summary = build(
            args.dest, args.source,
            shared_dir=None if args.no_shared else DEFAULT_SHARED,
            url=args.url, md5=md5, force=args.force,
            lambda_=args.lambda_, max_iter=args.max_iter, progress=not args.no_progress,
        )
    except (DataError, OSError) as exc:  # OSError covers FileNotFoundError
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n_written = sum(f["status"] != "skipped (valid)" for f in summary["files"].values())
    print(f"done in {summary['seconds']:.1f} s: {n_written} written, "
          f"{len(summary['files']) - n_written} skipped, in {summary['dest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
