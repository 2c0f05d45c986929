"""course_utils.figure_fit: text outside the canvas, titles that run together and legends over data are
reported (so the checks can fail), good figures pass, and the course's own interactive figures (the cost
explorer, the live training curves) fit at both styles, make present's included."""
from __future__ import annotations

import json

import matplotlib as mpl
import pytest
from matplotlib.figure import Figure

from course_utils import figure_fit, style
from course_utils.experiments.catalog import FAMILIES
from course_utils.experiments.store import describe
from course_utils.widgets import SLIDERS, CostExplorer, LiveCurves


@pytest.fixture(autouse=True)
def restore_style(monkeypatch):
    monkeypatch.delenv("COURSE_PRESENTER", raising=False)
    monkeypatch.delenv(figure_fit.REPORT_VARIABLE, raising=False)
    saved = mpl.rcParams.copy()
    yield
    figure_fit.watch(None)
    mpl.rcParams.update(saved)


def line_figure(**legend) -> Figure:
    figure = Figure(figsize=(6, 3), layout="constrained")
    ax = figure.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], label="rising")
    ax.set(title="a short title", xlabel="x", ylabel="y")
    if legend:
        ax.legend(**legend)
    return figure


def test_a_good_figure_has_no_problem():
    assert figure_fit.problems(line_figure(loc="upper left")) == []


def test_a_title_wider_than_the_canvas_is_reported_with_its_edges():
    figure = line_figure()
    figure.axes[0].set_title("a title much too long for a figure six inches wide, " * 2)
    problems = figure_fit.problems(figure)
    assert any("(axes title) reaches" in p and "left edge" in p and "right edge" in p for p in problems), problems


def test_text_pushed_off_the_bottom_is_reported():
    figure = Figure(figsize=(6, 3))  # no layout engine: nothing moves the label back in
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("first line\nsecond line\nthird line\nfourth line")
    assert any("(axis label)" in p and "bottom edge" in p for p in figure_fit.text_outside(figure))


def test_titles_that_run_together_are_reported():
    figure = Figure(figsize=(6, 3), layout="none")
    left, right = figure.subplots(1, 2)
    left.set_title("a long title for the left panel, longer than it")
    right.set_title("and a long one for the right panel too")
    problems = figure_fit.overlapping_titles(figure)
    assert any("run together" in p for p in problems), problems


def test_a_legend_over_the_data_is_reported_and_one_beside_it_is_not():
    over = line_figure(loc="center")  # the rising line passes through the centre
    assert any("legend covers data" in p and "rising" in p for p in figure_fit.legend_overlaps(over))
    assert figure_fit.legend_overlaps(line_figure(loc="upper left")) == []


def test_a_legend_over_bars_a_scatter_or_text_is_reported():
    figure = Figure(figsize=(6, 3), layout="constrained")
    ax = figure.subplots()
    ax.bar(range(5), [5, 5, 5, 5, 5], label="bars")
    ax.legend(loc="center")
    assert any("Rectangle" in p for p in figure_fit.legend_overlaps(figure))
    figure = Figure(figsize=(6, 3), layout="constrained")
    ax = figure.subplots()
    ax.scatter([0.5], [0.5], label="one point")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="center")
    assert any("PathCollection" in p for p in figure_fit.legend_overlaps(figure))
    figure = Figure(figsize=(6, 3))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 0.1], label="low")
    figure.supxlabel("epoch")
    figure.legend(loc="lower center")
    assert any("a legend covers" in p and "epoch" in p for p in figure_fit.legend_covers_text(figure))


def test_hidden_axes_and_ticks_outside_the_limits_are_not_text():
    figure = Figure(figsize=(3, 2), layout="constrained")
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1])
    ax.axis("off")
    assert figure_fit.problems(figure) == []


def test_the_watch_reports_each_misfit_figure_once_as_json(tmp_path, monkeypatch):
    report = tmp_path / "figures.jsonl"
    monkeypatch.setenv(figure_fit.REPORT_VARIABLE, str(report))
    style.apply()  # starts the watch, as in every notebook's first cell
    assert figure_fit.watching()
    good = line_figure(loc="upper left")
    good.savefig(tmp_path / "good.png")
    assert not report.exists()
    bad = line_figure(loc="center")
    bad.savefig(tmp_path / "bad.png")
    bad.savefig(tmp_path / "bad_again.png")
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["figure"] == "a short title", lines
    assert any("legend covers data" in p for p in lines[0]["problems"])
    figure_fit.watch(None)
    line_figure(loc="center").savefig(tmp_path / "unwatched.png")
    assert len(report.read_text().splitlines()) == 1


def test_problems_refuses_what_is_not_a_figure():
    with pytest.raises(ValueError, match="figure=str must be a matplotlib.figure.Figure"):
        figure_fit.problems("figure")


@pytest.mark.parametrize("presenter", [False, True], ids=["notebook style", "make present style"])
def test_the_cost_explorer_fits_at_every_extreme(presenter):
    style.presenter() if presenter else style.apply()
    for kwargs in ({}, {"operators": ["standard", "decomposed"], "knobs": ["k", "l", "c_in"], "same_channels": True}):
        explorer = CostExplorer(**kwargs)
        assert figure_fit.problems(explorer.live.figure) == [], kwargs
        for end in (-1, 0):  # every slider at its largest value (the longest title, the largest bars), then smallest
            values = {knob: list(SLIDERS[knob][1])[end] for knob in explorer.sliders}
            explorer.update(**values)
            assert figure_fit.problems(explorer.live.figure) == [], (kwargs, values)


class _Handle:
    def update(self, _image) -> None:
        pass


@pytest.mark.parametrize("presenter", [False, True], ids=["notebook style", "make present style"])
def test_the_live_curves_fit_with_the_longest_run_title(presenter):
    style.presenter() if presenter else style.apply()
    titles = [f"your run: {describe(spec)}" for family in FAMILIES.values() for spec in family.specs()]
    longest = max(titles, key=len)
    history = [{"epoch": e, "train_loss": 2.3 / e, "train_accuracy": 0.04 * e, "curve_test_accuracy": 0.035 * e}
               for e in range(1, 21)]
    curves = LiveCurves(longest, 20, 1000, history)
    curves.handle = _Handle()
    for epochs in (1, 20):
        curves.update(history[:epochs])
        assert figure_fit.problems(curves.figure) == [], (longest, epochs)
    assert curves.figure.get_suptitle().replace("\n", " ") == longest
    assert [ax.get_title() for ax in curves.figure.axes] == ["loss", "accuracy"]
