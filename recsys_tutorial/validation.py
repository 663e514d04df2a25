"""The project's one set of argument checks.

Every public function of :mod:`helpers`, :mod:`research` and the data step
checks its arguments here, once, at its entry point, so that every message
has the same shape: *what* was expected, *what* was got, and how to fix it.
Nothing here computes anything a learner needs to read; it only says no
early and clearly instead of letting NumPy fail deep inside a formula.
"""

from __future__ import annotations

import numbers
import re
from pathlib import Path

import numpy as np

#: The largest text file any loader reads (MovieLens' u.data, the largest, is 2 MB;
#: u.item 0.24 MB): a bigger one is refused before it is read.
MAX_TEXT_BYTES = 64 * 2**20
#: The largest .mat file, and the most elements in one of its variables, the loaders
#: accept (the course's ex8_movies.mat is 0.2 MB, its largest variable 1.6 million).
MAX_MAT_BYTES = 64 * 2**20
MAX_MAT_ELEMENTS = 5_000_000


def existing_file(path, what: str, *, max_bytes=None) -> Path:
    """``path`` as a :class:`~pathlib.Path`, or FileNotFoundError naming ``what`` it should hold.

    With ``max_bytes``, a larger file is refused (ValueError) before anyone reads it.
    """
    if path is None or isinstance(path, (bool, int, float)):
        raise ValueError(f"{what} file must be a path (str or pathlib.Path); got {path!r}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} file not found: '{p}'")
    if not p.is_file():
        raise FileNotFoundError(f"{what} path '{p}' is not a file")
    if max_bytes is not None and p.stat().st_size > max_bytes:
        raise ValueError(f"{what} file '{p}' is {p.stat().st_size:,} bytes; at most {max_bytes:,} are accepted "
                         "(is it the right file?)")
    return p


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text_lines(path, what: str) -> tuple[list[str], str]:
    """The lines of a text file and the encoding it was read with.

    UTF-8 when the bytes are valid UTF-8 (so a file saved as UTF-8 is not
    garbled into "MisÃ©rables"), else Latin-1, the encoding of MovieLens and
    the course (every byte is a Latin-1 character). Lines are split on line
    breaks only (``\\n``, ``\\r\\n``, ``\\r``), never on form feeds or other
    control characters; a line holding one (but tab) is refused, naming it.
    """
    p = existing_file(path, what, max_bytes=MAX_TEXT_BYTES)
    data = p.read_bytes()
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()
    for lineno, line in enumerate(lines, start=1):
        bad = _CONTROL.search(line)
        if bad:
            raise ValueError(f"{what} file '{p}', line {lineno}: holds the control character "
                             f"U+{ord(bad.group()):04X} at position {bad.start() + 1}; a text file of "
                             "this kind holds printable text and tabs only (remove it)")
    return lines, encoding


def _unreadable_mat(p: Path, exc: Exception) -> ValueError:
    return ValueError(f"cannot read '{p}' as a MATLAB .mat file (v4 to v7; from MATLAB, save v7.3 files "
                      f"again with save(..., '-v7')): {type(exc).__name__}: {exc}")


def mat_variables(path, names: list[str], what: str) -> dict[str, np.ndarray]:
    """The variables ``names`` of a MATLAB .mat file, their sizes checked before they are read.

    Refused with a ValueError naming the file: a file over
    :data:`MAX_MAT_BYTES`, a variable whose header declares more than
    :data:`MAX_MAT_ELEMENTS` elements, a missing variable, a file that is not
    a readable v4-v7 .mat (v7.3 is HDF5).
    """
    from scipy import io as sio

    p = existing_file(path, what, max_bytes=MAX_MAT_BYTES)
    try:
        shapes = {name: shape for name, shape, _ in sio.whosmat(str(p))}
    except Exception as exc:  # scipy raises many types for a file that is not a .mat
        raise _unreadable_mat(p, exc) from None
    missing = [n for n in names if n not in shapes]
    if missing:
        raise ValueError(f"'{p}' has no variable(s) {missing}; it holds {sorted(shapes)} (expected {names})")
    for n in names:
        if float(np.prod(shapes[n], dtype=float)) > MAX_MAT_ELEMENTS:
            raise ValueError(f"'{p}' variable {n} has shape {shapes[n]}: more than {MAX_MAT_ELEMENTS:,} "
                             "elements, far more than a ratings problem needs")
    try:
        mat = sio.loadmat(str(p), variable_names=names)
    except Exception as exc:
        raise _unreadable_mat(p, exc) from None
    return {n: mat[n] for n in names}


