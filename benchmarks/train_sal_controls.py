"""Train the SAL controls of notebook 06 (does the attention learn its shifts?), one or more seeds each.

Each control (``course_utils.models.sal_controls``: the operator lab's SAL network at width 0.5 with its
attention frozen, shared, or started at a low temperature) is trained with the lab's recipe and stored as
``<results-dir>/nb06_<control>[_seed<k>].json`` plus its fp16 weights (record + provenance: command, device,
date, commit, torch, data source). One summary JSON line per run is printed, then a last line with the
whole set (runs, total seconds). The references, SAL as the authors train it and the fixed shift + 1×1,
are the operator lab's runs at width 0.5 (``make sweep``).

    # the runs behind notebook 06 (``make sal-controls``): four controls, three seeds
    python benchmarks/train_sal_controls.py --seeds 0 1 2 --jobs 2
    # a smoke test on the CPU with a slice of the bundled subset, written somewhere harmless:
    python benchmarks/train_sal_controls.py --device cpu --epochs 1 --train-images 512 --test-images 500 \\
        --controls sal_frozen sal_t1 --results-dir /some/tmp/dir

``--jobs N`` trains N runs at a time, each in its own process with one thread (on 2 cores, two 1-thread
runs side by side finish sooner than two 2-thread runs one after the other). Stored runs that match are
loaded, not retrained, so an interrupted set resumes where it stopped.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_utils.models.operator_lab import SEEDS
from course_utils.models.sal_controls import CONTROLS, attention_summary, control_run_name, train_control
from course_utils.run_pool import check_common_arguments, pin_fp32, run_jobs, summary_line
from course_utils.runs import COMMITTED_RESULTS_DIR

_DATA = {}


def _load_data(job: dict):
    """The bundled subset (or the first ``train_images`` / ``test_images`` of it), loaded once per process."""
    from course_utils.data import load_cifar10

    key = (job["train_images"], job["test_images"])
    if key not in _DATA:
        _DATA[key] = load_cifar10().subset(train=job["train_images"], test=job["test_images"])
    return _DATA[key]


def _train(job: dict) -> dict:
    """One run in a worker process."""
    data = _load_data(job)
    row = train_control(job["control"], data, seed=job["seed"], epochs=job["epochs"], retrain=job["retrain"],
                        device=job["device"], cache_dir=job["results_dir"], progress=False)
    summary = {k: v for k, v in attention_summary(row["history"]).items() if not k.startswith("tap_counts")}
    return {"name": control_run_name(job["control"], seed=job["seed"])} | {
        k: v for k, v in row.items() if k not in ("provenance", "history", "model")} | summary | {
        "commit": row["provenance"].get("commit"), "train_images": len(data.train_labels),
        "test_images": len(data.test_labels)}


def jobs_for(args: argparse.Namespace, results_dir: Path) -> list[dict]:
    """Every (control, seed) to train, seed by seed (every control's seed 0 first: an interrupted set
    already compares the controls), all at the same cost."""
    return [{"control": control, "seed": seed, "epochs": args.epochs, "retrain": args.retrain,
             "device": args.device, "results_dir": str(results_dir), "train_images": args.train_images,
             "test_images": args.test_images}
            for seed in args.seeds for control in args.controls]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="'cpu', 'cuda' or 'cuda:N' (default: cuda when available)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--controls", nargs="+", default=list(CONTROLS), help=f"default: all ({list(CONTROLS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help=f"default: {list(SEEDS)}")
    parser.add_argument("--results-dir", default=None, help="default: data/results/")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at a time, one thread each")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching result is stored")
    parser.add_argument("--train-images", type=int, default=None,
                        help="train on the first N bundled training images only (smoke tests; needs --results-dir)")
    parser.add_argument("--test-images", type=int, default=None,
                        help="test on the first N test images only (smoke tests; needs --results-dir)")
    raw = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(raw)
    unknown = [c for c in args.controls if c not in CONTROLS]
    if unknown:
        raise ValueError(f"--controls {unknown} must be among {list(CONTROLS)}")
    check_common_arguments(args)
    for flag, value in (("--train-images", args.train_images), ("--test-images", args.test_images)):
        if value is not None and value < 1:
            raise ValueError(f"{flag}={value} must be a positive integer")
        if value is not None and args.results_dir is None:
            raise ValueError(f"{flag}={value} needs --results-dir: a run on a slice of the data must not be "
                             "stored next to the committed runs")
    results_dir = Path(args.results_dir) if args.results_dir else COMMITTED_RESULTS_DIR
    jobs = jobs_for(args, results_dir)
    pin_fp32()
    start = time.perf_counter()
    rows = run_jobs(_train, jobs, args.jobs)
    print(summary_line("benchmarks/train_sal_controls.py", raw, rows, jobs=args.jobs,
                       seconds=time.perf_counter() - start, epochs=args.epochs,
                       train_images=rows[0]["train_images"] if rows else None,
                       test_images=rows[0]["test_images"] if rows else None))
    return rows


if __name__ == "__main__":
    main()
