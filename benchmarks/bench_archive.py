"""Benchmarks of archive-scale work: preprocessing on Dask, the cycle store, training, prediction.

On the 35 shared PhysioNet Challenge 2021 records (mostly 10 s at 500 Hz; some give no cycle with
I, II, V5):

- preprocessing into a cycle store (:func:`hybridfield.cycle_store.build_cycle_store`), records
  per second: serially in this process (numerical libraries with their default threads), and on
  local Dask clusters of 1 and of 2 single-threaded worker processes (started and warmed once,
  outside the timing; batches of 4 records). The speed-up of Dask is 2 workers against 1: on a
  busy 2-core machine, one thread per process is itself 2-5x faster per record than the default
  threads of OpenBLAS and of the forward model's parallel Numba kernels;
- reading the store: all cycles at once, and one shuffled epoch through the training
  ``DataLoader`` (batches of 16, read in this process), cycles per second (a random batch costs
  one zarr read per part and array it touches, about a millisecond each, whatever the chunk
  size: ``num_workers`` of the loader reads in parallel);
- training: one epoch of :func:`hybridfield.distributed.train_distributed` of the default-size
  hybrid NefNet from the store on this process, cycles per second;
- prediction of a folder (:func:`hybridfield.archive_prediction.predict_folder`, 3 views) on the
  same 2-worker cluster, records per second, without and with 90 % posterior bands.

``-s`` prints the medians and the extrapolation to PTB-XL (21,799 records). Timings are only
comparable on an otherwise idle machine. Run with
``python -m pytest benchmarks/bench_archive.py -q -s --benchmark-only``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("zarr")
torch = pytest.importorskip("torch")

from hybridfield.archive_prediction import predict_folder  # noqa: E402
from hybridfield.cycle_dataset import CycleStoreDataset, cycle_loader  # noqa: E402
from hybridfield.cycle_store import CycleStore, build_cycle_store  # noqa: E402
from hybridfield.distributed import train_distributed  # noqa: E402
from hybridfield.nefnet import NefNet, NefNetConfig  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cinc2021"
RECORDS = [str(p.with_suffix("")) for p in sorted(DATA.glob("*.hea"))]
PTBXL_RECORDS = 21_799
VIEWS = ["V1", "V4", (1.2, 2.0)]
_RESULTS: dict[str, float] = {}
_counter = itertools.count()


def _cluster(n_workers: int) -> Any:
    """A local cluster of single-threaded worker processes, warmed (models loaded) once."""
    from dask.distributed import Client, LocalCluster

    from hybridfield.batch import WORKER_ENVIRONMENT

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=dict(WORKER_ENVIRONMENT), silence_logs=40) as local, Client(local) as client:
        client.run(_warm)
        yield client


@pytest.fixture(scope="module")
def cluster() -> Any:
    """2 single-threaded worker processes."""
    yield from _cluster(2)


@pytest.fixture(scope="module")
def cluster1() -> Any:
    """1 single-threaded worker process."""
    yield from _cluster(1)


@pytest.fixture(scope="module", autouse=True)
def summary() -> Any:
    """Print the medians and the extrapolation to PTB-XL after the benchmarks (with ``-s``)."""
    yield
    _print_summary()


def _warm() -> None:
    """Load the population model, lead vectors and the pretrained hybrid in a worker."""
    from hybridfield import HybridPanorama, default_population_model

    default_population_model()
    HybridPanorama.pretrained()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CycleStore:
    return build_cycle_store(RECORDS, tmp_path_factory.mktemp("store"), scheduler="synchronous", progress=False)


def _fresh_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"root{next(_counter)}")


def _time_preprocessing(
    benchmark: Any, tmp_path_factory: pytest.TempPathFactory, result_name: str, scheduler: Any, **options: Any
) -> None:
    """Benchmark building a fresh store of RECORDS on ``scheduler``; records/s go to _RESULTS[result_name]."""
    result = benchmark.pedantic(
        lambda root: build_cycle_store(RECORDS, root, scheduler=scheduler, progress=False, **options),
        setup=lambda: ((_fresh_root(tmp_path_factory),), {}), rounds=3,
    )
    assert len(result.records) + len(result.failures) == len(RECORDS)
    _RESULTS[result_name] = len(RECORDS) / benchmark.stats.stats.median


def test_preprocess_serial(benchmark: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _warm()
    _time_preprocessing(benchmark, tmp_path_factory, "preprocess_serial", "synchronous")


def test_preprocess_dask_one_worker(benchmark: Any, cluster1: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _time_preprocessing(benchmark, tmp_path_factory, "preprocess_dask1", cluster1, batch_size=4)


def test_preprocess_dask_two_workers(benchmark: Any, cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _time_preprocessing(benchmark, tmp_path_factory, "preprocess_dask2", cluster, batch_size=4)


def test_store_read_all(benchmark: Any, store: CycleStore) -> None:
    cycles = benchmark(store.read)
    assert len(cycles) == len(store)
    _RESULTS["read_all"] = len(store) / benchmark.stats.stats.median


def test_store_read_shuffled_epoch(benchmark: Any, store: CycleStore) -> None:
    loader = cycle_loader(CycleStoreDataset(store), batch_size=16, random_seed=0)

    def epoch() -> int:
        return sum(len(batch) for batch in loader)

    assert benchmark(epoch) == len(store)
    _RESULTS["read_loader"] = len(store) / benchmark.stats.stats.median


def test_training_epoch(benchmark: Any, store: CycleStore) -> None:
    def one_epoch() -> list[dict[str, float]]:
        torch.manual_seed(0)
        return train_distributed(store, NefNet(NefNetConfig()), epochs=1, batch_size=16, progress=False)

    history = benchmark.pedantic(one_epoch, rounds=3)
    assert history[0]["cycles"] == len(store)
    _RESULTS["train"] = len(store) / benchmark.stats.stats.median
    _RESULTS["cycles_per_record"] = len(store) / len(store.records)


def test_predict_folder_two_workers(benchmark: Any, cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    dataset = benchmark.pedantic(
        lambda root: predict_folder(RECORDS, VIEWS, output=root / "virtual.zarr", scheduler=cluster, batch_size=4,
                                    progress=False),
        setup=lambda: ((_fresh_root(tmp_path_factory),), {}), rounds=3,
    )
    assert dataset.sizes["record"] == len(RECORDS)
    _RESULTS["predict_dask2"] = len(RECORDS) / benchmark.stats.stats.median


def test_predict_folder_with_bands_two_workers(benchmark: Any, cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same with each view's 90 % posterior band (200 Laplace draws per record)."""
    dataset = benchmark.pedantic(
        lambda root: predict_folder(RECORDS, VIEWS, output=root / "bands.zarr", scheduler=cluster, batch_size=4,
                                    bands=0.9, band_draws=200, progress=False),
        setup=lambda: ((_fresh_root(tmp_path_factory),), {}), rounds=3,
    )
    assert dataset.sizes["record"] == len(RECORDS) and "lower" in dataset
    _RESULTS["predict_bands_dask2"] = len(RECORDS) / benchmark.stats.stats.median


