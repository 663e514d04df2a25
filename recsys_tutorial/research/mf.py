r"""Biased matrix factorisation: its cost, and training it by L-BFGS.

The model predicts :math:`\hat y_{ij} = \mu + b_i + c_j + x^{(i)}\cdot\theta^{(j)}`
and minimises, over the observed ratings,

.. math::

    J = \frac12 \sum_{(i,j)\ \mathrm{rated}} \bigl(\mu + b_i + c_j + x^{(i)}\cdot\theta^{(j)} - y_{ij}\bigr)^2
      + \frac{\lambda}{2}\Bigl(\sum_i w_i \lVert x^{(i)} \rVert^2 + \sum_j w_j \lVert \theta^{(j)} \rVert^2\Bigr)
      + \frac{\lambda_b}{2}\Bigl(\sum_i b_i^2 + \sum_j c_j^2\Bigr)

with :math:`\mu` the mean training rating (fixed, not learned) and
:math:`w_i = w_j = 1`, or, with ``weighted_lambda=True``, :math:`w_i = n_i`
(movie *i*'s number of ratings) and :math:`w_j = n_j` (user *j*'s): the
"weighted-lambda" regularisation of ALS-WR (Zhou et al. 2008) that Spark
MLlib's explicit ALS uses. The bias penalty is never weighted: it is a
pseudo-count shrinking rarely rated movies' biases, as in
:func:`research.fit_bias_baseline`. With zero biases, ``mu = 0`` and no
weights this is :func:`helpers.cofi_cost`.

Two trainers minimise it: :func:`fit_mf_lbfgs` here (all parameters as one
vector, L-BFGS-B with the analytic gradient) and :func:`research.fit_mf_als`
(alternating exact ridge regressions). Both start from the same seeded point
and report the same ``history`` and ``info``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..observed import ObservedRatings
from helpers import FactorModel
from ..validation import as_bool, as_factor_pair, as_factor_sizes, as_float, as_int, as_matrix, as_observed, as_vector

from ._common import progress_bar, rating_counts, training_set


def _penalty_weights(ratings: ObservedRatings, weighted: bool):
    if weighted:
        return rating_counts(ratings)
    return np.ones(ratings.shape[0]), np.ones(ratings.shape[1])


def _checked_factors(X, Theta, b_movie, b_user, shape):
    """The four parameter arrays as floats, checked against ``shape`` and each other."""
    n_movies, n_users = shape
    X, Theta = as_factor_pair(X, Theta, n_movies, n_users)
    b = as_vector(b_movie, "b_movie", size=n_movies)
    c = as_vector(b_user, "b_user", size=n_users)
    return np.ascontiguousarray(X), np.ascontiguousarray(Theta), b, c


def mf_cost_and_gradients(X, Theta, b_movie, b_user, ratings, *, mu=0.0, lambda_=0.0,
                          lambda_bias=None, weighted_lambda=False):
    r"""Cost :math:`J` of (biased) matrix factorisation (see the module docstring) and its gradients.

    Parameters
    ----------
    X : array_like of shape (n_movies, k)
    Theta : array_like of shape (n_users, k)
    b_movie : array_like of shape (n_movies,)
    b_user : array_like of shape (n_users,)
    ratings : ObservedRatings
        Of shape (n_movies, n_users).
    mu : float, default=0.0
    lambda_ : float, default=0.0
        Penalty on the features.
    lambda_bias : float, optional
        Penalty on the biases; default ``lambda_``.
    weighted_lambda : bool, default=False
        Weight the feature penalty by each row's number of ratings (ALS-WR).

    Returns
    -------
    J : float
    X_grad, Theta_grad, b_movie_grad, b_user_grad : ndarrays shaped like the inputs
    """
    ratings = as_observed(ratings)
    lam = as_float(lambda_, "lambda_", low=0)
    lam_b = lam if lambda_bias is None else as_float(lambda_bias, "lambda_bias", low=0)
    w_m, w_u = _penalty_weights(ratings, as_bool(weighted_lambda, "weighted_lambda"))
    X, Theta, b, c = _checked_factors(X, Theta, b_movie, b_user, ratings.shape)
    return _mf_cost_grad(ratings, X, Theta, b, c, as_float(mu, "mu"), lam, lam_b, w_m, w_u)


def _biased_residuals(obs: ObservedRatings, X, Theta, b, c, mu) -> np.ndarray:
    """``mu + b_i + c_j + x_i . theta_j - y_ij`` for every rating, in ``obs.by_row()`` order."""
    g = obs.by_row()
    err = obs.residuals(X, Theta)
    err += mu
    err += b.take(g.rows)
    err += c.take(g.cols)
    return err


def _mf_cost_grad(obs, X, Theta, b, c, mu, lam, lam_b, w_m, w_u, *, gradients=True):
    """:func:`mf_cost_and_gradients` for checked inputs; only ``J`` when not ``gradients``."""
    err = _biased_residuals(obs, X, Theta, b, c, mu)
    J = 0.5 * float(err @ err)
    J += 0.5 * lam * (float(w_m @ np.einsum("ij,ij->i", X, X)) + float(w_u @ np.einsum("ij,ij->i", Theta, Theta)))
    J += 0.5 * lam_b * (float(b @ b) + float(c @ c))
    if not gradients:
        return J
    g = obs.by_row()
    E = obs.as_csr(err)
    X_grad = E @ Theta
    X_grad += lam * w_m[:, None] * X
    Theta_grad = E.T @ X
    Theta_grad += lam * w_u[:, None] * Theta
    b_grad = np.bincount(g.rows, weights=err, minlength=b.size) + lam_b * b
    c_grad = np.bincount(g.cols, weights=err, minlength=c.size) + lam_b * c
    return J, X_grad, Theta_grad, b_grad, c_grad


@dataclass(frozen=True)
class _Problem:
    """One biased-MF problem, checked: the training ratings and every constant of :math:`J`."""

    train: ObservedRatings
    k: int
    biases: bool
    mu: float
    lam: float
    lam_b: float
    w_m: np.ndarray
    w_u: np.ndarray
    info: dict

    def cost(self, X, Theta, b, c, *, gradients=True):
        return _mf_cost_grad(self.train, X, Theta, b, c, self.mu, self.lam, self.lam_b, self.w_m, self.w_u,
                             gradients=gradients)

    def model(self, X, Theta, b, c, history, **extra) -> FactorModel:
        if not np.isfinite(history).all():
            raise ValueError(f"training diverged: the cost became {history[-1]:g} (lambda_={self.lam:g}, "
                             f"lambda_bias={self.lam_b:g}); use smaller values")
        return FactorModel(self.mu, b, c, X, Theta, history=history, info={**self.info, **extra})


def _start(train, num_features, lambda_, *, method, biases, lambda_bias, weighted_lambda, seed, init_scale,
           X0, Theta0):
    """Check the arguments both trainers share; return the problem and its start ``(X, Theta, b, c)``."""
    train = training_set(train)
    k = as_int(num_features, "num_features", low=0)
    biases = as_bool(biases, "biases")
    weighted = as_bool(weighted_lambda, "weighted_lambda")
    if k == 0 and not biases:
        raise ValueError("num_features=0 without biases leaves nothing to fit")
    if k:
        as_factor_sizes(*train.shape, k)          # X and Theta within the limits, before they are allocated
    lam = as_float(lambda_, "lambda_ (above 1e6 every feature stays 0)", low=0, high=1e6)
    lam_b = lam if lambda_bias is None else as_float(lambda_bias, "lambda_bias", low=0, high=1e6)
    seed = as_int(seed, "seed", low=0)
    w_m, w_u = _penalty_weights(train, weighted)
    info = {"model": "biased MF" if biases else "MF", "method": method, "num_features": k, "lambda_": lam,
            "lambda_bias": lam_b if biases else None, "weighted_lambda": weighted, "seed": seed}
    problem = _Problem(train, k, biases, float(train.values.mean()) if biases else 0.0, lam, lam_b, w_m, w_u, info)
    scale = as_float(init_scale, "init_scale (the starting features' standard deviation)", low=0, low_open=True,
                     high=10)
    X, Theta = _initial_features(train.shape, k, seed, scale, X0, Theta0)
    if weighted:  # rows without ratings are unconstrained: pin them to 0
        X[w_m == 0] = 0.0
        Theta[w_u == 0] = 0.0
    return problem, (X, Theta, np.zeros(train.shape[0]), np.zeros(train.shape[1]))


def _initial_features(shape, k, seed, scale, X0, Theta0):
    """Seeded normal ``X`` (n_movies, k) and ``Theta`` (n_users, k), or copies of the given ones."""
    (n_movies, n_users), rng = shape, np.random.default_rng(seed)
    X = rng.normal(0.0, scale, (n_movies, k)) if X0 is None else as_matrix(X0, "X0", finite=True).copy()
    Theta = rng.normal(0.0, scale, (n_users, k)) if Theta0 is None else as_matrix(Theta0, "Theta0", finite=True).copy()
    if X.shape != (n_movies, k) or Theta.shape != (n_users, k):
        raise ValueError(f"X0 must be {(n_movies, k)} and Theta0 {(n_users, k)}; got {X.shape} and {Theta.shape}")
    return X, Theta


#: The Parameters and Returns sections both trainers share, spliced into their docstrings.
_SHARED_PARAMETERS = """Parameters
    ----------
    train : ObservedRatings
        The training ratings, of shape (n_movies, n_users).
    num_features : int, default=10
        ``k``; 0 fits biases only.
    lambda_ : float, default=10.0
        Penalty :math:`\\lambda` on the features (per rating when
        ``weighted_lambda``: then sensible values are around 0.05-0.1).
    biases : bool, default=True
        Learn :math:`\\mu, b, c`. ``False``: :math:`\\hat y = x\\cdot\\theta`
        (the course's model on raw ratings, and Spark's).
    lambda_bias : float, optional
        Penalty :math:`\\lambda_b` on the biases (never weighted); default ``lambda_``.
    weighted_lambda : bool, default=False
        Multiply :math:`\\lambda` by each row's number of ratings (ALS-WR).
        Movies/users without ratings then have no penalty and get zero features.
    seed : int, default=0
        Seed of the initial features, normal with standard deviation ``init_scale``.
    init_scale : float, default=0.1
        Positive, at most 10 (the features start near 0; ratings are 1-5).
    callback : callable, optional
        ``callback(iteration, model)`` after every iteration, with the current
        :class:`helpers.FactorModel`; return ``True`` to stop early (e.g. once a
        held-out RMSE is reached).
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    helpers.FactorModel
        ``X`` (n_movies, k), ``Theta`` (n_users, k), ``b_movie`` (n_movies,),
        ``b_user`` (n_users,); ``history``: the cost :math:`J` at the start
        and after every iteration; ``info``: hyper-parameters, iterations,
        seconds, ``stopped_by_callback``."""


def _shared_doc(fn):
    """Put :data:`_SHARED_PARAMETERS` where ``fn``'s docstring says ``%(shared)s``."""
    if fn.__doc__:  # None under python -OO
        fn.__doc__ = fn.__doc__.replace("%(shared)s", _SHARED_PARAMETERS)
    return fn


