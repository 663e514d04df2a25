"""Real-browser tests of the widgets: notebook 06's explorer, notebook 07's rating widget and ``make app``
(issues #5, #12, #21, #23), in JupyterLab and in Voilà, in Debian's headless Chromium driven by Playwright.

nbval checks that the notebooks run, but not what a learner sees: a slider that shows up as text, one
that moves without anything updating, a curve that comes back blank, a list cut off on a laptop screen,
a button a screen reader cannot name. These tests start private servers and a browser and check:

* ``test_training_sliders_in_jupyterlab`` / ``..._in_voila``: notebook 06 run whole; "λ", "α" and
  "iterations" moved with the keyboard and through their readout boxes; each time the printed
  "final cost J = …" and the picture change (decoded and drawn: not blank, not half-drawn), an extreme λ
  changes the top recommendation, too large an α shows the divergence message; the sliders are named by
  their labels for a screen reader, the picture has alt text that changes with it;
* ``test_rating_widget_in_jupyterlab``: notebook 07 at 1280 × 900 with JupyterLab's file browser open
  (issue 21): titles on at most two lines, both lists inside the output, no broken image; titles typed,
  matches picked, star buttons pressed by their names ("rate Star Wars (1977) 5 stars"), the top 10 and
  my ratings change each time; removing them one by one gives back each earlier top 10 exactly;
* ``test_rating_widget_by_keyboard_alone``: notebook 07 in JupyterLab with the keyboard only, from the
  notebook's command mode: Tab into the widget, type a title, Tab to a star button, Enter; Tab to
  "remove …", Enter (issue 23); the focus ring is visible; the live region says what changed;
* ``test_rating_widget_in_voila``: the same ratings and removals in notebook 07 rendered by Voilà;
* ``test_make_app``: ``make app`` serves ``notebooks/your-top-ten.ipynb``; the widget appears, rates and
  removes (the seconds from opening the page are recorded); ``test_make_lab``: ``make lab`` starts
  JupyterLab (as root too) in the student folder, with the tutorial's accessible CSS;
* axe-core (``axe-playwright-python``) at the end of each notebook test, on the notebook's content
  (JupyterLab: its output and markdown areas, in a viewport tall enough for every cell, because axe skips
  what lies outside it; JupyterLab's own interface is counted apart and not asserted; Voilà: the page):
  no serious or critical violation. The counts go to ``artifacts/browser/axe.json``.

Every move is timed from the input event (keydown / pointerdown) to the first change of what it redraws
(a MutationObserver), and the kernel's own time is read from the widget; the medians are printed (``-s``)
and written to ``artifacts/browser/timings.json``. Nothing asserts on a time.

Run just these tests with ``pytest -m browser`` (about 4-6 minutes on 2 cores). They need
``/usr/bin/chromium`` (``apt-get install chromium``; Playwright cannot download its own browser here) and
the ``browser`` extra of ``pyproject.toml`` (``make test`` installs them). Without them the tests are
*skipped* with the reason printed by ``pytest -ra`` and a warning, unless ``BROWSER_TEST_REQUIRED=1``
(set by ``.ci/run``), which turns the skip into a failure.

Environment knobs:

* ``BROWSER_TEST_NOTEBOOK``: test another notebook with the same widgets instead of
  ``notebooks/06-training.ipynb`` (used to check that a broken callback fails the test);
  ``BROWSER_TEST_RATING_NOTEBOOK`` the same for ``notebooks/07-recommending.ipynb``.
* ``CHROMIUM``: path of the browser (default ``/usr/bin/chromium``).

Artefacts in ``artifacts/browser/`` (git-ignored): ``06-training.png``, ``06-training-voila.png``,
``07-recommending-1280.png`` (the layout with the file browser open), ``07-recommending-keyboard.png``,
``07-recommending-voila.png``, ``your-top-ten-app.png``, ``timings.json`` and ``axe.json``; when a test
fails, ``*-failure.png`` and the explorer's pictures as the browser got them (``*-failure-img0.png``).

Nothing is written into the repository's notebooks: the servers run on a temporary copy of
``notebooks/`` next to symlinks to ``helpers.py``, ``data/`` and the other top-level files. JupyterLab
gets the same custom CSS as ``make lab`` (``recsys_tutorial/static/accessible.css``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = Path(os.environ.get("BROWSER_TEST_NOTEBOOK") or REPO / "notebooks" / "06-training.ipynb")
RATING_NOTEBOOK = Path(os.environ.get("BROWSER_TEST_RATING_NOTEBOOK")
                       or REPO / "notebooks" / "07-recommending.ipynb")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ACCESSIBLE_CSS = REPO / "recsys_tutorial" / "static" / "accessible.css"
#: axe's impacts a notebook's content must not have.
SERIOUS = ("serious", "critical")
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]

# Time limits (ms for Playwright). The notebook loads data/ex8_movies.xlsx (about 15 s on
# 2 cores) before the explorer appears; one slider update takes well under a second.
SERVER_START_S = 60
KERNEL_IDLE_MS = 60_000
FIRST_RENDER_MS = 120_000
UPDATE_MS = 30_000
VOILA_ATTEMPT_MS = 75_000
VOILA_ATTEMPTS = 3

# What a learner sees when the widget manager is missing: the text/plain repr.
SLIDER_TEXT_REPR = re.compile(r"\b(FloatSlider|FloatLogSlider|IntSlider)\(value=|\b[VH]Box\(children=")


# --------------------------------------------------------------------------------------
# Prerequisites: skip loudly (or fail under BROWSER_TEST_REQUIRED=1) when missing
# --------------------------------------------------------------------------------------


def _missing_prerequisite() -> str | None:
    for package in ("playwright", "axe_playwright_python", "voila"):
        if importlib.util.find_spec(package) is None:
            return f"Python package {package!r} is not installed (pip install -e '.[browser]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM=/path)"
    return None


def _require(what: str, reason: str | None) -> None:
    if reason is None:
        return
    message = f"browser test of {what} not run: {reason}"
    if os.environ.get("BROWSER_TEST_REQUIRED") == "1":
        pytest.fail(message + " (BROWSER_TEST_REQUIRED=1)", pytrace=False)
    warnings.warn(message, stacklevel=2)  # listed in pytest's warnings summary
    pytest.skip(message)  # and the reason in its short summary (-ra in pytest.ini)


# --------------------------------------------------------------------------------------
# Fixtures: a private copy of the repository layout, a browser
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prerequisites():
    _require(NOTEBOOK.name, _missing_prerequisite())
    if not NOTEBOOK.is_file():
        pytest.fail(f"{NOTEBOOK} does not exist", pytrace=False)
    if not (REPO / "data" / "ex8_movies.xlsx").is_file():
        pytest.fail("data/ is empty: run `make data` (python scripts/build_data.py) first",
                    pytrace=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, prerequisites):
    """A temporary tree shaped like the repository: notebooks/ copied, the rest symlinked."""
    base = tmp_path_factory.mktemp("browser")
    root = base / "repo"
    root.mkdir()
    skip = {"notebooks", ".git", ".venv", "artifacts", ".pytest_cache", "student"}
    for entry in REPO.iterdir():
        if entry.name not in skip:
            (root / entry.name).symlink_to(entry)
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
    shutil.copy2(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    shutil.copy2(RATING_NOTEBOOK, root / "notebooks" / RATING_NOTEBOOK.name)
    return base


def _jupyter_env(base: Path, name: str, custom_css: bool = False) -> dict[str, str]:
    """Fresh config/runtime/data dirs so nothing is read from or written to $HOME; with ``custom_css``,
    JupyterLab's custom CSS is the tutorial's, as ``make lab`` serves it (start with --LabApp.custom_css=True)."""
    env = dict(os.environ)
    dirs = {}
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        d = base / name / var.lower()
        d.mkdir(parents=True, exist_ok=True)
        env[var] = dirs[var] = str(d)
    # The news/announcements pop-up would cover the notebook.
    labconfig = Path(dirs["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    if custom_css:
        (Path(dirs["JUPYTER_CONFIG_DIR"]) / "custom").mkdir(exist_ok=True)
        shutil.copy2(ACCESSIBLE_CSS, Path(dirs["JUPYTER_CONFIG_DIR"]) / "custom" / "custom.css")
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process of ours: started, polled until it answers, always stopped."""

    def __init__(self, name: str, argv_for_port, env, cwd: Path, log: Path, ready_path: str,
                 ready_codes=(200,), *, ready_within: float = SERVER_START_S, group: bool = False):
        """``group``: the server runs under a command of its own (``make``), so it gets a process group,
        and stop() signals the whole group (make does not pass SIGTERM on to its child)."""
        self.name, self.log_path, self.group = name, log, group
        self.proc = None
        last_error = None
        started = time.monotonic()
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            self._log = open(log, "ab")
            self.proc = subprocess.Popen(argv_for_port(self.port), env=env, cwd=cwd,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=group)
            try:
                self._wait_ready(ready_path, ready_codes, ready_within)
                self.ready_after = time.monotonic() - started
                return
            except RuntimeError as exc:
                last_error = exc
                self.stop()
        raise RuntimeError(f"{name} did not start: {last_error}\n{self.log_tail()}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, path: str, codes, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.base_url + path, timeout=2) as r:
                    if r.status in codes:
                        return
            except urllib.error.HTTPError as e:
                if e.code in codes:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)  # polling a port, not waiting on the page
        raise RuntimeError(f"no answer on {path} within {within:.0f} s")

    def _signal(self, sig) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig) if self.group else self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGTERM)  # JupyterLab / Voilà shut their kernels down on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.group and self.proc is not None:       # make is gone; its server may still be shutting down
            deadline = time.monotonic() + 15
            with contextlib.suppress(ProcessLookupError):
                while time.monotonic() < deadline:
                    os.killpg(self.proc.pid, 0)
                    time.sleep(0.2)
                os.killpg(self.proc.pid, signal.SIGKILL)
        if not self._log.closed:
            self._log.close()

    def log_tail(self, n: int = 40) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            return f"--- last lines of {self.log_path} ---\n" + "\n".join(lines[-n:])
        return ""


