"""The tested core of the tutorial, in the order the notebooks teach it.

====  ======================  ==================================================
 nb   step                    functions
====  ======================  ==================================================
 01   the toy example         :func:`toy_table`
 02   load the data           :func:`load_ratings`, :func:`load_movie_titles`,
                              :func:`load_parameters`
 03   the cost                :func:`cofi_cost`
 04   its gradients           :func:`cofi_gradients`, :func:`numerical_gradient`,
                              :func:`check_gradients`
 05   mean normalisation      :func:`normalize_ratings`
05-08 a new user's ratings    :func:`ratings_vector`, :func:`add_user`, :data:`ARTICLE_RATINGS`
 06   training                :func:`init_parameters`, :func:`gradient_descent`,
                              :func:`train_lbfgs`
 07   recommending            :class:`FactorModel`, :func:`search_titles`, :func:`fold_in`,
                              :func:`recommend`, :func:`similar_movies`
====  ======================  ==================================================

Shapes follow the course: ``Y`` and ``R`` are ``(n_movies, n_users)``, ``X`` is
``(n_movies, n_features)`` and ``Theta`` is ``(n_users, n_features)``. A 0 in
``Y`` means "not rated"; ``R`` is the authoritative mask.

The machinery stands beside this file, in the package ``recsys_tutorial``:
``validation`` checks every argument (once, at each public function's entry),
``files`` and ``workbooks`` read files safely, ``cache`` keeps parsed
workbooks, ``observed`` holds the fast cost over the observed ratings that the
trainers use on large sparse problems. The package's other modules (widgets,
figures, research models) use this one; this one never uses them.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recsys_tutorial.cache import cached_by_content
from recsys_tutorial.observed import ObservedRatings
from recsys_tutorial.files import existing_file, mat_variables, text_lines
from recsys_tutorial.validation import (as_bool, as_factor_pair, as_factor_sizes, as_factors, as_finite_result,
                                        as_float, as_gradients, as_index, as_indices, as_int, as_loaded_ratings,
                                        as_mask, as_matrix, as_model_parts, as_ratings, as_titles, as_user_ratings,
                                        as_vector, cost_inputs, overflow_error)
from recsys_tutorial.workbooks import MAX_WORKBOOK_BYTES, WORKBOOK_SUFFIXES, cell_name, parameter_sheets, ratings_sheets

__all__ = ["toy_table", "ARTICLE_RATINGS", "load_ratings", "load_movie_titles", "load_parameters",
           "cofi_cost", "cofi_gradients", "numerical_gradient", "check_gradients", "normalize_ratings",
           "init_parameters", "gradient_descent", "train_lbfgs", "DivergenceError",
           "FactorModel", "search_titles", "ratings_vector", "add_user", "fold_in", "recommend", "similar_movies"]

RATING_MAX = 5.0   # ratings run from 1 to 5 stars; 0 in Y means "not rated"


# ---------------------------------------------------------------- 01: the toy example


def toy_table() -> pd.DataFrame:
    """The lecture's 5 movies x 4 users; NaN where a user has not rated a movie.

    A fresh copy on each call, so a notebook may change it freely.
    """
    movies = ["Love at last", "Romance forever", "Cute puppies of love",
              "Nonstop car chases", "Swords vs. karate"]
    users = ["Alice", "Bob", "Carol", "Dave"]
    nan = np.nan
    return pd.DataFrame([[5, 5, 0, 0],
                         [5, nan, nan, 0],
                         [nan, 4, 0, nan],
                         [0, 0, 5, 4],
                         [0, 0, 5, nan]], index=movies, columns=users, dtype=float)


# ---------------------------------------------------------------- 02: loading the data


@cached_by_content(WORKBOOK_SUFFIXES, MAX_WORKBOOK_BYTES)  # a parsed workbook is kept on disk: recsys_tutorial/cache.py
def load_ratings(path) -> tuple[np.ndarray, np.ndarray]:
    """Load the rating matrix ``Y`` and the rated mask ``R``.

    Parameters
    ----------
    path : str or path-like
        The article's workbook ``ex8_movies.xlsx`` (sheet ``y`` with the
        ratings, sheet ``R`` with TRUE/FALSE or 1/0 flags; no header row,
        movies as rows, users as columns) or the course's ``ex8_movies.mat``
        (variables ``Y`` and ``R``).

    Returns
    -------
    Y : ndarray of shape (n_movies, n_users), float64
        Ratings from 1 to 5; 0 where not rated (empty cells read as 0).
    R : ndarray of shape (n_movies, n_users), bool

    Raises
    ------
    FileNotFoundError, or ValueError naming the file, sheet and cell
        If the file is missing, unreadable or beyond the size limits of
        ``workbooks.py``, lacks the sheets/variables, ``Y`` and ``R`` differ in
        shape, a rated cell is empty or not 1-5, a rating lies outside 0-5, or
        ``R`` holds anything but 0/1 flags.
    """
    p = existing_file(path, "ratings")
    if p.suffix.lower() == ".mat":
        v = mat_variables(p, ["Y", "R"], "ratings")
        Y, R = as_matrix(v["Y"], f"'{p}' variable Y"), as_mask(v["R"], f"'{p}' variable R")
        return as_loaded_ratings(Y, R, f"'{p}'", high=RATING_MAX)
    Y, R = ratings_sheets(p)          # sheets 'y' (empty cells: NaN) and 'R'; refuses other suffixes
    return as_loaded_ratings(Y, R, f"workbook '{p}'", lambda i, j: f"sheet 'y' cell {cell_name(i, j)}",
                             high=RATING_MAX)


#: An "id title" line (movie_ids.txt) or an "id|title|..." line (u.item); ids of ASCII digits only.
_ID_TITLE = re.compile(r"\s*([0-9]{1,7})(?:\s*\|([^|]*)(?:\|.*)?|\s+(.*))", re.ASCII)   # no backtracking: linear


def load_movie_titles(path) -> list[str]:
    """Load movie titles in id order.

    Parameters
    ----------
    path : str or path-like
        The course's ``movie_ids.txt`` ("id title" per line) or MovieLens'
        ``u.item`` ("id|title|date|..." per line). Decoded as UTF-8 when the
        bytes are valid UTF-8, else as Latin-1, the encoding of both files
        ("Misérables, Les (1995)"); split on line breaks only.

    Returns
    -------
    list of str, length n_movies
        ``titles[i]`` is the title of movie id ``i + 1`` (row ``i`` of ``Y``).

    Raises
    ------
    FileNotFoundError, or ValueError naming the line
        If the file is missing, a line does not start with an id, or the ids
        are not 1, 2, 3, ...
    """
    lines, p, titles = text_lines(path, "movie titles")[0], Path(path), []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _ID_TITLE.fullmatch(line)
        if parsed is None:
            raise ValueError(f"movie titles file '{p}', line {lineno}: expected 'id title' or "
                             f"'id|title|...' with an id of digits 0-9; got {line[:60]!r}")
        if int(parsed[1]) != len(titles) + 1:
            raise ValueError(f"movie titles file '{p}', line {lineno}: expected movie id "
                             f"{len(titles) + 1}, got {parsed[1]}")
        titles.append((parsed[2] if parsed[2] is not None else parsed[3]).strip())
    if not titles:
        raise ValueError(f"movie titles file '{p}' holds no titles")
    return titles


def load_parameters(path) -> tuple[np.ndarray, np.ndarray]:
    """Load pre-trained movie features ``X`` and user preferences ``Theta``.

    Parameters
    ----------
    path : str or path-like
        The article's workbook ``movie_params.xlsx`` (sheets ``X`` and
        ``theta``, no header row) or the course's ``ex8_movieParams.mat``
        (variables ``X`` and ``Theta``).

    Returns
    -------
    X : ndarray of shape (n_movies, n_features)
    Theta : ndarray of shape (n_users, n_features)

    Raises
    ------
    FileNotFoundError, or ValueError naming the file and sheet
        If the file is missing, the sheets/variables are missing or hold
        non-numbers or empty cells, or ``X`` and ``Theta`` differ in width.
    """
    p = existing_file(path, "parameters")
    if p.suffix.lower() == ".mat":
        v = mat_variables(p, ["X", "Theta"], "parameters")
        return as_factor_pair(v["X"], v["Theta"], source=f"'{p}'")
    return as_factor_pair(*parameter_sheets(p), source=f"workbook '{p}'")   # sheets 'X' and 'theta'; refuses other suffixes


# ---------------------------------------------------------------- 03: the cost


def cofi_cost(X, Theta, Y, R, lambda_=0.0) -> float:
    r"""The regularised collaborative-filtering cost.

    .. math::

        J = \frac12 \sum_{(i,j): r(i,j)=1} \left(x^{(i)} \cdot \theta^{(j)} - y^{(i,j)}\right)^2
            + \frac{\lambda}{2}\left(\lVert X \rVert_F^2 + \lVert \Theta \rVert_F^2\right)

    Parameters
    ----------
    X : array_like of shape (n_movies, n_features)
        Movie features.
    Theta : array_like of shape (n_users, n_features)
        User preferences.
    Y : array_like of shape (n_movies, n_users)
        Ratings. Entries where ``R`` is 0 are ignored, whatever they hold.
    R : array_like of shape (n_movies, n_users)
        1/True where the user rated the movie.
    lambda_ : float, default=0.0
        Regularisation strength (non-negative).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes disagree, ``R`` is not 0/1, a rated entry of ``Y`` or a
        parameter is not finite, ``lambda_`` is negative, or the cost
        overflows (the message names the argument that is out of range).
    """
    X, Theta, Y, R = as_factors(X, Theta, Y, R)
    return _finite_cost("cofi_cost: the cost", X, Theta, Y, R, as_float(lambda_, "lambda_", low=0), False)[0]


def _cost_and_gradients(X, Theta, Y, R, lambda_, gradients=True):
    """The formulas of :func:`cofi_cost` and :func:`cofi_gradients`, the error computed once for both.

    Unchecked: the public functions check their arguments, then call this; the
    trainers check theirs once, before their loop, and call it at every step.
    Returns ``(J, X_grad, Theta_grad)``, the gradients None unless ``gradients``.
    """
    E = np.where(R, X @ Theta.T - Y, 0.0)        # the error where r(i,j) = 1, and 0 elsewhere
    J = 0.5 * float(np.sum(E ** 2)) + lambda_ / 2 * float(np.sum(X ** 2) + np.sum(Theta ** 2))
    if not gradients:
        return J, None, None
    return J, E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


def _finite_cost(what, X, Theta, Y, R, lambda_, gradients):
    """:func:`_cost_and_gradients`, and a ValueError naming the argument out of range if a result overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        result = _cost_and_gradients(X, Theta, Y, R, lambda_, gradients)
    return as_finite_result(result, what, lambda: cost_inputs(X, Theta, Y, R, lambda_))


