"""A hostile class graded end to end with ``make grade``: honest students beside one attacker per attack.

The class (teacher/sample_class.py: HONEST and ATTACKS) covers every category of issue 19: points without
solving, changing a classmate's grade, reading what is not theirs, stopping grading for the class. Each
attacker's own answer is wrong unless its attack works from inside, so any point it gets is a point won.
Graded as the user running the tests (root in CI: the sandboxes then run as per-slot uids) and, when that is
root, again as an ordinary user the test creates and removes. Checked: the exact points of every student;
grades.csv complete and safe in a spreadsheet; nothing of the teacher's (an environment variable, a file, the
worked solutions) in any feedback; the checkout and every other hand-in unchanged; no process left; no
connection reached the host. Skipped where bubblewrap cannot run, unless GRADING_SANDBOX_REQUIRED=1.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from fakes import sandbox_or_skip
from teacher import sample_class
from teacher.grading import classroom, sandbox
from teacher.grading.notebooks import teacher_exercises

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SPECS = teacher_exercises(ROOT / "notebooks")
TIMEOUT = 20          # seconds per hand-in notebook here (an honest one takes 1-4 s, on a loaded machine)
SECRET_ENV = "canary-env-" + secrets.token_hex(4)
SECRET_FILE = "canary-file-" + secrets.token_hex(4)
#: Every category of issue 19 and the honest cases that tell the sandbox apart from the grader's identity.
AS_USER = (["ada_correct", "cat_earlier_helper", "dan_helper_loop"],
           ["profile_off", "forged_duplicate", "symlink_teacher", "daemon_grades", "rewrite_grader", "read_environ",
            "read_files", "fork_bomb", "memory_forks", "sysctl_ptrace", "loopback", "pipe_holder", "kill_everything",
            "grades.csv"])


class Loopback:
    """A TCP server on the host's 127.0.0.1 that counts the connections it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port, self.connections, self.running = self.server.getsockname()[1], 0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.server.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def checksums(*folders) -> dict:
    """{path: sha256} of every file under ``folders`` (not .git, .venv, caches), links by their target."""
    found = {}
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in (".git", ".venv", "__pycache__", ".pytest_cache")]
            for name in dirs + files:
                path = Path(top) / name
                if path.is_symlink():
                    found[str(path)] = "link:" + os.readlink(path)
                elif name in files:
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def runner_processes() -> list[str]:
    """Processes of a sandbox still alive: the runner's, or any a hand-in started (they carry its command line)."""
    alive = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if b"/grading/runner.py" in cmdline or b"bwrap" in cmdline.split(b"\0")[0]:
                alive.append(f"{entry.name}: {cmdline[:120]!r}")
    return alive


def solution_lines() -> list[str]:
    """Every line of the teacher's worked solutions (nbgrader's solution blocks), 12 characters or more."""
    lines = []
    for path in sorted((ROOT / "notebooks").glob("0[3-7]*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if "BEGIN SOLUTION" in source:
                body = source.split("BEGIN SOLUTION")[1].split("END SOLUTION")[0]
                lines += [line.strip() for line in body.splitlines()[1:-1] if len(line.strip()) >= 12]
    return lines


def make_grade(folder: Path, *, env: dict, prefix=(), args="") -> tuple[dict, str, Path]:
    """``make grade SUBMISSIONS=folder`` (as ``prefix`` says); returns ({(student, notebook): row}, stdout, the csv)."""
    cmd = [*prefix, "make", "-s", "-o", "data", "-o", f"{sys.prefix}/.installed-stamp", "grade", f"VENV={sys.prefix}",
           f"SUBMISSIONS={folder}", f"GRADE_ARGS=--jobs 2 --timeout {TIMEOUT} --seed 11 {args}"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    path = Path(result.stdout.strip().splitlines()[-1].rsplit(": ", 1)[1])
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["student"], r["notebook"]): r for r in rows}, result.stdout, path


def csv_name(student: str) -> str:
    """The student's name as grades.csv shows it: formulas quoted, format characters visible, never a lone
    surrogate (a folder name that is not UTF-8)."""
    name = classroom.cell_text(student)
    assert name == ("'" + student if student.startswith(("=", "+", "-", "@")) else student) or not student.isprintable()
    return name


@pytest.fixture(scope="module")
def loopback():
    server = Loopback()
    yield server
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, loopback):
    """The whole hostile class, graded by `make grade` as the user running the tests."""
    sandbox_or_skip()
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    base = tmp_path_factory.mktemp("hostile")
    folder, canary = base / "class", base / "teacher-secret.txt"
    canary.write_text(SECRET_FILE)
    folder.mkdir()
    students = sample_class.make_hostile_class(folder, {"canary": str(canary), "port": loopback.port,
                                                        "grader_pid": os.getpid()})
    before = checksums(ROOT, folder)
    env = {**os.environ, "TEACHER_SECRET": SECRET_ENV}
    rows, stdout, path = make_grade(folder, env=env)
    after_grading = path.read_bytes()
    time.sleep(4)            # the daemons' delay: were one alive, it would write now
    return {"students": students, "rows": rows, "stdout": stdout, "path": path, "folder": folder,
            "before": before, "after": checksums(ROOT, folder), "csv_then": after_grading,
            "alive": runner_processes()}


