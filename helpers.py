"""The tested core of the collaborative-filtering tutorial.

Everything the notebooks compute goes through the functions here:

* loading the course data (workbooks, ``.mat`` files, title lists),
* the regularised collaborative-filtering cost and its gradients,
* a numerical gradient check,
* mean normalisation over rated entries only,
* training (batch gradient descent and L-BFGS-B),
* recommending movies for a new user,
* and, in the last section, held-out evaluation: MovieLens splits, RMSE/MAE,
  precision@10 and NDCG@10, baselines, biased matrix factorisation (L-BFGS
  or alternating least squares, with Spark's ALS-WR weighting as an option)
  and a Bayesian matrix factorisation.

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
from threadpoolctl import threadpool_limits

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
            f"found {float(Y[i, j])!r} at movie row {i}, user column {j}"
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


_TRUE_CELLS = np.array([True, 1, "TRUE", "True", "true", "1"], dtype=object)
_FALSE_CELLS = np.array([False, 0, "FALSE", "False", "false", "0"], dtype=object)


def _frame_to_flags(df: pd.DataFrame, source: str) -> np.ndarray:
    """Turn a sheet of TRUE/FALSE or 1/0 cells into a bool array."""
    values = df.to_numpy()
    if values.dtype == bool:
        return values
    values = values.astype(object)  # mixed cells (numbers, text, booleans) compared one by one
    is_true = np.isin(values, _TRUE_CELLS)
    bad = ~(is_true | np.isin(values, _FALSE_CELLS))
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: rated flags must be TRUE/FALSE or 1/0; found {values[i, j]!r} at row {i}, column {j}"
        )
    return is_true


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
        same_row = rows[1:] == rows[:-1]
        if np.all((rows[1:] > rows[:-1]) | (same_row & (cols[1:] > cols[:-1]))):
            order = None  # already in row-major order: skip the O(n log n) sort and the copies
        else:
            order = np.lexsort((cols, rows))
            rows, cols, values = rows[order], cols[order], values[order]
            same_row = rows[1:] == rows[:-1]
        dup = same_row & (cols[1:] == cols[:-1])
        if np.any(dup):
            r = int(np.argmax(dup))
            raise ValueError(
                f"rating (row {rows[r]}, col {cols[r]}) appears more than once; each pair must be unique"
            )
        del same_row, dup
        self = cls.__new__(cls)
        self.shape = (n_movies, n_users)
        self.rows, self.cols, self.values = rows, cols, values
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
        X = np.ascontiguousarray(X, dtype=float)
        Theta = np.ascontiguousarray(Theta, dtype=float)
        err = self._residuals(X, Theta)
        E = self._error_matrix(err)
        J = 0.5 * float(err @ err) + 0.5 * lambda_ * (
            float(np.einsum("ij,ij->", X, X)) + float(np.einsum("ij,ij->", Theta, Theta)))
        X_grad = E @ Theta
        X_grad += lambda_ * X
        Theta_grad = E.T @ X
        Theta_grad += lambda_ * Theta
        return J, X_grad, Theta_grad

    #: Ratings per block in :meth:`_residuals`. Gathering ``X[rows]`` for all
    #: ratings at once allocates n_ratings x n_features floats (2 GB at 25M
    #: ratings and 10 features, twice), and numpy's fancy indexing ``X[rows]``
    #: is several times slower than ``np.take``. Blocks of 32768 ratings
    #: keep the gathered rows small and were 10x faster than the one-shot
    #: ``X[rows]`` version on 5M ratings.
    _BLOCK = 32768

    def _residuals(self, X, Theta):
        """``x_rows . theta_cols - values`` for every rating (X, Theta contiguous float64)."""
        n = self.values.size
        err = np.empty(n)
        block = self._BLOCK
        for s in range(0, n, block):
            e = min(s + block, n)
            np.einsum("ij,ij->i", X.take(self.rows[s:e], axis=0), Theta.take(self.cols[s:e], axis=0),
                      out=err[s:e])
        err -= self.values
        return err

    def _error_matrix(self, err):
        """The residuals as a CSR matrix of ``shape`` (index arrays built once, int32 when they fit)."""
        from scipy import sparse

        parts = getattr(self, "_csr_index", None)
        if parts is None:
            small = max(self.values.size, self.shape[1]) < np.iinfo(np.int32).max
            dtype = np.int32 if small else np.int64
            parts = self._csr_index = (self.cols.astype(dtype), self._indptr.astype(dtype))
        return sparse.csr_matrix((err, parts[0], parts[1]), shape=self.shape, copy=False)


def _use_sparse(R) -> bool:
    """The sparse path pays off once the matrix is large and mostly empty."""
    return R.size >= 100_000 and R.mean() < 0.3


def _cost_grad_function(Y, R, lambda_):
    """``f(X, Theta) -> (J, X_grad, Theta_grad)`` for validated inputs, sparse when that pays off."""
    if _use_sparse(R):
        observed = ObservedRatings(Y, R)
        return lambda X, Theta: observed.cost_and_gradients(X, Theta, lambda_)
    return lambda X, Theta: _cost_grad(X, Theta, Y, R, lambda_)


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
    cost_grad = _cost_grad_function(Y, R, lambda_)
    J_history = np.empty(num_iters + 1)
    iterator = range(num_iters + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="gradient descent", unit="it")
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(limits=1, user_api="blas"):
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
    cost_grad = _cost_grad_function(Y, R, lambda_)

    def fun(p):
        X = p[:split].reshape(n_movies, k)
        Theta = p[split:].reshape(n_users, k)
        J, Xg, Tg = cost_grad(X, Theta)
        return J, np.concatenate([Xg.ravel(), Tg.ravel()])

    p0 = np.concatenate([X0.ravel(), Theta0.ravel()])
    history = [fun(p0)[0]]
    # One BLAS thread: these matrix products are small, and on a busy 2-core machine two
    # OpenBLAS threads made L-BFGS-B about 10x slower (measured: 29 s vs 3 s for 100 iterations).
    with threadpool_limits(limits=1, user_api="blas"):
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
            f"my_ratings[{i}] = {float(vec[i])!r}: ratings must be 0 (not rated) or between 1 and {RATING_MAX:g}"
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


# --------------------------------------------------------------------------
# Evaluation: held-out ratings, error and ranking metrics, baselines, and
# biased matrix factorisation trained by L-BFGS or alternating least squares
# --------------------------------------------------------------------------

__all__ += [
    "RatingTriplets",
    "load_movielens_ratings",
    "load_movielens_split",
    "random_split",
    "rmse",
    "mae",
    "ranking_metrics",
    "FactorModel",
    "fit_global_mean",
    "fit_movie_means",
    "fit_baseline",
    "mf_cost_and_gradients",
    "fit_mf",
    "fit_bayesian_mf",
    "blend",
]


def _index_array(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int = arr.astype(np.int64) if np.issubdtype(arr.dtype, np.number) else None
        if as_int is None or not np.array_equal(as_int, arr):
            raise ValueError(f"{name} must hold integer indices; got dtype {arr.dtype}")
        arr = as_int
    return arr.astype(np.int64, copy=False)


class RatingTriplets:
    """Ratings as ``(movie, user, rating)`` triplets, with the shape of the full matrix.

    This is the held-out-evaluation counterpart of ``(Y, R)``: a training or
    test set is a list of observed entries, and two sets built for the same
    data share one ``shape`` so that movie ``i`` and user ``j`` mean the same
    thing in both.

    Parameters
    ----------
    rows : array_like of int, shape (n_ratings,)
        0-based movie index of each rating (the row of ``Y``).
    cols : array_like of int, shape (n_ratings,)
        0-based user index of each rating (the column of ``Y``).
    values : array_like of float, shape (n_ratings,)
        The ratings.
    shape : tuple (n_movies, n_users)

    Raises
    ------
    ValueError
        If the arrays differ in length, an index lies outside ``shape``, a
        value is not finite, or a (movie, user) pair appears twice.
    """

    __slots__ = ("rows", "cols", "values", "shape", "_observed", "_transposed")

    def __init__(self, rows, cols, values, shape):
        rows = _index_array(rows, "rows")
        cols = _index_array(cols, "cols")
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("values must be numeric") from None
        if not (rows.shape == cols.shape == values.shape):
            raise ValueError(
                f"rows, cols and values must have the same length; got {rows.size}, {cols.size}, {values.size}"
            )
        try:
            n_movies, n_users = (int(s) for s in shape)
        except (TypeError, ValueError):
            raise ValueError(f"shape must be (n_movies, n_users); got {shape!r}") from None
        if n_movies < 1 or n_users < 1:
            raise ValueError(f"shape must be positive; got {shape!r}")
        if rows.size:
            if rows.min() < 0 or rows.max() >= n_movies:
                raise ValueError(f"movie indices (rows) must lie in 0..{n_movies - 1}; got {rows.min()}..{rows.max()}")
            if cols.min() < 0 or cols.max() >= n_users:
                raise ValueError(f"user indices (cols) must lie in 0..{n_users - 1}; got {cols.min()}..{cols.max()}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values must be finite (no NaN or inf)")
        linear = rows * n_users + cols
        if np.unique(linear).size != linear.size:
            raise ValueError("a (movie, user) pair appears more than once")
        self.rows, self.cols, self.values = rows, cols, values
        self.shape = (n_movies, n_users)
        self._observed = None
        self._transposed = None

    @classmethod
    def from_dense(cls, Y, R):
        """The rated entries of a ``(Y, R)`` pair, in row-major order."""
        Y, R = _check_YR(Y, R)
        rows, cols = np.nonzero(R)
        return cls(rows, cols, Y[rows, cols], Y.shape)

    @property
    def n_ratings(self) -> int:
        """Number of ratings."""
        return int(self.values.size)

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        return f"RatingTriplets({self.n_ratings} ratings, shape={self.shape})"

    def subset(self, index) -> "RatingTriplets":
        """The ratings selected by an integer or boolean index, same ``shape``."""
        index = np.asarray(index)
        return RatingTriplets(self.rows[index], self.cols[index], self.values[index], self.shape)

    def to_dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Y, R)`` of ``shape``: the ratings and the rated mask (0/False elsewhere)."""
        Y = np.zeros(self.shape)
        R = np.zeros(self.shape, dtype=bool)
        Y[self.rows, self.cols] = self.values
        R[self.rows, self.cols] = True
        return Y, R

    def observed(self) -> ObservedRatings:
        """The ratings as an :class:`ObservedRatings` (built once, then reused)."""
        if self._observed is None:
            self._observed = ObservedRatings.from_triplets(self.rows, self.cols, self.values, self.shape)
        return self._observed

    def _observed_transposed(self) -> ObservedRatings:
        """Users as rows: the grouping the user half-step of ALS needs."""
        if self._transposed is None:
            self._transposed = ObservedRatings.from_triplets(
                self.cols, self.rows, self.values, self.shape[::-1])
        return self._transposed


