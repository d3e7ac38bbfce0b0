"""Figures: lead signals on ECG paper, vector loops, physical versus unit-vector views.

matplotlib is imported inside the functions, never at module import, so ``import hybridfield``
stays light. When no display is available (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux and no
``MPLBACKEND`` chosen) the non-interactive Agg backend is selected before pyplot is imported.
Every function returns its :class:`matplotlib.figure.Figure`; save it with ``fig.savefig(path)``
and release it with ``matplotlib.pyplot.close(fig)``.

Units: signals in mV, time in s (from the explicit sampling rate ``fs`` in Hz), heart vectors in
mA*m. The ECG paper grid follows the clinical standard of 25 mm/s and 10 mm/mV: minor squares of
0.04 s x 0.1 mV (1 mm), major squares of 0.2 s x 0.5 mV (5 mm), drawn to scale (square).
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

__all__ = ["plot_leads", "plot_vector_loops", "plot_views"]

# ECG paper: 25 mm/s, 10 mm/mV.
_MM_PER_S = 25.0
_MM_PER_MV = 10.0
_MINOR_S, _MAJOR_S = 0.04, 0.2
_MINOR_MV, _MAJOR_MV = 0.1, 0.5
_MINOR_COLOUR, _MAJOR_COLOUR = "#f7d4d4", "#e59a9a"
_TRACE_COLOUR, _VIRTUAL_COLOUR, _IDEAL_COLOUR = "black", "#1f4fa3", "#d1495b"
# Largest drawing area for the traces (inches); larger layouts are scaled down uniformly.
_MAX_WIDTH_IN, _MAX_HEIGHT_IN = 15.0, 20.0
# Narrower layouts are scaled up to this width (room for titles and legends), height permitting.
_MIN_WIDTH_IN = 7.0


# --------------------------------------------------------------------------------------------
# matplotlib access
# --------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    """Import pyplot, choosing the Agg backend first when there is no display."""
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


def _positive(value: Any, name: str, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number in {unit}, got {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number in {unit}, got {number}")
    return number


def _named_signals(signals: Any, name: str) -> tuple[list[str], np.ndarray]:
    """Mapping name -> (n,) or (names, (n_leads, n) array) -> (names, (n_leads, n) float array)."""
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


def _paper_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    """Common amplitude range (mV), at least -0.5..0.5, rounded out to major squares."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays] + [np.zeros(1)])
    low = np.floor((min(finite.min(), -0.5) - 0.1) / _MAJOR_MV) * _MAJOR_MV
    high = np.ceil((max(finite.max(), 0.5) + 0.1) / _MAJOR_MV) * _MAJOR_MV
    return float(low), float(high)


def _grid_lines(ax: "Axes", duration: float, low: float, high: float, minor: bool) -> None:
    """Draw the ECG paper grid as line collections (no ticks involved, any length works)."""
    for step, colour, width, draw in (
        (_MINOR_S, _MINOR_COLOUR, 0.4, minor),
        (_MAJOR_S, _MAJOR_COLOUR, 0.8, True),
    ):
        if not draw:
            continue
        times = np.arange(0.0, duration + 1e-9, step)
        ax.vlines(times, low, high, colors=colour, linewidth=width, zorder=0)
    for step, colour, width, draw in (
        (_MINOR_MV, _MINOR_COLOUR, 0.4, minor),
        (_MAJOR_MV, _MAJOR_COLOUR, 0.8, True),
    ):
        if not draw:
            continue
        first = np.ceil(low / step - 1e-9) * step
        levels = np.arange(first, high + 1e-9, step)
        ax.hlines(levels, 0.0, duration, colors=colour, linewidth=width, zorder=0)


