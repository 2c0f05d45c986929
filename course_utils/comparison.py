"""Reading seeded runs at matched cost: one row per configuration (mean ± std over seeds), a difference of
means against the seed noise, and a width curve read at another network's cost.

Every comparison in notebooks 02-07 goes through these functions, so they all say "within noise" by the same
rule: Welch's t-test (``scipy.stats.ttest_ind`` with unequal variances) at 95 %. A difference is stated only when
its 95 % confidence interval excludes 0; with 3 seeds against 3 that needs about 2.8 standard errors, not 2.
A configuration trained with one seed has no spread of its own: :func:`compare_with_noise` judges it against
the seed noise pooled from configurations that have several (:func:`pooled_noise`), Student's t at 95 %.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

VERDICTS = ("a higher", "b higher", "within noise")


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, width): operator, params, macs, mean and standard deviation (n − 1) of the
    accuracy over seeds, the number of seeds and the seeds' accuracies."""
    missing = {"variant", "operator", "width", "params", "macs", "accuracy"} - set(runs.columns)
    if missing:
        raise ValueError(f"runs lacks the columns {sorted(missing)}: pass load_runs(...)'s table")
    grouped = runs.groupby(["variant", "width"], sort=False)
    table = grouped.agg(operator=("operator", "first"), params=("params", "first"), macs=("macs", "first"),
                        mean=("accuracy", "mean"), std=("accuracy", "std"), n=("accuracy", "size"),
                        accuracies=("accuracy", list))
    return table.reset_index()


def _finite_numbers(label: str, values: Sequence[float]) -> list[float]:
    values = [v.item() if hasattr(v, "item") else v for v in values]
    if not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError(f"{label}={list(values)} must hold finite numbers")
    return [float(v) for v in values]


def _accuracies(label: str, values: Sequence[float]) -> list[float]:
    if len(values) < 2:
        raise ValueError(f"{label} has {len(values)} accuracies: at least 2 seeds are needed to measure noise")
    return _finite_numbers(label, values)


def _verdict(difference: float, low: float, high: float) -> str:
    """'within noise' when the interval [low, high] of a − b holds 0, else which side is higher."""
    return "within noise" if low <= 0 <= high else ("a higher" if difference > 0 else "b higher")


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """The difference of means a − b and Welch's t-test of it (``scipy.stats.ttest_ind``, unequal variances):

        se = sqrt(s_a²/n_a + s_b²/n_b),   df = se⁴ / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1)),
        noise = t_0.975(df) · se          (the half-width of the 95 % confidence interval of a − b)

    Returns {difference, noise, low, high (the 95 % interval), df, p_value, verdict}: 'a higher' / 'b higher'
    when the interval excludes 0 (p < 0.05), else 'within noise'."""
    a, b = _accuracies("a", a), _accuracies("b", b)
    difference = statistics.fmean(a) - statistics.fmean(b)
    if statistics.variance(a) == 0 and statistics.variance(b) == 0:      # no spread at all: nothing to test
        return {"difference": difference, "noise": 0.0, "low": difference, "high": difference,
                "df": float(len(a) + len(b) - 2), "p_value": 1.0 if difference == 0 else 0.0,
                "verdict": _verdict(difference, difference, difference)}
    test = stats.ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(0.95)
    low, high = float(interval.low), float(interval.high)
    return {"difference": difference, "noise": (high - low) / 2, "low": low, "high": high, "df": float(test.df),
            "p_value": float(test.pvalue), "verdict": _verdict(difference, low, high)}


