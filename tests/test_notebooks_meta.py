"""Notebooks are documents: stored outputs are from one clean top-to-bottom run, with no
machine-specific paths (nbval then checks the outputs themselves)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/\w+/|/Users/\w+/|\.\./shared/|[A-Z]:\\\\Users)")


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_execution_counts_read_1_to_n(path):
    counts = [c["execution_count"] for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), f"re-run {path.name} top to bottom in a fresh kernel"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_outputs_and_no_machine_paths(path):
    cells = code_cells(path)
    assert not [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    found = MACHINE_PATH.search(json.dumps(json.loads(path.read_text())["cells"]))
    assert found is None, f"machine-specific path {found.group(0)!r} in {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_few_cells_opt_out_of_output_checking(path):
    cells = code_cells(path)
    opted_out = [c for c in cells if re.search(r"NBVAL_(IGNORE_OUTPUT|SKIP)", "".join(c["source"]))]
    assert len(opted_out) <= 0.3 * len(cells), f"{len(opted_out)}/{len(cells)} cells opt out of nbval"
