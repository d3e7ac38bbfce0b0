"""Figures: ECG prints and lead panels on ECG paper, vector loops, physical versus unit-vector
views, panoramas over view angles, and the torso in 3-D.

- :func:`plot_ecg`: a record as a clinical 12-lead print (3 x 4 + rhythm strip, calibration
  pulses), with overlays and credible bands; any lead list.
- :func:`plot_leads`: one ECG-paper panel per lead.
- :func:`plot_views`: physical versus unit-vector (Nef-Net) projections, view by view.
- :func:`plot_vector_loops`: frontal, horizontal and sagittal loops, with a posterior cloud.
- :func:`plot_panorama`: a theta x phi grid of beats; :func:`plot_view_map`: a metric over views.
- :func:`plot_torso`: torso, electrodes, heart centre, views' surface points, image surface.

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
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_ecg", "plot_leads", "plot_panorama", "plot_torso", "plot_vector_loops", "plot_view_map", "plot_views"]

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


def _grid_lines(ax: "Axes", duration: float, low: float, high: float, minor: bool, *, start: float = 0.0) -> None:
    """Draw the ECG paper grid as line collections (no ticks involved, any length works).

    The grid covers times ``start`` to ``duration`` (s; the end time) and ``low`` to ``high`` (mV);
    its lines sit at whole multiples of the square sizes, so panels of one record line up.
    """
    for step, colour, width, draw in (
        (_MINOR_S, _MINOR_COLOUR, 0.4, minor),
        (_MAJOR_S, _MAJOR_COLOUR, 0.8, True),
    ):
        if not draw:
            continue
        first = np.ceil(start / step - 1e-9) * step
        times = np.arange(first, duration + 1e-9, step)
        ax.vlines(times, low, high, colors=colour, linewidth=width, zorder=0)
    for step, colour, width, draw in (
        (_MINOR_MV, _MINOR_COLOUR, 0.4, minor),
        (_MAJOR_MV, _MAJOR_COLOUR, 0.8, True),
    ):
        if not draw:
            continue
        first = np.ceil(low / step - 1e-9) * step
        levels = np.arange(first, high + 1e-9, step)
        ax.hlines(levels, start, duration, colors=colour, linewidth=width, zorder=0)


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


def _label(ax: "Axes", text: str, colour: str = "black", x: float = 0.006) -> None:
    """Lead name in the top-left corner of a panel (``x`` in axes fraction)."""
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
    spread: Any = None,
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
    spread : (n_draws, 3, n) array_like, optional
        Draws of the same vector (e.g. ``PosteriorLeads.heart_vector_draws``, mA*m), in the same
        frame and on the same time base as ``heart_vector``. Up to 40 of them, evenly picked, are
        drawn as faint grey loops behind the trace: a cloud showing how sure the loop is.

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
    draws = None
    if spread is not None:
        draws = np.asarray(spread, dtype=np.float64)
        if draws.ndim != 3 or draws.shape[1:] != vector.shape or draws.shape[0] < 1:
            raise ValueError(
                f"spread must have shape (n_draws, 3, {vector.shape[1]}) to match heart_vector {vector.shape}, "
                f"got shape {draws.shape}"
            )
        if not np.isfinite(draws).all():
            raise ValueError("spread must be finite")
        # A few dozen faint loops show the spread; thousands would only cost time.
        picked = np.unique(np.linspace(0, draws.shape[0] - 1, min(40, draws.shape[0])).round().astype(int))
        draws = draws[picked]
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
        if draws is not None:
            draws = draws[:, :, keep]

    plt = _pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    directions = _FRAMES[frame]
    largest = float(np.abs(vector).max()) if draws is None else max(float(np.abs(vector).max()), float(np.abs(draws).max()))
    limit = 1.08 * largest or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 5.0), layout="constrained")
    norm = Normalize(times[0], times[-1])
    collection = spread_handle = None
    for ax, (plane, viewed, right, up) in zip(axes, _PLANES):
        (h_index, h_sign, h_name), (v_index, v_sign, v_name) = directions[right], directions[up]
        h, v = vector[h_index], vector[v_index]
        if draws is not None:
            # One LineCollection of all the draws' loops: cheap to draw, faint where few overlap.
            cloud = LineCollection(
                [np.column_stack([draw[h_index], draw[v_index]]) for draw in draws],
                colors="0.45",
                linewidths=0.7,
                alpha=max(0.1, min(0.5, 4.0 / len(draws))),
                zorder=1,
                label=f"posterior draws ({len(draws)} shown)",
                gid="spread",
            )
            ax.add_collection(cloud)
            spread_handle = cloud
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
    if draws is not None:
        fig.legend(handles=[spread_handle], loc="outside lower center", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------------------
# The clinical 12-lead print (plot_ecg)
# --------------------------------------------------------------------------------------------

_STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
# Overlay colours: none of them red (the paper), black (recorded) or blue (virtual, bands).
_OVERLAY_COLOURS = ("#e07b00", "#2a9d3f", "#8e44ad", "#00a3b4", "#a0522d", "#d81b60")
_BAND_COLOUR = "#7fb3e6"
_VIRTUAL_SUFFIX = " (virtual)"
# Lead-in before t = 0 on every row: 0.4 s (two major squares) holding the 1 mV, 0.2 s pulse.
_LEAD_IN_S = 0.4
_CALIBRATION_T = np.array([-0.4, -0.3, -0.3, -0.1, -0.1, 0.0])
_CALIBRATION_MV = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
_ECG_COLUMNS = 4


def _lead_key(name: str) -> str:
    """Case-insensitive key of a lead name, with any " (virtual)" mark removed."""
    from .leads import canonical_lead_name

    text = str(name).strip()
    if text.lower().endswith(_VIRTUAL_SUFFIX):
        text = text[: -len(_VIRTUAL_SUFFIX)]
    return canonical_lead_name(text).lower()


class _Leads:
    """Named signals on one time base: names, (n_leads, n) mV, fs Hz, virtual names, key -> row."""

    def __init__(self, names: list[str], signals: np.ndarray, fs: float, virtual: set[str]) -> None:
        self.names = names
        self.signals = signals
        self.fs = fs
        self.row = {_lead_key(name): index for index, name in enumerate(names)}
        self.virtual_keys = {_lead_key(name) for name in virtual}

    @property
    def duration(self) -> float:
        return self.signals.shape[1] / self.fs

    def get(self, key: str) -> np.ndarray | None:
        index = self.row.get(key)
        return None if index is None else self.signals[index]


def _as_leads(value: Any, name: str, fs: float | None) -> _Leads:
    """An ECG (duck-typed: signals, fs, lead_names, virtual) or a mapping lead -> (n,) mV with ``fs``."""
    if all(hasattr(value, attribute) for attribute in ("signals", "fs", "lead_names")):
        signals = np.asarray(value.signals, dtype=np.float64)
        if signals.ndim != 2:
            raise ValueError(f"{name}.signals must be (n_leads, n_samples), got shape {signals.shape}")
        names = [str(lead) for lead in value.lead_names]
        return _Leads(names, signals, _positive(value.fs, f"{name}.fs", "Hz"), set(getattr(value, "virtual", ())))
    if isinstance(value, Mapping):
        if fs is None:
            raise TypeError(f"{name} is a mapping of signals, so its sampling rate must be given: pass fs=... (Hz)")
        names, signals = _named_signals(value, name)
        return _Leads(names, signals, _positive(fs, "fs", "Hz"), set())
    raise TypeError(
        f"{name} must be an ECG or a mapping lead name -> (n,) array in mV, got {type(value).__name__}"
    )


def _check_same_duration(other: _Leads | tuple[int, float], reference: _Leads, what: str) -> None:
    """Signals drawn together must cover the same time span (within one sample period)."""
    n, fs = (other.signals.shape[1], other.fs) if isinstance(other, _Leads) else other
    tolerance = max(1.0 / fs, 1.0 / reference.fs) + 1e-9
    if abs(n / fs - reference.duration) > tolerance:
        raise ValueError(
            f"{what} lasts {n / fs:g} s ({n} samples at {fs:g} Hz) but ecg lasts {reference.duration:g} s "
            f"({reference.signals.shape[1]} samples at {reference.fs:g} Hz); they must cover the same time span"
        )


def _ecg_bands(
    bands: Any, probability: float, plotted: dict[str, str], reference: _Leads
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float, str]:
    """Bands -> ({lead key: (lower, upper)}, fs of the bands, legend label)."""
    if hasattr(bands, "interval") and hasattr(bands, "names"):  # PosteriorLeads
        lower, upper = bands.interval(probability)
        lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        fs = _positive(bands.fs, "bands.fs", "Hz")
        _check_same_duration((lower.shape[1], fs), reference, "bands")
        result = {
            _lead_key(view): (lower[index], upper[index])
            for index, view in enumerate(bands.names)
            if _lead_key(view) in plotted
        }
        if not result:
            raise ValueError(
                f"bands (a posterior of {', '.join(bands.names)}) has none of the plotted leads "
                f"{', '.join(plotted.values())}"
            )
        return result, fs, f"{100 * probability:g} % credible band"
    if not isinstance(bands, Mapping):
        raise TypeError(
            f"bands must be a PosteriorLeads or a mapping lead -> (lower, upper) arrays in mV, got {type(bands).__name__}"
        )
    result = {}
    n = reference.signals.shape[1]
    for lead, pair in bands.items():
        key = _lead_key(lead)
        if key not in plotted:
            raise ValueError(f"bands has lead {lead!r}, which is not plotted; plotted leads: {', '.join(plotted.values())}")
        try:
            lower, upper = (np.asarray(side, dtype=np.float64) for side in pair)
        except (TypeError, ValueError):
            raise TypeError(f"bands[{lead!r}] must be a pair (lower, upper) of (n,) arrays in mV") from None
        if lower.shape != (n,) or upper.shape != (n,):
            raise ValueError(
                f"bands[{lead!r}] must be two arrays of shape ({n},) like the ecg, got {lower.shape} and {upper.shape}"
            )
        if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
            raise ValueError(f"bands[{lead!r}] must be finite")
        if np.any(lower > upper):
            raise ValueError(f"bands[{lead!r}]: lower exceeds upper at {int(np.sum(lower > upper))} sample(s)")
        result[key] = (lower, upper)
    return result, reference.fs, "band"


def _nice_step(span: float, max_ticks: float) -> float:
    """The smallest of 0.2, 0.5, 1, 2, 5, 10... s giving at most ``max_ticks`` ticks over ``span``."""
    for step in (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        if span / step <= max_ticks:
            return step
    return float(10 ** np.ceil(np.log10(span / max(max_ticks, 1.0))))


def _window_trace(ax: "Axes", times: np.ndarray, values: np.ndarray, start: float, stop: float, **style: Any) -> Any:
    """Plot the samples within [start, stop] s (one sample either side so the trace meets the edges)."""
    first = max(int(np.searchsorted(times, start)) - 1, 0)
    last = int(np.searchsorted(times, stop, side="right")) + 1
    return ax.plot(times[first:last], values[first:last], **style)


def plot_ecg(
    ecg: Any,
    *,
    overlays: Mapping[str, Any] | None = None,
    bands: Any = None,
    probability: float = 0.9,
    leads: Sequence[str] | None = None,
    rhythm_lead: str | None = "II",
    virtual: Sequence[str] | None = None,
    title: str | None = None,
    seconds_per_column: float = 2.5,
    fs: float | None = None,
) -> "Figure":
    """A 12-lead ECG as printed in the clinic: 3 x 4 leads, a rhythm strip, 25 mm/s and 10 mm/mV.

    With the 12 standard leads the panels follow the paper layout (columns I, II, III / aVR, aVL,
    aVF / V1-V3 / V4-V6) and each column shows its own consecutive ``seconds_per_column`` segment,
    so a row reads left to right as one continuous strip (0-2.5 s, 2.5-5 s, 5-7.5 s, 7.5-10 s for a
    10 s record). Any other lead list (V7, V8, V9, ``"view(90,130)"``...) is laid out the same
    way, filled column by column, in at most 4 columns. Below, the rhythm strip shows
    ``rhythm_lead`` over the whole row. Every row starts with a 1 mV, 0.2 s calibration pulse.
    The paper is drawn to scale (minor squares 1 mm = 0.04 s x 0.1 mV, major squares 5 mm),
    shrunk uniformly only when it would not fit on 15 x 20 inches. A record shorter than
    ``4 x seconds_per_column`` shows its first ``seconds_per_column`` in every column instead
    (all leads simultaneous; the rhythm strip shows the whole record, up to 4 columns' worth).

    Parameters
    ----------
    ecg : ECG, or mapping of str to (n,) array_like
        The record, mV. A mapping needs ``fs``. Virtual leads (``ECG.virtual``) are drawn in blue
        and labelled "(virtual)".
    overlays : mapping of str to ECG (or to a mapping lead -> (n,) array at ``ecg``'s fs), optional
        Other versions of the record, e.g. ``{"physical": ecg_phys, "learned": ecg_hybrid}``, drawn
        over it in distinct colours and named in the legend. Each must cover the same time span as
        ``ecg`` (its own fs is used) and share at least one plotted lead; it may hold leads that
        ``ecg`` lacks (plot those with ``leads=``).
    bands : PosteriorLeads, or mapping of str to (lower, upper), optional
        Shaded bands. A PosteriorLeads gives its equal-tailed ``probability`` interval for every
        plotted view (its names may carry the " (virtual)" mark); a mapping gives lead ->
        ((n,), (n,)) arrays in mV on ``ecg``'s time base, every lead of it plotted.
    probability : float, optional
        Interval probability for a PosteriorLeads, in (0, 1). Default 0.9.
    leads : sequence of str, optional
        Leads to draw, in order (case-insensitive; from ``ecg`` or an overlay). Default: all
        leads of ``ecg``. When they are exactly the 12 standard leads the clinical order is used.
    rhythm_lead : str or None, optional
        Lead of the rhythm strip; default "II", replaced by the first plotted lead when there is
        no lead II. None: no rhythm strip.
    virtual : sequence of str, optional
        Names of the leads to mark virtual; default ``ecg.virtual`` (none for a mapping).
    title : str, optional
        Figure title.
    seconds_per_column : float, optional
        Time span of each column, s. Default 2.5.
    fs : float, optional
        Sampling rate, Hz; required when ``ecg`` is a mapping, ignored for an ECG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per lead panel (in panel order), then the rhythm strip.

    Raises
    ------
    ValueError
        Unknown leads, bands for leads that are not plotted, bands or overlays of another
        duration, lower > upper, bad ``probability`` or ``seconds_per_column``.
    TypeError
        Inputs of the wrong kind.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridfield import ECG
    >>> ecg = ECG(np.zeros((3, 5000)), 500.0, ["V7", "V8", "V9"], virtual=["V9"])
    >>> fig = plot_ecg(ecg)  # 3 panels in one row + a rhythm strip of V7
    """
    main = _as_leads(ecg, "ecg", fs)
    try:
        probability = float(probability)
    except (TypeError, ValueError):
        raise TypeError(f"probability must be a number in (0, 1), got {probability!r}") from None
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), e.g. 0.9, got {probability}")
    column_span = _positive(seconds_per_column, "seconds_per_column", "s")

    layers: list[tuple[str, _Leads]] = []
    if overlays is not None:
        if not isinstance(overlays, Mapping):
            raise TypeError(f"overlays must be a mapping label -> ECG, got {type(overlays).__name__}")
        for label, overlay in overlays.items():
            source = _as_leads(overlay, f"overlays[{label!r}]", main.fs)
            _check_same_duration(source, main, f"overlays[{label!r}]")
            layers.append((str(label), source))

    # Which leads, in which order and layout.
    available: dict[str, str] = {}
    for source in [main] + [source for _, source in layers]:
        for name in source.names:
            available.setdefault(_lead_key(name), name)
    if leads is None:
        wanted = list(main.names)
    else:
        wanted = [leads] if isinstance(leads, str) else list(leads)
        if not wanted:
            raise ValueError("leads must name at least one lead, got an empty sequence")
    keys = []
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"leads must be lead names (str), got {type(name).__name__} {name!r}")
        key = _lead_key(name)
        if key not in available:
            raise ValueError(f"lead {name!r} is in neither ecg nor overlays; available: {', '.join(available.values())}")
        if key in keys:
            raise ValueError(f"leads names {name!r} twice")
        keys.append(key)
    standard_keys = [_lead_key(name) for name in _STANDARD_12]
    if sorted(keys) == sorted(standard_keys):
        keys = standard_keys
        rows = 3
    else:
        rows = int(np.ceil(len(keys) / _ECG_COLUMNS))
    columns = int(np.ceil(len(keys) / rows))
    plotted = {key: available[key] for key in keys}

    for label, source in layers:
        if not any(key in source.row for key in keys):
            raise ValueError(
                f"overlays[{label!r}] has none of the plotted leads {', '.join(plotted.values())}; "
                f"it has {', '.join(source.names)}"
            )
    if virtual is None:
        virtual_keys = main.virtual_keys
    else:
        virtual_names = [virtual] if isinstance(virtual, str) else list(virtual)
        virtual_keys = set()
        for name in virtual_names:
            if _lead_key(name) not in plotted:
                raise ValueError(f"virtual names {name!r}, which is not plotted; plotted leads: {', '.join(plotted.values())}")
            virtual_keys.add(_lead_key(name))

    band_by_key: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    band_fs, band_label = main.fs, "band"
    if bands is not None:
        band_by_key, band_fs, band_label = _ecg_bands(bands, probability, plotted, main)

    rhythm_key = None
    if rhythm_lead is not None:
        if not isinstance(rhythm_lead, str):
            raise TypeError(f"rhythm_lead must be a lead name or None, got {type(rhythm_lead).__name__}")
        rhythm_key = _lead_key(rhythm_lead)
        if rhythm_key not in available:
            if rhythm_key != "ii":
                raise ValueError(
                    f"rhythm_lead {rhythm_lead!r} is in neither ecg nor overlays; available: {', '.join(available.values())}"
                )
            rhythm_key = keys[0]  # no lead II: the default falls back to the first panel's lead

    # Time windows: consecutive segments when the record is long enough, else simultaneous.
    duration = main.duration
    consecutive = duration >= columns * column_span - 0.5 / main.fs
    segment = column_span if consecutive else min(column_span, duration)
    windows = [(c * segment, (c + 1) * segment) if consecutive else (0.0, segment) for c in range(columns)]
    rhythm_window = (0.0, columns * segment if consecutive else min(duration, columns * column_span))

    # One amplitude range for every panel (calibration pulse included), as on paper.
    drawn = [main.get(key) for key in keys if main.get(key) is not None]
    drawn += [source.get(key) for _, source in layers for key in keys if source.get(key) is not None]
    drawn += [side for pair in band_by_key.values() for side in pair]
    low, high = _paper_range(drawn + [_CALIBRATION_MV])

    # Geometry, inches: columns touch (a row is one strip); the first column carries the lead-in.
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator

    column_gap_in = 0.0 if consecutive else 0.3
    row_width_s = _LEAD_IN_S + columns * segment
    rhythm_width_s = _LEAD_IN_S + rhythm_window[1]
    row_height_mm = (high - low) * _MM_PER_MV
    n_rows_total = rows + (rhythm_key is not None)
    width_mm = max(row_width_s, rhythm_width_s) * _MM_PER_S + (columns - 1) * column_gap_in * 25.4
    scale = min(
        max(1.0, _MIN_WIDTH_IN * 25.4 / width_mm),
        _MAX_WIDTH_IN * 25.4 / width_mm,
        _MAX_HEIGHT_IN * 25.4 / (n_rows_total * row_height_mm),
    )
    inch_per_s = scale * _MM_PER_S / 25.4
    panel_h = scale * row_height_mm / 25.4
    has_legend = bool(layers) or bool(band_by_key) or (
        bool(virtual_keys & set(keys)) and bool(set(keys) - virtual_keys)
    )
    left, right, bottom = 0.6, 0.25, 0.55
    top = (0.5 if title else 0.15) + (0.3 if has_legend else 0.0)
    row_gap = 0.06
    rhythm_gap = row_gap if consecutive else 0.45  # simultaneous columns label their own time axes
    fig_w = left + right + max(row_width_s, rhythm_width_s) * inch_per_s + (columns - 1) * column_gap_in
    fig_h = bottom + top + n_rows_total * panel_h + (rows - 1) * row_gap + (rhythm_gap if rhythm_key else 0.0)
    fig = plt.figure(figsize=(fig_w, fig_h))
    minor = scale / 25.4 * fig.dpi >= 2.5  # a minor square spans at least 2.5 pixels

    colours = {label: _OVERLAY_COLOURS[index % len(_OVERLAY_COLOURS)] for index, (label, _) in enumerate(layers)}
    main_times = np.arange(main.signals.shape[1]) / main.fs
    band_times = np.arange(next(iter(band_by_key.values()))[0].shape[0]) / band_fs if band_by_key else None

    def panel(x0: float, y0: float, key: str, window: tuple[float, float], first: bool) -> "Axes":
        start = window[0] - (_LEAD_IN_S if first else 0.0)
        stop = window[1]
        ax = fig.add_axes(
            (x0 / fig_w, y0 / fig_h, (stop - start) * inch_per_s / fig_w, panel_h / fig_h)
        )
        _grid_lines(ax, stop, low, high, minor, start=start)
        ax.set_xlim(start, stop)
        ax.set_ylim(low, high)
        for spine in ax.spines.values():
            spine.set_color(_MAJOR_COLOUR)
        if not first and consecutive:
            ax.spines["left"].set_color("0.25")  # where the printer switches leads
        # Amplitude ticks strictly inside the panel: touching rows would otherwise print the top
        # label of one row over the bottom label of the row above.
        inch_per_mv = panel_h / (high - low)
        step = next((s for s in (_MAJOR_MV, 1.0, 2.0, 5.0) if s * inch_per_mv >= 0.22), 10.0)
        ax.yaxis.set_major_locator(FixedLocator(np.arange(np.ceil(low / step + 1e-9) * step, high - 1e-9, step)))
        ax.tick_params(bottom=False, labelbottom=False, labelleft=first, labelsize=8, length=2)
        if first:
            calibration_t = _CALIBRATION_T + window[0]
            ax.plot(calibration_t, _CALIBRATION_MV, color="black", linewidth=1.1, zorder=3, gid="calibration")
        if key in band_by_key:
            lower, upper = band_by_key[key]
            keep = (band_times >= window[0] - 1.0 / band_fs) & (band_times <= window[1] + 1.0 / band_fs)
            ax.fill_between(
                band_times[keep], lower[keep], upper[keep], color=_BAND_COLOUR, alpha=0.55, linewidth=0, zorder=2, gid="band"
            )
        is_virtual = key in virtual_keys
        signal = main.get(key)
        if signal is not None:
            colour = _VIRTUAL_COLOUR if is_virtual else _TRACE_COLOUR
            _window_trace(ax, main_times, signal, window[0], window[1], color=colour, linewidth=0.9, zorder=4)
        for label, source in layers:
            values = source.get(key)
            if values is not None:
                times = np.arange(values.shape[0]) / source.fs
                _window_trace(
                    ax, times, values, window[0], window[1], color=colours[label], linewidth=0.9, alpha=0.9, zorder=5
                )
        name = plotted.get(key) or available[key]
        text_x = (_LEAD_IN_S + 0.04) / (stop - start) if first else 0.006
        _label(ax, f"{name}{_VIRTUAL_SUFFIX}" if is_virtual else name, _VIRTUAL_COLOUR if is_virtual else "black", x=text_x)
        return ax

    def time_axis(ax: "Axes", window: tuple[float, float]) -> None:
        span = window[1] - window[0]
        step = _nice_step(span, max(2.0, span * inch_per_s * 1.5))
        ax.xaxis.set_major_locator(FixedLocator(np.arange(np.ceil(window[0] / step - 1e-9) * step, window[1] + 1e-9, step)))
        ax.tick_params(bottom=True, labelbottom=True)
        ax.set_xlabel("time (s)", fontsize=9)

    axes = []
    for index, key in enumerate(keys):
        column, row = divmod(index, rows)
        x0 = left + (0.0 if column == 0 else (_LEAD_IN_S + column * segment) * inch_per_s + column * column_gap_in)
        y0 = fig_h - top - (row + 1) * panel_h - row * row_gap
        ax = panel(x0, y0, key, windows[column], column == 0)
        if row == (rows - 1) // 2 and column == 0:
            ax.set_ylabel("mV", fontsize=9)
        bottom_row = row == rows - 1 or index == len(keys) - 1
        if bottom_row and (rhythm_key is None or not consecutive):
            time_axis(ax, windows[column])
        axes.append(ax)
    if rhythm_key is not None:
        y0 = fig_h - top - rows * panel_h - (rows - 1) * row_gap - rhythm_gap - panel_h
        ax = panel(left, y0, rhythm_key, rhythm_window, True)
        time_axis(ax, rhythm_window)
        axes.append(ax)

    if has_legend:
        handles = []
        if set(keys) - virtual_keys and any(main.get(key) is not None for key in set(keys) - virtual_keys):
            handles.append(Line2D([], [], color=_TRACE_COLOUR, linewidth=1.2, label="recorded"))
        if virtual_keys & set(keys):
            handles.append(Line2D([], [], color=_VIRTUAL_COLOUR, linewidth=1.2, label="virtual"))
        handles += [Line2D([], [], color=colours[label], linewidth=1.2, label=label) for label, _ in layers]
        if band_by_key:
            handles.append(Patch(facecolor=_BAND_COLOUR, alpha=0.55, label=band_label))
        fig.legend(
            handles=handles,
            loc="lower right",
            bbox_to_anchor=(1.0 - right / fig_w, 1.0 - (top - 0.02) / fig_h),
            ncol=len(handles),
            fontsize=9,
            frameon=False,
            borderaxespad=0.0,
        )
    if title:
        fig.suptitle(title, x=left / fig_w, y=1.0 - 0.1 / fig_h, ha="left", va="top", fontsize=12)
    return fig


# --------------------------------------------------------------------------------------------
# Panorama grids and view maps
# --------------------------------------------------------------------------------------------


def _view_grid(values: Any, theta: Any, phi: Any, name: str, ndim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values on a theta x phi grid (array or DataArray) -> (values, theta degrees, phi degrees).

    A DataArray is transposed to (theta, phi[, time]); its coordinates (radians) stand in for
    ``theta``/``phi`` given as None.
    """
    from geometry.angles import view_to_degrees

    dims = getattr(values, "dims", None)
    if dims is not None and hasattr(values, "transpose"):
        wanted = ("theta", "phi", "time")[:ndim]
        if set(dims) != set(wanted):
            raise ValueError(f"{name} as a DataArray must have dims {wanted}, got {tuple(dims)}")
        values = values.transpose(*wanted)
        coords = getattr(values, "coords", {})
        if theta is None and "theta" in coords:
            theta = np.asarray(coords["theta"].values)
        if phi is None and "phi" in coords:
            phi = np.asarray(coords["phi"].values)
        values = values.values
    if theta is None or phi is None:
        raise TypeError(f"theta and phi (radians) are required unless {name} is a DataArray with theta, phi coordinates")
    array = np.asarray(values, dtype=np.float64)
    shape_text = "(n_theta, n_phi)" if ndim == 2 else "(n_theta, n_phi, length)"
    if array.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_text}, got shape {array.shape}")
    theta_array = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    phi_array = np.atleast_1d(np.asarray(phi, dtype=np.float64))
    if theta_array.ndim != 1 or phi_array.ndim != 1:
        raise ValueError(f"theta and phi must be 1-D arrays of radians, got shapes {theta_array.shape}, {phi_array.shape}")
    if array.shape[:2] != (theta_array.size, phi_array.size):
        raise ValueError(
            f"{name} has shape {array.shape} but theta has {theta_array.size} and phi {phi_array.size} values; "
            f"expected {name} of shape {shape_text} = ({theta_array.size}, {phi_array.size}{', length' if ndim == 3 else ''})"
        )
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    if np.isnan(array).all():
        raise ValueError(f"{name} is all NaN: nothing to draw")
    # Range checks with named errors (theta in [0, pi], phi in [-pi, pi], radians).
    theta_degrees = np.atleast_1d(view_to_degrees(theta_array, np.zeros_like(theta_array))[0])
    phi_degrees = np.atleast_1d(view_to_degrees(np.zeros_like(phi_array), phi_array)[1])
    return array, theta_degrees, phi_degrees


def _angle_tick_positions(count: int, max_labels: int = 24) -> np.ndarray:
    """Indices to label on an axis of ``count`` views: all of them, or every k-th."""
    step = max(1, int(np.ceil(count / max_labels)))
    return np.arange(0, count, step)


def _nice_amplitude(value: float) -> float:
    """Largest of 0.1, 0.2, 0.5, 1, 2, 5... mV not above ``value`` (scale-bar length)."""
    if value <= 0:
        return 1.0
    exponent = np.floor(np.log10(value))
    for mantissa in (5.0, 2.0, 1.0):
        if mantissa * 10**exponent <= value:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def plot_panorama(
    beats: Any,
    theta: Any,
    phi: Any,
    *,
    fs: float = 500.0,
    overlay: Any = None,
    title: str | None = None,
    label: str | None = None,
    overlay_label: str | None = None,
) -> "Figure":
    """The Electrocardio Panorama as a theta x phi grid of small beat panels (as in Nef-Net's figures).

    Rows are polar angles theta (0 = superior at the top), columns azimuths phi (0 = anterior
    midline, positive to the subject's left), both labelled in degrees. Every panel shares one
    amplitude scale (a scale bar in mV is drawn to the right) and one time span, so shapes and
    sizes compare across views. The grid is drawn in a single axes, which keeps large panoramas
    (hundreds of views) fast.

    Parameters
    ----------
    beats : (n_theta, n_phi, length) array_like or DataArray, mV
        One beat (or window) per view; a DataArray needs dims ``theta, phi, time`` (any order).
        NaN samples leave gaps.
    theta : (n_theta,) array_like, radians, or None
        Polar angles of the rows, in [0, pi]; None takes them from the DataArray's coordinates.
    phi : (n_phi,) array_like, radians, or None
        Azimuths of the columns, in [-pi, pi]; None takes them from the DataArray's coordinates.
    fs : float, optional
        Sampling rate of the beats, Hz. Default 500.
    overlay : same form and shape as ``beats``, optional
        A second panorama (e.g. the physical projection under a learned one), drawn in a second
        colour.
    title : str, optional
        Figure title.
    label, overlay_label : str, optional
        Legend entries of ``beats`` and ``overlay`` (defaults "panorama" and "overlay"); a
        legend is drawn when an overlay or a label is given.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Wrong shapes, angles out of range, infinite or all-NaN values, bad ``fs``.
    """
    array, theta_degrees, phi_degrees = _view_grid(beats, theta, phi, "beats", 3)
    fs = _positive(fs, "fs", "Hz")
    if array.shape[2] < 2:
        raise ValueError(f"beats need at least 2 samples per view, got {array.shape[2]}")
    second = None
    if overlay is not None:
        second, _, _ = _view_grid(overlay, theta, phi, "overlay", 3)
        if second.shape != array.shape:
            raise ValueError(f"overlay must have the shape of beats {array.shape}, got {second.shape}")
    n_theta, n_phi, length = array.shape
    amplitude = float(np.nanmax(np.abs(array)))
    if second is not None:
        amplitude = max(amplitude, float(np.nanmax(np.abs(second))))
    amplitude = amplitude or 1.0
    gain = 0.45 / amplitude  # panel heights per mV: the largest deflection fills 90 % of a panel

    plt = _pyplot()
    from matplotlib.collections import LineCollection

    fig_w = min(18.0, max(6.0, 0.8 * n_phi + 2.0))
    fig_h = min(14.0, max(3.5, 0.6 * n_theta + 1.6 + (0.3 if title else 0.0)))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
    x = 0.05 + 0.9 * np.arange(length) / (length - 1)
    rows, cols = np.meshgrid(np.arange(n_theta), np.arange(n_phi), indexing="ij")

    def segments(data: np.ndarray) -> list[np.ndarray]:
        # y grows downwards (theta 0 at the top), so a positive deflection is drawn as -v.
        return [
            np.column_stack([col + x, row + 0.5 - gain * data[row, col]])
            for row, col in zip(rows.ravel(), cols.ravel())
        ]

    ax.hlines(np.arange(n_theta) + 0.5, 0, n_phi, colors="0.85", linewidth=0.5, zorder=0)
    ax.vlines(np.arange(1, n_phi), 0, n_theta, colors="0.7", linewidth=0.6, zorder=0)
    ax.hlines(np.arange(1, n_theta), 0, n_phi, colors="0.7", linewidth=0.6, zorder=0)
    main_label = label or "panorama"
    ax.add_collection(LineCollection(segments(array), colors=_TRACE_COLOUR, linewidths=0.8, zorder=3, label=main_label))
    if second is not None:
        ax.add_collection(
            LineCollection(
                segments(second), colors=_IDEAL_COLOUR, linewidths=0.8, alpha=0.9, zorder=4,
                label=overlay_label or "overlay",
            )
        )
    ax.set_xlim(0, n_phi)
    ax.set_ylim(n_theta, 0)
    shown_phi = _angle_tick_positions(n_phi)
    shown_theta = _angle_tick_positions(n_theta)
    ax.set_xticks(shown_phi + 0.5, [f"{value:g}°" for value in np.round(phi_degrees[shown_phi], 1)], fontsize=8)
    ax.set_yticks(shown_theta + 0.5, [f"{value:g}°" for value in np.round(theta_degrees[shown_theta], 1)], fontsize=8)
    ax.tick_params(length=0)
    ax.set_xlabel("φ (azimuth from anterior, + towards the subject's left), degrees")
    ax.set_ylabel("θ (polar angle from superior), degrees")
    # Scale bar beside the last row: a round amplitude in mV, and the panel's time span.
    bar = _nice_amplitude(amplitude)
    bar_x = n_phi + 0.12
    ax.plot([bar_x, bar_x], [n_theta - 0.5 + gain * bar / 2, n_theta - 0.5 - gain * bar / 2],
            color="black", linewidth=2.0, clip_on=False, gid="scale_bar")
    ax.text(bar_x + 0.06, n_theta - 0.5, f"{bar:g} mV", va="center", ha="left", fontsize=8, clip_on=False)
    ax.text(
        1.0, 1.005, f"panel width {length / fs:.3g} s ({length} samples at {fs:g} Hz)",
        transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.35",
    )
    for spine in ax.spines.values():
        spine.set_color("0.5")
    if second is not None or label is not None:
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=9, frameon=False, borderaxespad=0.2)
    if title:
        fig.suptitle(title)
    return fig


