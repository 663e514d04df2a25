"""Bad input, round two (issue 10): no file can crash the kernel, nothing untrained passes as trained.

Every case of the issue is here, by group, each asserting the exception type
and that the message names the file, sheet, cell or argument:

A  files that crashed or exhausted the process: workbooks (far cells, lying
   dimensions, zip bombs, forged sizes, encrypted or legacy files), .mat and
   text files, checked in a child Python under a memory limit too;
B  values read wrongly: complex numbers, ratings of 0 or 0.3 where R is TRUE,
   TRUE in a sheet of numbers, empty parameter cells;
C  movie titles: UTF-8 or Latin-1, line breaks only, control characters;
D  the data step: bad settings, truncated or re-encoded raw files, untrained
   parameters, stale temporary files, a file given as the source;
E  arguments of the public functions: None, NaN, inf, strings, floats where
   integers are meant, out-of-range values, booleans, overlapping sets;
F  round three (issue 22): entries planted in the workbook cache (wrong
   values, dtypes, shapes, members, a 3 MB entry declaring 3 GiB, a FIFO, a
   link), also in a child Python under a memory and a time limit; a
   learner's own files where the cache is pointed; environment variables;
   results that overflow; a learner's gradient_fn returning NaN, one array
   or the wrong shapes; titles that are not strings or ids that are not
   ASCII digits; a title line that made the title pattern backtrack;
G  the pictures and widgets of notebooks 06 and 07 (issue 22, item 3):
   settings refused, not clamped; a widget without what it needs refuses to
   be built; a refused rating changes nothing.
H  round four (a review of issue 22's fixes): check_gradients with a huge
   lambda_; a FactorModel changed through its caller's arrays; huge integers,
   ragged lists, masked arrays, dates, records and 2-D ratings; rating_density's
   block; descents and training runs that never returned; a divergence caused
   by lambda_; titles with '$'; a path-like, a link or a planted entry that
   poisoned the cache; every picture's arguments; ML100K_URL with line breaks
   or credentials; huge ids in u.data; data folders that are not folders.

The fake MovieLens files and hostile workbooks come from tests/fakes.py, the
local HTTP server and the data folder from tests/conftest.py; nothing here
touches the network or data/.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import io as sio
from scipy import sparse

import build_data as bd
import helpers as h
from fakes import (FAR, SMALL, WIDGET_TITLES, assert_untouched, declared_huge_entry, download_build, fake_ml100k_files,
                   fake_Y_R, forge_size, make_source, make_workbook, make_zip, npz_entry, ole_file, ratings_book,
                   ratings_frames_book, ratings_workbook, sheet_xml, small_ratings, write_workbook)
from recsys_tutorial import cache as _cache
from recsys_tutorial import files, interactive, settings, workbooks
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings
from xlsx_writer import workbook_matches, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()

# ---------------------------------------------------------------- building hostile workbooks


def assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# ---------------------------------------------------------------- A: files that crashed or exhausted the process


def test_far_cell_is_refused_naming_file_sheet_and_cell(tmp_path):
    p = ratings_book(tmp_path / "far.xlsx", y=FAR)  # 2 kB; calamine asked for 549 GB and aborted
    assert p.stat().st_size < 4000
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "far.xlsx", "sheet 'y'", "XFD1048576", "10,000 rows")


def test_far_cell_in_parameters_and_an_r_less_row(tmp_path):
    far = make_workbook(tmp_path / "params.xlsx", {"X": FAR, "theta": SMALL})
    with pytest.raises(ValueError) as info:
        h.load_parameters(far)
    assert_names(str(info.value), "params.xlsx", "sheet 'X'", "XFD1048576")
    # A row without r after one at 10,000 lands on row 10,001: found by the element-by-element path.
    rless = '<row r="10000"><c r="A10000"><v>1</v></c></row><row><c><v>2</v></c></row>'
    with pytest.raises(ValueError) as info:
        h.load_parameters(make_workbook(tmp_path / "rless.xlsx", {"X": rless, "theta": SMALL}))
    assert_names(str(info.value), "rless.xlsx", "sheet 'X'", "A10001")


@pytest.mark.parametrize("cells, named", [
    ('<row r="1"><c r="A1"><v>1</v></c><c r="ALM5000"><v>1</v></c></row>', "row 5,000 and column 1,001"),
    ("<x:row r='1' xmlns:x='urn:x'><x:c r = 'NTQ1'><v>1</v></x:c></x:row>", "NTQ1"),
    ('<row r="1"><c r="A1" r="XFD1"><v>1</v></c></row>', "not well-formed"),
    ('<row r="1"><c r="A$1"><v>1</v></c></row>', "'A$1'"),
], ids=["area-over-5-million", "prefixed-single-quotes", "r-twice", "not-a-reference"])
def test_cells_placed_however_the_xml_is_written(tmp_path, cells, named):
    p = ratings_book(tmp_path / "odd.xlsx", y=sheet_xml(cells))
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "odd.xlsx", "sheet 'y'", named)


def test_unusual_xml_is_followed_only_up_to_a_size(tmp_path, monkeypatch):
    prefixed = "<x:row r='1' xmlns:x='urn:x'><x:c r='A1'><v>1</v></x:c></x:row>"
    p = ratings_book(tmp_path / "unusual.xlsx", y=sheet_xml(prefixed))
    monkeypatch.setattr(workbooks, "MAX_UNUSUAL_XML_BYTES", 100)
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "unusual.xlsx", "sheet 'y'", "not in the form Excel")


def test_declared_dimension_beyond_the_limits(tmp_path):
    p = ratings_book(tmp_path / "dim.xlsx", y=sheet_xml(SMALL, "A1:XFD1048576"))
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "dim.xlsx", "sheet 'y'", "declares its used area as A1:XFD1048576")


def test_sheet_declaring_a_huge_size_is_refused_unread(tmp_path):
    p = forge_size(ratings_book(tmp_path / "huge.xlsx"), "xl/worksheets/sheet1.xml", 755 * 2**20)
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "huge.xlsx", "xl/worksheets/sheet1.xml", "791,674,880 bytes")


def test_zip_bomb_ratio(tmp_path):
    bomb = sheet_xml(SMALL).replace("<sheetData>", "<sheetData>" + " " * (8 * 2**20))
    p = ratings_book(tmp_path / "bomb.xlsx", y=bomb)
    assert p.stat().st_size < 100_000
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "bomb.xlsx", "sheet1.xml", "times larger")


def test_part_longer_than_it_declares(tmp_path):
    body = sheet_xml(SMALL).encode()
    p = forge_size(ratings_book(tmp_path / "forged.xlsx"), "xl/worksheets/sheet1.xml", 100,
                   crc=zlib.crc32(body[:100]))
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "forged.xlsx", "sheet1.xml", "more than the 100 bytes it declares")


def test_too_many_parts_and_an_encrypted_part(tmp_path):
    many = ratings_book(tmp_path / "many.xlsx", extra={f"xl/media/{i}.bin": b"" for i in range(1001)})
    with pytest.raises(ValueError, match=r"many\.xlsx.* holds 1,00\d zip members"):
        h.load_ratings(many)
    p = ratings_book(tmp_path / "flag.xlsx")
    data = bytearray(p.read_bytes())
    data[data.find(b"PK\x03\x04") + 6] |= 1  # the first part's "encrypted" flag, in both headers
    data[data.find(b"PK\x01\x02") + 8] |= 1
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "flag.xlsx", "encrypted")


@pytest.mark.parametrize("encrypted, named", [(True, "password-protected/encrypted workbook"),
                                              (False, "legacy Excel 97-2003 (.xls)")])
def test_ole_files_named_for_what_they_are(tmp_path, encrypted, named):
    p = ole_file(tmp_path / "book.xlsx", encrypted)
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "book.xlsx", named)  # calamine said "Cannot detect file format"


@pytest.mark.parametrize("content, named", [
    (b"y;R\n1;TRUE\n", "not an .xlsx workbook (a zip package)"),
    (b"PK\x03\x04" + bytes(60), "not a readable zip package"),
], ids=["text", "truncated-zip"])
def test_not_a_workbook(tmp_path, content, named):
    p = tmp_path / "ratings.xlsx"
    p.write_bytes(content)
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "ratings.xlsx", named)


def test_doctype_and_missing_sheet_list(tmp_path):
    entity = sheet_xml(SMALL).replace("<worksheet", '<!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet', 1)
    with pytest.raises(ValueError) as info:
        h.load_ratings(ratings_book(tmp_path / "dtd.xlsx", y=entity))
    assert_names(str(info.value), "dtd.xlsx", "sheet 'y'", "DOCTYPE")
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(bare, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml(FAR))
    with pytest.raises(ValueError) as info:
        h.load_ratings(bare)
    assert_names(str(info.value), "bare.xlsx", "xl/workbook.xml")


@pytest.mark.parametrize("suffix", [".ods", ".xls", ".csv"])
def test_formats_that_cannot_be_measured_are_not_read(tmp_path, suffix):
    p = tmp_path / f"ratings{suffix}"
    p.write_bytes(b"anything")
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), f"ratings{suffix}", ".xlsx workbook or a .mat file")


def test_sheet_at_the_limits_still_loads(tmp_path):
    """10,000 rows or 10,000 columns pass, and the usual and the element-by-element paths agree."""
    tall = "".join(f'<row r="{i}"><c r="A{i}"><v>{i % 5 + 1}</v></c></row>' for i in (1, 10_000))
    wide = '<row r="1"><c r="A1"><v>1.5</v></c><c r="NTP1"><v>2</v></c></row>'
    for cells in (tall, wide, tall.replace(' r="A', ' s="0" r="A')):
        p = make_workbook(tmp_path / "edge.xlsx", {"X": sheet_xml(cells), "theta": sheet_xml(cells)})
        with pytest.raises(ValueError, match=r"edge\.xlsx.*sheet 'X'.*is empty"):
            h.load_parameters(p)  # parsed: the gaps are empty cells, reported by name
    ok = make_workbook(tmp_path / "ok.xlsx", {"X": sheet_xml(SMALL), "theta": sheet_xml(SMALL)})
    X, Theta = h.load_parameters(ok)
    np.testing.assert_array_equal(X, [[1.0, 0.0]])


def test_a_large_picture_is_not_a_problem(tmp_path):
    flags = '<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c></row>'
    p = ratings_book(tmp_path / "picture.xlsx", r=flags, extra={"xl/media/image1.png": bytes(17 * 2**20)},
                     method=zipfile.ZIP_STORED)
    Y, R = h.load_ratings(p)
    np.testing.assert_array_equal(R, [[True, False]])


def test_mat_variable_too_large_and_v73(tmp_path):
    p = tmp_path / "big.mat"
    sio.savemat(p, {"Y": sparse.csc_matrix((100_000, 100_000)), "R": np.ones((1, 1))})
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "big.mat", "variable Y", "(100000, 100000)")
    v73 = tmp_path / "v73.mat"
    v73.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + bytes(12) + b"\x00\x02IM" + bytes(400))
    with pytest.raises(ValueError) as info:
        h.load_parameters(v73)
    assert_names(str(info.value), "v73.mat", "-v7")
    folder = tmp_path / "folder.mat"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match=r"folder\.mat.*is not a regular file"):
        h.load_ratings(folder)


def test_text_files_over_the_limit_are_not_read(tmp_path, monkeypatch):
    p = tmp_path / "movie_ids.txt"
    p.write_bytes(b"1 Toy Story (1995)\n" * 100)
    monkeypatch.setattr(files, "MAX_TEXT_BYTES", 1000)
    with pytest.raises(ValueError) as info:
        h.load_movie_titles(p)
    assert_names(str(info.value), "movie_ids.txt", "1,900 bytes", "1,000")
    ratings = tmp_path / "u.data"
    ratings.write_bytes(b"1\t1\t5\t881250949\n" * 100)
    from recsys_tutorial.research import splits

    monkeypatch.setattr(splits, "MAX_TEXT_BYTES", 1000)
    with pytest.raises(ValueError) as info:
        rs.load_movielens_ratings(ratings)
    assert_names(str(info.value), "u.data", "1,600 bytes")


CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))  # 2 GB: the 549 GB request must not happen
sys.path.insert(0, {root!r})
sys.path.insert(0, {data!r})
import helpers
from xlsx_writer import workbook_matches
for path in sys.argv[1:]:
    try:
        helpers.load_ratings(path)
        print("LOADED", path)
    except ValueError as exc:
        print("ValueError:", exc)
print("matches:", workbook_matches(sys.argv[1], {{"y": (None, (1, 1)), "R": (None, (1, 1))}}))
"""