def check_points(rows, students):
    wrong = []
    for student, case in students.items():
        for spec in SPECS:
            row = rows[(csv_name(student), spec.notebook)]
            if case.folder:                            # a student folder that is a link: refused whole
                points, words = case.expect
            elif spec.notebook == case.notebook or student == "ada_correct":
                points, words = case.expect if spec.notebook == case.notebook else (2, "PASSED")
            else:
                points, words = 0, "not handed in"
            if float(row["points"]) != points or words not in row["feedback"]:
                wrong.append(f"{student} {spec.notebook}: {row['points']} points, {row['feedback'][:200]!r}; "
                             f"expected {points} and {words!r}")
    assert wrong == []


def test_every_student_gets_exactly_the_points_a_teacher_would_give(graded):
    check_points(graded["rows"], graded["students"])
    attackers = [s for s, c in graded["students"].items() if c.category != "honest"]
    assert len(attackers) >= 50 and {graded["students"][s].category for s in attackers} == {
        "points", "others", "secrets", "class"}


def test_grades_csv_is_complete_and_safe_in_a_spreadsheet(graded):
    rows = graded["rows"]
    assert len(rows) == len(graded["students"]) * len(SPECS)
    assert graded["path"].name.startswith("grades-")      # grades.csv is a student's folder here
    assert (graded["folder"] / "grades.csv").is_dir()
    for row in rows.values():
        assert set(row) == {"student", "notebook", "exercise", "points", "max_points", "feedback", "seed",
                            "graded_at", "sandbox"}
        assert row["seed"] == "11" and row["sandbox"] == "bubblewrap sandbox"
        for key in ("student", "feedback"):
            assert not row[key].startswith(("=", "+", "-", "@", "\t", "\r")), row[key]
            assert "\n" not in row[key]


def test_nothing_of_the_teachers_reaches_the_feedback(graded):
    text = graded["path"].read_text(encoding="utf-8")
    assert SECRET_ENV not in text and SECRET_FILE not in text
    leaked = [line for line in solution_lines() if line in text]
    assert leaked == []
    assert "raised ValueError: PATH=/usr/bin:/bin" in text          # read_environ ran, and found only this
    assert "masked_error" not in text                              # cat's own code reaches no one


def test_the_checkout_and_every_other_hand_in_are_unchanged(graded):
    before, after = graded["before"], graded["after"]
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)
                     and not Path(p).name.startswith("grades-"))
    assert changed == []
    assert not (Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "sitecustomize.py").exists()
    assert graded["path"].read_bytes() == graded["csv_then"]       # no daemon rewrote the grades afterwards


def test_no_process_survives_grading(graded):
    assert graded["alive"] == []


def test_no_connection_reached_the_host(graded, loopback):
    assert loopback.connections == 0


def test_the_summary_names_the_file_the_seed_and_the_sandbox(graded):
    last = graded["stdout"].strip().splitlines()[-1]
    assert f"{len(graded['students'])} students graded in" in last and "seed 11" in last
    assert "sandbox: bubblewrap sandbox" in last and str(graded["path"]) in last


# ---------------------------------------------------------------- as an ordinary user


