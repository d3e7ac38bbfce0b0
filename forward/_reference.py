"""Plain numpy references for the Numba kernels in :mod:`forward._kernels`.

They implement the same equations written the numpy way (broadcasting, one Python loop over
triangles at most) so that the tests can compare two independent codings. They are slow and meant
for small inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "infinite_medium_potential_reference",
    "infinite_medium_lead_field_reference",
    "solid_angles_reference",
    "linear_collocation_reference",
]


def infinite_medium_lead_field_reference(points: np.ndarray, source_positions: np.ndarray, sigma: float) -> np.ndarray:
    """(n_points, n_sources, 3) lead field, V = (r - r0) / (4 pi sigma |r - r0|^3)."""
    difference = points[:, None, :] - source_positions[None, :, :]
    distance = np.linalg.norm(difference, axis=-1)
    return difference / (4.0 * np.pi * sigma * distance[..., None] ** 3)


def infinite_medium_potential_reference(
    points: np.ndarray, dipole_positions: np.ndarray, moments: np.ndarray, sigma: float
) -> np.ndarray:
    """(n_points,) potential summed over dipoles."""
    lead_field = infinite_medium_lead_field_reference(points, dipole_positions, sigma)
    return np.einsum("pdk,dk->p", lead_field, moments)


def solid_angles_reference(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n_points, n_faces) solid angles by van Oosterom & Strackee (1983)."""
    corners = vertices[faces]  # (n_faces, 3, 3)
    r = corners[None, :, :, :] - points[:, None, None, :]  # (n_points, n_faces, 3, 3)
    return _triangle_solid_angles(r[..., 0, :], r[..., 1, :], r[..., 2, :])


def _triangle_solid_angles(r1: np.ndarray, r2: np.ndarray, r3: np.ndarray) -> np.ndarray:
    """Solid angles of triangles with corners r1, r2, r3 seen from the origin (van Oosterom & Strackee)."""
    l1, l2, l3 = (np.linalg.norm(v, axis=-1) for v in (r1, r2, r3))
    triple = np.einsum("...k,...k->...", r1, np.cross(r2, r3))
    denominator = (
        l1 * l2 * l3
        + np.einsum("...k,...k->...", r1, r2) * l3
        + np.einsum("...k,...k->...", r1, r3) * l2
        + np.einsum("...k,...k->...", r2, r3) * l1
    )
    return 2.0 * np.arctan2(triple, denominator)


def _edge_integrals(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integral of 1/|rho| along each edge (observer at origin) and the unit edge direction."""
    direction = end - start
    direction = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    terms = []
    for corner in (start, end):
        length = np.linalg.norm(corner, axis=-1)
        projection = np.einsum("...k,...k->...", corner, direction)
        perpendicular = np.sum(np.cross(corner, direction) ** 2, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            behind = np.maximum(perpendicular / (length - projection), 1e-300)
        terms.append(np.where(projection >= 0, length + projection, behind))
    return np.log(terms[1] / terms[0]), direction


def linear_collocation_reference(
    observation_points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, near: np.ndarray | None = None
) -> np.ndarray:
    """Linear-collocation solid-angle rows (n_observation, n_vertices).

    Loops over triangles, vectorised over observation points, as MNE-Python's
    ``_fwd_bem_lin_pot_coeff`` does. ``near`` is a boolean (n_observation, n_faces) array: pairs
    marked True are integrated analytically, the others lumped onto the corners
    (A/3 g(y_k)); None integrates every pair analytically. Triangles whose plane contains the
    observer contribute nothing.
    """
    n_observation = len(observation_points)
    matrix = np.zeros((n_observation, len(vertices)))
    corners_all = vertices[faces]
    cross = np.cross(corners_all[:, 1] - corners_all[:, 0], corners_all[:, 2] - corners_all[:, 0])
    twice_areas = np.linalg.norm(cross, axis=1)
    normals = cross / twice_areas[:, None]
    for t, face in enumerate(faces):
        r_all = corners_all[t][None, :, :] - observation_points[:, None, :]  # (n_obs, 3, 3)
        normal = normals[t]
        height = r_all[:, 0, :] @ normal
        coplanar = np.abs(height) < 1e-9 * np.sqrt(twice_areas[t])
        far = np.zeros(n_observation, dtype=bool) if near is None else ~near[:, t]
        if far.any():
            r_far = r_all[far]
            distance = np.linalg.norm(r_far, axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(distance > 0, (r_far @ normal) / distance**3, 0.0)  # (n_far, 3)
            matrix[np.ix_(np.flatnonzero(far), face)] += twice_areas[t] / 6.0 * g
        exact = ~far & ~coplanar
        r = r_all[exact]
        height = height[exact]
        omega = _triangle_solid_angles(r[:, 0], r[:, 1], r[:, 2])
        in_plane_integral = np.zeros((len(r), 3))
        for edge in range(3):
            integral, direction = _edge_integrals(r[:, edge], r[:, (edge + 1) % 3])
            in_plane_integral -= integral[:, None] * np.cross(direction, normal)
        for k in range(3):
            k1, k2 = (k + 1) % 3, (k + 2) % 3
            base = np.cross(r[:, k1], r[:, k2]) @ normal
            lever = np.cross(r[:, k1] - r[:, k2], normal)
            weight = (base * omega + height * np.einsum("ij,ij->i", lever, in_plane_integral)) / twice_areas[t]
            matrix[np.flatnonzero(exact), face[k]] += weight
    return matrix
