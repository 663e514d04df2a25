"""The only grading code inside the sandbox: runs a hand-in notebook and reports what its functions return.

``python runner.py RESULT_FD`` reads a *job* (JSON) on standard input, runs its
*steps* in order in one IPython shell (magics, ``display`` and ``_`` work as in
a notebook; a cell that fails does not stop the next), and writes one JSON line
per check, then ``{"done": ...}``, to file descriptor ``RESULT_FD``:

``{"cell": k, "source": "..."}``
    run code cell ``k`` of the hand-in (or a locked cell the grader restored);
``{"check": k, "function": "my_cofi_cost", "calls": [{"arrays": [...], "scalars": [...]}]}``
    where the teacher's check cell stands: call the function the notebook
    defines under that name, as it is at this point, once per planned call,
    and report ``{"check": k, "records": [...], "ran": [...], ...}``.

Each record is what one call did: ``ok``, ``out`` (the return value), ``error``
(the exception's last line; None for NotImplementedError, the unsolved stub),
``warnings`` and ``after`` (the inputs after the call, to see changes made in
place). ``ran`` lists the hand-in's own functions the calls ran, as
``[cell, first line, name]``, and ``foreign`` the code they ran from a file
the notebook may have written (the scratch or working folder: a module
written at run time) or from a string (``exec``), as ``[file, first line,
name]``, for the grader's no-loops rule.

Nothing here judges: the expected answers are not in the sandbox. The grader
decodes what comes back with :func:`decode`, which rebuilds plain numbers,
strings, tuples, lists and NumPy arrays of numbers (a tuple or list subclass
such as a namedtuple comes back as a plain one; a pandas DataFrame, Series or
Index as an array of its numbers whose class is named like the pandas type,
for notebook 07's check), and nothing else, so no
value can run code or lie about itself (no ``__eq__`` of the hand-in's survives
the trip). This file uses the standard library, NumPy and IPython only, and
imports nothing of the grader's; the grader imports it for the same encoding.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import sys
import traceback
import warnings

__all__ = ["MAX_ELEMENTS", "MAX_TEXT", "Opaque", "encode", "decode", "main"]

#: Arrays larger than this travel as an :class:`Opaque` (a check's problems hold a few dozen numbers).
MAX_ELEMENTS = 100_000
#: Strings (messages, opaque values' text) are cut to this many characters.
MAX_TEXT = 300
_MAX_DEPTH, _MAX_ITEMS, _MAX_DIMS = 3, 1000, 4
_CELL_FILE = re.compile(r"<ipython-input-(\d+)-")
#: pandas types that travel as their numbers, under their own type's name.
_PANDAS = dict.fromkeys(("DataFrame", "Series", "Index", "RangeIndex"), True)
_VIEWS: dict = {}


class Opaque:
    """A value that did not travel: its type's name and a short text. ``type(x).__name__`` is the original's."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _opaque(type_name, text):
    """An :class:`Opaque` whose class is named ``type_name`` (when it is a plain identifier)."""
    type_name, text = str(type_name)[:80], str(text)[:MAX_TEXT]
    cls = type(type_name if type_name.isidentifier() else "object", (Opaque,), {})
    return cls(type_name, text)


def _number(x):
    """A float as JSON allows it: NaN and the infinities as ``{"float": "nan"}``."""
    x = float(x)
    return x if math.isfinite(x) else {"float": repr(x)}


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data that :func:`decode` turns back into an equal value (or an :class:`Opaque`)."""
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)   # a subclass travels as its plain values: its methods stay behind
        if arr.dtype.kind in "biuf" and arr.size <= MAX_ELEMENTS and arr.ndim <= _MAX_DIMS:
            flat = arr.ravel().tolist()
            flat = [_number(v) for v in flat] if arr.dtype.kind == "f" else [int(v) for v in flat]
            return {"array": flat, "dtype": arr.dtype.str, "shape": list(arr.shape),
                    "scalar": isinstance(value, np.generic)}
        return {"opaque": type(value).__name__, "text": f"dtype {arr.dtype}, shape {arr.shape}"}
    if value is None or type(value) in (bool, str):
        return {"plain": value[:MAX_TEXT] if type(value) is str else value}
    if type(value) is int:
        return {"int": value} if abs(value) < 2**53 else {"number": _number(value)}
    if type(value) is float:
        return {"number": _number(value)}
    kind = _PANDAS.get(type(value).__name__) if type(value).__module__.split(".")[0] == "pandas" else None
    if kind is not None:
        return _encode_pandas(value, type(value).__name__)
    if isinstance(value, (tuple, list)):      # a subclass (a namedtuple) travels as the tuple or list it is
        base = tuple if isinstance(value, tuple) else list
        if depth < _MAX_DEPTH and base.__len__(value) <= _MAX_ITEMS:
            return {base.__name__: [encode(v, depth + 1) for v in base.__iter__(value)]}
    if type(value) in (tuple, list, dict, set, frozenset):   # too large or too deep: no repr of it all
        return {"opaque": type(value).__name__, "text": f"{len(value)} items"}
    return {"opaque": type(value).__name__, "text": _safe_repr(value)}


def _encode_pandas(value, type_name: str):
    """A pandas DataFrame, Series or Index as its numbers (``np.asarray``), keeping its type's name: the
    judge reads the values as any array, and notebook 07's check names the pandas type it got."""
    import numpy as np

    try:
        arr = np.asarray(value)
    except BaseException as exc:
        return {"opaque": type_name, "text": f"could not be read ({type(exc).__name__})"}
    if arr.dtype.kind in "biuf" and arr.size <= MAX_ELEMENTS and arr.ndim <= _MAX_DIMS:
        return {**encode(arr), "pandas": type_name}
    return {"opaque": type_name, "text": f"dtype {arr.dtype}, shape {arr.shape}"}


