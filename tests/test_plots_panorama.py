"""hybridfield.plots.panorama: the panorama grid (plot_panorama) and view maps (plot_view_map).

Checked: degree tick labels, one shared amplitude scale, overlays and legends, colour bars and the
standard leads' marks; rendered to PNG and checked for drawn pixels; bad inputs must fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, beats, close_figures, dark_fraction, render_png  # noqa: F401 (close_figures: autouse fixture)

plt = agg_pyplot()
from matplotlib.collections import LineCollection  # noqa: E402

from hybridfield.plots import plot_panorama, plot_view_map  # noqa: E402


THETA = np.radians([30.0, 60.0, 90.0, 120.0])
PHI = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0, 135.0])


def _panorama(scale: float = 1.0) -> np.ndarray:
    beat = beats(200, 500.0, 1.0)[:200]
    gain = 2.0 + np.cos(THETA)[:, None, None] + np.sin(PHI)[None, :, None]  # never 0
    return scale * gain * beat[None, None, :]


def test_plot_panorama_grid_labels_overlay_and_png(tmp_path):
    beats = _panorama()
    fig = plot_panorama(beats, THETA, PHI, fs=500.0, overlay=_panorama(0.5), label="physical", overlay_label="learned")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-90°", "-45°", "0°", "45°", "90°", "135°"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["30°", "60°", "90°", "120°"]
    assert "θ" in ax.get_ylabel() and "φ" in ax.get_xlabel() and "degrees" in ax.get_xlabel()
    traces = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_label() in ("physical", "learned")]
    assert len(traces) == 2 and all(len(c.get_segments()) == 24 for c in traces)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["physical", "learned"]
    # One shared amplitude scale (panel heights per mV) in every panel, the largest beat inside its panel.
    spans = np.array([np.ptp(segment[:, 1]) for segment in traces[0].get_segments()])
    per_mv = spans / np.ptp(beats, axis=2).ravel()
    assert np.allclose(per_mv, per_mv[0])
    assert spans.max() == pytest.approx(0.45 * np.ptp(beats, axis=2).max() / np.abs(beats).max())
    assert dark_fraction(render_png(fig, tmp_path, "panorama")) > 0.002


def test_plot_panorama_takes_a_dataarray_and_rejects_bad_input():
    xarray = pytest.importorskip("xarray")
    beats = _panorama()
    data = xarray.DataArray(beats.transpose(2, 0, 1), dims=("time", "theta", "phi"), coords={"theta": THETA, "phi": PHI})
    fig = plot_panorama(data, None, None, fs=500.0)
    assert len(fig.axes) == 1 and fig.axes[0].get_legend() is None
    with pytest.raises(ValueError, match=r"shape \(n_theta, n_phi, length\)"):
        plot_panorama(beats[0], THETA, PHI)
    with pytest.raises(ValueError, match="theta has 3"):
        plot_panorama(beats, THETA[:3], PHI)
    with pytest.raises(ValueError, match=r"theta must lie in \[0, pi\]"):
        plot_panorama(beats, THETA + 3.0, PHI)
    with pytest.raises(ValueError, match="phi must lie in"):
        plot_panorama(beats, THETA, PHI * 4)
    with pytest.raises(ValueError, match="overlay must have the shape"):
        plot_panorama(beats, THETA, PHI, overlay=beats[:, :, :50])
    with pytest.raises(ValueError, match="fs must be"):
        plot_panorama(beats, THETA, PHI, fs=-1.0)


def test_plot_view_map_colourbar_leads_and_symmetric_scale(tmp_path):
    theta = np.radians(np.arange(10.0, 180.0, 20.0))
    phi = np.radians(np.arange(-170.0, 180.0, 20.0))
    values = np.cos(theta)[:, None] * np.sin(phi)[None, :] * 0.8
    values[0, 0] = np.nan  # a view without a value stays grey
    fig = plot_view_map(values, theta, phi, label="Pearson r", title="map", symmetric=True)
    ax, colourbar_ax = fig.axes
    assert colourbar_ax.get_ylabel() == "Pearson r"
    mesh = ax.collections[0]
    assert mesh.get_clim() == pytest.approx((-np.nanmax(np.abs(values)), np.nanmax(np.abs(values))))
    marked = [text.get_text() for text in ax.texts]
    assert {"I", "II", "V1", "V6", "aVL"} <= set(marked)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # theta grows downwards: the head at the top
    assert dark_fraction(render_png(fig, tmp_path, "view_map")) > 0.001

    host = plt.figure()
    target = host.add_subplot()
    assert plot_view_map(values, theta, phi, label="r", ax=target, mark_leads=False) is host
    assert len(target.texts) == 0
    with pytest.raises(ValueError, match="strictly increasing"):
        plot_view_map(values, theta, phi[::-1], label="r")
    with pytest.raises(ValueError, match="all NaN"):
        plot_view_map(np.full_like(values, np.nan), theta, phi, label="r")
    with pytest.raises(ValueError, match=r"shape \(n_theta, n_phi\)"):
        plot_view_map(values[0], theta, phi, label="r")