def _paper_figure(
    n_panels: int,
    layout: tuple[int, int],
    duration: float,
    low: float,
    high: float,
    title: str | None,
    legend_row: bool = False,
) -> tuple["Figure", list["Axes"], float]:
    """A figure with ``n_panels`` ECG-paper axes placed to scale, filled column by column.

    Returns the figure, the axes in panel order, and the paper scale (1 = 25 mm/s, 10 mm/mV).
    ``legend_row`` reserves a strip above the panels for a figure legend.
    """
    plt = _pyplot()
    rows, cols = layout
    width_mm = duration * _MM_PER_S
    height_mm = (high - low) * _MM_PER_MV
    scale = min(
        max(1.0, _MIN_WIDTH_IN * 25.4 / (cols * width_mm)),
        _MAX_WIDTH_IN * 25.4 / (cols * width_mm),
        _MAX_HEIGHT_IN * 25.4 / (rows * height_mm),
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
        _grid_lines(ax, duration, low, high, minor)
        ax.set_xlim(0.0, duration)
        ax.set_ylim(low, high)
        for spine in ax.spines.values():
            spine.set_color(_MAJOR_COLOUR)
        bottom_of_column = row == rows - 1 or index == n_panels - 1
        ax.tick_params(labelbottom=bottom_of_column, labelleft=column == 0, labelsize=8, length=2)
        if bottom_of_column:
            ax.set_xlabel("time (s)", fontsize=9)
        if column == 0 and row == (min(rows, n_panels) - 1) // 2:
            ax.set_ylabel("mV", fontsize=9)
        axes.append(ax)
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    first_axis.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(panel_w * 1.6)), steps=[1, 2, 2.5, 5, 10]))
    first_axis.yaxis.set_major_locator(MultipleLocator(1.0 if high - low > 2.0 else _MAJOR_MV))
    if title:
        fig.suptitle(title, x=left / fig_w, y=1.0 - 0.12 / fig_h, ha="left", va="top", fontsize=12)
    return fig, axes, scale


