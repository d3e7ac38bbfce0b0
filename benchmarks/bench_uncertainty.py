"""Benchmarks of the uncertainty-aware virtual leads: the posterior of one record.

One 10 s 12-lead record at 500 Hz (PhysioNet Challenge 2021 E07500), the bundled population
model, default draws and tuning (500 / 500, 2 chains):

(a) inputs I, II, V5 -> views V1, V2, V3, V4, V6;
(b) all 12 leads as inputs -> 3 views at (theta, phi) = (90, 130), (132, -99), (140, 100) degrees.

Each case is called once before timing (PyMC compiles the model once per number of input leads;
``uncertainty._MODEL_CACHE``), then timed over 3 rounds with the same seed. Run with
``python -m pytest benchmarks/bench_uncertainty.py -q -s --benchmark-only``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from hybridfield import read_wfdb
from hybridfield.population import default_population_model
from hybridfield.posterior import predict_posterior

RECORD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cinc2021" / "E07500"
VIEWS_DEGREES = ((90.0, 130.0), (132.0, -99.0), (140.0, 100.0))

CASES = {
    "I,II,V5 -> V1,V2,V3,V4,V6": (["V1", "V2", "V3", "V4", "V6"], ["I", "II", "V5"]),
    "12 leads -> 3 views": ([(math.radians(t), math.radians(p)) for t, p in VIEWS_DEGREES], None),
}


@pytest.fixture(scope="module")
def record():
    if not RECORD.with_suffix(".hea").exists():
        pytest.fail(f"record {RECORD} is missing: the shared data must lie beside the repository")
    return read_wfdb(RECORD)


@pytest.fixture(scope="module")
def population():
    return default_population_model()


def _posterior(record, population, views, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return predict_posterior(record, views, inputs=inputs, random_seed=0, progressbar=False, population=population)


@pytest.mark.parametrize("case", list(CASES))
def test_posterior_one_record(benchmark, record, population, case):
    views, inputs = CASES[case]
    warm = _posterior(record, population, views, inputs)  # compile outside the timing
    posterior = benchmark.pedantic(_posterior, args=(record, population, views, inputs), rounds=3, iterations=1)
    assert posterior.draws.shape == (500, len(views), 5000)
    assert np.all(np.isfinite(posterior.draws))
    np.testing.assert_array_equal(posterior.draws, warm.draws)  # same seed, same posterior
    width = float(np.mean(np.subtract(*posterior.interval(0.9)[::-1])))
    benchmark.extra_info.update(
        {"inputs": list(posterior.input_leads), "views": list(posterior.names), "mean_90_width_mV": width}
    )
    print(f"\n{case}: inputs {','.join(posterior.input_leads)}; mean 90 % width {width:.3f} mV")
