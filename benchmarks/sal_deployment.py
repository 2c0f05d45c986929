"""Deploying a hardened SAL: how long does each dense form take, and how many MACs does it execute?

A hardened unshared Shift Attention Layer needs C_in·C_out·H·W MACs (one kept weight per slice), but
its taps differ per output, so dense hardware runs the zeros too (``course_utils.layers.sal_deployed``).
This script times, forward only, in eval mode, each function taking its turn (interleaved) so that a
burst of load on the machine hits all of them alike, and reports the median and the minimum:

* one layer, C → C channels, H×W maps, at each batch size (default 64 → 64, 32×32, batch 1 and 32):
  the SAL training form (soft A ⊙ W, one k×k conv), the hardened layer as ``ShiftedPointwise`` (one
  masked 1×1 conv per tap: naive), as ``GatheredShiftPointwise`` (shifted copies + one 1×1 conv), as a
  k×k ``nn.Conv2d`` with 8/9 zeros; the same three with only 3 of the 9 taps in use; the shared SAL
  deployed (channel shift + one 1×1), Wu's fixed shift + 1×1 (``ShiftConv2d``) and a standard 3×3;
* the lab network ``BaselineCNN("sal", 1.0)`` (default batch 1): training form, hardened, masked,
  gathered, k×k conv (what ``to_deployed_model`` picks), its shared-SAL twin deployed, and the shift and
  standard networks of the same width.

Each entry has its MACs needed (nonzero weights) and executed (``course_utils.layers.sal_deployed.
network_macs``: torch's count of the products run) for the whole batch. The attention is random (every
tap in use in every layer, as in the trained runs); every deployed form is checked against the hardened
one before it is timed. Progress goes to stderr; stdout gets one JSON line with the provenance.

    python benchmarks/sal_deployment.py                       # CPU, torch's threads, about a minute
    python benchmarks/sal_deployment.py --threads 1 --repeats 50
    python benchmarks/sal_deployment.py --device cuda --batches 1 32 256 --network-batches 1 256
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

from course_utils.layers import ShiftAttentionConv2d, ShiftConv2d
from course_utils.layers.sal_deployed import (GatheredShiftPointwise, deploy, network_macs, to_deployed_model,
                                              to_dense_conv)
from course_utils.models.baseline import BaselineCNN
from course_utils.models.sal import harden, sal_layers, to_shift_model
from course_utils.provenance import provenance


def random_attention(model: nn.Module, taps: tuple[int, ...] | None = None) -> nn.Module:
    """Give every SAL layer of ``model`` a random attention (every tap wins somewhere, as after training);
    ``taps``: only these taps may win. Returns the model."""
    with torch.no_grad():
        for layer in sal_layers(model):
            layer.attention.normal_()
            if taps is not None:
                allowed = torch.zeros(layer.attention.shape[-1], dtype=torch.bool)
                allowed[list(taps)] = True
                layer.attention.masked_fill_(~allowed, -10.0)
    return model


def shared_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose SAL layers are shared ones (one tap per input channel) of the same shape."""
    twin = copy.deepcopy(model)
    for parent in list(twin.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ShiftAttentionConv2d):
                setattr(parent, name, ShiftAttentionConv2d(child.in_channels, child.out_channels, child.kernel_size,
                                                           child.stride, shared=True))
    return twin


