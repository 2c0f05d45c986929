"""Does a figure fit its canvas? Text cut at an edge, titles that run together, a legend over the data.

``problems(figure)`` draws the figure (or uses the renderer of a draw in progress) and lists, in words,
every way it would look broken on a screen::

    >>> problems(figure)
    ["text 'nb07_decomposed: accuracy' (axes title) reaches 41 px past the right edge (canvas 800×288 px)"]

Four checks, on matplotlib's own measure of each artist (its window extent, in pixels):

- every visible text (titles, labels, tick labels, legend entries, annotations) lies inside the canvas;
- no two titles or axis labels overlap (they would read as one line);
- no legend covers plotted data (lines, between their points too, markers, bars, filled areas, images) or
  another text.

``COURSE_FIGURE_REPORT=path`` (a test switch, read by ``style.apply()``) turns on a watch: every figure drawn
afterwards in that process (inline figures, ``LiveFigure`` redraws, the live training curves) is checked
as it is drawn, and each figure with a problem adds one JSON line to ``path``. The browser tests set it on
the server that runs every notebook once, so every figure of every notebook is checked at presenter size
without running a notebook again.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection, LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

REPORT_VARIABLE = "COURSE_FIGURE_REPORT"
TOLERANCE_PX = 1.0  # antialiasing: a glyph may touch the edge


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------
def _renderer(figure: Figure):
    """A renderer holding ``figure`` as it is drawn: the figure is drawn once (on an Agg canvas)."""
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _visible_texts(figure: Figure) -> list[Text]:
    """Every text that is drawn: visible, not empty, in a visible axes and a visible legend."""
    hidden = {id(t) for legend, _ in _legends(figure, visible=False)
              for t in [*legend.get_texts(), legend.get_title()]}
    hidden |= _undrawn_tick_labels(figure)
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden
            and (t.axes is None or t.axes.get_visible())]


def _undrawn_tick_labels(figure: Figure) -> set[int]:
    """Axis texts matplotlib keeps but does not draw: tick labels outside the view limits, and every tick
    and axis label of an axes drawn without its axes (``ax.axis("off")``)."""
    undrawn = set()
    for ax in figure.axes:
        for axis in ax._axis_map.values():
            if not (ax.axison and axis.get_visible()):  # ax.axis("off"): no ticks, no axis label
                undrawn |= {id(axis.label), id(axis.offsetText)}
                drawn = set()
            else:
                drawn = {id(label) for tick in axis._update_ticks() for label in (tick.label1, tick.label2)}
            undrawn |= {id(label) for tick in axis.majorTicks + axis.minorTicks
                        for label in (tick.label1, tick.label2) if id(label) not in drawn}
    return undrawn


def _role(text: Text, figure: Figure) -> str:
    """What a text is, in words: the figure's title, an axes title, an axis label, a tick label..."""
    if text is getattr(figure, "_suptitle", None):
        return "figure title"
    for ax in figure.axes:
        if text in (ax.title, ax._left_title, ax._right_title):
            return "axes title"
        if text is ax.xaxis.label or text is ax.yaxis.label:
            return "axis label"
        if text in ax.get_xticklabels(which="both") or text in ax.get_yticklabels(which="both"):
            return "tick label"
        legend = ax.get_legend()
        if legend is not None and (text in legend.get_texts() or text is legend.get_title()):
            return "legend"
    for legend in figure.legends:
        if text in legend.get_texts() or text is legend.get_title():
            return "legend"
    return "text"


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def text_outside(figure: Figure, renderer=None) -> list[str]:
    """Every visible text that does not lie wholly inside the canvas, with the edge it crosses."""
    renderer = renderer or _renderer(figure)
    canvas = figure.bbox
    size = f"canvas {canvas.width:.0f}×{canvas.height:.0f} px"
    problems = []
    for text in _visible_texts(figure):
        box = text.get_window_extent(renderer)
        if not np.all(np.isfinite(box.get_points())):
            continue
        past = {"left": canvas.x0 - box.x0, "right": box.x1 - canvas.x1,
                "bottom": canvas.y0 - box.y0, "top": box.y1 - canvas.y1}
        cut = [f"{px:.0f} px past the {edge} edge" for edge, px in past.items() if px > TOLERANCE_PX]
        if cut:
            problems.append(f"text {_short(text.get_text())!r} ({_role(text, figure)}) reaches "
                            f"{' and '.join(cut)} ({size})")
    return problems


