"""Interactive figures for the notebooks: a figure that redraws in place, the cost explorer, and the
toggle and curves of a live training run.

``LiveFigure`` renders a matplotlib ``Figure`` (made without pyplot, so nothing is displayed twice)
into an ``ipywidgets.Image``; calling ``refresh()`` after changing the artists swaps the PNG in place:
no flicker, no pile of plots, and it works in JupyterLab, Notebook and VS Code alike.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import PIL.Image
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from . import checks
from .cost import Cost, costs_table, human
from .runs import retrain_requested
from .operators import ACCOUNTING, OPERATORS, LayerShape


class LiveFigure:
    """A matplotlib figure shown as a PNG image widget; ``refresh()`` redraws it in place.

    ``animated`` artists (bars, labels, a title...) are the only ones that change between refreshes:
    the rest of the figure is drawn once and reused, so a slider redraw costs a few artists, not a
    whole figure. ``refresh(full=True)`` redraws everything (after changing axes limits, say).
    """

    def __init__(self, figure: Figure, dpi: int = 90, animated: Sequence[Artist] = ()) -> None:
        if not isinstance(figure, Figure):
            raise ValueError(f"figure={type(figure).__name__} must be a matplotlib.figure.Figure")
        self.figure = figure
        self.dpi = checks.positive_int("dpi", dpi)
        self.figure.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(figure)
        self.animated = list(animated)
        for artist in self.animated:
            artist.set_animated(True)  # left out of canvas.draw(): drawn by refresh() itself
        self._background = None
        self.widget = widgets.Image(format="png")
        self.refresh(full=True)

    def refresh(self, full: bool = False) -> None:
        """Render the figure to PNG and swap it into the image widget."""
        if full or not self.animated or self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.animated:
            self.figure.draw_artist(artist)
        image = PIL.Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)  # fast compression: sliders must feel live
        self.widget.value = buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# ---------------------------------------------------------------------------------------------
# Training live: the toggle and the curves
# ---------------------------------------------------------------------------------------------
def retrain_switch(estimate: str = "") -> widgets.ToggleButton:
    """A toggle button for a notebook's training cells, displayed by the calling cell::

        RETRAIN = retrain_switch("~1 min")          # in the set-up cell
        train(..., retrain=RETRAIN.value)           # in each training cell

    It starts on when the environment variable ``COURSE_RETRAIN`` asks for retraining, off otherwise, so
    switching it on for a live demo never persists in the saved notebook (a widget's state is not code).
    Live runs go to the local store (``data/local-results/``), never to the committed results."""
    from IPython.display import display

    label = f"Train live (one seed, {estimate})" if estimate else "Train live (one seed)"
    button = widgets.ToggleButton(value=retrain_requested(), description=label, icon="play",
                                  tooltip="on: the training cells below train instead of loading stored runs",
                                  layout=widgets.Layout(width="auto"))
    display(button)
    return button


class LiveCurves:
    """One figure, loss and accuracy against epoch, redrawn in place after every epoch through an
    IPython display handle; the committed run of the same name, if any, is drawn dashed for reference."""

    def __init__(self, title: str, epochs: int | None, curve_images: int, reference: list[dict] | None) -> None:
        from IPython.display import display

        self.title, self.epochs, self.reference = title, epochs, reference or []
        self.test_label = f"test (first {curve_images:,} images)"
        self.figure = Figure(figsize=(10, 3.6), layout="constrained")
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self.handle = display(self._image(), display_id=True)

    def _image(self) -> Any:
        from IPython.display import Image

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return Image(data=buffer.getvalue(), format="png")

    def update(self, history: list[dict[str, float]]) -> None:
        from matplotlib.ticker import MaxNLocator

        for ax in (self.ax_loss, self.ax_acc):
            ax.clear()
        for rows, style, train_label, test_label in (
                (self.reference, "--", "train (committed run)", "test (committed run)"),
                (history, "-", "train", self.test_label)):
            if not rows:
                continue
            epochs = [r["epoch"] for r in rows]
            test_acc = [100 * r.get("curve_test_accuracy", r.get("test_accuracy", math.nan)) for r in rows]
            self.ax_loss.plot(epochs, [r["train_loss"] for r in rows], style, color="tab:blue", label=train_label)
            self.ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in rows], style, color="tab:blue",
                             label=train_label)
            self.ax_acc.plot(epochs, test_acc, style, color="tab:orange", label=test_label)
        self.ax_loss.set(xlabel="epoch", ylabel="training loss", title=f"{self.title}: loss")
        self.ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{self.title}: accuracy", ylim=(0, 100))
        last = self.epochs or max((r["epoch"] for r in history), default=1)
        for ax in (self.ax_loss, self.ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(0.5, max(last, 1) + 0.5)
            ax.legend(fontsize="small")
        self.handle.update(self._image())


# ---------------------------------------------------------------------------------------------
# The cost explorer
# ---------------------------------------------------------------------------------------------
def decade_limits(low: float, high: float) -> tuple[float, float]:
    """Axis limits rounded out to whole powers of ten, so small slider moves keep the same axes."""
    return 10.0 ** np.floor(np.log10(max(low, 1))), 10.0 ** np.ceil(np.log10(max(high, 10)))


def operator_costs(shape: LayerShape, operators: Sequence[str] | None = None) -> dict[str, Cost]:
    """Whole-layer cost of each chosen operator (names of the registry ``OPERATORS``) for one H×W input,
    counted as ``ACCOUNTING`` says: convolutions only, no biases, no BatchNorm."""
    names = list(OPERATORS) if operators is None else list(operators)
    unknown = [n for n in names if n not in OPERATORS]
    if unknown:
        raise ValueError(f"operators={unknown!r} must be among {list(OPERATORS)}")
    return {name: OPERATORS[name].cost(shape) for name in names}


def operator_table(shape: LayerShape, operators: Sequence[str] | None = None) -> pd.DataFrame:
    """The explorer's table: one row per operator (by label) with its formula, params, MACs, FLOPs and
    the MACs ratio to the first row."""
    costs = operator_costs(shape, operators)
    table = costs_table({OPERATORS[name].label: cost for name, cost in costs.items()})
    table.insert(0, "MACs per position", [OPERATORS[name].formula for name in costs])
    return table


SLIDERS: dict[str, tuple[str, Sequence[int]]] = {
    # knob: (label, allowed values). Channels move in steps of 8 so that G ∈ {1, 2, 4, 8} always divides.
    "k": ("kernel k", range(1, 12, 2)),
    "l": ("kernel l", range(1, 12, 2)),
    "c_in": ("C_in", range(8, 513, 8)),
    "c_out": ("C_out", range(8, 513, 8)),
    "d": ("depth mult. D", range(1, 9)),
    "groups": ("groups G", (1, 2, 4, 8)),
    "h": ("H = W" , range(4, 113, 4)),
    "t": ("expansion t", range(1, 11)),
}


class CostExplorer:
    """Sliders for the layer shape; bars of MACs and parameters for each operator, updated in place.

    >>> explorer = CostExplorer(operators=["standard", "decomposed"], knobs=["k", "l", "c_in"],
    ...                         same_channels=True)
    >>> explorer  # displays the sliders, the figure and the table

    ``same_channels=True`` ties C_out to C_in (the slides' C_in = C_out case).
    """

    def __init__(self, *, operators: Sequence[str] | None = None, knobs: Sequence[str] | None = None,
                 same_channels: bool = False, **initial: int) -> None:
        self.same_channels = checks.boolean("same_channels", same_channels)
        if same_channels and knobs is not None and "c_out" in knobs:
            raise ValueError("knobs=[..., 'c_out'] cannot be used with same_channels=True (C_out follows C_in)")
        if same_channels and "c_out" in initial:
            raise ValueError(f"c_out={initial['c_out']!r} cannot be set with same_channels=True (C_out follows C_in: "
                             "set c_in)")
        self.operators = list(OPERATORS) if operators is None else list(operators)
        operator_costs(LayerShape(), self.operators)  # validates the names
        knobs = list(SLIDERS) if knobs is None else list(knobs)
        unknown = [k for k in list(knobs) + list(initial) if k not in SLIDERS]
        if unknown:
            raise ValueError(f"knobs={unknown!r} must be among {list(SLIDERS)}")
        self.shape = self._shape_from(initial)
        self.sliders = {knob: self._slider(knob) for knob in knobs}
        self.table = widgets.HTML()
        self.note = widgets.HTML(f"<p><i>{ACCOUNTING}</i></p>")
        figure = self._make_figure()
        animated = [self.title, *self.bars_macs, *self.bars_params, *self.labels_macs, *self.labels_params]
        self.live = LiveFigure(figure, animated=animated)
        self.update()
        for slider in self.sliders.values():
            slider.observe(lambda change: self.update(), names="value")
        grid = widgets.GridBox(list(self.sliders.values()),
                               layout=widgets.Layout(grid_template_columns="repeat(3, 33%)"))
        self.widget = widgets.VBox([grid, self.live.widget, self.note, self.table])

    def _shape_from(self, values: dict[str, int]) -> LayerShape:
        values = dict(values)
        if "h" in values:
            values["w"] = values["h"]
        if self.same_channels and "c_in" in values:
            values["c_out"] = values["c_in"]
        for knob, value in values.items():
            if knob in SLIDERS and value not in SLIDERS[knob][1]:
                raise ValueError(f"{knob}={value!r} must be one of {list(SLIDERS[knob][1])}")
        return LayerShape(**values)

    def _slider(self, knob: str) -> widgets.SelectionSlider:
        label, options = SLIDERS[knob]
        return widgets.SelectionSlider(options=list(options), value=getattr(self.shape, knob),
                                       description=label, continuous_update=True,
                                       style={"description_width": "110px"},
                                       layout=widgets.Layout(width="98%"))

    def _make_figure(self) -> Figure:
        # Short enough that the figure and its sliders fit a 1280×720 projector screen (make present).
        height = 0.45 * len(self.operators) + 1.5
        # A fixed layout (no layout engine): matplotlib then draws the figure once per PNG, not twice.
        figure = Figure(figsize=(12, height), layout="none")
        figure.subplots_adjust(left=0.25, right=0.96, top=1 - 0.9 / height, bottom=0.9 / height, wspace=0.2)
        self.title = figure.suptitle("")
        self.ax_macs, self.ax_params = figure.subplots(1, 2, sharey=True)
        y = np.arange(len(self.operators))
        self.bars_macs = self.ax_macs.barh(y, np.ones(len(y)), color="tab:blue")
        self.bars_params = self.ax_params.barh(y, np.ones(len(y)), color="tab:orange")
        self.ax_macs.set_yticks(y, [OPERATORS[name].label for name in self.operators])
        self.ax_macs.invert_yaxis()
        for ax, what in ((self.ax_macs, "MACs for the whole layer"), (self.ax_params, "parameters")):
            ax.set_title(what.split()[0])
            ax.set_xscale("log")
            # Plain tick labels ("10 M") and no minor ticks: readable, and 3× faster to redraw than mathtext.
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: human(value)))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel(f"{what} (log scale)")
            ax.grid(axis="x", alpha=0.3)
        self.labels_macs = [self.ax_macs.text(0, i, "", va="center") for i in y]
        self.labels_params = [self.ax_params.text(0, i, "", va="center") for i in y]
        return figure

    def costs(self) -> dict[str, Cost]:
        return operator_costs(self.shape, self.operators)

    def update(self, **values: int) -> None:
        """Redraw for the sliders' current values (or set some values programmatically)."""
        if values:
            for knob, value in values.items():
                if knob not in self.sliders:
                    raise ValueError(f"{knob}={value!r}: this explorer has no '{knob}' slider")
                if value not in SLIDERS[knob][1]:
                    raise ValueError(f"{knob}={value!r} must be one of {list(SLIDERS[knob][1])}")
            for knob, value in values.items():
                self.sliders[knob].value = value  # the slider's observer calls update() again
            return
        current = {knob: slider.value for knob, slider in self.sliders.items()}
        self.shape = self._shape_from({**self.shape.__dict__, **current})
        costs = self.costs()
        self._draw(costs)
        self.table.value = self._table_html()

    def _draw(self, costs: dict[str, Cost]) -> None:
        s = self.shape
        axes_changed = False
        for bars, labels, ax, values in (
                (self.bars_macs, self.labels_macs, self.ax_macs, [c.macs for c in costs.values()]),
                (self.bars_params, self.labels_params, self.ax_params, [c.params for c in costs.values()])):
            for bar, label, value in zip(bars, labels, values):
                bar.set_width(max(value, 1))
                label.set_x(max(value, 1) * 1.15)
                label.set_text(human(value))
            limits = decade_limits(min(values) / 3, max(values) * 8)
            axes_changed = axes_changed or limits != ax.get_xlim()
            ax.set_xlim(limits)
        settings = [f"(k, l) = ({s.k}, {s.l})", f"C_in = {s.c_in}", f"C_out = {s.c_out}", f"H×W = {s.h}×{s.w}"]
        settings += [f"{label} = {getattr(s, knob)}" for knob, label in (("d", "D"), ("groups", "G"), ("t", "t"))
                     if knob in self.sliders]
        self.title.set_text(",  ".join(settings))
        self.live.refresh(full=axes_changed)  # new axis limits: redraw the axes too

    def _table_html(self) -> str:
        table = operator_table(self.shape, self.operators)
        return table.to_html(float_format=lambda v: f"{v:.3f}", formatters={
            "params": "{:,}".format, "MACs": "{:,}".format, "FLOPs": "{:,}".format})

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
