"""Lead-quality checks on multi-lead ECG arrays: dead (flat) and clipped (saturated) leads, gaps.

Plain array functions behind :meth:`hybridfield.ecg.ECG.flat_leads`,
:meth:`~hybridfield.ecg.ECG.saturated_leads` and :meth:`~hybridfield.ecg.ECG.drop_unusable`, and
behind the NaN/inf handling of :class:`hybridfield.ecg.ECG` and its ``nan_policy``
(:func:`non_finite_counts`, :func:`fill_non_finite`). ``signals`` is an (n_leads, n_samples) float
array in mV and ``fs`` the sampling rate in Hz; the checks return one boolean per lead (row), in row
order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar

__all__ = [
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
