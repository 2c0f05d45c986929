"""Notebook 03's graders: the right answers pass, the typical mistakes get their own hint, and the
notebook never executes a solution."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.cost import count
from course_utils.exercises.nb03 import (check_exercise_1, check_exercise_2, check_exercise_3, check_exercise_4,
                                         late_pool_table)
from course_utils.models.squeezenet import SQUEEZENET_TABLES, squeezenet_cifar

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_squeezenet_fire.ipynb"


# --- exercise 1: fire8's MACs ----------------------------------------------------------------
def test_exercise_1_right_and_typical_mistakes():
    right = (384 * 64 + 64 * 256 + 9 * 64 * 256) * 27 * 27
    assert check_exercise_1(right).passed
    assert "27×27 positions" in check_exercise_1(right // (27 * 27)).message
    assert "9·s·e3x3" in check_exercise_1((384 * 64 + 64 * 256 + 64 * 256) * 27 * 27).message
    assert "squeeze layer" in check_exercise_1((64 * 256 + 9 * 64 * 256) * 27 * 27).message
    assert "plain 3×3" in check_exercise_1(9 * 384 * 512 * 27 * 27).message
    assert not check_exercise_1(None) and "replace None" in check_exercise_1(None).message
    assert not check_exercise_1(12345).passed


# --- exercise 2: the parameters of two changes (a guess cannot pass) ---------------------------
A_PARAMS = 256 * 64 + 64 * 224 + 9 * 64 * 32          # weights of Fire(256, 64, 224, 32)
B_PARAMS = 256 * 32 + 32 * 32 + 9 * 32 * 224          # weights of Fire(256, 32, 32, 224)


def test_exercise_2_accepts_both_counts_with_or_without_biases():
    assert check_exercise_2((A_PARAMS + 64 + 224 + 32, B_PARAMS + 32 + 32 + 224)).passed
    verdict = check_exercise_2([A_PARAMS, B_PARAMS])
    assert verdict.passed and "(a) saves more" in verdict.message


def test_exercise_2_names_the_typical_mistakes_and_a_letter_no_longer_answers():
    assert "9·s·e3x3" in check_exercise_2((A_PARAMS, 256 * 32 + 32 * 32 + 32 * 224)).message
    assert "squeeze layer" in check_exercise_2((A_PARAMS, 32 * 32 + 9 * 32 * 224)).message
    assert "wrong way round" in check_exercise_2((B_PARAMS, A_PARAMS)).message
    starting_fire = 256 * 32 + 32 * 128 + 9 * 32 * 128 + 32 + 128 + 128        # with its biases
    assert "starting Fire" in check_exercise_2((starting_fire, B_PARAMS)).message
    for guess in ("a", "b", (1, 2), None, (A_PARAMS, None)):
        assert not check_exercise_2(guess).passed
    assert "two numbers" in check_exercise_2("a").message


# --- exercise 3: build a Fire ----------------------------------------------------------------
class GoodFire(nn.Module):
    """A correct Fire with its own names and registration order."""

    def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.wide = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.narrow = nn.Conv2d(squeeze, expand1x1, 1)

    def forward(self, x):
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.narrow(s)), torch.relu(self.wide(s))], dim=1)


def fire_with(*, squeeze_relu=True, cat_dim=1, padding=1, swap=False, first_3x3=False):
    """A student's Fire class with one typical mistake."""

    class StudentFire(nn.Module):
        def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
            super().__init__()
            if swap:   # squeeze and expand1x1 swapped in the argument list
                squeeze, expand1x1 = expand1x1, squeeze
            self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
            self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
            self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=padding)

        def forward(self, x):
            s = self.squeeze(x)
            s = torch.relu(s) if squeeze_relu else s
            maps = [torch.relu(self.expand1x1(s)), torch.relu(self.expand3x3(s))]
            return torch.cat(maps[::-1] if first_3x3 else maps, dim=cat_dim)

    return StudentFire


def test_exercise_3_accepts_a_correct_fire_and_the_reference_itself():
    torch.manual_seed(0)
    assert check_exercise_3(GoodFire).passed, check_exercise_3(GoodFire)
    assert check_exercise_3(fire_with()).passed


def test_exercise_3_names_the_typical_mistakes():
    no_relu = check_exercise_3(fire_with(squeeze_relu=False))
    assert not no_relu.passed and "ReLU after the squeeze" in no_relu.message
    wrong_dim = check_exercise_3(fire_with(cat_dim=0))
    assert not wrong_dim.passed and "dim=1" in wrong_dim.message
    no_padding = check_exercise_3(fire_with(padding=0))
    assert not no_padding.passed and "padding=1" in no_padding.message
    swapped = check_exercise_3(fire_with(swap=True))
    assert not swapped.passed and "swapped" in swapped.message and "squeeze" in swapped.message
    order = check_exercise_3(fire_with(first_3x3=True))
    assert not order.passed and "1×1 expand's maps first" in order.message


