"""course_utils.runtime: every network the course times in ONNX Runtime computes what it computes in eager
PyTorch (within 1e-4), the exportable shift is the shift, and the interleaved timer times every call."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import LAB, Shift2d, harden, lab_model, single_layer_operators
from course_utils.layers.shift import shift_groups
from course_utils.runtime import (RESULTS_FILE, PadSliceShift, Timing, eager_and_ort, export_onnx, exportable,
                                  interleaved_times, load_runtime_results, ort_session, ranking_changes)

TOLERANCE = 1e-4


def _ort_error(model: torch.nn.Module, input_size: tuple[int, ...], batch: int = 3) -> float:
    session = ort_session(export_onnx(model, input_size), threads=1)
    x = torch.randn(batch, *input_size[1:])
    with torch.no_grad():
        expected = model.eval()(x).numpy()                 # the network itself, not its exported form
    return float(np.abs(session.run(None, {"x": x.numpy()})[0] - expected).max())


@pytest.mark.parametrize("variant, width", [(v, 0.5) for v in LAB] + [("standard", 1.0)])
def test_onnx_runtime_equals_eager_on_every_lab_network(variant, width):
    torch.manual_seed(0)
    model = lab_model(variant, width).eval()
    if variant == "sal":
        harden(model)                                    # SAL is exported as deployed
    assert _ort_error(model, (1, 3, 32, 32)) <= TOLERANCE


def test_onnx_runtime_equals_eager_on_every_single_layer_operator():
    torch.manual_seed(0)
    for name, layer in single_layer_operators(64).items():
        layer = layer.eval()
        if name.startswith("SAL") and "hardened" not in name:
            harden(layer)
        assert _ort_error(layer, (1, 64, 16, 16)) <= TOLERANCE, name


def test_the_exported_network_is_the_eager_one_not_a_retrained_copy():
    model = lab_model("shift", 0.5).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(exportable(model)(x), model(x))      # pad-and-slice moves the same values
    assert any(isinstance(m, Shift2d) for m in model.modules())   # the original keeps its shift


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 20), k=st.sampled_from([1, 3, 5]), h=st.integers(1, 7), w=st.integers(1, 7),
       seed=st.integers(0, 999))
def test_pad_and_slice_is_the_shift_bit_for_bit(c, k, h, w, seed):
    shift = Shift2d(c, k)
    x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(PadSliceShift(shift_groups(c, k), k)(x), shift(x))


def test_a_sal_network_must_be_hardened_to_be_exported():
    with pytest.raises(ValueError, match="not hardened"):
        exportable(lab_model("sal", 0.25))


def test_interleaved_times_time_every_call_in_turns():
    calls = []
    timings = interleaved_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=4,
                                warmup=1, inner_s=0.001)
    assert set(timings) == {"a", "b"} and all(isinstance(t, Timing) and t.repeats == 4 for t in timings.values())
    assert all(t.low <= t.q1 <= t.median <= t.q3 <= t.high for t in timings.values())
    first_b = calls.index("b")
    assert "a" in calls[first_b:]                                  # a ran again after b: in turns
    both = eager_and_ort(lab_model("depthwise_separable", 0.5), (1, 3, 32, 32), threads=1, repeats=2,
                         inner_s=0.001)
    assert set(both) == {"eager", "onnxruntime"}
    for runtime in both.values():                                  # two repeats: quartiles between the times
        assert runtime.low <= runtime.q1 <= runtime.median <= runtime.q3 <= runtime.high


@pytest.mark.parametrize("call, match", [
    (lambda: export_onnx(lab_model("fire", 0.5), (3, 32, 32)), r"input_size=\(3, 32, 32\) must be 4 positive"),
    (lambda: ort_session(b"", threads=0), "threads=0 must be a positive integer"),
    (lambda: interleaved_times({}), "calls=.* must be a non-empty dict"),
    (lambda: exportable("net"), "model=str must be a torch.nn.Module"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _row(name: str, runtime: str, median: float, half_spread: float) -> dict:
    return {"name": name, "runtime": runtime, "median_ms": median, "q1_ms": median - half_spread,
            "q3_ms": median + half_spread}


def test_ranking_changes_finds_flips_and_says_whether_the_spreads_separate_them():
    table = pd.DataFrame([
        _row("a", "eager", 1.0, 0.05), _row("b", "eager", 2.0, 0.05), _row("c", "eager", 3.0, 0.05),
        _row("a", "onnxruntime", 2.0, 0.05), _row("b", "onnxruntime", 1.0, 0.05),   # a, b: clear flip
        _row("c", "onnxruntime", 1.9, 0.2)])              # a, c: a flip inside c's spread; b, c: no flip
    changes = ranking_changes(table)
    flips = {(row["faster in eager"], row["faster in onnxruntime"]): row["clear"] for _, row in changes.iterrows()}
    assert flips == {("a", "b"): True, ("a", "c"): False}


def test_the_committed_comparison_covers_every_entry_in_both_runtimes():
    table, provenance = load_runtime_results()
    assert {"command", "device", "date", "commit", "threads"} <= set(provenance)
    for (set_name, batch), rows in table.groupby(["set", "batch"]):
        assert {"eager", "onnxruntime"} <= set(rows["runtime"]), (set_name, batch)
        assert (rows["repeats"] >= 20).all() and (rows["q1_ms"] <= rows["median_ms"]).all()
    assert set(table["batch"]) == {1, 32} and set(table["set"]) == {"layers", "networks", "folding"}
    points = {f"{v} ×{w:g}" for v in LAB for w in LAB[v].widths}
    assert set(table.loc[table["set"] == "networks", "name"]) == points          # every point of the lab
    folded = table[table["set"] == "folding"]
    assert {"eager, BatchNorm folded", "onnxruntime, BatchNorm folded"} <= set(folded["runtime"])


@pytest.mark.parametrize("content, match", [(None, "is missing: run `python benchmarks/runtime_latency.py`"),
                                            ("{}", "is not a runtime_latency result")])
def test_a_missing_or_foreign_results_file_says_how_to_remake_it(tmp_path, content, match):
    path = tmp_path / "runtime_latency.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises((FileNotFoundError, ValueError), match=match):
        load_runtime_results(path)
    assert RESULTS_FILE.name == "runtime_latency.json"