@pytest.fixture
def browser_page(tmp_path):
    """A Chromium page with a fresh profile; every request off 127.0.0.1 is aborted."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1500, "height": 1100})
        try:
            context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:).*"),
                          lambda route: route.abort())
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


# --------------------------------------------------------------------------------------
# Reading and moving the explorer's widgets
# --------------------------------------------------------------------------------------


def _label(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


class Explorer:
    """The output of the cell that displays build_training_explorer()."""

    def __init__(self, page, scope_selector: str):
        self.page = page
        lam_slider = page.locator(".widget-slider").filter(
            has=page.locator("label.widget-label", has_text=_label("λ")))
        # The outermost output holding both the λ slider and the printed cost (the Output
        # widget renders its own nested output area, which holds the text but no slider).
        self.root = (page.locator(scope_selector)
                     .filter(has=lam_slider).filter(has_text="final cost J").first)

    def slider(self, label: str):
        return self.root.locator(".widget-slider").filter(
            has=self.page.locator("label.widget-label", has_text=_label(label))).first

    def handle(self, label: str):
        return self.slider(label).locator(".noUi-handle").first

    def readout(self, label: str):
        return self.slider(label).locator(".widget-readout").first

    # Polled while the notebook runs: stop early, with a clear message, when the widget
    # shows up as text or the notebook raised, rather than waiting out the timeout.
    _FIRST_RENDER_JS = r"""
    ([textRepr]) => {
      const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
      const text = outs.map(o => o.textContent).join('\n');
      const m = text.match(new RegExp(textRepr));
      if (m) return 'a widget is shown as text, not rendered (' + m[0] + '…): is the '
                    + 'jupyterlab_widgets extension installed and enabled?';
      if (text.includes('Error displaying widget')) return 'Error displaying widget';
      if (outs.some(o => o.querySelector('.widget-slider .noUi-handle')
                         && o.textContent.includes('final cost J'))) return 'ok';
      // Run All stops at a failing cell, so a traceback means the explorer never comes.
      const tb = outs.find(o => o.textContent.includes('Traceback (most recent call last)'));
      if (tb) return 'the notebook raised:\n' + tb.textContent.slice(0, 3000);
      return false;
    }"""

    def wait_rendered(self, timeout: float) -> None:
        from playwright.sync_api import expect

        verdict = self.page.wait_for_function(
            self._FIRST_RENDER_JS, arg=[SLIDER_TEXT_REPR.pattern], timeout=timeout,
            polling=250).json_value()
        assert verdict == "ok", verdict
        expect(self.root).to_be_visible(timeout=UPDATE_MS)
        # Pin the explorer: its text changes later (a divergence message replaces the cost).
        self.root.evaluate("el => el.setAttribute('data-browser-test', 'explorer')")
        self.root = self.page.locator("[data-browser-test='explorer']")
        for label in ("λ", "α", "iterations"):
            expect(self.handle(label)).to_be_visible(timeout=UPDATE_MS)
            expect(self.readout(label)).to_be_visible(timeout=UPDATE_MS)

    def wait_complete(self, timeout: float) -> None:
        """Wait for the first draw: a cost, a curve and a table."""
        js = "el => { const s = (" + self._STATE_JS + ")(el);" \
             " return s.cost !== null && s.images.length > 0 && s.top !== null &&" \
             " s.images.every(i => !i.startsWith('not ')); }"
        try:
            self.page.wait_for_function(js, arg=self.root.element_handle(timeout=timeout),
                                        timeout=timeout)
        except Exception as exc:
            raise AssertionError(f"explorer incomplete: {_short(self.state())}") from exc

    # textContent, not innerText: JupyterLab skips rendering off-screen cells
    # (content-visibility), and innerText leaves their text out.
    _STATE_JS = r"""
    el => {
      const full = el.textContent;
      const m = full.match(/final cost J\s*=\s*([-+0-9.,eE]+|nan|inf)/);
      // A curve counts once the browser has decoded it and it is drawn: ink in each
      // quarter of the picture (the axes frame alone gives that). Blank or half-drawn
      // pictures show up as "not drawn".
      const drawn = img => {
        const w = img.naturalWidth, h = img.naturalHeight;
        const c = document.createElement('canvas');
        c.width = w; c.height = h;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, w, h).data;
        const ink = [0, 0, 0, 0];
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
          const k = 4 * (y * w + x);
          if (d[k + 3] > 0 && (d[k] < 200 || d[k + 1] < 200 || d[k + 2] < 200))
            ink[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)]++;
        }
        return ink.every(n => n > 0.005 * w * h / 4);
      };
      const imgs = [...el.querySelectorAll('img')].map(i => {
        const src = i.currentSrc || i.src;
        if (!(i.complete && i.naturalWidth > 0)) return 'not decoded: ' + src;
        return drawn(i) ? src : 'not drawn: ' + src;
      });
      const svgs = [...el.querySelectorAll('.jp-RenderedSVG svg, .widget-output svg')]
                      .map(s => s.outerHTML.length + ':' + s.outerHTML.slice(-2000));
      // Top recommendation: the "title" cell of the table's first row (whole row if no
      // such column), so that a changed predicted rating alone does not count.
      let top = null;
      const table = el.querySelector('table');
      const row = table && table.querySelector('tbody tr');
      if (row) {
        const heads = [...table.querySelectorAll('thead tr:last-child th, thead tr:last-child td')]
                        .map(h => h.textContent.trim().toLowerCase());
        const cells = [...row.querySelectorAll('th, td')].map(c => c.textContent.trim());
        const i = heads.findIndex(h => /title|movie/.test(h) && !/id$/.test(h));
        top = (i >= 0 && heads.length === cells.length) ? cells[i]
              : cells.join(' ').replace(/\s+/g, ' ');
      }
      const readouts = {};
      for (const s of el.querySelectorAll('.widget-slider')) {
        const l = s.querySelector('label.widget-label');
        const r = s.querySelector('.widget-readout');
        if (l && r) readouts[l.textContent.trim()] = r.textContent.trim();
      }
      const ho = full.match(/training RMSE [0-9.]+, held-out RMSE\s*([0-9.]+)/);
      const ks = full.match(/computed and drawn in\s*([0-9.]+)\s*s/);
      return {cost: m ? m[1] : null, images: imgs.concat(svgs), top: top,
              heldout: ho ? ho[1] : null, kernel_s: ks ? parseFloat(ks[1]) : null,
              readouts: readouts, diverged: full.includes('diverged'),
              text: (el.innerText || full).slice(0, 3000)};
    }"""

    def state(self) -> dict:
        return self.root.evaluate(self._STATE_JS)

    def wait_for_change(self, before: dict, timeout: float, what=("cost", "images")) -> dict:
        """Wait until every key in ``what`` differs from ``before`` and the explorer is
        complete again (cost, curve and table: the callback clears the output first)."""
        js = "([el, before, keys]) => { const s = (" + self._STATE_JS + ")(el);" \
             " return s.cost !== null && s.images.length > 0 && s.top !== null &&" \
             " s.images.every(i => !i.startsWith('not ')) &&" \
             " keys.every(k => JSON.stringify(s[k]) !== JSON.stringify(before[k])); }"
        handle = self.root.element_handle(timeout=timeout)
        try:
            self.page.wait_for_function(js, arg=[handle, before, list(what)], timeout=timeout)
        except Exception as exc:  # playwright TimeoutError: say what did not change
            now = self.state()
            unchanged = [k for k in what if now.get(k) == before.get(k)]
            raise AssertionError(
                f"after moving the slider, {unchanged} did not change within "
                f"{timeout / 1000:.0f} s.\nbefore: {_short(before)}\nnow:    {_short(now)}"
            ) from exc
        return self.state()


def _short(state: dict) -> dict:
    s = dict(state)
    s["images"] = [i[:60] + f"...({len(i)} chars)" for i in s.get("images", [])]
    s["text"] = s.get("text", "")[:400]
    return s


def _aria(handle, name: str) -> float:
    return float(handle.get_attribute(name))


def _fmt(value: float, integer: bool) -> str:
    return str(int(round(value))) if integer else f"{value:g}"


def move_by_keyboard(explorer: Explorer, label: str, key: str) -> None:
    handle = explorer.handle(label)
    old = explorer.state()["readouts"].get(label)
    handle.focus()
    handle.press(key)
    # The readout follows the slider at once; the kernel update comes after.
    explorer.page.wait_for_function(
        "([el, label, old]) => { for (const s of el.querySelectorAll('.widget-slider')) {"
        " const l = s.querySelector('label.widget-label');"
        " if (l && l.textContent.trim() === label)"
        "   return s.querySelector('.widget-readout').textContent.trim() !== old; } return false; }",
        arg=[explorer.root.element_handle(), label, old], timeout=UPDATE_MS)


def type_into_readout(explorer: Explorer, label: str, text: str, before_enter=None) -> None:
    readout = explorer.readout(label)
    readout.click()
    explorer.page.keyboard.press("ControlOrMeta+a")
    explorer.page.keyboard.type(text)
    if before_enter is not None:
        before_enter()
    explorer.page.keyboard.press("Enter")


# --------------------------------------------------------------------------------------
# Timing: from the learner's input to the redraw, in the browser (no timing asserts)
# --------------------------------------------------------------------------------------

# Armed just before an input: the first keydown/pointerdown after it is the input time;
# a MutationObserver on `root` notes each time the text of the elements matching
# `selector` changes (the redraw reaching the page).
_ARM_TIMER_JS = r"""
([root, selector]) => {
  const text = () => [...root.querySelectorAll(selector)].map(e => e.textContent).join('|');
  const st = {input: null, changes: [], last: text()};
  const onInput = () => { if (st.input === null) st.input = performance.now(); };
  document.addEventListener('keydown', onInput, {capture: true, once: true});
  document.addEventListener('pointerdown', onInput, {capture: true, once: true});
  const obs = new MutationObserver(() => {
    const now = text();
    if (now !== st.last) { st.changes.push(performance.now()); st.last = now; }
  });
  obs.observe(root, {subtree: true, childList: true, characterData: true, attributes: true});
  st.stop = () => { obs.disconnect(); document.removeEventListener('keydown', onInput, true);
                    document.removeEventListener('pointerdown', onInput, true); };
  window.__browserTestTimer = st;
}"""

_READ_TIMER_JS = r"""
([which]) => { const st = window.__browserTestTimer; st.stop();
               if (st.input === null || !st.changes.length) return null;
               return (which === 'last' ? st.changes[st.changes.length - 1] : st.changes[0]) - st.input; }"""


def arm_timer(page, root, selector: str) -> None:
    page.evaluate(_ARM_TIMER_JS, [root.element_handle(), selector])


def read_timer(page, which: str = "first") -> float | None:
    """Milliseconds from the input to the first (or the last) change of the watched text, or None."""
    return page.evaluate(_READ_TIMER_JS, [which])


def _median(values) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def record_timings(section: str, samples: dict[str, list]) -> dict:
    """Medians of each list of samples, printed and merged into artifacts/browser/timings.json."""
    summary = {name: {"median": _median(values), "n": len([v for v in values if v is not None]),
                      "samples": [None if v is None else round(v, 1) for v in values]}
               for name, values in samples.items()}
    _merge_json(ARTIFACTS / "timings.json", section, summary)
    for name, s in summary.items():
        median = "n/a" if s["median"] is None else f"{s['median']:.0f}"
        print(f"{section}: {name}: median {median} ms over {s['n']} samples")
    return summary


def assert_widgets_not_text(page, where: str) -> None:
    body = "\n".join(page.locator(".jp-OutputArea-output").all_text_contents())
    m = SLIDER_TEXT_REPR.search(body)
    assert m is None, (f"{where}: a widget is shown as text ({m.group(0)}…): the widget "
                       "manager did not render it (is jupyterlab_widgets installed?)")
    assert "Error displaying widget" not in body, f"{where}: 'Error displaying widget' shown"


def _clear_screenshots(*names: str) -> None:
    for name in names:  # so that a stale failure picture does not outlive its run
        paths = [ARTIFACTS / name]
        if name.endswith("-failure.png"):
            paths += ARTIFACTS.glob(name.replace(".png", "-img*.png"))
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _save_images(explorer, stem: str) -> None:
    """On failure: the explorer's pictures as the browser got them, for a look."""
    import base64

    srcs = explorer.root.evaluate("el => [...el.querySelectorAll('img')].map(i => i.src)",
                                  timeout=5_000)
    for k, src in enumerate(srcs):
        if src.startswith("data:image/png;base64,"):
            (ARTIFACTS / f"{stem}-failure-img{k}.png").write_bytes(
                base64.b64decode(src.split(",", 1)[1]))


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def _assert_readout(state: dict, label: str, expected: float) -> None:
    shown = state["readouts"].get(label)
    assert shown is not None and abs(float(shown) - expected) <= 1e-6 * max(1, abs(expected)), \
        f"typed {expected:g} into the {label} readout, it shows {shown!r}"


