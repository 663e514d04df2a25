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
"""

from __future__ import annotations

import functools
import html
import io
import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

import helpers
from .style import OKABE_ITO, palette_png
from .observed import ObservedRatings, compiled_kernel
from .validation import as_float, as_int

__all__ = ["TrainingRuns", "TrainingPicture", "build_training_explorer", "descent_path", "descent_figure",
           "build_descent_explorer", "taste_figure", "RatingWidget"]

BLUE, ORANGE, VERMILLION, SKY = (OKABE_ITO[name] for name in ("blue", "orange", "vermillion", "sky blue"))
GREY = "#999999"   # the ghost of the previous setting and neutral marks, beside the palette


#: Figures are laid out at the notebooks' 100 dpi (notebook_style) and drawn at twice that for widgets.
DPI = 100


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes at twice :data:`DPI`, sharp on a high-density screen (see :func:`show`).

    Reduced to a 256-colour palette like the notebooks' static figures, with
    the fast method (:func:`notebook_style.palette_png`): under half the bytes
    of a full-colour PNG (it is also stored in the notebook's widget state),
    and quantising and encoding take ~12 ms instead of ~22 ms.
    """
    from PIL import Image

    dpi = 2 * DPI
    raw = io.BytesIO()   # a figure drawn at its own dpi reuses its renderer: setting even the same dpi costs 25 ms
    fig.savefig(raw, format="rgba", dpi="figure" if fig.dpi == dpi else dpi)
    width, height = (int(v) for v in fig.get_size_inches() * dpi)
    image = Image.frombuffer("RGBA", (width, height), raw.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB")
    return palette_png(image, fast=True)


def show(image, fig: Figure) -> None:
    """Put ``fig`` into an ``ipywidgets.Image`` at its 1x size, as the notebooks' retina figures are shown.

    Drawing twice the pixels costs about 10 ms more than 1x (the text and lines, not the pixels, take the time).
    """
    image.layout.width = f"{fig.get_figwidth() * DPI:.0f}px"
    image.value = png(fig)


# ---------------------------------------------------------------- 06: the λ, α, iterations explorer


class TrainingRuns:
    """Gradient descent from one seeded start on a fixed train / held-out split, kept per (λ, α).

    The ratings of users 1.. are split once (``validation`` of them held out, seeded);
    yours (user 0) all stay in training. Ratings are normalised with the shrunk
    means of the training part. :meth:`run` trains with :func:`helpers.gradient_descent`
    itself (its ``callback`` records, per iteration, the training and held-out RMSE
    and, every 10 iterations, my predictions; its ``history`` resumes a run when
    more iterations are asked for). The last ``keep`` runs are kept (about half a
    megabyte each). Built for many runs, it loads numba's compiled cost kernel at
    once (:func:`recsys_tutorial.observed.compiled_kernel`): 100 iterations then
    take about 0.12 s instead of 0.25 s.
    """

    def __init__(self, Y, R, my_ratings, *, num_features=10, shrinkage=10.0, validation=0.1, seed=0, keep=64):
        Y_all, R_all = helpers.add_user(my_ratings, Y, R)
        rows, cols = np.nonzero(R_all)
        held = (np.random.default_rng(seed).random(rows.size) < as_float(validation, "validation", low=0, high=0.5)) \
            & (cols > 0)
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

        def record(t, J, X, Theta):
            penalty = lam * (np.einsum("ij,ij->", X, X) + np.einsum("ij,ij->", Theta, Theta))
            err = np.einsum("ij,ij->i", X[h.rows], Theta[h.cols]) + self.means[h.rows] - h.values
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
    fixes them per λ). A divergence is marked where the curve leaves the
    picture; iterations where the cost rose are dotted.
    """

    def __init__(self, *, max_iterations=200, rmse_limits=(0.6, 1.2)):
        # Made at the 2x resolution :func:`png` draws at: a figure drawn at its own dpi reuses its
        # renderer and text layouts (25 ms a redraw). No constrained layout: it doubles the drawing time.
        self.figure = fig = Figure(figsize=(9.4, 3.2), dpi=2 * DPI)
        self.ax_cost, self.ax_rmse = fig.subplots(
            1, 2, gridspec_kw=dict(left=0.08, right=0.985, bottom=0.15, top=0.9, wspace=0.22))
        ghost = dict(color=GREY, lw=1.2, ls="--", alpha=0.7)
        self.ghost = [self.ax_cost.plot([], **ghost)[0], *(self.ax_rmse.plot([], **ghost)[0] for _ in range(2))]
        self.now = [self.ax_cost.plot([], color=BLUE, lw=2)[0],
                    self.ax_rmse.plot([], color=BLUE, lw=2, label="training RMSE")[0],
                    self.ax_rmse.plot([], color=VERMILLION, lw=2, ls="-.", label="held-out RMSE")[0]]
        self.rises = self.ax_cost.plot([], [], "o", ms=3.5, color=ORANGE, label="cost rose", zorder=3)[0]
        self.best = self.ax_rmse.plot([], [], "v", color=VERMILLION, ms=7, label="lowest held-out")[0]
        self.diverged = self.ax_cost.axvline(0, color=VERMILLION, ls=":", lw=1.5, visible=False)
        self.diverged_text = self.ax_cost.annotate("", (0, 0.5), xycoords=("data", "axes fraction"), xytext=(6, 0),
                                                   textcoords="offset points", color=VERMILLION, fontsize=9)
        self.ax_cost.set(xlim=(0, max_iterations), xlabel="iteration", ylabel="cost J")
        self.ax_rmse.set(xlim=(0, max_iterations), ylim=rmse_limits, xlabel="iteration", ylabel="RMSE (stars)",
                         title="error per rating: training vs held out")

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
                               + (f" ({up.size} rises)" if up.size else ""))
        for ax in (self.ax_cost, self.ax_rmse):   # legend: the lines that show something and have a name
            shown = [line for line in ax.lines if len(line.get_xdata()) and not line.get_label().startswith("_")]
            if shown:
                ax.legend(handles=shown, fontsize=9, loc="lower left")   # where the curves seldom are
            elif ax.get_legend() is not None:
                ax.get_legend().remove()
        return self.figure


def _ghost_label(before: dict, now: dict) -> str:
    """The ghost's legend entry: the setting it differs in."""
    if (before["lambda_"], before["alpha"]) == (now["lambda_"], now["alpha"]):
        return f"before ({before['iterations']} iterations)"
    return f"before (λ = {before['lambda_']:g}, α = {before['alpha']:.3g})"


