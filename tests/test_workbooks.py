"""recsys_tutorial/workbooks.py: the article's workbooks, checked before parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fakes import write_workbook
from recsys_tutorial import workbooks


def test_column_and_cell_names():
    cols = [workbooks.column_name(j) for j in range(943)]
    assert cols[:3] == ["A", "B", "C"] and cols[25:28] == ["Z", "AA", "AB"]
    assert cols[701:703] == ["ZZ", "AAA"] and cols[-1] == "AJG"
    assert workbooks.cell_name(0, 0) == "A1" and workbooks.cell_name(9, 27) == "AB10"


def test_declared_area_reads_a_sheets_dimension(tmp_path):
    from fakes import make_workbook, ratings_workbook, sheet_xml

    book = tmp_path / "r.xlsx"
    ratings_workbook(book, shape=(7, 5))                        # the project's writer declares A1:E7
    with open(book, "rb") as f:
        assert workbooks.declared_area(f, "R") == (7, 5)
        assert workbooks.declared_area(f, "r") == (7, 5)        # case-insensitively, as read_sheets looks it up
        assert workbooks.declared_area(f, "nope") is None
    cells = '<c r="A1"><v>1</v></c>'
    for dimension, area in [("A1:AB300", (300, 28)), ("A1", (1, 1)), ("B2:C3", None), (None, None), ("A1:ZZZZ9", None)]:
        make_workbook(book, {"R": sheet_xml(f'<row r="1">{cells}</row>', dimension)})
        with open(book, "rb") as f:
            assert workbooks.declared_area(f, "R") == area, dimension
    book.write_bytes(b"not a zip at all")
    with open(book, "rb") as f:
        assert workbooks.declared_area(f, "R") is None
