"""Benchmarks of the training paths, as ratios measured side by side in one run.

Usage::

    python benchmarks/bench.py            # the full run (`make bench`), several minutes
    python benchmarks/bench.py --tiny     # a smoke run on small synthetic data, seconds
    python benchmarks/bench.py --no-surprise   # skip the Surprise comparisons

Every figure is a ratio of two timings taken in the same run, interleaved and
repeated (the minimum of the repeats is kept: on a shared machine it is the
least disturbed measurement), so that the machine's load cancels out as far
as possible. Absolute seconds are printed for information only.

The run ends with one ``key: value`` line per figure (``nan`` plus the reason
when a figure could not be measured, e.g. Surprise not installed):

=============================== ======================================================
key                             meaning
=============================== ======================================================
u1_rmse_best                    test RMSE of our best model on u1 (Bayesian MF, Gibbs)
u1_rmse_surprise_svd            test RMSE of Surprise's SVD on u1 (default settings)
u1_rmse_surprise_svdpp          test RMSE of Surprise's SVD++ on u1 (default settings)
sparse_over_dense               ObservedRatings.cost_and_gradients / the one-pass dense
                                masked cost and gradients (k=10, ML-100K, 1 BLAS thread)
gd_iter_over_article            one gradient-descent iteration / the article's
gd100_over_floor                100 helpers.gradient_descent iterations on ML-100K /
                                100 x the floor of one sparse cost+gradient there
time_to_svd_rmse_over_svd_fit   time of our fastest model to reach SVD's u1 RMSE / SVD's fit
xlsx_load_over_article          helpers.load_ratings, cache off / the article's two pd.read_excel
xlsx_reload_over_article        helpers.load_ratings from its disk cache / the same
fold_in_over_retrain            a new user's top 10 by helpers.recommend(model=) (fold-in)
                                / helpers.recommend retraining (L-BFGS)
ml25m_grad_seconds              one sparse cost+gradient, ML-25M-shaped synthetic data
ml25m_peak_gb                   peak resident memory while computing it (data included)
growth_1m_to_25m                (t(25M ratings) / t(1M ratings)) / 25: 1.0 is linear
sparse_over_floor               that gradient's time / max(FLOPs / matmul rate,
                                bytes / memory bandwidth), rates measured in this run
=============================== ======================================================

In ``--tiny`` mode the data are small synthetic stand-ins and the numbers
mean nothing; the mode only proves that every step runs.

benchmarks/README.md says more about each figure, and holds the measurements
behind the code's design choices with snippets that repeat them.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys_tutorial import cache as _cache  # noqa: E402
from recsys_tutorial import settings
from recsys_tutorial import observed as _observed  # noqa: E402
import helpers  # noqa: E402
from recsys_tutorial import research  # noqa: E402
from recsys_tutorial.research import ObservedRatings  # noqa: E402

KEYS = [
    "u1_rmse_best",
    "u1_rmse_surprise_svd",
    "u1_rmse_surprise_svdpp",
    "sparse_over_dense",
    "gd_iter_over_article",
    "gd100_over_floor",
    "time_to_svd_rmse_over_svd_fit",
    "xlsx_load_over_article",
    "xlsx_reload_over_article",
    "fold_in_over_retrain",
    "ml25m_grad_seconds",
    "ml25m_peak_gb",
    "growth_1m_to_25m",
    "sparse_over_floor",
]

# ML-25M: 62,423 movies x 162,541 users, 25,000,095 ratings.
ML25M_SHAPE = (62_423, 162_541)
ML25M_RATINGS = 25_000_095
NUM_FEATURES = 10


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bar(total, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False)


def best_time(fn, repeat=5, number=1) -> float:
    """Minimum over ``repeat`` runs of the mean time of ``number`` calls."""
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def side_by_side(fa, fb, repeat=5, number=1) -> tuple[float, float]:
    """Time two functions alternately, so that load changes hit both; minimum of each."""
    ta = tb = math.inf
    for _ in range(repeat):
        ta = min(ta, best_time(fa, 1, number))
        tb = min(tb, best_time(fb, 1, number))
    return ta, tb


# ---------------------------------------------------------------- data


def synthetic_triplets(shape, n_ratings, seed=0, rank=5):
    """Unique (movie, user) pairs drawn uniformly, ratings from a seeded low-rank model.

    Built directly as sorted index arrays (never a dense matrix): sample
    linear indices with replacement (a few percent extra), sort, drop
    duplicates, drop the surplus at random. Ratings are
    ``clip(round(3.5 + x_i . theta_j + noise), 1, 5)`` with ``x``, ``theta``
    of ``rank`` standard-normal features scaled by ``1/sqrt(rank)``.
    """
    n_movies, n_users = shape
    rng = np.random.default_rng(seed)
    total = n_movies * n_users
    if n_ratings > total // 2:
        raise ValueError("too dense for this generator")
    extra = int(1.2 * n_ratings * n_ratings / (2 * total)) + 1000
    lin = rng.integers(0, total, size=n_ratings + extra, dtype=np.int64)
    lin.sort()
    keep = np.empty(lin.size, dtype=bool)
    keep[0] = True
    np.not_equal(lin[1:], lin[:-1], out=keep[1:])
    lin = lin[keep]
    del keep
    if lin.size < n_ratings:
        raise RuntimeError("generator drew too few unique pairs; raise `extra`")
    surplus = lin.size - n_ratings
    if surplus:
        drop = rng.choice(lin.size, size=surplus, replace=False)
        mask = np.ones(lin.size, dtype=bool)
        mask[drop] = False
        lin = lin[mask]
        del mask
    rows, cols = np.divmod(lin, n_users)
    del lin
    X = rng.standard_normal((n_movies, rank)) / math.sqrt(rank)
    T = rng.standard_normal((n_users, rank)) / math.sqrt(rank)
    values = np.empty(n_ratings)
    step = 1 << 20
    for s in range(0, n_ratings, step):
        e = min(s + step, n_ratings)
        v = np.einsum("ij,ij->i", X[rows[s:e]], T[cols[s:e]])
        v += 3.5 + rng.normal(0, 0.5, e - s)
        values[s:e] = np.clip(np.round(v), 1, 5)
    return rows, cols, values


def write_tiny_data(directory: Path) -> Path:
    """Synthetic stand-ins for data/: u1.base/u1.test and a small ex8_movies.xlsx."""
    import pandas as pd

    shape = (300, 200)
    rows, cols, values = synthetic_triplets(shape, 12_000, seed=1)
    perm = np.random.default_rng(2).permutation(rows.size)
    cut = int(0.8 * rows.size)
    for name, idx in (("u1.base", perm[:cut]), ("u1.test", perm[cut:])):
        lines = [f"{c + 1}\t{r + 1}\t{int(v)}\t0\n" for r, c, v in zip(rows[idx], cols[idx], values[idx])]
        (directory / name).write_text("".join(lines))
    Y = np.zeros(shape)
    Y[rows, cols] = values
    with pd.ExcelWriter(directory / "ex8_movies.xlsx", engine="openpyxl") as writer:
        pd.DataFrame(Y[:80, :60]).to_excel(writer, sheet_name="y", header=False, index=False)
        pd.DataFrame(Y[:80, :60] > 0).to_excel(writer, sheet_name="R", header=False, index=False)
    return directory


# ---------------------------------------------------------------- the article's code (timing only)


def article_cost(X, Theta, Y, R, lambda_):
    """The article's cost on pandas DataFrames (masked squared error plus both penalties)."""
    err = X.dot(Theta.T) - Y
    return 0.5 * ((err ** 2) * R).sum().sum() + lambda_ / 2 * ((X ** 2).sum().sum() + (Theta ** 2).sum().sum())


