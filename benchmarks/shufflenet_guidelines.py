"""ShuffleNet V2's four guidelines (Ma et al., ECCV 2018, arXiv:1807.11164), measured on this CPU in eager PyTorch
and in ONNX Runtime.

The workloads are ``course_utils.guidelines.workloads``: the paper's benchmark networks, each stacked 10 times, on
``--size`` × ``--size`` maps (default 56, the paper's), every setting of a guideline within 5 % of the same MACs
(checked with ``cost.count``):

* ``G1``: two 1×1 convs c1 → c2 → c1 per block, c1:c2 = 1:1, 1:2, 1:6, 1:12 (Table 1);
* ``G2``: grouped 1×1 convs c → c, g = 1, 2, 4, 8, c widened as g grows (Table 2);
* ``G3``: 1, 2 or 4 1×1 convs per block, in series or in parallel (Table 3, Appendix Fig. 1);
* ``G4``: a ResNet bottleneck with and without its ReLUs and its shortcut (Table 4), and the share of forward time
  in element-wise operators (ReLU, add, BatchNorm) of every lab network at its lab width on 32×32 images
  (``--lab-networks``), from ``torch.profiler`` (eager) and from ONNX Runtime's profiler (there BatchNorm is fused
  into the convolutions, so ReLU and add only).

All settings of a guideline, in both runtimes, are timed in turns (``course_utils.runtime.interleaved_times``:
``--repeats`` rounds of about ``--inner-s`` seconds per call), at each of ``--batches`` (default 1 and 8: the
paper's GPU batch in its Fig. 1). Why 56 × 56 and batch 8: the paper's maps (the stage-2 maps of a 224 × 224
network), and a batch at which one forward pass (130-200 M MACs per image) takes tens of milliseconds (30-170 ms
measured in eager PyTorch on one thread of a busy machine): maps that are not tiny, while the whole run fits in
about 3 minutes on 2 cores (estimated from those passes and a smoke run; under 6 minutes). The verdict per
guideline, batch and runtime is ``guidelines.verdict`` (the favoured setting against the one the guideline warns
against, by their quartiles). ``--repeats`` is at least 3: the quartiles of 2 rounds extrapolate beyond them.

One JSON line per measurement (a setting at a batch, or a lab network's element-wise share), then the summary line
(provenance, load average before and after, verdicts); the summary is written to ``--output`` (default
``benchmarks/results/shufflenet_guidelines.json``), which ``guidelines.load_guideline_results`` reads.

    python benchmarks/shufflenet_guidelines.py                  # about 3 minutes on 2 cores
    python benchmarks/shufflenet_guidelines.py --guidelines G1 --batches 1 --repeats 5 --output /tmp/quick.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from course_utils import LAB, harden, lab_model
from course_utils.benchmark_cli import load_average, require_positive, write_summary
from course_utils.guidelines import (DEFAULT_WIDTH, FLOPS_TOLERANCE, GUIDELINES, PAPER_SIZE, PAPER_SOURCE,
                                     eager_elementwise, ort_elementwise, verdict, workloads)
from course_utils.provenance import REPO_ROOT, provenance
from course_utils.runtime import interleaved_times, runtime_calls

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "shufflenet_guidelines.json"
LAB_SIZE = 32                  # the lab networks are CIFAR networks: 32×32 images
PROFILED_RUNS = 5              # forward passes per profile (after a warm-up)


def time_guideline(guideline: str, *, size: int, batch: int, threads: int, repeats: int,
                   inner_s: float) -> list[dict]:
    """One measurement per setting of ``guideline`` at ``batch``: every setting in both runtimes timed in turns."""
    settings = workloads(guideline, size=size)
    calls = {}
    for label, work in settings.items():
        for runtime, call in runtime_calls(work.model, (batch, work.in_channels, size, size),
                                           threads=threads).items():
            calls[(label, runtime)] = call
    keyed = {f"{label} | {runtime}": call for (label, runtime), call in calls.items()}
    timings = interleaved_times(keyed, repeats=repeats, inner_s=inner_s)
    lines = []
    for label, work in settings.items():
        runtimes = {}
        for runtime in ("eager", "onnxruntime"):
            t = timings[f"{label} | {runtime}"]
            runtimes[runtime] = {"median_ms": round(t.median, 5), "q1_ms": round(t.q1, 5), "q3_ms": round(t.q3, 5),
                                 "low_ms": round(t.low, 5), "high_ms": round(t.high, 5), "repeats": t.repeats}
        lines.append({"guideline": guideline, "setting": label, "batch": batch,
                      "input": [batch, work.in_channels, size, size], "macs": work.macs, "params": work.params,
                      "runtimes": runtimes})
    return lines


def lab_networks(names: list[str]) -> dict[str, torch.nn.Module]:
    """The lab networks at their lab widths, "<operator> ×<width>"; SAL hardened (random weights)."""
    torch.manual_seed(0)
    nets = {}
    for name in names:
        net = lab_model(name, LAB[name].width).eval()
        nets[f"{name} ×{LAB[name].width:g}"] = harden(net) if name == "sal" else net
    return nets


def elementwise_lines(names: list[str], *, batch: int, threads: int) -> list[dict]:
    """G4 in the lab networks: the element-wise share of each network's forward time, in both runtimes."""
    lines = []
    for label, net in lab_networks(names).items():
        size = (batch, 3, LAB_SIZE, LAB_SIZE)
        for runtime, share in (("eager", eager_elementwise(net, size, runs=PROFILED_RUNS)),
                               ("onnxruntime", ort_elementwise(net, size, threads=threads, runs=PROFILED_RUNS))):
            lines.append({"guideline": "G4", "network": label, "batch": batch, "runtime": runtime,
                          "input": list(size), **share})
    return lines


