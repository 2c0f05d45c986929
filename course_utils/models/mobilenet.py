"""MobileNetV1 (Howard et al. 2017, arXiv 1704.04861) and MobileNetV2 (Sandler et al. 2018, arXiv 1801.04381).

Both networks are a layer table (data, as in the papers' Table 1 / Table 2) turned into modules.
V1 stacks depthwise-separable blocks; V2 stacks inverted residuals with linear bottlenecks.

Width multiplier α scales every layer's channels. V1 follows its reference code (TF-slim's ``mobilenet_v1``):
C → max(⌊α·C⌋, 8) (:func:`v1_channels`); V2 follows torchvision's: C → make_divisible(α·C, 8). For the paper's
α ∈ {1, 0.75, 0.5, 0.25} every V1 width is a whole number of channels, so both rules give α·C there.
Resolution multiplier ρ is not a constructor argument: it is the input size (224·ρ), since the
networks end with a global average pool and accept any input size. MACs scale about as α²·ρ².

BatchNorm: V1 follows the paper ("all layers are followed by a batchnorm and ReLU"); its published
4.2 M parameters count convolutions and the FC layer only (4,209,088 here), BatchNorm's γ, β add
21,888 more. V2 mirrors torchvision's ``mobilenet_v2`` module for module (3,504,872 parameters with
BatchNorm), so torchvision's ``state_dict`` loads into ``mobilenet_v2()`` unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..layers import DepthwiseSeparableConv2d, InvertedResidual
from ..layers.conv_bn import conv_bn_act


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never going below 90 % of it.

    new = max(min_value, ⌊(value + divisor/2) / divisor⌋ · divisor), + divisor if new < 0.9·value
    (TF-slim's and torchvision's ``_make_divisible``; ``min_value`` defaults to ``divisor``).
    """
    checks.positive_number("value", value)
    checks.positive_int("divisor", divisor)
    min_value = divisor if min_value is None else checks.positive_int("min_value", min_value)
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def v1_channels(channels: int, width_mult: float, min_channels: int = 8) -> int:
    """MobileNetV1's width rule (TF-slim's ``depth_multiplier``): max(⌊α·C⌋, 8), no rounding to a multiple of 8."""
    checks.positive_int("channels", channels)
    checks.positive_number("width_mult", width_mult)
    return max(int(channels * width_mult), checks.positive_int("min_channels", min_channels))


