"""The roofline of the machine in front of you, measured (Williams, Waterman and Patterson, "Roofline: an
insightful visual performance model for multicore architectures", Communications of the ACM 52(4), 2009).

A kernel that performs F floating-point operations and moves B bytes between memory and the cores cannot run
faster than either roof:

    time ≥ F / peak_flops        (compute roof: a large matrix product, the best case for the cores)
    time ≥ B / bandwidth         (memory roof: a large streaming copy, the best case for memory)

so its attainable rate is min(peak_flops, intensity · bandwidth), intensity I = F / B (FLOP per byte).

The bytes model, stated once for every operator: the weights, the input and the output each read or written once,
in float32 (B = 4 · (params + input values + output values)), the least traffic any implementation needs. The
FLOPs are 2 × the MACs of ``course_utils.cost.count``. A block whose layers run one by one (eager PyTorch) also
writes and reads its inner maps, so its real traffic is larger: it shows as far below the memory roof.

Verdicts (:func:`classify`) come from measured rates only, with a stated factor (2 by default):
"memory-bound" where the achieved bandwidth B / time is within that factor of the copy roof, "compute-bound"
where the achieved FLOP/s are within it of the matmul roof, and otherwise "kernel-bound": far below both roofs,
so the kernel (its implementation, the framework around it) sets the time, not the machine.
"""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from torch import nn

from . import checks
from .cost import count
from .provenance import REPO_ROOT

MEMORY_BOUND = "memory-bound"
COMPUTE_BOUND = "compute-bound"
KERNEL_BOUND = "kernel-bound"


@dataclass(frozen=True)
class Roofs:
    """The two measured roofs: copy bandwidth (GB/s, bytes read + written, for tensors of ``copy_megabytes``)
    and matmul rate (GFLOP/s), with the thread count they were measured at."""

    bandwidth_gbs: float
    peak_gflops: float
    threads: int
    copy_megabytes: float

    def __post_init__(self) -> None:
        checks.positive_number("bandwidth_gbs", self.bandwidth_gbs)
        checks.positive_number("peak_gflops", self.peak_gflops)
        checks.positive_int("threads", self.threads)
        checks.positive_number("copy_megabytes", self.copy_megabytes)

    @property
    def ridge(self) -> float:
        """The intensity (FLOP/byte) where the roofs meet: peak_flops / bandwidth."""
        return self.peak_gflops / self.bandwidth_gbs

    def attainable_gflops(self, intensity: float) -> float:
        """min(peak, intensity · bandwidth): the best rate a kernel of this intensity can reach."""
        if not isinstance(intensity, (int, float)) or isinstance(intensity, bool) or not intensity >= 0:
            raise ValueError(f"intensity={intensity!r} must be a number ≥ 0 (FLOP per byte)")
        return min(self.peak_gflops, intensity * self.bandwidth_gbs)


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()                                           # warm-up: first-touch of the pages, kernel selection
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def copy_bandwidth(megabytes: float, *, repeats: int = 5) -> float:
    """GB/s of ``dst.copy_(src)`` on float32 tensors of ``megabytes`` each, counting the bytes read and written
    (median of ``repeats``). Hundreds of megabytes measure main memory; a few megabytes, the caches."""
    checks.positive_number("megabytes", megabytes)
    checks.positive_int("repeats", repeats)
    source = torch.ones(max(1, int(megabytes * 2**20 / 4)))
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / _median_seconds(lambda: target.copy_(source), repeats) / 1e9


def matmul_peak(size: int = 2048, *, repeats: int = 5) -> float:
    """GFLOP/s of an n × n float32 matrix product, n = ``size`` (2·n³ FLOPs; median of ``repeats``)."""
    checks.positive_int("size", size)
    checks.positive_int("repeats", repeats)
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    return 2 * size**3 / _median_seconds(lambda: torch.mm(a, b, out=out), repeats) / 1e9