def article_iteration(X, Theta, Y, R, alpha, lambda_):
    """One step as the article writes it: cost, then X, then Theta from the *new* X, no mask."""
    J = article_cost(X, Theta, Y, R, lambda_)
    X = X - alpha * ((X.dot(Theta.T) - Y).dot(Theta) + lambda_ * X)
    Theta = Theta - alpha * ((X.dot(Theta.T) - Y).T.dot(X) + lambda_ * Theta)
    return X, Theta, J


# ---------------------------------------------------------------- steps


def dense_masked_cost_and_gradients(X, Theta, Y, M, lambda_):
    """The dense masked cost and gradients in one pass: the baseline of ``sparse_over_dense``.

    ``E = M * (X Theta^T - Y)``, ``J = ||E||^2 / 2 + penalties``, ``E Theta``
    and ``E^T X``, with ``M`` the rated mask as 0/1 floats and ``Y``, ``M``
    C-contiguous (the fastest dense form: no validation, no second pass).
    A benchmark baseline, not project code.
    """
    E = X @ Theta.T
    E -= Y
    E *= M
    J = 0.5 * float(np.einsum("ij,ij->", E, E)) + 0.5 * lambda_ * (
        float(np.einsum("ij,ij->", X, X)) + float(np.einsum("ij,ij->", Theta, Theta)))
    X_grad = E @ Theta
    X_grad += lambda_ * X
    Theta_grad = E.T @ X
    Theta_grad += lambda_ * Theta
    return J, X_grad, Theta_grad


