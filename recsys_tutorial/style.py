"""The figure style of every notebook, in one place.

Each notebook's setup cell calls it once, after ``%matplotlib inline``::

    from . import style as notebook_style
    notebook_style.apply()

What it sets, and why:

* **Sharp on high-density screens, small on disk.** Figures are drawn at
  ``figure.dpi`` 100 (a 6-inch figure is 600 screen pixels wide: large enough
  to read, narrow enough for the notebook column) and stored as *retina* PNGs:
  twice the pixels, shown at the same size, so lines and text stay crisp on a
  laptop's 2x screen. Twice the pixels would make the committed notebooks about
  2.5 times larger, so each PNG is reduced to a 256-colour palette (a plot
  has far fewer colours than that; the result looks the same and is as small
  as the old 80-dpi images). PNG rather than SVG because a scatter of 1682
  movies or a picture of the rating matrix would make an SVG, and the
  notebook, large. Keep figures at most about 9.5 inches wide: wider ones are
  scaled down to the notebook column and their text shrinks with them.
* **Readable text.** 11-point text, 12-point titles, 10-point tick labels and
  legends. Labels written with ``fontsize=`` should not go below 9.
* **Colour-blind safe.** Lines and bars cycle through the Okabe-Ito palette
  (:data:`CATEGORICAL`), which stays distinguishable with every common colour
  vision deficiency and in greyscale; images default to ``viridis``, a
  sequential map whose lightness rises steadily (no red against green).
  For text drawn on a coloured cell, :func:`text_color_on` picks black or white.
* **Alt text on every figure.** Under IPython a figure is shown as an HTML
  ``<img alt=...>`` (:func:`figure_html`), the only form whose alt text
  JupyterLab, Voilà and nbconvert all keep; :func:`describe` attaches the text,
  and :mod:`recsys_tutorial.plots` writes it from the data each figure draws.

Outside Jupyter (a script, a test) :func:`apply` sets the same ``rcParams``
and skips the inline-backend part.
"""

from __future__ import annotations

import base64
import io
from types import MappingProxyType

__all__ = ["OKABE_ITO", "CATEGORICAL", "SEQUENTIAL_CMAP", "FIGURE_FORMAT", "MISSING_ALT", "RC", "apply", "describe",
           "alt_text", "figure_html", "retina_png", "palette_png", "text_color_on"]

#: The Okabe-Ito palette (Okabe & Ito, *Color Universal Design*, 2008), by name.
OKABE_ITO = MappingProxyType({
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
})

#: The colour cycle for lines, bars and categories (``C0``, ``C1``, ... in matplotlib):
#: Okabe-Ito, strongest contrast on white first; yellow and black last.
CATEGORICAL = tuple(OKABE_ITO[name] for name in (
    "blue", "orange", "bluish green", "vermillion", "reddish purple", "sky blue", "yellow", "black"))

#: The default colour map for images and colour-coded values.
SEQUENTIAL_CMAP = "viridis"

#: How the inline backend stores figures: PNG at twice ``figure.dpi``, shown at 1x.
FIGURE_FORMAT = "retina"

#: Colours kept in each stored PNG (see :func:`retina_png`).
PALETTE_COLORS = 256


def _rc() -> dict:
    from cycler import cycler

    return {
        "figure.dpi": 100,
        "figure.figsize": (6.0, 3.5),
        "savefig.dpi": "figure",
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 10,
        "legend.framealpha": 0.9,
        "axes.prop_cycle": cycler(color=list(CATEGORICAL)),
        "image.cmap": SEQUENTIAL_CMAP,
    }


#: The ``rcParams`` :func:`apply` sets (a read-only view).
RC = MappingProxyType(_rc())


def apply() -> None:
    """Set the notebooks' figure style: ``rcParams`` and, under IPython, retina PNG output.

    Call it after ``%matplotlib inline`` (which would otherwise reset the figure format).
    """
    import matplotlib as mpl

    mpl.rcParams.update(RC)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure
    from matplotlib_inline.config import InlineBackend

    backend = InlineBackend.instance()
    backend.figure_formats = {FIGURE_FORMAT}      # = %config InlineBackend.figure_formats = ["retina"]
    kwargs = dict(backend.print_figure_kwargs)
    formatters = shell.display_formatter.formatters
    formatters["image/png"].pop(Figure, None)     # a figure is shown as <img alt=...> only: see figure_html
    formatters["text/html"].for_type(Figure, lambda fig: figure_html(fig, **kwargs))


#: The attribute :func:`describe` sets on a figure.
_ALT = "_recsys_tutorial_alt"

