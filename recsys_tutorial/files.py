"""Reading and writing files safely: the one place for size limits, zip checks and atomic writes.

Every loader of :mod:`helpers`, :mod:`recsys_tutorial.workbooks`, the research
loaders and the data step (``data/build_data.py``) read their files through these
functions, so that a file that is too large, a zip that would unpack to
gigabytes or climb out of its folder, a text file with control characters or
a .mat file declaring a huge variable is refused before anything is
allocated, with a message that names the file. Files are written through
:func:`atomic_write`: a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
import zipfile
from glob import escape as glob_escape
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

__all__ = ["MAX_TEXT_BYTES", "MAX_MAT_BYTES", "MAX_MAT_ELEMENTS", "DataError", "existing_file", "text_lines",
           "mat_variables", "check_zip_members", "atomic_write", "remove_stale_parts"]

#: The largest text file any loader reads (MovieLens' u.data, the largest, is 2 MB;
#: u.item 0.24 MB): a bigger one is refused before it is read.
MAX_TEXT_BYTES = 64 * 2**20
#: The largest .mat file, and the most elements in one of its variables, the loaders
#: accept (the course's ex8_movies.mat is 0.2 MB, its largest variable 1.6 million).
MAX_MAT_BYTES = 64 * 2**20
MAX_MAT_ELEMENTS = 5_000_000


class DataError(ValueError):
    """A data file is unusable or cannot be written as asked; the message names the file."""


def existing_file(path, what: str, *, max_bytes=None) -> Path:
    """``path`` as a :class:`~pathlib.Path` to a regular file, or an error naming ``what`` it should hold.

    TypeError for something that is not a path; FileNotFoundError for a
    missing path or one that is not a regular file (a folder, a FIFO, a
    device: reading those could block for ever); with ``max_bytes``, a larger
    file is refused (ValueError) before anyone reads it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} file must be a path (str or pathlib.Path); got {path!r} ({type(path).__name__})")
    p = Path(path)
    try:
        info = p.stat()                        # follows links; never opens (a FIFO would block)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} file not found: '{p}'") from None
    except (OSError, ValueError) as exc:       # a name too long, no permission, a NUL character
        raise FileNotFoundError(f"{what} file '{p}' cannot be looked at: {getattr(exc, 'strerror', None) or exc}") \
            from None
    if not stat.S_ISREG(info.st_mode):
        raise FileNotFoundError(f"{what} path '{p}' is not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(f"{what} file '{p}' is {info.st_size:,} bytes; at most {max_bytes:,} are accepted "
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


def _unsafe_member(name: str) -> bool:
    """Whether a zip member name is absolute or climbs out of its folder with ``..``."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[0].isalpha() and name[1] == ":"):
        return True
    return ".." in name.replace("\\", "/").split("/")


def check_zip_members(infos: list[zipfile.ZipInfo], label: str, *, max_members: int, max_member_bytes: int,
                      max_unpacked_bytes: int, max_ratio: float = 100.0, usual: str = "",
                      error=ValueError) -> None:
    """Refuse a zip by what its directory declares, before any member is unpacked.

    At most ``max_members`` members, each name once and none absolute or
    with ``..``, none encrypted or compressed other than stored/deflated,
    none unpacking to more than ``max_member_bytes`` or (over 1 MB) to more
    than ``max_ratio`` times its packed size, all together at most
    ``max_unpacked_bytes``. Messages start with ``label`` (the file) and end
    with ``usual`` (what such a file usually holds); they are raised as ``error``.
    """
    usual = f" ({usual})" if usual else ""
    if len(infos) > max_members:
        raise error(f"{label} holds {len(infos):,} zip members; at most {max_members:,} are accepted{usual}")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise error(f"{label} holds a zip member name twice: a damaged or forged zip{usual}")
    unsafe = [n for n in names if _unsafe_member(n)]
    if unsafe:
        raise error(f"{label}: refusing zip members whose paths are absolute or contain '..': "
                    f"{', '.join(repr(n) for n in unsafe[:5])}")
    for info in infos:
        where = f"{label} member '{info.filename}'"
        if info.flag_bits & 0x1:
            raise error(f"{where} is encrypted (password-protected), which cannot be read{usual}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"{where} uses zip compression method {info.compress_type}, which is not read{usual}")
        if info.file_size > max_member_bytes:
            raise error(f"{where} unpacks to {info.file_size:,} bytes; at most {max_member_bytes:,} are "
                        f"accepted{usual}")
        if info.file_size > 2**20 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise error(f"{where} unpacks {info.file_size / max(info.compress_size, 1):,.0f} times larger than "
                        f"it is packed (at most {max_ratio:g} accepted): a zip bomb")
    total = sum(i.file_size for i in infos)
    if total > max_unpacked_bytes:
        raise error(f"{label} unpacks to {total:,} bytes; at most {max_unpacked_bytes:,} are accepted{usual}")


@contextlib.contextmanager
def atomic_write(path) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing (binary) and move it into place on success.

    The temporary file is ``.<name>.<pid>.<random>.part`` in ``path``'s
    folder. If the body raises (``KeyboardInterrupt`` too) it is deleted and
    ``path`` is left as it was; a process killed outright (``kill -9``, a
    power cut) leaves it behind, and :func:`remove_stale_parts` removes those
    of processes that are gone.
    """
    path = Path(path)
    tmp = tempfile.NamedTemporaryFile(
        mode="wb", dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".part", delete=False
    )
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def remove_stale_parts(directory: Path, names, *, min_age: float = 600.0) -> list[str]:
    """Remove the temporary files :func:`atomic_write` left for ``names`` in ``directory`` when killed.

    A ``.<name>.<pid>.<random>.part`` file is stale when process ``pid`` is
    gone (on Windows, where that cannot be asked safely, when it is older
    than ``min_age`` seconds); an older-style ``.<name>.<random>.part``
    without a pid when it is older than ``min_age`` seconds. Returns the
    names removed.
    """
    removed = []
    for name in names:
        for part in Path(directory).glob(f".{glob_escape(name)}.*.part"):
            middle = part.name[len(name) + 2:-len(".part")].split(".")
            age = time.time() - part.stat().st_mtime
            if len(middle) == 2 and middle[0].isdigit() and os.name != "nt":
                stale = _process_gone(int(middle[0]))
            else:
                stale = age > min_age
            if stale:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
                removed.append(part.name)
    return removed
