"""The notebooks' static figures: one function per figure, each returning it with its alt text.

====  ==============================================================================
 nb   functions
====  ==============================================================================
 01   :func:`rating_table` (twice), :func:`als_costs`, :func:`feature_maps`
 02   :func:`rating_density`, :func:`rating_histograms`
 03   :func:`masked_cost_panels`, :func:`error_histogram`
 04   :func:`finite_differences`, :func:`gradient_agreement`
 05   :func:`prediction_histograms`, :func:`means_vs_counts`, :func:`mean_funnel`,
      :func:`shrunk_means`
 06   :func:`cost_curve`, :func:`cost_curves` (twice)
 07   :func:`movie_map`
 08   :func:`masked_vs_unmasked`
 09   :func:`convergence`, :func:`validation_curve` (twice), :func:`training_curves`,
      :func:`running_average`
====  ==============================================================================

The notebooks compute; these functions only draw, so that a figure cell stays one
short call and the prose beside it says what to look for. (The widgets' pictures of
06 and 07 are in :mod:`recsys_tutorial.interactive`.)

**Alt text from the data.** Each function works out, from the arrays it draws, the
numbers a reader should take away (where a curve starts and ends, a minimum, a
share) and attaches a sentence saying what the figure shows and those numbers with
:func:`recsys_tutorial.style.describe`. It is never typed as a constant, so it cannot
drift from the picture; ``tests/test_plots.py`` checks its numbers against the data.
Negative numbers use the minus sign (U+2212), which screen readers read as "minus";
:func:`num`, :func:`signed` and :func:`short_title` write numbers and titles that way
for any alt text (the widgets' too).

**Shown once.** Figures are drawn on a :class:`matplotlib.figure.Figure`, not through
pyplot, so the inline backend does not show them a second time: end a cell with the
call (or pass the figure to ``display``) and it appears once, as an ``<img alt>``
(:func:`recsys_tutorial.style.figure_html`).
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, StrMethodFormatter

from . import style
from .validation import (OVERFLOW, as_bool, as_float, as_int, as_labels, as_mask, as_matrix, as_nonempty, as_ratings,
                         as_series, as_text, as_titles, as_vector, overflow_error)

__all__ = ["num", "signed", "short_title", "rating_table", "als_costs", "feature_maps", "rating_density", "rating_histograms",
           "masked_cost_panels", "error_histogram", "finite_differences", "gradient_agreement",
           "prediction_histograms", "means_vs_counts", "mean_funnel", "shrunk_means", "cost_curve",
           "cost_curves", "movie_map", "masked_vs_unmasked", "convergence", "validation_curve",
           "training_curves", "running_average"]

MINUS = "\u2212"
#: Plain numbers on a log axis of counts (1, 3, 10, ...).
COUNT_TICKS = (1, 3, 10, 30, 100, 300, 1000, 3000, 10000)


# ------------------------------------------------------------------ writing numbers for alt text


def num(value, digits: int = 2) -> str:
    """``value`` rounded to ``digits`` decimals, with thousands separators and a true minus sign.

    ``num(-0.004)`` is ``"0.00"``, never ``"-0.00"``; ``num(45910.4, 0)`` is ``"45,910"``.
    """
    value, digits = as_float(value, "value"), as_int(digits, "digits", low=0, high=20)
    text = f"{round(value, digits) + 0.0:,.{digits}f}"
    return text.replace("-", MINUS)


def signed(value, digits: int = 2) -> str:
    """Like :func:`num`, with a plus sign on positive numbers: ``"+0.22"``, ``"−0.14"``."""
    text = num(value, digits)
    return text if text.startswith(MINUS) or float(text.replace(",", "")) == 0 else "+" + text


def _sci(value) -> str:
    """A small positive number as the notebooks print it, e.g. ``1e-08``."""
    return f"{float(value):.0e}"


def _capital(text: str) -> str:
    """``text`` with its first letter in upper case, to start a sentence with a label."""
    return text[:1].upper() + text[1:] if text[:1].isascii() else text     # never "Α" for "α"


def _how_many(n: int, noun: str) -> str:
    """``"Two scatter plots"``: a count in words up to ten, for the start of an alt text."""
    words = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
    return f"{words[n] if n < len(words) else n} {noun}{'' if n == 1 else 's'}"


def _count(n, noun: str) -> str:
    """``"1 movie"``, ``"2 movies"``."""
    return f"{int(n):,} {noun}{'' if int(n) == 1 else 's'}"


def _series(names) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _falls(values, digits: int = 0) -> str:
    """``"falls from 52,455 to 39,563"`` (or rises), from a curve's first and last values."""
    first, last = float(values[0]), float(values[-1])
    verb = "falls" if last < first else "rises" if last > first else "stays"
    return f"{verb} from {num(first, digits)} to {num(last, digits)}" if verb != "stays" else \
        f"stays at {num(first, digits)}"


def _plain(text: str) -> str:
    """A label without matplotlib's mathtext: ``r"$\\lambda$ = 12"`` becomes ``"λ = 12"``."""
    return text.replace("\\lambda", "λ").replace("\\sigma", "σ").replace("$", "")


def _counts(counts, name: str = "counts", *, low: float = 1) -> np.ndarray:
    """Numbers of ratings for a log axis: at least one, each at least ``low``."""
    counts = as_nonempty(as_vector(counts, name), name)
    if counts.min() < low:
        raise ValueError(f"{name} must be numbers of ratings >= {low:g} (drawn on a log axis); found "
                         f"{counts.min():g} at position {int(np.argmin(counts))}")
    return counts


def _within_range(values, what: str, name: str, *, squared: bool = False):
    """``values`` unless one is beyond :data:`validation.OVERFLOW` (its axis range would overflow), or, when
    ``squared``, beyond its square root (its square would)."""
    if np.max(np.abs(values), initial=0.0) > (np.sqrt(OVERFLOW) if squared else OVERFLOW):
        raise overflow_error(what, {name: values})
    return values


def _log_counts(ax, high) -> None:
    """A log x axis of counts with plain tick labels up to ``high``."""
    ax.set_xscale("log")
    ax.minorticks_off()
    ticks = [t for t in COUNT_TICKS if t <= high]
    ax.set_xticks(ticks, [str(t) for t in ticks], minor=False)


def _thousands(ax) -> None:
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


# ------------------------------------------------------------------ 01: the toy table


RATING_CMAP, RATING_NORM = "viridis", Normalize(0, 5)   # dark purple = 0 stars ... light yellow = 5


