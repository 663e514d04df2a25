"""helpers.py: reference values from the course, the contracts of every public function, and its bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as h
from fakes import EX8, SHARED, small_problem, write_workbook
from recsys_tutorial.observed import ObservedRatings

ML100K = SHARED / "ml-100k"

needs_ex8 = pytest.mark.skipif(not EX8.is_dir(), reason=f"course data not found at {EX8}")
needs_ml100k = pytest.mark.skipif(not ML100K.is_dir(), reason=f"MovieLens 100K not found at {ML100K}")

# The article's 22 ratings (0-based movie row -> rating).
ARTICLE_RATINGS = h.ARTICLE_RATINGS


# ---------------------------------------------------------------- fixtures


# ---------------------------------------------------------------- loading


@needs_ex8
def test_load_ratings_mat_shapes_and_types(course):
    Y, R, *_ = course
    assert Y.shape == R.shape == (1682, 943)
    assert Y.dtype == np.float64 and R.dtype == bool
    assert R.sum() == 100_000
    assert np.all((Y[R] >= 1) & (Y[R] <= 5)) and np.all(Y[~R] == 0)


@needs_ex8
def test_toy_story_mean(course):
    Y, R, *_ = course
    assert Y[0, R[0]].mean() == pytest.approx(3.8783, abs=1e-4)
    _, means = h.normalize_ratings(Y, R)
    assert means[0] == pytest.approx(3.8783, abs=1e-4)


@needs_ml100k
@needs_ex8
def test_Y_is_pivot_of_u_data(course):
    Y, R, *_ = course
    u = pd.read_csv(ML100K / "u.data", sep="\t", names=["user", "item", "rating", "ts"])
    pivot = np.zeros_like(Y)
    pivot[u.item - 1, u.user - 1] = u.rating
    np.testing.assert_array_equal(pivot, Y)


def test_load_ratings_xlsx_true_false_and_01(tmp_path):
    Y = pd.DataFrame([[5, 0, 3], [0, 0, 1]])
    R_bool = pd.DataFrame([[True, False, True], [False, False, True]])
    p1 = write_workbook(tmp_path / "bool.xlsx", {"y": Y, "R": R_bool})
    p2 = write_workbook(tmp_path / "num.xlsx", {"y": Y, "R": R_bool.astype(int)})
    for p in (p1, p2):
        Yl, Rl = h.load_ratings(p)
        assert Yl.dtype == np.float64 and Rl.dtype == bool
        np.testing.assert_array_equal(Yl, Y.to_numpy(float))
        np.testing.assert_array_equal(Rl, R_bool.to_numpy())


def test_load_ratings_xlsx_empty_unrated_cells_become_zero(tmp_path):
    Y = pd.DataFrame([[5, np.nan], [np.nan, 2]])
    R = pd.DataFrame([[1, 0], [0, 1]])
    Yl, Rl = h.load_ratings(write_workbook(tmp_path / "e.xlsx", {"y": Y, "R": R}))
    np.testing.assert_array_equal(Yl, [[5, 0], [0, 2]])


@needs_ex8
def test_load_ratings_xlsx_matches_mat(course, tmp_path):
    Y, R, *_ = course
    sub = write_workbook(tmp_path / "sub.xlsx", {"y": pd.DataFrame(Y[:40, :30]),
                                                  "R": pd.DataFrame(R[:40, :30])})
    Yl, Rl = h.load_ratings(sub)
    np.testing.assert_array_equal(Yl, Y[:40, :30])
    np.testing.assert_array_equal(Rl, R[:40, :30])
    assert Yl.flags.c_contiguous and Rl.flags.c_contiguous      # row order, as NumPy makes arrays
    assert Y.flags.c_contiguous and R.flags.c_contiguous        # from the .mat (MATLAB's column order)


def test_load_ratings_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.xlsx"):
        h.load_ratings(tmp_path / "nope.xlsx")


def test_load_ratings_wrong_sheet_names(tmp_path):
    p = write_workbook(tmp_path / "bad.xlsx", {"ratings": pd.DataFrame([[1]]), "R": pd.DataFrame([[1]])})
    with pytest.raises(ValueError, match=r"bad\.xlsx.*no sheet named 'y'.*ratings"):
        h.load_ratings(p)


def test_load_ratings_shape_mismatch(tmp_path):
    p = write_workbook(tmp_path / "shape.xlsx", {"y": pd.DataFrame([[1, 2]]), "R": pd.DataFrame([[1]])})
    with pytest.raises(ValueError, match=r"shape\.xlsx.*same shape.*\(1, 2\).*\(1, 1\)"):
        h.load_ratings(p)


@pytest.mark.parametrize("bad", [7, -1])
def test_load_ratings_out_of_range(tmp_path, bad):
    p = write_workbook(tmp_path / "range.xlsx", {"y": pd.DataFrame([[1, bad]]), "R": pd.DataFrame([[1, 1]])})
    with pytest.raises(ValueError, match=r"range\.xlsx.*between 0 and 5.*user column 1"):
        h.load_ratings(p)


def test_load_ratings_nan_where_rated(tmp_path):
    p = write_workbook(tmp_path / "nan.xlsx", {"y": pd.DataFrame([[1, np.nan]]), "R": pd.DataFrame([[1, 1]])})
    with pytest.raises(ValueError, match=r"nan\.xlsx.*NaN.*user column 1"):
        h.load_ratings(p)


def test_load_ratings_bad_flags_and_text(tmp_path):
    p = write_workbook(tmp_path / "flags.xlsx", {"y": pd.DataFrame([[1, 2]]), "R": pd.DataFrame([[1, "maybe"]])})
    with pytest.raises(ValueError, match=r"sheet 'R'.*TRUE/FALSE or 1/0.*'maybe'"):
        h.load_ratings(p)
    p = write_workbook(tmp_path / "text.xlsx", {"y": pd.DataFrame([[1, "five"]]), "R": pd.DataFrame([[1, 1]])})
    with pytest.raises(ValueError, match=r"sheet 'y'.*numbers.*'five'"):
        h.load_ratings(p)


def test_load_ratings_corrupt_and_unknown(tmp_path):
    p = tmp_path / "corrupt.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ValueError, match="corrupt.xlsx"):
        h.load_ratings(p)
    q = tmp_path / "ratings.csv"
    q.write_text("1,2\n")
    with pytest.raises(ValueError, match=r"ratings\.csv.*\.xlsx.*\.mat"):
        h.load_ratings(q)
    m = tmp_path / "broken.mat"
    m.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="broken.mat"):
        h.load_ratings(m)


def test_load_ratings_mat_missing_variable(tmp_path):
    from scipy.io import savemat

    p = tmp_path / "onlyY.mat"
    savemat(p, {"Y": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"onlyY\.mat.*\['R'\]"):
        h.load_ratings(p)


@needs_ex8
def test_load_parameters_mat_and_xlsx(course, tmp_path):
    _, _, X, Theta, _ = course
    assert X.shape == (1682, 10) and Theta.shape == (943, 10)
    p = write_workbook(tmp_path / "params.xlsx", {"X": pd.DataFrame(X[:20]), "theta": pd.DataFrame(Theta[:15])})
    Xl, Tl = h.load_parameters(p)
    np.testing.assert_allclose(Xl, X[:20], rtol=1e-15)
    np.testing.assert_allclose(Tl, Theta[:15], rtol=1e-15)


def test_load_parameters_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="params.xlsx"):
        h.load_parameters(tmp_path / "params.xlsx")
    p = write_workbook(tmp_path / "sheets.xlsx", {"X": pd.DataFrame([[1.0]]), "Theta_": pd.DataFrame([[1.0]])})
    with pytest.raises(ValueError, match=r"sheets\.xlsx.*no sheet named 'theta'"):
        h.load_parameters(p)
    p = write_workbook(tmp_path / "cols.xlsx", {"X": pd.DataFrame([[1.0, 2.0]]), "theta": pd.DataFrame([[1.0]])})
    with pytest.raises(ValueError, match=r"cols\.xlsx.*same number of features"):
        h.load_parameters(p)
    p = write_workbook(tmp_path / "hole.xlsx", {"X": pd.DataFrame([[np.nan, 1.0]]), "theta": pd.DataFrame([[1.0, 2.0]])})
    with pytest.raises(ValueError, match=r"hole\.xlsx.*finite"):
        h.load_parameters(p)


@needs_ex8
def test_load_movie_titles_latin1(course):
    titles = course[4]
    assert len(titles) == 1682
    assert titles[0] == "Toy Story (1995)"
    assert "Misérables, Les (1995)" in titles
    assert all(t == t.strip() for t in titles)
    with pytest.raises(UnicodeDecodeError):  # why the loader reads Latin-1
        (EX8 / "movie_ids.txt").read_text(encoding="utf-8")


@needs_ml100k
@needs_ex8
def test_load_movie_titles_u_item_matches(course):
    assert h.load_movie_titles(ML100K / "u.item") == course[4]


def test_load_movie_titles_formats_and_errors(tmp_path):
    p = tmp_path / "ids.txt"
    p.write_bytes("1 Toy Story (1995) \n2 Misérables, Les (1995)\n".encode("latin-1"))
    assert h.load_movie_titles(p) == ["Toy Story (1995)", "Misérables, Les (1995)"]
    q = tmp_path / "u.item"
    q.write_bytes("1|Toy Story (1995)|01-Jan-1995||http://x|0|1\n2|Misérables, Les (1995)|x||y|0|0\n".encode("latin-1"))
    assert h.load_movie_titles(q) == ["Toy Story (1995)", "Misérables, Les (1995)"]
    bad = tmp_path / "gap.txt"
    bad.write_text("1 A\n3 C\n")
    with pytest.raises(ValueError, match=r"gap\.txt.*line 2.*expected movie id 2"):
        h.load_movie_titles(bad)
    junk = tmp_path / "junk.txt"
    junk.write_text("Toy Story\n")
    with pytest.raises(ValueError, match=r"junk\.txt.*line 1"):
        h.load_movie_titles(junk)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        h.load_movie_titles(tmp_path / "missing.txt")


# ---------------------------------------------------------------- cost and gradients


@needs_ex8
def test_cost_reference_values(course):
    Y, R, X, Theta, _ = course
    args = (X[:5, :3], Theta[:4, :3], Y[:5, :4], R[:5, :4])
    assert h.cofi_cost(*args) == pytest.approx(22.22, abs=5e-3)
    assert h.cofi_cost(*args, lambda_=1.5) == pytest.approx(31.34, abs=5e-3)


@needs_ex8
def test_cost_full_course_value(course):
    Y, R, X, Theta, _ = course
    # The full-size cost with the course parameters (no regularisation).
    assert h.cofi_cost(X, Theta, Y, R) == pytest.approx(27918.64, abs=0.01)


def test_cost_by_hand():
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    Theta = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Y = np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 0.0]])
    R = np.array([[1, 0, 1], [1, 1, 0]])
    # predictions [[1,2,3],[0.5,-1,-0.5]]; errors where rated: -1, 0, -0.5, -5
    expected = 0.5 * (1 + 0 + 0.25 + 25)
    assert h.cofi_cost(X, Theta, Y, R) == pytest.approx(expected)
    reg = 0.5 * 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))
    assert h.cofi_cost(X, Theta, Y, R, lambda_=2) == pytest.approx(expected + reg)


def test_gradients_match_loop_implementation():
    X, Theta, Y, R = small_problem(1)
    lam = 0.7
    Xg, Tg = h.cofi_gradients(X, Theta, Y, R, lam)
    Xg_ref, Tg_ref = lam * X.copy(), lam * Theta.copy()
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if R[i, j]:
                e = X[i] @ Theta[j] - Y[i, j]
                Xg_ref[i] += e * Theta[j]
                Tg_ref[j] += e * X[i]
    np.testing.assert_allclose(Xg, Xg_ref, rtol=1e-12)
    np.testing.assert_allclose(Tg, Tg_ref, rtol=1e-12)


def test_garbage_in_unrated_entries_changes_nothing():
    X, Theta, Y, R = small_problem(2)
    Y2 = Y.copy()
    Y2[~R] = np.array([1e6, -7.0, np.nan, np.inf] * Y.size)[: (~R).sum()]
    for lam in (0.0, 1.5):
        assert h.cofi_cost(X, Theta, Y2, R, lam) == h.cofi_cost(X, Theta, Y, R, lam)
        for a, b in zip(h.cofi_gradients(X, Theta, Y2, R, lam), h.cofi_gradients(X, Theta, Y, R, lam)):
            np.testing.assert_array_equal(a, b)
    Yn1, m1 = h.normalize_ratings(Y, R)
    Yn2, m2 = h.normalize_ratings(Y2, R)
    np.testing.assert_array_equal(Yn1, Yn2)
    np.testing.assert_array_equal(m1, m2)


def test_cost_input_errors():
    X, Theta, Y, R = small_problem(3)
    with pytest.raises(ValueError, match=r"Y and R must have the same shape"):
        h.cofi_cost(X, Theta, Y, R[:, :-1])
    with pytest.raises(ValueError, match=r"X must have one row per movie"):
        h.cofi_cost(X[:-1], Theta, Y, R)
    with pytest.raises(ValueError, match=r"Theta must have one row per user"):
        h.cofi_cost(X, Theta[:-1], Y, R)
    with pytest.raises(ValueError, match=r"same number of features"):
        h.cofi_cost(X, Theta[:, :2], Y, R)
    with pytest.raises(ValueError, match=r"lambda_"):
        h.cofi_cost(X, Theta, Y, R, lambda_=-1)
    with pytest.raises(ValueError, match=r"R must hold only 0/1"):
        h.cofi_cost(X, Theta, Y, R * 2)
    Yn = Y.copy()
    Yn[R] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf in rated entries"):
        h.cofi_gradients(X, Theta, Yn, R)


@pytest.mark.parametrize("lam", [0.0, 1.5, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_gradients_passes(lam, seed):
    assert h.check_gradients(lam, seed=seed) < 1e-9


def test_check_gradients_catches_unmasked_gradient():
    def forgets_mask(X, Theta, Y, R, lambda_):
        E = X @ Theta.T - Y
        return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta

    assert h.check_gradients(0.0, gradient_fn=forgets_mask) > 1e-2
    diff, table = h.check_gradients(1.0, return_details=True)
    assert list(table.columns) == ["numerical", "analytic"] and len(table) == 27
    np.testing.assert_allclose(table.numerical, table.analytic, rtol=1e-6, atol=1e-8)


def test_numerical_gradient_on_known_function():
    g = h.numerical_gradient(lambda p: float(np.sum(p ** 3)), np.array([1.0, -2.0, 0.5]))
    np.testing.assert_allclose(g, [3.0, 12.0, 0.75], rtol=1e-7)


# ---------------------------------------------------------------- normalisation


def test_normalize_ratings_means_over_rated_only():
    Y = np.array([[5.0, 0.0, 3.0], [0.0, 0.0, 0.0], [2.0, 4.0, 9.0]])
    R = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]])
    with np.errstate(all="raise"):
        Y_norm, Y_mean = h.normalize_ratings(Y, R)
    np.testing.assert_allclose(Y_mean, [4.0, 0.0, 3.0])
    np.testing.assert_allclose(Y_norm, [[1, 0, -1], [0, 0, 0], [-1, 1, 0]])
    assert Y_mean.shape == (3,)
    assert np.all(np.isfinite(Y_norm))


def test_normalize_ratings_no_warning_for_unrated_movie(recwarn):
    Y_norm, Y_mean = h.normalize_ratings(np.zeros((2, 2)), np.zeros((2, 2)))
    assert not recwarn.list
    assert np.all(Y_mean == 0) and np.all(Y_norm == 0)


def test_normalize_ratings_shrinkage():
    Y = np.array([[5.0, 0, 0, 0], [3.0, 3.0, 3.0, 3.0], [0, 0, 0, 0]])
    R = Y > 0
    mu = 17 / 5
    np.testing.assert_allclose(h.normalize_ratings(Y, R, 0)[1], [5.0, 3.0, 0.0])
    np.testing.assert_allclose(h.normalize_ratings(Y, R, 2)[1], [(5 + 2 * mu) / 3, (12 + 2 * mu) / 6, mu])
    with pytest.raises(ValueError, match="shrinkage"):
        h.normalize_ratings(Y, R, -1)[1]


# ---------------------------------------------------------------- training


def test_init_parameters_seeded():
    a = h.init_parameters(5, 4, 3, seed=1)
    b = h.init_parameters(5, 4, 3, seed=1)
    c = h.init_parameters(5, 4, 3, seed=2)
    assert a[0].shape == (5, 3) and a[1].shape == (4, 3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="num_features"):
        h.init_parameters(5, 4, 0)


def test_gradient_descent_decreases_cost_and_is_simultaneous():
    X, Theta, Y, R = small_problem(4)
    X1, T1, J = h.gradient_descent(X, Theta, Y, R, lambda_=0.5, alpha=0.01, num_iters=200)
    assert J.shape == (201,)
    assert J[0] == pytest.approx(h.cofi_cost(X, Theta, Y, R, 0.5))
    assert J[-1] == pytest.approx(h.cofi_cost(X1, T1, Y, R, 0.5))
    assert np.all(np.diff(J) <= 1e-12) and J[-1] < 0.2 * J[0]
    # One step by hand: both gradients come from the *old* parameters.
    Xg, Tg = h.cofi_gradients(X, Theta, Y, R, 0.5)
    X_one, T_one, _ = h.gradient_descent(X, Theta, Y, R, 0.5, 0.01, 1)
    np.testing.assert_allclose(X_one, X - 0.01 * Xg)
    np.testing.assert_allclose(T_one, Theta - 0.01 * Tg)


def test_gradient_descent_sparse_path_matches_dense():
    rng = np.random.default_rng(8)
    Y = rng.integers(1, 6, size=(400, 300)).astype(float)
    R = rng.random(Y.shape) < 0.05
    X, Theta = h.init_parameters(400, 300, 5, seed=0, scale=0.3)
    Xs, Ts, Js = h.gradient_descent(X, Theta, Y, R, 1.0, 0.005, 20, sparse=True)
    Xd, Td, Jd = h.gradient_descent(X[:, :], Theta, Y[:, :], R.astype(float), 1.0, 0.005, 20, sparse=False)
    np.testing.assert_allclose(Js, Jd, rtol=1e-10)


def test_gradient_descent_diverging_alpha_names_alpha():
    X, Theta, Y, R = small_problem(5)
    with pytest.raises(ValueError, match=r"alpha=5 is too large") as info:
        h.gradient_descent(X, Theta, Y, R, lambda_=1.0, alpha=5, num_iters=100)
    assert isinstance(info.value, h.DivergenceError)
    with pytest.raises(ValueError, match=r"alpha"):
        h.gradient_descent(X, Theta, Y, R, lambda_=1.0, alpha=0, num_iters=10)
    with pytest.raises(ValueError, match=r"num_iters"):
        h.gradient_descent(X, Theta, Y, R, lambda_=1.0, alpha=0.01, num_iters=-3)


def test_train_lbfgs_fits_low_rank_data():
    rng = np.random.default_rng(6)
    X_true = rng.standard_normal((30, 2))
    T_true = rng.standard_normal((20, 2))
    Y = X_true @ T_true.T
    R = rng.random(Y.shape) < 0.7
    X, Theta, J = h.train_lbfgs(Y, R, num_features=2, lambda_=0.0, num_iters=500, seed=0)
    rmse = np.sqrt(np.mean(((X @ Theta.T) - Y)[R] ** 2))
    assert rmse < 1e-3
    assert J[0] > J[-1] and np.all(np.diff(J) <= 1e-9)
    X2, _, _ = h.train_lbfgs(Y, R, num_features=2, lambda_=0.0, num_iters=500, seed=0)
    np.testing.assert_array_equal(X, X2)


def test_lbfgs_beats_gradient_descent_on_same_budget():
    rng = np.random.default_rng(7)
    Y = rng.integers(1, 6, size=(50, 40)).astype(float)
    R = rng.random(Y.shape) < 0.3
    Y_norm, _ = h.normalize_ratings(Y, R)
    X0, T0 = h.init_parameters(50, 40, 3, seed=0)
    _, _, J_gd = h.gradient_descent(X0, T0, Y_norm, R, 1.0, 0.01, 100)
    _, _, J_lb = h.train_lbfgs(Y_norm, R, 3, 1.0, num_iters=100, X0=X0, Theta0=T0)
    assert J_lb[-1] <= J_gd[-1]


# ---------------------------------------------------------------- recommending


@pytest.fixture(scope="module")
def article_recommendations(course):
    Y, R, _, _, titles = course
    return h.recommend(ARTICLE_RATINGS, Y, R, titles, n=10, return_model=True)


@needs_ex8
def test_recommend_table_contract(course, article_recommendations):
    table, model = article_recommendations
    assert list(table.columns) == ["row", "movie_id", "title", "predicted_rating", "num_ratings"]
    assert (table.movie_id == table.row + 1).all()          # one numbering per name: MovieLens' id is row + 1
    assert len(table) == 10
    assert table.predicted_rating.dtype == np.float64 and table.num_ratings.dtype.kind == "i"
    assert table.predicted_rating.is_monotonic_decreasing
    assert not set(table.row) & set(ARTICLE_RATINGS)
    titles = course[4]
    assert all(titles[m] == t for m, t in zip(table.row, table.title))
    assert model.predict_all()[:, 0].shape == (1682,)


@needs_ex8
def test_recommend_guards_against_obscure_movies(course, article_recommendations):
    Y, R, _, _, titles = course
    table, _ = article_recommendations
    # Guarded (default): well-known, well-liked movies.
    assert table.num_ratings.min() >= 50
    assert "Star Wars (1977)" in set(table.title)
    # Unguarded: movies with one to three ratings take over the list.
    raw = h.recommend(ARTICLE_RATINGS, Y, R, titles, shrinkage=0, min_ratings=0)
    assert raw.num_ratings.median() <= 3


@needs_ex8
def test_recommend_array_and_dict_agree_and_deterministic(course):
    Y, R, _, _, titles = course
    vec = np.zeros(1682)
    for k, v in ARTICLE_RATINGS.items():
        vec[k] = v
    a = h.recommend(vec, Y, R, titles, num_iters=30)
    b = h.recommend(ARTICLE_RATINGS, Y, R, titles, num_iters=30)
    pd.testing.assert_frame_equal(a, b)


@needs_ex8
def test_recommend_user_with_no_ratings(course):
    Y, R, _, _, titles = course
    table = h.recommend(np.zeros(1682), Y, R, titles, num_iters=30)
    assert len(table) == 10 and table.predicted_rating.between(3.5, 5.0).all()
    assert table.num_ratings.min() >= 50


def test_recommend_bad_inputs():
    _, _, Y, R = small_problem(9, n_movies=8, n_users=6)
    titles = [f"m{i}" for i in range(8)]
    with pytest.raises(ValueError, match=r"my_ratings must have one entry per movie \(8\); got 7"):
        h.recommend(np.zeros(7), Y, R, titles)
    with pytest.raises(ValueError, match=r"my_ratings\[2\].*between 1 and 5"):
        h.recommend(np.array([0, 0, 9, 0, 0, 0, 0, 0]), Y, R, titles)
    with pytest.raises(ValueError, match=r"my_ratings: the key 8 is neither a 0-based row"):
        h.recommend({8: 4}, Y, R, titles)
    with pytest.raises(ValueError, match=r"my_ratings\[1\]"):
        h.recommend({1: 0}, Y, R, titles)
    with pytest.raises(ValueError, match=r"titles must have one entry per movie"):
        h.recommend({1: 4}, Y, R, titles[:-1])
    with pytest.raises(ValueError, match=r"Y and R must have the same shape"):
        h.recommend({1: 4}, Y, R[:, :-1], titles)


def test_recommend_small_problem_excludes_rated_and_respects_min_ratings():
    _, _, Y, R = small_problem(10, n_movies=8, n_users=6)
    titles = [f"m{i}" for i in range(8)]
    table = h.recommend({0: 5, 1: 1}, Y, R, titles, n=20, num_features=2, lambda_=1.0,
                        min_ratings=int(R.sum(1).max()))
    assert not {0, 1} & set(table.row)
    assert (table.num_ratings >= R.sum(1).max()).all()


def test_add_user_and_ratings_vector():
    Y = np.array([[5.0, 0.0], [0.0, 3.0]])
    R = Y > 0
    Y2, R2 = h.add_user({1: 4}, Y, R)
    np.testing.assert_array_equal(Y2, [[0, 5, 0], [4, 0, 3]])
    np.testing.assert_array_equal(R2, [[False, True, False], [True, False, True]])
    np.testing.assert_array_equal(h.ratings_vector([0, 2.5], 2), [0, 2.5])


def test_similar_movies():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    table = h.similar_movies(X, 0, ["a", "b", "c", "d"], n=2)
    assert list(table.title) == ["c", "b"]
    assert table.distance.tolist() == pytest.approx([0.1, 1.0])
    assert table.row.tolist() == [2, 1] and table.movie_id.tolist() == [3, 2]
    with pytest.raises(ValueError, match=r"row \(a 0-based row of X\)"):
        h.similar_movies(X, 4, ["a", "b", "c", "d"])


# ---------------------------------------------------------------- shared constants, hooks, model


def test_toy_table_is_the_lecture_table_and_a_fresh_copy():
    table = h.toy_table()
    assert table.shape == (5, 4) and list(table.columns) == ["Alice", "Bob", "Carol", "Dave"]
    assert table.notna().to_numpy().sum() == 15
    assert table.loc["Love at last", "Alice"] == 5 and np.isnan(table.loc["Romance forever", "Bob"])
    table.iloc[0, 0] = 1
    assert h.toy_table().iloc[0, 0] == 5


def test_article_ratings_are_read_only_and_valid():
    assert len(h.ARTICLE_RATINGS) == 22 and h.ARTICLE_RATINGS[0 + 5] == 5
    with pytest.raises(TypeError):
        h.ARTICLE_RATINGS[0] = 5
    vec = h.ratings_vector(h.ARTICLE_RATINGS, 1682)
    assert (vec > 0).sum() == 22


def test_gradient_descent_gradient_fn_replaces_the_step_not_the_cost():
    X, Theta, Y, R = small_problem(seed=4)

    def unmasked(X, Theta, Y, R, lambda_):
        E = X @ Theta.T - Y
        return E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta

    Xb, Tb = X.copy(), Theta.copy()
    for _ in range(5):
        gX, gT = unmasked(Xb, Tb, Y, R, 0.5)
        Xb, Tb = Xb - 0.01 * gX, Tb - 0.01 * gT
    Xg, Tg, J = h.gradient_descent(X, Theta, Y, R, 0.5, 0.01, 5, gradient_fn=unmasked)
    np.testing.assert_allclose(Xg, Xb, rtol=1e-12)
    np.testing.assert_allclose(Tg, Tb, rtol=1e-12)
    assert J[-1] == pytest.approx(h.cofi_cost(Xb, Tb, Y, R, 0.5), rel=1e-12)


@pytest.mark.parametrize("trainer", ["gd", "lbfgs"])
def test_sparse_and_dense_paths_agree(trainer):
    rng = np.random.default_rng(11)
    Y = rng.integers(1, 6, size=(120, 90)).astype(float)
    R = rng.random(Y.shape) < 0.08
    Y[~R] = rng.normal(0, 50, size=int((~R).sum()))   # garbage where unrated: ignored by both
    X0, T0 = h.init_parameters(120, 90, 4, seed=1)
    if trainer == "gd":
        runs = [h.gradient_descent(X0, T0, Y, R, 1.0, 0.01, 15, sparse=s) for s in (True, False)]
    else:
        runs = [h.train_lbfgs(Y, R, 4, 1.0, num_iters=15, X0=X0, Theta0=T0, sparse=s) for s in (True, False)]
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    with pytest.raises(TypeError, match="sparse must be True or False"):
        h.gradient_descent(X0, T0, Y, R, 1.0, 0.01, 1, sparse="yes")


def test_factor_model_predicts_and_refuses_bad_parts():
    X, Theta = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    model = h.FactorModel(1.0, [0.5, -0.5], [0.0, 0.1, 0.2], X, Theta, rating_range=None)
    assert model.shape == (2, 3) and model.num_features == 2
    expected = 1.0 + np.array([0.5, -0.5])[:, None] + np.array([0.0, 0.1, 0.2]) + X @ Theta.T
    np.testing.assert_allclose(model.predict_all(), expected)
    np.testing.assert_allclose(model.predict([0, 1], [2, 1]), [expected[0, 2], expected[1, 1]])
    clipped = h.FactorModel(1.0, [0.5, -0.5], [0.0, 0.1, 0.2], X, Theta).predict_all()
    assert clipped.max() == 5.0
    with pytest.raises(ValueError, match="X must be finite"):
        h.FactorModel(0.0, [0, 0], [0, 0, 0], np.full((2, 2), np.nan), Theta)
    with pytest.raises(ValueError, match="mu must be a finite number"):
        h.FactorModel(np.nan, [0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="give both X and Theta"):
        h.FactorModel(0.0, [0, 0], [0, 0, 0], X)


@needs_ex8
def test_recommend_returns_the_course_model(course, article_recommendations):
    Y, R, _, _, _ = course
    table, model = article_recommendations
    assert isinstance(model, h.FactorModel) and model.shape == (1682, 944)
    _, means = h.normalize_ratings(*h.add_user(ARTICLE_RATINGS, Y, R), shrinkage=10)
    np.testing.assert_allclose(model.b_movie, means)
    mine = model.predict_all()[:, 0]
    np.testing.assert_allclose(table.predicted_rating, mine[table.row])


# ---------------------------------------------------------------- new users: fold-in, title search, title keys


def _fold_in_problem(seed=3, n_movies=9, n_users=4, k=3):
    rng = np.random.default_rng(seed)
    return h.FactorModel(0.4, rng.normal(3, 0.5, n_movies), rng.normal(0, 0.3, n_users),
                         rng.standard_normal((n_movies, k)), rng.standard_normal((n_users, k)), rating_range=None)


def _brute_force_user(model, ratings, lambda_, offset):
    """The same objective as fold_in, minimised numerically by scipy (no closed form)."""
    from scipy.optimize import minimize

    rows, y = np.array(list(ratings)), np.array(list(ratings.values()), float)
    k = model.num_features

    def objective(p):
        c = p[k] if offset else 0.0
        err = model.mu + model.b_movie[rows] + c + model.X[rows] @ p[:k] - y
        grad = np.concatenate([model.X[rows].T @ err, [err.sum()] if offset else []]) + lambda_ * p
        return 0.5 * err @ err + 0.5 * lambda_ * p @ p, grad

    res = minimize(objective, np.zeros(k + offset), jac=True, method="BFGS", options={"gtol": 1e-13})
    return res.x


@pytest.mark.parametrize("offset", [False, True])
@pytest.mark.parametrize("lambda_", [0.5, 3.0])
def test_fold_in_matches_a_brute_force_minimiser(offset, lambda_):
    model = _fold_in_problem()
    ratings = {0: 5, 2: 1, 4: 4, 5: 2, 8: 3}
    me = h.fold_in(model, ratings, lambda_, offset=offset)
    expected = _brute_force_user(model, ratings, lambda_, offset)
    np.testing.assert_allclose(me.Theta[0], expected[:3], atol=1e-8)
    np.testing.assert_allclose(me.b_user, [expected[3] if offset else 0.0], atol=1e-8)
    assert me.shape == (9, 1) and np.array_equal(me.X, model.X)
    np.testing.assert_allclose(me.predict_all()[:, 0],
                               model.mu + model.b_movie + me.b_user[0] + model.X @ me.Theta[0])


def test_fold_in_offset_default_and_no_ratings():
    model = _fold_in_problem()
    assert h.fold_in(model, {1: 4}).info["offset"] is True       # the model has user offsets
    course_like = h.FactorModel(0.0, model.b_movie, np.zeros(4), model.X, model.Theta)
    assert h.fold_in(course_like, {1: 4}).info["offset"] is False
    nobody = h.fold_in(model, {}, 2.0)
    assert np.all(nobody.Theta == 0) and nobody.b_user[0] == 0
    with pytest.raises(TypeError, match="model must be a helpers.FactorModel"):
        h.fold_in("model", {1: 4})
    with pytest.raises(ValueError, match="lambda_ must be a finite number >= 0"):
        h.fold_in(model, {1: 4}, -1.0)
    with pytest.raises(TypeError, match="offset must be True or False"):
        h.fold_in(model, {1: 4}, offset="yes")


@needs_ex8
def test_fold_in_recovers_the_trained_user(course, article_recommendations):
    """At the optimum of the joint problem, your theta is the ridge solution given X: fold-in finds it."""
    _, model = article_recommendations
    me = h.fold_in(model, ARTICLE_RATINGS, 10.0)
    np.testing.assert_allclose(me.Theta[0], model.Theta[0], atol=5e-3)
    assert np.abs(me.Theta[0]).max() > 0.1


@needs_ex8
def test_recommend_with_a_trained_model_folds_in_without_retraining(course):
    Y, R, _, _, titles = course
    _, base = h.recommend({}, Y, R, titles, num_iters=30, return_model=True)
    table, me = h.recommend(ARTICLE_RATINGS, Y, R, titles, model=base, return_model=True)
    assert me.info["model"] == "fold-in" and me.shape == (1682, 1)
    mine = base.b_movie + base.X @ h.fold_in(base, ARTICLE_RATINGS).Theta[0]
    unrated = np.setdiff1d(np.arange(1682), list(ARTICLE_RATINGS))
    best = unrated[np.argsort(-mine[unrated], kind="stable")[:10]]
    assert table.row.tolist() == best.tolist()
    np.testing.assert_allclose(table.predicted_rating, mine[best])
    assert h.recommend({}, Y, R, titles, model=base).row.tolist() == \
        np.argsort(-base.b_movie, kind="stable")[:10].tolist()
    by_title = h.recommend({titles[r]: s for r, s in ARTICLE_RATINGS.items()}, Y, R, titles, model=base)
    pd.testing.assert_frame_equal(by_title, table)
    with pytest.raises(ValueError, match=r"model must be a helpers.FactorModel of Y's 5 movies .*got \(1682, 944\)"):
        h.recommend({}, Y[:5], R[:5], titles[:5], model=base)


def test_search_titles():
    Y = np.array([[5, 4, 0], [3, 0, 0], [0, 0, 0], [1, 2, 3.0]])
    R = Y > 0
    titles = ["Star Wars (1977)", "Usual Suspects, The (1995)", "Star Kid (1997)", "Wars of the Stars (2001)"]
    found = h.search_titles("STAR wars", titles, Y, R)
    assert list(found.columns) == ["row", "movie_id", "title", "num_ratings", "mean_rating"]
    assert (found.movie_id == found.row + 1).all()
    assert found.row.tolist() == [3, 0]                           # every word, any order; most rated first
    assert found.num_ratings.tolist() == [3, 2] and found.mean_rating.tolist() == [2.0, 4.5]
    assert h.search_titles("the usual", titles, Y, R).row.tolist() == [1]
    assert h.search_titles("kid", titles, Y, R).mean_rating.isna().all()   # nobody rated it
    assert h.search_titles("  ", titles, Y, R, n=2).row.tolist() == [3, 0]
    assert h.search_titles("zzz", titles, Y, R).empty
    with pytest.raises(TypeError, match="query must be a string"):
        h.search_titles(49, titles, Y, R)
    with pytest.raises(ValueError, match=r"titles must have one entry per movie \(4\); got 3"):
        h.search_titles("star", titles[:3], Y, R)


def test_ratings_keyed_by_title_and_the_numbering_trap():
    titles = ["Toy Story (1995)", "GoldenEye (1995)", "Twin (1990)", "Twin (1990)"]
    np.testing.assert_array_equal(h.ratings_vector({"GoldenEye (1995)": 4, 0: 5}, 4, titles), [5, 4, 0, 0])
    with pytest.raises(ValueError, match=r"'Toy Story' is neither a 0-based row of Y \(0\.\.3\) nor an exact "
                                         r"title.*row i is MovieLens movie_id i \+ 1"):
        h.ratings_vector({"Toy Story": 5}, 4, titles)
    with pytest.raises(ValueError, match=r"the key 4 is neither.*search_titles"):
        h.ratings_vector({4: 5}, 4, titles)
    with pytest.raises(ValueError, match="give titles= to key by title"):
        h.ratings_vector({"GoldenEye (1995)": 4}, 4)
    with pytest.raises(ValueError, match=r"shared by rows \[2, 3\]"):
        h.ratings_vector({"Twin (1990)": 3}, 4, titles)
    with pytest.raises(ValueError, match="movie row 1 .* is rated twice"):
        h.ratings_vector({1: 3, "GoldenEye (1995)": 4}, 4, titles)
    with pytest.raises(ValueError, match=r"my_ratings\['GoldenEye \(1995\)'\] must be a finite number >= 1"):
        h.ratings_vector({"GoldenEye (1995)": 0}, 4, titles)


def test_gradient_descent_callback_stops_and_history_resumes():
    X, Theta, Y, R = small_problem(seed=4)
    seen = []
    X1, T1, J1 = h.gradient_descent(X, Theta, Y, R, 1.0, 0.01, 20,
                                    callback=lambda t, J, Xt, Tt: seen.append((t, J, Xt.copy())) or t == 7)
    assert [t for t, _, _ in seen] == list(range(8)) and len(J1) == 8
    np.testing.assert_array_equal(seen[0][2], X) and np.testing.assert_array_equal(seen[-1][2], X1)
    assert [J for _, J, _ in seen] == J1.tolist()
    X2, T2, J2 = h.gradient_descent(X1, T1, Y, R, 1.0, 0.01, 12, history=J1)
    X_all, T_all, J_all = h.gradient_descent(X, Theta, Y, R, 1.0, 0.01, 19)
    assert len(J2) == len(J_all) == 20
    np.testing.assert_allclose(J2, J_all, rtol=1e-12)
    np.testing.assert_allclose(X2, X_all, rtol=1e-12)
    more = []
    h.gradient_descent(X1, T1, Y, R, 1.0, 0.01, 3, history=J1, callback=lambda t, *_: more.append(t))
    assert more == [8, 9, 10]                     # a resumed run counts on; its first point is not seen twice


def test_divergence_keeps_the_first_cost_when_resumed_and_carries_the_history():
    X, Theta, Y, R = small_problem(seed=5)
    _, _, J = h.gradient_descent(X, Theta, Y, R, 0.0, 0.01, 5)
    with pytest.raises(h.DivergenceError) as info:
        h.gradient_descent(X, Theta, Y, R, 0.0, 5.0, 50, history=J * 0 + J[0])
    err = info.value
    assert err.iteration >= 6 and len(err.J_history) == err.iteration + 1
    assert err.J_history[0] == J[0] and not (np.isfinite(err.J_history[-1]) and err.J_history[-1] <= 100 * J[0])
    with pytest.raises(ValueError, match="history must be finite"):
        h.gradient_descent(X, Theta, Y, R, 0.0, 0.01, 1, history=[np.nan])
