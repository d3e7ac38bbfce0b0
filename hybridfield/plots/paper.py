"""ECG paper and the plumbing every figure of :mod:`hybridfield.plots` shares.

- :func:`pyplot`: matplotlib's pyplot, with the Agg backend chosen first when there is no display;
- :func:`named_signals`: lead signals given as a mapping or a ``(names, array)`` pair, checked;
- the ECG paper: :func:`paper_range` (a common amplitude range), :func:`grid_lines` (the grid),
  :func:`paper_figure` (panels placed to scale) and :func:`panel_label` (a lead name on a panel);
- the paper's scale and the figures' colours (module constants below).

The paper follows the clinical standard of 25 mm/s and 10 mm/mV: minor squares of 0.04 s x 0.1 mV
(1 mm), major squares of 0.2 s x 0.5 mV (5 mm), drawn to scale (square). matplotlib is imported
inside the functions, never at module import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MM_PER_S",
    "MM_PER_MV",
    "MINOR_S",
    "MAJOR_S",
    "MINOR_MV",
    "MAJOR_MV",
    "MINOR_COLOUR",
    "MAJOR_COLOUR",
    "TRACE_COLOUR",
    "VIRTUAL_COLOUR",
    "IDEAL_COLOUR",
    "MAX_WIDTH_IN",
    "MAX_HEIGHT_IN",
    "MIN_WIDTH_IN",
    "VIRTUAL_SUFFIX",
    "pyplot",
    "named_signals",
    "paper_range",
    "grid_lines",
    "paper_figure",
    "panel_label",
]

#: Paper speed, mm per s (clinical standard).
MM_PER_S: float = 25.0
#: Paper gain, mm per mV (clinical standard).
MM_PER_MV: float = 10.0
#: Minor and major squares along time, s (1 mm and 5 mm at 25 mm/s).
MINOR_S, MAJOR_S = 0.04, 0.2
#: Minor and major squares along amplitude, mV (1 mm and 5 mm at 10 mm/mV).
MINOR_MV, MAJOR_MV = 0.1, 0.5
#: Colours of the minor and major grid lines.
MINOR_COLOUR, MAJOR_COLOUR = "#f7d4d4", "#e59a9a"
#: Colours of recorded traces, virtual (synthesised) traces and idealised (unit-vector) traces.
TRACE_COLOUR, VIRTUAL_COLOUR, IDEAL_COLOUR = "black", "#1f4fa3", "#d1495b"
#: Largest drawing area for the traces, inches; larger layouts are scaled down uniformly.
MAX_WIDTH_IN, MAX_HEIGHT_IN = 15.0, 20.0
#: Narrower layouts are scaled up to this width, inches (room for titles and legends), height permitting.
MIN_WIDTH_IN: float = 7.0
#: The mark of a virtual (not recorded) lead in panel labels and posterior names.
VIRTUAL_SUFFIX: str = " (virtual)"


# --------------------------------------------------------------------------------------------
# matplotlib access
# --------------------------------------------------------------------------------------------


def pyplot() -> Any:
    """Import pyplot, choosing the Agg backend first when there is no display.

    The backend is chosen only when pyplot is not imported yet, no ``MPLBACKEND`` is set, and on
    Linux neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is.

    Returns
    -------
    plt : module
        ``matplotlib.pyplot``.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        headless = sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )
        if headless:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def named_signals(signals: Any, name: str) -> tuple[list[str], np.ndarray]:
    """Lead signals as names and one array, checked.

    Parameters
    ----------
    signals : mapping of str to (n,) array_like, or pair (names, (n_leads, n) array_like)
        Lead signals, mV, all of the same length ``n >= 2``; NaN samples are allowed (gaps).
    name : str
        The caller's name of the argument, used in error messages.

    Returns
    -------
    names : list of str
        Lead names, in the given order.
    array : (n_leads, n) float, mV

    Raises
    ------
    TypeError
        ``signals`` is neither a mapping nor a pair.
    ValueError
        No leads, duplicate names, names and rows that do not match, rows that are not 1-D, of
        different lengths or shorter than 2 samples, infinite values.
    """
    if isinstance(signals, Mapping):
        names = [str(key) for key in signals]
        rows = list(signals.values())
    elif isinstance(signals, tuple) and len(signals) == 2 and not isinstance(signals[0], str):
        names = [str(key) for key in signals[0]]
        rows = list(np.asarray(signals[1], dtype=np.float64)) if np.ndim(signals[1]) == 2 else [signals[1]]
    else:
        raise TypeError(
            f"{name} must be a mapping lead name -> (n,) array, or a pair (names, (n_leads, n) array); "
            f"got {type(signals).__name__}"
        )
    if not names:
        raise ValueError(f"{name} must contain at least one lead, got none")
    if len(names) != len(rows):
        raise ValueError(f"{name}: {len(names)} names for {len(rows)} signal rows")
    if len(set(names)) != len(names):
        raise ValueError(f"{name} has duplicate lead names: {names}")
    arrays = []
    for lead, row in zip(names, rows):
        array = np.asarray(row, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"{name}[{lead!r}] must be a 1-D signal (n,), got shape {array.shape}")
        if np.isinf(array).any():
            raise ValueError(f"{name}[{lead!r}] contains infinite values")
        arrays.append(array)
    lengths = {array.shape[0] for array in arrays}
    if len(lengths) != 1:
        raise ValueError(f"{name}: all signals must have the same length, got {[a.shape[0] for a in arrays]}")
    if arrays[0].shape[0] < 2:
        raise ValueError(f"{name}: signals need at least 2 samples, got {arrays[0].shape[0]}")
    return names, np.stack(arrays)