def _draw_table(ax, values, missing, title, movies, users, filled) -> None:
    """Ratings as a coloured grid; missing cells hatched with '?', or framed with one decimal if filled in."""
    cmap = matplotlib.colormaps[RATING_CMAP]
    shown = values if filled else np.ma.masked_where(missing, values)
    ax.set_facecolor("#e6e6e6")                          # masked (missing) cells show this grey
    ax.imshow(shown, cmap=cmap, norm=RATING_NORM)
    for i, j in np.ndindex(values.shape):
        if missing[i, j] and not filled:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor="#999999",
                                   linewidth=0))
            ax.text(j, i, "?", ha="center", va="center", fontsize=12, fontweight="bold")
            continue
        if missing[i, j]:                                # a prediction: one decimal, bold, framed
            for inset, edge in [(0.06, "black"), (0.12, "white")]:
                ax.add_patch(Rectangle((j - 0.5 + inset, i - 0.5 + inset), 1 - 2 * inset, 1 - 2 * inset,
                                       fill=False, edgecolor=edge, linewidth=2))
        ax.text(j, i, _cell_text(values[i, j], missing[i, j]), ha="center", va="center", fontsize=12,
                color=style.text_color_on(cmap(RATING_NORM(values[i, j]))),
                fontweight="bold" if missing[i, j] else "normal")
    ax.set_xticks(range(len(users)), [style.literal(u) for u in users])
    ax.set_yticks(range(len(movies)), [style.literal(m) for m in movies])
    ax.xaxis.tick_top()
    ax.set_title(title, pad=10)


def _cell_text(value, predicted: bool) -> str:
    """A rating as a whole number; a prediction with one decimal (never "-0.0")."""
    return f"{np.round(value, 1) + 0:.1f}" if predicted else f"{value:.0f}"


def rating_table(Y, R, movies, users, predicted=None) -> Figure:
    """The ratings table as a coloured grid: 0 stars dark purple ... 5 light yellow, blanks hatched with '?'.

    With ``predicted`` (the model's ratings, same shape as ``Y``) two grids side by side:
    the ratings we had, and the table filled in by the model, its predictions framed.
    """
    Y, R = as_ratings(Y, R)
    movies, users = as_labels(movies, "movies"), as_labels(users, "users")
    if Y.shape != R.shape or Y.shape != (len(movies), len(users)):
        raise ValueError(f"Y {Y.shape} and R {R.shape} must both be (movies, users) = "
                         f"({len(movies)}, {len(users)})")
    blanks = [(users[j], movies[i]) for i, j in zip(*np.nonzero(~R))]
    where = "; ".join(f"{u}, {m}" for u, m in blanks)
    size = f"{len(movies)} movies (rows) by {len(users)} users ({_series(users)})"
    if predicted is None:
        fig = Figure(figsize=(5, 3.8), layout="constrained")
        _draw_table(fig.subplots(), Y, ~R, "Who rated what (? = not rated)", movies, users, filled=False)
        return style.describe(fig, (
            f"Grid of the ratings table, {size}: each of the {R.sum()} known ratings is a cell coloured from "
            f"0 stars (dark purple) to 5 (light yellow) and labelled with its stars; the {len(blanks)} blank "
            f"cells are hatched with a question mark: {where}."))
    P = as_matrix(predicted, "predicted", finite=True)
    if P.shape != Y.shape:
        raise ValueError(f"predicted has shape {P.shape}; expected Y's shape {Y.shape}")
    fig = Figure(figsize=(8.5, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    _draw_table(axes[0], Y, ~R, "The ratings we had", movies, users, filled=False)
    _draw_table(axes[1], np.where(R, Y, P), ~R, "Filled in by the model", movies, users, filled=True)
    axes[1].set_yticks([])
    guesses = "; ".join(f"{users[j]}, {movies[i]}: {_cell_text(P[i, j], True).replace('-', MINUS)}"
                        for i, j in zip(*np.nonzero(~R)))
    return style.describe(fig, (
        f"Two grids of the ratings table, {size}, coloured from 0 stars (dark purple) to 5 (light yellow). "
        f"Left, the ratings we had: {R.sum()} known, {len(blanks)} blank. Right, the same table filled in by the "
        f"model: the known ratings unchanged and its {len(blanks)} predictions framed, with one decimal: "
        f"{guesses}."))


def als_costs(runs) -> Figure:
    """The cost J (log scale) after each sweep of alternating least squares, one line per start.

    ``runs``: ``{label: costs after each sweep}``.
    """
    runs = as_series(runs, "runs", most=5)          # five markers: each line told apart without its colour
    fig = Figure(figsize=(5.5, 3), layout="constrained")
    ax = fig.subplots()
    for (label, costs), marker in zip(runs.items(), "os^vD"):
        ax.semilogy(np.arange(1, len(costs) + 1), costs, f"{marker}-", ms=3, label=label)
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="sweep (tastes, then features)", ylabel="cost J (log scale)",
           title="Alternating least squares on the toy table")
    ax.legend()
    sweeps = max(len(c) for c in runs.values())
    parts = []
    for label, costs in runs.items():
        rises = int(np.sum(np.diff(costs) > 1e-12))
        parts.append(f"{label} {_falls(costs, 1)}" + (f", rising at {_count(rises, 'sweep')}" if rises else ""))
    never = all(np.all(np.diff(c) <= 1e-12) for c in runs.values())
    return style.describe(fig, (
        f"Line chart, log scale, of the cost J after each of {sweeps} sweeps of alternating least squares on "
        f"the toy table, from {len(runs)} random starts: {'; '.join(parts)}."
        + (" No curve ever rises." if never else "")))


def _groups(points, names, tol):
    """Groups of (nearly) coinciding points: [{"at": first point, "names": [...], "rows": [...]}]."""
    groups = []
    for row, (name, p) in enumerate(zip(names, points)):
        for g in groups:
            if np.hypot(*(p - g["at"])) < tol:
                g["names"].append(name)
                g["rows"].append(row)
                break
        else:
            groups.append({"at": p, "names": [name], "rows": [row]})
    return groups


def _label_groups(ax, points, names, color, where) -> None:
    """One label per group of (nearly) coinciding points.

    where="above/below": movie labels above points in the upper half, below the others;
    where="beside": user labels beside an arrow's tip, across the arrow's direction.
    """
    for g in _groups(points, names, 0.25 * np.abs(points).max()):
        x, y = g["at"]
        if where == "above/below":
            up = y >= -1e-9
            place = dict(xytext=(0, 9 if up else -9), ha="center", va="bottom" if up else "top")
            text = "\n".join(g["names"])
        elif abs(x) >= abs(y):           # a mostly horizontal arrow: label under its tip
            place = dict(xytext=(0, -8), ha="center", va="top")
            text = " & ".join(g["names"])
        else:                            # a mostly vertical arrow: label to the right of its tip
            place = dict(xytext=(8, 0), ha="left", va="center")
            text = " & ".join(g["names"])
        ax.annotate(style.literal(text), (x, y), textcoords="offset points", fontsize=10, color=color, **place)


def _feature_panel_text(X, Theta, movies, users, title) -> str:
    """What one panel of :func:`feature_maps` shows: the groups of movies, and which one each user points at."""
    groups = _groups(X, movies, 0.25 * np.abs(X).max())
    parts = []
    for g in groups:
        x, y = X[g["rows"]].mean(axis=0)
        parts.append(f"{_series(g['names'])} at about ({num(x)}, {num(y)})")
    liked = {}
    for j, user in enumerate(users):
        best = max(range(len(groups)), key=lambda k: float(np.mean(X[groups[k]["rows"]] @ Theta[j])))
        liked.setdefault(best, []).append(user)
    aims = "; ".join(f"{_series(who)} point{'s' if len(who) == 1 else ''} towards {_series(groups[k]['names'])}"
                     for k, who in liked.items())
    return f"{_capital(title)}: {'; '.join(parts)}; {aims}"


def feature_maps(panels, movies, users) -> Figure:
    """Each movie's two features as a point, each user's taste as an arrow, one panel per ``(X, Theta, title)``.

    The arrows are rescaled to the size of the movie cloud; a user's predicted rating
    for a movie is large when the arrow points towards it.
    """
    movies, users = as_labels(movies, "movies"), as_labels(users, "users")
    if isinstance(panels, (str, bytes)) or not hasattr(panels, "__iter__"):
        raise TypeError(f"panels must be a list of (X, Theta, title); got {type(panels).__name__}")
    checked = []
    for k, panel in enumerate(panels):
        if not isinstance(panel, (tuple, list)) or len(panel) != 3:
            raise TypeError(f"panels[{k}] must be a tuple (X, Theta, title); got {panel!r:.80}")
        X, Theta, title = panel[0], panel[1], as_text(panel[2], f"panels[{k}] title")
        X, Theta = as_matrix(X, f"panels[{k}] X", finite=True), as_matrix(Theta, f"panels[{k}] Theta", finite=True)
        if X.shape != (len(movies), 2) or Theta.shape != (len(users), 2):
            raise ValueError(f"panels[{k}]: X must be ({len(movies)}, 2) and Theta ({len(users)}, 2); "
                             f"got {X.shape} and {Theta.shape}")
        checked.append((X, Theta, title))
    if not checked:
        raise ValueError("panels is empty: give at least one (X, Theta, title)")
    fig = Figure(figsize=(4.75 * len(checked), 4.6), layout="constrained")
    for ax, (X, Theta, title) in zip(np.atleast_1d(fig.subplots(1, len(checked))), checked):
        arrows = Theta * (0.6 * np.abs(X).max() / np.abs(Theta).max())
        for a, b in arrows:
            ax.annotate("", xy=(a, b), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="-|>", color="C0", lw=1.5, mutation_scale=14))
        ax.scatter(X[:, 0], X[:, 1], color="C3", s=40, zorder=3, label="movies")
        _label_groups(ax, X, movies, "black", where="above/below")
        _label_groups(ax, arrows, users, "C0", where="beside")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        lim = 1.6 * np.abs(X).max()
        ax.set(xlabel="feature 1", ylabel="feature 2", title=title, xlim=(-lim, lim), ylim=(-lim, lim),
               aspect="equal")
    panels_text = ". ".join(_feature_panel_text(X, Theta, movies, users, title) for X, Theta, title in checked)
    return style.describe(fig, (
        f"{_how_many(len(checked), 'scatter plot')} of the {len(movies)} movies' two features, each user's taste "
        f"drawn as an arrow from the origin. {panels_text}."))


