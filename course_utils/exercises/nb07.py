"""Graders for notebook 07, *The operator lab*, and its open design task.

- Exercise 1: the challenge score of the depthwise-separable variant, 8-bit, 50 % unstructured
  pruning (a value).
- Exercise 2: how many times fewer MACs the depthwise-separable variant does than the standard one
  (a value; the measured speed-up is discussed in the solution).
- Exercise 3: the structured pruning rate p_s that halves any model's score (a value).
- Design task: with a Session-5 operator, beat the baseline's challenge score under a MAC budget, without
  losing more than ``ACCURACY_MARGIN`` of its accuracy (:func:`check_design`, :func:`design_figure`). A
  narrower plain network does not count (:func:`session5_operators`), and the design must return (N, 10)
  class scores. The baseline's
  accuracy is the mean over its committed seeds; the design is one seed, so the verdict also says how
  far one seed moves (the baseline's standard deviation).

The expected answers are computed here from the lab's own networks and ``course_utils.challenge``,
never written in the notebook; ``tests/test_exercises_nb07.py`` checks the right answers and the
typical mistakes.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import torch
from torch import nn

from ..challenge import score
from ..cost import Cost
from ..grading import NOT_YET, Verdict, check_value, prepare_block, run_block

# The design task's rules: at most MAC_BUDGET MACs per 32×32 image (about a third of the course
# baseline's 8.7 M), a lower score than the baseline's, and an accuracy at most ACCURACY_MARGIN below it.
MAC_BUDGET = 3_000_000
ACCURACY_MARGIN = 0.05
# A design is run once on this batch: it must return one score per CIFAR-10 class, (N, NUM_CLASSES).
DESIGN_INPUT = (2, 3, 32, 32)
NUM_CLASSES = 10


@functools.lru_cache(maxsize=None)
def variant_cost(variant: str) -> Cost:
    """Deployed params and MACs (per 32×32 image) of one of the lab's variants, e.g. "standard"
    (computed once: the architecture, not the training, sets them)."""
    from ..experiments.lab import lab_model
    from ..models.sal import deployed_cost

    return deployed_cost(lab_model(variant))


# ---------------------------------------------------------------------------------------------
# Exercise 1: score of the depthwise-separable variant, 8-bit, p_u = 0.5
# ---------------------------------------------------------------------------------------------
def check_exercise_1(answer: object) -> Verdict:
    """score(w, f, p_u=0.5, q_w=8, q_a=8) of the depthwise-separable variant."""
    cost = variant_cost("depthwise_separable")
    w, f = cost.params, cost.macs
    expected = score(w, f, p_u=0.5, q_w=8, q_a=8)
    hints = {
        score(w, f, p_s=0.5, q_w=8, q_a=8): "unstructured pruning leaves the MAC term alone: a dense "
                                            "kernel still does every MAC, so p_u enters only the parameter term",
        score(w, f, q_w=8, q_a=8): "you left out the pruning: p_u = 0.5 halves the parameter term",
        score(w, f, p_u=0.5): "you left out the bits: 8-bit weights and activations multiply both terms by 8/32",
        score(w, f, p_u=0.5, q_w=8): "the MAC term runs at max(q_w, q_a) bits: with q_a = 8 it is also 8/32",
    }
    # 0.5 % tolerance: the table's MACs (M) are rounded to 0.01 M
    return check_value(answer, expected, hints=hints, rel_tol=5e-3,
                       general_hint="call score(params, macs, p_u=..., q_w=..., q_a=...) with the "
                                    "depthwise-separable row of the table",
                       success=f"{expected:.5f}: the parameter term is multiplied by (1 − 0.5)·8/32, the "
                               f"MAC term only by 8/32.")


# ---------------------------------------------------------------------------------------------
# Exercise 2: MAC ratio standard / depthwise-separable
# ---------------------------------------------------------------------------------------------
def check_exercise_2(answer: object) -> Verdict:
    """MACs of the standard variant divided by those of the depthwise-separable variant."""
    standard, separable = variant_cost("standard"), variant_cost("depthwise_separable")
    expected = standard.macs / separable.macs
    hints = {
        separable.macs / standard.macs: "that is depthwise-separable / standard: invert the ratio",
        standard.params / separable.params: "that is the ratio of parameters; the question asks for MACs",
    }
    return check_value(answer, expected, hints=hints, rel_tol=0.01,
                       general_hint="divide the standard variant's MACs by the depthwise-separable "
                                    "variant's (column 'MACs (M)' of the table)",
                       success=f"{expected:.2f}× fewer MACs. Now compare with the latency table.")


# ---------------------------------------------------------------------------------------------
# Exercise 3: the p_s that halves the score
# ---------------------------------------------------------------------------------------------
def halving_structured_rate(params: float, macs: float) -> float:
    """The p_s at which score(params, macs, p_s) = score(params, macs) / 2, found by bisection on
    the score itself (it is the same for every model: both terms carry the factor 1 − p_s)."""
    target = score(params, macs) / 2
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if score(params, macs, p_s=middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def check_exercise_3(answer: object) -> Verdict:
    """The structured pruning rate p_s that halves a model's score (no p_u, same bits)."""
    cost = variant_cost("standard")
    w, f = cost.params, cost.macs
    expected = halving_structured_rate(w, f)
    hints = {
        1 - 1 / math.sqrt(2): "(1 − p_s) is not squared: each term carries it once",
        1.0: "p_s = 1 removes every channel: the score drops to 0, not to half",
        0.75: "p_s = 0.75 leaves (1 − 0.75) = a quarter of the score, not half",
    }
    return check_value(answer, expected, hints=hints, rel_tol=1e-3,
                       general_hint="p_s multiplies both terms by (1 − p_s): which p_s makes that 1/2?",
                       success=f"p_s = {expected:.2f}: with p_u = 0 both terms carry (1 − p_s), so the "
                               f"score is (1 − p_s) times the unpruned one, for any model.")


