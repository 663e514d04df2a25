"""recsys_tutorial/interactive.py: the explorer trains with helpers.gradient_descent itself, the pictures
are drawn from the right numbers and described in words, the rating widget folds ratings in and keeps a
valid state, and every argument a picture or widget cannot use is refused with a message (issue 22)."""

from __future__ import annotations

import base64
import json
import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

import helpers as h
from fakes import WIDGET_TITLES as TITLES, small_ratings
from recsys_tutorial import interactive as ia
from recsys_tutorial.style import alt_text

NOTEBOOK_06 = Path(__file__).resolve().parents[1] / "notebooks" / "06-training.ipynb"


def renderer_of(fig):
    """The figure drawn once by Agg, and its renderer (a bare Figure has no canvas of its own)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def img_of(value: str) -> tuple[dict, bytes]:
    """The attributes of the one <img> in an HTML widget's value, and its PNG bytes."""
    tags = re.findall(r"<img ([^>]*)>", value)
    assert len(tags) == 1, value[:300]
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', tags[0]))
    return attrs, base64.b64decode(attrs["src"].split(",", 1)[1])


# ---------------------------------------------------------------- 06: the explorer


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


def test_training_runs_use_the_shrinkage_they_are_given():
    Y, R = small_ratings()
    plain = ia.TrainingRuns(Y, R, {0: 5}, num_features=2, shrinkage=0.0)
    shrunk = ia.TrainingRuns(Y, R, {0: 5}, num_features=2, shrinkage=25.0)
    for runs, k in ((plain, 0.0), (shrunk, 25.0)):
        np.testing.assert_allclose(runs.means, h.normalize_ratings(h.add_user({0: 5}, Y, R)[0], runs.R_train, k)[1])
    assert not np.allclose(plain.run(1.0, 0.01, 10)["J"], shrunk.run(1.0, 0.01, 10)["J"])


def test_training_runs_stop_early_when_given_seconds_and_the_explorer_draws_twice(runs):
    part = runs.run(3.0, 0.01, 50, seconds=0)
    assert not part["complete"] and len(part["J"]) == 1 and part["mine"] is None
    whole = runs.run(3.0, 0.01, 50)
    assert whole["complete"] and len(whole["J"]) == 51 and whole["J"][0] == part["J"][0]
    pytest.importorskip("ipywidgets")
    Y, R = small_ratings()
    timings = []
    box = ia.build_training_explorer(runs, TITLES, R.sum(axis=1), iterations=20, first_draw_after=0,
                                     timings=timings)
    (sliders, _), said, status, image, top = box.children[0].children, *box.children[1:]
    lam = sliders.children[0]
    seen = []
    status.observe(lambda change: seen.append(change["new"]), names="value")
    lam.value = 4.0                                    # a new run: a partial draw first, then the whole
    assert "training … iteration 0 of 20" in seen[0] and "final cost J" in seen[-1]
    assert len(timings) == 2 and "<table" in top.value
    attrs, data = img_of(image.value)
    assert data.startswith(b"\x89PNG") and attrs["alt"].startswith("Two line charts of gradient descent at λ = 4,")
    assert "held-out RMSE" in said.message and "λ = 4" in said.message
    assert "Trained on 80 % of the ratings" in status.value and "held out" in status.value


def test_explorer_finishes_a_run_that_stopped_early_without_a_partial_draw(runs):
    pytest.importorskip("ipywidgets")

    class OneStepFirst(ia.TrainingRuns):   # the timed first call stops after one step, whatever the clock says
        def __init__(self):
            self.__dict__.update(runs.__dict__)

        def run(self, *args, seconds=None):
            return runs.run(*args, seconds=None if seconds is None else 0)

    box = ia.build_training_explorer(OneStepFirst(), TITLES, np.ones(40, int), lambda_=6.0, iterations=20,
                                     first_draw_after=1e9)
    status, top = box.children[2], box.children[4]
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
    text = ia._explorer_status(now, runs, 0.1)
    assert f"held-out RMSE {now['held_out_rmse'][-1]:.4f}" in text and "final cost J = " in text
    diverged = runs.run(1.0, 0.5, 50)
    assert "diverged at iteration" in ia._explorer_status(diverged, runs, 0.1)
    assert "final cost" not in ia._explorer_status(diverged, runs, 0.1)
    ghostless = picture.update(diverged)                       # the same picture, redrawn in place
    assert not any(len(line.get_xdata()) for line in ghostless.axes[0].lines[:1])   # no ghost any more
    assert any("diverged" in t.get_text() for t in ghostless.axes[0].texts)


