"""Reading the article's workbooks, checked before any parser sees them.

Reading goes through python-calamine (a Rust parser, much faster than
openpyxl on the 1682 x 943 ratings workbook; the timings are in
``benchmarks/README.md``). :func:`helpers.load_ratings` and
:func:`helpers.load_parameters` call :func:`read_sheets` and turn each sheet
into an array with :func:`sheet_as_float` or :func:`sheet_as_flags`.

The data step writes them with its own exact writer (``data/xlsx_writer.py``).

Limits, checked by :func:`check_workbook` before any parser sees a file
(:func:`read_sheets` and the data step's ``workbook_matches`` call it). A workbook
is a zip of XML parts, and the parser (calamine, in Rust) builds each sheet
as one dense block from A1 to its last cell: a 2 kB file with cells at A1
and XFD1048576 asks it for 549 GB, and the allocation failure aborts the
process (a notebook kernel dies with the learner's unsaved work), while a
1.4 MB zip whose sheet unpacks to 755 MB takes minutes and 14 GB. So:

* **Cells**: a sheet may span at most :data:`MAX_ROWS` = 10,000 rows,
  :data:`MAX_COLS` = 10,000 columns and :data:`MAX_CELLS` = 5,000,000 cells
  (rows x columns from A1, and cell elements). The project's largest sheet,
  the ratings, is 1,682 x 943 = 1.6 million cells and takes about 200 MB to
  parse, so the limits leave room for 3 times as much (MovieLens-sized data
  with more users, a teacher's extra rows) and keep the worst case near
  600 MB. Both the area a sheet declares (``<dimension>``) and the area its
  cells really span are checked: the file may lie.
* **Sizes**: the file at most :data:`MAX_WORKBOOK_BYTES` = 64 MB (the ratings
  workbook is 9.6 MB); a sheet's XML unpacked at most 256 MB (the ratings
  sheets are 40-50 MB; 5 million cells written by Excel take about 200 MB);
  any other XML part at most 16 MB (sheet list, styles, shared strings: a
  few kB here; pictures, which are not parsed, up to 256 MB); everything together at most 600 MB; a part over 1 MB may unpack
  at most :data:`MAX_RATIO` = 100 times its packed size (these sheets: 8-10
  times; zip bombs: ~1,000); at most 1,000 parts. Each part is unpacked here,
  in bounded pieces, and must be exactly the size and CRC it declares.
* **Formats**: only ``.xlsx``/``.xlsm`` (zip packages). An encrypted
  workbook and a legacy ``.xls`` (both OLE files) are named as such; ``.xls``
  and ``.ods`` are not read, because their contents cannot be measured the
  same way before parsing (an ``.ods`` repeats cells by count): save them as
  ``.xlsx``.

Finding where a sheet's cells are: XML in the usual form (every cell
``<c r="B7" ...>``, as Excel, LibreOffice, openpyxl and the data step's
writer write it) is measured with NumPy without parsing
(:func:`_fast_cells`, which proves that form); any other XML is followed by
expat, element by element, the way calamine places cells, many times more
slowly, so only up to :data:`MAX_UNUSUAL_XML_BYTES` of it per sheet
(the timings: ``benchmarks/README.md``, "Checking a workbook before parsing").
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
import pandas as pd

from .files import check_zip_members

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}


# --------------------------------------------------------------------------
# Limits checked before any parser sees a workbook
# --------------------------------------------------------------------------

#: What the project can ever need, with headroom; why each: the module docstring.
MAX_WORKBOOK_BYTES = 64 * 2**20      # the file itself
MAX_MEMBERS = 1_000                  # parts in the zip package
MAX_SHEET_XML_BYTES = 256 * 2**20    # one worksheet's XML, unpacked
MAX_UNUSUAL_XML_BYTES = 32 * 2**20   # ... when not written the usual way (it is parsed more slowly)
MAX_PART_BYTES = 16 * 2**20          # any other XML part (sheet list, styles, shared strings), unpacked
MAX_UNPACKED_BYTES = 600 * 2**20     # all parts together, unpacked
MAX_RATIO = 100                      # unpacked / packed size of a part over 1 MB
MAX_ROWS = 10_000
MAX_COLS = 10_000
MAX_CELLS = 5_000_000                # rows x columns of the area a sheet spans, and cell elements in it

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_SAVE_AS = "open it in Excel or LibreOffice Calc and save it as 'Excel Workbook (.xlsx)'"


class _SheetProblem(ValueError):
    """Something wrong inside a sheet's XML (reworded with the file and the sheet's name by the caller)."""


class _TooLarge(_SheetProblem):
    """A sheet passes a limit."""


def column_name(j: int) -> str:
    """The spreadsheet name of 0-based column ``j`` ("A", ..., "Z", "AA", ...)."""
    name, j = "", j + 1
    while j:
        j, rem = divmod(j - 1, 26)
        name = chr(65 + rem) + name
    return name


def cell_name(i: int, j: int) -> str:
    """The spreadsheet name of the cell at 0-based row ``i``, column ``j`` (``cell_name(0, 0) == "A1"``)."""
    return f"{column_name(j)}{i + 1}"


def _limits_text() -> str:
    return (f"at most {MAX_ROWS:,} rows, {MAX_COLS:,} columns and {MAX_CELLS:,} cells per sheet "
            "(the project's largest sheet, the ratings, is 1,682 x 943)")


def _refuse_non_zip(p: Path, head: bytes) -> None:
    """Say what a workbook that is not a zip package is, and how to get an .xlsx from it."""
    if head.startswith(_OLE_MAGIC):
        with open(p, "rb") as fh:
            encrypted = _ENCRYPTED_PACKAGE in fh.read(MAX_WORKBOOK_BYTES)
        if encrypted:
            raise ValueError(f"workbook '{p}' is a password-protected/encrypted workbook, which cannot be read: "
                             "open it in Excel, clear the password (File > Info > Protect Workbook > Encrypt "
                             "with Password) and save it as .xlsx")
        raise ValueError(f"workbook '{p}' is a legacy Excel 97-2003 (.xls) file, which is not read: {_SAVE_AS}")
    raise ValueError(f"workbook '{p}' is not an .xlsx workbook (a zip package): it starts with {head[:8]!r}; "
                     f"{_SAVE_AS}")


def _member_chunks(fp: BinaryIO, info: zipfile.ZipInfo, where: str, size: int = 1 << 22) -> Iterator[bytes]:
    """The unpacked bytes of one member, in chunks, checked to be exactly its declared size and CRC.

    The deflate stream is decompressed here rather than by :mod:`zipfile`,
    which stops at the declared size and so would not notice a stream that
    goes on: the parser that reads the file next may not stop there.
    """
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ValueError(f"{where}: damaged zip entry; {_SAVE_AS}")
    fp.seek(info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little"))
    inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced, crc, pending = info.compress_size, 0, 0, b""
    while True:
        if not pending:
            if left == 0 or (inflate is not None and inflate.eof):
                break
            pending = fp.read(min(size, left))
            if not pending:
                raise ValueError(f"{where}: truncated zip entry; {_SAVE_AS}")
            left -= len(pending)
        try:
            out, pending = (pending, b"") if inflate is None else (inflate.decompress(pending, size), None)
        except zlib.error as exc:
            raise ValueError(f"{where}: damaged compressed data ({exc}); {_SAVE_AS}") from None
        if inflate is not None:
            pending = inflate.unconsumed_tail
        produced += len(out)
        if produced > info.file_size:
            raise ValueError(f"{where} unpacks to more than the {info.file_size:,} bytes it declares: "
                             "a damaged or forged zip, not a workbook")
        crc = zlib.crc32(out, crc)
        if out:
            yield out
    if produced != info.file_size or crc != info.CRC or (inflate is not None and not inflate.eof):
        raise ValueError(f"{where}: damaged zip entry (its size or CRC does not match); {_SAVE_AS}")


class _Extent:
    """The area a sheet's cells span (1-based, from A1) and their number, checked against the limits."""

    def __init__(self):
        self.rows = self.cols = self.cells = 0

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Take in cells at 1-based ``rows`` and ``cols``; _TooLarge as soon as a limit is passed."""
        if not len(rows):
            return
        self.cells += len(rows)
        i, j = int(np.argmax(rows)), int(np.argmax(cols))
        far = None
        if rows[i] > MAX_ROWS:
            far = (int(rows[i]), int(cols[i]))
        elif cols[j] > MAX_COLS:
            far = (int(rows[j]), int(cols[j]))
        if far is not None:
            raise _TooLarge(f"has a cell at {cell_name(far[0] - 1, far[1] - 1)} (row {far[0]:,}, column {far[1]:,})")
        self.rows, self.cols = max(self.rows, int(rows[i])), max(self.cols, int(cols[j]))
        if self.rows * self.cols > MAX_CELLS:
            raise _TooLarge(f"has cells up to row {self.rows:,} and column {self.cols:,} "
                            f"({column_name(self.cols - 1)}): {self.rows * self.cols:,} cells")
        if self.cells > MAX_CELLS:
            raise _TooLarge(f"holds more than {MAX_CELLS:,} cell elements")


_BYTE_CLASS = np.zeros((4, 256), dtype=bool)  # whitespace, letters, digits, what may end a tag's name
_BYTE_CLASS[0, [9, 10, 13, 32]] = True
_BYTE_CLASS[1, list(range(65, 91)) + list(range(97, 123))] = True
_BYTE_CLASS[2, range(48, 58)] = True
_BYTE_CLASS[3, [9, 10, 13, 32, 47, 62]] = True


def _at(a: np.ndarray, pos: np.ndarray, text: bytes) -> np.ndarray:
    """True where ``a`` holds ``text`` starting at ``pos``."""
    hit = np.ones(len(pos), dtype=bool)
    for k, byte in enumerate(text):
        hit &= a[pos + k] == byte
    return hit


def _parse_references(a: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """1-based rows and columns of the references like ``B7"`` at ``start``; None if one is not like that."""
    _, letter, digit, _ = _BYTE_CLASS
    w = [a[start + k] for k in range(4)]
    l1 = letter[w[0]]
    l2 = l1 & letter[w[1]]
    l3 = l2 & letter[w[2]]
    if not l1.all() or (l3 & letter[w[3]]).any():
        return None
    up = [(x & 0xDF).astype(np.int32) - 64 for x in w[:3]]
    cols = np.where(l3, up[0] * 676 + up[1] * 26 + up[2], np.where(l2, up[0] * 26 + up[1], up[0]))
    first_digit = start + 1 + l2 + l3
    rows = np.zeros(len(start), dtype=np.int32)
    reading = np.ones(len(start), dtype=bool)
    for k in range(8):
        byte = a[first_digit + k]
        is_digit = digit[byte] & reading
        if k == 0 and not is_digit.all():
            return None
        rows[is_digit] = rows[is_digit] * 10 + byte[is_digit] - 48
        stop = reading & ~is_digit
        if (byte[stop] != 34).any():  # the reference must end with its closing quote
            return None
        reading &= is_digit
        if not reading.any():
            break
    if reading.any() or rows.min(initial=1) < 1:  # 8 digits or more, or row 0
        return None
    return rows, cols


