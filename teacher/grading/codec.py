"""Values passed between the grader and the process that runs a student's code, as plain JSON.

The student's process is not trusted: what it sends back is read with
:func:`json.loads` and rebuilt here as NumPy arrays, numbers, strings,
lists, tuples and None, never unpickled, so nothing it returns can run code
in the grader. Anything else (a dict, a function, a huge array) comes back
as an :class:`Opaque` stand-in that keeps its type name, which is all the
checkers' messages use ("should return two arrays; got a dict").
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_ELEMENTS", "Opaque", "encode", "decode"]

#: Arrays larger than this come back as :class:`Opaque` (a checker's problem is a few dozen numbers).
MAX_ELEMENTS = 100_000


class Opaque:
    """A value that did not travel: ``type_name`` and a short ``text``; ``type(x).__name__`` is the original's."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _opaque(type_name: str, text: str):
    """An :class:`Opaque` whose class is named ``type_name``, so messages show the original type."""
    cls = type(type_name if type_name.isidentifier() else "object", (Opaque,), {})
    return cls(type_name, text)


def _number(x):
    """A float as JSON allows it (NaN and infinities as strings)."""
    x = float(x)
    return x if math.isfinite(x) else {"float": repr(x)}


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data that :func:`decode` turns back into an equal value (or an Opaque)."""
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf" and arr.size <= MAX_ELEMENTS:
            flat = [_number(v) if arr.dtype.kind == "f" else v for v in arr.ravel().tolist()]
            return {"array": flat, "dtype": arr.dtype.str, "shape": list(arr.shape),
                    "scalar": isinstance(value, np.generic)}
        return {"opaque": type(value).__name__, "text": f"dtype {arr.dtype}, shape {arr.shape}"}
    if value is None or isinstance(value, (bool, str)):
        return {"plain": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"int": value} if isinstance(value, int) and abs(value) < 2 ** 53 else {"number": _number(value)}
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= 1000:
        return {"tuple" if isinstance(value, tuple) else "list": [encode(v, depth + 1) for v in value]}
    return {"opaque": type(value).__name__, "text": repr(value)[:200]}


def _float(v):
    return float(v["float"]) if isinstance(v, dict) else v


def decode(data):
    """The value :func:`encode` described (arrays with their dtype and shape)."""
    if "plain" in data:
        return data["plain"]
    if "int" in data:
        return int(data["int"])
    if "number" in data:
        return float(_float(data["number"]))
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "array" in data:
        dtype = np.dtype(str(data["dtype"]))
        shape = [int(n) for n in data["shape"]]
        if dtype.kind not in "biuf" or math.prod(shape) != len(data["array"]):
            return _opaque("ndarray", f"dtype {dtype}, shape {tuple(shape)}")
        flat = [_float(v) for v in data["array"]] if dtype.kind == "f" else data["array"]
        arr = np.array(flat, dtype=dtype).reshape(shape)
        return arr[()] if data.get("scalar") else arr
    return _opaque(str(data.get("opaque", "object")), str(data.get("text", "")))