def _resolve_layout(layout: Any, n_panels: int) -> tuple[int, int]:
    if layout is None:
        return n_panels, 1
    try:
        rows, cols = (int(value) for value in layout)
    except (TypeError, ValueError):
        raise TypeError(f"layout must be None or a pair (rows, columns) of positive ints, got {layout!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"layout must have positive rows and columns, got {layout!r}")
    if rows * cols < n_panels:
        raise ValueError(f"layout {rows}x{cols} has {rows * cols} panels for {n_panels} leads; make it larger")
    return rows, cols


def _label(ax: "Axes", text: str, colour: str = "black") -> None:
    ax.text(
        0.006,
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


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def plot_leads(
    signals: Mapping[str, Any] | tuple[Sequence[str], Any],
    fs: float,
    *,
    title: str | None = None,
    virtual: Sequence[str] = (),
    layout: tuple[int, int] | None = None,
) -> "Figure":
    """Plot lead signals on ECG paper (25 mm/s, 10 mm/mV), one panel per lead.

    All panels share the time axis and the amplitude scale, so amplitudes compare across leads as
    on a printed ECG. The grid has minor squares of 0.04 s x 0.1 mV and major squares of
    0.2 s x 0.5 mV, drawn square; long records are scaled down uniformly (the minor grid is
    dropped once it would be too fine to see).

    Parameters
    ----------
    signals : mapping of str to (n,) array_like, or pair (names, (n_leads, n) array_like)
        Lead signals in mV, all of the same length ``n``, plotted in the given order.
    fs : float
        Sampling rate, Hz; sample ``k`` is at ``k / fs`` s.
    title : str, optional
        Figure title.
    virtual : sequence of str, optional
        Names of leads that were not recorded (synthesised views, reconstructions); they are
        labelled "(virtual)" and drawn in blue.
    layout : (rows, columns), optional
        Panel grid, filled column by column as on a 6x2 or 3x4 ECG print (I, II, III down the
        first column). Default: one column, ``n_leads`` rows.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) / 500.0
    >>> fig = plot_leads({"I": np.sin(2 * np.pi * t), "V7": np.cos(2 * np.pi * t)}, 500.0,
    ...                  virtual=["V7"])
    """
    names, array = _named_signals(signals, "signals")
    fs = _positive(fs, "fs", "Hz")
    if isinstance(virtual, str):
        virtual = [virtual]
    virtual_set = {str(name) for name in virtual}
    unknown = sorted(virtual_set - set(names))
    if unknown:
        raise ValueError(f"virtual names {unknown} are not among the signals {names}")
    rows, cols = _resolve_layout(layout, len(names))
    n_samples = array.shape[1]
    duration = n_samples / fs
    low, high = _paper_range(list(array))
    fig, axes, _ = _paper_figure(len(names), (rows, cols), duration, low, high, title)
    times = np.arange(n_samples) / fs
    for ax, lead, signal in zip(axes, names, array):
        is_virtual = lead in virtual_set
        colour = _VIRTUAL_COLOUR if is_virtual else _TRACE_COLOUR
        ax.plot(times, signal, color=colour, linewidth=0.9, zorder=3)
        _label(ax, f"{lead} (virtual)" if is_virtual else lead, colour)
    return fig


def plot_views(
    signals: Mapping[str, Any] | tuple[Sequence[str], Any],
    fs: float,
    unit_vector_signals: Mapping[str, Any] | tuple[Sequence[str], Any] | None = None,
    *,
    title: str | None = None,
    labels: tuple[str, str] = ("physical lead field", "unit vector (Nef-Net)"),
) -> "Figure":
    """Overlay, view by view, the physical projection and the unit-vector (Nef-Net) idealisation.

    For a view (theta, phi) the physical signal is ``c(theta, phi) . p(t)`` with the lead vector
    ``c`` of the torso surface point seen in that direction (``forward.view_lead_vectors``);
    Nef-Net idealises it as ``k u(theta, phi) . p(t)`` with the unit direction ``u``
    (``geometry.direction_from_angles``) and a gain ``k``. Each panel shows both on ECG paper
    with their Pearson correlation and peak-to-peak ratio (unit vector / physical).

    Parameters
    ----------
    signals : mapping of str to (n,) array_like, or pair (names, (n_views, n) array_like)
        Physical signals of the views, mV, keyed by a view name (e.g. ``"(90, 130) deg"``).
    fs : float
        Sampling rate, Hz.
    unit_vector_signals : same form as ``signals``, optional
        Unit-vector projections of the same views, mV; must contain every name of ``signals``.
        Default None: only the physical signals are drawn.
    title : str, optional
        Figure title.
    labels : (str, str), optional
        Legend entries of the physical and the unit-vector traces.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    names, physical = _named_signals(signals, "signals")
    fs = _positive(fs, "fs", "Hz")
    ideal = None
    if unit_vector_signals is not None:
        ideal_names, ideal_array = _named_signals(unit_vector_signals, "unit_vector_signals")
        lookup = dict(zip(ideal_names, ideal_array))
        missing = [name for name in names if name not in lookup]
        if missing:
            raise ValueError(f"unit_vector_signals lacks the views {missing}; it has {ideal_names}")
        ideal = np.stack([lookup[name] for name in names])
        if ideal.shape != physical.shape:
            raise ValueError(
                f"unit_vector_signals must have the same length as signals, got {ideal.shape[1]} and "
                f"{physical.shape[1]} samples"
            )
    n_samples = physical.shape[1]
    duration = n_samples / fs
    low, high = _paper_range(list(physical) + ([] if ideal is None else list(ideal)))
    fig, axes, _ = _paper_figure(len(names), (len(names), 1), duration, low, high, title, ideal is not None)
    times = np.arange(n_samples) / fs
    for index, (ax, name) in enumerate(zip(axes, names)):
        ax.plot(times, physical[index], color=_TRACE_COLOUR, linewidth=1.0, zorder=3, label=labels[0])
        text = name
        if ideal is not None:
            ax.plot(
                times, ideal[index], color=_IDEAL_COLOUR, linewidth=1.0, linestyle="--", zorder=4, label=labels[1]
            )
            a, b = physical[index], ideal[index]
            valid = np.isfinite(a) & np.isfinite(b)
            if valid.sum() > 1 and np.std(a[valid]) > 0 and np.std(b[valid]) > 0:
                r = float(np.corrcoef(a[valid], b[valid])[0, 1])
                ratio = float(np.ptp(b[valid]) / np.ptp(a[valid]))
                text = f"{name}   r = {r:.2f}, amplitude ratio {ratio:.2f}"
        _label(ax, text)
    if ideal is not None:
        handles, legend_labels = axes[0].get_legend_handles_labels()
        top_of_panels = axes[0].get_position().y1
        fig.legend(
            handles,
            legend_labels,
            loc="lower right",
            bbox_to_anchor=(axes[0].get_position().x1, top_of_panels),
            ncol=2,
            fontsize=9,
            frameon=False,
        )
    return fig


# Anatomical direction -> (component index, sign, component name), per input frame.
_FRAMES: dict[str, dict[str, tuple[int, int, str]]] = {
    "body": {
        "anterior": (0, 1, "x"),
        "posterior": (0, -1, "x"),
        "left": (1, 1, "y"),
        "right": (1, -1, "y"),
        "superior": (2, 1, "z"),
        "inferior": (2, -1, "z"),
    },
    "frank": {
        "left": (0, 1, "X"),
        "right": (0, -1, "X"),
        "inferior": (1, 1, "Y"),
        "superior": (1, -1, "Y"),
        "posterior": (2, 1, "Z"),
        "anterior": (2, -1, "Z"),
    },
}
_OPPOSITE = {
    "anterior": "posterior",
    "posterior": "anterior",
    "left": "right",
    "right": "left",
    "superior": "inferior",
    "inferior": "superior",
}
# Plane -> (anatomical direction towards the display's right, towards the display's top).
_PLANES: tuple[tuple[str, str, str, str], ...] = (
    ("frontal", "viewed from the front", "left", "superior"),
    ("horizontal", "viewed from above", "left", "posterior"),
    ("sagittal", "viewed from the left", "posterior", "superior"),
)


def _direction_arrows(ax: "Axes", h: np.ndarray, v: np.ndarray, times: np.ndarray, collection: Any, count: int = 10) -> None:
    """Arrowheads at ``count`` points spaced evenly along the arc length of the 2-D trace."""
    steps = np.hypot(np.diff(h), np.diff(v))
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] <= 0:
        return
    for target in arc[-1] * (np.arange(count) + 0.5) / count:
        index = int(np.clip(np.searchsorted(arc, target), 1, len(h) - 2))
        ax.annotate(
            "",
            xy=(h[index + 1], v[index + 1]),
            xytext=(h[index - 1], v[index - 1]),
            arrowprops={
                "arrowstyle": "-|>",
                "color": collection.cmap(collection.norm(times[index])),
                "linewidth": 0.0,
                "shrinkA": 0.0,
                "shrinkB": 0.0,
                "mutation_scale": 13,
            },
        )


def plot_vector_loops(
    heart_vector: Any,
    fs: float,
    *,
    frame: str = "body",
    title: str | None = None,
    window: tuple[float, float] | None = None,
    unit: str | None = None,
) -> "Figure":
    """Frontal, horizontal and sagittal loops of a heart vector or vectorcardiogram.

    The planes are drawn as anatomical views, whatever the input frame: frontal viewed from the
    front (subject's left to the right, superior up), horizontal viewed from above (left to the
    right, anterior down) and sagittal viewed from the subject's left (anterior to the left,
    superior up). Each axis is labelled with its component and the anatomical direction of its
    positive end (an axis is inverted where needed, so tick values stay the true components).
    All three panels share one scale with equal aspect; the trace is coloured by time, with
    arrowheads spaced evenly along it showing the sense of rotation and a dot at its start.

    Parameters
    ----------
    heart_vector : (3, n) array_like
        Rows are the three components in ``frame``: a heart vector in mA*m (body frame) or a
        Frank VCG in mV (Frank frame).
    fs : float
        Sampling rate, Hz.
    frame : {"body", "frank"}, optional
        "body": x anterior, y left, z superior (default). "frank": Frank X left, Y inferior,
        Z posterior.
    title : str, optional
        Figure title.
    window : (start, stop), optional
        Time window in s to draw (e.g. one beat); default the whole signal.
    unit : str, optional
        Unit for the axis labels. Default "mA*m" for "body", "mV" for "frank".

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    if frame not in _FRAMES:
        raise ValueError(f"frame must be one of {sorted(_FRAMES)}, got {frame!r}")
    vector = np.asarray(heart_vector, dtype=np.float64)
    if vector.ndim != 2 or vector.shape[0] != 3:
        raise ValueError(f"heart_vector must have shape (3, n), got shape {vector.shape}")
    if vector.shape[1] < 2:
        raise ValueError(f"heart_vector needs at least 2 samples, got {vector.shape[1]}")
    if not np.isfinite(vector).all():
        raise ValueError("heart_vector must be finite")
    fs = _positive(fs, "fs", "Hz")
    unit = unit if unit is not None else ("mA·m" if frame == "body" else "mV")
    times = np.arange(vector.shape[1]) / fs
    if window is not None:
        try:
            start, stop = (float(value) for value in window)
        except (TypeError, ValueError):
            raise TypeError(f"window must be a pair (start, stop) in s, got {window!r}") from None
        keep = (times >= start) & (times <= stop)
        if keep.sum() < 2:
            raise ValueError(
                f"window {window!r} s holds fewer than 2 samples of the signal (0 to {times[-1]:g} s)"
            )
        vector, times = vector[:, keep], times[keep]

    plt = _pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    directions = _FRAMES[frame]
    limit = 1.08 * float(np.abs(vector).max()) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 5.0), layout="constrained")
    norm = Normalize(times[0], times[-1])
    collection = None
    for ax, (plane, viewed, right, up) in zip(axes, _PLANES):
        (h_index, h_sign, h_name), (v_index, v_sign, v_name) = directions[right], directions[up]
        h, v = vector[h_index], vector[v_index]
        points = np.column_stack([h, v]).reshape(-1, 1, 2)
        segments = np.concatenate([points[:-1], points[1:]], axis=1)
        collection = LineCollection(segments, cmap="viridis", norm=norm, linewidth=1.4)
        collection.set_array(times[:-1])
        ax.add_collection(collection)
        _direction_arrows(ax, h, v, times, collection)
        ax.plot(h[0], v[0], "o", color="black", markersize=3)
        ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
        ax.axvline(0.0, color="0.75", linewidth=0.6, zorder=0)
        ax.set_xlim((-limit, limit) if h_sign > 0 else (limit, -limit))
        ax.set_ylim((-limit, limit) if v_sign > 0 else (limit, -limit))
        ax.set_aspect("equal")
        h_positive = right if h_sign > 0 else _OPPOSITE[right]
        v_positive = up if v_sign > 0 else _OPPOSITE[up]
        ax.set_xlabel(f"{h_name} (+ {h_positive}), {unit}")
        ax.set_ylabel(f"{v_name} (+ {v_positive}), {unit}")
        ax.set_title(f"{plane} ({viewed})", fontsize=11)
        style = {"transform": ax.transAxes, "fontsize": 8, "color": "0.35"}
        ax.text(0.99, 0.5, right, ha="right", va="center", rotation=90, **style)
        ax.text(0.01, 0.5, _OPPOSITE[right], ha="left", va="center", rotation=90, **style)
        ax.text(0.5, 0.99, up, ha="center", va="top", **style)
        ax.text(0.5, 0.01, _OPPOSITE[up], ha="center", va="bottom", **style)
        ax.tick_params(labelsize=8)
    colourbar = fig.colorbar(collection, ax=list(axes), shrink=0.8, pad=0.01)
    colourbar.set_label("time (s)")
    if title:
        fig.suptitle(title)
    return fig
