"""Records at archive scale: find the records of a folder tree, read them by lead name, split folds.

:func:`find_records` lists the records of a PhysioNet archive without reading a signal (a directory
walk, or one CSV read where the archive ships a record list), as :class:`RecordEntry` rows that
carry the record's path, its id, its patient and, for PTB-XL, its official fold. Layouts:

``"cinc2021"``
    PhysioNet/CinC Challenge 2021: ``*.hea`` + MATLAB v4 ``*.mat``, flat or in sub-folders. The
    Challenge gives no patient ids: each record is its own patient (records taken from PTB-XL,
    ``HR*``, may in truth share patients; use PTB-XL itself where that matters).
``"ptbxl"``
    PTB-XL: ``ptbxl_database.csv`` (``ecg_id``, ``patient_id``, ``strat_fold``, ``filename_hr``,
    ``filename_lr``) next to ``records500/`` and ``records100/``; patients and the official
    stratified folds (1-10) come from the CSV.
``"ludb"``
    LUDB: ``N.hea``/``N.dat`` with per-lead annotation files (``N.i``, ``N.ii``, ...) and
    ``ludb.csv``; one patient per record.
``"ptbdb"``
    PTB Diagnostic ECG Database: ``patientNNN/sNNNN_re.hea``, or flat names
    ``patientNNN_sNNNN_re``; the patient (``patientNNN``) comes from the path or the name.
``"mimic"``
    MIMIC-IV-ECG: ``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.hea``, with an optional
    ``record_list.csv`` (``subject_id``, ``path``); the subject id comes from the CSV or the path.
``"wfdb"``
    Any other folder of WFDB headers: each record is its own patient.

:func:`iter_records` / :func:`read_records` read entries with :func:`hybridfield.io.read_wfdb`
(signals in mV), keep the requested leads by name and report every record they cannot use as a
:class:`RecordFailure` with its path and reason (missing file, corrupt header, unknown units, no
requested lead, not an ECG in mV at a usable rate: :func:`hybridfield.quality.plausibility_problems`),
never dropping one silently. :func:`assign_folds` splits entries into folds with every patient in
one fold.
"""

from __future__ import annotations

import csv
import dataclasses
import heapq
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ecg import ECG
from .io import read_wfdb
from .leads import canonical_lead_name
from .quality import RecordQualityWarning, plausibility_problems

__all__ = [
    "FAILURE_STAGES",
    "LAYOUTS",
    "RecordEntry",
    "RecordFailure",
    "assign_folds",
    "find_records",
    "iter_records",
    "read_records",
]

#: Layouts :func:`find_records` knows (``"auto"`` detects them).
LAYOUTS: tuple[str, ...] = ("cinc2021", "ptbxl", "ludb", "ptbdb", "mimic", "wfdb")

#: Where a record failed in :func:`iter_records`: reading it, selecting its leads, the plausibility
#: checks (not an ECG in mV at a usable rate), or the beat check (read and kept, but flagged).
FAILURE_STAGES: tuple[str, ...] = ("read", "leads", "plausibility", "quality")

_PTBXL_CSV = "ptbxl_database.csv"
_LUDB_CSV = "ludb.csv"
_MIMIC_CSV = "record_list.csv"
_PTB_PATIENT = re.compile(r"^(patient\d+)$", re.IGNORECASE)
_PTB_FLAT = re.compile(r"^(patient\d+)_(s\d+\w*)$", re.IGNORECASE)
_MIMIC_SUBJECT = re.compile(r"^p(\d+)$")
_MIMIC_STUDY = re.compile(r"^s(\d+)$")


@dataclass(frozen=True)
class RecordEntry:
    """One record of an archive, found without reading its signals.

    Attributes
    ----------
    path : str
        The record's path without extension (``.../records500/00000/00001_hr``), as
        :func:`hybridfield.io.read_wfdb` takes it.
    record : str
        Record id: the header's file name without ``.hea`` (``"00001_hr"``, ``"E07500"``).
    patient : str
        Patient (subject) id within the archive; records of one patient share it.
    layout : str
        One of :data:`LAYOUTS`.
    fold : int or None
        Fold number (PTB-XL's official ``strat_fold``, 1-10, or one set by :func:`assign_folds`).
    """

    path: str
    record: str
    patient: str
    layout: str
    fold: int | None = None


