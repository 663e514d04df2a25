"""recsys_tutorial/interactive.py: the explorer trains with helpers.gradient_descent itself, the pictures
are drawn from the right numbers, and the rating widget folds ratings in."""

from __future__ import annotations

import numpy as np
import pytest

import helpers as h
from recsys_tutorial import interactive as ia


def small_ratings(seed=0, n_movies=40, n_users=30):
    rng = np.random.default_rng(seed)
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random(Y.shape) < 0.4
    R[:, 0] = True                      # every movie rated at least once
    return np.where(R, Y, 0.0), R


@pytest.fixture(scope="module")
def runs():
    Y, R = small_ratings()
    return ia.TrainingRuns(Y, R, {0: 5, 3: 1, 7: 4}, num_features=3, validation=0.2)


def test_training_runs_step_exactly_as_helpers_gradient_descent(runs):
    run = runs.run(1.0, 0.02, 30)
    _, _, J = h.gradient_descent(runs.X0, runs.Theta0, runs.Y_norm, runs.R_train, 1.0, 0.02, 30)
    np.testing.assert_allclose(run["J"], J, rtol=1e-12)
    assert len(run["train_rmse"]) == len(run["held_out_rmse"]) == 31 and run["diverged_at"] is None


def test_training_runs_rmse_split_and_resume(runs):
    Y, R = small_ratings()
    Y_all, R_all = h.add_user({0: 5, 3: 1, 7: 4}, Y, R)
    held = runs.held_out
    assert held.n_ratings + runs.R_train.sum() == R_all.sum() and np.all(held.cols > 0)   # my ratings all train
    assert 0.1 < held.n_ratings / R_all[:, 1:].sum() < 0.3
    assert not np.any(R_all[:, 0] & ~runs.R_train[:, 0])
    run = runs.run(2.0, 0.01, 20)
    # Re-derive both RMSEs after 20 steps from the same parameters, by brute force.
    X, Theta, _ = h.gradient_descent(runs.X0, runs.Theta0, runs.Y_norm, runs.R_train, 2.0, 0.01, 20)
    pred = X @ Theta.T + runs.means[:, None]
    Y_tr, R_tr = runs.Y_norm, runs.R_train
    train_err = (X @ Theta.T - Y_tr)[R_tr]
    held_err = pred[held.rows, held.cols] - held.values
    assert run["train_rmse"][-1] == pytest.approx(np.sqrt(np.mean(train_err ** 2)), rel=1e-9)
    assert run["held_out_rmse"][-1] == pytest.approx(np.sqrt(np.mean(held_err ** 2)), rel=1e-9)
    np.testing.assert_allclose(run["mine"], pred[:, 0], rtol=1e-12)
    longer = runs.run(2.0, 0.01, 40)                   # resumed, and its start is the same run
    np.testing.assert_array_equal(longer["J"][:21], run["J"])
    assert runs.run(2.0, 0.01, 25)["mine"] is None      # only every 10th iteration is kept


def test_training_runs_stop_early_when_given_seconds_and_the_explorer_draws_twice(runs):
    part = runs.run(3.0, 0.01, 50, seconds=0)
    assert not part["complete"] and len(part["J"]) == 1 and part["mine"] is None
    whole = runs.run(3.0, 0.01, 50)
    assert whole["complete"] and len(whole["J"]) == 51 and whole["J"][0] == part["J"][0]
    pytest.importorskip("ipywidgets")
    Y, R = small_ratings()
    timings = []
    box = ia.build_training_explorer(runs, [f"m{i}" for i in range(40)], R.sum(axis=1), iterations=20,
                                     first_draw_after=0, timings=timings)
    (sliders, _), status, image, top = box.children[0].children, *box.children[1:]
    lam = sliders.children[0]
    seen = []
    status.observe(lambda change: seen.append(change["new"]), names="value")
    lam.value = 4.0                                    # a new run: a partial draw first, then the whole
    assert "training … iteration 0 of 20" in seen[0] and "final cost J" in seen[-1]
    assert len(timings) == 2 and bytes(image.value).startswith(b"\x89PNG") and "<table" in top.value


