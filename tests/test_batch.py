"""Batch work on Dask: record lists, batches, the client, and a store built on 2 worker processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridfield.batch import SYNCHRONOUS, batches, dask_client, map_batches, record_paths
from hybridfield.cycle_store import CYCLE_FIELDS, build_cycle_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cinc2021"
RECORDS = [str(DATA / name) for name in ("E07501", "E07502")]


def test_record_paths_are_every_header_under_a_folder(tmp_path: Path) -> None:
    for name in ("b/r2.hea", "a/r1.hea", "r0.hea", "a/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = record_paths(tmp_path)
    assert sorted(found) == [tmp_path / "a" / "r1", tmp_path / "b" / "r2", tmp_path / "r0"]
    from hybridfield.archives import find_records

    assert found == [Path(entry.path) for entry in find_records(tmp_path)]
    with pytest.raises(FileNotFoundError, match="holds no WFDB record"):
        (tmp_path / "empty").mkdir()
        record_paths(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        record_paths(tmp_path / "missing")
    with pytest.raises(TypeError, match="folder"):
        record_paths(3)  # type: ignore[arg-type]


def test_batches() -> None:
    assert batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batches([], 3) == []
    with pytest.raises(ValueError, match="batch_size"):
        batches([1], 0)


def test_synchronous_batches_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    results = list(map_batches(sum, [[1, 2], [3], [4, 5, 6]], scheduler=SYNCHRONOUS, describe=str, label="batch"))
    assert results == [(0, 3), (1, 3), (2, 15)]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("batch 3/3: 15 (")


def test_scheduler_errors_name_the_parameter() -> None:
    with pytest.raises(TypeError, match="scheduler"):
        with dask_client(3.5):
            pass
    with pytest.raises(ValueError, match="n_workers"):
        with dask_client(None, n_workers=0):
            pass


def test_client_and_address_run_the_batches() -> None:
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        work = [[1, 2], [3], [4, 5, 6], [7]]
        assert sorted(map_batches(sum, work, scheduler=client, progress=False)) == [(0, 3), (1, 3), (2, 15), (3, 7)]
        assert client.submit(sum, [1, 2]).result() == 3  # a client passed in stays open
        by_address = dict(map_batches(len, work, scheduler=cluster.scheduler_address, progress=False))
        assert by_address == {0: 2, 1: 1, 2: 3, 3: 1}


def test_store_built_on_two_worker_processes_equals_the_serial_one(tmp_path: Path) -> None:
    serial = build_cycle_store(RECORDS, tmp_path / "serial", scheduler=SYNCHRONOUS, batch_size=1, progress=False)
    parallel = build_cycle_store(RECORDS, tmp_path / "parallel", n_workers=2, batch_size=1, progress=False)
    assert parallel.key == serial.key and parallel.record_names == serial.record_names
    expected, got = serial.read(), parallel.read()
    for name in CYCLE_FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
