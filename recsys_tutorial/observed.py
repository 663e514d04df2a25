"""The ratings that exist, as index arrays: the one ratings type, and the fast cost.

:func:`helpers.cofi_cost` and :func:`helpers.cofi_gradients` compute on the full
``(n_movies, n_users)`` matrix, which is what a learner reads and what the
formula says. On MovieLens 100K only 6.3 % of that matrix is rated, so the
trainers (``helpers.gradient_descent``, ``helpers.train_lbfgs``, with
``sparse=None`` or ``True``) use :meth:`ObservedRatings.cost_and_gradients`
instead: the same cost and gradients computed over the ``n_ratings`` observed
entries only, O(n_ratings x n_features) time and memory instead of
O(n_movies x n_users x n_features). The tests check that both agree.

The same type carries training and test sets for the held-out evaluation in
:mod:`research` (two sets built for one data set share one ``shape``).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .settings import use_numba
from .validation import as_indices, as_int, as_ratings


class RowGroups(NamedTuple):
    """The ratings sorted by row: row ``i`` owns ``cols[indptr[i]:indptr[i + 1]]``."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    indptr: np.ndarray


class ObservedRatings:
    """Ratings as ``(movie, user, rating)`` triplets, with the shape of the full matrix.

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

    __slots__ = ("rows", "cols", "values", "shape", "_groups", "_csr_index", "_kernel_index", "_transposed")

    def __init__(self, rows, cols, values, shape):
        rows = as_indices(rows, "rows")
        cols = as_indices(cols, "cols")
        values = np.asarray(values)
        if np.iscomplexobj(values) or not (values.dtype.kind in "biuf" or values.size == 0):
            raise ValueError(f"values must hold real numbers; got dtype {values.dtype}")
        values = values.astype(float)
        if not (rows.shape == cols.shape == values.shape):
            raise ValueError(
                f"rows, cols and values must have the same length; got {rows.size}, {cols.size}, {values.size}")
        try:
            n_movies, n_users = shape
        except (TypeError, ValueError):
            raise ValueError(f"shape must be (n_movies, n_users); got {shape!r}") from None
        n_movies = as_int(n_movies, "shape[0] (n_movies)", low=1)
        n_users = as_int(n_users, "shape[1] (n_users)", low=1)
        if rows.size:
            if rows.min() < 0 or rows.max() >= n_movies:
                raise ValueError(f"movie indices (rows) must lie in 0..{n_movies - 1} to index into shape {shape}; "
                                 f"got {rows.min()}..{rows.max()}")
            if cols.min() < 0 or cols.max() >= n_users:
                raise ValueError(f"user indices (cols) must lie in 0..{n_users - 1} to index into shape {shape}; "
                                 f"got {cols.min()}..{cols.max()}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values must be finite (no NaN or inf)")
        self.rows, self.cols, self.values = rows, cols, values
        self.shape = (n_movies, n_users)
        self._groups = self._csr_index = self._transposed = None
        self._kernel_index = {}
        self.by_row()  # sorts once and refuses a (movie, user) pair given twice

    @classmethod
    def from_dense(cls, Y, R) -> "ObservedRatings":
        """The rated entries of a ``(Y, R)`` pair, in row-major order."""
        Y, R = as_ratings(Y, R)
        rows, cols = np.nonzero(R)
        return cls(rows, cols, Y[rows, cols], Y.shape)

    @property
    def n_ratings(self) -> int:
        """Number of ratings."""
        return int(self.values.size)

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        return f"ObservedRatings({self.n_ratings} ratings, shape={self.shape})"

    def subset(self, index) -> "ObservedRatings":
        """The ratings selected by an integer or boolean index, same ``shape``."""
        index = np.asarray(index)
        return ObservedRatings(self.rows[index], self.cols[index], self.values[index], self.shape)

    def to_dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Y, R)`` of ``shape``: the ratings and the rated mask (0/False elsewhere)."""
        Y = np.zeros(self.shape)
        R = np.zeros(self.shape, dtype=bool)
        Y[self.rows, self.cols] = self.values
        R[self.rows, self.cols] = True
        return Y, R

    def by_row(self) -> RowGroups:
        """The ratings sorted row-major with row pointers (built once, then reused)."""
        if self._groups is None:
            rows, cols, values = self.rows, self.cols, self.values
            same_row = rows[1:] == rows[:-1]
            if not np.all((rows[1:] > rows[:-1]) | (same_row & (cols[1:] > cols[:-1]))):
                order = np.lexsort((cols, rows))
                rows, cols, values = rows[order], cols[order], values[order]
                same_row = rows[1:] == rows[:-1]
            dup = same_row & (cols[1:] == cols[:-1])
            if np.any(dup):
                r = int(np.argmax(dup))
                raise ValueError(
                    f"a (movie, user) pair appears more than once: (row {rows[r]}, col {cols[r]}); "
                    "each pair must be unique")
            indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=self.shape[0]), out=indptr[1:])
            self._groups = RowGroups(rows, cols, values, indptr)
        return self._groups

    def transposed(self) -> "ObservedRatings":
        """The same ratings with users as rows (built once): what a per-user step needs."""
        if self._transposed is None:
            self._transposed = ObservedRatings(self.cols, self.rows, self.values, self.shape[::-1])
        return self._transposed

    def cost_and_gradients(self, X, Theta, lambda_=0.0, *, compiled=None):
        """The cost of :func:`helpers.cofi_cost` and both gradients, over the ratings only.

        Inputs are not validated (the trainers validate once, before their loop).

        Parameters
        ----------
        compiled : bool or None, default=None
            ``True`` runs numba's compiled :func:`_half_pass` (RuntimeError
            where numba cannot run), ``False`` the NumPy reference, ``None``
            the compiled kernel wherever numba is installed and
            ``MOVIE_RECOMMENDER_NUMBA`` allows it (:mod:`recsys_tutorial.settings`).
            The same call always takes the same path; both agree to 1e-10 (tested).

        Returns
        -------
        J : float
        X_grad : ndarray of shape (n_movies, n_features)
        Theta_grad : ndarray of shape (n_users, n_features)
        """
        X = np.ascontiguousarray(X, dtype=float)
        Theta = np.ascontiguousarray(Theta, dtype=float)
        kernel = _kernel(compiled)
        if kernel is None:
            return self._cost_and_gradients_numpy(X, Theta, lambda_)
        lambda_ = float(lambda_)
        X_grad, Theta_grad = np.empty_like(X), np.empty_like(Theta)
        sq = kernel(*self._segments(by_user=False), X, Theta, lambda_, X_grad)
        kernel(*self._segments(by_user=True), Theta, X, lambda_, Theta_grad)
        return 0.5 * sq + _penalty(X, Theta, lambda_), X_grad, Theta_grad

    def _cost_and_gradients_numpy(self, X, Theta, lambda_):
        """:meth:`cost_and_gradients` in NumPy and scipy.sparse: the readable reference."""
        err = self.residuals(X, Theta)
        E = self.as_csr(err)
        J = 0.5 * float(err @ err) + _penalty(X, Theta, lambda_)
        X_grad = E @ Theta
        X_grad += lambda_ * X
        Theta_grad = E.T @ X
        Theta_grad += lambda_ * Theta
        return J, X_grad, Theta_grad

    #: Ratings per block in :meth:`residuals`, so the gathered rows stay small
    #: (see benchmarks/README.md for the measurement behind the number).
    _BLOCK = 32768

    def residuals(self, X, Theta) -> np.ndarray:
        """``x_row . theta_col - value`` for every rating, in :meth:`by_row` order."""
        g = self.by_row()
        n = g.values.size
        err = np.empty(n)
        for s in range(0, n, self._BLOCK):
            e = min(s + self._BLOCK, n)
            np.einsum("ij,ij->i", X.take(g.rows[s:e], axis=0), Theta.take(g.cols[s:e], axis=0), out=err[s:e])
        err -= g.values
        return err

    def as_csr(self, values) -> sparse.csr_matrix:  # noqa: F821 - scipy.sparse, imported here
        """One value per rating, given in :meth:`by_row` order, as a CSR matrix of ``shape``.

        The index arrays are built once (int32 when they fit) and shared by every call.
        scipy.sparse is imported on the first call, not with this module: it costs every
        notebook's setup line about 0.1 s, and the compiled kernel never needs it.
        """
        from scipy import sparse

        if self._csr_index is None:
            g = self.by_row()
            small = max(self.n_ratings, self.shape[1]) < np.iinfo(np.int32).max
            dtype = np.int32 if small else np.int64
            self._csr_index = (g.cols.astype(dtype), g.indptr.astype(dtype))
        return sparse.csr_matrix((values, *self._csr_index), shape=self.shape, copy=False)

    def _segments(self, by_user: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, partners, values)``: the ratings as :func:`_half_pass` reads them (built once per side).

        Grouped by movie (``by_user=False``: the partners are users) or by user
        (partners: movies), and within that split into blocks of
        :data:`PARTNER_BLOCK` partners: segment ``b * n_rows + i`` holds the
        ratings of row ``i`` whose partner lies in block ``b``, from
        ``starts[b * n_rows + i]`` to ``starts[b * n_rows + i + 1]``.
        """
        if by_user not in self._kernel_index:
            g = self.by_row()
            rows, partners = (g.cols, g.rows) if by_user else (g.rows, g.cols)
            n_rows, n_partners = self.shape[::-1] if by_user else self.shape
            n_blocks = -(-n_partners // PARTNER_BLOCK)
            segment = partners // PARTNER_BLOCK * n_rows + rows
            starts = np.zeros(n_blocks * n_rows + 1, dtype=np.int64)
            np.cumsum(np.bincount(segment, minlength=n_blocks * n_rows), out=starts[1:])
            order = None if np.all(segment[1:] >= segment[:-1]) else np.argsort(segment, kind="stable")
            del segment
            # Unsigned 32-bit indices where they fit: numba then skips its checks for negative indices.
            dtype = np.uint32 if max(self.n_ratings, n_partners) <= _KERNEL_INDEX_MAX else np.int64
            partners, values = partners.astype(dtype), g.values
            if order is not None:
                partners, values = partners[order], values[order]
            self._kernel_index[by_user] = (starts.astype(dtype), partners, values)
        return self._kernel_index[by_user]


#: Partners (users, or movies) per block in :meth:`ObservedRatings._segments`: the rows that
#: :func:`_half_pass` gathers within one block (8192 x 10 features x 8 bytes = 640 KB) stay in
#: the L2 cache. It makes ML-25M's gradient 4x faster; ML-100K is one block (benchmarks/README.md).
PARTNER_BLOCK = 8192
#: The largest index the kernel reads as unsigned 32-bit (larger problems: int64).
_KERNEL_INDEX_MAX = np.iinfo(np.uint32).max


def _penalty(X, Theta, lambda_) -> float:
    """``lambda_ / 2 * (||X||^2 + ||Theta||^2)``."""
    return 0.5 * lambda_ * (float(np.einsum("ij,ij->", X, X)) + float(np.einsum("ij,ij->", Theta, Theta)))


# ---------------------------------------------------------------- the compiled kernel (optional)


def _half_pass(starts, partners, values, A, B, lambda_, grad):
    """Half of :meth:`ObservedRatings.cost_and_gradients`: one pass over the ratings, by row of ``A``.

    Segment ``s`` (``starts[s]`` to ``starts[s + 1]``) holds ratings of row
    ``i = s % len(A)``; rating ``p`` pairs it with row ``j = partners[p]`` of
    ``B``. For each one, ``e = A[i] . B[j] - values[p]``; the pass writes
    ``grad[i] = lambda_ * A[i] + sum of e * B[j]`` and returns ``sum of e**2``.
    With ``(X, Theta)`` over the ratings by movie it gives the cost and
    ``X_grad``; with ``(Theta, X)`` over the ratings by user, ``Theta_grad``.
    Both passes only gather rows (no scattered writes), a block of partners at
    a time. Plain Python here; numba compiles it.
    """
    n_rows, n_features = A.shape
    for i in range(n_rows):
        for f in range(n_features):
            grad[i, f] = lambda_ * A[i, f]
    sq = 0.0
    for s in range(starts.size - 1):
        i = s % n_rows
        p, stop = starts[s], starts[s + 1]
        while p < stop:  # two ratings at a time: two independent sums, and half the updates of grad[i]
            q = p + 1 if p + 1 < stop else p  # an odd last rating pairs with itself, counted once
            j, jj = partners[p], partners[q]
            e, ee = -values[p], -values[q]
            for f in range(n_features):
                e += A[i, f] * B[j, f]
                ee += A[i, f] * B[jj, f]
            if q == p:
                ee = 0.0
            sq += e * e + ee * ee
            for f in range(n_features):
                grad[i, f] += e * B[j, f] + ee * B[jj, f]
            p += 2
    return sq


_KERNEL: dict = {}


def _kernel(compiled):
    """The kernel a call of :meth:`ObservedRatings.cost_and_gradients` runs: numba's, or None for NumPy."""
    if compiled is None:
        return compiled_kernel() if use_numba() else None
    if not compiled:
        return None
    kernel = compiled_kernel()
    if kernel is None:
        raise RuntimeError("compiled=True, but numba's kernel cannot run here (numba not installed, or it failed "
                           "to compile; see the warning): use compiled=None or False for the NumPy reference")
    return kernel


