"""The course baseline: a small CIFAR-10 CNN whose 3×3 body convolutions can be swapped for any
Session-5 operator, so every notebook trains the *same* network with a different operator.

    stem:  3×3 conv 3 → C₀ (always a standard conv: 3 input channels leave nothing to factorize)
    body:  one block per row of ``STAGES``: block(C_in, C_out, stride), the operator under study
    head:  global average pool → linear C_last → classes
    (blocks that keep the shape get an identity shortcut, x + block(x), as in a ResNet)

A block builder is a function ``(in_channels, out_channels, stride) -> nn.Module`` that returns the
operator *with* its normalisation and activation. The builders come from the operator registry
(``course_utils.operators``); ``register_block(name, builder)`` adds one for an experiment (yours).
:func:`decomposed_from` turns a trained standard network into the decomposed one (notebook 02).
"""
from __future__ import annotations

import inspect

import torch
from torch import nn

from .. import checks
from ..layers.conv_bn import conv_bn_act
from ..layers.decomposed import DecomposedConv2d, best_pair
from ..operators import OPERATORS, BlockBuilder

# The layer table: (output channels, stride) of each body block, at width 1.0.
# 32×32 → 16×16 → 8×8 → 4×4; channels double when the resolution halves.
# 145 k parameters and 8.7 M MACs: small enough to reach 70 % on the bundled subset in 60 s on
# 2 CPU cores (the twice-wider net fits 2.5× fewer epochs in that minute and ends lower; benchmarks/README.md).
STEM_CHANNELS = 16
STAGES: tuple[tuple[int, int], ...] = (
    (32, 2),
    (32, 1),
    (64, 2),
    (64, 1),
    (128, 2),
)


# Blocks registered for an experiment (register_block); the operators' own come from the registry.
REGISTERED_BLOCKS: dict[str, BlockBuilder] = {}


def block_names() -> list[str]:
    """Every name ``BaselineCNN(block=...)`` accepts: the registry's operators with a block, then yours."""
    return [name for name, op in OPERATORS.items() if op.block is not None] + list(REGISTERED_BLOCKS)


def block_builder(name: str) -> BlockBuilder:
    """The builder of block ``name``: one you registered, else the registry operator's."""
    if name in REGISTERED_BLOCKS:
        return REGISTERED_BLOCKS[name]
    if name in OPERATORS and OPERATORS[name].block is not None:
        return OPERATORS[name].block
    raise ValueError(f"block={name!r} must be one of {block_names()}")


def register_block(name: str, builder: BlockBuilder) -> None:
    """Make ``baseline_cnn(block=name)`` build its body with ``builder(in_channels, out_channels, stride)``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r} must be a non-empty string")
    if not callable(builder):
        raise ValueError(f"builder={builder!r} must be callable as builder(in_channels, out_channels, stride)")
    try:
        inspect.signature(builder).bind(1, 1, 1)
    except TypeError:
        raise ValueError(f"builder={builder!r} must take three arguments, builder(in_channels, out_channels, "
                         f"stride); it takes {inspect.signature(builder)}") from None
    except ValueError:           # a builtin without a signature: it is called as it is
        pass
    REGISTERED_BLOCKS[name] = builder


class Residual(nn.Module):
    """Identity shortcut around a block: y = x + f(x) (used where f keeps the shape)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def scaled(channels: int, width: float) -> int:
    """Channels at width multiplier α: max(1, round(α · channels))."""
    return max(1, round(width * channels))


class BaselineCNN(nn.Module):
    """stem (3×3 conv) → body blocks from ``stages`` → global average pool → linear classifier.

    With ``residual``, a block that keeps the shape (stride 1, C_in = C_out) gets a shortcut: x + block(x).
    """

    def __init__(self, block: str = "standard", width: float = 1.0, *, num_classes: int = 10,
                 stages: tuple[tuple[int, int], ...] = STAGES, stem_channels: int = STEM_CHANNELS,
                 residual: bool = True) -> None:
        super().__init__()
        builder = block_builder(block)
        checks.positive_number("width", width)
        checks.positive_int("num_classes", num_classes)
        checks.positive_int("stem_channels", stem_channels)
        checks.boolean("residual", residual)
        if not isinstance(stages, (tuple, list)) or not stages or not all(
                isinstance(row, (tuple, list)) and len(row) == 2 for row in stages):
            raise ValueError(f"stages={stages!r} must list at least one (channels, stride) pair, e.g. ((32, 2),)")
        for channels, stride in stages:
            checks.positive_int("stages channels", channels)
            checks.positive_int("stages stride", stride)
        self.block_name = block
        self.width = width
        channels = scaled(stem_channels, width)
        self.stem = conv_bn_act(3, channels)
        body = []
        for out_channels, stride in stages:
            out_channels = scaled(out_channels, width)
            unit = builder(channels, out_channels, stride)
            # a shortcut where the shape is kept, unless the block brings its own (inverted residual)
            if residual and stride == 1 and channels == out_channels and not hasattr(unit, "use_residual"):
                unit = Residual(unit)
            body.append(unit)
            channels = out_channels
        self.body = nn.Sequential(*body)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks.image_batch(x, 3)
        return self.classifier(self.pool(self.body(self.stem(x))).flatten(1))


def baseline_cnn(block: str = "standard", width: float = 1.0, *, num_classes: int = 10) -> BaselineCNN:
    """The course baseline with ``block`` as its body operator (see :func:`block_names`) at width ``width``."""
    return BaselineCNN(block, width, num_classes=num_classes)


def decomposed_from(standard: BaselineCNN) -> BaselineCNN:
    """The decomposed baseline holding ``standard``'s weights: stem, BatchNorms and classifier copied, each
    3×3 body conv replaced by its best (3,1)+(1,3) pair with C_out middle maps (``layers.decomposed.best_pair``)."""
    if not isinstance(standard, BaselineCNN) or standard.block_name != "standard":
        raise ValueError(f"standard={type(standard).__name__} must be a BaselineCNN with block='standard'")
    net = BaselineCNN("decomposed", standard.width)
    missing, _ = net.load_state_dict(standard.state_dict(), strict=False)
    if not all(key.endswith(("vertical.weight", "horizontal.weight")) for key in missing):
        raise ValueError(f"standard's weights leave {missing} unset: its layout is not the decomposed net's")
    for name, module in net.named_modules():
        if isinstance(module, DecomposedConv2d):
            conv = standard.get_submodule(name)
            vertical, horizontal = best_pair(conv, conv.out_channels)
            with torch.no_grad():
                module.vertical.weight.copy_(vertical)
                module.horizontal.weight.copy_(horizontal)
    return net.eval()


__all__ = ["STAGES", "STEM_CHANNELS", "REGISTERED_BLOCKS", "BaselineCNN", "baseline_cnn", "block_names",
           "block_builder", "register_block", "decomposed_from"]
