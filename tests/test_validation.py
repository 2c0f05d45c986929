"""Impossible arguments raise ValueError naming the argument, its value and the rule."""
from __future__ import annotations

import pytest

from course_utils import cost
from course_utils.layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire,
                                 InvertedResidual, Shift2d, ShiftConv2d)

CASES = [
    # (callable, expected words in the message)
    (lambda: DecomposedConv2d(0, 8), ["in_channels=0", "positive"]),
    (lambda: DecomposedConv2d(8, -1), ["out_channels=-1", "positive"]),
    (lambda: DecomposedConv2d(8, 8, (3, 0)), ["kernel_size=(3, 0)", "positive"]),
    (lambda: DecomposedConv2d(8, 8, (3, 4)), ["kernel_size=4", "odd"]),
    (lambda: DecomposedConv2d(8, 8, stride=0), ["stride=0", "positive"]),
    (lambda: Fire(64, squeeze=0, expand1x1=64, expand3x3=64), ["squeeze=0", "positive"]),
    (lambda: Fire(64, squeeze=16, expand1x1=64, expand3x3=2.5), ["expand3x3=2.5", "integer"]),
    (lambda: DepthwiseConv2d(16, depth_multiplier=0), ["depth_multiplier=0", "positive"]),
    (lambda: DepthwiseSeparableConv2d(16, 32, stride=0), ["stride=0", "positive"]),
    (lambda: DepthwiseSeparableConv2d(16, 32, kernel_size=-3), ["kernel_size=-3", "positive"]),
    (lambda: InvertedResidual(16, 16, expand_ratio=0), ["expand_ratio=0", "positive"]),
    (lambda: InvertedResidual(16, 16, stride=0), ["stride=0", "must be one of 1, 2"]),
    (lambda: InvertedResidual(4, 16, expand_ratio=0.1), ["expand_ratio=0.1", "hidden channel"]),
    (lambda: Shift2d(16, kernel_size=4), ["kernel_size=4", "odd"]),
    (lambda: Shift2d(0), ["channels=0", "positive"]),
    (lambda: ShiftConv2d(16, 16, stride=0), ["stride=0", "positive"]),
    (lambda: cost.conv2d_cost(3, 3, 64, 64, groups=3), ["groups=3 must divide c_in=64"]),
    (lambda: cost.conv2d_cost(3, 3, 6, 64, groups=3), ["groups=3 must divide c_out=64"]),
    (lambda: cost.depthwise_conv_cost(3, 3, 16, depth_multiplier=0), ["depth_multiplier=0"]),
    (lambda: cost.conv_output_size(4, 7), ["kernel_size=7", "must not exceed"]),
    (lambda: cost.conv_output_size(32, 3, stride=0), ["stride=0"]),
    (lambda: cost.count("not a model", (1, 3, 8, 8)), ["model=str"]),
    (lambda: cost.count(Shift2d(3), (1, 3, 0, 8)), ["input_size=(1, 3, 0, 8)"]),
    (lambda: cost.costs_table({}), ["costs={}"]),
    (lambda: cost.costs_table({"a": cost.Cost(1, 1)}, reference="b"), ["reference='b'"]),
]


@pytest.mark.parametrize("make, words", CASES, ids=[" ".join(w) for _, w in CASES])
def test_bad_argument_is_named_in_value_error(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)


def test_shift_rejects_wrong_channel_count():
    import torch

    with pytest.raises(ValueError, match=r"must have 8 channels: \(N, 8, H, W\)"):
        Shift2d(8)(torch.zeros(1, 4, 5, 5))
