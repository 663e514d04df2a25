"""recsys_tutorial/cache.py: the disk cache of parsed workbooks behind helpers.load_ratings.

How it stores, finds and prunes entries, and the folder it owns. The hostile
entries (planted, forged, special files) and a learner's own files are in
tests/test_bad_inputs.py, group F.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import helpers
from fakes import listing, ratings_workbook
from recsys_tutorial import cache as _cache
from recsys_tutorial import settings
from xlsx_writer import write_xlsx

ROOT = Path(__file__).resolve().parents[1]
LOAD = helpers.load_ratings.__wrapped__        # the loader the cache wraps


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty folder for the cache, named by the variable; returns the subfolder the cache will own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(settings.CACHE_ENV, str(folder))
    return folder / _cache.SUBFOLDER


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
    monkeypatch.setenv(settings.CACHE_ENV, str(cache.parent))
    assert_same_arrays(helpers.load_ratings(p), fresh)


def test_a_hit_is_read_from_the_entry_not_parsed(cache, tmp_path, monkeypatch):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    expected = helpers.load_ratings(p)
    from recsys_tutorial import workbooks

    monkeypatch.setattr(workbooks, "read_sheets", lambda *a, **k: pytest.fail("a hit was parsed again"))
    assert_same_arrays(helpers.load_ratings(p), expected)


def test_the_course_workbook_reloads_identically():
    """With the suite's cache (tests/conftest.py), parsing the 10 MB workbook once at most."""
    p = ROOT / "data" / "ex8_movies.xlsx"
    folder = settings.cache_folder()
    if not p.is_file() or folder is None:
        pytest.skip("data/ex8_movies.xlsx not built (run `make data`), or the cache is off")
    first = helpers.load_ratings(p)
    entry = _cache.entry_path(LOAD, p)
    assert entry is not None and entry.is_file()
    fresh = LOAD(p)
    assert_same_arrays(first, fresh)
    assert_same_arrays(helpers.load_ratings(p), fresh)


