"""Lead calibration: per-lead gains and electrode-displacement corrections of the lead vectors.

A recorded lead rarely has exactly its nominal lead vector: the amplifier gain, the skin contact
and the electrode's position all differ from the model. As Nef-Net+ does on the fly,
:func:`calibrate_leads` fits, on a calibration segment, a gain and a small rotation of every
lead's nominal lead vector (the rotation stands for the electrode's displacement), by
alternating convex steps (cvxpy). The result, :class:`LeadCalibration`, is then frozen and
reused: its :meth:`LeadCalibration.calibrated_lead_matrix` replaces the nominal lead matrix in
the estimators of :mod:`forward.estimators`.

Units: signals mV, lead vectors mV per mA*m, heart vectors mA*m (body frame: x anterior, y left,
z superior), angles in radians in the arguments and degrees in the reported offsets (named so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geometry.validation import as_finite_array
from ._convex import choose_solver, import_cvxpy, solution_value, solve_problem
from ._inverse_checks import (
    RANK_TOLERANCE,
    noise_std_array,
    non_negative_scalar,
    require_rank3,
    require_saved_keys,
    set_frozen_fields,
    signals_and_lead_matrix,
)
from .estimators import smooth_heart_vector

__all__ = ["LeadCalibration", "calibrate_leads"]


# --------------------------------------------------------------------------------------------
# Lead calibration (per-lead gain and electrode displacement)
# --------------------------------------------------------------------------------------------


def _angles_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) angle between the rows of ``a`` and ``b`` (each (n, 3)), degrees."""
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


