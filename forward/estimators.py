"""Heart-vector estimators: the heart vector ``p(t)`` from any subset of leads.

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
- :func:`smooth_heart_vector`: a convex program (cvxpy) with a second-difference smoothness
  penalty over time and an optional Gaussian prior.

A per-phase population prior for the last two is :class:`forward.prior.HeartVectorPrior`; the
lead matrix they take can be calibrated first (per-lead gain, electrode displacement) with
:func:`forward.calibration.calibrate_leads`.

Everything here works on plain arrays and lead matrices; rows of ``signals`` and of
``lead_matrix`` must describe the same leads in the same order (the caller addresses leads by
name, e.g. with :func:`forward.lead_matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg as sla
from scipy.special import ndtri

from geometry.validation import as_finite_array
from ._convex import choose_solver, import_cvxpy, solution_value, solve_problem
from ._inverse_checks import (
    cholesky_factor,
    noise_std_array,
    non_negative_scalar,
    require_rank3,
    signals_and_lead_matrix,
    symmetric_covariance,
)

__all__ = [
    "GaussianHeartVector",
    "least_squares_heart_vector",
    "smooth_heart_vector",
    "tikhonov_heart_vector",
]


# --------------------------------------------------------------------------------------------
# Helpers of the Gaussian estimators
# --------------------------------------------------------------------------------------------


def _prior_mean(value: Any, n_samples: int, name: str = "prior_mean") -> np.ndarray:
    """Validate a prior mean (3,) or (3, n_samples) mA*m; returns it as (3, n_samples)."""
    array = as_finite_array(value, name)
    if array.shape == (3,):
        return np.repeat(array[:, np.newaxis], n_samples, axis=1)
    if array.shape == (3, n_samples):
        return array
    raise ValueError(f"{name} must have shape (3,) or (3, {n_samples}) (mA*m), got shape {array.shape}")


def _sqrt_psd(covariance: np.ndarray) -> np.ndarray:
    """A square root ``F`` with ``F F^T = covariance`` for PSD (possibly singular) matrices."""
    eigenvalues, vectors = np.linalg.eigh(covariance)
    return vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[..., np.newaxis, :]

def _seed_rng(random_seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (used as is) or None (fresh entropy)."""
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
    y, lead = signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    require_rank3(lead, "pass a prior (tikhonov_heart_vector) or more leads")
    if noise_std is None:
        return np.linalg.lstsq(lead, y, rcond=None)[0]
    sigma = noise_std_array(noise_std, n_leads, n_samples)
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
        covariance = symmetric_covariance(self.covariance, mean.shape[1], "covariance").copy()
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
    y, lead = signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    mean0 = _prior_mean(prior_mean, n_samples)
    covariance0 = symmetric_covariance(prior_covariance, n_samples, "prior_covariance")
    factor = cholesky_factor(covariance0, "prior_covariance")
    sigma = noise_std_array(noise_std, n_leads, n_samples)
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
# Convex program (cvxpy)
# --------------------------------------------------------------------------------------------


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
    covariance = symmetric_covariance(covariance_value, n_samples, "prior covariance")
    factor = cholesky_factor(covariance, "prior covariance")
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
        :meth:`forward.prior.HeartVectorPrior.mean_and_covariance`). Without it the leads must have rank 3.
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
    cp = import_cvxpy()
    y, lead = signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_samples = y.shape
    weight = non_negative_scalar(smoothness, "smoothness")
    sigma = None if noise_std is None else noise_std_array(noise_std, n_leads, n_samples)
    if prior is None:
        require_rank3(lead, "pass prior= (a Gaussian prior) or more leads")
        prior_terms = None
    else:
        if sigma is None:
            raise ValueError(
                "noise_std is required with prior= (the prior term is only meaningful against a weighted residual)"
            )
        prior_terms = _prior_terms(prior, n_samples)
    chosen = choose_solver(cp, solver, conic=False)
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
    solve_problem(problem, chosen, "smooth_heart_vector")
    return scale * solution_value(x, "smooth_heart_vector")
