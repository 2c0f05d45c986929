"""The unit most blocks are built from: a convolution, a BatchNorm, an activation."""
from __future__ import annotations

from torch import nn

from .. import checks

ACTIVATIONS: dict[str, type[nn.Module] | None] = {"relu": nn.ReLU, "relu6": nn.ReLU6, "none": None}


def conv_bn_act(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *, groups: int = 1,
                activation: str = "relu") -> nn.Sequential:
    """k×k conv (no bias, padding (k − 1)/2 keeps the size at stride 1) → BatchNorm → activation ('relu',
    'relu6' as in MobileNetV2, or 'none': a linear layer). MACs per output position: k²·C_in·C_out / groups."""
    checks.positive_int("in_channels", in_channels)
    checks.positive_int("out_channels", out_channels)
    checks.odd_positive_int("kernel_size", kernel_size)
    checks.positive_int("stride", stride)
    checks.positive_int("groups", groups)
    checks.divides("groups", groups, "in_channels", in_channels)
    checks.divides("groups", groups, "out_channels", out_channels)
    checks.one_of("activation", activation, tuple(ACTIVATIONS))
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                                         groups=groups, bias=False),
                               nn.BatchNorm2d(out_channels)]
    if ACTIVATIONS[activation] is not None:
        layers.append(ACTIVATIONS[activation](inplace=True))
    return nn.Sequential(*layers)


__all__ = ["ACTIVATIONS", "conv_bn_act"]