# ------------------------------------------------------------------ 02: the MovieLens matrix


def _empty_corner(R):
    """The largest block of the last m movies by the first u users without a rating: (m, u)."""
    best, rated = (0, 0), np.zeros(R.shape[1], dtype=bool)
    for m in range(1, R.shape[0] + 1):
        rated |= R[-m]                                  # users who rated any of the last m movies
        u = int(np.argmax(rated)) if rated.any() else R.shape[1]
        if m * u > best[0] * best[1]:
            best = (m, u)
    return best


def rating_density(R, block: int = 8) -> Figure:
    """Where the ratings are: ``R`` in blocks of ``block`` x ``block`` cells, shaded by the share rated.

    White for none, black for half or more. (The matrix has more cells than the
    picture has pixels, hence the blocks.)
    """
    R = as_nonempty(as_mask(R), "R")
    block = as_int(block, "block", low=1, high=max(R.shape))    # no larger than the matrix: the padding allocates
    padded = np.pad(R, [(0, -R.shape[0] % block), (0, -R.shape[1] % block)])   # pad to multiples of block
    density = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block).mean(axis=(1, 3))
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(density, cmap="Greys", vmin=0, vmax=0.5, aspect="auto",
                      extent=(0, padded.shape[1], padded.shape[0], 0), interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.7, label="share of cells rated")
    ax.set(xlabel="user (column of Y)", ylabel="movie id - 1 (row of Y)",
           title=f"Where the ratings are: {R.mean():.1%} of R is filled")
    quarter = R.shape[0] // 4
    first, last = R[:quarter].mean(), R[-quarter:].mean()
    rows, cols = _empty_corner(R)
    per_user = R.sum(axis=0)
    return style.describe(fig, (
        f"Map of the ratings matrix R, {R.shape[0]} movies (rows, movie id 1 at the top) by {R.shape[1]} users "
        f"(columns), in blocks of {block} by {block} cells shaded from white (none rated) to black (half or "
        f"more): {R.mean():.1%} of R is filled. The top rows are darkest: the first quarter of the movies is "
        f"{first:.1%} filled, the last quarter {last:.1%}. The lower-left corner is empty: none of the first "
        f"{cols} users rated any of the last {rows} movies. A few columns stay grey further down: the most active "
        f"user (column {int(np.argmax(per_user))}) rated {per_user.max()} movies."))


def _doubling_hist(ax, counts, color):
    """Histogram of whole-number counts in bins 1, 2-3, 4-7, 8-15, ...; returns (edges, heights).

    Each bin is twice as wide as the one before, so on a log axis all bars are
    equally wide, and every bin starts and ends on a whole number (no empty bins).
    """
    edges = 2 ** np.arange(np.floor(np.log2(counts.min())), np.ceil(np.log2(counts.max() + 1)) + 1)
    heights, _, _ = ax.hist(counts, bins=edges, color=color, edgecolor="white")
    ax.set_xscale("log", base=2)
    ax.set_xticks(edges[::2], [f"{e:g}" for e in edges[::2]])
    ax.minorticks_off()
    median = np.median(counts)
    ax.axvline(median, color="black", ls="--", lw=1)
    ax.annotate(f" median {median:g}", (median, 1), xycoords=("data", "axes fraction"), va="top")
    return edges, heights


def _bins(edges, sep: str = " to ") -> str:
    """The first bins of :func:`_doubling_hist`: ``"1, 2 to 3, 4 to 7, ..."``."""
    parts = [f"{lo:g}" if hi - 1 == lo else f"{lo:g}{sep}{hi - 1:g}" for lo, hi in zip(edges[:3], edges[1:4])]
    return ", ".join(parts) + ", ..."


def _tallest(edges, heights, what) -> str:
    k = int(np.argmax(heights))
    return f"the tallest bar, {edges[k]:g} to {edges[k + 1] - 1:g} ratings, holds {int(heights[k]):,} {what}"


