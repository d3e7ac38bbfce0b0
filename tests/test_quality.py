"""hybridfield.quality: flat and saturated leads, constant runs and NaN/inf gaps, on arrays in mV."""

from __future__ import annotations

import numpy as np
import pytest

from _shared_data import flat_lead_examples
from hybridfield.quality import (
    MAX_ECG_AMPLITUDE_MV,
    MIN_BEAT_CONSISTENCY,
    MIN_ECG_FS,
    RecordQualityWarning,
    beat_consistency,
    check_plausibility,
    describe_non_finite,
    fill_non_finite,
    flat_leads,
    longest_constant_run,
    non_finite_counts,
    plausibility_problems,
    robust_amplitudes,
    saturated_leads,
    true_runs,
    untrustworthy_beats,
)

FS = 500.0


def _normal_lead(n_samples: int = 5000, seed: int = 1) -> np.ndarray:
    t = np.arange(n_samples) / FS
    rng = np.random.default_rng(seed)
    return 1.5 * np.sin(2 * np.pi * 1.2 * t) + 0.3 * np.sin(2 * np.pi * 7.0 * t) + rng.normal(0, 0.01, t.size)


def test_true_runs_and_longest_constant_run() -> None:
    starts, stops = true_runs(np.array([False, True, True, False, True]))
    np.testing.assert_array_equal(starts, [1, 4])
    np.testing.assert_array_equal(stops, [3, 5])
    starts, stops = true_runs(np.zeros(4, dtype=bool))
    assert starts.size == 0 and stops.size == 0
    np.testing.assert_array_equal(np.concatenate(true_runs(np.ones(3, dtype=bool))), [0, 3])
    assert longest_constant_run(np.array([1.0, 2.0, 2.0, 2.0, 3.0, 3.0])) == 3
    assert longest_constant_run(np.arange(10.0)) == 1
    assert longest_constant_run(np.array([4.0])) == 1
    with pytest.raises(ValueError, match="1-D"):
        true_runs(np.zeros((2, 2), dtype=bool))


def test_flat_leads_finds_dead_channels_and_not_a_normal_lead() -> None:
    signal, tiny, spiky, held = flat_lead_examples()
    signals = np.stack([signal, tiny, spiky, held, _normal_lead()])
    np.testing.assert_array_equal(flat_leads(signals), [False, True, True, True, False])
    np.testing.assert_array_equal(
        flat_leads(signals, threshold_mv=1e-4, max_constant_fraction=0.8), [False, False, True, False, False]
    )
    with pytest.raises(ValueError, match=r"max_constant_fraction must lie in \(0, 1\]"):
        flat_leads(signals, max_constant_fraction=1.5)
    with pytest.raises(ValueError, match="2 dimension"):
        flat_leads(signal)


def test_saturated_leads_finds_clipped_and_stuck_leads_only() -> None:
    clean = _normal_lead()
    clipped = np.clip(clean, -10.0, 1.0)  # amplifier rail at +1 mV: every positive peak clipped
    stuck = clean.copy()
    stuck[2000:2040] = stuck.max() + 0.5  # one 80 ms run stuck at the top
    edge = clean.copy()
    edge[-60:] = edge.min() - 0.1  # constant tail at the minimum: padding, not clipping
    dead = np.zeros_like(clean)  # flat, so not reported as saturated
    signals = np.stack([clean, clipped, stuck, edge, dead])
    np.testing.assert_array_equal(saturated_leads(signals, FS), [False, True, True, False, False])
    # no run lasts 0.5 s, and the ~6 clipped peaks are not the 100 required
    np.testing.assert_array_equal(
        saturated_leads(signals, FS, min_duration=0.5, min_clips=100), [False, False, False, False, False]
    )
    with pytest.raises(ValueError, match="min_clips must be a positive integer"):
        saturated_leads(signals, FS, min_clips=0)
    with pytest.raises(ValueError, match="tolerance_mv must be a finite non-negative number"):
        saturated_leads(signals, FS, tolerance_mv=-1.0)


def test_non_finite_samples_are_counted_filled_or_dropped() -> None:
    signals = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, np.nan, np.nan, 3.0], [np.inf, 1.0, 2.0, 3.0]])
    names = ["I", "II", "III"]
    counts = non_finite_counts(signals, names)
    assert counts == {"II": 2, "III": 1}
    assert describe_non_finite(counts, 4) == "lead II: 2 of 4 samples; lead III: 1 of 4 samples"
    filled, kept, filled_counts = fill_non_finite(signals, names, "interpolate")
    assert kept == names and filled_counts == counts
    np.testing.assert_allclose(filled, [[0, 1, 2, 3], [0, 1, 2, 3], [1, 1, 2, 3]])  # linear, constant at edges
    assert np.isnan(signals[1, 1])  # the input is left alone
    dropped, kept, _ = fill_non_finite(signals, names, "drop")
    assert kept == ["I"] and dropped.shape == (1, 4)
    clean = signals[:1]
    assert fill_non_finite(clean, ["I"], "drop")[2] == {} and non_finite_counts(clean, ["I"]) == {}
    with pytest.raises(ValueError, match="every lead contains NaN"):
        fill_non_finite(signals[1:], names[1:], "drop")
    with pytest.raises(ValueError, match="lead II has no finite sample at all"):
        fill_non_finite(np.full((1, 3), np.nan), ["II"], "interpolate")
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        fill_non_finite(signals, names, "raise")