def _fast_cells(buf: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """1-based rows and columns of the cells in a piece of sheet XML written the usual way, else None.

    The usual way (Excel, LibreOffice, openpyxl, :func:`write_xlsx`): every
    cell element is unprefixed and starts ``<c r="B7"``, and no attribute
    named ``r`` appears but there and as ``<row r="7"``. Counting the ways a
    cell element can start, and every ``r`` that stands like an attribute,
    proves that without parsing (a comment or CDATA section can only add
    cells, never hide one); anything else returns None and the caller parses
    the sheet with expat (:func:`_expat_cells`). ``buf`` ends where a tag
    starts, so no tag is cut.
    """
    ws, _, _, name_end = _BYTE_CLASS
    a = np.frombuffer(b"\0\0\0\0\0" + buf + bytes(16), dtype=np.uint8)
    tags = np.flatnonzero(a == 60)
    after_c = a[tags[a[tags + 1] == 99] + 2]  # what follows each "<c"
    colon = np.flatnonzero(a == 58)
    prefixed = (((a[colon + 1] == 99) & name_end[a[colon + 2]])
                | (_at(a, colon + 1, b"row") & name_end[a[colon + 4]]))
    if prefixed.any() or (name_end[after_c] & (after_c != 32)).any():  # x:c, x:row, <c>, <c/>, <c(newline)
        return None
    r = np.flatnonzero(a == 114)  # every "r" ...
    r = r[ws[a[r - 1]] & ((a[r + 1] == 61) | ws[a[r + 1]])]  # ... that stands like an attribute
    value_follows = (a[r + 1] == 61) & (a[r + 2] == 34)
    cells = r[value_follows & _at(a, r - 3, b"<c ")]
    rows = r[value_follows & _at(a, r - 5, b"<row ")]
    # Every "<c " is a cell with r first, and no r stands anywhere else (so none twice in a cell).
    if cells.size != int((after_c == 32).sum()) or cells.size + rows.size != r.size:
        return None
    return _parse_references(a, cells + 3)


_REF = re.compile(r"([A-Za-z]{1,3})(\d{1,7})")


def _reference(ref: str) -> tuple[int, int]:
    """1-based (row, column) of a cell reference such as "B7"; _TooLarge or ValueError if it is not one."""
    m = _REF.fullmatch(ref.strip())
    if m is None or int(m.group(2)) == 0:
        if re.fullmatch(r"[A-Za-z]+\d+", ref.strip()):
            raise _TooLarge(f"has a cell at {ref.strip()[:20]}")
        raise _SheetProblem(f"holds the cell reference {ref[:20]!r}, which is not like 'B7'")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


class _ExpatCells:
    """Where calamine puts each cell, followed element by element (the slow path, any XML).

    A cell's ``r`` gives its place; a cell without one goes right of the cell
    before it, in the current row, which a row's ``r`` sets and each row's end
    moves down by one. The rows used here never fall below calamine's.
    Places are collected and passed to the extent in batches.
    """

    def __init__(self, extent: _Extent):
        self.extent, self.row, self.col = extent, 1, 1
        self.rows: list[int] = []
        self.cols: list[int] = []

    def start(self, name: str, attrs: list[str]) -> None:
        local = name.rpartition(":")[2] if ":" in name else name
        if local != "c" and local != "row":
            return
        r = None
        for k in range(len(attrs) - 2, -1, -2):  # the last r, as calamine reads it
            if attrs[k] == "r":
                r = attrs[k + 1]
                break
        if local == "row":
            if r is not None:
                if not r.strip().isdigit() or int(r) == 0:
                    raise _SheetProblem(f"holds the row number {r[:20]!r}, which is not a positive whole number")
                self.row = int(r)
            return
        row, col = (self.row, self.col) if r is None else _reference(r)
        self.row, self.col = max(self.row, row), col + 1
        self.rows.append(row)
        self.cols.append(col)
        if row > MAX_ROWS or col > MAX_COLS or len(self.rows) >= 65536:
            self.flush()

    def end(self, name: str) -> None:
        if name == "row" or name.endswith(":row"):
            self.row, self.col = self.row + 1, 1

    def flush(self) -> None:
        self.extent.add(np.array(self.rows, dtype=np.int64), np.array(self.cols, dtype=np.int64))
        self.rows.clear()
        self.cols.clear()

    @staticmethod
    def refuse_dtd(*_args) -> None:
        raise _SheetProblem("holds a DOCTYPE declaration, which workbooks never need")


def _expat_cells(chunks: Iterator[bytes], extent: _Extent) -> None:
    """Follow every cell of a sheet's XML with expat (see :class:`_ExpatCells`)."""
    import xml.parsers.expat

    cells = _ExpatCells(extent)
    parser = xml.parsers.expat.ParserCreate()
    parser.ordered_attributes = True
    parser.StartElementHandler, parser.EndElementHandler = cells.start, cells.end
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = cells.refuse_dtd
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        cells.flush()
    except xml.parsers.expat.ExpatError as exc:
        raise _SheetProblem(f"is not well-formed XML ({exc})") from None


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})")


