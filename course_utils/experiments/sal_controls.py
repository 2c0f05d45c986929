"""Controls for the question of notebook 06: does the Shift Attention Layer *learn* its shifts?

With the authors' initialisation (a ~ U(0, 1), A = softmax(T·a/std(a)), T₀ = 20) about half of the
attention slices are already one-hot before any training, so "the attention collapses to one tap" says
little by itself. Each control changes one thing in the operator lab's SAL network,
``lab_model("sal", 0.5)`` (the course baseline, width 0.5), and trains it with the same recipe
(20 epochs on the bundled 5,000 images, the lab's seeds); accuracy is the hardened network's
(one tap per slice) on the 10,000 test images, as for the lab's SAL runs:

- ``sal_frozen``: the attention logits frozen at their random initialisation (not trained), then hardened:
  a random fixed tap per slice. T still follows the authors' schedule 20 → 70, as in the SAL run, so
  the only difference is that a does not learn (and the soft A ⊙ W sharpens onto the same taps
  that hardening keeps);
- ``sal_shared``: one attention vector per input channel (``shared=True``), hence one tap per input
  channel: a learned shift followed by one 1×1 convolution;
- ``sal_t1``, ``sal_t5``: SAL started at T₀ = 1 or 5 (the softmax starts soft), annealed geometrically to
  the same final T = 70;
- ``sal_random_taps``: one random tap per slice, one-hot and fixed from the first step
  (:class:`~course_utils.layers.RandomTapsConv2d`): the clean version of ``sal_frozen``, whose soft attention only
  sharpens onto its random taps as T grows, so that hardening at the end costs it accuracy that learning the taps
  is then credited with. Here soft and hardened are the same network.

The two references are lab runs: SAL as the authors train it (``sal`` at width 0.5) and Wu et al.'s fixed
shift + 1×1 (``shift`` at width 0.5). For the same seed, ``sal_frozen``, ``sal_t1`` and ``sal_t5`` start from
exactly the weights and logits of the lab's SAL run (same layer shapes, same random draws); ``sal_shared``
draws fewer logits, so its later weights differ. The runs (``nb06_<control>``, ``_seed<k>`` for k > 0) are
listed in ``experiments.catalog`` and made by ``make sal-controls``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from torch import nn

from ..layers.shift_attention import (INITIAL_TEMPERATURE, FrozenAttentionConv2d, RandomTapsConv2d,
                                      ShiftAttentionConv2d)
from ..models.baseline import BaselineCNN
from .lab import lab_model

WIDTH = 0.5                  # the lab's SAL and shift runs at this width are the references (a) and (c)


@dataclass(frozen=True)
class Control:
    """One control: what differs from the lab's SAL (frozen logits, shared attention, initial temperature, random
    one-hot taps from the start)."""

    name: str
    label: str
    frozen: bool = False
    random_taps: bool = False
    shared: bool = False
    initial_temperature: float = INITIAL_TEMPERATURE


CONTROLS: dict[str, Control] = {c.name: c for c in (
    Control("sal_frozen", "SAL, attention frozen at initialisation", frozen=True),
    Control("sal_shared", "shared SAL (one tap per input channel)", shared=True),
    Control("sal_t1", "SAL from T₀ = 1", initial_temperature=1.0),
    Control("sal_t5", "SAL from T₀ = 5", initial_temperature=5.0),
    Control("sal_random_taps", "random one-hot taps, fixed from the first step", random_taps=True),
)}


def control(name: str) -> Control:
    """The control called ``name``, or a ValueError listing them."""
    if name not in CONTROLS:
        raise ValueError(f"control={name!r} must be one of {list(CONTROLS)}")
    return CONTROLS[name]


def _replace_sal_layers(module: nn.Module, make: Callable[[ShiftAttentionConv2d], nn.Module]) -> int:
    """Replace (in place, same position) every ShiftAttentionConv2d below ``module`` by ``make(old)``;
    returns how many were replaced."""
    replaced = 0
    for name, child in list(module.named_children()):
        if isinstance(child, ShiftAttentionConv2d):
            setattr(module, name, make(child))
            replaced += 1
        else:
            replaced += _replace_sal_layers(child, make)
    return replaced


def control_model(name: str) -> BaselineCNN:
    """``lab_model("sal", 0.5)`` with each ShiftAttentionConv2d rebuilt as the control asks: a
    :class:`FrozenAttentionConv2d` (frozen), a :class:`RandomTapsConv2d` (random taps), ``shared=True`` (shared)
    or started at T₀ (temperature)."""
    spec = control(name)
    model = lab_model("sal", WIDTH)
    layer_class = (RandomTapsConv2d if spec.random_taps else
                   FrozenAttentionConv2d if spec.frozen else ShiftAttentionConv2d)

    def make(old: ShiftAttentionConv2d) -> nn.Module:
        return layer_class(old.in_channels, old.out_channels, old.kernel_size, old.stride, shared=spec.shared,
                           bias=old.bias is not None, temperature=spec.initial_temperature)

    if _replace_sal_layers(model, make) == 0:
        raise ValueError(f'lab_model("sal", {WIDTH}) has no ShiftAttentionConv2d to replace')
    return model


def attention_summary(history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """From a SAL run's history: one-hot fraction at initialisation and at the end, fraction of slices whose
    kept tap changed since initialisation, and the tap counts at both ends."""
    if not history or "initial_one_hot_fraction" not in history[0] or "taps_changed" not in history[-1]:
        raise ValueError("history must be a SAL run's per-epoch records (with initial_one_hot_fraction and "
                         "taps_changed: a run trained with experiments.sal.AttentionRecorder)")
    first, last = history[0], history[-1]
    return {"one_hot_at_init": first["initial_one_hot_fraction"], "one_hot_at_end": last["one_hot_fraction"],
            "taps_changed": last["taps_changed"], "tap_counts_at_init": first["initial_tap_counts"],
            "tap_counts_at_end": last["tap_counts"]}


def attention_curve(history: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per epoch from 0 (initialisation) to the last: epoch, one_hot_fraction, taps_changed
    (0 at epoch 0 by definition)."""
    start = attention_summary(history)
    rows = [{"epoch": 0, "one_hot_fraction": start["one_hot_at_init"], "taps_changed": 0.0}]
    rows += [{"epoch": r["epoch"], "one_hot_fraction": r["one_hot_fraction"], "taps_changed": r["taps_changed"]}
             for r in history]
    return pd.DataFrame(rows)


__all__ = ["Control", "CONTROLS", "WIDTH", "control", "control_model", "attention_summary", "attention_curve"]
