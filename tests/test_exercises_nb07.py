"""Notebook 07's graders: the right answers pass, the typical mistakes get their own hint, the design
task's checker grades the MAC budget, the score and the accuracy, and the notebook never executes a
solution nor trains on run-all."""
from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

from course_utils.challenge import score
from course_utils.exercises import nb07
from course_utils.exercises.nb07 import (ACCURACY_MARGIN, MAC_BUDGET, check_design, check_exercise_1,
                                         check_exercise_2, check_exercise_3, design_cost, design_figure,
                                         halving_structured_rate, session5_operators, variant_cost)
from course_utils.models.baseline import BaselineCNN

matplotlib.use("Agg")
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_operator_lab.ipynb"


def code_sources() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


# --- exercise 1: score of the 8-bit, p_u = 0.5 depthwise-separable variant --------------------
def test_exercise_1_accepts_the_score_and_names_the_typical_mistakes():
    cost = variant_cost("depthwise_separable")
    w, f = cost.params, cost.macs
    assert check_exercise_1(score(w, f, p_u=0.5, q_w=8, q_a=8)).passed
    assert check_exercise_1(score(w, round(f / 1e6, 2) * 1e6, p_u=0.5, q_w=8, q_a=8)).passed   # the table's MACs
    assert "MAC term alone" in check_exercise_1(score(w, f, p_s=0.5, q_w=8, q_a=8)).message
    assert "left out the pruning" in check_exercise_1(score(w, f, q_w=8, q_a=8)).message
    assert "left out the bits" in check_exercise_1(score(w, f, p_u=0.5)).message
    assert "max(q_w, q_a)" in check_exercise_1(score(w, f, p_u=0.5, q_w=8)).message
    assert not check_exercise_1(None).passed
    assert not check_exercise_1("0.003").passed


# --- exercise 2: MAC ratio ----------------------------------------------------------------------
def test_exercise_2_accepts_the_ratio_from_the_rounded_table_and_names_the_mistakes():
    standard, separable = variant_cost("standard"), variant_cost("depthwise_separable")
    assert check_exercise_2(standard.macs / separable.macs).passed
    assert check_exercise_2(8.70 / 1.54).passed          # the table's rounded MACs (M)
    assert "invert" in check_exercise_2(separable.macs / standard.macs).message
    assert "parameters" in check_exercise_2(standard.params / separable.params).message
    assert not check_exercise_2(None).passed


# --- exercise 3: the p_s that halves the score ---------------------------------------------------
def test_exercise_3_accepts_one_half_and_names_the_mistakes():
    assert math.isclose(halving_structured_rate(145_242, 8_699_904), 0.5, rel_tol=1e-9)
    assert check_exercise_3(0.5).passed
    assert "not squared" in check_exercise_3(1 - 1 / math.sqrt(2)).message
    assert "drops to 0" in check_exercise_3(1.0).message
    assert "quarter" in check_exercise_3(0.75).message
    assert not check_exercise_3(None).passed


# --- the design task ----------------------------------------------------------------------------
BASELINE = {"variant": "standard", "operator": "standard 3×3", "params": variant_cost("standard").params,
            "macs": variant_cost("standard").macs, "accuracy": 0.66}


def test_design_within_budget_and_cheaper_passes_the_cost_side_and_asks_for_training():
    verdict = check_design(BaselineCNN("depthwise_separable", 1.25), baseline=BASELINE)
    assert verdict.passed
    assert "now train it" in verdict.message and "not trained yet" in verdict.message


def test_design_over_the_mac_budget_is_rejected():
    verdict = check_design(BaselineCNN("depthwise_separable", 2.0), baseline=BASELINE)
    assert not verdict.passed
    assert "too many MACs" in verdict.message and f"budget {MAC_BUDGET / 1e6:.2f} M" in verdict.message


def test_design_that_does_not_beat_the_baseline_score_is_rejected():
    # a generous budget: a wide depthwise-separable network fits it, but scores above the baseline
    verdict = check_design(BaselineCNN("depthwise_separable", 3.0), baseline=BASELINE, mac_budget=10**8)
    assert not verdict.passed
    assert "fewer parameters too" in verdict.message


