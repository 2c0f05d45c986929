"""The operator lab (notebook 07): every Session-5 operator in the body of the same course baseline.

A *variant* is (block, width): ``baseline_cnn(block, width)``, the course baseline with its 3×3 body
convolutions replaced by ``block`` and every layer's channels multiplied by ``width``. The widths are
chosen so that the seven variants spread over a range of parameters and MACs (cheap operators get a
wider network, so that they are compared at a useful size, not only at the smallest one).

SAL trains as a dense 3×3 convolution with an attention mask (A ⊙ W) and is deployed hardened: one
weight and one tap index per (output, input) pair, i.e. a shift and a 1×1 convolution. Its deployed
cost and memory follow the paper's accounting (:func:`deployed_cost`, :func:`memory_bytes`).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import checks
from ..cost import Cost, count
from ..layers import Shift2d, ShiftAttentionConv2d
from ..operators import OPERATORS, LayerShape, sal_block
from .baseline import BaselineCNN
from .sal import harden, memory_words, one_hot_fraction, sal_layers, temperature_step_hook


@dataclass(frozen=True)
class Variant:
    """One point of the lab: the body operator (a name in the registry ``course_utils.operators``) and
    its width multiplier; its label is the registry's."""

    block: str
    width: float

    @property
    def label(self) -> str:
        return OPERATORS[self.block].label


# Widths: 1.0 (the course baseline itself) for every operator except the inverted residual, whose
# t = 6 expansion makes every block six times wider inside (0.5 puts it between the cheap operators and
# the 3×3-cost ones, and keeps its training time within a lab's budget on 2 CPU cores). The points span
# ≈ 18 k – 145 k parameters and 1.4 M – 8.7 M MACs, and shift + 1×1 and the hardened SAL have exactly
# the same deployed cost: fixed shifts against learned ones.
VARIANTS: dict[str, Variant] = {
    v.block: v for v in (
        Variant("standard", 1.0),
        Variant("decomposed", 1.0),
        Variant("fire", 1.0),
        Variant("depthwise_separable", 1.0),
        Variant("inverted_residual", 0.5),
        Variant("shift", 1.0),
        Variant("sal", 1.0),
    )
}


# Matched-cost curves (notebook 07 and the seeds behind notebooks 02-07): each operator at three widths,
# a factor of 2 apart, chosen so that the curves overlap in MACs and parameters: the 3×3-cost operators
# go narrower (0.25-1), the cheap ones wider (0.5-2), the inverted residual (t = 6) narrowest. Each point
# is trained with every seed of SEEDS (``benchmarks/train_operators.py --sweep``, ``make sweep``).
SWEEP_WIDTHS: dict[str, tuple[float, ...]] = {
    "standard": (0.25, 0.5, 1.0),
    "decomposed": (0.25, 0.5, 1.0),
    "fire": (0.5, 1.0, 2.0),
    "depthwise_separable": (0.5, 1.0, 2.0),
    "inverted_residual": (0.125, 0.25, 0.5),
    "shift": (0.5, 1.0, 2.0),
    "sal": (0.25, 0.5, 1.0),
}
SEEDS: tuple[int, ...] = (0, 1, 2)
# SAL runs keep their weights (≤ 1.2 MB at width 1), so that notebook 06 can show the learned attention;
# the other lab runs store their record only.
SAL_WEIGHTS_BYTES = 2_000_000


def run_name(variant: str, *, width: float | None = None, seed: int = 0, prefix: str = "nb07_") -> str:
    """The stored run's name: ``<prefix><variant>``, then ``_w<width>`` unless it is the lab's width, then
    ``_seed<seed>`` unless seed 0 (``nb07_fire``, ``nb07_fire_w2.0_seed1``)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be one of {list(VARIANTS)}")
    checks.non_negative_int("seed", seed)
    name = f"{prefix}{variant}"
    if width is not None and checks.positive_number("width", width) != VARIANTS[variant].width:
        name += f"_w{float(width)}"
    return name + (f"_seed{seed}" if seed else "")


def lab_model(variant: str, width: float | None = None) -> BaselineCNN:
    """The course baseline with the variant's operator, at the variant's width (or ``width``)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be one of {list(VARIANTS)}")
    spec = VARIANTS[variant]
    return BaselineCNN(spec.block, spec.width if width is None else checks.positive_number("width", width))


def _sal_inputs(model: nn.Module, input_size: tuple[int, ...]) -> list[tuple[ShiftAttentionConv2d, tuple[int, int]]]:
    """Each SAL layer of ``model`` with the (H, W) of its input, found by one forward pass."""
    seen: list[tuple[ShiftAttentionConv2d, tuple[int, int]]] = []
    hooks = [layer.register_forward_pre_hook(lambda m, args: seen.append((m, tuple(args[0].shape[-2:]))))
             for layer in model.modules() if isinstance(layer, ShiftAttentionConv2d)]
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


def sal_attention_stats(model: nn.Module, initial_taps: list[torch.Tensor]) -> dict[str, Any]:
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


