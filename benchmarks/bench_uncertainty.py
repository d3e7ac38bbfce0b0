"""Benchmarks of the uncertainty-aware virtual leads: the posterior of one record.

One 10 s 12-lead record at 500 Hz (PhysioNet Challenge 2021 E07500), the bundled population
model, default draws (500):

(a) inputs I, II, V5 -> views V1, V2, V3, V4, V6;
(b) all 12 leads as inputs -> 3 views at (theta, phi) = (90, 130), (132, -99), (140, 100) degrees;

each with the default Laplace mode and with NUTS (the reference; 300 tuning steps, 2 chains).
Each case is called once before timing (NUTS compiles its model once per number of input leads),
then timed over 5 rounds (Laplace; each call allocates a few hundred MB afresh, so single calls
vary) or 3 (NUTS) with the same seed. ``test_first_call_in_a_fresh_process`` times the
first call of a new interpreter (after ``import hybridfield`` and reading the record; NeuroKit2's
import, the population model's load and any compilation included) against the warm call of the
same process, and once more with NeuroKit2 imported before the clock. Run with
``python -m pytest benchmarks/bench_uncertainty.py -q -s --benchmark-only``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
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


def _posterior(record, population, views, inputs, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return predict_posterior(
            record, views, inputs=inputs, random_seed=0, progressbar=False, population=population, method=method
        )


@pytest.mark.parametrize("method", ["laplace", "nuts"])
@pytest.mark.parametrize("case", list(CASES))
def test_posterior_one_record(benchmark, record, population, case, method):
    views, inputs = CASES[case]
    warm = _posterior(record, population, views, inputs, method)  # compile outside the timing
    rounds = 5 if method == "laplace" else 3
    posterior = benchmark.pedantic(_posterior, args=(record, population, views, inputs, method), rounds=rounds, iterations=1)
    assert posterior.draws.shape == (500, len(views), 5000)
    assert np.all(np.isfinite(posterior.draws))
    np.testing.assert_array_equal(posterior.draws, warm.draws)  # same seed, same posterior
    width = float(np.mean(np.subtract(*posterior.interval(0.9)[::-1])))
    benchmark.extra_info.update(
        {"inputs": list(posterior.input_leads), "views": list(posterior.names), "mean_90_width_mV": width, "method": method}
    )
    print(f"\n{case} ({method}): inputs {','.join(posterior.input_leads)}; mean 90 % width {width:.3f} mV")


_FIRST_CALL = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import hybridfield
if {neurokit_first!r}:
    import neurokit2  # the beat segmentation's library, imported before the clock starts
ecg = hybridfield.read_wfdb({record!r})
times = []
for _ in range(3):
    started = time.perf_counter()
    hybridfield.predict_posterior(ecg, ["V1", "V2", "V3", "V4", "V6"], inputs=["I", "II", "V5"], random_seed=0,
                                  progressbar=False, method={method!r})
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


@pytest.mark.parametrize(
    ("method", "neurokit_first"), [("laplace", False), ("laplace", True), ("nuts", False)],
    ids=["laplace", "laplace-neurokit2-imported", "nuts"],
)
def test_first_call_in_a_fresh_process(benchmark, method, neurokit_first):
    """First call of a new interpreter against the warm calls after it (I, II, V5 -> 5 leads).

    ``neurokit2-imported``: NeuroKit2 (about 1-1.7 s to import, most of it scikit-learn and
    scipy.stats) is imported before the clock, which leaves what the first call itself adds.
    """

    def run():
        code = _FIRST_CALL.format(record=str(RECORD), method=method, neurokit_first=neurokit_first)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])

    times = benchmark.pedantic(run, rounds=1, iterations=1)
    first, warm = times[0], min(times[1:])
    benchmark.extra_info.update(
        {"first_s": first, "warm_s": warm, "ratio": first / warm, "method": method, "neurokit2_imported_first": neurokit_first}
    )
    label = f"{method}{' (NeuroKit2 imported first)' if neurokit_first else ''}"
    print(f"\n{label}: first call {first:.2f} s, warm {warm:.2f} s, ratio {first / warm:.2f}")
