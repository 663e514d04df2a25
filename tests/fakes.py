"""Test data shared by several test modules (not a test module): a tiny fake MovieLens 100K, the course
data's location, small random problems and hand-made workbooks, hostile ones included.

Fixtures built on these (the HTTP server, a data folder to build into, the course arrays) are in
``conftest.py``.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

import build_data as bd
from recsys_tutorial import workbooks
from recsys_tutorial.observed import ObservedRatings
import xlsx_writer
from xlsx_writer import package_parts, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
EX8 = SHARED / "coursera-ex8"


def listing(directory: Path) -> list[str]:
    """Every name in ``directory`` (including hidden temporary files)."""
    return sorted(os.listdir(directory))


FAKE_RATINGS = [  # (user, item, rating)
    (1, 1, 5), (1, 3, 4), (2, 1, 3), (2, 2, 1), (2, 5, 2),
    (3, 3, 5), (3, 4, 4), (4, 1, 1), (4, 4, 2), (4, 5, 5),
]


FAKE_TITLES = [
    "Toy Story (1995)".encode("latin-1"),
    "GoldenEye (1995)".encode("latin-1"),
    "Misérables, Les (1995)".encode("latin-1"),
    "Heat (1995)".encode("latin-1"),
    "Cité des enfants perdus, La (1995)".encode("latin-1"),
]


def fake_ml100k_files() -> dict[str, bytes]:
    """Contents of a miniature ml-100k directory (MovieLens names)."""
    lines = [f"{u}\t{i}\t{r}\t{881250949 + k}\n".encode() for k, (u, i, r) in enumerate(FAKE_RATINGS)]
    data = b"".join(lines)
    genres = b"|0" * 19
    items = b"".join(
        str(i).encode() + b"|" + title + b"|01-Jan-1995||http://example.invalid/" + str(i).encode() + genres + b"\n"
        for i, title in enumerate(FAKE_TITLES, 1)
    )
    users = b"".join(f"{u}|{20 + u}|M|other|0000{u}\n".encode() for u in range(1, 5))
    files = {
        "README": b"Fake MovieLens README for tests.\n",
        "u.data": data,
        "u.item": items,
        "u.user": users,
        "u.genre": b"unknown|0\nAction|1\n\n",
        "u.info": b"4 users\n5 items\n10 ratings\n",
        "u.occupation": b"other\n",
    }
    for k in ("1", "2", "3", "4", "5", "a", "b"):
        files[f"u{k}.base"] = b"".join(lines[:8])
        files[f"u{k}.test"] = b"".join(lines[8:])
    return files


def fake_Y_R() -> tuple[np.ndarray, np.ndarray]:
    Y = np.zeros((5, 4))
    for u, i, r in FAKE_RATINGS:
        Y[i - 1, u - 1] = r
    return Y, Y > 0


def make_zip(files: dict[str, bytes], prefix: str = "ml-100k/", extra: dict[str, bytes] | None = None,
             stored: bool = False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
        for name, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name unsanitised
    return buf.getvalue()


def make_source(root: Path, with_coursera: bool = True) -> Path:
    """A shared/data-like directory with the fake ml-100k and fake .mat files."""
    import scipy.io

    ml = root / "ml-100k"
    ml.mkdir(parents=True)
    for name, data in fake_ml100k_files().items():
        (ml / name).write_bytes(data)
    if with_coursera:
        c = root / "coursera-ex8"
        c.mkdir()
        Y, R = fake_Y_R()
        rng = np.random.default_rng(1)
        scipy.io.savemat(c / "ex8_movies.mat", {"Y": Y.astype(np.uint8), "R": R.astype(np.uint8)})
        scipy.io.savemat(c / "ex8_movieParams.mat", {"X": rng.standard_normal((5, 3)),
                                                      "Theta": rng.standard_normal((4, 3))})
        (c / "movie_ids.txt").write_bytes(bd.movie_ids_from_item((ml / "u.item").read_bytes()))
    return root


def sheet_xml(cells: str, dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'{xlsx_writer._XML_DECL}<worksheet xmlns="{xlsx_writer._NS_MAIN}">{dim}'
            f"<sheetData>{cells}</sheetData></worksheet>")


SMALL = '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>0</v></c></row>'


FAR = '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def make_workbook(path: Path, sheets: dict[str, str], extra: dict[str, bytes] | None = None,
                  method=zipfile.ZIP_DEFLATED) -> Path:
    """A workbook whose sheets hold the given XML (the parts besides the sheets from workbooks.py)."""
    with zipfile.ZipFile(path, "w", method) as zf:
        for part, text in package_parts(list(sheets)).items():
            zf.writestr(part, text)
        for i, body in enumerate(sheets.values(), 1):  # cells alone are wrapped in a worksheet
            zf.writestr(f"xl/worksheets/sheet{i}.xml", body if body.startswith("<?xml") else sheet_xml(body))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def ratings_book(path: Path, y: str = SMALL, r: str = SMALL, **kw) -> Path:
    return make_workbook(path, {"y": y, "R": r}, **kw)


def forge_size(path: Path, member: str, declared: int, crc: int | None = None) -> Path:
    """Rewrite the unpacked size (and CRC) a zip declares for ``member``, in both of its headers."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(member)
    new_crc = info.CRC if crc is None else crc
    struct.pack_into("<I", data, info.header_offset + 14, new_crc)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, pos + 16, new_crc)
            struct.pack_into("<I", data, pos + 24, declared)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    return path


