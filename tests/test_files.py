"""recsys_tutorial/files.py: reading and writing files safely."""

from __future__ import annotations

import zipfile

import pytest

from fakes import listing
from recsys_tutorial import files


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_write(target) as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["f.bin"]