def _safe_repr(value) -> str:
    try:
        return repr(value)[:MAX_TEXT]
    except BaseException as exc:  # a hand-in's __repr__ may do anything
        return f"(its repr raised {type(exc).__name__})"


def _float(v):
    if isinstance(v, dict):
        text = v.get("float")
        if text not in ("nan", "inf", "-inf"):
            raise ValueError("not a float")
        return float(text)
    if type(v) not in (int, float):
        raise ValueError("not a number")
    return float(v)


def _decode_array(data):
    import numpy as np

    dtype = np.dtype(str(data["dtype"]))
    shape = data["shape"]
    flat = data["array"]
    if (dtype.kind not in "biuf" or not isinstance(shape, list) or len(shape) > _MAX_DIMS
            or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)
            or not isinstance(flat, list) or math.prod(shape) != len(flat) or len(flat) > MAX_ELEMENTS):
        return _opaque("ndarray", "an array that could not be read back")
    if dtype.kind == "f":
        values = [_float(v) for v in flat]
    elif all(type(v) is int or type(v) is bool for v in flat):
        values = flat
    else:
        raise ValueError("not integers")
    arr = np.array(values, dtype=dtype).reshape(shape)
    if data.get("pandas") in _PANDAS and not data.get("scalar"):
        name = data["pandas"]   # an array of the grader's own class, named as the pandas type was
        return arr.view(_VIEWS.setdefault(name, type(name, (np.ndarray,), {"__module__": "pandas"})))
    return arr[()] if data.get("scalar") is True else arr


def decode(data, depth: int = 0):
    """The value :func:`encode` described; anything malformed becomes an :class:`Opaque`, never an error."""
    try:
        if not isinstance(data, dict) or len(data) > 5 or depth > _MAX_DEPTH:
            return _opaque("object", "a value that could not be read back")
        if "plain" in data:
            v = data["plain"]
            return v[:MAX_TEXT] if isinstance(v, str) else v if v is None or isinstance(v, bool) else _opaque(
                "object", "a value that could not be read back")
        if "int" in data:
            if type(data["int"]) is not int:
                raise ValueError("not an int")
            return data["int"]
        if "number" in data:
            return _float(data["number"])
        for kind, cls in (("tuple", tuple), ("list", list)):
            if kind in data:
                items = data[kind]
                if not isinstance(items, list) or len(items) > _MAX_ITEMS:
                    raise ValueError("not a sequence")
                return cls(decode(v, depth + 1) for v in items)
        if "array" in data:
            return _decode_array(data)
        return _opaque(data.get("opaque", "object"), data.get("text", ""))
    except (TypeError, ValueError, KeyError, OverflowError, MemoryError):
        return _opaque("object", "a value that could not be read back")


# ---------------------------------------------------------------- inside the sandbox


class _Sink(io.TextIOBase):
    """A text stream that keeps nothing: the hand-in's prints cost no memory and reach no one."""

    def write(self, text):
        return len(text)

    def writable(self):
        return True


def _error_line(exc: BaseException) -> str:
    try:
        return traceback.format_exception_only(type(exc), exc)[-1].strip()[:MAX_TEXT]
    except BaseException:
        return type(exc).__name__


def _cell_of(filename) -> int | None:
    match = _CELL_FILE.match(filename or "")
    return int(match.group(1)) - 1 if match else None


#: Where a file written while the notebook runs can be (set by :func:`main`: the scratch and working folders)...
_WRITABLE = ["/tmp/", "/dev/shm/", "/var/tmp/"]
#: ... unless it is the Python environment or the runtime (read-only, though a checkout may sit under /tmp).
_INSTALLED: list = []


def _written(filename: str) -> bool:
    """Whether code comes from a file the notebook may have written, or from a string (exec, eval)."""
    if filename == "<string>":
        return True
    return filename.startswith(tuple(_WRITABLE)) and not filename.startswith(tuple(_INSTALLED))


