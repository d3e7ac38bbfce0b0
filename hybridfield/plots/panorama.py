"""The Electrocardio Panorama as a theta x phi grid of beats (:func:`plot_panorama`), and a metric
over view angles as a theta-phi map (:func:`plot_view_map`).

Views ``(theta, phi)`` in radians (theta polar from +z, phi azimuth from +x towards +y), labelled
in degrees; beats in mV. matplotlib is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geometry.validation import as_positive_scalar

from .paper import IDEAL_COLOUR, TRACE_COLOUR, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_panorama", "plot_view_map"]


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
    fs = as_positive_scalar(fs, "fs", "Hz")
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

    plt = pyplot()
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
    ax.add_collection(LineCollection(segments(array), colors=TRACE_COLOUR, linewidths=0.8, zorder=3, label=main_label))
    if second is not None:
        ax.add_collection(
            LineCollection(
                segments(second), colors=IDEAL_COLOUR, linewidths=0.8, alpha=0.9, zorder=4,
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
    plt = pyplot()
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
