"""Vectorcardiogram (VCG) transforms: Frank frame <-> body frame, Dower, inverse Dower, Kors.

Published matrices
------------------
The three published linear transforms between the 8 independent leads of the 12-lead ECG and the
Frank vectorcardiogram are copied from ``../shared/reference/LEADS.md`` (and only from there:
several public copies carry typos):

- :data:`DOWER`, (8, 3): ``ecg8 = DOWER @ [X, Y, Z]``; Dower et al., J Electrocardiol 1980,
  as tabulated by Edenbrandt & Pahlm, J Electrocardiol 1988.
- :data:`INVERSE_DOWER`, (3, 8): ``[X, Y, Z] = INVERSE_DOWER @ ecg8``; Edenbrandt & Pahlm 1988.
- :data:`KORS`, (3, 8): ``[X, Y, Z] = KORS @ ecg8``; Kors et al., Eur Heart J 1990. An independent
  regression, not the inverse of Dower.

Rows/columns over the 12-lead side follow :data:`VCG_TRANSFORM_LEADS`
(``I, II, V1, V2, V3, V4, V5, V6``); over the VCG side :data:`FRANK_LEADS` (``X, Y, Z``).
All values are in mV (leads) and mV (Frank leads); the arrays are read-only.

Frames
------
The published matrices live in the **Frank frame**: X towards the subject's left, Y inferior
(towards the feet), Z posterior. The library's **body frame** is x anterior, y left, z superior.
They are related by ``x = -Z, y = X, z = -Y`` (and ``X = y, Y = -z, Z = -x``); use
:func:`frank_to_body` and :func:`body_to_frank` to convert.

Model-derived transforms
------------------------
Given explicit lead vectors (from a torso model) a lead value is ``V_k(t) = c_k . p(t)`` with ``p``
the heart vector (mA*m, body frame) and ``c_k`` (mV per mA*m, body frame). Stacking the 8
independent leads gives ``ecg8 = L8 @ p`` and the Frank leads ``xyz = LF @ p``.
:func:`model_transform` returns the 3x8 analogue of inverse Dower/Kors and :func:`model_dower`
the 8x3 analogue of Dower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from geometry.validation import as_finite_array

from ._inverse_checks import non_negative_scalar

__all__ = [
    "VCG_TRANSFORM_LEADS",
    "FRANK_LEADS",
    "DOWER",
    "INVERSE_DOWER",
    "KORS",
    "FRANK_TO_BODY_MATRIX",
    "frank_to_body",
    "body_to_frank",
    "twelve_lead_to_vcg",
    "vcg_to_twelve_lead",
    "LimbLeads",
    "derive_limb_and_augmented",
    "model_transform",
    "model_dower",
    "compare_lead_vectors",
]

VCG_TRANSFORM_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
"""Order of the 12-lead side of :data:`DOWER`, :data:`INVERSE_DOWER` and :data:`KORS`."""

FRANK_LEADS: tuple[str, ...] = ("X", "Y", "Z")
"""Order of the VCG side: Frank X (left), Y (inferior), Z (posterior)."""


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


DOWER: np.ndarray = _read_only(
    [
        [0.632, -0.235, 0.059],  # I
        [0.235, 1.066, -0.132],  # II
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ]
)
"""Dower matrix, (8, 3), Frank frame: ``ecg8 = DOWER @ [X, Y, Z]`` (Dower 1980; Edenbrandt & Pahlm 1988)."""

INVERSE_DOWER: np.ndarray = _read_only(
    [
        [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],  # X
        [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],  # Y
        [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],  # Z
    ]
)
"""Inverse Dower matrix, (3, 8), Frank frame: ``[X, Y, Z] = INVERSE_DOWER @ ecg8`` (Edenbrandt & Pahlm 1988)."""

KORS: np.ndarray = _read_only(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],  # X
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],  # Y
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],  # Z
    ]
)
"""Kors regression matrix, (3, 8), Frank frame: ``[X, Y, Z] = KORS @ ecg8`` (Kors et al. 1990)."""

FRANK_TO_BODY_MATRIX: np.ndarray = _read_only(
    [
        [0.0, 0.0, -1.0],  # x (anterior) = -Z
        [1.0, 0.0, 0.0],  # y (left)     =  X
        [0.0, -1.0, 0.0],  # z (superior) = -Y
    ]
)
"""Rotation R, (3, 3): ``body = R @ frank`` for column vectors; its inverse is ``R.T``."""


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _apply_rotation(vectors: Any, rotation: np.ndarray, name: str, axis: int) -> np.ndarray:
    array = as_finite_array(vectors, name)
    if axis not in (0, -1) and axis != array.ndim - 1:
        raise ValueError(f"axis must be 0 or -1, got {axis!r}")
    if array.ndim == 0 or array.shape[axis] != 3:
        raise ValueError(
            f"{name} must have length 3 along axis {axis} (the vector components), got shape {array.shape}"
        )
    moved = np.moveaxis(array, axis, -1)
    converted = moved @ rotation.T
    return np.ascontiguousarray(np.moveaxis(converted, -1, axis))


def frank_to_body(vectors: Any, axis: int = -1) -> np.ndarray:
    """Convert vectors from the Frank frame (X left, Y inferior, Z posterior) to the body frame.

    The body frame is x anterior, y left, z superior: ``x = -Z, y = X, z = -Y``.

    Parameters
    ----------
    vectors : (..., 3) array_like, or (3, n) with ``axis=0``
        Vectors in the Frank frame, any unit (mV for a VCG, mA*m for a heart vector).
    axis : {-1, 0}, optional
        Axis that holds the three components. Default -1.

    Returns
    -------
    body : ndarray of float64, same shape as ``vectors``
        The same vectors in the body frame, same unit.

    Examples
    --------
    >>> frank_to_body([1.0, 0.0, 0.0])  # Frank X (left) is body +y
    array([0., 1., 0.])
    """
    return _apply_rotation(vectors, FRANK_TO_BODY_MATRIX, "vectors", axis)


def body_to_frank(vectors: Any, axis: int = -1) -> np.ndarray:
    """Convert vectors from the body frame (x anterior, y left, z superior) to the Frank frame.

    The exact inverse of :func:`frank_to_body`: ``X = y, Y = -z, Z = -x``.

    Parameters
    ----------
    vectors : (..., 3) array_like, or (3, n) with ``axis=0``
        Vectors in the body frame, any unit.
    axis : {-1, 0}, optional
        Axis that holds the three components. Default -1.

    Returns
    -------
    frank : ndarray of float64, same shape as ``vectors``
        The same vectors in the Frank frame (X left, Y inferior, Z posterior), same unit.
    """
    return _apply_rotation(vectors, FRANK_TO_BODY_MATRIX.T, "vectors", axis)


# --------------------------------------------------------------------------------------------
# Leads by name
# --------------------------------------------------------------------------------------------


def _normalise_name(name: str) -> str:
    return str(name).strip().upper()


def _stack_named(
    value: Any, names: tuple[str, ...], name: str, *, inner_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Stack a mapping lead-name -> array in ``names`` order, or validate an array with len(names) rows."""
    if isinstance(value, Mapping):
        lookup = {_normalise_name(key): item for key, item in value.items()}
        missing = [lead for lead in names if _normalise_name(lead) not in lookup]
        if missing:
            raise ValueError(
                f"{name} must contain the leads {list(names)}; missing {missing}, got keys {list(value.keys())}"
            )
        rows = [as_finite_array(lookup[_normalise_name(lead)], f"{name}[{lead!r}]") for lead in names]
        shapes = {row.shape for row in rows}
        if len(shapes) != 1:
            raise ValueError(f"{name} entries must all have the same shape, got {[row.shape for row in rows]}")
        array = np.stack(rows, axis=0)
    else:
        array = as_finite_array(value, name)
    if array.ndim == 0 or array.shape[0] != len(names):
        raise ValueError(
            f"{name} must have {len(names)} rows in the order {list(names)} (or be a mapping by lead name), "
            f"got shape {array.shape}"
        )
    if inner_shape is not None and array.shape[1:] != inner_shape:
        raise ValueError(
            f"{name} must have shape {(len(names),) + inner_shape}, got shape {array.shape}"
        )
    return array


