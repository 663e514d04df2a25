r"""Bayesian biased matrix factorisation (BPMF with biases), fitted by Gibbs sampling.

Instead of one point estimate with a hand-tuned :math:`\lambda` (what
:func:`research.fit_mf_als` returns), average the predictions of many
plausible factorisations drawn from the posterior: Bayesian probabilistic
matrix factorisation (Salakhutdinov & Mnih 2008), here with biases.

**Model.** With :math:`\mu` the training mean,

.. math::

    y_{ij} \sim \mathcal N\bigl(\mu + b_i + c_j + x^{(i)}\cdot\theta^{(j)},\ \alpha^{-1}\bigr),
    \qquad
    \begin{bmatrix} x^{(i)} \\ b_i \end{bmatrix} \sim \mathcal N(m_X, \Lambda_X^{-1}),
    \qquad
    \begin{bmatrix} \theta^{(j)} \\ c_j \end{bmatrix} \sim \mathcal N(m_\Theta, \Lambda_\Theta^{-1})

and the prior means and precision matrices are themselves unknown, with
Normal-Wishart hyper-priors (:math:`\beta_0 = 2`, :math:`W_0 = I`,
:math:`\nu_0 = k + 1`): the data choose the amount and the shape of the
regularisation, which ALS needs a validation search for. The noise
precision :math:`\alpha` gets a Gamma(1, 1) prior unless fixed.

**Sampler.** Each sweep draws, in turn, :math:`(m_X, \Lambda_X)` and
:math:`(m_\Theta, \Lambda_\Theta)` given the features, every movie's
:math:`[x^{(i)}, b_i]` given the users (a Gaussian: the same normal
equations as an ALS half-step, with :math:`\Lambda_X` in place of
:math:`\lambda I`), every user's :math:`[\theta^{(j)}, c_j]` given the
movies, and :math:`\alpha`.

**Prediction.** The average of the kept draws' predictions, a Monte Carlo
estimate of the posterior mean. An average of factor models is a factor
model (see :func:`research.blend`), so the result is a
:class:`helpers.FactorModel` with ``num_samples * num_features`` features.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.linalg import blas, lapack
from threadpoolctl import threadpool_limits

from ..observed import ObservedRatings
from helpers import FactorModel
from ..validation import as_bool, as_float, as_int

from ._common import progress_bar, training_set
from .als import _batched, _normal_matrices, _rows_with_inputs, fit_mf_als
from .mf import _biased_residuals


def _sample_normal_wishart(Z, rng, beta0=2.0):
    r"""Draw :math:`(m, \Lambda)` from the Normal-Wishart posterior given the rows of ``Z`` (N, d).

    Prior: :math:`\Lambda \sim \mathcal W(W_0 = I, \nu_0 = d)`,
    :math:`m \mid \Lambda \sim \mathcal N(0, (\beta_0\Lambda)^{-1})`.
    With :math:`N` rows of mean :math:`\bar z` and scatter :math:`S`
    (divided by :math:`N`), the posterior has :math:`\beta = \beta_0 + N`,
    :math:`\nu = d + N`, :math:`m^* = N\bar z/\beta` and
    :math:`W^{-1} = I + N S + \frac{\beta_0 N}{\beta}\bar z \bar z^T`.
    Returns ``m`` of shape (d,) and ``Lam`` of shape (d, d).
    """
    from scipy import stats   # here, not at the top: importing it costs notebooks 09 and 10 about 0.5 s at setup

    n, d = Z.shape
    zbar = Z.mean(axis=0)
    D = Z - zbar
    W_inv = np.eye(d) + D.T @ D + (beta0 * n / (beta0 + n)) * np.outer(zbar, zbar)
    W = np.linalg.inv(W_inv)
    Lam = stats.wishart.rvs(df=d + n, scale=(W + W.T) / 2, random_state=rng)
    Lam = np.atleast_2d(Lam)
    L = np.linalg.cholesky((beta0 + n) * Lam)  # m ~ N(m*, (beta Lam)^-1) = m* + L^-T eps
    m = n * zbar / (beta0 + n) + np.linalg.solve(L.T, rng.standard_normal(d))
    return m, Lam


def _gibbs_rows(obs: ObservedRatings, F, target, alpha, m, Lam, rng, out):
    r"""Draw every row's unknowns from its Gaussian conditional (one Gibbs half-sweep).

    Row *i*'s conditional is :math:`\mathcal N(A_i^{-1} h_i, A_i^{-1})` with
    :math:`A_i = \Lambda + \alpha F_i^T F_i` and
    :math:`h_i = \Lambda m + \alpha F_i^T t_i` (``F`` of shape (n_other, k1),
    ``target`` in ``obs.by_row()`` order). With the Cholesky factor
    :math:`A_i = U^T U`, the draw is :math:`A_i^{-1}h_i + U^{-1}\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, I)`, written into ``out`` (n_rows, k1).
    Rows without ratings are drawn from the prior :math:`\mathcal N(m,
    \Lambda^{-1})`. As in :func:`research.als._ridge_rows`, small problems
    are drawn as one batch (batched Cholesky and solve), larger ones row by
    row with LAPACK; both give the same draw for the same :math:`\varepsilon`.
    """
    eps = rng.standard_normal(out.shape)
    Lm = Lam @ m
    if _batched(F.shape[1]):
        # With A = L L^T, A^-1 (h + L eps) = A^-1 h + L^-T eps, the same draw as the loop's
        # U^-1 eps (U = L^T); rows without ratings get A = Lam.
        A, FtT = _normal_matrices(obs, F, target)
        A *= alpha
        A += Lam
        rhs = alpha * FtT + Lm
        L = np.linalg.cholesky(A)
        rhs += np.einsum("nij,nj->ni", L, eps)
        out[:] = np.linalg.solve(A, rhs[..., None])[..., 0]
        return
    indptr = obs.by_row().indptr
    empty = np.flatnonzero(indptr[1:] == indptr[:-1])
    if empty.size:
        U0 = np.linalg.cholesky(Lam).T  # Lam = U0' U0
        out[empty] = m + np.linalg.solve(U0, eps[empty].T).T
    for i, Fi, ti in _rows_with_inputs(obs, F, target):
        A = blas.dsyrk(alpha, Fi.T, lower=0)
        A += Lam  # only the upper triangle is read
        rhs = alpha * (ti @ Fi) + Lm
        U, info = lapack.dpotrf(A, lower=0, clean=0, overwrite_a=1)
        if info != 0:  # cannot happen for a positive definite Lam; keep the previous draw
            continue
        mean, _ = lapack.dpotrs(U, rhs, lower=0)
        noise, _ = lapack.dtrtrs(U, eps[i], lower=0)
        out[i] = mean + noise


class _Chain:
    """The sampler's state: movie unknowns ``U = [X, b]``, user unknowns ``V = [Theta, c]``, ``alpha``."""

    def __init__(self, train: ObservedRatings, init: FactorModel, noise_precision, rng):
        self.train, self.rng, self.mu, self.k = train, rng, init.mu, init.num_features
        self.U = np.column_stack([init.X, init.b_movie])
        self.V = np.column_stack([init.Theta, init.b_user])
        self.fixed_alpha = noise_precision is not None
        self.alpha = noise_precision if self.fixed_alpha else 2.0

    def _draw_side(self, obs, Z, other, m, Lam):
        g, k = obs.by_row(), self.k
        F = np.column_stack([other[:, :k], np.ones(other.shape[0])])
        _gibbs_rows(obs, F, g.values - self.mu - other[g.cols, k], self.alpha, m, Lam, self.rng, Z)

    def sweep(self):
        """One Gibbs sweep; returns this draw's ``(X, Theta, b, c)`` and its training RMSE."""
        mX, LX = _sample_normal_wishart(self.U, self.rng)
        mT, LT = _sample_normal_wishart(self.V, self.rng)
        self._draw_side(self.train, self.U, self.V, mX, LX)
        self._draw_side(self.train.transposed(), self.V, self.U, mT, LT)
        k = self.k
        X, T, b, c = self.U[:, :k].copy(), self.V[:, :k].copy(), self.U[:, k].copy(), self.V[:, k].copy()
        r = _biased_residuals(self.train, X, T, b, c, self.mu)
        err, n = float(r @ r), self.train.n_ratings
        if not self.fixed_alpha:
            self.alpha = float(self.rng.gamma(1.0 + n / 2, 1.0 / (1.0 + err / 2)))
        return (X, T, b, c), float(np.sqrt(err / n))


