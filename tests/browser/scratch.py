"""Tiny notebooks, built at run time, that exercise the browser checks themselves.

``good`` must pass every check; each other kind breaks exactly one thing, and the checks must
report it (tests/browser/test_checks_can_fail.py). They are written as JSON into the server's
temporary root, never into the repository, so nbval never collects them.
"""
from __future__ import annotations

import json
from pathlib import Path

SETUP = """\
import io
import ipywidgets as widgets
from matplotlib.figure import Figure

def png(k: int, size=(6, 2), dpi=60) -> bytes:
    figure = Figure(figsize=size)
    ax = figure.subplots()
    ax.plot(range(10), [k * x for x in range(10)])
    ax.set_title(f"slope {k}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()"""

GOOD_WIDGET = """\
slider = widgets.IntSlider(value=2, min=0, max=5, description="slope", continuous_update=False)
image = widgets.Image(value=png(slider.value), format="png")
label = widgets.HTML(value=f"<b>slope = {slider.value}</b>")

def redraw(change) -> None:
    image.value = png(change["new"])
    label.value = f"<b>slope = {change['new']}</b>"

slider.observe(redraw, names="value")
widgets.VBox([slider, image, label])"""

# The slider's observer is never attached: moving it changes nothing it should drive.
DEAD_SLIDER = GOOD_WIDGET.replace('slider.observe(redraw, names="value")', "pass  # observer forgotten")

# A widget whose JavaScript module does not exist: the front end cannot render it.
BROKEN_WIDGET = """\
from traitlets import Unicode

class Missing(widgets.DOMWidget):
    _model_name = Unicode("MissingModel").tag(sync=True)
    _model_module = Unicode("no-such-widget-module").tag(sync=True)
    _model_module_version = Unicode("1.0.0").tag(sync=True)
    _view_name = Unicode("MissingView").tag(sync=True)
    _view_module = Unicode("no-such-widget-module").tag(sync=True)
    _view_module_version = Unicode("1.0.0").tag(sync=True)

Missing()"""

# The good widget with a figure taller than a 1280x720 screen (10x9 in: an image widget is shown as
# wide as the output area, about 1080 px, so 970 px tall at any dpi): the presenter
# check must report that the figure and its slider cannot be seen together.
TALL_FIGURE = GOOD_WIDGET.replace("image = widgets.Image(value=png(slider.value)",
                                  "image = widgets.Image(value=png(slider.value, size=(10, 9))")

# A figure that does not fit (a title longer than the canvas, a legend on top of the line) and a slider whose
# label is cut: the presenter checks must report all three (with the figure watch, COURSE_FIGURE_REPORT).
MISFIT = """\
import matplotlib.pyplot as plt
from course_utils import style

style.apply()
fig, ax = plt.subplots()
ax.plot([0, 1, 2], [1, 1, 1], label="the data")
ax.legend(loc="center")
ax.set_title("a title far too long for any canvas, " * 3)
plt.show()
widgets.IntSlider(value=2, min=0, max=5, description="a label far too long for its box",
                  style={"description_width": "60px"})"""

RAISES = 'raise RuntimeError("this cell fails on purpose")'

KINDS: dict[str, list[str]] = {
    "good": [SETUP, GOOD_WIDGET, 'print("done")'],
    "dead_slider": [SETUP, DEAD_SLIDER, 'print("done")'],
    "broken_widget": [SETUP, BROKEN_WIDGET, 'print("done")'],
    "error": [SETUP, RAISES, 'print("never reached")'],
    "tall_figure": [SETUP, TALL_FIGURE, 'print("done")'],
    "misfit": [SETUP, MISFIT],
}


def notebook(kind: str) -> dict:
    """The nbformat-4 JSON of the scratch notebook ``kind`` (one of ``KINDS``), with slide metadata."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {sorted(KINDS)}")
    return notebook_of(kind, KINDS[kind])


def notebook_of(title: str, sources: list[str]) -> dict:
    """The nbformat-4 JSON of a notebook: a markdown title cell, then one code cell per source."""
    cells = [{"cell_type": "markdown", "id": "title", "source": f"# Scratch notebook: {title}",
              "metadata": {"slideshow": {"slide_type": "slide"}}}]
    for i, source in enumerate(sources):
        cells.append({"cell_type": "code", "id": f"code{i}", "source": source, "execution_count": None,
                      "outputs": [], "metadata": {"slideshow": {"slide_type": "-"}}})
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}}


def write(kind: str, folder: Path) -> Path:
    """Write the scratch notebook ``kind`` as ``folder/scratch_<kind>.ipynb``; return its path."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {sorted(KINDS)}")
    return write_cells(kind, KINDS[kind], folder)


def write_cells(name: str, sources: list[str], folder: Path) -> Path:
    """Write a notebook of the code cells ``sources`` as ``folder/scratch_<name>.ipynb``; return its path."""
    path = Path(folder) / f"scratch_{name}.ipynb"
    path.write_text(json.dumps(notebook_of(name, sources), indent=1), encoding="utf-8")
    return path
