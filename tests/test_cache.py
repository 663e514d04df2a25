"""recsys_tutorial/cache.py: the disk cache of parsed workbooks behind helpers.load_ratings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import helpers
from fakes import ratings_workbook
from recsys_tutorial import cache as _cache
from recsys_tutorial import settings
from xlsx_writer import write_xlsx

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache folder for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(settings.CACHE_ENV, str(folder))
    return folder


def entries(folder):
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def assert_same_arrays(got, expected):
    assert type(got) is tuple and len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.flags.c_contiguous == b.flags.c_contiguous and a.flags.f_contiguous == b.flags.f_contiguous
        assert a.flags.writeable
        np.testing.assert_array_equal(a, b)


def test_a_reload_returns_exactly_what_a_fresh_parse_returns(cache, tmp_path, monkeypatch):
    p = tmp_path / "ratings.xlsx"
    Y, R = ratings_workbook(p)
    first = helpers.load_ratings(p)
    assert len(entries(cache)) == 1
    again = helpers.load_ratings(p)
    monkeypatch.setenv(settings.CACHE_ENV, "off")
    fresh = helpers.load_ratings(p)
    assert_same_arrays(first, fresh)
    assert_same_arrays(again, fresh)
    np.testing.assert_array_equal(again[0], Y)
    np.testing.assert_array_equal(again[1], R)
    again[0][0, 0] = 99  # the arrays are the caller's own: the next load is unaffected
    assert_same_arrays(helpers.load_ratings(p), fresh)


def test_the_course_workbook_reloads_identically():
    """With the suite's cache (tests/conftest.py), parsing the 10 MB workbook once at most."""
    p = ROOT / "data" / "ex8_movies.xlsx"
    folder = settings.cache_folder()
    if not p.is_file() or folder is None:
        pytest.skip("data/ex8_movies.xlsx not built (run `make data`), or the cache is off")
    before = set(entries(folder))
    first = helpers.load_ratings(p)
    fresh = first if set(entries(folder)) - before else helpers.load_ratings.__wrapped__(p)
    assert_same_arrays(helpers.load_ratings(p), fresh)


def test_a_changed_file_of_the_same_size_and_time_is_never_read_from_the_cache(cache, tmp_path):
    """Only the content hash can tell these two files apart: same size, same modification time."""
    @_cache.cached_by_content({".txt"})
    def load(path):
        return (np.loadtxt(path),)

    p = tmp_path / "numbers.txt"
    p.write_text("1 2\n3 4\n")
    stat = p.stat()
    np.testing.assert_array_equal(load(p)[0], [[1, 2], [3, 4]])
    p.write_text("1 2\n3 5\n")
    os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert p.stat().st_size == stat.st_size and p.stat().st_mtime_ns == stat.st_mtime_ns
    np.testing.assert_array_equal(load(p)[0], [[1, 2], [3, 5]])
    assert len(entries(cache)) == 2


def test_a_changed_workbook_is_never_read_from_the_cache(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p, seed=0)
    stat = p.stat()
    before = helpers.load_ratings(p)
    Y2, R2 = ratings_workbook(p, seed=1)
    os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = helpers.load_ratings(p)
    np.testing.assert_array_equal(after[0], Y2)
    np.testing.assert_array_equal(after[1], R2)
    assert not np.array_equal(after[0], before[0])


def test_a_workbook_changed_while_it_is_parsed_is_not_stored(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p, seed=0)

    @_cache.cached_by_content({".xlsx"})
    def load(path):
        result = helpers.load_ratings.__wrapped__(path)
        ratings_workbook(p, seed=1)  # someone saves the workbook during the parse
        return result

    load(p)
    assert entries(cache) == []


def test_a_corrupt_entry_is_ignored_and_rewritten(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    expected = helpers.load_ratings(p)
    (entry,) = entries(cache)
    entry.write_bytes(b"not a zip file")
    assert_same_arrays(helpers.load_ratings(p), expected)
    (rewritten,) = entries(cache)
    assert rewritten.read_bytes()[:2] == b"PK"
    assert_same_arrays(helpers.load_ratings(p), expected)


def test_changed_parsing_code_misses(cache, tmp_path, monkeypatch):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    helpers.load_ratings(p)
    monkeypatch.setattr(_cache, "_code_fingerprint", lambda module: b"other code")
    helpers.load_ratings(p)
    assert len(entries(cache)) == 2


def test_cache_off_unwritable_or_not_a_workbook_still_loads(tmp_path, monkeypatch):
    p = tmp_path / "ratings.xlsx"
    Y, R = ratings_workbook(p)
    monkeypatch.setenv(settings.CACHE_ENV, "OFF")
    assert settings.cache_folder() is None
    np.testing.assert_array_equal(helpers.load_ratings(p)[0], Y)
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    monkeypatch.setenv(settings.CACHE_ENV, str(blocker / "cache"))  # cannot be created
    np.testing.assert_array_equal(helpers.load_ratings(p)[0], Y)
    with pytest.raises(FileNotFoundError):
        helpers.load_ratings(tmp_path / "missing.xlsx")  # the loader's own error, not the cache's
    csv = tmp_path / "ratings.csv"
    csv.write_text("1,2\n")
    with pytest.raises(ValueError, match="must be an .xlsx workbook or a .mat file"):
        helpers.load_ratings(csv)


def test_only_the_newest_entries_are_kept(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 2)
    paths = [tmp_path / f"r{i}.xlsx" for i in range(3)]
    for i, p in enumerate(paths):
        ratings_workbook(p, seed=i)
        helpers.load_ratings(p)
        for e in entries(cache):  # distinct modification times, oldest first
            os.utime(e, ns=(e.stat().st_atime_ns, e.stat().st_mtime_ns - 10**9))
    assert len(entries(cache)) == 2


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "mine"))
    assert settings.cache_folder() == tmp_path / "mine"
    monkeypatch.setenv(settings.CACHE_ENV, "off")
    assert settings.cache_folder() is None
    monkeypatch.delenv(settings.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_folder() == tmp_path / "xdg" / "movie-recommender"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert settings.cache_folder() == Path.home() / ".cache" / "movie-recommender"


def test_a_learners_repository_stays_clean(tmp_path):
    """By default the cache lives outside the repository: loading leaves `git status` as it was."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    env = {k: v for k, v in os.environ.items() if k != settings.CACHE_ENV}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "--ignored", "--untracked-files=all"]
    before = subprocess.run(status, capture_output=True, text=True, check=True).stdout
    code = f"import helpers; helpers.load_ratings({str(p)!r}); helpers.load_ratings({str(p)!r})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    after = subprocess.run(status, capture_output=True, text=True, check=True).stdout
    new = set(after.splitlines()) - set(before.splitlines())
    assert not [line for line in new if line.endswith(".npz") or "movie-recommender" in line], new
    assert len(list((tmp_path / "xdg" / "movie-recommender").glob("*.npz"))) == 1


def test_an_oversized_file_is_refused_before_it_is_hashed(cache, tmp_path, monkeypatch):
    from recsys_tutorial import workbooks

    big = tmp_path / "big.xlsx"
    with open(big, "wb") as f:
        f.truncate(workbooks.MAX_WORKBOOK_BYTES + 1)             # sparse: no disk used
    monkeypatch.setattr(_cache, "_content_key", lambda *a: pytest.fail("an oversized file was hashed"))
    with pytest.raises(ValueError, match="big.xlsx"):
        helpers.load_ratings(big)
    assert entries(cache) == []
