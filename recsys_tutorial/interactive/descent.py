"""Notebook 06's gradient descent you can steer: one rating, one feature, one preference, so that the cost
is a map of two variables with a saddle and two minima. :func:`descent_path` runs
:func:`helpers.gradient_descent` on it, :func:`descent_figure` draws the paths, :func:`descent_verdict`
says what a path did, :func:`build_descent_explorer` puts α under a slider."""

from __future__ import annotations

import functools

import numpy as np
from matplotlib.figure import Figure

import helpers
from ..style import alt_text, describe
from ..validation import as_bool, as_float, as_int, as_vector
from ._common import BLUE, DPI, ORANGE, VERMILLION, _announcer, _slider_value, show


#: The smallest factorisation: one rating y, one feature x, one preference θ.
DESCENT_START = (0.15, 0.05)
#: How far either side of the minimum's x the strip beneath each map reaches.
DESCENT_ZOOM = 0.05
#: The most steps a path may take: ten times the explorer's slider (a path of 10**8 steps never returns).
DESCENT_MAX_STEPS = 1000


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
    num_iters = as_int(num_iters, "num_iters", low=1, high=DESCENT_MAX_STEPS)
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
    num_iters = as_int(num_iters, "num_iters", low=1, high=DESCENT_MAX_STEPS)
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
        verdict = descent_verdict(costs, diverged)
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
    return f"α = {alpha:.3g} {descent_verdict(costs, diverged)}{end}, crossing the minimum's x {_times(crossed)}"


def _draw_descent_map(ax, axis, J, path, start, s) -> None:
    """One map: the cost's contours, the path, the start, the saddle and the two minima."""
    ax.contour(axis, axis, J, levels=np.geomspace(J.min() + 0.05, J.max(), 14), cmap="viridis", linewidths=0.8)
    ax.plot(*path.T, "-o", color=VERMILLION, ms=2.5, lw=1, label="path")
    ax.plot(*start, "s", color="black", ms=5, label="start")
    ax.plot(0, 0, "X", color=ORANGE, ms=9, label="saddle")
    ax.plot([s, -s], [s, -s], "*", color=BLUE, ms=12, label="minima", zorder=1)
    ax.set(xlim=(axis[0], axis[-1]), ylim=(axis[0], axis[-1]), aspect="equal", xlabel="x (the movie)",
           ylabel="θ (the user)")


def descent_verdict(costs, diverged) -> str:
    """What the last steps of a path did: diverged, settled, still bouncing, or still on the way.

    ``costs``: the finite costs of a path, at least two (the start and a step);
    ``diverged``: True or False (:func:`descent_path` returns both).
    """
    if as_bool(diverged, "diverged"):
        return "diverges"
    costs = as_vector(costs, "costs (the cost at each step)")
    if costs.size < 2:
        raise ValueError(f"costs must hold at least two costs (the start and one step) to say what the path did; "
                         f"got {costs.size}")
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