def _range_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def as_float(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number within ``[low, high]`` (ends open when asked), as a float.

    Booleans, strings, None, complex numbers, NaN and infinities are refused.
    """
    bound = _range_text(low, high, low_open, high_open)
    want = f"a finite number{' ' + bound if bound else ''}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {want}; got {value!r} ({type(value).__name__})")
    v = float(value)
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if not np.isfinite(v) or too_low or too_high:
        raise ValueError(f"{name} must be {want}; got {value!r}")
    return v


def as_int(value, name: str, *, low=None, high=None) -> int:
    """An integer (or an integer-valued float such as 3.0) within ``[low, high]``.

    ``2.5`` is refused rather than truncated, and so are booleans, strings,
    None, NaN and infinities.
    """
    bound = _range_text(low, high, False, False)
    want = f"an integer{' ' + bound if bound else ''}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {want}; got {value!r} ({type(value).__name__})")
    if not np.isfinite(float(value)) or float(value) != int(value):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    return v


def as_bool(value, name: str) -> bool:
    """``True`` or ``False`` only: the string ``'no'`` is not allowed to count as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def as_choice(value, name: str, choices) -> str:
    """One of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def _real_array(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers; got complex values (dtype {arr.dtype})")
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype} ({exc})") from None
        if np.iscomplexobj(arr):  # pragma: no cover - astype(float) refuses complex
            raise ValueError(f"{name} must hold real numbers")
    return np.asarray(arr, dtype=float)


def as_matrix(a, name: str, *, finite: bool = False) -> np.ndarray:
    """A 2-D float array (a copy only when needed); with ``finite=True`` no NaN or inf."""
    try:
        arr = _real_array(a, name)
    except TypeError as exc:
        raise ValueError(f"{name} must be a numeric array; got {type(a).__name__} ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array; got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        i, j = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; found {float(arr[i, j])!r} at row {i}, column {j}")
    return arr


def as_vector(a, name: str, *, size=None, finite: bool = True) -> np.ndarray:
    """A 1-D float array, of length ``size`` when given, finite unless told otherwise."""
    arr = _real_array(a, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} must have {size} entries; got {arr.size}")
    if finite and not np.all(np.isfinite(arr)):
        i = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; found {float(arr[i])!r} at position {i}")
    return arr


def as_mask(R, name: str = "R") -> np.ndarray:
    """A 2-D boolean array from True/False or 0/1 flags."""
    arr = np.asarray(R)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold 0/1 or True/False flags; got complex values")
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold 0/1 or True/False flags; got dtype {arr.dtype}") from None
    flags = (num == 0) | (num == 1)
    if not np.all(flags):
        bad = np.unique(num[~flags])[:5]
        raise ValueError(f"{name} must hold only 0/1 or True/False flags; found {bad.tolist()}")
    return num.astype(bool)


def as_ratings(Y, R) -> tuple[np.ndarray, np.ndarray]:
    """``(Y, R)`` as float ratings and a boolean mask of one shape, finite where rated."""
    Y = as_matrix(Y, "Y")
    R = as_mask(R)
    if Y.shape != R.shape:
        raise ValueError(f"Y and R must have the same shape (movies x users); got Y {Y.shape} and R {R.shape}")
    if not np.all(np.isfinite(Y[R])):
        i, j = np.argwhere(R & ~np.isfinite(Y))[0]
        raise ValueError(f"Y has NaN or inf in rated entries (where R is 1): {Y[i, j]!r} at movie row {i}, "
                         f"user column {j}")
    return Y, R


def as_loaded_ratings(Y, R, source: str, cell=None, *, low: float = 1.0, high: float = 5.0):
    """A loaded ``(Y, R)`` as float ratings and a mask: one shape, every rated entry a rating.

    An empty entry (NaN) is "not rated", so 0, unless ``R`` says it is rated;
    every entry must lie between 0 and ``high``, and a rated one between
    ``low`` and ``high`` (0 or 0.3 where ``R`` is TRUE is a mistake, not a
    rating). ``cell(i, j)``, when given, names the spreadsheet cell of entry
    ``(i, j)`` in the messages, which start with ``source``.
    """
    def at(i, j):
        return f"movie row {i}, user column {j}" + (f" ({cell(i, j)})" if cell is not None else "")

    if Y.shape != R.shape:
        raise ValueError(f"{source}: Y and R must have the same shape (movies x users); "
                         f"got Y {Y.shape} and R {R.shape}")
    Y = np.array(Y, dtype=float, order="C")     # a copy in NumPy's row order (readers give column order)
    R = np.ascontiguousarray(R)
    nan = np.isnan(Y)
    if np.any(nan & R):
        i, j = np.argwhere(nan & R)[0]
        raise ValueError(f"{source}: Y has NaN at {at(i, j)}, where R says it is rated")
    Y[nan] = 0.0
    bad = ~np.isfinite(Y) | (Y < 0) | (Y > high)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{source}: ratings must lie between 0 and {high:g}; found {float(Y[i, j])!r} at {at(i, j)}")
    bad = R & (Y < low)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{source}: a rated entry (R is TRUE) must hold a rating from {low:g} to {high:g}; "
                         f"found {float(Y[i, j])!r} at {at(i, j)}: enter the rating, or set R to FALSE there")
    return Y, R


def as_factors(X, Theta, Y, R):
    """``(X, Theta, Y, R)`` checked against each other (shapes in the course notation)."""
    Y, R = as_ratings(Y, R)
    X = as_matrix(X, "X", finite=True)
    Theta = as_matrix(Theta, "Theta", finite=True)
    n_movies, n_users = Y.shape
    if X.shape[0] != n_movies:
        raise ValueError(f"X must have one row per movie (Y has {n_movies} rows); got X of shape {X.shape}")
    if Theta.shape[0] != n_users:
        raise ValueError(
            f"Theta must have one row per user (Y has {n_users} columns); got Theta of shape {Theta.shape}")
    if X.shape[1] != Theta.shape[1]:
        raise ValueError(
            f"X and Theta must have the same number of features (columns); got {X.shape[1]} and {Theta.shape[1]}")
    return X, Theta, Y, R


def as_index(value, name: str, size: int) -> int:
    """A 0-based index into a sequence of length ``size``."""
    return as_int(value, name, low=0, high=size - 1)


def as_indices(a, name: str) -> np.ndarray:
    """A 1-D array of integer indices (integer-valued floats allowed), as int64."""
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int64 = arr.astype(np.int64) if np.issubdtype(arr.dtype, np.floating) else None
        if as_int64 is None or not np.array_equal(as_int64, arr):
            raise ValueError(f"{name} must hold integer indices; got dtype {arr.dtype}")
        arr = as_int64
    return arr.astype(np.int64, copy=False)
