"""Analytic costs (course_utils.cost) must equal what torch measures, for every operator."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.cost import (Cost, conv2d_cost, costs_table, count, depthwise_conv_cost,
                               depthwise_separable_cost, grouped_conv_cost)
from course_utils.layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire,
                                 InvertedResidual, Shift2d, ShiftConv2d)

channels = st.integers(1, 24)
sizes = st.integers(3, 12)
strides = st.integers(1, 3)
odd_kernels = st.sampled_from([1, 3, 5])
EXAMPLES = settings(max_examples=150, deadline=None)


def assert_analytic_equals_measured(layer: nn.Module, c_in: int, h: int, w: int) -> None:
    measured = count(layer, (1, c_in, h, w))
    assert layer.cost((h, w)) == measured


@EXAMPLES
@given(c_in=channels, c_out=channels, k=odd_kernels, l=odd_kernels, h=sizes, w=sizes,
       stride=strides, bias=st.booleans())
def test_decomposed(c_in, c_out, k, l, h, w, stride, bias):
    assert_analytic_equals_measured(DecomposedConv2d(c_in, c_out, (k, l), stride, bias=bias), c_in, h, w)


@EXAMPLES
@given(c_in=channels, s=channels, e1=channels, e3=channels, h=sizes, w=sizes)
def test_fire(c_in, s, e1, e3, h, w):
    assert_analytic_equals_measured(Fire(c_in, squeeze=s, expand1x1=e1, expand3x3=e3), c_in, h, w)


@EXAMPLES
@given(c_in=channels, k=odd_kernels, stride=strides, d=st.integers(1, 4), h=sizes, w=sizes)
def test_depthwise(c_in, k, stride, d, h, w):
    assert_analytic_equals_measured(DepthwiseConv2d(c_in, kernel_size=k, stride=stride, depth_multiplier=d), c_in, h, w)


@EXAMPLES
@given(c_in=channels, c_out=channels, k=odd_kernels, stride=strides, d=st.integers(1, 4), h=sizes, w=sizes)
def test_depthwise_separable(c_in, c_out, k, stride, d, h, w):
    assert_analytic_equals_measured(DepthwiseSeparableConv2d(c_in, c_out, k, stride, depth_multiplier=d), c_in, h, w)


@EXAMPLES
@given(c_in=channels, c_out=channels, stride=st.sampled_from([1, 2]), t=st.integers(1, 6), h=sizes, w=sizes)
def test_inverted_residual(c_in, c_out, stride, t, h, w):
    assert_analytic_equals_measured(InvertedResidual(c_in, c_out, stride, expand_ratio=t), c_in, h, w)


@EXAMPLES
@given(c_in=channels, c_out=channels, k=odd_kernels, stride=strides, h=sizes, w=sizes, bias=st.booleans())
def test_shift_conv(c_in, c_out, k, stride, h, w, bias):
    assert_analytic_equals_measured(ShiftConv2d(c_in, c_out, k, stride, bias=bias), c_in, h, w)
    assert_analytic_equals_measured(Shift2d(c_in, k), c_in, h, w)


@EXAMPLES
@given(g=st.integers(1, 4), in_per_group=st.integers(1, 6), out_per_group=st.integers(1, 6),
       k=st.integers(1, 5), l=st.integers(1, 5), h=sizes, w=sizes, bias=st.booleans())
def test_grouped_conv_matches_nn_conv2d(g, in_per_group, out_per_group, k, l, h, w, bias):
    c_in, c_out = g * in_per_group, g * out_per_group
    conv = nn.Conv2d(c_in, c_out, (k, l), padding=(k // 2, l // 2), groups=g, bias=bias)
    h_out, w_out = conv(torch.zeros(1, c_in, h, w)).shape[-2:]
    assert grouped_conv_cost(k, l, c_in, c_out, groups=g, h_out=h_out, w_out=w_out, bias=bias) == count(conv, (1, c_in, h, w))


def test_slide_formula_per_position():
    # N_ops = k·l·C_in·C_out for one output position (slide), parameters the same count.
    assert conv2d_cost(3, 5, 16, 32) == Cost(params=3 * 5 * 16 * 32, macs=3 * 5 * 16 * 32)


def test_course_deck_worked_example():
    # the course deck: 5·5·3·3·3·128 = 86,400 vs 5·5·3·3·3·1 + 5·5·1·1·3·128 = 10,275
    standard = conv2d_cost(3, 3, 3, 128, h_out=5, w_out=5)
    separable = depthwise_separable_cost(3, 3, 3, 128, h_out=5, w_out=5, batchnorm=False)
    assert (standard.macs, separable.macs) == (86_400, 10_275)
    assert separable.macs / standard.macs == pytest.approx(1 / 128 + 1 / 9)


def test_depthwise_is_k_l_c_in_d_not_slide_expression():
    # The slide writes k·l·C_in·D·C_in; torch counts k·l·C_in·D per output position.
    k, c_in, d = 3, 8, 2
    measured = count(nn.Conv2d(c_in, c_in * d, k, padding=1, groups=c_in, bias=False), (1, c_in, 1, 1))
    assert measured.macs == depthwise_conv_cost(k, k, c_in, depth_multiplier=d).macs == k * k * c_in * d
    assert measured.macs != k * k * c_in * d * c_in


def test_count_counts_linear_without_bias_and_restores_mode():
    model = nn.Sequential(nn.Linear(10, 5), nn.BatchNorm1d(5))
    model.train()
    assert count(model, (1, 10)) == Cost(params=55 + 10, macs=50)
    assert model.training


def test_cost_arithmetic_and_repr():
    a, b = Cost(10, 100), Cost(1, 2)
    assert a + b == Cost(11, 102)
    assert sum([a, b]) == Cost(11, 102)
    assert 3 * a == a * 3 == Cost(30, 300)
    assert a.flops == 200
    assert repr(Cost(1234, 5_600_000)) == "Cost(params=1,234, macs=5,600,000)"


def test_costs_table_ratio_to_reference():
    table = costs_table({"standard": Cost(10, 100), "cheap": Cost(1, 25)})
    assert table.loc["cheap", "MACs / standard"] == 0.25
    assert list(table.columns) == ["params", "MACs", "FLOPs", "MACs / standard"]
