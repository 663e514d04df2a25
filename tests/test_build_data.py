"""Tests for data/build_data.py (the data step).

The real-data tests read ``<repo>/../shared/data`` and are skipped when it is
absent.  The download tests serve a tiny fake ``ml-100k.zip`` from a local
HTTP server on 127.0.0.1; nothing here touches the network or the
repository's own ``data/`` directory.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import build_data as bd
from recsys_tutorial import paths
from fakes import SHARED, assert_untouched, download_build, fake_ml100k_files, fake_Y_R, listing, make_source, make_zip

COURSERA = SHARED / "coursera-ex8"
ML100K = SHARED / "ml-100k"
SKIP_NO_SHARED = pytest.mark.skipif(
    not (COURSERA.is_dir() and ML100K.is_dir()),
    reason=f"shared data not found at {SHARED} (needs coursera-ex8/ and ml-100k/)",
)

RAW_NAMES = sorted(bd.RAW_FILES)
ALL_OUTPUTS = sorted([*RAW_NAMES, bd.MOVIE_IDS, bd.RATINGS_BOOK, bd.PARAMS_BOOK, paths.SOURCES])


def read_sheets(path: Path, engine: str = "calamine") -> dict[str, np.ndarray]:
    frames = pd.read_excel(path, sheet_name=None, header=None, engine=engine)
    return {name: df.to_numpy() for name, df in frames.items()}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------
# A tiny fake MovieLens 100K: 5 movies, 4 users
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# End to end from the shared data
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_build(tmp_path_factory):
    dest = tmp_path_factory.mktemp("data")
    start = time.perf_counter()
    summary = bd.build(dest, shared_dir=SHARED, progress=False, quiet=True)
    return dest, summary, time.perf_counter() - start


@pytest.fixture(scope="module")
def course_arrays():
    import scipy.io

    m = scipy.io.loadmat(COURSERA / "ex8_movies.mat")
    p = scipy.io.loadmat(COURSERA / "ex8_movieParams.mat")
    return m["Y"], m["R"], p["X"], p["Theta"]


@SKIP_NO_SHARED
def test_shared_build_writes_every_file(shared_build):
    dest, summary, _ = shared_build
    assert listing(dest) == ALL_OUTPUTS
    assert all(f["status"] == "written" for f in summary["files"].values())
    assert summary["sources"]["coursera"] == str(COURSERA)
    assert not summary["sources"]["downloaded"]
    for out_name, ml_name in bd.RAW_FILES.items():
        assert (dest / out_name).read_bytes() == (ML100K / ml_name).read_bytes(), out_name
    assert (dest / "movie_ids.txt").read_bytes() == (COURSERA / "movie_ids.txt").read_bytes()


@SKIP_NO_SHARED
def test_shared_build_workbooks_equal_mat_files(shared_build, course_arrays):
    dest, _, _ = shared_build
    Y, R, X, Theta = course_arrays
    ratings = read_sheets(dest / "ex8_movies.xlsx")
    assert list(ratings) == ["y", "R"]
    assert ratings["y"].shape == ratings["R"].shape == (1682, 943)
    assert ratings["R"].dtype == bool
    assert np.array_equal(ratings["y"], Y)
    assert np.array_equal(ratings["R"], R.astype(bool))
    params = read_sheets(dest / "movie_params.xlsx")
    assert list(params) == ["X", "theta"]
    assert params["X"].shape == (1682, 10) and params["theta"].shape == (943, 10)
    assert np.array_equal(params["X"], X)  # bit-exact round trip
    assert np.array_equal(params["theta"], Theta)


@SKIP_NO_SHARED
def test_shared_build_rerun_skips_everything(shared_build):
    dest, first, first_seconds = shared_build
    before = {n: (dest / n).stat().st_mtime_ns for n in listing(dest)}
    start = time.perf_counter()
    summary = bd.build(dest, shared_dir=SHARED, progress=False, quiet=True)
    elapsed = time.perf_counter() - start
    assert {f["status"] for f in summary["files"].values()} == {"skipped (valid)"}
    assert {n: (dest / n).stat().st_mtime_ns for n in listing(dest)} == before
    # Skipping only reads the files back; it must stay well under a minute.
    assert elapsed < 30, f"re-run took {elapsed:.1f} s (first build {first_seconds:.1f} s)"


@SKIP_NO_SHARED
def test_movielens_only_gives_the_course_matrices(tmp_path, course_arrays):
    Y, R, _, _ = course_arrays
    summary = bd.build(tmp_path, source=ML100K, num_iters=3, progress=False, quiet=True)
    assert summary["sources"]["coursera"] is None
    assert summary["training"]["num_iters"] == 3
    # The reader used here is checked against pandas in the tests above.
    assert bd.workbook_matches(tmp_path / "ex8_movies.xlsx",
                               {"y": (Y, Y.shape), "R": (R.astype(bool), R.shape)})
    # The generated movie list is byte-for-byte the course's (Latin-1 kept).
    assert (tmp_path / "movie_ids.txt").read_bytes() == (COURSERA / "movie_ids.txt").read_bytes()
    assert bd.workbook_matches(tmp_path / "movie_params.xlsx",
                               {"X": (None, (1682, 10)), "theta": (None, (943, 10))})


# --------------------------------------------------------------------------
# Download path with a local server
# --------------------------------------------------------------------------


def test_download_good_zip(tmp_path, server):
    base, routes = server
    good = make_zip(fake_ml100k_files())
    routes["/ml-100k.zip"] = good
    dest = tmp_path / "data"
    summary = download_build(dest, base + "/ml-100k.zip", md5(good))
    assert summary["sources"]["downloaded"]
    assert listing(dest) == sorted([*ALL_OUTPUTS, "ml-100k.zip"])
    assert (dest / "ml-100k.zip").read_bytes() == good
    files = fake_ml100k_files()
    for out_name, ml_name in bd.RAW_FILES.items():
        assert (dest / out_name).read_bytes() == files[ml_name], out_name

    ids = (dest / "movie_ids.txt").read_bytes()
    assert ids.splitlines()[2] == b"3 Mis\xe9rables, Les (1995)"  # Latin-1, not UTF-8
    assert len(ids.splitlines()) == 5

    # The workbooks read back with openpyxl (pandas' default, the article's
    # reader) as well as calamine.
    Y, R = fake_Y_R()
    for engine in ("openpyxl", "calamine"):
        ratings = read_sheets(dest / "ex8_movies.xlsx", engine)
        assert list(ratings) == ["y", "R"]
        assert np.array_equal(ratings["y"], Y)
        assert ratings["R"].dtype == bool and np.array_equal(ratings["R"], R)
        params = read_sheets(dest / "movie_params.xlsx", engine)
        assert params["X"].shape == (5, 10) and params["theta"].shape == (4, 10)
    assert summary["training"]["iterations"] <= 5
    assert summary["training"]["final_cost"] < summary["training"]["initial_cost"]

    # A second run needs no network: the verified zip kept in dest is reused.
    routes.clear()
    again = download_build(dest, base + "/ml-100k.zip", md5(good))
    assert not again["sources"]["downloaded"]
    assert {f["status"] for f in again["files"].values()} == {"skipped (valid)"}

    # --force rewrites, and a damaged output is replaced.
    (dest / "u.data").write_bytes(b"damaged")
    again = download_build(dest, base + "/ml-100k.zip", md5(good))
    assert again["files"]["u.data"]["status"] == "replaced invalid"
    assert (dest / "u.data").read_bytes() == files["u.data"]
    forced = download_build(dest, base + "/ml-100k.zip", md5(good), force=True)
    assert {f["status"] for f in forced["files"].values()} == {"rewritten"}
    assert not [n for n in listing(dest) if n.endswith(".part")]


def test_download_checksum_mismatch(dest, server):
    base, routes = server
    good = make_zip(fake_ml100k_files())
    routes["/ml-100k.zip"] = good
    wrong = "0" * 32
    with pytest.raises(bd.DataError) as info:
        download_build(dest, base + "/ml-100k.zip", wrong)
    message = str(info.value)
    assert wrong in message and md5(good) in message and "ml-100k.zip" in message
    assert_untouched(dest)


def test_main_reports_error_and_exit_code(dest, server, capsys):
    base, routes = server
    routes["/ml-100k.zip"] = make_zip(fake_ml100k_files())
    code = bd.main(["--dest", str(dest), "--no-shared", "--no-progress",
                    "--url", base + "/ml-100k.zip", "--md5", "0" * 32])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "MD5" in err
    assert_untouched(dest)


def test_download_http_error(dest, server):
    base, _ = server
    with pytest.raises(bd.DataError, match="HTTP 404"):
        download_build(dest, base + "/missing.zip", "0" * 32)
    assert_untouched(dest)


def test_download_connection_refused(dest):
    with pytest.raises(bd.DataError, match="download failed.*--source.*MOVIELENS_DATA"):
        download_build(dest, "http://127.0.0.1:9/ml-100k.zip", "0" * 32)
    assert_untouched(dest)


def _crc_corrupt(files):
    good = make_zip(files, stored=True)
    original = files["u.data"]
    damaged = original.replace(b"\t5\t", b"\t9\t")
    assert len(damaged) == len(original) and damaged != original
    return good.replace(original, damaged)


@pytest.mark.parametrize(
    "make_bad, expected",
    [
        (lambda f: make_zip(f)[: len(make_zip(f)) // 2], "truncated or corrupt"),
        (lambda f: b"<html>not a zip</html>" * 50, "truncated or corrupt"),
        (_crc_corrupt, "corrupt"),
    ],
    ids=["truncated", "not-a-zip", "crc-mismatch"],
)
def test_download_bad_zip(dest, server, make_bad, expected):
    base, routes = server
    bad = make_bad(fake_ml100k_files())
    routes["/ml-100k.zip"] = bad
    # The checksum matches the bad bytes, so the zip checks themselves are exercised.
    with pytest.raises(bd.DataError, match=expected) as info:
        download_build(dest, base + "/ml-100k.zip", md5(bad))
    assert "ml-100k.zip" in str(info.value)
    assert_untouched(dest)


@pytest.mark.parametrize("member", ["../evil", "/abs", "ml-100k/../../evil", "C:/evil"])
def test_download_zip_slip(dest, server, member):
    base, routes = server
    bad = make_zip(fake_ml100k_files(), extra={member: b"evil"})
    routes["/ml-100k.zip"] = bad
    with pytest.raises(bd.DataError, match="absolute or contain '..'") as info:
        download_build(dest, base + "/ml-100k.zip", md5(bad))
    assert repr(member) in str(info.value)
    assert_untouched(dest)
    assert not list(dest.parent.rglob("evil")) and not Path("/abs").exists()


def test_zip_missing_member(dest, server):
    base, routes = server
    files = fake_ml100k_files()
    del files["u.data"]
    bad = make_zip(files)
    routes["/ml-100k.zip"] = bad
    with pytest.raises(bd.DataError, match="missing the MovieLens files u.data"):
        download_build(dest, base + "/ml-100k.zip", md5(bad))
    assert_untouched(dest)


# --------------------------------------------------------------------------
# Local sources: fake Coursera files, unreadable sources
# --------------------------------------------------------------------------


def test_local_coursera_source_is_copied_exactly(tmp_path, monkeypatch):
    import scipy.io

    src = make_source(tmp_path / "src")
    out = tmp_path / "out"
    summary = bd.build(out, source=src, progress=False, quiet=True)
    assert summary["training"] is None
    assert listing(out) == ALL_OUTPUTS
    p = scipy.io.loadmat(src / "coursera-ex8" / "ex8_movieParams.mat")
    params = read_sheets(out / "movie_params.xlsx")
    assert np.array_equal(params["X"], p["X"]) and np.array_equal(params["theta"], p["Theta"])
    assert paths.parameters_origin(out) == "course"
    # Rebuilt from MovieLens alone, the course's parameters pass the trained-file check (as the real
    # ones do; these fakes are random) and are kept: so is the record that they are the course's.
    with monkeypatch.context() as m:
        m.setattr(bd, "parameters_trained", lambda *args: True)
        summary = bd.build(out, source=src / "ml-100k", num_iters=2, progress=False, quiet=True)
    assert summary["files"]["movie_params.xlsx"]["status"] == "skipped (valid)"
    assert paths.parameters_origin(out) == "course"
    # A plain ml-100k directory and a local zip are accepted as --source too.
    for source in (src / "ml-100k", tmp_path / "ml-100k.zip"):
        if source.suffix == ".zip":
            source.write_bytes(make_zip(fake_ml100k_files()))
        out2 = tmp_path / f"out-{source.name}"
        summary = bd.build(out2, source=source, md5=None, num_iters=2, progress=False, quiet=True)
        assert summary["sources"]["coursera"] is None
        assert np.array_equal(read_sheets(out2 / "ex8_movies.xlsx")["y"], fake_Y_R()[0])
        assert paths.parameters_origin(out2) == "trained"


@pytest.mark.parametrize(
    "damage, error, named",
    [
        (lambda s: (s / "coursera-ex8" / "ex8_movies.mat").write_bytes(b"MATLAB garbage"),
         bd.DataError, "ex8_movies.mat"),
        (lambda s: (s / "coursera-ex8" / "ex8_movieParams.mat").write_bytes(b""),
         bd.DataError, "ex8_movieParams.mat"),
        (lambda s: (s / "coursera-ex8" / "ex8_movies.mat").unlink(),
         FileNotFoundError, "ex8_movies.mat"),
        (lambda s: (s / "ml-100k" / "u.data").unlink(), FileNotFoundError, "u.data"),
        (lambda s: (s / "ml-100k" / "u.data").write_bytes(b"1\t2\t3\n"), bd.DataError, "u.data"),
    ],
    ids=["corrupt-movies-mat", "empty-params-mat", "missing-movies-mat", "missing-u.data", "bad-u.data"],
)
def test_unreadable_source(tmp_path, dest, damage, error, named):
    src = make_source(tmp_path / "src", with_coursera=named != "u.data")
    damage(src)
    with pytest.raises(error, match=named.replace(".", r"\.")):
        bd.build(dest, source=src, progress=False, quiet=True)
    assert_untouched(dest)


def test_missing_source_via_main(tmp_path, capsys):
    code = bd.main(["--source", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "d")])
    assert code == 1
    assert "error: " in capsys.readouterr().err and not (tmp_path / "d").exists()


