"""Whole-network tools for Shift Attention Layers (SAL; Hacene et al. 2019, arXiv 1905.12300).

The layer itself is :class:`course_utils.layers.ShiftAttentionConv2d`. Here: the temperature
schedule that anneals every SAL of a network during training (geometric 20 → 70, the authors'
code), hardening and rebuilding a trained network as shifts + 1×1 convolutions, and the paper's
memory accounting of a whole network.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..layers.shift_attention import (FINAL_TEMPERATURE, INITIAL_TEMPERATURE, ChannelShift, ShiftAttentionConv2d,
                                      ShiftedPointwise, index_bits, sal_memory_words)


# --- temperature schedule -------------------------------------------------------------------
def sal_layers(model: nn.Module) -> list[ShiftAttentionConv2d]:
    return [m for m in model.modules() if isinstance(m, ShiftAttentionConv2d)]


def set_temperature(model: nn.Module, temperature: float) -> None:
    """Set T in every ShiftAttentionConv2d of ``model``."""
    for layer in sal_layers(model):
        layer.set_temperature(temperature)


def geometric_temperature(step: int, total_steps: int, start: float = INITIAL_TEMPERATURE,
                          end: float = FINAL_TEMPERATURE) -> float:
    """T(step) = start · (end/start)^(step/(total_steps − 1)): ×(end/start)^(1/(total−1)) every step."""
    checks.non_negative_int("step", step)
    checks.positive_int("total_steps", total_steps)
    checks.positive_number("start", start)
    checks.positive_number("end", end)
    progress = min(step / max(total_steps - 1, 1), 1.0)
    return start * (end / start) ** progress


def temperature_step_hook(model: nn.Module, step: int, total_steps: int) -> None:
    """``train(..., step_hook=temperature_step_hook)``: anneal T geometrically 20 → 70."""
    set_temperature(model, geometric_temperature(step, total_steps))


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


__all__ = ["sal_layers", "set_temperature", "geometric_temperature", "temperature_step_hook", "harden",
           "one_hot_fraction", "to_shift_model", "memory_words"]
