"""The heart-vector prior: a Gaussian per cardiac phase, and the phase labels that index it.

- :class:`HeartVectorPrior`: means (n_phases, 3) mA*m and covariances (n_phases, 3, 3) (mA*m)²,
  one Gaussian per phase, with :meth:`HeartVectorPrior.mean_and_covariance` turning per-sample
  phase labels into the per-sample prior that :func:`forward.estimators.tikhonov_heart_vector`
  and :func:`forward.estimators.smooth_heart_vector` take. Any labelling works: the Nef-Net
  phases of :data:`PHASE_NAMES` or, e.g., hybridfield's R-peak phase bins.
- :func:`fit_heart_vector_prior`: learn one from training heart vectors (Ledoit-Wolf shrinkage).
- :func:`phase_labels_from_annotations`: the Nef-Net phase (P, PR, QRS, ST, T, TP, other) of
  every sample from beat annotations.

Heart vectors are in mA*m, body frame (x anterior, y left, z superior).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geometry.validation import as_finite_array
from ._inverse_checks import cholesky_factor, non_negative_scalar, require_saved_keys, set_frozen_fields, symmetric_covariance

__all__ = [
    "PHASE_NAMES",
    "HeartVectorPrior",
    "fit_heart_vector_prior",
    "phase_labels_from_annotations",
]

PHASE_NAMES: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T", "TP", "other")
"""Cardiac phase labels 0..6 as in the Nef-Net protocol (6: padding / outside complete beats)."""


# --------------------------------------------------------------------------------------------
# Population prior per cardiac phase
# --------------------------------------------------------------------------------------------


def phase_labels_from_annotations(annotations: Any, n_samples: int) -> np.ndarray:
    """Cardiac phase label of every sample from beat annotations (Nef-Net regions).

    Labels: 0 P [p_onset, p_offset), 1 PR [p_offset, qrs_onset), 2 QRS [qrs_onset, qrs_offset),
    3 ST [qrs_offset, t_onset), 4 T [t_onset, t_offset), 5 TP [t_offset, next p_onset) and 6 for
    everything outside complete beats (before the first P onset, after the last annotated beat's
    T offset). A later beat overwrites an earlier one where they overlap.

    Parameters
    ----------
    annotations : HeartbeatAnnotations or object with the same index attributes
        ``p_onset, p_offset, qrs_onset, qrs_offset, t_onset, t_offset``: (n_beats,) sample indices.
    n_samples : int
        Length of the signal.

    Returns
    -------
    labels : (n_samples,) ndarray of int64
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    names = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_onset", "t_offset")
    try:
        marks = [np.asarray(getattr(annotations, name), dtype=np.int64).ravel() for name in names]
    except AttributeError as error:
        raise TypeError(f"annotations must have the attributes {names}, got {type(annotations).__name__}") from error
    n_beats = marks[0].shape[0]
    if any(mark.shape[0] != n_beats for mark in marks):
        raise ValueError("annotations: all fiducial arrays must have the same length")
    labels = np.full(int(n_samples), 6, dtype=np.int64)
    for beat in range(n_beats):
        bounds = [int(mark[beat]) for mark in marks]
        next_onset = int(marks[0][beat + 1]) if beat + 1 < n_beats else bounds[-1]
        edges = [*bounds, next_onset]
        for label in range(6):
            start, stop = max(edges[label], 0), min(edges[label + 1], n_samples)
            if stop > start:
                labels[start:stop] = label
    return labels


def _integer_labels(value: Any, n_phases: int, name: str) -> np.ndarray:
    """Validate phase labels: (n,) integers (or integral floats) in 0..n_phases-1."""
    labels = np.asarray(value)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must have shape (n_samples,), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        integral = labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))
        if not integral:
            raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_phases:
        raise ValueError(f"{name} must lie in 0..{n_phases - 1}, got values from {labels.min()} to {labels.max()}")
    return labels


