"""Kernel decomposition: a (k, l) convolution replaced by (k, 1) followed by (1, l); and the best such pair
for a trained (k, l) convolution (:func:`best_pair`, by the SVD)."""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, conv_output_size, decomposed_conv_cost
from ..fingerprint import UNUSED_BY_TRAINING, key_neutral


class DecomposedConv2d(nn.Module):
    """(k, 1) conv C_in→C_out, then (1, l) conv C_out→C_out, no non-linearity in between.

    Cost per output position: k·C_in·C_out + l·C_out²  (slide: (k + l)·C_in² when C_in = C_out),
    against k·l·C_in·C_out for the (k, l) convolution it replaces. Kernel sizes are odd so that
    padding k//2 and l//2 keeps the spatial size, like ``nn.Conv2d(..., padding=k // 2)``. A stride s
    is split like the kernel: (s, 1) in the vertical conv, (1, s) in the horizontal one, so the taps of
    the pair land exactly where the (k, l) kernel's taps would (the vertical conv runs on H_out × W_in).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = (3, 3),
                 stride: int = 1, *, bias: bool = True) -> None:
        super().__init__()
        self.in_channels = checks.positive_int("in_channels", in_channels)
        self.out_channels = checks.positive_int("out_channels", out_channels)
        self.kernel_size = checks.kernel_pair("kernel_size", kernel_size)
        for size in self.kernel_size:
            checks.odd_positive_int("kernel_size", size)
        self.stride = checks.positive_int("stride", stride)
        checks.boolean("bias", bias)
        k, l = self.kernel_size
        self.vertical = nn.Conv2d(in_channels, out_channels, (k, 1), stride=(stride, 1), padding=(k // 2, 0),
                                  bias=False)
        self.horizontal = nn.Conv2d(out_channels, out_channels, (1, l), stride=(1, stride), padding=(0, l // 2),
                                    bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, self.in_channels)
        return self.horizontal(self.vertical(x))

    @key_neutral(UNUSED_BY_TRAINING)
    def cost(self, input_hw: tuple[int, int]) -> Cost:
        """Analytic params and MACs for one (C_in, H, W) input."""
        k, l = self.kernel_size
        h_out = conv_output_size(input_hw[0], k, self.stride, k // 2)
        w_out = conv_output_size(input_hw[1], l, self.stride, l // 2)
        return decomposed_conv_cost(k, l, self.in_channels, self.out_channels, h_out=h_out, w_out=w_out,
                                    bias=self.horizontal.bias is not None, w_mid=input_hw[1])


def best_pair(conv: nn.Conv2d, middle: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights of the best (k,1) then (1,l) pair with ``middle`` intermediate maps for the (k, l) conv ``conv``:
    the truncated SVD of M[(i, a), (o, b)] = W[o, i, a, b], M ≈ U_m Σ_m V_mᵀ (Eckart-Young: the best rank-m
    approximation), vertical = (U_m Σ_m)ᵀ of shape (m, C_in, k, 1), horizontal = V_mᵀ of shape (C_out, m, 1, l).
    Computed in float64 with one sign convention per term (each column of U has its largest entry positive):
    the same weights on any machine."""
    if not isinstance(conv, nn.Conv2d) or conv.groups != 1:
        raise ValueError(f"conv={conv!r} must be an nn.Conv2d with groups=1")
    c_out, c_in, k, l = conv.weight.shape
    checks.positive_int("middle", middle)
    if middle > min(c_in * k, c_out * l):
        raise ValueError(f"middle={middle} must be at most min(C_in·k, C_out·l) = {min(c_in * k, c_out * l)}, "
                         "the rank M can have")
    matrix = conv.weight.detach().permute(1, 2, 0, 3).reshape(c_in * k, c_out * l)
    u, sigma, vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    sign = torch.sign(u.gather(0, u.abs().argmax(0, keepdim=True)))
    u, vh = u * sign, vh * sign.T
    vertical = (u[:, :middle] * sigma[:middle]).T.reshape(middle, c_in, k, 1)
    horizontal = vh[:middle].reshape(middle, c_out, l).permute(1, 0, 2)
    return vertical.float(), horizontal.unsqueeze(2).float()
