"""The browser checks themselves: a good scratch notebook passes, each broken one is reported."""
from __future__ import annotations

import pytest

import scratch
from driver import ARTIFACTS, check_notebook

pytestmark = pytest.mark.browser

EXPECTED = {
    "good": None,
    "dead_slider": "no figure or text changed",
    "broken_widget": "widget not rendered",
    "error": "error output: RuntimeError",
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_checks_report_each_kind_of_breakage(kind, lab, page):
    scratch.write(kind, lab.root / "scratch")
    report = check_notebook(page, lab, f"scratch/scratch_{kind}.ipynb",
                            screenshot=ARTIFACTS / "scratch" / f"scratch_{kind}.png")
    if EXPECTED[kind] is None:
        assert report.problems == [], report.problems
        assert report.sliders == 1 and report.widgets == 1
    else:
        assert any(EXPECTED[kind] in problem for problem in report.problems), report.problems
