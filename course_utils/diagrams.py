"""Block anatomy diagrams: the slides' pictures of Fire, depthwise-separable, inverted residual,
shift + 1×1 and the Shift Attention Layer, drawn from a module's own shapes.

Every number on a diagram is measured, not typed in: one forward pass with hooks gives each
stage's tensor shape (C × H × W), and ``course_utils.cost.count`` of each stage's submodule gives its
MACs (per image). Boxes stand for tensors; a box's height is proportional to √C (the square root
keeps a 16-map box visible next to a 576-map one), which each figure says in its footer.

Two ways to use each block:

* ``draw_fire(fig_or_ax, module, input_hw)`` (and ``draw_depthwise_separable``, ...) draws one
  static diagram of a module you built;
* ``fire_anatomy(c_in=96, squeeze=16, ...)`` (and ``depthwise_separable_anatomy``, ...) returns a
  widget with sliders for the block's knobs; every slider move rebuilds the module and redraws the
  same figure in place (``course_utils.widgets.LiveFigure``).

``attention_saturation(trained_sal_network, seed=...)`` shows a trained SAL's attention next to the
attention it was initialised with, under a slider for the initial temperature T₀.

Each block diagram is drawn in ONE axes whose data units are inches (x from 0 to the axes' width, y
from 0 to its height), so the layout can reserve room for text whose size is given in points.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib as mpl
import matplotlib.ticker
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text
from torch import nn

from . import checks
from .cost import count, human
from .layers import DepthwiseSeparableConv2d, Fire, InvertedResidual, ShiftAttentionConv2d, ShiftConv2d
from .widgets import LiveFigure

BOX_WIDTH = 0.45       # inches: every tensor box has this width; its height shows the channels
GAP = 0.12             # inches between a text and what it labels
SCALE_NOTE = "box height ∝ √channels"
COLORS = {"input": "#b0b0b0", "squeeze": "#f4a261", "expand1x1": "#4c9be8", "expand3x3": "#5cb85c",
          "depthwise": "#9b7fd1", "pointwise": "#e76f51", "expand": "#4c9be8", "project": "#e76f51",
          "shift": "#f2cc60"}


# ---------------------------------------------------------------------------------------------
# Measuring a module: shapes by hooks, MACs by count()
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One operation of a block: the submodule's name, its input and output shape (C, H, W), its MACs."""

    path: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    macs: int


def measure_stages(module: nn.Module, in_channels: int, input_hw: tuple[int, int],
                   paths: Sequence[str]) -> dict[str, Stage]:
    """Measure the named submodules of ``module`` on an input of shape (1, C_in, H, W).

    ``count(module, ...)`` runs the block once, with a forward hook on each named submodule that
    records its input and output shape; a stage's MACs are then ``count(submodule, (1, *its input
    shape))``. The path "" is the whole block (its MACs are the block's total).
    """
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook_for(path: str) -> Callable:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            shapes[path] = (tuple(inputs[0].shape[1:]), tuple(output.shape[1:]))
        return hook

    handles = [module.get_submodule(path).register_forward_hook(hook_for(path)) for path in paths]
    try:
        total = count(module, (1, in_channels, *input_hw))
    finally:
        for handle in handles:
            handle.remove()
    stages = {}
    for path in paths:
        in_shape, out_shape = shapes[path]
        macs = total.macs if path == "" else count(module.get_submodule(path), (1, *in_shape)).macs
        stages[path] = Stage(path, in_shape, out_shape, macs)
    return stages


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------
def _check_module(module: object, kind: type) -> None:
    if not isinstance(module, kind):
        raise ValueError(f"module={type(module).__name__} must be a {kind.__name__}")


def _check_input_hw(input_hw: object) -> tuple[int, int]:
    if (not isinstance(input_hw, (tuple, list)) or len(input_hw) != 2
            or not all(checks.is_int(v) and v >= 1 for v in input_hw)):
        raise ValueError(f"input_hw={input_hw!r} must be a pair (H, W) of positive integers, e.g. (32, 32)")
    return int(input_hw[0]), int(input_hw[1])


def _check_choice(name: str, value: object, options: Sequence) -> None:
    if value not in list(options):
        raise ValueError(f"{name}={value!r} must be one of the slider values {list(options)}")


# ---------------------------------------------------------------------------------------------
# Drawing primitives (the canvas, a box, an arrow, a label)
# ---------------------------------------------------------------------------------------------
@dataclass
class Canvas:
    """An axes whose data units are inches: (0, 0) bottom left, (width, height) top right.
    ``line`` is the height of one line of body text, ``title_line`` of the title, in inches."""

    ax: Axes
    width: float
    height: float
    line: float
    title_line: float


def _points(size: object) -> float:
    """A font size from rcParams (a number or a name such as 'large') in points."""
    return FontProperties(size=size).get_size_in_points()


def make_canvas(fig_or_ax: Figure | Axes) -> Canvas:
    """A Figure is cleared and gets one axes covering it; an Axes is cleared and used as it is
    (give it a fixed position: a layout engine that later resizes it would squeeze the drawing)."""
    if isinstance(fig_or_ax, Figure):
        figure = fig_or_ax
        figure.clear()
        figure.set_layout_engine("none")  # the axes covers the figure; no layout engine may move it
        ax = figure.add_axes((0, 0, 1, 1))
    elif isinstance(fig_or_ax, Axes):
        ax = fig_or_ax
        ax.clear()
        figure = ax.get_figure()
    else:
        raise ValueError(f"fig_or_ax={type(fig_or_ax).__name__} must be a matplotlib Figure or Axes")
    box = ax.get_position()
    fig_w, fig_h = figure.get_size_inches()
    width, height = box.width * fig_w, box.height * fig_h
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    line = 1.3 * _points(mpl.rcParams["font.size"]) / 72
    title_line = 1.3 * _points(mpl.rcParams["axes.titlesize"]) / 72
    return Canvas(ax, width, height, line, title_line)


def box_height(channels: int, scale: float) -> float:
    """Height of a tensor box in inches: scale · √channels."""
    return scale * math.sqrt(channels)


def draw_box(canvas: Canvas, x: float, y: float, height: float, color: str,
             width: float = BOX_WIDTH) -> Rectangle:
    """A tensor as a rectangle centred at (x, y)."""
    rect = Rectangle((x - width / 2, y - height / 2), width, height, facecolor=color,
                     edgecolor="black", linewidth=1.2, zorder=2)
    canvas.ax.add_patch(rect)
    return rect


