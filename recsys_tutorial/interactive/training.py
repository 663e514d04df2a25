"""Notebook 06's λ, α and iterations explorer: :class:`TrainingRuns` trains (with
:func:`helpers.gradient_descent`), :class:`TrainingPicture` draws, :func:`build_training_explorer` puts
them under three sliders."""

from __future__ import annotations

import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import helpers
from ..observed import ObservedRatings, compiled_kernel
from ..style import palette_png
from ..validation import as_counts, as_float, as_int, as_limits, as_titles
from ._common import BLUE, DPI, GREY, ORANGE, VERMILLION, _announcer, _slider_value, _title_html, image_html


#: The largest λ and α and the most iterations :meth:`TrainingRuns.run` accepts: 20, 10 and 5 times the
#: explorer's sliders (:data:`LAMBDA_SLIDER`, :data:`ALPHA_EXPONENTS`, :data:`ITERATIONS_SLIDER`). Beyond them
#: one step can overflow the cost (λ = 1e200: J ends in inf), or a run takes hours (10**8 iterations).
RUN_MAX_LAMBDA, RUN_MAX_ALPHA, RUN_MAX_ITERATIONS = 1000.0, 1.0, 1000


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
        lambda_ = as_float(lambda_, "lambda_", low=0, high=RUN_MAX_LAMBDA)
        alpha = as_float(alpha, "alpha (the learning rate)", low=0, high=RUN_MAX_ALPHA, low_open=True)
        iterations = as_int(iterations, "iterations", low=0, high=RUN_MAX_ITERATIONS)
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
        max_iterations = as_int(max_iterations, "max_iterations", low=1, high=RUN_MAX_ITERATIONS)
        rmse_limits = as_limits(rmse_limits, "rmse_limits")
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
        cost_limits = None if cost_limits is None else as_limits(cost_limits, "cost_limits")
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
    num_ratings = as_counts(num_ratings, "num_ratings", runs.mine.size)
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
