"""course_utils.folding: BatchNorm folded into the convolution before it gives the same outputs (within
1e-5) on every lab network, removes the BatchNorm's parameters, and says which BatchNorms it cannot fold."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import LAB, count, harden, lab_model, squeezenet_cifar
from course_utils.folding import fold_batchnorm


def _with_statistics(model: nn.Module) -> nn.Module:
    """``model`` with BatchNorms that hold non-trivial running statistics and affine parameters."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32))
    return model.eval()


@pytest.mark.parametrize("variant", list(LAB))
def test_folding_is_exact_on_every_lab_network(variant):
    model = _with_statistics(lab_model(variant, 0.5))
    if variant == "sal":
        harden(model)
    result = fold_batchnorm(model)
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(result.model(x), model(x), atol=1e-5, rtol=0)
    batchnorms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert len(result.folded) + len(result.kept) == batchnorms
    assert sum(isinstance(m, nn.BatchNorm2d) for m in result.model.modules()) == len(result.kept)
    assert count(result.model, (1, 3, 32, 32)).params <= count(model, (1, 3, 32, 32)).params


def test_a_batchnorm_after_a_relu_or_a_concatenation_is_kept_with_the_reason():
    result = fold_batchnorm(_with_statistics(lab_model("fire", 0.5)))
    assert result.folded == ["stem.1"]                 # only the stem's conv → BN
    assert len(result.kept) == 5 and all("follows Fire" in why for why in result.kept.values())
    squeeze = fold_batchnorm(_with_statistics(squeezenet_cifar()))
    assert squeeze.kept and all("Fire" in why for why in squeeze.kept.values())


def test_folding_leaves_the_original_alone_and_removes_each_folded_batchnorms_parameters():
    model = _with_statistics(lab_model("standard", 0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fold_batchnorm(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    removed = count(model, (1, 3, 32, 32)).params - count(result.model, (1, 3, 32, 32)).params
    channels = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert removed == 2 * channels - channels          # γ and β go; each conv gains a bias of C_out


def test_bad_input():
    with pytest.raises(ValueError, match="model=str must be a torch.nn.Module"):
        fold_batchnorm("net")
