"""What every widget of :mod:`recsys_tutorial.interactive` shares: pictures shown as ``<img alt>``, and
the keyboard and screen-reader parts (a visible focus ring, icon buttons named by what they do, the live
region :class:`Announcer` that also names the sliders, and sliders that refuse a value they cannot show).
"""

from __future__ import annotations

import base64
import functools
import html
import io

import numpy as np
from matplotlib.figure import Figure

from ..style import OKABE_ITO, palette_png
from ..validation import as_float

BLUE, ORANGE, VERMILLION, SKY = (OKABE_ITO[name] for name in ("blue", "orange", "vermillion", "sky blue"))
GREY = "#999999"   # the ghost of the previous setting and neutral marks, beside the palette

#: Figures are laid out at the notebooks' 100 dpi (notebook_style) and drawn at twice that for widgets.
DPI = 100


# ---------------------------------------------------------------- pictures inside widgets, with alt text


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes at twice :data:`DPI`, sharp on a high-density screen.

    Reduced to a 256-colour palette like the notebooks' static figures, with
    the fast method (:func:`style.palette_png`): under half the bytes of a
    full-colour PNG (it is also stored in the notebook's widget state), and
    quantising and encoding take ~12 ms instead of ~22 ms.
    """
    from PIL import Image

    dpi = 2 * DPI
    raw = io.BytesIO()   # a figure drawn at its own dpi reuses its renderer: setting even the same dpi costs 25 ms
    fig.savefig(raw, format="rgba", dpi="figure" if fig.dpi == dpi else dpi)
    width, height = (int(v) for v in fig.get_size_inches() * dpi)
    image = Image.frombuffer("RGBA", (width, height), raw.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB")
    return palette_png(image, fast=True)


def image_html(fig: Figure, alt: str, data: bytes | None = None) -> str:
    """``fig`` as ``<img alt=... src="data:image/png;base64,...">`` at its 1x size, at most the width shown.

    For an ``ipywidgets.HTML`` value: ``ipywidgets.Image`` has no alt text and its
    ``<img>`` is nameless for a screen reader; an HTML ``<img alt>`` is read the
    same way in JupyterLab and in Voilà. Drawn at twice the size shown (:func:`png`), unless
    ``data``, the figure's PNG drawn already, is given.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise TypeError(f"alt must be a non-empty string describing the picture; got {alt!r}")
    width, height = (round(v * DPI) for v in fig.get_size_inches())
    data = base64.b64encode(png(fig) if data is None else data).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'alt="{html.escape(" ".join(alt.split()), quote=True)}" style="max-width: 100%; height: auto">')


def show(picture, fig: Figure, alt: str) -> None:
    """Put ``fig`` with its ``alt`` text into the HTML widget ``picture`` (replacing both at once)."""
    picture.value = image_html(fig, alt)


def _title_html(title: str, badge: str = "") -> str:
    """A title (and ``badge``, HTML) on at most two lines: a longer one is cut with an ellipsis, and hovering
    shows it whole; a screen reader reads it whole."""
    return (f"<span class='recsys-title' title='{html.escape(title, quote=True)}'>{html.escape(title)}{badge}"
            "</span>")


# ---------------------------------------------------------------- keyboard and screen reader


#: The widgets' own style: a visible focus ring, icon buttons named by their description,
#: titles clamped to two lines, and tables that fit beside each other.
STYLE = """
.recsys-widget :focus-visible, body .recsys-widget input:focus-visible,
body .recsys-widget select:focus-visible, body .recsys-widget button:focus-visible,
body .recsys-widget .widget-readout:focus-visible, body .recsys-widget .noUi-handle:focus-visible {
  outline: 2px solid #1976d2 !important; outline-offset: 1px !important; }
.recsys-widget .recsys-icon { font-size: 0 !important; }
.recsys-widget .recsys-icon::before { font-size: var(--jp-widgets-font-size, 13px); }
""" + "".join(
    f'.recsys-widget .recsys-stars-{k}::before {{ content: "{"★" * k}"; content: "{"★" * k}" / ""; }}\n'
    for k in range(1, 6)) + """
.recsys-widget .recsys-remove::before { content: "✕"; content: "✕" / ""; }
.recsys-widget .recsys-title { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2;
  line-clamp: 2; overflow: hidden; }
.recsys-widget .widget-html-content { line-height: 1.4; }
.recsys-widget table.recsys-table { border-collapse: collapse; font-size: 0.95em; }
.recsys-widget table.recsys-table th, .recsys-widget table.recsys-table td {
  padding: 1px 5px; text-align: right; vertical-align: top; }
.recsys-widget table.recsys-table th:nth-child(2), .recsys-widget table.recsys-table td:nth-child(2) {
  text-align: left; }
.recsys-widget table.recsys-table { width: 100%; }
.recsys-widget table.recsys-table th:last-child, .recsys-widget table.recsys-table td:last-child {
  text-align: left; }
.recsys-widget table.recsys-table caption { text-align: left; font-weight: bold; padding-bottom: 2px; }
.recsys-widget .recsys-note { color: #595959; white-space: normal; }
.recsys-widget .recsys-live { white-space: normal; padding: 2px 0; }
.recsys-widget .widget-html-content { white-space: normal; }
.recsys-widget .recsys-sr { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
"""

