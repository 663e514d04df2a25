"""The notebooks' own conventions, checked on the committed files (nbval runs them: pyproject.toml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def _setup_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_setup_is_one_line_that_applies_the_shared_style(path):
    first = _setup_cell(path).split("\n")[0]
    assert first.startswith("from recsys_tutorial.notebook import "), \
        f"{path.name}: the setup cell starts with the one-line setup (recsys_tutorial/notebook.py)"
    text = path.read_text(encoding="utf-8")
    assert "%matplotlib" not in text and "style.apply()" not in text, \
        f"{path.name}: the one-line setup turns on the inline backend and the style"
    assert '\\"figure.dpi\\"' not in text and "'figure.dpi'" not in text, \
        f"{path.name}: figure.dpi is set in recsys_tutorial/style.py only"


# --------------------------------------------------------------------------------------
# Every figure in the saved notebooks has alt text (issue 23): an <img alt> that says what it shows
# and its key numbers. JupyterLab 4.6 and Voila 0.5 ignore metadata["image/png"]["alt"], so a figure
# must reach the page as text/html <img alt> (recsys_tutorial/style.py); measured in benchmarks/README.md.
# --------------------------------------------------------------------------------------

NBCONVERT_PLACEHOLDER = "No description has been provided for this image"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def _img_alts(html: str) -> list:
    """The alt attribute of each <img> in ``html`` (None where there is none)."""
    from html.parser import HTMLParser

    alts = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                alts.append(dict(attrs).get("alt"))

    Parser().feed(html)
    return alts


def _images(path: Path) -> list[tuple[str, str | None]]:
    """``(where, alt)`` for every image a saved notebook shows: <img> in HTML outputs and markdown, and
    bare image outputs (which JupyterLab shows without alt: their alt is None)."""
    import re

    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for k, cell in enumerate(nb["cells"]):
        where = f"{path.name} cell {k} ({cell.get('id')})"
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            found += [(where, alt) for alt in re.findall(r"!\[([^\]]*)\]\(", source)]
            found += [(where, alt) for alt in _img_alts(source)]
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            html = "".join(data.get("text/html", ""))
            alts = _img_alts(html)
            found += [(where, alt) for alt in alts]
            if any(mime in data for mime in IMAGE_MIMES) and not alts:
                found.append((where + f": a bare {next(m for m in IMAGE_MIMES if m in data)} output", None))
    return found


ALL_IMAGES = [(where, alt) for path in NOTEBOOKS for where, alt in _images(path)]


def test_the_notebooks_show_figures():
    assert len(ALL_IMAGES) >= 20, "the saved notebooks lost their figures: re-run them (make notebooks)"


@pytest.mark.parametrize("where, alt", ALL_IMAGES, ids=[where.split(" (")[0] for where, _ in ALL_IMAGES])
def test_every_image_has_alt_text_with_its_key_numbers(where, alt):
    import re

    from recsys_tutorial.style import MISSING_ALT

    assert alt is not None, f"{where}: no alt text; show figures through the notebooks' setup (text/html <img alt>)"
    alt = alt.strip()
    assert alt and alt not in (MISSING_ALT, NBCONVERT_PLACEHOLDER), \
        f"{where}: the figure has no description: give it one with recsys_tutorial.style.describe (or plots)"
    assert not alt.startswith("<Figure"), f"{where}: matplotlib's repr is not alt text: {alt!r}"
    assert re.search(r"\d", alt), f"{where}: the alt text states no number from the data: {alt!r}"
    assert len(alt) >= 40, f"{where}: too short to say what the figure shows: {alt!r}"


def test_every_figure_has_its_own_alt_text():
    from recsys_tutorial.style import MISSING_ALT

    seen: dict[str, str] = {}
    for where, alt in ALL_IMAGES:
        if alt and alt.strip() not in (MISSING_ALT, NBCONVERT_PLACEHOLDER):     # those fail the test above
            assert alt not in seen, f"{where} has the same alt text as {seen[alt]}: {alt!r}"
            seen[alt] = where
