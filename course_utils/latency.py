"""Measured time of a forward pass: what FLOP counts do not tell.

``measure_latency`` uses ``torch.utils.benchmark.Timer``, which warms up, synchronises CUDA and
repeats the call until the median is stable. Timings vary from machine to machine and run to run:
notebooks show them in cells marked ``# NBVAL_IGNORE_OUTPUT``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

# torch.utils.benchmark imports cpp_extension, which warns "No CUDA runtime is found" on every
# CPU-only machine; the warning says nothing about timing, so keep it out of the notebooks.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
from torch.utils import benchmark  # noqa: E402

from . import checks


def measure_latency(module: nn.Module, input_size: Sequence[int], device: str | torch.device | None = None,
                    backward: bool = False, min_run_time: float = 0.2) -> float:
    """Median time in milliseconds of one forward pass (or forward + backward) on ``input_size``.

    The module runs in eval mode for a forward-only timing, and in train mode with ``backward=True``.
    ``device`` defaults to the device of the module's parameters (CPU for a parameter-free module).
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module={type(module).__name__} must be a torch.nn.Module")
    if not isinstance(input_size, Sequence) or isinstance(input_size, str) or len(input_size) < 1 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in input_size):
        shown = tuple(input_size) if isinstance(input_size, Sequence) else input_size
        raise ValueError(f"input_size={shown!r} must be a tuple of positive integers, e.g. (1, 3, 32, 32)")
    if device is not None and not isinstance(device, (str, torch.device)):
        raise ValueError(f"device={device!r} must be None, a string such as 'cpu' or 'cuda', or a torch.device")
    if not isinstance(backward, bool):
        raise ValueError(f"backward={backward!r} must be True or False")
    checks.positive_number("min_run_time", min_run_time)
    if device is None:
        first = next(module.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    module = module.to(device)
    x = torch.randn(tuple(input_size), device=device, requires_grad=backward)
    statement = "module(x).sum().backward()" if backward else "module(x)"
    timer = benchmark.Timer(statement, globals={"module": module, "x": x})
    was_training = module.training
    module.train(backward)
    try:
        with torch.set_grad_enabled(backward):
            return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3
    finally:
        module.train(was_training)
