"""Zero-phase filters and resampling of multi-lead ECG arrays (``scipy.signal``).

Plain array functions behind :meth:`hybridfield.ecg.ECG.bandpass`, :meth:`~hybridfield.ecg.ECG.highpass`,
:meth:`~hybridfield.ecg.ECG.lowpass`, :meth:`~hybridfield.ecg.ECG.notch` and
:meth:`~hybridfield.ecg.ECG.resample`. Every function takes ``signals``, an (n_leads, n_samples)
float array in mV (time along the last axis), and the sampling rate ``fs`` in Hz, and returns a new
array; the input is never modified.

The filters are applied forward and backward (``scipy.signal.sosfiltfilt``): no phase shift, the
magnitude response squared (so the -3 dB frequency of one pass becomes -6 dB).
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar

__all__ = [
    "bandpass",
    "highpass",
    "lowpass",
    "notch",
    "resample",
    "resampling_ratio",
]


def _as_signals(signals: Any) -> np.ndarray:
    return as_finite_array(signals, "signals", ndim=2)


def _as_frequency(value: Any, name: str, fs: float) -> float:
    frequency = as_positive_scalar(value, name, "Hz")
    nyquist = fs / 2.0
    if frequency >= nyquist:
        raise ValueError(f"{name} must be below the Nyquist frequency fs/2 = {nyquist:g} Hz, got {frequency:g} Hz")
    return frequency


def _as_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    return int(order)


def _zero_phase(sos: np.ndarray, signals: np.ndarray, description: str) -> np.ndarray:
    from scipy.signal import sosfiltfilt

    try:
        return sosfiltfilt(sos, signals, axis=-1)
    except ValueError as error:  # record shorter than the filter's padding
        raise ValueError(
            f"the record ({signals.shape[-1]} samples) is too short for {description}: {error}"
        ) from error


def _one_edge(signals: Any, fs: float, cutoff: float, order: int, kind: str) -> np.ndarray:
    """The zero-phase Butterworth ``kind`` ("highpass" or "lowpass") at ``cutoff`` Hz."""
    from scipy.signal import butter

    array = _as_signals(signals)
    rate = as_positive_scalar(fs, "fs", "Hz")
    cutoff_hz = _as_frequency(cutoff, "cutoff", rate)
    sos = butter(_as_order(order), cutoff_hz, btype=kind, fs=rate, output="sos")
    return _zero_phase(sos, array, f"{kind} {cutoff_hz:g} Hz (Butterworth order {order}, zero-phase)")


def bandpass(signals: Any, fs: float, low: float = 0.5, high: float = 40.0, *, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``scipy.signal.butter`` sos + ``sosfiltfilt``).

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    low, high : float, Hz
        Pass band edges (-3 dB per pass), ``0 < low < high < fs / 2``.
    order : int
        Butterworth order (doubled in effect by the forward-backward pass).

    Returns
    -------
    filtered : (n_leads, n_samples) float, mV

    Raises
    ------
    ValueError
        Bad edges or order, or a record too short for the filter's padding.
    """
    from scipy.signal import butter

    array = _as_signals(signals)
    rate = as_positive_scalar(fs, "fs", "Hz")
    low_hz = _as_frequency(low, "low", rate)
    high_hz = _as_frequency(high, "high", rate)
    if low_hz >= high_hz:
        raise ValueError(f"low must be below high, got low={low_hz:g} Hz and high={high_hz:g} Hz")
    sos = butter(_as_order(order), [low_hz, high_hz], btype="bandpass", fs=rate, output="sos")
    return _zero_phase(sos, array, f"bandpass {low_hz:g}-{high_hz:g} Hz (Butterworth order {order}, zero-phase)")


