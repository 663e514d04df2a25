"""Held-out ratings: MovieLens 100K's rating files and predefined splits, and random splits.

Every function here returns :class:`~recsys_tutorial.observed.ObservedRatings`, 0-based and in
the orientation of ``Y`` (movie ``item`` is row ``item - 1``, user ``user`` is
column ``user - 1``). A training and a test set built together share one
``shape``, so that movie ``i`` and user ``j`` mean the same in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..observed import ObservedRatings
from helpers import RATING_MAX
from ..files import MAX_TEXT_BYTES, existing_file
from ..validation import as_bool, as_choice, as_float, as_int, as_observed


#: The predefined MovieLens 100K splits: five 80 %/20 % folds and two with 10 test ratings per user.
FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
_FIELDS = ["user", "item", "rating", "timestamp"]
#: The largest movie or user id read: seven digits, as for movie titles (MovieLens 100K's go up to 1682 and 943).
MAX_ID = 9_999_999


def _read_fast(p: Path):
    """A well-formed file parsed as integers straight away, or ``None`` (then check field by field)."""
    try:
        fast = pd.read_csv(p, sep="\t", header=None, dtype=np.int64)
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError, UnicodeDecodeError):   # 10**30: Overflow
        return None
    if fast.shape[1] != 4:
        return None
    fast.columns = _FIELDS
    if not (fast["user"].between(1, MAX_ID).all() and fast["item"].between(1, MAX_ID).all()
            and fast["rating"].between(1, RATING_MAX).all()):
        return None
    return fast[["user", "item", "rating"]].astype(float)


def _read_checked(p: Path) -> pd.DataFrame:
    """The file read as text and checked field by field, saying what is wrong and on which line."""
    try:
        df = pd.read_csv(p, sep="\t", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"MovieLens ratings file '{p}' is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read MovieLens ratings file '{p}': {exc}") from None
    if df.shape[1] != 4:
        raise ValueError(
            f"MovieLens ratings file '{p}': expected 4 tab-separated fields "
            f"(user, item, rating, timestamp) per line; got {df.shape[1]}")
    df.columns = _FIELDS
    out = {}
    for name in ("user", "item", "rating"):
        values = pd.to_numeric(df[name].str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if name == "rating":
                bad = ~((values >= 1) & (values <= RATING_MAX))
            else:
                bad = ~((values >= 1) & (values <= MAX_ID) & (values % 1 == 0))
        if np.any(bad):
            i = int(np.argmax(bad))
            want = f"a positive integer id (at most {MAX_ID:,})" if name != "rating" else \
                f"a rating from 1 to {RATING_MAX:g}"
            got = df[name].iat[i]
            raise ValueError(
                f"MovieLens ratings file '{p}', line {i + 1}: field '{name}' must be {want}; "
                f"got {got[:40]!r}" + (f" ... ({len(got):,} characters)" if len(got) > 40 else ""))
        out[name] = values
    return pd.DataFrame(out)


def _read_movielens_table(path) -> pd.DataFrame:
    """Columns ``user``, ``item``, ``rating`` (floats) of a ``user<TAB>item<TAB>rating<TAB>timestamp`` file."""
    p = existing_file(path, "MovieLens ratings", max_bytes=MAX_TEXT_BYTES)  # u.data, the largest, is 2 MB
    fast = _read_fast(p)
    return fast if fast is not None else _read_checked(p)


def _triplets_from_table(df: pd.DataFrame, shape, source: str) -> ObservedRatings:
    rows = df["item"].to_numpy().astype(np.int64) - 1
    cols = df["user"].to_numpy().astype(np.int64) - 1
    linear = rows * int(shape[1]) + cols
    uniq, first, counts = np.unique(linear, return_index=True, return_counts=True)
    if uniq.size != linear.size:
        dup = int(first[np.argmax(counts > 1)])
        raise ValueError(f"{source}: user {cols[dup] + 1} rated item {rows[dup] + 1} more than once")
    return ObservedRatings(rows, cols, df["rating"].to_numpy(dtype=float), shape)


def _shape_for(tables, shape) -> tuple[int, int]:
    """``shape`` checked, or by default the largest item and user ids over ``tables``."""
    if shape is None:
        return (max(int(t["item"].max()) for t in tables), max(int(t["user"].max()) for t in tables))
    try:
        n_movies, n_users = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (n_movies, n_users); got {shape!r}") from None
    return as_int(n_movies, "shape[0] (n_movies)", low=1), as_int(n_users, "shape[1] (n_users)", low=1)


def _check_within(df: pd.DataFrame, shape, path) -> None:
    if df["item"].max() > shape[0] or df["user"].max() > shape[1]:
        raise ValueError(
            f"'{path}': ids go up to item {int(df['item'].max())} and user {int(df['user'].max())}, "
            f"beyond shape {shape} (n_movies, n_users)")


def load_movielens_ratings(path, shape=None) -> ObservedRatings:
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
    ObservedRatings
        ``n_ratings`` triplets in the file's order, of ``shape``.

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
    _check_within(df, shape, path)
    return _triplets_from_table(df, shape, f"'{path}'")


def load_movielens_split(directory, fold="u1", *, shape=None) -> tuple[ObservedRatings, ObservedRatings]:
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
    train, test : ObservedRatings
        0-based ``(movie, user, rating)`` triplets sharing one ``shape``.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        As :func:`load_movielens_ratings`, and if a (user, item) pair is in
        both files (the test set would leak into training).
    """
    fold = as_choice(fold, "fold", FOLDS)
    d = Path(directory)
    base_path, test_path = d / f"{fold}.base", d / f"{fold}.test"
    base, held = _read_movielens_table(base_path), _read_movielens_table(test_path)
    shape = _shape_for([base, held], shape)
    for df, p in ((base, base_path), (held, test_path)):
        _check_within(df, shape, p)
    train = _triplets_from_table(base, shape, f"'{base_path}'")
    test = _triplets_from_table(held, shape, f"'{test_path}'")
    both = np.intersect1d(train.rows * shape[1] + train.cols, test.rows * shape[1] + test.cols)
    if both.size:
        item, user = divmod(int(both[0]), shape[1])
        raise ValueError(
            f"{both.size} ratings are in both '{base_path.name}' and '{test_path.name}' "
            f"(e.g. user {user + 1}, item {item + 1}): the test set must be held out")
    return train, test


