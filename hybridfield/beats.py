"""Beat segmentation: R peaks and P/QRS/T boundaries of every beat of a record.

:func:`segment_beats` finds R peaks and delineates the P wave, QRS complex and T wave of every
beat with NeuroKit2 (``nk.ecg_clean``, ``nk.ecg_peaks``, ``nk.ecg_delineate``) on one lead (II by
default), or on every usable lead with per-beat medians (``multilead=True``). Its lead-robust mode
(the default) detects the R peaks on a polarity-free combination of all usable leads, so an
inverted or dead reference lead does not break detection. The result, a :class:`BeatSegmentation`,
is what :func:`hybridfield.protocol_cycles.nefnet_beats` cuts the Nef-Net protocol cycles from.

Units: signals in mV, ``fs`` in Hz, boundaries as integer sample indices (``-1`` = not found).
NeuroKit2 (and matplotlib, which it imports) is loaded only when :func:`segment_beats` runs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ecg import ECG, LeadNotFoundError
from .leads import canonical_lead_name

__all__ = [
    "BeatSegmentation",
    "BEAT_QUALITY_FLAGS",
    "DELINEATION_LIMITS",
    "NEUROKIT_WAVE_KEYS",
    "readonly_copy",
    "segment_beats",
]

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
#: NeuroKit2's ``ecg_delineate`` key of each wave boundary: boundary name -> key.
NEUROKIT_WAVE_KEYS: dict[str, str] = {
    "p_onset": "ECG_P_Onsets",
    "p_offset": "ECG_P_Offsets",
    "qrs_onset": "ECG_R_Onsets",
    "qrs_offset": "ECG_R_Offsets",
    "t_onset": "ECG_T_Onsets",
    "t_offset": "ECG_T_Offsets",
}
_BOUNDARIES = ("p_onset", "p_offset", "qrs_onset", "r_peak", "qrs_offset", "t_onset", "t_offset")


def readonly_copy(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array`` (the frozen arrays of the beat and cycle dataclasses).

    Parameters
    ----------
    array : array_like

    Returns
    -------
    copy : ndarray
        Not writeable.
    """
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
            object.__setattr__(self, name, readonly_copy(values.astype(np.int64)))
        object.__setattr__(self, "valid", readonly_copy(np.asarray(self.valid, dtype=bool)))
        object.__setattr__(self, "beat_quality", readonly_copy(np.asarray(self.beat_quality, dtype="<U16")))
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
    return {name: _as_index_array(waves.get(key), r_peaks.size, n_samples) for name, key in NEUROKIT_WAVE_KEYS.items()}


def _multilead_bounds(
    nk: Any, ecg: ECG, leads: list[str], r_peaks: np.ndarray, method: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Delineate every lead (each flipped to an upright QRS) and take the per-beat median boundary.

    A boundary is kept when at least a third of the delineated leads found it. Leads whose refined
    R peaks do not pair one to one with ``r_peaks`` are left out.
    """
    fs, n_beats = ecg.fs, r_peaks.size
    found: dict[str, list[np.ndarray]] = {name: [] for name in NEUROKIT_WAVE_KEYS}
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
        raise TypeError(f"ecg must be an ECG (see hybridfield.ecg), got {type(ecg).__name__}")
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
        bounds = {name: np.full(r_peaks.size, -1, dtype=np.int64) for name in NEUROKIT_WAVE_KEYS}
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