def test_training_picture_redraws_only_what_changed_and_looks_the_same(runs):
    """png() keeps the axes' pixels per cost axis and draws the changing artists on them: the result is the
    full drawing (savefig), pixel for pixel but where a curve crosses the frame (drawn over it, not under)."""
    from PIL import Image

    picture = ia.TrainingPicture()
    settings = [(0.0, 0.05, 40, None), (1.0, 0.02, 30, (0.0, 0.05, 40)), (1.0, 0.5, 50, (1.0, 0.02, 30))]
    for limits in ((0, 1000), (0, 1000), (0, 2000)):                       # kept pixels, kept, drawn anew
        for lam, alpha, n, before in settings:
            fig = picture.update(runs.run(lam, alpha, n), before and runs.run(*before), cost_limits=limits)
            fast = np.asarray(Image.open(BytesIO(picture.png())).convert("RGB"), dtype=int)
            full = np.asarray(Image.open(BytesIO(ia.png(fig))).convert("RGB"), dtype=int)
            assert fast.shape == full.shape
            assert np.mean(np.abs(fast - full).max(axis=2) > 40) < 0.002, (limits, lam, alpha)


def test_training_picture_alt_text_gives_the_numbers_drawn(runs):
    now, before = runs.run(0.0, 0.05, 40), runs.run(1.0, 0.02, 30)
    alt = ia.TrainingPicture.alt(now, before)
    held = now["held_out_rmse"]
    best = int(np.argmin(held))
    for piece in (f"λ = 0, α = 0.05, 40 iterations", f"from {now['J'][0]:,.0f} to {now['J'][-1]:,.0f}",
                  f"held-out RMSE from {held[0]:.2f} to {held[-1]:.2f}", f"lowest {held[best]:.3f} at iteration {best}",
                  "previous setting, λ = 1, α = 0.02", f"J = {before['J'][-1]:,.0f}"):
        assert piece in alt, (piece, alt)
    diverged = runs.run(1.0, 0.5, 50)
    assert f"diverges at iteration {diverged['diverged_at']}" in ia.TrainingPicture.alt(diverged)


def test_training_picture_legends_sit_off_the_curves(runs):
    """Every legend lies below its axes, so it covers no curve, however the curves run (issue 21)."""
    picture = ia.TrainingPicture()
    for now, before in ((runs.run(0.0, 0.05, 200), runs.run(10.0, 0.01, 200)),
                        (runs.run(10.0, 0.01, 200), runs.run(0.0, 0.05, 200)), (runs.run(1.0, 0.5, 50), None)):
        fig = picture.update(now, before)
        renderer = renderer_of(fig)
        for ax in fig.axes:
            legend = ax.get_legend()
            assert legend is not None
            assert legend.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0
            assert fig.bbox.contains(*legend.get_window_extent(renderer).p0)


# ---------------------------------------------------------------- 06: the descent picture


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
    maps = fig.axes[0::2]
    assert [ax.get_title() for ax in maps] == ["α = 0.1 < 2/L = 0.333: settles", "α = 0.4 > 2/L = 0.333: bounces"]
    axis, J = ia._cost_grid(4.0, 1.0)
    i = np.argmin(np.abs(axis - 1.5))
    assert J[i, i] == pytest.approx(h.cofi_cost([[1.5]], [[1.5]], [[4.0]], [[True]], 1.0))


