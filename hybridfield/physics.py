"""The physical answer: one heart-vector fit and its projection through the torso's lead vectors.

- :func:`fit_heart_vector_to_leads` is *the* heart-vector fit of the package: a Gaussian
  posterior (Tikhonov, :func:`forward.tikhonov_heart_vector`) of ``p(t)`` (mA*m) given the
  measured leads through the default torso's BEM lead vectors, with the population's per-phase
  prior (mean and covariance per phase bin) and its per-lead residual variances. The hybrid
  panorama, its training cycles and the user-facing :func:`fit_heart_vector` all call it.
- :func:`physical_projection` projects a fitted heart vector onto any views:
  ``c_view . p + w (x - C p)`` with the identity weights of :func:`hybridfield.leads.identity_weights`,
  so lead identities (Einthoven, Goldberger) hold with the measured leads.
- :func:`fit_heart_vector` (methods ``"tikhonov"``, ``"least_squares"``, ``"smooth"``) and
  :func:`calibrate_leads` (Nef-Net+-style per-lead gains and angle offsets) are the user-facing
  fits of a recorded ECG.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import INDEPENDENT_LEADS, canonical_lead_name, lead_vector_array

__all__ = [
    "HEART_VECTOR_METHODS",
    "fit_heart_vector_to_leads",
    "record_heart_vector",
    "physical_projection",
    "fit_heart_vector",
    "calibrate_leads",
]

HEART_VECTOR_METHODS = ("least_squares", "tikhonov", "smooth")


def fit_heart_vector_to_leads(signals: np.ndarray, inputs: Sequence[str], phase_bins: np.ndarray, population: Any) -> Any:
    """Gaussian posterior of the heart vector given measured leads (Tikhonov with the population prior).

    Per sample ``t`` in phase bin ``b(t)``: prior ``p(t) ~ N(mu_b, Sigma_b)`` (the population's
    ``prior_mean`` and ``prior_covariance``), likelihood ``x(t) ~ N(C p(t), diag r_b)`` with ``C``
    the inputs' default-torso lead vectors and ``r_b`` the population's residual variances of the
    inputs in that bin.

    Parameters
    ----------
    signals : (n_inputs, n_samples) float, mV
        Measured leads.
    inputs : sequence of str
        Their names (leads with population statistics).
    phase_bins : (n_samples,) int
        Phase bin of every sample (:func:`hybridfield.phases.phase_bins`).
    population : PopulationModel
        Prior and residual variances.

    Returns
    -------
    heart_vector : forward.GaussianHeartVector
        ``mean`` (3, n_samples) mA*m, body frame, and its covariance.
    """
    from forward import tikhonov_heart_vector

    residual = population.residual_variances(inputs)
    prior_mean, prior_covariance = population.heart_vector_prior.mean_and_covariance(phase_bins)
    return tikhonov_heart_vector(
        signals,
        lead_vector_array(inputs),
        prior_mean=prior_mean,
        prior_covariance=prior_covariance,
        noise_std=np.sqrt(residual[:, phase_bins]),
    )


def record_heart_vector(record: Any, inputs: Sequence[str], population: Any) -> np.ndarray:
    """Posterior-mean heart vector of a prepared record from its measured leads.

    Parameters
    ----------
    record : PreparedRecord
        From :func:`hybridfield.preparation.prepare_record`.
    inputs : sequence of str
        Measured leads of the record.
    population : PopulationModel
        Prior and residual variances.

    Returns
    -------
    heart_vector : (3, n_samples) float, mA*m
        Body frame, on the prepared record's time base.
    """
    return fit_heart_vector_to_leads(record.signals(inputs), inputs, record.phase_bins, population).mean


def physical_projection(
    view_vectors: np.ndarray, weights: np.ndarray, heart_vector: np.ndarray, inputs: np.ndarray, input_vectors: np.ndarray
) -> np.ndarray:
    """Physical projection of a heart vector onto views, keeping lead identities with the inputs.

    ``c_view . p + w (x - C p)``: the view's lead vector times the heart vector, plus the inputs'
    non-dipolar part with the weights of :func:`hybridfield.leads.identity_weights`, so
    III = II - I (and Goldberger's leads) hold with the measured leads whatever the fit.

    Parameters
    ----------
    view_vectors : (n_views, 3) float, mV per mA*m
        Lead vectors of the views.
    weights : (n_views, n_inputs) float
        :func:`hybridfield.leads.identity_weights` of the views.
    heart_vector : (3, n_samples) float, mA*m
    inputs : (n_inputs, n_samples) float, mV
        Measured leads.
    input_vectors : (n_inputs, 3) float, mV per mA*m
        Their lead vectors.

    Returns
    -------
    projection : (n_views, n_samples) float, mV
    """
    return view_vectors @ heart_vector + weights @ (inputs - input_vectors @ heart_vector)


def _nominal_lead_matrix(prepared: ECG, leads: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
    """Usable lead names (default: the independent standard leads present) and their default-torso
    lead vectors, (n_leads, 3) mV per mA*m."""
    names = [canonical_lead_name(n) for n in leads] if leads is not None else [n for n in INDEPENDENT_LEADS if prepared.has_lead(n)]
    missing = [n for n in names if not prepared.has_lead(n)]
    if missing:
        raise ValueError(f"leads {missing} are not usable leads of this record (usable: {', '.join(prepared.lead_names)})")
    return names, lead_vector_array(names)


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
        ``"tikhonov"``: :func:`fit_heart_vector_to_leads` (population prior per phase bin; works
        from a single lead), the fit behind :meth:`hybridfield.HybridPanorama.heart_vector`;
        ``"least_squares"``: least squares through the default torso's lead vectors (needs 3
        independent leads); ``"smooth"``: least squares with a second-difference penalty over
        time, solved by cvxpy.
    leads : sequence of str, optional
        Leads to use (default: every usable standard lead with population statistics for
        "tikhonov", the usable independent leads otherwise).
    population : PopulationModel, optional
        For "tikhonov": prior and residual variances (default: the bundled model).
    smoothness : float
        For "smooth": weight of the squared second difference, mV^2 per (mA*m)^2.

    Returns
    -------
    heart_vector : (3, n_samples) float, or forward.GaussianHeartVector for "tikhonov"
        At the record's own sampling rate for "least_squares"/"smooth"; "tikhonov" works on the
        prepared record (500 Hz, 0.5-40 Hz: :data:`hybridfield.preparation.PREPROCESSING`).
    """
    from forward import least_squares_heart_vector, smooth_heart_vector

    from .population import default_population_model
    from .preparation import prepare_record

    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    if method not in HEART_VECTOR_METHODS:
        raise ValueError(f"method must be one of {HEART_VECTOR_METHODS}, got {method!r}")
    if method == "tikhonov":
        population = default_population_model() if population is None else population
        record = prepare_record(ecg, warn=True)
        names = record.input_leads(leads, [n for n in population.lead_names if record.ecg.has_lead(n)])
        return fit_heart_vector_to_leads(record.signals(names), names, record.phase_bins, population)
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
