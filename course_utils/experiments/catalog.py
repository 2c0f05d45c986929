"""Every committed run, defined once: what it trains, how, on which data, and the one command that makes it.

A :class:`RunSpec` is one run; a family is a list of them made by one command (``FAMILIES``):

- ``lab`` (``make sweep``): every lab operator (``experiments.lab.LAB``) at its three widths, seeds 0-2,
  20 epochs on the bundled 5,000 images (``nb07_<operator>[_w<width>][_seed<k>]``);
- ``reference`` (``make reference-results``, which needs the full copy): every lab operator at matched MACs, 2 epochs
  on all 50,000 images of the full copy, the lab's 100,000 training samples from ten times as many distinct images
  (``ref_<operator>_w<width>[_seed<k>]``): each at the width whose network does the MACs nearest to the standard
  net's at width 0.5 (``REFERENCE_WIDTHS``); the standard and depthwise-separable nets with seeds 0-2, the others
  seed 0;
- ``sal_controls`` (``make sal-controls``): notebook 06's controls of SAL, seeds 0-2 (``nb06_...``);
- ``squeezenet`` (``make squeezenet-results``): notebook 03's SqueezeNet-CIFAR, seeds 0-2 (``nb03_...``);
- ``decomposition`` (``make decomposition-results``): notebook 02's standard network with its weights
  (``baseline_standard``) and its conversion to (k,1)+(1,l) pairs fine-tuned for 5 epochs, seeds 0-2
  (``nb02_finetune_seed<k>``).

Every committed run is float32 on any CPU (``precision="fp32"``), trained one thread per run by
``benchmarks/train_runs.py``. ``experiments.store`` reads them (never training) and trains one live.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from torch import nn

from .. import checks
from ..data import BUNDLED_FILE, FULL_FILE, KNOWN_DIGESTS
from ..layers.shift_attention import FINAL_TEMPERATURE, INITIAL_TEMPERATURE
from ..models.baseline import BaselineCNN, decomposed_from
from ..models.squeezenet import squeezenet_cifar
from ..training import DEFAULT_EPOCHS, DEFAULT_LR, Hooks, TrainConfig
from .lab import LAB, SEEDS, lab_model, lab_operator, run_name
from .sal import AttentionRecorder, hardened_accuracy, temperature_schedule_hook, temperature_step_hook
from .sal_controls import CONTROLS, control, control_model

COMMITTED = TrainConfig(epochs=DEFAULT_EPOCHS, precision="fp32", progress=False)   # the recipe of every family
# 2 epochs of 50,000 images are the lab's 20 epochs of 5,000: the same number of optimiser steps, so a reference run
# differs from its lab run only in how many distinct images it sees (0.5-5 min a run on 2 cores; SAL's, about 1 h).
REFERENCE_PREFIX, REFERENCE_EPOCHS = "ref_", 2
# The full-data runs compare operators at matched MACs: the target is the standard net's at width 0.5 (2,286,208
# MACs per 32×32 image), and each operator trains at lab.matched_width(operator, target): the width of
# lab.MATCHED_WIDTH_GRID nearest in MACs (tests/test_experiments.py recomputes this table).
REFERENCE_MACS_OF = ("standard", 0.5)
REFERENCE_WIDTHS: dict[str, float] = {"standard": 0.5, "decomposed": 0.5, "fire": 0.9, "depthwise_separable": 1.25,
                                      "inverted_residual": 0.35, "shift": 1.35, "sal": 1.35, "shuffle": 2.5}
REFERENCE_SEEDS: dict[str, tuple[int, ...]] = {"standard": (0, 1, 2), "depthwise_separable": (0, 1, 2)}  # others: 0
FINE_TUNE_EPOCHS = 5


@dataclass(frozen=True)
class RunSpec:
    """One committed run. ``build()`` makes its model as training starts from it (a fresh network, or for a
    fine-tune the converted weights), ``hooks()`` its hooks (fresh: a recorder keeps state); ``data`` is the
    file it trains on (``data.KNOWN_DIGESTS``); ``weights``: whether the weights are stored with the record;
    ``columns``: what its row says besides the run (variant, width, control...); ``after``: the runs that
    ``build`` reads, which must be stored first."""

    name: str
    family: str
    build: Callable[[], nn.Module]
    config: TrainConfig
    data: str = BUNDLED_FILE
    hooks: Callable[[], Hooks] = Hooks
    weights: bool = False
    columns: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()

    @property
    def data_digest(self) -> str:
        return KNOWN_DIGESTS[self.data]

    @property
    def command(self) -> str:
        return FAMILIES[self.family].command


def sal_hooks(seed: int, step: Callable = temperature_step_hook) -> Hooks:
    """The hooks of a SAL run: the temperature schedule, the attention recorder, the hardened accuracy."""
    return Hooks(step=step, epoch=AttentionRecorder(seed), final=hardened_accuracy)


def _lab_spec(variant: str, width: float, seed: int, *, family: str, prefix: str, epochs: int, data: str) -> RunSpec:
    is_sal = variant == "sal"
    return RunSpec(name=run_name(variant, width=width, seed=seed, prefix=prefix), family=family,
                   build=functools.partial(lab_model, variant, width),
                   config=replace(COMMITTED, epochs=epochs, seed=seed), data=data,
                   hooks=functools.partial(sal_hooks, seed) if is_sal else Hooks, weights=is_sal,
                   columns={"variant": variant, "operator": LAB[variant].label, "width": width, "seed": seed})


def lab_specs(*, variants: Sequence[str] | None = None, widths: Sequence[float] | None = None,
              seeds: Sequence[int] = SEEDS) -> list[RunSpec]:
    """The lab's runs: each variant (default: all of ``LAB``) at its widths (or those of ``widths`` it has) × seeds."""
    specs = []
    for variant in (list(LAB) if variants is None else list(variants)):
        entry = lab_operator(variant)
        for width in entry.widths:
            if widths is not None and width not in widths:
                continue
            specs += [_lab_spec(variant, width, seed, family="lab", prefix="nb07_", epochs=DEFAULT_EPOCHS,
                                data=BUNDLED_FILE) for seed in seeds]
    return specs