# --------------------------------------------------------------------------------------------
# ECG paper
# --------------------------------------------------------------------------------------------


def paper_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    """Common amplitude range of signals, at least -0.5..0.5 mV, rounded out to major squares.

    Parameters
    ----------
    arrays : sequence of (n,) float arrays, mV
        The signals to fit (any lengths; NaN samples are ignored).

    Returns
    -------
    low, high : float, mV
        Multiples of :data:`MAJOR_MV` with at least 0.1 mV of margin around the signals.
    """
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays] + [np.zeros(1)])
    low = np.floor((min(finite.min(), -0.5) - 0.1) / MAJOR_MV) * MAJOR_MV
    high = np.ceil((max(finite.max(), 0.5) + 0.1) / MAJOR_MV) * MAJOR_MV
    return float(low), float(high)


def grid_lines(ax: "Axes", duration: float, low: float, high: float, minor: bool, *, start: float = 0.0) -> None:
    """Draw the ECG paper grid as line collections (no ticks involved, any length works).

    The lines sit at whole multiples of the square sizes, so panels of one record line up.

    Parameters
    ----------
    ax : matplotlib Axes
        The panel to draw into (data coordinates: s and mV).
    duration : float, s
        End time of the grid.
    low, high : float, mV
        Amplitude range of the grid.
    minor : bool
        Also draw the minor squares (0.04 s x 0.1 mV).
    start : float, s, optional
        Start time of the grid. Default 0.
    """
    # vertical lines at times from start to duration, then horizontal ones at levels from low to high
    for draw_lines, (first, last), (across_from, across_to), (minor_step, major_step) in (
        (ax.vlines, (start, duration), (low, high), (MINOR_S, MAJOR_S)),
        (ax.hlines, (low, high), (start, duration), (MINOR_MV, MAJOR_MV)),
    ):
        for step, colour, width, draw in (
            (minor_step, MINOR_COLOUR, 0.4, minor),
            (major_step, MAJOR_COLOUR, 0.8, True),
        ):
            if draw:
                positions = np.arange(np.ceil(first / step - 1e-9) * step, last + 1e-9, step)
                draw_lines(positions, across_from, across_to, colors=colour, linewidth=width, zorder=0)


