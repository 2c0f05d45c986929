"""A class session as an instructor plays it, with `make present` itself: it leaves no trace in git.

`make present` is started for real (its Makefile recipe: the presenter settings, a fresh copy of the notebooks,
the reset workspace), with its state folder inside the repository's git-ignored build/ and the autosave interval
shortened to 3 s. In headless Chromium at 1280x720 the test checks, in order:

1. the first start opens on the first notebook alone (no file browser, the notebook as wide as the screen);
2. an edit to that notebook is autosaved within seconds, into the presenter copy, not into notebooks/;
3. a live run in a scratch notebook (placed in the presenter copy): the toggle reads "Committed results" on
   green, a click turns it to "Training live" on red, the training cell trains with the live plot, Ctrl+S;
4. File → Close Tab and reopen, the kernel still running: as the README says, the toggle still reads
   "Training live" on red and the cell still shows the live curves; a click back to "Committed results" and
   a re-run loads the stored run instead of training;
5. the ✓/✗ marks of the exercise checks render with the fonts this machine has (no emoji font);
6. at the end `git status --porcelain` and data/results/ are exactly as before, and no figure drawn (the live
   curves included, at presenter size) has a text outside its canvas or a legend over its data.

One scratch notebook trains a tiny model once (seconds); no course notebook is executed.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import scratch
from driver import ARTIFACTS, JS_KERNEL_IDLE, REPO, SCREEN, free_port, shutdown_kernel
from test_live_training import (JS_CELL_IMAGES, JS_CELL_TEXT, JS_RUN_CELL, JS_SAVED, cell_errors, folder_digest,
                                git_status, remove_run_files)

pytestmark = pytest.mark.browser

RUN_NAME = "browser_presenter_demo"
COMMITTED = REPO / "data" / "results"
LOCAL = REPO / "data" / "local-results"
AUTOSAVE_S = 3
SCRATCH = "scratch_instructor.ipynb"
TOGGLE = ".jp-OutputArea .course-retrain-switch"
TRAIN_CELL, MARKS_CELL = 3, 4  # indices among all cells: title, set-up, data, training, marks

SETUP_CELL = f"""\
import os
import sys
import time

os.environ["COURSE_RESULTS"] = "local"      # never write data/results/
sys.path.insert(0, {str(REPO)!r})  # the checkout under test

import torch

torch.set_num_threads(1)
from course_utils import TrainConfig, baseline_cnn, load_cifar10, retrain_switch, style, train

style.apply()
RETRAIN = retrain_switch("seconds")"""

DATA_CELL = "data = load_cifar10().subset(train=512, test=200)"

TRAINING_CELL = f"""\
model = baseline_cnn("standard", width=0.25)
result = train(model, data, TrainConfig(epochs=3), name={RUN_NAME!r}, retrain=RETRAIN.value,
               live_plot=True, title="your run: the tiny demo net, seed 0")
print(f"retrain={{RETRAIN.value}} cached={{result.cached}}")"""

MARKS = """\
from IPython.display import display
from course_utils.grading import Verdict

