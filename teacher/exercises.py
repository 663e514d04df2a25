"""The teacher's side of the exercises of notebooks 03-07: the answers, and the problems to test them on.

Here live the reference formulas (each exercise's right answer), the generators of fresh test
problems, and what each known mistake computes on a problem (its *fingerprint*). They build the
:class:`~recsys_tutorial.judging.Case` lists that :func:`recsys_tutorial.judging.judge` checks a
learner's function against. Nothing of this module is in a hand-out or a learner's notebook.

Two users:

* the grader (:mod:`teacher.grading`): :func:`planned_calls` lists the calls for a seed, the
  student's code makes them in a sandbox (:func:`record_call`), and :func:`judge` judges the
  records on the same problems, drawn afresh for each run and student;
* the notebooks' checks: ``python -m teacher.exercises`` writes :data:`CASE_FILE`, the fixed
  problems of :func:`fixed_cases` with their expected outputs and fingerprints, as data
  (``make student`` and ``make handout`` run it; ``--check`` says whether the file is current).
  The checks in :mod:`recsys_tutorial.exercises` read that file and compute nothing.

Both judge with the same code, so a mistake gets the same message in the notebook and in the
grader's feedback; only the numbers differ, because the problems differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable

import numpy as np

from recsys_tutorial.judging import RULES, Case, Rules, Verdict, loops_in, record_call, reference_codes
from recsys_tutorial import judging

__all__ = ["Exercise", "EXERCISES", "Verdict", "judge", "planned_calls", "loops_in", "record_call",
           "reference_codes", "cost_variants", "gradient_variants", "normalize_variants", "step_variants",
           "top_variants", "factor_problem", "ratings_problem", "top_problem", "fixed_cases", "case_data",
           "encode", "format_case_data", "CASE_FILE", "FIXED_SEED", "stale", "write_case_file", "main"]

CASE_FILE = Path(__file__).resolve().parents[1] / "recsys_tutorial" / "exercise_cases.json"
FIXED_SEED = 2024         # the notebooks' fixed problems; the grader draws new ones for every run
_JUNK = " (with non-zero values stored in the unrated entries of Y)"


# ---------------------------------------------------------------- test problems (drawn from an rng)


def factor_problem(rng, n_movies, n_users, k, junk):
    """A small (X, Theta, Y, R) problem; unrated Y entries are 0, or random values if ``junk``."""
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[-1, -1] = True
    R[0, -1] = R[-1, 0] = False  # at least one rated and one unrated entry in the corners
    Y[~R] = rng.uniform(-50, 50, size=int((~R).sum())) if junk else 0.0
    return X, Theta, Y, R


def _factor_problems(rng):
    """The cost and gradient problems: ``(label, (X, Theta, Y, R), (lambda_,))``."""
    yield "lambda_=0", factor_problem(rng, 6, 4, 3, junk=False), (0.0,)
    yield "lambda_=1.5", factor_problem(rng, 6, 4, 3, junk=False), (1.5,)
    yield ("lambda_=1.5 with non-zero values in the unrated entries of Y",
           factor_problem(rng, 7, 5, 2, junk=True), (1.5,))


def ratings_problem(rng, junk):
    """A 6-movie x 5-user (Y, R): one movie nobody rated, one rated exactly once, the others at least once."""
    n_movies, n_users = 6, 5
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.6
    R[np.arange(n_movies), rng.integers(0, n_users, n_movies)] = True
    nobody, once = rng.choice(n_movies, size=2, replace=False)
    R[nobody] = False
    R[once] = False
    R[once, rng.integers(0, n_users)] = True
    Y[~R] = rng.uniform(-20, 20, size=int((~R).sum())) if junk else 0.0
    return Y, R


def top_problem(rng):
    """12 predictions that only a numeric sort orders right (two digits, negatives); 3 of the best rated."""
    while True:
        predictions = np.round(np.concatenate([rng.uniform(10, 13, 4), rng.uniform(0.1, 9.9, 5),
                                               rng.uniform(-2, -0.1, 3)]), 2)
        predictions = rng.permutation(predictions)
        rated = np.zeros(predictions.size, dtype=bool)
        rated[rng.choice(np.argsort(-predictions)[:5], size=3, replace=False)] = True
        free = np.flatnonzero(~rated)
        by_number = free[np.argsort(-predictions[free], kind="stable")]
        as_text = sorted(free, key=lambda i: str(predictions[i]), reverse=True)
        two_digit_free = int(np.sum(predictions[free] >= 10))   # >= 2, so text order is not "all but the best"
        if len(set(predictions)) == predictions.size and list(by_number[:5]) != list(as_text[:5]) \
                and two_digit_free >= 2:
            return predictions, rated


# ---------------------------------------------------------------- the answers and the known mistakes


def cost_variants(X, Theta, Y, R, lambda_):
    """The correct cost (``'correct'``) and what each known mistake gives, by name."""
    P = X @ Theta.T
    masked = np.where(R, P - Y, 0.0)
    sq_masked = float(np.sum(masked ** 2))
    rx, rt = float(np.sum(X ** 2)), float(np.sum(Theta ** 2))
    reg = lambda_ / 2 * (rx + rt)
    n = max(int(R.sum()), 1)
    return {
        "correct": sq_masked / 2 + reg,
        "unmasked": float(np.sum((P - Y) ** 2)) / 2 + reg,
        "pred_only": float(np.sum((np.where(R, P, 0.0) - Y) ** 2)) / 2 + reg,
        "no_half": sq_masked + reg,
        "mean": float(np.mean(masked ** 2)) / 2 + reg,
        "per_rating": sq_masked / 2 / n + reg,
        "square_of_sum": float(np.sum(masked)) ** 2 / 2 + reg,
        "no_reg": sq_masked / 2,
        "reg_x_only": sq_masked / 2 + lambda_ / 2 * rx,
        "reg_theta_only": sq_masked / 2 + lambda_ / 2 * rt,
        "reg_no_half": sq_masked / 2 + lambda_ * (rx + rt),
        "reg_norm": sq_masked / 2 + lambda_ / 2 * (np.sqrt(rx) + np.sqrt(rt)),
        "abs_errors": float(np.sum(np.abs(masked))) / 2 + reg,
    }


def gradient_variants(X, Theta, Y, R, lambda_):
    """Correct gradients and what the known mistakes give, by name: ``(X_grad, Theta_grad)``."""
    P = X @ Theta.T
    E = np.where(R, P - Y, 0.0)

    def grads(err, lam=lambda_):
        return err @ Theta + lam * X, err.T @ X + lam * Theta

    return {
        "correct": grads(E),
        "unmasked": grads(P - Y),
        "pred_only": grads(np.where(R, P, 0.0) - Y),
        "sign": (-(E @ Theta) + lambda_ * X, -(E.T @ X) + lambda_ * Theta),
        "no_reg": grads(E, 0.0),
        "reg_half": grads(E, lambda_ / 2),
        "reg_sign": grads(E, -lambda_),
        "error_doubled": grads(2 * E),
    }


def _means(Y, R):
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0.0).sum(axis=1)
    return np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0), counts


def normalize_variants(Y, R):
    """The correct ``(Y_norm, Y_mean)`` and what the known mistakes give, by name."""
    means, counts = _means(Y, R)

    def centred(m):
        return np.where(R, Y - m[:, None], 0.0), m

    rated = np.where(R, Y, np.nan)
    with np.errstate(all="ignore"):
        median = np.where(counts > 0, np.nanmedian(np.where(counts[:, None] > 0, rated, 0.0), axis=1), 0.0)
        divided = np.where(R, Y / np.where(means == 0, 1.0, means)[:, None], 0.0)
    overall = float(Y[R].mean()) if R.any() else 0.0
    return {
        "correct": centred(means),
        "counts_zeros": centred(np.where(R, Y, 0.0).sum(axis=1) / Y.shape[1]),
        "sums_unrated": centred(np.divide(Y.sum(axis=1), counts, out=np.zeros(len(counts)), where=counts > 0)),
        "global_mean": centred(np.full(len(counts), overall)),
        "median": centred(median),
        "not_subtracted": (np.where(R, Y, 0.0), means),
        "mean_added": (np.where(R, Y + means[:, None], 0.0), means),
        "divided": (divided, means),
    }


def step_variants(X, Theta, Y, R, lambda_, alpha):
    """One gradient-descent step, right and as the known mistakes make it, by name: ``(X_new, Theta_new)``."""
    gradients = gradient_variants(X, Theta, Y, R, lambda_)
    gx, gt = gradients["correct"]
    X_first, Theta_first = X - alpha * gx, Theta - alpha * gt

    def step(grads, a=alpha):
        return X - a * grads[0], Theta - a * grads[1]

    def gradient_at(X_now, Theta_now):
        return gradient_variants(X_now, Theta_now, Y, R, lambda_)["correct"]

    return {
        "correct": (X_first, Theta_first),
        "sequential": (X_first, Theta - alpha * gradient_at(X_first, Theta)[1]),
        "sequential_theta_first": (X - alpha * gradient_at(X, Theta_first)[0], Theta_first),
        "unmasked": step(gradients["unmasked"]),
        "no_reg": step(gradients["no_reg"]),
        "uphill": (X + alpha * gx, Theta + alpha * gt),
        "no_alpha": (X - gx, Theta - gt),
        "alpha_lambda_swapped": step(gradient_variants(X, Theta, Y, R, alpha)["correct"], lambda_),
        "x_only": (X_first, Theta),
        "theta_only": (X, Theta_first),
    }


def top_variants(predictions, rated, n):
    """The right top-n indices and what the known mistakes return, by name."""
    free = np.flatnonzero(~rated)
    best = free[np.argsort(-predictions[free], kind="stable")][:n]
    return {
        "correct": best,
        "ascending": free[np.argsort(predictions[free], kind="stable")][:n],
        "as_text": np.array(sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n], dtype=int),
        "filtered_positions": np.argsort(-predictions[free], kind="stable")[:n],
        "one_based": best + 1,
    }


def _numerical_gradient(cost, params, eps=1e-4):
    """Central differences of ``cost`` at ``params``."""
    steps = np.eye(params.size) * eps
    return np.array([cost(params + s) - cost(params - s) for s in steps]) / (2 * eps)


def _numerical_case(rng) -> Case:
    """The gradients' last check: central differences of the right cost on a problem with junk in Y."""
    X, Theta, Y, R = factor_problem(rng, 4, 5, 3, junk=True)
    lambda_, n = 1.5, X.size

    def cost(p):
        return cost_variants(p[:n].reshape(X.shape), p[n:].reshape(Theta.shape), Y, R, lambda_)["correct"]

    num = _numerical_gradient(cost, np.concatenate([X.ravel(), Theta.ravel()]))
    return Case("the numerical gradient check", (X, Theta, Y, R), (lambda_,),
                (num[:n].reshape(X.shape), num[n:].reshape(Theta.shape)), kind="numerical")


