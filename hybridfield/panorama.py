"""The hybrid panorama: physical projection + Nef-Net residual, its data, training and weights.

``prediction(view) = physical projection(view) + residual(view)`` (DESIGN.md):

- the **physical projection** fits the heart vector ``p(t)`` (mA*m) to the input leads through
  the default torso's lead vectors (BEM), with the population's per-phase Gaussian prior on
  ``p`` and per-lead residual variances (Tikhonov, :func:`forward.tikhonov_heart_vector`), and
  projects it through the lead vector of the query view on the same torso; a view that is by
  definition a combination of the inputs (III = II - I, the augmented leads, an input itself)
  also gets that combination of the inputs' non-dipolar part, so the lead identities hold
  exactly (:func:`input_combinations`); with a single measured limb lead the other limb leads get
  the smallest heart-vector correction that makes it exact, so Einthoven's and Goldberger's
  identities hold with it (:func:`identity_weights`);
- the **residual** is a small :class:`~hybridfield.nefnet.NefNet` that sees the input cycles,
  their Nef-Net view angles, the query angle and the physical prediction, cycle by cycle; with a
  single measured limb lead, the limb leads' residuals are projected onto the ones that keep the
  identities with it (:func:`limb_residual_directions`), so the hybrid keeps them too.

Whole recordings are processed cycle by cycle (Nef-Net protocol cycles: one P onset to the next,
:func:`hybridfield.beats.nefnet_beats`); the residual is tapered to zero at each cycle's ends, so
the stitched record has no seams. Samples outside any usable cycle keep the physical projection.

Data: :func:`real_cycles` cuts cycles from wfdb records (input, reconstruction and synthesis
groups chosen by lead name), :func:`simulated_cycles` makes multi-view cycles with ground truth
from the torso model (random views anywhere on the sphere, per-record electrode/lead-vector
perturbations, so the physics is imperfect in a known way). :func:`train_hybrid` trains with
fixed seeds and progress lines; checkpoints carry their preprocessing contract and load with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .data import ECG, canonical_lead_name

__all__ = [
    "CycleSet",
    "HybridPanorama",
    "real_cycles",
    "simulated_cycles",
    "train_hybrid",
    "fit_linear_path",
    "LINEAR_RIDGE",
    "PHYSICS_GAIN_RIDGE",
    "HEART_VECTOR_RIDGE",
    "REAL_CYCLE_WEIGHT",
    "predict_cycles",
    "lead_view_angles",
    "forward_lead_name",
    "input_combinations",
    "identity_weights",
    "limb_residual_directions",
    "PREPROCESSING",
    "STANDARD_LEADS",
]

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

#: Limb leads defined from I and II (Einthoven, Goldberger): name -> {lead: weight}.
_LIMB_IDENTITIES = {
    "III": {"II": 1.0, "I": -1.0},
    "aVR": {"I": -0.5, "II": -0.5},
    "aVL": {"I": 1.0, "II": -0.5},
    "aVF": {"II": 1.0, "I": -0.5},
}

#: The six limb leads, all combinations of I and II.
_LIMB_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF")

#: Preprocessing every record goes through before the hybrid sees it (saved with the weights).
PREPROCESSING: dict[str, Any] = {
    "fs": 500.0,
    "band_hz": [0.5, 40.0],
    "units": "mV",
    "cycle_length": 512,
    "cycles": "Nef-Net protocol: P onset to next P onset, zero-padded (hybridfield.nefnet_beats)",
    "region_codes": {"P": 0, "PR": 1, "QRS": 2, "ST": 3, "T": 4, "TP": 5, "padding": 6},
    "angle_convention": (
        "(theta, phi) radians; theta polar from +z (superior), phi azimuth from +x (anterior) towards +y "
        "(left); standard leads at Nef-Net's angles (geometry.STANDARD_LEAD_ANGLES)"
    ),
    "heart_vector": "Tikhonov fit through default-torso BEM lead vectors, population prior (mA*m, body frame)",
}

_WEIGHTS_RESOURCE = "hybrid_default.pt"
#: Default ridges of the linear path's closed-form start, each relative to the mean diagonal of
#: its block of the normal matrix (README, "the linear path"): the per-pair weights, free between
#: the trained views, are held small; the physics gain and the heart-vector correction, which
#: change with the view smoothly, are fitted almost freely.
LINEAR_RIDGE = 1.0
PHYSICS_GAIN_RIDGE = 1e-3
HEART_VECTOR_RIDGE = 1e-6
# Weight of a real cycle against a simulated one in the linear path's closed-form fit. The
# simulated views hold the path between the trained views, but the torso model's leads differ
# from real ones (physics alone keeps 0.19 of the real V6 amplitude variance across records), so
# at equal weight the fit settles between the two and shrinks the real amplitudes; 3 keeps the
# V4 and V6 amplitude spread at least the regression's (hybridfield.evaluate_hybrid,
# reconstruction setting), at some cost to the views never trained on (README).
REAL_CYCLE_WEIGHT = 3.0


# ----------------------------------------------------------------------------------------------
# Views and physics
# ----------------------------------------------------------------------------------------------
def forward_lead_name(name: str) -> str:
    """The forward model's spelling of a lead name (case-insensitive look-up).

    Parameters
    ----------
    name : str
        Lead name, e.g. ``"v7"``, ``"AVR"``.

    Returns
    -------
    name : str
        As in :func:`forward.lead_names`.

    Raises
    ------
    ValueError
        For a name the forward model does not know.
    """
    from forward import lead_names

    lookup = {known.lower(): known for known in lead_names()}
    canonical = lookup.get(name.strip().lower())
    if canonical is None:
        raise ValueError(
            f"unknown lead name {name!r}; known leads: {', '.join(lead_names())} "
            "(or give a view as a (theta, phi) pair in radians)"
        )
    return canonical


def lead_view_angles(name: str) -> tuple[float, float]:
    """View angles of a named lead: Nef-Net's table angle, or its exploring electrode's direction.

    The 12 standard leads take Nef-Net's published angles (geometry.STANDARD_LEAD_ANGLES). Any
    other single-electrode lead referenced to the Wilson central terminal (V7-V9, V3R-V6R, high
    V1/V2, ...) looks from the heart centre towards its exploring electrode on the default torso,
    which is how Nef-Net derived its precordial angles from CT electrode positions.

    Parameters
    ----------
    name : str
        Lead name (case-insensitive).

    Returns
    -------
    theta, phi : float, radians
    """
    from forward import lead_definition
    from geometry import STANDARD_LEAD_ANGLES, electrode_positions

    standard = {key.lower(): key for key in STANDARD_LEAD_ANGLES}
    if name.strip().lower() in standard:
        theta, phi = STANDARD_LEAD_ANGLES[standard[name.strip().lower()]]
        return float(theta), float(phi)
    weights = lead_definition(forward_lead_name(name))
    exploring = [key for key, weight in weights.items() if weight > 0.5]
    others = [weight for key, weight in weights.items() if key not in exploring]
    if len(exploring) != 1 or not np.allclose(others, -1.0 / 3.0):
        raise ValueError(
            f"lead {name!r} is not a single-electrode (WCT-referenced) lead and has no view angle "
            f"(known for {', '.join(STANDARD_LEAD_ANGLES)} and unipolar leads); give its view as a "
            "(theta, phi) pair in radians"
        )
    system, electrode = exploring[0]
    torso = _default_torso()
    theta, phi = torso.view_angles(electrode_positions(torso, system)[electrode])
    return float(theta), float(phi)


def _parse_views(views: Any) -> tuple[list[str], np.ndarray, list[Any]]:
    """Names, view angles (n, 2) and lead_vectors keys of a sequence of views."""
    from geometry import direction_from_angles, view_to_degrees

    if isinstance(views, str) or not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a non-empty sequence of lead names or (theta, phi) pairs in radians, got {views!r}")
    names: list[str] = []
    angles: list[tuple[float, float]] = []
    keys: list[Any] = []
    for view in views:
        if isinstance(view, str):
            angles.append(lead_view_angles(view))
            name = forward_lead_name(view)
            names.append(name)
            keys.append(name)
            continue
        if np.ndim(view) != 1 or len(view) != 2:
            raise ValueError(f"views must be lead names or (theta, phi) pairs in radians, got {view!r}")
        theta, phi = (float(v) for v in view)
        direction_from_angles(theta, phi)  # named range errors
        theta_degrees, phi_degrees = view_to_degrees(theta, phi)
        names.append(f"view({float(theta_degrees):g},{float(phi_degrees):g})")
        angles.append((theta, phi))
        keys.append((theta, phi))
    return names, np.array(angles, dtype=np.float64), keys


@lru_cache(maxsize=1)
def _default_torso() -> Any:
    from geometry import default_torso

    return default_torso()


def _lead_vector_array(keys: Sequence[Any]) -> np.ndarray:
    """(n, 3) default-torso BEM lead vectors, mV per mA*m, of lead names and (theta, phi) views."""
    from forward import lead_vectors

    # lead_vectors answers with a dict, one row per distinct view in order: ask for each once
    unique = list(dict.fromkeys(keys))
    rows = np.array(list(lead_vectors(_default_torso(), unique).values()))
    if len(rows) != len(unique):
        raise ValueError(f"views must name distinct lead vectors, got {list(keys)!r}")
    return rows[[unique.index(key) for key in keys]]


def _fit_heart_vector(signals: np.ndarray, input_names: Sequence[str], r_peaks: np.ndarray, fs: float, population: Any) -> np.ndarray:
    """Tikhonov heart vector (3, n) mA*m from input leads (n_inputs, n) mV through the torso's lead vectors."""
    from forward import tikhonov_heart_vector

    from .phases import phase_bins
    from .uncertainty import _lead_set

    bins = phase_bins(np.unique(r_peaks[r_peaks >= 0]), signals.shape[1], fs)
    lead_set = _lead_set(population, input_names)
    matrix = _lead_vector_array(input_names)
    return tikhonov_heart_vector(
        signals,
        matrix,
        prior_mean=population.prior_mean[bins].T,
        prior_covariance=population.prior_covariance[bins],
        noise_std=np.sqrt(lead_set.residual[:, bins]),
    ).mean


