"""The collapsed model of one record's measured leads: sufficient statistics, log density, gradient.

Per sample ``t`` in phase bin ``b`` (:mod:`hybridfield.posterior` has the whole model)::

    x(t) = C p(t) + e(t),   p(t) ~ N(mu_b, Sigma_b),   e(t) ~ N(0, diag(exp(2 s) r_b))

with the lead matrix ``C`` (L x 3) of the inputs in the gain/angle parametrisation
(:class:`hybridfield.population.LeadStatistics`): ``C_l = |c_l| (exp(g_l) u_l + a_l . V_l)``,
angle offsets ``a_l = chol_l z_l``. The heart vector is marginalised: ``x(t) ~ N(C mu_b, Q_b)``,
``Q_b = C Sigma_b C^T + diag(exp(2 s) r_b)``, so the likelihood needs per bin only the count,
the sum and the scatter matrix of the samples. It is raised to the power ``likelihood_weight``
(the effective number of independent samples: samples of one bin repeat one waveform beat after
beat and are correlated over about 30 ms).

The nuisance parameters ``theta = (g (L), z (L, 2), s)`` (``3 L + 1`` numbers) have standard
normal-type priors: ``g_l ~ N(0, gain_sd_l)``, ``z ~ N(0, 1)``, ``s ~ N(0, 0.5)``.

Two independent implementations of the same log density:

- :class:`RecordModel`: numpy, with its analytic gradient (no compilation; what the fast
  Laplace posterior optimises);
- :func:`build_pymc_model`: the PyMC model NUTS samples (the reference), written with the
  Woodbury identity and the matrix determinant lemma on 3 x 3 matrices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .phases import N_PHASE_BINS
from .population import LeadStatistics, PopulationModel

__all__ = [
    "NOISE_SCALE_PRIOR_SD",
    "sufficient_statistics",
    "model_data",
    "RecordModel",
    "build_pymc_model",
]

#: Prior standard deviation of the log residual scale s.
NOISE_SCALE_PRIOR_SD = 0.5
_LOG_2PI = math.log(2 * math.pi)


def sufficient_statistics(signals: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per phase bin: sample count, sum and sum of outer products of the measured leads.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
    bins : (n_samples,) int
        Phase bin of every sample.

    Returns
    -------
    count : (n_bins,) float
    sum : (n_bins, n_leads) float, mV
    outer : (n_bins, n_leads, n_leads) float, mV^2
    """
    n_leads = signals.shape[0]
    counts = np.bincount(bins, minlength=N_PHASE_BINS).astype(float)
    sums = np.zeros((N_PHASE_BINS, n_leads))
    outer = np.zeros((N_PHASE_BINS, n_leads, n_leads))
    for b in range(N_PHASE_BINS):
        members = signals[:, bins == b]
        sums[b] = members.sum(axis=1)
        outer[b] = members @ members.T
    return counts, sums, outer


def _det3(a: Any) -> Any:
    return (
        a[..., 0, 0] * (a[..., 1, 1] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 1])
        - a[..., 0, 1] * (a[..., 1, 0] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 0])
        + a[..., 0, 2] * (a[..., 1, 0] * a[..., 2, 1] - a[..., 1, 1] * a[..., 2, 0])
    )


def _adjugate3(a: Any, stack: Any) -> Any:
    cofactor = [
        [
            a[..., (i + 1) % 3, (j + 1) % 3] * a[..., (i + 2) % 3, (j + 2) % 3]
            - a[..., (i + 1) % 3, (j + 2) % 3] * a[..., (i + 2) % 3, (j + 1) % 3]
            for j in range(3)
        ]
        for i in range(3)
    ]
    # adjugate = transpose of the cofactor matrix
    return stack([stack([cofactor[j][i] for j in range(3)], axis=-1) for i in range(3)], axis=-2)


