"""Whole-network tools for Shift Attention Layers (SAL; Hacene et al. 2019, arXiv 1905.12300).

The layer itself is :class:`course_utils.layers.ShiftAttentionConv2d`. Here: setting the temperature of
every SAL of a network (the schedule that drives it during training is ``course_utils.experiments.sal``),
hardening and rebuilding a trained network as shifts + 1×1 convolutions, and the paper's accounting of a
whole network as deployed: its memory and its cost.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..cost import Cost, count
from ..layers.shift_attention import ChannelShift, ShiftAttentionConv2d, ShiftedPointwise, index_bits, sal_memory_words


def sal_layers(model: nn.Module) -> list[ShiftAttentionConv2d]:
    return [m for m in model.modules() if isinstance(m, ShiftAttentionConv2d)]


def set_temperature(model: nn.Module, temperature: float) -> None:
    """Set T in every ShiftAttentionConv2d of ``model``."""
    for layer in sal_layers(model):
        layer.set_temperature(temperature)


def harden(model: nn.Module) -> nn.Module:
    """Harden every SAL layer of ``model`` (in place); returns the model."""
    for layer in sal_layers(model):
        layer.harden()
    return model


def one_hot_fraction(model: nn.Module, threshold: float = 0.99) -> float:
    """Fraction of all SAL attention slices in ``model`` that are one-hot (max ≥ threshold)."""
    layers = sal_layers(model)
    if not layers:
        raise ValueError("model has no ShiftAttentionConv2d layer")
    with torch.no_grad():
        peaks = torch.cat([layer.attention_map().amax(-1).flatten() for layer in layers])
    return (peaks >= checks.fraction("threshold", threshold)).float().mean().item()


def to_shift_model(model: nn.Module) -> nn.Module:
    """Replace (in place) every hardened SAL submodule by its :meth:`to_shift` module; returns the model."""
    for name, child in list(model.named_children()):
        if isinstance(child, ShiftAttentionConv2d):
            setattr(model, name, child.to_shift())
        else:
            to_shift_model(child)
    return model


def memory_words(model: nn.Module) -> float:
    """Model memory in 32-bit words, the paper's way: every parameter is one word, except that a
    SAL layer counts its hardened size (kept weights + tap indices; the attention logits are
    training-only) and a fixed shift costs nothing."""
    total = 0.0
    for module in model.modules():
        if isinstance(module, ShiftAttentionConv2d):
            total += module.memory_words()
        elif isinstance(module, ShiftedPointwise):
            total += sal_memory_words(module.weight.shape[1], module.weight.shape[0], module.kernel_size)
            total += 0 if module.bias is None else module.bias.numel()
        elif isinstance(module, ChannelShift):
            total += len(module.order) * index_bits(module.kernel_size) / 32
        else:
            total += sum(p.numel() for p in module.parameters(recurse=False))
    return total


def _sal_inputs(model: nn.Module, input_size: tuple[int, ...]) -> list[tuple[ShiftAttentionConv2d, tuple[int, int]]]:
    """Each SAL layer of ``model`` with the (H, W) of its input, found by one forward pass."""
    seen: list[tuple[ShiftAttentionConv2d, tuple[int, int]]] = []
    hooks = [layer.register_forward_pre_hook(lambda m, args: seen.append((m, tuple(args[0].shape[-2:]))))
             for layer in sal_layers(model)]
    try:
        with torch.no_grad():
            was_training = model.training
            model.eval()
            device = next(model.parameters()).device
            model(torch.zeros(input_size, device=device))
            model.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def deployed_cost(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> Cost:
    """Params and MACs of the model as deployed. Equal to ``count(model)`` except for SAL layers,
    counted hardened (paper): C_in·C_out weights, each used once per output position
    (C_in·C_out·H_out·W_out MACs) — the attention logits and the k²−1 pruned taps are gone."""
    total = count(model, input_size)
    params, macs = total.params, total.macs
    for layer, (h, w) in _sal_inputs(model, input_size):
        dense = layer.cost((h, w))
        k2 = layer.kernel_size ** 2
        h_out_w_out = dense.macs // (k2 * layer.in_channels * layer.out_channels)
        bias = 0 if layer.bias is None else layer.out_channels
        params += layer.in_channels * layer.out_channels + bias - dense.params
        macs += layer.in_channels * layer.out_channels * h_out_w_out - dense.macs
    return Cost(params, macs)


def memory_bytes(model: nn.Module) -> float:
    """Bytes of float32 weights: 4 per parameter; a SAL layer counts its hardened size
    (each kept weight plus a ⌈log2 k²⌉-bit tap index, the paper's accounting)."""
    return 4 * memory_words(model)


__all__ = ["sal_layers", "set_temperature", "harden", "one_hot_fraction", "to_shift_model", "memory_words",
           "deployed_cost", "memory_bytes"]
