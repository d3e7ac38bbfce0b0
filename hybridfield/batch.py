"""Batch work over archives of records on Dask: the record list, the cluster, batches of tasks.

Archive-scale work (PTB-XL's 21,799 records, the Challenge 2021 set's 88,253, MIMIC-IV-ECG's
~800,000) runs as one Dask task per *batch* of records, never one per record, so the scheduler's
per-task overhead (about a millisecond) stays small against the work of a task (a record takes
about 0.5 s to prepare, segment and fit):

- :func:`record_paths`: the WFDB records of an archive's folder
  (:func:`hybridfield.archives.find_records`: PTB-XL's 500 Hz records from its CSV, every
  ``*.hea`` of a Challenge 2021, MIMIC-IV-ECG or plain WFDB tree);
- :func:`batches`: records cut into batches of a fixed size;
- :func:`dask_client`: a ``dask.distributed.Client`` from a scheduler address, an existing client,
  or a local cluster on this machine's cores (one single-threaded worker process per core);
- :func:`map_batches`: a function over batches on that client (or serially in this process with
  ``scheduler="synchronous"``), results in completion order, with one progress line per batch.

Dask is imported inside these functions only: ``import hybridfield`` does not import it.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "record_paths", "batches", "dask_client", "map_batches", "add_scheduler_arguments", "scheduler_option",
    "SYNCHRONOUS", "WORKER_ENVIRONMENT",
]

#: The ``scheduler`` value that runs batches one after another in this process, without Dask.
SYNCHRONOUS = "synchronous"

#: Environment of local worker processes: one thread per worker for the numerical libraries, so
#: ``n_workers`` processes on ``n_workers`` cores do not oversubscribe them.
WORKER_ENVIRONMENT: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def record_paths(folder: str | os.PathLike[str], *, layout: str = "auto") -> list[Path]:
    """The WFDB records of an archive's folder (:func:`hybridfield.archives.find_records`).

    Parameters
    ----------
    folder : str or path-like
        Top of the archive (PTB-XL's folder with ``ptbxl_database.csv``, a Challenge 2021
        ``training/`` folder, MIMIC-IV-ECG's ``files/``...) or any folder of ``*.hea`` headers.
    layout : str
        ``find_records``' layout (``"auto"`` detects it; PTB-XL gives its 500 Hz records).

    Returns
    -------
    paths : list of Path
        Record paths without suffix (what :func:`hybridfield.read_wfdb` takes), in
        ``find_records``' order (folders and names sorted, or the archive's CSV order).

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a directory or holds no record.
    """
    from .archives import find_records

    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a str or path-like, got {type(folder).__name__} {folder!r}")
    paths = [Path(entry.path) for entry in find_records(folder, layout=layout)]
    if not paths:
        raise FileNotFoundError(f"folder {str(folder)!r} holds no WFDB record (no *.hea file under it)")
    return paths


def batches(items: Sequence[Any], batch_size: int) -> list[list[Any]]:
    """Consecutive batches of at most ``batch_size`` items.

    Parameters
    ----------
    items : sequence
        Items (record paths).
    batch_size : int
        Items per batch, >= 1.

    Returns
    -------
    batches : list of list
        ``ceil(len(items) / batch_size)`` batches, in order.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return [list(items[k : k + batch_size]) for k in range(0, len(items), batch_size)]


