"""The tree: who each file is for, what imports what, and the proportions a newcomer should find."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recsys_tutorial"
#: The modules helpers.py stands on: they never import helpers (nor anything above them).
BENEATH_HELPERS = ("settings", "validation", "files", "workbooks", "cache", "observed", "paths")
#: The modules built on helpers: helpers never imports them.
ON_TOP_OF_HELPERS = ("notebook", "style", "plots", "interactive", "exercises", "research")


def tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved within the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def python_files(*folders: str) -> list[Path]:
    files = []
    for name in tracked_files():
        if name.endswith(".py") and (not folders or name.split("/")[0] in folders or name in folders):
            files.append(ROOT / name)
    return files


def test_the_root_shows_at_most_twelve_entries():
    top = sorted({name.split("/")[0] for name in tracked_files() if not name.startswith(".")})
    assert len(top) <= 12, top
    for card in ("notebooks", "helpers.py", "data", "requirements.txt", "README.md", "tests"):
        assert card in top, f"the design card's {card} is missing from the root"
    modules = [name for name in top if name.endswith(".py")]
    assert modules == ["helpers.py"], f"helpers.py is the only top-level module; found {modules}"


def test_helpers_stays_small():
    assert len((ROOT / "helpers.py").read_text(encoding="utf-8").splitlines()) <= 800


def test_no_function_longer_than_80_lines():
    long = [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno} lines)"
            for path in python_files() if "tests" not in path.relative_to(ROOT).parts
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno > 80]
    assert not long, long


def test_dependencies_run_one_way():
    problems = []
    for path in python_files("helpers.py", "recsys_tutorial"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        used = imported_modules(path)
        if any(u == "teacher" or u.startswith("teacher.") for u in used):
            problems.append(f"{name} imports teacher/ (a learner's runtime never does)")
        if name.split(".")[-1] in BENEATH_HELPERS and "helpers" in used:
            problems.append(f"{name} is beneath helpers but imports it")
        if name == "helpers":
            above = [u for u in used if u.split(".")[:2] in [["recsys_tutorial", m] for m in ON_TOP_OF_HELPERS]]
            if above:
                problems.append(f"helpers imports {above}, which are built on it")
    for path in python_files():
        if "tests" not in path.relative_to(ROOT).parts and any(
                u == "tests" or u.startswith(("tests.", "fakes", "conftest")) for u in imported_modules(path)):
            problems.append(f"{path.relative_to(ROOT)} imports the tests")
    assert not problems, problems


def test_no_test_module_imports_another():
    offenders = [f"{path.name} imports {u}" for path in python_files("tests")
                 for u in imported_modules(path) if u.split(".")[0].startswith("test_")]
    assert not offenders, offenders


def test_importing_helpers_loads_nothing_built_on_it():
    code = ("import sys, helpers; above = [m for m in sys.modules if m.split('.')[:2] in "
            f"[['recsys_tutorial', n] for n in {ON_TOP_OF_HELPERS!r}]]; assert not above, above")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_only_helpers_and_the_package_import_from_any_folder(tmp_path):
    """The editable install maps two names, not the repository root (pyproject.toml)."""
    code = """
import importlib
found = {}
for name in ("helpers", "recsys_tutorial", "teacher", "tests", "benchmarks", "data", "binder", "notebooks",
             "build_data", "xlsx_writer", "fakes", "conftest"):
    try:
        importlib.import_module(name)
        found[name] = True
    except ImportError:
        found[name] = False
print(sorted(name for name, ok in found.items() if ok))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['helpers', 'recsys_tutorial']"


def test_a_learners_own_modules_beside_a_notebook_shadow_nothing(tmp_path):
    """A learner's paths.py, validation.py (and other generic names) beside a notebook, run in a kernel."""
    for name in ("paths", "validation", "settings", "files", "cache", "style", "notebook", "plots", "exercises",
                 "interactive", "training", "descent", "rating", "_common", "workbooks", "observed", "research"):
        (tmp_path / f"{name}.py").write_text(f"raise RuntimeError('the learner\\'s own {name}.py was imported')\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from recsys_tutorial.notebook import np, helpers, DATA\n"
        "from recsys_tutorial import paths, validation, exercises, interactive\n"
        "Y, R = helpers.load_ratings(DATA / 'ex8_movies.xlsx')\n"
        "print(Y.shape, paths.__file__.endswith('recsys_tutorial/paths.py'), "
        "validation.__file__.endswith('recsys_tutorial/validation.py'))")])
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[0].outputs[0]["text"].strip() == "(1682, 943) True True"
