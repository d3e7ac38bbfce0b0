"""Tests of hybridfield.metrics: pointwise accuracy, band calibration, regression to the mean and
the population-regression baseline.

Units: signals and bands in mV; probabilities in (0, 1).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import norm

from hybridfield.metrics import (
    PopulationRegression,
    coverage,
    interval_score,
    pearson_r,
    peak_to_peak,
    regression_to_the_mean,
    rmse,
    variance_ratio_difference,
)


# ----------------------------------------------------------------------------------------------
# Interval score and coverage
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("truth", "expected"),
    [
        (0.5, 1.0),  # inside: the width only
        (0.0, 1.0),  # on the lower edge: still inside
        (-0.5, 1.0 + (2.0 / 0.2) * 0.5),  # 0.5 mV below: width + 2/alpha * 0.5 = 6
        (1.25, 1.0 + (2.0 / 0.2) * 0.25),  # 0.25 mV above: width + 2/alpha * 0.25 = 3.5
    ],
)
def test_interval_score_hand_computed(truth: float, expected: float) -> None:
    # Band [0, 1] mV with probability 0.8 (alpha = 0.2).
    score = interval_score([truth], [0.0], [1.0], 0.8)
    assert score == pytest.approx(expected, rel=1e-12)


def test_interval_score_averages_along_axis_and_rewards_narrow_bands() -> None:
    truth = np.array([[0.5, -0.5, 1.25], [0.0, 0.0, 0.0]])
    lower = np.array([[0.0, 0.0, 0.0], [-0.1, -0.1, -0.1]])
    upper = np.array([[1.0, 1.0, 1.0], [0.1, 0.1, 0.1]])
    score = interval_score(truth, lower, upper, 0.8)
    assert score.shape == (2,)
    assert score[0] == pytest.approx((1.0 + 6.0 + 3.5) / 3.0)
    assert score[1] == pytest.approx(0.2)
    # Along the other axis.
    assert interval_score(truth, lower, upper, 0.8, axis=0) == pytest.approx([0.6, 3.1, 1.85])
    # A wider band that still covers costs more than a narrow covering band.
    assert interval_score([0.0], [-2.0], [2.0], 0.9) > interval_score([0.0], [-0.1], [0.1], 0.9)


@pytest.mark.parametrize("probability", [0.0, 1.0, -0.1, 1.5])
def test_interval_score_rejects_probability_outside_unit_interval(probability: float) -> None:
    with pytest.raises(ValueError, match="probability"):
        interval_score([0.0], [-1.0], [1.0], probability)


def test_interval_score_rejects_non_finite_truth() -> None:
    with pytest.raises(ValueError):
        interval_score([np.nan], [-1.0], [1.0], 0.9)


def test_coverage_counts_edges_as_inside() -> None:
    truth = np.array([-1.0, 0.0, 1.0, 2.0, 0.5])
    lower = np.zeros(5)
    upper = np.ones(5)
    # -1 below, 0 on the edge, 1 on the edge, 2 above, 0.5 inside -> 3 of 5.
    assert coverage(truth, lower, upper) == pytest.approx(0.6)
    stacked = coverage(np.vstack([truth, truth + 10.0]), np.vstack([lower, lower]), np.vstack([upper, upper]))
    assert stacked == pytest.approx([0.6, 0.0])


def test_coverage_of_gaussian_band_is_nominal() -> None:
    rng = np.random.default_rng(0)
    truth = rng.standard_normal(200_000)
    half = norm.ppf(0.95)
    assert coverage(truth, -half * np.ones_like(truth), half * np.ones_like(truth)) == pytest.approx(0.9, abs=0.003)


# ----------------------------------------------------------------------------------------------
# RMSE, Pearson r, peak-to-peak
# ----------------------------------------------------------------------------------------------
def test_rmse_hand_computed_and_shape_checked() -> None:
    assert rmse([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.0
    assert rmse([0.0, 0.0], [3.0, 4.0]) == pytest.approx(np.sqrt(12.5))
    assert rmse([[0.0, 2.0], [1.0, 1.0]], [[0.0, 0.0], [1.0, 1.0]]) == pytest.approx([np.sqrt(2.0), 0.0])
    with pytest.raises(ValueError, match="same shape"):
        rmse([0.0, 1.0], [0.0, 1.0, 2.0])


def test_pearson_r_values() -> None:
    t = np.linspace(0.0, 1.0, 200)
    signal = np.sin(2 * np.pi * 3 * t)
    assert pearson_r(2.0 * signal + 1.0, signal) == pytest.approx(1.0)
    assert pearson_r(-signal, signal) == pytest.approx(-1.0)
    assert pearson_r(np.cos(2 * np.pi * 3 * t), signal) == pytest.approx(0.0, abs=0.02)
    both = pearson_r(np.vstack([signal, -signal]), np.vstack([signal, signal]))
    assert both == pytest.approx([1.0, -1.0])


def test_pearson_r_constant_signal_raises() -> None:
    with pytest.raises(ValueError, match="constant"):
        pearson_r(np.ones(50), np.arange(50.0))
    # A constant at a value that is not exactly representable (0.3 mV): its deviations from its
    # own mean are rounding noise (~1e-17), still a constant signal.
    with pytest.raises(ValueError, match="constant"):
        pearson_r(np.arange(50.0), np.full(50, 0.3))


def test_peak_to_peak() -> None:
    assert peak_to_peak([[0.0, -1.0, 2.0], [1.0, 1.0, 1.0]]) == pytest.approx([3.0, 0.0])


# ----------------------------------------------------------------------------------------------
# Regression to the mean
# ----------------------------------------------------------------------------------------------
def test_regression_to_the_mean_when_predicting_the_population_mean() -> None:
    rng = np.random.default_rng(1)
    true = rng.uniform(0.5, 3.0, 40)
    figures = regression_to_the_mean(np.full(40, true.mean()), true)
    assert figures["variance_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert figures["error_correlation"] == pytest.approx(-1.0, abs=1e-12)


def test_regression_to_the_mean_shrunk_prediction() -> None:
    # Predictions shrunk halfway to the mean: variance ratio 1/4, error strongly anti-correlated.
    rng = np.random.default_rng(2)
    true = rng.uniform(0.5, 3.0, 40)
    shrunk = true.mean() + 0.5 * (true - true.mean())
    figures = regression_to_the_mean(shrunk, true)
    assert figures["variance_ratio"] == pytest.approx(0.25)
    assert figures["error_correlation"] == pytest.approx(-1.0)
    # Independent errors: no correlation with the truth to speak of, variance ratio > 1.
    noisy = true + rng.normal(0.0, 0.3, 40)
    figures = regression_to_the_mean(noisy, true)
    assert figures["variance_ratio"] > 1.0
    assert abs(figures["error_correlation"]) < 0.5


def test_variance_ratio_difference_of_a_shrunk_and_a_faithful_method() -> None:
    # shrunk halfway to the mean (VR 1/4) against the truth itself (VR 1): exactly -0.75, and the
    # paired interval (the same records drawn for both) holds it and excludes no difference
    rng = np.random.default_rng(3)
    true = rng.uniform(0.5, 3.0, 40)
    shrunk = true.mean() + 0.5 * (true - true.mean())
    difference = variance_ratio_difference(shrunk, true, true, probability=0.9, random_seed=1)
    assert difference["estimate"] == pytest.approx(-0.75)
    assert difference["low"] <= -0.75 <= difference["high"] < 0.0
    assert difference["probability"] == 0.9
    same = variance_ratio_difference(shrunk, shrunk, true, probability=0.9)
    assert same["estimate"] == same["low"] == same["high"] == 0.0


def test_variance_ratio_difference_interval_covers_a_null_difference_at_its_rate() -> None:
    # two methods with the same expected variance ratio (independent noise of equal size): the 80 %
    # interval should contain 0 in about 80 % of repeated studies (fixed seeds; binomial 60 studies)
    rng = np.random.default_rng(4)
    covered = 0
    for study in range(60):
        true = rng.uniform(0.5, 3.0, 30)
        first, second = true + rng.normal(0, 0.3, 30), true + rng.normal(0, 0.3, 30)
        difference = variance_ratio_difference(first, second, true, probability=0.8, n_resamples=400, random_seed=study)
        covered += difference["low"] <= 0.0 <= difference["high"]
    assert 0.6 <= covered / 60 <= 0.95


def test_variance_ratio_difference_rejects_bad_input() -> None:
    true = np.array([0.8, 1.2, 2.0, 1.5, 0.9])
    with pytest.raises(ValueError, match="probability must be in"):
        variance_ratio_difference(true, true, true, probability=90)
    with pytest.raises(ValueError, match="same for every record"):
        variance_ratio_difference(true, true, np.ones(5), probability=0.9)
    with pytest.raises(ValueError, match="same shape"):
        variance_ratio_difference(true[:4], true, true, probability=0.9)
    with pytest.raises(ValueError, match="NaN|finite"):
        variance_ratio_difference(np.array([0.8, np.nan, 2.0, 1.5, 0.9]), true, true, probability=0.9)


def test_regression_to_the_mean_perfect_prediction_is_not_silently_nan() -> None:
    # A perfect prediction keeps every personal amplitude: variance ratio 1. The error is
    # identically zero, so its correlation with the truth is undefined: the function must say so
    # (raise) or return a finite documented value, never a silent NaN.
    true = np.array([0.8, 1.2, 2.0, 1.5, 0.9])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            figures = regression_to_the_mean(true.copy(), true)
        except ValueError:
            return
    assert figures["variance_ratio"] == pytest.approx(1.0)
    assert np.isfinite(figures["error_correlation"]), (
        f"regression_to_the_mean(perfect prediction) returned error_correlation={figures['error_correlation']}"
    )


def test_regression_to_the_mean_input_checks() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        regression_to_the_mean([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="same shape"):
        regression_to_the_mean([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])


# ----------------------------------------------------------------------------------------------
# Population regression baseline
# ----------------------------------------------------------------------------------------------
def test_population_regression_recovers_linear_map_and_calibrated_band() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    slope = np.array([[0.5, -1.0, 0.2], [1.5, 0.0, -0.7]])  # (n_targets, n_inputs)
    intercept = np.array([0.3, -0.1])
    noise = np.array([0.05, 0.2])
    inputs = rng.standard_normal((3, n))
    targets = slope @ inputs + intercept[:, None] + noise[:, None] * rng.standard_normal((2, n))
    model = PopulationRegression(inputs, targets)
    assert model.coefficients.shape == (4, 2)
    np.testing.assert_allclose(model.coefficients[:3].T, slope, atol=0.005)
    np.testing.assert_allclose(model.coefficients[3], intercept, atol=0.005)
    np.testing.assert_allclose(model.residual_std, noise, rtol=0.02)

    fresh_inputs = rng.standard_normal((3, n))
    fresh = slope @ fresh_inputs + intercept[:, None] + noise[:, None] * rng.standard_normal((2, n))
    prediction = model.predict(fresh_inputs)
    np.testing.assert_allclose(rmse(prediction, fresh), noise, rtol=0.02)
    for probability in (0.5, 0.9):
        lower, upper = model.interval(fresh_inputs, probability)
        assert lower.shape == upper.shape == (2, n)
        np.testing.assert_allclose(coverage(fresh, lower, upper), probability, atol=0.01)
        # Constant width: 2 z sigma.
        np.testing.assert_allclose(upper - lower, np.broadcast_to(2 * norm.ppf(0.5 + probability / 2) * noise[:, None], (2, n)), rtol=0.02)


def test_population_regression_rejects_mismatched_samples() -> None:
    with pytest.raises(ValueError, match="same number of samples"):
        PopulationRegression(np.zeros((3, 10)), np.zeros((2, 11)))


@pytest.mark.parametrize("probability", [0.0, 1.0, 90.0, -0.5])
def test_population_regression_interval_rejects_probabilities_outside_zero_one(probability: float) -> None:
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 50))
    model = PopulationRegression(inputs, inputs[:1] + 0.1 * rng.normal(size=(1, 50)))
    with pytest.raises(ValueError, match=r"probability must be in \(0, 1\)"):
        model.interval(inputs, probability)
