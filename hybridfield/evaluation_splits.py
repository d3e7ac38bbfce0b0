"""Splits and per-source reports for the hybrid's evaluation on many archives.

:func:`hybridfield.evaluate_hybrid.evaluate_setting` scores methods by k-fold over records. With
records from several archives, some patients have several records (PTB, PTB-XL) and the
archives differ (devices, populations, diagnoses), so:

- :func:`patient_folds` splits records into folds with every patient in one fold
  (:func:`hybridfield.archives.assign_folds`);
- :func:`source_folds` makes one fold per source (leave-one-source-out: train on the others);
- :func:`draw_training_records` draws whole patients for learning curves;
- :func:`record_source` names a record's archive or sub-database (:data:`SOURCES`) and
  :func:`record_rhythm` its rhythm group from the header (:data:`RHYTHMS`),
  :func:`source_breakdown` reports precordial PSNR and the variance ratio per source and method
  and :func:`source_table` prints it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .archives import RecordEntry, assign_folds
from .metrics import regression_to_the_mean

__all__ = [
    "SOURCES",
    "record_source",
    "RHYTHMS",
    "record_rhythm",
    "patient_folds",
    "source_folds",
    "draw_training_records",
    "source_breakdown",
    "source_table",
]

#: Sources :func:`record_source` tells apart, in report order (``"other"`` for the rest).
SOURCES: tuple[str, ...] = ("Georgia", "PTB-XL", "Chapman", "CPSC", "LUDB", "PTB", "other")

# Challenge 2021 record names by sub-database (Reyna et al. 2021): prefix -> source
_CHALLENGE_PREFIXES = (("HR", "PTB-XL"), ("JS", "Chapman"), ("E", "Georgia"), ("A", "CPSC"), ("Q", "CPSC"))
_PTB_NAME = re.compile(r"^(patient\d+_)?s\d{4}_?\w*$", re.IGNORECASE)


def record_source(record: str, patient: str | None = None) -> str:
    """The archive or sub-database a record comes from.

    Parameters
    ----------
    record : str
        Record id (``"E07500"``, ``"HR06001"``, ``"JS20004"``, ``"A0689"``, ``"12"``,
        ``"s0010_re"``, ``"patient204_s0405_re"``).
    patient : str, optional
        ``layout:patient`` key (:func:`hybridfield.cli.load_all_shared_records`): ``ptbdb:...``
        is PTB, ``ludb:...`` is LUDB.

    Returns
    -------
    source : str
        One of :data:`SOURCES`: Challenge 2021 names by prefix (``E`` Georgia, ``HR`` PTB-XL,
        ``JS`` Chapman-Shaoxing/Ningbo, ``A``/``Q`` CPSC), PTB Diagnostic names
        (``sNNNN_re``, ``patientNNN_sNNNN_re``), LUDB's numeric names; ``"other"`` otherwise.
    """
    layout = (patient or "").partition(":")[0]
    name = str(record)
    if layout == "ptbdb" or _PTB_NAME.match(name):
        return "PTB"
    if layout == "ludb" or name.isdigit():
        return "LUDB"
    for prefix, source in _CHALLENGE_PREFIXES:
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return source
    return "other"


#: Rhythm groups of :func:`record_rhythm`, in report order.
RHYTHMS: tuple[str, ...] = ("sinus", "AF or flutter", "other or unstated")

# SNOMED CT codes of the Challenge 2021 labels (Reyna et al. 2021)
_AF_FLUTTER_CODES = frozenset({"164889003", "164890007", "195080001"})  # atrial fibrillation, flutter
_SINUS_CODES = frozenset({"426783006", "426177001", "427084000", "427393009"})  # sinus rhythm, brady, tachy, arrhythmia


def record_rhythm(ecg: Any) -> str:
    """The rhythm group a record's header states.

    Challenge 2021 headers give SNOMED CT codes (``# Dx:``): atrial fibrillation 164889003 or
    flutter 164890007 make ``"AF or flutter"``; otherwise sinus rhythm, bradycardia, tachycardia
    or arrhythmia (426783006, 426177001, 427084000, 427393009) make ``"sinus"``. LUDB headers
    give a ``Rhythm:`` line (atrial fibrillation, atrial flutter, the sinus rhythms). Anything
    else, PTB Diagnostic's headers among them (no rhythm stated), is ``"other or unstated"``.

    Parameters
    ----------
    ecg : ECG
        A record read by :func:`hybridfield.read_wfdb` (its ``metadata`` holds ``dx`` and ``header``).

    Returns
    -------
    rhythm : str
        One of :data:`RHYTHMS`.
    """
    metadata = getattr(ecg, "metadata", {}) or {}
    codes = {str(code) for code in metadata.get("dx", ()) or ()}
    if codes & _AF_FLUTTER_CODES:
        return RHYTHMS[1]
    header = metadata.get("header", {}) or {}
    stated = " ".join(str(value) for key, value in header.items() if "rhythm" in str(key).lower()).lower()
    if "fibrillation" in stated or "flutter" in stated:
        return RHYTHMS[1]
    if codes & _SINUS_CODES or "sinus" in stated:
        return RHYTHMS[0]
    return RHYTHMS[2]


def patient_folds(patients: Sequence[str], n_folds: int, *, seed: int = 0) -> list[np.ndarray]:
    """Test-record indices of ``n_folds`` folds with every patient in one fold.

    Patients are shuffled with ``seed`` and dealt, largest first, to the fold with the fewest
    records so far (:func:`hybridfield.archives.assign_folds`).

    Parameters
    ----------
    patients : sequence of str
        Patient key of each record (records of one patient share it).
    n_folds : int
        Number of folds (at least 2, at most the number of patients).
    seed : int
        Seed of the patient shuffle.

    Returns
    -------
    folds : list of (n_test,) int ndarray
        Record indices held out in each fold, ascending; together every record once.
    """
    entries = [RecordEntry(path="", record=str(i), patient=str(key), layout="") for i, key in enumerate(patients)]
    folds = np.array([entry.fold for entry in assign_folds(entries, n_folds, seed=seed, official=False)])
    return [np.flatnonzero(folds == fold) for fold in range(1, n_folds + 1)]


def source_folds(sources: Sequence[str]) -> tuple[list[str], list[np.ndarray]]:
    """One fold per source: leave-one-source-out.

    Parameters
    ----------
    sources : sequence of str
        Source of each record (:func:`record_source`).

    Returns
    -------
    names : list of str
        The sources present, in :data:`SOURCES` order (unknown names last, sorted).
    folds : list of (n_test,) int ndarray
        Record indices of each source.
    """
    sources = np.asarray([str(s) for s in sources])
    present = set(sources.tolist())
    names = [s for s in SOURCES if s in present] + sorted(present - set(SOURCES))
    return names, [np.flatnonzero(sources == name) for name in names]


def draw_training_records(patients: Sequence[str], max_records: int, rng: np.random.Generator) -> np.ndarray:
    """A random draw of whole patients with at most ``max_records`` records in all.

    Patients are taken in a random order, each one whose records still fit; a patient with more
    records than fit is passed over. When every patient has one record this is exactly
    ``rng.choice(n, max_records, replace=False)`` (the draw of single records).

    Parameters
    ----------
    patients : sequence of str
        Patient key of each candidate training record.
    max_records : int
        Most records to draw (at least 1).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    chosen : (m,) int ndarray
        Indices into ``patients``, ascending, whole patients only; ``m <= max_records``. All of
        them if they fit.
    """
    if int(max_records) < 1:
        raise ValueError(f"max_records must be a positive number of records, got {max_records}")
    keys = [str(p) for p in patients]
    if len(keys) <= max_records:
        return np.arange(len(keys))
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    if len(groups) == len(keys):
        return np.sort(rng.choice(len(keys), int(max_records), replace=False))
    members = list(groups.values())
    chosen: list[int] = []
    for g in rng.permutation(len(members)):
        if len(chosen) + len(members[g]) <= max_records:
            chosen.extend(members[g])
        if len(chosen) == max_records:
            break
    return np.sort(np.array(chosen, dtype=np.int64))


def source_breakdown(
    scores: Mapping[str, Mapping[str, np.ndarray]],
    cycle_record: np.ndarray,
    record_sources: Sequence[str],
    targets: Sequence[str],
    leads: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """Precordial PSNR and variance ratio per source and method.

    Parameters
    ----------
    scores : mapping of method to scores
        :func:`hybridfield.evaluate_hybrid.score_cycles` of every scored cycle (``psnr``,
        ``amplitude``, ``true_amplitude``; ``(n_cycles, n_targets)``).
    cycle_record : (n_cycles,) int
        Record of each cycle (index into ``record_sources``).
    record_sources : sequence of str
        Source of each record (:func:`record_source`).
    targets : sequence of str
        Names of the score columns.
    leads : mapping of method to sequence of str
        The precordial leads scored per method (those it predicts).

    Returns
    -------
    breakdown : dict
        Per source, in :data:`SOURCES` order: ``n_records``, ``n_cycles`` and per method
        ``psnr_precordial`` (mean over the source's cycles and the method's leads) and
        ``per_lead``: ``psnr`` and ``variance_ratio`` (across the source's records of their
        mean peak-to-peak amplitude; NaN under 3 records or without a spread of true amplitudes).
    """
    cycle_record = np.asarray(cycle_record)
    sources = np.asarray([str(s) for s in record_sources])
    names, _ = source_folds(sources[np.unique(cycle_record)]) if len(cycle_record) else ([], [])
    report: dict[str, Any] = {}
    for name in names:
        cycles = np.flatnonzero(sources[cycle_record] == name)
        records = np.unique(cycle_record[cycles])
        entry: dict[str, Any] = {"n_records": int(len(records)), "n_cycles": int(len(cycles)), "methods": {}}
        for method, method_scores in scores.items():
            columns = [list(targets).index(lead) for lead in leads[method]]
            per_lead = {}
            for lead, j in zip(leads[method], columns):
                amplitude = np.array([method_scores["amplitude"][cycles[cycle_record[cycles] == r], j].mean() for r in records])
                truth = np.array([method_scores["true_amplitude"][cycles[cycle_record[cycles] == r], j].mean() for r in records])
                ratio = float("nan")
                if len(records) >= 3 and np.ptp(truth) > 0:
                    ratio = regression_to_the_mean(amplitude, truth)["variance_ratio"]
                per_lead[lead] = {"psnr": float(method_scores["psnr"][cycles, j].mean()), "variance_ratio": ratio}
            entry["methods"][method] = {
                "psnr_precordial": float(method_scores["psnr"][np.ix_(cycles, columns)].mean()) if columns else float("nan"),
                "per_lead": per_lead,
            }
        report[name] = entry
    return report


def source_table(breakdown: Mapping[str, Any]) -> str:
    """A markdown table of :func:`source_breakdown`: one row per source and method.

    Parameters
    ----------
    breakdown : mapping
        As :func:`source_breakdown` returns it.

    Returns
    -------
    table : str
        Columns: source (records, cycles), method, precordial PSNR (dB) and, per precordial
        lead, ``PSNR dB / VR``.
    """
    if not breakdown:
        return ""
    leads: list[str] = []
    for entry in breakdown.values():
        for method in entry["methods"].values():
            leads.extend(lead for lead in method["per_lead"] if lead not in leads)
    lines = [
        "| source | method | PSNR precordial | " + " | ".join(leads) + " |",
        "|---|---|---|" + "---|" * len(leads),
    ]
    for source, entry in breakdown.items():
        label = f"{source} ({entry['n_records']} rec, {entry['n_cycles']} cyc)"
        for method, figures in entry["methods"].items():
            cells = []
            for lead in leads:
                value = figures["per_lead"].get(lead)
                cells.append("n/a" if value is None else f"{value['psnr']:.1f} / {value['variance_ratio']:.2f}")
            lines.append(f"| {label} | {method} | {figures['psnr_precordial']:.2f} | " + " | ".join(cells) + " |")
            label = ""
    return "\n".join(lines)