def _as_triplets(ratings, name: str = "ratings") -> RatingTriplets:
    if isinstance(ratings, RatingTriplets):
        return ratings
    raise TypeError(
        f"{name} must be a RatingTriplets (see load_movielens_split, random_split, "
        f"RatingTriplets.from_dense); got {type(ratings).__name__}"
    )


# ---------------------------------------------------------------- loading splits


def _read_movielens_table(path) -> pd.DataFrame:
    """Read a ``user<TAB>item<TAB>rating<TAB>timestamp`` file, checking every field."""
    p = _existing_file(path, "MovieLens ratings")
    try:  # fast path: a well-formed file parses as integers straight away
        fast = pd.read_csv(p, sep="\t", header=None, dtype=np.int64)
        if fast.shape[1] == 4:
            fast.columns = ["user", "item", "rating", "timestamp"]
            ok = ((fast["user"] >= 1).all() and (fast["item"] >= 1).all()
                  and fast["rating"].between(1, RATING_MAX).all())
            if ok:
                return fast[["user", "item", "rating"]].astype(float)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        pass  # fall through to the field-by-field check, which says what is wrong and where
    try:
        df = pd.read_csv(p, sep="\t", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"MovieLens ratings file '{p}' is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read MovieLens ratings file '{p}': {exc}") from None
    if df.shape[1] != 4:
        raise ValueError(
            f"MovieLens ratings file '{p}': expected 4 tab-separated fields "
            f"(user, item, rating, timestamp) per line; got {df.shape[1]}"
        )
    df.columns = ["user", "item", "rating", "timestamp"]
    out = {}
    for name in ("user", "item", "rating"):
        values = pd.to_numeric(df[name].str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if name == "rating":
                bad = ~((values >= 1) & (values <= RATING_MAX))
            else:
                bad = ~((values >= 1) & (values % 1 == 0))
        if np.any(bad):
            i = int(np.argmax(bad))
            want = "a positive integer id" if name != "rating" else f"a rating from 1 to {RATING_MAX:g}"
            raise ValueError(
                f"MovieLens ratings file '{p}', line {i + 1}: field '{name}' must be {want}; "
                f"got {df[name].iat[i]!r}"
            )
        out[name] = values
    return pd.DataFrame(out)


def _triplets_from_table(df: pd.DataFrame, shape, source: str) -> RatingTriplets:
    rows = df["item"].to_numpy().astype(np.int64) - 1
    cols = df["user"].to_numpy().astype(np.int64) - 1
    linear = rows * int(shape[1]) + cols
    uniq, first, counts = np.unique(linear, return_index=True, return_counts=True)
    if uniq.size != linear.size:
        dup = int(first[np.argmax(counts > 1)])
        raise ValueError(
            f"{source}: user {cols[dup] + 1} rated item {rows[dup] + 1} more than once"
        )
    return RatingTriplets(rows, cols, df["rating"].to_numpy(dtype=float), shape)


def _shape_for(tables, shape):
    if shape is not None:
        return tuple(int(s) for s in shape)
    return (max(int(t["item"].max()) for t in tables), max(int(t["user"].max()) for t in tables))


def load_movielens_ratings(path, shape=None) -> RatingTriplets:
    """Load a MovieLens 100K ratings file (``u.data`` or one ``u*.base``/``u*.test``).

    Each line is ``user<TAB>item<TAB>rating<TAB>timestamp`` with 1-based ids.
    Movie ``item`` becomes row ``item - 1`` and user ``user`` column
    ``user - 1``, as in ``Y``; the timestamp is checked for presence and dropped.

    Parameters
    ----------
    path : str or path-like
    shape : tuple (n_movies, n_users), optional
        Default: the largest item id and the largest user id in the file.

    Returns
    -------
    RatingTriplets

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a line does not have 4 tab-separated fields, an id is not a
        positive integer, a rating lies outside 1-5, an id exceeds ``shape``,
        or a user rated the same item twice.
    """
    df = _read_movielens_table(path)
    shape = _shape_for([df], shape)
    if df["item"].max() > shape[0] or df["user"].max() > shape[1]:
        raise ValueError(
            f"'{path}': ids go up to item {int(df['item'].max())} and user {int(df['user'].max())}, "
            f"beyond shape {shape} (n_movies, n_users)"
        )
    return _triplets_from_table(df, shape, f"'{path}'")


def load_movielens_split(directory, fold="u1", *, shape=None) -> tuple[RatingTriplets, RatingTriplets]:
    """Load one of MovieLens 100K's predefined train/test splits.

    ``u1.base``/``u1.test`` ... ``u5.base``/``u5.test`` are the five 80%/20%
    splits whose test sets are disjoint (5-fold cross-validation);
    ``ua``/``ub`` hold out exactly 10 ratings per user. Publications and
    libraries such as Surprise report results on these files, so using them
    makes numbers comparable.

    Parameters
    ----------
    directory : str or path-like
        Folder holding ``{fold}.base`` and ``{fold}.test``.
    fold : str, default="u1"
        ``"u1"`` ... ``"u5"``, ``"ua"`` or ``"ub"``.
    shape : tuple (n_movies, n_users), optional
        Default: the largest item and user ids over *both* files (1682 x 943
        for every MovieLens 100K split), so that train and test index the same
        matrix even when a movie appears only in the test file.

    Returns
    -------
    train, test : RatingTriplets
        0-based ``(movie, user, rating)`` triplets sharing one ``shape``.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        As :func:`load_movielens_ratings`, and if a (user, item) pair is in
        both files (the test set would leak into training).
    """
    d = Path(directory)
    fold = str(fold)
    if not re.fullmatch(r"u[1-5ab]", fold):
        raise ValueError(f"fold must be one of u1..u5, ua, ub; got {fold!r}")
    base_path, test_path = d / f"{fold}.base", d / f"{fold}.test"
    base, test = _read_movielens_table(base_path), _read_movielens_table(test_path)
    shape = _shape_for([base, test], shape)
    for df, p in ((base, base_path), (test, test_path)):
        if df["item"].max() > shape[0] or df["user"].max() > shape[1]:
            raise ValueError(f"'{p}': ids exceed shape {shape} (n_movies, n_users)")
    train = _triplets_from_table(base, shape, f"'{base_path}'")
    held = _triplets_from_table(test, shape, f"'{test_path}'")
    both = np.intersect1d(train.rows * shape[1] + train.cols, held.rows * shape[1] + held.cols)
    if both.size:
        item, user = divmod(int(both[0]), shape[1])
        raise ValueError(
            f"{both.size} ratings are in both '{base_path.name}' and '{test_path.name}' "
            f"(e.g. user {user + 1}, item {item + 1}): the test set must be held out"
        )
    return train, held


def random_split(ratings, test_fraction=0.2, seed=0, *, per_user=False):
    """Split ratings at random into a training and a held-out part.

    Parameters
    ----------
    ratings : RatingTriplets
    test_fraction : float, default=0.2
        Share of the ratings held out, strictly between 0 and 1.
    seed : int, default=0
        The split is a deterministic function of the seed.
    per_user : bool, default=False
        ``False``: hold out ``round(test_fraction * n_ratings)`` ratings
        drawn uniformly (as MovieLens' u1-u5 files and most papers do).
        ``True``: hold out ``floor(test_fraction * n_j)`` of each user's
        ``n_j`` ratings, so every user keeps most of their ratings for
        training (users with fewer than ``1 / test_fraction`` ratings keep all).

    Returns
    -------
    train, test : RatingTriplets
        Disjoint, together exactly ``ratings``, same ``shape``.
    """
    ratings = _as_triplets(ratings)
    try:
        frac = float(test_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"test_fraction must be a number between 0 and 1; got {test_fraction!r}") from None
    if not 0 < frac < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    n = ratings.n_ratings
    if per_user:
        key = rng.random(n)
        order = np.lexsort((key, ratings.cols))
        counts = np.bincount(ratings.cols, minlength=ratings.shape[1])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n) - np.repeat(starts, counts)
        n_test = np.floor(frac * counts).astype(np.int64)
        is_test = position < n_test[ratings.cols]
    else:
        is_test = np.zeros(n, dtype=bool)
        is_test[rng.permutation(n)[: int(round(frac * n))]] = True
    return ratings.subset(~is_test), ratings.subset(is_test)


