"""Notebook 06's graders accept the reference answers, reject the typical mistakes with the right
hint, and the notebook executes no solution."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.exercises.nb06 import (check_exercise_1, check_exercise_2, check_exercise_3,
                                         check_exercise_4, exercise_4_data)
from course_utils.layers.shift import shift_channels, shift_groups

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_shift_attention.ipynb"


# --- exercise 1: build a shift + 1×1 block ------------------------------------------------------
class Solution(nn.Module):
    """The notebook's solution (slices into a zero tensor), with switches for typical mistakes."""

    swap = False        # (dx, dy) instead of (dy, dx)
    sign = 1            # -1: every group moves the wrong way
    shift_after = False

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.groups = shift_groups(in_channels, kernel_size)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def shift(self, x):
        out = torch.zeros_like(x)
        height, width = x.shape[-2:]
        for first, end, dy, dx in self.groups:
            if self.swap:
                dy, dx = dx, dy
            dy, dx = self.sign * dy, self.sign * dx
            out[:, first:end, max(-dy, 0):height - max(dy, 0), max(-dx, 0):width - max(dx, 0)] = \
                x[:, first:end, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)]
        return out

    def forward(self, x):
        if self.shift_after:
            return self.shift(self.pointwise(x))
        return self.pointwise(self.shift(x))


class RollAndMask(Solution):
    """The other accepted way: torch.roll, then zero the strips that wrapped around."""

    def shift(self, x):
        out = x.clone()
        height, width = x.shape[-2:]
        for first, end, dy, dx in self.groups:
            moved = torch.roll(x[:, first:end], shifts=(-dy, -dx), dims=(2, 3))
            if dy > 0:
                moved[:, :, height - dy:] = 0
            elif dy < 0:
                moved[:, :, :-dy] = 0
            if dx > 0:
                moved[:, :, :, width - dx:] = 0
            elif dx < 0:
                moved[:, :, :, :-dx] = 0
            out[:, first:end] = moved
        return out


class RollWithoutZeros(Solution):
    def shift(self, x):
        out = x.clone()
        for first, end, dy, dx in self.groups:
            out[:, first:end] = torch.roll(x[:, first:end], shifts=(-dy, -dx), dims=(2, 3))
        return out


class Swapped(Solution):
    swap = True


class WrongWay(Solution):
    sign = -1


class ShiftAfter(Solution):
    shift_after = True


class Skeleton(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.groups = shift_groups(in_channels, kernel_size)

    def forward(self, x):
        raise NotImplementedError


@pytest.mark.parametrize("block_class", [Solution, RollAndMask])
def test_exercise_1_accepts_both_ways(block_class):
    verdict = check_exercise_1(block_class)
    assert verdict.passed, verdict


@pytest.mark.parametrize("block_class, hint", [
    (RollWithoutZeros, "wraps around"),
    (Swapped, "offsets are swapped"),
    (WrongWay, "moves the wrong way"),
    (ShiftAfter, "shift comes after the 1×1"),
    (Skeleton, "NotImplementedError"),
])
def test_exercise_1_names_the_typical_mistakes(block_class, hint):
    verdict = check_exercise_1(block_class)
    assert not verdict.passed and hint in verdict.message, verdict


def test_exercise_1_not_yet():
    assert "Not yet" in check_exercise_1(None).message


class LazyPointwise(Solution):
    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__(in_channels, out_channels, kernel_size)
        self.pointwise = nn.LazyConv2d(out_channels, 1, bias=False)


class NoReturn(Solution):
    def forward(self, x):
        self.pointwise(self.shift(x))


class PairOut(Solution):
    def forward(self, x):
        return self.pointwise(self.shift(x)), self.shift(x)


def test_exercise_1_accepts_lazy_layers():
    verdict = check_exercise_1(LazyPointwise)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, hint", [
    (NoReturn, "forget the `return`"),
    (PairOut, "returns a tuple of 2"),
    (Solution(18, 18), "the class itself"),
])
def test_exercise_1_hints_instead_of_tracebacks(answer, hint):
    verdict = check_exercise_1(answer)
    assert not verdict.passed and hint in verdict.message, verdict


# --- exercise 2: memory ---------------------------------------------------------------------
def test_exercise_2():
    assert check_exercise_2(128 * 128 * 36 / 32, 9 * 128 * 128).passed
    assert "4-bit tap index" in check_exercise_2(128 * 128, 9 * 128 * 128).message
    assert "4 bits, not 4 words" in check_exercise_2(128 * 128 * 5, 9 * 128 * 128).message
    assert "9 weights per" in check_exercise_2(128 * 128 * 36 / 32, 128 * 128).message
    assert "Not yet" in check_exercise_2(None, None).message


# --- exercise 3: one-hot slices at initialisation -------------------------------------------
def one_hot_at_init(logits, temperature):
    """The solution: A = softmax(T·a/std(a)) over each slice's 9 taps; share of slices with max A ≥ 0.99."""
    attention = torch.softmax(temperature * logits / logits.std(-1, keepdim=True), dim=-1)
    return (attention.amax(-1) >= 0.99).float().mean().item()


def by_hand_numpy(logits, temperature):
    """Another accepted way: numpy, with the same n − 1 standard deviation, a stable softmax by hand."""
    a = logits.numpy()
    z = temperature * a / a.std(-1, ddof=1, keepdims=True)
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).max(-1) >= 0.99