display(Verdict(True, "✅ Correct: a mark that needs no emoji font"),
        Verdict(False, "❌ Not yet: and its opposite"))"""

# The toggle's words and background colour, and the font size of its text.
JS_TOGGLE = """(sel) => { const b = document.querySelector(sel); if (!b) return null;
  const cs = getComputedStyle(b);
  return {text: b.textContent.trim(), active: b.classList.contains('mod-active'), background: cs.backgroundColor,
          cut: b.scrollWidth > b.clientWidth + 1,
          px: parseFloat(cs.fontSize), danger: b.classList.contains('mod-danger'),
          success: b.classList.contains('mod-success')}; }"""

# Each mark of the exercise checks: its text, and whether a font of this machine draws its glyph (a glyph no
# font has is drawn as the same empty box as a private-use code point that no font has).
JS_MARKS = """(index) => { const w = window.jupyterapp.shell.currentWidget;
  const area = w.content.widgets[index].outputArea.node;
  const ctx = document.createElement('canvas').getContext('2d');
  const drawn = (el, text) => { ctx.font = getComputedStyle(el).font;
    return ctx.measureText(text).width !== ctx.measureText('\\u{10FFFD}').width; };
  const marks = Array.from(area.querySelectorAll('.course-mark'));
  return {text: area.textContent, marks: marks.map(m => ({text: m.textContent, drawn: drawn(m, m.textContent),
                                                          width: m.getBoundingClientRect().width})),
          emoji_drawn: marks.length ? drawn(marks[0], '\\u2705') : null}; }"""

JS_SHELL = """() => { const app = window.jupyterapp; const w = app.shell.currentWidget;
  return {mode: app.shell.mode, left_collapsed: app.shell.leftCollapsed, path: w && w.context ? w.context.path : null,
          notebook_px: w ? w.node.getBoundingClientRect().width : 0}; }"""


def _make_present(state: Path, port: int, token: str) -> subprocess.Popen:
    """`make present` on ``port``, its state in ``state``, in its own process group."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = Path(sys.prefix)
    settings = state / "user-settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)  # the instructor's autosave, every AUTOSAVE_S seconds (JupyterLab: 120 s)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosaveInterval": AUTOSAVE_S}))
    home = state / "test-home"
    env = {**os.environ, "JUPYTER_DATA_DIR": str(home / "data"), "IPYTHONDIR": str(home / "ipython"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "COURSE_FIGURE_REPORT": str(state / "figures.jsonl")}
    env.pop("COURSE_RETRAIN", None)
    options = f"--no-browser --LabApp.expose_app_in_browser=True --IdentityProvider.token={token}"
    log = (state / "make-present.log").open("wb")
    return subprocess.Popen([make, "-o", f"{venv}/.installed", "present", f"VENV={venv}", f"PORT={port}",
                             f"PRESENTER_STATE={state}", f"PRESENT_OPTS={options}"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_server(process: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make present exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"make present did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop make and the server it started (their own process group) by the group's id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _open(page, path: str) -> None:
    """Open ``path`` (relative to the served copy) in the running JupyterLab; wait for its kernel."""
    page.evaluate("(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", path)
    page.wait_for_function("(path) => { const w = window.jupyterapp.shell.currentWidget;"
                           " return !!(w && w.context && w.context.isReady && w.context.path === path); }", arg=path)
    page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)


def _kernel_id(page) -> str:
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")


def _run_cell(page, index: int, timeout_s: float = 120) -> str:
    outcome = page.evaluate(JS_RUN_CELL, [index, int(timeout_s * 1000)])
    page.wait_for_function(JS_KERNEL_IDLE, timeout=30_000)
    return outcome


def _toggle(page) -> dict:
    page.wait_for_selector(TOGGLE, timeout=30_000)
    return page.evaluate(JS_TOGGLE, TOGGLE)


def test_a_class_session_leaves_no_trace_and_reads_from_the_back_row(chromium_path, browser):
    assert not (COMMITTED / f"{RUN_NAME}.json").exists(), f"{RUN_NAME} must not be a committed run"
    status_before, committed_before = git_status(), folder_digest(COMMITTED)
    local_existed = LOCAL.exists()
    remove_run_files(LOCAL, RUN_NAME)
    state = REPO / "build" / f"presenter-test-{secrets.token_hex(4)}"  # inside the repository, git-ignored
    state.mkdir(parents=True)
    port, token = free_port(), secrets.token_hex(24)
    process = _make_present(state, port, token)
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        _wait_for_server(process, f"http://127.0.0.1:{port}/api/status?token={token}", state / "make-present.log")
        copy = state / "notebooks"
        assert sorted(p.name for p in copy.glob("*.ipynb")) == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))

        # 1. The first start: the first notebook alone, as wide as the screen.
        page.goto(f"http://127.0.0.1:{port}/lab?token={token}", wait_until="domcontentloaded")
        page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                               " return !!(w && w.context && w.context.isReady); }")
        page.wait_for_timeout(1000)
        shell = page.evaluate(JS_SHELL)
        page.screenshot(path=str(ARTIFACTS / "present_first_start.png"))
        first = min(p.name for p in copy.glob("*.ipynb"))
        assert shell["path"] == first and shell["mode"] == "single-document" and shell["left_collapsed"], shell
        assert shell["notebook_px"] >= SCREEN["width"] - 80, f"the notebook is not as wide as the screen: {shell}"

        # 2. An edit is autosaved within seconds, into the copy.
        before = (copy / first).read_text(encoding="utf-8")
        page.evaluate("() => { const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(0);"
                      " cell.sharedModel.setSource(cell.sharedModel.getSource() + '\\n\\nAn instructor\\'s note.'); }")
        deadline = time.monotonic() + AUTOSAVE_S + 20
        while "An instructor's note." not in (copy / first).read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, f"the edit was not autosaved within {AUTOSAVE_S + 20} s"
            page.wait_for_timeout(500)
        assert (copy / first).read_text(encoding="utf-8") != before
        assert git_status() == status_before, "autosave changed `git status`"
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")

        # 3. A live run in a scratch notebook of the presenter copy.
        scratch.write_cells("instructor", [SETUP_CELL, DATA_CELL, TRAINING_CELL, MARKS], copy)
        _open(page, SCRATCH)
        kernel = _kernel_id(page)
        assert _run_cell(page, 1) == "done" and cell_errors(page) == []
        off = _toggle(page)
        assert off["text"] == "Committed results" and off["success"] and not off["active"], off
        page.locator(TOGGLE).first.click()
        page.wait_for_function("(sel) => document.querySelector(sel).textContent.trim() === 'Training live'",
                               arg=TOGGLE, timeout=10_000)
        on = _toggle(page)
        assert on["danger"] and on["active"] and on["background"] != off["background"], (off, on)
        assert on["px"] >= 20 and not on["cut"] and not off["cut"], f"the toggle's text is small or cut: {off} {on}"
        page.screenshot(path=str(ARTIFACTS / "present_toggle_on.png"))
        assert _run_cell(page, 2) == "done" and _run_cell(page, TRAIN_CELL, timeout_s=180) == "done"
        assert cell_errors(page) == []
        live = page.evaluate(JS_CELL_TEXT, TRAIN_CELL)
        assert "retrain=True cached=False" in live and f"Stored {RUN_NAME} in data/local-results/" in live, live
        assert page.evaluate(JS_CELL_IMAGES, TRAIN_CELL) == 1, "the live plot is not one figure"
        page.keyboard.press("Control+s")
        page.wait_for_function(JS_SAVED, timeout=10_000)
        assert f"Stored {RUN_NAME}" in (copy / SCRATCH).read_text(encoding="utf-8"), "Ctrl+S did not save the copy"

        # 4. Close the tab and reopen: the kernel still runs, and the notebook says live mode is on.
        page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")
        page.wait_for_timeout(500)
        _open(page, SCRATCH)
        assert _kernel_id(page) == kernel, "closing the tab stopped the kernel"
        reopened = _toggle(page)
        page.screenshot(path=str(ARTIFACTS / "present_reopened.png"))
        assert reopened["text"] == "Training live" and reopened["danger"], reopened
        assert "Stored" in page.evaluate(JS_CELL_TEXT, TRAIN_CELL), "the reopened notebook lost the live run"
        page.locator(TOGGLE).first.click()
        page.wait_for_function("(sel) => document.querySelector(sel).textContent.trim() === 'Committed results'",
                               arg=TOGGLE, timeout=10_000)
        assert _run_cell(page, TRAIN_CELL) == "done"
        again = page.evaluate(JS_CELL_TEXT, TRAIN_CELL)
        assert "retrain=False cached=True" in again and "Cached result from data/local-results/" in again, again

        # 5. The exercise marks, with this machine's fonts.
        assert _run_cell(page, MARKS_CELL) == "done"
        marks = page.evaluate(JS_MARKS, MARKS_CELL)
        page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].outputArea.node"
                      ".scrollIntoView()", MARKS_CELL)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "present_marks.png"))
        assert "✅" not in marks["text"] and "❌" not in marks["text"], marks
        assert [m["text"] for m in marks["marks"]] == ["✓", "✗"], marks
        assert all(m["drawn"] and m["width"] > 10 for m in marks["marks"]), f"a mark is an empty box: {marks}"
        print(f"marks: {marks['marks']}; an emoji ✅ would be drawn by a font here: {marks['emoji_drawn']}")
        # what the screenshots show, measured (pytest -s): the shell, the toggle off/on/after reopening
        print(json.dumps({"shell": shell, "toggle_off": off, "toggle_on": on, "reopened": reopened},
                         ensure_ascii=False))
        shutdown_kernel(page)
    finally:
        context.close()
        _stop(process)
        remove_run_files(LOCAL, RUN_NAME)
        if not local_existed and LOCAL.is_dir() and not any(LOCAL.iterdir()):
            LOCAL.rmdir()
    report = state / "figures.jsonl"
    figures = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    shutil.rmtree(state, ignore_errors=True)
    status_after = git_status()
    assert status_after == status_before, (
        "the class session changed `git status`: "
        f"{sorted(set(status_after.splitlines()) ^ set(status_before.splitlines()))}")
    assert folder_digest(COMMITTED) == committed_before, "the class session changed data/results/"
    assert figures == [], "figures that do not fit:\n" + "\n".join(figures)