class _SliderRun:
    """What exercise_sliders keeps: notes for the log and, per move, the milliseconds from
    the input to the redraw in the browser and the callback's own time in the kernel."""

    def __init__(self, explorer: Explorer, kernel_idle):
        self.explorer, self.kernel_idle = explorer, kernel_idle
        self.notes, self.browser_ms, self.first_ms, self.kernel_ms = [], [], [], []

    def arm(self) -> None:
        arm_timer(self.explorer.page, self.explorer.root, ".widget-html-content")

    def key(self, label: str, key: str) -> None:
        self.arm()
        move_by_keyboard(self.explorer, label, key)

    def type(self, label: str, text: str) -> None:
        type_into_readout(self.explorer, label, text, before_enter=self.arm)

    def settled(self, before: dict, what=("cost", "images"), *, diverged=False) -> dict:
        if diverged:   # the message replaces the cost; the picture shows where it blew up
            js = ("([el]) => { const s = (" + Explorer._STATE_JS + ")(el); return s.cost === null"
                  " && s.diverged && s.images.length > 0 && s.images.every(i => !i.startsWith('not ')); }")
            try:
                self.explorer.page.wait_for_function(js, arg=[self.explorer.root.element_handle()],
                                                     timeout=UPDATE_MS)
            except Exception as exc:
                raise AssertionError("α at its maximum: expected the divergence message and a "
                                     f"picture of it; shown: {_short(self.explorer.state())}") from exc
        else:
            self.explorer.wait_for_change(before, UPDATE_MS, what)
        if self.kernel_idle is not None:
            self.kernel_idle()  # the callback has finished: all of its outputs are in
        after = self.explorer.state() if diverged else self.explorer.wait_for_change(before, UPDATE_MS, what)
        timer = self.explorer.page.evaluate("() => window.__browserTestTimer")
        self.first_ms.append(None if timer["input"] is None or not timer["changes"]
                             else timer["changes"][0] - timer["input"])
        self.browser_ms.append(read_timer(self.explorer.page, "last"))
        self.kernel_ms.append(None if after["kernel_s"] is None else 1000 * after["kernel_s"])
        return after

    def note(self, label, how, a, b, extra="") -> None:
        self.notes.append(f"{label} {a['readouts'].get(label)} → {b['readouts'].get(label)} ({how}): "
                          f"J {a['cost']} → {b['cost']}, held-out RMSE {a['heldout']} → {b['heldout']}{extra}"
                          f" [{self.browser_ms[-1] or float('nan'):.0f} ms to redraw]")