def _check_head(buf: bytes) -> None:
    """The start of a sheet's XML: UTF-8 (or another ASCII-compatible encoding), and the area it declares."""
    if b"\0" in buf[:4096]:
        raise _SheetProblem("is not UTF-8 XML")
    if b"<!DOCTYPE" in buf[:65536]:
        raise _SheetProblem("holds a DOCTYPE declaration, which workbooks never need")
    declared = _DIMENSION.search(buf[:65536])
    last = declared.group(1).decode("latin-1").rpartition(":")[2] if declared else ""
    if _REF.fullmatch(last):
        row, col = _reference(last)
        if row > MAX_ROWS or col > MAX_COLS or row * col > MAX_CELLS:
            raise _TooLarge(f"declares its used area as {declared.group(1).decode('latin-1')}")


def _fast_extent(chunks: Iterator[bytes], extent: _Extent) -> bool:
    """Fill ``extent`` with :func:`_fast_cells`, piece by piece; False as soon as a piece needs expat."""
    carry, first = b"", True
    for chunk in chunks:
        buf = carry + chunk
        if first:
            _check_head(buf)
            first = False
        cut = buf.rfind(b"<")
        if cut <= 0:  # no tag starts in it: a long text, rare; keep reading up to a limit
            if len(buf) > MAX_PART_BYTES:
                return False
            carry = buf
            continue
        found = _fast_cells(buf[:cut])
        if found is None:
            return False
        extent.add(*found)
        carry = buf[cut:]
    found = _fast_cells(carry)
    if found is None:
        return False
    extent.add(*found)
    return True