# ---------------------------------------------------------------- the cases of each exercise


def _case(label, arrays, scalars, variants) -> Case:
    variants = dict(variants)
    return Case(label, tuple(arrays), tuple(scalars), variants.pop("correct"), MappingProxyType(variants))


def _cost_cases(rng):
    return [_case(label, arrays, scalars, cost_variants(*arrays, *scalars))
            for label, arrays, scalars in _factor_problems(rng)]


def _gradient_cases(rng):
    cases = [_case(label, arrays, scalars, gradient_variants(*arrays, *scalars))
             for label, arrays, scalars in _factor_problems(rng)]
    return cases + [_numerical_case(rng)]


def _normalize_cases(rng):
    cases = []
    for label in ("", _JUNK):
        arrays = ratings_problem(rng, junk=bool(label))
        cases.append(_case(label, arrays, (), normalize_variants(*arrays)))
    return cases


def _step_cases(rng):
    cases = []
    for label, lambda_, alpha in (("", 1.5, 0.05), (_JUNK, 0.7, 0.02)):
        Y, R = ratings_problem(rng, junk=bool(label))
        X = rng.standard_normal((Y.shape[0], 3))
        Theta = rng.standard_normal((Y.shape[1], 3))
        cases.append(_case(label, (X, Theta, Y, R), (lambda_, alpha), step_variants(X, Theta, Y, R, lambda_, alpha)))
    return cases