def _flat(problem: _Problem, b, c):
    """``(pack, unpack)`` between ``(X, Theta[, b, c])`` and L-BFGS's one parameter vector."""
    (n_movies, n_users), k = problem.train.shape, problem.k
    sizes = [n_movies * k, n_users * k] + ([n_movies, n_users] if problem.biases else [])
    cuts = np.cumsum(sizes)[:-1]

    def pack(X, Theta, b_, c_):
        return np.concatenate([X.ravel(), Theta.ravel()] + ([b_, c_] if problem.biases else []))

    def unpack(p):
        parts = np.split(p, cuts)
        Xp, Tp = parts[0].reshape(n_movies, k), parts[1].reshape(n_users, k)
        return (Xp, Tp, parts[2], parts[3]) if problem.biases else (Xp, Tp, b, c)

    return pack, unpack


@_shared_doc
def fit_mf_lbfgs(train, num_features=10, lambda_=10.0, *, biases=True, lambda_bias=None, weighted_lambda=False,
                 num_iters=500, tol=1e-6, seed=0, init_scale=0.1, X0=None, Theta0=None, callback=None,
                 progress=False):
    r"""Fit (biased) matrix factorisation by L-BFGS-B on all parameters at once.

    Minimises :math:`J` of the module docstring (:func:`mf_cost_and_gradients`)
    over ``X``, ``Theta`` and, with ``biases``, ``b`` and ``c``, flattened into
    one vector, with the analytic gradient and 20 stored corrections.

    %(shared)s

    Other Parameters
    ----------------
    num_iters : int, default=500
        At most this many L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS-B's ``ftol``: stop when an iteration lowers :math:`J` by less
        than ``tol`` times :math:`J`.
    X0 : array_like of shape (n_movies, k), optional
    Theta0 : array_like of shape (n_users, k), optional
        Initial features instead of the seeded random ones.
    """
    from scipy.optimize import minimize

    problem, (X, Theta, b, c) = _start(train, num_features, lambda_, method="lbfgs", biases=biases,
                                       lambda_bias=lambda_bias, weighted_lambda=weighted_lambda, seed=seed,
                                       init_scale=init_scale, X0=X0, Theta0=Theta0)
    num_iters = as_int(num_iters, "num_iters", low=1)
    tol = as_float(tol, "tol", low=0)
    pack, unpack = _flat(problem, b, c)

    def fun(p):
        J, *grads = problem.cost(*unpack(p))
        return J, pack(*grads)

    history = [problem.cost(X, Theta, b, c, gradients=False)]
    start, iteration = time.perf_counter(), [0]
    with progress_bar(as_bool(progress, "progress"), num_iters, f"lbfgs k={problem.k}") as bar:
        def on_iter(intermediate_result):
            iteration[0] += 1
            history.append(float(intermediate_result.fun))
            if bar is not None:
                bar.update(1)
            if callback is not None:
                now = (a.copy() for a in unpack(intermediate_result.x))
                if callback(iteration[0], problem.model(*now, history)):
                    raise StopIteration

        with threadpool_limits(limits=1, user_api="blas"):  # why one thread: benchmarks/README.md
            res = minimize(fun, pack(X, Theta, b, c), jac=True, method="L-BFGS-B", callback=on_iter,
                           options={"maxiter": num_iters, "ftol": tol, "gtol": 1e-12, "maxcor": 20})
    X, Theta, b, c = (a.copy() for a in unpack(res.x))
    return problem.model(X, Theta, b, c, history, iterations=len(history) - 1, message=str(res.message),
                         seconds=time.perf_counter() - start, stopped_by_callback=res.status == 99)
