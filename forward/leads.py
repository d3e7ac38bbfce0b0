"""Leads as linear combinations of electrode potentials, and their lead vectors.

A lead's value is a fixed linear combination of electrode potentials (Wilson central terminal,
Einthoven, Goldberger, Frank, EASI). For a single dipole at the heart's electrical centre the
lead is therefore ``V_lead(t) = c . p(t)``: ``c`` (mV per mA*m, body frame) is the lead vector,
the explicit lead-field projection of the heart vector ``p`` (mA*m). Lead vectors come from a
volume conductor: the boundary-element torso ("bem") or the infinite homogeneous medium
("infinite").

The leads themselves (names, systems, electrode weights) are defined in
:mod:`forward.lead_definitions`.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geometry import Torso, electrode_positions
from geometry.validation import as_finite_array, as_positive_scalar
from geometry.angles import direction_from_angles, view_to_degrees
from . import _kernels
from .bem import BoundaryElementModel, make_bem
from .lead_definitions import LEAD_SYSTEMS, canonical_name, lead_definition, lead_names, unipolar_definition

__all__ = [
    "CONDUCTORS",
    "DEFAULT_SIGMA",
    "lead_vectors",
    "lead_matrix",
    "view_lead_vectors",
    "image_surface",
    "project_heart_vector",
    "torso_bem",
]

#: Homogeneous torso conductivity, S/m (a typical average of torso tissues).
DEFAULT_SIGMA = 0.2

CONDUCTORS = ("bem", "infinite")

# One BEM per (torso, sigma): building it is the expensive step, and a torso is immutable.
_BEM_CACHE: "weakref.WeakKeyDictionary[Torso, dict[float, BoundaryElementModel]]" = weakref.WeakKeyDictionary()


def torso_bem(torso: Torso, *, sigma: float = DEFAULT_SIGMA) -> BoundaryElementModel:
    """The boundary element model of a torso, built once per torso and conductivity.

    Parameters
    ----------
    torso : geometry.Torso
        The torso.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    bem : BoundaryElementModel
    """
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    per_torso = _BEM_CACHE.setdefault(torso, {})
    if sigma not in per_torso:
        per_torso[sigma] = make_bem(torso, sigma=sigma)
    return per_torso[sigma]


def _point_lead_field(torso: Torso, points: np.ndarray, conductor: str, sigma: float) -> np.ndarray:
    """(n_points, 3) lead field of surface points for a dipole at the heart centre."""
    source = np.asarray(torso.heart_center, dtype=np.float64)[None, :]
    if conductor == "bem":
        return torso_bem(torso, sigma=sigma).lead_field(points, source)[:, 0, :]
    if conductor == "infinite":
        return _kernels.infinite_medium_lead_field_kernel(np.ascontiguousarray(points), source, sigma)[:, 0, :]
    raise ValueError(f"conductor must be one of {CONDUCTORS}, got {conductor!r}")


def _is_view(item: Any) -> bool:
    return not isinstance(item, str) and np.ndim(item) == 1 and len(item) == 2


def _view_name(theta: float, phi: float) -> str:
    theta_degrees, phi_degrees = view_to_degrees(theta, phi)
    return f"view({float(theta_degrees):g},{float(phi_degrees):g})"


def _resolve_leads(leads: str | Sequence[Any]) -> list[Any]:
    if isinstance(leads, str):
        system = leads.strip().lower()
        if system in LEAD_SYSTEMS:
            return list(LEAD_SYSTEMS[system])
        try:
            return [canonical_name(leads)]
        except ValueError:
            raise ValueError(
                f"leads must be a lead system ({', '.join(LEAD_SYSTEMS)}), a lead name or a sequence of "
                f"lead names / (theta, phi) views; got unknown name {leads!r}; known leads: {', '.join(lead_names())}"
            ) from None
    if isinstance(leads, Mapping):
        raise TypeError("leads must be a system name or a sequence of lead names / (theta, phi) views, got a mapping")
    items = list(leads)
    if not items:
        raise ValueError("leads must not be empty")
    return [item if _is_view(item) else canonical_name(item) for item in items]


def lead_vectors(
    torso: Torso,
    leads: str | Sequence[Any] = "standard12",
    conductor: str = "bem",
    *,
    sigma: float = DEFAULT_SIGMA,
) -> dict[str, np.ndarray]:
    """Lead vectors of named leads (and views) for a dipole at the heart's electrical centre.

    A lead's value is ``c . p(t)`` for the heart vector ``p`` (mA*m); ``c`` is returned in the body
    frame (x anterior, y left, z superior), mV per mA*m. Frank's X, Y, Z (``leads="frank"``) are
    Frank's leads (X towards the left, Y inferior, Z posterior); their lead vectors are also given
    in the body frame, so an ideal Frank system has X ~ k (0, 1, 0), Y ~ k (0, 0, -1),
    Z ~ k (-1, 0, 0).

    Parameters
    ----------
    torso : geometry.Torso
        The torso; electrodes are placed on it by anatomical rules (geometry.electrode_positions).
    leads : str or sequence
        A system name (one of ``LEAD_SYSTEMS``: "standard12", "frank", "posterior", "right",
        "high", "easi"), or a sequence of lead names and/or ``(theta, phi)`` views in radians.
        A view is the unipolar lead of the surface point seen from the heart centre in that
        direction, referenced to the Wilson central terminal, named ``"view(theta,phi)"`` in
        degrees.
    conductor : {"bem", "infinite"}
        Boundary elements on the torso surface (cached per torso), or the infinite medium.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    lead_vectors : dict[str, (3,) float ndarray]
        mV per mA*m, body frame, in the order asked for.

    Examples
    --------
    >>> from geometry import default_torso
    >>> vectors = lead_vectors(default_torso(), "standard12")
    >>> abs(vectors["I"] + vectors["III"] - vectors["II"]).max() < 1e-10
    True
    """
    if not isinstance(torso, Torso):
        raise TypeError(f"torso must be a geometry.Torso, got {type(torso).__name__}")
    if conductor not in CONDUCTORS:
        raise ValueError(f"conductor must be one of {CONDUCTORS}, got {conductor!r}")
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    items = _resolve_leads(leads)

    named = [item for item in items if isinstance(item, str)]
    views = [item for item in items if not isinstance(item, str)]
    needed_systems = sorted({system for name in named for system, _ in lead_definition(name)} | ({"standard12"} if views else set()))
    keys: list[tuple[str, str]] = []
    points: list[np.ndarray] = []
    for system in needed_systems:
        for electrode, position in electrode_positions(torso, system).items():
            keys.append((system, electrode))
            points.append(position)
    if views:
        theta = as_finite_array([view[0] for view in views], "leads (theta of a view)")
        phi = as_finite_array([view[1] for view in views], "leads (phi of a view)")
        view_points = np.atleast_2d(torso.surface_point(theta, phi))
        for index, point in enumerate(view_points):
            keys.append(("view", str(index)))
            points.append(point)
    lead_field = _point_lead_field(torso, np.asarray(points), conductor, sigma)
    potential = dict(zip(keys, lead_field))

    result: dict[str, np.ndarray] = {}
    view_index = 0
    for item in items:
        if isinstance(item, str):
            weights = lead_definition(item)
            name = item
        else:
            weights = unipolar_definition("view", str(view_index))
            name = _view_name(*views[view_index])
            view_index += 1
        vector = np.zeros(3)
        for key, weight in weights.items():
            vector += weight * potential[key]
        result[name] = vector
    return result


def lead_matrix(
    torso: Torso,
    leads: str | Sequence[Any] = "standard12",
    conductor: str = "bem",
    *,
    sigma: float = DEFAULT_SIGMA,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Lead vectors stacked as a matrix, so that ``ecg = matrix @ heart_vector``.

    Parameters
    ----------
    torso, leads, conductor, sigma
        As for :func:`lead_vectors`.

    Returns
    -------
    names : tuple of str
        Row names.
    matrix : (n_leads, 3) float
        mV per mA*m, body frame.
    """
    vectors = lead_vectors(torso, leads, conductor, sigma=sigma)
    return tuple(vectors), np.array(list(vectors.values()))


