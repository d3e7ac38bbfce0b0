"""Parametric heart-vector simulator: sums of 3-D Gaussian waves for P, QRS and T.

The heart vector (current dipole moment) ``p(t)`` is modelled beat by beat as a sum of Gaussian
waves, each with its own centre time, width and a 3-D amplitude vector in the body frame
(x anterior, y left, z superior), in mA*m:

``p(t) = sum_beats sum_waves a_w * exp(-(t - c_w)² / (2 s_w²))``.

This is the time-domain form of the Gaussian-kernel ECG model of McSharry et al. (ECGSYN) carried
to three dimensions as in the dipole model of Sameni et al.; overlapping waves with different
directions trace the rotating P, QRS and T loops of the vectorcardiogram.

- P. E. McSharry, G. D. Clifford, L. Tarassenko, L. A. Smith, "A dynamical model for generating
  synthetic electrocardiogram signals", IEEE Trans Biomed Eng 50(3):289-294, 2003.
- R. Sameni, G. D. Clifford, C. Jutten, M. B. Shamsollahi, "Multichannel ECG and noise modeling:
  application to maternal and fetal ECG signals", EURASIP J Adv Signal Process 2007:043407, 2007.
- H. C. Bazett, "An analysis of the time-relations of electrocardiograms", Heart 7:353-370, 1920
  (QT rate correction used here: ``QT = QTc * sqrt(RR)``).

Conduction presets
------------------
``"normal"``: small leftward-inferior P; QRS 90 ms with initial septal forces rightward-anterior-
superior, the main forces leftward-inferior-slightly posterior (frontal axis about +55 deg) and a
small terminal posterior-superior-rightward S; T concordant (leftward, inferior, anterior).
``"lbbb"``: QRS 150 ms, no rightward septal force, leftward-posterior forces throughout with two
humps 50 ms apart (broad notched R in I and V6, QS in V1); T discordant (rightward, anterior).
``"rbbb"``: QRS 145 ms, normal initial septal and left-ventricular forces followed by a slow
terminal force rightward and anterior (about 50 ms): rsR' in V1, broad S in I and V6; T discordant
to the terminal force.

Amplitude
---------
Every preset is scaled so that the noise-free peak ``|p|`` during the QRS equals
:data:`PEAK_QRS_MOMENT` (mA*m); beat-to-beat jitter moves it by a few per cent. The Frank leads'
lead vectors on an adult torso are about 50-80 mV per mA*m, so 0.025 mA*m gives QRS peaks of
1.2-2 mV in the Frank leads. Re-tune the constant to a torso model if needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from geometry.validation import as_positive_scalar

__all__ = [
    "PEAK_QRS_MOMENT",
    "CONDITIONS",
    "HEART_RATE_RANGE",
    "HeartbeatAnnotations",
    "simulate_heart_vector",
]

PEAK_QRS_MOMENT: float = 0.025
"""Peak heart-vector magnitude during the QRS complex, mA*m (the one overall amplitude scale)."""

CONDITIONS: tuple[str, ...] = ("normal", "lbbb", "rbbb")
"""Conduction presets accepted by :func:`simulate_heart_vector`."""

HEART_RATE_RANGE: tuple[float, float] = (30.0, 220.0)
"""Accepted heart rates, beats per minute (inclusive)."""

# Timing constants (seconds)
_NOMINAL_RR = 60.0 / 70.0
_PR_AT_70_BPM = 0.16  # P onset -> QRS onset
_P_DURATION = 0.10
_QTC = 0.40  # Bazett-corrected QT for a normal QRS
_T_FRACTION_OF_ST_T = 0.55  # T wave occupies the last 55 % of the QRS-offset -> T-offset span
_LEAD_IN = 0.05  # first P onset, s after the start of the signal

# Beat-to-beat variability
_RR_JITTER = 0.04  # relative std of RR
_AMPLITUDE_JITTER = 0.03  # relative std of the per-beat amplitude
_AXIS_JITTER_DEG = 2.0  # std of the per-beat rotation angle, degrees
_CLIP_SIGMAS = 3.0
_RESPIRATION_ROTATION_DEG = 4.0  # frontal-plane rotation amplitude with respiration
_RESPIRATION_AMPLITUDE = 0.05  # relative amplitude modulation with respiration
_RESPIRATION_RR = 0.02  # relative RR modulation (respiratory sinus arrhythmia)


@dataclass(frozen=True)
class _Wave:
    """One Gaussian wave: centre and width (s, or fractions of a window), relative amplitude, direction."""

    centre: float
    width: float
    amplitude: float
    direction: tuple[float, float, float]

    def vector(self) -> np.ndarray:
        direction = np.asarray(self.direction, dtype=np.float64)
        return self.amplitude * direction / np.linalg.norm(direction)


@dataclass(frozen=True)
class _Preset:
    """Waves of one conduction preset.

    ``qrs`` centres/widths are absolute seconds from QRS onset; ``p`` and ``t`` centres/widths are
    fractions of their window (P: [p_onset, p_onset + P duration]; T: [t_onset, t_offset]).
    Amplitudes are relative to the QRS scale.
    """

    qrs_duration: float
    p: tuple[_Wave, ...]
    qrs: tuple[_Wave, ...]
    t: tuple[_Wave, ...]


# P: right atrium (anterior-inferior) then left atrium (leftward-posterior); overall leftward-inferior.
_P_WAVES = (
    _Wave(0.40, 0.17, 0.06, (0.45, 0.35, -0.82)),
    _Wave(0.60, 0.17, 0.06, (-0.35, 0.80, -0.50)),
)


def _t_waves(amplitude: float, direction: tuple[float, float, float]) -> tuple[_Wave, ...]:
    # Slow upstroke, faster downstroke (two overlapping Gaussians, same direction).
    return (
        _Wave(0.50, 0.20, 0.55 * amplitude, direction),
        _Wave(0.66, 0.13, 0.70 * amplitude, direction),
    )


_SEPTAL_RIGHTWARD = (0.55, -0.65, 0.35)  # rightward-anterior-superior
_EARLY_LV = (0.45, 0.60, -0.55)  # anterior-leftward-inferior (apical)
_MAIN_LV = (-0.40, 0.55, -0.80)  # leftward-inferior-posterior, frontal axis ~ +55 deg

_PRESETS: dict[str, _Preset] = {
    "normal": _Preset(
        qrs_duration=0.090,
        p=_P_WAVES,
        qrs=(
            _Wave(0.014, 0.0055, 0.12, _SEPTAL_RIGHTWARD),
            _Wave(0.033, 0.0085, 0.38, _EARLY_LV),
            _Wave(0.047, 0.0095, 1.00, _MAIN_LV),
            _Wave(0.069, 0.0080, 0.22, (-0.55, -0.35, 0.75)),  # terminal posterior-superior-rightward
        ),
        t=_t_waves(0.30, (0.35, 0.72, -0.60)),  # concordant: leftward, inferior, anterior
    ),
    "lbbb": _Preset(
        qrs_duration=0.150,
        p=_P_WAVES,
        qrs=(
            _Wave(0.020, 0.0090, 0.30, (-0.15, 0.95, -0.10)),  # septum activated right -> left
            _Wave(0.052, 0.0140, 0.85, (-0.35, 0.88, -0.25)),  # first leftward hump
            _Wave(0.102, 0.0160, 1.00, (-0.55, 0.80, -0.05)),  # second hump, 50 ms later
            _Wave(0.130, 0.0080, 0.30, (-0.60, 0.60, 0.20)),  # late posterior-basal
        ),
        t=_t_waves(0.38, (0.55, -0.78, 0.20)),  # discordant: rightward, anterior
    ),
    "rbbb": _Preset(
        qrs_duration=0.145,
        p=_P_WAVES,
        qrs=(
            _Wave(0.014, 0.0055, 0.15, _SEPTAL_RIGHTWARD),
            _Wave(0.033, 0.0085, 0.40, _EARLY_LV),
            _Wave(0.048, 0.0100, 1.00, _MAIN_LV),
            _Wave(0.102, 0.0170, 0.60, (0.75, -0.62, 0.05)),  # slow terminal rightward-anterior
        ),
        t=_t_waves(0.28, (-0.25, 0.85, -0.45)),  # discordant to the terminal force
    ),
}


@dataclass(frozen=True, repr=False)
class HeartbeatAnnotations:
    """Fiducial points of the complete beats of a simulated heart vector, as sample indices.

    All index arrays have shape (n_beats,) and dtype int64 and index the columns of the (3, n)
    heart vector returned with them. Only beats that lie entirely inside the signal are listed.

    Attributes
    ----------
    fs : float
        Sampling rate, Hz.
    condition : str
        Conduction preset ("normal", "lbbb" or "rbbb").
    p_onset, p_offset : (n_beats,) ndarray of int64
        Start and end of the P wave.
    qrs_onset, qrs_offset : (n_beats,) ndarray of int64
        Start and end of the QRS complex.
    r_peak : (n_beats,) ndarray of int64
        Sample of the largest ``|p|`` inside the QRS complex.
    t_onset, t_offset : (n_beats,) ndarray of int64
        Start and end of the T wave (``t_offset - qrs_onset`` is the QT interval).
    """

    fs: float
    condition: str
    p_onset: np.ndarray
    p_offset: np.ndarray
    qrs_onset: np.ndarray
    r_peak: np.ndarray
    qrs_offset: np.ndarray
    t_onset: np.ndarray
    t_offset: np.ndarray

    @property
    def n_beats(self) -> int:
        """Number of complete beats."""
        return int(self.qrs_onset.shape[0])

    def __len__(self) -> int:
        return self.n_beats

    def __repr__(self) -> str:
        return f"<HeartbeatAnnotations | {self.n_beats} beats, condition {self.condition!r}, fs {self.fs:g} Hz>"


# --------------------------------------------------------------------------------------------
# Interval models
# --------------------------------------------------------------------------------------------


def _pr_interval(rr: float) -> float:
    """P onset -> QRS onset, s: 0.16 s at 70 bpm, mildly shorter at faster rates."""
    return _PR_AT_70_BPM * (rr / _NOMINAL_RR) ** 0.25


def _qt_interval(previous_rr: float, next_rr: float, qrs_duration: float) -> float:
    """QRS onset -> T offset, s: Bazett (QTc 0.40 s) plus the QRS widening of a bundle branch block."""
    qt = _QTC * np.sqrt(previous_rr) + (qrs_duration - _PRESETS["normal"].qrs_duration)
    # Never let the T wave run into the next QRS complex, and keep an ST-T span.
    return float(np.clip(qt, qrs_duration + 0.08, max(qrs_duration + 0.08, 0.92 * next_rr)))


@lru_cache(maxsize=None)
def _template_qrs_peak(condition: str) -> float:
    """Peak |p| of a preset's noise-free QRS in relative amplitude units."""
    preset = _PRESETS[condition]
    times = np.linspace(0.0, preset.qrs_duration, 20001)
    total = np.zeros((3, times.size))
    for wave in preset.qrs:
        total += wave.vector()[:, np.newaxis] * np.exp(-0.5 * ((times - wave.centre) / wave.width) ** 2)
    return float(np.max(np.linalg.norm(total, axis=0)))


