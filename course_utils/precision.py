"""Which arithmetic a training run uses: float32 throughout, or bfloat16 autocast.

- ``"fp32"``: every operation in float32.
- ``"bf16"``: the forward pass under ``torch.autocast(dtype=torch.bfloat16)`` (convolutions and matrix
  products in bfloat16, sums and the loss in float32); the weights stay float32.
- ``"auto"``: bf16 on CUDA, and on CPUs with bfloat16 units (AVX512-BF16 or AMX) unless the model has
  grouped convolutions, whose bf16 backward is slower than fp32 on CPU (``benchmarks/train_step.py``);
  fp32 everywhere else.

The default is ``"auto"``; the environment variable ``COURSE_PRECISION`` (``auto``, ``fp32`` or ``bf16``)
changes it, and an explicit ``precision=`` argument wins over both. So one machine can run the tests on the
path it would not pick by itself (``make test`` does), and the scripts that make the committed runs pin fp32
(``course_utils.run_pool``): every committed run compares operators at one precision, on any CPU.

Measuring never depends on the path: ``course_utils.training.evaluate`` always runs in float32.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from . import switches

PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bfloat16 matrix units (AMX or AVX512-BF16; Linux only)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def has_grouped_conv(model: nn.Module) -> bool:
    """True when ``model`` holds a grouped (e.g. depthwise) convolution."""
    return any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())


def precision_from_environment() -> str:
    """``COURSE_PRECISION`` (any case, surrounding spaces ignored; unset or empty = ``"auto"``); anything
    but auto, fp32 or bf16 is a ValueError (``course_utils.switches``)."""
    return switches.choice("COURSE_PRECISION", PRECISIONS, default="auto")


def resolve_precision(precision: str | None) -> str:
    """``precision`` if given (it must be 'auto', 'fp32' or 'bf16'), else ``COURSE_PRECISION``'s value."""
    if precision is None:
        return precision_from_environment()
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} must be 'auto', 'fp32', 'bf16' or None "
                         "(None: the environment variable COURSE_PRECISION, else 'auto')")
    return precision


def autocast_dtype(device: str, precision: str, model: nn.Module | None = None) -> torch.dtype | None:
    """The autocast dtype a run on ``device`` uses: torch.bfloat16, or None for plain float32.
    'bf16' → bfloat16; 'fp32' → None; 'auto' → bfloat16 on CUDA, and on a CPU with bf16 units when
    ``model`` has no grouped convolution; else None."""
    precision = resolve_precision(precision)
    if precision == "fp32":
        return None
    if precision == "bf16" or device.startswith("cuda"):
        return torch.bfloat16
    grouped = model is not None and has_grouped_conv(model)
    if device == "cpu" and cpu_has_fast_bf16() and not grouped:
        return torch.bfloat16
    return None


def cpu_default_path() -> str:
    """'bf16' or 'fp32': the path a dense model's training takes on this machine's CPU by default
    (``COURSE_PRECISION`` included)."""
    return "bf16" if autocast_dtype("cpu", precision_from_environment()) is not None else "fp32"


def other_cpu_path() -> str:
    """The CPU path that the default does not take: 'fp32' where it takes bf16, else 'bf16'."""
    return "fp32" if cpu_default_path() == "bf16" else "bf16"


__all__ = ["PRECISIONS", "cpu_has_fast_bf16", "has_grouped_conv", "precision_from_environment",
           "resolve_precision", "autocast_dtype", "cpu_default_path", "other_cpu_path"]


if __name__ == "__main__":   # python -m course_utils.precision other  (used by make test)
    if sys.argv[1:] != ["other"]:
        sys.exit("usage: python -m course_utils.precision other   (prints the CPU path the default does not take)")
    print(other_cpu_path())
