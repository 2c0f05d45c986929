"""ShuffleNet V2's four practical guidelines, measured on this CPU in eager PyTorch and in ONNX Runtime.

Source: N. Ma, X. Zhang, H.-T. Zheng, J. Sun, *ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design*, ECCV 2018 (arXiv:1807.11164), Section 2, Tables 1-4 and Appendix Fig. 1. The paper
measured on a GTX 1080Ti (CUDNN 7.0) and on an ARM Snapdragon 810 (one thread), 56 × 56 feature maps, each
network stacked 10 times. Here the same kinds of workloads are built and timed on the machine in front of you
(``benchmarks/shufflenet_guidelines.py``):

- **G1** equal channel width minimises memory access cost: 10 blocks of two 1×1 convolutions c1 → c2 → c1,
  c1:c2 = 1:1, 1:2, 1:6, 1:12, MACs h·w·c1·c2 (nearly) fixed. For a 1×1 conv, MAC = hw(c1 + c2) + c1·c2 ≥
  2·√(hw·B) + B / hw with B = hw·c1·c2, equality at c1 = c2.
- **G2** excessive group convolution increases MAC: 10 grouped 1×1 convolutions c → c, g = 1, 2, 4, 8, with c
  widened so that hw·c²/g stays fixed: MAC = hw·c1 + B·g / c1 + B / hw grows with g.
- **G3** network fragmentation reduces parallelism: 10 blocks of 1, 2 or 4 small 1×1 convolutions in series or
  in parallel, at (nearly) the FLOPs of the 1-fragment block.
- **G4** element-wise operations are non-negligible: the paper's Table 4 (a ResNet bottleneck, 10 units, with
  and without its ReLUs and its shortcut), and the share of forward time spent in element-wise operators (ReLU,
  add, BatchNorm) in the course's lab networks, from the eager profiler and from ONNX Runtime's.

Times are milliseconds per forward pass (lower is faster); the paper's numbers (:data:`PAPER`) are throughputs
(higher is faster). :func:`verdict` says, per guideline, batch and runtime, whether the guideline holds here.
"""
from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from matplotlib.axes import Axes
from torch import nn

from . import checks
from .cost import count
from .provenance import REPO_ROOT
from .runtime import Timing, deployed, export_onnx

GUIDELINES: tuple[str, ...] = ("G1", "G2", "G3", "G4")
REPEATED = 10                 # the paper stacks every block 10 times (Tables 1-4)
PAPER_SIZE = 56               # the paper's feature maps: 56 × 56 (the stage-2 maps of a 224 × 224 network)
# The largest relative difference allowed between the MACs of a setting and of the guideline's first setting.
# The paper's own "fixed FLOPs" differ by up to 5.1 % (Table 1, GPU: 36 · 432 = 15,552 against 128² = 16,384).
FLOPS_TOLERANCE = 0.05
# Default widths (the first setting's channels): chosen so that every setting lands within 2.1 % (G1), 0.4 % (G2)
# and 1.2 % (G3) of the first setting's MACs; G4 uses the middle ARM column of the paper's Table 4 (c = 64).
DEFAULT_WIDTH = {"G1": 56, "G2": 68, "G3": 64, "G4": 64}
RATIOS = (1, 2, 6, 12)
GROUPS = (1, 2, 4, 8)
FRAGMENTS = (("1-fragment", 1, "series"), ("2-fragment-series", 2, "series"), ("4-fragment-series", 4, "series"),
             ("2-fragment-parallel", 2, "parallel"), ("4-fragment-parallel", 4, "parallel"))
BOTTLENECK = (("ReLU −, shortcut −", False, False), ("ReLU −, shortcut +", False, True),
              ("ReLU +, shortcut −", True, False), ("ReLU +, shortcut +", True, True))
RUNTIMES = ("eager", "onnxruntime")

