"""Scores of beat delineation against LUDB's cardiologists.

The Lobachevsky University Electrocardiography Database (LUDB; Kalyakulina et al. 2020) gives, for
each of the 12 leads of a record, the cardiologists' onset, peak and offset of every P wave, QRS
complex and T wave in (roughly) the middle of the record. This module turns those per-lead
annotations into one reference per beat (:func:`read_ludb_reference`), matches the beats of a
delineation to it by their R peaks (:func:`match_beats`) and returns the signed boundary errors and
the counts of what was found and missed (:func:`score_delineation`, :class:`DelineationScore`).
:func:`neurokit_delineation` is NeuroKit2's own pipeline (clean, R peaks, ``ecg_delineate``), the
baseline the project's :func:`hybridfield.segment_beats` is compared to; :func:`score_ludb_record`
scores one record with several methods and :func:`summarise_scores` pools records.

Reference per beat (``reference="global"``, the default): the CSE definition of global boundaries
(Willems et al. 1985; the CSE tolerances below are stated for them), i.e. the earliest P onset and
QRS onset and the latest QRS offset and T offset over the leads on which the annotators marked the
wave. ``reference="median"`` takes the per-beat median over the leads instead (less sensitive to one
lead annotated early or late), and a lead name (``"II"``) takes that lead's own annotations.

Units: boundaries are integer sample indices at the record's ``fs`` (``-1`` = undefined); errors
are milliseconds, detected minus reference (negative = the delineation is early).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .beats import NEUROKIT_WAVE_KEYS
from .leads import canonical_lead_name

__all__ = [
    "CSE_TOLERANCES_MS",
    "LUDB_LEADS",
    "METHODS",
    "SCORED_BOUNDARIES",
    "DelineationScore",
    "ReferenceBeats",
    "match_beats",
    "neurokit_delineation",
    "read_ludb_reference",
    "reference_from_waves",
    "score_delineation",
    "score_ludb_record",
    "summarise_scores",
]

#: The boundaries scored, in the order of the tables.
SCORED_BOUNDARIES: tuple[str, ...] = ("p_onset", "qrs_onset", "qrs_offset", "t_offset")
#: CSE tolerances, ms: two standard deviations of the referees' global boundaries around their median
#: (CSE Working Party, Circulation 1985; the usual limits of delineation studies).
CSE_TOLERANCES_MS: dict[str, float] = {"p_onset": 10.2, "qrs_onset": 6.5, "qrs_offset": 11.6, "t_offset": 30.6}
#: LUDB annotation file extensions (one per lead), in the record's lead order.
LUDB_LEADS: tuple[str, ...] = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
#: Every boundary a reference or a delineation carries.
_ALL_BOUNDARIES = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_onset", "t_offset")
#: QRS peaks of different leads more than this far apart, s, start a new beat when grouping leads.
_BEAT_GAP = 0.15
_EARLIEST = ("p_onset", "qrs_onset", "t_onset")  # onsets: earliest over leads in the global reference


# --------------------------------------------------------------------------------------------
# Reference beats from the annotations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReferenceBeats:
    """The annotators' beats of one record, one boundary set per beat.

    Attributes
    ----------
    r_peak : (n_beats,) int64
        Median over the annotated leads of the QRS peak sample; beats are in time order.
    p_onset, p_offset, qrs_onset, qrs_offset, t_onset, t_offset : (n_beats,) int64
        Reference boundaries, sample indices, ``-1`` where no lead carries the wave (e.g. no P wave
        in atrial fibrillation).
    n_leads : (n_beats,) int64
        Number of leads whose annotations hold the beat's QRS complex.
    fs : float
        Sampling rate, Hz.
    reference : str
        ``"global"``, ``"median"`` or the lead whose annotations were used.
    record : str or None
        Record name.
    """

    r_peak: np.ndarray
    p_onset: np.ndarray
    p_offset: np.ndarray
    qrs_onset: np.ndarray
    qrs_offset: np.ndarray
    t_onset: np.ndarray
    t_offset: np.ndarray
    n_leads: np.ndarray
    fs: float
    reference: str = "global"
    record: str | None = None

    def __post_init__(self) -> None:
        n_beats = np.asarray(self.r_peak).shape[0]
        for name in ("r_peak", "n_leads", *_ALL_BOUNDARIES):
            values = np.asarray(getattr(self, name), dtype=np.int64)
            if values.shape != (n_beats,):
                raise ValueError(f"{name} must have shape ({n_beats},) like r_peak, got {values.shape}")
            object.__setattr__(self, name, values)

    @property
    def n_beats(self) -> int:
        """Number of annotated beats."""
        return int(self.r_peak.shape[0])


def _parse_waves(samples: Sequence[int], symbols: Sequence[str]) -> list[tuple[str, int, int, int]]:
    """WFDB delineation annotations -> ``(kind, onset, peak, offset)`` per wave (kind ``p``/``qrs``/``t``).

    ``(`` opens a wave, a peak symbol (``p``, ``t``, anything else = QRS) names it, ``)`` closes it;
    a missing onset or offset is ``-1``; a second peak inside the same wave is ignored.
    """
    waves: list[list[Any]] = []
    pending, current = -1, None
    for sample, symbol in zip(samples, symbols):
        if symbol == "(":
            pending, current = int(sample), None
        elif symbol == ")":
            if current is not None and current[3] < 0:
                current[3] = int(sample)
            pending, current = -1, None
        else:
            kind = {"p": "p", "t": "t"}.get(symbol, "qrs")
            if current is not None and current[0] == kind:
                continue
            current = [kind, pending, int(sample), -1]
            waves.append(current)
            pending = -1
    return [tuple(wave) for wave in waves]  # type: ignore[misc]


def _combine(values: list[int], name: str, reference: str) -> int:
    """One reference boundary from the leads' values (``-1`` ignored)."""
    found = [value for value in values if value >= 0]
    if not found:
        return -1
    if reference == "median":
        return int(round(float(np.median(found))))
    return min(found) if name in _EARLIEST else max(found)


