"""Drive JupyterLab in headless Chromium: start a private server, run a notebook, check what it shows.

Plumbing for tests/browser/; the checks themselves are in ``check_notebook`` and return a list of
problems (empty = fine), so a test can assert that a broken notebook *is* reported.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
                 "--disable-dev-shm-usage"]
# Settings for the test server only: no autosave (the copies are never written back anyway),
# every cell attached to the page (so every slider can be found), no news pop-ups.
TEST_OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def find_chromium() -> str | None:
    """Debian's Chromium (never Playwright's own download), or None."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_root(tmp: Path) -> Path:
    """A server root that looks like the repository: notebooks/ is a *copy* (so running cells
    can never rewrite the committed notebooks), everything else is a symlink to the repository
    (so notebooks find pyproject.toml, data/results and course_utils exactly as in a checkout)."""
    root = tmp / "repo"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name in {"notebooks", ".git", "test-artifacts"}:
            continue
        (root / entry.name).symlink_to(entry)
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".*"))
    (root / "scratch").mkdir()
    return root


@dataclass
class LabServer:
    """A JupyterLab server of our own: random token, free localhost port, isolated config dirs."""

    root: Path
    home: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    overrides: dict = field(default_factory=lambda: dict(TEST_OVERRIDES))  # JupyterLab settings overrides
    env: dict = field(default_factory=dict)  # extra environment for the server and its kernels
    user_settings: Path | None = None  # a folder of *.jupyterlab-settings to start from
    custom_css: Path | None = None  # a custom.css to load (as `make present` does with --LabApp.custom_css)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def start(self, timeout: float = 90.0) -> None:
        settings = self.home / "app-settings"
        settings.mkdir(parents=True)
        (settings / "overrides.json").write_text(json.dumps(self.overrides), encoding="utf-8")
        if self.user_settings is not None:
            shutil.copytree(self.user_settings, self.home / "user-settings")
        if self.custom_css is not None:  # served from <JUPYTER_CONFIG_DIR>/custom/, as in `make present`
            (self.home / "config" / "custom").mkdir(parents=True)
            shutil.copyfile(self.custom_css, self.home / "config" / "custom" / "custom.css")
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(self.home / "config"),
               "JUPYTER_DATA_DIR": str(self.home / "data"),
               "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(self.home / "user-settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),
               "IPYTHONDIR": str(self.home / "ipython"),
               "MPLBACKEND": "module://matplotlib_inline.backend_inline",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        env.pop("COURSE_PRESENTER", None)
        env.update(self.env)
        self.log_path = self.home / "jupyter-lab.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", f"--LabApp.app_settings_dir={settings}",
             "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
             "--ServerApp.open_browser=False", "--LanguageServerManager.autodetect=False"]
            + (["--LabApp.custom_css=True"] if self.custom_css is not None else [])
            + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop our server (and its kernels, same process group) by its own process id."""
        if self.process is None or self.process.poll() is not None:
            return
        pid = self.process.pid
        try:
            os.killpg(pid, signal.SIGTERM)  # the group is ours: start_new_session=True
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)


# ---------------------------------------------------------------------------------------------
# In-page helpers (JupyterLab is exposed as window.jupyterapp by --LabApp.expose_app_in_browser)
# ---------------------------------------------------------------------------------------------
JS_PANEL = """(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!(w && w.content && w.sessionContext && w.context && w.context.isReady && w.context.path === path)
      ? w.id : null; }"""

JS_KERNEL_IDLE = """() => { const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected'; }"""

JS_RUN_ALL = """async (timeoutMs) => { const app = window.jupyterapp;
  const done = app.commands.execute('notebook:run-all-cells');
  const timer = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  return await Promise.race([done.then(() => 'done'), timer]); }"""

# Per code cell: execution count and problems found in its output *models*.
JS_CELLS = """() => { const w = window.jupyterapp.shell.currentWidget; const out = [];
  const cells = w.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const outputs = c.toJSON().outputs || [];
    const errors = [];
    for (const o of outputs) {
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
      if (o.output_type === 'stream' && o.name === 'stderr') {
        const text = Array.isArray(o.text) ? o.text.join('') : o.text;
        if (/Traceback|\\b\\w*Error\\b/.test(text)) errors.push('stderr: ' + text.slice(0, 300));
      }
    }
    out.push({index: i, count: c.executionCount, errors: errors}); }
  return out; }"""

# Every widget view (found through the Lumino widgets, whose renderers carry their mime type):
# rendered = it holds the widget's DOM; otherwise the placeholder or error text it shows instead.
JS_WIDGETS = """(mime) => { const w = window.jupyterapp.shell.currentWidget; const views = [];
  for (const cell of w.content.widgets) {
    if (cell.model.type !== 'code' || !cell.outputArea) continue;
    const expected = (cell.model.toJSON().outputs || []).filter(o => o.data && o.data[mime]).length;
    let found = 0;
    for (const child of cell.outputArea.widgets) {
      for (const r of (child.widgets ? Array.from(child.widgets) : [child])) {
        if (r.mimeType !== mime) continue;
        found += 1;
        const text = r.node.childElementCount === 0 ? r.node.textContent.trim() : '';
        const hidden = r.isHidden || r.node.classList.contains('lm-mod-hidden');
        const failed = r.node.querySelector('.jupyter-widgets-error-widget');  // ipywidgets' error view
        const rendered = hidden || (r.node.querySelector('.jupyter-widgets') !== null && !failed
                                    && !/Error displaying widget|Loading widget/.test(text));
        views.push({broken: !rendered, text: failed ? 'error view: ' + failed.textContent.trim().slice(0, 200)
                                              : text || (rendered ? '' : '(empty widget view)')});
      }
    }
    for (let i = found; i < expected; i++) views.push({broken: true, text: '(widget output has no view)'});
  }
  return views; }"""

# A fingerprint of everything the notebook shows except slider read-outs: images, canvases, text.
JS_FINGERPRINT = """(panel) => { const h = s => { let x = 2166136261;
    for (let i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 16777619); }
    return (x >>> 0).toString(16) + ':' + s.length; };
  const parts = [];
  for (const area of document.querySelectorAll(panel + ' .jp-Notebook .jp-OutputArea')) {
    for (const img of area.querySelectorAll('img')) parts.push('img ' + h(img.src));
    for (const cv of area.querySelectorAll('canvas')) {
      try { parts.push('canvas ' + h(cv.toDataURL())); } catch (e) { parts.push('canvas ?'); } }
    const clone = area.cloneNode(true);
    for (const r of clone.querySelectorAll('.widget-readout, .widget-slider, img, canvas')) r.remove();
    parts.push('text ' + h(clone.textContent));
  }
  return parts.join('|'); }"""

SLIDER = ".jp-Notebook .jp-OutputArea .widget-slider"  # inside the panel's selector


@dataclass
class Report:
    notebook: str
    problems: list[str]
    seconds: float
    sliders: int = 0
    widgets: int = 0
    screenshot: Path | None = None
    projected: tuple[dict, dict] | None = None      # measure() before and after F8 (with projector=True)


def open_notebook(page, lab: LabServer, relpath: str, timeout_ms: int = 60_000) -> str:
    """Open ``relpath`` alone in a new workspace; wait for its kernel; return the panel's CSS selector."""
    workspace = "t" + secrets.token_hex(6)
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{relpath}"), wait_until="domcontentloaded",
              timeout=timeout_ms)
    panel_id = page.wait_for_function(JS_PANEL, arg=relpath, timeout=timeout_ms).json_value()
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }")
    page.wait_for_function(JS_KERNEL_IDLE, timeout=timeout_ms)
    return f'[id="{panel_id}"]'


