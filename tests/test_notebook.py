"""recsys_tutorial/notebook.py: the notebooks' one-line setup."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(code: str, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg", **env})


def test_the_setup_line_gives_the_names_and_the_style_and_loads_only_what_is_asked_for():
    done = run("import sys\n"
               "from recsys_tutorial.notebook import np, pd, plt, helpers\n"
               "import matplotlib\n"
               "from recsys_tutorial import style\n"
               "assert np.__name__ == 'numpy' and pd.__name__ == 'pandas' and plt.__name__ == 'matplotlib.pyplot'\n"
               "assert helpers.__name__ == 'helpers'\n"
               "assert matplotlib.rcParams['figure.dpi'] == style.RC['figure.dpi']\n"
               "assert not {'recsys_tutorial.interactive', 'recsys_tutorial.research', 'ipywidgets'} & set(sys.modules)\n"
               "from recsys_tutorial.notebook import interactive, research, exercises\n"
               "assert interactive.__name__ == 'recsys_tutorial.interactive' and hasattr(research, 'fit_mf_als')\n"
               "print('ok')")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_data_says_how_to_build_it_when_it_is_missing(tmp_path):
    done = run("from recsys_tutorial.notebook import DATA", MOVIELENS_DATA=str(tmp_path))
    assert done.returncode != 0
    assert "DataNotBuiltError" in done.stderr and "make data" in done.stderr and str(tmp_path) in done.stderr


def test_an_unknown_name_is_an_import_error():
    from recsys_tutorial import notebook

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        notebook.nope  # noqa: B018
