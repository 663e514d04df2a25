"""recsys_tutorial/research/baselines.py: the global mean, movie means and the bias baseline."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings, U1_FOLDER
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings


needs_u1 = pytest.mark.skipif(U1_FOLDER is None, reason="MovieLens u1.base/u1.test not found (run `make data`)")


def test_global_and_movie_means():
    t = ObservedRatings([0, 0, 1, 2], [0, 1, 0, 1], [5.0, 3.0, 2.0, 4.0], (4, 2))  # movie 3 unrated
    g = rs.fit_global_mean(t)
    np.testing.assert_allclose(g.predict([0, 3, 2], [1, 0, 0]), 3.5)
    mm = rs.fit_movie_means(t)
    np.testing.assert_allclose(mm.predict([0, 1, 2, 3], [1, 1, 0, 0]), [4.0, 2.0, 4.0, 3.5])
    shrunk = rs.fit_movie_means(t, shrinkage=2)
    np.testing.assert_allclose(shrunk.predict([1], [0]), (2.0 + 2 * 3.5) / 3)


def test_fit_baseline_reaches_the_exact_ridge_solution():
    t = toy_ratings(3, n_movies=9, n_users=7)
    lm, lu = 2.0, 3.0
    model = rs.fit_bias_baseline(t, lm, lu, num_iters=2000, tol=1e-14)
    # the normal equations of 1/2 ||A z - (y - mu)||^2 + 1/2 z' D z, z = [b, c]
    m, n = t.shape
    A = np.zeros((t.n_ratings, m + n))
    A[np.arange(t.n_ratings), t.rows] = 1
    A[np.arange(t.n_ratings), m + t.cols] = 1
    D = np.diag(np.r_[np.full(m, lm), np.full(n, lu)])
    z = np.linalg.solve(A.T @ A + D, A.T @ (t.values - t.values.mean()))
    np.testing.assert_allclose(np.r_[model.b_movie, model.b_user], z, atol=1e-9)
    assert model.mu == pytest.approx(t.values.mean())
    assert np.all(np.diff(model.history) <= 1e-12)


@needs_u1
def test_baselines_on_u1_beat_each_other_in_order():
    train, test = rs.load_movielens_split(U1_FOLDER, "u1")
    errs = [rs.evaluate(f(train), test)["rmse"] for f in (rs.fit_global_mean, rs.fit_movie_means, rs.fit_bias_baseline)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[0] == pytest.approx(1.1537, abs=1e-4) and errs[2] < 0.96