# ---------------------------------------------------------------- 04: gradients and checking them


def cofi_gradients(X, Theta, Y, R, lambda_=0.0):
    r"""Gradients of :func:`cofi_cost` with respect to ``X`` and ``Theta``.

    With the masked error :math:`E = R \odot (X\Theta^T - Y)`:

    .. math::

        \frac{\partial J}{\partial X} = E\,\Theta + \lambda X, \qquad
        \frac{\partial J}{\partial \Theta} = E^T X + \lambda \Theta

    Parameters and errors are those of :func:`cofi_cost`.

    Returns
    -------
    X_grad : ndarray of shape (n_movies, n_features)
    Theta_grad : ndarray of shape (n_users, n_features)
    """
    X, Theta, Y, R = as_factors(X, Theta, Y, R)
    return _finite_cost("cofi_gradients: the gradients", X, Theta, Y, R, as_float(lambda_, "lambda_", low=0), True)[1:]


def numerical_gradient(f, params, eps=1e-4):
    """Central-difference gradient of a scalar function ``f(params) -> float``.

    Returns ``(f(p + eps e_k) - f(p - eps e_k)) / (2 eps)`` for each ``k``, an
    ndarray of the shape of ``params`` flattened.
    """
    params = as_vector(np.ravel(params), "params")
    eps = as_float(eps, "eps", low=0, low_open=True)
    grad = np.empty_like(params)
    step = np.zeros_like(params)
    with np.errstate(over="ignore", invalid="ignore"):   # a quotient that is not finite is refused below
        for k in range(params.size):
            step[k] = eps
            grad[k] = (f(params + step) - f(params - step)) / (2 * eps)
            step[k] = 0.0
    for k in np.flatnonzero(~np.isfinite(grad))[:1]:
        raise ValueError(f"numerical_gradient: the difference quotient at params[{k}] is {float(grad[k])}: f must "
                         f"return finite numbers near params, and eps={eps:g} must not be so small that it overflows")
    return grad