@pytest.mark.parametrize("width", [0.5, 0.25])
def test_a_narrower_plain_network_does_not_pass_the_design_task(width):
    """The lecturer's BaselineCNN("standard", 0.5) is within the budget and beats the score: no Session-5
    operator, no pass."""
    design = BaselineCNN("standard", width)
    assert design_cost(design).macs <= MAC_BUDGET
    verdict = check_design(design, baseline=BASELINE)
    assert not verdict.passed and "no Session-5 operator" in verdict.message
    assert "❌ operator: none" in verdict.message
    assert not check_design(design, baseline=BASELINE, accuracy=0.9).passed


@pytest.mark.parametrize("block, width", [("depthwise_separable", 1.25), ("fire", 1.0), ("shift", 1.0),
                                          ("decomposed", 0.5), ("inverted_residual", 0.25)])
def test_an_operator_based_design_passes_the_cost_side(block, width):
    verdict = check_design(BaselineCNN(block, width), baseline=BASELINE)
    assert verdict.passed and "✅ operator:" in verdict.message, verdict


class HandWrittenFire(nn.Module):
    """A Fire built from plain convolutions: a 1×1 squeeze, then 1×1 and 3×3 expands, concatenated."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, c_out // 8, 1)
        self.expand1x1 = nn.Conv2d(c_out // 8, c_out // 2, 1)
        self.expand3x3 = nn.Conv2d(c_out // 8, c_out // 2, 3, padding=1)

    def forward(self, x):
        s = torch.relu(self.squeeze(x))
        return torch.relu(torch.cat([self.expand1x1(s), self.expand3x3(s)], dim=1))


def test_a_hand_written_operator_counts_and_a_classifier_is_required():
    fire_net = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             HandWrittenFire(32, 64), nn.MaxPool2d(2), HandWrittenFire(64, 64),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    assert session5_operators(fire_net) == ["1×1 squeeze before a k×k convolution"]
    assert check_design(fire_net, baseline=BASELINE).passed
    grouped = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    assert session5_operators(grouped) == ["grouped or depthwise convolution"]
    no_classifier = check_design(nn.Conv2d(3, 8, 3, padding=1), baseline=BASELINE)
    assert not no_classifier.passed and "(N, 10)" in no_classifier.message
    hundred = nn.Sequential(grouped[:-1], nn.Linear(16, 100))
    assert "(N, 10)" in check_design(hundred, baseline=BASELINE).message


def test_a_design_that_cannot_run_gets_a_hint_not_a_traceback():
    class NoReturn(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = BaselineCNN("fire", 1.0)

        def forward(self, x):
            self.net(x)

    assert "forget the `return`" in check_design(NoReturn(), baseline=BASELINE).message
    lazy = nn.Sequential(nn.LazyConv2d(16, 3, padding=1), nn.LazyConv2d(16, 3, padding=1, groups=16),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(10))
    assert check_design(lazy, baseline=BASELINE).passed
    design = BaselineCNN("fire", 1.0).train()
    check_design(design, baseline=BASELINE)
    assert design.training, "checking a design leaves its mode as it was"


def test_design_accuracy_is_graded_against_the_baseline_minus_the_margin():
    design = BaselineCNN("depthwise_separable", 1.0)
    assert check_design(design, baseline=BASELINE, accuracy=0.66 - ACCURACY_MARGIN + 0.01).passed
    low = check_design(design, baseline=BASELINE, accuracy=0.66 - ACCURACY_MARGIN - 0.01)
    assert not low.passed and "too cheap to learn" in low.message


def test_design_checker_refuses_non_networks_and_bad_arguments():
    assert not check_design(None, baseline=BASELINE).passed
    assert "nn.Module" in check_design("fire", baseline=BASELINE).message
    broken = nn.Sequential(nn.Conv2d(5, 8, 3))          # expects 5 input channels
    assert "fails on an input of shape (2, 3, 32, 32)" in check_design(broken, baseline=BASELINE).message
    with pytest.raises(ValueError, match="baseline"):
        check_design(BaselineCNN("fire"), baseline={"params": 1})
    with pytest.raises(ValueError, match="accuracy"):
        check_design(BaselineCNN("fire"), baseline=BASELINE, accuracy=66.0)
    with pytest.raises(ValueError, match="mac_budget"):
        check_design(BaselineCNN("fire"), baseline=BASELINE, mac_budget=True)


def test_design_cost_counts_sal_hardened():
    assert design_cost(BaselineCNN("shift", 1.0)) == variant_cost("shift")
    with pytest.raises(ValueError, match="model"):
        design_cost("shift")


def test_design_figure_marks_over_budget_variants_and_the_design():
    runs = [BASELINE, {"variant": "fire", "operator": "Fire", "params": 21_378, "macs": 2_999_552,
                       "accuracy": 0.62}]
    figure = design_figure(runs, design=BaselineCNN("fire", 1.0), accuracy=0.63)
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert any("your design" in label for label in labels)
    assert "standard 3×3" in labels and "Fire" in labels
    over, under = ([line for line in figure.axes[0].lines if line.get_marker() in tuple("osD^vPX")
                    and (line.get_markerfacecolor() == "none") == hollow] for hollow in (True, False))
    assert [line.get_xdata()[0] for line in over] == [score(BASELINE["params"], BASELINE["macs"])]  # over budget
    assert len(under) == 1
    with pytest.raises(ValueError, match="baseline"):
        design_figure(runs, baseline="nope")


def test_design_figure_takes_the_sweep_summary_with_error_bars():
    import pandas as pd

    summary = pd.DataFrame([
        {"variant": "standard", "operator": "standard 3×3", "width": w, "params": variant_cost("standard").params,
         "macs": m, "mean": a, "std": 0.004, "n": 3} for w, m, a in ((0.5, 2_290_000, 0.62), (1.0, 8_699_904, 0.66))
    ] + [{"variant": "fire", "operator": "Fire", "width": 1.0, "params": 21_378, "macs": 2_999_552, "mean": 0.61,
          "std": 0.006, "n": 3}])
    figure = design_figure(summary)
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels.count("standard 3×3") == 1 and labels.count("Fire") == 1     # one entry per operator
    threshold = [line for line in figure.axes[0].lines if line.get_linestyle() == ":"]
    assert threshold and threshold[0].get_ydata()[0] == pytest.approx(100 * (0.66 - ACCURACY_MARGIN))  # lab width
    with pytest.raises(ValueError, match="runs"):
        design_figure("standard")


def test_design_checker_reads_a_pandas_row_and_reports_the_seed_spread():
    import pandas as pd

    row = pd.Series(BASELINE | {"std": 0.004, "n": 3})
    verdict = check_design(BaselineCNN("depthwise_separable", 1.25), baseline=row)
    assert verdict.passed and "mean of 3 seeds, std 0.4 points" in verdict.message


def test_design_switch_starts_off(monkeypatch):
    monkeypatch.delenv("COURSE_RETRAIN", raising=False)
    switch = nb07.design_switch()
    assert switch.value is False and switch.description == "Cost check only"
    switch.value = True
    assert switch.description == "Training live" and switch.button_style == "danger"


# --- the notebook -------------------------------------------------------------------------------
def test_notebook_uses_the_graders_and_executes_no_solution():
    sources = "\n".join(code_sources())
    assert "from course_utils.exercises.nb07 import" in sources
    assert "def check" not in sources
    for call in ("check_exercise_1(answer_1)", "check_exercise_2(answer_2)", "check_exercise_3(answer_3)",
                 "check_design(my_design, baseline=baseline)"):
        assert call in sources
    for answer in ("answer_1", "answer_2", "answer_3", "my_design"):
        assignments = [line for line in sources.splitlines() if line.split("=")[0].strip() == answer]
        assert assignments and all(line.split("=", 1)[1].split("#")[0].strip() == "None"
                                   for line in assignments), assignments


def test_notebook_trains_the_design_only_behind_the_switch():
    sources = code_sources()
    training = [s for s in sources if "train(my_design" in s]
    assert len(training) == 1
    assert "if TRAIN_MY_DESIGN.value and my_design is not None:" in training[0]
    assert any("TRAIN_MY_DESIGN = design_switch()" in s for s in sources)


def test_notebook_loads_the_committed_sweep_and_retrains_only_the_live_demo_runs():
    sources = code_sources()
    joined = "\n".join(sources)
    assert 'load_runs("lab")' in joined
    training = [s for s in sources if "make_run(" in s and "import" not in s]
    assert len(training) == 1, "one cell trains the lab's live runs"
    cell = training[0]
    assert "if RETRAIN.value:" in cell and "seed=0" in cell and "LIVE_WIDTHS.items()" in cell


def test_notebook_times_sal_deployed_and_shows_the_macs_it_executes():
    joined = "\n".join(code_sources())
    assert "to_deployed_model(harden(" in joined and "network_macs(" in joined
    assert "deployed_labels" in joined and "sal_label" in joined    # every SAL latency is labelled
    assert '"MACs executed (M)"' in joined and '"MACs needed (M)"' in joined
