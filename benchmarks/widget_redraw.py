"""Time one redraw of the cost explorer (notebook 01): a slider change → new bars, labels and PNG.

Prints one JSON line: median and 90th-percentile milliseconds per slider change.
    python benchmarks/widget_redraw.py [--repeats 60]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import matplotlib

from course_utils import style
from course_utils.provenance import provenance
from course_utils.widgets import SLIDERS, CostExplorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="slider changes to time (default 60)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats={args.repeats} must be >= 1")

    style.apply()  # the notebooks' style: the explorer is timed as students see it
    explorer = CostExplorer()
    knobs = ["c_in", "k", "c_out", "h", "d", "l"]
    times_ms = []
    for i in range(args.repeats):
        knob = knobs[i % len(knobs)]
        options = list(SLIDERS[knob][1])
        value = options[(options.index(explorer.sliders[knob].value) + 1) % len(options)]
        start = time.perf_counter()
        explorer.sliders[knob].value = value  # what a slider drag does: the observer redraws
        times_ms.append((time.perf_counter() - start) * 1e3)
    times_ms.sort()
    print(json.dumps({
        "benchmark": "widget_redraw", "median_ms": round(statistics.median(times_ms), 1),
        "p90_ms": round(times_ms[int(0.9 * (len(times_ms) - 1))], 1), "repeats": args.repeats,
        **provenance("cpu"), "matplotlib": matplotlib.__version__,
    }))


if __name__ == "__main__":
    main()
