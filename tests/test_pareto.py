"""The Pareto front against its definition (brute force over every pair), on arbitrary inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.pareto import best_under_budget, dominates, pareto_front

values = st.integers(0, 6).map(float)   # few distinct values: many ties, the hard case


@given(st.lists(st.tuples(values, values), max_size=12))
def test_front_is_exactly_the_non_dominated_models(models):
    costs = [c for c, _ in models]
    accuracies = [a for _, a in models]
    expected = {i for i in range(len(models))
                if not any(dominates(costs[j], accuracies[j], costs[i], accuracies[i]) for j in range(len(models)))}
    front = pareto_front(costs, accuracies)
    assert set(front) == expected
    assert len(front) == len(set(front))
    assert [costs[i] for i in front] == sorted(costs[i] for i in front)


def test_dominates_by_hand():
    assert dominates(1, 0.9, 2, 0.8)
    assert dominates(1, 0.8, 2, 0.8)         # cheaper, as accurate
    assert not dominates(1, 0.8, 1, 0.8)     # identical: neither dominates
    assert not dominates(1, 0.7, 2, 0.8)     # cheaper but worse: a trade-off


def test_small_example():
    #          0     1     2     3     4
    costs = [10.0, 20.0, 15.0, 30.0, 20.0]
    accs = [0.50, 0.70, 0.40, 0.65, 0.60]
    assert pareto_front(costs, accs) == [0, 1]


def test_numpy_inputs():
    assert pareto_front(np.array([2.0, 1.0]), np.array([0.9, 0.5], dtype=np.float32)) == [1, 0]


@pytest.mark.parametrize("costs, accs, match", [
    ([1.0], [0.5, 0.6], "must match"),
    ([float("nan")], [0.5], r"costs\[0\]=nan must be a finite number"),
    ([1.0], ["high"], r"accuracies\[0\]='high' must be a finite number"),
])
def test_bad_input(costs, accs, match):
    with pytest.raises(ValueError, match=match):
        pareto_front(costs, accs)


# --- the best model within a budget, and the best of the other groups ----------------------------
@given(st.lists(st.tuples(values, values, st.sampled_from("abc")), max_size=12), values)
def test_best_under_budget_against_its_definition(models, budget):
    costs = [c for c, _, _ in models]
    accuracies = [a for _, a, _ in models]
    groups = [g for _, _, g in models]
    result = best_under_budget(costs, accuracies, groups, budget)
    fits = [i for i in range(len(models)) if costs[i] <= budget]
    if not fits:
        assert result is None
        return
    winner, runner_up = result
    assert costs[winner] <= budget and accuracies[winner] == max(accuracies[i] for i in fits)
    others = [i for i in fits if groups[i] != groups[winner]]
    if not others:
        assert runner_up is None
    else:
        assert groups[runner_up] != groups[winner] and costs[runner_up] <= budget
        assert accuracies[runner_up] == max(accuracies[i] for i in others)


def test_best_under_budget_by_hand():
    costs = [1.0, 2.0, 3.0, 2.0]
    accs = [0.5, 0.7, 0.9, 0.6]
    groups = ["a", "a", "b", "b"]
    assert best_under_budget(costs, accs, groups, 2.5) == (1, 3)      # b's 0.9 costs too much
    assert best_under_budget(costs, accs, groups, 3.0) == (2, 1)
    assert best_under_budget(costs, accs, groups, 1.0) == (0, None)   # only group a fits
    assert best_under_budget(costs, accs, groups, 0.5) is None
    assert best_under_budget(costs, accs, groups, float("inf")) == (2, 1)
    # equal accuracies: the cheaper model wins
    assert best_under_budget([2.0, 1.0], [0.8, 0.8], ["a", "b"], 5.0) == (1, 0)


@pytest.mark.parametrize("groups, budget, match", [
    (["a"], 1.0, "groups has 1 values and costs 2"),
    (["a", "b"], float("nan"), "budget=nan must be a number"),
    (["a", "b"], True, "budget=True must be a number"),
])
def test_best_under_budget_bad_input(groups, budget, match):
    with pytest.raises(ValueError, match=match):
        best_under_budget([1.0, 2.0], [0.5, 0.6], groups, budget)
