"""The operator registry: one table that the explorer, the baseline's blocks, the operator lab and the
latency set all read, and whose costs agree with what torch counts on the real layers."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from course_utils.cost import Cost, fire_widths
from course_utils.layers import Fire
from course_utils.experiments.lab import LAB as VARIANTS
from course_utils.models.baseline import baseline_cnn, block_builder, block_names
from course_utils.models.sal import deployed_cost
from course_utils.operators import ACCOUNTING, OPERATORS, LayerShape, operator, single_layer_operators
from course_utils.widgets import CostExplorer, operator_costs, operator_table


def convolutions_only(module: nn.Module, input_size: tuple[int, ...]) -> Cost:
    """What torch counts (SAL hardened), minus BatchNorm parameters and convolution biases: the
    registry's accounting rule."""
    measured = deployed_cost(module, input_size)
    extra = 0
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            extra += sum(p.numel() for p in layer.parameters(recurse=False))
        elif isinstance(layer, nn.Conv2d) and layer.bias is not None:
            extra += layer.bias.numel()
    return Cost(measured.params - extra, measured.macs)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_each_layer_costs_what_the_registry_says(name):
    c, h = 16, 8
    shape = LayerShape(k=3, l=3, c_in=c, c_out=c, d=1, groups=LayerShape.groups, h=h, w=h, t=6)
    torch.manual_seed(0)
    assert convolutions_only(OPERATORS[name].layer(c), (1, c, h, h)) == OPERATORS[name].cost(shape)


@pytest.mark.parametrize("name", [name for name, op in OPERATORS.items() if op.block is not None])
def test_each_block_costs_what_the_registry_says(name):
    c_in, c_out, h = 16, 32, 8
    shape = LayerShape(k=3, l=3, c_in=c_in, c_out=c_out, d=1, h=h, w=h, t=6)
    block = OPERATORS[name].block(c_in, c_out, 1)
    assert block(torch.randn(2, c_in, h, h)).shape == (2, c_out, h, h)
    assert convolutions_only(block, (1, c_in, h, h)) == OPERATORS[name].cost(shape)


def kl_reference(name: str, c: int, k: int, l: int, d: int, groups: int, t: int) -> nn.Module:
    """Plain torch layers with a (k, l) kernel for each operator whose cost depends on it."""
    pad = (k // 2, l // 2)
    s, e1, e3 = fire_widths(c)
    return {
        "standard": lambda: nn.Conv2d(c, c, (k, l), padding=pad, bias=False),
        "decomposed": lambda: nn.Sequential(nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0), bias=False),
                                            nn.Conv2d(c, c, (1, l), padding=(0, l // 2), bias=False)),
        "grouped": lambda: nn.Conv2d(c, c, (k, l), padding=pad, groups=groups, bias=False),
        "depthwise": lambda: nn.Conv2d(c, c * d, (k, l), padding=pad, groups=c, bias=False),
        "depthwise_separable": lambda: nn.Sequential(nn.Conv2d(c, c * d, (k, l), padding=pad, groups=c, bias=False),
                                                     nn.Conv2d(c * d, c, 1, bias=False)),
        "fire": lambda: FireKL(c, s, e1, e3, (k, l)),
        "inverted_residual": lambda: nn.Sequential(nn.Conv2d(c, t * c, 1, bias=False),
                                                   nn.Conv2d(t * c, t * c, (k, l), padding=pad, groups=t * c, bias=False),
                                                   nn.Conv2d(t * c, c, 1, bias=False)),
        "shift": lambda: nn.Conv2d(c, c, 1, bias=False),
        "sal": lambda: nn.Conv2d(c, c, 1, bias=False),
        "shuffle": lambda: nn.Sequential(nn.Conv2d(c, c // 4, 1, groups=groups, bias=False),
                                         nn.Conv2d(c // 4, c // 4, (k, l), padding=pad, groups=c // 4, bias=False),
                                         nn.Conv2d(c // 4, c, 1, groups=groups, bias=False)),
    }[name]()


class FireKL(nn.Module):
    def __init__(self, c_in: int, s: int, e1: int, e3: int, kernel: tuple[int, int]) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, s, 1, bias=False)
        self.expand1x1 = nn.Conv2d(s, e1, 1, bias=False)
        self.expand_kl = nn.Conv2d(s, e3, kernel, padding=(kernel[0] // 2, kernel[1] // 2), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand_kl(x)], dim=1)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_explorer_costs_follow_the_k_l_kernel(name):
    # Fire's expand and the inverted residual's depthwise used to be 3×3 whatever (k, l) was.
    c, h, k, l, d, groups, t = 16, 6, 5, 3, 2, 4, 2
    shape = LayerShape(k=k, l=l, c_in=c, c_out=c, d=d, groups=groups, h=h, w=h, t=t)
    reference = kl_reference(name, c, k, l, d, groups, t)
    assert convolutions_only(reference, (1, c, h, h)) == operator_costs(shape, [name])[name]


def test_fire_and_inverted_residual_costs_change_with_the_kernel():
    small, large = LayerShape(k=3, l=3), LayerShape(k=7, l=7)
    for name in ("fire", "inverted_residual"):
        assert operator_costs(large, [name])[name].macs > operator_costs(small, [name])[name].macs


def test_every_reader_sees_the_same_table():
    assert list(operator_costs(LayerShape())) == list(OPERATORS)
    assert CostExplorer().operators == list(OPERATORS)
    assert list(operator_table(LayerShape()).index) == [op.label for op in OPERATORS.values()]
    assert block_names() == [name for name, op in OPERATORS.items() if op.block is not None]
    assert all(block_builder(name) is OPERATORS[name].block for name in block_names())
    assert all(VARIANTS[name].label == OPERATORS[VARIANTS[name].name].label for name in VARIANTS)
    latency_set = single_layer_operators(16)
    assert all(op.label in latency_set for name, op in OPERATORS.items() if name != "sal")
    assert {"SAL (training)", "SAL (hardened)"} <= set(latency_set)


def test_models_import_neither_training_nor_experiments():
    """models/ holds architectures: no import of course_utils.training or course_utils.experiments from it."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "course_utils" / "models"
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                assert not any(part in target.split(".") for part in ("train", "experiments", "runs")), \
                    f"{path.name} imports {target}"
    code = "import sys; import course_utils.models.baseline; assert 'sal' in course_utils.models.baseline.block_names()"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fire_rule_is_written_once():
    assert fire_widths(64) == (8, 32, 32)
    assert fire_widths(12) == (1, 6, 6)
    fire = next(m for m in baseline_cnn("fire").modules() if isinstance(m, Fire))
    assert (fire.squeeze_channels, fire.expand1x1_channels, fire.expand3x3_channels) == fire_widths(fire.out_channels)
    with pytest.raises(ValueError, match="out_channels=1 must be at least 2"):
        fire_widths(1)


def test_the_explorer_states_its_accounting_rule():
    assert "no biases, no BatchNorm" in ACCOUNTING
    assert ACCOUNTING in CostExplorer().note.value


def test_unknown_operator_is_named():
    with pytest.raises(ValueError, match="name='magic' must be one of"):
        operator("magic")
