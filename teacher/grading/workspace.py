"""A grading run's folder and sandbox: what every graded notebook runs with.

:class:`Workspace` prepares, once per run:

* for each graded notebook, the runtime its sandbox imports
  (:func:`teacher.grading.runtime.build_runtime`: the learner runtime without the
  functions that notebook's exercises ask for);
* the parsed ratings workbook, so that a notebook's ``helpers.load_ratings``
  reads it in milliseconds instead of parsing it for 3 s: the grader parses it
  once and stores it for every runtime, outside any sandbox and with no student
  code running, in a cache folder (:mod:`recsys_tutorial.cache`, keyed by
  content) that every sandbox sees read-only, so no hand-in can write anything
  the next one reads (a root grader's slots, being users of their own, each get
  a copy they own: the cache reads only its user's entries);
* matplotlib's font list, built the same way (else every notebook rebuilds it);
* the :class:`~teacher.grading.sandbox.Sandbox` (or, with ``sandbox=False``, the
  unconfined runner for trusted hand-ins) with the data folder, that cache and
  :mod:`teacher.grading.runner` read-only, and checks that it starts.

Inside the sandbox: ``/grading/runner.py``, ``/grading/lib`` (the notebook's
runtime), ``/grading/data``, ``/grading/cache``; ``/tmp`` is the scratch folder
(``HOME`` is ``/tmp/home``). numba's compiled kernel is off in there (its cache
would have to be writable; the NumPy path gives the same numbers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from recsys_tutorial import paths
from teacher.grading import runner as runner_module
from teacher.grading.runtime import build_runtime, stubs_for
from teacher.grading.sandbox import (RESULT_FD, Limits, Mount, Sandbox, SandboxUnavailable, Unconfined,
                                     check_available, reachable_by_others)
from teacher import exercises

__all__ = ["Workspace"]

#: Run once, outside any sandbox and with no hand-in, with argv = [parsed .npz (the grader parsed the workbook
#: once), the workbook, runtime folders...]: for each runtime, stores the parsed ratings in the cache under the
#: key that runtime's own helpers.load_ratings looks for (the file's content and the loader module's source:
#: recsys_tutorial/cache.py), then loads them as a notebook does (a hit; were the key ever different, that load
#: parses and stores them itself). Importing matplotlib.pyplot builds its font list.
_PRIME = """
import sys
import matplotlib.pyplot
import numpy as np

with np.load(sys.argv[1]) as parsed:
    arrays = (parsed["Y"], parsed["R"])


def load_ratings(path):
    return arrays


for lib in sys.argv[3:]:
    for name in [m for m in sys.modules if m == "helpers" or m.split(".")[0] == "recsys_tutorial"]:
        del sys.modules[name]
    sys.path[0] = lib
    import helpers
    from recsys_tutorial.cache import cached_by_content
    from recsys_tutorial.workbooks import MAX_WORKBOOK_BYTES, WORKBOOK_SUFFIXES

    assert helpers.__file__.startswith(lib), helpers.__file__
    load_ratings.__module__, load_ratings.__qualname__ = "helpers", helpers.load_ratings.__qualname__
    cached_by_content(WORKBOOK_SUFFIXES, MAX_WORKBOOK_BYTES)(load_ratings)(sys.argv[2])
    helpers.load_ratings(sys.argv[2])
"""


def _common_env(lib: str, data: str, cache: str) -> dict:
    """The runner's environment, in or out of the sandbox (HOME and MPLCONFIGDIR are set per run)."""
    return {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": lib, "MPLBACKEND": "Agg", "MOVIELENS_DATA": data,
            "MOVIE_RECOMMENDER_CACHE": cache, "MOVIE_RECOMMENDER_NUMBA": "off", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}


def _advice(printed: str) -> str:
    """What to do about the usual reasons bubblewrap cannot start, from what it printed."""
    if any(words in printed for words in ("new namespace", "uid map", "setting up uid", "unshare")):
        return (": unprivileged user namespaces are off. Turn them on (sysctl user.max_user_namespaces=15000; "
                "Debian 11 and older: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04 and later restrict "
                "them with AppArmor: sysctl kernel.apparmor_restrict_unprivileged_userns=0, or give bwrap an "
                "AppArmor profile), or grade on a machine or hub that allows them")
    if "Permission denied" in printed:
        return (": a folder the sandbox shows is not readable by the user the sandbox runs as (make the Python "
                "environment and the data readable by others, e.g. chmod o+rX)")
    return ""


