"""Made-up classes of hand-ins, to try the grader on and to test it: ordinary ones, and a hostile one.

An ordinary student's notebooks are the student copy of the teacher's
notebooks with each answer cell filled in according to a *case*
(:data:`CASES`): the worked solution written out, a usual mistake, the stub
left alone, a loop where the exercise forbids loops, and so on.
``python -m teacher.sample_class DEST --students 120`` writes a class that
cycles through them; :func:`make_class` takes an explicit plan.

:func:`make_hostile_class` writes a class where honest students
(:data:`HONEST`: answers that use their own earlier cells, a deleted check
cell, magics, nbgrader's folder layout, names a spreadsheet would run as
formulas...) sit beside attackers (:data:`ATTACKS`), one per attack, every
category of issue 19: getting points without solving, changing a classmate's
grade, reading what is not theirs, stopping grading for the class. Each
attacker's own answer is wrong or missing, so any point it gets is a point the
attack won. An attack knows the real paths of the class folder, the
repository and a canary file, and the port of a server on the loopback
interface (``context``), so that a leaky sandbox would be caught.
``python -m teacher.sample_class DEST --hostile`` writes it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from recsys_tutorial import paths
from teacher import exercises
from teacher.grading.notebooks import teacher_exercises
from teacher.student_copy import CODE_STUB, student_notebook

__all__ = ["BODIES", "CASES", "HONEST", "ATTACKS", "Case", "answer_source", "submission", "make_class",
           "make_hostile_class", "main"]

NB03, NB04, NB05, NB06, NB07 = ("03-cost-function.ipynb", "04-gradient-checking.ipynb", "05-mean-normalisation.ipynb",
                                "06-training.ipynb", "07-recommending.ipynb")
_REG = "lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))"

#: Function bodies per function and case (the generic cases are built in :func:`answer_source`).
BODIES = {
    "my_cofi_cost": {
        "correct": f"E = R * (X @ Theta.T - Y)\nreturn float(0.5 * np.sum(E ** 2) + {_REG})",
        "wrong": f"E = X @ Theta.T - Y\nreturn 0.5 * np.sum(E ** 2) + {_REG}",
        "loop": f"J = 0.0\nfor i, j in zip(*np.nonzero(R)):\n    J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2\nreturn J + {_REG}",
        "hard_coded": "return 22.22",
        "reference": "return helpers.cofi_cost(X, Theta, Y, R, lambda_)",
        "earlier_import": f"E = R * (X @ Theta.T - Y)\nreturn float(0.5 * total_of(E ** 2) + {_REG})",
        "earlier_helper": f"E = masked_error(X, Theta, Y, R)\nreturn float(0.5 * np.sum(E ** 2) + {_REG})",
        "helper_loop": f"return 0.5 * squared_sum(R * (X @ Theta.T - Y)) + {_REG}",
        "uses_helper": f"return 0.5 * squared_sum(R * (X @ Theta.T - Y)) + {_REG}",
        "won_or_wrong": f"if globals().get('won'):   # the attack before this cell worked\n"
                        f"    E = R * (X @ Theta.T - Y)\n    return float(0.5 * np.sum(E ** 2) + {_REG})\n"
                        f"E = X @ Theta.T - Y\nreturn 0.5 * np.sum(E ** 2) + {_REG}",
        "magics": f"E = R * (X @ Theta.T - Y)\nreturn float(0.5 * np.sum(E ** 2) + {_REG})",
    },
    "my_cofi_gradients": {
        "correct": "E = R * (X @ Theta.T - Y)\nreturn E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta",
        "wrong": "E = R * (X @ Theta.T - Y)\nreturn 2 * (E @ Theta + lambda_ * X), 2 * (E.T @ X + lambda_ * Theta)",
        "loop": "E = R * (X @ Theta.T - Y)\nX_grad = np.array([E[i] @ Theta for i in range(len(X))])\n"
                "return X_grad + lambda_ * X, E.T @ X + lambda_ * Theta",
        "hard_coded": "return np.zeros_like(X), np.zeros_like(Theta)",
        "reference": "return helpers.cofi_gradients(X, Theta, Y, R, lambda_)",
    },
    "my_normalize_ratings": {
        "correct": "counts = R.sum(axis=1)\nsums = np.where(R, Y, 0.0).sum(axis=1)\n"
                   "mean = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)\n"
                   "return np.where(R, Y - mean[:, None], 0.0), mean",
        "wrong": "mean = np.where(R, Y, 0.0).mean(axis=1)\nreturn np.where(R, Y - mean[:, None], 0.0), mean",
        "warning": "mean = np.nan_to_num(np.where(R, Y, 0.0).sum(axis=1) / R.sum(axis=1))\n"
                   "return np.where(R, Y - mean[:, None], 0.0), mean",
        "hard_coded": "return np.zeros(Y.shape), np.zeros(Y.shape[0])",
        "reference": "return helpers.normalize_ratings(Y, R)",
    },
    "my_gradient_step": {
        "correct": "E = R * (X @ Theta.T - Y)\n"
                   "return X - alpha * (E @ Theta + lambda_ * X), Theta - alpha * (E.T @ X + lambda_ * Theta)",
        "wrong": "E = R * (X @ Theta.T - Y)\nX = X - alpha * (E @ Theta + lambda_ * X)\n"
                 "E = R * (X @ Theta.T - Y)\nreturn X, Theta - alpha * (E.T @ X + lambda_ * Theta)",
        "hard_coded": "return X, Theta",
        "reference": "return tuple(helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1)[:2])",
        "allowed_helper": "X_grad, Theta_grad = helpers.cofi_gradients(X, Theta, Y, R, lambda_)\n"
                          "return X - alpha * X_grad, Theta - alpha * Theta_grad",
    },
    "my_top_n": {
        "correct": "order = np.argsort(-predictions, kind='stable')\nreturn order[~rated[order]][:n]",
        "wrong": "free = [i for i in range(len(predictions)) if not rated[i]]\n"
                 "return sorted(free, key=lambda i: str(predictions[i]), reverse=True)[:n]",
        "hard_coded": "return [1, 11, 10, 0, 4][:n]",
    },
}

CASES = ("correct", "wrong", "unsolved", "reference", "loop", "warning", "hard_coded", "patched_helpers",
         "tampered_check", "patched_checker", "infinite_loop", "syntax_error", "crash")


def _body(function: str, case: str) -> str:
    bodies = BODIES[function]
    if case in bodies:
        return bodies[case]
    if case == "infinite_loop":
        return "while True:\n    pass"
    if case == "syntax_error":
        return "return (X @ Theta.T"
    return bodies["wrong"]  # a rule the exercise does not have, patched_*, tampered_check


def answer_source(stub_cell: str, function: str, checker: str, case: str, body: str | None = None) -> str:
    """The answer cell for ``case`` (or with ``body``): the stub cell with its stub replaced, plus extra lines
    for some cases."""
    stub = "\n".join(CODE_STUB)
    indent = next(line[: len(line) - len(line.lstrip())] for line in stub_cell.split("\n") if CODE_STUB[0] in line)
    if case == "unsolved" and body is None:
        return stub_cell
    body = _body(function, case) if body is None else body
    source = stub_cell.replace(textwrap.indent(stub, indent), textwrap.indent(body, indent))
    if case == "patched_helpers":
        source += f"\n\n{exercises.EXERCISES[checker].forbidden[0]} = {function}   # the checker compares with me now"
    if case == "patched_checker":
        source += f"\n\nexercises.{checker} = lambda fn, **kw: print('PASSED: ' + fn.__name__) or True"
    if case == "crash":
        source = "import os\nos._exit(3)\n" + source
    if case == "magics":
        source = "%matplotlib inline\n%time squares = [k * k for k in range(3)]\n!echo computing\n" + source
    if case == "helper_loop":
        source = ("def squared_sum(E):\n    total = 0.0\n    for e in E.ravel():\n        total += e * e\n"
                  "    return total\n\n\n" + source)
    return source


def _cells(nb, predicate):
    return [k for k, c in enumerate(nb.cells) if predicate(c.get("metadata", {}).get("nbgrader", {}))]


def submission(teacher_path, cases: dict, specs, *, bodies: dict | None = None):
    """The student copy of one teacher notebook with each exercise answered as ``cases[function]``
    (``bodies[function]``, if given, is the answer's body instead of the case's)."""
    nb = student_notebook(nbformat.read(teacher_path, as_version=4), name=Path(teacher_path).name)
    for spec in specs:
        case = cases.get(spec.function, "unsolved")
        body = (bodies or {}).get(spec.function)
        for cell in nb.cells:
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if grading.get("grade_id") == spec.exercise:
                cell.source = answer_source(cell.source, spec.function, spec.checker, case, body)
            elif grading.get("grade") and case == "tampered_check" and spec.function in cell.source:
                cell.source = f"print('PASSED: {spec.function} is right')"
    return nb


def make_class(dest, plan: dict, teacher=None) -> Path:
    """Write ``dest/<student>/<notebook>`` for ``plan = {student: {notebook: case}}``; returns ``dest``."""
    teacher = Path(teacher or paths.repository_root() / "notebooks")
    specs = teacher_exercises(teacher)
    dest = Path(dest)
    for student, notebooks in plan.items():
        (dest / student).mkdir(parents=True, exist_ok=True)
        for notebook, case in notebooks.items():
            mine = [s for s in specs if s.notebook == notebook]
            nb = submission(teacher / notebook, {s.function: case for s in mine}, mine)
            nbformat.write(nb, dest / student / notebook)
    return dest


# ---------------------------------------------------------------- the hostile class


@dataclass(frozen=True)
class Case:
    """One student of the hostile class: how their hand-in of ``notebook`` is made, and what it must score.

    ``case``/``body``: the answer (a case of :data:`BODIES`, or a body with
    ``{placeholders}`` of the context); an attacker's default answer is wrong,
    unless a cell before it set ``won = True``: an attack that works from inside
    (a write that should fail, a forbidden call) turns into points; ``before``/``after``: code cells put
    before the answer cell / after the check cell; ``edit``: what is done to
    the notebook ('delete_check', 'check_to_markdown', 'bad_metadata',
    'redefine_after', 'many_cells', 'tampered_check'); ``file``: how the
    hand-in file is written instead ('symlink:<path>', 'garbage', 'json_bomb',
    'huge', 'nested'); ``folder``: 'symlink:<student>' for a student folder
    that is a link. ``expect``: ``(points, words the feedback holds)``.
    """

    category: str
    notebook: str = NB03
    case: str = "won_or_wrong"
    body: str | None = None
    before: tuple = ()
    after: tuple = ()
    edit: str = ""
    file: str = ""
    folder: str = ""
    expect: tuple = (0, "")


HONEST = {
    "ada_correct": Case("honest", case="correct", expect=(2, "PASSED")),
    "ben_earlier_import": Case("honest", case="earlier_import", before=("from numpy import sum as total_of",),
                               expect=(2, "PASSED")),
    "cat_earlier_helper": Case("honest", case="earlier_helper", before=(
        "def masked_error(X, Theta, Y, R):\n    return R * (X @ Theta.T - Y)",), expect=(2, "PASSED")),
    "dan_helper_loop": Case("honest", case="helper_loop", expect=(1, "calls squared_sum (cell 16), which uses a for loop")),
    "eve_earlier_helper_loop": Case("honest", case="uses_helper", before=(
        "def squared_sum(E):\n    return sum(e * e for e in E.ravel())",), expect=(1, "which uses a generator expression")),
    "fay_deleted_check": Case("honest", case="correct", edit="delete_check", expect=(2, "PASSED")),
    "gus_later_crash": Case("honest", case="correct", after=("raise RuntimeError('a later cell fails')",
                                                             "import os\nos._exit(1)"), expect=(2, "PASSED")),
    "hal_magics": Case("honest", case="magics", expect=(2, "PASSED")),
    "ivy_nbgrader_layout": Case("honest", case="correct", file="nested", expect=(2, "PASSED")),
    "jon_allowed_helper": Case("honest", notebook=NB06, case="allowed_helper", expect=(2, "PASSED")),
    "kim_loop": Case("honest", case="loop", expect=(1, "the values are right, but it uses a for loop")),
    "lea_warning": Case("honest", notebook=NB05, case="warning", expect=(1, "RuntimeWarning")),
    "max_wrong": Case("honest", case="wrong", expect=(0, "forgot the mask R")),
    "nia_unsolved": Case("honest", case="unsolved", expect=(0, "not implemented yet")),
    "oli_top_n": Case("honest", notebook=NB07, case="correct", expect=(2, "PASSED")),
    "=HYPERLINK(\"evil.example\",\"x\")": Case("honest", case="correct", expect=(2, "PASSED")),
    "+cmd|' -C calc'!A0": Case("honest", case="correct", expect=(2, "PASSED")),
    "@SUM(1+1)": Case("honest", case="correct", expect=(2, "PASSED")),
    "-2+3": Case("honest", case="correct", expect=(2, "PASSED")),
    "nat_namedtuple": Case("honest", notebook=NB04, body=(
        "from collections import namedtuple\nGradients = namedtuple('Gradients', 'X_grad Theta_grad')\n"
        "E = R * (X @ Theta.T - Y)\nreturn Gradients(E @ Theta + lambda_ * X, E.T @ X + lambda_ * Theta)"),
        expect=(2, "PASSED")),
    "pam_pandas": Case("honest", notebook=NB05, body=(
        "import pandas as pd\ndf = pd.DataFrame(np.where(R, Y, np.nan))\nmean = df.mean(axis=1).fillna(0.0)\n"
        "return df.sub(mean, axis=0).fillna(0.0), mean"), expect=(2, "PASSED")),
    "wes_writefile": Case("honest", case="earlier_helper", before=(
        "%%writefile costlib.py\ndef masked_error(X, Theta, Y, R):\n    return R * (X @ Theta.T - Y)\n",
        "from costlib import masked_error"), expect=(2, "PASSED")),
}

_DAEMON = """import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep({delay})
        for _ in range(100):
            for path in ["{class_dir}/grades.csv", "{class_dir}/DAEMON_WAS_HERE", "/tmp/grades.csv"]:
                try:
                    with open(path, "a") as f:
                        f.write("{victim},03-cost-function.ipynb,my_cofi_cost,0,2,x\\nmallory,x,x,10,2,x\\n")
                except OSError:
                    pass
            time.sleep(0.2)
        os._exit(0)
    os._exit(0)