def _per_user_test_mask(ratings: ObservedRatings, frac: float, rng) -> np.ndarray:
    """True for ``floor(frac * n_j)`` ratings of each user *j*, drawn at random."""
    n = ratings.n_ratings
    key = rng.random(n)
    order = np.lexsort((key, ratings.cols))
    counts = np.bincount(ratings.cols, minlength=ratings.shape[1])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - np.repeat(starts, counts)
    n_test = np.floor(frac * counts).astype(np.int64)
    return position < n_test[ratings.cols]


def random_split(ratings, test_fraction=0.2, seed=0, *, per_user=False):
    """Split ratings at random into a training and a held-out part.

    Parameters
    ----------
    ratings : ObservedRatings
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
    train, test : ObservedRatings
        Disjoint, together exactly ``ratings``, same ``shape``.
    """
    ratings = as_observed(ratings)
    frac = as_float(test_fraction, "test_fraction (a share strictly between 0 and 1)", low=0, high=1,
                    low_open=True, high_open=True)
    rng = np.random.default_rng(as_int(seed, "seed", low=0))
    if as_bool(per_user, "per_user"):
        is_test = _per_user_test_mask(ratings, frac, rng)
    else:
        n = ratings.n_ratings
        is_test = np.zeros(n, dtype=bool)
        is_test[rng.permutation(n)[: int(round(frac * n))]] = True
    return ratings.subset(~is_test), ratings.subset(is_test)
