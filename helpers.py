"""The tested core of the collaborative-filtering tutorial.

Everything the notebooks compute goes through the functions here:

* loading the course data (workbooks, ``.mat`` files, title lists),
* the regularised collaborative-filtering cost and its gradients,
* a numerical gradient check,
* mean normalisation over rated entries only,
* training (batch gradient descent and L-BFGS-B),
* recommending movies for a new user.

Shapes follow the course notation: ``Y`` and ``R`` are ``(n_movies, n_users)``,
``X`` is ``(n_movies, n_features)`` and ``Theta`` is ``(n_users, n_features)``.
A rating of 0 in ``Y`` means "not rated"; ``R`` is the authoritative mask.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "load_ratings",
    "load_parameters",
    "load_movie_titles",
    "cofi_cost",
    "cofi_gradients",
    "cofi_cost_and_gradients",
    "ObservedRatings",
    "numerical_gradient",
    "check_gradients",
    "normalize_ratings",
    "shrunk_means",
    "init_parameters",
    "gradient_descent",
    "train_lbfgs",
    "add_user",
    "ratings_vector",
    "recommend",
    "similar_movies",
    "DivergenceError",
]

RATING_MIN = 0.0
RATING_MAX = 5.0


class DivergenceError(ValueError):
    """Raised when gradient descent blows up (a learning rate that is too large)."""


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _existing_file(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} file not found: '{p}'")
    if not p.is_file():
        raise FileNotFoundError(f"{what} path '{p}' is not a file")
    return p


def _as_2d_float(a, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; got {type(a).__name__} ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array; got shape {arr.shape}")
    return arr


def _as_mask(R, name: str = "R") -> np.ndarray:
    arr = np.asarray(R)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold 0/1 or True/False flags; got dtype {arr.dtype}") from None
    if not np.all((num == 0) | (num == 1)):
        bad = np.unique(num[~((num == 0) | (num == 1))])[:5]
        raise ValueError(f"{name} must hold only 0/1 or True/False flags; found {bad.tolist()}")
    return num.astype(bool)


def _check_params(X, Theta, Y, R, lambda_):
    """Validate and convert the arguments shared by the cost functions."""
    X = _as_2d_float(X, "X")
    Theta = _as_2d_float(Theta, "Theta")
    Y = _as_2d_float(Y, "Y")
    R = _as_mask(R)
    if Y.shape != R.shape:
        raise ValueError(f"Y and R must have the same shape; got Y {Y.shape} and R {R.shape}")
    n_movies, n_users = Y.shape
    if X.shape[0] != n_movies:
        raise ValueError(
            f"X must have one row per movie (Y has {n_movies} rows); got X of shape {X.shape}"
        )
    if Theta.shape[0] != n_users:
        raise ValueError(
            f"Theta must have one row per user (Y has {n_users} columns); got Theta of shape {Theta.shape}"
        )
    if X.shape[1] != Theta.shape[1]:
        raise ValueError(
            f"X and Theta must have the same number of features (columns); got {X.shape[1]} and {Theta.shape[1]}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Theta))):
        raise ValueError("X and Theta must be finite (no NaN or inf)")
    if not np.all(np.isfinite(Y[R])):
        raise ValueError("Y has NaN or inf in rated entries (where R is 1)")
    lambda_ = _nonneg_float(lambda_, "lambda_")
    return X, Theta, Y, R, lambda_


def _nonneg_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number; got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a non-negative finite number; got {value!r}")
    return v


def _validate_ratings(Y: np.ndarray, R: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Check a loaded (Y, R) pair and return Y with unrated NaN set to 0."""
    if Y.ndim != 2 or R.ndim != 2:
        raise ValueError(f"{source}: Y and R must be 2-D; got Y {Y.shape} and R {R.shape}")
    if Y.shape != R.shape:
        raise ValueError(
            f"{source}: Y and R must have the same shape (movies x users); got Y {Y.shape} and R {R.shape}"
        )
    Y = Y.astype(float, copy=True)
    nan = np.isnan(Y)
    if np.any(nan & R):
        i, j = np.argwhere(nan & R)[0]
        raise ValueError(f"{source}: Y has NaN at movie row {i}, user column {j}, where R says it is rated")
    Y[nan] = 0.0  # an empty cell is just "not rated"
    bad = ~np.isfinite(Y) | (Y < RATING_MIN) | (Y > RATING_MAX)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: ratings must lie between {RATING_MIN:g} and {RATING_MAX:g}; "
            f"found {Y[i, j]!r} at movie row {i}, user column {j}"
        )
    return Y, R


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

_XLSX_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}