# ---------------------------------------------------------------------------------------------
# The open design task
# ---------------------------------------------------------------------------------------------
def _baseline_row(baseline: object) -> tuple[float, float, float]:
    """(params, macs, accuracy) of the baseline's row of the lab (a mapping, e.g. ``lab.loc["standard"]``;
    its accuracy is the mean over the committed seeds)."""
    if not isinstance(baseline, Mapping) and hasattr(baseline, "to_dict"):   # a pandas row
        baseline = baseline.to_dict()
    if not isinstance(baseline, Mapping) or not {"params", "macs", "accuracy"} <= set(baseline):
        raise ValueError(f"baseline={baseline!r} must be a row of the lab's table, a mapping with "
                         "'params', 'macs' and 'accuracy' (e.g. lab.loc['standard'], the standard variant)")
    accuracy = baseline["accuracy"]
    if isinstance(accuracy, bool) or not isinstance(accuracy, Real) or not 0 <= accuracy <= 1:
        raise ValueError(f"baseline['accuracy']={accuracy!r} must be a fraction in [0, 1]")
    return float(baseline["params"]), float(baseline["macs"]), float(accuracy)


def _seed_spread(baseline: object) -> str:
    """' (mean of n seeds, std s points)' when the baseline row carries 'n' and 'std', else ''."""
    row = baseline.to_dict() if not isinstance(baseline, Mapping) and hasattr(baseline, "to_dict") else baseline
    n, std = row.get("n"), row.get("std")
    if isinstance(n, Real) and isinstance(std, Real) and n > 1 and math.isfinite(std):
        return f" (mean of {int(n)} seeds, std {100 * std:.1f} points: one seed moves about that much)"
    return ""


def design_cost(model: nn.Module) -> Cost:
    """Deployed params and MACs per 32×32 image of a design (SAL layers counted hardened)."""
    from ..models.sal import deployed_cost

    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module")
    return deployed_cost(model, (1, 3, 32, 32))


def _session5_layers() -> dict[type, str]:
    """The course's Session-5 layers, class → name."""
    from ..layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire,
                          GatheredShiftPointwise, InvertedResidual, Shift2d, ShiftAttentionConv2d, ShiftConv2d)
    from ..layers.shift_attention import ChannelShift, ShiftedPointwise

    return {DecomposedConv2d: "(k, 1) + (1, l)", DepthwiseSeparableConv2d: "depthwise-separable",
            DepthwiseConv2d: "depthwise", Fire: "Fire", InvertedResidual: "inverted residual",
            ShiftConv2d: "shift + 1×1", Shift2d: "shift", ShiftAttentionConv2d: "SAL", ChannelShift: "shift",
            ShiftedPointwise: "SAL (deployed)", GatheredShiftPointwise: "SAL (deployed)"}


