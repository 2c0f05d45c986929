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
  the same final T = 70.

The two references are lab runs (``course_utils.sweeps.load_lab_runs``): SAL as the authors train it
(``sal`` at width 0.5) and Wu et al.'s fixed shift + 1×1 (``shift`` at width 0.5). For the same seed,
``sal_frozen``, ``sal_t1`` and ``sal_t5`` start from exactly the weights and logits of the lab's SAL run
(same layer shapes, same random draws); ``sal_shared`` draws fewer logits, so its later weights differ.

Runs are named ``nb06_<control>`` (+ ``_seed<k>`` for k > 0) and made by ``make sal-controls``
(``benchmarks/train_sal_controls.py``). The code inside the runs lives in ``sal_control_parts``.
"""
from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from .. import checks
from ..runs import read_record, read_stores
from ..sweeps import MissingRunError, stored_runs_only
from ..layers.shift_attention import FINAL_TEMPERATURE, INITIAL_TEMPERATURE, ShiftAttentionConv2d
from .baseline import BaselineCNN
from .operator_lab import SAL_WEIGHTS_BYTES, SEEDS, deployed_cost, lab_model, memory_bytes, sal_epoch_hook
from .sal import temperature_step_hook
from .sal_control_parts import FrozenAttentionConv2d, temperature_schedule_hook

WIDTH = 0.5                  # the lab's SAL and shift runs at this width are the references (a) and (c)
PREFIX = "nb06_"
MAKE_TARGET = "make sal-controls"


@dataclass(frozen=True)
class Control:
    """One control: what differs from the lab's SAL (frozen logits, shared attention, initial temperature)."""

    name: str
    label: str
    frozen: bool = False
    shared: bool = False
    initial_temperature: float = INITIAL_TEMPERATURE


CONTROLS: dict[str, Control] = {c.name: c for c in (
    Control("sal_frozen", "SAL, attention frozen at initialisation", frozen=True),
    Control("sal_shared", "shared SAL (one tap per input channel)", shared=True),
    Control("sal_t1", "SAL from T₀ = 1", initial_temperature=1.0),
    Control("sal_t5", "SAL from T₀ = 5", initial_temperature=5.0),
)}


def _control(control: str) -> Control:
    if control not in CONTROLS:
        raise ValueError(f"control={control!r} must be one of {list(CONTROLS)}")
    return CONTROLS[control]


def control_run_name(control: str, *, seed: int = 0) -> str:
    """``nb06_<control>``, then ``_seed<seed>`` unless seed 0 (``nb06_sal_frozen``, ``nb06_sal_t1_seed1``)."""
    _control(control)
    checks.non_negative_int("seed", seed)
    return f"{PREFIX}{control}" + (f"_seed{seed}" if seed else "")


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


def control_model(control: str) -> BaselineCNN:
    """``lab_model("sal", 0.5)`` with each ShiftAttentionConv2d rebuilt as the control asks: a
    :class:`FrozenAttentionConv2d` (frozen), ``shared=True`` (shared) or started at T₀ (temperature)."""
    spec = _control(control)
    model = lab_model("sal", WIDTH)
    layer_class = FrozenAttentionConv2d if spec.frozen else ShiftAttentionConv2d

    def make(old: ShiftAttentionConv2d) -> nn.Module:
        return layer_class(old.in_channels, old.out_channels, old.kernel_size, old.stride, shared=spec.shared,
                           bias=old.bias is not None, temperature=spec.initial_temperature)

    if _replace_sal_layers(model, make) == 0:
        raise ValueError(f'lab_model("sal", {WIDTH}) has no ShiftAttentionConv2d to replace')
    return model


def control_step_hook(control: str) -> Callable[[nn.Module, int, int], None]:
    """The temperature schedule of the control: the lab's SAL hook (20 → 70) when T₀ = 20, else
    ``partial(temperature_schedule_hook, start=T₀, end=70)`` (its arguments are part of the run's key)."""
    spec = _control(control)
    if spec.initial_temperature == INITIAL_TEMPERATURE:
        return temperature_step_hook
    return functools.partial(temperature_schedule_hook, start=spec.initial_temperature, end=FINAL_TEMPERATURE)


