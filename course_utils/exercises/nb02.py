"""Graders for notebook 02, *Decomposing kernels*.

- Exercise 1: MACs per position of a 5×5 convolution replaced by 5×1 then 1×5.
- Exercise 2: write the blur kernel as an outer product u·vᵀ (it is rank 1).
- Exercise 3 (build it): a (k, 1) + (1, l) block, graded against ``DecomposedConv2d``.
- Exercise 4 (Going further): the largest rank r for which exact per-slice rank r still pays.

The expected answers are computed here, never written in the notebook;
``tests/test_exercises_nb02.py`` checks the right answers and the typical mistakes.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..cost import conv2d_cost, count, decomposed_conv_cost
from ..grading import (NOT_YET, Verdict, check_block, check_value, prepared_student_block,
                       run_block)
from ..layers import DecomposedConv2d

# ---------------------------------------------------------------------------------------------
# Exercise 1
# ---------------------------------------------------------------------------------------------
EXERCISE_1_LAYER = {"k": 5, "l": 5, "c_in": 32, "c_out": 32}


def check_exercise_1(answer: object) -> Verdict:
    """MACs per position of (k, 1) then (1, l): k·C_in·C_out + l·C_out² = (k + l)·C² here."""
    k, l, c_in, c_out = EXERCISE_1_LAYER.values()
    expected = decomposed_conv_cost(k, l, c_in, c_out).macs
    standard = conv2d_cost(k, l, c_in, c_out).macs
    hints = {
        standard: "that is the 5×5 convolution itself, k·l·C². The pair costs (k + l)·C².",
        k * c_in * c_out: "that is only one of the two convolutions: add the other one.",
        2 * expected: "that counts FLOPs (multiply and add). Count MACs.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="(k + l)·C²: each 1-D kernel costs its length × C_in × C_out.",
                       success=f"(5 + 5)·32² = {expected:,} MACs per position, against "
                               f"5·5·32² = {standard:,}: {standard / expected:.1f}× fewer.")


# ---------------------------------------------------------------------------------------------
# Exercise 2
# ---------------------------------------------------------------------------------------------
BLUR = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])


def _as_vector(value: object) -> torch.Tensor | None:
    """A float tensor of 3 numbers from a tensor, list or tuple, else None."""
    try:
        vector = torch.as_tensor(value, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError):
        return None
    return vector if vector.numel() == 3 else None


def check_exercise_2(u: object, v: object) -> Verdict:
    """The blur kernel written as u·vᵀ: the (3, 1) kernel u, then the (1, 3) kernel v."""
    if u is None or v is None:
        return Verdict(False, NOT_YET)
    column, row = _as_vector(u), _as_vector(v)
    if column is None or row is None:
        return Verdict(False, "❌ Not yet — u and v must each hold 3 numbers, "
                              "e.g. torch.tensor([1.0, 0.0, -1.0]).")
    product = torch.outer(column, row)
    if torch.allclose(product, BLUR, atol=1e-5):
        return Verdict(True, "✅ Correct: the blur kernel is u·vᵀ, so a 3×1 then a 1×3 "
                             "convolution compute it exactly (rank 1), with 6 weights instead of 9.")
    scale = (product * BLUR).sum() / (BLUR * BLUR).sum()
    if scale.abs() > 1e-6 and torch.allclose(product, scale * BLUR, atol=1e-4):
        return Verdict(False, f"❌ Not yet: right shape, but u·vᵀ is {scale.item():.3g}× the blur "
                              "kernel. Rescale u or v.")
    return Verdict(False, "❌ Not yet: u·vᵀ has entries u[a]·v[b]. Read u down the kernel's "
                          "first column and v along its first row (up to a common factor).")


# ---------------------------------------------------------------------------------------------
# Exercise 3: build it
# ---------------------------------------------------------------------------------------------
# (in_channels, out_channels, kernel_size, stride, input shape (N, C, H, W)): a widening, strided
# block (so the middle width and the stride placement show) and a shape-keeping one; non-square
# kernels and inputs so that swapping k and l, or H and W, shows too.
EXERCISE_3_CASES: tuple[tuple[int, int, tuple[int, int], int, tuple[int, int, int, int]], ...] = (
    (8, 16, (3, 5), 2, (2, 8, 12, 10)),
    (12, 12, (5, 3), 1, (2, 12, 9, 11)),
)


def _pair(c_in: int, middle: int, c_out: int, kernel_size: tuple[int, int], *,
          vertical_stride: tuple[int, int], horizontal_stride: tuple[int, int],
          vertical_padding: tuple[int, int] | None = None,
          horizontal_padding: tuple[int, int] | None = None,
          activation: bool = False, batchnorm: bool = False) -> nn.Sequential:
    """A (k, 1) conv C_in → middle, then a (1, l) conv middle → C_out, no bias: the reference's
    weight shapes with the strides or paddings of a typical mistake, or Inception-v3's
    (BatchNorm and) ReLU between the two."""
    k, l = kernel_size
    vertical_padding = (k // 2, 0) if vertical_padding is None else vertical_padding
    horizontal_padding = (0, l // 2) if horizontal_padding is None else horizontal_padding
    layers: list[nn.Module] = [nn.Conv2d(c_in, middle, (k, 1), stride=vertical_stride,
                                         padding=vertical_padding, bias=False)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(middle))
    if activation:
        layers.append(nn.ReLU())
    layers.append(nn.Conv2d(middle, c_out, (1, l), stride=horizontal_stride,
                            padding=horizontal_padding, bias=False))
    return nn.Sequential(*layers)


def _value_mistakes(c_in: int, c_out: int, kernel_size: tuple[int, int],
                    stride: int) -> dict[str, Callable[[], nn.Module]]:
    """Wrong blocks with the reference's weight shapes and output shape, but other outputs."""
    s = stride
    mistakes: dict[str, Callable[[], nn.Module]] = {}
    if stride > 1:
        # (s, s) in the (k, 1) conv then 1 in the (1, l) conv, or the strides swapped: both
        # compute the same (wrong) function, so one hint names them both.
        mistakes["the (k, 1) convolution strides the columns too. The (1, l) kernel then reads "
                 "every s-th column, so its taps land s pixels apart: stride the (k, 1) conv "
                 "(s, 1) and the (1, l) conv (1, s)"] = (
            lambda: _pair(c_in, c_out, c_out, kernel_size, vertical_stride=(s, s),
                          horizontal_stride=(1, 1)))
    return mistakes