def exercise_sliders(explorer: Explorer, kernel_idle=None) -> tuple[list[str], dict]:
    """Move λ, α and iterations as a learner would; assert that what depends on each changes.

    Starting from the notebook's defaults (λ = 10, α = 0.01, 100 iterations today; the
    targets below come from the sliders' own ranges, not from these numbers):

    1. λ one step right with the keyboard: the cost, the curves and the held-out RMSE change.
    2. λ's minimum (0, no regularisation) typed into its readout: the top recommendation
       changes too (the list is then led by rarely rated movies). Should the minimum not
       change it, the maximum is tried; one of them must.
    3. α one page down (PageDown, 5 steps) with the keyboard: cost and curve change.
    4. α to its maximum (End): gradient descent diverges; the message replaces the cost and
       the picture shows where.
    5. α = 0.001 typed into its readout: a cost and a curve are back.
    6. iterations: a new value typed into its readout: cost and curve change.

    Returns the notes and, per move, milliseconds from input to redraw (browser) and the
    callback's time (kernel).
    """
    r = _SliderRun(explorer, kernel_idle)
    s0 = explorer.state()
    assert s0["cost"] is not None, f"no 'final cost J = …' printed: {_short(s0)}"
    assert s0["heldout"] is not None, f"no held-out RMSE printed: {_short(s0)}"
    assert s0["images"], f"no cost-curve image in the explorer: {_short(s0)}"
    assert s0["top"], f"no recommendations table in the explorer: {_short(s0)}"

    r.key("λ", "ArrowRight")                                      # 1. λ, keyboard
    s1 = r.settled(s0, ("cost", "images", "heldout"))
    r.note("λ", "ArrowRight", s0, s1)

    h = explorer.handle("λ")                                      # 2. λ, readout, an extreme
    before, tried = s1, []
    for lam in (_aria(h, "aria-valuemin"), _aria(h, "aria-valuemax")):
        r.type("λ", _fmt(lam, integer=False))
        s2 = r.settled(before, ("cost", "images", "heldout"))
        _assert_readout(s2, "λ", lam)
        r.note("λ", "typed", before, s2, f", top recommendation {s1['top']!r} → {s2['top']!r}")
        tried.append(f"λ={lam:g}: {s2['top']!r}")
        if s2["top"] != s1["top"]:
            break
        before = s2
    else:
        raise AssertionError(f"the top recommendation stayed {s1['top']!r} at λ="
                             f"{s1['readouts'].get('λ')} and at both ends of λ ({tried})")

    r.key("α", "PageDown")                                        # 3. α, a page down
    s3 = r.settled(s2)
    r.note("α", "PageDown", s2, s3)

    r.key("α", "End")                                             # 4. α too large
    s4 = r.settled(s3, diverged=True)
    r.notes.append(f"α {s3['readouts'].get('α')} → {s4['readouts'].get('α')} (End): divergence message "
                   f"and its picture [{r.browser_ms[-1] or float('nan'):.0f} ms to redraw]")

    r.type("α", "0.001")                                          # 5. α back to a working value
    s5 = r.settled(s4)
    _assert_readout(s5, "α", 0.001)
    r.note("α", "typed", s4, s5)

    target = _iterations_target(explorer.handle("iterations"))    # 6. iterations, readout
    r.type("iterations", _fmt(target, integer=True))
    s6 = r.settled(s5)
    _assert_readout(s6, "iterations", target)
    r.note("iterations", "typed", s5, s6)
    return r.notes, {"explorer: input to first redraw (browser)": r.first_ms,
                     "explorer: input to complete redraw (browser)": r.browser_ms,
                     "explorer: callback (kernel)": r.kernel_ms}


def _iterations_target(h) -> float:
    """A value for the iterations slider away from its current one, on its step."""
    lo, hi, now = (_aria(h, "aria-valuemin"), _aria(h, "aria-valuemax"),
                   _aria(h, "aria-valuenow"))
    target = now + (hi - now) / 2 if hi - now >= now - lo else lo + (now - lo) / 2
    step_guess = max(1.0, 10 ** int(max(0, len(str(int(hi))) - 2)))
    target = min(hi, max(lo, round(target / step_guess) * step_guess))
    if target == now:
        target = hi if now != hi else lo
    return target

# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


@pytest.fixture
def jupyterlab(workdir):
    base = workdir
    env = _jupyter_env(base, "lab", custom_css=True)
    token = secrets.token_hex(16)
    notebooks = base / "repo" / "notebooks"

    def argv(port):
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={notebooks}",
               f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
               "--LabApp.news_url=None", "--LabApp.custom_css=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    server = Server("JupyterLab", argv, env, notebooks, base / "jupyterlab.log",
                    f"/api/status?token={token}")
    try:
        yield server, token
    finally:
        server.stop()


@pytest.fixture
def voila(workdir):
    base = workdir
    env = _jupyter_env(base, "voila")
    token = secrets.token_hex(16)
    notebooks = base / "repo" / "notebooks"

    def argv(port):
        return [sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
                "--Voila.ip=127.0.0.1", f"--Voila.token={token}",
                "--VoilaConfiguration.show_tracebacks=True", NOTEBOOK.name]

    # Any answer means up; GET / would start a kernel.
    server = Server("Voilà", argv, env, notebooks, base / "voila.log",
                    "/voila/static/__ping__", ready_codes=range(100, 600))
    try:
        yield server, token
    finally:
        server.stop()


def open_notebook(page, server, token: str, name: str):
    """Open a notebook in JupyterLab and wait for its kernel; returns kernel_idle(timeout)."""
    from playwright.sync_api import expect

    page.goto(f"{server.base_url}/lab/tree/{name}?token={token}&reset", timeout=60_000)
    # The kernel item in the status bar, e.g. "Python 3 (ipykernel) | Idle". Not the
    # notebook's execution indicator: that reads idle before any kernel exists.
    kernel_status = page.locator("span.jp-StatusBar-TextItem[title^='Change kernel']").first

    def kernel_idle(timeout=KERNEL_IDLE_MS):
        expect(kernel_status).to_have_text(re.compile(r"\|\s*Idle\s*$"), timeout=timeout)

    kernel_idle()
    return kernel_idle


