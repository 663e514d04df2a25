"""Tests of research/: splits, metrics, baselines, biased MF (L-BFGS, ALS), Bayesian MF, blending."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import helpers as h
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings
from recsys_tutorial.research import als as rs_als
from recsys_tutorial.research import bayesian as rs_bayesian

ROOT = Path(__file__).resolve().parents[1]
DATA_DIRS = [ROOT / "data", ROOT.parent / "shared" / "data" / "ml-100k"]
ML100K = next((d for d in DATA_DIRS if (d / "u1.base").is_file() and (d / "u1.test").is_file()), None)
needs_u1 = pytest.mark.skipif(ML100K is None, reason="MovieLens u1.base/u1.test not found (run `make data`)")


def toy_ratings(seed=0, n_movies=7, n_users=6, density=0.6, k_true=2):
    """Small random ratings from a low-rank model; every movie and user has a rating."""
    rng = np.random.default_rng(seed)
    R = rng.random((n_movies, n_users)) < density
    R[np.arange(n_movies), np.arange(n_movies) % n_users] = True
    R[np.arange(n_users) % n_movies, np.arange(n_users)] = True
    Y = 3 + rng.normal(0, 1, (n_movies, k_true)) @ rng.normal(0, 1, (n_users, k_true)).T / k_true
    Y = np.clip(np.round(Y), 1, 5)
    return ObservedRatings.from_dense(Y, R)


def write_ratings(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


# ---------------------------------------------------------------- ObservedRatings


def test_triplets_validation_and_dense_round_trip():
    t = ObservedRatings([0, 2, 1], [1, 0, 1], [4.0, 3.0, 5.0], (3, 2))
    assert t.n_ratings == len(t) == 3 and t.shape == (3, 2)
    Y, R = t.to_dense()
    np.testing.assert_array_equal(Y, [[0, 4], [0, 5], [3, 0]])
    np.testing.assert_array_equal(R, Y > 0)
    back = ObservedRatings.from_dense(Y, R)
    assert sorted(zip(back.rows, back.cols, back.values)) == sorted(zip(t.rows, t.cols, t.values))
    sub = t.subset([True, False, True])
    assert sub.shape == t.shape and sub.rows.tolist() == [0, 1]
    with pytest.raises(ValueError, match="more than once"):
        ObservedRatings([0, 0], [1, 1], [1.0, 2.0], (3, 2))
    with pytest.raises(ValueError, match="0..2"):
        ObservedRatings([3], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="same length"):
        ObservedRatings([0, 1], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="integer"):
        ObservedRatings([0.5], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="finite"):
        ObservedRatings([0], [0], [np.nan], (3, 2))
    with pytest.raises(TypeError, match="ObservedRatings"):
        rs.fit_global_mean((Y, R))


# ---------------------------------------------------------------- loading


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
    train, test = rs.load_movielens_split(ML100K, "u1")
    assert (train.n_ratings, test.n_ratings) == (80_000, 20_000)
    assert train.shape == test.shape == (1682, 943)
    key = lambda t: set((t.rows * 943 + t.cols).tolist())  # noqa: E731
    assert not key(train) & key(test)
    assert set(np.unique(train.values)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert train.values.mean() == pytest.approx(3.52835, abs=1e-5)
    # u1.test holds users 1-462 only: the MovieLens splits are not uniform samples of the ratings
    assert test.cols.max() == 461


# ---------------------------------------------------------------- random split


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


# ---------------------------------------------------------------- metrics


def test_rmse_and_mae_by_hand():
    y, p = [1, 2, 3, 4], [2, 2, 5, 4]  # errors 1, 0, 2, 0
    assert rs.rmse(y, p) == pytest.approx(np.sqrt(5 / 4), rel=1e-15)
    assert rs.mae(y, p) == pytest.approx(0.75, rel=1e-15)
    assert rs.rmse([3.0], [3.0]) == 0.0
    with pytest.raises(ValueError, match="same length"):
        rs.rmse([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        rs.mae([], [])
    with pytest.raises(ValueError, match="finite"):
        rs.rmse([1, np.nan], [1, 2])


def ranking_toy():
    # 6 movies x 2 users. user 0 rated movies 0, 1 in training; user 1 rated movie 5.
    train = ObservedRatings([0, 1, 5], [0, 0, 1], [5, 5, 5], (6, 2))
    # held out: user 0 likes 2 and 4 (>= 4 stars), not 3; user 1 likes 1, not 0.
    test = ObservedRatings([2, 3, 4, 1, 0], [0, 0, 0, 1, 1], [5, 2, 4, 4, 3], (6, 2))
    scores = np.array([[9, 2], [8, 6], [1, 6], [7, 0], [3, 4], [5, 9]], dtype=float)
    return scores, train, test


def test_ranking_metrics_by_hand():
    scores, train, test = ranking_toy()
    m = rs.ranking_metrics(scores, train, test, k=3)
    # user 0: candidates 2,3,4,5 -> top-3 [3 (7), 5 (5), 4 (3)]; hits [0, 0, 1] of relevant {2, 4}
    p0, r0, ndcg0 = 1 / 3, 1 / 2, (1 / np.log2(4)) / (1 + 1 / np.log2(3))
    # user 1: candidates 0..4 -> top-3 [1 (6), 2 (6, tie: lower index first), 4]; hits [1, 0, 0] of {1}
    p1, r1, ndcg1 = 1 / 3, 1.0, 1.0
    assert m["users"] == 2
    assert m["precision@3"] == pytest.approx((p0 + p1) / 2, rel=1e-12)
    assert m["recall@3"] == pytest.approx((r0 + r1) / 2, rel=1e-12)
    assert m["ndcg@3"] == pytest.approx((ndcg0 + ndcg1) / 2, rel=1e-12)


def test_ranking_metrics_skips_users_without_relevant_items_and_checks_inputs():
    scores, train, test = ranking_toy()
    low = ObservedRatings(test.rows, test.cols, np.where(test.cols == 1, 3.0, test.values), test.shape)
    m = rs.ranking_metrics(scores, train, low, k=1)
    assert m["users"] == 1 and m["precision@1"] == 0.0  # user 0's top-1 is movie 3 (2 stars)
    m = rs.ranking_metrics(scores, train, test, k=6)  # more slots than candidates: P@k still divides by k
    assert m["recall@6"] == 1.0 and m["precision@6"] == pytest.approx((2 / 6 + 1 / 6) / 2)
    with pytest.raises(ValueError, match=r"shape \(6, 2\)"):
        rs.ranking_metrics(scores[:5], train, test)
    with pytest.raises(ValueError, match="k must be"):
        rs.ranking_metrics(scores, train, test, k=0)


# ---------------------------------------------------------------- baselines


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
    train, test = rs.load_movielens_split(ML100K, "u1")
    errs = [rs.evaluate(f(train), test)["rmse"] for f in (rs.fit_global_mean, rs.fit_movie_means, rs.fit_bias_baseline)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[0] == pytest.approx(1.1537, abs=1e-4) and errs[2] < 0.96


# ---------------------------------------------------------------- sparse path


def test_sparse_gradient_matches_dense_across_blocks(monkeypatch):
    rng = np.random.default_rng(11)
    Y = rng.integers(1, 6, size=(300, 200)).astype(float)
    R = rng.random(Y.shape) < 0.07
    X, Theta = rng.standard_normal((300, 10)), rng.standard_normal((200, 10))
    monkeypatch.setattr(ObservedRatings, "_BLOCK", 97)  # many blocks, a ragged last one
    J, Xg, Tg = ObservedRatings.from_dense(Y, R).cost_and_gradients(X, Theta, 1.5)
    Jd, (Xgd, Tgd) = h.cofi_cost(X, Theta, Y, R, 1.5), h.cofi_gradients(X, Theta, Y, R, 1.5)
    assert abs(J - Jd) <= 1e-8 * abs(Jd)
    np.testing.assert_allclose(Xg, Xgd, rtol=0, atol=1e-8)
    np.testing.assert_allclose(Tg, Tgd, rtol=0, atol=1e-8)


def test_from_triplets_sorted_fast_path_and_duplicates():
    rng = np.random.default_rng(2)
    t = toy_ratings(4, n_movies=20, n_users=15)
    perm = rng.permutation(t.n_ratings)
    a = ObservedRatings(t.rows, t.cols, t.values, t.shape).by_row()  # already sorted
    b = ObservedRatings(t.rows[perm], t.cols[perm], t.values[perm], t.shape).by_row()
    for name in ("rows", "cols", "values", "indptr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    with pytest.raises(ValueError, match="more than once"):
        ObservedRatings([1, 0, 1], [2, 0, 2], [1.0, 2.0, 3.0], (3, 3))


# ---------------------------------------------------------------- biased MF cost


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


# ---------------------------------------------------------------- ALS


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


# ---------------------------------------------------------------- models


def test_factor_model_predict_clip_and_blend():
    rng = np.random.default_rng(12)
    a = h.FactorModel(3.0, rng.normal(0, 1, 5), rng.normal(0, 1, 4), rng.normal(0, 1, (5, 2)),
                      rng.normal(0, 1, (4, 2)))
    b = h.FactorModel(3.5, rng.normal(0, 1, 5), rng.normal(0, 1, 4), rng.normal(0, 1, (5, 3)),
                      rng.normal(0, 1, (4, 3)))
    rows, cols = np.repeat(np.arange(5), 4), np.tile(np.arange(4), 5)
    raw = a.predict(rows, cols, clip=False)
    np.testing.assert_allclose(raw, a.mu + a.b_movie[rows] + a.b_user[cols] + (a.X[rows] * a.Theta[cols]).sum(1))
    np.testing.assert_allclose(a.predict(rows, cols), np.clip(raw, 1, 5))
    np.testing.assert_allclose(a.predict_all(clip=False)[rows, cols], raw)
    mix = rs.blend([a, b], [0.3, -0.2])
    np.testing.assert_allclose(mix.predict(rows, cols, clip=False),
                               0.3 * raw - 0.2 * b.predict(rows, cols, clip=False))
    avg = rs.blend([a, b])
    np.testing.assert_allclose(avg.predict(rows, cols, clip=False),
                               (raw + b.predict(rows, cols, clip=False)) / 2)
    # weights fitted on held-out ratings recover the true mixture
    target = ObservedRatings(rows, cols, 0.7 * raw + 0.4 * b.predict(rows, cols, clip=False), (5, 4))
    fitted = rs.blend([a, b], validation=target)
    np.testing.assert_allclose(fitted.info["weights"], [0.7, 0.4], atol=1e-10)
    with pytest.raises(ValueError, match="same shape"):
        rs.blend([a, rs.fit_global_mean(toy_ratings())])


@needs_u1
def test_biased_mf_on_u1_beats_the_baseline():
    train, test = rs.load_movielens_split(ML100K, "u1")
    base = rs.evaluate(rs.fit_bias_baseline(train), test)["rmse"]
    mf = rs.evaluate(rs.fit_mf_als(train, 10, 10.0, lambda_bias=5.0, num_iters=15), test)["rmse"]
    assert mf < base - 0.02


# ---------------------------------------------------------------- Bayesian MF (Gibbs)


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


def test_gibbs_batched_and_loop_draws_agree(monkeypatch):
    t = toy_ratings(18, n_movies=20, n_users=15, density=0.5)
    t = t.subset(t.rows != 2)  # a movie without ratings: drawn from the prior
    kw = dict(num_features=2, num_samples=3, burn_in=2, seed=4)
    batched = rs.fit_bayesian_mf(t, **kw)
    monkeypatch.setattr(rs_als, "_BATCHED_MAX_UNKNOWNS", 0)
    loop = rs.fit_bayesian_mf(t, **kw)
    np.testing.assert_allclose(batched.X, loop.X, atol=1e-9)
    np.testing.assert_allclose(batched.b_user, loop.b_user, atol=1e-9)


# ---------------------------------------------------------------- the package itself


def test_evaluate_checks_the_test_set():
    t = toy_ratings(19)
    model = rs.fit_global_mean(t)
    scores = rs.evaluate(model, t, clip=False)
    assert scores["rmse"] == pytest.approx(np.std(t.values)) and scores["mae"] > 0
    with pytest.raises(ValueError, match="shape"):
        rs.evaluate(model, ObservedRatings([0], [0], [3.0], (2, 2)))
    with pytest.raises(TypeError, match="ObservedRatings"):
        rs.evaluate(model, t.to_dense())


def test_helpers_never_imports_research():
    import subprocess
    import sys

    code = "import sys; import helpers; assert not any(m.split('.')[0] == 'research' for m in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_no_function_longer_than_80_lines():
    import ast

    files = sorted((ROOT / "research").glob("*.py")) + [ROOT / "benchmarks" / "bench.py"]
    long = [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno} lines)"
            for path in files for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno > 80]
    assert not long, long