def _shape_mistakes(c_in: int, c_out: int, kernel_size: tuple[int, int],
                    stride: int) -> dict[str, nn.Module]:
    """Wrong blocks whose output shape differs from the reference's."""
    s = stride
    k, l = kernel_size
    return {
        "the padding is missing: pad the (k, 1) conv by (k // 2, 0) and the (1, l) conv by "
        "(0, l // 2) so the map keeps its size":
            _pair(c_in, c_out, c_out, kernel_size, vertical_stride=(s, 1),
                  horizontal_stride=(1, s), vertical_padding=(0, 0), horizontal_padding=(0, 0)),
        "the padding is on the wrong axes: the (k, 1) kernel needs rows added, (k // 2, 0), "
        "the (1, l) kernel columns, (0, l // 2)":
            _pair(c_in, c_out, c_out, kernel_size, vertical_stride=(s, 1),
                  horizontal_stride=(1, s), vertical_padding=(0, k // 2),
                  horizontal_padding=(l // 2, 0)),
        "the stride is applied twice: stride (s, 1) in the (k, 1) conv, (1, s) in the (1, l) "
        "conv, so each axis is strided once":
            _pair(c_in, c_out, c_out, kernel_size, vertical_stride=(s, s),
                  horizontal_stride=(s, s)),
    }


def _conv_layout(block: nn.Module) -> list[tuple[int, ...]]:
    """The shapes of the block's 4-D weights, in registration order."""
    return [tuple(p.shape) for p in block.parameters() if p.dim() == 4]


def _layout_hint(block: nn.Module, c_in: int, c_out: int, kernel_size: tuple[int, int]) -> str | None:
    """Name a structural mistake (order, middle width, channels, bias) before running anything."""
    k, l = kernel_size
    if any(isinstance(m, nn.Conv2d) and m.bias is not None for m in block.modules()):
        return ("your convolutions have biases: build them with bias=False (in the network a "
                "BatchNorm follows the block, and DecomposedConv2d(..., bias=False) has none).")
    layout = _conv_layout(block)
    if layout == [(c_out, c_in, 1, l), (c_out, c_out, k, 1)]:
        return ("you apply the (1, l) convolution first. That is a valid factorisation too "
                "(Inception-v3 puts 1×n first) and costs the same when k = l, but it is another "
                "family of kernels, so its outputs cannot match the reference's: put the (k, 1) "
                "convolution first.")
    if c_in != c_out and layout == [(c_in, c_in, k, 1), (c_out, c_in, 1, l)]:
        return (f"your middle has C_in = {c_in} maps. That is a valid (and here cheaper) choice, "
                f"but the reference, like the slide, puts C_out = {c_out} maps between the two "
                "convolutions: the (k, 1) conv maps C_in → C_out.")
    if c_in != c_out and layout == [(c_out, c_in, k, 1), (c_out, c_in, 1, l)]:
        return (f"your (1, l) convolution reads C_in = {c_in} maps, but the (k, 1) convolution "
                f"before it makes C_out = {c_out}: its in_channels is the middle width, C_out.")
    return None


def _inception_variants(c_in: int, c_out: int, kernel_size: tuple[int, int],
                        stride: int) -> dict[str, nn.Module]:
    """Inception-v3's choice, also accepted: a ReLU (with or without a BatchNorm before it) between
    the (k, 1) and the (1, l) convolutions, with the reference's strides and paddings."""
    pair = {"vertical_stride": (stride, 1), "horizontal_stride": (1, stride)}
    return {"a ReLU": _pair(c_in, c_out, c_out, kernel_size, activation=True, **pair),
            "a BatchNorm and a ReLU": _pair(c_in, c_out, c_out, kernel_size, activation=True,
                                             batchnorm=True, **pair)}


def _inception_success(between: str) -> str:
    return (f"✅ Accepted, a valid variant: {between} between the (k, 1) and the (1, l) convolution "
            "is Inception-v3's choice (Szegedy et al. 2016 follow every convolution with BatchNorm "
            "and ReLU), a block to train from scratch; otherwise same weights, outputs and cost as "
            "DecomposedConv2d. The exact conversion of this notebook needs no non-linearity: "
            "without one the pair is a single k×l kernel (of rank ≤ C_out), which is what lets a "
            "trained k×l convolution be split into it; with one, no trained kernel converts exactly.")


def _case_name(c_in: int, c_out: int, kernel_size: tuple[int, int], stride: int) -> str:
    return f"MyDecomposed({c_in}, {c_out}, kernel_size={kernel_size}, stride={stride})"


def check_exercise_3(block_class: object) -> Verdict:
    """Grade the student's class ``block_class(in_channels, out_channels, kernel_size, stride)``
    against ``DecomposedConv2d(..., bias=False)`` on each of ``EXERCISE_3_CASES``: weight shapes,
    outputs with the reference's weights copied in, output shape, then MACs and parameters.
    Inception-v3's variant, a (BatchNorm and) ReLU between the two convolutions, passes too."""
    between = None
    for c_in, c_out, kernel_size, stride, input_shape in EXERCISE_3_CASES:
        case = _case_name(c_in, c_out, kernel_size, stride)
        block = prepared_student_block(
            block_class, input_shape, c_in, c_out, kernel_size, stride,
            structure=lambda b: _layout_hint(b, c_in, c_out, kernel_size))
        if isinstance(block, Verdict):      # not built yet, or not gradable: say why
            return block if "Not yet —" in block.message else Verdict(False, f"{block.message} (for {case})")
        reference = DecomposedConv2d(c_in, c_out, kernel_size, stride, bias=False)
        verdict = _grade_one(block, reference, c_in, c_out, kernel_size, stride, input_shape)
        if not verdict:
            for name, variant in _inception_variants(c_in, c_out, kernel_size, stride).items():
                if _grade_one(block, variant, c_in, c_out, kernel_size, stride, input_shape):
                    verdict, between = Verdict(True, ""), name
                    break
        if not verdict:
            return Verdict(False, f"{verdict.message} (for {case})")
    if between is not None:
        return Verdict(True, _inception_success(between))
    c_in, c_out, kernel_size, stride, input_shape = EXERCISE_3_CASES[0]
    k, l = kernel_size
    pair = count(DecomposedConv2d(c_in, c_out, kernel_size, stride, bias=False), input_shape)
    full = count(nn.Conv2d(c_in, c_out, kernel_size, stride, (k // 2, l // 2), bias=False),
                 input_shape)
    return Verdict(True, f"✅ Correct: same weights, outputs and cost as DecomposedConv2d. For "
                         f"{_case_name(c_in, c_out, kernel_size, stride)}: {pair.macs:,} MACs against "
                         f"{full.macs:,} for the full {k}×{l} convolution on a "
                         f"{input_shape[2]}×{input_shape[3]} input.")


def _grade_one(block: nn.Module, reference: nn.Module, c_in: int, c_out: int,
               kernel_size: tuple[int, int], stride: int,
               input_shape: tuple[int, int, int, int]) -> Verdict:
    """One case: output shape (naming a shape mistake), then ``check_block``, then cost hints."""
    x = torch.zeros(input_shape)
    expected_shape = run_block(reference, x).shape
    got_shape = run_block(block, x).shape        # a tensor: prepared_student_block checked it
    if got_shape != expected_shape:
        for name, wrong in _shape_mistakes(c_in, c_out, kernel_size, stride).items():
            if run_block(wrong, x).shape == got_shape:
                return Verdict(False, f"❌ Not yet: your output has shape {tuple(got_shape)}, "
                                      f"the reference's {tuple(expected_shape)}: {name}.")
    verdict = check_block(block, reference, input_shape=input_shape,
                          mistakes=_value_mistakes(c_in, c_out, kernel_size, stride))
    if verdict or "same outputs, but" not in verdict.message:
        return verdict
    late_stride = _pair(c_in, c_out, c_out, kernel_size, vertical_stride=(1, 1),
                        horizontal_stride=(stride, stride))
    if count(block, input_shape).macs == count(late_stride, input_shape).macs:
        return Verdict(False, "❌ Not yet: same outputs, but your (k, 1) convolution runs at "
                              "stride 1 and computes rows that the strided (1, l) conv then "
                              "drops. Stride it (s, 1) and the (1, l) conv (1, s): same outputs, "
                              "fewer MACs.")
    return verdict


# ---------------------------------------------------------------------------------------------
# Exercise 4 (Going further)
# ---------------------------------------------------------------------------------------------
EXERCISE_4_KERNEL = 7


def check_exercise_4(answer: object) -> Verdict:
    """Largest whole r with r·(k + k) < k·k: exact per-slice rank r still cheaper than k×k."""
    k = EXERCISE_4_KERNEL
    expected = max(r for r in range(1, k + 1) if r * (k + k) < k * k)
    hints = {
        expected + 1: f"r = {expected + 1} costs {(expected + 1) * 2 * k}·C_in·C_out, "
                      f"more than {k * k}·C_in·C_out.",
        k * k / (k + k): "r must be a whole number of rank-1 terms (and strictly cheaper).",
        k: f"r = {k} is the full rank of a {k}×{k} slice: exact, but {2 * k * k}·C_in·C_out.",
    }
    return check_value(answer, expected, hints=hints,
                       general_hint="solve r·(k + k) < k·k for the largest whole r.",
                       success=f"r·14 < 49 holds up to r = {expected} "
                               f"(r = {expected + 1} costs {(expected + 1) * 2 * k} > {k * k}).")


__all__ = ["check_exercise_1", "check_exercise_2", "check_exercise_3", "check_exercise_4"]
