"""Heart-vector inverse: the heart vector ``p(t)`` from any subset of leads.

Model
-----
A lead's value is ``y_l(t) = c_l . p(t) + e_l(t)`` (:mod:`forward.leads`). Stacking the leads::

    Y = L P + E,     Y (n_leads, n_samples) mV,  L (n_leads, 3) mV per mA*m,
                     P (3, n_samples) mA*m (body frame: x anterior, y left, z superior),
                     E ~ N(0, diag(noise_std²)) independent over leads and samples.

Estimators, from the least to the most assumed:

- :func:`least_squares_heart_vector`: (weighted) least squares, sample by sample; needs leads
  whose lead vectors span 3-D (rank 3).
- :func:`tikhonov_heart_vector`: the exact Gaussian posterior of ``P`` under a Gaussian prior per
  sample (:class:`GaussianHeartVector`); works with 1 or 2 leads, the prior carries the directions
  the leads do not see, and the posterior says so.
- :class:`HeartVectorPrior` / :func:`fit_heart_vector_prior`: a population prior per cardiac
  phase (P, PR, QRS, ST, T, TP, other) learned from training heart vectors.
- :func:`smooth_heart_vector`: a convex program (cvxpy) with a second-difference smoothness
  penalty over time and an optional Gaussian prior.
- :func:`calibrate_leads`: per-lead gains and electrode-displacement corrections of the lead
  vectors fitted on a calibration segment (as Nef-Net+ does on the fly), by alternating convex
  steps; the result (:class:`LeadCalibration`) is then frozen and reused.

Everything here works on plain arrays and lead matrices; rows of ``signals`` and of
``lead_matrix`` must describe the same leads in the same order (the caller addresses leads by
name, e.g. with :func:`forward.lead_matrix`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg as sla
from scipy.special import ndtri

from geometry.validation import as_finite_array

__all__ = [
    "PHASE_NAMES",
    "GaussianHeartVector",
    "HeartVectorPrior",
    "LeadCalibration",
    "calibrate_leads",
    "fit_heart_vector_prior",
    "least_squares_heart_vector",
    "phase_labels_from_annotations",
    "smooth_heart_vector",
    "tikhonov_heart_vector",
]

PHASE_NAMES: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T", "TP", "other")
"""Cardiac phase labels 0..6 as in the Nef-Net protocol (6: padding / outside complete beats)."""

_RANK_TOLERANCE = 1e-10  # singular values below this fraction of the largest count as zero
_ACCEPTED_STATUSES = ("optimal", "optimal_inaccurate")


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _signals_and_lead_matrix(signals: Any, lead_matrix: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``signals`` (n_leads, n) mV and ``lead_matrix`` (n_leads, 3) and their agreement."""
    lead_array = as_finite_array(lead_matrix, "lead_matrix")
    if lead_array.ndim == 1 and lead_array.shape[0] == 3:
        lead_array = lead_array[np.newaxis, :]
    if lead_array.ndim != 2 or lead_array.shape[1] != 3:
        raise ValueError(f"lead_matrix must have shape (n_leads, 3) (mV per mA*m), got shape {lead_array.shape}")
    signal_array = as_finite_array(signals, "signals")
    if signal_array.ndim == 1 and lead_array.shape[0] == 1:
        signal_array = signal_array[np.newaxis, :]
    if signal_array.ndim != 2:
        raise ValueError(f"signals must have shape (n_leads, n_samples) (mV), got shape {signal_array.shape}")
    if signal_array.shape[0] != lead_array.shape[0]:
        raise ValueError(
            f"signals and lead_matrix must describe the same leads: signals has {signal_array.shape[0]} "
            f"row(s) (shape {signal_array.shape}) but lead_matrix has {lead_array.shape[0]} row(s) "
            f"(shape {lead_array.shape})"
        )
    return signal_array, lead_array


def _noise_std(noise_std: Any, n_leads: int, n_samples: int, *, allow_time: bool = True) -> np.ndarray:
    """Validate ``noise_std`` (scalar, (n_leads,) or (n_leads, n_samples), mV, > 0).

    Returns an array of shape (n_leads, 1) (constant in time) or (n_leads, n_samples).
    """
    array = as_finite_array(noise_std, "noise_std")
    allowed = "a scalar, (n_leads,)" + (" or (n_leads, n_samples)" if allow_time else "")
    if array.ndim == 0:
        array = np.full((n_leads, 1), float(array))
    elif array.ndim == 1 and array.shape[0] == n_leads:
        array = array[:, np.newaxis]
    elif allow_time and array.shape == (n_leads, n_samples):
        pass
    else:
        raise ValueError(
            f"noise_std must be {allowed} = ({n_leads}, {n_samples}) in mV, got shape {array.shape}"
        )
    if np.any(array <= 0):
        raise ValueError(f"noise_std must be positive (mV), got minimum {float(array.min()):g}")
    return array


def _non_negative(value: Any, name: str) -> float:
    try:
        scalar = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a non-negative number, got {value!r}") from error
    if not np.isfinite(scalar) or scalar < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {scalar}")
    return scalar


def _rank(matrix: np.ndarray) -> int:
    singular = np.linalg.svd(matrix, compute_uv=False)
    if singular.size == 0 or singular[0] == 0:
        return 0
    return int(np.count_nonzero(singular > _RANK_TOLERANCE * singular[0]))


def _require_rank3(lead_matrix: np.ndarray, remedy: str) -> None:
    rank = _rank(lead_matrix)
    if rank < 3:
        n = lead_matrix.shape[0]
        raise ValueError(
            f"lead_matrix has {n} lead(s) with rank {rank}: the heart vector is not determined "
            f"(3 components need lead vectors spanning 3-D); {remedy}"
        )


def _prior_mean(value: Any, n_samples: int, name: str = "prior_mean") -> np.ndarray:
    array = as_finite_array(value, name)
    if array.shape == (3,):
        return np.repeat(array[:, np.newaxis], n_samples, axis=1)
    if array.shape == (3, n_samples):
        return array
    raise ValueError(f"{name} must have shape (3,) or (3, {n_samples}) (mA*m), got shape {array.shape}")


def _covariance(value: Any, n_samples: int, name: str) -> np.ndarray:
    """Validate a covariance (3, 3) or (n_samples, 3, 3): finite and symmetric."""
    array = as_finite_array(value, name)
    if array.shape != (3, 3) and array.shape != (n_samples, 3, 3):
        raise ValueError(f"{name} must have shape (3, 3) or ({n_samples}, 3, 3) ((mA*m)²), got shape {array.shape}")
    transposed = np.swapaxes(array, -1, -2)
    scale = max(float(np.max(np.abs(array))), np.finfo(float).tiny)
    if np.max(np.abs(array - transposed)) > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric; the largest asymmetry is {np.max(np.abs(array - transposed)):g}")
    return 0.5 * (array + transposed)


