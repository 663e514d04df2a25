"""The hand-out (``make handout``, teacher/handout.py): no answer in it, and it works on a clean machine.

Fast tests: choosing assignments, and the audit catching each thing a hand-out must not hold (a
line of a worked solution in a cell or a file, a teacher notebook, outputs, widget state, an
unlocked check cell, data files).

Slow tests, on ``make handout NOTEBOOKS="03 05"``, as a teacher runs it:

* the folder and the zip hold the same files, exactly the ones listed (notebooks, runtime,
  requirements, data step, README), and a second build gives the same zip, byte for byte;
* the audit, and independent checks: no line of any worked solution anywhere in it (helpers.py
  aside), no teacher notebook, no outputs or widget state, check cells locked, hints dropped with
  ``HINTS=0``;
* on a clean machine, as a student: the zip unzipped outside the repository, a new virtual
  environment in which the tutorial is not installed (its packages borrowed from this one through
  a ``.pth`` file, as tests/test_postbuild.py does, instead of downloading them), the README's
  data step run against a local copy of ``ml-100k.zip`` (``ML100K_URL``, and ``--md5`` for its
  checksum: it is rebuilt from this checkout's data, so its bytes are not GroupLens's), then
  the notebooks run from the top: every check FAILED "not implemented", and PASSED once the
  answers are written in;
* in that environment, ``tests/answer_probe.py`` calls every function of every module the
  hand-out ships with fresh exercise problems: none outside ``helpers`` and ``observed`` (helpers'
  own cost engine) computes an answer, and each one there that does is one the checks forbid;
* the teacher collects the answered notebook and an unanswered one and grades them with the
  README's command: full points and none.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from fakes import clean_venv, run_make, serving
from recsys_tutorial.judging import RULES
from teacher import exercises as teacher
from teacher.handout import DATA_STEP, MARKER, audit, build, nbgrader_source, normalised, select, solution_lines, stage
from teacher.student_copy import BEGIN, END, is_check, is_solution

ROOT = Path(__file__).resolve().parents[1]
TEACHER_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
HANDED_OUT = ("03", "05")
NAME = "movie-recommender-03-05"
ENGINE = "recsys_tutorial.observed"   # helpers' fast cost: it computes the cost and gradients (helpers aside)


def read(path):
    return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------- fast: choosing, and the audit


def test_select_takes_assignment_numbers_and_names_the_others():
    assert [p.name[:2] for p in select([])] == ["03", "04", "05", "06", "07"]
    assert [p.name for p in select(["5", "03", "05-mean-normalisation.ipynb"])] == [
        "05-mean-normalisation.ipynb", "03-cost-function.ipynb"]
    for bad in ("01", "08", "x", "99"):
        with pytest.raises(ValueError, match="not an assignment; the notebooks with exercises are 03, 04, 05, 06, 07"):
            select([bad])


def test_every_exercise_has_solution_lines_to_search_for():
    lines = solution_lines(TEACHER_NOTEBOOKS)
    for path in select([]):
        assert any(where.startswith(path.name) for where, _ in lines), path.name
    assert ("E@Theta+lambda_*X,E.T@X+lambda_*Theta" in {code for _, code in lines}), "a return line's expression"


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return stage(select(["03"]), tmp_path_factory.mktemp("staged") / "h")


def _planted(staged, tmp_path):
    copy = tmp_path / "h"
    shutil.copytree(staged, copy)
    return copy


def test_audit_passes_a_clean_handout(staged):
    assert audit(staged, TEACHER_NOTEBOOKS) == []


@pytest.mark.parametrize("plant, found", [
    (lambda h: (h / "notes.md").write_text("Hint: `E = R * (X @ Theta.T - Y)`"), "notes.md holds a line"),
    (lambda h: (h / "recsys_tutorial" / "extra.py").write_text(
        "def f(Y, R):\n    return np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)\n"),
     "recsys_tutorial/extra.py holds a line"),
    (lambda h: shutil.copy(ROOT / "notebooks" / "07-recommending.ipynb", h), "07-recommending.ipynb"),
    (lambda h: (h / "data" / "ex8_movies.xlsx").write_bytes(b"PK"), "data/ex8_movies.xlsx: only the data step"),
])
def test_audit_finds_what_a_handout_must_not_hold(staged, tmp_path, plant, found):
    handout = _planted(staged, tmp_path)
    plant(handout)
    assert any(found in problem for problem in audit(handout, TEACHER_NOTEBOOKS)), audit(handout, TEACHER_NOTEBOOKS)


def test_audit_finds_unlocked_checks_outputs_and_widget_state(staged, tmp_path):
    handout = _planted(staged, tmp_path)
    path = handout / "03-cost-function.ipynb"
    nb = read(path)
    check = next(c for c in nb.cells if is_check(c))
    check.metadata["editable"] = True
    check.outputs = [nbformat.v4.new_output("stream", text="PASSED: my_cofi_cost ...")]
    nb.cells[0].source += "\n\nThe answer: `Y_norm = np.where(R, Y - Y_mean[:, None], 0.0)`"
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, path)
    problems = "\n".join(audit(handout, TEACHER_NOTEBOOKS))
    for words in ("a check cell that is not locked", "holds outputs", "holds widget state",
                  "03-cost-function.ipynb cell 0 holds a line of a worked solution (05-mean-normalisation"):
        assert words in problems, problems


def test_build_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("a teacher's file")
    with pytest.raises(ValueError, match="not a hand-out folder"):
        build(["03"], tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "a teacher's file"
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        nbgrader_source("03", tmp_path / "source")


# ---------------------------------------------------------------- slow: make handout, as a teacher runs it


def make_handout(dest: Path, *extra: str) -> str:
    return run_make("handout", f"HANDOUT_DIR={dest}", *extra)


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """``make handout NOTEBOOKS="03 05" HINTS=0`` into a temporary folder: (folder, zip)."""
    dest = tmp_path_factory.mktemp("handout")
    out = make_handout(dest, f"NOTEBOOKS={' '.join(HANDED_OUT)}", "HINTS=0")
    assert f"{NAME}.zip" in out
    return dest / NAME, dest / f"{NAME}.zip"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_handout_holds_the_notebooks_the_runtime_and_the_data_step_only(handout):
    folder, archive = handout
    files = _files(folder)
    modules = {p.relative_to(ROOT).as_posix() for pattern in ("*.py", "interactive/*.py")
               for p in (ROOT / "recsys_tutorial").glob(pattern)}
    expected = {"03-cost-function.ipynb", "05-mean-normalisation.ipynb", "README.md", "requirements.txt",
                "helpers.py", "recsys_tutorial/exercise_cases.json", "recsys_tutorial/research/__init__.py",
                "recsys_tutorial/research/splits.py", *modules, *DATA_STEP}
    assert files == expected, f"extra: {sorted(files - expected)}; missing: {sorted(expected - files)}"
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == sorted(f"{NAME}/{name}" for name in files)
        assert all(z.read(f"{NAME}/{name}") == (folder / name).read_bytes() for name in files)
    cases = json.loads((folder / "recsys_tutorial" / "exercise_cases.json").read_text())
    assert set(cases) == {"about", "check_cofi_cost", "check_normalize_ratings"}, "only the checks handed out"
    readme = (folder / "README.md").read_text()
    for words in ("python -m pip install -r requirements.txt", "data/build_data.py", "jupyter lab",
                  "03-cost-function.ipynb", "05-mean-normalisation.ipynb", "forbids passing it on", "Hand in"):
        assert words in readme, words


@pytest.mark.slow
def test_handout_zip_is_reproducible_and_a_rebuild_replaces_it(handout, tmp_path):
    folder, archive = handout
    dest = tmp_path / "again"
    make_handout(dest, f"NOTEBOOKS={' '.join(HANDED_OUT)}", "HINTS=0")
    assert (dest / f"{NAME}.zip").read_bytes() == archive.read_bytes()
    make_handout(dest, "NOTEBOOKS=07")
    assert sorted(p.name for p in dest.iterdir()) == sorted([MARKER, "movie-recommender-07",
                                                             "movie-recommender-07.zip"])


@pytest.mark.slow
def test_handout_holds_no_answer(handout):
    folder, _ = handout
    assert audit(folder, TEACHER_NOTEBOOKS) == []
    lines = solution_lines(TEACHER_NOTEBOOKS)
    assert len(lines) > 15
    everything = "".join(normalised(p.read_text(errors="replace").replace('\\"', '"'))
                         for p in folder.rglob("*") if p.is_file() and p.name != "helpers.py")
    assert not [where for where, code in lines if code in everything], "a worked solution's line, in a raw file"
    assert not (folder / "teacher").exists() and not (folder / "notebooks").exists()
    for name in ("03-cost-function.ipynb", "05-mean-normalisation.ipynb"):
        nb, teacher_nb = read(folder / name), read(ROOT / "notebooks" / name)
        assert "widgets" not in nb.metadata
        assert not any(c.get("outputs") for c in nb.cells)
        assert not any("hint" in c.metadata.get("tags", []) for c in nb.cells), "HINTS=0 drops the hints"
        checks = [c for c in nb.cells if is_check(c)]
        assert checks and all(c.metadata["editable"] is False and c.metadata["deletable"] is False for c in checks)
        answers = [c for c in nb.cells if is_solution(c)]
        assert answers and all("raise NotImplementedError()" in c.source and BEGIN not in c.source for c in answers)
        assert len([c for c in teacher_nb.cells if is_solution(c)]) == len(answers)


# ---------------------------------------------------------------- slow: a student's clean machine


def ml100k_zip() -> bytes:
    """ml-100k.zip as GroupLens serves it, rebuilt from this checkout's built data/ (never committed)."""
    from build_data import RAW_FILES

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, in_zip in RAW_FILES.items():
            z.writestr(f"ml-100k/{in_zip}", (ROOT / "data" / name).read_bytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def student_machine(handout, tmp_path_factory):
    """The zip unzipped outside the repository, a clean venv, and the data built by the README's command."""
    _, archive = handout
    home = tmp_path_factory.mktemp("student")
    with zipfile.ZipFile(archive) as z:
        z.extractall(home)
    folder = home / NAME
    python = clean_venv(home / ".venv")
    env = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin", "HOME": str(home), "MPLBACKEND": "Agg"}
    probe = subprocess.run([str(python), "-c", "import helpers"], cwd=home, env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'helpers'" in probe.stderr, "the venv must start without it"

    body = ml100k_zip()
    with serving({"/ml-100k.zip": body}) as base:
        data_env = {**env, "ML100K_URL": f"{base}/ml-100k.zip"}
        run = subprocess.run([str(python), "data/build_data.py", "--md5", hashlib.md5(body).hexdigest()], cwd=folder,
                             env=data_env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"the data step failed:\n{run.stdout}\n{run.stderr}"
    return folder, python, env


def execute(folder: Path, python: Path, env: dict, names, out: Path) -> dict:
    """Run notebooks ``names`` of the hand-out from the top with the clean venv (nbconvert, its own kernel)."""
    cmd = [str(python), "-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=900",
           "--output-dir", str(out), *names]
    run = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, f"{' '.join(cmd)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return {name: read(out / name) for name in names}


def check_lines(nb) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout").strip()
            for c in nb.cells if is_check(c)]


def answered(nb, teacher_nb):
    """``nb`` with each exercise cell holding the teacher's worked solution (markers removed)."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in teacher_nb.cells if is_solution(c)}
    for cell in nb.cells:
        if is_solution(cell):
            lines = solutions[cell.metadata["nbgrader"]["grade_id"]].split("\n")
            cell.source = "\n".join(line for line in lines if BEGIN not in line and END not in line)
    return nb


@pytest.mark.slow
def test_a_student_unzips_and_runs_the_handout_on_a_clean_machine(student_machine, tmp_path):
    folder, python, env = student_machine
    names = [f"{p.name}" for p in select(HANDED_OUT)]
    for name, nb in execute(folder, python, env, names, tmp_path / "as-given").items():
        lines = check_lines(nb)
        assert lines and all(line.startswith("FAILED") and "not implemented" in line for line in lines), lines
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[:1]}"
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    for name in names:
        nbformat.write(answered(read(folder / name), read(ROOT / "notebooks" / name)), work / name)
    for name, nb in execute(work, python, env, names, tmp_path / "answered").items():
        lines = check_lines(nb)
        assert lines and all(line.startswith("PASSED") for line in lines), f"{name}: {lines}"


def partial_answers(checker: str, arrays) -> list:
    """What most of an answer is, for the probe to find functions that compute the heart of it (a private
    method that returns the masked error, the cost's whole work, was callable in the grader's sandbox)."""
    if checker in ("check_cofi_cost", "check_cofi_gradients"):
        X, Theta, Y, R = arrays[:4]
        return [(X @ Theta.T - Y)[np.asarray(R, dtype=bool)]]      # the error at the rated entries
    return []


def probe_problems(path: Path) -> Path:
    """Fresh problems of every exercise (seed 11), with their arguments' names and right answers."""
    names = {"check_cofi_cost": ["X", "Theta", "Y", "R", "lambda_"], "check_cofi_gradients": ["X", "Theta", "Y", "R",
                                                                                               "lambda_"],
             "check_normalize_ratings": ["Y", "R"], "check_gradient_step": ["X", "Theta", "Y", "R", "lambda_", "alpha"],
             "check_top_n": ["predictions", "rated", "n"]}
    problems = []
    for checker, exercise in teacher.EXERCISES.items():
        for case in exercise.cases(np.random.default_rng(11))[1:]:
            if case.kind == "value":
                problems.append({"exercise": checker, "names": names[checker],
                                 "values": [teacher.encode(v) for v in (*case.arrays, *case.scalars)],
                                 "answer": teacher.encode(case.expected),
                                 "partials": [teacher.encode(p) for p in partial_answers(checker, case.arrays)]})
    path.write_text(json.dumps(problems))
    return path


@pytest.mark.slow
def test_no_function_the_handout_ships_computes_an_answer(student_machine, tmp_path):
    folder, python, env = student_machine
    modules = sorted(p.relative_to(folder).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                     for p in folder.rglob("*.py"))
    assert "helpers" in modules and "recsys_tutorial.judging" in modules and "recsys_tutorial.exercises" in modules
    probe = ROOT / "tests" / "answer_probe.py"
    run = subprocess.run([str(python), str(probe), str(probe_problems(tmp_path / "problems.json")), *modules],
                         cwd=folder, env={**env, "MOVIE_RECOMMENDER_CACHE": "off", "ML100K_URL": "http://127.0.0.1:9/"},
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\nprobe: {result['functions']} functions, {result['calls']:,} calls; found {result['found']}")
    assert result["functions"] > 150 and result["calls"] > 10_000, result
    found = [tuple(f) for f in result["found"]]
    outside = [f for f in found if f[0] not in ("helpers", ENGINE)]
    assert outside == [], f"functions outside helpers that compute an answer: {outside}"
    assert {f[1] for f in found if f[0] == "helpers"} >= {"cofi_cost", "cofi_gradients", "normalize_ratings"}, \
        "the probe must find the answers helpers holds, or it proves nothing"
    for module, name, checker in found:
        forbidden = {f.rsplit(".", 1)[-1] if module == "helpers" else f.removeprefix(f"{module}.")
                     for f in RULES[checker].forbidden if f.startswith(module)}
        assert name in forbidden, f"{module}.{name} computes the answer of {checker}: the check must forbid it"


@pytest.mark.slow
def test_a_teacher_grades_the_collected_handin(handout, tmp_path):
    """The README's commands: hand-ins/<student>/<notebook>, then the grader; full points and none."""
    folder, _ = handout
    name = "03-cost-function.ipynb"
    for student, nb in (("alice", answered(read(folder / name), read(ROOT / "notebooks" / name))),
                        ("bob", read(folder / name))):
        (tmp_path / "hand-ins" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "hand-ins" / student / name)
    run = subprocess.run([sys.executable, "-m", "teacher.grading", str(tmp_path / "hand-ins"), "--seed", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    import csv

    with open(tmp_path / "hand-ins" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("notebook") == name]
    points = {r["student"]: (float(r["points"]), float(r["max_points"])) for r in rows}
    assert points == {"alice": (2.0, 2.0), "bob": (0.0, 2.0)}, rows
