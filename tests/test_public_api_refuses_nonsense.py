"""A property test over the public API: random wrong values thrown at one argument at a time (the others
valid) come back as ValueError or TypeError naming that argument, never as a foreign error from deep inside
torch, and never as a silent result. Values a user would reasonably pass (NumPy scalars, 0-d tensors) are
accepted."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course_utils as cu

# Values no argument of these functions accepts, whatever its kind.
JUNK = st.one_of(st.none(), st.text(max_size=4), st.lists(st.integers(0, 9), max_size=2),
                 st.builds(object), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
NOT_BOOL = st.one_of(JUNK, st.integers(), st.floats(allow_nan=True))
NOT_POSITIVE_INT = st.one_of(JUNK, st.booleans(), st.integers(max_value=0), st.floats(allow_nan=True),
                             st.floats(0.1, 0.9))
NOT_NON_NEGATIVE_INT = st.one_of(JUNK, st.booleans(), st.integers(max_value=-1), st.floats(0.1, 0.9))
NOT_POSITIVE_NUMBER = st.one_of(JUNK, st.booleans(), st.floats(max_value=0), st.just(math.nan), st.just(math.inf))
NOT_FRACTION = st.one_of(JUNK, st.booleans(), st.floats(1.01, 1e6), st.floats(-1e6, -0.01), st.just(math.nan))
NOT_NAME = st.one_of(st.none(), st.integers(), st.text(min_size=1, max_size=6).filter(lambda t: t.isalpha()))


def but_none(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``strategy`` without None, for an argument where None means "the default"."""
    return strategy.filter(lambda value: value is not None)

# (function, valid keyword arguments, {argument: strategy of wrong values for it})
CASES = [
    (cu.conv2d_cost, dict(k=3, l=3, c_in=8, c_out=8, h_out=4, w_out=4, groups=1, bias=False),
     dict(k=NOT_POSITIVE_INT, l=NOT_POSITIVE_INT, c_in=NOT_POSITIVE_INT, c_out=NOT_POSITIVE_INT,
          h_out=NOT_POSITIVE_INT, groups=NOT_POSITIVE_INT, bias=NOT_BOOL)),
    (cu.decomposed_conv_cost, dict(k=3, l=3, c_in=8, c_out=8),
     dict(k=NOT_POSITIVE_INT, c_in=NOT_POSITIVE_INT, c_out=NOT_POSITIVE_INT)),
    (cu.depthwise_separable_cost, dict(k=3, l=3, c_in=8, c_out=8, depth_multiplier=1, batchnorm=True),
     dict(k=NOT_POSITIVE_INT, c_in=NOT_POSITIVE_INT, depth_multiplier=NOT_POSITIVE_INT, batchnorm=NOT_BOOL)),
    (cu.fire_cost, dict(c_in=16, squeeze=4, expand1x1=8, expand3x3=8),
     dict(c_in=NOT_POSITIVE_INT, squeeze=NOT_POSITIVE_INT, expand1x1=NOT_POSITIVE_INT)),
    (cu.inverted_residual_cost, dict(c_in=8, c_out=8, h_in=8, w_in=8, stride=1, expand_ratio=6),
     dict(c_in=NOT_POSITIVE_INT, h_in=NOT_POSITIVE_INT, stride=NOT_POSITIVE_INT, expand_ratio=NOT_POSITIVE_NUMBER)),
    (cu.DecomposedConv2d, dict(in_channels=4, out_channels=4, kernel_size=3, stride=1),
     dict(in_channels=NOT_POSITIVE_INT, out_channels=NOT_POSITIVE_INT, stride=NOT_POSITIVE_INT)),
    (cu.DepthwiseSeparableConv2d, dict(in_channels=4, out_channels=4, kernel_size=3, stride=1),
     dict(in_channels=NOT_POSITIVE_INT, out_channels=NOT_POSITIVE_INT, kernel_size=NOT_POSITIVE_INT)),
    (cu.Fire, dict(in_channels=8, squeeze=2, expand1x1=4, expand3x3=4),
     dict(in_channels=NOT_POSITIVE_INT, squeeze=NOT_POSITIVE_INT, expand3x3=NOT_POSITIVE_INT)),
    (cu.InvertedResidual, dict(in_channels=4, out_channels=4, stride=1, expand_ratio=6),
     dict(in_channels=NOT_POSITIVE_INT, stride=NOT_POSITIVE_INT, expand_ratio=NOT_POSITIVE_NUMBER)),
    (cu.Shift2d, dict(channels=9, kernel_size=3), dict(channels=NOT_POSITIVE_INT, kernel_size=NOT_POSITIVE_INT)),
    (cu.ShiftAttentionConv2d, dict(in_channels=4, out_channels=4, kernel_size=3, stride=1, shared=False,
                                   temperature=20.0),
     dict(in_channels=NOT_POSITIVE_INT, kernel_size=NOT_POSITIVE_INT, shared=NOT_BOOL,
          temperature=NOT_POSITIVE_NUMBER)),
    (cu.baseline_cnn, dict(block="standard", width=0.25, num_classes=10),
     dict(block=NOT_NAME, width=NOT_POSITIVE_NUMBER, num_classes=NOT_POSITIVE_INT)),
    (cu.lab_model, dict(variant="shift", width=0.5), dict(variant=NOT_NAME, width=but_none(NOT_POSITIVE_NUMBER))),
    (cu.run_name, dict(variant="fire", width=1.0, seed=0), dict(variant=NOT_NAME, seed=NOT_NON_NEGATIVE_INT)),
    (cu.squeezenet, dict(version="1_1", num_classes=10), dict(version=NOT_NAME, num_classes=NOT_POSITIVE_INT)),
    (cu.TrainConfig, dict(epochs=1),
     dict(epochs=but_none(NOT_POSITIVE_INT), seed=NOT_NON_NEGATIVE_INT, lr=NOT_POSITIVE_NUMBER, batch_size=NOT_POSITIVE_INT,
          label_smoothing=NOT_FRACTION, warmup=NOT_FRACTION, tta=NOT_BOOL, reset=NOT_BOOL, progress=NOT_BOOL,
          precision=but_none(NOT_NAME))),
    (cu.score, dict(params=1e5, macs=1e6, p_s=0.0, p_u=0.0, q_w=32, q_a=32),
     dict(params=st.one_of(JUNK, st.booleans(), st.floats(max_value=-0.1)), macs=st.one_of(JUNK, st.booleans()),
          p_s=NOT_FRACTION, p_u=NOT_FRACTION, q_w=st.one_of(JUNK, st.integers(33, 99), st.integers(-9, 0)),
          q_a=st.one_of(JUNK, st.booleans()))),
    (cu.pareto_front, dict(costs=[1.0, 2.0], accuracies=[0.5, 0.6]),
     dict(costs=st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=2), min_size=2, max_size=2)),
          accuracies=st.lists(st.one_of(st.none(), st.just(math.nan), st.text(max_size=2)), min_size=2,
                              max_size=2))),
    (cu.compare, dict(a=[0.5, 0.6, 0.55], b=[0.4, 0.5, 0.45]),
     dict(a=st.one_of(st.lists(st.floats(0, 1), max_size=1), st.lists(st.one_of(st.none(), st.text(max_size=1)),
                                                                       min_size=2, max_size=3)))),
    (cu.count, dict(model=torch.nn.Linear(4, 2), input_size=(1, 4)),
     dict(model=JUNK, input_size=st.one_of(st.none(), st.integers(), st.booleans(),
                                           st.lists(st.booleans(), min_size=1, max_size=3),
                                           st.lists(st.floats(0.1, 5), min_size=1, max_size=3)))),
]
PAIRS = [(function, valid, argument, strategy) for function, valid, wrong in CASES for argument, strategy in wrong.items()]


