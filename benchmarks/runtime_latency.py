"""Eager PyTorch against ONNX Runtime: the same networks, two runtimes, timed in turns.

Two sets, each at batch 1 and 32 (``--batches``), with the same thread count in both runtimes:

* ``layers``: one layer of each operator of the registry, C = 64 maps of 32×32 by default, as deployed
  (``course_utils.runtime.deployed_layers``): SAL hardened and deployed (shift + 1×1 where its taps are shared,
  the dense 3×3 conv otherwise); its training form and the plain copy are left out (inference never runs the
  first, ONNX Runtime removes the second);
* ``networks``: every point of the operator lab (``course_utils.experiments.lab``: each operator at each of its
  three widths) on 32×32 images (random weights: time does not depend on them);
* ``folding``: each lab operator at its lab width, also with its BatchNorms folded into the convolutions
  (``course_utils.folding``), in both runtimes.

Every entry's calls are timed in turns (``course_utils.runtime.interleaved_times``: ``--repeats`` rounds of about
``--inner-s`` seconds each): the median and the quartiles of the per-call time. A shift runs as its C kernel in
eager PyTorch and as pad-and-slice (``PadSliceShift``) in ONNX Runtime. One JSON line per entry, then the summary
line (provenance, load average before and after); the summary is written to ``--output``
(default ``benchmarks/results/runtime_latency.json``), which notebooks 04, 05 and 07 draw.

    python benchmarks/runtime_latency.py                         # about 5 minutes on 2 cores
    python benchmarks/runtime_latency.py --batches 1 --repeats 5 --output /tmp/quick.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from course_utils import LAB, harden, lab_model
from course_utils.benchmark_cli import load_average, require_positive, write_summary
from course_utils.folding import fold_batchnorm
from course_utils.provenance import REPO_ROOT, provenance
from course_utils.runtime import deployed_layers, interleaved_times, runtime_calls

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "runtime_latency.json"


def networks(*, every_width: bool) -> dict[str, nn.Module]:
    """The lab networks, "<operator> ×<width>": each operator at each of its widths (``every_width``) or at its
    lab width only; SAL hardened (random weights: time does not depend on them)."""
    torch.manual_seed(0)
    nets = {}
    for name, entry in LAB.items():
        for width in (entry.widths if every_width else (entry.width,)):
            net = lab_model(name, width).eval()
            nets[f"{name} ×{width:g}"] = harden(net) if name == "sal" else net
    return nets


def time_entry(model: nn.Module, input_size: tuple[int, ...], *, threads: int, repeats: int, inner_s: float,
               with_folding: bool) -> dict[str, dict]:
    """{runtime: timing dict} for one entry: eager and ONNX Runtime, and with BatchNorm folded if asked."""
    calls = runtime_calls(model, input_size, threads=threads)
    if with_folding:
        folded = fold_batchnorm(model).model
        calls.update({f"{runtime}, BatchNorm folded": call
                      for runtime, call in runtime_calls(folded, input_size, threads=threads).items()})
    timings = interleaved_times(calls, repeats=repeats, inner_s=inner_s)
    return {runtime: {"median_ms": round(t.median, 5), "q1_ms": round(t.q1, 5), "q3_ms": round(t.q3, 5),
                      "low_ms": round(t.low, 5), "high_ms": round(t.high, 5), "repeats": t.repeats}
            for runtime, t in timings.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=64, help="C of the single layers (default 64)")
    parser.add_argument("--size", type=int, default=32, help="H = W of the single layers (default 32)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=20, help="rounds of interleaved timing (default 20)")
    parser.add_argument("--inner-s", type=float, default=0.05, help="seconds per call per round (default 0.05)")
    parser.add_argument("--threads", type=int, default=None, help="threads of both runtimes (default: torch's)")
    parser.add_argument("--sets", nargs="+", choices=("layers", "networks", "folding"),
                        default=["layers", "networks", "folding"])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.channels < 8 or args.channels % 8:
        parser.error(f"--channels={args.channels} must be a multiple of 8, at least 8")
    require_positive(parser, args, ("size", "repeats", "threads", "batches", "inner_s"))
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    load_before = load_average()
    entries = {"layers": (deployed_layers(args.channels), (args.channels, args.size, args.size), False),
               "networks": (networks(every_width=True), (3, 32, 32), False),
               "folding": (networks(every_width=False), (3, 32, 32), True)}
    measurements = []
    for set_name in args.sets:
        models, shape, with_folding = entries[set_name]
        for batch in args.batches:
            for label, model in models.items():
                runtimes = time_entry(model, (batch, *shape), threads=threads, repeats=args.repeats,
                                      inner_s=args.inner_s, with_folding=with_folding)
                line = {"set": set_name, "name": label, "batch": batch, "input": [batch, *shape],
                        "runtimes": runtimes}
                print(json.dumps(line, ensure_ascii=False), flush=True)
                measurements.append(line)
    import onnxruntime

    result = {"benchmark": "runtime_latency", **provenance("cpu"), "threads": threads,
              "onnxruntime": onnxruntime.__version__, "repeats": args.repeats, "inner_s": args.inner_s,
              "measurements": measurements}
    return write_summary(result, args.output, load_before=load_before)


if __name__ == "__main__":
    main()