def shutdown_kernel(page) -> None:
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }")


# Seconds a notebook may take to run all its cells in the browser. On committed results a notebook
# takes well under a minute; far more means a training cell missed its cached result and trains live.
RUN_ALL_TIMEOUT_S = float(os.environ.get("BROWSER_RUN_ALL_TIMEOUT", "120"))

JS_RUNNING_CELL = """() => { const w = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(w.content.widgets);
  const i = cells.findIndex(c => c.model.type === 'code' && c.promptNode && c.promptNode.textContent.includes('*'));
  if (i < 0) return null;
  const lines = cells[i].model.sharedModel.getSource().split('\\n').filter(l => l.trim() && !l.startsWith('# NBVAL'));
  return [i, (lines[0] || '').slice(0, 80)]; }"""


def run_all(page, timeout_s: float = RUN_ALL_TIMEOUT_S) -> str:
    """Run every cell and wait until the run finished and the kernel is idle: returns 'done'.
    Past ``timeout_s``: interrupts the kernel and returns what was still running."""
    if page.evaluate(JS_RUN_ALL, int(timeout_s * 1000)) == "done":
        page.wait_for_function(JS_KERNEL_IDLE, timeout=30_000)
        return "done"
    running = page.evaluate(JS_RUNNING_CELL)
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.interrupt(); }")
    where = f"cell {running[0]} ({running[1]!r})" if running else "an unknown cell"
    return (f"run-all did not finish within {timeout_s:.0f} s; still running {where}. "
            "Is it a training cell whose result is not committed in data/results/ (so it trains live)?")