def plot_view_map(
    values: Any,
    theta: Any,
    phi: Any,
    *,
    label: str,
    title: str | None = None,
    cmap: Any = None,
    symmetric: bool = False,
    ax: "Axes | None" = None,
    mark_leads: bool = True,
) -> "Figure":
    """A metric over view angles as a theta-phi map (degrees), with the standard leads' views marked.

    Parameters
    ----------
    values : (n_theta, n_phi) array_like or DataArray
        The metric per view (e.g. correlation of physical and unit-vector projections, PSNR in
        dB, interval width in mV); a DataArray needs dims ``theta, phi``. NaN cells (views without
        a value) are left grey.
    theta : (n_theta,) array_like, radians, or None
        Strictly increasing polar angles of the rows, in [0, pi]; None: the DataArray's coordinates.
    phi : (n_phi,) array_like, radians, or None
        Strictly increasing azimuths of the columns, in [-pi, pi]; None: the DataArray's coordinates.
    label : str
        Colourbar label, with the unit (e.g. ``"Pearson r"``, ``"PSNR (dB)"``).
    title : str, optional
        Axes title.
    cmap : str or Colormap, optional
        Default "viridis", or "RdBu_r" when ``symmetric``.
    symmetric : bool, optional
        Centre the colour scale on 0 (from -max|v| to +max|v|), for signed metrics.
    ax : matplotlib Axes, optional
        Draw into this axes (its figure is returned); default a new figure.
    mark_leads : bool, optional
        Mark and name the Nef-Net views of the 12 standard leads lying within the map. Default True.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Wrong shapes, angles out of range or not increasing, infinite or all-NaN values.
    """
    from geometry.angles import STANDARD_LEAD_ANGLES

    if not isinstance(label, str):
        raise TypeError(f"label must be a str (the colourbar label, with unit), got {type(label).__name__}")
    array, theta_degrees, phi_degrees = _view_grid(values, theta, phi, "values", 2)
    for axis_name, axis_values in (("theta", theta_degrees), ("phi", phi_degrees)):
        if axis_values.size < 2:
            raise ValueError(f"{axis_name} needs at least 2 values for a map, got {axis_values.size}")
        if np.any(np.diff(axis_values) <= 0):
            raise ValueError(f"{axis_name} must be strictly increasing, got {np.round(axis_values, 3).tolist()} degrees")
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.0, 5.0), layout="constrained")
    else:
        if not hasattr(ax, "pcolormesh"):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        fig = ax.figure
    limit = float(np.nanmax(np.abs(array)))
    if symmetric:
        limit = limit or 1.0
        norm_args = {"vmin": -limit, "vmax": limit}
        cmap = cmap or "RdBu_r"
    else:
        norm_args = {}
        cmap = cmap or "viridis"
    mesh = ax.pcolormesh(
        phi_degrees, theta_degrees, np.ma.masked_invalid(array), shading="nearest", cmap=cmap, **norm_args
    )
    ax.set_facecolor("0.85")
    ax.set_ylim(theta_degrees[-1] + (theta_degrees[-1] - theta_degrees[-2]) / 2,
                theta_degrees[0] - (theta_degrees[1] - theta_degrees[0]) / 2)
    ax.set_xlabel("φ (azimuth from anterior, + towards the subject's left), degrees")
    ax.set_ylabel("θ (polar angle from superior), degrees")
    colourbar = fig.colorbar(mesh, ax=ax)
    colourbar.set_label(label)
    if mark_leads:
        x_low, x_high = sorted(ax.get_xlim())
        y_low, y_high = sorted(ax.get_ylim())
        for lead, (lead_theta, lead_phi) in STANDARD_LEAD_ANGLES.items():
            t, p = np.degrees(lead_theta), np.degrees(lead_phi)
            if x_low <= p <= x_high and y_low <= t <= y_high:
                ax.plot(p, t, marker="o", markersize=4, markerfacecolor="white", markeredgecolor="black",
                        linestyle="none", zorder=4, gid="lead_marker")
                ax.annotate(lead, (p, t), xytext=(3, 3), textcoords="offset points", fontsize=7,
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5}, zorder=5)
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# The torso in 3-D
# --------------------------------------------------------------------------------------------

