"""`make present`'s settings, checked in a real browser: JupyterLab started with presenter/overrides.json,
presenter/user-settings/ and presenter/custom/custom.css shows large fonts in the Simple Interface without
a status bar, F8 turns on presentation mode and makes the text *larger*, and figures switch to the larger
style (COURSE_PRESENTER=1). Every notebook is checked on a 1280x720 screen with these settings by
test_notebooks.py (one browser run per notebook); here, scratch notebooks show that the checks can fail.

Screenshots: test-artifacts/browser/slide_<notebook>.png (the first notebook's title slide in presentation
mode) and present_<notebook>_cell<N>.png (a figure that does not fit, scrolled into view).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

import scratch
from course_utils import style
from driver import (ARTIFACTS, REPO, LabServer, check_notebook, fit_problems, measure, open_notebook, press_f8,
                    run_all, shutdown_kernel, wait_widgets, widget_growth_problems)

pytestmark = pytest.mark.browser
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))

STYLE_PROBE = """\
import matplotlib as mpl
import matplotlib.pyplot as plt
from course_utils import style
style.apply()
print(mpl.rcParams["font.size"], tuple(mpl.rcParams["figure.figsize"]))
plt.plot([0, 1], [0, 1], label="a line")
plt.title("a figure of the default size")
plt.legend()
plt.show()"""
PRESENTER_STYLE = "{} {}".format(float(style.PRESENTER["font.size"]), tuple(style.PRESENTER["figure.figsize"]))
SLIDER_ROWS_PX = 3 * 40  # room a figure of the default size leaves for sliders

# The inline figure's natural and displayed size, and the notebook's visible height.
JS_IMAGE = """() => { const img = document.querySelector('.jp-OutputArea img');
  const outer = document.querySelector('.jp-WindowedPanel-outer');
  return {natural: [img.naturalWidth, img.naturalHeight], shown: [img.clientWidth, img.clientHeight],
          visible: outer.clientHeight}; }"""


def check_presented(page, lab: LabServer, relpath: str) -> tuple[list[str], dict, dict]:
    """Run ``relpath`` at 1280x720 with the presenter settings; measure it before and after F8."""
    panel = open_notebook(page, lab, relpath)
    try:
        outcome = run_all(page)
        if outcome != "done":
            return [outcome], {}, {}
        wait_widgets(page)
        before = measure(page, panel)
        press_f8(page, panel)
        after = measure(page, panel)
        problems = fit_problems(before, "presenter fonts") + fit_problems(after, "after F8")
        if problems:
            first = next((f["cell"] for f in after["figures"] + before["figures"]
                          if max(f["heights"]) > after["visible_px"] or f["block"] > after["visible_px"]), None)
            if first is not None:
                page.evaluate("([panel, i]) => document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')[i]"
                              ".querySelector('.jp-OutputArea').scrollIntoView()", [panel, first])
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"present_{Path(relpath).stem}_cell{first}.png"))
        return problems, before, after
    finally:
        shutdown_kernel(page)


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
        press_f8(page, panel)
        page.evaluate("(panel) => { const s = document.querySelector(panel + ' .jp-WindowedPanel-outer');"
                      " if (s) s.scrollTop = 0; }", panel)
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"slide_{name[:-6]}.png"))
    finally:
        shutdown_kernel(page)


def test_presenter_check_reports_a_figure_taller_than_the_screen(presenter_lab, screen):
    for kind in ("good", "tall_figure"):
        scratch.write(kind, presenter_lab.root / "scratch")
    problems, before, _ = check_presented(screen, presenter_lab, "scratch/scratch_good.ipynb")
    assert not problems and before["figures"], (problems, before)
    problems, _, _ = check_presented(screen, presenter_lab, "scratch/scratch_tall_figure.ipynb")
    assert any("does not fit" in p for p in problems), problems


def test_presenter_check_reports_cut_text_a_covering_legend_and_a_cut_label(presenter_lab, screen):
    """The checks every notebook passes in test_notebooks.py can fail: a figure whose title is wider than its
    canvas and whose legend sits on its data (reported by the kernel's figure watch), and a slider label cut
    by its box."""
    scratch.write("misfit", presenter_lab.root / "scratch")
    report = check_notebook(screen, presenter_lab, "scratch/scratch_misfit.ipynb", move_sliders=False,
                            projector=True)
    for expected in ("(axes title) reaches", "the legend covers data", "widget text cut off: 'a label far"):
        assert any(expected in problem for problem in report.problems), (expected, report.problems)


def test_widget_text_must_grow_with_the_presenter_fonts_and_with_f8():
    assert widget_growth_problems({"widget_px": 20, "table_px": 20}, {"widget_px": 24, "table_px": 24}) == []
    assert widget_growth_problems({"widget_px": None}, {"widget_px": None}) == []
    problems = widget_growth_problems({"widget_px": 16, "table_px": 18}, {"widget_px": 16, "table_px": 19})
    assert any("not larger than the interface's 16 px" in p for p in problems), problems
    assert any("F8 does not enlarge the widget text" in p for p in problems), problems
    assert any("table text under F8 is 19" in p for p in problems), problems


def test_presenter_figures_are_larger_and_fit_the_screen(presenter_lab, screen):
    """The presenter style is on; a figure of its default size is shown unscaled on a 1280x720 screen
    (so its text keeps its size) and leaves room for three rows of sliders."""
    page = screen
    (presenter_lab.root / "scratch" / "style_probe.ipynb").write_text(json.dumps(
        {**scratch.notebook("good"), "cells": [{"cell_type": "code", "id": "probe", "source": STYLE_PROBE,
                                                "metadata": {}, "execution_count": None, "outputs": []}]}))
    open_notebook(page, presenter_lab, "scratch/style_probe.ipynb")
    try:
        outcome = run_all(page)
        assert outcome == "done", outcome
        text = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0)"
                             ".toJSON().outputs.map(o => o.text).join('')")
        assert text.strip() == PRESENTER_STYLE, text
        image = page.evaluate(JS_IMAGE)
        assert image["shown"] == image["natural"], f"the default figure is scaled down to fit: {image}"
        assert image["shown"][1] + SLIDER_ROWS_PX <= image["visible"], image
    finally:
        shutdown_kernel(page)


SCORE_EXPLORER = """\
from course_utils.challenge import ScoreExplorer
explorer = ScoreExplorer({"MobileNetV2-style inverted residual (t=6)": (2_236_682, 95_000_000),
                          "ResNet-18 (reference)": (11_173_962, 556_000_000)},
                         model="MobileNetV2-style inverted residual (t=6)", q_w=16, q_a=16)
explorer"""

# The model dropdown's <select>: its width and the width its longest option's text needs.
JS_DROPDOWN = """() => { const select = document.querySelector('.jp-OutputArea .widget-dropdown select');
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = getComputedStyle(select).font;
  const longest = Math.max(...Array.from(select.options).map(o => ctx.measureText(o.text).width));
  return {width: select.clientWidth, needed: Math.ceil(longest) + 24}; }"""  # 24 px: padding and arrow


def test_score_explorer_fits_the_screen_and_shows_whole_model_names(presenter_lab, screen):
    (presenter_lab.root / "scratch" / "score_explorer.ipynb").write_text(json.dumps(
        {**scratch.notebook("good"), "cells": [{"cell_type": "code", "id": "explorer", "source": SCORE_EXPLORER,
                                                "metadata": {}, "execution_count": None, "outputs": []}]}))
    problems, before, _ = check_presented(screen, presenter_lab, "scratch/score_explorer.ipynb")
    assert not problems and before["figures"], (problems, before)
    dropdown = screen.evaluate(JS_DROPDOWN)
    assert dropdown["width"] >= dropdown["needed"], f"the model dropdown cuts its names off: {dropdown}"
