"""Tests of paths.py: where the data lives, the MOVIELENS_DATA override, and what a missing file says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recsys_tutorial import paths

REPO = Path(__file__).resolve().parents[1]


def fill(folder: Path, names=paths.BUILT_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("x")
    return folder


def test_default_is_the_repositorys_data_folder(monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    assert paths.repository_root() == REPO
    assert paths.data_dir(check=False) == REPO / "data"


def test_environment_variable_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(fill(tmp_path / "elsewhere")))
    assert paths.data_dir() == tmp_path / "elsewhere"
    assert paths.data_file("u.data") == tmp_path / "elsewhere" / "u.data"


def test_missing_build_says_what_and_how(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(fill(tmp_path / "half", paths.BUILT_FILES[:2])))
    with pytest.raises(paths.DataNotBuiltError) as info:
        paths.data_dir()
    message = str(info.value)
    assert "movie_ids.txt, u.data, u.item, u.genre not found" in message
    assert f"{paths.DATA_ENV}={tmp_path / 'half'}" in message
    assert "make data" in message and str(REPO) in message
    assert isinstance(info.value, FileNotFoundError)
    assert paths.data_dir(check=False) == tmp_path / "half"


def test_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(fill(tmp_path)))
    with pytest.raises(paths.DataNotBuiltError, match=r"'u1.base' not found in .*make data"):
        paths.data_file("u1.base")


def test_importable_from_any_folder(tmp_path):
    """The project is installed (make: pip install -e .): helpers and the package import anywhere."""
    code = "import helpers; from recsys_tutorial import exercises, paths; print(paths.repository_root())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(REPO)


def test_what_is_wrong_with_the_folder_is_said(monkeypatch, tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("")
    for folder, said in [(tmp_path / "missing", "which does not exist"), (afile, "which is not a folder"),
                         (tmp_path, f"{paths.DATA_ENV}={tmp_path})")]:
        monkeypatch.setenv(paths.DATA_ENV, str(folder))
        with pytest.raises(paths.DataNotBuiltError, match="make data") as info:
            paths.data_dir()
        assert said in str(info.value)


def test_a_name_too_long_is_not_a_crash(monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, "/" + "x" * 5000)                    # ENAMETOOLONG from stat
    with pytest.raises(paths.DataNotBuiltError, match="not found"):
        paths.data_dir()
    with pytest.raises(paths.DataNotBuiltError, match="'u.data' not found"):
        paths.data_file("u.data")


def test_data_file_takes_a_file_name_only(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(fill(tmp_path)))
    for bad in ("../u.data", "sub/u.data", "", ".", "..", "a\\b", "a\0b"):
        with pytest.raises(ValueError, match="name must be the name of a file in the data folder"):
            paths.data_file(bad)
    for bad in (None, 3, Path("u.data")):
        with pytest.raises(TypeError, match="name must be a file name"):
            paths.data_file(bad)


def test_a_bad_variable_names_itself(monkeypatch):
    from recsys_tutorial.settings import SettingError

    for value in ("   ", "data", "~nosuchuser/data"):
        monkeypatch.setenv(paths.DATA_ENV, value)
        with pytest.raises(SettingError, match=paths.DATA_ENV):
            paths.data_dir(check=False)


@pytest.mark.parametrize("record, origin", [
    ('{"parameters": "course"}', "course"), ('{"parameters": "trained"}', "trained"),
    (None, "unknown"), ('{"parameters": "mine"}', "unknown"), ("[1, 2]", "unknown"), ("not json", "unknown"),
    ("\udcff", "unknown"), ('{"parameters": "course"}' + " " * 2**17, "unknown"), ("folder", "unknown")])
def test_where_the_parameters_came_from_is_a_hint_never_an_error(monkeypatch, tmp_path, record, origin):
    """The data step records whose X and Θ movie_params.xlsx holds; notebooks 03 and 08 say it, and the
    suite skips comparing their outputs when the parameters were trained (tests/conftest.py)."""
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    if record == "folder":
        (tmp_path / paths.SOURCES).mkdir()
    elif record is not None:
        (tmp_path / paths.SOURCES).write_bytes(record.encode("utf-8", "surrogateescape"))
    assert paths.parameters_origin() == origin
    note = paths.parameters_note()
    assert {"course": "course's pre-trained", "trained": "not at fault", "unknown": "not recorded"}[origin] in note