def draw_arrow(canvas: Canvas, start: tuple[float, float], end: tuple[float, float],
               color: str = "black", connection: str = "arc3") -> FancyArrowPatch:
    """An arrow from start to end (data flows along it)."""
    arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18, linewidth=1.8,
                            color=color, connectionstyle=connection, shrinkA=2, shrinkB=2, zorder=1)
    canvas.ax.add_patch(arrow)
    return arrow


def draw_label(canvas: Canvas, x: float, y: float, text: str, *, va: str = "center", ha: str = "center",
               gid: str | None = None, color: str = "black", size: object | None = None,
               weight: str = "normal") -> Text:
    """A text at (x, y) on a white background (so that an arrow under it stays readable).
    ``gid`` names it for the tests, e.g. "macs:squeeze"."""
    label = canvas.ax.text(x, y, text, va=va, ha=ha, color=color, weight=weight, zorder=3,
                           fontsize=mpl.rcParams["font.size"] if size is None else size,
                           bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85})
    if gid is not None:
        label.set_gid(gid)
    return label


def shape_text(shape: Sequence[int]) -> str:
    """(C, H, W) → 'C×H×W'."""
    return "×".join(str(v) for v in shape)


def macs_text(macs: int) -> str:
    """MACs in short form: 1_769_472 → '1.77 M MACs'."""
    return f"{human(macs)} MACs"


def draw_title(canvas: Canvas, text: str) -> Text:
    """The diagram's title, centred at the top."""
    return draw_label(canvas, canvas.width / 2, canvas.height - GAP, text, va="top",
                      size=mpl.rcParams["axes.titlesize"], weight="bold", gid="title")


def draw_footer(canvas: Canvas, total_macs: int, note: str = SCALE_NOTE) -> Text:
    """Total MACs of the block per image (exact, with thousands separators) and the scale note."""
    return draw_label(canvas, canvas.width / 2, GAP, f"total {total_macs:,} MACs per image · {note}",
                      va="bottom", gid="total")


@dataclass
class Rows:
    """Vertical layout of a block diagram, in inches: the boxes live between ``low`` and ``high``
    around the centre line ``middle``; shape labels go on the row ``shapes`` under them, and the
    row ``top`` above them is free for a residual path or an extra label."""

    shapes: float
    low: float
    high: float
    top: float

    @property
    def middle(self) -> float:
        return (self.low + self.high) / 2


def block_rows(canvas: Canvas) -> Rows:
    """Title, a free top row, the boxes, the shape row, the footer: top to bottom."""
    footer_top = GAP + canvas.line
    shapes = footer_top + GAP + canvas.line / 2
    low = shapes + canvas.line / 2 + GAP
    top = canvas.height - GAP - canvas.title_line - GAP - canvas.line / 2
    high = top - canvas.line / 2 - GAP
    return Rows(shapes=shapes, low=low, high=high, top=top)


def column_centres(canvas: Canvas, columns: int) -> list[float]:
    """x of each of ``columns`` evenly spaced columns."""
    width = canvas.width / columns
    return [width * (i + 0.5) for i in range(columns)]


def draw_op(canvas: Canvas, x: float, y: float, stage: Stage, lines: Sequence[str], *,
            above: bool = True) -> None:
    """An operation's name (one text per line) and its MACs, all stacked above height y
    (MACs nearest to y) or all below it (MACs last): for an arrow that is not horizontal."""
    names = [(line, f"op:{stage.path}") for line in lines]
    macs = (macs_text(stage.macs), f"macs:{stage.path}")
    if above:
        for i, (text, gid) in enumerate([macs] + names[::-1]):
            draw_label(canvas, x, y + GAP + i * canvas.line, text, va="bottom", gid=gid)
    else:
        for i, (text, gid) in enumerate(names + [macs]):
            draw_label(canvas, x, y - GAP - i * canvas.line, text, va="top", gid=gid)


def draw_op_around(canvas: Canvas, x: float, y: float, stage: Stage, lines: Sequence[str],
                   last_line_color: str | None = None) -> None:
    """An operation on a horizontal arrow at height y: its name above the arrow, its MACs below."""
    for i, line in enumerate(lines[::-1]):
        color = last_line_color if (i == 0 and last_line_color) else "black"
        draw_label(canvas, x, y + GAP + i * canvas.line, line, va="bottom", gid=f"op:{stage.path}", color=color)
    draw_label(canvas, x, y - GAP, macs_text(stage.macs), va="top", gid=f"macs:{stage.path}")


def fit_scale(rows: Rows, channels: Sequence[int]) -> float:
    """Largest √-scale at which the widest tensor fits between rows.low and rows.high."""
    return (rows.high - rows.low) / math.sqrt(max(channels))


@dataclass(frozen=True)
class TensorBox:
    """A tensor to draw: its shape (C, H, W) and its box's colour."""

    shape: tuple[int, int, int]
    color: str


def draw_chain(canvas: Canvas, tensors: Sequence[TensorBox],
               ops: Sequence[tuple[Stage, Sequence[str], str | None]]) -> tuple[Rows, list[float], list[Rectangle]]:
    """A linear block: boxes left to right on the centre line, an arrow between neighbours with its
    operation (above; each op is (stage, lines of its name, colour of the last line or None)) and
    MACs (below), each box's shape on the shape row. Returns the rows, the columns' x and the boxes."""
    rows = block_rows(canvas)
    xs = column_centres(canvas, len(tensors))
    scale = fit_scale(rows, [t.shape[0] for t in tensors])
    boxes = []
    for i, (x, tensor) in enumerate(zip(xs, tensors)):
        boxes.append(draw_box(canvas, x, rows.middle, box_height(tensor.shape[0], scale), tensor.color))
        draw_label(canvas, x, rows.shapes, shape_text(tensor.shape), gid=f"shape:{i}")
    for i, (stage, lines, highlight) in enumerate(ops):
        left, right = xs[i] + BOX_WIDTH / 2, xs[i + 1] - BOX_WIDTH / 2
        draw_arrow(canvas, (left, rows.middle), (right, rows.middle))
        draw_op_around(canvas, (left + right) / 2, rows.middle, stage, lines, last_line_color=highlight)
    return rows, xs, boxes