def _top_cases(rng):
    predictions, rated = top_problem(rng)
    free = int((~rated).sum())
    return [_case(f"n={n}", (predictions, rated), (n,), top_variants(predictions, rated, n)) for n in (5, free + 3)]


@dataclass(frozen=True)
class Exercise:
    """One exercise as the teacher knows it: ``cases(rng)`` its test problems with their answers and
    fingerprints, ``reference`` the right function, ``rules`` what its text asks
    (:data:`recsys_tutorial.judging.RULES`)."""

    cases: Callable
    reference: Callable
    rules: Rules

    @property
    def task(self) -> str:
        return self.rules.task

    @property
    def forbidden(self) -> tuple[str, ...]:
        return self.rules.forbidden

    @property
    def no_loops(self) -> bool:
        return self.rules.no_loops

    @property
    def no_warnings(self) -> bool:
        return self.rules.no_warnings


EXERCISES = MappingProxyType({
    "check_cofi_cost": Exercise(
        _cost_cases, lambda X, Theta, Y, R, lambda_=0.0: cost_variants(X, Theta, Y, R, lambda_)["correct"],
        RULES["check_cofi_cost"]),
    "check_cofi_gradients": Exercise(
        _gradient_cases, lambda X, Theta, Y, R, lambda_=0.0: gradient_variants(X, Theta, Y, R, lambda_)["correct"],
        RULES["check_cofi_gradients"]),
    "check_normalize_ratings": Exercise(
        _normalize_cases, lambda Y, R: normalize_variants(Y, R)["correct"], RULES["check_normalize_ratings"]),
    "check_gradient_step": Exercise(
        _step_cases, lambda X, Theta, Y, R, lambda_, alpha: step_variants(X, Theta, Y, R, lambda_, alpha)["correct"],
        RULES["check_gradient_step"]),
    "check_top_n": Exercise(
        _top_cases, lambda predictions, rated, n: top_variants(predictions, rated, n)["correct"], RULES["check_top_n"]),
})


