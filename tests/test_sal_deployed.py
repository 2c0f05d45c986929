"""Deployed forms of a hardened SAL (course_utils.layers.sal_deployed): each computes the hardened layer's
function (atol 1e-5), layer by layer and for a whole lab network, and counts MACs needed vs executed."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from course_utils.cost import count
from course_utils.layers import GatheredShiftPointwise, ShiftAttentionConv2d
from course_utils.layers.sal_deployed import (FORMS, MacCount, deploy, macs_executed, macs_needed, network_macs,
                                              to_deployed_model, to_dense_conv)
from course_utils.layers.shift_attention import ChannelShift, ShiftedPointwise
from course_utils.models.baseline import BaselineCNN
from course_utils.experiments.lab import lab_model
from course_utils.models.sal import deployed_cost
from course_utils.models.sal import harden, sal_layers, to_shift_model

ATOL = 1e-5


def hardened_layer(c_in, c_out, k=3, stride=1, *, shared=False, bias=False, seed=0, taps=None) -> ShiftAttentionConv2d:
    """A hardened layer with a random attention; ``taps``: only these taps may win (fewer taps in use)."""
    torch.manual_seed(seed)
    layer = ShiftAttentionConv2d(c_in, c_out, k, stride, shared=shared, bias=bias)
    with torch.no_grad():
        layer.attention.normal_()
        if taps is not None:
            allowed = torch.zeros(k * k, dtype=torch.bool)
            allowed[list(taps)] = True
            layer.attention.masked_fill_(~allowed, -10.0)
    return layer.harden()


SHAPES = [(5, 7, 3, 9, 8), (16, 24, 3, 8, 8), (3, 1, 3, 5, 11), (1, 4, 3, 1, 1), (6, 4, 5, 7, 6), (4, 6, 1, 4, 5)]


@pytest.mark.parametrize("c_in, c_out, k, h, w", SHAPES)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shared", [False, True])
def test_every_form_equals_the_hardened_layer(c_in, c_out, k, h, w, stride, bias, shared):
    layer = hardened_layer(c_in, c_out, k, stride, shared=shared, bias=bias, seed=c_in * 31 + h)
    x = torch.randn(3, c_in, h, w, generator=torch.Generator().manual_seed(h * w))
    with torch.no_grad():
        expected = layer(x)
        assert torch.allclose(layer.to_shift()(x), expected, atol=ATOL)          # the masked form
        forms = [GatheredShiftPointwise.from_layer(layer), to_dense_conv(layer),
                 *(deploy(layer, form=form) for form in FORMS)]
        if not shared:
            forms += [GatheredShiftPointwise.from_layer(layer.to_shift()), to_dense_conv(layer.to_shift()),
                      deploy(layer.to_shift())]
        for form in forms:
            out = form(x)
            assert out.shape == expected.shape
            assert torch.allclose(out, expected, atol=ATOL), type(form).__name__


def test_shared_layer_deploys_as_shift_then_one_pointwise():
    layer = hardened_layer(12, 10, shared=True)
    for form in FORMS:
        deployed = deploy(layer, form=form)
        assert isinstance(deployed, nn.Sequential) and isinstance(deployed[0], ChannelShift)
        assert deployed[1].kernel_size == (1, 1)
        assert macs_executed(deployed, (8, 8)) == macs_needed(deployed, (8, 8)) == 12 * 10 * 64


def test_auto_picks_the_gathered_form_only_when_few_taps_are_used():
    few = hardened_layer(8, 8, taps=(1, 4, 7))
    many = hardened_layer(8, 8)
    assert isinstance(deploy(few), GatheredShiftPointwise) and deploy(few).taps_in_use == 3
    assert int(torch.unique(many.chosen_taps()).numel()) == 9
    assert isinstance(deploy(many), nn.Conv2d) and deploy(many).kernel_size == (3, 3)
    assert isinstance(deploy(many, form="gathered"), GatheredShiftPointwise)
    assert isinstance(deploy(few, form="conv"), nn.Conv2d)


@pytest.mark.parametrize("stride", [1, 2])
def test_gathered_form_shifts_only_the_taps_in_use(stride):
    layer = hardened_layer(6, 5, stride=stride, bias=True, taps=(0, 8))
    gathered = GatheredShiftPointwise.from_layer(layer)
    x = torch.randn(2, 6, 7, 9)
    assert gathered.taps_in_use == 2 and gathered.used_taps.tolist() == [0, 8]
    assert gathered.gather(x).shape == (2, 2 * 6, *layer(x).shape[-2:])
    assert gathered.packed_weight().shape == (5, 2 * 6)
    assert int(torch.count_nonzero(gathered.packed_weight())) == 5 * 6          # one weight per slice
    assert torch.allclose(gathered(x), layer(x), atol=ATOL)


def test_dense_conv_kernel_keeps_one_weight_per_slice():
    layer = hardened_layer(7, 9, bias=True)
    conv = to_dense_conv(layer)
    assert torch.equal(conv.weight, layer.kernel().detach())
    assert ((conv.weight != 0).flatten(2).sum(-1) == 1).all()


def test_large_batch_is_gathered_in_chunks():
    layer = hardened_layer(64, 16)
    gathered = GatheredShiftPointwise.from_layer(layer)
    x = torch.randn(9, 64, 32, 32)               # 2.4 MB of shifted copies per image: several chunks
    with torch.no_grad():
        assert torch.allclose(gathered(x), layer(x), atol=ATOL)


def test_gathered_weights_are_trainable():
    gathered = GatheredShiftPointwise.from_layer(hardened_layer(4, 3, bias=True))
    gathered(torch.randn(2, 4, 5, 5)).square().sum().backward()
    assert gathered.weight.grad.abs().sum() > 0 and gathered.bias.grad.abs().sum() > 0


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("taps", [None, (2, 4, 6)])
def test_macs_executed_is_what_torch_counts(stride, taps):
    layer = hardened_layer(6, 10, stride=stride, bias=True, taps=taps)
    used = 9 if taps is None else len(taps)
    h_out, w_out = (9 - 1) // stride + 1, (8 - 1) // stride + 1
    needed = 6 * 10 * h_out * w_out
    for module, executed in [(layer, 9 * needed), (layer.to_shift(), used * needed),
                             (GatheredShiftPointwise.from_layer(layer), used * needed),
                             (to_dense_conv(layer), 9 * needed)]:
        assert macs_executed(module, (9, 8)) == executed == count(module, (1, 6, 9, 8)).macs
        assert macs_needed(module, (9, 8)) == needed


def test_gathered_cost_is_the_papers_count():
    layer = hardened_layer(6, 10, stride=2, bias=True)
    gathered = GatheredShiftPointwise.from_layer(layer)
    assert gathered.cost((9, 8)) == layer.to_shift().cost((9, 8))
    assert gathered.cost((9, 8)).params == count(gathered, (1, 6, 9, 8)).params == 6 * 10 + 10
    assert gathered.cost((9, 8)).macs == macs_needed(gathered, (9, 8))


def test_a_soft_layer_needs_every_tap():
    layer = ShiftAttentionConv2d(4, 5, temperature=1.0)
    assert macs_needed(layer, (6, 6)) == macs_executed(layer, (6, 6)) == 9 * 4 * 5 * 36


def sal_network(width: float, *, shared: bool = False, seed: int = 0) -> BaselineCNN:
    """The lab's SAL network (random attention, so that every tap is in use), hardened, in eval mode;
    ``shared``: every SAL layer replaced by a shared one of the same shape."""
    torch.manual_seed(seed)
    model = lab_model("sal", width)
    assert isinstance(model, BaselineCNN)
    for block in model.modules():
        for name, child in list(block.named_children()):
            if isinstance(child, ShiftAttentionConv2d) and shared:
                setattr(block, name, ShiftAttentionConv2d(child.in_channels, child.out_channels, child.kernel_size,
                                                          child.stride, shared=True))
    with torch.no_grad():
        for layer in sal_layers(model):
            layer.attention.normal_()
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 1.5)
    return harden(model).eval()


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("form", FORMS)
def test_whole_network_equals_the_hardened_network(form, shared):
    model = sal_network(0.5, shared=shared)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features, logits = model.body(model.stem(x)), model(x)
        deployed = to_deployed_model(copy.deepcopy(model), form=form)
        assert not any(isinstance(m, (ShiftAttentionConv2d, ShiftedPointwise)) for m in deployed.modules())
        assert torch.allclose(deployed.body(deployed.stem(x)), features, atol=ATOL)
        assert torch.allclose(deployed(x), logits, atol=ATOL)
        # from the masked network too
        masked = to_deployed_model(to_shift_model(copy.deepcopy(model)), form=form)
        assert torch.allclose(masked(x), logits, atol=ATOL)


def test_whole_network_macs_needed_and_executed():
    model = sal_network(0.5)
    needed = deployed_cost(model).macs                                    # the paper's accounting
    hardened = network_macs(model)
    assert hardened == MacCount(needed=needed, executed=count(model, (1, 3, 32, 32)).macs)
    assert network_macs(model, (4, 3, 32, 32)) == MacCount(4 * hardened.needed, 4 * hardened.executed)
    for form in FORMS:
        deployed = to_deployed_model(copy.deepcopy(model), form=form)
        macs = network_macs(deployed)
        assert macs.needed == needed and macs.executed == count(deployed, (1, 3, 32, 32)).macs
    masked = network_macs(to_shift_model(copy.deepcopy(model)))
    assert masked.needed == needed and masked.executed == hardened.executed      # all 9 taps in use
    shared = sal_network(0.5, shared=True)
    deployed_shared = network_macs(to_deployed_model(shared))
    assert deployed_shared.needed == deployed_shared.executed == needed
    assert deployed_shared.executed_per_needed == 1.0 and hardened.executed_per_needed > 3
    standard = BaselineCNN("standard", 0.5)
    assert network_macs(standard).executed_per_needed == 1.0


TAPS = torch.zeros(2, 3, dtype=torch.long)


@pytest.mark.parametrize("make, words", [
    (lambda: deploy(ShiftAttentionConv2d(3, 4)), ["layer=ShiftAttentionConv2d(3, 4", "harden"]),
    (lambda: GatheredShiftPointwise.from_layer(ShiftAttentionConv2d(3, 4)), ["layer=", "harden"]),
    (lambda: to_dense_conv(ShiftAttentionConv2d(3, 4)), ["layer=", "harden"]),
    (lambda: deploy(nn.Linear(3, 4)), ["layer=Linear", "ShiftAttentionConv2d"]),
    (lambda: deploy(hardened_layer(3, 4), form="fast"), ["form='fast'", "'auto'"]),
    (lambda: to_deployed_model(BaselineCNN("sal", 0.25)), ["model has 5 SAL layer(s) not hardened", "harden"]),
    (lambda: to_deployed_model("net"), ["model=str"]),
    (lambda: to_deployed_model(harden(BaselineCNN("sal", 0.25)), form="gather"), ["form='gather'"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3, 1), TAPS, 3), ["weight of shape (2, 3, 1)"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS.t(), 3), ["taps of shape (3, 2)"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS.float(), 3), ["taps of shape (2, 3)", "integer"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS + 9, 3), ["taps=9", "[0, 9)"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS, 2), ["kernel_size=2", "odd"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS, 3, 0), ["stride=0"]),
    (lambda: GatheredShiftPointwise(torch.zeros(2, 3), TAPS, 3, bias=torch.zeros(3)), ["bias of shape (3,)", "(2,)"]),
    (lambda: GatheredShiftPointwise.from_layer(hardened_layer(3, 4))(torch.zeros(1, 4, 5, 5)), ["3 channels"]),
    (lambda: macs_needed(nn.Linear(3, 4), (4, 4)), ["layer=Linear"]),
    (lambda: macs_executed(hardened_layer(3, 4), (0, 4)), ["input_hw=(0, 4)"]),
    (lambda: network_macs(BaselineCNN("sal", 0.25), (3, 32, 32)), ["input_size=(3, 32, 32)"]),
    (lambda: network_macs("net"), ["model=str"]),
])
def test_bad_arguments_raise_value_error(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)
