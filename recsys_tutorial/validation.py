"""The project's one set of argument checks.

Every public function of :mod:`helpers`, of this package and of the data step
checks its arguments here, once, at its entry point, so that every message
has the same shape: *what* was expected, *what* was got, and how to fix it.
As in scikit-learn (``check_scalar``, ``check_array``), an argument of the
wrong type (a string for a number, a number for a flag, a list for a model)
raises TypeError, and one of the right type but a wrong value (a negative
rate, NaN, a shape that does not fit, an array of text or complex numbers
where real numbers are meant) raises ValueError. Nothing here reads files
(:mod:`recsys_tutorial.files` does) or computes anything a learner needs to
read; it only says no early and clearly instead of letting NumPy fail deep
inside a formula.

Some inputs are fine one by one and still make a result overflow (ratings
near 1e308 summed, features of 1e200 multiplied). The public functions check
their results with :func:`as_finite_result` (one ``isfinite`` pass; nothing
inside the trainers' loops), and :func:`overflow_error` says which argument
is out of range: a result is never inf or NaN.
"""

from __future__ import annotations

import numbers
from typing import Callable, Mapping

import numpy as np

from .workbooks import MAX_CELLS, MAX_ROWS

#: Where a result counts as overflowing: beyond this, sums and products of a few such numbers are inf.
OVERFLOW = 1e300

#: The largest integer :func:`as_int` accepts (64-bit, what NumPy counts with).
INT_MAX = 2**63 - 1

#: The most movies a user's ratings may cover: a ratings sheet holds at most this many rows (the workbook limit).
MAX_MOVIES = MAX_ROWS


def _first(mask: np.ndarray) -> tuple[int, ...]:
    """The index of the first True in ``mask`` (row order), without listing them all (``np.argwhere`` would)."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _range_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def _to_float(value, name: str, want: str) -> float:
    """``float(value)``, or a ValueError naming ``name`` for an integer too large for a float (10**400)."""
    try:
        return float(value)
    except OverflowError:
        size = f"an integer of {int(value).bit_length()} bits" if isinstance(value, numbers.Integral) else repr(value)
        raise ValueError(f"{name} must be {want}; got {size}, beyond the largest float (about 1.8e308)") from None


def as_float(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number within ``[low, high]`` (ends open when asked), as a float.

    Booleans, strings, None, complex numbers, NaN and infinities are refused.
    """
    bound = _range_text(low, high, low_open, high_open)
    want = f"a finite number{' ' + bound if bound else ''}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {want}; got {value!r} ({type(value).__name__})")
    v = _to_float(value, name, want)
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
        raise TypeError(f"{name} must be {want}; got {value!r} ({type(value).__name__})")
    if not isinstance(value, numbers.Integral):
        f = _to_float(value, name, want)
        if not np.isfinite(f) or f != int(f):
            raise ValueError(f"{name} must be {want}; got {value!r}")
    v = int(value)
    if abs(v) > INT_MAX:
        raise ValueError(f"{name} must be {want}; got an integer of {v.bit_length()} bits, beyond 64-bit "
                         f"integers (at most {INT_MAX:,}): give a number of a sensible size")
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    return v


def as_bool(value, name: str) -> bool:
    """``True`` or ``False`` only: the string ``'no'`` is not allowed to count as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def as_choice(value, name: str, choices) -> str:
    """One of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(choices)}; got {value!r} ({type(value).__name__})")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def _asarray(a, name: str) -> np.ndarray:
    """``np.asarray(a)``, refusing what it would misread: ragged lists (NumPy's "inhomogeneous shape" error),
    masked arrays (their mask would be dropped), dates and structured records (not numbers)."""
    if isinstance(a, np.ma.MaskedArray):
        raise ValueError(f"{name} must be a plain array; got a masked array, whose mask would be ignored. Fill the "
                         f"masked entries ({name}.filled(0)) and say what is rated with R")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{name} must be an array of numbers with rows of equal length; got a "
                         f"{type(a).__name__} NumPy cannot make into one ({str(exc)[:160]})") from None
    if arr.dtype.kind in "MmV":
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype} (dates, durations or records): "
                         "convert it to plain numbers first")
    return arr


def _real_array(a, name: str) -> np.ndarray:
    arr = _asarray(a, name)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers; got complex values (dtype {arr.dtype})")
    if arr.dtype == object or arr.dtype.kind in "US":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype} ({str(exc)[:160]})") from None
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
        i, j = _first(~np.isfinite(arr))
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
    arr = _asarray(R, name)
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


