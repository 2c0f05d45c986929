"""Notebook 04's graders: the right answers pass, the typical mistakes get their own hint, and the
notebook never executes a solution."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.exercises import nb04
from course_utils.exercises.nb04 import (batch_sweep, check_exercise_1, check_exercise_2,
                                         check_exercise_3, check_exercise_5, check_exercise_4)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_depthwise_grouped.ipynb"


# --- exercise 1: predict, then measure -------------------------------------------------------
def write_sweep(path: Path, ms: dict[tuple[str, int], float]) -> Path:
    """A sweep file with the given times; MACs of C=64, 16×16 blocks (ratio 7.9)."""
    macs = {nb04.STANDARD: 9_437_184, nb04.SEPARABLE: 1_196_032}
    path.write_text(json.dumps({"measurements": [
        {"operator": op, "batch": b, "ms": t, "macs": macs[op] * b} for (op, b), t in ms.items()]}))
    return path


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    # standard / separable: 0.8× at batch 1, 2.0× at batch 256
    return write_sweep(tmp_path / "sweep.json", {
        (nb04.STANDARD, 1): 0.8, (nb04.SEPARABLE, 1): 1.0,
        (nb04.STANDARD, 256): 400.0, (nb04.SEPARABLE, 256): 200.0})


def test_exercise_1_accepts_predictions_within_the_band(sweep):
    assert check_exercise_1(0.8, 2.0, sweep_path=sweep).passed
    assert check_exercise_1(1.0, 1.5, sweep_path=sweep).passed      # within a factor 1.5
    assert "0.80× at batch 1" in check_exercise_1(0.8, 2.0, sweep_path=sweep).message


def test_exercise_1_hints(sweep):
    mac_ratio = check_exercise_1(7.9, 7.9, sweep_path=sweep)
    assert not mac_ratio.passed and "MAC ratio" in mac_ratio.message and "batch 1" in mac_ratio.message
    optimistic = check_exercise_1(3.0, 2.0, sweep_path=sweep)
    assert not optimistic.passed and "six operators" in optimistic.message
    big_batch = check_exercise_1(0.8, 4.0, sweep_path=sweep)
    assert not big_batch.passed and "caches" in big_batch.message
    pessimistic = check_exercise_1(0.8, 0.5, sweep_path=sweep)
    assert not pessimistic.passed and "too pessimistic" in pessimistic.message
    assert "replace both None" in check_exercise_1(None, None, sweep_path=sweep).message
    assert "positive number" in check_exercise_1(-1, 2.0, sweep_path=sweep).message


def test_exercise_1_missing_or_incomplete_sweep_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="latency_batch_sweep.py"):
        batch_sweep(tmp_path / "absent.json")
    partial = write_sweep(tmp_path / "partial.json", {(nb04.STANDARD, 1): 1.0, (nb04.SEPARABLE, 1): 1.0})
    with pytest.raises(ValueError, match="needs 1 and 256"):
        batch_sweep(partial)


def test_the_committed_sweep_is_readable_and_has_provenance():
    result = batch_sweep()
    assert {"command", "device", "date", "commit"} <= set(result)
    assert nb04.measured_speedup(result, 1) > 0 and nb04.mac_ratio(result) == pytest.approx(7.89, abs=0.01)


# --- exercises 2, 3, 5 ---------------------------------------------------------------------------
def test_exercise_2_grouped_macs():
    assert check_exercise_2(3 * 3 * 128 * 256 // 4).passed
    assert "standard convolution" in check_exercise_2(3 * 3 * 128 * 256).message
    assert "divided by G twice" in check_exercise_2(3 * 3 * 128 * 256 // 16).message
    assert not check_exercise_2(None)


def test_exercise_3_separable_ratio():
    assert check_exercise_3(1 / 100 + 1 / 25).passed
    assert check_exercise_3(0.05).passed
    assert "depthwise part alone" in check_exercise_3(1 / 25).message
    assert "5×5" in check_exercise_3(1 / 100 + 1 / 9).message
    assert "how many times cheaper" in check_exercise_3(20.0).message


def test_exercise_5_slide_layer():
    assert check_exercise_5("b").passed
    assert "C times less" in check_exercise_5("a").message
    assert "D²" in check_exercise_5("c").message


# --- exercise 4: build a depthwise-separable block -------------------------------------------
def block_with(*, groups_one=False, bn_between=True, relu_between=True, pointwise_first=False,
               bias=False):
    """A student's block class with one typical mistake."""

    class StudentBlock(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            c_dw = out_channels if pointwise_first else in_channels
            self.depthwise = nn.Conv2d(c_dw, c_dw, kernel_size, padding=kernel_size // 2,
                                       groups=1 if groups_one else c_dw, bias=bias)
            self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
            self.bn1 = nn.BatchNorm2d(c_dw) if bn_between else nn.Identity()
            self.bn2 = nn.BatchNorm2d(out_channels)

        def forward(self, x):
            if pointwise_first:
                return torch.relu(self.bn1(self.depthwise(torch.relu(self.bn2(self.pointwise(x))))))
            x = self.bn1(self.depthwise(x))
            x = torch.relu(x) if relu_between else x
            return torch.relu(self.bn2(self.pointwise(x)))

    return StudentBlock


def test_exercise_4_accepts_a_correct_block():
    assert check_exercise_4(block_with()).passed, check_exercise_4(block_with())


def test_exercise_4_names_the_typical_mistakes():
    groups = check_exercise_4(block_with(groups_one=True))
    assert not groups.passed and "groups=1" in groups.message
    no_bn = check_exercise_4(block_with(bn_between=False))
    assert not no_bn.passed and "two BatchNorms" in no_bn.message
    no_relu = check_exercise_4(block_with(relu_between=False))
    assert not no_relu.passed and "ReLU between" in no_relu.message
    order = check_exercise_4(block_with(pointwise_first=True))
    assert not order.passed and "pointwise 1×1 comes before" in order.message
    biased = check_exercise_4(block_with(bias=True))
    assert not biased.passed and "bias=False" in biased.message


def test_exercise_4_skeleton_and_bad_answers():
    class Skeleton(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            raise NotImplementedError

    assert "NotImplementedError" in check_exercise_4(Skeleton).message
    assert not check_exercise_4(None)
    assert "the class itself" in check_exercise_4(nn.Conv2d(8, 16, 3)).message


# --- the notebook holds no executed solution -------------------------------------------------
def test_notebook_executes_no_solution():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    calls = re.findall(r"check_exercise_\d+\(([^()]*)\)", code)
    assert len(calls) >= 5
    for arguments in calls:
        for argument in arguments.split(","):
            assert argument.strip().isidentifier(), f"a checker is called with {arguments!r}"
    for answer in ("answer_grouped", "answer_ratio", "answer_layer",
                   "speedup_batch_1", "speedup_batch_256"):
        assert re.search(rf"^{answer} = None", code, re.M), answer
    assert "def check_exercise" not in code
    assert re.search(r"class MyDepthwiseSeparable\(nn.Module\):[\s\S]*raise NotImplementedError", code)
    solutions = [c for c in cells if c["cell_type"] == "markdown" and "Solution" in "".join(c["source"])]
    assert len(solutions) >= 4 and all("<details>" in "".join(c["source"]) for c in solutions)


# --- the benchmark writes what the grader reads ----------------------------------------------
def test_the_sweep_script_writes_a_file_the_grader_reads(tmp_path):
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "latency_batch_sweep.py"
    spec = importlib.util.spec_from_file_location("latency_batch_sweep", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output = tmp_path / "sweep.json"
    module.main(["--channels", "8", "--size", "4", "--batches", "1", "256",
                 "--min-run-time", "0.01", "--output", str(output)])
    result = batch_sweep(output)
    assert {"command", "device", "date", "commit", "torch"} <= set(result)
    assert nb04.measured_speedup(result, 256) > 0
    with pytest.raises(SystemExit):
        module.main(["--batches", "0"])
