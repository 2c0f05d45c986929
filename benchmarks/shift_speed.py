"""How much does a shift cost compared with copying the tensor, forward and backward?

A shift moves data and computes nothing, so its floor is a plain copy (``x.clone()``): read the
tensor once, write it once. This script times, on one input shape,

* ``clone``                  — the memory floor;
* ``gather``                 — a naive shift: pad, then index the padded tensor with a per-channel
                               index (``torch.gather``), the way one writes it first;
* ``zero_fill_first``        — ``torch.zeros`` the output, then one slice copy per group (2 passes);
* ``copy_then_zero_strips``  — an older ``Shift2d``: one flat copy per group, then zeros written
                               into the border strips (the column strips cost a second trip);
* ``Shift2d (torch ops)``    — ``Shift2d``'s pure-torch path (GPU, other dtypes, no C compiler;
                               ``shift_channels(..., implementation="torch")``): per group ONE
                               bitwise AND of the shifted input with a keep-mask;
* ``Shift2d``                — the layer as the course runs it (on a float32 CPU tensor: the compiled
                               kernel ``course_utils/layers/shift_kernel.c``, if it built);
* ``Shift2d backward``       — its backward node alone (``grad_fn.apply``: the opposite shift of the
                               output gradient, what autograd runs for this layer in a network);
* ``copy backward (autograd)`` / ``Shift2d backward (autograd)`` — ``torch.autograd.grad`` through
                               a kept graph of a one-copy node (forward and backward are each one
                               ``clone``) and of ``Shift2d``: both pay autograd's fixed cost per call;
* ``copy fwd+bwd`` / ``Shift2d fwd+bwd`` — forward, then ``torch.autograd.grad``, of the same two.

The targets (``TARGET_RATIO``, by minimums): ``Shift2d`` / ``clone``, ``Shift2d backward`` / ``clone``,
and each autograd figure / the copy node's. ``Shift2d backward (autograd)`` / ``clone`` is printed too
(the figure earlier rows of benchmarks/README.md give): it charges autograd's fixed cost of a call
(≈ 50 µs here, whatever the node) to the shift.

The functions take turns (interleaved), so that a burst of load on the machine hits all of them
alike. It prints the median and the minimum time of each and their ratios (the minimum is the
least-disturbed run: the better figure on a shared machine), then one JSON line (last line of stdout).

    python benchmarks/shift_speed.py --threads 1                # CPU, (32, 64, 32, 32) float32
    python benchmarks/shift_speed.py --threads 2 --repeats 300
    python benchmarks/shift_speed.py --channels-last            # the layout the training uses
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

from course_utils.layers import shift_native
from course_utils.layers.shift import Shift2d, shift_channels
from course_utils.provenance import provenance

TARGET_RATIO = 1.3   # the goal: at most 1.3 clones (ratio of minimums), forward, backward and fwd+bwd
# (ratio name, numerator, denominator) of the figures the target applies to
TARGETS = [("forward", "Shift2d", "clone"),
           ("backward", "Shift2d backward", "clone"),
           ("backward (autograd)", "Shift2d backward (autograd)", "copy backward (autograd)"),
           ("forward+backward (autograd)", "Shift2d fwd+bwd", "copy fwd+bwd")]


class CopyFunction(torch.autograd.Function):
    """The floor of a node that moves its data once each way: forward and backward are one clone."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.clone()

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad_out.clone()


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
    out = torch.zeros_like(x, memory_format=torch.contiguous_format)
    h, w = x.shape[-2:]
    for first, end, dy, dx in shift.groups:
        out[:, first:end, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)] = \
            x[:, first:end, max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)]
    return out