def _sheet_extent(open_chunks: Callable[[], Iterator[bytes]], size: int) -> _Extent:
    """The area a sheet's cells span, from its ``size`` bytes of XML (``open_chunks()`` streams them anew).

    XML not in the usual form is followed by expat, about 20 times slower:
    only up to :data:`MAX_UNUSUAL_XML_BYTES` of it.
    """
    extent = _Extent()
    if not _fast_extent(open_chunks(), extent):
        if size > MAX_UNUSUAL_XML_BYTES:
            raise _TooLarge(f"is {size:,} bytes of XML not in the form Excel, LibreOffice and openpyxl write "
                            f"(at most {MAX_UNUSUAL_XML_BYTES:,} bytes of such XML are read)")
        extent = _Extent()
        _expat_cells(open_chunks(), extent)
    return extent


def _only_member(p: Path, infos: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    """The one member called ``name`` (in any case, as the parser looks it up)."""
    found = [i for i in infos if i.filename.lower() == name]
    if len(found) != 1:
        raise ValueError(f"workbook '{p}' has {'no' if not found else 'more than one'} '{name}' part: "
                         f"not an .xlsx workbook, or a damaged one; {_SAVE_AS}")
    if found[0].file_size > MAX_PART_BYTES:
        raise ValueError(f"workbook '{p}' part '{found[0].filename}' unpacks to {found[0].file_size:,} bytes; "
                         f"at most {MAX_PART_BYTES:,} are accepted")
    return found[0]


def _xml_part(fp: BinaryIO, p: Path, info: zipfile.ZipInfo):
    """A small XML part, parsed (no DOCTYPE allowed)."""
    import xml.etree.ElementTree as ET

    where = f"workbook '{p}' part '{info.filename}'"
    data = b"".join(_member_chunks(fp, info, where))
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError(f"{where} holds a DOCTYPE declaration, which workbooks never need; {_SAVE_AS}")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"{where} is not well-formed XML ({exc}); {_SAVE_AS}") from None


