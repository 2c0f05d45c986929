"""The architectures reproduce the papers' and torchvision's numbers, layer for layer.

Expected values are the published figures (facts.md): exact integers where torchvision has the
model (and then also compared with torchvision's own count), rounded MACs where only the paper does.
"""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models._utils import _make_divisible

from course_utils.cost import conv2d_cost, count, depthwise_separable_cost, batchnorm_cost
from course_utils.layers import DepthwiseSeparableConv2d, Fire, InvertedResidual
from course_utils.models.layer_table import layer_table, leaf_costs
from course_utils.models.mobilenet import (MOBILENET_V1_TABLE, make_divisible, mobilenet_v1, mobilenet_v1_cifar,
                                           mobilenet_v2, mobilenet_v2_cifar)
from course_utils.models.baseline import baseline_cnn
from course_utils.models.resnet20 import ResNet20Style
from course_utils.models.squeezenet import squeezenet, squeezenet_cifar

IMAGENET = (1, 3, 224, 224)
CIFAR = (1, 3, 32, 32)


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model on the meta device: counting its params and MACs then needs shapes only (fast)."""
    with torch.device("meta"):
        return build(*args, **kwargs)


def leaf_signature(model: nn.Module) -> list[tuple]:
    """Every leaf module in order, with what defines its computation (types, shapes, strides, groups)."""
    signature = []
    for module in model.modules():
        if list(module.children()):
            continue
        if isinstance(module, nn.Conv2d):
            signature.append(("Conv2d", module.in_channels, module.out_channels, module.kernel_size,
                              module.stride, module.padding, module.groups, module.bias is not None))
        elif isinstance(module, nn.BatchNorm2d):
            signature.append(("BatchNorm2d", module.num_features, module.eps, module.momentum))
        elif isinstance(module, nn.Linear):
            signature.append(("Linear", module.in_features, module.out_features))
        elif isinstance(module, nn.MaxPool2d):
            signature.append(("MaxPool2d", module.kernel_size, module.stride, module.ceil_mode))
        elif isinstance(module, nn.Dropout):
            signature.append(("Dropout", module.p))
        else:
            signature.append((type(module).__name__,))
    return signature


def assert_same_as_torchvision(ours: nn.Module, reference: nn.Module, input_size=IMAGENET) -> None:
    """Same leaves in the same order, same state-dict keys and shapes, same outputs with the same weights."""
    assert leaf_signature(ours) == leaf_signature(reference)
    ours_state, reference_state = ours.state_dict(), reference.state_dict()
    assert [(k, v.shape) for k, v in ours_state.items()] == [(k, v.shape) for k, v in reference_state.items()]
    torch.manual_seed(0)
    with torch.no_grad():  # random weights and BN statistics, so every layer matters
        for tensor in reference_state.values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) * 0.2 + 0.9 if tensor.dim() == 1 else torch.randn_like(tensor) * 0.05)
    ours.load_state_dict(reference_state)
    ours.eval(), reference.eval()
    x = torch.randn(input_size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# SqueezeNet
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, params, mmacs", [("1_0", 1_248_424, 818.9), ("1_1", 1_235_496, 349.2)])
def test_squeezenet_counts(version, params, mmacs):
    ours = count(on_meta(squeezenet, version), IMAGENET)
    reference = count(on_meta(getattr(torchvision.models, f"squeezenet{version}")), IMAGENET)
    assert ours.params == params
    assert round(ours.macs / 1e6, 1) == mmacs
    assert ours == reference


@pytest.mark.parametrize("version", ["1_0", "1_1"])
def test_squeezenet_matches_torchvision_layer_for_layer(version):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, f"squeezenet{version}")()
    assert_same_as_torchvision(squeezenet(version), reference, input_size=(2, 3, 96, 96))


def test_squeezenet_layer_table_sums_to_the_total_and_follows_table_1():
    model = on_meta(squeezenet, "1_0")
    table = layer_table(model.named_stages(), IMAGENET)
    assert table[["params", "MACs"]].sum().tolist() == [1_248_424, count(model, IMAGENET).macs]
    # Output sizes of the paper's Table 1 (55×55 there; torchvision's 7×7/2 stem without padding gives 54×54).
    assert table.loc["fire9", "output (C × H × W)"] == "512 × 13 × 13"
    assert table.loc["avgpool10", "output (C × H × W)"] == "1000 × 1 × 1"
    assert sum(isinstance(m, Fire) for m in model.modules()) == 8


def test_fire_rows_cost_what_fire_cost_says():
    model = on_meta(squeezenet, "1_0")
    for name, module in model.named_stages():
        if isinstance(module, Fire):
            assert module.cost((13, 13)) == count(module, (1, module.in_channels, 13, 13)), name


def test_squeezenet_cifar_variant_keeps_32x32_until_the_first_pool():
    model = squeezenet_cifar()
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    table = layer_table(model.named_stages(), CIFAR)
    assert table.loc["conv1", "output (C × H × W)"] == "32 × 32 × 32"
    assert table.loc["fire7", "output (C × H × W)"] == "96 × 4 × 4"
    assert table[["params", "MACs"]].sum().tolist() == [44_874, count(model, CIFAR).macs]


def test_squeezenet_cifar_is_clearly_smaller_than_the_course_baseline():
    """SqueezeNet's claim is about size: its CIFAR version has 3-5× fewer parameters than the baseline."""
    ours, baseline = count(on_meta(squeezenet_cifar), CIFAR), count(on_meta(baseline_cnn, "standard"), CIFAR)
    assert (ours.params, round(ours.macs / 1e6, 2)) == (44_874, 2.87)
    assert 3 <= baseline.params / ours.params <= 5
    assert ours.macs < baseline.macs / 3