def kernel_text(conv: nn.Conv2d) -> str:
    """'3×3' for a conv's kernel."""
    return "×".join(str(v) for v in conv.kernel_size)


# ---------------------------------------------------------------------------------------------
# Fire
# ---------------------------------------------------------------------------------------------
def draw_fire(fig_or_ax: Figure | Axes, module: Fire, input_hw: tuple[int, int]) -> Canvas:
    """SqueezeNet's Fire module: squeeze 1×1 → parallel expand 1×1 and expand k×k → concat.

    MACs = H·W·(C_in·s + s·e1 + k²·s·e3); biases and ReLUs are not MACs.
    """
    _check_module(module, Fire)
    input_hw = _check_input_hw(input_hw)
    canvas = make_canvas(fig_or_ax)
    c_in = module.squeeze.in_channels
    stages = measure_stages(module, c_in, input_hw, ["squeeze", "expand1x1", "expand3x3", ""])
    squeeze, e1, e3, whole = stages["squeeze"], stages["expand1x1"], stages["expand3x3"], stages[""]
    rows = block_rows(canvas)
    xs = column_centres(canvas, 4)
    # The expand column holds two boxes, each in one half of the box area.
    half = (rows.high - rows.low) / 2
    offset = half / 2 + GAP / 2
    scale = min(fit_scale(rows, [c_in, squeeze.out_shape[0], whole.out_shape[0]]),
                (half - GAP) / math.sqrt(max(e1.out_shape[0], e3.out_shape[0])))
    mid = rows.middle

    draw_box(canvas, xs[0], mid, box_height(c_in, scale), COLORS["input"])
    draw_box(canvas, xs[1], mid, box_height(squeeze.out_shape[0], scale), COLORS["squeeze"])
    y1, y3 = mid + offset, mid - offset
    h1, h3 = box_height(e1.out_shape[0], scale), box_height(e3.out_shape[0], scale)
    draw_box(canvas, xs[2], y1, h1, COLORS["expand1x1"])
    draw_box(canvas, xs[2], y3, h3, COLORS["expand3x3"])
    # The concatenation: one box, its two parts coloured like the two expands.
    h_out = box_height(whole.out_shape[0], scale)
    share1 = e1.out_shape[0] / whole.out_shape[0]
    bottom = mid - h_out / 2
    draw_box(canvas, xs[3], bottom + h_out * (1 - share1 / 2), h_out * share1, COLORS["expand1x1"])
    draw_box(canvas, xs[3], bottom + h_out * (1 - share1) / 2, h_out * (1 - share1), COLORS["expand3x3"])

    # Arrows and operations.
    edge = BOX_WIDTH / 2
    draw_arrow(canvas, (xs[0] + edge, mid), (xs[1] - edge, mid))
    draw_op_around(canvas, (xs[0] + xs[1]) / 2, mid, squeeze, [f"squeeze {kernel_text(module.squeeze)}"])
    draw_arrow(canvas, (xs[1] + edge, mid), (xs[2] - edge, y1))
    draw_arrow(canvas, (xs[1] + edge, mid), (xs[2] - edge, y3))
    gap_x = (xs[1] + xs[2]) / 2
    draw_op(canvas, gap_x, y1, e1, [f"expand {kernel_text(module.expand1x1)}"], above=True)
    draw_op(canvas, gap_x, y3, e3, [f"expand {kernel_text(module.expand3x3)}"], above=False)
    draw_arrow(canvas, (xs[2] + edge, y1), (xs[3] - edge, bottom + h_out * (1 - share1 / 2)))
    draw_arrow(canvas, (xs[2] + edge, y3), (xs[3] - edge, bottom + h_out * (1 - share1) / 2))
    draw_label(canvas, (xs[2] + xs[3]) / 2, mid, "concat", gid="op:concat")

    # Shapes: e1's on the top row (above its branch), everything else on the shape row.
    draw_label(canvas, xs[0], rows.shapes, shape_text((c_in, *input_hw)), gid="shape:input")
    draw_label(canvas, xs[1], rows.shapes, shape_text(squeeze.out_shape), gid="shape:squeeze")
    draw_label(canvas, xs[2], rows.top, shape_text(e1.out_shape), gid="shape:expand1x1")
    draw_label(canvas, xs[2], rows.shapes, shape_text(e3.out_shape), gid="shape:expand3x3")
    draw_label(canvas, xs[3], rows.shapes, shape_text(whole.out_shape), gid="shape:output")
    draw_title(canvas, f"Fire: squeeze {c_in} → {squeeze.out_shape[0]} maps, "
                       f"expand to {e1.out_shape[0]} + {e3.out_shape[0]}")
    draw_footer(canvas, whole.macs)
    return canvas


# ---------------------------------------------------------------------------------------------
# Depthwise-separable
# ---------------------------------------------------------------------------------------------
def draw_depthwise_separable(fig_or_ax: Figure | Axes, module: DepthwiseSeparableConv2d,
                             input_hw: tuple[int, int]) -> Canvas:
    """MobileNetV1's block: k×k depthwise (D filters per input map, stride s) → 1×1 pointwise.

    MACs = H'·W'·(k²·C_in·D + D·C_in·C_out)
    """
    _check_module(module, DepthwiseSeparableConv2d)
    input_hw = _check_input_hw(input_hw)
    canvas = make_canvas(fig_or_ax)
    dw = module.depthwise
    c_in = dw.in_channels
    stages = measure_stages(module, c_in, input_hw, ["depthwise", "pointwise", ""])
    depth_multiplier = dw.out_channels // c_in
    tensors = [TensorBox((c_in, *input_hw), COLORS["input"]),
               TensorBox(stages["depthwise"].out_shape, COLORS["depthwise"]),
               TensorBox(stages["pointwise"].out_shape, COLORS["pointwise"])]
    ops = [(stages["depthwise"], [f"{kernel_text(dw)} depthwise", f"D = {depth_multiplier}, stride {dw.stride[0]}",
                                  "BN, ReLU"], None),
           (stages["pointwise"], ["1×1 pointwise", "BN, ReLU"], None)]
    draw_chain(canvas, tensors, ops)
    draw_label(canvas, canvas.width / 2, block_rows(canvas).top,
               "depthwise: each map filtered alone · pointwise: mixes the maps", gid="note")
    draw_title(canvas, f"Depthwise-separable: {c_in} → {stages['pointwise'].out_shape[0]} maps")
    draw_footer(canvas, stages[""].macs)
    return canvas