def time_interleaved(functions: dict[str, Callable[[], object]], repeats: int, device: torch.device,
                     warmup: int = 3) -> dict[str, list[float]]:
    """Wall times (ms) of each function, the functions taking turns (a burst of load hits all alike)."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for function in functions.values():
        for _ in range(warmup):
            function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            sync()
            start = time.perf_counter()
            function()
            sync()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return samples


def measure(entries: dict[str, nn.Module], x: torch.Tensor, references: dict[str, nn.Module],
            repeats: int) -> list[dict]:
    """Check each entry named in ``references`` against its reference, then time them all, interleaved."""
    with torch.no_grad():
        for name, reference in references.items():
            assert torch.allclose(entries[name](x), reference(x), atol=1e-4), f"{name} differs from its reference"
        samples = time_interleaved({name: (lambda m=module: m(x)) for name, module in entries.items()}, repeats,
                                   x.device)
    rows = []
    for name, module in entries.items():
        macs = network_macs(module, tuple(x.shape))
        rows.append({"form": name, "median_ms": round(statistics.median(samples[name]), 4),
                     "min_ms": round(min(samples[name]), 4), "macs_needed": macs.needed,
                     "macs_executed": macs.executed, "executed_per_needed": round(macs.executed_per_needed, 3)})
        print(f"  {name:<70} median {rows[-1]['median_ms']:9.3f} ms  min {rows[-1]['min_ms']:9.3f} ms  "
              f"MACs needed {macs.needed / 1e6:8.2f} M, executed {macs.executed / 1e6:8.2f} M", file=sys.stderr)
    return rows


def layer_entries(channels: int) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
    """The single-layer forms (C → C, 3×3, stride 1, no bias) and, for each deployed form, the hardened
    layer it must equal."""
    torch.manual_seed(0)
    soft = random_attention(ShiftAttentionConv2d(channels, channels, 3))
    hardened = copy.deepcopy(soft).harden()
    few = random_attention(ShiftAttentionConv2d(channels, channels, 3), taps=(1, 4, 7)).harden()
    shared = random_attention(ShiftAttentionConv2d(channels, channels, 3, shared=True)).harden()
    deployed = {
        "hardened, masked: ShiftedPointwise (naive, 9 taps)": (hardened.to_shift(), hardened),
        "hardened, gathered: GatheredShiftPointwise (9 taps)": (GatheredShiftPointwise.from_layer(hardened), hardened),
        "hardened, 3×3 nn.Conv2d with 8/9 zeros (9 taps)": (to_dense_conv(hardened), hardened),
        "few taps: masked ShiftedPointwise (naive, 3 taps)": (few.to_shift(), few),
        "few taps: gathered GatheredShiftPointwise (3 taps)": (GatheredShiftPointwise.from_layer(few), few),
        "few taps: 3×3 nn.Conv2d with 8/9 zeros (3 taps)": (to_dense_conv(few), few),
        "shared SAL deployed: channel shift + one 1×1": (deploy(shared), shared),
    }
    entries = {
        "SAL training form (soft A⊙W, one 3×3 conv)": soft,
        **{name: module for name, (module, _) in deployed.items()},
        "fixed shift + 1×1 (ShiftConv2d)": ShiftConv2d(channels, channels, 3),
        "standard 3×3 conv": nn.Conv2d(channels, channels, 3, padding=1, bias=False),
    }
    return entries, {name: reference for name, (_, reference) in deployed.items()}


def network_entries(width: float) -> tuple[dict[str, nn.Module], dict[str, nn.Module], list[int]]:
    """The lab network's forms, the hardened network each deployed one must equal, and the taps in use
    in each SAL layer."""
    torch.manual_seed(0)
    soft = random_attention(BaselineCNN("sal", width)).eval()
    hardened = harden(copy.deepcopy(soft))
    shared = harden(random_attention(shared_twin(soft)))
    deployed = {
        "SAL net, hardened, masked: to_shift_model (naive)": to_shift_model(copy.deepcopy(hardened)),
        "SAL net, hardened, gathered: to_deployed_model(form='gathered')": to_deployed_model(
            copy.deepcopy(hardened), form="gathered"),
        "SAL net, hardened, deployed: to_deployed_model() (3×3 convs, 8/9 zeros)": to_deployed_model(
            copy.deepcopy(hardened)),
    }
    entries = {
        "SAL net, training form (soft)": soft,
        "SAL net, hardened (3×3 convs with the one-hot kernel)": hardened,
        **deployed,
        "shared-SAL net deployed (channel shift + 1×1)": to_deployed_model(copy.deepcopy(shared)),
        "shift + 1×1 net (BaselineCNN('shift'))": BaselineCNN("shift", width),
        "standard net (BaselineCNN('standard'))": BaselineCNN("standard", width),
    }
    references = {**{name: hardened for name in deployed},
                  "shared-SAL net deployed (channel shift + 1×1)": shared}
    taps_in_use = [int(torch.unique(layer.chosen_taps()).numel()) for layer in sal_layers(hardened)]
    return entries, references, taps_in_use


def on(device: torch.device, modules: dict[str, nn.Module]) -> dict[str, nn.Module]:
    return {name: module.to(device).eval() for name, module in modules.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=64, help="C_in = C_out of the single layer (default 64)")
    parser.add_argument("--size", type=int, default=32, help="H = W of the single layer's input (default 32)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="single-layer batch sizes")
    parser.add_argument("--width", type=float, default=1.0, help="width of the lab network (default 1.0)")
    parser.add_argument("--network-batches", type=int, nargs="+", default=[1], help="network batch sizes")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls of each form (default 30)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    for name in ("channels", "size", "repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name}={getattr(args, name)} must be a positive integer")
    if any(b < 1 for b in args.batches + args.network_batches):
        raise ValueError(f"--batches {args.batches} / --network-batches {args.network_batches} must be positive")
    if args.width <= 0:
        raise ValueError(f"--width={args.width} must be positive")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device={args.device!r}: no GPU is visible")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads={args.threads} must be a positive integer")
        torch.set_num_threads(args.threads)

    load_before = os.getloadavg()
    layers, layer_references = layer_entries(args.channels)
    deploy_picks = type(deploy(layer_references["hardened, masked: ShiftedPointwise (naive, 9 taps)"])).__name__
    layers, layer_references = on(device, layers), on(device, layer_references)
    single = []
    for batch in args.batches:
        c, size = args.channels, args.size
        print(f"one layer, {c} → {c}, {size}×{size}, batch {batch}", file=sys.stderr)
        x = torch.randn(batch, args.channels, args.size, args.size, device=device)
        single.append({"batch": batch, "channels": args.channels, "size": args.size,
                       "rows": measure(layers, x, layer_references, args.repeats)})
    networks, network_references, taps_in_use = network_entries(args.width)
    networks, network_references = on(device, networks), on(device, network_references)
    whole = []
    for batch in args.network_batches:
        print(f"BaselineCNN('sal', {args.width}), batch {batch}", file=sys.stderr)
        x = torch.randn(batch, 3, 32, 32, device=device)
        whole.append({"batch": batch, "rows": measure(networks, x, network_references, args.repeats)})
    result = {
        "benchmark": "sal_deployment",
        **provenance(device),
        "torch_threads": torch.get_num_threads(), "dtype": "float32", "pass": "forward (eval, no_grad)",
        "repeats": args.repeats, "statistics": "median and min of interleaved calls, ms",
        "deploy_picks_for_9_taps": deploy_picks,
        "network": f"BaselineCNN('sal', {args.width})", "network_taps_in_use_per_layer": taps_in_use,
        "single_layer": single, "whole_network": whole,
        "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
