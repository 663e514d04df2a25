"""A catalogue of hand-ins for the exercises of notebooks 03-07 (test data, not a test module).

Each function below is one answer a student could hand in, registered with :func:`entry`:

``wrong``       a wrong answer; ``mistake`` is the diagnosis the checks must give (a key of the
                verdict, e.g. ``'unmasked'``), or ``''`` where no check can know more than "wrong
                value" (the verdict must then name nothing, rather than a mistake it is not)
``rule``        right values, but a rule of the exercise broken (a loop, a warning, calling the
                tutorial's own solution): status ``'rule'`` or ``'not_done'`` and its ``mistake``
``correct``     a right answer written in an unusual way: it must pass
``borderline``  a case where the answer is debatable; ``status`` and ``mistake`` record the decision

``tests/test_exercises.py`` runs every entry through the notebooks' checks (fixed problems, from
data) and the grader's judge (fresh problems, from formulas, several seeds) and counts: caught,
mistake named, misleading, correct answers failed.
"""

from __future__ import annotations

import heapq
import warnings
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

import helpers
from recsys_tutorial.observed import ObservedRatings

CATALOGUE: list["Entry"] = []


@dataclass(frozen=True)
class Entry:
    checker: str
    kind: str
    fn: object
    status: str
    mistake: str

    @property
    def name(self) -> str:
        return self.fn.__name__


_DEFAULT_STATUS = {"wrong": "failed", "correct": "passed"}


def entry(checker: str, kind: str, mistake: str = "", status: str | None = None):
    """Register the decorated function as a hand-in for ``checker``."""
    def register(fn):
        CATALOGUE.append(Entry(checker, kind, fn, status or _DEFAULT_STATUS[kind], mistake))
        return fn
    return register


COST, GRADS, NORM, STEP, TOP = ("check_cofi_cost", "check_cofi_gradients", "check_normalize_ratings",
                                "check_gradient_step", "check_top_n")


def _penalty(X, Theta, lambda_):
    return lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


# ---------------------------------------------------------------- 03: the cost


@entry(COST, "wrong", "not_written")
def cost_stub(X, Theta, Y, R, lambda_=0.0):
    # YOUR CODE HERE
    raise NotImplementedError()


@entry(COST, "wrong", "unmasked")
def cost_unmasked(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((X @ Theta.T - Y) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "pred_only")
def cost_masks_predictions_only(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T) - Y) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "no_half")
def cost_no_half(X, Theta, Y, R, lambda_=0.0):
    return np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "no_half")
def cost_doubled(X, Theta, Y, R, lambda_=0.0):
    """2 J: at lambda_=0 the same as forgetting the 1/2, and that case comes first."""
    return 2 * (0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_))


@entry(COST, "wrong", "mean")
def cost_mean_of_all_entries(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.mean((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "per_rating")
def cost_divided_by_ratings(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) / R.sum() + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "per_rating")
def cost_all_divided_by_ratings(X, Theta, Y, R, lambda_=0.0):
    return (0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)) / np.count_nonzero(R)


@entry(COST, "wrong", "square_of_sum")
def cost_squares_the_sum(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum(R * (X @ Theta.T - Y)) ** 2 + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "abs_errors")
def cost_absolute_errors(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum(np.abs(R * (X @ Theta.T - Y))) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "no_reg")
def cost_unregularised(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2)


