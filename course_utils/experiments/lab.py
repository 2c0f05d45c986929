"""The operator lab (notebook 07): every Session-5 operator in the body of the same course baseline.

A lab *variant* is an operator of the registry (``course_utils.operators``) at a width:
``BaselineCNN(operator, width)``, the course baseline with its 3×3 body convolutions replaced by the operator's
block and every layer's channels multiplied by ``width``. ``LAB`` says, for each operator, the three widths of
its width curve (a factor of 2 apart, chosen so that the curves overlap in MACs and parameters: the
3×3-cost operators go narrower, the cheap ones wider, the inverted residual, t = 6, narrowest) and the one
width of notebook 07's single-width table. Adding an operator to the lab is one entry here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import checks
from ..models.baseline import BaselineCNN
from ..models.sal import deployed_cost
from ..operators import OPERATORS

SEEDS: tuple[int, ...] = (0, 1, 2)
LAB_PREFIX = "nb07_"


@dataclass(frozen=True)
class LabOperator:
    """One operator of the lab: its registry name, the widths of its curve, and its width in the lab's table."""

    name: str
    widths: tuple[float, ...]
    width: float

    def __post_init__(self) -> None:
        if self.name not in OPERATORS or OPERATORS[self.name].block is None:
            raise ValueError(f"name={self.name!r} must be an operator of the registry with a block "
                             f"({[n for n, op in OPERATORS.items() if op.block is not None]})")
        if not self.widths or self.width not in self.widths:
            raise ValueError(f"width={self.width} must be one of widths={self.widths}")
        for width in self.widths:
            checks.positive_number("widths", width)

    @property
    def label(self) -> str:
        return OPERATORS[self.name].label


LAB: dict[str, LabOperator] = {op.name: op for op in (
    LabOperator("standard", (0.25, 0.5, 1.0), 1.0),
    LabOperator("decomposed", (0.25, 0.5, 1.0), 1.0),
    LabOperator("fire", (0.5, 1.0, 2.0), 1.0),
    LabOperator("depthwise_separable", (0.5, 1.0, 2.0), 1.0),
    LabOperator("inverted_residual", (0.125, 0.25, 0.5), 0.5),
    LabOperator("shift", (0.5, 1.0, 2.0), 1.0),
    LabOperator("sal", (0.25, 0.5, 1.0), 1.0),
    LabOperator("shuffle", (0.5, 1.0, 2.0), 2.0),
)}


def lab_operator(variant: str) -> LabOperator:
    """The lab's entry for ``variant``, or a ValueError listing the lab's operators."""
    if variant not in LAB:
        raise ValueError(f"variant={variant!r} must be one of {list(LAB)}")
    return LAB[variant]


def lab_model(variant: str, width: float | None = None) -> BaselineCNN:
    """The course baseline with the variant's operator, at the lab's width (or ``width``)."""
    entry = lab_operator(variant)
    return BaselineCNN(variant, entry.width if width is None else checks.positive_number("width", width))


# Widths tried when matching an operator's cost to a target (matched_width): 0.10, 0.15, ..., 4.00.
MATCHED_WIDTH_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(2, 81))


def deployed_macs(variant: str, width: float) -> int | None:
    """MACs of one 32×32 image through the lab network, counted as deployed (SAL hardened: ``models.sal``); None
    where the operator cannot be built at this width (channels its groups do not divide)."""
    try:
        return deployed_cost(lab_model(variant, width), (1, 3, 32, 32)).macs
    except ValueError:
        return None


def matched_width(variant: str, macs: int, grid: tuple[float, ...] = MATCHED_WIDTH_GRID) -> float:
    """The width of ``grid`` whose network does the MACs nearest to ``macs`` (nearest in ratio: |log(MACs/macs)|)."""
    checks.positive_int("macs", macs)
    costs = {width: deployed_macs(variant, width) for width in grid}
    built = {width: cost for width, cost in costs.items() if cost}
    if not built:
        raise ValueError(f"variant={variant!r} builds at none of the widths of grid={grid}")
    return min(built, key=lambda width: abs(math.log(built[width] / macs)))


def run_name(variant: str, *, width: float | None = None, seed: int = 0, prefix: str = LAB_PREFIX) -> str:
    """A lab run's name: ``<prefix><variant>``, then ``_w<width>`` unless it is the lab's width, then
    ``_seed<seed>`` unless seed 0 (``nb07_fire``, ``nb07_fire_w2.0_seed1``)."""
    entry = lab_operator(variant)
    checks.non_negative_int("seed", seed)
    name = f"{prefix}{variant}"
    if width is not None and checks.positive_number("width", width) != entry.width:
        name += f"_w{float(width)}"
    return name + (f"_seed{seed}" if seed else "")


__all__ = ["SEEDS", "LAB_PREFIX", "LabOperator", "LAB", "lab_operator", "lab_model", "MATCHED_WIDTH_GRID",
           "deployed_macs", "matched_width", "run_name"]