def reference_from_waves(
    waves: Mapping[str, Sequence[tuple[str, int, int, int]]], fs: float, *, reference: str = "global", record: str | None = None
) -> ReferenceBeats:
    """Group per-lead annotated waves into beats and combine them into one reference per beat.

    Parameters
    ----------
    waves : mapping of str to sequence of (str, int, int, int)
        Per lead, its waves as ``(kind, onset, peak, offset)`` samples (``kind`` ``"p"``, ``"qrs"`` or
        ``"t"``; ``-1`` for a missing onset or offset).
    fs : float
        Sampling rate, Hz.
    reference : str
        ``"global"`` (earliest onsets, latest offsets over the leads), ``"median"`` or one of the
        lead names in ``waves`` (that lead alone).
    record : str, optional
        Record name.

    Returns
    -------
    reference_beats : ReferenceBeats
        QRS peaks of different leads closer than 150 ms form one beat; a lead's P wave belongs to
        the beat when its peak lies between the previous beat's R peak and this one (the last such
        P wave), its T wave when its peak lies between this R peak and the next (the first one).

    Raises
    ------
    ValueError
        If ``reference`` is neither ``"global"``, ``"median"`` nor a lead of ``waves``.
    """
    if reference not in ("global", "median") and reference not in waves:
        raise ValueError(f"reference must be 'global', 'median' or one of {', '.join(waves)}, got {reference!r}")
    leads = [reference] if reference in waves else list(waves)
    qrs = sorted((wave[2], lead, wave) for lead in leads for wave in waves[lead] if wave[0] == "qrs")
    clusters: list[list[tuple[int, str, tuple[str, int, int, int]]]] = []
    for item in qrs:
        if clusters and item[0] - clusters[-1][-1][0] <= _BEAT_GAP * fs:
            clusters[-1].append(item)
        else:
            clusters.append([item])
    r_peak = np.array([int(round(float(np.median([item[0] for item in cluster])))) for cluster in clusters], dtype=np.int64)
    bounds: dict[str, list[int]] = {name: [] for name in _ALL_BOUNDARIES}
    n_leads = []
    combine = "median" if reference == "median" else "global"
    for index, cluster in enumerate(clusters):
        previous = r_peak[index - 1] if index else -math.inf
        following = r_peak[index + 1] if index + 1 < len(clusters) else math.inf
        per_lead: dict[str, dict[str, int]] = {}
        for _, lead, wave in cluster:
            per_lead.setdefault(lead, {"qrs_onset": wave[1], "qrs_offset": wave[3]})
        for lead in per_lead:
            p_waves = [w for w in waves[lead] if w[0] == "p" and previous < w[2] < r_peak[index]]
            t_waves = [w for w in waves[lead] if w[0] == "t" and r_peak[index] < w[2] < following]
            if p_waves:
                per_lead[lead].update(p_onset=p_waves[-1][1], p_offset=p_waves[-1][3])
            if t_waves:
                per_lead[lead].update(t_onset=t_waves[0][1], t_offset=t_waves[0][3])
        for name in _ALL_BOUNDARIES:
            bounds[name].append(_combine([values.get(name, -1) for values in per_lead.values()], name, combine))
        n_leads.append(len(per_lead))
    return ReferenceBeats(
        r_peak=r_peak, n_leads=np.asarray(n_leads, dtype=np.int64), fs=float(fs), reference=reference, record=record,
        **{name: np.asarray(values, dtype=np.int64) for name, values in bounds.items()},
    )