def test_crash_files_in_a_child_under_a_memory_limit(tmp_path):
    """The files that killed the process, in a child Python limited to 2 GB: it ends normally, with ValueErrors."""
    far = ratings_book(tmp_path / "far.xlsx", y=FAR)
    dim = ratings_book(tmp_path / "dim.xlsx", y=sheet_xml(FAR, "A1:XFD1048576"))
    bomb = ratings_book(tmp_path / "bomb.xlsx",
                        y=sheet_xml(SMALL).replace("<sheetData>", "<sheetData>" + " " * (8 * 2**20)))
    forged = forge_size(ratings_book(tmp_path / "forged.xlsx", y=sheet_xml(FAR)), "xl/worksheets/sheet1.xml",
                        60, crc=zlib.crc32(sheet_xml(FAR).encode()[:60]))
    files = [far, dim, bomb, forged]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MOVIE_RECOMMENDER_CACHE": "off"}
    run = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), data=str(ROOT / "data")), *map(str, files)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len([line for line in lines if line.startswith("ValueError:")]) == len(files), run.stdout
    for path, line in zip(files, lines):
        assert path.name in line
    assert lines[-1] == "matches: False"


# ---------------------------------------------------------------- B: values read wrongly


def test_complex_values_are_refused(tmp_path):
    p = tmp_path / "complex.mat"
    sio.savemat(p, {"Y": np.array([[1 + 2j, 0]]), "R": np.array([[1, 0]])})
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "complex.mat", "variable Y", "complex")
    q = tmp_path / "complex_params.mat"
    sio.savemat(q, {"X": np.array([[1j]]), "Theta": np.array([[1.0]])})
    with pytest.raises(ValueError, match=r"complex_params\.mat.*X.*complex"):
        h.load_parameters(q)
    with pytest.raises(ValueError, match="X must hold real numbers"):
        h.cofi_cost(np.array([[1 + 1j]]), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)))


@pytest.mark.parametrize("rating", [0, 0.3])
def test_rated_cell_without_a_rating(tmp_path, rating):
    p = ratings_frames_book(tmp_path, [[5, rating]], [[True, True]])
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "ratings.xlsx", "R is TRUE", "1 to 5", "sheet 'y' cell B1")
    m = tmp_path / "ratings.mat"
    sio.savemat(m, {"Y": np.array([[5.0, rating]]), "R": np.array([[1, 1]])})
    with pytest.raises(ValueError, match=r"ratings\.mat.*R is TRUE.*user column 1"):
        h.load_ratings(m)


def test_true_in_a_sheet_of_numbers(tmp_path):
    p = ratings_frames_book(tmp_path, [[5, True]], [[True, True]])
    with pytest.raises(ValueError) as info:
        h.load_ratings(p)
    assert_names(str(info.value), "ratings.xlsx", "sheet 'y'", "True", "cell B1")
    q = write_workbook(tmp_path / "params.xlsx", {"X": pd.DataFrame([[True, False]]), "theta": pd.DataFrame([[1.0, 2.0]])})
    with pytest.raises(ValueError, match=r"params\.xlsx.*sheet 'X'.*cell A1"):
        h.load_parameters(q)


def test_empty_parameter_cell_is_named(tmp_path):
    p = write_workbook(tmp_path / "hole.xlsx", {"X": pd.DataFrame([[1.0, np.nan, 2.0]]),
                                           "theta": pd.DataFrame([[1.0, 2.0, 3.0]])})
    with pytest.raises(ValueError) as info:
        h.load_parameters(p)
    assert_names(str(info.value), "hole.xlsx", "sheet 'X'", "cell B1", "empty")


def test_unrated_text_and_out_of_range_flags(tmp_path):
    p = ratings_frames_book(tmp_path, [[5, 2]], [[True, 2]])
    with pytest.raises(ValueError, match=r"sheet 'R'.*TRUE/FALSE or 1/0.*cell B1"):
        h.load_ratings(p)


# ---------------------------------------------------------------- C: movie titles


def test_titles_utf8_or_latin1(tmp_path):
    for encoding in ("utf-8", "latin-1"):
        p = tmp_path / f"{encoding}.txt"
        p.write_bytes("1 Toy Story (1995)\r\n2 Misérables, Les (1995)\r\n".encode(encoding))
        assert h.load_movie_titles(p) == ["Toy Story (1995)", "Misérables, Les (1995)"]
        _, used = files.text_lines(p, "movie titles")
        assert used == encoding.replace("latin-1", "latin-1")


@pytest.mark.parametrize("control", ["\x0c", "\x0b", "\x1c", "\x1e", "\x85", "\x00"])
def test_titles_split_on_line_breaks_only(tmp_path, control):
    p = tmp_path / "ids.txt"
    p.write_bytes(f"1 Toy Story{control}(1995)\n2 Heat (1995)\n".encode("latin-1"))
    with pytest.raises(ValueError) as info:  # was: 3 titles from 2 lines
        h.load_movie_titles(p)
    assert_names(str(info.value), "ids.txt", "line 1", f"U+{ord(control):04X}")


def test_titles_tab_and_old_mac_line_breaks(tmp_path):
    p = tmp_path / "ids.txt"
    p.write_bytes(b"1 Toy\tStory (1995)\r2 Heat (1995)\r")
    assert h.load_movie_titles(p) == ["Toy\tStory (1995)", "Heat (1995)"]


# ---------------------------------------------------------------- D: the data step




@pytest.mark.parametrize("argv, named", [
    (["--lambda", "-1"], "lambda_ (--lambda)"),
    (["--lambda", "nan"], "lambda_ (--lambda)"),
    (["--lambda", "inf"], "lambda_ (--lambda)"),
    (["--lambda", "1e308"], "<= 1e+06"),
    (["--max-iter", "-1"], "num_iters (--num-iters)"),
    (["--num-iters", "0"], "num_iters (--num-iters)"),
    (["--num-iters", "100000"], "<= 10000"),
    (["--md5", "123"], "md5 (--md5)"),
])
def test_bad_settings_stop_before_anything_is_written(tmp_path, dest, capsys, argv, named):
    src = make_source(tmp_path / "src", with_coursera=False)
    code = bd.main(["--source", str(src), "--dest", str(dest), "--no-progress", *argv])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err and "Traceback" not in err
    assert_untouched(dest)


@pytest.mark.parametrize("kwargs, named, error", [
    ({"force": "no"}, "force must be True or False", TypeError),
    ({"quiet": 1}, "quiet must be True or False", TypeError),
    ({"num_iters": 2.5}, "num_iters (--num-iters)", ValueError),
    ({"source": 3}, "source must be a path", ValueError),
])
def test_bad_build_arguments(tmp_path, dest, kwargs, named, error):
    src = make_source(tmp_path / "src", with_coursera=False)
    with pytest.raises(error) as info:
        bd.build(dest, **{"source": src, "progress": False, **kwargs})
    assert named in str(info.value)
    assert_untouched(dest)


def _truncate(path: Path, keep: float) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: int(len(lines) * keep)]))


@pytest.mark.parametrize("damage, named", [
    (lambda ml: _truncate(ml / "u.data", 0.6), "u.data: 6 ratings, but u.info says 10"),
    (lambda ml: _truncate(ml / "u.item", 0.6), "u.item: 3 movies, but u.info says 5"),
    (lambda ml: _truncate(ml / "u1.base", 0.6), "u1.base and u1.test"),
    (lambda ml: _truncate(ml / "ua.test", 0.5), "ua.base and ua.test"),
    (lambda ml: _truncate(ml / "u.user", 0.5), "u.user: 2 users, but u.info says 4"),
    (lambda ml: (ml / "u.info").write_bytes(b"4 users\n5 items\n"), "u.info"),
    (lambda ml: (ml / "u.item").write_bytes((ml / "u.item").read_bytes().replace(b"|0\n", b"\n", 1)),
     "u.item, line 1: expected 24"),
    (lambda ml: (ml / "u.item").write_bytes((ml / "u.item").read_bytes().decode("latin-1").encode("utf-8")),
     "u.item: the file is UTF-8 encoded"),
    (lambda ml: (ml / "u.user").write_bytes(b"1|x\n2|x\n3|x\n4|x\n"), "u.user, line 1: expected 5"),
    (lambda ml: (ml / "u.genre").write_bytes(b"unknown|0\nAction|7\n"), "u.genre"),
    (lambda ml: (ml / "README").write_bytes(b""), "README"),
    (lambda ml: (ml / "u2.test").write_bytes(b"1\t1\t5\n"), "u2.test"),
], ids=["u.data-60%", "u.item-60%", "u1.base-60%", "ua.test-half", "u.user-half", "u.info-no-ratings",
        "u.item-23-fields", "u.item-utf8", "u.user-2-fields", "u.genre-ids", "README-empty", "u2.test-3-fields"])
@pytest.mark.parametrize("with_coursera", [False, True], ids=["movielens", "with-course-files"])
def test_raw_files_are_checked_whichever_source_gives_the_workbooks(tmp_path, dest, damage, named, with_coursera):
    src = make_source(tmp_path / "src", with_coursera=with_coursera)
    damage(src / "ml-100k")
    with pytest.raises(bd.DataError) as info:
        bd.build(dest, source=src, num_iters=2, progress=False, quiet=True)
    assert_names(str(info.value), named)
    assert_untouched(dest)


def test_course_movie_ids_in_utf8_and_y_without_r(tmp_path, dest):
    src = make_source(tmp_path / "src")
    ids = src / "coursera-ex8" / "movie_ids.txt"
    ids.write_bytes(ids.read_bytes().decode("latin-1").encode("utf-8"))
    with pytest.raises(bd.DataError) as info:
        bd.build(dest, source=src, progress=False, quiet=True)
    assert_names(str(info.value), "movie_ids.txt", "UTF-8", "Latin-1")
    assert_untouched(dest)
    src2 = make_source(tmp_path / "src2")
    Y, R = fake_Y_R()
    i, j = np.argwhere(~R)[0]
    Y[i, j] = 3  # a rating where R says "not rated"
    sio.savemat(src2 / "coursera-ex8" / "ex8_movies.mat", {"Y": Y.astype(np.uint8), "R": R.astype(np.uint8)})
    with pytest.raises(bd.DataError, match=rf"ex8_movies\.mat.*0 where R is 0.*user column {j}"):
        bd.build(dest, source=src2, progress=False, quiet=True)
    assert_untouched(dest)


