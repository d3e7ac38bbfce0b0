"""Virtual leads for every record of an archive, in parallel on Dask, into one zarr dataset.

:func:`predict_folder` runs :meth:`HybridPanorama.predict <hybridfield.HybridPanorama.predict>`
of the pretrained hybrid (or of saved weights) on every WFDB record of a folder, in batches of
records per Dask task (:mod:`hybridfield.batch`), and writes the virtual leads to a zarr store
that ``xarray.open_zarr`` reads (zarr format 2, consolidated metadata):

- ``virtual`` (record, view, time) float32, mV: each record's prediction on the prepared time
  base (500 Hz), NaN after its end (records of different lengths are padded with NaN);
- ``length`` (record,) int64, samples: where each record's prediction ends (0 for a failure);
- ``flagged`` (record,) bool: the record was predicted but raised a
  :class:`~hybridfield.quality.RecordQualityWarning` (no trustworthy beats, as in noise);
- with ``bands=p``: ``lower`` and ``upper`` (record, view, time) float32, mV, the central ``p``
  posterior band of each view (:meth:`HybridPanorama.predict_posterior`, Laplace mode);
- coordinates ``record`` (the record's path relative to the folder, without suffix), ``view``
  (lead names, ``"view(90,130)"`` in degrees for angle pairs) and ``time`` (s); ``path``
  (record,) the record's path; ``theta``, ``phi`` (view,) radians, the views' Nef-Net angles;
- attributes: ``fs`` (Hz), ``units``, ``inputs``, ``weights``, ``preprocessing`` (the contract)
  ``failures`` (one ``{record, path, error}`` per record without a prediction, whose values
  stay NaN), ``flags`` (one ``{record, path, warnings}`` per flagged record) and ``bands``.

The time axis is as long as the longest record (from the headers, before any record is
predicted), or ``duration`` seconds for all records (longer records cut there). Each task writes
whole chunks of ``batch_size`` records, so workers never write the same chunk.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .leads import canonical_lead_name, parse_views
from .preparation import PREPROCESSING

__all__ = ["predict_folder", "prepared_length"]


def prepared_length(n_samples: int, fs: float) -> int:
    """Samples a record has once prepared at ``PREPROCESSING["fs"]`` (500 Hz).

    Parameters
    ----------
    n_samples : int
        Samples of the record as recorded.
    fs : float, Hz
        Its sampling rate.

    Returns
    -------
    n : int
        ``n_samples`` at 500 Hz, else ``ceil(n_samples * up / down)`` of the polyphase resampling
        (:func:`hybridfield.filters.resampling_ratio`).
    """
    from .filters import resampling_ratio

    target = float(PREPROCESSING["fs"])
    if abs(float(fs) - target) <= 1e-9:
        return int(n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ratio = resampling_ratio(float(fs), target)
    return int(math.ceil(n_samples * ratio.numerator / ratio.denominator))


def _header_lengths(paths: Sequence[str]) -> list[int | str]:
    """Prepared length of each record from its header, or the error that stopped reading it."""
    import wfdb

    out: list[int | str] = []
    for path in paths:
        try:
            header = wfdb.rdheader(str(path))
            out.append(prepared_length(int(header.sig_len), float(header.fs)))
        except Exception as error:  # noqa: BLE001 - listed as the record's failure
            out.append(f"{type(error).__name__}: {error}")
    return out


@lru_cache(maxsize=4)
def _model(weights: str | None) -> Any:
    from .panorama import HybridPanorama

    return HybridPanorama.pretrained() if weights is None else HybridPanorama.load(weights)


def _record_seed(random_seed: int, index: int) -> int:
    """A record's own posterior seed: the same for a record at the same place whatever the batching."""
    return int(np.random.SeedSequence([int(random_seed), int(index)]).generate_state(1)[0])