def check_gradients(lambda_=0.0, seed=0, gradient_fn=None, *, return_details=False):
    """Compare analytic and central-difference gradients on a small random problem.

    The problem is 4 movies x 5 users x 3 features, about half the ratings
    missing, with garbage in the unrated entries of ``Y`` (it must not matter).

    Parameters
    ----------
    lambda_ : float, default=0.0
    seed : int, default=0
    gradient_fn : callable, optional
        ``gradient_fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` to
        check instead of :func:`cofi_gradients` (a learner's own, or a wrong one).
    return_details : bool, default=False
        Also return a DataFrame with both gradients side by side.

    Returns
    -------
    float
        ``||num - ana|| / ||num + ana||``: about 1e-12 for a correct gradient.
        Or ``(float, DataFrame)`` with ``return_details``.
    """
    lambda_ = as_float(lambda_, "lambda_", low=0)
    rng = np.random.default_rng(as_int(seed, "seed", low=0))
    n_movies, n_users, k = 4, 5, 3
    Y = rng.random((n_movies, k)) @ rng.random((n_users, k)).T
    R = rng.random(Y.shape) > 0.5
    R[0, 0] = True  # at least one rating
    Y[~R] = rng.normal(0, 100, size=int((~R).sum()))  # garbage where unrated
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))

    def cost(p):
        return _cost_and_gradients(p[: n_movies * k].reshape(n_movies, k), p[n_movies * k:].reshape(n_users, k),
                                   Y, R, lambda_, gradients=False)[0]

    try:
        num = numerical_gradient(cost, np.concatenate([X.ravel(), Theta.ravel()]))
    except ValueError:   # the cost overflowed: lambda_ is the only input the caller chose
        raise overflow_error("check_gradients: the cost of its small problem", {"lambda_": lambda_}) from None
    grads = (gradient_fn or cofi_gradients)(X.copy(), Theta.copy(), Y.copy(), R.copy(), lambda_)
    Xg, Tg = as_gradients(grads, X, Theta)
    ana = np.concatenate([Xg.ravel(), Tg.ravel()])
    scale = max(np.max(np.abs(num)), np.max(np.abs(ana)), 1e-300)   # norms of gradients near 1e300 overflow
    a, b = num / scale, ana / scale
    denom = np.linalg.norm(a + b)
    diff = float(np.linalg.norm(a - b) / denom) if denom > 0 else float(np.linalg.norm(a - b) * scale)
    as_finite_result(diff, "check_gradients: the relative difference", lambda: {"lambda_": lambda_})
    if not return_details:
        return diff
    names = [f"X[{i},{j}]" for i in range(n_movies) for j in range(k)]
    names += [f"Theta[{i},{j}]" for i in range(n_users) for j in range(k)]
    return diff, pd.DataFrame({"numerical": num, "analytic": ana}, index=names)