@dataclass(frozen=True, repr=False)
class LeadCalibration:
    """Per-lead gains and displacement-corrected lead vectors, fitted once and then frozen.

    The fitted model of a raw recorded lead is ``y_l(t) = gains[l] * lead_matrix[l] . p(t)``.
    ``lead_matrix[l]`` is the nominal lead vector rotated by ``angle_offsets[l]`` (same norm):
    the electrode-displacement correction; ``gains[l]`` is the remaining amplitude factor.

    Attributes
    ----------
    lead_names : tuple of str
        Name of each row.
    gains : (n_leads,) ndarray of float64
        Per-lead gain (dimensionless); exactly 1 for the reference leads.
    lead_matrix : (n_leads, 3) ndarray of float64, mV per mA*m
        Calibrated (rotated) lead vectors, gain excluded.
    nominal_lead_matrix : (n_leads, 3) ndarray of float64, mV per mA*m
        The lead vectors before calibration.
    segment : (int, int)
        Calibration segment ``[start, stop)`` in samples of the signals it was fitted on.
    reference_leads : tuple of str
        The gauge leads, held at gain 1 and their nominal lead vectors.
    residual_std : (n_leads,) ndarray of float64, mV
        RMS residual of each lead over the calibration segment after calibration.
    n_iterations : int
        Alternating iterations performed (1 with a reference heart vector).
    """

    lead_names: tuple[str, ...]
    gains: np.ndarray
    lead_matrix: np.ndarray
    nominal_lead_matrix: np.ndarray
    segment: tuple[int, int]
    reference_leads: tuple[str, ...]
    residual_std: np.ndarray
    n_iterations: int

    def __post_init__(self) -> None:
        names = tuple(str(name) for name in self.lead_names)
        nominal = as_finite_array(self.nominal_lead_matrix, "nominal_lead_matrix").copy()
        if nominal.ndim != 2 or nominal.shape[1] != 3:
            raise ValueError(f"nominal_lead_matrix must have shape (n_leads, 3), got shape {nominal.shape}")
        n_leads = nominal.shape[0]
        lead = as_finite_array(self.lead_matrix, "lead_matrix").copy()
        gains = as_finite_array(self.gains, "gains").copy()
        residual = as_finite_array(self.residual_std, "residual_std").copy()
        if len(names) != n_leads or lead.shape != (n_leads, 3) or gains.shape != (n_leads,) or residual.shape != (n_leads,):
            raise ValueError(
                f"lead_names ({len(names)}), gains {gains.shape}, lead_matrix {lead.shape} and residual_std "
                f"{residual.shape} must all describe the {n_leads} leads of nominal_lead_matrix"
            )
        if np.any(gains <= 0):
            raise ValueError(f"gains must be positive, got minimum {float(gains.min()):g}")
        references = (self.reference_leads,) if isinstance(self.reference_leads, str) else tuple(self.reference_leads)
        references = tuple(str(name) for name in references)
        unknown = [name for name in references if name not in names]
        if unknown:
            raise ValueError(f"reference_leads must be among {names}, got unknown {unknown}")
        start, stop = (int(v) for v in self.segment)
        set_frozen_fields(
            self, lead_names=names, nominal_lead_matrix=nominal, lead_matrix=lead, gains=gains, residual_std=residual,
            segment=(start, stop), reference_leads=references, n_iterations=int(self.n_iterations),
        )

    @property
    def n_leads(self) -> int:
        """Number of leads."""
        return len(self.lead_names)

    @property
    def angle_offsets(self) -> np.ndarray:
        """(n_leads,) angle between calibrated and nominal lead vectors, degrees."""
        return _angles_degrees(self.lead_matrix, self.nominal_lead_matrix)

    def calibrated_lead_matrix(self) -> np.ndarray:
        """Effective lead matrix of the raw signals, ``gains[:, None] * lead_matrix``.

        Returns
        -------
        matrix : (n_leads, 3) ndarray of float64, mV per mA*m
            Use it with the raw (uncorrected) signals in any estimator of
            :mod:`forward.estimators`.
        """
        return self.gains[:, np.newaxis] * self.lead_matrix

    def apply(self, signals: Any) -> np.ndarray:
        """Remove the gains: ``signals / gains``, to be used with :attr:`lead_matrix`.

        Parameters
        ----------
        signals : (n_leads, n_samples) array_like, mV
            Raw signals, rows in the order of :attr:`lead_names`.

        Returns
        -------
        corrected : (n_leads, n_samples) ndarray of float64, mV
        """
        y, _ = signals_and_lead_matrix(signals, self.lead_matrix)
        return y / self.gains[:, np.newaxis]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of lists (JSON-serialisable); :meth:`from_dict` restores it.

        Returns
        -------
        data : dict
            ``type`` ("LeadCalibration"), ``units``, ``lead_names``, ``gains`` (n_leads),
            ``lead_matrix`` and ``nominal_lead_matrix`` (n_leads x 3 nested lists, mV per mA*m),
            ``segment`` ([start, stop) in samples), ``reference_leads``, ``residual_std``
            (n_leads, mV), ``n_iterations`` and, for reading only, ``angle_offsets_degrees``
            (n_leads, degrees).
        """
        return {
            "type": "LeadCalibration",
            "units": {"lead_matrix": "mV per mA*m", "residual_std": "mV", "segment": "samples"},
            "lead_names": list(self.lead_names),
            "gains": self.gains.tolist(),
            "lead_matrix": self.lead_matrix.tolist(),
            "nominal_lead_matrix": self.nominal_lead_matrix.tolist(),
            "segment": list(self.segment),
            "reference_leads": list(self.reference_leads),
            "residual_std": self.residual_std.tolist(),
            "n_iterations": self.n_iterations,
            "angle_offsets_degrees": self.angle_offsets.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadCalibration:
        """Rebuild a calibration from :meth:`to_dict` output.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict` (or the same structure read back from JSON); the keys
            ``lead_names``, ``gains``, ``lead_matrix`` and ``nominal_lead_matrix`` (mV per mA*m),
            ``segment`` (samples), ``reference_leads``, ``residual_std`` (mV) and
            ``n_iterations`` are required, ``angle_offsets_degrees`` is ignored (it is derived).

        Returns
        -------
        calibration : LeadCalibration

        Raises
        ------
        TypeError
            If ``data`` is not a mapping.
        ValueError
            If a required key is missing or the arrays are inconsistent.
        """
        keys = (
            "lead_names",
            "gains",
            "lead_matrix",
            "nominal_lead_matrix",
            "segment",
            "reference_leads",
            "residual_std",
            "n_iterations",
        )
        require_saved_keys(data, keys, "LeadCalibration")
        return cls(
            lead_names=tuple(data["lead_names"]),
            gains=np.asarray(data["gains"], dtype=np.float64),
            lead_matrix=np.asarray(data["lead_matrix"], dtype=np.float64),
            nominal_lead_matrix=np.asarray(data["nominal_lead_matrix"], dtype=np.float64),
            segment=tuple(data["segment"]),
            reference_leads=tuple(data["reference_leads"]),
            residual_std=np.asarray(data["residual_std"], dtype=np.float64),
            n_iterations=int(data["n_iterations"]),
        )

    def __repr__(self) -> str:
        return (
            f"<LeadCalibration | {self.n_leads} leads, gains {self.gains.min():.3f}-{self.gains.max():.3f}, "
            f"max angle offset {self.angle_offsets.max():.1f} deg, reference {', '.join(self.reference_leads)}, "
            f"segment {self.segment[0]}:{self.segment[1]} samples>"
        )


def _fit_lead_vectors(
    y: np.ndarray,
    heart_vector: np.ndarray,
    nominal: np.ndarray,
    weights: np.ndarray,
    references: Sequence[int],
    gain_bounds: tuple[float, float],
    tan_rotation: float,
    solver: str | None,
) -> np.ndarray:
    """Convex step (b): calibrated lead vectors ``b_l = g_l c_l + d_l`` with ``P`` fixed.

    ``g_l`` in the gain box, ``d_l`` orthogonal to ``c_l`` with ``|d_l| <= tan(max_rotation) g_l |c_l|``
    (the angle to ``c_l`` is then at most max_rotation) and ``|b_l| <= gain_max |c_l|``; the
    reference leads keep ``g = 1, d = 0``. The data term uses the 3x3 Gram matrix of ``P`` so the
    problem size does not depend on the number of samples.
    """
    cp = import_cvxpy()
    n_leads = nominal.shape[0]
    norms = np.linalg.norm(nominal, axis=1)
    units = nominal / norms[:, np.newaxis]
    n_samples = heart_vector.shape[1]
    gram = heart_vector @ heart_vector.T / n_samples  # (3, 3)
    cross = (y @ heart_vector.T) / n_samples  # (n_leads, 3): h_l
    eigenvalues, vectors = np.linalg.eigh(gram)
    floor = 1e-12 * max(float(eigenvalues.max()), 1e-300)
    eigenvalues = np.clip(eigenvalues, floor, None)
    root = vectors * np.sqrt(eigenvalues)  # gram = root root^T
    root_inverse_t = vectors / np.sqrt(eigenvalues)  # root^-T
    # sum_t (y - b.p)^2 / n = |root^T b - root^-1 h|^2 + const, row form: b root - h root^-T
    target = cross @ root_inverse_t  # (n_leads, 3)
    gains = cp.Variable(n_leads)
    displacement = cp.Variable((n_leads, 3))  # d_l / |c_l|, dimensionless
    scaled = cp.multiply(gains[:, None], units) + displacement  # b_l / |c_l|
    vectors_expr = cp.multiply(norms[:, None], scaled)
    w = weights[:, 0]
    residual = cp.multiply(w[:, None], vectors_expr @ root - target)
    low, high = gain_bounds
    constraints = [
        gains >= low,
        gains <= high,
        cp.sum(cp.multiply(units, displacement), axis=1) == 0,
        cp.norm(displacement, 2, axis=1) <= tan_rotation * gains,
        cp.norm(scaled, 2, axis=1) <= high,
    ]
    pinned = list(references)
    if pinned:
        constraints += [gains[pinned] == 1.0, displacement[pinned, :] == 0.0]
    normaliser = max(float(np.sum((w[:, None] * target) ** 2)), 1e-300)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(residual) / normaliser), constraints)
    solve_problem(problem, solver, "calibrate_leads (lead-vector step)")
    g = solution_value(gains, "calibrate_leads (lead-vector step)")
    d = solution_value(displacement, "calibrate_leads (lead-vector step)")
    fitted = norms[:, np.newaxis] * (g[:, np.newaxis] * units + d)
    fitted[pinned] = nominal[pinned]
    return fitted


def _smallest_correction_gauge(vectors: np.ndarray, nominal: np.ndarray, pinned: Sequence[int]) -> np.ndarray:
    """The 3x3 ``A`` (fixing the pinned lead vectors) that brings ``vectors @ A`` closest to nominal.

    Minimises ``sum_l |b_l A - c_l|² / |c_l|²`` over ``A = I + P N`` where ``P`` projects onto the
    orthogonal complement of the pinned lead vectors (so ``c_ref A = c_ref``); identity when the
    pinned leads span 3-D.
    """
    if pinned:
        basis = nominal[list(pinned)]
        _, singular, v_t = np.linalg.svd(basis)
        rank = int(np.count_nonzero(singular > RANK_TOLERANCE * singular[0]))
        complement = v_t[rank:].T  # (3, 3 - rank)
    else:
        complement = np.eye(3)
    if complement.shape[1] == 0:
        return np.eye(3)
    projector = complement @ complement.T
    norms = np.linalg.norm(nominal, axis=1)[:, np.newaxis]
    relative = vectors / norms
    correction = np.linalg.lstsq(relative @ projector, nominal / norms - relative, rcond=None)[0]
    return np.eye(3) + projector @ correction


def _subspace_start(y: np.ndarray, weights: np.ndarray, nominal: np.ndarray, pinned: Sequence[int]) -> np.ndarray:
    """Starting lead matrix from the rank-3 weighted SVD of the signals.

    Without smoothness and bounds the best fit ``W Y ~ W B P`` has ``W B`` spanning the top three
    left singular vectors of ``W Y``; ``B = W⁻¹ U₃ G``. ``G`` (3x3) is chosen so that the pinned
    rows equal their nominal lead vectors (least squares if they are more than 3) and, within
    what is left, the rows are closest to nominal in the relative least-squares sense.
    """
    u, _, _ = np.linalg.svd(weights * y, full_matrices=False)
    basis = u[:, :3] / weights  # (n_leads, 3) rows v_l, B = basis @ G
    norms = np.linalg.norm(nominal, axis=1)[:, np.newaxis]
    if pinned:
        rows = list(pinned)
        pinned_basis = basis[rows]
        particular = np.linalg.lstsq(pinned_basis, nominal[rows], rcond=None)[0]
        _, singular, v_t = np.linalg.svd(pinned_basis)
        rank = int(np.count_nonzero(singular > RANK_TOLERANCE * singular[0])) if singular.size else 0
        null = v_t[rank:].T  # (3, 3 - rank)
    else:
        particular = np.zeros((3, 3))
        null = np.eye(3)
    mixing = particular
    if null.shape[1] > 0:
        design = (basis / norms) @ null
        target = (nominal - basis @ particular) / norms
        mixing = particular + null @ np.linalg.lstsq(design, target, rcond=None)[0]
    start = basis @ mixing
    start[list(pinned)] = nominal[list(pinned)]
    return start


def calibrate_leads(
    signals: Any,
    lead_matrix: Any,
    *,
    reference_heart_vector: Any = None,
    segment: tuple[int, int] | None = None,
    gain_bounds: tuple[float, float] = (0.7, 1.4),
    max_rotation: float = math.radians(20.0),
    smoothness: float = 0.0,
    noise_std: Any = None,
    n_iterations: int = 10,
    tolerance: float = 1e-6,
    reference_leads: str | int | Sequence[str | int] = 0,
    lead_names: Sequence[str] | None = None,
    solver: str | None = None,
) -> LeadCalibration:
    """Fit per-lead gains and electrode-displacement corrections on a calibration segment.

    Model of the raw leads: ``y_l(t) = b_l . p(t) + e_l(t)`` with ``b_l = gain_l R_l c_l``, the
    nominal lead vector ``c_l`` rotated by a small angle (electrode displacement) and scaled.
    The set of rotated vectors is not convex; it is relaxed to the convex cone section
    ``b_l = g_l c_l + d_l``, ``d_l ⟂ c_l``, ``|d_l| <= tan(max_rotation) g_l |c_l|`` (angle to
    ``c_l`` at most ``max_rotation``), ``gain_min <= g_l``, ``|b_l| <= gain_max |c_l|`` (second-
    order cones). The bilinear fit in ``(b, P)`` is solved by alternating convex steps (cvxpy):

    (a) ``b`` fixed: ``P`` by :func:`smooth_heart_vector` (skipped with a reference heart vector);
    (b) ``P`` fixed: all ``b_l`` at once (a small conic program on the 3x3 Gram matrix of ``P``).

    The alternation starts from the rank-3 weighted SVD of the segment (the unconstrained optimum
    when ``smoothness = 0``) put in the gauge below, takes at least two iterations and stops after
    ``n_iterations`` or when the objective falls by less than ``tolerance`` (relative). The result
    reports ``gains = |b_l| / |c_l|`` and the rotated lead vectors ``b_l / gains``: the
    rotation-plus-gain decomposition of ``b_l``.

    Accuracy is limited by the weakest direction of the heart vector over the segment (QRS, P and
    T loops are nearly planar): lead-vector components along it are seen only through a small
    signal. ``smoothness > 0`` biases the heart vector (it rounds the QRS peaks) and the gains then
    grow to compensate, so the default is 0.

    Gauge (read this before trusting blind gains): ``Y = B P`` is unchanged by ``B -> B A``,
    ``P -> A⁻¹ P`` for any invertible 3x3 ``A`` (9 degrees of freedom), so without a reference
    heart vector the signals alone cannot tell a gain or a rotation common to the leads from a
    different heart vector. The reference leads are held at gain 1 and at their nominal lead
    vectors: one reference lead fixes 3 of the 9 (the scale and two rotations); reference leads
    whose lead vectors span 3-D (e.g. I, aVF and V2) fix all of them. Whatever freedom remains is
    resolved after every lead-vector step by the smallest total correction: the ``A`` (keeping the
    reference leads fixed) that brings the calibrated lead vectors closest to the nominal ones in
    the relative least-squares sense. This does not change the fit; it can move a gain or an
    angle marginally past its bound. Predictions of one lead from others are the same in every
    gauge; individual gains and angles are only meaningful relative to the reference leads.
    With a ``reference_heart_vector`` everything is identifiable and one convex step suffices.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
        Raw signals; rows in the order of ``lead_matrix``.
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
        Nominal lead vectors; rank 3.
    reference_heart_vector : (3, n_samples) or (3, stop - start) array_like, mA*m, optional
        Known heart vector (e.g. a simultaneous VCG); then only step (b) runs.
    segment : (int, int), optional
        Calibration samples ``[start, stop)``; default the whole signal.
    gain_bounds : (float, float), optional
        Bounds of the gain, ``0 < low <= 1 <= high``. Default (0.7, 1.4).
    max_rotation : float, optional
        Largest electrode-displacement angle, radians, in [0, pi/2). Default 20 degrees.
    smoothness : float, optional
        Smoothness of step (a), see :func:`smooth_heart_vector`. Default 0 (least squares).
    noise_std : float or (n_leads,) array_like, mV, optional
        Per-lead noise, the weights of both steps. Default None (equal weights).
    n_iterations : int, optional
        Maximum alternating iterations (>= 1). Default 10.
    tolerance : float, optional
        Relative decrease of the objective below which iterations stop. Default 1e-6.
    reference_leads : str, int or sequence of them, optional
        Gauge leads, by name (needs ``lead_names``) or row index. Default 0 (the first row only).
    lead_names : sequence of str, optional
        Names of the rows; default "lead 0", "lead 1", ...
    solver : str, optional
        cvxpy solver for both steps; default CLARABEL when installed.

    Returns
    -------
    calibration : LeadCalibration

    Raises
    ------
    ValueError
        On invalid input.
    RuntimeError
        If a cvxpy step fails or returns a status other than optimal / optimal_inaccurate.
    """
    y_all, nominal = signals_and_lead_matrix(signals, lead_matrix)
    n_leads, n_total = y_all.shape
    require_rank3(nominal, "calibration needs leads spanning 3-D")
    if np.any(np.linalg.norm(nominal, axis=1) == 0):
        raise ValueError("lead_matrix has a zero row; every lead needs a non-zero nominal lead vector")
    if lead_names is None:
        names = tuple(f"lead {i}" for i in range(n_leads))
    else:
        names = tuple(str(name) for name in lead_names)
        if len(names) != n_leads or len(set(names)) != n_leads:
            raise ValueError(f"lead_names must hold {n_leads} distinct names, got {list(names)}")
    requested = [reference_leads] if isinstance(reference_leads, (str, int, np.integer)) else list(reference_leads)
    pinned: list[int] = []
    for item in requested:
        if isinstance(item, str) and item in names:
            pinned.append(names.index(item))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < n_leads:
            pinned.append(int(item))
        else:
            raise ValueError(
                f"reference_leads must be lead names among {names} or row indices in 0..{n_leads - 1}, got {item!r}"
            )
    pinned = sorted(set(pinned))

    if segment is None:
        start, stop = 0, n_total
    else:
        try:
            start, stop = (int(v) for v in segment)
        except (TypeError, ValueError) as error:
            raise TypeError(f"segment must be a (start, stop) pair of sample indices, got {segment!r}") from error
        if not 0 <= start < stop <= n_total or stop - start < 3:
            raise ValueError(
                f"segment must satisfy 0 <= start < stop <= {n_total} with at least 3 samples, got ({start}, {stop})"
            )
    y = y_all[:, start:stop]
    n_samples = stop - start

    try:
        low, high = (float(v) for v in gain_bounds)
    except (TypeError, ValueError) as error:
        raise TypeError(f"gain_bounds must be a (low, high) pair, got {gain_bounds!r}") from error
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= 1.0 <= high):
        raise ValueError(f"gain_bounds must satisfy 0 < low <= 1 <= high, got ({low}, {high})")
    rotation = non_negative_scalar(max_rotation, "max_rotation")
    if rotation >= math.pi / 2:
        raise ValueError(f"max_rotation must be in [0, pi/2) radians, got {rotation}")
    weight = non_negative_scalar(smoothness, "smoothness")
    if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 1:
        raise ValueError(f"n_iterations must be a positive integer, got {n_iterations!r}")
    tol = non_negative_scalar(tolerance, "tolerance")
    sigma = np.ones((n_leads, 1)) if noise_std is None else noise_std_array(noise_std, n_leads, n_samples, allow_time=False)
    weights = 1.0 / sigma
    cp = import_cvxpy()
    conic_solver = choose_solver(cp, solver, conic=True)
    bounds = (low, high)
    tan_rotation = math.tan(rotation)

    def objective(vectors: np.ndarray, heart: np.ndarray) -> float:
        value = float(np.sum((weights * (y - vectors @ heart)) ** 2))
        if weight > 0 and n_samples >= 3:
            value += weight * float(np.sum(np.diff(heart, n=2, axis=1) ** 2))
        return value

    def heart_step(vectors: np.ndarray) -> np.ndarray:
        return smooth_heart_vector(y, vectors, smoothness=weight, noise_std=sigma[:, 0], solver=solver)

    if reference_heart_vector is not None:
        heart = as_finite_array(reference_heart_vector, "reference_heart_vector")
        if heart.shape == (3, n_total):
            heart = heart[:, start:stop]
        elif heart.shape != (3, n_samples):
            raise ValueError(
                f"reference_heart_vector must have shape (3, {n_total}) or (3, {n_samples}) (mA*m), "
                f"got shape {heart.shape}"
            )
        vectors = _fit_lead_vectors(y, heart, nominal, weights, pinned, bounds, tan_rotation, conic_solver)
        done = 1
    else:
        vectors = _subspace_start(y, weights, nominal, pinned)
        heart = heart_step(vectors)
        previous: float | None = None  # the first step may leave an infeasible start: always take two
        done = 0
        for _ in range(int(n_iterations)):
            vectors = _fit_lead_vectors(y, heart, nominal, weights, pinned, bounds, tan_rotation, conic_solver)
            vectors = vectors @ _smallest_correction_gauge(vectors, nominal, pinned)
            vectors[pinned] = nominal[pinned]
            heart = heart_step(vectors)
            done += 1
            current = objective(vectors, heart)
            if previous is not None and previous - current <= tol * max(previous, 1e-300):
                break
            previous = current

    gains = np.linalg.norm(vectors, axis=1) / np.linalg.norm(nominal, axis=1)
    gains[pinned] = 1.0
    rotated = vectors / gains[:, np.newaxis]
    rotated[pinned] = nominal[pinned]
    residual_std = np.sqrt(np.mean((y - vectors @ heart) ** 2, axis=1))
    return LeadCalibration(
        lead_names=names,
        gains=gains,
        lead_matrix=rotated,
        nominal_lead_matrix=nominal,
        segment=(start, stop),
        reference_leads=tuple(names[i] for i in pinned),
        residual_std=residual_std,
        n_iterations=done,
    )
