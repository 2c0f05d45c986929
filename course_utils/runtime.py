"""A second runtime for the same networks: ONNX Runtime on the CPU, beside eager PyTorch.

A latency measured in eager PyTorch is the operator *and* PyTorch's kernel for it. Exporting the network
to ONNX and running it in ONNX Runtime (another set of kernels, the graph optimised: BatchNorm fused into
the convolution, ReLU fused, memory planned) separates the two: a ranking that holds in both runtimes is
about the operator; one that flips is about a framework.

- :func:`deployed`: the network as eager PyTorch runs it at inference (eval mode; a hardened SAL in its deployed
  forms, ``layers.sal_deployed``: shift + 1×1 where its taps are shared, the dense k×k convolution otherwise).
- :func:`exportable`: the same, in a form ONNX can express. ``Shift2d`` (a custom autograd function running a C
  kernel) becomes :class:`PadSliceShift` (``F.pad`` then one slice per channel group: the same numbers,
  ``tests/test_runtime.py``), and so does SAL's ``ChannelShift``. So ONNX Runtime times the pad-and-slice form
  of a shift, eager PyTorch the C kernel.
- :func:`export_onnx`, :func:`ort_session`: the ONNX bytes, and a CPU session with a given thread count.
- :func:`runtime_calls`, :func:`eager_and_ort`, :func:`interleaved_times`: eager and ONNX Runtime timed in turns
  (so a busy moment of the machine hits both), median and spread.
"""
from __future__ import annotations

import copy
import io
import json
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .provenance import REPO_ROOT
from .layers import Shift2d, ShiftAttentionConv2d
from .operators import single_layer_operators
from .layers.sal_deployed import to_deployed_model
from .layers.shift_attention import ChannelShift, ShiftedPointwise


