"""The shift operation (Wu et al. 2017): zero parameters, zero MACs.

Channel c reads its input at one offset (dy, dx) of the k×k neighbourhood:
    out[n, c, y, x] = in[n, c, y + dy, x + dx]   (0 outside the image)
which is what a k×k depthwise convolution whose kernel is one-hot at tap (dy + r, dx + r) computes,
with r = k // 2. The C channels are split into k² contiguous groups of (nearly) equal size, in
row-major tap order: channels [0, C/k²) read tap (−r, −r), the next group (−r, −r+1), ...
Contiguous groups make each group one slice copy, and a figure of the groups easy to read.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, shift_conv_cost


def shift_groups(channels: int, kernel_size: int) -> list[tuple[int, int, int, int]]:
    """(first channel, end channel, dy, dx) of each non-empty group; tap t gets channels
    [⌊t·C/k²⌋, ⌊(t+1)·C/k²⌋)."""
    checks.positive_int("channels", channels)
    checks.odd_positive_int("kernel_size", kernel_size)
    taps = kernel_size * kernel_size
    r = kernel_size // 2
    groups = []
    for t in range(taps):
        start, end = t * channels // taps, (t + 1) * channels // taps
        if end > start:
            groups.append((start, end, t // kernel_size - r, t % kernel_size - r))
    return groups


def shift_channels(x: torch.Tensor, groups: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Apply the shifts: one slice copy per group, zeros only in the uncovered border strips."""
    out = torch.empty_like(x)
    height, width = x.shape[-2:]
    for start, end, dy, dx in groups:
        src, dst = x[:, start:end], out[:, start:end]
        rows = slice(max(dy, 0), height + min(dy, 0)), slice(max(-dy, 0), height + min(-dy, 0))
        cols = slice(max(dx, 0), width + min(dx, 0)), slice(max(-dx, 0), width + min(-dx, 0))
        dst[:, :, rows[1], cols[1]] = src[:, :, rows[0], cols[0]]
        if dy > 0:
            dst[:, :, height - dy:, :] = 0
        elif dy < 0:
            dst[:, :, :-dy, :] = 0
        if dx > 0:
            dst[:, :, :, width - dx:] = 0
        elif dx < 0:
            dst[:, :, :, :-dx] = 0
    return out


class Shift2d(nn.Module):
    """Move each channel by its fixed offset of the k×k neighbourhood (no parameters, no MACs)."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.channels = checks.positive_int("channels", channels)
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.groups = shift_groups(channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"input shape {tuple(x.shape)} must be (N, {self.channels}, H, W)")
        return shift_channels(x, self.groups)

    def offsets(self) -> torch.Tensor:
        """(C, 2) tensor: the (dy, dx) each channel reads from."""
        table = torch.zeros(self.channels, 2, dtype=torch.long)
        for start, end, dy, dx in self.groups:
            table[start:end] = torch.tensor([dy, dx])
        return table

    def cost(self, input_hw: tuple[int, int]) -> Cost:
        return Cost(params=0, macs=0)

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}"


class ShiftConv2d(nn.Module):
    """Shift (free) then 1×1 convolution: the k×k spatial mixing of a conv at the price of a 1×1.

    params = MACs per position = C_in·C_out, whatever k is.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 bias: bool = False) -> None:
        super().__init__()
        checks.positive_int("out_channels", out_channels)
        self.stride = checks.positive_int("stride", stride)
        self.shift = Shift2d(in_channels, kernel_size)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.shift(x))

    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input."""
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in input_hw)
        return shift_conv_cost(self.shift.channels, self.pointwise.out_channels, h_out, w_out,
                               bias=self.pointwise.bias is not None)
