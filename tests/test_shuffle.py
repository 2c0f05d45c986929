"""ShuffleNet's channel shuffle and unit: the shuffle is a permutation that its transpose undoes, two grouped
1×1 layers reach every input only with the shuffle between them, and the unit's cost is torch's count."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.connectivity import measured_connectivity, shuffled, stacked_connectivity
from course_utils.cost import count, shuffle_bottleneck, shuffle_unit_cost
from course_utils.layers import ChannelShuffle, ShuffleUnit


@settings(max_examples=30, deadline=None)
@given(groups=st.sampled_from([1, 2, 3, 4]), per_group=st.integers(1, 6), seed=st.integers(0, 99))
def test_the_shuffle_is_a_permutation_and_its_transpose_undoes_it(groups, per_group, seed):
    c = groups * per_group
    x = torch.randn(2, c, 3, 3, generator=torch.Generator().manual_seed(seed))
    y = ChannelShuffle(groups)(x)
    assert sorted(y[0, :, 0, 0].tolist()) == sorted(x[0, :, 0, 0].tolist())        # the same values, moved
    assert torch.equal(ChannelShuffle(per_group)(y), x)
    for g in range(groups):                                # member i of group g lands at i·G + g
        for i in range(per_group):
            assert torch.equal(y[:, i * groups + g], x[:, g * per_group + i])


@pytest.mark.parametrize("groups", [2, 4])
def test_two_grouped_layers_mix_their_groups_only_with_the_shuffle(groups):
    c = 16
    torch.manual_seed(0)
    first, second = nn.Conv2d(c, c, 1, groups=groups), nn.Conv2d(c, c, 1, groups=groups)
    without = measured_connectivity(nn.Sequential(first, second), c)
    with_shuffle = measured_connectivity(nn.Sequential(first, ChannelShuffle(groups), second), c)
    block = c // groups
    expected = torch.block_diag(*[torch.ones(block, block, dtype=torch.bool)] * groups)
    assert torch.equal(torch.as_tensor(without).bool(), expected)                  # block-diagonal
    assert with_shuffle.all()                                                      # every output reads every input
    assert (stacked_connectivity(c, groups=groups, shuffle=False) == without).all()
    assert (stacked_connectivity(c, groups=groups, shuffle=True) == with_shuffle).all()


def test_with_more_groups_than_maps_per_group_even_the_shuffle_cannot_reach_everything():
    c, groups = 16, 8                                      # 2 maps per group: each group reaches only 2 groups
    first, second = nn.Conv2d(c, c, 1, groups=groups), nn.Conv2d(c, c, 1, groups=groups)
    measured = measured_connectivity(nn.Sequential(first, ChannelShuffle(groups), second), c)
    assert (stacked_connectivity(c, groups=groups, shuffle=True) == measured).all()
    assert measured.sum(axis=1).tolist() == [2 * 2] * c      # 2 middle maps × 2 inputs each


def test_the_shuffles_permutation_is_the_layers():
    x = torch.arange(12.0).view(1, 12, 1, 1)
    assert ChannelShuffle(3)(x).flatten().long().tolist() == shuffled(12, groups=3).tolist()


@pytest.mark.parametrize("c_in, c_out, stride, groups", [(16, 16, 1, 4), (8, 16, 2, 4), (32, 64, 2, 2),
                                                         (24, 40, 1, 4), (64, 64, 1, 8)])
def test_the_units_cost_is_torchs_count(c_in, c_out, stride, groups):
    unit = ShuffleUnit(c_in, c_out, stride, groups=groups)
    assert unit.cost((12, 12)) == count(unit, (1, c_in, 12, 12))
    assert shuffle_unit_cost(c_in, c_out, h_in=12, w_in=12, stride=stride, groups=groups) == count(unit, (1, c_in, 12, 12))


def test_the_unit_keeps_or_concatenates():
    x = torch.randn(2, 16, 8, 8)
    assert ShuffleUnit(16, 16, groups=4)(x).shape == (2, 16, 8, 8)
    assert ShuffleUnit(16, 32, 2, groups=4)(x).shape == (2, 32, 4, 4)
    assert shuffle_bottleneck(40, 4) == 12 and shuffle_bottleneck(64, 4) == 16


@pytest.mark.parametrize("call, match", [
    (lambda: ShuffleUnit(16, 16, 2, groups=4), "out_channels=16 must exceed in_channels=16 at stride 2"),
    (lambda: ShuffleUnit(18, 18, groups=4), "groups=4 must divide in_channels=18"),
    (lambda: ShuffleUnit(16, 16, 3, groups=4), "stride=3"),
    (lambda: ShuffleUnit(16, 16, 1, groups=0), "groups=0"),
    (lambda: ChannelShuffle(3)(torch.zeros(1, 8, 2, 2)), "groups=3 must divide channels=8"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