# ---------------------------------------------------------------- metrics


def _pair(y_true, y_pred):
    a = np.asarray(y_true, dtype=float).ravel()
    b = np.asarray(y_pred, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("y_true and y_pred are empty")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf)")
    return a, b


def rmse(y_true, y_pred) -> float:
    r"""Root mean squared error :math:`\sqrt{\frac1n \sum_t (\hat y_t - y_t)^2}`."""
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((b - a) ** 2)))


def mae(y_true, y_pred) -> float:
    r"""Mean absolute error :math:`\frac1n \sum_t |\hat y_t - y_t|`."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(b - a)))


def ranking_metrics(scores, train, test, k=10, threshold=4.0) -> dict:
    r"""Precision, recall and NDCG at ``k`` of top-``k`` lists, "all unrated items" protocol.

    The protocol (full ranking, as in Cremonesi et al. 2010 and Krichene &
    Rendle 2020, who show that ranking a sample of items instead misleads):

    * **Candidates** for user *j*: every movie *j* did **not** rate in
      ``train`` (movies rated in training are never recommended again). Not
      a sample, and not just the user's test movies.
    * **Relevant**: the movies in ``test`` that *j* rated ``>= threshold``
      (4 or 5 stars by default). Unrated candidates count as not relevant,
      so the numbers are lower bounds: a user may well like a movie they
      never rated.
    * **Users** evaluated: those with at least one relevant test movie;
      the others are skipped (their number is reported).
    * The top-``k`` list sorts the candidates by ``scores`` descending; ties
      go to the lower movie index (a stable sort), so the result is
      deterministic.

    With :math:`\mathrm{rel}_r \in \{0, 1\}` the relevance of the movie at
    rank *r* and :math:`T_j` the user's relevant set,

    .. math::

        P@k = \frac{1}{k}\sum_{r=1}^{k} \mathrm{rel}_r, \quad
        \mathrm{Recall}@k = \frac{1}{|T_j|}\sum_{r=1}^{k} \mathrm{rel}_r, \quad
        \mathrm{NDCG}@k = \frac{\sum_{r=1}^{k} \mathrm{rel}_r / \log_2(r+1)}
                               {\sum_{r=1}^{\min(k, |T_j|)} 1 / \log_2(r+1)}

    each averaged over the evaluated users.

    Parameters
    ----------
    scores : array_like of shape (n_movies, n_users)
        Higher means "recommend first", e.g. ``model.predict_all(clip=False)``
        (unclipped, so that predictions above 5 stay ordered).
    train, test : RatingTriplets
        Disjoint ratings of the same ``shape``.
    k : int, default=10
    threshold : float, default=4.0

    Returns
    -------
    dict
        ``{"precision@k": float, "recall@k": float, "ndcg@k": float,
        "users": int}`` with ``k`` replaced by its value.
    """
    train, test = _as_triplets(train, "train"), _as_triplets(test, "test")
    if train.shape != test.shape:
        raise ValueError(f"train and test must have the same shape; got {train.shape} and {test.shape}")
    S = _as_2d_float(scores, "scores")
    if S.shape != train.shape:
        raise ValueError(f"scores must have shape {train.shape} (n_movies, n_users); got {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError("scores must be finite (no NaN or inf)")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    k = int(k)
    relevant = np.zeros(S.shape, dtype=bool)
    keep = test.values >= threshold
    relevant[test.rows[keep], test.cols[keep]] = True
    n_relevant = relevant.sum(axis=0)
    users = np.flatnonzero(n_relevant > 0)
    names = (f"precision@{k}", f"recall@{k}", f"ndcg@{k}")
    if users.size == 0:
        return {names[0]: float("nan"), names[1]: float("nan"), names[2]: float("nan"), "users": 0}
    S = S[:, users].copy()
    in_train = np.zeros(train.shape, dtype=bool)
    in_train[train.rows, train.cols] = True
    S[in_train[:, users]] = -np.inf
    top = np.argsort(-S, axis=0, kind="stable")[:k]
    hits = relevant[:, users][top, np.arange(users.size)]
    # a user with fewer than k candidates: the -inf (already rated) tail is never relevant
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = discounts @ hits
    ideal = np.cumsum(discounts)[np.minimum(n_relevant[users], k) - 1]
    n_hits = hits.sum(axis=0)
    return {
        names[0]: float(np.mean(n_hits / k)),
        names[1]: float(np.mean(n_hits / n_relevant[users])),
        names[2]: float(np.mean(dcg / ideal)),
        "users": int(users.size),
    }


# ---------------------------------------------------------------- models


class FactorModel:
    r"""A fitted rating model :math:`\hat y_{ij} = \mu + b_i + c_j + x^{(i)} \cdot \theta^{(j)}`.

    Every model in this section is one of these: the global mean has
    ``b = c = 0`` and no features; the movie-mean and bias baselines have no
    features; the course's mean-normalised model is ``mu = 0``, ``b`` = the
    movie means, ``c = 0``; Spark's ALS has ``mu = 0`` and no biases; biased
    matrix factorisation has all four terms.

    Parameters
    ----------
    mu : float
        Global offset (the training mean, or 0).
    b_movie : array_like of shape (n_movies,)
        Movie biases :math:`b_i`.
    b_user : array_like of shape (n_users,)
        User biases :math:`c_j`.
    X : array_like of shape (n_movies, n_features), optional
    Theta : array_like of shape (n_users, n_features), optional
        Latent features; omitted for a bias-only model.
    rating_range : tuple (low, high) or None, default=(1.0, 5.0)
        :meth:`predict` clips to this range unless told not to (a prediction
        of 5.3 for a 1-5 scale is certainly better as 5.0); ``None`` never clips.
    history : array_like, optional
        Training cost after each iteration (for plots).
    info : dict, optional
        How the model was fitted (hyper-parameters, iterations, time).
    """

    def __init__(self, mu, b_movie, b_user, X=None, Theta=None, *, rating_range=(1.0, 5.0),
                 history=None, info=None):
        self.mu = float(mu)
        self.b_movie = np.asarray(b_movie, dtype=float).ravel()
        self.b_user = np.asarray(b_user, dtype=float).ravel()
        n_movies, n_users = self.b_movie.size, self.b_user.size
        if X is None and Theta is None:
            X, Theta = np.zeros((n_movies, 0)), np.zeros((n_users, 0))
        elif X is None or Theta is None:
            raise ValueError("give both X and Theta, or neither")
        self.X = _as_2d_float(X, "X")
        self.Theta = _as_2d_float(Theta, "Theta")
        if self.X.shape[0] != n_movies or self.Theta.shape[0] != n_users or self.X.shape[1] != self.Theta.shape[1]:
            raise ValueError(
                f"X must be (n_movies={n_movies}, k) and Theta (n_users={n_users}, k); "
                f"got X {self.X.shape}, Theta {self.Theta.shape}"
            )
        if rating_range is not None:
            lo, hi = (float(v) for v in rating_range)
            if not lo < hi:
                raise ValueError(f"rating_range must be (low, high) with low < high; got {rating_range!r}")
            rating_range = (lo, hi)
        self.rating_range = rating_range
        self.history = np.asarray(history if history is not None else [], dtype=float)
        self.info = dict(info or {})

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_movies, n_users)``."""
        return (self.b_movie.size, self.b_user.size)

    @property
    def num_features(self) -> int:
        return self.X.shape[1]

    def __repr__(self) -> str:
        what = self.info.get("model", "FactorModel")
        return f"<{what}: {self.shape[0]} movies x {self.shape[1]} users, {self.num_features} features>"

    def _clip(self, pred, clip):
        if clip and self.rating_range is not None:
            np.clip(pred, *self.rating_range, out=pred)
        return pred

    def predict(self, rows, cols, *, clip=True) -> np.ndarray:
        """Predicted ratings of movies ``rows`` by users ``cols`` (0-based, equal length)."""
        rows = _index_array(rows, "rows")
        cols = _index_array(cols, "cols")
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same length; got {rows.size} and {cols.size}")
        n_movies, n_users = self.shape
        if rows.size and (rows.min() < 0 or rows.max() >= n_movies or cols.min() < 0 or cols.max() >= n_users):
            raise ValueError(f"rows/cols must index into the model's shape {self.shape}")
        pred = self.mu + self.b_movie[rows] + self.b_user[cols]
        if self.num_features:
            pred += np.einsum("ij,ij->i", self.X[rows], self.Theta[cols])
        return self._clip(pred, clip)

    def predict_all(self, *, clip=True) -> np.ndarray:
        """The full ``(n_movies, n_users)`` matrix of predictions (for top-N lists)."""
        pred = self.X @ self.Theta.T
        pred += self.mu
        pred += self.b_movie[:, None]
        pred += self.b_user[None, :]
        return self._clip(pred, clip)

    def evaluate(self, test, *, clip=True) -> dict:
        """``{"rmse": ..., "mae": ...}`` on held-out :class:`RatingTriplets`."""
        test = _as_triplets(test, "test")
        if test.shape != self.shape:
            raise ValueError(f"test has shape {test.shape}; the model {self.shape}")
        pred = self.predict(test.rows, test.cols, clip=clip)
        return {"rmse": rmse(test.values, pred), "mae": mae(test.values, pred)}


