"""Argument checks shared by every public function and layer.

Each check raises ``ValueError`` naming the argument, its value and the rule it breaks,
e.g. ``groups=3 must divide in_channels=64``. Nothing is ever silently corrected.
"""
from __future__ import annotations

from numbers import Integral, Real


def _is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bools, floats and strings."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ``ValueError``."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer (>= 1)")
    return value


def non_negative_int(name: str, value: object) -> int:
    """Return ``value`` if it is an integer >= 0, else raise ``ValueError``."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative integer (>= 0)")
    return value


def positive_number(name: str, value: object) -> float:
    """Return ``value`` if it is a real number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ValueError(f"{name}={value!r} must be a positive number (> 0)")
    return value


def fraction(name: str, value: object) -> float:
    """Return ``value`` if it is a real number in [0, 1], else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"{name}={value!r} must be a number between 0 and 1")
    return value


def odd_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an odd integer >= 1, else raise ``ValueError``."""
    positive_int(name, value)
    if value % 2 == 0:
        raise ValueError(f"{name}={value!r} must be odd (the kernel needs a centre tap)")
    return value


def divides(name: str, value: int, of_name: str, of_value: int) -> None:
    """Raise ``ValueError`` unless ``value`` divides ``of_value``."""
    if of_value % value != 0:
        raise ValueError(f"{name}={value} must divide {of_name}={of_value}")


def kernel_pair(name: str, value: object) -> tuple[int, int]:
    """Turn ``k`` or ``(k, l)`` into a pair of positive integers, or raise ``ValueError``."""
    pair = (value, value) if _is_int(value) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(_is_int(v) and v >= 1 for v in pair):
        raise ValueError(f"{name}={value!r} must be a positive integer or a pair (k, l) of positive integers")
    return int(pair[0]), int(pair[1])
