"""Beat segmentation (R peaks, P/QRS/T boundaries) and Nef-Net protocol cycles.

:func:`segment_beats` finds R peaks and delineates the P wave, QRS complex and T wave of every
beat with NeuroKit2 (``nk.ecg_clean``, ``nk.ecg_peaks``, ``nk.ecg_delineate``) on one lead (II by
default), or on every usable lead with per-beat medians (``multilead=True``). Its lead-robust mode
(the default) detects the R peaks on a polarity-free combination of all usable leads, so an
inverted or dead reference lead does not break detection.

:func:`nefnet_beats` cuts the cycles the Nef-Net evaluation protocol uses (Chen et al., IJCAI
2021; ``shared/reference/LEADS.md``): one cycle from one P onset to the next, at 500 Hz,
zero-padded on the right to 512 samples, with per-sample region labels P, PR, QRS, ST, T, TP and
padding. Records at other rates are resampled first: the PTB record ``ptbdb/s0010_re`` is at
1000 Hz, the Challenge 2021 records at 500 Hz. :func:`minmax_normalise` is the protocol's min-max
normalisation, jointly over all leads of a beat, and :func:`minmax_denormalise` its inverse.

Units: signals in mV, ``fs`` in Hz, boundaries as integer sample indices (``-1`` = not found).
NeuroKit2 (and matplotlib, which it imports) is loaded only when :func:`segment_beats` runs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar

from .data import ECG, LeadNotFoundError, canonical_lead_name

__all__ = [
    "BeatSegmentation",
    "BeatSet",
    "REGION_NAMES",
    "BEAT_QUALITY_FLAGS",
    "DELINEATION_LIMITS",
    "segment_beats",
    "nefnet_beats",
    "minmax_normalise",
    "minmax_denormalise",
]

#: Region labels of a Nef-Net cycle, by integer code (the index in this tuple).
REGION_NAMES: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T", "TP", "padding")
_PADDING = REGION_NAMES.index("padding")

#: Per-beat quality flags of :class:`BeatSegmentation`, from best to worst.
BEAT_QUALITY_FLAGS: tuple[str, ...] = ("good", "irregular", "implausible", "disordered", "missing_waves")

#: Physiological limits, seconds, a delineated beat must satisfy to be valid (generous on purpose:
#: they reject delineation failures, not pathology): name -> (shortest, longest).
DELINEATION_LIMITS: dict[str, tuple[float, float]] = {
    "P wave": (0.02, 0.25),  # p_offset - p_onset
    "PR interval": (0.05, 0.50),  # qrs_onset - p_onset
    "QRS complex": (0.03, 0.25),  # qrs_offset - qrs_onset
    "T wave": (0.04, 0.60),  # t_offset - t_onset
    "QT interval": (0.15, 0.75),  # t_offset - qrs_onset
}

#: A beat is "irregular" when an RR interval next to it departs from the median RR by more than this fraction.
_IRREGULAR_RR_FRACTION = 0.25
#: Preferred delineation leads when none is named: the first usable one is taken.
_PREFERRED_LEADS: tuple[str, ...] = ("II", "I", "V5", "V6", "aVF", "III", "V4", "X", "Y", "Z")
#: Half-width of the window, s, in which an R peak is refined on the delineation lead.
_R_REFINE_HALF_WIDTH = 0.05
#: Clip level, in units of each lead's QRS scale, of the polarity-free detection signal.
_CLIP = 1.5
#: Robust detections smaller than this fraction of the median detection are discarded (artefacts).
_MIN_PEAK_FRACTION = 0.4
#: Multi-lead medians of touching boundaries that cross by at most this much, s, are made to meet.
_MEDIAN_CROSSING_TOLERANCE = 0.02
#: Pass band, Hz, of the polarity-free detection signal (where the QRS has its energy).
_QRS_BAND = (5.0, 20.0)
_METHODS = ("prominence", "dwt", "cwt", "peak")
_NK_KEYS = {
    "p_onset": "ECG_P_Onsets",
    "p_offset": "ECG_P_Offsets",
    "qrs_onset": "ECG_R_Onsets",
    "qrs_offset": "ECG_R_Offsets",
    "t_onset": "ECG_T_Onsets",
    "t_offset": "ECG_T_Offsets",
}
_BOUNDARIES = ("p_onset", "p_offset", "qrs_onset", "r_peak", "qrs_offset", "t_onset", "t_offset")


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------------------------
# Segmentation result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BeatSegmentation:
    """R peaks and wave boundaries of every detected beat of one record.

    All boundary arrays are ``(n_beats,)`` int64 sample indices at ``fs`` into the record that was
    segmented, ``-1`` where NeuroKit2 found no boundary (never NaN).

    Attributes
    ----------
    r_peak, p_onset, p_offset, qrs_onset, qrs_offset, t_onset, t_offset : (n_beats,) int64
        Sample indices; ``qrs_onset``/``qrs_offset`` are NeuroKit2's R onsets/offsets.
    valid : (n_beats,) bool
        Every boundary found, strictly ordered ``p_onset < p_offset <= qrs_onset < r_peak <
        qrs_offset <= t_onset < t_offset``, ``t_offset`` before the next R peak, and every interval
        within :data:`DELINEATION_LIMITS`.
    beat_quality : (n_beats,) str
        ``"missing_waves"`` (a boundary not found), ``"disordered"`` (found but out of order),
        ``"implausible"`` (ordered, an interval outside :data:`DELINEATION_LIMITS`),
        ``"irregular"`` (valid, but an adjacent RR interval departs from the median RR by more than
        25 %: ectopic beat, missed or extra detection) or ``"good"``.
    quality : str
        Overall: ``"unusable"`` (fewer than 2 beats), ``"poor"`` (under half the beats valid, or a
        median heart rate outside 30-200 bpm), ``"fair"`` (under 80 % valid, or over 20 % of the beats
        irregular) or ``"good"``.
    fs : float
        Sampling rate of the segmented record, Hz.
    n_samples : int
        Length of the segmented record.
    lead_used : str
        Reference lead: R peaks are placed on it (and it is the one delineated unless
        ``multilead``).
    lead_inverted : bool
        Whether that lead was flipped (robust mode, predominantly negative QRS) before use.
    robust : bool
        Whether R peaks came from the polarity-free multi-lead detector.
    detection_leads : tuple of str
        Leads that fed R-peak detection.
    delineation_leads : tuple of str
        Leads that were delineated (their per-beat median is reported when there are several).
    method : str
        NeuroKit2 delineation method.
    record : str or None
        Record name.
    notes : tuple of str
        Distinct warnings raised inside NeuroKit2/scipy during segmentation.
    """

    r_peak: np.ndarray
    p_onset: np.ndarray
    p_offset: np.ndarray
    qrs_onset: np.ndarray
    qrs_offset: np.ndarray
    t_onset: np.ndarray
    t_offset: np.ndarray
    valid: np.ndarray
    beat_quality: np.ndarray
    quality: str
    fs: float
    n_samples: int
    lead_used: str
    lead_inverted: bool = False
    robust: bool = True
    detection_leads: tuple[str, ...] = ()
    delineation_leads: tuple[str, ...] = ()
    method: str = "prominence"
    record: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n_beats = np.asarray(self.r_peak).shape[0]
        for name in _BOUNDARIES:
            values = np.asarray(getattr(self, name))
            if values.shape != (n_beats,):
                raise ValueError(f"{name} must have shape ({n_beats},) like r_peak, got {values.shape}")
            object.__setattr__(self, name, _readonly(values.astype(np.int64)))
        object.__setattr__(self, "valid", _readonly(np.asarray(self.valid, dtype=bool)))
        object.__setattr__(self, "beat_quality", _readonly(np.asarray(self.beat_quality, dtype="<U16")))
        for name in ("valid", "beat_quality"):
            if getattr(self, name).shape != (n_beats,):
                raise ValueError(f"{name} must have shape ({n_beats},), got {getattr(self, name).shape}")

    @property
    def n_beats(self) -> int:
        """Number of detected beats (R peaks)."""
        return int(self.r_peak.shape[0])

    @property
    def n_valid(self) -> int:
        """Number of valid beats."""
        return int(np.count_nonzero(self.valid))

    @property
    def rr_intervals(self) -> np.ndarray:
        """(n_beats - 1,) RR intervals, s."""
        return np.diff(self.r_peak) / self.fs

    @property
    def heart_rate(self) -> float:
        """Median heart rate from the RR intervals, beats per minute (NaN with fewer than 2 beats)."""
        rr = self.rr_intervals
        return float(60.0 / np.median(rr)) if rr.size else float("nan")

    def boundaries(self, name: str) -> np.ndarray:
        """Boundary array by name (``"p_onset"``, ..., ``"t_offset"``, ``"r_peak"``).

        Parameters
        ----------
        name : {"p_onset", "p_offset", "qrs_onset", "r_peak", "qrs_offset", "t_onset", "t_offset"}
            Which boundary.

        Returns
        -------
        indices : (n_beats,) int64, read-only
            Sample indices at :attr:`fs` into the segmented record, ``-1`` where the boundary was
            not found.

        Raises
        ------
        ValueError
            If ``name`` is not one of the boundaries.
        """
        if name not in _BOUNDARIES:
            raise ValueError(f"name must be one of {', '.join(_BOUNDARIES)}, got {name!r}")
        return getattr(self, name)

    def __repr__(self) -> str:
        rate = f"{self.heart_rate:.0f} bpm" if self.n_beats > 1 else "no rate"
        flags = ", ".join(
            f"{flag} {count}"
            for flag in BEAT_QUALITY_FLAGS
            if (count := int(np.count_nonzero(self.beat_quality == flag)))
        )
        return (
            f"<BeatSegmentation | {self.n_beats} beats ({self.n_valid} valid; {flags or 'none'}), {rate}, "
            f"quality {self.quality}, lead {self.lead_used}{' (inverted)' if self.lead_inverted else ''} "
            f"at {self.fs:g} Hz"
            f"{', record ' + self.record if self.record else ''}>"
        )


# --------------------------------------------------------------------------------------------
# Segmentation
# --------------------------------------------------------------------------------------------


def _neurokit() -> Any:
    try:
        import neurokit2
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("segment_beats needs NeuroKit2: pip install neurokit2") from error
    return neurokit2


def _choose_lead(ecg: ECG, lead: str | None, unusable: set[str]) -> str:
    if lead is not None:
        name = canonical_lead_name(lead)
        if not ecg.has_lead(name):
            raise LeadNotFoundError(f"lead {lead!r} is not in this ECG; available leads: {', '.join(ecg.lead_names)}")
        name = ecg.lead_names[[n.lower() for n in ecg.lead_names].index(name.lower())]
        if name in unusable:
            raise ValueError(
                f"lead {name!r} is flat or saturated and cannot be delineated; choose another lead or lead=None"
            )
        return name
    for name in _PREFERRED_LEADS + ecg.lead_names:
        if ecg.has_lead(name) and name not in unusable:
            return name
    raise ValueError(f"no usable lead to delineate: every lead is flat or saturated ({', '.join(ecg.lead_names)})")


def _peaks(nk: Any, cleaned: np.ndarray, fs: float) -> np.ndarray:
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return np.unique(np.asarray(info["ECG_R_Peaks"], dtype=np.int64))


def _polarity_free_signal(ecg: ECG, leads: list[str]) -> np.ndarray:
    """Polarity-free QRS signal: root-mean-square over ``leads`` of QRS-band, rescaled, clipped signals.

    Each lead is band-passed to the QRS band (5-20 Hz, zero-phase Butterworth, which suppresses
    baseline, P and T waves), divided by its own QRS scale (the 99th percentile of its absolute
    value) and clipped to [-1.5, 1.5], so that no single lead, and no spike or step artefact in one
    lead, dominates the combination. Squaring makes it blind to polarity.
    """
    from scipy.signal import butter, sosfiltfilt

    high = min(_QRS_BAND[1], 0.45 * ecg.fs)
    sos = butter(2, [_QRS_BAND[0], high], btype="bandpass", fs=ecg.fs, output="sos")
    band = sosfiltfilt(sos, ecg.select(leads).signals, axis=1)
    scale = np.percentile(np.abs(band), 99.0, axis=1)
    usable = scale > 0
    normalised = np.clip(band[usable] / scale[usable, np.newaxis], -_CLIP, _CLIP)
    return np.sqrt(np.mean(normalised**2, axis=0)) if usable.any() else np.zeros(ecg.n_samples)


def _refine_on_lead(signal: np.ndarray, approximate: np.ndarray, fs: float, *, unique: bool = True) -> np.ndarray:
    """Move each approximate R peak to the maximum of ``signal`` within +-50 ms (duplicates merged if ``unique``)."""
    half = max(1, round(_R_REFINE_HALF_WIDTH * fs))
    refined = []
    for peak in approximate:
        start, stop = max(0, peak - half), min(signal.size, peak + half + 1)
        refined.append(start + int(np.argmax(signal[start:stop])))
    array = np.asarray(refined, dtype=np.int64)
    return np.unique(array) if unique else array


def _robust_peaks(nk: Any, ecg: ECG, leads: list[str]) -> np.ndarray:
    """``nk.ecg_peaks`` on the polarity-free signal, without peaks far smaller than the typical QRS."""
    combined = _polarity_free_signal(ecg, leads)
    peaks = _peaks(nk, combined, ecg.fs)
    if peaks.size:
        peaks = peaks[combined[peaks] >= _MIN_PEAK_FRACTION * np.median(combined[peaks])]
    return peaks


def _is_inverted(signal: np.ndarray, peaks: np.ndarray, fs: float) -> bool:
    """Whether the QRS of ``signal`` (baseline-free) is predominantly negative around ``peaks``."""
    if peaks.size == 0:
        return False
    half = max(1, round(_R_REFINE_HALF_WIDTH * fs))
    positive, negative = [], []
    for peak in peaks:
        window = signal[max(0, peak - half) : min(signal.size, peak + half + 1)]
        positive.append(window.max())
        negative.append(-window.min())
    return bool(np.median(negative) > np.median(positive))


def _as_index_array(values: Any, n_beats: int, n_samples: int) -> np.ndarray:
    """NeuroKit2 boundary list (floats, NaN) -> int64 with -1 for missing or out-of-record."""
    if values is None:
        return np.full(n_beats, -1, dtype=np.int64)
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.shape[0] != n_beats:  # NeuroKit2 returns one entry per R peak; be defensive
        padded = np.full(n_beats, np.nan)
        padded[: min(n_beats, array.shape[0])] = array[:n_beats]
        array = padded
    result = np.full(n_beats, -1, dtype=np.int64)
    good = np.isfinite(array) & (array >= 0) & (array < n_samples)
    result[good] = np.round(array[good]).astype(np.int64)
    return result


def _judge_beats(bounds: dict[str, np.ndarray], fs: float, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-beat validity and quality flag (see :class:`BeatSegmentation`)."""
    r_peak = bounds["r_peak"]
    n_beats = r_peak.size
    stacked = np.vstack([bounds[name] for name in _BOUNDARIES])  # (7, n_beats)
    missing = np.any(stacked < 0, axis=0)
    next_r = np.append(r_peak[1:], n_samples)
    p_on, p_off, q_on, r, q_off, t_on, t_off = stacked
    ordered = (
        (p_on < p_off)
        & (p_off <= q_on)
        & (q_on < r)
        & (r < q_off)
        & (q_off <= t_on)
        & (t_on < t_off)
        & (t_off < next_r)
    )
    intervals = {
        "P wave": p_off - p_on,
        "PR interval": q_on - p_on,
        "QRS complex": q_off - q_on,
        "T wave": t_off - t_on,
        "QT interval": t_off - q_on,
    }
    plausible = np.ones(n_beats, dtype=bool)
    for name, (shortest, longest) in DELINEATION_LIMITS.items():
        seconds = intervals[name] / fs
        plausible &= (seconds >= shortest) & (seconds <= longest)
    rr = np.diff(r_peak).astype(np.float64)
    irregular = np.zeros(n_beats, dtype=bool)
    if rr.size:
        deviant = np.abs(rr - np.median(rr)) > _IRREGULAR_RR_FRACTION * np.median(rr)
        irregular[:-1] |= deviant
        irregular[1:] |= deviant
    quality = np.where(
        missing,
        "missing_waves",
        np.where(~ordered, "disordered", np.where(~plausible, "implausible", np.where(irregular, "irregular", "good"))),
    )
    valid = ~missing & ordered & plausible
    return valid, quality


