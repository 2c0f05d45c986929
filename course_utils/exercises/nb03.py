"""Graders for notebook 03, *SqueezeNet and the Fire module*.

- Exercise 1: the MACs of SqueezeNet v1.0's ``fire8`` (a value).
- Exercise 2: the parameters of two changes to a Fire, the one that saves more follows (two values).
- Exercise 3: build it — the student writes ``MyFire(in_channels, squeeze, expand1x1, expand3x3)``;
  it is graded against :class:`course_utils.layers.Fire` (weights copied in, outputs and costs
  compared) and the typical mistakes are named.
- Exercise 4: predict the MACs of SqueezeNet-CIFAR with its first pool moved after ``fire3``
  (strategy 3, downsample late: more MACs, the same parameters) — a value.

The expected answers are computed here, never written in the notebook;
``tests/test_exercises_nb03.py`` checks the right answers and the typical mistakes.
"""
from __future__ import annotations

import itertools
import math
from numbers import Real

import torch
from torch import nn

from ..cost import count
from ..grading import (NOT_YET, Verdict, check_block, check_value,
                       prepared_student_block, run_block)
from ..layers import Fire
from ..models.layer_table import layer_table
from ..models.squeezenet import SQUEEZENET_TABLES, PoolRow, Row, SqueezeNet

# Exercise 1: SqueezeNet v1.0's fire8 on 27×27 maps.
FIRE8 = {"in_channels": 384, "squeeze": 64, "expand1x1": 256, "expand3x3": 256}
FIRE8_SIZE = 27

# Exercise 2: two changes to Fire(256, squeeze=32, expand1x1=128, expand3x3=128).
BASELINE_FIRE = {"in_channels": 256, "squeeze": 32, "expand1x1": 128, "expand3x3": 128}
OPTIONS = {"a": {"in_channels": 256, "squeeze": 64, "expand1x1": 224, "expand3x3": 32},
           "b": {"in_channels": 256, "squeeze": 32, "expand1x1": 32, "expand3x3": 224}}

# Exercise 3: the Fire the student's class is built as (all widths different, so that a swapped
# argument shows), and the input it is run on.
BUILD_WIDTHS = {"in_channels": 16, "squeeze": 4, "expand1x1": 8, "expand3x3": 12}
BUILD_INPUT = (2, 16, 9, 9)

# Exercise 4: SqueezeNet-CIFAR with its first pool moved to just after this Fire.
LATE_POOL = "maxpool1"
LATE_POOL_AFTER = "fire3"
CIFAR_INPUT = (1, 3, 32, 32)


def fire(widths: dict[str, int]) -> Fire:
    """The reference Fire module with the given widths (all passed by keyword)."""
    return Fire(widths["in_channels"], squeeze=widths["squeeze"],
                expand1x1=widths["expand1x1"], expand3x3=widths["expand3x3"])


def check_exercise_1(answer: object) -> Verdict:
    """MACs of fire8 = (C_in·s + s·e1x1 + 9·s·e3x3) · H·W."""
    c, s = FIRE8["in_channels"], FIRE8["squeeze"]
    e1, e3 = FIRE8["expand1x1"], FIRE8["expand3x3"]
    positions = FIRE8_SIZE * FIRE8_SIZE
    expected = count(fire(FIRE8), (1, c, FIRE8_SIZE, FIRE8_SIZE)).macs
    per_position = expected // positions
    hints = {
        per_position: "that is one output position; multiply by the 27×27 positions.",
        (c * s + s * e1 + s * e3) * positions:
            "the 3×3 expand has 3·3 = 9 weights per (input, output) pair: 9·s·e3x3.",
        (s * e1 + 9 * s * e3) * positions: "the squeeze layer costs MACs too: C_in·s.",
        9 * c * (e1 + e3) * positions: "that is a plain 3×3 layer 384 → 512, not the Fire.",
        2 * expected: "that counts FLOPs (a multiply and an add); count MACs.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="squeeze C_in·s, 1×1 expand s·e1x1, 3×3 expand 9·s·e3x3, "
                                    "per position, times 27·27 positions.",
                       success=f"{expected:,} MACs — fire8's row of the table above.")