def pooled_noise(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
    """The seed noise shared by several configurations, each with at least 2 seeds: the pooled standard deviation
    and its degrees of freedom,

        s_p = sqrt(Σ (n_i − 1)·s_i² / Σ (n_i − 1)),   df = Σ (n_i − 1)."""
    groups = [_accuracies(f"groups[{i}]", group) for i, group in enumerate(groups)]
    if not groups:
        raise ValueError("groups=[] must hold at least one configuration's accuracies")
    df = sum(len(group) - 1 for group in groups)
    return math.sqrt(sum((len(group) - 1) * statistics.variance(group) for group in groups) / df), df


def compare_with_noise(a: Sequence[float], b: Sequence[float], noise: tuple[float, int]) -> dict[str, Any]:
    """The difference of means a − b against a seed noise measured elsewhere, ``noise = (s_p, df)`` from
    :func:`pooled_noise` (for runs of one seed, which cannot measure their own):

        se = s_p · sqrt(1/n_a + 1/n_b),   noise = t_0.975(df) · se

    Returns the same keys as :func:`compare`; the verdict assumes a and b vary across seeds as the pooled
    configurations do."""
    if not (isinstance(noise, tuple) and len(noise) == 2):
        raise ValueError(f"noise={noise!r} must be a (standard deviation, degrees of freedom) pair: pooled_noise(...)")
    spread, df = noise
    if not (isinstance(spread, Real) and math.isfinite(spread) and spread >= 0):
        raise ValueError(f"noise={noise!r}: its standard deviation must be a finite number >= 0 (pooled_noise)")
    if not (isinstance(df, int) and not isinstance(df, bool) and df >= 1):
        raise ValueError(f"noise={noise!r}: its degrees of freedom must be an integer >= 1 (pooled_noise)")
    a, b = _finite_numbers("a", a), _finite_numbers("b", b)
    for label, values in (("a", a), ("b", b)):
        if not values:
            raise ValueError(f"{label}={values} must hold at least one finite number")
    difference = statistics.fmean(a) - statistics.fmean(b)
    se = spread * math.sqrt(1 / len(a) + 1 / len(b))
    half = float(stats.t.ppf(0.975, df)) * se
    p_value = float(2 * stats.t.sf(abs(difference) / se, df)) if se > 0 else float(difference == 0)
    low, high = difference - half, difference + half
    return {"difference": difference, "noise": half, "low": low, "high": high, "df": float(df),
            "p_value": p_value, "verdict": _verdict(difference, low, high)}


def points(gap: dict[str, Any]) -> str:
    """A :func:`compare` result as 'difference ± noise' in points, the noise being the half-width of the 95 %
    interval (2 decimals where 1 would hide the order)."""
    d, n = 100 * gap["difference"], 100 * gap["noise"]
    digits = 1 if round(abs(d), 1) != round(n, 1) else 2
    return f"{d:+.{digits}f} ± {n:.{digits}f}"


def curve_at(summary: pd.DataFrame, variant: str, cost: str, x: float) -> list[float] | None:
    """``variant``'s accuracy curve (``summarise(...).set_index(["variant", "width"])``) read at cost ``x``
    ('macs' or 'params'), seed by seed: on the log axis, the straight line between the widths around x,
    a + t·(b − a), t = log(x / x_a) / log(x_b / x_a). None if x lies outside the curve."""
    if variant not in summary.index.get_level_values(0):
        raise ValueError(f"variant={variant!r} is not in the summary ({sorted(set(summary.index.get_level_values(0)))})")
    if cost not in ("macs", "params"):
        raise ValueError(f"cost={cost!r} must be 'macs' or 'params'")
    curve = summary.loc[variant].sort_values(cost)
    below, above = curve[curve[cost] <= x], curve[curve[cost] >= x]
    if below.empty or above.empty:
        return None
    a, b = below.iloc[-1], above.iloc[0]
    if a.name == b.name:                  # x is one of the widths' costs
        return list(a["accuracies"])
    t = np.log(x / a[cost]) / np.log(b[cost] / a[cost])
    return [p + t * (q - p) for p, q in zip(a["accuracies"], b["accuracies"])]


def verdict(a: Sequence[float], b: Sequence[float] | None, names: dict[str, str], *,
            missing: str = "outside the other curve") -> str:
    """``compare(a, b)`` as 'difference ± noise: verdict in words', ``names`` mapping each of
    ``VERDICTS`` to its words (e.g. {"a higher": "separable higher", ...}); ``missing`` when b is None."""
    if b is None:
        return missing
    gap = compare(a, b)
    return f"{points(gap)}: {names[gap['verdict']]}"


def in_words(gap: dict[str, Any], a: str, b: str) -> str:
    """A :func:`compare` result in a sentence: a difference is stated only beyond the noise."""
    if gap["verdict"] == "within noise":
        return f"**within noise** ({a} − {b}: {points(gap)} points)"
    winner, loser = (a, b) if gap["verdict"] == "a higher" else (b, a)
    return (f"**{winner}** higher than {loser} (Welch's t-test, 95 %: "
            f"{a} − {b}: {points(gap)} points, p = {gap['p_value']:.3f})")


__all__ = ["VERDICTS", "summarise", "compare", "pooled_noise", "compare_with_noise", "points", "curve_at", "verdict",
           "in_words"]