def ole_file(path: Path, encrypted: bool) -> Path:
    """The start of an OLE compound file, as Excel writes encrypted workbooks and legacy .xls."""
    stream = "EncryptedPackage" if encrypted else "Workbook"
    path.write_bytes(workbooks._OLE_MAGIC + bytes(504) + stream.encode("utf-16-le") + bytes(1000))
    return path


def ratings_frames_book(tmp_path, y, r, name="ratings.xlsx"):
    """A ratings workbook written by openpyxl from the frames' values (sheets 'y' and 'R')."""
    return write_workbook(tmp_path / name, {"y": pd.DataFrame(y), "R": pd.DataFrame(r)})


def small_problem(seed=0, n_movies=6, n_users=5, k=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random((n_movies, n_users)) < 0.6
    Y[~R] = 0
    return X, Theta, Y, R


def write_workbook(path, sheets: dict[str, pd.DataFrame]):
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, header=False, index=False)
    return path


def ratings_workbook(path, seed=0, shape=(7, 5)):
    rng = np.random.default_rng(seed)
    R = rng.random(shape) < 0.5
    Y = np.where(R, rng.integers(1, 6, shape), 0).astype(float)
    write_xlsx(path, {"y": Y, "R": R}, progress=False)
    return Y, R


def assert_untouched(dest: Path) -> None:
    """A data folder made by the ``dest`` fixture, as it was: a failed build leaves nothing."""
    assert listing(dest) == ["keep.txt"], "a failed build must leave no new or partial file"
    assert (dest / "keep.txt").read_text() == "keep"


def download_build(dest: Path, url: str, md5_hex: str, **kw) -> dict:
    """The data step run on a download from ``url`` (a test server), quietly, with a short training."""
    return bd.build(dest, shared_dir=None, url=url, md5=md5_hex, num_iters=5,
                    progress=False, quiet=True, **kw)


def toy_ratings(seed=0, n_movies=7, n_users=6, density=0.6, k_true=2):
    """Small random ratings from a low-rank model; every movie and user has a rating."""
    rng = np.random.default_rng(seed)
    R = rng.random((n_movies, n_users)) < density
    R[np.arange(n_movies), np.arange(n_movies) % n_users] = True
    R[np.arange(n_users) % n_movies, np.arange(n_users)] = True
    Y = 3 + rng.normal(0, 1, (n_movies, k_true)) @ rng.normal(0, 1, (n_users, k_true)).T / k_true
    Y = np.clip(np.round(Y), 1, 5)
    return ObservedRatings.from_dense(Y, R)


