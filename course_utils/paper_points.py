"""The published points of the SAL paper's Figure 7, to plot next to this course's own runs.

Source: G. B. Hacene, C. Lassance, V. Gripon, M. Courbariaux, Y. Bengio, *Attention Based Pruning for
Shift Networks*, ICPR 2020, arXiv:1905.12300, Figure 7 ("Evolution of accuracy when applying compression
methods on different DNN architectures trained on CIFAR10"; also the Session 5 slides). Their regime:
the full CIFAR-10 training set (50,000 images), 300 epochs, GPU.

The accuracies below are read off the published figure (about ±0.5 point): a curve is given by its two
ends, from its smallest to its largest network (``low`` → ``high``), a single network by ``low == high``.
Only the accuracies are recorded, not the figure's memory coordinates, so :func:`plot_paper_points`
draws each entry as an accuracy range, one column per method, on an accuracy axis that can be shared
with a plot of our own runs (accuracy against memory).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.axes import Axes

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


__all__ = ["PAPER", "PAPER_REGIME", "PaperPoint", "FIGURE_7", "short_label", "plot_paper_points"]
