"""Tests of hybridfield.record_model: the collapsed log density of a record's nuisance parameters,
two independent implementations (numpy with its analytic gradient; the PyMC reference model)
against each other, against a dense Gaussian, and the gradient against finite differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from hybridfield import read_wfdb
from hybridfield.population import PopulationModel, default_population_model
from hybridfield.preparation import prepare_record
from hybridfield.record_model import RecordModel, build_pymc_model, model_data, sufficient_statistics

E07500 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cinc2021" / "E07500"
INPUTS = ("I", "II", "V5")


@pytest.fixture(scope="module")
def population() -> PopulationModel:
    return default_population_model()


@pytest.fixture(scope="module")
def e07500():
    """E07500 prepared as the model sees it, with its phase-bin labels."""
    record = prepare_record(read_wfdb(E07500))
    return record.ecg, record.phase_bins


@pytest.mark.parametrize("input_leads", [INPUTS, ("II",)], ids=["3 leads", "1 lead"])
def test_collapsed_likelihood_equals_dense_gaussian_and_scales_with_weight(population, e07500, input_leads) -> None:
    """The PyMC potential (Woodbury + determinant lemma on sufficient statistics) equals
    sum_t log N(y_t; C mu_b, C Sigma_b C^T + diag(r_b s^2)), and likelihood_weight scales it."""
    ecg, bins = e07500
    lead_set = population.leads(input_leads)
    n_leads = len(input_leads)
    signals = np.array([ecg[name] for name in input_leads])
    statistics = sufficient_statistics(signals, bins)
    rng = np.random.default_rng(5)
    points = [
        {
            "log_gain": rng.normal(0.0, 0.1, n_leads),
            "standard_angle_offset": rng.normal(0.0, 1.0, (n_leads, 2)),
            "log_noise_scale": np.asarray(rng.normal(0.0, 0.3)),
        }
        for _ in range(2)
    ]

    def dense(point: dict) -> float:
        angle_offset = np.einsum("lab,lb->la", lead_set.angle_cholesky, point["standard_angle_offset"])
        lead_matrix = lead_set.lead_matrix(point["log_gain"], angle_offset)
        noise_variance = np.exp(2.0 * point["log_noise_scale"])
        total = 0.0
        for b in np.unique(bins):
            members = signals[:, bins == b].T
            covariance = (
                lead_matrix @ population.prior_covariance[b] @ lead_matrix.T
                + np.diag(lead_set.residual[:, b] * noise_variance)
            )
            total += scipy.stats.multivariate_normal.logpdf(members, lead_matrix @ population.prior_mean[b], covariance).sum()
        return float(total)

    values = {}
    for weight in (1.0, 0.25):
        model = build_pymc_model(n_leads, model_data(lead_set, population, statistics, weight))
        potential = model.compile_fn(
            model.logp(vars=[model["marginal_likelihood"]]), inputs=model.value_vars, on_unused_input="ignore"
        )
        full_logp = model.compile_logp()
        prior_logp = model.compile_fn(model.logp(vars=model.free_RVs), inputs=model.value_vars)
        values[weight] = [float(potential(point)) for point in points]
        for point, value in zip(points, values[weight]):
            assert value == pytest.approx(weight * dense(point), rel=1e-9)
            # The model's log density is the priors plus this potential, nothing else.
            assert float(full_logp(point)) == pytest.approx(float(prior_logp(point)) + value, rel=1e-9)
    assert values[0.25] == pytest.approx([0.25 * v for v in values[1.0]], rel=1e-12)
    # The two points differ (the check is not vacuous).
    assert abs(values[1.0][0] - values[1.0][1]) > 1.0


def _model(population, e07500, input_leads, weight=0.02) -> RecordModel:
    ecg, bins = e07500
    signals = np.array([ecg[name] for name in input_leads])
    return RecordModel(model_data(population.leads(input_leads), population, sufficient_statistics(signals, bins), weight))


@pytest.mark.parametrize("input_leads", [INPUTS, ("II",), ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")],
                         ids=["3 leads", "1 lead", "12 leads"])
def test_numpy_density_and_gradient_equal_the_pymc_model(population, e07500, input_leads) -> None:
    """The numpy density (dense L x L covariance) equals PyMC's (Woodbury, 3 x 3) at random points,
    and its analytic gradient equals PyMC's gradient and central finite differences."""
    model = _model(population, e07500, input_leads)
    n = len(input_leads)
    pymc_model = build_pymc_model(n, dict(model.data))
    logp, dlogp = pymc_model.compile_logp(), pymc_model.compile_dlogp()
    order = [variable.name for variable in pymc_model.value_vars]
    rng = np.random.default_rng(11)
    for _ in range(3):
        theta = 0.3 * rng.standard_normal(model.n_parameters)
        gain, standard, noise = model.unpack(theta)
        point = {"log_gain": gain, "standard_angle_offset": standard, "log_noise_scale": np.asarray(noise)}
        value, gradient = model.log_density_and_gradient(theta)
        assert value == pytest.approx(float(logp(point)), abs=1e-7, rel=1e-10)
        parts = dict(zip(order, np.split(dlogp(point), np.cumsum([np.size(point[name]) for name in order])[:-1])))
        reference = np.concatenate([parts["log_gain"], parts["standard_angle_offset"], parts["log_noise_scale"]])
        np.testing.assert_allclose(gradient, reference, rtol=1e-7, atol=1e-7 * np.abs(reference).max())
        step = 1e-6
        numeric = np.array(
            [(model.log_density(theta + step * e) - model.log_density(theta - step * e)) / (2 * step) for e in np.eye(model.n_parameters)]
        )
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())


def test_record_model_rejects_a_wrong_parameter_vector(population, e07500) -> None:
    model = _model(population, e07500, INPUTS)
    assert model.n_leads == 3 and model.n_parameters == 10
    with pytest.raises(ValueError, match=r"theta must have shape \(10,\)"):
        model.log_density(np.zeros(9))


def test_batched_density_equals_one_point_at_a_time(population, e07500) -> None:
    """The batched evaluation the posterior mode's curvature uses gives each point's own value."""
    model = _model(population, e07500, INPUTS)
    points = 0.3 * np.random.default_rng(5).standard_normal((7, model.n_parameters))
    values, gradients = model.log_density_and_gradient_batch(points)
    for point, value, gradient in zip(points, values, gradients):
        one_value, one_gradient = model.log_density_and_gradient(point)
        assert value == pytest.approx(one_value, rel=1e-12)
        np.testing.assert_allclose(gradient, one_gradient, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match=r"thetas must have shape"):
        model.log_density_and_gradient_batch(points[:, :-1])