# ---------------------------------------------------------------- 05: mean normalisation


def normalize_ratings(Y, R, shrinkage=0.0):
    r"""Subtract each movie's mean rating, computed over rated entries only.

    With ``shrinkage = k > 0`` each mean is pulled towards the global mean
    :math:`\bar\mu` by ``k`` pseudo-ratings (a "damped" mean, the posterior
    mean under a normal prior centred on :math:`\bar\mu`), so a movie rated
    once by a fan no longer looks like a 5-star classic:

    .. math::

        \hat\mu_i = \frac{\sum_{j: r(i,j)=1} y^{(i,j)} + k\,\bar\mu}{n_i + k}

    Parameters
    ----------
    Y, R : array_like of shape (n_movies, n_users)
        Ratings and rated mask; unrated entries are ignored whatever they hold.
    shrinkage : float, default=0.0
        The pseudo-count ``k`` (non-negative). 0 gives the plain mean.

    Returns
    -------
    Y_norm : ndarray of shape (n_movies, n_users)
        ``Y - means[:, None]`` where rated, exactly 0 where not.
    means : ndarray of shape (n_movies,)
        Each movie's (shrunk) mean. A movie nobody rated gets 0 with
        ``shrinkage=0`` and the global mean otherwise; never NaN, no warning.
    """
    Y, R = as_ratings(Y, R)
    return _normalize(Y, R, as_float(shrinkage, "shrinkage", low=0))


def _normalize(Y, R, shrinkage):
    counts = R.sum(axis=1)
    denom = counts + shrinkage
    with np.errstate(over="ignore", invalid="ignore"):   # ratings near 1e308: their sums overflow (refused below)
        sums = np.where(R, Y, 0.0).sum(axis=1)
        global_mean = float(sums.sum() / counts.sum()) if counts.sum() > 0 else 0.0
        means = np.divide(sums + shrinkage * global_mean, denom, out=np.zeros(len(counts)), where=denom > 0)
        Y_norm = np.where(R, Y - means[:, None], 0.0)
    return as_finite_result((Y_norm, means), "normalize_ratings: the means or normalised ratings",
                            lambda: {"Y (a rated entry)": np.where(R, Y, 0.0), "shrinkage": shrinkage})


# ---------------------------------------------------------------- 05-08: a new user's ratings


#: The 22 ratings of the article's new user, ``{row of Y: stars}`` (rows are
#: 0-based: row 0 is movie_id 1, Toy Story). Notebooks 06-08 and the tests use it.
ARTICLE_RATINGS = MappingProxyType({
    5: 5, 50: 1, 9: 5, 27: 4, 58: 3, 88: 2, 123: 4, 165: 1, 187: 3, 196: 2, 228: 4,
    258: 5, 343: 4, 478: 1, 511: 4, 690: 5, 722: 1, 789: 3, 832: 2, 1029: 4, 1190: 2, 1245: 5,
})


def ratings_vector(my_ratings, n_movies, titles=None):
    """A user's ratings as a length-``n_movies`` vector (0 = not rated).

    ``my_ratings``: a vector (0 or 1-5 per movie) or a dict ``{key: stars}`` keyed
    by 0-based row of ``Y`` (row 0 is movie_id 1) or, given ``titles``, by exact title.
    """
    return as_user_ratings(my_ratings, n_movies, titles, high=RATING_MAX)


def add_user(my_ratings, Y, R):
    """``Y`` and ``R`` with a new user (from :func:`ratings_vector`) as column 0."""
    Y, R = as_ratings(Y, R)
    vec = ratings_vector(my_ratings, Y.shape[0])
    return np.column_stack([vec, Y]), np.column_stack([vec != 0, R])


# ---------------------------------------------------------------- 06: training


class DivergenceError(ValueError):
    """Gradient descent blew up: the learning rate is too large.

    ``iteration`` is where the cost became non-finite or too large, and
    ``J_history`` the costs up to and including that one.
    """

    def __init__(self, message, iteration, J_history):
        super().__init__(message)
        self.iteration, self.J_history = iteration, J_history