_MAX_TORSO_FACES = 8000  # more faces are thinned out: a translucent hull needs no finer mesh
_VIEW_NAME = re.compile(r"^\s*view\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)\s*$")


def _resolve_views(views: Any) -> list[tuple[str, float, float]]:
    """Views as (label, theta, phi radians): lead names, "view(θ,φ)" names (degrees) or (theta, phi)."""
    from geometry.angles import lead_view, view_from_degrees, view_to_degrees

    if views is None:
        return []
    if isinstance(views, str):
        views = [views]
    elif not isinstance(views, Sequence) and not isinstance(views, np.ndarray):
        raise TypeError(f"views must be a sequence of lead names and/or (theta, phi) pairs, got {type(views).__name__}")
    views = list(views)
    if len(views) == 2 and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in views):
        views = [views]  # one (theta, phi) pair given alone
    result = []
    for item in views:
        if isinstance(item, str):
            match = _VIEW_NAME.match(item)
            if match:
                theta, phi = view_from_degrees(float(match.group(1)), float(match.group(2)))
            else:
                theta, phi = lead_view(item.removesuffix(_VIRTUAL_SUFFIX))
            result.append((item.removesuffix(_VIRTUAL_SUFFIX), float(theta), float(phi)))
            continue
        try:
            theta, phi = (float(value) for value in item)
        except (TypeError, ValueError):
            raise TypeError(f"views must be lead names or (theta, phi) pairs in radians, got {item!r}") from None
        theta_degrees, phi_degrees = view_to_degrees(theta, phi)  # range check with a named error
        result.append((f"({theta_degrees:.0f}°, {phi_degrees:.0f}°)", theta, phi))
    return result


