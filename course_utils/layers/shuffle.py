"""ShuffleNet's channel shuffle and unit (Zhang, Zhou, Lin, Sun, CVPR 2018, arXiv 1707.01083).

Grouped 1×1 convolutions make the pointwise layers G times cheaper, but stacked grouped layers never mix their
groups: output group g only ever sees input group g. The channel shuffle fixes that for free: it deals the
channels of each group out to every group, so the next grouped layer reads a little of every group.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, shuffle_bottleneck, shuffle_unit_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral


class ChannelShuffle(nn.Module):
    """Channel c = g·(C/G) + i (member i of group g) moves to position i·G + g: view the C channels as a G × C/G
    table, transpose it, read it back. A permutation: no parameters, no MACs; ``ChannelShuffle(C // G)`` undoes it."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = checks.positive_int("groups", groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        checks.divides("groups", self.groups, "channels", c)
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleUnit(nn.Module):
    """grouped 1×1 (C_in → m, G groups) + BN + ReLU → channel shuffle → 3×3 depthwise (stride s) + BN →
    grouped 1×1 (m → C_branch) + BN; then ReLU(x + branch) at stride 1 with C_in = C_out, or
    ReLU(concat(avg-pool 3×3/2 of x, branch)) at stride 2, where C_branch = C_out − C_in.

    m = :func:`~course_utils.cost.shuffle_bottleneck` (C_out/4, the paper's bottleneck, rounded up to a multiple
    of G). MACs = H·W·C_in·m/G + H'·W'·9·m + H'·W'·m·C_branch/G. ``groups`` is keyword-only:
    ``ShuffleUnit(64, 64, 1, groups=4)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, groups: int) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.out_channels = checks.positive_int("out_channels", out_channels)
        self.stride = checks.one_of("stride", stride, (1, 2))
        self.groups = checks.positive_int("groups", groups)
        branch = out_channels - in_channels if stride == 2 else out_channels
        if branch < 1:
            raise ValueError(f"out_channels={out_channels} must exceed in_channels={in_channels} at stride 2: the "
                             "unit concatenates the pooled input beside its branch")
        bottleneck = shuffle_bottleneck(out_channels, groups)
        checks.divides("groups", groups, "in_channels", in_channels)
        checks.divides("groups", groups, "the branch's out_channels", branch)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, bottleneck, 1, groups=groups, bias=False), nn.BatchNorm2d(bottleneck),
            nn.ReLU(inplace=True),
            ChannelShuffle(groups),
            nn.Conv2d(bottleneck, bottleneck, 3, stride, 1, groups=bottleneck, bias=False), nn.BatchNorm2d(bottleneck),
            nn.Conv2d(bottleneck, branch, 1, groups=groups, bias=False), nn.BatchNorm2d(branch),
        )
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        if self.shortcut is not None:
            out = torch.cat([self.shortcut(x), self.branch(x)], dim=1)
        else:
            out = self.branch(x)
            if self.use_residual:
                out = x + out
        return out.relu_()          # in place: the sum (or concatenation) is not needed afterwards

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params (BatchNorm included) and MACs for one (C_in, H, W) input."""
        h, w = input_hw
        return shuffle_unit_cost(self.in_channels, self.out_channels, h_in=h, w_in=w, stride=self.stride,
                                 groups=self.groups)


__all__ = ["ChannelShuffle", "ShuffleUnit"]