def init_parameters(n_movies, n_users, num_features, seed=0, scale=0.1):
    """Seeded random starting ``X`` and ``Theta`` (normal, standard deviation ``scale``).

    Returns
    -------
    X : ndarray of shape (n_movies, num_features)
    Theta : ndarray of shape (n_users, num_features)
    """
    n_movies, n_users, num_features = as_factor_sizes(n_movies, n_users, num_features)
    scale = as_float(scale, "scale", low=0, low_open=True)
    rng = np.random.default_rng(as_int(seed, "seed", low=0))
    start = rng.normal(0.0, scale, size=(n_movies, num_features)), rng.normal(0.0, scale, size=(n_users, num_features))
    return as_finite_result(start, "init_parameters: the starting values", lambda: {"scale": scale})


def _cost_and_gradients_fn(Y, R, lambda_, sparse):
    """``f(X, Theta) -> (J, X_grad, Theta_grad)`` for the trainers.

    ``sparse=False`` runs the formulas of :func:`cofi_cost` and :func:`cofi_gradients`
    as written; ``sparse=True`` computes the same numbers over the observed
    ratings only (:class:`_observed.ObservedRatings`); ``None`` picks the
    sparse path when the matrix is large (100,000+ cells) and under 30 % full,
    as MovieLens is (6.3 %).
    """
    if sparse is None:
        sparse = R.size >= 100_000 and R.mean() < 0.3
    if as_bool(sparse, "sparse"):
        observed = ObservedRatings.from_dense(Y, R)
        return lambda X, Theta: observed.cost_and_gradients(X, Theta, lambda_)
    return lambda X, Theta: _cost_and_gradients(X, Theta, Y, R, lambda_)


def _diverged(J_history, alpha, lambda_):
    J0, J, t = J_history[0], J_history[-1], len(J_history) - 1
    if np.isfinite(J) and J <= 100 * max(J0, 1e-12):
        return None
    why = (f"The learning rate alpha={alpha:g} is too large for lambda_={lambda_:g}: alpha * lambda_ = "
           f"{alpha * lambda_:.3g} >= 2, so the penalty alone overshoots at each step; lower lambda_, or keep "
           f"alpha below 2 / lambda_ = {2 / lambda_:.3g}" if alpha * lambda_ >= 2 else
           f"The learning rate alpha={alpha:g} is too large for this problem (lambda_={lambda_:g}); "
           f"try alpha={alpha / 10:g} or smaller")
    return DivergenceError(f"gradient descent diverged at iteration {t}: the cost went from {J0:.4g} to {J:.4g}. "
                           f"{why}.", t, np.asarray(J_history))


def gradient_descent(X, Theta, Y, R, lambda_, alpha, num_iters, *, gradient_fn=None, sparse=None,
                     progress=False, callback=None, history=None):
    """Batch gradient descent with simultaneous updates of ``X`` and ``Theta``.

    Each iteration computes both gradients at the current ``(X, Theta)`` and
    only then updates both: ``X -= alpha * X_grad``, ``Theta -= alpha * Theta_grad``.

    Parameters
    ----------
    X, Theta, Y, R, lambda_
        As in :func:`cofi_cost`; ``X`` and ``Theta`` are the start (not modified).
    alpha : float
        Learning rate (positive).
    num_iters : int
        Number of updates (non-negative).
    gradient_fn : callable, optional
        ``gradient_fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` to step
        with instead of the correct gradients (as in :func:`check_gradients`);
        the cost recorded is always the true :func:`cofi_cost`.
    sparse : bool or None, default=None
        Which cost code runs: see :func:`train_lbfgs`. Both give the same numbers.
    progress : bool, default=False
        Show a tqdm progress bar.
    callback : callable, optional
        ``callback(t, J, X, Theta)``, called at each iteration ``t`` once its
        cost ``J`` is known, before the update (read ``X`` and ``Theta``; do
        not change them). Return True to stop there: the result then ends at
        iteration ``t``.
    history : array_like, optional
        The ``J_history`` of an earlier run that ended at ``(X, Theta)``: this
        run continues it. Its iterations count on from there, the returned
        ``J_history`` starts with it, and the divergence rule keeps its first cost.

    Returns
    -------
    X, Theta : ndarray
    J_history : ndarray of shape (num_iters + 1,)
        The cost before the first update and after each one (plus ``history``'s
        earlier costs; fewer when ``callback`` stopped the run).

    Raises
    ------
    DivergenceError
        (a ``ValueError``) if the cost becomes non-finite or exceeds 100 times
        its starting value: ``alpha`` is too large.
    ValueError
        If the cost at the start already overflows: names the argument out of range.
    """
    X, Theta, Y, R = as_factors(X, Theta, Y, R)
    lambda_ = as_float(lambda_, "lambda_", low=0)
    alpha = as_float(alpha, "alpha (the learning rate)", low=0, low_open=True)
    num_iters = as_int(num_iters, "num_iters", low=0)
    J_history = [] if history is None else as_vector(np.ravel(history), "history").tolist()
    cost_and_gradients = _cost_and_gradients_fn(Y, R, lambda_, sparse)
    steps = range(num_iters + 1)
    if as_bool(progress, "progress"):
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="gradient descent", unit="it")
    X, Theta = X.copy(), Theta.copy()
    resumed = bool(J_history)
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(limits=1, user_api="blas"):
        for step in steps:
            J, X_grad, Theta_grad = cost_and_gradients(X, Theta)
            if step == 0 and not np.isfinite(J):    # the start overflows: its inputs are out of range, not alpha
                raise overflow_error("gradient_descent: the cost at the start", cost_inputs(X, Theta, Y, R, lambda_))
            if step or not resumed:           # a resumed run's first cost is the last of its history
                J_history.append(J)
                error = _diverged(J_history, alpha, lambda_)
                if error:
                    raise error
                if callback is not None and callback(len(J_history) - 1, J, X, Theta):
                    break
            if step == num_iters:
                break
            if gradient_fn is not None:
                X_grad, Theta_grad = as_gradients(gradient_fn(X, Theta, Y, R, lambda_), X, Theta,
                                                  f"gradient_fn (iteration {len(J_history) - 1})")
            X -= alpha * X_grad
            Theta -= alpha * Theta_grad
    return X, Theta, np.asarray(J_history)