@entry(COST, "wrong", "reg_x_only")
def cost_regularises_x_only(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ / 2 * np.sum(X ** 2)


@entry(COST, "wrong", "reg_theta_only")
def cost_regularises_theta_only(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ / 2 * np.sum(Theta ** 2)


@entry(COST, "wrong", "reg_no_half")
def cost_reg_without_half(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ * (np.sum(X ** 2) + np.sum(Theta ** 2))


@entry(COST, "wrong", "reg_norm")
def cost_unsquared_norms(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + lambda_ / 2 * (np.linalg.norm(X) + np.linalg.norm(Theta))


@entry(COST, "wrong", "article_pair")
def cost_article(X, Theta, Y, R, lambda_=0.0):
    """The article's function: returns (J, J + penalties) instead of one number."""
    J = 0.5 * np.sum(((X @ Theta.T - Y) ** 2) * R)
    return J, J + lambda_ / 2 * np.sum(Theta ** 2) + lambda_ / 2 * np.sum(X ** 2)


@entry(COST, "wrong", "not_a_number")
def cost_matrix(X, Theta, Y, R, lambda_=0.0):
    return 0.5 * (R * (X @ Theta.T - Y)) ** 2


@entry(COST, "wrong", "not_a_number")
def cost_in_a_list(X, Theta, Y, R, lambda_=0.0):
    return [0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)]


@entry(COST, "wrong", "not_a_number")
def cost_as_text(X, Theta, Y, R, lambda_=0.0):
    return f"{0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_):.4f}"


@entry(COST, "wrong", "returns_none")
def cost_forgets_return(X, Theta, Y, R, lambda_=0.0):
    J = 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)  # noqa: F841


@entry(COST, "wrong", "in_place")
def cost_zeroes_Y_in_place(X, Theta, Y, R, lambda_=0.0):
    Y[~R] = 0.0
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "raised")
def cost_transposed_product(X, Theta, Y, R, lambda_=0.0):
    E = R * (X.T @ Theta - Y)
    return 0.5 * np.sum(E ** 2)


@entry(COST, "wrong", "constant")
def cost_hard_coded_checkpoint(X, Theta, Y, R, lambda_=0.0):
    return 22.22


@entry(COST, "wrong", "constant")
def cost_hard_coded_by_lambda(X, Theta, Y, R, lambda_=0.0):
    return 31.34 if lambda_ else 22.22


@entry(COST, "wrong", "rounded")
def cost_rounded(X, Theta, Y, R, lambda_=0.0):
    return round(float(0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)), 3)


@entry(COST, "wrong", "")
def cost_inverted_mask(X, Theta, Y, R, lambda_=0.0):
    """Sums over the unrated entries instead: nothing the checks know by name."""
    return 0.5 * np.sum((~R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "wrong", "")
def cost_fixed_lambda(X, Theta, Y, R, lambda_=0.0):
    """Ignores its lambda_ argument and uses the checkpoint's 1.5."""
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, 1.5)


@entry(COST, "rule", "loops", status="rule")
def cost_loops(X, Theta, Y, R, lambda_=0.0):
    J = 0.0
    for i, j in zip(*np.nonzero(R)):
        J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2
    return J + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


@entry(COST, "rule", "loops", status="rule")
def cost_generator(X, Theta, Y, R, lambda_=0.0):
    errors = X @ Theta.T - Y
    return sum(e ** 2 for e in errors[R]) / 2 + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))


@entry(COST, "rule", "calls_solution", status="not_done")
def cost_calls_helpers(X, Theta, Y, R, lambda_=0.0):
    return helpers.cofi_cost(X, Theta, Y, R, lambda_)


@entry(COST, "rule", "calls_solution", status="not_done")
def cost_calls_a_private_helper(X, Theta, Y, R, lambda_=0.0):
    return helpers._cost_and_gradients(X, Theta, Y, R, lambda_, gradients=False)[0]


@entry(COST, "rule", "calls_solution", status="not_done")
def cost_calls_observed(X, Theta, Y, R, lambda_=0.0):
    return ObservedRatings.from_dense(Y, R).cost_and_gradients(X, Theta, lambda_)[0]


@entry(COST, "rule", "calls_solution", status="not_done")
def cost_zero_steps_of_descent(X, Theta, Y, R, lambda_=0.0):
    return helpers.gradient_descent(X, Theta, Y, R, lambda_, 0.001, 0)[2][0]


@entry(COST, "correct")
def cost_fancy_index(X, Theta, Y, R, lambda_=0.0):
    err = (X @ Theta.T - Y)[R]
    return float(err @ err) / 2 + lambda_ / 2 * (np.sum(X * X) + np.sum(Theta * Theta))


@entry(COST, "correct")
def cost_norms_squared(X, Theta, Y, R, lambda_=0.0):
    return (np.linalg.norm(np.where(R, X @ Theta.T - Y, 0)) ** 2
            + lambda_ * (np.linalg.norm(X) ** 2 + np.linalg.norm(Theta) ** 2)) / 2


@entry(COST, "correct")
def cost_rating_minus_prediction(X, Theta, Y, R, lambda_=0.0):
    return np.sum(np.square(R * (Y - X @ Theta.T))) / 2 + lambda_ / 2 * np.sum(np.square(np.r_[X.ravel(),
                                                                                               Theta.ravel()]))


@entry(COST, "correct")
def cost_einsum(X, Theta, Y, R, lambda_=0.0):
    P = np.einsum("ik,jk->ij", X, Theta)
    return 0.5 * np.einsum("ij,ij->", R * (P - Y), R * (P - Y)) + _penalty(X, Theta, lambda_)


