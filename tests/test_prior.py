"""Tests of forward.prior: Nef-Net phase labels from beat annotations, the per-phase Gaussian
prior of the heart vector (fit, positive definiteness with little data, round trip).

Units: heart vectors mA*m (body frame), covariances (mA*m)².
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward
from _heart_vectors import FS, heart, prior  # noqa: F401 (fixtures)
from forward.prior import PHASE_NAMES, HeartVectorPrior, fit_heart_vector_prior, phase_labels_from_annotations


def test_prior_names_are_forward_top_level_names():
    assert forward.HeartVectorPrior is HeartVectorPrior
    assert forward.fit_heart_vector_prior is fit_heart_vector_prior
    assert forward.phase_labels_from_annotations is phase_labels_from_annotations
    assert forward.PHASE_NAMES is PHASE_NAMES


# ------------------------------------------------------------------ phase prior


def test_prior_holds_any_phase_labelling():
    """A prior with another number of phases (e.g. R-peak phase bins) indexes its arrays per sample."""
    rng = np.random.default_rng(4)
    means = 0.01 * rng.standard_normal((15, 3))
    a = rng.standard_normal((15, 3, 3))
    covariances = 1e-4 * (np.einsum("nij,nkj->nik", a, a) + 0.3 * np.eye(3))
    names = tuple(f"bin {k}" for k in range(15))
    prior = HeartVectorPrior(means, covariances, np.zeros(15, dtype=np.int64), np.full(15, 0.1), names)
    labels = np.array([0, 14, 7, 7, 3])
    mean, covariance = prior.mean_and_covariance(labels)
    assert np.array_equal(mean, means[labels].T) and np.array_equal(covariance, covariances[labels])
    assert prior.n_phases == 15 and prior.phase_names == names
    with pytest.raises(ValueError, match="phase_labels must lie in 0..14"):
        prior.mean_and_covariance(np.array([15]))
    with pytest.raises(ValueError, match="phase_names must name the 15 phases"):
        HeartVectorPrior(means, covariances, np.zeros(15, dtype=np.int64), np.full(15, 0.1))


def test_phase_labels_follow_annotations(heart):
    p, notes = heart
    labels = phase_labels_from_annotations(notes, p.shape[1])
    assert labels.shape == (p.shape[1],) and set(np.unique(labels)) == set(range(7))
    beat = 2
    assert labels[notes.p_onset[beat]] == 0 and labels[notes.p_offset[beat]] == 1
    assert labels[notes.r_peak[beat]] == 2 and labels[notes.qrs_offset[beat]] == 3
    assert labels[notes.t_onset[beat]] == 4 and labels[notes.t_offset[beat]] == 5
    assert labels[0] == 6 and labels[-1] == 6


def test_heart_vector_prior_fit(prior, heart):
    p, notes = heart
    labels = phase_labels_from_annotations(notes, p.shape[1])
    own = fit_heart_vector_prior(p, labels)
    for phase in range(7):
        samples = p[:, labels == phase]
        assert own.counts[phase] == samples.shape[1]
        assert np.allclose(own.means[phase], samples.mean(axis=1), rtol=0, atol=1e-15)
        eigenvalues = np.linalg.eigvalsh(own.covariances[phase])
        assert eigenvalues.min() > 0
        empirical = np.cov(samples, bias=True)
        # shrinkage and floor move the covariance, but only a little where data are plentiful
        assert np.linalg.norm(own.covariances[phase] - empirical) <= 0.35 * np.linalg.norm(empirical) + 3 * 3e-3 * np.var(p, axis=1).mean()
    trace = np.trace(own.covariances, axis1=1, axis2=2)
    assert trace[2] > 20 * trace[5]  # QRS varies far more than TP
    assert np.linalg.norm(own.means[2]) > 5 * np.linalg.norm(own.means[5])
    # population prior from other records: phase means close to this record's
    assert np.linalg.norm(prior.means[2] - own.means[2]) < 0.2 * np.linalg.norm(own.means[2])
    mean, covariance = prior.mean_and_covariance(labels)
    assert mean.shape == (3, p.shape[1]) and covariance.shape == (p.shape[1], 3, 3)
    assert np.array_equal(covariance[notes.r_peak[0]], prior.covariances[2])
    assert prior.phase_names == PHASE_NAMES


def test_heart_vector_prior_positive_definite_with_little_data():
    rng = np.random.default_rng(9)
    vectors = 0.01 * rng.standard_normal((3, 6))
    vectors[:, :3] = vectors[:, :1]  # phase 0: three identical samples (zero covariance)
    labels = np.array([0, 0, 0, 1, 1, 2])
    fitted = fit_heart_vector_prior(vectors, labels, n_phases=4)
    assert np.all(np.linalg.eigvalsh(fitted.covariances) > 0)
    assert fitted.counts.tolist() == [3, 2, 1, 0]
    assert np.allclose(fitted.means[3], vectors.mean(axis=1))  # empty phase: pooled
    fixed = fit_heart_vector_prior(vectors, labels, n_phases=4, shrinkage=1.0)
    assert np.allclose(fixed.covariances[1] - np.diag(np.diag(fixed.covariances[1])), 0.0)
    with pytest.raises(ValueError, match="phase_labels"):
        fit_heart_vector_prior(vectors, labels + 5, n_phases=7)
    with pytest.raises(ValueError, match="shrinkage"):
        fit_heart_vector_prior(vectors, labels, shrinkage=1.5)


def test_heart_vector_prior_round_trip(prior):
    restored = HeartVectorPrior.from_dict(json.loads(json.dumps(prior.to_dict())))
    assert np.array_equal(restored.means, prior.means)
    assert np.array_equal(restored.covariances, prior.covariances)
    assert np.array_equal(restored.counts, prior.counts)
    assert restored.phase_names == prior.phase_names
    with pytest.raises(ValueError, match="missing"):
        HeartVectorPrior.from_dict({"means": []})