def train_lbfgs(Y, R, num_features=10, lambda_=10.0, num_iters=200, seed=0, *,
                X0=None, Theta0=None, tol=1e-9, sparse=None):
    """Fit ``X`` and ``Theta`` by minimising :func:`cofi_cost` with L-BFGS-B (SciPy).

    Parameters
    ----------
    Y, R : array_like of shape (n_movies, n_users)
        Ratings (usually mean-normalised) and rated mask.
    num_features, lambda_ : int and float
    num_iters : int, default=200
        At most this many L-BFGS iterations (it stops earlier once converged).
    seed : int, default=0
        Seed of the starting point (:func:`init_parameters`).
    X0, Theta0 : array_like, optional
        A starting point instead of the seeded random one (give both).
    tol : float, default=1e-9
        L-BFGS-B's ``ftol``: stop when the cost falls by less than this, relatively.
    sparse : bool or None, default=None
        ``False`` runs :func:`cofi_cost` and :func:`cofi_gradients` as written;
        ``True`` the same sums over the observed ratings only (much faster on
        a mostly empty matrix); ``None`` chooses ``True`` for matrices of
        100,000+ cells that are under 30 % full.

    Returns
    -------
    X : ndarray of shape (n_movies, num_features)
    Theta : ndarray of shape (n_users, num_features)
    J_history : ndarray
        The cost at the start and after each L-BFGS iteration.
    """
    Y, R = as_ratings(Y, R)
    if (X0 is None) != (Theta0 is None):
        raise ValueError("give both X0 and Theta0, or neither")
    if X0 is None:
        X0, Theta0 = init_parameters(*Y.shape, num_features, seed=seed)
    X0, Theta0, Y, R = as_factors(X0, Theta0, Y, R)
    return _lbfgs(X0, Theta0, Y, R, as_float(lambda_, "lambda_", low=0), as_int(num_iters, "num_iters", low=0),
                  as_float(tol, "tol", low=0, low_open=True), sparse)


def _lbfgs(X0, Theta0, Y, R, lambda_, num_iters, tol, sparse):
    from scipy.optimize import minimize

    (n_movies, k), n_users = X0.shape, Theta0.shape[0]
    cost_and_gradients = _cost_and_gradients_fn(np.where(R, Y, 0.0), R, lambda_, sparse)

    def fun(p):
        J, Xg, Tg = cost_and_gradients(p[: n_movies * k].reshape(n_movies, k), p[n_movies * k:].reshape(n_users, k))
        return J, np.concatenate([Xg.ravel(), Tg.ravel()])

    p0 = np.concatenate([X0.ravel(), Theta0.ravel()])
    inputs = lambda: cost_inputs(X0, Theta0, Y, R, lambda_)  # noqa: E731 (named only when something overflows)
    with np.errstate(over="ignore", invalid="ignore"):
        history = [as_finite_result(fun(p0), "L-BFGS training: the cost or gradients at the start", inputs)[0]]
    with threadpool_limits(limits=1, user_api="blas"):  # why one thread: benchmarks/README.md
        res = minimize(fun, p0, jac=True, method="L-BFGS-B",
                       callback=lambda intermediate_result: history.append(float(intermediate_result.fun)),
                       options={"maxiter": num_iters, "ftol": tol, "gtol": 1e-10})
    as_finite_result((res.x, np.asarray(history)), "L-BFGS training: the result", inputs)
    return (res.x[: n_movies * k].reshape(n_movies, k).copy(), res.x[n_movies * k:].reshape(n_users, k).copy(),
            np.asarray(history))


# ---------------------------------------------------------------- 07: recommending