def _curve(values):
    """``(iterations, values)`` of one recorded curve, for ``Line2D.set_data``."""
    values = np.asarray(values, dtype=float)
    return np.arange(values.size), values


def _status_html(run: dict, seconds: float) -> str:
    """The explorer's text: final cost and errors, or what went wrong, in words that wrap between words."""
    lam, alpha, n = run["lambda_"], run["alpha"], run["iterations"]
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
    return (f"<div style='white-space: normal; word-break: normal; overflow-wrap: normal; max-width: 56em'>"
            f"{text}<br><span style='color:#666'>computed and drawn in {seconds:.2f} s</span></div>")


def _top_html(run: dict, titles, num_ratings, n=5) -> str:
    mine = np.where(run["mine_rated"], -np.inf, run["mine"])
    best = np.argsort(-mine, kind="stable")[:n]
    table = pd.DataFrame({"title": [titles[i] for i in best], "predicted rating": run["mine"][best].round(2),
                          "ratings": num_ratings[best]}, index=pd.RangeIndex(1, len(best) + 1))
    return "<b>my top 5</b>" + table.to_html()


_TRY_THIS = """
<div style='white-space: normal; font-size: 0.95em; line-height: 1.35'>
<b>Predict first, then move.</b> Before each move, say what the two pictures will do.
<ol style='margin: 0.3em 0; padding-left: 1.4em'>
<li><b>λ → 0</b>: will the held-out RMSE (dash-dot) go down like the training RMSE, or up?
  Then set 200 iterations and watch the lowest held-out point.</li>
<li><b>λ → 50</b>: does my top 5 become the same list everybody gets?</li>
<li><b>α one step right</b> (0.0178): will 100 steps still fall smoothly? Then α = 0.0316.</li>
<li><b>λ = 0, α = 0.01</b>: the cost rises at some steps (orange dots), and my highest
  prediction leaves the 1-5 star range. Why only without λ?</li>
<li><b>10 iterations</b>: how far is my list from the shrunk-mean list?</li>
</ol>The grey dashed curves are the previous setting.</div>"""