def bench_gradients(Y, R, results, tiny):
    """sparse_over_dense and gd_iter_over_article on the course matrices."""
    import pandas as pd
    from threadpoolctl import threadpool_limits

    k, lam = NUM_FEATURES, 1.0
    X, Theta = helpers.init_parameters(Y.shape[0], Y.shape[1], k, seed=0)
    Yc, M = np.ascontiguousarray(Y, dtype=float), np.ascontiguousarray(R, dtype=float)
    obs = ObservedRatings.from_dense(Y, R.astype(bool))
    compiled = _observed.compiled_kernel() is not None   # loaded now; every timing below names its path
    kernel = "numba" if compiled else "NumPy"
    dense = dense_masked_cost_and_gradients(X, Theta, Yc, M, lam)
    sparse = obs.cost_and_gradients(X, Theta, lam, compiled=compiled)
    assert abs(sparse[0] - dense[0]) <= 1e-8 * abs(dense[0])
    assert all(np.allclose(a, b, rtol=1e-8, atol=1e-10) for a, b in zip(sparse[1:], dense[1:]))
    # As the trainers run: one BLAS thread, calls back to back (each side 10 calls in a row, the
    # sides alternating), so that neither pays for the caches the other one just filled.
    with threadpool_limits(limits=1, user_api="blas"):
        t_sparse, t_dense = side_by_side(lambda: obs.cost_and_gradients(X, Theta, lam, compiled=compiled),
                                         lambda: dense_masked_cost_and_gradients(X, Theta, Yc, M, lam),
                                         repeat=5 if tiny else 15, number=10)
    results["sparse_over_dense"] = t_sparse / t_dense
    log(f"  sparse gradient ({kernel}) {t_sparse * 1e3:.3f} ms, dense masked one-pass {t_dense * 1e3:.2f} ms")

    # Per iteration: gradient_descent validates its inputs and builds the sparse index
    # once per call, so time `iters` iterations and 0 iterations and take the difference.
    alpha, iters = 1e-4, (3 if tiny else 30)
    Xd, Td, Yd, Rd = (pd.DataFrame(a) for a in (X, Theta, Y, R.astype(float)))

    def ours(n):
        return lambda: helpers.gradient_descent(X, Theta, Y, R, lam, alpha, n)

    def article():
        Xa, Ta = Xd, Td
        for _ in range(iters):
            Xa, Ta, _ = article_iteration(Xa, Ta, Yd, Rd, alpha, lam)

    # Ours runs 10x the article's iterations, so that the set-up (about 25 ms) does not swamp the difference.
    t_setup = best_time(ours(0), repeat=3 if tiny else 7)
    t_ours, t_article = side_by_side(ours(10 * iters), article, repeat=2 if tiny else 5)
    per_iter = max(t_ours - t_setup, 1e-9) / (10 * iters)
    results["gd_iter_over_article"] = per_iter / (t_article / iters)
    log(f"  gradient descent: {per_iter * 1e3:.2f} ms/iteration (+ {t_setup * 1e3:.0f} ms set-up per call), "
        f"article {t_article / iters * 1e3:.1f} ms/iteration")


