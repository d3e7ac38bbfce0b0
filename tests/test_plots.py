"""Figures of hybridfield.plots: layout, scale, labels, rendering and bad input.

Each figure is checked for what a reader relies on (panel count and order, the 25 mm/s and
10 mm/mV paper scale, calibration pulses, legends, bands, "(virtual)" labels, degree labels),
rendered to PNG and checked for drawn pixels; bad inputs must fail with messages that say what
was wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

import geometry  # noqa: E402
from hybridfield import ECG, PosteriorLeads  # noqa: E402
from hybridfield.plots import (  # noqa: E402
    plot_ecg,
    plot_panorama,
    plot_torso,
    plot_vector_loops,
    plot_view_map,
)

STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FS = 250.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _beats(n_samples: int, fs: float, scale: float, shift: float = 0.0) -> np.ndarray:
    """A train of Gaussian 'QRS' spikes and 'T' waves at 72 bpm, mV."""
    t = np.arange(n_samples) / fs
    phase = (t + shift) % (60.0 / 72.0)
    return scale * (np.exp(-((phase - 0.2) / 0.015) ** 2) + 0.3 * np.exp(-((phase - 0.5) / 0.05) ** 2))


def _ecg(names=STANDARD_12, seconds: float = 10.0, virtual=()) -> ECG:
    n = int(seconds * FS)
    rows = [_beats(n, FS, 1.0 - 0.12 * index, 0.01 * index) for index in range(len(names))]
    return ECG(np.array(rows), FS, list(names), virtual=list(virtual))


def _labels(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def _png(fig, tmp_path, name: str) -> np.ndarray:
    """Render to PNG and read it back: (h, w, 4) floats in [0, 1]."""
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=50)
    return plt.imread(path)


def _dark_fraction(image: np.ndarray) -> float:
    return float(np.mean(image[..., :3].max(axis=-1) < 0.35))


# --------------------------------------------------------------------------------------------
# plot_ecg
# --------------------------------------------------------------------------------------------


def test_plot_ecg_twelve_leads_clinical_layout_scale_and_calibration(tmp_path):
    shuffled = ("V6", "I", "aVF", "V2", "II", "V4", "III", "aVR", "V1", "aVL", "V3", "V5")
    fig = plot_ecg(_ecg(shuffled), title="twelve")
    axes = fig.axes
    assert len(axes) == 13  # 3 x 4 panels + the rhythm strip
    assert [_labels(ax)[0] for ax in axes[:12]] == list(STANDARD_12)  # clinical order whatever came in
    assert _labels(axes[12]) == ["II"]
    # Each column shows its own consecutive 2.5 s segment; the first column carries the lead-in.
    assert axes[0].get_xlim() == pytest.approx((-0.4, 2.5))
    assert axes[3].get_xlim() == pytest.approx((2.5, 5.0))
    assert axes[9].get_xlim() == pytest.approx((7.5, 10.0))
    assert axes[12].get_xlim() == pytest.approx((-0.4, 10.0))
    trace_times = axes[3].lines[0].get_xdata()
    assert trace_times.min() >= 2.5 - 1.5 / FS and trace_times.max() <= 5.0 + 1.5 / FS
    # The paper is to scale: 25 mm per second and 10 mm per mV.
    width_in, height_in = fig.get_size_inches()
    for ax in (axes[0], axes[4], axes[12]):
        box = ax.get_position()
        (t0, t1), (v0, v1) = ax.get_xlim(), ax.get_ylim()
        assert box.width * width_in * 25.4 / (t1 - t0) == pytest.approx(25.0, rel=1e-6)
        assert box.height * height_in * 25.4 / (v1 - v0) == pytest.approx(10.0, rel=1e-6)
    # Grid: minor lines every 0.04 s (1 mm), major every 0.2 s (5 mm).
    vertical = [c for c in axes[4].collections if isinstance(c, LineCollection)][:2]
    spacings = sorted(np.diff(sorted({round(seg[0, 0], 6) for seg in c.get_segments()})).mean() for c in vertical)
    assert spacings == pytest.approx([0.04, 0.2])
    # A 1 mV calibration pulse at the start of each of the 4 rows.
    pulses = [line for ax in axes for line in ax.lines if line.get_gid() == "calibration"]
    assert len(pulses) == 4
    assert all(np.ptp(line.get_ydata()) == pytest.approx(1.0) for line in pulses)
    assert _dark_fraction(_png(fig, tmp_path, "ecg12")) > 0.002


def test_plot_ecg_overlays_bands_and_virtual_labels(tmp_path):
    ecg = _ecg(virtual=["V1", "V2"])
    physical = ECG(ecg.signals * 0.8, FS, ecg.lead_names)
    learned = ECG(ecg.signals * 1.1, FS, ecg.lead_names)
    bands = {"V1": (ecg["V1"] - 0.1, ecg["V1"] + 0.1), "v2": (ecg["V2"] - 0.2, ecg["V2"] + 0.2)}
    fig = plot_ecg(ecg, overlays={"physical": physical, "learned": learned}, bands=bands)
    legend_texts = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend_texts == ["recorded", "virtual", "physical", "learned", "band"]
    labels = [label for ax in fig.axes for label in _labels(ax)]
    assert "V1 (virtual)" in labels and "V2 (virtual)" in labels and "V3" in labels
    panel_v1 = fig.axes[STANDARD_12.index("V1")]
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in panel_v1.lines if line.get_gid() is None]
    assert len(colours) == 3 and len(set(colours)) == 3  # recorded (virtual blue) + two overlays
    band_patches = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "band"]
    assert len(band_patches) == 2
    assert _dark_fraction(_png(fig, tmp_path, "overlays")) > 0.002


def test_plot_ecg_posterior_bands_on_non_standard_leads(tmp_path):
    names = ["V7", "V8", "V9", "view(90,130)"]
    ecg = _ecg(names, seconds=3.0, virtual=["V7", "view(90,130)"])
    rng = np.random.default_rng(0)
    draws = ecg.select(["V7", "view(90,130)"]).signals[None] + rng.normal(0.0, 0.1, (200, 2, ecg.n_samples))
    posterior = PosteriorLeads(
        names=("V7 (virtual)", "view(90,130) (virtual)"),
        fs=FS,
        draws=draws,
        heart_vector_draws=np.zeros((200, 3, ecg.n_samples)),
        input_leads=("I", "II", "V5"),
        nuisance={},
        metadata={},
    )
    fig = plot_ecg(ecg, bands=posterior, probability=0.8)
    assert len(fig.axes) == 5  # 4 panels in one row + rhythm strip (no lead II: first lead, V7)
    assert _labels(fig.axes[-1]) == ["V7 (virtual)"]
    assert "view(90,130) (virtual)" in _labels(fig.axes[3])
    legend_texts = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "80 % credible band" in legend_texts
    # Bands sit where the posterior's 80 % interval is (panels V7, view, and the V7 rhythm strip).
    banded = [ax for ax in fig.axes if any(c.get_gid() == "band" for c in ax.collections)]
    assert banded == [fig.axes[0], fig.axes[3], fig.axes[4]]
    lower, upper = posterior.interval(0.8)
    band = next(c for c in fig.axes[3].collections if c.get_gid() == "band")
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(upper[1][: int(2.5 * FS) + 2].max(), abs=1e-9)
    # A 3 s record is shorter than 4 columns of 2.5 s: every column shows the same 0-2.5 s.
    assert fig.axes[3].get_xlim() == pytest.approx((0.0, 2.5))
    assert fig.axes[-1].get_xlim() == pytest.approx((-0.4, 3.0))
    assert _dark_fraction(_png(fig, tmp_path, "posterior")) > 0.001


def test_plot_ecg_accepts_a_mapping_with_fs_and_a_lead_selection():
    signals = {"I": _beats(1000, 500.0, 1.0), "II": _beats(1000, 500.0, 0.5), "V5": _beats(1000, 500.0, 0.7)}
    fig = plot_ecg(signals, fs=500.0, leads=["V5", "I"], rhythm_lead=None)
    assert [_labels(ax)[0] for ax in fig.axes] == ["V5", "I"]
    with pytest.raises(TypeError, match="fs="):
        plot_ecg(signals)


def test_plot_ecg_rejects_bad_input():
    ecg = _ecg()
    short = ECG(ecg.signals[:, :1000], FS, ecg.lead_names)
    with pytest.raises(ValueError, match="same time span"):
        plot_ecg(ecg, overlays={"short": short})
    with pytest.raises(ValueError, match="'V9'.*not plotted"):
        plot_ecg(ecg, bands={"V9": (ecg["V1"], ecg["V1"])})
    with pytest.raises(ValueError, match=r"shape \(2500,\)"):
        plot_ecg(ecg, bands={"V1": (ecg["V1"][:100], ecg["V1"][:100])})
    with pytest.raises(ValueError, match="lower exceeds upper"):
        plot_ecg(ecg, bands={"V1": (ecg["V1"] + 1.0, ecg["V1"])})
    with pytest.raises(ValueError, match="'V8' is in neither ecg nor overlays"):
        plot_ecg(ecg, leads=["I", "V8"])
    with pytest.raises(ValueError, match="rhythm_lead 'V9'"):
        plot_ecg(ecg, rhythm_lead="V9")
    with pytest.raises(ValueError, match="probability must be in"):
        plot_ecg(ecg, bands={"V1": (ecg["V1"], ecg["V1"])}, probability=1.5)
    with pytest.raises(ValueError, match="seconds_per_column"):
        plot_ecg(ecg, seconds_per_column=0.0)
    with pytest.raises(TypeError, match="ecg must be an ECG"):
        plot_ecg(np.zeros((12, 100)))
    with pytest.raises(ValueError, match="has none of the plotted leads"):
        plot_ecg(ecg, overlays={"other": _ecg(["V7"])})


# --------------------------------------------------------------------------------------------
# plot_panorama and plot_view_map
# --------------------------------------------------------------------------------------------

THETA = np.radians([30.0, 60.0, 90.0, 120.0])
PHI = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0, 135.0])


def _panorama(scale: float = 1.0) -> np.ndarray:
    beat = _beats(200, 500.0, 1.0)[:200]
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
    assert _dark_fraction(_png(fig, tmp_path, "panorama")) > 0.002


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
    assert _dark_fraction(_png(fig, tmp_path, "view_map")) > 0.001

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


# --------------------------------------------------------------------------------------------
# plot_torso and plot_vector_loops
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torso():
    return geometry.default_torso()


def test_plot_torso_electrodes_heart_and_views(torso, tmp_path):
    views = ["V1", "view(90,130)", (np.radians(132.0), np.radians(-99.0))]
    fig = plot_torso(torso, electrodes=["standard12", "posterior"], views=views, title="torso")
    (ax,) = fig.axes
    texts = {text.get_text() for text in ax.texts}
    assert {"RA", "LA", "LL", "V1", "V6", "V7", "V9"} <= texts
    assert {"view(90,130)", "(132°, -99°)"} <= texts
    assert ax.get_box_aspect() / ax.get_box_aspect()[0] == pytest.approx(np.ptp(torso.vertices, axis=0) / np.ptp(torso.vertices[:, 0]))
    assert any(collection.get_gid() == "torso" for collection in ax.collections)
    assert "heart centre" in [text.get_text() for text in ax.get_legend().get_texts()]
    assert _dark_fraction(_png(fig, tmp_path, "torso")) > 0.0005


def test_plot_torso_image_surface_colourbar(torso):
    fig = plot_torso(torso, electrodes=None, image_surface=True)
    assert len(fig.axes) == 2
    assert "mV per mA" in fig.axes[1].get_ylabel()
    surface = next(c for c in fig.axes[0].collections if c.get_gid() == "torso")
    colours = surface.get_facecolor()
    assert len(np.unique(colours.round(3), axis=0)) > 10  # coloured by magnitude, not one colour


def test_plot_torso_rejects_bad_input(torso):
    with pytest.raises(ValueError, match="V13"):
        plot_torso(torso, views=["V13"])
    with pytest.raises(ValueError, match="theta must lie in"):
        plot_torso(torso, views=[(4.0, 0.0)])
    with pytest.raises(ValueError, match="system must be one of"):
        plot_torso(torso, electrodes="nonsense")
    with pytest.raises(TypeError, match="geometry.Torso"):
        plot_torso("torso")


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
