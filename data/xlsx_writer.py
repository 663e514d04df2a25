"""Writing the article's workbooks exactly: the data step's spreadsheet writer.

:func:`write_xlsx` generates the SpreadsheetML parts itself rather than
through openpyxl or XlsxWriter, for two reasons. Exactness: both libraries
format numbers with ``"%.16g"``, which does not round-trip 37.5 % of the
course's ``X``/``Theta`` doubles (9,857 of 26,250), while ``repr`` is the
shortest text that reads back as the same double, so the workbooks hold the
``.mat`` values bit for bit. Speed: it writes the ratings workbook many times
faster than openpyxl's write-only mode, XlsxWriter or ``pandas.to_excel``
(timings in ``benchmarks/README.md``). The files read back identically with
openpyxl, calamine and LibreOffice Calc. Every file goes through
:func:`recsys_tutorial.files.atomic_write`, so a failed write leaves nothing
half-written.

Checking, :func:`workbook_matches`, lets the data step skip a workbook that
already holds exactly what it would write. It reads the cells with the same
calamine parser but not through :func:`recsys_tutorial.workbooks.read_sheets`,
which is forgiving on purpose for learners' files (sheet names in any case,
flags as 1/0 or text, empty cells as NaN, extra sheets ignored): "exactly"
means the same sheets in the same order, TRUE/FALSE cells typed as booleans
and numbers as numbers. A file that would not pass
:func:`recsys_tutorial.workbooks.check_workbook` never matches.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from recsys_tutorial.files import DataError, atomic_write
from recsys_tutorial.workbooks import check_workbook, column_name

__all__ = ["write_xlsx", "workbook_matches", "package_parts"]

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

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


def package_parts(names: list[str]) -> dict[str, str]:
    """The parts of a workbook besides its sheets: content types, relationships, styles."""
    numbers = range(1, len(names) + 1)
    content_types = (
        _XML_DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                  for i in numbers)
        + "</Types>"
    )
    root_rels = (
        _XML_DECL + f'<Relationships xmlns="{_NS_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook = (
        _XML_DECL + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, 1))
        + "</sheets></workbook>"
    )
    workbook_rels = (
        _XML_DECL + f'<Relationships xmlns="{_NS_PKG_REL}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in numbers)
        + f'<Relationship Id="rId{len(names) + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    return {"[Content_Types].xml": content_types, "_rels/.rels": root_rels, "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": workbook_rels, "xl/styles.xml": _STYLES_XML}


def _write_sheet(zf: zipfile.ZipFile, number: int, arr: np.ndarray, render, bar) -> None:
    """Stream one 2-D array into ``xl/worksheets/sheet<number>.xml``, a row at a time."""
    cols = [column_name(j) for j in range(arr.shape[1])]
    dim = f"A1:{cols[-1]}{arr.shape[0]}"
    with zf.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as part:
        part.write((_XML_DECL + f'<worksheet xmlns="{_NS_MAIN}"><dimension ref="{dim}"/><sheetData>').encode())
        for r, row in enumerate(arr.tolist(), 1):
            part.write(f'<row r="{r}">{render(r, row, cols)}</row>'.encode())
            bar.update(1)
        part.write(b"</sheetData></worksheet>")


def write_xlsx(path: Path, sheets: dict[str, np.ndarray], progress: bool = True) -> None:
    """Write 2-D arrays as sheets of an .xlsx workbook, atomically.

    Each array becomes one sheet with no header row and no index column:
    cell ``A1`` holds ``array[0, 0]``.  Boolean arrays are written as
    TRUE/FALSE cells, integer and float arrays as numbers (floats as their
    shortest exact text, see the module docstring).

    Parameters
    ----------
    path : Path
        Destination workbook.
    sheets : dict of str to ndarray
        Sheet name -> 2-D array, in sheet order.
    progress : bool, default True
        Show a tqdm progress bar over the rows written.

    Raises
    ------
    DataError
        If a sheet is not a non-empty 2-D array, holds NaN or infinities, or
        has a dtype other than bool, integer or float.  Nothing is written then.
    """
    from tqdm.auto import tqdm

    names = list(sheets)
    arrays = [np.asarray(sheets[name]) for name in names]
    for name, arr in zip(names, arrays):
        if arr.ndim != 2 or 0 in arr.shape:
            raise DataError(f"{Path(path).name}: sheet {name!r} must be a non-empty 2-D array")
    renderers = [_row_renderer(arr) for arr in arrays]
    with atomic_write(path) as fh, zipfile.ZipFile(
        fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
    ) as zf, tqdm(total=sum(arr.shape[0] for arr in arrays), desc=f"writing {Path(path).name}",
                  unit="row", disable=not progress, leave=False) as bar:
        for part, text in package_parts(names).items():
            zf.writestr(part, text)
        for i, (arr, render) in enumerate(zip(arrays, renderers), 1):
            _write_sheet(zf, i, arr, render, bar)


# --------------------------------------------------------------------------
# Checking that a workbook holds exactly what write_xlsx would write
# --------------------------------------------------------------------------


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


def _sheet_matches(rows: list[list[object]], values: np.ndarray | None, shape: tuple[int, int]) -> bool:
    kind = "bool" if values is not None and values.dtype == bool else "float"
    arr = _sheet_array(rows, kind)
    if arr is None or arr.shape != tuple(shape):
        return False
    if values is None:
        return bool(np.all(np.isfinite(arr)))
    return np.array_equal(arr, values.astype(arr.dtype))


def workbook_matches(path: Path, expected: dict[str, tuple[np.ndarray | None, tuple[int, int]]]) -> bool:
    """Tell whether an existing workbook holds exactly the expected sheets.

    Parameters
    ----------
    path : Path
        Workbook to check.
    expected : dict
        Sheet name -> ``(values, shape)``, in sheet order.  ``values`` is the
        exact array the sheet must hold (booleans as TRUE/FALSE cells), or
        None to check only the shape and that every cell is a finite number.

    Returns
    -------
    bool
        True when the file exists, opens, and every sheet matches.
    """
    import python_calamine

    if not Path(path).is_file():
        return False
    try:
        check_workbook(path)  # a file that would crash the parser is just "not a match"
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        if list(book.sheet_names) != list(expected):
            return False
        rows = {name: book.get_sheet_by_name(name).to_python() for name in expected}
    except Exception:  # calamine raises its own exception types; an unreadable file does not match
        return False
    return all(_sheet_matches(rows[name], values, shape) for name, (values, shape) in expected.items())