def _ledoit_wolf(centred: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage of the covariance of centred rows (n, p) towards ``mu I``.

    Returns the empirical covariance and the optimal shrinkage intensity in [0, 1]
    (Ledoit & Wolf, J Multivar Anal 88:365-411, 2004; the estimator of scikit-learn).
    """
    n, p = centred.shape
    empirical = centred.T @ centred / n
    mu = np.trace(empirical) / p
    squared = centred**2
    beta_sum = np.sum(squared.T @ squared)
    delta_sum = np.sum((centred.T @ centred) ** 2) / n**2
    beta = (beta_sum / n - delta_sum) / (p * n)
    delta = (delta_sum - 2.0 * mu * np.trace(empirical) + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if delta <= 0 else float(np.clip(beta / delta, 0.0, 1.0))
    return empirical, shrinkage


@dataclass(frozen=True, repr=False)
class HeartVectorPrior:
    """Population Gaussian prior of the heart vector per cardiac phase.

    A plain container of one Gaussian per phase; the number of phases and their meaning come
    from the labelling used to build it (default names: :data:`PHASE_NAMES`).

    Attributes
    ----------
    means : (n_phases, 3) ndarray of float64, mA*m
        Mean heart vector of each phase (body frame).
    covariances : (n_phases, 3, 3) ndarray of float64, (mA*m)²
        Covariance of each phase, symmetric positive definite.
    counts : (n_phases,) ndarray of int64
        Training samples of each phase (0: the phase fell back to the pooled estimate).
    shrinkages : (n_phases,) ndarray of float64
        Shrinkage intensity towards the scaled identity used for each phase, in [0, 1].
    phase_names : tuple of str
        Name of each phase label.
    """

    means: np.ndarray
    covariances: np.ndarray
    counts: np.ndarray
    shrinkages: np.ndarray
    phase_names: tuple[str, ...] = field(default=PHASE_NAMES)

    def __post_init__(self) -> None:
        means = as_finite_array(self.means, "means").copy()
        if means.ndim != 2 or means.shape[1] != 3:
            raise ValueError(f"means must have shape (n_phases, 3), got shape {means.shape}")
        n_phases = means.shape[0]
        covariances = as_finite_array(self.covariances, "covariances")
        if covariances.shape != (n_phases, 3, 3):
            raise ValueError(f"covariances must have shape ({n_phases}, 3, 3), got shape {covariances.shape}")
        covariances = symmetric_covariance(covariances, n_phases, "covariances")
        cholesky_factor(covariances, "covariances")
        counts = np.array(self.counts, dtype=np.int64)
        shrinkages = as_finite_array(self.shrinkages, "shrinkages").copy()
        if counts.shape != (n_phases,) or shrinkages.shape != (n_phases,):
            raise ValueError(
                f"counts and shrinkages must have shape ({n_phases},), got {counts.shape} and {shrinkages.shape}"
            )
        names = tuple(str(name) for name in self.phase_names)
        if len(names) != n_phases:
            raise ValueError(f"phase_names must name the {n_phases} phases, got {len(names)} name(s): {list(names)}")
        set_frozen_fields(self, means=means, covariances=covariances, counts=counts, shrinkages=shrinkages, phase_names=names)

    @property
    def n_phases(self) -> int:
        """Number of phases."""
        return int(self.means.shape[0])

    def mean_and_covariance(self, phase_labels: Any) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean and covariance of every sample.

        Parameters
        ----------
        phase_labels : (n_samples,) array_like of int
            Phase of each sample (0..n_phases-1).

        Returns
        -------
        mean : (3, n_samples) ndarray of float64, mA*m
        covariance : (n_samples, 3, 3) ndarray of float64, (mA*m)²
            Ready for :func:`tikhonov_heart_vector` or ``prior=`` of :func:`smooth_heart_vector`.
        """
        labels = _integer_labels(phase_labels, self.n_phases, "phase_labels")
        return self.means[labels].T.copy(), self.covariances[labels].copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of lists (JSON-serialisable); :meth:`from_dict` restores it exactly.

        Returns
        -------
        data : dict
            ``type`` ("HeartVectorPrior"), ``units``, ``phase_names`` (list of str), ``means``
            (n_phases x 3 nested list, mA*m), ``covariances`` (n_phases x 3 x 3, (mA*m)^2),
            ``counts`` (n_phases ints) and ``shrinkages`` (n_phases floats in [0, 1]).
        """
        return {
            "type": "HeartVectorPrior",
            "units": {"means": "mA*m", "covariances": "(mA*m)^2"},
            "phase_names": list(self.phase_names),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            "counts": self.counts.tolist(),
            "shrinkages": self.shrinkages.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeartVectorPrior:
        """Rebuild a prior from :meth:`to_dict` output.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict` (or the same structure read back from JSON): keys
            ``means`` (mA*m), ``covariances`` ((mA*m)^2), ``counts``, ``shrinkages`` and optionally
            ``phase_names`` (default :data:`PHASE_NAMES`).

        Returns
        -------
        prior : HeartVectorPrior
            Validated like any new prior (shapes, positive definite covariances).

        Raises
        ------
        TypeError
            If ``data`` is not a mapping.
        ValueError
            If a required key is missing or the arrays are inconsistent.
        """
        require_saved_keys(data, ("means", "covariances", "counts", "shrinkages"), "HeartVectorPrior")
        return cls(
            means=np.asarray(data["means"], dtype=np.float64),
            covariances=np.asarray(data["covariances"], dtype=np.float64),
            counts=np.asarray(data["counts"], dtype=np.int64),
            shrinkages=np.asarray(data["shrinkages"], dtype=np.float64),
            phase_names=tuple(data.get("phase_names", PHASE_NAMES)),
        )

    def __repr__(self) -> str:
        return f"<HeartVectorPrior | {self.n_phases} phases, {int(self.counts.sum())} training samples, mA*m>"


def fit_heart_vector_prior(
    heart_vectors: Any,
    phase_labels: Any,
    *,
    n_phases: int = 7,
    shrinkage: float | str = "ledoit-wolf",
    variance_floor: float | None = None,
) -> HeartVectorPrior:
    """Learn a Gaussian prior of the heart vector per cardiac phase from training heart vectors.

    For every phase the mean and the covariance of all training samples with that label are
    estimated; the covariance is shrunk towards a scaled identity ``mu I`` (``mu`` = mean
    variance of the phase), ``(1 - a) S + a mu I``, with ``a`` from Ledoit-Wolf (default) or
    fixed, and a floor ``variance_floor * I`` is added so every covariance is positive definite
    even with few or degenerate samples. Phases with fewer than 2 samples take the pooled mean and
    covariance of all samples. Samples are treated as independent (consecutive samples are
    strongly correlated, so Ledoit-Wolf tends to shrink too little; pass a fixed ``shrinkage``
    to be more conservative).

    Parameters
    ----------
    heart_vectors : (3, n) array_like or sequence of (3, n_i) array_like, mA*m
        Training heart vectors (body frame).
    phase_labels : (n,) array_like of int or sequence of (n_i,) array_like of int
        Phase label of every sample (see :data:`PHASE_NAMES`), matching ``heart_vectors``.
    n_phases : int, optional
        Number of phase labels, default 7 (P, PR, QRS, ST, T, TP, other).
    shrinkage : "ledoit-wolf" or float in [0, 1], optional
        Shrinkage intensity towards the scaled identity. Default "ledoit-wolf".
    variance_floor : float, optional
        Ridge added to every covariance, (mA*m)². Default: 1e-3 times the mean variance of all
        samples pooled (about 3 % of the pooled standard deviation).

    Returns
    -------
    prior : HeartVectorPrior
    """
    if isinstance(n_phases, bool) or not isinstance(n_phases, (int, np.integer)) or n_phases < 1:
        raise ValueError(f"n_phases must be a positive integer, got {n_phases!r}")
    if isinstance(heart_vectors, np.ndarray) and heart_vectors.ndim == 2:
        vector_list: list[Any] = [heart_vectors]
        label_list: list[Any] = [phase_labels]
    elif isinstance(heart_vectors, Sequence) and len(heart_vectors) > 0 and np.ndim(heart_vectors[0]) == 2:
        vector_list = list(heart_vectors)
        if not isinstance(phase_labels, Sequence) or len(phase_labels) != len(vector_list) or isinstance(phase_labels, str):
            raise ValueError(
                f"phase_labels must be a sequence of {len(vector_list)} label arrays matching heart_vectors, "
                f"got {type(phase_labels).__name__}"
            )
        label_list = list(phase_labels)
    else:
        vector_list, label_list = [heart_vectors], [phase_labels]
    samples, labels = [], []
    for index, (vectors, phases) in enumerate(zip(vector_list, label_list)):
        array = as_finite_array(vectors, f"heart_vectors[{index}]")
        if array.ndim != 2 or array.shape[0] != 3:
            raise ValueError(f"heart_vectors[{index}] must have shape (3, n) (mA*m), got shape {array.shape}")
        phase_array = _integer_labels(phases, n_phases, f"phase_labels[{index}]")
        if phase_array.shape != (array.shape[1],):
            raise ValueError(
                f"phase_labels[{index}] must have shape ({array.shape[1]},) to match heart_vectors[{index}], "
                f"got shape {phase_array.shape}"
            )
        samples.append(array.T)
        labels.append(phase_array)
    data = np.concatenate(samples, axis=0)  # (N, 3)
    all_labels = np.concatenate(labels)
    if data.shape[0] < 2:
        raise ValueError(f"heart_vectors must hold at least 2 samples, got {data.shape[0]}")

    fixed: float | None
    if isinstance(shrinkage, str):
        if shrinkage.lower().replace("_", "-") not in ("ledoit-wolf", "auto"):
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        fixed = None
    else:
        fixed = non_negative_scalar(shrinkage, "shrinkage")
        if fixed > 1:
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {fixed}")

    pooled_variance = float(np.mean(np.var(data, axis=0)))
    if variance_floor is None:
        floor = 1e-3 * pooled_variance if pooled_variance > 0 else 1e-12
    else:
        floor = non_negative_scalar(variance_floor, "variance_floor")
    if floor <= 0:
        floor = 1e-12 * max(pooled_variance, 1e-300)

    def estimate(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        mean = rows.mean(axis=0)
        empirical, intensity = _ledoit_wolf(rows - mean)
        if fixed is not None:
            intensity = fixed
        target = np.trace(empirical) / 3.0 * np.eye(3)
        covariance = (1.0 - intensity) * empirical + intensity * target + floor * np.eye(3)
        return mean, 0.5 * (covariance + covariance.T), intensity

    pooled = estimate(data)
    means = np.empty((n_phases, 3))
    covariances = np.empty((n_phases, 3, 3))
    counts = np.zeros(n_phases, dtype=np.int64)
    shrinkages = np.empty(n_phases)
    for phase in range(n_phases):
        rows = data[all_labels == phase]
        counts[phase] = rows.shape[0]
        mean, covariance, intensity = estimate(rows) if rows.shape[0] >= 2 else pooled
        means[phase], covariances[phase], shrinkages[phase] = mean, covariance, intensity
    names = tuple(PHASE_NAMES[i] if i < len(PHASE_NAMES) else f"phase {i}" for i in range(n_phases))
    return HeartVectorPrior(means=means, covariances=covariances, counts=counts, shrinkages=shrinkages, phase_names=names)
