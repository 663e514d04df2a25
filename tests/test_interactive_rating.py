"""recsys_tutorial/interactive/rating.py: notebook 07's taste picture and rating widget fold ratings in, keep a
valid state, name their buttons by what they do and show one mean per movie."""

from __future__ import annotations

import re

import numpy as np
import pytest

import helpers as h
from fakes import WIDGET_TITLES as TITLES, img_of, renderer_of, small_ratings
from recsys_tutorial import interactive as ia

from recsys_tutorial.style import alt_text


def test_taste_figure_plots_mean_stars_and_prediction():
    Y, R = small_ratings(3)
    _, base = h.recommend({}, Y, R, TITLES, num_features=3, num_iters=20, return_model=True)
    ratings = {2: 5.0, 5: 1.0}
    me = h.fold_in(base, ratings)
    fig = ia.taste_figure(me, ratings, TITLES)
    mean, stars, pred = (line.get_xdata() for line in fig.axes[0].lines)
    order = [5, 2]                                       # sorted by my stars
    np.testing.assert_allclose(mean, base.b_movie[order])
    np.testing.assert_allclose(stars, [1, 5])
    np.testing.assert_allclose(pred, me.predict_all(clip=False)[order, 0])
    alt = alt_text(fig)
    assert alt.startswith("Dot chart of the 2 movies I rated")
    assert f"movie 2 (1992): mean {base.b_movie[2]:.2f}, my 5, predicted {pred[1]:.2f}" in alt
    by_title = ia.taste_figure(me, {TITLES[2]: 5.0, TITLES[5]: 1.0}, TITLES)   # keyed by title: was IndexError
    np.testing.assert_allclose(by_title.axes[0].lines[2].get_xdata(), pred)
    legend = fig.legends[0].get_window_extent(renderer_of(fig))
    assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1, legend.y1)   # not clipped


def test_rating_widget_folds_in_at_each_click(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False)
    start = w.top.value
    w.search.value = "movie 12"
    assert w.matches.value == 12
    w._rate_selected(5)
    assert w.ratings == {12: 5.0} and w.top.value != start
    assert "movie 12 (2002)" in w.mine.children[0].children[1].value
    expected = h.recommend({12: 5}, Y, R, TITLES, n=5, model=base)
    assert all(t in w.top.value for t in expected.title)
    assert w.announcer.message == (f"Your top 5 updated for 1 rating: 1. {expected.title[0]}; "
                                   f"2. {expected.title[1]}; 3. {expected.title[2]}.")
    w._remove_button = w.mine.children[0].children[0]
    w._remove_button.click()
    assert w.ratings == {} and w.top.value == start and not w.mine.children
    assert len(w.timings) == 3 and all(0 <= a <= b for a, b in w.timings)
    assert "ratings folded in: 0" in w.status.value
    with pytest.raises(ValueError, match="neither a 0-based row"):
        ia.RatingWidget(base, Y, R, TITLES, ratings={"no such movie": 3})


def test_rating_widget_buttons_are_named_by_what_they_do(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False)
    w.search.value = "(1997)"
    assert [b.description for b in w.stars] == [f"rate movie 7 (1997) {k} star{'s' if k > 1 else ''}"
                                                for k in range(1, 6)]
    assert all("recsys-icon" in b._dom_classes and f"recsys-stars-{k}" in b._dom_classes
               for k, b in enumerate(w.stars, start=1))
    w.rate("movie 7 (1997)", 4)
    remove, label = w.mine.children[0].children
    assert remove.description == "remove movie 7 (1997)" and "aria-label='4 of 5 stars'" in label.value
    w.search.value = "no film has this title"
    assert w.matches.value is None and all(b.disabled for b in w.stars)
    assert w.search.description == "Search" and w.matches.description == "Matches"


def test_rating_widget_shows_one_mean_per_movie_and_no_empty_picture(base_model):
    """The search list and the table show the same mean, the model's (shrunk) one; before the first rating
    the picture is a sentence, not an empty <img> (a broken-image icon in the browser)."""
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=40 - 1)
    assert "<img" not in w.picture.value and "Rate a movie" in w.picture.value
    w.search.value = "(1993)"
    label, row = w.matches.options[0]
    assert row == 3 and f"mean {base.mu + base.b_movie[3]:.2f}" in label
    w.rate(12, 5)
    cells = re.search(r"movie 3 \(1993\).*?</td><td>[0-9.]+</td><td>([0-9.]+)</td>", w.top.value).group(1)
    assert cells == f"{base.mu + base.b_movie[3]:.2f}"
    attrs, data = img_of(w.picture.value)
    assert data.startswith(b"\x89PNG") and "movie 12 (2002): mean" in attrs["alt"]


def test_rating_widget_explains_why_favourites_barely_move_the_list(base_model):
    pytest.importorskip("ipywidgets")
    Y, R, base = base_model
    w = ia.RatingWidget(base, Y, R, TITLES, n=5, picture=False, ratings={2: 5, 9: 1})
    gap = np.mean(np.abs(np.array([5, 1]) - (base.mu + base.b_movie[[2, 9]])))
    assert f"differ from the movies' means by {gap:.2f} stars on average" in w.hint.value
    assert "learns your taste only from such differences" in w.hint.value
