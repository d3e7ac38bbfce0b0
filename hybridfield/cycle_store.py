"""An on-disk store of Nef-Net protocol cycles (zarr), built in parallel and keyed by its contract.

:func:`build_cycle_store` cuts the cycles of every record of an archive exactly as
:func:`hybridfield.real_cycles` does (each record read, prepared and segmented once; inputs,
targets and the physical projection with the population prior), in batches of records on Dask
(:mod:`hybridfield.batch`), and writes them to a zarr directory store. :class:`CycleStore` reads
them back as a :class:`~hybridfield.CycleSet` or in slices (for a training ``DataLoader``,
:mod:`hybridfield.cycle_dataset`).

The store's **key** is a SHA-256 of its contract (:func:`store_contract`): the preprocessing
contract (:data:`hybridfield.PREPROCESSING`), the input and target leads, the cycle length and
the population model's identity (a SHA-256 of its parameters). The store lives at
``root / "cycles-<first 16 hex digits of the key>.zarr"`` (:func:`store_path`), so a run with the
same contract reuses it and a run with another contract writes another store.

Layout (zarr format 3, a directory store)::

    cycles-<key>.zarr/               attrs: format, key, contract, parts (in order), failures
        parts/<part id>/             one per batch of records; attrs: records (path, record,
                                     n_cycles, warnings), n_cycles
            inputs       (n, n_inputs, length) float32, mV
            input_angles (n, n_inputs, 2) float32, radians
            targets      (n, n_views, length) float32, mV
            target_angles(n, n_views, 2) float32, radians
            physical     (n, n_views, length) float32, mV
            regions      (n, length) int8
            lengths      (n,) int64, samples
            record       (n,) int64, index of the record within the part
            beat_minimum, beat_maximum (n,) float32, mV

A store grows: a run processes only the records it does not hold yet (neither stored nor listed
as failed; ``retry_failures`` tries the failed ones again), writes them as new parts and appends
them to the part list, so an interrupted run resumes where it stopped and a second run over the
same records reads everything back from disk. Records that give no cycle (unreadable, missing
leads, nothing delineated) are listed in the store's ``failures`` attribute with the reason.
Parts are written by the workers; the part list and failures only by the process that runs
:func:`build_cycle_store` (one build at a time per store).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cycles import CycleSet
from .leads import STANDARD_LEADS, canonical_lead_name
from .preparation import PREPROCESSING

__all__ = [
    "CycleStore",
    "build_cycle_store",
    "open_cycle_store",
    "store_contract",
    "store_key",
    "store_path",
    "population_identity",
    "STORE_FORMAT",
    "CYCLE_FIELDS",
]

#: Format tag of a cycle store (saved in its attributes and in the contract).
STORE_FORMAT = "hybridfield.CycleStore/1"

#: Per-cycle arrays of a part, in :class:`~hybridfield.CycleSet`'s names.
CYCLE_FIELDS = (
    "inputs", "input_angles", "targets", "target_angles", "physical", "regions", "lengths", "record",
    "beat_minimum", "beat_maximum",
)

# seconds between two rewrites of the store's part list and failures during a build
_FLUSH_SECONDS = 5.0


def population_identity(population: Any = None) -> str:
    """SHA-256 of a population model's parameters (its JSON form, keys sorted).

    Parameters
    ----------
    population : PopulationModel, optional
        The heart-vector prior (default: the bundled one).

    Returns
    -------
    identity : str
        64 hex digits.
    """
    from .population import PopulationModel, default_population_model

    population = default_population_model() if population is None else population
    if not isinstance(population, PopulationModel):
        raise TypeError(f"population must be a hybridfield.PopulationModel or None, got {type(population).__name__}")
    text = json.dumps(population.to_dict(), sort_keys=True, default=float)
    return hashlib.sha256(text.encode()).hexdigest()


def store_contract(
    inputs: Sequence[str] = ("I", "II", "V5"),
    targets: Sequence[str] = STANDARD_LEADS,
    population: Any = None,
    length: int | None = None,
) -> dict[str, Any]:
    """The contract a cycle store is keyed by.

    Parameters
    ----------
    inputs : sequence of str
        Input leads.
    targets : sequence of str
        Query leads whose truth is kept.
    population : PopulationModel, optional
        Heart-vector prior of the physical projection (default: the bundled one).
    length : int, optional
        Padded cycle length, samples (default ``PREPROCESSING["cycle_length"]``).

    Returns
    -------
    contract : dict
        JSON-serialisable: ``format``, ``preprocessing``, ``inputs``, ``targets``,
        ``cycle_length``, ``population_sha256``.
    """
    for name, value in (("inputs", inputs), ("targets", targets)):
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0:
            raise ValueError(f"{name} must be a non-empty sequence of lead names, got {value!r}")
    length = int(PREPROCESSING["cycle_length"]) if length is None else length
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer (samples), got {length!r}")
    return {
        "format": STORE_FORMAT,
        "preprocessing": json.loads(json.dumps(PREPROCESSING)),
        "inputs": [canonical_lead_name(n) for n in inputs],
        "targets": [canonical_lead_name(n) for n in targets],
        "cycle_length": int(length),
        "population_sha256": population_identity(population),
    }


def store_key(contract: dict[str, Any]) -> str:
    """SHA-256 of a contract (:func:`store_contract`), keys sorted.

    Parameters
    ----------
    contract : dict
        The contract.

    Returns
    -------
    key : str
        64 hex digits.
    """
    return hashlib.sha256(json.dumps(contract, sort_keys=True).encode()).hexdigest()


def store_path(root: str | os.PathLike[str], contract: dict[str, Any]) -> Path:
    """Where the store of a contract lives under ``root``.

    Parameters
    ----------
    root : str or path-like
        Folder of cycle stores.
    contract : dict
        The contract (:func:`store_contract`).

    Returns
    -------
    path : Path
        ``root / "cycles-<first 16 hex digits of the key>.zarr"``.
    """
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a str or path-like folder, got {type(root).__name__} {root!r}")
    return Path(root) / f"cycles-{store_key(contract)[:16]}.zarr"


class CycleStore:
    """A cycle store on disk (open it with :func:`open_cycle_store`).

    Parameters
    ----------
    path : str or path-like
        The store's directory (``cycles-<key>.zarr``).

    Attributes
    ----------
    path : Path
        The store's directory.
    key : str
        SHA-256 of the contract.
    contract : dict
        :func:`store_contract`.
    input_names, target_names : tuple of str
        Input leads and query views of every cycle.
    records : list of dict
        One per stored record, in store order: ``path``, ``record`` (its name), ``n_cycles``,
        ``warnings`` (its :class:`~hybridfield.quality.RecordQualityWarning` messages; see
        :attr:`flagged`).
    failures : list of dict
        Records that gave no cycle: ``path``, ``error``.
    """

    def __init__(self, path: str | os.PathLike[str]):
        import zarr

        self.path = Path(path)
        if not (self.path / "zarr.json").is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a cycle store (no zarr.json)")
        attributes = dict(zarr.open_group(str(self.path), mode="r").attrs)
        if attributes.get("format") != STORE_FORMAT:
            raise ValueError(f"{str(self.path)!r} is not a cycle store (format {attributes.get('format')!r}, expected {STORE_FORMAT!r})")
        self.key: str = attributes["key"]
        self.contract: dict[str, Any] = attributes["contract"]
        self.input_names = tuple(self.contract["inputs"])
        self.target_names = tuple(self.contract["targets"])
        self.failures: list[dict[str, str]] = list(attributes.get("failures", []))
        self._parts: list[str] = list(attributes.get("parts", []))
        self.records: list[dict[str, Any]] = []
        counts, record_counts = [], []
        for part in self._parts:
            meta = dict(zarr.open_group(str(self.path / "parts" / part), mode="r").attrs)
            self.records += meta["records"]
            counts.append(int(meta["n_cycles"]))
            record_counts.append(len(meta["records"]))
        self._offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        self._record_offsets = np.concatenate([[0], np.cumsum(record_counts, dtype=np.int64)]).astype(np.int64)
        self._arrays: dict[tuple[int, str], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"] = {}  # zarr handles are reopened in each process
        return state

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @property
    def record_names(self) -> tuple[str, ...]:
        """Names of the stored records, in store order (``CycleSet.record`` indexes them)."""
        return tuple(str(r["record"]) for r in self.records)

    @property
    def flagged(self) -> list[dict[str, Any]]:
        """Stored records that raised a quality warning (their cycles are kept; drop them if you wish)."""
        return [r for r in self.records if r.get("warnings")]

    @property
    def record_paths(self) -> list[str]:
        """Paths of the stored records, in store order."""
        return [str(r["path"]) for r in self.records]

    def _array(self, part: int, name: str) -> Any:
        import zarr

        handle = self._arrays.get((part, name))
        if handle is None:
            handle = zarr.open_array(str(self.path / "parts" / self._parts[part] / name), mode="r")
            self._arrays[(part, name)] = handle
        return handle

    def arrays(self, cycles: Any = None, fields: Sequence[str] = CYCLE_FIELDS) -> dict[str, np.ndarray]:
        """Per-cycle arrays of the chosen cycles, read from disk.

        Parameters
        ----------
        cycles : (k,) int array_like, slice or None
            Cycles in store order (any order, repeats allowed); None: all.
        fields : sequence of str
            Arrays to read (:data:`CYCLE_FIELDS`).

        Returns
        -------
        arrays : dict of str to ndarray
            Each ``(k, ...)`` as in :class:`~hybridfield.CycleSet`; ``record`` indexes
            :attr:`record_names`.
        """
        unknown = [f for f in fields if f not in CYCLE_FIELDS]
        if unknown:
            raise ValueError(f"fields {unknown} are not cycle arrays ({', '.join(CYCLE_FIELDS)})")
        n = len(self)
        if cycles is None:
            index = np.arange(n)
        elif isinstance(cycles, slice):
            index = np.arange(n)[cycles]
        else:
            index = np.asarray(cycles)
            if index.size == 0:
                index = index.astype(np.int64)
            if index.dtype == bool or not np.issubdtype(index.dtype, np.integer):
                raise ValueError(f"cycles must be integer indices, a slice or None, got dtype {index.dtype}")
            index = index.reshape(-1)
            if index.size and (index.min() < -n or index.max() >= n):
                raise IndexError(f"cycles must lie in [-{n}, {n}) for a store of {n} cycles")
            index = np.where(index < 0, index + n, index)
        parts = np.searchsorted(self._offsets, index, side="right") - 1
        out: dict[str, np.ndarray] = {}
        for part in np.unique(parts):
            where = np.flatnonzero(parts == part)
            local = index[where] - self._offsets[part]
            unique, inverse = np.unique(local, return_inverse=True)
            for name in fields:
                handle = self._array(int(part), name)
                values = handle.oindex[unique][inverse]
                if name == "record":
                    values = values + self._record_offsets[part]
                if name not in out:
                    out[name] = np.empty((len(index), *handle.shape[1:]), dtype=handle.dtype)
                out[name][where] = values
        for name in fields:  # an empty selection
            if name not in out:
                handle = self._array(0, name) if self._parts else None
                shape = handle.shape[1:] if handle is not None else ()
                out[name] = np.empty((0, *shape), dtype=handle.dtype if handle is not None else np.float32)
        return out

    def read(self, cycles: Any = None) -> CycleSet:
        """Cycles as a :class:`~hybridfield.CycleSet` (all of them, or a selection).

        Parameters
        ----------
        cycles : (k,) int array_like, slice or None
            Cycles in store order; None: all.

        Returns
        -------
        cycles : CycleSet
            ``source="real"``; ``record_names`` are all the store's records.
        """
        if len(self) == 0:
            raise ValueError(f"cycle store {str(self.path)!r} holds no cycle")
        return CycleSet(
            **self.arrays(cycles), input_names=self.input_names, target_names=self.target_names,
            record_names=self.record_names, source="real",
        )

    def __repr__(self) -> str:
        return (
            f"<CycleStore | {len(self)} cycles of {len(self.records)} records ({len(self.failures)} failed, "
            f"{len(self.flagged)} flagged), "
            f"inputs {', '.join(self.input_names)}, {len(self.target_names)} views, key {self.key[:16]}>"
        )


def open_cycle_store(path: str | os.PathLike[str]) -> CycleStore:
    """Open a cycle store.

    Parameters
    ----------
    path : str or path-like
        The store's directory (``cycles-<key>.zarr``, :func:`store_path`).

    Returns
    -------
    store : CycleStore
    """
    return CycleStore(path)


def _cycle_batch(
    paths: Sequence[str],
    *,
    store: str,
    inputs: Sequence[str],
    targets: Sequence[str],
    population: Any,
    length: int,
) -> dict[str, Any]:
    """Read, prepare and cut the cycles of a batch of records; write them as one part of the store."""
    import zarr

    from .cycles import real_cycles
    from .io import read_wfdb
    from .population import default_population_model
    from .quality import quality_messages

    started = time.perf_counter()
    population = default_population_model() if population is None else population
    sets, records, failures = [], [], []
    for path in paths:
        try:
            # quality warnings are kept with the record (``warnings``), the others dropped
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ecg = read_wfdb(path)
                cycles = real_cycles([ecg], inputs=inputs, targets=targets, population=population, length=length)
        except ValueError as error:
            if "no record gave usable cycles" in str(error):
                failures.append({"path": str(path), "error": "missing or unusable leads, or no detected beat"})
            else:
                failures.append({"path": str(path), "error": f"ValueError: {error}"})
            continue
        except Exception as error:  # noqa: BLE001 - any record-level failure is listed, never silent
            failures.append({"path": str(path), "error": f"{type(error).__name__}: {error}"})
            continue
        sets.append(cycles)
        records.append({
            "path": str(path), "record": cycles.record_names[0], "n_cycles": len(cycles), "warnings": quality_messages(caught),
        })
    part = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:16]
    n_cycles = 0
    if sets:
        stacked = CycleSet.concatenate(sets)
        n_cycles = len(stacked)
        group = zarr.open_group(str(Path(store) / "parts" / part), mode="w")
        for name in CYCLE_FIELDS:
            values = getattr(stacked, name)
            group.create_array(name, data=values, chunks=(min(16, n_cycles), *values.shape[1:]), overwrite=True)
        group.attrs.update({"records": records, "n_cycles": n_cycles})
    return {
        "part": part if sets else None, "records": records, "failures": failures, "n_cycles": n_cycles,
        "n_paths": len(paths), "seconds": time.perf_counter() - started,
    }


def build_cycle_store(
    records: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    root: str | os.PathLike[str],
    *,
    inputs: Sequence[str] = ("I", "II", "V5"),
    targets: Sequence[str] = STANDARD_LEADS,
    population: Any = None,
    length: int | None = None,
    batch_size: int = 32,
    scheduler: Any = None,
    n_workers: int | None = None,
    retry_failures: bool = False,
    progress: bool = True,
) -> CycleStore:
    """Cut the cycles of an archive's records in parallel into the store of their contract.

    Each record is read (:func:`hybridfield.read_wfdb`), prepared and segmented once and cut as
    :func:`hybridfield.real_cycles` cuts it (inputs, targets, physical projection with the
    population prior), in batches of ``batch_size`` records per Dask task. Records already in
    the store (stored or failed) are skipped.

    Parameters
    ----------
    records : str, path-like or sequence of them
        An archive's folder (its records by :func:`hybridfield.archives.find_records`, through
        :func:`hybridfield.batch.record_paths`) or record paths.
    root : str or path-like
        Folder of cycle stores; the store is ``root / "cycles-<key>.zarr"`` (:func:`store_path`).
    inputs : sequence of str
        Input leads.
    targets : sequence of str
        Query leads whose truth is kept.
    population : PopulationModel, optional
        Heart-vector prior (default: the bundled one); part of the key.
    length : int, optional
        Padded cycle length, samples (default ``PREPROCESSING["cycle_length"]``).
    batch_size : int
        Records per task.
    scheduler : dask.distributed.Client, str or None
        A client, a scheduler address, None for a local cluster on this machine's cores, or
        ``"synchronous"`` to run in this process (:func:`hybridfield.batch.map_batches`).
    n_workers : int, optional
        Workers of a local cluster (default: the cores).
    retry_failures : bool
        Process records listed as failed again.
    progress : bool
        One line per batch (records, cycles, failures, rate).

    Returns
    -------
    store : CycleStore
        The whole store (records of earlier runs included).
    """
    import zarr

    from .batch import batches, map_batches, record_paths

    if isinstance(records, (str, os.PathLike)):
        paths = [str(p) for p in record_paths(records)]
    elif isinstance(records, Sequence) and all(isinstance(p, (str, os.PathLike)) for p in records):
        paths = [str(Path(p).with_suffix("")) if Path(p).suffix == ".hea" else str(p) for p in records]
    else:
        raise TypeError(f"records must be a folder or a sequence of record paths, got {type(records).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    contract = store_contract(inputs, targets, population, length)
    path = store_path(root, contract)
    group = zarr.open_group(str(path), mode="a")
    attributes = dict(group.attrs)
    if not attributes:
        attributes = {"format": STORE_FORMAT, "key": store_key(contract), "contract": contract, "parts": [], "failures": []}
        group.attrs.update(attributes)
    elif attributes.get("key") != store_key(contract):
        raise ValueError(f"{str(path)!r} holds a store of another contract (key {attributes.get('key')!r})")
    existing = CycleStore(path)
    done = set(existing.record_paths)
    failures = [f for f in existing.failures if not retry_failures]
    done |= {f["path"] for f in failures}
    todo = list(dict.fromkeys(p for p in paths if p not in done))
    parts = list(attributes["parts"])
    if progress:
        print(f"cycle store {path}: {len(existing.records)} records stored, {len(paths) - len(todo)} of "
              f"{len(paths)} requested already done, {len(todo)} to process in batches of {batch_size}", flush=True)

    def describe(result: dict[str, Any]) -> str:
        flagged = sum(bool(r["warnings"]) for r in result["records"])
        return f"{len(result['records'])} records ({flagged} flagged), {result['n_cycles']} cycles, {len(result['failures'])} failed"

    last_flush = time.perf_counter()
    stored, written = list(parts), {}  # new parts by batch: the store keeps the batches' order
    try:
        for index, result in map_batches(
            _cycle_batch, batches(todo, batch_size), scheduler=scheduler, n_workers=n_workers, progress=progress,
            one_thread_per_process=True, describe=describe, store=str(path), inputs=contract["inputs"],
            targets=contract["targets"], population=population, length=contract["cycle_length"],
        ):
            if result["part"] is not None and result["part"] not in stored:
                written[index] = result["part"]
            failures += result["failures"]
            if time.perf_counter() - last_flush > _FLUSH_SECONDS:
                group.attrs.update({"parts": stored + [written[k] for k in sorted(written)], "failures": failures})
                last_flush = time.perf_counter()
    finally:
        group.attrs.update({"parts": stored + [written[k] for k in sorted(written)], "failures": failures})
    store = CycleStore(path)
    if progress:
        print(f"{store!r}", flush=True)
    return store
