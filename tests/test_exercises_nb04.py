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


# --- exercise 1: predict the shape of the curve, then measure -------------------------------------
MACS = {nb04.STANDARD: 9_437_184, nb04.SEPARABLE: 1_196_032}      # C=64, 16×16 blocks (ratio 7.9)


def write_sweep(path: Path, ms: dict[tuple[str, int], float | tuple[float, float, float]]) -> Path:
    """A sweep file with the given times: a median (an older file, no spread) or (q1, median, q3)."""
    rows = []
    for (op, b), t in ms.items():
        q1, median, q3 = t if isinstance(t, tuple) else (None, t, None)
        row = {"operator": op, "batch": b, "ms": median, "macs": MACS[op] * b}
        if q1 is not None:
            row |= {"q1_ms": q1, "q3_ms": q3, "repeats": 20}
        rows.append(row)
    path.write_text(json.dumps({"measurements": rows}))
    return path


def spread(median: float, width: float = 0.05) -> tuple[float, float, float]:
    return median * (1 - width), median, median * (1 + width)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Separable block slower at batch 1 (0.6×), faster at 4 (1.5×) and 16 (2.5×), 64 too close to call
    (quartile ranges overlap), faster at 256 (1.4×). Steps: grows, grows, shrinks, unclear."""
    standard = {1: 0.6, 4: 1.5, 16: 10.0, 64: 40.0, 256: 140.0}
    separable = {1: 1.0, 4: 1.0, 16: 4.0, 64: 38.0, 256: 100.0}
    times = {}
    for b in standard:
        times[(nb04.STANDARD, b)] = spread(standard[b])
        times[(nb04.SEPARABLE, b)] = spread(separable[b], 0.2 if b == 64 else 0.05)
    return write_sweep(tmp_path / "sweep.json", times)


RIGHT_SHAPE = {1: 0.7, 4: 1.6, 16: 3.0, 64: 1.0, 256: 1.2}


def test_sweep_shape_reads_sides_and_steps_from_the_quartiles(sweep):
    shape = nb04.sweep_shape(batch_sweep(sweep))
    assert shape.sides == {1: "slower", 4: "faster", 16: "faster", 64: "unclear", 256: "faster"}
    assert shape.steps == {(1, 4): "grows", (4, 16): "grows", (16, 64): "shrinks", (64, 256): "unclear"}
    assert shape.clear == 7 and shape.guess_chance == pytest.approx(1 / 128)


def test_exercise_1_accepts_the_measured_shape_whatever_the_unclear_points(sweep):
    assert check_exercise_1(RIGHT_SHAPE, sweep_path=sweep).passed
    assert check_exercise_1(RIGHT_SHAPE | {64: 0.8, 256: 3.0}, sweep_path=sweep).passed    # 64: unclear
    assert check_exercise_1(list(RIGHT_SHAPE.values()), sweep_path=sweep).passed          # in batch order
    verdict = check_exercise_1(RIGHT_SHAPE, sweep_path=sweep)
    assert "1 time in 128" in verdict.message and "at batch 64 the two blocks' times overlap" in verdict.message


def test_exercise_1_the_lecturers_guesses_fail(sweep):
    """A flat guess, the two-number answer of the old exercise and the MAC ratio all fail."""
    assert not check_exercise_1([1.5] * 5, sweep_path=sweep).passed
    assert "one speed-up per batch" in check_exercise_1((1.5, 1.5), sweep_path=sweep).message
    mac_ratio = check_exercise_1([7.9] * 5, sweep_path=sweep)
    assert not mac_ratio.passed and "MAC ratio" in mac_ratio.message


def test_a_random_curve_rarely_passes(sweep):
    """Over many random curves, the share that passes is the computed guess chance (≤ 10 %)."""
    generator = torch.Generator().manual_seed(0)
    curves = torch.exp(torch.randn(400, 5, generator=generator))
    passed = sum(check_exercise_1(c.tolist(), sweep_path=sweep).passed for c in curves)
    assert passed / len(curves) <= 0.10


def test_exercise_1_hints_name_the_point_that_differs(sweep):
    batch_1 = check_exercise_1(RIGHT_SHAPE | {1: 1.2}, sweep_path=sweep)
    assert not batch_1.passed and "batch 1" in batch_1.message and "six calls" in batch_1.message
    assert "1.2" not in batch_1.message.split("Not yet:")[0]
    faster = check_exercise_1(RIGHT_SHAPE | {16: 0.9, 64: 0.95, 256: 0.9}, sweep_path=sweep)
    assert not faster.passed and "batch 16" in faster.message and "fewer MACs" in faster.message
    falls = check_exercise_1(RIGHT_SHAPE | {4: 3.5}, sweep_path=sweep)       # 4 → 16 does not grow
    assert not falls.passed and "from batch 4 to batch 16" in falls.message and "does not grow" in falls.message
    rises = check_exercise_1(RIGHT_SHAPE | {64: 3.5}, sweep_path=sweep)       # 16 → 64 does not shrink
    assert not rises.passed and "does not shrink" in rises.message
    assert "replace None" in check_exercise_1(None, sweep_path=sweep).message
    assert "positive number" in check_exercise_1(RIGHT_SHAPE | {4: -1}, sweep_path=sweep).message
    assert "missing: [256]" in check_exercise_1({1: 1, 4: 1, 16: 1, 64: 1}, sweep_path=sweep).message


def test_exercise_1_reads_an_older_sweep_without_quartiles(tmp_path):
    """Medians only: every point is then clear (no spread to overlap)."""
    old = write_sweep(tmp_path / "old.json", {(nb04.STANDARD, 1): 0.8, (nb04.SEPARABLE, 1): 1.0,
                                              (nb04.STANDARD, 256): 400.0, (nb04.SEPARABLE, 256): 200.0})
    assert check_exercise_1({1: 0.8, 256: 2.0}, sweep_path=old).passed
    assert not check_exercise_1({1: 1.5, 256: 2.0}, sweep_path=old).passed
    assert nb04.speedup_range(batch_sweep(old), 256) == (2.0, 2.0, 2.0)


def test_exercise_1_missing_or_incomplete_sweep_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="latency_batch_sweep.py"):
        batch_sweep(tmp_path / "absent.json")
    partial = write_sweep(tmp_path / "partial.json", {(nb04.STANDARD, 1): 1.0, (nb04.SEPARABLE, 1): 1.0})
    with pytest.raises(ValueError, match="needs 1 and 256"):
        batch_sweep(partial)
    disordered = write_sweep(tmp_path / "disordered.json", {(nb04.STANDARD, 1): (2.0, 1.0, 3.0),
                                                            (nb04.SEPARABLE, 1): 1.0})
    with pytest.raises(ValueError, match="q1_ms ≤ ms ≤ q3_ms"):
        batch_sweep(disordered)


def test_the_committed_sweep_is_readable_has_provenance_and_cannot_be_guessed():
    result = batch_sweep()
    assert {"command", "device", "date", "commit"} <= set(result)
    assert nb04.measured_speedup(result, 1) > 0 and nb04.mac_ratio(result) == pytest.approx(7.89, abs=0.01)
    assert nb04.sweep_shape(result).guess_chance <= 0.10, "too noisy to grade: re-run the sweep on a quiet machine"


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


def test_exercise_5_the_three_layers_macs():
    verdict = check_exercise_5((9 * 1 * 32, 9 * 16 * 32, 9 * 2 * 32))      # k·l·(C/G)·D·C, C=16, D=2
    assert verdict.passed and "is (b), groups=1" in verdict.message
    assert check_exercise_5([288, 4608, 576]).passed
    assert "slide's count" in check_exercise_5((4608, 4608, 4608)).message
    assert "layer (a)'s count" in check_exercise_5((288, 4608, 288)).message
    assert "divided by G twice" in check_exercise_5((18, 4608, 576)).message
    for guess in ("a", "b", "c", None, (288, 4608)):
        assert not check_exercise_5(guess).passed


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


def test_exercise_4_tells_relu_from_relu6():
    """The lecturer's ReLU6 block passed: the random activations never exceeded 6."""
    class ReLU6Block(block_with()):
        def forward(self, x):
            x = nn.functional.relu6(self.bn1(self.depthwise(x)))
            return nn.functional.relu6(self.bn2(self.pointwise(x)))

    verdict = check_exercise_4(ReLU6Block)
    assert not verdict.passed and "ReLU6 where the block has a ReLU" in verdict.message