def as_nonempty(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr`` itself, unless it has no entries (a picture of nothing, the largest of nothing)."""
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): there is nothing to draw or compare; "
                         "give at least one entry")
    return arr


def as_ratings(Y, R) -> tuple[np.ndarray, np.ndarray]:
    """``(Y, R)`` as float ratings and a boolean mask of one shape, finite where rated."""
    Y = as_matrix(Y, "Y")
    R = as_mask(R)
    if Y.shape != R.shape:
        raise ValueError(f"Y and R must have the same shape (movies x users); got Y {Y.shape} and R {R.shape}")
    if not np.all(np.isfinite(Y[R])):
        i, j = _first(R & ~np.isfinite(Y))
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
        i, j = _first(nan & R)
        raise ValueError(f"{source}: Y has NaN at {at(i, j)}, where R says it is rated")
    Y[nan] = 0.0
    bad = ~np.isfinite(Y) | (Y < 0) | (Y > high)
    if np.any(bad):
        i, j = _first(bad)
        raise ValueError(f"{source}: ratings must lie between 0 and {high:g}; found {float(Y[i, j])!r} at {at(i, j)}")
    bad = R & (Y < low)
    if np.any(bad):
        i, j = _first(bad)
        raise ValueError(f"{source}: a rated entry (R is TRUE) must hold a rating from {low:g} to {high:g}; "
                         f"found {float(Y[i, j])!r} at {at(i, j)}: enter the rating, or set R to FALSE there")
    return Y, R


def as_factor_pair(X, Theta, n_movies=None, n_users=None, source: str = ""):
    """``X`` (n_movies, k) and ``Theta`` (n_users, k): finite 2-D arrays of one width, and the given heights.

    The project's one check of the two factor matrices against each other;
    ``source`` (a file) starts the messages when given.
    """
    at = f"{source}: " if source else ""
    X = as_matrix(X, f"{at}X", finite=True)
    Theta = as_matrix(Theta, f"{at}Theta", finite=True)
    if n_movies is not None and X.shape[0] != n_movies:
        raise ValueError(f"{at}X must have one row per movie ({n_movies}); got X of shape {X.shape}")
    if n_users is not None and Theta.shape[0] != n_users:
        raise ValueError(f"{at}Theta must have one row per user ({n_users}); got Theta of shape {Theta.shape}")
    if X.shape[1] != Theta.shape[1]:
        raise ValueError(f"{at}X and Theta must have the same number of features (columns); "
                         f"got X {X.shape} and Theta {Theta.shape}")
    return X, Theta


#: The most numbers X and Theta may hold together: twice a sheet's most cells (80 MB; MovieLens 100K's with
#: 10 features: 26,260).
MAX_FACTOR_NUMBERS = 2 * MAX_CELLS


def as_factor_sizes(n_movies, n_users, num_features) -> tuple[int, int, int]:
    """The sizes of ``X`` (n_movies, num_features) and ``Theta`` (n_users, num_features), each at least 1,
    together at most :data:`MAX_FACTOR_NUMBERS` numbers: checked before anything is allocated."""
    n_movies, n_users = as_int(n_movies, "n_movies", low=1), as_int(n_users, "n_users", low=1)
    num_features = as_int(num_features, "num_features", low=1)
    if (n_movies + n_users) * num_features > MAX_FACTOR_NUMBERS:
        raise ValueError(f"num_features={num_features:,} for {n_movies:,} movies and {n_users:,} users makes X and "
                         f"Theta {(n_movies + n_users) * num_features:,} numbers, beyond {MAX_FACTOR_NUMBERS:,} "
                         "(about 80 MB): use fewer features (the tutorial uses 10)")
    return n_movies, n_users, num_features


def as_factors(X, Theta, Y, R):
    """``(X, Theta, Y, R)`` checked against each other (shapes in the course notation)."""
    Y, R = as_ratings(Y, R)
    X, Theta = as_factor_pair(X, Theta, *Y.shape)
    return X, Theta, Y, R


def as_titles(titles, n_movies: int) -> list[str]:
    """A list of ``n_movies`` titles (strings), one per movie."""
    if isinstance(titles, str) or not hasattr(titles, "__iter__"):
        raise TypeError(f"titles must be a list of strings, one per movie; got {type(titles).__name__}")
    titles = list(titles)
    if len(titles) != n_movies:
        raise ValueError(f"titles must have one entry per movie ({n_movies}); got {len(titles)}")
    bad = next((i for i, t in enumerate(titles) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"titles must be strings; titles[{bad}] is {titles[bad]!r} ({type(titles[bad]).__name__})")
    return titles


def _user_row(key, n_movies: int, titles) -> int:
    """The 0-based row a ratings key names: a row number, or (given ``titles``) an exact title."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)) and 0 <= key < n_movies:
        return int(key)
    found = [i for i, t in enumerate(titles or ()) if t == key] if isinstance(key, str) else []
    if len(found) != 1:
        raise ValueError(f"my_ratings: the title {key!r} is shared by rows {found}; key it by row" if found else
                         f"my_ratings: the key {key!r} is neither a 0-based row of Y (0..{n_movies - 1}) nor "
                         f"{'an exact title' if titles else 'a title (give titles= to key by title)'}. Rows count "
                         "from 0: row i is MovieLens movie_id i + 1, so {1: 5} rates movie_id 2. helpers.search_titles finds rows")
    return found[0]


def as_user_ratings(my_ratings, n_movies, titles=None, *, low: float = 1.0, high: float = 5.0) -> np.ndarray:
    """One user's ratings as a length-``n_movies`` vector: 0 (not rated) or ``low`` to ``high``.

    From a vector, or a dict ``{key: stars}`` keyed by 0-based row or, given
    ``titles``, by exact title (:func:`helpers.ratings_vector`).
    """
    n_movies = as_int(n_movies, "n_movies", low=1, high=MAX_MOVIES)
    if hasattr(my_ratings, "items"):
        titles = None if titles is None else as_titles(titles, n_movies)
        vec = np.zeros(n_movies)
        for key, rating in my_ratings.items():
            row = _user_row(key, n_movies, titles)
            if vec[row]:
                raise ValueError(f"my_ratings: movie row {row} ({key!r}) is rated twice")
            vec[row] = as_float(rating, f"my_ratings[{key!r}]", low=low, high=high)
        return vec
    vec = as_vector(my_ratings, "my_ratings")     # a 2-D table is refused, not flattened
    if vec.size != n_movies:
        raise ValueError(f"my_ratings must have one entry per movie ({n_movies}); got {vec.size}")
    bad = np.flatnonzero((vec != 0) & ((vec < low) | (vec > high)))
    if bad.size:
        raise ValueError(f"my_ratings[{bad[0]}] = {float(vec[bad[0]])!r}: ratings must be 0 (not rated) "
                         f"or between {low:g} and {high:g}")
    return vec


def as_index(value, name: str, size: int) -> int:
    """A 0-based index into a sequence of length ``size``."""
    return as_int(value, name, low=0, high=size - 1)


def as_indices(a, name: str) -> np.ndarray:
    """A 1-D array of integer indices (integer-valued floats allowed), as int64."""
    arr = _asarray(a, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int64 = arr.astype(np.int64) if np.issubdtype(arr.dtype, np.floating) else None
        if as_int64 is None or not np.array_equal(as_int64, arr):
            raise ValueError(f"{name} must hold integer indices; got dtype {arr.dtype}")
        arr = as_int64
    return arr.astype(np.int64, copy=False)


def as_counts(a, name: str, size: int) -> np.ndarray:
    """``size`` counts (whole numbers >= 0, integer-valued floats allowed), as int64: 2.7 is refused, not truncated."""
    arr = as_indices(as_vector(a, name, size=size), name)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold counts (>= 0); found {int(arr.min())} at position {int(np.argmin(arr))}")
    return arr


def as_limits(value, name: str) -> tuple[float, float]:
    """An axis range ``(low, high)``: two finite numbers, ``low < high``."""
    if isinstance(value, str) or not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of numbers; got {value!r}")
    low, high = (as_float(v, f"{name}[{i}]") for i, v in enumerate(value))
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high; got ({low:g}, {high:g})")
    return low, high


def as_text(value, name: str) -> str:
    """A string (a title, a name, a label): None, numbers and lists are refused rather than drawn as text."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {value!r} ({type(value).__name__})")
    return value


def as_labels(values, name: str, *, size=None) -> list[str]:
    """Labels for what a picture draws, one per line, row or panel: strings or numbers (written as text), at
    least one, all different once written (``1`` and ``'1'`` would collapse into one legend entry)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of labels (strings or numbers); got {type(values).__name__}")
    labels = []
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (str, numbers.Real)):
            raise TypeError(f"{name}[{i}] must be a string or a number; got {v!r} ({type(v).__name__})")
        labels.append(v if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v))
    if size is not None and len(labels) != size:
        raise ValueError(f"{name} must have {size} entries; got {len(labels)}")
    if not labels:
        raise ValueError(f"{name} is empty: give at least one")
    seen: dict = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise ValueError(f"{name} must all differ (each names one thing in the picture and its alt text); "
                             f"{name}[{seen[label]}] and {name}[{i}] are both {label!r}")
        seen[label] = i
    return labels