def _local(name: str) -> str:
    return name.rpartition("}")[2].rpartition(":")[2]


def _sheet_parts(fp: BinaryIO, p: Path, infos: list[zipfile.ZipInfo]) -> dict[str, str]:
    """Member name -> sheet name, for every member the parser may read as one of the listed sheets.

    As calamine does: the sheets are listed in ``xl/workbook.xml``, each with
    a relationship id whose ``Target`` in ``xl/_rels/workbook.xml.rels`` is
    the part (``/xl/...`` absolute, else relative to ``xl/``; looked up in any
    case). Normalised and literal paths are both taken, so nothing it may
    read goes unchecked.
    """
    book = _xml_part(fp, p, _only_member(p, infos, "xl/workbook.xml"))
    rels = _xml_part(fp, p, _only_member(p, infos, "xl/_rels/workbook.xml.rels"))
    targets = {el.get("Id"): el.get("Target") or "" for el in rels.iter() if _local(el.tag) == "Relationship"}
    by_lower: dict[str, list[str]] = {}
    for info in infos:
        by_lower.setdefault(info.filename.lower(), []).append(info.filename)
    parts: dict[str, str] = {}
    for el in book.iter():
        if _local(el.tag) != "sheet":
            continue
        for key, rel_id in el.attrib.items():
            target = targets.get(rel_id) if _local(key) == "id" else None
            if target is None:
                continue
            literal = target[1:] if target.startswith("/") else "xl/" + target
            for candidate in {literal.lower(), posixpath.normpath(literal).lower()}:
                for member in by_lower.get(candidate, []):
                    parts[member] = el.get("name", "?")
    return parts