def test_exercise_4_accepts_a_block_written_another_way():
    class AsSequential(nn.Sequential):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__(
                nn.Conv2d(in_channels, in_channels, kernel_size, padding=kernel_size // 2, groups=in_channels,
                          bias=False), nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
                nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())

    class LazyReordered(nn.Module):
        """Lazy layers (only the depthwise one needs its in_channels), the BatchNorms registered first."""

        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            self.bn2, self.bn1 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
            self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, padding=kernel_size // 2,
                                       groups=in_channels, bias=False)
            self.pointwise = nn.LazyConv2d(out_channels, 1, bias=False)

        def forward(self, x):
            return torch.relu(self.bn2(self.pointwise(torch.relu(self.bn1(self.depthwise(x))))))

    for block_class in (AsSequential, LazyReordered):
        verdict = check_exercise_4(block_class)
        assert verdict.passed, (block_class.__name__, verdict)


def test_exercise_4_hints_instead_of_tracebacks():
    class NoReturn(block_with()):
        def forward(self, x):
            torch.relu(self.bn2(self.pointwise(torch.relu(self.bn1(self.depthwise(x))))))

    class PairOut(block_with()):
        def forward(self, x):
            return torch.relu(self.bn2(self.pointwise(torch.relu(self.bn1(self.depthwise(x)))))), x

    class PlainList(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            self.stages = [nn.Sequential(nn.Conv2d(in_channels, in_channels, kernel_size, padding=1,
                                                   groups=in_channels, bias=False), nn.BatchNorm2d(in_channels)),
                           nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                         nn.BatchNorm2d(out_channels))]

        def forward(self, x):
            for stage in self.stages:
                x = torch.relu(stage(x))
            return x

    for answer, hint in ((NoReturn, "forget the `return`"), (PairOut, "returns a tuple of 2"),
                         (PlainList, "nn.ModuleList")):
        verdict = check_exercise_4(answer)
        assert not verdict.passed and hint in verdict.message, (answer, verdict)


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
    for answer in ("answer_grouped", "answer_ratio", "answer_layer_macs", "answer_speedups"):
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
    module.main(["--channels", "8", "--size", "4", "--batches", "1", "256", "--repeats", "4",
                 "--min-run-time", "0.01", "--threads", "1", "--output", str(output)])
    result = batch_sweep(output)
    assert {"command", "device", "date", "commit", "torch", "repeats"} <= set(result)
    assert nb04.measured_speedup(result, 256) > 0
    entry = result["measurements"][0]
    assert entry["q1_ms"] <= entry["ms"] <= entry["q3_ms"] and entry["repeats"] == 4
    assert set(nb04.sweep_shape(result).sides) == {1, 256}
    for bad in (["--batches", "0"], ["--repeats", "2"]):
        with pytest.raises(SystemExit):
            module.main(bad)