def rating_histograms(Y, R) -> Figure:
    """Three bar charts: how many ratings of each star, ratings per movie, ratings per user (doubling bins)."""
    Y, R = as_ratings(Y, R)
    if not R.any():
        raise ValueError("R has no rated entry: there are no ratings to count")
    per_movie, per_user = R.sum(axis=1), R.sum(axis=0)
    stars, counts = np.unique(Y[R], return_counts=True)
    fig = Figure(figsize=(9.3, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].bar(stars, counts, color="C1")
    axes[0].set(xticks=stars, xlabel="stars", ylabel="number of ratings", title="The ratings")
    movie_bins = _doubling_hist(axes[1], per_movie, "C0")
    axes[1].set(xlabel=f"ratings per movie (bins {_bins(movie_bins[0], '-')})", ylabel="movies",
                title="Ratings per movie")
    user_bins = _doubling_hist(axes[2], per_user, "C2")
    axes[2].set(xlabel=f"ratings per user (bins {_bins(user_bins[0][:2], '-')})", ylabel="users",
                title="Ratings per user")
    bars = "; ".join(f"{s:g} star{'s' if s != 1 else ''}: {c:,}" for s, c in zip(stars, counts))
    return style.describe(fig, (
        f"Three bar charts. The ratings, by stars: {bars}; {stars[np.argmax(counts)]:g} stars is the most "
        f"common. Ratings per movie, in bins that double in width ({_bins(movie_bins[0])}): from "
        f"{per_movie.min()} to {per_movie.max()}, median {np.median(per_movie):g} (dashed line); "
        f"{_tallest(*movie_bins, 'movies')}. Ratings per user, in doubling bins too ({_bins(user_bins[0])}): from {per_user.min()} to "
        f"{per_user.max()}, median {np.median(per_user):g}; {_tallest(*user_bins, 'users')}."))


# ------------------------------------------------------------------ 03: the cost


def _matrix_text(M, known=None) -> str:
    """A small matrix row by row: "movie 0: 1 and 2; movie 1: ...", "not rated" where ``known`` is False."""
    rows = []
    for i, row in enumerate(M):
        cells = ["not rated" if known is not None and not known[i, j] else f"{v:g}".replace("-", MINUS)
                 for j, v in enumerate(row)]
        rows.append(f"movie {i}: {_series(cells)}")
    return "; ".join(rows)


def masked_cost_panels(P, Y, R) -> Figure:
    """The cost as pictures: predictions, ratings, mask and squared masked errors, side by side.

    ``P`` is ``X @ Theta.T``; J (λ = 0) is half the sum of the last panel.
    """
    (Y, R), P = as_ratings(Y, R), as_matrix(P, "P", finite=True)
    _within_range(P, "masked_cost_panels: the squared errors", "P", squared=True)
    _within_range(Y[R], "masked_cost_panels: the squared errors", "Y (a rated entry)", squared=True)
    if not P.shape == Y.shape == R.shape:
        raise ValueError(f"P {P.shape}, Y {Y.shape} and R {R.shape} must have the same shape")
    squared = (R * (P - Y)) ** 2
    panels = [("predictions  X Θᵀ", P, None), ("ratings  Y", Y, R), ("mask  R", R.astype(float), None),
              ("(R ⊙ error)²", squared, None)]
    cmap = matplotlib.colormaps["viridis"]                 # dark = small, light = large
    fig = Figure(figsize=(2.3 * len(panels) + 0.1, 2.8), layout="constrained")
    for ax, (title, M, known) in zip(fig.subplots(1, len(panels)), panels):
        norm = Normalize(0, max(M.max(), 1))
        ax.imshow(M, cmap=cmap, norm=norm)
        for i, j in np.ndindex(M.shape):
            text = "–" if known is not None and not known[i, j] else f"{M[i, j]:g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=12, color=style.text_color_on(cmap(norm(M[i, j]))))
        ax.set_title(title)
        ax.set_xticks(range(M.shape[1]), [f"user {j}" for j in range(M.shape[1])])
        ax.set_yticks(range(M.shape[0]), [f"movie {i}" for i in range(M.shape[0])])
    total = squared.sum()
    fig.suptitle(f"J = ½ × sum of the last panel = ½ × {total:g} = {total / 2:g}     "
                 "(– = not rated; Y stores 0 there)")
    return style.describe(fig, (
        f"Four small grids, {P.shape[0]} movies by {P.shape[1]} users, coloured dark for small values and light "
        f"for large. Predictions X times Theta transposed: {_matrix_text(P)}. Ratings Y: {_matrix_text(Y, R)}. "
        f"Mask R (1 = rated): {_matrix_text(R.astype(int))}. Squared errors on the rated cells, R times error "
        f"squared: {_matrix_text(squared)}. J is half the sum of the last grid: ½ × {total:g} = {total / 2:g}."))


def error_histogram(errors, what: str = "the course's pre-trained parameters") -> Figure:
    """Histogram of prediction errors (prediction − rating), quarter-star bins, the ±1 star band shaded."""
    errors = as_nonempty(_within_range(as_vector(errors, "errors"), "error_histogram: the RMSE", "errors",
                                       squared=True), "errors")
    what = as_text(what, "what")
    rmse = float(np.sqrt(np.mean(errors ** 2)))
    within_one = float(np.mean(np.abs(errors) < 1))
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(-1, 1, color="C1", alpha=0.25, label=f"within one star: {within_one:.0%}")
    heights, edges, _ = ax.hist(errors, bins=np.arange(-4, 4.01, 0.25), color="C0")
    ax.set(xlabel="prediction − rating (stars)", ylabel="ratings", title=f"Errors of {what} (RMSE {rmse:.2f})")
    ax.legend(loc="upper left")
    peak = int(np.argmax(heights))
    return style.describe(fig, (
        f"Histogram of the {errors.size:,} errors, prediction minus rating, of {what}, in quarter-star bins from "
        f"{MINUS}4 to 4: the tallest bar is from {num(edges[peak])} to {num(edges[peak + 1])} stars; mean error "
        f"{num(errors.mean())}; {within_one:.0%} of the predictions are within one star of the rating (the "
        f"shaded band); RMSE {rmse:.2f} stars."))


# ------------------------------------------------------------------ 04: gradient checking


def finite_differences(eps, one_sided, central, central_quadratic, used: float = 1e-4) -> Figure:
    """Error of finite-difference slopes against the step ε (log-log): p³ one-sided and central, p² central.

    The error curves are computed in notebook 04 at p = 2; ``used`` is the ε of the
    gradient check, drawn as a dotted line.
    """
    eps = _counts(eps, "eps", low=np.finfo(float).tiny)    # steps > 0, on a log axis
    curves = {"p³, one-sided  (f(p+ε) − f(p)) / ε": as_vector(one_sided, "one_sided", size=eps.size),
              "p³, central  (f(p+ε) − f(p−ε)) / 2ε": as_vector(central, "central", size=eps.size),
              "p², central": as_vector(central_quadratic, "central_quadratic", size=eps.size)}
    used = as_float(used, "used", low=0, low_open=True)
    fig = Figure(figsize=(8.2, 3.8), layout="constrained")
    ax = fig.subplots()
    for (label, err), ls in zip(curves.items(), ("-", "-", "--")):
        ax.loglog(eps, err, ls=ls, label=label)
    ax.axvline(used, color="grey", ls=":", label=f"ε = {used:g} (used below)")
    ax.set(xlabel="step ε", ylabel="error of the estimate", title="Finite differences at p = 2")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))      # beside the plot, clear of the curves
    at = int(np.argmin(np.abs(eps - used)))
    parts = []
    for label, err in curves.items():
        k = int(np.argmin(err))
        parts.append(f"{label.split('  ')[0]}: smallest error {_sci(err[k])} at ε = {_sci(eps[k])}, "
                     f"{_sci(err[at])} at ε = {_sci(used)}")
    return style.describe(fig, (
        f"Log-log line chart of the error of three finite-difference estimates of a slope at p = 2 against the "
        f"step ε, from {_sci(eps.min())} to {_sci(eps.max())}; a dotted line marks ε = {_sci(used)}. Each error "
        f"falls as ε shrinks, then rises again where rounding takes over. {'; '.join(parts)}."))


