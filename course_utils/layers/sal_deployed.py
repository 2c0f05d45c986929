"""Deploying a hardened Shift Attention Layer on dense hardware: MACs needed against MACs executed.

A hardened SAL (:class:`~course_utils.layers.ShiftAttentionConv2d` after ``harden()``) keeps one weight
W[d, c] and one tap t(d, c) per (output d, input c) slice:

    y[d] = Σ_c W[d, c] · shift_{t(d, c)}(x[c])          needed: C_in·C_out·H_out·W_out MACs

**Shared** (one tap per input channel, t(d, c) = t(c)): shift every input channel once, then one 1×1
convolution — a dense layer that executes exactly the MACs it needs (``layer.to_shift()``).

**Unshared** (the taps differ per output): no single shifted copy of x[c] serves every output, and
dense hardware runs dense matrix products, so every dense form executes the zeros too:

* *masked* (``layer.to_shift()`` → ``ShiftedPointwise``): one 1×1 conv per tap in use, each with the
  other taps' weights masked to 0 — T·C_in·C_out·H_out·W_out MACs (T ≤ k² taps in use), T calls;
* *gathered* (:class:`GatheredShiftPointwise`): the input shifted once per tap in use, the T copies
  concatenated (T·C_in channels), then ONE 1×1 conv with the kept weights packed into a (C_out, T·C_in)
  matrix, zeros elsewhere — the same T·C_in·C_out·H_out·W_out MACs, one matrix product;
* *k×k conv* (:func:`to_dense_conv`): a plain ``nn.Conv2d`` whose k×k kernel holds W[d, c] at tap
  t(d, c) and (k² − 1)/k² zeros (8/9 for k = 3) — k²·C_in·C_out·H_out·W_out MACs in one call to the
  library's convolution, no shifted copies in memory.

Trained layers use all k² taps (T = k²: every SAL layer of the committed notebook-06 runs does), so on
dense hardware the unshared SAL's saving is memory (one weight + a 4-bit index per slice instead of
nine weights), not time, unless the hardware or a sparse kernel skips the zeros. :func:`deploy` returns the fastest dense form (measured in
``benchmarks/sal_deployment.py``, see ``benchmarks/README.md``); :func:`to_deployed_model` deploys every
SAL layer of a hardened network; :func:`macs_needed`, :func:`macs_executed` and :func:`network_macs`
count both sides.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, count
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral
from .shift_attention import ChannelShift, ShiftAttentionConv2d, ShiftedPointwise, _tap_offset

FORMS = ("auto", "gathered", "conv")
# deploy(form="auto") picks the gathered form when it executes at most this fraction of the k×k conv's
# MACs (T ≤ k²/2 taps in use), else the k×k conv: the gathered form also writes T shifted copies of the
# input, and the library's k×k conv does the same GEMM work without them (benchmarks/README.md).
GATHERED_MAX_TAP_FRACTION = 0.5
# The gathered form shifts a few images at a time, at most this many bytes of shifted copies, so that
# they stay in cache and the allocator reuses the buffer (one copy of the whole batch of 32 images at
# 64 channels, 32×32, is 75 MB, and costs the page faults of a fresh allocation at every call).
GATHER_CHUNK_BYTES = 4 * 2 ** 20


def _kept_weights(layer: ShiftAttentionConv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(W[d, c, t(d, c)], t(d, c)), both (C_out, C_in), of a hardened layer (shared: t(d, c) = t(c))."""
    taps = layer.chosen_taps().expand(layer.out_channels, -1)
    kept = layer.weight.detach().flatten(2).gather(2, taps.unsqueeze(-1)).squeeze(-1)
    return kept, taps


def _check_hardened(layer: object) -> None:
    """Raise ``ValueError`` unless ``layer`` is a hardened ShiftAttentionConv2d or a ShiftedPointwise."""
    if isinstance(layer, ShiftAttentionConv2d):
        if not bool(layer.hardened):
            raise ValueError(f"layer=ShiftAttentionConv2d({layer.extra_repr()}) must be hardened: call "
                             f"layer.harden() first (a soft layer uses all k² taps of every slice)")
    elif not isinstance(layer, ShiftedPointwise):
        raise ValueError(f"layer={type(layer).__name__} must be a hardened ShiftAttentionConv2d or a "
                         f"ShiftedPointwise (its to_shift() form)")


