"""Train the operator lab's seven variants (notebook 07) on a chosen device and data set.

Each variant (``course_utils.models.operator_lab.VARIANTS``: the course baseline with one operator in
its body) is trained with ``course_utils.train.train`` and stored as ``<results-dir>/<prefix><variant>.json``
(record + provenance: command, device, date, commit, torch, data source); then one summary JSON line per
variant and a last line with the whole run are printed. Notebook 07 loads ``data/results/gpu_*.json``
when they exist.

    # the GPU runs the notebook looks for (full CIFAR-10 copy given by path, never hard-coded):
    python benchmarks/train_operators.py --device cuda --data PATH/cifar10-jpeg.npz --epochs 40
    # a smoke test on the CPU with the bundled subset, written somewhere harmless:
    python benchmarks/train_operators.py --device cpu --epochs 1 --variants shift --results-dir /some/tmp/dir
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from course_utils.data import load_cifar10
from course_utils.models.operator_lab import VARIANTS, train_variant
from course_utils.runs import COMMITTED_RESULTS_DIR


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="'cpu', 'cuda' or 'cuda:N' (default: cuda when available)")
    parser.add_argument("--data", default=None, help="path to a CIFAR-10 .npz copy (default: the bundled subset)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="default: all seven")
    parser.add_argument("--width", type=float, default=None, help="one width for every variant (default: the lab's)")
    parser.add_argument("--prefix", default="gpu_", help="result names are <prefix><variant> (default: gpu_)")
    parser.add_argument("--results-dir", default=None, help="default: data/results/")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching result is stored")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"--variants {unknown} must be among {list(VARIANTS)}")
    if args.epochs < 1:
        raise ValueError(f"--epochs={args.epochs} must be a positive integer")
    if args.data is not None and not Path(args.data).is_file():
        raise ValueError(f"--data={args.data!r} is not a file: give the path of cifar10-jpeg.npz "
                         "(the full offline copy) or leave it out for the bundled subset")
    # The provenance records how the run was started, without machine-specific paths.
    shown = ["python", "benchmarks/train_operators.py"]
    raw = argv if argv is not None else sys.argv[1:]
    for i, arg in enumerate(raw):
        shown.append(Path(arg).name if i > 0 and raw[i - 1] in ("--data", "--results-dir") else arg)
    os.environ["COURSE_COMMAND"] = " ".join(shown)

    data = load_cifar10(path=args.data) if args.data else load_cifar10()
    results_dir = Path(args.results_dir) if args.results_dir else COMMITTED_RESULTS_DIR
    rows = []
    for variant in args.variants:
        row = train_variant(variant, data, epochs=args.epochs, prefix=args.prefix, width=args.width,
                            retrain=args.retrain, device=args.device, cache_dir=results_dir)
        row = {k: v for k, v in row.items() if k != "provenance"} | {"commit": row["provenance"].get("commit")}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    print(json.dumps({"script": "train_operators", "data": data.source, "train_images": len(data.train_labels),
                      "epochs": args.epochs, "reach_90": [r["variant"] for r in rows if r["accuracy"] >= 0.90],
                      "command": os.environ["COURSE_COMMAND"]}, ensure_ascii=False))
    return rows


if __name__ == "__main__":
    main()
