"""Peak activation memory at inference: the third cost, beside parameters and MACs.

A network running on a device keeps its weights in one memory and its *activations* (the maps flowing
between layers) in another, often much smaller (the SRAM of a microcontroller). What must fit is not the
sum of all activations but the largest set alive at one time. The accounting of MCUNet (Lin et al.,
"MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020, arXiv 2007.10319), layer by layer:

    live(layer) = input(layer) + output(layer) + what a skip or concat keeps alive across it
    peak        = max over layers of live(layer)

In a sequential network a map dies once the next layer has read it; a residual block keeps its input x
alive until x + f(x), and a concat block keeps each finished branch alive until the concatenation. A
layer that works in place (ReLU(inplace=True), a folded BatchNorm's ``Identity``) adds no output.

- :func:`activation_memory`: this accounting, per layer, for any network built from modules: it runs one
  forward pass only to read the shapes (forward hooks), then applies the rule above.
- :func:`traced_activation_peak`: the check. It watches every tensor operation of a real forward pass
  (``TorchDispatchMode``) and keeps each tensor computed from the input alive from the operation that
  creates it to the last one that reads it: the peak a runtime freeing each map after its last use needs.
  It sees everything the network does, functional additions and concatenations included, so it tests
  whether the layer-by-layer rule missed anything (``tests/test_memory.py``: within 5 %).

Bytes are those of the tensors' storage (4 per float32 value), for the batch size of ``input_size``.
Convolution workspaces (the buffers a kernel allocates and frees inside one call) are not activations
and are counted by neither.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from . import checks
from .layers import Fire, InvertedResidual, ShuffleUnit
from .models.baseline import Residual


@dataclass(frozen=True)
class LayerMemory:
    """One step of :func:`activation_memory`: a layer, or the merge ending a block (``kind`` "add" or
    "concat", ``layer`` the block's name), and the bytes alive while it runs. ``live = input + output + kept``, each tensor counted once (an in-place layer's output
    is its input)."""

    layer: str
    kind: str
    input_bytes: int
    output_bytes: int
    kept_bytes: int
    live_bytes: int


@dataclass(frozen=True)
class MemoryProfile:
    """Every step of a forward pass with its live bytes; ``peak_bytes`` is their maximum."""

    steps: tuple[LayerMemory, ...]

    @property
    def peak_bytes(self) -> int:
        return max(step.live_bytes for step in self.steps)

    @property
    def peak_layer(self) -> str:
        """The first step where the peak is reached."""
        return max(self.steps, key=lambda step: step.live_bytes).layer

    def table(self) -> pd.DataFrame:
        """One row per step, in execution order."""
        return pd.DataFrame([step.__dict__ for step in self.steps])

    def block_peaks(self, depth: int = 2) -> dict[str, int]:
        """The peak of each block: the steps grouped by the first ``depth`` parts of their layer name
        (``features.3.conv.0.0`` → ``features.3`` at depth 2), in execution order."""
        checks.positive_int("depth", depth)
        peaks: dict[str, int] = {}
        for step in self.steps:
            block = ".".join(step.layer.split(".")[:depth])
            peaks[block] = max(peaks.get(block, 0), step.live_bytes)
        return peaks


def _check_input_size(input_size: object) -> tuple[int, ...]:
    if (not isinstance(input_size, (tuple, list)) or len(input_size) != 4
            or not all(checks.is_int(s) and s >= 1 for s in input_size)):
        raise ValueError(f"input_size={input_size!r} must be 4 positive integers (N, C, H, W)")
    return tuple(int(s) for s in input_size)


def _storage(t: torch.Tensor) -> tuple[int, int]:
    """(identity, bytes) of the memory behind ``t``: views and in-place results share their base's."""
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def _tensors(values: object) -> list[torch.Tensor]:
    return [v for v in tree_flatten(values)[0] if isinstance(v, torch.Tensor)]


def merge_kind(module: nn.Module) -> str | None:
    """How a block joins its paths at its end: "add" (x + f(x): x stays alive through f), "concat"
    (each finished branch stays alive until the concatenation), or None (a plain chain)."""
    if isinstance(module, (Residual, InvertedResidual, ShuffleUnit)) and getattr(module, "use_residual", True):
        return "add"
    if isinstance(module, Fire) or (isinstance(module, ShuffleUnit) and module.shortcut is not None):
        return "concat"
    return None


@dataclass
class _Call:
    """One module call seen by the hooks: the storages it read and wrote."""

    name: str
    module: nn.Module
    inputs: dict[int, int]
    output: dict[int, int]
    end: int = -1          # index of the last call inside it (for blocks)


