"""hybridfield.plots.paper: ECG paper (range, grid, panels to scale) and the shared signal checks."""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, close_figures  # noqa: F401 (close_figures: autouse fixture)

plt = agg_pyplot()
from matplotlib.collections import LineCollection  # noqa: E402

from hybridfield.plots import paper  # noqa: E402


def test_named_signals_takes_a_mapping_or_a_pair_and_checks_them():
    names, array = paper.named_signals({"I": [0.0, 1.0, 2.0], "V7": np.ones(3)}, "signals")
    assert names == ["I", "V7"] and array.shape == (2, 3) and array.dtype == np.float64
    names, array = paper.named_signals((["a", "b"], np.zeros((2, 4))), "signals")
    assert names == ["a", "b"] and array.shape == (2, 4)
    with pytest.raises(TypeError, match="signals must be a mapping"):
        paper.named_signals(np.zeros((2, 4)), "signals")
    with pytest.raises(ValueError, match="same length"):
        paper.named_signals({"I": np.zeros(3), "II": np.zeros(4)}, "signals")
    with pytest.raises(ValueError, match="infinite"):
        paper.named_signals({"I": [0.0, np.inf]}, "signals")
    with pytest.raises(ValueError, match="at least 2 samples"):
        paper.named_signals({"I": [0.0]}, "signals")
    with pytest.raises(ValueError, match="2 names for 1 signal rows"):
        paper.named_signals((["a", "b"], np.zeros(4)), "signals")


def test_paper_range_is_whole_major_squares_around_the_signals():
    assert paper.paper_range([np.zeros(5)]) == (-1.0, 1.0)  # at least -0.5..0.5 mV, plus margin
    assert paper.paper_range([np.array([-0.2, 1.42, np.nan])]) == (-1.0, 2.0)
    low, high = paper.paper_range([np.array([-3.3]), np.array([0.7])])
    assert (low, high) == (-3.5, 1.0)
    assert low % paper.MAJOR_MV == 0 and high % paper.MAJOR_MV == 0


def test_paper_figure_places_panels_to_scale_with_the_grid():
    fig, axes, scale = paper.paper_figure(3, (3, 1), 2.0, -1.0, 1.5, "title")
    assert len(axes) == 3 and scale >= 1.0
    width_in, height_in = fig.get_size_inches()
    box = axes[1].get_position()
    assert box.width * width_in * 25.4 / 2.0 == pytest.approx(scale * paper.MM_PER_S)
    assert box.height * height_in * 25.4 / 2.5 == pytest.approx(scale * paper.MM_PER_MV)
    vertical = [c for c in axes[0].collections if isinstance(c, LineCollection)][:2]
    spacings = sorted(np.diff(sorted({round(seg[0, 0], 6) for seg in c.get_segments()})).mean() for c in vertical)
    assert spacings == pytest.approx([paper.MINOR_S, paper.MAJOR_S])
    paper.panel_label(axes[0], "V1" + paper.VIRTUAL_SUFFIX, paper.VIRTUAL_COLOUR)
    assert axes[0].texts[0].get_text() == "V1 (virtual)"


def test_pyplot_is_matplotlib_pyplot():
    assert paper.pyplot() is plt