def wait_widgets(page, timeout_s: float = 15.0) -> list[dict]:
    """Give widget views time to leave 'Loading widget...'; return their final state."""
    deadline = time.monotonic() + timeout_s
    while True:
        views = page.evaluate(JS_WIDGETS, WIDGET_MIME)
        loading = [v for v in views if v["broken"] and v["text"].startswith(("Loading", "(empty"))]
        if not loading or time.monotonic() > deadline:
            return views
        page.wait_for_timeout(250)


def _readout(handle) -> str:
    return handle.evaluate("h => h.getAttribute('aria-valuenow') || h.getAttribute('aria-valuetext') || ''")


def drive_sliders(page, panel: str, timeout_s: float = 10.0) -> tuple[int, list[str]]:
    """Move each slider one step with the keyboard; each must change an image or text it drives."""
    problems = []
    sliders = page.locator(f"{panel} {SLIDER}")
    count = sliders.count()
    for i in range(count):
        slider = sliders.nth(i)
        name = slider.locator(".widget-label").first.inner_text().strip() or f"#{i + 1}"
        handle = slider.locator(".noUi-handle").first
        if slider.locator(".noUi-target[disabled], .noUi-handle[disabled]").count() or not handle.is_visible():
            continue  # a disabled slider, or one in a closed tab or accordion, is not meant to be moved now
        handle.scroll_into_view_if_needed()
        before = page.evaluate(JS_FINGERPRINT, panel)
        value = _readout(handle)
        handle.focus()
        handle.press("ArrowRight")
        if _readout(handle) == value:  # already at its maximum
            handle.press("ArrowLeft")
        if _readout(handle) == value:
            problems.append(f"slider {name!r} (#{i + 1}) does not move with the keyboard")
            continue
        deadline = time.monotonic() + timeout_s
        while page.evaluate(JS_FINGERPRINT, panel) == before:
            if time.monotonic() > deadline:
                problems.append(f"slider {name!r} (#{i + 1}) moved ({value} -> {_readout(handle)}) "
                                f"but no figure or text changed within {timeout_s:.0f} s")
                break
            page.wait_for_timeout(200)
        page.wait_for_function(JS_KERNEL_IDLE, timeout=30_000)
    return count, problems