def test_the_folder_is_its_own_tagged_and_private(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    helpers.load_ratings(p)
    assert listing(cache.parent) == [_cache.SUBFOLDER]          # no temporary folder left beside it
    info = os.lstat(cache)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    tag = (cache / "CACHEDIR.TAG").read_bytes()
    assert tag.startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")  # bford.info/cachedir
    assert [e.name for e in entries(cache)] == [_cache.entry_path(LOAD, p).name]
    assert _cache.owned_folder() == cache


def test_a_changed_file_of_the_same_size_and_time_is_never_read_from_the_cache(cache, tmp_path):
    """Only the content hash can tell these two files apart: same size, same modification time."""
    spec = _cache.EntrySpec((np.dtype(np.float64),), (10, 10), 100, lambda a: (a,))

    @_cache.cached_by_content({".txt"}, spec=spec)
    def load(path):
        return (np.loadtxt(path),)

    p = tmp_path / "numbers.txt"
    p.write_text("1 2\n3 4\n")
    stat_before = p.stat()
    np.testing.assert_array_equal(load(p)[0], [[1, 2], [3, 4]])
    p.write_text("1 2\n3 5\n")
    os.utime(p, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert p.stat().st_size == stat_before.st_size and p.stat().st_mtime_ns == stat_before.st_mtime_ns
    np.testing.assert_array_equal(load(p)[0], [[1, 2], [3, 5]])
    assert len(entries(cache)) == 2


def test_a_changed_workbook_is_never_read_from_the_cache(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p, seed=0)
    before_stat = p.stat()
    before = helpers.load_ratings(p)
    Y2, R2 = ratings_workbook(p, seed=1)
    os.utime(p, ns=(before_stat.st_atime_ns, before_stat.st_mtime_ns))
    after = helpers.load_ratings(p)
    np.testing.assert_array_equal(after[0], Y2)
    np.testing.assert_array_equal(after[1], R2)
    assert not np.array_equal(after[0], before[0])


def test_a_workbook_changed_while_it_is_parsed_is_not_stored(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p, seed=0)

    @_cache.cached_by_content({".xlsx"})
    def load(path):
        result = LOAD(path)
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
    assert settings.cache_folder() is None and _cache.owned_folder() is None
    np.testing.assert_array_equal(helpers.load_ratings(p)[0], Y)
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    monkeypatch.setenv(settings.CACHE_ENV, str(blocker / "cache"))  # cannot be created
    np.testing.assert_array_equal(helpers.load_ratings(p)[0], Y)
    monkeypatch.setenv(settings.CACHE_ENV, str(blocker))            # a file, not a folder
    np.testing.assert_array_equal(helpers.load_ratings(p)[0], Y)
    assert blocker.read_text() == ""
    with pytest.raises(FileNotFoundError):
        helpers.load_ratings(tmp_path / "missing.xlsx")  # the loader's own error, not the cache's
    csv = tmp_path / "ratings.csv"
    csv.write_text("1,2\n")
    with pytest.raises(ValueError, match="must be an .xlsx workbook or a .mat file"):
        helpers.load_ratings(csv)


def test_a_bad_cache_variable_names_itself(tmp_path, monkeypatch):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    monkeypatch.chdir(tmp_path)
    for value in ("relative", "~nosuchuser/cache", "   "):
        monkeypatch.setenv(settings.CACHE_ENV, value)
        with pytest.raises(settings.SettingError, match=settings.CACHE_ENV):
            helpers.load_ratings(p)
    assert listing(tmp_path) == ["ratings.xlsx"]


def test_only_the_newest_entries_are_kept(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 2)
    paths = [tmp_path / f"r{i}.xlsx" for i in range(4)]
    for i, p in enumerate(paths):
        ratings_workbook(p, seed=i)
        helpers.load_ratings(p)
        for e in entries(cache):  # distinct modification times, oldest first
            os.utime(e, ns=(e.stat().st_atime_ns, e.stat().st_mtime_ns - 10**9))
    assert [e.name for e in entries(cache)] == sorted(_cache.entry_path(LOAD, p).name for p in paths[2:])


def test_a_hit_counts_as_recently_used(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 2)
    a, b, c = (tmp_path / f"{n}.xlsx" for n in "abc")
    for i, p in enumerate((a, b, c)):
        ratings_workbook(p, seed=i)
    helpers.load_ratings(a)
    helpers.load_ratings(b)
    for e in entries(cache):
        os.utime(e, ns=(0, 0))                                       # both old
    helpers.load_ratings(a)                                          # a hit: a is used again
    helpers.load_ratings(c)                                          # a third entry: b, the least recent, goes
    assert {e.name for e in entries(cache)} == {_cache.entry_path(LOAD, p).name for p in (a, c)}


def test_pruning_removes_only_its_own_entries(cache, tmp_path, monkeypatch):
    """In its own folder too, only regular files named as entries are removed, and stale temporary files."""
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 1)
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    helpers.load_ratings(p)
    target = tmp_path / "elsewhere.npz"
    target.write_bytes(b"a learner's file")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    name = "load_ratings-" + "ab" * 20 + ".npz"
    planted = {
        "notes.txt": b"mine", "mine.npz": b"mine", "load_ratings-123.npz": b"mine",
        "LOAD_RATINGS-" + "0" * 40 + ".npz": b"x",
        f".{name}.{os.getpid()}.abcdefgh.part": b"a write in progress",   # this process: alive, kept
    }
    for n, data in planted.items():
        (cache / n).write_bytes(data)
        os.utime(cache / n, ns=(0, 0))
    (cache / ("load_ratings-" + "cd" * 20 + ".npz")).symlink_to(target)
    (cache / ("load_ratings-" + "ef" * 20 + ".npz")).mkdir()
    stale = cache / f".{name}.{int(gone.stdout)}.zzzzzzzz.part"
    stale.write_bytes(b"left by a killed writer")
    ratings_workbook(p, seed=1)
    helpers.load_ratings(p)                                          # a second entry: the first is pruned
    kept = set(listing(cache))
    assert set(planted) <= kept and stale.name not in kept
    assert ("load_ratings-" + "cd" * 20 + ".npz") in kept and ("load_ratings-" + "ef" * 20 + ".npz") in kept
    first = _cache.entry_path(LOAD, p)
    assert first.name in kept and (cache / first.name).is_file()    # the new entry; the old one is pruned
    assert [n for n in kept if n.startswith("load_ratings-") and (cache / n).is_file()
            and not (cache / n).is_symlink() and n != "load_ratings-123.npz"] == [first.name]
    assert target.read_bytes() == b"a learner's file"


def test_a_result_the_entry_could_not_hold_is_returned_but_not_stored(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    results = {"fortran": lambda Y, R: (np.asfortranarray(Y), R), "float32": lambda Y, R: (Y.astype(np.float32), R),
               "three": lambda Y, R: (Y, R, R), "list": lambda Y, R: [Y, R], "nan": lambda Y, R: (Y * np.nan, R)}
    for name, change in results.items():
        @_cache.cached_by_content({".xlsx"})
        def load(path):
            return change(*LOAD(path))

        got = load(p)
        assert type(got) is type(change(*LOAD(p))), name
        assert entries(cache) == [], name


def test_a_workbook_given_through_a_link_is_cached(cache, tmp_path):
    p = tmp_path / "ratings.xlsx"
    ratings_workbook(p)
    link = tmp_path / "link.xlsx"
    link.symlink_to(p)
    first = helpers.load_ratings(link)
    assert len(entries(cache)) == 1
    assert_same_arrays(helpers.load_ratings(p), first)               # the same bytes: the same entry
    assert len(entries(cache)) == 1


def test_a_fifo_given_as_the_workbook_is_not_opened(cache, tmp_path):
    """Hashing it would block until a writer came: the loader's own refusal comes at once."""
    fifo = tmp_path / "ratings.xlsx"
    os.mkfifo(fifo)
    outcome = {}

    def load():
        try:
            helpers.load_ratings(fifo)
        except Exception as exc:        # noqa: BLE001 (the outcome is asserted below)
            outcome["error"] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():
        with open(fifo, "wb"):          # let the blocked reader go, then fail
            pass
        pytest.fail("load_ratings blocked on a FIFO")
    assert isinstance(outcome.get("error"), FileNotFoundError) and "not a regular file" in str(outcome["error"])


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
    assert len(list((tmp_path / "xdg" / "movie-recommender" / _cache.SUBFOLDER).glob("*.npz"))) == 1


def test_an_oversized_file_is_refused_before_it_is_hashed(cache, tmp_path, monkeypatch):
    from recsys_tutorial import workbooks

    big = tmp_path / "big.xlsx"
    with open(big, "wb") as f:
        f.truncate(workbooks.MAX_WORKBOOK_BYTES + 1)             # sparse: no disk used
    monkeypatch.setattr(hashlib, "file_digest", lambda *a: pytest.fail("an oversized file was hashed"))
    with pytest.raises(ValueError, match="big.xlsx"):
        helpers.load_ratings(big)
    assert entries(cache) == []


def test_entry_limits_are_the_workbook_limits():
    """The largest entry the reader takes is the largest workbook's: 5 million cells, 10,000 per side."""
    from recsys_tutorial import workbooks

    spec = _cache.LOADED_RATINGS
    assert spec.max_elements == workbooks.MAX_CELLS and spec.max_dims == (workbooks.MAX_ROWS, workbooks.MAX_COLS)
    assert spec.max_member_bytes(0) == 1024 + 8 * workbooks.MAX_CELLS               # 40 MB of float64
    assert spec.max_member_bytes(1) == 1024 + workbooks.MAX_CELLS                   # 5 MB of flags
    assert spec.max_file_bytes() < 50 * 2**20


def test_the_largest_honest_entry_is_stored_and_read_back(cache, tmp_path):
    """An entry at the limits (5 million cells of random ratings, barely compressible) passes every check."""
    spec = _cache.LOADED_RATINGS
    rng = np.random.default_rng(0)
    R = rng.random((5000, 1000)) < 0.5
    Y = np.where(R, rng.integers(1, 5, R.shape) + rng.random(R.shape), 0.0)         # 1.0 to 4.99..., or 0
    cache.mkdir(parents=True)
    assert _cache._conforms((Y, R), spec)
    _cache._write_entry(cache / "big.npz", (Y, R))
    assert (cache / "big.npz").stat().st_size <= spec.max_file_bytes()
    assert_same_arrays(_cache._lookup(cache / "big.npz", spec), (Y, R))


def test_write_xlsx_round_trip_is_cached_once(cache, tmp_path):
    """Two workbooks with the same sheets but different bytes (written apart) get two entries; equal bytes one."""
    Y = np.array([[5.0, 0.0], [3.0, 1.0]])
    R = Y > 0
    for name in ("a.xlsx", "b.xlsx"):
        write_xlsx(tmp_path / name, {"y": Y, "R": R}, progress=False)
    same = (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    for name in ("a.xlsx", "b.xlsx"):
        np.testing.assert_array_equal(helpers.load_ratings(tmp_path / name)[0], Y)
    assert len(entries(cache)) == (1 if same else 2)
