"""The SAL paper's Figure 7 points: valid accuracies, the entries the slide shows, and a plot that draws
one column per entry."""
from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from course_utils.paper_points import FIGURE_7, PAPER, PaperPoint, plot_paper_points, short_label


def test_the_figure_holds_the_slides_entries():
    labels = [p.label for p in FIGURE_7]
    assert labels == ["ResNet-20", "ResNet-20 + SAL", "ResNet-20 + SAL2", "ResNet-20 + BinaryConnect",
                      "ResNet-20 + BWN", "SqueezeNet", "MobileNetV2"]
    assert all(85 <= p.low <= p.high <= 97 for p in FIGURE_7)
    assert "arXiv:1905.12300" in PAPER


@pytest.mark.parametrize("low, high, words", [(0, 90, "low=0"), (91, 101, "high=101"), (95, 94, "at most"),
                                              (True, 90, "low=True")])
def test_bad_points_are_refused(low, high, words):
    with pytest.raises(ValueError) as error:
        PaperPoint("x", low, high, "")
    assert words in str(error.value)


def test_plot_draws_one_column_per_entry():
    ax = Figure().subplots()
    plot_paper_points(ax)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == [short_label(p) for p in FIGURE_7] and ticks[1] == "+ SAL"
    ranges = [p for p in FIGURE_7 if p.low < p.high]
    assert len(ax.patches) == len(ranges)                       # a bar per curve
    assert [(b.get_y(), b.get_y() + b.get_height()) for b in ax.patches] == \
        [pytest.approx((p.low, p.high)) for p in ranges]
    assert len(ax.collections) == len(FIGURE_7) - len(ranges)   # a diamond per single network


def test_plot_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="ax="):
        plot_paper_points("axes")
    with pytest.raises(ValueError, match="PaperPoint"):
        plot_paper_points(Figure().subplots(), ())