@entry(COST, "correct")
def cost_chatty(X, Theta, Y, R, lambda_=0.0):
    print("debugging", X.shape)
    return 0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_)


@entry(COST, "correct")
def cost_zero_d_array(X, Theta, Y, R, lambda_=0.0):
    return np.asarray(0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_))


@entry(COST, "borderline", "single_precision", status="failed")
def cost_float32(X, Theta, Y, R, lambda_=0.0):
    """Computed in single precision: fails, and says so (not "got -16.0578, expected -16.0578")."""
    X, Theta, Y = (a.astype(np.float32) for a in (X, Theta, Y))
    return np.sum((R * (X @ Theta.T - Y)) ** 2) / np.float32(2) + np.float32(lambda_ / 2) * (
        np.sum(X ** 2) + np.sum(Theta ** 2))


@entry(COST, "borderline", status="passed")
def cost_decimal(X, Theta, Y, R, lambda_=0.0):
    """A Decimal: a number, and the right one; accepted."""
    return Decimal(repr(float(0.5 * np.sum((R * (X @ Theta.T - Y)) ** 2) + _penalty(X, Theta, lambda_))))


@entry(COST, "borderline", status="passed")
def cost_long_double(X, Theta, Y, R, lambda_=0.0):
    """More precision than float64: accepted."""
    E = (R * (X @ Theta.T - Y)).astype(np.longdouble)
    return np.sum(E ** 2) / 2 + np.longdouble(_penalty(X, Theta, lambda_))


# ---------------------------------------------------------------- 04: the gradients


def _grads(X, Theta, Y, R, lambda_):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "wrong", "not_written")
def grads_stub(X, Theta, Y, R, lambda_=0.0):
    raise NotImplementedError()


@entry(GRADS, "wrong", "unmasked")
def grads_unmasked(X, Theta, Y, R, lambda_=0.0):
    """The article's gradient: the mask is missing."""
    E = X @ Theta.T - Y
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "wrong", "pred_only")
def grads_masks_predictions_only(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T) - Y
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "wrong", "sign")
def grads_wrong_sign(X, Theta, Y, R, lambda_=0.0):
    E = R * (Y - X @ Theta.T)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "wrong", "no_reg")
