"""Physical versus unit-vector (Nef-Net) projections, view by view, on ECG paper (:func:`plot_views`).

Signals in mV, time in s from the explicit sampling rate ``fs`` (Hz). matplotlib is imported
inside the function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from geometry.validation import as_positive_scalar

from .paper import IDEAL_COLOUR, TRACE_COLOUR, named_signals, panel_label, paper_figure, paper_range

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_views"]


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
        Physical signals of the views, mV, keyed by a view name (a lead name, or ``"view(90,130)"`` as
        :func:`hybridfield.leads.view_label` writes it).
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
    names, physical = named_signals(signals, "signals")
    fs = as_positive_scalar(fs, "fs", "Hz")
    ideal = None
    if unit_vector_signals is not None:
        ideal_names, ideal_array = named_signals(unit_vector_signals, "unit_vector_signals")
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
    low, high = paper_range(list(physical) + ([] if ideal is None else list(ideal)))
    fig, axes, _ = paper_figure(len(names), (len(names), 1), duration, low, high, title, ideal is not None)
    times = np.arange(n_samples) / fs
    for index, (ax, name) in enumerate(zip(axes, names)):
        ax.plot(times, physical[index], color=TRACE_COLOUR, linewidth=1.0, zorder=3, label=labels[0])
        text = name
        if ideal is not None:
            ax.plot(
                times, ideal[index], color=IDEAL_COLOUR, linewidth=1.0, linestyle="--", zorder=4, label=labels[1]
            )
            a, b = physical[index], ideal[index]
            valid = np.isfinite(a) & np.isfinite(b)
            if valid.sum() > 1 and np.std(a[valid]) > 0 and np.std(b[valid]) > 0:
                r = float(np.corrcoef(a[valid], b[valid])[0, 1])
                ratio = float(np.ptp(b[valid]) / np.ptp(a[valid]))
                text = f"{name}   r = {r:.2f}, amplitude ratio {ratio:.2f}"
        panel_label(ax, text)
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