def _convolutions_in_order(model: nn.Module) -> list[nn.Conv2d]:
    """The model's convolutions in the order its forward runs them on one 32×32 image."""
    ran: list[nn.Conv2d] = []
    hooks = [m.register_forward_pre_hook(lambda layer, args: ran.append(layer))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        run_block(model, torch.zeros(DESIGN_INPUT))
    finally:
        for hook in hooks:
            hook.remove()
    return ran


def session5_operators(model: nn.Module) -> list[str]:
    """The Session-5 operators a design uses, in words: the course's layers (``course_utils.layers``),
    else the marks of a hand-written one: a grouped or depthwise convolution (groups > 1), a (k, 1)
    or (1, l) kernel, a 1×1 squeeze (fewer maps out than in) right before a k×k convolution."""
    layers = _session5_layers()
    found = [name for m in model.modules() for kind, name in layers.items() if type(m) is kind]
    if found:                     # the course's own layers: their names say it all
        return list(dict.fromkeys(found))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if any(m.groups > 1 for m in convs):
        found.append("grouped or depthwise convolution")
    if any(m.kernel_size[0] != m.kernel_size[1] for m in convs):
        found.append("(k, 1) or (1, l) convolution")
    if _squeezes(_convolutions_in_order(model)):
        found.append("1×1 squeeze before a k×k convolution")
    return found


def _squeezes(ran: list[nn.Conv2d]) -> bool:
    """Whether a 1×1 convolution narrows the maps (C_out < C_in) and a k×k convolution reads them:
    among the convolutions run right after it that take its C_out maps (a Fire's two expands)."""
    for i, squeeze in enumerate(ran):
        if squeeze.kernel_size != (1, 1) or squeeze.out_channels >= squeeze.in_channels:
            continue
        for reader in ran[i + 1:]:
            if reader.in_channels != squeeze.out_channels:
                break
            if reader.kernel_size != (1, 1):
                return True
    return False


def _runs_and_classifies(design: nn.Module) -> str | None:
    """A hint when the design cannot be graded (see ``grading.prepare_block``) or does not end with
    a classifier: one score per CIFAR-10 class, an output of shape (N, 10)."""
    problem = prepare_block(design, DESIGN_INPUT)
    if problem is not None:
        return problem.replace("your forward", "your network")
    shape = tuple(run_block(design, torch.zeros(DESIGN_INPUT)).shape)
    if shape != (DESIGN_INPUT[0], NUM_CLASSES):
        return (f"your network maps a batch of shape {DESIGN_INPUT} to {shape}, not (N, {NUM_CLASSES}): "
                f"end it with a classifier, one score per CIFAR-10 class (as BaselineCNN does: global "
                f"average pooling, flatten, nn.Linear(channels, {NUM_CLASSES})).")
    return None


def check_design(design: object, *, baseline: Mapping[str, Any], accuracy: float | None = None,
                 mac_budget: int = MAC_BUDGET) -> Verdict:
    """Grade a design (an ``nn.Module`` taking 32×32 images, returning (N, 10) class scores):

    1. it uses a Session-5 operator (:func:`session5_operators`): the task is to beat the baseline
       with one, not with a narrower plain network;
    2. MACs per image ≤ ``mac_budget``;
    3. score(params, MACs) < the baseline's score (full precision, no pruning);
    4. when ``accuracy`` (0..1, after training) is given: ≥ baseline accuracy − ``ACCURACY_MARGIN``.
    """
    base_params, base_macs, base_accuracy = _baseline_row(baseline)
    if isinstance(mac_budget, bool) or not isinstance(mac_budget, int) or mac_budget < 1:
        raise ValueError(f"mac_budget={mac_budget!r} must be a positive integer number of MACs")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, Real)
                                 or not 0 <= accuracy <= 1):
        raise ValueError(f"accuracy={accuracy!r} must be None or a fraction in [0, 1]")
    if design is None:
        return Verdict(False, NOT_YET)
    if not isinstance(design, nn.Module):
        return Verdict(False, f"❌ Not yet — build a network (an nn.Module), not a {type(design).__name__}.")
    was_training = design.training
    try:
        problem = _runs_and_classifies(design)
        if problem is not None:
            return Verdict(False, f"❌ Not yet: {problem}")
        cost, operators = design_cost(design), session5_operators(design)
    except Exception as error:  # the student's network is what we are grading
        return Verdict(False, f"❌ Not yet: your network fails on a {DESIGN_INPUT} batch: "
                              f"{type(error).__name__}: {error}")
    finally:
        design.train(was_training)
    mine, theirs = score(cost.params, cost.macs), score(base_params, base_macs)
    within_budget = cost.macs <= mac_budget
    cheaper = mine < theirs
    lines = [f"✅ operator: {', '.join(operators)}" if operators else
             "❌ operator: none, only standard convolutions",
             f"{'✅' if within_budget else '❌'} MACs: {cost.macs / 1e6:.2f} M "
             f"{'≤' if within_budget else '>'} budget {mac_budget / 1e6:.2f} M",
             f"{'✅' if cheaper else '❌'} score: {mine:.4f} {'<' if cheaper else '≥'} "
             f"baseline {theirs:.4f} ({cost.params:,} params)"]
    bar = base_accuracy - ACCURACY_MARGIN
    spread = _seed_spread(baseline)
    if accuracy is None:
        lines.append(f"… accuracy: not trained yet (it must reach {100 * bar:.1f} %, the baseline's "
                     f"{100 * base_accuracy:.1f} %{spread} minus {100 * ACCURACY_MARGIN:.0f} points)")
        accurate = True
    else:
        accurate = accuracy >= bar
        lines.append(f"{'✅' if accurate else '❌'} accuracy: {100 * accuracy:.1f} % "
                     f"{'≥' if accurate else '<'} {100 * bar:.1f} % (baseline {100 * base_accuracy:.1f} %"
                     f"{spread} minus {100 * ACCURACY_MARGIN:.0f} points)")
    passed = bool(operators) and within_budget and cheaper and accurate
    if not passed:
        hint = ("no Session-5 operator: a narrower standard network is not the task. Use a block of "
                "the lab (depthwise-separable, Fire, (k, 1) + (1, l), inverted residual, shift + 1×1), "
                "e.g. BaselineCNN(\"fire\", 1.0), or your own block built from one" if not operators else
                "too many MACs: a cheaper block or a smaller width" if not within_budget else
                "the score adds parameters and MACs: fewer parameters too" if not cheaper else
                "too cheap to learn: a wider network, or a block that keeps more spatial mixing")
        return Verdict(False, "❌ Not yet: " + hint + "\n" + "\n".join(lines))
    head = ("✅ Within the budget and cheaper than the baseline; now train it" if accuracy is None
            else "✅ Design accepted")
    return Verdict(True, head + "\n" + "\n".join(lines))