def reference_specs(*, variants: Sequence[str] | None = None) -> list[RunSpec]:
    """The full-data reference runs: every lab operator at matched MACs (``REFERENCE_WIDTHS``), ``REFERENCE_EPOCHS``
    (2) epochs on all 50,000 training images."""
    return [_lab_spec(variant, REFERENCE_WIDTHS[variant], seed, family="reference", prefix=REFERENCE_PREFIX,
                      epochs=REFERENCE_EPOCHS, data=FULL_FILE)
            for variant in (list(LAB) if variants is None else [lab_operator(v).name for v in variants])
            for seed in REFERENCE_SEEDS.get(variant, (0,))]


def control_specs(*, controls: Sequence[str] | None = None, seeds: Sequence[int] = SEEDS) -> list[RunSpec]:
    """Notebook 06's SAL controls (``experiments.sal_controls.CONTROLS``) × seeds."""
    specs = []
    for name in (list(CONTROLS) if controls is None else list(controls)):
        spec = control(name)
        step = (temperature_step_hook if spec.initial_temperature == INITIAL_TEMPERATURE else
                functools.partial(temperature_schedule_hook, start=spec.initial_temperature, end=FINAL_TEMPERATURE))
        specs += [RunSpec(name=f"nb06_{name}" + (f"_seed{seed}" if seed else ""), family="sal_controls",
                          build=functools.partial(control_model, name), config=replace(COMMITTED, seed=seed),
                          hooks=functools.partial(sal_hooks, seed, step), weights=True,
                          columns={"control": name, "label": spec.label, "seed": seed}) for seed in seeds]
    return specs


def squeezenet_specs(*, seeds: Sequence[int] = SEEDS) -> list[RunSpec]:
    """Notebook 03's SqueezeNet-CIFAR (BatchNorm after conv1 and every Fire) × seeds."""
    return [RunSpec(name="nb03_squeezenet_cifar" + (f"_seed{seed}" if seed else ""), family="squeezenet",
                    build=squeezenet_cifar, config=replace(COMMITTED, seed=seed), weights=True,
                    columns={"variant": "squeezenet_cifar", "operator": "SqueezeNet-CIFAR", "width": 1.0,
                             "seed": seed})
            for seed in seeds]


def _fine_tune_start() -> nn.Module:
    """The decomposed baseline holding the committed standard network's weights, each 3×3 body conv replaced
    by its best (3,1)+(1,3) pair (``models.baseline.decomposed_from``): where the fine-tunes start."""
    from .store import load_model

    return decomposed_from(load_model("baseline_standard"))


def decomposition_specs(*, seeds: Sequence[int] = SEEDS) -> list[RunSpec]:
    """Notebook 02's runs: the standard network (weights kept) and its conversion fine-tuned × seeds."""
    standard = RunSpec(name="baseline_standard", family="decomposition",
                       build=functools.partial(BaselineCNN, "standard"), config=COMMITTED, weights=True,
                       columns={"variant": "standard", "width": 1.0, "seed": 0})
    fine_tunes = [RunSpec(name=f"nb02_finetune_seed{seed}", family="decomposition", build=_fine_tune_start,
                          config=replace(COMMITTED, epochs=FINE_TUNE_EPOCHS, seed=seed, reset=False,
                                         lr=DEFAULT_LR / 10), weights=True, after=("baseline_standard",),
                          columns={"variant": "decomposed (converted, fine-tuned)", "width": 1.0, "seed": seed})
                  for seed in seeds]
    return [standard, *fine_tunes]


@dataclass(frozen=True)
class Family:
    """A family of runs, all committed in ``data/results/``: the command that makes them and the function that
    lists them."""

    command: str
    specs: Callable[..., list[RunSpec]]


FAMILIES: dict[str, Family] = {
    "lab": Family("make sweep", lab_specs),
    "reference": Family("make reference-results", reference_specs),
    "sal_controls": Family("make sal-controls", control_specs),
    "squeezenet": Family("make squeezenet-results", squeezenet_specs),
    "decomposition": Family("make decomposition-results", decomposition_specs),
}


def family_specs(family: str, **selection: Any) -> list[RunSpec]:
    """The runs of ``family`` (a name of ``FAMILIES``), narrowed by its function's arguments (``seeds=``...)."""
    checks.one_of("family", family, tuple(FAMILIES))
    return FAMILIES[family].specs(**selection)


def spec(name: str) -> RunSpec:
    """The committed run called ``name``, whatever its family."""
    for family in FAMILIES.values():
        for candidate in family.specs():
            if candidate.name == name:
                return candidate
    raise ValueError(f"name={name!r} is not a committed run (see course_utils.experiments.catalog.FAMILIES)")


__all__ = ["RunSpec", "Family", "FAMILIES", "COMMITTED", "REFERENCE_PREFIX", "REFERENCE_EPOCHS", "REFERENCE_MACS_OF",
           "REFERENCE_WIDTHS", "REFERENCE_SEEDS", "FINE_TUNE_EPOCHS", "sal_hooks", "lab_specs", "reference_specs", "control_specs",
           "squeezenet_specs", "decomposition_specs", "family_specs", "spec"]
