"""Closed-form potentials of current dipoles: infinite homogeneous medium and homogeneous sphere.

Units: positions in metres, moments in mA*m, conductivity in S/m, potentials in mV.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from geometry.validation import as_points, as_positive_scalar, as_vector3
from . import _kernels

__all__ = ["infinite_medium_potential", "infinite_medium_lead_field", "sphere_potential", "fibonacci_sphere"]


def _dipoles(dipole_position: Any, moment: Any) -> tuple[np.ndarray, np.ndarray]:
    positions = as_points(dipole_position, "dipole_position")
    moments = as_points(moment, "moment")
    if moments.shape != positions.shape:
        raise ValueError(
            f"moment must have the shape of dipole_position ({positions.shape[0]} dipole(s), 3), "
            f"got {moments.shape}"
        )
    return positions, moments


def infinite_medium_potential(points: Any, dipole_position: Any, moment: Any, *, sigma: float) -> np.ndarray:
    """Potential of current dipoles in an infinite homogeneous medium, mV.

    V(r) = sum_j p_j . (r - r_j) / (4 pi sigma |r - r_j|^3)  (Malmivuo & Plonsey 1995, eq. 8.19).

    Parameters
    ----------
    points : (n_points, 3) or (3,) float, metres
        Observation points.
    dipole_position : (n_dipoles, 3) or (3,) float, metres
        Dipole positions.
    moment : (n_dipoles, 3) or (3,) float, mA*m
        Dipole moments, one per position.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    potential : (n_points,) float, mV
        Summed over the dipoles.
    """
    points = as_points(points, "points")
    positions, moments = _dipoles(dipole_position, moment)
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    _check_apart(points, positions)
    return _kernels.infinite_medium_potential_kernel(points, positions, moments, sigma)


def infinite_medium_lead_field(points: Any, source_positions: Any, *, sigma: float) -> np.ndarray:
    """Lead field of unit dipoles in an infinite homogeneous medium, mV per mA*m.

    Parameters
    ----------
    points : (n_points, 3) float, metres
        Observation points.
    source_positions : (n_sources, 3) float, metres
        Source positions.
    sigma : float
        Conductivity, S/m.

    Returns
    -------
    lead_field : (n_points, n_sources, 3) float
        ``lead_field[i, j] . p`` is the potential at point i of moment p at source j.
    """
    points = as_points(points, "points")
    sources = as_points(source_positions, "source_positions")
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    _check_apart(points, sources)
    return _kernels.infinite_medium_lead_field_kernel(points, sources, sigma)


def _check_apart(points: np.ndarray, positions: np.ndarray) -> None:
    if len(points) * len(positions) <= 4_000_000:
        distance = np.linalg.norm(points[:, None, :] - positions[None, :, :], axis=-1)
        if np.any(distance == 0):
            i, j = np.argwhere(distance == 0)[0]
            raise ValueError(f"points[{i}] coincides with dipole {j}: the dipole potential is singular there")


def sphere_potential(
    points: Any,
    dipole_position: Any,
    moment: Any,
    *,
    radius: float,
    sigma: float,
    center: Any = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Surface potential of current dipoles in a homogeneous sphere with insulating exterior, mV.

    The closed form of Frank (1952) / Brody, Terry & Ideker (1973): for r on the sphere of
    radius R, d = r - r0,

        V = 1 / (4 pi sigma) [ 2 p.d / |d|^3
              + p.(r + R d / |d|) / (R (R^2 - r.r0 + R |d|)) ],

    obtained by summing the Legendre series sum_l (2l + 1)/l (r0/R)^l P_l / R of a unit source
    with insulated boundary (generating function and sum t^l P_l / l = ln(2 / (1 - x t + |d|/R)))
    and differentiating with respect to r0. For r0 = 0 it reduces to 3 p.r / (4 pi sigma R^3).
    The potential is referenced so that its mean over the sphere is zero.

    Parameters
    ----------
    points : (n_points, 3) float, metres
        Points on the sphere (|points - center| = radius within 1e-6 relative).
    dipole_position : (n_dipoles, 3) or (3,) float, metres
        Dipole positions, strictly inside the sphere.
    moment : (n_dipoles, 3) or (3,) float, mA*m
        Dipole moments.
    radius : float
        Sphere radius, metres.
    sigma : float
        Conductivity, S/m.
    center : (3,) float, metres
        Sphere centre.

    Returns
    -------
    potential : (n_points,) float, mV
    """
    radius = as_positive_scalar(radius, "radius", "m")
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    center = as_vector3(center, "center")
    r = as_points(points, "points") - center
    positions, moments = _dipoles(dipole_position, moment)
    positions = positions - center
    point_radius = np.linalg.norm(r, axis=1)
    off = np.flatnonzero(np.abs(point_radius - radius) > 1e-6 * radius)
    if off.size:
        raise ValueError(
            f"points must lie on the sphere of radius {radius} m about center; points[{off[0]}] is at "
            f"{point_radius[off[0]]:.6g} m ({off.size} point(s) off the sphere)"
        )
    source_radius = np.linalg.norm(positions, axis=1)
    outside = np.flatnonzero(source_radius >= radius)
    if outside.size:
        raise ValueError(
            f"dipole_position[{outside[0]}] is {source_radius[outside[0]]:.4g} m from the centre, "
            f"not inside the sphere of radius {radius} m"
        )
    total = np.zeros(len(r))
    for r0, p in zip(positions, moments):
        d = r - r0
        distance = np.linalg.norm(d, axis=1)
        first = 2.0 * (d @ p) / distance**3
        denominator = radius * (radius**2 - r @ r0 + radius * distance)
        second = ((r + radius * d / distance[:, None]) @ p) / denominator
        total += first + second
    return total / (4 * math.pi * sigma)


def fibonacci_sphere(n_points: int, *, radius: float = 1.0, center: Any = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Nearly uniform points on a sphere by the Fibonacci (golden-angle) lattice.

    Parameters
    ----------
    n_points : int
        Number of points.
    radius : float
        Sphere radius, metres.
    center : (3,) float, metres
        Sphere centre.

    Returns
    -------
    points : (n_points, 3) float, metres
    """
    if int(n_points) < 1:
        raise ValueError(f"n_points must be a positive integer, got {n_points}")
    radius = as_positive_scalar(radius, "radius", "m")
    index = np.arange(int(n_points)) + 0.5
    z = 1.0 - 2.0 * index / int(n_points)
    azimuth = math.pi * (3.0 - math.sqrt(5.0)) * index
    ring = np.sqrt(1.0 - z**2)
    unit = np.column_stack([ring * np.cos(azimuth), ring * np.sin(azimuth), z])
    return radius * unit + as_vector3(center, "center")