def test_a_file_as_source_is_named_for_what_it_is(tmp_path, dest, capsys):
    src = make_source(tmp_path / "src", with_coursera=False)
    code = bd.main(["--source", str(src / "ml-100k" / "u.data"), "--dest", str(dest), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert_names(err, "u.data", "not a zip archive", "folder")
    assert "MD5" not in err
    assert_untouched(dest)


def test_training_that_does_not_train_writes_nothing(tmp_path, dest, monkeypatch):
    src = make_source(tmp_path / "src", with_coursera=False)

    def no_progress(Y, R, num_features, lambda_, num_iters, seed, **_):
        X0, Theta0 = h.init_parameters(*Y.shape, num_features, seed=seed)
        return X0, Theta0, np.array([1.0])

    monkeypatch.setattr(bd.helpers, "train_lbfgs", no_progress)
    with pytest.raises(bd.DataError, match=r"training did not train.*0 iterations.*not written"):
        bd.build(dest, source=src, progress=False, quiet=True)
    assert bd.PARAMS_BOOK not in os.listdir(dest)
    assert not [n for n in os.listdir(dest) if n.endswith(".part")]


def test_untrained_or_crashing_parameters_are_replaced_on_a_rerun(tmp_path):
    src = make_source(tmp_path / "src", with_coursera=False)
    out = tmp_path / "out"
    first = bd.build(out, source=src, num_iters=5, progress=False, quiet=True)
    assert first["files"][bd.PARAMS_BOOK]["status"] == "written"
    X0, Theta0 = h.init_parameters(5, 4, bd.NUM_FEATURES, seed=bd.SEED)  # what a failed training left
    write_xlsx(out / bd.PARAMS_BOOK, {"X": X0, "theta": Theta0}, progress=False)
    again = bd.build(out, source=src, num_iters=5, progress=False, quiet=True)
    assert again["files"][bd.PARAMS_BOOK]["status"] == "replaced invalid"
    make_workbook(out / bd.PARAMS_BOOK, {"X": FAR, "theta": SMALL})  # crashed the re-run's check
    again = bd.build(out, source=src, num_iters=5, progress=False, quiet=True)
    assert again["files"][bd.PARAMS_BOOK]["status"] == "replaced invalid"
    assert bd.parameters_trained(out / bd.PARAMS_BOOK, *fake_Y_R(), bd.LAMBDA)


def test_stale_temporary_files_are_removed(tmp_path):
    src = make_source(tmp_path / "src", with_coursera=False)
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    stale = [f".u.data.{dead}.k3j2h1g0.part", f".ex8_movies.xlsx.{dead}.a1b2c3d4.part"]
    for name in stale:
        (out / name).write_bytes(b"x" * 1000)
    old_style = out / ".movie_params.xlsx.q9w8e7r6.part"  # written before the pid was in the name
    old_style.write_bytes(b"x")
    os.utime(old_style, (0, 0))
    live = out / f".u.item.{os.getpid()}.zzzzzzzz.part"  # a run still writing: kept
    live.write_bytes(b"x")
    summary = bd.build(out, source=src, num_iters=2, progress=False, quiet=True)
    assert sorted(summary["removed"]) == sorted([*stale, old_style.name])
    assert [n for n in os.listdir(out) if n.endswith(".part")] == [live.name]


def test_zip_source_limits(tmp_path, dest, monkeypatch, server):
    base, routes = server
    files = fake_ml100k_files()
    many = make_zip(files, extra={f"pad/{i}": b"" for i in range(bd.MAX_ZIP_MEMBERS)})
    routes["/many.zip"] = many
    with pytest.raises(bd.DataError, match=r"many\.zip holds 1,0\d\d zip members"):
        download_build(dest, base + "/many.zip", md5(many))
    monkeypatch.setattr(bd, "MAX_RAW_BYTES", 100)
    good = make_zip(files)
    routes["/big.zip"] = good
    with pytest.raises(bd.DataError, match=r"big\.zip: zip member ml-100k/u\.data unpacks to \d+ bytes"):
        download_build(dest, base + "/big.zip", md5(good))
    assert_untouched(dest)


# ---------------------------------------------------------------- E: arguments of the public functions


def small_problem():
    rng = np.random.default_rng(0)
    Y = rng.integers(1, 6, (6, 5)).astype(float)
    R = rng.random((6, 5)) < 0.6
    R[:, 0] = R[0] = True
    return Y * R, R


def training_set():
    return ObservedRatings.from_dense(*small_problem())


def factor_model(**parts):
    rng = np.random.default_rng(1)
    kw = {"mu": 3.5, "b_movie": np.zeros(6), "b_user": np.zeros(5), "X": rng.normal(size=(6, 2)),
          "Theta": rng.normal(size=(5, 2)), **parts}
    return h.FactorModel(kw.pop("mu"), kw.pop("b_movie"), kw.pop("b_user"), **kw)


def empty_set():
    train = training_set()
    return train.subset(np.zeros(train.n_ratings, dtype=bool))


def _ranking(k=3, overlap=False):
    train = training_set()
    i, j = np.argwhere(~small_problem()[1])[0]  # a pair nobody rated in train
    test = train.subset(np.arange(3)) if overlap else ObservedRatings([i], [j], [5.0], train.shape)
    return rs.ranking_metrics(np.zeros(train.shape), train, test, k=k)


Y_, R_ = small_problem()
X_, T_ = h.init_parameters(6, 5, 2)
TITLES = [f"movie {i}" for i in range(6)]

ARGUMENT_CASES = [
    # (call, argument named in the message[, TypeError for an argument of the wrong type, else ValueError])
    (lambda: h.train_lbfgs(Y_, R_, 2, tol=-1), "tol"),
    (lambda: h.init_parameters(6, 5, 2, scale=np.nan), "scale"),
    (lambda: h.similar_movies(X_, 0, TITLES, n=-1), "n must be"),
    (lambda: rs.fit_bias_baseline(training_set(), num_iters=-5), "num_iters"),
    (lambda: rs.fit_mf_lbfgs(training_set(), 2, init_scale=np.nan), "init_scale"),
    (lambda: rs.fit_mf_als(training_set(), 2, init_scale=1e200), "init_scale"),
    (lambda: rs.fit_mf_lbfgs(training_set(), 2, X0=np.full((6, 2), np.nan), Theta0=np.ones((5, 2))), "X0"),
    (lambda: rs.fit_mf_als(training_set(), 2, Theta0=np.full((5, 2), np.nan)), "Theta0"),
    (lambda: factor_model(X=np.full((6, 2), np.nan)), "X must be finite"),
    (lambda: factor_model(b_movie=np.full(6, np.nan)), "b_movie"),
    (lambda: rs.blend([factor_model(), factor_model()], validation=empty_set()), "validation"),
    # integers given as None, NaN, inf, strings or fractions
    (lambda: h.similar_movies(X_, 0, TITLES, n=2.5), "n must be an integer"),
    (lambda: rs.fit_bias_baseline(training_set(), num_iters=2.7), "num_iters"),
    (lambda: h.gradient_descent(X_, T_, Y_, R_, 0.0, 0.01, None), "num_iters", TypeError),
    (lambda: h.gradient_descent(X_, T_, Y_, R_, 0.0, 0.01, float("inf")), "num_iters"),
    (lambda: h.gradient_descent(X_, T_, Y_, R_, 0.0, 0.01, "10"), "num_iters", TypeError),
    (lambda: h.train_lbfgs(Y_, R_, num_features=np.nan), "num_features"),
    (lambda: h.train_lbfgs(Y_, R_, 2, num_iters=True), "num_iters", TypeError),
    (lambda: h.check_gradients(seed=1.5), "seed"),
    (lambda: h.init_parameters(6, 5, "2"), "num_features", TypeError),
    (lambda: h.recommend(np.zeros(6), Y_, R_, TITLES, n=None), "n must be", TypeError),
    (lambda: h.recommend(np.zeros(6), Y_, R_, TITLES, min_ratings=-1), "min_ratings"),
    (lambda: rs.fit_mf_als(training_set(), 2.5), "num_features"),
    (lambda: rs.fit_mf_lbfgs(training_set(), 2, num_iters=0), "num_iters"),
    (lambda: rs.fit_bayesian_mf(training_set(), 2, num_samples=np.inf), "num_samples"),
    (lambda: rs.random_split(training_set(), seed=-1), "seed"),
    (lambda: rs.ranking_metrics(np.zeros((6, 5)), training_set(), empty_set(), k=1.5), "k must be"),
    (lambda: ObservedRatings([0.5], [0], [1.0], (6, 5)), "rows"),
    (lambda: ObservedRatings([0], [0], [1.0], (6.5, 5)), "shape[0]"),
    # ranges, finiteness, booleans, overlapping sets
    (lambda: _ranking(k=7), "k must be an integer >= 1 and <= 6"),
    (lambda: _ranking(overlap=True), "train and test share"),
    (lambda: rs.fit_mf_lbfgs(training_set(), 2, weighted_lambda="no"), "weighted_lambda", TypeError),
    (lambda: rs.fit_mf_als(training_set(), 2, biases=1), "biases", TypeError),
    (lambda: h.train_lbfgs(Y_, R_, 2, sparse="yes"), "sparse", TypeError),
    (lambda: h.recommend(np.zeros(6), Y_, R_, TITLES, return_model="no"), "return_model", TypeError),
    (lambda: rs.fit_mf_lbfgs(training_set(), 2, lambda_=1e308), "lambda_"),
    (lambda: rs.fit_mf_als(training_set(), 2, lambda_bias=-1), "lambda_bias"),
    (lambda: h.cofi_cost(X_, T_, Y_, R_, lambda_="1"), "lambda_", TypeError),
    (lambda: h.cofi_cost(X_, T_, Y_, R_, lambda_=np.inf), "lambda_"),
    (lambda: h.gradient_descent(X_, T_, Y_, R_, 0.0, np.nan, 5), "alpha"),
    (lambda: h.normalize_ratings(Y_, R_, shrinkage=-1), "shrinkage"),
    (lambda: h.numerical_gradient(lambda p: 0.0, np.ones(2), eps=0), "eps"),
    (lambda: rs.random_split(training_set(), test_fraction=1.0), "test_fraction"),
    (lambda: rs.random_split(training_set(), test_fraction=np.nan), "test_fraction"),
    (lambda: rs.fit_bayesian_mf(training_set(), 2, noise_precision=0), "noise_precision"),
    (lambda: rs.rmse([1.0, np.nan], [1.0, 2.0]), "y_true"),
    (lambda: rs.evaluate(factor_model(), ObservedRatings([0], [0], [1.0], (7, 5))), "test has shape"),
    (lambda: rs.blend([factor_model(), factor_model()], validation=ObservedRatings([0], [0], [1.0], (7, 5))),
     "validation has shape"),
    (lambda: h.ratings_vector({2.5: 4}, 6), "2.5"),
    (lambda: h.ratings_vector({True: 4}, 6), "True"),
    (lambda: ObservedRatings([0], [0], [1 + 1j], (6, 5)), "values must hold real numbers"),
    (lambda: h.cofi_cost(X_, T_, Y_.astype(complex), R_), "Y must hold real numbers"),
    (lambda: h.add_user(np.full(6, 0.5), Y_, R_), "my_ratings[0]"),
    (lambda: h.load_ratings(None), "ratings file must be a path", TypeError),
    (lambda: h.load_movie_titles(3), "movie titles file must be a path", TypeError),
]


@pytest.mark.parametrize("case", ARGUMENT_CASES, ids=[f"arg{i:02d}" for i in range(len(ARGUMENT_CASES))])
def test_argument_names_itself(case):
    call, named, error = (*case, ValueError)[:3]
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert type(info.value) is error or (error is ValueError and isinstance(info.value, ValueError)), \
        f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert named in str(info.value), str(info.value)


def test_fit_mf_divergence_is_named(monkeypatch):
    """A cost that becomes non-finite is refused, not returned as a NaN model."""
    from recsys_tutorial.research import mf

    real = mf._mf_cost_grad

    def overflowing(*args, gradients=True):
        result = real(*args, gradients=gradients)
        return float("inf") if not gradients else (float("inf"), *result[1:])

    monkeypatch.setattr(mf, "_mf_cost_grad", overflowing)
    with pytest.raises(ValueError, match=r"training diverged.*lambda_=10"):
        rs.fit_mf_als(training_set(), 2)



# ---------------------------------------------------------------- F: round three (issue 22): the cache, the settings,
# ---------------------------------------------------------------- overflow, titles


LOAD = h.load_ratings.__wrapped__            # the loader behind the cache


def _planted(kind: str, entry: Path, Y, R, elsewhere: Path) -> None:
    """Plant a hostile entry of ``kind`` where the cache keeps the workbook whose arrays are ``Y``, ``R``."""
    n = Y.size
    builders = {
        "y-99": lambda: npz_entry(entry, [np.full(Y.shape, 99.0), R]),
        "nan-unrated": lambda: npz_entry(entry, [np.where(R, Y, np.nan), R]),
        "nan-rated": lambda: npz_entry(entry, [np.where(R, np.nan, Y), R]),
        "negative": lambda: npz_entry(entry, [-Y, R]),
        "rated-zero": lambda: npz_entry(entry, [np.zeros(Y.shape), np.ones(R.shape, bool)]),
        "three-arrays": lambda: npz_entry(entry, [Y, R, R]),
        "one-array": lambda: npz_entry(entry, [Y]),
        "wrong-shapes": lambda: npz_entry(entry, [Y.T, R]),
        "flat": lambda: npz_entry(entry, [Y.ravel(), R.ravel()]),
        "float32": lambda: npz_entry(entry, [Y.astype(np.float32), R]),
        "int-flags": lambda: npz_entry(entry, [Y, R.astype(np.int64)]),
        "big-endian": lambda: npz_entry(entry, [Y.astype(">f8"), R]),
        "fortran": lambda: npz_entry(entry, [np.asfortranarray(Y), R]),
        "renamed": lambda: npz_entry(entry, [Y, R], names=["y.npy", "r.npy"]),
        "pickle": lambda: npz_entry(entry, [np.array([_Trap(elsewhere / "pickle-ran")], dtype=object), R]),
        "declares-3GiB": lambda: declared_huge_entry(entry, R),
        "header-3GiB": lambda: _forged_header(entry, R),
        "5M-cells-vs-tiny-R": lambda: npz_entry(entry, [np.zeros((5000, 1000)), R]),
        "5M-cells-of-99": lambda: npz_entry(entry, [np.full((5000, 1000), 99.0), np.ones((5000, 1000), bool)]),
        "truncated": lambda: entry.write_bytes(npz_entry(entry, [Y, R]).read_bytes()[:-30]),
        "bad-crc": lambda: _flip_last_data_byte(npz_entry(entry, [Y, R])),
        "trailing-bytes": lambda: entry.write_bytes(npz_entry(entry, [Y, R]).read_bytes() + b"\0" * 100),
        "empty": lambda: entry.write_bytes(b""),
        "not-a-zip": lambda: entry.write_bytes(b"Y = 99\n" * n),
        "forged-directory": lambda: entry.write_bytes(_forged_count(npz_entry(entry, [Y, R]).read_bytes())),
        "fifo": lambda: os.mkfifo(entry),
        "symlink": lambda: entry.symlink_to(npz_entry(elsewhere / "learners.npz", [Y * 0 + 3, R])),
        "folder": lambda: entry.mkdir(),
    }
    builders[kind]()


class _Trap:
    """Unpickling it creates a file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _forged_header(entry: Path, R) -> None:
    """A small entry whose arr_0.npy header declares shape (402653184,): 3 GiB of float64, not there."""
    npz_entry(entry, [np.zeros(4), R])
    data = entry.read_bytes().replace(b"'shape': (4,)", b"'shape': (402653184,)")  # not compressed: the header
    entry.write_bytes(data)


def _flip_last_data_byte(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    first_central = data.find(b"PK\x01\x02")
    data[first_central - 20] ^= 0xFF                      # inside the last member's compressed bytes
    entry.write_bytes(bytes(data))


def _forged_count(data: bytes) -> bytes:
    """The end record claims 65,535 members."""
    return data[:-22] + data[-22:-14] + struct.pack("<2H", 0xFFFF, 0xFFFF) + data[-10:]


PLANTED = ["y-99", "nan-unrated", "nan-rated", "negative", "rated-zero", "three-arrays", "one-array", "wrong-shapes",
           "flat", "float32", "int-flags", "big-endian", "fortran", "renamed", "pickle", "declares-3GiB", "header-3GiB",
           "5M-cells-vs-tiny-R", "5M-cells-of-99", "truncated", "bad-crc", "trailing-bytes", "empty", "not-a-zip",
           "forged-directory", "fifo", "symlink", "folder"]
SPECIAL = {"fifo", "symlink", "folder"}                   # not regular files: skipped, never read nor removed


def _plant_all(tmp_path, monkeypatch, kinds):
    """One workbook per kind, its entry planted; returns ``{kind: (workbook, entry, Y, R)}``."""
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "cache"))
    assert _cache.owned_folder(create=True) is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    planted = {}
    for i, kind in enumerate(kinds):
        book = tmp_path / f"{kind}.xlsx"
        Y, R = ratings_workbook(book, seed=100 + i)
        entry = _cache.entry_path(LOAD, book)
        _planted(kind, entry, Y, R, elsewhere)
        planted[kind] = (book, entry, Y, R)
    return planted, elsewhere


def _within(seconds, call):
    """``call()`` in a thread: its result, or a failed test if it has not returned after ``seconds``."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(value=call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for over {seconds} s"
    return box["value"]


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_entry_is_never_returned(tmp_path, monkeypatch, kind):
    planted, elsewhere = _plant_all(tmp_path, monkeypatch, [kind])
    book, entry, Y, R = planted[kind]
    before = set(os.listdir(elsewhere))
    Y2, R2 = _within(60, lambda: h.load_ratings(book))        # a FIFO must not block
    np.testing.assert_array_equal(Y2, Y)
    np.testing.assert_array_equal(R2, R)
    assert Y2.dtype == np.float64 and R2.dtype == bool and Y2.flags.c_contiguous
    assert set(os.listdir(elsewhere)) == before               # nothing unpickled, nothing written there
    if kind in SPECIAL:                                       # left as it was: not ours to remove or replace
        assert entry.is_symlink() if kind == "symlink" else not entry.is_file()
    else:                                                     # discarded, then replaced by the parse's entry
        again = _cache._lookup(entry, _cache.LOADED_RATINGS)
        np.testing.assert_array_equal(again[0], Y)
    if kind == "symlink":
        np.testing.assert_array_equal(np.load(elsewhere / "learners.npz")["arr_0"], Y * 0 + 3)


CACHE_CHILD = """
import json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))  # 2 GB: a 3 GiB array cannot be allocated
sys.path.insert(0, {root!r})
import numpy as np
import helpers
from recsys_tutorial import cache
cache.MAX_ENTRIES = 64                              # every planted entry is read: none is pruned before its turn
tracemalloc.start()
loaded = {{}}
for path in sys.argv[1:]:
    Y, R = helpers.load_ratings(path)               # a MemoryError is not caught: the child fails
    loaded[path] = [Y.tolist(), R.tolist()]
print(json.dumps({{"peak": tracemalloc.get_traced_memory()[1], "loaded": loaded}}))
"""


def test_planted_entries_in_a_child_under_a_memory_limit(tmp_path, monkeypatch):
    """Every planted entry at once, in a child Python limited to 2 GB, with a time limit (the FIFO): each
    load returns the workbook's own arrays, and no more is allocated than the largest entry the limits allow
    (two 5-million-cell arrays) and the check of its values."""
    planted, _ = _plant_all(tmp_path, monkeypatch, PLANTED)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    books = [str(book) for book, *_ in planted.values()]
    run = subprocess.run([sys.executable, "-c", CACHE_CHILD.format(root=str(ROOT)), *books],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    for book, _, Y, R in planted.values():
        np.testing.assert_array_equal(out["loaded"][str(book)][0], Y)
        np.testing.assert_array_equal(out["loaded"][str(book)][1], R)
    # The largest entry read (5 million cells: 45 MB of arrays) and its value check (a copy of Y, a few masks):
    # about 120 MB traced; 3 GiB were declared.
    limit = 4 * _cache.LOADED_RATINGS.max_file_bytes()
    assert out["peak"] < limit, f"peak {out['peak']:,} bytes traced; at most {limit:,} expected"


def test_a_learners_npz_files_are_never_deleted_or_changed(tmp_path, monkeypatch):
    """MOVIE_RECOMMENDER_CACHE pointed at a folder of a learner's own 20 .npz files (5 of them named as the
    cache names its entries, one a valid entry): after more workbooks than the cache keeps, all 20 are
    there, unchanged, and the cache wrote only its own subfolder."""
    folder = tmp_path / "my-work"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(15):
        np.savez(folder / f"experiment-{i}.npz", weights=rng.random((3, 3)))
    for i in range(5):
        Y, R = ratings_workbook(tmp_path / f"mine-{i}.xlsx", seed=50 + i)
        npz_entry(folder / f"load_ratings-{i:040x}.npz", [Y, R])
    os.symlink(folder / "experiment-0.npz", folder / f"load_ratings-{'f' * 40}.npz")
    before = {p.name: (p.read_bytes(), p.lstat().st_mtime_ns) for p in folder.iterdir()}
    monkeypatch.setenv(settings.CACHE_ENV, str(folder))
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 2)
    for i in range(6):
        book = tmp_path / f"book-{i}.xlsx"
        Y, R = ratings_workbook(book, seed=i)
        for _ in range(2):
            np.testing.assert_array_equal(h.load_ratings(book)[0], Y)
    after = {p.name: (p.read_bytes(), p.lstat().st_mtime_ns) for p in folder.iterdir() if p.name != _cache.SUBFOLDER}
    assert after == before
    assert sorted(os.listdir(folder)) == sorted([*before, _cache.SUBFOLDER])
    assert len(list((folder / _cache.SUBFOLDER).glob("*.npz"))) == 2


@pytest.mark.parametrize("kind", ["learners-folder", "link-to-learners-folder", "group-writable", "someone-elses",
                                  "tag-is-a-fifo", "tag-is-a-link"])
def test_a_subfolder_that_is_not_the_caches_is_left_alone(tmp_path, monkeypatch, kind):
    """A folder named as the cache's own, but not made by it (no tag, a link, writable by others, another
    user's): never read, written or pruned; the cache is simply off."""
    base = tmp_path / "cache"
    sub = base / _cache.SUBFOLDER
    mine = tmp_path / "mine"
    mine.mkdir()
    base.mkdir()
    if kind == "link-to-learners-folder":
        sub.symlink_to(mine, target_is_directory=True)
    else:
        sub.mkdir()
    target = mine if kind == "link-to-learners-folder" else sub
    if kind == "tag-is-a-fifo":
        sub.chmod(0o700)
        os.mkfifo(sub / "CACHEDIR.TAG")
    if kind == "tag-is-a-link":
        sub.chmod(0o700)
        (mine / "tag").write_bytes(_cache._TAG)
        (sub / "CACHEDIR.TAG").symlink_to(mine / "tag")
    if kind in ("group-writable", "someone-elses"):
        (sub / "CACHEDIR.TAG").write_bytes(_cache._TAG)       # a forged or copied tag
        if kind == "group-writable":
            sub.chmod(0o777)
        elif os.geteuid() == 0:
            os.chown(sub, 12345, 12345)
        else:
            pytest.skip("giving a folder to another user needs root")
    monkeypatch.setenv(settings.CACHE_ENV, str(base))
    book = tmp_path / "ratings.xlsx"
    Y, R = ratings_workbook(book)
    name = f"load_ratings-{'0' * 40}.npz"
    npz_entry(target / name, [np.full(Y.shape, 99.0), R])
    for i in range(3):
        (target / f"load_ratings-{i:040x}.npz").write_bytes(b"mine")
    before = {p.name: p.lstat().st_size and p.read_bytes() for p in target.iterdir()}   # a FIFO: not read
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 1)
    for _ in range(2):
        np.testing.assert_array_equal(_within(60, lambda: h.load_ratings(book))[0], Y)
    assert {p.name: p.lstat().st_size and p.read_bytes() for p in target.iterdir()} == before
    assert _cache.owned_folder(create=True) is None


def test_the_issues_settings_cases(tmp_path, monkeypatch):
    """~nosuchuser, 'OFF ', relative paths, MOVIE_RECOMMENDER_NUMBA=0, MOVIELENS_DATA='   ': each named,
    nothing created in the current folder."""
    from recsys_tutorial import observed, paths

    book = tmp_path / "ratings.xlsx"
    Y, _ = ratings_workbook(book)
    work = tmp_path / "notebooks"
    work.mkdir()
    monkeypatch.chdir(work)
    for value, named in [("~nosuchuser/x", "nosuchuser has no home folder"), ("cache", "relative path"),
                         ("./cache", "relative path"), ("   ", "only spaces")]:
        monkeypatch.setenv(settings.CACHE_ENV, value)
        with pytest.raises(settings.SettingError) as info:
            h.load_ratings(book)
        assert_names(str(info.value), settings.CACHE_ENV, named)
    monkeypatch.setenv(settings.CACHE_ENV, "OFF ")
    np.testing.assert_array_equal(h.load_ratings(book)[0], Y)
    assert os.listdir(work) == []
    monkeypatch.setenv(settings.NUMBA_ENV, "0")
    assert observed._kernel(None) is None
    monkeypatch.setenv(settings.NUMBA_ENV, "o")
    with pytest.raises(settings.SettingError, match=settings.NUMBA_ENV):
        training_set().cost_and_gradients(np.zeros((6, 2)), np.zeros((5, 2)), 0.0)
    for value, named in [("   ", "only spaces"), ("data", "relative path"), ("~nosuchuser/data", "nosuchuser")]:
        monkeypatch.setenv(settings.DATA_ENV, value)
        with pytest.raises(settings.SettingError) as info:
            paths.data_dir()
        assert_names(str(info.value), settings.DATA_ENV, named)
    assert os.listdir(work) == []


@pytest.mark.parametrize("name, value", [(settings.URL_ENV, "ftp://mirror/ml-100k.zip"),
                                         (settings.URL_ENV, "mirror/ml-100k.zip"), (settings.URL_ENV, "   "),
                                         (settings.MD5_ENV, "123"), (settings.MD5_ENV, "z" * 32)])
def test_a_bad_download_setting_is_named_before_anything_is_written(tmp_path, dest, monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)
    code = bd.main(["--dest", str(dest), "--no-shared", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err
    assert_untouched(dest)


def test_a_data_folder_that_is_not_a_folder_is_named(tmp_path, monkeypatch):
    from recsys_tutorial import paths

    for value, named in [(tmp_path / "missing", "does not exist"), (tmp_path / "file", "not a folder"),
                         ("/" + "x" * 5000, "not found")]:
        if value == tmp_path / "file":
            value.write_text("")
        monkeypatch.setenv(settings.DATA_ENV, str(value))
        with pytest.raises(paths.DataNotBuiltError) as info:
            paths.data_dir()
        assert_names(str(info.value), named, settings.DATA_ENV)
    with pytest.raises(ValueError, match="name must be the name of a file"):
        paths.data_file("../../etc/passwd")
    with pytest.raises(TypeError, match="name must be a file name"):
        paths.data_file(None)


BIG = 1e200
OVERFLOW_CASES = [
    # (call, argument named in the message): each result would be inf or NaN
    (lambda: h.cofi_cost(np.full((6, 2), BIG), T_, Y_, R_), "X"),
    (lambda: h.cofi_cost(X_, T_, np.where(R_, BIG, 0.0), R_), "Y (a rated entry)"),
    (lambda: h.cofi_cost(np.ones((6, 2)), np.ones((5, 2)), Y_, R_, lambda_=1e308), "lambda_"),
    (lambda: h.cofi_gradients(X_, np.full((5, 2), BIG), Y_, R_), "Theta"),
    (lambda: h.cofi_gradients(X_, T_, Y_ * 1e306, R_), "Y (a rated entry)"),
    (lambda: h.normalize_ratings(np.where(R_, 1e308, 0.0), R_), "Y (a rated entry)"),
    (lambda: h.normalize_ratings(np.where(R_, -1.7e308, 0.0) + np.where(R_, 0, 0), R_, shrinkage=1e308), "Y"),
    (lambda: h.similar_movies(np.full((6, 2), BIG) * np.arange(6)[:, None], 0, TITLES), "X"),
    (lambda: factor_model(X=np.full((6, 2), BIG)), "X"),
    (lambda: factor_model(mu=1.7e308, b_movie=np.full(6, 1e308)), "mu"),
    (lambda: h.gradient_descent(np.full((6, 2), BIG), T_, Y_, R_, 0.0, 0.01, 5), "X"),
    (lambda: h.train_lbfgs(Y_, R_, 2, X0=X_, Theta0=np.full((5, 2), BIG)), "Theta"),
    (lambda: h.init_parameters(6, 5, 2, scale=1e308), "scale"),
    (lambda: h.search_titles("", TITLES, np.where(R_, 1.7e308, 0.0), R_), "Y (a rated entry)"),
    (lambda: h.numerical_gradient(lambda p: np.inf if p[0] > 0 else 0.0, np.zeros(2)), "params[0]"),
    (lambda: h.numerical_gradient(lambda p: 1e10 * (p[0] > 0), np.zeros(2), eps=1e-300), "eps=1e-300"),
]


@pytest.mark.parametrize("case", OVERFLOW_CASES, ids=[f"overflow{i:02d}" for i in range(len(OVERFLOW_CASES))])
def test_overflow_is_an_error_naming_the_argument(case):
    call, named = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # no RuntimeWarning on the way either
        with pytest.raises(ValueError) as info:
            call()
    assert type(info.value) is not h.DivergenceError       # not blamed on the learning rate
    assert named in str(info.value), str(info.value)


GRADIENT_FN_CASES = [
    # a learner's gradient function, untrusted: (what it returns, error, named)
    (lambda X, T, Y, R, lam: (X * np.nan, T), ValueError, "gradient_fn (iteration 0) returned NaN or inf: X_grad[0, 0]"),
    (lambda X, T, Y, R, lam: (X, T * np.inf), ValueError, "Theta_grad[0, 0] = "),
    (lambda X, T, Y, R, lam: X, TypeError, "must return a pair (X_grad, Theta_grad); got ndarray"),
    (lambda X, T, Y, R, lam: (X.T, T), ValueError, "X_grad must have the shape of X, (6, 2); got (2, 6)"),
    (lambda X, T, Y, R, lam: (X, None), TypeError, "Theta_grad"),
    (lambda X, T, Y, R, lam: (X, T, T), TypeError, "must return a pair"),
]


@pytest.mark.parametrize("case", GRADIENT_FN_CASES, ids=[f"gradient_fn{i}" for i in range(len(GRADIENT_FN_CASES))])
def test_a_bad_gradient_fn_is_named_not_the_learning_rate(case):
    fn, error, named = case
    with pytest.raises(error) as info:
        h.gradient_descent(X_, T_, Y_, R_, 0.0, 0.01, 5, gradient_fn=fn)
    assert type(info.value) is error and named in str(info.value), str(info.value)
    with pytest.raises(error) as info:
        h.check_gradients(gradient_fn=fn)
    assert "gradient_fn" in str(info.value)


def test_divergence_is_still_the_learning_rates():
    with pytest.raises(h.DivergenceError, match=r"alpha=1e\+06 is too large"):
        h.gradient_descent(X_, T_, Y_, R_, 0.0, 1e6, 50)


def test_the_issues_core_cases(tmp_path):
    with pytest.raises(TypeError) as info:                  # was an AttributeError from a generator
        h.search_titles("star", [*TITLES[:5], 42], Y_, R_)
    assert_names(str(info.value), "titles[5]", "42")
    for line, named in [("\u00b2 Toy Story (1995)", "line 2"), ("1" * 100_000 + " Toy Story", "line 2"),
                        ("٣ Toy Story", "line 2"), ("2\u2009Heat (1995)", "line 2")]:
        p = tmp_path / "ids.txt"
        p.write_text(f"1 Heat (1995)\n{line}\n", encoding="utf-8")
        with pytest.raises(ValueError) as info:             # was Python's own int() error
            h.load_movie_titles(p)
        assert_names(str(info.value), "ids.txt", named)
        assert len(str(info.value)) < 400


def test_a_title_line_of_spaces_is_read_in_linear_time(tmp_path):
    """The title pattern once backtracked: a line '1 a', a million spaces, 'b' took about an hour."""
    p = tmp_path / "ids.txt"
    p.write_text("1 a" + " " * 1_000_000 + "b\n2" + "\t" * 1_000_000 + "|x\n")
    titles = _within(60, lambda: h.load_movie_titles(p))
    assert titles[0].startswith("a ") and titles[0].endswith("b") and titles[1] == "x"


# ---------------------------------------------------------------- G: the pictures and widgets (issue 22, item 3)


@pytest.mark.parametrize("call, name, error", [
    (lambda: interactive.descent_figure(0.1, y=1, lambda_=1), "y > lambda_", ValueError),       # was ZeroDivisionError
    (lambda: interactive.descent_figure([]), "alphas", ValueError),                                # was ZeroDivisionError
    (lambda: interactive.descent_figure([0.1, -0.2]), r"alphas\[1\]", ValueError),
    (lambda: interactive.descent_figure(["0.1"]), r"alphas\[0\]", TypeError),
    (lambda: interactive.descent_figure(0.1, num_iters=0), "num_iters", ValueError),
    (lambda: interactive.descent_figure(0.1, lambda_=-1), "lambda_", ValueError),
    (lambda: interactive.descent_figure(0.1, start=(0.1, np.nan)), "start", ValueError),
    (lambda: interactive.descent_path(np.inf), "alpha", ValueError),
    (lambda: interactive.build_descent_explorer(alpha=0.9), "alpha", ValueError),                 # the slider ends at 0.6
    (lambda: interactive.build_descent_explorer(num_iters=1000), "num_iters", ValueError),
])
def test_descent_pictures_refuse_what_they_cannot_draw(call, name, error):
    with pytest.raises(error, match=name):
        call()


@pytest.mark.parametrize("kwargs, name", [
    ({"lambda_": -5}, "lambda_"), ({"lambda_": 2.5}, "lambda_"), ({"alpha": 5}, "alpha"),
    ({"alpha": 0.02}, "alpha"), ({"iterations": 10 ** 6}, "iterations"), ({"iterations": 15}, "iterations"),
    ({"first_draw_after": -1}, "first_draw_after"),
])
def test_explorer_refuses_settings_its_sliders_would_clamp(runs, kwargs, name):
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match=name) as err:
        interactive.build_training_explorer(runs, WIDGET_TITLES, np.ones(40), **kwargs)
    assert "slider" in str(err.value) or name == "first_draw_after"


def test_explorer_names_the_nearest_value_a_slider_can_show(runs):
    with pytest.raises(ValueError, match=r"got 0.02, nearest 0.0178"):
        interactive.build_training_explorer(runs, WIDGET_TITLES, np.ones(40), alpha=0.02)
    with pytest.raises(TypeError, match="runs must be an interactive.TrainingRuns"):
        interactive.build_training_explorer(None, WIDGET_TITLES, np.ones(40))
    with pytest.raises(ValueError, match="titles must have one entry per movie"):
        interactive.build_training_explorer(runs, WIDGET_TITLES[:3], np.ones(40))
    with pytest.raises(ValueError, match="num_ratings must have 40 entries"):
        interactive.build_training_explorer(runs, WIDGET_TITLES, np.ones(3))


def test_training_runs_refuse_an_empty_held_out_part():
    with pytest.raises(ValueError, match=r"validation \(the share of ratings held out\) must be a finite number > 0"):
        interactive.TrainingRuns(*small_ratings(), {}, validation=0.0)       # was accepted: "held-out RMSE nan"
    with pytest.raises(ValueError, match="<= 0.5"):
        interactive.TrainingRuns(*small_ratings(), {}, validation=0.9)
    Y, R = small_ratings(n_movies=3, n_users=2)
    with pytest.raises(ValueError, match="holds out 0 of the"):
        interactive.TrainingRuns(Y, R, {}, validation=1e-6)


@pytest.mark.parametrize("call, name, error", [
    (lambda me: interactive.taste_figure(None, {2: 5}, WIDGET_TITLES), "me must be a helpers.FactorModel", TypeError),
    (lambda me: interactive.taste_figure(me, {}, WIDGET_TITLES), "my_ratings is empty", ValueError),
    (lambda me: interactive.taste_figure(me, {"no such film": 5}, WIDGET_TITLES), "neither a 0-based row", ValueError),
    (lambda me: interactive.taste_figure(me, {2: 7}, WIDGET_TITLES), r"my_ratings\[2\]", ValueError),
    (lambda me: interactive.taste_figure(me, {2: 5}, WIDGET_TITLES[:5]), "titles must have one entry per movie", ValueError),
    (lambda me: interactive.taste_figure(me, {2: 5}, WIDGET_TITLES, max_movies=0), "max_movies", ValueError),
])
def test_taste_figure_refuses_what_it_cannot_draw(base_model, call, name, error):
    with pytest.raises(error, match=name):
        call(h.fold_in(base_model[2], {2: 5}))


@pytest.mark.parametrize("stars", [0, 7, np.nan, np.inf, "5", None, True])
def test_a_refused_rating_changes_nothing(base_model, stars):
    """Issue 21: a rating outside 1-5 given through the widget's methods stayed in its state, after which every
    rating and refresh failed. Now it is refused and the widget goes on working."""
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = interactive.RatingWidget(base, Y, R, WIDGET_TITLES, n=5, picture=False, ratings={3: 4})
    before = (dict(w.ratings), w.top.value, len(w.mine.children))
    with pytest.raises((TypeError, ValueError), match="stars for 'movie 5 \\(1995\\)'"):
        w.rate(5, stars)
    assert (dict(w.ratings), w.top.value, len(w.mine.children)) == before
    w.rate(5, 2)
    w.remove("movie 3 (1993)")
    assert w.ratings == {5: 2.0}


def test_rating_widget_refuses_unknown_movies_and_removals(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = interactive.RatingWidget(base, Y, R, WIDGET_TITLES, n=5, picture=False)
    for movie in (40, -1, "movie 99", 2.5, None):
        with pytest.raises(ValueError, match="neither a 0-based row"):
            w.rate(movie, 3)
    with pytest.raises(ValueError, match="'movie 3 \\(1993\\)' is not among my ratings"):
        w.remove(3)
    assert w.ratings == {}


@pytest.mark.parametrize("make, name, error", [
    (lambda Y, R, m: interactive.RatingWidget(None, Y, R, WIDGET_TITLES), "model must be a trained helpers.FactorModel", TypeError),
    (lambda Y, R, m: interactive.RatingWidget("model", Y, R, WIDGET_TITLES), "model", TypeError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y[:5], R[:5], WIDGET_TITLES[:5]), "one movie per row of Y", ValueError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y, R, WIDGET_TITLES[:5]), "titles", ValueError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y, R, WIDGET_TITLES, n=0), "n must be", ValueError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y, R, WIDGET_TITLES, lambda_=-1), "lambda_", ValueError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y, R, WIDGET_TITLES, picture="no"), "picture", TypeError),
    (lambda Y, R, m: interactive.RatingWidget(m, Y, R, WIDGET_TITLES, ratings={3: 0}), r"my_ratings\[3\]", ValueError),
])
def test_rating_widget_refuses_to_be_built_without_what_it_needs(base_model, make, name, error):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    with pytest.raises(error, match=name):
        make(Y, R, base)