class Workspace:
    """Everything a grading run's notebooks run with; :meth:`run` runs one job, :meth:`close` removes it all.

    Parameters
    ----------
    notebooks : list of TeacherNotebook
        The graded notebooks of this run.
    sandbox : bool
        False runs hand-ins unconfined (trusted hand-ins only).
    limits : Limits
        Per hand-in notebook.
    slots : int
        Notebooks run at once.

    Raises
    ------
    SandboxUnavailable
        The sandbox cannot run here (the message says why and what to do).
    paths.DataNotBuiltError
        The data is not built.
    """

    def __init__(self, notebooks, *, sandbox: bool = True, limits: Limits = Limits(), slots: int = 1):
        if sandbox:
            check_available()                 # before any work: say at once why the sandbox cannot run here
        self.data = paths.data_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="grading-run-"))
        self.runner = None
        try:
            os.chmod(self.dir, 0o755)
            if sandbox and os.getuid() == 0 and not reachable_by_others(self.dir):
                raise SandboxUnavailable(f"the grader's working folder {self.dir} is in a folder other users cannot "
                                         "enter, and root's sandboxes run as other users: set TMPDIR to one they "
                                         "can (e.g. TMPDIR=/tmp)")
            self.libs = self._build_runtimes(notebooks)
            self.cache, self.mpl = self.dir / "cache", self.dir / "mpl"
            self._prime()
            self.runner = self._runner(sandbox, limits, slots)
            self.caches = self._slot_caches(slots)
            self._self_test()
        except BaseException:
            self.close()
            raise

    def _build_runtimes(self, notebooks) -> dict:
        libs = {}
        for nb in notebooks:
            forbidden = [name for spec in nb.specs for name in exercises.EXERCISES[spec.checker].forbidden]
            libs[nb.name] = build_runtime(self.dir / "runtime" / Path(nb.name).stem,
                                          stubs_for(forbidden, [s.function for s in nb.specs]))
        return libs

    def _prime(self) -> None:
        """Store the parsed ratings for every runtime and build matplotlib's font list (no hand-in runs here)."""
        import helpers
        import numpy as np

        for folder in (self.cache, self.mpl):
            folder.mkdir()
        workbook = paths.data_file("ex8_movies.xlsx")
        Y, R = helpers.load_ratings(workbook)          # the teacher's own cache makes this instant after once
        np.savez(self.dir / "parsed.npz", Y=Y, R=R)

        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.dir), "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.mpl),
               "MOVIELENS_DATA": str(self.data), "MOVIE_RECOMMENDER_CACHE": str(self.cache),
               "MOVIE_RECOMMENDER_NUMBA": "off"}
        libs = [str(lib) for lib in sorted(set(self.libs.values()))]
        result = subprocess.run([sys.executable, "-c", _PRIME, str(self.dir / "parsed.npz"), str(workbook), *libs],
                                env=env, capture_output=True, text=True, timeout=600, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"preparing the notebooks' data failed: {result.stderr.strip()[-2000:]}")
        (self.dir / "parsed.npz").unlink()
        for folder, _, files in os.walk(self.dir):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)

    def _runner(self, sandbox: bool, limits: Limits, slots: int):
        (self.dir / "runner").mkdir(mode=0o755)      # a folder of its own: the runner's folder is on its sys.path
        runner_file = self.dir / "runner" / "runner.py"
        shutil.copyfile(runner_module.__file__, runner_file)
        os.chmod(runner_file, 0o644)
        if not sandbox:
            self.command = [sys.executable, str(runner_file), RESULT_FD]
            env = _common_env("", str(self.data), str(self.cache))
            return Unconfined(env, limits=limits, slots=slots)
        env = {**_common_env("/grading/lib", "/grading/data", "/grading/cache"), "HOME": "/tmp/home",
               "MPLCONFIGDIR": "/tmp/mpl"}
        mounts = [Mount(str(self.data), "/grading/data"), Mount(str(runner_file), "/grading/runner.py")]
        mounts += [Mount(str(f), f"/tmp/mpl/{f.name}") for f in sorted(self.mpl.glob("fontlist*.json"))]
        self.command = [sys.executable, "/grading/runner.py", RESULT_FD]
        return Sandbox(env, mounts=mounts, dirs=("/tmp/home", "/tmp/mpl"), limits=limits, slots=slots)

    def _slot_caches(self, slots: int) -> dict:
        """The parsed-data cache each slot's sandboxes see. The cache reads only entries its user owns, and a
        root grader's slots are users of their own: each gets a copy it owns. Otherwise the one cache."""
        if not (self.runner.confined and self.runner.root):
            return dict.fromkeys(range(slots), self.cache)
        caches = {}
        for slot in range(slots):
            uid, copy = self.runner.slot_uid(slot), self.dir / f"cache-{slot}"
            shutil.copytree(self.cache, copy, symlinks=True)
            for folder, _, files in os.walk(copy):
                for path in [folder, *(os.path.join(folder, name) for name in files)]:
                    os.lchown(path, uid, uid)
            caches[slot] = copy
        return caches

    @property
    def confined(self) -> bool:
        return self.runner.confined

    def run(self, notebook: str, job: dict, slot: int = 0):
        """Run ``job`` (the runner's steps) with ``notebook``'s runtime; returns the sandbox's Outcome."""
        lib = self.libs[notebook]
        stdin = json.dumps(job, allow_nan=False).encode()
        if self.runner.confined:
            mounts = [Mount(str(lib), "/grading/lib"), Mount(str(self.caches[slot]), "/grading/cache")]
            return self.runner.run(self.command, stdin=stdin, slot=slot, mounts=mounts)
        env = {"PYTHONPATH": str(lib), "MPLCONFIGDIR": str(self.mpl)}
        return self.runner.run(self.command, stdin=stdin, slot=slot, env=env)

    def _self_test(self) -> None:
        """Run an empty job: the sandbox must start, import IPython and report ``done``."""
        notebook = next(iter(self.libs), None)
        if notebook is None:
            return
        outcome = self.run(notebook, {"steps": []})
        if b'"done": true' not in outcome.result:
            tail = outcome.output_tail.decode("utf-8", "replace").strip()[-1500:]
            raise SandboxUnavailable(f"the grading sandbox does not start on this machine (exit code "
                                     f"{outcome.returncode}{', ' + outcome.stopped if outcome.stopped else ''})"
                                     f"{_advice(tail)}; what it printed:\n{tail}")

    def stop_all(self) -> None:
        """Stop every notebook running now (grading was interrupted)."""
        if self.runner is not None:
            self.runner.stop_all()

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()
        shutil.rmtree(self.dir, ignore_errors=True)