def as_series(mapping, name: str, *, most=None, size=None, min_size: int = 1) -> dict[str, np.ndarray]:
    """``{label: values}`` for a picture: at least one and at most ``most`` entries, labels as :func:`as_labels`,
    each a finite 1-D array of at least ``min_size`` (and, given ``size``, exactly ``size``) values."""
    if not isinstance(mapping, Mapping):
        try:
            mapping = dict(mapping)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a dict {{label: values}}; got {type(mapping).__name__}") from None
    labels = as_labels(list(mapping), f"{name}'s labels")
    if most is not None and len(labels) > most:
        raise ValueError(f"{name} has {len(labels)} entries; at most {most} can be drawn apart in one picture")
    out = {}
    for label, key in zip(labels, mapping):
        values = as_vector(mapping[key], f"{name}[{key!r}]", size=size)
        if values.size < min_size:
            raise ValueError(f"{name}[{key!r}] must hold at least {min_size} value(s); got {values.size}")
        out[label] = values
    return out


def as_observed(ratings, name: str = "ratings"):
    """``ratings`` itself if it is an :class:`~recsys_tutorial.observed.ObservedRatings`, else a TypeError
    saying how to get one."""
    from .observed import ObservedRatings   # here: observed.py uses this module

    if isinstance(ratings, ObservedRatings):
        return ratings
    raise TypeError(
        f"{name} must be an ObservedRatings (see research.load_movielens_split, research.random_split, "
        f"ObservedRatings.from_dense); got {type(ratings).__name__}")


