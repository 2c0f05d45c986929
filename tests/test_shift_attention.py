"""ShiftAttentionConv2d: the formula, hardening, the exact rebuild from shifts + 1×1 convs, the
paper's memory accounting, the temperature schedule and argument validation."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.cost import count
from course_utils.layers import ShiftAttentionConv2d
from course_utils.layers.shift_attention import sal_memory_words
from course_utils.models.resnet20 import ResNet20Style
from course_utils.experiments.sal import geometric_temperature, temperature_step_hook
from course_utils.models.sal import harden, memory_words, one_hot_fraction, set_temperature, to_shift_model


def random_layer(c_in, c_out, k, stride, shared, bias, seed) -> ShiftAttentionConv2d:
    torch.manual_seed(seed)
    layer = ShiftAttentionConv2d(c_in, c_out, k, stride, shared=shared, bias=bias)
    with torch.no_grad():
        layer.attention.normal_()        # a random, trained-looking attention
    return layer


def test_forward_is_the_formula():
    layer = random_layer(5, 4, 3, 1, False, True, 0)
    layer.set_temperature(33.0)
    a = layer.attention
    attention = torch.softmax(33.0 * a / a.std(-1, keepdim=True), -1).view(4, 5, 3, 3)
    x = torch.randn(2, 5, 7, 7)
    expected = F.conv2d(x, attention * layer.weight, layer.bias, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_shared_attention_is_one_vector_per_input_channel():
    layer = random_layer(6, 8, 3, 1, True, False, 1)
    assert layer.attention.shape == (1, 6, 9)
    kernel = layer.kernel()
    ratio = kernel / layer.weight
    assert torch.allclose(ratio, ratio[:1].expand_as(ratio), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(c_in=st.integers(1, 12), c_out=st.integers(1, 12), k=st.sampled_from([1, 3, 5]), stride=st.integers(1, 3),
       h=st.integers(1, 11), w=st.integers(1, 11), shared=st.booleans(), bias=st.booleans(),
       seed=st.integers(0, 1000))
def test_hardened_equals_to_shift(c_in, c_out, k, stride, h, w, shared, bias, seed):
    layer = random_layer(c_in, c_out, k, stride, shared, bias, seed).harden()
    x = torch.randn(2, c_in, h, w, generator=torch.Generator().manual_seed(seed))
    rebuilt = layer.to_shift()
    assert torch.allclose(layer(x), rebuilt(x), atol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_to_shift_holds_no_kxk_convolution(shared):
    rebuilt = random_layer(16, 24, 3, 2, shared, False, 3).harden().to_shift()
    convs = [m for m in rebuilt.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.kernel_size == (1, 1) for m in convs)
    assert all(p.dim() <= 4 and (p.dim() < 4 or p.shape[-2:] == (1, 1)) for p in rebuilt.parameters())
    assert sum(p.numel() for p in rebuilt.parameters()) == 16 * 24     # one weight per (out, in) slice


def test_hardened_kernel_keeps_one_weight_per_slice():
    layer = random_layer(7, 9, 3, 1, False, False, 4).harden()
    assert ((layer.kernel() != 0).flatten(2).sum(-1) == 1).all()
    assert layer.one_hot_fraction() == 1.0


def test_to_shift_needs_harden_first():
    with pytest.raises(ValueError, match="harden"):
        random_layer(3, 3, 3, 1, False, False, 0).to_shift()


def test_high_temperature_makes_attention_one_hot_and_equal_to_hardened():
    layer = random_layer(8, 8, 3, 1, False, False, 5)
    layer.set_temperature(1e4)
    x = torch.randn(1, 8, 6, 6)
    soft = layer(x)
    assert layer.one_hot_fraction() == 1.0
    assert torch.allclose(soft, layer.harden()(x), atol=1e-5)


def test_memory_accounting_matches_the_paper():
    assert sal_memory_words(64, 64, 3) == 64 * 64 * 36 / 32
    assert sal_memory_words(64, 32, 3, shared=True) == 64 * 32 + 64 * 4 / 32
    assert sal_memory_words(10, 10, 1) == 100                 # one tap: no index to store
    assert ShiftAttentionConv2d(16, 32).memory_words() == 16 * 32 * 36 / 32


def test_model_memory_is_the_same_before_and_after_to_shift():
    torch.manual_seed(0)
    model = ResNet20Style("sal", width=0.25, blocks=1)
    before = memory_words(model)
    after = memory_words(to_shift_model(harden(model)))
    assert before == pytest.approx(after)
    assert not any(isinstance(m, ShiftAttentionConv2d) for m in model.modules())


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("stride", [1, 2])
def test_cost_equals_measured_dense_conv(shared, stride):
    layer = ShiftAttentionConv2d(6, 10, 3, stride, shared=shared, bias=True)
    assert layer.cost((9, 8)) == count(layer, (1, 6, 9, 8))


def test_shifted_pointwise_cost_is_the_sparse_count():
    rebuilt = random_layer(6, 10, 3, 1, False, False, 2).harden().to_shift()
    cost = rebuilt.cost((8, 8))
    assert cost.params == 60 and cost.macs == 60 * 64
    # the masked-dense implementation executes one 1×1 conv per offset in use
    assert count(rebuilt, (1, 6, 8, 8)).macs == cost.macs * len(rebuilt.offsets)


def test_whole_model_rebuild_matches_hardened_model():
    torch.manual_seed(1)
    model = ResNet20Style("sal", width=0.5, blocks=1).eval()
    for layer in model.modules():
        if isinstance(layer, ShiftAttentionConv2d):
            layer.attention.data.normal_()
    x = torch.randn(2, 3, 32, 32)
    hardened = harden(model)(x)
    assert torch.allclose(to_shift_model(model)(x), hardened, atol=1e-4)


def test_geometric_schedule_and_step_hook():
    assert geometric_temperature(0, 100) == pytest.approx(20.0)
    assert geometric_temperature(99, 100) == pytest.approx(70.0)
    ratios = [geometric_temperature(s + 1, 100) / geometric_temperature(s, 100) for s in range(98)]
    assert max(ratios) == pytest.approx(min(ratios))            # multiplied by the same factor each step
    model = ResNet20Style("sal", width=0.25, blocks=1)
    temperature_step_hook(model, 49, 99)
    temps = [float(m.temperature) for m in model.modules() if isinstance(m, ShiftAttentionConv2d)]
    assert len(temps) == 6 and temps == pytest.approx([20 * 3.5 ** 0.5] * 6)
    set_temperature(model, 1e5)
    assert one_hot_fraction(model) == 1.0


def test_reset_parameters_restores_start_state():
    layer = random_layer(4, 4, 3, 1, False, False, 0).harden()
    layer.set_temperature(60.0)
    layer.reset_parameters()
    assert not bool(layer.hardened) and float(layer.temperature) == 20.0
    assert 0 <= layer.attention.min() and layer.attention.max() <= 1


def test_gradients_reach_weights_and_attention():
    layer = ShiftAttentionConv2d(3, 4)
    layer(torch.randn(2, 3, 5, 5)).square().sum().backward()
    assert layer.weight.grad.abs().sum() > 0 and layer.attention.grad.abs().sum() > 0


@pytest.mark.parametrize("make, words", [
    (lambda: ShiftAttentionConv2d(0, 4), ["in_channels=0", "positive"]),
    (lambda: ShiftAttentionConv2d(4, -2), ["out_channels=-2", "positive"]),
    (lambda: ShiftAttentionConv2d(4, 4, kernel_size=4), ["kernel_size=4", "odd"]),
    (lambda: ShiftAttentionConv2d(4, 4, stride=0), ["stride=0", "positive"]),
    (lambda: ShiftAttentionConv2d(4, 4, shared="yes"), ["shared='yes'"]),
    (lambda: ShiftAttentionConv2d(4, 4, temperature=0), ["temperature=0", "positive"]),
    (lambda: ShiftAttentionConv2d(4, 4).set_temperature(-1), ["temperature=-1"]),
    (lambda: ShiftAttentionConv2d(4, 4).one_hot_fraction(1.5), ["threshold=1.5"]),
    (lambda: geometric_temperature(-1, 10), ["step=-1"]),
    (lambda: geometric_temperature(0, 0), ["total_steps=0"]),
    (lambda: sal_memory_words(4, 4, 2), ["kernel_size=2", "odd"]),
    (lambda: ResNet20Style("dense"), ["kind='dense'"]),
    (lambda: ResNet20Style(width=0), ["width=0"]),
    (lambda: one_hot_fraction(nn.Linear(2, 2)), ["no ShiftAttentionConv2d"]),
])
def test_bad_arguments_raise_value_error(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)
