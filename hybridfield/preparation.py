"""Preparing a record for the models: the one preprocessing contract, applied once per call.

Every model of the package (the hybrid panorama, the population model, the virtual-lead
posterior, the heart-vector fit) sees a record through the same steps, owned here:

1. :func:`prepare_ecg`: drop flat or saturated leads, resample to :data:`PREPROCESSING` ``fs``
   (500 Hz) and band-pass to ``band_hz`` (0.5-40 Hz);
2. :func:`prepare_record`: that, plus one beat segmentation (:func:`hybridfield.segment_beats`)
   and the phase bin of every sample (:func:`hybridfield.phases.phase_bins`), as a
   :class:`PreparedRecord` that callers pass down instead of preparing again.

:data:`PREPROCESSING` is saved with trained weights and population models, and loading checks it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import canonical_lead_name
from .phases import phase_bins
from .protocol_cycles import REGION_NAMES
from .quality import RecordQualityWarning, beat_consistency, check_plausibility, untrustworthy_beats

__all__ = ["PREPROCESSING", "PreparedRecord", "prepare_ecg", "prepare_record"]

#: Preprocessing every record goes through before a model sees it (saved with the weights and
#: population models): the sole owner of the working sampling rate, band and cycle length.
PREPROCESSING: dict[str, Any] = {
    "fs": 500.0,
    "band_hz": [0.5, 40.0],
    "units": "mV",
    "cycle_length": 512,
    "cycles": "one per detected beat, abutting: from the P onset, else before the R peak (hybridfield.beat_cycles)",
    "region_codes": {name: code for code, name in enumerate(REGION_NAMES)},
    "angle_convention": (
        "(theta, phi) radians; theta polar from +z (superior), phi azimuth from +x (anterior) towards +y "
        "(left); standard leads at Nef-Net's angles (geometry.STANDARD_LEAD_ANGLES)"
    ),
    "heart_vector": "posterior centre of the record model (hybridfield.posterior.physical_answer; mA*m, body frame)",
}


def prepare_ecg(ecg: ECG, *, warn: bool = True) -> ECG:
    """Drop flat or saturated leads, resample to 500 Hz and band-pass to 0.5-40 Hz (:data:`PREPROCESSING`).

    Parameters
    ----------
    ecg : ECG
        The record, mV.
    warn : bool
        Warn when leads are dropped; False silences every warning of the preparation.

    Returns
    -------
    prepared : ECG
        At ``PREPROCESSING["fs"]`` Hz, mV.

    Raises
    ------
    TypeError
        If ``ecg`` is not a :class:`hybridfield.ECG`.
    ValueError
        If it cannot be an ECG in mV at a usable rate (:func:`hybridfield.quality.check_plausibility`:
        a lead's robust peak-to-peak above 20 mV, e.g. microvolts passed as mV, or ``fs`` below
        100 Hz); the message names the record and the value.
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    check_plausibility(ecg.signals, ecg.fs, ecg.lead_names, record=ecg.record)
    fs = PREPROCESSING["fs"]
    low, high = PREPROCESSING["band_hz"]
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore")
        prepared = ecg.drop_unusable(warn=warn)
        if abs(prepared.fs - fs) > 1e-9:
            prepared = prepared.resample(fs)
        return prepared.bandpass(low, high)


@dataclass(frozen=True)
class PreparedRecord:
    """A record as every model sees it: prepared once, segmented once.

    Attributes
    ----------
    ecg : ECG
        The prepared record (:func:`prepare_ecg`), mV at ``PREPROCESSING["fs"]``.
    segmentation : BeatSegmentation
        Its beats (:func:`hybridfield.segment_beats`).
    phase_bins : (n_samples,) int
        Phase-bin label of every sample (:func:`hybridfield.phases.phase_bins`).
    n_beats : int
        Distinct R peaks found.
    """

    ecg: ECG
    segmentation: Any
    phase_bins: np.ndarray
    n_beats: int

    @property
    def fs(self) -> float:
        """Sampling rate of the prepared record, Hz."""
        return self.ecg.fs

    @property
    def n_samples(self) -> int:
        """Samples of the prepared record."""
        return self.ecg.n_samples

    def signals(self, names: Sequence[str]) -> np.ndarray:
        """Signals of the named leads.

        Parameters
        ----------
        names : sequence of str
            Lead names of the prepared record.

        Returns
        -------
        signals : (n_leads, n_samples) float, mV
        """
        return np.array([self.ecg[name] for name in names])

    def input_leads(self, inputs: Sequence[str] | None, default: Sequence[str]) -> list[str]:
        """Canonical names of the measured leads to use, checked against the usable leads.

        Parameters
        ----------
        inputs : sequence of str or None
            Lead names; None takes ``default``.
        default : sequence of str
            Leads used when ``inputs`` is None.

        Returns
        -------
        names : list of str

        Raises
        ------
        ValueError
            If ``inputs`` is a single string, is empty, or names a lead the record lacks or that
            was dropped as flat or saturated.
        """
        if isinstance(inputs, str):
            raise ValueError(f"inputs must be a sequence of lead names, got the string {inputs!r}")
        names = [canonical_lead_name(n) for n in (default if inputs is None else inputs)]
        missing = [n for n in names if not self.ecg.has_lead(n)]
        if missing:
            raise ValueError(
                f"inputs {missing} are not usable leads of this record (usable: {', '.join(self.ecg.lead_names)})"
            )
        if not names:
            raise ValueError("inputs must name at least one lead")
        return names


def prepare_record(ecg: ECG, *, warn: bool = False) -> PreparedRecord:
    """Prepare, segment and phase-label a record once, for every model that needs it.

    Parameters
    ----------
    ecg : ECG
        The record, mV, any sampling rate.
    warn : bool
        Warn when leads are dropped (:func:`prepare_ecg`); segmentation warnings are silenced
        (they show in ``segmentation.quality`` and ``segmentation.notes``).

    Returns
    -------
    record : PreparedRecord

    Raises
    ------
    ValueError
        If the record cannot be an ECG in mV at a usable rate (:func:`prepare_ecg`).

    Warns
    -----
    RecordQualityWarning
        Whatever ``warn`` says, when the record has no trustworthy beats
        (:func:`hybridfield.quality.untrustworthy_beats`: fewer than 2 beats, or beats that do not
        repeat their QRS shape, as in noise), naming the record and the value.
    """
    from .beats import segment_beats

    prepared = prepare_ecg(ecg, warn=warn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segmentation = segment_beats(prepared)
    peaks = np.asarray(segmentation.r_peak)
    peaks = np.unique(peaks[peaks >= 0])
    measured = [name for name in prepared.lead_names if name not in prepared.virtual] or list(prepared.lead_names)
    reason = untrustworthy_beats(
        segmentation.quality,
        int(peaks.size),
        beat_consistency(prepared.select(measured).signals, peaks, prepared.fs),
        record=ecg.record,
    )
    if reason is not None:
        warnings.warn(reason, RecordQualityWarning, stacklevel=2)
    return PreparedRecord(
        ecg=prepared,
        segmentation=segmentation,
        phase_bins=phase_bins(peaks, prepared.n_samples, prepared.fs),
        n_beats=int(peaks.size),
    )
