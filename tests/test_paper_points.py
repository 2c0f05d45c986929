"""The SAL paper's Figure 7 points: valid accuracies, the entries the slide shows, and a plot that draws
one column per entry."""
from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from torch import nn

from course_utils import ResNet20Style
from course_utils.paper_points import (BITS_PER_WEIGHT, FIGURE_7, PAPER, PaperPoint, block_kernels,
                                       plot_paper_points, resnet20_memory, short_label)


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


def test_block_kernels_are_the_eighteen_3x3_convolutions_torch_builds():
    kernels = block_kernels()
    assert len(kernels) == 18 and kernels[0] == (16, 16) and kernels[-1] == (64, 64)
    weights = sum(m.weight.numel() for m in ResNet20Style("standard").layers.modules()
                  if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert resnet20_memory("ResNet-20") == 4 * weights          # float32: 4 bytes per weight
    assert block_kernels(width=2.0)[-1] == (128, 128)


def test_each_entry_stores_a_weight_as_its_paper_says():
    dense = resnet20_memory("ResNet-20")
    assert resnet20_memory("ResNet-20 + SAL") == pytest.approx(dense / 8)       # (32 + 4) bits per 9 weights
    assert resnet20_memory("ResNet-20 + SAL2") == pytest.approx(dense / 4)
    assert resnet20_memory("ResNet-20 + BinaryConnect") == pytest.approx(dense / 32)
    scales = 4 * sum(c_out for _, c_out in block_kernels())                    # one float32 per filter
    assert resnet20_memory("ResNet-20 + BWN") - resnet20_memory("ResNet-20 + BinaryConnect") == \
        pytest.approx(scales)
    assert set(BITS_PER_WEIGHT) == {p.label for p in FIGURE_7 if p.label.startswith("ResNet-20")}


@pytest.mark.parametrize("call, words", [(lambda: resnet20_memory("SqueezeNet"), "label='SqueezeNet'"),
                                         (lambda: resnet20_memory("ResNet-20", width=0), "width=0"),
                                         (lambda: block_kernels(True), "width=True")])
def test_memory_refuses_what_it_cannot_count(call, words):
    with pytest.raises(ValueError) as error:
        call()
    assert words in str(error.value)
