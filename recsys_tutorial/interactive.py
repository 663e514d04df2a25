"""The notebooks' interactive parts: the widgets and the pictures they redraw.

====  ====================================  ==========================================
 nb   what                                  functions
====  ====================================  ==========================================
 06   λ, α and iterations explorer          :class:`TrainingRuns`, :class:`TrainingPicture`,
                                            :func:`build_training_explorer`
 06   gradient descent you can steer        :func:`descent_path`, :func:`descent_figure`,
                                            :func:`build_descent_explorer`
 07   your own ratings, live                :func:`taste_figure`, :class:`RatingWidget`
====  ====================================  ==========================================

Everything a learner computes lives in :mod:`helpers`; this module only arranges
widgets and draws. Pictures are drawn with :class:`matplotlib.figure.Figure`, never
pyplot: pyplot inside a widget callback gave blank PNGs in JupyterLab (see
``tests/test_browser.py``). Colours are the Okabe-Ito palette, safe for colour-blind
readers, and every curve also differs by line style or marker.

Every argument is checked on entry with :mod:`recsys_tutorial.validation`: a
setting outside a slider's range (or off its steps) is refused with a message,
never clamped, and a widget without what it needs refuses to be built.

Accessible by construction (measured in JupyterLab 4.6 and Voilà 0.5 with axe-core
and Chromium's accessibility tree, ``tests/test_browser.py``):

* pictures are ``<img alt=...>`` in an HTML widget, the alt text generated from the
  numbers drawn and replaced at every redraw (``ipywidgets.Image`` has no alt);
* buttons are named by what they do ("rate Star Wars (1977) 4 stars", "remove
  Star Wars (1977)"): the name is the button's description, shown as ★ or ✕ by
  CSS (``content: "★" / ""`` gives the glyph no name of its own);
* every text box, list and slider has a visible label that is also its name; the
  sliders' labels are tied to their handles by :class:`Announcer`, because
  ipywidgets 8.1 leaves the ``role=slider`` handle nameless;
* a live region (:class:`Announcer`) says what changed after each redraw
  ("top 10 updated: ...");
* a 2-pixel focus ring of 4.6:1 contrast (ipywidgets' own is 2.2:1).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import helpers
from .observed import ObservedRatings, compiled_kernel
from .style import OKABE_ITO, alt_text, describe, palette_png
from .validation import as_bool, as_float, as_int, as_ratings, as_titles, as_vector

__all__ = ["TrainingRuns", "TrainingPicture", "build_training_explorer", "descent_path", "descent_figure",
           "build_descent_explorer", "taste_figure", "RatingWidget", "Announcer", "image_html"]

BLUE, ORANGE, VERMILLION, SKY = (OKABE_ITO[name] for name in ("blue", "orange", "vermillion", "sky blue"))
GREY = "#999999"   # the ghost of the previous setting and neutral marks, beside the palette
TEXT_GREY = "#595959"   # secondary text: 7:1 on white

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


def __getattr__(name):
    """``Announcer`` is made on first use: anywidget (and with it ipywidgets) loads only then."""
    if name == "Announcer":
        return _announcer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


# ---------------------------------------------------------------- 06: the λ, α, iterations explorer


class TrainingRuns:
    """Gradient descent from one seeded start on a fixed train / held-out split, kept per (λ, α).

    The ratings of users 1.. are split once (``validation`` of them held out, seeded);
    yours (user 0) all stay in training. Ratings are normalised with the shrunk
    means of the training part (``shrinkage``, as :func:`helpers.normalize_ratings`).
    :meth:`run` trains with :func:`helpers.gradient_descent`
    itself (its ``callback`` records, per iteration, the training and held-out RMSE
    and, every 10 iterations, my predictions; its ``history`` resumes a run when
    more iterations are asked for). The last ``keep`` runs are kept (about half a
    megabyte each). Built for many runs, it loads numba's compiled cost kernel at
    once (:func:`recsys_tutorial.observed.compiled_kernel`): 100 iterations then
    take about 0.12 s instead of 0.25 s.
    """

    def __init__(self, Y, R, my_ratings, *, num_features=10, shrinkage=10.0, validation=0.1, seed=0, keep=64):
        Y_all, R_all = helpers.add_user(my_ratings, Y, R)
        self.validation = as_float(validation, "validation (the share of ratings held out)", low=0, high=0.5,
                                   low_open=True)
        rows, cols = np.nonzero(R_all)
        held = (np.random.default_rng(as_int(seed, "seed", low=0)).random(rows.size) < self.validation) & (cols > 0)
        if not held.any() or held.all():
            raise ValueError(f"validation={self.validation:g} holds out {int(held.sum())} of the {rows.size} "
                             "ratings: the explorer needs ratings on both sides (more ratings, or another share)")
        self.R_train = R_all.copy()
        self.R_train[rows[held], cols[held]] = False
        self.Y_norm, self.means = helpers.normalize_ratings(Y_all, self.R_train, shrinkage)
        self.n_train = int(self.R_train.sum())
        self.held_out = ObservedRatings(rows[held], cols[held], Y_all[rows[held], cols[held]], Y_all.shape)
        self.X0, self.Theta0 = helpers.init_parameters(*Y_all.shape, num_features, seed=seed)
        self.mine = R_all[:, 0]
        self.keep = as_int(keep, "keep", low=1)
        self._runs: dict = {}
        compiled_kernel()   # every slider release trains: load numba's kernel now (~0.5 s, once), not mid-drag

    def _new(self, lambda_, alpha):
        return {"lambda_": lambda_, "alpha": alpha, "X": self.X0, "Theta": self.Theta0,
                "J": [], "train_rmse": [], "held_out_rmse": [], "mine": {}, "diverged_at": None}

    def _recorder(self, run, deadline):
        """The ``callback`` of :func:`helpers.gradient_descent`: records iteration t, stops after ``deadline``."""
        h, lam = self.held_out, run["lambda_"]
        rows, cols, offset = np.asarray(h.rows), np.asarray(h.cols), self.means[h.rows] - h.values
        x_held, theta_held = np.empty((rows.size, self.X0.shape[1])), np.empty((rows.size, self.X0.shape[1]))

        def record(t, J, X, Theta):
            penalty = lam * (np.einsum("ij,ij->", X, X) + np.einsum("ij,ij->", Theta, Theta))
            np.take(X, rows, axis=0, out=x_held)          # into buffers made once: a third faster than X[rows]
            np.take(Theta, cols, axis=0, out=theta_held)
            err = np.einsum("ij,ij->i", x_held, theta_held) + offset
            run["train_rmse"].append(np.sqrt(max(2 * J - penalty, 0.0) / self.n_train))
            run["held_out_rmse"].append(np.sqrt(np.mean(err ** 2)))
            if t % 10 == 0:   # kept every 10 iterations, as the iterations slider moves
                run["mine"][t] = X @ Theta[0] + self.means
            return time.perf_counter() > deadline
        return record

    def _train(self, run, iterations, deadline) -> None:
        """Step ``run`` towards ``iterations`` until ``deadline``, resuming where it stopped."""
        done = len(run["J"]) - 1
        try:
            run["X"], run["Theta"], J = helpers.gradient_descent(
                run["X"], run["Theta"], self.Y_norm, self.R_train, run["lambda_"], run["alpha"],
                iterations - max(done, 0), sparse=True, callback=self._recorder(run, deadline),
                history=run["J"] or None)
        except helpers.DivergenceError as err:   # the divergence is part of the picture, not an error here
            run["diverged_at"], J = err.iteration, err.J_history
        run["J"] = list(J)

    def run(self, lambda_, alpha, iterations, *, seconds=None) -> dict:
        """The run for (λ, α) up to ``iterations``: a dict of arrays ``J``, ``train_rmse``,
        ``held_out_rmse`` (iterations + 1 entries, fewer if it diverged), ``diverged_at``
        (an iteration or None), ``mine`` (my predictions after ``iterations`` if that is a
        multiple of 10 and the run did not diverge, else None) and ``complete``. With
        ``seconds``, stepping stops after about that long (``complete`` False; call again).
        """
        lambda_ = as_float(lambda_, "lambda_", low=0)
        alpha = as_float(alpha, "alpha (the learning rate)", low=0, low_open=True)
        iterations = as_int(iterations, "iterations", low=0)
        deadline = time.perf_counter() + (np.inf if seconds is None else as_float(seconds, "seconds", low=0))
        run = self._runs.pop((lambda_, alpha), None) or self._new(lambda_, alpha)
        self._runs[lambda_, alpha] = run            # the most recently used last
        while len(self._runs) > self.keep:
            self._runs.pop(next(iter(self._runs)))
        if len(run["J"]) <= iterations and run["diverged_at"] is None:
            self._train(run, iterations, deadline)
        n = iterations + 1
        complete = len(run["J"]) >= n or run["diverged_at"] is not None
        return {"lambda_": lambda_, "alpha": alpha, "iterations": iterations, "diverged_at": run["diverged_at"],
                **{k: np.array(run[k][:n]) for k in ("J", "train_rmse", "held_out_rmse")}, "complete": complete,
                "mine": run["mine"].get(iterations) if complete and run["diverged_at"] is None else None}


class TrainingPicture:
    """The cost curve (left) and train / held-out RMSE (right) of :meth:`TrainingRuns.run`, redrawn in place.

    The figure, its axes and lines are made once; :meth:`update` changes only
    data, limits, titles and legends, which draws about 60 ms faster than a new
    figure (the explorer redraws at every slider release). The previous run is
    drawn as a faint grey ghost; axes are fixed: iterations 0..``max_iterations``,
    ``rmse_limits``, and the ``cost_limits`` given to :meth:`update` (the explorer
    fixes them for all its settings). A divergence is marked where the curve leaves
    the picture; iterations where the cost rose are dotted. The legends sit under
    the axes, off the curves. :meth:`alt` describes the picture in words.

    :meth:`png` draws it for a widget. The axes, ticks and labels are drawn once per
    cost axis and kept as pixels; each redraw puts back those pixels and draws only
    what changes on them (lines, titles, legends: matplotlib's "blitting"), 70 -> 30 ms.
    """

    def __init__(self, *, max_iterations=200, rmse_limits=(0.6, 1.2)):
        # Made at the 2x resolution :func:`png` draws at: a figure drawn at its own dpi reuses its
        # renderer and text layouts (25 ms a redraw). No constrained layout: it doubles the drawing time.
        self.figure = fig = Figure(figsize=(9.4, 3.6), dpi=2 * DPI)
        self.ax_cost, self.ax_rmse = fig.subplots(
            1, 2, gridspec_kw=dict(left=0.085, right=0.985, bottom=0.32, top=0.91, wspace=0.22))
        ghost = dict(color=GREY, lw=1.2, ls="--", alpha=0.7)
        self.ghost = [self.ax_cost.plot([], **ghost)[0], *(self.ax_rmse.plot([], **ghost)[0] for _ in range(2))]
        self.now = [self.ax_cost.plot([], color=BLUE, lw=2, label="cost J")[0],
                    self.ax_rmse.plot([], color=BLUE, lw=2, label="training RMSE")[0],
                    self.ax_rmse.plot([], color=VERMILLION, lw=2, ls="-.", label="held-out RMSE")[0]]
        self.rises = self.ax_cost.plot([], [], "o", ms=3.5, color=ORANGE, label="cost rose", zorder=3)[0]
        self.best = self.ax_rmse.plot([], [], "v", color=VERMILLION, ms=7, label="lowest held-out")[0]
        self.diverged = self.ax_cost.axvline(0, color=VERMILLION, ls=":", lw=1.5, visible=False)
        self.diverged_text = self.ax_cost.annotate("", (0, 0.5), xycoords=("data", "axes fraction"), xytext=(6, 0),
                                                   textcoords="offset points", color=VERMILLION, fontsize=9)
        self.ax_cost.set(xlim=(0, max_iterations), xlabel="iteration", ylabel="cost J")
        self.ax_rmse.set(xlim=(0, max_iterations), ylim=rmse_limits, xlabel="iteration", ylabel="RMSE (stars)")
        self.ax_rmse.set_title("error per rating: training vs held out", y=1.0, pad=6)
        FigureCanvasAgg(fig)
        self._background = None                  # ((canvas, cost axis limits), the pixels drawn)
        for artist in self._changing():
            artist.set_animated(True)          # left out of canvas.draw(): drawn by png() on the kept pixels
        for ax in (self.ax_cost, self.ax_rmse):   # titles and axis labels placed once, not at every draw
            ax.xaxis.set_label_coords(0.5, -0.15)  # from the tick labels' extents (a fifth of the drawing time)
            ax.yaxis.set_label_coords(-0.175 if ax is self.ax_cost else -0.125, 0.5)

    def update(self, now: dict, before: dict | None = None, *, cost_limits=None) -> Figure:
        """Show the run ``now`` (and ``before`` as the ghost); returns the figure."""
        keys = ("J", "train_rmse", "held_out_rmse")
        for line, key in zip(self.ghost, keys):
            line.set_data(*_curve(before[key] if before is not None else []))
            line.set_label(_ghost_label(before, now) if before is not None and key != "held_out_rmse" else "_ghost")
        for line, key in zip(self.now, keys):
            line.set_data(*_curve(now[key]))
        up = np.flatnonzero(np.diff(now["J"]) > 0) + 1          # iterations where the cost rose
        self.rises.set_data(up, np.asarray(now["J"])[up])
        t = now["diverged_at"]
        self.diverged.set_visible(t is not None)
        self.diverged.set_xdata([t or 0, t or 0])
        self.diverged_text.xy = (t or 0, 0.5)
        self.diverged_text.set_text(f"diverged at\niteration {t}" if t is not None else "")
        held = np.asarray(now["held_out_rmse"])
        best = int(np.argmin(held)) if t is None and held.size > 1 else None
        self.best.set_data([best] if best is not None else [], [held[best]] if best is not None else [])
        if cost_limits is not None:
            self.ax_cost.set_ylim(cost_limits)
        else:                                               # nobody fixed it: fit the finite values
            self.ax_cost.relim()
            self.ax_cost.autoscale_view(scalex=False)
        self.ax_cost.set_title(f"cost J, λ = {now['lambda_']:g}, α = {now['alpha']:.3g}"
                               + (f" ({up.size} rises)" if up.size else ""), y=1.0, pad=6)
        for ax in (self.ax_cost, self.ax_rmse):   # legend under the axes: the lines that show something
            shown = [line for line in ax.lines if len(line.get_xdata()) and not line.get_label().startswith("_")]
            if shown:
                ax.legend(handles=shown, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2,
                          frameon=False, handlelength=2.5, columnspacing=1.2).set_animated(True)
            elif ax.get_legend() is not None:
                ax.get_legend().remove()
        return self.figure

    def _changing(self) -> list:
        """What :meth:`update` changes, in drawing order: lines and marks, the cost's title, the legends."""
        legends = [ax.get_legend() for ax in (self.ax_cost, self.ax_rmse) if ax.get_legend() is not None]
        return [*self.ghost, *self.now, self.rises, self.best, self.diverged, self.diverged_text,
                self.ax_cost.title, *legends]

    def png(self) -> bytes:
        """The picture as :func:`png` draws it (twice :data:`DPI`, a 256-colour palette), redrawing only what
        changed: the rest is drawn once per cost axis and kept."""
        from PIL import Image

        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        key = (id(canvas), tuple(self.ax_cost.get_ylim()))
        if self._background is None or self._background[0] != key:
            canvas.draw()                                     # everything but the changing artists
            self._background = (key, canvas.copy_from_bbox(self.figure.bbox))
        else:
            canvas.restore_region(self._background[1])
        for artist in self._changing():
            if artist.get_visible():
                artist.axes.draw_artist(artist)
        width, height = (int(v) for v in self.figure.bbox.size)
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        return palette_png(image.convert("RGB"), fast=True)

    @staticmethod
    def alt(now: dict, before: dict | None = None) -> str:
        """The picture of :meth:`update` in words: what it shows and its key numbers."""
        J, n, t = np.asarray(now["J"]), now["iterations"], now["diverged_at"]
        setting = f"λ = {now['lambda_']:g}, α = {now['alpha']:.3g}"
        text = f"Two line charts of gradient descent at {setting}, {n} iterations. Left, the cost J: "
        if t is not None:
            text += f"it starts at {J[0]:,.0f} and diverges at iteration {t}, where it reaches {J[-1]:.3g}. "
        else:
            rises = int(np.sum(np.diff(J) > 0))
            text += f"it falls from {J[0]:,.0f} to {J[-1]:,.0f}" + (f" and rises at {rises} of the {n} steps. "
                                                                  if rises else ", at every step. ")
            held = np.asarray(now["held_out_rmse"])
            best = int(np.argmin(held))
            text += (f"Right, the error per rating in stars: training RMSE from {now['train_rmse'][0]:.2f} to "
                     f"{now['train_rmse'][-1]:.2f}, held-out RMSE from {held[0]:.2f} to {held[-1]:.2f}, "
                     f"lowest {held[best]:.3f} at iteration {best}. ")
        if before is not None:
            text += (f"Grey dashed: the previous setting, {_ghost_label(before, now)[8:-1]}, which ended at "
                     f"J = {before['J'][-1]:,.0f}.")
        return text


def _ghost_label(before: dict, now: dict) -> str:
    """The ghost's legend entry: the setting it differs in."""
    if (before["lambda_"], before["alpha"]) == (now["lambda_"], now["alpha"]):
        return f"before ({before['iterations']} iterations)"
    return f"before (λ = {before['lambda_']:g}, α = {before['alpha']:.3g})"


def _curve(values):
    """``(iterations, values)`` of one recorded curve, for ``Line2D.set_data``."""
    values = np.asarray(values, dtype=float)
    return np.arange(values.size), values


def _explorer_status(run: dict, runs: TrainingRuns, seconds: float) -> str:
    """The explorer's numbers (or what went wrong), and where they come from."""
    lam, alpha, n = run["lambda_"], run["alpha"], run["iterations"]
    source = (f"<span class='recsys-note'>Trained on {100 * (1 - runs.validation):.0f} % of the ratings "
              f"({runs.n_train:,}); the other {runs.held_out.n_ratings:,} are held out to measure the error. So J "
              "and my top 5 differ from <code>show_training</code>'s, which trains on all of them.</span>")
    if run["diverged_at"] is not None:
        text = (f"<b>Gradient descent diverged at iteration {run['diverged_at']}</b> "
                f"(λ = {lam:g}, α = {alpha:.3g}): "
                f"each step overshoots the valley and lands higher on the other side. The learning rate α is "
                f"too large for this cost; try α = {alpha / 10:.3g}.")
    else:
        best = int(np.argmin(run["held_out_rmse"]))
        text = (f"final cost J = {run['J'][-1]:.2f} &nbsp;(λ = {lam:g}, α = {alpha:.3g}, {n} iterations)<br>"
                f"training RMSE {run['train_rmse'][-1]:.4f}, held-out RMSE {run['held_out_rmse'][-1]:.4f} "
                f"(lowest {run['held_out_rmse'][best]:.3f}, at iteration {best}); "
                f"my highest prediction: {run['mine'].max():.1f} stars")
        rises = np.flatnonzero(np.diff(run["J"]) > 0)
        if rises.size:
            text += (f"<br><b>⚠ the cost rose at {rises.size} of {n} steps</b> (first at iteration {rises[0] + 1}): "
                     "α is at the edge of stability, so steps overshoot and bounce across the valley.")
    return (f"<div style='max-width: 56em'>{text}<br>{source}<br>"
            f"<span class='recsys-note'>computed and drawn in {seconds:.2f} s</span></div>")


def _explorer_top(run: dict, titles, num_ratings, n=5) -> tuple[str, list[str]]:
    """My top ``n`` of a run as an HTML table, and its titles."""
    mine = np.where(run["mine_rated"], -np.inf, run["mine"])
    best = np.argsort(-mine, kind="stable")[:n]
    rows = "".join(f"<tr><td>{i}</td><td>{_title_html(titles[m])}</td>"
                   f"<td>{run['mine'][m]:.2f}</td><td>{num_ratings[m]}</td></tr>"
                   for i, m in enumerate(best, start=1))
    return ("<table class='recsys-table'><caption>my top 5</caption><thead><tr><th scope='col'>#</th>"
            "<th scope='col'>title</th><th scope='col'>predicted rating</th><th scope='col'>ratings</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"), [titles[m] for m in best]


_TRY_THIS = """
<div style='font-size: 0.95em; line-height: 1.35'>
<b>Predict first, then move.</b> Before each move, say what the two pictures will do.
<ol style='margin: 0.3em 0; padding-left: 1.4em'>
<li><b>λ → 0</b>: will the held-out RMSE (dash-dot) go down like the training RMSE, or up?
  Then set 200 iterations and watch the lowest held-out point.</li>
<li><b>λ → 50</b>: does my top 5 become the same list everybody gets?</li>
<li><b>α one step right</b> (0.0178): will 100 steps still fall smoothly? Then α = 0.0316.</li>
<li><b>λ = 0, α = 0.01</b>: the cost rises at some steps (orange dots), and my highest
  prediction leaves the 1-5 star range. Why only without λ?</li>
<li><b>10 iterations</b>: how far is my list from the shrunk-mean list?</li>
</ol>The grey dashed curves are the previous setting. Keyboard: Tab to a slider, then the arrow keys,
Page Up / Page Down, Home and End; or type a value into the box beside it and press Enter.</div>"""

#: The explorer's sliders: (low, high, step); α moves in powers of ten (its exponents here).
LAMBDA_SLIDER, ALPHA_EXPONENTS, ITERATIONS_SLIDER = (0.0, 50.0, 1.0), (-4.0, -1.0, 0.25), (10, 200, 10)


def _explorer_sliders(lambda_, alpha, iterations):
    """The explorer's three sliders, at the values given (checked by the caller)."""
    import ipywidgets as widgets

    style, layout = {"description_width": "70px"}, widgets.Layout(width="400px")
    lam = widgets.FloatSlider(value=lambda_, min=LAMBDA_SLIDER[0], max=LAMBDA_SLIDER[1], step=LAMBDA_SLIDER[2],
                              description="λ", continuous_update=False, style=style, layout=layout)
    alp = widgets.FloatLogSlider(value=alpha, base=10, min=ALPHA_EXPONENTS[0], max=ALPHA_EXPONENTS[1],
                                 step=ALPHA_EXPONENTS[2], description="α", readout_format=".3g",
                                 continuous_update=False, style=style, layout=layout)
    its = widgets.IntSlider(value=iterations, min=ITERATIONS_SLIDER[0], max=ITERATIONS_SLIDER[1],
                            step=ITERATIONS_SLIDER[2], description="iterations", continuous_update=False,
                            style=style, layout=layout)
    return lam, alp, its


def build_training_explorer(runs: TrainingRuns, titles, num_ratings, *, lambda_=10.0, alpha=0.01,
                            iterations=100, first_draw_after=0.15, timings: list | None = None):
    """Sliders for λ, α and iterations, with the "predict first" prompts beside them.

    On each release: the run is computed (or taken from ``runs``), the cost curve and
    train / held-out RMSE are redrawn (previous setting as a ghost, the axes fixed),
    the final numbers and any warning are printed, my top 5 is listed, and a live
    region says what changed. A new run that needs more than twice ``first_draw_after``
    seconds is drawn twice: its first part at once, then the whole (0.15 s: a usual
    100-iteration run, 0.12-0.2 s, is drawn once, as a second drawing costs ~0.1 s).
    The seconds each redraw took in the kernel are appended to ``timings``. A starting
    value the sliders cannot show (:data:`LAMBDA_SLIDER`, :data:`ALPHA_EXPONENTS`,
    :data:`ITERATIONS_SLIDER`) is refused.
    """
    import ipywidgets as widgets

    if not isinstance(runs, TrainingRuns):
        raise TypeError(f"runs must be an interactive.TrainingRuns; got {type(runs).__name__}")
    titles = as_titles(titles, runs.mine.size)
    num_ratings = as_vector(num_ratings, "num_ratings", size=runs.mine.size).astype(int)
    lambda_ = _slider_value(lambda_, "lambda_", *LAMBDA_SLIDER)
    alpha = _slider_value(alpha, "alpha", *ALPHA_EXPONENTS, log=True)
    iterations = int(_slider_value(iterations, "iterations", *ITERATIONS_SLIDER))
    first_draw_after = as_float(first_draw_after, "first_draw_after", low=0)
    if timings is not None and not isinstance(timings, list):
        raise TypeError(f"timings must be a list (the seconds are appended) or None; got {type(timings).__name__}")
    lam, alp, its = _explorer_sliders(lambda_, alpha, iterations)
    status, top, image, said = widgets.HTML(), widgets.HTML(), widgets.HTML(), _announcer()
    drawn = {"before": None}
    picture = TrainingPicture()
    timings = timings if timings is not None else []
    # One cost axis for every setting (J at the start grows with λ): from a quarter of the lowest start to
    # above the highest, so curves can be compared and the axes drawn once (TrainingPicture.png).
    low, high = (runs.run(end, alpha, 0)["J"][0] for end in LAMBDA_SLIDER[:2])
    cost_limits = (0.25 * low, 1.1 * high)

    def draw(run):
        fig = picture.update(run, drawn["before"], cost_limits=cost_limits)
        image.value = image_html(fig, TrainingPicture.alt(run, drawn["before"]), picture.png())

    def redraw(_change=None):
        start = time.perf_counter()
        run = runs.run(lam.value, alp.value, its.value, seconds=first_draw_after)
        done = len(run["J"]) - 1
        left = (time.perf_counter() - start) / max(done, 1) * (run["iterations"] - done)
        if not run["complete"]:
            if left > first_draw_after:   # a long new run: its first part now, then all of it
                draw(run)
                status.value = (f"<i>training … iteration {len(run['J']) - 1} of {run['iterations']} "
                                f"(λ = {run['lambda_']:g}, α = {run['alpha']:.3g})</i>")
            run = runs.run(lam.value, alp.value, its.value)
        draw(run)
        setting = f"λ = {run['lambda_']:g}, α = {run['alpha']:.3g}, {run['iterations']} iterations"
        if run["mine"] is None:
            top.value = "<b>my top 5</b>: none, the model diverged"
            said.message = f"Redrawn for {setting}: gradient descent diverged at iteration {run['diverged_at']}."
        else:
            top.value, best = _explorer_top({**run, "mine_rated": runs.mine}, titles, num_ratings)
            said.message = (f"Redrawn for {setting}: held-out RMSE {run['held_out_rmse'][-1]:.3f}; "
                            f"my top 5 starts with {best[0]}.")
        drawn["before"] = run
        timings.append(time.perf_counter() - start)
        status.value = _explorer_status(run, runs, timings[-1])

    for slider in (lam, alp, its):
        slider.observe(redraw, names="value")
    redraw()
    prompts = widgets.HTML(_TRY_THIS, layout=widgets.Layout(width="520px", max_width="100%"))
    box = widgets.VBox([widgets.HBox([widgets.VBox([lam, alp, its]), prompts],
                                     layout=widgets.Layout(flex_flow="row wrap")), said, status, image, top])
    box.add_class("recsys-widget")
    return box


# ---------------------------------------------------------------- 06: gradient descent you can steer


#: The smallest factorisation: one rating y, one feature x, one preference θ.
DESCENT_START = (0.15, 0.05)
#: How far either side of the minimum's x the strip beneath each map reaches.
DESCENT_ZOOM = 0.05


def _descent_problem(y, lambda_, start):
    """The checked one-rating problem: ``(y, lambda_, start)``; it has two minima only when y > λ."""
    y, lambda_ = as_float(y, "y (the one rating)"), as_float(lambda_, "lambda_", low=0)
    if not y > lambda_:
        raise ValueError(f"the one-rating picture needs y > lambda_ (its minima are x = θ = ±√(y − λ)); "
                         f"got y={y:g}, lambda_={lambda_:g}")
    start = tuple(as_vector(np.ravel(start), "start (x, θ)", size=2))
    return y, lambda_, start


def descent_path(alpha, num_iters=60, *, y=4.0, lambda_=1.0, start=DESCENT_START):
    """Gradient descent on a 1 x 1 rating matrix ``[[y]]``, run by :func:`helpers.gradient_descent`.

    Returns ``(path, J, diverged)``: the points ``(x, θ)`` visited (start included),
    the cost at each, and whether it stopped with a :class:`helpers.DivergenceError`.
    """
    y, lambda_, start = _descent_problem(y, lambda_, start)
    alpha = as_float(alpha, "alpha (the learning rate)", low=0, low_open=True)
    num_iters = as_int(num_iters, "num_iters", low=1)
    Y, R = np.array([[y]]), np.array([[True]])
    path, costs = [], []

    def record(X, Theta, Y, R, lambda_):   # gradient_fn hook: called at every step, before the update
        path.append((X[0, 0], Theta[0, 0]))
        costs.append(helpers.cofi_cost(X, Theta, Y, R, lambda_))
        return helpers.cofi_gradients(X, Theta, Y, R, lambda_)

    try:
        X, Theta, J = helpers.gradient_descent([[start[0]]], [[start[1]]], Y, R, lambda_, alpha, num_iters,
                                               gradient_fn=record, sparse=False)
    except helpers.DivergenceError:
        return np.array(path), np.array(costs), True
    return np.array(path + [(X[0, 0], Theta[0, 0])]), J, False


@functools.lru_cache(maxsize=8)
def _cost_grid(y, lambda_, limit=3.0, size=81):
    """helpers.cofi_cost of the 1 x 1 problem on a size x size grid of (x, θ): a pure function of its arguments."""
    axis = np.linspace(-limit, limit, size)
    J = np.array([[helpers.cofi_cost([[x]], [[t]], [[y]], [[True]], lambda_) for x in axis] for t in axis])
    return axis, J


def _crossings(path, minimum) -> int:
    """How many steps carry x across the minimum's x (an overshoot each; rounding errors at it are not)."""
    offset = path[:, 0] - minimum
    side = np.where(np.abs(offset) > 1e-9, np.sign(offset), 0.0)
    return int(np.sum(side[1:] * side[:-1] < 0))


def _times(k: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(k, f"{k} times")


def descent_figure(alphas, num_iters=60, *, y=4.0, lambda_=1.0, start=DESCENT_START) -> Figure:
    """Contours of J(x, θ) with gradient descent's path for each α in ``alphas`` (one panel each).

    Marks the saddle at the origin and the two minima x = θ = ±√(y − λ); each
    title gives α against the stability limit 2/L, L = 2(y − λ) being the largest
    curvature at a minimum. Beneath each map a strip magnifies x step by step,
    ±:data:`DESCENT_ZOOM` around the minimum's x, where an overshoot too small for
    the map shows as a zigzag across the dashed line. The alt text
    (:func:`style.describe`) gives each path's verdict and end point.
    """
    y, lambda_, start = _descent_problem(y, lambda_, start)
    alphas = [alphas] if np.isscalar(alphas) else list(alphas)
    if not alphas:
        raise ValueError("alphas must hold at least one learning rate (a number > 0); got none")
    alphas = [as_float(a, f"alphas[{i}] (a learning rate)", low=0, low_open=True) for i, a in enumerate(alphas)]
    num_iters = as_int(num_iters, "num_iters", low=1)
    s, limit_alpha = np.sqrt(y - lambda_), 1.0 / (y - lambda_)
    axis, J = _cost_grid(y, lambda_, max(3.0, round(1.6 * s, 1)))
    ncols = min(len(alphas), 2)                      # two panels a row: each stays large enough to read
    nrows = -(-len(alphas) // ncols)
    fig = Figure(figsize=(3.9 * ncols + 0.3, 5.0 * nrows + 0.4), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[3.6, 1.0] * nrows)
    words = []
    for k, alpha in enumerate(alphas):
        row, col = 2 * (k // ncols), k % ncols
        ax, strip = fig.add_subplot(grid[row, col]), fig.add_subplot(grid[row + 1, col])
        path, costs, diverged = descent_path(alpha, num_iters, y=y, lambda_=lambda_, start=start)
        verdict = _verdict(costs, diverged)
        _draw_descent_map(ax, axis, J, path, start, s)
        ax.set_title(f"α = {alpha:.3g} {'<' if alpha < limit_alpha else '>'} 2/L = {limit_alpha:.3g}: {verdict}",
                     fontsize=10)
        target = s if path[-1, 0] >= 0 or diverged else -s
        crossed = _crossings(path, target)
        strip.plot(np.arange(len(path)), np.clip(path[:, 0] - target, -DESCENT_ZOOM, DESCENT_ZOOM), "-o",
                   color=VERMILLION, ms=2, lw=0.8)
        strip.axhline(0, color=BLUE, ls="--", lw=1)
        strip.set(xlim=(0, num_iters), ylim=(-1.08 * DESCENT_ZOOM, 1.08 * DESCENT_ZOOM), xlabel="step",
                  ylabel="x − x*")
        strip.set_title(f"x − x*, magnified (x* = {target:.2f}): {_times(crossed)} across", fontsize=9)
        words.append(_path_words(alpha, path, costs, diverged, s))
    fig.legend(handles=fig.axes[0].lines[:4], loc="outside lower center", ncol=4, fontsize=9, frameon=False)
    return describe(fig, f"Contour map of the cost J(x, θ) of one rating y = {y:g} with λ = {lambda_:g}: a saddle "
                         f"at (0, 0) and two minima at x = θ = ±{s:.2f}; the stability limit is 2/L = "
                         f"{limit_alpha:.3g}. Gradient descent from ({start[0]:g}, {start[1]:g}), {num_iters} steps: "
                         + "; ".join(words) + f". Beneath each map, x at each step within ±{DESCENT_ZOOM:g} of the "
                         "minimum's x: a zigzag across the dashed line is an overshoot.")


def _path_words(alpha, path, costs, diverged, s) -> str:
    """One path of :func:`descent_figure` in words: its verdict, where it ends, how often it overshoots."""
    crossed = _crossings(path, s if path[-1, 0] >= 0 or diverged else -s)
    end = f" at step {len(path) - 1}" if diverged else f", ending at x = {path[-1, 0]:.2f}, θ = {path[-1, 1]:.2f}"
    return f"α = {alpha:.3g} {_verdict(costs, diverged)}{end}, crossing the minimum's x {_times(crossed)}"


def _draw_descent_map(ax, axis, J, path, start, s) -> None:
    """One map: the cost's contours, the path, the start, the saddle and the two minima."""
    ax.contour(axis, axis, J, levels=np.geomspace(J.min() + 0.05, J.max(), 14), cmap="viridis", linewidths=0.8)
    ax.plot(*path.T, "-o", color=VERMILLION, ms=2.5, lw=1, label="path")
    ax.plot(*start, "s", color="black", ms=5, label="start")
    ax.plot(0, 0, "X", color=ORANGE, ms=9, label="saddle")
    ax.plot([s, -s], [s, -s], "*", color=BLUE, ms=12, label="minima", zorder=1)
    ax.set(xlim=(axis[0], axis[-1]), ylim=(axis[0], axis[-1]), aspect="equal", xlabel="x (the movie)",
           ylabel="θ (the user)")


def _short(title: str, width: int = 34) -> str:
    """A title cut to ``width`` characters with an ellipsis, for axis labels."""
    return title if len(title) <= width else title[:width - 1].rstrip() + "…"


def _verdict(costs, diverged) -> str:
    """What the last steps of a path did: diverged, settled, still bouncing, or still on the way."""
    if diverged:
        return "diverges"
    last = np.diff(costs[-10:])
    return "settles" if np.all(np.abs(last) < 1e-4) else "bounces" if np.any(last > 0) else "on its way"


#: The descent explorer's sliders: (low, high, step).
DESCENT_ALPHA_SLIDER, DESCENT_STEPS_SLIDER = (0.02, 0.6, 0.01), (1, 100, 1)


def build_descent_explorer(*, alpha=0.1, num_iters=60):
    """A slider for α (and the number of steps) over :func:`descent_figure`."""
    import ipywidgets as widgets

    alpha = _slider_value(alpha, "alpha", *DESCENT_ALPHA_SLIDER)
    num_iters = int(_slider_value(num_iters, "num_iters", *DESCENT_STEPS_SLIDER))
    style, layout = {"description_width": "70px"}, widgets.Layout(width="400px", max_width="100%")
    alp = widgets.FloatSlider(value=alpha, min=DESCENT_ALPHA_SLIDER[0], max=DESCENT_ALPHA_SLIDER[1],
                              step=DESCENT_ALPHA_SLIDER[2], description="α", continuous_update=False, style=style,
                              layout=layout)
    steps = widgets.IntSlider(value=num_iters, min=DESCENT_STEPS_SLIDER[0], max=DESCENT_STEPS_SLIDER[1],
                              description="steps", continuous_update=False, style=style, layout=layout)
    image, said = widgets.HTML(), _announcer()

    def redraw(_change=None):
        fig = descent_figure([alp.value], steps.value)
        show(image, fig, alt_text(fig))
        path, costs, diverged = descent_path(alp.value, steps.value)
        said.message = f"Redrawn: {_path_words(alp.value, path, costs, diverged, np.sqrt(3.0))}."

    alp.observe(redraw, names="value")
    steps.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([alp, steps, said, image])
    box.add_class("recsys-widget")
    return box


# ---------------------------------------------------------------- 07: your own ratings, live


def _rated_rows(my_ratings, titles) -> tuple[list[int], np.ndarray]:
    """The rows ``my_ratings`` names (rows or exact titles, checked by :func:`helpers.ratings_vector`),
    in its own order, and their stars."""
    vec = helpers.ratings_vector(my_ratings, len(titles), titles)
    if hasattr(my_ratings, "items"):
        rows = [titles.index(key) if isinstance(key, str) else int(key) for key in my_ratings]
    else:
        rows = np.flatnonzero(vec).tolist()
    return rows, vec[rows]


def taste_figure(me: helpers.FactorModel, my_ratings, titles, *, max_movies=15) -> Figure:
    """Does the model pick up my taste? For each movie I rated: its mean, my stars, my prediction.

    ``me`` is a model in which I am user 0 (:func:`helpers.fold_in`, or ``recommend(...,
    model=..., return_model=True)``); ``my_ratings`` is ``{row or exact title: stars}``
    (the last ``max_movies`` are drawn). The movie's mean is the model's own, ``mu +
    b_movie`` (the shrunk mean of notebook 05). Where the prediction moves from the mean
    towards my stars, the model has learned something about me. The alt text
    (:func:`style.describe`) lists the numbers drawn.
    """
    if not isinstance(me, helpers.FactorModel):
        raise TypeError(f"me must be a helpers.FactorModel (helpers.fold_in gives one); got {type(me).__name__}")
    titles = as_titles(titles, me.shape[0])
    max_movies = as_int(max_movies, "max_movies", low=1)
    rows, stars = _rated_rows(my_ratings, titles)
    if not rows:
        raise ValueError("my_ratings is empty: the picture compares my stars with the model's predictions, "
                         "so it needs at least one rating")
    rows, stars = rows[-max_movies:], stars[-max_movies:]
    mean = me.mu + me.b_movie[rows]
    pred = me.predict(rows, np.zeros(len(rows), dtype=int), clip=False)
    order = np.argsort(stars, kind="stable")
    y = np.arange(len(rows))
    height = 1.35 + 0.26 * len(rows)
    fig = Figure(figsize=(6.4, height), dpi=DPI)
    ax = fig.subplots(gridspec_kw=dict(left=0.42, right=0.97, top=1 - 0.85 / height, bottom=0.42 / height))
    ax.hlines(y, mean[order], pred[order], color=SKY, lw=2)
    ax.plot(mean[order], y, "o", color=GREY, label="movie's mean")
    ax.plot(stars[order], y, "*", color=ORANGE, ms=11, label="my stars")
    ax.plot(pred[order], y, "D", color=BLUE, ms=5, label="predicted for me")
    ax.set_yticks(y, [_short(titles[rows[i]]) for i in order], fontsize=9)
    ax.set(xlim=(0.5, 5.5), ylim=(-0.6, len(rows) - 0.4), xlabel="stars")
    fig.suptitle("The movies I rated: does the model follow me?", fontsize=11, y=1 - 0.06 / height, va="top")
    fig.legend(handles=ax.lines, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.38 / height), ncol=3,
               frameon=False)      # across the whole figure: nothing is cut at its edges
    towards = int(np.sum(np.sign(pred - mean) == np.sign(stars - mean)))
    each = "; ".join(f"{titles[rows[i]]}: mean {mean[i]:.2f}, my {stars[i]:g}, predicted {pred[i]:.2f}"
                     for i in order[::-1])
    movies = f"{len(rows)} movies" if len(rows) > 1 else "movie"
    return describe(fig, f"Dot chart of the {movies} I rated, each with its mean, my stars and the model's "
                         f"prediction for me. The prediction lies on my side of the mean for {towards} of "
                         f"{len(rows)}. {each}.")


def _title_html(title: str, badge: str = "") -> str:
    """A title (and ``badge``, HTML) on at most two lines: a longer one is cut with an ellipsis, and hovering
    shows it whole; a screen reader reads it whole."""
    return (f"<span class='recsys-title' title='{html.escape(title, quote=True)}'>{html.escape(title)}{badge}"
            "</span>")


def _bar(value: float, scale=50) -> str:
    """A small inline bar for a signed number: blue right of the line if positive, vermillion left if negative."""
    width = min(abs(value) * scale, 30)
    side = f"margin-left: 30px; background: {BLUE}" if value >= 0 else f"margin-left: {30 - width:.0f}px; " \
                                                                       f"background: {VERMILLION}"
    return (f"<div aria-hidden='true' style='width: 60px; height: 10px; margin-top: 3px; "   # a zero line in the middle
            f"background: linear-gradient(#444, #444) 30px 0 / 1px 100% no-repeat'>"
            f"<div style='{side}; width: {width:.0f}px; height: 10px'></div></div>")


class RatingWidget:
    """Rate movies by title and see your top ``n`` change at once, folded into a trained ``model``.

    Type part of a title, pick the movie, press one of the five star buttons; your
    ratings are listed (✕ removes one) and the top ``n`` is recomputed with
    ``helpers.recommend(..., model=model)``: one small ridge regression, no
    retraining. Beside it, the list a user with no ratings gets. A movie's mean is the
    model's everywhere (``mu + b_movie``: the shrunk mean). Everything works with the
    keyboard (Tab, arrow keys, Enter) and is named for a screen reader; a live region
    says when the list changed. ``timings`` holds the seconds each refresh took in the
    kernel (the table; then the picture). :meth:`rate` and :meth:`remove` do what the
    buttons do; a refused rating (not 1-5 stars, an unknown movie) changes nothing.
    Display the widget with ``display(w)`` or as a cell's last expression.
    """

    def __init__(self, model, Y, R, titles, *, n=10, lambda_=10.0, ratings=None, picture=True):
        import ipywidgets as widgets

        if not isinstance(model, helpers.FactorModel):
            raise TypeError(f"model must be a trained helpers.FactorModel (helpers.recommend(..., "
                            f"return_model=True) gives one); got {type(model).__name__}")
        self.Y, self.R = as_ratings(Y, R)
        if model.shape[0] != self.Y.shape[0]:
            raise ValueError(f"model must have one movie per row of Y ({self.Y.shape[0]}); it has {model.shape[0]}")
        self.model, self.titles = model, as_titles(titles, self.Y.shape[0])
        self.n = as_int(n, "n", low=1, high=self.Y.shape[0])
        self.lambda_, self.show_picture = as_float(lambda_, "lambda_", low=0), as_bool(picture, "picture")
        self.mean = model.mu + model.b_movie               # the one definition of a movie's mean
        self.num_ratings = self.R.sum(axis=1)
        self.ratings: dict[int, float] = {}
        self.timings: list[tuple[float, float]] = []
        self._rows: dict = {}   # (row, stars) -> its line under "My ratings", made once
        self.newcomer = helpers.recommend({}, self.Y, self.R, self.titles, n=self.n, model=model, lambda_=lambda_)
        label = {"description_width": "4.5em"}
        self.search = widgets.Text(description="Search", placeholder="part of a title, e.g. star wars",
                                   continuous_update=True, style=label, layout=widgets.Layout(width="98%"))
        self.matches = widgets.Select(description="Matches", options=[], rows=6, style=label,
                                      layout=widgets.Layout(width="98%"))
        self.stars = [_icon_button(f"rate the selected movie {k} star{'s' if k > 1 else ''}", f"recsys-stars-{k}",
                                   width="auto", padding="0 6px") for k in range(1, 6)]
        self.mine, self.top, self.status, self.hint = widgets.VBox(), widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.picture, self.announcer = widgets.HTML(), _announcer()
        self.search.observe(self._find, names="value")
        self.matches.observe(self._name_buttons, names="value")
        for k, button in enumerate(self.stars, start=1):
            button.on_click(functools.partial(self._rate_selected, k))
        self._find()
        self._apply(self._start(ratings))
        self.widget = self._layout(widgets)

    def _layout(self, widgets):
        left = widgets.VBox([widgets.HTML("<b>1. Find a movie, pick it, rate it</b>"), self.search, self.matches,
                             widgets.HBox(self.stars), widgets.HTML("<b>My ratings</b>"), self.mine],
                            layout=widgets.Layout(width="370px", max_width="100%", margin="0 1em 0.5em 0"))
        self.top.layout = widgets.Layout(flex="1 1 400px", max_width="620px", margin="0 1em 0.5em 0")
        newcomer = widgets.HTML(self._newcomer_html(), layout=widgets.Layout(flex="0 1 250px"))
        box = widgets.VBox([widgets.HBox([left, self.top, newcomer], layout=widgets.Layout(flex_flow="row wrap")),
                            self.announcer, self.hint, self.status, self.picture])
        box.add_class("recsys-widget")
        return box

    def _start(self, ratings) -> dict:
        rows, stars = _rated_rows(dict(ratings or {}), self.titles)
        return {int(r): float(s) for r, s in zip(rows, stars)}

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _row(self, movie) -> int:
        """The row ``movie`` names: a 0-based row of ``Y`` or an exact title (checked as in recommend)."""
        return int(np.flatnonzero(helpers.ratings_vector({movie: 1}, len(self.titles), self.titles))[0])

    def _find(self, _change=None) -> None:
        found = helpers.search_titles(self.search.value, self.titles, self.Y, self.R, n=30)
        self.matches.options = [(f"{t} ({c} ratings, mean {self.mean[r]:.2f})", int(r))
                                for r, t, c in zip(found.row, found.title, found.num_ratings)]
        self.matches.value = int(found.row.iloc[0]) if len(found) else None
        self._name_buttons()

    def _name_buttons(self, _change=None) -> None:
        """Each star button says what it does to the selected movie (its name and tooltip)."""
        title = self.titles[self.matches.value] if self.matches.value is not None else "the selected movie"
        for k, button in enumerate(self.stars, start=1):
            button.description = f"rate {title} {k} star{'s' if k > 1 else ''}"
            button.disabled = self.matches.value is None

    def _rate_selected(self, stars: int, _button=None) -> None:
        if self.matches.value is not None:
            self.rate(self.matches.value, stars)

    def rate(self, movie, stars) -> None:
        """Rate ``movie`` (a row of ``Y`` or an exact title) with 1-5 ``stars``; refused ratings change nothing.

        Re-rating a movie moves it to the end of my list.
        """
        row = self._row(movie)
        stars = as_float(stars, f"stars for {self.titles[row]!r}", low=1, high=helpers.RATING_MAX)
        self._apply({**{r: s for r, s in self.ratings.items() if r != row}, row: stars})

    def remove(self, movie) -> None:
        """Remove my rating of ``movie`` (a row of ``Y`` or an exact title)."""
        row = self._row(movie)
        if row not in self.ratings:
            raise ValueError(f"{self.titles[row]!r} is not among my ratings ({len(self.ratings)} movies)")
        self._apply({r: s for r, s in self.ratings.items() if r != row})

    def _remove_pressed(self, row: int) -> None:
        """✕ pressed: remove, then keep the keyboard in the list (the next ✕, else the last, else the search)."""
        position = list(self.ratings).index(row)
        self.remove(row)
        rows = self.mine.children
        (rows[min(position, len(rows) - 1)].children[0] if rows else self.search).focus()

    def refresh(self) -> None:
        """Fold my ratings in again and redraw everything."""
        self._apply(self.ratings)

    def _apply(self, ratings: dict) -> None:
        """Fold ``ratings`` in (which checks them: on an error nothing has changed), then show them; time both."""
        start = time.perf_counter()
        table, me = helpers.recommend(ratings, self.Y, self.R, self.titles, n=self.n, model=self.model,
                                      lambda_=self.lambda_, return_model=True)
        self.ratings = dict(ratings)
        self.top.value = self._top_html(table, me)
        self.mine.children = [self._rows.get((row, stars)) or self._rating_row(row, stars)
                              for row, stars in self.ratings.items()]
        self.hint.value = self._hint_html()
        table_seconds = time.perf_counter() - start
        if self.show_picture and self.ratings:
            fig = taste_figure(me, self.ratings, self.titles)
            show(self.picture, fig, alt_text(fig))
        elif self.show_picture:
            self.picture.value = ("<p class='recsys-note'>Rate a movie: a picture of your ratings against the "
                                  "model's predictions appears here.</p>")
        self.timings.append((table_seconds, time.perf_counter() - start))
        top3 = "; ".join(f"{i}. {t}" for i, t in enumerate(table.title[:3], start=1))
        self.announcer.message = (f"Your top {self.n} updated for {len(self.ratings)} rating"
                                  f"{'' if len(self.ratings) == 1 else 's'}: {top3}.")
        self.status.value = (f"<span class='recsys-note'>ratings folded in: {len(self.ratings)}; list updated in "
                             f"{1000 * table_seconds:.0f} ms, picture in {1000 * self.timings[-1][1]:.0f} ms "
                             f"(kernel)</span>")

    def _rating_row(self, row: int, stars: float):
        import ipywidgets as widgets

        remove = _icon_button(f"remove {self.titles[row]}", "recsys-remove", width="32px", min_width="32px")
        remove.on_click(lambda _button: self._remove_pressed(row))
        shown = round(stars)
        label = widgets.HTML(f"<span role='img' aria-label='{stars:g} of 5 stars'>{'★' * shown}{'☆' * (5 - shown)}"
                             f"</span> {html.escape(self.titles[row])}")
        self._rows[row, stars] = widgets.HBox([remove, label])
        return self._rows[row, stars]

    def _top_html(self, table, me: helpers.FactorModel) -> str:
        everyone = set(self.newcomer.row)
        rows = "".join(
            f"<tr><td>{i}</td><td>{_title_html(t, '' if m in everyone else f' <b style=color:{BLUE}>new</b>')}"
            f"</td><td>{p:.2f}</td><td>{self.mean[m]:.2f}</td>"
            f"<td><span style='display: inline-flex; gap: 4px'>{p - self.mean[m]:+.2f}{_bar(p - self.mean[m])}"
            "</span></td></tr>"
            for i, (m, t, p) in enumerate(zip(table.row, table.title, table.predicted_rating), start=1))
        return (f"<table class='recsys-table my-top'><caption>2. My top {self.n} "
                f"(<b style=color:{BLUE}>new</b>: not in the list for no ratings)</caption><thead><tr>"
                "<th scope='col'>#</th><th scope='col'>title</th><th scope='col'>predicted</th>"
                f"<th scope='col'>mean</th><th scope='col'>me</th></tr></thead><tbody>{rows}</tbody></table>"
                "<span class='recsys-note'>predicted = the movie's mean (its shrunk mean, what someone with no "
                "ratings is predicted) + me, the part that comes from my ratings</span>")

    def _newcomer_html(self) -> str:
        items = "".join(f"<li>{_title_html(f'{t} ({p:.2f})')}</li>"
                        for t, p in zip(self.newcomer.title, self.newcomer.predicted_rating))
        return f"<b>With no ratings</b><ol style='margin: 0.2em 0; padding-left: 1.6em'>{items}</ol>"

    def _hint_html(self) -> str:
        """Why the list moves as much as it does: the model learns from how my stars differ from the means."""
        if not self.ratings:
            return ""
        rows = list(self.ratings)
        gap = np.array([self.ratings[r] for r in rows]) - self.mean[rows]
        mine = (f"Your {len(rows)} ratings differ from the movies' means" if len(rows) > 1
                else "Your rating differs from the movie's mean")
        return (f"<span class='recsys-note'>{mine} by {np.mean(np.abs(gap)):.2f} stars on average. The model "
                "learns your taste only from such differences: five stars for a film everybody likes tells it "
                "little; a low rating for a crowd favourite, or a high one for a film most people dislike, moves "
                "the list more.</span>")
