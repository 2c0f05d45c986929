"""Graders of notebook 05 (MobileNetV1 and V2).

1. the MACs of a depthwise-separable block (a number);
2. thinner or smaller: how many times the MACs of one MobileNetV1 another needs (the α²ρ² rule);
3. build it: an inverted residual (MobileNetV2, Sandler et al. 2018), graded against
   :class:`course_utils.layers.InvertedResidual` on four (C_in, C_out, stride, t) cases.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..cost import conv2d_cost, count
from ..grading import Verdict, check_block, check_value, prepared_student_block
from ..layers import DepthwiseSeparableConv2d, InvertedResidual
from ..models.mobilenet import mobilenet_v1

# ---------------------------------------------------------------------------------------------
# Exercise 1: MACs of a depthwise-separable block 256 → 512, 3×3 depthwise, 14×14 output
# ---------------------------------------------------------------------------------------------
EX1_C_IN, EX1_C_OUT, EX1_SIZE = 256, 512, 14


def check_exercise_1(answer: object) -> Verdict:
    """MACs of DepthwiseSeparableConv2d(256, 512) on a 14×14 output: (9·C_in + C_in·C_out)·H·W."""
    c_in, c_out, size = EX1_C_IN, EX1_C_OUT, EX1_SIZE
    block = DepthwiseSeparableConv2d(c_in, c_out)
    expected = count(block, (1, c_in, size, size)).macs
    standard = conv2d_cost(3, 3, c_in, c_out, h_out=size, w_out=size).macs
    positions = size * size
    hints = {
        expected / positions: "that is one output position; multiply by 14×14.",
        standard: "that is a standard 3×3 convolution (9·C_in·C_out per position).",
        c_in * c_out * positions: "that is the 1×1 pointwise part only; add the depthwise 9·C_in.",
        9 * c_in * positions: "that is the depthwise part only; add the pointwise C_in·C_out.",
        (9 * c_in + c_in * c_out) * 28 * 28: "the output is 14×14, not 28×28.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="depthwise 9·C_in plus pointwise C_in·C_out, per output "
                                    "position.",
                       success=f"{expected:,} MACs, {expected / standard:.3f} of a standard "
                               f"3×3 conv.")


# ---------------------------------------------------------------------------------------------
# Exercise 2: how many times the MACs of (a) α = 0.5 at 224×224 does (b) α = 0.75 at 160×160 need?
# ---------------------------------------------------------------------------------------------
EX2_OPTIONS = {"a": (0.5, 224), "b": (0.75, 160)}      # (α, resolution)
EX2_TOLERANCE = 0.02     # relative, around the α²ρ² rule's ratio or the counted one


def mobilenet_v1_macs(alpha: float, resolution: int) -> int:
    """MACs of MobileNetV1 at width ``alpha`` on a ``resolution``² input (counted by torch)."""
    with torch.device("meta"):  # shapes only
        return count(mobilenet_v1(alpha), (1, 3, resolution, resolution)).macs


def rule_ratio(first: tuple[float, int], second: tuple[float, int]) -> float:
    """MACs of ``second`` ÷ MACs of ``first`` by the α²ρ² rule, each a (α, resolution) pair."""
    (a1, r1), (a2, r2) = first, second
    return (a2 ** 2 * r2 ** 2) / (a1 ** 2 * r1 ** 2)


def check_exercise_2(answer: object) -> Verdict:
    """MACs of (b) ÷ MACs of (a), predicted with the α²ρ² rule: within EX2_TOLERANCE of the rule's
    ratio or of the ratio torch counts (the first conv and the classifier do not follow the rule)."""
    (alpha_a, size_a), (alpha_b, size_b) = EX2_OPTIONS["a"], EX2_OPTIONS["b"]
    rule = rule_ratio(EX2_OPTIONS["a"], EX2_OPTIONS["b"])
    counted = mobilenet_v1_macs(alpha_b, size_b) / mobilenet_v1_macs(alpha_a, size_a)
    hints = {1 / rule: "that is (a) ÷ (b): the question asks for (b) ÷ (a).",
             1 / counted: "that is (a) ÷ (b): the question asks for (b) ÷ (a).",
             alpha_b / alpha_a * size_b / size_a: "α and ρ each enter squared: MACs ∝ α²ρ².",
             alpha_b / alpha_a: "that is the ratio of the widths: MACs ∝ α²ρ², both squared, and ρ changes too.",
             (alpha_b / alpha_a) ** 2: "the resolution changes too: MACs ∝ α²ρ², with ρ = 160/224 for (b).",
             (size_b / size_a) ** 2: "the width changes too: MACs ∝ α²ρ², with α = 0.75 against 0.5.",
             alpha_b ** 2 / alpha_a ** 2 * size_b / size_a: "the resolution enters squared: ρ² (H and W both shrink)."}
    verdict = check_value(answer, rule, hints=hints, rel_tol=EX2_TOLERANCE,
                          general_hint="MACs ∝ α²ρ²: compare 0.75² · (160/224)² with 0.5².",
                          success="")
    if not verdict and check_value(answer, counted, rel_tol=EX2_TOLERANCE, general_hint="", success=""):
        verdict = Verdict(True, "")
    if not verdict:
        return verdict
    cheaper = "(a) α = 0.5 at 224×224" if counted > 1 else "(b) α = 0.75 at 160×160"
    return Verdict(True, f"✅ Correct: the rule gives {rule:.2f}×, torch counts {counted:.2f}× "
                         f"((a) {mobilenet_v1_macs(alpha_a, size_a) / 1e6:.1f} M MACs, (b) "
                         f"{mobilenet_v1_macs(alpha_b, size_b) / 1e6:.1f} M): {cheaper} is cheaper. "
                         f"Thinner beats smaller here.")


# ---------------------------------------------------------------------------------------------
# Exercise 3: build an inverted residual
# ---------------------------------------------------------------------------------------------
# (C_in, C_out, stride, t): residual, new width, new resolution, both changed with t = 4.
EX3_CASES = ((16, 16, 1, 6), (16, 24, 1, 6), (16, 16, 2, 6), (16, 24, 2, 4))
EX3_INPUT_SIZE = 8


class _InvertedResidualVariant(nn.Module):
    """An inverted residual with one switchable mistake, to recognise a student's output.

    Registers its weights in the reference's order (expand, BN, depthwise, BN, project, BN).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int, *,
                 relu6_after_projection: bool = False, residual: bool = True,
                 stride_on_expand: bool = False, plain_relu: bool = False) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        expand_stride, depthwise_stride = (stride, 1) if stride_on_expand else (1, stride)
        self.expand = nn.Conv2d(in_channels, hidden, 1, expand_stride, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, depthwise_stride, 1, groups=hidden,
                                   bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu6_after_projection = relu6_after_projection
        self.use_residual = residual and stride == 1 and in_channels == out_channels
        self.activation = torch.relu if plain_relu else nn.functional.relu6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.bn1(self.expand(x)))
        out = self.activation(self.bn2(self.depthwise(out)))
        out = self.bn3(self.project(out))
        if self.relu6_after_projection:
            out = self.activation(out)
        return x + out if self.use_residual else out



