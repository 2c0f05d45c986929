"""Plumbing shared by the training scripts in ``benchmarks/`` (``train_runs.py``, ``time_to_accuracy.py``):
check their common arguments, and run their jobs
one after the other or N at a time, each in its own process with one thread, always in float32
(``pin_fp32``: committed runs do not depend on the CPU's bf16 units).

On 2 cores, two 1-thread runs side by side finish sooner than two 2-thread runs one after the other.
Each finished run is printed as one JSON line as soon as it (and every run before it) is done.
A run's provenance records the command as the worker process sees it (``provenance.command``), and
the summary line the command as typed; both show each argument through ``provenance.shown_argument``
(paths inside the repository relative to it, others cut to names): no machine path is recorded.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import checks
from .provenance import shown_argument


def check_common_arguments(args: argparse.Namespace) -> None:
    """Refuse what no training script can run: ``--jobs`` (and ``--epochs`` where the script has it) must be
    positive, ``--seeds`` (if given) distinct and non-negative, ``--data`` (if given) an existing file."""
    epochs, seeds = getattr(args, "epochs", None), getattr(args, "seeds", None)
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs={epochs} must be a positive integer")
    if args.jobs < 1:
        raise ValueError(f"--jobs={args.jobs} must be a positive integer")
    if seeds is not None and min(seeds) < 0:
        raise ValueError(f"--seeds {seeds} must be non-negative integers")
    if seeds is not None and len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {seeds} must not repeat a seed")
    data = getattr(args, "data", None)
    if data is not None and not Path(data).is_file():
        raise ValueError(f"--data={data!r} is not a file: give the path of a CIFAR-10 .npz copy "
                         "(cifar10-jpeg.npz, the full offline copy) or leave it out for the bundled subset")


def pin_fp32() -> None:
    """Train this script's runs, and its workers' (they inherit the environment), in float32 on any CPU:
    set ``COURSE_PRECISION=fp32``. The committed runs compare operators at one precision; ``auto`` would
    train the dense operators in bf16 and the grouped ones in fp32 on a CPU with bf16 units. Another value
    already set is refused, not overridden."""
    raw = os.environ.get("COURSE_PRECISION", "")
    if raw.strip().lower() not in ("", "fp32"):
        raise ValueError(f"COURSE_PRECISION={raw!r}: the committed runs are trained in fp32 on any CPU; unset it "
                         "(or set it to fp32) to run this script")
    os.environ["COURSE_PRECISION"] = "fp32"


def shown_command(script: str, argv: list[str]) -> str:
    """The command line as typed, for a summary line, each argument as the stored runs record it
    (``provenance.shown_argument``: no machine paths)."""
    return " ".join(["python", script] + [shown_argument(arg) for arg in argv])


def _one_thread() -> None:
    import torch
    torch.set_num_threads(1)


def run_jobs(train_one: Callable[[dict], dict], jobs: list[dict], n_jobs: int) -> list[dict]:
    """``[train_one(job) for job in jobs]``, printing each result as one JSON line; with ``n_jobs > 1``,
    ``n_jobs`` worker processes (spawned, one thread each) take the jobs in order. ``train_one`` must be
    a module-level function of the script (the workers import it by name)."""
    checks.positive_int("n_jobs", n_jobs)
    if not callable(train_one):
        raise ValueError(f"train_one={train_one!r} must be a function of one job (a dict)")
    if n_jobs == 1:
        return _print_each(map(train_one, jobs))
    os.environ["OMP_NUM_THREADS"] = "1"               # inherited by the workers: one thread each
    with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_thread) as pool:
        return _print_each(pool.map(train_one, jobs))


def _print_each(rows: Iterable[dict]) -> list[dict]:
    """Print each row as one JSON line as soon as it comes; return them all."""
    printed = []
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)
        printed.append(row)
    return printed


def summary_line(script: str, argv: list[str], rows: list[dict], *, jobs: int, seconds: float, **fields) -> str:
    """The JSON line a training script prints last: the script's name, the runs (and how many of them were
    trained rather than loaded), ``fields``, the jobs, the wall time (s) and the command as typed."""
    trained = sum(not row["cached"] for row in rows)
    return json.dumps({"script": Path(script).stem, "runs": len(rows), "trained": trained, **fields, "jobs": jobs,
                       "seconds": round(seconds, 1), "command": shown_command(script, argv)}, ensure_ascii=False)


__all__ = ["check_common_arguments", "pin_fp32", "shown_command", "run_jobs", "summary_line"]