def _read_sheets(path: Path, wanted: list[str]) -> dict[str, pd.DataFrame]:
    """Read the named sheets (matched case-sensitively first, then case-insensitively)."""
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise ValueError(f"cannot read workbook '{path}': {exc}") from None
    with book:
        names = book.sheet_names
        chosen = {}
        for want in wanted:
            if want in names:
                chosen[want] = want
                continue
            matches = [n for n in names if n.lower() == want.lower()]
            if len(matches) != 1:
                raise ValueError(
                    f"workbook '{path}' has no sheet named '{want}'; it has sheets {names} "
                    f"(expected sheets {wanted})"
                )
            chosen[want] = matches[0]
        try:
            frames = pd.read_excel(book, sheet_name=list(chosen.values()), header=None)
            return {want: frames[sheet] for want, sheet in chosen.items()}
        except Exception as exc:
            raise ValueError(f"cannot read sheets {wanted} of workbook '{path}': {exc}") from None


def _frame_to_flags(df: pd.DataFrame, source: str) -> np.ndarray:
    """Turn a sheet of TRUE/FALSE or 1/0 cells into a bool array."""
    values = df.to_numpy()
    if values.dtype == bool:
        return values
    out = np.empty(values.shape, dtype=bool)
    flat_in, flat_out = values.ravel(), out.ravel()
    truthy = {True: True, False: False, 1: True, 0: False, "TRUE": True, "FALSE": False,
              "True": True, "False": False, "1": True, "0": False}
    for k, v in enumerate(flat_in):
        try:
            flat_out[k] = truthy[v]
        except (KeyError, TypeError):
            i, j = divmod(k, values.shape[1])
            raise ValueError(
                f"{source}: rated flags must be TRUE/FALSE or 1/0; found {v!r} at row {i}, column {j}"
            ) from None
    return out


def _frame_to_float(df: pd.DataFrame, source: str) -> np.ndarray:
    try:
        return df.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = df.map(lambda v: not isinstance(v, (int, float, np.number)) or isinstance(v, bool))
        i, j = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"{source}: expected numbers only; found {df.iat[i, j]!r} at row {i}, column {j}"
        ) from None


def _load_mat(path: Path, names: list[str], what: str) -> dict[str, np.ndarray]:
    from scipy import io as sio

    try:
        mat = sio.loadmat(path)
    except Exception as exc:
        raise ValueError(f"cannot read {what} .mat file '{path}': {exc}") from None
    missing = [n for n in names if n not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"'{path}' has no variable(s) {missing}; it holds {found} (expected {names})")
    return {n: np.asarray(mat[n]) for n in names}


def load_ratings(path) -> tuple[np.ndarray, np.ndarray]:
    """Load the rating matrix ``Y`` and the rated mask ``R``.

    Parameters
    ----------
    path : str or path-like
        Either the article's workbook ``ex8_movies.xlsx`` (sheet ``y`` with the
        ratings, sheet ``R`` with TRUE/FALSE or 1/0 flags; no header row,
        movies as rows, users as columns) or the course file
        ``ex8_movies.mat`` (variables ``Y`` and ``R``).

    Returns
    -------
    Y : ndarray of shape (n_movies, n_users), float64
        Ratings from 1 to 5; 0 where the movie is not rated (empty cells in a
        workbook are read as 0).
    R : ndarray of shape (n_movies, n_users), bool
        ``True`` where the user rated the movie.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read, lacks the sheets/variables, if ``Y`` and
        ``R`` differ in shape, if a rated entry is NaN, if a rating lies
        outside 0-5, or if ``R`` holds anything but 0/1 flags.

    Examples
    --------
    >>> Y, R = load_ratings("data/ex8_movies.xlsx")  # doctest: +SKIP
    >>> Y.shape, R.dtype  # doctest: +SKIP
    ((1682, 943), dtype('bool'))
    """
    p = _existing_file(path, "ratings")
    if p.suffix.lower() == ".mat":
        v = _load_mat(p, ["Y", "R"], "ratings")
        Y = _as_2d_float(v["Y"], f"'{p}' variable Y")
        R = _as_mask(v["R"], f"'{p}' variable R")
        return _validate_ratings(Y, R, f"'{p}'")
    if p.suffix.lower() in _XLSX_SUFFIXES:
        sheets = _read_sheets(p, ["y", "R"])
        Y = _frame_to_float(sheets["y"], f"workbook '{p}' sheet 'y'")
        R = _frame_to_flags(sheets["R"], f"workbook '{p}' sheet 'R'")
        if Y.shape[0] <= R.shape[0] and Y.shape[1] <= R.shape[1] and Y.shape != R.shape:
            # Spreadsheet readers drop trailing empty rows/columns: empty cells mean "not rated".
            padded = np.full(R.shape, np.nan)
            padded[: Y.shape[0], : Y.shape[1]] = Y
            Y = padded
        return _validate_ratings(Y, R, f"workbook '{p}'")
    raise ValueError(f"ratings file '{p}' must be an .xlsx workbook or a .mat file; got suffix '{p.suffix}'")


