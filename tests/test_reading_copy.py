"""teacher/reading_copy: ``make html``, the notebooks as accessible static HTML.

The builder's promises, each tested on small notebooks made here: one page per
notebook with one ``h1`` (its title, also the page's ``<title>``) and headings in
order; every image with real alt text, else the build fails and writes nothing
(nbconvert's own placeholder, which axe accepts, included); the accessibility CSS
included; widgets replaced by a note; a start page linking the chapters in order.

Then the real thing: ``make html``'s pages of the saved notebooks, checked by axe-core
(the ``axe-playwright-python`` package) in Debian's headless Chromium, must have no
serious or critical violation (``-m browser``; skipped with the reason when Chromium
or the ``browser`` extra is missing, a failure under ``BROWSER_TEST_REQUIRED=1``, as
in ``tests/test_browser.py``). The counts per page are printed (``-s``) and written to
``artifacts/reading-copy/axe.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import warnings
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from recsys_tutorial.style import MISSING_ALT
from teacher import reading_copy

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "artifacts" / "reading-copy"
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def notebook(*cells):
    """A notebook from ("md", source) and ("code", source, [outputs]) tuples."""
    nb = nbformat.v4.new_notebook()
    for kind, source, *outputs in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs[0] if outputs else []))
    return nb


def figure_output(alt):
    img = f'<img src="data:image/png;base64,{PNG_1PX}" width="1" height="1"' + (f' alt="{alt}"' if alt is not None
                                                                                else "") + "/>"
    return nbformat.v4.new_output("display_data", data={"text/html": img, "text/plain": "<Figure size 1x1>"})


def png_output(alt=None):
    metadata = {"image/png": {"alt": alt}} if alt else {}
    return nbformat.v4.new_output("display_data", data={"image/png": PNG_1PX}, metadata=metadata)


GOOD = notebook(("md", "# 1 · A chapter\n\nSome [linked](https://example.org) prose."),
                ("code", "plots.curve()", [figure_output("Line chart of J: it falls from 45,910 to 29,372.")]),
                ("md", "## A section\n\n### A subsection"),
                ("code", "df", [nbformat.v4.new_output("execute_result", execution_count=1,
                                                        data={"text/html": "<table><thead><tr><th></th><th>a</th>"
                                                              "</tr></thead><tbody><tr><th>0</th><td>1</td></tr>"
                                                              "</tbody></table>",
                                                              "text/plain": "   a\n0  1"})]))
NAV = {"index": "index.html", "previous": None, "next": None}


def page(nb, name="01-a.ipynb"):
    return BeautifulSoup(reading_copy.chapter_page(nb, name, nav=NAV), "html.parser")


# ---------------------------------------------------------------- one page


def test_chapter_title_is_the_first_level_one_heading():
    nb = notebook(("md", "```\n# not a heading\n```\nintro"), ("md", "# 3 · *The* cost\n\n## part"))
    assert reading_copy.chapter_title(nb) == "3 · The cost"
    with pytest.raises(ValueError, match="x.ipynb: no '# title' heading"):
        reading_copy.chapter_title(notebook(("md", "## only a section")), "x.ipynb")


def test_a_page_has_one_h1_its_title_the_css_and_the_figure_alt_text():
    soup = page(GOOD)
    assert [h.get_text(strip=True).rstrip("¶") for h in soup.find_all("h1")] == ["1 · A chapter"]
    assert soup.title.get_text() == "1 · A chapter"
    assert soup.html["lang"] == "en" and soup.find("main") is not None
    assert [img["alt"] for img in soup.find_all("img")] == ["Line chart of J: it falls from 45,910 to 29,372."]
    css = " ".join(style.get_text() for style in soup.find_all("style"))
    assert "--jp-cell-prompt-not-active-opacity: 1" in css and "text-decoration: underline" in css
    table = soup.find("table")
    assert [th.get_text() for th in table.find_all("th")] == ["a", "0"]       # the column's and the row's headers
    assert table.find("thead").find("td").get_text() == ""                    # pandas' empty corner is no header
    scripts = [s.get("src", "") for s in soup.find_all("script")]
    assert not any("require" in src or "mermaid" in src for src in scripts), scripts


def test_the_pages_link_the_chapters_before_and_after():
    first, second = (reading_copy.Chapter(Path(f"0{k}-x.ipynb"), f"0{k}-x.html", f"{k} · Title {k}") for k in (1, 2))
    html = reading_copy.chapter_page(GOOD, "02-x.ipynb", nav={"index": "index.html", "previous": first, "next": None})
    navs = BeautifulSoup(html, "html.parser").find_all("nav")
    assert [n["aria-label"] for n in navs] == ["Chapters", "Chapters, end of page"]
    links = [(a["href"], a.get_text()) for a in navs[0].find_all("a")]
    assert links == [("index.html", "Contents"), ("01-x.html", "Previous: 1 · Title 1")]
    assert second.href == "02-x.html"


def test_an_image_output_keeps_the_alt_text_of_its_metadata():
    nb = notebook(("md", "# t"), ("code", "x", [png_output(alt="Bar chart: 3 bars, tallest 5.")]))
    assert [img["alt"] for img in page(nb).find_all("img")] == ["Bar chart: 3 bars, tallest 5."]


@pytest.mark.parametrize("output, why", [
    (png_output(), "nbconvert: Alternative text is missing on 1 image"),
    (figure_output(None), "nbconvert: Alternative text is missing on 1 image"),
    (figure_output(MISSING_ALT), "an image without alt text"),
    (figure_output(""), "an image without alt text"),
    (figure_output("  "), "an image without alt text"),
])
def test_a_figure_without_alt_text_fails_the_build(output, why):
    nb = notebook(("md", "# t"), ("code", "x", [output]))
    cell = nb.cells[1].id
    with pytest.raises(ValueError, match=re.escape(why)) as caught:
        reading_copy.chapter_page(nb, "05-x.ipynb", nav=NAV)
    assert "05-x.ipynb" in str(caught.value)
    if "without alt" in why:
        assert f"cell {cell}" in str(caught.value)


@pytest.mark.parametrize("cells, why", [
    ((("md", "## before\n\n# t"),), "exactly one h1, before any other heading"),
    ((("md", "# t"), ("md", "# again")), "exactly one h1"),
    ((("md", "# t\n\n### too deep"),), "heading 2 (h3) follows an h1"),
])
def test_headings_out_of_order_fail_the_build(cells, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        reading_copy.chapter_page(notebook(*cells), "x.ipynb", nav=NAV)


def test_a_widget_becomes_a_note_and_its_state_is_left_out():
    view = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox(children=(FloatSlider(value=0.1, description='α'),))"})
    nb = notebook(("md", "# t"), ("code", "explorer()", [view]))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    prepared = reading_copy.reading_notebook(nb, "06-x.ipynb")
    assert "widgets" not in prepared.metadata and "widgets" in nb.metadata          # the original is untouched
    html = reading_copy.chapter_page(nb, "06-x.ipynb", nav=NAV)
    assert "FloatSlider" not in html and "widget-state" not in html
    note = BeautifulSoup(html, "html.parser").find(class_="reading-copy-widget")
    assert "notebooks/06-x.ipynb" in note.get_text() and "running Python kernel" in note.get_text()


# ---------------------------------------------------------------- the copy


def _write(folder: Path, name: str, nb) -> Path:
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_build_writes_one_page_per_notebook_and_a_start_page_in_order(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    for k in (2, 1, 10):
        _write(src, f"{k:02d}-n.ipynb", notebook(("md", f"# {k} · Chapter {k}"),
                                                 ("code", "f()", [figure_output(f"Chart {k}: rises to {k}.")])))
    (src / "notes.ipynb").write_text("not a chapter: no number")
    chapters = reading_copy.build([src], tmp_path / "html")
    assert [c.title for c in chapters] == ["1 · Chapter 1", "2 · Chapter 2", "10 · Chapter 10"]
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == ["01-n.html", "02-n.html", "10-n.html",
                                                                     "index.html"]
    start = BeautifulSoup((tmp_path / "html" / "index.html").read_text(), "html.parser")
    assert len(start.find_all("h1")) == 1 and start.html["lang"] == "en"
    assert [(a["href"], a.get_text()) for a in start.find("ol").find_all("a")] == [
        ("01-n.html", "1 · Chapter 1"), ("02-n.html", "2 · Chapter 2"), ("10-n.html", "10 · Chapter 10")]
    middle = BeautifulSoup((tmp_path / "html" / "02-n.html").read_text(), "html.parser").find("nav")
    assert [a["href"] for a in middle.find_all("a")] == ["index.html", "01-n.html", "10-n.html"]


def test_build_refuses_every_bad_notebook_at_once_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src, "01-ok.ipynb", GOOD)
    _write(src, "02-bad.ipynb", notebook(("md", "# 2"), ("code", "x", [png_output()])))
    _write(src, "03-bad.ipynb", notebook(("md", "# 3"), ("code", "x", [figure_output(MISSING_ALT)])))
    dest = tmp_path / "html"
    with pytest.raises(ValueError) as caught:
        reading_copy.build([src], dest)
    assert "02-bad.ipynb" in str(caught.value) and "03-bad.ipynb" in str(caught.value)
    assert "01-ok" not in str(caught.value) and not dest.exists()
    assert reading_copy.main([str(src), "--dest", str(dest)]) == 1
    assert "02-bad.ipynb" in capsys.readouterr().err and not dest.exists()


def test_build_names_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "01-x.ipynb").write_text("{ not json")
    with pytest.raises(ValueError, match="01-x.ipynb as a notebook"):
        reading_copy.build([tmp_path], tmp_path / "html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no notebooks found in .*empty"):
        reading_copy.build([tmp_path / "empty"], tmp_path / "html")
    with pytest.raises(ValueError, match="cannot read .*missing.ipynb"):
        reading_copy.build([tmp_path / "missing.ipynb"], tmp_path / "html")


def test_main_builds_and_says_where(tmp_path, capsys):
    _write(tmp_path, "01-a.ipynb", GOOD)
    assert reading_copy.main([str(tmp_path / "01-a.ipynb"), "--dest", str(tmp_path / "out")]) == 0
    assert "index.html and 1 chapters" in capsys.readouterr().out
    assert (tmp_path / "out" / "01-a.html").is_file()


@pytest.fixture(scope="module")
def copy_of_the_notebooks(tmp_path_factory):
    """``make html`` of the saved notebooks (the build itself checks alt text and headings)."""
    dest = tmp_path_factory.mktemp("reading-copy")
    chapters = reading_copy.build([NOTEBOOKS], dest)
    return dest, chapters


@pytest.mark.slow
def test_the_saved_notebooks_make_a_reading_copy(copy_of_the_notebooks):
    dest, chapters = copy_of_the_notebooks
    assert [c.source.name for c in chapters] == sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
    for chapter in chapters:
        soup = BeautifulSoup((dest / chapter.href).read_text(encoding="utf-8"), "html.parser")
        assert soup.title.get_text() == chapter.title
        assert all(img.get("alt") for img in soup.find_all("img")), chapter.href


# ---------------------------------------------------------------- axe-core in Chromium


def _missing_prerequisite() -> str | None:
    for module, extra in (("playwright", "playwright"), ("axe_playwright_python", "axe-playwright-python")):
        if importlib.util.find_spec(module) is None:
            return f"Python package {extra!r} is not installed (pip install -e '.[browser]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM=/path)"
    return None


@pytest.mark.browser
@pytest.mark.slow
def test_axe_finds_no_serious_or_critical_violation_on_any_page(copy_of_the_notebooks, tmp_path):
    reason = _missing_prerequisite()
    if reason:
        message = f"axe check of the reading copy not run: {reason}"
        if os.environ.get("BROWSER_TEST_REQUIRED") == "1":
            pytest.fail(message + " (BROWSER_TEST_REQUIRED=1)", pytrace=False)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    dest, chapters = copy_of_the_notebooks
    axe, counts, serious = Axe(), {}, {}
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            # Only the page itself: MathJax's CDN is refused, so formulas stay TeX text (what a reader offline sees).
            context.route(re.compile(r"^(?!file:|data:|blob:).*"), lambda route: route.abort())
            page_ = context.pages[0] if context.pages else context.new_page()
            for name in ["index.html"] + [c.href for c in chapters]:
                page_.goto((dest / name).as_uri(), wait_until="load")
                violations = axe.run(page_, options={"resultTypes": ["violations"]}).response["violations"]
                counts[name] = {v["id"]: [v["impact"], len(v["nodes"])] for v in violations}
                serious[name] = {rule: n for rule, (impact, n) in counts[name].items()
                                 if impact in ("serious", "critical")}
        finally:
            context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(counts, indent=1), encoding="utf-8")
    for name, found in counts.items():
        print(f"axe {name}: {found or 'no violations'}")
    assert not any(serious.values()), {name: rules for name, rules in serious.items() if rules}