def highpass(signals: Any, fs: float, cutoff: float = 0.5, *, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth high-pass (baseline-wander removal).

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    cutoff : float, Hz
        -3 dB frequency (per pass), ``0 < cutoff < fs / 2``.
    order : int
        Butterworth order (doubled in effect by the forward-backward pass).

    Returns
    -------
    filtered : (n_leads, n_samples) float, mV
    """
    return _one_edge(signals, fs, cutoff, order, "highpass")


def lowpass(signals: Any, fs: float, cutoff: float = 40.0, *, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    cutoff : float, Hz
        -3 dB frequency (per pass), ``0 < cutoff < fs / 2``.
    order : int
        Butterworth order (doubled in effect by the forward-backward pass).

    Returns
    -------
    filtered : (n_leads, n_samples) float, mV
    """
    return _one_edge(signals, fs, cutoff, order, "lowpass")


def notch(signals: Any, fs: float, frequency: float, *, quality: float = 30.0) -> np.ndarray:
    """Zero-phase notch (``scipy.signal.iirnotch``), e.g. at the 50 or 60 Hz mains frequency.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    frequency : float, Hz
        Centre, ``0 < frequency < fs / 2``.
    quality : float
        Quality factor: the -3 dB width is ``frequency / quality``.

    Returns
    -------
    filtered : (n_leads, n_samples) float, mV
    """
    from scipy.signal import iirnotch, tf2sos

    array = _as_signals(signals)
    rate = as_positive_scalar(fs, "fs", "Hz")
    centre = _as_frequency(frequency, "frequency", rate)
    q = as_positive_scalar(quality, "quality")
    b, a = iirnotch(centre, q, fs=rate)
    return _zero_phase(tf2sos(b, a), array, f"notch {centre:g} Hz (Q {q:g}, zero-phase)")


def resampling_ratio(
    fs: float, target_fs: float, *, max_denominator: int = 1000, _name: str = "target_fs", _stacklevel: int = 2
) -> Fraction:
    """The rational factor ``up / down`` that takes ``fs`` closest to ``target_fs``.

    A ``UserWarning`` says so when the rate reached, ``fs * up / down``, differs from ``target_fs``
    by more than 1e-9 relative.

    Parameters
    ----------
    fs : float, Hz
        Current sampling rate.
    target_fs : float, Hz
        Wanted sampling rate.
    max_denominator : int
        Largest ``down`` factor tried.

    Returns
    -------
    ratio : fractions.Fraction
        ``up / down``, with ``down <= max_denominator``.

    Raises
    ------
    ValueError
        If ``target_fs`` is so low that the closest such fraction is 0.
    """
    rate = as_positive_scalar(fs, "fs", "Hz")
    target = as_positive_scalar(target_fs, _name, "Hz")
    ratio = Fraction(target / rate).limit_denominator(int(max_denominator))
    if ratio == 0:
        raise ValueError(
            f"{_name}={target:g} Hz is too low to resample from {rate:g} Hz with max_denominator={max_denominator}"
        )
    achieved = rate * ratio.numerator / ratio.denominator
    if not math.isclose(achieved, target, rel_tol=1e-9):
        warnings.warn(
            f"resampling to {achieved:.6g} Hz (ratio {ratio.numerator}/{ratio.denominator}), the closest rational "
            f"approximation of {target:g} Hz; raise max_denominator for a closer one",
            UserWarning,
            stacklevel=_stacklevel,
        )
    return ratio


def resample(
    signals: Any,
    fs: float,
    target_fs: float,
    *,
    max_denominator: int = 1000,
    _name: str = "target_fs",
    _stacklevel: int = 2,
) -> tuple[np.ndarray, Fraction]:
    """Resample with ``scipy.signal.resample_poly`` (anti-aliased polyphase FIR).

    The factor is :func:`resampling_ratio` (``up / down``, ``down <= max_denominator``); the rate
    reached is ``fs * up / down``.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Current sampling rate.
    target_fs : float, Hz
        Wanted sampling rate.
    max_denominator : int
        Largest ``down`` factor tried.

    Returns
    -------
    resampled : (n_leads, ceil(n_samples * up / down)) float, mV
        A copy of ``signals`` when the ratio is 1.
    ratio : fractions.Fraction
        ``up / down`` applied: the new rate is ``fs * ratio`` Hz.
    """
    from scipy.signal import resample_poly

    array = _as_signals(signals)
    ratio = resampling_ratio(
        fs, target_fs, max_denominator=max_denominator, _name=_name, _stacklevel=_stacklevel + 1
    )
    if ratio == 1:
        return array.copy(), ratio
    return resample_poly(array, ratio.numerator, ratio.denominator, axis=-1), ratio
