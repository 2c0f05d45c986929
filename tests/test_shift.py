"""Shift2d: the shift equals a one-hot depthwise convolution, autograd works through it, and the
channel → offset convention is the documented one (k² contiguous groups, row-major taps)."""
from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import switches
from course_utils.layers import Shift2d, ShiftConv2d
from course_utils.layers import shift_native
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


# --- Bit-for-bit against a naive reference (one slice assignment per channel into a zero tensor) ---

_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def naive_shift(x: torch.Tensor, offsets: list[list[int]]) -> torch.Tensor:
    """out[n, c, y, x] = in[n, c, y + dy, x + dx] (0 outside), written the obvious way."""
    h, w = x.shape[-2:]
    out = torch.zeros(x.shape, dtype=x.dtype)
    for c, (dy, dx) in enumerate(offsets):
        out[:, c, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)] = \
            x[:, c, max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)]
    return out


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal bit for bit: tells +0.0 from −0.0 and compares NaNs (torch.equal does neither)."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(_BITS[a.element_size()]),
                                                                     b.view(_BITS[b.element_size()]))


def awkward_values(shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Random values with NaNs, ±inf and −0.0 sprinkled in: a copy must keep each one's bits."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator)
    pick = torch.rand(shape, generator=generator)
    x[pick < 0.03] = float("nan")
    x[(pick >= 0.03) & (pick < 0.05)] = float("-inf")
    x[(pick >= 0.05) & (pick < 0.07)] = -0.0
    return x.to(dtype)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 30), h=st.integers(1, 10), w=st.integers(1, 10),
       k=st.sampled_from([1, 3, 5]), channels_last=st.booleans(), seed=st.integers(0, 10_000))
def test_forward_and_backward_bit_for_bit_against_naive(n, c, h, w, k, channels_last, seed):
    """Odd and even sizes, images smaller than the kernel, both memory formats; the output (and the
    input's gradient) is contiguous, as it always was."""
    shift = Shift2d(c, k)
    offsets = shift.offsets().tolist()
    x = awkward_values((n, c, h, w), seed)
    grad_out = awkward_values((n, c, h, w), seed + 1)
    if channels_last:
        x, grad_out = (t.contiguous(memory_format=torch.channels_last) for t in (x, grad_out))
    x.requires_grad_(True)
    out = shift(x)
    assert out.is_contiguous() and same_bits(out, naive_shift(x.detach(), offsets))
    (grad,) = torch.autograd.grad(out, x, grad_out)
    opposite = [[-dy, -dx] for dy, dx in offsets]
    assert grad.is_contiguous() and same_bits(grad, naive_shift(grad_out, opposite))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("size", [(32, 32), (7, 6), (2, 9)])
def test_every_float_dtype_bit_for_bit(dtype, size):
    x = awkward_values((2, 19, *size), seed=3, dtype=dtype)
    shift = Shift2d(19, 3)
    assert same_bits(shift(x), naive_shift(x, shift.offsets().tolist()))


@pytest.mark.parametrize("dy", [-4, -2, -1, 0, 1, 3])
@pytest.mark.parametrize("dx", [-3, -1, 0, 2, 5])
def test_one_group_over_all_channels_never_reads_outside_the_input(dy, dx):
    """A single group (the first AND the last one) is where the shifted read would leave the
    tensor: the input sits inside a NaN-filled buffer, so any read outside it would show."""
    buffer = torch.full((4, 5, 6, 7), float("nan"))
    x = buffer[1:3]
    x.copy_(awkward_values((2, 5, 6, 7), seed=dy * 10 + dx).nan_to_num(0.0))
    out = shift_channels(x, [(0, 5, dy, dx)])
    assert not out.isnan().any()
    assert same_bits(out, naive_shift(x, [[dy, dx]] * 5))