def _predict_batch(
    work: tuple[int, list[str], list[bool]],
    *,
    output: str,
    views: list[Any],
    inputs: list[str] | None,
    n_time: int,
    weights: str | None,
    probability: float | None = None,
    band_draws: int = 200,
    random_seed: int = 0,
) -> dict[str, Any]:
    """Predict one batch of records (those whose header was readable) and write its chunk of the output."""
    import zarr

    from .io import read_wfdb
    from .quality import quality_messages

    start, paths, readable = work
    started = time.perf_counter()
    model = _model(weights)
    shape = (len(paths), len(views), n_time)
    block = np.full(shape, np.nan, dtype=np.float32)
    bands = np.full((2, *shape), np.nan, dtype=np.float32) if probability is not None else None
    lengths = np.zeros(len(paths), dtype=np.int64)
    flagged = np.zeros(len(paths), dtype=bool)
    failures, flags = [], []
    for k, path in enumerate(paths):
        if not readable[k]:
            continue  # listed with its header's error already
        try:
            # every warning is caught; the quality warnings (no trustworthy beats, ...) are kept
            # beside the record's output instead of scrolling past
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                record = model._record(read_wfdb(path), warn=True)  # prepared and segmented once
                virtual = model.predict(record, views, inputs=inputs)
                if bands is not None:
                    posterior = model.predict_posterior(
                        record, views, inputs=inputs, draws=band_draws, random_seed=_record_seed(random_seed, start + k),
                        progressbar=False,
                    )
        except Exception as error:  # noqa: BLE001 - any record-level failure is listed, never silent
            failures.append({"index": start + k, "path": str(path), "error": f"{type(error).__name__}: {error}"})
            continue
        size = min(virtual.n_samples, n_time)
        block[k, :, :size] = virtual.signals[:, :size]
        if bands is not None:
            bands[:, k, :, :size] = np.stack(posterior.interval(probability))[:, :, :size]
        lengths[k] = size
        messages = quality_messages(caught)
        if messages:
            flagged[k] = True
            flags.append({"index": start + k, "path": str(path), "warnings": messages})
    root = Path(output)
    rows = slice(start, start + len(paths))
    zarr.open_array(str(root / "virtual"), mode="r+")[rows] = block
    zarr.open_array(str(root / "length"), mode="r+")[rows] = lengths
    zarr.open_array(str(root / "flagged"), mode="r+")[rows] = flagged
    if bands is not None:
        zarr.open_array(str(root / "lower"), mode="r+")[rows] = bands[0]
        zarr.open_array(str(root / "upper"), mode="r+")[rows] = bands[1]
    return {"n_paths": len(paths), "failures": failures, "flags": flags, "seconds": time.perf_counter() - started}


