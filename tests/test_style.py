"""recsys_tutorial/style.py: the one figure style of the notebooks."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from recsys_tutorial import style  # noqa: E402


def test_apply_sets_the_rc_params_outside_ipython():
    with matplotlib.rc_context():
        style.apply()          # no IPython shell here: rcParams only, no error
        for key, value in style.RC.items():
            got = matplotlib.rcParams[key]
            assert (list(got) == list(value)) if isinstance(value, tuple) else (got == value), key
        assert matplotlib.rcParams["figure.dpi"] >= 96


def test_colour_cycle_is_okabe_ito_without_repeats():
    assert len(set(style.CATEGORICAL)) == len(style.CATEGORICAL)
    assert set(style.CATEGORICAL) <= set(style.OKABE_ITO.values())
    with matplotlib.rc_context():
        style.apply()
        fig, ax = plt.subplots()
        first = ax.plot([0, 1])[0]
        assert to_hex(first.get_color()).upper() == style.OKABE_ITO["blue"]
        plt.close(fig)


def test_sequential_cmap_is_not_red_green():
    assert style.SEQUENTIAL_CMAP in {"viridis", "cividis", "magma", "inferno", "plasma"}
    assert style.RC["image.cmap"] == style.SEQUENTIAL_CMAP


@pytest.mark.parametrize("background, ink", [("white", "black"), ("black", "white"), ("#FDE725", "black"),
                                             ("#440154", "white"), ((0.5, 0.5, 0.5, 1.0), "black")])
def test_text_color_on_picks_the_readable_ink(background, ink):
    assert style.text_color_on(background) == ink


def test_text_color_on_viridis_ends():
    cmap = plt.get_cmap("viridis")
    assert style.text_color_on(cmap(0.0)) == "white"
    assert style.text_color_on(cmap(1.0)) == "black"


def test_retina_png_doubles_the_pixels_and_keeps_the_display_size():
    from PIL import Image

    with matplotlib.rc_context():
        style.apply()
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [0, 1, 4])
        data, meta = style.retina_png(fig, bbox_inches=None)     # the whole figure, not cropped
        plt.close(fig)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    dpi = matplotlib.rcParams["figure.dpi"]
    assert image.size == (2 * 4 * dpi, 2 * 3 * dpi)
    assert meta == {"width": 4 * dpi, "height": 3 * dpi}
    assert image.mode == "P" and len(image.getcolors(1024)) <= style.PALETTE_COLORS


def test_retina_png_of_an_empty_figure_is_none():
    fig = plt.figure()
    assert style.retina_png(fig) is None
    plt.close(fig)


