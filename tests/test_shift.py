"""Shift2d: the shift equals a one-hot depthwise convolution, autograd works through it, and the
channel → offset convention is the documented one (k² contiguous groups, row-major taps)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.layers import Shift2d, ShiftConv2d
from course_utils.layers.shift import shift_channels, shift_groups


def one_hot_depthwise(x: torch.Tensor, shift: Shift2d) -> torch.Tensor:
    """Reference: a k×k depthwise conv whose kernel for channel c is 1 at tap (dy + r, dx + r)."""
    k, r = shift.kernel_size, shift.kernel_size // 2
    weight = torch.zeros(shift.channels, 1, k, k, dtype=x.dtype, device=x.device)
    for c, (dy, dx) in enumerate(shift.offsets().tolist()):
        weight[c, 0, dy + r, dx + r] = 1.0
    return F.conv2d(x, weight, padding=r, groups=shift.channels)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 40), h=st.integers(1, 9), w=st.integers(1, 9),
       k=st.sampled_from([1, 3, 5, 7]), seed=st.integers(0, 10_000))
def test_shift_equals_one_hot_depthwise_conv(n, c, h, w, k, seed):
    """Includes images smaller than the kernel (whole planes become zero)."""
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))
    shift = Shift2d(c, k)
    assert torch.equal(shift(x), one_hot_depthwise(x, shift))


def test_shift_on_the_benchmark_shape_and_in_float64():
    x = torch.randn(4, 64, 32, 32, dtype=torch.float64)
    shift = Shift2d(64)
    assert torch.equal(shift(x), one_hot_depthwise(x, shift))


@pytest.mark.parametrize("layout", ["channels_last", "transposed", "sliced"])
def test_non_contiguous_input(layout):
    base = torch.randn(2, 18, 7, 6)
    x = {"channels_last": base.to(memory_format=torch.channels_last),
         "transposed": base.transpose(2, 3).contiguous().transpose(2, 3),
         "sliced": torch.randn(2, 36, 7, 6)[:, ::2]}[layout]
    shift = Shift2d(18)
    assert torch.equal(shift(x), one_hot_depthwise(x.contiguous(), shift))


def test_gradcheck_float64():
    """Autograd: the backward (the opposite shift) is the exact adjoint; twice differentiable."""
    x = torch.randn(2, 11, 5, 4, dtype=torch.float64, requires_grad=True)
    shift = Shift2d(11, 3)
    assert torch.autograd.gradcheck(shift, (x,))
    assert torch.autograd.gradgradcheck(shift, (x,))


def test_gradient_equals_the_depthwise_conv_gradient():
    x = torch.randn(3, 20, 6, 6, requires_grad=True)
    grad_out = torch.randn(3, 20, 6, 6)
    shift = Shift2d(20, 5)
    (grad_shift,) = torch.autograd.grad(shift(x), x, grad_out)
    (grad_conv,) = torch.autograd.grad(one_hot_depthwise(x, shift), x, grad_out)
    assert torch.allclose(grad_shift, grad_conv)


def test_groups_are_contiguous_even_and_row_major():
    groups = shift_groups(64, 3)
    assert [(dy, dx) for _, _, dy, dx in groups] == [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assert groups[0][0] == 0 and groups[-1][1] == 64
    assert all(groups[i][1] == groups[i + 1][0] for i in range(len(groups) - 1))
    sizes = [end - first for first, end, _, _ in groups]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 64


def test_fewer_channels_than_taps_skip_empty_groups():
    groups = shift_groups(4, 3)
    assert len(groups) == 4 and [end - first for first, end, _, _ in groups] == [1, 1, 1, 1]


def test_channel_moves_the_way_the_formula_says():
    """out[n, c, y, x] = in[n, c, y + dy, x + dx]: a single bright pixel moves by (−dy, −dx)."""
    shift = Shift2d(9, 3)
    x = torch.zeros(1, 9, 5, 5)
    x[:, :, 2, 2] = 1.0
    out = shift(x)
    for c, (dy, dx) in enumerate(shift.offsets().tolist()):
        assert out[0, c, 2 - dy, 2 - dx] == 1.0 and out[0, c].sum() == 1.0


def test_shift_channels_function_matches_module():
    x = torch.randn(2, 10, 4, 4)
    assert torch.equal(shift_channels(x, shift_groups(10, 3)), Shift2d(10)(x))


def test_no_parameters_and_no_macs():
    shift = Shift2d(32, 5)
    assert sum(p.numel() for p in shift.parameters()) == 0
    assert shift.cost((8, 8)).params == 0 and shift.cost((8, 8)).macs == 0


def test_shift_conv_is_shift_then_pointwise():
    layer = ShiftConv2d(12, 7, kernel_size=3, stride=2)
    x = torch.randn(2, 12, 9, 9)
    assert torch.allclose(layer(x), layer.pointwise(one_hot_depthwise(x, layer.shift)), atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_shift_on_cuda_equals_cpu():
    x = torch.randn(2, 30, 9, 8)
    shift = Shift2d(30, 3)
    assert torch.equal(shift(x.cuda()).cpu(), shift(x))