def gradient_agreement(panels) -> Figure:
    """Analytic against numerical gradient entries, one scatter per ``{title: table}``.

    Each table is :func:`helpers.check_gradients`'s (``return_details=True``): columns
    ``numerical`` and ``analytic``, index ``X[...]`` / ``Theta[...]``. A correct gradient
    puts every point on the diagonal.
    """
    panels = dict(zip(as_labels(list(dict(panels)), "panels' titles"), dict(panels).values()))
    for title, tab in panels.items():
        if not all(hasattr(tab, name) for name in ("index", "columns")) or \
                not {"numerical", "analytic"} <= set(tab.columns):
            raise TypeError(f"panels[{title!r}] must be a DataFrame with columns 'numerical' and 'analytic' "
                            f"(helpers.check_gradients(..., return_details=True)); got {type(tab).__name__}")
        if len(tab) == 0 or not all(isinstance(i, str) for i in tab.index):
            raise ValueError(f"panels[{title!r}] must have a row per entry, indexed 'X[i,j]' or 'Theta[i,j]' "
                             f"(helpers.check_gradients(..., return_details=True)); got {len(tab)} rows")
    fig = Figure(figsize=(4.5 * len(panels), 4), layout="constrained")
    parts = []
    for ax, (title, tab) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels.items()):
        numerical = _within_range(as_vector(tab["numerical"], f"{title} numerical"), "the axis range",
                                  f"{title} numerical")
        analytic = _within_range(as_vector(tab["analytic"], f"{title} analytic", size=numerical.size), "the axis range",
                                 f"{title} analytic")
        lim = 1.1 * max(np.abs(numerical).max(), np.abs(analytic).max(), 1e-12)
        ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, zorder=1)
        is_x = np.asarray(tab.index.str.startswith("X"))
        ax.scatter(numerical[is_x], analytic[is_x], s=18, label="∂J/∂X entries")
        ax.scatter(numerical[~is_x], analytic[~is_x], s=18, marker="s", label="∂J/∂Θ entries")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="numerical (central differences)", ylabel="analytic",
               title=title, aspect="equal")
        ax.legend(loc="upper left")
        gap = float(np.abs(analytic - numerical).max())
        on = gap <= 1e-6 * max(1.0, np.abs(numerical).max())
        parts.append(f"{_capital(title)}: {numerical.size} entries, numerical from {num(numerical.min(), 1)} to "
                     f"{num(numerical.max(), 1)}, analytic from {num(analytic.min(), 1)} to {num(analytic.max(), 1)}; "
                     + (f"every point on the diagonal (largest difference {_sci(gap)})" if on else
                        f"the points lie off the diagonal, up to {num(gap, 1)} away"))
    return style.describe(fig, (
        f"{_how_many(len(panels), 'scatter plot')} of gradient entries, analytic against numerical, with the "
        f"diagonal where the two agree. {'. '.join(parts)}."))


# ------------------------------------------------------------------ 05: means


def _spread(values, digits: int = 2) -> str:
    """``"from 1.00 to 5.00, median 3.20"``."""
    return f"from {num(values.min(), digits)} to {num(values.max(), digits)}, median {num(np.median(values), digits)}"


def prediction_histograms(panels) -> Figure:
    """Histograms of predicted ratings, one panel per ``{title: predictions}``, in bins 1/8 star wide."""
    panels = as_series(panels, "panels")
    bins = np.arange(-1, 6.01, 0.125) - 0.0625       # bins 1/8 star wide, one of them centred on 0
    fig = Figure(figsize=(4 * len(panels), 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharex=True))
    parts = []
    for k, (ax, (title, values)) in enumerate(zip(axes, panels.items())):
        heights, edges, _ = ax.hist(values, bins=bins, color=f"C{k}")
        ax.set(title=title, xlabel="predicted rating", ylabel="movies" if k == 0 else None)
        full = np.flatnonzero(heights == values.size)
        if full.size:
            middle = (edges[full[0]] + edges[full[0] + 1]) / 2
            parts.append(f"{_capital(title)}: all {values.size:,} predictions in the single bar at {num(middle, 1)}")
        else:
            parts.append(f"{_capital(title)}: {values.size:,} predictions spread {_spread(values, 1)} stars")
    return style.describe(fig, (
        f"{_how_many(len(panels), 'histogram')} of predicted ratings, in bins an eighth of a star wide. "
        f"{'; '.join(parts)}."))


def _correlation(x, y) -> str:
    """The correlation of ``x`` and ``y`` as alt text writes it; "undefined" when either does not vary."""
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return "undefined (the values do not vary)"
    return num(float(np.corrcoef(x, y)[0, 1]))


def _against_counts(counts, values) -> str:
    """How ``values`` go with the number of ratings: their range and their correlation with log(count)."""
    r = _correlation(np.log(counts), values)
    return f"{_spread(values)} stars; correlation with the log of the number of ratings {r}"


def means_vs_counts(counts, panels) -> Figure:
    """Each movie's mean against its number of ratings (log scale), one scatter per ``{title: means}``."""
    counts = _counts(counts)
    panels = as_series(panels, "panels", size=counts.size)
    fig = Figure(figsize=(4.5 * len(panels), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharex=True))
    for k, (ax, (title, values)) in enumerate(zip(axes, panels.items())):
        ax.scatter(counts, values, s=6, alpha=0.5, color=f"C{k}")
        ax.set(xlabel="number of ratings (log scale)", ylabel="stars" if k == 0 else None, title=title)
        _log_counts(ax, counts.max())
    parts = ". ".join(f"{_capital(title)}: {_against_counts(counts, values)}" for title, values in panels.items())
    return style.describe(fig, (
        f"{_how_many(len(panels), 'scatter plot')}, one point per movie ({counts.size:,}), of its mean rating "
        f"against its number of ratings on a log scale from {counts.min():g} to {counts.max():g}. {parts}."))