def predict_folder(
    folder: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    views: Sequence[Any],
    *,
    output: str | os.PathLike[str],
    inputs: Sequence[str] | None = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    batch_size: int = 16,
    duration: float | None = None,
    weights: str | os.PathLike[str] | None = None,
    bands: float | None = None,
    band_draws: int = 200,
    random_seed: int = 0,
    progress: bool = True,
) -> Any:
    """Virtual leads of the hybrid panorama for every record of a folder, written to a zarr store.

    Parameters
    ----------
    folder : str, path-like or sequence of them
        An archive's folder (its records by :func:`hybridfield.archives.find_records`) or record
        paths.
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs in radians (:meth:`HybridPanorama.predict`).
    output : str or path-like
        The zarr directory to write (replaced if it exists).
    inputs : sequence of str, optional
        Measured leads (default: the model's, I, II and V5 for the bundled one).
    scheduler : dask.distributed.Client, str or None
        A client, a scheduler address, None for a local cluster on this machine's cores, or
        ``"synchronous"`` to run in this process (:func:`hybridfield.batch.map_batches`).
    n_workers : int, optional
        Workers of a local cluster (default: the cores).
    batch_size : int
        Records per task (and per chunk of the output along ``record``).
    duration : float, s, optional
        Length of the time axis for every record (longer records are cut); default: the
        longest record's.
    weights : str or path-like, optional
        Saved :class:`~hybridfield.HybridPanorama` weights (default: the bundled ones).
    bands : float, optional
        Also write each view's central posterior band of this probability (0.9 for 90 %):
        ``lower`` and ``upper`` (record, view, time) mV, from
        :meth:`HybridPanorama.predict_posterior <hybridfield.HybridPanorama.predict_posterior>`
        (Laplace mode) on the same prepared record. None (default): no bands.
    band_draws : int
        Posterior draws per record for the bands.
    random_seed : int
        Seed of the bands; each record draws from its own stream (the seed and its index), so a
        record's bands do not depend on ``batch_size`` or the scheduler.
    progress : bool
        One line per batch.

    Returns
    -------
    dataset : xarray.Dataset
        The written store, opened lazily (``xarray.open_zarr(output)``): ``virtual`` (record,
        view, time) mV, NaN-padded, ``length`` (record,) samples, ``flagged`` (record,) bool (the
        record raised a :class:`~hybridfield.quality.RecordQualityWarning`; its messages are in
        ``attrs["flags"]``), ``lower``/``upper`` with ``bands``, failures in ``attrs``.
    """
    import xarray as xr
    import zarr

    from .batch import SYNCHRONOUS, batches, dask_client, map_batches, record_paths

    if isinstance(folder, (str, os.PathLike)):
        base = Path(folder)
        paths = [str(p) for p in record_paths(base)]
        ids = [Path(p).relative_to(base).as_posix() for p in paths]
    elif isinstance(folder, Sequence) and folder and all(isinstance(p, (str, os.PathLike)) for p in folder):
        paths = [str(Path(p).with_suffix("")) if Path(p).suffix == ".hea" else str(p) for p in folder]
        common = Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
        ids = [Path(p).relative_to(common).as_posix() for p in paths]
    else:
        raise TypeError(f"folder must be a folder or a non-empty sequence of record paths, got {folder!r}")
    if len(set(ids)) != len(ids):
        raise ValueError("folder names the same record more than once")
    names, angles, _ = parse_views(list(views), parameter="views")
    if isinstance(inputs, str):
        raise ValueError(f"inputs must be a sequence of lead names, got the string {inputs!r}")
    input_names = None if inputs is None else [canonical_lead_name(n) for n in inputs]
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a str or path-like zarr directory, got {type(output).__name__} {output!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if duration is not None and not (isinstance(duration, (int, float)) and np.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of seconds or None, got {duration!r}")
    if bands is not None and not (isinstance(bands, float) and 0.0 < bands < 1.0):
        raise ValueError(f"bands must be a probability in (0, 1) such as 0.9, or None, got {bands!r}")
    if isinstance(band_draws, bool) or not isinstance(band_draws, int) or band_draws < 2:
        raise ValueError(f"band_draws must be an integer >= 2, got {band_draws!r}")
    weights_path = None if weights is None else str(weights)
    _model(weights_path)  # a bad weights file fails here, before any work is sent out
    fs = float(PREPROCESSING["fs"])
    output = Path(output)
    failures: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    work = batches(paths, batch_size)
    started = time.perf_counter()
    context = dask_client(scheduler, n_workers=n_workers) if not (isinstance(scheduler, str) and scheduler == SYNCHRONOUS) else None
    with context if context is not None else nullcontext() as client:
        target = SYNCHRONOUS if client is None else client
        lengths: list[int | str] = [0] * len(paths)
        # (the check of the workers comes first, before anything is written)
        for index, found in map_batches(_header_lengths, work, scheduler=target, progress=False, one_thread_per_process=True):
            lengths[index * batch_size : index * batch_size + len(found)] = found
        readable = [n for n in lengths if isinstance(n, int)]
        n_time = int(round(duration * fs)) if duration is not None else max(readable, default=0)
        if n_time < 1:
            raise ValueError(f"no record under {folder!r} has a readable header with samples")
        failures += [
            {"record": ids[k], "path": paths[k], "error": n} for k, n in enumerate(lengths) if not isinstance(n, int)
        ]
        if progress:
            print(f"predicting {len(views)} views of {len(paths)} records ({n_time} samples at {fs:g} Hz each) "
                  f"into {output}", flush=True)
        import dask.array as da

        chunks = (batch_size, len(names), n_time)
        variables = {
            "virtual": (("record", "view", "time"), da.full((len(paths), len(names), n_time), np.nan, dtype=np.float32,
                                                             chunks=chunks),
                        {"units": "mV", "long_name": "virtual lead (physics + learned residual)"}),
            "length": (("record",), da.zeros(len(paths), dtype=np.int64, chunks=batch_size),
                       {"units": "samples", "long_name": "samples of the record's prediction (0: failed)"}),
            "flagged": (("record",), da.zeros(len(paths), dtype=bool, chunks=batch_size),
                        {"long_name": "the record raised a quality warning (attrs['flags'] says which)"}),
        }
        if bands is not None:
            for side in ("lower", "upper"):
                variables[side] = (
                    ("record", "view", "time"),
                    da.full((len(paths), len(names), n_time), np.nan, dtype=np.float32, chunks=chunks),
                    {"units": "mV", "long_name": f"{side} end of the central {bands:.0%} posterior band",
                     "probability": bands},
                )
        skeleton = xr.Dataset(
            variables,
            coords={"record": np.array(ids, dtype=str), "view": np.array(names, dtype=str),
                    "time": ("time", np.arange(n_time) / fs, {"units": "s"}),
                    "path": ("record", np.array(paths, dtype=str)),
                    "theta": ("view", angles[:, 0], {"units": "rad"}), "phi": ("view", angles[:, 1], {"units": "rad"})},
        )
        skeleton.to_zarr(output, mode="w", compute=False, consolidated=False, zarr_format=2)
        todo = [
            (k * batch_size, batch, [isinstance(n, int) for n in lengths[k * batch_size : k * batch_size + len(batch)]])
            for k, batch in enumerate(work)
        ]
        for _, result in map_batches(
            _predict_batch, todo, scheduler=target, progress=progress, one_thread_per_process=True,
            describe=lambda r: f"{r['n_paths']} records, {len(r['failures'])} failed, {len(r['flags'])} flagged",
            output=str(output), views=list(views), inputs=input_names, n_time=n_time, weights=weights_path,
            probability=bands, band_draws=band_draws, random_seed=random_seed,
        ):
            failures += [{"record": ids[f["index"]], "path": f["path"], "error": f["error"]} for f in result["failures"]]
            flags += [{"record": ids[f["index"]], "path": f["path"], "warnings": f["warnings"]} for f in result["flags"]]
    group = zarr.open_group(str(output), mode="r+")
    group.attrs.update({
        "fs": fs, "units": "mV", "inputs": list(input_names or _model(weights_path).input_leads),
        "weights": weights_path or "bundled (HybridPanorama.pretrained())",
        "preprocessing": {k: v for k, v in PREPROCESSING.items() if k in ("fs", "band_hz", "units", "cycle_length")},
        "failures": sorted(failures, key=lambda f: f["record"]), "n_failures": len(failures),
        "flags": sorted(flags, key=lambda f: f["record"]), "n_flagged": len(flags),
        "bands": None if bands is None else {
            "probability": bands, "draws": band_draws, "random_seed": random_seed, "method": "laplace",
        },
    })
    zarr.consolidate_metadata(str(output))
    if progress:
        print(f"wrote {output}: {len(paths) - len(failures)} records predicted ({len(flags)} flagged), {len(failures)} failed, "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    return xr.open_zarr(output)

