"""data/xlsx_writer.py: the data step's exact workbook writer."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import listing
from recsys_tutorial import files
from xlsx_writer import workbook_matches, write_xlsx


def test_a_refused_array_writes_nothing(tmp_path):
    with pytest.raises(files.DataError):
        write_xlsx(tmp_path / "nan.xlsx", {"X": np.array([[1.0, np.nan]])}, progress=False)
    assert listing(tmp_path) == []