@dataclass(frozen=True)
class RecordFailure:
    """A record :func:`iter_records` could not use (or read but flagged), with the reason.

    Attributes
    ----------
    path : str
        The record's path without extension.
    record : str
        Record id.
    reason : str
        What went wrong, naming the value (the exception's type and message for read errors).
    stage : str
        One of :data:`FAILURE_STAGES`.
    skipped : bool
        True: the record is not among the ECGs returned. False: it was read and kept, but flagged
        (``stage == "quality"``: no trustworthy beats).
    """

    path: str
    record: str
    reason: str
    stage: str
    skipped: bool = True


# --------------------------------------------------------------------------------------------
# Finding records
# --------------------------------------------------------------------------------------------


def _check_layout(layout: str) -> None:
    if layout != "auto" and layout not in LAYOUTS:
        raise ValueError(f"layout must be 'auto' or one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")


def _detect_layout(directory: Path) -> str | None:
    """Layout told by a file at the top of the tree, or None (decide record by record)."""
    if (directory / _PTBXL_CSV).is_file():
        return "ptbxl"
    if (directory / _LUDB_CSV).is_file():
        return "ludb"
    if (directory / _MIMIC_CSV).is_file() or (directory / "files").is_dir():
        return "mimic"
    return None


def _walk_headers(directory: Path) -> Iterator[tuple[Path, str, frozenset[str]]]:
    """``(folder, stem, names in that folder)`` for every ``*.hea``, folders and names sorted."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        names = frozenset(files)
        for name in sorted(files):
            if name.lower().endswith(".hea") and not name.startswith("."):
                yield Path(root), name[:-4], names


def _ptb_patient(folder: Path, stem: str) -> str | None:
    flat = _PTB_FLAT.match(stem)
    if flat:
        return flat.group(1).lower()
    parent = _PTB_PATIENT.match(folder.name)
    return parent.group(1).lower() if parent else None


def _mimic_subject(folder: Path) -> str | None:
    subject, study = _MIMIC_SUBJECT.match(folder.parent.name), _MIMIC_STUDY.match(folder.name)
    return subject.group(1) if subject and study else None


def _classify(folder: Path, stem: str, names: frozenset[str]) -> tuple[str, str]:
    """``(layout, patient)`` of one header found by the walk, when no top-level file decides."""
    subject = _mimic_subject(folder)
    if subject is not None:
        return "mimic", subject
    patient = _ptb_patient(folder, stem)
    if patient is not None:
        return "ptbdb", patient
    if stem + ".mat" in names:
        return "cinc2021", stem
    return "wfdb", stem


def _patient_by_layout(layout: str, folder: Path, stem: str) -> str | None:
    if layout == "ptbdb":
        return _ptb_patient(folder, stem)
    if layout == "mimic":
        return _mimic_subject(folder)
    return stem  # cinc2021, ludb, wfdb: one record per patient


def _walk_entries(directory: Path, layout: str | None) -> list[RecordEntry]:
    entries, unparsed = [], []
    for folder, stem, names in _walk_headers(directory):
        if layout is None:
            kind, patient = _classify(folder, stem, names)
        else:
            kind, patient = layout, _patient_by_layout(layout, folder, stem)
            if patient is None:
                unparsed.append(str(folder / stem))
                continue
        entries.append(RecordEntry(path=str(folder / stem), record=stem, patient=patient, layout=kind))
    if unparsed:
        shown = ", ".join(map(repr, unparsed[:5])) + (f" and {len(unparsed) - 5} more" if len(unparsed) > 5 else "")
        expected = {
            "ptbdb": "patientNNN/sNNNN_re or patientNNN_sNNNN_re",
            "mimic": "files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN",
        }[str(layout)]
        raise ValueError(
            f"layout={layout!r}: cannot tell the patient of {len(unparsed)} record(s) ({shown}); "
            f"expected paths like {expected}, or use layout='auto'"
        )
    return entries


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [name for name in required if name not in columns]
        if missing:
            raise ValueError(f"{str(path)!r} lacks the column(s) {missing}; it has {columns}")
        return list(reader)


def _integer_text(value: str) -> str:
    """``"15709.0"`` -> ``"15709"``; other text stripped."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _ptbxl_entries(directory: Path, rate: str) -> list[RecordEntry]:
    column = {"hr": "filename_hr", "lr": "filename_lr"}[rate]
    rows = _read_csv(directory / _PTBXL_CSV, ["ecg_id", "patient_id", column])
    entries = []
    for row in rows:
        filename = row[column].strip()
        fold_text = (row.get("strat_fold") or "").strip()
        entries.append(
            RecordEntry(
                path=str(directory / filename),
                record=Path(filename).name,
                patient=_integer_text(row["patient_id"]),
                layout="ptbxl",
                fold=int(float(fold_text)) if fold_text else None,
            )
        )
    return entries