# ---------------------------------------------------------------------------------------------
# Exercise 6: which inputs reach output j of two grouped 1×1 layers, without and with the shuffle
# ---------------------------------------------------------------------------------------------
def test_exercise_6_right_answer_in_any_container_passes():
    from course_utils.exercises.nb04 import check_exercise_6

    assert check_exercise_6(([4, 5], [8, 9, 10, 11])).passed
    assert check_exercise_6(({5, 4}, (11, 10, 9, 8))).passed


@pytest.mark.parametrize("answer, words", [
    (None, "Not yet"),
    ("4, 5", "two lists of map numbers"),
    (([4, 5],), "two lists of map numbers"),
    (([0, 1], [8, 9, 10, 11]), "without the shuffle"),
    (([4, 5], [4, 5]), "follow the permutation"),
    (([4, 5], list(range(16))), "middle position p holds"),
    (([4, 5], [8, 9]), "middle position p holds"),
])
def test_exercise_6_mistakes_get_their_hint(answer, words):
    from course_utils.exercises.nb04 import check_exercise_6

    verdict = check_exercise_6(answer)
    assert not verdict.passed and words in verdict.message


def test_exercise_6_answer_is_what_torch_measures():
    from torch import nn

    from course_utils.connectivity import measured_connectivity
    from course_utils.exercises.nb04 import SHUFFLE_EXERCISE, check_exercise_6
    from course_utils.layers import ChannelShuffle

    c, g, j = SHUFFLE_EXERCISE["channels"], SHUFFLE_EXERCISE["groups"], SHUFFLE_EXERCISE["output"]
    reach = []
    for middle in ([], [ChannelShuffle(g)]):
        layers = nn.Sequential(nn.Conv2d(c, c, 1, groups=g), *middle, nn.Conv2d(c, c, 1, groups=g))
        reach.append(measured_connectivity(layers)[j].nonzero()[0].tolist())
    assert check_exercise_6(tuple(reach)).passed