def _depthwise_without_groups(block: nn.Module) -> str | None:
    """A hint when a 3×3 convolution of the student's mixes channels (groups < its input channels)."""
    for layer in block.modules():
        if (isinstance(layer, nn.Conv2d) and layer.kernel_size == (3, 3)
                and layer.groups != layer.in_channels):
            return (f"your 3×3 convolution has groups={layer.groups}; a depthwise convolution filters "
                    f"each map on its own (groups = its {layer.in_channels} channels).")
    return None


def _ex3_mistakes(c_in: int, c_out: int, stride: int, t: int
                  ) -> dict[str, Callable[[], nn.Module]]:
    mistakes: dict[str, Callable[[], nn.Module]] = {
        "a ReLU6 after the 1×1 projection: the bottleneck must stay linear (BatchNorm only)":
            lambda: _InvertedResidualVariant(c_in, c_out, stride, t, relu6_after_projection=True),
        "ReLU where MobileNetV2 has ReLU6: ReLU6 also clips at 6 (min(max(x, 0), 6)), which the "
        "outputs show once activations exceed 6":
            lambda: _InvertedResidualVariant(c_in, c_out, stride, t, plain_relu=True),
    }
    if stride == 1 and c_in == c_out:
        mistakes["the residual is missing: with stride 1 and C_in = C_out, add the input to the "
                 "output"] = lambda: _InvertedResidualVariant(c_in, c_out, stride, t,
                                                               residual=False)
    else:
        mistakes["the stride belongs to the 3×3 depthwise convolution, not to the 1×1 expansion"
                 ] = lambda: _InvertedResidualVariant(c_in, c_out, stride, t,
                                                       stride_on_expand=True)
    return mistakes


def _residual_hint(case: str, reference: InvertedResidual, verdict: Verdict) -> Verdict:
    """Where the residual does not apply, a failing forward or a wrong output shape most likely adds
    the input anyway: say so, with the original message."""
    if reference.use_residual or not ("forward fails" in verdict.message
                                      or "your output has shape" in verdict.message):
        return Verdict(False, verdict.message.replace("❌ Not yet:", f"❌ Not yet {case}:", 1))
    return Verdict(False, f"❌ Not yet {case}: the residual applies only when stride = 1 "
                          f"and C_in = C_out; here the shapes differ. "
                          f"({verdict.message.removeprefix('❌ Not yet: ')})")


def check_exercise_3(block_class: object) -> Verdict:
    """Grade ``MyInvertedResidual(in_channels, out_channels, stride=s, expand_ratio=t)``.

    Four cases (C_in, C_out, s, t) of :data:`EX3_CASES`; each is compared with
    ``InvertedResidual`` (weights copied in, outputs and costs compared), and a wrong output is
    matched against the typical mistakes: ReLU6 after the projection, ReLU for ReLU6, the residual
    missing where it applies or added where the shapes differ, the stride on the wrong convolution,
    a 3×3 convolution without ``groups``.
    """
    for c_in, c_out, stride, t in EX3_CASES:
        case = f"(C_in={c_in}, C_out={c_out}, stride={stride}, t={t})"
        input_shape = (2, c_in, EX3_INPUT_SIZE, EX3_INPUT_SIZE)
        reference = InvertedResidual(c_in, c_out, stride=stride, expand_ratio=t)
        block = prepared_student_block(block_class, input_shape, c_in, c_out, stride=stride,
                                       expand_ratio=t, structure=_depthwise_without_groups)
        if isinstance(block, Verdict):
            return block if "Not yet —" in block.message else _residual_hint(case, reference, block)
        verdict = check_block(block, reference, input_shape=input_shape,
                              mistakes=_ex3_mistakes(c_in, c_out, stride, t))
        if not verdict.passed:
            return _residual_hint(case, reference, verdict)
    return Verdict(True, "✅ Correct: same weights, same outputs and same cost as "
                         "InvertedResidual on all four cases (with and without the residual).")


__all__ = ["check_exercise_1", "check_exercise_2", "check_exercise_3", "mobilenet_v1_macs", "rule_ratio",
           "EX3_CASES"]