def _record_calls(model: nn.Module, x: torch.Tensor) -> list[_Call]:
    """Every module call of one forward pass, in the order the calls start (a block before its layers)."""
    calls: list[_Call] = []
    open_calls: list[int] = []
    keep_alive: list[torch.Tensor] = []       # no storage is freed and reused while we record

    def before(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            inputs = _tensors(args)
            keep_alive.extend(inputs)
            open_calls.append(len(calls))
            calls.append(_Call(name, module, dict(map(_storage, inputs)), {}))
        return hook

    def after(module: nn.Module, args: tuple, output: object) -> None:
        outputs = _tensors(output)
        keep_alive.extend(outputs)
        call = calls[open_calls.pop()]
        call.output = dict(map(_storage, outputs))
        call.end = len(calls) - 1

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(before(name or type(module).__name__)))
        handles.append(module.register_forward_hook(after))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def activation_memory(model: nn.Module, input_size: Sequence[int]) -> MemoryProfile:
    """Peak live activation bytes of ``model`` (in eval mode) on an input of ``input_size`` (N, C, H, W),
    step by step, by MCUNet's accounting (see the module docstring). A *step* is a layer without
    sub-modules, or the merge at the end of a residual ("add") or concat ("concat") block: see
    :func:`merge_kind`. Functional operations outside any module (a flatten, a pooling written as a function)
    are not steps."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    size = _check_input_size(input_size)
    was_training = model.training
    model.eval()
    try:
        calls = _record_calls(model, torch.zeros(size, dtype=next(model.parameters(), torch.zeros(())).dtype))
    finally:
        model.train(was_training)
    leaves = [i for i, call in enumerate(calls) if not any(True for _ in call.module.children())]
    blocks = [i for i, call in enumerate(calls) if merge_kind(call.module) is not None]
    # The steps in execution order: each layer when it runs, each merge when its block ends (inner blocks first).
    order = sorted([(i, 0, i) for i in leaves] + [(calls[b].end, 1, -b) for b in blocks])
    names: list[str] = []
    kinds: list[str] = []
    reads: list[dict[int, int]] = []
    writes: list[dict[int, int]] = []
    positions: list[int] = []                 # the call index each step belongs to
    for _, is_merge, index in order:
        call = calls[abs(index)]
        if not is_merge:
            names.append(call.name)
            kinds.append(type(call.module).__name__)
            reads.append(call.inputs)
        else:
            # what the block joins: the outputs made inside it that no later step inside it reads
            inside = [s for s, at in enumerate(positions) if abs(index) < at <= call.end]
            joined: dict[int, int] = dict(call.inputs) if merge_kind(call.module) == "add" else {}
            for s in inside:
                if not any(ptr in reads[later] for later in inside if later > s for ptr in writes[s]):
                    joined.update(writes[s])
            names.append(call.name)
            kinds.append(merge_kind(call.module))
            reads.append(joined)
        writes.append(call.output)
        positions.append(call.end if is_merge else abs(index))
    return MemoryProfile(_live_steps(names, kinds, reads, writes))


def _live_steps(names: list[str], kinds: list[str], reads: list[dict[int, int]],
                writes: list[dict[int, int]]) -> tuple[LayerMemory, ...]:
    """Each step's live bytes: a tensor lives from the step that writes it (the network's input: from the
    first step) to the last step that reads it."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for step, used in enumerate(zip(reads, writes)):
        for tensors in used:
            for ptr, nbytes in tensors.items():
                first.setdefault(ptr, step)
                last[ptr] = step
                sizes[ptr] = nbytes
    steps = []
    for step, (name, kind, read, written) in enumerate(zip(names, kinds, reads, writes)):
        live = {ptr: n for ptr, n in sizes.items() if first[ptr] <= step <= last[ptr]}
        steps.append(LayerMemory(
            layer=name, kind=kind,
            input_bytes=sum(read.values()),
            output_bytes=sum(n for ptr, n in written.items() if ptr not in read),
            kept_bytes=sum(n for ptr, n in live.items() if ptr not in read and ptr not in written),
            live_bytes=sum(live.values())))
    return tuple(steps)


class _LifetimeTracer(TorchDispatchMode):
    """Records, for every tensor operation, the storages computed from the input that it reads and writes."""

    def __init__(self, x: torch.Tensor) -> None:
        super().__init__()
        ptr, nbytes = _storage(x)
        self.sizes = {ptr: nbytes}
        self.reads: list[set[int]] = [set()]
        self.writes: list[set[int]] = [{ptr}]
        self.keep_alive: list[torch.Tensor] = [x]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        read = {ptr for ptr, _ in map(_storage, _tensors((args, kwargs))) if ptr in self.sizes}
        if read:                                    # computed from the input: an activation
            written = [t for t in _tensors(out) if t.untyped_storage().nbytes()]
            self.keep_alive.extend(written)         # no address is reused while we trace
            for ptr, nbytes in map(_storage, written):
                self.sizes[ptr] = max(self.sizes.get(ptr, 0), nbytes)
            self.reads.append(read)
            self.writes.append({_storage(t)[0] for t in written})
        return out


def traced_activation_peak(model: nn.Module, input_size: Sequence[int]) -> int:
    """The measured check of :func:`activation_memory`: bytes alive at the worst moment of a real forward pass
    (eval mode) when every tensor computed from the input lives from the operation that creates it to the last
    operation that reads it (see the module docstring). An output that no operation reads and the network does
    not return is the kernel's scratch, not an activation: PyTorch's CPU max-pool, for one, returns the int64
    indices of its maxima beside them (for a backward pass that inference never runs)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    size = _check_input_size(input_size)
    was_training = model.training
    model.eval()
    x = torch.zeros(size, dtype=next(model.parameters(), torch.zeros(())).dtype)
    tracer = _LifetimeTracer(x)
    try:
        with torch.no_grad(), tracer:
            output = model(x)
    finally:
        model.train(was_training)
    returned = {_storage(t)[0] for t in _tensors(output)}
    read_later = set().union(*tracer.reads) | returned
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for step, used in enumerate(zip(tracer.reads, tracer.writes)):
        for ptr in used[0] | used[1]:
            first.setdefault(ptr, step)
            last[ptr] = step
    activations = {ptr: n for ptr, n in tracer.sizes.items() if ptr in read_later}
    return max(sum(n for ptr, n in activations.items() if first[ptr] <= step <= last[ptr])
               for step in range(len(tracer.reads)))


__all__ = ["LayerMemory", "MemoryProfile", "merge_kind", "activation_memory", "traced_activation_peak"]
