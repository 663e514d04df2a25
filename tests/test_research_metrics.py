"""recsys_tutorial/research/metrics.py: RMSE, MAE, evaluate and the ranking metrics."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings


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


def test_evaluate_checks_the_test_set():
    t = toy_ratings(19)
    model = rs.fit_global_mean(t)
    scores = rs.evaluate(model, t, clip=False)
    assert scores["rmse"] == pytest.approx(np.std(t.values)) and scores["mae"] > 0
    with pytest.raises(ValueError, match="shape"):
        rs.evaluate(model, ObservedRatings([0], [0], [3.0], (2, 2)))
    with pytest.raises(TypeError, match="ObservedRatings"):
        rs.evaluate(model, t.to_dense())
