"""course_utils.switches: every COURSE_* environment variable is read the same way, at every use."""
from __future__ import annotations

import pytest

from course_utils import precision, runs, style, switches
from course_utils.layers import shift_native


@pytest.mark.parametrize("raw, expected", [("", True), ("1", True), ("ON", True), (" yes ", True), ("true", True),
                                           ("0", False), ("off", False), ("No", False), ("FALSE", False)])
def test_a_flag_reads_every_spelling(monkeypatch, raw, expected):
    monkeypatch.setenv("COURSE_NATIVE_SHIFT", raw)
    assert switches.flag("COURSE_NATIVE_SHIFT", default=True) is expected


@pytest.mark.parametrize("name", ["COURSE_RETRAIN", "COURSE_NATIVE_SHIFT", "COURSE_PRESENTER"])
@pytest.mark.parametrize("raw", ["2", "y", "enabled", "-1"])
def test_a_flag_refuses_anything_else(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=rf"{name}={raw!r} must be 1/0, true/false, yes/no or on/off"):
        switches.flag(name, default=False)


def test_each_switch_is_read_when_it_is_used_not_once(monkeypatch):
    """COURSE_NATIVE_SHIFT=off set after the kernel was first used still turns it off."""
    monkeypatch.delenv("COURSE_NATIVE_SHIFT", raising=False)
    compiled = shift_native.available()
    monkeypatch.setenv("COURSE_NATIVE_SHIFT", "off")
    assert shift_native.available() is False
    monkeypatch.setenv("COURSE_NATIVE_SHIFT", "false")
    assert shift_native.available() is False
    monkeypatch.setenv("COURSE_NATIVE_SHIFT", "on")
    assert shift_native.available() is compiled
    monkeypatch.setenv("COURSE_RETRAIN", "on")
    assert runs.retrain_requested() is True
    monkeypatch.setenv("COURSE_PRESENTER", "yes")
    style.apply()
    import matplotlib as mpl
    assert mpl.rcParams["font.size"] == style.PRESENTER["font.size"]
    monkeypatch.setenv("COURSE_PRESENTER", "off")
    style.apply()
    assert mpl.rcParams["font.size"] == style.DEFAULT["font.size"]


@pytest.mark.parametrize("name, function, raw", [("COURSE_RESULTS", runs.write_store, "yes"),
                                                 ("COURSE_PRECISION", precision.precision_from_environment, "fp16")])
def test_a_choice_refuses_anything_else(monkeypatch, name, function, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=rf"{name}={raw!r} must be"):
        function()


def test_the_readme_lists_every_switch():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in ("COURSE_RETRAIN", "COURSE_RESULTS", "COURSE_PRECISION", "COURSE_NATIVE_SHIFT", "COURSE_PRESENTER"):
        assert f"`{name}`" in readme, name