#: The front end of :class:`Announcer` (an ECMAScript module run by anywidget in the browser).
_ANNOUNCER_ESM = r"""
function nameSliders(root) {
  // ipywidgets 8.1 draws a slider's handle as <div role="slider"> with no name: its visible
  // <label> is not tied to it. Tie them (and the editable readout, a text box) by aria-labelledby.
  for (const slider of root.querySelectorAll(".widget-slider")) {
    const label = slider.querySelector("label.widget-label");
    if (!label || !label.textContent.trim()) continue;
    if (!label.id) label.id = "recsys-label-" + Math.random().toString(36).slice(2, 10);
    for (const handle of slider.querySelectorAll('[role="slider"]'))
      if (handle.getAttribute("aria-labelledby") !== label.id) handle.setAttribute("aria-labelledby", label.id);
    const readout = slider.querySelector(".widget-readout");
    if (readout && readout.getAttribute("aria-labelledby") !== label.id) {
      readout.setAttribute("role", "textbox");
      readout.setAttribute("aria-labelledby", label.id);
    }
  }
}
export default {
  render({ model, el }) {
    const live = document.createElement("div");
    live.className = "recsys-live";
    live.setAttribute("role", "status");           // polite: said after what the reader is saying
    live.setAttribute("aria-live", "polite");
    live.setAttribute("aria-atomic", "true");
    const say = () => { live.textContent = model.get("message"); };
    say();
    el.appendChild(live);
    model.on("change:message", say);
    let observer = null, frame = 0, tries = 0;
    const attach = () => {                         // the enclosing widget is drawn after this part
      const root = el.closest(".recsys-widget");
      if (!root) { if (tries++ < 600) frame = requestAnimationFrame(attach); return; }
      nameSliders(root);
      observer = new MutationObserver(() => nameSliders(root));
      observer.observe(root, { childList: true, subtree: true });
    };
    attach();
    return () => {
      cancelAnimationFrame(frame);
      if (observer) observer.disconnect();
      model.off("change:message", say);
    };
  },
};
"""


@functools.cache
def _announcer_class():
    import anywidget
    import traitlets

    class Announcer(anywidget.AnyWidget):
        """A live region that says ``message`` when it changes, and names the sliders around it.

        Put one into each widget (a box with the class ``recsys-widget``). Why a
        widget of its own (anywidget: a few lines of JavaScript shipped with the
        Python): an ``ipywidgets.HTML`` value replaces its whole content, live
        region included, and screen readers do not reliably read a live region
        that arrives with its text; here the region stays and only its text
        changes. ipywidgets has no way to give a slider's handle a name, so the
        same few lines tie each slider's visible label to it (``aria-labelledby``).
        Its ``_css`` is the widgets' :data:`STYLE`.
        """

        _esm = _ANNOUNCER_ESM
        _css = STYLE
        message = traitlets.Unicode("").tag(sync=True)

    return Announcer


def _announcer(message: str = ""):
    """A new :class:`Announcer`."""
    return _announcer_class()(message=message)


def _icon_button(name: str, icon: str, **layout):
    """A button whose accessible name (and tooltip) is ``name``, drawn as the icon class ``icon``."""
    import ipywidgets as widgets

    button = widgets.Button(description=name, layout=widgets.Layout(**layout))
    button.add_class("recsys-icon")
    button.add_class(icon)
    return button


def _slider_value(value, name: str, low: float, high: float, step: float, *, log: bool = False) -> float:
    """A slider's starting ``value``, one the slider can show: refused, never clamped or moved to a step.

    ``log``: the slider moves in powers of ten, ``low``, ``high`` and ``step`` being exponents.
    """
    name = f"{name} (a value of its slider)"
    if log:
        value = as_float(value, name, low=10.0 ** low, high=10.0 ** high)
        position = np.log10(value)
    else:
        value = position = as_float(value, name, low=low, high=high)
    k = (position - low) / step
    if abs(k - round(k)) > 1e-9:
        steps = range(int(round((high - low) / step)) + 1)
        shown = [10.0 ** (low + i * step) if log else low + i * step for i in steps]
        near = min(shown, key=lambda v: abs(v - value))
        apart = f"a factor 10^{step:g} apart" if log else f"in steps of {step:g}"
        raise ValueError(f"{name} must be one the slider shows, {shown[0]:.3g} to {shown[-1]:.3g} {apart}; "
                         f"got {value!r}, nearest {near:.3g}")
    return value