def design_switch() -> Any:
    """The toggle of the design task's training cell, displayed by the calling cell: the course's
    ``retrain_switch`` (``course_utils.widgets``), green "Cost check only" when off, red "Training live" when on.

    Running every cell never trains a design: the training cell also needs ``my_design``, which the
    notebook leaves at None."""
    from ..widgets import retrain_switch

    return retrain_switch("your design, about 1 min", off="Cost check only")


def _figure_rows(runs: object) -> list[dict[str, Any]]:
    """The lab's points as dicts (variant, operator, width, params, macs, accuracy, std): from the sweep's
    summary (a DataFrame with 'mean' and 'std', e.g. ``summarise(load_runs("lab"))``) or from a
    sequence of mappings with 'accuracy'."""
    if hasattr(runs, "to_dict") and hasattr(runs, "columns"):           # a pandas DataFrame
        records = runs.to_dict("records")
    elif isinstance(runs, Sequence) and not isinstance(runs, str):
        records = [dict(row) if isinstance(row, Mapping) else row for row in runs]
    else:
        raise ValueError(f"runs={runs!r} must be the sweep's summary (a DataFrame) or a list of rows")
    rows = []
    for i, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise ValueError(f"runs[{i}]={row!r} must be a mapping with variant, operator, params, macs, accuracy")
        accuracy = row.get("mean", row.get("accuracy"))
        missing = [key for key in ("variant", "operator", "params", "macs") if key not in row]
        if missing or accuracy is None:
            raise ValueError(f"runs[{i}] lacks {missing or ['accuracy (or mean)']}: pass the sweep's summary")
        std = row.get("std", 0.0)
        rows.append({"variant": row["variant"], "operator": row["operator"], "width": row.get("width"),
                     "params": float(row["params"]), "macs": float(row["macs"]), "accuracy": float(accuracy),
                     "std": float(std) if isinstance(std, Real) and math.isfinite(std) else 0.0})
    return rows


