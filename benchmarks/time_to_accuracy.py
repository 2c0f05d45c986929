"""Time to accuracy: train the course baseline within a wall-clock budget and report its test accuracy.

    python benchmarks/time_to_accuracy.py --device cpu --budget-s 60
    python benchmarks/time_to_accuracy.py --device cuda --data /path/to/cifar10-jpeg.npz --epochs 20
    python benchmarks/time_to_accuracy.py --budget-s 60 --width 2 --lr 0.1 --weight-decay 5e-4   # the old recipe

With ``--budget-s`` the learning-rate schedule follows the clock, so the run ends (evaluation included)
within the budget. With ``--epochs`` it trains a fixed number of epochs, e.g. to find the time to 90 %.
The last line of stdout is one JSON object: accuracy, seconds, device, params, macs, epochs, ...
``--save NAME`` also stores the result record (key, provenance, weights) as ``benchmarks/results/NAME.json``
(not among the committed runs of ``data/results/``, which the catalog of ``course_utils.experiments`` lists).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from pathlib import Path

from course_utils.data import load_cifar10
from course_utils.models import baseline_cnn
from course_utils.runs import save_run
from course_utils.training import (DEFAULT_EPOCHS, DEFAULT_LABEL_SMOOTHING, DEFAULT_LR, DEFAULT_WEIGHT_DECAY,
                                TrainConfig, train)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--budget-s", type=float, help="wall-clock budget in seconds (training + evaluation)")
    group.add_argument("--epochs", type=int, help=f"fixed number of epochs (default recipe: {DEFAULT_EPOCHS})")
    parser.add_argument("--data", default=None, help="a CIFAR-10 .npz copy (default: the bundled 5k/1k subset)")
    parser.add_argument("--block", default="standard", help="body operator of the baseline")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=None,
                        help="default: the environment variable COURSE_PRECISION, else auto")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=DEFAULT_WEIGHT_DECAY)
    parser.add_argument("--label-smoothing", type=float, default=DEFAULT_LABEL_SMOOTHING)
    parser.add_argument("--save", metavar="NAME", help="store the record as benchmarks/results/NAME.json")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to torch")

    data = load_cifar10(path=args.data)
    model = baseline_cnn(args.block, args.width)
    start = time.perf_counter()
    config = TrainConfig(epochs=args.epochs, budget_s=args.budget_s, seed=args.seed, device=args.device,
                         precision=args.precision, lr=args.lr, weight_decay=args.weight_decay,
                         label_smoothing=args.label_smoothing, progress=False)
    result = train(model, data, config)
    seconds = time.perf_counter() - start
    if args.save:
        result.name = args.save
        save_run(result, model, RESULTS)
    for row in result.history:
        print(f"epoch {row['epoch']:3d}  {row['seconds']:6.1f} s  train loss {row['train_loss']:.3f}  "
              f"test accuracy {row['curve_test_accuracy']:.3f} (first {result.key['recipe']['curve_test_images']:,} images)")
    time_to = {f"seconds_to_{p}": next((r["seconds"] for r in result.history
                                        if r["curve_test_accuracy"] >= p / 100), None)
               for p in (70, 75, 80, 90)}
    print(json.dumps({
        "accuracy": round(result.test_accuracy, 4), "seconds": round(seconds, 2), "device": result.device,
        "device_name": result.provenance["device"], "params": result.params, "macs": result.macs,
        "epochs": len(result.history), "budget_s": args.budget_s, "block": args.block, "width": args.width,
        "seed": args.seed, "lr": args.lr, "weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing,
        "precision": result.provenance["precision"], "train_images": len(data.train_labels),
        "test_images": len(data.test_labels), "data": data.identity.split(" ")[0], **time_to,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
        "commit": result.provenance["commit"], "date": result.provenance["date"],
    }))


if __name__ == "__main__":
    main()
