"""Plots of seeded runs: width curves with error bars, bars of seeds, and "your run" on top of them.

Plumbing for the notebooks. Every accuracy is plotted in percent, as the mean over seeds with a ± one
standard deviation error bar, and every seed as a small dot, so that a reader sees the noise before
comparing two points. The tables come from :func:`course_utils.experiments.load_runs`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes

from .. import checks
from ..comparison import summarise

AXIS_LABELS: dict[str, str] = {
    "macs": "MACs per image (millions)",
    "params": "parameters (thousands)",
    "memory_bytes": "weight memory (kB)",
}
AXIS_SCALE: dict[str, float] = {"macs": 1e-6, "params": 1e-3, "memory_bytes": 1e-3}
ACCURACY_LABEL = "test accuracy (%)\n10,000 images"  # two short lines: fits a presenter figure's height


def _check_axes(ax: object) -> Axes:
    if not isinstance(ax, Axes):
        raise ValueError(f"ax={ax!r} must be a matplotlib Axes (e.g. fig, ax = plt.subplots())")
    return ax


def plot_width_curves(ax: Axes, runs: pd.DataFrame, *, x: str = "macs", variants: Sequence[str] | None = None,
                      show_seeds: bool = True, logx: bool = True) -> pd.DataFrame:
    """One curve per operator over its widths: mean accuracy ± std (over seeds) against column ``x`` of
    ``runs`` ('macs', 'params', 'memory_bytes' or any numeric column), each seed as a dot. Returns the
    summary it plotted (:func:`course_utils.comparison.summarise`)."""
    _check_axes(ax)
    if x not in runs.columns:
        raise ValueError(f"x={x!r} must be a column of runs: {sorted(map(str, runs.columns))}")
    checks.boolean("show_seeds", show_seeds)
    checks.boolean("logx", logx)
    scale = AXIS_SCALE.get(x, 1.0)
    chosen = runs if variants is None else runs[runs["variant"].isin(list(variants))]
    if chosen.empty:
        raise ValueError(f"variants={variants!r} select no run (runs holds {sorted(runs['variant'].unique())})")
    summary = summarise(chosen)
    summary[x] = chosen.groupby(["variant", "width"], sort=False)[x].first().to_numpy()
    for variant in dict.fromkeys(chosen["variant"]):
        points = summary[summary["variant"] == variant].sort_values(x)
        xs = points[x] * scale
        line = ax.errorbar(xs, points["mean"] * 100, yerr=points["std"].fillna(0) * 100, marker="o", capsize=5,
                           label=points["operator"].iloc[0])
        if show_seeds:
            seeds = chosen[chosen["variant"] == variant]
            ax.scatter(seeds[x] * scale, seeds["accuracy"] * 100, s=14, alpha=0.6, color=line[0].get_color(),
                       zorder=3)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(AXIS_LABELS.get(x, x))
    ax.set_ylabel(ACCURACY_LABEL)
    ax.legend()
    return summary


def plot_seed_dots(ax: Axes, groups: dict[str, Sequence[float]], *, live: dict[str, float] | None = None) -> None:
    """A dot plot: per group every seed as a dot and the mean as a diamond with a ± std error bar (no bars, whose
    length would be read from a cut axis); ``live`` ({label: accuracy}) adds a star for "your run"."""
    _check_axes(ax)
    if not groups:
        raise ValueError("groups={} must hold at least one {label: [accuracies]} entry")
    for label, values in groups.items():
        if len(values) == 0 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise ValueError(f"groups[{label!r}]={list(values)} must be a non-empty list of finite accuracies")
    unknown = sorted(set(live or {}) - set(groups))
    if unknown:
        raise ValueError(f"live={live!r} names {unknown}, which are not in groups ({list(groups)})")
    labels = list(groups)
    means = [100 * sum(v) / len(v) for v in groups.values()]
    stds = [100 * pd.Series(list(v)).std() if len(v) > 1 else 0.0 for v in groups.values()]
    ax.errorbar(range(len(labels)), means, yerr=stds, fmt="D", ms=9, capsize=8, color="tab:blue", zorder=2,
                label="mean ± std")
    for i, values in enumerate(groups.values()):
        ax.scatter([i + 0.12] * len(values), [100 * v for v in values], color="black", s=22, zorder=3,
                   label="one seed" if i == 0 else None)
    for label, accuracy in (live or {}).items():
        ax.scatter([labels.index(label)], [100 * accuracy], marker="*", s=260, color="tab:red", zorder=4,
                   label="your run (live)" if label == next(iter(live)) else None)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel(ACCURACY_LABEL)
    ax.legend()


def mark_live_run(ax: Axes, x: float, accuracy: float, *, label: str = "your run (live)") -> None:
    """A star at (x, accuracy in %) for a run trained live, on top of the committed seeds. ``x`` is in the
    axis' units (e.g. millions of MACs)."""
    _check_axes(ax)
    for name, value in (("x", x), ("accuracy", accuracy)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}={value!r} must be a finite number")
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy={accuracy} must be a fraction in [0, 1]")
    ax.scatter([x], [100 * accuracy], marker="*", s=260, color="tab:red", zorder=4, label=label)
    ax.legend()


__all__ = ["plot_width_curves", "plot_seed_dots", "mark_live_run", "AXIS_LABELS", "ACCURACY_LABEL"]
