"""Maps of a learned-versus-physical comparison over the sphere (:func:`plot_comparison`).

The figure of :func:`hybridfield.compare.compare_fields`: one theta-phi map per lead field
(:func:`hybridfield.plots.plot_view_map`), on a shared colour scale. Views in radians, maps
labelled in degrees. matplotlib is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..compare import COMPARISON_METRICS
from .panorama import plot_view_map
from .paper import pyplot

if TYPE_CHECKING:  # pragma: no cover
    import xarray
    from matplotlib.figure import Figure

__all__ = ["plot_comparison"]

# metric -> (colour map, symmetric about 0)
_PLOT_STYLE: dict[str, tuple[str, bool]] = {
    "rmse": ("viridis", False),
    "r": ("RdBu_r", True),
    "amplitude_ratio": ("viridis", False),
    "lead_vector_angle": ("magma_r", False),
    "lead_vector_norm_ratio": ("viridis", False),
    "dipolar_fraction": ("viridis", False),
}


def plot_comparison(
    dataset: xarray.Dataset,
    metric: str = "lead_vector_angle",
    field: str | Sequence[str] = "learned",
    *,
    title: str | None = None,
    cmap: str | None = None,
) -> Figure:
    """Theta-phi maps of one comparison metric, one panel per field, on a shared colour scale.

    Parameters
    ----------
    dataset : xarray.Dataset
        A grid result of :func:`hybridfield.compare.compare_fields` (``views=None``; dimensions
        ``field``, ``theta``, ``phi``; ``theta`` and ``phi`` coordinates in radians).
    metric : str
        One of ``hybridfield.compare.COMPARISON_METRICS``: "rmse", "r", "amplitude_ratio",
        "lead_vector_angle", "lead_vector_norm_ratio", "dipolar_fraction".
    field : str or sequence of str
        Field(s) of ``hybridfield.compare.FIELDS`` to draw, side by side.
    title : str, optional
        Figure title (default: the metric's long name).
    cmap : str, optional
        Matplotlib colour map (default per metric; a diverging one, symmetric about 0, for r).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One map per field (in ``field`` order), each with its colour bar.

    Raises
    ------
    TypeError
        ``dataset`` is not an xarray.Dataset.
    ValueError
        A comparison over given views (no theta-phi grid), an unknown metric or field.
    """
    if not hasattr(dataset, "data_vars") or not hasattr(dataset, "dims"):
        raise TypeError(f"dataset must be an xarray.Dataset from compare_fields, got {type(dataset).__name__}")
    if "theta" not in dataset.dims or "phi" not in dataset.dims:
        raise ValueError(
            "dataset must be a grid comparison (compare_fields with views=None, dimensions theta and phi), "
            f"got dimensions {tuple(dataset.dims)}"
        )
    if metric not in COMPARISON_METRICS or metric not in dataset.data_vars:
        raise ValueError(f"metric must be one of {', '.join(COMPARISON_METRICS)}, got {metric!r}")
    fields = [field] if isinstance(field, str) else list(field)
    available = [str(value) for value in dataset["field"].values]
    unknown = [name for name in fields if name not in available]
    if not fields or unknown:
        raise ValueError(f"field must be one or more of {', '.join(available)}, got {field!r}")

    plt = pyplot()
    default_cmap, symmetric = _PLOT_STYLE[metric]
    cmap = default_cmap if cmap is None else cmap
    attrs = dataset[metric].attrs
    units = attrs.get("units", "")
    label = f"{metric} ({units})" if units and units != "1" else metric
    theta = np.asarray(dataset["theta"].values, dtype=np.float64)
    phi = np.asarray(dataset["phi"].values, dtype=np.float64)
    panels = [
        np.asarray(dataset[metric].sel(field=name).transpose("theta", "phi").values, dtype=np.float64)
        for name in fields
    ]

    fig, axes = plt.subplots(1, len(fields), figsize=(5.6 * len(fields), 4.2), squeeze=False, constrained_layout=True)
    for ax, name, values in zip(axes[0], fields, panels):
        plot_view_map(values, theta, phi, label=label, title=name, cmap=cmap, symmetric=symmetric, ax=ax)

    # One colour scale for all panels, so fields can be compared by eye.
    finite = np.concatenate([values[np.isfinite(values)] for values in panels])
    if len(fields) > 1 and finite.size:
        low, high = float(finite.min()), float(finite.max())
        if symmetric:
            high = max(abs(low), abs(high)) or 1.0
            low = -high
        for ax in axes[0]:
            for artist in ax.collections:
                if hasattr(artist, "set_clim") and artist.get_array() is not None:
                    artist.set_clim(low, high)
    fig.suptitle(title if title is not None else attrs.get("long_name", metric))
    return fig
