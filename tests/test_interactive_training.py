"""recsys_tutorial/interactive/training.py: notebook 06's explorer trains with helpers.gradient_descent
itself, keeps its runs, draws the right numbers and describes them in words, and never serves stale runs."""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

import helpers as h
from fakes import WIDGET_TITLES as TITLES, img_of, renderer_of, small_ratings
from recsys_tutorial import interactive as ia
from recsys_tutorial.interactive import _common, training


NOTEBOOK_06 = Path(__file__).resolve().parents[1] / "notebooks" / "06-training.ipynb"


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
    assert _common.png(fig).startswith(b"\x89PNG")
    text = training._explorer_status(now, runs, 0.1)
    assert f"held-out RMSE {now['held_out_rmse'][-1]:.4f}" in text and "final cost J = " in text
    diverged = runs.run(1.0, 0.5, 50)
    assert "diverged at iteration" in training._explorer_status(diverged, runs, 0.1)
    assert "final cost" not in training._explorer_status(diverged, runs, 0.1)
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
            full = np.asarray(Image.open(BytesIO(_common.png(fig))).convert("RGB"), dtype=int)
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


def test_notebook_06_trains_without_a_cache_that_reads_globals():
    """Issue 18: a cache keyed by the settings only, reading X0, Y_norm... from globals, served stale runs after
    an earlier cell changed them. The notebook recomputes (0.1 s a run) and gives the explorer its shrinkage."""
    cells = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
             for c in json.loads(NOTEBOOK_06.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    code = "\n".join(cells)
    assert not re.search(r"lru_cache|functools\.cache|@cache\b", code)
    runs_cell = next(c for c in cells if "TrainingRuns(" in c)
    assert "shrinkage=SHRINKAGE" in runs_cell and "SHRINKAGE = " in code
