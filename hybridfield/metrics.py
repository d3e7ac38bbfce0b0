"""Metrics that expose what reconstructed leads get wrong.

- Pointwise accuracy: RMSE (mV) and Pearson r.
- Calibration of credible bands: coverage and the interval (Winkler) score
  ``(upper - lower) + (2 / alpha) * (distance by which the truth falls outside)``, alpha = 1 - p
  (Gneiting & Raftery 2007): a band earns nothing by being wide.
- Regression to the mean (Presacan et al., Commun Med 2025): across records, the variance ratio
  of predicted to true peak-to-peak amplitude (1 = personal amplitudes kept, 0 = everyone gets the
  mean) and the correlation of the amplitude error with the true amplitude (about -1 when the
  prediction is the mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geometry.validation import as_finite_array

__all__ = [
    "rmse",
    "pearson_r",
    "coverage",
    "interval_score",
    "peak_to_peak",
    "regression_to_the_mean",
    "variance_ratio_difference",
    "PopulationRegression",
]


def _pair(predicted: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    predicted = as_finite_array(predicted, "predicted")
    truth = as_finite_array(truth, "truth")
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted and truth must have the same shape, got {predicted.shape} and {truth.shape}")
    return predicted, truth


def rmse(predicted: Any, truth: Any, *, axis: int = -1) -> np.ndarray:
    """Root-mean-square error along ``axis``, in the signals' unit (mV).

    Parameters
    ----------
    predicted, truth : array_like, same shape
        Signals.
    axis : int
        Axis to average over (time).

    Returns
    -------
    error : ndarray
    """
    predicted, truth = _pair(predicted, truth)
    return np.sqrt(np.mean((predicted - truth) ** 2, axis=axis))


def pearson_r(predicted: Any, truth: Any, *, axis: int = -1) -> np.ndarray:
    """Pearson correlation along ``axis`` (NaN-free: a constant signal raises).

    Parameters
    ----------
    predicted, truth : array_like, same shape
        Signals.
    axis : int
        Axis to correlate over (time).

    Returns
    -------
    r : ndarray
    """
    predicted, truth = _pair(predicted, truth)
    # Peak-to-peak, not the deviations from the mean: those are rounding noise for a constant.
    if np.any(np.ptp(predicted, axis=axis) == 0) or np.any(np.ptp(truth, axis=axis) == 0):
        raise ValueError("pearson_r is undefined for a constant signal")
    a = predicted - predicted.mean(axis=axis, keepdims=True)
    b = truth - truth.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=axis) * (b**2).sum(axis=axis))
    return (a * b).sum(axis=axis) / denominator


def coverage(truth: Any, lower: Any, upper: Any, *, axis: int = -1) -> np.ndarray:
    """Fraction of samples inside [lower, upper] along ``axis``.

    Parameters
    ----------
    truth, lower, upper : array_like, same shape
        True signal and band, mV.
    axis : int
        Axis to average over.

    Returns
    -------
    fraction : ndarray
    """
    truth = as_finite_array(truth, "truth")
    lower = as_finite_array(lower, "lower")
    upper = as_finite_array(upper, "upper")
    return np.mean((truth >= lower) & (truth <= upper), axis=axis)


def interval_score(truth: Any, lower: Any, upper: Any, probability: float, *, axis: int = -1) -> np.ndarray:
    """Mean interval (Winkler) score of a central interval of the given probability, mV.

    Parameters
    ----------
    truth, lower, upper : array_like, same shape
        True signal and band, mV.
    probability : float
        The band's probability in (0, 1) (explicit).
    axis : int
        Axis to average over.

    Returns
    -------
    score : ndarray, mV (lower is better)
    """
    probability = float(probability)
    if not 0 < probability < 1:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    alpha = 1.0 - probability
    truth = as_finite_array(truth, "truth")
    lower = as_finite_array(lower, "lower")
    upper = as_finite_array(upper, "upper")
    outside = np.maximum(lower - truth, 0.0) + np.maximum(truth - upper, 0.0)
    return np.mean((upper - lower) + (2.0 / alpha) * outside, axis=axis)


def peak_to_peak(signals: Any, *, axis: int = -1) -> np.ndarray:
    """Peak-to-peak amplitude along ``axis``, mV.

    Parameters
    ----------
    signals : array_like, mV
        Finite samples, e.g. ``(n_leads, n_samples)`` or ``(n_records, n_samples)``.
    axis : int
        The time axis (default the last).

    Returns
    -------
    amplitude : ndarray of float64, mV
        ``max - min`` along ``axis``: the input shape without that axis, e.g. ``(n_leads,)``.
    """
    return np.ptp(as_finite_array(signals, "signals"), axis=axis)


def _record_amplitudes(predicted_amplitude: Any, true_amplitude: Any, figure: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked per-record amplitudes: 1-D, at least 3 records, a true spread to compare against."""
    predicted, truth = _pair(predicted_amplitude, true_amplitude)
    if predicted.ndim != 1 or predicted.size < 3:
        raise ValueError(f"need at least 3 records as 1-D arrays, got shape {predicted.shape}")
    if np.ptp(truth) == 0:
        raise ValueError(f"true_amplitude is the same for every record: {figure} is undefined")
    return predicted, truth


