"""Every notebook, run in JupyterLab in headless Chromium: no error output, every widget rendered,
every slider redraws what it drives. New notebooks in notebooks/ are picked up with no edit here.

Runs on the committed results (training cells load data/results/, as in nbval), so it stays short.
Screenshots: test-artifacts/browser/<notebook>.png (full notebook after run-all).
"""
from __future__ import annotations

import pytest

from driver import ARTIFACTS, REPO, check_notebook

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.browser
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_renders_and_redraws(name, lab, page):
    report = check_notebook(page, lab, f"notebooks/{name}", screenshot=ARTIFACTS / f"{name[:-6]}.png")
    print(f"{name}: {report.seconds:.1f} s, {report.widgets} widget views, {report.sliders} sliders moved")
    assert report.problems == [], f"{name}:\n  " + "\n  ".join(report.problems)
