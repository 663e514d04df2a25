"""Notebook 07's own ratings, live: :func:`taste_figure` (my stars against each movie's mean and the
prediction) and :class:`RatingWidget` (search, rate, and a top 10 folded in at every click)."""

from __future__ import annotations

import functools
import html
import time

import numpy as np
from matplotlib.figure import Figure

import helpers
from ..style import alt_text, describe, literal
from ..validation import as_bool, as_float, as_int, as_ratings, as_titles
from ._common import BLUE, DPI, GREY, ORANGE, SKY, VERMILLION, _announcer, _icon_button, _title_html, image_html


def _short(title: str, width: int = 34) -> str:
    """A title cut to ``width`` characters with an ellipsis, for axis labels."""
    return title if len(title) <= width else title[:width - 1].rstrip() + "…"


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
    ax.set_yticks(y, [literal(_short(titles[rows[i]])) for i in order], fontsize=9)
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
        """The starting ratings: None, a dict ``{row or title: stars}`` or a vector (0 = not rated) as
        :func:`helpers.ratings_vector` takes it."""
        if ratings is None:
            return {}
        if isinstance(ratings, (str, bytes)) or not hasattr(ratings, "__iter__"):
            raise TypeError(f"ratings must be a dict {{row or title: stars}}, a vector of one rating per movie "
                            f"(0 = not rated) or None; got {type(ratings).__name__}")
        if not hasattr(ratings, "items"):
            vec = helpers.ratings_vector(ratings, len(self.titles))
            ratings = {int(i): vec[i] for i in np.flatnonzero(vec)}
        rows, stars = _rated_rows(dict(ratings), self.titles)
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
        """Fold ``ratings`` in (which checks them) and draw the picture, then show both; time both. On an error
        (a refused rating, a picture that cannot be drawn) nothing has changed."""
        start = time.perf_counter()
        table, me = helpers.recommend(ratings, self.Y, self.R, self.titles, n=self.n, model=self.model,
                                      lambda_=self.lambda_, return_model=True)
        top = self._top_html(table, me)
        table_seconds = time.perf_counter() - start
        picture = ("<p class='recsys-note'>Rate a movie: a picture of your ratings against the model's "
                   "predictions appears here.</p>")
        if self.show_picture and ratings:
            fig = taste_figure(me, ratings, self.titles)
            picture = image_html(fig, alt_text(fig))
        self.ratings = dict(ratings)
        self.top.value = top
        self.mine.children = [self._rows.get((row, stars)) or self._rating_row(row, stars)
                              for row, stars in self.ratings.items()]
        self.hint.value = self._hint_html()
        if self.show_picture:
            self.picture.value = picture
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