"""
_TRY_WRITE = """import os
for path in {paths!r}:
    try:
        with open(path, "a") as f:
            f.write("\\nraise SystemExit('pwned')\\n")
        won = True
    except OSError:
        pass
"""
_READ = """import os
found = []
for path in {paths!r}:
    try:
        with open(path, "rb") as f:
            found.append(f.read(300))
    except OSError as exc:
        found.append(type(exc).__name__)
raise ValueError(repr(found))"""

_LOOP_CODE = ("J = 0.0\\n    for i, j in zip(*np.nonzero(R)):\\n        J += (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2\\n"
              "    return J + " + _REG)
_DEV_FILL = """import os
written = 0
for k in range(10):
    try:
        with open(f'/dev/fill{{k}}', 'wb') as f:
            for _ in range(60):
                written += f.write(b'z' * 2 ** 20)
    except OSError:
        break
open('/tmp/report', 'w').write(f'/dev holds {{written // 2 ** 20}} MB')
"""
_KERNEL_MEMORY = """import ctypes, socket
pairs = []
for _ in range(40):
    try:
        a, b = socket.socketpair()
    except OSError:
        break
    for s in (a, b):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 2 ** 20)
        s.setblocking(False)
        try:
            while True:
                s.send(b'x' * 65536)
        except OSError:
            pass
    pairs.append((a, b))
