"""The operator registry: every Session-5 operator, written once.

Each entry of ``OPERATORS`` says, for one operator:

* ``name``    — its key (``baseline_cnn(block=name)``, ``CostExplorer(operators=[name, ...])``);
* ``label``   — how figures and tables name it;
* ``formula`` — its MACs per output position, as the slides write them;
* ``cost``    — its analytic cost for a :class:`LayerShape` (what the cost explorer draws);
* ``activations`` — its peak live activations for a :class:`LayerShape`, in values for one image
  (MCUNet's accounting, ``course_utils.memory``; × 4 bytes in float32);
* ``layer``   — the bare operator mapping C maps to C maps, 3×3, stride 1 (the single-layer latency set);
* ``block``   — ``(in_channels, out_channels, stride) -> nn.Module``: the operator *with* its
  normalisation and activation, as the course baseline's body uses it (``None`` for an operator that
  cannot map C_in maps to any C_out maps on its own: grouped and depthwise convolutions).

The cost explorer (``course_utils.widgets``), the baseline's blocks (``models.baseline.block_builder``), the
operator lab (``experiments.lab.LAB``) and the latency set (:func:`single_layer_operators`) all read this
table. Adding an operator is its layer file in ``course_utils/layers/``, its cost function in
``course_utils/cost.py``, one entry here and, to train it in the lab, one entry in ``experiments.lab.LAB``.

Accounting (``cost``): the multiply-accumulates and the weights of the convolutions only, for every
operator: no biases, no BatchNorm; a shift is free, and SAL is counted as deployed (hardened: a learned
shift + 1×1 convolution, one weight per input/output pair).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from . import checks
from .cost import (Cost, conv2d_cost, decomposed_conv_cost, depthwise_conv_cost, depthwise_separable_cost,
                   expanded_channels, fire_cost, fire_widths, grouped_conv_cost, inverted_residual_cost,
                   shift_conv_cost, shuffle_bottleneck, shuffle_unit_cost)
from .layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire, InvertedResidual, Shift2d,
                     ShiftAttentionConv2d, ShiftConv2d, ShuffleUnit)
from .layers.conv_bn import conv_bn_act

BlockBuilder = Callable[[int, int, int], nn.Module]

ACCOUNTING = ("Counted the same way for every operator: multiply-accumulates (MACs) and weights of the "
              "convolutions only (no biases, no BatchNorm); a shift is free, and SAL is counted hardened "
              "(a learned shift + 1×1 convolution).")


@dataclass(frozen=True)
class LayerShape:
    """The knobs of the cost explorer: kernel (k, l), channels, depth multiplier D, groups G, size H×W,
    and MobileNetV2's expansion t. Every operator maps C_in maps of H×W to C_out maps of H×W (stride 1)."""

    k: int = 3
    l: int = 3
    c_in: int = 64
    c_out: int = 64
    d: int = 1
    groups: int = 4
    h: int = 32
    w: int = 32
    t: int = 6


# --- the blocks of the course baseline: operator + normalisation + activation ----------------
def standard_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """The standard block: 3×3 conv (no bias) → BatchNorm → ReLU.  MACs per position: 9·C_in·C_out."""
    return conv_bn_act(in_channels, out_channels, 3, stride)


def decomposed_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3×1 then 1×3 conv → BatchNorm → ReLU.  MACs per position: 3·C_in·C_out + 3·C_out²."""
    return nn.Sequential(DecomposedConv2d(in_channels, out_channels, 3, stride, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def depthwise_separable_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """3×3 depthwise + BN + ReLU → 1×1 pointwise + BN + ReLU.  MACs per position: 9·C_in + C_in·C_out."""
    return DepthwiseSeparableConv2d(in_channels, out_channels, 3, stride)


def fire_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Fire (squeeze to C_out/8, expand half 1×1, half 3×3: :func:`fire_widths`) → BatchNorm;
    a 2×2 max-pool for stride 2."""
    squeeze, expand1x1, expand3x3 = fire_widths(out_channels)
    layers: list[nn.Module] = [Fire(in_channels, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3),
                               nn.BatchNorm2d(out_channels)]
    if stride > 1:
        layers.append(nn.MaxPool2d(stride))
    return nn.Sequential(*layers)