def _init_weights(model: nn.Module) -> None:
    """torchvision's MobileNet initialisation: Kaiming normal (fan out) convs, N(0, 0.01²) FC, BN γ=1 β=0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------------------
# MobileNetV1
# ---------------------------------------------------------------------------------------------
# Table 1 of the V1 paper: a 3×3 stride-2 conv to 32 maps, then 13 depthwise-separable blocks,
# each (output channels, depthwise stride). The paper prints the last depthwise as "s2", but the
# feature map is already 7×7 there and only stride 1 gives the paper's 569 M MACs (facts.md).
MOBILENET_V1_STEM = (32, 2)  # (channels, stride)
MOBILENET_V1_TABLE: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2), (128, 1),
    (256, 2), (256, 1),
    (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)
# For 32×32 CIFAR-10 images: stride-1 stem and three downsamplings (32 → 16 → 8 → 4), 7 blocks up to 256.
MOBILENET_V1_CIFAR_STEM = (32, 1)
MOBILENET_V1_CIFAR_TABLE: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2), (128, 1),
    (256, 2), (256, 1),
    (256, 2), (256, 1),
)


class MobileNetV1(nn.Module):
    """conv 3×3 + BN + ReLU, depthwise-separable blocks, global average pool, FC.

    Channels are scaled by the width multiplier α (``width_mult``).
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 stem: tuple[int, int] = MOBILENET_V1_STEM,
                 table: tuple[tuple[int, int], ...] = MOBILENET_V1_TABLE, dropout: float = 0.0) -> None:
        super().__init__()
        checks.positive_int("num_classes", num_classes)
        self.width_mult = checks.positive_number("width_mult", width_mult)
        checks.fraction("dropout", dropout)
        if not table:
            raise ValueError("table=() must hold at least one (channels, stride) row")
        stem_channels, stem_stride = stem
        channels = v1_channels(stem_channels, width_mult)
        layers: list[nn.Module] = [conv_bn_act(3, channels, 3, stem_stride)]
        for out_channels, stride in table:
            out_channels = v1_channels(out_channels, width_mult)
            layers.append(DepthwiseSeparableConv2d(channels, out_channels, 3, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(channels, num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation (``_init_weights``); ``course_utils.training`` re-initialises with it."""
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, 3)
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def mobilenet_v1(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    """MobileNetV1 α-224: 4.21 M params (conv + FC; 4.23 M with BatchNorm), 568.7 M MACs at α = 1.

    α = 0.75 / 0.5 / 0.25: 325.4 / 149.5 / 41.0 M MACs at 224×224 (the paper's Table 6).
    """
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult)


def mobilenet_v1_cifar(width_mult: float = 1.0, num_classes: int = 10) -> MobileNetV1:
    """MobileNetV1 for 32×32 inputs: stride-1 stem, 7 blocks, three downsamplings (to 4×4)."""
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult,
                       stem=MOBILENET_V1_CIFAR_STEM, table=MOBILENET_V1_CIFAR_TABLE)


# ---------------------------------------------------------------------------------------------
# MobileNetV2
# ---------------------------------------------------------------------------------------------
# Table 2 of the V2 paper: a 3×3 stride-2 conv to 32 maps, then rows (t, c, n, s): n inverted
# residuals with expansion t and c output channels, the first of them with stride s; then a 1×1
# conv to 1280 maps, global average pool, dropout 0.2 and FC.
MOBILENET_V2_STEM = (32, 2)
MOBILENET_V2_TABLE: tuple[tuple[int, int, int, int], ...] = (
    # t, c,   n, s
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
MOBILENET_V2_LAST_CHANNELS = 1280
# For 32×32 CIFAR-10 images: stride-1 stem, three downsamplings (32 → 16 → 8 → 4), fewer and
# narrower rows, a 1×1 conv to 512 maps.
MOBILENET_V2_CIFAR_STEM = (32, 1)
MOBILENET_V2_CIFAR_TABLE: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 2, 2),
    (6, 64, 2, 2),
    (6, 96, 1, 1),
)
MOBILENET_V2_CIFAR_LAST_CHANNELS = 512


class MobileNetV2(nn.Module):
    """conv 3×3 + BN + ReLU6, inverted residuals, 1×1 conv + BN + ReLU6, global average pool, dropout, FC.

    Same modules, in the same order, as ``torchvision.models.MobileNetV2``.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 stem: tuple[int, int] = MOBILENET_V2_STEM,
                 table: tuple[tuple[int, int, int, int], ...] = MOBILENET_V2_TABLE,
                 last_channels: int = MOBILENET_V2_LAST_CHANNELS, dropout: float = 0.2) -> None:
        super().__init__()
        checks.positive_int("num_classes", num_classes)
        self.width_mult = checks.positive_number("width_mult", width_mult)
        checks.positive_int("last_channels", last_channels)
        checks.fraction("dropout", dropout)
        if not table:
            raise ValueError("table=() must hold at least one (t, c, n, s) row")
        stem_channels, stem_stride = stem
        channels = make_divisible(stem_channels * width_mult)
        self.last_channels = make_divisible(last_channels * max(1.0, width_mult))  # never narrowed
        layers: list[nn.Module] = [conv_bn_act(3, channels, 3, stem_stride, activation="relu6")]
        for t, c, n, s in table:
            out_channels = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out_channels, stride=s if i == 0 else 1, expand_ratio=t))
                channels = out_channels
        layers.append(conv_bn_act(channels, self.last_channels, 1, activation="relu6"))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channels, num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation (``_init_weights``); ``course_utils.training`` re-initialises with it."""
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, 3)
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)  # global average pool
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    """MobileNetV2 α-224: 3,504,872 params (BatchNorm included), 300.8 M MACs at α = 1."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult)


def mobilenet_v2_cifar(width_mult: float = 1.0, num_classes: int = 10) -> MobileNetV2:
    """MobileNetV2 for 32×32 inputs: stride-1 stem, 8 inverted residuals, three downsamplings (to 4×4)."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, stem=MOBILENET_V2_CIFAR_STEM,
                       table=MOBILENET_V2_CIFAR_TABLE, last_channels=MOBILENET_V2_CIFAR_LAST_CHANNELS)


__all__ = ["make_divisible", "v1_channels", "MobileNetV1", "MobileNetV2", "MOBILENET_V1_TABLE", "MOBILENET_V2_TABLE",
           "mobilenet_v1", "mobilenet_v1_cifar", "mobilenet_v2", "mobilenet_v2_cifar"]
