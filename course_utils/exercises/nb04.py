"""Graders for notebook 04, *Depthwise and grouped convolutions*.

- Exercise 1: predict, then measure — the curve of the speed-up of a depthwise-separable block over a
  standard 3×3 block against the batch size, graded on its shape (faster or slower at each batch,
  growing or shrinking between batches) where the measured batch sweep is clear: medians with their
  quartiles (``benchmarks/results/latency_batch_sweep.json``, made by
  ``benchmarks/latency_batch_sweep.py``).
- Exercise 2: the MACs per position of a grouped convolution (a value).
- Exercise 3: the MAC ratio of a 5×5 depthwise-separable block to a 5×5 convolution (a value).
- Exercise 4: build it — the student writes ``MyDepthwiseSeparable(in_channels, out_channels,
  kernel_size)``, graded against :class:`course_utils.layers.DepthwiseSeparableConv2d`.
- Exercise 5 (in *Going further*): the MACs of three layers C → D·C; the one the slide's formula
  counts follows (three values).
- Exercise 6 (in *Going further*): which input maps reach one output of two stacked grouped 1×1 layers,
  without and with a channel shuffle between them (two sets of maps).

The expected answers are computed here, never written in the notebook;
``tests/test_exercises_nb04.py`` checks the right answers and the typical mistakes.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import torch
from torch import nn

from ..connectivity import stacked_connectivity
from ..cost import conv2d_cost, depthwise_separable_cost
from ..grading import NOT_YET, Verdict, check_block, check_value, prepared_student_block
from ..layers import DepthwiseSeparableConv2d

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SWEEP_FILE = REPO_ROOT / "benchmarks" / "results" / "latency_batch_sweep.json"
STANDARD, SEPARABLE = "standard 3×3 block", "depthwise-separable block"


# ---------------------------------------------------------------------------------------------
# Exercise 1: predict the shape of the speed-up curve, then measure
# ---------------------------------------------------------------------------------------------
def batch_sweep(path: str | Path = SWEEP_FILE) -> dict:
    """The batch-size sweep written by ``benchmarks/latency_batch_sweep.py`` (provenance included).

    ``result["measurements"]`` holds one entry per (operator, batch): ``ms`` (median forward time),
    ``q1_ms`` and ``q3_ms`` (its quartiles over interleaved repeats; absent from older files),
    ``macs`` (of the whole batch) and ``torch_operators`` (operators its forward dispatches).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/latency_batch_sweep.py` "
                                f"from the repository root to measure it (a few minutes).")
    try:
        result = json.loads(path.read_text())
        batches = {m["batch"] for m in result["measurements"] if m["operator"] in (STANDARD, SEPARABLE)}
        for m in result["measurements"]:
            if not m["ms"] > 0 or not m.get("q1_ms", m["ms"]) <= m["ms"] <= m.get("q3_ms", m["ms"]):
                raise ValueError(f"{m['operator']} at batch {m['batch']}: need 0 < q1_ms ≤ ms ≤ q3_ms")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a batch-sweep result ({error}): re-run "
                         f"`python benchmarks/latency_batch_sweep.py` to rewrite it.") from error
    if not {1, 256} <= batches:
        raise ValueError(f"{path} has batches {sorted(batches)}, but needs 1 and 256: re-run "
                         f"`python benchmarks/latency_batch_sweep.py` with its default batches.")
    return result


def sweep_batches(sweep: dict) -> list[int]:
    """The batch sizes at which both blocks were timed, in increasing order."""
    timed = [{m["batch"] for m in sweep["measurements"] if m["operator"] == name} for name in (STANDARD, SEPARABLE)]
    return sorted(timed[0] & timed[1])


def _times(sweep: dict, operator: str, batch: int) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) of one operator's time at ``batch``, in ms; an older
    file without quartiles gives the median three times."""
    m = next(m for m in sweep["measurements"] if m["operator"] == operator and m["batch"] == batch)
    return m.get("q1_ms", m["ms"]), m["ms"], m.get("q3_ms", m["ms"])


def measured_speedup(sweep: dict, batch: int) -> float:
    """Median time of the standard block / median time of the depthwise-separable block at ``batch``."""
    return _times(sweep, STANDARD, batch)[1] / _times(sweep, SEPARABLE, batch)[1]


def speedup_range(sweep: dict, batch: int) -> tuple[float, float, float]:
    """(low, median, high) speed-up at ``batch``: the medians' ratio, and the ratios of the quartiles
    that lie furthest apart (standard's Q1 / separable's Q3, standard's Q3 / separable's Q1)."""
    s_q1, s_ms, s_q3 = _times(sweep, STANDARD, batch)
    d_q1, d_ms, d_q3 = _times(sweep, SEPARABLE, batch)
    return s_q1 / d_q3, s_ms / d_ms, s_q3 / d_q1


def mac_ratio(sweep: dict) -> float:
    """MACs of the standard block / MACs of the depthwise-separable block (any batch)."""
    macs = {m["operator"]: m["macs"] for m in sweep["measurements"] if m["batch"] == 1}
    return macs[STANDARD] / macs[SEPARABLE]


@dataclass(frozen=True)
class SweepShape:
    """What a sweep says clearly about the speed-up curve, and what it cannot tell.

    ``sides[batch]``: "faster" (the separable block: every quartile ratio above 1), "slower" (all
    below 1) or "unclear" (the two blocks' quartile ranges overlap). ``steps[(batch, next batch)]``:
    "grows", "shrinks" or "unclear" (the two batches' speed-up ranges overlap). ``ranges[batch]``:
    (low, median, high) speed-up."""

    sides: dict[int, str]
    steps: dict[tuple[int, int], str]
    ranges: dict[int, tuple[float, float, float]]

    @property
    def clear(self) -> int:
        """How many sides and steps the sweep tells apart."""
        return sum(v != "unclear" for v in (*self.sides.values(), *self.steps.values()))

    @property
    def guess_chance(self) -> float:
        """The chance that a curve drawn at random (a coin for each side and each step) passes."""
        return 0.5 ** self.clear


def sweep_shape(sweep: dict) -> SweepShape:
    """The sides of 1 and the steps of the measured speed-up curve, read from medians and quartiles."""
    batches = sweep_batches(sweep)
    ranges = {b: speedup_range(sweep, b) for b in batches}
    sides = {b: "faster" if low > 1 else "slower" if high < 1 else "unclear"
             for b, (low, _, high) in ranges.items()}
    steps = {(a, b): "grows" if ranges[b][0] > ranges[a][2] else
                     "shrinks" if ranges[b][2] < ranges[a][0] else "unclear"
             for a, b in zip(batches, batches[1:])}
    return SweepShape(sides, steps, ranges)


def _predicted_curve(answer: object, batches: list[int]) -> dict[int, float] | str:
    """The student's speed-up per batch ({batch: speed-up} or one number per batch, in order), or
    what is wrong with the answer."""
    listed = ", ".join(map(str, batches))
    if isinstance(answer, Mapping):
        missing = [b for b in batches if b not in answer]
        extra = [b for b in answer if b not in batches]
        if missing or extra:
            return (f"give one speed-up per batch of the sweep, {{{listed}}}"
                    + (f"; missing: {missing}" if missing else "") + (f"; not in the sweep: {extra}" if extra else "")
                    + ".")
        curve = {b: answer[b] for b in batches}
    elif isinstance(answer, (list, tuple)) and len(answer) == len(batches):
        curve = dict(zip(batches, answer))
    else:
        return (f"answer with one speed-up per batch of the sweep, e.g. "
                f"{{{', '.join(f'{b}: 2.0' for b in batches)}}} (batches {listed}).")
    for b, value in curve.items():
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            return f"a speed-up is a positive number (2.0: twice as fast, 0.5: twice as slow), not {value!r} at batch {b}."
    return {b: float(v) for b, v in curve.items()}


def _range_text(speedups: tuple[float, float, float]) -> str:
    low, median, high = speedups
    return f"{median:.2f}×" if low == high else f"{median:.2f}× ({low:.2f}–{high:.2f})"


def _side_hint(batch: int, measured: str, shape: SweepShape, first: int, macs: float) -> str:
    """Why the separable block is faster or slower at ``batch`` than the student predicted."""
    where = f"at batch {batch} the sweep measured the separable block {measured}, {_range_text(shape.ranges[batch])}"
    if measured == "faster":
        return (f"{where}: you predicted it no faster. It does {macs:.1f}× fewer MACs; once the fixed cost "
                f"per call is shared by enough work, part of that saving shows in time.")
    if batch == first:
        return (f"{where}: you predicted it no slower. With one 16×16 image each operator does very little "
                f"work and pays mostly a fixed cost per call — the separable block makes six calls, the "
                f"standard block three.")
    return (f"{where}: you predicted it no slower. Its depthwise kernel runs far below the machine's "
            f"arithmetic rate (few FLOPs per byte), so its fewer MACs need not make it faster.")


def _step_hint(step: tuple[int, int], measured: str, shape: SweepShape) -> str:
    """Why the speed-up grows or shrinks from one batch to the next, against the student's curve."""
    a, b = step
    where = (f"from batch {a} to batch {b} the measured speed-up {measured}, from "
             f"{_range_text(shape.ranges[a])} to {_range_text(shape.ranges[b])}")
    if measured == "grows":
        return (f"{where}: your curve does not grow. A larger batch shares each call's fixed cost among "
                f"more images, which helps the block with more calls most.")
    return (f"{where}: your curve does not shrink. Once the fixed costs are shared, each block runs at "
            f"its kernels' speed, and the depthwise kernel slows down far more than a copy of its maps.")


def check_exercise_1(speedups: object, *, sweep_path: str | Path = SWEEP_FILE) -> Verdict:
    """The predicted speed-up curve (standard time ÷ depthwise-separable time), one number per batch of
    the committed sweep, graded on its shape where the measurement is clear (:func:`sweep_shape`): on
    which side of 1 each point lies, and whether the curve grows or shrinks from one batch to the
    next. Where the quartile ranges overlap, any prediction passes."""
    sweep = batch_sweep(sweep_path)
    batches = sweep_batches(sweep)
    if speedups is None:
        return Verdict(False, f"❌ Not yet — replace None with your predicted speed-ups, one per batch "
                              f"{{{', '.join(f'{b}: ...' for b in batches)}}} (2.0: twice as fast, "
                              f"0.5: twice as slow).")
    curve = _predicted_curve(speedups, batches)
    if isinstance(curve, str):
        return Verdict(False, f"❌ Not yet — {curve}")
    shape, macs = sweep_shape(sweep), mac_ratio(sweep)
    wrong = [_side_hint(b, side, shape, batches[0], macs) for b, side in shape.sides.items()
             if side != "unclear" and (curve[b] > 1) != (side == "faster")]
    wrong += [_step_hint((a, b), step, shape) for (a, b), step in shape.steps.items()
              if step != "unclear" and (curve[b] > curve[a]) != (step == "grows")]
    if wrong and all(abs(math.log(p / macs)) <= math.log(1.25) for p in curve.values()):
        return Verdict(False, f"❌ Not yet: you predicted about the MAC ratio ({macs:.1f}×) everywhere. Time "
                              f"follows MACs only when every operator keeps the arithmetic units busy: is that "
                              f"true of a depthwise convolution (few FLOPs per byte), or of small operators at "
                              f"batch {batches[0]}?")
    if wrong:
        more = f" (and {len(wrong) - 1} more point(s) of your curve)" if len(wrong) > 1 else ""
        return Verdict(False, f"❌ Not yet: {wrong[0]}{more}")
    unclear = [str(b) for b, side in shape.sides.items() if side == "unclear"]
    overlap = ("" if not unclear else f"; at batch {unclear[0]} the two blocks' times overlap" if len(unclear) == 1
               else f"; at batches {', '.join(unclear[:-1])} and {unclear[-1]} the two blocks' times overlap")
    return Verdict(True, f"✅ Your curve has the measured shape wherever the sweep tells (faster or slower, "
                         f"growing or shrinking: {shape.clear} points; a random curve passes 1 time in "
                         f"{round(1 / shape.guess_chance)}){overlap}"
                         + ". Measured: " + ", ".join(f"{_range_text(shape.ranges[b])} at batch {b}" for b in batches)
                         + f", for {macs:.1f}× fewer MACs. The sweep below shows why.")


# ---------------------------------------------------------------------------------------------
# Exercises 2, 3 and 5: values
# ---------------------------------------------------------------------------------------------
GROUPED = {"k": 3, "c_in": 128, "c_out": 256, "groups": 4}
SEPARABLE_5X5 = {"k": 5, "c_in": 64, "c_out": 100}


def check_exercise_2(answer: object) -> Verdict:
    """MACs per output position of a grouped k×k conv = k·l·C_in·C_out / G."""
    k, c_in, c_out, g = GROUPED["k"], GROUPED["c_in"], GROUPED["c_out"], GROUPED["groups"]
    expected = conv2d_cost(k, k, c_in, c_out, groups=g).macs
    hints = {
        k * k * c_in * c_out: "that is the standard convolution: with G groups each output map "
                              "reads only C_in/G input maps.",
        k * k * c_in * c_out // (g * g): "you divided by G twice: each of the C_out outputs reads "
                                         "C_in/G inputs — one division by G.",
        c_in * c_out // g: "the kernel is 3×3: multiply by k·l = 9.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="k·l·C_in·C_out / G — each output map reads only C_in/G input maps.",
                       success=f"3·3·128·256 / 4 = {expected:,} MACs per position (torch agrees).")


def check_exercise_3(answer: object) -> Verdict:
    """MAC ratio of a depthwise-separable k×k block to a standard k×k conv = 1/C_out + 1/(k·l)."""
    k, c_in, c_out = SEPARABLE_5X5["k"], SEPARABLE_5X5["c_in"], SEPARABLE_5X5["c_out"]
    expected = (depthwise_separable_cost(k, k, c_in, c_out, batchnorm=False).macs
                / conv2d_cost(k, k, c_in, c_out).macs)
    hints = {1 / (k * k): "that is the depthwise part alone; the pointwise 1×1 adds 1/C_out.",
             1 / c_out: "that is the pointwise part alone; the depthwise k×k adds 1/(k·l).",
             1 / c_out + 1 / 9: "the kernel is 5×5: 1/(k·l) = 1/25.",
             1 / expected: "that is how many times cheaper it is; the question asks for the fraction."}
    return check_value(answer, expected, hints=hints, rel_tol=1e-3,
                       general_hint="(k·l·C_in + C_in·C_out) / (k·l·C_in·C_out) = 1/C_out + 1/(k·l).",
                       success=f"1/100 + 1/25 = {expected:.3f} of the MACs, whatever C_in is.")


# Exercise 5: the three layers C → D·C of the question, for C = 16, D = 2, a 3×3 kernel.
SLIDE_LAYERS = {"c": 16, "d": 2, "k": 3}


def slide_layer_groups() -> dict[str, int]:
    """The groups of the three layers of Exercise 5: (a) groups=C, (b) groups=1, (c) groups=C/D."""
    c, d = SLIDE_LAYERS["c"], SLIDE_LAYERS["d"]
    return {"a": c, "b": 1, "c": c // d}


def slide_layer_macs() -> dict[str, int]:
    """MACs per output position of the three layers of Exercise 5, each C → D·C with a k×k kernel."""
    c, d, k = SLIDE_LAYERS["c"], SLIDE_LAYERS["d"], SLIDE_LAYERS["k"]
    return {key: conv2d_cost(k, k, c, d * c, groups=g).macs for key, g in slide_layer_groups().items()}


def check_exercise_5(answer: object) -> Verdict:
    """``answer = (macs_a, macs_b, macs_c)``: the MACs per position of the three layers, k·l·(C/G)·D·C;
    the one equal to the slide's k·l·C·D·C is the layer the slide counts, (b)."""
    if answer is None:
        return Verdict(False, NOT_YET)
    if not isinstance(answer, (tuple, list)) or len(answer) != 3 or None in answer:
        return Verdict(False, "❌ Not yet — answer with three numbers: (macs_a, macs_b, macs_c).")
    c, d, k = SLIDE_LAYERS["c"], SLIDE_LAYERS["d"], SLIDE_LAYERS["k"]
    expected = slide_layer_macs()
    groups = slide_layer_groups()
    for given, (key, macs) in zip(answer, expected.items()):
        others = {v: f"that is layer ({other})'s count: check the groups of ({key})."
                  for other, v in expected.items() if other != key and v != macs}
        hints = {**others,
                 k * k * c * d * c: "that is the slide's count; with groups=G each output map reads only "
                                    "C/G input maps.",
                 k * k * c * d * c / groups[key] ** 2: "you divided by G twice: each of the D·C outputs "
                                                       "reads C/G inputs — one division by G.",
                 macs // (k * k): "the kernel is 3×3: multiply by k·l = 9."}
        hints.pop(macs, None)
        verdict = check_value(given, macs, hints=hints, success="",
                              general_hint="k·l·(C_in/G)·C_out: each of the D·C output maps reads "
                                           "C_in/G input maps.")
        if not verdict:
            return Verdict(False, verdict.message.replace("Not yet", f"Not yet (layer {key})", 1))
    slide = k * k * c * d * c
    counted = [key for key, macs in expected.items() if macs == slide]
    return Verdict(True, f"✅ Correct: (a) {expected['a']:,}, (b) {expected['b']:,}, (c) {expected['c']:,} MACs "
                         f"per position. The slide's k·l·C·D·C = {slide:,} is ({counted[0]}), groups=1: a standard "
                         f"convolution; the depthwise one (a) is C = {c} times cheaper.")


# ---------------------------------------------------------------------------------------------
# Exercise 4: build a depthwise-separable block
# ---------------------------------------------------------------------------------------------
BUILD_ARGS = (8, 16, 3)        # in_channels, out_channels, kernel_size
BUILD_INPUT = (2, 8, 9, 9)


class _SeparableVariant(nn.Module):
    """The block with the reference's weights and one known mistake in its forward."""

    def __init__(self, *, relu_between: bool = True, relu_after: bool = True,
                 relu_before_bn: bool = False, relu6: bool = False) -> None:
        super().__init__()
        c_in, c_out, k = BUILD_ARGS
        self.depthwise = nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu_between, self.relu_after = relu_between, relu_after
        self.relu_before_bn = relu_before_bn
        self.activation = nn.functional.relu6 if relu6 else torch.relu

    def _stage(self, conv: nn.Module, bn: nn.Module, x: torch.Tensor, relu: bool) -> torch.Tensor:
        if self.relu_before_bn:
            return bn(self.activation(conv(x)))
        x = bn(conv(x))
        return self.activation(x) if relu else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stage(self.depthwise, self.bn1, x, self.relu_between)
        return self._stage(self.pointwise, self.bn2, x, self.relu_after)


SEPARABLE_MISTAKES = {
    "the ReLU between the depthwise and the pointwise stage is missing":
        lambda: _SeparableVariant(relu_between=False),
    "the ReLU at the end (after the second BatchNorm) is missing":
        lambda: _SeparableVariant(relu_after=False),
    "each ReLU comes before its BatchNorm: conv → BN → ReLU":
        lambda: _SeparableVariant(relu_before_bn=True),
    "ReLU6 where the block has a ReLU: ReLU6 also clips at 6 (MobileNetV2's choice, notebook 05); "
    "this block, like the MobileNetV1 paper's, uses a plain ReLU":
        lambda: _SeparableVariant(relu6=True),
}


def _executed_layers(student: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """The convolutions and BatchNorms the student's forward runs, in the order it runs them."""
    executed: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda module, args, out: executed.append(module))
             for m in student.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    try:
        with torch.no_grad():
            student.eval()(x)
    finally:
        for hook in hooks:
            hook.remove()
    return executed


def _structural_hint(student: nn.Module) -> str | None:
    """Name the typical construction mistakes: groups=1, biases, order, BatchNorm, padding."""
    _, _, k = BUILD_ARGS
    convs = [m for m in student.modules() if isinstance(m, nn.Conv2d)]
    spatial = [m for m in convs if m.kernel_size != (1, 1)]
    if any(m.groups == 1 for m in spatial):
        return (f"your {k}×{k} convolution has groups=1: it is a standard convolution that mixes "
                f"all maps. The depthwise one has groups=in_channels — one {k}×{k} filter per "
                f"input map.")
    if any(m.bias is not None for m in convs):
        return ("your convolutions have biases: use bias=False — the BatchNorm after each one "
                "adds its own shift β.")
    if any(m.padding == (0, 0) for m in spatial):
        return f"your depthwise convolution has no padding: use padding={k // 2} to keep H×W."
    try:
        executed = _executed_layers(student, torch.zeros(BUILD_INPUT))
    except Exception:   # a forward that fails is reported by prepare_block
        return None
    ran = [m for m in executed if isinstance(m, nn.Conv2d)]
    if len(ran) >= 2 and ran[0].kernel_size == (1, 1) and ran[-1].kernel_size != (1, 1):
        return ("the pointwise 1×1 comes before the depthwise convolution: the depthwise "
                "filters each input map first, then the 1×1 mixes the maps.")
    batchnorms = sum(isinstance(m, nn.BatchNorm2d) for m in executed)
    if batchnorms < 2:
        return (f"your forward runs {batchnorms} BatchNorm(s): the block is depthwise → BN → ReLU "
                f"→ pointwise → BN → ReLU, two BatchNorms.")
    if executed and not isinstance(executed[0], nn.Conv2d):
        return "the block starts with a convolution (the depthwise one), not a BatchNorm."
    return None


def check_exercise_4(my_block: object) -> Verdict:
    """Build ``my_block(in_channels, out_channels, kernel_size)`` (the class) and grade it against
    ``DepthwiseSeparableConv2d``: same weights → same outputs and same cost, or the mistake."""
    student = prepared_student_block(my_block, BUILD_INPUT, *BUILD_ARGS, structure=_structural_hint)
    if isinstance(student, Verdict):
        return student
    return check_block(student, DepthwiseSeparableConv2d(*BUILD_ARGS), input_shape=BUILD_INPUT,
                       mistakes=SEPARABLE_MISTAKES,
                       success="same weights, same outputs, same cost as "
                               "course_utils.layers.DepthwiseSeparableConv2d.")


# ---------------------------------------------------------------------------------------------
# Exercise 6: which inputs reach output j through two grouped 1×1 layers, without and with the shuffle
# ---------------------------------------------------------------------------------------------
SHUFFLE_EXERCISE = {"channels": 16, "groups": 8, "output": 5}


def _maps(value: object) -> set[int] | None:
    """A collection of map indices as a set, or None if it is not one."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return None
    items = list(value)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        return None
    return set(items)


def check_exercise_6(answer: object) -> Verdict:
    """``answer = (without, with)``: the input maps that reach output map j of two grouped 1×1 layers (C maps,
    G groups), without and with a channel shuffle between them (``connectivity.stacked_connectivity``)."""
    c, g, j = SHUFFLE_EXERCISE["channels"], SHUFFLE_EXERCISE["groups"], SHUFFLE_EXERCISE["output"]
    expected = [set(map(int, stacked_connectivity(c, groups=g, shuffle=shuffle)[j].nonzero()[0]))
                for shuffle in (False, True)]
    if answer is None:
        return Verdict(False, NOT_YET)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or any(_maps(a) is None for a in answer):
        return Verdict(False, "❌ Not yet — answer with two lists of map numbers: "
                              "answer_reach = ([maps without the shuffle], [maps with it]).")
    without, with_shuffle = (_maps(a) for a in answer)
    if without != expected[0]:
        return Verdict(False, f"❌ Not yet: without the shuffle, output {j} reads only its own group's middle maps, "
                              f"which read only their own group: {c // g} maps of the same group.")
    if with_shuffle == expected[0]:
        return Verdict(False, "❌ Not yet: with the shuffle the middle maps of output "
                              f"{j}'s group come from other groups of the first layer: follow the permutation.")
    if with_shuffle != expected[1]:
        return Verdict(False, f"❌ Not yet: output {j} reads the {c // g} shuffled middle maps of its group; middle "
                              f"position p holds first-layer map (p mod G)·(C/G) + ⌊p/G⌋, whose group of {c // g} "
                              "inputs it reads.")
    return Verdict(True, f"✅ Correct: without the shuffle {sorted(expected[0])}, with it {sorted(expected[1])}: "
                         f"{len(expected[1])} inputs from {len(expected[1]) // (c // g)} groups.")


__all__ = ["batch_sweep", "sweep_batches", "measured_speedup", "speedup_range", "mac_ratio", "SweepShape",
           "sweep_shape", "check_exercise_1", "check_exercise_2", "check_exercise_3", "check_exercise_4",
           "check_exercise_5", "slide_layer_macs", "check_exercise_6", "SHUFFLE_EXERCISE"]