def _counts(ratings: RatingTriplets):
    n_movies, n_users = ratings.shape
    return (np.bincount(ratings.rows, minlength=n_movies).astype(float),
            np.bincount(ratings.cols, minlength=n_users).astype(float))


def _training_set(train) -> RatingTriplets:
    train = _as_triplets(train, "train")
    if train.n_ratings == 0:
        raise ValueError("train holds no ratings")
    return train


def fit_global_mean(train) -> FactorModel:
    """Predict the mean training rating for everyone: the floor any model must beat."""
    train = _training_set(train)
    n_movies, n_users = train.shape
    mu = float(train.values.mean())
    return FactorModel(mu, np.zeros(n_movies), np.zeros(n_users), info={"model": "global mean"})


def fit_movie_means(train, shrinkage=0.0) -> FactorModel:
    r"""Predict each movie's (optionally shrunk) mean training rating, whoever asks.

    :math:`\hat y_{ij} = (\sum_{j'} y_{ij'} + k\mu) / (n_i + k)`, see
    :func:`shrunk_means`; a movie without training ratings gets the global
    mean :math:`\mu`.
    """
    train = _training_set(train)
    k = _nonneg_float(shrinkage, "shrinkage")
    n_movies, n_users = train.shape
    mu = float(train.values.mean())
    counts, _ = _counts(train)
    sums = np.bincount(train.rows, weights=train.values, minlength=n_movies)
    means = np.where(counts + k > 0, (sums + k * mu) / np.maximum(counts + k, 1e-300), mu)
    return FactorModel(mu, means - mu, np.zeros(n_users), info={"model": "movie mean", "shrinkage": k})


