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


def test_existing_file_refuses_without_opening(tmp_path):
    """A folder, a FIFO (opening it would block until a writer came), a missing path, a non-path, a size."""
    import os

    fifo = tmp_path / "ratings.txt"
    os.mkfifo(fifo)
    for path, message in [(fifo, "is not a regular file"), (tmp_path, "is not a regular file"),
                          (tmp_path / "missing.txt", "not found")]:
        with pytest.raises(FileNotFoundError, match=message) as info:
            files.existing_file(path, "ratings")
        assert str(path) in str(info.value)
    with pytest.raises(TypeError, match="ratings file must be a path"):
        files.existing_file(3, "ratings")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(ValueError, match=r"big\.txt' is 2,000 bytes; at most 1,000"):
        files.existing_file(big, "ratings", max_bytes=1000)
    assert files.existing_file(big, "ratings", max_bytes=2000) == big


def test_text_lines_encodings_breaks_and_control_characters(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffa\r\nb\rc\n".encode())
    assert files.text_lines(p, "titles") == (["a", "b", "c"], "utf-8")
    p.write_bytes("Mis\xe9rables\n".encode("latin-1"))
    assert files.text_lines(p, "titles") == (["Misérables"], "latin-1")
    p.write_bytes(b"ok\nbad\x07bell\n")
    with pytest.raises(ValueError, match=r"t\.txt', line 2: holds the control character U\+0007 at position 4"):
        files.text_lines(p, "titles")


def test_check_zip_members_refuses_by_the_directory(tmp_path):
    def infos(*members):
        out = []
        for name, size, packed in members:
            info = zipfile.ZipInfo(name)
            info.file_size, info.compress_size, info.compress_type = size, packed, zipfile.ZIP_DEFLATED
            out.append(info)
        return out

    limits = dict(max_members=2, max_member_bytes=100 * 2**20, max_unpacked_bytes=150 * 2**20)
    files.check_zip_members(infos(("a", 10, 5), ("b", 2**21, 2**20)), "z.zip", **limits)
    for members, message in [((("a", 1, 1),) * 3, "3 zip members"), ((("a", 1, 1), ("a", 1, 1)), "name twice"),
                             ((("../x", 1, 1),), "contain '..'"), ((("/etc/x", 1, 1),), "absolute"),
                             ((("a", 101 * 2**20, 2**20 * 90),), "unpacks to 105,906,176 bytes"),
                             ((("a", 2**30, 2**20),), "unpacks to"), ((("a", 2**21, 100),), "a zip bomb"),
                             ((("a", 90 * 2**20, 2**25), ("b", 90 * 2**20, 2**25)), "z.zip unpacks to")]:
        with pytest.raises(ValueError, match=message):
            files.check_zip_members(infos(*members), "z.zip", **limits)
    encrypted = infos(("a", 1, 1))
    encrypted[0].flag_bits |= 1
    with pytest.raises(KeyError, match="encrypted"):
        files.check_zip_members(encrypted, "z.zip", error=KeyError, **limits)


def test_remove_stale_parts_keeps_live_writers(tmp_path):
    import os
    import subprocess
    import sys

    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    stale, live, other = (tmp_path / f".u.data.{gone}.abc.part", tmp_path / f".u.data.{os.getpid()}.def.part",
                          tmp_path / f".other.{gone}.abc.part")
    for p in (stale, live, other):
        p.write_bytes(b"x")
    assert files.remove_stale_parts(tmp_path, ["u.data"]) == [stale.name]
    assert listing(tmp_path) == sorted([live.name, other.name])
