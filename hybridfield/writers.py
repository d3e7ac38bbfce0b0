"""Writing ECG records: WFDB (PhysioNet) and netCDF.

:func:`write_wfdb` (behind :meth:`hybridfield.ECG.to_wfdb`) writes a WFDB record that
:func:`hybridfield.io.read_wfdb` reads back, virtual lead marks included; :func:`write_netcdf`
(behind :meth:`hybridfield.ECG.to_netcdf`) writes :meth:`hybridfield.ECG.to_xarray` to a netCDF
file. The writers read an ECG through its public attributes only, so the container can call them
without an import circle (the readers build ECGs: :mod:`hybridfield.io`).

Units: signals in mV, ``fs`` in Hz.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_wfdb", "write_netcdf", "WFDB_WRITE_FORMATS", "VIRTUAL_COMMENT_KEY"]

_ECG_ATTRIBUTES = ("signals", "fs", "lead_names", "virtual", "metadata", "n_leads", "to_xarray")


def _check_ecg(ecg: Any) -> None:
    if not all(hasattr(ecg, name) for name in _ECG_ATTRIBUTES):
        raise TypeError(f"ecg must be an ECG, got {type(ecg).__name__}")


#: WFDB storage formats :meth:`ECG.to_wfdb` writes (all lossless up to the ADC step).
WFDB_WRITE_FORMATS = ("16", "212", "80", "24", "32")
_WFDB_RECORD_NAME = re.compile(r"[A-Za-z0-9_-]+")
#: Header comment key carrying the virtual lead names (a JSON list) through WFDB files.
VIRTUAL_COMMENT_KEY = "virtual_leads"


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_wfdb(ecg: Any, record_name: str, folder: str | os.PathLike[str] = ".", *, fmt: str = "16") -> Path:
    """Write an ECG as a WFDB record (``.hea`` + ``.dat``) with ``wfdb.wrsamp``; see :meth:`ECG.to_wfdb`.

    Signals are stored in mV with lead names and ``fs`` in the header; ``wfdb`` picks each lead's
    ADC gain and baseline to span the format's digital range, so the samples read back to within
    half a digital step (``0.5 / adc_gain`` mV). The header comments keep the record's original
    comment lines (``metadata["comments"]``) and add ``virtual_leads: [...]``, a JSON list of the
    virtual lead names, which :func:`read_wfdb` turns back into :attr:`ECG.virtual`.

    Parameters
    ----------
    ecg : ECG
        The record, (n_leads, n_samples) signals in mV at ``ecg.fs`` Hz.
    record_name : str
        Record name, letters, digits, ``_`` and ``-`` only (the files are ``<record_name>.hea``
        and ``<record_name>.dat``).
    folder : str or path-like
        Directory to write into; created if missing.
    fmt : {"16", "212", "80", "24", "32"}
        WFDB storage format of every lead: 16-bit (default), packed 12-bit, 8-bit offset, 24-bit
        or 32-bit two's complement.

    Returns
    -------
    path : pathlib.Path
        The record without extension (``folder / record_name``), ready for :func:`read_wfdb`.

    Raises
    ------
    ValueError
        If ``record_name`` has other characters, ``fmt`` is not a supported format, or a lead name
        or comment line contains a line break.
    TypeError
        If ``ecg`` is not an ECG, or ``record_name`` or ``fmt`` is not a str.
    """
    _check_ecg(ecg)
    if not isinstance(record_name, str):
        raise TypeError(f"record_name must be a str, got {type(record_name).__name__} {record_name!r}")
    if not _WFDB_RECORD_NAME.fullmatch(record_name):
        raise ValueError(
            f"record_name must be letters, digits, '_' or '-' only (no extension), got {record_name!r}"
        )
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a WFDB format string such as '16', got {type(fmt).__name__} {fmt!r}")
    if fmt not in WFDB_WRITE_FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(map(repr, WFDB_WRITE_FORMATS))}, got {fmt!r}")
    comments = [
        str(line)
        for line in ecg.metadata.get("comments", ())
        if not str(line).strip().lower().startswith(VIRTUAL_COMMENT_KEY + ":")
    ]
    virtual = [name for name in ecg.lead_names if name in ecg.virtual]
    comments.append(f"{VIRTUAL_COMMENT_KEY}: {json.dumps(virtual)}")
    # A line break would end the header line and corrupt the record.
    broken = [text for text in (*ecg.lead_names, *comments) if "\n" in text or "\r" in text]
    if broken:
        raise ValueError(f"lead names and header comments must be single lines, got {broken!r}")
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    import wfdb

    wfdb.wrsamp(
        record_name,
        fs=ecg.fs,
        units=["mV"] * ecg.n_leads,
        sig_name=list(ecg.lead_names),
        p_signal=np.array(ecg.signals.T, dtype=np.float64, order="C"),  # wfdb wants (n_samples, n_leads)
        fmt=[fmt] * ecg.n_leads,
        comments=comments,
        write_dir=str(directory),
    )
    return directory / record_name


def write_netcdf(ecg: Any, path: str | os.PathLike[str], *, engine: str | None = None) -> Path:
    """Write :meth:`ECG.to_xarray` to a netCDF file; read it back with ``xarray.open_dataarray``.

    Parameters
    ----------
    ecg : ECG
        The record, (n_leads, n_samples) signals in mV.
    path : str or path-like
        Output file (``.nc``); overwritten if it exists.
    engine : {"h5netcdf", "netcdf4", "scipy"}, optional
        xarray backend. None (default) lets xarray take the first one installed, in the order
        netcdf4, h5netcdf (both netCDF-4/HDF5 files) and scipy (netCDF-3 files, no extra library
        needed).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``ecg`` is not an ECG.
    """
    _check_ecg(ecg)
    target = Path(path)
    ecg.to_xarray().to_netcdf(target, engine=engine)
    return target
