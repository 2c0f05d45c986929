"""MobileNetV2's inverted residual with linear bottleneck (Sandler et al. 2018)."""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, expanded_channels, inverted_residual_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral
from .conv_bn import conv_bn_act


class InvertedResidual(nn.Module):
    """1×1 expand to t·C_in (ReLU6) → 3×3 depthwise, stride s (ReLU6) → 1×1 linear projection.

    Narrow → wide → narrow: the residual joins the two narrow ends, and only when stride = 1 and
    C_in = C_out. The projection has no ReLU: the bottleneck is linear, since a ReLU on few
    channels would destroy information. With t = 1 the expansion conv is left out (as in the paper).
    MACs = H·W·C_in·t·C_in + H'·W'·9·t·C_in + H'·W'·t·C_in·C_out.
    The stride is 1 or 2, as in the paper; the expansion t is keyword-only
    (``InvertedResidual(32, 64, 2, expand_ratio=6)``), so ``InvertedResidual(32, 64, 6)`` raises.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, expand_ratio: float = 6) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.out_channels = checks.positive_int("out_channels", out_channels)
        self.stride = checks.one_of("stride", stride, (1, 2))
        self.expand_ratio = checks.positive_number("expand_ratio", expand_ratio)
        hidden = expanded_channels(in_channels, expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1, activation="relu6"))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden, activation="relu6"),
            nn.Conv2d(hidden, out_channels, 1, bias=False),  # linear bottleneck: no activation
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        return x + self.conv(x) if self.use_residual else self.conv(x)

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params (BatchNorm included) and MACs for one (C_in, H, W) input."""
        h, w = input_hw
        return inverted_residual_cost(self.in_channels, self.out_channels, h_in=h, w_in=w,
                                      stride=self.stride, expand_ratio=self.expand_ratio)
