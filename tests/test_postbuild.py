"""binder/postBuild, the repo2docker step of a JupyterHub or Binder, in a clean virtual environment.

repo2docker installs the pinned requirements.txt, then runs postBuild. Here a
copy of the repository (outside this checkout, so no ``../shared/data`` is
found) gets a new virtual environment in which the tutorial is *not*
installed; its packages are those of requirements.txt, borrowed from the
running environment through a ``.pth`` file instead of downloading them
again. postBuild must install the project, download ``ml-100k.zip`` (a tiny
fake one, served from 127.0.0.1 and checked against ``ML100K_MD5``: the
official checksum would refuse it, so passing shows the check ran) into the copy's
``data/``, and build ``student/``; then ``import helpers`` and ``from recsys_tutorial import exercises, paths``
must work from any folder of that environment and find that data.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fakes import clean_venv, fake_ml100k_files, make_zip

from recsys_tutorial import paths

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def copy_repository(dest: Path) -> Path:
    """The files git knows (tracked, or new and not ignored), as a fresh clone would have them."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def test_postbuild_installs_the_project_and_downloads_the_checked_zip(tmp_path, server):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout, to copy the repository as a clone would have it")
    base, routes = server
    zipped = make_zip(fake_ml100k_files())
    routes["/ml-100k.zip"] = zipped
    repo = copy_repository(tmp_path / "repo")
    python = clean_venv(tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = "import helpers; from recsys_tutorial import exercises, paths; print(paths.data_dir())"
    before = subprocess.run([str(python), "-c", probe], cwd=elsewhere, capture_output=True, text=True)
    assert before.returncode != 0 and "No module named" in before.stderr, "the new venv must start without it"

    env = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path),
           "ML100K_URL": f"{base}/ml-100k.zip", "ML100K_MD5": hashlib.md5(zipped).hexdigest()}
    run = subprocess.run(["bash", str(repo / "binder" / "postBuild")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"postBuild failed:\n{run.stdout}\n{run.stderr}"
    assert "ml-100k.zip" in run.stdout + run.stderr

    for name in paths.BUILT_FILES:
        assert (repo / "data" / name).is_file(), f"postBuild did not build data/{name}"
    student = (repo / "student" / "03-cost-function.ipynb").read_text()
    assert "raise NotImplementedError()" in student and "BEGIN SOLUTION" not in student
    after = subprocess.run([str(python), "-c", probe], cwd=elsewhere, capture_output=True, text=True,
                           env={"PATH": env["PATH"], "HOME": str(tmp_path)})
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == str(repo / "data")
