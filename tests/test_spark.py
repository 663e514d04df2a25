"""Tests of the Spark chapter (notebooks/10-spark-als.ipynb): Java, the chapter's guard cell,
and our ALS-WR (research.fit_mf_als with weighted_lambda=True) against Spark MLlib's ALS.

pyspark is an optional extra (``pip install -e '.[spark]'``): without it the
Spark tests skip and say how to install it. With it, a missing or too old Java fails,
because Spark cannot start without one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys_tutorial import research

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "10-spark-als.ipynb"
INSTALL_HINT = "pip install -e '.[spark]'"
MIN_JAVA = 17


def java_major_version():
    """Major version of the Java Spark would start (JAVA_HOME first, then PATH), or None."""
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=str(Path(java_home, "bin"))) if java_home else shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0_392" is Java 8


def require_java():
    version = java_major_version()
    if version is None or version < MIN_JAVA:
        found = "no Java" if version is None else f"Java {version}"
        pytest.fail(
            f"pyspark is installed but Spark needs Java {MIN_JAVA} or later, and found {found} "
            "(JAVA_HOME, then PATH). Install one, e.g. `apt-get install openjdk-17-jre-headless`, "
            "so that `java -version` prints 17 or later.",
            pytrace=False,
        )
    return version


def first_code_cell() -> str:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def run_first_cell(prelude: str, env: dict) -> subprocess.CompletedProcess:
    """Run the chapter's first code cell in a fresh interpreter from notebooks/, as Jupyter would."""
    code = prelude + "\nexec(compile(" + repr(first_code_cell()) + ", 'first cell', 'exec'))\n"
    return subprocess.run([sys.executable, "-c", code], cwd=NOTEBOOK.parent, env=env,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- fast checks


def test_requirements_pin_pyspark_exactly():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["spark"]
    pins = dict(spec.split("==") for spec in extra if "==" in spec)
    assert "pyspark" in pins, "pyproject.toml's spark extra must pin pyspark with =="
    assert int(pins["pyspark"].split(".")[0]) >= 4, "Spark 4 (Java 17) is what the chapter documents"


def test_notebook_first_cell_explains_how_to_install_pyspark():
    result = run_first_cell("import sys; sys.modules['pyspark'] = None  # as if not installed",
                            dict(os.environ))
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert INSTALL_HINT in result.stderr, result.stderr[-2000:]


def test_notebook_first_cell_explains_missing_java(tmp_path):
    pytest.importorskip("pyspark", reason=f"pyspark is not installed: {INSTALL_HINT}")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # an empty directory: no java on PATH
    result = run_first_cell("", env)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert "no Java" in result.stderr and "Java 17" in result.stderr, result.stderr[-2000:]


def test_java_is_available_for_spark():
    pytest.importorskip("pyspark", reason=f"pyspark is not installed: {INSTALL_HINT}")
    assert require_java() >= MIN_JAVA


def synthetic_ratings(seed=42, n_movies=40, n_users=30, k=3, density=0.7, noise=0.1):
    """Ratings 3 + x.theta + noise from a rank-k model; every movie and user has ratings."""
    rng = np.random.default_rng(seed)
    full = 3.0 + rng.normal(size=(n_movies, k)) @ rng.normal(size=(n_users, k)).T
    mask = rng.random((n_movies, n_users)) < density
    mask[np.arange(n_movies), np.arange(n_movies) % n_users] = True
    rows, cols = np.nonzero(mask)
    values = full[rows, cols] + noise * rng.normal(size=rows.size)
    return research.ObservedRatings(rows, cols, values, (n_movies, n_users))


def fit_ours(train, k, lam, iters, weighted=True, seed=0):
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal((train.shape[1], k))
    theta0 /= np.linalg.norm(theta0, axis=1, keepdims=True)
    return research.fit_mf_als(train, num_features=k, lambda_=lam, biases=False,
                               weighted_lambda=weighted, num_iters=iters, tol=0.0, seed=seed, Theta0=theta0)


def cost_wr(train, lam, X, Theta):
    zm, zu = np.zeros(train.shape[0]), np.zeros(train.shape[1])
    return research.mf_cost_and_gradients(X, Theta, zm, zu, train, lambda_=lam, weighted_lambda=True)[0]


# ---------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark", reason=f"pyspark is not installed: {INSTALL_HINT}")
    require_java()
    import warnings

    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    work = tmp_path_factory.mktemp("spark")
    log4j = work / "log4j2.properties"
    log4j.write_text("rootLogger.level = error\n"
                     "rootLogger.appenderRef.stderr.ref = stderr\n"
                     "appender.stderr.type = Console\n"
                     "appender.stderr.name = stderr\n"
                     "appender.stderr.target = SYSTEM_ERR\n"
                     "appender.stderr.layout.type = PatternLayout\n"
                     "appender.stderr.layout.pattern = %p %c{1}: %m%n\n")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]").appName("test-spark-als")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # quiet logs; quick JIT (C1 only): a short job otherwise spends its time compiling Spark
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={log4j.as_uri()} -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(work / "checkpoints"))
    yield session
    session.stop()


@pytest.mark.slow
def test_our_als_wr_and_spark_als_reach_the_same_solution(spark):
    """Same objective, same settings: same cost and (near) same predictions on a small problem.

    With lambda = 0.5 and a well-filled 40 x 30 matrix both ALS runs converge in 10
    iterations from their different random starts, so the remaining differences are
    Spark's float32 factors. The unweighted penalty gives clearly different predictions,
    so the check does tell ALS-WR from the course's plain lambda.
    """
    from pyspark.ml.recommendation import ALS

    k, lam, iters = 3, 0.5, 10
    train = synthetic_ratings()
    ours = fit_ours(train, k, lam, iters)
    plain = fit_ours(train, k, lam, iters, weighted=False)

    df = spark.createDataFrame(
        [(int(j), int(i), float(v)) for i, j, v in zip(train.rows, train.cols, train.values)],
        ["user", "item", "rating"],
    )
    als = ALS(rank=k, maxIter=iters, regParam=lam, seed=0, numUserBlocks=1, numItemBlocks=1,
              checkpointInterval=5, coldStartStrategy="drop")
    model = als.fit(df)
    X = np.zeros((train.shape[0], k))
    Theta = np.zeros((train.shape[1], k))
    for row in model.itemFactors.collect():
        X[row.id] = row.features
    for row in model.userFactors.collect():
        Theta[row.id] = row.features

    j_ours, j_spark = cost_wr(train, lam, ours.X, ours.Theta), cost_wr(train, lam, X, Theta)
    assert j_spark == pytest.approx(j_ours, rel=1e-4)

    p_ours, p_spark, p_plain = ours.predict_all(clip=False), X @ Theta.T, plain.predict_all(clip=False)
    assert np.max(np.abs(p_ours - p_spark)) < 0.01
    assert np.max(np.abs(p_plain - p_spark)) > 0.1

    # Spark's transform is the dot product of those factors, on the ratings it was given.
    pred = {(r.user, r.item): r.prediction for r in model.transform(df).collect()}
    got = np.array([pred[(int(j), int(i))] for i, j in zip(train.rows, train.cols)])
    np.testing.assert_allclose(got, p_spark[train.rows, train.cols], atol=1e-5)
    spark_rmse = research.rmse(train.values, got)
    ours_rmse = research.rmse(train.values, p_ours[train.rows, train.cols])
    assert abs(spark_rmse - ours_rmse) < 1e-3
