"""The shift operation (Wu et al. 2017): zero parameters, zero MACs.

Channel c reads its input at one offset (dy, dx) of the k×k neighbourhood:
    out[n, c, y, x] = in[n, c, y + dy, x + dx]   (0 outside the image)
which is what a k×k depthwise convolution whose kernel is one-hot at tap (dy + r, dx + r) computes,
with r = k // 2. The C channels are split into k² contiguous groups of (nearly) equal size, in
row-major tap order: channels [0, C/k²) read tap (−r, −r), the next group (−r, −r+1), ...
Contiguous groups make each group one slice copy, and a figure of the groups easy to read.

Why it is fast (one pass over memory, like a plain ``clone``; see ``benchmarks/shift_speed.py``):
in the flattened plane (position p = y·W + x) a shift by (dy, dx) is a shift by s = dy·W + dx, so a
plane is ONE long copy; its only wrong values are the wrapped-around border rows/columns, exactly
the zero-fill strips. On CPU, float32, a small compiled kernel (``shift_kernel.c``, built on first use
by :mod:`.shift_native`) copies each plane that way and zeros its side strips while the plane is
still in the cache. Elsewhere (GPU, other dtypes, no C compiler) :func:`_shift_copy_torch` gives the
same bits with torch operations: a group of g channels is, for each image, one contiguous run of
g·H·W numbers, shifted by s as a whole, and each group is ONE operation, out = shifted input AND
keep-mask (bitwise, on the floats' bits: an exact copy inside the image, +0.0 in the strips).
The backward pass is the opposite shift (the adjoint of a zero-fill shift by d is the zero-fill
shift by −d), so autograd costs the same as the forward.
"""
from __future__ import annotations

import functools

import torch
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, shift_conv_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral
from . import shift_native

Groups = tuple[tuple[int, int, int, int], ...]
_BITS = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}  # same-size integer view of each float


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


@functools.lru_cache(maxsize=256)
def _keep_mask(height: int, width: int, dy: int, dx: int, bits: torch.dtype, device: torch.device) -> torch.Tensor:
    """(H·W,) integer mask of the positions p = y·W + x that read inside the image: all bits set
    (−1) where 0 ≤ y + dy < H and 0 ≤ x + dx < W, 0 in the border strips. Cached (it is tiny)."""
    mask = torch.zeros(height, width, dtype=bits)
    mask[max(-dy, 0):height - max(dy, 0), max(-dx, 0):width - max(dx, 0)] = -1
    return mask.flatten().to(device)


def _shift_copy_torch(x: torch.Tensor, groups: Groups) -> torch.Tensor:
    """out[:, a:b, y, x] = x[:, a:b, y+dy, x+dx] (0 outside) for each group (a, b, dy, dx).

    In the flattened plane (position p = y·W + x) a shift by (dy, dx) is a shift by s = dy·W + dx:
        out[n, c, p] = x[n, c, p + s] AND keep[p]
    where keep (:func:`_keep_mask`) has all bits set where the source pixel is inside the image
    and none in the border strips. The AND acts on the bits (each float viewed as an integer of
    the same size), so it copies every value exactly and writes +0.0 in the strips: one operation
    and ONE pass over memory per group. In a strip, p + s points into the neighbouring plane, whose
    value the mask drops; only before the first plane of the tensor and after its last one would
    it point outside x, so there the positions are cut to those that stay inside, and the cut-off
    ones (all in strips) are zeroed. Inputs of another layout (channels_last) are made contiguous
    first; the output is contiguous.
    """
    x = x.contiguous()
    n, c, height, width = x.shape
    plane = height * width
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    if out.numel() == 0:
        return out
    bits = _BITS[x.element_size()]
    x_bits, out_bits = x.view(bits), out.view(bits).view(n, c, plane)
    for first, end, dy, dx in groups:
        group_out = out_bits[:, first:end]
        if abs(dy) >= height or abs(dx) >= width:          # every source pixel is outside the image
            group_out.zero_()
            continue
        s = dy * width + dx
        start = -s if first * plane + s < 0 else 0          # would read before x's first element
        stop = plane - s if end * plane + s > c * plane else plane  # would read past x's last element
        source = x_bits.as_strided((n, end - first, stop - start), (c * plane, plane, 1),
                                   x_bits.storage_offset() + first * plane + start + s)
        keep = _keep_mask(height, width, dy, dx, bits, x.device)
        torch.bitwise_and(source, keep[start:stop], out=group_out[:, :, start:stop])
        if start > 0:
            group_out[:, :, :start].zero_()
        if stop < plane:
            group_out[:, :, stop:].zero_()
    return out