def measure_roofs(*, copy_megabytes: float = 256, matmul_size: int = 2048, repeats: int = 5) -> Roofs:
    """Both roofs with torch's current threads (a few seconds): :func:`copy_bandwidth` (``copy_megabytes``; the
    default is far larger than any cache: main memory) and :func:`matmul_peak`."""
    return Roofs(copy_bandwidth(copy_megabytes, repeats=repeats), matmul_peak(matmul_size, repeats=repeats),
                 torch.get_num_threads(), copy_megabytes)


@dataclass(frozen=True)
class Workload:
    """What one forward pass of an operator must do: FLOPs (2 × MACs) and bytes (the module docstring's model)."""

    flops: int
    bytes: int

    @property
    def intensity(self) -> float:
        """FLOP per byte."""
        return self.flops / self.bytes


def workload(layer: nn.Module, input_size: tuple[int, ...]) -> Workload:
    """FLOPs = 2 × MACs (``cost.count``, for the whole batch) and bytes = 4 · (params + input values + output
    values) of one forward pass of ``layer`` on ``input_size`` (N, C, H, W), float32."""
    cost = count(layer, input_size)                  # validates both arguments
    was_training = layer.training
    try:
        with torch.no_grad():
            output = layer.eval()(torch.zeros(tuple(input_size)))
    finally:
        layer.train(was_training)
    return Workload(2 * cost.macs, 4 * (cost.params + int(np.prod(input_size)) + output.numel()))


def classify(work: Workload, seconds: float, roofs: Roofs, *, factor: float = 2.0) -> str:
    """"memory-bound" if the achieved bandwidth (bytes / seconds) is at least the copy roof / ``factor``;
    else "compute-bound" if the achieved FLOP/s are at least the matmul roof / ``factor``; else "kernel-bound".
    (When both hold, the rate nearer its roof decides.)"""
    if not isinstance(work, Workload):
        raise ValueError(f"work={work!r} must be a Workload (roofline.workload)")
    checks.positive_number("seconds", seconds)
    if not isinstance(roofs, Roofs):
        raise ValueError(f"roofs={roofs!r} must be a Roofs (roofline.measure_roofs)")
    checks.positive_number("factor", factor)
    if factor < 1:
        raise ValueError(f"factor={factor} must be at least 1 (a rate within that factor of its roof)")
    memory_share = work.bytes / seconds / 1e9 / roofs.bandwidth_gbs
    compute_share = work.flops / seconds / 1e9 / roofs.peak_gflops
    near_memory, near_compute = memory_share >= 1 / factor, compute_share >= 1 / factor
    if near_memory and near_compute:
        return MEMORY_BOUND if memory_share >= compute_share else COMPUTE_BOUND
    if near_memory:
        return MEMORY_BOUND
    if near_compute:
        return COMPUTE_BOUND
    return KERNEL_BOUND


VERDICT_COLORS = {MEMORY_BOUND: "tab:blue", COMPUTE_BOUND: "tab:red", KERNEL_BOUND: "tab:gray"}


