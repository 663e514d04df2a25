"""recsys_tutorial/interactive/descent.py: the one-rating picture of notebook 06 runs helpers.gradient_descent,
shows the overshoots its text describes, and its explorer redraws and describes each α."""

from __future__ import annotations


import numpy as np
import pytest

import helpers as h
from fakes import img_of, renderer_of
from recsys_tutorial import interactive as ia
from recsys_tutorial.interactive import descent
from recsys_tutorial.style import alt_text


def test_descent_path_uses_helpers_and_finds_the_minimum():
    path, J, diverged = ia.descent_path(0.1, 200)
    assert not diverged and path.shape == (201, 2)
    np.testing.assert_allclose(path[-1], [np.sqrt(3), np.sqrt(3)], atol=1e-6)     # x = θ = √(y − λ)
    assert J[1] - J[0] > -0.05                                                    # the flat start by the saddle
    mirror, _, _ = ia.descent_path(0.1, 200, start=(-0.15, -0.05))
    np.testing.assert_allclose(mirror[-1], -path[-1], atol=1e-6)
    assert ia.descent_path(0.6, 60)[2] or ia.descent_verdict(ia.descent_path(0.6, 60)[1], False) == "bounces"
    assert ia.descent_verdict(ia.descent_path(0.55, 60)[1], ia.descent_path(0.55, 60)[2]) == "diverges"
    assert ia.descent_verdict(ia.descent_path(0.4, 60)[1], False) == "bounces"
    assert ia.descent_verdict(ia.descent_path(0.02, 5)[1], False) == "on its way"


def test_descent_figure_titles_compare_alpha_with_two_over_L():
    fig = ia.descent_figure([0.1, 0.4])
    maps = fig.axes[0::2]
    assert [ax.get_title() for ax in maps] == ["α = 0.1 < 2/L = 0.333: settles", "α = 0.4 > 2/L = 0.333: bounces"]
    axis, J = descent._cost_grid(4.0, 1.0)
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
        np.testing.assert_allclose(shown, np.clip(path[:, 0] - np.sqrt(3), -descent.DESCENT_ZOOM, descent.DESCENT_ZOOM))
    zigzag = np.sign(strips[1].lines[0].get_ydata())
    assert np.sum(zigzag[5:20] * np.roll(zigzag, 1)[5:20] < 0) >= 12          # 0.3: across at almost every step
    assert "56 times" in strips[1].get_title() and "56 times" in alt_text(fig)
    assert np.all(np.abs(strips[0].lines[0].get_ydata()) < 1e-3 * descent.DESCENT_ZOOM
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