def build_training_explorer(runs: TrainingRuns, titles, num_ratings, *, lambda_=10.0, alpha=0.01,
                            iterations=100, first_draw_after=0.15, timings: list | None = None):
    """Sliders for λ, α and iterations, with the "predict first" prompts beside them.

    On each release: the run is computed (or taken from ``runs``), the cost curve and
    train / held-out RMSE are redrawn (previous setting as a ghost, axes fixed per λ),
    the final numbers and any warning are printed, and my top 5 is listed. A new run
    that needs more than twice ``first_draw_after`` seconds is drawn twice: its first
    part at once, then the whole (0.15 s: a usual 100-iteration run, 0.12-0.2 s, is drawn
    once, as a second drawing costs ~0.1 s). The seconds each redraw took in the kernel
    are appended to ``timings``.
    """
    import ipywidgets as widgets

    style, layout = {"description_width": "70px"}, widgets.Layout(width="400px")
    lam = widgets.FloatSlider(value=lambda_, min=0.0, max=50.0, step=1.0, description="λ",
                              continuous_update=False, style=style, layout=layout)
    alp = widgets.FloatLogSlider(value=alpha, base=10, min=-4, max=-1, step=0.25, description="α",
                                 readout_format=".3g", continuous_update=False, style=style, layout=layout)
    its = widgets.IntSlider(value=iterations, min=10, max=200, step=10, description="iterations",
                            continuous_update=False, style=style, layout=layout)
    status, top = widgets.HTML(), widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
    num_ratings = np.asarray(num_ratings)
    drawn = {"before": None}
    picture = TrainingPicture()
    timings = timings if timings is not None else []

    def draw(run):
        J0 = run["J"][0]   # the cost axis is fixed for each λ: from the start's cost down
        show(image, picture.update(run, drawn["before"], cost_limits=(0.25 * J0, 1.1 * J0)))

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
        if run["mine"] is None:
            top.value = "<b>my top 5</b>: none, the model diverged"
        else:
            top.value = _top_html({**run, "mine_rated": runs.mine}, titles, num_ratings)
        drawn["before"] = run
        timings.append(time.perf_counter() - start)
        status.value = _status_html(run, timings[-1])

    for slider in (lam, alp, its):
        slider.observe(redraw, names="value")
    redraw()
    prompts = widgets.HTML(_TRY_THIS, layout=widgets.Layout(width="520px"))
    return widgets.VBox([widgets.HBox([widgets.VBox([lam, alp, its]), prompts]), status, image, top])


# ---------------------------------------------------------------- 06: gradient descent you can steer


#: The smallest factorisation: one rating y, one feature x, one preference θ.
DESCENT_START = (0.15, 0.05)


def descent_path(alpha, num_iters=60, *, y=4.0, lambda_=1.0, start=DESCENT_START):
    """Gradient descent on a 1 x 1 rating matrix ``[[y]]``, run by :func:`helpers.gradient_descent`.

    Returns ``(path, J, diverged)``: the points ``(x, θ)`` visited (start included),
    the cost at each, and whether it stopped with a :class:`helpers.DivergenceError`.
    """
    Y, R = np.array([[as_float(y, "y")]]), np.array([[True]])
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
    """helpers.cofi_cost of the 1 x 1 problem on a size x size grid of (x, θ)."""
    axis = np.linspace(-limit, limit, size)
    J = np.array([[helpers.cofi_cost([[x]], [[t]], [[y]], [[True]], lambda_) for x in axis] for t in axis])
    return axis, J


