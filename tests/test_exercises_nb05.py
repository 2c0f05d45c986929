"""Notebook 05's graders accept the reference answers, reject the typical mistakes with the right
hint, and the notebook executes no solution."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.exercises.nb05 import check_exercise_1, check_exercise_2, check_exercise_3
from course_utils.experiments.lab import LAB, SEEDS, run_name
from course_utils.runs import COMMITTED_RESULTS_DIR

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_mobilenets.ipynb"


# --- exercise 1: MACs of a depthwise-separable block -------------------------------------------
def test_exercise_1_accepts_the_formula_and_names_typical_mistakes():
    assert check_exercise_1((9 * 256 + 256 * 512) * 14 * 14).passed
    assert "one output position" in check_exercise_1(9 * 256 + 256 * 512).message
    assert "standard 3×3" in check_exercise_1(9 * 256 * 512 * 14 * 14).message
    assert "pointwise part only" in check_exercise_1(256 * 512 * 14 * 14).message
    assert not check_exercise_1(None).passed
    assert not check_exercise_1(12345).passed


# --- exercise 2: thinner or smaller, a number a guess does not hit --------------------------------
def test_exercise_2_accepts_the_rule_and_the_count():
    rule = 0.75 ** 2 * (160 / 224) ** 2 / 0.5 ** 2         # 1.148
    verdict = check_exercise_2(rule)
    assert verdict.passed and "(a) α = 0.5 at 224×224 is cheaper" in verdict.message
    assert check_exercise_2(1.11).passed                    # what torch counts
    assert check_exercise_2(round(rule, 2)).passed


def test_exercise_2_names_the_typical_mistakes_and_a_letter_no_longer_answers():
    assert "(a) ÷ (b)" in check_exercise_2(0.5 ** 2 / (0.75 ** 2 * (160 / 224) ** 2)).message
    assert "each enter squared" in check_exercise_2(0.75 / 0.5 * 160 / 224).message
    assert "resolution changes too" in check_exercise_2((0.75 / 0.5) ** 2).message
    assert "resolution enters squared" in check_exercise_2(0.75 ** 2 / 0.5 ** 2 * 160 / 224).message
    for guess in ("a", "b", None, 1.0, 1.3, 0.9):
        assert not check_exercise_2(guess).passed


# --- exercise 3: build an inverted residual -----------------------------------------------------
class Solution(nn.Module):
    """The solution in the notebook's collapsed cell, with switches for the typical mistakes."""

    relu6_after_projection = False
    residual_rule = staticmethod(lambda stride, c_in, c_out: stride == 1 and c_in == c_out)
    depthwise_groups = True

    def __init__(self, in_channels, out_channels, stride=1, expand_ratio=6):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                    nn.BatchNorm2d(hidden), nn.ReLU6())
        groups = hidden if self.depthwise_groups else 1
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=groups, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))
        self.use_residual = self.residual_rule(stride, in_channels, out_channels)

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        if self.relu6_after_projection:
            out = nn.functional.relu6(out)
        return x + out if self.use_residual else out


class ReLU6AfterProjection(Solution):
    relu6_after_projection = True


class ResidualAlways(Solution):
    residual_rule = staticmethod(lambda stride, c_in, c_out: True)


class ResidualWhenSameChannels(Solution):  # forgets the stride
    residual_rule = staticmethod(lambda stride, c_in, c_out: c_in == c_out)


class ResidualNever(Solution):
    residual_rule = staticmethod(lambda stride, c_in, c_out: False)


class DepthwiseWithoutGroups(Solution):
    depthwise_groups = False


class Skeleton(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, expand_ratio=6):
        super().__init__()
        raise NotImplementedError("build the three stages")


def test_exercise_3_accepts_the_solution():
    verdict = check_exercise_3(Solution)
    assert verdict.passed, verdict


@pytest.mark.parametrize("block_class, hint", [
    (ReLU6AfterProjection, "ReLU6 after the 1×1 projection"),
    (ResidualNever, "the residual is missing"),
    (ResidualAlways, "the residual applies only when stride = 1 and C_in = C_out"),
    (ResidualWhenSameChannels, "the residual applies only when stride = 1 and C_in = C_out"),
    (DepthwiseWithoutGroups, "groups=1"),
    (Skeleton, "NotImplementedError"),
])
def test_exercise_3_names_the_typical_mistakes(block_class, hint):
    verdict = check_exercise_3(block_class)
    assert not verdict.passed and hint in verdict.message, verdict


class PlainReLU(Solution):
    def forward(self, x):
        out = torch.relu(self.expand[1](self.expand[0](x)))
        out = torch.relu(self.depthwise[1](self.depthwise[0](out)))
        out = self.project(out)
        return x + out if self.use_residual else out


def test_exercise_3_tells_relu6_from_relu():
    verdict = check_exercise_3(PlainReLU)
    assert not verdict.passed and "ReLU where MobileNetV2 has ReLU6" in verdict.message


def test_exercise_3_accepts_a_block_written_another_way():
    class Attributes(nn.Module):
        """Lazy BatchNorms, registered before the convolutions and in reverse order, functional ReLU6."""

        def __init__(self, in_channels, out_channels, stride=1, expand_ratio=6):
            super().__init__()
            hidden = in_channels * expand_ratio
            self.bn3, self.bn2, self.bn1 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
            self.expand = nn.LazyConv2d(hidden, 1, bias=False)
            self.depthwise = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
            self.project = nn.LazyConv2d(out_channels, 1, bias=False)
            self.shortcut = stride == 1 and in_channels == out_channels

        def forward(self, x):
            out = nn.functional.relu6(self.bn1(self.expand(x)))
            out = nn.functional.relu6(self.bn2(self.depthwise(out)))
            out = self.bn3(self.project(out))
            return out + x if self.shortcut else out

    verdict = check_exercise_3(Attributes)
    assert verdict.passed, verdict