def overlapping_titles(figure: Figure, renderer=None) -> list[str]:
    """Pairs of titles and axis labels (axes titles, the figure's title, x and y labels) that overlap, or stand
    side by side with less than half a letter between them: they run together and read as one line."""
    renderer = renderer or _renderer(figure)
    drawn = {id(t) for t in _visible_texts(figure)}
    texts = [t for ax in figure.axes for t in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label,
                                                 ax.yaxis.label)]
    texts += [t for t in (getattr(figure, "_suptitle", None), getattr(figure, "_supxlabel", None),
                          getattr(figure, "_supylabel", None)) if t is not None]
    texts = [t for t in texts if id(t) in drawn]
    boxes = [t.get_window_extent(renderer) for t in texts]
    # Two texts side by side with less than half a letter between them read as one line: widen each box by a
    # quarter of its font size on both sides before looking for an overlap.
    gaps = [0.25 * t.get_fontsize() * figure.dpi / 72 for t in texts]
    boxes = [Bbox.from_extents(b.x0 - g, b.y0, b.x1 + g, b.y1) for b, g in zip(boxes, gaps)]
    problems = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if _overlap(boxes[i], boxes[j]) > TOLERANCE_PX:
                problems.append(f"{_role(texts[i], figure)} {_short(texts[i].get_text())!r} and "
                                f"{_role(texts[j], figure)} {_short(texts[j].get_text())!r} overlap: they run together")
    return problems


def _overlap(a: Bbox, b: Bbox) -> float:
    """The side of the overlap of two boxes in pixels (its smaller side; 0 if they do not overlap)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(0.0, min(width, height))


def _legends(figure: Figure, visible: bool = True) -> list[tuple[Legend, list[Axes]]]:
    """The visible legends (or, with ``visible=False``, the hidden ones), each with the axes whose data it may
    cover: its own axes, or every axes for a figure legend."""
    out = [(ax.get_legend(), [ax]) for ax in figure.axes if ax.get_legend() is not None]
    out += [(legend, [ax for ax in figure.axes if ax.get_visible()]) for legend in figure.legends]
    return [(legend, axes) for legend, axes in out
            if (legend.get_visible() and all(ax.get_visible() for ax in axes[:1])) == visible]


def _covers(artist, box: Bbox, renderer) -> bool:
    """Whether a data artist draws anything inside ``box`` (display pixels)."""
    if isinstance(artist, Line2D):
        path = artist.get_transform().transform_path(artist.get_path()).cleaned(remove_nans=True)
        if len(path.vertices) == 0:
            return False
        points = path.vertices
        inside = np.any((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                        & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
        drawn_line = artist.get_linestyle() not in ("None", "none", "", " ") and len(points) > 1
        return bool(inside and artist.get_marker() not in ("None", "none", "", " ", None)) or bool(
            drawn_line and path.intersects_bbox(box, filled=False))
    if isinstance(artist, PathCollection):  # scatter: one marker per offset
        offsets = artist.get_offset_transform().transform(artist.get_offsets())
        offsets = offsets[np.all(np.isfinite(offsets), axis=1)]
        return bool(np.any((offsets[:, 0] >= box.x0) & (offsets[:, 0] <= box.x1)
                           & (offsets[:, 1] >= box.y0) & (offsets[:, 1] <= box.y1)))
    if isinstance(artist, Collection):  # filled areas, error bars, vlines...
        transform = artist.get_transform()
        filled = not isinstance(artist, LineCollection)
        return any(transform.transform_path(p).cleaned(remove_nans=True).intersects_bbox(box, filled=filled)
                   for p in artist.get_paths() if len(p.vertices))
    if isinstance(artist, (Patch, AxesImage)):
        extent = artist.get_window_extent(renderer)
        return extent.width > 0 and extent.height > 0 and _overlap(extent, box) > TOLERANCE_PX
    return False


def _data_artists(ax: Axes) -> Iterable:
    yield from (a for a in [*ax.lines, *ax.collections, *ax.patches, *ax.images] if a.get_visible())


def legend_overlaps(figure: Figure, renderer=None) -> list[str]:
    """Every legend that covers plotted data, with what it covers."""
    renderer = renderer or _renderer(figure)
    problems = []
    for legend, axes in _legends(figure):
        frame = legend.get_window_extent(renderer)
        for ax in axes:
            shown = Bbox.intersection(frame, ax.bbox)  # data is clipped to its axes
            if shown is None or shown.width <= TOLERANCE_PX or shown.height <= TOLERANCE_PX:
                continue
            covered = [a for a in _data_artists(ax) if _covers(a, shown, renderer)]
            if covered:
                names = sorted({_artist_name(a) for a in covered})
                title = ax.get_title() or "an axes"
                problems.append(f"the legend covers data in {_short(title)!r}: {', '.join(names[:4])}"
                                + (f" and {len(names) - 4} more" if len(names) > 4 else ""))
    return problems


def legend_covers_text(figure: Figure, renderer=None) -> list[str]:
    """Every legend drawn over a text that is not its own: a title, an axis label, tick labels."""
    renderer = renderer or _renderer(figure)
    problems = []
    for legend, _ in _legends(figure):
        frame = legend.get_window_extent(renderer)
        own = {id(t) for t in [*legend.get_texts(), legend.get_title()]}
        covered = [t for t in _visible_texts(figure) if id(t) not in own
                   and _overlap(t.get_window_extent(renderer), frame) > TOLERANCE_PX]
        if covered:
            names = [f"{_role(t, figure)} {_short(t.get_text(), 30)!r}" for t in covered]
            problems.append(f"a legend covers {', '.join(names[:3])}" + (f" and {len(names) - 3} more"
                                                                      if len(names) > 3 else ""))
    return problems


def _artist_name(artist) -> str:
    label = artist.get_label()
    kind = type(artist).__name__
    return f"{kind} {label!r}" if label and not label.startswith("_") else kind


def problems(figure: Figure, renderer=None) -> list[str]:
    """Everything that would look broken when ``figure`` is shown at its size (empty list: it fits)."""
    if not isinstance(figure, Figure):
        raise ValueError(f"figure={type(figure).__name__} must be a matplotlib.figure.Figure")
    renderer = renderer or _renderer(figure)
    return (text_outside(figure, renderer) + overlapping_titles(figure, renderer) + legend_overlaps(figure, renderer)
            + legend_covers_text(figure, renderer))


# ---------------------------------------------------------------------------------------------
# The watch: check every figure as it is drawn (COURSE_FIGURE_REPORT)
# ---------------------------------------------------------------------------------------------
_original_draw = Figure.draw
_report_path: Path | None = None
_reported: set[tuple[int, str]] = set()


def _describe(figure: Figure) -> str:
    """A figure in words: its title or its axes' titles."""
    title = getattr(figure, "_suptitle", None)
    if title is not None and title.get_text().strip():
        return _short(title.get_text(), 60)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    return _short(" | ".join(titles), 60) if titles else f"{len(figure.axes)} axes, no title"


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None) if shell is not None else None


