"""Milliseconds per training step of the course baseline with each body operator, in fp32 and bf16.

One step = forward, loss, backward and SGD update on a batch of random 32×32 images (channels-last),
the work ``course_utils.training`` does per step. It shows what MAC counts hide on a CPU (memory-bound
BatchNorm and activations on the inverted residual's wide maps, slow bf16 backward for depthwise
convs) and it is the measurement behind ``precision="auto"`` (fp32 for grouped convs on CPU).

    python benchmarks/train_step.py                          # every operator, width 1.0, batch 128
    python benchmarks/train_step.py --blocks standard depthwise_separable --width 0.5

The last line of stdout is one JSON object: {block: {"fp32": ms, "bf16": ms, "macs": ..., ...}, ...}.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from torch import nn

from course_utils.cost import count
from course_utils.models.baseline import baseline_cnn, block_names
from course_utils.provenance import provenance


def step_ms(model: nn.Module, amp: torch.dtype | None, batch_size: int, repeats: int) -> float:
    """Median wall time (ms) of one SGD step, after 3 warm-up steps."""
    model.to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,))
    times = []
    for i in range(repeats + 3):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp is not None):
            loss = nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 3:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", nargs="+", default=block_names(), choices=block_names())
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    results = {}
    for block in args.blocks:
        cost = count(baseline_cnn(block, args.width), (1, 3, 32, 32))
        row = {"params": cost.params, "macs": cost.macs}
        for label, amp in (("fp32", None), ("bf16", torch.bfloat16)):
            torch.manual_seed(0)
            row[label] = round(step_ms(baseline_cnn(block, args.width), amp, args.batch_size, args.repeats), 1)
        print(f"{block:22s} fp32 {row['fp32']:7.1f} ms  bf16 {row['bf16']:7.1f} ms  ({cost.macs / 1e6:.1f} M MACs)",
              flush=True)
        results[block] = row
    print(json.dumps({"width": args.width, "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                      "machine": platform.machine(), **provenance("cpu"), "ms_per_step": results}))


if __name__ == "__main__":
    main()
