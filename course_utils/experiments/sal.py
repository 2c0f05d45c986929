"""How the Shift Attention Layer (SAL; Hacene et al., ICPR 2020, arXiv:1905.12300) is trained and watched in
the committed runs: the temperature schedule, the attention's statistics epoch by epoch, and the hardened
network's accuracy at the end. They go into ``train`` as ``Hooks`` and so into every SAL run's key.

- :func:`temperature_step_hook`: T grows geometrically from 20 to 70 over training, the authors' schedule;
  :func:`temperature_schedule_hook` does the same from another T₀ (``functools.partial(..., start=T0)``).
- :class:`AttentionRecorder`: after every epoch, the share of one-hot slices (max A ≥ 0.99), the share of
  slices whose kept tap changed since initialisation, and how many slices keep each tap; at epoch 1 also
  the same at initialisation (``initial_*``).
- :func:`hardened_accuracy`: after training, the test accuracy (flip-averaged, whole test set) of a hardened
  copy (one tap per slice): the accuracy of SAL as deployed.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .. import checks
from ..layers.shift_attention import FINAL_TEMPERATURE, INITIAL_TEMPERATURE
from ..models.sal import harden, one_hot_fraction, sal_layers, set_temperature


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
    """``Hooks(step=temperature_step_hook)``: anneal T of every SAL layer geometrically, 20 → 70."""
    set_temperature(model, geometric_temperature(step, total_steps))


def temperature_schedule_hook(model: nn.Module, step: int, total_steps: int, *, start: float,
                              end: float = FINAL_TEMPERATURE) -> None:
    """``Hooks(step=functools.partial(temperature_schedule_hook, start=T0))``: the same geometric schedule,
    from T₀ = ``start`` at the first step to ``end`` (70, the authors' final temperature) at the last."""
    set_temperature(model, geometric_temperature(step, total_steps, start, end))


def attention_stats(model: nn.Module, initial_taps: list[torch.Tensor]) -> dict[str, Any]:
    """What the attention of every SAL layer in ``model`` holds now: the fraction of one-hot slices
    (max A ≥ 0.99), the fraction of slices whose kept tap t(d, c) = argmax a[d, c, :] differs from
    ``initial_taps`` (the taps at initialisation), and how many slices keep each of the k² taps."""
    layers = sal_layers(model)
    taps = [layer.chosen_taps().cpu() for layer in layers]
    changed = sum((now != start).sum().item() for now, start in zip(taps, initial_taps))
    slices = sum(now.numel() for now in taps)
    k2 = layers[0].kernel_size ** 2
    histogram = torch.bincount(torch.cat([now.flatten() for now in taps]), minlength=k2)
    return {"one_hot_fraction": one_hot_fraction(model), "taps_changed": changed / slices,
            "tap_counts": histogram.tolist()}


class AttentionRecorder:
    """``Hooks(epoch=AttentionRecorder(seed))``: :func:`attention_stats` after every epoch; at epoch 1 also at
    initialisation (``initial_*``: the model re-initialised with ``seed`` on a copy, the training's random
    state untouched). One recorder per run: it remembers the initial taps."""

    def __init__(self, seed: int) -> None:
        self.seed = checks.non_negative_int("seed", seed)
        self.initial_taps: list[torch.Tensor] = []

    def __call__(self, model: nn.Module, epoch: int) -> dict[str, Any]:
        from ..training import reset_parameters

        row: dict[str, Any] = {}
        if not self.initial_taps:
            start = copy.deepcopy(model).cpu()
            with torch.random.fork_rng(devices=[]):
                reset_parameters(start, self.seed)
            self.initial_taps = [layer.chosen_taps().cpu() for layer in sal_layers(start)]
            at_start = attention_stats(start, self.initial_taps)
            row |= {f"initial_{key}": value for key, value in at_start.items() if key != "taps_changed"}
        return row | attention_stats(model, self.initial_taps)


def hardened_accuracy(model: nn.Module, data: Any) -> dict[str, float]:
    """``Hooks(final=hardened_accuracy)``: the test accuracy (whole test set, flip-averaged, float32) of a
    hardened copy of ``model``: one tap per slice, SAL as deployed."""
    from ..training import measure

    hardened = harden(copy.deepcopy(model))
    return {"hardened_test_accuracy": measure(hardened, data.test_images, data.test_labels, tta=True)[1]}


__all__ = ["geometric_temperature", "temperature_step_hook", "temperature_schedule_hook", "attention_stats",
           "AttentionRecorder", "hardened_accuracy"]
