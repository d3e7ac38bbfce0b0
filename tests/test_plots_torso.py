"""hybridfield.plots.torso: the torso in 3-D (plot_torso).

Checked: electrodes, heart centre, views labelled as hybridfield.leads.view_label writes them
("view(90,130)", degrees), equal aspect, the image surface's colours; bad inputs must fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, close_figures, dark_fraction, render_png  # noqa: F401 (close_figures: autouse fixture)

agg_pyplot()

import geometry  # noqa: E402
from hybridfield.plots import plot_torso  # noqa: E402


@pytest.fixture(scope="module")
def torso():
    return geometry.default_torso()


def test_plot_torso_electrodes_heart_and_views(torso, tmp_path):
    views = ["V1", "view(90,130)", (np.radians(132.0), np.radians(-99.0))]
    fig = plot_torso(torso, electrodes=["standard12", "posterior"], views=views, title="torso")
    (ax,) = fig.axes
    texts = {text.get_text() for text in ax.texts}
    assert {"RA", "LA", "LL", "V1", "V6", "V7", "V9"} <= texts
    assert {"view(90,130)", "view(132,-99)"} <= texts  # leads.view_label's format, names and pairs alike
    assert ax.get_box_aspect() / ax.get_box_aspect()[0] == pytest.approx(np.ptp(torso.vertices, axis=0) / np.ptp(torso.vertices[:, 0]))
    assert any(collection.get_gid() == "torso" for collection in ax.collections)
    assert "heart centre" in [text.get_text() for text in ax.get_legend().get_texts()]
    assert dark_fraction(render_png(fig, tmp_path, "torso")) > 0.0005


def _view_texts(fig) -> list[str]:
    return [text.get_text() for text in fig.axes[0].texts]


def test_plot_torso_views_are_parsed_as_leads_parse_views_does(torso):
    from hybridfield.leads import parse_views, view_label

    # One pair or one name alone, a "view(θ,φ)" name, a lower-case lead, a " (virtual)" mark.
    assert _view_texts(plot_torso(torso, electrodes=None, views=(1.0, 0.5))) == [view_label(1.0, 0.5)]
    assert _view_texts(plot_torso(torso, electrodes=None, views="v1")) == ["V1"]
    fig = plot_torso(torso, electrodes=None, views=["view(90,130)", "v7 (virtual)"])
    names, angles, _ = parse_views([(np.radians(90.0), np.radians(130.0)), "V7"])
    assert _view_texts(fig) == names == ["view(90,130)", "V7"]
    # Each view's label sits 2 cm above where the ray of its parse_views angles leaves the torso.
    for text, (theta, phi) in zip(fig.axes[0].texts, angles):
        np.testing.assert_allclose(text.get_position_3d(), torso.surface_point(theta, phi) + [0.0, 0.0, 0.02])
    assert _view_texts(plot_torso(torso, electrodes=None, views=[])) == []


def test_plot_torso_image_surface_colourbar(torso):
    fig = plot_torso(torso, electrodes=None, image_surface=True)
    assert len(fig.axes) == 2
    assert "mV per mA" in fig.axes[1].get_ylabel()
    surface = next(c for c in fig.axes[0].collections if c.get_gid() == "torso")
    colours = surface.get_facecolor()
    assert len(np.unique(colours.round(3), axis=0)) > 10  # coloured by magnitude, not one colour


def test_plot_torso_rejects_bad_input(torso):
    with pytest.raises(ValueError, match=r"views\[0\].*V13"):
        plot_torso(torso, views=["V13"])
    with pytest.raises(ValueError, match=r"views\[1\].*\(theta, phi\)"):
        plot_torso(torso, views=["V1", (1.0, 0.2, 0.3)])
    with pytest.raises(ValueError, match="theta must lie in"):
        plot_torso(torso, views=[(4.0, 0.0)])
    with pytest.raises(ValueError, match="system must be one of"):
        plot_torso(torso, electrodes="nonsense")
    with pytest.raises(TypeError, match="geometry.Torso"):
        plot_torso("torso")
