"""recsys_tutorial/settings.py: every environment variable, its accepted values and the error for anything else."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from recsys_tutorial import settings
from recsys_tutorial.settings import SettingError

FOLDER_VARIABLES = [(settings.DATA_ENV, settings.data_folder), (settings.CACHE_ENV, settings.cache_folder)]


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """No tutorial variable set, whatever the suite (tests/conftest.py sets the cache) or the shell set."""
    for name in (settings.DATA_ENV, settings.CACHE_ENV, settings.NUMBA_ENV, settings.GRADING_ENV, settings.URL_ENV,
                 settings.MD5_ENV):
        monkeypatch.delenv(name, raising=False)


def raises_naming(call, name: str, *parts: str) -> str:
    with pytest.raises(SettingError) as info:
        call()
    message = str(info.value)
    for part in (name, *parts):
        assert part in message, f"{part!r} not in {message!r}"
    assert isinstance(info.value, ValueError)
    return message


@pytest.mark.parametrize("name, read", FOLDER_VARIABLES)
def test_folders_absolute_home_and_spaces(monkeypatch, tmp_path, name, read):
    monkeypatch.setenv(name, str(tmp_path))
    assert read() == tmp_path
    monkeypatch.setenv(name, f"  {tmp_path}\t")                  # surrounding spaces trimmed
    assert read() == tmp_path
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(name, "~/course")
    assert read() == tmp_path / "home" / "course"
    me = pwd.getpwuid(os.getuid())
    monkeypatch.setenv(name, f"~{me.pw_name}/course")           # ~user of a user that exists
    assert read() == Path(me.pw_dir) / "course"
    monkeypatch.setenv(name, "")                                 # empty: the default
    assert read() != Path("")


@pytest.mark.parametrize("name, read", FOLDER_VARIABLES)
@pytest.mark.parametrize("value, named", [
    ("~nosuchuser/x", "nosuchuser has no home folder"),          # was a RuntimeError from deep in pathlib
    ("relative/cache", "relative path"),
    ("./cache", "relative path"),
    ("cache", "relative path"),
    ("   ", "only spaces"),                                      # was taken as unset
    ("\t\n", "only spaces"),
    ("file:///srv/data", "relative path"),
])
def test_folders_refused(monkeypatch, name, read, value, named):
    monkeypatch.setenv(name, value)
    raises_naming(read, name, named, repr(value) if value.strip() else "")


def test_a_relative_path_is_refused_not_created(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.CACHE_ENV, "cache")
    message = raises_naming(settings.cache_folder, settings.CACHE_ENV, "give an absolute path")
    assert str(tmp_path / "cache") in message                    # the absolute path it would have meant
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", ["0", "false", "No", "none", "disabled"])
def test_other_words_for_off_are_named(monkeypatch, tmp_path, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.CACHE_ENV, value)
    raises_naming(settings.cache_folder, settings.CACHE_ENV, "set it to off")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", ["off", "OFF", "Off", "OFF ", " off\t"])
def test_cache_off_in_any_case_and_spacing(monkeypatch, tmp_path, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.CACHE_ENV, value)
    assert settings.cache_folder() is None
    assert os.listdir(tmp_path) == []


def test_cache_default_follows_xdg_and_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_folder() == tmp_path / "xdg" / "movie-recommender"
    for ignored in ("relative/xdg", "   ", "", "~/xdg"):             # the XDG specification: not absolute, ignored
        monkeypatch.setenv("XDG_CACHE_HOME", ignored)
        assert settings.cache_folder() == tmp_path / "home" / ".cache" / "movie-recommender"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert settings.cache_folder() == tmp_path / "home" / ".cache" / "movie-recommender"


@pytest.mark.parametrize("home", ["relative-home", ""])
def test_no_absolute_home_means_no_default_cache(monkeypatch, tmp_path, home):
    """Not a cache folder in whatever folder the notebook runs in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    assert settings.cache_folder() is None


def test_no_home_at_all(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError("no home"))))
    assert settings.cache_folder() is None
    monkeypatch.setenv(settings.CACHE_ENV, "~/cache")
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(Path, "expanduser", lambda self: (_ for _ in ()).throw(RuntimeError("no home")))
    raises_naming(settings.cache_folder, settings.CACHE_ENV, "the current user has no home folder")


@pytest.mark.parametrize("value, expected", [
    (None, True), ("", True), ("on", True), ("1", True), ("TRUE", True), (" yes ", True),
    ("off", False), ("0", False), ("False", False), ("no", False), ("OFF ", False), ("\t0\n", False),
])
def test_numba_switch(monkeypatch, value, expected):
    if value is not None:
        monkeypatch.setenv(settings.NUMBA_ENV, value)
    assert settings.use_numba() is expected


