"""The published points of the SAL paper's Figure 7, to plot next to this course's own runs.

Source: G. B. Hacene, C. Lassance, V. Gripon, M. Courbariaux, Y. Bengio, *Attention Based Pruning for
Shift Networks*, ICPR 2020, arXiv:1905.12300, Figure 7 ("Evolution of accuracy when applying compression
methods on different DNN architectures trained on CIFAR10"; also the Session 5 slides). Their regime:
the full CIFAR-10 training set (50,000 images), 300 epochs, GPU.

The accuracies below are read off the published figure (about ±0.5 point): a curve is given by its two
ends, from its smallest to its largest network (``low`` → ``high``), a single network by ``low == high``.
Only the accuracies are recorded, not the figure's memory coordinates (the caption does not give the widths
at the ends of its curves), so :func:`plot_paper_points` draws each entry as an accuracy range, one column per
method, on an accuracy axis that can be shared with a plot of our own runs (accuracy against memory).
What the memory axis compares follows from how each method stores a weight: :func:`resnet20_memory` gives it
for ResNet-20 at the width of He et al. (16-32-64 channels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.axes import Axes
from torch import nn

from . import checks
from .models.resnet20 import ResNet20Style

PAPER = ("Hacene et al., Attention Based Pruning for Shift Networks, ICPR 2020 (arXiv:1905.12300), "
         "Figure 7")
PAPER_REGIME = "full CIFAR-10 (50,000 images), 300 epochs"


@dataclass(frozen=True)
class PaperPoint:
    """One entry of Figure 7: its label, its accuracy (%) at the smallest and the largest network
    plotted (equal for a single network), and what it is."""

    label: str
    low: float
    high: float
    what: str

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
                raise ValueError(f"{name}={value!r} must be an accuracy in percent, in (0, 100]")
        if self.low > self.high:
            raise ValueError(f"low={self.low} must be at most high={self.high}")


FIGURE_7: tuple[PaperPoint, ...] = (
    PaperPoint("ResNet-20", 91.5, 95.2, "standard 3×3 convolutions, widths growing"),
    PaperPoint("ResNet-20 + SAL", 90.0, 95.8, "one weight kept per kernel slice"),
    PaperPoint("ResNet-20 + SAL2", 93.3, 95.9, "two weights kept per kernel slice"),
    PaperPoint("ResNet-20 + BinaryConnect", 93.0, 94.35, "1-bit weights"),
    PaperPoint("ResNet-20 + BWN", 92.5, 95.7, "1-bit weights with a scale per filter"),
    PaperPoint("SqueezeNet", 92.2, 92.2, "one network"),
    PaperPoint("MobileNetV2", 94.0, 94.0, "one network"),
)


# How each of Figure 7's ResNet-20 entries stores one weight of a 3×3 kernel, in bits. SAL keeps one weight of
# each 9-weight slice (SAL2: two) with a 4-bit index of its tap; BinaryConnect and BWN keep the sign, and BWN adds
# a 32-bit scale per filter (per output map), which resnet20_memory counts separately.
BITS_PER_WEIGHT: dict[str, float] = {
    "ResNet-20": 32.0,
    "ResNet-20 + SAL": (32 + 4) / 9,
    "ResNet-20 + SAL2": 2 * (32 + 4) / 9,
    "ResNet-20 + BinaryConnect": 1.0,
    "ResNet-20 + BWN": 1.0,
}


def block_kernels(width: float = 1.0) -> list[tuple[int, int]]:
    """(C_in, C_out) of every 3×3 convolution inside ResNet-20's blocks (He et al.'s 16-32-64 channels × width;
    the stem, the 1×1 shortcuts, BatchNorm and the classifier are not in the list)."""
    checks.positive_number("width", width)
    blocks = ResNet20Style("standard", width=width).layers
    return [(m.in_channels, m.out_channels) for m in blocks.modules()
            if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]


def resnet20_memory(label: str, *, width: float = 1.0) -> float:
    """Bytes that Figure 7's entry ``label`` stores for the 3×3 convolutions of ResNet-20's blocks (the layers
    its compression changes; the rest of the network is the same for every entry):

        bytes = Σ_layers 9 · C_in · C_out · BITS_PER_WEIGHT[label] / 8   (+ 4 · C_out per layer for BWN's scales)
    """
    checks.one_of("label", label, tuple(BITS_PER_WEIGHT))
    kernels = block_kernels(width)
    weights = sum(9 * c_in * c_out for c_in, c_out in kernels)
    scales = sum(4 * c_out for _, c_out in kernels) if label == "ResNet-20 + BWN" else 0
    return weights * BITS_PER_WEIGHT[label] / 8 + scales


def short_label(point: PaperPoint) -> str:
    """The tick label: '+ SAL' for 'ResNet-20 + SAL' (the compressions of ResNet-20 follow it)."""
    return point.label.replace("ResNet-20 + ", "+ ")


def plot_paper_points(ax: Axes, points: tuple[PaperPoint, ...] = FIGURE_7, *, color: str = "0.35") -> None:
    """One column per entry: a bar from ``low`` to ``high`` (a curve of Figure 7, smallest to largest
    network) or a diamond (one network), labelled on the x axis; y is the test accuracy in %."""
    if not isinstance(ax, Axes):
        raise ValueError(f"ax={ax!r} must be a matplotlib Axes")
    if not points or not all(isinstance(p, PaperPoint) for p in points):
        raise ValueError("points must be a non-empty tuple of PaperPoint")
    for i, point in enumerate(points):
        if math.isclose(point.low, point.high):
            ax.scatter([i], [point.low], marker="D", s=60, color=color, zorder=3)
        else:
            ax.bar([i], [point.high - point.low], bottom=[point.low], width=0.5, color=color)
    ax.set_xticks(range(len(points)), [short_label(p) for p in points], rotation=45, ha="right",
                  fontsize="small")
    ax.set_xlim(-0.6, len(points) - 0.4)


__all__ = ["PAPER", "PAPER_REGIME", "PaperPoint", "FIGURE_7", "BITS_PER_WEIGHT", "block_kernels", "resnet20_memory",
           "short_label", "plot_paper_points"]
