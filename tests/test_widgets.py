"""The cost explorer redraws in place, and its fast redraw paints exactly what a full redraw paints."""
from __future__ import annotations

import pytest

from course_utils.widgets import CostExplorer, LiveFigure, decade_limits, operator_costs, LayerShape


def test_slider_change_redraws_the_image_and_table():
    explorer = CostExplorer()
    image, table = explorer.live.widget.value, explorer.table.value
    explorer.sliders["c_in"].value = 128
    assert explorer.shape.c_in == 128
    assert explorer.live.widget.value != image
    assert explorer.table.value != table


def test_fast_redraw_equals_full_redraw():
    explorer = CostExplorer()
    explorer.update(c_in=72)  # same decades as the start: the fast path
    fast = explorer.live.widget.value
    explorer.live.refresh(full=True)
    assert explorer.live.widget.value == fast


def test_update_sets_every_value_and_same_channels_ties_c_out():
    explorer = CostExplorer(operators=["standard", "decomposed"], knobs=["k", "l", "c_in"],
                            same_channels=True)
    explorer.update(k=5, l=7, c_in=96)
    assert (explorer.shape.k, explorer.shape.l, explorer.shape.c_in, explorer.shape.c_out) == (5, 7, 96, 96)
    assert explorer.costs()["standard"].macs == 5 * 7 * 96 * 96 * 32 * 32


def test_decade_limits():
    assert decade_limits(3e5, 2e8) == (1e5, 1e9)
    assert decade_limits(0.5, 5) == (1, 10)


@pytest.mark.parametrize("make, words", [
    (lambda: CostExplorer(operators=["magic conv"]), "operators=['magic conv']"),
    (lambda: CostExplorer(knobs=["z"]), "knobs=['z']"),
    (lambda: CostExplorer(k=4), "k=4 must be one of"),
    (lambda: CostExplorer(same_channels=True, knobs=["c_in", "c_out"]), "same_channels=True"),
    (lambda: CostExplorer(knobs=["k"]).update(l=3), "no 'l' slider"),
    (lambda: LiveFigure("figure"), "figure=str"),
    (lambda: operator_costs(LayerShape(), ["nope"]), "operators=['nope']"),
])
def test_bad_arguments(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)