def test_squeezenet_cifar_has_batchnorm_after_conv1_and_every_fire_and_the_imagenet_versions_none():
    model = squeezenet_cifar()
    kinds = [type(m).__name__ for m in model.features]
    fires = [i for i, kind in enumerate(kinds) if kind == "Fire"]
    assert len(fires) == 6 and all(kinds[i + 1] == "BatchNorm2d" for i in fires)
    assert kinds[:3] == ["Conv2d", "BatchNorm2d", "ReLU"] and model.features[0].bias is None
    assert model.classifier[0].p == 0.0                          # no dropout: the course recipe, like the baseline
    stages = dict(model.named_stages())                          # a row's BN (and ReLU) belong to its row
    assert [type(m).__name__ for m in stages["conv1"]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert [type(m).__name__ for m in stages["fire2"]] == ["Fire", "BatchNorm2d"]
    for version in ("1_0", "1_1"):
        imagenet = on_meta(squeezenet, version)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in imagenet.modules())
        assert imagenet.classifier[0].p == 0.5                   # the paper's dropout
    assert squeezenet("cifar", dropout=0.25).classifier[0].p == 0.25


def test_squeezenet_reset_parameters_resets_batchnorm_too():
    model = squeezenet_cifar()
    batchnorms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in batchnorms:
            bn.weight.fill_(3.0), bn.bias.fill_(-1.0)
    model.reset_parameters()
    assert all(bool((bn.weight == 1).all() and (bn.bias == 0).all()) for bn in batchnorms)
    assert model.classifier[1].weight.std().item() == pytest.approx(0.01, rel=0.2)


# ---------------------------------------------------------------------------------------------
# MobileNetV1 (no torchvision model: the paper's numbers, and the table recomputed analytically)
# ---------------------------------------------------------------------------------------------
def params_without_batchnorm(model: nn.Module, input_size=IMAGENET) -> int:
    costs = leaf_costs(model, input_size)
    return int(costs.loc[costs["kind"] != "batchnorm", "params"].sum())


