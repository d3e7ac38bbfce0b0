"""Cycles on every beat: the windows the hybrid residual is learned and applied on.

Nef-Net's protocol cuts a record from one P onset to the next (:func:`hybridfield.nefnet_beats`),
so a beat whose P wave was not found (atrial fibrillation or flutter, a missed P onset, an ectopic
beat) gets no cycle, and neither do cycles longer than the network's window. Here every detected
R peak gets one, and consecutive cycles abut, so the learned residual covers the record from the
first cycle's start to the last one's end:

- **Boundaries.** Beat ``k``'s cycle starts at its P onset when delineation found one in a
  plausible place (after the previous beat's T offset and R peak + 40 % of the RR interval, at
  most ``MAX_PR_SECONDS`` before the R peak, before the QRS onset), otherwise at
  ``R_k - min(PRE_R_FRACTION * RR, PRE_R_MAX_SECONDS)``; it ends where the next cycle starts, the
  last one an RR interval after its own start (clipped to the record).
- **Regions** (Nef-Net's deflection regions, codes of :data:`hybridfield.protocol_cycles.REGION_NAMES`):
  the boundaries delineation found for the beat, where they are ordered inside the cycle. What
  the network is given where it found none: no P wave (an empty P region: the cycle starts with
  its PR region); QRS onset 40 ms before the R peak and offset 50 ms after it; T offset at the
  QRS offset plus ``min(0.30 s, 0.45 RR)``; T onset 160 ms before the T offset (not before the
  QRS offset).
- **Long cycles** (longer than the network's window, a bradycardia or a pause) keep their first
  part up to 40 ms after the T offset and their last part; the diastolic middle is left out of
  what the network sees and its residual is interpolated linearly across it when stitched back.
- **Stitching** (:func:`stitch_cycles`): each cycle's residual, which the network tapers to
  zero at both ends, is written back at its samples, so joints are continuous. The record's ends
  outside every cycle get the nearest cycle's residual repeated one RR interval out (zero at its
  joint and tapered to zero at its far end), and zero beyond.

Units: ``fs`` in Hz, boundaries and lengths in samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geometry.validation import as_positive_scalar

from .protocol_cycles import REGION_NAMES

__all__ = [
    "BeatCycles",
    "beat_cycles",
    "cut_beat_cycles",
    "stitch_cycles",
    "PRE_R_FRACTION",
    "PRE_R_MAX_SECONDS",
    "MAX_PR_SECONDS",
]

#: A cycle without a usable P onset starts this fraction of the preceding RR interval before its R peak ...
PRE_R_FRACTION = 0.30
#: ... and at most this long before it, s (a typical P onset sits 0.18-0.25 s before the R peak).
PRE_R_MAX_SECONDS = 0.28
#: A P onset further than this before its R peak is not used as a cycle boundary, s.
MAX_PR_SECONDS = 0.40

_PADDING = REGION_NAMES.index("padding")
_QRS_ONSET_DEFAULT = 0.040  # s before the R peak
_QRS_OFFSET_DEFAULT = 0.050  # s after the R peak
_T_WAVE_DEFAULT = 0.160  # s, T onset before the T offset
_KEEP_AFTER_T = 0.040  # s kept after the T offset of a long cycle before its diastole is left out


@dataclass(frozen=True, eq=False)
class BeatCycles:
    """Cycles of one record, one per detected beat, abutting, with the samples each one shows.

    Attributes
    ----------
    start, stop : (n_cycles,) int64
        First sample and one past the last sample of each cycle in the record; ``stop[k] ==
        start[k + 1]``.
    index : (n_cycles, length) int64
        Record sample at each position of each cycle as the network sees it, ``-1`` on the
        padding. Consecutive except across the left-out middle of a long cycle.
    regions : (n_cycles, length) int8
        Region code of each position (0 P .. 5 TP, 6 padding).
    lengths : (n_cycles,) int64
        Positions in use (at most ``length``).
    r_peak : (n_cycles,) int64
        The R peak of each cycle.
    p_found : (n_cycles,) bool
        Whether the cycle has a P wave from delineation (else its P region is empty).
    delineated : (n_cycles,) bool
        Whether every region boundary came from delineation (none of the defaults above).
    n_samples : int
        Length of the record.
    fs : float
        Sampling rate, Hz.
    """

    start: np.ndarray
    stop: np.ndarray
    index: np.ndarray
    regions: np.ndarray
    lengths: np.ndarray
    r_peak: np.ndarray
    p_found: np.ndarray
    delineated: np.ndarray
    n_samples: int
    fs: float

    @property
    def n_cycles(self) -> int:
        """Number of cycles (one per detected beat)."""
        return int(self.start.size)

    # the name the callers of the Nef-Net BeatSet use
    n_beats = n_cycles

    @property
    def length(self) -> int:
        """Padded length, samples."""
        return int(self.index.shape[1])

    @property
    def mask(self) -> np.ndarray:
        """(n_cycles, length) bool: True on the positions in use."""
        return self.index >= 0

    def served(self) -> np.ndarray:
        """Samples inside a cycle, where the learned residual applies.

        Returns
        -------
        inside : (n_samples,) bool
        """
        inside = np.zeros(self.n_samples, dtype=bool)
        for start, stop in zip(self.start, self.stop):
            inside[start:stop] = True
        return inside

    def served_between_r_peaks(self) -> float:
        """Share of the samples from the first to the last R peak that lie inside a cycle.

        Returns
        -------
        fraction : float
            In [0, 1]; 1 with under 2 beats.
        """
        if self.n_cycles < 2:
            return 1.0
        first, last = int(self.r_peak.min()), int(self.r_peak.max())
        return float(self.served()[first : last + 1].mean())


def _rr_intervals(peaks: np.ndarray, fs: float) -> np.ndarray:
    """RR interval before each beat (the next one's for the first; 1 s with one beat), samples."""
    if peaks.size < 2:
        return np.full(peaks.size, fs)
    gaps = np.diff(peaks).astype(np.float64)
    # a pause (missed beat) would stretch the pre-R window: cap every RR at 2 medians
    return np.minimum(np.concatenate([[gaps[0]], gaps]), 2.0 * float(np.median(gaps)))


def _found(value: int, low: float, high: float) -> bool:
    return value >= 0 and low < value < high


def beat_cycles(segmentation, n_samples: int, fs: float, length: int) -> BeatCycles:
    """One cycle per detected beat, abutting (see the module docstring for the rules).

    Parameters
    ----------
    segmentation : BeatSegmentation
        Beats of the record (:func:`hybridfield.segment_beats`); only ``r_peak`` is required,
        the other boundaries are used where found.
    n_samples : int
        Length of the record, samples.
    fs : float
        Sampling rate, Hz (the segmentation's).
    length : int
        Padded cycle length the network takes, samples (>= 0.4 s).

    Returns
    -------
    cycles : BeatCycles
        Empty when no R peak was found.
    """
    fs = as_positive_scalar(fs, "fs", "Hz")
    if isinstance(length, bool) or int(length) != length or length < 0.4 * fs:
        raise ValueError(f"length must be an integer number of samples >= 0.4 s ({0.4 * fs:g}), got {length!r}")
    length, n_samples = int(length), int(n_samples)
    if getattr(segmentation, "n_samples", n_samples) != n_samples or float(getattr(segmentation, "fs", fs)) != fs:
        raise ValueError(
            f"segmentation was computed on {segmentation.n_samples} samples at {segmentation.fs:g} Hz, "
            f"not on this record ({n_samples} samples at {fs:g} Hz)"
        )
    r_all = np.asarray(segmentation.r_peak, dtype=np.int64)
    keep = np.flatnonzero((r_all >= 0) & (r_all < n_samples))
    keep = keep[np.concatenate([[True], np.diff(r_all[keep]) > 0])] if keep.size else keep
    peaks = r_all[keep]

    def boundary(name: str) -> np.ndarray:
        return np.asarray(getattr(segmentation, name), dtype=np.int64)[keep]

    p_on, p_off = boundary("p_onset"), boundary("p_offset")
    q_on, q_off = boundary("qrs_onset"), boundary("qrs_offset")
    t_on, t_off = boundary("t_onset"), boundary("t_offset")
    n = peaks.size
    rr = _rr_intervals(peaks, fs)
    starts = np.empty(n, dtype=np.int64)
    p_used = np.zeros(n, dtype=bool)
    for k in range(n):
        fallback = peaks[k] - int(round(min(PRE_R_FRACTION * rr[k], PRE_R_MAX_SECONDS * fs)))
        earliest = peaks[k] - MAX_PR_SECONDS * fs
        if k:
            earliest = max(earliest, peaks[k - 1] + 0.4 * rr[k], t_off[k - 1] if t_off[k - 1] > peaks[k - 1] else -1)
        latest = q_on[k] if peaks[k] - 0.25 * fs < q_on[k] < peaks[k] else peaks[k] - 0.02 * fs
        if _found(p_on[k], earliest - 1, latest):
            starts[k], p_used[k] = p_on[k], True
        else:
            starts[k] = fallback
        if k:
            starts[k] = max(starts[k], peaks[k - 1] + 1)
    if n:
        starts[0] = max(starts[0], 0)
    stops = np.append(starts[1:], min(n_samples, starts[-1] + int(round(rr[-1])))) if n else starts.copy()
    stops = np.maximum(stops, np.minimum(peaks + 1, n_samples))
    index = np.full((n, length), -1, dtype=np.int64)
    regions = np.full((n, length), _PADDING, dtype=np.int8)
    lengths = np.zeros(n, dtype=np.int64)
    p_found = np.zeros(n, dtype=bool)
    delineated = np.zeros(n, dtype=bool)
    for k in range(n):
        start, stop, peak = int(starts[k]), int(stops[k]), int(peaks[k])
        qrs_onset = q_on[k] if _found(q_on[k], start - 1, peak) else max(start, peak - round(_QRS_ONSET_DEFAULT * fs))
        qrs_offset = q_off[k] if _found(q_off[k], peak, stop) else min(stop, peak + round(_QRS_OFFSET_DEFAULT * fs))
        t_default = qrs_offset + round(min(0.30 * fs, 0.45 * rr[k]))
        t_offset = t_off[k] if _found(t_off[k], qrs_offset, stop + 1) else min(stop, t_default)
        t_onset = t_on[k] if _found(t_on[k], qrs_offset - 1, t_offset) else max(qrs_offset, t_offset - round(_T_WAVE_DEFAULT * fs))
        has_p = bool(p_used[k] and _found(p_off[k], start, qrs_onset + 1))
        p_offset = int(p_off[k]) if has_p else start
        p_found[k] = has_p
        delineated[k] = has_p and all(
            v >= 0 and v == w for v, w in ((q_on[k], qrs_onset), (q_off[k], qrs_offset), (t_on[k], t_onset), (t_off[k], t_offset))
        )
        bounds = np.maximum.accumulate(np.clip([start, p_offset, qrs_onset, qrs_offset, t_onset, t_offset, stop], start, stop))
        size = stop - start
        if size <= length:
            positions = np.arange(start, stop)
        else:  # leave the diastolic middle out: keep up to just after the T wave, and the end
            head = int(np.clip(bounds[5] - start + round(_KEEP_AFTER_T * fs), length // 2, length - round(0.05 * fs)))
            positions = np.concatenate([np.arange(start, start + head), np.arange(stop - (length - head), stop)])
        used = positions.size
        index[k, :used] = positions
        # region of each position: the number of boundaries (P offset .. T offset) at or before it
        regions[k, :used] = np.searchsorted(bounds[1:6], positions, side="right")
        lengths[k] = used
    return BeatCycles(
        start=starts, stop=stops, index=index, regions=regions, lengths=lengths, r_peak=peaks,
        p_found=p_found, delineated=delineated, n_samples=n_samples, fs=fs,
    )


def cut_beat_cycles(signals: np.ndarray, cycles: BeatCycles) -> np.ndarray:
    """The cycles' positions of signals, zero on the padding.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
    cycles : BeatCycles

    Returns
    -------
    cut : (n_cycles, n_leads, length) float32, mV
    """
    signals = np.asarray(signals)
    if signals.ndim != 2 or signals.shape[1] != cycles.n_samples:
        raise ValueError(f"signals must have shape (n_leads, {cycles.n_samples}), got {signals.shape}")
    cut = signals[:, np.clip(cycles.index, 0, None)].transpose(1, 0, 2).astype(np.float32)
    cut *= cycles.mask[:, None, :]
    return cut


def stitch_cycles(values: np.ndarray, cycles: BeatCycles, *, extend_ends: bool = True) -> np.ndarray:
    """Per-cycle values (a residual) written back onto the record's time base.

    Parameters
    ----------
    values : (n_cycles, n_views, length) float
        One value per position of each cycle (padding ignored); the residual is expected to be
        zero at each cycle's ends, so joints are continuous.
    cycles : BeatCycles
    extend_ends : bool
        Give the samples before the first and after the last cycle the nearest cycle's values
        repeated one cycle out (see the module docstring).

    Returns
    -------
    stitched : (n_views, n_samples) float64
        Zero outside every cycle (and beyond the extended ends).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3 or values.shape[0] != cycles.n_cycles or values.shape[2] != cycles.length:
        raise ValueError(f"values must have shape ({cycles.n_cycles}, n_views, {cycles.length}), got {values.shape}")
    out = np.zeros((values.shape[1], cycles.n_samples))
    for k in range(cycles.n_cycles):
        used = int(cycles.lengths[k])
        positions = cycles.index[k, :used]
        out[:, positions] = values[k, :, :used]
        jumps = np.flatnonzero(np.diff(positions) > 1)
        for jump in jumps:  # the left-out diastole of a long cycle: linear between its neighbours
            left, right = int(positions[jump]), int(positions[jump + 1])
            weight = (np.arange(left + 1, right) - left) / (right - left)
            out[:, left + 1 : right] = (1 - weight) * out[:, [left]] + weight * out[:, [right]]
    if extend_ends and cycles.n_cycles:
        first_start, first_stop = int(cycles.start[0]), int(cycles.stop[0])
        period = first_stop - first_start
        span = min(first_start, period)
        if span > 0:
            source = out[:, first_stop - span : first_stop]
            out[:, first_start - span : first_start] = source * _far_taper(span, period)[::-1]
        last_start, last_stop = int(cycles.start[-1]), int(cycles.stop[-1])
        period = last_stop - last_start
        span = min(cycles.n_samples - last_stop, period)
        if span > 0:
            source = out[:, last_start : last_start + span]
            out[:, last_stop : last_stop + span] = source * _far_taper(span, period)
    return out


def _far_taper(span: int, period: int) -> np.ndarray:
    """1 near the joint, falling to 0 over the last quarter of a repeated cycle (raised cosine)."""
    distance = np.arange(span) / max(period, 1)  # 0 at the joint, towards 1 one cycle out
    ramp = np.clip((distance - 0.75) / 0.25, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * ramp))
