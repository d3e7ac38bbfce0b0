"""hybridfield.plots.views: physical versus unit-vector projections, view by view (plot_views)."""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, beats, close_figures, dark_fraction, panel_labels, render_png  # noqa: F401 (close_figures: autouse fixture)

agg_pyplot()

from hybridfield.leads import view_label  # noqa: E402
from hybridfield.plots import plot_views  # noqa: E402

FS = 250.0


def test_plot_views_overlays_with_correlation_and_amplitude_ratio(tmp_path):
    name = view_label(np.radians(90.0), np.radians(130.0))
    physical = {"V1": beats(500, FS, 1.0), name: beats(500, FS, 0.6)}
    ideal = {name: 0.5 * physical[name], "V1": 2.0 * physical["V1"]}
    fig = plot_views(physical, FS, ideal, title="views")
    assert len(fig.axes) == 2
    assert panel_labels(fig.axes[0]) == ["V1   r = 1.00, amplitude ratio 2.00"]
    assert panel_labels(fig.axes[1]) == ["view(90,130)   r = 1.00, amplitude ratio 0.50"]
    assert [text.get_text() for text in fig.legends[0].get_texts()] == [
        "physical lead field",
        "unit vector (Nef-Net)",
    ]
    assert dark_fraction(render_png(fig, tmp_path, "views")) > 0.001
    only_physical = plot_views(physical, FS)
    assert not only_physical.legends and panel_labels(only_physical.axes[0]) == ["V1"]


def test_plot_views_rejects_bad_input():
    physical = {"V1": beats(500, FS, 1.0)}
    with pytest.raises(ValueError, match="lacks the views"):
        plot_views(physical, FS, {"V2": physical["V1"]})
    with pytest.raises(ValueError, match="same length"):
        plot_views(physical, FS, {"V1": physical["V1"][:100]})
    with pytest.raises(ValueError, match="fs must be"):
        plot_views(physical, -FS)
