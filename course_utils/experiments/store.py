"""The committed runs, read or made: one loader for every family of ``experiments.catalog``.

- :func:`load_runs` reads a family's runs from ``data/results/`` into a table (one row per run, model
  included) and :func:`load_model` one run's model. Nothing is ever trained, whatever ``COURSE_RETRAIN`` says,
  and the data set need not be in memory: each run's key is rebuilt from the catalog (the current code, the
  recipe, the seed, the digest of the data file it names) and must equal the stored one. A run that is missing
  or was made by other code raises ``MissingRunError`` naming the command that makes it.
- :func:`make_run` trains one run of the catalog: into ``data/results/`` for the scripts
  (``benchmarks/train_runs.py``), or live into ``data/local-results/`` for a notebook's *Train live* toggle.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from ..data import CIFAR10Data
from ..models.sal import deployed_cost, memory_bytes
from ..runs import COMMITTED_RESULTS_DIR, Store, TrainResult, load
from ..training import run_key, train
from .catalog import RunSpec, family_specs, spec as find_spec
from .sal_controls import attention_summary


def _row(spec: RunSpec, model: nn.Module, result: TrainResult) -> dict[str, Any]:
    """One table row: the spec's columns, the deployed cost, the accuracy (a SAL run's hardened one; the
    network's own as ``soft_accuracy``), the record's numbers and provenance, the history and the model."""
    cost = deployed_cost(model)
    row = dict(spec.columns) | {
        "name": spec.name, "family": spec.family, "seed": spec.config.seed, "params": cost.params,
        "macs": cost.macs, "memory_bytes": memory_bytes(model),
        "accuracy": result.measures.get("hardened_test_accuracy", result.test_accuracy),
        "soft_accuracy": result.test_accuracy, "epochs": len(result.history), "wall_time_s": result.wall_time_s,
        "device": result.device, "date": str(result.provenance.get("date", ""))[:10],
        "commit": result.provenance.get("commit"), "cached": result.cached, "history": result.history,
        "model": model}
    if result.history and "initial_one_hot_fraction" in result.history[0]:
        row |= attention_summary(result.history)
    return row


def _load(spec: RunSpec, folder: Path) -> tuple[nn.Module, TrainResult]:
    model = spec.build()
    key, unknown = run_key(model, spec.data_digest, spec.config, spec.hooks(), name=spec.name, device="cpu")
    if unknown:
        raise RuntimeError(f"the key of {spec.name} cannot be read: {'; '.join(unknown)}")
    result = load(spec.name, model, key, command=spec.command, folder=folder)
    return model.eval(), result


def load_runs(family: str, *, folder: str | Path = COMMITTED_RESULTS_DIR, **selection: Any) -> pd.DataFrame:
    """The stored runs of ``family`` (``experiments.catalog.FAMILIES``), narrowed by ``selection`` (e.g.
    ``variants=["standard"], seeds=(0, 1)``), one row per run: the spec's columns (variant, operator, width,
    seed, or control, label), name, params and macs (as deployed), memory_bytes, accuracy (SAL: hardened),
    soft_accuracy, epochs, wall_time_s, device, date, commit, history, model (weights loaded where stored),
    and a SAL run's attention summary. Never trains."""
    rows = []
    for spec in family_specs(family, **selection):
        model, result = _load(spec, Path(folder))
        rows.append(_row(spec, model, result))
    return pd.DataFrame(rows)


def load_model(name: str, *, folder: str | Path = COMMITTED_RESULTS_DIR) -> nn.Module:
    """The model of the committed run ``name``, its weights loaded (a run stored without weights is an error)."""
    spec = find_spec(name)
    if not spec.weights:
        raise ValueError(f"name={name!r} is stored without weights: its model would be untrained")
    return _load(spec, Path(folder))[0]


def describe(spec: RunSpec) -> str:
    """A run in words, the same in every notebook that trains it (a live plot's title): what it is, its width
    and its seed, e.g. "depthwise-separable, α = 1, seed 0" (not its file name, which names the notebook that
    owns it)."""
    columns = spec.columns
    what = columns.get("operator") or columns.get("label") or columns.get("variant") or spec.name
    width = columns.get("width")
    return f"{what}, α = {width:g}, seed {spec.config.seed}" if width is not None else f"{what}, seed {spec.config.seed}"


def make_run(name_or_spec: str | RunSpec, data: CIFAR10Data, *, folder: str | Path | None = None,
             retrain: bool = False, live_plot: bool = False, progress: bool = False,
             title: str | None = None) -> dict[str, Any]:
    """Train the catalog's run (its name, or its spec) on ``data`` and return its row (as :func:`load_runs`).
    ``folder=None`` saves where ``train`` saves (``data/local-results/``, or ``data/results/`` under
    ``COURSE_RESULTS=committed``); a run with the same key already there is loaded unless ``retrain``.
    ``title``: the live plot's title (default: "your run: " and the run in words, :func:`describe`)."""
    spec = find_spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    model = spec.build()
    result = train(model, data, replace(spec.config, progress=progress), name=spec.name, hooks=spec.hooks(),
                   retrain=retrain, live_plot=live_plot, store=Store(folder, weights=spec.weights),
                   title=title or f"your run: {describe(spec)}")
    return _row(spec, model, result)


__all__ = ["load_runs", "load_model", "make_run", "describe"]
