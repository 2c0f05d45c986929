"""The grading base: right answers pass, typical mistakes get their own hint, nothing crashes."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.grading import (Verdict, build_student_block, check_block, check_choice, check_value, copy_weights,
                                  prepare_block)


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


# --- the build-it harness: what a student may hand in by mistake gets a hint, never a traceback ---------
def conv_bn_relu() -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())


def test_check_block_tells_relu_from_relu6():
    """The random test input never drives a BatchNorm'd activation above 6; the second, larger input does."""
    relu6 = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
    assert check_block(conv_bn_relu(), conv_bn_relu(), input_shape=(2, 4, 6, 6)).passed
    verdict = check_block(relu6, conv_bn_relu(), input_shape=(2, 4, 6, 6))
    assert not verdict.passed and "ReLU6" in verdict.message
    named = check_block(relu6, conv_bn_relu(), input_shape=(2, 4, 6, 6),
                        mistakes={"ReLU6 for ReLU": lambda: nn.Sequential(
                            nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())})
    assert not named.passed and "ReLU6 for ReLU" in named.message
    reverse = check_block(conv_bn_relu(), relu6, input_shape=(2, 4, 6, 6))     # a ReLU where ReLU6 is asked
    assert not reverse.passed


class Attributes(nn.Module):
    """conv → BN → ReLU written with attributes and torch.relu, its layers registered in reverse order."""

    def __init__(self, lazy: bool = False, forget_return: bool = False, as_tuple: bool = False,
                 in_a_list: bool = False) -> None:
        super().__init__()
        self.bn = nn.LazyBatchNorm2d() if lazy else nn.BatchNorm2d(8)
        self.conv = nn.LazyConv2d(8, 3, padding=1, bias=False) if lazy else nn.Conv2d(4, 8, 3, padding=1, bias=False)
        if in_a_list:
            self.layers = [self.conv, self.bn]
            del self.conv, self.bn
        self.forget_return, self.as_tuple, self.in_a_list = forget_return, as_tuple, in_a_list

    def forward(self, x):
        conv, bn = self.layers if self.in_a_list else (self.conv, self.bn)
        y = torch.relu(bn(conv(x)))
        if self.forget_return:
            y = y * 1                       # ... and no return
        elif self.as_tuple:
            return y,
        else:
            return y


def test_check_block_accepts_the_same_block_written_another_way():
    assert check_block(Attributes(), conv_bn_relu(), input_shape=(2, 4, 6, 6)).passed
    lazy = check_block(Attributes(lazy=True), conv_bn_relu(), input_shape=(2, 4, 6, 6))
    assert lazy.passed, lazy


def test_check_block_hints_instead_of_tracebacks():
    cases = {"forget the `return`": Attributes(forget_return=True),
             "tuple of 1 items": Attributes(as_tuple=True),
             "nn.ModuleList": Attributes(in_a_list=True)}
    for hint, block in cases.items():
        verdict = check_block(block, conv_bn_relu(), input_shape=(2, 4, 6, 6))
        assert not verdict.passed and hint in verdict.message, (hint, verdict)
    assert "NotImplementedError" in check_block(Skeleton(), conv_bn_relu(), input_shape=(2, 4, 6, 6)).message
    assert "class itself" in build_student_block(Attributes()).message


class Skeleton(nn.Module):
    def forward(self, x):
        raise NotImplementedError


def test_copy_weights_follows_the_order_of_execution_given_an_example():
    """Two BatchNorms of one width, registered in the other order: only the execution order pairs them right."""
    class Reversed(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn_second, self.bn_first = nn.BatchNorm2d(4), nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn_second(torch.relu(self.bn_first(x)))

    reference = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU(), nn.BatchNorm2d(4))
    assert check_block(Reversed(), reference, input_shape=(2, 4, 5, 5)).passed
    target, x = Reversed(), torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        reference[0].weight.fill_(3.0)
    copy_weights(reference, target, example=x)
    assert torch.equal(target.bn_first.weight, reference[0].weight)


def test_prepare_block_names_a_lazy_layer_that_never_runs_and_lets_the_grader_name_its_mistake_first():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.spare = nn.Conv2d(4, 8, 1), nn.LazyConv2d(8, 1)

        def forward(self, x):
            return self.conv(x)

    assert "never runs" in prepare_block(Unused(), (1, 4, 3, 3))
    failing = nn.Sequential(nn.Conv2d(4, 8, 3, padding=0), nn.Flatten(), nn.Linear(8, 2))
    assert "fails" in prepare_block(failing, (1, 4, 5, 5))
    assert prepare_block(failing, (1, 4, 5, 5), structure=lambda b: "no padding") == "no padding"
    assert prepare_block(conv_bn_relu(), (1, 4, 5, 5), structure=lambda b: None) is None
