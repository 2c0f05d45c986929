"""Train the operator lab's variants (notebook 07): one width or the matched-cost sweep, one or more seeds.

Each run (``course_utils.models.operator_lab``: the course baseline with one operator in its body, at a
width) is trained with ``course_utils.train.train`` and stored as ``<results-dir>/<run name>.json``
(record + provenance: command, device, date, commit, torch, data source; no weights). One summary JSON
line per run is printed, then a last line with the whole sweep (runs, total seconds).

    # the sweep behind notebooks 02-07 (``make sweep``): every operator at its three widths, three seeds
    python benchmarks/train_operators.py --sweep --seeds 0 1 2 --jobs 2
    # the full-data reference runs (``make reference-results``), 10 epochs on all 50,000 training images
    python benchmarks/train_operators.py --data PATH/cifar10-jpeg.npz --epochs 10 --prefix ref_ --jobs 2
    # GPU runs at the lab's widths
    python benchmarks/train_operators.py --device cuda --data PATH/cifar10-jpeg.npz --epochs 40 --prefix gpu_
    # a smoke test on the CPU with the bundled subset, written somewhere harmless:
    python benchmarks/train_operators.py --device cpu --epochs 1 --variants shift --results-dir /some/tmp/dir

``--jobs N`` trains N runs at a time, each in its own process with one thread (on 2 cores, two 1-thread
runs side by side finish sooner than two 2-thread runs one after the other). Stored runs that match are
loaded, not retrained, so an interrupted sweep resumes where it stopped.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_utils.cost import count
from course_utils.models.operator_lab import SEEDS, SWEEP_WIDTHS, VARIANTS, lab_model, train_variant
from course_utils.run_pool import check_common_arguments, pin_fp32, run_jobs, summary_line
from course_utils.runs import COMMITTED_RESULTS_DIR

_DATA = {}


def _train(job: dict) -> dict:
    """One run in a worker process (the data is loaded once per process)."""
    from course_utils.data import load_cifar10

    if job["data"] not in _DATA:
        _DATA[job["data"]] = load_cifar10(path=job["data"]) if job["data"] else load_cifar10()
    data = _DATA[job["data"]]
    row = train_variant(job["variant"], data, epochs=job["epochs"], prefix=job["prefix"], width=job["width"],
                        seed=job["seed"], retrain=job["retrain"], device=job["device"],
                        cache_dir=job["results_dir"], progress=False)
    return {k: v for k, v in row.items() if k not in ("provenance", "history", "model")} | {
        "commit": row["provenance"].get("commit"),
        "train_images": len(data.train_labels)}


def jobs_for(args: argparse.Namespace, results_dir: Path) -> list[dict]:
    """Every (variant, width, seed) to train, the most expensive first (MACs × width), so that parallel
    workers finish together."""
    jobs = []
    for variant in args.variants:
        widths = SWEEP_WIDTHS[variant] if args.sweep else (args.width,)
        for width in widths:
            for seed in args.seeds:
                jobs.append({"variant": variant, "width": width, "seed": seed, "epochs": args.epochs,
                             "prefix": args.prefix, "data": args.data, "retrain": args.retrain,
                             "device": args.device, "results_dir": str(results_dir)})
    return sorted(jobs, key=lambda j: -count(lab_model(j["variant"], j["width"]), (1, 3, 32, 32)).macs)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="'cpu', 'cuda' or 'cuda:N' (default: cuda when available)")
    parser.add_argument("--data", default=None, help="path to a CIFAR-10 .npz copy (default: the bundled subset)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="default: all seven")
    parser.add_argument("--width", type=float, default=None, help="one width for every variant (default: the lab's)")
    parser.add_argument("--sweep", action="store_true", help="each variant at its SWEEP_WIDTHS (overrides --width)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help=f"default: 0 (the sweep's: {list(SEEDS)})")
    parser.add_argument("--prefix", default="nb07_", help="result names start with it (default: nb07_)")
    parser.add_argument("--results-dir", default=None, help="default: data/results/")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at a time, one thread each")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching result is stored")
    raw = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(raw)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"--variants {unknown} must be among {list(VARIANTS)}")
    check_common_arguments(args)
    results_dir = Path(args.results_dir) if args.results_dir else COMMITTED_RESULTS_DIR
    jobs = jobs_for(args, results_dir)
    pin_fp32()
    start = time.perf_counter()
    rows = run_jobs(_train, jobs, args.jobs)
    print(summary_line("benchmarks/train_operators.py", raw, rows, jobs=args.jobs, seconds=time.perf_counter() - start,
                       epochs=args.epochs, train_images=rows[0]["train_images"] if rows else None,
                       reach_90=[f'{r["variant"]}@{r["width"]}' for r in rows if r["accuracy"] >= 0.90]))
    return rows


if __name__ == "__main__":
    main()
