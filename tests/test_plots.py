"""recsys_tutorial/plots.py: every figure function returns its figure with alt text whose numbers are the data's.

Each test draws from small data whose key numbers are worked out by hand (the
reference values), then checks that the alt text states them, and states no
rounding artefact such as "-0.0".
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

import helpers  # noqa: E402
from recsys_tutorial import plots, style  # noqa: E402

NUMBER = re.compile(r"[−-]?\d[\d,]*(?:\.\d+)?(?:e[−-]?\d+)?")


def alt_of(fig) -> str:
    assert isinstance(fig, Figure), type(fig)
    alt = style.alt_text(fig)
    assert alt and alt != style.MISSING_ALT and not alt.startswith("<Figure")
    assert "-0.0" not in alt and "−0.0 " not in alt and "nan" not in alt.lower()
    return alt


def numbers(text: str) -> list[float]:
    """Every number in ``text`` (thousands separators and the minus sign U+2212 understood)."""
    return [float(m.replace(",", "").replace("−", "-")) for m in NUMBER.findall(text)]


def has_numbers(text: str, *expected: float, tol: float = 1e-9) -> None:
    found = numbers(text)
    for value in expected:
        assert any(abs(value - f) <= tol for f in found), f"{value} not in {found}: {text}"


# ---------------------------------------------------------------- number words


@pytest.mark.parametrize("value, digits, text", [(45910.4, 0, "45,910"), (-0.004, 2, "0.00"), (-1.5, 1, "−1.5"),
                                                 (0.96, 2, "0.96"), (2.0, 1, "2.0")])
def test_num_writes_a_true_minus_and_never_minus_zero(value, digits, text):
    assert plots.num(value, digits) == text


def test_signed_puts_a_plus_on_positive_numbers():
    assert (plots.signed(0.22), plots.signed(-0.14), plots.signed(-0.001)) == ("+0.22", "−0.14", "0.00")


@pytest.mark.parametrize("title, short", [("Godfather, The (1972)", "The Godfather"),
                                          ("Clockwork Orange, A (1971)", "A Clockwork Orange"),
                                          ("Star Wars (1977)", "Star Wars"), ("Brazil", "Brazil")])
def test_short_title_reads_like_a_title(title, short):
    assert plots.short_title(title) == short


# ---------------------------------------------------------------- 01


@pytest.fixture
def toy():
    table = helpers.toy_table()
    return table.fillna(0).to_numpy(), table.notna().to_numpy(), list(table.index), list(table.columns)


def test_rating_table_names_the_known_count_and_every_blank(toy):
    Y, R, movies, users = toy
    alt = alt_of(plots.rating_table(Y, R, movies, users))
    assert "the 15 known ratings" in alt and "the 5 blank cells" in alt
    for i, j in zip(*np.nonzero(~R)):
        assert f"{users[j]}, {movies[i]}" in alt
    assert "5 movies (rows) by 4 users (Alice, Bob, Carol and Dave)" in alt


def test_rating_table_filled_in_lists_the_predictions_with_one_decimal(toy):
    Y, R, movies, users = toy
    P = Y.copy()
    P[~R] = [4.94, -0.04, 4.01, 0.03, 3.86]          # the blanks, row by row
    fig = plots.rating_table(Y, R, movies, users, predicted=P)
    alt = alt_of(fig)
    assert len(fig.axes) == 2
    assert ("Bob, Romance forever: 4.9; Carol, Romance forever: 0.0; Alice, Cute puppies of love: 4.0; "
            "Dave, Cute puppies of love: 0.0; Dave, Swords vs. karate: 3.9") in alt
    assert "15 known, 5 blank" in alt


def test_rating_table_refuses_shapes_that_do_not_match(toy):
    Y, R, movies, users = toy
    with pytest.raises(ValueError, match="movies, users"):
        plots.rating_table(Y, R, movies[:4], users)
    with pytest.raises(ValueError, match="predicted"):
        plots.rating_table(Y, R, movies, users, predicted=Y[:, :3])


def test_als_costs_gives_each_start_its_first_and_last_cost():
    alt = alt_of(plots.als_costs({"start A (seed 0)": [44.1, 10.0, 2.04], "start B (seed 4)": [33.7, 20.0, 19.51]}))
    assert "each of 3 sweeps" in alt and "from 2 random starts" in alt
    assert "start A (seed 0) falls from 44.1 to 2.0" in alt and "start B (seed 4) falls from 33.7 to 19.5" in alt
    assert "No curve ever rises" in alt
    rising = alt_of(plots.als_costs({"x": [3.0, 4.0, 1.0]}))
    assert "rising at 1 sweep" in rising and "No curve ever rises" not in rising


def test_feature_maps_names_the_groups_and_whom_each_user_points_at():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    Theta = np.array([[5.0, 0.0], [0.0, 4.0], [4.5, 0.5]])
    fig = plots.feature_maps([(X, Theta, "hand-made")], ["a", "b", "c"], ["u", "v", "w"])
    alt = alt_of(fig)
    assert alt.startswith("One scatter plot of the 3 movies' two features")
    assert "Hand-made: a and b at about (0.95, 0.05); c at about (0.00, 1.00)" in alt
    assert "u and w point towards a and b" in alt and "v points towards c" in alt
    with pytest.raises(ValueError, match=r"panels\[0\]"):
        plots.feature_maps([(X[:, :1], Theta, "t")], ["a", "b", "c"], ["u", "v", "w"])


# ---------------------------------------------------------------- 02


def test_rating_density_states_the_fill_the_empty_corner_and_the_busiest_user():
    R = np.ones((16, 16), dtype=bool)
    R[12:, :4] = False                                  # the last 4 movies, unrated by the first 4 users
    R[:, 10] = True
    alt = alt_of(plots.rating_density(R, block=4))
    assert "93.8% of R is filled" in alt                  # 240 of 256 cells
    assert "none of the first 4 users rated any of the last 4 movies" in alt
    assert "the first quarter of the movies is 100.0% filled, the last quarter 75.0%" in alt
    assert "(column 4) rated 16 movies" in alt
    assert "16 movies (rows, movie id 1 at the top) by 16 users" in alt and "blocks of 4 by 4" in alt


def test_rating_histograms_count_the_stars_and_the_ratings_per_movie_and_user():
    Y = np.array([[5, 4, 0], [3, 0, 0], [4, 4, 1], [0, 2, 4]], dtype=float)
    R = Y > 0
    alt = alt_of(plots.rating_histograms(Y, R))
    assert "1 star: 1; 2 stars: 1; 3 stars: 1; 4 stars: 4; 5 stars: 1; 4 stars is the most common" in alt
    assert "Ratings per movie, in bins that double in width (1, 2 to 3, ...): from 1 to 3, median 2" in alt
    assert ("Ratings per user, in doubling bins too (2 to 3, ...): from 2 to 3, median 3; the tallest bar, 2 to 3 "
            "ratings, holds 3 users") in alt
    assert "the tallest bar, 2 to 3 ratings, holds 3 movies" in alt


# ---------------------------------------------------------------- 03


def test_masked_cost_panels_work_out_j_as_notebook_03_does():
    P = np.array([[2.0, 1.0], [4.0, 2.0], [1.0, 0.5]])
    Y = np.array([[3.0, 0.0], [4.0, 1.0], [0.0, 2.0]])
    R = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool)
    fig = plots.masked_cost_panels(P, Y, R)
    alt = alt_of(fig)
    assert "½ × 4.25 = 2.125" in alt and "½ × 4.25 = 2.125" in fig.get_suptitle()
    assert "Ratings Y: movie 0: 3 and not rated; movie 1: 4 and 1; movie 2: not rated and 2" in alt
    assert "movie 0: 1 and 0; movie 1: 0 and 1; movie 2: 0 and 2.25" in alt
    with pytest.raises(ValueError, match="same shape"):
        plots.masked_cost_panels(P, Y[:2], R)


def test_error_histogram_states_the_rmse_and_the_share_within_one_star():
    errors = np.array([-1.5, -0.5, 0.0, 0.5, 2.0])
    fig = plots.error_histogram(errors)
    alt = alt_of(fig)
    assert "RMSE 1.16 stars" in alt and "(RMSE 1.16)" in fig.axes[0].get_title()   # sqrt(6.75 / 5)
    assert "60% of the predictions are within one star" in alt and "mean error 0.10" in alt
    assert "Histogram of the 5 errors" in alt
    with pytest.raises(ValueError, match="empty"):
        plots.error_histogram([])


# ---------------------------------------------------------------- 04


def test_finite_differences_finds_each_curve_minimum_and_its_value_at_the_step_used():
    eps = np.array([1e-8, 1e-6, 1e-4, 1e-2])
    alt = alt_of(plots.finite_differences(eps, [1e-3, 1e-7, 1e-5, 1e-3], [1e-3, 1e-9, 1e-8, 1e-4],
                                          [1e-4, 1e-10, 1e-12, 1e-14], used=1e-4))
    assert "p³, one-sided: smallest error 1e-07 at ε = 1e-06, 1e-05 at ε = 1e-04" in alt
    assert "p³, central: smallest error 1e-09 at ε = 1e-06, 1e-08 at ε = 1e-04" in alt
    assert "p², central: smallest error 1e-14 at ε = 1e-02, 1e-12 at ε = 1e-04" in alt
    with pytest.raises(ValueError):
        plots.finite_differences(eps, [1.0], [1.0], [1.0])


def test_gradient_agreement_tells_a_correct_gradient_from_a_wrong_one():
    index = pd.Index(["X[0, 0]", "X[1, 0]", "Theta[0, 0]"])
    numerical = np.array([-2.5, 1.0, 9.75])
    good = pd.DataFrame({"numerical": numerical, "analytic": numerical + 1e-11}, index=index)
    bad = pd.DataFrame({"numerical": numerical, "analytic": [-30.0, 411.0, 9.75]}, index=index)
    alt = alt_of(plots.gradient_agreement({"correct gradient": good, "gradient without the mask": bad}))
    assert alt.startswith("Two scatter plots")
    assert "Correct gradient: 3 entries, numerical from −2.5 to 9.8" in alt and "every point on the diagonal" in alt
    assert "Gradient without the mask: 3 entries" in alt and "analytic from −30.0 to 411.0" in alt
    assert "off the diagonal, up to 410.0 away" in alt
    with pytest.raises(TypeError, match="'numerical' and 'analytic'"):
        plots.gradient_agreement({"t": good[["numerical"]]})
    with pytest.raises(TypeError, match="got list"):
        plots.gradient_agreement({"t": [1, 2]})


# ---------------------------------------------------------------- 05


def test_prediction_histograms_tell_a_spread_from_a_single_bar():
    alt = alt_of(plots.prediction_histograms({"user 1 (rated 3 movies)": [1.0, 2.0, 4.5],
                                              "new user (rated nothing)": np.zeros(7)}))
    assert alt.startswith("Two histograms")
    assert "User 1 (rated 3 movies): 3 predictions spread from 1.0 to 4.5, median 2.0 stars" in alt
    assert "New user (rated nothing): all 7 predictions in the single bar at 0.0" in alt


def test_means_vs_counts_states_range_and_correlation_with_log_counts():
    counts = np.array([1.0, 10.0, 100.0, 1000.0])
    zeros = np.array([0.01, 0.2, 1.5, 2.7])
    r = np.corrcoef(np.log(counts), zeros)[0, 1]
    alt = alt_of(plots.means_vs_counts(counts, {"mean over the ratings": [5.0, 3.0, 4.0, 4.2],
                                                "mean counting the empty cells as 0": zeros}))
    assert "one point per movie (4)" in alt and "log scale from 1 to 1000" in alt
    assert "Mean over the ratings: from 3.00 to 5.00, median 4.10 stars" in alt
    assert f"from 0.01 to 2.70, median 0.85 stars; correlation with the log of the number of ratings {r:.2f}" in alt


def test_mean_funnel_states_the_band_and_where_the_extreme_means_come_from():
    counts = np.array([1, 2, 5, 100, 100, 400], dtype=float)
    means = np.array([5.0, 1.0, 4.0, 3.6, 4.2, 3.4])
    alt = alt_of(plots.mean_funnel(counts, means, overall=3.5, sigma=1.0))
    assert "overall mean 3.50 ± 2σ/√n, σ = 1.00: from 1.5 to 5.5 stars at 1 rating, ±0.2 at 100" in alt
    assert "the extreme means, 1.00 and 5.00, all come from movies with at most 2 ratings" in alt
    assert "where 67% of the 3 movies with 100 or more ratings lie outside it" in alt   # 4.2 and 3.4


def test_shrunk_means_compares_the_one_rating_movies_and_the_well_rated_ones():
    counts = np.array([1, 1, 100, 200], dtype=float)
    plain = np.array([5.0, 1.0, 4.0, 3.0])
    shrunk = np.array([3.7, 3.3, 3.95, 3.02])
    alt = alt_of(plots.shrunk_means(counts, plain, shrunk, overall=3.5, k=10))
    assert ("For the 2 movies with 1 rating, plain means run from 1.00 to 5.00, shrunk means only from 3.30 "
            "to 3.70") in alt
    assert "For the 2 movies with 100 or more ratings the two differ by at most 0.05 stars" in alt
    assert "shrunk means with k = 10" in alt and "overall mean 3.50" in alt


# ---------------------------------------------------------------- 06


def test_cost_curve_marks_the_steepest_step_and_ninety_percent_of_the_fall():
    fig = plots.cost_curve([100.0, 90.0, 50.0, 45.0, 44.0], "Gradient descent, λ = 10, α = 0.01")
    alt = alt_of(fig)
    assert "the cost J over 4 iterations falls from 100 to 44, fastest at iteration 2" in alt
    assert "90 % of the fall is done by iteration 3" in alt and alt.endswith("(square).")
    assert 'titled "Gradient descent, λ = 10, α = 0.01"' in alt
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["steepest step (iteration 2)", "90 % of the fall done (iteration 3)"]
    assert "rises at 1 step" in alt_of(plots.cost_curve([10.0, 5.0, 6.0, 1.0], "t"))
    with pytest.raises(ValueError, match="at least one step"):
        plots.cost_curve([3.0], "t")


def test_cost_curves_give_each_run_its_start_end_and_peak():
    alt = alt_of(plots.cost_curves({"α = 0.001": [52455.0, 50000.0, 44517.0],
                                    "L-BFGS": [52455.0, 60000.0, 39490.4]}, "Same cost", zoom=True))
    assert "α = 0.001 falls from 52,455 to 44,517 in 2 iterations" in alt        # no capital Α for α
    assert "L-BFGS falls from 52,455 to 39,490 in 2 iterations, after a peak of 60,000 at iteration 1" in alt
    assert alt.endswith("L-BFGS ends lowest.")


# ---------------------------------------------------------------- 07


def test_movie_map_counts_the_groups_and_names_the_labelled_extremes():
    coords = np.array([[-1.0, 0.5], [-0.2, -0.1], [0.6, 0.9], [0.8, -0.6], [0.1, 0.0], [0.0, 0.2], [1.6, 0.1],
                       [0.3, 0.3]])
    titles = ["Godfather, The (1972)", "Emma (1996)", "Star Wars (1977)", "Saint, The (1997)", "Tiny (1990)",
              "Hidden (1990)", "Far Right (1990)", "Comedy (1990)"]
    num_ratings = np.array([400, 100, 580, 60, 25, 10, 30, 50])
    group = np.array(["drama", "drama", "action", "action", "action", "drama", "action", "other genres"],
                     dtype=object)
    shown = num_ratings >= 20
    alt = alt_of(plots.movie_map(coords, titles, num_ratings, group, ["action", "drama"], shown=shown))
    assert "Scatter map of the 7 movies with 25 or more ratings" in alt
    assert "action, 4 movies, median first coordinate +0.70; drama, 2 movies, median first coordinate −0.60" in alt
    assert "other genres, 1 movie, in grey" in alt
    assert "5 titles are labelled" in alt                     # 40+ ratings: not Tiny, not Far Right
    assert "leftmost The Godfather at (−1.00, +0.50), rightmost The Saint at (+0.80, −0.60)" in alt
    assert "highest Star Wars at (+0.60, +0.90), lowest The Saint" in alt
    r = np.corrcoef(coords[shown, 1], np.log(num_ratings[shown]))[0, 1]
    assert f"is {plots.num(r)}." in alt
    with pytest.raises(ValueError, match="one per movie"):
        plots.movie_map(coords, titles[:5], num_ratings, group, ["action"])


# ---------------------------------------------------------------- 08


def test_masked_vs_unmasked_states_both_costs_and_both_prediction_means():
    alt = alt_of(plots.masked_vs_unmasked({"masked gradient": [687868.0, 78766.0],
                                           "unmasked gradient": [687868.0, 294491.0]},
                                          {"masked": [3.0, 3.8], "unmasked": [1.0, 2.14]}, actual=[3.0, 4.06]))
    assert "over 1 iterations" in alt or "over 1 iteration" in alt
    assert "masked gradient falls from 687,868 to 78,766; unmasked gradient falls from 687,868 to 294,491" in alt
    assert "the 2 rated cells, whose actual ratings average 3.53" in alt
    assert "masked: mean 3.40" in alt and "unmasked: mean 1.57" in alt


# ---------------------------------------------------------------- 09


def test_convergence_states_steps_final_cost_and_when_each_run_is_nearly_done():
    alt = alt_of(plots.convergence({"ALS": ([0.0, 0.1, 0.2, 0.3], [100.0, 20.0, 10.5, 10.0]),
                                    "L-BFGS": ([0.0, 0.5, 1.0], [100.0, 50.0, 10.2])}, "Biased MF"))
    assert "ALS: 3 steps in 0.3 s, final J 10; 99 % of the way down after step 2, at 0.2 s" in alt
    assert "L-BFGS: 2 steps in 1.0 s, final J 10" in alt


def test_validation_curve_states_the_minimum_and_the_gap_of_the_rounded_table():
    table = pd.DataFrame({"validation": [1.0394, 0.9121, 0.9402], "test": [1.0624, 0.9284, 0.9551]},
                         index=pd.Index([1, 12, 40], name="lambda"))
    fig = plots.validation_curve(table, r"$\lambda$", title=r"Biased MF, $\lambda$ sweep")
    alt = alt_of(fig)
    assert 'titled "Biased MF, λ sweep": RMSE against λ on a log scale from 1 to 40' in alt
    assert "Validation RMSE: 1.039 at 1, lowest 0.912 at 12 (grey line), 0.940 at 40" in alt
    assert "Test RMSE: 1.062, 0.928 and 0.955 at the same points, 0.015 to 0.023 above validation" in alt


def test_training_curves_give_each_lambda_its_ends_and_gap():
    frame = lambda tr, va: pd.DataFrame({"training": tr, "validation": va}, index=pd.Index([1, 2, 3], name="sweep"))
    alt = alt_of(plots.training_curves({1: frame([0.787, 0.7, 0.628], [1.033, 1.036, 1.041]),
                                        12: frame([0.9, 0.8, 0.783], [0.944, 0.92, 0.910])}, "Biased MF"))
    assert "λ = 1: training falls from 0.787 to 0.628, validation rises from 1.033 to 1.041 (lowest 1.033, " \
           "after sweep 1); gap at the end 0.413" in alt
    assert "λ = 12: training falls from 0.900 to 0.783, validation falls from 0.944 to 0.910 (lowest 0.910, " \
           "after sweep 3); gap at the end 0.127" in alt
    assert "each of 3 ALS sweeps" in alt


def test_running_average_states_the_milestones_and_when_it_beats_the_reference():
    rmse = np.linspace(0.99, 0.906, 200)
    alt = alt_of(plots.running_average(rmse, 0.922, "tuned biased MF (ALS)", "Bayesian MF"))
    has_numbers(alt, 0.990, 0.906, 0.922)
    assert "0.990 for 1" in alt and "0.906 for 200" in alt
    first = int(np.flatnonzero(rmse < 0.922)[0]) + 1
    assert f"first gets below it with {first} draws" in alt
    assert "never gets below it" in alt_of(plots.running_average([1.0, 0.95], 0.9, "ref", "t"))
