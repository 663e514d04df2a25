"""recsys_tutorial/research/als.py: alternating least squares and Spark's ALS-WR."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings
from recsys_tutorial.research import als as rs_als


def ridge_by_hand(inputs, targets, diag):
    return np.linalg.solve(inputs.T @ inputs + np.diag(diag), inputs.T @ targets)


@pytest.mark.parametrize("weighted", [False, True])
def test_one_als_sweep_is_the_closed_form_ridge_solution(weighted):
    t = toy_ratings(7)
    (m, n), k, lam, lam_b = t.shape, 2, 0.8, 1.9
    Theta0 = np.random.default_rng(3).standard_normal((n, k))
    model = rs.fit_mf_als(t, k, lam, lambda_bias=lam_b, weighted_lambda=weighted,
                     num_iters=1, Theta0=Theta0, X0=np.zeros((m, k)))
    mu = t.values.mean()
    Y, R = t.to_dense()
    n_m, n_u = R.sum(1), R.sum(0)
    for i in range(m):  # movies from the initial users (user biases start at 0)
        J = np.flatnonzero(R[i])
        w = n_m[i] if weighted else 1.0
        z = ridge_by_hand(np.column_stack([Theta0[J], np.ones(J.size)]), Y[i, J] - mu, [w * lam] * k + [lam_b])
        np.testing.assert_allclose(np.r_[model.X[i], model.b_movie[i]], z, atol=1e-12)
    for j in range(n):  # then users from the new movies
        I = np.flatnonzero(R[:, j])
        w = n_u[j] if weighted else 1.0
        z = ridge_by_hand(np.column_stack([model.X[I], np.ones(I.size)]), Y[I, j] - mu - model.b_movie[I],
                          [w * lam] * k + [lam_b])
        np.testing.assert_allclose(np.r_[model.Theta[j], model.b_user[j]], z, atol=1e-12)


def test_als_wr_without_biases_is_sparks_normal_equation():
    t = toy_ratings(8)
    (m, n), k, lam = t.shape, 3, 0.1
    Theta0 = np.random.default_rng(4).standard_normal((n, k))
    model = rs.fit_mf_als(t, k, lam, biases=False, weighted_lambda=True, num_iters=1, Theta0=Theta0,
                     X0=np.zeros((m, k)))
    assert model.mu == 0 and not model.b_movie.any() and not model.b_user.any()
    Y, R = t.to_dense()
    for i in range(m):  # (V^T V + lambda n_i I) x_i = V^T r_i
        J = np.flatnonzero(R[i])
        V = Theta0[J]
        np.testing.assert_allclose(model.X[i], np.linalg.solve(V.T @ V + lam * J.size * np.eye(k), V.T @ Y[i, J]),
                                   atol=1e-12)


@pytest.mark.parametrize("weighted, lam", [(False, 0.5), (True, 0.05)])
def test_als_and_lbfgs_converge_to_stationary_points_of_the_same_cost(weighted, lam):
    t = toy_ratings(9, n_movies=15, n_users=12)
    kw = dict(num_features=2, lambda_=lam, lambda_bias=1.0, weighted_lambda=weighted, tol=0)
    als = rs.fit_mf_als(t, num_iters=3000, **kw)
    lb = rs.fit_mf_lbfgs(t, num_iters=3000, **kw)
    for model in (als, lb):
        J, *grads = rs.mf_cost_and_gradients(model.X, model.Theta, model.b_movie, model.b_user, t,
                                            mu=model.mu, lambda_=lam, lambda_bias=1.0, weighted_lambda=weighted)
        assert max(np.abs(g).max() for g in grads) < 1e-5
        assert J == pytest.approx(model.history[-1], rel=1e-9)
    assert np.all(np.diff(als.history) <= 1e-9 * als.history[0])  # ALS never increases the cost
    assert als.history[-1] == pytest.approx(lb.history[-1], rel=1e-4)


@pytest.mark.parametrize("weighted, lam", [(False, 0.8), (True, 0.1)])
def test_als_batched_and_loop_half_steps_agree(monkeypatch, weighted, lam):
    t = toy_ratings(16, n_movies=25, n_users=18, density=0.4)
    t = t.subset(t.rows != 3)  # a movie without ratings
    kw = dict(num_features=3, lambda_=lam, lambda_bias=1.5, weighted_lambda=weighted, num_iters=4, tol=0)
    batched = rs.fit_mf_als(t, **kw)
    monkeypatch.setattr(rs_als, "_BATCHED_MAX_UNKNOWNS", 0)
    loop = rs.fit_mf_als(t, **kw)
    for a, b in ((batched.X, loop.X), (batched.Theta, loop.Theta), (batched.b_movie, loop.b_movie)):
        np.testing.assert_allclose(a, b, atol=1e-10)
    assert not batched.X[3].any() and batched.b_movie[3] == 0.0


def test_als_without_penalty_falls_back_to_least_squares():
    t = toy_ratings(17)
    model = rs.fit_mf_als(t, 2, 0.0, lambda_bias=0.0, num_iters=5)  # singular rows are possible: must not fail
    assert np.all(np.isfinite(model.X)) and np.all(np.diff(model.history) <= 1e-9 * model.history[0])