def input_combinations(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """Coefficients expressing each view *exactly* as a combination of the input leads, if it is one.

    Leads are defined on electrode potentials (forward.lead_definition), so some are identities of
    others whatever the torso: III = II - I, aVR = -(I + II) / 2, aVL = I - II / 2,
    aVF = II - I / 2 (Einthoven, Goldberger), and an input is itself. For those views the
    coefficients are exact; for every other view (precordial leads not among the inputs, arbitrary
    ``(theta, phi)`` views) they are 0.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    coefficients : (n_views, n_inputs) float
    """
    from forward import lead_definition

    definitions = [lead_definition(name) for name in inputs]
    keys = sorted({key for d in definitions for key in d})
    basis = np.array([[d.get(key, 0.0) for key in keys] for d in definitions]).T  # (n_keys, n_inputs)
    out = np.zeros((len(views), len(inputs)))
    for k, view in enumerate(views):
        if not isinstance(view, str):
            continue
        definition = lead_definition(view)
        if any(key not in keys for key in definition):
            continue
        target = np.array([definition.get(key, 0.0) for key in keys])
        coefficients, *_ = np.linalg.lstsq(basis, target, rcond=None)
        if np.linalg.norm(basis @ coefficients - target) < 1e-9:
            out[k] = coefficients
    return out


def _limb_plane_coordinates(views: Sequence[Any]) -> np.ndarray:
    """(n_views, 2): each view as ``a I + b II`` if it is a limb lead (Einthoven, Goldberger), else 0."""
    return input_combinations(views, ("I", "II"))


def _single_limb_input(inputs: Sequence[str]) -> int | None:
    """Index of the only input in the limb plane, or None when the inputs hold none or two or more."""
    in_plane = np.flatnonzero(np.abs(_limb_plane_coordinates(inputs)).sum(axis=1) > 0)
    return int(in_plane[0]) if len(in_plane) == 1 else None


def identity_weights(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """Weights with which each view carries the inputs' non-dipolar part in the physical projection.

    The physical projection of a view is ``c_view . p + sum_k w_k (x_k - c_k . p)``: the fitted
    heart vector ``p`` through the view's lead vector, plus these weights times what the fit
    leaves of each measured input ``x_k``. The weights make the lead identities hold with the
    measured leads, whatever the fit:

    - a view that is a combination of the inputs (III = II - I, the augmented leads, an input
      itself) gets that combination (:func:`input_combinations`): it reproduces the measurement;
    - when the inputs hold exactly one limb lead ``m`` (II with V2 and V5, say), every other limb
      lead ``v`` gets ``w_m = c_v . c_m / |c_m|^2``. This is the smallest change of the heart
      vector that makes ``m`` exact (``p + c_m (x_m - c_m . p) / |c_m|^2``), and because the
      torso's lead vectors obey the same identities as the leads (``c_I + c_III = c_II``),
      Einthoven's (I + III = II) and Goldberger's identities then hold with the measured lead;
    - every other view (precordial leads, arbitrary ``(theta, phi)`` views) gets 0: nothing ties
      it to the inputs but the heart vector.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    weights : (n_views, n_inputs) float
    """
    weights = input_combinations(views, inputs)
    measured = _single_limb_input(inputs)
    if measured is None:
        return weights
    partial = (np.abs(_limb_plane_coordinates(views)).sum(axis=1) > 0) & ~weights.any(axis=1)
    if partial.any():
        view_vectors = _lead_vector_array([views[k] for k in np.flatnonzero(partial)])
        measured_vector = _lead_vector_array([inputs[measured]])[0]
        weights[partial, measured] = view_vectors @ measured_vector / (measured_vector @ measured_vector)
    return weights


def limb_residual_directions(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """How much of the limb plane's unmeasured direction each view holds (0 for most views).

    When the inputs hold exactly one limb lead ``m``, the limb plane (every limb lead is
    ``a I + b II``) has one direction the inputs do not fix, and each limb lead ``v`` is
    ``alpha_v m + beta_v u`` for any second direction ``u``. A residual that keeps the identities
    is ``beta_v rho(t)`` on every limb lead; ``beta_v`` is the 2-D cross product of ``m``'s and
    ``v``'s ``(a, b)`` coordinates (its scale is arbitrary). The measured lead gets 0.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    directions : (n_views,) float
        All 0 when the inputs hold no limb lead (no identity ties the limb leads to the inputs)
        or two (every limb lead is then exact).
    """
    measured = _single_limb_input(inputs)
    if measured is None:
        return np.zeros(len(views))
    m = _limb_plane_coordinates([inputs[measured]])[0]
    limb = _limb_plane_coordinates(views)
    return m[0] * limb[:, 1] - m[1] * limb[:, 0]


def _with_all_limb_leads(views: Sequence[Any], inputs: Sequence[str]) -> list[Any]:
    """``views``, followed by the six limb leads when the inputs hold exactly one limb lead, so the
    identity-keeping fit of the limb leads sees all six whichever were asked for."""
    views = list(views)
    return [*views, *_LIMB_LEADS] if limb_residual_directions(views, inputs).any() else views


def _distinct_views(views: Sequence[Any]) -> np.ndarray:
    """(n_views,) bool: the first of each distinct lead name (case-insensitive), so a lead asked
    for twice counts once in the limb fit; ``(theta, phi)`` views are False."""
    keys = [canonical_lead_name(view) if isinstance(view, str) else None for view in views]
    return np.array([key is not None and keys.index(key) == k for k, key in enumerate(keys)], dtype=bool)


def _project_limb_residuals(residual: np.ndarray, directions: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Project learned residuals ``(..., n_views, n)`` onto the identity-keeping ones ``beta_v rho``.

    ``rho`` is the least-squares fit (equal weight per view) to the residuals of the views in
    ``basis`` (a bool mask, default every view with a nonzero direction). True residuals of real
    limb leads are of this form (the measured leads and the physical projection both keep the
    identities), so the projection can only shrink the summed squared error over those views.
    """
    basis = directions != 0 if basis is None else basis & (directions != 0)
    if not basis.any():
        return residual
    used = directions[basis]
    rho = np.einsum("v,...vt->...t", used, residual[..., basis, :]) / (used @ used)
    projected = residual.copy()
    limb = directions != 0
    projected[..., limb, :] = directions[limb, None] * rho[..., None, :]
    return projected


def _physical_projection(
    view_vectors: np.ndarray, combinations: np.ndarray, heart_vector: np.ndarray, inputs: np.ndarray, input_vectors: np.ndarray
) -> np.ndarray:
    """Physical projection (n_views, n) mV: ``c_view . p`` plus the inputs' non-dipolar part with
    the weights of :func:`identity_weights`, so the lead identities hold with the measured leads
    (III = II - I whatever the fit)."""
    return view_vectors @ heart_vector + combinations @ (inputs - input_vectors @ heart_vector)


def _prepare(ecg: ECG, *, warn: bool = False) -> ECG:
    from .uncertainty import prepare_ecg

    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    fs = PREPROCESSING["fs"]
    low, high = PREPROCESSING["band_hz"]
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore")
        return prepare_ecg(ecg, fs=fs, band=(low, high), warn=warn)


def _segment(prepared: ECG) -> Any:
    from .beats import segment_beats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return segment_beats(prepared)


def _cycle_layout(prepared: ECG, segmentation: Any, length: int) -> Any:
    """Nef-Net cycles of a prepared record: BeatSet of all its leads (starts, lengths, regions)."""
    from .beats import nefnet_beats

    return nefnet_beats(prepared, segmentation, length=length, fs_target=prepared.fs)


def _cut(signals: np.ndarray, starts: np.ndarray, lengths: np.ndarray, length: int) -> np.ndarray:
    """(n_cycles, n_leads, length) zero-padded cycles cut from (n_leads, n_samples) signals."""
    out = np.zeros((len(starts), signals.shape[0], length), dtype=np.float32)
    for k, (start, size) in enumerate(zip(starts, lengths)):
        out[k, :, :size] = signals[:, start : start + size]
    return out


# ----------------------------------------------------------------------------------------------
# Cycle sets
# ----------------------------------------------------------------------------------------------
@dataclass
class CycleSet:
    """Cycles ready for the hybrid network: inputs, query views with truth, physics.

    Attributes
    ----------
    inputs : (n_cycles, n_inputs, length) float32, mV
        Input views.
    input_angles : (n_cycles, n_inputs, 2) float32, radians
        Their Nef-Net ``(theta, phi)``.
    targets : (n_cycles, n_views, length) float32, mV
        Measured (or simulated) query views; zero after each cycle.
    target_angles : (n_cycles, n_views, 2) float32, radians
        Query angles.
    physical : (n_cycles, n_views, length) float32, mV
        Physical projection of each query view.
    regions : (n_cycles, length) int8
        Region codes (0 P .. 5 TP, 6 padding).
    lengths : (n_cycles,) int64
        Unpadded lengths, samples.
    record : (n_cycles,) int64
        Index of the record each cycle came from (for grouped splits).
    beat_minimum, beat_maximum : (n_cycles,) float32, mV
        Min and max of the cycle over all 12 standard leads (Nef-Net's joint normalisation; NaN
        for simulated cycles, which have no 12-lead truth of their own).
    input_names : tuple of str
        Input leads.
    target_names : tuple of str
        Query view names (``"sim"`` views for simulated sets).
    record_names : tuple of str
        Names of the records, indexed by ``record``.
    source : str
        ``"real"`` or ``"simulated"``.
    """

    inputs: np.ndarray
    input_angles: np.ndarray
    targets: np.ndarray
    target_angles: np.ndarray
    physical: np.ndarray
    regions: np.ndarray
    lengths: np.ndarray
    record: np.ndarray
    beat_minimum: np.ndarray
    beat_maximum: np.ndarray
    input_names: tuple[str, ...]
    target_names: tuple[str, ...]
    record_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def _named_views(self) -> list[Any]:
        # simulated views ("sim") are no lead: a placeholder angle pair, which no identity ties
        return [name if name != "sim" else (0.0, 0.0) for name in self.target_names]

    @property
    def exact_views(self) -> np.ndarray:
        """(n_views,) bool: query views that are exact combinations of the inputs (no residual)."""
        return input_combinations(self._named_views, self.input_names).any(axis=1)

    @property
    def limb_directions(self) -> np.ndarray:
        """(n_views,) float: :func:`limb_residual_directions` of the query views (0 for ``"sim"`` views)."""
        return limb_residual_directions(self._named_views, self.input_names)

    def subset(self, cycles: Any) -> "CycleSet":
        """The cycles selected by an index or boolean mask, as a new CycleSet.

        Parameters
        ----------
        cycles : (k,) int or (n_cycles,) bool array_like
            Cycles to keep.

        Returns
        -------
        subset : CycleSet
        """
        index = np.asarray(cycles)
        picked = {
            name: getattr(self, name)[index]
            for name in (
                "inputs", "input_angles", "targets", "target_angles", "physical", "regions",
                "lengths", "record", "beat_minimum", "beat_maximum",
            )
        }
        return CycleSet(**picked, input_names=self.input_names, target_names=self.target_names,
                        record_names=self.record_names, source=self.source)

    def views(self, names: Sequence[str]) -> "CycleSet":
        """The same cycles with only the named query views (real sets).

        Parameters
        ----------
        names : sequence of str
            Query views to keep, in this order.

        Returns
        -------
        subset : CycleSet
        """
        keys = [canonical_lead_name(n) for n in names]
        missing = [k for k in keys if k not in self.target_names]
        if missing:
            raise ValueError(f"views {missing} are not query views of this set ({', '.join(self.target_names)})")
        index = [self.target_names.index(k) for k in keys]
        return CycleSet(
            inputs=self.inputs, input_angles=self.input_angles, targets=self.targets[:, index],
            target_angles=self.target_angles[:, index], physical=self.physical[:, index], regions=self.regions,
            lengths=self.lengths, record=self.record, beat_minimum=self.beat_minimum, beat_maximum=self.beat_maximum,
            input_names=self.input_names, target_names=tuple(keys), record_names=self.record_names, source=self.source,
        )

    @staticmethod
    def concatenate(sets: Sequence["CycleSet"]) -> "CycleSet":
        """Stack cycle sets with the same inputs and views (records renumbered).

        Parameters
        ----------
        sets : sequence of CycleSet
            Sets to stack.

        Returns
        -------
        stacked : CycleSet
        """
        if not sets:
            raise ValueError("sets must not be empty")
        first = sets[0]
        for other in sets[1:]:
            if other.input_names != first.input_names or other.targets.shape[1] != first.targets.shape[1]:
                raise ValueError("cycle sets to concatenate must share inputs and the number of query views")
        offsets = np.cumsum([0] + [len(s.record_names) for s in sets[:-1]])
        arrays = {
            name: np.concatenate([getattr(s, name) for s in sets])
            for name in (
                "inputs", "input_angles", "targets", "target_angles", "physical", "regions",
                "lengths", "beat_minimum", "beat_maximum",
            )
        }
        arrays["record"] = np.concatenate([s.record + o for s, o in zip(sets, offsets)])
        return CycleSet(
            **arrays, input_names=first.input_names, target_names=first.target_names,
            record_names=tuple(n for s in sets for n in s.record_names), source=first.source,
        )


def _record_cycles(
    ecg: ECG, inputs: Sequence[str], population: Any, length: int
) -> tuple[Any, np.ndarray, ECG] | None:
    prepared = _prepare(ecg)
    if not all(prepared.has_lead(n) for n in inputs):
        return None
    segmentation = _segment(prepared)
    beats = _cycle_layout(prepared, segmentation, length)
    if beats.n_beats == 0:
        return None
    signals = np.array([prepared[n] for n in inputs])
    heart_vector = _fit_heart_vector(signals, inputs, segmentation.r_peak, prepared.fs, population)
    return beats, heart_vector, prepared


def real_cycles(
    records: Sequence[ECG],
    *,
    inputs: Sequence[str] = ("I", "II", "V5"),
    targets: Sequence[str] = STANDARD_LEADS,
    population: Any = None,
    length: int = 512,
    progress: bool = False,
) -> CycleSet:
    """Nef-Net protocol cycles of real records with their physical projections.

    Records lacking an input lead or a target lead (flat, saturated or absent) are skipped, as
    are records where no cycle could be delineated.

    Parameters
    ----------
    records : sequence of ECG
        12-lead records, mV (any rate; resampled to 500 Hz and band-passed 0.5-40 Hz).
    inputs : sequence of str
        Input leads.
    targets : sequence of str
        Query leads whose truth is kept (the reconstruction group; leave out the synthesis group).
    population : PopulationModel, optional
        Heart-vector prior for the physics (default: the bundled one). For a fair evaluation, learn
        it from the training records only.
    length : int
        Padded cycle length, samples.
    progress : bool
        Print one line per record.

    Returns
    -------
    cycles : CycleSet
    """
    from geometry import STANDARD_LEAD_ANGLES

    from .uncertainty import default_population_model

    population = default_population_model() if population is None else population
    inputs = [canonical_lead_name(n) for n in inputs]
    targets = [canonical_lead_name(n) for n in targets]
    target_vectors = _lead_vector_array(targets)
    input_vectors = _lead_vector_array(inputs)
    combinations = identity_weights(targets, inputs)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("inputs", "targets", "physical", "regions", "lengths", "record", "minimum", "maximum")}
    names: list[str] = []
    for ecg in records:
        result = _record_cycles(ecg, inputs, population, length)
        if result is None or not all(result[2].has_lead(n) for n in (*targets, *STANDARD_LEADS)):
            if progress:
                print(f"  skipped {ecg.record}: missing leads or no usable cycle", flush=True)
            continue
        beats, heart_vector, prepared = result
        truth = np.array([prepared[n] for n in targets])
        everything = np.array([prepared[n] for n in STANDARD_LEADS])
        full = _cut(everything, beats.start, beats.lengths, length)
        mask = beats.mask[:, None, :]
        parts["minimum"].append(np.where(mask, full, np.inf).min(axis=(1, 2)).astype(np.float32))
        parts["maximum"].append(np.where(mask, full, -np.inf).max(axis=(1, 2)).astype(np.float32))
        input_signals = np.array([prepared[n] for n in inputs])
        physical = _physical_projection(target_vectors, combinations, heart_vector, input_signals, input_vectors)
        parts["inputs"].append(_cut(input_signals, beats.start, beats.lengths, length))
        parts["targets"].append(_cut(truth, beats.start, beats.lengths, length))
        parts["physical"].append(_cut(physical, beats.start, beats.lengths, length))
        parts["regions"].append(np.asarray(beats.regions, dtype=np.int8))
        parts["lengths"].append(np.asarray(beats.lengths, dtype=np.int64))
        parts["record"].append(np.full(beats.n_beats, len(names), dtype=np.int64))
        names.append(str(ecg.record))
        if progress:
            print(f"  {ecg.record}: {beats.n_beats} cycles", flush=True)
    if not names:
        raise ValueError("no record gave usable cycles with the requested inputs and targets")
    n = sum(len(a) for a in parts["lengths"])
    input_angles = np.array([STANDARD_LEAD_ANGLES[name] for name in inputs], dtype=np.float32)
    target_angles = np.array([STANDARD_LEAD_ANGLES[name] for name in targets], dtype=np.float32)
    return CycleSet(
        inputs=np.concatenate(parts["inputs"]),
        input_angles=np.broadcast_to(input_angles, (n, *input_angles.shape)).copy(),
        targets=np.concatenate(parts["targets"]),
        target_angles=np.broadcast_to(target_angles, (n, *target_angles.shape)).copy(),
        physical=np.concatenate(parts["physical"]),
        regions=np.concatenate(parts["regions"]),
        lengths=np.concatenate(parts["lengths"]),
        record=np.concatenate(parts["record"]),
        beat_minimum=np.concatenate(parts["minimum"]),
        beat_maximum=np.concatenate(parts["maximum"]),
        input_names=tuple(inputs),
        target_names=tuple(targets),
        record_names=tuple(names),
        source="real",
    )


def _random_rotations(rng: np.random.Generator, n: int, sd_radians: float) -> np.ndarray:
    """(n, 3, 3) rotations about random axes by Gaussian angles (Rodrigues)."""
    axis = rng.standard_normal((n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = sd_radians * rng.standard_normal(n)
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def simulated_cycles(
    n_records: int,
    *,
    inputs: Sequence[str] = ("I", "II", "V5"),
    exclude_views: Sequence[str] = (),
    n_random_views: int = 12,
    duration: float = 8.0,
    rotation_sd_degrees: float = 10.0,
    gain_sd: float = 0.15,
    noise_mv: float = 0.01,
    population: Any = None,
    length: int = 512,
    random_seed: int = 0,
) -> CycleSet:
    """Multi-view cycles with ground truth from the torso model.

    For each simulated record: a heart vector (:func:`forward.simulate_heart_vector`, condition
    normal, LBBB or RBBB with probabilities 0.6 / 0.2 / 0.2, heart rate 50-100 bpm); the views are
    the 12 standard leads (minus ``exclude_views``) and ``n_random_views`` views drawn uniformly on
    the sphere. The *true* lead vector of every view is its default-torso lead vector rotated by a
    random angle (``rotation_sd_degrees``) and scaled by a log-normal gain (``gain_sd``): the
    person is not the default torso. Inputs are the true signals plus white noise; the physics
    fits the heart vector with the *nominal* lead vectors and projects it through the nominal
    lead vector of each view, as for a real record. The residual to learn is the difference.

    Parameters
    ----------
    n_records : int
        Simulated records.
    inputs : sequence of str
        Input leads.
    exclude_views : sequence of str
        Standard leads never used as query views (a synthesis group).
    n_random_views : int
        Random views per record.
    duration : float, s
        Length of each record.
    rotation_sd_degrees : float, degrees
        Standard deviation of the per-view lead-vector rotation.
    gain_sd : float
        Standard deviation of the per-view log gain.
    noise_mv : float, mV
        White noise on the inputs.
    population : PopulationModel, optional
        Prior for the physics' Tikhonov fit (default: the bundled one).
    length : int
        Padded cycle length, samples.
    random_seed : int
        Seed.

    Returns
    -------
    cycles : CycleSet
        ``beat_minimum``/``beat_maximum`` are NaN (no 12-lead normalisation for simulated cycles).
    """
    from forward import simulate_heart_vector
    from geometry import STANDARD_LEAD_ANGLES, angles_from_direction

    from .beats import BeatSegmentation, nefnet_beats
    from .uncertainty import default_population_model

    if isinstance(n_records, bool) or not isinstance(n_records, (int, np.integer)) or n_records < 1:
        raise ValueError(f"n_records must be a positive integer, got {n_records!r}")
    population = default_population_model() if population is None else population
    rng = np.random.default_rng(random_seed)
    fs = PREPROCESSING["fs"]
    inputs = [canonical_lead_name(n) for n in inputs]
    if any(n not in STANDARD_LEADS for n in inputs):
        raise ValueError(f"inputs must be standard leads for simulation ({', '.join(STANDARD_LEADS)}), got {inputs}")
    excluded = {canonical_lead_name(n) for n in exclude_views}
    # the simulated person needs I and II (and the inputs) as views even when they are held out
    # as query views: they are cut from the query set after simulation
    standard = list(STANDARD_LEADS)
    query = [k for k, n in enumerate(standard) if n not in excluded]
    standard_vectors = _lead_vector_array(standard)
    input_nominal = _lead_vector_array(inputs)
    combinations = np.vstack([identity_weights(standard, inputs), np.zeros((n_random_views, len(inputs)))])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("inputs", "targets", "physical", "regions", "lengths", "record", "angles")}
    input_angles = np.array([STANDARD_LEAD_ANGLES[n] for n in inputs], dtype=np.float32)
    for record in range(n_records):
        condition = rng.choice(["normal", "lbbb", "rbbb"], p=[0.6, 0.2, 0.2])
        heart_vector, annotations = simulate_heart_vector(
            duration, fs, heart_rate=float(rng.uniform(50, 100)), condition=str(condition),
            random_seed=int(rng.integers(2**31)), return_annotations=True,
        )
        directions = rng.standard_normal((n_random_views, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        theta, phi = angles_from_direction(directions)
        random_vectors = _lead_vector_array(list(zip(np.atleast_1d(theta), np.atleast_1d(phi))))
        nominal = np.vstack([standard_vectors, random_vectors])
        angles = np.vstack([[STANDARD_LEAD_ANGLES[n] for n in standard], np.column_stack([theta, phi])]).astype(np.float32)
        # the person: every independent lead's and random view's lead vector rotated and scaled;
        # leads defined from others (III, aVR, aVL, aVF) keep their identities, inputs are views
        rotations = _random_rotations(rng, len(nominal), math.radians(rotation_sd_degrees))
        gains = np.exp(gain_sd * rng.standard_normal(len(nominal)))
        true_vectors = gains[:, None] * np.einsum("kij,kj->ki", rotations, nominal)
        for name, weights in _LIMB_IDENTITIES.items():
            if name in standard:
                true_vectors[standard.index(name)] = sum(w * true_vectors[standard.index(b)] for b, w in weights.items())
        view_truth = true_vectors @ heart_vector
        input_truth = np.array([view_truth[standard.index(n)] for n in inputs])
        input_truth = input_truth + noise_mv * rng.standard_normal(input_truth.shape)
        fitted = _fit_heart_vector(input_truth, inputs, annotations.r_peak, fs, population)
        physical = _physical_projection(nominal, combinations, fitted, input_truth, input_nominal)
        segmentation = BeatSegmentation(
            r_peak=annotations.r_peak, p_onset=annotations.p_onset, p_offset=annotations.p_offset,
            qrs_onset=annotations.qrs_onset, qrs_offset=annotations.qrs_offset, t_onset=annotations.t_onset,
            t_offset=annotations.t_offset, valid=np.ones(annotations.n_beats, dtype=bool),
            beat_quality=np.array(["good"] * annotations.n_beats), quality="good", fs=fs,
            n_samples=heart_vector.shape[1], lead_used="X", record=f"simulated-{record}",
        )
        layout = nefnet_beats(
            ECG.from_array(heart_vector[:1], fs, ["X"]), segmentation, length=length, fs_target=fs
        )
        if layout.n_beats == 0:
            continue
        parts["inputs"].append(_cut(input_truth, layout.start, layout.lengths, length))
        keep = query + list(range(len(standard), len(nominal)))
        parts["targets"].append(_cut(view_truth[keep], layout.start, layout.lengths, length))
        parts["physical"].append(_cut(physical[keep], layout.start, layout.lengths, length))
        parts["regions"].append(np.asarray(layout.regions, dtype=np.int8))
        parts["lengths"].append(np.asarray(layout.lengths, dtype=np.int64))
        parts["record"].append(np.full(layout.n_beats, record, dtype=np.int64))
        parts["angles"].append(np.broadcast_to(angles[keep], (layout.n_beats, len(keep), 2)))
    n = sum(len(a) for a in parts["lengths"])
    return CycleSet(
        inputs=np.concatenate(parts["inputs"]),
        input_angles=np.broadcast_to(input_angles, (n, *input_angles.shape)).copy(),
        targets=np.concatenate(parts["targets"]),
        target_angles=np.concatenate(parts["angles"]).astype(np.float32),
        physical=np.concatenate(parts["physical"]),
        regions=np.concatenate(parts["regions"]),
        lengths=np.concatenate(parts["lengths"]),
        record=np.concatenate(parts["record"]),
        beat_minimum=np.full(n, np.nan, dtype=np.float32),
        beat_maximum=np.full(n, np.nan, dtype=np.float32),
        input_names=tuple(inputs),
        target_names=tuple(standard[k] for k in query) + ("sim",) * n_random_views,
        record_names=tuple(f"simulated-{k}" for k in range(n_records)),
        source="simulated",
    )


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _LimbCompletion:
    """The six limb leads of a cycle set whose inputs hold exactly one limb lead.

    The identity-keeping limb residual (:func:`limb_residual_directions`) is fitted over all six
    limb leads, as :meth:`HybridPanorama.predict` does, also when the set holds fewer (a
    training set without the held-out I, a random subset of views per step).

    Attributes
    ----------
    angles : (6, 2) float32, radians
        Nef-Net angles of I, II, III, aVR, aVL, aVF.
    directions : (6,) float
        Their :func:`limb_residual_directions`.
    exact : (6,) bool
        Those that are combinations of the inputs (the measured lead).
    from_views : (6, n_views) float
        Each limb lead's physical projection as a combination of the set's query views' ...
    from_inputs : (6, n_inputs) float
        ... and inputs': the projection keeps the identities with the measured lead
        (:func:`identity_weights`), so the measured lead and any other limb lead fix all six.
    view_directions : (n_views,) float
        :func:`limb_residual_directions` of the set's own query views.
    """

    angles: np.ndarray
    directions: np.ndarray
    exact: np.ndarray
    from_views: np.ndarray
    from_inputs: np.ndarray
    view_directions: np.ndarray


def _limb_completion(cycles: CycleSet) -> _LimbCompletion | None:
    """The set's :class:`_LimbCompletion`, or None when no query view carries a limb residual."""
    from geometry import STANDARD_LEAD_ANGLES

    view_directions = cycles.limb_directions
    if not view_directions.any():
        return None
    named = cycles._named_views
    coordinates = np.vstack([_limb_plane_coordinates(named), _limb_plane_coordinates(cycles.input_names)])
    in_plane = np.abs(coordinates).sum(axis=1) > 0
    # (a, b) of I and II for each limb lead in the set, then every limb lead from those (rank 2:
    # the measured lead and a view with a nonzero direction are independent)
    mapping = np.zeros((len(_LIMB_LEADS), len(coordinates)))
    mapping[:, in_plane] = _limb_plane_coordinates(_LIMB_LEADS) @ np.linalg.pinv(coordinates[in_plane])
    return _LimbCompletion(
        angles=np.array([STANDARD_LEAD_ANGLES[name] for name in _LIMB_LEADS], dtype=np.float32),
        directions=limb_residual_directions(_LIMB_LEADS, cycles.input_names),
        exact=input_combinations(_LIMB_LEADS, cycles.input_names).any(axis=1),
        from_views=mapping[:, : len(named)],
        from_inputs=mapping[:, len(named) :],
        view_directions=view_directions,
    )


def _tensors(
    cycles: CycleSet, index: np.ndarray, views: np.ndarray | None = None, completion: _LimbCompletion | None = None
) -> dict[str, Any]:
    import torch

    exact = cycles.exact_views if views is None else cycles.exact_views[views]

    def pick(array: np.ndarray) -> Any:
        chosen = array[index] if views is None else array[index][:, views]
        return torch.from_numpy(np.ascontiguousarray(chosen))

    batch = {
        "signals": torch.from_numpy(np.ascontiguousarray(cycles.inputs[index])),
        "angles": torch.from_numpy(np.ascontiguousarray(cycles.input_angles[index])),
        "query_angles": pick(cycles.target_angles),
        "regions": torch.from_numpy(np.ascontiguousarray(cycles.regions[index]).astype(np.int64)),
        "lengths": torch.from_numpy(np.ascontiguousarray(cycles.lengths[index])),
        "physical": pick(cycles.physical),
        "targets": pick(cycles.targets),
        "exact": torch.from_numpy(np.ascontiguousarray(exact)),
    }
    view_directions = None
    if completion is not None:
        view_directions = completion.view_directions if views is None else completion.view_directions[views]
    if view_directions is not None and view_directions.any():
        # the six limb leads ride along as extra queries; their physical projection from the
        # set's own (over all views, whichever were picked) and the inputs
        limb_physical = np.einsum("uv,nvt->nut", completion.from_views, cycles.physical[index]) + np.einsum(
            "uk,nkt->nut", completion.from_inputs, cycles.inputs[index]
        )
        batch.update(
            limb_query_angles=torch.from_numpy(np.broadcast_to(completion.angles, (len(index), *completion.angles.shape)).copy()),
            limb_physical=torch.from_numpy(limb_physical.astype(np.float32)),
            limb_exact=torch.from_numpy(completion.exact),
            limb_directions=torch.from_numpy(completion.directions.astype(np.float32)),
            view_directions=torch.from_numpy(view_directions.astype(np.float32)),
        )
    return batch


def _network_prediction(network: Any, batch: Mapping[str, Any], *, standin: bool = False) -> tuple[Any, Any, Any]:
    """The network's prediction of a batch's query views.

    With the six limb leads in the batch (:func:`_tensors` with a :class:`_LimbCompletion`), the
    limb views' residuals are replaced by ``beta_v rho(t)``, ``rho`` fitted over the six
    (:func:`_project_limb_residuals`), so training, evaluation and :meth:`HybridPanorama.predict`
    keep the limb identities the same way.

    Returns
    -------
    prediction : (n, q, length) tensor, mV
    standin_pair : tuple of two tensors or None
        The Standin pair of the query views (only with ``standin``).
    removed : (n, n_limb_views, length) tensor or None
        What the identity fit removes from the network's own residuals of the limb views among
        the query views (None without any).
    """
    import torch

    query, physical, exact = batch["query_angles"], batch["physical"], batch.get("exact")
    completed = "limb_physical" in batch
    if completed:
        query = torch.cat([query, batch["limb_query_angles"]], dim=1)
        physical = torch.cat([physical, batch["limb_physical"]], dim=1)
        exact = torch.cat([exact, batch["limb_exact"]])
    output = network(
        batch["signals"], batch["angles"], query, batch["regions"], batch["lengths"], physical, exact=exact, standin=standin
    )
    prediction, standin_pair = (output[0], output[1:]) if standin else (output, None)
    if not completed:
        return prediction, standin_pair, None
    n_views = batch["query_angles"].shape[1]
    directions = batch["limb_directions"]
    limb_residual = prediction[:, n_views:] - batch["limb_physical"]
    rho = torch.einsum("u,nut->nt", directions, limb_residual) / (directions @ directions)
    view_directions = batch["view_directions"]
    on_limb = view_directions != 0
    projected = batch["physical"] + view_directions[None, :, None] * rho[:, None, :]
    removed = (prediction[:, :n_views] - projected)[:, on_limb] if on_limb.any() else None
    prediction = torch.where(on_limb[None, :, None], projected, prediction[:, :n_views])
    if standin:
        standin_pair = tuple(half[:, :n_views] for half in standin_pair)
    return prediction, standin_pair, removed


def _loss(network: Any, batch: Mapping[str, Any], standin_weight: float, residual_weight: float) -> tuple[Any, float]:
    """Scaled MAE + Standin loss + L1 penalty on the residual; returns (loss, MAE).

    With the six limb leads in the batch, the MAE is that of the identity-keeping prediction, and
    what the identity fit removes from the network's own residuals of the batch's limb views is
    added as a scaled mean absolute value, so the field at the trained limb angles stays tied to
    their targets (for squared errors the two terms sum to the per-view error, the true
    residuals keeping the identities). A limb lead that is never a target (Nef-Net's held-out
    I) is constrained only through the identity fit.
    """
    import torch

    from .nefnet import SCALE_FLOOR_MV

    prediction, (single, averaged), removed = _network_prediction(network, batch, standin=True)
    length = prediction.shape[-1]
    mask = (torch.arange(length)[None, :] < batch["lengths"][:, None]).to(prediction.dtype)[:, None, :]
    scale = batch["signals"].abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
    count = mask.sum() * prediction.shape[1]
    mae = ((prediction - batch["targets"]).abs() / scale * mask).sum() / count
    residual = ((prediction - batch["physical"]).abs() / scale * mask).sum() / count
    standin = (single - averaged).abs().mean()
    loss = mae + standin_weight * standin + residual_weight * residual
    if removed is not None:
        loss = loss + (removed.abs() / scale * mask).sum() / (mask.sum() * removed.shape[1])
    return loss, float(mae.detach())


def fit_linear_path(
    network: Any,
    cycles: CycleSet | Sequence[CycleSet],
    *,
    ridge: float = LINEAR_RIDGE,
    gain_ridge: float = PHYSICS_GAIN_RIDGE,
    heart_vector_ridge: float = HEART_VECTOR_RIDGE,
    real_weight: float = REAL_CYCLE_WEIGHT,
    limb_identities: bool = False,
    batch_size: int = 16,
) -> float:
    """Closed-form least-squares start of a hybrid network's linear residual path (in place).

    The linear path is ``sum_i [w(query, input_i) + u(query) . m(input_i)] x_i(t) + g(query) p(t)``,
    with ``w``, ``m`` and ``g`` MLPs of the Angular Encodings and ``u`` the query's unit view
    direction (the ``u . m`` term only with ``config.heart_vector_path``). With their hidden layers
    fixed, the output is linear in the last layers' weights and biases, so the scaled squared error
    of ``physics + linear path`` against the targets (each cycle divided by its largest input
    amplitude, as in training) has a closed-form ridge minimiser. The pair weights ``w`` can give
    every trained view its own linear map and follow no physics between views, so they take the
    largest ridge; the heart-vector correction ``u . m`` and the gain ``g`` change the lead of a
    view smoothly with its direction and its size. The convolutional field decoder then learns
    what is not linear.

    With ``limb_identities`` and inputs that hold exactly one limb lead, the limb views are
    fitted as they are predicted, through the identity-keeping fit over all six limb leads
    (:func:`limb_residual_directions`; the projection is linear, so the fit stays closed-form),
    and what that fit removes from the path's own residuals of the set's limb views is held at
    zero too. Left free, it lets the path drift wherever the projection hides it (without it the
    almost unpenalised heart-vector map tripled in norm and turned the learned field away from
    the physical one over the sphere). The two together are the per-view fit of the set's limb
    views, so this changes nothing when the set holds all six; a limb lead the set lacks (a
    held-out I) then enters through the identity fit, whose output it must make right (README:
    it helps the held-out I and costs V6, 6 degrees from I in Nef-Net's angles).

    Parameters
    ----------
    network : NefNet
        A hybrid network (``config.hybrid``).
    cycles : CycleSet or sequence of CycleSet
        Training cycles; views that are exact combinations of the inputs are left out.
    ridge : float
        Ridge penalty of the pair weights ``w``, relative to the mean diagonal of their block of
        the normal matrix.
    gain_ridge : float
        Same for the physics gain ``g``.
    heart_vector_ridge : float
        Same for the heart-vector map ``m`` (ignored without ``config.heart_vector_path``).
    real_weight : float
        Weight of the squared error of cycles from real records (``CycleSet.source == "real"``)
        against simulated ones; ``k`` is the same as repeating every real set ``k`` times.
    limb_identities : bool
        Fit the limb views through the six-lead identity fit (above); False fits every view on
        its own.
    batch_size : int
        Cycles per accumulation step.

    Returns
    -------
    fraction : float
        Scaled residual energy of the prediction (limb views as predicted) left after the fit, as
        a fraction of the energy of ``target - physics`` (1 means the linear path explains
        nothing).
    """
    import torch

    from .nefnet import SCALE_FLOOR_MV, cycle_taper, view_directions

    if not getattr(getattr(network, "config", None), "hybrid", False):
        raise ValueError("network must be a hybrid NefNet (NefNetConfig(hybrid=True))")
    for name, value in (("ridge", ridge), ("gain_ridge", gain_ridge), ("heart_vector_ridge", heart_vector_ridge)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (np.isfinite(real_weight) and real_weight > 0):
        raise ValueError(f"real_weight must be a finite number > 0, got {real_weight!r}")
    sets = [cycles] if isinstance(cycles, CycleSet) else list(cycles)
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError("cycles must hold at least one non-empty CycleSet")
    paths = network.linear_path_layers()  # weights, gain[, heart-vector map]
    sizes = [paths[0][-1].in_features + 1, paths[1][-1].in_features + 1]
    heart_vector = len(paths) > 2
    if heart_vector:
        sizes.append(3 * (paths[2][-1].in_features + 1))
    n_features = sum(sizes)
    normal = np.zeros((n_features, n_features))
    consistency = np.zeros((n_features, n_features))
    right = np.zeros(n_features)
    energy = 0.0
    was_training = network.training
    network.eval()

    def with_bias(hidden: Any) -> Any:
        return torch.cat([hidden.double(), torch.ones(*hidden.shape[:-1], 1, dtype=torch.float64)], dim=-1)

    def linear_features(batch: Mapping[str, Any], query_angles: Any, physical: Any) -> Any:
        # features (n, q, t, k): the linear path is exactly features @ last-layer parameters
        signals = batch["signals"].double()
        query_code, pairs, input_code = network._linear_path_codes(batch["angles"], query_angles)
        blocks = [
            torch.einsum("nqvk,nvt->nqtk", with_bias(paths[0][:-1](pairs)), signals),
            with_bias(paths[1][:-1](query_code))[:, :, None, :] * physical.double()[..., None],
        ]
        if heart_vector:
            mixed = torch.einsum("nvk,nvt->ntk", with_bias(paths[2][:-1](input_code)), signals)
            direction = view_directions(query_angles).double()  # (n, q, 3)
            # output a of the map's last layer is row a of its weight: features (a, k)
            blocks.append(torch.einsum("nqa,ntk->nqtak", direction, mixed).flatten(-2))
        return torch.cat(blocks, dim=-1)

    with torch.no_grad():
        for cycle_set in sets:
            keep_view = torch.from_numpy(~cycle_set.exact_views).to(torch.float64)
            set_weight = real_weight if cycle_set.source == "real" else 1.0
            completion = _limb_completion(cycle_set) if limb_identities else None
            for start in range(0, len(cycle_set), batch_size):
                batch = _tensors(cycle_set, np.arange(start, min(start + batch_size, len(cycle_set))), completion=completion)
                signals, physical = batch["signals"].double(), batch["physical"].double()
                n, v, length = signals.shape
                scale = signals.abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
                taper = cycle_taper(batch["lengths"], length, network.config.taper_samples).double()
                weight = taper[:, None, :] * keep_view.reshape(-1)[None, :, None] / scale  # (n, q, t)
                features = linear_features(batch, batch["query_angles"], physical)
                if "limb_physical" in batch:
                    # the limb views' linear residual as predicted: beta_v rho, rho fitted over
                    # the six limb leads (_network_prediction); linear in the parameters too
                    limb = linear_features(batch, batch["limb_query_angles"], batch["limb_physical"])
                    directions = batch["limb_directions"].double()
                    rho = torch.einsum("u,nutk->ntk", directions, limb) / (directions @ directions)
                    on_limb = batch["view_directions"].double()
                    projected = on_limb[None, :, None, None] * rho[:, None]
                    # what that fit removes from the set's limb views is held at 0 (as in _loss):
                    # these rows plus the projected ones are the per-view fit of those views
                    removed = (features - projected)[:, on_limb != 0]
                    removed = (removed * (taper / scale[:, 0])[:, None, :, None]).reshape(-1, n_features).numpy()
                    consistency += set_weight * (removed.T @ removed)
                    features = torch.where((on_limb != 0)[None, :, None, None], projected, features)
                features = features * weight[..., None]
                mask = (torch.arange(length)[None, :] < batch["lengths"][:, None]).double()[:, None, :]
                target = (batch["targets"].double() - physical) * keep_view.reshape(-1)[None, :, None] * mask / scale
                flat = features.reshape(-1, n_features).numpy()
                normal += set_weight * (flat.T @ flat)
                right += set_weight * (flat.T @ target.reshape(-1).numpy())
                energy += set_weight * float((target**2).sum())
    # one ridge per block, relative to that block's mean diagonal (the blocks have different units)
    bounds = np.cumsum([0, *sizes])
    total = normal + consistency
    penalty = np.zeros(n_features)
    for (low, high), value in zip(zip(bounds[:-1], bounds[1:]), (ridge, gain_ridge, heart_vector_ridge)):
        penalty[low:high] = value * np.trace(total[low:high, low:high]) / (high - low)
    solution = np.linalg.solve(total + np.diag(penalty), right)
    left = energy - 2 * solution @ right + solution @ normal @ solution
    with torch.no_grad():
        for path, low, high in zip(paths, bounds[:-1], bounds[1:]):
            layer = path[-1]
            part = solution[low:high].reshape(layer.out_features, layer.in_features + 1)
            layer.weight.copy_(torch.from_numpy(part[:, :-1]).reshape(layer.weight.shape))
            layer.bias.copy_(torch.from_numpy(part[:, -1]).reshape(layer.bias.shape))
    network.train(was_training)
    return float(left / energy) if energy > 0 else 0.0


def train_hybrid(
    network: Any,
    cycles: CycleSet | Sequence[CycleSet],
    *,
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    weight_decay: float = 1e-4,
    standin_weight: float = 0.2,
    residual_weight: float = 0.01,
    views_per_step: int | None = 4,
    validation: CycleSet | None = None,
    linear_start: CycleSet | Sequence[CycleSet] | None = None,
    linear_ridge: float = LINEAR_RIDGE,
    linear_gain_ridge: float = PHYSICS_GAIN_RIDGE,
    heart_vector_ridge: float = HEART_VECTOR_RIDGE,
    linear_real_weight: float = REAL_CYCLE_WEIGHT,
    limb_identities: bool = False,
    freeze_linear: bool = False,
    random_seed: int = 0,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train a hybrid :class:`~hybridfield.nefnet.NefNet` on cycle sets (in place).

    Loss per batch: mean absolute error of the prediction scaled by each cycle's largest input
    amplitude, plus ``standin_weight`` times the Standin loss, plus ``residual_weight`` times the
    scaled mean absolute residual (keeps the residual small where physics suffices). AdamW with a
    cosine learning-rate decay; batches are drawn from the sets in proportion to their sizes.

    Parameters
    ----------
    network : NefNet
        A hybrid network (``config.hybrid``).
    cycles : CycleSet or sequence of CycleSet
        Training cycles (sets may differ in inputs and number of views).
    epochs : int
        Passes over all cycles.
    batch_size : int
        Cycles per step.
    learning_rate : float
        Peak AdamW learning rate.
    weight_decay : float
        AdamW weight decay.
    standin_weight, residual_weight : float
        Weights of the Standin loss and of the residual penalty.
    views_per_step : int or None
        Query views drawn at random for each batch (None: all); fewer views per step make an
        epoch cheaper on a CPU without biasing the loss.
    validation : CycleSet, optional
        Scored (scaled MAE) after every epoch.
    linear_start : CycleSet or sequence of CycleSet, optional
        Cycles to fit the residual's linear path on in closed form before training
        (:func:`fit_linear_path`); None keeps the network's current linear path.
    linear_ridge, linear_gain_ridge, heart_vector_ridge : float
        Ridges of that fit for the per-pair weights, the physics gain and the heart-vector
        correction (``ridge``, ``gain_ridge`` and ``heart_vector_ridge`` of
        :func:`fit_linear_path`); a larger pair-weight ridge gives a smoother linear path over
        the views between the trained ones.
    linear_real_weight : float
        Weight of real cycles against simulated ones in that fit (``real_weight`` of
        :func:`fit_linear_path`).
    limb_identities : bool
        When the inputs hold exactly one limb lead, train the limb views as they are predicted
        (:func:`predict_cycles`, :meth:`HybridPanorama.predict`): the loss sees the identity-keeping
        fit over all six limb leads, plus what that fit removes from the network's own residuals
        of the batch's limb views; the linear path's start likewise (``limb_identities`` of
        :func:`fit_linear_path`). False trains every view on its own.
    freeze_linear : bool
        Keep the linear path fixed during training (only the field decoder learns).
    random_seed : int
        Seed of torch and of the batch order.
    progress : bool
        Print one line per epoch.

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``train_mae``, ``validation_mae`` (if any), ``seconds``.
    """
    import torch

    if not getattr(getattr(network, "config", None), "hybrid", False):
        raise ValueError("network must be a hybrid NefNet (NefNetConfig(hybrid=True))")
    sets = [cycles] if isinstance(cycles, CycleSet) else list(cycles)
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError("cycles must hold at least one non-empty CycleSet")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    torch.manual_seed(random_seed)
    rng = np.random.default_rng(random_seed)
    if linear_start is not None:
        left = fit_linear_path(
            network, linear_start, ridge=linear_ridge, gain_ridge=linear_gain_ridge,
            heart_vector_ridge=heart_vector_ridge, real_weight=linear_real_weight, limb_identities=limb_identities,
        )
        if progress:
            print(f"linear path fitted in closed form: {left:.3f} of the scaled residual energy left", flush=True)
    linear_parameters = {id(p) for path in network.linear_path_layers() for p in path.parameters()}
    trained = [p for p in network.parameters() if not (freeze_linear and id(p) in linear_parameters)]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=weight_decay)
    # with one measured limb lead, the loss may see the limb leads as predicted: identity-keeping
    completions = [_limb_completion(s) if limb_identities else None for s in sets]
    steps_per_epoch = sum(math.ceil(len(s) / batch_size) for s in sets)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=epochs * steps_per_epoch, pct_start=0.1
    )
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(epochs):
        network.train()
        batches = []
        for k, s in enumerate(sets):
            order = rng.permutation(len(s))
            batches += [(k, order[i : i + batch_size]) for i in range(0, len(s), batch_size)]
        rng.shuffle(batches)
        total = weight = 0.0
        for k, index in batches:
            n_views = sets[k].targets.shape[1]
            views = None
            if views_per_step is not None and views_per_step < n_views:
                views = np.sort(rng.choice(n_views, size=views_per_step, replace=False))
            loss, mae = _loss(network, _tensors(sets[k], index, views, completions[k]), standin_weight, residual_weight)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            total += mae * len(index)
            weight += len(index)
        entry = {"epoch": epoch + 1, "train_mae": total / weight, "seconds": time.perf_counter() - started}
        if validation is not None:
            entry["validation_mae"] = _evaluate_mae(network, validation)
        history.append(entry)
        if progress:
            extra = f", validation {entry['validation_mae']:.4f}" if validation is not None else ""
            print(f"epoch {epoch + 1}/{epochs}: train {entry['train_mae']:.4f}{extra} ({entry['seconds']:.0f} s)", flush=True)
    network.eval()
    return history


def _evaluate_mae(network: Any, cycles: CycleSet, batch_size: int = 128) -> float:
    import torch

    from .nefnet import SCALE_FLOOR_MV

    network.eval()
    completion = _limb_completion(cycles)
    total = count = 0.0
    with torch.no_grad():
        for start in range(0, len(cycles), batch_size):
            batch = _tensors(cycles, np.arange(start, min(start + batch_size, len(cycles))), completion=completion)
            prediction = _network_prediction(network, batch)[0]
            length = prediction.shape[-1]
            mask = (torch.arange(length)[None, :] < batch["lengths"][:, None]).to(prediction.dtype)[:, None, :]
            scale = batch["signals"].abs().amax(dim=(1, 2)).clamp(min=SCALE_FLOOR_MV)[:, None, None]
            total += float(((prediction - batch["targets"]).abs() / scale * mask).sum())
            count += float(mask.sum()) * prediction.shape[1]
    return total / count


def predict_cycles(network: Any, cycles: CycleSet, *, residual: bool = True, batch_size: int = 256) -> np.ndarray:
    """Hybrid prediction of every query view of every cycle, mV.

    Parameters
    ----------
    network : NefNet
        Hybrid network.
    cycles : CycleSet
        Cycles.
    residual : bool
        False: the physical projection alone.
    batch_size : int
        Cycles per forward pass.

    Returns
    -------
    prediction : (n_cycles, n_views, length) float32, mV

    Notes
    -----
    When the inputs hold exactly one limb lead, the residuals of the limb leads among the query
    views are replaced by the ones that keep Einthoven's and Goldberger's identities with it
    (:func:`limb_residual_directions`), fitted over all six limb leads whichever the set holds,
    as in training and in :meth:`HybridPanorama.predict`.
    """
    import torch

    if not residual:
        return cycles.physical.copy()
    network.eval()
    completion = _limb_completion(cycles)
    out = np.empty_like(cycles.physical)
    with torch.no_grad():
        for start in range(0, len(cycles), batch_size):
            index = np.arange(start, min(start + batch_size, len(cycles)))
            out[index] = _network_prediction(network, _tensors(cycles, index, completion=completion))[0].numpy()
    return out


# ----------------------------------------------------------------------------------------------
# The user-facing model
# ----------------------------------------------------------------------------------------------
class HybridPanorama:
    """Virtual leads at any view: physical projection on the torso plus a learned Nef-Net residual.

    Parameters
    ----------
    network : NefNet, optional
        Hybrid residual network; None gives the physics alone (a zero residual).
    population : PopulationModel, optional
        Heart-vector prior of the physical fit (default: the bundled one).
    input_leads : sequence of str
        Default input leads.
    contract : mapping, optional
        Preprocessing contract and training summary stored with the weights.

    Examples
    --------
    >>> model = HybridPanorama.pretrained()                      # doctest: +SKIP
    >>> virtual = model.predict(ecg, ["V1", (1.57, 2.27)])      # doctest: +SKIP
    """

    input_leads_default: tuple[str, ...] = ("I", "II", "V5")

    def __init__(
        self,
        network: Any = None,
        *,
        population: Any = None,
        input_leads: Sequence[str] = ("I", "II", "V5"),
        contract: Mapping[str, Any] | None = None,
    ):
        from .uncertainty import default_population_model

        if network is not None and not getattr(getattr(network, "config", None), "hybrid", False):
            raise TypeError(f"network must be a hybrid NefNet or None, got {type(network).__name__}")
        self.network = network
        self.population = default_population_model() if population is None else population
        self.input_leads = tuple(canonical_lead_name(n) for n in input_leads)
        self.contract = dict(PREPROCESSING if contract is None else contract)
        self._last_physics: tuple[Any, Any] | None = None

    # -- persistence ---------------------------------------------------------------------------
    @classmethod
    def pretrained(cls) -> "HybridPanorama":
        """The bundled model (weights under ``hybridfield/resources``), offline.

        Returns
        -------
        model : HybridPanorama
            Trained by ``python -m hybridfield.train_hybrid`` (see its docstring for the data).
        """
        return _pretrained()

    def save(self, path: str | Path) -> None:
        """Save weights with the preprocessing contract (a torch file of tensors and plain data).

        Parameters
        ----------
        path : str or Path
            File to write (``.pt``).
        """
        import torch

        if self.network is None:
            raise ValueError("a physics-only HybridPanorama has no weights to save")
        state = {
            "format": "hybridfield.HybridPanorama/1",
            "config": self.network.config.to_dict(),
            "state_dict": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
            "input_leads": list(self.input_leads),
            "contract": json.dumps(self.contract),
        }
        torch.save(state, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, population: Any = None) -> "HybridPanorama":
        """Load a model saved by :meth:`save` (``torch.load(..., weights_only=True)``).

        Parameters
        ----------
        path : str or Path
            The ``.pt`` file.
        population : PopulationModel, optional
            Heart-vector prior (default: the bundled one).

        Returns
        -------
        model : HybridPanorama
        """
        import torch

        from .nefnet import NefNet, NefNetConfig

        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != "hybridfield.HybridPanorama/1":
            raise ValueError(f"{path} is not a HybridPanorama checkpoint (format hybridfield.HybridPanorama/1)")
        contract = json.loads(state["contract"])
        for key in ("fs", "units", "band_hz", "cycle_length"):
            if contract.get(key) != PREPROCESSING[key]:
                raise ValueError(
                    f"checkpoint {path} was trained with {key}={contract.get(key)!r}; this version prepares "
                    f"records with {key}={PREPROCESSING[key]!r}"
                )
        sizes = dict(state["config"])
        # checkpoints written before the linear path had its own width used the angle MLPs' width
        sizes.setdefault("linear_hidden", sizes.get("angle_hidden", NefNetConfig.angle_hidden))
        # and before the heart-vector correction existed, the linear path had none
        sizes.setdefault("heart_vector_path", False)
        network = NefNet(NefNetConfig(**sizes))
        network.load_state_dict(state["state_dict"])
        network.eval()
        return cls(network, population=population, input_leads=state["input_leads"], contract=contract)

    # -- the panorama --------------------------------------------------------------------------
    def prepare(self, ecg: ECG) -> ECG:
        """Resample to 500 Hz, band-pass 0.5-40 Hz and drop flat or saturated leads.

        Parameters
        ----------
        ecg : ECG
            The record, mV.

        Returns
        -------
        prepared : ECG
        """
        return _prepare(ecg)

    def _inputs(self, prepared: ECG, inputs: Sequence[str] | None) -> list[str]:
        names = list(self.input_leads) if inputs is None else [canonical_lead_name(n) for n in inputs]
        if isinstance(inputs, str):
            raise ValueError(f"inputs must be a sequence of lead names, got the string {inputs!r}")
        missing = [n for n in names if not prepared.has_lead(n)]
        if missing:
            raise ValueError(f"inputs {missing} are not usable leads of this record (usable: {', '.join(prepared.lead_names)})")
        if not names:
            raise ValueError("inputs must name at least one lead")
        return names

    def _physics(self, ecg: ECG, inputs: Sequence[str] | None) -> tuple[ECG, list[str], Any, np.ndarray]:
        # heart_vector, physical, predict and predict_posterior on one record (as compare_fields
        # calls them) share one preparation, segmentation and fit: ECG objects are immutable, so
        # the last record, inputs and prior identify the result
        key = (ecg, None if inputs is None else tuple(inputs), self.population)
        if self._last_physics is not None:
            (last_ecg, last_inputs, last_population), result = self._last_physics
            if last_ecg is ecg and last_inputs == key[1] and last_population is self.population:
                return result
        prepared = self.prepare(ecg)
        names = self._inputs(prepared, inputs)
        segmentation = _segment(prepared)
        signals = np.array([prepared[n] for n in names])
        vector = _fit_heart_vector(signals, names, segmentation.r_peak, prepared.fs, self.population)
        self._last_physics = (key, (prepared, names, segmentation, vector))
        return prepared, names, segmentation, vector

    def heart_vector(self, ecg: ECG, *, inputs: Sequence[str] | None = None) -> np.ndarray:
        """Heart vector fitted to the input leads (the physics' source).

        Parameters
        ----------
        ecg : ECG
            The record, mV.
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        heart_vector : (3, n_samples) float, mA*m
            Body frame, on :meth:`prepare`'s time base (500 Hz).
        """
        return self._physics(ecg, inputs)[3]

    def lead_vectors(self, views: Sequence[Any]) -> np.ndarray:
        """Physical lead vectors of views on the default torso (BEM).

        Parameters
        ----------
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.

        Returns
        -------
        vectors : (n_views, 3) float, mV per mA*m, body frame
        """
        _, _, keys = _parse_views(views)
        return _lead_vector_array(keys)

    def physical(self, ecg: ECG, views: Sequence[Any], *, inputs: Sequence[str] | None = None) -> ECG:
        """Physics-only virtual leads (the residual switched off).

        Parameters
        ----------
        ecg : ECG
            The record, mV.
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        virtual : ECG
            One lead per view at 500 Hz, each marked virtual.
        """
        return self.predict(ecg, views, inputs=inputs, residual=False)

    def predict(
        self, ecg: ECG, views: Sequence[Any], *, inputs: Sequence[str] | None = None, residual: bool = True
    ) -> ECG:
        """Virtual leads at any views: physical projection plus the learned residual.

        Parameters
        ----------
        ecg : ECG
            The record, mV, any length (processed cycle by cycle and stitched).
        views : sequence
            Lead names (with a Nef-Net angle: the 12 standard leads) and/or ``(theta, phi)``
            pairs in radians.
        inputs : sequence of str, optional
            Measured leads to use (default :attr:`input_leads`).
        residual : bool
            False: physics only.

        Returns
        -------
        virtual : ECG
            On :meth:`prepare`'s time base (500 Hz), one lead per view, named like the view
            (``"view(90,130)"`` in degrees for angle pairs), all marked virtual. Samples outside
            every usable cycle (the record's ends, undelineated beats) carry the physics alone.
        """
        names, angles, physical, learned, prepared, input_names = self._prediction(ecg, views, inputs, residual=residual)
        output = physical + learned
        source = "hybrid panorama (physics + Nef-Net residual)" if residual and self.network is not None else "physical projection"
        return ECG(
            output,
            prepared.fs,
            names,
            electrode_angles={name: (float(a[0]), float(a[1])) for name, a in zip(names, angles)},
            virtual=names,
            metadata={"record": prepared.record, "source": source, "inputs": list(input_names), "units": "mV"},
        )

    def _prediction(
        self, ecg: ECG, views: Sequence[Any], inputs: Sequence[str] | None, *, residual: bool
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, ECG, list[str]]:
        """One pass: view names and angles, physical projection and learned residual (n_views, n), mV."""
        names, angles, keys = _parse_views(views)
        prepared, input_names, segmentation, vector = self._physics(ecg, inputs)
        input_signals = np.array([prepared[n] for n in input_names])
        if residual and self.network is not None:
            # one measured limb lead: the limb leads' residual is fitted over all six of them,
            # whichever were asked for, so a view's prediction does not depend on the request
            from geometry import STANDARD_LEAD_ANGLES

            keys = _with_all_limb_leads(keys, input_names)
            added = [STANDARD_LEAD_ANGLES[name] for name in keys[len(names):]]
            angles = np.vstack([angles, np.reshape(added, (-1, 2))])
        physical = _physical_projection(
            _lead_vector_array(keys), identity_weights(keys, input_names), vector, input_signals,
            _lead_vector_array(input_names),
        )
        learned = np.zeros_like(physical)
        if residual and self.network is not None:
            exact = input_combinations(keys, input_names).any(axis=1)  # identities of the inputs need no learned correction
            learned = self._residual(prepared, input_names, segmentation, angles, physical, exact)
            directions = limb_residual_directions(keys, input_names)
            learned = _project_limb_residuals(learned, directions, _distinct_views(keys))
        count = len(names)
        return names, angles[:count], physical[:count], learned[:count], prepared, input_names

    def _residual(
        self,
        prepared: ECG,
        input_names: Sequence[str],
        segmentation: Any,
        angles: np.ndarray,
        physical: np.ndarray,
        exact: np.ndarray,
    ) -> np.ndarray:
        import torch

        from geometry import STANDARD_LEAD_ANGLES

        length = int(self.network.config.length)
        beats = _cycle_layout(prepared, segmentation, length)
        residual = np.zeros_like(physical)
        if beats.n_beats == 0:
            return residual
        inputs = _cut(np.array([prepared[n] for n in input_names]), beats.start, beats.lengths, length)
        physical_cycles = _cut(physical, beats.start, beats.lengths, length)
        input_angles = torch.tensor([STANDARD_LEAD_ANGLES[n] for n in input_names], dtype=torch.float32)
        self.network.eval()
        with torch.no_grad():
            hybrid = self.network(
                torch.from_numpy(inputs), input_angles, torch.tensor(angles, dtype=torch.float32),
                torch.from_numpy(np.array(beats.regions, dtype=np.int64)), torch.from_numpy(np.array(beats.lengths, dtype=np.int64)),
                torch.from_numpy(physical_cycles),
                exact=torch.from_numpy(exact),
            ).numpy()
        for k, (start, size) in enumerate(zip(beats.start, beats.lengths)):
            # cycles abut (P onset to next P onset) and the residual is tapered to 0 at both ends
            residual[:, start : start + size] += hybrid[k, :, :size] - physical_cycles[k, :, :size]
        return residual

    def predict_posterior(
        self,
        ecg: ECG,
        views: Sequence[Any],
        *,
        inputs: Sequence[str] | None = None,
        draws: int = 500,
        tune: int = 300,
        chains: int = 2,
        random_seed: int | None = None,
        progressbar: bool = True,
    ) -> Any:
        """Posterior of virtual leads with the learned residual included.

        The uncertainty model (:func:`hybridfield.predict_posterior`) gives exact draws of the
        physical leads; the hybrid's residual (deterministic given the inputs) is added to every
        draw, so the bands move with the learned correction and keep the physics' width. Views
        that are combinations of the inputs are drawn as that combination (no spread); with a
        single measured limb lead every draw keeps Einthoven's and Goldberger's identities with
        it, as :meth:`predict` does.

        Parameters
        ----------
        ecg : ECG
            The record, mV.
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.
        inputs : sequence of str, optional
            Measured leads (default :attr:`input_leads`).
        draws, tune, chains : int
            NUTS draws (total), tuning steps per chain, chains.
        random_seed : int, optional
            Seed.
        progressbar : bool
            Show PyMC's progress bar.

        Returns
        -------
        posterior : PosteriorLeads
            ``metadata["residual"]`` says the learned residual was added.
        """
        from dataclasses import replace

        from .uncertainty import predict_posterior

        prepared = self.prepare(ecg)
        input_names = self._inputs(prepared, inputs)
        posterior = predict_posterior(
            ecg, list(views), inputs=input_names, draws=draws, tune=tune, chains=chains,
            random_seed=random_seed, progressbar=progressbar, population=self.population,
        )
        if self.network is None:
            return posterior
        shift = self._prediction(ecg, views, input_names, residual=True)[3]  # the learned residual, mV
        if shift.shape != posterior.draws.shape[1:]:
            raise RuntimeError(f"posterior and hybrid time bases differ: {posterior.draws.shape[1:]} vs {shift.shape}")
        metadata = dict(posterior.metadata)
        metadata["residual"] = "learned Nef-Net residual added to every draw (HybridPanorama)"
        return replace(posterior, draws=posterior.draws + shift[None], metadata=metadata)

    def __repr__(self) -> str:
        size = "physics only" if self.network is None else f"NefNet {self.network.parameter_count()} parameters"
        return f"<HybridPanorama | {size}, inputs {', '.join(self.input_leads)}>"


@lru_cache(maxsize=1)
def _pretrained() -> HybridPanorama:
    path = resources.files("hybridfield") / "resources" / _WEIGHTS_RESOURCE
    with resources.as_file(path) as file:
        if not Path(file).is_file():
            raise FileNotFoundError(
                f"bundled weights {_WEIGHTS_RESOURCE} are missing from the installation; "
                "reproduce them with `python -m hybridfield.train_hybrid`"
            )
        return HybridPanorama.load(file)

