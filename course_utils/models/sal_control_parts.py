"""The code that runs *inside* the SAL control runs of notebook 06 (``course_utils.models.sal_controls``):
a Shift Attention Layer whose attention is frozen at its random initialisation, and a temperature
schedule that starts from any T₀.

Kept apart from ``sal_controls`` on purpose: a stored run's key holds a hash of the whole source file of
every course class in its model and of every hook (``course_utils.runs.code_fingerprints``), so only
this short file is part of the control runs' key. Editing its code (not its docstrings or comments)
makes those runs stale; editing the registry, the builder or the loader in ``sal_controls`` does not.
"""
from __future__ import annotations

from torch import nn

from ..layers.shift_attention import FINAL_TEMPERATURE, INITIAL_TEMPERATURE, ShiftAttentionConv2d
from .sal import geometric_temperature, set_temperature


class FrozenAttentionConv2d(ShiftAttentionConv2d):
    """A :class:`ShiftAttentionConv2d` whose attention logits a stay at their random initialisation.

    The kernel is still A ⊙ W with A = softmax(T·a/std(a)), but a is not trained (``requires_grad=False``:
    it gets no gradient, so the optimiser, weight decay included, never changes it). W trains and T may
    follow its schedule, so A sharpens on fixed random taps; :meth:`harden` keeps t(d, c) = argmax a[d, c, :],
    the tap drawn at initialisation: a random fixed shift per (output, input) slice.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 shared: bool = False, bias: bool = False, temperature: float = INITIAL_TEMPERATURE) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, shared=shared, bias=bias,
                         temperature=temperature)
        self.attention.requires_grad_(False)


def temperature_schedule_hook(model: nn.Module, step: int, total_steps: int, *, start: float,
                              end: float = FINAL_TEMPERATURE) -> None:
    """``train(..., step_hook=functools.partial(temperature_schedule_hook, start=T0))``: anneal T of every
    SAL layer geometrically, T(step) = start · (end/start)^(step/(total_steps − 1)), from T₀ = ``start`` at
    the first step to ``end`` (70, the authors' final temperature) at the last."""
    set_temperature(model, geometric_temperature(step, total_steps, start, end))


__all__ = ["FrozenAttentionConv2d", "temperature_schedule_hook"]
