"""Plumbing: the compiled CPU kernel behind :class:`~course_utils.layers.shift.Shift2d`.

``shift_kernel.c`` (next to this file) copies each plane as one run shifted by s = dy·W + dx and
zeros the wrapped-round side columns while the plane is still in the cache: one pass over memory,
like ``x.clone()``. It is compiled on first use with the machine's C compiler (``$CC``, else ``cc``,
``gcc`` or ``clang``; a fraction of a second), with OpenMP if the compiler has it, into the user's
cache folder (``~/.cache/course_utils``, or ``$XDG_CACHE_HOME``), under a name that hashes the
source, the machine, the compiler and the flags, and called through ``ctypes``.

Where there is no compiler (or ``COURSE_NATIVE_SHIFT=0`` is set), :func:`available` is False and
``Shift2d`` uses its pure-torch implementation, which gives the same bits (``tests/test_shift.py``
checks both against a naive reference and against each other). Only float32 CPU tensors take this path.
So the kernel is ``key_neutral``: editing it stales no stored run, since that test proves its bits equal to
the torch path's, which the key does read.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from .. import switches
from ..fingerprint import key_neutral

SOURCE = Path(__file__).with_name("shift_kernel.c")
MIN_ITEMS_PER_THREAD = 1 << 15   # a smaller share is not worth waking another thread for
# Tried in order: tuned for this machine's CPU, with OpenMP (one thread per torch thread) and the
# copy loop kept a loop (see shift_kernel.c); then plain OpenMP; then single-threaded.
FLAG_SETS = (["-O3", "-march=native", "-fopenmp", "-fno-tree-loop-distribute-patterns"],
             ["-O3", "-fopenmp"],
             ["-O3"])


def _cache_folder() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "course_utils"


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def _compile(library: Path) -> bool:
    """Compile SOURCE into ``library``: written under a temporary name, then renamed, so that two
    processes compiling at once never load a half-written file. False if nothing compiles it."""
    compiler = _compiler()
    if compiler is None:
        return False
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as folder:
        built = Path(folder) / library.name
        for flags in FLAG_SETS:
            try:
                result = subprocess.run([compiler, *flags, "-shared", "-fPIC", "-o", str(built), str(SOURCE)],
                                        capture_output=True, check=False)
            except OSError:                                # the compiler named by $CC does not exist
                return False
            if result.returncode == 0 and built.is_file():
                os.replace(built, library)
                return True
    return False


@functools.lru_cache(maxsize=1)
def _kernel() -> ctypes.CDLL | None:
    """The loaded kernel library, compiled first if needed; None where that is not possible."""
    if sys.platform == "win32":
        return None
    # -march=native: one build per machine (a home folder shared by lab machines with other CPUs)
    tag = f"{platform.node()}-{platform.machine()}-{platform.system()}-{_compiler()}-{FLAG_SETS}".encode()
    digest = hashlib.sha256(SOURCE.read_bytes() + tag).hexdigest()[:16]
    library = _cache_folder() / f"shift_kernel-{digest}.so"
    try:
        if not library.is_file() and not _compile(library):
            return None
        kernel = ctypes.CDLL(str(library))
    except OSError:
        return None
    kernel.shift_planes.argtypes = [ctypes.c_void_p, ctypes.c_void_p, *[ctypes.c_int64] * 4,
                                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    kernel.shift_planes.restype = None
    return kernel


PROOF = "tests/test_shift.py::test_compiled_and_torch_paths_agree_bit_for_bit"


@key_neutral(PROOF)
def available() -> bool:
    """True if the compiled kernel is wanted (``COURSE_NATIVE_SHIFT``, yes by default, read at every call) and
    built and loaded (compiling it now if needed)."""
    return switches.flag("COURSE_NATIVE_SHIFT", default=True) and _kernel() is not None


@key_neutral(PROOF)
def shift_planes(x: torch.Tensor, out: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> None:
    """out[n, c, y, x] = x[n, c, y + dy[c], x + dx[c]] (0 outside) for contiguous float32 CPU
    tensors x and out of shape (N, C, H, W) and contiguous int64 offsets dy, dx of shape (C,)."""
    kernel = _kernel()
    if kernel is None:
        raise RuntimeError("the compiled shift kernel is not available: check available() first")
    for name, tensor in (("x", x), ("out", out)):
        if tensor.dim() != 4 or tensor.dtype != torch.float32 or tensor.device.type != "cpu" \
                or not tensor.is_contiguous():
            raise ValueError(f"{name} of shape {tuple(tensor.shape)}, {tensor.dtype} on {tensor.device} must be "
                             "a contiguous 4-D float32 CPU tensor")
    if out.shape != x.shape:
        raise ValueError(f"out of shape {tuple(out.shape)} must have the shape of x, {tuple(x.shape)}")
    for name, offsets in (("dy", dy), ("dx", dx)):
        if offsets.shape != (x.shape[1],) or offsets.dtype != torch.int64 or offsets.device.type != "cpu" \
                or not offsets.is_contiguous():
            raise ValueError(f"{name} of shape {tuple(offsets.shape)}, {offsets.dtype} must be a contiguous int64 "
                             f"CPU tensor of shape ({x.shape[1]},): one offset per channel")
    n, c, h, w = x.shape
    threads = max(1, min(torch.get_num_threads(), x.numel() // MIN_ITEMS_PER_THREAD))
    kernel.shift_planes(x.data_ptr(), out.data_ptr(), n * c, c, h, w, dy.data_ptr(), dx.data_ptr(), threads)