def copy_then_zero_strips_shift(x: torch.Tensor, shift: Shift2d) -> torch.Tensor:
    """The previous Shift2d: per group, one flat copy of its run shifted by s = dy·W + dx, then
    zeros written into the |dy| border rows and the |dx| border columns (one number per row)."""
    x = x.contiguous()
    n, c, h, w = x.shape
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    flat_in, flat_out = x.view(n, c * h * w), out.view(n, c * h * w)
    align = max(64 // x.element_size(), 1)                 # start each copied run on a cache line
    for first, end, dy, dx in shift.groups:
        s, lo, hi = dy * w + dx, first * h * w, end * h * w
        if abs(s) < hi - lo:
            if s >= 0:
                flat_out[:, lo:hi - s].copy_(flat_in[:, lo + s:hi])
            else:
                start = (-s) // align * align              # any start in [lo, lo − s] is correct
                if lo + start + s < 0:
                    start = -s
                flat_out[:, lo + start:hi].copy_(flat_in[:, lo + start + s:hi + s])
        group = out[:, first:end]
        if dy > 0:
            group[:, :, max(h - dy, 0):].zero_()
        elif dy < 0:
            group[:, :, :min(-dy, h)].zero_()
        if dx > 0:
            group[:, :, :, max(w - dx, 0):].zero_()
        elif dx < 0:
            group[:, :, :, :min(-dx, w)].zero_()
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


def ratios(ms: dict[str, float]) -> dict[str, float]:
    """Each time / clone's, and the figures of TARGETS (the autograd ones against the copy node's)."""
    result = {f"{name} / clone": round(value / ms["clone"], 3) for name, value in ms.items()}
    for _, numerator, denominator in TARGETS:
        result[f"{numerator} / {denominator}"] = round(ms[numerator] / ms[denominator], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[32, 64, 32, 32], metavar=("N", "C", "H", "W"))
    parser.add_argument("--kernel-size", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=200, help="interleaved runs of each function (≥ 100)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--channels-last", action="store_true",
                        help="time a channels_last input (Shift2d makes it contiguous first)")
    args = parser.parse_args()
    if any(size < 1 for size in args.shape):
        raise ValueError(f"--shape={args.shape} must be four positive integers N C H W")
    if args.repeats < 100:
        raise ValueError(f"--repeats={args.repeats} must be at least 100 (minimums and medians need many runs)")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads={args.threads} must be a positive integer")
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    x = torch.randn(*args.shape, device=device).contiguous(memory_format=memory_format)
    shift = Shift2d(args.shape[1], args.kernel_size)
    expected = shift(x)
    for name, naive in [("gather", gather_shift), ("zero-fill-first", zero_fill_first_shift),
                        ("copy-then-zero-strips", copy_then_zero_strips_shift)]:
        assert torch.equal(expected, naive(x, shift)), f"Shift2d and the {name} shift disagree"
    x_grad = x.detach().clone().requires_grad_(True)
    grad_out = torch.randn_like(expected)
    kept_output = shift(x_grad)                            # graphs kept to time the backward alone
    kept_copy = CopyFunction.apply(x_grad)
    assert torch.equal(kept_output.grad_fn.apply(grad_out)[0],
                       torch.autograd.grad(kept_output, x_grad, grad_out, retain_graph=True)[0])

    def shift_backward_node() -> None:
        with torch.no_grad():                              # as the autograd engine runs it
            kept_output.grad_fn.apply(grad_out)

    load_before = os.getloadavg()
    samples = time_interleaved({
        "clone": x.clone,
        "gather": lambda: gather_shift(x, shift),
        "zero_fill_first": lambda: zero_fill_first_shift(x, shift),
        "copy_then_zero_strips": lambda: copy_then_zero_strips_shift(x, shift),
        "Shift2d (torch ops)": lambda: shift_channels(x, shift.groups, implementation="torch"),
        "Shift2d": lambda: shift(x),
        "Shift2d backward": shift_backward_node,
        "copy backward (autograd)": lambda: torch.autograd.grad(kept_copy, x_grad, grad_out, retain_graph=True),
        "Shift2d backward (autograd)": lambda: torch.autograd.grad(kept_output, x_grad, grad_out, retain_graph=True),
        "copy fwd+bwd": lambda: torch.autograd.grad(CopyFunction.apply(x_grad), x_grad, grad_out),
        "Shift2d fwd+bwd": lambda: torch.autograd.grad(shift(x_grad), x_grad, grad_out),
    }, args.repeats, device)
    load_after = os.getloadavg()
    # The median is the usual figure; on a shared, busy machine the minimum (the run least disturbed
    # by other processes) is the better estimate of the operation's own cost. Both are reported.
    medians = {name: statistics.median(values) for name, values in samples.items()}
    minimums = {name: min(values) for name, values in samples.items()}
    ratios_median, ratios_min = ratios(medians), ratios(minimums)
    kernel = "compiled" if device.type == "cpu" and x.dtype == torch.float32 and shift_native.available() else "torch ops"

    print(f"Shift2d runs on: {kernel}")
    for name in samples:
        print(f"{name:>28}: median {medians[name]:8.3f} ms   min {minimums[name]:8.3f} ms")
    for label, numerator, denominator in TARGETS:
        key = f"{numerator} / {denominator}"
        verdict = "meets" if ratios_min[key] <= TARGET_RATIO else "misses"
        print(f"{label}: {key} = {ratios_min[key]:.2f} (min), {ratios_median[key]:.2f} (median)"
              f" — {verdict} the {TARGET_RATIO} target (by minimums)")
    key = "Shift2d backward (autograd) / clone"
    print(f"(with autograd's fixed cost of a call charged to the shift: {key} = {ratios_min[key]:.2f} (min),"
          f" {ratios_median[key]:.2f} (median))")
    print(json.dumps({
        "benchmark": "shift_speed",
        "shape": args.shape, "kernel_size": args.kernel_size, "dtype": "float32",
        "memory_format": "channels_last" if args.channels_last else "contiguous",
        **provenance(device),
        "torch_threads": torch.get_num_threads(), "repeats": args.repeats,
        "median_ms": {name: round(ms, 4) for name, ms in medians.items()},
        "min_ms": {name: round(ms, 4) for name, ms in minimums.items()},
        "shift2d_kernel": kernel,
        "ratios_median": ratios_median, "ratios_min": ratios_min,
        "target_ratio_min": TARGET_RATIO,
        "meets_target": all(ratios_min[f"{numerator} / {denominator}"] <= TARGET_RATIO
                            for _, numerator, denominator in TARGETS),
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }))


if __name__ == "__main__":
    main()