@functools.lru_cache(maxsize=256)
def _channel_offsets(groups: Groups, channels: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(dy, dx): int64 tensors of shape (C,), each channel's offset, for the compiled kernel; None
    unless the groups cover the channels [0, C) exactly once."""
    dy = torch.zeros(channels, dtype=torch.int64)
    dx = torch.zeros(channels, dtype=torch.int64)
    covered = torch.zeros(channels, dtype=torch.int64)
    for first, end, group_dy, group_dx in groups:
        if not 0 <= first <= end <= channels:
            return None
        dy[first:end], dx[first:end] = group_dy, group_dx
        covered[first:end] += 1
    return (dy, dx) if bool((covered == 1).all()) else None


IMPLEMENTATIONS = ("auto", "torch")   # "auto": the compiled kernel where it applies; "torch": torch ops only


def _shift_copy(x: torch.Tensor, groups: Groups, implementation: str) -> torch.Tensor:
    """The shift of :func:`_shift_copy_torch`; with implementation="auto", by the compiled kernel
    where it applies (a float32 CPU tensor, groups covering every channel once): the same bits."""
    if (implementation == "auto" and x.device.type == "cpu" and x.dtype == torch.float32 and x.numel() > 0
            and shift_native.available()):
        offsets = _channel_offsets(groups, x.shape[1])
        if offsets is not None:
            x = x.contiguous()
            out = torch.empty_like(x, memory_format=torch.contiguous_format)
            shift_native.shift_planes(x, out, *offsets)
            return out
    return _shift_copy_torch(x, groups)


@functools.lru_cache(maxsize=256)
def _opposite(groups: Groups) -> Groups:
    return tuple((first, end, -dy, -dx) for first, end, dy, dx in groups)


class _ShiftFunction(torch.autograd.Function):
    """Zero-fill shift with an explicit backward: the gradient is shifted back by (−dy, −dx)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, groups: Groups, implementation: str) -> torch.Tensor:  # type: ignore[override]
        ctx.groups, ctx.implementation = groups, implementation
        return _shift_copy(x, groups, implementation)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        if torch.is_grad_enabled():        # create_graph=True: the gradient must be differentiable too
            return _ShiftFunction.apply(grad_out, _opposite(ctx.groups), ctx.implementation), None, None
        return _shift_copy(grad_out, _opposite(ctx.groups), ctx.implementation), None, None


def shift_channels(x: torch.Tensor, groups: list[tuple[int, int, int, int]], *,
                   implementation: str = "auto") -> torch.Tensor:
    """Apply the shifts to an (N, C, H, W) tensor, zeros in the uncovered border strips;
    differentiable (backward = the opposite shift). implementation="torch" uses torch operations only
    (what GPUs and machines without a C compiler run); "auto" takes the compiled kernel where it
    applies. Both give the same bits."""
    checks.one_of("implementation", implementation, IMPLEMENTATIONS)
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x={type(x).__name__} must be a tensor of shape (N, C, H, W)")
    channels = x.shape[1]
    for group in groups:
        if (not isinstance(group, (tuple, list)) or len(group) != 4 or not all(checks.is_int(v) for v in group)
                or not 0 <= group[0] <= group[1] <= channels):
            raise ValueError(f"groups holds {group!r}: each group must be 4 integers (first, end, dy, dx) with "
                             f"0 <= first <= end <= C = {channels} (the channels it moves)")
    return _ShiftFunction.apply(x, tuple(tuple(int(v) for v in g) for g in groups), implementation)


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
        return _ShiftFunction.apply(x, self._frozen_groups, "auto")

    def offsets(self) -> torch.Tensor:
        """(C, 2) tensor: the (dy, dx) each channel reads from."""
        table = torch.zeros(self.channels, 2, dtype=torch.long)
        for start, end, dy, dx in self.groups:
            table[start:end] = torch.tensor([dy, dx])
        return table

    @key_neutral(UNUSED_BY_TRAINING)
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

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input."""
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in input_hw)
        return shift_conv_cost(self.shift.channels, self.pointwise.out_channels, h_out=h_out, w_out=w_out,
                               bias=self.pointwise.bias is not None)
