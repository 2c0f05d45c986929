"""A live retrain as an instructor does it: click the "Train live" toggle, re-run a training cell, watch.

One scratch notebook trains a tiny model on a small slice of the data (seconds). The test checks, in
headless Chromium, that the live view is ONE figure redrawn in place after every epoch (never a pile of
copies), that the progress line counts epochs and that the closing "Note:" line appears; that the live
run leaves ``git status`` and ``data/results/`` untouched; and that after saving and reopening the
notebook in a fresh kernel the toggle is off again and the run is loaded, not retrained.
The second test proves the one-figure check can fail: a plot that calls ``display()`` every epoch.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

import scratch
from driver import ARTIFACTS, JS_CELLS, REPO, open_notebook, run_all, shutdown_kernel

pytestmark = pytest.mark.browser

RUN_NAME = "browser_live_demo"
EPOCHS = 4
COMMITTED = REPO / "data" / "results"
LOCAL = REPO / "data" / "local-results"
TRAIN_CELL = 3  # index among all cells: title (markdown), set-up, data, training

SETUP_CELL = f"""\
import os
import sys
import time

os.environ["COURSE_RESULTS"] = "local"      # this test checks the local store: never write data/results/
os.environ.pop("COURSE_RETRAIN", None)      # ... and the toggle's own default (off)
sys.path.insert(0, {str(REPO)!r})  # the checkout under test, whichever course_utils is installed

import torch

torch.set_num_threads(1)                    # a shared test machine: one core is enough for a tiny model
from course_utils import TrainConfig, baseline_cnn, load_cifar10, retrain_switch, train
from course_utils.runs import COMMITTED_RESULTS_DIR, LOCAL_RESULTS_DIR

print(f"stores: {{COMMITTED_RESULTS_DIR}} | {{LOCAL_RESULTS_DIR}}")
RETRAIN = retrain_switch("seconds")"""

DATA_CELL = "data = load_cifar10().subset(train=512, test=200)"

TRAINING_CELL = f"""\
model = baseline_cnn("standard", width=0.25)
started = time.perf_counter()
result = train(model, data, TrainConfig(epochs={EPOCHS}), name={RUN_NAME!r}, retrain=RETRAIN.value,
               live_plot=True)
print(f"retrain={{RETRAIN.value}} cached={{result.cached}} store={{result.store}} "
      f"seconds={{time.perf_counter() - started:.1f}}")"""

# A broken live plot: a new figure output every epoch instead of one figure updated in place.
PILING_CELL = f"""\
import io
import time

from IPython.display import Image, display
from matplotlib.figure import Figure

losses = []
for epoch in range(1, {EPOCHS} + 1):
    losses.append(2.3 / epoch)
    figure = Figure(figsize=(6, 2))
    figure.subplots().plot(range(1, epoch + 1), losses)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60)
    print(f"pile · epoch {{epoch}}/{EPOCHS}")
    display(Image(data=buffer.getvalue(), format="png"))   # piles up: one more output per epoch
    time.sleep(0.2)
