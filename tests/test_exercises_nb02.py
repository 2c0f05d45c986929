"""Notebook 02's graders: the right answer passes, typical mistakes get their hint, the build-it
grader tells a skeleton from a wrong block, and the notebook never runs a solution."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import torch
from torch import nn

from course_utils.exercises.nb02 import (check_exercise_1, check_exercise_2, check_exercise_3,
                                         check_exercise_4)

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_kernel_decomposition.ipynb"


def test_exercise_1_decomposed_macs():
    assert check_exercise_1((5 + 5) * 32 * 32).passed
    assert "5×5 convolution itself" in check_exercise_1(5 * 5 * 32 * 32).message
    assert "only one of the two" in check_exercise_1(5 * 32 * 32).message
    assert not check_exercise_1(None).passed


def test_exercise_2_blur_as_outer_product():
    assert check_exercise_2(torch.tensor([1.0, 2.0, 1.0]), [1, 2, 1]).passed
    assert check_exercise_2([2.0, 4.0, 2.0], [0.5, 1.0, 0.5]).passed      # any common factor
    scaled = check_exercise_2([1.0, 2.0, 1.0], [2.0, 4.0, 2.0])
    assert not scaled.passed and "2× the blur" in scaled.message
    wrong = check_exercise_2([1.0, 0.0, -1.0], [1.0, 2.0, 1.0])
    assert not wrong.passed and "u[a]·v[b]" in wrong.message
    assert "3 numbers" in check_exercise_2([1.0, 2.0], [1.0, 2.0, 1.0]).message
    assert not check_exercise_2(None, None).passed


class Reference(nn.Module):
    """The reference solution as a student would write it."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1):
        super().__init__()
        k, l = kernel_size
        self.vertical = nn.Conv2d(in_channels, out_channels, (k, 1), stride=(stride, 1),
                                  padding=(k // 2, 0), bias=False)
        self.horizontal = nn.Conv2d(out_channels, out_channels, (1, l), stride=(1, stride),
                                    padding=(0, l // 2), bias=False)

    def forward(self, x):
        return self.horizontal(self.vertical(x))


def variant(*, middle="out", first="vertical", v_stride=None, h_stride=None, v_pad=None,
            h_pad=None, relu=False, bias=False):
    """A Reference with one thing changed (strides and paddings as functions of s, k, l)."""

    class Block(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            super().__init__()
            k, l = kernel_size
            s = stride
            mid = in_channels if middle == "in" else out_channels      # the (k, 1) conv's output
            second_in = in_channels if middle == "both_in_out" else mid  # the (1, l) conv's input
            vertical = nn.Conv2d(in_channels, mid,
                                 (k, 1), stride=v_stride(s) if v_stride else (s, 1),
                                 padding=v_pad(k, l) if v_pad else (k // 2, 0), bias=bias)
            horizontal = nn.Conv2d(second_in, out_channels, (1, l),
                                   stride=h_stride(s) if h_stride else (1, s),
                                   padding=h_pad(k, l) if h_pad else (0, l // 2), bias=bias)
            if first == "horizontal":
                vertical = nn.Conv2d(in_channels, out_channels, (1, l), stride=(1, s),
                                     padding=(0, l // 2), bias=bias)
                horizontal = nn.Conv2d(out_channels, out_channels, (k, 1), stride=(s, 1),
                                       padding=(k // 2, 0), bias=bias)
            self.first, self.second = vertical, horizontal
            self.relu = relu

        def forward(self, x):
            y = self.first(x)
            return self.second(torch.relu(y) if self.relu else y)

    return Block


def test_exercise_3_accepts_the_reference_and_refuses_the_skeleton():
    assert check_exercise_3(Reference).passed, check_exercise_3(Reference)
    assert not check_exercise_3(None).passed

    class Skeleton(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            super().__init__()
            raise NotImplementedError("build the two convolutions")

    verdict = check_exercise_3(Skeleton)
    assert not verdict.passed and "NotImplementedError" in verdict.message


def test_exercise_3_names_structural_mistakes():
    assert "(1, l) convolution first" in check_exercise_3(variant(first="horizontal")).message
    assert "middle has C_in" in check_exercise_3(variant(middle="in")).message
    assert "in_channels is the middle width" in check_exercise_3(
        variant(middle="both_in_out")).message
    assert "bias=False" in check_exercise_3(variant(bias=True)).message


def test_exercise_3_names_stride_padding_and_activation_mistakes():
    def message(**kwargs):
        verdict = check_exercise_3(variant(**kwargs))
        assert not verdict.passed
        return verdict.message

    assert "stride is applied twice" in message(v_stride=lambda s: (s, s),
                                                h_stride=lambda s: (s, s))
    assert "strides the columns" in message(v_stride=lambda s: (s, s), h_stride=lambda s: (1, 1))
    assert "strides the columns" in message(v_stride=lambda s: (1, s), h_stride=lambda s: (s, 1))
    assert "padding is missing" in message(v_pad=lambda k, l: (0, 0), h_pad=lambda k, l: (0, 0))
    assert "wrong axes" in message(v_pad=lambda k, l: (0, k // 2), h_pad=lambda k, l: (l // 2, 0))
    wasteful = message(v_stride=lambda s: (1, 1), h_stride=lambda s: (s, s))
    assert "same outputs" in wasteful and "fewer MACs" in wasteful


def test_exercise_3_accepts_inception_v3s_non_linearity_between_as_a_valid_variant():
    """Inception-v3 (which the notebook cites) puts BatchNorm and ReLU after each convolution of the
    pair: a valid block, accepted, with the note that the exact conversion needs none."""
    with_relu = check_exercise_3(variant(relu=True))
    assert with_relu.passed and "Inception-v3" in with_relu.message
    assert "needs no non-linearity" in with_relu.message

    class WithBatchNorm(Reference):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            super().__init__(in_channels, out_channels, kernel_size, stride)
            self.bn = nn.BatchNorm2d(out_channels)

        def forward(self, x):
            return self.horizontal(torch.relu(self.bn(self.vertical(x))))

    with_bn = check_exercise_3(WithBatchNorm)
    assert with_bn.passed and "BatchNorm and a ReLU" in with_bn.message
    # the variant is checked as strictly as the reference: a wrong stride still fails, ReLU6 is not ReLU
    assert not check_exercise_3(variant(relu=True, v_stride=lambda s: (s, s), h_stride=lambda s: (1, 1))).passed

    class ReLU6Between(Reference):
        def forward(self, x):
            return self.horizontal(nn.functional.relu6(self.vertical(x)))

    assert not check_exercise_3(ReLU6Between).passed


def test_exercise_3_accepts_the_block_written_another_way():
    class AsSequential(nn.Sequential):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            k, l = kernel_size
            super().__init__(nn.Conv2d(in_channels, out_channels, (k, 1), (stride, 1), (k // 2, 0), bias=False),
                             nn.Conv2d(out_channels, out_channels, (1, l), (1, stride), (0, l // 2), bias=False))

    class Lazy(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            super().__init__()
            k, l = kernel_size
            self.vertical = nn.LazyConv2d(out_channels, (k, 1), (stride, 1), (k // 2, 0), bias=False)
            self.horizontal = nn.LazyConv2d(out_channels, (1, l), (1, stride), (0, l // 2), bias=False)

        def forward(self, x):
            return self.horizontal(self.vertical(x))

    for block_class in (AsSequential, Lazy):
        verdict = check_exercise_3(block_class)
        assert verdict.passed, (block_class.__name__, verdict)


def test_exercise_3_hints_instead_of_tracebacks():
    class NoReturn(Reference):
        def forward(self, x):
            self.horizontal(self.vertical(x))

    class ReturnsATuple(Reference):
        def forward(self, x):
            return self.horizontal(self.vertical(x)),

    class PlainList(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1):
            super().__init__()
            self.convs = list(Reference(in_channels, out_channels, kernel_size, stride).children())

        def forward(self, x):
            return self.convs[1](self.convs[0](x))

    for answer, hint in ((NoReturn, "forget the `return`"), (ReturnsATuple, "returns a tuple"),
                         (PlainList, "nn.ModuleList"), (Reference(8, 16, (3, 5), 2), "the class itself")):
        verdict = check_exercise_3(answer)
        assert not verdict.passed and hint in verdict.message, (answer, verdict)
        assert "Traceback" not in verdict.message


def test_exercise_4_rank_threshold():
    assert check_exercise_4(3).passed
    assert "more than 49" in check_exercise_4(4).message
    assert "whole number" in check_exercise_4(3.5).message


def _cells(kind: str) -> list[str]:
    return [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == kind]


def test_notebook_imports_its_graders_and_never_runs_a_solution():
    calls = 0
    for source in _cells("code"):
        assert "def check_exercise" not in source, "graders live in course_utils.exercises.nb02"
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("check_exercise")):
                calls += 1
                assert all(isinstance(arg, ast.Name) for arg in node.args), (
                    f"a checker is called with a literal answer: {ast.unparse(node)}")
    assert calls == 4
    solutions = [s for s in _cells("markdown") if "Solution" in s]
    assert len(solutions) == 4 and all(s.lstrip().startswith("<details>") for s in solutions)


def test_the_notebooks_build_it_cell_is_a_skeleton_that_grades_not_yet():
    skeleton = next(s for s in _cells("code") if "class MyDecomposed" in s)
    namespace: dict = {"nn": nn, "torch": torch}   # the notebook's imports
    exec(compile(skeleton, "MyDecomposed cell", "exec"), namespace)
    verdict = check_exercise_3(namespace["MyDecomposed"])
    assert not verdict.passed and "NotImplementedError" in verdict.message


def test_the_collapsed_solutions_pass_their_graders():
    solutions = [s for s in _cells("markdown") if "Solution" in s]
    namespace: dict = {"nn": nn, "torch": torch}
    exec(solutions[0].split("`")[1], namespace)                         # answer_macs = ...
    assert check_exercise_1(namespace["answer_macs"]).passed
    exec("answer_u = " + solutions[1].split("`")[1].split("=", 2)[-1], namespace)
    assert check_exercise_2(namespace["answer_u"], namespace["answer_u"]).passed
    code = solutions[2].split("```python")[1].split("```")[0]
    exec(code, namespace)
    assert check_exercise_3(namespace["MyDecomposed"]).passed
    exec(solutions[3].split("`")[1], namespace)                         # answer_rank = ...
    assert check_exercise_4(namespace["answer_rank"]).passed
