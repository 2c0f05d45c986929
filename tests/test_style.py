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
