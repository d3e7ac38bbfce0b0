"""Nef-Net protocol cycles: P onset to P onset, at 500 Hz, zero-padded to 512 samples, labelled.

:func:`nefnet_beats` cuts the cycles the Nef-Net evaluation protocol uses (Chen et al., IJCAI
2021; ``shared/reference/LEADS.md``) from a record and its :class:`~hybridfield.beats.BeatSegmentation`:
one cycle from one P onset to the next, at 500 Hz, zero-padded on the right to 512 samples, with
per-sample region labels P, PR, QRS, ST, T, TP and padding (:data:`REGION_NAMES`). Records at
other rates are resampled first: the PTB record ``ptbdb/s0010_re`` is at 1000 Hz, the Challenge
2021 records at 500 Hz. :func:`minmax_normalise` is the protocol's min-max normalisation, jointly
over all leads of a beat, and :func:`minmax_denormalise` its inverse.

Units: signals in mV (or ``"normalised"``), ``fs`` in Hz, lengths and starts in samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar

from .beats import BeatSegmentation, readonly_copy
from .ecg import ECG

__all__ = [
    "BeatSet",
    "REGION_NAMES",
    "nefnet_beats",
    "minmax_normalise",
    "minmax_denormalise",
]

#: Region labels of a Nef-Net cycle, by integer code (the index in this tuple).
REGION_NAMES: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T", "TP", "padding")
_PADDING = REGION_NAMES.index("padding")


# --------------------------------------------------------------------------------------------
# Nef-Net cycles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BeatSet:
    """Cardiac cycles cut by the Nef-Net protocol, zero-padded to a common length.

    Attributes
    ----------
    signals : (n_beats, n_leads, length) float64
        Cycles in ``units`` (mV, or ``"normalised"`` after :func:`minmax_normalise`); zero after
        ``lengths[i]``.
    regions : (n_beats, length) int8
        Region code of each sample: 0 P, 1 PR, 2 QRS, 3 ST, 4 T, 5 TP, 6 padding
        (:data:`REGION_NAMES`).
    lengths : (n_beats,) int64
        Unpadded length of each cycle, samples.
    lead_names : tuple of str
        Lead of each row of ``signals``.
    fs : float
        Sampling rate, Hz (500 in the protocol).
    record : str or None
        Record name.
    start : (n_beats,) int64
        First sample (the P onset) of each cycle in the record resampled to ``fs``.
    beat_index : (n_beats,) int64
        Index of each cycle's beat in the :class:`BeatSegmentation` it came from.
    n_too_long : int
        Valid cycles dropped because they were longer than ``length``.
    n_unusable : int
        Beats skipped because they (or the next P onset) were not validly delineated.
    units : str
        ``"mV"`` or ``"normalised"``.
    """

    signals: np.ndarray
    regions: np.ndarray
    lengths: np.ndarray
    lead_names: tuple[str, ...]
    fs: float
    record: str | None = None
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    beat_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_too_long: int = 0
    n_unusable: int = 0
    units: str = "mV"

    def __post_init__(self) -> None:
        signals = np.asarray(self.signals, dtype=np.float64)
        if signals.ndim != 3:
            raise ValueError(f"signals must have shape (n_beats, n_leads, length), got {signals.shape}")
        n_beats, n_leads, length = signals.shape
        regions = np.asarray(self.regions)
        if regions.shape != (n_beats, length):
            raise ValueError(f"regions must have shape ({n_beats}, {length}), got {regions.shape}")
        lengths = np.asarray(self.lengths, dtype=np.int64)
        if lengths.shape != (n_beats,):
            raise ValueError(f"lengths must have shape ({n_beats},), got {lengths.shape}")
        if len(self.lead_names) != n_leads:
            raise ValueError(f"lead_names must name the {n_leads} leads of signals, got {len(self.lead_names)}")
        for name in ("start", "beat_index"):
            values = np.asarray(getattr(self, name), dtype=np.int64)
            if values.size == 0 and n_beats:
                values = np.full(n_beats, -1, dtype=np.int64)
            if values.shape != (n_beats,):
                raise ValueError(f"{name} must have shape ({n_beats},), got {values.shape}")
            object.__setattr__(self, name, readonly_copy(values))
        object.__setattr__(self, "signals", readonly_copy(signals))
        object.__setattr__(self, "regions", readonly_copy(regions.astype(np.int8)))
        object.__setattr__(self, "lengths", readonly_copy(lengths))
        object.__setattr__(self, "lead_names", tuple(self.lead_names))
        object.__setattr__(self, "fs", as_positive_scalar(self.fs, "fs", "Hz"))

    @property
    def n_beats(self) -> int:
        """Number of cycles."""
        return int(self.signals.shape[0])

    @property
    def length(self) -> int:
        """Padded length, samples."""
        return int(self.signals.shape[2])

    @property
    def mask(self) -> np.ndarray:
        """(n_beats, length) bool: True on the unpadded samples."""
        return np.arange(self.length)[np.newaxis, :] < self.lengths[:, np.newaxis]

    def __len__(self) -> int:
        return self.n_beats

    def __repr__(self) -> str:
        dropped = f", {self.n_too_long} too long dropped" if self.n_too_long else ""
        return (
            f"<BeatSet | {self.n_beats} beats x {len(self.lead_names)} leads x {self.length} samples "
            f"at {self.fs:g} Hz, "
            f"{self.units}{dropped}{', record ' + self.record if self.record else ''}>"
        )


def _region_labels(bounds: list[int], length: int) -> np.ndarray:
    """Region codes for one cycle; ``bounds`` = p_on, p_off, qrs_on, qrs_off, t_on, t_off, next p_on (absolute)."""
    origin = bounds[0]
    edges = [b - origin for b in bounds]
    labels = np.full(length, _PADDING, dtype=np.int8)
    for code in range(6):
        labels[edges[code] : edges[code + 1]] = code
    return labels


def nefnet_beats(
    ecg: ECG,
    segmentation: BeatSegmentation,
    *,
    length: int = 512,
    fs_target: float = 500.0,
    leads: str | list[str] | tuple[str, ...] | None = None,
) -> BeatSet:
    """Cut Nef-Net protocol cycles: from one P onset to the next, zero-padded to ``length``.

    The record is first resampled to ``fs_target`` if it is at another rate (the PTB record
    ``s0010_re`` is at 1000 Hz and is halved to 500 Hz; the Challenge 2021 records are already at
    500 Hz), and the boundaries are mapped to the new rate by rounding ``index * fs_target / fs``.
    Cycle ``i`` runs from ``p_onset[i]`` up to (excluding) ``p_onset[i + 1]``; it is kept when beat
    ``i`` is ``valid`` and the next P onset exists, follows ``t_offset[i]`` and precedes the next
    QRS onset (when that is found). Regions: P ``[p_onset, p_offset)``, PR ``[p_offset,
    qrs_onset)``, QRS ``[qrs_onset, qrs_offset)``, ST ``[qrs_offset, t_onset)``, T ``[t_onset,
    t_offset)``, TP ``[t_offset, next p_onset)``, padding after. The signals are cut from ``ecg`` as
    given: filter it first (e.g. ``ecg.bandpass(0.5, 40.0)``) to remove baseline wander.

    Parameters
    ----------
    ecg : ECG
        The record that ``segmentation`` was computed on (same ``fs`` and length).
    segmentation : BeatSegmentation
        From :func:`segment_beats`.
    length : int
        Padded cycle length, samples (512 in the protocol: 1.024 s at 500 Hz).
    fs_target : float, Hz
        Rate of the cycles (500 in the protocol).
    leads : str or sequence of str, optional
        Leads to keep, in this order; default all leads of ``ecg``.

    Returns
    -------
    beats : BeatSet
        ``signals (n_beats, n_leads, length)`` in mV, ``regions (n_beats, length)`` int8,
        ``n_too_long`` the number of valid cycles longer than ``length`` that were dropped.

    Raises
    ------
    ValueError
        If ``segmentation`` does not match ``ecg`` or ``length`` is not a positive integer.
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be an ECG, got {type(ecg).__name__}")
    if not isinstance(segmentation, BeatSegmentation):
        raise TypeError(
            f"segmentation must be a BeatSegmentation from segment_beats, got {type(segmentation).__name__}"
        )
    if segmentation.fs != ecg.fs or segmentation.n_samples != ecg.n_samples:
        raise ValueError(
            f"segmentation must come from this ecg: it was computed on {segmentation.n_samples} samples at "
            f"{segmentation.fs:g} Hz, the ecg has {ecg.n_samples} samples at {ecg.fs:g} Hz"
        )
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 8:
        raise ValueError(f"length must be an integer number of samples >= 8, got {length!r}")
    target = as_positive_scalar(fs_target, "fs_target", "Hz")
    if leads is not None:
        ecg = ecg.select(leads)
    resampled = ecg if math.isclose(ecg.fs, target, rel_tol=1e-12) else ecg.resample(target)
    scale = resampled.fs / ecg.fs
    n_resampled = resampled.n_samples

    def mapped(values: np.ndarray) -> np.ndarray:
        return np.where(values >= 0, np.minimum(np.round(values * scale).astype(np.int64), n_resampled), -1)

    p_on, p_off = mapped(segmentation.p_onset), mapped(segmentation.p_offset)
    q_on, q_off = mapped(segmentation.qrs_onset), mapped(segmentation.qrs_offset)
    t_on, t_off = mapped(segmentation.t_onset), mapped(segmentation.t_offset)
    cycles, labels, lengths, starts, indices = [], [], [], [], []
    n_too_long = n_unusable = 0
    for i in range(segmentation.n_beats):
        next_onset = p_on[i + 1] if i + 1 < segmentation.n_beats else -1
        usable = bool(segmentation.valid[i]) and next_onset > t_off[i] and (q_on[i + 1] < 0 or next_onset < q_on[i + 1])
        bounds = [
            int(p_on[i]),
            int(p_off[i]),
            int(q_on[i]),
            int(q_off[i]),
            int(t_on[i]),
            int(t_off[i]),
            int(next_onset),
        ]
        if usable:
            # rounding to the new rate may merge boundaries one sample apart: PR and ST may become
            # empty, the P wave, QRS and T wave may not
            usable = (
                bounds[0] < bounds[1]
                and bounds[2] < bounds[3]
                and bounds[4] < bounds[5]
                and all(a <= b for a, b in pairwise(bounds))
            )
        if not usable:
            n_unusable += 1
            continue
        cycle_length = bounds[-1] - bounds[0]
        if cycle_length > length:
            n_too_long += 1
            continue
        padded = np.zeros((resampled.n_leads, length))
        padded[:, :cycle_length] = resampled.signals[:, bounds[0] : bounds[-1]]
        cycles.append(padded)
        labels.append(_region_labels(bounds, length))
        lengths.append(cycle_length)
        starts.append(bounds[0])
        indices.append(i)
    n_leads = resampled.n_leads
    return BeatSet(
        signals=np.stack(cycles) if cycles else np.zeros((0, n_leads, length)),
        regions=np.stack(labels) if labels else np.zeros((0, length), dtype=np.int8),
        lengths=np.asarray(lengths, dtype=np.int64),
        lead_names=resampled.lead_names,
        fs=resampled.fs,
        record=ecg.record,
        start=np.asarray(starts, dtype=np.int64),
        beat_index=np.asarray(indices, dtype=np.int64),
        n_too_long=n_too_long,
        n_unusable=n_unusable,
    )


