"""The environment variables that change what course_utils does, each read the same way, every time it is
needed (so setting one in a running kernel takes effect at once):

| variable | values (any case; unset or empty: the default) | read by |
| --- | --- | --- |
| ``COURSE_RETRAIN`` | yes/no (default no) | every ``train`` call: train even when the run is stored |
| ``COURSE_RESULTS`` | ``local`` (default) or ``committed`` | ``train``: the store a named run is saved to |
| ``COURSE_PRECISION`` | ``auto`` (default), ``fp32`` or ``bf16`` | ``train``: the default precision path |
| ``COURSE_NATIVE_SHIFT`` | yes/no (default yes) | ``Shift2d`` on the CPU: the compiled kernel or torch ops |
| ``COURSE_PRESENTER`` | yes/no (default no) | ``style.apply()``: the larger figures of ``make present`` |

yes/no is any of 1/0, true/false, yes/no, on/off. Any other value is a ValueError that names the variable,
its value and what it accepts.
"""
from __future__ import annotations

import os

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def flag(name: str, *, default: bool) -> bool:
    """The yes/no switch ``name``: True for 1/true/yes/on, False for 0/false/no/off (any case), ``default``
    when unset or empty; anything else raises ``ValueError``."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(f"{name}={raw!r} must be 1/0, true/false, yes/no or on/off (any case); unset or empty means "
                     f"{'yes' if default else 'no'}")


def choice(name: str, options: tuple[str, ...], *, default: str) -> str:
    """The switch ``name``: one of ``options`` (any case, spaces around ignored), ``default`` when unset or
    empty; anything else raises ``ValueError``."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value not in options:
        raise ValueError(f"{name}={raw!r} must be {', '.join(options[:-1])} or {options[-1]} (unset or empty means "
                         f"{default})")
    return value


__all__ = ["TRUE", "FALSE", "flag", "choice"]