print("Note: this plot piles up copies.")"""

# ---------------------------------------------------------------------------------------------
# In-page helpers
# ---------------------------------------------------------------------------------------------
# Record the state of one cell's output after every change, in the DOM (MutationObserver: after each
# batch of changes, so every state the viewer could see) and in the output model (its `changed` signal):
# how many images, a hash of each, and the text shown.
JS_WATCH = """(index) => { const w = window.jupyterapp.shell.currentWidget;
  const cell = w.content.widgets[index]; const area = cell.outputArea.node;
  const h = s => { let x = 2166136261;
    for (let i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 16777619); }
    return (x >>> 0).toString(16) + ':' + s.length; };
  const samples = [];
  const sample = (source) => {
    const outputs = cell.model.outputs.toJSON();
    const pngs = outputs.filter(o => o.data && o.data['image/png']).map(o => h(String(o.data['image/png'])));
    const imgs = Array.from(area.querySelectorAll('img')).map(i => h(i.src));
    samples.push({source: source, t: performance.now(), images: imgs, image_outputs: pngs,
                  text: area.textContent}); };
  const observer = new MutationObserver(() => sample('dom'));
  observer.observe(area, {childList: true, subtree: true, characterData: true, attributes: true});
  const onModel = () => sample('model');
  cell.model.outputs.changed.connect(onModel);
  window.__liveWatch = () => { observer.disconnect(); cell.model.outputs.changed.disconnect(onModel);
                               sample('end'); return samples; }; }"""

JS_RUN_CELL = """async ([index, timeoutMs]) => { const app = window.jupyterapp; const w = app.shell.currentWidget;
  w.content.activeCellIndex = index; w.content.deselectAll();
  const done = app.commands.execute('notebook:run-cell');
  const timer = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  return await Promise.race([done.then(() => 'done'), timer]); }"""

JS_CELL_TEXT = """(index) => { const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets[index].outputArea.node.textContent; }"""

JS_CELL_IMAGES = """(index) => { const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets[index].outputArea.node.querySelectorAll('img').length; }"""

JS_SAVED = """() => { const w = window.jupyterapp.shell.currentWidget; return !w.context.model.dirty; }"""

TOGGLE = ".jp-OutputArea .widget-toggle-button"


def watch_and_run_cell(page, index: int, label: str, timeout_s: float = 120.0) -> list[dict]:
    """Run cell ``index`` alone while recording every state of its output; return the states (also
    written to test-artifacts/browser/<label>_states.json, to read when a check fails)."""
    page.evaluate(JS_WATCH, index)
    outcome = page.evaluate(JS_RUN_CELL, [index, int(timeout_s * 1000)])
    samples = page.evaluate("() => window.__liveWatch()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{label}_states.json").write_text(json.dumps(samples, indent=1), encoding="utf-8")
    assert outcome == "done", f"cell {index} did not finish within {timeout_s:.0f} s"
    return samples


def live_view_problems(samples: list[dict], epochs: int) -> list[str]:
    """What is wrong with a live training view, from the recorded states of its cell's output
    (empty list = fine): more than one figure at any moment, not exactly one at the end, a figure not
    redrawn after every epoch, an epoch missing from the progress line, no closing "Note:" line."""
    if not samples:
        return ["the training cell's output never changed"]
    problems = []
    most = max(max(len(s["images"]), len(s["image_outputs"])) for s in samples)
    if most > 1:
        problems.append(f"{most} figures at once in the training cell's output: the live plot piles up "
                        "copies instead of updating one figure in place")
    end = samples[-1]
    if len(end["images"]) != 1 or len(end["image_outputs"]) != 1:
        problems.append(f"after the run the output shows {len(end['images'])} image(s) "
                        f"({len(end['image_outputs'])} in the notebook), not exactly one figure")
    frames = {s["images"][0] for s in samples if len(s["images"]) == 1}
    if len(frames) < epochs:
        problems.append(f"the figure showed {len(frames)} different image(s) during {epochs} epochs: "
                        "it is not redrawn after every epoch")
    # tqdm's notebook bar writes figure spaces (U+2007) for spaces: \s matches them
    seen = {int(k) for s in samples for k, n in re.findall(r"epoch\s(\d+)/(\d+)", s["text"]) if int(n) == epochs}
    missing = sorted(set(range(1, epochs + 1)) - seen)
    if missing:
        problems.append(f"the progress line never showed epoch {', '.join(f'{k}/{epochs}' for k in missing)}")
    if "Note:" not in end["text"]:
        problems.append('no closing "Note:" line after the run')
    return problems


def cell_errors(page) -> list[str]:
    return [f"cell {c['index']}: {e}" for c in page.evaluate(JS_CELLS) for e in c["errors"]]


# ---------------------------------------------------------------------------------------------
# Repository state
# ---------------------------------------------------------------------------------------------
def git_status() -> str:
    """``git status --porcelain`` of the repository, untracked files included (ignored ones are not)."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git status failed in {REPO}: {done.stderr.strip()}"
    return done.stdout