def bench_gd100(Y, R, results, tiny):
    """gd100_over_floor: one call of 100 iterations (set-up included), as one slider change in notebook 06."""
    X, Theta = helpers.init_parameters(Y.shape[0], Y.shape[1], NUM_FEATURES, seed=0)
    flops_rate, bandwidth = machine_rates(tiny)
    floor, _, _ = gradient_floor(int(np.count_nonzero(R)), Y.shape, NUM_FEATURES, flops_rate, bandwidth)
    t = best_time(lambda: helpers.gradient_descent(X, Theta, Y, R, 1.0, 1e-4, 100), repeat=3 if tiny else 10)
    results["gd100_over_floor"] = t / (100 * floor)
    log(f"  100 gradient-descent iterations {t * 1e3:.1f} ms; floor of one cost+gradient {floor * 1e3:.3f} ms "
        f"({flops_rate / 1e9:.1f} GFLOP/s, {bandwidth / 1e9:.1f} GB/s)")


@contextlib.contextmanager
def workbook_cache(value: str):
    """Run with ``$MOVIE_RECOMMENDER_CACHE`` set to ``value`` (a folder, or ``off``)."""
    old = os.environ.get(settings.CACHE_ENV)
    os.environ[settings.CACHE_ENV] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[settings.CACHE_ENV]
        else:
            os.environ[settings.CACHE_ENV] = old


def bench_xlsx(path: Path, results):
    """xlsx_load_over_article (cache off) and xlsx_reload_over_article (from a fresh cache folder)."""
    import pandas as pd

    def article():
        y = pd.read_excel(path, sheet_name="y", header=None, engine="openpyxl")  # the default engine
        r = pd.read_excel(path, sheet_name="R", header=None, engine="openpyxl")
        return y, r

    def uncached():
        with workbook_cache("off"):
            helpers.load_ratings(path)

    def first_load():  # parse and store, into an empty cache
        with tempfile.TemporaryDirectory() as tmp, workbook_cache(tmp):
            helpers.load_ratings(path)

    steps = bar(3, "xlsx: article (openpyxl), then helpers uncached and first loads, then cached")
    t = time.perf_counter()
    article()
    t_article = time.perf_counter() - t
    steps.update(1)
    t_ours, t_first = side_by_side(uncached, first_load, repeat=3)
    steps.update(1)
    with tempfile.TemporaryDirectory() as tmp, workbook_cache(tmp):
        helpers.load_ratings(path)
        t_reload = best_time(lambda: helpers.load_ratings(path), repeat=10)
    steps.update(1)
    steps.close()
    results["xlsx_load_over_article"] = t_ours / t_article
    results["xlsx_reload_over_article"] = t_reload / t_article
    log(f"  load_ratings {t_ours:.2f} s uncached, {t_first:.2f} s first load (parse + store: "
        f"{t_first / t_ours:.3f} x uncached), {t_reload * 1e3:.1f} ms cached; "
        f"two pd.read_excel (openpyxl) {t_article:.2f} s")


def bench_fold_in(Y, R, titles, results, reasons, tiny):
    """fold_in_over_retrain: a new user's top 10 by fold-in from a trained model / by retraining."""
    if "model" not in inspect.signature(helpers.recommend).parameters:
        reasons["fold_in_over_retrain"] = "n/a: helpers.recommend has no model= (fold-in) in this version"
        return
    mine = {row: stars for row, stars in helpers.ARTICLE_RATINGS.items() if row < Y.shape[0]}
    _, model = helpers.recommend({}, Y, R, titles, return_model=True)  # a model trained without you
    t_fold, t_retrain = side_by_side(lambda: helpers.recommend(mine, Y, R, titles, model=model),
                                     lambda: helpers.recommend(mine, Y, R, titles), repeat=2 if tiny else 5)
    results["fold_in_over_retrain"] = t_fold / t_retrain
    log(f"  top 10 by fold-in {t_fold * 1e3:.1f} ms, by retraining {t_retrain:.2f} s")


def course_titles(data: Path, n_movies: int, tiny: bool) -> list[str]:
    """The course's movie titles (``--tiny``: made-up ones for the synthetic matrix)."""
    if tiny:
        return [f"movie {i + 1}" for i in range(n_movies)]
    return helpers.load_movie_titles(data / "movie_ids.txt")


def surprise_available():
    try:
        import surprise  # noqa: F401
    except ImportError:
        return False
    return True