def open_and_run_all(page, server, token: str, name: str):
    """Open a notebook in JupyterLab, wait for its kernel, Run All from the menu; returns kernel_idle()."""
    kernel_idle = open_notebook(page, server, token, name)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    return kernel_idle


def wait_all_cells_done(page, kernel_idle) -> None:
    """The kernel status flickers to Idle between cells: also wait for the notebook's execution
    indicator (busy from Run All to the last cell) and for no "[*]:" prompt (textContent:
    off-screen cells are not rendered, so their innerText is empty)."""
    from playwright.sync_api import expect

    expect(page.locator(".jp-Notebook-ExecutionIndicator").first).to_have_attribute(
        "data-status", "idle", timeout=FIRST_RENDER_MS)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputPrompt')]"
        ".some(p => p.textContent.includes('*'))", timeout=FIRST_RENDER_MS)
    kernel_idle(FIRST_RENDER_MS)


def test_training_sliders_in_jupyterlab(jupyterlab, browser_page):
    server, token = jupyterlab
    page = browser_page
    t0 = time.monotonic()
    _clear_screenshots(f"{NOTEBOOK.stem}.png", f"{NOTEBOOK.stem}-failure.png")
    explorer = None
    try:
        kernel_idle = open_and_run_all(page, server, token, NOTEBOOK.name)

        explorer = Explorer(page, ".jp-OutputArea-output")
        explorer.wait_rendered(FIRST_RENDER_MS)
        # The explorer appears while the cells after it still run. Wait for all of them:
        # the kernel status flickers to Idle between cells, so also wait for the notebook's
        # execution indicator (busy from Run All to the last cell; it is only unreliable
        # before a kernel exists) and for no "[*]:" prompt (textContent: off-screen cells
        # are not rendered, so their innerText is empty).
        wait_all_cells_done(page, kernel_idle)
        explorer.root.scroll_into_view_if_needed()
        explorer.wait_complete(UPDATE_MS)
        assert_widgets_not_text(page, "JupyterLab")
        explorer.root.scroll_into_view_if_needed()

        notes, timings = exercise_sliders(explorer, kernel_idle)
        assert_explorer_named(explorer)
        explorer.root.scroll_into_view_if_needed()
        shot = _screenshot(page, f"{NOTEBOOK.stem}.png")
        print(f"\nJupyterLab, {time.monotonic() - t0:.1f} s in the browser; screenshot {shot}")
        print("\n".join(notes))
        record_timings(f"{NOTEBOOK.stem}, JupyterLab", timings)
        check_axe(page, NOTEBOOK.stem, "JupyterLab")
    except BaseException:
        with contextlib.suppress(Exception):
            _screenshot(page, f"{NOTEBOOK.stem}-failure.png")
        with contextlib.suppress(Exception):
            _save_images(explorer, NOTEBOOK.stem)
        print(server.log_tail())
        raise


def load_in_voila(page, server, token: str, what: str, wait_rendered) -> None:
    """Open the Voilà app; about 4-10 % of loads never finish executing here, so a load gets a
    bounded wait and the page is reloaded at most VOILA_ATTEMPTS times."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(1, VOILA_ATTEMPTS + 1):
        page.goto(f"{server.base_url}/?token={token}", wait_until="commit", timeout=60_000)
        try:
            wait_rendered()
            return
        except (AssertionError, PlaywrightError):
            if attempt == VOILA_ATTEMPTS:
                raise
            print(f"Voilà attempt {attempt}: {what} not rendered within {VOILA_ATTEMPT_MS / 1000:.0f} s, "
                  "reloading")


def test_training_sliders_in_voila(voila, browser_page):
    """The same explorer rendered as an app by Voilà: λ moved with the keyboard, then
    its minimum typed into the readout (cost, curve and top recommendation change).

    About 4–10% of Voilà page loads on these machines never finish executing (the page
    stays at "Executing n of m"), so each load gets a bounded wait and the page is
    reloaded at most VOILA_ATTEMPTS times before the test fails.
    """
    server, token = voila
    page = browser_page
    t0 = time.monotonic()
    _clear_screenshots(f"{NOTEBOOK.stem}-voila.png", f"{NOTEBOOK.stem}-voila-failure.png")
    try:
        explorer = Explorer(page, ".jp-OutputArea-output")
        load_in_voila(page, server, token, "explorer", lambda: explorer.wait_rendered(VOILA_ATTEMPT_MS))
        explorer.wait_complete(UPDATE_MS)
        assert_widgets_not_text(page, "Voilà")
        s0 = explorer.state()
        move_by_keyboard(explorer, "λ", "ArrowRight")
        s1 = explorer.wait_for_change(s0, UPDATE_MS)
        lam_min = _aria(explorer.handle("λ"), "aria-valuemin")
        type_into_readout(explorer, "λ", _fmt(lam_min, integer=False))
        s2 = explorer.wait_for_change(s1, UPDATE_MS, what=("cost", "images", "top"))
        _assert_readout(s2, "λ", lam_min)
        assert_explorer_named(explorer)
        explorer.root.scroll_into_view_if_needed()
        shot = _screenshot(page, f"{NOTEBOOK.stem}-voila.png")
        print(f"\nVoilà, {time.monotonic() - t0:.1f} s in the browser; screenshot {shot}")
        print(f"λ {s0['readouts'].get('λ')} → {s1['readouts'].get('λ')} (ArrowRight): "
              f"J {s0['cost']} → {s1['cost']}")
        print(f"λ {s1['readouts'].get('λ')} → {s2['readouts'].get('λ')} (typed): "
              f"J {s1['cost']} → {s2['cost']}, top recommendation {s1['top']!r} → {s2['top']!r}")
        check_axe(page, NOTEBOOK.stem, "Voilà")
    except BaseException:
        with contextlib.suppress(Exception):
            _screenshot(page, f"{NOTEBOOK.stem}-voila-failure.png")
        with contextlib.suppress(Exception):
            _save_images(explorer, f"{NOTEBOOK.stem}-voila")
        print(server.log_tail())
        raise


# --------------------------------------------------------------------------------------
# Screen readers: names, alt text, live regions; axe-core
# --------------------------------------------------------------------------------------


def assert_explorer_named(explorer: Explorer) -> None:
    """Each slider is named by its visible label (ipywidgets leaves the handle nameless: the Announcer ties
    them), the picture's alt text describes the setting the sliders show, and the live region says so."""
    page, root = explorer.page, explorer.root
    for label in ("λ", "α", "iterations"):
        assert root.get_by_role("slider", name=label, exact=True).count() == 1, \
            f"no slider named {label!r} for a screen reader: {root.locator('[role=slider]').evaluate_all(_NAMES_JS)}"
    for label in ("α", "steps"):                  # the descent explorer, higher up in 06
        assert page.get_by_role("slider", name=label, exact=True).count() >= 1, f"no slider named {label!r}"
    state = explorer.state()
    alt = root.locator("img").first.get_attribute("alt") or ""
    lam = state["readouts"]["λ"]
    assert alt.startswith(f"Two line charts of gradient descent at λ = {float(lam):g},"), (lam, alt)
    said = root.get_by_role("status").first.text_content()
    assert said.startswith("Redrawn for λ = ") or said.startswith("Redrawn: "), said


_NAMES_JS = "els => els.map(e => [e.getAttribute('aria-labelledby'), e.getAttribute('aria-label')])"