def folder_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def remove_run_files(folder: Path, name: str) -> None:
    """Delete run ``name``'s files from ``folder``: NAME.json, NAME.<sha>.pt and temporary .NAME.* files."""
    for path in [*folder.glob(f"{name}.*"), *folder.glob(f".{name}.*")]:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_live_retrain_redraws_one_figure_and_leaves_no_trace(lab, page):
    assert not (COMMITTED / f"{RUN_NAME}.json").exists(), f"{RUN_NAME} must not be a committed run"
    status_before, committed_before = git_status(), folder_digest(COMMITTED)
    local_existed = LOCAL.exists()
    remove_run_files(LOCAL, RUN_NAME)  # left over by an interrupted earlier run of this test
    sources = [SETUP_CELL, DATA_CELL, TRAINING_CELL]
    path = scratch.write_cells("live_training", sources, lab.root / "scratch")
    relpath = "scratch/scratch_live_training.ipynb"
    try:
        # First open, toggle off: no stored run of this tiny model anywhere, so it trains and stores it
        # in the local store.
        panel = open_notebook(page, lab, relpath)
        assert run_all(page, timeout_s=180) == "done"
        assert cell_errors(page) == []
        first = page.evaluate(JS_CELL_TEXT, TRAIN_CELL)
        assert f"stores: {COMMITTED} | {LOCAL}" in page.evaluate(JS_CELL_TEXT, 1), \
            "the kernel imported course_utils from another checkout"
        assert f"Stored {RUN_NAME} in data/local-results/{RUN_NAME}.json" in first, first
        assert "retrain=False" in first

        # Live retrain: click the toggle, re-run the training cell, record every state of its output.
        toggle = page.locator(f"{panel} {TOGGLE}").first
        assert "mod-active" not in (toggle.get_attribute("class") or "")
        toggle.click()
        page.wait_for_function("(sel) => document.querySelector(sel).classList.contains('mod-active')",
                               arg=f"{panel} {TOGGLE}", timeout=10_000)
        samples = watch_and_run_cell(page, TRAIN_CELL, "live_training")
        assert cell_errors(page) == []
        assert live_view_problems(samples, EPOCHS) == []
        live = samples[-1]["text"]
        assert "retrain=True cached=False" in live and f"Stored {RUN_NAME} in data/local-results/" in live, live
        assert git_status() == status_before, "the live retrain changed `git status`"
        assert folder_digest(COMMITTED) == committed_before, "the live retrain changed data/results/"

        # Save (Ctrl+S) and reopen in a fresh kernel: the toggle is off again and the run is loaded.
        page.keyboard.press("Control+s")
        page.wait_for_function(JS_SAVED, timeout=10_000)
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert ["".join(c["source"]) for c in saved["cells"] if c["cell_type"] == "code"] == sources, \
            "saving changed the code cells"
        shutdown_kernel(page)
        panel = open_notebook(page, lab, relpath)
        assert run_all(page, timeout_s=120) == "done"
        assert cell_errors(page) == []
        assert "mod-active" not in (page.locator(f"{panel} {TOGGLE}").first.get_attribute("class") or "")
        reopened = page.evaluate(JS_CELL_TEXT, TRAIN_CELL)
        assert f"Cached result from data/local-results/{RUN_NAME}.json" in reopened, reopened
        assert "retrain=False cached=True" in reopened, reopened
        assert page.evaluate(JS_CELL_IMAGES, TRAIN_CELL) == 0, "a loaded run drew a live figure"
        seconds = float(re.search(r"seconds=([\d.]+)", reopened).group(1))
        assert seconds < 15, f"loading the stored run took {seconds:.1f} s"
    finally:
        try:
            shutdown_kernel(page)
        except Exception:  # noqa: BLE001  (no kernel, or the page is gone: nothing left to stop)
            pass
        remove_run_files(LOCAL, RUN_NAME)
        if not local_existed and LOCAL.is_dir() and not any(LOCAL.iterdir()):
            LOCAL.rmdir()
    assert git_status() == status_before
    assert folder_digest(COMMITTED) == committed_before


def test_the_one_figure_check_reports_a_plot_that_piles_up(lab, page):
    scratch.write_cells("piling_plot", [PILING_CELL], lab.root / "scratch")
    open_notebook(page, lab, "scratch/scratch_piling_plot.ipynb")
    try:
        samples = watch_and_run_cell(page, 1, "piling_plot", timeout_s=60)
    finally:
        shutdown_kernel(page)
    problems = live_view_problems(samples, EPOCHS)
    assert any(f"{EPOCHS} figures at once" in p for p in problems), problems
