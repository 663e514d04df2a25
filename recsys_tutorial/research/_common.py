"""Small pieces every part of :mod:`research` shares: the training-set check, rating counts, and the
optional progress bar."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..observed import ObservedRatings
from ..validation import as_observed


def training_set(train) -> ObservedRatings:
    """``train`` checked to be an :class:`ObservedRatings` holding at least one rating."""
    train = as_observed(train, "train")
    if train.n_ratings == 0:
        raise ValueError("train holds no ratings")
    return train


def rating_counts(ratings: ObservedRatings) -> tuple[np.ndarray, np.ndarray]:
    """Ratings per movie, shape (n_movies,), and per user, shape (n_users,), as floats."""
    n_movies, n_users = ratings.shape
    return (np.bincount(ratings.rows, minlength=n_movies).astype(float),
            np.bincount(ratings.cols, minlength=n_users).astype(float))


@contextmanager
def progress_bar(enabled: bool, total: int, desc: str, unit: str = "it"):
    """A tqdm bar of ``total`` steps when ``enabled`` (else ``None``), closed on exit."""
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit)
    try:
        yield bar
    finally:
        bar.close()