# ---------------------------------------------------------------- H: round four (the review of issue 22's fixes)


def _finishes_within(seconds, call):
    """``call()`` in a thread, its exception re-raised here; a failed test if it has not finished after ``seconds``."""
    box = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as exc:   # noqa: BLE001 - handed to the test
            box["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for over {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_check_gradients_with_a_huge_lambda_is_a_number_or_names_lambda():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diff = h.check_gradients(lambda_=1e300)                  # was nan
        assert np.isfinite(diff) and diff < 1e-6
        with pytest.raises(ValueError) as info:                  # was a message about eps
            h.check_gradients(lambda_=1e308)
    assert_names(str(info.value), "lambda_")


def test_a_factor_model_keeps_its_own_read_only_arrays():
    rng = np.random.default_rng(1)
    X, T, bm = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)), np.zeros(6)
    model = h.FactorModel(3.0, bm, np.zeros(5), X, T)
    before = model.predict_all(clip=False)
    X[0, 0], bm[:] = np.nan, np.inf                           # the caller's arrays, changed afterwards
    np.testing.assert_array_equal(model.predict_all(clip=False), before)
    for name in ("X", "Theta", "b_movie", "b_user", "history"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(model, name)[...] = np.nan
    for name, value in [("mu", 1e308), ("rating_range", (5, 1)), ("X", X)]:
        with pytest.raises(AttributeError) as info:
            setattr(model, name, value)
        assert_names(str(info.value), name, "read-only")
    np.testing.assert_array_equal(model.predict_all(clip=False), before)


@pytest.mark.parametrize("parts, named, error", [
    ({"b_movie": np.zeros((2, 3))}, "b_movie must be a 1-D array", ValueError),      # was flattened
    ({"history": [np.nan, np.inf]}, "history must be finite", ValueError),
    ({"history": "abc"}, "history", ValueError),
    ({"rating_range": 5}, "rating_range must be a pair", TypeError),
    ({"info": 5}, "info must be a dict", TypeError),
    ({"info": "ab"}, "info must be a dict", TypeError),
    ({"mu": 10 ** 400}, "mu must be a finite number", ValueError),
])
def test_factor_model_parts_are_named(parts, named, error):
    with pytest.raises(error) as info:
        factor_model(**parts)
    assert_names(str(info.value), named)


VALIDATION_CASES = [
    # (call, argument named, error): huge integers, ragged lists, masked arrays, dates, records, 2-D ratings
    (lambda: h.ratings_vector({}, 10 ** 8), "n_movies must be an integer >= 1 and <= 10000", ValueError),
    (lambda: h.ratings_vector({}, 10 ** 11), "n_movies", ValueError),
    (lambda: h.init_parameters(10 ** 400, 5, 2), "n_movies", ValueError),
    (lambda: h.cofi_cost(X_, T_, Y_, R_, lambda_=10 ** 400), "lambda_", ValueError),
    (lambda: h.gradient_descent(X_, T_, Y_, R_, 0.0, 0.01, 10 ** 400), "num_iters", ValueError),
    (lambda: h.similar_movies(X_, 0, TITLES, n=10 ** 400), "n must be", ValueError),
    (lambda: h.cofi_cost(X_, T_, [[10 ** 400] * 5] * 6, R_), "Y must be", ValueError),
    (lambda: h.ratings_vector({0: 10 ** 400}, 6), "my_ratings[0]", ValueError),
    (lambda: h.ratings_vector([10 ** 400, 0, 0, 0, 0, 0], 6), "my_ratings", ValueError),
    (lambda: h.cofi_cost(X_, T_, [[1, 2], [3]], R_), "Y must be an array of numbers with rows of equal length", ValueError),
    (lambda: h.normalize_ratings(Y_, [[1, 0], [1]]), "R must be", ValueError),
    (lambda: h.cofi_cost([[1, 2], [3]], T_, Y_, R_), "X must be", ValueError),
    (lambda: h.ratings_vector([[1, 2], [3]], 6), "my_ratings", ValueError),
    (lambda: factor_model(b_movie=[[1, 2], [3]]), "b_movie", ValueError),
    (lambda: factor_model().predict([[1, 2], [3]], [0]), "rows", ValueError),
    (lambda: h.similar_movies([[1, 2], [3]], 0, TITLES), "X must be", ValueError),
    (lambda: h.normalize_ratings(np.ma.masked_array(Y_, mask=~R_), R_), "Y must be a plain array", ValueError),
    (lambda: h.cofi_cost(X_, T_, Y_, np.ma.masked_array(R_)), "R must be a plain array", ValueError),
    (lambda: h.cofi_cost(X_, T_, Y_.astype("datetime64[s]"), R_), "Y must hold numbers", ValueError),
    (lambda: h.cofi_cost(X_, T_, Y_.astype("timedelta64[s]"), R_), "Y must hold numbers", ValueError),
    (lambda: h.cofi_cost(X_, T_, np.zeros((6, 5), dtype=[("a", float)]), R_), "Y must hold numbers", ValueError),
    (lambda: h.ratings_vector(np.zeros((2, 3)), 6), "my_ratings must be a 1-D array", ValueError),   # was flattened
    (lambda: h.add_user(np.zeros((3, 2)), Y_, R_), "my_ratings must be a 1-D array", ValueError),
    # sizes that allocated tens of GiB before saying anything
    (lambda: h.init_parameters(10 ** 7, 10 ** 7, 1000), "num_features=1,000 for 10,000,000 movies", ValueError),
    (lambda: h.train_lbfgs(Y_, R_, num_features=10 ** 9, num_iters=1), "num_features=1,000,000,000", ValueError),
    (lambda: h.recommend({0: 5}, Y_, R_, TITLES, num_features=10 ** 9, num_iters=1), "num_features", ValueError),
    (lambda: rs.fit_mf_als(training_set(), 10 ** 9), "num_features", ValueError),
    (lambda: interactive.TrainingRuns(Y_, R_, {}, num_features=10 ** 8), "num_features", ValueError),
]


@pytest.mark.parametrize("case", VALIDATION_CASES, ids=[f"validation{i:02d}" for i in range(len(VALIDATION_CASES))])
def test_what_numpy_would_misread_is_named(case):
    call, named, error = case
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert named in str(info.value), str(info.value)
    assert len(str(info.value)) < 600


@pytest.mark.parametrize("block, error", [(0, ValueError), (-3, ValueError), (2.5, ValueError), ("8", TypeError),
                                          (10 ** 5, ValueError), (10 ** 400, ValueError)],
                         ids=["0", "-3", "2.5", "'8'", "1e5", "1e400"])
def test_rating_density_block_is_checked_before_anything_is_allocated(block, error):
    from recsys_tutorial import plots

    with pytest.raises(error) as info:                    # 10**5 tried to allocate 9 GiB
        _finishes_within(60, lambda: plots.rating_density(R_, block=block))
    assert_names(str(info.value), "block")
    with pytest.raises(ValueError, match="R is empty"):
        plots.rating_density(np.zeros((0, 0), dtype=bool))


@pytest.mark.parametrize("call, named", [
    (lambda runs: interactive.descent_path(0.1, 10 ** 8), "num_iters must be an integer >= 1 and <= 1000"),
    (lambda runs: interactive.descent_figure([0.1], 10 ** 6), "num_iters must be an integer >= 1 and <= 1000"),
    (lambda runs: runs.run(1.0, 0.01, 10 ** 8), "iterations must be an integer >= 0 and <= 1000"),
    (lambda runs: runs.run(1e308, 0.01, 10), "lambda_ must be a finite number >= 0 and <= 1000"),
    (lambda runs: runs.run(1e200, 0.01, 10), "lambda_"),
    (lambda runs: runs.run(1.0, 1e300, 10), "alpha"),
])
def test_descent_and_training_runs_have_an_upper_limit(runs, call, named):
    with pytest.raises(ValueError) as info:               # each of these never returned, or returned J = inf
        _finishes_within(60, lambda: call(runs))
    assert named in str(info.value), str(info.value)


def test_a_divergence_caused_by_lambda_names_lambda():
    with pytest.raises(h.DivergenceError) as info:        # blamed alpha=0.01
        h.gradient_descent(X_, T_, Y_, R_, 1e200, 0.01, 5)
    assert_names(str(info.value), "lambda_=1e+200", "alpha * lambda_", "lower lambda_")
    with pytest.raises(h.DivergenceError, match=r"alpha=1e\+06 is too large"):
        h.gradient_descent(X_, T_, Y_, R_, 0.0, 1e6, 50)
    for lam, alpha in [(1000.0, 1.0), (50.0, 0.1)]:       # the largest a TrainingRuns accepts: J stays finite
        with pytest.raises(h.DivergenceError) as info:
            h.gradient_descent(X_, T_, Y_, R_, lam, alpha, 50)
        assert np.all(np.isfinite(info.value.J_history))


@pytest.mark.parametrize("call, named, error", [
    (lambda runs: interactive.descent_verdict([], False), "costs must hold at least two", ValueError),  # 'settles'
    (lambda runs: interactive.descent_verdict([np.nan, 1.0], False), "costs", ValueError),           # 'on its way'
    (lambda runs: interactive.descent_verdict([1.0, 0.5], "no"), "diverged", TypeError),              # 'diverges'
    (lambda runs: interactive.descent_verdict(None, False), "costs", ValueError),
    (lambda runs: interactive.TrainingPicture(max_iterations=0), "max_iterations", ValueError),
    (lambda runs: interactive.TrainingPicture(max_iterations=-5), "max_iterations", ValueError),
    (lambda runs: interactive.TrainingPicture(rmse_limits=(1, 1)), "rmse_limits", ValueError),
    (lambda runs: interactive.TrainingPicture(rmse_limits=(np.nan, 1)), "rmse_limits[0]", ValueError),
    (lambda runs: interactive.TrainingPicture(rmse_limits="ab"), "rmse_limits", TypeError),
    (lambda runs: interactive.TrainingPicture().update(runs.run(1.0, 0.01, 10), cost_limits=(5, 1)), "cost_limits",
     ValueError),
    (lambda runs: interactive.TrainingPicture().update(runs.run(1.0, 0.01, 10), cost_limits="x"), "cost_limits",
     TypeError),
    (lambda runs: interactive.build_training_explorer(runs, WIDGET_TITLES, np.full(40, 2.7)), "num_ratings",
     ValueError),                                                                                     # truncated
    (lambda runs: interactive.build_training_explorer(runs, WIDGET_TITLES, np.full(40, -1)), "num_ratings",
     ValueError),
])
def test_widget_settings_are_checked(runs, call, named, error):
    with pytest.raises(error) as info:
        call(runs)
    assert type(info.value) is error and named in str(info.value), str(info.value)


DOLLAR_TITLES = ["$9.99 (2008)", "$x^{$", r"$\foo$ (1999)", "a \\$ b"]


def _render(fig) -> int:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return len(canvas.buffer_rgba())


def test_titles_with_dollars_are_drawn_as_they_are():
    """Matplotlib read '$' as mathtext: "$x^{$" failed to draw, "$\\foo$" too."""
    from recsys_tutorial import plots

    Y, R = Y_[:4, :2], R_[:4, :2]
    fig = plots.rating_table(Y, R, DOLLAR_TITLES, ["$user", "b"])
    assert _render(fig) and "$x^{$" in fig.axes[0].get_yticklabels()[1].get_text().replace("\\", "")
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5], [0.5, -1.0]])
    fig = plots.movie_map(coords, DOLLAR_TITLES, np.full(4, 100), np.array(["$a", "$b{", "$a", "$b{"]), ["$b{"])
    assert _render(fig)
    rng = np.random.default_rng(0)
    fig = plots.feature_maps([(rng.normal(size=(4, 2)), rng.normal(size=(2, 2)), "t")], DOLLAR_TITLES,
                             ["$u{", "$v"])
    assert _render(fig)