def grads_unregularised(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta, E.T @ X


@entry(GRADS, "wrong", "no_reg")
def grads_theta_unregularised(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X


@entry(GRADS, "wrong", "reg_half")
def grads_half_reg(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ / 2 * X, E.T @ X + lambda_ / 2 * Theta


@entry(GRADS, "wrong", "reg_sign")
def grads_subtract_reg(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E @ Theta - lambda_ * X, E.T @ X - lambda_ * Theta


@entry(GRADS, "wrong", "error_doubled")
def grads_error_doubled(X, Theta, Y, R, lambda_=0.0):
    E = 2 * R * (X @ Theta.T - Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "wrong", "error_doubled")
def grads_doubled(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return 2 * Xg, 2 * Tg


@entry(GRADS, "wrong", "swapped")
def grads_swapped(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return Tg, Xg


@entry(GRADS, "wrong", "shape")
def grads_transposed(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return Xg.T, Tg


@entry(GRADS, "wrong", "not_a_pair")
def grads_one_array(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return np.concatenate([Xg.ravel(), Tg.ravel()])


@entry(GRADS, "wrong", "not_a_pair")
def grads_dict(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return {"X_grad": Xg, "Theta_grad": Tg}


@entry(GRADS, "wrong", "returns_none")
def grads_forgets_return(X, Theta, Y, R, lambda_=0.0):
    X_grad, Theta_grad = _grads(X, Theta, Y, R, lambda_)  # noqa: F841


@entry(GRADS, "wrong", "in_place")
def grads_in_place(X, Theta, Y, R, lambda_=0.0):
    Y[~R] = 0.0
    return _grads(X, Theta, Y, R, lambda_)


@entry(GRADS, "wrong", "raised")
def grads_wrong_product(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    return E.T @ Theta + lambda_ * X, E @ X + lambda_ * Theta


@entry(GRADS, "wrong", "")
def grads_off_by_a_bit(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return Xg * 1.001, Tg


@entry(GRADS, "wrong", "")
def grads_old_error(X, Theta, Y, R, lambda_=0.0):
    """Uses the error at the start (X = Theta = 0, so E = -R * Y): nothing the checks know by name."""
    E = R * (-Y)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "rule", "loops", status="rule")
def grads_comprehension(X, Theta, Y, R, lambda_=0.0):
    E = R * (X @ Theta.T - Y)
    X_grad = np.array([E[i] @ Theta for i in range(X.shape[0])]) + lambda_ * X
    return X_grad, E.T @ X + lambda_ * Theta


@entry(GRADS, "rule", "calls_solution", status="not_done")
def grads_call_hidden(X, Theta, Y, R, lambda_=0.0):
    fn = getattr(helpers, "cofi_" + "gradients")  # no name the source shows
    return fn(X, Theta, Y, R, lambda_)


@entry(GRADS, "rule", "calls_solution", status="not_done")
def grads_calls_observed(X, Theta, Y, R, lambda_=0.0):
    return ObservedRatings.from_dense(Y, R).cost_and_gradients(X, Theta, lambda_)[1:]


@entry(GRADS, "correct")
def grads_list(X, Theta, Y, R, lambda_=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return [E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta]


@entry(GRADS, "correct")
def grads_einsum(X, Theta, Y, R, lambda_=0.0):
    E = R * (np.einsum("ik,jk->ij", X, Theta) - Y)
    return np.einsum("ij,jk->ik", E, Theta) + lambda_ * X, np.einsum("ij,ik->jk", E, X) + lambda_ * Theta


@entry(GRADS, "correct")
def grads_sparse_matrix(X, Theta, Y, R, lambda_=0.0):
    from scipy import sparse

    rows, cols = np.nonzero(R)
    E = sparse.csr_matrix((np.sum(X[rows] * Theta[cols], axis=1) - Y[rows, cols], (rows, cols)), shape=Y.shape)
    return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta


@entry(GRADS, "borderline", "single_precision", status="failed")
def grads_float32(X, Theta, Y, R, lambda_=0.0):
    """Single precision: fails, and says so."""
    X32, Theta32 = X.astype(np.float32), Theta.astype(np.float32)
    E = R * (X32 @ Theta32.T - Y.astype(np.float32))
    return E @ Theta32 + np.float32(lambda_) * X32, E.T @ X32 + np.float32(lambda_) * Theta32


# ---------------------------------------------------------------- 05: mean normalisation


def _means(Y, R):
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0).sum(axis=1)
    return np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)


@entry(NORM, "wrong", "not_written")
def norm_stub(Y, R):
    raise NotImplementedError()


@entry(NORM, "wrong", "swapped")
def norm_swapped(Y, R):
    mean = _means(Y, R)
    return mean, np.where(R, Y - mean[:, None], 0.0)


@entry(NORM, "wrong", "shape")
def norm_article(Y, R):
    with np.errstate(divide="ignore", invalid="ignore"):
        ymean = np.sum(Y, axis=1) / np.sum(R, axis=1)
    ynorm = np.sum(Y, axis=1) * np.sum(R, axis=1) - ymean
    return ynorm, ymean


@entry(NORM, "wrong", "nan_mean")
def norm_nan(Y, R):
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "nan_unrated")
def norm_nan_where_unrated(Y, R):
    mean = _means(Y, R)
    return np.where(R, Y - mean[:, None], np.nan), mean


@entry(NORM, "wrong", "counts_zeros")
def norm_counts_zeros(Y, R):
    mean = np.where(R, Y, 0).mean(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "sums_unrated")
def norm_sums_unrated(Y, R):
    counts = R.sum(axis=1)
    mean = np.divide(Y.sum(axis=1), counts, out=np.zeros(len(counts)), where=counts > 0)
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "global_mean")
def norm_one_overall_mean(Y, R):
    mean = np.full(Y.shape[0], Y[R].mean())
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "median")
def norm_median(Y, R):
    mean = np.array([np.median(Y[i, R[i]]) if R[i].any() else 0.0 for i in range(Y.shape[0])])
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "nobody_mean")
def norm_nobody_gets_overall_mean(Y, R):
    counts = R.sum(axis=1)
    mean = np.divide(np.where(R, Y, 0).sum(axis=1), counts, out=np.full(len(counts), Y[R].mean()),
                     where=counts > 0)
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "wrong", "unrated_not_zero")
def norm_everywhere(Y, R):
    mean = _means(Y, R)
    return Y - mean[:, None], mean


@entry(NORM, "wrong", "not_subtracted")
def norm_forgets_to_subtract(Y, R):
    return np.where(R, Y, 0.0), _means(Y, R)


@entry(NORM, "wrong", "mean_added")
def norm_adds_the_mean(Y, R):
    mean = _means(Y, R)
    return np.where(R, Y + mean[:, None], 0.0), mean


@entry(NORM, "wrong", "divided")
def norm_divides(Y, R):
    mean = _means(Y, R)
    return np.where(R, Y / np.where(mean == 0, 1.0, mean)[:, None], 0.0), mean


@entry(NORM, "wrong", "in_place")
def norm_in_place(Y, R):
    mean = _means(Y, R)
    Y[:] = np.where(R, Y - mean[:, None], 0.0)
    return Y, mean


@entry(NORM, "wrong", "shape")
def norm_wrong_shape(Y, R):
    mean = _means(Y, R)
    return np.where(R, Y - mean[:, None], 0.0).T, mean


@entry(NORM, "wrong", "shape")
def norm_means_per_user(Y, R):
    counts = R.sum(axis=0)
    mean = np.divide(np.where(R, Y, 0).sum(axis=0), counts, out=np.zeros(len(counts)), where=counts > 0)
    return np.where(R, Y - mean[None, :], 0.0), mean


@entry(NORM, "wrong", "not_a_pair")
def norm_single(Y, R):
    mean = _means(Y, R)
    return np.where(R, Y - mean[:, None], 0.0)


@entry(NORM, "wrong", "returns_none")
def norm_forgets_return(Y, R):
    Y_mean = _means(Y, R)  # noqa: F841


@entry(NORM, "wrong", "raised")
def norm_raises(Y, R):
    return Y - Y.sum(axis=2), Y.mean(axis=1)  # AxisError: Y is 2-D


@entry(NORM, "rule", "warning", status="rule")
def norm_warns(Y, R):
    counts = R.sum(axis=1)
    mean = np.nan_to_num(np.where(R, Y, 0).sum(axis=1) / counts)  # 0 / 0 for the movie nobody rated
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "rule", "calls_solution", status="not_done")
def norm_calls_helpers(Y, R):
    return helpers.normalize_ratings(Y, R)


@entry(NORM, "rule", "calls_solution", status="not_done")
def norm_calls_a_private_helper(Y, R):
    return helpers._normalize(Y, R, 0.0)


entry(NORM, "rule", "itself", status="not_done")(helpers.normalize_ratings)   # handed in as the answer
entry(COST, "rule", "itself", status="not_done")(helpers.cofi_cost)


@entry(NORM, "correct")
def norm_loop(Y, R):
    Y_norm, Y_mean = np.zeros(Y.shape), np.zeros(Y.shape[0])
    for i in range(Y.shape[0]):
        rated = R[i]
        if rated.any():
            Y_mean[i] = Y[i, rated].mean()
            Y_norm[i, rated] = Y[i, rated] - Y_mean[i]
    return Y_norm, Y_mean


@entry(NORM, "correct")
def norm_prints(Y, R):
    print("debugging output the checker must swallow")
    mean = _means(Y, R)
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "correct")
def norm_masked_array(Y, R):
    masked = np.ma.masked_array(Y, mask=~R)
    mean = masked.mean(axis=1).filled(0.0)
    return (masked - mean[:, None]).filled(0.0), mean


@entry(NORM, "correct")
def norm_pandas(Y, R):
    frame = pd.DataFrame(np.where(R, Y, np.nan))
    mean = frame.mean(axis=1).fillna(0.0).to_numpy()
    return frame.sub(mean, axis=0).fillna(0.0).to_numpy(), mean


@entry(NORM, "correct")
def norm_column_of_means(Y, R):
    mean = _means(Y, R)[:, None]
    return np.where(R, Y - mean, 0.0), mean


@entry(NORM, "borderline", status="passed")
def norm_silenced_warning(Y, R):
    """np.nanmean warns for the empty row; silenced by the student's own filter, so no warning is seen."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(np.where(R, Y, np.nan), axis=1))
    return np.where(R, Y - mean[:, None], 0.0), mean


@entry(NORM, "borderline", "single_precision", status="failed")
def norm_float32(Y, R):
    mean = _means(Y, R).astype(np.float32)
    return np.where(R, Y.astype(np.float32) - mean[:, None], np.float32(0)), mean


# ---------------------------------------------------------------- 06: one gradient-descent step


def _step(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


@entry(STEP, "wrong", "not_written")
def step_stub(X, Theta, Y, R, lambda_, alpha):
    raise NotImplementedError()


@entry(STEP, "wrong", "sequential")
def step_sequential(X, Theta, Y, R, lambda_, alpha):
    X = X - alpha * _grads(X, Theta, Y, R, lambda_)[0]
    Theta = Theta - alpha * _grads(X, Theta, Y, R, lambda_)[1]
    return X, Theta


@entry(STEP, "wrong", "sequential_theta_first")
def step_sequential_theta_first(X, Theta, Y, R, lambda_, alpha):
    Theta = Theta - alpha * _grads(X, Theta, Y, R, lambda_)[1]
    X = X - alpha * _grads(X, Theta, Y, R, lambda_)[0]
    return X, Theta


@entry(STEP, "wrong", "unmasked")
def step_unmasked(X, Theta, Y, R, lambda_, alpha):
    E = X @ Theta.T - Y
    return X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)


@entry(STEP, "wrong", "no_reg")
def step_no_reg(X, Theta, Y, R, lambda_, alpha):
    gx, gt = helpers.cofi_gradients(X, Theta, Y, R, 0.0)
    return X - alpha * gx, Theta - alpha * gt


@entry(STEP, "wrong", "uphill")
def step_uphill(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X + alpha * gx, Theta + alpha * gt


@entry(STEP, "wrong", "no_alpha")
def step_no_alpha(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X - gx, Theta - gt


@entry(STEP, "wrong", "alpha_lambda_swapped")
def step_alpha_lambda_swapped(X, Theta, Y, R, alpha, lambda_):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


@entry(STEP, "wrong", "x_only")
def step_x_only(X, Theta, Y, R, lambda_, alpha):
    return X - alpha * _grads(X, Theta, Y, R, lambda_)[0], Theta


@entry(STEP, "wrong", "theta_only")
def step_theta_only(X, Theta, Y, R, lambda_, alpha):
    return X, Theta - alpha * _grads(X, Theta, Y, R, lambda_)[1]


@entry(STEP, "wrong", "in_place")
def step_in_place(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    X -= alpha * gx
    Theta -= alpha * gt
    return X, Theta


@entry(STEP, "wrong", "swapped")
def step_swapped(X, Theta, Y, R, lambda_, alpha):
    X_new, Theta_new = _step(X, Theta, Y, R, lambda_, alpha)
    return Theta_new, X_new


@entry(STEP, "wrong", "")
def step_off_by_a_bit(X, Theta, Y, R, lambda_, alpha):
    X_new, Theta_new = _step(X, Theta, Y, R, lambda_, alpha)
    return X_new * 1.01, Theta_new


@entry(STEP, "wrong", "")
def step_two_steps(X, Theta, Y, R, lambda_, alpha):
    """Two steps instead of one: nothing the checks know by name."""
    return _step(*_step(X, Theta, Y, R, lambda_, alpha), Y, R, lambda_, alpha)


@entry(STEP, "wrong", "returns_none")
def step_returns_none(X, Theta, Y, R, lambda_, alpha):
    _step(X, Theta, Y, R, lambda_, alpha)


@entry(STEP, "wrong", "not_a_pair")
def step_returns_gradients_too(X, Theta, Y, R, lambda_, alpha):
    return (*_step(X, Theta, Y, R, lambda_, alpha), *_grads(X, Theta, Y, R, lambda_))


@entry(STEP, "rule", "calls_solution", status="not_done")
def step_calls_gradient_descent(X, Theta, Y, R, lambda_, alpha):
    return tuple(helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1)[:2])


@entry(STEP, "correct")
def step_helpers(X, Theta, Y, R, lambda_, alpha):
    gx, gt = helpers.cofi_gradients(X, Theta, Y, R, lambda_)
    return X - alpha * gx, Theta - alpha * gt


@entry(STEP, "correct")
def step_copies_then_updates_in_place(X, Theta, Y, R, lambda_, alpha):
    gx, gt = _grads(X, Theta, Y, R, lambda_)
    X_new, Theta_new = X.copy(), Theta.copy()
    X_new -= alpha * gx
    Theta_new -= alpha * gt
    return X_new, Theta_new


@entry(STEP, "correct")
def step_list(X, Theta, Y, R, lambda_, alpha):
    E = np.where(R, X @ Theta.T - Y, 0)
    return [X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)]


@entry(STEP, "correct")
def step_decayed(X, Theta, Y, R, lambda_, alpha):
    """The penalty as weight decay: (1 - alpha * lambda_) X - alpha E Theta, the same numbers."""
    E = R * (X @ Theta.T - Y)
    return (1 - alpha * lambda_) * X - alpha * (E @ Theta), (1 - alpha * lambda_) * Theta - alpha * (E.T @ X)


@entry(STEP, "borderline", "single_precision", status="failed")
def step_float32(X, Theta, Y, R, lambda_, alpha):
    X_new, Theta_new = _step(X, Theta, Y, R, lambda_, alpha)
    return X_new.astype(np.float32), Theta_new.astype(np.float32)


# ---------------------------------------------------------------- 07: top-n selection


@entry(TOP, "wrong", "not_written")
def top_stub(predictions, rated, n=10):
    raise NotImplementedError()


@entry(TOP, "wrong", "includes_rated")
def top_includes_rated(predictions, rated, n=10):
    return np.argsort(-predictions, kind="stable")[:n]


@entry(TOP, "wrong", "ascending")
def top_ascending(predictions, rated, n=10):
    order = np.argsort(predictions, kind="stable")
    return order[~rated[order]][:n]


@entry(TOP, "wrong", "ascending")
def top_lowest_first(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n][::-1]


@entry(TOP, "wrong", "as_text")
def top_as_text(predictions, rated, n=10):
    free = [i for i in range(len(predictions)) if not rated[i]]
    return sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]


@entry(TOP, "wrong", "ratings")
def top_values(predictions, rated, n=10):
    return np.sort(predictions[~rated])[::-1][:n]


@entry(TOP, "wrong", "filtered_positions")
def top_positions_in_filtered_array(predictions, rated, n=10):
    return np.argsort(-predictions[~rated], kind="stable")[:n]


@entry(TOP, "wrong", "one_based")
def top_movie_ids(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n] + 1


@entry(TOP, "wrong", "pairs")
def top_pairs(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return [(int(i), float(predictions[i])) for i in order[~rated[order]][:n]]


@entry(TOP, "wrong", "bool_mask")
def top_mask(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    mask = np.zeros(len(predictions), dtype=bool)
    mask[order[~rated[order]][:n]] = True
    return mask


@entry(TOP, "wrong", "pandas")
def top_series(predictions, rated, n=10):
    return pd.Series(predictions)[~rated].nlargest(n)


@entry(TOP, "wrong", "duplicates")
def top_fixed_n(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    out = list(order[~rated[order]][:n])
    while len(out) < n:
        out.append(out[-1])
    return out


@entry(TOP, "wrong", "length")
def top_off_by_one(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][: n - 1]


@entry(TOP, "wrong", "length")
def top_ignores_n(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]]


@entry(TOP, "wrong", "too_few_unrated")
def top_pads_short(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    free = order[~rated[order]]
    return free[:n] if n <= len(free) else free[: len(free) - 1]


@entry(TOP, "wrong", "includes_rated")
def top_masked_untrimmed(predictions, rated, n=10):
    """-inf for rated movies, but for n larger than the unrated count the rated ones come back."""
    return np.argsort(-np.where(rated, -np.inf, predictions), kind="stable")[:n]


@entry(TOP, "wrong", "in_place")
def top_in_place(predictions, rated, n=10):
    predictions[rated] = -np.inf
    return np.argsort(-predictions, kind="stable")[: min(n, int((~rated).sum()))]


@entry(TOP, "wrong", "returns_none")
def top_forgets_return(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")  # noqa: F841


@entry(TOP, "wrong", "")
def top_skips_the_best(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][1:n + 1]


@entry(TOP, "rule", "calls_solution", status="not_done")
def top_calls_recommend(predictions, rated, n=10):
    Y = np.where(rated, 5.0, 0.0)[:, None]
    helpers.recommend({}, Y, rated[:, None], [str(i) for i in range(len(predictions))], n=1, num_iters=1)
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n]


@entry(TOP, "correct")
def top_list_comprehension(predictions, rated, n=10):
    candidates = [i for i in range(len(predictions)) if not rated[i]]
    return sorted(candidates, key=lambda i: predictions[i], reverse=True)[:n]


@entry(TOP, "correct")
def top_masked_with_minus_inf(predictions, rated, n=10):
    masked = np.where(rated, -np.inf, predictions)
    k = min(n, int((~rated).sum()))
    return np.argsort(masked)[::-1][:k]


@entry(TOP, "correct")
def top_flatnonzero(predictions, rated, n=10):
    free = np.flatnonzero(~rated)
    return free[np.argsort(predictions[free])[::-1]][:n]


@entry(TOP, "correct")
def top_pandas_index(predictions, rated, n=10):
    return pd.Series(predictions)[~rated].nlargest(n).index.to_numpy()


@entry(TOP, "correct")
def top_heapq(predictions, rated, n=10):
    return heapq.nlargest(n, np.flatnonzero(~rated), key=lambda i: predictions[i])


@entry(TOP, "correct")
def top_argpartition(predictions, rated, n=10):
    free = np.flatnonzero(~rated)
    k = min(n, free.size)
    part = free[np.argpartition(-predictions[free], k - 1)[:k]]
    return part[np.argsort(-predictions[part])]


@entry(TOP, "correct")
def top_lexsort(predictions, rated, n=10):
    order = np.lexsort((-predictions, rated))      # unrated first, then highest prediction
    return order[: min(n, int((~rated).sum()))]


@entry(TOP, "correct")
def top_tuple(predictions, rated, n=10):
    order = np.argsort(-predictions, kind="stable")
    return tuple(int(i) for i in order[~rated[order]][:n])


@entry(TOP, "borderline", status="passed")
def top_float_indices(predictions, rated, n=10):
    """Indices as floats (2.0, 7.0, ...): whole numbers, so accepted."""
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n].astype(float)


@entry(TOP, "borderline", status="passed")
def top_column(predictions, rated, n=10):
    """An (n, 1) column of indices: one index per row, accepted."""
    order = np.argsort(-predictions, kind="stable")
    return order[~rated[order]][:n][:, None]


@entry(GRADS, "wrong", "constant_factor")
def grads_halved(X, Theta, Y, R, lambda_=0.0):
    Xg, Tg = _grads(X, Theta, Y, R, lambda_)
    return Xg / 2, Tg / 2


# ---------------------------------------------------------------- found in the grader's second review


@entry(COST, "rule", "loops", status="rule")
def cost_reduce(X, Theta, Y, R, lambda_=0.0):
    import functools
    J = functools.reduce(lambda acc, ij: acc + (X[ij[0]] @ Theta[ij[1]] - Y[ij[0], ij[1]]) ** 2 / 2,
                         zip(*np.nonzero(R)), 0.0)
    return J + _penalty(X, Theta, lambda_)


@entry(COST, "rule", "loops", status="rule")
def cost_recursion(X, Theta, Y, R, lambda_=0.0):
    def rec(k, pairs):
        if k == len(pairs):
            return 0.0
        i, j = pairs[k]
        return (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2 + rec(k + 1, pairs)
    return rec(0, list(zip(*np.nonzero(R)))) + _penalty(X, Theta, lambda_)


@entry(COST, "rule", "loops", status="rule")
def cost_exec(X, Theta, Y, R, lambda_=0.0):
    ns = dict(np=np)
    exec("def g(X, Theta, Y, R):\n    return sum((X[i] @ Theta[j] - Y[i, j]) ** 2 / 2 for i, j in zip(*np.nonzero(R)))",
         ns)
    return ns["g"](X, Theta, Y, R) + _penalty(X, Theta, lambda_)


@entry(COST, "rule", "calls_solution", status="not_done")
def cost_calls_observed_residuals(X, Theta, Y, R, lambda_=0.0):
    e = ObservedRatings.from_dense(Y, R).residuals(X, Theta)
    return float(0.5 * np.sum(e ** 2) + _penalty(X, Theta, lambda_))


@entry(GRADS, "correct")
def grads_namedtuple(X, Theta, Y, R, lambda_=0.0):
    import collections
    Gradients = collections.namedtuple("Gradients", "X_grad Theta_grad")
    E = R * (X @ Theta.T - Y)
    return Gradients(E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta)


@entry(NORM, "correct")
def norm_pandas_frame_and_series(Y, R):
    df = pd.DataFrame(np.where(R, Y, np.nan))
    mean = df.mean(axis=1).fillna(0.0)
    return df.sub(mean, axis=0).fillna(0.0), mean


@entry(TOP, "rule", "calls_solution", status="not_done")
def top_calls_the_explorers_private_top(predictions, rated, n=5):
    from recsys_tutorial.interactive.training import _explorer_top
    _, best = _explorer_top(dict(mine_rated=rated, mine=predictions), [str(i) for i in range(len(predictions))],
                            [0] * len(predictions), n=n)
    return np.array([int(t) for t in best], dtype=int)
