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
# What the toggle shows, in words, colour and icon: (description, ipywidgets button_style, icon).
SWITCH_STATES: dict[bool, tuple[str, str, str]] = {
    False: ("Committed results", "success", "database"),   # green: nothing trains
    True: ("Training live", "danger", "play"),              # red: the training cells below train
}


def _switch_note(on: bool, estimate: str, forced: bool) -> str:
    """The line next to the toggle: what the training cells below do now, and what a click changes."""
    cost = f" ({estimate})" if estimate else ""
    if forced:
        return ("<b>COURSE_RETRAIN is on</b> in this kernel's environment: every training cell trains" + cost
                + ". Unset it and restart the kernel to use the committed results.")
    if on:
        return (f"The training cells below <b>train</b>{cost} when run and save to data/local-results/. "
                "Click to go back to the committed results.")
    return f"The training cells below load the committed runs. Click to train live{cost}."


def retrain_switch(estimate: str = "", *, off: str | None = None, on: str | None = None) -> widgets.ToggleButton:
    """A toggle button for a notebook's training cells, displayed by the calling cell::

        RETRAIN = retrain_switch("~1 min")          # in the set-up cell
        train(..., retrain=RETRAIN.value)           # in each training cell

    It shows its state in words and colour, readable from the back of a room: green "Committed results" (off)
    or red "Training live" (on), with a line saying what the training cells do. ``off`` and ``on`` replace
    those two words. It starts on when the environment variable ``COURSE_RETRAIN`` asks for retraining (and
    then cannot be switched off: every ``train`` call trains), off otherwise, so switching it on for a live
    demo never persists in the saved notebook (a widget's state is not code). Live runs go to the local store
    (``data/local-results/``), never to the committed results."""
    from IPython.display import display

    labels = {False: off or SWITCH_STATES[False][0], True: on or SWITCH_STATES[True][0]}
    for name, label in (("off", off), ("on", on)):
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise ValueError(f"{name}={label!r} must be a non-empty string (the toggle's words in that state)")
    forced = retrain_requested()
    button = widgets.ToggleButton(value=forced, disabled=forced, style={"font_weight": "bold"},
                                  layout=widgets.Layout(width="auto", flex="0 0 auto"))  # never shrunk: whole words
    button.add_class("course-retrain-switch")
    note = widgets.HTML(layout=widgets.Layout(flex="1 1 auto"))
    note.add_class("course-retrain-note")

    def show(on: bool) -> None:
        _, style, icon = SWITCH_STATES[on]
        button.description, button.button_style, button.icon = labels[on], style, icon
        button.tooltip = _switch_note(on, estimate, forced).replace("<b>", "").replace("</b>", "")
        note.value = _switch_note(on, estimate, forced)

    show(button.value)
    button.observe(lambda change: show(change["new"]), names="value")
    display(widgets.HBox([button, note], layout=widgets.Layout(align_items="center", width="100%")))
    return button


