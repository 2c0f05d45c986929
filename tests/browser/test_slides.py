"""Slide metadata: every notebook presents as slides (title slide first, every cell typed,
exercises as fragments). Reads the .ipynb files only: no browser needed."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


def slide_type(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def first_line(cell: dict) -> str:
    source = "".join(cell["source"]).strip()
    return source.splitlines()[0] if source else ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_a_slide_type_and_the_first_is_a_title_slide(path: Path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    missing = [i for i, c in enumerate(cells) if slide_type(c) not in SLIDE_TYPES]
    assert not missing, f"{path.name}: cells {missing} lack metadata.slideshow.slide_type in {sorted(SLIDE_TYPES)}"
    title = cells[0]
    assert title["cell_type"] == "markdown" and first_line(title).startswith("# "), \
        f"{path.name}: the first cell must be the markdown title ('# ...')"
    assert slide_type(title) == "slide", f"{path.name}: the title cell must have slide_type 'slide'"
    slides = sum(slide_type(c) in {"slide", "subslide"} for c in cells)
    assert slides >= 3, f"{path.name}: {slides} slides; one idea per slide means more than a title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_are_fragments(path: Path):
    """A numbered exercise ('## Exercise 2 — ...' or '**Exercise 2.** ...') appears as a fragment;
    a section heading such as '## Exercises' may open its own slide."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    exercises = [i for i, c in enumerate(cells)
                 if c["cell_type"] == "markdown" and re.match(r"(#+\s*|\*\*)?Exercise\s+\d", first_line(c), re.IGNORECASE)]
    assert exercises, f"{path.name}: no numbered exercise ('## Exercise 1 ...' or '**Exercise 1.** ...') found"
    not_fragments = [i for i in exercises if slide_type(cells[i]) != "fragment"]
    assert not not_fragments, f"{path.name}: exercise cells {not_fragments} must have slide_type 'fragment'"
