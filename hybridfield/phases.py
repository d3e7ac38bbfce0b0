"""Cardiac phase bins anchored on R peaks, for phase-dependent priors.

Every sample gets one of ``N_PHASE_BINS`` labels from its position in the cardiac cycle:
seven 20 ms bins from 60 ms before to 80 ms after the R peak (the QRS complex, aligned on the
peak so the loop's time course is captured), four equal bins from 80 ms after the R peak to 60 %
of the RR interval (ST segment and T wave, which move with the heart rate), and three equal bins
from there to 60 ms before the next R peak (TP segment, P wave, PR segment). Samples that belong
to no cycle (before the first or after the last detected beat, beyond one median RR) get the
last label, "unassigned". Only the R peaks are needed, which robust detection finds even where
P and T delineation fails.
"""

from __future__ import annotations

import numpy as np

from geometry.validation import as_positive_scalar

__all__ = ["PHASE_BIN_NAMES", "N_PHASE_BINS", "phase_bins"]

_QRS_EDGES_SECONDS = np.arange(-0.060, 0.0801, 0.020)  # 8 edges -> 7 bins
_REPOLARISATION_BINS = 4
_DIASTOLE_BINS = 3
_REPOLARISATION_END = 0.6  # fraction of RR after the R peak

PHASE_BIN_NAMES: tuple[str, ...] = (
    *(f"QRS {int(round(1000 * a)):+d}..{int(round(1000 * b)):+d} ms" for a, b in zip(_QRS_EDGES_SECONDS[:-1], _QRS_EDGES_SECONDS[1:])),
    *(f"ST-T {k + 1}/{_REPOLARISATION_BINS}" for k in range(_REPOLARISATION_BINS)),
    *(f"TP-P-PR {k + 1}/{_DIASTOLE_BINS}" for k in range(_DIASTOLE_BINS)),
    "unassigned",
)
"""Name of each phase bin, by label."""

N_PHASE_BINS = len(PHASE_BIN_NAMES)


def phase_bins(r_peaks: np.ndarray, n_samples: int, fs: float) -> np.ndarray:
    """Phase-bin label of every sample from the R peaks.

    Parameters
    ----------
    r_peaks : (n_beats,) int
        R-peak sample indices, increasing.
    n_samples : int
        Signal length in samples.
    fs : float
        Sampling rate, Hz.

    Returns
    -------
    labels : (n_samples,) int
        Labels in ``range(N_PHASE_BINS)``; see :data:`PHASE_BIN_NAMES`.
    """
    fs = as_positive_scalar(fs, "fs", "Hz")
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    peaks = np.asarray(r_peaks, dtype=np.int64).ravel()
    if peaks.size and (np.any(np.diff(peaks) <= 0) or peaks.min() < 0 or peaks.max() >= n_samples):
        raise ValueError("r_peaks must be increasing sample indices inside the signal")
    labels = np.full(int(n_samples), N_PHASE_BINS - 1, dtype=np.int64)
    if peaks.size == 0:
        return labels
    median_rr = float(np.median(np.diff(peaks))) if peaks.size > 1 else fs  # samples
    # Each cycle runs from 60 ms before its R peak to 60 ms before the next one.
    next_peaks = np.append(peaks[1:], peaks[-1] + median_rr)
    qrs_edges = np.round(_QRS_EDGES_SECONDS * fs).astype(np.int64)
    diastole_end_offset = int(round(0.060 * fs))
    for index, (peak, next_peak) in enumerate(zip(peaks, next_peaks)):
        rr = next_peak - peak
        if rr > 2.5 * median_rr:  # a missed beat or a pause: do not stretch the bins over it
            next_peak = peak + median_rr
            rr = median_rr
        edges = list(peak + qrs_edges)
        repolarisation_end = peak + _REPOLARISATION_END * rr
        diastole_end = next_peak - diastole_end_offset
        if repolarisation_end <= edges[-1] or diastole_end <= repolarisation_end:
            continue  # implausible spacing: leave the cycle unassigned
        edges += list(np.linspace(edges[-1], repolarisation_end, _REPOLARISATION_BINS + 1)[1:])
        edges += list(np.linspace(repolarisation_end, diastole_end, _DIASTOLE_BINS + 1)[1:])
        edges = np.round(np.asarray(edges)).astype(np.int64)
        for label, (start, stop) in enumerate(zip(edges[:-1], edges[1:])):
            start = int(np.clip(start, 0, n_samples))
            stop = int(np.clip(stop, 0, n_samples))
            if stop > start:
                labels[start:stop] = label
    # Before the first cycle: the diastolic bins of an imagined previous beat, up to one RR back.
    first_start = int(peaks[0] + qrs_edges[0])
    if first_start > 0:
        start = max(0, first_start - int(0.4 * median_rr))
        labels[start:first_start] = N_PHASE_BINS - 2
    return labels
