"""The committed SqueezeNet-CIFAR runs of notebook 03: their names, their training, their loading.

``benchmarks/train_squeezenet.py --seeds 0 1 2`` trains ``squeezenet_cifar()`` with the course recipe
(``course_utils.train``: ``EPOCHS`` epochs on the bundled 5,000 training images, final accuracy on all
10,000 test images) once per seed and stores each run in ``data/results/`` as :func:`run_name`
(``nb03_squeezenet_cifar``, ``nb03_squeezenet_cifar_seed1``, ...). The notebook only loads them
(:func:`load_squeezenet_runs`, nothing trained) and retrains one seed live when asked.

The training code lives here, not in ``squeezenet.py``: a stored run is keyed by the code of the model's
file, so that file holds the architecture only.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import checks
from ..runs import read_record, read_stores
from ..train import DEFAULT_EPOCHS
from .operator_lab import SEEDS, memory_bytes
from .squeezenet import squeezenet_cifar

RUN_PREFIX = "nb03_squeezenet_cifar"
EPOCHS = DEFAULT_EPOCHS
VARIANT = "squeezenet_cifar"         # the ``variant`` column, next to the operator lab's variants
LABEL = "SqueezeNet-CIFAR"           # the ``operator`` column: the label in plots and tables


def run_name(seed: int = 0) -> str:
    """``nb03_squeezenet_cifar`` for seed 0, ``nb03_squeezenet_cifar_seed<k>`` otherwise (the lab's rule)."""
    checks.non_negative_int("seed", seed)
    return RUN_PREFIX + (f"_seed{seed}" if seed else "")


def train_squeezenet_cifar(data, *, seed: int = 0, epochs: int = EPOCHS, retrain: bool = False,
                           live_plot: bool = False, device: str | None = None,
                           cache_dir: str | Path | None = None, progress: bool = True,
                           on_mismatch: str = "retrain") -> dict[str, Any]:
    """Train (or load, when stored with the same key) ``squeezenet_cifar()`` with the course recipe and
    ``seed``; one row as in the operator lab's table: variant, operator, width (1.0), seed, params, macs,
    memory_bytes, accuracy (all test images, flip-averaged), epochs, wall_time_s, device, cached,
    provenance, history (per epoch) and the trained model (CPU, eval mode)."""
    from ..train import train

    checks.positive_int("epochs", epochs)
    model = squeezenet_cifar()
    result = train(model, data, name=run_name(seed), epochs=epochs, seed=seed, retrain=retrain,
                   live_plot=live_plot, device=device, cache_dir=cache_dir, progress=progress,
                   on_mismatch=on_mismatch)
    return {"variant": VARIANT, "operator": LABEL, "width": 1.0, "seed": seed, "params": result.params,
            "macs": result.macs, "memory_bytes": memory_bytes(model), "accuracy": result.test_accuracy,
            "epochs": epochs, "wall_time_s": result.wall_time_s, "device": result.device,
            "cached": result.cached, "provenance": result.provenance, "history": result.history,
            "model": model, "name": run_name(seed)}


def load_squeezenet_runs(data, *, seeds: Sequence[int] = SEEDS, epochs: int = EPOCHS) -> pd.DataFrame:
    """One row per stored seed (the columns of :func:`train_squeezenet_cifar`, provenance left out),
    loaded with the full key (code, recipe, seed, data). Nothing is trained: a missing or stale run raises
    ``course_utils.sweeps.MissingRunError`` naming the command that makes it."""
    from ..sweeps import MissingRunError

    command = "python benchmarks/train_squeezenet.py --seeds 0 1 2"
    checks.positive_int("epochs", epochs)
    rows = []
    for seed in seeds:
        name = run_name(seed)
        if not any(read_record(folder, name) for folder in read_stores()):
            raise MissingRunError(f"the run {name} is not stored: make it with `{command}`")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                row = train_squeezenet_cifar(data, seed=seed, epochs=epochs, progress=False,
                                             on_mismatch="raise")
        except ValueError as error:
            raise MissingRunError(f"{error} Remake it with `{command}`.") from None
        rows.append({k: v for k, v in row.items() if k != "provenance"})
    return pd.DataFrame(rows)


__all__ = ["RUN_PREFIX", "EPOCHS", "VARIANT", "LABEL", "run_name", "train_squeezenet_cifar",
           "load_squeezenet_runs"]