def plot_torso(
    torso: Any = None,
    *,
    electrodes: str | Sequence[str] | Mapping[str, Any] | None = "standard12",
    views: Sequence[Any] | None = None,
    image_surface: bool = False,
    elevation: float = 15.0,
    azimuth: float = -20.0,
    title: str | None = None,
) -> "Figure":
    """The torso in 3-D: translucent surface, electrodes, heart centre and the surface points of views.

    Parameters
    ----------
    torso : geometry.Torso, optional
        Default ``geometry.default_torso()``.
    electrodes : str, sequence of str, mapping, or None, optional
        Electrode system(s) to place and label (``geometry.ELECTRODE_SYSTEMS``: "standard12",
        "frank", "posterior", ...), or user positions ``name -> (3,)`` metres (projected onto the
        surface), or None for none. Names are written next to the electrodes when there are at
        most 40 of them.
    views : sequence, optional
        Views to mark where the ray from the heart centre leaves the torso: standard lead names
        (their Nef-Net angles), ``"view(θ,φ)"`` names in degrees, or ``(theta, phi)`` pairs in
        radians. The ray is drawn dashed.
    image_surface : bool, optional
        Colour the surface by the magnitude of each vertex's WCT-referenced lead vector
        (``forward.image_surface``, boundary elements; mV per mA*m, with a colourbar). Building
        the BEM takes about a second on the default torso.
    elevation, azimuth : float, optional
        Camera angles, degrees (matplotlib's ``view_init``); the default looks at the chest from
        the front right.
    title : str, optional
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Unknown electrode systems or lead names, views out of range or missing the torso.
    TypeError
        A torso that is not a geometry.Torso, or inputs of the wrong kind.
    """
    import geometry

    if torso is None:
        torso = geometry.default_torso()
    if not isinstance(torso, geometry.Torso):
        raise TypeError(f"torso must be a geometry.Torso (or None for the default torso), got {type(torso).__name__}")
    camera = []
    for name, value in (("elevation", elevation), ("azimuth", azimuth)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number of degrees, got {value!r}") from None
        if not np.isfinite(number):
            raise ValueError(f"{name} must be finite degrees, got {number}")
        camera.append(number)
    positions: dict[str, np.ndarray] = {}
    if electrodes is not None:
        if isinstance(electrodes, Mapping):
            systems: list[Any] = [electrodes]
        elif isinstance(electrodes, str):
            systems = [electrodes]
        else:
            systems = list(electrodes)
        for system in systems:
            for name, point in geometry.electrode_positions(torso, system).items():
                positions.setdefault(name, np.asarray(point, dtype=np.float64))
    resolved = _resolve_views(views)
    view_points = [torso.surface_point(theta, phi) for _, theta, phi in resolved]
    magnitudes = None
    if image_surface:
        import forward

        magnitudes = np.linalg.norm(forward.image_surface(torso), axis=1)

    plt = _pyplot()
    from matplotlib import cm
    from matplotlib.colors import Normalize
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    vertices, faces = torso.vertices, torso.faces
    if len(faces) > _MAX_TORSO_FACES:
        faces = faces[:: int(np.ceil(len(faces) / _MAX_TORSO_FACES))]
    fig = plt.figure(figsize=(8.0, 8.5))
    ax = fig.add_axes((0.0, 0.03, 0.88 if image_surface else 1.0, 0.9), projection="3d")
    if magnitudes is None:
        surface = Poly3DCollection(vertices[faces], facecolors="#d9b99b", edgecolors="#b08f70", linewidths=0.08, alpha=0.14)
    else:
        norm = Normalize(float(magnitudes.min()), float(magnitudes.max()))
        face_colours = cm.viridis(norm(magnitudes[faces].mean(axis=1)))
        face_colours[:, 3] = 0.45  # translucent, so electrodes behind stay visible
        surface = Poly3DCollection(vertices[faces], facecolors=face_colours, edgecolors="none")
        mappable = cm.ScalarMappable(norm=norm, cmap="viridis")
        colourbar = fig.colorbar(mappable, cax=fig.add_axes((0.84, 0.25, 0.025, 0.5)))
        colourbar.set_label("lead-vector magnitude of the image surface (mV per mA·m)")
    surface.set_gid("torso")
    ax.add_collection3d(surface)

    heart = np.asarray(torso.heart_center, dtype=np.float64)
    ax.scatter(*heart, color="#c0392b", s=60, marker="o", depthshade=False, label="heart centre", zorder=10)
    if positions:
        points = np.array(list(positions.values()))
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], color="black", s=14, depthshade=False, label="electrodes")
        if len(positions) <= 40:
            for name, point in positions.items():
                outward = point - heart
                outward[2] = 0.0  # push labels sideways, away from the trunk's axis
                norm_out = np.linalg.norm(outward) or 1.0
                spot = point + 0.025 * outward / norm_out
                ax.text(spot[0], spot[1], spot[2], name, fontsize=7, color="black", ha="center", va="center", zorder=11)
    for (name, _, _), point in zip(resolved, view_points):
        ax.plot(*np.column_stack([heart, point]), color="#1f4fa3", linestyle="--", linewidth=0.9)
        ax.scatter(*point, color="#1f4fa3", marker="*", s=90, depthshade=False)
        # View labels sit above their point, electrode labels beside theirs, so the two rarely collide.
        ax.text(point[0], point[1], point[2] + 0.02, name, fontsize=8, color="#1f4fa3", fontweight="bold",
                ha="center", va="bottom", zorder=11)
    if resolved:
        ax.plot([], [], color="#1f4fa3", linestyle="--", marker="*", label="views (ray from the heart centre)")

    low, high = vertices.min(axis=0), vertices.max(axis=0)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_zlim(low[2], high[2])
    ax.set_box_aspect(high - low, zoom=0.95)  # equal aspect: one metre is one metre on every axis
    ax.set_xlabel("x, anterior (m)", fontsize=9)
    ax.set_ylabel("y, left (m)", fontsize=9)
    ax.set_zlabel("z, superior (m)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.view_init(elev=camera[0], azim=camera[1])
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title(title if title else repr(torso), fontsize=11 if title else 9)
    return fig
