"""Train notebook 03's SqueezeNet-CIFAR (BatchNorm after conv1 and every Fire) with the course recipe, one run per seed.

Each run (``course_utils.models.squeezenet_runs``: ``squeezenet_cifar()``, 20 epochs on the bundled 5,000
training images, final accuracy on all 10,000 test images) is trained with ``course_utils.train.train``
and stored as ``<results-dir>/nb03_squeezenet_cifar[_seedK].json`` with its weights (record + provenance:
command, device, date, commit, torch, data source). One summary JSON line per run is printed, then a last
line with all of them (runs, mean and standard deviation of the accuracy, total seconds).

    # the runs notebook 03 loads (three seeds, like every configuration the notebooks compare)
    python benchmarks/train_squeezenet.py --seeds 0 1 2 --jobs 1
    # a smoke test on the CPU, written somewhere harmless:
    python benchmarks/train_squeezenet.py --device cpu --epochs 1 --results-dir /some/tmp/dir

``--jobs N`` trains N runs at a time, each in its own process with one thread (as
``benchmarks/train_operators.py``). Stored runs that match are loaded, not retrained, so an interrupted
run of the script resumes where it stopped.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from course_utils.models.operator_lab import SEEDS
from course_utils.models.squeezenet_runs import EPOCHS, train_squeezenet_cifar
from course_utils.run_pool import check_common_arguments, pin_fp32, run_jobs, summary_line
from course_utils.runs import COMMITTED_RESULTS_DIR

_DATA = {}


def _train(job: dict) -> dict:
    """One run in a worker process (the data is loaded once per process)."""
    from course_utils.data import load_cifar10

    if job["data"] not in _DATA:
        _DATA[job["data"]] = load_cifar10(path=job["data"]) if job["data"] else load_cifar10()
    data = _DATA[job["data"]]
    row = train_squeezenet_cifar(data, seed=job["seed"], epochs=job["epochs"], retrain=job["retrain"],
                                 device=job["device"], cache_dir=job["results_dir"], progress=False)
    return {k: v for k, v in row.items() if k not in ("provenance", "history", "model")} | {
        "commit": row["provenance"].get("commit"),
        "train_images": len(data.train_labels),
        "final_train_accuracy": row["history"][-1]["train_accuracy"]}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="'cpu', 'cuda' or 'cuda:N' (default: cuda when available)")
    parser.add_argument("--data", default=None, help="path to a CIFAR-10 .npz copy (default: the bundled subset)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help=f"default: {list(SEEDS)}")
    parser.add_argument("--results-dir", default=None, help="default: data/results/")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at a time, one thread each")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching result is stored")
    raw = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(raw)
    check_common_arguments(args)
    results_dir = Path(args.results_dir) if args.results_dir else COMMITTED_RESULTS_DIR
    jobs = [{"seed": seed, "epochs": args.epochs, "data": args.data, "retrain": args.retrain,
             "device": args.device, "results_dir": str(results_dir)}
            for seed in args.seeds]
    pin_fp32()
    start = time.perf_counter()
    rows = run_jobs(_train, jobs, args.jobs)
    accuracies = [r["accuracy"] for r in rows]
    print(summary_line("benchmarks/train_squeezenet.py", raw, rows, jobs=args.jobs, seconds=time.perf_counter() - start,
                       epochs=args.epochs, train_images=rows[0]["train_images"], params=rows[0]["params"],
                       macs=rows[0]["macs"], mean_accuracy=statistics.fmean(accuracies),
                       std_accuracy=statistics.stdev(accuracies) if len(accuracies) > 1 else None))
    return rows


if __name__ == "__main__":
    main()
