"""Seeds and width sweeps: the committed runs behind every comparison, as mean ± standard deviation.

One training run is one draw: another seed (initial weights, batch order, augmentation) moves the test
accuracy by a few tenths of a point on 10,000 images. So every configuration the notebooks compare is
trained with several seeds by a committed script (``make sweep``, ``make reference-results``), and the
notebooks only load them:

- :func:`load_lab_runs`: the operator lab's runs (``models.operator_lab``) on the bundled subset, each
  operator at its widths (``SWEEP_WIDTHS``) and seeds (``SEEDS``), checked against the current code;
- :func:`load_reference_runs`: the same operators trained on all 50,000 training images;
- :func:`summarise`: one row per (operator, width): MACs, params, mean, std, seeds;
- :func:`compare`: is a difference of means larger than the seed noise?
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from . import checks
from .models.operator_lab import (SEEDS, SWEEP_WIDTHS, VARIANTS, deployed_cost, lab_model, memory_bytes,
                                  run_name, sal_epoch_hook, train_variant)
from .models.sal import temperature_step_hook
from .runs import COMMITTED_RESULTS_DIR, code_fingerprints, read_record, read_stores

REFERENCE_PREFIX = "ref_"
REFERENCE_EPOCHS = 10
REFERENCE_WIDTH = 0.5     # every operator at width 0.5: a point of every sweep curve, affordable on 2 CPU cores
REFERENCE_SEEDS: dict[str, tuple[int, ...]] = {"standard": (0, 1)}   # the others: seed 0 only


@contextlib.contextmanager
def stored_runs_only() -> Iterator[None]:
    """Hide ``COURSE_RETRAIN`` for the duration: it switches on a notebook's own live demo, and must not
    make a loader retrain the committed runs it was asked to read."""
    saved = os.environ.pop("COURSE_RETRAIN", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["COURSE_RETRAIN"] = saved


class MissingRunError(FileNotFoundError):
    """A run that a notebook loads is not stored (or no longer matches the code): the message says which
    command makes it."""


def _check_variants(variants: Sequence[str] | None) -> list[str]:
    names = list(VARIANTS) if variants is None else list(variants)
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise ValueError(f"variants={unknown} must be among {list(VARIANTS)}")
    return names


def load_lab_runs(data, *, variants: Sequence[str] | None = None, seeds: Sequence[int] = SEEDS,
                  widths: dict[str, Sequence[float]] | None = None, epochs: int = 20,
                  prefix: str = "nb07_") -> pd.DataFrame:
    """One row per stored run (variant, operator, width, seed, params, macs, memory_bytes, accuracy, ...)
    for every variant × width (default ``SWEEP_WIDTHS``) × seed, loaded with the full cache key (code,
    recipe, seed, data): a missing or stale run raises :class:`MissingRunError` naming ``make sweep``.
    Nothing is trained."""
    names = _check_variants(variants)
    checks.positive_int("epochs", epochs)
    for seed in seeds:
        checks.non_negative_int("seed", seed)
    widths = SWEEP_WIDTHS if widths is None else widths
    rows = []
    for variant in names:
        for width in widths[variant]:
            for seed in seeds:
                name = run_name(variant, width=width, seed=seed, prefix=prefix)
                if not any(read_record(folder, name) for folder in read_stores()):
                    raise MissingRunError(f"the run {name} is not stored: make it with `make sweep` "
                                          "(benchmarks/train_operators.py --sweep; see benchmarks/README.md)")
                try:
                    with stored_runs_only(), contextlib.redirect_stdout(io.StringIO()):
                        row = train_variant(variant, data, epochs=epochs, prefix=prefix, width=width, seed=seed,
                                            progress=False, on_mismatch="raise")
                except ValueError as error:
                    raise MissingRunError(f"{error} Remake it with `make sweep`.") from None
                rows.append({k: v for k, v in row.items() if k != "provenance"} | {"name": name})
    # columns: variant, operator, width, seed, params, macs, memory_bytes, accuracy, soft_accuracy, epochs,
    # wall_time_s, device, cached, history (per-epoch list), model (nn.Module), name
    return pd.DataFrame(rows)


def load_reference_runs(variants: Sequence[str] | None = None) -> pd.DataFrame:
    """The full-data reference runs (``make reference-results``: every operator at width 0.5, 10 epochs on
    the 50,000 training images, tested on the 10,000), one row per run, read from ``data/results/``. The full data set is not shipped,
    so the key's data part cannot be checked here; the code of every module class and hook, the epochs and
    the seed are, and a stale or missing run raises :class:`MissingRunError`."""
    rows = []
    for variant in _check_variants(variants):
        for seed in REFERENCE_SEEDS.get(variant, (0,)):
            name = run_name(variant, width=REFERENCE_WIDTH, seed=seed, prefix=REFERENCE_PREFIX)
            record = read_record(COMMITTED_RESULTS_DIR, name)
            if record is None:
                raise MissingRunError(f"the reference run {name} is not stored: make it with "
                                      "`make reference-results` (needs the full CIFAR-10 copy, see data/README.md)")
            model = lab_model(variant, REFERENCE_WIDTH)
            is_sal = VARIANTS[variant].block == "sal"
            hooks = {"step_hook": temperature_step_hook if is_sal else None,
                     "epoch_hook": sal_epoch_hook(None, REFERENCE_EPOCHS, seed) if is_sal else None}
            config = record["config"]
            if (config["code"] != code_fingerprints(model, hooks) or config["epochs"] != REFERENCE_EPOCHS
                    or config["seed"] != seed):
                raise MissingRunError(f"the reference run {name} was made by other code or another recipe: "
                                      "remake it with `make reference-results`")
            cost = deployed_cost(model)
            last = record["history"][-1]
            rows.append({"variant": variant, "operator": VARIANTS[variant].label, "width": model.width,
                         "seed": seed, "params": cost.params, "macs": cost.macs,
                         "memory_bytes": memory_bytes(model),
                         "accuracy": last["hardened_test_accuracy"] if is_sal else record["test_accuracy"],
                         "epochs": config["epochs"], "data": config["data"],
                         "wall_time_s": record["wall_time_s"], "device": record["device"],
                         "date": str(record["provenance"].get("date", ""))[:10],
                         "commit": record["provenance"].get("commit"), "name": name})
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, width): operator, params, macs, mean and standard deviation (n − 1) of the
    accuracy over seeds, the number of seeds and the seeds' accuracies."""
    missing = {"variant", "operator", "width", "params", "macs", "accuracy"} - set(runs.columns)
    if missing:
        raise ValueError(f"runs lacks the columns {sorted(missing)}: pass load_lab_runs(...)'s table")
    grouped = runs.groupby(["variant", "width"], sort=False)
    table = grouped.agg(operator=("operator", "first"), params=("params", "first"), macs=("macs", "first"),
                        mean=("accuracy", "mean"), std=("accuracy", "std"), n=("accuracy", "size"),
                        accuracies=("accuracy", list))
    return table.reset_index()


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mean difference a − b, its noise 2·sqrt(s_a²/n_a + s_b²/n_b) (about a 95 % band), and the verdict:
    'a higher' / 'b higher' when |difference| exceeds the noise, else 'within noise'."""
    for label, values in (("a", a), ("b", b)):
        if len(values) < 2:
            raise ValueError(f"{label} has {len(values)} accuracies: at least 2 seeds are needed to measure noise")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise ValueError(f"{label}={list(values)} must hold finite numbers")
    difference = statistics.fmean(a) - statistics.fmean(b)
    noise = 2 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    verdict = "within noise" if abs(difference) <= noise else ("a higher" if difference > 0 else "b higher")
    return {"difference": difference, "noise": noise, "verdict": verdict}


__all__ = ["MissingRunError", "stored_runs_only", "load_lab_runs", "load_reference_runs", "summarise", "compare",
           "REFERENCE_PREFIX", "REFERENCE_EPOCHS", "REFERENCE_WIDTH", "REFERENCE_SEEDS"]