def _rotation_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation by ``angle`` (radians) about the unit vector ``axis``."""
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * (cross @ cross)


def _add_gaussian(signal: np.ndarray, fs: float, centre: float, width: float, vector: np.ndarray) -> None:
    """Add ``vector * exp(-(t - centre)² / 2 width²)`` to ``signal`` (3, n) in place, within +-6 widths."""
    n_samples = signal.shape[1]
    first = max(0, int(np.ceil((centre - 6.0 * width) * fs)))
    last = min(n_samples, int(np.floor((centre + 6.0 * width) * fs)) + 1)
    if last <= first:
        return
    times = np.arange(first, last) / fs
    signal[:, first:last] += vector[:, np.newaxis] * np.exp(-0.5 * ((times - centre) / width) ** 2)


def _validate_condition(condition: Any) -> str:
    if not isinstance(condition, str) or condition.strip().lower() not in CONDITIONS:
        raise ValueError(f"condition must be one of {list(CONDITIONS)}, got {condition!r}")
    return condition.strip().lower()


def _validate_heart_rate(heart_rate: Any) -> float:
    rate = as_positive_scalar(heart_rate, "heart_rate", "beats per minute")
    low, high = HEART_RATE_RANGE
    if not low <= rate <= high:
        raise ValueError(f"heart_rate must be between {low:g} and {high:g} beats per minute, got {rate:g}")
    return rate


# --------------------------------------------------------------------------------------------
# Public
# --------------------------------------------------------------------------------------------


def simulate_heart_vector(
    duration: float,
    fs: float,
    *,
    heart_rate: float = 70.0,
    condition: str = "normal",
    random_seed: int | np.random.Generator | None = None,
    return_annotations: bool = False,
    respiration_rate: float | None = None,
) -> np.ndarray | tuple[np.ndarray, HeartbeatAnnotations]:
    """Simulate a heart vector (current dipole moment) with P, QRS and T loops.

    Each beat is a sum of 3-D Gaussian waves (McSharry et al. 2003, in 3-D as Sameni et al. 2007):
    two for the P wave, four for the QRS (presets in the module docstring) and two for the T wave.
    Intervals follow the heart rate: RR = 60 / heart_rate (jittered 4 % per beat), PR =
    0.16 s * (RR / 0.857 s)^0.25, QRS 90 ms (normal), 150 ms (LBBB) or 145 ms (RBBB), and
    QT = 0.40 s * sqrt(RR_previous) (Bazett) plus the QRS widening, kept short of the next QRS.
    Each beat gets a small random amplitude change (3 %) and axis rotation (2 deg). At rates above
    about 150 bpm the P wave can fall on the preceding T wave, as in sinus tachycardia.

    Parameters
    ----------
    duration : float
        Length of the signal, s (> 0).
    fs : float
        Sampling rate, Hz (> 0); there is no default.
    heart_rate : float, optional
        Mean heart rate, beats per minute, between 30 and 220. Default 70.
    condition : {"normal", "lbbb", "rbbb"}, optional
        Conduction preset. Default "normal".
    random_seed : int, numpy.random.Generator or None, optional
        Seed of the beat-to-beat variability; the same seed gives the same signal. Default None
        (fresh entropy).
    return_annotations : bool, optional
        Also return the fiducial points of the complete beats. Default False.
    respiration_rate : float or None, optional
        Respiration frequency, Hz (e.g. 0.25). When given, each beat's vector is rotated in the
        frontal plane by up to 4 deg, scaled by up to 5 % and its RR modulated by 2 % with the
        respiratory phase. Default None (no respiration).

    Returns
    -------
    heart_vector : (3, n) ndarray of float64, mA*m
        Body frame (x anterior, y left, z superior), ``n = round(duration * fs)``. Peak ``|p|``
        during each QRS is :data:`PEAK_QRS_MOMENT` within +-9 % (+-15 % with
        respiration).
    annotations : HeartbeatAnnotations
        Only with ``return_annotations=True``: sample indices of the fiducial points.

    Raises
    ------
    ValueError
        If ``duration``, ``fs`` or ``respiration_rate`` are not positive, ``heart_rate`` is outside
        30-220 bpm, ``condition`` is unknown, or ``duration * fs`` rounds to no sample.

    Examples
    --------
    >>> p, notes = simulate_heart_vector(10.0, 500.0, condition="lbbb", random_seed=0,
    ...                                  return_annotations=True)
    >>> p.shape
    (3, 5000)
    """
    duration_s = as_positive_scalar(duration, "duration", "s")
    sampling_rate = as_positive_scalar(fs, "fs", "Hz")
    rate = _validate_heart_rate(heart_rate)
    preset_name = _validate_condition(condition)
    if not isinstance(return_annotations, (bool, np.bool_)):
        raise TypeError(f"return_annotations must be True or False, got {return_annotations!r}")
    respiration_hz = (
        None if respiration_rate is None else as_positive_scalar(respiration_rate, "respiration_rate", "Hz")
    )
    n_samples = int(round(duration_s * sampling_rate))
    if n_samples < 1:
        raise ValueError(
            f"duration * fs must give at least one sample, got duration={duration_s:g} s and fs={sampling_rate:g} Hz"
        )
    rng = np.random.default_rng(random_seed)
    preset = _PRESETS[preset_name]
    scale = PEAK_QRS_MOMENT / _template_qrs_peak(preset_name)  # relative units -> mA*m
    mean_rr = 60.0 / rate
    signal = np.zeros((3, n_samples))
    end_time = n_samples / sampling_rate

    def truncated_normal() -> float:
        return float(np.clip(rng.standard_normal(), -_CLIP_SIGMAS, _CLIP_SIGMAS))

    fiducials: list[tuple[float, ...]] = []
    p_onset = _LEAD_IN
    previous_rr = mean_rr
    while p_onset < end_time:
        respiratory_phase = 0.0 if respiration_hz is None else float(np.sin(2.0 * np.pi * respiration_hz * p_onset))
        rr = mean_rr * (1.0 + _RR_JITTER * truncated_normal())
        rr *= 1.0 + _RESPIRATION_RR * respiratory_phase
        pr = _pr_interval(mean_rr)
        qrs_onset = p_onset + pr
        qrs_offset = qrs_onset + preset.qrs_duration
        t_offset = qrs_onset + _qt_interval(previous_rr, rr, preset.qrs_duration)
        t_onset = t_offset - _T_FRACTION_OF_ST_T * (t_offset - qrs_offset)

        # Per-beat amplitude and axis jitter, plus the respiratory rotation about the x axis.
        amplitude = 1.0 + _AMPLITUDE_JITTER * truncated_normal()
        amplitude *= 1.0 + _RESPIRATION_AMPLITUDE * respiratory_phase
        jitter_axis = rng.standard_normal(3)
        jitter_axis /= np.linalg.norm(jitter_axis)
        rotation = _rotation_matrix(jitter_axis, np.radians(_AXIS_JITTER_DEG) * truncated_normal())
        breathing_angle = np.radians(_RESPIRATION_ROTATION_DEG) * respiratory_phase
        rotation = _rotation_matrix(np.array([1.0, 0.0, 0.0]), breathing_angle) @ rotation
        beat_matrix = scale * amplitude * rotation

        # (window start, window length, waves): P and T waves are given in window fractions,
        # QRS waves in seconds from QRS onset (a window of length 1 s).
        for window_start, window_length, waves in (
            (p_onset, _P_DURATION, preset.p),
            (qrs_onset, 1.0, preset.qrs),
            (t_onset, t_offset - t_onset, preset.t),
        ):
            for wave in waves:
                _add_gaussian(
                    signal,
                    sampling_rate,
                    centre=window_start + wave.centre * window_length,
                    width=wave.width * window_length,
                    vector=beat_matrix @ wave.vector(),
                )

        fiducials.append((p_onset, p_onset + _P_DURATION, qrs_onset, qrs_offset, t_onset, t_offset))
        previous_rr = rr
        p_onset += rr

    if not return_annotations:
        return signal

    onset_names = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_onset", "t_offset")
    columns: dict[str, list[int]] = {name: [] for name in (*onset_names, "r_peak")}
    magnitude = np.linalg.norm(signal, axis=0)
    for times in fiducials:
        samples = {name: int(round(time * sampling_rate)) for name, time in zip(onset_names, times)}
        if samples["p_onset"] < 0 or samples["t_offset"] > n_samples - 1:
            continue  # incomplete beat at the end of the signal
        qrs_magnitude = magnitude[samples["qrs_onset"] : samples["qrs_offset"] + 1]
        samples["r_peak"] = samples["qrs_onset"] + int(np.argmax(qrs_magnitude))
        for name, value in samples.items():
            columns[name].append(value)
    annotations = HeartbeatAnnotations(
        fs=sampling_rate,
        condition=preset_name,
        **{name: np.asarray(values, dtype=np.int64) for name, values in columns.items()},
    )
    return signal, annotations