# ---------------------------------------------------------------------------------------------
# Inverted residual
# ---------------------------------------------------------------------------------------------
def inverted_residual_paths(module: InvertedResidual) -> dict[str, str]:
    """Names of the convolutions inside ``module.conv``: 'expand' (absent when t = 1), 'depthwise'
    and 'project', in the order they run."""
    convs = [name for name, sub in module.conv.named_modules() if isinstance(sub, nn.Conv2d)]
    if len(convs) not in (2, 3):
        raise ValueError(f"module.conv holds {len(convs)} convolutions; an inverted residual has 2 or 3")
    kinds = ["expand", "depthwise", "project"][3 - len(convs):]
    return {kind: f"conv.{name}" for kind, name in zip(kinds, convs)}


def draw_inverted_residual(fig_or_ax: Figure | Axes, module: InvertedResidual,
                           input_hw: tuple[int, int]) -> Canvas:
    """MobileNetV2's block: 1×1 expand ×t → k×k depthwise (stride s) → 1×1 linear projection,
    plus the input when stride = 1 and C_in = C_out (the residual joins the two narrow ends).

    MACs = H·W·C_in·tC_in + H'·W'·k²·tC_in + H'·W'·tC_in·C_out
    """
    _check_module(module, InvertedResidual)
    input_hw = _check_input_hw(input_hw)
    canvas = make_canvas(fig_or_ax)
    paths = inverted_residual_paths(module)
    first = module.get_submodule(next(iter(paths.values())))
    c_in = first.in_channels
    stages = measure_stages(module, c_in, input_hw, [*paths.values(), ""])
    dw = module.get_submodule(paths["depthwise"])
    tensors = [TensorBox((c_in, *input_hw), COLORS["input"])]
    ops = []
    if "expand" in paths:
        expand = stages[paths["expand"]]
        tensors.append(TensorBox(expand.out_shape, COLORS["expand"]))
        ops.append((expand, [f"1×1 expand ×{expand.out_shape[0] / c_in:g}", "BN, ReLU6"], None))
    depthwise = stages[paths["depthwise"]]
    tensors.append(TensorBox(depthwise.out_shape, COLORS["depthwise"]))
    ops.append((depthwise, [f"{kernel_text(dw)} depthwise", f"stride {dw.stride[0]}", "BN, ReLU6"], None))
    project = stages[paths["project"]]
    tensors.append(TensorBox(project.out_shape, COLORS["project"]))
    ops.append((project, ["1×1 project", "BN, no ReLU"], "tab:red"))
    rows, xs, boxes = draw_chain(canvas, tensors, ops)

    c_out = project.out_shape[0]
    stride = dw.stride[0]
    if project.out_shape == (c_in, *input_hw):       # stride 1 and C_in = C_out
        first_box, last_box = boxes[0], boxes[-1]
        start = (xs[0], first_box.get_y() + first_box.get_height())
        end = (xs[-1], last_box.get_y() + last_box.get_height())
        canvas.ax.plot([start[0], start[0], end[0]], [start[1], rows.top, rows.top], color="tab:green",
                       linewidth=2.2, zorder=1)
        draw_arrow(canvas, (end[0], rows.top), end, color="tab:green")
        draw_label(canvas, (xs[0] + xs[-1]) / 2, rows.top, "+ input (residual)", color="tab:green",
                   gid="residual")
    else:
        reason = f"stride {stride}" if stride != 1 else f"C_in = {c_in} ≠ C_out = {c_out}"
        draw_label(canvas, (xs[0] + xs[-1]) / 2, rows.top, f"no residual: {reason}", color="tab:gray",
                   gid="residual")
    draw_title(canvas, f"Inverted residual: {c_in} → {tensors[-2].shape[0]} → {c_out} maps")
    draw_footer(canvas, stages[""].macs)
    return canvas


# ---------------------------------------------------------------------------------------------
# Shift + 1×1
# ---------------------------------------------------------------------------------------------
def tap_colors(kernel_size: int) -> list[str]:
    """One colour per tap of a k×k neighbourhood (row-major): hues evenly spaced around the colour
    wheel; the centre tap (no move) is light grey."""
    taps = kernel_size * kernel_size
    centre = taps // 2
    moved = [tap for tap in range(taps) if tap != centre]
    colors = ["#e0e0e0"] * taps
    for i, tap in enumerate(moved):
        colors[tap] = mpl.colors.to_hex(mpl.colormaps["hsv"](i / len(moved)))
    return colors


def draw_offsets(canvas: Canvas, x: float, y_top: float, size: float, kernel_size: int) -> None:
    """A k×k grid, centre (x, top y_top), each tap in its group's colour, an arrow from the centre
    to each tap: the offset its group of channels is moved by."""
    cell = size / kernel_size
    colors = tap_colors(kernel_size)
    r = kernel_size // 2
    left = x - size / 2
    for tap in range(kernel_size * kernel_size):
        row, col = divmod(tap, kernel_size)
        canvas.ax.add_patch(Rectangle((left + col * cell, y_top - (row + 1) * cell), cell, cell,
                                      facecolor=colors[tap], edgecolor="white", linewidth=1, zorder=2))
    cy = y_top - (r + 0.5) * cell
    for tap in range(kernel_size * kernel_size):
        row, col = divmod(tap, kernel_size)
        if (row, col) != (r, r):
            end = (left + (col + 0.5) * cell, y_top - (row + 0.5) * cell)
            canvas.ax.add_patch(FancyArrowPatch((x, cy), end, arrowstyle="-|>", mutation_scale=8,
                                                linewidth=1, color="black", shrinkA=0, shrinkB=1, zorder=3))


