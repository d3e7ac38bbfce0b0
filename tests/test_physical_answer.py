"""The physical answer: the record model's posterior centre, under the residual and inside the bands."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from _shared_data import PTB_RECORD, require_record

from hybridfield.posterior import physical_answer, physical_answer_of_signals, predict_posterior
from hybridfield.preparation import prepare_record

VIEWS = ["V1", "V2", "V3", "V4", "V6"]
INPUTS = ["I", "II", "V5"]


@pytest.fixture(scope="module")
def record():
    from hybridfield import read_wfdb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_record(read_wfdb(require_record(PTB_RECORD)).select(["I", "II", "III", "aVR", "aVL", "aVF", *VIEWS, "V5"]))


def test_the_answer_is_the_centre_of_the_posterior_draws(record) -> None:
    answer, vector = physical_answer(record, VIEWS, inputs=INPUTS)
    again, _ = physical_answer(record, VIEWS, inputs=INPUTS)
    np.testing.assert_array_equal(answer, again)  # the same answer on every call
    assert answer.shape == (5, record.n_samples) and vector.shape == (3, record.n_samples)
    posterior = predict_posterior(record, VIEWS, inputs=INPUTS, draws=3000, random_seed=1, progressbar=False)
    spread = posterior.draws.std(axis=0)
    # the draws' mean is the answer up to Monte-Carlo error: a few standard errors of the mean
    standard_error = np.sqrt(np.mean(spread**2, axis=1) / 3000)
    gap = np.sqrt(np.mean((posterior.mean - answer) ** 2, axis=1))
    assert np.all(gap < 5 * standard_error + 0.03 * np.sqrt(np.mean(answer**2, axis=1))), (gap, standard_error)
    np.testing.assert_allclose(posterior.heart_vector_mean, vector, atol=0.1 * np.abs(vector).max())


def test_the_answer_is_closer_to_the_truth_than_the_plain_projection(record) -> None:
    from hybridfield import HybridPanorama

    answer, _ = physical_answer(record, VIEWS, inputs=INPUTS)
    projection = HybridPanorama(None).projection(record, VIEWS, inputs=INPUTS).signals
    truth = record.signals(VIEWS)
    error = np.sqrt(np.mean((answer - truth) ** 2))
    assert error < np.sqrt(np.mean((projection - truth) ** 2))


def test_the_answer_keeps_the_lead_identities(record) -> None:
    answer, _ = physical_answer(record, ["III", "aVR", "V5", "V1"], inputs=INPUTS)
    lead_i, lead_ii, lead_v5 = record.signals(INPUTS)
    np.testing.assert_allclose(answer[0], lead_ii - lead_i, atol=1e-12)
    np.testing.assert_allclose(answer[1], -(lead_i + lead_ii) / 2, atol=1e-12)
    np.testing.assert_allclose(answer[2], lead_v5, atol=1e-12)
    # from signals and phase bins alone, the same answer
    same, _ = physical_answer_of_signals(
        record.signals(INPUTS), INPUTS, ["III", "aVR", "V5", "V1"], record.phase_bins, record.n_beats, record.fs,
        __import__("hybridfield").default_population_model(),
    )
    np.testing.assert_allclose(same, answer, atol=1e-12)


def test_bad_requests_are_named(record) -> None:
    with pytest.raises(ValueError, match="views must be a non-empty sequence"):
        physical_answer(record, "V1")
    with pytest.raises(TypeError, match="ecg must be"):
        physical_answer(np.zeros((3, 10)), ["V1"])


def test_the_hybrid_posterior_is_centred_on_predict(record) -> None:
    """Mean equal to predict; each draw's departure from the mean is the physics posterior's."""
    from hybridfield import HybridPanorama

    model = HybridPanorama.pretrained()
    hybrid = model.predict_posterior(record, VIEWS, inputs=INPUTS, draws=300, random_seed=3, progressbar=False)
    predicted = model.predict(record, VIEWS, inputs=INPUTS).signals
    np.testing.assert_allclose(hybrid.mean, predicted, atol=1e-9 * np.abs(predicted).max())
    physics = predict_posterior(record, VIEWS, inputs=INPUTS, draws=300, random_seed=3, progressbar=False)
    scale = model.spread_scale
    assert 0.5 < scale <= 1.0
    np.testing.assert_allclose(hybrid.draws - hybrid.mean, scale * (physics.draws - physics.mean), atol=1e-9)
    assert np.abs(predicted - model.physical(record, VIEWS, inputs=INPUTS).signals).max() > 1e-3  # the residual moved it