def regression_to_the_mean(predicted_amplitude: Any, true_amplitude: Any) -> dict[str, float]:
    """Regression-to-the-mean figures across records for one lead.

    Parameters
    ----------
    predicted_amplitude, true_amplitude : (n_records,) float, mV
        Peak-to-peak amplitudes per record.

    Returns
    -------
    figures : dict
        ``variance_ratio`` (var predicted / var true) and ``error_correlation``
        (corr(predicted - true, true); 0.0 when the error is the same for every record, which
        then does not depend on the amplitude at all).
    """
    predicted, truth = _record_amplitudes(predicted_amplitude, true_amplitude, "regression to the mean")
    error = predicted - truth
    correlation = 0.0 if np.ptp(error) == 0 else float(np.corrcoef(error, truth)[0, 1])
    return {"variance_ratio": float(np.var(predicted) / np.var(truth)), "error_correlation": correlation}


def variance_ratio_difference(
    first_amplitude: Any,
    second_amplitude: Any,
    true_amplitude: Any,
    *,
    probability: float,
    n_resamples: int = 2000,
    random_seed: int = 0,
) -> dict[str, float]:
    """Difference of two methods' variance ratios on the same records, with a paired bootstrap interval.

    With a few dozen records a variance ratio is itself uncertain; resampling the records (the
    same draw for both methods and the truth) says whether one method keeps more of the
    amplitude spread than the other beyond that sampling noise.

    Parameters
    ----------
    first_amplitude, second_amplitude, true_amplitude : (n_records,) float, mV
        Peak-to-peak amplitudes per record of the two methods and of the truth.
    probability : float
        Central probability of the percentile interval, in (0, 1) (e.g. 0.9).
    n_resamples : int
        Bootstrap draws.
    random_seed : int
        Seed of the draws.

    Returns
    -------
    difference : dict
        ``estimate`` (variance ratio of the first minus that of the second), ``low`` and ``high``
        (the interval), ``probability``.
    """
    from scipy.stats import bootstrap

    first, truth = _record_amplitudes(first_amplitude, true_amplitude, "the variance ratio")
    second, _ = _record_amplitudes(second_amplitude, true_amplitude, "the variance ratio")
    probability = float(probability)
    if not 0 < probability < 1:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")

    def statistic(a: np.ndarray, b: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
        # a resample of identical true amplitudes has no spread: its ratio is undefined, not infinite
        spread = np.var(t, axis=axis)
        return np.where(spread > 0, (np.var(a, axis=axis) - np.var(b, axis=axis)) / np.where(spread > 0, spread, 1.0), np.nan)

    result = bootstrap(
        (first, second, truth), statistic, paired=True, vectorized=True, n_resamples=int(n_resamples),
        confidence_level=probability, method="percentile", random_state=np.random.default_rng(random_seed),
    )
    if not (np.isfinite(result.confidence_interval.low) and np.isfinite(result.confidence_interval.high)):
        raise ValueError("the bootstrap interval is undefined (resamples without amplitude spread); use more records")
    return {
        "estimate": float(statistic(first, second, truth)),
        "low": float(result.confidence_interval.low),
        "high": float(result.confidence_interval.high),
        "probability": probability,
    }


class PopulationRegression:
    """The baseline: a population linear regression from input leads to target leads with a
    constant Gaussian band (the residual standard deviation of the training samples).

    Parameters
    ----------
    inputs : (n_inputs, n_samples) float, mV
        Training inputs pooled over records.
    targets : (n_targets, n_samples) float, mV
        Training targets pooled over records.
    """

    def __init__(self, inputs: Any, targets: Any):
        inputs = as_finite_array(inputs, "inputs", ndim=2)
        targets = as_finite_array(targets, "targets", ndim=2)
        if inputs.shape[1] != targets.shape[1]:
            raise ValueError(f"inputs and targets need the same number of samples, got {inputs.shape} and {targets.shape}")
        design = np.vstack([inputs, np.ones(inputs.shape[1])]).T
        self.coefficients = np.linalg.lstsq(design, targets.T, rcond=None)[0]  # (n_inputs + 1, n_targets)
        self.residual_std = (targets - (design @ self.coefficients).T).std(axis=1)

    def predict(self, inputs: Any) -> np.ndarray:
        """Point prediction of the target leads, mV.

        Parameters
        ----------
        inputs : (n_inputs, n_samples) float, mV
            Input leads in the order used for fitting.

        Returns
        -------
        prediction : (n_targets, n_samples) float64, mV
        """
        inputs = as_finite_array(inputs, "inputs", ndim=2)
        design = np.vstack([inputs, np.ones(inputs.shape[1])]).T
        return (design @ self.coefficients).T

    def interval(self, inputs: Any, probability: float) -> tuple[np.ndarray, np.ndarray]:
        """Constant-width Gaussian band of the given probability, mV.

        Parameters
        ----------
        inputs : (n_inputs, n_samples) float, mV
            Input leads in the order used for fitting.
        probability : float
            Central probability of the band, in (0, 1) (e.g. 0.9).

        Returns
        -------
        lower, upper : (n_targets, n_samples) float64, mV
            ``prediction -/+ z * residual_std`` with ``z`` the standard normal quantile of
            ``0.5 + probability / 2``.
        """
        from scipy.stats import norm

        probability = float(probability)
        if not 0 < probability < 1:
            raise ValueError(f"probability must be in (0, 1), got {probability}")
        mean = self.predict(inputs)
        half = norm.ppf(0.5 + probability / 2.0) * self.residual_std[:, None]
        return mean - half, mean + half