def full_screenshot(page, panel: str, path: Path) -> Path:
    """The whole notebook in one image: grow the viewport to the notebook's height, then shoot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    extra = page.evaluate("(panel) => { const s = document.querySelector(panel + ' .jp-WindowedPanel-outer');"
                          " return s ? s.scrollHeight - s.clientHeight : 0; }", panel)
    page.set_viewport_size({"width": size["width"], "height": int(min(size["height"] + extra + 40, 16000))})
    page.evaluate("(panel) => { const s = document.querySelector(panel + ' .jp-WindowedPanel-outer');"
                  " if (s) s.scrollTop = 0; }", panel)
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


# ---------------------------------------------------------------------------------------------
# The projector: `make present`'s settings on a 1280x720 screen
# ---------------------------------------------------------------------------------------------
PRESENTER = REPO / "presenter"
SCREEN = {"width": 1280, "height": 720}  # a common projector resolution, and the smallest we support
LINE_CHARACTERS = 80  # the longest code line the notebooks use


def presenter_overrides() -> dict:
    """`make present`'s settings overrides, plus the test server's: no autosave (the notebooks are
    copies anyway) and every cell attached to the page, so that every figure can be measured."""
    overrides = json.loads((PRESENTER / "overrides.json").read_text(encoding="utf-8"))
    for plugin, settings in TEST_OVERRIDES.items():
        if plugin != "@jupyterlab/apputils-extension:notification":  # make present's own settings win
            overrides[plugin] = {**overrides.get(plugin, {}), **settings}
    return overrides


# Everything the checks need, measured in the page: font sizes, prompts whose text is cut off, how many
# characters a code line can show, the notebook's visible height, and per output area the height of its
# figures (img, canvas) and of the block from its first slider to its last figure.
WIDGET_TEXT = ", ".join(f".jp-OutputArea {css}" for css in (
    ".widget-label", ".widget-readout", ".jupyter-button", ".widget-toggle-button", ".widget-dropdown select"))
JS_MEASURE = """(panel) => { const WIDGET_TEXT = '""" + WIDGET_TEXT + """';
  const root = document.querySelector(panel);
  const px = (el) => el ? parseFloat(getComputedStyle(el).fontSize) : null;
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const out = {markdown_px: px(root.querySelector('.jp-RenderedMarkdown p')),
               code_px: px(root.querySelector('.jp-CodeCell .cm-content')),
               cut_prompts: [], line_characters: null, figures: []};
  for (const prompt of root.querySelectorAll('.jp-InputPrompt, .jp-OutputPrompt')) {
    const text = prompt.textContent.trim();
    if (text && prompt.scrollWidth > prompt.clientWidth + 1) out.cut_prompts.push(text);
  }
  const line = root.querySelector('.jp-CodeCell .cm-line');
  const scroller = line && line.closest('.cm-scroller');
  if (line) {
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = getComputedStyle(line).font;
    const charWidth = ctx.measureText('x'.repeat(100)).width / 100;
    const content = scroller.querySelector('.cm-content'), gutters = scroller.querySelector('.cm-gutters');
    const cs = getComputedStyle(content), ls = getComputedStyle(line);
    const room = scroller.clientWidth - (gutters ? gutters.offsetWidth : 0)
      - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - parseFloat(ls.paddingLeft) - parseFloat(ls.paddingRight);
    out.line_characters = Math.floor(room / charWidth);
  }
  // Widget text: its size (a slider's label, else any widget text), and every label, read-out, button or
  // dropdown whose text is cut (wider than its box: ipywidgets then shows "depth mult.…").
  const widgetText = Array.from(root.querySelectorAll(WIDGET_TEXT)).filter(visible);
  const label = widgetText.find(el => el.matches('.widget-label'));
  out.widget_px = px(label || widgetText[0]);
  out.table_px = px(Array.from(root.querySelectorAll('.jp-OutputArea table')).find(visible));
  out.cut_widget_text = [];
  const ctx2 = document.createElement('canvas').getContext('2d');
  for (const el of widgetText) {
    if (el.tagName === 'SELECT') {  // a closed dropdown shows its selected option: measure that text
      ctx2.font = getComputedStyle(el).font;
      const text = el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : '';
      if (ctx2.measureText(text).width + 24 > el.clientWidth) out.cut_widget_text.push(text);
    } else if (el.scrollWidth > el.clientWidth + 1) {
      out.cut_widget_text.push(el.textContent.trim());
    }
  }
  const outer = root.querySelector('.jp-WindowedPanel-outer');
  out.visible_px = outer ? outer.clientHeight : window.innerHeight;
  const cells = Array.from(root.querySelectorAll('.jp-Notebook .jp-Cell'));
  cells.forEach((cell, index) => {
    const area = cell.querySelector('.jp-OutputArea');
    if (!area) return;
    const figures = Array.from(area.querySelectorAll('img, canvas')).filter(visible);
    if (!figures.length) return;
    const sliders = Array.from(area.querySelectorAll('.widget-slider')).filter(visible);
    const boxes = [...figures, ...sliders].map(el => el.getBoundingClientRect());
    const block = Math.max(...boxes.map(b => b.bottom)) - Math.min(...boxes.map(b => b.top));
    out.figures.push({cell: index, sliders: sliders.length,
                      heights: figures.map(el => Math.round(el.getBoundingClientRect().height)),
                      block: Math.round(sliders.length ? block : 0)});
  });
  return out; }"""


def measure(page, panel: str) -> dict:
    page.wait_for_function("(panel) => Array.from(document.querySelectorAll(panel + ' .jp-OutputArea img'))"
                           ".every(img => img.complete)", arg=panel, timeout=15_000)
    return page.evaluate(JS_MEASURE, panel)


def fit_problems(shown: dict, where: str) -> list[str]:
    """What a 1280x720 screen cannot show: cut execution counts, short code lines, tall figures."""
    problems = [f"{where}: execution count cut off: {text!r}" for text in shown["cut_prompts"]]
    problems += [f"{where}: widget text cut off: {text!r}" for text in shown.get("cut_widget_text", [])]
    if shown["line_characters"] is not None and shown["line_characters"] < LINE_CHARACTERS:
        problems.append(f"{where}: a code cell shows {shown['line_characters']} characters a line, "
                        f"fewer than {LINE_CHARACTERS}")
    visible = shown["visible_px"]
    for figure in shown["figures"]:
        tallest = max(figure["heights"])
        if tallest > visible:
            problems.append(f"{where}: cell {figure['cell']}: a figure {tallest} px tall does not fit the "
                            f"{visible} px the notebook shows")
        elif figure["block"] > visible:
            problems.append(f"{where}: cell {figure['cell']}: figure and its {figure['sliders']} slider(s) "
                            f"span {figure['block']} px, more than the {visible} px the notebook shows")
    return problems


INTERFACE_PX = 16      # make present's interface text (presenter/user-settings), ipywidgets' size by default
WIDGET_F8_MIN_PX = 20  # widget text under F8: at least this (about 15 pt on a 1280x720 slide)


def widget_growth_problems(before: dict, after: dict) -> list[str]:
    """Widget text (slider labels and read-outs, buttons, toggles) and output tables must be larger than the
    interface text with the presenter fonts, larger again with F8, and at least 20 px under F8."""
    problems = []
    for what, name in (("widget_px", "widget"), ("table_px", "table")):
        if before.get(what) is None:
            continue  # this notebook shows no such text
        if not before[what] > INTERFACE_PX:
            problems.append(f"{name} text is {before[what]} px with the presenter fonts: not larger than the "
                            f"interface's {INTERFACE_PX} px")
        if not (after.get(what) or 0) > before[what]:
            problems.append(f"F8 does not enlarge the {name} text: {before[what]} px -> {after.get(what)} px")
        elif after[what] < WIDGET_F8_MIN_PX:
            problems.append(f"{name} text under F8 is {after[what]} px, below {WIDGET_F8_MIN_PX} px")
    return problems


def press_f8(page, panel: str) -> None:
    page.locator(f"{panel} .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("F8")
    page.wait_for_function("() => window.jupyterapp.shell.presentationMode", timeout=10_000)
    page.wait_for_timeout(800)  # let the larger fonts re-lay out the notebook




def check_notebook(page, lab: LabServer, relpath: str, screenshot: Path | None = None,
                   move_sliders: bool = True, projector: bool = False) -> Report:
    """Open, run all, and check one notebook; return every problem found (empty list = fine). With
    ``projector`` (a presenter server, a 1280x720 page), also what the screen shows before and after F8:
    whole execution counts, 80-character code lines, every figure with its sliders on screen, and text
    that F8 makes larger; sliders are then moved in presentation mode."""
    start = time.monotonic()
    problems: list[str] = []
    figures_from = figure_report_offset(lab)
    panel = open_notebook(page, lab, relpath)
    projected = None
    try:
        problems += _run_and_check(page, panel)
        shot = full_screenshot(page, panel, screenshot) if screenshot else None
        n_views = len(wait_widgets(page, timeout_s=0))
        n_sliders = 0
        finished = not (problems and problems[0].startswith("run-all did not finish"))
        if projector and finished:
            before = measure(page, panel)
            press_f8(page, panel)
            after = measure(page, panel)
            projected = (before, after)
            problems += fit_problems(before, "presenter fonts") + fit_problems(after, "after F8")
            problems += [f"F8 does not enlarge the {what[:-3]} text: {before[what]} px -> {after[what]} px"
                         for what in ("markdown_px", "code_px")
                         if before[what] is not None and not (after[what] or 0) > before[what]]
            problems += widget_growth_problems(before, after)
        if move_sliders and finished:
            n_sliders, slider_problems = drive_sliders(page, panel)
            problems += slider_problems
    finally:
        shutdown_kernel(page)
    problems += figure_report_problems(lab, figures_from)
    return Report(relpath, problems, time.monotonic() - start, n_sliders, n_views, shot, projected)


# ---------------------------------------------------------------------------------------------
# Figures that do not fit their canvas, as the kernel saw them (course_utils.figure_fit)
# ---------------------------------------------------------------------------------------------
FIGURE_REPORT = "COURSE_FIGURE_REPORT"  # set on a server: its kernels check every figure they draw


def figure_report_offset(lab: LabServer) -> int:
    """Where the server's figure report ends now (0 without one): what a notebook adds comes after."""
    path = lab.env.get(FIGURE_REPORT)
    return Path(path).stat().st_size if path and Path(path).exists() else 0