def _cases_for(checker: str, seed) -> list[Case]:
    return EXERCISES[checker].cases(np.random.default_rng(seed))


def planned_calls(checker: str, seed) -> list[tuple[list, tuple]]:
    """The calls :func:`judge` may make for ``seed``: ``[(arrays, scalars)]``, call ``k`` being case ``k``.

    A judge stops at the first wrong answer, so a wrong function gets some of these calls (the
    ``caller`` of :func:`judge` is asked for call ``k`` by its number), with the same arguments.
    """
    return [([np.array(a, copy=True) for a in case.arrays], tuple(case.scalars))
            for case in _cases_for(checker, seed)]


def judge(checker: str, fn=None, *, name=None, seed=None, source=None, caller=None) -> Verdict:
    """Check a learner's function for the exercise of ``checker`` (a key of :data:`EXERCISES`) on
    problems drawn from ``seed`` (None: fresh ones). See :func:`recsys_tutorial.judging.judge` for
    ``fn``, ``name``, ``source`` and ``caller``; never raises."""
    return judging.judge(checker, _cases_for(checker, seed), fn, name=name, source=source, caller=caller)


# ---------------------------------------------------------------- the notebooks' fixed problems, as data


def fixed_cases(checker: str) -> list[Case]:
    """The problems the notebook's check of ``checker`` runs on (seed :data:`FIXED_SEED`)."""
    return _cases_for(checker, FIXED_SEED)


def encode(value):
    """``value`` (a number, an array, a tuple of them) as JSON-ready data; the inverse is
    :func:`recsys_tutorial.exercises.decode`."""
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, np.ndarray):
        return {"dtype": value.dtype.name, "shape": list(value.shape), "values": value.tolist()}
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("a bare bool is not a check's value")
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def case_data() -> dict:
    """The contents of :data:`CASE_FILE`: every check's fixed cases, JSON-ready."""
    data = {"about": "The fixed problems of the checks in notebooks 03-07: arguments, expected output and what "
                     "each known mistake returns. Written by `python -m teacher.exercises` from the teacher's "
                     "reference formulas; do not edit."}
    for checker in EXERCISES:
        data[checker] = [{"label": c.label, "kind": c.kind, "arrays": [encode(a) for a in c.arrays],
                          "scalars": [encode(s) for s in c.scalars], "expected": encode(c.expected),
                          "mistakes": {k: encode(v) for k, v in c.mistakes.items()}}
                         for c in fixed_cases(checker)]
    return data


def format_case_data(data: dict) -> str:
    """One line per case, so that a change shows as a readable diff."""
    parts = [f"  {json.dumps('about')}: {json.dumps(data['about'])}"]
    for key, cases in data.items():
        if key != "about":
            rows = ",\n".join(f"    {json.dumps(c, separators=(',', ':'))}" for c in cases)
            parts.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _differences(a, b, where="") -> list[str]:
    """Where two JSON-ready values differ. Floats agree within 1e-9: another machine's BLAS rounds the
    last digits differently, and central differences magnify that to ~1e-10; a change of formula or
    problem changes far more."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for k, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{k}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if np.isclose(a, b, rtol=1e-9, atol=1e-9) else [f"{where}: {a!r} != {b!r}"]
    return [] if (a == b and type(a) is type(b)) else [f"{where}: {a!r} != {b!r}"]


def stale(path=CASE_FILE) -> list[str]:
    """What differs between the case file at ``path`` and what the formulas give now ([] when current)."""
    try:
        written = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{path}: cannot read it ({exc})"]
    return _differences(json.loads(format_case_data(case_data())), written)


def write_case_file(path=CASE_FILE) -> bool:
    """Write the case file if it is missing or stale; returns whether it was written."""
    path = Path(path)
    if path.is_file() and not stale(path):
        return False
    from recsys_tutorial.files import atomic_write

    with atomic_write(path) as handle:
        handle.write(format_case_data(case_data()).encode("utf-8"))
    return True


def main(argv=None) -> int:
    """``python -m teacher.exercises [--check] [--file PATH]``: write (or check) the checks' case file."""
    parser = argparse.ArgumentParser(prog="python -m teacher.exercises", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether the file is current (exit 1 if not)")
    parser.add_argument("--file", type=Path, default=CASE_FILE, help=f"default: {CASE_FILE}")
    args = parser.parse_args(argv)
    if args.check:
        differences = stale(args.file)
        for line in differences[:10]:
            print(line, file=sys.stderr)
        if differences:
            print(f"{args.file} is stale: run python -m teacher.exercises", file=sys.stderr)
        return 1 if differences else 0
    written = write_case_file(args.file)
    print(f"{args.file}: {'written' if written else 'current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
