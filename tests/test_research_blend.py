"""recsys_tutorial/research/blend.py: a weighted sum of models, as one model."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from fakes import toy_ratings
from recsys_tutorial import research as rs
from recsys_tutorial.observed import ObservedRatings


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