# ---------------------------------------------------------------------------------------------
# The paper's numbers
# ---------------------------------------------------------------------------------------------
# Transcribed from arXiv:1807.11164 (v1), Tables 1-4, and checked against two independent public text copies of
# the paper (a bilingual translation and an HTML extraction), which agree digit for digit. Units: "GPU" columns
# are batches/sec on one GTX 1080Ti (CUDNN 7.0, benchmark mode); "ARM" columns are images/sec on a Qualcomm
# Snapdragon 810, one thread (Tables 2-4 head that column "CPU (Images/sec.)"; the text says it is the ARM). Higher
# is faster. Each network is randomly initialised and evaluated 100 times, the average is reported.
# Not found: the GPU batch size of Tables 1-4 (the paper gives batch 8 for its Fig. 1 only) -> None.
# Note: Table 2's ARM row g = 8 has c = 180, which 8 does not divide; it is stored as printed.
PAPER_SOURCE = ("Ma, Zhang, Zheng, Sun, ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture "
                "Design, ECCV 2018, arXiv:1807.11164, Section 2, Tables 1-4")
PAPER: dict[str, dict] = {
    "G1": {"table": 1, "input": "56 × 56", "gpu_unit": "batches/sec (GTX 1080Ti)",
           "arm_unit": "images/sec (Snapdragon 810, 1 thread)", "gpu_batch": None,
           "columns": ("×1", "×2", "×4"), "what": "10 blocks of two 1×1 convs c1 → c2 → c1, FLOPs fixed",
           "rows": {"1:1": {"gpu_channels": (128, 128), "gpu": (1480, 723, 232),
                            "arm_channels": (32, 32), "arm": (76.2, 21.7, 5.3)},
                    "1:2": {"gpu_channels": (90, 180), "gpu": (1296, 586, 206),
                            "arm_channels": (22, 44), "arm": (72.9, 20.5, 5.1)},
                    "1:6": {"gpu_channels": (52, 312), "gpu": (876, 489, 189),
                            "arm_channels": (13, 78), "arm": (69.1, 17.9, 4.6)},
                    "1:12": {"gpu_channels": (36, 432), "gpu": (748, 392, 163),
                             "arm_channels": (9, 108), "arm": (57.6, 15.1, 4.4)}}},
    "G2": {"table": 2, "input": "56 × 56", "gpu_unit": "batches/sec (GTX 1080Ti)",
           "arm_unit": "images/sec (Snapdragon 810, 1 thread)", "gpu_batch": None,
           "columns": ("×1", "×2", "×4"), "what": "10 grouped 1×1 convs c → c, FLOPs fixed by widening c",
           "rows": {"g=1": {"gpu_channels": 128, "gpu": (2451, 1289, 437),
                            "arm_channels": 64, "arm": (40.0, 10.2, 2.3)},
                    "g=2": {"gpu_channels": 180, "gpu": (1725, 873, 341),
                            "arm_channels": 90, "arm": (35.0, 9.5, 2.2)},
                    "g=4": {"gpu_channels": 256, "gpu": (1026, 644, 338),
                            "arm_channels": 128, "arm": (32.9, 8.7, 2.1)},
                    "g=8": {"gpu_channels": 360, "gpu": (634, 445, 230),
                            "arm_channels": 180, "arm": (27.8, 7.5, 1.8)}}},
    "G3": {"table": 3, "input": "56 × 56", "gpu_unit": "batches/sec (GTX 1080Ti)",
           "arm_unit": "images/sec (Snapdragon 810, 1 thread)", "gpu_batch": None,
           "gpu_columns": ("c=128", "c=256", "c=512"), "arm_columns": ("c=64", "c=128", "c=256"),
           "what": "10 blocks of 1-4 1×1 convs in series or in parallel, FLOPs of the 1-fragment block",
           "rows": {"1-fragment": {"gpu": (2446, 1274, 434), "arm": (40.2, 10.1, 2.3)},
                    "2-fragment-series": {"gpu": (1790, 909, 336), "arm": (38.6, 10.1, 2.2)},
                    "4-fragment-series": {"gpu": (752, 745, 349), "arm": (38.4, 10.1, 2.3)},
                    "2-fragment-parallel": {"gpu": (1537, 803, 320), "arm": (33.4, 9.1, 2.2)},
                    "4-fragment-parallel": {"gpu": (691, 572, 292), "arm": (35.0, 8.4, 2.1)}}},
    "G4": {"table": 4, "input": "not stated in the table (Section 2: 224 × 224 images)",
           "gpu_unit": "batches/sec (GTX 1080Ti)", "arm_unit": "images/sec (Snapdragon 810, 1 thread)",
           "gpu_batch": None, "gpu_columns": ("c=32", "c=64", "c=128"), "arm_columns": ("c=32", "c=64", "c=128"),
           "what": "ResNet bottleneck unit stacked 10 times, ReLU and shortcut removed separately",
           "rows": {"ReLU +, shortcut +": {"gpu": (2427, 2066, 1436), "arm": (56.7, 16.9, 5.0)},
                    "ReLU +, shortcut −": {"gpu": (2647, 2256, 1735), "arm": (61.9, 18.8, 5.2)},
                    "ReLU −, shortcut +": {"gpu": (2672, 2121, 1458), "arm": (57.3, 18.2, 5.1)},
                    "ReLU −, shortcut −": {"gpu": (2842, 2376, 1782), "arm": (66.3, 20.2, 5.4)}}},
}