def check_axe(page, stem: str, where: str) -> dict:
    """axe-core on the notebook's content: no serious or critical violation (issue 23).

    JupyterLab: axe takes what lies outside the viewport as invisible and skips its contrast checks, and
    the page's body has no height; so the body gets the viewport's height and the viewport the whole
    notebook's (for the test only: nothing visible changes). The content is the output and markdown areas
    (what the tutorial controls); JupyterLab's own interface is counted apart, for the record only.
    Voilà: the whole page is the notebook's content. Counts per rule go to artifacts/browser/axe.json.
    """
    from axe_playwright_python.sync_playwright import Axe

    axe, lab = Axe(), where == "JupyterLab"
    options = {"resultTypes": ["violations"]}
    size = page.viewport_size
    content_only = {"include": [[".jp-OutputArea"], [".jp-MarkdownOutput"]]}
    try:
        if lab:
            page.add_style_tag(content="body { height: 100vh !important; }")
            tall = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                                 "'.jp-WindowedPanel-inner, .jp-Notebook')].map(e => e.scrollHeight))")
            page.set_viewport_size({"width": size["width"], "height": min(int(tall) + 300, 30000)})
            page.wait_for_timeout(500)       # the notebook lays its cells out in the taller window
        content = axe.run(page, context=content_only if lab else None, options=options).response["violations"]
        chrome = (axe.run(page, context={"exclude": content_only["include"]}, options=options).response["violations"]
                  if lab else [])
    finally:
        page.set_viewport_size(size)
    counts = {"content": {v["id"]: [v["impact"], len(v["nodes"])] for v in content},
              "JupyterLab's own interface (not asserted)": {v["id"]: [v["impact"], len(v["nodes"])] for v in chrome}}
    _merge_json(ARTIFACTS / "axe.json", f"{stem}, {where}", counts)
    print(f"axe, {stem}, {where}: {counts}")
    bad = [f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {v['help']}; e.g. {v['nodes'][0]['target']} "
           f"{v['nodes'][0].get('failureSummary', '')[:300]}" for v in content if v["impact"] in SERIOUS]
    assert not bad, f"axe in {where}, {stem}: serious or critical violations in the notebook's content:\n" + \
        "\n".join(bad)
    return counts


