"""The cost model of Session 5: parameters and multiply-accumulates (MACs).

The slide's starting point: one output position of a (k, l) convolution from C_in to C_out
maps costs ``N_ops = k·l·C_in·C_out`` MACs, and the layer holds the same number of weights.
A whole layer repeats that for every output position: ``× H_out·W_out``.
FLOPs ≈ 2 × MACs (a multiply and an add); bias additions and activations are not counted.

Every analytic function here has a measured twin: ``count(layer, input_size)`` runs the layer
under ``torch.utils.flop_counter.FlopCounterMode`` and the tests check that both agree exactly.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import checks


@dataclass(frozen=True)
class Cost:
    """Parameters and MACs of a layer or network (for one input image unless said otherwise)."""

    params: int
    macs: int

    def __post_init__(self) -> None:
        for name in ("params", "macs"):
            value = getattr(self, name)
            checks.non_negative_int(name, value)
            object.__setattr__(self, name, int(value))  # NumPy integers become plain ints

    @property
    def flops(self) -> int:
        """FLOPs = 2 × MACs (one multiply and one add per MAC)."""
        return 2 * self.macs

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(self.params + other.params, self.macs + other.macs)

    def __radd__(self, other: object) -> Cost:
        if other == 0:  # lets sum() start from 0
            return self
        return self.__add__(other)  # type: ignore[arg-type]

    def __mul__(self, times: int) -> Cost:
        """``n × cost``: the cost of n identical layers."""
        if isinstance(times, bool) or not isinstance(times, int):
            return NotImplemented
        return Cost(self.params * times, self.macs * times)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"Cost(params={self.params:,}, macs={self.macs:,})"

    def __str__(self) -> str:
        return f"{human(self.params)} params, {human(self.macs)} MACs"


ZERO = Cost(0, 0)


def human(number: float) -> str:
    """Short human form: 1234 -> '1.23 k', 5_600_000 -> '5.6 M'."""
    for limit, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(number) >= limit:
            return f"{number / limit:.3g}{suffix}"
    return f"{number:.3g}"


# ---------------------------------------------------------------------------------------------
# Measured cost
# ---------------------------------------------------------------------------------------------
def count(model: nn.Module, input_size: Sequence[int]) -> Cost:
    """Measure a module: its parameter count and the MACs of one forward pass.

    MACs = FLOPs / 2, with FLOPs from ``torch.utils.flop_counter.FlopCounterMode`` (which counts
    convolutions and matrix products, not bias additions, normalisation or activations).
    ``input_size`` includes the batch dimension, e.g. ``(1, 3, 224, 224)``; MACs scale with it.
    The module is run in eval mode and left in the mode it was in.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    if (not isinstance(input_size, (tuple, list, torch.Size)) or not input_size
            or not all(checks.is_int(s) and s >= 1 for s in input_size)):
        raise ValueError(f"input_size={input_size!r} must be a tuple of positive integers with the batch "
                         "dimension first, e.g. (1, 3, 32, 32)")
    params = sum(p.numel() for p in model.parameters())
    first = next(model.parameters(), None)
    x = torch.zeros(tuple(int(s) for s in input_size), device=first.device if first is not None else "cpu",
                    dtype=first.dtype if first is not None else torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        raise ValueError(f"model does not take an input of size input_size={tuple(input_size)}: "
                         f"{type(error).__name__}: {error}") from error
    finally:
        model.train(was_training)
    return Cost(params=params, macs=counter.get_total_flops() // 2)


# ---------------------------------------------------------------------------------------------
# Analytic costs. Sizes are keyword-only and say which map they are (h_out=, w_out=; h_in=, w_in=
# for the inverted residual, whose stride is inside). h_out, w_out default to 1: the per-output-position
# cost of the slides.
# ---------------------------------------------------------------------------------------------
def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution: ⌊(size + 2·padding − kernel_size) / stride⌋ + 1."""
    checks.positive_int("size", size)
    checks.positive_int("kernel_size", kernel_size)
    checks.positive_int("stride", stride)
    checks.non_negative_int("padding", padding)
    if size + 2 * padding < kernel_size:
        raise ValueError(f"kernel_size={kernel_size} must not exceed size + 2·padding = {size + 2 * padding}")
    return (size + 2 * padding - kernel_size) // stride + 1


def conv2d_cost(k: int, l: int, c_in: int, c_out: int, *, h_out: int = 1, w_out: int = 1,
                groups: int = 1, bias: bool = False) -> Cost:
    """Standard (or grouped) 2D convolution.

    params = k·l·(C_in/G)·C_out  (+ C_out biases)
    MACs   = k·l·(C_in/G)·C_out · H_out·W_out
    With G = 1 this is the slide's N_ops = k·l·C_in·C_out per output position.
    """
    for name, value in (("k", k), ("l", l), ("c_in", c_in), ("c_out", c_out),
                        ("h_out", h_out), ("w_out", w_out), ("groups", groups)):
        checks.positive_int(name, value)
    checks.boolean("bias", bias)
    checks.divides("groups", groups, "c_in", c_in)
    checks.divides("groups", groups, "c_out", c_out)
    weights = k * l * (c_in // groups) * c_out
    return Cost(params=weights + (c_out if bias else 0), macs=weights * h_out * w_out)


def grouped_conv_cost(k: int, l: int, c_in: int, c_out: int, *, groups: int,
                      h_out: int = 1, w_out: int = 1, bias: bool = False) -> Cost:
    """Grouped convolution with G groups: each output map sees only C_in/G input maps.

    params = MACs per position = k·l·C_in·C_out / G   (G times cheaper than the standard conv)
    """
    return conv2d_cost(k, l, c_in, c_out, h_out=h_out, w_out=w_out, groups=groups, bias=bias)


def depthwise_conv_cost(k: int, l: int, c_in: int, *, depth_multiplier: int = 1,
                        h_out: int = 1, w_out: int = 1, bias: bool = False) -> Cost:
    """Depthwise convolution with depth multiplier D: G = C_in groups, C_out = D·C_in.

    params = MACs per position = k·l·C_in·D
    (The slide writes k·l·C_in·D·C_in; notebook 04 checks which reading torch agrees with.)
    """
    checks.positive_int("depth_multiplier", depth_multiplier)
    checks.positive_int("c_in", c_in)
    return conv2d_cost(k, l, c_in, c_in * depth_multiplier, h_out=h_out, w_out=w_out, groups=c_in, bias=bias)


def pointwise_conv_cost(c_in: int, c_out: int, *, h_out: int = 1, w_out: int = 1, bias: bool = False) -> Cost:
    """1×1 (pointwise) convolution: params = MACs per position = C_in·C_out."""
    return conv2d_cost(1, 1, c_in, c_out, h_out=h_out, w_out=w_out, bias=bias)


def batchnorm_cost(channels: int) -> Cost:
    """BatchNorm2d: 2 learned parameters per channel (γ, β); its multiply-adds are not MACs."""
    checks.positive_int("channels", channels)
    return Cost(params=2 * channels, macs=0)


def decomposed_conv_cost(k: int, l: int, c_in: int, c_out: int, *, h_out: int = 1, w_out: int = 1,
                         bias: bool = False, w_mid: int | None = None) -> Cost:
    """(k, l) kernel replaced by a (k, 1) conv C_in→C_out then a (1, l) conv C_out→C_out.

    params = k·C_in·C_out + l·C_out²  (+ C_out with ``bias``)
    MACs = k·C_in·C_out·H_out·W_mid + l·C_out²·H_out·W_out
    W_mid is the width of the map between the two convs: W_out at stride 1; with stride s the
    vertical conv keeps the input width W_in (its stride is (s, 1)) and the horizontal one strides it.
    With C_in = C_out and stride 1 this is the slide's (k + l)·C_in² per position instead of k·l·C_in².
    """
    w_mid = w_out if w_mid is None else checks.positive_int("w_mid", w_mid)
    return (conv2d_cost(k, 1, c_in, c_out, h_out=h_out, w_out=w_mid)
            + conv2d_cost(1, l, c_out, c_out, h_out=h_out, w_out=w_out, bias=bias))


def depthwise_separable_cost(k: int, l: int, c_in: int, c_out: int, *, h_out: int = 1, w_out: int = 1,
                             depth_multiplier: int = 1, batchnorm: bool = True) -> Cost:
    """Depthwise (k, l) conv with multiplier D, then a 1×1 conv D·C_in → C_out (MobileNetV1 block).

    MACs per position = k·l·C_in·D + D·C_in·C_out
    Ratio to a standard conv (D = 1): 1/C_out + 1/(k·l).
    With ``batchnorm``: + 2·D·C_in + 2·C_out parameters (one BatchNorm after each conv).
    """
    checks.boolean("batchnorm", batchnorm)
    cost = (depthwise_conv_cost(k, l, c_in, depth_multiplier=depth_multiplier, h_out=h_out, w_out=w_out)
            + pointwise_conv_cost(c_in * depth_multiplier, c_out, h_out=h_out, w_out=w_out))
    if batchnorm:
        cost = cost + batchnorm_cost(c_in * depth_multiplier) + batchnorm_cost(c_out)
    return cost


def fire_widths(out_channels: int) -> tuple[int, int, int]:
    """The course's Fire for ``out_channels`` maps: (squeeze, expand1x1, expand3x3) =
    (max(1, ⌊C_out/8⌋), ⌊C_out/2⌋, C_out − ⌊C_out/2⌋): squeeze to C_out/8, half the expands 1×1, half 3×3."""
    checks.positive_int("out_channels", out_channels)
    if out_channels < 2:
        raise ValueError(f"out_channels={out_channels} must be at least 2 (one 1×1 and one 3×3 expand map)")
    expand1x1 = out_channels // 2
    return max(1, out_channels // 8), expand1x1, out_channels - expand1x1


def fire_cost(c_in: int, *, squeeze: int, expand1x1: int, expand3x3: int, h_out: int = 1, w_out: int = 1,
              kernel_size: int | tuple[int, int] = 3, bias: bool = True) -> Cost:
    """SqueezeNet's Fire module (spatial size kept, so H_out×W_out is also the input size).

    MACs per position = C_in·s + s·e1 + k·l·s·e3        (k×l = 3×3 in SqueezeNet)
    params            = MACs per position (+ s + e1 + e3 biases with ``bias``, as in SqueezeNet)
    """
    for name, value in (("c_in", c_in), ("squeeze", squeeze), ("expand1x1", expand1x1), ("expand3x3", expand3x3),
                        ("h_out", h_out), ("w_out", w_out)):
        checks.positive_int(name, value)
    checks.boolean("bias", bias)
    k, l = checks.kernel_pair("kernel_size", kernel_size)
    for size in (k, l):
        checks.odd_positive_int("kernel_size", size)    # padding k//2 keeps H×W only for odd kernels
    return (pointwise_conv_cost(c_in, squeeze, h_out=h_out, w_out=w_out, bias=bias)
            + pointwise_conv_cost(squeeze, expand1x1, h_out=h_out, w_out=w_out, bias=bias)
            + conv2d_cost(k, l, squeeze, expand3x3, h_out=h_out, w_out=w_out, bias=bias))


def expanded_channels(c_in: int, expand_ratio: float) -> int:
    """Hidden width of an inverted residual: round(C_in · t), as in torchvision."""
    checks.positive_int("c_in", c_in)
    checks.positive_number("expand_ratio", expand_ratio)
    hidden = int(round(c_in * expand_ratio))
    if hidden < 1:
        raise ValueError(f"expand_ratio={expand_ratio!r} must give at least one hidden channel for c_in={c_in}")
    return hidden


def _block_shape(c_in: int, c_out: int, h_in: int, w_in: int, stride: int, kernel_size: int | tuple[int, int],
                 batchnorm: bool) -> tuple[int, int, int, int]:
    """A block's arguments checked, and (k, l, H_out, W_out) of its k×l convolution at stride s with 'same'
    padding (k − 1)/2: H_out = ⌊(H_in − 1)/s⌋ + 1 for odd k."""
    for name, value in (("c_in", c_in), ("c_out", c_out), ("h_in", h_in), ("w_in", w_in), ("stride", stride)):
        checks.positive_int(name, value)
    checks.boolean("batchnorm", batchnorm)
    k, l = checks.kernel_pair("kernel_size", kernel_size)
    return k, l, conv_output_size(h_in, k, stride, (k - 1) // 2), conv_output_size(w_in, l, stride, (l - 1) // 2)


def inverted_residual_cost(c_in: int, c_out: int, *, h_in: int, w_in: int, stride: int = 1,
                           expand_ratio: float = 6, kernel_size: int | tuple[int, int] = 3,
                           batchnorm: bool = True) -> Cost:
    """MobileNetV2's inverted residual on an H_in×W_in input, hidden width h = round(t·C_in).

    MACs = H_in·W_in·C_in·h        (1×1 expansion, skipped when t = 1)
         + H_out·W_out·k·l·h       (k×l depthwise, stride s; 3×3 in the paper)
         + H_out·W_out·h·C_out     (1×1 linear projection)
    params = the same terms without H·W (+ 2 BatchNorm parameters per channel of each conv output
    with ``batchnorm``, as in the real block).
    """
    k, l, h_out, w_out = _block_shape(c_in, c_out, h_in, w_in, stride, kernel_size, batchnorm)
    hidden = expanded_channels(c_in, expand_ratio)
    norm = batchnorm_cost if batchnorm else (lambda channels: ZERO)
    cost = ZERO
    if expand_ratio != 1:
        cost = pointwise_conv_cost(c_in, hidden, h_out=h_in, w_out=w_in) + norm(hidden)
    cost = cost + depthwise_conv_cost(k, l, hidden, h_out=h_out, w_out=w_out) + norm(hidden)
    return cost + pointwise_conv_cost(hidden, c_out, h_out=h_out, w_out=w_out) + norm(c_out)


def shift_conv_cost(c_in: int, c_out: int, *, h_out: int = 1, w_out: int = 1, bias: bool = False) -> Cost:
    """Shift then 1×1 conv (Wu et al. 2017): the shift is free (0 params, 0 MACs).

    params = MACs per position = C_in·C_out, whatever the shift's kernel size.
    """
    return pointwise_conv_cost(c_in, c_out, h_out=h_out, w_out=w_out, bias=bias)


def shuffle_bottleneck(c_out: int, groups: int) -> int:
    """The ShuffleNet unit's bottleneck width: C_out/4 (the paper's ratio), rounded up to a multiple of G so that
    the grouped 1×1 convolutions and the channel shuffle split it evenly: G·⌈C_out / (4·G)⌉."""
    checks.positive_int("c_out", c_out)
    checks.positive_int("groups", groups)
    return groups * -(-c_out // (4 * groups))


def shuffle_unit_cost(c_in: int, c_out: int, *, h_in: int, w_in: int, stride: int = 1, groups: int,
                      kernel_size: int | tuple[int, int] = 3, batchnorm: bool = True) -> Cost:
    """ShuffleNet's unit (Zhang et al. 2018) on an H_in×W_in input, bottleneck m (:func:`shuffle_bottleneck`):

    MACs = H_in·W_in·C_in·m/G             (grouped 1×1 to the bottleneck)
         + H_out·W_out·k·l·m              (k×l depthwise, stride s; the channel shuffle costs nothing)
         + H_out·W_out·m·C_branch/G       (grouped 1×1 out: C_branch = C_out, or C_out − C_in at stride 2,
                                           where the 3×3 average-pooled input is concatenated beside it)
    params = the same terms without H·W (+ 2 BatchNorm parameters per channel of each conv output
    with ``batchnorm``, as in the real block).
    """
    k, l, h_out, w_out = _block_shape(c_in, c_out, h_in, w_in, stride, kernel_size, batchnorm)
    branch = c_out - c_in if stride > 1 else c_out
    if branch < 1:
        raise ValueError(f"c_out={c_out} must exceed c_in={c_in} at stride {stride}: the unit concatenates the "
                         "pooled input beside its branch")
    m = shuffle_bottleneck(c_out, groups)
    norm = batchnorm_cost if batchnorm else (lambda channels: ZERO)
    return (conv2d_cost(1, 1, c_in, m, h_out=h_in, w_out=w_in, groups=groups) + norm(m)
            + depthwise_conv_cost(k, l, m, h_out=h_out, w_out=w_out) + norm(m)
            + conv2d_cost(1, 1, m, branch, h_out=h_out, w_out=w_out, groups=groups) + norm(branch))


# ---------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------
def costs_table(costs: Mapping[str, Cost], reference: str | None = None) -> pd.DataFrame:
    """Put named costs side by side: params, MACs, FLOPs and the ratio to a reference row.

    ``reference`` defaults to the first entry.
    """
    if not costs:
        raise ValueError("costs={} must hold at least one named Cost")
    reference = next(iter(costs)) if reference is None else reference
    if reference not in costs:
        raise ValueError(f"reference={reference!r} must be one of the names {list(costs)}")
    base = costs[reference]
    rows = [{"operator": name, "params": c.params, "MACs": c.macs, "FLOPs": c.flops,
             f"MACs / {reference}": c.macs / base.macs if base.macs else float("nan")}
            for name, c in costs.items()]
    return pd.DataFrame(rows).set_index("operator")
