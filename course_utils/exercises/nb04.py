"""Graders for notebook 04, *Depthwise and grouped convolutions*.

- Exercise 1: predict, then measure — the speed-up of a depthwise-separable block over a standard
  3×3 block at batch 1 and at batch 256, graded against the measured batch sweep
  (``benchmarks/results/latency_batch_sweep.json``, made by ``benchmarks/latency_batch_sweep.py``)
  within a tolerance band.
- Exercise 2: the MACs per position of a grouped convolution (a value).
- Exercise 3: the MAC ratio of a 5×5 depthwise-separable block to a 5×5 convolution (a value).
- Exercise 4: build it — the student writes ``MyDepthwiseSeparable(in_channels, out_channels,
  kernel_size)``, graded against :class:`course_utils.layers.DepthwiseSeparableConv2d`.
- Exercise 5 (in *Going further*): which layer the slide's formula counts (a choice).

The expected answers are computed here, never written in the notebook;
``tests/test_exercises_nb04.py`` checks the right answers and the typical mistakes.
"""
from __future__ import annotations

import json
import math
from numbers import Real
from pathlib import Path

import torch
from torch import nn

from ..cost import conv2d_cost, depthwise_separable_cost
from ..grading import NOT_YET, Verdict, check_block, check_choice, check_value
from ..layers import DepthwiseSeparableConv2d

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SWEEP_FILE = REPO_ROOT / "benchmarks" / "results" / "latency_batch_sweep.json"
STANDARD, SEPARABLE = "standard 3×3 block", "depthwise-separable block"
# A prediction within this factor of the measurement passes (either direction).
PREDICTION_FACTOR = 1.5


