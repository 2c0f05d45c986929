"""`make present`'s settings, checked in a real browser: JupyterLab started with presenter/overrides.json,
presenter/user-settings/ and presenter/custom/custom.css shows large fonts in the Simple Interface without
a status bar, F8 turns on presentation mode and makes the text *larger*, and figures switch to the larger
style (COURSE_PRESENTER=1). On a 1280x720 screen, every notebook's execution counts are whole, a code cell
holds an 80-character line, and every figure fits the screen together with its sliders.

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
from driver import (ARTIFACTS, REPO, TEST_OVERRIDES, LabServer, make_root, open_notebook, run_all,
                    shutdown_kernel, wait_widgets)

pytestmark = pytest.mark.browser
PRESENTER = REPO / "presenter"
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
SCREEN = {"width": 1280, "height": 720}  # a common projector resolution, and the smallest we support
LINE_CHARACTERS = 80  # the longest code line the notebooks use

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


def presenter_overrides() -> dict:
    """`make present`'s settings overrides, plus the test server's: no autosave (the notebooks are
    copies anyway) and every cell attached to the page, so that every figure can be measured."""
    overrides = json.loads((PRESENTER / "overrides.json").read_text(encoding="utf-8"))
    for plugin, settings in TEST_OVERRIDES.items():
        if plugin != "@jupyterlab/apputils-extension:notification":  # make present's own settings win
            overrides[plugin] = {**overrides.get(plugin, {}), **settings}
    return overrides


@pytest.fixture(scope="module")
def presenter_lab(chromium_path):
    """A second private server, with `make present`'s overrides, user settings, CSS and environment."""
    with tempfile.TemporaryDirectory(prefix="browser-present-") as tmp:
        server = LabServer(root=make_root(Path(tmp)), home=Path(tmp) / "home", overrides=presenter_overrides(),
                           env={"COURSE_PRESENTER": "1"}, user_settings=PRESENTER / "user-settings",
                           custom_css=PRESENTER / "custom" / "custom.css")
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture
def screen(browser):
    """A fresh browser context with a 1280x720 viewport."""
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


# Everything the checks need, measured in the page: font sizes, prompts whose text is cut off, how many
# characters a code line can show, the notebook's visible height, and per output area the height of its
# figures (img, canvas) and of the block from its first slider to its last figure.
JS_MEASURE = """(panel) => {
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


def press_f8(page, panel: str) -> None:
    page.locator(f"{panel} .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("F8")
    page.wait_for_function("() => window.jupyterapp.shell.presentationMode", timeout=10_000)
    page.wait_for_timeout(800)  # let the larger fonts re-lay out the notebook


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


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_presenting_on_a_1280x720_screen(name, presenter_lab, screen):
    """F8 makes markdown and code larger; counts, 80-character lines and every figure with its sliders fit."""
    problems, before, after = check_presented(screen, presenter_lab, f"notebooks/{name}")
    if before and after:
        print(f"{name}: visible {before['visible_px']} px; markdown {before['markdown_px']} -> {after['markdown_px']} px, "
              f"code {before['code_px']} -> {after['code_px']} px, code line {before['line_characters']} -> "
              f"{after['line_characters']} characters; figures (cell, heights, block with sliders): "
              f"{[(f['cell'], f['heights'], f['block']) for f in before['figures']]}")
        for what in ("markdown_px", "code_px"):
            if not after[what] > before[what]:
                problems.append(f"F8 does not enlarge the {what[:-3]} text: {before[what]} px -> {after[what]} px")
    assert not problems, "\n".join(problems)


def test_presenter_check_reports_a_figure_taller_than_the_screen(presenter_lab, screen):
    for kind in ("good", "tall_figure"):
        scratch.write(kind, presenter_lab.root / "scratch")
    problems, before, _ = check_presented(screen, presenter_lab, "scratch/scratch_good.ipynb")
    assert not problems and before["figures"], (problems, before)
    problems, _, _ = check_presented(screen, presenter_lab, "scratch/scratch_tall_figure.ipynb")
    assert any("does not fit" in p for p in problems), problems


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
