"""Held-out evaluation and the larger models of notebooks 09 and 10.

:mod:`helpers` is the learner's core (notebooks 01-08); this package builds
on it and on :mod:`_observed` (``helpers`` never imports ``research``).

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

from ..observed import ObservedRatings

from .als import fit_mf_als
from .baselines import fit_bias_baseline, fit_global_mean, fit_movie_means
from .bayesian import fit_bayesian_mf
from .blend import blend
from .metrics import evaluate, mae, ranking_metrics, rmse
from .mf import fit_mf_lbfgs, mf_cost_and_gradients
from .splits import load_movielens_ratings, load_movielens_split, random_split

__all__ = [
    "ObservedRatings",
    "load_movielens_ratings", "load_movielens_split", "random_split",
    "rmse", "mae", "evaluate", "ranking_metrics",
    "fit_global_mean", "fit_movie_means", "fit_bias_baseline",
    "mf_cost_and_gradients", "fit_mf_lbfgs", "fit_mf_als",
    "fit_bayesian_mf",
    "blend",
]