def mean_funnel(counts, means, overall: float, sigma: float) -> Figure:
    """Each movie's mean against its number of ratings n, with the chance band overall ± 2σ/√n (dashed)."""
    counts = _counts(counts)
    means = as_vector(means, "means", size=counts.size)
    overall, sigma = as_float(overall, "overall"), as_float(sigma, "sigma", low=0)
    n = np.logspace(0, np.log10(counts.max()), 100)
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(counts, means, s=6, alpha=0.5, label="one movie")
    ax.plot(n, overall + 2 * sigma / np.sqrt(n), "k--", lw=1, label=r"overall mean $\pm 2\sigma/\sqrt{n}$")
    ax.plot(n, overall - 2 * sigma / np.sqrt(n), "k--", lw=1)
    ax.set(ylim=(0.5, 5.5), xlabel="number of ratings n (log scale)", ylabel="mean rating",
           title="Extreme means come from movies with few ratings")
    _log_counts(ax, counts.max())
    ax.legend(loc="lower right")
    extreme = (means <= means.min() + 1e-9) | (means >= means.max() - 1e-9)
    many = counts >= 100
    outside = np.abs(means - overall) > 2 * sigma / np.sqrt(counts)
    return style.describe(fig, (
        f"Scatter of the {counts.size:,} movies' mean ratings against their number of ratings n (log scale), "
        f"with dashed lines at the overall mean {overall:.2f} ± 2σ/√n, σ = {sigma:.2f}: from "
        f"{num(overall - 2 * sigma, 1)} to {num(overall + 2 * sigma, 1)} stars at 1 rating, ±{2 * sigma / 10:.1f} at "
        f"100. Means spread {_spread(means)}; the extreme means, {num(means.min())} and {num(means.max())}, all "
        f"come from movies with at most {counts[extreme].max():g} ratings. The band is wide on the left and "
        f"narrow on the right" + (f", where {outside[many].mean():.0%} of the {many.sum()} movies with 100 or more "
                                  "ratings lie outside it." if many.any() else "; no movie has 100 ratings.")))


def shrunk_means(counts, plain, shrunk, overall: float, k: float) -> Figure:
    """Plain and shrunk means against the number of ratings: shrinking pulls the few-rating movies in."""
    counts = _counts(counts)
    plain = as_vector(plain, "plain", size=counts.size)
    shrunk = as_vector(shrunk, "shrunk", size=counts.size)
    overall, k = as_float(overall, "overall"), as_float(k, "k", low=0)
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(counts, plain, s=6, alpha=0.35, label="plain mean")
    ax.scatter(counts, shrunk, s=6, alpha=0.6, color="C1", label=f"shrunk mean, k = {k:g}")
    ax.axhline(overall, color="k", lw=0.8, ls=":")
    ax.set(ylim=(0.5, 5.5), xlabel="number of ratings (log scale)", ylabel="stars",
           title="Shrinking pulls the few-rating movies to the middle")
    _log_counts(ax, counts.max())
    ax.legend(loc="lower right")
    one, many = counts == counts.min(), counts >= 100
    return style.describe(fig, (
        f"Scatter of the {counts.size:,} movies' plain means (blue) and shrunk means with k = {k:g} (orange) "
        f"against their number of ratings (log scale); a dotted line marks the overall mean {overall:.2f}. For "
        f"the {one.sum()} movies with {counts.min():g} rating{'s' if counts.min() != 1 else ''}, plain means run "
        f"from {num(plain[one].min())} to {num(plain[one].max())}, shrunk means only from {num(shrunk[one].min())} "
        f"to {num(shrunk[one].max())}. " + (f"For the {many.sum()} movies with 100 or more ratings the two differ "
                                            f"by at most {num(np.abs(plain - shrunk)[many].max())} stars." if
                                            many.any() else "No movie has 100 ratings.")))


# ------------------------------------------------------------------ 06: training


def _steps(J) -> tuple[int, int]:
    """A cost curve's steepest step (step t goes from J[t-1] to J[t]) and where 90 % of its fall is done."""
    fallen = J[0] - J
    return int(np.argmax(-np.diff(J))) + 1, int(np.argmax(fallen >= 0.9 * fallen[-1]))


def cost_curve(J_history, title: str) -> Figure:
    """One training run's cost curve, marking its steepest step and where 90 % of its fall is done."""
    J = _within_range(as_vector(J_history, "J_history"), "cost_curve: the axis range", "J_history")
    title = as_text(title, "title")
    if J.size < 2:
        raise ValueError(f"J_history needs the cost before and after at least one step; got {J.size} value(s)")
    steepest, ninety = _steps(J)
    fig = Figure(figsize=(6, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(J)
    ax.plot(steepest, J[steepest], "o", color="C1", label=f"steepest step (iteration {steepest})")
    ax.plot(ninety, J[ninety], "s", color="C2", label=f"90 % of the fall done (iteration {ninety})")
    ax.set(xlabel="iteration", ylabel="cost J", title=title)
    _thousands(ax)
    ax.legend()
    rises = int(np.sum(np.diff(J) > 0))
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\": the cost J over {J.size - 1} iterations {_falls(J)}, fastest at "
        f"iteration {steepest} (circle); 90 % of the fall is done by iteration {ninety} (square)"
        + (f"; it rises at {_count(rises, 'step')}." if rises else ".")))


def _colors(colors, n: int) -> list:
    """``n`` matplotlib colours (default the palette's first ``n``): one per curve, none left out."""
    from matplotlib.colors import is_color_like

    if colors is None:
        return [f"C{k}" for k in range(n)]
    if isinstance(colors, str) or not hasattr(colors, "__iter__"):
        raise TypeError(f"colors must be a list of colours, one per curve; got {colors!r}")
    colors = list(colors)
    if len(colors) != n:
        raise ValueError(f"colors must give one colour per curve ({n}); got {len(colors)}")
    for i, c in enumerate(colors):
        if not is_color_like(c):
            raise ValueError(f"colors[{i}] is not a colour matplotlib knows ('C0', '#0072b2', 'black'); got {c!r}")
    return colors


def cost_curves(histories, title: str, *, colors=None, zoom: bool = False) -> Figure:
    """Several cost curves on one chart, ``{label: J_history}``; ``zoom`` crops spikes above the first start."""
    histories = as_series(histories, "histories")
    for label, J in histories.items():
        _within_range(J, "cost_curves: the axis range", f"histories[{label!r}]")
    title, zoom = as_text(title, "title"), as_bool(zoom, "zoom")
    colors = _colors(colors, len(histories))
    fig = Figure(figsize=(6.5, 3.2), layout="constrained")
    ax = fig.subplots()
    for (label, J), color in zip(histories.items(), colors):
        ax.plot(J, color=color, label=label)
    if zoom:
        low = min(J.min() for J in histories.values())
        high = max(J[0] for J in histories.values())
        ax.set_ylim(low - 0.01 * (high - low), high + 0.01 * (high - low))
    ax.set(xlabel="iteration", ylabel="cost J", title=title)
    _thousands(ax)
    ax.legend()
    parts = []
    for label, J in histories.items():
        peak = "" if J.max() <= J[0] else f", after a peak of {num(J.max(), 0)} at iteration {int(np.argmax(J))}"
        parts.append(f"{_capital(label)} {_falls(J)} in {J.size - 1} iterations{peak}")
    best = min(histories, key=lambda label: histories[label][-1])
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\": the cost J against iteration for {len(histories)} runs. "
        f"{'; '.join(parts)}. {_capital(best)} ends lowest."))


# ------------------------------------------------------------------ 07: a map of the movies


def short_title(title: str) -> str:
    """A MovieLens title as it reads aloud: ``"Godfather, The (1972)"`` becomes ``"The Godfather"``."""
    title = as_text(title, "title")
    name = title.rsplit(" (", 1)[0] if title.endswith(")") else title
    for article in ("The", "A", "An"):
        if name.endswith(f", {article}"):
            return f"{article} {name[: -len(article) - 2]}"
    return name