def test_benchmark_shape_both_formats_bit_for_bit():
    x = awkward_values((32, 64, 32, 32), seed=0)
    shift = Shift2d(64)
    expected = naive_shift(x, shift.offsets().tolist())
    assert same_bits(shift(x), expected)
    assert same_bits(shift(x.contiguous(memory_format=torch.channels_last)), expected)


# --- The compiled CPU kernel (shift_kernel.c) and the torch-ops path give the same bits ---

def test_the_compiled_kernel_builds_where_there_is_a_c_compiler():
    """Shift2d's speed on CPU rests on it: a machine with a compiler must not fall back silently."""
    if shift_native._compiler() is None or not switches.flag("COURSE_NATIVE_SHIFT", default=True):
        pytest.skip("no C compiler on this machine (or COURSE_NATIVE_SHIFT=0): Shift2d uses torch operations")
    assert shift_native.available()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 30), h=st.integers(1, 10), w=st.integers(1, 10),
       k=st.sampled_from([1, 3, 5, 7]), seed=st.integers(0, 10_000))
def test_compiled_and_torch_paths_agree_bit_for_bit(n, c, h, w, k, seed):
    """Forward and backward, shifts as large as the image and larger (whole planes of zeros)."""
    groups = shift_groups(c, k)
    x = awkward_values((n, c, h, w), seed).requires_grad_(True)
    grad_out = awkward_values((n, c, h, w), seed + 1)
    outputs = {}
    for implementation in ("auto", "torch"):
        out = shift_channels(x, groups, implementation=implementation)
        (grad,) = torch.autograd.grad(out, x, grad_out)
        outputs[implementation] = (out, grad)
    assert same_bits(outputs["auto"][0], outputs["torch"][0])
    assert same_bits(outputs["auto"][1], outputs["torch"][1])


def test_groups_that_do_not_tile_the_channels_take_the_torch_path():
    """The kernel needs one offset per channel; shift_attention passes one group per tap in use."""
    x = awkward_values((2, 6, 5, 5), seed=1)
    for groups in ([(0, 6, 1, -1)], [(0, 3, 0, 1), (3, 6, -1, 0)]):
        assert same_bits(shift_channels(x, groups), shift_channels(x, groups, implementation="torch"))


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="implementation='fast' must be one of 'auto', 'torch'"):
        shift_channels(torch.zeros(1, 9, 4, 4), shift_groups(9, 3), implementation="fast")


def test_a_failing_compiler_means_no_kernel_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "false")                      # a command that exits with status 1
    assert shift_native._compile(tmp_path / "kernel.so") is False
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    assert shift_native._compile(tmp_path / "kernel.so") is False
    assert not (tmp_path / "kernel.so").exists()


@pytest.mark.parametrize("bad, match", [
    (dict(x=torch.zeros(2, 3, 4, 4, dtype=torch.float64)), "x of shape \\(2, 3, 4, 4\\), torch.float64"),
    (dict(out=torch.zeros(2, 3, 4, 5)), "out of shape \\(2, 3, 4, 5\\) must have the shape of x"),
    (dict(out=torch.zeros(2, 3, 4, 8)[..., ::2]), "out of shape \\(2, 3, 4, 4\\).*must be a contiguous"),
    (dict(dy=torch.zeros(2, dtype=torch.int64)), "dy of shape \\(2,\\).*one offset per channel"),
    (dict(dx=torch.zeros(3, dtype=torch.int32)), "dx of shape \\(3,\\), torch.int32"),
])
def test_the_kernel_call_refuses_what_would_read_out_of_bounds(bad, match):
    """The kernel gets raw pointers: a wrong shape or dtype must be an error, not a crash."""
    if not shift_native.available():
        pytest.skip("no compiled kernel on this machine")
    arguments = dict(x=torch.zeros(2, 3, 4, 4), out=torch.zeros(2, 3, 4, 4),
                     dy=torch.zeros(3, dtype=torch.int64), dx=torch.zeros(3, dtype=torch.int64)) | bad
    with pytest.raises(ValueError, match=match):
        shift_native.shift_planes(**arguments)