def _user_prefix(name: str, home: Path, view: Path) -> list[str]:
    """Run as ``name``; where the venv's Python lies under a folder others cannot enter (/root, mode 0700), in a
    private mount namespace that shows that folder as holding only the Python (the host is not changed)."""
    drop = ["setpriv", f"--reuid={name}", f"--regid={name}", "--clear-groups"]
    python = os.path.realpath(sys.base_prefix)
    if sandbox.reachable_by_others(python):
        return drop
    top = "/" + Path(python).parts[1]
    script = (f'mount --bind "{python}" "{view}" && mount -t tmpfs -o mode=0755 none "{top}" && '
              f'mkdir -p "{python}" && mount --bind "{view}" "{python}" && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *drop]


@pytest.mark.skipif(os.getuid() != 0, reason="creating an ordinary user needs root")
def test_an_ordinary_user_grades_the_hostile_class_the_same(loopback):
    sandbox_or_skip()
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    if not all(shutil.which(tool) for tool in ("useradd", "userdel", "setpriv", "unshare")):
        pytest.skip("useradd, setpriv and unshare (util-linux, passwd) are needed")
    name = "gradetest" + secrets.token_hex(3)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    base = Path(tempfile.mkdtemp(prefix="grading-user-test-"))
    try:
        user = pwd.getpwnam(name)
        folder, canary, home, view = base / "class", base / "teacher-secret.txt", base / "home", base / "view"
        for made in (folder, home, view):
            made.mkdir()
        canary.write_text(SECRET_FILE)
        os.chmod(canary, 0o600)
        students = sample_class.make_hostile_class(folder, {"canary": str(canary), "port": loopback.port,
                                                            "grader_pid": os.getpid()},
                                                   honest=AS_USER[0], attacks=AS_USER[1])
        for path in [base, folder, home, *folder.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)
        os.chmod(base, 0o755)
        before = checksums(ROOT, folder)
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "TEACHER_SECRET": SECRET_ENV, "LANG": "C.UTF-8",
               "MOVIE_RECOMMENDER_CACHE": str(home / "cache"),
               **{k: os.environ[k] for k in ("MOVIELENS_DATA",) if k in os.environ}}
        rows, stdout, path = make_grade(folder, env=env, prefix=_user_prefix(name, home, view))
        time.sleep(4)
        check_points(rows, students)
        text = path.read_text(encoding="utf-8")
        assert SECRET_ENV not in text and SECRET_FILE not in text and "sandbox: bubblewrap sandbox" in stdout
        after = checksums(ROOT, folder)
        assert sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)
                      and not Path(p).name.startswith("grades-")) == []
        assert runner_processes() == [] and loopback.connections == 0
        assert not [e for e in os.scandir("/proc") if e.name.isdigit() and _uid(e) == user.pw_uid]
    finally:
        uid = pwd.getpwnam(name).pw_uid
        for entry in os.scandir("/proc"):          # none should be left; any that is ends here, by its pid
            if entry.name.isdigit() and _uid(entry) == uid:
                os.kill(int(entry.name), 9)
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(base, ignore_errors=True)


def _uid(entry) -> int | None:
    try:
        return entry.stat().st_uid
    except OSError:
        return None


def test_every_slot_reads_the_parsed_ratings_without_parsing_and_cannot_write_them():
    """The notebooks' helpers.load_ratings hits the cache the grader filled (3 s saved per notebook), in every
    slot (as root, each slot is a user of its own), and a hand-in cannot change what the next one reads."""
    from teacher.grading.notebooks import teacher_notebooks
    from teacher.grading.workspace import Workspace

    sandbox_or_skip()
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    workspace = Workspace(teacher_notebooks(ROOT / "notebooks", ["03"]), slots=2)
    cell = ("import glob, helpers\nfrom recsys_tutorial.paths import data_file\n"
            "def refuse(*args):\n    raise RuntimeError('parsed')\nhelpers.ratings_sheets = refuse\n"
            "Y, R = helpers.load_ratings(data_file('ex8_movies.xlsx'))\n"
            "for path in glob.glob('/grading/cache/**/*', recursive=True):\n    try:\n"
            "        open(path, 'ab').write(b'x')\n        raise SystemExit('wrote ' + path)\n    except OSError:\n"
            "        pass\nraise SystemExit(f'cache hit {Y.shape} {int(R.sum())}')")
    try:
        for slot in (0, 1, 0):
            outcome = workspace.run("03-cost-function.ipynb", {"steps": [{"cell": 0, "source": cell}]}, slot)
            done = json.loads(outcome.result.splitlines()[-1])
            assert done["errors"] == [[0, "SystemExit: cache hit (1682, 943) 100000"]], done
    finally:
        workspace.close()