# --------------------------------------------------------------------------------------------
# Min-max normalisation
# --------------------------------------------------------------------------------------------


def _beat_arrays(beats: BeatSet | Any, lengths: Any, parameter: str) -> tuple[np.ndarray, np.ndarray]:
    """(signals (n, n_leads, length), mask (n, length)) from a BeatSet or an array (+ lengths)."""
    if isinstance(beats, BeatSet):
        if lengths is not None:
            raise ValueError("lengths must not be given with a BeatSet (it carries its own)")
        return np.asarray(beats.signals), beats.mask
    signals = as_finite_array(beats, parameter, ndim=3)
    n_beats, _, length = signals.shape
    if lengths is None:
        return signals, np.ones((n_beats, length), dtype=bool)
    counts = np.asarray(lengths)
    if (
        counts.shape != (n_beats,)
        or not np.issubdtype(counts.dtype, np.integer)
        or np.any(counts < 1)
        or np.any(counts > length)
    ):
        raise ValueError(f"lengths must be ({n_beats},) integers in [1, {length}], got {counts!r}")
    return signals, np.arange(length)[np.newaxis, :] < counts[:, np.newaxis]


def minmax_normalise(
    beats: BeatSet | Any, *, lengths: Any = None
) -> tuple[BeatSet | np.ndarray, np.ndarray, np.ndarray]:
    """Nef-Net min-max normalisation to [0, 1], jointly over all leads of each beat.

    For beat ``i``, ``minimum[i]`` and ``maximum[i]`` are taken over every lead and every unpadded
    sample, and ``(x - minimum[i]) / (maximum[i] - minimum[i])`` is applied to the unpadded
    samples; the padding stays 0 (as when a normalised beat is padded). A constant beat
    (``maximum == minimum``) is shifted to 0 and not scaled.

    Parameters
    ----------
    beats : BeatSet or (n_beats, n_leads, length) array_like, mV
        Cycles.
    lengths : (n_beats,) int, optional
        Unpadded lengths, for an array input (default: no padding); a BeatSet carries its own.

    Returns
    -------
    normalised : BeatSet or (n_beats, n_leads, length) ndarray
        Same kind as ``beats``; a BeatSet gets ``units="normalised"``.
    minimum, maximum : (n_beats,) ndarray, mV
        Per-beat extremes, for :func:`minmax_denormalise`.
    """
    signals, mask = _beat_arrays(beats, lengths, "beats")
    if signals.shape[0] == 0:
        empty = np.zeros(0)
        return beats, empty, empty
    valid = mask[:, np.newaxis, :]
    minimum = np.where(valid, signals, np.inf).min(axis=(1, 2))
    maximum = np.where(valid, signals, -np.inf).max(axis=(1, 2))
    span = np.where(maximum > minimum, maximum - minimum, 1.0)
    normalised = np.where(valid, (signals - minimum[:, None, None]) / span[:, None, None], 0.0)
    if isinstance(beats, BeatSet):
        return _with_signals(beats, normalised, "normalised"), minimum, maximum
    return normalised, minimum, maximum


