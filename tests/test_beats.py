"""hybridfield.beats: beat segmentation (R peaks, P/QRS/T boundaries) on real records."""

from __future__ import annotations

import numpy as np
import pytest

from _shared_data import DATA, DELINEATION_RECORDS, ecgs, nk, segmentations  # noqa: F401 (fixtures)
from hybridfield.beats import BeatSegmentation, segment_beats
from hybridfield.ecg import ECG, LeadNotFoundError
from hybridfield.io import read_wfdb

ORDER = ("p_onset", "qrs_onset", "r_peak", "qrs_offset", "t_offset")
BOUNDARIES = ("p_onset", "p_offset", "qrs_onset", "r_peak", "qrs_offset", "t_onset", "t_offset")


@pytest.fixture(scope="module")
def single_lead(nk, ecgs) -> dict[str, BeatSegmentation]:
    """Plain NeuroKit2 detection on lead II, for comparison."""
    return {name: segment_beats(ecg, robust=False) for name, ecg in ecgs.items()}


def _inverted(ecg: ECG, lead: str) -> ECG:
    signals = np.array(ecg.signals)
    signals[ecg.lead_names.index(lead)] *= -1.0
    return ECG(signals, ecg.fs, ecg.lead_names, metadata=ecg.metadata)


def _matched_fraction(found: np.ndarray, reference: np.ndarray, tolerance: int) -> float:
    distance = np.abs(found[:, np.newaxis] - reference[np.newaxis, :]).min(axis=1)
    return float(np.mean(distance <= tolerance))


# ------------------------------------------------------------------ segmentation


@pytest.mark.parametrize("record", list(DELINEATION_RECORDS))
def test_plausible_number_of_beats(record: str, ecgs, segmentations) -> None:
    ecg, segmentation = ecgs[record], segmentations[record]
    assert segmentation.fs == ecg.fs and segmentation.n_samples == ecg.n_samples
    assert segmentation.record == record and segmentation.lead_used == "II"
    rate = segmentation.heart_rate
    assert 30.0 <= rate <= 150.0
    # the beat count agrees with the rate and the duration (one beat of slack at each end)
    record_seconds = ecg.duration
    assert abs(segmentation.n_beats - record_seconds * rate / 60.0) <= 2.0
    rr = segmentation.rr_intervals
    assert np.all(rr > 0.3) and np.all(rr < 2.0)  # s: no double detection, no missed run of beats
    assert segmentation.quality in {"good", "fair"}
    assert segmentation.n_valid >= 0.6 * segmentation.n_beats


@pytest.mark.parametrize("record", list(DELINEATION_RECORDS))
def test_boundaries_are_ordered_in_valid_beats(record: str, segmentations) -> None:
    segmentation = segmentations[record]
    for name in BOUNDARIES:
        values = segmentation.boundaries(name)
        assert values.dtype == np.int64 and values.shape == (segmentation.n_beats,)
        assert np.all((values == -1) | ((values >= 0) & (values < segmentation.n_samples)))
    valid = segmentation.valid
    assert valid.any()
    stacked = np.stack([getattr(segmentation, name)[valid] for name in ORDER])
    assert np.all(np.diff(stacked, axis=0) > 0)
    assert np.all(segmentation.p_offset[valid] <= segmentation.qrs_onset[valid])
    assert np.all(segmentation.qrs_offset[valid] <= segmentation.t_onset[valid])
    # flags agree with validity
    assert set(segmentation.beat_quality[valid]) <= {"good", "irregular"}
    assert not set(segmentation.beat_quality[~valid]) & {"good", "irregular"}
    missing = np.any(np.stack([getattr(segmentation, name) for name in BOUNDARIES]) < 0, axis=0)
    assert np.all(segmentation.beat_quality[missing] == "missing_waves")