def test_a_dollar_title_in_the_rating_widget(base_model):
    """RatingWidget.rate raised on a '$' title and kept the rating, after which every rating failed."""
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    titles = [*WIDGET_TITLES[:5], "$x^{$", *WIDGET_TITLES[6:]]
    w = interactive.RatingWidget(base, Y, R, titles, n=5, picture=True)
    w.rate("$x^{$", 4)
    assert w.ratings == {5: 4.0} and "$x^{$" in w.picture.value
    fig = interactive.taste_figure(h.fold_in(base, {5: 4}, titles=titles), {5: 4}, titles)
    assert _render(fig)


def test_a_picture_that_cannot_be_drawn_changes_nothing(base_model, monkeypatch):
    pytest.importorskip("ipywidgets")
    from recsys_tutorial.interactive import rating

    Y, R, base = base_model
    w = interactive.RatingWidget(base, Y, R, WIDGET_TITLES, n=5, picture=True, ratings={3: 4})
    before = (dict(w.ratings), w.top.value, w.picture.value, len(w.mine.children))

    def broken(*args, **kwargs):
        raise ValueError("the picture cannot be drawn")
    monkeypatch.setattr(rating, "taste_figure", broken)
    with pytest.raises(ValueError, match="cannot be drawn"):
        w.rate(5, 2)
    assert (dict(w.ratings), w.top.value, w.picture.value, len(w.mine.children)) == before
    monkeypatch.undo()
    w.rate(5, 2)
    assert w.ratings == {3: 4.0, 5: 2.0}


