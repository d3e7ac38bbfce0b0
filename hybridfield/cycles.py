"""Cycles for the hybrid network: real records and simulated multi-view data, with their physics.

A :class:`CycleSet` holds cycles (one per detected beat, zero-padded to
``PREPROCESSING["cycle_length"]`` samples; :func:`hybridfield.beat_cycles.beat_cycles`) of input
leads, query views with their truth and the physical answer of each query view
(:func:`hybridfield.posterior.physical_answer`, what the residual corrects at prediction time):

- :func:`real_cycles` cuts them from 12-lead records (each prepared and segmented once,
  :func:`hybridfield.preparation.prepare_record`), inputs and targets chosen by lead name;
- :func:`simulated_cycles` makes multi-view cycles with ground truth from the torso model:
  random views anywhere on the sphere and per-record lead-vector perturbations, so the physics
  is imperfect in a known way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .beat_cycles import beat_cycles, cut_beat_cycles
from .ecg import ECG
from .leads import (
    LIMB_IDENTITIES,
    STANDARD_LEADS,
    canonical_lead_name,
    input_combinations,
    lead_vector_array,
    limb_residual_directions,
)
from .preparation import PREPROCESSING, PreparedRecord, prepare_record

__all__ = ["CycleSet", "real_cycles", "simulated_cycles"]


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
    record_samples, served_samples : (n_records,) int64, optional
        Samples of each prepared record and how many of them lie inside a cycle (what the
        learned residual serves); None for simulated sets.
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
    record_samples: np.ndarray | None = None
    served_samples: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def named_views(self) -> list[Any]:
        """Query views as lead names, with a placeholder angle pair ``(0, 0)`` for simulated ``"sim"``
        views (no lead, so no identity ties them)."""
        return [name if name != "sim" else (0.0, 0.0) for name in self.target_names]

    @property
    def exact_views(self) -> np.ndarray:
        """(n_views,) bool: query views that are exact combinations of the inputs (no residual)."""
        return input_combinations(self.named_views, self.input_names).any(axis=1)

    @property
    def limb_directions(self) -> np.ndarray:
        """(n_views,) float: :func:`limb_residual_directions` of the query views (0 for ``"sim"`` views)."""
        return limb_residual_directions(self.named_views, self.input_names)

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
                        record_names=self.record_names, source=self.source,
                        record_samples=self.record_samples, served_samples=self.served_samples)

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
            record_samples=self.record_samples, served_samples=self.served_samples,
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
        for name in ("record_samples", "served_samples"):
            parts = [getattr(s, name) for s in sets]
            arrays[name] = None if any(p is None for p in parts) else np.concatenate(parts)
        return CycleSet(
            **arrays, input_names=first.input_names, target_names=first.target_names,
            record_names=tuple(n for s in sets for n in s.record_names), source=first.source,
        )


def _record_cycles(record: Any, inputs: Sequence[str], length: int) -> Any:
    """The record's cycles, or None when an input lead is missing or no beat was found."""
    prepared = record.ecg
    if not all(prepared.has_lead(n) for n in inputs):
        return None
    beats = beat_cycles(record.segmentation, prepared.n_samples, prepared.fs, length)
    return beats if beats.n_cycles else None


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

    One cycle per detected beat (:func:`hybridfield.beat_cycles.beat_cycles`), so every beat of
    every record is in the set. Records lacking an input lead or a target lead (flat, saturated or
    absent) are skipped, as are records without a detected beat.

    Parameters
    ----------
    records : sequence of ECG or PreparedRecord
        12-lead records, mV (any rate; resampled to 500 Hz and band-passed 0.5-40 Hz), or records
        prepared once (:func:`hybridfield.preparation.prepare_record`).
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

    from .population import default_population_model
    from .posterior import physical_answer

    population = default_population_model() if population is None else population
    inputs = [canonical_lead_name(n) for n in inputs]
    targets = [canonical_lead_name(n) for n in targets]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("inputs", "targets", "physical", "regions", "lengths", "record", "minimum", "maximum")}
    names: list[str] = []
    samples: list[int] = []
    served: list[int] = []
    for ecg in records:
        record = ecg if isinstance(ecg, PreparedRecord) else prepare_record(ecg)
        prepared = record.ecg
        beats = _record_cycles(record, inputs, length)
        if beats is None or not all(prepared.has_lead(n) for n in (*targets, *STANDARD_LEADS)):
            if progress:
                print(f"  skipped {prepared.record}: missing leads or no beat", flush=True)
            continue
        truth = np.array([prepared[n] for n in targets])
        everything = np.array([prepared[n] for n in STANDARD_LEADS])
        full = cut_beat_cycles(everything, beats)
        mask = beats.mask[:, None, :]
        parts["minimum"].append(np.where(mask, full, np.inf).min(axis=(1, 2)).astype(np.float32))
        parts["maximum"].append(np.where(mask, full, -np.inf).max(axis=(1, 2)).astype(np.float32))
        input_signals = np.array([prepared[n] for n in inputs])
        physical = physical_answer(record, targets, inputs=inputs, population=population)[0]
        parts["inputs"].append(cut_beat_cycles(input_signals, beats))
        parts["targets"].append(cut_beat_cycles(truth, beats))
        parts["physical"].append(cut_beat_cycles(physical, beats))
        parts["regions"].append(np.asarray(beats.regions, dtype=np.int8))
        parts["lengths"].append(np.asarray(beats.lengths, dtype=np.int64))
        parts["record"].append(np.full(beats.n_beats, len(names), dtype=np.int64))
        names.append(str(prepared.record))
        samples.append(prepared.n_samples)
        served.append(int(beats.served().sum()))
        if progress:
            print(f"  {prepared.record}: {beats.n_beats} cycles", flush=True)
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
        record_samples=np.asarray(samples, dtype=np.int64),
        served_samples=np.asarray(served, dtype=np.int64),
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

    from .beats import BeatSegmentation
    from .phases import phase_bins
    from .population import default_population_model
    from .posterior import physical_answer_of_signals

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
    standard_vectors = lead_vector_array(standard)
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
        random_vectors = lead_vector_array(list(zip(np.atleast_1d(theta), np.atleast_1d(phi))))
        nominal = np.vstack([standard_vectors, random_vectors])
        angles = np.vstack([[STANDARD_LEAD_ANGLES[n] for n in standard], np.column_stack([theta, phi])]).astype(np.float32)
        # the person: every independent lead's and random view's lead vector rotated and scaled;
        # leads defined from others (III, aVR, aVL, aVF) keep their identities, inputs are views
        rotations = _random_rotations(rng, len(nominal), math.radians(rotation_sd_degrees))
        gains = np.exp(gain_sd * rng.standard_normal(len(nominal)))
        true_vectors = gains[:, None] * np.einsum("kij,kj->ki", rotations, nominal)
        for name, weights in LIMB_IDENTITIES.items():
            if name in standard:
                true_vectors[standard.index(name)] = sum(w * true_vectors[standard.index(b)] for b, w in weights.items())
        view_truth = true_vectors @ heart_vector
        input_truth = np.array([view_truth[standard.index(n)] for n in inputs])
        input_truth = input_truth + noise_mv * rng.standard_normal(input_truth.shape)
        peaks = np.unique(annotations.r_peak[annotations.r_peak >= 0])
        # the physical answer, as for a real record: the population's lead vectors, not the person's
        views = standard + [(float(a), float(b)) for a, b in zip(np.atleast_1d(theta), np.atleast_1d(phi))]
        physical = physical_answer_of_signals(
            input_truth, inputs, views, phase_bins(peaks, input_truth.shape[1], fs), peaks.size, fs, population
        )[0]
        segmentation = BeatSegmentation(
            r_peak=annotations.r_peak, p_onset=annotations.p_onset, p_offset=annotations.p_offset,
            qrs_onset=annotations.qrs_onset, qrs_offset=annotations.qrs_offset, t_onset=annotations.t_onset,
            t_offset=annotations.t_offset, valid=np.ones(annotations.n_beats, dtype=bool),
            beat_quality=np.array(["good"] * annotations.n_beats), quality="good", fs=fs,
            n_samples=heart_vector.shape[1], lead_used="X", record=f"simulated-{record}",
        )
        layout = beat_cycles(segmentation, heart_vector.shape[1], fs, length)
        if layout.n_beats == 0:
            continue
        parts["inputs"].append(cut_beat_cycles(input_truth, layout))
        keep = query + list(range(len(standard), len(nominal)))
        parts["targets"].append(cut_beat_cycles(view_truth[keep], layout))
        parts["physical"].append(cut_beat_cycles(physical[keep], layout))
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