def record(figure: Figure, renderer=None) -> list[str]:
    """Check ``figure`` and, when the watch is on, append its problems (if any) to the report file once."""
    found = problems(figure, renderer)
    if _report_path is not None and found:
        fresh = [p for p in found if (id(figure), p) not in _reported]
        _reported.update((id(figure), p) for p in fresh)
        if fresh:
            line = {"execution_count": _execution_count(), "figure": _describe(figure),
                    "size_px": [round(figure.bbox.width), round(figure.bbox.height)], "problems": fresh}
            with _report_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return found


def _watched_draw(self: Figure, renderer) -> None:
    _original_draw(self, renderer)
    if _report_path is not None and not getattr(renderer, "_course_fit_skip", False):
        try:
            record(self, renderer)
        except Exception as error:  # noqa: BLE001  (a check must never break a figure)
            with _report_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"figure": _describe(self), "problems": [f"check failed: {error!r}"]}) + "\n")


def watch(path: str | os.PathLike | None) -> None:
    """Check every figure drawn from now on and append its problems to ``path`` (None: stop watching)."""
    global _report_path
    if path is None:
        _report_path = None
        Figure.draw = _original_draw
        return
    _report_path = Path(path)
    Figure.draw = _watched_draw


def watch_from_environment() -> None:
    """Start the watch when ``COURSE_FIGURE_REPORT`` names a file (the browser tests set it)."""
    path = os.environ.get(REPORT_VARIABLE, "").strip()
    if path:
        watch(path)


def watching() -> bool:
    return _report_path is not None


__all__ = ["problems", "text_outside", "overlapping_titles", "legend_overlaps", "legend_covers_text", "record", "watch",
           "watch_from_environment", "watching", "REPORT_VARIABLE"]