# ---------------------------------------------------------------------------------------------
# Exercise 1: predict, then measure
# ---------------------------------------------------------------------------------------------
def batch_sweep(path: str | Path = SWEEP_FILE) -> dict:
    """The batch-size sweep written by ``benchmarks/latency_batch_sweep.py`` (provenance included).

    ``result["measurements"]`` holds one entry per (operator, batch): ``ms`` (median forward time),
    ``macs`` (of the whole batch) and ``torch_operators`` (operators its forward dispatches).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/latency_batch_sweep.py` "
                                f"from the repository root to measure it (about a minute).")
    try:
        result = json.loads(path.read_text())
        batches = {m["batch"] for m in result["measurements"] if m["operator"] in (STANDARD, SEPARABLE)}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a batch-sweep result ({error}): re-run "
                         f"`python benchmarks/latency_batch_sweep.py` to rewrite it.") from error
    if not {1, 256} <= batches:
        raise ValueError(f"{path} has batches {sorted(batches)}, but needs 1 and 256: re-run "
                         f"`python benchmarks/latency_batch_sweep.py` with its default batches.")
    return result


def measured_speedup(sweep: dict, batch: int) -> float:
    """Time of the standard block / time of the depthwise-separable block at ``batch``."""
    ms = {m["operator"]: m["ms"] for m in sweep["measurements"] if m["batch"] == batch}
    return ms[STANDARD] / ms[SEPARABLE]


def mac_ratio(sweep: dict) -> float:
    """MACs of the standard block / MACs of the depthwise-separable block (any batch)."""
    macs = {m["operator"]: m["macs"] for m in sweep["measurements"] if m["batch"] == 1}
    return macs[STANDARD] / macs[SEPARABLE]


def _judge_prediction(predicted: float, measured: float, macs: float, batch: int) -> str | None:
    """None when ``predicted`` is within PREDICTION_FACTOR of ``measured``, else a hint."""
    if abs(math.log(predicted / measured)) <= math.log(PREDICTION_FACTOR):
        return None
    where = f"at batch {batch}"
    if abs(math.log(predicted / macs)) <= math.log(1.25):
        return (f"{where} you predicted about the MAC ratio ({macs:.1f}×). Time follows MACs only "
                f"when every operator keeps the arithmetic units busy: is that true of a depthwise "
                f"convolution (few FLOPs per byte), or of small operators at batch 1?")
    if predicted > measured:
        if batch == 1:
            return (f"{where} your prediction is too optimistic. With one 16×16 image each operator "
                    f"does very little work, so each pays mostly a fixed cost per call — and the "
                    f"depthwise-separable block calls six operators, the standard block three.")
        return (f"{where} your prediction is too optimistic. With 256 images the maps no longer fit "
                f"in the caches: the depthwise convolution and the pointwise one each read and write "
                f"their maps from memory, and memory traffic does not shrink with the MACs.")
    return (f"{where} your prediction is too pessimistic: the depthwise-separable block does "
            f"{macs:.1f}× fewer MACs, and some of that saving does show up in time.")


def check_exercise_1(speedup_batch_1: object, speedup_batch_256: object, *,
                     sweep_path: str | Path = SWEEP_FILE) -> Verdict:
    """Predicted speed-ups (standard time / depthwise-separable time) at batch 1 and batch 256;
    each passes when within a factor PREDICTION_FACTOR of the measured sweep."""
    predictions = {1: speedup_batch_1, 256: speedup_batch_256}
    if any(p is None for p in predictions.values()):
        return Verdict(False, "❌ Not yet — replace both None with your predictions "
                              "(e.g. 2.0 for twice as fast, 0.5 for twice as slow).")
    for p in predictions.values():
        if isinstance(p, bool) or not isinstance(p, Real) or not p > 0:
            return Verdict(False, f"❌ Not yet — a speed-up is a positive number, not {p!r}.")
    sweep = batch_sweep(sweep_path)
    macs = mac_ratio(sweep)
    for batch, predicted in predictions.items():
        hint = _judge_prediction(float(predicted), measured_speedup(sweep, batch), macs, batch)
        if hint is not None:
            return Verdict(False, f"❌ Not yet: {hint}")
    measured = {batch: measured_speedup(sweep, batch) for batch in predictions}
    return Verdict(True, f"✅ Within a factor {PREDICTION_FACTOR} of the measurement: "
                         f"{measured[1]:.2f}× at batch 1 and {measured[256]:.2f}× at batch 256, "
                         f"for {macs:.1f}× fewer MACs. The sweep below shows why.")


# ---------------------------------------------------------------------------------------------
# Exercises 2, 3 and 5: values and a choice
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


def check_exercise_5(answer: object) -> Verdict:
    """Which layer C → D·C does the slide's k·l·C·D·C count: (a) groups=C, (b) groups=1, (c) groups=C/D."""
    c, d, k = 16, 2, 3
    groups = {"a": c, "b": 1, "c": c // d}
    slide = k * k * c * d * c
    matching = [key for key, g in groups.items()
                if conv2d_cost(k, k, c, d * c, groups=g).macs == slide]
    return check_choice(
        answer, matching[0], choices=("a", "b", "c"),
        hints={"a": "with groups=C each of the D·C outputs reads one input map: k·l·C·D, C times "
                    "less than the slide's count.",
               "c": "with groups=C/D each output reads D input maps: k·l·D²·C, equal to the "
                    "slide's count only when D = C."},
        success="with groups=1 every output reads all C inputs: the slide counts the standard "
                "convolution; the depthwise one (a) is C times cheaper.")


# ---------------------------------------------------------------------------------------------
# Exercise 4: build a depthwise-separable block
# ---------------------------------------------------------------------------------------------
BUILD_ARGS = (8, 16, 3)        # in_channels, out_channels, kernel_size
BUILD_INPUT = (2, 8, 9, 9)


class _SeparableVariant(nn.Module):
    """The block with the reference's weights and one known mistake in its forward."""

    def __init__(self, *, relu_between: bool = True, relu_after: bool = True,
                 relu_before_bn: bool = False) -> None:
        super().__init__()
        c_in, c_out, k = BUILD_ARGS
        self.depthwise = nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu_between, self.relu_after = relu_between, relu_after
        self.relu_before_bn = relu_before_bn

    def _stage(self, conv: nn.Module, bn: nn.Module, x: torch.Tensor, relu: bool) -> torch.Tensor:
        if self.relu_before_bn:
            return bn(torch.relu(conv(x)))
        x = bn(conv(x))
        return torch.relu(x) if relu else x

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


def _structural_hint(student: nn.Module, x: torch.Tensor) -> str | None:
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
        executed = _executed_layers(student, x)
    except NotImplementedError:
        return "NOT_IMPLEMENTED"
    except Exception:   # a forward that fails is reported by check_block
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
    if my_block is None:
        return Verdict(False, NOT_YET)
    if not (isinstance(my_block, type) and issubclass(my_block, nn.Module)):
        return Verdict(False, "❌ Not yet — pass the class itself, check_exercise_4(MyDepthwiseSeparable), "
                              "an nn.Module subclass.")
    try:
        student = my_block(*BUILD_ARGS)
    except NotImplementedError:
        return Verdict(False, "❌ Not yet — MyDepthwiseSeparable still raises NotImplementedError: "
                              "write its layers in __init__ and its forward.")
    except Exception as error:
        return Verdict(False, f"❌ Not yet: MyDepthwiseSeparable{BUILD_ARGS} fails: "
                              f"{type(error).__name__}: {error}")
    hint = _structural_hint(student, torch.randn(BUILD_INPUT))
    if hint == "NOT_IMPLEMENTED":
        return Verdict(False, "❌ Not yet — MyDepthwiseSeparable.forward still raises NotImplementedError.")
    if hint is not None:
        return Verdict(False, f"❌ Not yet: {hint}")
    reference = DepthwiseSeparableConv2d(*BUILD_ARGS)
    return check_block(student, reference, input_shape=BUILD_INPUT, mistakes=SEPARABLE_MISTAKES,
                       success="same weights, same outputs, same cost as "
                               "course_utils.layers.DepthwiseSeparableConv2d.")


__all__ = ["batch_sweep", "measured_speedup", "mac_ratio", "check_exercise_1", "check_exercise_2",
           "check_exercise_3", "check_exercise_4", "check_exercise_5"]