def _cache_at(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "cache"))
    assert _cache.owned_folder(create=True) is not None
    A, B = tmp_path / "A.xlsx", tmp_path / "B.xlsx"
    return A, ratings_workbook(A, seed=1), B, ratings_workbook(B, seed=2, shape=(4, 3))


def _assert_loads(book, arrays):
    Y, R = h.load_ratings(book)
    np.testing.assert_array_equal(Y, arrays[0])
    np.testing.assert_array_equal(R, arrays[1])


def test_a_path_like_that_changes_its_mind_cannot_poison_the_cache(tmp_path, monkeypatch):
    A, YR_A, B, YR_B = _cache_at(tmp_path, monkeypatch)

    class Fickle:                      # names A when hashed, B when parsed (the wrapper called __fspath__ twice)
        calls = 0

        def __fspath__(self):
            Fickle.calls += 1
            return str(A) if Fickle.calls == 1 else str(B)
    _assert_loads(Fickle(), YR_A)
    _assert_loads(A, YR_A)             # was B's arrays, stored under A's key


def test_a_link_swapped_during_the_parse_cannot_poison_the_cache(tmp_path, monkeypatch):
    A, YR_A, B, YR_B = _cache_at(tmp_path, monkeypatch)
    link = tmp_path / "link.xlsx"
    link.symlink_to(A)
    real = h.ratings_sheets

    def swapping(p):                   # the link points at B while the workbook is parsed, at A before and after
        link.unlink()
        link.symlink_to(B)
        try:
            return real(p)
        finally:
            link.unlink()
            link.symlink_to(A)
    monkeypatch.setattr(h, "ratings_sheets", swapping)
    _assert_loads(link, YR_A)
    monkeypatch.setattr(h, "ratings_sheets", real)
    _assert_loads(A, YR_A)             # was B's arrays, stored under A's key


