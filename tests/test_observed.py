"""recsys_tutorial/observed.py: ObservedRatings, and its compiled cost kernel against the NumPy reference.

Timings are not asserted here: `make bench` measures them as ratios (benchmarks/README.md).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import helpers
from fakes import small_problem, toy_ratings
from recsys_tutorial import research as rs
from recsys_tutorial import observed as _observed
from recsys_tutorial import settings
from recsys_tutorial.observed import ObservedRatings

ROOT = Path(__file__).resolve().parents[1]
numba_installed = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")


def random_problem(seed, shape, density, k, shuffle=True):
    rng = np.random.default_rng(seed)
    R = rng.random(shape) < density
    R[0, :] = False  # a movie nobody rated
    R[:, -1] = False  # a user who rated nothing
    rows, cols = np.nonzero(R)
    values = rng.integers(1, 6, rows.size).astype(float)
    if shuffle:  # the triplets in no particular order
        order = rng.permutation(rows.size)
        rows, cols, values = rows[order], cols[order], values[order]
    obs = ObservedRatings(rows, cols, values, shape)
    return obs, rng.normal(0, 0.5, (shape[0], k)), rng.normal(0, 0.5, (shape[1], k))


def assert_close(got, expected, tol=1e-10):
    J, X_grad, Theta_grad = got
    assert abs(J - expected[0]) <= tol * max(1.0, abs(expected[0]))
    np.testing.assert_allclose(X_grad, expected[1], rtol=tol, atol=tol)
    np.testing.assert_allclose(Theta_grad, expected[2], rtol=tol, atol=tol)


@pytest.fixture
def compiled(monkeypatch):
    """The compiled kernel loaded, as after the warm-up of a long training run."""
    monkeypatch.delenv(settings.NUMBA_ENV, raising=False)
    assert _observed.compiled_kernel() is not None


@pytest.fixture
def numpy_only(monkeypatch):
    """As if numba were not installed: the import fails."""
    monkeypatch.setattr(_observed, "_KERNEL", {})
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError


@numba_installed
@pytest.mark.parametrize("shape, density, k, lambda_", [
    ((40, 30), 0.3, 10, 1.5), ((40, 30), 0.9, 1, 0.0), ((7, 200), 0.2, 3, 10.0),
    ((300, 11), 0.5, 17, 0.25), ((1, 1), 1.0, 2, 1.0),
])
def test_compiled_kernel_matches_the_numpy_reference(compiled, shape, density, k, lambda_):
    obs, X, Theta = random_problem(0, shape, density, k)
    got = obs.cost_and_gradients(X, Theta, lambda_)
    assert_close(got, obs._cost_and_gradients_numpy(X, Theta, lambda_))
    Y, R = obs.to_dense()
    assert_close(got, (helpers.cofi_cost(X, Theta, Y, R, lambda_), *helpers.cofi_gradients(X, Theta, Y, R, lambda_)))


@numba_installed
def test_compiled_kernel_with_64_bit_indices(compiled, monkeypatch):
    """Beyond 2**32 ratings the kernel's index arrays are int64; it compiles for them too."""
    monkeypatch.setattr(_observed, "_KERNEL_INDEX_MAX", 10)
    obs, X, Theta = random_problem(1, (50, 40), 0.3, 4)
    assert all(obs._segments(side)[k].dtype == np.int64 for side in (False, True) for k in (0, 1))
    assert_close(obs.cost_and_gradients(X, Theta, 2.0), obs._cost_and_gradients_numpy(X, Theta, 2.0))


@numba_installed
def test_compiled_kernel_keeps_inf_and_nan(compiled):
    """No fast-math flag that assumes finite numbers: a diverging run still shows inf or NaN."""
    obs, X, Theta = random_problem(2, (20, 15), 0.5, 3)
    X[obs.by_row().rows[0], 0] = np.inf
    J, X_grad, _ = obs.cost_and_gradients(X, Theta, 1.0)
    assert not np.isfinite(J) and not np.all(np.isfinite(X_grad))
    X[obs.by_row().rows[0], 0] = np.nan
    assert np.isnan(obs.cost_and_gradients(X, Theta, 1.0)[0])


def test_without_numba_the_numpy_reference_runs(numpy_only):
    assert _observed.compiled_kernel() is None
    obs, X, Theta = random_problem(3, (30, 20), 0.4, 5)
    got = obs.cost_and_gradients(X, Theta, 1.0)
    expected = obs._cost_and_gradients_numpy(X, Theta, 1.0)
    assert got[0] == expected[0]
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[2], expected[2])


