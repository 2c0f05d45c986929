"""Per-layer cost tables: the code's version of the papers' architecture tables.

``layer_table`` runs a network's top-level stages one after the other and lists each stage's output
shape, parameters and MACs; ``leaf_costs`` lists every convolution, linear and BatchNorm layer with
its kind (standard, depthwise, pointwise, ...), so that shares by layer type can be computed.
Both measure with ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2), like
``course_utils.cost.count``, and their columns sum to ``count(model, input_size)``.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..cost import count


def _check_input_size(input_size: Sequence[int]) -> tuple[int, ...]:
    if len(input_size) != 4 or not all(isinstance(s, int) and s >= 1 for s in input_size):
        raise ValueError(f"input_size={tuple(input_size)!r} must be four positive integers (N, C, H, W)")
    return tuple(input_size)


def _device_of(modules: Sequence[nn.Module]) -> torch.device:
    """Where the first parameter lives (CPU if none): the zero input is made there, so a model built
    under ``torch.device("meta")`` is measured from shapes alone, without computing anything."""
    for module in modules:
        for parameter in module.parameters():
            return parameter.device
    return torch.device("cpu")


def layer_table(layers: Sequence[tuple[str, nn.Module]], input_size: Sequence[int]) -> pd.DataFrame:
    """One row per named stage, run in order on a zero input of ``input_size`` (batch included).

    Columns: output shape (C × H × W), params, MACs (for the whole batch).
    """
    size = _check_input_size(input_size)
    if not layers:
        raise ValueError("layers=[] must hold at least one (name, module) pair")
    rows = []
    x = torch.zeros(size, device=_device_of([module for _, module in layers]))
    for name, module in layers:
        if not isinstance(module, nn.Module):
            raise ValueError(f"layers[{name!r}]={type(module).__name__} must be a torch.nn.Module")
        cost = count(module, tuple(x.shape))
        was_training = module.training
        module.eval()
        with torch.no_grad():
            x = module(x)
        module.train(was_training)
        shape = " × ".join(str(s) for s in x.shape[1:])
        rows.append({"layer": name, "output (C × H × W)": shape, "params": cost.params, "MACs": cost.macs})
    return pd.DataFrame(rows).set_index("layer")


def layer_kind(module: nn.Module) -> str:
    """Name the kind of a leaf layer: 'k×k conv', 'k×k depthwise', '1×1 pointwise', 'fully connected', ..."""
    if isinstance(module, nn.Conv2d):
        k, l = module.kernel_size
        if module.groups == module.in_channels and module.groups > 1:
            return f"{k}×{l} depthwise"
        if (k, l) == (1, 1) and module.groups == 1:
            return "1×1 pointwise"
        return f"{k}×{l} conv" if module.groups == 1 else f"{k}×{l} grouped conv"
    if isinstance(module, nn.Linear):
        return "fully connected"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "batchnorm"
    return type(module).__name__


def leaf_costs(model: nn.Module, input_size: Sequence[int]) -> pd.DataFrame:
    """Every leaf module holding parameters: its kind, params and MACs (for the whole batch).

    MACs come from ``FlopCounterMode``'s per-module counts, so they sum to ``count(model, input_size)``.
    """
    size = _check_input_size(input_size)
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(size, device=_device_of([model])))
    finally:
        model.train(was_training)
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    rows = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own or list(module.children()):
            continue
        flops = sum(per_module.get(f"{root}.{name}", {}).values())
        rows.append({"module": name, "kind": layer_kind(module),
                     "params": sum(p.numel() for p in own), "MACs": int(flops // 2)})
    return pd.DataFrame(rows).set_index("module")
