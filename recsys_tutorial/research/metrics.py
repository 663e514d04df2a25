"""How good is a model on held-out ratings: RMSE and MAE, and the quality of its top-k lists."""

from __future__ import annotations

import numpy as np

from ..validation import as_float, as_int, as_matrix, as_observed, as_vector



def _pair(y_true, y_pred):
    a = as_vector(np.ravel(y_true), "y_true")
    b = as_vector(np.ravel(y_pred), "y_pred")
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("y_true and y_pred are empty")
    return a, b


def rmse(y_true, y_pred) -> float:
    r"""Root mean squared error :math:`\sqrt{\frac1n \sum_t (\hat y_t - y_t)^2}` of two length-n arrays."""
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((b - a) ** 2)))


def mae(y_true, y_pred) -> float:
    r"""Mean absolute error :math:`\frac1n \sum_t |\hat y_t - y_t|` of two length-n arrays."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(b - a)))


def evaluate(model, test, *, clip=True) -> dict:
    """``{"rmse": ..., "mae": ...}`` of a fitted model on held-out ratings.

    Parameters
    ----------
    model : helpers.FactorModel
        Anything with ``shape`` and ``predict(rows, cols, clip=...)``.
    test : ObservedRatings
        Of the model's ``shape`` (n_movies, n_users).
    clip : bool, default=True
        Clip the predictions to the model's rating range before scoring.
    """
    test = as_observed(test, "test")
    if test.shape != model.shape:
        raise ValueError(f"test has shape {test.shape}; the model {model.shape}")
    pred = model.predict(test.rows, test.cols, clip=clip)
    return {"rmse": rmse(test.values, pred), "mae": mae(test.values, pred)}


def _checked_scores(scores, train, test):
    if train.shape != test.shape:
        raise ValueError(f"train and test must have the same shape; got {train.shape} and {test.shape}")
    S = as_matrix(scores, "scores", finite=True)
    if S.shape != train.shape:
        raise ValueError(f"scores must have shape {train.shape} (n_movies, n_users); got {S.shape}")
    both = np.intersect1d(train.rows * train.shape[1] + train.cols, test.rows * test.shape[1] + test.cols)
    if both.size:
        movie, user = divmod(int(both[0]), train.shape[1])
        raise ValueError(f"train and test share {both.size} ratings (e.g. movie row {movie}, user column {user}): "
                         "the test set must be held out (research.random_split gives disjoint sets)")
    return S


def _top_k_hits(S, train, relevant, users, k):
    """``(k, len(users))`` relevance of each user's top-k unrated movies, best first (ties: lower index)."""
    S = S[:, users].copy()
    in_train = np.zeros(train.shape, dtype=bool)
    in_train[train.rows, train.cols] = True
    S[in_train[:, users]] = -np.inf
    top = np.argsort(-S, axis=0, kind="stable")[:k]
    # a user with fewer than k candidates: the -inf (already rated) tail is never relevant
    return relevant[:, users][top, np.arange(users.size)]


def ranking_metrics(scores, train, test, k=10, threshold=4.0) -> dict:
    r"""Precision, recall and NDCG at ``k`` of top-``k`` lists, "all unrated items" protocol.

    The protocol (full ranking, as in Cremonesi et al. 2010 and Krichene &
    Rendle 2020, who show that ranking a sample of items instead misleads):

    * **Candidates** for user *j*: every movie *j* did **not** rate in
      ``train`` (never recommended again). Not a sample, and not just the
      user's test movies.
    * **Relevant**: the movies in ``test`` that *j* rated ``>= threshold``.
      Unrated candidates count as not relevant, so the numbers are lower
      bounds: a user may well like a movie they never rated.
    * **Users** evaluated: those with at least one relevant test movie.
    * The top-``k`` list sorts the candidates by ``scores`` descending; ties
      go to the lower movie index (a stable sort): deterministic.

    With :math:`\mathrm{rel}_r \in \{0, 1\}` the relevance at rank *r* and
    :math:`T_j` the user's relevant set,

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
    train, test : ObservedRatings
        Disjoint ratings of the same ``shape``.
    k : int, default=10
        From 1 to the number of movies.
    threshold : float, default=4.0

    Returns
    -------
    dict
        ``{"precision@k": float, "recall@k": float, "ndcg@k": float,
        "users": int}`` with ``k`` replaced by its value (NaN and 0 users
        when no user has a relevant test movie).
    """
    train, test = as_observed(train, "train"), as_observed(test, "test")
    S = _checked_scores(scores, train, test)
    k = as_int(k, "k", low=1, high=S.shape[0])  # at most the number of movies
    threshold = as_float(threshold, "threshold")
    relevant = np.zeros(S.shape, dtype=bool)
    keep = test.values >= threshold
    relevant[test.rows[keep], test.cols[keep]] = True
    n_relevant = relevant.sum(axis=0)
    users = np.flatnonzero(n_relevant > 0)
    names = (f"precision@{k}", f"recall@{k}", f"ndcg@{k}")
    if users.size == 0:
        return {**dict.fromkeys(names, float("nan")), "users": 0}
    hits = _top_k_hits(S, train, relevant, users, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.minimum(n_relevant[users], k) - 1]
    n_hits = hits.sum(axis=0)
    return {
        names[0]: float(np.mean(n_hits / k)),
        names[1]: float(np.mean(n_hits / n_relevant[users])),
        names[2]: float(np.mean((discounts @ hits) / ideal)),
        "users": int(users.size),
    }