def paper_figure(
    n_panels: int,
    layout: tuple[int, int],
    duration: float,
    low: float,
    high: float,
    title: str | None,
    legend_row: bool = False,
) -> tuple["Figure", list["Axes"], float]:
    """A figure with ``n_panels`` ECG-paper axes placed to scale, filled column by column.

    Parameters
    ----------
    n_panels : int
        Number of panels, at most ``rows * columns``.
    layout : (rows, columns)
        Panel grid.
    duration : float, s
        Time span of every panel (from 0).
    low, high : float, mV
        Amplitude range of every panel (e.g. from :func:`paper_range`).
    title : str or None
        Figure title.
    legend_row : bool, optional
        Reserve a strip above the panels for a figure legend.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : list of matplotlib Axes
        In panel order; they share both axes.
    scale : float
        Paper scale: 1 = 25 mm/s and 10 mm/mV, less when the layout was shrunk to fit
        :data:`MAX_WIDTH_IN` x :data:`MAX_HEIGHT_IN`, more when widened to :data:`MIN_WIDTH_IN`.
    """
    plt = pyplot()
    rows, cols = layout
    width_mm = duration * MM_PER_S
    height_mm = (high - low) * MM_PER_MV
    scale = min(
        max(1.0, MIN_WIDTH_IN * 25.4 / (cols * width_mm)),
        MAX_WIDTH_IN * 25.4 / (cols * width_mm),
        MAX_HEIGHT_IN * 25.4 / (rows * height_mm),
    )
    panel_w = scale * width_mm / 25.4
    panel_h = scale * height_mm / 25.4
    left, right, bottom = 0.75, 0.25, 0.6
    top = (0.55 if title else 0.25) + (0.3 if legend_row else 0.0)
    wgap, hgap = 0.35, 0.2
    fig_w = left + right + cols * panel_w + (cols - 1) * wgap
    fig_h = bottom + top + rows * panel_h + (rows - 1) * hgap
    fig = plt.figure(figsize=(fig_w, fig_h))
    axes = []
    minor = scale * 1.0 / 25.4 * fig.dpi >= 2.5  # a minor square spans at least 2.5 pixels
    first_axis = None
    for index in range(n_panels):
        column, row = divmod(index, rows)
        x0 = left + column * (panel_w + wgap)
        y0 = fig_h - top - (row + 1) * panel_h - row * hgap
        ax = fig.add_axes(
            (x0 / fig_w, y0 / fig_h, panel_w / fig_w, panel_h / fig_h),
            sharex=first_axis,
            sharey=first_axis,
        )
        first_axis = first_axis or ax
        grid_lines(ax, duration, low, high, minor)
        ax.set_xlim(0.0, duration)
        ax.set_ylim(low, high)
        for spine in ax.spines.values():
            spine.set_color(MAJOR_COLOUR)
        bottom_of_column = row == rows - 1 or index == n_panels - 1
        ax.tick_params(labelbottom=bottom_of_column, labelleft=column == 0, labelsize=8, length=2)
        if bottom_of_column:
            ax.set_xlabel("time (s)", fontsize=9)
        if column == 0 and row == (min(rows, n_panels) - 1) // 2:
            ax.set_ylabel("mV", fontsize=9)
        axes.append(ax)
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    first_axis.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(panel_w * 1.6)), steps=[1, 2, 2.5, 5, 10]))
    first_axis.yaxis.set_major_locator(MultipleLocator(1.0 if high - low > 2.0 else MAJOR_MV))
    if title:
        fig.suptitle(title, x=left / fig_w, y=1.0 - 0.12 / fig_h, ha="left", va="top", fontsize=12)
    return fig, axes, scale


def panel_label(ax: "Axes", text: str, colour: str = "black", x: float = 0.006) -> None:
    """Write a lead name in the top-left corner of a panel, on a white box.

    Parameters
    ----------
    ax : matplotlib Axes
        The panel.
    text : str
        The label.
    colour : str, optional
        Text colour. Default black.
    x : float, optional
        Left edge of the text, in axes fraction. Default 0.006.
    """
    ax.text(
        x,
        0.96,
        text,
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=9,
        fontweight="bold",
        color=colour,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
        zorder=5,
    )