@pytest.mark.parametrize("record", list(DELINEATION_RECORDS))
def test_robust_detection_ignores_an_inverted_lead(record: str, ecgs, segmentations, single_lead) -> None:
    ecg, upright = ecgs[record], segmentations[record]
    flipped = segment_beats(_inverted(ecg, "II"))
    np.testing.assert_array_equal(flipped.r_peak, upright.r_peak)
    assert flipped.lead_inverted != upright.lead_inverted
    for name in BOUNDARIES:
        np.testing.assert_array_equal(getattr(flipped, name), getattr(upright, name))
    # and it detects the same beats as single-lead detection on the unaltered record
    single = single_lead[record]
    assert single.robust is False and single.detection_leads == ("II",)
    assert abs(single.n_beats - upright.n_beats) <= 1
    tolerance = round(0.04 * ecg.fs)
    assert _matched_fraction(upright.r_peak, single.r_peak, tolerance) >= 0.95
    assert _matched_fraction(single.r_peak, upright.r_peak, tolerance) >= 0.95


def test_single_lead_detection_is_fooled_by_inversion_where_robust_is_not(nk, ecgs, segmentations) -> None:
    ecg = ecgs["HR06000"]
    upright = segmentations["HR06000"]
    naive = segment_beats(_inverted(ecg, "II"), robust=False)
    tolerance = round(0.01 * ecg.fs)
    # the naive detector follows the flipped lead's maxima (the S waves), not the R peaks
    assert _matched_fraction(naive.r_peak, upright.r_peak, tolerance) < 0.5


@pytest.mark.parametrize("record", ["s0010_re", "JS20000"])
def test_multilead_delineation(record: str, ecgs, segmentations, single_lead) -> None:
    ecg = ecgs[record]
    multi = segment_beats(ecg, multilead=True)
    np.testing.assert_array_equal(multi.r_peak, segmentations[record].r_peak)
    assert set(multi.delineation_leads) == set(ecg.lead_names)
    # at least as many valid beats as either single-lead delineation of lead II
    assert multi.n_valid >= max(segmentations[record].n_valid, single_lead[record].n_valid) - 1
    assert multi.n_valid >= 0.8 * multi.n_beats
    valid = multi.valid
    assert np.all(np.diff(np.stack([getattr(multi, name)[valid] for name in ORDER]), axis=0) > 0)


def test_flat_leads_do_not_break_segmentation(nk, ecgs) -> None:
    dead = read_wfdb(DATA / "cinc2021" / "JS20004")  # V2, V4, V6 are all-zero
    segmentation = segment_beats(dead)
    assert not {"V2", "V4", "V6"} & set(segmentation.detection_leads)
    assert 30.0 <= segmentation.heart_rate <= 150.0
    record_seconds = dead.duration
    assert abs(segmentation.n_beats - record_seconds * segmentation.heart_rate / 60.0) <= 2.0
    assert segment_beats(dead, multilead=True).n_valid > 0

    ecg = ecgs["HR06000"]
    signals = np.array(ecg.signals)
    signals[ecg.lead_names.index("II")] = 0.0
    no_lead_two = ECG(signals, ecg.fs, ecg.lead_names)
    fallback = segment_beats(no_lead_two)
    assert fallback.lead_used == "I"
    assert abs(fallback.n_beats - segment_beats(ecg).n_beats) <= 1
    with pytest.raises(ValueError, match="'II' is flat or saturated"):
        segment_beats(no_lead_two, lead="II")


def test_segmentation_input_errors(nk, ecgs) -> None:
    ecg = ecgs["HR06000"]
    with pytest.raises(ValueError, match="method must be one of"):
        segment_beats(ecg, method="magic")
    with pytest.raises(LeadNotFoundError, match="available leads"):
        segment_beats(ecg, lead="V9")
    with pytest.raises(ValueError, match="at least 2 s"):
        segment_beats(ECG(ecg.signals[:, :500], ecg.fs, ecg.lead_names))
    with pytest.raises(TypeError, match="ECG"):
        segment_beats(ecg.signals)  # type: ignore[arg-type]
