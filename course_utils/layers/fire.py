"""SqueezeNet's Fire module (Iandola et al. 2016)."""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, fire_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral


class Fire(nn.Module):
    """Squeeze with a 1×1 conv to ``squeeze`` maps, then expand with parallel 1×1 and 3×3 convs.

    out = concat(ReLU(conv1x1(s)), ReLU(conv3x3(s))),  s = ReLU(conv1x1(x))
    MACs per position = C_in·s + s·e1 + 9·s·e3, against 9·C_in·(e1 + e3) for a 3×3 conv of the
    same output width. The savings come from few squeeze maps (s < e1 + e3) and few 3×3 filters.
    The three widths are keyword-only: ``Fire(64, squeeze=16, expand1x1=64, expand3x3=64)``.
    """

    def __init__(self, in_channels: int, *, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.squeeze_channels = checks.positive_int("squeeze", squeeze)
        self.expand1x1_channels = checks.positive_int("expand1x1", expand1x1)
        self.expand3x3_channels = checks.positive_int("expand3x3", expand3x3)
        # Attribute names follow torchvision's Fire, so state dicts line up layer for layer.
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    @property
    def out_channels(self) -> int:
        return self.expand1x1_channels + self.expand3x3_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        s = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(s)),
                          self.expand3x3_activation(self.expand3x3(s))], dim=1)

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input (spatial size is kept)."""
        h, w = input_hw
        return fire_cost(self.in_channels, squeeze=self.squeeze_channels, expand1x1=self.expand1x1_channels,
                         expand3x3=self.expand3x3_channels, h_out=h, w_out=w)