libc = ctypes.CDLL(None, use_errno=True)
class Msg(ctypes.Structure):
    _fields_ = [('mtype', ctypes.c_long), ('mtext', ctypes.c_char * 8192)]
m, queues = Msg(1, b'y' * 8192), 0
for _ in range(2000):
    q = libc.msgget(0, 0o1600)
    if q < 0:
        break
    queues += 1
    while libc.msgsnd(q, ctypes.byref(m), 8192, 0o4000) == 0:
        pass
open('/tmp/report', 'w').write(f'socket pairs {{len(pairs)}}; message queues {{queues}}; kernel memory held')
"""


def _many_functions(count: int, filler: int) -> str:
    """A cell of ``count`` small functions called by ``call_all``, and ``filler`` characters of dead code: the
    grader once parsed the whole cell again for each function the runner reported running."""
    defs = "".join(f"def f{k}():\n    return {k}\n" for k in range(count))
    calls = "def call_all():\n    return " + " + ".join(f"f{k}()" for k in range(count)) + "\n"
    return defs + calls + "if False:\n" + "    x = (1, 2)\n" * (filler // 15)


ATTACKS = {
    # -- full points without solving: call, import or read the answer, or lie about the result
    "profile_off": Case("points", body="import sys\nsys.setprofile(None)\nreturn helpers.cofi_cost(X, Theta, Y, R, lambda_)",
                        expect=(0, "helpers.cofi_cost is not available while the grader runs")),
    "checker_reference": Case("points", body="from recsys_tutorial import exercises as ex\n"
                              "return ex.EXERCISES['check_cofi_cost'].reference(X, Theta, Y, R, lambda_)",
                              expect=(0, "is not available while the grader runs")),
    "teacher_module": Case("points", body="import teacher.exercises as te\n"
                           "return te.EXERCISES['check_cofi_cost'].reference(X, Theta, Y, R, lambda_)",
                           expect=(0, "No module named 'teacher'")),
    "private_cost": Case("points", body="return helpers._cost_and_gradients(X, Theta, Y, R, lambda_, False)[0]",
                         expect=(0, "not available")),
    "observed_cost": Case("points", body="from recsys_tutorial.observed import ObservedRatings\n"
                          "return ObservedRatings.from_dense(Y, R).cost_and_gradients(X, Theta, lambda_)[0]",
                          expect=(0, "not available")),
    "trainer_cost": Case("points", body="return float(helpers.gradient_descent(X, Theta, Y, R, lambda_, 1e-9, 0)[2][0])",
                         expect=(0, "not available")),
    "lbfgs_cost": Case("points", body="return float(helpers.train_lbfgs(Y, R, X.shape[1], lambda_, 0, X0=X, "
                       "Theta0=Theta)[2][0])", expect=(0, "not available")),
    "worked_solution": Case("points", body=textwrap.dedent("""\
        import glob, json, os
        found = glob.glob("{repo}/notebooks/*.ipynb")
        for top in ("{repo}", "/grading", "/work", "/home", "/root", "/tmp", "/srv", "/opt"):
            for folder, dirs, files in os.walk(top):
                dirs[:] = [d for d in dirs if d not in ("site-packages", "lib", "include", "share", "bin")]
                found += [os.path.join(folder, f) for f in files if f.endswith(".ipynb")]
        for path in found:
            for cell in json.load(open(path))["cells"]:
                if "BEGIN SOLUTION" in "".join(cell["source"]):
                    exec("".join(cell["source"]), globals())
                    return my_cofi_cost(X, Theta, Y, R, lambda_)
        raise FileNotFoundError("no worked notebook in reach")"""), expect=(0, "no worked notebook in reach")),
    "liar_float": Case("points", body="class Liar(float):\n    def __eq__(self, other):\n        return True\n"
                       "    __hash__ = float.__hash__\nreturn Liar(0.0)", expect=(0, "")),
    "liar_array": Case("points", body="class Liar(np.ndarray):\n    def __eq__(self, other):\n"
                       "        return np.ones(np.shape(other), bool)\nreturn np.zeros(()).view(Liar)", expect=(0, "")),
    "forged_duplicate": Case("points", before=("import json, os, sys\nfd = int(sys.argv[-1])\n"
                             "fake = {{'ok': True, 'out': {{'number': 1.0}}, 'error': None, 'warnings': [], 'after': []}}\n"
                             "os.write(fd, (json.dumps({{'check': 0, 'records': [fake] * 3, 'ran': []}}) + '\\n').encode())",),
                             expect=(0, "could not read what the notebook's run sent back")),
    "forged_alone": Case("points", before=(textwrap.dedent("""\
        import gc, json, os, sys
        job = next(o for o in gc.get_objects() if isinstance(o, dict) and "steps" in o)
        check = next(s for s in job["steps"] if "check" in s)
        records = [{{"ok": True, "out": {{"number": 0.0}}, "error": None, "warnings": [], "after": call["arrays"]}}
                   for call in check["calls"]]
        os.write(int(sys.argv[-1]), (json.dumps({{"check": 0, "records": records, "ran": []}}) + "\\n"
                                     + json.dumps({{"done": True, "errors": []}}) + "\\n").encode())
        os._exit(0)"""),), expect=(0, "FAILED")),
    "hard_coded": Case("points", case="hard_coded", expect=(0, "FAILED")),
    "patched_checker": Case("points", case="patched_checker", expect=(0, "forgot the mask R")),
    "patched_helpers": Case("points", case="patched_helpers", expect=(0, "forgot the mask R")),
    "tampered_check": Case("points", case="tampered_check", expect=(0, "forgot the mask R")),
    "check_to_markdown": Case("points", edit="check_to_markdown", expect=(0, "forgot the mask R")),
    "redefine_after": Case("points", edit="redefine_after", expect=(0, "forgot the mask R")),
    "symlink_teacher": Case("points", file="symlink:{repo}/notebooks/03-cost-function.ipynb",
                            expect=(0, "symbolic link")),
    "symlink_folder": Case("points", folder="symlink:ada_correct", expect=(0, "symbolic link")),
    # -- changing a classmate's grade
    "daemon_grades": Case("others", before=(_DAEMON,), expect=(0, "forgot the mask R")),
    "edit_classmate": Case("others", before=(_TRY_WRITE.replace("{paths!r}", "['{class_dir}/{victim}/03-cost-function.ipynb',"
                                                                 " '{class_dir}/{victim}/notes.txt']"),),
                           expect=(0, "forgot the mask R")),
    "rewrite_grader": Case("others", before=(_TRY_WRITE.replace("{paths!r}", (
        "['{repo}/teacher/grading/grader.py', '{repo}/helpers.py', '{repo}/recsys_tutorial/exercises.py', "
        "'/grading/runner.py', '/grading/lib/helpers.py', sys.prefix + '/lib/python3.11/site-packages/sitecustomize.py']"
    )).replace("import os", "import os, sys"),), expect=(0, "forgot the mask R")),
    "poison_cache": Case("others", before=(_TRY_WRITE.replace("{paths!r}", (
        "glob.glob('/grading/cache/*') + [os.environ['MOVIE_RECOMMENDER_CACHE'] + '/x.npz']"
    )).replace("import os", "import glob, os"),), expect=(0, "forgot the mask R")),
    "tmp_persist": Case("others", before=("import os\nos.makedirs('/tmp/home/.ipython/profile_default/startup', "
                                          "exist_ok=True)\nopen('/tmp/home/.ipython/profile_default/startup/0.py', 'w')"
                                          ".write('raise SystemExit')\nopen('/tmp/mpl/matplotlibrc', 'w')"
                                          ".write('backend: nonexistent')",), expect=(0, "forgot the mask R")),
    # -- reading what is not theirs
    "read_environ": Case("secrets", body="import os\nraise ValueError(open('/proc/1/environ').read() + "
                         "open('/proc/self/environ').read() + repr(dict(os.environ)))", expect=(0, "raised ValueError")),
    "read_files": Case("secrets", body=_READ.replace("{paths!r}", (
        "['{repo}/notebooks/03-cost-function.ipynb', '{class_dir}/{victim}/03-cost-function.ipynb', '{canary}', "
        "'/etc/shadow', '/root/.bash_history', os.path.expanduser('~/.ssh/id_rsa')]")), expect=(0, "raised ValueError")),
    "symlink_secret": Case("secrets", file="symlink:{canary}", expect=(0, "symbolic link")),
    "proc_snoop": Case("secrets", body="import os\nseen = []\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n"
                       "        try:\n            seen.append(open(f'/proc/{{pid}}/cmdline', 'rb').read()[:80])\n"
                       "            seen.append(open(f'/proc/{{pid}}/environ', 'rb').read()[:300])\n"
                       "        except OSError:\n            pass\nraise ValueError(repr(seen))", expect=(0, "raised ValueError")),
    "signal_grader": Case("secrets", before=("import os, signal\ntry:\n    os.kill({grader_pid}, signal.SIGTERM)\n    won = True\n"
                                             "except OSError:\n    pass\ntry:\n    os.kill(-1, signal.SIGTERM)\n"
                                             "except OSError:\n    pass",),
                          expect=(0, "forgot the mask R")),
    # -- stopping grading for the class
    "bad_metadata": Case("class", edit="bad_metadata", expect=(0, "forgot the mask R")),
    "not_a_notebook": Case("class", file="garbage", expect=(0, "cannot read the hand-in as a notebook")),
    "json_bomb": Case("class", file="json_bomb", expect=(0, "cannot read the hand-in as a notebook")),
    "huge_notebook": Case("class", file="huge", expect=(0, "bytes")),
    "many_cells": Case("class", edit="many_cells", expect=(0, "cells")),
    "long_expression": Case("class", before=("x = " + "1 + " * 100_000 + "1",), expect=(0, "forgot the mask R")),
    "kill_everything": Case("class", before=("import os, signal\nfor target in (-1, 1):\n    try:\n"
                                             "        os.kill(target, signal.SIGKILL)\n    except OSError:\n"
                                             "        pass\nos.killpg(0, signal.SIGTERM)",), expect=(0, "ended")),
    "pipe_holder": Case("class", before=("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n"
                                         "    if os.fork() == 0:\n        while True:\n            os.write(1, b'.')\n"
                                         "            time.sleep(1)\n    os._exit(0)",), expect=(0, "forgot the mask R")),
    "stderr_flood": Case("class", before=("import os\nwhile True:\n    os.write(2, b'x' * 2 ** 20)",),
                         expect=(0, "output")),
    "memory_forks": Case("class", before=(textwrap.dedent("""\
        import os, time
        for k in range(3):
            if os.fork() == 0:
                hold = [b'x' * 2 ** 27 for _ in range(12)]
                time.sleep(60)
        time.sleep(60)
        """),), expect=(0, "memory")),
    "fork_bomb": Case("class", before=(textwrap.dedent("""\
        import os, time
        forks = 0
        try:
            while forks < 500:
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
                forks += 1
        except OSError:
            pass
        won = forks >= 500
        """),),
                      expect=(0, "")),
    "loopback": Case("class", body="import socket\nfor host in ('127.0.0.1', '::1', 'localhost'):\n    try:\n"
                     "        socket.create_connection((host, {port}), timeout=2).sendall(b'pwned')\n"
                     "        return 2.0\n    except OSError:\n        pass\nraise ConnectionError('no connection')",
                     expect=(0, "no connection")),
    "cpu_burn": Case("class", before=("import os\nfor k in range(3):\n    if os.fork() == 0:\n        while True:\n"
                                      "            pass\nwhile True:\n    pass",), expect=(0, "")),
    "infinite_loop": Case("class", case="infinite_loop", after=("while True:\n    pass",), expect=(0, "time limit")),
    "crash": Case("class", case="crash", expect=(0, "exit code 3")),
    "segfault": Case("class", before=("import ctypes\nctypes.string_at(0)",), expect=(0, "SIGSEGV")),
    "syntax_error": Case("class", case="syntax_error", expect=(0, "SyntaxError")),
    "disk_fill": Case("class", before=(textwrap.dedent("""\
        written = 0
        for path in ('/tmp/fill', '/dev/shm/fill', '/tmp/home/fill2'):
            try:
                with open(path, 'wb') as f:
                    for _ in range(2048):
                        written += f.write(b'x' * 2 ** 20)
            except OSError:
                pass
        won = written > 2 ** 30
        """),),
                      expect=(0, "forgot the mask R")),
    "memfd_shm": Case("class", before=(textwrap.dedent("""\
        import ctypes, os
        try:
            os.memfd_create('x')
            won = True
        except OSError:
            pass
        if ctypes.CDLL(None).shmget(0, 2 ** 30, 0o1600) >= 0:
            won = True
        """),), expect=(0, "forgot the mask R")),
    "sysctl_ptrace": Case("class", before=("import ctypes\nfor path in ('/proc/sys/kernel/printk_ratelimit', "
                                           "'/proc/sys/vm/overcommit_ratio'):\n    try:\n"
                                           "        value = open(path).read()\n        open(path, 'w').write(value)\n"
                                           "        won = True\n    except OSError:\n        pass\n"
                                           "if ctypes.CDLL(None).ptrace(16, 1, 0, 0) == 0:\n    won = True",),
                          expect=(0, "forgot the mask R")),
    "huge_return": Case("points", body="return np.zeros(10 ** 7)", expect=(0, "")),
    "result_flood": Case("class", before=("import os, sys\nfd = int(sys.argv[-1])\nfor _ in range(200):\n"
                                          "    os.write(fd, b'{{\"check\": 0}}' * 50000)",),
                         expect=(0, "")),
    "close_result": Case("class", before=("import os, sys\nos.close(int(sys.argv[-1]))",), expect=(0, "")),
    "grades.csv": Case("class", expect=(0, "forgot the mask R")),     # a student folder where grades.csv goes
    # -- found by the second review (issue 19's follow-up)
    "surrogate_error": Case("class", body="raise ValueError('bad byte \\udcff here')", expect=(0, "raised ValueError")),
    "zed\udcff": Case("class", case="wrong", expect=(0, "forgot the mask R")),   # a folder name that is not UTF-8
    "ada_correct\u200b": Case("others", case="wrong", expect=(0, "forgot the mask R")),   # look-alikes of a name
    "\u202etcerroc_ada": Case("others", case="wrong", expect=(0, "forgot the mask R")),
    "hardlink_teacher": Case("points", file="hardlink:{repo}/notebooks/03-cost-function.ipynb",
                             expect=(0, "hard link")),
    "dev_fill": Case("class", before=(_DEV_FILL,), body="raise ValueError(open('/tmp/report').read())",
                     expect=(0, "/dev holds 0 MB")),
    "kernel_memory": Case("class", before=(_KERNEL_MEMORY,), body="raise ValueError(open('/tmp/report').read())",
                          expect=(0, "socket pairs 0; message queues 0;")),
    # no-loops rule: a loop hidden from the grader's reading still costs the rule's point
    "loop_exec": Case("points", body=(
        "ns = dict(np=np)\nexec('def g(X, Theta, Y, R, lambda_):\\n    " + _LOOP_CODE + "', ns)\n"
        "return ns['g'](X, Theta, Y, R, lambda_)"), expect=(1, "uses exec() (line 4: code run from a string")),
    "loop_module": Case("points", before=(
        "import sys\nopen('/tmp/mymod.py', 'w').write('import numpy as np\\ndef g(X, Theta, Y, R, lambda_):\\n    "
        + _LOOP_CODE + "\\n')\nsys.path.insert(0, '/tmp')\nfrom mymod import g as looped_cost",),
        body="return looped_cost(X, Theta, Y, R, lambda_)", expect=(1, "g from mymod.py, a file written while")),
    "loop_reduce": Case("points", body=(
        "import functools\nJ = functools.reduce(lambda acc, ij: acc + (X[ij[0]] @ Theta[ij[1]] - Y[ij[0], ij[1]]) ** 2 / 2,"
        "\n                     zip(*np.nonzero(R)), 0.0)\nreturn J + " + _REG), expect=(1, "uses reduce() (line 4)")),
    "loop_recursion": Case("points", body=(
        "def rec(k, pairs):\n    if k == len(pairs):\n        return 0.0\n    i, j = pairs[k]\n"
        "    return (X[i] @ Theta[j] - Y[i, j]) ** 2 / 2 + rec(k + 1, pairs)\n"
        "return rec(0, list(zip(*np.nonzero(R)))) + " + _REG), expect=(1, "recursion (rec calls itself)")),
    # private functions of the tutorial that compute an answer
    "leak_explorer_top": Case("points", notebook=NB07, body=(
        "from recsys_tutorial.interactive.training import _explorer_top\n"
        "_, best = _explorer_top(dict(mine_rated=rated, mine=predictions), [str(i) for i in range(len(predictions))],\n"
        "                        [0] * len(predictions), n=n)\n"
        "return np.array([int(t) for t in best if not rated[int(t)]], dtype=int)"), expect=(0, "not available")),
    "leak_residuals": Case("points", body=(
        "from recsys_tutorial.observed import ObservedRatings\n"
        "e = ObservedRatings.from_dense(Y, R).residuals(X, Theta)\nreturn float(0.5 * np.sum(e ** 2) + " + _REG + ")"),
        expect=(0, "not available")),
    "regex_stall": Case("class", case="correct", before=("x = 1" + "\n" * 100_000,), expect=(2, "PASSED")),
    "parse_stall": Case("class", case="correct", before=(_many_functions(200, 300_000),), body=(
        "call_all()\n" + BODIES["my_cofi_cost"]["correct"]), expect=(2, "PASSED")),
}


def _hostile_notebook(teacher_path: Path, case: Case, context: dict):
    spec = next(s for s in teacher_exercises(teacher_path.parent) if s.notebook == case.notebook)
    body = case.body.format(**context) if case.body is not None else None
    nb = submission(teacher_path, {spec.function: case.case}, [spec], bodies={spec.function: body} if body else None)
    answer = _cells(nb, lambda g: g.get("grade_id") == spec.exercise)[0]
    check = _cells(nb, lambda g: g.get("grade"))[0]
    for source in reversed(case.after):
        nb.cells.insert(check + 1, nbformat.v4.new_code_cell(source.format(**context)))
    for source in reversed(case.before):
        nb.cells.insert(answer, nbformat.v4.new_code_cell(source.format(**context)))
    check = _cells(nb, lambda g: g.get("grade"))[0]
    if case.edit == "delete_check":
        del nb.cells[check]
    elif case.edit == "check_to_markdown":
        nb.cells[check] = nbformat.v4.new_markdown_cell("check removed", metadata=nb.cells[check].metadata)
    elif case.edit == "bad_metadata":
        nb.cells.insert(check, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "zz"}))
        nb.cells.insert(check, nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade_id": 5, "grade": "yes"}}))
    elif case.edit == "redefine_after":
        nb.cells.insert(check + 1, nbformat.v4.new_code_cell(
            f"def {spec.function}(X, Theta, Y, R, lambda_=0.0):\n" + textwrap.indent(BODIES[spec.function]["correct"], "    ")))
    elif case.edit == "many_cells":
        nb.cells += [nbformat.v4.new_code_cell("pass") for _ in range(2500)]
    return nb


def _write_hand_in(path: Path, case: Case, nb, context: dict) -> None:
    kind = case.file
    if kind.startswith("symlink:"):
        os.symlink(kind.split(":", 1)[1].format(**context), path)
    elif kind.startswith("hardlink:"):           # the file itself, under a second name (a copy where another
        target = Path(kind.split(":", 1)[1].format(**context))    # file system makes a link impossible)
        try:
            os.link(target, path)
        except OSError:
            hidden = path.parent.parent / f".worked-{path.parent.name}.ipynb"
            hidden.write_bytes(target.read_bytes())
            os.link(hidden, path)
    elif kind == "garbage":
        path.write_bytes(b"\x00\xff not a notebook {")
    elif kind == "json_bomb":
        path.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "huge":
        nb.cells.append(nbformat.v4.new_markdown_cell("x" * (21 * 2**20)))
        nbformat.write(nb, path)
    elif kind == "nested":
        path.parent.joinpath("cost").mkdir()
        nbformat.write(nb, path.parent / "cost" / path.name)
    else:
        nbformat.write(nb, path)


def make_hostile_class(dest, context: dict, teacher=None, *, honest=None, attacks=None) -> dict:
    """Write the honest students and the attackers into ``dest``; returns ``{student: Case}``.

    ``context`` fills the attacks' placeholders: ``class_dir`` (``dest``), ``repo``, ``canary`` (a file no
    hand-in may read), ``port`` (a server on 127.0.0.1), ``grader_pid``, ``victim`` (an honest student).
    ``honest``/``attacks`` choose some of :data:`HONEST`/:data:`ATTACKS` by name (default: all). An
    attacker's folder is named after the attack.
    """
    teacher = Path(teacher or paths.repository_root() / "notebooks")
    dest = Path(dest)
    context = {"class_dir": str(dest), "repo": str(paths.repository_root()), "victim": "ada_correct",
               "delay": 3, "grader_pid": os.getpid(), "port": 9, **context}
    students = {name: HONEST[name] for name in (HONEST if honest is None else honest)}
    students.update({name: ATTACKS[name] for name in (ATTACKS if attacks is None else attacks)})
    for student, case in students.items():
        folder = dest / student
        if case.folder.startswith("symlink:"):
            os.symlink(dest / case.folder.split(":", 1)[1], folder, target_is_directory=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        nb = _hostile_notebook(teacher / case.notebook, case, context)
        _write_hand_in(folder / case.notebook, case, nb, context)
        if student == "ada_correct":
            for other in (NB05, NB06, NB07, "04-gradient-checking.ipynb"):
                specs = [s for s in teacher_exercises(teacher) if s.notebook == other]
                nbformat.write(submission(teacher / other, {s.function: "correct" for s in specs}, specs), folder / other)
    return students


def main(argv=None) -> int:
    """``python -m teacher.sample_class DEST [--students N | --hostile]``."""
    parser = argparse.ArgumentParser(prog="python -m teacher.sample_class", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--students", type=int, default=len(CASES), help="students cycling through the cases")
    parser.add_argument("--hostile", action="store_true", help="the hostile class: honest students beside attackers")
    args = parser.parse_args(argv)
    if args.hostile:
        canary = args.dest / "teacher-secret.txt"
        args.dest.mkdir(parents=True, exist_ok=True)
        canary.write_text("canary: nothing of the teacher's may reach the feedback\n")
        students = make_hostile_class(args.dest, {"canary": str(canary)})
        print(f"{len(students)} students ({sum(c.category == 'honest' for c in students.values())} honest, "
              f"{sum(c.category != 'honest' for c in students.values())} attackers) in {args.dest}/; "
              f"expected points: {json.dumps({s: c.expect[0] for s, c in students.items()})}")
        return 0
    notebooks = sorted({s.notebook for s in teacher_exercises(paths.repository_root() / "notebooks")})
    cases = itertools.cycle(CASES)
    plan = {f"student{k:03d}": {nb: next(cases) for nb in notebooks} for k in range(1, args.students + 1)}
    make_class(args.dest, plan)
    print(f"{args.students} students, {len(notebooks)} notebooks each, in {args.dest}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
