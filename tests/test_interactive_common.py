"""recsys_tutorial/interactive/_common.py: widget pictures are <img alt> drawn at twice their shown size, and
the live region names the sliders."""

from __future__ import annotations

from io import BytesIO

import pytest

from fakes import img_of
from recsys_tutorial import interactive as ia
from recsys_tutorial.interactive import _common


def test_widget_pictures_are_drawn_at_twice_their_shown_size_with_alt_text():
    from PIL import Image

    fig = ia.descent_figure(0.1)
    attrs, data = img_of(ia.image_html(fig, "a <described> picture"))
    shown = round(fig.get_figwidth() * _common.DPI)
    assert attrs["width"] == str(shown) and attrs["alt"] == "a &lt;described&gt; picture"
    assert Image.open(BytesIO(data)).size[0] == 2 * shown
    assert Image.open(BytesIO(data)).mode == "P"            # a 256-colour palette, as stored figures
    with pytest.raises(TypeError, match="alt"):
        ia.image_html(fig, "  ")


def test_announcer_is_a_live_region_that_names_the_sliders():
    pytest.importorskip("anywidget")
    said = ia.Announcer(message="hello")
    assert isinstance(said, ia.Announcer) and said.message == "hello"
    assert 'setAttribute("aria-live", "polite")' in said._esm and "aria-labelledby" in said._esm
    assert ".recsys-widget :focus-visible" in said._css and "outline: 2px solid #1976d2" in said._css
    for k in range(1, 6):       # the star glyphs have no name of their own: the description is the name
        assert f'content: "{"★" * k}" / "";' in said._css
