"""course_utils.style: large defaults, a larger presenter style, both idempotent."""
from __future__ import annotations

import matplotlib as mpl
import pytest

from course_utils import style


@pytest.fixture(autouse=True)
def restore_rcparams():
    saved = mpl.rcParams.copy()
    yield
    mpl.rcParams.update(saved)


def test_apply_sets_large_readable_defaults_and_is_idempotent(monkeypatch):
    monkeypatch.delenv("COURSE_PRESENTER", raising=False)
    style.apply()
    first = dict(mpl.rcParams)
    style.apply()
    assert dict(mpl.rcParams) == first
    assert tuple(mpl.rcParams["figure.figsize"]) == (9.0, 5.0)
    assert mpl.rcParams["font.size"] >= 14
    assert mpl.rcParams["axes.titlesize"] > mpl.rcParams["font.size"]


def test_presenter_is_larger_and_apply_switches_back(monkeypatch):
    monkeypatch.delenv("COURSE_PRESENTER", raising=False)
    style.presenter()
    style.presenter()
    assert mpl.rcParams["font.size"] > style.DEFAULT["font.size"]
    assert mpl.rcParams["axes.labelsize"] > style.DEFAULT["axes.labelsize"]
    style.apply()
    assert mpl.rcParams["font.size"] == style.DEFAULT["font.size"]


def test_make_present_environment_selects_the_presenter_style(monkeypatch):
    monkeypatch.setenv("COURSE_PRESENTER", "1")
    assert style.apply() == style.PRESENTER
    assert mpl.rcParams["font.size"] == style.PRESENTER["font.size"]


def test_a_presenter_figure_and_its_sliders_fit_a_1280x720_screen():
    # make present on a 1280x720 screen shows a notebook output about 1070 px wide and 632 px tall
    # (measured by tests/browser/test_present.py); a slider row takes about 40 px.
    width_in, height_in = style.PRESENTER["figure.figsize"]
    dpi = style.PRESENTER["figure.dpi"]
    assert width_in * dpi <= 1060, "wider than the output area: the browser would shrink it, text included"
    assert height_in * dpi + 3 * 40 <= 632, "a figure and three slider rows must fit the screen together"
