"""Depthwise and depthwise-separable convolutions (MobileNetV1's block)."""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, depthwise_conv_cost, depthwise_separable_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral


class DepthwiseConv2d(nn.Conv2d):
    """k×k convolution with one group per input map: each map gives D output maps of its own.

    ``nn.Conv2d(C_in, D·C_in, k, groups=C_in)``; params = MACs per position = k²·C_in·D.

    Only ``in_channels`` is positional: a depthwise conv has no free output width (it is D·C_in), so
    a second number written as ``nn.Conv2d``'s ``out_channels`` (``DepthwiseConv2d(32, 64, 3)``)
    raises instead of being read as the kernel size. The kernel is odd, so that padding k//2 keeps H×W.
    """

    def __init__(self, in_channels: int, *, kernel_size: int = 3, stride: int = 1,
                 depth_multiplier: int = 1, bias: bool = False) -> None:
        checks.positive_int("in_channels", in_channels)
        checks.odd_positive_int("kernel_size", kernel_size)
        checks.positive_int("stride", stride)
        checks.positive_int("depth_multiplier", depth_multiplier)
        checks.boolean("bias", bias)
        super().__init__(in_channels, in_channels * depth_multiplier, kernel_size, stride=stride,
                         padding=kernel_size // 2, groups=in_channels, bias=bias)
        self.depth_multiplier = depth_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        return super().forward(x)

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input."""
        k = self.kernel_size[0]
        h_out, w_out = (conv_output_size(size, k, self.stride[0], k // 2) for size in input_hw)
        return depthwise_conv_cost(k, k, self.in_channels, depth_multiplier=self.depth_multiplier,
                                   h_out=h_out, w_out=w_out, bias=self.bias is not None)


class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise k×k conv (multiplier D) + BN + ReLU, then pointwise 1×1 conv + BN + ReLU.

    MACs per position = k²·C_in·D + D·C_in·C_out, against k²·C_in·C_out for a standard conv:
    a ratio of 1/C_out + 1/k² when D = 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 depth_multiplier: int = 1) -> None:
        super().__init__()
        checks.positive_int("out_channels", out_channels)
        self.depthwise = DepthwiseConv2d(in_channels, kernel_size=kernel_size, stride=stride,
                                         depth_multiplier=depth_multiplier)
        self.bn1 = nn.BatchNorm2d(in_channels * depth_multiplier)
        self.pointwise = nn.Conv2d(in_channels * depth_multiplier, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.depthwise.in_channels)
        x = self.relu(self.bn1(self.depthwise(x)))
        return self.relu(self.bn2(self.pointwise(x)))

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params (BatchNorm included) and MACs for one (C_in, H, W) input."""
        dw = self.depthwise
        k = dw.kernel_size[0]
        h_out, w_out = (conv_output_size(size, k, dw.stride[0], k // 2) for size in input_hw)
        return depthwise_separable_cost(k, k, dw.in_channels, self.pointwise.out_channels, h_out=h_out, w_out=w_out,
                                        depth_multiplier=dw.depth_multiplier, batchnorm=True)


__all__ = ["DepthwiseConv2d", "DepthwiseSeparableConv2d"]
