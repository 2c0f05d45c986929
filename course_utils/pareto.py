"""The Pareto front: the models that no other model beats on both cost and accuracy.

Model j *dominates* model i when it costs no more and is at least as accurate, and is strictly better
on one of the two:  cost_j ≤ cost_i  and  acc_j ≥ acc_i  and  (cost_j < cost_i or acc_j > acc_i).
The front is the set of models that nobody dominates. Walking it from cheap to expensive, accuracy
only goes up: each step says how much accuracy the extra cost buys.

With several seeds per model, the front is drawn through the *means*; whether one model really beats
another is then a question of noise (``course_utils.comparison.compare``). :func:`best_under_budget` names
the two models such a comparison needs: the most accurate one within a budget, and the best of the
other operators.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from numbers import Real

from . import checks


def _numbers(name: str, values: object) -> list[float]:
    """``values`` as a list of finite floats (NumPy numbers and 0-d tensors are fine), or a ValueError."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"{name}={values!r} must be a sequence of numbers")
    numbers = []
    for i, value in enumerate(values):
        value = checks.scalar(value)
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{name}[{i}]={value!r} must be a finite number")
        numbers.append(float(value))
    return numbers


def _check_models(costs: Sequence[float], accuracies: Sequence[float]) -> tuple[list[float], list[float]]:
    costs, accuracies = _numbers("costs", costs), _numbers("accuracies", accuracies)
    if len(costs) != len(accuracies):
        raise ValueError(f"costs has {len(costs)} values and accuracies {len(accuracies)}: they must match")
    return costs, accuracies


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the non-dominated models (lower cost and higher accuracy are better),
    sorted by increasing cost. Exact ties (same cost and accuracy) are all kept."""
    costs, accuracies = _check_models(costs, accuracies)
    # Sort by cost, then by accuracy (best first): a model is on the front iff it is more accurate
    # than every cheaper model seen so far (or ties the best one exactly at the same cost).
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i]))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if accuracies[i] > best:
            front.append(i)
            best = accuracies[i]
        elif front and accuracies[i] == best and costs[i] == costs[front[-1]]:
            front.append(i)
    return front


def dominates(cost_a: float, accuracy_a: float, cost_b: float, accuracy_b: float) -> bool:
    """True when model a dominates model b: no costlier, no less accurate, strictly better on one."""
    return cost_a <= cost_b and accuracy_a >= accuracy_b and (cost_a < cost_b or accuracy_a > accuracy_b)


def best_under_budget(costs: Sequence[float], accuracies: Sequence[float], groups: Sequence[Hashable],
                      budget: float) -> tuple[int, int | None] | None:
    """Among the models with cost ≤ ``budget``: (winner, runner-up), the index of the most accurate
    model and that of the most accurate model of another group (operator), None when no other group
    fits the budget. None when no model fits. Equal accuracies: the cheaper model, then the first.

        winner = argmax { acc_i : cost_i ≤ budget },
        runner-up = argmax { acc_j : cost_j ≤ budget, group_j ≠ group_winner }
    """
    costs, accuracies = _check_models(costs, accuracies)
    if len(groups) != len(costs):
        raise ValueError(f"groups has {len(groups)} values and costs {len(costs)}: they must match")
    budget = checks.scalar(budget)
    if isinstance(budget, bool) or not isinstance(budget, Real) or math.isnan(budget):
        raise ValueError(f"budget={budget!r} must be a number (a cost; inf allows every model)")
    fits = sorted((i for i in range(len(costs)) if costs[i] <= budget),
                  key=lambda i: (-accuracies[i], costs[i], i))
    if not fits:
        return None
    winner = fits[0]
    runner_up = next((i for i in fits if groups[i] != groups[winner]), None)
    return winner, runner_up


__all__ = ["pareto_front", "dominates", "best_under_budget"]