@pytest.mark.parametrize("arrays", [lambda Y, R: [Y.T.copy(), R.T.copy()], lambda Y, R: [np.ones((2, 2)), np.ones((2, 2), bool)],
                                    lambda Y, R: [Y[:-1].copy(), R[:-1].copy()]], ids=["transposed", "2x2-ones", "a-row-short"])
def test_an_entry_of_another_shape_than_the_workbook_declares_is_not_returned(tmp_path, monkeypatch, arrays):
    A, (Y, R), _, _ = _cache_at(tmp_path, monkeypatch)
    entry = _cache.entry_path(LOAD, A)
    npz_entry(entry, arrays(Y, R))
    assert _cache._lookup(entry, _cache.LOADED_RATINGS) is not None       # valid arrays, by themselves
    npz_entry(entry, arrays(Y, R))
    _assert_loads(A, (Y, R))
    np.testing.assert_array_equal(_cache._lookup(entry, _cache.LOADED_RATINGS)[0], Y)   # replaced by the parse's


def test_a_workbook_that_declares_no_area_loads_but_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "cache"))
    folder = _cache.owned_folder(create=True)
    book = ratings_book(tmp_path / "plain.xlsx")               # sheets without a <dimension>
    first = h.load_ratings(book)
    _assert_loads(book, first)
    assert not list(folder.glob("*.npz"))


