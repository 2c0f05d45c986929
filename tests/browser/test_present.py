"""`make present`'s settings, checked in a real browser: JupyterLab started with presenter/overrides.json
shows large fonts in the Simple Interface without a status bar, F8 turns on presentation mode,
and figures switch to the larger style (COURSE_PRESENTER=1). Screenshot of the first notebook's title
slide in presentation mode: test-artifacts/browser/slide_<notebook>.png.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

import scratch
from driver import ARTIFACTS, REPO, LabServer, make_root, open_notebook, run_all, shutdown_kernel

pytestmark = pytest.mark.browser
OVERRIDES = REPO / "presenter" / "overrides.json"
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))

STYLE_PROBE = """\
import matplotlib as mpl
from course_utils import style
style.apply()
print(mpl.rcParams["font.size"], tuple(mpl.rcParams["figure.figsize"]))"""


@pytest.fixture(scope="module")
def presenter_lab(chromium_path):
    """A second private server, with exactly `make present`'s overrides and environment."""
    with tempfile.TemporaryDirectory(prefix="browser-present-") as tmp:
        server = LabServer(root=make_root(Path(tmp)), home=Path(tmp) / "home",
                           overrides=json.loads(OVERRIDES.read_text(encoding="utf-8")),
                           env={"COURSE_PRESENTER": "1"}, user_settings=REPO / "presenter" / "user-settings")
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_presenter_settings_and_a_slide(presenter_lab, page):
    name = NOTEBOOKS[0]
    panel = open_notebook(page, presenter_lab, f"notebooks/{name}")
    try:
        assert page.evaluate("() => window.jupyterapp.shell.mode") == "single-document"
        assert not page.locator("#jp-main-statusbar").is_visible()
        font_px = "(panel) => parseFloat(getComputedStyle(document.querySelector(panel + ' .jp-RenderedMarkdown p')).fontSize)"
        try:  # the theme's CSS overrides are applied once the settings have loaded
            page.wait_for_function(f"(panel) => ({font_px})(panel) >= 20", arg=panel, timeout=15_000)
        except Exception:
            pytest.fail(f"markdown text is {page.evaluate(font_px, panel)}px: the projector overrides were not applied\n"
                        + page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--jp-content-font-size1')"))
        page.locator(f"{panel} .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("F8")
        page.wait_for_function("() => window.jupyterapp.shell.presentationMode", timeout=10_000)
        page.evaluate("(panel) => { const s = document.querySelector(panel + ' .jp-WindowedPanel-outer');"
                      " if (s) s.scrollTop = 0; }", panel)
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"slide_{name[:-6]}.png"))
    finally:
        shutdown_kernel(page)


def test_presenter_figures_are_larger(presenter_lab, page):
    (presenter_lab.root / "scratch" / "style_probe.ipynb").write_text(json.dumps(
        {**scratch.notebook("good"), "cells": [{"cell_type": "code", "id": "probe", "source": STYLE_PROBE,
                                                "metadata": {}, "execution_count": None, "outputs": []}]}))
    open_notebook(page, presenter_lab, "scratch/style_probe.ipynb")
    try:
        outcome = run_all(page)
        assert outcome == "done", outcome
        text = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0)"
                             ".toJSON().outputs.map(o => o.text).join('')")
        assert text.strip() == "18.0 (11.0, 6.0)", text
    finally:
        shutdown_kernel(page)