def _call(fn, arrays, scalars):
    """Call ``fn`` once on copies of ``arrays``; the record of what happened, and the hand-in code it ran
    (``{(cell, line, name)}`` of its cells', and ``{(file, line, name)}`` of code from a written file or a string)."""
    import numpy as np

    given = [np.array(a, copy=True) for a in arrays]
    ran, foreign = {}, {}

    def watch(frame, event, arg):
        if event == "call":
            code = frame.f_code
            cell = _cell_of(code.co_filename)
            if cell is not None and len(ran) < 200:
                ran[(cell, code.co_firstlineno, code.co_name)] = None
            elif cell is None and len(foreign) < 20 and _written(code.co_filename):
                foreign[(code.co_filename[:200], code.co_firstlineno, code.co_name[:200])] = None

    record = {"ok": False, "out": None, "error": None}
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", over="warn", invalid="warn"):
        warnings.simplefilter("always")
        sys.setprofile(watch)
        try:
            record.update(ok=True, out=fn(*given, *scalars))
        except NotImplementedError:
            pass
        except BaseException as exc:  # a hand-in's bug (or exit()): report it, carry on
            record["error"] = _error_line(exc)
        finally:
            sys.setprofile(None)
    try:
        record["out"] = encode(record["out"])
    except BaseException as exc:
        record["out"] = {"opaque": "object", "text": f"could not be read ({type(exc).__name__})"}
    record["warnings"] = [[w.category.__name__[:80], str(w.message)[:MAX_TEXT]] for w in caught[:20]]
    record["after"] = [encode(g) for g in given]
    return record, list(ran), list(foreign)


class _Run:
    """One notebook's run: the shell, the result channel, and the cells' errors so far."""

    def __init__(self, result_fd: int):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        class Shell(InteractiveShell):
            def enable_gui(self, gui=None):   # no event loop here: %matplotlib inline and friends just draw
                pass

        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "NoColor"
        self.shell = Shell.instance(config=config)
        self.result_fd = result_fd
        self.errors = []

    def send(self, message: dict) -> None:
        data = (json.dumps(message, allow_nan=False) + "\n").encode()
        while data:
            data = data[os.write(self.result_fd, data):]

    def cell(self, step) -> None:
        self.shell.execution_count = int(step["cell"]) + 1
        try:
            outcome = self.shell.run_cell(step["source"], store_history=True)
            error = outcome.error_before_exec or outcome.error_in_exec
        except BaseException as exc:
            error = exc
        if error is not None:
            self.errors.append([int(step["cell"]), _error_line(error)])
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:   # as the notebook's inline backend does after each cell
            with contextlib.suppress(BaseException):
                pyplot.close("all")

    def check(self, step) -> None:
        name = step["function"]
        fn = self.shell.user_ns.get(name)
        report = {"check": int(step["check"]), "errors": self.errors[-3:]}
        if not callable(fn):
            report["missing"] = (f"{name} is not defined" if fn is None else
                                 f"{name} is a {type(fn).__name__}, not a function")
            self.send(report)
            return
        code = getattr(fn, "__code__", None)
        report["defined"] = [_cell_of(getattr(code, "co_filename", "")), getattr(code, "co_firstlineno", None)]
        records, ran, foreign = [], {}, {}
        for call in step["calls"]:
            arrays = [decode(a) for a in call["arrays"]]
            scalars = tuple(decode(s) for s in call["scalars"])
            record, seen, outside = _call(fn, arrays, scalars)
            records.append(record)
            ran.update(dict.fromkeys(tuple(s) for s in seen))
            foreign.update(dict.fromkeys(tuple(s) for s in outside))
        report.update(records=records, ran=[list(r) for r in ran][:200], foreign=[list(f) for f in foreign][:20])
        self.send(report)


def main(argv=None) -> int:
    """Run the job on standard input; report to the file descriptor named by the one argument."""
    argv = sys.argv[1:] if argv is None else argv
    result_fd = int(argv[0])
    os.set_inheritable(result_fd, False)       # not handed to the hand-in's subprocesses
    job = json.loads(sys.stdin.buffer.read())
    sys.stdin = io.StringIO("")
    here = os.getcwd()
    _INSTALLED.extend(os.path.join(p, "") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
                      if os.path.isabs(p) and os.path.isdir(p) and not here.startswith(os.path.join(p, "")))
    _WRITABLE.append(os.path.join(here, ""))
    sys.path.insert(0, here)   # as in Jupyter: a module the notebook writes (%%writefile) is importable
    run = _Run(result_fd)
    sys.stdout = sys.stderr = _Sink()
    for step in job["steps"]:
        if "cell" in step:
            run.cell(step)
        else:
            run.check(step)
    run.send({"done": True, "errors": run.errors[:20]})
    os._exit(0)   # no atexit handler of the hand-in's runs after the report


if __name__ == "__main__":
    sys.exit(main())
