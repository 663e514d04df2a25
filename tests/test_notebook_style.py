"""notebook_style.py: the one figure style of the notebooks, and the notebooks' use of it."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from recsys_tutorial import style as notebook_style  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def test_apply_sets_the_rc_params_outside_ipython():
    with matplotlib.rc_context():
        notebook_style.apply()          # no IPython shell here: rcParams only, no error
        for key, value in notebook_style.RC.items():
            got = matplotlib.rcParams[key]
            assert (list(got) == list(value)) if isinstance(value, tuple) else (got == value), key
        assert matplotlib.rcParams["figure.dpi"] >= 96


def test_colour_cycle_is_okabe_ito_without_repeats():
    assert len(set(notebook_style.CATEGORICAL)) == len(notebook_style.CATEGORICAL)
    assert set(notebook_style.CATEGORICAL) <= set(notebook_style.OKABE_ITO.values())
    with matplotlib.rc_context():
        notebook_style.apply()
        fig, ax = plt.subplots()
        first = ax.plot([0, 1])[0]
        assert to_hex(first.get_color()).upper() == notebook_style.OKABE_ITO["blue"]
        plt.close(fig)


def test_sequential_cmap_is_not_red_green():
    assert notebook_style.SEQUENTIAL_CMAP in {"viridis", "cividis", "magma", "inferno", "plasma"}
    assert notebook_style.RC["image.cmap"] == notebook_style.SEQUENTIAL_CMAP


@pytest.mark.parametrize("background, ink", [("white", "black"), ("black", "white"), ("#FDE725", "black"),
                                             ("#440154", "white"), ((0.5, 0.5, 0.5, 1.0), "black")])
def test_text_color_on_picks_the_readable_ink(background, ink):
    assert notebook_style.text_color_on(background) == ink


def test_text_color_on_viridis_ends():
    cmap = plt.get_cmap("viridis")
    assert notebook_style.text_color_on(cmap(0.0)) == "white"
    assert notebook_style.text_color_on(cmap(1.0)) == "black"


def test_retina_png_doubles_the_pixels_and_keeps_the_display_size():
    from PIL import Image

    with matplotlib.rc_context():
        notebook_style.apply()
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [0, 1, 4])
        data, meta = notebook_style.retina_png(fig, bbox_inches=None)     # the whole figure, not cropped
        plt.close(fig)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    dpi = matplotlib.rcParams["figure.dpi"]
    assert image.size == (2 * 4 * dpi, 2 * 3 * dpi)
    assert meta == {"width": 4 * dpi, "height": 3 * dpi}
    assert image.mode == "P" and len(image.getcolors(1024)) <= notebook_style.PALETTE_COLORS


def test_retina_png_of_an_empty_figure_is_none():
    fig = plt.figure()
    assert notebook_style.retina_png(fig) is None
    plt.close(fig)


def _setup_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_setup_is_one_line_that_applies_the_shared_style(path):
    first = _setup_cell(path).split("\n")[0]
    assert first.startswith("from recsys_tutorial.notebook import "), \
        f"{path.name}: the setup cell starts with the one-line setup (recsys_tutorial/notebook.py)"
    text = path.read_text(encoding="utf-8")
    assert "%matplotlib" not in text and "style.apply()" not in text, \
        f"{path.name}: the one-line setup turns on the inline backend and the style"
    assert '\\"figure.dpi\\"' not in text and "'figure.dpi'" not in text, \
        f"{path.name}: figure.dpi is set in recsys_tutorial/style.py only"