def _option_params(widths: dict[str, int], *, bias: bool = True) -> int:
    """Parameters of the Fire with ``widths``: C_in·s + s·e1x1 + 9·s·e3x3 weights (+ one bias per filter)."""
    total = count(fire(widths), (1, widths["in_channels"], 8, 8)).params
    return total if bias else total - widths["squeeze"] - widths["expand1x1"] - widths["expand3x3"]


def _option_hints(widths: dict[str, int]) -> dict[float, str]:
    """Typical wrong parameter counts of one option (biases counted or not): the 3×3 counted as a
    1×1, the squeeze forgotten, a plain 3×3 layer, the Fire before the change."""
    c, s, e1, e3 = widths["in_channels"], widths["squeeze"], widths["expand1x1"], widths["expand3x3"]
    weights = ((c * s + s * e1 + s * e3, "a 3×3 filter has 3·3 = 9 weights per input map: 9·s·e3x3."),
               (s * e1 + 9 * s * e3, "the squeeze layer has weights too: C_in·s."),
               (9 * c * (e1 + e3), "that is a plain 3×3 layer, not the Fire."))
    hints: dict[float, str] = {}
    for n, hint in weights:
        for total in (n, n + s + e1 + e3):            # without, with the biases
            hints[total] = f"{hints[total]} Or: {hint}" if total in hints else hint
    for bias in (True, False):
        hints[_option_params(BASELINE_FIRE, bias=bias)] = ("that is the starting Fire(256, 32, 128, 128), "
                                                           "before the change.")
    return hints


def _is_count(value: object, counts: tuple[int, ...]) -> bool:
    """``value`` is a number equal to one of ``counts``."""
    return (isinstance(value, Real) and not isinstance(value, bool)
            and any(math.isclose(value, n) for n in counts))


def check_exercise_2(answer: object) -> Verdict:
    """``answer = (params_a, params_b)``: the parameters of option (a) and of option (b); biases
    counted or not (the comparison is the same)."""
    if answer is None:
        return Verdict(False, NOT_YET)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or None in answer:
        return Verdict(False, "❌ Not yet — answer with two numbers: (params_a, params_b).")
    counts = {key: (_option_params(widths), _option_params(widths, bias=False))
              for key, widths in OPTIONS.items()}
    if all(_is_count(given, counts[other]) for given, other in zip(answer, "ba")):
        return Verdict(False, "❌ Not yet: you have them the wrong way round: (params_a, params_b).")
    for given, (key, widths) in zip(answer, OPTIONS.items()):
        with_bias, without = counts[key]
        verdict = check_value(given, with_bias, hints=_option_hints(widths),
                              general_hint="C_in·s + s·e1x1 + 9·s·e3x3 weights (+ one bias per filter).",
                              success="")
        if not verdict and not _is_count(given, (without,)):
            return Verdict(False, verdict.message.replace("Not yet", f"Not yet (option {key})", 1))
    (a, _), (b, _) = counts["a"], counts["b"]
    cheaper = "a" if a < b else "b"
    return Verdict(True, f"✅ Correct: (a) has {a:,} parameters, (b) {b:,} (biases included): ({cheaper}) "
                         f"saves more. A 3×3 filter costs 9 times a 1×1 filter, so 1×1 filters "
                         f"(strategy 1) beat a small squeeze alone here.")


