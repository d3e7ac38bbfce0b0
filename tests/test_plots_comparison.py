"""hybridfield.plots.comparison: maps of a compare_fields grid, one per field (plot_comparison).

The dataset is built here with the layout compare_fields gives a grid comparison (dimensions
field, theta, phi; theta and phi in radians), so the figure is checked against known values.
"""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, close_figures  # noqa: F401 (close_figures: autouse fixture)

agg_pyplot()

import hybridfield  # noqa: E402
from hybridfield import compare  # noqa: E402
from hybridfield.compare import COMPARISON_METRICS, FIELDS, sphere_view_grid  # noqa: E402
from hybridfield.plots import plot_comparison  # noqa: E402


@pytest.fixture(scope="module")
def grid():
    xarray = pytest.importorskip("xarray")
    theta, phi = sphere_view_grid(5, 8)
    rng = np.random.default_rng(3)
    data_vars = {}
    for index, metric in enumerate(COMPARISON_METRICS):
        values = rng.uniform(-1.0 if metric == "r" else 0.0, 1.0 + index, (len(FIELDS), len(theta), len(phi)))
        units = {"rmse": "mV", "lead_vector_angle": "degree"}.get(metric, "1")
        data_vars[metric] = (("field", "theta", "phi"), values, {"units": units, "long_name": metric.replace("_", " ")})
    coords = {"field": list(FIELDS), "theta": ("theta", theta), "phi": ("phi", phi)}
    return xarray.Dataset(data_vars, coords=coords)


def test_plot_comparison_draws_one_map_per_field(grid):
    fig = plot_comparison(grid, "lead_vector_angle", ["unit_vector", "learned"])
    maps = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(maps) == 2
    assert [ax.get_title() for ax in maps] == ["unit_vector", "learned"]
    limits = {tuple(np.round(c.get_clim(), 9)) for ax in maps for c in ax.collections if c.get_array() is not None}
    assert len(limits) == 1  # a shared colour scale
    drawn = np.sort(np.asarray(maps[0].collections[0].get_array()).ravel())
    expected = np.sort(grid["lead_vector_angle"].sel(field="unit_vector").values.ravel())
    np.testing.assert_allclose(drawn, expected)
    assert fig.get_suptitle() == "lead vector angle"
    # r is signed: a diverging scale, symmetric about 0.
    fig = plot_comparison(grid, "r")
    low, high = fig.axes[0].collections[0].get_clim()
    assert low == pytest.approx(-high)


def test_plot_comparison_rejects_bad_input(grid):
    with pytest.raises(ValueError, match="metric"):
        plot_comparison(grid, "effective_lead_vector")
    with pytest.raises(ValueError, match="field"):
        plot_comparison(grid, "rmse", "nefnet")
    with pytest.raises(ValueError, match="grid comparison"):
        plot_comparison(grid.isel(theta=0), "rmse")
    with pytest.raises(TypeError, match="xarray.Dataset"):
        plot_comparison(np.zeros((3, 3)), "rmse")


def test_plot_comparison_lives_with_the_plots():
    assert hybridfield.plot_comparison is plot_comparison
    assert not hasattr(compare, "plot_comparison")