class GatheredShiftPointwise(nn.Module):
    """Hardened unshared SAL as ONE 1×1 convolution over the input shifted once per tap in use.

        X_cat = [shift_{t_1}(x), …, shift_{t_T}(x)]         T·C_in channels (T ≤ k² taps in use)
        P[d, (i, c)] = W[d, c] if t(d, c) = t_i else 0      the (C_out, T·C_in) packed matrix
        y = P · X_cat (+ bias)                              executed: T·C_in·C_out·H_out·W_out MACs

    Stores what the paper counts (one weight and one tap per slice) and packs P at every call
    (T·C_in·C_out writes: 1/(H_out·W_out) of the product's work). The shifted copies are taken at
    the output positions only (stride s: every s-th row and column of the zero-padded input).
    """

    def __init__(self, weight: torch.Tensor, taps: torch.Tensor, kernel_size: int, stride: int = 1, *,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.stride = checks.positive_int("stride", stride)
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or not weight.is_floating_point():
            shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            raise ValueError(f"weight of shape {shape} must be a floating-point (C_out, C_in) tensor")
        if not isinstance(taps, torch.Tensor) or taps.shape != weight.shape or taps.is_floating_point():
            shape = tuple(taps.shape) if isinstance(taps, torch.Tensor) else type(taps).__name__
            raise ValueError(f"taps of shape {shape} must be an integer tensor of the weight's shape "
                             f"{tuple(weight.shape)}: one tap per (output, input) slice")
        taps = taps.long()
        if taps.min() < 0 or taps.max() >= kernel_size ** 2:
            raise ValueError(f"taps={taps.min().item()}…{taps.max().item()} must lie in "
                             f"[0, k²) = [0, {kernel_size ** 2})")
        if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != weight.shape[:1]):
            shape = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
            raise ValueError(f"bias of shape {shape} must be None or a ({weight.shape[0]},) tensor")
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())
        self.register_buffer("taps", taps.to(torch.uint8 if kernel_size <= 15 else torch.int64))
        used = torch.unique(taps)                                        # sorted taps in use: t_1 < … < t_T
        self.register_buffer("used_taps", used)
        slot = torch.full((kernel_size ** 2,), -1, dtype=torch.long)
        slot[used] = torch.arange(len(used))
        self.register_buffer("slots", slot[taps].unsqueeze(1))           # (C_out, 1, C_in): i with t_i = t(d, c)
        self.offsets = [_tap_offset(int(t), kernel_size) for t in used.tolist()]

    @classmethod
    def from_layer(cls, layer: ShiftAttentionConv2d | ShiftedPointwise) -> GatheredShiftPointwise:
        """The same function as a hardened ShiftAttentionConv2d (shared or not) or a ShiftedPointwise."""
        _check_hardened(layer)
        bias = None if layer.bias is None else layer.bias.detach()
        if isinstance(layer, ShiftedPointwise):
            return cls(layer.weight.detach(), layer.taps, layer.kernel_size, layer.stride, bias=bias)
        kept, taps = _kept_weights(layer)
        return cls(kept, taps, layer.kernel_size, layer.stride, bias=bias)

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1]

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    @property
    def taps_in_use(self) -> int:
        """T: how many of the k² taps some slice keeps (the number of shifted copies)."""
        return len(self.offsets)

    def packed_weight(self) -> torch.Tensor:
        """P, shape (C_out, T·C_in): column i·C_in + c holds W[d, c] where t(d, c) = t_i, else 0."""
        c_out, c_in = self.weight.shape
        packed = self.weight.new_zeros(c_out, self.taps_in_use, c_in)
        return packed.scatter(1, self.slots, self.weight.unsqueeze(1)).view(c_out, -1)

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """X_cat, shape (N, T·C_in, H_out, W_out): x shifted by each tap in use, at the output positions:
        X_cat[n, i·C_in + c, y, x'] = x[n, c, s·y + dy_i, s·x' + dx_i] (0 outside the image)."""
        r, s = self.kernel_size // 2, self.stride
        h_out, w_out = (conv_output_size(size, 1, s) for size in x.shape[-2:])
        padded = F.pad(x, (r, r, r, r))
        copies = [padded[:, :, dy + r:dy + r + s * (h_out - 1) + 1:s, dx + r:dx + r + s * (w_out - 1) + 1:s]
                  for dy, dx in self.offsets]
        return torch.cat(copies, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        n = x.shape[0]
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in x.shape[-2:])
        packed = self.packed_weight()
        copy_bytes = self.taps_in_use * self.in_channels * h_out * w_out * x.element_size()
        images = max(1, GATHER_CHUNK_BYTES // copy_bytes)
        parts = [torch.matmul(packed, self.gather(x[first:first + images]).flatten(2))
                 for first in range(0, n, images)]
        out = (parts[0] if len(parts) == 1 else torch.cat(parts)).view(n, self.out_channels, h_out, w_out)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Paper accounting, as ``ShiftedPointwise.cost``: C_in·C_out weights (+ C_out biases), each used
        once per output position (C_in·C_out·H_out·W_out MACs needed; :func:`macs_executed` is T× that)."""
        h_out, w_out = (conv_output_size(size, 1, self.stride) for size in input_hw)
        bias = 0 if self.bias is None else self.out_channels
        return Cost(params=self.weight.numel() + bias, macs=self.weight.numel() * h_out * w_out)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"taps_in_use={self.taps_in_use}, bias={self.bias is not None}")


def to_dense_conv(layer: ShiftAttentionConv2d | ShiftedPointwise) -> nn.Conv2d:
    """The hardened layer as a plain k×k ``nn.Conv2d`` (padding k//2): kernel[d, c] holds W[d, c] at tap
    t(d, c) and zeros at the k² − 1 others. Executes k²·C_in·C_out·H_out·W_out MACs, stores k² weights
    per slice."""
    _check_hardened(layer)
    k = layer.kernel_size
    if isinstance(layer, ShiftedPointwise):
        kept, taps = layer.weight.detach(), layer.taps.long()
    else:
        kept, taps = _kept_weights(layer)
    c_out, c_in = kept.shape
    conv = nn.Conv2d(c_in, c_out, k, layer.stride, padding=k // 2, bias=layer.bias is not None)
    with torch.no_grad():
        kernel = kept.new_zeros(c_out, c_in, k * k).scatter(2, taps.unsqueeze(-1), kept.unsqueeze(-1))
        conv.weight.copy_(kernel.view(c_out, c_in, k, k))
        if layer.bias is not None:
            conv.bias.copy_(layer.bias.detach())
    return conv


def deploy(layer: ShiftAttentionConv2d | ShiftedPointwise, *, form: str = "auto") -> nn.Module:
    """The fastest dense form of a hardened SAL layer (or of its ``ShiftedPointwise``).

    Shared: ``layer.to_shift()`` (channel shift + one 1×1 conv: executes the C_in·C_out·H_out·W_out MACs
    it needs), whatever ``form`` says. Unshared, with T of the k² taps in use:
    ``form="gathered"`` → :class:`GatheredShiftPointwise` (T·C_in·C_out·H_out·W_out MACs);
    ``form="conv"`` → :func:`to_dense_conv` (k²·C_in·C_out·H_out·W_out MACs);
    ``form="auto"`` → gathered if T ≤ GATHERED_MAX_TAP_FRACTION·k², else the k×k conv.
    """
    checks.one_of("form", form, FORMS)
    _check_hardened(layer)
    if isinstance(layer, ShiftAttentionConv2d) and layer.shared:
        return layer.to_shift()
    taps = layer.taps if isinstance(layer, ShiftedPointwise) else layer.chosen_taps()
    if form == "auto":
        used = len(torch.unique(taps))
        form = "gathered" if used <= GATHERED_MAX_TAP_FRACTION * layer.kernel_size ** 2 else "conv"
    return GatheredShiftPointwise.from_layer(layer) if form == "gathered" else to_dense_conv(layer)


def to_deployed_model(model: nn.Module, *, form: str = "auto") -> nn.Module:
    """Replace (in place) every hardened SAL submodule (or ``ShiftedPointwise``) of ``model`` by
    :func:`deploy` of it; returns the model. Nothing is replaced unless every SAL layer is hardened."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    checks.one_of("form", form, FORMS)
    soft = [name for name, m in model.named_modules() if isinstance(m, ShiftAttentionConv2d) and not bool(m.hardened)]
    if soft:
        raise ValueError(f"model has {len(soft)} SAL layer(s) not hardened ({', '.join(soft[:3])}"
                         f"{', …' if len(soft) > 3 else ''}): call course_utils.models.sal.harden(model) first")

    def replace(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if isinstance(child, (ShiftAttentionConv2d, ShiftedPointwise)):
                setattr(parent, name, deploy(child, form=form))
            else:
                replace(child)

    replace(model)
    return model


# --- MACs needed against MACs executed ---------------------------------------------------------
_COUNTED = (ShiftAttentionConv2d, ShiftedPointwise, GatheredShiftPointwise, nn.Conv2d)


def _output_hw(layer: nn.Module, input_hw: tuple[int, int]) -> tuple[int, int]:
    if (not isinstance(input_hw, (tuple, list)) or len(input_hw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_hw)):
        raise ValueError(f"input_hw={input_hw!r} must be a pair (H, W) of positive integers")
    if isinstance(layer, nn.Conv2d):
        return tuple(conv_output_size(size, k, s, p) for size, k, s, p in
                     zip(input_hw, layer.kernel_size, layer.stride, layer.padding))
    return tuple(conv_output_size(size, 1, layer.stride) for size in input_hw)


def _effective_weight(layer: nn.Module) -> torch.Tensor:
    """Every weight the layer multiplies by, zeros included (SAL: the kernel A ⊙ W)."""
    if isinstance(layer, ShiftAttentionConv2d):
        return layer.kernel()
    if isinstance(layer, GatheredShiftPointwise):
        return layer.packed_weight()
    return layer.weight


def _check_counted(layer: object) -> None:
    if isinstance(layer, nn.Sequential) and len(layer) == 2 and isinstance(layer[0], ChannelShift):
        return
    if not isinstance(layer, _COUNTED):
        raise ValueError(f"layer={type(layer).__name__} must be a ShiftAttentionConv2d, ShiftedPointwise, "
                         f"GatheredShiftPointwise, nn.Conv2d or a shared SAL's to_shift() (ChannelShift, 1×1 conv)")


def macs_needed(layer: nn.Module, input_hw: tuple[int, int]) -> int:
    """MACs of one image whose weight is not zero: nnz(weights)·H_out·W_out.

    Hardened SAL (any form): C_in·C_out·H_out·W_out, one per kept weight and output position (the
    paper's count). A soft SAL or a dense conv: every weight, k²·C_in·C_out·H_out·W_out.
    """
    _check_counted(layer)
    if isinstance(layer, nn.Sequential):                                   # shared: ChannelShift, 1×1 conv
        return macs_needed(layer[1], input_hw)
    h_out, w_out = _output_hw(layer, input_hw)
    with torch.no_grad():
        nonzero = int(torch.count_nonzero(_effective_weight(layer)))
    return nonzero * h_out * w_out


def macs_executed(layer: nn.Module, input_hw: tuple[int, int]) -> int:
    """MACs of one image that the layer's forward runs (what ``course_utils.cost.count`` measures):

    ShiftAttentionConv2d (soft or hardened: one k×k conv with A ⊙ W) k²·C_in·C_out·H_out·W_out
    ShiftedPointwise (T masked 1×1 convs, T taps in use)             T·C_in·C_out·H_out·W_out
    GatheredShiftPointwise (one 1×1 conv over T·C_in channels)       T·C_in·C_out·H_out·W_out
    nn.Conv2d (k×l, G groups; the k×k deployed form has G = 1)       k·l·(C_in/G)·C_out·H_out·W_out
    shared SAL's to_shift() (channel shift, one 1×1 conv)            C_in·C_out·H_out·W_out
    """
    _check_counted(layer)
    if isinstance(layer, nn.Sequential):
        return macs_executed(layer[1], input_hw)
    h_out, w_out = _output_hw(layer, input_hw)
    if isinstance(layer, ShiftAttentionConv2d):
        per_position = layer.kernel_size ** 2 * layer.in_channels * layer.out_channels
    elif isinstance(layer, ShiftedPointwise):
        per_position = len(layer.offsets) * layer.weight.numel()
    elif isinstance(layer, GatheredShiftPointwise):
        per_position = layer.taps_in_use * layer.weight.numel()
    else:
        per_position = layer.weight.numel()                                # k·l·(C_in/G)·C_out
    return per_position * h_out * w_out


@dataclass(frozen=True)
class MacCount:
    """MACs a network needs (nonzero weights only) and MACs its forward executes, for one input batch."""

    needed: int
    executed: int

    @property
    def executed_per_needed(self) -> float:
        """executed / needed: 1 for a dense network, ≈ k² for an unshared SAL on dense hardware."""
        return self.executed / self.needed


def network_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> MacCount:
    """MACs needed and executed by ``model`` on one batch of ``input_size`` (N, C, H, W).

    executed = ``count(model, input_size).macs`` (measured: every conv and matrix product run);
    needed   = executed − Σ over its conv-like layers of N·(macs_executed − macs_needed)
    (the products by zero weights that a dense layer runs are not needed).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    if (not isinstance(input_size, (tuple, list)) or len(input_size) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_size)):
        raise ValueError(f"input_size={input_size!r} must be (N, C, H, W), four positive integers")
    seen: list[tuple[nn.Module, tuple[int, int]]] = []
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append((m, tuple(args[0].shape[-2:]))))
             for m in model.modules() if isinstance(m, _COUNTED)]
    try:
        executed = count(model, tuple(input_size)).macs
    finally:
        for hook in hooks:
            hook.remove()
    wasted = sum(macs_executed(m, hw) - macs_needed(m, hw) for m, hw in seen)
    return MacCount(needed=executed - input_size[0] * wasted, executed=executed)


__all__ = ["GatheredShiftPointwise", "to_dense_conv", "deploy", "to_deployed_model", "macs_needed",
           "macs_executed", "MacCount", "network_macs", "FORMS", "GATHERED_MAX_TAP_FRACTION"]