# --------------------------------------------------------------------------------------------
# Plausibility: an ECG in mV at a usable rate, with trustworthy beats
# --------------------------------------------------------------------------------------------


def _beats(n_leads: int = 3, n_samples: int = 5000, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Repeating QRS-like bumps (1 mV, a different shape per lead) every 0.8 s, plus noise; and their R peaks."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / FS
    peaks = np.arange(200, n_samples - 100, 400)
    signals = rng.normal(0, 0.02, (n_leads, n_samples))
    for lead in range(n_leads):
        for peak in peaks:
            signals[lead] += (1.0 - 0.4 * lead) * np.exp(-0.5 * ((t - peak / FS) / 0.012) ** 2)
            signals[lead] -= 0.3 * np.exp(-0.5 * ((t - peak / FS - 0.03 * (lead + 1)) / 0.01) ** 2)
    return signals, peaks


def test_plausibility_refuses_microvolts_as_millivolts_naming_record_and_value() -> None:
    signals = np.stack([_normal_lead(), 0.5 * _normal_lead(seed=2)])
    assert plausibility_problems(signals, FS, ["I", "II"], record="ok") == []
    check_plausibility(signals, FS, ["I", "II"], record="ok")
    amplitudes = robust_amplitudes(signals)
    assert amplitudes.shape == (2,) and 2.0 < amplitudes[0] < 4.0  # mV
    microvolts = signals * 1000.0
    [problem] = plausibility_problems(microvolts, FS, ["I", "II"], record="JS99999")
    assert "'JS99999'" in problem and f"{robust_amplitudes(microvolts)[0]:.4g} mV" in problem
    assert "lead" in problem and "I " in problem and f"{MAX_ECG_AMPLITUDE_MV:g} mV" in problem
    with pytest.raises(ValueError, match=r"record 'JS99999'.*above 20 mV in 2 of 2 lead.*microvolts"):
        check_plausibility(microvolts, FS, ["I", "II"], record="JS99999")
    one_lead = signals.copy()
    one_lead[1] *= 1000.0  # one channel's units wrong
    with pytest.raises(ValueError, match=r"above 20 mV in 1 of 2 lead\(s\) \(II "):
        check_plausibility(one_lead, FS, ["I", "II"], record="mixed")


def test_plausibility_refuses_a_rate_too_low_for_the_qrs() -> None:
    signals = np.stack([_normal_lead(500)])
    check_plausibility(signals, MIN_ECG_FS, ["II"], record="lr")  # PTB-XL's 100 Hz records pass
    with pytest.raises(ValueError, match=r"record 'slow': sampling rate fs = 50 Hz is below 100 Hz"):
        check_plausibility(signals, 50.0, ["II"], record="slow")
    with pytest.raises(ValueError, match="unnamed"):
        check_plausibility(signals, 50.0, ["II"])
    with pytest.raises(ValueError, match="rows but 2 lead names"):
        check_plausibility(signals, FS, ["I", "II"])


def test_beat_consistency_tells_repeating_beats_from_noise() -> None:
    signals, peaks = _beats()
    assert beat_consistency(signals, peaks, FS) > 0.95
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.3, (12, 5000))
    noise_peaks = np.sort(rng.choice(np.arange(100, 4900), 9, replace=False))
    assert beat_consistency(noise, noise_peaks, FS) < 0.5 < MIN_BEAT_CONSISTENCY
    assert np.isnan(beat_consistency(signals, peaks[:1], FS))
    assert np.isnan(beat_consistency(signals, [0, 4999], FS))  # no window wholly inside


def test_untrustworthy_beats_names_the_record_and_the_value() -> None:
    assert untrustworthy_beats("good", 12, 0.99, record="E07500") is None
    assert untrustworthy_beats("poor", 20, 0.99, record="HR06003") is None  # tachycardia: delineation only
    noise = untrustworthy_beats("fair", 7, 0.12, record="noise")
    assert noise is not None and "'noise'" in noise and "0.12" in noise and "no trustworthy beats" in noise
    unusable = untrustworthy_beats("unusable", 1, float("nan"), record="flat")
    assert unusable is not None and "'flat'" in unusable and "1 beat(s)" in unusable
    assert issubclass(RecordQualityWarning, UserWarning)
