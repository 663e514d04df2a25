"""What a graded notebook imports inside the sandbox: the learner runtime without the answers.

:func:`build_runtime` writes a folder the sandbox shows read-only as its
``helpers`` and ``recsys_tutorial``:

* ``helpers.py`` and the ``recsys_tutorial`` modules the notebooks import, as
  they are, except that each function an exercise of the notebook asks the
  student to write (the exercise's ``forbidden`` list) and each private one it
  rests on (:data:`RESTS_ON`) keeps its signature but its body is replaced by a
  ``raise RuntimeError`` that says so: calling or importing the answer is
  impossible rather than detected, and the student reads why;
* ``recsys_tutorial/exercises.py`` replaced by a module whose every name says
  that the grader runs the checks itself: neither the checkers' reference
  formulas nor their messages are in the sandbox;
* no ``recsys_tutorial/research`` (notebooks 09-10 only), no teacher code.

The stubs are made from the source text, by line: everything else in the
file stays byte for byte as it is (line numbers of tracebacks included).
"""

from __future__ import annotations

import ast
import compileall
import os
import shutil
from pathlib import Path

from recsys_tutorial import paths

__all__ = ["RESTS_ON", "EXERCISES_STUB", "stub_source", "stubs_for", "build_runtime"]

#: The private code each forbidden function computes its answer with: stubbed along with it.
#: (Only what computes the answer: helpers.gradient_descent's cost-and-gradient closure is what
#: helpers.cofi_gradients returns too, which notebook 06 allows.)
RESTS_ON = {
    "helpers.cofi_cost": ("helpers._cost_and_gradients",),
    "helpers.cofi_gradients": ("helpers._cost_and_gradients",),
    "helpers.normalize_ratings": ("helpers._normalize",),
    "helpers.gradient_descent": (),
    "helpers.train_lbfgs": ("helpers._lbfgs",),
    "helpers.recommend": (),
    "recsys_tutorial.observed.ObservedRatings.cost_and_gradients": (
        "recsys_tutorial.observed.ObservedRatings._cost_and_gradients_numpy",
        "recsys_tutorial.observed._half_pass", "recsys_tutorial.observed.compiled_kernel",
        "recsys_tutorial.observed._compile_kernel"),
}

EXERCISES_STUB = '''"""Not available while a notebook is graded: the grader runs the check cells itself, outside the sandbox."""


def __getattr__(name):
    raise AttributeError(f"exercises.{name} is not available while the grader runs this notebook: the grader "
                         "checks your answers itself, on test problems of its own")
'''

_MODULES = ("helpers", "recsys_tutorial")


def _find_def(tree, qualname: str):
    """The (Async)FunctionDef of ``qualname`` ('f' or 'Class.method') at the top of ``tree``, or None."""
    *outer, name = qualname.split(".")
    body = tree.body
    for part in outer:
        cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if cls is None:
            return None
        body = cls.body
    return next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name), None)


def stub_source(source: str, stubs: dict, where: str = "module") -> str:
    """``source`` with the body of each function ``stubs`` names ('f', 'Class.method') replaced by
    ``raise RuntimeError(message)``; the rest of the text is unchanged.

    Raises
    ------
    ValueError
        If a name is not a function of ``source``, or its body starts on the ``def`` line.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []
    for qualname, message in stubs.items():
        node = _find_def(tree, qualname)
        if node is None:
            raise ValueError(f"{where}: no function {qualname} to stub")
        first = node.body[0]
        if first.lineno == node.lineno:
            raise ValueError(f"{where}: {qualname}'s body starts on its def line; cannot stub it by line")
        indent = " " * first.col_offset
        edits.append((first.lineno - 1, node.end_lineno, f"{indent}raise RuntimeError({message!r})\n"))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines)


def stubs_for(forbidden, functions) -> dict:
    """``{dotted name: message}`` for the ``forbidden`` functions of exercises asking for ``functions``."""
    wanted = ", ".join(f"{f}()" for f in functions)
    names = []
    for name in forbidden:
        names += [name, *RESTS_ON.get(name, ())]
    return {name: (f"{name} is not available while the grader runs this notebook: it computes what the exercise "
                   f"asks you to write ({wanted}), so your code must compute it itself")
            for name in dict.fromkeys(names)}


def _split(dotted: str) -> tuple[str, str]:
    """``('helpers', 'cofi_cost')``, ``('recsys_tutorial/observed', 'ObservedRatings.cost_and_gradients')``,
    ``('recsys_tutorial/interactive/training', '_explorer_top')`` (a module of a subpackage)."""
    parts = dotted.split(".")
    if parts[0] == "helpers":
        return "helpers", ".".join(parts[1:])
    if parts[0] == "recsys_tutorial" and len(parts) >= 3:
        cut = 2
        while cut < len(parts) - 1 and (paths.repository_root() / "/".join(parts[:cut])).is_dir():
            cut += 1
        return "/".join(parts[:cut]), ".".join(parts[cut:])
    raise ValueError(f"cannot stub {dotted}: only functions of helpers and recsys_tutorial's modules")


def build_runtime(dest, stubs: dict) -> Path:
    """Write the sandbox's ``helpers.py`` and ``recsys_tutorial/`` into ``dest`` (made; must not exist).

    ``stubs`` maps dotted names (``'helpers.cofi_cost'``,
    ``'recsys_tutorial.observed.ObservedRatings.cost_and_gradients'``) to the
    message their stub raises. The package is copied whole (its data files
    too) but for ``research/`` and bytecode caches; files are world-readable
    (the sandbox may run as another user) and compiled to bytecode. Returns ``dest``.
    """
    root, dest = paths.repository_root(), Path(dest)
    by_file: dict[str, dict] = {}
    for dotted, message in stubs.items():
        module, qualname = _split(dotted)
        by_file.setdefault(module, {})[qualname] = message
    dest.mkdir(parents=True)
    shutil.copy2(root / "helpers.py", dest / "helpers.py")
    package = root / "recsys_tutorial"

    def left_out(folder, names):
        return [n for n in names if n == "__pycache__" or (n == "research" and Path(folder) == package)]

    shutil.copytree(package, dest / "recsys_tutorial", ignore=left_out)
    for source in [dest / "helpers.py", *sorted((dest / "recsys_tutorial").rglob("*.py"))]:
        relative = source.relative_to(dest).with_suffix("").as_posix()
        if relative == "recsys_tutorial/exercises":
            source.write_text(EXERCISES_STUB, encoding="utf-8")
        elif relative in by_file:
            source.write_text(stub_source(source.read_text(encoding="utf-8"), by_file.pop(relative),
                                          where=f"{relative}.py"), encoding="utf-8")
    if by_file:
        raise ValueError(f"cannot stub in {', '.join(by_file)}: not a module the sandbox holds")
    compileall.compile_dir(dest, quiet=1, workers=1)
    for folder, _, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return dest


def remove_runtime(dest) -> None:
    """Remove a folder :func:`build_runtime` wrote."""
    shutil.rmtree(dest, ignore_errors=True)
