"""How much does a shift cost compared with copying the tensor?

A shift moves data and computes nothing, so its floor is a plain copy (``x.clone()``): read the
tensor once, write it once. This script times, on one input shape,

* ``clone``            — the memory floor;
* ``gather``           — a naive shift: pad, then index the padded tensor with a per-channel index
                         (``torch.gather``), the way one writes it first;
* ``zero_fill_first``  — ``torch.zeros`` the output, then one slice copy per group (2 passes);
* ``Shift2d``          — course_utils' shift (flat copy per group, zeros only in border strips);
* ``Shift2d fwd+bwd``  — forward and backward through autograd (backward = opposite shift);

and prints one JSON line (last line of stdout) with median and minimum times in ms and the ratios
to clone (the minimum is the least-disturbed run: use it when the machine is shared and busy).

    python benchmarks/shift_speed.py                          # CPU, (32, 64, 32, 32) float32
    python benchmarks/shift_speed.py --device cuda --shape 256 64 56 56
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.layers.shift import Shift2d
from course_utils.provenance import provenance


def gather_shift(x: torch.Tensor, shift: Shift2d) -> torch.Tensor:
    """Naive shift: zero-pad by r, then gather each output pixel from its source in the padded map."""
    n, c, h, w = x.shape
    r = shift.kernel_size // 2
    padded = F.pad(x, (r, r, r, r))
    offsets = shift.offsets().to(x.device)                       # (C, 2): (dy, dx) per channel
    rows = torch.arange(h, device=x.device).view(1, h, 1) + r + offsets[:, 0].view(c, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + r + offsets[:, 1].view(c, 1, 1)
    index = (rows * (w + 2 * r) + cols).view(1, c, h * w).expand(n, c, h * w)
    return padded.flatten(2).gather(2, index).view(n, c, h, w)


def zero_fill_first_shift(x: torch.Tensor, shift: Shift2d) -> torch.Tensor:
    """Zero the whole output, then copy the valid window of each group (two passes over memory)."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    for first, end, dy, dx in shift.groups:
        out[:, first:end, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)] = \
            x[:, first:end, max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)]
    return out


def time_interleaved(functions: dict[str, Callable[[], object]], repeats: int, device: torch.device,
                     warmup: int = 10) -> dict[str, list[float]]:
    """Wall times (ms) of each function; the functions take turns so that a burst of load on the
    machine hits all of them alike."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for function in functions.values():
        for _ in range(warmup):
            function()
    sync()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            sync()
            start = time.perf_counter()
            function()
            sync()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[32, 64, 32, 32], metavar=("N", "C", "H", "W"))
    parser.add_argument("--kernel-size", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if any(size < 1 for size in args.shape):
        raise ValueError(f"--shape={args.shape} must be four positive integers N C H W")
    if args.repeats < 1:
        raise ValueError(f"--repeats={args.repeats} must be a positive integer")
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    x = torch.randn(*args.shape, device=device)
    shift = Shift2d(args.shape[1], args.kernel_size)
    assert torch.equal(shift(x), gather_shift(x, shift)), "Shift2d and the gather shift disagree"
    assert torch.equal(shift(x), zero_fill_first_shift(x, shift)), "Shift2d and the zero-fill shift disagree"
    x_grad = x.clone().requires_grad_(True)
    grad_out = torch.randn_like(x)

    def forward_backward() -> None:
        shift(x_grad).backward(grad_out)

    def clone_forward_backward() -> None:
        x_grad.clone().backward(grad_out)

    load_before = os.getloadavg()
    samples = time_interleaved({
        "clone": x.clone,
        "gather": lambda: gather_shift(x, shift),
        "zero_fill_first": lambda: zero_fill_first_shift(x, shift),
        "Shift2d": lambda: shift(x),
        "clone fwd+bwd": clone_forward_backward,
        "Shift2d fwd+bwd": forward_backward,
    }, args.repeats, device)
    load_after = os.getloadavg()
    # The median is the usual figure; on a shared, busy machine the minimum (the run least disturbed
    # by other processes) is the better estimate of the operation's own cost. Both are reported.
    times = {name: statistics.median(values) for name, values in samples.items()}
    fastest = {name: min(values) for name, values in samples.items()}

    def ratios_of(ms_by_name: dict[str, float]) -> dict[str, float]:
        ratios = {name: round(ms / ms_by_name["clone"], 2) for name, ms in ms_by_name.items() if "fwd+bwd" not in name}
        ratios["Shift2d fwd+bwd / clone fwd+bwd"] = round(ms_by_name["Shift2d fwd+bwd"] / ms_by_name["clone fwd+bwd"], 2)
        return ratios

    for name in times:
        print(f"{name:>16}: median {times[name]:8.3f} ms   min {fastest[name]:8.3f} ms")
    ratios, ratios_min = ratios_of(times), ratios_of(fastest)
    print(f"Shift2d / clone = {ratios['Shift2d']:.2f} (median), {ratios_min['Shift2d']:.2f} (min)")
    print(json.dumps({
        "benchmark": "shift_speed",
        "shape": args.shape, "kernel_size": args.kernel_size, "dtype": "float32",
        **provenance(device),
        "torch_threads": torch.get_num_threads(),
        "median_ms": {name: round(ms, 4) for name, ms in times.items()},
        "min_ms": {name: round(ms, 4) for name, ms in fastest.items()},
        "ratio_to_clone": ratios, "ratio_to_clone_min": ratios_min,
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }))


if __name__ == "__main__":
    main()