# ---------------------------------------------------------------------------------------------
# Exercise 3: build a Fire module
# ---------------------------------------------------------------------------------------------
class _FireVariant(nn.Module):
    """A Fire with the reference's weights and one known mistake (for naming the student's)."""

    def __init__(self, widths: dict[str, int], *, squeeze_relu: bool = True,
                 expand_relu: bool = True, expand3x3_first: bool = False) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(widths["in_channels"], widths["squeeze"], 1)
        self.expand1x1 = nn.Conv2d(widths["squeeze"], widths["expand1x1"], 1)
        self.expand3x3 = nn.Conv2d(widths["squeeze"], widths["expand3x3"], 3, padding=1)
        self.squeeze_relu, self.expand_relu = squeeze_relu, expand_relu
        self.expand3x3_first = expand3x3_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        if self.squeeze_relu:
            s = torch.relu(s)
        maps = [self.expand1x1(s), self.expand3x3(s)]
        if self.expand_relu:
            maps = [torch.relu(m) for m in maps]
        if self.expand3x3_first:
            maps.reverse()
        return torch.cat(maps, dim=1)


FIRE_MISTAKES = {
    "the ReLU after the squeeze is missing (s = ReLU(squeeze(x)))":
        lambda: _FireVariant(BUILD_WIDTHS, squeeze_relu=False),
    "the ReLUs after the two expands are missing":
        lambda: _FireVariant(BUILD_WIDTHS, expand_relu=False),
    "the 3×3 maps come first in the concatenation: put the 1×1 expand's maps first":
        lambda: _FireVariant(BUILD_WIDTHS, expand3x3_first=True),
}


def _weight_shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for p in module.parameters())


def _swapped_arguments(student: nn.Module) -> str | None:
    """If the student's weights are those of a Fire with two widths swapped, say which."""
    names = ("squeeze", "expand1x1", "expand3x3")
    theirs = _weight_shapes(student)
    for order in itertools.permutations(names):
        if order == names:
            continue
        widths = dict(BUILD_WIDTHS, **{name: BUILD_WIDTHS[o] for name, o in zip(names, order)})
        if _weight_shapes(fire(widths)) == theirs:
            swapped = [n for n, o in zip(names, order) if n != o]
            return (f"your layers have the widths of a Fire with {' and '.join(swapped)} swapped: "
                    f"the arguments are (in_channels, squeeze, expand1x1, expand3x3) — the "
                    f"squeeze is the narrow 1×1 that comes first, the two expands read its maps.")
    return None


def _unpadded_3x3(student: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and m.padding == (0, 0)
               for m in student.modules())


def _fire_structure(student: nn.Module) -> str | None:
    """Construction mistakes named before running: swapped widths, a 3×3 expand without padding."""
    swapped = _swapped_arguments(student)
    if swapped is not None:
        return swapped
    if _unpadded_3x3(student):
        return ("your 3×3 expand has no padding, so its maps are 2 pixels smaller than the 1×1 "
                "expand's and cannot be concatenated: use padding=1.")
    return None


CONCATENATE_CHANNELS = ("the two expands' outputs cannot be concatenated along that dimension: "
                        "concatenate along dim=1, the channels (N, C, H, W).")


def _wrong_concatenation(student: nn.Module) -> str | None:
    """A hint when the expands' maps are stacked along the batch or the pixels, not the channels."""
    expected = (BUILD_INPUT[0], BUILD_WIDTHS["expand1x1"] + BUILD_WIDTHS["expand3x3"], *BUILD_INPUT[2:])
    shape = tuple(run_block(student, torch.zeros(BUILD_INPUT)).shape)
    if shape != expected and (shape[0] != expected[0] or shape[2:] != expected[2:]):
        return (f"your output has shape {shape}, the reference's {expected}: concatenate the "
                f"expands along dim=1, the channels, not the batch or the pixels.")
    return None


