"""NUTS on the record model with PyTensor's C and Numba backends and with nutpie, beside Laplace.

The nuisance posterior of one record (PhysioNet Challenge 2021 E07500, inputs I, II, V5, the
bundled population model): the model :func:`hybridfield.posterior.predict_posterior` samples with
``method="nuts"`` (:func:`hybridfield.record_model.build_pymc_model`) and its numpy twin that the
default Laplace mode optimises (:class:`hybridfield.record_model.RecordModel`). Per backend:
compilation (building the model and its sampler, plus the first sampling, where Numba compiles
on first call) in ``extra_info["first_s"]``, then warm sampling of 2 chains x (300 tuning + 250)
steps in one process, 3 rounds:

- ``pymc-c``: PyMC's NUTS on PyTensor's default C backend (what ``method="nuts"`` runs);
- ``pymc-numba``: the same sampler compiled with ``compile_kwargs={"mode": "NUMBA"}``;
- ``nutpie``: ``nutpie.compile_pymc_model`` (Numba) and ``nutpie.sample`` (skipped when nutpie
  is not installed; it is not a dependency: ``pip install nutpie``);
- ``laplace``: :func:`hybridfield.posterior._laplace_nuisance`, 500 draws (no compilation).

The timings cover the nuisance draws only (the exact conditional draws of the leads come after,
the same for every backend). Run with
``python -m pytest benchmarks/bench_nuts_backends.py -q -s --benchmark-only``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hybridfield import read_wfdb
from hybridfield.population import default_population_model
from hybridfield.posterior import CORRELATION_TIME, _laplace_nuisance
from hybridfield.preparation import prepare_record
from hybridfield.record_model import RecordModel, build_pymc_model, model_data, sufficient_statistics

RECORD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cinc2021" / "E07500"
INPUTS = ["I", "II", "V5"]
DRAWS, TUNE, CHAINS = 250, 300, 2


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    if not RECORD.with_suffix(".hea").exists():
        pytest.fail(f"record {RECORD} is missing: the shared data must lie beside the repository")
    population = default_population_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = prepare_record(read_wfdb(RECORD))
    statistics = sufficient_statistics(record.signals(INPUTS), record.phase_bins)
    weight = 1.0 / (max(record.n_beats, 1) * max(1.0, CORRELATION_TIME * record.fs))
    return model_data(population.leads(INPUTS), population, statistics, weight)


def _pymc_sampler(data: dict[str, np.ndarray], mode: str | None) -> Any:
    import pymc as pm

    model = build_pymc_model(len(INPUTS), data)
    with model:
        step = pm.NUTS() if mode is None else pm.NUTS(compile_kwargs={"mode": mode})

    def sample(seed: int) -> np.ndarray:
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=1, step=step, random_seed=seed,
                              progressbar=False, compute_convergence_checks=False)
        return np.asarray(trace.posterior["log_gain"].values).reshape(-1, len(INPUTS))

    return sample


def _nutpie_sampler(data: dict[str, np.ndarray]) -> Any:
    nutpie = pytest.importorskip("nutpie")
    compiled = nutpie.compile_pymc_model(build_pymc_model(len(INPUTS), data))

    def sample(seed: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = nutpie.sample(compiled, draws=DRAWS, tune=TUNE, chains=CHAINS, cores=1, seed=seed, progress_bar=False)
        return np.asarray(trace.posterior["log_gain"].values).reshape(-1, len(INPUTS))

    return sample


def _laplace_sampler(data: dict[str, np.ndarray]) -> Any:
    model = RecordModel(data)

    def sample(seed: int) -> np.ndarray:
        return _laplace_nuisance(model, draws=500, random_seed=seed)["log_gain"].reshape(-1, len(INPUTS))

    return sample


@pytest.mark.parametrize("backend", ["pymc-c", "pymc-numba", "nutpie", "laplace"])
def test_nuisance_sampling(benchmark: Any, data: dict[str, np.ndarray], backend: str) -> None:
    started = time.perf_counter()
    if backend == "nutpie":
        sample = _nutpie_sampler(data)
    elif backend == "laplace":
        sample = _laplace_sampler(data)
    else:
        sample = _pymc_sampler(data, None if backend == "pymc-c" else "NUMBA")
    first = sample(0)  # compilation on first call included
    first_seconds = time.perf_counter() - started
    draws = benchmark.pedantic(sample, args=(1,), rounds=3, iterations=1)
    assert np.all(np.isfinite(draws)) and np.all(np.isfinite(first))
    # every backend samples the same posterior: the input gains' means agree within their spread
    benchmark.extra_info.update({"backend": backend, "first_s": first_seconds,
                                 "log_gain_mean": draws.mean(axis=0).tolist(), "log_gain_sd": draws.std(axis=0).tolist()})
    print(f"\n{backend}: first (compilation included) {first_seconds:.1f} s; log gain means "
          f"{np.round(draws.mean(axis=0), 3)} +- {np.round(draws.std(axis=0), 3)}")