def model_data(
    lead_set: LeadStatistics, population: PopulationModel, statistics: tuple[np.ndarray, ...], likelihood_weight: float
) -> dict[str, np.ndarray]:
    """Every array the record model reads, so one compiled PyMC model serves any record and population
    with the same number of input leads.

    Parameters
    ----------
    lead_set : LeadStatistics
        The measured leads' population statistics.
    population : PopulationModel
        Heart-vector prior per phase bin.
    statistics : tuple
        :func:`sufficient_statistics` of the measured leads.
    likelihood_weight : float
        Power of the likelihood (effective samples per sample).

    Returns
    -------
    data : dict of str to ndarray
        ``likelihood_weight``, ``bin_count``, ``bin_sum``, ``bin_outer``, ``prior_precision``,
        ``prior_covariance``, ``prior_logdet``, ``prior_mean``, ``lead_direction`` (L, 3), ``lead_perpendicular``
        (L, 2, 3), ``gain_sd``, ``angle_cholesky``, ``inverse_residual`` (n_bins, L).
    """
    counts, sums, outer = statistics
    basis = lead_set.basis
    return {
        "likelihood_weight": np.asarray(likelihood_weight, dtype=float),
        "bin_count": counts,
        "bin_sum": sums,
        "bin_outer": outer,
        "prior_precision": np.linalg.inv(population.prior_covariance),
        "prior_covariance": population.prior_covariance,
        "prior_logdet": np.linalg.slogdet(population.prior_covariance)[1],
        "prior_mean": population.prior_mean,
        "lead_direction": lead_set.magnitude[:, None] * basis[:, 0],
        "lead_perpendicular": lead_set.magnitude[:, None, None] * basis[:, 1:],
        "gain_sd": lead_set.gain_sd,
        "angle_cholesky": lead_set.angle_cholesky,
        "inverse_residual": 1.0 / lead_set.residual.T,
    }


def build_pymc_model(n_leads: int, data: Mapping[str, np.ndarray]) -> Any:
    """The collapsed record model as a PyMC model (the NUTS reference), data in ``pm.Data`` containers.

    Parameters
    ----------
    n_leads : int
        Measured leads (the model's structure; the data can be swapped with ``pm.set_data``).
    data : mapping
        :func:`model_data`.

    Returns
    -------
    model : pymc.Model
        Free variables ``log_gain`` (L), ``standard_angle_offset`` (L, 2), ``log_noise_scale``;
        ``angle_offset`` (L, 2) deterministic.
    """
    import pymc as pm
    import pytensor.tensor as pt

    coords = {"input_lead": [f"lead{i}" for i in range(n_leads)], "angle": ["first", "second"]}
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in data.items()}
        log_gain = pm.Normal("log_gain", 0.0, d["gain_sd"], dims="input_lead")
        standard_angle = pm.Normal("standard_angle_offset", 0.0, 1.0, dims=("input_lead", "angle"))
        angle_offset = pm.Deterministic(
            "angle_offset", (d["angle_cholesky"] * standard_angle[:, None, :]).sum(axis=2), dims=("input_lead", "angle")
        )
        log_noise_scale = pm.Normal("log_noise_scale", 0.0, NOISE_SCALE_PRIOR_SD)
        # Lead matrix of this record, (L, 3): gain along the lead vector, angle offsets across it.
        lead_matrix = pt.exp(log_gain)[:, None] * d["lead_direction"] + (
            angle_offset[:, :, None] * d["lead_perpendicular"]
        ).sum(axis=1)
        weights = pt.exp(-2.0 * log_noise_scale) * d["inverse_residual"]  # (B, L) noise precisions
        weighted = weights[:, :, None] * lead_matrix[None, :, :]  # (B, L, 3) = W C
        # Posterior information of p per bin: Sigma_b^-1 + C^T W_b C (3x3, inverted in closed form).
        information = d["prior_precision"] + (lead_matrix[None, :, :, None] * weighted[:, :, None, :]).sum(axis=1)
        determinant = _det3(information)
        inverse = _adjugate3(information, pt.stack) / determinant[:, None, None]
        mean_leads = (lead_matrix[None, :, :] * d["prior_mean"][:, None, :]).sum(axis=2)  # (B, L)
        # Scatter of the residuals about the prior prediction, from the sufficient statistics.
        scatter = (
            d["bin_outer"]
            - mean_leads[:, :, None] * d["bin_sum"][:, None, :]
            - d["bin_sum"][:, :, None] * mean_leads[:, None, :]
            + d["bin_count"][:, None, None] * mean_leads[:, :, None] * mean_leads[:, None, :]
        )
        diagonal = pt.stack([scatter[:, i, i] for i in range(n_leads)], axis=1)
        plain = (weights * diagonal).sum(axis=1)
        projected = (weighted[:, :, :, None] * scatter[:, :, None, :]).sum(axis=1)  # (B, 3, L)
        projected = (projected[:, :, :, None] * weighted[:, None, :, :]).sum(axis=2)  # (B, 3, 3)
        # Woodbury: e^T (C S C^T + W^-1)^-1 e = e^T W e - (C^T W e)^T A^-1 (C^T W e);
        # determinant lemma: log|C S C^T + W^-1| = -log|W| + log|S| + log|A|.
        correction = (inverse * projected.transpose(0, 2, 1)).sum(axis=(1, 2))
        log_determinant = -pt.log(weights).sum(axis=1) + d["prior_logdet"] + pt.log(determinant)
        # Power likelihood: the per-bin Gaussian treats samples as independent, but within a bin
        # they repeat one waveform beat after beat and are correlated over ~CORRELATION_TIME;
        # the weight brings the evidence down to the effective number of samples.
        pm.Potential(
            "marginal_likelihood",
            -0.5
            * d["likelihood_weight"]
            * (d["bin_count"] * (log_determinant + n_leads * math.log(2 * math.pi)) + plain - correction).sum(),
        )
    return model


