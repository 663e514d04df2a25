"""recsys_tutorial/research/splits.py: MovieLens ratings files as training and test sets."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings, write_ratings, U1_FOLDER
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings


needs_u1 = pytest.mark.skipif(U1_FOLDER is None, reason="MovieLens u1.base/u1.test not found (run `make data`)")


def test_load_movielens_ratings_is_zero_based_movies_by_users(tmp_path):
    p = write_ratings(tmp_path / "u.data", ["1\t3\t5\t881250949", "2\t1\t3\t891717742", "1\t1\t4\t878887116"])
    t = rs.load_movielens_ratings(p)
    assert t.shape == (3, 2)  # largest item id, largest user id
    Y, R = t.to_dense()
    np.testing.assert_array_equal(Y, [[4, 3], [0, 0], [5, 0]])  # Y[item - 1, user - 1]
    assert rs.load_movielens_ratings(p, shape=(10, 5)).shape == (10, 5)


@pytest.mark.parametrize("lines, message", [
    (["1\t2\t3"], r"4 tab-separated fields"),
    (["1\t2\t6\t0"], r"line 1: field 'rating' must be a rating from 1 to 5; got '6'"),
    (["1\t2\t3\t0", "x\t2\t3\t0"], r"line 2: field 'user' must be a positive integer"),
    (["1\t2.5\t3\t0"], r"field 'item'"),
    (["1\t2\t3\t0", "1\t2\t4\t9"], r"user 1 rated item 2 more than once"),
])
def test_load_movielens_ratings_errors(tmp_path, lines, message):
    p = write_ratings(tmp_path / "bad.data", lines)
    with pytest.raises(ValueError, match=message):
        rs.load_movielens_ratings(p)


def test_load_movielens_ratings_missing_and_shape(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.data"):
        rs.load_movielens_ratings(tmp_path / "nope.data")
    p = write_ratings(tmp_path / "u.data", ["1\t9\t3\t0"])
    with pytest.raises(ValueError, match=r"beyond shape"):
        rs.load_movielens_ratings(p, shape=(5, 5))


def test_load_movielens_split_shares_shape_and_rejects_leaks(tmp_path):
    write_ratings(tmp_path / "u1.base", ["1\t1\t5\t0", "2\t2\t3\t0"])
    write_ratings(tmp_path / "u1.test", ["2\t3\t4\t0"])  # item 3 only in the test file
    train, test = rs.load_movielens_split(tmp_path, "u1")
    assert train.shape == test.shape == (3, 2)
    assert test.rows.tolist() == [2] and test.cols.tolist() == [1]
    write_ratings(tmp_path / "u2.base", ["1\t1\t5\t0"])
    write_ratings(tmp_path / "u2.test", ["1\t1\t4\t0"])
    with pytest.raises(ValueError, match=r"in both 'u2.base' and 'u2.test'.*user 1, item 1"):
        rs.load_movielens_split(tmp_path, "u2")
    with pytest.raises(ValueError, match="fold"):
        rs.load_movielens_split(tmp_path, "u9")
    with pytest.raises(FileNotFoundError, match="u3.base"):
        rs.load_movielens_split(tmp_path, "u3")


@needs_u1
def test_load_movielens_split_real_u1():
    train, test = rs.load_movielens_split(U1_FOLDER, "u1")
    assert (train.n_ratings, test.n_ratings) == (80_000, 20_000)
    assert train.shape == test.shape == (1682, 943)
    key = lambda t: set((t.rows * 943 + t.cols).tolist())  # noqa: E731
    assert not key(train) & key(test)
    assert set(np.unique(train.values)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert train.values.mean() == pytest.approx(3.52835, abs=1e-5)
    # u1.test holds users 1-462 only: the MovieLens splits are not uniform samples of the ratings
    assert test.cols.max() == 461


def test_random_split_partitions_and_is_seeded():
    t = toy_ratings(1, n_movies=30, n_users=20)
    a_train, a_test = rs.random_split(t, 0.25, seed=3)
    b_train, b_test = rs.random_split(t, 0.25, seed=3)
    _, c_test = rs.random_split(t, 0.25, seed=4)
    assert a_test.n_ratings == round(0.25 * t.n_ratings)
    assert a_train.n_ratings + a_test.n_ratings == t.n_ratings
    key = lambda s: set(zip(s.rows.tolist(), s.cols.tolist(), s.values.tolist()))  # noqa: E731
    assert key(a_train) | key(a_test) == key(t) and not key(a_train) & key(a_test)
    assert key(a_test) == key(b_test) and key(a_test) != key(c_test)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        rs.random_split(t, 1.0)


def test_random_split_per_user_holds_out_a_share_of_each_user():
    t = toy_ratings(2, n_movies=40, n_users=12, density=0.5)
    train, test = rs.random_split(t, 0.3, seed=0, per_user=True)
    n_all = np.bincount(t.cols, minlength=12)
    np.testing.assert_array_equal(np.bincount(test.cols, minlength=12), np.floor(0.3 * n_all))
    assert np.all(np.bincount(train.cols, minlength=12) >= 1)
