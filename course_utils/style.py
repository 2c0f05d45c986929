"""Figure style for the notebooks: large, readable defaults, and a larger one for a projector.

Every notebook calls ``apply()`` once at the top. An instructor calls ``presenter()`` (or sets the yes/no
environment variable ``COURSE_PRESENTER=1``, as ``make present`` does) to make every later figure bigger still. Both only set matplotlib's ``rcParams``, so calling them again changes nothing more.
"""
from __future__ import annotations

import matplotlib as mpl

from . import figure_fit, switches

# Readable on a laptop screen and in a lecture hall's back row.
DEFAULT: dict[str, object] = {
    "figure.figsize": (9.0, 5.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 14,
    "axes.titlesize": 17,
    "axes.labelsize": 15,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 13,
    "figure.titlesize": 18,
    "lines.linewidth": 2.2,
    "lines.markersize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

# For a projector: bigger type and thicker lines. On a 1280x720 screen `make present` shows a notebook
# output about 1070 px wide and 632 px tall: a 10x4.6 in figure at 105 dpi is 1050x483 px, so it is
# never scaled down (18 pt text stays 26 px, the size of the presentation-mode text) and leaves room
# for three rows of sliders above or below it.
PRESENTER: dict[str, object] = {
    **DEFAULT,
    "figure.figsize": (10.0, 4.6),
    "figure.dpi": 105,
    "savefig.dpi": 105,
    "font.size": 18,
    "axes.titlesize": 22,
    "axes.labelsize": 20,
    "xtick.labelsize": 17,
    "ytick.labelsize": 17,
    "legend.fontsize": 17,
    "figure.titlesize": 24,
    "lines.linewidth": 3.0,
    "lines.markersize": 9,
}


def apply() -> dict[str, object]:
    """Set the large default style (figure 9×5 in, 14 pt text, 17 pt titles); return the settings.

    If the environment variable ``COURSE_PRESENTER`` is ``1`` (``make present`` sets it), the
    presenter style is applied instead. Idempotent: calling it twice gives the same rcParams.
    """
    figure_fit.watch_from_environment()  # a test switch: check every later figure (course_utils.figure_fit)
    if switches.flag("COURSE_PRESENTER", default=False):
        return presenter()
    mpl.rcParams.update(DEFAULT)
    return dict(DEFAULT)


def presenter() -> dict[str, object]:
    """Set the projector style (figure 10×4.6 in at 105 dpi, 18 pt text, 22 pt titles); return the settings.

    Idempotent. ``apply()`` goes back to the default style (unless ``COURSE_PRESENTER=1`` is set).
    """
    figure_fit.watch_from_environment()
    mpl.rcParams.update(PRESENTER)
    return dict(PRESENTER)