def _place_labels(fig, ax, coords, titles, num_ratings, shown, min_ratings) -> list[int]:
    """Label, in each 0.3 x 0.3 square of the map, its most rated movie (``min_ratings``+), most rated first;
    a label that would overlap one already placed is left out. Returns the labelled rows."""
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    squares = {}
    for i in np.argsort(-num_ratings, kind="stable"):
        if num_ratings[i] >= min_ratings and shown[i]:
            squares.setdefault(tuple(np.floor(coords[i] / 0.3)), i)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)                                   # lays the axes out, so label boxes are final
    inside, placed, labelled = ax.get_window_extent(renderer), [], []
    for i in sorted(squares.values(), key=lambda i: -num_ratings[i]):
        label = ax.annotate(style.literal(short_title(titles[i])), coords[i], xytext=(4, 2), textcoords="offset points",
                            fontsize=9, path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])
        box = label.get_window_extent(renderer).padded(2)
        if any(box.overlaps(other) for other in placed) or box.x1 > inside.x1:
            label.remove()
            continue
        placed.append(box)
        labelled.append(int(i))
        ax.plot(*coords[i], "o", ms=5, mfc="none", mec="black", mew=0.9)
    return labelled


def _shown(shown, n: int) -> np.ndarray:
    """``shown``: one True/False (or 1/0) per movie, at least one True."""
    shown = as_vector(shown, "shown", size=n)
    if not np.all((shown == 0) | (shown == 1)):
        bad = shown[(shown != 0) & (shown != 1)][0]
        raise ValueError(f"shown must hold True/False (or 1/0) per movie; found {bad:g}")
    if not shown.any():
        raise ValueError("shown picks no movie: the map would be empty")
    return shown.astype(bool)


def movie_map(coords, titles, num_ratings, group, colored, *, shown=None, min_label_ratings: int = 40) -> Figure:
    """Movies at their 2-D coordinates (e.g. the first two principal components of their features).

    ``group`` names each movie's group; the groups in ``colored`` get the palette's
    colours in that order, every other group is drawn grey. ``shown`` (a mask) picks the
    movies on the map; the most rated movie of each small square of the map is labelled.
    """
    coords = _within_range(as_matrix(coords, "coords", finite=True), "movie_map: the map's range", "coords")
    n = coords.shape[0]
    sizes = [len(x) if hasattr(x, "__len__") and not isinstance(x, str) else None for x in (titles, group)]
    if coords.shape[1] != 2 or n == 0 or sizes != [n, n]:
        raise ValueError(f"coords must be (movies, 2), at least one movie, group and titles one per movie; got "
                         f"coords {coords.shape}, group of {sizes[1]}, {sizes[0]} titles")
    titles = as_titles(titles, n)
    num_ratings = as_vector(num_ratings, "num_ratings", size=n)
    group = np.asarray([as_text(g, f"group[{i}]") for i, g in enumerate(group)], dtype=object)
    shown = np.ones(n, dtype=bool) if shown is None else _shown(shown, n)
    if num_ratings[shown].min() < 1:
        raise ValueError(f"num_ratings of the movies shown must be >= 1 (a log scale); "
                         f"found {num_ratings[shown].min():g}")
    colored = as_labels(colored, "colored")
    min_label_ratings = as_float(min_label_ratings, "min_label_ratings", low=0)
    fig = Figure(figsize=(9.5, 7), layout="constrained")
    ax = fig.subplots()
    others = shown & ~np.isin(group, colored)
    other_name = _series(sorted(set(group[others]))) if others.any() else "other"
    ax.scatter(*coords[others].T, s=9, color="#c8c8c8", label=style.literal(other_name))
    for c, name in enumerate(colored):
        members = shown & (group == name)
        ax.scatter(*coords[members].T, s=12, color=f"C{c}", alpha=0.8, edgecolor="none", label=style.literal(name))
    ax.set(xlabel="first principal component", ylabel="second principal component",
           title="Learned movie features, projected to 2-D, coloured by genre")
    ax.legend(title=f"genre (u.item), movies with {num_ratings[shown].min():g}+ ratings", loc="lower left",
              fontsize=9, title_fontsize=9)
    labelled = _place_labels(fig, ax, coords, titles, num_ratings, shown, min_label_ratings)
    return style.describe(fig, _map_text(coords, titles, num_ratings, group, colored, shown, others, other_name,
                                         labelled))


def _map_text(coords, titles, num_ratings, group, colored, shown, others, other_name, labelled) -> str:
    """The alt text of :func:`movie_map`: the groups' medians, the labelled extremes, axis 2 against popularity."""
    sizes = "; ".join(f"{name}, {_count(np.sum(shown & (group == name)), 'movie')}, median first coordinate "
                      f"{signed(np.median(coords[shown & (group == name), 0]))}" for name in colored)
    at = {i: f"{short_title(titles[i])} at ({signed(coords[i, 0])}, {signed(coords[i, 1])})" for i in labelled}
    ends = ""
    if labelled:
        left, right = min(labelled, key=lambda i: coords[i, 0]), max(labelled, key=lambda i: coords[i, 0])
        top, bottom = max(labelled, key=lambda i: coords[i, 1]), min(labelled, key=lambda i: coords[i, 1])
        ends = (f" {len(labelled)} titles are labelled: leftmost {at[left]}, rightmost {at[right]}, highest "
                f"{at[top]}, lowest {at[bottom]}.")
    r = _correlation(coords[shown, 1], np.log(num_ratings[shown]))
    grey = f"; {other_name}, {_count(others.sum(), 'movie')}, in grey" if others.any() else ""
    return (f"Scatter map of the {shown.sum():,} movies with {num_ratings[shown].min():g} or more ratings, placed by "
            f"the first two principal components of their learned features and coloured by genre: {sizes}"
            f"{grey}.{ends} The second coordinate goes with how often a movie "
            f"was rated: its correlation with the log of the number of ratings is {r}.")


# ------------------------------------------------------------------ 08: the article's bugs


