"""Held-out evaluation and the larger models of notebooks 09 and 10.

:mod:`helpers` is the learner's core (notebooks 01-08); this package builds
on it and on :mod:`~recsys_tutorial.observed` (``helpers`` never imports ``research``).

=================  ==============================================================
module             what lives there
=================  ==============================================================
``splits``         :func:`load_movielens_ratings`, :func:`load_movielens_split`,
                   :func:`random_split`: training and test sets as
                   :class:`ObservedRatings` (the project's one ratings type)
``metrics``        :func:`rmse`, :func:`mae`, :func:`evaluate` (a model on a test
                   set), :func:`ranking_metrics` (precision/recall/NDCG at k)
``baselines``      :func:`fit_global_mean`, :func:`fit_movie_means`,
                   :func:`fit_bias_baseline`
``mf``             biased matrix factorisation: :func:`mf_cost_and_gradients`
                   and training by L-BFGS, :func:`fit_mf_lbfgs`
``als``            the same model by alternating least squares (and Spark's
                   ALS-WR), :func:`fit_mf_als`
``bayesian``       Bayesian MF by Gibbs sampling, :func:`fit_bayesian_mf`
``blend``          :func:`blend`: a weighted sum of models, as one model
=================  ==============================================================

Every model is a :class:`helpers.FactorModel`. Shapes follow the course:
movies are rows, users columns; ``X`` is (n_movies, k), ``Theta`` (n_users, k).
"""

from __future__ import annotations

import importlib

from ..observed import ObservedRatings
from .splits import load_movielens_ratings, load_movielens_split, random_split

#: Where each other name lives: loaded on first use (PEP 562). The data step needs only ``splits``,
#: and a hand-out ships only that module of this package (the models compute exercises' answers).
_HOMES = {
    "rmse": ".metrics", "mae": ".metrics", "evaluate": ".metrics", "ranking_metrics": ".metrics",
    "fit_global_mean": ".baselines", "fit_movie_means": ".baselines", "fit_bias_baseline": ".baselines",
    "mf_cost_and_gradients": ".mf", "fit_mf_lbfgs": ".mf", "fit_mf_als": ".als",
    "fit_bayesian_mf": ".bayesian",
    "blend": ".blend",
}

__all__ = ["ObservedRatings", "load_movielens_ratings", "load_movielens_split", "random_split", *_HOMES]


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
        globals()[name] = value   # after the import, which binds the submodule 'blend' over the function 'blend'
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
