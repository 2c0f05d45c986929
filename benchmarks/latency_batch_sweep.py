"""Latency against batch size: where per-operator overhead ends and memory traffic begins.

A standard 3×3 block (conv + BatchNorm + ReLU: 3 operators) and a depthwise-separable block
(``DepthwiseSeparableConv2d``: depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU: 6 operators),
C_in = C_out = C maps of H×W, timed in eval mode (forward only) at each batch size. Beside them, the
depthwise and pointwise convolutions alone, a plain copy of the input (``x.clone()``: the memory
floor) and a ReLU on a one-element tensor (the cost of dispatching one operator, whatever its size).

At each batch size the operators are timed in turns (``course_utils.runtime.interleaved_times``:
``--repeats`` rounds, each running every operator for about ``--min-run-time / --repeats`` seconds),
so that a busy moment of the machine hits all of them; each entry records the median and the
quartiles over the rounds. Notebook 04's Exercise 1 calls a block faster than the other only where
their quartile ranges are apart.

At batch 1 the maps are small (C=64, 16×16: 64 KB), every operator costs about its dispatch
overhead, and the block with more operators is slower despite doing fewer MACs. As the batch grows,
the time of each operator becomes the time to do its arithmetic or move its bytes, and the speed-up
tends to what the arithmetic and the memory traffic allow.

    python benchmarks/latency_batch_sweep.py                    # C=64, 16×16, batch 1 4 16 64 256
    python benchmarks/latency_batch_sweep.py --batches 1 8 --min-run-time 0.1 --output /tmp/x.json

Prints one JSON line: the provenance (command, device, date, commit, torch, threads, load average
before and after) and one entry per (operator, batch): ``ms`` (the median time), ``q1_ms``, ``q3_ms``,
``min_ms``, ``max_ms`` and ``repeats``, ``macs`` and ``torch_operators``; the same object is
written, indented, to ``--output`` (default ``benchmarks/results/latency_batch_sweep.json``), which
notebook 04 plots.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from course_utils.benchmark_cli import load_average, require_positive, write_summary
from course_utils.cost import count
from course_utils.latency import measure_latency
from course_utils.layers import DepthwiseConv2d, DepthwiseSeparableConv2d
from course_utils.provenance import provenance
from course_utils.runtime import Timing, interleaved_times

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "latency_batch_sweep.json"
DEFAULT_BATCHES = (1, 4, 16, 64, 256)


class Copy(nn.Module):
    """x → a copy of x: reads and writes the tensor once, computes nothing (the memory floor)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def standard_block(channels: int) -> nn.Module:
    """3×3 conv (no bias) → BatchNorm → ReLU, the course baseline's block."""
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


def operators(channels: int) -> dict[str, tuple[nn.Module, int]]:
    """Each timed operator and the number of torch operators its forward dispatches."""
    torch.manual_seed(0)
    return {
        "standard 3×3 block": (standard_block(channels), 3),
        "depthwise-separable block": (DepthwiseSeparableConv2d(channels, channels, 3), 6),
        "depthwise 3×3 conv": (DepthwiseConv2d(channels, kernel_size=3), 1),
        "pointwise 1×1 conv": (nn.Conv2d(channels, channels, 1, bias=False), 1),
        "copy (memory floor)": (Copy(), 1),
    }


def forward_call(module: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One forward pass of ``module`` on ``x`` without gradients, waiting for the GPU to finish."""
    def call() -> None:
        with torch.no_grad():
            module(x)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
    return call


def time_batch(timed: dict[str, tuple[nn.Module, int]], shape: tuple[int, ...], device: str, *,
               repeats: int, seconds: float) -> dict[str, Timing]:
    """Every operator of ``timed`` on one random input of ``shape``, timed in turns: ``repeats``
    rounds of about ``seconds / repeats`` seconds per operator."""
    x = torch.randn(shape, device=device)
    calls = {name: forward_call(module.to(device).eval(), x) for name, (module, _) in timed.items()}
    return interleaved_times(calls, repeats=repeats, inner_s=seconds / repeats)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=64, help="C_in = C_out (default 64)")
    parser.add_argument("--size", type=int, default=16, help="H = W (default 16)")
    parser.add_argument("--batches", type=int, nargs="+", default=list(DEFAULT_BATCHES))
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--min-run-time", type=float, default=0.3,
                        help="seconds per (operator, batch), over all its repeats (default 0.3)")
    parser.add_argument("--repeats", type=int, default=20,
                        help="interleaved rounds per batch: the quartiles' sample (default 20)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="results file (default benchmarks/results/latency_batch_sweep.json)")
    args = parser.parse_args(argv)
    require_positive(parser, args, ("size", "batches", "min_run_time", "threads"))
    if args.channels < 2:
        parser.error(f"--channels={args.channels} must be at least 2")
    if args.repeats < 4:
        parser.error(f"--repeats={args.repeats} must be at least 4 (quartiles need a few rounds)")
    if args.device != "cpu" and not (args.device.startswith("cuda") and torch.cuda.is_available()):
        parser.error(f"--device {args.device!r} must be 'cpu' or 'cuda[:N]' with a visible GPU")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    c, h = args.channels, args.size
    load_before = load_average()
    measurements = []
    timed = operators(c)
    macs = {name: count(module, (1, c, h, h)).macs for name, (module, _) in timed.items()}   # per image
    for batch in args.batches:
        timings = time_batch(timed, (batch, c, h, h), args.device, repeats=args.repeats,
                             seconds=args.min_run_time)
        for name, (_, torch_ops) in timed.items():
            t = timings[name]
            measurements.append({
                "operator": name, "batch": batch, "ms": round(t.median, 5), "q1_ms": round(t.q1, 5),
                "q3_ms": round(t.q3, 5), "min_ms": round(t.low, 5), "max_ms": round(t.high, 5),
                "repeats": t.repeats, "macs": macs[name] * batch,
                "torch_operators": torch_ops})
    # One operator on a one-element tensor: the dispatch overhead that every operator pays.
    dispatch_ms = measure_latency(nn.ReLU(), (1,), device=args.device,
                                  min_run_time=args.min_run_time)
    result = {
        "benchmark": "latency_batch_sweep", **provenance(args.device),
        "channels": c, "size": h, "pass": "forward (eval)", "repeats": args.repeats,
        "timing": "interleaved rounds per batch (course_utils.runtime.interleaved_times): median, quartiles",
        "dtype": "float32", "dispatch_ms": round(dispatch_ms, 5), "measurements": measurements,
    }
    return write_summary(result, args.output, load_before=load_before)


if __name__ == "__main__":
    main()
