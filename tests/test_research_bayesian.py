"""recsys_tutorial/research/bayesian.py: Bayesian MF by Gibbs sampling."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings
from recsys_tutorial.research import als as rs_als
from recsys_tutorial.research import bayesian as rs_bayesian


def test_gibbs_row_draws_have_the_conditional_mean_and_covariance():
    rng = np.random.default_rng(13)
    F = rng.standard_normal((6, 3))
    t = ObservedRatings(np.zeros(6, int), np.arange(6), rng.standard_normal(6), (1, 6))
    alpha, m = 2.5, np.array([0.3, -0.2, 0.1])
    Lam = np.array([[2.0, 0.3, 0.0], [0.3, 1.5, 0.2], [0.0, 0.2, 1.0]])
    A = Lam + alpha * F.T @ F
    mean = np.linalg.solve(A, Lam @ m + alpha * F.T @ t.values)
    cov = np.linalg.inv(A)
    out = np.zeros((1, 3))
    draws = np.empty((6000, 3))
    for s in range(draws.shape[0]):
        rs_bayesian._gibbs_rows(t, F, t.by_row().values, alpha, m, Lam, rng, out)
        draws[s] = out[0]
    se = np.sqrt(np.diag(cov) / draws.shape[0])
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), cov, rtol=0.1, atol=0.1 * np.abs(cov).max())


def test_normal_wishart_draws_concentrate_on_the_rows_statistics():
    rng = np.random.default_rng(14)
    Sigma = np.array([[1.0, 0.4], [0.4, 0.5]])
    Z = rng.multivariate_normal([1.0, -2.0], Sigma, size=20_000)
    m, Lam = rs_bayesian._sample_normal_wishart(Z, rng)
    np.testing.assert_allclose(m, Z.mean(0), atol=0.03)
    np.testing.assert_allclose(np.linalg.inv(Lam), np.cov(Z, rowvar=False), rtol=0.05, atol=0.02)


def test_fit_bayesian_mf_averages_its_draws_and_learns_low_rank_ratings():
    rng = np.random.default_rng(15)
    m, n = 40, 30
    Y = 3 + rng.normal(0, 1, (m, 2)) @ rng.normal(0, 1, (n, 2)).T + rng.normal(0, 0.1, (m, n))
    R = rng.random((m, n)) < 0.7
    train, test = rs.random_split(ObservedRatings.from_dense(Y, R), 0.2, seed=0)
    draws = []
    model = rs.fit_bayesian_mf(train, 2, num_samples=40, burn_in=20, thin=2, seed=1,
                              callback=lambda sweep, sample: draws.append((sweep, sample)) and False)
    assert [s for s, _ in draws] == list(range(22, 101, 2)) and model.info["samples"] == 40
    avg = np.mean([d.predict(test.rows, test.cols, clip=False) for _, d in draws], axis=0)
    np.testing.assert_allclose(model.predict(test.rows, test.cols, clip=False), avg, atol=1e-12)
    assert model.num_features == 80 and len(model.history) == 100
    baseline = rs.evaluate(rs.fit_bias_baseline(train), test)["rmse"]
    assert rs.evaluate(model, test, clip=False)["rmse"] < 0.5 * baseline
    again = rs.fit_bayesian_mf(train, 2, num_samples=40, burn_in=20, thin=2, seed=1)
    np.testing.assert_array_equal(again.X, model.X)
    with pytest.raises(ValueError, match="num_samples"):
        rs.fit_bayesian_mf(train, 2, num_samples=0)


def test_gibbs_batched_and_loop_draws_agree(monkeypatch):
    t = toy_ratings(18, n_movies=20, n_users=15, density=0.5)
    t = t.subset(t.rows != 2)  # a movie without ratings: drawn from the prior
    kw = dict(num_features=2, num_samples=3, burn_in=2, seed=4)
    batched = rs.fit_bayesian_mf(t, **kw)
    monkeypatch.setattr(rs_als, "_BATCHED_MAX_UNKNOWNS", 0)
    loop = rs.fit_bayesian_mf(t, **kw)
    np.testing.assert_allclose(batched.X, loop.X, atol=1e-9)
    np.testing.assert_allclose(batched.b_user, loop.b_user, atol=1e-9)
