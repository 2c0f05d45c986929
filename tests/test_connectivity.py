"""The connectivity formula of a grouped convolution agrees with what torch's layer actually reads."""
from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from course_utils.connectivity import connectivity, measured_connectivity


@pytest.mark.parametrize("c_in, c_out, groups", [(8, 8, 1), (8, 8, 2), (8, 8, 4), (8, 8, 8), (4, 12, 4), (6, 4, 2)])
def test_formula_matches_torch(c_in, c_out, groups):
    layer = nn.Conv2d(c_in, c_out, 3, padding=1, groups=groups)
    np.testing.assert_array_equal(connectivity(c_in, c_out, groups=groups), measured_connectivity(layer))


def test_counts_and_extremes():
    assert connectivity(8, 8, groups=1).all()
    np.testing.assert_array_equal(connectivity(8, 8, groups=8), np.eye(8, dtype=bool))
    assert (connectivity(16, 32, groups=4).sum(axis=1) == 16 // 4).all()


def test_measurement_restores_the_weights():
    layer = nn.Conv2d(4, 4, 3, groups=2)
    before = layer.weight.detach().clone()
    measured_connectivity(layer)
    assert (layer.weight == before).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(c_in=8, c_out=8, groups=3), "groups=3 must divide c_in=8"),
    (dict(c_in=8, c_out=6, groups=4), "groups=4 must divide c_out=6"),
    (dict(c_in=0, c_out=8, groups=1), "c_in=0"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        connectivity(**kwargs)


def test_measured_needs_a_conv():
    with pytest.raises(ValueError, match="layer=Linear"):
        measured_connectivity(nn.Linear(2, 2))


def test_groups_is_keyword_only():
    with pytest.raises(TypeError):
        connectivity(8, 8, 2)