def load_parameters(path) -> tuple[np.ndarray, np.ndarray]:
    """Load pre-trained movie features ``X`` and user preferences ``Theta``.

    Parameters
    ----------
    path : str or path-like
        The article's workbook ``movie_params.xlsx`` (sheets ``X`` and
        ``theta``, no header row) or the course file ``ex8_movieParams.mat``
        (variables ``X`` and ``Theta``).

    Returns
    -------
    X : ndarray of shape (n_movies, n_features), float64
    Theta : ndarray of shape (n_users, n_features), float64

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the sheets/variables are missing, hold non-numbers or non-finite
        values, or ``X`` and ``Theta`` have different numbers of columns.
    """
    p = _existing_file(path, "parameters")
    if p.suffix.lower() == ".mat":
        v = _load_mat(p, ["X", "Theta"], "parameters")
        X = _as_2d_float(v["X"], f"'{p}' variable X")
        Theta = _as_2d_float(v["Theta"], f"'{p}' variable Theta")
        source = f"'{p}'"
    elif p.suffix.lower() in _XLSX_SUFFIXES:
        sheets = _read_sheets(p, ["X", "theta"])
        X = _frame_to_float(sheets["X"], f"workbook '{p}' sheet 'X'")
        Theta = _frame_to_float(sheets["theta"], f"workbook '{p}' sheet 'theta'")
        source = f"workbook '{p}'"
    else:
        raise ValueError(
            f"parameters file '{p}' must be an .xlsx workbook or a .mat file; got suffix '{p.suffix}'"
        )
    if X.shape[1] != Theta.shape[1]:
        raise ValueError(
            f"{source}: X and Theta must have the same number of features; got X {X.shape} and Theta {Theta.shape}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Theta))):
        raise ValueError(f"{source}: X and Theta must be finite numbers (found NaN/inf or empty cells)")
    return X, Theta


_ID_TITLE = re.compile(r"^\s*(\d+)\s+(.*?)\s*$")


def load_movie_titles(path) -> list[str]:
    """Load movie titles in id order.

    Parameters
    ----------
    path : str or path-like
        The course's ``movie_ids.txt`` ("id title" per line) or MovieLens'
        ``u.item`` ("id|title|date|..." per line). Both files are Latin-1
        encoded (e.g. "Misérables, Les (1995)"): reading them as UTF-8 fails.

    Returns
    -------
    list of str, length n_movies
        ``titles[i]`` is the title of movie id ``i + 1`` (row ``i`` of ``Y``),
        with the id dropped and surrounding spaces stripped.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line does not start with an id, or the ids are not 1, 2, 3, ...
    """
    p = _existing_file(path, "movie titles")
    text = p.read_bytes().decode("latin-1")
    titles: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "|" in line:
            fields = line.split("|")
            id_text, title = fields[0].strip(), fields[1].strip() if len(fields) > 1 else ""
            ok = id_text.isdigit()
        else:
            m = _ID_TITLE.match(line)
            ok = m is not None
            id_text, title = (m.group(1), m.group(2)) if m else ("", "")
        if not ok:
            raise ValueError(
                f"movie titles file '{p}', line {lineno}: expected 'id title' or 'id|title|...'; got {line[:60]!r}"
            )
        if int(id_text) != len(titles) + 1:
            raise ValueError(
                f"movie titles file '{p}', line {lineno}: expected movie id {len(titles) + 1}, got {id_text}"
            )
        titles.append(title)
    if not titles:
        raise ValueError(f"movie titles file '{p}' holds no titles")
    return titles


# --------------------------------------------------------------------------
# Cost and gradients
# --------------------------------------------------------------------------


def _cost_grad(X, Theta, Y, R, lambda_):
    """Unchecked cost and gradients (inputs already validated, R bool)."""
    E = X @ Theta.T
    E -= Y
    E[~R] = 0.0  # unrated entries contribute nothing, whatever Y holds there
    J = 0.5 * float(np.sum(E * E)) + 0.5 * lambda_ * (float(np.sum(X * X)) + float(np.sum(Theta * Theta)))
    X_grad = E @ Theta + lambda_ * X
    Theta_grad = E.T @ X + lambda_ * Theta
    return J, X_grad, Theta_grad


class ObservedRatings:
    """The rated entries of ``(Y, R)`` as index arrays, for a fast sparse cost.

    Only the ``n_ratings`` observed entries are stored, so one cost-and-gradient
    evaluation costs O(n_ratings x n_features) instead of
    O(n_movies x n_users x n_features), and memory grows with the ratings, not
    with the full matrix. The result equals the dense masked computation of
    :func:`cofi_cost_and_gradients` up to rounding.

    Parameters
    ----------
    Y : array_like of shape (n_movies, n_users)
    R : array_like of shape (n_movies, n_users)
        Rated mask; unrated entries of ``Y`` are never read.

    Attributes
    ----------
    rows, cols : ndarray of shape (n_ratings,)
        Movie and user index of each rating, in row-major order.
    values : ndarray of shape (n_ratings,)
        The ratings.
    shape : tuple (n_movies, n_users)
    """

    def __init__(self, Y, R):
        Y, R = _check_YR(Y, R)
        self.shape = Y.shape
        self.rows, self.cols = np.nonzero(R)
        self.values = Y[self.rows, self.cols]
        self._indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=self.shape[0]), out=self._indptr[1:])

    @classmethod
    def from_triplets(cls, rows, cols, values, shape):
        """Build from index arrays directly (no dense matrix), e.g. for millions of ratings.

        Parameters
        ----------
        rows, cols : array_like of int, shape (n_ratings,)
            0-based movie and user indices; each pair at most once.
        values : array_like of shape (n_ratings,)
        shape : tuple (n_movies, n_users)
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        if not (rows.shape == cols.shape == values.shape and rows.ndim == 1):
            raise ValueError(
                f"rows, cols and values must be 1-D of equal length; got {rows.shape}, {cols.shape}, {values.shape}"
            )
        n_movies, n_users = (int(s) for s in shape)
        if rows.size and (rows.min() < 0 or rows.max() >= n_movies or cols.min() < 0 or cols.max() >= n_users):
            raise ValueError(f"rows/cols must index into shape {shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values must be finite (no NaN or inf)")
        order = np.lexsort((cols, rows))
        self = cls.__new__(cls)
        self.shape = (n_movies, n_users)
        self.rows, self.cols, self.values = rows[order], cols[order], values[order]
        self._indptr = np.zeros(n_movies + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=n_movies), out=self._indptr[1:])
        return self

    @property
    def n_ratings(self):
        """Number of observed ratings."""
        return self.values.size

    def cost_and_gradients(self, X, Theta, lambda_=0.0):
        """Cost and gradients over the observed ratings only.

        Parameters
        ----------
        X : ndarray of shape (n_movies, n_features)
        Theta : ndarray of shape (n_users, n_features)
        lambda_ : float

        Returns
        -------
        J : float
        X_grad : ndarray of shape (n_movies, n_features)
        Theta_grad : ndarray of shape (n_users, n_features)
        """
        from scipy import sparse

        err = np.einsum("ij,ij->i", X[self.rows], Theta[self.cols])
        err -= self.values
        E = sparse.csr_matrix((err, self.cols, self._indptr), shape=self.shape)
        J = 0.5 * float(err @ err) + 0.5 * lambda_ * (float(np.sum(X * X)) + float(np.sum(Theta * Theta)))
        X_grad = E @ Theta
        X_grad += lambda_ * X
        Theta_grad = E.T @ X
        Theta_grad += lambda_ * Theta
        return J, X_grad, Theta_grad


def _use_sparse(R) -> bool:
    """The sparse path pays off once the matrix is large and mostly empty."""
    return R.size >= 100_000 and R.mean() < 0.3


def cofi_cost_and_gradients(X, Theta, Y, R, lambda_=0.0):
    """Cost and both gradients in one pass (they share the residuals).

    Parameters and returns are those of :func:`cofi_cost` followed by those
    of :func:`cofi_gradients`: ``(J, X_grad, Theta_grad)``.
    """
    X, Theta, Y, R, lambda_ = _check_params(X, Theta, Y, R, lambda_)
    return _cost_grad(X, Theta, Y, R, lambda_)


def cofi_cost(X, Theta, Y, R, lambda_=0.0) -> float:
    r"""Regularised collaborative-filtering cost.

    .. math::

        J = \frac12 \sum_{(i,j): r(i,j)=1} \left(x^{(i)} \cdot \theta^{(j)} - y^{(i,j)}\right)^2
            + \frac{\lambda}{2}\left(\lVert X \rVert_F^2 + \lVert \Theta \rVert_F^2\right)

    Parameters
    ----------
    X : array_like of shape (n_movies, n_features)
        Movie features.
    Theta : array_like of shape (n_users, n_features)
        User preference vectors.
    Y : array_like of shape (n_movies, n_users)
        Ratings. Entries where ``R`` is 0 are ignored, whatever they hold.
    R : array_like of shape (n_movies, n_users)
        1/True where the user rated the movie.
    lambda_ : float, default=0.0
        Regularisation strength (non-negative).

    Returns
    -------
    float
        The cost ``J``.

    Raises
    ------
    ValueError
        If the shapes disagree, ``R`` is not 0/1, a rated entry of ``Y`` or a
        parameter is not finite, or ``lambda_`` is negative.
    """
    return cofi_cost_and_gradients(X, Theta, Y, R, lambda_)[0]


def cofi_gradients(X, Theta, Y, R, lambda_=0.0):
    r"""Gradients of :func:`cofi_cost` with respect to ``X`` and ``Theta``.

    With the masked error :math:`E = R \odot (X\Theta^T - Y)`:

    .. math::

        \frac{\partial J}{\partial X} = E\,\Theta + \lambda X, \qquad
        \frac{\partial J}{\partial \Theta} = E^T X + \lambda \Theta

    Parameters
    ----------
    X, Theta, Y, R, lambda_
        As in :func:`cofi_cost`.

    Returns
    -------
    X_grad : ndarray of shape (n_movies, n_features)
    Theta_grad : ndarray of shape (n_users, n_features)
    """
    _, X_grad, Theta_grad = cofi_cost_and_gradients(X, Theta, Y, R, lambda_)
    return X_grad, Theta_grad


def numerical_gradient(f, params, eps=1e-4):
    """Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``.
    params : ndarray of shape (n,)
        Point at which to differentiate.
    eps : float, default=1e-4
        Step size.

    Returns
    -------
    ndarray of shape (n,)
        ``(f(p + eps e_k) - f(p - eps e_k)) / (2 eps)`` for each ``k``.
    """
    params = np.asarray(params, dtype=float).ravel()
    grad = np.empty_like(params)
    step = np.zeros_like(params)
    for k in range(params.size):
        step[k] = eps
        grad[k] = (f(params + step) - f(params - step)) / (2 * eps)
        step[k] = 0.0
    return grad


def check_gradients(lambda_=0.0, seed=0, gradient_fn=None, *, return_details=False):
    """Compare analytic and central-difference gradients on a small problem.

    Builds a random 4-movie x 5-user x 3-feature problem (about half the
    ratings missing, garbage in the unrated entries of ``Y``) and returns
    ``||num - ana|| / ||num + ana||``. A correct gradient gives about 1e-12.

    Parameters
    ----------
    lambda_ : float, default=0.0
        Regularisation strength.
    seed : int, default=0
        Seed of the random problem.
    gradient_fn : callable, optional
        ``gradient_fn(X, Theta, Y, R, lambda_) -> (X_grad, Theta_grad)`` to
        check instead of :func:`cofi_gradients` (e.g. a learner's own, or a
        deliberately wrong one).
    return_details : bool, default=False
        If True, also return a DataFrame with the numerical and analytic
        gradient side by side.

    Returns
    -------
    float
        Relative difference; or ``(float, DataFrame)`` if ``return_details``.
    """
    lambda_ = _nonneg_float(lambda_, "lambda_")
    rng = np.random.default_rng(seed)
    n_movies, n_users, k = 4, 5, 3
    X_true = rng.random((n_movies, k))
    Theta_true = rng.random((n_users, k))
    Y = X_true @ Theta_true.T
    R = rng.random(Y.shape) > 0.5
    R[0, 0] = True  # at least one rating
    Y[~R] = rng.normal(0, 100, size=int((~R).sum()))  # garbage where unrated: must not matter
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))

    def unpack(p):
        return p[: n_movies * k].reshape(n_movies, k), p[n_movies * k:].reshape(n_users, k)

    params = np.concatenate([X.ravel(), Theta.ravel()])
    num = numerical_gradient(lambda p: _cost_grad(*unpack(p), Y, R, lambda_)[0], params)
    fn = gradient_fn if gradient_fn is not None else cofi_gradients
    Xg, Tg = fn(X.copy(), Theta.copy(), Y.copy(), R.copy(), lambda_)
    ana = np.concatenate([np.asarray(Xg, float).ravel(), np.asarray(Tg, float).ravel()])
    if ana.shape != num.shape:
        raise ValueError(
            f"gradient_fn returned {ana.size} values in all; expected X_grad {X.shape} and Theta_grad {Theta.shape}"
        )
    denom = np.linalg.norm(num + ana)
    diff = float(np.linalg.norm(num - ana) / denom) if denom > 0 else float(np.linalg.norm(num - ana))
    if return_details:
        names = [f"X[{i},{j}]" for i in range(n_movies) for j in range(k)]
        names += [f"Theta[{i},{j}]" for i in range(n_users) for j in range(k)]
        table = pd.DataFrame({"numerical": num, "analytic": ana}, index=names)
        return diff, table
    return diff


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------


def _check_YR(Y, R):
    Y = _as_2d_float(Y, "Y")
    R = _as_mask(R)
    if Y.shape != R.shape:
        raise ValueError(f"Y and R must have the same shape; got Y {Y.shape} and R {R.shape}")
    if not np.all(np.isfinite(Y[R])):
        raise ValueError("Y has NaN or inf in rated entries (where R is 1)")
    return Y, R


def normalize_ratings(Y, R):
    """Subtract each movie's mean rating, computed over rated entries only.

    Parameters
    ----------
    Y : array_like of shape (n_movies, n_users)
        Ratings; unrated entries (``R == 0``) are ignored whatever they hold.
    R : array_like of shape (n_movies, n_users)
        Rated mask.

    Returns
    -------
    Y_norm : ndarray of shape (n_movies, n_users)
        ``Y - Y_mean[:, None]`` where rated, exactly 0 where not rated.
    Y_mean : ndarray of shape (n_movies,)
        Mean rating of each movie over its ratings; 0 for a movie nobody
        rated (no NaN, no warning).
    """
    Y, R = _check_YR(Y, R)
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0.0).sum(axis=1)
    Y_mean = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
    Y_norm = np.where(R, Y - Y_mean[:, None], 0.0)
    return Y_norm, Y_mean


def shrunk_means(Y, R, shrinkage=0.0):
    r"""Per-movie means pulled towards the global mean by ``shrinkage`` pseudo-ratings.

    .. math::

        \hat\mu_i = \frac{\sum_{j: r(i,j)=1} y^{(i,j)} + k\,\bar\mu}{n_i + k}

    where :math:`\bar\mu` is the mean of all ratings and :math:`n_i` the number
    of ratings of movie *i*. With ``k = 0`` this is the plain mean (0 for a
    movie with no ratings); with ``k > 0`` a movie rated once by a fan no
    longer looks like a 5-star classic, and a movie with no ratings gets the
    global mean. This is the posterior mean of a movie's rating under a
    normal prior centred on the global mean (a "damped mean").

    Parameters
    ----------
    Y, R : array_like of shape (n_movies, n_users)
    shrinkage : float, default=0.0
        The pseudo-count ``k`` (non-negative).

    Returns
    -------
    ndarray of shape (n_movies,)
    """
    Y, R = _check_YR(Y, R)
    k = _nonneg_float(shrinkage, "shrinkage")
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0.0).sum(axis=1)
    mu = float(sums.sum() / counts.sum()) if counts.sum() > 0 else 0.0
    denom = counts + k
    return np.divide(sums + k * mu, denom, out=np.zeros(len(counts)), where=denom > 0)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def init_parameters(n_movies, n_users, num_features, seed=0, scale=0.1):
    """Seeded random initial ``X`` and ``Theta`` (normal, standard deviation ``scale``).

    Returns
    -------
    X : ndarray of shape (n_movies, num_features)
    Theta : ndarray of shape (n_users, num_features)
    """
    for name, v in (("n_movies", n_movies), ("n_users", n_users), ("num_features", num_features)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, scale, size=(int(n_movies), int(num_features)))
    Theta = rng.normal(0.0, scale, size=(int(n_users), int(num_features)))
    return X, Theta


def gradient_descent(X, Theta, Y, R, lambda_, alpha, num_iters, *, progress=False):
    """Batch gradient descent with simultaneous updates of ``X`` and ``Theta``.

    Each iteration computes both gradients from the current ``(X, Theta)``
    and only then updates both:
    ``X -= alpha * dJ/dX``, ``Theta -= alpha * dJ/dTheta``.

    Parameters
    ----------
    X : array_like of shape (n_movies, n_features)
        Initial movie features (not modified).
    Theta : array_like of shape (n_users, n_features)
        Initial user preferences (not modified).
    Y, R : array_like of shape (n_movies, n_users)
        Ratings (normalised or not) and rated mask.
    lambda_ : float
        Regularisation strength.
    alpha : float
        Learning rate (positive).
    num_iters : int
        Number of updates (non-negative).
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    X : ndarray of shape (n_movies, n_features)
    Theta : ndarray of shape (n_users, n_features)
    J_history : ndarray of shape (num_iters + 1,)
        ``J_history[0]`` is the initial cost, ``J_history[t]`` the cost after
        ``t`` updates.

    Raises
    ------
    DivergenceError
        (a ``ValueError``) if the cost becomes non-finite or grows beyond
        100 times its initial value: the learning rate ``alpha`` is too large.
    """
    X, Theta, Y, R, lambda_ = _check_params(X, Theta, Y, R, lambda_)
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha (the learning rate) must be a positive number; got {alpha!r}") from None
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha (the learning rate) must be a positive number; got {alpha!r}")
    if isinstance(num_iters, bool) or int(num_iters) != num_iters or num_iters < 0:
        raise ValueError(f"num_iters must be a non-negative integer; got {num_iters!r}")
    num_iters = int(num_iters)
    X, Theta = X.copy(), Theta.copy()
    if _use_sparse(R):
        observed = ObservedRatings(Y, R)

        def cost_grad(X, Theta):
            return observed.cost_and_gradients(X, Theta, lambda_)
    else:
        def cost_grad(X, Theta):
            return _cost_grad(X, Theta, Y, R, lambda_)
    J_history = np.empty(num_iters + 1)
    iterator = range(num_iters + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="gradient descent", unit="it")
    with np.errstate(over="ignore", invalid="ignore"):
        for t in iterator:
            J, X_grad, Theta_grad = cost_grad(X, Theta)
            J_history[t] = J
            if not np.isfinite(J) or J > 100 * max(J_history[0], 1e-12):
                raise DivergenceError(
                    f"gradient descent diverged at iteration {t}: the cost went from "
                    f"{J_history[0]:.4g} to {J:.4g}. The learning rate alpha={alpha:g} is too "
                    f"large for this problem (lambda_={lambda_:g}); try alpha={alpha / 10:g} or smaller."
                )
            if t == num_iters:
                break
            X -= alpha * X_grad
            Theta -= alpha * Theta_grad
    return X, Theta, J_history


def train_lbfgs(Y, R, num_features=10, lambda_=10.0, max_iter=200, seed=0, *,
                X0=None, Theta0=None, tol=1e-9):
    """Fit ``X`` and ``Theta`` with L-BFGS-B on :func:`cofi_cost`.

    Parameters
    ----------
    Y, R : array_like of shape (n_movies, n_users)
        Ratings (usually mean-normalised) and rated mask.
    num_features : int, default=10
        Number of latent features ``n_features``.
    lambda_ : float, default=10.0
        Regularisation strength.
    max_iter : int, default=200
        Maximum number of L-BFGS iterations.
    seed : int, default=0
        Seed of the random initialisation (see :func:`init_parameters`).
    X0, Theta0 : array_like, optional
        Starting point instead of the seeded random one.
    tol : float, default=1e-9
        ``ftol`` of L-BFGS-B (relative reduction of the cost).

    Returns
    -------
    X : ndarray of shape (n_movies, num_features)
    Theta : ndarray of shape (n_users, num_features)
    J_history : ndarray of shape (n_iterations + 1,)
        Cost at the start and after each L-BFGS iteration.
    """
    from scipy.optimize import minimize

    Y, R = _check_YR(Y, R)
    n_movies, n_users = Y.shape
    if X0 is None or Theta0 is None:
        X0, Theta0 = init_parameters(n_movies, n_users, num_features, seed=seed)
    X0, Theta0, Y, R, lambda_ = _check_params(X0, Theta0, Y, R, lambda_)
    if isinstance(max_iter, bool) or int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    Y = np.where(R, Y, 0.0)
    k = X0.shape[1]
    split = n_movies * k
    if _use_sparse(R):
        observed = ObservedRatings(Y, R)

        def cost_grad(X, Theta):
            return observed.cost_and_gradients(X, Theta, lambda_)
    else:
        def cost_grad(X, Theta):
            return _cost_grad(X, Theta, Y, R, lambda_)

    def fun(p):
        X = p[:split].reshape(n_movies, k)
        Theta = p[split:].reshape(n_users, k)
        J, Xg, Tg = cost_grad(X, Theta)
        return J, np.concatenate([Xg.ravel(), Tg.ravel()])

    p0 = np.concatenate([X0.ravel(), Theta0.ravel()])
    history = [fun(p0)[0]]
    res = minimize(fun, p0, jac=True, method="L-BFGS-B",
                   callback=lambda intermediate_result: history.append(float(intermediate_result.fun)),
                   options={"maxiter": int(max_iter), "ftol": tol, "gtol": 1e-10})
    X = res.x[:split].reshape(n_movies, k).copy()
    Theta = res.x[split:].reshape(n_users, k).copy()
    return X, Theta, np.asarray(history)


# --------------------------------------------------------------------------
# Recommending
# --------------------------------------------------------------------------


def ratings_vector(my_ratings, n_movies):
    """Turn a user's ratings into a length-``n_movies`` vector.

    Parameters
    ----------
    my_ratings : array_like of shape (n_movies,) or dict
        Either a vector (0 = not rated, else a rating from 1 to 5) or a dict
        ``{movie_id: rating}`` with 0-based movie ids (rows of ``Y``).
    n_movies : int

    Returns
    -------
    ndarray of shape (n_movies,), float64
    """
    if isinstance(my_ratings, Mapping):
        vec = np.zeros(n_movies)
        for movie_id, rating in my_ratings.items():
            if isinstance(movie_id, bool) or not isinstance(movie_id, (int, np.integer)) \
                    or not 0 <= movie_id < n_movies:
                raise ValueError(
                    f"my_ratings: movie id {movie_id!r} is not a 0-based row of Y (0..{n_movies - 1})"
                )
            vec[movie_id] = _one_rating(rating, f"my_ratings[{movie_id}]")
        return vec
    try:
        vec = np.asarray(my_ratings, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError("my_ratings must be a numeric vector or a dict {movie_id: rating}") from None
    if vec.size != n_movies:
        raise ValueError(
            f"my_ratings must have one entry per movie ({n_movies}); got {vec.size}"
        )
    bad = ~np.isfinite(vec) | ((vec != 0) & ((vec < 1) | (vec > RATING_MAX)))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"my_ratings[{i}] = {vec[i]!r}: ratings must be 0 (not rated) or between 1 and {RATING_MAX:g}"
        )
    return vec


def _one_rating(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number from 1 to {RATING_MAX:g}; got {value!r}") from None
    if not np.isfinite(v) or not 1 <= v <= RATING_MAX:
        raise ValueError(f"{name} must be a number from 1 to {RATING_MAX:g}; got {value!r}")
    return v


def add_user(my_ratings, Y, R):
    """Prepend a new user (column 0) to ``Y`` and ``R``.

    Returns
    -------
    Y_new, R_new : ndarray of shape (n_movies, n_users + 1)
    """
    Y, R = _check_YR(Y, R)
    vec = ratings_vector(my_ratings, Y.shape[0])
    return np.column_stack([vec, Y]), np.column_stack([vec != 0, R])


def recommend(my_ratings, Y, R, titles, n=10, *, num_features=10, lambda_=10.0,
              max_iter=100, seed=0, shrinkage=10.0, min_ratings=1, return_model=False):
    """Train on everyone's ratings plus yours and list the movies you would rate highest.

    The ratings are mean-normalised with *shrunk* per-movie means
    (:func:`shrunk_means`), a matrix factorisation is fitted to the residuals
    with :func:`train_lbfgs`, and your prediction for movie *i* is
    ``x_i . theta_you + mean_i``.

    Why shrink: with plain means, a movie rated once with 5 stars has mean 5.0
    and (with its features regularised towards 0) is predicted at about 5.0
    for everyone, so obscure one-rating movies top every list. Shrinking each
    mean towards the global mean by ``shrinkage`` pseudo-ratings leaves
    well-known movies where they are and pulls rarely rated ones to the
    middle. ``min_ratings`` additionally hides movies with fewer ratings from
    the list. Set ``shrinkage=0, min_ratings=0`` to see the unguarded model.

    Parameters
    ----------
    my_ratings : array_like of shape (n_movies,) or dict
        Your ratings: a vector (0 = not rated, else 1-5) or ``{movie_id: rating}``
        with 0-based movie ids. May be all zeros (a new user), who then gets
        the best-rated movies by shrunk mean.
    Y, R : array_like of shape (n_movies, n_users)
        Everyone else's ratings and rated mask.
    titles : sequence of str, length n_movies
    n : int, default=10
        Number of recommendations.
    num_features : int, default=10
    lambda_ : float, default=10.0
    max_iter : int, default=100
        L-BFGS iterations.
    seed : int, default=0
        Seed of the initialisation; the result is deterministic for a seed.
    shrinkage : float, default=10.0
        Pseudo-ratings pulling each movie's mean towards the global mean.
    min_ratings : int, default=1
        Only recommend movies with at least this many ratings from others.
    return_model : bool, default=False
        If True, return ``(table, model)`` where ``model`` is a dict with
        ``X``, ``Theta``, ``means``, ``predictions`` (your column, length
        n_movies) and ``J_history``.

    Returns
    -------
    pandas.DataFrame
        Columns ``movie_id`` (0-based row of ``Y``), ``title``,
        ``predicted_rating`` (float) and ``num_ratings`` (int, ratings by
        other users), sorted by ``predicted_rating`` descending, at most
        ``n`` rows, without the movies you rated.
    """
    Y, R = _check_YR(Y, R)
    n_movies = Y.shape[0]
    titles = list(titles)
    if len(titles) != n_movies:
        raise ValueError(f"titles must have one entry per movie ({n_movies}); got {len(titles)}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if isinstance(min_ratings, bool) or int(min_ratings) != min_ratings or min_ratings < 0:
        raise ValueError(f"min_ratings must be a non-negative integer; got {min_ratings!r}")
    Y_all, R_all = add_user(my_ratings, Y, R)
    means = shrunk_means(Y_all, R_all, shrinkage)
    Y_norm = np.where(R_all, Y_all - means[:, None], 0.0)
    X, Theta, J_history = train_lbfgs(Y_norm, R_all, num_features=num_features,
                                      lambda_=lambda_, max_iter=max_iter, seed=seed)
    predictions = X @ Theta[0] + means
    num_ratings = R.sum(axis=1).astype(int)
    table = pd.DataFrame({
        "movie_id": np.arange(n_movies),
        "title": titles,
        "predicted_rating": predictions.astype(float),
        "num_ratings": num_ratings,
    })
    keep = ~R_all[:, 0] & (num_ratings >= int(min_ratings))
    table = (table[keep]
             .sort_values(["predicted_rating", "movie_id"], ascending=[False, True], kind="stable")
             .head(int(n))
             .reset_index(drop=True))
    if return_model:
        model = {"X": X, "Theta": Theta, "means": means, "predictions": predictions,
                 "J_history": J_history}
        return table, model
    return table


def similar_movies(X, movie_id, titles, n=10):
    """Movies whose learned feature vectors are closest to one movie's.

    Parameters
    ----------
    X : array_like of shape (n_movies, n_features)
        Learned movie features.
    movie_id : int
        0-based row of ``X``.
    titles : sequence of str, length n_movies
    n : int, default=10

    Returns
    -------
    pandas.DataFrame
        Columns ``movie_id``, ``title``, ``distance`` (Euclidean distance
        between feature vectors), nearest first, without the movie itself.
    """
    X = _as_2d_float(X, "X")
    titles = list(titles)
    if len(titles) != X.shape[0]:
        raise ValueError(f"titles must have one entry per movie ({X.shape[0]}); got {len(titles)}")
    if isinstance(movie_id, bool) or not isinstance(movie_id, (int, np.integer)) \
            or not 0 <= movie_id < X.shape[0]:
        raise ValueError(f"movie_id must be a 0-based row of X (0..{X.shape[0] - 1}); got {movie_id!r}")
    dist = np.linalg.norm(X - X[movie_id], axis=1)
    table = pd.DataFrame({"movie_id": np.arange(X.shape[0]), "title": titles, "distance": dist})
    table = table.drop(index=movie_id).sort_values(["distance", "movie_id"], kind="stable")
    return table.head(int(n)).reset_index(drop=True)
