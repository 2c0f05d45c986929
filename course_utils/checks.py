"""Argument checks shared by every public function and layer.

Each check raises ``ValueError`` naming the argument, its value and the rule it breaks,
e.g. ``groups=3 must divide in_channels=64``. Nothing is ever silently corrected. The checks that only pass
their argument through or raise are ``key_neutral``: editing them stales no stored run.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from .fingerprint import PASSES_VALUES_THROUGH, key_neutral


def scalar(value: object) -> object:
    """A one-element tensor (``torch.tensor(5.)``) as the Python number it holds; anything else unchanged.
    NumPy scalars need nothing: they are already ``numbers.Integral`` or ``numbers.Real``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype != torch.bool:
        return value.item()
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bools, floats and strings."""
    return isinstance(value, Integral) and not isinstance(value, bool)


@key_neutral(PASSES_VALUES_THROUGH)
def positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer >= 1, else raise ``ValueError``."""
    value = scalar(value)
    if not is_int(value) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer (>= 1)")
    return int(value)


@key_neutral(PASSES_VALUES_THROUGH)
def non_negative_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise ``ValueError``."""
    value = scalar(value)
    if not is_int(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative integer (>= 0)")
    return int(value)


SEED_LIMIT = 2**64          # torch.manual_seed takes seeds below 2**64


@key_neutral(PASSES_VALUES_THROUGH)
def seed(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer in [0, 2**64), the seeds torch can take, else raise."""
    value = non_negative_int(name, value)
    if value >= SEED_LIMIT:
        raise ValueError(f"{name}={value} must be below 2**64 (torch.manual_seed takes seeds in [0, 2**64))")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def positive_number(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number > 0, else raise ``ValueError`` (inf and nan too)."""
    value = scalar(value)
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a positive number (> 0, finite)")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def fraction(name: str, value: object) -> float:
    """Return ``value`` if it is a real number in [0, 1], else raise ``ValueError``."""
    value = scalar(value)
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"{name}={value!r} must be a number between 0 and 1")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def odd_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an odd integer >= 1, else raise ``ValueError``."""
    positive_int(name, value)
    if value % 2 == 0:
        raise ValueError(f"{name}={value!r} must be odd (the kernel needs a centre tap)")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def divides(name: str, value: int, of_name: str, of_value: int) -> None:
    """Raise ``ValueError`` unless ``value`` divides ``of_value``."""
    if of_value % value != 0:
        raise ValueError(f"{name}={value} must divide {of_name}={of_value}")


def kernel_pair(name: str, value: object) -> tuple[int, int]:
    """Turn ``k`` or ``(k, l)`` into a pair of positive integers, or raise ``ValueError``."""
    pair = (value, value) if is_int(value) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(is_int(v) and v >= 1 for v in pair):
        raise ValueError(f"{name}={value!r} must be a positive integer or a pair (k, l) of positive integers")
    return int(pair[0]), int(pair[1])


@key_neutral(PASSES_VALUES_THROUGH)
def boolean(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False``; anything else (``"no"``, 0, None) raises ``ValueError``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be True or False")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def one_of(name: str, value: object, allowed: tuple) -> object:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} must be one of {', '.join(map(repr, allowed))}")
    return value


@key_neutral(PASSES_VALUES_THROUGH)
def image_batch(x: object, channels: int) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating-point tensor of shape (N, channels, H, W).

    Every layer and model of the course calls this first in ``forward``: a 3-D image without its
    batch dimension, the wrong number of maps, or raw uint8 pixels then fail with a message that
    says how to fix them, instead of a shape error deep inside (or a silently wrong result).
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"input of type {type(x).__name__} must be a torch.Tensor of shape (N, C, H, W)")
    if x.dim() != 4:
        hint = " (a single image? add the batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"input of shape {tuple(x.shape)} must be 4-D (N, {channels}, H, W){hint}")
    if x.shape[1] != channels:
        raise ValueError(f"input of shape {tuple(x.shape)} must have {channels} channels: (N, {channels}, H, W)")
    if not x.is_floating_point():
        raise ValueError(f"input of dtype {x.dtype} must be floating point: convert raw images with "
                         f"course_utils.data.normalize(images) first")