@dataclass(frozen=True)
class RecordModel:
    """The collapsed log density of one record's nuisance parameters, and its gradient, in numpy.

    Parameters
    ----------
    data : mapping
        :func:`model_data` of the record.

    Notes
    -----
    ``theta`` packs ``(g (L), z (L, 2) row by row, s)``. The marginal covariance ``Q_b`` of the
    measured leads is formed and factorised directly (L <= 12), an implementation independent of
    the PyMC model's Woodbury form; the tests compare the two. With ``G_b = dlogp/dQ_b =
    -w/2 (n_b K_b - K_b S_b K_b)`` (``K_b = Q_b^-1``, ``S_b`` the scatter about ``C mu_b``), the
    gradient is ``dlogp/dC = sum_b 2 G_b C Sigma_b + w K_b (sum_b - n_b C mu_b) mu_b^T`` and
    ``dlogp/ds = sum_b 2 tr(G_b diag(exp(2 s) r_b))``, then by the chain rule to ``g`` and ``z``.
    """

    data: Mapping[str, np.ndarray]

    @property
    def n_leads(self) -> int:
        """Measured leads, L."""
        return int(np.shape(self.data["gain_sd"])[0])

    @property
    def n_parameters(self) -> int:
        """Length of ``theta``: 3 L + 1."""
        return 3 * self.n_leads + 1

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Split ``theta`` into log gains (L,), standard angle offsets (L, 2) and the log noise scale.

        Parameters
        ----------
        theta : (3 L + 1,) float

        Returns
        -------
        log_gain : (L,) float
        standard_angle_offset : (L, 2) float
        log_noise_scale : float
        """
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_parameters,):
            raise ValueError(f"theta must have shape ({self.n_parameters},), got {theta.shape}")
        n = self.n_leads
        return theta[:n], theta[n : 3 * n].reshape(n, 2), float(theta[-1])

    def angle_offsets(self, standard_angle_offset: np.ndarray) -> np.ndarray:
        """Angle offsets (..., L, 2), radians, of standard ones (..., L, 2): ``a_l = chol_l z_l``.

        Parameters
        ----------
        standard_angle_offset : (..., L, 2) float

        Returns
        -------
        angle_offset : (..., L, 2) float, radians
        """
        return np.einsum("lab,...lb->...la", self.data["angle_cholesky"], standard_angle_offset)

    def log_density(self, theta: np.ndarray) -> float:
        """Log posterior density (up to the data's normalisation) of ``theta``.

        Parameters
        ----------
        theta : (3 L + 1,) float

        Returns
        -------
        log_density : float
        """
        return self.log_density_and_gradient(theta)[0]

    def log_density_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Log posterior density of ``theta`` and its gradient.

        Parameters
        ----------
        theta : (3 L + 1,) float

        Returns
        -------
        log_density : float
        gradient : (3 L + 1,) float
        """
        self.unpack(theta)  # checks the shape
        values, gradients = self.log_density_and_gradient_batch(np.asarray(theta, dtype=np.float64)[None])
        return float(values[0]), gradients[0]

    def log_density_and_gradient_batch(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log posterior density and gradient at several parameter vectors at once.

        One pass of batched array operations: the finite-difference curvature and the Newton
        steps of the posterior mode evaluate 2 (3 L + 1) points together.

        Parameters
        ----------
        thetas : (M, 3 L + 1) float

        Returns
        -------
        log_density : (M,) float
        gradient : (M, 3 L + 1) float
        """
        d = self.data
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim != 2 or thetas.shape[1] != self.n_parameters:
            raise ValueError(f"thetas must have shape (M, {self.n_parameters}), got {thetas.shape}")
        n = self.n_leads
        log_gain, standard, log_noise = thetas[:, :n], thetas[:, n : 3 * n].reshape(-1, n, 2), thetas[:, -1]
        weight = float(d["likelihood_weight"])
        counts, sums, outer = d["bin_count"], d["bin_sum"], d["bin_outer"]
        prior_mean = d["prior_mean"]
        angle = self.angle_offsets(standard)  # (M, L, 2)
        gain = np.exp(log_gain)
        lead_matrix = gain[..., None] * d["lead_direction"] + np.einsum("mla,lai->mli", angle, d["lead_perpendicular"])
        noise_variance = np.exp(2.0 * log_noise)[:, None, None] / d["inverse_residual"][None]  # (M, B, L)
        prior_covariance = d["prior_covariance"]  # (B, 3, 3)
        covariance = np.einsum("mli,bij,mkj->mblk", lead_matrix, prior_covariance, lead_matrix)
        covariance[..., np.arange(n), np.arange(n)] += noise_variance
        cholesky = np.linalg.cholesky(covariance)
        log_determinant = 2.0 * np.log(np.diagonal(cholesky, axis1=-2, axis2=-1)).sum(axis=-1)  # (M, B)
        precision = np.linalg.inv(covariance)  # (M, B, L, L)
        mean = np.einsum("bi,mli->mbl", prior_mean, lead_matrix)  # (M, B, L)
        scatter = (
            outer[None]
            - mean[..., :, None] * sums[None, :, None, :]
            - sums[None, :, :, None] * mean[..., None, :]
            + counts[None, :, None, None] * mean[..., :, None] * mean[..., None, :]
        )
        quadratic = np.einsum("mblk,mbkl->mb", precision, scatter)
        likelihood = -0.5 * weight * np.sum(counts * (log_determinant + n * _LOG_2PI) + quadratic, axis=1)
        gain_sd = d["gain_sd"]
        prior = (
            -0.5 * np.sum((log_gain / gain_sd) ** 2, axis=1) - float(np.sum(np.log(gain_sd))) - 0.5 * n * _LOG_2PI
            - 0.5 * np.sum(standard**2, axis=(1, 2)) - n * _LOG_2PI
            - 0.5 * (log_noise / NOISE_SCALE_PRIOR_SD) ** 2 - math.log(NOISE_SCALE_PRIOR_SD) - 0.5 * _LOG_2PI
        )
        # gradient of the likelihood with respect to Q_b (symmetric) and to the mean C mu_b
        weighted_scatter = precision @ scatter @ precision
        covariance_gradient = -0.5 * weight * (counts[None, :, None, None] * precision - weighted_scatter)
        mean_gradient = weight * np.einsum("mblk,mbk->mbl", precision, sums[None] - counts[None, :, None] * mean)
        matrix_gradient = 2.0 * np.einsum("mblk,mki,bij->mlj", covariance_gradient, lead_matrix, prior_covariance)
        matrix_gradient += np.einsum("mbl,bi->mli", mean_gradient, prior_mean)
        noise_gradient = 2.0 * np.sum(np.diagonal(covariance_gradient, axis1=-2, axis2=-1) * noise_variance, axis=(1, 2))
        gain_gradient = gain * np.einsum("mli,li->ml", matrix_gradient, d["lead_direction"])
        angle_gradient = np.einsum("lai,mli->mla", d["lead_perpendicular"], matrix_gradient)
        standard_gradient = np.einsum("lab,mla->mlb", d["angle_cholesky"], angle_gradient)
        gradient = np.concatenate(
            [
                gain_gradient - log_gain / gain_sd**2,
                (standard_gradient - standard).reshape(len(thetas), -1),
                (noise_gradient - log_noise / NOISE_SCALE_PRIOR_SD**2)[:, None],
            ],
            axis=1,
        )
        return likelihood + prior, gradient
