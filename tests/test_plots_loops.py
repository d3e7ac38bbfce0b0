"""hybridfield.plots.loops: frontal, horizontal and sagittal vector loops (plot_vector_loops)."""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, close_figures, render_png  # noqa: F401 (close_figures: autouse fixture)

agg_pyplot()

from hybridfield.plots import plot_vector_loops  # noqa: E402


def test_plot_vector_loops_spread_cloud_and_shape_check():
    t = np.arange(400) / 400.0
    vector = np.array([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t), 0.5 * np.sin(4 * np.pi * t)])
    draws = vector[None] * np.linspace(0.8, 1.2, 100)[:, None, None]
    fig = plot_vector_loops(vector, 400.0, spread=draws, window=(0.1, 0.9))
    clouds = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "spread"]
    assert len(clouds) == 3 and all(len(c.get_segments()) == 40 for c in clouds)
    # The axes make room for the widest draw (1.2 x the loop), not only for the loop itself.
    assert abs(fig.axes[0].get_xlim()[0]) >= np.abs(draws[:, :, 40:361]).max()
    with pytest.raises(ValueError, match=r"spread must have shape \(n_draws, 3, 400\)"):
        plot_vector_loops(vector, 400.0, spread=draws[:, :2])
