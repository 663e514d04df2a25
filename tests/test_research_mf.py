"""recsys_tutorial/research/mf.py: the biased matrix-factorisation cost and L-BFGS training."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings, U1_FOLDER
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings


needs_u1 = pytest.mark.skipif(U1_FOLDER is None, reason="MovieLens u1.base/u1.test not found (run `make data`)")


def flat_cost(t, k, mu, lam, lam_b, weighted):
    m, n = t.shape

    def unpack(p):
        X = p[: m * k].reshape(m, k)
        T = p[m * k: (m + n) * k].reshape(n, k)
        return X, T, p[(m + n) * k: (m + n) * k + m], p[(m + n) * k + m:]

    def f(p):
        return rs.mf_cost_and_gradients(*unpack(p), t, mu=mu, lambda_=lam, lambda_bias=lam_b,
                                       weighted_lambda=weighted)[0]
    return unpack, f


@pytest.mark.parametrize("weighted", [False, True])
def test_biased_mf_gradient_check(weighted):
    t = toy_ratings(5)
    k, (m, n) = 3, t.shape
    unpack, f = flat_cost(t, k, mu=3.2, lam=0.7, lam_b=1.3, weighted=weighted)
    p = np.random.default_rng(0).normal(0, 0.5, (m + n) * k + m + n)
    num = h.numerical_gradient(f, p, eps=1e-5)
    J, *grads = rs.mf_cost_and_gradients(*unpack(p), t, mu=3.2, lambda_=0.7, lambda_bias=1.3,
                                        weighted_lambda=weighted)
    ana = np.concatenate([g.ravel() for g in grads])
    assert np.linalg.norm(num - ana) / np.linalg.norm(num + ana) < 1e-9
    assert J == pytest.approx(f(p))


def test_mf_cost_reduces_to_the_course_cost_and_weights_by_counts():
    t = toy_ratings(6)
    Y, R = t.to_dense()
    rng = np.random.default_rng(1)
    X, T = rng.standard_normal((t.shape[0], 2)), rng.standard_normal((t.shape[1], 2))
    zb, zc = np.zeros(t.shape[0]), np.zeros(t.shape[1])
    J = rs.mf_cost_and_gradients(X, T, zb, zc, t, lambda_=1.7)[0]
    assert J == pytest.approx(h.cofi_cost(X, T, Y, R, 1.7), rel=1e-12)
    Jw = rs.mf_cost_and_gradients(X, T, zb, zc, t, lambda_=1.7, weighted_lambda=True)[0]
    by_hand = h.cofi_cost(X, T, Y, R, 0.0) + 0.85 * (R.sum(1) @ (X ** 2).sum(1) + R.sum(0) @ (T ** 2).sum(1))
    assert Jw == pytest.approx(by_hand, rel=1e-12)


def test_fit_mf_recovers_low_rank_ratings_and_callback_stops():
    rng = np.random.default_rng(10)
    m, n = 40, 30
    Y = 3 + rng.normal(0, 1, (m, 2)) @ rng.normal(0, 1, (n, 2)).T
    R = rng.random((m, n)) < 0.6
    t = ObservedRatings.from_dense(Y, R)
    for method, fit_mf in (("als", rs.fit_mf_als), ("lbfgs", rs.fit_mf_lbfgs)):
        model = fit_mf(t, 2, 1e-4, lambda_bias=1e-4, num_iters=500, tol=1e-14)
        fit = model.predict(t.rows, t.cols, clip=False)
        assert rs.rmse(t.values, fit) < 1e-2, method
        seen = []
        early = fit_mf(t, 2, 0.1, num_iters=50,
                         callback=lambda it, mod: seen.append(it) or it == 3)
        assert seen == [1, 2, 3] and early.info["stopped_by_callback"], method


def test_fit_mf_argument_errors():
    t = toy_ratings(0)
    for fit_mf in (rs.fit_mf_als, rs.fit_mf_lbfgs):  # one function per method: no method= to get wrong
        with pytest.raises(ValueError, match="num_features"):
            fit_mf(t, num_features=-1)
        with pytest.raises(ValueError, match="nothing to fit"):
            fit_mf(t, num_features=0, biases=False)
        with pytest.raises(ValueError, match="lambda_"):
            fit_mf(t, lambda_=-1)


@needs_u1
def test_biased_mf_on_u1_beats_the_baseline():
    train, test = rs.load_movielens_split(U1_FOLDER, "u1")
    base = rs.evaluate(rs.fit_bias_baseline(train), test)["rmse"]
    mf = rs.evaluate(rs.fit_mf_als(train, 10, 10.0, lambda_bias=5.0, num_iters=15), test)["rmse"]
    assert mf < base - 0.02
