"""hybridfield.filters: zero-phase filters and resampling of (n_leads, n_samples) arrays in mV."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from hybridfield.filters import bandpass, highpass, lowpass, notch, resample, resampling_ratio

FS = 500.0


def _amplitude(signal: np.ndarray, frequency: float, fs: float) -> float:
    """Least-squares amplitude of a sinusoid of ``frequency`` Hz in ``signal`` (edges excluded)."""
    n = signal.size
    keep = slice(n // 5, n - n // 5)
    t = np.arange(n)[keep] / fs
    basis = np.column_stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t), np.ones_like(t)])
    coefficients, *_ = np.linalg.lstsq(basis, signal[keep], rcond=None)
    return float(np.hypot(coefficients[0], coefficients[1]))


def _sine(frequency: float, seconds: float = 60.0, fs: float = FS, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * frequency * np.arange(int(seconds * fs)) / fs + phase)


def test_highpass_removes_a_slow_drift() -> None:
    drift, beat = 2.0 * _sine(0.1), _sine(10.0)
    filtered = highpass(np.stack([drift + beat, drift]), FS, 0.5)
    assert _amplitude(filtered[0], 0.1, FS) < 0.02
    assert _amplitude(filtered[0], 10.0, FS) == pytest.approx(1.0, abs=0.01)
    interior = slice(int(10 * FS), -int(10 * FS))  # away from the edge transients
    assert np.max(np.abs(filtered[1][interior])) < 0.02


def test_notch_removes_mains_and_keeps_the_rest() -> None:
    mains, beat = _sine(50.0), _sine(10.0)
    filtered = notch((mains + beat)[np.newaxis], FS, 50.0)
    assert _amplitude(filtered[0], 50.0, FS) < 0.02
    assert _amplitude(filtered[0], 10.0, FS) > 0.98
    untouched = notch(beat[np.newaxis], FS, 60.0)
    assert _amplitude(untouched[0], 10.0, FS) > 0.98


def test_lowpass_removes_high_frequencies() -> None:
    filtered = lowpass((_sine(5.0) + _sine(150.0))[np.newaxis], FS, 40.0)
    assert _amplitude(filtered[0], 150.0, FS) < 0.01
    assert _amplitude(filtered[0], 5.0, FS) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("frequency", [2.0, 5.0, 10.0])
def test_bandpass_keeps_a_pass_band_sine_and_removes_the_rest(frequency: float) -> None:
    signal = 0.8 * _sine(frequency, phase=0.3)
    filtered = bandpass(np.stack([signal, signal + _sine(0.1) + _sine(100.0)]), FS, 0.5, 40.0)
    assert _amplitude(filtered[0], frequency, FS) == pytest.approx(0.8, rel=0.02)
    interior = slice(int(10 * FS), -int(10 * FS))
    np.testing.assert_allclose(filtered[0][interior], signal[interior], atol=0.03)  # zero phase: no shift
    assert _amplitude(filtered[1], 0.1, FS) < 0.02 and _amplitude(filtered[1], 100.0, FS) < 0.05


def test_filters_leave_their_input_alone_and_work_lead_by_lead() -> None:
    rng = np.random.default_rng(0)
    signals = rng.normal(0.0, 0.3, (3, 4000))
    before = signals.copy()
    together = bandpass(signals, FS, 0.5, 40.0)
    np.testing.assert_array_equal(signals, before)
    assert together.shape == signals.shape
    for row in range(3):
        np.testing.assert_allclose(together[row], bandpass(signals[row : row + 1], FS, 0.5, 40.0)[0], atol=1e-12)


def test_bad_filter_arguments_are_refused() -> None:
    signals = np.zeros((2, 2000))
    with pytest.raises(ValueError, match="low must be below high"):
        bandpass(signals, FS, 40.0, 0.5)
    with pytest.raises(ValueError, match=r"high must be below the Nyquist frequency fs/2 = 250 Hz, got 300 Hz"):
        bandpass(signals, FS, 0.5, 300.0)
    with pytest.raises(ValueError, match="cutoff must be a finite positive number"):
        highpass(signals, FS, 0.0)
    with pytest.raises(ValueError, match="order must be a positive integer"):
        lowpass(signals, FS, 40.0, order=0)
    with pytest.raises(ValueError, match="frequency must be below the Nyquist"):
        notch(signals, FS, 250.0)
    with pytest.raises(ValueError, match="fs must be a finite positive number"):
        highpass(signals, -1.0)
    with pytest.raises(ValueError, match="2 dimension"):
        highpass(np.zeros(2000), FS)
    with pytest.raises(ValueError, match=r"the record \(5 samples\) is too short for highpass 0.5 Hz"):
        highpass(np.zeros((1, 5)), FS, 0.5)


def _dominant_frequency(signal: np.ndarray, fs: float) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1.0 / fs)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    ("target", "ratio"), [(500.0, Fraction(1, 2)), (360.0, Fraction(9, 25)), (2000.0, Fraction(2))]
)
def test_resampling_keeps_a_sine_and_the_length_ratio(target: float, ratio: Fraction) -> None:
    fs = 1000.0
    t = np.arange(10000) / fs
    signals = np.stack([np.sin(2 * np.pi * 5.0 * t), np.cos(2 * np.pi * 7.0 * t)])
    resampled, applied = resample(signals, fs, target)
    assert applied == ratio
    assert resampled.shape == (2, 10000 * ratio)
    new_t = np.arange(resampled.shape[1]) / target
    assert _dominant_frequency(resampled[0], target) == pytest.approx(5.0, abs=0.1)
    assert _dominant_frequency(resampled[1], target) == pytest.approx(7.0, abs=0.1)
    interior = slice(resampled.shape[1] // 20, -resampled.shape[1] // 20)
    np.testing.assert_allclose(resampled[0][interior], np.sin(2 * np.pi * 5.0 * new_t)[interior], atol=1e-3)


def test_resampling_ratio_warns_when_it_cannot_reach_the_rate() -> None:
    assert resampling_ratio(1000.0, 1000.0) == 1
    same, ratio = resample(np.ones((1, 10)), 1000.0, 1000.0)
    assert ratio == 1 and same.shape == (1, 10)
    with pytest.warns(UserWarning, match=r"resampling to 333.333 Hz \(ratio 1/3\)"):
        assert resampling_ratio(1000.0, 333.0, max_denominator=5) == Fraction(1, 3)
    with pytest.raises(ValueError, match="target_fs=0.1 Hz is too low to resample from 1000 Hz"):
        resampling_ratio(1000.0, 0.1, max_denominator=10)
    with pytest.raises(ValueError, match="target_fs must be a finite positive number in Hz"):
        resample(np.ones((1, 10)), 1000.0, -5.0)
