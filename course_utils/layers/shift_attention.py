"""The Shift Attention Layer (SAL; Hacene et al. 2019, arXiv 1905.12300): a k×k convolution that
learns to become a shift followed by a 1×1 convolution.

Every (output d, input c) slice of the kernel gets attention logits a[d, c, :] over its k² taps
(``shared=True``: one logit vector per input channel, a[c, :], for all outputs). The layer convolves
with the kernel A ⊙ W, where

    A[d, c, :] = softmax( T · a[d, c, :] / std(a[d, c, :]) )        (softmax over the k² taps)

and the temperature T grows during training (geometric schedule 20 → 70 in the authors' code,
driven by :func:`course_utils.experiments.sal.temperature_step_hook`). As T grows each slice of A becomes one-hot: only one
tap of each k×k slice survives. :meth:`ShiftAttentionConv2d.harden` replaces A by its one-hot argmax
and :meth:`~ShiftAttentionConv2d.to_shift` rebuilds the same function from shifts and 1×1
convolutions only:

    y[d] = Σ_c W[d, c, t(d, c)] · shift_{t(d, c)}(x[c])         t(d, c) = argmax_t a[d, c, t]

Memory (the paper's accounting): each kept weight (32 bits) plus a ⌈log2 k²⌉-bit tap index,
i.e. C_in·C_out·(32 + 4)/32 words for k = 3 (shared: C_in·C_out + C_in·4/32).
Follows the authors' public code (eghouti/SAL, ``cifar10/sat.py``): uniform init of a, std over the
k² taps, no sparsity penalty. One difference: their test-time rounding zeroes a slice whose largest
attention is ≤ 0.5; :meth:`harden` always keeps the argmax tap.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..cost import Cost, conv2d_cost, conv_output_size
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral
from .shift import shift_channels

INITIAL_TEMPERATURE = 20.0
FINAL_TEMPERATURE = 70.0


def index_bits(kernel_size: int) -> int:
    """Bits to store which of the k² taps a slice kept: ⌈log2 k²⌉ (4 for k = 3, 0 for k = 1)."""
    checks.odd_positive_int("kernel_size", kernel_size)
    return math.ceil(math.log2(kernel_size * kernel_size))


def sal_memory_words(in_channels: int, out_channels: int, kernel_size: int = 3, shared: bool = False) -> float:
    """Memory of a hardened SAL in 32-bit words (paper): unshared C_in·C_out·(32 + b)/32,
    shared C_in·C_out + C_in·b/32, with b = ⌈log2 k²⌉ index bits."""
    checks.positive_int("in_channels", in_channels)
    checks.positive_int("out_channels", out_channels)
    bits = index_bits(kernel_size)
    if shared:
        return in_channels * out_channels + in_channels * bits / 32
    return in_channels * out_channels * (32 + bits) / 32


class ShiftAttentionConv2d(nn.Module):
    """k×k convolution (padding k//2) whose kernel is A ⊙ W, A = softmax(T·a/std(a)) over the k² taps."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 shared: bool = False, bias: bool = False,
                 temperature: float = INITIAL_TEMPERATURE) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.out_channels = checks.positive_int("out_channels", out_channels)
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.stride = checks.positive_int("stride", stride)
        self.shared = checks.boolean("shared", shared)
        checks.boolean("bias", bias)
        self.initial_temperature = float(checks.positive_number("temperature", temperature))
        taps = kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.attention = nn.Parameter(torch.empty(1 if shared else out_channels, in_channels, taps))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.register_buffer("temperature", torch.tensor(self.initial_temperature))
        self.register_buffer("hardened", torch.tensor(False))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W as ``nn.Conv2d`` initialises it; a ~ U(0, 1) (authors' code); T back to its start; soft again."""
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, bias=self.bias is not None)
        with torch.no_grad():
            self.weight.copy_(conv.weight)
            if self.bias is not None:
                self.bias.copy_(conv.bias)
            self.attention.uniform_(0.0, 1.0)
            self.temperature.fill_(self.initial_temperature)
            self.hardened.fill_(False)

    # --- the attention ----------------------------------------------------------------------
    def set_temperature(self, temperature: float) -> None:
        self.temperature.fill_(float(checks.positive_number("temperature", temperature)))

    def attention_map(self) -> torch.Tensor:
        """A, shape (C_out or 1, C_in, k²): softmax(T·a/std(a)) over the taps, or its one-hot argmax
        once hardened."""
        if bool(self.hardened):
            return F.one_hot(self.attention.argmax(-1), self.attention.shape[-1]).to(self.weight.dtype)
        logits = self.attention / self.attention.std(dim=-1, keepdim=True).clamp_min(1e-12)
        return torch.softmax(self.temperature * logits, dim=-1)

    def kernel(self) -> torch.Tensor:
        """The effective k×k kernel A ⊙ W, shape (C_out, C_in, k, k)."""
        k = self.kernel_size
        return self.attention_map().view(-1, self.in_channels, k, k) * self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        return F.conv2d(x, self.kernel(), self.bias, self.stride, self.kernel_size // 2)

    def one_hot_fraction(self, threshold: float = 0.99) -> float:
        """Fraction of slices A[d, c, :] whose largest entry is ≥ ``threshold`` (one tap holds it all)."""
        checks.fraction("threshold", threshold)
        with torch.no_grad():
            return (self.attention_map().amax(-1) >= threshold).float().mean().item()

    def chosen_taps(self) -> torch.Tensor:
        """t(d, c) = argmax_t a[d, c, t], shape (C_out or 1, C_in), tap t = (dy + r)·k + (dx + r)."""
        return self.attention.detach().argmax(-1)

    # --- pruning to shifts ------------------------------------------------------------------
    def harden(self) -> ShiftAttentionConv2d:
        """Replace A by its one-hot argmax (the kernel keeps one weight per slice). Returns self."""
        self.hardened.fill_(True)
        return self

    @key_neutral(UNUSED_BY_TRAINING)
    def to_shift(self) -> nn.Module:
        """The hardened layer rebuilt from shifts and 1×1 convolutions (no k×k convolution):
        unshared → :class:`ShiftedPointwise`; shared → :class:`ChannelShift` then one 1×1 conv."""
        if not bool(self.hardened):
            raise ValueError("hardened=False: call harden() first; to_shift() reproduces the hardened layer")
        k = self.kernel_size
        taps = self.chosen_taps()
        flat_weight = self.weight.detach().flatten(2)                       # (C_out, C_in, k²)
        index = taps.expand(self.out_channels, -1).unsqueeze(-1)
        kept = flat_weight.gather(2, index).squeeze(-1)                     # W[d, c, t(d, c)]
        bias = None if self.bias is None else self.bias.detach().clone()
        if self.shared:
            shift = ChannelShift(taps[0], k)
            pointwise = nn.Conv2d(self.in_channels, self.out_channels, 1, self.stride, bias=bias is not None)
            with torch.no_grad():
                pointwise.weight.copy_(kept[:, shift.order].view(self.out_channels, self.in_channels, 1, 1))
                if bias is not None:
                    pointwise.bias.copy_(bias)
            return nn.Sequential(shift, pointwise)
        return ShiftedPointwise(kept, taps, k, self.stride, bias)

    # --- cost -------------------------------------------------------------------------------
    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """While training: a dense k×k conv (params also count the attention logits)."""
        h_out, w_out = (conv_output_size(size, self.kernel_size, self.stride, self.kernel_size // 2)
                        for size in input_hw)
        k = self.kernel_size
        dense = conv2d_cost(k, k, self.in_channels, self.out_channels, h_out=h_out, w_out=w_out,
                            bias=self.bias is not None)
        return Cost(params=dense.params + self.attention.numel(), macs=dense.macs)

    @key_neutral(UNUSED_BY_TRAINING)
    def memory_words(self) -> float:
        """Hardened memory in 32-bit words (paper): weights + ⌈log2 k²⌉-bit indices (+ bias)."""
        bias = 0 if self.bias is None else self.out_channels
        return sal_memory_words(self.in_channels, self.out_channels, self.kernel_size, self.shared) + bias

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"shared={self.shared}, bias={self.bias is not None}")


class FrozenAttentionConv2d(ShiftAttentionConv2d):
    """A :class:`ShiftAttentionConv2d` whose attention logits a stay at their random initialisation (a control
    of notebook 06: does SAL *learn* its taps?).

    The kernel is still A ⊙ W with A = softmax(T·a/std(a)), but a is not trained (``requires_grad=False``:
    it gets no gradient, so the optimiser, weight decay included, never changes it). W trains and T may
    follow its schedule, so A sharpens on fixed random taps; :meth:`harden` keeps t(d, c) = argmax a[d, c, :],
    the tap drawn at initialisation: a random fixed shift per (output, input) slice.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 shared: bool = False, bias: bool = False, temperature: float = INITIAL_TEMPERATURE) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, shared=shared, bias=bias,
                         temperature=temperature)
        self.attention.requires_grad_(False)


class RandomTapsConv2d(FrozenAttentionConv2d):
    """A control of notebook 06: one random tap per (output, input) slice, fixed from the first step. The frozen
    attention is hardened from initialisation on (A = one-hot argmax of the random logits a ~ U(0, 1), so a
    uniformly random tap per slice), also after every ``reset_parameters``: only W trains, and the network is
    the same soft or hardened. Against SAL it asks whether *learning* the taps matters, with no hardening step
    to confound the answer."""

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.hardened.fill_(True)


def _tap_offset(tap: int, kernel_size: int) -> tuple[int, int]:
    r = kernel_size // 2
    return tap // kernel_size - r, tap % kernel_size - r


class ShiftedPointwise(nn.Module):
    """Σ over offsets t of a 1×1 conv of the input shifted by t: y[d] = Σ_c W[d, c] · shift_{t(d,c)}(x[c]).

    Stores one weight and one tap index per (d, c) pair. Runs one 1×1 conv per offset in use,
    with the weights of the other offsets masked to 0 (so the executed MACs are n_offsets × the
    C_in·C_out·H·W that a sparse kernel would do; :meth:`cost` reports the latter).
    """

    def __init__(self, weight: torch.Tensor, taps: torch.Tensor, kernel_size: int, stride: int = 1,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        if weight.dim() != 2 or taps.shape != weight.shape:
            raise ValueError(f"weight {tuple(weight.shape)} and taps {tuple(taps.shape)} must both be (C_out, C_in)")
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.stride = checks.positive_int("stride", stride)
        self.weight = nn.Parameter(weight.clone())
        self.bias = None if bias is None else nn.Parameter(bias.clone())
        self.register_buffer("taps", taps.to(torch.uint8 if kernel_size <= 15 else torch.int64))
        self.offsets = [(int(t), *_tap_offset(int(t), kernel_size)) for t in torch.unique(taps).tolist()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c_out, c_in = self.weight.shape
        checks.image_batch(x, c_in)
        out = None
        for tap, dy, dx in self.offsets:
            moved = shift_channels(x, [(0, c_in, dy, dx)])
            mask = (self.taps == tap).to(self.weight.dtype)
            part = F.conv2d(moved, (self.weight * mask).view(c_out, c_in, 1, 1), None, self.stride)
            out = part if out is None else out + part
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Paper accounting: C_in·C_out weights, each used once per output position."""
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in input_hw)
        c_out, c_in = self.weight.shape
        bias = 0 if self.bias is None else c_out
        return Cost(params=c_in * c_out + bias, macs=c_in * c_out * h_out * w_out)


class ChannelShift(nn.Module):
    """Shift channel c by the offset of tap t(c), with the channels reordered by tap so that each
    offset is one contiguous group (then :func:`shift_channels` does one copy per group).
    Output channel j is input channel ``order[j]``; the following 1×1 conv's columns use that order."""

    def __init__(self, taps: torch.Tensor, kernel_size: int) -> None:
        super().__init__()
        if taps.dim() != 1:
            raise ValueError(f"taps of shape {tuple(taps.shape)} must be one tap per channel (C,)")
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        order = torch.argsort(taps, stable=True)
        self.register_buffer("order", order)
        sorted_taps = taps[order].tolist()
        self.groups = []
        for tap in sorted(set(sorted_taps)):
            first = sorted_taps.index(tap)
            end = first + sorted_taps.count(tap)
            self.groups.append((first, end, *_tap_offset(tap, kernel_size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, len(self.order))
        return shift_channels(x.index_select(1, self.order), self.groups)

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        return Cost(params=0, macs=0)
