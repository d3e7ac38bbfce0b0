"""Lead-quality checks on multi-lead ECG arrays: dead (flat) and clipped (saturated) leads, gaps.

Plain array functions behind :meth:`hybridfield.ecg.ECG.flat_leads`,
:meth:`~hybridfield.ecg.ECG.saturated_leads` and :meth:`~hybridfield.ecg.ECG.drop_unusable`, and
behind the NaN/inf handling of :class:`hybridfield.ecg.ECG` and its ``nan_policy``
(:func:`non_finite_counts`, :func:`fill_non_finite`). ``signals`` is an (n_leads, n_samples) float
array in mV and ``fs`` the sampling rate in Hz; the checks return one boolean per lead (row), in row
order.

Plausibility (is this an ECG in mV at a usable rate, with trustworthy beats?): archives hold
records in the wrong units and junk, which would otherwise run through the models without a word.
:func:`plausibility_problems` / :func:`check_plausibility` refuse what cannot be an ECG in mV at a
usable rate (a lead's robust peak-to-peak amplitude above :data:`MAX_ECG_AMPLITUDE_MV`, a sampling
rate below :data:`MIN_ECG_FS`); :func:`beat_consistency` and :func:`untrustworthy_beats` say when
the beats found in a record cannot be trusted (white noise has "beats" too), which callers report
with a :class:`RecordQualityWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar

__all__ = [
    "MAX_ECG_AMPLITUDE_MV",
    "MIN_BEAT_CONSISTENCY",
    "MIN_ECG_FS",
    "RecordQualityWarning",
    "beat_consistency",
    "quality_messages",
    "check_plausibility",
    "plausibility_problems",
    "robust_amplitudes",
    "untrustworthy_beats",
    "describe_non_finite",
    "fill_non_finite",
    "flat_leads",
    "longest_constant_run",
    "non_finite_counts",
    "saturated_leads",
    "true_runs",
]

#: The repairs :func:`fill_non_finite` knows.
FILL_POLICIES = ("interpolate", "drop")


def true_runs(mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop indices of the runs of True in a 1-D boolean array.

    Parameters
    ----------
    mask : (n,) bool
        The array.

    Returns
    -------
    starts : (n_runs,) int
        Index of each run's first True sample (inclusive).
    stops : (n_runs,) int
        Index one past each run's last True sample (exclusive); ``stops - starts`` are the lengths.
    """
    flags = np.asarray(mask, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"mask must be 1-D, got shape {flags.shape}")
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    change = np.diff(padded)
    return np.flatnonzero(change == 1), np.flatnonzero(change == -1)


def longest_constant_run(signal: Any) -> int:
    """Length in samples of the longest run of exactly repeated values.

    Parameters
    ----------
    signal : (n_samples,) float, mV
        One lead.

    Returns
    -------
    length : int
        Between 1 and ``n_samples`` (``n_samples`` when it has fewer than 2 samples).
    """
    values = np.asarray(signal, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"signal must be 1-D (one lead), got shape {values.shape}")
    if values.size < 2:
        return int(values.size)
    starts, stops = true_runs(np.diff(values) == 0)
    return int((stops - starts).max() + 1) if starts.size else 1


def flat_leads(signals: Any, *, threshold_mv: float = 0.01, max_constant_fraction: float = 0.5) -> np.ndarray:
    """Which leads carry no signal (dead channels).

    A lead is flat when its robust amplitude, the range between its 1st and 99th percentiles, is
    below ``threshold_mv`` (so a dead channel with a few spikes is still flat), or when a single
    run of exactly repeated values (:func:`longest_constant_run`) covers more than
    ``max_constant_fraction`` of the record.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    threshold_mv : float, mV
        Smallest robust amplitude of a usable lead (a QRS is typically 0.5-3 mV).
    max_constant_fraction : float in (0, 1]
        Largest fraction of the record a single constant run may cover.

    Returns
    -------
    flat : (n_leads,) bool
        True for the flat leads.
    """
    array = as_finite_array(signals, "signals", ndim=2)
    threshold = as_positive_scalar(threshold_mv, "threshold_mv", "mV")
    fraction = as_positive_scalar(max_constant_fraction, "max_constant_fraction")
    if fraction > 1:
        raise ValueError(f"max_constant_fraction must lie in (0, 1], got {fraction}")
    low, high = np.percentile(array, [1.0, 99.0], axis=1)
    n_samples = array.shape[1]
    return np.array(
        [
            high[index] - low[index] < threshold or longest_constant_run(row) > fraction * n_samples
            for index, row in enumerate(array)
        ],
        dtype=bool,
    )