class FactorModel:
    r"""A trained rating model :math:`\hat y_{ij} = \mu + b_i + c_j + x^{(i)} \cdot \theta^{(j)}`.

    The course's: ``mu = 0``, ``b_movie`` the shrunk means, ``b_user = 0``, ``X`` and ``Theta``
    (``(n_movies, k)``, ``(n_users, k)``, or neither). Predictions are clipped to ``rating_range``
    unless ``clip=False`` (``None``: never). ``history``: cost per iteration.
    """

    def __init__(self, mu, b_movie, b_user, X=None, Theta=None, *, rating_range=(1.0, 5.0),
                 history=None, info=None):
        # checked, and kept as read-only copies: a caller's later changes cannot make a prediction NaN or inf
        self.__dict__.update(as_model_parts(mu, b_movie, b_user, X, Theta, rating_range, history, info))

    def __setattr__(self, name, value):
        raise AttributeError(f"a FactorModel is read-only ({name} cannot be set): build a new one, "
                             "helpers.FactorModel(mu, b_movie, b_user, X, Theta)")

    @property
    def shape(self) -> tuple[int, int]:  # (n_movies, n_users)
        return (self.b_movie.size, self.b_user.size)

    @property
    def num_features(self) -> int:
        return self.X.shape[1]

    def predict(self, rows, cols, *, clip=True) -> np.ndarray:
        """Predicted ratings of movies ``rows`` by users ``cols`` (0-based, equal length)."""
        rows, cols = as_indices(rows, "rows"), as_indices(cols, "cols")
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same length; got {rows.size} and {cols.size}")
        if rows.size and (min(rows.min(), cols.min()) < 0 or np.any(np.max([rows, cols], axis=1) >= self.shape)):
            raise ValueError(f"rows/cols must index into the model's shape {self.shape}")
        pred = self.mu + self.b_movie[rows] + self.b_user[cols]
        if self.num_features:
            pred += np.einsum("ij,ij->i", self.X[rows], self.Theta[cols])
        return np.clip(pred, *self.rating_range, out=pred) if clip and self.rating_range else pred

    def predict_all(self, *, clip=True) -> np.ndarray:
        """The full ``(n_movies, n_users)`` matrix of predictions."""
        pred = self.X @ self.Theta.T
        pred += self.mu + self.b_movie[:, None] + self.b_user[None, :]
        return np.clip(pred, *self.rating_range, out=pred) if clip and self.rating_range else pred