@pytest.mark.parametrize("value", ["2", "maybe", "o n", "   ", "nope", "-1"])
def test_numba_switch_refuses_other_words(monkeypatch, value):
    monkeypatch.setenv(settings.NUMBA_ENV, value)
    raises_naming(settings.use_numba, settings.NUMBA_ENV, "on or off" if value.strip() else "only spaces")


def test_numba_off_is_obeyed_by_the_cost(monkeypatch):
    """MOVIE_RECOMMENDER_NUMBA=0 was once ignored: the kernel chosen is NumPy's (None)."""
    from recsys_tutorial import observed

    monkeypatch.setenv(settings.NUMBA_ENV, "0")
    assert observed._kernel(None) is None
    monkeypatch.setenv(settings.NUMBA_ENV, "sometimes")
    with pytest.raises(SettingError, match=settings.NUMBA_ENV):
        observed._kernel(None)


@pytest.mark.parametrize("value, expected", [(None, False), ("", False), ("autograde", True), ("validate", True),
                                             (" Autograde ", True), ("VALIDATE", True)])
def test_graded_run(monkeypatch, value, expected):
    if value is not None:
        monkeypatch.setenv(settings.GRADING_ENV, value)
    assert settings.graded_run() is expected


@pytest.mark.parametrize("value", ["1", "yes", "grading", "   "])
def test_graded_run_refuses_what_nbgrader_never_sets(monkeypatch, value):
    monkeypatch.setenv(settings.GRADING_ENV, value)
    raises_naming(settings.graded_run, settings.GRADING_ENV, "autograde" if value.strip() else "only spaces")


@pytest.mark.parametrize("value", ["https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                                   "http://127.0.0.1:8000/ml-100k.zip",
                                   "  HTTPS://example.org/ml-100k.zip "])
def test_download_url(monkeypatch, value):
    monkeypatch.setenv(settings.URL_ENV, value)
    assert settings.download_url() == value.strip()


@pytest.mark.parametrize("value", ["ftp://example.org/ml-100k.zip", "files.grouplens.org/ml-100k.zip",
                                   "file:///tmp/a-fifo.zip", "http://:80/x",
                                   "/srv/ml-100k.zip", "https://", "http://[::1/x", "javascript:alert(1)", "   "])
def test_download_url_refused(monkeypatch, value):
    monkeypatch.setenv(settings.URL_ENV, value)
    raises_naming(settings.download_url, settings.URL_ENV, "http://" if value.strip() else "only spaces")


def test_unset_url_is_the_default(monkeypatch):
    assert settings.download_url() is None
    monkeypatch.setenv(settings.URL_ENV, "")
    assert settings.download_url() is None


@pytest.mark.parametrize("value, expected", [(None, "d" * 32), ("", "d" * 32), ("0E33842E24A9C977BE4E0107933C0723 ",
                                             "0e33842e24a9c977be4e0107933c0723"), ("none", None), (" NONE", None)])
def test_download_md5(monkeypatch, value, expected):
    if value is not None:
        monkeypatch.setenv(settings.MD5_ENV, value)
    assert settings.download_md5("d" * 32) == expected


@pytest.mark.parametrize("value", ["123", "g" * 32, "0e33842e24a9c977be4e0107933c07231", "off", "   "])
def test_download_md5_refused(monkeypatch, value):
    monkeypatch.setenv(settings.MD5_ENV, value)
    raises_naming(lambda: settings.download_md5(None), settings.MD5_ENV,
                  "32 hexadecimal digits" if value.strip() else "only spaces")


def test_every_variable_is_documented():
    """The module's table lists each variable the functions read."""
    for name in (settings.DATA_ENV, settings.CACHE_ENV, settings.NUMBA_ENV, settings.GRADING_ENV, settings.URL_ENV,
                 settings.MD5_ENV, "XDG_CACHE_HOME"):
        assert f"``{name}``" in settings.__doc__


def test_no_module_reads_the_environment_but_settings():
    """Every variable is parsed in settings.py: no other module of the package, helpers.py or the data step
    reads os.environ or os.getenv (the benchmarks set the cache variable, for themselves)."""
    root = Path(settings.__file__).resolve().parents[1]
    sources = [*(root / "recsys_tutorial").rglob("*.py"), root / "helpers.py", *(root / "data").glob("*.py")]
    readers = [p.relative_to(root) for p in sources if p.name != "settings.py"
               and ("os.environ" in p.read_text() or "getenv" in p.read_text())]
    assert readers == []
