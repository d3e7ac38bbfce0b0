"""Tests of hybridfield.population: the population model's persistence, its contract and its fit."""

from __future__ import annotations

import numpy as np
import pytest

from _simulated_records import simulate_record
from hybridfield.phases import PHASE_BIN_NAMES
from hybridfield.population import PopulationModel, default_population_model, fit_population_model

STANDARD = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def population() -> PopulationModel:
    return default_population_model()


# ==============================================================================================
# 6. PopulationModel
# ==============================================================================================
def _assert_same_model(a: PopulationModel, b: PopulationModel) -> None:
    for name in ("nominal_lead_vectors", "lead_bias", "lead_covariance", "residual_variance", "prior_mean", "prior_covariance"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lead_names == b.lead_names
    assert a.fs == b.fs and a.band == b.band and a.sigma == b.sigma
    assert a.training_records == b.training_records
    assert dict(a.metadata) == dict(b.metadata)


def test_population_model_round_trips(population, tmp_path) -> None:
    _assert_same_model(PopulationModel.from_dict(population.to_dict()), population)
    path = tmp_path / "population.json"
    population.save(path)
    _assert_same_model(PopulationModel.load(path), population)
    # A fitted model too (arrays not read from JSON before).
    fitted = fit_population_model([simulate_record(seed)[0] for seed in range(3)])
    fitted.save(path)
    _assert_same_model(PopulationModel.load(path), fitted)
    assert fitted.training_records == ("simulated0", "simulated1", "simulated2")


def test_population_model_from_dict_rejects_other_formats(population) -> None:
    data = population.to_dict()
    with pytest.raises(ValueError, match="format"):
        PopulationModel.from_dict({**data, "format": "something/2"})
    with pytest.raises(ValueError, match="format"):
        PopulationModel.from_dict({key: value for key, value in data.items() if key != "format"})
    with pytest.raises(ValueError, match="phase bins"):
        PopulationModel.from_dict({**data, "phase_bins": data["phase_bins"][:-1]})


def test_default_population_model(population) -> None:
    assert population.lead_names == STANDARD
    assert population.nominal_lead_vectors.shape == (12, 3)
    assert population.lead_covariance.shape == (12, 3, 3)
    n_bins = len(PHASE_BIN_NAMES)
    assert population.prior_mean.shape == (n_bins, 3)
    assert population.residual_variance.shape == (12, n_bins)
    assert population.fs == 500.0 and population.band == (0.5, 40.0)
    assert np.all(np.linalg.eigvalsh(population.prior_covariance) > 0)
    assert np.all(population.residual_variance > 0)
    assert len(population.training_records) >= 3


def test_fit_population_model_needs_three_records() -> None:
    records = [simulate_record(seed)[0] for seed in range(2)]
    with pytest.raises(ValueError, match="at least 3"):
        fit_population_model(records)


def test_population_model_from_dict_rejects_another_preprocessing(population) -> None:
    data = population.to_dict()
    with pytest.raises(ValueError, match="fs=250"):
        PopulationModel.from_dict({**data, "fs": 250.0})
    with pytest.raises(ValueError, match="band"):
        PopulationModel.from_dict({**data, "band": [0.05, 150.0]})


def test_lead_and_view_statistics(population) -> None:
    leads = population.leads(["v1", "II"])
    assert leads.names == ("V1", "II")
    np.testing.assert_array_equal(leads.residual, population.residual_variances(["V1", "II"]))
    np.testing.assert_array_equal(leads.nominal[0], population.nominal_lead_vectors[STANDARD.index("V1")])
    views = population.views(["V1", (np.pi / 2, 0.0)])
    assert views.names == ("V1 (virtual)", "view(90,0) (virtual)")
    np.testing.assert_array_equal(views.bias[1], np.zeros(3))  # no training data for an angle pair
    # the view's nominal lead vector is the BEM torso's, computed once and then served from memory
    from forward import view_lead_vectors
    from geometry import default_torso

    expected = view_lead_vectors(default_torso(), np.pi / 2, 0.0, sigma=population.sigma)
    np.testing.assert_allclose(views.nominal[1], expected, rtol=1e-12)
    again = population.views([(np.pi / 2, 0.0)])
    np.testing.assert_array_equal(again.nominal[0], views.nominal[1])
    again.nominal[0] += 1.0  # a caller's copy: the cached vector stays as it was
    np.testing.assert_array_equal(population.views([(np.pi / 2, 0.0)]).nominal[0], views.nominal[1])
    with pytest.raises(ValueError, match="no population statistics"):
        population.leads(["V9"])


def _statistics_with_deviations(deviations: np.ndarray):
    """RecordStatistics of simulated record 0 with the given lead deviations (one per record)."""
    from dataclasses import replace

    from hybridfield.population import record_statistics

    base = record_statistics(simulate_record(0)[0])
    return [replace(base, record=f"r{k}", deviation=value) for k, value in enumerate(deviations)]


def test_neighbouring_chest_leads_share_their_deviations() -> None:
    """Deviations that V4, V5 and V6 share (one electrode-placement offset for the three) show as
    a correlation of their whitened deviations; leads that are not neighbours stay independent,
    and the correlation is a valid one (symmetric, unit diagonal, positive definite)."""
    rng = np.random.default_rng(0)
    n_records = 120
    deviations = rng.normal(0.0, 5.0, (n_records, len(STANDARD), 3))
    shared = rng.normal(0.0, 20.0, (n_records, 1, 3))
    lateral = [STANDARD.index(name) for name in ("V4", "V5", "V6")]
    deviations[:, lateral] += shared
    population = fit_population_model(_statistics_with_deviations(deviations))
    correlation = population.deviation_correlation
    assert correlation.shape == (36, 36)
    np.testing.assert_allclose(correlation, correlation.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(correlation), 1.0, atol=1e-12)
    assert np.linalg.eigvalsh(correlation).min() > 0
    blocks = correlation.reshape(12, 3, 12, 3)
    v4, v5, v6, v1 = (STANDARD.index(name) for name in ("V4", "V5", "V6", "V1"))
    assert np.mean(np.diagonal(blocks[v5, :, v6, :])) > 0.5  # the shared offset
    # not neighbours (V4 and V6 are two electrodes apart): masked, up to what keeps the matrix
    # positive definite
    assert np.abs(blocks[v4, :, v6, :]).max() < 0.1
    assert np.abs(blocks[v1, :, v5, :]).max() < 0.1
    # independent leads, or too few records, give no correlation to learn
    assert fit_population_model(_statistics_with_deviations(deviations[:30])).deviation_correlation is None
    independent = fit_population_model(_statistics_with_deviations(deviations), correlation_shrinkage=1.0)
    np.testing.assert_allclose(independent.deviation_correlation, np.eye(36), atol=1e-12)
    round_trip = PopulationModel.from_dict(population.to_dict())
    np.testing.assert_array_equal(round_trip.deviation_correlation, correlation)