def _cholesky(covariance: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factor(s) of a (3, 3) or (n, 3, 3) positive-definite covariance."""
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError as error:
        eigenvalues = np.linalg.eigvalsh(covariance)
        raise ValueError(
            f"{name} must be positive definite; its smallest eigenvalue is {float(eigenvalues.min()):g} (mA*m)²"
        ) from error


def _sqrt_psd(covariance: np.ndarray) -> np.ndarray:
    """A square root ``F`` with ``F F^T = covariance`` for PSD (possibly singular) matrices."""
    eigenvalues, vectors = np.linalg.eigh(covariance)
    return vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[..., np.newaxis, :]


def _seed_rng(random_seed: int | np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(random_seed)


# --------------------------------------------------------------------------------------------
# Least squares
# --------------------------------------------------------------------------------------------


def least_squares_heart_vector(signals: Any, lead_matrix: Any, *, noise_std: Any = None) -> np.ndarray:
    """Weighted least-squares heart vector, sample by sample.

    Minimises ``sum_l ((y_l(t) - c_l . p(t)) / noise_std_l)²`` at every sample ``t``.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
        Lead signals; rows in the order of ``lead_matrix``.
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
        Lead vectors (body frame), one row per lead; must have rank 3.
    noise_std : float, (n_leads,) or (n_leads, n_samples) array_like, mV, optional
        Noise standard deviation per lead (and sample); the weights are ``1 / noise_std``.
        Default None (equal weights).

    Returns
    -------
    heart_vector : (3, n_samples) ndarray of float64, mA*m

    Raises
    ------
    ValueError
        On non-finite input, inconsistent shapes, ``noise_std <= 0`` or a lead matrix of rank < 3.
    """
    y, lead = _signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    _require_rank3(lead, "pass a prior (tikhonov_heart_vector) or more leads")
    if noise_std is None:
        return np.linalg.lstsq(lead, y, rcond=None)[0]
    sigma = _noise_std(noise_std, n_leads, n_samples)
    weights = 1.0 / sigma
    if sigma.shape[1] == 1:
        return np.linalg.lstsq(lead * weights, y * weights, rcond=None)[0]
    # Time-varying weights: batched thin QR of W_t L (n, n_leads, 3), then a 3x3 solve per sample.
    weighted = np.einsum("ln,lj->nlj", weights, lead)
    q, r = np.linalg.qr(weighted)
    rhs = np.einsum("nlj,ln->nj", q, weights * y)
    return np.linalg.solve(r, rhs[..., np.newaxis])[..., 0].T


# --------------------------------------------------------------------------------------------
# Gaussian posterior
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class GaussianHeartVector:
    """A Gaussian distribution of the heart vector, independent from sample to sample.

    Attributes
    ----------
    mean : (3, n_samples) ndarray of float64, mA*m
        Mean (body frame).
    covariance : (3, 3) or (n_samples, 3, 3) ndarray of float64, (mA*m)²
        Covariance of ``p(t)``, shared by all samples or one per sample; symmetric positive
        semi-definite.
    """

    mean: np.ndarray
    covariance: np.ndarray

    def __post_init__(self) -> None:
        mean = as_finite_array(self.mean, "mean").copy()  # own copies: frozen below
        if mean.ndim != 2 or mean.shape[0] != 3:
            raise ValueError(f"mean must have shape (3, n_samples) (mA*m), got shape {mean.shape}")
        covariance = _covariance(self.covariance, mean.shape[1], "covariance").copy()
        if np.min(np.linalg.eigvalsh(covariance)) < -1e-9 * max(float(np.max(np.abs(covariance))), 1e-300):
            raise ValueError("covariance must be positive semi-definite; it has a negative eigenvalue")
        mean.setflags(write=False)
        covariance.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "covariance", covariance)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.mean.shape[1])

    @property
    def variance(self) -> np.ndarray:
        """(3, n_samples) marginal variance of each component, (mA*m)²."""
        diagonal = np.diagonal(self.covariance, axis1=-2, axis2=-1)  # (3,) or (n, 3)
        return np.broadcast_to(diagonal.T if diagonal.ndim == 2 else diagonal[:, np.newaxis], self.mean.shape).copy()

    @property
    def standard_deviation(self) -> np.ndarray:
        """(3, n_samples) marginal standard deviation of each component, mA*m."""
        return np.sqrt(np.clip(self.variance, 0.0, None))

    def credible_interval(self, probability: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Central marginal credible interval of each component.

        Parameters
        ----------
        probability : float
            Mass inside the interval, in (0, 1). Default 0.9.

        Returns
        -------
        lower, upper : (3, n_samples) ndarray of float64, mA*m
        """
        mass = float(probability)
        if not 0.0 < mass < 1.0:
            raise ValueError(f"probability must be in (0, 1), got {probability!r}")
        half = float(ndtri(0.5 + mass / 2.0)) * self.standard_deviation
        return self.mean - half, self.mean + half

    def lead_mean_and_std(self, lead_matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of leads ``y = L p`` under this distribution (no noise added).

        Parameters
        ----------
        lead_matrix : (n_leads, 3) array_like, mV per mA*m

        Returns
        -------
        mean : (n_leads, n_samples) ndarray of float64, mV
        std : (n_leads, n_samples) ndarray of float64, mV
        """
        lead = as_finite_array(lead_matrix, "lead_matrix")
        if lead.ndim == 1 and lead.shape[0] == 3:
            lead = lead[np.newaxis, :]
        if lead.ndim != 2 or lead.shape[1] != 3:
            raise ValueError(f"lead_matrix must have shape (n_leads, 3), got shape {lead.shape}")
        mean = lead @ self.mean
        if self.covariance.ndim == 2:
            variance = np.einsum("li,ij,lj->l", lead, self.covariance, lead)[:, np.newaxis]
            variance = np.broadcast_to(variance, mean.shape)
        else:
            variance = np.einsum("li,nij,lj->ln", lead, self.covariance, lead)
        return mean, np.sqrt(np.clip(variance, 0.0, None))

    def sample(self, n_draws: int, random_seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Exact independent draws.

        Parameters
        ----------
        n_draws : int
            Number of draws (>= 1).
        random_seed : int, numpy.random.Generator or None
            Seed; the same seed gives the same draws.

        Returns
        -------
        draws : (n_draws, 3, n_samples) ndarray of float64, mA*m
        """
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
        rng = _seed_rng(random_seed)
        standard = rng.standard_normal((int(n_draws), 3, self.n_samples))
        root = _sqrt_psd(self.covariance)
        if root.ndim == 2:
            return self.mean[np.newaxis] + np.einsum("ij,djn->din", root, standard)
        return self.mean[np.newaxis] + np.einsum("nij,djn->din", root, standard)

    def __repr__(self) -> str:
        kind = "shared" if self.covariance.ndim == 2 else "per-sample"
        return f"<GaussianHeartVector | 3 x {self.n_samples} samples, {kind} covariance, mA*m>"


def tikhonov_heart_vector(
    signals: Any,
    lead_matrix: Any,
    *,
    prior_mean: Any,
    prior_covariance: Any,
    noise_std: Any,
) -> GaussianHeartVector:
    """Exact Gaussian posterior of the heart vector (Tikhonov / Bayesian linear inverse).

    With ``Y = L P + E``, ``E ~ N(0, diag(noise_std²))`` and the prior
    ``p(t) ~ N(prior_mean(t), prior_covariance(t))`` independent over samples, the posterior of
    each ``p(t)`` is Gaussian. With the prior Cholesky factor ``C`` (``Σ = C Cᵀ``), whitened leads
    ``A = W L C`` (``W = diag(1 / noise_std)``) and ``M = I + Aᵀ A``::

        mean = prior_mean + C M⁻¹ Aᵀ W (y - L prior_mean),     covariance = C M⁻¹ Cᵀ.

    ``M`` has all eigenvalues >= 1, so this is well conditioned for any number of leads (1 and 2
    included: the unobserved directions keep the prior) and the covariance is symmetric positive
    definite by construction. All samples are solved at once (batched 3x3 factorisations).

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
    prior_mean : (3,) or (3, n_samples) array_like, mA*m
    prior_covariance : (3, 3) or (n_samples, 3, 3) array_like, (mA*m)²
        Symmetric positive definite.
    noise_std : float, (n_leads,) or (n_leads, n_samples) array_like, mV
        Positive.

    Returns
    -------
    posterior : GaussianHeartVector
        Mean (3, n_samples); covariance (3, 3) when both the prior covariance and the noise are
        constant in time, otherwise (n_samples, 3, 3).
    """
    y, lead = _signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    mean0 = _prior_mean(prior_mean, n_samples)
    covariance0 = _covariance(prior_covariance, n_samples, "prior_covariance")
    factor = _cholesky(covariance0, "prior_covariance")
    sigma = _noise_std(noise_std, n_leads, n_samples)
    weights = 1.0 / sigma
    whitened_residual = weights * (y - lead @ mean0)  # (n_leads, n)
    identity = np.eye(3)

    if factor.ndim == 2 and sigma.shape[1] == 1:
        a = (weights * lead) @ factor  # (n_leads, 3)
        m = identity + a.T @ a
        k = np.linalg.cholesky(m)
        z = sla.cho_solve((k, True), a.T @ whitened_residual)  # (3, n)
        k_inverse = sla.solve_triangular(k, identity, lower=True)
        g = factor @ k_inverse.T  # C K^-T
        return GaussianHeartVector(mean=mean0 + factor @ z, covariance=g @ g.T)

    factors = np.broadcast_to(factor, (n_samples, 3, 3))
    weights_t = np.broadcast_to(weights, (n_leads, n_samples))
    a = np.einsum("ln,lj,nji->nli", weights_t, lead, factors)  # (n, n_leads, 3)
    m = identity + np.einsum("nli,nlj->nij", a, a)
    k = np.linalg.cholesky(m)
    k_inverse = np.linalg.solve(k, np.broadcast_to(identity, k.shape))  # batched K^-1
    rhs = np.einsum("nli,ln->ni", a, np.broadcast_to(whitened_residual, (n_leads, n_samples)))
    z = np.einsum("nji,njk,nk->ni", k_inverse, k_inverse, rhs)  # M^-1 rhs = K^-T K^-1 rhs
    g = np.einsum("nij,nkj->nik", factors, k_inverse)  # C K^-T
    covariance = np.einsum("nij,nkj->nik", g, g)
    mean = mean0 + np.einsum("nij,nj->in", factors, z)
    return GaussianHeartVector(mean=mean, covariance=covariance)


# --------------------------------------------------------------------------------------------
# Population prior per cardiac phase
# --------------------------------------------------------------------------------------------


def phase_labels_from_annotations(annotations: Any, n_samples: int) -> np.ndarray:
    """Cardiac phase label of every sample from beat annotations (Nef-Net regions).

    Labels: 0 P [p_onset, p_offset), 1 PR [p_offset, qrs_onset), 2 QRS [qrs_onset, qrs_offset),
    3 ST [qrs_offset, t_onset), 4 T [t_onset, t_offset), 5 TP [t_offset, next p_onset) and 6 for
    everything outside complete beats (before the first P onset, after the last annotated beat's
    T offset). A later beat overwrites an earlier one where they overlap.

    Parameters
    ----------
    annotations : HeartbeatAnnotations or object with the same index attributes
        ``p_onset, p_offset, qrs_onset, qrs_offset, t_onset, t_offset``: (n_beats,) sample indices.
    n_samples : int
        Length of the signal.

    Returns
    -------
    labels : (n_samples,) ndarray of int64
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    names = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_onset", "t_offset")
    try:
        marks = [np.asarray(getattr(annotations, name), dtype=np.int64).ravel() for name in names]
    except AttributeError as error:
        raise TypeError(f"annotations must have the attributes {names}, got {type(annotations).__name__}") from error
    n_beats = marks[0].shape[0]
    if any(mark.shape[0] != n_beats for mark in marks):
        raise ValueError("annotations: all fiducial arrays must have the same length")
    labels = np.full(int(n_samples), 6, dtype=np.int64)
    for beat in range(n_beats):
        bounds = [int(mark[beat]) for mark in marks]
        next_onset = int(marks[0][beat + 1]) if beat + 1 < n_beats else bounds[-1]
        edges = [*bounds, next_onset]
        for label in range(6):
            start, stop = max(edges[label], 0), min(edges[label + 1], n_samples)
            if stop > start:
                labels[start:stop] = label
    return labels


def _integer_labels(value: Any, n_phases: int, name: str) -> np.ndarray:
    """Validate phase labels: (n,) integers (or integral floats) in 0..n_phases-1."""
    labels = np.asarray(value)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must have shape (n_samples,), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        integral = labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))
        if not integral:
            raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_phases:
        raise ValueError(f"{name} must lie in 0..{n_phases - 1}, got values from {labels.min()} to {labels.max()}")
    return labels


def _ledoit_wolf(centred: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage of the covariance of centred rows (n, p) towards ``mu I``.

    Returns the empirical covariance and the optimal shrinkage intensity in [0, 1]
    (Ledoit & Wolf, J Multivar Anal 88:365-411, 2004; the estimator of scikit-learn).
    """
    n, p = centred.shape
    empirical = centred.T @ centred / n
    mu = np.trace(empirical) / p
    squared = centred**2
    beta_sum = np.sum(squared.T @ squared)
    delta_sum = np.sum((centred.T @ centred) ** 2) / n**2
    beta = (beta_sum / n - delta_sum) / (p * n)
    delta = (delta_sum - 2.0 * mu * np.trace(empirical) + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if delta <= 0 else float(np.clip(beta / delta, 0.0, 1.0))
    return empirical, shrinkage


@dataclass(frozen=True, repr=False)
class HeartVectorPrior:
    """Population Gaussian prior of the heart vector per cardiac phase.

    Attributes
    ----------
    means : (n_phases, 3) ndarray of float64, mA*m
        Mean heart vector of each phase (body frame).
    covariances : (n_phases, 3, 3) ndarray of float64, (mA*m)²
        Covariance of each phase, symmetric positive definite.
    counts : (n_phases,) ndarray of int64
        Training samples of each phase (0: the phase fell back to the pooled estimate).
    shrinkages : (n_phases,) ndarray of float64
        Shrinkage intensity towards the scaled identity used for each phase, in [0, 1].
    phase_names : tuple of str
        Name of each phase label.
    """

    means: np.ndarray
    covariances: np.ndarray
    counts: np.ndarray
    shrinkages: np.ndarray
    phase_names: tuple[str, ...] = field(default=PHASE_NAMES)

    def __post_init__(self) -> None:
        means = as_finite_array(self.means, "means").copy()
        if means.ndim != 2 or means.shape[1] != 3:
            raise ValueError(f"means must have shape (n_phases, 3), got shape {means.shape}")
        n_phases = means.shape[0]
        covariances = as_finite_array(self.covariances, "covariances")
        if covariances.shape != (n_phases, 3, 3):
            raise ValueError(f"covariances must have shape ({n_phases}, 3, 3), got shape {covariances.shape}")
        covariances = _covariance(covariances, n_phases, "covariances")
        _cholesky(covariances, "covariances")
        counts = np.array(self.counts, dtype=np.int64)
        shrinkages = as_finite_array(self.shrinkages, "shrinkages").copy()
        if counts.shape != (n_phases,) or shrinkages.shape != (n_phases,):
            raise ValueError(
                f"counts and shrinkages must have shape ({n_phases},), got {counts.shape} and {shrinkages.shape}"
            )
        names = tuple(str(name) for name in self.phase_names)
        if len(names) != n_phases:
            raise ValueError(f"phase_names must name the {n_phases} phases, got {len(names)} name(s): {list(names)}")
        for array in (means, covariances, counts, shrinkages):
            array.setflags(write=False)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "shrinkages", shrinkages)
        object.__setattr__(self, "phase_names", names)

    @property
    def n_phases(self) -> int:
        """Number of phases."""
        return int(self.means.shape[0])

    def mean_and_covariance(self, phase_labels: Any) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean and covariance of every sample.

        Parameters
        ----------
        phase_labels : (n_samples,) array_like of int
            Phase of each sample (0..n_phases-1).

        Returns
        -------
        mean : (3, n_samples) ndarray of float64, mA*m
        covariance : (n_samples, 3, 3) ndarray of float64, (mA*m)²
            Ready for :func:`tikhonov_heart_vector` or ``prior=`` of :func:`smooth_heart_vector`.
        """
        labels = _integer_labels(phase_labels, self.n_phases, "phase_labels")
        return self.means[labels].T.copy(), self.covariances[labels].copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of lists (JSON-serialisable); :meth:`from_dict` restores it exactly.

        Returns
        -------
        data : dict
            ``type`` ("HeartVectorPrior"), ``units``, ``phase_names`` (list of str), ``means``
            (n_phases x 3 nested list, mA*m), ``covariances`` (n_phases x 3 x 3, (mA*m)^2),
            ``counts`` (n_phases ints) and ``shrinkages`` (n_phases floats in [0, 1]).
        """
        return {
            "type": "HeartVectorPrior",
            "units": {"means": "mA*m", "covariances": "(mA*m)^2"},
            "phase_names": list(self.phase_names),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            "counts": self.counts.tolist(),
            "shrinkages": self.shrinkages.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeartVectorPrior:
        """Rebuild a prior from :meth:`to_dict` output.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict` (or the same structure read back from JSON): keys
            ``means`` (mA*m), ``covariances`` ((mA*m)^2), ``counts``, ``shrinkages`` and optionally
            ``phase_names`` (default :data:`PHASE_NAMES`).

        Returns
        -------
        prior : HeartVectorPrior
            Validated like any new prior (shapes, positive definite covariances).

        Raises
        ------
        TypeError
            If ``data`` is not a mapping.
        ValueError
            If a required key is missing or the arrays are inconsistent.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping from HeartVectorPrior.to_dict, got {type(data).__name__}")
        missing = [key for key in ("means", "covariances", "counts", "shrinkages") if key not in data]
        if missing:
            raise ValueError(f"data is missing the key(s) {missing}; expected the output of HeartVectorPrior.to_dict")
        return cls(
            means=np.asarray(data["means"], dtype=np.float64),
            covariances=np.asarray(data["covariances"], dtype=np.float64),
            counts=np.asarray(data["counts"], dtype=np.int64),
            shrinkages=np.asarray(data["shrinkages"], dtype=np.float64),
            phase_names=tuple(data.get("phase_names", PHASE_NAMES)),
        )

    def __repr__(self) -> str:
        return f"<HeartVectorPrior | {self.n_phases} phases, {int(self.counts.sum())} training samples, mA*m>"


def fit_heart_vector_prior(
    heart_vectors: Any,
    phase_labels: Any,
    *,
    n_phases: int = 7,
    shrinkage: float | str = "ledoit-wolf",
    variance_floor: float | None = None,
) -> HeartVectorPrior:
    """Learn a Gaussian prior of the heart vector per cardiac phase from training heart vectors.

    For every phase the mean and the covariance of all training samples with that label are
    estimated; the covariance is shrunk towards a scaled identity ``mu I`` (``mu`` = mean
    variance of the phase), ``(1 - a) S + a mu I``, with ``a`` from Ledoit-Wolf (default) or
    fixed, and a floor ``variance_floor * I`` is added so every covariance is positive definite
    even with few or degenerate samples. Phases with fewer than 2 samples take the pooled mean and
    covariance of all samples. Samples are treated as independent (consecutive samples are
    strongly correlated, so Ledoit-Wolf tends to shrink too little; pass a fixed ``shrinkage``
    to be more conservative).

    Parameters
    ----------
    heart_vectors : (3, n) array_like or sequence of (3, n_i) array_like, mA*m
        Training heart vectors (body frame).
    phase_labels : (n,) array_like of int or sequence of (n_i,) array_like of int
        Phase label of every sample (see :data:`PHASE_NAMES`), matching ``heart_vectors``.
    n_phases : int, optional
        Number of phase labels, default 7 (P, PR, QRS, ST, T, TP, other).
    shrinkage : "ledoit-wolf" or float in [0, 1], optional
        Shrinkage intensity towards the scaled identity. Default "ledoit-wolf".
    variance_floor : float, optional
        Ridge added to every covariance, (mA*m)². Default: 1e-3 times the mean variance of all
        samples pooled (about 3 % of the pooled standard deviation).

    Returns
    -------
    prior : HeartVectorPrior
    """
    if isinstance(n_phases, bool) or not isinstance(n_phases, (int, np.integer)) or n_phases < 1:
        raise ValueError(f"n_phases must be a positive integer, got {n_phases!r}")
    if isinstance(heart_vectors, np.ndarray) and heart_vectors.ndim == 2:
        vector_list: list[Any] = [heart_vectors]
        label_list: list[Any] = [phase_labels]
    elif isinstance(heart_vectors, Sequence) and len(heart_vectors) > 0 and np.ndim(heart_vectors[0]) == 2:
        vector_list = list(heart_vectors)
        if not isinstance(phase_labels, Sequence) or len(phase_labels) != len(vector_list) or isinstance(phase_labels, str):
            raise ValueError(
                f"phase_labels must be a sequence of {len(vector_list)} label arrays matching heart_vectors, "
                f"got {type(phase_labels).__name__}"
            )
        label_list = list(phase_labels)
    else:
        vector_list, label_list = [heart_vectors], [phase_labels]
    samples, labels = [], []
    for index, (vectors, phases) in enumerate(zip(vector_list, label_list)):
        array = as_finite_array(vectors, f"heart_vectors[{index}]")
        if array.ndim != 2 or array.shape[0] != 3:
            raise ValueError(f"heart_vectors[{index}] must have shape (3, n) (mA*m), got shape {array.shape}")
        phase_array = _integer_labels(phases, n_phases, f"phase_labels[{index}]")
        if phase_array.shape != (array.shape[1],):
            raise ValueError(
                f"phase_labels[{index}] must have shape ({array.shape[1]},) to match heart_vectors[{index}], "
                f"got shape {phase_array.shape}"
            )
        samples.append(array.T)
        labels.append(phase_array)
    data = np.concatenate(samples, axis=0)  # (N, 3)
    all_labels = np.concatenate(labels)
    if data.shape[0] < 2:
        raise ValueError(f"heart_vectors must hold at least 2 samples, got {data.shape[0]}")

    fixed: float | None
    if isinstance(shrinkage, str):
        if shrinkage.lower().replace("_", "-") not in ("ledoit-wolf", "auto"):
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        fixed = None
    else:
        fixed = _non_negative(shrinkage, "shrinkage")
        if fixed > 1:
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {fixed}")

    pooled_variance = float(np.mean(np.var(data, axis=0)))
    if variance_floor is None:
        floor = 1e-3 * pooled_variance if pooled_variance > 0 else 1e-12
    else:
        floor = _non_negative(variance_floor, "variance_floor")
    if floor <= 0:
        floor = 1e-12 * max(pooled_variance, 1e-300)

    def estimate(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        mean = rows.mean(axis=0)
        empirical, intensity = _ledoit_wolf(rows - mean)
        if fixed is not None:
            intensity = fixed
        target = np.trace(empirical) / 3.0 * np.eye(3)
        covariance = (1.0 - intensity) * empirical + intensity * target + floor * np.eye(3)
        return mean, 0.5 * (covariance + covariance.T), intensity

    pooled = estimate(data)
    means = np.empty((n_phases, 3))
    covariances = np.empty((n_phases, 3, 3))
    counts = np.zeros(n_phases, dtype=np.int64)
    shrinkages = np.empty(n_phases)
    for phase in range(n_phases):
        rows = data[all_labels == phase]
        counts[phase] = rows.shape[0]
        mean, covariance, intensity = estimate(rows) if rows.shape[0] >= 2 else pooled
        means[phase], covariances[phase], shrinkages[phase] = mean, covariance, intensity
    names = tuple(PHASE_NAMES[i] if i < len(PHASE_NAMES) else f"phase {i}" for i in range(n_phases))
    return HeartVectorPrior(means=means, covariances=covariances, counts=counts, shrinkages=shrinkages, phase_names=names)


# --------------------------------------------------------------------------------------------
# Convex programs (cvxpy)
# --------------------------------------------------------------------------------------------


def _cvxpy() -> Any:
    try:
        import cvxpy
    except ImportError as error:  # pragma: no cover - cvxpy is a dependency of forward
        raise ImportError("the convex heart-vector inverse needs cvxpy: pip install cvxpy") from error
    return cvxpy


def _choose_solver(cp: Any, solver: str | None, *, conic: bool) -> str | None:
    installed = cp.installed_solvers()
    if solver is None:
        for preferred in ("CLARABEL", "ECOS", "SCS") if conic else ("CLARABEL", "OSQP", "SCS"):
            if preferred in installed:
                return preferred
        return None
    name = str(solver).upper()
    if name not in installed:
        raise ValueError(f"solver must be one of the installed cvxpy solvers {installed}, got {solver!r}")
    return name


def _solve(problem: Any, solver: str | None, what: str) -> None:
    """Solve a cvxpy problem; warn on an inaccurate optimum, raise RuntimeError on anything else."""
    cp = _cvxpy()
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as error:
        raise RuntimeError(f"{what}: the cvxpy solver {solver or 'default'} failed: {error}") from error
    status = problem.status
    if status not in _ACCEPTED_STATUSES:
        raise RuntimeError(f"{what}: the cvxpy solver {solver or 'default'} returned status {status!r}")
    if status == "optimal_inaccurate":
        warnings.warn(
            f"{what}: the cvxpy solver {solver or 'default'} returned status 'optimal_inaccurate'",
            RuntimeWarning,
            stacklevel=3,
        )


def _value(variable: Any, what: str) -> np.ndarray:
    value = variable.value
    if value is None or not np.all(np.isfinite(value)):
        raise RuntimeError(f"{what}: the solver reported success but returned no finite solution")
    return np.asarray(value, dtype=np.float64)


def _prior_terms(prior: Any, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (3, n), inverse Cholesky factor (3, 3) or (n, 3, 3)) of a prior argument."""
    if isinstance(prior, GaussianHeartVector):
        mean_value, covariance_value = prior.mean, prior.covariance
    elif isinstance(prior, (tuple, list)) and len(prior) == 2:
        mean_value, covariance_value = prior
    else:
        raise TypeError(
            f"prior must be a GaussianHeartVector or a (mean, covariance) pair, got {type(prior).__name__}"
        )
    mean = _prior_mean(mean_value, n_samples, "prior mean")
    covariance = _covariance(covariance_value, n_samples, "prior covariance")
    factor = _cholesky(covariance, "prior covariance")
    identity = np.broadcast_to(np.eye(3), factor.shape)
    inverse = np.linalg.solve(factor, identity)  # lower triangular C^-1
    return mean, inverse


def smooth_heart_vector(
    signals: Any,
    lead_matrix: Any,
    *,
    smoothness: float,
    noise_std: Any = None,
    prior: Any = None,
    solver: str | None = None,
) -> np.ndarray:
    """Heart vector from a convex program with a temporal smoothness penalty (cvxpy).

    Minimises over ``P`` (3, n_samples)::

        sum_{l,t} ((y_l(t) - c_l . p(t)) / noise_std_l(t))²
          + smoothness * sum_t |p(t+1) - 2 p(t) + p(t-1)|²
          + sum_t |C_t⁻¹ (p(t) - prior_mean(t))|²          (only with ``prior``; Σ_t = C_t C_tᵀ)

    With ``noise_std`` given and ``prior``, this is the MAP estimate under Gaussian noise, the
    phase prior and a Gaussian random-walk prior on the second difference with variance
    ``1 / smoothness`` ((mA*m)² per sample, at the signal's sampling rate). The data term is
    reduced to 3 rows by a QR factorisation when the weights are constant in time, and every
    term is a vectorised matrix expression, so 5000 samples solve in well under a second.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
    smoothness : float
        Weight of the squared second difference, >= 0, in units of the data term per (mA*m)²:
        mV² / (mA*m)² without ``noise_std``, 1 / (mA*m)² with it. 0 gives least squares (or the
        MAP under ``prior``). It depends on the sampling rate (a second difference scales as
        ``1 / fs²``).
    noise_std : float, (n_leads,) or (n_leads, n_samples) array_like, mV, optional
        Noise standard deviation; the residual weights are ``1 / noise_std``. Required with
        ``prior``. Default None (unit weights, residual in mV).
    prior : GaussianHeartVector or (mean, covariance) pair, optional
        Gaussian prior per sample: mean (3,) or (3, n_samples) mA*m, covariance (3, 3) or
        (n_samples, 3, 3) (mA*m)², positive definite (e.g. from
        :meth:`HeartVectorPrior.mean_and_covariance`). Without it the leads must have rank 3.
    solver : str, optional
        cvxpy solver name; default CLARABEL when installed.

    Returns
    -------
    heart_vector : (3, n_samples) ndarray of float64, mA*m

    Raises
    ------
    ValueError
        On invalid input, or leads of rank < 3 without a prior.
    RuntimeError
        If the solver fails or returns a status other than optimal / optimal_inaccurate
        (the latter only warns, RuntimeWarning).
    """
    cp = _cvxpy()
    y, lead = _signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    weight = _non_negative(smoothness, "smoothness")
    sigma = None if noise_std is None else _noise_std(noise_std, n_leads, n_samples)
    if prior is None:
        _require_rank3(lead, "pass prior= (a Gaussian prior) or more leads")
        prior_terms = None
    else:
        if sigma is None:
            raise ValueError(
                "noise_std is required with prior= (the prior term is only meaningful against a weighted residual)"
            )
        prior_terms = _prior_terms(prior, n_samples)
    chosen = _choose_solver(cp, solver, conic=False)
    weights = np.ones((n_leads, 1)) if sigma is None else 1.0 / sigma

    # Work with an O(1) variable X = P / scale.
    lead_rms = float(np.sqrt(np.mean(lead**2)))
    lead_rms = lead_rms if lead_rms > 0 else 1.0
    scale = max(float(np.sqrt(np.mean(y**2))), 1e-12) / lead_rms
    x = cp.Variable((3, n_samples))
    p = scale * x
    if weights.shape[1] == 1:
        q, r = np.linalg.qr(weights * lead)  # reduced: q (n_leads, k), r (k, 3), k = min(n_leads, 3)
        data_term = cp.sum_squares(r @ p - q.T @ (weights * y))
    else:
        data_term = cp.sum_squares(cp.multiply(weights, y - lead @ p))
    objective = data_term
    if weight > 0 and n_samples >= 3:
        objective = objective + weight * cp.sum_squares(cp.diff(p, k=2, axis=1))
    if prior_terms is not None:
        mean, inverse = prior_terms
        deviation = p - mean
        if inverse.ndim == 2:
            objective = objective + cp.sum_squares(inverse @ deviation)
        else:
            for i in range(3):
                row = sum(cp.multiply(inverse[:, i, j], deviation[j, :]) for j in range(i + 1))
                objective = objective + cp.sum_squares(row)
    problem = cp.Problem(cp.Minimize(objective / n_samples))
    _solve(problem, chosen, "smooth_heart_vector")
    return scale * _value(x, "smooth_heart_vector")


# --------------------------------------------------------------------------------------------
# Lead calibration (per-lead gain and electrode displacement)
# --------------------------------------------------------------------------------------------


def _angles_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


@dataclass(frozen=True, repr=False)
class LeadCalibration:
    """Per-lead gains and displacement-corrected lead vectors, fitted once and then frozen.

    The fitted model of a raw recorded lead is ``y_l(t) = gains[l] * lead_matrix[l] . p(t)``.
    ``lead_matrix[l]`` is the nominal lead vector rotated by ``angle_offsets[l]`` (same norm):
    the electrode-displacement correction; ``gains[l]`` is the remaining amplitude factor.

    Attributes
    ----------
    lead_names : tuple of str
        Name of each row.
    gains : (n_leads,) ndarray of float64
        Per-lead gain (dimensionless); exactly 1 for the reference leads.
    lead_matrix : (n_leads, 3) ndarray of float64, mV per mA*m
        Calibrated (rotated) lead vectors, gain excluded.
    nominal_lead_matrix : (n_leads, 3) ndarray of float64, mV per mA*m
        The lead vectors before calibration.
    segment : (int, int)
        Calibration segment ``[start, stop)`` in samples of the signals it was fitted on.
    reference_leads : tuple of str
        The gauge leads, held at gain 1 and their nominal lead vectors.
    residual_std : (n_leads,) ndarray of float64, mV
        RMS residual of each lead over the calibration segment after calibration.
    n_iterations : int
        Alternating iterations performed (1 with a reference heart vector).
    """

    lead_names: tuple[str, ...]
    gains: np.ndarray
    lead_matrix: np.ndarray
    nominal_lead_matrix: np.ndarray
    segment: tuple[int, int]
    reference_leads: tuple[str, ...]
    residual_std: np.ndarray
    n_iterations: int

    def __post_init__(self) -> None:
        names = tuple(str(name) for name in self.lead_names)
        nominal = as_finite_array(self.nominal_lead_matrix, "nominal_lead_matrix").copy()
        if nominal.ndim != 2 or nominal.shape[1] != 3:
            raise ValueError(f"nominal_lead_matrix must have shape (n_leads, 3), got shape {nominal.shape}")
        n_leads = nominal.shape[0]
        lead = as_finite_array(self.lead_matrix, "lead_matrix").copy()
        gains = as_finite_array(self.gains, "gains").copy()
        residual = as_finite_array(self.residual_std, "residual_std").copy()
        if len(names) != n_leads or lead.shape != (n_leads, 3) or gains.shape != (n_leads,) or residual.shape != (n_leads,):
            raise ValueError(
                f"lead_names ({len(names)}), gains {gains.shape}, lead_matrix {lead.shape} and residual_std "
                f"{residual.shape} must all describe the {n_leads} leads of nominal_lead_matrix"
            )
        if np.any(gains <= 0):
            raise ValueError(f"gains must be positive, got minimum {float(gains.min()):g}")
        references = (self.reference_leads,) if isinstance(self.reference_leads, str) else tuple(self.reference_leads)
        references = tuple(str(name) for name in references)
        unknown = [name for name in references if name not in names]
        if unknown:
            raise ValueError(f"reference_leads must be among {names}, got unknown {unknown}")
        start, stop = (int(v) for v in self.segment)
        for array in (nominal, lead, gains, residual):
            array.setflags(write=False)
        object.__setattr__(self, "lead_names", names)
        object.__setattr__(self, "nominal_lead_matrix", nominal)
        object.__setattr__(self, "lead_matrix", lead)
        object.__setattr__(self, "gains", gains)
        object.__setattr__(self, "residual_std", residual)
        object.__setattr__(self, "segment", (start, stop))
        object.__setattr__(self, "reference_leads", references)
        object.__setattr__(self, "n_iterations", int(self.n_iterations))

    @property
    def n_leads(self) -> int:
        """Number of leads."""
        return len(self.lead_names)

    @property
    def angle_offsets(self) -> np.ndarray:
        """(n_leads,) angle between calibrated and nominal lead vectors, degrees."""
        return _angles_degrees(self.lead_matrix, self.nominal_lead_matrix)

    def calibrated_lead_matrix(self) -> np.ndarray:
        """Effective lead matrix of the raw signals, ``gains[:, None] * lead_matrix``.

        Returns
        -------
        matrix : (n_leads, 3) ndarray of float64, mV per mA*m
            Use it with the raw (uncorrected) signals in any inverse of this module.
        """
        return self.gains[:, np.newaxis] * self.lead_matrix

    def apply(self, signals: Any) -> np.ndarray:
        """Remove the gains: ``signals / gains``, to be used with :attr:`lead_matrix`.

        Parameters
        ----------
        signals : (n_leads, n_samples) array_like, mV
            Raw signals, rows in the order of :attr:`lead_names`.

        Returns
        -------
        corrected : (n_leads, n_samples) ndarray of float64, mV
        """
        y, _ = _signals_and_lead_matrix(signals, self.lead_matrix)
        return y / self.gains[:, np.newaxis]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of lists (JSON-serialisable); :meth:`from_dict` restores it.

        Returns
        -------
        data : dict
            ``type`` ("LeadCalibration"), ``units``, ``lead_names``, ``gains`` (n_leads),
            ``lead_matrix`` and ``nominal_lead_matrix`` (n_leads x 3 nested lists, mV per mA*m),
            ``segment`` ([start, stop) in samples), ``reference_leads``, ``residual_std``
            (n_leads, mV), ``n_iterations`` and, for reading only, ``angle_offsets_degrees``
            (n_leads, degrees).
        """
        return {
            "type": "LeadCalibration",
            "units": {"lead_matrix": "mV per mA*m", "residual_std": "mV", "segment": "samples"},
            "lead_names": list(self.lead_names),
            "gains": self.gains.tolist(),
            "lead_matrix": self.lead_matrix.tolist(),
            "nominal_lead_matrix": self.nominal_lead_matrix.tolist(),
            "segment": list(self.segment),
            "reference_leads": list(self.reference_leads),
            "residual_std": self.residual_std.tolist(),
            "n_iterations": self.n_iterations,
            "angle_offsets_degrees": self.angle_offsets.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadCalibration:
        """Rebuild a calibration from :meth:`to_dict` output.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict` (or the same structure read back from JSON); the keys
            ``lead_names``, ``gains``, ``lead_matrix`` and ``nominal_lead_matrix`` (mV per mA*m),
            ``segment`` (samples), ``reference_leads``, ``residual_std`` (mV) and
            ``n_iterations`` are required, ``angle_offsets_degrees`` is ignored (it is derived).

        Returns
        -------
        calibration : LeadCalibration

        Raises
        ------
        TypeError
            If ``data`` is not a mapping.
        ValueError
            If a required key is missing or the arrays are inconsistent.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping from LeadCalibration.to_dict, got {type(data).__name__}")
        keys = (
            "lead_names",
            "gains",
            "lead_matrix",
            "nominal_lead_matrix",
            "segment",
            "reference_leads",
            "residual_std",
            "n_iterations",
        )
        missing = [key for key in keys if key not in data]
        if missing:
            raise ValueError(f"data is missing the key(s) {missing}; expected the output of LeadCalibration.to_dict")
        return cls(
            lead_names=tuple(data["lead_names"]),
            gains=np.asarray(data["gains"], dtype=np.float64),
            lead_matrix=np.asarray(data["lead_matrix"], dtype=np.float64),
            nominal_lead_matrix=np.asarray(data["nominal_lead_matrix"], dtype=np.float64),
            segment=tuple(data["segment"]),
            reference_leads=tuple(data["reference_leads"]),
            residual_std=np.asarray(data["residual_std"], dtype=np.float64),
            n_iterations=int(data["n_iterations"]),
        )

    def __repr__(self) -> str:
        return (
            f"<LeadCalibration | {self.n_leads} leads, gains {self.gains.min():.3f}-{self.gains.max():.3f}, "
            f"max angle offset {self.angle_offsets.max():.1f} deg, reference {', '.join(self.reference_leads)}, "
            f"segment {self.segment[0]}:{self.segment[1]} samples>"
        )


def _fit_lead_vectors(
    y: np.ndarray,
    heart_vector: np.ndarray,
    nominal: np.ndarray,
    weights: np.ndarray,
    references: Sequence[int],
    gain_bounds: tuple[float, float],
    tan_rotation: float,
    solver: str | None,
) -> np.ndarray:
    """Convex step (b): calibrated lead vectors ``b_l = g_l c_l + d_l`` with ``P`` fixed.

    ``g_l`` in the gain box, ``d_l`` orthogonal to ``c_l`` with ``|d_l| <= tan(max_rotation) g_l |c_l|``
    (the angle to ``c_l`` is then at most max_rotation) and ``|b_l| <= gain_max |c_l|``; the
    reference leads keep ``g = 1, d = 0``. The data term uses the 3x3 Gram matrix of ``P`` so the
    problem size does not depend on the number of samples.
    """
    cp = _cvxpy()
    n_leads = nominal.shape[0]
    norms = np.linalg.norm(nominal, axis=1)
    units = nominal / norms[:, np.newaxis]
    n_samples = heart_vector.shape[1]
    gram = heart_vector @ heart_vector.T / n_samples  # (3, 3)
    cross = (y @ heart_vector.T) / n_samples  # (n_leads, 3): h_l
    eigenvalues, vectors = np.linalg.eigh(gram)
    floor = 1e-12 * max(float(eigenvalues.max()), 1e-300)
    eigenvalues = np.clip(eigenvalues, floor, None)
    root = vectors * np.sqrt(eigenvalues)  # gram = root root^T
    root_inverse_t = vectors / np.sqrt(eigenvalues)  # root^-T
    # sum_t (y - b.p)^2 / n = |root^T b - root^-1 h|^2 + const, row form: b root - h root^-T
    target = cross @ root_inverse_t  # (n_leads, 3)
    gains = cp.Variable(n_leads)
    displacement = cp.Variable((n_leads, 3))  # d_l / |c_l|, dimensionless
    scaled = cp.multiply(gains[:, None], units) + displacement  # b_l / |c_l|
    vectors_expr = cp.multiply(norms[:, None], scaled)
    w = weights[:, 0]
    residual = cp.multiply(w[:, None], vectors_expr @ root - target)
    low, high = gain_bounds
    constraints = [
        gains >= low,
        gains <= high,
        cp.sum(cp.multiply(units, displacement), axis=1) == 0,
        cp.norm(displacement, 2, axis=1) <= tan_rotation * gains,
        cp.norm(scaled, 2, axis=1) <= high,
    ]
    pinned = list(references)
    if pinned:
        constraints += [gains[pinned] == 1.0, displacement[pinned, :] == 0.0]
    normaliser = max(float(np.sum((w[:, None] * target) ** 2)), 1e-300)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(residual) / normaliser), constraints)
    _solve(problem, solver, "calibrate_leads (lead-vector step)")
    g = _value(gains, "calibrate_leads (lead-vector step)")
    d = _value(displacement, "calibrate_leads (lead-vector step)")
    fitted = norms[:, np.newaxis] * (g[:, np.newaxis] * units + d)
    fitted[pinned] = nominal[pinned]
    return fitted


def _smallest_correction_gauge(vectors: np.ndarray, nominal: np.ndarray, pinned: Sequence[int]) -> np.ndarray:
    """The 3x3 ``A`` (fixing the pinned lead vectors) that brings ``vectors @ A`` closest to nominal.

    Minimises ``sum_l |b_l A - c_l|² / |c_l|²`` over ``A = I + P N`` where ``P`` projects onto the
    orthogonal complement of the pinned lead vectors (so ``c_ref A = c_ref``); identity when the
    pinned leads span 3-D.
    """
    if pinned:
        basis = nominal[list(pinned)]
        _, singular, v_t = np.linalg.svd(basis)
        rank = int(np.count_nonzero(singular > _RANK_TOLERANCE * singular[0]))
        complement = v_t[rank:].T  # (3, 3 - rank)
    else:
        complement = np.eye(3)
    if complement.shape[1] == 0:
        return np.eye(3)
    projector = complement @ complement.T
    norms = np.linalg.norm(nominal, axis=1)[:, np.newaxis]
    relative = vectors / norms
    correction = np.linalg.lstsq(relative @ projector, nominal / norms - relative, rcond=None)[0]
    return np.eye(3) + projector @ correction


def _subspace_start(y: np.ndarray, weights: np.ndarray, nominal: np.ndarray, pinned: Sequence[int]) -> np.ndarray:
    """Starting lead matrix from the rank-3 weighted SVD of the signals.

    Without smoothness and bounds the best fit ``W Y ~ W B P`` has ``W B`` spanning the top three
    left singular vectors of ``W Y``; ``B = W⁻¹ U₃ G``. ``G`` (3x3) is chosen so that the pinned
    rows equal their nominal lead vectors (least squares if they are more than 3) and, within
    what is left, the rows are closest to nominal in the relative least-squares sense.
    """
    u, _, _ = np.linalg.svd(weights * y, full_matrices=False)
    basis = u[:, :3] / weights  # (n_leads, 3) rows v_l, B = basis @ G
    norms = np.linalg.norm(nominal, axis=1)[:, np.newaxis]
    if pinned:
        rows = list(pinned)
        pinned_basis = basis[rows]
        particular = np.linalg.lstsq(pinned_basis, nominal[rows], rcond=None)[0]
        _, singular, v_t = np.linalg.svd(pinned_basis)
        rank = int(np.count_nonzero(singular > _RANK_TOLERANCE * singular[0])) if singular.size else 0
        null = v_t[rank:].T  # (3, 3 - rank)
    else:
        particular = np.zeros((3, 3))
        null = np.eye(3)
    mixing = particular
    if null.shape[1] > 0:
        design = (basis / norms) @ null
        target = (nominal - basis @ particular) / norms
        mixing = particular + null @ np.linalg.lstsq(design, target, rcond=None)[0]
    start = basis @ mixing
    start[list(pinned)] = nominal[list(pinned)]
    return start


def calibrate_leads(
    signals: Any,
    lead_matrix: Any,
    *,
    reference_heart_vector: Any = None,
    segment: tuple[int, int] | None = None,
    gain_bounds: tuple[float, float] = (0.7, 1.4),
    max_rotation: float = math.radians(20.0),
    smoothness: float = 0.0,
    noise_std: Any = None,
    n_iterations: int = 10,
    tolerance: float = 1e-6,
    reference_leads: str | int | Sequence[str | int] = 0,
    lead_names: Sequence[str] | None = None,
    solver: str | None = None,
) -> LeadCalibration:
    """Fit per-lead gains and electrode-displacement corrections on a calibration segment.

    Model of the raw leads: ``y_l(t) = b_l . p(t) + e_l(t)`` with ``b_l = gain_l R_l c_l``, the
    nominal lead vector ``c_l`` rotated by a small angle (electrode displacement) and scaled.
    The set of rotated vectors is not convex; it is relaxed to the convex cone section
    ``b_l = g_l c_l + d_l``, ``d_l ⟂ c_l``, ``|d_l| <= tan(max_rotation) g_l |c_l|`` (angle to
    ``c_l`` at most ``max_rotation``), ``gain_min <= g_l``, ``|b_l| <= gain_max |c_l|`` (second-
    order cones). The bilinear fit in ``(b, P)`` is solved by alternating convex steps (cvxpy):

    (a) ``b`` fixed: ``P`` by :func:`smooth_heart_vector` (skipped with a reference heart vector);
    (b) ``P`` fixed: all ``b_l`` at once (a small conic program on the 3x3 Gram matrix of ``P``).

    The alternation starts from the rank-3 weighted SVD of the segment (the unconstrained optimum
    when ``smoothness = 0``) put in the gauge below, takes at least two iterations and stops after
    ``n_iterations`` or when the objective falls by less than ``tolerance`` (relative). The result
    reports ``gains = |b_l| / |c_l|`` and the rotated lead vectors ``b_l / gains``: the
    rotation-plus-gain decomposition of ``b_l``.

    Accuracy is limited by the weakest direction of the heart vector over the segment (QRS, P and
    T loops are nearly planar): lead-vector components along it are seen only through a small
    signal. ``smoothness > 0`` biases the heart vector (it rounds the QRS peaks) and the gains then
    grow to compensate, so the default is 0.

    Gauge (read this before trusting blind gains): ``Y = B P`` is unchanged by ``B -> B A``,
    ``P -> A⁻¹ P`` for any invertible 3x3 ``A`` (9 degrees of freedom), so without a reference
    heart vector the signals alone cannot tell a gain or a rotation common to the leads from a
    different heart vector. The reference leads are held at gain 1 and at their nominal lead
    vectors: one reference lead fixes 3 of the 9 (the scale and two rotations); reference leads
    whose lead vectors span 3-D (e.g. I, aVF and V2) fix all of them. Whatever freedom remains is
    resolved after every lead-vector step by the smallest total correction: the ``A`` (keeping the
    reference leads fixed) that brings the calibrated lead vectors closest to the nominal ones in
    the relative least-squares sense. This does not change the fit; it can move a gain or an
    angle marginally past its bound. Predictions of one lead from others are the same in every
    gauge; individual gains and angles are only meaningful relative to the reference leads.
    With a ``reference_heart_vector`` everything is identifiable and one convex step suffices.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
        Raw signals; rows in the order of ``lead_matrix``.
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
        Nominal lead vectors; rank 3.
    reference_heart_vector : (3, n_samples) or (3, stop - start) array_like, mA*m, optional
        Known heart vector (e.g. a simultaneous VCG); then only step (b) runs.
    segment : (int, int), optional
        Calibration samples ``[start, stop)``; default the whole signal.
    gain_bounds : (float, float), optional
        Bounds of the gain, ``0 < low <= 1 <= high``. Default (0.7, 1.4).
    max_rotation : float, optional
        Largest electrode-displacement angle, radians, in [0, pi/2). Default 20 degrees.
    smoothness : float, optional
        Smoothness of step (a), see :func:`smooth_heart_vector`. Default 0 (least squares).
    noise_std : float or (n_leads,) array_like, mV, optional
        Per-lead noise, the weights of both steps. Default None (equal weights).
    n_iterations : int, optional
        Maximum alternating iterations (>= 1). Default 10.
    tolerance : float, optional
        Relative decrease of the objective below which iterations stop. Default 1e-6.
    reference_leads : str, int or sequence of them, optional
        Gauge leads, by name (needs ``lead_names``) or row index. Default 0 (the first row only).
    lead_names : sequence of str, optional
        Names of the rows; default "lead 0", "lead 1", ...
    solver : str, optional
        cvxpy solver for both steps; default CLARABEL when installed.

    Returns
    -------
    calibration : LeadCalibration

    Raises
    ------
    ValueError
        On invalid input.
    RuntimeError
        If a cvxpy step fails or returns a status other than optimal / optimal_inaccurate.
    """
    y_all, nominal = _signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_total = y_all.shape
    _require_rank3(nominal, "calibration needs leads spanning 3-D")
    if np.any(np.linalg.norm(nominal, axis=1) == 0):
        raise ValueError("lead_matrix has a zero row; every lead needs a non-zero nominal lead vector")
    if lead_names is None:
        names = tuple(f"lead {i}" for i in range(n_leads))
    else:
        names = tuple(str(name) for name in lead_names)
        if len(names) != n_leads or len(set(names)) != n_leads:
            raise ValueError(f"lead_names must hold {n_leads} distinct names, got {list(names)}")
    requested = [reference_leads] if isinstance(reference_leads, (str, int, np.integer)) else list(reference_leads)
    pinned: list[int] = []
    for item in requested:
        if isinstance(item, str) and item in names:
            pinned.append(names.index(item))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < n_leads:
            pinned.append(int(item))
        else:
            raise ValueError(
                f"reference_leads must be lead names among {names} or row indices in 0..{n_leads - 1}, got {item!r}"
            )
    pinned = sorted(set(pinned))

    if segment is None:
        start, stop = 0, n_total
    else:
        try:
            start, stop = (int(v) for v in segment)
        except (TypeError, ValueError) as error:
            raise TypeError(f"segment must be a (start, stop) pair of sample indices, got {segment!r}") from error
        if not 0 <= start < stop <= n_total or stop - start < 3:
            raise ValueError(
                f"segment must satisfy 0 <= start < stop <= {n_total} with at least 3 samples, got ({start}, {stop})"
            )
    y = y_all[:, start:stop]
    n_samples = stop - start

    try:
        low, high = (float(v) for v in gain_bounds)
    except (TypeError, ValueError) as error:
        raise TypeError(f"gain_bounds must be a (low, high) pair, got {gain_bounds!r}") from error
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= 1.0 <= high):
        raise ValueError(f"gain_bounds must satisfy 0 < low <= 1 <= high, got ({low}, {high})")
    rotation = _non_negative(max_rotation, "max_rotation")
    if rotation >= math.pi / 2:
        raise ValueError(f"max_rotation must be in [0, pi/2) radians, got {rotation}")
    weight = _non_negative(smoothness, "smoothness")
    if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 1:
        raise ValueError(f"n_iterations must be a positive integer, got {n_iterations!r}")
    tol = _non_negative(tolerance, "tolerance")
    sigma = np.ones((n_leads, 1)) if noise_std is None else _noise_std(noise_std, n_leads, n_samples, allow_time=False)
    weights = 1.0 / sigma
    cp = _cvxpy()
    conic_solver = _choose_solver(cp, solver, conic=True)
    bounds = (low, high)
    tan_rotation = math.tan(rotation)

    def objective(vectors: np.ndarray, heart: np.ndarray) -> float:
        value = float(np.sum((weights * (y - vectors @ heart)) ** 2))
        if weight > 0 and n_samples >= 3:
            value += weight * float(np.sum(np.diff(heart, n=2, axis=1) ** 2))
        return value

    def heart_step(vectors: np.ndarray) -> np.ndarray:
        return smooth_heart_vector(y, vectors, smoothness=weight, noise_std=sigma[:, 0], solver=solver)

    if reference_heart_vector is not None:
        heart = as_finite_array(reference_heart_vector, "reference_heart_vector")
        if heart.shape == (3, n_total):
            heart = heart[:, start:stop]
        elif heart.shape != (3, n_samples):
            raise ValueError(
                f"reference_heart_vector must have shape (3, {n_total}) or (3, {n_samples}) (mA*m), "
                f"got shape {heart.shape}"
            )
        vectors = _fit_lead_vectors(y, heart, nominal, weights, pinned, bounds, tan_rotation, conic_solver)
        done = 1
    else:
        vectors = _subspace_start(y, weights, nominal, pinned)
        heart = heart_step(vectors)
        previous: float | None = None  # the first step may leave an infeasible start: always take two
        done = 0
        for _ in range(int(n_iterations)):
            vectors = _fit_lead_vectors(y, heart, nominal, weights, pinned, bounds, tan_rotation, conic_solver)
            vectors = vectors @ _smallest_correction_gauge(vectors, nominal, pinned)
            vectors[pinned] = nominal[pinned]
            heart = heart_step(vectors)
            done += 1
            current = objective(vectors, heart)
            if previous is not None and previous - current <= tol * max(previous, 1e-300):
                break
            previous = current

    gains = np.linalg.norm(vectors, axis=1) / np.linalg.norm(nominal, axis=1)
    gains[pinned] = 1.0
    rotated = vectors / gains[:, np.newaxis]
    rotated[pinned] = nominal[pinned]
    residual_std = np.sqrt(np.mean((y - vectors @ heart) ** 2, axis=1))
    return LeadCalibration(
        lead_names=names,
        gains=gains,
        lead_matrix=rotated,
        nominal_lead_matrix=nominal,
        segment=(start, stop),
        reference_leads=tuple(names[i] for i in pinned),
        residual_std=residual_std,
        n_iterations=done,
    )
