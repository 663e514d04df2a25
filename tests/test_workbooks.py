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