def read_ludb_reference(path: str | Path, *, reference: str = "global") -> ReferenceBeats:
    """The cardiologists' reference beats of one LUDB record.

    Parameters
    ----------
    path : str or Path
        Record path without extension (``.../ludb/1``); its 12 annotation files ``1.i`` ... ``1.v6``
        are read with ``wfdb.rdann``.
    reference : str
        ``"global"`` (default: per beat the earliest P and QRS onsets and latest QRS and T offsets
        over the 12 leads, the CSE global boundaries), ``"median"`` (per-beat median over the leads)
        or a lead name (``"II"``, case-insensitive): that lead's annotations alone.

    Returns
    -------
    reference_beats : ReferenceBeats
        See :func:`reference_from_waves`; sample indices at the record's ``fs`` (500 Hz).

    Raises
    ------
    FileNotFoundError
        If no annotation file of the record exists.
    ValueError
        If ``reference`` is not ``"global"``, ``"median"`` or an LUDB lead.
    """
    import wfdb

    base = Path(path)
    waves: dict[str, list[tuple[str, int, int, int]]] = {}
    fs = 500.0
    for extension in LUDB_LEADS:
        if not base.with_name(f"{base.name}.{extension}").exists():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside wfdb.rdann
            annotation = wfdb.rdann(str(base), extension)
        fs = float(annotation.fs or fs)
        waves[canonical_lead_name(extension)] = _parse_waves(annotation.sample, annotation.symbol)
    if not waves:
        raise FileNotFoundError(f"no LUDB annotation file ({base.name}.i ... {base.name}.v6) next to {base}")
    if reference not in ("global", "median"):
        lead = canonical_lead_name(reference)
        matches = [name for name in waves if name.lower() == lead.lower()]
        if not matches:
            raise ValueError(f"reference must be 'global', 'median' or one of {', '.join(waves)}, got {reference!r}")
        reference = matches[0]
    return reference_from_waves(waves, fs, reference=reference, record=base.name)


# --------------------------------------------------------------------------------------------
# Matching and scoring
# --------------------------------------------------------------------------------------------


def match_beats(detected: np.ndarray, reference: np.ndarray, tolerance: int) -> np.ndarray:
    """Match detected R peaks one to one to reference R peaks, nearest pairs first.

    Parameters
    ----------
    detected : (n_detected,) int array
        Detected R peaks, samples.
    reference : (n_reference,) int array
        Reference R peaks, samples.
    tolerance : int
        Largest distance, samples, of a match.

    Returns
    -------
    match : (n_reference,) int64
        Index into ``detected`` of each reference beat's match, ``-1`` where none lies within
        ``tolerance`` (a missed beat). Pairs are taken in order of distance, each beat at most once.
    """
    detected = np.asarray(detected, dtype=np.int64).ravel()
    reference = np.asarray(reference, dtype=np.int64).ravel()
    match = np.full(reference.size, -1, dtype=np.int64)
    if detected.size == 0 or reference.size == 0:
        return match
    distance = np.abs(reference[:, np.newaxis] - detected[np.newaxis, :])
    pairs = np.argwhere(distance <= tolerance)
    taken = np.zeros(detected.size, dtype=bool)
    for i, j in pairs[np.argsort(distance[pairs[:, 0], pairs[:, 1]], kind="stable")]:
        if match[i] < 0 and not taken[j]:
            match[i], taken[j] = j, True
    return match


