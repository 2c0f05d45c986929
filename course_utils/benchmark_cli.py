"""What the timing scripts of ``benchmarks/`` share: the check of their numeric options, and their summary,
written to a file and printed as the script's last JSON line with the machine's load average before and after
the measurements (a loaded machine shows in the record, not only in the numbers)."""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def require_positive(parser: argparse.ArgumentParser, args: argparse.Namespace, names: Sequence[str]) -> None:
    """``parser.error`` (exit 2, the message on stderr) for the first option of ``names`` (attribute names, e.g.
    ``inner_s`` for ``--inner-s``) that is set and not > 0; a list option must hold positive values only. An
    option left unset (None) passes."""
    for name in names:
        value = getattr(args, name)
        values = value if isinstance(value, list) else [value]
        if any(v is not None and not v > 0 for v in values):
            parser.error(f"--{name.replace('_', '-')}={value} must be positive")


def load_average() -> list[float]:
    """The machine's 1, 5 and 15-minute load averages, to 2 decimals."""
    return [round(value, 2) for value in os.getloadavg()]


def write_summary(result: dict[str, Any], output: Path, *, load_before: list[float]) -> dict[str, Any]:
    """``result`` with ``load_average_before`` (taken by the caller as the measurements started) and
    ``load_average_after`` (now), written to ``output`` as indented JSON (its folder made) and printed as one
    JSON line; returns it."""
    if not isinstance(result, dict):
        raise ValueError(f"result={type(result).__name__} must be a dict (the summary)")
    if not isinstance(output, Path):
        raise ValueError(f"output={output!r} must be a pathlib.Path")
    if not (isinstance(load_before, list) and len(load_before) == 3):
        raise ValueError(f"load_before={load_before!r} must be load_average()'s three numbers")
    result = {**result, "load_average_before": load_before, "load_average_after": load_average()}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    return result


__all__ = ["require_positive", "load_average", "write_summary"]