def fit_baseline(train, lambda_movie=3.0, lambda_user=5.0, *, max_iter=100, tol=1e-10) -> FactorModel:
    r"""Regularised movie and user biases: :math:`\hat y_{ij} = \mu + b_i + c_j`.

    Minimises

    .. math::

        \frac12 \sum_{(i,j)\ \mathrm{rated}} (\mu + b_i + c_j - y_{ij})^2
        + \frac{\lambda_m}{2}\sum_i b_i^2 + \frac{\lambda_u}{2}\sum_j c_j^2

    with :math:`\mu` the mean training rating, by exact alternating
    minimisation: with the user biases fixed, each movie bias has the closed
    form :math:`b_i = \sum_j (y_{ij} - \mu - c_j) / (\lambda_m + n_i)` (a
    mean shrunk towards 0 by :math:`\lambda_m` pseudo-ratings), and likewise
    for the users. The problem is convex, so the sweeps converge to its
    unique minimiser; this is Koren's "baseline predictor" (the one Surprise
    calls ``BaselineOnly``, which stops after 10 sweeps).

    Parameters
    ----------
    train : RatingTriplets
    lambda_movie, lambda_user : float, default 3.0 and 5.0
        Pseudo-counts of shrinkage. The defaults were the best of a grid
        on a random 10% validation split of u1.base (RMSE 0.9397; the
        surface is flat from 2 to 5).
    max_iter : int, default=100
        Maximum number of sweeps (movies then users).
    tol : float, default=1e-10
        Stop when no bias moved by more than this in a sweep.
    """
    train = _training_set(train)
    lm = _nonneg_float(lambda_movie, "lambda_movie")
    lu = _nonneg_float(lambda_user, "lambda_user")
    n_movies, n_users = train.shape
    mu = float(train.values.mean())
    n_m, n_u = _counts(train)
    r = train.values - mu
    b = np.zeros(n_movies)
    c = np.zeros(n_users)
    history = []
    for sweep in range(int(max_iter)):
        b_new = np.bincount(train.rows, weights=r - c[train.cols], minlength=n_movies)
        b_new = np.divide(b_new, lm + n_m, out=np.zeros(n_movies), where=(lm + n_m) > 0)
        c_new = np.bincount(train.cols, weights=r - b_new[train.rows], minlength=n_users)
        c_new = np.divide(c_new, lu + n_u, out=np.zeros(n_users), where=(lu + n_u) > 0)
        change = max(np.max(np.abs(b_new - b)), np.max(np.abs(c_new - c)))
        b, c = b_new, c_new
        e = r - b[train.rows] - c[train.cols]
        history.append(0.5 * float(e @ e) + 0.5 * lm * float(b @ b) + 0.5 * lu * float(c @ c))
        if change <= tol:
            break
    return FactorModel(mu, b, c, history=history,
                       info={"model": "baseline (biases)", "lambda_movie": lm, "lambda_user": lu,
                             "iterations": len(history)})


def _penalty_weights(ratings: RatingTriplets, weighted: bool):
    if weighted:
        return _counts(ratings)
    return np.ones(ratings.shape[0]), np.ones(ratings.shape[1])


def mf_cost_and_gradients(X, Theta, b_movie, b_user, ratings, *, mu=0.0, lambda_=0.0,
                          lambda_bias=None, weighted_lambda=False):
    r"""Cost and gradients of (biased) matrix factorisation over observed ratings.

    .. math::

        J = \frac12 \sum_{(i,j)\ \mathrm{rated}} \bigl(\mu + b_i + c_j + x^{(i)}\cdot\theta^{(j)} - y_{ij}\bigr)^2
          + \frac{\lambda}{2}\Bigl(\sum_i w_i \lVert x^{(i)} \rVert^2 + \sum_j w_j \lVert \theta^{(j)} \rVert^2\Bigr)
          + \frac{\lambda_b}{2}\Bigl(\sum_i b_i^2 + \sum_j c_j^2\Bigr)

    with :math:`w_i = w_j = 1`, or, with ``weighted_lambda=True``,
    :math:`w_i = n_i` (movie *i*'s number of ratings) and :math:`w_j = n_j`
    (user *j*'s): the "weighted-lambda" regularisation of ALS-WR (Zhou et al.
    2008) that Spark MLlib's explicit ALS uses. The bias penalty is never
    weighted: it is a pseudo-count shrinking rarely rated movies' biases, as in
    :func:`fit_baseline`. With zero biases, ``mu = 0`` and ``lambda_bias``
    irrelevant this is :func:`cofi_cost` (weighted or not).

    Parameters
    ----------
    X : ndarray (n_movies, k); Theta : ndarray (n_users, k)
    b_movie : ndarray (n_movies,); b_user : ndarray (n_users,)
    ratings : RatingTriplets
    mu : float
    lambda_ : float
        Penalty on the features.
    lambda_bias : float, optional
        Penalty on the biases; default ``lambda_``.
    weighted_lambda : bool

    Returns
    -------
    J : float
    X_grad, Theta_grad, b_movie_grad, b_user_grad : ndarrays shaped like the inputs
    """
    ratings = _as_triplets(ratings)
    lam = _nonneg_float(lambda_, "lambda_")
    lam_b = lam if lambda_bias is None else _nonneg_float(lambda_bias, "lambda_bias")
    w_m, w_u = _penalty_weights(ratings, weighted_lambda)
    X = np.ascontiguousarray(X, dtype=float)
    Theta = np.ascontiguousarray(Theta, dtype=float)
    b = np.asarray(b_movie, dtype=float)
    c = np.asarray(b_user, dtype=float)
    return _mf_cost_grad(ratings.observed(), X, Theta, b, c, float(mu), lam, lam_b, w_m, w_u)


def _mf_cost_grad(obs, X, Theta, b, c, mu, lam, lam_b, w_m, w_u, *, gradients=True):
    err = obs._residuals(X, Theta)
    err += mu
    err += b.take(obs.rows)
    err += c.take(obs.cols)
    J = 0.5 * float(err @ err)
    J += 0.5 * lam * (float(w_m @ np.einsum("ij,ij->i", X, X)) + float(w_u @ np.einsum("ij,ij->i", Theta, Theta)))
    J += 0.5 * lam_b * (float(b @ b) + float(c @ c))
    if not gradients:
        return J
    E = obs._error_matrix(err)
    X_grad = E @ Theta
    X_grad += lam * w_m[:, None] * X
    Theta_grad = E.T @ X
    Theta_grad += lam * w_u[:, None] * Theta
    b_grad = np.bincount(obs.rows, weights=err, minlength=b.size) + lam_b * b
    c_grad = np.bincount(obs.cols, weights=err, minlength=c.size) + lam_b * c
    return J, X_grad, Theta_grad, b_grad, c_grad


#: Up to this many unknowns per row, ALS solves all rows as one batch (see :func:`_ridge_rows`).
_BATCHED_MAX_UNKNOWNS = 20


def _ridge_rows(obs: ObservedRatings, F, target, pen_weighted, pen_fixed, weights, out):
    r"""One ALS half-step: the exact ridge solution for every row *i* of ``obs``.

    Row *i* holds the ratings ``r`` with targets :math:`t_r` whose "inputs"
    are the rows :math:`F_{c(r)}` of the other side. With
    :math:`D_i = \mathrm{diag}(w_i\,p^{\mathrm{weighted}} + p^{\mathrm{fixed}})`,

    .. math::

        z_i = \arg\min_z \tfrac12 \sum_{r \in \mathrm{row}\ i} (F_{c(r)} \cdot z - t_r)^2
              + \tfrac12 z^T D_i z
        \quad\Longleftrightarrow\quad (F_i^T F_i + D_i)\, z_i = F_i^T t_i,

    written into ``out[i]``.

    Two implementations, the same result to rounding:

    * **batched**, for up to 20 unknowns and a positive penalty on each: every other-side row's outer
      product :math:`F_c F_c^T` is formed once, one sparse product (the
      rated-indicator matrix times those outer products) sums them into all
      normal matrices at once, and one batched ``np.linalg.solve`` solves
      them. Measured on u1.base (1682 movies): 6 ms for 11 unknowns, against
      40 ms for the loop below.
    * **a loop over rows**, otherwise: each row's normal matrix by
      one BLAS ``dsyrk``, solved by one LAPACK ``dposv`` (Cholesky). The
      batched form's work grows with the square of the unknowns per
      *rating*; at 41 unknowns the loop took 48 ms against 76 ms, and at 101
      0.24 s of CPU against 0.95 s.

    The callers pin BLAS to one thread: for these small solves OpenBLAS with
    two threads was 8x slower.

    Rows without ratings get ``z = 0`` (the penalty's minimiser). A row whose
    matrix is singular (no penalty and fewer ratings than unknowns) gets the
    minimum-norm least-squares solution.
    """
    from scipy import sparse
    from scipy.linalg import blas, lapack

    penalties = weights[:, None] * pen_weighted + pen_fixed  # one row of diagonal penalties per row
    empty = obs._indptr[1:] == obs._indptr[:-1]
    n_rows, n_other = obs.shape
    k1 = F.shape[1]
    # Without a positive penalty on every unknown a normal matrix can be singular:
    # only the loop, with its least-squares fallback, handles that.
    if k1 <= _BATCHED_MAX_UNKNOWNS and np.all(penalties[~empty] > 0):
        T = obs._error_matrix(target)  # the targets as a CSR matrix
        indicator = sparse.csr_matrix((np.ones(obs.n_ratings), T.indices, T.indptr), shape=obs.shape)
        outer = np.einsum("ni,nj->nij", F, F).reshape(n_other, k1 * k1)
        A = (indicator @ outer).reshape(n_rows, k1, k1)
        A.reshape(n_rows, -1)[:, :: k1 + 1] += penalties
        rhs = T @ F
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