def view_lead_vectors(
    torso: Torso, theta: Any, phi: Any, conductor: str = "bem", *, sigma: float = DEFAULT_SIGMA
) -> np.ndarray:
    """Physical lead vectors of views (theta, phi): the WCT-referenced unipolar lead of the surface
    point that the ray from the heart centre in direction (theta, phi) hits.

    Nef-Net's idealisation of the same view is the unit vector u(theta, phi)
    (geometry.direction_from_angles); comparing the two is the first question a researcher asks.

    Parameters
    ----------
    torso : geometry.Torso
        The torso.
    theta, phi : float or (n,) float, radians
        Polar angle from +z in [0, pi], azimuth from +x towards +y in [-pi, pi].
    conductor : {"bem", "infinite"}
        Volume conductor.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    vectors : (3,) or (n, 3) float, mV per mA*m, body frame
    """
    scalar = np.ndim(theta) == 0 and np.ndim(phi) == 0
    theta_array = np.atleast_1d(as_finite_array(theta, "theta"))
    phi_array = np.atleast_1d(as_finite_array(phi, "phi"))
    if theta_array.shape != phi_array.shape:
        raise ValueError(f"theta and phi must have the same shape, got {theta_array.shape} and {phi_array.shape}")
    direction_from_angles(theta_array, phi_array)  # validates the ranges with named errors
    vectors = lead_vectors(torso, list(zip(theta_array, phi_array)), conductor, sigma=sigma)
    stacked = np.array(list(vectors.values()))
    return stacked[0] if scalar else stacked