def bench_u1(data_dir: Path, results, reasons, tiny, use_surprise):
    train, test = research.load_movielens_split(data_dir, "u1")
    # Our best model (chosen on a validation split of u1.base in notebook 09).
    samples, burn = (10, 5) if tiny else (200, 50)
    log(f"  Bayesian MF (Gibbs), k=10, {burn} + {samples} sweeps")
    best = research.fit_bayesian_mf(train, 10, num_samples=samples, burn_in=burn, seed=0, progress=True)
    results["u1_rmse_best"] = research.evaluate(best, test)["rmse"]
    log(f"  u1 RMSE, Bayesian MF: {results['u1_rmse_best']:.4f} ({best.info['seconds']:.1f} s)")
    if not use_surprise:
        why = "skipped: scikit-surprise not installed (pip install -e '.[surprise]')" \
            if use_surprise is None else "skipped: --no-surprise"
        for key in ("u1_rmse_surprise_svd", "u1_rmse_surprise_svdpp", "time_to_svd_rmse_over_svd_fit"):
            reasons[key] = why
        return
    from surprise import SVD, Dataset, Reader, SVDpp, accuracy
    from surprise.model_selection import PredefinedKFold

    reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    folds = Dataset.load_from_folds([(str(data_dir / "u1.base"), str(data_dir / "u1.test"))], reader)
    trainset, testset = next(PredefinedKFold().split(folds))

    def svd_fit():
        return SVD(random_state=0).fit(trainset)

    svd = svd_fit()
    target = accuracy.rmse(svd.test(testset), verbose=False)
    results["u1_rmse_surprise_svd"] = target
    log(f"  u1 RMSE, Surprise SVD: {target:.4f}")
    log("  Surprise SVD++ (the slowest step of the run)")
    steps = bar(1, "Surprise SVD++ fit")
    svdpp = SVDpp(random_state=0, cache_ratings=True, **({"n_epochs": 2} if tiny else {})).fit(trainset)
    steps.update(1)
    steps.close()
    results["u1_rmse_surprise_svdpp"] = accuracy.rmse(svdpp.test(testset), verbose=False)
    log(f"  u1 RMSE, Surprise SVD++: {results['u1_rmse_surprise_svdpp']:.4f}")

    # Our fastest route to SVD's RMSE: biased ALS, k=10. How many sweeps does it need?
    config = dict(num_features=10, lambda_=12.0, lambda_bias=3.0, tol=0.0)
    reached = []

    def stop_when_reached(it, model):
        if research.evaluate(model, test)["rmse"] <= target:
            reached.append(it)
            return True
        return False

    research.fit_mf_als(train, num_iters=50, callback=stop_when_reached, **config)
    if not reached:
        reasons["time_to_svd_rmse_over_svd_fit"] = f"biased ALS did not reach {target:.4f} in 50 sweeps"
        return
    sweeps = reached[0]

    def ours():  # from the raw triplets, so building the index structures counts too
        fresh = ObservedRatings(train.rows, train.cols, train.values, train.shape)
        return research.fit_mf_als(fresh, num_iters=sweeps, **config)

    check = research.evaluate(ours(), test)["rmse"]
    t_ours, t_svd = side_by_side(ours, svd_fit, repeat=1 if tiny else 3)
    results["time_to_svd_rmse_over_svd_fit"] = t_ours / t_svd
    log(f"  biased ALS reaches {check:.4f} <= {target:.4f} in {sweeps} sweeps: {t_ours:.2f} s; "
        f"SVD fit {t_svd:.2f} s")


def machine_rates(tiny):
    """Single-thread matmul rate (FLOP/s) and memory bandwidth (bytes/s), measured now."""
    from threadpoolctl import threadpool_limits

    n = 300 if tiny else 1500
    a, b = np.random.default_rng(0).random((n, n)), np.random.default_rng(1).random((n, n))
    with threadpool_limits(limits=1, user_api="blas"):
        t = best_time(lambda: a @ b, repeat=3 if tiny else 5)
    flops = 2 * n ** 3 / t
    size = (2 << 20) if tiny else (64 << 20)  # floats: 512 MB per array, far beyond any cache
    src, dst = np.ones(size), np.empty(size)
    t = best_time(lambda: np.copyto(dst, src), repeat=3 if tiny else 5)
    bandwidth = 2 * 8 * size / t  # read + write
    return flops, bandwidth