# ---------------------------------------------------------------------------------------------
# Channel widths at fixed MACs
# ---------------------------------------------------------------------------------------------
def ratio_widths(width: int, ratio: int) -> tuple[int, int]:
    """(c1, c2) with c2 = ratio · c1 exactly and c1 · c2 as near as possible to width²: the 1×1 conv c1 → c2
    then does h·w·c1·c2 ≈ h·w·width² MACs (G1). c1 = the integer nearest to width / √ratio that minimises
    |ratio · c1² − width²|."""
    checks.positive_int("width", width)
    checks.positive_int("ratio", ratio)
    c1 = min(range(1, width + 1), key=lambda c: abs(ratio * c * c - width * width))
    return c1, ratio * c1


def group_width(width: int, groups: int) -> int:
    """The channel count c, a multiple of ``groups``, whose grouped 1×1 conv c → c does h·w·c²/g MACs as near as
    possible to h·w·width² (G2): c ≈ width · √g."""
    checks.positive_int("width", width)
    checks.positive_int("groups", groups)
    return min(range(groups, 2 * width * groups + 1, groups), key=lambda c: abs(c * c / groups - width * width))


def series_width(width: int, fragments: int) -> int:
    """The width c' of each of ``fragments`` 1×1 convs c' → c' in series whose MACs n·h·w·c'² are as near as
    possible to the 1-fragment block's h·w·width² (G3): c' ≈ width / √n."""
    checks.positive_int("width", width)
    checks.positive_int("fragments", fragments)
    return min(range(1, width + 1), key=lambda c: abs(fragments * c * c - width * width))


# ---------------------------------------------------------------------------------------------
# The benchmark networks
# ---------------------------------------------------------------------------------------------
def conv1x1(c_in: int, c_out: int, groups: int = 1) -> nn.Conv2d:
    """A 1×1 convolution without bias: h·w·c_in·c_out / groups MACs."""
    checks.positive_int("c_in", c_in)
    checks.positive_int("c_out", c_out)
    checks.positive_int("groups", groups)
    checks.divides("groups", groups, "c_in", c_in)
    checks.divides("groups", groups, "c_out", c_out)
    return nn.Conv2d(c_in, c_out, 1, groups=groups, bias=False)


def g1_network(c1: int, c2: int, *, blocks: int = REPEATED) -> nn.Sequential:
    """G1's benchmark (Table 1): ``blocks`` blocks of two 1×1 convs, c1 → c2 then c2 → c1. Input: c1 maps.
    MACs = blocks · 2 · h·w·c1·c2."""
    checks.positive_int("blocks", blocks)
    return nn.Sequential(*(nn.Sequential(conv1x1(c1, c2), conv1x1(c2, c1)) for _ in range(blocks)))


def g2_network(channels: int, groups: int, *, layers: int = REPEATED) -> nn.Sequential:
    """G2's benchmark (Table 2): ``layers`` grouped 1×1 convs c → c with ``groups`` groups.
    MACs = layers · h·w·c² / g."""
    checks.positive_int("layers", layers)
    return nn.Sequential(*(conv1x1(channels, channels, groups) for _ in range(layers)))