def test_descent_figure_shows_the_overshoots_it_describes():
    """α = 0.3 settles by crossing the minimum back and forth: the strip under the map shows x − x*
    magnified, so the zigzag is visible; α = 0.1 glides in without a visible crossing (issue 21)."""
    fig = ia.descent_figure([0.1, 0.3, 0.4])
    strips = fig.axes[1::2]
    for strip, alpha in zip(strips, (0.1, 0.3, 0.4)):
        path = ia.descent_path(alpha)[0]
        shown = strip.lines[0].get_ydata()
        np.testing.assert_allclose(shown, np.clip(path[:, 0] - np.sqrt(3), -ia.DESCENT_ZOOM, ia.DESCENT_ZOOM))
    zigzag = np.sign(strips[1].lines[0].get_ydata())
    assert np.sum(zigzag[5:20] * np.roll(zigzag, 1)[5:20] < 0) >= 12          # 0.3: across at almost every step
    assert "56 times" in strips[1].get_title() and "56 times" in alt_text(fig)
    assert np.all(np.abs(strips[0].lines[0].get_ydata()) < 1e-3 * ia.DESCENT_ZOOM
                  + (strips[0].lines[0].get_ydata() < 0))                     # 0.1: from below, never visibly above
    alt = alt_text(fig)
    assert "two minima at x = θ = ±1.73" in alt and "α = 0.4 bounces, ending at x = 1.97" in alt


def test_descent_figure_puts_two_panels_a_row_and_its_legend_off_the_maps():
    fig = ia.descent_figure([0.1, 0.3, 0.55])
    assert len(fig.axes) == 6 and fig.get_figwidth() < 9.5                  # a map and a strip per α
    renderer = renderer_of(fig)
    legend = fig.legends[0].get_window_extent(renderer)
    assert all(not legend.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)
    assert "diverges at step 30" in alt_text(fig)


def test_widget_pictures_are_drawn_at_twice_their_shown_size_with_alt_text():
    from PIL import Image

    fig = ia.descent_figure(0.1)
    attrs, data = img_of(ia.image_html(fig, "a <described> picture"))
    shown = round(fig.get_figwidth() * ia.DPI)
    assert attrs["width"] == str(shown) and attrs["alt"] == "a &lt;described&gt; picture"
    assert Image.open(BytesIO(data)).size[0] == 2 * shown
    assert Image.open(BytesIO(data)).mode == "P"            # a 256-colour palette, as stored figures
    with pytest.raises(TypeError, match="alt"):
        ia.image_html(fig, "  ")


def test_descent_explorer_redraws_and_describes_when_alpha_moves():
    pytest.importorskip("ipywidgets")
    box = ia.build_descent_explorer(alpha=0.1, num_iters=20)
    alpha, steps, said, image = box.children
    first = image.value
    alpha.value = 0.4
    attrs, data = img_of(image.value)
    assert image.value != first and data.startswith(b"\x89PNG") and "α = 0.4 bounces" in attrs["alt"]
    assert said.message.startswith("Redrawn: α = 0.4 bounces")
    steps.value = 5
    assert alpha.min < 1 / 3 < alpha.max                 # the slider crosses the limit 2/L
    assert "recsys-widget" in box._dom_classes


# ---------------------------------------------------------------- the explorer's settings


def test_notebook_06_trains_without_a_cache_that_reads_globals():
    """Issue 18: a cache keyed by the settings only, reading X0, Y_norm... from globals, served stale runs after
    an earlier cell changed them. The notebook recomputes (0.1 s a run) and gives the explorer its shrinkage."""
    cells = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
             for c in json.loads(NOTEBOOK_06.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    code = "\n".join(cells)
    assert not re.search(r"lru_cache|functools\.cache|@cache\b", code)
    runs_cell = next(c for c in cells if "TrainingRuns(" in c)
    assert "shrinkage=SHRINKAGE" in runs_cell and "SHRINKAGE = " in code


# ---------------------------------------------------------------- 07: your own ratings


def test_taste_figure_plots_mean_stars_and_prediction():
    Y, R = small_ratings(3)
    _, base = h.recommend({}, Y, R, TITLES, num_features=3, num_iters=20, return_model=True)
    ratings = {2: 5.0, 5: 1.0}
    me = h.fold_in(base, ratings)
    fig = ia.taste_figure(me, ratings, TITLES)
    mean, stars, pred = (line.get_xdata() for line in fig.axes[0].lines)
    order = [5, 2]                                       # sorted by my stars
    np.testing.assert_allclose(mean, base.b_movie[order])
    np.testing.assert_allclose(stars, [1, 5])
    np.testing.assert_allclose(pred, me.predict_all(clip=False)[order, 0])
    alt = alt_text(fig)
    assert alt.startswith("Dot chart of the 2 movies I rated")
    assert f"movie 2 (1992): mean {base.b_movie[2]:.2f}, my 5, predicted {pred[1]:.2f}" in alt
    by_title = ia.taste_figure(me, {TITLES[2]: 5.0, TITLES[5]: 1.0}, TITLES)   # keyed by title: was IndexError
    np.testing.assert_allclose(by_title.axes[0].lines[2].get_xdata(), pred)
    legend = fig.legends[0].get_window_extent(renderer_of(fig))
    assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1, legend.y1)   # not clipped


