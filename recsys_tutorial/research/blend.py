"""Blending: a weighted sum of fitted models, itself one factor model."""

from __future__ import annotations

import numpy as np

from helpers import FactorModel
from ..validation import as_observed, as_vector



def _blend_weights(models, weights, validation) -> np.ndarray:
    """The weights given, equal ones, or least-squares ones fitted on ``validation``."""
    if weights is not None and validation is not None:
        raise ValueError("give weights or validation, not both")
    if validation is not None:
        validation = as_observed(validation, "validation")
        if validation.shape != models[0].shape:
            raise ValueError(f"validation has shape {validation.shape}; the models {models[0].shape}")
        if validation.n_ratings < len(models):
            raise ValueError(f"validation holds {validation.n_ratings} ratings: fitting {len(models)} weights "
                             f"needs at least {len(models)} (give held-out ratings, or weights=)")
        P = np.column_stack([m.predict(validation.rows, validation.cols, clip=False) for m in models])
        return np.linalg.lstsq(P, validation.values, rcond=None)[0]
    if weights is None:
        return np.full(len(models), 1.0 / len(models))
    return as_vector(np.ravel(weights), "weights", size=len(models))


def blend(models, weights=None, *, validation=None) -> FactorModel:
    r"""A weighted sum of fitted models' predictions, as one :class:`helpers.FactorModel`.

    A linear blend of factor models is itself a factor model:

    .. math::

        \sum_m w_m \bigl(\mu_m + b^m_i + c^m_j + x^{m(i)} \cdot \theta^{m(j)}\bigr)
        = \underbrace{\textstyle\sum_m w_m \mu_m}_{\mu}
        + \underbrace{\textstyle\sum_m w_m b^m_i}_{b_i}
        + \underbrace{\textstyle\sum_m w_m c^m_j}_{c_j}
        + [w_1 x^{1(i)}, w_2 x^{2(i)}, \dots] \cdot [\theta^{1(j)}, \theta^{2(j)}, \dots]

    so the blend is exact (features side by side), predicts through the same
    code and clips only once, after summing.

    Parameters
    ----------
    models : sequence of helpers.FactorModel
        All of one shape (n_movies, n_users).
    weights : sequence of float, optional
        One per model. Default: equal weights summing to 1 (an average), or,
        when ``validation`` is given, least-squares weights fitted on it.
    validation : ObservedRatings, optional
        Held-out ratings (never the test set) to fit the weights on: the
        weights minimise the squared error of the unclipped blended
        predictions there.

    Returns
    -------
    helpers.FactorModel
        ``X`` and ``Theta`` with all models' features side by side;
        ``info["weights"]`` holds the weights used.
    """
    models = list(models)
    if not models or not all(isinstance(m, FactorModel) for m in models):
        raise ValueError("models must be a non-empty sequence of FactorModel")
    shape = models[0].shape
    if any(m.shape != shape for m in models):
        raise ValueError(f"all models must have the same shape; got {[m.shape for m in models]}")
    w = _blend_weights(models, weights, validation)
    mu = float(sum(wm * m.mu for wm, m in zip(w, models)))
    b = sum(wm * m.b_movie for wm, m in zip(w, models))
    c = sum(wm * m.b_user for wm, m in zip(w, models))
    X = np.hstack([wm * m.X for wm, m in zip(w, models)])
    Theta = np.hstack([m.Theta for m in models])
    ranges = {m.rating_range for m in models}
    return FactorModel(mu, b, c, X, Theta, rating_range=ranges.pop() if len(ranges) == 1 else None,
                       info={"model": "blend", "weights": w.tolist(),
                             "parts": [m.info.get("model", "FactorModel") for m in models]})