def _rows_with_inputs(obs: ObservedRatings, F, target):
    """Yield ``(i, F_i, t_i)`` for every row *i* of ``obs`` that has ratings.

    ``F_i`` stacks the rows of ``F`` for the columns row *i* rated, ``t_i``
    their targets. ``F`` is gathered for a block of rows at a time (about 2
    million floats), so memory stays bounded however many ratings there are;
    the block is C-ordered, so ``F_i.T`` is Fortran-ordered and BLAS takes it
    without a copy.
    """
    indptr, other = obs._indptr, obs.cols
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


def fit_mf(train, num_features=10, lambda_=10.0, *, method="als", biases=True, lambda_bias=None,
           weighted_lambda=False, max_iter=None, tol=1e-6, seed=0, init_scale=0.1,
           X0=None, Theta0=None, callback=None, progress=False) -> FactorModel:
    r"""Fit (biased) matrix factorisation to training ratings.

    Minimises the cost of :func:`mf_cost_and_gradients`:

    .. math::

        J = \frac12 \sum_{(i,j)\ \mathrm{rated}} \bigl(\mu + b_i + c_j + x^{(i)}\cdot\theta^{(j)} - y_{ij}\bigr)^2
          + \frac{\lambda}{2}\Bigl(\sum_i w_i \lVert x^{(i)} \rVert^2 + \sum_j w_j \lVert \theta^{(j)} \rVert^2\Bigr)
          + \frac{\lambda_b}{2}\Bigl(\sum_i b_i^2 + \sum_j c_j^2\Bigr)

    where :math:`\mu` is the mean training rating (fixed, not learned).

    **Methods.** ``"lbfgs"``: L-BFGS-B (20 stored corrections) on all
    parameters flattened into one vector, with the analytic gradient. ``"als"``: alternating least squares.
    With the users' :math:`(\theta^{(j)}, c_j)` fixed, :math:`J` is a
    separate ridge regression for each movie: augmenting each user's
    features with a constant 1, :math:`[\theta^{(j)}, 1] \cdot [x^{(i)}, b_i]
    = x^{(i)}\cdot\theta^{(j)} + b_i`, so the movie's features *and* bias
    solve one :math:`(k+1)`-unknown system

    .. math::

        \Bigl(\sum_{j \in \Omega_i} \tilde\theta^{(j)}\tilde\theta^{(j)T}
              + \mathrm{diag}(w_i\lambda, \dots, w_i\lambda, \lambda_b)\Bigr)
        \begin{bmatrix}x^{(i)} \\ b_i\end{bmatrix}
        = \sum_{j \in \Omega_i} \tilde\theta^{(j)} (y_{ij} - \mu - c_j),
        \qquad \tilde\theta^{(j)} = \begin{bmatrix}\theta^{(j)} \\ 1\end{bmatrix}

    and then the same for every user with the movies fixed. Each half-step
    is the exact minimiser over its block, so :math:`J` never increases.

    **Spark's ALS.** ``method="als", biases=False, weighted_lambda=True``
    solves exactly the problem of Spark MLlib's explicit ALS
    (``pyspark.ml.recommendation.ALS(rank=k, regParam=lambda_,
    implicitPrefs=False, nonnegative=False)``): for each user it solves
    :math:`(V_u^T V_u + \lambda\, n_u I)\,x_u = V_u^T r_u` with
    :math:`n_u` the user's number of ratings, and likewise for items; no
    global mean, no biases. Spark's cost is
    :math:`\sum (r - x\cdot y)^2 + \lambda(\sum_u n_u \lVert x_u \rVert^2 +
    \sum_i n_i \lVert y_i \rVert^2)`, twice ours: same minimisers. Spark's
    defaults are ``rank=10, regParam=0.1, maxIter=10``; it stores factors in
    float32 and starts from other random factors, so the two runs reach
    slightly different local minima of the same cost. (Spark's "user" is our
    column index, its "item" our row index.)

    Parameters
    ----------
    train : RatingTriplets
    num_features : int, default=10
        ``k``; 0 fits biases only.
    lambda_ : float, default=10.0
        Penalty :math:`\lambda` on the features (per rating when
        ``weighted_lambda``: then sensible values are around 0.05-0.1).
    method : {"als", "lbfgs"}, default="als"
    biases : bool, default=True
        Learn :math:`\mu, b, c`. ``False``: :math:`\hat y = x\cdot\theta`
        (the course's model on raw ratings, and Spark's).
    lambda_bias : float, optional
        Penalty :math:`\lambda_b` on the biases (never weighted); default ``lambda_``.
    weighted_lambda : bool, default=False
        Multiply :math:`\lambda` by each row's number of ratings (ALS-WR).
        Movies/users without ratings then have no penalty and get zero features.
    max_iter : int, optional
        ALS sweeps (default 30) or L-BFGS iterations (default 500).
    tol : float, default=1e-6
        Stop when a sweep/iteration lowers :math:`J` by less than ``tol``
        times :math:`J` (L-BFGS: its ``ftol``).
    seed : int, default=0
        Seed of the initial features, normal with standard deviation ``init_scale``.
    init_scale : float, default=0.1
    X0, Theta0 : array_like, optional
        Initial features instead of the seeded random ones (ALS only uses
        ``Theta0``: its first half-step solves for the movies).
    callback : callable, optional
        ``callback(iteration, model)`` after every ALS sweep / L-BFGS
        iteration, with the current :class:`FactorModel`; return ``True``
        to stop early (e.g. once a held-out RMSE is reached).
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    FactorModel
        With ``history`` (cost :math:`J` at the start and after every
        iteration) and ``info`` (hyper-parameters, iterations, seconds).
    """
    import time

    from threadpoolctl import threadpool_limits

    train = _training_set(train)
    if method not in ("als", "lbfgs"):
        raise ValueError(f"method must be 'als' or 'lbfgs'; got {method!r}")
    if isinstance(num_features, bool) or int(num_features) != num_features or num_features < 0:
        raise ValueError(f"num_features must be a non-negative integer; got {num_features!r}")
    k = int(num_features)
    if k == 0 and not biases:
        raise ValueError("num_features=0 without biases leaves nothing to fit")
    lam = _nonneg_float(lambda_, "lambda_")
    lam_b = lam if lambda_bias is None else _nonneg_float(lambda_bias, "lambda_bias")
    if max_iter is None:
        max_iter = 30 if method == "als" else 500
    if isinstance(max_iter, bool) or int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    max_iter = int(max_iter)
    tol = _nonneg_float(tol, "tol")
    n_movies, n_users = train.shape
    obs = train.observed()
    w_m, w_u = _penalty_weights(train, weighted_lambda)
    mu = float(train.values.mean()) if biases else 0.0
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, init_scale, (n_movies, k)) if X0 is None else _as_2d_float(X0, "X0").copy()
    Theta = rng.normal(0.0, init_scale, (n_users, k)) if Theta0 is None else _as_2d_float(Theta0, "Theta0").copy()
    if X.shape != (n_movies, k) or Theta.shape != (n_users, k):
        raise ValueError(f"X0 must be {(n_movies, k)} and Theta0 {(n_users, k)}; got {X.shape} and {Theta.shape}")
    b, c = np.zeros(n_movies), np.zeros(n_users)
    if weighted_lambda:  # rows without ratings are unconstrained: pin them to 0
        X[w_m == 0] = 0.0
        Theta[w_u == 0] = 0.0
    info = {"model": "biased MF" if biases else "MF", "method": method, "num_features": k,
            "lambda_": lam, "lambda_bias": lam_b if biases else None,
            "weighted_lambda": bool(weighted_lambda), "seed": seed}

    def model_of(X, Theta, b, c, history, **extra):
        return FactorModel(mu, b, c, X, Theta, history=history, info={**info, **extra})

    def cost(X, Theta, b, c):
        return _mf_cost_grad(obs, X, Theta, b, c, mu, lam, lam_b, w_m, w_u)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_iter, desc=f"{method} k={k}", unit="it")
    history = [cost(X, Theta, b, c)[0]]
    start = time.perf_counter()
    stopped = False
    try:
        if method == "als":
            obs_t = train._observed_transposed()
            # Penalty of each unknown: the features get w_i * lam (w_i = 1 unless
            # weighted_lambda), the bias unknown (last column) lam_b, never weighted.
            pen_w = np.r_[np.full(k, lam), 0.0] if biases else np.full(k, lam)
            pen_f = np.r_[np.zeros(k), lam_b] if biases else np.zeros(k)
            Z_m = np.empty((n_movies, pen_w.size))
            Z_u = np.empty((n_users, pen_w.size))
            with threadpool_limits(limits=1, user_api="blas"):
                for it in range(1, max_iter + 1):
                    # movies: inputs [theta_j, 1], targets y_ij - mu - c_j
                    F = np.column_stack([Theta, np.ones(n_users)]) if biases else Theta
                    t = obs.values - mu - c.take(obs.cols) if biases else obs.values
                    _ridge_rows(obs, F, t, pen_w, pen_f, w_m, Z_m)
                    X = Z_m[:, :k].copy()
                    if biases:
                        b = Z_m[:, k].copy()
                    # users: inputs [x_i, 1], targets y_ij - mu - b_i
                    F = np.column_stack([X, np.ones(n_movies)]) if biases else X
                    t = obs_t.values - mu - b.take(obs_t.cols) if biases else obs_t.values
                    _ridge_rows(obs_t, F, t, pen_w, pen_f, w_u, Z_u)
                    Theta = Z_u[:, :k].copy()
                    if biases:
                        c = Z_u[:, k].copy()
                    J = _mf_cost_grad(obs, X, Theta, b, c, mu, lam, lam_b, w_m, w_u, gradients=False)
                    history.append(J)
                    if bar is not None:
                        bar.update(1)
                    if callback is not None and callback(it, model_of(X, Theta, b, c, history)):
                        stopped = True
                        break
                    if history[-2] - J <= tol * abs(history[-2]):
                        break
        else:
            from scipy.optimize import minimize

            sizes = [n_movies * k, n_users * k] + ([n_movies, n_users] if biases else [])
            cuts = np.cumsum(sizes)[:-1]

            def unpack(p):
                parts = np.split(p, cuts)
                Xp, Tp = parts[0].reshape(n_movies, k), parts[1].reshape(n_users, k)
                if biases:
                    return Xp, Tp, parts[2], parts[3]
                return Xp, Tp, b, c

            def fun(p):
                J, Xg, Tg, bg, cg = cost(*unpack(p))
                grads = [Xg.ravel(), Tg.ravel()] + ([bg, cg] if biases else [])
                return J, np.concatenate(grads)

            iteration = [0]

            def on_iter(intermediate_result):
                iteration[0] += 1
                history.append(float(intermediate_result.fun))
                if bar is not None:
                    bar.update(1)
                if callback is not None:
                    Xp, Tp, bp, cp = (a.copy() for a in unpack(intermediate_result.x))
                    if callback(iteration[0], model_of(Xp, Tp, bp, cp, history)):
                        raise StopIteration

            p0 = np.concatenate([X.ravel(), Theta.ravel()] + ([b, c] if biases else []))
            with threadpool_limits(limits=1, user_api="blas"):
                res = minimize(fun, p0, jac=True, method="L-BFGS-B", callback=on_iter,
                               options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-12, "maxcor": 20})
            stopped = res.status == 99  # the callback raised StopIteration
            X, Theta, b, c = (a.copy() for a in unpack(res.x))
            info["message"] = str(res.message)
    finally:
        if bar is not None:
            bar.close()
    return model_of(X, Theta, b, c, history, iterations=len(history) - 1,
                    seconds=time.perf_counter() - start, stopped_by_callback=stopped)