def test_exercise_3_accepts_torch_and_numpy():
    assert check_exercise_3(one_hot_at_init).passed
    assert check_exercise_3(lambda a, t: float(by_hand_numpy(a, t).mean())).passed
    assert check_exercise_3(lambda a, t: torch.tensor(one_hot_at_init(a, t))).passed     # a 0-d tensor


def test_exercise_3_reports_the_saturation_it_measured():
    message = check_exercise_3(one_hot_at_init).message
    assert "at T = 20" in message and "%" in message


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, t: (torch.softmax(t * a, -1).amax(-1) >= 0.99).float().mean().item(), "standard deviation"),
    (lambda a, t: (torch.softmax(t * a / a.std(), -1).amax(-1) >= 0.99).float().mean().item(), "whole tensor"),
    (lambda a, t: (torch.softmax(t * a / a.std(-1, keepdim=True, unbiased=False), -1).amax(-1) >= 0.99)
     .float().mean().item(), "n − 1"),
    (lambda a, t: (torch.softmax(t * a / a.std(-1, keepdim=True), 0).amax(-1) >= 0.99).float().mean().item(),
     "over the 9 taps"),
    (lambda a, t: torch.softmax(t * a / a.std(-1, keepdim=True), -1).amax(-1).mean().item(), "not the mean"),
    (lambda a, t: 100 * one_hot_at_init(a, t), "percentage"),
    (lambda a, t: 0.5, "count the slices"),
])
def test_exercise_3_names_the_typical_mistakes(wrong, hint):
    verdict = check_exercise_3(wrong)
    assert not verdict.passed and hint in verdict.message, verdict


def test_exercise_3_not_yet():
    def skeleton(logits, temperature):
        raise NotImplementedError

    assert "Not yet" in check_exercise_3(None).message
    assert "NotImplementedError" in check_exercise_3(skeleton).message
    assert "raised ZeroDivisionError" in check_exercise_3(lambda a, t: 1 / 0).message
    assert "one number" in check_exercise_3(lambda a, t: [0.5]).message
    assert "your function itself" in check_exercise_3(0.54).message


# --- exercise 4: one output map of a hardened SAL -------------------------------------------
def reference_answer(sign=1, swap=False, weighted=True):
    x, taps, w = exercise_4_data()
    total = 0
    for c in range(x.shape[1]):
        dy, dx = int(taps[c]) // 3 - 1, int(taps[c]) % 3 - 1
        if swap:
            dy, dx = dx, dy
        moved = shift_channels(x[:, c:c + 1], [(0, 1, sign * dy, sign * dx)])[:, 0]
        total = total + (w[c] if weighted else 1.0) * moved
    return total


def test_exercise_4():
    assert check_exercise_4(reference_answer()).passed
    assert "wrong way" in check_exercise_4(reference_answer(sign=-1)).message
    assert "swapped" in check_exercise_4(reference_answer(swap=True)).message
    assert "weight w[c]" in check_exercise_4(reference_answer(weighted=False)).message
    assert "shape" in check_exercise_4(torch.zeros(1, 3, 3)).message
    assert "Not yet" in check_exercise_4(None).message


# --- the notebook ---------------------------------------------------------------------------
def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_the_notebook_executes_no_solution():
    joined = "\n".join(_code_cells())
    assert "from course_utils.exercises.nb06 import" in joined
    calls = re.findall(r"check_exercise_\d\((.*)\)", joined)
    assert calls, "the notebook calls no checker"
    for arguments in calls:
        for argument in arguments.split(","):
            assert re.fullmatch(r"[A-Za-z_]\w*", argument.strip()), \
                f"a checker is called with a literal or an expression: {argument!r}"
    assert not re.search(r"^def check_exercise", joined, re.MULTILINE)
    assert not re.search(r"^solution", joined, re.MULTILINE)
    assert re.search(r"^answer_4 = None", joined, re.MULTILINE)
    assert re.search(r"^sal_words_answer, conv_words_answer = None, None", joined, re.MULTILINE)


def test_the_skeleton_in_the_notebook_is_graded_not_yet():
    skeleton = next(c for c in _code_cells() if "class MyShiftConv" in c)
    assert "raise NotImplementedError" in skeleton
    namespace: dict = {}
    exec(skeleton, namespace)  # the student's cell as committed: imports and the class only
    verdict = check_exercise_1(namespace["MyShiftConv"])
    assert not verdict.passed and "Not yet" in verdict.message
    function = next(c for c in _code_cells() if "def one_hot_at_init" in c)
    namespace = {}
    exec(function, namespace)
    verdict = check_exercise_3(namespace["one_hot_at_init"])
    assert not verdict.passed and "NotImplementedError" in verdict.message


def test_the_notebook_reads_as_a_lecture():
    """Going further, then References (papers with arXiv ids); a main path of at most 1,250 words (the
    project's lecture limit);
    nothing a student cannot open (facts.md, issues) and no empty GPU section."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    headings = [m.lstrip().splitlines()[0] for m in markdown if m.strip()]
    assert "## Going further" in headings and headings[-1] == "## References"
    main_path = markdown[:next(i for i, m in enumerate(markdown)
                               if m.lstrip().startswith("## Going further"))]
    assert sum(len(m.split()) for m in main_path) <= 1250
    assert len(re.findall(r"arXiv:\d{4}\.\d{5}", markdown[-1])) >= 3
    text = NOTEBOOK.read_text(encoding="utf-8").lower()
    for phrase in ("facts.md", "the issue", "issue asks", "nothing to show"):
        assert phrase not in text, phrase