@contextmanager
def dask_client(scheduler: Any = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for batch work, closed on exit if made here.

    Parameters
    ----------
    scheduler : dask.distributed.Client, str or None
        An existing client (used as is, left open), a scheduler address (``"tcp://host:8786"``),
        or None for a local cluster of ``n_workers`` single-threaded worker processes
        (:data:`WORKER_ENVIRONMENT`), without dashboard.
    n_workers : int, optional
        Workers of the local cluster (default: the machine's cores); ignored otherwise.

    Yields
    ------
    client : dask.distributed.Client
    """
    from dask.distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(
            f"scheduler must be a dask.distributed.Client, a scheduler address string, {SYNCHRONOUS!r} or None, "
            f"got {type(scheduler).__name__} {scheduler!r}"
        )
    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
        return
    workers = (os.cpu_count() or 1) if n_workers is None else n_workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        env=dict(WORKER_ENVIRONMENT), silence_logs=40,
    ) as cluster, Client(cluster) as client:
        yield client


def map_batches(
    function: Callable[..., Any],
    work: Sequence[Any],
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    progress: bool = True,
    describe: Callable[[Any], str] | None = None,
    label: str = "batch",
    one_thread_per_process: bool = False,
    **shared: Any,
) -> Iterator[tuple[int, Any]]:
    """Run ``function(batch, **shared)`` for every batch, on Dask or serially; results as they finish.

    Parameters
    ----------
    function : callable
        A module-level function (pickled to the workers) taking one batch and the ``shared``
        keywords. Per-record failures should be caught inside and returned: an exception
        escaping it stops the run.
    work : sequence
        The batches (:func:`batches`).
    scheduler : dask.distributed.Client, str or None
        Where to run (:func:`dask_client`); ``"synchronous"`` runs the batches in order in this
        process without Dask.
    n_workers : int, optional
        Workers of a local cluster.
    progress : bool
        Print one line per finished batch (count, elapsed time, rate, ``describe(result)``).
    describe : callable, optional
        A short description of a batch's result for the progress line.
    label : str
        Name of a batch in the progress lines.
    one_thread_per_process : bool
        ``function`` must not run in two threads of one process at once: refuse a cluster whose
        workers run several threads or share a process. The physics of hybridfield is such a
        function: the forward model's Numba kernels (``parallel=True``) corrupt memory or give
        wrong values when called from concurrent threads (measured: an abort in
        ``record_heart_vector``, predictions off by 0.02 mV), so records go to single-threaded
        worker processes (``dask worker --nthreads 1``; :func:`dask_client`'s local cluster).
    **shared
        Keyword arguments passed to every call (scattered once to the workers).

    Yields
    ------
    index : int
        Position of the batch in ``work``.
    result : object
        What ``function`` returned for it.
    """
    total = len(work)
    started = time.perf_counter()

    def report(done: int, result: Any) -> None:
        if progress:
            elapsed = time.perf_counter() - started
            extra = f": {describe(result)}" if describe is not None else ""
            print(f"{label} {done}/{total}{extra} ({elapsed:.1f} s, {done / max(elapsed, 1e-9):.2f} {label}es/s)", flush=True)

    if total == 0:
        return
    if isinstance(scheduler, str) and scheduler == SYNCHRONOUS:
        for index, batch in enumerate(work):
            result = function(batch, **shared)
            report(index + 1, result)
            yield index, result
        return
    from dask.distributed import as_completed

    with dask_client(scheduler, n_workers=n_workers) as client:
        if one_thread_per_process:
            _check_one_thread_per_process(client)
        # each shared value once per worker (a list inside a list, so Dask does not scatter its items)
        scattered = {name: client.scatter([value], broadcast=True)[0] for name, value in shared.items()}
        futures = client.map(function, list(work), pure=False, **scattered)
        position = {future.key: index for index, future in enumerate(futures)}
        try:
            for done, (future, result) in enumerate(as_completed(futures, with_results=True), start=1):
                report(done, result)
                yield position[future.key], result
        finally:
            client.cancel(futures)


def _check_one_thread_per_process(client: Any) -> None:
    """Raise if the client's workers run several threads or share a process."""
    threads = client.nthreads()
    processes = client.run(os.getpid)
    crowded = {worker: n for worker, n in threads.items() if n > 1}
    shared = len(set(processes.values())) < len(processes)
    if crowded or shared:
        raise ValueError(
            "scheduler: this work needs single-threaded worker processes (hybridfield's Numba kernels are not "
            "safe in concurrent threads), but "
            + (f"workers {sorted(crowded)} run {sorted(set(crowded.values()))} threads" if crowded else "workers share a process")
            + "; start workers with `dask worker --nthreads 1` or LocalCluster(processes=True, threads_per_worker=1)"
        )


def add_scheduler_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler``, ``--workers`` and ``--batch-size`` (records per Dask task).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--scheduler", default=None,
        help="Dask scheduler address (tcp://host:8786), 'synchronous' (this process, no Dask), "
             "or omitted for a local cluster on this machine's cores",
    )
    parser.add_argument("--workers", type=int, default=None, help="workers of the local cluster (default: the cores)")
    parser.add_argument("--batch-size", type=int, default=32, help="records per task (default: %(default)s)")


def scheduler_option(arguments: argparse.Namespace) -> str | None:
    """The ``scheduler`` argument of the batch functions from :func:`add_scheduler_arguments`.

    Parameters
    ----------
    arguments : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    scheduler : str or None
        An address, ``"synchronous"``, or None for a local cluster.
    """
    return arguments.scheduler or None
