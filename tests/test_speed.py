"""The compiled cost kernel of _observed.py against its NumPy reference, and its fallbacks.

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

from recsys_tutorial import observed as _observed
import helpers
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
    monkeypatch.delenv(_observed.NUMBA_ENV_VAR, raising=False)
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
    monkeypatch.delenv(_observed.NUMBA_ENV_VAR, raising=False)
    monkeypatch.setattr(numba, "njit", broken)
    with pytest.warns(UserWarning, match="using NumPy instead: no LLVM target here"):
        assert _observed.compiled_kernel() is None
    obs, X, Theta = random_problem(6, (10, 8), 0.5, 2)
    assert obs.cost_and_gradients(X, Theta, 1.0)[0] == obs._cost_and_gradients_numpy(X, Theta, 1.0)[0]


@numba_installed
def test_numba_is_loaded_only_after_enough_numpy_work(monkeypatch):
    """The first calls of a process run NumPy; once NUMPY_RATINGS_BEFORE_NUMBA ratings went through it, numba."""
    monkeypatch.delenv(_observed.NUMBA_ENV_VAR, raising=False)
    monkeypatch.setattr(_observed, "_KERNEL", {})
    monkeypatch.setattr(_observed, "_numpy_ratings", 0)
    obs, X, Theta = random_problem(7, (30, 20), 0.5, 3)
    monkeypatch.setattr(_observed, "NUMPY_RATINGS_BEFORE_NUMBA", 2 * obs.n_ratings)
    expected = obs._cost_and_gradients_numpy(X, Theta, 1.0)
    for loaded in (False, False, False, True, True):
        assert ("kernel" in _observed._KERNEL) is loaded
        assert_close(obs.cost_and_gradients(X, Theta, 1.0), expected)
    assert _observed._KERNEL["kernel"] is not None


def test_numba_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(_observed.NUMBA_ENV_VAR, "off")
    assert _observed.compiled_kernel() is None


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
    env.pop(_observed.NUMBA_ENV_VAR, None)
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.split()[-1] for _ in range(2)]
    assert runs == ["0", "1"]
    assert list(tmp_path.rglob("*.nbi")) and list(tmp_path.rglob("*.nbc"))