def sal_epoch_hook(data, epochs: int, seed: int) -> Callable[[nn.Module, int], dict[str, Any]]:
    """``epoch_hook`` for SAL runs. Every epoch: :func:`sal_attention_stats` (one-hot fraction, taps changed
    since initialisation, tap counts); at epoch 1 also the same at initialisation (``initial_*``: the model
    re-initialised with ``seed`` on a copy, the training's random state untouched); after the last epoch
    the test accuracy (flip-averaged) of a hardened copy (one tap per slice)."""
    from ..train import evaluate, reset_parameters

    checks.positive_int("epochs", epochs)
    checks.non_negative_int("seed", seed)
    initial: dict[str, Any] = {}

    def hook(model: nn.Module, epoch: int) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if not initial:
            start = copy.deepcopy(model).cpu()
            with torch.random.fork_rng(devices=[]):
                reset_parameters(start, seed)
            initial["taps"] = [layer.chosen_taps().cpu() for layer in sal_layers(start)]
            at_start = sal_attention_stats(start, initial["taps"])
            row |= {f"initial_{key}": value for key, value in at_start.items() if key != "taps_changed"}
        row |= sal_attention_stats(model, initial["taps"])
        if epoch == epochs:
            hardened = harden(copy.deepcopy(model))
            row["hardened_test_accuracy"] = evaluate(hardened, data.test_images, data.test_labels, tta=True)[1]
        return row

    return hook


class Copy(nn.Module):
    """x → a copy of x: reads and writes the tensor once, computes nothing (the memory floor)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def single_layer_operators(channels: int) -> dict[str, nn.Module]:
    """One layer of each registry operator (``OPERATORS[name].layer``), mapping ``channels`` maps to
    ``channels`` maps at stride 1, keyed by its label (for timing); then four reference points.

    The blocks (depthwise-separable, inverted residual, Fire) include their BatchNorm and activations;
    the single convolutions have no bias. 'SAL (training)' is the dense A ⊙ W convolution it trains as,
    'SAL (hardened)' its shift + 1×1 form (:meth:`ShiftAttentionConv2d.to_shift`); 'pointwise 1×1',
    'shift alone' and 'copy' (reads and writes the tensor once: the memory floor) are references.
    """
    c = checks.positive_int("channels", channels)
    if c < 8 or c % 8:
        raise ValueError(f"channels={channels} must be a multiple of 8 and at least 8 (Fire squeezes to "
                         f"channels/8; the grouped conv has {LayerShape.groups} groups)")
    torch.manual_seed(0)
    layers = {op.label: op.layer(c) for op in OPERATORS.values()}
    sal_label = OPERATORS["sal"].label
    layers[f"{sal_label} (training)"] = sal = layers.pop(sal_label)
    return {
        **layers,
        f"{sal_label} (hardened)": copy.deepcopy(sal).harden().to_shift(),
        "pointwise 1×1": nn.Conv2d(c, c, 1, bias=False),
        "shift alone": Shift2d(c, 3),
        "copy": Copy(),
    }


def train_variant(variant: str, data, epochs: int, prefix: str = "nb07_", width: float | None = None,
                  retrain: bool = False, device: str | None = None, cache_dir: str | Path | None = None,
                  progress: bool = True, *, seed: int = 0, on_mismatch: str = "retrain") -> dict[str, Any]:
    """Train one variant (cached as :func:`run_name`) and return one row of the lab's table: variant,
    operator, width, seed, params, macs (deployed), memory_bytes, accuracy (SAL: hardened), wall_time_s,
    history (per epoch; SAL runs add their attention statistics) and the trained model (CPU, eval mode;
    a loaded SAL run has its weights, the other loaded runs keep their initial weights)."""
    from ..train import train

    checks.positive_int("epochs", epochs)
    model = lab_model(variant, width)
    is_sal = VARIANTS[variant].block == "sal"
    result = train(model, data, name=run_name(variant, width=width, seed=seed, prefix=prefix), epochs=epochs,
                   seed=seed, retrain=retrain, device=device, on_mismatch=on_mismatch,
                   cache_dir=cache_dir, progress=progress, max_weights_bytes=SAL_WEIGHTS_BYTES if is_sal else 0,
                   step_hook=temperature_step_hook if is_sal else None,
                   epoch_hook=sal_epoch_hook(data, epochs, seed) if is_sal else None)
    model = model.cpu().float()
    cost = deployed_cost(model)
    accuracy = result.history[-1]["hardened_test_accuracy"] if is_sal else result.test_accuracy
    return {"variant": variant, "operator": VARIANTS[variant].label, "width": model.width, "seed": seed,
            "params": cost.params, "macs": cost.macs, "memory_bytes": memory_bytes(model),
            "accuracy": accuracy, "soft_accuracy": result.test_accuracy, "epochs": epochs,
            "wall_time_s": result.wall_time_s, "device": result.device, "cached": result.cached,
            "provenance": result.provenance, "history": result.history, "model": model}


__all__ = ["VARIANTS", "Variant", "SWEEP_WIDTHS", "SEEDS", "run_name", "lab_model", "deployed_cost", "memory_bytes", "sal_block", "train_variant",
           "sal_epoch_hook", "sal_attention_stats", "single_layer_operators", "Copy"]