def inverted_residual_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """MobileNetV2's inverted residual, expansion t = 6 (BN inside, linear bottleneck)."""
    return InvertedResidual(in_channels, out_channels, stride, expand_ratio=6)


def shift_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Shift (free) → 1×1 conv → BatchNorm → ReLU.  MACs per position: C_in·C_out."""
    return nn.Sequential(ShiftConv2d(in_channels, out_channels, 3, stride),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


# ShuffleNet's group count in the lab: G = 4 divides every grouped layer of the course baseline at the lab's
# widths (C_in, the bottleneck C_out/4 and the branch's C_out or C_out − C_in). The paper's G = 3 does not.
SHUFFLE_GROUPS = 4


def shuffle_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """ShuffleNet's unit, G = ``SHUFFLE_GROUPS`` (BN inside; its own shortcut: a sum, or a concatenation at stride 2)."""
    return ShuffleUnit(in_channels, out_channels, stride, groups=SHUFFLE_GROUPS)


def sal_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Shift Attention Layer (3×3, A ⊙ W) → BatchNorm → ReLU; hardened, it is a learned shift + 1×1."""
    return nn.Sequential(ShiftAttentionConv2d(in_channels, out_channels, 3, stride),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


# --- the costs the explorer draws (convolutions only, see ACCOUNTING) ------------------------
def _standard_cost(s: LayerShape) -> Cost:
    return conv2d_cost(s.k, s.l, s.c_in, s.c_out, h_out=s.h, w_out=s.w)


def _decomposed_cost(s: LayerShape) -> Cost:
    return decomposed_conv_cost(s.k, s.l, s.c_in, s.c_out, h_out=s.h, w_out=s.w)


def _grouped_cost(s: LayerShape) -> Cost:
    return grouped_conv_cost(s.k, s.l, s.c_in, s.c_out, groups=s.groups, h_out=s.h, w_out=s.w)


def _depthwise_cost(s: LayerShape) -> Cost:
    return depthwise_conv_cost(s.k, s.l, s.c_in, depth_multiplier=s.d, h_out=s.h, w_out=s.w)


def _depthwise_separable_cost(s: LayerShape) -> Cost:
    return depthwise_separable_cost(s.k, s.l, s.c_in, s.c_out, h_out=s.h, w_out=s.w, depth_multiplier=s.d,
                                    batchnorm=False)


def _fire_cost(s: LayerShape) -> Cost:
    squeeze, expand1x1, expand3x3 = fire_widths(s.c_out)
    return fire_cost(s.c_in, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3, h_out=s.h, w_out=s.w,
                     kernel_size=(s.k, s.l), bias=False)


def _inverted_residual_cost(s: LayerShape) -> Cost:
    return inverted_residual_cost(s.c_in, s.c_out, h_in=s.h, w_in=s.w, expand_ratio=s.t, kernel_size=(s.k, s.l),
                                  batchnorm=False)


def _shift_cost(s: LayerShape) -> Cost:
    return shift_conv_cost(s.c_in, s.c_out, h_out=s.h, w_out=s.w)


# --- peak live activations (MCUNet's accounting, course_utils.memory): values for one image ------
# A layer holds its input and its output while it runs; a block's peak is its worst step. BatchNorm is folded
# into the convolution and the ReLUs work in place, as deployed (course_utils.folding). X = H·W, stride 1.
def _conv_activations(s: LayerShape) -> int:
    """One convolution (standard or grouped): input + output = (C_in + C_out)·X."""
    return (s.c_in + s.c_out) * s.h * s.w


def _decomposed_activations(s: LayerShape) -> int:
    """(k,1) writes C_out middle maps, (1,l) reads them: max(C_in + C_out, C_out + C_out)·X."""
    return max(s.c_in + s.c_out, 2 * s.c_out) * s.h * s.w


def _depthwise_activations(s: LayerShape) -> int:
    """Depthwise, D maps per input map: (C_in + D·C_in)·X."""
    return (s.c_in + s.d * s.c_in) * s.h * s.w


def _depthwise_separable_activations(s: LayerShape) -> int:
    """Depthwise then pointwise: max(C_in + D·C_in, D·C_in + C_out)·X."""
    return max(s.c_in + s.d * s.c_in, s.d * s.c_in + s.c_out) * s.h * s.w


def _fire_activations(s: LayerShape) -> int:
    """squeeze: C_in + s; expand 3×3 while the finished 1×1 branch waits: s + e1 + e3; concatenation:
    e1 + e3 in, e1 + e3 out.  max(C_in + s, s + e1 + e3, 2·(e1 + e3))·X."""
    squeeze, expand1x1, expand3x3 = fire_widths(s.c_out)
    expands = expand1x1 + expand3x3
    return max(s.c_in + squeeze, squeeze + expands, 2 * expands) * s.h * s.w


def _inverted_residual_activations(s: LayerShape) -> int:
    """Hidden width T = t·C_in; the input x (C_in maps) stays alive when there is a residual (C_in = C_out):
    expand C_in + T; depthwise T + T (+ C_in); project T + C_out (+ C_in); add C_in + C_out in, C_out out.
    With t = 1 there is no expand, and the depthwise reads x itself: C_in + T."""
    hidden = expanded_channels(s.c_in, s.t)
    kept = s.c_in if s.c_in == s.c_out else 0
    steps = [hidden + s.c_out + kept, s.c_in + hidden if s.t == 1 else 2 * hidden + kept]
    if s.t != 1:
        steps.append(s.c_in + hidden)
    if kept:
        steps.append(s.c_in + 2 * s.c_out)
    return max(steps) * s.h * s.w


def _shuffle_activations(s: LayerShape) -> int:
    """Bottleneck m (``cost.shuffle_bottleneck``); x (C_in maps) stays alive when there is a residual (C_in = C_out):
    grouped 1×1 C_in + m; shuffle m + m (+ C_in); depthwise m + m (+ C_in); grouped 1×1 m + C_out (+ C_in);
    add C_in + C_out in, C_out out (the final ReLU works in place)."""
    m = shuffle_bottleneck(s.c_out, s.groups)
    kept = s.c_in if s.c_in == s.c_out else 0
    steps = [s.c_in + m, 2 * m + kept, m + s.c_out + kept]
    if kept:
        steps.append(s.c_in + 2 * s.c_out)
    return max(steps) * s.h * s.w


def _shift_activations(s: LayerShape) -> int:
    """The shift writes a shifted copy (C_in maps), the 1×1 reads it: max(2·C_in, C_in + C_out)·X."""
    return max(2 * s.c_in, s.c_in + s.c_out) * s.h * s.w


def _shuffle_cost(s: LayerShape) -> Cost:
    return shuffle_unit_cost(s.c_in, s.c_out, h_in=s.h, w_in=s.w, groups=s.groups, kernel_size=(s.k, s.l),
                             batchnorm=False)


def _fire_layer(channels: int) -> Fire:
    squeeze, expand1x1, expand3x3 = fire_widths(channels)
    return Fire(channels, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3)


@dataclass(frozen=True)
class Operator:
    """One row of the registry (see the module docstring)."""

    name: str
    label: str
    formula: str
    cost: Callable[[LayerShape], Cost]
    activations: Callable[[LayerShape], int]
    layer: Callable[[int], nn.Module]
    block: BlockBuilder | None = None


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("standard", "standard conv", "k·l·C_in·C_out", _standard_cost, _conv_activations,
             lambda c: nn.Conv2d(c, c, 3, padding=1, bias=False), standard_block),
    Operator("decomposed", "decomposed k×1 + 1×l", "k·C_in·C_out + l·C_out²", _decomposed_cost,
             _decomposed_activations, lambda c: DecomposedConv2d(c, c, 3, bias=False), decomposed_block),
    Operator("grouped", "grouped conv", "k·l·C_in·C_out / G", _grouped_cost, _conv_activations,
             lambda c: nn.Conv2d(c, c, 3, padding=1, groups=LayerShape.groups, bias=False)),
    Operator("depthwise", "depthwise conv", "k·l·C_in·D", _depthwise_cost, _depthwise_activations,
             lambda c: DepthwiseConv2d(c, kernel_size=3)),
    Operator("depthwise_separable", "depthwise-separable", "k·l·C_in·D + D·C_in·C_out", _depthwise_separable_cost,
             _depthwise_separable_activations, lambda c: DepthwiseSeparableConv2d(c, c, 3),
             depthwise_separable_block),
    Operator("fire", "Fire", "C_in·s + s·e1 + k·l·s·e3  (s = C_out/8, e1 = e3 = C_out/2)", _fire_cost,
             _fire_activations, _fire_layer, fire_block),
    Operator("inverted_residual", "inverted residual", "t·C_in² + k·l·t·C_in + t·C_in·C_out",
             _inverted_residual_cost, _inverted_residual_activations,
             lambda c: InvertedResidual(c, c, expand_ratio=6), inverted_residual_block),
    Operator("shift", "shift + 1×1", "C_in·C_out", _shift_cost, _shift_activations,
             lambda c: ShiftConv2d(c, c, 3), shift_block),
    Operator("sal", "SAL", "C_in·C_out hardened (k·l·C_in·C_out while training)", _shift_cost,
             _shift_activations, lambda c: ShiftAttentionConv2d(c, c, 3), sal_block),
    Operator("shuffle", "ShuffleNet unit", "C_in·m/G + k·l·m + m·C_out/G  (m = C_out/4)", _shuffle_cost,
             _shuffle_activations, lambda c: ShuffleUnit(c, c, groups=LayerShape.groups), shuffle_block),
)}


def operator(name: str) -> Operator:
    """The registry entry called ``name``, or a ``ValueError`` listing the names."""
    return OPERATORS[checks.one_of("name", name, tuple(OPERATORS))]


def blocks() -> dict[str, BlockBuilder]:
    """The block builders of the operators that have one: ``{name: builder(in_channels, out_channels, stride)}``."""
    return {name: op.block for name, op in OPERATORS.items() if op.block is not None}


# --- the latency set: one layer of each operator -------------------------------------------
class Copy(nn.Module):
    """x → a copy of x: reads and writes the tensor once, computes nothing (the memory floor)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def single_layer_operators(channels: int) -> dict[str, nn.Module]:
    """One layer of each registry operator (``OPERATORS[name].layer``), mapping ``channels`` maps to
    ``channels`` maps at stride 1, keyed by its label (for timing); then four reference points.

    The blocks (depthwise-separable, inverted residual, Fire) include their BatchNorm and activations;
    the single convolutions have no bias. 'SAL (training)' is the dense A ⊙ W convolution it trains as,
    'SAL (hardened)' its shift + 1×1 form (:meth:`ShiftAttentionConv2d.to_shift`); 'pointwise 1×1',
    'shift alone' and 'copy' (reads and writes the tensor once: the memory floor) are references.
    """
    c = checks.positive_int("channels", channels)
    if c < 8 or c % 8:
        raise ValueError(f"channels={channels} must be a multiple of 8 and at least 8 (Fire squeezes to "
                         f"channels/8; the grouped conv has {LayerShape.groups} groups)")
    torch.manual_seed(0)
    layers = {op.label: op.layer(c) for op in OPERATORS.values()}
    sal_label = OPERATORS["sal"].label
    layers[f"{sal_label} (training)"] = sal = layers.pop(sal_label)
    return {
        **layers,
        f"{sal_label} (hardened)": copy.deepcopy(sal).harden().to_shift(),
        "pointwise 1×1": nn.Conv2d(c, c, 1, bias=False),
        "shift alone": Shift2d(c, 3),
        "copy": Copy(),
    }


__all__ = ["ACCOUNTING", "LayerShape", "Operator", "OPERATORS", "operator", "blocks", "BlockBuilder",
           "standard_block", "decomposed_block", "depthwise_separable_block", "fire_block", "inverted_residual_block",
           "shift_block", "sal_block", "SHUFFLE_GROUPS", "shuffle_block", "Copy", "single_layer_operators"]