def draw_shift_conv(fig_or_ax: Figure | Axes, module: ShiftConv2d, input_hw: tuple[int, int]) -> Canvas:
    """Shift + 1×1 (Wu et al. 2017): each group of C_in/k² channels moves by one offset of the k×k
    neighbourhood (0 MACs), then a 1×1 convolution mixes the channels.

    MACs = H'·W'·C_in·C_out, whatever k is.
    """
    _check_module(module, ShiftConv2d)
    input_hw = _check_input_hw(input_hw)
    canvas = make_canvas(fig_or_ax)
    c_in = module.pointwise.in_channels
    stages = measure_stages(module, c_in, input_hw, ["shift", "pointwise", ""])
    tensors = [TensorBox((c_in, *input_hw), COLORS["input"]),
               TensorBox(stages["shift"].out_shape, COLORS["shift"]),
               TensorBox(stages["pointwise"].out_shape, COLORS["pointwise"])]
    k = module.shift.kernel_size
    shift_lines = [f"shift: {k * k} groups", "one offset each"] if k > 1 else ["no shift (k = 1)", "identity"]
    ops = [(stages["shift"], shift_lines, None),
           (stages["pointwise"], ["1×1 conv", f"stride {module.pointwise.stride[0]}"], None)]
    rows, xs, boxes = draw_chain(canvas, tensors, ops)

    # Colour the shifted tensor by group: channel 0 at the top of the box.
    shifted = boxes[1]
    colors = tap_colors(k)
    top, height = shifted.get_y() + shifted.get_height(), shifted.get_height()
    for start, end, dy, dx in module.shift.groups:
        tap = (dy + k // 2) * k + (dx + k // 2)
        band_top = top - height * start / c_in
        canvas.ax.add_patch(Rectangle((shifted.get_x(), band_top - height * (end - start) / c_in), BOX_WIDTH,
                                      height * (end - start) / c_in, facecolor=colors[tap],
                                      edgecolor="none", zorder=2))
    canvas.ax.add_patch(Rectangle((shifted.get_x(), shifted.get_y()), BOX_WIDTH, height, facecolor="none",
                                  edgecolor="black", linewidth=1.2, zorder=3))
    # The offsets, under the shift's MACs.
    size = min(0.9 * (xs[1] - xs[0] - BOX_WIDTH) / 2, rows.middle - GAP - canvas.line - GAP - rows.low)
    if size > 0.3 and k > 1:
        draw_offsets(canvas, (xs[0] + xs[1]) / 2, rows.middle - 2 * GAP - canvas.line, size, k)
    draw_title(canvas, f"Shift + 1×1: {c_in} → {stages['pointwise'].out_shape[0]} maps, {k}×{k} offsets")
    draw_footer(canvas, stages[""].macs)
    return canvas


# ---------------------------------------------------------------------------------------------
# Shift Attention Layer: Hacene et al. 2019, Figure 1
# ---------------------------------------------------------------------------------------------
def draw_heatmap(canvas: Canvas, x: float, y: float, size: float, values: torch.Tensor, cmap: str,
                 vmin: float, vmax: float) -> None:
    """A k×k array of values as a square of side ``size`` with top-left corner (x, y)."""
    canvas.ax.imshow(values.numpy(), cmap=cmap, vmin=vmin, vmax=vmax, extent=(x, x + size, y - size, y),
                     interpolation="nearest", zorder=2)
    canvas.ax.add_patch(Rectangle((x, y - size), size, size, facecolor="none", edgecolor="black",
                                  linewidth=1, zorder=3))


def draw_sal(fig_or_ax: Figure | Axes, module: ShiftAttentionConv2d, input_hw: tuple[int, int],
             out_slices: int = 2, in_slices: int = 3) -> Canvas:
    """The three panels of the SAL paper's Figure 1, for the first ``out_slices`` × ``in_slices``
    kernel slices of ``module``:

    (1) the k×k kernel slices W[d, c] (what a convolution uses);
    (2) the attention A[d, c, :] = softmax(T·a/std(a)) over the k² taps (as T grows, one tap wins),
        each slice's largest entry under it, and the fraction of all the layer's slices that are one-hot
        (largest entry ≥ 0.99);
    (3) the result: one tap kept per slice, i.e. input c is shifted by that tap's offset (dy, dx)
        and multiplied by W[d, c, t]: a shift followed by a 1×1 convolution. The arrow goes from
        the output position (centre) to the input position it reads, out[y, x] = in[y + dy, x + dx].
    Training costs a dense k×k conv; after hardening, a shift + 1×1 conv (C_in·C_out·H'·W' MACs).
    """
    _check_module(module, ShiftAttentionConv2d)
    input_hw = _check_input_hw(input_hw)
    checks.positive_int("out_slices", out_slices)
    checks.positive_int("in_slices", in_slices)
    canvas = make_canvas(fig_or_ax)
    c_in, c_out, k = module.in_channels, module.out_channels, module.kernel_size
    rows_shown, cols_shown = min(out_slices, c_out), min(in_slices, c_in)
    dense = measure_stages(module, c_in, input_hw, [""])[""]
    with torch.random.fork_rng(devices=[]):  # its random weights must not move the caller's random stream
        pointwise = nn.Conv2d(c_in, c_out, 1, stride=module.stride, bias=module.bias is not None)
    shift_macs = count(pointwise, (1, c_in, *input_hw)).macs
    with torch.no_grad():
        weight = module.weight.detach()[:rows_shown, :cols_shown]
        attention = module.attention_map().detach()
        taps = module.chosen_taps()
    attention = attention.expand(c_out, -1, -1)[:rows_shown, :cols_shown]
    taps = taps.expand(c_out, -1)[:rows_shown, :cols_shown]
    w_max = float(weight.abs().max()) or 1.0

    line = canvas.line
    panel_w = canvas.width / 3
    row_label_w = 2.2 * line                      # room for "d=0"
    top = canvas.height - GAP - canvas.title_line - GAP
    footer_top = GAP + line
    captions_h = 2 * line                         # two caption lines under each panel
    fixed_h = 2 * line + GAP + rows_shown * (line + GAP) + GAP + captions_h
    cell = min((panel_w - row_label_w - GAP) / cols_shown - GAP, (top - footer_top - GAP - fixed_h) / rows_shown)
    # Centre the panels' content between the title and the footer, and each grid in its panel.
    spare = (top - footer_top - GAP) - (fixed_h + rows_shown * cell)
    heading_y = top - spare / 2 - line / 2
    columns_y = heading_y - line
    grid_top = columns_y - line / 2 - GAP
    grid_w = row_label_w + cols_shown * (cell + GAP) - GAP
    caption_y = grid_top - rows_shown * (cell + line + GAP) - GAP
    headings = ["(1) kernel W[d, c]", "(2) attention A[d, c, :]", "(3) one tap kept"]
    r = k // 2
    for p in range(3):
        left = p * panel_w + (panel_w - grid_w) / 2 + row_label_w
        draw_label(canvas, p * panel_w + panel_w / 2, heading_y, headings[p], weight="bold", gid=f"heading:{p}")
        for c in range(cols_shown):
            draw_label(canvas, left + c * (cell + GAP) + cell / 2, columns_y, f"c={c}", gid=f"col:{p}:{c}")
        for d in range(rows_shown):
            y = grid_top - d * (cell + line + GAP)
            draw_label(canvas, left - GAP, y - cell / 2, f"d={d}", ha="right", gid=f"row:{p}:{d}")
            for c in range(cols_shown):
                x = left + c * (cell + GAP)
                if p == 0:
                    draw_heatmap(canvas, x, y, cell, weight[d, c], "RdBu_r", -w_max, w_max)
                elif p == 1:
                    draw_heatmap(canvas, x, y, cell, attention[d, c].view(k, k), "Greys", 0.0, 1.0)
                    draw_label(canvas, x + cell / 2, y - cell - GAP / 2, f"{float(attention[d, c].max()):.2f}",
                               va="top", gid=f"peak:{d}:{c}")
                else:
                    tap = int(taps[d, c])
                    kept = torch.zeros(k * k)
                    kept[tap] = weight[d, c].flatten()[tap]
                    draw_heatmap(canvas, x, y, cell, kept.view(k, k), "RdBu_r", -w_max, w_max)
                    dy, dx = tap // k - r, tap % k - r
                    centre = (x + cell / 2, y - cell / 2)
                    end = (centre[0] + dx * cell / k, centre[1] - dy * cell / k)
                    if (dy, dx) != (0, 0):
                        canvas.ax.add_patch(FancyArrowPatch(centre, end, arrowstyle="-|>", mutation_scale=12,
                                                            linewidth=1.6, color="black", zorder=4))
                    draw_label(canvas, x + cell / 2, y - cell - GAP / 2, f"{dy},{dx}", va="top",
                               gid=f"offset:{d}:{c}", size="small")
    one_hot = module.one_hot_fraction()          # over every slice of the layer, not only those drawn
    captions = [("dense conv", macs_text(dense.macs), "macs:dense"),
                (f"softmax, T = {float(module.temperature):g}", f"{one_hot:.0%} one-hot", "one_hot"),
                ("shift + 1×1 conv", macs_text(shift_macs), "macs:shift")]
    for p, (first, second, gid) in enumerate(captions):
        x = p * panel_w + panel_w / 2
        draw_label(canvas, x, caption_y, first, va="top", gid=f"caption:{p}")
        draw_label(canvas, x, caption_y - line, second, va="top", gid=gid or f"caption2:{p}")
    draw_title(canvas, f"Shift attention: {c_in} → {c_out} maps, {k}×{k} kernel, {input_hw[0]}×{input_hw[1]}")
    draw_label(canvas, canvas.width / 2, GAP,
               f"per image: training {dense.macs:,} MACs → hardened {shift_macs:,} MACs", va="bottom", gid="total")
    return canvas


# ---------------------------------------------------------------------------------------------
# Interactive versions: sliders that rebuild the module and redraw the same figure
# ---------------------------------------------------------------------------------------------
class AnatomyWidget(widgets.VBox):
    """Sliders above a diagram; each move rebuilds the module and redraws the figure in place.

    ``sliders`` maps a knob name to its slider, ``live`` is the ``LiveFigure`` (its ``widget`` the
    image), ``module`` the module drawn last.
    """

    def __init__(self, build: Callable[..., nn.Module], draw: Callable[[Figure, nn.Module, tuple[int, int]], Canvas],
                 knobs: dict[str, tuple[str, Sequence, object]], size: int) -> None:
        self._build, self._draw, self.size = build, draw, checks.positive_int("size", size)
        for name, (_label, options, value) in knobs.items():
            _check_choice(name, value, options)
        self.sliders = {name: widgets.SelectionSlider(options=list(options), value=value, description=label,
                                                      continuous_update=True, style={"description_width": "initial"},
                                                      layout=widgets.Layout(width="98%"))
                        for name, (label, options, value) in knobs.items()}
        self.figure = Figure(figsize=mpl.rcParams["figure.figsize"], layout="none")
        self.module = self._rebuild()
        self.live = LiveFigure(self.figure, dpi=int(mpl.rcParams["figure.dpi"]))
        grid = widgets.GridBox(list(self.sliders.values()),
                               layout=widgets.Layout(grid_template_columns="repeat(3, 33%)"))
        super().__init__([grid, self.live.widget])
        for slider in self.sliders.values():
            slider.observe(lambda change: self.update(), names="value")

    def values(self) -> dict[str, object]:
        return {name: slider.value for name, slider in self.sliders.items()}

    def _rebuild(self) -> nn.Module:
        with torch.random.fork_rng(devices=[]):  # the same weights for the same knobs; the
            torch.manual_seed(0)                  # notebook's own random stream is left untouched
            module = self._build(**self.values())
        self._draw(self.figure, module, (self.size, self.size))
        return module

    def update(self) -> None:
        """Rebuild the module from the sliders and swap the new PNG into the image."""
        self.module = self._rebuild()
        self.live.refresh(full=True)


CHANNELS_16 = range(16, 257, 16)
CHANNELS_8 = range(8, 161, 8)


def fire_anatomy(c_in: int = 96, squeeze: int = 16, expand1x1: int = 64, expand3x3: int = 64,
                 size: int = 32) -> AnatomyWidget:
    """Fire diagram with sliders for C_in, squeeze s and expands e1, e3 (s ≤ 32 < 64 ≤ e1 + e3:
    the squeeze always has fewer maps than the expands together). ``size`` is H = W of the input."""
    knobs = {"c_in": ("C_in", CHANNELS_16, c_in), "squeeze": ("squeeze s", range(4, 33, 4), squeeze),
             "expand1x1": ("expand 1×1 e1", range(32, 257, 16), expand1x1),
             "expand3x3": ("expand 3×3 e3", range(32, 257, 16), expand3x3)}
    return AnatomyWidget(lambda c_in, squeeze, expand1x1, expand3x3: Fire(
        c_in, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3), draw_fire, knobs, size)


def depthwise_separable_anatomy(c_in: int = 32, c_out: int = 64, kernel_size: int = 3, stride: int = 1,
                                depth_multiplier: int = 1, size: int = 32) -> AnatomyWidget:
    """Depthwise-separable diagram with sliders for C_in, C_out, k, stride s and depth multiplier D."""
    knobs = {"c_in": ("C_in", CHANNELS_8, c_in), "c_out": ("C_out", CHANNELS_8, c_out),
             "kernel_size": ("kernel k", (1, 3, 5, 7), kernel_size), "stride": ("stride s", (1, 2), stride),
             "depth_multiplier": ("depth mult. D", range(1, 5), depth_multiplier)}
    return AnatomyWidget(lambda c_in, c_out, kernel_size, stride, depth_multiplier: DepthwiseSeparableConv2d(
        in_channels=c_in, out_channels=c_out, kernel_size=kernel_size, stride=stride,
        depth_multiplier=depth_multiplier), draw_depthwise_separable, knobs, size)


def inverted_residual_anatomy(c_in: int = 24, c_out: int = 24, stride: int = 1, expand_ratio: int = 6,
                              size: int = 32) -> AnatomyWidget:
    """Inverted residual diagram with sliders for C_in, C_out, stride s and expansion t; the
    residual arrow appears exactly when s = 1 and C_in = C_out."""
    knobs = {"c_in": ("C_in", CHANNELS_8, c_in), "c_out": ("C_out", CHANNELS_8, c_out),
             "stride": ("stride s", (1, 2), stride), "expand_ratio": ("expansion t", range(1, 7), expand_ratio)}
    return AnatomyWidget(lambda c_in, c_out, stride, expand_ratio: InvertedResidual(
        in_channels=c_in, out_channels=c_out, stride=stride, expand_ratio=expand_ratio),
        draw_inverted_residual, knobs, size)


def shift_conv_anatomy(c_in: int = 64, c_out: int = 64, kernel_size: int = 3, stride: int = 1,
                       size: int = 32) -> AnatomyWidget:
    """Shift + 1×1 diagram with sliders for C_in, C_out, the neighbourhood k and stride s."""
    knobs = {"c_in": ("C_in", CHANNELS_16, c_in), "c_out": ("C_out", CHANNELS_16, c_out),
             "kernel_size": ("kernel k", (1, 3, 5), kernel_size), "stride": ("stride s", (1, 2), stride)}
    return AnatomyWidget(lambda c_in, c_out, kernel_size, stride: ShiftConv2d(
        in_channels=c_in, out_channels=c_out, kernel_size=kernel_size, stride=stride), draw_shift_conv, knobs, size)


TEMPERATURES = (1, 2, 5, 10, 20, 35, 50, 70)


def sal_anatomy(c_in: int = 64, c_out: int = 64, kernel_size: int = 3, temperature: float = 5,
                size: int = 32) -> AnatomyWidget:
    """SAL's three panels with sliders for C_in, C_out, k and the temperature T of a freshly initialised
    layer: raise T and watch each attention slice become one-hot, and the fraction of one-hot slices
    grow (the kept tap, panel 3, is its argmax and does not move)."""
    knobs = {"c_in": ("C_in", CHANNELS_8, c_in), "c_out": ("C_out", CHANNELS_8, c_out),
             "kernel_size": ("kernel k", (3, 5, 7), kernel_size),
             "temperature": ("temperature T", TEMPERATURES, temperature)}
    return AnatomyWidget(lambda c_in, c_out, kernel_size, temperature: ShiftAttentionConv2d(
        in_channels=c_in, out_channels=c_out, kernel_size=kernel_size, temperature=float(temperature)),
        draw_sal, knobs, size)


# ---------------------------------------------------------------------------------------------
# Saturation at initialisation: a trained SAL's attention next to the one it started from
# ---------------------------------------------------------------------------------------------
INITIAL_TEMPERATURES = (1, 2, 5, 10, 20)
SATURATION_GRID = tuple(float(t) for t in np.geomspace(1, 70, 25))


def _sal_layers(model: nn.Module) -> list[ShiftAttentionConv2d]:
    return [m for m in model.modules() if isinstance(m, ShiftAttentionConv2d)]


def _one_hot_fraction(layers: Sequence[ShiftAttentionConv2d], threshold: float = 0.99) -> float:
    """Fraction of all slices of ``layers`` whose largest attention entry is ≥ ``threshold``."""
    with torch.no_grad():
        peaks = torch.cat([layer.attention_map().amax(-1).flatten() for layer in layers])
    return float((peaks >= threshold).float().mean())


class SaturationWidget(widgets.VBox):
    """A slider for the initial temperature T₀ above two rows of attention heatmaps and a curve.

    Top row: slices A[d, c, :] of one SAL layer as initialised (``seed``) and seen at T₀; bottom row: the
    same slices after training (the trained model at its own, final temperature), each titled with
    whether its kept tap t(d, c) = argmax a[d, c, :] is still the one it started with. Right: the fraction
    of one-hot slices (largest entry ≥ 0.99, every SAL layer of the model) at initialisation against T₀,
    a dot at the slider's T₀, and the trained model's fraction. A slider move redraws the same image.
    """

    def __init__(self, trained: nn.Module, *, seed: int, layer: int = 0,
                 slices: Sequence[tuple[int, int]] = ((0, 0), (1, 1), (2, 2), (3, 3)),
                 temperature: float = 20, temperatures: Sequence[float] = INITIAL_TEMPERATURES) -> None:
        from .training import reset_parameters   # train imports the data pipeline: only needed here

        if not isinstance(trained, nn.Module):
            raise ValueError(f"trained={type(trained).__name__} must be an nn.Module with ShiftAttentionConv2d layers")
        checks.non_negative_int("seed", seed)
        trained_layers = _sal_layers(trained)
        if not trained_layers:
            raise ValueError("trained holds no ShiftAttentionConv2d layer: pass a SAL network")
        if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer < len(trained_layers):
            raise ValueError(f"layer={layer!r} must be an index of the model's SAL layers, "
                             f"0 to {len(trained_layers) - 1}")
        shown = trained_layers[layer]
        rows, cols = shown.out_channels, shown.in_channels
        slices = [tuple(pair) for pair in slices]
        if not slices or any(len(pair) != 2 or not 0 <= pair[0] < rows or not 0 <= pair[1] < cols for pair in slices):
            raise ValueError(f"slices={slices!r} must be (d, c) pairs with 0 ≤ d < {rows} and 0 ≤ c < {cols}")
        for value in temperatures:
            checks.positive_number("temperatures", value)
        _check_choice("temperature", temperature, temperatures)
        k = shown.kernel_size
        with torch.random.fork_rng(devices=[]):   # reset_parameters seeds torch: keep the caller's stream
            initial = copy.deepcopy(trained).cpu()
            reset_parameters(initial, seed)       # the attention the training started from (train() does this)
        self.initial_layers = _sal_layers(initial)
        self.slices = slices
        with torch.no_grad():
            final = shown.attention_map()
        self.final_temperature = float(shown.temperature)
        self.trained_one_hot = _one_hot_fraction(trained_layers)
        kept_now = shown.chosen_taps().expand(rows, -1)
        kept_before = self.initial_layers[layer].chosen_taps().expand(rows, -1)
        self.same_tap = [bool(kept_now[d, c] == kept_before[d, c]) for d, c in slices]
        self.curve = [self.one_hot_at(t) for t in SATURATION_GRID]
        self._layer = layer

        self.figure = Figure(figsize=mpl.rcParams["figure.figsize"], layout="constrained")
        grid = self.figure.add_gridspec(2, len(slices) + 2, width_ratios=[1] * len(slices) + [0.15, 2.2])
        self.images = []
        ticks = [str(i - k // 2) for i in range(k)]
        for row in range(2):
            for j, (d, c) in enumerate(slices):
                ax = self.figure.add_subplot(grid[row, j])
                values = torch.zeros(k, k) if row == 0 else final.expand(rows, -1, -1)[d, c].view(k, k)
                image = ax.imshow(values.numpy(), cmap="viridis", vmin=0, vmax=1)
                ax.set_xticks(range(k), ticks if row == 1 else [])
                ax.set_yticks(range(k), ticks if j == 0 else [])
                ax.grid(False)
                if row == 0:
                    ax.set_title(f"d={d}, c={c}", fontsize="small")
                    self.images.append(image)
                else:
                    ax.set_title("same tap" if self.same_tap[j] else "tap moved", fontsize="small")
            self.figure.axes[row * len(slices)].set_ylabel("at init" if row == 0 else "trained", fontsize="small")
        colorbar = self.figure.colorbar(self.images[0], cax=self.figure.add_subplot(grid[:, len(slices)]))
        colorbar.ax.set_title("A", fontsize="small")   # above the bar: never against the next axis label
        self.curve_ax = self.figure.add_subplot(grid[:, -1])
        self.curve_ax.plot(SATURATION_GRID, [100 * f for f in self.curve], color="tab:blue")
        self.curve_ax.axhline(100 * self.trained_one_hot, color="tab:red", linestyle="--")
        self.curve_ax.text(1.1, 100 * self.trained_one_hot - 2, f"trained (T = {self.final_temperature:.0f})",
                           color="tab:red", va="top", fontsize="small")
        self.curve_ax.text(1.1, 6, "at init", color="tab:blue", va="bottom", fontsize="small")
        (self.marker,) = self.curve_ax.plot([], [], "o", color="tab:blue", markersize=12)
        self.curve_ax.set(xscale="log", xlim=(1, 70), ylim=(0, 100), xlabel="T₀ (log scale)",
                          ylabel="one-hot slices (%)")
        self.curve_ax.set_xticks([1, 5, 20, 70], ["1", "5", "20", "70"])
        self.curve_ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        self.slider = widgets.SelectionSlider(options=list(temperatures), value=temperature,
                                              description="T₀ (init)", continuous_update=True,
                                              style={"description_width": "initial"},
                                              layout=widgets.Layout(width="98%"))
        self.title = self.figure.suptitle("")
        self._draw(temperature)
        # a move changes only the four initial heatmaps (their frames drawn again on top), the dot and the
        # title: the rest is drawn once
        frames = [spine for image in self.images for spine in image.axes.spines.values()]
        self.live = LiveFigure(self.figure, dpi=int(mpl.rcParams["figure.dpi"]),
                               animated=[*self.images, *frames, self.marker, self.title])
        super().__init__([self.slider, self.live.widget])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")

    def one_hot_at(self, temperature: float) -> float:
        """Fraction of one-hot slices of the model as initialised, seen at ``temperature``."""
        checks.positive_number("temperature", temperature)
        for layer in self.initial_layers:
            layer.set_temperature(float(temperature))
        return _one_hot_fraction(self.initial_layers)

    def _draw(self, temperature: float) -> None:
        self.one_hot = self.one_hot_at(temperature)
        layer = self.initial_layers[self._layer]
        k = layer.kernel_size
        with torch.no_grad():
            attention = layer.attention_map().expand(layer.out_channels, -1, -1)
        for image, (d, c) in zip(self.images, self.slices):
            image.set_data(attention[d, c].view(k, k).numpy())
        self.marker.set_data([temperature], [100 * self.one_hot])
        self.title.set_text(f"T₀ = {temperature:g}: {self.one_hot:.0%} of the slices are one-hot "
                            "before any training")

    def update(self, temperature: float) -> None:
        """Show the initial attention at ``temperature`` and redraw the same image in place."""
        _check_choice("temperature", temperature, self.slider.options)
        self._draw(temperature)
        self.live.refresh()


def attention_saturation(trained: nn.Module, *, seed: int, layer: int = 0,
                         slices: Sequence[tuple[int, int]] = ((0, 0), (1, 1), (2, 2), (3, 3)),
                         temperature: float = 20) -> SaturationWidget:
    """Heatmaps of a trained SAL's attention next to the attention it was initialised with (``seed``),
    under a slider for the initial temperature T₀: see how many slices are one-hot before training."""
    return SaturationWidget(trained, seed=seed, layer=layer, slices=slices, temperature=temperature)


__all__ = [
    "AnatomyWidget", "Stage", "measure_stages",
    "draw_fire", "draw_depthwise_separable", "draw_inverted_residual", "draw_shift_conv", "draw_sal",
    "fire_anatomy", "depthwise_separable_anatomy", "inverted_residual_anatomy", "shift_conv_anatomy",
    "sal_anatomy", "SaturationWidget", "attention_saturation",
]
