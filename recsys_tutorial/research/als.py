r"""Biased matrix factorisation by alternating least squares (ALS), and Spark's ALS-WR.

With the users' :math:`(\theta^{(j)}, c_j)` fixed, the cost :math:`J` of
:mod:`research.mf` is a separate ridge regression for each movie: augmenting
each user's features with a constant 1, :math:`[\theta^{(j)}, 1] \cdot
[x^{(i)}, b_i] = x^{(i)}\cdot\theta^{(j)} + b_i`, so the movie's features
*and* bias solve one :math:`(k+1)`-unknown system

.. math::

    \Bigl(\sum_{j \in \Omega_i} \tilde\theta^{(j)}\tilde\theta^{(j)T}
          + \mathrm{diag}(w_i\lambda, \dots, w_i\lambda, \lambda_b)\Bigr)
    \begin{bmatrix}x^{(i)} \\ b_i\end{bmatrix}
    = \sum_{j \in \Omega_i} \tilde\theta^{(j)} (y_{ij} - \mu - c_j),
    \qquad \tilde\theta^{(j)} = \begin{bmatrix}\theta^{(j)} \\ 1\end{bmatrix}

and then the same for every user with the movies fixed. Each half-step is
the exact minimiser over its block, so :math:`J` never increases.

**Spark's ALS.** ``fit_mf_als(..., biases=False, weighted_lambda=True)``
solves exactly the problem of Spark MLlib's explicit ALS
(``pyspark.ml.recommendation.ALS(rank=k, regParam=lambda_,
implicitPrefs=False, nonnegative=False)``): for each user it solves
:math:`(V_u^T V_u + \lambda\, n_u I)\,x_u = V_u^T r_u` with :math:`n_u` the
user's number of ratings, and likewise for items; no global mean, no biases.
Spark's cost is :math:`\sum (r - x\cdot y)^2 + \lambda(\sum_u n_u \lVert x_u
\rVert^2 + \sum_i n_i \lVert y_i \rVert^2)`, twice ours: same minimisers.
Spark's defaults are ``rank=10, regParam=0.1, maxIter=10``; it stores factors
in float32 and starts from other random factors, so the two runs reach
slightly different local minima of the same cost. (Spark's "user" is our
column index, its "item" our row index.)

The per-row solves (:func:`_ridge_rows`) are shared with the Gibbs sampler of
:mod:`research.bayesian`, which solves the same normal equations with a
random term added.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.linalg import blas, lapack
from threadpoolctl import threadpool_limits

from ..observed import ObservedRatings
from ..validation import as_bool, as_float, as_int

from ._common import progress_bar
from .mf import _shared_doc, _start

#: Up to this many unknowns per row, all rows are solved as one batch (see :func:`_ridge_rows`;
#: the timings behind the number are in benchmarks/README.md).
_BATCHED_MAX_UNKNOWNS = 20


def _batched(n_unknowns: int) -> bool:
    """Solve all rows as one batch (read at call time, so tests can force the loop)."""
    return n_unknowns <= _BATCHED_MAX_UNKNOWNS


def _normal_matrices(obs: ObservedRatings, F, target):
    r"""Every row's :math:`F_i^T F_i`, shape (n_rows, k1, k1), and :math:`F_i^T t_i`, shape (n_rows, k1).

    Each other-side row's outer product :math:`F_c F_c^T` is formed once, and
    one sparse product (the rated-indicator matrix times those outer
    products) sums them into all normal matrices at once. ``target`` is in
    ``obs.by_row()`` order.
    """
    T = obs.as_csr(target)  # the targets as a CSR matrix of obs.shape
    indicator = sparse.csr_matrix((np.ones(obs.n_ratings), T.indices, T.indptr), shape=obs.shape)
    n_rows, n_other = obs.shape
    k1 = F.shape[1]
    outer = np.einsum("ni,nj->nij", F, F).reshape(n_other, k1 * k1)
    return (indicator @ outer).reshape(n_rows, k1, k1), T @ F


def _rows_with_inputs(obs: ObservedRatings, F, target):
    """Yield ``(i, F_i, t_i)`` for every row *i* of ``obs`` that has ratings.

    ``F_i`` stacks the rows of ``F`` for the columns row *i* rated, ``t_i``
    their targets (``target`` in ``obs.by_row()`` order). ``F`` is gathered
    for a block of rows at a time (about 2 million floats), so memory stays
    bounded however many ratings there are; the block is C-ordered, so
    ``F_i.T`` is Fortran-ordered and BLAS takes it without a copy.
    """
    g = obs.by_row()
    indptr, other = g.indptr, g.cols
    n_rows = indptr.size - 1
    per_row = max(1, obs.n_ratings // max(1, n_rows))
    block_rows = max(1, 2_000_000 // (F.shape[1] * per_row))
    for r0 in range(0, n_rows, block_rows):
        r1 = min(r0 + block_rows, n_rows)
        s0 = indptr[r0]
        G = np.take(F, other[s0:indptr[r1]], axis=0)
        for i in range(r0, r1):
            a, e = indptr[i], indptr[i + 1]
            if a < e:
                yield i, G[a - s0:e - s0], target[a:e]


def _ridge_rows(obs: ObservedRatings, F, target, penalties, out):
    r"""One ALS half-step: the exact ridge solution for every row *i* of ``obs``.

    Row *i* holds the ratings ``r`` with targets :math:`t_r` (``target``, in
    ``obs.by_row()`` order) whose "inputs" are the rows :math:`F_{c(r)}` of
    the other side, shape (n_other, k1). With :math:`D_i = \mathrm{diag}(`
    ``penalties[i]`` :math:`)`, shape (n_rows, k1),

    .. math::

        z_i = \arg\min_z \tfrac12 \sum_{r \in \mathrm{row}\ i} (F_{c(r)} \cdot z - t_r)^2
              + \tfrac12 z^T D_i z
        \quad\Longleftrightarrow\quad (F_i^T F_i + D_i)\, z_i = F_i^T t_i,

    written into ``out[i]`` (shape (n_rows, k1)). Two implementations, the
    same result to rounding: up to :data:`_BATCHED_MAX_UNKNOWNS` unknowns with
    a positive penalty on each, all rows at once (:func:`_normal_matrices`,
    one batched ``np.linalg.solve``); otherwise a loop over rows, each by one
    BLAS ``dsyrk`` and one LAPACK ``dposv`` (Cholesky). Which is faster where:
    benchmarks/README.md. Callers pin BLAS to one thread (same place for why).

    Rows without ratings get ``z = 0`` (the penalty's minimiser). A row whose
    matrix is singular (no penalty and fewer ratings than unknowns) gets the
    minimum-norm least-squares solution.
    """
    g = obs.by_row()
    empty = g.indptr[1:] == g.indptr[:-1]
    k1 = F.shape[1]
    # Without a positive penalty on every unknown a normal matrix can be singular:
    # only the loop, with its least-squares fallback, handles that.
    if _batched(k1) and np.all(penalties[~empty] > 0):
        A, rhs = _normal_matrices(obs, F, target)
        A.reshape(A.shape[0], -1)[:, :: k1 + 1] += penalties
        A[empty] = np.eye(k1)
        rhs[empty] = 0.0
        out[:] = np.linalg.solve(A, rhs[..., None])[..., 0]
        return
    out[empty] = 0.0
    for i, Fi, ti in _rows_with_inputs(obs, F, target):
        rhs = ti @ Fi
        A = blas.dsyrk(1.0, Fi.T, beta=1.0, c=np.diag(penalties[i]), lower=0, overwrite_c=1)
        _, z, info = lapack.dposv(A, rhs, lower=0, overwrite_a=1, overwrite_b=1)
        if info != 0:
            A = Fi.T @ Fi + np.diag(penalties[i])
            z = np.linalg.lstsq(A, ti @ Fi, rcond=None)[0]
        out[i] = z


class _HalfSteps:
    """The two half-steps of one ALS sweep for one problem, with their penalties and buffers."""

    def __init__(self, problem):
        self.p = problem
        k, lam = problem.k, problem.lam
        # Penalty of each unknown: the features get w_i * lam (w_i = 1 unless weighted_lambda),
        # the bias unknown (last column) lam_b, never weighted.
        pen_w = np.r_[np.full(k, lam), 0.0] if problem.biases else np.full(k, lam)
        pen_f = np.r_[np.zeros(k), problem.lam_b] if problem.biases else np.zeros(k)
        self.pen_movies = problem.w_m[:, None] * pen_w + pen_f
        self.pen_users = problem.w_u[:, None] * pen_w + pen_f
        self.Z_m = np.empty((problem.train.shape[0], pen_w.size))
        self.Z_u = np.empty((problem.train.shape[1], pen_w.size))

    def _side(self, obs, other, other_bias, penalties, Z, bias):
        """Solve every row of ``obs`` given the other side's features and biases."""
        g, p = obs.by_row(), self.p
        if p.biases:  # inputs [other features, 1], targets y - mu - other bias
            F = np.column_stack([other, np.ones(other.shape[0])])
            t = g.values - p.mu - other_bias.take(g.cols)
        else:
            F, t = other, g.values
        _ridge_rows(obs, F, t, penalties, Z)
        return Z[:, :p.k].copy(), (Z[:, p.k].copy() if p.biases else bias)

    def sweep(self, Theta, b, c):
        """Movies given the users, then users given the new movies: ``(X, Theta, b, c)``."""
        train = self.p.train
        X, b = self._side(train, Theta, c, self.pen_movies, self.Z_m, b)
        Theta, c = self._side(train.transposed(), X, b, self.pen_users, self.Z_u, c)
        return X, Theta, b, c


@_shared_doc
def fit_mf_als(train, num_features=10, lambda_=10.0, *, biases=True, lambda_bias=None, weighted_lambda=False,
               num_iters=30, tol=1e-6, seed=0, init_scale=0.1, X0=None, Theta0=None, callback=None,
               progress=False):
    r"""Fit (biased) matrix factorisation by alternating least squares.

    Minimises :math:`J` of :mod:`research.mf` (:func:`mf_cost_and_gradients`)
    by exact ridge regressions, movies then users, as the module docstring
    derives; ``biases=False, weighted_lambda=True`` is Spark MLlib's ALS.

    %(shared)s

    Other Parameters
    ----------------
    num_iters : int, default=30
        At most this many sweeps (movies, then users).
    tol : float, default=1e-6
        Stop when a sweep lowers :math:`J` by less than ``tol`` times :math:`J`.
    X0 : array_like of shape (n_movies, k), optional
        Initial movie features; they only set the starting cost ``history[0]``,
        since the first half-step solves for the movies.
    Theta0 : array_like of shape (n_users, k), optional
        Initial user features instead of the seeded random ones.
    """
    problem, (X, Theta, b, c) = _start(train, num_features, lambda_, method="als", biases=biases,
                                       lambda_bias=lambda_bias, weighted_lambda=weighted_lambda, seed=seed,
                                       init_scale=init_scale, X0=X0, Theta0=Theta0)
    num_iters = as_int(num_iters, "num_iters", low=1)
    tol = as_float(tol, "tol", low=0)
    steps = _HalfSteps(problem)
    history = [problem.cost(X, Theta, b, c, gradients=False)]
    start, stopped = time.perf_counter(), False
    with progress_bar(as_bool(progress, "progress"), num_iters, f"als k={problem.k}") as bar, \
            threadpool_limits(limits=1, user_api="blas"):  # why one thread: benchmarks/README.md
        for it in range(1, num_iters + 1):
            X, Theta, b, c = steps.sweep(Theta, b, c)
            history.append(problem.cost(X, Theta, b, c, gradients=False))
            if bar is not None:
                bar.update(1)
            if callback is not None and callback(it, problem.model(X, Theta, b, c, history)):
                stopped = True
                break
            if history[-2] - history[-1] <= tol * abs(history[-2]):
                break
    return problem.model(X, Theta, b, c, history, iterations=len(history) - 1,
                         seconds=time.perf_counter() - start, stopped_by_callback=stopped)