def test_explorer_finishes_a_run_that_stopped_early_without_a_partial_draw(runs):
    pytest.importorskip("ipywidgets")

    class OneStepFirst:             # the timed first call stops after one step, whatever the clock says
        mine = runs.mine

        def run(self, *args, seconds=None):
            return runs.run(*args, seconds=None if seconds is None else 0)

    box = ia.build_training_explorer(OneStepFirst(), [f"m{i}" for i in range(40)], np.ones(40, int),
                                     lambda_=6.0, iterations=20, first_draw_after=1e9)
    status, top = box.children[1], box.children[3]
    assert "final cost J" in status.value and "<table" in top.value


def test_training_runs_keep_only_the_most_recent():
    few = ia.TrainingRuns(*small_ratings(), {0: 5}, num_features=2, keep=2)
    first = few.run(1.0, 0.01, 10)
    few.run(2.0, 0.01, 10)
    few.run(1.0, 0.01, 10)                       # used again: now the most recent
    few.run(3.0, 0.01, 10)                       # pushes out λ = 2, not λ = 1
    assert list(few._runs) == [(1.0, 0.01), (3.0, 0.01)]
    np.testing.assert_array_equal(few.run(1.0, 0.01, 10)["J"], first["J"])


def test_training_runs_divergence_matches_helpers(runs):
    run = runs.run(1.0, 0.5, 50)
    with pytest.raises(h.DivergenceError, match=f"diverged at iteration {run['diverged_at']}:"):
        h.gradient_descent(runs.X0, runs.Theta0, runs.Y_norm, runs.R_train, 1.0, 0.5, 50)
    assert run["mine"] is None and len(run["J"]) == run["diverged_at"] + 1
    with pytest.raises(ValueError, match=r"alpha \(the learning rate\) must be a finite number > 0"):
        runs.run(1.0, 0.0, 10)
    with pytest.raises(ValueError, match="validation must be a finite number >= 0 and <= 0.5"):
        ia.TrainingRuns(*small_ratings(), {}, validation=0.9)


def test_training_picture_and_status(runs):
    now, before = runs.run(0.0, 0.05, 40), runs.run(1.0, 0.02, 30)
    picture = ia.TrainingPicture()
    fig = picture.update(now, before, cost_limits=(0, 1000))
    cost_ax, rmse_ax = fig.axes
    np.testing.assert_array_equal(cost_ax.lines[1].get_ydata(), now["J"])           # after the ghost
    assert cost_ax.lines[0].get_linestyle() == "--" and cost_ax.get_ylim() == (0, 1000)
    assert cost_ax.get_xlim() == (0, 200) and rmse_ax.get_ylim() == (0.6, 1.2)
    assert [line.get_label() for line in rmse_ax.lines][2:4] == ["training RMSE", "held-out RMSE"]
    assert cost_ax.lines[0].get_label() == "before (λ = 1, α = 0.02)"
    longer = runs.run(0.0, 0.05, 50)
    picture.update(longer, now)                                    # same setting, more iterations
    assert cost_ax.lines[0].get_label() == "before (40 iterations)"
    assert ia.png(fig).startswith(b"\x89PNG")
    text = ia._status_html(now, 0.1)
    assert f"held-out RMSE {now['held_out_rmse'][-1]:.4f}" in text and "final cost J = " in text
    diverged = runs.run(1.0, 0.5, 50)
    assert "diverged at iteration" in ia._status_html(diverged, 0.1) and "final cost" not in \
        ia._status_html(diverged, 0.1)
    ghostless = picture.update(diverged)                       # the same picture, redrawn in place
    assert not any(len(line.get_xdata()) for line in ghostless.axes[0].lines[:1])   # no ghost any more
    assert any("diverged" in t.get_text() for t in ghostless.axes[0].texts)


def test_descent_path_uses_helpers_and_finds_the_minimum():
    path, J, diverged = ia.descent_path(0.1, 200)
    assert not diverged and path.shape == (201, 2)
    np.testing.assert_allclose(path[-1], [np.sqrt(3), np.sqrt(3)], atol=1e-6)     # x = θ = √(y − λ)
    assert J[1] - J[0] > -0.05                                                    # the flat start by the saddle
    mirror, _, _ = ia.descent_path(0.1, 200, start=(-0.15, -0.05))
    np.testing.assert_allclose(mirror[-1], -path[-1], atol=1e-6)
    assert ia.descent_path(0.6, 60)[2] or ia._verdict(ia.descent_path(0.6, 60)[1], False) == "bounces"
    assert ia._verdict(ia.descent_path(0.55, 60)[1], ia.descent_path(0.55, 60)[2]) == "diverges"
    assert ia._verdict(ia.descent_path(0.4, 60)[1], False) == "bounces"
    assert ia._verdict(ia.descent_path(0.02, 5)[1], False) == "on its way"


