"""benchmarks/bench.py, as a smoke test: a --tiny run prints every key line (this is not a benchmark)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

LINE = re.compile(r"^(?P<key>[a-z0-9_]+): (?P<value>\S+)(?:  # (?P<why>.+))?$")


def run_tiny(*extra):
    done = subprocess.run([sys.executable, str(BENCH), "--tiny", *extra], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    found = {}
    for line in done.stdout.splitlines():
        m = LINE.match(line)
        if m:
            found[m["key"]] = (float(m["value"]), m["why"])
    return found, done.stderr


@pytest.mark.slow
def test_tiny_run_prints_every_key():
    found, _ = run_tiny()
    assert list(found) == bench.KEYS
    try:
        import surprise  # noqa: F401
        has_surprise = True
    except ImportError:
        has_surprise = False
    for key, (value, why) in found.items():
        if key.startswith("u1_rmse_surprise") or key == "time_to_svd_rmse_over_svd_fit":
            if not has_surprise:
                assert math.isnan(value) and "not installed" in why, key
                continue
        assert math.isfinite(value) and value > 0, (key, value, why)
    assert 0.5 < found["u1_rmse_best"][0] < 1.5


def test_synthetic_triplets_are_unique_sorted_and_seeded():
    rows, cols, values = bench.synthetic_triplets((50, 80), 1500, seed=3)
    assert rows.size == cols.size == values.size == 1500
    lin = rows * 80 + cols
    assert (lin[1:] > lin[:-1]).all()  # sorted, no duplicate pair
    assert set(values.tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    again = bench.synthetic_triplets((50, 80), 1500, seed=3)
    assert all((a == b).all() for a, b in zip((rows, cols, values), again))


def test_gradient_floor_counts():
    floor, flops, bytes_ = bench.gradient_floor(1000, (10, 20), 4, flops_rate=1e9, bandwidth=1e9)
    assert flops == 6 * 4 * 1000 + 8 * 30 * 4
    assert bytes_ == 1000 * (24 + 8 + 24 + 128) + 24 * 30 * 4
    assert floor == max(flops, bytes_) / 1e9


def test_article_iteration_is_sequential_and_unmasked():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X, T, Y = rng.random((4, 2)), rng.random((3, 2)), rng.random((4, 3))
    R = (rng.random((4, 3)) < 0.5).astype(float)
    Xn, Tn, J = bench.article_iteration(*(pd.DataFrame(a) for a in (X, T, Y, R)), 0.1, 0.5)
    X1 = X - 0.1 * ((X @ T.T - Y) @ T + 0.5 * X)
    T1 = T - 0.1 * ((X1 @ T.T - Y).T @ X1 + 0.5 * T)  # Theta from the new X, no mask
    np.testing.assert_allclose(Xn.to_numpy(), X1)
    np.testing.assert_allclose(Tn.to_numpy(), T1)
    assert J == pytest.approx(0.5 * (((X @ T.T - Y) ** 2) * R).sum() + 0.25 * ((X ** 2).sum() + (T ** 2).sum()))


def test_without_surprise_the_keys_say_why(tmp_path):
    fake = tmp_path / "surprise"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, str(BENCH), "--tiny", "--steps", "3"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    found = {m["key"]: (m["value"], m["why"]) for m in map(LINE.match, done.stdout.splitlines()) if m}
    assert list(found) == bench.KEYS
    for key in ("u1_rmse_surprise_svd", "u1_rmse_surprise_svdpp", "time_to_svd_rmse_over_svd_fit"):
        assert found[key][0] == "nan" and "scikit-surprise not installed" in found[key][1]
    assert float(found["u1_rmse_best"][0]) > 0
    assert found["sparse_over_dense"] == ("nan", "not run (--steps)")


def test_dense_masked_baseline_is_the_course_cost_and_gradients():
    import numpy as np

    import helpers

    rng = np.random.default_rng(1)
    R = rng.random((6, 5)) < 0.5
    Y = np.where(R, rng.integers(1, 6, R.shape), 0).astype(float)
    X, T = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    J, X_grad, T_grad = bench.dense_masked_cost_and_gradients(X, T, Y, R.astype(float), 1.5)
    assert J == pytest.approx(helpers.cofi_cost(X, T, Y, R, 1.5), rel=1e-12)
    for got, expected in zip((X_grad, T_grad), helpers.cofi_gradients(X, T, Y, R, 1.5)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_workbook_cache_sets_and_restores_the_environment(monkeypatch):
    import os

    from recsys_tutorial import cache as _cache, settings

    monkeypatch.setenv(settings.CACHE_ENV, "/somewhere")
    with bench.workbook_cache("off"):
        assert settings.cache_folder() is None
    assert os.environ[settings.CACHE_ENV] == "/somewhere"
    monkeypatch.delenv(settings.CACHE_ENV)
    with bench.workbook_cache("/elsewhere"):
        assert os.environ[settings.CACHE_ENV] == "/elsewhere"
    assert settings.CACHE_ENV not in os.environ


def test_course_titles_tiny_are_made_up():
    assert bench.course_titles(Path("."), 3, tiny=True) == ["movie 1", "movie 2", "movie 3"]