def compiled_kernel():
    """numba's compiled :func:`_half_pass`, or None (numba not installed, or failing to compile).

    Imported and compiled on the first call, not at import: ``import numba``
    and reading its cache take about 0.5 s (``benchmarks/README.md``). numba
    keeps the machine code in its on-disk cache (``__pycache__`` beside this
    file, or its user-wide cache folder where that is read-only, or
    ``$NUMBA_CACHE_DIR``), so a later kernel loads it instead of compiling
    again; ``make warm`` does that once. ``reassoc`` and ``contract`` let LLVM
    vectorise the sums and fuse multiply-adds; no other fast-math flag (inf
    and NaN stay IEEE, so a diverging gradient descent still sees them).
    """
    if "kernel" not in _KERNEL:
        _KERNEL["kernel"] = _compile_kernel()
    return _KERNEL["kernel"]


#: The types of the kernel's usual call (32-bit index arrays); others compile when first met.
_SIGNATURE = "float64(uint32[::1], uint32[::1], float64[::1], float64[:, ::1], float64[:, ::1], float64, float64[:, ::1])"


def _compile_kernel():
    try:
        import numba
    except ImportError:
        return None
    try:
        kernel = numba.njit(_half_pass, cache=True, nogil=True, fastmath={"reassoc", "contract"})
        kernel.compile(_SIGNATURE)  # or load it from numba's disk cache
    except Exception as exc:  # a numba that cannot compile here: the NumPy reference still works
        warnings.warn(f"numba could not compile the cost kernel, using NumPy instead: {exc}", stacklevel=3)
        return None
    return kernel