def image_surface(torso: Torso, conductor: str = "bem", *, sigma: float = DEFAULT_SIGMA) -> np.ndarray:
    """The image surface: the WCT-referenced lead vector of every torso vertex.

    Burger & van Milaan's image surface, computed for a homogeneous torso; the physical
    panorama at any view is read off it.

    Parameters
    ----------
    torso : geometry.Torso
        The torso.
    conductor : {"bem", "infinite"}
        Volume conductor.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    vectors : (n_vertices, 3) float, mV per mA*m, body frame
    """
    if not isinstance(torso, Torso):
        raise TypeError(f"torso must be a geometry.Torso, got {type(torso).__name__}")
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    limbs = electrode_positions(torso, "standard12")
    limb_points = np.array([limbs["RA"], limbs["LA"], limbs["LL"]])
    if conductor == "bem":
        bem = torso_bem(torso, sigma=sigma)
        vertex = bem.vertex_lead_field(torso.heart_center)[:, 0, :]
        wct = _point_lead_field(torso, limb_points, "bem", sigma).mean(axis=0)
    elif conductor == "infinite":
        vertex = _point_lead_field(torso, np.asarray(torso.vertices, dtype=np.float64), "infinite", sigma)
        wct = _point_lead_field(torso, limb_points, "infinite", sigma).mean(axis=0)
    else:
        raise ValueError(f"conductor must be one of {CONDUCTORS}, got {conductor!r}")
    return vertex - wct[None, :]


def project_heart_vector(lead_vectors_by_name: Mapping[str, Any], heart_vector: Any) -> dict[str, np.ndarray]:
    """Lead signals from a heart vector: ``V_lead(t) = c_lead . p(t)``.

    Parameters
    ----------
    lead_vectors_by_name : mapping of str to (3,) float
        Lead vectors, mV per mA*m, body frame (from :func:`lead_vectors`).
    heart_vector : (3, n_samples) float, mA*m
        Heart vector in the body frame.

    Returns
    -------
    signals : dict[str, (n_samples,) float], mV
    """
    vector = as_finite_array(heart_vector, "heart_vector", ndim=2)
    if vector.shape[0] != 3:
        raise ValueError(f"heart_vector must have shape (3, n_samples), got {vector.shape}")
    signals = {}
    for name, lead in lead_vectors_by_name.items():
        lead = as_finite_array(lead, f"lead_vectors_by_name[{name!r}]")
        if lead.shape != (3,):
            raise ValueError(f"lead_vectors_by_name[{name!r}] must have shape (3,), got {lead.shape}")
        signals[name] = lead @ vector
    return signals