def masked_vs_unmasked(costs, predictions, actual) -> Figure:
    """Left: the masked cost J of each run, ``{label: J_history}``. Right: histograms of each run's
    predictions on the rated cells, ``{label: predictions}``, beside the actual ratings' mean."""
    costs, predictions = as_series(costs, "costs"), as_series(predictions, "predictions")
    actual = as_nonempty(as_vector(actual, "actual"), "actual")
    fig = Figure(figsize=(9.5, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for label, J in costs.items():
        axes[0].plot(J, label=label)
    axes[0].set(xlabel="iteration", ylabel="masked cost J", title="The cost it should minimise")
    _thousands(axes[0])
    axes[0].legend()
    bins = np.linspace(-1, 6, 57)
    for label, p in predictions.items():
        axes[1].hist(p, bins=bins, alpha=0.6, label=label)
    axes[1].set(xlabel="predicted rating, on rated cells", ylabel="ratings",
                title=f"Predictions where we know the answer (mean {actual.mean():.2f})")
    axes[1].legend()
    curves = "; ".join(f"{label} {_falls(J)}" for label, J in costs.items())
    means = "; ".join(f"{label}: mean {p.mean():.2f}, {_spread(p)}" for label, p in predictions.items())
    steps = max(J.size for J in costs.values()) - 1
    return style.describe(fig, (
        f"Left, line chart of the masked cost J over {steps} iterations of gradient descent: {curves}. Right, "
        f"overlapping histograms of the predictions on the {actual.size:,} rated cells, whose actual ratings "
        f"average {actual.mean():.2f}: {means}."))


# ------------------------------------------------------------------ 09: evaluation


def _timed_runs(runs) -> dict:
    """``{label: (seconds, J_history)}``, checked: at most four (one format each), two arrays of one length."""
    pairs = as_series({k: [0.0] for k in dict(runs)}, "runs", most=4)     # the labels: at least one, all different
    checked = {}
    for label, (key, pair) in zip(pairs, dict(runs).items()):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"runs[{key!r}] must be a pair (seconds, J_history); got {type(pair).__name__}")
        t = as_nonempty(as_vector(pair[0], f"runs[{key!r}] seconds"), f"runs[{key!r}] seconds")
        checked[label] = (t, as_vector(pair[1], f"runs[{key!r}] J", size=t.size))
    return checked


def convergence(runs, title: str) -> Figure:
    """J − min J + 1 (log scale) against seconds, one curve per ``{label: (seconds, J_history)}``."""
    runs = _timed_runs(runs)
    title = as_text(title, "title")
    J_min = min(J.min() for _, J in runs.values())
    fig = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = fig.subplots()
    for (label, (t, J)), fmt in zip(runs.items(), ("o-", "-", "s-", "--")):
        ax.semilogy(t, J - J_min + 1, fmt, ms=3, label=label)
    ax.set(xlabel="seconds", ylabel="J - min J + 1 (log scale)", title=title)
    ax.legend()
    parts = []
    for label, (t, J) in runs.items():
        close = int(np.argmax(J <= J_min + 0.01 * (J[0] - J_min)))
        parts.append(f"{_capital(label)}: {J.size - 1} steps in {t[-1]:.1f} s, final J {num(J[-1], 0)}; 99 % of the "
                     f"way down after step {close}, at {t[close]:.1f} s")
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\", log scale: the cost J minus its lowest value plus 1 against "
        f"seconds. {'; '.join(parts)}."))


def validation_curve(table, name: str, *, title: str) -> Figure:
    """RMSE against a setting (log scale), ``table`` indexed by the setting with columns ``validation``
    (which chooses: a grey line marks its minimum) and ``test`` (reported only)."""
    name, title = as_text(name, "name"), as_text(title, "title")
    if not all(hasattr(table, a) for a in ("index", "columns")) or not {"validation", "test"} <= set(table.columns):
        raise TypeError(f"table must be a DataFrame with columns 'validation' and 'test'; got {type(table).__name__}")
    xs = _counts(table.index, f"the index of table ({name})", low=np.finfo(float).tiny)   # > 0: a log axis
    val = as_vector(table["validation"], "table['validation']", size=xs.size)
    test = as_vector(table["test"], "table['test']", size=xs.size)
    best = int(np.argmin(val))
    fig = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, val, "o-", label="validation (chooses)")
    ax.plot(xs, test, "s--", label="test (reported)")
    ax.axvline(xs[best], color="grey", lw=0.8)
    ax.set(xscale="log", xlabel=f"{name} (log scale)", ylabel="RMSE", title=title)
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend()
    gap = np.round(test, 3) - np.round(val, 3)        # as a reader works it out from the table of RMSEs
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\": RMSE against {_plain(name)} on a log scale from {xs[0]:g} to "
        f"{xs[-1]:g}. Validation RMSE: {val[0]:.3f} at {xs[0]:g}, lowest {val[best]:.3f} at {xs[best]:g} (grey line), "
        f"{val[-1]:.3f} at {xs[-1]:g}. Test RMSE: {test[0]:.3f}, {test[best]:.3f} and {test[-1]:.3f} at the same "
        f"points, {gap.min():.3f} to {gap.max():.3f} above validation."))


def training_curves(curves, title: str) -> Figure:
    """RMSE after every sweep, ``{λ: DataFrame indexed by sweep with columns training, validation}``:
    solid for the training part, dashed for validation, one colour per λ."""
    curves, title = dict(curves), as_text(title, "title")
    as_labels(list(curves), "curves' lambdas")
    for lam, c in curves.items():
        as_float(lam, "a key of curves (λ)")
        if not all(hasattr(c, a) for a in ("index", "columns")) or not {"training", "validation"} <= set(c.columns) \
                or len(c) == 0:
            raise TypeError(f"curves[{lam!r}] must be a DataFrame with columns 'training' and 'validation', a row "
                            f"per sweep; got {type(c).__name__}")
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    parts = []
    for k, (lam, c) in enumerate(curves.items()):
        sweeps = as_vector(c.index, f"curves[{lam!r}] sweeps")
        train = as_vector(c["training"], f"curves[{lam!r}]['training']", size=sweeps.size)
        val = as_vector(c["validation"], f"curves[{lam!r}]['validation']", size=sweeps.size)
        ax.plot(sweeps, train, "-", color=f"C{k}", label=fr"$\lambda$ = {lam:g}: training (fit part)")
        ax.plot(sweeps, val, "--", color=f"C{k}", label=fr"$\lambda$ = {lam:g}: validation")
        parts.append(f"λ = {lam:g}: training {_falls(train, 3)}, validation {_falls(val, 3)} (lowest "
                     f"{val.min():.3f}, after sweep {sweeps[int(np.argmin(val))]:g}); gap at the end "
                     f"{val[-1] - train[-1]:.3f}")
    ax.set(xlabel="ALS sweep", ylabel="RMSE", title=title)
    ax.legend(ncols=2, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    n = max(len(c) for c in curves.values())
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\": RMSE after each of {n} ALS sweeps, solid lines on the training "
        f"ratings, dashed on the validation ratings. {'; '.join(parts)}."))


def running_average(rmse, reference: float, reference_label: str, title: str) -> Figure:
    """The test RMSE of the average of the first n draws against n, with a reference model's RMSE (dashed)."""
    rmse = as_nonempty(as_vector(rmse, "rmse"), "rmse")
    reference = as_float(reference, "reference")
    reference_label, title = as_text(reference_label, "reference_label"), as_text(title, "title")
    n = np.arange(1, rmse.size + 1)
    fig = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(n, rmse, label="average of the draws so far")
    ax.axhline(reference, color="C1", ls="--", label=reference_label)
    ax.set(xlabel="draws averaged", ylabel="test RMSE", ylim=(0.89, 1.0), title=title)
    ax.legend()
    marks = [m for m in (1, 10, 30, 100) if m < rmse.size] + [rmse.size]
    values = ", ".join(f"{rmse[m - 1]:.3f} for {m}" for m in marks)
    below = np.flatnonzero(rmse < reference)
    passed = (f"the average first gets below it with {int(below[0]) + 1} draws" if below.size else
              "the average never gets below it")
    return style.describe(fig, (
        f"Line chart titled \"{_plain(title)}\": the test RMSE of the average of the first n draws against n, "
        f"from 1 to {rmse.size}: {values}; a dashed line marks {reference_label} at {reference:.3f}, and {passed}."))