def _overall_quality(valid: np.ndarray, beat_quality: np.ndarray, r_peak: np.ndarray, fs: float) -> str:
    n_beats = r_peak.size
    if n_beats < 2:
        return "unusable"
    rate = 60.0 * fs / float(np.median(np.diff(r_peak)))
    valid_fraction = np.count_nonzero(valid) / n_beats
    if valid_fraction < 0.5 or not 30.0 <= rate <= 200.0:
        return "poor"
    if valid_fraction < 0.8 or np.count_nonzero(beat_quality == "irregular") / n_beats > 0.2:
        return "fair"
    return "good"


def _delineate(
    nk: Any, cleaned: np.ndarray, r_peaks: np.ndarray, fs: float, method: str, n_samples: int
) -> dict[str, np.ndarray]:
    """``nk.ecg_delineate`` -> boundary name -> (n_beats,) int64 with -1 for missing."""
    _, waves = nk.ecg_delineate(cleaned, r_peaks, sampling_rate=fs, method=method)
    return {name: _as_index_array(waves.get(key), r_peaks.size, n_samples) for name, key in _NK_KEYS.items()}


def _multilead_bounds(
    nk: Any, ecg: ECG, leads: list[str], r_peaks: np.ndarray, method: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Delineate every lead (each flipped to an upright QRS) and take the per-beat median boundary.

    A boundary is kept when at least a third of the delineated leads found it. Leads whose refined
    R peaks do not pair one to one with ``r_peaks`` are left out.
    """
    fs, n_beats = ecg.fs, r_peaks.size
    found: dict[str, list[np.ndarray]] = {name: [] for name in _NK_KEYS}
    used = []
    for name in leads:
        cleaned = np.asarray(nk.ecg_clean(ecg[name], sampling_rate=fs), dtype=np.float64)
        if _is_inverted(cleaned, r_peaks, fs):
            cleaned = -cleaned
        peaks = _refine_on_lead(cleaned, r_peaks, fs, unique=False)
        if np.any(np.diff(peaks) <= 0):
            continue
        for key, values in _delineate(nk, cleaned, peaks, fs, method, ecg.n_samples).items():
            found[key].append(values)
        used.append(name)
    bounds: dict[str, np.ndarray] = {}
    min_votes = max(1, math.ceil(len(used) / 3))
    for key, per_lead in found.items():
        if not per_lead:
            bounds[key] = np.full(n_beats, -1, dtype=np.int64)
            continue
        stacked = np.asarray(per_lead, dtype=np.float64)
        stacked[stacked < 0] = np.nan
        votes = np.count_nonzero(np.isfinite(stacked), axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            median = np.nanmedian(stacked, axis=0)
        bounds[key] = np.where(votes >= min_votes, np.round(np.nan_to_num(median, nan=-1.0)), -1).astype(np.int64)
    # Medians of boundaries that touch in each lead (P offset / QRS onset, QRS offset / T onset)
    # can cross by a few samples: reconcile crossings up to _MEDIAN_CROSSING_TOLERANCE.
    tolerance = round(_MEDIAN_CROSSING_TOLERANCE * fs)
    for earlier, later in (("p_offset", "qrs_onset"), ("qrs_offset", "t_onset")):
        first, second = bounds[earlier], bounds[later]
        crossing = (first >= 0) & (second >= 0) & (first > second) & (first - second <= tolerance)
        meeting = np.round((first + second) / 2).astype(np.int64)
        bounds[earlier] = np.where(crossing, meeting, first)
        bounds[later] = np.where(crossing, meeting, second)
    return bounds, tuple(used)


def segment_beats(
    ecg: ECG,
    *,
    lead: str | None = None,
    method: str = "prominence",
    robust: bool = True,
    multilead: bool = False,
) -> BeatSegmentation:
    """Detect R peaks and delineate P, QRS and T of every beat with NeuroKit2.

    Steps:

    1. Flat and saturated leads (:meth:`ECG.flat_leads`, :meth:`ECG.saturated_leads`) are set aside.
    2. The reference lead is ``lead`` or, by default, the first usable of II, I, V5, V6, aVF,
       III, V4, X, Y, Z (then any other); it is cleaned with ``nk.ecg_clean`` (0.5 Hz high-pass,
       mains notch).
    3. R peaks.
       ``robust=False``: ``nk.ecg_peaks`` on the cleaned reference lead, as is.
       ``robust=True``: ``nk.ecg_peaks`` on a polarity-free combination of every usable, measured
       (not virtual) lead: the root-mean-square across leads of each lead band-passed to the QRS
       band (5-20 Hz), scaled by its own 99th percentile of absolute value and clipped at 1.5 (so
       no lead or artefact dominates); detections under 0.4 of the median detection height are
       discarded as artefacts. Each peak is then moved to the maximum of the reference lead within
       +-50 ms, after flipping that lead if its QRS is predominantly negative (median negative
       excursion around the peaks larger than the median positive one); ``lead_inverted`` says
       whether it was flipped. The rule is symmetric, so an inverted lead II gives exactly the
       same R peaks and boundaries as the upright one, and a lead with a small or negative QRS
       does not break detection. (A lead whose QRS is genuinely predominantly negative, such as
       lead II of the PTB infero-lateral infarction s0010_re, is flipped too; its R peaks then sit
       on the dominant negative deflection.)
    4. Delineation with ``nk.ecg_delineate(cleaned, r_peaks, method=method)``: on the (possibly
       flipped) reference lead, or with ``multilead=True`` on every usable measured lead (each
       oriented upright by the same rule, its R peaks refined on it), each boundary being the
       per-beat median over the leads where it was found, kept if found in at least a third of them
       (medians of touching boundaries, P offset / QRS onset and QRS offset / T onset, that cross
       by at most 20 ms are set to meet halfway).
       Warnings raised inside NeuroKit2 (e.g. scipy's "some peaks have a prominence of 0") are
       collected in ``notes`` instead of being shown.
    5. Each beat is judged (``valid``, ``beat_quality``) and the record given an overall
       ``quality``, as documented in :class:`BeatSegmentation`.

    Parameters
    ----------
    ecg : ECG
        The record, at any ``fs`` (the PTB record ``s0010_re`` is at 1000 Hz, the Challenge 2021
        records at 500 Hz); at least 2 s long.
    lead : str, optional
        Reference lead (case-insensitive); must be usable.
    method : {"prominence", "dwt", "cwt", "peak"}
        NeuroKit2 delineation method. ``"prominence"`` (Emrich et al. 2023) is the default: on the
        shared records NeuroKit2 0.2's ``"dwt"`` searches the QRS onset from the P peak and often
        returns it inside the P wave, leaving most beats disordered (valid beats on lead II:
        prominence 44/52 on PTB s0010_re, 9/9 on E07500, 11/11 on HR06000; dwt 21/52, 2/9, 2/11).
        ``"cwt"`` found almost no complete beat there; ``"peak"`` gives no QRS boundaries, so none
        of its beats is valid.
    robust : bool
        Use the polarity-free multi-lead R-peak detector (step 3).
    multilead : bool
        Delineate every usable lead and take medians (step 4); about n_leads times slower, and
        more beats valid when the reference lead has a flat T or P wave.

    Returns
    -------
    segmentation : BeatSegmentation

    Raises
    ------
    ValueError
        Unknown method, unusable named lead, no usable lead at all, a record under 2 s.
    LeadNotFoundError
        If ``lead`` is not in the ECG.
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be an ECG (see hybridfield.data), got {type(ecg).__name__}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    for name, flag in (("robust", robust), ("multilead", multilead)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {type(flag).__name__} {flag!r}")
    if ecg.duration < 2.0:
        raise ValueError(
            f"ecg must last at least 2 s to find beats, got {ecg.duration:.3g} s "
            f"({ecg.n_samples} samples at {ecg.fs:g} Hz)"
        )
    nk = _neurokit()
    fs, n_samples = ecg.fs, ecg.n_samples
    unusable = set(ecg.flat_leads()) | set(ecg.saturated_leads())
    lead_used = _choose_lead(ecg, lead, unusable)
    usable_leads = tuple(name for name in ecg.lead_names if name not in unusable and name not in ecg.virtual) or (
        lead_used,
    )
    inverted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cleaned = np.asarray(nk.ecg_clean(ecg[lead_used], sampling_rate=fs), dtype=np.float64)
        if robust:
            detection_leads = usable_leads
            approximate = _robust_peaks(nk, ecg, list(detection_leads))
            inverted = _is_inverted(cleaned, approximate, fs)
            if inverted:
                cleaned = -cleaned
            r_peaks = _refine_on_lead(cleaned, approximate, fs)
        else:
            detection_leads = (lead_used,)
            r_peaks = _peaks(nk, cleaned, fs)
        bounds = {name: np.full(r_peaks.size, -1, dtype=np.int64) for name in _NK_KEYS}
        delineation_leads: tuple[str, ...] = ()
        if r_peaks.size >= 2 and multilead:
            bounds, delineation_leads = _multilead_bounds(nk, ecg, list(usable_leads), r_peaks, method)
        elif r_peaks.size >= 2:
            bounds, delineation_leads = _delineate(nk, cleaned, r_peaks, fs, method, n_samples), (lead_used,)
    notes = tuple(dict.fromkeys(f"{item.category.__name__}: {item.message}" for item in caught))
    bounds["r_peak"] = r_peaks
    valid, beat_quality = _judge_beats(bounds, fs, n_samples)
    return BeatSegmentation(
        **bounds,
        valid=valid,
        beat_quality=beat_quality,
        quality=_overall_quality(valid, beat_quality, r_peaks, fs),
        fs=fs,
        n_samples=n_samples,
        lead_used=lead_used,
        lead_inverted=inverted,
        robust=bool(robust),
        detection_leads=detection_leads,
        delineation_leads=delineation_leads,
        method=method,
        record=ecg.record,
        notes=notes,
    )


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
            object.__setattr__(self, name, _readonly(values))
        object.__setattr__(self, "signals", _readonly(signals))
        object.__setattr__(self, "regions", _readonly(regions.astype(np.int8)))
        object.__setattr__(self, "lengths", _readonly(lengths))
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