class LiveCurves:
    """One figure, loss and accuracy against epoch, redrawn in place after every epoch through an
    IPython display handle; the committed run of the same name, if any, is drawn dashed for reference.

    The figure takes the notebook style's width and resolution (``course_utils.style``: the presenter's under
    ``make present``); ``title`` (the run, in words) is the figure's title, the panels are titled "loss" and
    "accuracy", and one legend below both panels names the curves, so it never covers them."""

    def __init__(self, title: str, epochs: int | None, curve_images: int, reference: list[dict] | None) -> None:
        import matplotlib as mpl
        from IPython.display import display

        self.title, self.epochs, self.reference = title, epochs, reference or []
        self.test_label = f"test (first {curve_images:,} images)"
        width, height = mpl.rcParams["figure.figsize"]
        self.dpi = mpl.rcParams["savefig.dpi"] if mpl.rcParams["savefig.dpi"] != "figure" else mpl.rcParams["figure.dpi"]
        self.figure = Figure(figsize=(width, height), layout="constrained")
        self._set_title(title)
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self.legend = None
        self.handle = display(self._image(), display_id=True)

    def _set_title(self, title: str) -> None:
        """The figure's title, wrapped onto more lines if one line is wider than the figure."""
        import textwrap

        text = self.figure.suptitle(title)
        width = text.get_window_extent(FigureCanvasAgg(self.figure).get_renderer()).width
        room = 0.95 * self.figure.bbox.width
        if width > room:
            text.set_text("\n".join(textwrap.wrap(title, max(10, int(len(title) * room / width)))))

    def _image(self) -> Any:
        from IPython.display import Image

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.dpi)
        return Image(data=buffer.getvalue(), format="png")

    def update(self, history: list[dict[str, float]]) -> None:
        from matplotlib.ticker import MaxNLocator

        for ax in (self.ax_loss, self.ax_acc):
            ax.clear()
        for rows, style, train_label, test_label in (
                (history, "-", "train", self.test_label),
                (self.reference, "--", "train (committed run)", "test (committed run)")):
            if not rows:
                continue
            epochs = [r["epoch"] for r in rows]
            test_acc = [100 * r.get("curve_test_accuracy", r.get("test_accuracy", math.nan)) for r in rows]
            self.ax_loss.plot(epochs, [r["train_loss"] for r in rows], style, color="tab:blue", label=train_label)
            self.ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in rows], style, color="tab:blue",
                             label=train_label)
            self.ax_acc.plot(epochs, test_acc, style, color="tab:orange", label=test_label)
        self.ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
        self.ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(0, 100))
        last = self.epochs or max((r["epoch"] for r in history), default=1)
        for ax in (self.ax_loss, self.ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(0.5, max(last, 1) + 0.5)
        if self.legend is not None:
            self.legend.remove()
        handles, labels = self.ax_acc.get_legend_handles_labels()
        self.legend = self.figure.legend(handles, labels, loc="outside lower center", ncols=2)
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
    """The explorer's table: one row per operator (by label) with its formula, params, MACs, FLOPs,
    the MACs ratio to the first row, and its peak live activations for one image in float32 (KiB; MCUNet's
    accounting, ``course_utils.memory``)."""
    costs = operator_costs(shape, operators)
    table = costs_table({OPERATORS[name].label: cost for name, cost in costs.items()})
    table.insert(0, "MACs per position", [OPERATORS[name].formula for name in costs])
    table["peak activations (KiB)"] = [4 * OPERATORS[name].activations(shape) / 1024 for name in costs]
    return table


EXPLORER_DPI = 90  # the cost explorer's figure: 12 in wide, 1080 px, as wide as a projected notebook's outputs
# The operators' own knobs, by slider name, as the explorer's title writes them (its second line).
OPERATOR_KNOBS = {"d": "D", "groups": "G", "t": "t"}

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
        self.live = LiveFigure(figure, dpi=EXPLORER_DPI, animated=animated)
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
                                       style={"description_width": "initial"},  # the label's own width
                                       layout=widgets.Layout(width="98%"))

    def _title_lines(self) -> int:
        """The title's lines: the layer's shape, then the operators' own knobs (D, G, t) if it has any."""
        return 1 + any(knob in self.sliders for knob in OPERATOR_KNOBS)

    @staticmethod
    def _text_px(size_key: str) -> float:
        """The height in pixels of a line of text of the style's size ``size_key`` (rcParams), at ``DPI``."""
        import matplotlib as mpl
        from matplotlib.font_manager import FontProperties

        return FontProperties(size=mpl.rcParams[size_key]).get_size_in_points() * EXPLORER_DPI / 72

    def _margins_px(self) -> tuple[float, float, float]:
        """(top, bottom, pad) in pixels, from the style's font sizes: room for the title's lines and the panel
        titles on top, for tick labels and axis labels below (make present's style is larger)."""
        pad = 0.6 * self._text_px("ytick.labelsize")
        top = (0.6 * pad + 1.3 * self._title_lines() * self._text_px("figure.titlesize")
               + 1.3 * self._text_px("axes.titlesize") + pad)
        bottom = 1.3 * self._text_px("xtick.labelsize") + 1.3 * self._text_px("axes.labelsize") + 2 * pad
        return top, bottom, pad

    def _make_figure(self) -> Figure:
        # One bar row per operator, 1.35 lines of tick-label text tall, plus the margins: short enough that the
        # figure and its sliders fit a 1280×720 projector screen under make present, with or without F8.
        top, bottom, pad = self._margins_px()
        height = (top + bottom + 1.35 * self._text_px("ytick.labelsize") * len(self.operators)) / EXPLORER_DPI
        # A fixed layout (no layout engine): matplotlib then draws the figure once per PNG, not twice.
        figure = Figure(figsize=(12, height), dpi=EXPLORER_DPI, layout="none")
        self.title = figure.suptitle("", y=1 - 0.6 * pad / (height * EXPLORER_DPI), va="top")
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
        # The operators' names, measured, set the left margin (with a fixed layout nothing else keeps them in).
        renderer = FigureCanvasAgg(figure).get_renderer()
        names = max(label.get_window_extent(renderer).width for label in self.ax_macs.get_yticklabels())
        width_px, height_px = figure.bbox.width, figure.bbox.height
        figure.subplots_adjust(left=(names + 2 * pad) / width_px, right=1 - 3 * pad / width_px,
                               top=1 - top / height_px, bottom=bottom / height_px, wspace=0.2)
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
        shape = [f"(k, l) = ({s.k}, {s.l})", f"C_in = {s.c_in}", f"C_out = {s.c_out}", f"H×W = {s.h}×{s.w}"]
        knobs = [f"{label} = {getattr(s, knob)}" for knob, label in OPERATOR_KNOBS.items() if knob in self.sliders]
        self.title.set_text("\n".join(",  ".join(line) for line in (shape, knobs) if line))
        self.live.refresh(full=axes_changed)  # new axis limits: redraw the axes too

    def _table_html(self) -> str:
        table = operator_table(self.shape, self.operators)
        return table.to_html(float_format=lambda v: f"{v:.3f}", formatters={
            "params": "{:,}".format, "MACs": "{:,}".format, "FLOPs": "{:,}".format,
            "peak activations (KiB)": "{:,.0f}".format})

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
