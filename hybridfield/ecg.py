"""The ECG container: a named-lead record in mV, with filters, resampling and lead-quality checks.

Conventions (no exceptions): signals in mV, time in s, the sampling rate ``fs`` in Hz always given
explicitly (never defaulted). Leads are addressed by name, never by position, because datasets order
them differently. Names are case-insensitive (``aVR``, ``AVR`` and ``avr`` are one lead) and stored in
a canonical spelling (:func:`hybridfield.leads.canonical_lead_name`): ``I, II, III, aVR, aVL, aVF,
V1..V6`` and ``X, Y, Z`` for the Frank leads (PTB calls them ``vx, vy, vz``); any other name is kept
as given (stripped of surrounding blanks).

An :class:`ECG` is immutable: every operation (:meth:`ECG.select`, :meth:`ECG.bandpass`,
:meth:`ECG.resample`, :meth:`ECG.drop_unusable`, :meth:`ECG.with_virtual`...) returns a new one and
records what it did in ``metadata["processing"]``. Leads synthesised by a model (the virtual leads
of the Electrocardio Panorama) are marked as such in :attr:`ECG.virtual`.

Reading records lives in :mod:`hybridfield.io`, writing in :mod:`hybridfield.writers`; :meth:`ECG.to_wfdb`
and :meth:`ECG.to_netcdf` call into it.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from geometry.validation import as_finite_array, as_positive_scalar
from geometry.angles import STANDARD_LEAD_ANGLES, UnknownLeadError, direction_from_angles

from . import filters, quality
from .leads import canonical_lead_name

__all__ = [
    "ECG",
    "LeadNotFoundError",
]

_NAN_POLICIES = ("raise", "interpolate", "drop")


class LeadNotFoundError(UnknownLeadError):
    """A lead name that the ECG does not have (a ``KeyError`` and a ``ValueError`` too)."""


# --------------------------------------------------------------------------------------------
# Lead names
# --------------------------------------------------------------------------------------------


def _lead_key(name: str) -> str:
    """Case-insensitive lookup key of a lead name."""
    return canonical_lead_name(name).lower()


def _as_name_list(names: Any, parameter: str) -> list[str]:
    """A str or an iterable of str -> list of canonical names."""
    if isinstance(names, str):
        return [canonical_lead_name(names)]
    if not isinstance(names, Iterable):
        raise TypeError(
            f"{parameter} must be a lead name or a sequence of lead names, got {type(names).__name__} {names!r}"
        )
    result = []
    for item in names:
        if not isinstance(item, str):
            raise TypeError(f"{parameter} must contain lead names (str), got {type(item).__name__} {item!r}")
        result.append(canonical_lead_name(item))
    return result


# --------------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------------


class ECG:
    """A multi-lead ECG record: signals in mV, sampling rate in Hz, leads addressed by name.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
        One row per lead. Copied into a read-only float64 array; every sample must be finite (use
        :meth:`ECG.from_array` with ``nan_policy="interpolate"`` or ``"drop"`` for records with gaps).
    fs : float, Hz
        Sampling rate; required, finite and positive.
    lead_names : sequence of str, length n_leads
        Lead names, case-insensitive, stored in canonical spelling (:func:`canonical_lead_name`);
        must be unique after canonicalisation.
    electrode_angles : mapping of str to (theta, phi), radians, optional
        View angles of (some of) the leads in the body frame (theta from +z in [0, pi], phi from +x
        towards +y in [-pi, pi]). None (default) gives none; :meth:`with_standard_angles` fills the
        Nef-Net angles of the standard leads.
    virtual : iterable of str, optional
        Names of leads that were synthesised (by a model) rather than measured.
    metadata : mapping, optional
        Free information (record name, age, sex, Dx codes, source...). Stored as a read-only copy;
        ``metadata["units"]`` is always ``"mV"``.

    Raises
    ------
    ValueError
        Bad shape, empty array, NaN/inf samples (the message names the leads and counts), a lead
        count different from ``len(lead_names)``, duplicate names, bad ``fs`` or angles, virtual
        names that are not leads.
    TypeError
        Non-numeric signals, a name that is not a string.

    Examples
    --------
    >>> ecg = ECG.from_array(np.zeros((2, 1000)) + [[0.0], [0.1]], fs=500.0, lead_names=["i", "AVR"])
    >>> ecg.lead_names
    ('I', 'aVR')
    >>> ecg["avr"].shape
    (1000,)
    """

    __slots__ = ("_signals", "_fs", "_lead_names", "_index", "_electrode_angles", "_virtual", "_metadata")

    def __init__(
        self,
        signals: Any,
        fs: float,
        lead_names: Sequence[str],
        *,
        electrode_angles: Mapping[str, tuple[float, float]] | None = None,
        virtual: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        array = self._validated_signals(signals)
        names = self._validated_names(lead_names, array.shape[0])
        counts = quality.non_finite_counts(array, names)
        if counts:
            raise ValueError(
                f"signals contain NaN or infinite samples ({quality.describe_non_finite(counts, array.shape[1])}); "
                "all samples must be finite: fill short gaps with ECG.from_array(..., nan_policy='interpolate') "
                "or drop those leads with nan_policy='drop'"
            )
        if isinstance(fs, bool):
            raise TypeError(f"fs must be a positive number in Hz, got bool {fs!r}")
        self._fs = as_positive_scalar(fs, "fs", "Hz")
        array = np.array(array, dtype=np.float64, order="C", copy=True)
        array.flags.writeable = False
        self._signals = array
        self._lead_names = tuple(names)
        self._index = {name.lower(): index for index, name in enumerate(names)}
        self._electrode_angles = MappingProxyType(self._validated_angles(electrode_angles))
        virtual_names = _as_name_list(virtual, "virtual")
        missing = [name for name in virtual_names if name.lower() not in self._index]
        if missing:
            raise ValueError(
                f"virtual must name leads of this ECG ({', '.join(names)}), got unknown {', '.join(missing)}"
            )
        self._virtual = frozenset(virtual_names)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping (dict), got {type(metadata).__name__}")
        info = dict(metadata or {})
        info["units"] = "mV"
        self._metadata = MappingProxyType(info)

    # ---- validation -------------------------------------------------------------------------

    @staticmethod
    def _validated_signals(signals: Any) -> np.ndarray:
        try:
            array = np.asarray(signals, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"signals must be a numeric (n_leads, n_samples) array in mV, got {type(signals).__name__}"
            ) from error
        if array.ndim != 2:
            hint = " (a single lead needs shape (1, n_samples): use signal[np.newaxis])" if array.ndim == 1 else ""
            raise ValueError(f"signals must be a 2-D (n_leads, n_samples) array in mV, got shape {array.shape}{hint}")
        if array.size == 0:
            raise ValueError(f"signals must not be empty, got shape {array.shape}")
        return array

    @staticmethod
    def _validated_names(lead_names: Any, n_leads: int) -> list[str]:
        if isinstance(lead_names, str) or not isinstance(lead_names, Iterable):
            raise TypeError(
                f"lead_names must be a sequence of lead names (str), got {type(lead_names).__name__} {lead_names!r}"
            )
        names = _as_name_list(list(lead_names), "lead_names")
        if len(names) != n_leads:
            raise ValueError(
                f"lead_names must give one name per row of signals: signals has {n_leads} lead(s) (rows), "
                f"lead_names has {len(names)} ({', '.join(names)})"
            )
        seen: dict[str, str] = {}
        duplicates = []
        for name in names:
            if name.lower() in seen:
                duplicates.append(name)
            seen.setdefault(name.lower(), name)
        if duplicates:
            raise ValueError(
                f"lead_names must be unique (case-insensitive), got duplicate(s) {', '.join(duplicates)} in {names}"
            )
        return names

    def _validated_angles(self, electrode_angles: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
        if electrode_angles is None:
            return {}
        if not isinstance(electrode_angles, Mapping):
            raise TypeError(
                "electrode_angles must map lead names to (theta, phi) in radians, "
                f"got {type(electrode_angles).__name__}"
            )
        angles: dict[str, tuple[float, float]] = {}
        for name, value in electrode_angles.items():
            lead = canonical_lead_name(name)
            if lead.lower() not in self._index:
                raise ValueError(
                    f"electrode_angles names lead {lead!r}, which this ECG does not have "
                    f"({', '.join(self._lead_names)})"
                )
            pair = as_finite_array(value, f"electrode_angles[{lead!r}]")
            if pair.shape != (2,):
                raise ValueError(f"electrode_angles[{lead!r}] must be (theta, phi) in radians, got shape {pair.shape}")
            direction_from_angles(pair[0], pair[1])  # range check: theta in [0, pi], phi in [-pi, pi]
            angles[self._lead_names[self._index[lead.lower()]]] = (float(pair[0]), float(pair[1]))
        return angles

    # ---- construction -----------------------------------------------------------------------

    @classmethod
    def from_array(
        cls,
        signals: Any,
        fs: float,
        lead_names: Sequence[str],
        *,
        nan_policy: str = "raise",
        **kwargs: Any,
    ) -> ECG:
        """Build an ECG from an (n_leads, n_samples) array, optionally repairing NaN/inf samples.

        Parameters
        ----------
        signals : (n_leads, n_samples) array_like, mV
            One row per lead.
        fs : float, Hz
            Sampling rate (required).
        lead_names : sequence of str
            One name per row.
        nan_policy : {"raise", "interpolate", "drop"}
            What to do with NaN/inf samples: refuse them (default), fill them by linear
            interpolation between the neighbouring finite samples of the same lead (constant
            extrapolation at the edges; recorded in ``metadata["interpolated_samples"]``), or drop
            the leads that contain any (recorded in ``metadata["dropped_leads"]``, with a warning).
        **kwargs
            ``electrode_angles``, ``virtual``, ``metadata`` as for :class:`ECG`.

        Returns
        -------
        ecg : ECG
        """
        if nan_policy not in _NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {', '.join(map(repr, _NAN_POLICIES))}, got {nan_policy!r}")
        array = cls._validated_signals(signals)
        names = cls._validated_names(lead_names, array.shape[0])
        if nan_policy == "raise":
            return cls(array, fs, names, **kwargs)
        array, kept, bad_counts = quality.fill_non_finite(array, names, nan_policy)
        metadata = dict(kwargs.pop("metadata", None) or {})
        if bad_counts and nan_policy == "interpolate":
            metadata["interpolated_samples"] = dict(bad_counts)
        elif bad_counts:
            metadata["dropped_leads"] = {
                **dict(metadata.get("dropped_leads", {})),
                **{name: "non-finite samples" for name in bad_counts},
            }
            description = quality.describe_non_finite(bad_counts, array.shape[1])
            warnings.warn(f"dropped lead(s) with NaN or infinite samples: {description}", UserWarning, stacklevel=2)
            kept_keys = {name.lower() for name in kept}
            if kwargs.get("electrode_angles"):
                kwargs["electrode_angles"] = {
                    k: v for k, v in kwargs["electrode_angles"].items() if _lead_key(k) in kept_keys
                }
            if kwargs.get("virtual"):
                kwargs["virtual"] = [
                    name for name in _as_name_list(kwargs["virtual"], "virtual") if name.lower() in kept_keys
                ]
        return cls(array, fs, kept, metadata=metadata, **kwargs)

    def _derived(
        self,
        signals: np.ndarray,
        lead_names: Sequence[str] | None = None,
        *,
        fs: float | None = None,
        step: str | None = None,
        metadata_updates: Mapping[str, Any] | None = None,
        electrode_angles: Mapping[str, tuple[float, float]] | None = None,
        virtual: Iterable[str] | None = None,
    ) -> ECG:
        """A new ECG sharing this one's annotations, restricted to ``lead_names``."""
        names = list(self._lead_names if lead_names is None else lead_names)
        keys = {name.lower() for name in names}
        angles = (
            electrode_angles
            if electrode_angles is not None
            else {name: value for name, value in self._electrode_angles.items() if name.lower() in keys}
        )
        virtual_names = virtual if virtual is not None else [name for name in self._virtual if name.lower() in keys]
        metadata = dict(self._metadata)
        if step is not None:
            metadata["processing"] = tuple(metadata.get("processing", ())) + (step,)
        if metadata_updates:
            metadata.update(metadata_updates)
        sources = metadata.get("virtual_sources")
        if sources:
            metadata["virtual_sources"] = MappingProxyType(
                {name: source for name, source in sources.items() if name.lower() in keys}
            )
        return ECG(
            signals,
            self._fs if fs is None else fs,
            names,
            electrode_angles=angles,
            virtual=virtual_names,
            metadata=metadata,
        )

    # ---- properties -------------------------------------------------------------------------

    @property
    def signals(self) -> np.ndarray:
        """(n_leads, n_samples) float64, mV, read-only."""
        return self._signals

    @property
    def fs(self) -> float:
        """Sampling rate, Hz."""
        return self._fs

    @property
    def lead_names(self) -> tuple[str, ...]:
        """Canonical lead names, in row order."""
        return self._lead_names

    @property
    def electrode_angles(self) -> Mapping[str, tuple[float, float]]:
        """Read-only mapping lead name -> (theta, phi) in radians (possibly empty)."""
        return self._electrode_angles

    @property
    def virtual(self) -> frozenset[str]:
        """Names of the synthesised (virtual) leads."""
        return self._virtual

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Read-only mapping: record, age, sex, dx, units ("mV"), source, processing history..."""
        return self._metadata

    @property
    def record(self) -> str | None:
        """Record name from the metadata, or None."""
        value = self._metadata.get("record")
        return None if value is None else str(value)

    @property
    def n_leads(self) -> int:
        """Number of leads."""
        return self._signals.shape[0]

    @property
    def n_samples(self) -> int:
        """Number of samples per lead."""
        return self._signals.shape[1]

    @property
    def duration(self) -> float:
        """Record duration n_samples / fs, s."""
        return self.n_samples / self._fs

    @property
    def time(self) -> np.ndarray:
        """(n_samples,) sample times from 0, s."""
        return np.arange(self.n_samples) / self._fs

    # ---- lead access --------------------------------------------------------------------------

    def _row(self, name: Any) -> int:
        if not isinstance(name, str):
            raise TypeError(
                f"leads are addressed by name (str), never by position; got {type(name).__name__} {name!r}. "
                f"Available: {', '.join(self._lead_names)}"
            )
        key = _lead_key(name)
        if key not in self._index:
            raise LeadNotFoundError(f"lead {name!r} is not in this ECG; available leads: {', '.join(self._lead_names)}")
        return self._index[key]

    def __getitem__(self, name: str) -> np.ndarray:
        """(n_samples,) read-only signal of lead ``name`` (case-insensitive), mV."""
        return self._signals[self._row(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has_lead(name)

    def __iter__(self) -> Iterator[str]:
        """Iterate over the lead names."""
        return iter(self._lead_names)

    def __len__(self) -> int:
        """Number of leads."""
        return self.n_leads

    def has_lead(self, name: str) -> bool:
        """Whether the ECG has lead ``name`` (case-insensitive).

        Parameters
        ----------
        name : str
            Lead name, any case (``"avr"`` finds ``aVR``; PTB's ``"vx"`` finds ``X``).

        Returns
        -------
        found : bool
        """
        return _lead_key(name) in self._index

    def select(self, names: str | Sequence[str]) -> ECG:
        """The ECG restricted to ``names``, in that order.

        Parameters
        ----------
        names : str or sequence of str
            Lead names (case-insensitive), unique.

        Returns
        -------
        ecg : ECG
            With ``len(names)`` leads; angles, virtual marks and metadata carried over.

        Raises
        ------
        LeadNotFoundError
            (a KeyError and a ValueError) naming the missing lead(s) and listing the available ones.
        """
        wanted = _as_name_list(names, "names")
        if not wanted:
            raise ValueError("names must name at least one lead, got an empty sequence")
        missing = [name for name in wanted if name.lower() not in self._index]
        if missing:
            raise LeadNotFoundError(
                f"lead(s) {', '.join(map(repr, missing))} not in this ECG; "
                f"available leads: {', '.join(self._lead_names)}"
            )
        rows = [self._index[name.lower()] for name in wanted]
        return self._derived(self._signals[rows], [self._lead_names[row] for row in rows])

    def drop_leads(self, names: str | Sequence[str]) -> ECG:
        """The ECG without the leads ``names`` (case-insensitive; every name must exist).

        Parameters
        ----------
        names : str or sequence of str
            Lead name(s) to remove.

        Returns
        -------
        ecg : ECG
            The remaining leads in their original order; angles, virtual marks and metadata of
            those leads carried over.

        Raises
        ------
        LeadNotFoundError
            If a name is not a lead of this ECG.
        ValueError
            If no lead would be left.
        """
        unwanted = _as_name_list(names, "names")
        missing = [name for name in unwanted if name.lower() not in self._index]
        if missing:
            raise LeadNotFoundError(
                f"cannot drop lead(s) {', '.join(map(repr, missing))}: not in this ECG; "
                f"available leads: {', '.join(self._lead_names)}"
            )
        drop = {name.lower() for name in unwanted}
        keep = [name for name in self._lead_names if name.lower() not in drop]
        if not keep:
            raise ValueError(f"dropping {', '.join(unwanted)} would leave no lead")
        return self.select(keep)

    # ---- virtual leads and angles -------------------------------------------------------------

    def with_virtual(
        self,
        name: str,
        signal: Any,
        *,
        angles: tuple[float, float] | None = None,
        source: str = "synthesised",
    ) -> ECG:
        """Add a synthesised lead, marked virtual.

        Parameters
        ----------
        name : str
            New lead name (must not exist yet).
        signal : (n_samples,) array_like, mV
            Finite samples at this ECG's ``fs``.
        angles : (theta, phi), radians, optional
            View of the new lead.
        source : str
            How it was made (e.g. ``"dower"``, ``"hybrid panorama"``); stored in
            ``metadata["virtual_sources"][name]``.

        Returns
        -------
        ecg : ECG
            With the new lead appended last and listed in :attr:`virtual`.
        """
        lead = canonical_lead_name(name)
        if lead.lower() in self._index:
            raise ValueError(
                f"name {lead!r} is already a lead of this ECG ({', '.join(self._lead_names)}); choose another name"
            )
        values = as_finite_array(signal, "signal", ndim=1)
        if values.shape[0] != self.n_samples:
            raise ValueError(f"signal must have this ECG's {self.n_samples} samples, got {values.shape[0]}")
        if not isinstance(source, str):
            raise TypeError(f"source must be a str describing how the lead was made, got {type(source).__name__}")
        electrode_angles = dict(self._electrode_angles)
        if angles is not None:
            electrode_angles[lead] = angles
        sources = dict(self._metadata.get("virtual_sources", {}))
        sources[lead] = source
        return self._derived(
            np.vstack([self._signals, values[np.newaxis]]),
            self._lead_names + (lead,),
            metadata_updates={"virtual_sources": MappingProxyType(sources)},
            electrode_angles=electrode_angles,
            virtual=set(self._virtual) | {lead},
        )

    @classmethod
    def concat(cls, ecgs: Sequence[ECG]) -> ECG:
        """Stack the leads of several ECGs of the same ``fs`` and length.

        Lead names must be unique across them; angles and virtual marks are kept; metadata comes
        from the first ECG (``virtual_sources`` merged).

        Parameters
        ----------
        ecgs : sequence of ECG

        Returns
        -------
        ecg : ECG
        """
        items = list(ecgs)
        if not items or not all(isinstance(item, ECG) for item in items):
            raise TypeError(f"ecgs must be a non-empty sequence of ECG, got {[type(item).__name__ for item in items]}")
        first = items[0]
        for position, item in enumerate(items[1:], start=1):
            if item.fs != first.fs or item.n_samples != first.n_samples:
                raise ValueError(
                    f"ecgs must share fs and length: ecgs[0] has {first.n_samples} samples at {first.fs:g} Hz, "
                    f"ecgs[{position}] has {item.n_samples} samples at {item.fs:g} Hz (resample first)"
                )
        angles: dict[str, tuple[float, float]] = {}
        sources: dict[str, str] = {}
        for item in items:
            angles.update(item.electrode_angles)
            sources.update(item.metadata.get("virtual_sources", {}))
        metadata = dict(first.metadata)
        if sources:
            metadata["virtual_sources"] = MappingProxyType(sources)
        return cls(
            np.vstack([item.signals for item in items]),
            first.fs,
            [name for item in items for name in item.lead_names],
            electrode_angles=angles,
            virtual=set().union(*(item.virtual for item in items)),
            metadata=metadata,
        )

    def with_standard_angles(self) -> ECG:
        """The ECG with the Nef-Net view angles of every standard lead it has (others unchanged).

        Angles from :data:`geometry.angles.STANDARD_LEAD_ANGLES` (radians); angles already set are
        kept.

        Returns
        -------
        ecg : ECG
            Same signals, with :attr:`electrode_angles` ``(theta, phi)`` in radians for every
            standard lead present.
        """
        angles = {name: STANDARD_LEAD_ANGLES[name] for name in self._lead_names if name in STANDARD_LEAD_ANGLES}
        angles.update(self._electrode_angles)
        return self._derived(self._signals, electrode_angles=angles)

    # ---- filters (the algorithms live in hybridfield.filters) --------------------------------

    def bandpass(self, low: float = 0.5, high: float = 40.0, *, order: int = 2) -> ECG:
        """Zero-phase Butterworth band-pass: :func:`hybridfield.filters.bandpass` on every lead.

        Parameters
        ----------
        low, high : float, Hz
            Pass band edges, ``0 < low < high < fs / 2``.
        order : int
            Butterworth order (doubled in effect by the forward-backward pass).

        Returns
        -------
        ecg : ECG
        """
        step = f"bandpass {float(low):g}-{float(high):g} Hz (Butterworth order {order}, zero-phase)"
        return self._derived(filters.bandpass(self._signals, self._fs, low, high, order=order), step=step)

    def highpass(self, cutoff: float = 0.5, *, order: int = 2) -> ECG:
        """Zero-phase Butterworth high-pass (baseline wander): :func:`hybridfield.filters.highpass`.

        Parameters
        ----------
        cutoff : float, Hz
            -3 dB frequency (per pass), ``0 < cutoff < fs / 2``.
        order : int
            Butterworth order (doubled in effect by the forward-backward pass).

        Returns
        -------
        ecg : ECG
            Same leads, ``fs`` and length; the step is recorded in ``metadata["processing"]``.
        """
        return self._one_edge("highpass", cutoff, order)

    def lowpass(self, cutoff: float = 40.0, *, order: int = 2) -> ECG:
        """Zero-phase Butterworth low-pass: :func:`hybridfield.filters.lowpass` on every lead.

        Parameters
        ----------
        cutoff : float, Hz
            -3 dB frequency (per pass), ``0 < cutoff < fs / 2``.
        order : int
            Butterworth order (doubled in effect by the forward-backward pass).

        Returns
        -------
        ecg : ECG
            Same leads, ``fs`` and length; the step is recorded in ``metadata["processing"]``.
        """
        return self._one_edge("lowpass", cutoff, order)

    def _one_edge(self, kind: str, cutoff: float, order: int) -> ECG:  # highpass, lowpass
        step = f"{kind} {float(cutoff):g} Hz (Butterworth order {order}, zero-phase)"
        return self._derived(getattr(filters, kind)(self._signals, self._fs, cutoff, order=order), step=step)

    def notch(self, frequency: float, *, quality: float = 30.0) -> ECG:
        """Zero-phase notch at ``frequency`` Hz (e.g. 50 or 60 mains): :func:`hybridfield.filters.notch`.

        Parameters
        ----------
        frequency : float, Hz
            Centre, ``0 < frequency < fs / 2``.
        quality : float
            Quality factor: the -3 dB width is ``frequency / quality``.

        Returns
        -------
        ecg : ECG
            Same leads, ``fs`` and length; the step is recorded in ``metadata["processing"]``.
        """
        filtered = filters.notch(self._signals, self._fs, frequency, quality=quality)
        return self._derived(filtered, step=f"notch {float(frequency):g} Hz (Q {float(quality):g}, zero-phase)")

    def resample(self, fs: float, *, max_denominator: int = 1000) -> ECG:
        """Resample to a new rate (polyphase, anti-aliased): :func:`hybridfield.filters.resample`.

        ``fs / self.fs`` is approximated by ``up / down`` (:func:`hybridfield.filters.resampling_ratio`,
        which warns when it misses by more than 1e-9 relative); the new ``fs`` is the rate reached.

        Parameters
        ----------
        fs : float, Hz
            Target sampling rate.
        max_denominator : int
            Largest ``down`` factor tried.

        Returns
        -------
        ecg : ECG
            With ``ceil(n_samples * up / down)`` samples.
        """
        resampled, ratio = filters.resample(
            self._signals, self._fs, fs, max_denominator=max_denominator, _name="fs", _stacklevel=3
        )
        if ratio == 1:
            return self._derived(self._signals)
        achieved = self._fs * ratio.numerator / ratio.denominator
        step = f"resample {self._fs:g} -> {achieved:g} Hz (polyphase {ratio.numerator}/{ratio.denominator})"
        return self._derived(resampled, fs=achieved, step=step)

    # ---- lead quality (the checks live in hybridfield.quality) -------------------------------

    def flat_leads(self, *, threshold_mv: float = 0.01, max_constant_fraction: float = 0.5) -> tuple[str, ...]:
        """Leads that carry no signal (dead channels), as :func:`hybridfield.quality.flat_leads` decides.

        Parameters
        ----------
        threshold_mv : float, mV
            Smallest robust amplitude of a usable lead (a QRS is typically 0.5-3 mV).
        max_constant_fraction : float in (0, 1]
            Largest fraction of the record a single constant run may cover.

        Returns
        -------
        names : tuple of str
            In lead order.
        """
        flat = quality.flat_leads(self._signals, threshold_mv=threshold_mv, max_constant_fraction=max_constant_fraction)
        return tuple(name for name, is_flat in zip(self._lead_names, flat) if is_flat)

    def saturated_leads(
        self,
        *,
        min_duration: float = 0.05,
        clip_duration: float = 0.01,
        min_clips: int = 3,
        tolerance_mv: float = 1e-9,
    ) -> tuple[str, ...]:
        """Leads clipped at the amplifier's range, as :func:`hybridfield.quality.saturated_leads` decides.

        Parameters
        ----------
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
        names : tuple of str
            In lead order.
        """
        options = dict(min_duration=min_duration, clip_duration=clip_duration, min_clips=min_clips)
        saturated = quality.saturated_leads(self._signals, self._fs, tolerance_mv=tolerance_mv, **options)
        return tuple(name for name, is_saturated in zip(self._lead_names, saturated) if is_saturated)

    def drop_unusable(self, *, warn: bool = True, threshold_mv: float = 0.01) -> ECG:
        """The ECG without its flat and saturated leads.

        Parameters
        ----------
        warn : bool
            Emit a ``UserWarning`` naming the dropped leads and why.
        threshold_mv : float, mV
            Passed to :meth:`flat_leads`.

        Returns
        -------
        ecg : ECG
            ``metadata["dropped_leads"]`` maps each dropped lead to ``"flat"`` or ``"saturated"``.

        Raises
        ------
        ValueError
            If every lead is unusable.
        """
        reasons = {name: "flat" for name in self.flat_leads(threshold_mv=threshold_mv)}
        reasons.update({name: "saturated" for name in self.saturated_leads()})
        if not reasons:
            return self
        keep = [name for name in self._lead_names if name not in reasons]
        label = f"record {self.record}" if self.record else "the ECG"
        description = ", ".join(f"{name} ({reason})" for name, reason in reasons.items())
        if not keep:
            raise ValueError(f"no usable lead left in {label}: every lead is flat or saturated ({description})")
        if warn:
            warnings.warn(f"dropping unusable lead(s) from {label}: {description}", UserWarning, stacklevel=2)
        dropped = {**dict(self._metadata.get("dropped_leads", {})), **reasons}
        rows = [self._index[name.lower()] for name in keep]
        return self._derived(
            self._signals[rows],
            keep,
            step=f"dropped unusable {description}",
            metadata_updates={"dropped_leads": dropped},
        )

    # ---- export -----------------------------------------------------------------------------

    def to_wfdb(self, record_name: str, folder: str | os.PathLike[str] = ".", *, fmt: str = "16") -> Path:
        """Write the ECG as a WFDB record (``.hea`` + ``.dat``): :func:`hybridfield.writers.write_wfdb`.

        Samples read back to within half a digital step (about 1e-4 of a lead's range for format
        16); the header keeps ``metadata["comments"]`` and the virtual lead names.

        Parameters
        ----------
        record_name : str
            Record name, letters, digits, ``_`` and ``-`` only (the files are
            ``<record_name>.hea`` and ``<record_name>.dat``).
        folder : str or path-like
            Directory to write into; created if missing.
        fmt : {"16", "212", "80", "24", "32"}
            WFDB storage format of every lead: 16-bit (default), packed 12-bit, 8-bit offset,
            24-bit or 32-bit two's complement.

        Returns
        -------
        path : pathlib.Path
            The record without extension (``folder / record_name``), ready for
            :func:`hybridfield.io.read_wfdb`.

        Raises
        ------
        ValueError, TypeError
            As :func:`hybridfield.writers.write_wfdb` (bad ``record_name`` or ``fmt``, multi-line names).

        Examples
        --------
        >>> path = ecg.to_wfdb("subject01", "out")  # doctest: +SKIP
        >>> read_wfdb(path).lead_names == ecg.lead_names  # doctest: +SKIP
        True
        """
        from .writers import write_wfdb

        return write_wfdb(self, record_name, folder, fmt=fmt)

    def to_xarray(self) -> Any:
        """The signals as a labelled ``xarray.DataArray``.

        Returns
        -------
        signals : xarray.DataArray
            Named ``"ecg"``, shape (n_leads, n_samples), mV, dims ``("lead", "time")``. Coordinates:
            ``lead`` (str, canonical names), ``time`` (float, s, from 0; attribute ``units="s"``)
            and ``virtual`` (bool per lead). Attributes: ``units`` ("mV"), ``fs`` (float, Hz),
            ``virtual_leads`` (a JSON list of the virtual lead names, a string so that netCDF can
            store it) and ``record`` (str, only when :attr:`record` is known: netCDF cannot store
            None). The data are a writable copy.
        """
        import xarray as xr

        attrs: dict[str, Any] = {
            "units": "mV",
            "fs": self._fs,
            "virtual_leads": json.dumps([name for name in self._lead_names if name in self._virtual]),
        }
        if self.record is not None:
            attrs["record"] = self.record
        return xr.DataArray(
            np.array(self._signals, dtype=np.float64),
            dims=("lead", "time"),
            coords={
                "lead": list(self._lead_names),
                "time": ("time", self.time, {"units": "s"}),
                "virtual": ("lead", np.array([name in self._virtual for name in self._lead_names], dtype=bool)),
            },
            attrs=attrs,
            name="ecg",
        )

    def to_netcdf(self, path: str | os.PathLike[str], *, engine: str | None = None) -> Path:
        """Write :meth:`to_xarray` to a netCDF file (``xarray.open_dataarray`` reads it back).

        Calls :func:`hybridfield.writers.write_netcdf`.

        Parameters
        ----------
        path : str or path-like
            Output file (``.nc``); overwritten if it exists.
        engine : {"h5netcdf", "netcdf4", "scipy"}, optional
            xarray backend; None (default): the first installed (see :func:`hybridfield.writers.write_netcdf`).

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        from .writers import write_netcdf

        return write_netcdf(self, path, engine=engine)

    # ---- display ----------------------------------------------------------------------------

    def __repr__(self) -> str:
        leads = f"{self.n_leads} lead{'s' if self.n_leads != 1 else ''}"
        if self._virtual:
            virtual = [name for name in self._lead_names if name in self._virtual]
            leads += f" ({len(virtual)} virtual: {', '.join(virtual)})"
        text = f"<ECG | {leads} x {self.n_samples} samples at {self._fs:g} Hz ({self.duration:.1f} s), mV"
        if self.record:
            text += f", record {self.record}"
        return text + ">"
