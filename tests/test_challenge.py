"""The challenge score against an independent, literal transcription of the course formula."""
from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from course_utils.challenge import ScoreExplorer, resnet18_cifar, score, score_terms
from course_utils.cost import Cost, count


def course_formula(w, f, p_s, p_u, q_w, q_a):
    """facts.md, character for character:
    score = [1 − (p_s + p_u)] · (q_w/32) · w / 5.6e6 + (1 − p_s) · (max(q_w, q_a)/32) · f / 2.8e8"""
    return (1 - (p_s + p_u)) * (q_w / 32) * w / 5.6e6 + (1 - p_s) * (max(q_w, q_a) / 32) * f / 2.8e8


counts = st.one_of(st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False))
rates = st.floats(0, 1, allow_nan=False)
bits = st.integers(1, 32)


@given(counts, counts, rates, rates, bits, bits)
def test_score_matches_the_formula(w, f, p_s, p_u, q_w, q_a):
    assume(p_s + p_u <= 1)
    expected = course_formula(w, f, p_s, p_u, q_w, q_a)
    assert math.isclose(score(w, f, p_s, p_u, q_w, q_a), expected, rel_tol=1e-12, abs_tol=1e-12)
    parameter_term, mac_term = score_terms(w, f, p_s=p_s, p_u=p_u, q_w=q_w, q_a=q_a)
    assert math.isclose(parameter_term, course_formula(w, 0, p_s, p_u, q_w, q_a), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(mac_term, course_formula(0, f, p_s, p_u, q_w, q_a), rel_tol=1e-12, abs_tol=1e-12)


@given(counts, counts, rates, bits)
def test_unstructured_pruning_never_reduces_the_mac_term(w, f, p_u, q):
    assert score_terms(w, f, p_u=p_u, q_w=q, q_a=q)[1] == score_terms(w, f, q_w=q, q_a=q)[1]


def test_reference_values():
    # The denominators at 32 bits: each term is 1.
    assert score_terms(5.6e6, 2.8e8) == (1.0, 1.0)
    # The same counts at 16 bits: each term is one half.
    assert score_terms(5.6e6, 2.8e8, q_w=16, q_a=16) == (0.5, 0.5)
    # Activations wider than weights: the MAC term runs at max(q_w, q_a) bits.
    assert score_terms(5.6e6, 2.8e8, q_w=8, q_a=16) == (0.25, 0.5)
    # Half the channels pruned (structured) and another quarter of the weights (unstructured).
    assert score_terms(5.6e6, 2.8e8, p_s=0.5, p_u=0.25) == (0.25, 0.5)
    assert score(0, 0) == 0.0


def test_resnet18_in_half_precision_is_the_reference():
    cost = count(resnet18_cifar(), (1, 3, 32, 32))
    assert cost.params == 11_173_962
    parameter_term, mac_term = score_terms(cost.params, cost.macs, q_w=16, q_a=16)
    assert parameter_term == pytest.approx(1.0, abs=0.01)
    assert mac_term == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kwargs, match", [
    ({"params": -1}, r"params=-1 must be a finite non-negative number"),
    ({"macs": float("nan")}, r"macs=nan must be a finite non-negative number"),
    ({"macs": True}, r"macs=True must be"),
    ({"p_s": 1.5}, r"p_s=1.5 must be a number between 0 and 1"),
    ({"p_u": -0.1}, r"p_u=-0.1 must be a number between 0 and 1"),
    ({"p_s": 0.6, "p_u": 0.5}, r"p_s \+ p_u = 0.6 \+ 0.5 = 1.1 must not exceed 1"),
    ({"q_w": 0}, r"q_w=0 must be an integer number of bits between 1 and 32"),
    ({"q_a": 64}, r"q_a=64 must be an integer number of bits between 1 and 32"),
    ({"q_w": 8.0}, r"q_w=8.0 must be an integer"),
])
def test_bad_arguments_are_refused(kwargs, match):
    arguments = {"params": 1e5, "macs": 1e7, **kwargs}
    with pytest.raises(ValueError, match=match):
        score(**arguments)


def test_explorer_follows_its_controls():
    explorer = ScoreExplorer({"small": Cost(100_000, 10_000_000), "big": (5_600_000, 280_000_000)})
    assert "score = 0.0536" in explorer.text.value          # 0.1e6/5.6e6 + 1e7/2.8e8
    explorer.choice.value = "big"
    explorer.q_w.value, explorer.q_a.value = 16, 16
    assert "score = 1.0000" in explorer.text.value
    explorer.params.value = 0                                  # typing a number makes it a custom model
    assert explorer.choice.value != "big"
    assert "score = 0.5000" in explorer.text.value
    explorer.p_s.value, explorer.p_u.value = 0.6, 0.6          # invalid: the widget says why
    assert "must not exceed 1" in explorer.text.value


def test_explorer_refuses_bad_models():
    with pytest.raises(ValueError, match="models="):
        ScoreExplorer({})
    with pytest.raises(ValueError, match="model='nope' must be one of"):
        ScoreExplorer({"a": (1, 1)}, model="nope")


def test_every_slider_changes_what_the_explorer_shows():
    # q_a below q_w leaves the score unchanged (max(q_w, q_a)), but the student must still see the setting.
    explorer = ScoreExplorer({"small": Cost(100_000, 10_000_000)})
    for control, value in ((explorer.q_a, 17), (explorer.q_w, 8), (explorer.p_s, 0.1), (explorer.p_u, 0.2)):
        before = explorer.text.value
        control.value = value
        assert explorer.text.value != before, control.description


def test_explorer_axis_stays_fixed_so_the_bars_move():
    explorer = ScoreExplorer({"small": Cost(100_000, 10_000_000), "big": (5_600_000, 280_000_000)})
    limits = explorer.ax.get_xlim()
    widths = [bar.get_width() for bar in explorer.bars]
    explorer.p_s.value = 0.5                       # structured pruning halves both terms
    assert explorer.ax.get_xlim() == limits
    assert [bar.get_width() for bar in explorer.bars] == pytest.approx([w / 2 for w in widths])
    explorer.q_w.value, explorer.q_a.value = 8, 8  # fewer bits: shorter bars on the same axis
    assert explorer.ax.get_xlim() == limits
    assert all(bar.get_width() < w / 2 for bar, w in zip(explorer.bars, widths))
    assert max(widths) < limits[1]                 # the unpruned bars fit, with room for their labels


def test_explorer_axis_rescales_for_another_model():
    explorer = ScoreExplorer({"small": Cost(100_000, 10_000_000), "big": (5_600_000, 280_000_000)})
    small = explorer.ax.get_xlim()
    explorer.p_s.value = 0.5
    explorer.choice.value = "big"
    assert explorer.ax.get_xlim()[1] == pytest.approx(small[1] * 28)   # its MAC term is 28× larger
    explorer.macs.value = 560_000_000               # typed counts size the axis as well
    assert explorer.ax.get_xlim()[1] == pytest.approx(small[1] * 56)


def test_explorer_model_names_are_not_cut_off():
    explorer = ScoreExplorer({"a model with a long name": (1, 1)})
    assert explorer.choice.layout.width == explorer.p_s.layout.width   # as wide as the sliders
