"""Vector loops: frontal, horizontal and sagittal loops of a heart vector or a Frank VCG, drawn as
anatomical views, with an optional cloud of posterior draws (:func:`plot_vector_loops`).

Heart vectors in mA*m (body frame: x anterior, y left, z superior) or Frank VCGs in mV (X left,
Y inferior, Z posterior); time in s from the explicit sampling rate ``fs`` (Hz). matplotlib is
imported inside the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geometry.validation import as_positive_scalar

from .paper import pyplot

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_vector_loops"]


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
    fs = as_positive_scalar(fs, "fs", "Hz")
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

    plt = pyplot()
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
