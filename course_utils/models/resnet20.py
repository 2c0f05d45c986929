"""A ResNet-20-style CIFAR network (He et al. 2016, arXiv 1512.03385) whose 3×3 convolutions can be
standard, Shift Attention Layers (SAL) or fixed shifts + 1×1 (notebook 06)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..layers import Shift2d, ShiftAttentionConv2d

KINDS = ("standard", "sal", "shift")


def _conv3x3(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if kind == "sal":
        return ShiftAttentionConv2d(in_channels, out_channels, 3, stride)
    if kind == "shift":
        return nn.Sequential(Shift2d(in_channels, 3), nn.Conv2d(in_channels, out_channels, 1, stride, bias=False))
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """He et al.'s CIFAR block: conv3×3 → BN → ReLU → conv3×3 → BN, + shortcut (1×1 conv + BN when
    the shape changes), ReLU. ``kind``: 'standard', 'sal' (both 3×3 are SALs) or 'shift' (shift + 1×1)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, kind: str = "standard") -> None:
        super().__init__()
        checks.positive_int("in_channels", in_channels)
        checks.positive_int("out_channels", out_channels)
        checks.positive_int("stride", stride)
        checks.one_of("kind", kind, KINDS)
        self.in_channels = in_channels
        self.conv1 = _conv3x3(kind, in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(kind, out_channels, out_channels, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet20Style(nn.Module):
    """CIFAR ResNet: 3×3 stem (always standard) → 3 stages of ``blocks`` BasicBlocks with
    width·(16, 32, 64) channels, strides 1, 2, 2 → global average pool → linear. blocks=3 is ResNet-20."""

    def __init__(self, kind: str = "standard", *, width: float = 1.0, blocks: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        checks.one_of("kind", kind, KINDS)
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
                layers.append(BasicBlock(in_channels, out_channels, 2 if stage > 0 and i == 0 else 1, kind=kind))
                in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, 3)
        return self.classifier(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


__all__ = ["KINDS", "BasicBlock", "ResNet20Style"]
