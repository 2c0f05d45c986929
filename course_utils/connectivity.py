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


def shuffled(channels: int, *, groups: int) -> np.ndarray:
    """The channel shuffle of G groups as a permutation: output map j holds input map ``shuffled(...)[j]``.
    Output j = i·G + g takes member i of group g, input map g·(C/G) + i (``layers.ChannelShuffle``)."""
    checks.positive_int("channels", channels)
    checks.positive_int("groups", groups)
    checks.divides("groups", groups, "channels", channels)
    j = np.arange(channels)
    return (j % groups) * (channels // groups) + j // groups


def stacked_connectivity(channels: int, *, groups: int, shuffle: bool) -> np.ndarray:
    """Boolean matrix (C, C) of two grouped 1×1 layers C → C, with or without a channel shuffle between them:
    output o reaches input i through some middle map m, reach = second · (P ·) first (boolean products, P the
    shuffle's permutation matrix). Without the shuffle it is block-diagonal, as one grouped layer; with it every
    output reaches every input (G² ≤ C: each group then sends a map to every group)."""
    checks.boolean("shuffle", shuffle)
    layer = connectivity(channels, channels, groups=groups).astype(int)
    identity = np.eye(channels, dtype=int)
    middle = identity[shuffled(channels, groups=groups)] if shuffle else identity
    return (layer @ middle @ layer) > 0


def measured_connectivity(layer: nn.Module, size: int = 5) -> np.ndarray:
    """Boolean matrix (C_out, C_in) measured on ``layer`` (a convolution, or a stack of convolutions and channel
    shuffles): True where output o changes with input i.

    Runs the layer on a random (1, C_in, size, size) input (C_in: its first convolution's) and takes, for each
    output map, the gradient of its sum with respect to every input map: a map it never reads gets an exactly
    zero gradient. Every convolution's weights are replaced by ones for the measurement (a trained weight could
    be exactly 0) and restored afterwards.
    """
    convolutions = [m for m in layer.modules() if isinstance(m, nn.Conv2d)] if isinstance(layer, nn.Module) else []
    if not convolutions:
        raise ValueError(f"layer={type(layer).__name__} must be a torch.nn.Conv2d or a module holding one")
    checks.positive_int("size", size)
    originals = [conv.weight.detach().clone() for conv in convolutions]
    try:
        with torch.no_grad():
            for conv in convolutions:
                conv.weight.fill_(1.0)
        x = torch.rand(1, convolutions[0].in_channels, size, size, requires_grad=True)
        y = layer(x)
        rows = []
        for o in range(y.shape[1]):
            (grad,) = torch.autograd.grad(y[0, o].sum(), x, retain_graph=True)
            rows.append(grad[0].abs().sum(dim=(1, 2)) > 0)
        return torch.stack(rows).numpy()
    finally:
        with torch.no_grad():
            for conv, original in zip(convolutions, originals):
                conv.weight.copy_(original)


__all__ = ["connectivity", "shuffled", "stacked_connectivity", "measured_connectivity"]