def attention_summary(history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """From a SAL run's history (this module's or the lab's): one-hot fraction at initialisation and at the
    end, fraction of slices whose kept tap changed since initialisation, and the tap counts at both ends."""
    if not history or "initial_one_hot_fraction" not in history[0] or "taps_changed" not in history[-1]:
        raise ValueError("history must be a SAL run's per-epoch records (with initial_one_hot_fraction and "
                         "taps_changed: a run trained with operator_lab.sal_epoch_hook)")
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


def train_control(control: str, data, *, seed: int, epochs: int = 20, retrain: bool = False,
                  on_mismatch: str = "retrain", cache_dir: str | Path | None = None, progress: bool = True,
                  device: str | None = None) -> dict[str, Any]:
    """Train one control (cached as :func:`control_run_name`) with the lab's recipe and SAL hooks and return
    one row like ``operator_lab.train_variant``'s: control, label, width, seed, params, macs (deployed),
    memory_bytes, accuracy (hardened, flip-averaged, whole test set), soft_accuracy, epochs, wall_time_s,
    device, cached, provenance, history (attention statistics from initialisation on) and the trained model
    (CPU, eval mode, its weights stored and loaded with the run)."""
    from ..train import train

    spec = _control(control)
    checks.non_negative_int("seed", seed)
    checks.positive_int("epochs", epochs)
    model = control_model(control)
    result = train(model, data, name=control_run_name(control, seed=seed), epochs=epochs, seed=seed,
                   retrain=retrain, device=device, on_mismatch=on_mismatch, cache_dir=cache_dir, progress=progress,
                   max_weights_bytes=SAL_WEIGHTS_BYTES, step_hook=control_step_hook(control),
                   epoch_hook=sal_epoch_hook(data, epochs, seed))
    model = model.cpu().float()
    cost = deployed_cost(model)
    return {"control": control, "label": spec.label, "width": model.width, "seed": seed, "params": cost.params,
            "macs": cost.macs, "memory_bytes": memory_bytes(model),
            "accuracy": result.history[-1]["hardened_test_accuracy"], "soft_accuracy": result.test_accuracy,
            "epochs": epochs, "wall_time_s": result.wall_time_s, "device": result.device, "cached": result.cached,
            "provenance": result.provenance, "history": result.history, "model": model}


def load_control_runs(data, *, seeds: Sequence[int] = SEEDS, controls: Sequence[str] | None = None,
                      epochs: int = 20) -> pd.DataFrame:
    """One row per stored control run (control × seed): control, label, seed, accuracy (hardened),
    soft_accuracy, one_hot_at_init, one_hot_at_end, taps_changed, tap_counts_at_init, tap_counts_at_end,
    params, macs, memory_bytes, history, model, name; loaded with the full cache key (code, recipe, seed,
    data). A missing or stale run raises ``course_utils.sweeps.MissingRunError`` naming
    ``make sal-controls``. Nothing is trained, even when ``COURSE_RETRAIN`` is set."""
    names = list(CONTROLS) if controls is None else list(controls)
    for control in names:
        _control(control)
    for seed in seeds:
        checks.non_negative_int("seed", seed)
    checks.positive_int("epochs", epochs)
    rows = []
    for control in names:
        for seed in seeds:
            name = control_run_name(control, seed=seed)
            if not any(read_record(folder, name) for folder in read_stores()):
                raise MissingRunError(f"the run {name} is not stored: make it with `{MAKE_TARGET}` "
                                      "(benchmarks/train_sal_controls.py; see benchmarks/README.md)")
            try:
                with contextlib.redirect_stdout(io.StringIO()), stored_runs_only():
                    row = train_control(control, data, seed=seed, epochs=epochs, progress=False,
                                        on_mismatch="raise")
            except ValueError as error:
                raise MissingRunError(f"{error} Remake it with `{MAKE_TARGET}`.") from None
            summary = attention_summary(row["history"])
            rows.append({k: row[k] for k in ("control", "label", "seed", "accuracy", "soft_accuracy")} | summary
                        | {k: row[k] for k in ("params", "macs", "memory_bytes", "history", "model")} | {"name": name})
    return pd.DataFrame(rows)


__all__ = ["Control", "CONTROLS", "WIDTH", "PREFIX", "MAKE_TARGET", "control_run_name", "control_model",
           "control_step_hook", "attention_summary", "attention_curve", "train_control", "load_control_runs"]