def check_exercise_3(my_fire: object) -> Verdict:
    """Build ``my_fire(in_channels, squeeze, expand1x1, expand3x3)`` (the class, not an instance)
    and grade it against ``Fire``: same weights → same outputs and same cost, or the mistake."""
    widths = BUILD_WIDTHS
    student = prepared_student_block(my_fire, BUILD_INPUT, widths["in_channels"], widths["squeeze"],
                                      widths["expand1x1"], widths["expand3x3"], structure=_fire_structure)
    if isinstance(student, Verdict):
        if "Sizes of tensors must match" in student.message:     # torch.cat along another dim
            return Verdict(False, f"❌ Not yet: {CONCATENATE_CHANNELS}")
        return student
    concatenation = _wrong_concatenation(student)
    if concatenation is not None:
        return Verdict(False, f"❌ Not yet: {concatenation}")
    return check_block(student, fire(widths), input_shape=BUILD_INPUT, mistakes=FIRE_MISTAKES,
                       success="same weights, same outputs, same cost as course_utils.layers.Fire.")


# ---------------------------------------------------------------------------------------------
# Exercise 4: downsample later
# ---------------------------------------------------------------------------------------------
def late_pool_table(pool: str = LATE_POOL, after: str = LATE_POOL_AFTER) -> tuple[Row, ...]:
    """SqueezeNet-CIFAR's layer table with the row ``pool`` moved to just after the row ``after``."""
    rows = list(SQUEEZENET_TABLES["cifar"])
    names = [row.name for row in rows]
    if pool not in names or not isinstance(rows[names.index(pool)], PoolRow):
        raise ValueError(f"pool={pool!r} must name a pool row of the CIFAR table: {names}")
    if after not in names or after == pool:
        raise ValueError(f"after={after!r} must name another row of the CIFAR table: {names}")
    moved = rows.pop(names.index(pool))
    rows.insert([row.name for row in rows].index(after) + 1, moved)
    return tuple(rows)


def _stage_macs(table: tuple[Row, ...]) -> dict[str, int]:
    """MACs of every row (stage) of the network built from ``table``, on one CIFAR image."""
    model = SqueezeNet(table, num_classes=10, dropout=0.0)
    return layer_table(model.named_stages(), CIFAR_INPUT)["MACs"].to_dict()


def check_exercise_4(answer: object) -> Verdict:
    """MACs per image of SqueezeNet-CIFAR with maxpool1 after fire3: fire2 and fire3 then run on 32×32
    maps instead of 16×16, 4× the positions, so 4× their MACs; everything else is unchanged."""
    table = late_pool_table()
    expected = count(SqueezeNet(table, num_classes=10, dropout=0.0), CIFAR_INPUT).macs
    original = _stage_macs(SQUEEZENET_TABLES["cifar"])
    now = _stage_macs(table)
    before = sum(original.values())
    params = count(SqueezeNet(SQUEEZENET_TABLES["cifar"], num_classes=10, dropout=0.0), CIFAR_INPUT).params
    moved = [name for name in original if name.startswith("fire") and now[name] != original[name]]
    hints = {
        before: "that is SqueezeNet-CIFAR as it is: with the pool moved, fire2 and fire3 run on larger maps.",
        before + sum(original[n] for n in moved):
            "the maps double in height AND width: 4× the positions, so 4× the MACs of those Fires.",
        before + 3 * original[moved[0]]: f"{moved[-1]} also runs before the moved pool, on the large maps.",
        before + 3 * sum(v for n, v in original.items() if n != "conv1"):
            "after fire3 the two pools bring the maps back to 8×8: fire4 onwards cost what they did.",
        2 * expected: "that counts FLOPs (a multiply and an add); count MACs.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="a pool has no MACs; a layer's MACs scale with its number of output "
                                    "positions H·W. Which Fires now run on 32×32 maps instead of 16×16?",
                       success=f"{expected:,} MACs, {expected / before:.2f}× SqueezeNet-CIFAR's, for the same "
                               f"{params:,} parameters: downsampling late (strategy 3) spends MACs, not "
                               f"parameters.")


__all__ = ["check_exercise_1", "check_exercise_2", "check_exercise_3", "check_exercise_4", "late_pool_table"]
