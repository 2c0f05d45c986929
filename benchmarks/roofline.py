"""The roofline of this CPU, measured, with every operator placed on it in both runtimes.

Roofs (``course_utils.roofline``, torch's threads): the copy bandwidth at the operators' working set (a copy of
one batch-32 input, C × 32 × 32 floats: the memory level the operators' maps live in), the copy bandwidth of
main memory (256 MB, far beyond any cache), and the float32 peak of a 2048 × 2048 matrix product.

Points: each single-layer operator (the ``layers`` set of ``runtime_latency.py``, plus the plain copy in eager
PyTorch: the memory floor) and each lab network at its lab width, at batch 32, timed in eager
PyTorch and in ONNX Runtime in turns (``--repeats`` rounds). Each point: FLOPs (2 × the MACs the deployed form
executes, ``cost.count``), bytes (weights + input + output once, float32), median time and quartiles, achieved
GFLOP/s and GB/s, and the verdict of ``roofline.classify`` against the working-set roofs (factor ``--factor``).

One JSON line per point, then the summary line (roofs, points, provenance), also written to ``--output``
(default ``benchmarks/results/roofline.json``), which notebooks 04, 05 and 07 draw.

    python benchmarks/roofline.py            # about 3 minutes on 2 cores
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from course_utils.benchmark_cli import load_average, require_positive, write_summary
from course_utils.operators import Copy
from course_utils.provenance import REPO_ROOT, provenance
from course_utils.roofline import Roofs, classify, copy_bandwidth, matmul_peak, workload
from course_utils.runtime import deployed, deployed_layers, interleaved_times, runtime_calls

from runtime_latency import networks  # noqa: E402  (the same networks as the runtime comparison)

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "roofline.json"
MAIN_MEMORY_MEGABYTES = 256
MATMUL_SIZE = 2048


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--inner-s", type=float, default=0.05)
    parser.add_argument("--factor", type=float, default=2.0, help="verdict factor (default 2)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.channels < 8 or args.channels % 8:
        parser.error(f"--channels={args.channels} must be a multiple of 8, at least 8")
    require_positive(parser, args, ("batch", "repeats", "inner_s"))
    if args.factor < 1:
        parser.error(f"--factor={args.factor} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    threads = torch.get_num_threads()
    load_before = load_average()
    working_set_mb = args.batch * args.channels * 32 * 32 * 4 / 2**20
    roofs = Roofs(copy_bandwidth(working_set_mb, repeats=20), matmul_peak(MATMUL_SIZE), threads, working_set_mb)
    main_memory_gbs = copy_bandwidth(MAIN_MEMORY_MEGABYTES)
    sets = {"layers": ({**deployed_layers(args.channels), "copy": Copy()}, (args.batch, args.channels, 32, 32)),
            "networks": (networks(every_width=False), (args.batch, 3, 32, 32))}
    points = []
    for set_name, (models, input_size) in sets.items():
        for label, model in models.items():
            work = workload(deployed(model), input_size)
            if label == "copy":                    # ONNX Runtime removes a copy: eager only
                eager = deployed(model)
                x = torch.randn(input_size)
                calls = {"eager": lambda: eager(x)}
            else:
                calls = runtime_calls(model, input_size, threads=threads)
            for runtime, t in interleaved_times(calls, repeats=args.repeats, inner_s=args.inner_s).items():
                seconds = t.median / 1e3
                point = {"set": set_name, "name": label, "runtime": runtime, "input": list(input_size),
                         "flops": work.flops, "bytes": work.bytes, "intensity": round(work.intensity, 4),
                         "median_ms": round(t.median, 5), "q1_ms": round(t.q1, 5), "q3_ms": round(t.q3, 5),
                         "gflops": round(work.flops / seconds / 1e9, 3), "gbs": round(work.bytes / seconds / 1e9, 3),
                         "verdict": classify(work, seconds, roofs, factor=args.factor)}
                print(json.dumps(point, ensure_ascii=False), flush=True)
                points.append(point)
    import onnxruntime

    result = {"benchmark": "roofline", **provenance("cpu"), "threads": threads,
              "onnxruntime": onnxruntime.__version__, "factor": args.factor,
              "roofs": {"bandwidth_gbs": round(roofs.bandwidth_gbs, 3), "copy_megabytes": working_set_mb,
                        "peak_gflops": round(roofs.peak_gflops, 3), "main_memory_gbs": round(main_memory_gbs, 3),
                        "main_memory_copy_megabytes": MAIN_MEMORY_MEGABYTES, "matmul_size": MATMUL_SIZE},
              "bytes_model": "weights + input + output, each read or written once, float32", "points": points}
    return write_summary(result, args.output, load_before=load_before)


if __name__ == "__main__":
    main()