def write_ratings(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


#: A folder with MovieLens' u1.base and u1.test (the built data/, else shared/data/ml-100k), or None.
U1_FOLDER = next((d for d in (ROOT / "data", SHARED / "ml-100k") if (d / "u1.base").is_file()
                  and (d / "u1.test").is_file()), None)


# ---------------------------------------------------------------- entries of the workbook cache (cache.py)


def npz_entry(path: Path, arrays, names=None) -> Path:
    """An ``.npz`` as the cache writes it, holding ``arrays`` (any dtypes, shapes, order) as ``names``."""
    names = names or [f"arr_{i}.npy" for i in range(len(arrays))]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in zip(names, arrays):
            with zf.open(name, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(a), allow_pickle=True)
    return path


def _raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members: ``(name, deflated bytes, crc32, unpacked size)`` each."""
    local, central = b"", b""
    for name, data, crc, size in members:
        fields = (20, 0, zipfile.ZIP_DEFLATED, 0, 0x21, crc, len(data), size, len(name))
        central += struct.pack("<4s2H2H2H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, len(local)) + name.encode()
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + name.encode() + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0)
    return local + central + end


def declared_huge_entry(path: Path, R, shape=(402_653_184,), chunks=48) -> Path:
    """A ~3 MB ``.npz`` whose ``arr_0.npy`` really unpacks to a 3 GiB float64 array of zeros (``shape``).

    Built without compressing 3 GiB: one 64 MiB block of zeros is deflated
    once, ending in a full flush (so it refers to nothing before it), and
    repeated ``chunks`` times. An unguarded reader (``np.load``) allocates
    the whole array and returns it.
    """
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    zeros = bytes(64 * 2**20)
    assert int(np.prod(shape)) * 8 == chunks * len(zeros)

    def deflate(data, final=False):
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    crc = zlib.crc32(header.getvalue())
    for _ in range(chunks):
        crc = zlib.crc32(zeros, crc)
    data = deflate(header.getvalue()) + deflate(zeros) * chunks + deflate(b"", final=True)
    r = io.BytesIO()
    np.lib.format.write_array(r, np.asarray(R, dtype=bool))
    members = [("arr_0.npy", data, crc, len(header.getvalue()) + chunks * len(zeros)),
               ("arr_1.npy", deflate(r.getvalue(), final=True), zlib.crc32(r.getvalue()), len(r.getvalue()))]
    path.write_bytes(_raw_zip(members))
    return path


def small_ratings(seed=0, n_movies=40, n_users=30):
    """Random ratings for the widgets' tests: every movie rated at least once."""
    rng = np.random.default_rng(seed)
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    R = rng.random(Y.shape) < 0.4
    R[:, 0] = True                      # every movie rated at least once
    return np.where(R, Y, 0.0), R


#: Titles for small_ratings' 40 movies.
WIDGET_TITLES = [f"movie {i} ({1990 + i})" for i in range(40)]


def clean_venv(where: Path) -> Path:
    """A new venv without the tutorial; requirements.txt's packages come from the running environment."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "requirements-txt.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@contextlib.contextmanager
def serving(routes: dict):
    """An HTTP server on 127.0.0.1 serving ``routes`` (path -> bytes, changeable while it runs); yields its base URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def renderer_of(fig):
    """The figure drawn once by Agg, and its renderer (a bare Figure has no canvas of its own)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def img_of(value: str) -> tuple[dict, bytes]:
    """The attributes of the one <img> in an HTML widget's value, and its PNG bytes."""
    tags = re.findall(r"<img ([^>]*)>", value)
    assert len(tags) == 1, value[:300]
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', tags[0]))
    return attrs, base64.b64decode(attrs["src"].split(",", 1)[1])


def run_make(target: str, *variables: str) -> str:
    """``make -s <target> VAR=value ...`` from the repository root, in the running environment; its stdout.

    ``VENV`` points the Makefile at this environment and ``-o`` its install stamp keeps make from
    (re)creating the venv or reinstalling requirements inside a test run.
    """
    import pytest

    if shutil.which("make") is None:
        pytest.skip(f"GNU make is not installed (this is `make {target}`)")
    stamp = f"{sys.prefix}/.installed-stamp"
    cmd = ["make", "-s", "-o", stamp, target, f"VENV={sys.prefix}", *variables]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def sandbox_or_skip() -> None:
    """Skip a test where the grading sandbox cannot start, or fail it when ``GRADING_SANDBOX_REQUIRED=1`` (CI)."""
    from teacher.grading import sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as exc:
        if os.environ.get("GRADING_SANDBOX_REQUIRED") == "1":
            import pytest

            pytest.fail(f"GRADING_SANDBOX_REQUIRED=1 but: {exc}")
        import pytest

        pytest.skip(str(exc))