class PadSliceShift(nn.Module):
    """The shift of ``Shift2d`` (or ``ChannelShift``) written with operations ONNX has: zero-pad every side by
    r = k // 2, then for each channel group (first, end, dy, dx) the window moved by (dy, dx):

        out[:, first:end] = pad(x)[:, first:end, r + dy : r + dy + H, r + dx : r + dx + W]

    ``order`` (ChannelShift) first reorders the channels. No parameters, no MACs."""

    def __init__(self, groups: list[tuple[int, int, int, int]], kernel_size: int,
                 order: torch.Tensor | None = None) -> None:
        super().__init__()
        self.groups = [tuple(int(v) for v in g) for g in groups]
        self.channels = max(end for _, end, _, _ in self.groups)        # as Shift2d's, which ShiftConv2d reads
        self.kernel_size = checks.odd_positive_int("kernel_size", kernel_size)
        self.radius = kernel_size // 2
        self.register_buffer("order", None if order is None else order.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.order is not None:
            x = x.index_select(1, self.order)
        r, (h, w) = self.radius, x.shape[-2:]
        padded = F.pad(x, (r, r, r, r))
        pieces = [padded[:, first:end, r + dy:r + dy + h, r + dx:r + dx + w] for first, end, dy, dx in self.groups]
        return torch.cat(pieces, dim=1)


def deployed(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode, float32 on the CPU, as it is deployed in eager PyTorch: a hardened SAL's
    layers in their deployed forms (``layers.sal_deployed``, ``form="conv"``: shift + 1×1 where the taps are
    shared, the dense k×k convolution otherwise); everything else as it is. ``model`` is not changed. A SAL
    network must be hardened first (``models.sal.harden``)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    holder = nn.Sequential(copy.deepcopy(model).cpu().float().eval())   # so that the model itself can be replaced
    if any(isinstance(m, (ShiftAttentionConv2d, ShiftedPointwise)) for m in holder.modules()):
        to_deployed_model(holder, form="conv")              # raises if a SAL layer is not hardened
    return holder[0].eval()


# In the single-layer set but not timed at inference: SAL's training form (a hardened SAL is deployed instead) and the
# plain copy (ONNX Runtime removes it: nothing to compare).
NOT_DEPLOYED = ("SAL (training)", "copy")


def deployed_layers(channels: int) -> dict[str, nn.Module]:
    """The single-layer set (``operators.single_layer_operators``) as deployed at inference, label → layer: SAL
    hardened and deployed ("SAL (deployed)"), without the entries of ``NOT_DEPLOYED``."""
    layers = {}
    for label, layer in single_layer_operators(channels).items():
        if label not in NOT_DEPLOYED:
            layers["SAL (deployed)" if label == "SAL (hardened)" else label] = deployed(layer)
    return layers


def exportable(model: nn.Module) -> nn.Module:
    """:func:`deployed` (``model``) with every shift written as :class:`PadSliceShift`, which ONNX can express;
    ``model`` is not changed."""
    holder = nn.Sequential(deployed(model))
    _replace_shifts(holder)
    return holder[0].eval()


def _replace_shifts(parent: nn.Module) -> None:
    for name, child in list(parent.named_children()):
        if isinstance(child, Shift2d):
            setattr(parent, name, PadSliceShift(child.groups, child.kernel_size))
        elif isinstance(child, ChannelShift):
            setattr(parent, name, PadSliceShift(child.groups, child.kernel_size, child.order))
        else:
            _replace_shifts(child)


def export_onnx(model: nn.Module, input_size: tuple[int, ...]) -> bytes:
    """The ONNX bytes of :func:`exportable` (``model``), any batch size (opset 17, TorchScript exporter)."""
    if (not isinstance(input_size, (tuple, list)) or len(input_size) != 4
            or not all(checks.is_int(s) and s >= 1 for s in input_size)):
        raise ValueError(f"input_size={input_size!r} must be 4 positive integers (N, C, H, W)")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # the exporter's notes on tracing Python checks (shapes fixed)
        torch.onnx.export(exportable(model), (torch.zeros(tuple(input_size)),), buffer, dynamo=False,
                          opset_version=17, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    return buffer.getvalue()


def ort_session(onnx_bytes: bytes, threads: int):
    """An ONNX Runtime session on the CPU with ``threads`` intra-op threads and every graph optimisation."""
    import onnxruntime as ort

    checks.positive_int("threads", threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning, so that they never take the cores from the eager PyTorch calls
    # timed in turns with this session.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Timing:
    """Milliseconds of one call: the median of the repeats and the spread (min and max, and the quartiles)."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    repeats: int

    def __str__(self) -> str:
        return f"{self.median:.3f} ms (IQR {self.q1:.3f}–{self.q3:.3f}, {self.repeats} repeats)"


def _timing(seconds: list[float]) -> Timing:
    ms = sorted(1e3 * s for s in seconds)
    # "inclusive": quartiles interpolated between the measured times, never outside them (the default,
    # "exclusive", extrapolates: with two repeats it can give a negative first quartile)
    q1, _, q3 = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else (ms[0], ms[0], ms[0])
    return Timing(statistics.median(ms), ms[0], ms[-1], q1, q3, len(ms))


def interleaved_times(calls: dict[str, Callable[[], object]], *, repeats: int = 20, warmup: int = 3,
                      inner_s: float = 0.05) -> dict[str, Timing]:
    """Time each call in turns: ``repeats`` rounds, each running every call for about ``inner_s`` seconds
    (a calibrated number of times) and recording the time per call. Interleaving shares any noise of the
    machine between the calls compared, instead of giving it all to whichever ran second."""
    if not isinstance(calls, dict) or not calls or not all(callable(c) for c in calls.values()):
        raise ValueError(f"calls={calls!r} must be a non-empty dict name -> function of no argument")
    checks.positive_int("repeats", repeats)
    checks.non_negative_int("warmup", warmup)
    checks.positive_number("inner_s", inner_s)
    loops = {}
    for name, call in calls.items():
        for _ in range(warmup):
            call()
        started = time.perf_counter()
        call()
        once = max(time.perf_counter() - started, 1e-6)
        loops[name] = max(1, round(inner_s / once))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(loops[name]):
                call()
            samples[name].append((time.perf_counter() - started) / loops[name])
    return {name: _timing(values) for name, values in samples.items()}


def runtime_calls(model: nn.Module, input_size: tuple[int, ...], *, threads: int) -> dict[str, Callable[[], object]]:
    """{"eager": ..., "onnxruntime": ...}: one forward pass of ``model`` on a random input of ``input_size``, in
    eager PyTorch (:func:`deployed`, no gradients) and in ONNX Runtime (:func:`export_onnx`, ``threads``
    intra-op threads). The caller sets torch's thread count (``torch.set_num_threads``) to match."""
    checks.positive_int("threads", threads)
    eager_model = deployed(model)
    session = ort_session(export_onnx(model, input_size), threads)
    x = torch.randn(tuple(input_size))
    feed = {"x": x.numpy()}

    def eager() -> object:
        with torch.no_grad():
            return eager_model(x)

    return {"eager": eager, "onnxruntime": lambda: session.run(None, feed)}


def eager_and_ort(model: nn.Module, input_size: tuple[int, ...], *, threads: int | None = None,
                  repeats: int = 20, inner_s: float = 0.05) -> dict[str, Timing]:
    """{"eager": ..., "onnxruntime": ...}: :func:`runtime_calls` timed in turns (:func:`interleaved_times`),
    both runtimes with ``threads`` threads (default: torch's current count)."""
    threads = torch.get_num_threads() if threads is None else checks.positive_int("threads", threads)
    calls = runtime_calls(model, input_size, threads=threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return interleaved_times(calls, repeats=repeats, inner_s=inner_s)
    finally:
        torch.set_num_threads(previous)


RESULTS_FILE = REPO_ROOT / "benchmarks" / "results" / "runtime_latency.json"


def load_runtime_results(path: str | Path = RESULTS_FILE) -> tuple[pd.DataFrame, dict]:
    """The committed comparison of ``benchmarks/runtime_latency.py``: one row per (set, name, batch, runtime) with
    the median and quartiles in ms, and the provenance (command, device, date, commit, threads, ...)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/runtime_latency.py` from the repository "
                                "root (about 3 minutes on a quiet machine) to measure it")
    try:
        result = json.loads(path.read_text())
        rows = [{"set": m["set"], "name": m["name"], "batch": m["batch"], "runtime": runtime,
                 "median_ms": t["median_ms"], "q1_ms": t["q1_ms"], "q3_ms": t["q3_ms"], "repeats": t["repeats"]}
                for m in result["measurements"] for runtime, t in m["runtimes"].items()]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a runtime_latency result ({error}): re-run "
                         "`python benchmarks/runtime_latency.py` to rewrite it") from error
    provenance = {k: v for k, v in result.items() if k != "measurements"}
    return pd.DataFrame(rows), provenance


def ranking_changes(table: pd.DataFrame, *, first: str = "eager", second: str = "onnxruntime") -> pd.DataFrame:
    """The pairs of entries of ``table`` (rows of one set and one batch, from :func:`load_runtime_results`) whose order
    in time differs between two runtimes: a faster than b in ``first``, b faster than a in ``second``. ``clear`` is
    True where, in both runtimes, the quartile ranges [q1, q3] of the two do not overlap (the spreads separate
    them); otherwise the flip is within the spread."""
    required = {"name", "runtime", "median_ms", "q1_ms", "q3_ms"}
    if not isinstance(table, pd.DataFrame) or not required <= set(table.columns):
        raise ValueError(f"table must be a DataFrame with the columns {sorted(required)} (load_runtime_results)")
    by = {runtime: table[table["runtime"] == runtime].set_index("name") for runtime in (first, second)}
    for runtime, rows in by.items():
        if rows.empty or not rows.index.is_unique:
            raise ValueError(f"runtime={runtime!r} must have one row per name in table (select one set and batch)")
    names = [n for n in by[first].index if n in by[second].index]
    changes = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            faster_first = by[first].at[a, "median_ms"] < by[first].at[b, "median_ms"]
            faster_second = by[second].at[a, "median_ms"] < by[second].at[b, "median_ms"]
            if faster_first == faster_second:
                continue
            fast, slow = (a, b) if faster_first else (b, a)

            def separated(rows: pd.DataFrame) -> bool:
                return bool(rows.at[fast, "q3_ms"] < rows.at[slow, "q1_ms"]
                            or rows.at[slow, "q3_ms"] < rows.at[fast, "q1_ms"])

            changes.append({f"faster in {first}": fast, f"faster in {second}": slow,
                            f"{first} ms": (by[first].at[fast, "median_ms"], by[first].at[slow, "median_ms"]),
                            f"{second} ms": (by[second].at[fast, "median_ms"], by[second].at[slow, "median_ms"]),
                            "clear": separated(by[first]) and separated(by[second])})
    return pd.DataFrame(changes)


__all__ = ["PadSliceShift", "deployed", "NOT_DEPLOYED", "deployed_layers", "exportable", "runtime_calls", "export_onnx", "ort_session", "Timing",
           "interleaved_times", "eager_and_ort", "RESULTS_FILE", "load_runtime_results", "ranking_changes"]