def test_exercise_3_skeleton_and_bad_answers():
    class Skeleton(nn.Module):
        def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
            super().__init__()
            raise NotImplementedError

    assert "NotImplementedError" in check_exercise_3(Skeleton).message
    assert not check_exercise_3(None)
    assert "the class itself" in check_exercise_3(GoodFire(16, 4, 8, 12)).message


def test_exercise_3_tells_relu_from_relu6():
    class ReLU6Fire(GoodFire):
        def forward(self, x):
            s = nn.functional.relu6(self.squeeze(x))
            return torch.cat([nn.functional.relu6(self.narrow(s)), nn.functional.relu6(self.wide(s))], dim=1)

    assert not check_exercise_3(ReLU6Fire).passed


def test_exercise_3_accepts_a_fire_written_another_way():
    class LazyFire(nn.Module):
        """Lazy layers, one ReLU over the concatenation, nn.ReLU modules."""

        def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
            super().__init__()
            self.squeeze = nn.Sequential(nn.LazyConv2d(squeeze, 1), nn.ReLU(inplace=True))
            self.expand1x1 = nn.LazyConv2d(expand1x1, 1)
            self.expand3x3 = nn.LazyConv2d(expand3x3, 3, padding=1)

        def forward(self, x):
            s = self.squeeze(x)
            return torch.relu(torch.cat([self.expand1x1(s), self.expand3x3(s)], dim=1))

    verdict = check_exercise_3(LazyFire)
    assert verdict.passed, verdict


def test_exercise_3_hints_instead_of_tracebacks():
    class NoReturn(GoodFire):
        def forward(self, x):
            super().forward(x)

    class PairOut(GoodFire):
        def forward(self, x):
            s = torch.relu(self.squeeze(x))
            return torch.relu(self.narrow(s)), torch.relu(self.wide(s))

    class PlainList(nn.Module):
        def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
            super().__init__()
            self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
            self.expands = [nn.Conv2d(squeeze, expand1x1, 1), nn.Conv2d(squeeze, expand3x3, 3, padding=1)]

        def forward(self, x):
            s = torch.relu(self.squeeze(x))
            return torch.cat([torch.relu(e(s)) for e in self.expands], dim=1)

    for answer, hint in ((NoReturn, "forget the `return`"), (PairOut, "returns a tuple of 2"),
                         (PlainList, "nn.ModuleList")):
        verdict = check_exercise_3(answer)
        assert not verdict.passed and hint in verdict.message, (answer, verdict)


# --- exercise 4: the first pool moved after fire3 ----------------------------------------------
def test_exercise_4_right_and_typical_mistakes():
    # fire2 and fire3 (393,216 MACs each on 16×16 maps) run on 32×32: 4× the positions
    as_is = count(squeezenet_cifar(), (1, 3, 32, 32)).macs
    fire = 393_216
    right = as_is + 2 * 3 * fire
    assert check_exercise_4(right).passed and "same 44,874 parameters" in check_exercise_4(right).message
    assert "as it is" in check_exercise_4(as_is).message
    assert "height AND width" in check_exercise_4(as_is + 2 * fire).message
    assert "fire3 also runs" in check_exercise_4(as_is + 3 * fire).message
    assert "FLOPs" in check_exercise_4(2 * right).message
    assert not check_exercise_4(None) and not check_exercise_4(12345).passed
    assert "number" in check_exercise_4("5229568").message


def test_late_pool_table_moves_one_row_and_refuses_bad_names():
    table = late_pool_table()
    assert sorted(map(repr, table)) == sorted(map(repr, SQUEEZENET_TABLES["cifar"]))
    names = [row.name for row in table]
    assert names[names.index("fire3") + 1] == "maxpool1"
    for kwargs, word in (({"pool": "fire2"}, "pool='fire2'"), ({"after": "fire9"}, "after='fire9'"),
                         ({"after": "maxpool1"}, "after='maxpool1'")):
        with pytest.raises(ValueError, match=word):
            late_pool_table(**kwargs)


# --- the notebook holds no executed solution -------------------------------------------------
def test_notebook_executes_no_solution():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    calls = re.findall(r"check_exercise_\d+\(([^()]*)\)", "\n".join(code))
    assert len(calls) >= 4
    for argument in calls:
        assert argument.strip().isidentifier(), f"a checker is called with {argument!r}"
    assert "answer_fire8_macs = None" in "\n".join(code)
    assert "answer_params = None" in "\n".join(code)
    assert "answer_late_macs = None" in "\n".join(code)
    build_cells = [src for src in code if "class MyFire" in src]
    assert len(build_cells) == 1 and "raise NotImplementedError" in build_cells[0]
    assert not any("def check_exercise" in src for src in code)
    solutions = [c for c in cells if c["cell_type"] == "markdown" and "Solution" in "".join(c["source"])]
    assert len(solutions) >= 4 and all("<details>" in "".join(c["source"]) for c in solutions)