def descent_figure(alphas, num_iters=60, *, y=4.0, lambda_=1.0, start=DESCENT_START) -> Figure:
    """Contours of J(x, θ) with gradient descent's path for each α in ``alphas`` (one panel each).

    Marks the saddle at the origin and the two minima x = θ = ±√(y − λ); each
    title gives α against the stability limit 2/L, L = 2(y − λ) being the largest
    curvature at a minimum.
    """
    alphas = [alphas] if np.isscalar(alphas) else list(alphas)
    axis, J = _cost_grid(float(y), float(lambda_))
    limit_alpha, s = 1.0 / (y - lambda_), np.sqrt(max(y - lambda_, 0.0))
    ncols = min(len(alphas), 2)                      # two panels a row: each stays large enough to read
    nrows = -(-len(alphas) // ncols)
    fig = Figure(figsize=(3.9 * ncols + 0.3, 3.9 * nrows), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, alpha in zip(axes, alphas):
        ax.contour(axis, axis, J, levels=np.geomspace(J.min() + 0.05, J.max(), 14), cmap="viridis",
                   linewidths=0.8)
        path, costs, diverged = descent_path(alpha, num_iters, y=y, lambda_=lambda_, start=start)
        ax.plot(*path.T, "-o", color=VERMILLION, ms=2.5, lw=1, label="path")
        ax.plot(*start, "s", color="black", ms=5, label="start")
        ax.plot(0, 0, "X", color=ORANGE, ms=9, label="saddle")
        ax.plot([s, -s], [s, -s], "*", color=BLUE, ms=12, label="minima")
        verdict = _verdict(costs, diverged)
        ax.set(xlim=(axis[0], axis[-1]), ylim=(axis[0], axis[-1]), aspect="equal", xlabel="x (the movie)",
               ylabel="θ (the user)")
        ax.set_title(f"α = {alpha:.3g} {'<' if alpha < limit_alpha else '>'} 2/L = {limit_alpha:.3g}: {verdict}",
                     fontsize=10)
    for ax in axes[len(alphas):]:
        ax.set_visible(False)
    axes[len(alphas) - 1].legend(fontsize=9, loc="lower right")
    return fig


def _short(title: str, width: int = 34) -> str:
    """A title cut to ``width`` characters with an ellipsis, for axis labels."""
    return title if len(title) <= width else title[:width - 1].rstrip() + "…"


def _verdict(costs, diverged) -> str:
    """What the last steps of a path did: diverged, settled, still bouncing, or still on the way."""
    if diverged:
        return "diverges"
    last = np.diff(costs[-10:])
    return "settles" if np.all(np.abs(last) < 1e-4) else "bounces" if np.any(last > 0) else "on its way"


def build_descent_explorer(*, alpha=0.1, num_iters=60):
    """A slider for α (and the number of steps) over :func:`descent_figure`."""
    import ipywidgets as widgets

    style, layout = {"description_width": "70px"}, widgets.Layout(width="400px")
    alp = widgets.FloatSlider(value=alpha, min=0.02, max=0.6, step=0.01, description="α",
                              continuous_update=False, style=style, layout=layout)
    steps = widgets.IntSlider(value=num_iters, min=1, max=100, description="steps", continuous_update=False,
                              style=style, layout=layout)
    image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))

    def redraw(_change=None):
        show(image, descent_figure([alp.value], steps.value))

    alp.observe(redraw, names="value")
    steps.observe(redraw, names="value")
    redraw()
    return widgets.VBox([alp, steps, image])


# ---------------------------------------------------------------- 07: your own ratings, live