def _merge_json(path: Path, key: str, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {}
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        data = json.loads(path.read_text())
    data[key] = value
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------
# Notebook 07: the rating widget
# --------------------------------------------------------------------------------------

# (query typed, stars given): each changes the top 10; removing them in reverse order
# must give back each earlier list exactly.
RATINGS_TO_GIVE = [("star wars", 5), ("toy story", 5), ("godfather", 1), ("fargo", 1), ("aladdin", 5)]
#: A laptop's browser window (issue 21: the widget must fit it with JupyterLab's file browser open).
LAPTOP = {"width": 1280, "height": 900}


def _stars(title: str, k: int) -> str:
    return f"rate {title} {k} star{'s' if k > 1 else ''}"


class RatingWidget:
    """The output of the cell that displays interactive.RatingWidget(...)."""

    TOP = "table.my-top"

    def __init__(self, page):
        self.page = page
        self.root = page.locator(".jp-OutputArea-output").filter(
            has=page.locator(".recsys-widget table.my-top")).first

    def wait_rendered(self, timeout: float) -> None:
        from playwright.sync_api import expect

        expect(self.root.locator(self.TOP)).to_be_visible(timeout=timeout)
        self.root.evaluate("el => el.setAttribute('data-browser-test', 'ratings')")
        self.root = self.page.locator("[data-browser-test='ratings']")

    def state(self) -> dict:
        return self.root.evaluate(r"""el => {
          const rows = [...el.querySelectorAll('table.my-top tbody tr')]
                         .map(r => r.querySelectorAll('td')[1].textContent.trim());
          const mine = [...el.querySelectorAll('.widget-hbox')]
                         .filter(b => b.querySelector('button') &&
                                      (b.querySelector('button').title || '').startsWith('remove '))
                         .map(b => b.querySelector('.widget-html').textContent.replace(/^[★☆\s]+/, '').trim());
          const k = el.textContent.match(/list updated in\s*([0-9.]+)\s*ms, picture in\s*([0-9.]+)\s*ms/);
          const sel = el.querySelector('select');
          const live = el.querySelector('[role=status]');
          return {top: rows, mine: mine, kernel_list_ms: k ? parseFloat(k[1]) : null,
                  kernel_all_ms: k ? parseFloat(k[2]) : null, said: live ? live.textContent : null,
                  options: sel ? [...sel.options].map(o => o.textContent.replace(/\s+/g, ' ').trim()) : [],
                  selected: sel && sel.selectedIndex >= 0 ? sel.options[sel.selectedIndex].textContent : null};
        }""")

    def wait_matches(self, query: str) -> str:
        """Wait until the list of matches shows ``query``; the title of the first match."""
        words = query.lower().split()
        self.page.wait_for_function(
            "([el, words]) => { const s = el.querySelector('select'); return s && s.options.length > 0 &&"
            " words.every(w => s.options[0].textContent.toLowerCase().includes(w)); }",
            arg=[self.root.element_handle(), words], timeout=UPDATE_MS)
        return self.state()["options"][0].rsplit(" (", 1)[0]   # "Title (1977) (583 ratings, mean 4.34)"

    def find(self, query: str) -> str:
        """Type a query; wait until the list of matches shows it; pick the first match."""
        box = self.root.get_by_role("textbox", name="Search")
        box.fill("")
        box.type(query, delay=20)
        title = self.wait_matches(query)
        self.root.get_by_role("listbox", name="Matches").select_option(index=0)
        return title

    def star(self, title: str, k: int):
        return self.root.get_by_role("button", name=_stars(title, k), exact=True)

    def remove_button(self, title: str):
        return self.root.get_by_role("button", name=f"remove {title}", exact=True)

    def wait_for(self, before: dict, count: int) -> dict:
        """A new top 10, and the status line saying that ``count`` ratings are folded in (written last)."""
        try:
            self.page.wait_for_function(
                "([el, old]) => JSON.stringify([...el.querySelectorAll('table.my-top tbody tr')]"
                ".map(r => r.querySelectorAll('td')[1].textContent.trim())) !== JSON.stringify(old)",
                arg=[self.root.element_handle(), before["top"]], timeout=UPDATE_MS)
            self.page.wait_for_function(
                r"([el, n]) => { const m = el.textContent.match(/ratings folded in:\s*(\d+)/);"
                r" return m !== null && parseInt(m[1]) === n; }",
                arg=[self.root.element_handle(), count], timeout=UPDATE_MS)
        except Exception as exc:
            raise AssertionError(f"no new top 10 with {count} ratings: {self.state()}") from exc
        after = self.state()
        assert after["said"] and f"updated for {count} rating" in after["said"], \
            f"the live region did not say what changed: {after['said']!r}"
        return after

    def click_and_time(self, button, before: dict, count: int) -> tuple[dict, float | None]:
        arm_timer(self.page, self.root, self.TOP)
        button.click()
        return self.wait_for(before, count), read_timer(self.page)


def exercise_rating_widget(w: RatingWidget) -> tuple[list[str], dict]:
    """Rate RATINGS_TO_GIVE one by one with the star buttons named for the movie (the top 10 changes each
    time and the movie is listed under my ratings), then remove them in reverse order with the buttons
    named "remove <title>" (each removal gives back the earlier top 10 exactly)."""
    notes, browser_ms, kernel_ms = [], [], []
    states = [w.state()]
    assert len(states[0]["top"]) == 10 and not states[0]["mine"], f"unexpected start: {states[0]}"
    for query, stars in RATINGS_TO_GIVE:
        title = w.find(query)
        after, ms = w.click_and_time(w.star(title, stars), states[-1], len(states))
        assert title in after["mine"], f"{title!r} not listed under my ratings: {after['mine']}"
        browser_ms.append(ms)
        kernel_ms.append(after["kernel_list_ms"])
        notes.append(f"rated {title!r} {stars}: top 3 {states[-1]['top'][:3]} → {after['top'][:3]} "
                     f"[{ms or float('nan'):.0f} ms to redraw; kernel {after['kernel_list_ms']} ms list, "
                     f"{after['kernel_all_ms']} ms with the picture]")
        states.append(after)
    for k in range(len(RATINGS_TO_GIVE), 0, -1):
        title = states[k]["mine"][-1]
        after, ms = w.click_and_time(w.remove_button(title), states[k], k - 1)
        assert after["top"] == states[k - 1]["top"], (f"removing {title!r} did not give back the earlier "
                                                      f"top 10: {after['top']} != {states[k - 1]['top']}")
        assert after["mine"] == states[k - 1]["mine"], f"my ratings after removing {title!r}: {after['mine']}"
        browser_ms.append(ms)
        kernel_ms.append(after["kernel_list_ms"])
        notes.append(f"removed {title!r}: the earlier top 10 is back [{ms or float('nan'):.0f} ms to redraw]")
    return notes, {"rating widget: click to new top 10 (browser)": browser_ms,
                   "rating widget: fold-in and list (kernel)": kernel_ms}


_LAYOUT_JS = r"""el => {
  const box = r => { const b = r.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top,
                                                                  bottom: b.bottom, width: b.width}; };
  const lines = e => { const h = e.getBoundingClientRect().height, lh = parseFloat(getComputedStyle(e).lineHeight);
                       return Math.round(h / lh); };
  const titles = [...el.querySelectorAll('.recsys-title')].map(e => [e.textContent.trim(), lines(e)]);
  const lists = {'my top 10': el.querySelector('table.my-top'), 'with no ratings': el.querySelector('ol')};
  return {area: box(el), overflow: el.scrollWidth - el.clientWidth,
          lists: Object.fromEntries(Object.entries(lists).map(([k, e]) => [k, e ? box(e) : null])),
          titles: titles,
          images: [...el.querySelectorAll('img')].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0})),
          sidebar: (() => { const s = document.querySelector('#jp-left-stack');
                            return s ? box(s).width * (s.checkVisibility() ? 1 : 0) : null; })()};
}"""


def assert_fits_a_laptop(w: RatingWidget, where: str) -> dict:
    """Issue 21 at 1280 px with the file browser open: every title on at most two lines, both lists wholly
    inside the output area (nothing cut off, no sideways scrolling), every picture drawn (no broken image)."""
    layout = w.root.evaluate(_LAYOUT_JS)
    area = layout["area"]
    assert layout["overflow"] <= 1, f"{where}: the widget scrolls sideways by {layout['overflow']} px"
    for name, box in layout["lists"].items():
        assert box is not None, f"{where}: the list {name!r} is missing"
        assert area["left"] - 1 <= box["left"] and box["right"] <= area["right"] + 1, \
            f"{where}: the list {name!r} ({box}) is cut off by the output area ({area})"
    long = [(t, n) for t, n in layout["titles"] if n > 2]
    assert layout["titles"] and not long, f"{where}: titles on more than two lines: {long}"
    broken = [i for i in layout["images"] if not i["ok"] or not i["alt"].strip()]
    assert not broken, f"{where}: broken or unnamed pictures: {broken}"
    return layout


def open_file_browser(page) -> None:
    """JupyterLab's left side bar with the file browser, as a learner has it (open by default)."""
    from playwright.sync_api import expect

    stack = page.locator("#jp-left-stack")
    if not stack.is_visible():
        page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").click()
    expect(page.locator(".jp-DirListing-content")).to_be_visible(timeout=UPDATE_MS)


def test_rating_widget_in_jupyterlab(jupyterlab, browser_page):
    """Notebook 07's rating widget at 1280 × 900 with the file browser open: it fits (titles on at most two
    lines, both lists shown, no broken image), then titles typed, matches picked, stars pressed; the top 10
    and my list change; removing the ratings gives back each earlier list."""
    server, token = jupyterlab
    page = browser_page
    page.set_viewport_size(LAPTOP)
    stem = RATING_NOTEBOOK.stem
    t0 = time.monotonic()
    with failure_report(page, server, f"{stem}-1280"):
        kernel_idle = open_and_run_all(page, server, token, RATING_NOTEBOOK.name)
        wait_all_cells_done(page, kernel_idle)
        open_file_browser(page)
        w = RatingWidget(page)
        w.root.scroll_into_view_if_needed()
        w.wait_rendered(UPDATE_MS)
        w.root.scroll_into_view_if_needed()
        before = assert_fits_a_laptop(w, "JupyterLab, no ratings yet")
        assert not before["images"], "a picture (or an empty, broken one) before the first rating"
        rate_remove_and_report(w, "JupyterLab", f"{stem}-1280", t0)
        layout = assert_fits_a_laptop(w, "JupyterLab, three ratings")
        print(f"layout at 1280 px, file browser {layout['sidebar']:.0f} px wide: output area "
              f"{layout['area']['width']:.0f} px; lists {layout['lists']}")
        check_axe(page, stem, "JupyterLab")


@contextlib.contextmanager
def failure_report(page, server, stem: str):
    """Old screenshots removed first; on failure a screenshot and the server's log tail."""
    _clear_screenshots(f"{stem}.png", f"{stem}-failure.png")
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            _screenshot(page, f"{stem}-failure.png")
        print(server.log_tail())
        raise


def rate_remove_and_report(w: RatingWidget, where: str, stem: str, t0: float) -> None:
    """Exercise the widget, leave three ratings in for the screenshot, print and record."""
    assert_widgets_not_text(w.page, where)
    notes, timings = exercise_rating_widget(w)
    for k, (query, stars) in enumerate(RATINGS_TO_GIVE[:3], start=1):
        title = w.find(query)
        w.click_and_time(w.star(title, stars), w.state(), k)
    w.root.scroll_into_view_if_needed()
    shot = _screenshot(w.page, f"{stem}.png")
    print(f"\n{where}, {time.monotonic() - t0:.1f} s in the browser; screenshot {shot}")
    print("\n".join(notes))
    record_timings(f"{RATING_NOTEBOOK.stem}, {where}", timings)


# --------------------------------------------------------------------------------------
# The keyboard alone
# --------------------------------------------------------------------------------------

_FOCUSED_JS = r"""() => {
  const e = document.activeElement;
  const label = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
  const cs = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), name: (label ? label.textContent : (e.getAttribute('aria-label') ||
          e.title || e.textContent || '')).trim(), inWidget: !!e.closest('.recsys-widget'),
          outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`};
}"""


def tab_to(page, wanted, limit: int = 12) -> dict:
    """Press Tab until the focused element is ``wanted`` (a predicate on _FOCUSED_JS's dict)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(_FOCUSED_JS)
        seen.append(f"{now['tag']} {now['name'][:40]!r}")
        if wanted(now):
            return now
    raise AssertionError(f"Tab never reached it in {limit} presses; focus went: {seen}")


def run_all_by_keyboard(page, server, token: str, name: str):
    """Open a notebook; Run All through the command palette (Ctrl+Shift+C), without the mouse."""
    kernel_idle = open_notebook(page, server, token, name)
    page.keyboard.press("Control+Shift+c")
    page.keyboard.type("Run All Cells")
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text=re.compile(r"^Run All Cells")).wait_for()
    page.keyboard.press("Enter")
    return kernel_idle


def test_rating_widget_by_keyboard_alone(jupyterlab, browser_page):
    """Issue 23: notebook 07 with the keyboard only. From the notebook's command mode, the arrow keys reach
    the widget's cell and Tab goes into it; type a title, Tab to "rate … 4 stars", Enter; the list changes
    and the live region says so; Tab to "remove …", Enter; the earlier list is back and the focus waits in
    the search box. Every stop shows a 2-px focus ring."""
    server, token = jupyterlab
    page = browser_page
    page.set_viewport_size(LAPTOP)
    stem = f"{RATING_NOTEBOOK.stem}-keyboard"
    with failure_report(page, server, stem):
        kernel_idle = run_all_by_keyboard(page, server, token, RATING_NOTEBOOK.name)
        wait_all_cells_done(page, kernel_idle)
        w = RatingWidget(page)
        w.wait_rendered(UPDATE_MS)
        start = w.state()
        page.keyboard.press("Escape")                              # command mode; the last cell is active
        for _ in range(120):                                       # up, cell by cell, to the widget's cell
            if page.locator(".jp-Cell.jp-mod-active .recsys-widget").count():
                break
            page.keyboard.press("ArrowUp")
        else:
            raise AssertionError("the arrow keys never reached the widget's cell")
        ring = "solid 2px rgb(25, 118, 210)"
        box = tab_to(page, lambda f: f["tag"] == "input" and f["inWidget"])
        assert box["name"] == "Search" and box["outline"] == ring, box
        page.keyboard.type("star wars", delay=20)
        title = w.wait_matches("star wars")
        listbox = tab_to(page, lambda f: f["tag"] == "select")
        assert listbox["name"] == "Matches" and listbox["outline"] == ring, listbox
        button = tab_to(page, lambda f: f["name"] == _stars(title, 4))
        assert button["outline"] == ring, f"no visible focus ring on the star button: {button}"
        page.keyboard.press("Enter")
        rated = w.wait_for(start, 1)
        assert rated["mine"] == [title], rated
        remove = tab_to(page, lambda f: f["name"] == f"remove {title}")
        assert remove["outline"] == ring, remove
        page.keyboard.press("Enter")
        back = w.wait_for(rated, 0)
        assert back["top"] == start["top"] and not back["mine"], back
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('.recsys-widget')"
                               " && document.activeElement.tagName === 'INPUT'", timeout=UPDATE_MS)
        shot = _screenshot(page, f"{stem}.png")
        print(f"\nkeyboard alone: rated and removed {title!r}; the live region said {rated['said']!r}, then "
              f"{back['said']!r}; screenshot {shot}")


# --------------------------------------------------------------------------------------
# Voilà: notebook 07, and `make app`
# --------------------------------------------------------------------------------------


@pytest.fixture
def voila_ratings(workdir):
    """Voilà serving notebook 07 (the rating widget)."""
    env = _jupyter_env(workdir, "voila-ratings")
    token = secrets.token_hex(16)

    def argv(port):
        return [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                f"--Voila.token={token}", "--VoilaConfiguration.show_tracebacks=True", RATING_NOTEBOOK.name]

    server = Server("Voilà", argv, env, workdir / "repo" / "notebooks", workdir / "voila-ratings.log",
                    "/voila/static/__ping__", ready_codes=range(100, 600))
    try:
        yield server, token
    finally:
        server.stop()


def test_rating_widget_in_voila(voila_ratings, browser_page):
    """The rating widget as an app: the same ratings and removals as in JupyterLab.

    As for the explorer, a Voilà page load that never finishes executing is retried a
    bounded number of times (VOILA_ATTEMPTS)."""
    server, token = voila_ratings
    page = browser_page
    stem = f"{RATING_NOTEBOOK.stem}-voila"
    t0 = time.monotonic()
    with failure_report(page, server, stem):
        w = RatingWidget(page)
        load_in_voila(page, server, token, "rating widget", lambda: w.wait_rendered(VOILA_ATTEMPT_MS))
        rate_remove_and_report(w, "Voilà", stem, t0)
        check_axe(page, RATING_NOTEBOOK.stem, "Voilà")


@pytest.fixture
def made_app(tmp_path, prerequisites):
    """``make app`` itself, in the repository (Voilà runs the notebook, nothing is written into it)."""
    env = _jupyter_env(tmp_path, "app")
    token = secrets.token_hex(16)

    def argv(port):
        return ["make", "-s", "--no-print-directory", "app",
                f"APP_ARGS=--no-browser --port={port} --Voila.ip=127.0.0.1 --Voila.token={token}"]

    server = Server("make app", argv, env, REPO, tmp_path / "make-app.log", "/voila/static/__ping__",
                    ready_codes=range(100, 600), ready_within=300, group=True)
    try:
        yield server, token
    finally:
        server.stop()


def test_make_app(made_app, browser_page):
    """Issue 21: ``make app`` shows notebook 07's rating widget alone (a title, a paragraph, the widget;
    nothing of the exercises); it rates and removes; axe finds nothing serious. The seconds from opening
    the page to the widget are recorded (the issue's target: within 10 s on a warm machine)."""
    server, token = made_app
    page = browser_page
    page.set_viewport_size(LAPTOP)
    t0 = time.monotonic()
    with failure_report(page, server, "your-top-ten-app"):
        w = RatingWidget(page)
        load_in_voila(page, server, token, "your top ten", lambda: w.wait_rendered(VOILA_ATTEMPT_MS))
        shown = time.monotonic() - t0
        assert page.get_by_role("heading", name="Your own top ten", level=1).count() == 1
        text = page.locator("body").text_content()
        assert "my_top_n" not in text and "FAILED" not in text and "Exercise" not in text, \
            "the app shows more than its title, paragraph and widget"
        assert_fits_a_laptop(w, "make app")
        start = w.state()
        title = w.find("star wars")
        rated, ms = w.click_and_time(w.star(title, 5), start, 1)
        back, _ = w.click_and_time(w.remove_button(title), rated, 0)
        assert back["top"] == start["top"]
        shot = _screenshot(page, "your-top-ten-app.png")
        print(f"\nmake app: server answered {server.ready_after:.1f} s after `make app`; the widget showed "
              f"{shown:.1f} s after the page was opened; a rating redrew in {ms or float('nan'):.0f} ms; "
              f"screenshot {shot}")
        record_timings("make app", {"server answering, after `make app` (ms)": [1000 * server.ready_after],
                                    "widget shown, after opening the page (ms)": [1000 * shown],
                                    "rating to new top 10 (browser, ms)": [ms]})
        check_axe(page, "your-top-ten", "Voilà")


def test_make_lab(tmp_path, prerequisites, browser_page):
    """Issue 21: ``make lab`` reaches JupyterLab (as root too: CI runs as root), prints the address to open,
    opens the student folder, and serves the tutorial's accessible CSS (recsys_tutorial/static/accessible.css)."""
    env = _jupyter_env(tmp_path, "make-lab")
    token = secrets.token_hex(16)
    student = Path("artifacts") / f"make-lab-student-{secrets.token_hex(4)}"   # in the repository, git-ignored

    def argv(port):
        return ["make", "-s", "--no-print-directory", "lab", f"STUDENT_DIR={student}",
                f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={port} --port-retries=0 "
                f"--IdentityProvider.token={token} --LabApp.news_url=None "
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]

    server = Server("make lab", argv, env, REPO, tmp_path / "make-lab.log", f"/api/status?token={token}",
                    ready_within=300, group=True)
    page = browser_page
    try:
        with urllib.request.urlopen(f"{server.base_url}/custom/custom.css?token={token}", timeout=10) as r:
            assert r.read().decode() == ACCESSIBLE_CSS.read_text(encoding="utf-8")
        page.goto(f"{server.base_url}/?token={token}", timeout=60_000)
        page.wait_for_url(re.compile(rf"/lab/tree/{re.escape(student.as_posix())}"), timeout=60_000)
        page.get_by_text("01-overview-toy-example.ipynb").first.wait_for(timeout=60_000)
        opacity = page.evaluate("() => getComputedStyle(document.body)"
                                ".getPropertyValue('--jp-cell-prompt-not-active-opacity').trim()")
        assert opacity == "1", "JupyterLab did not load the tutorial's custom CSS"
        log = server.log_path.read_text(errors="replace")
        assert "Open the address it prints below" in log and f"http://127.0.0.1:{server.port}/lab" in log, log[-2000:]
        print(f"\nmake lab: JupyterLab answered {server.ready_after:.1f} s after `make lab`")
    except BaseException:
        with contextlib.suppress(Exception):
            _screenshot(page, "make-lab-failure.png")
        print(server.log_tail())
        raise
    finally:
        server.stop()
        shutil.rmtree(REPO / student, ignore_errors=True)