def _resolve_matrix(transform: Any, options: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    if isinstance(transform, str):
        key = transform.strip().lower()
        if key not in options:
            raise ValueError(
                f"transform must be one of {sorted(options)} or a {shape[0]}x{shape[1]} array, got {transform!r}"
            )
        return options[key]
    matrix = as_finite_array(transform, "transform", ndim=2)
    if matrix.shape != shape:
        raise ValueError(f"transform must have shape {shape}, got shape {matrix.shape}")
    return matrix


def twelve_lead_to_vcg(ecg8: Any, transform: str | np.ndarray = "kors") -> np.ndarray:
    """Estimate the Frank VCG from the 8 independent leads of a 12-lead ECG.

    Parameters
    ----------
    ecg8 : (8, n) or (8,) array_like, mV, or mapping lead name -> (n,) array
        Leads I, II, V1..V6 in :data:`VCG_TRANSFORM_LEADS` order (rows), or a mapping by name
        (case-insensitive; extra leads such as III or aVR are ignored).
    transform : {"kors", "inverse_dower"} or (3, 8) array_like, optional
        The regression matrix. Default "kors" (which tracks measured Frank Z better on PTB).

    Returns
    -------
    vcg : (3, n) or (3,) ndarray of float64, mV
        Frank X (left), Y (inferior), Z (posterior). Use ``frank_to_body(vcg, axis=0)`` for the
        body frame.
    """
    matrix = _resolve_matrix(transform, {"kors": KORS, "inverse_dower": INVERSE_DOWER}, (3, 8))
    leads = _stack_named(ecg8, VCG_TRANSFORM_LEADS, "ecg8")
    if leads.ndim > 2:
        raise ValueError(f"ecg8 must have shape (8, n) or (8,), got shape {leads.shape}")
    return matrix @ leads


def vcg_to_twelve_lead(vcg: Any, transform: str | np.ndarray = "dower") -> np.ndarray:
    """Synthesise the 8 independent leads of a 12-lead ECG from a Frank VCG.

    Parameters
    ----------
    vcg : (3, n) or (3,) array_like, mV
        Frank X (left), Y (inferior), Z (posterior), rows in :data:`FRANK_LEADS` order, or a
        mapping "X"/"Y"/"Z" -> (n,) array.
    transform : {"dower"} or (8, 3) array_like, optional
        Default "dower" (:data:`DOWER`).

    Returns
    -------
    ecg8 : (8, n) or (8,) ndarray of float64, mV
        Leads I, II, V1..V6 in :data:`VCG_TRANSFORM_LEADS` order. The remaining limb leads follow
        from :func:`derive_limb_and_augmented`.
    """
    matrix = _resolve_matrix(transform, {"dower": DOWER}, (8, 3))
    frank = _stack_named(vcg, FRANK_LEADS, "vcg")
    if frank.ndim > 2:
        raise ValueError(f"vcg must have shape (3, n) or (3,), got shape {frank.shape}")
    return matrix @ frank


class LimbLeads(NamedTuple):
    """Leads III, aVR, aVL, aVF derived from I and II (mV, same shape as the inputs).

    Returned by :func:`derive_limb_and_augmented`; a named tuple, so it unpacks in this order.

    Attributes
    ----------
    III : ndarray of float64, mV
        ``II - I`` (Einthoven).
    aVR : ndarray of float64, mV
        ``-(I + II) / 2`` (Goldberger).
    aVL : ndarray of float64, mV
        ``I - II / 2``.
    aVF : ndarray of float64, mV
        ``II - I / 2``.
    """

    III: np.ndarray
    aVR: np.ndarray
    aVL: np.ndarray
    aVF: np.ndarray


def derive_limb_and_augmented(i: Any, ii: Any) -> LimbLeads:
    """Derive III, aVR, aVL and aVF from leads I and II (Einthoven and Goldberger).

    ``III = II - I``, ``aVR = -(I + II)/2``, ``aVL = I - II/2``, ``aVF = II - I/2``.

    Parameters
    ----------
    i : (n,) array_like, mV
        Lead I (or any shape, broadcast with ``ii``).
    ii : (n,) array_like, mV
        Lead II, same shape as ``i``.

    Returns
    -------
    leads : LimbLeads
        Named tuple ``(III, aVR, aVL, aVF)``, each an ndarray of float64 in mV; unpack it or use
        ``leads.aVF`` / ``leads._asdict()``.
    """
    lead_i = as_finite_array(i, "i")
    lead_ii = as_finite_array(ii, "ii")
    if lead_i.shape != lead_ii.shape:
        raise ValueError(f"i and ii must have the same shape, got {lead_i.shape} and {lead_ii.shape}")
    return LimbLeads(
        III=lead_ii - lead_i,
        aVR=-(lead_i + lead_ii) / 2.0,
        aVL=lead_i - lead_ii / 2.0,
        aVF=lead_ii - lead_i / 2.0,
    )


# --------------------------------------------------------------------------------------------
# Model-derived transforms
# --------------------------------------------------------------------------------------------


def _lead_matrix(value: Any, names: tuple[str, ...], name: str) -> np.ndarray:
    return _stack_named(value, names, name, inner_shape=(3,))


def model_transform(
    lead_vectors_12: Any,
    lead_vectors_frank: Any,
    *,
    weights: Any = None,
    ridge: float = 0.0,
) -> np.ndarray:
    """Model-derived 12-lead -> Frank transform (the analogue of inverse Dower / Kors).

    With lead vectors ``L8`` (8x3) of I, II, V1..V6 and ``LF`` (3x3) of Frank X, Y, Z, both in
    the body frame, a heart vector ``p`` gives ``ecg8 = L8 @ p`` and ``xyz = LF @ p``. The
    (weighted, regularised) least-squares estimate of ``p`` from ``ecg8`` is

    ``p_hat = (L8.T W² L8 + ridge I)^-1 L8.T W² ecg8``,  ``W = diag(weights)``,

    so ``xyz_hat = M @ ecg8`` with ``M = LF @ (L8.T W² L8 + ridge I)^-1 L8.T W²``. With
    ``ridge = 0`` this is ``LF @ pinv(W L8) @ W``; it recovers ``xyz`` exactly from noise-free leads
    of a single dipole. With ``weights`` = 1 / noise standard deviation (1/mV), ``ridge`` is the
    prior precision of each heart-vector component, 1 / sigma_p² in (mA*m)^-2 (a Gaussian MAP).

    Parameters
    ----------
    lead_vectors_12 : (8, 3) array_like or mapping, mV per mA*m, body frame
        Lead vectors of I, II, V1..V6 (rows in :data:`VCG_TRANSFORM_LEADS` order) or a mapping
        lead name -> (3,) vector.
    lead_vectors_frank : (3, 3) array_like or mapping, mV per mA*m, body frame
        Lead vectors of Frank X, Y, Z (rows), or a mapping "X"/"Y"/"Z" -> (3,) vector.
    weights : (8,) array_like, optional
        Positive per-lead weights (inverse noise std, 1/mV) in :data:`VCG_TRANSFORM_LEADS`
        order, or a mapping by lead name. Default: all ones.
    ridge : float, optional
        Non-negative Tikhonov parameter added to ``L8.T W² L8``, units (weight * mV/(mA*m))².
        Default 0.

    Returns
    -------
    transform : (3, 8) ndarray of float64
        ``xyz = transform @ ecg8`` (mV -> mV), Frank X, Y, Z rows, columns I, II, V1..V6;
        directly comparable with :data:`INVERSE_DOWER` and :data:`KORS`.
    """
    lead_matrix = _lead_matrix(lead_vectors_12, VCG_TRANSFORM_LEADS, "lead_vectors_12")
    frank_matrix = _lead_matrix(lead_vectors_frank, FRANK_LEADS, "lead_vectors_frank")
    if weights is None:
        weight_vector = np.ones(len(VCG_TRANSFORM_LEADS))
    else:
        weight_vector = _stack_named(weights, VCG_TRANSFORM_LEADS, "weights")
        if weight_vector.ndim != 1:
            raise ValueError(f"weights must have shape (8,), got shape {weight_vector.shape}")
        if np.any(weight_vector <= 0):
            raise ValueError(f"weights must all be positive, got {weight_vector.tolist()}")
    ridge_value = non_negative_scalar(ridge, "ridge")

    weighted = lead_matrix * weight_vector[:, np.newaxis]  # W L8, (8, 3)
    normal = weighted.T @ weighted + ridge_value * np.eye(3)
    if np.linalg.cond(normal) > 1e12:
        raise ValueError(
            "lead_vectors_12 span fewer than 3 dimensions (rank deficient) and ridge is 0; "
            "pass ridge > 0 or lead vectors that span 3-D"
        )
    estimator = np.linalg.solve(normal, weighted.T * weight_vector[np.newaxis, :])  # (3, 8)
    return frank_matrix @ estimator


def model_dower(lead_vectors_12: Any, lead_vectors_frank: Any) -> np.ndarray:
    """Model-derived Frank -> 12-lead transform (the analogue of the Dower matrix).

    From ``xyz = LF @ p`` follows ``p = LF^-1 @ xyz`` and ``ecg8 = L8 @ p = (L8 @ LF^-1) @ xyz``.

    Parameters
    ----------
    lead_vectors_12 : (8, 3) array_like or mapping, mV per mA*m, body frame
        Lead vectors of I, II, V1..V6 (rows in :data:`VCG_TRANSFORM_LEADS` order) or a mapping.
    lead_vectors_frank : (3, 3) array_like or mapping, mV per mA*m, body frame
        Lead vectors of Frank X, Y, Z (rows) or a mapping; must be invertible.

    Returns
    -------
    transform : (8, 3) ndarray of float64
        ``ecg8 = transform @ xyz`` (mV -> mV), comparable with :data:`DOWER`.
    """
    lead_matrix = _lead_matrix(lead_vectors_12, VCG_TRANSFORM_LEADS, "lead_vectors_12")
    frank_matrix = _lead_matrix(lead_vectors_frank, FRANK_LEADS, "lead_vectors_frank")
    if np.linalg.cond(frank_matrix) > 1e12:
        raise ValueError("lead_vectors_frank must be an invertible (3, 3) matrix; got a singular one")
    # L8 @ inv(LF) computed as solve(LF.T, L8.T).T
    return np.linalg.solve(frank_matrix.T, lead_matrix.T).T


def compare_lead_vectors(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Angle and magnitude ratio between corresponding lead vectors (rows).

    Parameters
    ----------
    a : (n, 3) or (3,) array_like
        Lead vectors (e.g. model rows), any unit.
    b : (n, 3) or (3,) array_like
        Reference lead vectors (e.g. Dower rows converted with :func:`frank_to_body`), same unit
        and frame as ``a``.

    Returns
    -------
    angle_deg : (n,) ndarray of float64
        Angle between ``a[k]`` and ``b[k]`` in degrees, in [0, 180].
    magnitude_ratio : (n,) ndarray of float64
        ``|a[k]| / |b[k]|``.
    """
    first = as_finite_array(a, "a")
    second = as_finite_array(b, "b")
    first = first[np.newaxis, :] if first.ndim == 1 else first
    second = second[np.newaxis, :] if second.ndim == 1 else second
    if first.ndim != 2 or first.shape[1] != 3:
        raise ValueError(f"a must have shape (n, 3) or (3,), got shape {np.shape(a)}")
    if second.ndim != 2 or second.shape[1] != 3:
        raise ValueError(f"b must have shape (n, 3) or (3,), got shape {np.shape(b)}")
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    norm_a = np.linalg.norm(first, axis=1)
    norm_b = np.linalg.norm(second, axis=1)
    if np.any(norm_a == 0):
        raise ValueError(f"a must not contain zero vectors (rows {np.flatnonzero(norm_a == 0).tolist()})")
    if np.any(norm_b == 0):
        raise ValueError(f"b must not contain zero vectors (rows {np.flatnonzero(norm_b == 0).tolist()})")
    cosine = np.einsum("ij,ij->i", first, second) / (norm_a * norm_b)
    angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return angle, norm_a / norm_b