def plot_roofline(ax: Axes, roofs: Roofs, points: dict[str, tuple[Workload, float]], *, factor: float = 2.0,
                  main_memory_gbs: float | None = None, title: str = "") -> dict[str, str]:
    """Draw the two roofs (and, dotted, the roofs ÷ ``factor`` that the verdicts use) and each operator at
    (intensity, achieved GFLOP/s), coloured by its verdict; ``points`` maps a label to (workload, seconds).
    ``main_memory_gbs``: also draw, dashed, the memory roof of a copy too large for any cache.
    Operators without FLOPs (a copy, a shift) have no place on a log axis: their verdicts are returned only.
    Returns {label: verdict}."""
    verdicts = {label: classify(work, seconds, roofs, factor=factor) for label, (work, seconds) in points.items()}
    placed = {label: (work.intensity, work.flops / seconds / 1e9)
              for label, (work, seconds) in points.items() if work.flops > 0}
    low = min([roofs.ridge / 100, *(x / 2 for x, _ in placed.values())])
    high = max([roofs.ridge * 10, *(x * 2 for x, _ in placed.values())])
    x = np.geomspace(low, high, 200)
    roof = np.minimum(roofs.peak_gflops, x * roofs.bandwidth_gbs)
    ax.plot(x, roof, color="black", linewidth=2.5,
            label=f"roofs: copy of {roofs.copy_megabytes:g} MB, matmul")
    ax.plot(x, roof / factor, color="black", linestyle=":", linewidth=1.5, label=f"roofs ÷ {factor:g}")
    if main_memory_gbs is not None:
        checks.positive_number("main_memory_gbs", main_memory_gbs)
        ax.plot(x, np.minimum(roofs.peak_gflops, x * main_memory_gbs), color="tab:purple", linestyle="--",
                linewidth=1.5, label="memory roof, main memory")
    for label, (intensity, rate) in placed.items():
        ax.scatter(intensity, rate, s=90, color=VERDICT_COLORS[verdicts[label]], edgecolor="black", zorder=3)
        ax.annotate(label, (intensity, rate), textcoords="offset points", xytext=(7, -4), fontsize=11)
    for verdict, color in VERDICT_COLORS.items():
        ax.scatter([], [], s=90, color=color, edgecolor="black", label=verdict)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
    ax.set_ylabel("achieved rate (GFLOP/s)")
    ax.set_title(title or f"Roofline of this machine ({roofs.threads} threads):\n{roofs.bandwidth_gbs:.0f} GB/s copy, "
                          f"{roofs.peak_gflops:.0f} GFLOP/s matmul")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=10)
    return verdicts


RESULTS_FILE = REPO_ROOT / "benchmarks" / "results" / "roofline.json"


@dataclass(frozen=True)
class CommittedRoofline:
    """``benchmarks/roofline.py``'s result: the roofs, main memory's copy bandwidth, every point (one row per
    operator and runtime) and the provenance (command, device, date, commit, ...)."""

    roofs: Roofs
    main_memory_gbs: float
    factor: float
    points: pd.DataFrame
    provenance: dict

    def workloads(self, set_name: str, runtime: str) -> dict[str, tuple[Workload, float]]:
        """{name: (workload, seconds)} of one set ("layers" or "networks") in one runtime: what
        :func:`plot_roofline` draws."""
        rows = self.points[(self.points["set"] == set_name) & (self.points["runtime"] == runtime)]
        if rows.empty:
            raise ValueError(f"set_name={set_name!r}, runtime={runtime!r}: no such points; sets "
                             f"{sorted(self.points['set'].unique())}, runtimes {sorted(self.points['runtime'].unique())}")
        return {row.name: (Workload(int(row.flops), int(row.bytes)), row.median_ms / 1e3) for row in rows.itertuples()}


def load_roofline_results(path: str | Path = RESULTS_FILE) -> CommittedRoofline:
    """Read the committed ``benchmarks/results/roofline.json``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/roofline.py` from the repository root "
                                "(about 3 minutes on a quiet machine) to measure it")
    try:
        result = json.loads(path.read_text())
        roofs = result["roofs"]
        committed = CommittedRoofline(
            Roofs(roofs["bandwidth_gbs"], roofs["peak_gflops"], result["threads"], roofs["copy_megabytes"]),
            roofs["main_memory_gbs"], result["factor"], pd.DataFrame(result["points"]),
            {k: v for k, v in result.items() if k not in ("points", "roofs")})
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a roofline result ({error}): re-run `python benchmarks/roofline.py` to "
                         "rewrite it") from error
    return committed


__all__ = ["MEMORY_BOUND", "COMPUTE_BOUND", "KERNEL_BOUND", "Roofs", "copy_bandwidth", "matmul_peak", "measure_roofs", "Workload", "workload",
           "classify", "VERDICT_COLORS", "plot_roofline", "RESULTS_FILE", "CommittedRoofline",
           "load_roofline_results"]
