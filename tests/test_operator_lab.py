"""The operator lab's variants: deployed costs (SAL hardened, paper accounting), memory, single layers."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from course_utils.cost import count
from course_utils.layers.shift_attention import sal_memory_words
from course_utils.models.sal import harden, to_shift_model
from course_utils.models.operator_lab import (VARIANTS, deployed_cost, lab_model, memory_bytes,
                                              single_layer_operators)


def test_seven_operators_and_they_run():
    assert len(VARIANTS) == 7
    for name in VARIANTS:
        assert lab_model(name, width=0.25)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_deployed_cost_is_count_except_for_sal():
    for name in ("standard", "fire", "shift"):
        model = lab_model(name, width=0.5)
        assert deployed_cost(model) == count(model, (1, 3, 32, 32))
    # Hardened SAL = shift + 1×1 at the same width: same weights and MACs (the paper's accounting).
    assert deployed_cost(lab_model("sal", width=0.5)) == deployed_cost(lab_model("shift", width=0.5))
    assert count(lab_model("sal", width=0.5), (1, 3, 32, 32)).macs == count(lab_model("standard", width=0.5),
                                                                            (1, 3, 32, 32)).macs


def test_sal_memory_adds_the_tap_indices():
    sal, shift = lab_model("sal", width=0.5), lab_model("shift", width=0.5)
    extra = memory_bytes(sal) - memory_bytes(shift)
    pairs = sum(m.in_channels * m.out_channels for m in sal.modules() if hasattr(m, "attention"))
    assert extra == pytest.approx(4 * pairs * 4 / 32)           # 4 bits per (output, input) pair
    assert memory_bytes(shift) == 4 * sum(p.numel() for p in shift.parameters())
    assert sal_memory_words(8, 8) == 8 * 8 * 36 / 32


def test_hardened_sal_model_matches_its_shift_form():
    model = harden(lab_model("sal", width=0.25)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(to_shift_model(model)(x), expected, atol=1e-4)


def test_single_layer_operators_keep_the_shape():
    for name, layer in single_layer_operators(16).items():
        assert layer.eval()(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8), name


@pytest.mark.parametrize("call, match", [
    (lambda: lab_model("nope"), "variant='nope' must be one of"),
    (lambda: lab_model("shift", width=0), "width=0 must be a positive number"),
    (lambda: single_layer_operators(4), "channels=4 must be a multiple of 8 and at least 8"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_benchmark_refuses_bad_sizes():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "operator_latency.py"
    spec = importlib.util.spec_from_file_location("operator_latency", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.parse_size("64:32:8") == (64, 32, 8)
    with pytest.raises(ValueError, match="must be C:H:N"):
        module.parse_size("64x32")
