"""Folding BatchNorm into the convolution before it, for deployment.

In eval mode a BatchNorm is an affine map per channel, y = γ·(z − μ)/σ + β with σ = sqrt(var + ε). When z is
a convolution's output, z = W * x + b, the two are one convolution:

    W' = W · γ/σ   (each output channel's filter scaled),        b' = (b − μ) · γ/σ + β.

So the deployed network has one layer less per block, the same outputs, and the BatchNorm's 2·C parameters
gone (its running statistics too). A BatchNorm can be folded only into a linear map that produces its input
directly: in the course's blocks, a ``Conv2d`` before it in the same ``nn.Sequential`` or module, the
``horizontal`` conv of a ``DecomposedConv2d``, the 1×1 of a ``ShiftConv2d``, or a ``ShiftAttentionConv2d``
(its kernel A ⊙ W scales with W). Where a ReLU or a concatenation comes first (the Fire block: BatchNorm after
the concatenated expands, which end in ReLUs), it cannot: :func:`fold_batchnorm` says which and why.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from .layers import DecomposedConv2d, DepthwiseSeparableConv2d, ShiftAttentionConv2d, ShiftConv2d

# Blocks that are not a Sequential, with the (layer, BatchNorm) pairs their forward applies one after the
# other: DepthwiseSeparableConv2d runs depthwise → bn1 → ReLU → pointwise → bn2 → ReLU.
FORWARD_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    DepthwiseSeparableConv2d: (("depthwise", "bn1"), ("pointwise", "bn2")),
}


@dataclass(frozen=True)
class Folded:
    """What :func:`fold_batchnorm` did: the folded copy, the BatchNorms folded (their names in the original
    model), and the ones left, each with why."""

    model: nn.Module
    folded: list[str]
    kept: dict[str, str]


def _linear_before(module: nn.Module) -> nn.Module | None:
    """The layer whose weights a BatchNorm right after ``module`` scales: a Conv2d itself, the last conv of a
    course block that ends in one, or None."""
    if isinstance(module, nn.Conv2d):
        return module
    if isinstance(module, DecomposedConv2d):
        return module.horizontal
    if isinstance(module, ShiftConv2d):
        return module.pointwise
    if isinstance(module, ShiftAttentionConv2d):
        return module
    return None


def _fold_into(layer: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Scale ``layer``'s weight and set its bias so that layer followed by ``bn`` (eval) is ``layer`` alone."""
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)              # γ/σ, one per output channel
        layer.weight.mul_(scale.view(-1, *([1] * (layer.weight.dim() - 1))))
        old_bias = layer.bias if layer.bias is not None else torch.zeros_like(bn.running_mean)
        new_bias = (old_bias - bn.running_mean) * scale + bn.bias
        if layer.bias is None:
            layer.bias = nn.Parameter(new_bias)
        else:
            layer.bias.copy_(new_bias)


def fold_batchnorm(model: nn.Module) -> Folded:
    """A copy of ``model`` in eval mode with every BatchNorm2d that directly follows a foldable layer (see the
    module docstring) folded into it and replaced by ``nn.Identity``; outputs equal the original's in eval
    mode up to float rounding. ``model`` itself is not changed."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    folded_model = copy.deepcopy(model).eval()
    folded, kept = [], {}
    for parent_name, parent in list(folded_model.named_modules()):
        children = list(parent.named_children())
        if isinstance(parent, nn.Sequential):
            pairs = list(zip([None, *(child for _, child in children[:-1])], children))
        else:
            known = dict((bn, layer) for layer, bn in FORWARD_PAIRS.get(type(parent), ()))
            pairs = [(getattr(parent, known[name]) if name in known else None, (name, child))
                     for name, child in children]
        for before, (name, child) in pairs:
            if not isinstance(child, nn.BatchNorm2d):
                continue
            full = f"{parent_name}.{name}" if parent_name else name
            layer = _linear_before(before) if before is not None else None
            if before is None and not isinstance(parent, nn.Sequential):
                kept[full] = f"inside {type(parent).__name__}, whose forward decides what feeds it: left as it is"
            elif layer is None:
                what = type(before).__name__ if before is not None else "nothing"
                kept[full] = f"follows {what}, not a convolution it can be folded into"
            elif not child.track_running_stats or child.running_var is None:
                kept[full] = "has no running statistics to fold"
            else:
                _fold_into(layer, child)
                setattr(parent, name, nn.Identity())
                folded.append(full)
    return Folded(folded_model, folded, kept)


__all__ = ["Folded", "fold_batchnorm"]