def saturated_leads(
    signals: Any,
    fs: float,
    *,
    min_duration: float = 0.05,
    clip_duration: float = 0.01,
    min_clips: int = 3,
    tolerance_mv: float = 1e-9,
) -> np.ndarray:
    """Which leads are clipped at the amplifier's range (stuck at their own extreme value).

    For each lead the samples equal (within ``tolerance_mv``) to its own maximum, and separately
    to its own minimum, are grouped into runs. The lead is saturated when one run lasts at least
    ``min_duration`` (stuck), or when at least ``min_clips`` runs at the same extreme last at least
    ``clip_duration`` each (QRS peaks clipped beat after beat). Runs touching the first or last
    sample are ignored: a constant head or tail is how some databases pad their records (the
    PTB-XL records end in about 0.1 s of constant value), not clipping. Flat leads
    (:func:`flat_leads` with its defaults) are never saturated.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    min_duration : float, s
        Shortest single run at an extreme that counts as stuck.
    clip_duration : float, s
        Shortest run counted as one clipped peak.
    min_clips : int
        Number of clipped peaks at one extreme that makes a lead saturated.
    tolerance_mv : float, mV
        Distance from the extreme still counted as at the extreme.

    Returns
    -------
    saturated : (n_leads,) bool
        True for the saturated leads.
    """
    array = as_finite_array(signals, "signals", ndim=2)
    rate = as_positive_scalar(fs, "fs", "Hz")
    stuck_samples = max(2, math.ceil(as_positive_scalar(min_duration, "min_duration", "s") * rate))
    clip_samples = max(2, math.ceil(as_positive_scalar(clip_duration, "clip_duration", "s") * rate))
    if isinstance(min_clips, bool) or not isinstance(min_clips, (int, np.integer)) or min_clips < 1:
        raise ValueError(f"min_clips must be a positive integer, got {min_clips!r}")
    tolerance = float(tolerance_mv)
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance_mv must be a finite non-negative number in mV, got {tolerance_mv!r}")
    flat = flat_leads(array)
    saturated = np.zeros(array.shape[0], dtype=bool)
    for index, signal in enumerate(array):
        if flat[index]:
            continue
        for extreme in (signal.max(), signal.min()):
            starts, stops = true_runs(np.abs(signal - extreme) <= tolerance)
            interior = (starts > 0) & (stops < signal.size)
            lengths = (stops - starts)[interior]
            if lengths.size and (
                lengths.max() >= stuck_samples or np.count_nonzero(lengths >= clip_samples) >= min_clips
            ):
                saturated[index] = True
                break
    return saturated


# --------------------------------------------------------------------------------------------
# Gaps: NaN and infinite samples
# --------------------------------------------------------------------------------------------


def non_finite_counts(signals: Any, lead_names: Sequence[str]) -> dict[str, int]:
    """Number of NaN or infinite samples of each lead that has any.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead.
    lead_names : sequence of str, length n_leads
        Name of each row.

    Returns
    -------
    counts : dict of str to int
        Lead name -> count, in row order, only for the leads with at least one such sample.
    """
    bad = ~np.isfinite(np.asarray(signals, dtype=np.float64))
    if bad.ndim != 2 or bad.shape[0] != len(lead_names):
        raise ValueError(
            f"signals must be (n_leads, n_samples) with one row per lead name ({len(lead_names)}), got {bad.shape}"
        )
    return {lead_names[index]: int(np.count_nonzero(bad[index])) for index in np.flatnonzero(bad.any(axis=1))}


def describe_non_finite(counts: Mapping[str, int], n_samples: int) -> str:
    """One line naming the leads with NaN or infinite samples, for messages.

    Parameters
    ----------
    counts : mapping of str to int
        As returned by :func:`non_finite_counts`.
    n_samples : int
        Samples per lead.

    Returns
    -------
    text : str
        ``"lead II: 3 of 500 samples; lead III: 1 of 500 samples"``.
    """
    return "; ".join(f"lead {name}: {count} of {n_samples} samples" for name, count in counts.items())


