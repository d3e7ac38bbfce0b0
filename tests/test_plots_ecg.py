"""hybridfield.plots.ecg: the clinical print (plot_ecg) and lead panels (plot_leads).

Checked: panel count and order, the 25 mm/s and 10 mm/mV paper scale, calibration pulses,
legends, bands, "(virtual)" labels; rendered to PNG and checked for drawn pixels; bad inputs must
fail with messages that say what was wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from _figures import agg_pyplot, beats, close_figures, dark_fraction, panel_labels, render_png  # noqa: F401 (close_figures: autouse fixture)

agg_pyplot()
import matplotlib.colors  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from hybridfield import ECG, PosteriorLeads  # noqa: E402
from hybridfield.leads import STANDARD_LEADS  # noqa: E402
from hybridfield.plots import plot_ecg, plot_leads  # noqa: E402


FS = 250.0


def _ecg(names=STANDARD_LEADS, seconds: float = 10.0, virtual=()) -> ECG:
    n = int(seconds * FS)
    rows = [beats(n, FS, 1.0 - 0.12 * index, 0.01 * index) for index in range(len(names))]
    return ECG(np.array(rows), FS, list(names), virtual=list(virtual))


# --------------------------------------------------------------------------------------------
# plot_leads
# --------------------------------------------------------------------------------------------


def test_plot_leads_panels_on_paper_to_scale(tmp_path):
    names = ["I", "V7", "view(90,130)"]
    signals = {name: beats(500, FS, 1.0 - 0.2 * index) for index, name in enumerate(names)}
    fig = plot_leads(signals, FS, virtual=["view(90,130)"], layout=(2, 2), title="leads")
    assert len(fig.axes) == 3
    # Filled column by column: I and V7 in the first column, the view at the top of the second.
    assert [panel_labels(ax)[0] for ax in fig.axes] == ["I", "V7", "view(90,130) (virtual)"]
    assert fig.axes[0].get_position().x0 == pytest.approx(fig.axes[1].get_position().x0)
    assert fig.axes[2].get_position().y1 == pytest.approx(fig.axes[0].get_position().y1)
    width_in, height_in = fig.get_size_inches()
    box = fig.axes[0].get_position()
    (t0, t1), (v0, v1) = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
    assert (t0, t1) == pytest.approx((0.0, 2.0))
    assert box.width * width_in * 25.4 / (t1 - t0) == pytest.approx(box.height * height_in * 25.4 / (v1 - v0) * 2.5)
    assert dark_fraction(render_png(fig, tmp_path, "leads")) > 0.001
    with pytest.raises(ValueError, match="fs must be"):
        plot_leads(signals, 0.0)
    with pytest.raises(TypeError, match="fs must be"):
        plot_leads(signals, "fast")


# --------------------------------------------------------------------------------------------
# plot_ecg
# --------------------------------------------------------------------------------------------


def test_plot_ecg_twelve_leads_clinical_layout_scale_and_calibration(tmp_path):
    shuffled = ("V6", "I", "aVF", "V2", "II", "V4", "III", "aVR", "V1", "aVL", "V3", "V5")
    fig = plot_ecg(_ecg(shuffled), title="twelve")
    axes = fig.axes
    assert len(axes) == 13  # 3 x 4 panels + the rhythm strip
    assert [panel_labels(ax)[0] for ax in axes[:12]] == list(STANDARD_LEADS)  # clinical order whatever came in
    assert panel_labels(axes[12]) == ["II"]
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
    assert dark_fraction(render_png(fig, tmp_path, "ecg12")) > 0.002


def test_plot_ecg_overlays_bands_and_virtual_labels(tmp_path):
    ecg = _ecg(virtual=["V1", "V2"])
    physical = ECG(ecg.signals * 0.8, FS, ecg.lead_names)
    learned = ECG(ecg.signals * 1.1, FS, ecg.lead_names)
    bands = {"V1": (ecg["V1"] - 0.1, ecg["V1"] + 0.1), "v2": (ecg["V2"] - 0.2, ecg["V2"] + 0.2)}
    fig = plot_ecg(ecg, overlays={"physical": physical, "learned": learned}, bands=bands)
    legend_texts = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend_texts == ["recorded", "virtual", "physical", "learned", "band"]
    labels = [label for ax in fig.axes for label in panel_labels(ax)]
    assert "V1 (virtual)" in labels and "V2 (virtual)" in labels and "V3" in labels
    panel_v1 = fig.axes[STANDARD_LEADS.index("V1")]
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in panel_v1.lines if line.get_gid() is None]
    assert len(colours) == 3 and len(set(colours)) == 3  # recorded (virtual blue) + two overlays
    band_patches = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "band"]
    assert len(band_patches) == 2
    assert dark_fraction(render_png(fig, tmp_path, "overlays")) > 0.002


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
    assert panel_labels(fig.axes[-1]) == ["V7 (virtual)"]
    assert "view(90,130) (virtual)" in panel_labels(fig.axes[3])
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
    assert dark_fraction(render_png(fig, tmp_path, "posterior")) > 0.001


def test_plot_ecg_accepts_a_mapping_with_fs_and_a_lead_selection():
    signals = {"I": beats(1000, 500.0, 1.0), "II": beats(1000, 500.0, 0.5), "V5": beats(1000, 500.0, 0.7)}
    fig = plot_ecg(signals, fs=500.0, leads=["V5", "I"], rhythm_lead=None)
    assert [panel_labels(ax)[0] for ax in fig.axes] == ["V5", "I"]
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
