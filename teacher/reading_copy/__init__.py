"""The reading copy: the notebooks as accessible static HTML, for a course site or a learning management system.

Command line (``make html [HTML_DIR=dir]`` runs it)::

    python -m teacher.reading_copy [--dest html] notebooks

Each notebook becomes one page with the outputs it was saved with (nothing is run),
named like the notebook (``01-overview-toy-example.html``), and ``index.html`` lists
the chapters in order with their titles. Every page links to the start page and to
the chapters before and after it.

What makes the pages accessible, and what the build refuses:

* **Figures carry alt text.** The notebooks show every figure as ``<img alt>``
  (:mod:`recsys_tutorial.style`, :mod:`recsys_tutorial.plots`); the template also
  writes an image output's ``metadata["alt"]``, which nbconvert's lab template drops.
  nbconvert gives an image without alt a placeholder ("No description has been
  provided for this image") that axe accepts, so the build fails on it instead, and
  on an empty alt and on the stand-in of :data:`recsys_tutorial.style.MISSING_ALT`.
* **Headings.** One ``h1`` per page, the notebook's title (also the page's
  ``<title>``), and no heading more than one level below the one before it; the
  build fails otherwise, naming the notebook.
* **Contrast and links.** ``recsys_tutorial/static/accessible.css`` (the same file
  ``make lab`` gives JupyterLab): code and prompt colours of at least 4.5:1, links
  underlined. Tables keep their header cells (pandas writes ``<th>``); the empty
  corner cell pandas writes above a table's index becomes a ``<td>``, since a header
  cell that heads nothing confuses a screen reader (axe's ``empty-table-header``).
* **No third-party scripts** but MathJax (from its CDN, as nbconvert does; without a
  network the formulas stay readable as TeX). Widgets need a running kernel, so each
  is replaced by a note that says so; require.js and the widget state are left out.

``tests/test_reading_copy.py`` builds the copy and runs axe-core in Chromium on every
page: no serious or critical violation. Before and after: ``benchmarks/README.md``,
"Alt text".
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["PLACEHOLDER_ALT", "Chapter", "chapter_title", "reading_notebook", "page_problems", "chapter_page",
           "start_page", "build", "main"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: What nbconvert writes into an ``<img>`` that has no alt text (``HTMLExporter.from_notebook_node``).
PLACEHOLDER_ALT = "No description has been provided for this image"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p class="reading-copy-widget"><strong>Interactive part.</strong> In the notebook, a widget '
               "stands here (sliders, buttons or pictures that redraw). It needs a running Python kernel, so "
               "this reading copy cannot show it: open <code>{name}</code> in JupyterLab to use it.</p>")
REFUSED = "the reading copy refuses these notebooks (nothing was written):"
START_TITLE = "Build a movie recommender from scratch: the reading copy"


@dataclass(frozen=True)
class Chapter:
    """One notebook of the reading copy: its file, its page and its title (the notebook's ``h1``)."""

    source: Path
    href: str
    title: str


def chapter_title(nb, name: str = "notebook") -> str:
    """The notebook's title: the text of its first ``# heading``, markdown emphasis removed.

    Raises
    ------
    ValueError
        If no markdown cell has a level-1 heading (the page would have no ``h1``).
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and re.match(r"# \S", line):
                return re.sub(r"[*_`]", "", line[2:]).strip()
    raise ValueError(f"{name}: no '# title' heading in any markdown cell; the page needs exactly one h1")


def reading_notebook(nb, name: str):
    """A copy of ``nb`` as the reading copy shows it: titled, widgets replaced by a note, widget state dropped."""
    nb = copy.deepcopy(nb)
    nb.metadata["title"] = chapter_title(nb, name)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for k, output in enumerate(cell.outputs):
            if WIDGET_MIME in output.get("data", {}):
                cell.outputs[k] = nbformat.v4.new_output(
                    "display_data", data={"text/html": WIDGET_NOTE.format(name=f"notebooks/{name}")})
    return nb


def _empty_headers_to_cells(html: str) -> str:
    """``html`` with every empty ``<th>`` (the corner pandas writes above the index) turned into a ``<td>``."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    empty = [th for th in soup.find_all("th") if not th.get_text(strip=True) and not th.find("img")]
    for th in empty:
        th.name = "td"
    return str(soup) if empty else html


def page_problems(html: str, name: str) -> list[str]:
    """What makes a page fail the build: images without real alt text, and headings out of order."""
    from bs4 import BeautifulSoup

    from recsys_tutorial.style import MISSING_ALT

    soup = BeautifulSoup(html, "html.parser")
    problems = []
    for img in soup.find_all("img"):
        alt = (img.get("alt") or "").strip()
        if not alt or alt in (PLACEHOLDER_ALT, MISSING_ALT) or alt.startswith("<Figure"):
            cell = img.find_parent(id=re.compile(r"^cell-id="))
            where = f"cell {cell['id'][len('cell-id='):]}" if cell else "an image"
            problems.append(f"{name}, {where}: an image without alt text (alt={alt!r}); give the figure one "
                            "with recsys_tutorial.style.describe, then re-run the notebook")
    levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
    if levels.count(1) != 1 or levels[0] != 1:
        problems.append(f"{name}: a page needs exactly one h1, before any other heading; found levels {levels}")
    problems += [f"{name}: heading {k + 2} (h{b}) follows an h{a}: a heading level is skipped"
                 for k, (a, b) in enumerate(zip(levels, levels[1:])) if b > a + 1]
    return problems


class _AltWarnings(logging.Handler):
    """Collects nbconvert's "Alternative text is missing on N image(s)" warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        if "Alternative text is missing" in record.getMessage():
            self.messages.append(record.getMessage())


def _exporter(mathjax_url: str | None):
    from importlib.resources import files

    from nbconvert import HTMLExporter
    from traitlets.config import Config

    css = files("recsys_tutorial") / "static"
    config = Config({"HTMLExporter": {"template_name": "reading_copy"},
                     "TemplateExporter": {"extra_template_basedirs": [str(TEMPLATES)],
                                          "extra_template_paths": [str(css)]}})
    if mathjax_url:
        config.HTMLExporter.mathjax_url = mathjax_url
    return HTMLExporter(config=config)


def chapter_page(nb, name: str, *, nav: dict, mathjax_url: str | None = None) -> str:
    """One notebook as an accessible HTML page (see the module's docstring).

    ``nav``: ``{"index": href, "previous": Chapter or None, "next": Chapter or None}``.

    Raises
    ------
    ValueError
        If an image has no alt text, or the headings are not one ``h1`` followed by
        headings in order (each problem named).
    """
    exporter = _exporter(mathjax_url)
    catcher = _AltWarnings()
    exporter.log.addHandler(catcher)
    try:
        html, _ = exporter.from_notebook_node(reading_notebook(nb, name),
                                              resources={"metadata": {"name": Path(name).stem},
                                                         "reading_copy": nav})
    finally:
        exporter.log.removeHandler(catcher)
    html = _empty_headers_to_cells(html)
    problems = [f"{name}: nbconvert: {message}" for message in catcher.messages] + page_problems(html, name)
    if problems:
        raise ValueError(REFUSED + "".join(f"\n  {problem}" for problem in problems))
    return html


def start_page(chapters, *, title: str = START_TITLE) -> str:
    """The start page (``index.html``): the chapters in order, each linked by its title."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("start.html.j2").render(
        language="en", title=title, chapters=list(chapters),
        intro="The tutorial's notebooks as web pages, with the outputs they were saved with. Each chapter "
              "builds on the ones before it.",
        note="Widgets need a running notebook: open the notebooks in JupyterLab to use them.")


def _expand(notebooks) -> list[Path]:
    """Notebook paths; a folder stands for its numbered notebooks (``[0-9]*.ipynb``)."""
    paths = []
    for path in map(Path, notebooks):
        paths += sorted(path.glob("[0-9]*.ipynb")) if path.is_dir() else [path]
    if not paths:
        raise ValueError(f"no notebooks found in {', '.join(map(str, notebooks))}")
    return paths


def _read(path: Path):
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a file that is not a notebook
        raise ValueError(f"cannot read {path} as a notebook ({type(exc).__name__}: {exc})") from None


def build(notebooks, dest, *, mathjax_url: str | None = None) -> list[Chapter]:
    """Write the reading copy of ``notebooks`` (files, or folders of them) into ``dest``: one page per
    notebook, then ``index.html``. Returns the chapters in order.

    Every page is checked before anything is written, so a failing notebook leaves
    ``dest`` as it was. Files already in ``dest`` under other names are left alone.

    Raises
    ------
    ValueError
        If a notebook cannot be read, or a page fails the checks (every problem of
        every notebook, in one message).
    """
    from recsys_tutorial.files import atomic_write

    sources = _expand(notebooks)
    books = [_read(path) for path in sources]
    chapters = [Chapter(path, path.with_suffix(".html").name, chapter_title(nb, path.name))
                for path, nb in zip(sources, books)]
    pages, refused = {}, []
    for k, (chapter, nb) in enumerate(zip(chapters, books)):
        nav = {"index": "index.html", "previous": chapters[k - 1] if k else None,
               "next": chapters[k + 1] if k + 1 < len(chapters) else None}
        try:
            pages[chapter.href] = chapter_page(nb, chapter.source.name, nav=nav, mathjax_url=mathjax_url)
        except ValueError as exc:
            refused.append(str(exc).removeprefix(REFUSED))
    if refused:
        raise ValueError(REFUSED + "".join(refused))
    pages["index.html"] = start_page(chapters)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for href, html in pages.items():
        with atomic_write(dest / href) as handle:
            handle.write(html.encode("utf-8"))
    return chapters


def main(argv=None) -> int:
    """Command line: build the reading copy; prints where it is."""
    parser = argparse.ArgumentParser(prog="python -m teacher.reading_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks, or a folder of them (its [0-9]*.ipynb)")
    parser.add_argument("--dest", type=Path, default=Path("html"), help="output folder (default: html)")
    parser.add_argument("--mathjax-url", help="where pages load MathJax from (default: nbconvert's CDN address)")
    args = parser.parse_args(argv)
    try:
        chapters = build(args.notebooks, args.dest, mathjax_url=args.mathjax_url)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"reading copy in {args.dest}/: index.html and {len(chapters)} chapters")
    return 0