# ---------------------------------------------------------------- results that overflow


def _largest(value) -> tuple[float, str]:
    """The largest magnitude in ``value`` (a number or an array) and where it is (``'[3, 1]'``, or ``''``)."""
    arr = np.abs(np.asarray(value, dtype=float))
    if arr.size == 0:
        return 0.0, ""
    flat = int(np.argmax(np.where(np.isnan(arr), np.inf, arr)))
    where = "" if arr.ndim == 0 else "[" + ", ".join(map(str, np.unravel_index(flat, arr.shape))) + "]"
    return float(arr.reshape(-1)[flat]), where


def overflow_error(what: str, inputs: Mapping) -> ValueError:
    """The error for a result that is not finite: ``what`` overflowed, and which input is out of range.

    The input named is the one holding the largest magnitude (a rating of
    1e200 makes the cost overflow, not the features of order 1 beside it),
    with that entry; ``inputs`` maps each argument's name to its value.
    """
    name, (size, where) = max(((n, _largest(v)) for n, v in inputs.items()), key=lambda item: item[1][0])
    return ValueError(f"{what} is not finite: it overflows float64 (numbers beyond about 1.8e308). {name} is out "
                      f"of range: {name}{where} = {size:.3g}; this tutorial's ratings (1 to 5), features and "
                      "lambda_ are far smaller. Scale it down.")


