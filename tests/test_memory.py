"""course_utils.memory: MCUNet's layer-by-layer accounting of peak activation memory agrees with a tensor-lifetime
trace of a real forward pass (within 5 %: here it is exact) on the lab networks at 32×32, MobileNetV2 at 224×224
and SqueezeNet 1.1; the registry's per-operator formulas (the cost explorer's column) agree with both; and the trace
catches a block whose merge the accounting does not know."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import LAB, OPERATORS, lab_model, mobilenet_v2, squeezenet
from course_utils.cost import fire_widths
from course_utils.folding import fold_batchnorm
from course_utils.layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire, InvertedResidual,
                                 ShiftConv2d, ShuffleUnit)
from course_utils.memory import activation_memory, traced_activation_peak
from course_utils.models.baseline import Residual
from course_utils.operators import LayerShape

TOLERANCE = 0.05      # the bound; the two agree exactly on every network below


def _agree(model: nn.Module, input_size: tuple[int, ...]) -> tuple[int, int]:
    analytic = activation_memory(model, input_size).peak_bytes
    traced = traced_activation_peak(model, input_size)
    assert abs(analytic - traced) <= TOLERANCE * traced, (analytic, traced)
    return analytic, traced


@pytest.mark.parametrize("variant,width", [(v, w) for v in LAB for w in LAB[v].widths])
@pytest.mark.parametrize("folded", [False, True], ids=["as-trained", "batchnorm-folded"])
def test_accounting_agrees_with_the_trace_on_every_lab_network(variant, width, folded):
    model = lab_model(variant, width)
    _agree(fold_batchnorm(model).model if folded else model, (1, 3, 32, 32))


@pytest.mark.parametrize("name,build", [("mobilenet_v2", mobilenet_v2), ("squeezenet_1_1", lambda: squeezenet("1_1"))])
def test_accounting_agrees_with_the_trace_at_224(name, build):
    analytic, traced = _agree(build(), (1, 3, 224, 224))
    assert analytic > 1_000_000                      # megabytes at 224×224: the maps, not the weights


def test_mobilenet_v2_peaks_at_its_first_expansion():
    """The textbook case: the expanded 96 × 112 × 112 maps of the second inverted residual; folding BatchNorm
    removes the moment when a convolution's output and its BatchNorm's output are both alive."""
    model = mobilenet_v2()
    as_trained = activation_memory(model, (1, 3, 224, 224))
    deployed = activation_memory(fold_batchnorm(model).model, (1, 3, 224, 224))
    expanded = 96 * 112 * 112 * 4
    assert as_trained.peak_layer.startswith("features.2.") and deployed.peak_layer.startswith("features.2.")
    assert as_trained.peak_bytes == 2 * expanded                             # conv output + BatchNorm output
    assert deployed.peak_bytes == expanded + 96 * 56 * 56 * 4               # stride-2 depthwise: input + output
    assert max(deployed.block_peaks().items(), key=lambda kv: kv[1])[0] == "features.2"


def test_steps_count_input_output_and_what_a_skip_keeps():
    x_bytes = 8 * 4 * 4 * 4
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
                          Residual(nn.Sequential(nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1))))
    steps = activation_memory(model, (1, 3, 4, 4)).steps
    assert [(s.layer, s.kind) for s in steps] == [("0", "Conv2d"), ("1", "ReLU"), ("2.block.0", "Conv2d"),
                                                 ("2.block.1", "Conv2d"), ("2", "add")]
    assert steps[0].live_bytes == 3 * 16 * 4 + x_bytes                     # input + output
    assert steps[1].live_bytes == x_bytes and steps[1].output_bytes == 0    # in place: no new output
    assert steps[2].kept_bytes == 0                                         # x is this step's own input
    assert steps[3].kept_bytes == x_bytes and steps[3].live_bytes == 3 * x_bytes   # x kept for the add
    assert steps[4].input_bytes == 2 * x_bytes and steps[4].live_bytes == 3 * x_bytes


def test_a_concat_keeps_the_finished_branch():
    fire = Fire(16, squeeze=4, expand1x1=8, expand3x3=8)
    steps = {s.layer: s for s in activation_memory(fire, (1, 16, 5, 5)).steps}
    per_map = 5 * 5 * 4
    assert steps["expand3x3"].kept_bytes == 8 * per_map                    # the 1×1 branch waits
    assert steps["Fire"].kind == "concat" and steps["Fire"].live_bytes == 2 * 16 * per_map


class _HiddenConcat(nn.Module):
    """A concat the accounting does not know about (a functional torch.cat in a block it has no rule for)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(8, 32, 1), nn.Conv2d(8, 32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], dim=1)


def test_the_trace_catches_what_the_accounting_misses():
    model = _HiddenConcat()
    analytic = activation_memory(model, (1, 8, 16, 16)).peak_bytes
    traced = traced_activation_peak(model, (1, 8, 16, 16))
    assert traced > (1 + TOLERANCE) * analytic                # the check of the accounting can fail


def _registry_cases() -> list[tuple[str, LayerShape, nn.Module]]:
    cases = []
    for name, op in OPERATORS.items():
        for channels, size in ((16, 8), (64, 32)):
            layer = ShiftConv2d(channels, channels, 3) if name == "sal" else op.layer(channels)   # SAL deployed
            cases.append((name, LayerShape(c_in=channels, c_out=channels, h=size, w=size), layer))
    s = LayerShape(c_in=24, c_out=40, d=2, t=3, h=6, w=6)
    squeeze, e1, e3 = fire_widths(s.c_out)
    cases += [
        ("standard", s, nn.Conv2d(24, 40, 3, padding=1)),
        ("decomposed", s, DecomposedConv2d(24, 40, 3)),
        ("depthwise", s, DepthwiseConv2d(24, depth_multiplier=2)),
        ("depthwise_separable", s, DepthwiseSeparableConv2d(24, 40, 3, depth_multiplier=2)),
        ("fire", s, Fire(24, squeeze=squeeze, expand1x1=e1, expand3x3=e3)),
        ("inverted_residual", s, InvertedResidual(24, 40, expand_ratio=3)),
        ("inverted_residual", LayerShape(c_in=24, c_out=24, t=1, h=6, w=6), InvertedResidual(24, 24, expand_ratio=1)),
        ("shift", s, ShiftConv2d(24, 40, 3)),
        ("shuffle", s, ShuffleUnit(24, 40, groups=s.groups)),
    ]
    return cases


@pytest.mark.parametrize("name,shape,layer", _registry_cases(),
                         ids=[f"{n}-{s.c_in}-{s.c_out}-t{s.t}" for n, s, _ in _registry_cases()])
def test_the_explorers_formulas_match_the_accounting_and_the_trace(name, shape, layer):
    deployed = fold_batchnorm(layer).model
    size = (1, shape.c_in, shape.h, shape.w)
    formula = 4 * OPERATORS[name].activations(shape)
    assert activation_memory(deployed, size).peak_bytes == formula
    assert traced_activation_peak(deployed, size) == formula


@pytest.mark.parametrize("call,message", [
    (lambda: activation_memory(nn.Conv2d(3, 8, 3), (3, 32, 32)), r"input_size=\(3, 32, 32\) must be 4 positive"),
    (lambda: activation_memory("net", (1, 3, 32, 32)), "model=str must be a torch.nn.Module"),
    (lambda: traced_activation_peak(nn.Conv2d(3, 8, 3), (1, 3, 0, 32)), "must be 4 positive integers"),
    (lambda: activation_memory(nn.Conv2d(3, 8, 3), (1, 3, 8, 8)).block_peaks(0), "depth=0"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