def test_descent_figure_titles_compare_alpha_with_two_over_L():
    fig = ia.descent_figure([0.1, 0.4])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["α = 0.1 < 2/L = 0.333: settles", "α = 0.4 > 2/L = 0.333: bounces"]
    axis, J = ia._cost_grid(4.0, 1.0)
    i = np.argmin(np.abs(axis - 1.5))
    assert J[i, i] == pytest.approx(h.cofi_cost([[1.5]], [[1.5]], [[4.0]], [[True]], 1.0))


def test_descent_figure_puts_two_panels_a_row():
    fig = ia.descent_figure([0.1, 0.3, 0.4])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4                       # 2 x 2, the spare one hidden
    assert fig.get_figwidth() < 9.5 and visible[-1].get_legend() is not None


def test_widget_pictures_are_drawn_at_twice_their_shown_size():
    from io import BytesIO

    import ipywidgets
    from PIL import Image

    fig = ia.descent_figure(0.1)
    image = ipywidgets.Image(format="png")
    ia.show(image, fig)
    shown = round(fig.get_figwidth() * ia.DPI)
    assert image.layout.width == f"{shown}px"
    assert Image.open(BytesIO(image.value)).size[0] == 2 * shown
    assert Image.open(BytesIO(image.value)).mode == "P"            # a 256-colour palette, as stored figures


def test_taste_figure_plots_mean_stars_and_prediction():
    Y, R = small_ratings(3)
    _, base = h.recommend({}, Y, R, [f"m{i}" for i in range(40)], num_features=3, num_iters=20,
                          return_model=True)
    ratings = {2: 5.0, 5: 1.0}
    me = h.fold_in(base, ratings)
    fig = ia.taste_figure(me, ratings, [f"m{i}" for i in range(40)])
    mean, stars, pred = (line.get_xdata() for line in fig.axes[0].lines)
    order = [5, 2]                                       # sorted by my stars
    np.testing.assert_allclose(mean, base.b_movie[order])
    np.testing.assert_allclose(stars, [1, 5])
    np.testing.assert_allclose(pred, me.predict_all(clip=False)[order, 0])


def test_rating_widget_folds_in_at_each_click():
    pytest.importorskip("ipywidgets")
    Y, R = small_ratings(4)
    titles = [f"movie {i} ({1990 + i})" for i in range(40)]
    _, base = h.recommend({}, Y, R, titles, num_features=3, num_iters=20, return_model=True)
    w = ia.RatingWidget(base, Y, R, titles, n=5, picture=False)
    start = w.top.value
    w.search.value = "movie 12"
    assert w.matches.value == 12
    w._rate(5)
    assert w.ratings == {12: 5.0} and w.top.value != start
    assert "movie 12 (2002)" in w.mine.children[0].children[1].value
    expected = h.recommend({12: 5}, Y, R, titles, n=5, model=base)
    assert all(t in w.top.value for t in expected.title)
    w._remove(12)
    assert w.ratings == {} and w.top.value == start and not w.mine.children
    assert len(w.timings) == 3 and all(0 <= a <= b for a, b in w.timings)
    assert "ratings folded in: 0" in w.status.value
    with pytest.raises(ValueError, match="neither a 0-based row"):
        ia.RatingWidget(base, Y, R, titles, ratings={"no such movie": 3})


def test_descent_explorer_redraws_when_alpha_moves():
    pytest.importorskip("ipywidgets")
    box = ia.build_descent_explorer(alpha=0.1, num_iters=20)
    alpha, steps, image = box.children
    first = bytes(image.value)
    alpha.value = 0.4
    assert bytes(image.value) != first and bytes(image.value).startswith(b"\x89PNG")
    steps.value = 5
    assert alpha.min < 1 / 3 < alpha.max                 # the slider crosses the limit 2/L