class ParallelFragments(nn.Module):
    """``fragments`` 1×1 convs side by side on the same input, c → c / n each, their outputs concatenated
    (c maps): n small operators instead of one, the same h·w·c² MACs as one c → c conv."""

    def __init__(self, channels: int, fragments: int) -> None:
        super().__init__()
        checks.positive_int("fragments", fragments)
        checks.divides("fragments", fragments, "channels", channels)
        self.branches = nn.ModuleList(conv1x1(channels, channels // fragments) for _ in range(fragments))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def g3_network(channels: int, fragments: int, arrangement: str, *, blocks: int = REPEATED) -> nn.Sequential:
    """G3's benchmark (Table 3, Appendix Fig. 1): ``blocks`` blocks of ``fragments`` 1×1 convs, in "series"
    (c → c each: MACs = blocks · n · h·w·c²) or in "parallel" (:class:`ParallelFragments`:
    MACs = blocks · h·w·c²).
    The appendix draws the blocks; how a parallel block splits its channels (each branch c → c/n, concatenated)
    is this course's reading, chosen so that its MACs equal the 1-fragment block's."""
    checks.positive_int("channels", channels)
    checks.positive_int("fragments", fragments)
    checks.one_of("arrangement", arrangement, ("series", "parallel"))
    checks.positive_int("blocks", blocks)
    if arrangement == "parallel":
        checks.divides("fragments", fragments, "channels", channels)
        return nn.Sequential(*(ParallelFragments(channels, fragments) for _ in range(blocks)))
    return nn.Sequential(*(nn.Sequential(*(conv1x1(channels, channels) for _ in range(fragments)))
                           for _ in range(blocks)))


class Bottleneck(nn.Module):
    """ResNet's bottleneck unit (He et al. 2016) as Table 4 ablates it: 1×1 conv c → c/4, 3×3 conv c/4 → c/4,
    1×1 conv c/4 → c, a ReLU after each conv (``relu``) and the shortcut x + f(x) before the last ReLU
    (``shortcut``). No BatchNorm and no bias (folded at inference): only ReLU and add are element-wise here.
    MACs = h·w·(c·i + 9·i² + i·c), i = c / 4, whichever the switches."""

    def __init__(self, channels: int, *, relu: bool, shortcut: bool) -> None:
        super().__init__()
        checks.positive_int("channels", channels)
        if channels % 4:
            raise ValueError(f"channels={channels} must be a multiple of 4 (the inner width is channels / 4)")
        inner = channels // 4
        self.relu, self.shortcut = checks.boolean("relu", relu), checks.boolean("shortcut", shortcut)
        self.reduce = conv1x1(channels, inner)
        self.conv = nn.Conv2d(inner, inner, 3, padding=1, bias=False)
        self.expand = conv1x1(inner, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = torch.relu if self.relu else (lambda t: t)
        y = self.expand(act(self.conv(act(self.reduce(x)))))
        return act(x + y if self.shortcut else y)


def g4_network(channels: int, *, relu: bool, shortcut: bool, units: int = REPEATED) -> nn.Sequential:
    """G4's benchmark (Table 4): ``units`` :class:`Bottleneck` units of ``channels`` maps."""
    checks.positive_int("units", units)
    return nn.Sequential(*(Bottleneck(channels, relu=relu, shortcut=shortcut) for _ in range(units)))


@dataclass(frozen=True)
class Workload:
    """One setting of a guideline: the network, the maps it takes, and its cost for one image of size × size
    (``cost.count``: MACs of the convolutions, parameters)."""

    label: str
    model: nn.Module
    in_channels: int
    macs: int
    params: int


def workloads(guideline: str, *, size: int = PAPER_SIZE, width: int | None = None) -> dict[str, Workload]:
    """The settings of ``guideline`` ("G1" ... "G4"), label → :class:`Workload`, in order: the setting the
    guideline favours first, the one it warns against most last (what :func:`verdict` compares).
    ``width``: the first setting's channels (default :data:`DEFAULT_WIDTH`); every setting's MACs, measured with
    ``cost.count`` on a (1, C, size, size) input, must be within :data:`FLOPS_TOLERANCE` of the first's:

        |MACs(setting) − MACs(first)| ≤ FLOPS_TOLERANCE · MACs(first)

    else ``ValueError`` (choose another width)."""
    checks.one_of("guideline", guideline, GUIDELINES)
    checks.positive_int("size", size)
    width = DEFAULT_WIDTH[guideline] if width is None else checks.positive_int("width", width)
    torch.manual_seed(0)
    if guideline == "G1":
        built = {f"1:{r}": (g1_network(*ratio_widths(width, r)), ratio_widths(width, r)[0]) for r in RATIOS}
    elif guideline == "G2":
        built = {f"g={g}": (g2_network(group_width(width, g), g), group_width(width, g)) for g in GROUPS}
    elif guideline == "G3":
        built = {}
        for label, n, arrangement in FRAGMENTS:
            channels = series_width(width, n) if arrangement == "series" else width
            built[label] = (g3_network(channels, n, arrangement), channels)
    else:
        built = {label: (g4_network(width, relu=relu, shortcut=shortcut), width)
                 for label, relu, shortcut in BOTTLENECK}
    result = {}
    for label, (model, in_channels) in built.items():
        cost = count(model.eval(), (1, in_channels, size, size))
        result[label] = Workload(label, model, in_channels, cost.macs, cost.params)
    first = next(iter(result.values()))
    for work in result.values():
        if abs(work.macs - first.macs) > FLOPS_TOLERANCE * first.macs:
            raise ValueError(f"width={width} gives {guideline} setting {work.label!r} {work.macs:,} MACs against "
                             f"{first.macs:,} for {first.label!r}: must be within {FLOPS_TOLERANCE:.0%} "
                             f"(the default width {DEFAULT_WIDTH[guideline]} is)")
    return result


# ---------------------------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------------------------
HOLDS, DOES_NOT_HOLD, WITHIN_NOISE = "holds here", "does not hold here", "within noise"


def _quartiles(name: str, value: object) -> tuple[float, float, float]:
    if isinstance(value, Timing):
        q1, median, q3 = value.q1, value.median, value.q3
    elif isinstance(value, Mapping) and {"q1_ms", "median_ms", "q3_ms"} <= set(value):
        q1, median, q3 = value["q1_ms"], value["median_ms"], value["q3_ms"]
    else:
        raise ValueError(f"times_by_setting[{name!r}]={value!r} must be a runtime.Timing or a dict with "
                         "q1_ms, median_ms and q3_ms")
    numbers = (q1, median, q3)
    if (not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                for v in numbers) or not q1 <= median <= q3):
        raise ValueError(f"times_by_setting[{name!r}]={value!r} must have finite times 0 ≤ q1 ≤ median ≤ q3")
    return float(q1), float(median), float(q3)


def verdict(times_by_setting: Mapping[str, object], *, favoured: str | None = None,
            against: str | None = None) -> str:
    """Does the guideline hold on this machine? ``times_by_setting``: setting → time per forward pass (a
    ``runtime.Timing``, or a dict with q1_ms, median_ms, q3_ms), ordered as :func:`workloads` orders them.
    Compares the setting the guideline favours (``favoured``, default the first) with the one it warns against
    (``against``, default the last), by their interquartile ranges [q1, q3]:

    - "holds here":        q3(favoured) < q1(against)   (the favoured setting is faster, the spreads separate);
    - "does not hold here": q3(against) < q1(favoured)   (the opposite, as clearly);
    - "within noise":      the two ranges overlap.
    """
    if not isinstance(times_by_setting, Mapping) or len(times_by_setting) < 2:
        raise ValueError(f"times_by_setting={times_by_setting!r} must map at least two settings to times")
    names = list(times_by_setting)
    favoured = names[0] if favoured is None else favoured
    against = names[-1] if against is None else against
    for arg, value in (("favoured", favoured), ("against", against)):
        checks.one_of(arg, value, tuple(names))
    if favoured == against:
        raise ValueError(f"against={against!r} must differ from favoured={favoured!r}")
    f_q1, _, f_q3 = _quartiles(favoured, times_by_setting[favoured])
    a_q1, _, a_q3 = _quartiles(against, times_by_setting[against])
    if f_q3 < a_q1:
        return HOLDS
    if a_q3 < f_q1:
        return DOES_NOT_HOLD
    return WITHIN_NOISE


# ---------------------------------------------------------------------------------------------
# G4: element-wise share of the forward time
# ---------------------------------------------------------------------------------------------
ELEMENTWISE_OPS = {
    "relu": ("aten::relu", "aten::relu_", "aten::clamp_min", "aten::clamp_min_", "aten::threshold",
             "aten::threshold_", "aten::hardtanh", "aten::hardtanh_", "aten::clamp", "aten::clamp_"),  # + ReLU6
    "add": ("aten::add", "aten::add_"),
    "batch_norm": ("aten::batch_norm", "aten::_batch_norm_impl_index", "aten::native_batch_norm",
                   "aten::_native_batch_norm_legit", "aten::_native_batch_norm_legit_no_training"),
}
ORT_ELEMENTWISE = {"relu": ("Relu", "Clip"), "add": ("Add",)}   # Clip: ReLU6; BatchNorm is fused into the convs


def classify_op(name: str) -> str:
    """The class of an aten operator name: "relu" (ReLU and ReLU6), "add" or "batch_norm" (element-wise, with their
    in-place and internal variants, :data:`ELEMENTWISE_OPS`), else "other"."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r} must be a non-empty operator name such as 'aten::relu'")
    return next((kind for kind, names in ELEMENTWISE_OPS.items() if name in names), "other")


def _check_input_size(input_size: object) -> None:
    if (not isinstance(input_size, (tuple, list)) or len(input_size) != 4
            or not all(checks.is_int(s) and s >= 1 for s in input_size)):
        raise ValueError(f"input_size={input_size!r} must be 4 positive integers (N, C, H, W)")


def _top_aten(event):
    """The outermost aten operator an event runs inside (itself if none encloses it)."""
    top, parent = event, event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            top = parent
        parent = parent.cpu_parent
    return top


def eager_elementwise(model: nn.Module, input_size: tuple[int, ...], *, runs: int = 5) -> dict:
    """The element-wise share of ``model``'s forward time in eager PyTorch (:func:`runtime.deployed`, no
    gradients, torch's current threads), from ``torch.profiler`` over ``runs`` forward passes (after one warm-up):

        share = Σ self CPU time of the aten ops inside a ReLU, add or BatchNorm call / Σ self CPU time of all aten ops

    Each aten op's self time is given to the outermost aten op it runs inside (the clamp_min_ inside relu_ is
    ReLU time; the empty inside a convolution is convolution time), classified by :func:`classify_op`.
    Returns {"share", "by_class": {class: µs per pass}, "by_op": {outermost op: µs per pass}}."""
    from torch.profiler import ProfilerActivity, profile

    _check_input_size(input_size)
    checks.positive_int("runs", runs)
    eager = deployed(model)
    x = torch.randn(tuple(input_size))
    with torch.no_grad():
        eager(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                eager(x)
    by_op: dict[str, float] = {}
    for event in prof.events():
        if event.name.startswith("aten::"):
            top = _top_aten(event).name
            by_op[top] = by_op.get(top, 0.0) + event.self_cpu_time_total / runs
    return _shares(by_op, classify_op)


def _shares(by_op: dict[str, float], classify) -> dict:
    by_class = {kind: 0.0 for kind in (*ELEMENTWISE_OPS, "other")}
    for op, us in by_op.items():
        by_class[classify(op)] += us
    total = sum(by_class.values())
    elementwise = total - by_class["other"]
    return {"share": round(elementwise / total, 5) if total else 0.0,
            "by_class": {k: round(v, 2) for k, v in by_class.items()},
            "by_op": {k: round(v, 2) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])}}


def classify_ort_op(op_type: str) -> str:
    """The class of an ONNX node type after ONNX Runtime's optimisation: "relu" (Relu, and Clip: ReLU6), "add" (Add), else
    "other" (FusedConv, which may carry a fused ReLU, counts as "other": it is no longer a separate op)."""
    if not isinstance(op_type, str) or not op_type:
        raise ValueError(f"op_type={op_type!r} must be a non-empty ONNX operator type such as 'Relu'")
    return next((kind for kind, names in ORT_ELEMENTWISE.items() if op_type in names), "other")


def ort_elementwise(model: nn.Module, input_size: tuple[int, ...], *, threads: int, runs: int = 5) -> dict:
    """The element-wise share of ``model``'s forward time in ONNX Runtime (``runtime.export_onnx``, the session
    options of ``runtime.ort_session`` with its profiler on), over ``runs`` runs after one warm-up:

        share = Σ kernel time of Relu and Add nodes / Σ kernel time of all nodes

    BatchNorm does not appear (fused into the convolutions), and ReLUs that ONNX Runtime fused into a convolution
    (FusedConv) count as convolution time: this is ReLU and add only. Same return form as
    :func:`eager_elementwise` (by_op keyed by node type)."""
    import onnxruntime as ort

    checks.positive_int("threads", threads)
    checks.positive_int("runs", runs)
    onnx_bytes = export_onnx(model, input_size)
    feed = {"x": torch.randn(tuple(input_size)).numpy()}
    with tempfile.TemporaryDirectory() as folder:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(folder) / "ort")
        session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        for _ in range(runs + 1):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    model_runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")
    warmup_end = model_runs[0][1] if model_runs else -1        # the first run (warm-up) is left out
    by_op: dict[str, float] = {}
    for event in events:
        if (event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time")
                and event["ts"] > warmup_end):
            op = event.get("args", {}).get("op_name", "?")
            by_op[op] = by_op.get(op, 0.0) + event["dur"] / runs
    result = _shares(by_op, classify_ort_op)
    result["by_class"].pop("batch_norm")
    return result


# ---------------------------------------------------------------------------------------------
# The committed results
# ---------------------------------------------------------------------------------------------
RESULTS_FILE = REPO_ROOT / "benchmarks" / "results" / "shufflenet_guidelines.json"
RUN_COMMAND = "python benchmarks/shufflenet_guidelines.py"


@dataclass(frozen=True)
class GuidelineResults:
    """``benchmarks/shufflenet_guidelines.py``'s result: ``times`` (one row per guideline, setting, batch and
    runtime: median and quartiles in ms, MACs per image), ``elementwise`` (G4's shares: one row per lab
    network, batch and runtime), ``verdicts`` and the provenance (command, device, date, commit, threads...)."""

    times: pd.DataFrame
    elementwise: pd.DataFrame
    verdicts: pd.DataFrame
    provenance: dict


def load_guideline_results(path: str | Path = RESULTS_FILE) -> GuidelineResults:
    """Read the committed ``benchmarks/results/shufflenet_guidelines.json`` (or ``path``)."""
    if not isinstance(path, (str, Path)):
        raise ValueError(f"path={path!r} must be a path to a shufflenet_guidelines result")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `{RUN_COMMAND}` from the repository root (about 3 minutes "
                                "on a quiet 2-core machine) to measure it")
    try:
        result = json.loads(path.read_text())
        times = pd.DataFrame([{"guideline": m["guideline"], "setting": m["setting"], "batch": m["batch"],
                               "runtime": runtime, "macs": m["macs"], "median_ms": t["median_ms"],
                               "q1_ms": t["q1_ms"], "q3_ms": t["q3_ms"], "repeats": t["repeats"]}
                              for m in result["measurements"] for runtime, t in m["runtimes"].items()])
        elementwise = pd.DataFrame([{"network": e["network"], "batch": e["batch"], "runtime": e["runtime"],
                                     "share": e["share"], **{f"{k}_us": v for k, v in e["by_class"].items()}}
                                    for e in result["elementwise"]])
        verdicts = pd.DataFrame(result["verdicts"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a shufflenet_guidelines result ({error}): re-run `{RUN_COMMAND}` to "
                         "rewrite it") from error
    provenance = {k: v for k, v in result.items() if k not in ("measurements", "elementwise", "verdicts")}
    return GuidelineResults(times, elementwise, verdicts, provenance)


TITLES = {"G1": "G1: channel ratio c1:c2, MACs fixed", "G2": "G2: groups of 1×1 convs, MACs fixed",
          "G3": "G3: fragments, MACs fixed", "G4": "G4: ReLU and shortcut, MACs equal"}
RUNTIME_COLORS = {"eager": "tab:blue", "onnxruntime": "tab:orange"}


def _batch(results: GuidelineResults, frame: pd.DataFrame, batch: int | None) -> int:
    if not isinstance(results, GuidelineResults):
        raise ValueError(f"results={type(results).__name__} must be a GuidelineResults (load_guideline_results)")
    batches = sorted(int(b) for b in frame["batch"].unique()) if not frame.empty else []
    if not batches:
        raise ValueError("results must hold measurements for this figure (re-run the benchmark with them)")
    if batch is None:
        return batches[0]
    checks.positive_int("batch", batch)
    if batch not in batches:
        raise ValueError(f"batch={batch} must be one of the measured batches {batches}")
    return batch


def _runtime_bars(rows: pd.DataFrame, column: str,
                  labels: list[str]) -> Iterator[tuple[str, pd.DataFrame, list[float], float]]:
    """For grouped bars, one group per label of ``column``, the runtimes side by side: per runtime measured,
    (runtime, its rows indexed by ``column`` in the order of ``labels``, the bars' x positions, their width)."""
    runtimes = [r for r in RUNTIMES if r in set(rows["runtime"])]
    width = 0.8 / max(1, len(runtimes))
    for i, runtime in enumerate(runtimes):
        part = rows[rows["runtime"] == runtime].set_index(column).reindex(labels)
        yield runtime, part, [j + (i - (len(runtimes) - 1) / 2) * width for j in range(len(labels))], width


def plot_guideline(ax: Axes, results: GuidelineResults, guideline: str, *, batch: int | None = None) -> Axes:
    """One guideline's figure: the median time per forward pass of each setting (bars) with its q1–q3 range
    (error bars), eager PyTorch and ONNX Runtime side by side, at ``batch`` (default the smallest measured);
    the y axis from 0, the verdict of each runtime in the legend, the legend outside the bars."""
    if not isinstance(ax, Axes):
        raise ValueError(f"ax={ax!r} must be a matplotlib Axes")
    checks.one_of("guideline", guideline, GUIDELINES)
    rows = results.times[results.times["guideline"] == guideline] if isinstance(results, GuidelineResults) else None
    batch = _batch(results, rows if rows is not None else pd.DataFrame(), batch)
    rows = rows[rows["batch"] == batch]
    settings = list(dict.fromkeys(rows["setting"]))
    for runtime, part, x, width in _runtime_bars(rows, "setting", settings):
        said = verdict({s: part.loc[s, ["q1_ms", "median_ms", "q3_ms"]].to_dict() for s in settings})
        ax.bar(x, part["median_ms"], width, color=RUNTIME_COLORS[runtime], alpha=0.85,
               yerr=[part["median_ms"] - part["q1_ms"], part["q3_ms"] - part["median_ms"]], capsize=4,
               label=f"{runtime}: {said}")
    long = any(len(setting) > 6 for setting in settings)
    ax.set_xticks(range(len(settings)), settings, rotation=25 if long else 0, ha="right" if long else "center")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("time per forward pass (ms)")
    ax.set_xlabel("setting (first: the one the guideline favours)")
    ax.set_title(f"{TITLES[guideline]}\nbatch {batch}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="median, q1–q3", fontsize=11)
    return ax


def plot_elementwise_share(ax: Axes, results: GuidelineResults, *, batch: int | None = None) -> Axes:
    """G4 in the lab networks: the share of forward time in element-wise operators (eager: ReLU, add, BatchNorm;
    ONNX Runtime: ReLU and add, BatchNorm being fused), per network, both runtimes side by side, in percent."""
    if not isinstance(ax, Axes):
        raise ValueError(f"ax={ax!r} must be a matplotlib Axes")
    frame = results.elementwise if isinstance(results, GuidelineResults) else pd.DataFrame()
    batch = _batch(results, frame, batch)
    rows = frame[frame["batch"] == batch]
    networks = list(dict.fromkeys(rows["network"]))
    for runtime, part, x, width in _runtime_bars(rows, "network", networks):
        label = "eager: ReLU + add + BatchNorm" if runtime == "eager" else "onnxruntime: Relu + Add (BN fused)"
        ax.bar(x, 100 * part["share"], width, color=RUNTIME_COLORS[runtime], alpha=0.85, label=label)
    ax.set_xticks(range(len(networks)), networks, rotation=30, ha="right")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("element-wise share (%)")
    ax.set_title(f"G4 in the lab networks\nbatch {batch}, 32×32 images")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=11)
    return ax


__all__ = ["GUIDELINES", "REPEATED", "PAPER_SIZE", "FLOPS_TOLERANCE", "DEFAULT_WIDTH", "PAPER", "PAPER_SOURCE",
           "ratio_widths", "group_width", "series_width", "conv1x1", "g1_network", "g2_network", "ParallelFragments",
           "g3_network", "Bottleneck", "g4_network", "Workload", "workloads", "HOLDS", "DOES_NOT_HOLD",
           "WITHIN_NOISE", "verdict", "ELEMENTWISE_OPS", "classify_op", "classify_ort_op", "eager_elementwise",
           "ort_elementwise", "RESULTS_FILE", "GuidelineResults", "load_guideline_results", "plot_guideline",
           "plot_elementwise_share"]