def as_gradients(result, X, Theta, name: str = "gradient_fn") -> tuple[np.ndarray, np.ndarray]:
    """What a gradient function returned, as ``(X_grad, Theta_grad)`` of the shapes of ``X`` and ``Theta``, finite.

    A learner's function is untrusted: a single array, arrays of other
    shapes, or NaN and inf are refused with a message naming ``name``,
    instead of a broadcasting error or a learning rate blamed for them.
    """
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"{name} must return a pair (X_grad, Theta_grad); got {type(result).__name__}")
    grads = []
    for part, like, what in zip(result, (X, Theta), ("X_grad", "Theta_grad")):
        if not isinstance(part, (np.ndarray, list, tuple)):
            raise TypeError(f"{name}'s {what} must be an array; got {type(part).__name__}")
        arr = _real_array(part, f"{name}'s {what}")
        if arr.shape != like.shape:
            raise ValueError(f"{name}'s {what} must have the shape of {what[:-5]}, {like.shape}; got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            where = _first(~np.isfinite(arr))
            raise ValueError(f"{name} returned NaN or inf: {what}{list(where)} = {float(arr[where])}")
        grads.append(arr)
    return grads[0], grads[1]


def cost_inputs(X, Theta, Y, R, lambda_) -> dict:
    """The arguments of the cost by name, for :func:`overflow_error` (only rated entries of ``Y`` count)."""
    return {"X": X, "Theta": Theta, "Y (a rated entry)": np.where(R, Y, 0.0), "lambda_": lambda_}


def as_finite_result(values, what: str, inputs: Callable[[], Mapping]):
    """``values`` (a number, an array or a tuple of them) if every entry is finite, else :func:`overflow_error`.

    ``inputs()`` is called only when something is not finite, so the happy
    path costs one ``isfinite`` pass over the results.
    """
    for value in values if isinstance(values, tuple) else (values,):
        if value is not None and not np.all(np.isfinite(value)):
            raise overflow_error(what, inputs())
    return values


def read_only(arr: np.ndarray) -> np.ndarray:
    """A read-only copy of ``arr``: what a caller does to its own array afterwards cannot change it."""
    arr = np.array(arr, dtype=float, order="C")
    arr.setflags(write=False)
    return arr


def as_model_parts(mu, b_movie, b_user, X, Theta, rating_range, history, info) -> dict:
    """The parts of a :class:`helpers.FactorModel`, checked, as read-only copies (name -> value).

    Biases are 1-D (a 2-D table is refused, not flattened), ``X`` and ``Theta``
    fit them, no prediction overflows (:func:`check_prediction_range`),
    ``rating_range`` is ``(low, high)`` with ``low < high`` or None,
    ``history`` finite costs and ``info`` a dict.
    """
    mu = as_float(mu, "mu")
    b_movie, b_user = as_vector(b_movie, "b_movie"), as_vector(b_user, "b_user")
    if (X is None) != (Theta is None):
        raise ValueError("give both X and Theta, or neither")
    if X is None:
        X, Theta = np.zeros((b_movie.size, 0)), np.zeros((b_user.size, 0))
    X, Theta = as_factor_pair(X, Theta, b_movie.size, b_user.size)
    check_prediction_range(mu, b_movie, b_user, X, Theta)   # no prediction overflows
    if rating_range is not None:
        if isinstance(rating_range, str) or not isinstance(rating_range, (tuple, list, np.ndarray)):
            raise TypeError(f"rating_range must be a pair (low, high) or None; got {type(rating_range).__name__}")
        rating_range = tuple(as_float(v, "rating_range") for v in rating_range)
        if len(rating_range) != 2 or not rating_range[0] < rating_range[1]:
            raise ValueError(f"rating_range must be (low, high) with low < high; got {rating_range!r}")
    if info is not None and not isinstance(info, Mapping):
        raise TypeError(f"info must be a dict (what the model is, how it was fitted) or None; "
                        f"got {type(info).__name__}")
    return {"mu": mu, "b_movie": read_only(b_movie), "b_user": read_only(b_user), "X": read_only(X),
            "Theta": read_only(Theta), "rating_range": rating_range,
            "history": read_only(as_vector([] if history is None else history, "history")), "info": dict(info or {})}


def check_prediction_range(mu: float, b_movie, b_user, X, Theta) -> None:
    """ValueError unless every prediction ``mu + b_movie[i] + b_user[j] + X[i] . Theta[j]`` is finite.

    Checked once, from a bound (Cauchy-Schwarz: ``|x . theta| <= |x| |theta|``):
    ``|mu| + max|b_movie| + max|b_user| + max|X[i]| max|Theta[j]|`` at most
    :data:`OVERFLOW`, so no prediction, nor any sum on the way to one, overflows.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        bound = (abs(mu) + np.max(np.abs(b_movie), initial=0.0) + np.max(np.abs(b_user), initial=0.0)
                 + np.max(np.linalg.norm(X, axis=1), initial=0.0) * np.max(np.linalg.norm(Theta, axis=1), initial=0.0))
    if not bound <= OVERFLOW:
        raise overflow_error("a prediction of this FactorModel (mu + b_movie + b_user + X . Theta)",
                             {"mu": mu, "b_movie": b_movie, "b_user": b_user, "X": X, "Theta": Theta})