def fill_non_finite(
    signals: Any, lead_names: Sequence[str], nan_policy: str
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """Repair the NaN or infinite samples of a record: interpolate them, or drop their leads.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead.
    lead_names : sequence of str, length n_leads
        Name of each row.
    nan_policy : {"interpolate", "drop"}
        Fill each such sample by linear interpolation between the neighbouring finite samples of
        the same lead (constant extrapolation at the edges), or drop every lead that has one.

    Returns
    -------
    signals : (n_kept, n_samples) float, mV
        Repaired (``signals`` itself when every sample is finite).
    kept : list of str
        Names of the rows returned.
    counts : dict of str to int
        :func:`non_finite_counts` of the input: what was filled or dropped.

    Raises
    ------
    ValueError
        If every lead would be dropped, or a lead to interpolate has no finite sample.
    """
    if nan_policy not in FILL_POLICIES:
        raise ValueError(f"nan_policy must be one of {', '.join(map(repr, FILL_POLICIES))}, got {nan_policy!r}")
    array = np.asarray(signals, dtype=np.float64)
    counts = non_finite_counts(array, lead_names)
    if not counts:
        return array, list(lead_names), {}
    if nan_policy == "drop":
        keep = [index for index, name in enumerate(lead_names) if name not in counts]
        if not keep:
            raise ValueError(
                f"signals: every lead contains NaN or infinite samples "
                f"({describe_non_finite(counts, array.shape[1])}); nothing left after nan_policy='drop'"
            )
        return array[keep], [lead_names[index] for index in keep], counts
    filled = array.copy()
    sample_index = np.arange(array.shape[1])
    for index, name in enumerate(lead_names):
        if name not in counts:
            continue
        good = np.isfinite(array[index])
        if not good.any():
            raise ValueError(
                f"signals: lead {name} has no finite sample at all, so nan_policy='interpolate' cannot fill it; "
                "drop it (nan_policy='drop')"
            )
        filled[index] = np.interp(sample_index, sample_index[good], array[index, good])
    return filled, list(lead_names), counts


# --------------------------------------------------------------------------------------------
# Plausibility: an ECG in mV, at a usable rate, with trustworthy beats
# --------------------------------------------------------------------------------------------

#: Largest robust peak-to-peak amplitude, mV, of a lead of an ECG in mV (:func:`robust_amplitudes`).
#: Diagnostic electrocardiographs need only +-5 mV of differential input range (IEC 60601-2-25;
#: Kligfield et al., Circulation 115:1306, 2007): the tallest QRS complexes (left ventricular
#: hypertrophy, athletes; a Sokolow-Lyon index of 3.5 mV already counts as hypertrophy) stay under
#: about 5-7 mV in one lead. On the 302 shared real records (Challenge 2021, LUDB, PTB) the largest
#: robust peak-to-peak is 8.8 mV and the largest raw max - min 19.7 mV. 20 mV keeps them all with
#: margin, while a record in microvolts read as mV (1e3-1e4 "mV") is over it by two orders of magnitude.
MAX_ECG_AMPLITUDE_MV = 20.0

#: Smallest sampling rate, Hz, of a usable record. The preparation contract band-passes to 40 Hz
#: (and resamples to 500 Hz), so a record needs a Nyquist frequency above 40 Hz with room for the
#: anti-aliasing roll-off; the QRS (about 80-100 ms) then still spans 8-10 samples. 100 Hz is the
#: lowest rate of the common archives (PTB-XL ``records100``); 50 Hz cannot hold the QRS band.
MIN_ECG_FS = 100.0

#: Smallest :func:`beat_consistency` of a record whose beats can be trusted. Real beats repeat
#: their QRS: on all 302 shared real records (Challenge 2021, LUDB incl. paced and fibrillating
#: records, PTB) the score is 0.96 or more. Peaks picked in white noise score at most about 0.2 on
#: 12 leads, 0.35 on 3 leads and 0.7 on a single lead (the R peak sits on that lead's own maximum).
MIN_BEAT_CONSISTENCY = 0.8

#: Half-width, s, of the window around each R peak compared across beats by :func:`beat_consistency`
#: (the QRS with a little of the PR and ST segments: more samples make noise score lower).
QRS_HALF_WIDTH = 0.1


class RecordQualityWarning(UserWarning):
    """A record was read or prepared, but its content is doubtful (e.g. no trustworthy beats).

    Filter it like any warning: ``warnings.filterwarnings("ignore", category=RecordQualityWarning)``,
    or ``"error"`` to stop on such records.
    """


def quality_messages(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """The distinct :class:`RecordQualityWarning` messages among caught warnings, in order.

    For batch work over an archive, where each record's warnings are caught
    (``warnings.catch_warnings(record=True)``) and kept beside its output rather than printed.

    Parameters
    ----------
    caught : sequence of warnings.WarningMessage
        What ``warnings.catch_warnings(record=True)`` collected.

    Returns
    -------
    messages : list of str
        Each quality warning's text once (they name the record and the value).
    """
    messages = [str(item.message) for item in caught if issubclass(item.category, RecordQualityWarning)]
    return list(dict.fromkeys(messages))


def _record_label(record: str | None) -> str:
    return f"record {record!r}" if record else "record (unnamed)"


def robust_amplitudes(signals: Any) -> np.ndarray:
    """Robust peak-to-peak amplitude of each lead: the range between its 1st and 99th percentiles.

    Robust to a few spikes (under 1 % of the samples), like :func:`flat_leads`.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.

    Returns
    -------
    amplitudes : (n_leads,) float, mV
    """
    array = as_finite_array(signals, "signals", ndim=2)
    low, high = np.percentile(array, [1.0, 99.0], axis=1)
    return high - low


def plausibility_problems(
    signals: Any,
    fs: float,
    lead_names: Sequence[str],
    *,
    record: str | None = None,
    max_amplitude_mv: float = MAX_ECG_AMPLITUDE_MV,
    min_fs: float = MIN_ECG_FS,
) -> list[str]:
    """What makes a record impossible as an ECG in mV at a usable rate, one message per problem.

    Checks that every lead's :func:`robust_amplitudes` is at most ``max_amplitude_mv`` (a record
    in microvolts, or in another unit, read as mV is far over it) and that ``fs`` is at least
    ``min_fs``.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    lead_names : sequence of str, length n_leads
        Name of each row (for the messages).
    record : str, optional
        Record name (for the messages).
    max_amplitude_mv : float, mV
        Largest robust peak-to-peak amplitude of a lead (:data:`MAX_ECG_AMPLITUDE_MV`).
    min_fs : float, Hz
        Smallest usable sampling rate (:data:`MIN_ECG_FS`).

    Returns
    -------
    problems : list of str
        Empty when the record is plausible; each message names the record and the value.
    """
    array = as_finite_array(signals, "signals", ndim=2)
    rate = as_positive_scalar(fs, "fs", "Hz")
    limit = as_positive_scalar(max_amplitude_mv, "max_amplitude_mv", "mV")
    lowest = as_positive_scalar(min_fs, "min_fs", "Hz")
    if array.shape[0] != len(lead_names):
        raise ValueError(f"signals has {array.shape[0]} rows but {len(lead_names)} lead names were given")
    label = _record_label(record)
    problems = []
    amplitudes = robust_amplitudes(array)
    over = np.flatnonzero(amplitudes > limit)
    if over.size:
        listed = ", ".join(f"{lead_names[index]} {amplitudes[index]:.4g} mV" for index in over)
        problems.append(
            f"{label}: robust peak-to-peak amplitude above {limit:g} mV in {over.size} of {array.shape[0]} "
            f"lead(s) ({listed}); no ECG lead in mV is that large: are the signals in microvolts "
            "(divide by 1000) or in the wrong units?"
        )
    if rate < lowest:
        problems.append(
            f"{label}: sampling rate fs = {rate:g} Hz is below {lowest:g} Hz, too low for the QRS "
            "(the preparation band-passes to 40 Hz); resample from a faster recording, not this one"
        )
    return problems


def check_plausibility(
    signals: Any,
    fs: float,
    lead_names: Sequence[str],
    *,
    record: str | None = None,
    max_amplitude_mv: float = MAX_ECG_AMPLITUDE_MV,
    min_fs: float = MIN_ECG_FS,
) -> None:
    """Raise when a record cannot be an ECG in mV at a usable rate (:func:`plausibility_problems`).

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        One row per lead; finite.
    fs : float, Hz
        Sampling rate.
    lead_names : sequence of str, length n_leads
        Name of each row.
    record : str, optional
        Record name, quoted in the message.
    max_amplitude_mv : float, mV
        Largest robust peak-to-peak amplitude of a lead.
    min_fs : float, Hz
        Smallest usable sampling rate.

    Raises
    ------
    ValueError
        Naming the record, the offending leads and values, or the sampling rate.
    """
    problems = plausibility_problems(
        signals, fs, lead_names, record=record, max_amplitude_mv=max_amplitude_mv, min_fs=min_fs
    )
    if problems:
        raise ValueError("; ".join(problems))


def beat_consistency(signals: Any, r_peaks: Any, fs: float, *, half_width: float = QRS_HALF_WIDTH) -> float:
    """How much the beats of a record look alike: median correlation of each QRS with the template.

    Each beat is the window of ``+-half_width`` s around its R peak (those wholly inside the
    record), every lead's window centred on its mean and the leads concatenated; a beat's score is
    its largest Pearson correlation with any other beat (so that a record with two QRS shapes,
    ventricular pacing with conducted beats, or bigeminy, still scores high), the record's score
    the median over its beats. Real beats repeat their QRS (0.96 or more on the shared real records);
    peaks picked in noise do not (about 0.1-0.2 on 12 leads of white noise, up to 0.7 on one lead).

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
        Usable leads of the record, preferably band-passed (as prepared); finite.
    r_peaks : (n_beats,) int
        R-peak sample indices.
    fs : float, Hz
        Sampling rate.
    half_width : float, s
        Half-width of the QRS window.

    Returns
    -------
    consistency : float in [-1, 1]
        NaN with fewer than 2 beats wholly inside the record.
    """
    array = as_finite_array(signals, "signals", ndim=2)
    rate = as_positive_scalar(fs, "fs", "Hz")
    half = max(2, round(as_positive_scalar(half_width, "half_width", "s") * rate))
    peaks = np.asarray(r_peaks, dtype=np.int64).ravel()
    peaks = peaks[(peaks - half >= 0) & (peaks + half < array.shape[1])]
    if peaks.size < 2:
        return float("nan")
    offsets = np.arange(-half, half + 1)
    windows = array[:, peaks[:, np.newaxis] + offsets]  # (n_leads, n_beats, window)
    windows = windows - windows.mean(axis=2, keepdims=True)
    stacked = windows.transpose(1, 0, 2).reshape(peaks.size, -1)  # (n_beats, n_leads * window)
    norms = np.linalg.norm(stacked, axis=1)
    keep = norms > 0
    if np.count_nonzero(keep) < 2:
        return float("nan")
    unit = stacked[keep] / norms[keep, np.newaxis]
    correlation = unit @ unit.T
    np.fill_diagonal(correlation, -np.inf)
    per_beat = correlation.max(axis=1)
    return float(np.nanmedian(per_beat)) if np.isfinite(per_beat).any() else float("nan")


def untrustworthy_beats(
    quality: str,
    n_beats: int,
    consistency: float,
    *,
    record: str | None = None,
    min_consistency: float = MIN_BEAT_CONSISTENCY,
) -> str | None:
    """Why the beats of a segmented record cannot be trusted, or None when they can.

    Untrustworthy: the segmentation's overall quality is ``"unusable"`` (fewer than 2 beats), or
    the beats do not repeat their shape (:func:`beat_consistency` below ``min_consistency``, or
    NaN). A ``"poor"`` quality alone is not enough: on real tachycardic records the R peaks are
    right and only the P/T delineation fails.

    Parameters
    ----------
    quality : str
        Overall quality of :class:`hybridfield.beats.BeatSegmentation`.
    n_beats : int
        Beats (R peaks) found.
    consistency : float
        :func:`beat_consistency` of the record.
    record : str, optional
        Record name, quoted in the message.
    min_consistency : float
        Threshold (:data:`MIN_BEAT_CONSISTENCY`).

    Returns
    -------
    reason : str or None
        A message naming the record and the value, or None.
    """
    label = _record_label(record)
    if quality == "unusable":
        return f"{label}: no trustworthy beats: segmentation quality 'unusable' ({n_beats} beat(s) found)"
    if not np.isfinite(consistency) or consistency < min_consistency:
        return (
            f"{label}: no trustworthy beats: the {n_beats} beats found do not repeat their QRS shape "
            f"(beat consistency {consistency:.2f} < {min_consistency:g}; segmentation quality {quality!r}); "
            "noise or artefact rather than an ECG?"
        )
    return None