def fit_bayesian_mf(train, num_features=10, *, num_samples=200, burn_in=50, thin=1,
                    noise_precision=None, seed=0, callback=None, progress=False) -> FactorModel:
    r"""Bayesian biased matrix factorisation, fitted by Gibbs sampling (see the module docstring).

    The chain starts from 10 ALS sweeps of :func:`research.fit_mf_als`,
    discards ``burn_in`` sweeps, then keeps every ``thin``-th draw until it
    has ``num_samples``, and averages their predictions.

    Parameters
    ----------
    train : ObservedRatings
        The training ratings, of shape (n_movies, n_users).
    num_features : int, default=10
    num_samples : int, default=200
        Draws kept and averaged.
    burn_in : int, default=50
        Sweeps discarded first.
    thin : int, default=1
        Keep every ``thin``-th draw after the burn-in.
    noise_precision : float, optional
        Fix :math:`\alpha` (e.g. 2.0, the original paper's choice) instead of sampling it.
    seed : int, default=0
    callback : callable, optional
        ``callback(sweep, sample)`` after every kept draw, ``sample`` a
        :class:`helpers.FactorModel` of that single draw (average the predictions
        yourself to follow the running estimate); return ``True`` to stop.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    helpers.FactorModel
        ``X`` (n_movies, num_samples * k) and ``Theta`` (n_users, num_samples * k):
        the kept draws side by side; ``history``: training RMSE of each sweep's
        draw; ``info``: the hyper-parameters, ``noise_precision`` (the trace
        of :math:`\alpha`), ``samples``, ``seconds``.
    """
    train = training_set(train)
    k = as_int(num_features, "num_features", low=1)
    num_samples = as_int(num_samples, "num_samples", low=1)
    burn_in = as_int(burn_in, "burn_in", low=0)
    thin = as_int(thin, "thin", low=1)
    if noise_precision is not None:
        noise_precision = as_float(noise_precision, "noise_precision", low=0, low_open=True)
    seed = as_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    chain = _Chain(train, fit_mf_als(train, k, 10.0, lambda_bias=5.0, num_iters=10, seed=seed), noise_precision, rng)
    kept, history, alphas = [], [], []
    total = burn_in + thin * num_samples
    with progress_bar(as_bool(progress, "progress"), total, f"Gibbs k={k}", unit="sweep") as bar, \
            threadpool_limits(limits=1, user_api="blas"):  # why one thread: benchmarks/README.md
        for sweep in range(1, total + 1):
            draw, train_rmse = chain.sweep()
            history.append(train_rmse)
            alphas.append(chain.alpha)
            if bar is not None:
                bar.update(1)
            if sweep > burn_in and (sweep - burn_in) % thin == 0:
                kept.append(draw)
                if callback is not None and callback(sweep, FactorModel(chain.mu, draw[2], draw[3], *draw[:2])):
                    break
    if not kept:
        raise ValueError("no draw was kept: the callback stopped the sampler during the burn-in")
    info = {"model": "Bayesian MF (Gibbs)", "num_features": k, "samples": len(kept), "burn_in": burn_in,
            "thin": thin, "seed": seed, "noise_precision": alphas, "seconds": time.perf_counter() - start}
    return _average(chain.mu, kept, history, info)


def _average(mu, draws, history, info) -> FactorModel:
    """The factor model whose predictions are the mean of the draws' ``(X, Theta, b, c)`` predictions."""
    S = len(draws)
    X, T, b, c = (list(part) for part in zip(*draws))
    return FactorModel(mu, np.sum(b, axis=0) / S, np.sum(c, axis=0) / S, np.hstack(X) / S, np.hstack(T),
                       history=history, info=info)