def v1_analytic_cost(width_mult: float, resolution: int = 224) -> tuple[int, int]:
    """(params with BN, MACs) from the layer table and course_utils.cost's formulas alone."""
    channels, size = int(32 * width_mult), resolution // 2
    total = conv2d_cost(3, 3, 3, channels, h_out=size, w_out=size) + batchnorm_cost(channels)
    for out, stride in MOBILENET_V1_TABLE:
        size = (size - 1) // stride + 1
        total = total + depthwise_separable_cost(3, 3, channels, int(out * width_mult), h_out=size, w_out=size)
        channels = int(out * width_mult)
    fc = channels * 1000
    return total.params + fc + 1000, total.macs + fc


def test_mobilenet_v1_parameters_match_the_paper_within_half_a_percent():
    model = on_meta(mobilenet_v1)
    without_bn = params_without_batchnorm(model)
    assert without_bn == 4_210_088                    # convolutions + FC, as the paper counts
    assert abs(without_bn / 4.2e6 - 1) < 0.005        # paper: 4.2 M
    assert count(model, IMAGENET).params == without_bn + 21_888  # γ, β of 10,944 BatchNorm channels
    assert sum(isinstance(m, DepthwiseSeparableConv2d) for m in model.modules()) == 13


@pytest.mark.parametrize("width_mult, mmacs, mparams", [(1.0, 568.7, 4.21), (0.75, 325.4, 2.57),
                                                        (0.5, 149.5, 1.32), (0.25, 41.0, 0.46)])
def test_mobilenet_v1_width_multiplier_reproduces_table_6(width_mult, mmacs, mparams):
    # Paper's params for α = 0.25 read 0.47 M; conv + FC weights give 0.4646 M (the MACs agree exactly).
    model = on_meta(mobilenet_v1, width_mult)
    measured = count(model, IMAGENET)
    assert round(measured.macs / 1e6, 1) == mmacs
    assert round(params_without_batchnorm(model) / 1e6, 2) == mparams
    assert (measured.params, measured.macs) == v1_analytic_cost(width_mult)


@pytest.mark.parametrize("resolution, mmacs", [(224, 569), (192, 418), (160, 291), (128, 186)])
def test_mobilenet_v1_resolution_multiplier_reproduces_table_7(resolution, mmacs):
    macs = count(on_meta(mobilenet_v1), (1, 3, resolution, resolution)).macs
    assert round(macs / 1e6) == mmacs
    assert macs == v1_analytic_cost(1.0, resolution)[1]


def test_mobilenet_v1_pointwise_convs_hold_95_percent_of_macs():
    model = on_meta(mobilenet_v1)
    costs = leaf_costs(model, IMAGENET)
    weights = costs[costs["kind"] != "batchnorm"]
    by_kind = weights.groupby("kind")[["params", "MACs"]].sum() / weights[["params", "MACs"]].sum()
    assert round(100 * by_kind.loc["1×1 pointwise", "MACs"], 1) == 94.9   # paper's Table 2: 94.86 %
    assert round(100 * by_kind.loc["1×1 pointwise", "params"], 1) == 74.6  # paper: 74.59 %
    assert costs["MACs"].sum() == count(model, IMAGENET).macs


# ---------------------------------------------------------------------------------------------
# MobileNetV2
# ---------------------------------------------------------------------------------------------
def test_mobilenet_v2_counts():
    model = on_meta(mobilenet_v2)
    ours = count(model, IMAGENET)
    assert ours.params == 3_504_872
    assert round(ours.macs / 1e6, 1) == 300.8
    assert ours == count(on_meta(torchvision.models.mobilenet_v2), IMAGENET)
    assert params_without_batchnorm(model) == 3_470_760


def test_mobilenet_v2_matches_torchvision_layer_for_layer():
    torch.manual_seed(0)
    assert_same_as_torchvision(mobilenet_v2(), torchvision.models.mobilenet_v2(), input_size=(2, 3, 64, 64))


