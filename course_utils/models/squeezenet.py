"""SqueezeNet (Iandola et al. 2016, arXiv 1602.07360): AlexNet accuracy with 50× fewer parameters.

Three design strategies, all visible in the tables below:
  1. replace 3×3 filters by 1×1 filters (half of each Fire's expand filters are 1×1);
  2. feed the remaining 3×3 filters few input channels (the Fire's squeeze layer, s1x1 < e1x1 + e3x3);
  3. downsample late, so that most layers see large activation maps (pools after conv1, fire4, fire8).

Each network is a layer table (data), turned into modules by ``build_features``. The module order
and attribute names are torchvision's, so ``torchvision.models.squeezenet1_0().state_dict()`` loads
into ``squeezenet("1_0")`` unchanged (the tests check it).

The CIFAR-10 version (``squeezenet("cifar")``) is the paper's design at 32×32, with 3.2× fewer parameters
than the course baseline. The paper's networks have no BatchNorm (and were trained with their own recipe);
this one adds a BatchNorm after conv1 and after every Fire (a row's ``batchnorm=True``), as the course
baseline's Fire block does, so that it trains with the same recipe as every other network of the course.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import checks
from ..layers import Fire


@dataclass(frozen=True)
class ConvRow:
    """A k×k convolution + ReLU (with bias; with ``batchnorm``: no bias, conv → BatchNorm → ReLU)."""

    name: str
    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    batchnorm: bool = False


@dataclass(frozen=True)
class PoolRow:
    """A max pool, stride 2 by default (ceil mode, as in the Caffe original)."""

    name: str
    kernel_size: int = 3
    stride: int = 2


@dataclass(frozen=True)
class FireRow:
    """A Fire module: squeeze s1x1, expand e1x1 (1×1) and e3x3 (3×3); output e1x1 + e3x3 maps
    (with ``batchnorm``: then a BatchNorm of those maps, as in the course baseline's Fire block)."""

    name: str
    s1x1: int
    e1x1: int
    e3x3: int
    batchnorm: bool = False


Row = ConvRow | PoolRow | FireRow

# Table 1 of the paper (v1.0), and v1.1 from the SqueezeNet repository (2.4× fewer MACs, same accuracy).
SQUEEZENET_TABLES: dict[str, tuple[Row, ...]] = {
    "1_0": (
        ConvRow("conv1", 96, kernel_size=7, stride=2),
        PoolRow("maxpool1"),
        FireRow("fire2", 16, 64, 64),
        FireRow("fire3", 16, 64, 64),
        FireRow("fire4", 32, 128, 128),
        PoolRow("maxpool4"),
        FireRow("fire5", 32, 128, 128),
        FireRow("fire6", 48, 192, 192),
        FireRow("fire7", 48, 192, 192),
        FireRow("fire8", 64, 256, 256),
        PoolRow("maxpool8"),
        FireRow("fire9", 64, 256, 256),
    ),
    "1_1": (
        ConvRow("conv1", 64, kernel_size=3, stride=2),
        PoolRow("maxpool1"),
        FireRow("fire2", 16, 64, 64),
        FireRow("fire3", 16, 64, 64),
        PoolRow("maxpool3"),
        FireRow("fire4", 32, 128, 128),
        FireRow("fire5", 32, 128, 128),
        PoolRow("maxpool5"),
        FireRow("fire6", 48, 192, 192),
        FireRow("fire7", 48, 192, 192),
        FireRow("fire8", 64, 256, 256),
        FireRow("fire9", 64, 256, 256),
    ),
    # For 32×32 CIFAR-10 images: a 3×3 stride-1 stem, three 2×2 pools (32 → 16 → 8 → 4) and six Fires:
    # half the expands 3×3, as in the paper, expands a quarter of v1.1's, squeezes to a quarter of the
    # expands (squeeze ratio 0.25; v1.1: 0.125). 44,874 parameters, 3.2× fewer than the course baseline.
    # BatchNorm after conv1 and after every Fire, so that it trains with the course recipe.
    "cifar": (
        ConvRow("conv1", 32, kernel_size=3, stride=1, padding=1, batchnorm=True),
        PoolRow("maxpool1", kernel_size=2),
        FireRow("fire2", 8, 16, 16, batchnorm=True),
        FireRow("fire3", 8, 16, 16, batchnorm=True),
        PoolRow("maxpool3", kernel_size=2),
        FireRow("fire4", 16, 32, 32, batchnorm=True),
        FireRow("fire5", 16, 32, 32, batchnorm=True),
        PoolRow("maxpool5", kernel_size=2),
        FireRow("fire6", 24, 48, 48, batchnorm=True),
        FireRow("fire7", 24, 48, 48, batchnorm=True),
    ),
}
VERSIONS = tuple(SQUEEZENET_TABLES)
# Dropout before conv10: the paper's 0.5 for the ImageNet networks; none for the CIFAR version, trained
# like the course baseline (which has none): label smoothing, weight decay and augmentation regularise.
DEFAULT_DROPOUT: dict[str, float] = {"1_0": 0.5, "1_1": 0.5, "cifar": 0.0}


def build_features(table: tuple[Row, ...], in_channels: int = 3) -> tuple[nn.Sequential, list[str], int]:
    """Turn a layer table into modules: (features, the table name of each module, output channels).
    A row's extra modules are named after it: ``"conv1 BN"``, ``"conv1 ReLU"``, ``"fire2 BN"``."""
    modules: list[nn.Module] = []
    names: list[str] = []
    channels = in_channels
    for row in table:
        if isinstance(row, ConvRow):
            modules.append(nn.Conv2d(channels, row.out_channels, row.kernel_size, row.stride, row.padding,
                                     bias=not row.batchnorm))
            names.append(row.name)
            if row.batchnorm:
                modules.append(nn.BatchNorm2d(row.out_channels))
                names.append(f"{row.name} BN")
            modules.append(nn.ReLU(inplace=True))
            names.append(f"{row.name} ReLU")
            channels = row.out_channels
        elif isinstance(row, PoolRow):
            modules.append(nn.MaxPool2d(row.kernel_size, row.stride, ceil_mode=True))
            names.append(row.name)
        else:
            fire = Fire(channels, squeeze=row.s1x1, expand1x1=row.e1x1, expand3x3=row.e3x3)
            modules.append(fire)
            names.append(row.name)
            channels = fire.out_channels
            if row.batchnorm:
                modules.append(nn.BatchNorm2d(channels))
                names.append(f"{row.name} BN")
    return nn.Sequential(*modules), names, channels


class SqueezeNet(nn.Module):
    """Features from a layer table, then dropout, conv10 (1×1 to the classes) + ReLU, global average pool.

    No fully connected layer: the 1×1 conv10 gives one map per class, averaged over space.
    """

    def __init__(self, table: tuple[Row, ...], num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = checks.positive_int("num_classes", num_classes)
        checks.fraction("dropout", dropout)
        self.table = table
        self.features, self.feature_names, channels = build_features(table)
        conv10 = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), conv10, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation: Kaiming uniform, except conv10 ~ N(0, 0.01²); zero biases;
        BatchNorm (CIFAR version) at γ = 1, β = 0. (Without BatchNorm the scale of the initial weights
        decides whether the signal survives 20 layers.)"""
        conv10 = self.classifier[1]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is conv10:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, 3)
        return torch.flatten(self.classifier(self.features(x)), 1)

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        """(table name, module) pairs in order, conv10 and the pool included: rows for ``layer_table``.
        A row's BatchNorm and ReLU are grouped with it (``conv1`` = conv → BN → ReLU)."""
        stages: list[tuple[str, list[nn.Module]]] = []
        for name, module in zip(self.feature_names, self.features):
            if " " in name:                        # "conv1 BN", "conv1 ReLU": part of the row before
                stages[-1][1].append(module)
            else:
                stages.append((name, [module]))
        rows = [(name, parts[0] if len(parts) == 1 else nn.Sequential(*parts)) for name, parts in stages]
        dropout, conv10, relu, pool = self.classifier
        return rows + [("conv10", nn.Sequential(dropout, conv10, relu)), ("avgpool10", pool)]


def squeezenet(version: str = "1_0", num_classes: int = 1000, dropout: float | None = None) -> SqueezeNet:
    """SqueezeNet ``"1_0"`` (the paper's Table 1), ``"1_1"`` (2.4× cheaper) or ``"cifar"`` (32×32 inputs,
    with BatchNorm). ``dropout`` before conv10: None = the version's default (``DEFAULT_DROPOUT``).

    At 224×224: v1.0 has 1,248,424 params and 818.9 M MACs; v1.1 1,235,496 params and 349.2 M MACs.
    At 32×32, the CIFAR version has 44,874 params and 2.87 M MACs.
    """
    if version not in SQUEEZENET_TABLES:
        raise ValueError(f"version={version!r} must be one of {', '.join(map(repr, VERSIONS))}")
    dropout = DEFAULT_DROPOUT[version] if dropout is None else dropout
    return SqueezeNet(SQUEEZENET_TABLES[version], num_classes=num_classes, dropout=dropout)


def squeezenet_cifar(num_classes: int = 10, dropout: float = 0.0) -> SqueezeNet:
    """The CIFAR-10 variant: ``squeezenet("cifar", num_classes)``, BatchNorm after conv1 and every Fire."""
    return squeezenet("cifar", num_classes=num_classes, dropout=dropout)


__all__ = ["ConvRow", "PoolRow", "FireRow", "SQUEEZENET_TABLES", "VERSIONS", "DEFAULT_DROPOUT", "SqueezeNet",
           "build_features", "squeezenet", "squeezenet_cifar"]
