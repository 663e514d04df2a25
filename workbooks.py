"""Spreadsheets: reading the article's workbooks, and writing them exactly.

Reading goes through python-calamine (a Rust parser, about ten times faster
than openpyxl on the 1682 x 943 ratings workbook). :func:`helpers.load_ratings`
and :func:`helpers.load_parameters` call :func:`read_sheets` and turn each
sheet into an array with :func:`sheet_as_float` or :func:`sheet_as_flags`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}


def read_sheets(path: Path, wanted: list[str]) -> dict[str, pd.DataFrame]:
    """Read the named sheets (matched case-sensitively first, then case-insensitively)."""
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
            f"{source}: rated flags must be TRUE/FALSE or 1/0; found {values[i, j]!r} at row {i}, column {j}"
        )
    return is_true


def sheet_as_float(df: pd.DataFrame, source: str) -> np.ndarray:
    """A sheet of numbers as a float array (empty cells become NaN)."""
    try:
        return df.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = df.map(lambda v: not isinstance(v, (int, float, np.number)) or isinstance(v, bool))
        i, j = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"{source}: expected numbers only; found {df.iat[i, j]!r} at row {i}, column {j}"
        ) from None
