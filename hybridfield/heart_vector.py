"""Fitting the heart vector of a recorded ECG (the user-facing side of forward.inverse).

The lead vectors come from the default torso (forward.lead_vectors); methods:

- ``"least_squares"``: weighted least squares (needs 3 independent leads);
- ``"tikhonov"``: Gaussian posterior with the population's per-phase heart-vector prior and
  per-lead residual variances (works from a single lead);
- ``"smooth"``: least squares with a second-difference penalty over time, solved by cvxpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .data import ECG, canonical_lead_name

__all__ = ["fit_heart_vector", "calibrate_leads", "HEART_VECTOR_METHODS"]

HEART_VECTOR_METHODS = ("least_squares", "tikhonov", "smooth")


def _nominal_lead_matrix(prepared: ECG, leads: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
    """Usable lead names (default: the independent standard leads present) and their default-torso
    lead vectors, (n_leads, 3) mV per mA*m."""
    from forward import lead_vectors

    from .uncertainty import _default_torso_cached

    standard = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    names = [canonical_lead_name(n) for n in leads] if leads is not None else [n for n in standard if prepared.has_lead(n)]
    missing = [n for n in names if not prepared.has_lead(n)]
    if missing:
        raise ValueError(f"leads {missing} are not usable leads of this record (usable: {', '.join(prepared.lead_names)})")
    vectors = lead_vectors(_default_torso_cached(), names)
    return names, np.array([vectors[n] for n in names])


def fit_heart_vector(
    ecg: ECG,
    *,
    method: str = "tikhonov",
    leads: Sequence[str] | None = None,
    population: Any = None,
    smoothness: float = 1e5,
) -> Any:
    """Heart vector p(t) (mA*m, body frame) that explains the measured leads of a record.

    Parameters
    ----------
    ecg : ECG
        The record, mV.
    method : {"least_squares", "tikhonov", "smooth"}
        See the module docstring.
    leads : sequence of str, optional
        Leads to use (default: every usable standard lead).
    population : PopulationModel, optional
        For "tikhonov": prior and residual variances (default: the bundled model).
    smoothness : float
        For "smooth": weight of the squared second difference, mV^2 per (mA*m)^2.

    Returns
    -------
    heart_vector : (3, n_samples) float, or forward.GaussianHeartVector for "tikhonov"
        At the record's own sampling rate for "least_squares"/"smooth"; "tikhonov" works at the
        population model's rate and band (500 Hz, 0.5-40 Hz by default).
    """
    from forward import least_squares_heart_vector, smooth_heart_vector, tikhonov_heart_vector

    from .uncertainty import _lead_set, default_population_model, prepare_ecg, record_phase_bins

    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    if method not in HEART_VECTOR_METHODS:
        raise ValueError(f"method must be one of {HEART_VECTOR_METHODS}, got {method!r}")
    if method == "tikhonov":
        population = default_population_model() if population is None else population
        prepared = prepare_ecg(ecg, fs=population.fs, band=population.band)
        names = [canonical_lead_name(n) for n in leads] if leads is not None else [n for n in population.lead_names if prepared.has_lead(n)]
        lead_set = _lead_set(population, names)
        bins = record_phase_bins(prepared)
        mean, covariance = population.prior_mean[bins].T, population.prior_covariance[bins]
        noise = np.sqrt(lead_set.residual[:, bins])
        signals = np.array([prepared[n] for n in names])
        return tikhonov_heart_vector(
            signals, lead_set.centre, prior_mean=mean, prior_covariance=covariance, noise_std=noise
        )
    prepared = ecg.drop_unusable(warn=True)
    names, matrix = _nominal_lead_matrix(prepared, leads)
    signals = np.array([prepared[n] for n in names])
    if method == "least_squares":
        return least_squares_heart_vector(signals, matrix)
    return smooth_heart_vector(signals, matrix, smoothness=smoothness)


def calibrate_leads(
    ecg: ECG,
    *,
    leads: Sequence[str] | None = None,
    calibration_seconds: float = 5.0,
    reference_leads: Sequence[str] = ("I",),
    max_rotation_degrees: float = 20.0,
) -> Any:
    """Per-lead gains and lead-vector angle offsets fitted on the first seconds of a record, then
    frozen, as Nef-Net+ calibrates on the fly (Zhan et al. 2025).

    The heart vector and each lead's gain and direction are fitted together on the calibration
    segment by alternating convex problems (forward.calibrate_leads); the reference leads keep
    their nominal vectors and fix the gauge (with one reference lead, gains are relative).

    Parameters
    ----------
    ecg : ECG
        The record, mV.
    leads : sequence of str, optional
        Leads to calibrate (default: every usable standard lead).
    calibration_seconds : float
        Length of the calibration segment from the start of the record, s.
    reference_leads : sequence of str
        Leads held at their nominal lead vector.
    max_rotation_degrees : float
        Largest angle offset allowed per lead, degrees.

    Returns
    -------
    calibration : forward.LeadCalibration
        Frozen gains, calibrated lead matrix and angle offsets; apply it to later segments.
    """
    import math

    from forward import calibrate_leads as forward_calibrate_leads

    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    seconds = float(calibration_seconds)
    if not 0 < seconds <= ecg.duration:
        raise ValueError(f"calibration_seconds must be in (0, {ecg.duration:g}] s, got {calibration_seconds}")
    prepared = ecg.drop_unusable(warn=True)
    names, matrix = _nominal_lead_matrix(prepared, leads)
    references = [canonical_lead_name(n) for n in reference_leads]
    unknown = [n for n in references if n not in names]
    if unknown:
        raise ValueError(f"reference_leads {unknown} are not among the calibrated leads {names}")
    stop = int(round(seconds * prepared.fs))
    signals = np.array([prepared[n] for n in names])
    return forward_calibrate_leads(
        signals,
        matrix,
        segment=(0, stop),
        reference_leads=[names.index(n) for n in references],
        max_rotation=math.radians(max_rotation_degrees),
        lead_names=names,
    )