def gradient_floor(n_ratings, shape, k, flops_rate, bandwidth):
    """Lower bound on one sparse cost+gradient: max(arithmetic time, memory-traffic time).

    FLOPs: 2k per rating for the residual, 2k for E Theta, 2k for E^T X,
    plus the penalties' O((m + n) k). Bytes, per rating: the movie and user
    index and the rating (3 x 8), the residual written (8) and read by both
    products with its int32 column index (2 x 12), and the four feature rows
    gathered (x_i and theta_j for the residual, theta_j for E Theta, x_i for
    E^T X: 4 x 8k); plus reading the parameters and writing both gradients.
    """
    m, n = shape
    flops = 6 * k * n_ratings + 8 * (m + n) * k
    bytes_ = n_ratings * (3 * 8 + 8 + 2 * 12 + 4 * 8 * k) + 3 * 8 * (m + n) * k
    return max(flops / flops_rate, bytes_ / bandwidth), flops, bytes_


def worker(n_ratings, shape, repeat, tiny) -> dict:
    """Build one synthetic problem and time its sparse gradient (run in a fresh process)."""
    from threadpoolctl import threadpool_limits

    compiled = _observed.compiled_kernel() is not None  # the same path for every size (as in bench_gradients)
    rows, cols, values = synthetic_triplets(shape, n_ratings, seed=0)
    obs = ObservedRatings(rows, cols, values, shape)
    del rows, cols, values
    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.1, (shape[0], NUM_FEATURES))
    Theta = rng.normal(0, 0.1, (shape[1], NUM_FEATURES))
    hwm_reset = _reset_peak_rss()
    with threadpool_limits(limits=1, user_api="blas"):
        t = best_time(lambda: obs.cost_and_gradients(X, Theta, 1.0, compiled=compiled), repeat=repeat)
    peak = _peak_rss_bytes(hwm_reset)
    out = {"n_ratings": n_ratings, "seconds": t, "peak_bytes": peak, "peak_since_reset": hwm_reset,
           "kernel": "numba" if compiled else "NumPy"}
    del obs
    flops_rate, bandwidth = machine_rates(tiny)
    floor, flops, bytes_ = gradient_floor(n_ratings, shape, NUM_FEATURES, flops_rate, bandwidth)
    out.update(floor=floor, flops=flops, bytes=bytes_, flops_rate=flops_rate, bandwidth=bandwidth)
    return out


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process' RSS (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes(reset: bool) -> int:
    if reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # includes the data generation


