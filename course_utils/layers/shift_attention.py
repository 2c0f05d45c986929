"""The Shift Attention Layer (SAL; Hacene et al. 2019, arXiv 1905.12300): a k×k convolution that
learns to become a shift followed by a 1×1 convolution.

Every (output d, input c) slice of the kernel gets attention logits a[d, c, :] over its k² taps
(``shared=True``: one logit vector per input channel, a[c, :], for all outputs). The layer convolves
with the kernel A ⊙ W, where

    A[d, c, :] = softmax( T · a[d, c, :] / std(a[d, c, :]) )        (softmax over the k² taps)

and the temperature T grows during training (geometric schedule 20 → 70 in the authors' code,
driven here by :func:`temperature_step_hook`). As T grows each slice of A becomes one-hot: only one
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
from .shift import Shift2d, shift_channels

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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 shared: bool = False, bias: bool = False,
                 temperature: float = INITIAL_TEMPERATURE) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.out_channels = checks.positive_int("out_channels", out_channels)
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.stride = checks.positive_int("stride", stride)
        if not isinstance(shared, bool):
            raise ValueError(f"shared={shared!r} must be True or False")
        self.shared = shared
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
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """While training: a dense k×k conv (params also count the attention logits)."""
        h_out, w_out = (conv_output_size(size, self.kernel_size, self.stride, self.kernel_size // 2)
                        for size in input_hw)
        k = self.kernel_size
        dense = conv2d_cost(k, k, self.in_channels, self.out_channels, h_out, w_out, bias=self.bias is not None)
        return Cost(params=dense.params + self.attention.numel(), macs=dense.macs)

    def memory_words(self) -> float:
        """Hardened memory in 32-bit words (paper): weights + ⌈log2 k²⌉-bit indices (+ bias)."""
        bias = 0 if self.bias is None else self.out_channels
        return sal_memory_words(self.in_channels, self.out_channels, self.kernel_size, self.shared) + bias

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"shared={self.shared}, bias={self.bias is not None}")


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
        out = None
        for tap, dy, dx in self.offsets:
            moved = shift_channels(x, [(0, c_in, dy, dx)])
            mask = (self.taps == tap).to(self.weight.dtype)
            part = F.conv2d(moved, (self.weight * mask).view(c_out, c_in, 1, 1), None, self.stride)
            out = part if out is None else out + part
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out

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
        return shift_channels(x.index_select(1, self.order), self.groups)

    def cost(self, input_hw: tuple[int, int]) -> Cost:
        return Cost(params=0, macs=0)


# --- temperature schedule -------------------------------------------------------------------
def sal_layers(model: nn.Module) -> list[ShiftAttentionConv2d]:
    return [m for m in model.modules() if isinstance(m, ShiftAttentionConv2d)]


def set_temperature(model: nn.Module, temperature: float) -> None:
    """Set T in every ShiftAttentionConv2d of ``model``."""
    for layer in sal_layers(model):
        layer.set_temperature(temperature)


def geometric_temperature(step: int, total_steps: int, start: float = INITIAL_TEMPERATURE,
                          end: float = FINAL_TEMPERATURE) -> float:
    """T(step) = start · (end/start)^(step/(total_steps − 1)): ×(end/start)^(1/(total−1)) every step."""
    checks.non_negative_int("step", step)
    checks.positive_int("total_steps", total_steps)
    checks.positive_number("start", start)
    checks.positive_number("end", end)
    progress = min(step / max(total_steps - 1, 1), 1.0)
    return start * (end / start) ** progress


def temperature_step_hook(model: nn.Module, step: int, total_steps: int) -> None:
    """``train(..., step_hook=temperature_step_hook)``: anneal T geometrically 20 → 70."""
    set_temperature(model, geometric_temperature(step, total_steps))


def harden(model: nn.Module) -> nn.Module:
    """Harden every SAL layer of ``model`` (in place); returns the model."""
    for layer in sal_layers(model):
        layer.harden()
    return model


def one_hot_fraction(model: nn.Module, threshold: float = 0.99) -> float:
    """Fraction of all SAL attention slices in ``model`` that are one-hot (max ≥ threshold)."""
    layers = sal_layers(model)
    if not layers:
        raise ValueError("model has no ShiftAttentionConv2d layer")
    with torch.no_grad():
        peaks = torch.cat([layer.attention_map().amax(-1).flatten() for layer in layers])
    return (peaks >= checks.fraction("threshold", threshold)).float().mean().item()


def to_shift_model(model: nn.Module) -> nn.Module:
    """Replace (in place) every hardened SAL submodule by its :meth:`to_shift` module; returns the model."""
    for name, child in list(model.named_children()):
        if isinstance(child, ShiftAttentionConv2d):
            setattr(model, name, child.to_shift())
        else:
            to_shift_model(child)
    return model


# --- a ResNet-20-style CIFAR network --------------------------------------------------------
def _conv3x3(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if kind == "sal":
        return ShiftAttentionConv2d(in_channels, out_channels, 3, stride)
    if kind == "shift":
        return nn.Sequential(Shift2d(in_channels, 3), nn.Conv2d(in_channels, out_channels, 1, stride, bias=False))
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """He et al.'s CIFAR block: conv3×3 → BN → ReLU → conv3×3 → BN, + shortcut (1×1 conv + BN when
    the shape changes), ReLU. ``kind``: 'standard', 'sal' (both 3×3 are SALs) or 'shift' (shift + 1×1)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, kind: str) -> None:
        super().__init__()
        self.conv1 = _conv3x3(kind, in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(kind, out_channels, out_channels, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet20Style(nn.Module):
    """CIFAR ResNet: 3×3 stem (always standard) → 3 stages of ``blocks`` BasicBlocks with
    width·(16, 32, 64) channels, strides 1, 2, 2 → global average pool → linear. blocks=3 is ResNet-20."""

    def __init__(self, kind: str = "standard", width: float = 1.0, blocks: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        if kind not in ("standard", "sal", "shift"):
            raise ValueError(f"kind={kind!r} must be 'standard', 'sal' or 'shift'")
        checks.positive_number("width", width)
        checks.positive_int("blocks", blocks)
        checks.positive_int("num_classes", num_classes)
        self.kind = kind
        channels = [max(1, round(width * c)) for c in (16, 32, 64)]
        self.stem = nn.Sequential(nn.Conv2d(3, channels[0], 3, 1, 1, bias=False), nn.BatchNorm2d(channels[0]),
                                  nn.ReLU(inplace=True))
        layers, in_channels = [], channels[0]
        for stage, out_channels in enumerate(channels):
            for i in range(blocks):
                layers.append(BasicBlock(in_channels, out_channels, 2 if stage > 0 and i == 0 else 1, kind))
                in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


def memory_words(model: nn.Module) -> float:
    """Model memory in 32-bit words, the paper's way: every parameter is one word, except that a
    SAL layer counts its hardened size (kept weights + tap indices; the attention logits are
    training-only) and a fixed shift costs nothing."""
    total = 0.0
    for module in model.modules():
        if isinstance(module, ShiftAttentionConv2d):
            total += module.memory_words()
        elif isinstance(module, ShiftedPointwise):
            total += sal_memory_words(module.weight.shape[1], module.weight.shape[0], module.kernel_size)
            total += 0 if module.bias is None else module.bias.numel()
        elif isinstance(module, ChannelShift):
            total += len(module.order) * index_bits(module.kernel_size) / 32
        else:
            total += sum(p.numel() for p in module.parameters(recurse=False))
    return total
