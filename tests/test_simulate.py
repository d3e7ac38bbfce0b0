"""Tests of forward.simulate: shape, scale, timing, variability and textbook lead morphology.

Morphology is judged on realistic lead vectors: the Dower matrix maps the Frank VCG (mV) to
I, II, V1..V6, so the simulated heart vector (mA*m, body frame) is converted to the Frank frame
and multiplied by a nominal Frank lead-vector magnitude of 60 mV per mA*m before applying Dower.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from forward.simulate import (
    CONDITIONS,
    PEAK_QRS_MOMENT,
    HeartbeatAnnotations,
    simulate_heart_vector,
)
from forward.vcg import DOWER, VCG_TRANSFORM_LEADS, body_to_frank

FS = 1000.0
NOMINAL_FRANK_GAIN = 60.0  # mV per mA*m: typical Frank lead-vector magnitude on an adult torso


@pytest.fixture(scope="module")
def simulations() -> dict[str, tuple[np.ndarray, HeartbeatAnnotations]]:
    return {
        condition: simulate_heart_vector(6.0, FS, condition=condition, random_seed=11, return_annotations=True)
        for condition in CONDITIONS
    }


def dower_leads(heart_vector: np.ndarray) -> dict[str, np.ndarray]:
    """I, II, V1..V6 (mV) of a body-frame heart vector (mA*m) through the Dower matrix."""
    frank_vcg = NOMINAL_FRANK_GAIN * body_to_frank(heart_vector, axis=0)
    return dict(zip(VCG_TRANSFORM_LEADS, DOWER @ frank_vcg))


def qrs_segments(signal: np.ndarray, annotations: HeartbeatAnnotations) -> list[np.ndarray]:
    return [signal[..., on : off + 1] for on, off in zip(annotations.qrs_onset, annotations.qrs_offset)]


def measured_qrs_duration(heart_vector: np.ndarray, annotations: HeartbeatAnnotations) -> np.ndarray:
    """Span (s) where |p| exceeds 5 % of its QRS peak inside each annotated QRS window."""
    durations = []
    for segment in qrs_segments(heart_vector, annotations):
        magnitude = np.linalg.norm(segment, axis=0)
        above = np.flatnonzero(magnitude > 0.05 * magnitude.max())
        durations.append((above[-1] - above[0]) / annotations.fs)
    return np.asarray(durations)


# ------------------------------------------------------------------ basics


def test_shape_dtype_and_sample_count():
    heart_vector = simulate_heart_vector(2.3456, 250.0, random_seed=0)
    assert heart_vector.shape == (3, round(2.3456 * 250.0))
    assert heart_vector.dtype == np.float64
    assert np.all(np.isfinite(heart_vector))
    assert isinstance(simulate_heart_vector(1.0, 100.0, random_seed=0), np.ndarray)


def test_peak_qrs_moment_in_documented_range(simulations):
    assert 0.02 <= PEAK_QRS_MOMENT <= 0.03
    for condition, (heart_vector, beat_annotations) in simulations.items():
        assert beat_annotations.n_beats >= 5, condition
        peaks = np.array([np.linalg.norm(seg, axis=0).max() for seg in qrs_segments(heart_vector, beat_annotations)])
        assert np.all(np.abs(peaks / PEAK_QRS_MOMENT - 1.0) < 0.10), (condition, peaks)
        # ... and the QRS is the largest deflection of the beat (P and T are smaller).
        assert np.abs(heart_vector).max() <= 1.10 * PEAK_QRS_MOMENT


def test_frank_lead_amplitudes_are_physiological(simulations):
    heart_vector, _ = simulations["normal"]
    frank = NOMINAL_FRANK_GAIN * body_to_frank(heart_vector, axis=0)
    assert 0.8 < np.linalg.norm(frank, axis=0).max() < 2.5  # mV, a normal spatial QRS peak


def test_determinism_and_seed_dependence():
    first = simulate_heart_vector(3.0, 500.0, random_seed=42)
    again = simulate_heart_vector(3.0, 500.0, random_seed=42)
    other = simulate_heart_vector(3.0, 500.0, random_seed=43)
    generator = simulate_heart_vector(3.0, 500.0, random_seed=np.random.default_rng(42))
    assert np.array_equal(first, again)
    assert np.array_equal(first, generator)
    assert not np.allclose(first, other)
    assert not np.allclose(simulate_heart_vector(3.0, 500.0), simulate_heart_vector(3.0, 500.0))


def test_respiration_modulates_the_beats():
    still = simulate_heart_vector(8.0, 500.0, random_seed=1)
    breathing = simulate_heart_vector(8.0, 500.0, random_seed=1, respiration_rate=0.25)
    assert not np.allclose(still, breathing)
    assert np.abs(breathing).max() < 1.2 * PEAK_QRS_MOMENT


# ------------------------------------------------------------------ timing


def test_heart_rate_sets_beats_rr_and_qt():
    slow_vector, slow = simulate_heart_vector(20.0, 500.0, heart_rate=60.0, random_seed=3, return_annotations=True)
    fast_vector, fast = simulate_heart_vector(20.0, 500.0, heart_rate=120.0, random_seed=3, return_annotations=True)
    assert fast.n_beats > 1.7 * slow.n_beats
    for rate, notes in ((60.0, slow), (120.0, fast)):
        rr = np.diff(notes.qrs_onset) / notes.fs
        assert rr.mean() == pytest.approx(60.0 / rate, rel=0.05)
        assert 0.015 < rr.std() / rr.mean() < 0.07  # beat-to-beat RR jitter of a few per cent
    slow_qt = np.median(slow.t_offset - slow.qrs_onset) / slow.fs
    fast_qt = np.median(fast.t_offset - fast.qrs_onset) / fast.fs
    assert fast_qt < slow_qt - 0.05  # the T wave moves with RR
    assert 0.35 < slow_qt < 0.45  # QTc 0.40 s at 60 bpm
    assert np.median(fast.qrs_onset - fast.p_onset) <= np.median(slow.qrs_onset - slow.p_onset)  # PR
    # The T wave sits where the annotations say: most of the T energy is inside [t_onset, t_offset].
    for heart_vector, notes in ((slow_vector, slow), (fast_vector, fast)):
        for on, off in zip(notes.t_onset, notes.t_offset):
            inside = np.sum(heart_vector[:, on : off + 1] ** 2)
            st_segment = np.sum(heart_vector[:, on - (off - on) // 2 : on] ** 2)
            assert inside > 5 * st_segment


def test_annotations_are_ordered_and_inside_the_signal(simulations):
    for condition, (heart_vector, notes) in simulations.items():
        assert isinstance(notes, HeartbeatAnnotations)
        assert notes.fs == FS and notes.condition == condition
        assert condition in repr(notes) and "beats" in repr(notes)
        fiducials = [
            notes.p_onset, notes.p_offset, notes.qrs_onset, notes.r_peak, notes.qrs_offset, notes.t_onset, notes.t_offset
        ]
        for array in fiducials:
            assert array.dtype == np.int64 and array.shape == (notes.n_beats,)
        for earlier, later in zip(fiducials[:-1], fiducials[1:]):
            assert np.all(earlier < later), condition
        assert notes.p_onset.min() >= 0 and notes.t_offset.max() < heart_vector.shape[1]
        assert np.all(np.diff(notes.p_onset) > 0)
        assert np.all(notes.t_offset[:-1] < notes.qrs_onset[1:])  # T ends before the next QRS


def test_qrs_duration_measured_from_the_signal(simulations):
    normal = measured_qrs_duration(*simulations["normal"])
    lbbb = measured_qrs_duration(*simulations["lbbb"])
    rbbb = measured_qrs_duration(*simulations["rbbb"])
    assert np.all((normal > 0.06) & (normal < 0.110)), normal
    assert np.all((lbbb > 0.120) & (lbbb < 0.170)), lbbb
    assert np.all((rbbb > 0.120) & (rbbb < 0.160)), rbbb


# ------------------------------------------------------------------ vector loops


def _area_vector(heart_vector: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    return np.mean([heart_vector[:, a : b + 1].sum(axis=1) for a, b in zip(starts, ends)], axis=0)


def test_mean_axes_and_t_concordance(simulations):
    heart_vector, notes = simulations["normal"]
    qrs = _area_vector(heart_vector, notes.qrs_onset, notes.qrs_offset)
    frontal_axis = np.degrees(np.arctan2(-qrs[2], qrs[1]))  # 0 = left, +90 = inferior
    assert 40.0 < frontal_axis < 70.0
    septal = heart_vector[:, notes.qrs_onset[0] + int(0.012 * FS)]
    assert septal[1] < 0 and septal[0] > 0  # initial forces rightward and anterior

    for condition, concordant in (("normal", True), ("lbbb", False), ("rbbb", False)):
        heart_vector, notes = simulations[condition]
        if condition == "rbbb":  # discordant to the terminal (last 50 ms) force
            starts = notes.qrs_offset - int(0.05 * FS)
            reference = _area_vector(heart_vector, starts, notes.qrs_offset)
        else:
            reference = _area_vector(heart_vector, notes.qrs_onset, notes.qrs_offset)
        t_wave = _area_vector(heart_vector, notes.t_onset, notes.t_offset)
        cosine = reference @ t_wave / np.linalg.norm(reference) / np.linalg.norm(t_wave)
        assert (cosine > 0.3) if concordant else (cosine < -0.3), (condition, cosine)

    heart_vector, notes = simulations["lbbb"]
    for segment in qrs_segments(heart_vector, notes):
        strong = np.linalg.norm(segment, axis=0) > 0.1 * PEAK_QRS_MOMENT
        assert np.all(segment[1, strong] > 0)  # leftward throughout
        assert np.all(segment[0, strong] < 0)  # and posterior


# ------------------------------------------------------------------ lead morphology (Dower)


def test_normal_twelve_lead_morphology(simulations):
    heart_vector, notes = simulations["normal"]
    leads = dower_leads(heart_vector)
    for on, off in zip(notes.qrs_onset, notes.qrs_offset):
        qrs = {name: lead[on : off + 1] for name, lead in leads.items()}
        for name in ("I", "II", "V5", "V6"):
            assert qrs[name].max() > abs(qrs[name].min()), name  # dominant R
        assert abs(qrs["V1"].min()) > qrs["V1"].max()  # dominant S (rS)
        assert qrs["V1"][: int(0.025 * FS)].max() > 0  # small initial r from the septum
        ratio = {name: qrs[name].max() / abs(qrs[name].min()) for name in ("V1", "V2", "V4", "V6")}
        assert ratio["V1"] < ratio["V2"] < ratio["V4"]  # R-wave progression
        assert ratio["V1"] < ratio["V6"]
        assert ratio["V1"] < 0.5 and ratio["V6"] > 3.0


def test_lbbb_twelve_lead_morphology(simulations):
    heart_vector, notes = simulations["lbbb"]
    leads = dower_leads(heart_vector)
    for on, off in zip(notes.qrs_onset, notes.qrs_offset):
        v1 = leads["V1"][on : off + 1]
        assert v1.max() < 0.1 * abs(v1.min())  # QS
        for name in ("I", "V6"):
            qrs = leads[name][on : off + 1]
            assert qrs.min() > -0.1 * qrs.max()  # entirely positive
            assert np.count_nonzero(qrs > 0.5 * qrs.max()) / FS > 0.06  # broad
            peaks, _ = find_peaks(qrs, prominence=0.05 * qrs.max())
            assert len(peaks) >= 2, name  # notched (M-shaped) R
            assert 0.03 < (peaks[-1] - peaks[0]) / FS < 0.07
        t_v1 = leads["V1"][notes.t_onset[0] : notes.t_offset[0] + 1]
        t_v6 = leads["V6"][notes.t_onset[0] : notes.t_offset[0] + 1]
        assert t_v1.max() > abs(t_v1.min()) and abs(t_v6.min()) > t_v6.max()  # discordant T


def test_rbbb_twelve_lead_morphology(simulations):
    heart_vector, notes = simulations["rbbb"]
    leads = dower_leads(heart_vector)
    for on, off in zip(notes.qrs_onset, notes.qrs_offset):
        v1 = leads["V1"][on : off + 1]
        s_index = int(np.argmin(v1))
        r_small = v1[:s_index].max()
        r_prime_index = s_index + int(np.argmax(v1[s_index:]))
        r_prime = v1[r_prime_index]
        assert r_small > 0 and v1[s_index] < 0 and r_prime > 0  # rsR'
        assert r_prime > 2.0 * r_small  # R' taller than r
        assert np.count_nonzero(v1[s_index:] > 0.5 * r_prime) / FS > 0.03  # broad R'
        for name in ("I", "V6"):
            qrs = leads[name][on : off + 1]
            r_index = int(np.argmax(qrs))
            terminal = qrs[r_index:]
            assert terminal.min() < 0 and terminal[-int(0.03 * FS)] < 0  # ends negative
            assert np.count_nonzero(terminal < -0.1 * qrs.max()) / FS > 0.04  # broad S


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"duration": 0.0, "fs": 500.0}, ValueError, "duration"),
        ({"duration": float("nan"), "fs": 500.0}, ValueError, "duration"),
        ({"duration": 1.0, "fs": -5.0}, ValueError, "fs"),
        ({"duration": 1.0, "fs": "fast"}, TypeError, "fs"),
        ({"duration": 1.0, "fs": 500.0, "heart_rate": 250.0}, ValueError, "heart_rate.*30.*220"),
        ({"duration": 1.0, "fs": 500.0, "heart_rate": 20.0}, ValueError, "heart_rate"),
        ({"duration": 1.0, "fs": 500.0, "condition": "afib"}, ValueError, "condition.*normal.*lbbb.*rbbb.*afib"),
        ({"duration": 1.0, "fs": 500.0, "respiration_rate": -0.2}, ValueError, "respiration_rate"),
        ({"duration": 1e-4, "fs": 500.0}, ValueError, "duration"),
        ({"duration": 1.0, "fs": 500.0, "return_annotations": "yes"}, TypeError, "return_annotations"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_heart_vector(**kwargs)


def test_fs_is_required():
    with pytest.raises(TypeError):
        simulate_heart_vector(1.0)  # type: ignore[call-arg]