def search_titles(query, titles, Y, R, n=10):
    """Movies whose title contains every word of ``query`` (any case; blank: all), most rated first.

    At most ``n`` rows: ``row`` (0-based row of ``Y``: your ratings' key), ``movie_id`` (MovieLens' id, row + 1),
    ``title``, ``num_ratings``, ``mean_rating``.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a string (part of a title); got {query!r} ({type(query).__name__})")
    Y, R = as_ratings(Y, R)
    titles = as_titles(titles, Y.shape[0])
    words = query.casefold().split()
    hits = np.array([i for i, t in enumerate(titles) if all(w in t.casefold() for w in words)], dtype=int)
    counts = R[hits].sum(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):   # NaN: no ratings; inf: ratings near 1e308 (refused)
        means = np.where(counts > 0, np.where(R[hits], Y[hits], 0.0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    as_finite_result(means[counts > 0], "search_titles: the mean ratings",
                     lambda: {"Y (a rated entry)": np.where(R, Y, 0.0)})
    order = np.lexsort((hits, -counts))[: as_int(n, "n", low=1)]
    return pd.DataFrame({"row": hits[order], "movie_id": hits[order] + 1, "title": [titles[i] for i in hits[order]],
                         "num_ratings": counts[order].astype(int), "mean_rating": means[order]})


def fold_in(model, my_ratings, lambda_=10.0, *, titles=None, offset=None):
    r"""Fit a new user to a trained ``model``'s fixed movie side: one ridge regression, no retraining.

    Minimises :math:`\frac12\sum_{i\,\text{rated}}(\mu + b_i + c + x^{(i)}\cdot\theta - y_i)^2
    + \frac\lambda2(\lVert\theta\rVert^2 + c^2)`, i.e. :math:`\theta = (X_r^TX_r + \lambda I)^{-1}
    X_r^T (y - \mu - b)_r` without offset. ``offset`` (default: if the model has user offsets)
    fits :math:`c` jointly, penalised like :math:`\theta` so one rating is not all offset and
    no ratings give 0. Returns a :class:`FactorModel` of one user (you), ``model``'s movie side.
    """
    if not isinstance(model, FactorModel):
        raise TypeError(f"model must be a helpers.FactorModel; got {type(model).__name__}")
    lambda_ = as_float(lambda_, "lambda_", low=0)
    vec = ratings_vector(my_ratings, model.shape[0], titles)
    offset = bool(np.any(model.b_user)) if offset is None else as_bool(offset, "offset")
    rows = np.flatnonzero(vec)
    A = np.column_stack([model.X[rows]] + ([np.ones(rows.size)] if offset else []))
    target = np.concatenate([vec[rows] - model.mu - model.b_movie[rows], np.zeros(A.shape[1])])
    w = np.linalg.lstsq(np.vstack([A, np.sqrt(lambda_) * np.eye(A.shape[1])]), target, rcond=None)[0]
    return FactorModel(model.mu, model.b_movie, [w[-1] if offset else 0.0], model.X,
                       w[None, : model.num_features], rating_range=model.rating_range,
                       info={"model": "fold-in", "lambda_": lambda_, "offset": offset})


def recommend(my_ratings, Y, R, titles, n=10, *, model=None, num_features=10, lambda_=10.0, num_iters=100,
              seed=0, shrinkage=10.0, min_ratings=1, return_model=False):
    """The ``n`` movies you would rate highest, best first, without those you rated.

    Without ``model``: trains on everyone's ratings plus yours. The ratings are
    normalised with shrunk means (:func:`normalize_ratings` with ``shrinkage``),
    factorised with :func:`train_lbfgs`, and your prediction for movie *i* is
    ``x_i . theta_you + mean_i``. Why shrink: with plain means a movie rated once
    with 5 stars is predicted near 5.0 for everyone, so obscure one-rating movies
    top every list (``shrinkage=0, min_ratings=0`` shows that).

    With a trained ``model`` of ``Y``'s movies: :func:`fold_in` fits only you
    (one small ridge regression, milliseconds), no retraining.

    Parameters
    ----------
    my_ratings : dict or array_like
        See :func:`ratings_vector` (keys: 0-based rows or exact titles); ``{}`` is a new user.
    Y, R : array_like of shape (n_movies, n_users)
        Everyone else's ratings.
    titles : sequence of str, length n_movies
    n : int, default=10
    model : FactorModel, optional
        Fold you into this model instead of retraining.
    num_features, lambda_, num_iters, seed
        Passed to :func:`train_lbfgs` (``lambda_`` also to :func:`fold_in`).
    shrinkage : float, default=10.0
    min_ratings : int, default=1
        Only recommend movies with at least this many ratings by others.
    return_model : bool, default=False
        Also return the model in which you are user 0.

    Returns
    -------
    DataFrame, or (DataFrame, FactorModel)
        ``row`` (0-based row of ``Y``), ``movie_id`` (MovieLens' id, row + 1), ``title``,
        ``predicted_rating``, ``num_ratings`` (by others).
    """
    Y, R = as_ratings(Y, R)
    titles = as_titles(titles, Y.shape[0])
    n, min_ratings = as_int(n, "n", low=1), as_int(min_ratings, "min_ratings", low=0)
    vec = ratings_vector(my_ratings, Y.shape[0], titles)
    if model is not None:
        if not isinstance(model, FactorModel) or model.shape[0] != Y.shape[0]:
            raise ValueError(f"model must be a helpers.FactorModel of Y's {Y.shape[0]} movies (n_movies, n_users); "
                             f"got {getattr(model, 'shape', type(model).__name__)}")
        model = fold_in(model, vec, lambda_)
    else:
        Y_all, R_all = np.column_stack([vec, Y]), np.column_stack([vec != 0, R])   # you are user 0
        Y_norm, means = _normalize(Y_all, R_all, as_float(shrinkage, "shrinkage", low=0))
        X0, Theta0 = init_parameters(*Y_all.shape, num_features, seed=seed)
        X, Theta, J_history = _lbfgs(X0, Theta0, Y_norm, R_all, as_float(lambda_, "lambda_", low=0),
                                     as_int(num_iters, "num_iters", low=0), 1e-9, None)
        model = FactorModel(0.0, means, np.zeros(Y_all.shape[1]), X, Theta, rating_range=None, history=J_history,
                            info={"model": "course model (recommend)", "shrinkage": shrinkage})
    num_ratings = R.sum(axis=1).astype(int)
    rows = np.arange(len(titles))
    table = pd.DataFrame({"row": rows, "movie_id": rows + 1, "title": titles,
                          "predicted_rating": model.predict_all()[:, 0], "num_ratings": num_ratings})
    table = table[(vec == 0) & (num_ratings >= min_ratings)].sort_values(  # best first; ties: lower row first
        ["predicted_rating", "row"], ascending=[False, True], kind="stable").head(n).reset_index(drop=True)
    return (table, model) if as_bool(return_model, "return_model") else table


def similar_movies(X, row, titles, n=10):
    """The ``n`` movies nearest to ``row`` of ``X`` (Euclidean): ``row``, ``movie_id`` (row + 1), ``title``, ``distance``."""
    X = as_matrix(X, "X", finite=True)
    titles = as_titles(titles, X.shape[0])
    row = as_index(row, "row (a 0-based row of X)", X.shape[0])
    n = as_int(n, "n", low=1)
    with np.errstate(over="ignore", invalid="ignore"):
        dist = as_finite_result(np.linalg.norm(X - X[row], axis=1), "similar_movies: the distances", lambda: {"X": X})
    rows = np.arange(X.shape[0])
    table = pd.DataFrame({"row": rows, "movie_id": rows + 1, "title": titles, "distance": dist})
    table = table.drop(index=row).sort_values(["distance", "row"], kind="stable")
    return table.head(n).reset_index(drop=True)
