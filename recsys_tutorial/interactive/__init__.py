"""The notebooks' interactive parts: the widgets and the pictures they redraw.

====  ==============  ================================  ==========================================
 nb   module          what                              functions
====  ==============  ================================  ==========================================
 06   ``training``    λ, α and iterations explorer      :class:`TrainingRuns`, :class:`TrainingPicture`,
                                                        :func:`build_training_explorer`
 06   ``descent``     gradient descent you can steer    :func:`descent_path`, :func:`descent_figure`,
                                                        :func:`descent_verdict`,
                                                        :func:`build_descent_explorer`
 07   ``rating``      your own ratings, live            :func:`taste_figure`, :class:`RatingWidget`
 ..   ``_common``     what every widget shares          :func:`image_html`, :class:`Announcer`
====  ==============  ================================  ==========================================

Everything a learner computes lives in :mod:`helpers`; this package only arranges
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

from ._common import _announcer_class, image_html
from .descent import build_descent_explorer, descent_figure, descent_path, descent_verdict
from .rating import RatingWidget, taste_figure
from .training import TrainingPicture, TrainingRuns, build_training_explorer

__all__ = ["TrainingRuns", "TrainingPicture", "build_training_explorer", "descent_path", "descent_figure",
           "descent_verdict", "build_descent_explorer", "taste_figure", "RatingWidget", "Announcer", "image_html"]


def __getattr__(name):
    """``Announcer`` is made on first use: anywidget (and with it ipywidgets) loads only then."""
    if name == "Announcer":
        return _announcer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