def figure_report_problems(lab: LabServer, offset: int) -> list[str]:
    """The figures reported since ``offset``: each with a text outside its canvas, titles or labels that run
    together, or a legend over data or text (course_utils.figure_fit, at the size the server draws them)."""
    path = lab.env.get(FIGURE_REPORT)
    if not path or not Path(path).exists():
        return []
    with open(path, encoding="utf-8") as report:
        report.seek(offset)
        lines = [json.loads(line) for line in report.read().splitlines() if line.strip()]
    return [f"figure {line['figure']!r} ({'x'.join(map(str, line.get('size_px', [])))} px, cell [{line.get('execution_count')}]):"
            f" {problem}" for line in lines for problem in line["problems"]]


def _run_and_check(page, panel: str) -> list[str]:
    problems = []
    outcome = run_all(page)
    if outcome != "done":
        return [outcome]  # the per-cell checks below would only repeat it
    for cell in page.evaluate(JS_CELLS):
        for error in cell["errors"]:
            problems.append(f"cell {cell['index']}: error output: {error}")
        if cell["count"] is None:
            problems.append(f"cell {cell['index']}: not executed")
    stderr_dom = page.locator(f"{panel} .jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                              ":has-text('Traceback')").count()
    if stderr_dom:
        problems.append(f"{stderr_dom} traceback(s) shown in the page")
    views = wait_widgets(page)
    for view in views:
        if view["broken"]:
            problems.append(f"widget not rendered: {view['text']}")
    return problems