#: The alt text :func:`figure_html` gives a figure that has none: it says so out loud, and the tests
#: (``tests/test_notebooks.py``) and the reading copy (``make html``) refuse it.
MISSING_ALT = "A figure without a description (give it one with recsys_tutorial.style.describe)."


def describe(fig, alt: str):
    """Attach alt text to ``fig`` (what it shows and its key numbers); returns ``fig``.

    Every figure a notebook shows gets one, generated from the data it draws,
    so that a screen reader reads it in JupyterLab, in Voilà and in the HTML
    copy. :mod:`recsys_tutorial.plots` builds the notebooks' figures with it.
    A pyplot figure whose ``describe(...)`` is a cell's last line is shown
    twice (as the cell's value and by the inline backend): end that line with
    ``;``.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib figure or ``alt`` not a string.
    ValueError
        If ``alt`` is blank.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    if not isinstance(alt, str):
        raise TypeError(f"alt must be a string describing the figure; got {type(alt).__name__}")
    if not alt.strip():
        raise ValueError("alt must describe the figure (what it shows and its key numbers); got a blank string")
    setattr(fig, _ALT, " ".join(alt.split()))
    return fig


def alt_text(fig) -> str | None:
    """The alt text :func:`describe` attached to ``fig``, or None."""
    return getattr(fig, _ALT, None)


def figure_html(fig, **kwargs) -> str | None:
    """A figure as ``<img alt=... src="data:image/png;base64,..." width height>``: the retina PNG of
    :func:`retina_png` with the figure's alt text.

    Why HTML and not ``image/png`` with ``metadata["alt"]``: JupyterLab 4.6 and
    Voilà 0.5 never put that metadata on the ``<img>``, and nbconvert's default
    template drops it; an HTML ``<img alt>`` is read the same way everywhere
    (measured: see ``benchmarks/README.md``, "Alt text"). A figure without
    alt text gets a stand-in that says so, which the tests refuse in the
    committed notebooks.
    """
    import html

    found = retina_png(fig, **kwargs)
    if found is None:
        return None
    data, size = found
    alt = alt_text(fig) or MISSING_ALT
    return (f'<img src="data:image/png;base64,{data}" width="{size["width"]}" height="{size["height"]}" '
            f'alt="{html.escape(alt, quote=True)}"/>')


def retina_png(fig, **kwargs):
    """A figure as a pixel-doubled PNG with a 256-colour palette, for the notebook.

    Returns ``(base64 text, {"width": w, "height": h})`` with the display size
    (half the pixels), as IPython's own retina formatter does, or None for an
    empty figure. ``kwargs`` go to ``savefig`` (IPython passes ``bbox_inches``).
    A figure with transparent parts is stored as it is, without the palette.
    """
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    data = print_figure(fig, fmt="retina", **kwargs)
    if data is None:
        return None
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:      # fully opaque
        image = image.convert("RGB")
    if image.mode == "RGB":
        data = palette_png(image)
    return base64.b64encode(data).decode("ascii"), {"width": width // 2, "height": height // 2}


def palette_png(image, *, fast=False) -> bytes:
    """An RGB ``PIL.Image`` as PNG bytes with a :data:`PALETTE_COLORS`-colour palette, no dithering.

    By default the best palette and the smallest file (median cut, optimised
    PNG) for figures stored in a notebook; ``fast=True`` (octree, least
    compression, ~12 ms for a 1880 x 640 picture) for widgets that redraw
    while a learner waits (:func:`interactive._common.png`).
    """
    from PIL import Image

    method = Image.Quantize.FASTOCTREE if fast else Image.Quantize.MEDIANCUT
    out = io.BytesIO()
    image.quantize(colors=PALETTE_COLORS, method=method, dither=Image.Dither.NONE).save(
        out, format="PNG", **({"compress_level": 1} if fast else {"optimize": True}))
    return out.getvalue()


def text_color_on(rgba) -> str:
    """``"black"`` or ``"white"``, whichever reads better on a background colour.

    ``rgba`` is anything :func:`matplotlib.colors.to_rgba` accepts, e.g. ``cmap(norm(value))``.
    Uses the WCAG relative luminance: black on backgrounds lighter than about 18 % grey.
    """
    from matplotlib.colors import to_rgba

    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = to_rgba(rgba)
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05): equal at L ~ 0.179
    return "black" if luminance > 0.179 else "white"


def literal(text: str) -> str:
    """``text`` for matplotlib to draw as it is: each ``$`` escaped, so that a movie title such as
    "$9.99 (2008)" or "$x^{$" is not parsed as mathtext (which fails, or draws something else)."""
    return str(text).replace("$", r"\$")
