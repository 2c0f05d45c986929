"""Which input maps feed which output maps: the connectivity of a (grouped) convolution.

A convolution with G groups splits the C_in input maps and the C_out output maps into G blocks of
consecutive maps; output map o reads input map i only when both sit in the same block:

    connected[o, i] = ⌊o / (C_out/G)⌋ == ⌊i / (C_in/G)⌋

G = 1 is the standard convolution (every output reads every input), G = C_in the depthwise one
(each output reads a single input). ``measured_connectivity`` finds the same matrix by asking torch
which inputs a layer's outputs actually depend on.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import checks


def connectivity(c_in: int, c_out: int, *, groups: int = 1) -> np.ndarray:
    """Boolean matrix (C_out, C_in): True where output map o reads input map i.

    connected[o, i] = ⌊o / (C_out/G)⌋ == ⌊i / (C_in/G)⌋ ; each row has C_in/G True entries.
    """
    checks.positive_int("c_in", c_in)
    checks.positive_int("c_out", c_out)
    checks.positive_int("groups", groups)
    checks.divides("groups", groups, "c_in", c_in)
    checks.divides("groups", groups, "c_out", c_out)
    out_block = np.arange(c_out) // (c_out // groups)
    in_block = np.arange(c_in) // (c_in // groups)
    return out_block[:, None] == in_block[None, :]


def measured_connectivity(layer: nn.Conv2d, size: int = 5) -> np.ndarray:
    """Boolean matrix (C_out, C_in) measured on ``layer``: True where output o changes with input i.

    Runs the layer on a random (1, C_in, size, size) input and takes, for each output map, the gradient
    of its sum with respect to every input map: a map it never reads gets an exactly zero gradient.
    The weights are replaced by ones for the measurement (a trained weight could be exactly 0) and
    restored afterwards.
    """
    if not isinstance(layer, nn.Conv2d):
        raise ValueError(f"layer={type(layer).__name__} must be a torch.nn.Conv2d")
    checks.positive_int("size", size)
    original = layer.weight.detach().clone()
    try:
        with torch.no_grad():
            layer.weight.fill_(1.0)
        x = torch.rand(1, layer.in_channels, size, size, requires_grad=True)
        y = layer(x)
        rows = []
        for o in range(layer.out_channels):
            (grad,) = torch.autograd.grad(y[0, o].sum(), x, retain_graph=True)
            rows.append(grad[0].abs().sum(dim=(1, 2)) > 0)
        return torch.stack(rows).numpy()
    finally:
        with torch.no_grad():
            layer.weight.copy_(original)


__all__ = ["connectivity", "measured_connectivity"]