def test_rating_widget_folds_in_at_each_click(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False)
    start = w.top.value
    w.search.value = "movie 12"
    assert w.matches.value == 12
    w._rate_selected(5)
    assert w.ratings == {12: 5.0} and w.top.value != start
    assert "movie 12 (2002)" in w.mine.children[0].children[1].value
    expected = h.recommend({12: 5}, Y, R, TITLES, n=5, model=base)
    assert all(t in w.top.value for t in expected.title)
    assert w.announcer.message == (f"Your top 5 updated for 1 rating: 1. {expected.title[0]}; "
                                   f"2. {expected.title[1]}; 3. {expected.title[2]}.")
    w._remove_button = w.mine.children[0].children[0]
    w._remove_button.click()
    assert w.ratings == {} and w.top.value == start and not w.mine.children
    assert len(w.timings) == 3 and all(0 <= a <= b for a, b in w.timings)
    assert "ratings folded in: 0" in w.status.value
    with pytest.raises(ValueError, match="neither a 0-based row"):
        ia.RatingWidget(base, Y, R, TITLES, ratings={"no such movie": 3})


def test_rating_widget_buttons_are_named_by_what_they_do(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False)
    w.search.value = "(1997)"
    assert [b.description for b in w.stars] == [f"rate movie 7 (1997) {k} star{'s' if k > 1 else ''}"
                                                for k in range(1, 6)]
    assert all("recsys-icon" in b._dom_classes and f"recsys-stars-{k}" in b._dom_classes
               for k, b in enumerate(w.stars, start=1))
    w.rate("movie 7 (1997)", 4)
    remove, label = w.mine.children[0].children
    assert remove.description == "remove movie 7 (1997)" and "aria-label='4 of 5 stars'" in label.value
    w.search.value = "no film has this title"
    assert w.matches.value is None and all(b.disabled for b in w.stars)
    assert w.search.description == "Search" and w.matches.description == "Matches"


def test_rating_widget_shows_one_mean_per_movie_and_no_empty_picture(base_model):
    """The search list and the table show the same mean, the model's (shrunk) one; before the first rating
    the picture is a sentence, not an empty <img> (a broken-image icon in the browser)."""
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=40 - 1)
    assert "<img" not in w.picture.value and "Rate a movie" in w.picture.value
    w.search.value = "(1993)"
    label, row = w.matches.options[0]
    assert row == 3 and f"mean {base.mu + base.b_movie[3]:.2f}" in label
    w.rate(12, 5)
    cells = re.search(r"movie 3 \(1993\).*?</td><td>[0-9.]+</td><td>([0-9.]+)</td>", w.top.value).group(1)
    assert cells == f"{base.mu + base.b_movie[3]:.2f}"
    attrs, data = img_of(w.picture.value)
    assert data.startswith(b"\x89PNG") and "movie 12 (2002): mean" in attrs["alt"]


def test_rating_widget_explains_why_favourites_barely_move_the_list(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False, ratings={2: 5, 9: 1})
    gap = np.mean(np.abs(np.array([5, 1]) - (base.mu + base.b_movie[[2, 9]])))
    assert f"differ from the movies' means by {gap:.2f} stars on average" in w.hint.value
    assert "learns your taste only from such differences" in w.hint.value


# ---------------------------------------------------------------- keyboard and screen reader


def test_announcer_is_a_live_region_that_names_the_sliders():
    pytest.importorskip("anywidget")
    said = ia.Announcer(message="hello")
    assert isinstance(said, ia.Announcer) and said.message == "hello"
    assert 'setAttribute("aria-live", "polite")' in said._esm and "aria-labelledby" in said._esm
    assert ".recsys-widget :focus-visible" in said._css and "outline: 2px solid #1976d2" in said._css
    for k in range(1, 6):       # the star glyphs have no name of their own: the description is the name
        assert f'content: "{"★" * k}" / "";' in said._css
