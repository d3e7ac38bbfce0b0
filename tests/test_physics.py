"""Tests of hybridfield.physics: the one heart-vector fit and the physical projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import forward
import hybridfield
from hybridfield import read_wfdb
from hybridfield.leads import identity_weights, lead_vector_array
from hybridfield.physics import fit_heart_vector, fit_heart_vector_to_leads, physical_projection, record_heart_vector
from hybridfield.population import default_population_model
from hybridfield.preparation import prepare_record

E07501 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cinc2021" / "E07501"


@pytest.fixture(scope="module")
def record():
    return prepare_record(read_wfdb(E07501))


def test_one_heart_vector_fit_behind_the_panorama_and_the_public_function(record) -> None:
    """The hybrid's plain projection and fit_heart_vector(method="tikhonov") are the same fit; the
    panorama's heart vector is the physical answer's."""
    from hybridfield.posterior import physical_answer

    inputs = ["I", "II", "V5"]
    population = default_population_model()
    ecg = read_wfdb(E07501)
    model = hybridfield.HybridPanorama.pretrained()
    np.testing.assert_array_equal(model.heart_vector(ecg, inputs=inputs), physical_answer(ecg, ["V1"], inputs=inputs)[1])
    public = fit_heart_vector(ecg, method="tikhonov", leads=inputs)
    np.testing.assert_array_equal(model._fit(record, inputs)[1], public.mean)
    np.testing.assert_array_equal(record_heart_vector(record, inputs, population), public.mean)
    # the same as forward's Tikhonov estimator written out with the population prior
    bins = record.phase_bins
    reference = forward.tikhonov_heart_vector(
        record.signals(inputs), lead_vector_array(inputs), prior_mean=population.prior_mean[bins].T,
        prior_covariance=population.prior_covariance[bins],
        noise_std=np.sqrt(population.residual_variance[[0, 1, 10]][:, bins]),
    )
    np.testing.assert_allclose(public.mean, reference.mean, rtol=0, atol=1e-12)


def test_fit_recovers_a_heart_vector_seen_by_enough_leads(record) -> None:
    """Noise-free leads made by a known heart vector through the torso give it back where the
    data outweigh the prior (eight independent leads, QRS amplitudes)."""
    population = default_population_model()
    names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    truth = forward.simulate_heart_vector(record.n_samples / record.fs, record.fs, heart_rate=70, random_seed=1)[:, : record.n_samples]
    signals = lead_vector_array(names) @ truth
    fitted = fit_heart_vector_to_leads(signals, names, record.phase_bins, population).mean
    strong = np.linalg.norm(truth, axis=0) > 0.5 * np.linalg.norm(truth, axis=0).max()
    error = np.linalg.norm(fitted[:, strong] - truth[:, strong], axis=0) / np.linalg.norm(truth[:, strong], axis=0)
    assert np.median(error) < 0.1


def test_physical_projection_keeps_the_limb_identities(record) -> None:
    inputs = ["I", "II", "V5"]
    views = ["I", "II", "III", "aVR", "aVL", "aVF", "V1"]
    vector = record_heart_vector(record, inputs, default_population_model())
    signals = record.signals(inputs)
    projection = physical_projection(lead_vector_array(views), identity_weights(views, inputs), vector, signals, lead_vector_array(inputs))
    np.testing.assert_allclose(projection[0], signals[0], atol=1e-12)  # an input is itself
    np.testing.assert_allclose(projection[2], signals[1] - signals[0], atol=1e-12)  # Einthoven
    np.testing.assert_allclose(projection[3] + projection[4] + projection[5], 0.0, atol=1e-12)  # Goldberger
    # a precordial view carries the heart vector alone
    np.testing.assert_allclose(projection[6], lead_vector_array(["V1"])[0] @ vector, atol=1e-12)