@dataclass(frozen=True, eq=False)
class DelineationScore:
    """How one delineation of one record compares with the reference beats.

    Attributes
    ----------
    method : str
        Name of the delineation.
    record : str or None
        Record name.
    n_reference : int
        Annotated beats.
    n_matched : int
        Annotated beats with a detected beat within the tolerance; the others are missed.
    n_extra : int
        Detected beats inside the annotated stretch (first reference QRS onset to last QRS offset,
        widened by the tolerance) that match no annotated beat (false detections).
    errors_ms : dict of str to (n_found,) float64
        Per boundary of :data:`SCORED_BOUNDARIES`, the signed errors (detected minus reference, ms)
        of the matched beats where both define the boundary, in beat order.
    n_defined : dict of str to int
        Per boundary, annotated beats whose reference defines it (the denominator of
        :meth:`found_fraction`).
    n_unreferenced : dict of str to int
        Per boundary, matched beats where the delineation gives the boundary but the annotators
        do not (e.g. a P onset in atrial fibrillation).
    """

    method: str
    record: str | None
    n_reference: int
    n_matched: int
    n_extra: int
    errors_ms: dict[str, np.ndarray] = field(default_factory=dict)
    n_defined: dict[str, int] = field(default_factory=dict)
    n_unreferenced: dict[str, int] = field(default_factory=dict)

    def n_found(self, boundary: str) -> int:
        """Annotated beats whose boundary the delineation found (matched beat, boundary defined).

        Parameters
        ----------
        boundary : str
            One of :data:`SCORED_BOUNDARIES`.

        Returns
        -------
        count : int
        """
        return int(self.errors_ms[boundary].size)

    def found_fraction(self, boundary: str) -> float:
        """Fraction of the annotated beats defining ``boundary`` whose boundary was found.

        Parameters
        ----------
        boundary : str
            One of :data:`SCORED_BOUNDARIES`.

        Returns
        -------
        fraction : float
            In [0, 1]; NaN when no annotated beat defines the boundary.
        """
        defined = self.n_defined[boundary]
        return self.n_found(boundary) / defined if defined else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (errors as lists of ms rounded to 0.1).

        Returns
        -------
        data : dict
        """
        return {
            "method": self.method,
            "record": self.record,
            "n_reference": self.n_reference,
            "n_matched": self.n_matched,
            "n_extra": self.n_extra,
            "errors_ms": {name: [round(float(value), 1) for value in values] for name, values in self.errors_ms.items()},
            "n_defined": dict(self.n_defined),
            "n_unreferenced": dict(self.n_unreferenced),
        }


def _boundary(detected: Any, name: str, n_beats: int) -> np.ndarray:
    values = detected.get(name) if isinstance(detected, Mapping) else getattr(detected, name, None)
    if values is None:
        return np.full(n_beats, -1, dtype=np.int64)
    return np.asarray(values, dtype=np.int64).ravel()


def score_delineation(
    detected: Any, reference: ReferenceBeats, *, tolerance: float = 0.15, method: str = "", fs: float | None = None
) -> DelineationScore:
    """Match a delineation's beats to the reference beats and measure its boundary errors.

    Parameters
    ----------
    detected : BeatSegmentation or mapping of str to (n_beats,) int array
        The delineation: ``r_peak`` and any of ``p_onset``, ``qrs_onset``, ``qrs_offset``,
        ``t_offset`` (attributes or keys; a missing array means the boundary is never found),
        sample indices at ``fs``, ``-1`` where not found.
    reference : ReferenceBeats
        The annotators' beats (:func:`read_ludb_reference`).
    tolerance : float
        Largest R-peak distance, s, of a match (default 150 ms).
    method : str
        Name recorded in the score.
    fs : float, optional
        Sampling rate of ``detected``, Hz (default: ``detected.fs`` if it has one, else the
        reference's); must equal the reference's.

    Returns
    -------
    score : DelineationScore

    Raises
    ------
    ValueError
        If the sampling rates differ or ``tolerance`` is not positive.
    """
    fs = float(fs if fs is not None else getattr(detected, "fs", reference.fs))
    if not math.isclose(fs, reference.fs):
        raise ValueError(f"the delineation is at {fs:g} Hz and the reference at {reference.fs:g} Hz; resample one")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, got {tolerance!r}")
    r_peak = _boundary(detected, "r_peak", 0)
    window = int(round(tolerance * fs))
    match = match_beats(r_peak, reference.r_peak, window)
    errors, n_defined, n_unreferenced = {}, {}, {}
    for name in SCORED_BOUNDARIES:
        values = _boundary(detected, name, r_peak.size)
        wanted = getattr(reference, name)
        found = np.where(match >= 0, values[np.maximum(match, 0)], -1) if values.size else np.full(match.size, -1)
        both = (found >= 0) & (wanted >= 0)
        errors[name] = (found[both] - wanted[both]) * 1000.0 / fs
        n_defined[name] = int(np.count_nonzero(wanted >= 0))
        n_unreferenced[name] = int(np.count_nonzero((found >= 0) & (wanted < 0)))
    n_extra = 0
    if reference.n_beats:
        onsets = np.where(reference.qrs_onset >= 0, reference.qrs_onset, reference.r_peak)
        offsets = np.where(reference.qrs_offset >= 0, reference.qrs_offset, reference.r_peak)
        inside = (r_peak >= onsets.min() - window) & (r_peak <= offsets.max() + window)
        unmatched = np.ones(r_peak.size, dtype=bool)
        unmatched[match[match >= 0]] = False
        n_extra = int(np.count_nonzero(inside & unmatched))
    return DelineationScore(
        method=method, record=reference.record, n_reference=reference.n_beats, n_matched=int(np.count_nonzero(match >= 0)),
        n_extra=n_extra, errors_ms=errors, n_defined=n_defined, n_unreferenced=n_unreferenced,
    )


# --------------------------------------------------------------------------------------------
# Delineations of a record
# --------------------------------------------------------------------------------------------


def neurokit_delineation(signal: np.ndarray, fs: float, *, method: str = "dwt") -> dict[str, np.ndarray]:
    """NeuroKit2's own pipeline on one lead: ``ecg_clean``, ``ecg_peaks``, ``ecg_delineate``.

    Parameters
    ----------
    signal : (n_samples,) float array
        One lead, mV.
    fs : float
        Sampling rate, Hz.
    method : {"dwt", "cwt", "peak", "prominence"}
        ``nk.ecg_delineate`` method.

    Returns
    -------
    boundaries : dict of str to (n_beats,) int64
        ``r_peak`` (NeuroKit2's R peaks) and ``p_onset``, ``p_offset``, ``qrs_onset`` (its R onsets),
        ``qrs_offset``, ``t_onset``, ``t_offset``: sample indices, ``-1`` where not found (every
        boundary ``-1`` if ``ecg_delineate`` fails on the record).
    """
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(np.asarray(signal, dtype=np.float64), sampling_rate=fs)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
        r_peak = np.unique(np.asarray(info["ECG_R_Peaks"], dtype=np.int64))
        result = {"r_peak": r_peak}
        try:
            _, waves = nk.ecg_delineate(cleaned, r_peak, sampling_rate=fs, method=method)
        except Exception:  # noqa: BLE001 - a NeuroKit2 failure on a record is a delineation that found nothing
            waves = {}
    for name, key in NEUROKIT_WAVE_KEYS.items():
        values = np.asarray(waves.get(key, []), dtype=np.float64).ravel()
        index = np.full(r_peak.size, -1, dtype=np.int64)
        if values.size == r_peak.size:
            good = np.isfinite(values) & (values >= 0) & (values < len(cleaned))
            index[good] = np.round(values[good]).astype(np.int64)
        result[name] = index
    return result


#: Methods :func:`score_ludb_record` knows: the project's segmentation (default and multi-lead) and
#: NeuroKit2's pipeline with each of its delineation methods.
METHODS: tuple[str, ...] = (
    "hybridfield",
    "hybridfield multilead",
    "neurokit2 dwt",
    "neurokit2 cwt",
    "neurokit2 peak",
    "neurokit2 prominence",
)


def score_ludb_record(
    path: str | Path, *, methods: Sequence[str] = METHODS, reference: str = "global", tolerance: float = 0.15
) -> dict[str, DelineationScore]:
    """Score several delineations of one LUDB record against its annotations.

    Parameters
    ----------
    path : str or Path
        Record path without extension (``.../ludb/1``).
    methods : sequence of str
        Any of :data:`METHODS`: ``"hybridfield"`` is :func:`hybridfield.segment_beats` with its
        defaults, ``"hybridfield multilead"`` the same with ``multilead=True``; ``"neurokit2 X"`` is
        :func:`neurokit_delineation` with ``method="X"`` on the lead ``segment_beats`` picks (II).
    reference : str
        See :func:`read_ludb_reference`.
    tolerance : float
        R-peak matching tolerance, s.

    Returns
    -------
    scores : dict of str to DelineationScore
        One per method, in the order given.

    Raises
    ------
    ValueError
        If a method is unknown.
    """
    from .beats import segment_beats
    from .io import read_wfdb

    unknown = [method for method in methods if method not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    ecg = read_wfdb(path)
    truth = read_ludb_reference(path, reference=reference)
    segmentation = segment_beats(ecg)
    scores = {}
    for method in methods:
        if method == "hybridfield":
            detected: Any = segmentation
        elif method == "hybridfield multilead":
            detected = segment_beats(ecg, multilead=True)
        else:
            detected = neurokit_delineation(ecg[segmentation.lead_used], ecg.fs, method=method.split()[-1])
        scores[method] = score_delineation(detected, truth, tolerance=tolerance, method=method, fs=ecg.fs)
    return scores


def summarise_scores(scores: Sequence[DelineationScore]) -> dict[str, Any]:
    """Pool the scores of one method over records.

    Parameters
    ----------
    scores : sequence of DelineationScore
        One per record, same method.

    Returns
    -------
    summary : dict
        ``n_records``, ``n_reference`` (annotated beats), ``beats_found`` (fraction matched),
        ``n_extra`` (false detections) and, per boundary of :data:`SCORED_BOUNDARIES`, a dict with
        ``n_defined``, ``n_found``, ``found`` (fraction), ``median_abs_ms``, ``p90_abs_ms``,
        ``mean_ms`` (bias), ``sd_ms``, ``within_tolerance`` (fraction of the found boundaries within
        the CSE tolerance) and ``tolerance_ms`` (NaN statistics when nothing was found).
    """
    n_reference = sum(score.n_reference for score in scores)
    summary: dict[str, Any] = {
        "n_records": len(scores),
        "n_reference": n_reference,
        "beats_found": sum(score.n_matched for score in scores) / n_reference if n_reference else float("nan"),
        "n_extra": sum(score.n_extra for score in scores),
    }
    for name in SCORED_BOUNDARIES:
        errors = np.concatenate([score.errors_ms[name] for score in scores]) if scores else np.empty(0)
        defined = sum(score.n_defined[name] for score in scores)
        absolute = np.abs(errors)
        nan = float("nan")
        summary[name] = {
            "n_defined": defined,
            "n_found": int(errors.size),
            "found": errors.size / defined if defined else nan,
            "median_abs_ms": float(np.median(absolute)) if errors.size else nan,
            "p90_abs_ms": float(np.percentile(absolute, 90)) if errors.size else nan,
            "mean_ms": float(np.mean(errors)) if errors.size else nan,
            "sd_ms": float(np.std(errors)) if errors.size else nan,
            "within_tolerance": float(np.mean(absolute <= CSE_TOLERANCES_MS[name])) if errors.size else nan,
            "tolerance_ms": CSE_TOLERANCES_MS[name],
            "n_unreferenced": sum(score.n_unreferenced[name] for score in scores),
        }
    return summary