def _mimic_entries(directory: Path) -> list[RecordEntry]:
    listing = directory / _MIMIC_CSV
    if not listing.is_file():
        return _walk_entries(directory, "mimic")
    entries = []
    for row in _read_csv(listing, ["subject_id", "path"]):
        relative = Path(row["path"].strip())
        entries.append(
            RecordEntry(
                path=str(directory / relative),
                record=relative.name,
                patient=_integer_text(row["subject_id"]),
                layout="mimic",
            )
        )
    return entries


def find_records(folder: str | os.PathLike[str], *, layout: str = "auto", ptbxl_rate: str = "hr") -> list[RecordEntry]:
    """List the records of an archive's folder tree, without reading any signal.

    A directory walk (``os.walk``) over the ``*.hea`` headers, or one read of the archive's CSV
    (PTB-XL ``ptbxl_database.csv``, MIMIC-IV-ECG ``record_list.csv``): linear in the number of
    records and fast enough for 1e5-1e6 of them. Records a CSV lists but that are missing on disk
    are listed all the same; :func:`iter_records` reports them as failures.

    Parameters
    ----------
    folder : str or path-like
        Top of the archive (the folder that holds ``ptbxl_database.csv``, ``ludb.csv``,
        ``record_list.csv`` or ``files/``, or the headers themselves, at any depth).
    layout : {"auto", "cinc2021", "ptbxl", "ludb", "ptbdb", "mimic", "wfdb"}
        ``"auto"``: ``ptbxl`` if ``ptbxl_database.csv`` is at the top, ``ludb`` if ``ludb.csv``
        is, ``mimic`` if ``record_list.csv`` or ``files/`` is; otherwise each header by its path:
        ``.../pNNNNNNNN/sNNNNNNNN/`` is MIMIC, ``patientNNN/`` or ``patientNNN_...`` PTB, a
        ``.mat`` beside it the Challenge 2021, anything else ``wfdb``. A named layout applies to
        every header of the tree.
    ptbxl_rate : {"hr", "lr"}
        PTB-XL only: the 500 Hz (``filename_hr``) or the 100 Hz (``filename_lr``) records.

    Returns
    -------
    entries : list of RecordEntry
        In walk order (folders and names sorted) or CSV order.

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a directory.
    ValueError
        For an unknown layout or rate, a CSV that lacks a needed column, or (named ``ptbdb`` or
        ``mimic`` layout) a record whose patient cannot be told from its path.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise FileNotFoundError(f"folder {str(directory)!r} is not a directory")
    _check_layout(layout)
    if ptbxl_rate not in ("hr", "lr"):
        raise ValueError(f"ptbxl_rate must be 'hr' (500 Hz) or 'lr' (100 Hz), got {ptbxl_rate!r}")
    chosen = _detect_layout(directory) if layout == "auto" else layout
    if chosen == "ptbxl":
        return _ptbxl_entries(directory, ptbxl_rate)
    if chosen == "mimic":
        return _mimic_entries(directory)
    return _walk_entries(directory, chosen)


# --------------------------------------------------------------------------------------------
# Folds
# --------------------------------------------------------------------------------------------


def assign_folds(
    entries: Sequence[RecordEntry], n_folds: int = 10, *, seed: int = 0, official: bool = True
) -> list[RecordEntry]:
    """Split entries into folds, every patient in one fold.

    With ``official=True`` and every entry already carrying a fold (PTB-XL's ``strat_fold``), those
    folds are kept (after checking that no patient spans two). Otherwise patients (keyed by layout
    and patient id, so that archives do not mix their ids) are shuffled with ``seed`` and dealt,
    largest first, each to the fold with the fewest records so far: folds of near-equal size.

    Parameters
    ----------
    entries : sequence of RecordEntry
        From :func:`find_records` (one or several archives).
    n_folds : int
        Number of folds (at least 2); folds are numbered 1 to ``n_folds``.
    seed : int
        Seed of the patient shuffle.
    official : bool
        Keep the folds the entries carry when all of them do.

    Returns
    -------
    entries : list of RecordEntry
        The same records in the same order, each with its ``fold``.

    Raises
    ------
    ValueError
        If ``n_folds`` is not an integer >= 2 or exceeds the number of patients, if only some
        entries carry an official fold, or if the official folds split a patient.
    """
    items = list(entries)
    if not all(isinstance(entry, RecordEntry) for entry in items):
        raise TypeError("entries must be RecordEntry objects (from find_records)")
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    carried = [entry.fold is not None for entry in items]
    if official and items and all(carried):
        seen: dict[tuple[str, str], int] = {}
        for entry in items:
            key = (entry.layout, entry.patient)
            if seen.setdefault(key, int(entry.fold)) != entry.fold:  # type: ignore[arg-type]
                raise ValueError(
                    f"the official folds split patient {entry.patient!r} ({entry.layout}) over folds "
                    f"{seen[key]} and {entry.fold} (record {entry.record!r}); pass official=False to reassign"
                )
        return items
    if official and any(carried):
        raise ValueError(
            f"{sum(carried)} of {len(items)} entries carry an official fold and the others do not; "
            "pass official=False to assign new folds to all of them"
        )
    groups: dict[tuple[str, str], list[int]] = {}
    for index, entry in enumerate(items):
        groups.setdefault((entry.layout, entry.patient), []).append(index)
    if n_folds > len(groups):
        raise ValueError(f"n_folds={n_folds} exceeds the number of patients ({len(groups)})")
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    shuffled = sorted((keys[i] for i in order), key=lambda key: -len(groups[key]))  # stable: shuffle breaks ties
    heap = [(0, fold) for fold in range(1, n_folds + 1)]
    folds = [0] * len(items)
    for key in shuffled:
        size, fold = heapq.heappop(heap)
        for index in groups[key]:
            folds[index] = fold
        heapq.heappush(heap, (size + len(groups[key]), fold))
    return [dataclasses.replace(entry, fold=fold) for entry, fold in zip(items, folds, strict=True)]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _with_entry(ecg: ECG, entry: RecordEntry) -> ECG:
    metadata = dict(ecg.metadata)
    metadata.update(patient=entry.patient, layout=entry.layout, fold=entry.fold)
    return ECG.from_array(
        ecg.signals, ecg.fs, ecg.lead_names,
        electrode_angles=dict(ecg.electrode_angles), virtual=ecg.virtual, metadata=metadata,
    )


def _select_leads(ecg: ECG, wanted: list[str], require_all: bool) -> tuple[ECG | None, str | None]:
    present = [name for name in wanted if ecg.has_lead(name)]
    missing = [name for name in wanted if not ecg.has_lead(name)]
    if not present:
        return None, f"no requested lead: wanted {', '.join(wanted)}; the record has {', '.join(ecg.lead_names)}"
    if missing and require_all:
        return None, (
            f"missing requested lead(s) {', '.join(missing)}; the record has {', '.join(ecg.lead_names)}"
        )
    return ecg.select(present), None


def _beat_flag(ecg: ECG) -> str | None:
    from .preparation import prepare_record

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_record(ecg, warn=False)
    messages = [str(item.message) for item in caught if issubclass(item.category, RecordQualityWarning)]
    return "; ".join(messages) or None


def iter_records(
    entries: Iterable[RecordEntry],
    *,
    leads: Sequence[str] | None = None,
    require_all_leads: bool = True,
    nan_policy: str = "raise",
    check: bool = True,
    check_beats: bool = False,
) -> Iterator[tuple[RecordEntry, ECG | None, RecordFailure | None]]:
    """Read entries one at a time (memory stays at one record), reporting each failure.

    Parameters
    ----------
    entries : iterable of RecordEntry
        From :func:`find_records`.
    leads : sequence of str, optional
        Leads to keep, by name (case-insensitive, canonical: ``"avr"`` is ``aVR``), in that
        order; None keeps every lead.
    require_all_leads : bool
        True: a record lacking any requested lead fails (stage ``"leads"``). False: it is kept
        with the requested leads it has; only a record with none of them fails.
    nan_policy : {"raise", "interpolate", "drop"}
        For NaN samples, as in :func:`hybridfield.io.read_wfdb`.
    check : bool
        Run :func:`hybridfield.quality.plausibility_problems` (amplitude of an ECG in mV, sampling
        rate) on the kept leads; a record that fails is skipped (stage ``"plausibility"``).
    check_beats : bool
        Also prepare and segment each record (:func:`hybridfield.preparation.prepare_record`,
        about a second per 10 s record) and flag those without trustworthy beats (stage
        ``"quality"``, kept: ``skipped=False``).

    Yields
    ------
    entry : RecordEntry
        The entry.
    ecg : ECG or None
        The record (mV; ``metadata`` gains ``patient``, ``layout`` and ``fold``), or None when
        skipped.
    failure : RecordFailure or None
        Why it was skipped or flagged, or None.
    """
    if nan_policy not in ("raise", "interpolate", "drop"):
        raise ValueError(f"nan_policy must be 'raise', 'interpolate' or 'drop', got {nan_policy!r}")
    if isinstance(leads, str):
        raise ValueError(f"leads must be a sequence of lead names, got the string {leads!r}")
    wanted = None if leads is None else [canonical_lead_name(name) for name in leads]
    if wanted is not None and not wanted:
        raise ValueError("leads must name at least one lead (or be None for all)")
    for entry in entries:
        if not isinstance(entry, RecordEntry):
            raise TypeError(f"entries must be RecordEntry objects (from find_records), got {type(entry).__name__}")

        def failed(reason: str, stage: str, *, skipped: bool = True, entry: RecordEntry = entry) -> RecordFailure:
            return RecordFailure(path=entry.path, record=entry.record, reason=reason, stage=stage, skipped=skipped)

        try:
            ecg = read_wfdb(entry.path, nan_policy=nan_policy)
        except Exception as error:  # noqa: BLE001 - any unreadable record is reported, never fatal
            yield entry, None, failed(f"{type(error).__name__}: {error}", "read")
            continue
        if wanted is not None:
            selected, reason = _select_leads(ecg, wanted, require_all_leads)
            if selected is None:
                yield entry, None, failed(str(reason), "leads")
                continue
            ecg = selected
        ecg = _with_entry(ecg, entry)
        if check:
            problems = plausibility_problems(ecg.signals, ecg.fs, ecg.lead_names, record=ecg.record or entry.record)
            if problems:
                yield entry, None, failed("; ".join(problems), "plausibility")
                continue
        flag = _beat_flag(ecg) if check_beats else None
        yield entry, ecg, (failed(flag, "quality", skipped=False) if flag else None)


def read_records(
    entries: Iterable[RecordEntry],
    *,
    leads: Sequence[str] | None = None,
    require_all_leads: bool = True,
    nan_policy: str = "raise",
    check: bool = True,
    check_beats: bool = False,
) -> tuple[list[ECG], list[RecordFailure]]:
    """Read entries into memory: the usable ECGs, and every record skipped or flagged with its reason.

    :func:`iter_records` collected into lists; prefer it for archives that do not fit in memory.

    Parameters
    ----------
    entries : iterable of RecordEntry
        From :func:`find_records`.
    leads : sequence of str, optional
        Leads to keep by name; None keeps all.
    require_all_leads : bool
        A record lacking a requested lead fails (True) or keeps those it has (False).
    nan_policy : {"raise", "interpolate", "drop"}
        For NaN samples.
    check : bool
        Skip records that cannot be an ECG in mV at a usable rate.
    check_beats : bool
        Flag (and keep) records without trustworthy beats; costs a segmentation per record.

    Returns
    -------
    ecgs : list of ECG
        The records read, in entry order.
    failures : list of RecordFailure
        One per record skipped (``skipped=True``) or flagged (``skipped=False``), in entry order.
    """
    ecgs: list[ECG] = []
    failures: list[RecordFailure] = []
    for _, ecg, failure in iter_records(
        entries, leads=leads, require_all_leads=require_all_leads, nan_policy=nan_policy,
        check=check, check_beats=check_beats,
    ):
        if ecg is not None:
            ecgs.append(ecg)
        if failure is not None:
            failures.append(failure)
    return ecgs, failures