def check_workbook(path) -> None:
    """Refuse, before any parser reads it, a workbook that could crash or exhaust the process.

    Checks, in this order, against the limits of the module docstring: the
    file's size; that it is a zip package (an encrypted workbook and a legacy
    ``.xls`` are named as such); the number of parts, their declared and real
    unpacked sizes and compression ratios; and for every listed sheet, the
    area it declares and the area its cells really span, and their number.

    Raises
    ------
    ValueError
        Naming the file, the part or sheet, the cell when there is one, the
        limit, and how to get a workbook that passes.
    """
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise ValueError(f"workbook '{p}' is {size:,} bytes; at most {MAX_WORKBOOK_BYTES:,} are accepted "
                         f"({_limits_text()})")
    with open(p, "rb") as fp:
        head = fp.read(8)
        if not head.startswith(b"PK\x03\x04"):
            _refuse_non_zip(p, head)
        try:
            infos = zipfile.ZipFile(fp).infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise ValueError(f"workbook '{p}' is not a readable zip package, truncated or damaged ({exc}); "
                             f"{_SAVE_AS}") from None
        check_zip_members(infos, f"workbook '{p}'", max_members=MAX_MEMBERS, max_member_bytes=MAX_SHEET_XML_BYTES,
                          max_unpacked_bytes=MAX_UNPACKED_BYTES, max_ratio=MAX_RATIO, usual=_SAVE_AS)
        sheets = _sheet_parts(fp, p, infos)
        for info in infos:
            where = f"workbook '{p}' part '{info.filename}'"
            if info.filename not in sheets:
                if info.filename.lower().endswith((".xml", ".rels")) and info.file_size > MAX_PART_BYTES:
                    raise ValueError(f"{where} unpacks to {info.file_size:,} bytes; at most {MAX_PART_BYTES:,} "
                                     "are accepted for an XML part that is not a sheet")
                for _ in _member_chunks(fp, info, where):
                    pass
                continue
            try:
                _sheet_extent(lambda info=info, where=where: _member_chunks(fp, info, where), info.file_size)
            except _TooLarge as exc:
                raise ValueError(f"workbook '{p}' sheet '{sheets[info.filename]}' {exc}; {_limits_text()}. "
                                 "Delete the cells outside the table (Ctrl+End shows the last one) and save "
                                 "again") from None
            except _SheetProblem as exc:
                raise ValueError(f"workbook '{p}' sheet '{sheets[info.filename]}' {exc}; {_SAVE_AS}") from None


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def declared_area(fp: BinaryIO, sheet: str) -> tuple[int, int] | None:
    """The (rows, columns) sheet ``sheet`` of the open workbook ``fp`` declares as its used area (its
    ``<dimension ref="A1:E7">``, from A1), read from the head of its XML; None if it declares none (or not from
    A1) or cannot be told cheaply. Reads a few kilobytes: a zip whose end record lists more than
    :data:`MAX_MEMBERS` parts, or has a comment, is not opened (None)."""
    import struct

    try:
        fp.seek(0, 2)
        size = fp.tell()
        fp.seek(max(size - 22, 0))
        sig, _, _, _, total, cd_size, _, comment = struct.unpack("<4s4H2LH", fp.read(22))
        if sig != b"PK\x05\x06" or comment or total > MAX_MEMBERS or cd_size > MAX_PART_BYTES:
            return None
        fp.seek(0)
        with zipfile.ZipFile(fp) as zf:
            parts = _sheet_parts(fp, Path("workbook"), zf.infolist())
            members = ({m for m, name in parts.items() if name == sheet}
                       or {m for m, name in parts.items() if name.lower() == sheet.lower()})
            if len(members) != 1:
                return None
            with zf.open(members.pop()) as f:
                head = f.read(65536)
        found = _DIMENSION.search(head)
        first, _, last = found.group(1).decode("latin-1").partition(":") if found else ("", "", "")
        if _reference(first) != (1, 1):
            return None
        return _reference(last or first)
    except (OSError, ValueError, EOFError, RuntimeError, struct.error, zipfile.BadZipFile, zlib.error):
        return None   # _SheetProblem and _TooLarge are ValueErrors