def _print_summary() -> None:
    """The medians and the extrapolation to PTB-XL."""
    r = _RESULTS
    if not {"preprocess_serial", "preprocess_dask1", "preprocess_dask2", "train", "read_loader"} <= set(r):
        return
    speedup = r["preprocess_dask2"] / r["preprocess_dask1"]
    cycles = PTBXL_RECORDS * r["cycles_per_record"]
    print("\narchive benchmarks (medians)")
    print(f"  preprocessing serial, this process  {r['preprocess_serial']:8.2f} records/s")
    print(f"  preprocessing Dask, 1 worker        {r['preprocess_dask1']:8.2f} records/s")
    print(f"  preprocessing Dask, 2 workers       {r['preprocess_dask2']:8.2f} records/s  ({speedup:.2f}x 1 worker)")
    print(f"  store read, all at once             {r['read_all']:8.0f} cycles/s")
    print(f"  store read, shuffled loader         {r['read_loader']:8.0f} cycles/s")
    print(f"  training, 1 process                 {r['train']:8.1f} cycles/s per epoch")
    if "predict_dask2" in r:
        print(f"  prediction Dask, 2 workers          {r['predict_dask2']:8.2f} records/s")
    if "predict_bands_dask2" in r:
        print(f"  prediction + 90 % bands, 2 workers  {r['predict_bands_dask2']:8.2f} records/s")
    efficiency = min(speedup / 2, 1.0)
    print(f"PTB-XL ({PTBXL_RECORDS} records, ~{cycles:,.0f} cycles at {r['cycles_per_record']:.1f} per record):")
    print(f"  preprocessing: {PTBXL_RECORDS / r['preprocess_serial'] / 60:.0f} min serial in one process, "
          f"{PTBXL_RECORDS / r['preprocess_dask1'] / 60:.0f} min on 1 worker, "
          f"{PTBXL_RECORDS / r['preprocess_dask2'] / 60:.0f} min on 2 workers")
    for n in (8, 32, 128):
        print(f"  preprocessing on {n} workers (at {efficiency:.0%} of linear): "
              f"{PTBXL_RECORDS / (r['preprocess_dask1'] * n * efficiency) / 60:.1f} min")
    print(f"  training: {cycles / r['train'] / 60:.0f} min per epoch on 1 process of this machine; "
          f"on N processes about that / N (gradients averaged once per step)")
