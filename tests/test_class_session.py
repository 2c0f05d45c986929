"""What a room sees in class: the Train live toggle says its state in words and colour, a live plot is titled
with the run in words (never another notebook's file name), and the exercise marks need no emoji font."""
from __future__ import annotations

import pytest

from course_utils.experiments.catalog import spec
from course_utils.experiments.lab import run_name
from course_utils.experiments.store import describe
from course_utils.grading import Verdict
from course_utils.training import train
from course_utils.widgets import SWITCH_STATES, retrain_switch


@pytest.fixture(autouse=True)
def no_retrain_variable(monkeypatch):
    monkeypatch.delenv("COURSE_RETRAIN", raising=False)


def test_the_toggle_says_committed_results_on_green_then_training_live_on_red():
    button = retrain_switch("≈ 1 min")
    assert (button.value, button.description, button.button_style) == (False, "Committed results", "success")
    assert not button.disabled and "course-retrain-switch" in button._dom_classes
    button.value = True
    assert (button.description, button.button_style, button.icon) == ("Training live", "danger", "play")
    assert "≈ 1 min" in button.tooltip
    button.value = False
    assert (button.description, button.button_style) == SWITCH_STATES[False][:2]


def test_the_toggle_takes_other_words_and_refuses_empty_ones():
    button = retrain_switch(off="Cost check only")
    assert button.description == "Cost check only"
    with pytest.raises(ValueError, match="on='' must be a non-empty string"):
        retrain_switch(on="")


def test_with_course_retrain_set_the_toggle_is_on_and_cannot_be_switched_off(monkeypatch):
    monkeypatch.setenv("COURSE_RETRAIN", "1")
    button = retrain_switch()
    assert button.value and button.disabled and button.description == "Training live"
    assert "COURSE_RETRAIN" in button.tooltip


def test_a_live_plot_is_titled_with_the_run_in_words_not_its_file_name():
    title = describe(spec(run_name("decomposed")))
    assert "nb07" not in title and title.endswith("α = 1, seed 0"), title
    assert describe(spec("nb02_finetune_seed1")).endswith("seed 1")


def test_train_refuses_an_empty_title():
    with pytest.raises(ValueError, match="title='' must be a non-empty string"):
        from torch import nn

        from course_utils import load_cifar10

        train(nn.Linear(1, 1), load_cifar10().subset(train=128, test=10), title="")


def test_a_verdict_shows_its_mark_as_a_badge_of_plain_text_in_a_notebook():
    right = Verdict(True, "✅ Correct: 3 < 4")._repr_html_()
    wrong = Verdict(False, "❌ Not yet: try again\nsecond line")._repr_html_()
    assert "✅" not in right and "❌" not in wrong
    assert ">✓</span> Correct: 3 &lt; 4" in right and ">✗</span> Not yet" in wrong
    assert "#2e7d32" in right and "#c62828" in wrong and "pre-wrap" in wrong
    assert repr(Verdict(True, "✅ Correct")) == "✅ Correct"  # as text, unchanged