def read_sheets(path: Path, wanted: list[str]) -> dict[str, pd.DataFrame]:
    """Read the named sheets (matched case-sensitively first, then case-insensitively).

    :func:`check_workbook` runs first: no file reaches the parser that could
    crash or exhaust the process.
    """
    check_workbook(path)
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise ValueError(f"cannot read workbook '{path}': {exc}") from None
    with book:
        names = book.sheet_names
        chosen = {}
        for want in wanted:
            if want in names:
                chosen[want] = want
                continue
            matches = [n for n in names if n.lower() == want.lower()]
            if len(matches) != 1:
                raise ValueError(
                    f"workbook '{path}' has no sheet named '{want}'; it has sheets {names} "
                    f"(expected sheets {wanted})"
                )
            chosen[want] = matches[0]
        try:
            frames = pd.read_excel(book, sheet_name=list(chosen.values()), header=None)
            return {want: frames[sheet] for want, sheet in chosen.items()}
        except Exception as exc:
            raise ValueError(f"cannot read sheets {wanted} of workbook '{path}': {exc}") from None


_TRUE_CELLS = np.array([True, 1, "TRUE", "True", "true", "1"], dtype=object)
_FALSE_CELLS = np.array([False, 0, "FALSE", "False", "false", "0"], dtype=object)


def sheet_as_flags(df: pd.DataFrame, source: str) -> np.ndarray:
    """Turn a sheet of TRUE/FALSE or 1/0 cells into a bool array."""
    values = df.to_numpy()
    if values.dtype == bool:
        return values
    values = values.astype(object)  # mixed cells (numbers, text, booleans) compared one by one
    is_true = np.isin(values, _TRUE_CELLS)
    bad = ~(is_true | np.isin(values, _FALSE_CELLS))
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: rated flags must be TRUE/FALSE or 1/0; found {values[i, j]!r} at row {i}, column {j} "
            f"(cell {cell_name(i, j)})"
        )
    return is_true


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def sheet_as_float(df: pd.DataFrame, source: str, *, allow_empty: bool = True) -> np.ndarray:
    """A sheet of numbers as a float array; empty cells become NaN, or are refused unless ``allow_empty``.

    TRUE/FALSE cells are refused, not read as 1/0: in a sheet of numbers
    they are a mistake (a copy of the flags sheet, say). Messages name the
    first bad cell.
    """
    if all(dtype.kind in "iuf" for dtype in df.dtypes):
        arr = df.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = df.to_numpy(dtype=object)
        bad = ~np.vectorize(_is_number, otypes=[bool])(values) if values.size else np.zeros(values.shape, bool)
        if np.any(bad):
            i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"{source}: expected numbers only; found {values[i, j]!r} at row {i}, column {j} "
                f"(cell {cell_name(i, j)}): type the number there, or clear the cell"
            )
        arr = values.astype(float)
    if not allow_empty and np.isnan(arr).any():
        i, j = np.argwhere(np.isnan(arr))[0]
        raise ValueError(f"{source}: every cell must hold a finite number; cell {cell_name(i, j)} (row {i}, "
                         f"column {j}) is empty")
    return arr


def _padded(Y: np.ndarray, shape) -> np.ndarray:
    """``Y`` padded with NaN (empty) up to ``shape``: spreadsheet readers drop trailing empty rows/columns."""
    if Y.shape[0] <= shape[0] and Y.shape[1] <= shape[1] and Y.shape != tuple(shape):
        return np.pad(Y, [(0, shape[0] - Y.shape[0]), (0, shape[1] - Y.shape[1])], constant_values=np.nan)
    return Y


def _workbook(p: Path, what: str) -> None:
    if p.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise ValueError(f"{what} file '{p}' must be an .xlsx workbook or a .mat file; got suffix '{p.suffix}'")


def ratings_sheets(p: Path) -> tuple[np.ndarray, np.ndarray]:
    """Sheet ``y`` (ratings as floats, empty cells NaN, padded to ``R``'s shape) and sheet ``R`` (flags) of a
    ratings workbook, as :func:`helpers.load_ratings` checks them next."""
    _workbook(p, "ratings")
    sheets = read_sheets(p, ["y", "R"])
    R = sheet_as_flags(sheets["R"], f"workbook '{p}' sheet 'R'")
    return _padded(sheet_as_float(sheets["y"], f"workbook '{p}' sheet 'y'"), R.shape), R


def parameter_sheets(p: Path) -> tuple[np.ndarray, np.ndarray]:
    """Sheets ``X`` and ``theta`` of a parameters workbook as float arrays (no empty cell)."""
    _workbook(p, "parameters")
    sheets = read_sheets(p, ["X", "theta"])
    return tuple(sheet_as_float(sheets[name], f"workbook '{p}' sheet '{name}'", allow_empty=False)
                 for name in ("X", "theta"))
