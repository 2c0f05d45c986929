"""The grading base: right answers pass, typical mistakes get their own hint, nothing crashes."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.grading import Verdict, build_student_block, check_block, check_choice, check_value, copy_weights


def test_check_value_right_wrong_hinted_and_missing():
    hints = {256.0: "that is one position"}
    assert check_value(1024, 1024, hints=hints, general_hint="g", success="s").passed
    assert check_value(256, 1024, hints=hints, general_hint="g", success="s").message.endswith("one position")
    assert check_value(7, 1024, hints=hints, general_hint="general", success="s").message.endswith("general")
    assert not check_value(None, 1024, general_hint="g", success="s")
    assert "number" in check_value("1024", 1024, general_hint="g", success="s").message


def test_check_choice():
    kwargs = dict(choices=("a", "b"), hints={"b": "b is wrong because"}, success="a it is")
    assert check_choice("a", "a", **kwargs).passed
    assert check_choice("b", "a", **kwargs).message.endswith("b is wrong because")
    assert "one of" in check_choice("c", "a", **kwargs).message
    with pytest.raises(ValueError, match="expected='z'"):
        check_choice("a", "z", **kwargs)


def reference() -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU(), nn.Conv2d(2, 8, 3, padding=1))


def test_check_block_accepts_a_differently_named_equivalent():
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.squeeze = nn.Conv2d(4, 2, 1)
            self.spread = nn.Conv2d(2, 8, 3, padding=1)

        def forward(self, x):
            return self.spread(torch.relu(self.squeeze(x)))

    verdict = check_block(Mine(), reference(), input_shape=(2, 4, 8, 8))
    assert isinstance(verdict, Verdict) and verdict.passed, verdict


def test_check_block_grades_in_float32_even_inside_an_autocast_region():
    """A student who runs a check inside ``torch.autocast`` still gets a float32 comparison: an equivalent block
    that sums in another order (two half convolutions) would differ by bf16 rounding, a false failure."""
    class TwoHalves(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(64, 64, 3, padding=1)

        def forward(self, x):
            w, b = self.conv.weight, self.conv.bias
            halves = [nn.functional.conv2d(x[:, i:i + 32], w[:, i:i + 32], padding=1) for i in (0, 32)]
            return halves[0] + halves[1] + b.view(1, -1, 1, 1)

    with torch.autocast("cpu", dtype=torch.bfloat16):
        verdict = check_block(TwoHalves(), nn.Conv2d(64, 64, 3, padding=1), input_shape=(2, 64, 16, 16))
    assert verdict.passed, verdict


def test_check_block_names_missing_weights_and_known_mistakes():
    wrong_kernel = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU(), nn.Conv2d(2, 8, 1))
    assert "3×3 conv weight 2 → 8" in check_block(wrong_kernel, reference(), input_shape=(1, 4, 8, 8)).message

    no_relu = nn.Sequential(nn.Conv2d(4, 2, 1), nn.Conv2d(2, 8, 3, padding=1))
    mistakes = {"the ReLU after the 1×1 is missing":
                lambda: nn.Sequential(nn.Conv2d(4, 2, 1), nn.Conv2d(2, 8, 3, padding=1))}
    verdict = check_block(no_relu, reference(), input_shape=(1, 4, 8, 8), mistakes=mistakes)
    assert not verdict.passed and "ReLU after the 1×1 is missing" in verdict.message

    no_padding = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU(), nn.Conv2d(2, 8, 3))
    assert "shape" in check_block(no_padding, reference(), input_shape=(1, 4, 8, 8)).message
    assert not check_block(None, reference(), input_shape=(1, 4, 8, 8))
    assert "nn.Module" in check_block(nn.Conv2d, reference(), input_shape=(1, 4, 8, 8)).message


def test_copy_weights_matches_by_shape_in_order():
    source, target = reference(), reference()
    copy_weights(source, target)
    assert all(torch.equal(a, b) for a, b in zip(source.parameters(), target.parameters()))


def test_check_block_refuses_bad_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        check_block(reference(), reference(), input_shape=(4, 8, 8))


def test_build_student_block_explains_why_a_class_cannot_be_built():
    class Skeleton(nn.Module):
        def __init__(self, c: int) -> None:
            raise NotImplementedError

    assert "NotImplementedError" in build_student_block(Skeleton, 4).message
    assert "class itself" in build_student_block(nn.Conv2d(1, 1, 1)).message
    assert "fails" in build_student_block(nn.Conv2d, 1).message
    assert not build_student_block(None, 4)
    assert isinstance(build_student_block(nn.Conv2d, 1, 2, kernel_size=3), nn.Conv2d)