def run_worker(n_ratings, shape, repeat, tiny) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(n_ratings),
           str(shape[0]), str(shape[1]), str(repeat)] + (["--tiny"] if tiny else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker for {n_ratings} ratings failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_ml25m(results, reasons, tiny):
    if tiny:
        shape, big, small = (2_000, 5_000), 500_000, 20_000
    else:
        shape, big, small = ML25M_SHAPE, ML25M_RATINGS, 1_000_000
    steps = bar(2, f"synthetic {shape[0]}x{shape[1]}: {small:,} then {big:,} ratings")
    r_small = run_worker(small, shape, 3 if tiny else 7, tiny)
    steps.update(1)
    r_big = run_worker(big, shape, 2 if tiny else 3, tiny)
    steps.update(1)
    steps.close()
    results["ml25m_grad_seconds"] = r_big["seconds"]
    results["ml25m_peak_gb"] = r_big["peak_bytes"] / 1e9
    if not r_big["peak_since_reset"]:
        reasons["ml25m_peak_gb"] = "peak RSS of the whole worker (could not reset the high-water mark)"
    if r_big["kernel"] != r_small["kernel"]:   # never a ratio of two paths (both workers load the same way)
        raise RuntimeError(f"the two sizes ran different kernels: {r_small['kernel']} and {r_big['kernel']}")
    results["growth_1m_to_25m"] = (r_big["seconds"] / r_small["seconds"]) / (big / small)
    results["sparse_over_floor"] = r_big["seconds"] / r_big["floor"]
    log(f"  {r_big['kernel']} kernel, {big:,} ratings: {r_big['seconds']:.2f} s per cost+gradient, peak RSS {results['ml25m_peak_gb']:.2f} GB; "
        f"{small:,} ratings: {r_small['seconds'] * 1e3:.0f} ms")
    log(f"  floor: {r_big['flops'] / 1e9:.2f} GFLOP at {r_big['flops_rate'] / 1e9:.1f} GFLOP/s (1 thread), "
        f"{r_big['bytes'] / 1e9:.2f} GB at {r_big['bandwidth'] / 1e9:.1f} GB/s -> {r_big['floor']:.2f} s")


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run on small synthetic data")
    parser.add_argument("--no-surprise", action="store_true", help="skip the Surprise comparisons")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="folder with u1.base, ex8_movies.xlsx")
    parser.add_argument("--steps", default="1,2,3,4,5",
                        help="comma-separated steps to run (1 gradients, 2 xlsx, 3 u1 models, 4 ML-25M, 5 fold-in); "
                             "default all")
    parser.add_argument("--worker", nargs=4, type=int, metavar=("N", "M", "U", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        n, m, u, repeat = args.worker
        print(json.dumps(worker(n, (m, u), repeat, args.tiny)))
        return 0

    results, reasons = {}, {}
    use_surprise = False if args.no_surprise else (True if surprise_available() else None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_tiny_data(Path(tmp)) if args.tiny else args.data
        needed = [data / "u1.base", data / "u1.test", data / "ex8_movies.xlsx"]
        missing = [str(p) for p in needed if not p.is_file()]
        if missing:
            log(f"missing data files {missing}: run `make data` first")
            return 2
        Y, R = helpers.load_ratings(data / "ex8_movies.xlsx")
        if args.tiny:  # the workbook is a small corner; the gradients use the whole synthetic matrix
            train, _ = research.load_movielens_split(data, "u1")
            Y, R = train.to_dense()
        steps = [
            ("gradients: sparse vs dense, gradient descent vs the article and the floor",
             lambda: (bench_gradients(Y, R, results, args.tiny), bench_gd100(Y, R, results, args.tiny))),
            ("reading ex8_movies.xlsx", lambda: bench_xlsx(data / "ex8_movies.xlsx", results)),
            ("u1: our best model, Surprise, time to Surprise SVD's RMSE",
             lambda: bench_u1(data, results, reasons, args.tiny, use_surprise)),
            ("ML-25M-shaped synthetic gradient (subprocesses)", lambda: bench_ml25m(results, reasons, args.tiny)),
            ("a new user's top 10: fold-in vs retraining",
             lambda: bench_fold_in(Y, R, course_titles(data, Y.shape[0], args.tiny), results, reasons, args.tiny)),
        ]
        wanted = {int(x) for x in args.steps.split(",") if x.strip()}
        for i, (title, step) in enumerate(steps, 1):
            if i not in wanted:
                for key in _STEP_KEYS[i]:
                    reasons[key] = "not run (--steps)"
                continue
            log(f"[{i}/{len(steps)}] {title}")
            t = time.perf_counter()
            try:
                step()
            except Exception as exc:  # report the failure, carry on with the other figures
                log(f"  FAILED: {type(exc).__name__}: {exc}")
                for key in _STEP_KEYS[i] - results.keys():
                    reasons.setdefault(key, f"failed: {type(exc).__name__}: {exc}")
            log(f"  ({time.perf_counter() - t:.1f} s)")
    log(f"total {time.perf_counter() - started:.1f} s{' (tiny: numbers are meaningless)' if args.tiny else ''}")
    for key in KEYS:
        if key in results and key not in reasons:
            print(f"{key}: {results[key]:.4g}")
        elif key in results:
            print(f"{key}: {results[key]:.4g}  # {reasons[key]}")
        else:
            print(f"{key}: nan  # {reasons.get(key, 'not measured')}")
    failed = [k for k in KEYS if reasons.get(k, "").startswith("failed")]
    return 1 if failed else 0


_STEP_KEYS = {
    1: {"sparse_over_dense", "gd_iter_over_article", "gd100_over_floor"},
    2: {"xlsx_load_over_article", "xlsx_reload_over_article"},
    3: {"u1_rmse_best", "u1_rmse_surprise_svd", "u1_rmse_surprise_svdpp", "time_to_svd_rmse_over_svd_fit"},
    4: {"ml25m_grad_seconds", "ml25m_peak_gb", "growth_1m_to_25m", "sparse_over_floor"},
    5: {"fold_in_over_retrain"},
}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