@pytest.mark.parametrize("width_mult", [0.35, 0.5, 0.75, 1.4])
def test_mobilenet_v2_width_multiplier_matches_torchvision(width_mult):
    ours = on_meta(mobilenet_v2, width_mult)
    reference = on_meta(torchvision.models.mobilenet_v2, width_mult=width_mult)
    assert leaf_signature(ours) == leaf_signature(reference)
    assert count(ours, IMAGENET) == count(reference, IMAGENET)


def test_mobilenet_v2_residuals_only_where_stride_1_and_same_width():
    blocks = [m for m in on_meta(mobilenet_v2).modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17
    assert [b.use_residual for b in blocks] == [b.stride == 1 and b.in_channels == b.out_channels for b in blocks]
    assert sum(b.use_residual for b in blocks) == 10


@pytest.mark.parametrize("value", [3, 8, 12, 16 * 0.35, 24 * 0.75, 32 * 1.3, 1280 * 1.4, 100.0, 7.9])
def test_make_divisible_is_torchvisions(value):
    assert make_divisible(value, 8) == _make_divisible(value, 8)


# ---------------------------------------------------------------------------------------------
# CIFAR variants and validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [squeezenet_cifar, mobilenet_v1_cifar, mobilenet_v2_cifar])
def test_cifar_variants_run_on_32x32_and_backpropagate(build):
    torch.manual_seed(0)
    model = build()
    logits = model(torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, 10)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert count(model, CIFAR).macs > 0


@pytest.mark.parametrize("make, words", [
    (lambda: squeezenet("1_2"), ["version='1_2'", "'1_0'", "'1_1'"]),
    (lambda: squeezenet("1_0", num_classes=0), ["num_classes=0", "positive"]),
    (lambda: squeezenet("1_0", dropout=1.5), ["dropout=1.5", "between 0 and 1"]),
    (lambda: mobilenet_v1(width_mult=0), ["width_mult=0", "positive"]),
    (lambda: mobilenet_v1(width_mult=-0.5), ["width_mult=-0.5", "positive"]),
    (lambda: mobilenet_v1(num_classes=-1), ["num_classes=-1", "positive"]),
    (lambda: mobilenet_v2(width_mult=0.0), ["width_mult=0.0", "positive"]),
    (lambda: mobilenet_v2(num_classes=2.5), ["num_classes=2.5", "positive"]),
    (lambda: mobilenet_v1_cifar(width_mult="1"), ["width_mult='1'", "positive"]),
    (lambda: make_divisible(10, divisor=0), ["divisor=0", "positive"]),
    (lambda: layer_table([], CIFAR), ["layers=[]"]),
    (lambda: leaf_costs(mobilenet_v2_cifar(), (3, 32, 32)), ["input_size=(3, 32, 32)"]),
], ids=lambda case: case if isinstance(case, str) else None)
def test_bad_arguments_raise_value_errors_that_name_them(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------------------------
# Every model refuses raw uint8 images (with the fix) and inputs that are not (N, 3, H, W)
# ---------------------------------------------------------------------------------------------
def small_models():
    return {"baseline": baseline_cnn("standard", 0.25), "squeezenet": squeezenet_cifar(),
            "mobilenet_v1": mobilenet_v1_cifar(0.25), "mobilenet_v2": mobilenet_v2_cifar(0.25),
            "resnet20": ResNet20Style("standard", width=0.25, blocks=1)}


@pytest.mark.parametrize("name", list(small_models()))
def test_model_refuses_uint8_images_with_a_hint_to_normalize(name):
    model = small_models()[name].eval()
    with pytest.raises(ValueError, match=r"torch.uint8 must be floating point.*course_utils.data.normalize"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"add the batch dimension"):
        model(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="must have 3 channels"):
        model(torch.zeros(2, 1, 32, 32))
