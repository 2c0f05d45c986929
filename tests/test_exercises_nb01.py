"""Notebook 01's graders: the right answer passes, typical mistakes get their hint, and the
notebook itself never runs a solution."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from course_utils.exercises.nb01 import check_exercise_1, check_exercise_2

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_cost_of_convolution.ipynb"


def test_exercise_1_accepts_the_layer_macs_and_names_typical_mistakes():
    assert check_exercise_1(5 * 5 * 32 * 64 * 16 * 16).passed
    assert "one output position" in check_exercise_1(5 * 5 * 32 * 64).message
    assert "FLOPs" in check_exercise_1(2 * 5 * 5 * 32 * 64 * 16 * 16).message
    assert "16×16" in check_exercise_1(5 * 5 * 32 * 64 * 32 * 32).message
    assert not check_exercise_1(None).passed
    assert "number" in check_exercise_1("13107200").message


def test_exercise_2_wants_both_factors():
    assert check_exercise_2((9, 4)).passed
    kernel_linear = check_exercise_2((3, 4))
    assert not kernel_linear.passed and "k·l, not k" in kernel_linear.message
    width_linear = check_exercise_2((9, 2))
    assert not width_linear.passed and "C_in AND C_out" in width_linear.message
    assert "FEWER" in check_exercise_2((1 / 9, 4)).message
    assert "two numbers" in check_exercise_2("a").message
    assert not check_exercise_2(None).passed


def test_exercise_2_takes_the_pair_as_a_list_or_an_array_too():
    import numpy as np
    import torch

    for pair in ([9, 4], np.array([9, 4]), torch.tensor([9.0, 4.0])):
        assert check_exercise_2(pair).passed, pair
    for wrong in ([9], [9, 4, 1], [None, 4], "94"):
        assert "two numbers" in check_exercise_2(wrong).message


def _code_cells() -> list[str]:
    return [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]


def test_notebook_imports_its_graders_and_never_runs_a_solution():
    checker_calls = 0
    for source in _code_cells():
        assert "def check_exercise" not in source, "graders live in course_utils.exercises.nb01"
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("check_exercise")):
                checker_calls += 1
                assert all(isinstance(arg, ast.Name) for arg in node.args), (
                    f"a checker is called with a literal answer: {ast.unparse(node)}")
    assert checker_calls == 2


def test_answer_cells_hold_none_and_solutions_are_collapsed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    answers = [c.source for c in nb.cells if c.cell_type == "code"
               and c.source.lstrip().startswith("answer_")]
    assert len(answers) == 2 and all("= None" in a for a in answers)
    solutions = [c.source for c in nb.cells if c.cell_type == "markdown" and "Solution" in c.source]
    assert len(solutions) == 2 and all(s.lstrip().startswith("<details>") for s in solutions)


def test_the_collapsed_solutions_pass_their_graders():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    solutions = [c.source for c in nb.cells if c.cell_type == "markdown" and "Solution" in c.source]
    namespace: dict = {}
    for solution in solutions:
        exec(solution.split("`")[1], namespace)       # the `answer_... = ...` line
    assert check_exercise_1(namespace["answer_macs"]).passed
    assert check_exercise_2(namespace["answer_factors"]).passed