def minmax_denormalise(
    normalised: BeatSet | Any, minimum: Any, maximum: Any, *, lengths: Any = None
) -> BeatSet | np.ndarray:
    """Inverse of :func:`minmax_normalise`: ``x * (maximum - minimum) + minimum`` on unpadded samples.

    Parameters
    ----------
    normalised : BeatSet or (n_beats, n_leads, length) array_like
        Normalised cycles (e.g. a model's prediction).
    minimum, maximum : (n_beats,) array_like, mV
        From :func:`minmax_normalise` (of the target beats, to score a prediction in mV).
    lengths : (n_beats,) int, optional
        Unpadded lengths for an array input.

    Returns
    -------
    beats : BeatSet or ndarray, mV
        Padding kept at 0.
    """
    signals, mask = _beat_arrays(normalised, lengths, "normalised")
    n_beats = signals.shape[0]
    low = as_finite_array(minimum, "minimum", ndim=1) if n_beats else np.zeros(0)
    high = as_finite_array(maximum, "maximum", ndim=1) if n_beats else np.zeros(0)
    if low.shape != (n_beats,) or high.shape != (n_beats,):
        raise ValueError(f"minimum and maximum must have shape ({n_beats},), got {low.shape} and {high.shape}")
    if np.any(high < low):
        raise ValueError("maximum must be >= minimum for every beat")
    span = np.where(high > low, high - low, 1.0)
    restored = np.where(mask[:, np.newaxis, :], signals * span[:, None, None] + low[:, None, None], 0.0)
    if isinstance(normalised, BeatSet):
        return _with_signals(normalised, restored, "mV")
    return restored


def _with_signals(beats: BeatSet, signals: np.ndarray, units: str) -> BeatSet:
    return BeatSet(
        signals=signals,
        regions=beats.regions,
        lengths=beats.lengths,
        lead_names=beats.lead_names,
        fs=beats.fs,
        record=beats.record,
        start=beats.start,
        beat_index=beats.beat_index,
        n_too_long=beats.n_too_long,
        n_unusable=beats.n_unusable,
        units=units,
    )
