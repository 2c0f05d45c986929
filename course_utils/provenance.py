"""Where a number came from: the one provenance helper of training runs and of every script in benchmarks/.

``provenance(device)`` returns the command that produced a result (without machine-specific paths), the
device's name, the date (UTC), the git commit and the torch version. The commit is not stamped ``-dirty``
by the run stores' own writes (``data/results/``, ``data/local-results/``): a run after another run is not
run on changed code.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_STORES = ("data/results", "data/local-results")   # written by runs, not code: excluded from "-dirty"


def git_commit() -> str:
    """Short commit of the working tree, with ``-dirty`` when tracked code differs from it; 'unknown' outside git."""
    excluded = [f":(exclude){folder}" for folder in RUN_STORES]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("-dirty" if dirty else "")) if sha else "unknown"


def shown_argument(arg: str) -> str:
    """A command-line argument as results record it: a path (absolute, or one that exists) inside the
    repository made relative to it, any other path cut to its file name (an absolute path may not
    exist yet: an output folder), anything else unchanged. No machine path is ever recorded."""
    path = Path(arg)
    if not (path.is_absolute() or path.exists()):
        return arg
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except (ValueError, OSError):
        return path.name


def command() -> str:
    """How this process was started, each argument as :func:`shown_argument` records it; 'notebook
    cell' in a Jupyter kernel. ``COURSE_COMMAND`` (e.g. set by the Makefile) is prefixed."""
    if "ipykernel" in sys.modules:
        text = "notebook cell"
    else:
        text = " ".join(["python"] + [shown_argument(arg) for arg in sys.argv])
    prefix = os.environ.get("COURSE_COMMAND")
    return f"{prefix}: {text}" if prefix else text


def device_name(device: str | torch.device) -> str:
    """'cuda:0 (NVIDIA H200)' or 'cpu (x86_64, 2 threads)'."""
    device = str(device)
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: str | torch.device) -> dict[str, str]:
    """{command, device, date, commit, torch}: what every stored result and benchmark line records."""
    return {"command": command(), "device": device_name(device),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "torch": torch.__version__}


__all__ = ["provenance", "git_commit", "command", "device_name", "REPO_ROOT"]