def _plot_cases():
    from recsys_tutorial import plots

    Y, R = Y_[:2, :3], R_[:2, :3]
    costs = np.array([3.0, 2.0, 1.0])
    tab = h.check_gradients(return_details=True)[1]
    counts, means = np.array([1.0, 10.0, 100.0]), np.array([1.0, 3.0, 2.0])
    coords = np.array([[0.0, 0.0], [1.0, 1.0]])
    curves = pd.DataFrame({"training": [1.0, 0.9], "validation": [1.1, 1.0]}, index=[1, 2])
    table = pd.DataFrame({"validation": [1.0, 0.9], "test": [1.1, 1.0]}, index=[0.1, 1.0])
    return [
        # (call, named, error)
        (lambda: plots.rating_table(Y, R, None, ["a", "b", "c"]), "movies must be a list", TypeError),
        (lambda: plots.rating_table(Y, R, "ab", ["a", "b", "c"]), "movies must be a list", TypeError),
        (lambda: plots.rating_table(Y, R, ["m", "n"], ["a", "a", "a"]), "users must all differ", ValueError),
        (lambda: plots.rating_table(np.where(R, np.nan, 0), R, ["m", "n"], ["a", "b", "c"]), "Y has NaN", ValueError),
        (lambda: plots.rating_table(Y, R, ["m", "n"], ["a", "b", "c"], predicted=Y * np.nan), "predicted must be finite",
         ValueError),
        (lambda: plots.rating_table(np.zeros((0, 0)), np.zeros((0, 0)), [], []), "movies is empty", ValueError),
        (lambda: plots.als_costs({"a": []}), "runs['a'] must hold at least 1", ValueError),
        (lambda: plots.als_costs(None), "runs must be a dict", TypeError),
        (lambda: plots.als_costs({1: costs, "1": costs}), "runs's labels must all differ", ValueError),
        (lambda: plots.als_costs({k: costs for k in range(8)}), "at most 5", ValueError),        # drew 5, said 8
        (lambda: plots.feature_maps([1, 2], ["m"], ["u"]), "panels[0] must be a tuple", TypeError),
        (lambda: plots.feature_maps([], ["m"], ["u"]), "panels is empty", ValueError),
        (lambda: plots.rating_histograms(Y, np.zeros_like(R)), "R has no rated entry", ValueError),
        (lambda: plots.rating_histograms(np.where(R, np.nan, 0), R), "Y has NaN", ValueError),
        (lambda: plots.masked_cost_panels(Y * np.nan, Y, R), "P must be finite", ValueError),
        (lambda: plots.masked_cost_panels(np.full(Y.shape, 1e300), Y, R), "P is out of range", ValueError),
        (lambda: plots.error_histogram([]), "errors is empty", ValueError),
        (lambda: plots.error_histogram([1e308, 1.0]), "errors is out of range", ValueError),
        (lambda: plots.error_histogram([1.0], what=None), "what must be a string", TypeError),
        (lambda: plots.finite_differences([], [], [], []), "eps is empty", ValueError),
        (lambda: plots.finite_differences([0.0, -1.0], [1, 1], [1, 1], [1, 1]), "eps must be", ValueError),
        (lambda: plots.gradient_agreement({}), "panels' titles is empty", ValueError),
        (lambda: plots.gradient_agreement({"a": tab.iloc[:0]}), "must have a row per entry", ValueError),
        (lambda: plots.gradient_agreement({"a": tab.reset_index(drop=True)}), "indexed 'X[i,j]'", ValueError),
        (lambda: plots.gradient_agreement({"a": tab * 1e300}), "is out of range", ValueError),
        (lambda: plots.prediction_histograms({}), "panels's labels is empty", ValueError),
        (lambda: plots.prediction_histograms({"a": []}), "panels['a'] must hold at least 1", ValueError),
        (lambda: plots.means_vs_counts(counts, {}), "panels's labels is empty", ValueError),
        (lambda: plots.means_vs_counts(np.array([0.0, 1, 2]), {"a": means}), "counts must be numbers of ratings >= 1",
         ValueError),
        (lambda: plots.mean_funnel([], [], 3.5, 1.0), "counts is empty", ValueError),
        (lambda: plots.mean_funnel([-1.0, 2, 3], means, 3.5, 1.0), "counts must be", ValueError),
        (lambda: plots.shrunk_means([], [], [], 3.5, 1.0), "counts is empty", ValueError),
        (lambda: plots.cost_curve(costs, None), "title must be a string", TypeError),
        (lambda: plots.cost_curve(costs, 123), "title must be a string", TypeError),
        (lambda: plots.cost_curve([1e308, -1e308], "t"), "J_history is out of range", ValueError),
        (lambda: plots.cost_curves({"A": costs, "B": costs}, "t", colors=["red"]), "one colour per curve (2)",
         ValueError),                                                                            # drew 1 of 2
        (lambda: plots.cost_curves({"A": costs}, "t", colors=["notacolor"]), "colors[0]", ValueError),
        (lambda: plots.cost_curves({"A": costs}, "t", colors="red"), "colors must be a list", TypeError),
        (lambda: plots.cost_curves({"A": []}, "t"), "histories['A'] must hold at least 1", ValueError),
        (lambda: plots.cost_curves({"A": costs}, None), "title must be a string", TypeError),
        (lambda: plots.cost_curves({"A": costs}, "t", zoom="no"), "zoom must be True or False", TypeError),
        (lambda: plots.cost_curves({1: costs, "1": costs}, "t"), "must all differ", ValueError),
        (lambda: plots.cost_curves({"A": [1e308, -1e308]}, "t"), "out of range", ValueError),
        (lambda: plots.short_title(None), "title must be a string", TypeError),
        (lambda: plots.num("abc"), "value must be a finite number", TypeError),
        (lambda: plots.num(1, digits=-1), "digits", ValueError),
        (lambda: plots.movie_map(coords, None, [5, 5], ["a", "b"], ["a"]), "titles", ValueError),
        (lambda: plots.movie_map(coords, [1, 2], [5, 5], ["a", "b"], ["a"]), "titles must be strings", TypeError),
        (lambda: plots.movie_map(coords, ["x", "y"], [5, 5], ["a", "b"], ["a"], shown=[0, 0]), "shown picks no movie",
         ValueError),
        (lambda: plots.movie_map(coords, ["x", "y"], [5, 5], ["a", "b"], ["a"], shown=[0.5, 1]), "shown must hold",
         ValueError),
        (lambda: plots.movie_map(coords, ["x", "y"], [5, 5], ["a", "b"], ["a"], min_label_ratings="x"),
         "min_label_ratings", TypeError),
        (lambda: plots.movie_map(coords, ["x", "y"], [-1, 5], ["a", "b"], ["a"]), "num_ratings", ValueError),
        (lambda: plots.movie_map(np.zeros((0, 2)), [], [], [], ["a"]), "at least one movie", ValueError),
        (lambda: plots.movie_map(coords, ["x", "y"], [5, 5], ["a", "b"], "ab"), "colored must be a list", TypeError),
        (lambda: plots.masked_vs_unmasked({}, {}, [3.0]), "costs's labels is empty", ValueError),
        (lambda: plots.masked_vs_unmasked({"a": costs}, {"a": [3.0]}, []), "actual is empty", ValueError),
        (lambda: plots.convergence({"a": ([0, 1, 2], [3, 2])}, "t"), "runs['a'] J must have 3 entries", ValueError),
        (lambda: plots.convergence({}, "t"), "runs's labels is empty", ValueError),
        (lambda: plots.convergence({"a": (1, 2, 3)}, "t"), "must be a pair (seconds, J_history)", TypeError),
        (lambda: plots.validation_curve({"validation": [1]}, "lambda", title="t"), "table must be a DataFrame",
         TypeError),
        (lambda: plots.validation_curve(table.iloc[:0], "lambda", title="t"), "is empty", ValueError),
        (lambda: plots.validation_curve(table, None, title="t"), "name must be a string", TypeError),
        (lambda: plots.validation_curve(table.set_axis([0.0, -1.0]), "lambda", title="t"), "must be numbers", ValueError),
        (lambda: plots.training_curves({}, "t"), "curves' lambdas is empty", ValueError),
        (lambda: plots.training_curves({1.0: curves}, None), "title must be a string", TypeError),
        (lambda: plots.training_curves({1.0: curves.iloc[:0]}, "t"), "curves[1.0] must be a DataFrame", TypeError),
        (lambda: plots.running_average([], 0.9, "ref", "t"), "rmse is empty", ValueError),
        (lambda: plots.running_average([0.9], 0.9, None, "t"), "reference_label must be a string", TypeError),
    ]


PLOT_CASES = _plot_cases()


@pytest.mark.parametrize("case", PLOT_CASES, ids=[f"plot{i:02d}" for i in range(len(PLOT_CASES))])
def test_a_picture_refuses_what_it_cannot_draw(case):
    call, named, error = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # refused before any RuntimeWarning
        with pytest.raises((TypeError, ValueError)) as info:
            call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert named in str(info.value), str(info.value)


@pytest.mark.parametrize("value, named", [
    ("https://example.org/ml-100k.zip\r\nX-Evil: 1", "line breaks"), ("https://example.org/ml 100k.zip", "spaces"),
    ("https://example.org/ml-100k.zip\n", None), ("https://user:secret@example.org/ml-100k.zip", "user name or password"),
    ("https://user@example.org/ml-100k.zip", "user name or password"), ("https://exa\tmple.org/x.zip", "spaces"),
])
def test_a_download_address_with_spaces_breaks_or_credentials_is_refused(monkeypatch, value, named):
    monkeypatch.setenv(settings.URL_ENV, value)
    if named is None:                                   # surrounding spaces and a final line break are trimmed
        assert settings.download_url() == value.strip()
        return
    with pytest.raises(settings.SettingError) as info:
        settings.download_url()
    assert_names(str(info.value), settings.URL_ENV, named)
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("ratings, named, error", [
    ("abc", "ratings must be a dict", TypeError), (5, "ratings must be a dict", TypeError),
    (np.zeros((2, 20)), "my_ratings must be a 1-D array", ValueError), (np.zeros(3), "one entry per movie", ValueError),
])
def test_rating_widget_starting_ratings_are_checked(base_model, ratings, named, error):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    with pytest.raises(error) as info:
        interactive.RatingWidget(base, Y, R, WIDGET_TITLES, n=5, picture=False, ratings=ratings)
    assert named in str(info.value), str(info.value)
    vec = np.zeros(len(WIDGET_TITLES))
    vec[[2, 7]] = [5, 1]
    w = interactive.RatingWidget(base, Y, R, WIDGET_TITLES, n=5, picture=False, ratings=vec)     # a vector: its ratings
    assert w.ratings == {2: 5.0, 7: 1.0}


def _ids_line(ml: Path, line: str) -> None:
    data = (ml / "u.data").read_bytes().splitlines(keepends=True)
    (ml / "u.data").write_bytes(b"".join([data[0], line.encode() + b"\n", *data[2:]]))


@pytest.mark.parametrize("damage, named", [
    (lambda src: _ids_line(src / "ml-100k", f"{10 ** 30}\t1\t5\t881250949"), "u.data', line 2: field 'user'"),
    (lambda src: _ids_line(src / "ml-100k", f"1\t{10 ** 12}\t5\t881250949"), "u.data', line 2: field 'item'"),
    (lambda src: _ids_line(src / "ml-100k", "1" * 50_000_000), "u.data"),
])
def test_huge_ids_and_lines_in_u_data_name_the_file_and_line(tmp_path, dest, capsys, damage, named):
    """An id of 10**30 or a 50 MB line gave pandas' OverflowError as a traceback."""
    src = make_source(tmp_path / "src", with_coursera=False)
    damage(src)
    code = bd.main(["--source", str(src), "--dest", str(dest), "--no-progress", "--no-shared"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "OverflowError" not in err, err[-2000:]
    assert_names(err, named)
    assert len(err) < 2000
    assert_untouched(dest)


@pytest.mark.parametrize("name, kind, named", [
    ("ml-100k", "loop", "a symbolic link in a loop"), ("ml-100k", "dangling", "a link that leads nowhere"),
    ("coursera-ex8", "file", "a file"), ("coursera-ex8", "loop", "a symbolic link in a loop"),
])
def test_a_data_folder_that_is_not_a_folder_is_not_skipped(tmp_path, dest, capsys, name, kind, named):
    """A looping ml-100k/ fell back to a download; a coursera-ex8 that is a file was silently ignored."""
    src = make_source(tmp_path / "src", with_coursera=False)
    if name == "ml-100k":
        (src / "ml-100k").rename(tmp_path / "moved")
    where = src / name
    if kind == "file":
        where.write_text("not a folder")
    elif kind == "loop":
        where.symlink_to(where)
    else:
        where.symlink_to(tmp_path / "nowhere")
    code = bd.main(["--source", str(src), "--dest", str(dest), "--no-progress", "--no-shared"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "download" not in err.lower(), err[-2000:]
    assert_names(err, str(where), named)
    assert_untouched(dest)
