"""The Pareto front against its definition (brute force over every pair), on arbitrary inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.pareto import dominates, pareto_front

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
