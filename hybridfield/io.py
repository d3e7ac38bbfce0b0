"""Reading and writing ECG records: WFDB (PhysioNet) and netCDF.

Readers: :func:`read_wfdb` reads one WFDB record (PTB, PTB-XL, the PhysioNet/CinC Challenge 2021
``.hea`` + MATLAB v4 ``.mat`` layout) with ``wfdb.rdrecord``, converting physical units to mV and
parsing the header comments (age, sex, Dx codes, the virtual lead names); :func:`read_wfdb_folder`
reads every record of a folder.

Writers (:func:`write_wfdb`, :func:`write_netcdf`) live in :mod:`hybridfield.writers` and are
re-exported here.

Units: signals in mV, ``fs`` in Hz.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import canonical_lead_name
from .writers import VIRTUAL_COMMENT_KEY, write_netcdf, write_wfdb

__all__ = [
    "read_wfdb",
    "read_wfdb_folder",
    "write_wfdb",
    "write_netcdf",
]

#: Physical units understood by the readers, lower-cased, and their factor to mV.
_UNIT_TO_MV: dict[str, float] = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "\u00b5v": 1e-3,  # micro sign
    "\u03bcv": 1e-3,  # greek mu
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}

# --------------------------------------------------------------------------------------------
# WFDB reading
# --------------------------------------------------------------------------------------------

_COMMENT_FIELD = re.compile(r"^\s*([^:]+?)\s*:\s*(.*?)\s*$")
_UNKNOWN_VALUES = {"", "unknown", "nan", "n/a", "na", "none"}
_SEX_NAMES = {"m": "male", "male": "male", "f": "female", "female": "female"}


def _parse_comments(comments: Sequence[str]) -> dict[str, Any]:
    """Header comments -> ``header`` (all ``key: value`` lines) plus parsed age, sex and dx."""
    fields: dict[str, str] = {}
    for line in comments:
        match = _COMMENT_FIELD.match(line)
        if match:
            fields.setdefault(match.group(1), match.group(2))
    lowered = {key.lower(): value for key, value in fields.items()}
    parsed: dict[str, Any] = {"header": MappingProxyType(fields)}
    age_text = lowered.get("age")
    age: int | float | None = None
    if age_text is not None and age_text.strip().lower() not in _UNKNOWN_VALUES:
        try:
            number = float(age_text)
            age = int(number) if number.is_integer() else number
        except ValueError:
            age = None
    parsed["age"] = age
    sex_text = (lowered.get("sex") or "").strip().lower()
    parsed["sex"] = None if sex_text in _UNKNOWN_VALUES else _SEX_NAMES.get(sex_text, sex_text)
    dx_text = lowered.get("dx")
    parsed["dx"] = tuple(code.strip() for code in dx_text.split(",") if code.strip()) if dx_text else ()
    return parsed


def _record_base(path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like naming a WFDB record, got {type(path).__name__} {path!r}")
    base = Path(path)
    if base.suffix.lower() in {".hea", ".dat", ".mat", ".xyz"}:
        base = base.with_suffix("")
    return base


def _virtual_from_header(header: Mapping[str, str], names: Sequence[str], base: Path) -> list[str]:
    """Virtual lead names from a ``virtual_leads: [...]`` comment written by :meth:`ECG.to_wfdb`.

    A malformed list, or names that are not leads of the record, are ignored with a warning (the
    signals are still good; only the marks are lost).
    """
    text = next((value for key, value in header.items() if key.lower() == VIRTUAL_COMMENT_KEY), None)
    if text is None:
        return []
    try:
        listed = json.loads(text)
    except json.JSONDecodeError:
        listed = None
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        warnings.warn(
            f"WFDB record {str(base)!r}: ignoring the header comment '{VIRTUAL_COMMENT_KEY}: {text}' "
            "(expected a JSON list of lead names)",
            UserWarning,
            stacklevel=3,
        )
        return []
    known = {name.lower() for name in names}
    virtual = [canonical_lead_name(name) for name in listed]
    unknown = [name for name in virtual if name.lower() not in known]
    if unknown:
        warnings.warn(
            f"WFDB record {str(base)!r}: the header marks {unknown} virtual, which are not leads of the record "
            f"({', '.join(names)}); ignoring those marks",
            UserWarning,
            stacklevel=3,
        )
    return [name for name in virtual if name.lower() in known]


def read_wfdb(path: str | os.PathLike[str], *, nan_policy: str = "raise") -> ECG:
    """Read one WFDB record (PTB, PTB-XL, PhysioNet/CinC Challenge 2021) with ``wfdb.rdrecord``.

    Parameters
    ----------
    path : str or path-like
        The record without extension (``.../s0010_re``, ``.../E07500``); a trailing ``.hea``,
        ``.dat`` or ``.mat`` is ignored.
    nan_policy : {"raise", "interpolate", "drop"}
        For samples that WFDB marks invalid (NaN), as in :meth:`ECG.from_array`.

    Returns
    -------
    ecg : ECG
        Signals converted to mV from each channel's header units (mV, uV or V, any case), lead
        names canonical (PTB's ``vx, vy, vz`` become ``X, Y, Z``). ``metadata`` holds ``record``,
        ``path``, ``source`` ("wfdb"), ``units`` ("mV"), ``original_units`` (per lead, as in the
        header), ``age`` (int or None), ``sex`` (``"male"``, ``"female"``, another lower-case
        value as given, or None), ``dx`` (tuple of code
        strings, e.g. SNOMED-CT in the Challenge records), ``header`` (every ``key: value``
        comment line) and ``comments`` (the raw comment lines). Leads listed in a
        ``virtual_leads: [...]`` comment (written by :meth:`ECG.to_wfdb`) are marked virtual.

    Raises
    ------
    FileNotFoundError
        If the header (or a signal file it names) does not exist; the message names the path.
    ValueError
        If a channel's units are not a voltage the reader knows.
    """
    base = _record_base(path)
    header = base.with_name(base.name + ".hea")
    if not header.is_file():
        raise FileNotFoundError(f"no WFDB record at {str(base)!r}: header file {str(header)!r} does not exist")
    import wfdb

    try:
        record = wfdb.rdrecord(str(base))
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"WFDB record {str(base)!r}: a signal file named in its header is missing ({error})"
        ) from error
    if record.p_signal is None:
        raise ValueError(f"WFDB record {str(base)!r} has no physical signals")
    names = [canonical_lead_name(name) for name in record.sig_name]
    units = list(record.units or ["mV"] * len(names))
    factors = []
    for name, unit in zip(names, units, strict=True):
        key = (unit or "mV").strip().lower()
        if key not in _UNIT_TO_MV:
            raise ValueError(
                f"WFDB record {str(base)!r}, lead {name}: unknown physical units {unit!r}; "
                "expected a voltage in mV, uV or V"
            )
        factors.append(_UNIT_TO_MV[key])
    signals = np.asarray(record.p_signal, dtype=np.float64).T * np.asarray(factors)[:, np.newaxis]
    metadata: dict[str, Any] = {
        "record": record.record_name,
        "path": str(base),
        "source": "wfdb",
        "original_units": tuple(units),
        "comments": tuple(record.comments or ()),
    }
    metadata.update(_parse_comments(record.comments or ()))
    virtual = _virtual_from_header(metadata["header"], names, base)
    return ECG.from_array(
        signals, float(record.fs), names, nan_policy=nan_policy, metadata=metadata, virtual=virtual
    )


def read_wfdb_folder(folder: str | os.PathLike[str], *, pattern: str = "*.hea", nan_policy: str = "raise") -> list[ECG]:
    """Read every WFDB record of a folder, sorted by record name.

    Parameters
    ----------
    folder : str or path-like
        Directory holding ``.hea`` headers and their signal files.
    pattern : str
        Glob pattern for the headers (e.g. ``"JS*.hea"``).
    nan_policy : {"raise", "interpolate", "drop"}
        Passed to :func:`read_wfdb`.

    Returns
    -------
    ecgs : list of ECG

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a directory or no header matches ``pattern``.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise FileNotFoundError(f"folder {str(directory)!r} is not a directory")
    headers = sorted(path for path in directory.glob(pattern) if path.suffix.lower() == ".hea")
    if not headers:
        raise FileNotFoundError(f"no WFDB header matching {pattern!r} in folder {str(directory)!r}")
    return [read_wfdb(header.with_suffix(""), nan_policy=nan_policy) for header in headers]