def test_exercise_3_hints_instead_of_tracebacks():
    class NoReturn(Solution):
        def forward(self, x):
            super().forward(x)

    class PairOut(Solution):
        def forward(self, x):
            return super().forward(x), x

    for answer, hint in ((NoReturn, "forget the `return`"), (PairOut, "returns a tuple of 2")):
        verdict = check_exercise_3(answer)
        assert not verdict.passed and hint in verdict.message, (answer, verdict)


def test_exercise_3_not_yet_and_not_a_class():
    assert "Not yet" in check_exercise_3(None).message
    assert "class itself" in check_exercise_3(Solution(16, 16)).message


def test_exercise_3_skeleton_forward_not_written():
    class HalfDone(Solution):
        def forward(self, x):
            raise NotImplementedError

    assert "forward still raises NotImplementedError" in check_exercise_3(HalfDone).message


# --- the notebook ---------------------------------------------------------------------------
def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_the_notebook_executes_no_solution():
    code = _code_cells()
    joined = "\n".join(code)
    assert "from course_utils.exercises.nb05 import" in joined
    calls = re.findall(r"check_exercise_\d\((.*)\)", joined)
    assert calls, "the notebook calls no checker"
    for argument in calls:
        assert re.fullmatch(r"[A-Za-z_]\w*", argument.strip()), \
            f"a checker is called with a literal or an expression: {argument!r}"
    assert not re.search(r"^def check_exercise", joined, re.MULTILINE), \
        "checkers live in course_utils.exercises.nb05, not in the notebook"
    for name in ("answer_dws_macs", "answer_ratio"):
        assert re.search(rf"^{name} = None", joined, re.MULTILINE), f"{name} must start as None"
    skeleton = next(c for c in code if "class MyInvertedResidual" in c)
    assert "raise NotImplementedError" in skeleton


def test_the_skeleton_in_the_notebook_is_graded_not_yet():
    skeleton = next(c for c in _code_cells() if "class MyInvertedResidual" in c)
    namespace: dict = {"nn": nn, "torch": torch}
    exec(skeleton, namespace)  # the student's cell as committed: defines the class only
    verdict = check_exercise_3(namespace["MyInvertedResidual"])
    assert not verdict.passed and "Not yet" in verdict.message


def test_the_notebook_reads_as_a_lecture():
    """Going further, then References (papers with arXiv ids); a main path of about 1,200 words;
    nothing a student cannot open (facts.md, issues) and no empty GPU section."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    headings = [m.lstrip().splitlines()[0] for m in markdown if m.strip()]
    assert "## Going further" in headings and headings[-1] == "## References"
    main_path = markdown[:next(i for i, m in enumerate(markdown)
                               if m.lstrip().startswith("## Going further"))]
    assert sum(len(m.split()) for m in main_path) <= 1200
    assert len(re.findall(r"arXiv:\d{4}\.\d{5}", markdown[-1])) >= 3
    text = NOTEBOOK.read_text(encoding="utf-8").lower()
    for phrase in ("facts.md", "the issue", "issue asks", "nothing to show"):
        assert phrase not in text, phrase


# --- the CIFAR-10 comparison: seeded width curves at matched cost, one live demo run -----------
def _section_markdown(first: str, last: str) -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    start = next(i for i, m in enumerate(markdown) if m.lstrip().startswith(first))
    end = next(i for i, m in enumerate(markdown) if m.lstrip().startswith(last))
    return markdown[start:end]


def _compared_blocks() -> list[str]:
    """The value of ``BLOCKS = [...]`` in the notebook: the operators its width curves compare."""
    for code in _code_cells():
        for node in ast.walk(ast.parse(code)):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], "id", None) == "BLOCKS"):
                return ast.literal_eval(node.value)
    raise AssertionError("the notebook defines no BLOCKS list")


def test_the_blocks_are_compared_on_seeded_width_curves_with_one_live_demo():
    joined = "\n".join(_code_cells())
    assert _compared_blocks() == ["standard", "depthwise_separable", "inverted_residual"]
    for call in ("load_runs(", "summarise(", "compare(", "plot_width_curves(", "mark_live_run("):
        assert call in joined, call
    # the runs come from the sweep; the live demo retrains one run, one seed
    assert "nb05_baseline_inverted_residual" not in joined
    assert joined.count("make_run(") == 1 and not re.findall(r"(?<![\w.])train\(", joined)
    assert joined.count("if RETRAIN.value") == 1
    assert re.search(r'retrain_switch\("~\d+ min', joined), "the switch states the demo's time"


def test_every_configuration_the_notebook_compares_has_three_committed_seeds():
    assert len(SEEDS) >= 3
    missing = [run_name(variant, width=width, seed=seed)
               for variant in _compared_blocks() for width in LAB[variant].widths for seed in SEEDS
               if not (COMMITTED_RESULTS_DIR / f"{run_name(variant, width=width, seed=seed)}.json").exists()]
    assert not missing, f"not committed (make sweep): {missing}"


def test_the_comparison_prose_types_no_result():
    """Accuracies and differences in the CIFAR-10 section are computed by its cells, never typed."""
    for text in _section_markdown("## V1 and V2 blocks on CIFAR-10", "## Exercise 1"):
        found = re.findall(r"\d+(?:\.\d+)?\s*(?:%|points)|±", text)
        assert not found, (found, text[:80])