@numba_installed
def test_a_numba_that_cannot_compile_falls_back_to_numpy(monkeypatch):
    import numba

    def broken(*args, **kwargs):
        raise numba.core.errors.NumbaError("no LLVM target here")

    monkeypatch.setattr(_observed, "_KERNEL", {})
    monkeypatch.delenv(settings.NUMBA_ENV, raising=False)
    monkeypatch.setattr(numba, "njit", broken)
    with pytest.warns(UserWarning, match="using NumPy instead: no LLVM target here"):
        assert _observed.compiled_kernel() is None
    obs, X, Theta = random_problem(6, (10, 8), 0.5, 2)
    assert obs.cost_and_gradients(X, Theta, 1.0)[0] == obs._cost_and_gradients_numpy(X, Theta, 1.0)[0]


@numba_installed
def test_the_path_is_chosen_by_the_argument_and_the_setting_only(monkeypatch):
    """The same call takes the same path whatever ran before: compiled=, else MOVIE_RECOMMENDER_NUMBA."""
    monkeypatch.delenv(settings.NUMBA_ENV, raising=False)
    obs, X, Theta = random_problem(7, (30, 20), 0.5, 3)
    calls = []
    real = _observed.compiled_kernel()
    monkeypatch.setitem(_observed._KERNEL, "kernel", lambda *a: calls.append(1) or real(*a))
    expected = obs._cost_and_gradients_numpy(X, Theta, 1.0)
    for _ in range(3):
        assert_close(obs.cost_and_gradients(X, Theta, 1.0), expected)
    assert len(calls) == 6                      # two half passes per call, from the first call on
    assert_close(obs.cost_and_gradients(X, Theta, 1.0, compiled=False), expected)
    assert len(calls) == 6
    monkeypatch.setenv(settings.NUMBA_ENV, "off")
    assert_close(obs.cost_and_gradients(X, Theta, 1.0), expected)
    assert len(calls) == 6
    assert_close(obs.cost_and_gradients(X, Theta, 1.0, compiled=True), expected)   # the argument wins
    assert len(calls) == 8


def test_numba_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(settings.NUMBA_ENV, "OFF ")
    assert _observed._kernel(None) is None


def test_compiled_true_without_numba_says_so(numpy_only):
    obs, X, Theta = random_problem(8, (10, 8), 0.5, 2)
    with pytest.raises(RuntimeError, match="compiled=True, but numba's kernel cannot run here"):
        obs.cost_and_gradients(X, Theta, 1.0, compiled=True)


@pytest.mark.parametrize("block", [8192, 3])
def test_the_kernel_as_plain_python_gives_the_reference(monkeypatch, block):
    """``_half_pass`` is ordinary Python: its logic is checked even where numba is missing (and in blocks)."""
    monkeypatch.setattr(_observed, "PARTNER_BLOCK", block)
    obs, X, Theta = random_problem(4, (9, 8), 0.5, 3)
    X_grad, Theta_grad = np.empty_like(X), np.empty_like(Theta)
    sq = _observed._half_pass(*obs._segments(by_user=False), X, Theta, 0.5, X_grad)
    sq_again = _observed._half_pass(*obs._segments(by_user=True), Theta, X, 0.5, Theta_grad)
    assert sq == pytest.approx(sq_again, rel=1e-12)
    assert_close((0.5 * sq + _observed._penalty(X, Theta, 0.5), X_grad, Theta_grad),
                 obs._cost_and_gradients_numpy(X, Theta, 0.5))