def taste_figure(me: helpers.FactorModel, my_ratings, titles, *, max_movies=15) -> Figure:
    """Does the model pick up my taste? For each movie I rated: its mean, my stars, my prediction.

    ``me`` is a one-user model (:func:`helpers.fold_in`, or ``recommend(..., model=...,
    return_model=True)``); ``my_ratings`` is ``{row: stars}``. Where the prediction moves
    from the mean towards my stars, the model has learned something about me.
    """
    rows = list(my_ratings)[-max_movies:]
    stars = np.array([my_ratings[r] for r in rows], dtype=float)
    mean = me.mu + me.b_movie[rows]
    pred = me.predict(rows, np.zeros(len(rows), dtype=int), clip=False)
    order = np.argsort(stars, kind="stable")
    y = np.arange(len(rows))
    height = 1.2 + 0.26 * len(rows)
    fig = Figure(figsize=(6.4, height), dpi=DPI)
    ax = fig.subplots(gridspec_kw=dict(left=0.42, right=0.97, top=1 - 0.75 / height, bottom=0.42 / height))
    ax.hlines(y, mean[order], pred[order], color=SKY, lw=2)
    ax.plot(mean[order], y, "o", color=GREY, label="movie's mean")
    ax.plot(stars[order], y, "*", color=ORANGE, ms=11, label="my stars")
    ax.plot(pred[order], y, "D", color=BLUE, ms=5, label="predicted for me")
    ax.set_yticks(y, [_short(titles[rows[i]]) for i in order], fontsize=9)
    ax.set(xlim=(0.5, 5.5), ylim=(-0.6, len(rows) - 0.4), xlabel="stars")
    fig.suptitle("The movies I rated: does the model follow me?", fontsize=11, y=1 - 0.08 / height, va="top")
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    return fig


def _bar(value: float, scale=100) -> str:
    """A small inline bar for a signed number: blue right of the line if positive, orange left if negative."""
    width = min(abs(value) * scale, 60)
    side = f"margin-left: 60px; background: {BLUE}" if value >= 0 else f"margin-left: {60 - width:.0f}px; " \
                                                                        f"background: {ORANGE}"
    return (f"<div style='width: 120px; height: 10px; "   # a 1-px zero line in the middle
            f"background: linear-gradient(#444, #444) 60px 0 / 1px 100% no-repeat'>"
            f"<div style='{side}; width: {width:.0f}px; height: 10px'></div></div>")