def _baseline_point(rows: list[dict[str, Any]], baseline: str) -> dict[str, Any]:
    """The baseline's point: the row of variant ``baseline`` at its lab width (``experiments.lab.LAB``), or its
    only row."""
    from ..experiments.lab import LAB

    mine = [row for row in rows if row["variant"] == baseline]
    if not mine:
        raise ValueError(f"baseline={baseline!r} must be the 'variant' of one of the runs: "
                         f"{list(dict.fromkeys(row['variant'] for row in rows))}")
    if len(mine) == 1:
        return mine[0]
    lab_width = LAB[baseline].width if baseline in LAB else None
    at_lab = [row for row in mine if row["width"] == lab_width]
    if len(at_lab) != 1:
        raise ValueError(f"baseline={baseline!r} has {len(mine)} rows and none at its lab width {lab_width}")
    return at_lab[0]


def design_figure(runs: Any, *, baseline: str = "standard", design: nn.Module | None = None,
                  accuracy: float | None = None, mac_budget: int = MAC_BUDGET):
    """Score (log) against accuracy: the committed points (the sweep's summary: every operator at each
    width, mean ± std over seeds; hollow when over the MAC budget), the target region (left of the
    baseline's score, above its accuracy − ACCURACY_MARGIN) and the design: a star once trained, a
    dash-dotted vertical line at its score before."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    rows = _figure_rows(runs)
    base = _baseline_point(rows, baseline)
    base_score = score(base["params"], base["macs"])
    fig, ax = plt.subplots(figsize=(10, 4.8), layout="constrained")
    markers = "osD^vPX*"
    for i, variant in enumerate(dict.fromkeys(row["variant"] for row in rows)):
        points = [row for row in rows if row["variant"] == variant]
        style = {"marker": markers[i % len(markers)], "ms": 10, "mew": 2, "color": f"C{i % 10}",
                 "capsize": 3, "ls": "none"}
        labelled = False
        for over in (False, True):
            chosen = [row for row in points if (row["macs"] > mac_budget) == over]
            if not chosen:
                continue
            ax.errorbar([score(r["params"], r["macs"]) for r in chosen], [100 * r["accuracy"] for r in chosen],
                        yerr=[100 * r["std"] for r in chosen], mfc="none" if over else f"C{i % 10}",
                        label="_nolegend_" if labelled else points[0]["operator"], **style)
            labelled = True
    ax.axvline(base_score, color="k", ls="--", lw=1, label="baseline's score")
    ax.axhline(100 * (base["accuracy"] - ACCURACY_MARGIN), color="k", ls=":", lw=1.5,
               label=f"baseline − {100 * ACCURACY_MARGIN:.0f} points")
    if design is not None:
        cost = design_cost(design)
        mine = score(cost.params, cost.macs)
        if accuracy is None:
            ax.axvline(mine, color="k", ls="-.", lw=2.5, label="your design (untrained)")
        else:
            ax.plot(mine, 100 * accuracy, "*", ms=24, color="gold", mec="k", mew=1.5,
                    label=f"your design (one seed), {cost.macs / 1e6:.1f} M MACs")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(min([40.0] + [100 * r["accuracy"] - 5 for r in rows]),
                max([80.0] + [100 * r["accuracy"] + 5 for r in rows]))
    ax.set_xlabel("challenge score, fp32 (log; lower is better)")
    ax.set_ylabel("test accuracy (%), mean ± std")
    ax.set_title(f"Design task: ≤ {mac_budget / 1e6:g} M MACs")
    fig.legend(loc="outside right center", fontsize="small", title_fontsize="small",
               title=f"hollow: over\n{mac_budget / 1e6:g} M MACs")
    return fig


__all__ = ["MAC_BUDGET", "ACCURACY_MARGIN", "variant_cost", "check_exercise_1", "check_exercise_2",
           "check_exercise_3", "halving_structured_rate", "design_cost", "session5_operators", "check_design",
           "design_switch", "design_figure"]