@pytest.mark.parametrize("block", [8192, 4, 1])
def test_segments_hold_every_rating_once_in_partner_blocks(monkeypatch, block):
    monkeypatch.setattr(_observed, "PARTNER_BLOCK", block)
    obs, _, _ = random_problem(5, (12, 9), 0.5, 2)
    g = obs.by_row()
    expected = sorted(zip(g.rows.tolist(), g.cols.tolist(), g.values.tolist()))
    for by_user, (n_rows, n_partners) in ((False, (12, 9)), (True, (9, 12))):
        starts, partners, values = obs._segments(by_user)
        assert starts.size == -(-n_partners // block) * n_rows + 1 and starts[-1] == obs.n_ratings
        got = []
        for s in range(starts.size - 1):
            i, b = s % n_rows, s // n_rows
            seg = partners[starts[s]:starts[s + 1]]
            assert np.all(seg // block == b) and np.all(np.diff(seg) > 0)
            got += [((j, i) if by_user else (i, j)) + (v,) for j, v in zip(seg.tolist(), values[starts[s]:starts[s + 1]])]
        assert sorted((r, c, float(v)) for r, c, v in got) == expected


@numba_installed
def test_compiled_kernel_in_partner_blocks(compiled, monkeypatch):
    """Problems wider than one block (ML-25M) run block by block; the result is the same."""
    monkeypatch.setattr(_observed, "PARTNER_BLOCK", 7)
    obs, X, Theta = random_problem(8, (60, 45), 0.3, 5)
    assert obs._segments(False)[0].size == 7 * 60 + 1 and obs._segments(True)[0].size == 9 * 45 + 1
    assert_close(obs.cost_and_gradients(X, Theta, 1.0), obs._cost_and_gradients_numpy(X, Theta, 1.0))


@numba_installed
def test_numba_keeps_the_compiled_kernel_in_its_disk_cache(tmp_path):
    """A second process loads the machine code from the cache instead of compiling (NUMBA_CACHE_DIR here)."""
    code = "from recsys_tutorial import observed as _observed; print(sum(_observed.compiled_kernel().stats.cache_hits.values()))"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop(settings.NUMBA_ENV, None)
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.split()[-1] for _ in range(2)]
    assert runs == ["0", "1"]
    assert list(tmp_path.rglob("*.nbi")) and list(tmp_path.rglob("*.nbc"))


def test_triplets_validation_and_dense_round_trip():
    t = ObservedRatings([0, 2, 1], [1, 0, 1], [4.0, 3.0, 5.0], (3, 2))
    assert t.n_ratings == len(t) == 3 and t.shape == (3, 2)
    Y, R = t.to_dense()
    np.testing.assert_array_equal(Y, [[0, 4], [0, 5], [3, 0]])
    np.testing.assert_array_equal(R, Y > 0)
    back = ObservedRatings.from_dense(Y, R)
    assert sorted(zip(back.rows, back.cols, back.values)) == sorted(zip(t.rows, t.cols, t.values))
    sub = t.subset([True, False, True])
    assert sub.shape == t.shape and sub.rows.tolist() == [0, 1]
    with pytest.raises(ValueError, match="more than once"):
        ObservedRatings([0, 0], [1, 1], [1.0, 2.0], (3, 2))
    with pytest.raises(ValueError, match="0..2"):
        ObservedRatings([3], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="same length"):
        ObservedRatings([0, 1], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="integer"):
        ObservedRatings([0.5], [0], [1.0], (3, 2))
    with pytest.raises(ValueError, match="finite"):
        ObservedRatings([0], [0], [np.nan], (3, 2))
    with pytest.raises(TypeError, match="ObservedRatings"):
        rs.fit_global_mean((Y, R))


def test_sparse_gradient_matches_dense_across_blocks(monkeypatch):
    rng = np.random.default_rng(11)
    Y = rng.integers(1, 6, size=(300, 200)).astype(float)
    R = rng.random(Y.shape) < 0.07
    X, Theta = rng.standard_normal((300, 10)), rng.standard_normal((200, 10))
    monkeypatch.setattr(ObservedRatings, "_BLOCK", 97)  # many blocks, a ragged last one
    J, Xg, Tg = ObservedRatings.from_dense(Y, R).cost_and_gradients(X, Theta, 1.5)
    Jd, (Xgd, Tgd) = helpers.cofi_cost(X, Theta, Y, R, 1.5), helpers.cofi_gradients(X, Theta, Y, R, 1.5)
    assert abs(J - Jd) <= 1e-8 * abs(Jd)
    np.testing.assert_allclose(Xg, Xgd, rtol=0, atol=1e-8)
    np.testing.assert_allclose(Tg, Tgd, rtol=0, atol=1e-8)


def test_from_triplets_sorted_fast_path_and_duplicates():
    rng = np.random.default_rng(2)
    t = toy_ratings(4, n_movies=20, n_users=15)
    perm = rng.permutation(t.n_ratings)
    a = ObservedRatings(t.rows, t.cols, t.values, t.shape).by_row()  # already sorted
    b = ObservedRatings(t.rows[perm], t.cols[perm], t.values[perm], t.shape).by_row()
    for name in ("rows", "cols", "values", "indptr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    with pytest.raises(ValueError, match="more than once"):
        ObservedRatings([1, 0, 1], [2, 0, 2], [1.0, 2.0, 3.0], (3, 3))


def test_sparse_cost_matches_dense():
    rng = np.random.default_rng(5)
    Y = rng.integers(1, 6, size=(60, 40)).astype(float)
    R = rng.random(Y.shape) < 0.1
    X = rng.standard_normal((60, 4))
    Theta = rng.standard_normal((40, 4))
    obs = ObservedRatings.from_dense(Y, R)
    assert obs.n_ratings == R.sum()
    dense = (helpers.cofi_cost(X, Theta, Y, R, 2.0), *helpers.cofi_gradients(X, Theta, Y, R, 2.0))
    sparse = obs.cost_and_gradients(X, Theta, 2.0)
    assert sparse[0] == pytest.approx(dense[0], rel=1e-12)
    for a, b in zip(sparse[1:], dense[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    rows, cols = np.nonzero(R)
    perm = rng.permutation(rows.size)
    obs2 = ObservedRatings(rows[perm], cols[perm], Y[rows, cols][perm], Y.shape)
    assert obs2.cost_and_gradients(X, Theta, 2.0)[0] == pytest.approx(dense[0], rel=1e-12)
    with pytest.raises(ValueError, match="index into shape"):
        ObservedRatings([0], [40], [1.0], (60, 40))