def _sample_normal_wishart(Z, rng, beta0=2.0):
    r"""Draw :math:`(m, \Lambda)` from the Normal-Wishart posterior given the rows of ``Z``.

    Prior: :math:`\Lambda \sim \mathcal W(W_0 = I, \nu_0 = d)`,
    :math:`m \mid \Lambda \sim \mathcal N(0, (\beta_0\Lambda)^{-1})`.
    With :math:`N` rows of mean :math:`\bar z` and scatter :math:`S`
    (divided by :math:`N`), the posterior has :math:`\beta = \beta_0 + N`,
    :math:`\nu = d + N`, :math:`m^* = N\bar z/\beta` and
    :math:`W^{-1} = I + N S + \frac{\beta_0 N}{\beta}\bar z \bar z^T`.
    """
    from scipy import stats

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
    :math:`h_i = \Lambda m + \alpha F_i^T t_i`. With the Cholesky factor
    :math:`A_i = U^T U`, the draw is :math:`A_i^{-1}h_i + U^{-1}\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, I)`. Rows without ratings are
    drawn from the prior :math:`\mathcal N(m, \Lambda^{-1})`. Up to
    ``_BATCHED_MAX_UNKNOWNS`` unknowns all rows are drawn as one batch
    (batched Cholesky and solve), beyond that row by row with LAPACK; both
    give the same draw for the same :math:`\varepsilon`.
    """
    from scipy import sparse
    from scipy.linalg import blas, lapack

    eps = rng.standard_normal(out.shape)
    Lm = Lam @ m
    n_rows, n_other = obs.shape
    k1 = F.shape[1]
    if k1 <= _BATCHED_MAX_UNKNOWNS:
        # All rows at once (as in _ridge_rows): with A = L L^T, A^-1 (h + L eps) = A^-1 h + L^-T eps,
        # the same draw as the loop's U^-1 eps (U = L^T); rows without ratings get A = Lam.
        T = obs._error_matrix(target)
        indicator = sparse.csr_matrix((np.ones(obs.n_ratings), T.indices, T.indptr), shape=obs.shape)
        outer = np.einsum("ni,nj->nij", F, F).reshape(n_other, k1 * k1)
        A = (indicator @ outer).reshape(n_rows, k1, k1)
        A *= alpha
        A += Lam
        rhs = alpha * (T @ F) + Lm
        L = np.linalg.cholesky(A)
        rhs += np.einsum("nij,nj->ni", L, eps)
        out[:] = np.linalg.solve(A, rhs[..., None])[..., 0]
        return
    empty = np.flatnonzero(obs._indptr[1:] == obs._indptr[:-1])
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


def fit_bayesian_mf(train, num_features=10, *, n_samples=200, burn_in=50, thin=1,
                    noise_precision=None, seed=0, callback=None, progress=False) -> FactorModel:
    r"""Bayesian biased matrix factorisation, fitted by Gibbs sampling.

    Instead of one point estimate with a hand-tuned :math:`\lambda` (what
    :func:`fit_mf` returns), average the predictions of many plausible
    factorisations drawn from the posterior: Bayesian probabilistic matrix
    factorisation (BPMF, Salakhutdinov & Mnih 2008), here with biases.

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
    regularisation, which :func:`fit_mf` needs a validation search for. The
    noise precision :math:`\alpha` gets a Gamma(1, 1) prior unless fixed
    with ``noise_precision``.

    **Sampler.** Each sweep draws, in turn, :math:`(m_X, \Lambda_X)` and
    :math:`(m_\Theta, \Lambda_\Theta)` given the features, every movie's
    :math:`[x^{(i)}, b_i]` given the users (a Gaussian: the same normal
    equations as an ALS half-step, with :math:`\Lambda_X` in place of
    :math:`\lambda I`), every user's :math:`[\theta^{(j)}, c_j]` given the
    movies, and :math:`\alpha`. It starts from 10 ALS sweeps of
    :func:`fit_mf`, discards ``burn_in`` sweeps, then keeps every ``thin``-th
    draw until it has ``n_samples``.

    **Prediction.** The average of the kept draws' predictions, a Monte
    Carlo estimate of the posterior mean. An average of factor models is a
    factor model (see :func:`blend`), so the result is a
    :class:`FactorModel` with ``n_samples * num_features`` features.

    Parameters
    ----------
    train : RatingTriplets
    num_features : int, default=10
    n_samples : int, default=200
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
        :class:`FactorModel` of that single draw (average the predictions
        yourself to follow the running estimate); return ``True`` to stop.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    FactorModel
        ``history``: training RMSE of each sweep's draw; ``info``: the
        hyper-parameters, ``noise_precision`` (the trace of :math:`\alpha`),
        ``samples``, ``seconds``.
    """
    import time

    from threadpoolctl import threadpool_limits

    train = _training_set(train)
    for name, v, low in (("num_features", num_features, 1), ("n_samples", n_samples, 1),
                         ("burn_in", burn_in, 0), ("thin", thin, 1)):
        if isinstance(v, bool) or int(v) != v or v < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {v!r}")
    k, n_samples, burn_in, thin = int(num_features), int(n_samples), int(burn_in), int(thin)
    if noise_precision is not None:
        noise_precision = _nonneg_float(noise_precision, "noise_precision")
        if noise_precision == 0:
            raise ValueError("noise_precision must be positive")
    rng = np.random.default_rng(seed)
    n_movies, n_users = train.shape
    obs, obs_t = train.observed(), train._observed_transposed()
    start = time.perf_counter()
    init = fit_mf(train, k, 10.0, lambda_bias=5.0, max_iter=10, seed=seed)
    mu = init.mu
    U = np.column_stack([init.X, init.b_movie])  # movie unknowns [x_i, b_i]
    V = np.column_stack([init.Theta, init.b_user])  # user unknowns [theta_j, c_j]
    alpha = 2.0 if noise_precision is None else noise_precision
    kept_X, kept_T, b_sum, c_sum = [], [], np.zeros(n_movies), np.zeros(n_users)
    history, alphas = [], []
    total = burn_in + thin * n_samples
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"Gibbs k={k}", unit="sweep")
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            for sweep in range(1, total + 1):
                mX, LX = _sample_normal_wishart(U, rng)
                mT, LT = _sample_normal_wishart(V, rng)
                F = np.column_stack([V[:, :k], np.ones(n_users)])
                _gibbs_rows(obs, F, obs.values - mu - V[obs.cols, k], alpha, mX, LX, rng, U)
                F = np.column_stack([U[:, :k], np.ones(n_movies)])
                _gibbs_rows(obs_t, F, obs_t.values - mu - U[obs_t.cols, k], alpha, mT, LT, rng, V)
                X, T, b, c = U[:, :k].copy(), V[:, :k].copy(), U[:, k].copy(), V[:, k].copy()
                r = obs._residuals(X, T)
                r += mu
                r += b.take(obs.rows)
                r += c.take(obs.cols)
                err = float(r @ r)
                history.append(float(np.sqrt(err / obs.n_ratings)))
                if noise_precision is None:
                    alpha = float(rng.gamma(1.0 + obs.n_ratings / 2, 1.0 / (1.0 + err / 2)))
                alphas.append(alpha)
                if bar is not None:
                    bar.update(1)
                if sweep > burn_in and (sweep - burn_in) % thin == 0:
                    kept_X.append(X)
                    kept_T.append(T)
                    b_sum += b
                    c_sum += c
                    if callback is not None and callback(sweep, FactorModel(mu, b, c, X, T)):
                        break
    finally:
        if bar is not None:
            bar.close()
    S = len(kept_X)
    if S == 0:
        raise ValueError("no draw was kept: the callback stopped the sampler during the burn-in")
    info = {"model": "Bayesian MF (Gibbs)", "num_features": k, "samples": S, "burn_in": burn_in,
            "thin": thin, "seed": seed, "noise_precision": alphas,
            "seconds": time.perf_counter() - start}
    return FactorModel(mu, b_sum / S, c_sum / S, np.hstack(kept_X) / S, np.hstack(kept_T),
                       history=history, info=info)


def blend(models, weights=None, *, validation=None) -> FactorModel:
    r"""A weighted sum of fitted models' predictions, as one :class:`FactorModel`.

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
    models : sequence of FactorModel
        Same shape.
    weights : sequence of float, optional
        Default: equal weights summing to 1 (an average), or, when
        ``validation`` is given, least-squares weights fitted on it.
    validation : RatingTriplets, optional
        Held-out ratings (never the test set) to fit the weights on: the
        weights minimise the squared error of the unclipped blended
        predictions there.

    Returns
    -------
    FactorModel
        ``info["weights"]`` holds the weights used.
    """
    models = list(models)
    if not models or not all(isinstance(m, FactorModel) for m in models):
        raise ValueError("models must be a non-empty sequence of FactorModel")
    shape = models[0].shape
    if any(m.shape != shape for m in models):
        raise ValueError(f"all models must have the same shape; got {[m.shape for m in models]}")
    if weights is not None and validation is not None:
        raise ValueError("give weights or validation, not both")
    if validation is not None:
        validation = _as_triplets(validation, "validation")
        P = np.column_stack([m.predict(validation.rows, validation.cols, clip=False) for m in models])
        w = np.linalg.lstsq(P, validation.values, rcond=None)[0]
    elif weights is None:
        w = np.full(len(models), 1.0 / len(models))
    else:
        w = np.asarray(weights, dtype=float).ravel()
        if w.size != len(models) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be {len(models)} finite numbers; got {weights!r}")
    mu = float(sum(wm * m.mu for wm, m in zip(w, models)))
    b = sum(wm * m.b_movie for wm, m in zip(w, models))
    c = sum(wm * m.b_user for wm, m in zip(w, models))
    X = np.hstack([wm * m.X for wm, m in zip(w, models)])
    Theta = np.hstack([m.Theta for m in models])
    ranges = {m.rating_range for m in models}
    return FactorModel(mu, b, c, X, Theta, rating_range=ranges.pop() if len(ranges) == 1 else None,
                       info={"model": "blend", "weights": w.tolist(),
                             "parts": [m.info.get("model", "FactorModel") for m in models]})
