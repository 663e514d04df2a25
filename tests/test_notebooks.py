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