def _name(pair) -> str:
    function, _, argument, _ = pair
    return f"{function.__name__}-{argument}"


@pytest.mark.parametrize("function, valid, argument, strategy", PAIRS, ids=[_name(p) for p in PAIRS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_wrong_value_is_refused_with_the_arguments_name(function, valid, argument, strategy, data):
    value = data.draw(strategy, label=argument)
    with pytest.raises((ValueError, TypeError)) as caught:
        function(**{**valid, argument: value})
    assert argument in str(caught.value), f"{function.__name__}({argument}={value!r}): {caught.value}"


@pytest.mark.parametrize("function, valid", [(function, valid) for function, valid, _ in CASES],
                         ids=[function.__name__ for function, _, _ in CASES])
def test_the_valid_arguments_work(function, valid):
    function(**valid)


def test_numpy_scalars_and_zero_d_tensors_are_accepted():
    assert cu.conv2d_cost(np.int64(3), 3, np.int32(8), 8) == cu.conv2d_cost(3, 3, 8, 8)
    assert cu.score(params=torch.tensor(5.0), macs=np.float32(1e6)) == cu.score(params=5.0, macs=1e6)
    assert cu.pareto_front(torch.tensor([2.0, 1.0]), np.array([0.5, 0.4], dtype=np.float32)) == [1, 0]
    assert cu.compare(np.array([0.5, 0.6], dtype=np.float32), [0.4, 0.5])["verdict"] in cu.comparison.VERDICTS
    assert cu.count(torch.nn.Linear(4, 2), (np.int64(1), 4)).params == 10
    assert cu.TrainConfig(epochs=np.int64(3), lr=np.float32(0.1), seed=torch.tensor(2)).total_epochs == 3
