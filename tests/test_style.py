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




# ---------------------------------------------------------------- alt text


def test_describe_attaches_the_alt_text_on_one_line_and_returns_the_figure():
    fig = plt.figure()
    assert style.alt_text(fig) is None
    assert style.describe(fig, "Line chart of J:\n  it falls  from 45,910 to 29,372.") is fig
    assert style.alt_text(fig) == "Line chart of J: it falls from 45,910 to 29,372."
    plt.close(fig)


@pytest.mark.parametrize("fig, alt, error", [("not a figure", "a chart", TypeError), (None, "a chart", TypeError),
                                             ("fig", 42, TypeError), ("fig", "   ", ValueError),
                                             ("fig", "", ValueError)])
def test_describe_refuses_what_is_not_a_figure_or_not_a_description(fig, alt, error):
    figure = plt.figure()
    with pytest.raises(error):
        style.describe(figure if fig == "fig" else fig, alt)
    assert style.alt_text(figure) is None
    plt.close(figure)


def _img_attributes(html: str) -> dict:
    from html.parser import HTMLParser

    found = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                found.update(attrs)

    Parser().feed(html)
    return found


def test_figure_html_is_an_img_with_the_alt_text_escaped_and_the_retina_png():
    from PIL import Image

    with matplotlib.rc_context():
        style.apply()
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        style.describe(fig, 'Line "y = x" from 0 to 1 <rising> & straight')
        html = style.figure_html(fig, bbox_inches=None)
        plt.close(fig)
    attrs = _img_attributes(html)
    assert attrs["alt"] == 'Line "y = x" from 0 to 1 <rising> & straight'       # escaped, read back intact
    assert '"y = x"' not in html and "<rising>" not in html
    dpi = matplotlib.rcParams["figure.dpi"]
    assert (int(attrs["width"]), int(attrs["height"])) == (4 * dpi, 3 * dpi)
    assert attrs["src"].startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(attrs["src"].split(",", 1)[1])))
    assert image.size == (2 * 4 * dpi, 2 * 3 * dpi)


def test_figure_html_without_alt_text_says_so_out_loud():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert _img_attributes(style.figure_html(fig))["alt"] == style.MISSING_ALT
    plt.close(fig)
    assert style.figure_html(plt.figure()) is None       # an empty figure shows nothing, as IPython's own printer


def test_apply_shows_figures_as_img_alt_under_ipython():
    """Under IPython a figure is displayed as text/html <img alt> only (JupyterLab ignores image/png alt)."""
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    try:
        with matplotlib.rc_context():
            style.apply()
            fig, ax = plt.subplots()
            ax.plot([0, 1])
            style.describe(fig, "A rising line from 0 to 1.")
            data, _ = shell.display_formatter.format(fig)
            plt.close(fig)
    finally:
        shell.display_formatter.formatters["text/html"].pop(Figure, None)
        InteractiveShell.clear_instance()
    assert "image/png" not in data
    assert _img_attributes(data["text/html"])["alt"] == "A rising line from 0 to 1."


def test_literal_escapes_dollars_for_matplotlib():
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    assert style.literal("$9.99 (2008)") == r"\$9.99 (2008)" and style.literal("Heat") == "Heat"
    fig = Figure()
    text = fig.text(0, 0, style.literal("$x^{$"))
    FigureCanvasAgg(fig).draw()                           # "$x^{$" itself fails to parse as mathtext
    assert text.get_text() == r"\$x^{\$"