def verdicts(measurements: list[dict]) -> list[dict]:
    """The verdict of each guideline at each batch in each runtime (``guidelines.verdict``)."""
    said = []
    keys = dict.fromkeys((m["guideline"], m["batch"]) for m in measurements)
    for guideline, batch in keys:
        rows = [m for m in measurements if m["guideline"] == guideline and m["batch"] == batch]
        for runtime in ("eager", "onnxruntime"):
            times = {m["setting"]: m["runtimes"][runtime] for m in rows}
            said.append({"guideline": guideline, "batch": batch, "runtime": runtime, "favoured": rows[0]["setting"],
                         "against": rows[-1]["setting"], "verdict": verdict(times)})
    return said


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--guidelines", nargs="+", choices=GUIDELINES, default=list(GUIDELINES))
    parser.add_argument("--size", type=int, default=PAPER_SIZE, help=f"H = W of the maps (default {PAPER_SIZE})")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=20, help="rounds of interleaved timing (default 20)")
    parser.add_argument("--inner-s", type=float, default=0.05, help="seconds per call per round (default 0.05)")
    parser.add_argument("--threads", type=int, default=None, help="threads of both runtimes (default: torch's)")
    parser.add_argument("--lab-networks", nargs="*", choices=list(LAB), default=list(LAB),
                        help="lab networks whose element-wise share G4 profiles (default all)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    require_positive(parser, args, ("size", "threads", "batches", "inner_s"))
    if args.repeats < 3:
        parser.error(f"--repeats={args.repeats} must be at least 3 (the quartiles of 2 rounds extrapolate "
                     "beyond them, below 0 ms at times)")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    load_before = load_average()
    measurements, elementwise = [], []
    for guideline in args.guidelines:
        for batch in args.batches:
            for line in time_guideline(guideline, size=args.size, batch=batch, threads=threads,
                                       repeats=args.repeats, inner_s=args.inner_s):
                print(json.dumps(line, ensure_ascii=False), flush=True)
                measurements.append(line)
            if guideline == "G4" and args.lab_networks:
                for line in elementwise_lines(args.lab_networks, batch=batch, threads=threads):
                    print(json.dumps(line, ensure_ascii=False), flush=True)
                    elementwise.append(line)
    import onnxruntime

    result = {"benchmark": "shufflenet_guidelines", **provenance("cpu"), "threads": threads,
              "onnxruntime": onnxruntime.__version__, "repeats": args.repeats, "inner_s": args.inner_s,
              "size": args.size, "batches": args.batches, "lab_size": LAB_SIZE,
              "widths": {g: DEFAULT_WIDTH[g] for g in args.guidelines}, "flops_tolerance": FLOPS_TOLERANCE,
              "paper": PAPER_SOURCE,
              "verdicts": verdicts(measurements), "measurements": measurements, "elementwise": elementwise}
    return write_summary(result, args.output, load_before=load_before)


if __name__ == "__main__":
    main()
