"""Every notebook, run once in JupyterLab in headless Chromium, the way it is projected in class (`make
present`'s settings, a 1280x720 screen): no error output, every widget rendered, every slider redraws what it
drives, and everything fits the screen before and after F8 (whole execution counts, 80-character code lines,
each figure with its sliders; F8 makes the text larger). New notebooks in notebooks/ are picked up with no
edit here. This is the one browser run of each notebook per `make test` (nbval is the other execution).

Runs on the committed results (the notebooks only read data/results/, as in nbval), so it stays short.
Screenshots: test-artifacts/browser/<notebook>.png (full notebook after run-all).
"""
from __future__ import annotations

import pytest

from driver import ARTIFACTS, REPO, check_notebook

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.browser
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_renders_redraws_and_fits_the_projector(name, presenter_lab, screen):
    report = check_notebook(screen, presenter_lab, f"notebooks/{name}", screenshot=ARTIFACTS / f"{name[:-6]}.png",
                            projector=True)
    before, after = report.projected or ({}, {})
    print(f"{name}: {report.seconds:.1f} s, {report.widgets} widget views, {report.sliders} sliders moved; "
          f"markdown {before.get('markdown_px')} -> {after.get('markdown_px')} px, code {before.get('code_px')} -> "
          f"{after.get('code_px')} px, code line {before.get('line_characters')} characters")
    assert report.problems == [], f"{name}:\n  " + "\n  ".join(report.problems)
