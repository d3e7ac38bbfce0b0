"""Tests of forward.estimators: least squares, the Gaussian posterior (Tikhonov) and the smooth
cvxpy program, on the BEM lead vectors of the default torso and simulated heart vectors.

Units: signals mV, lead vectors mV per mA*m, heart vectors mA*m (body frame), noise_std mV.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest

import forward
from _heart_vectors import FS, heart, leads, noisy_signals, prior, rows, signals_and_a_nan  # noqa: F401 (fixtures)
from forward.estimators import (
    GaussianHeartVector,
    least_squares_heart_vector,
    smooth_heart_vector,
    tikhonov_heart_vector,
)
from forward.prior import phase_labels_from_annotations


def random_spd(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    a = rng.standard_normal((n, 3, 3))
    return scale**2 * (np.einsum("nij,nkj->nik", a, a) + 0.3 * np.eye(3))


def test_estimators_are_forward_top_level_names():
    assert forward.least_squares_heart_vector is least_squares_heart_vector
    assert forward.tikhonov_heart_vector is tikhonov_heart_vector
    assert forward.smooth_heart_vector is smooth_heart_vector
    assert forward.GaussianHeartVector is GaussianHeartVector


# ------------------------------------------------------------------ least squares


def test_least_squares_exact_from_noise_free_twelve_leads(leads, heart):
    _, lead = leads
    p, _ = heart
    estimate = least_squares_heart_vector(lead @ p, lead)
    assert estimate.shape == p.shape
    assert np.max(np.abs(estimate - p)) <= 1e-10 * np.max(np.abs(p))
    # weighted (per lead and per sample) is exact too
    sigma = np.random.default_rng(0).uniform(0.02, 0.1, (12, p.shape[1]))
    assert np.max(np.abs(least_squares_heart_vector(lead @ p, lead, noise_std=sigma) - p)) <= 1e-10 * np.max(np.abs(p))


def test_least_squares_error_matches_its_covariance(leads, heart):
    _, lead = leads
    p, _ = heart
    sigma, signals = noisy_signals(lead, p, seed=1)
    error = least_squares_heart_vector(signals, lead, noise_std=sigma) - p
    weighted = lead / sigma[:, None]
    predicted_std = np.sqrt(np.diag(np.linalg.inv(weighted.T @ weighted)))  # mA*m
    measured_std = error.std(axis=1)
    assert np.allclose(measured_std, predicted_std, rtol=0.06)
    assert np.all(np.abs(error.mean(axis=1)) < 4 * predicted_std / math.sqrt(p.shape[1]))
    # the weights matter: equal weights give a larger error than the optimal ones here
    unweighted = least_squares_heart_vector(signals, lead) - p
    assert np.mean(unweighted**2) > np.mean(error**2)
    # per-sample noise array equal to the per-lead one gives the same estimate
    per_sample = np.repeat(sigma[:, None], p.shape[1], axis=1)
    assert np.allclose(least_squares_heart_vector(signals, lead, noise_std=per_sample), error + p, rtol=0, atol=1e-14)


def test_least_squares_rank_deficient_raises(leads, heart):
    names, lead = leads
    p, _ = heart
    two = rows(names, ("I", "V2"))
    with pytest.raises(ValueError, match=r"2 lead\(s\) with rank 2.*tikhonov_heart_vector"):
        least_squares_heart_vector(lead[two] @ p, lead[two])
    frontal = rows(names, ("I", "II", "III"))  # III = II - I: three leads, rank 2
    with pytest.raises(ValueError, match=r"3 lead\(s\) with rank 2"):
        least_squares_heart_vector(lead[frontal] @ p, lead[frontal])


# ------------------------------------------------------------------ Gaussian posterior


def stacked_posterior(signals, lead, prior_mean, prior_covariance, noise_std):
    """Independent oracle: one big linear-Gaussian system over all samples (information form)."""
    n_leads, n = signals.shape
    design = np.kron(np.eye(n), lead)  # vec over samples: y = [y(0); y(1); ...], p = [p(0); ...]
    noise_precision = np.diag(1.0 / noise_std.T.ravel() ** 2)
    prior_precision = np.zeros((3 * n, 3 * n))
    for t in range(n):
        prior_precision[3 * t : 3 * t + 3, 3 * t : 3 * t + 3] = np.linalg.inv(prior_covariance[t])
    precision = design.T @ noise_precision @ design + prior_precision
    covariance = np.linalg.inv(precision)
    mean = covariance @ (design.T @ noise_precision @ signals.T.ravel() + prior_precision @ prior_mean.T.ravel())
    blocks = np.array([covariance[3 * t : 3 * t + 3, 3 * t : 3 * t + 3] for t in range(n)])
    return mean.reshape(n, 3).T, blocks, covariance


@pytest.mark.parametrize("subset", [("I", "II", "V1", "V2", "V5"), ("I", "V5"), ("V2",)])
def test_tikhonov_equals_stacked_closed_form(leads, heart, subset):
    names, lead_all = leads
    lead = lead_all[rows(names, subset)]
    p, _ = heart
    n = 15
    rng = np.random.default_rng(2)
    noise = rng.uniform(0.02, 0.1, (len(subset), n))
    signals = lead @ p[:, 100 : 100 + n] + noise * rng.standard_normal((len(subset), n))
    mean0 = 0.01 * rng.standard_normal((3, n))
    cov0 = random_spd(rng, n, 0.01)
    posterior = tikhonov_heart_vector(signals, lead, prior_mean=mean0, prior_covariance=cov0, noise_std=noise)
    mean, blocks, full = stacked_posterior(signals, lead, mean0, cov0, noise)
    assert posterior.covariance.shape == (n, 3, 3)
    assert np.allclose(posterior.mean, mean, rtol=0, atol=1e-12 * np.abs(mean).max() + 1e-16)
    assert np.allclose(posterior.covariance, blocks, rtol=1e-9, atol=1e-18)
    # the samples are a posteriori independent: off-diagonal blocks vanish
    assert np.allclose(full[0:3, 3:6], 0.0, atol=1e-18)
    # constant prior and noise: a single (3, 3) covariance, same numbers
    shared = tikhonov_heart_vector(signals, lead, prior_mean=mean0[:, 0], prior_covariance=cov0[0], noise_std=0.05)
    mean_c, blocks_c, _ = stacked_posterior(
        signals, lead, np.repeat(mean0[:, :1], n, 1), np.repeat(cov0[:1], n, 0), np.full((len(subset), n), 0.05)
    )
    assert shared.covariance.shape == (3, 3)
    assert np.allclose(shared.mean, mean_c, rtol=0, atol=1e-12 * np.abs(mean_c).max())
    assert np.allclose(shared.covariance, blocks_c[0], rtol=1e-9)


def test_tikhonov_flat_prior_tends_to_least_squares(leads, heart):
    _, lead = leads
    p, _ = heart
    sigma, signals = noisy_signals(lead, p, seed=3)
    ls = least_squares_heart_vector(signals, lead, noise_std=sigma)
    posterior = tikhonov_heart_vector(signals, lead, prior_mean=np.zeros(3), prior_covariance=1e4 * np.eye(3), noise_std=sigma)
    assert np.max(np.abs(posterior.mean - ls)) < 1e-9 * np.max(np.abs(ls))
    weighted = lead / sigma[:, None]
    assert np.allclose(posterior.covariance, np.linalg.inv(weighted.T @ weighted), rtol=1e-7)
    # an informative prior pulls the estimate away from least squares
    tight = tikhonov_heart_vector(signals, lead, prior_mean=np.zeros(3), prior_covariance=1e-8 * np.eye(3), noise_std=sigma)
    assert np.max(np.abs(tight.mean - ls)) > 0.1 * np.max(np.abs(ls))


def test_tikhonov_single_lead_keeps_prior_in_unobserved_directions(leads, heart):
    names, lead_all = leads
    lead = lead_all[rows(names, ("V2",))]
    c = lead[0]
    p, _ = heart
    signals = lead @ p + 0.05 * np.random.default_rng(4).standard_normal((1, p.shape[1]))
    mean0 = np.array([0.001, -0.002, 0.003])
    for cov0 in (1e-4 * np.eye(3), random_spd(np.random.default_rng(5), 1, 0.01)[0]):
        posterior = tikhonov_heart_vector(signals, lead, prior_mean=mean0, prior_covariance=cov0, noise_std=0.05)
        # directions u with u . (cov0 c) = 0 are a priori uncorrelated with the lead: untouched
        sigma_c = cov0 @ c
        null = np.linalg.svd(sigma_c[None, :])[2][1:]  # (2, 3) orthonormal basis of (cov0 c)^perp
        assert np.allclose(null @ posterior.covariance @ null.T, null @ cov0 @ null.T, rtol=1e-10, atol=1e-12 * np.abs(cov0).max())
        assert np.allclose(null @ posterior.mean, (null @ mean0)[:, None], rtol=0, atol=1e-15)
        # along the lead the variance shrinks to about noise² / |c|²
        along = c / np.linalg.norm(c)
        assert along @ posterior.covariance @ along < 0.01 * along @ cov0 @ along
    assert posterior.mean.shape == p.shape


def test_tikhonov_interval_calibration(leads, prior):
    """90 % intervals contain the truth ~90 % of the time when data follow the prior and noise."""
    names, lead_all = leads
    lead = lead_all[rows(names, ("I", "II", "V5"))]  # anterior-posterior nearly unobservable
    p_template, notes = forward.simulate_heart_vector(10.0, FS, random_seed=21, return_annotations=True)
    labels = phase_labels_from_annotations(notes, p_template.shape[1])
    mean0, cov0 = prior.mean_and_covariance(labels)
    truth = GaussianHeartVector(mean0, cov0).sample(1, random_seed=22)[0]
    sigma = np.array([0.03, 0.05, 0.04])
    signals = lead @ truth + sigma[:, None] * np.random.default_rng(23).standard_normal((3, truth.shape[1]))
    posterior = tikhonov_heart_vector(signals, lead, prior_mean=mean0, prior_covariance=cov0, noise_std=sigma)
    lower, upper = posterior.credible_interval(0.9)
    coverage = np.mean((truth >= lower) & (truth <= upper), axis=1)
    assert truth.shape[1] == 5000
    assert np.all((coverage > 0.87) & (coverage < 0.93)), coverage
    # and a posterior that ignored the prior's phase structure would be far less sharp
    assert np.mean(posterior.standard_deviation) < 0.8 * np.mean(np.sqrt(np.diagonal(cov0, axis1=1, axis2=2)))


def test_gaussian_heart_vector_draws_are_exact():
    rng = np.random.default_rng(6)
    mean = 0.01 * rng.standard_normal((3, 4))
    cov = random_spd(rng, 1, 0.005)[0]
    distribution = GaussianHeartVector(mean, cov)
    draws = distribution.sample(20000, random_seed=7)
    assert draws.shape == (20000, 3, 4)
    assert np.array_equal(draws, distribution.sample(20000, random_seed=7))
    assert np.allclose(draws.mean(axis=0), mean, atol=4 * np.sqrt(np.diag(cov)).max() / math.sqrt(20000))
    empirical = np.cov(draws[:, :, 1].T)
    assert np.allclose(empirical, cov, atol=0.05 * np.abs(cov).max())
    assert np.allclose(distribution.standard_deviation, np.sqrt(np.diag(cov))[:, None])
    # per-sample covariance, including a singular (PSD) one
    covs = random_spd(rng, 4, 0.005)
    covs[2] = np.outer([1.0, 2.0, 0.0], [1.0, 2.0, 0.0]) * 1e-5
    draws = GaussianHeartVector(mean, covs).sample(4000, random_seed=8)
    for t in range(4):
        assert np.allclose(np.cov(draws[:, :, t].T), covs[t], atol=0.1 * np.abs(covs[t]).max())
    lead_mean, lead_std = GaussianHeartVector(mean, covs).lead_mean_and_std(np.array([[0.0, 0.0, 1.0]]))
    assert np.allclose(lead_std[0, 2], 0.0) and np.allclose(lead_mean, mean[2:])
    with pytest.raises(ValueError, match="positive semi-definite"):
        GaussianHeartVector(mean, -cov)
    with pytest.raises(ValueError, match="n_draws"):
        distribution.sample(0)


# ------------------------------------------------------------------ convex programs


def test_smooth_heart_vector_zero_smoothness_is_least_squares(leads, heart):
    _, lead = leads
    p, _ = heart
    sigma, signals = noisy_signals(lead, p, seed=10)
    for noise in (None, sigma):
        ls = least_squares_heart_vector(signals, lead, noise_std=noise)
        smooth = smooth_heart_vector(signals, lead, smoothness=0.0, noise_std=noise)
        assert np.max(np.abs(smooth - ls)) <= 1e-6 * np.max(np.abs(ls))


def test_smooth_heart_vector_reduces_noise(leads, heart):
    _, lead = leads
    p, _ = heart
    signals = lead @ p + 0.05 * np.random.default_rng(11).standard_normal((12, p.shape[1]))
    ls_error = np.sqrt(np.mean((least_squares_heart_vector(signals, lead) - p) ** 2))
    smooth = smooth_heart_vector(signals, lead, smoothness=3e4)  # mV² / (mA*m)²
    smooth_error = np.sqrt(np.mean((smooth - p) ** 2))
    assert smooth_error < 0.75 * ls_error
    # too much smoothing flattens the QRS and loses
    over = smooth_heart_vector(signals, lead, smoothness=1e9)
    assert np.sqrt(np.mean((over - p) ** 2)) > ls_error
    # the same weights written per sample go the element-wise way and agree
    per_sample = np.full((12, 400), 0.05)
    a = smooth_heart_vector(signals[:, :400], lead, smoothness=1e7, noise_std=per_sample)
    b = smooth_heart_vector(signals[:, :400], lead, smoothness=1e7, noise_std=0.05)
    assert np.max(np.abs(a - b)) < 1e-6 * np.max(np.abs(b))


def test_smooth_heart_vector_with_prior_and_no_smoothness_is_the_posterior_mean(leads, heart, prior):
    names, lead_all = leads
    lead = lead_all[rows(names, ("I", "V5"))]  # rank 2: only the prior makes it determined
    p, notes = heart
    n = 600
    labels = phase_labels_from_annotations(notes, p.shape[1])[:n]
    signals = lead @ p[:, :n] + 0.04 * np.random.default_rng(12).standard_normal((2, n))
    mean0, cov0 = prior.mean_and_covariance(labels)
    posterior = tikhonov_heart_vector(signals, lead, prior_mean=mean0, prior_covariance=cov0, noise_std=0.04)
    for prior_argument in ((mean0, cov0), posterior.__class__(mean0, cov0)):
        estimate = smooth_heart_vector(signals, lead, smoothness=0.0, noise_std=0.04, prior=prior_argument)
        assert np.max(np.abs(estimate - posterior.mean)) < 1e-5 * np.max(np.abs(posterior.mean))
    shared = tikhonov_heart_vector(signals, lead, prior_mean=mean0[:, 300], prior_covariance=cov0[300], noise_std=0.04)
    estimate = smooth_heart_vector(signals, lead, smoothness=0.0, noise_std=0.04, prior=(mean0[:, 300], cov0[300]))
    assert np.max(np.abs(estimate - shared.mean)) < 1e-5 * np.max(np.abs(shared.mean))
    with pytest.raises(ValueError, match=r"rank 2.*prior="):
        smooth_heart_vector(signals, lead, smoothness=1.0)
    with pytest.raises(ValueError, match="noise_std is required"):
        smooth_heart_vector(signals, lead, smoothness=1.0, prior=(mean0, cov0))


def test_smooth_heart_vector_solver_status_is_checked(leads, heart, monkeypatch):
    _, lead = leads
    p, _ = heart
    signals = lead @ p[:, :200]

    def fake_solve(status):
        def solve(self, *args, **kwargs):
            self._status = status
            return None

        return solve

    monkeypatch.setattr(cp.Problem, "solve", fake_solve("infeasible"))
    with pytest.raises(RuntimeError, match="'infeasible'"):
        smooth_heart_vector(signals, lead, smoothness=1.0)
    monkeypatch.setattr(cp.Problem, "solve", fake_solve("optimal_inaccurate"))
    with pytest.warns(RuntimeWarning, match="optimal_inaccurate"), pytest.raises(RuntimeError, match="no finite solution"):
        smooth_heart_vector(signals, lead, smoothness=1.0)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="solver"):
        smooth_heart_vector(signals, lead, smoothness=1.0, solver="NOT_A_SOLVER")


# ------------------------------------------------------------------ bad input


def test_bad_estimator_input_is_refused(signals_and_a_nan):
    lead, signals, bad = signals_and_a_nan
    with pytest.raises(ValueError, match="signals contains 1 NaN"):
        least_squares_heart_vector(bad, lead)
    with pytest.raises(ValueError, match="signals contains"):
        tikhonov_heart_vector(bad, lead, prior_mean=np.zeros(3), prior_covariance=np.eye(3), noise_std=0.05)
    with pytest.raises(ValueError, match="signals contains"):
        smooth_heart_vector(bad, lead, smoothness=1.0)
    bad_lead = lead.copy()
    bad_lead[0, 0] = np.inf
    with pytest.raises(ValueError, match="lead_matrix contains"):
        least_squares_heart_vector(signals, bad_lead)
    with pytest.raises(ValueError, match=r"signals has 12 row\(s\).*lead_matrix has 11 row\(s\)"):
        least_squares_heart_vector(signals, lead[:11])
    with pytest.raises(ValueError, match="lead_matrix must have shape"):
        smooth_heart_vector(signals, lead[:, :2], smoothness=1.0)
    with pytest.raises(ValueError, match="noise_std must be positive"):
        least_squares_heart_vector(signals, lead, noise_std=-0.05)
    with pytest.raises(ValueError, match="noise_std must be positive"):
        tikhonov_heart_vector(signals, lead, prior_mean=np.zeros(3), prior_covariance=np.eye(3), noise_std=0.0)
    with pytest.raises(ValueError, match="noise_std must be"):
        smooth_heart_vector(signals, lead, smoothness=1.0, noise_std=np.ones(5))
    with pytest.raises(ValueError, match="smoothness must be a finite non-negative"):
        smooth_heart_vector(signals, lead, smoothness=-1.0)
    with pytest.raises(ValueError, match="prior_covariance must be positive definite"):
        tikhonov_heart_vector(signals, lead, prior_mean=np.zeros(3), prior_covariance=-np.eye(3), noise_std=0.05)
    with pytest.raises(ValueError, match="prior_mean must have shape"):
        tikhonov_heart_vector(signals, lead, prior_mean=np.zeros(2), prior_covariance=np.eye(3), noise_std=0.05)
