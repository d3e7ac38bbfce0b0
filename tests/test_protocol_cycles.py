"""hybridfield.protocol_cycles: Nef-Net protocol cycles and min-max normalisation, on real records."""

from __future__ import annotations

import numpy as np
import pytest

from _shared_data import ecgs, nk, segmentations  # noqa: F401 (fixtures)
from hybridfield.leads import STANDARD_LEADS
from hybridfield.protocol_cycles import REGION_NAMES, BeatSet, minmax_denormalise, minmax_normalise, nefnet_beats


# ------------------------------------------------------------------ Nef-Net cycles


def _check_beat_set(beats: BeatSet, n_leads: int) -> None:
    assert beats.signals.shape == (beats.n_beats, n_leads, 512)
    assert beats.regions.shape == (beats.n_beats, 512) and beats.regions.dtype == np.int8
    assert beats.fs == 500.0 and beats.n_beats > 0
    padding = REGION_NAMES.index("padding")
    for signal, regions, length in zip(beats.signals, beats.regions, beats.lengths, strict=True):
        assert 0 < length <= 512
        assert np.all(signal[:, length:] == 0.0)
        assert np.all(regions[length:] == padding) and np.all(regions[:length] != padding)
        # contiguous runs in the order P, PR, QRS, ST, T, TP (PR and ST may be empty)
        assert np.all(np.diff(regions.astype(int)) >= 0)
        present = set(np.unique(regions[:length]).tolist())
        assert {0, 2, 4, 5} <= present
        assert regions[0] == 0 and regions[length - 1] == 5


@pytest.mark.parametrize("record", ["HR06000", "JS20000"])
def test_nefnet_cycles_at_500_hz(record: str, ecgs, segmentations) -> None:
    ecg, segmentation = ecgs[record].bandpass(0.5, 40.0), segmentations[record]
    beats = nefnet_beats(ecg, segmentation)
    _check_beat_set(beats, 12)
    assert beats.lead_names == STANDARD_LEADS and beats.record == record and beats.units == "mV"
    assert beats.n_beats + beats.n_too_long + beats.n_unusable == segmentation.n_beats
    for k, beat in enumerate(beats.beat_index):
        start, length = beats.start[k], beats.lengths[k]
        # the cycle is the record from this P onset to the next one, unaltered
        assert start == segmentation.p_onset[beat] and start + length == segmentation.p_onset[beat + 1]
        np.testing.assert_array_equal(beats.signals[k, :, :length], ecg.signals[:, start : start + length])
        # region lengths are the delineated intervals
        counts = np.bincount(beats.regions[k], minlength=7)
        assert counts[0] == segmentation.p_offset[beat] - segmentation.p_onset[beat]
        assert counts[2] == segmentation.qrs_offset[beat] - segmentation.qrs_onset[beat]
        assert counts[4] == segmentation.t_offset[beat] - segmentation.t_onset[beat]


def test_nefnet_cycles_from_the_1000_hz_ptb_record(ecgs, segmentations) -> None:
    ecg, segmentation = ecgs["s0010_re"], segmentations["s0010_re"]
    assert ecg.fs == 1000.0
    beats = nefnet_beats(ecg.bandpass(0.5, 40.0), segmentation, leads=STANDARD_LEADS)
    _check_beat_set(beats, 12)
    # 82 bpm: cycles of about 0.73 s, i.e. about 366 samples at 500 Hz
    assert np.median(beats.lengths) == pytest.approx(500.0 * 60.0 / segmentation.heart_rate, rel=0.1)
    assert beats.n_beats >= 0.6 * segmentation.n_beats


def test_long_cycles_are_dropped_and_counted(ecgs, segmentations) -> None:
    # E07500 beats at 57 bpm: most cycles last more than 512 samples (1.024 s) at 500 Hz
    beats = nefnet_beats(ecgs["E07500"], segmentations["E07500"])
    assert beats.n_too_long >= 5
    assert np.all(beats.lengths <= 512)
    longer = nefnet_beats(ecgs["E07500"], segmentations["E07500"], length=700)
    assert longer.n_too_long == 0 and longer.n_beats == beats.n_beats + beats.n_too_long


def test_nefnet_refuses_a_foreign_segmentation(ecgs, segmentations) -> None:
    with pytest.raises(ValueError, match="segmentation must come from this ecg"):
        nefnet_beats(ecgs["HR06000"], segmentations["s0010_re"])
    with pytest.raises(ValueError, match="length"):
        nefnet_beats(ecgs["HR06000"], segmentations["HR06000"], length=0)


# ------------------------------------------------------------------ min-max normalisation


def test_minmax_round_trip(ecgs, segmentations) -> None:
    beats = nefnet_beats(ecgs["HR06000"], segmentations["HR06000"])
    normalised, minimum, maximum = minmax_normalise(beats)
    assert normalised.units == "normalised" and minimum.shape == maximum.shape == (beats.n_beats,)
    mask = beats.mask
    for k in range(beats.n_beats):
        unpadded = normalised.signals[k][:, mask[k]]
        assert unpadded.min() == pytest.approx(0.0, abs=1e-12) and unpadded.max() == pytest.approx(1.0, abs=1e-12)
        assert np.all(normalised.signals[k][:, ~mask[k]] == 0.0)
        # joint over leads: each beat's extremes come from the raw beat, over all its leads
        assert minimum[k] == beats.signals[k][:, mask[k]].min() and maximum[k] == beats.signals[k][:, mask[k]].max()
    # not per lead: some lead does not reach both 0 and 1
    per_lead_span = np.ptp(normalised.signals[0][:, mask[0]], axis=1)
    assert per_lead_span.min() < 0.9
    restored = minmax_denormalise(normalised, minimum, maximum)
    np.testing.assert_allclose(restored.signals, beats.signals, rtol=0, atol=1e-12)
    assert restored.units == "mV"


def test_minmax_on_arrays() -> None:
    rng = np.random.default_rng(3)
    signals = rng.normal(0, 1, (4, 3, 50))
    lengths = np.array([50, 40, 30, 20])
    padded = np.where(np.arange(50)[None, None, :] < lengths[:, None, None], signals, 0.0)
    normalised, minimum, maximum = minmax_normalise(padded, lengths=lengths)
    assert np.allclose(normalised.reshape(4, -1).max(axis=1), 1.0)
    assert np.all(normalised[1, :, 40:] == 0.0)
    np.testing.assert_allclose(minmax_denormalise(normalised, minimum, maximum, lengths=lengths), padded, atol=1e-12)
    constant = np.ones((1, 2, 10))
    flat, low, high = minmax_normalise(constant)
    assert np.all(flat == 0.0) and low[0] == high[0] == 1.0
    np.testing.assert_allclose(minmax_denormalise(flat, low, high), constant)
    with pytest.raises(ValueError, match="lengths"):
        minmax_normalise(padded, lengths=np.array([60, 1, 1, 1]))
