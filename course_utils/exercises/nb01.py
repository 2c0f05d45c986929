"""Graders for notebook 01, *What does a convolution cost?*

- Exercise 1: the MACs of a whole 5×5 layer (per position × number of positions).
- Exercise 2: by how much each of the slide's two levers divides the MACs of a 3×3 layer.

The expected answers are computed here from the course's cost functions, never written in the
notebook; ``tests/test_exercises_nb01.py`` checks the right answers and the typical mistakes.
"""
from __future__ import annotations

from ..cost import conv2d_cost
from ..grading import NOT_YET, Verdict, check_value

# Exercise 1: a 5×5 convolution, 32 → 64 maps, on a 16×16 output, no bias.
EXERCISE_1_LAYER = {"k": 5, "l": 5, "c_in": 32, "c_out": 64, "h_out": 16, "w_out": 16}

# Exercise 2: a 3×3 convolution 128 → 128 (per output position).
EXERCISE_2_WIDTH = 128


def check_exercise_1(answer: object) -> Verdict:
    """MACs of the whole layer = k·l·C_in·C_out · H_out·W_out."""
    layer = EXERCISE_1_LAYER
    per_position = conv2d_cost(layer["k"], layer["l"], layer["c_in"], layer["c_out"]).macs
    positions = layer["h_out"] * layer["w_out"]
    expected = per_position * positions
    hints = {
        per_position: "that is the cost of one output position. How many positions are there?",
        2 * expected: "that counts FLOPs (a multiply and an add). One MAC = one multiply-add.",
        per_position * 32 * 32: "the output is 16×16, not 32×32.",
        3 * 3 * layer["c_in"] * layer["c_out"] * positions: "the kernel is 5×5, not 3×3.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="the cost is k·l·C_in·C_out per position, "
                                    "times H_out·W_out positions.",
                       success=f"{expected:,} MACs: {per_position:,} weights, "
                               f"each used at {positions} positions.")


def _two_items(answer: object) -> tuple[object, object] | None:
    """The two items of a tuple, a list or a 2-element array/tensor, else None."""
    if hasattr(answer, "tolist") and not isinstance(answer, (str, bytes)):
        answer = answer.tolist()                 # a numpy array or a torch tensor
    if isinstance(answer, (tuple, list)) and len(answer) == 2:
        return answer[0], answer[1]
    return None


def check_exercise_2(answer: object) -> Verdict:
    """``answer = (kernel_factor, width_factor)``: how many times fewer MACs a 3×3 layer
    C → C costs with a 1×1 kernel (same widths), and with both widths halved (same 3×3 kernel)."""
    c = EXERCISE_2_WIDTH
    original = conv2d_cost(3, 3, c, c).macs
    kernel_factor = original // conv2d_cost(1, 1, c, c).macs
    width_factor = original // conv2d_cost(3, 3, c // 2, c // 2).macs
    if answer is None:
        return Verdict(False, NOT_YET)
    pair = _two_items(answer)
    if pair is None or any(item is None for item in pair):
        return Verdict(False, "❌ Not yet — answer with two numbers: "
                              "(kernel_factor, width_factor).")
    kernel_answer, width_answer = pair
    kernel_verdict = check_value(
        kernel_answer, kernel_factor,
        hints={3: "k and l both shrink from 3 to 1: the cost is k·l, not k.",
               1 / kernel_factor: "a factor says how many times FEWER MACs: "
                                  "answer with a number above 1."},
        general_hint="the cost per position is k·l·C_in·C_out: compare k·l before and after.",
        success="")
    if not kernel_verdict:
        return Verdict(False, kernel_verdict.message.replace("Not yet:", "Not yet (kernel):"))
    width_verdict = check_value(
        width_answer, width_factor,
        hints={2: "C_in AND C_out are both halved: the cost is C_in·C_out, not C.",
               1 / width_factor: "a factor says how many times FEWER MACs: "
                                 "answer with a number above 1."},
        general_hint="the cost per position is k·l·C_in·C_out: compare C_in·C_out before and "
                     "after.",
        success="")
    if not width_verdict:
        return Verdict(False, width_verdict.message.replace("Not yet:", "Not yet (width):"))
    return Verdict(True, f"✅ Correct: the 1×1 kernel divides the MACs by {kernel_factor} "
                         f"(3·3), halving both widths by {width_factor} (2·2). Both levers are "
                         f"quadratic; here the kernel lever pulls harder.")


__all__ = ["check_exercise_1", "check_exercise_2"]
