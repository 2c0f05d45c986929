"""The shift operation (Wu et al. 2017): zero parameters, zero MACs.

Channel c reads its input at one offset (dy, dx) of the k×k neighbourhood:
    out[n, c, y, x] = in[n, c, y + dy, x + dx]   (0 outside the image)
which is what a k×k depthwise convolution whose kernel is one-hot at tap (dy + r, dx + r) computes,
with r = k // 2. The C channels are split into k² contiguous groups of (nearly) equal size, in
row-major tap order: channels [0, C/k²) read tap (−r, −r), the next group (−r, −r+1), ...
Contiguous groups make each group one slice copy, and a figure of the groups easy to read.

Why it is fast (about 1.4× a plain ``clone`` on CPU, see ``benchmarks/shift_speed.py``): a group
of g channels is, for each image, one contiguous run of g·H·W numbers, and shifting every plane by
(dy, dx) is shifting that run by s = dy·W + dx positions. So each group costs ONE long contiguous
copy; the only wrong values it writes are the wrapped-around border rows/columns, which are
exactly the zero-fill strips, overwritten with zeros afterwards (a few % of the tensor).
The backward pass is the opposite shift (the adjoint of a zero-fill shift by d is the zero-fill
shift by −d), so autograd costs the same as the forward.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, shift_conv_cost

Groups = tuple[tuple[int, int, int, int], ...]
_ALIGN_BYTES = 64  # start each destination run on a cache line: unaligned stores cost ~40 % more


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


def _shift_copy(x: torch.Tensor, groups: Groups) -> torch.Tensor:
    """out[:, a:b, y, x] = x[:, a:b, y+dy, x+dx] (0 outside) for each group (a, b, dy, dx).

    One flat copy per group (shift of the group's run by s = dy·W + dx), then zero the strips:
    the |dy| rows and |dx| columns whose source lies outside the image.
    """
    x = x.contiguous()
    n, c, height, width = x.shape
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    plane = height * width
    flat_in, flat_out = x.view(n, c * plane), out.view(n, c * plane)
    align = max(_ALIGN_BYTES // x.element_size(), 1)
    for first, end, dy, dx in groups:
        s = dy * width + dx
        lo, hi = first * plane, end * plane
        if abs(s) < hi - lo:
            if s >= 0:
                flat_out[:, lo:hi - s].copy_(flat_in[:, lo + s:hi])
            else:
                # Any start in [lo, lo − s] is correct (the extra values land in zero strips);
                # pick a cache-aligned one when the source stays inside the tensor.
                start = (-s) // align * align
                if lo + start + s < 0:
                    start = -s
                flat_out[:, lo + start:hi].copy_(flat_in[:, lo + start + s:hi + s])
        group = out[:, first:end]
        if dy > 0:
            group[:, :, max(height - dy, 0):].zero_()
        elif dy < 0:
            group[:, :, :min(-dy, height)].zero_()
        if dx > 0:
            group[:, :, :, max(width - dx, 0):].zero_()
        elif dx < 0:
            group[:, :, :, :min(-dx, width)].zero_()
    return out


class _ShiftFunction(torch.autograd.Function):
    """Zero-fill shift with an explicit backward: the gradient is shifted back by (−dy, −dx)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, groups: Groups) -> torch.Tensor:  # type: ignore[override]
        ctx.groups = groups
        return _shift_copy(x, groups)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        inverse = tuple((first, end, -dy, -dx) for first, end, dy, dx in ctx.groups)
        return _ShiftFunction.apply(grad_out, inverse), None


def shift_channels(x: torch.Tensor, groups: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Apply the shifts to an (N, C, H, W) tensor: one flat slice copy per group, zeros only in the
    uncovered border strips; differentiable (backward = the opposite shift)."""
    return _ShiftFunction.apply(x, tuple(tuple(g) for g in groups))


class Shift2d(nn.Module):
    """Move each channel by its fixed offset of the k×k neighbourhood (no parameters, no MACs)."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.channels = checks.positive_int("channels", channels)
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.groups = shift_groups(channels, kernel_size)
        self._frozen_groups: Groups = tuple(self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.channels)
        return _ShiftFunction.apply(x, self._frozen_groups)

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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 bias: bool = False) -> None:
        super().__init__()
        checks.positive_int("out_channels", out_channels)
        checks.boolean("bias", bias)
        self.stride = checks.positive_int("stride", stride)
        self.shift = Shift2d(in_channels, kernel_size)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.shift.channels)
        return self.pointwise(self.shift(x))

    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input."""
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in input_hw)
        return shift_conv_cost(self.shift.channels, self.pointwise.out_channels, h_out=h_out, w_out=w_out,
                               bias=self.pointwise.bias is not None)
