"""Every configuration that a notebook compares has at least 3 committed seeds, made by the current code.

The notebooks load their comparisons from the seeded sweeps (``make sweep``, ``make sal-controls``,
``benchmarks/train_squeezenet.py``); these tests fail when a seed is missing, when a stored run no longer
matches the code that would make it, or when a notebook asks a loader for fewer than 3 seeds.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from course_utils.data import load_cifar10
from course_utils.models import sal_controls, squeezenet_runs
from course_utils.models.operator_lab import SEEDS, SWEEP_WIDTHS, run_name
from course_utils.runs import COMMITTED_RESULTS_DIR, read_record
from course_utils.sweeps import load_lab_runs, load_reference_runs, summarise

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0[2-7]_*.ipynb"))
MIN_SEEDS = 3
LOADERS = ("load_lab_runs", "load_control_runs", "load_squeezenet_runs")


def committed_seeds(names: list[str]) -> list[int]:
    """The seeds of the committed records among ``names`` (a missing record contributes nothing)."""
    records = [read_record(COMMITTED_RESULTS_DIR, name) for name in names]
    return sorted(record["config"]["seed"] for record in records if record is not None)


def test_there_are_at_least_three_seeds():
    assert len(SEEDS) >= MIN_SEEDS


@pytest.mark.parametrize("variant", list(SWEEP_WIDTHS))
def test_every_sweep_point_has_three_committed_seeds(variant):
    assert len(SWEEP_WIDTHS[variant]) >= 3, f"{variant}: a width curve needs at least 3 widths"
    for width in SWEEP_WIDTHS[variant]:
        names = [run_name(variant, width=width, seed=seed) for seed in SEEDS]
        assert committed_seeds(names) == list(SEEDS), f"{variant} at width {width}: make sweep"


@pytest.mark.parametrize("control", list(sal_controls.CONTROLS))
def test_every_sal_control_has_three_committed_seeds(control):
    names = [sal_controls.control_run_name(control, seed=seed) for seed in SEEDS]
    assert committed_seeds(names) == list(SEEDS), f"{control}: make sal-controls"


def test_squeezenet_cifar_has_three_committed_seeds():
    names = [squeezenet_runs.run_name(seed) for seed in SEEDS]
    assert committed_seeds(names) == list(SEEDS)


def test_notebook_02_finetuning_has_three_committed_seeds():
    names = [f"nb02_finetune_seed{seed}" for seed in SEEDS]
    assert committed_seeds(names) == list(SEEDS)


def test_the_sweep_loads_fresh_with_three_seeds_per_point():
    """The full key (code, recipe, seed, data) of every sweep run matches: nothing would be retrained."""
    runs = load_lab_runs(load_cifar10())
    summary = summarise(runs)
    assert (summary["n"] >= MIN_SEEDS).all()
    assert summary["std"].notna().all()
    assert runs["accuracy"].between(0.3, 1.0).all(), "a sweep run that did not train must not be plotted"


def test_reference_runs_match_the_code_and_show_the_baseline_twice():
    runs = load_reference_runs()
    assert set(runs["variant"]) == set(SWEEP_WIDTHS)
    assert len(runs[runs["variant"] == "standard"]) >= 2
    assert runs["accuracy"].between(0.3, 1.0).all()


def _loader_calls(notebook: Path) -> list[ast.Call]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    calls = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in LOADERS:
                calls.append(node)
    return calls


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_compare_seeded_runs_only(notebook):
    """Each of notebooks 02-07 loads seeded runs, and never asks a loader for fewer than 3 seeds."""
    calls = _loader_calls(notebook)
    assert calls, f"{notebook.name} loads no seeded runs ({', '.join(LOADERS)})"
    for call in calls:
        for keyword in call.keywords:
            if keyword.arg == "seeds" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                assert len(keyword.value.elts) >= MIN_SEEDS, f"{notebook.name}: {ast.unparse(call)}"
