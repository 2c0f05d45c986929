"""Measured latency of every Session-5 operator: FLOPs are not time.

For each operator of ``course_utils.operators.single_layer_operators`` (every operator of the
registry ``course_utils.operators`` as one 3×3 layer: standard, decomposed 3×1 + 1×3, grouped,
depthwise, depthwise-separable, Fire, inverted residual t=6, shift + 1×1, SAL while training; then SAL
hardened in its naive masked form (one masked 1×1 conv per tap: ``ShiftedPointwise``), SAL deployed in its
fastest dense form (``course_utils.layers.sal_deployed.deploy``: a 3×3 conv whose kernel is 8/9 zeros when
every tap is in use), pointwise 1×1, shift alone and a plain tensor copy as the memory floor),
at a few sizes (C channels in and out, H×W maps, a batch), the script times a forward pass and a
forward + backward pass with ``course_utils.latency.measure_latency`` (median, torch.utils.benchmark)
on the CPU, and on CUDA when a GPU is visible. One JSON line per measurement, e.g.

    {"operator": "depthwise conv", "device": "cpu", "pass": "forward", "batch": 32, "channels": 64,
     "size": 32, "ms": 1.23, "macs": 18874368, "gmac_per_s": 15.3, ...}

then, last, one summary line with the provenance (command, device, date, commit, torch, threads,
load average before/after). ``macs`` is the useful work of the whole batch (the analytic cost of the
operator: SAL (hardened) counts one MAC per kept weight, as in the paper); ``macs_executed`` what the
forward pass runs, zeros included (torch's count; 9× ``macs`` for the hardened SAL's dense forms);
``gmac_per_s`` = macs / time for the forward pass (null for forward + backward).
``benchmarks/sal_deployment.py`` compares the SAL's forms in detail.

    python benchmarks/operator_latency.py                      # CPU (+ CUDA if present), 3 sizes
    python benchmarks/operator_latency.py --devices cuda --min-run-time 0.5
    python benchmarks/operator_latency.py --sizes 64:32:32 --markdown   # + a Markdown table on stderr
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
from torch import nn

from course_utils.latency import measure_latency
from course_utils.layers.sal_deployed import deploy, network_macs
from course_utils.operators import single_layer_operators
from course_utils.provenance import device_name, provenance

DEFAULT_SIZES = ("64:32:32", "128:16:16", "256:8:8")   # channels:size:batch


def parse_size(text: str) -> tuple[int, int, int]:
    """'C:H:N' → (channels, height = width, batch), all positive integers."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--sizes entry {text!r} must be C:H:N with three positive integers, e.g. 64:32:32")
    channels, size, batch = (int(p) for p in parts)
    if channels < 8 or channels % 8:
        raise ValueError(f"--sizes entry {text!r}: C={channels} must be a multiple of 8 (at least 8)")
    return channels, size, batch


def operators_to_time(channels: int) -> dict[str, nn.Module]:
    """``single_layer_operators(channels)``, with the hardened SAL labelled as the naive masked form it is and
    followed by its fastest dense form (:func:`course_utils.layers.sal_deployed.deploy`)."""
    operators = {}
    for name, module in single_layer_operators(channels).items():
        if name.endswith("(hardened)"):
            operators[name.replace("(hardened)", "(hardened, masked: naive)")] = module
            operators[name.replace("(hardened)", "(deployed: best dense form)")] = deploy(module)
        else:
            operators[name] = module
    return operators


def useful_macs(module: nn.Module, channels: int, size: int) -> int:
    """MACs of one image: the operator's analytic ``cost`` where it has one, else the MACs it needs
    (torch's count without the products by zero weights, e.g. of a deployed SAL's 3×3 kernel)."""
    if hasattr(module, "cost"):
        return module.cost((size, size)).macs
    return network_macs(module, (1, channels, size, size)).needed


def markdown_table(rows: list[dict]) -> str:
    """One row per (device, operator), one column per (size, pass): ms and GMAC/s."""
    keys = sorted({(r["channels"], r["size"], r["batch"]) for r in rows}, key=lambda k: -k[1])
    header = ["device", "operator"] + [f"C={c} {h}×{h} N={n} fwd / fwd+bwd (ms)" for c, h, n in keys] \
        + [f"GMAC/s fwd C={c}" for c, _, _ in keys]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    cells: dict[tuple, float] = {(r["device"], r["operator"], r["channels"], r["size"], r["batch"], r["pass"]): r
                                 for r in rows}
    for device in dict.fromkeys(r["device"] for r in rows):
        for operator in dict.fromkeys(r["operator"] for r in rows if r["device"] == device):
            values = []
            for key in keys:
                fwd, bwd = (cells.get((device, operator, *key, p)) for p in ("forward", "forward+backward"))
                values.append(f"{fwd['ms']:.3g} / {bwd['ms']:.3g}" if fwd and bwd else "–")
            for key in keys:
                fwd = cells.get((device, operator, *key, "forward"))
                values.append(f"{fwd['gmac_per_s']:.3g}" if fwd and fwd["macs"] else "–")
            lines.append("| " + " | ".join([device, operator, *values]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="C:H:N entries (default: %(default)s)")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when available")
    parser.add_argument("--operators", nargs="+", default=None, help="subset of operator names (default: all)")
    parser.add_argument("--min-run-time", type=float, default=0.2, help="seconds per measurement (default 0.2)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table on stderr")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes]
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    for device in devices:
        if device != "cpu" and not (device.startswith("cuda") and torch.cuda.is_available()):
            raise ValueError(f"--devices {device!r}: must be 'cpu' or 'cuda[:N]' with a visible GPU")
    if args.min_run_time <= 0:
        raise ValueError(f"--min-run-time={args.min_run_time} must be positive")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads={args.threads} must be a positive integer")
        torch.set_num_threads(args.threads)
    known = list(operators_to_time(8))
    if args.operators:
        unknown = [name for name in args.operators if name not in known]
        if unknown:
            raise ValueError(f"--operators {unknown} must be among {known}")

    load_before = os.getloadavg()
    rows = []
    passes = [False] if args.no_backward else [False, True]
    for device in devices:
        for channels, size, batch in sizes:
            for name, module in operators_to_time(channels).items():
                if args.operators and name not in args.operators:
                    continue
                macs = useful_macs(module, channels, size) * batch
                executed = network_macs(module, (batch, channels, size, size)).executed
                for backward in passes:
                    ms = measure_latency(module, (batch, channels, size, size), device=device, backward=backward,
                                         min_run_time=args.min_run_time)
                    row = {"operator": name, "device": device, "pass": "forward+backward" if backward else "forward",
                           "batch": batch, "channels": channels, "size": size, "ms": round(ms, 4), "macs": macs, "macs_executed": executed,
                           "gmac_per_s": None if backward else round(macs / (ms * 1e-3) / 1e9, 3)}
                    rows.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
    summary = {
        "benchmark": "operator_latency", "measurements": len(rows),
        **provenance(devices[0]),
        "command": " ".join(["python", "benchmarks/operator_latency.py", *(argv if argv is not None else sys.argv[1:])]),
        "devices": {d: device_name(d) for d in devices},
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    if args.markdown:
        print(markdown_table(rows), file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False))
    return rows


if __name__ == "__main__":
    main()