class RatingWidget:
    """Rate movies by title and see your top ``n`` change at once, folded into a trained ``model``.

    Type part of a title, pick the movie, click 1-5 stars; your ratings are listed
    (✕ removes one) and the top ``n`` is recomputed with
    ``helpers.recommend(..., model=model)``: one small ridge regression, no
    retraining. Beside it, the list a user with no ratings gets. ``timings`` holds
    the seconds each refresh took in the kernel (the table; then the picture).
    Display the widget with ``display(w)`` or as a cell's last expression.
    """

    def __init__(self, model, Y, R, titles, *, n=10, lambda_=10.0, ratings=None, picture=True):
        import ipywidgets as widgets

        self.model, self.Y, self.R, self.titles = model, Y, R, list(titles)
        self.n, self.lambda_, self.show_picture = as_int(n, "n", low=1), lambda_, picture
        self.ratings = self._start(ratings)
        self.timings: list[tuple[float, float]] = []
        self._rows: dict = {}   # (row, stars) -> its line under "My ratings", made once
        self.newcomer = helpers.recommend({}, Y, R, self.titles, n=self.n, model=model, lambda_=lambda_)
        self.search = widgets.Text(placeholder="type part of a title, e.g. star wars", continuous_update=True,
                                   layout=widgets.Layout(width="390px"))
        self.matches = widgets.Select(options=[], rows=6, layout=widgets.Layout(width="390px"))
        self.stars = [widgets.Button(description="★" * k, tooltip=f"rate the selected movie {k} of 5",
                                     layout=widgets.Layout(width="auto", padding="0 6px")) for k in range(1, 6)]
        self.mine, self.top, self.status = widgets.VBox(), widgets.HTML(), widgets.HTML()
        self.picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.search.observe(self._find, names="value")
        for k, button in enumerate(self.stars, start=1):
            button.on_click(functools.partial(self._rate, k))
        self._find()
        self.refresh()
        left = widgets.VBox([widgets.HTML("<b>1. Find a movie, pick it, give it stars</b>"), self.search,
                             self.matches, widgets.HBox(self.stars), widgets.HTML("<b>My ratings</b> (✕ removes)"),
                             self.mine], layout=widgets.Layout(width="410px", min_width="410px"))
        right = widgets.HBox([self.top, widgets.HTML(self._newcomer_html())])
        self.widget = widgets.VBox([widgets.HBox([left, right]), self.status, self.picture])

    def _start(self, ratings) -> dict:
        vec = helpers.ratings_vector(dict(ratings or {}), len(self.titles), self.titles)
        return {int(r): float(vec[r]) for r in np.flatnonzero(vec)}

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _find(self, _change=None) -> None:
        found = helpers.search_titles(self.search.value, self.titles, self.Y, self.R, n=30)
        self.matches.options = [(f"{t}  ({c} ratings, mean {m:.2f})", int(r))
                                for r, t, c, m in zip(found.row, found.title, found.num_ratings, found.mean_rating)]
        self.matches.value = int(found.row.iloc[0]) if len(found) else None

    def _rate(self, stars: int, _button=None) -> None:
        if self.matches.value is not None:
            self.ratings.pop(self.matches.value, None)   # re-rating moves it to the end of my list
            self.ratings[self.matches.value] = float(stars)
            self.refresh()

    def _remove(self, row: int, _button=None) -> None:
        self.ratings.pop(row, None)
        self.refresh()

    def refresh(self) -> None:
        """Fold my ratings in, redraw the top ``n``, my list, then the picture; time both parts."""
        start = time.perf_counter()
        table, me = helpers.recommend(self.ratings, self.Y, self.R, self.titles, n=self.n, model=self.model,
                                      lambda_=self.lambda_, return_model=True)
        self.top.value = self._top_html(table, me)
        self.mine.children = [self._rows.get((row, stars)) or self._rating_row(row, stars)
                              for row, stars in self.ratings.items()]
        table_seconds = time.perf_counter() - start
        if self.show_picture:
            if self.ratings:
                show(self.picture, taste_figure(me, self.ratings, self.titles))
            else:
                self.picture.value = b""
        self.timings.append((table_seconds, time.perf_counter() - start))
        self.status.value = (f"<span style='color:#666'>ratings folded in: {len(self.ratings)}; list updated in "
                             f"{1000 * table_seconds:.0f} ms, picture in {1000 * self.timings[-1][1]:.0f} ms "
                             f"(kernel)</span>")

    def _rating_row(self, row: int, stars: float):
        import ipywidgets as widgets

        remove = widgets.Button(description="✕", tooltip=f"remove {self.titles[row]}",
                                layout=widgets.Layout(width="32px"))
        remove.on_click(functools.partial(self._remove, row))
        label = widgets.HTML(f"{'★' * int(stars)}{'☆' * (5 - int(stars))} {html.escape(self.titles[row])}")
        self._rows[row, stars] = widgets.HBox([remove, label])
        return self._rows[row, stars]

    def _top_html(self, table: pd.DataFrame, me: helpers.FactorModel) -> str:
        everyone = set(self.newcomer.row)
        mean = me.mu + me.b_movie[table.row] + me.b_user[0]
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(t)}{'' if m in everyone else ' <b style=color:' + BLUE + '>new</b>'}"
            f"</td><td>{p:.2f}</td><td>{c}</td><td>{a:.2f}</td><td>{p - a:+.2f}</td><td>{_bar(p - a)}</td></tr>"
            for i, (m, t, p, c, a) in enumerate(zip(table.row, table.title, table.predicted_rating,
                                                     table.num_ratings, mean), start=1))
        return (f"<b>2. My top {self.n}</b> (<b style=color:{BLUE}>new</b>: not in the list for no ratings)"
                "<table class='my-top' style='min-width: 36em'><thead><tr><th>#</th><th>title</th>"
                "<th>predicted</th><th>ratings</th>"
                "<th>movie's mean</th><th>me</th><th>me, as a bar</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    def _newcomer_html(self) -> str:
        items = "".join(f"<li>{html.escape(t)} ({p:.2f})</li>"
                        for t, p in zip(self.newcomer.title, self.newcomer.predicted_rating))
        return f"<div style='margin-left: 1.5em'><b>With no ratings</b><ol>{items}</ol></div>"
