"""Every Numba kernel of forward._kernels against its numpy reference (forward._reference), and
an independent quadrature check of the analytic linear-collocation weights (de Munck 1992).

Agreement is measured as max |kernel - reference| / max |reference| and must be <= 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from forward import _kernels, _reference
from forward.bem import _face_data, _near_field_lists

TOLERANCE = 1e-10


def relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape
    assert np.all(np.isfinite(actual)) and np.all(np.isfinite(expected))
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="module")
def icosphere2() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=2, radius=0.1)


def mesh_arrays(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.ascontiguousarray(mesh.vertices, dtype=np.float64),
        np.ascontiguousarray(mesh.faces, dtype=np.int64),
    )


# -- infinite medium ------------------------------------------------------------------------------


def test_infinite_medium_potential_kernel_matches_reference():
    rng = np.random.default_rng(1)
    points = rng.normal(scale=0.2, size=(200, 3))
    positions = rng.normal(scale=0.05, size=(150, 3))
    moments = rng.normal(size=(150, 3))
    for sigma in (0.2, 1.7):
        kernel = _kernels.infinite_medium_potential_kernel(points, positions, moments, sigma)
        reference = _reference.infinite_medium_potential_reference(points, positions, moments, sigma)
        assert kernel.shape == (200,)
        assert relative_difference(kernel, reference) <= TOLERANCE


def test_infinite_medium_lead_field_kernel_matches_reference():
    rng = np.random.default_rng(2)
    points = rng.normal(scale=0.2, size=(120, 3))
    sources = rng.normal(scale=0.05, size=(90, 3))
    kernel = _kernels.infinite_medium_lead_field_kernel(points, sources, 0.33)
    reference = _reference.infinite_medium_lead_field_reference(points, sources, 0.33)
    assert kernel.shape == (120, 90, 3)
    assert relative_difference(kernel, reference) <= TOLERANCE


# -- solid angles ---------------------------------------------------------------------------------


def test_solid_angles_kernel_matches_reference_random_triangles():
    rng = np.random.default_rng(3)
    vertices = rng.normal(size=(60, 3))
    faces = np.ascontiguousarray(rng.integers(0, 60, size=(80, 3)), dtype=np.int64)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    points = rng.normal(scale=2.0, size=(70, 3))
    kernel = _kernels.solid_angles_kernel(points, vertices, np.ascontiguousarray(faces))
    reference = _reference.solid_angles_reference(points, vertices, faces)
    assert kernel.shape == (70, len(faces))
    assert relative_difference(kernel, reference) <= TOLERANCE
    assert np.all(np.abs(kernel) <= 2 * math.pi)


def test_solid_angles_kernel_matches_reference_icosphere(icosphere2):
    vertices, faces = mesh_arrays(icosphere2)
    rng = np.random.default_rng(4)
    points = rng.normal(scale=0.1, size=(50, 3))
    kernel = _kernels.solid_angles_kernel(points, vertices, faces)
    reference = _reference.solid_angles_reference(points, vertices, faces)
    assert relative_difference(kernel, reference) <= TOLERANCE


def test_solid_angle_of_a_known_triangle():
    # One octant of the unit sphere's directions: the triangle (e_x, e_y, e_z) seen from the
    # origin subtends 4 pi / 8 = pi / 2; reversed orientation gives the opposite sign.
    vertices = np.eye(3)
    faces = np.array([[0, 1, 2], [0, 2, 1]], dtype=np.int64)
    omega = _kernels.solid_angles_kernel(np.zeros((1, 3)), vertices, faces)
    np.testing.assert_allclose(omega, [[math.pi / 2, -math.pi / 2]], rtol=1e-14)


def test_total_solid_angle_is_four_pi_inside_zero_outside(icosphere2):
    vertices, faces = mesh_arrays(icosphere2)
    rng = np.random.default_rng(5)
    directions = rng.normal(size=(200, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    inside = directions[:100] * rng.uniform(0.0, 0.09, size=(100, 1))
    outside = directions[100:] * rng.uniform(0.11, 1.0, size=(100, 1))
    total_inside = _kernels.total_solid_angle_kernel(inside, vertices, faces)
    total_outside = _kernels.total_solid_angle_kernel(outside, vertices, faces)
    np.testing.assert_allclose(total_inside, 4 * math.pi, rtol=0, atol=1e-10)
    np.testing.assert_allclose(total_outside, 0.0, rtol=0, atol=1e-10)
    # And it is the row sum of the per-triangle solid angles.
    per_face = _kernels.solid_angles_kernel(inside, vertices, faces)
    np.testing.assert_allclose(per_face.sum(axis=1), total_inside, rtol=0, atol=1e-11)


def test_total_solid_angle_of_inverted_mesh_is_minus_four_pi(icosphere2):
    vertices, faces = mesh_arrays(icosphere2)
    reversed_faces = np.ascontiguousarray(faces[:, ::-1])
    total = _kernels.total_solid_angle_kernel(np.array([[0.01, -0.02, 0.03]]), vertices, reversed_faces)
    np.testing.assert_allclose(total, -4 * math.pi, rtol=0, atol=1e-10)


# -- linear collocation ---------------------------------------------------------------------------


def projected_points(mesh: trimesh.Trimesh, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n, 3)) * 0.1
    projected, _distance, _triangles = trimesh.proximity.closest_point(mesh, raw)
    return np.ascontiguousarray(projected, dtype=np.float64)


def near_mask(pointer: np.ndarray, near_faces: np.ndarray, n_faces: int) -> np.ndarray:
    mask = np.zeros((len(pointer) - 1, n_faces), dtype=bool)
    for i in range(len(pointer) - 1):
        mask[i, near_faces[pointer[i] : pointer[i + 1]]] = True
    return mask


@pytest.mark.parametrize("observers", ["vertices", "projected"])
@pytest.mark.parametrize("ratio", [math.inf, 3.0])
def test_linear_collocation_kernel_matches_reference(icosphere2, observers, ratio):
    vertices, faces = mesh_arrays(icosphere2)
    points = vertices.copy() if observers == "vertices" else projected_points(icosphere2, 60, seed=6)
    face_data = _face_data(icosphere2)
    pointer, near_faces = _near_field_lists(points, vertices, faces, ratio)
    kernel = _kernels.linear_collocation_kernel(points, vertices, faces, *face_data, pointer, near_faces)
    if math.isinf(ratio):
        reference = _reference.linear_collocation_reference(points, vertices, faces, None)
        assert len(near_faces) == len(points) * len(faces)
    else:
        mask = near_mask(pointer, near_faces, len(faces))
        # A finite ratio really mixes lumped and analytic triangles.
        assert 0 < mask.sum() < mask.size / 2
        reference = _reference.linear_collocation_reference(points, vertices, faces, mask)
    assert kernel.shape == (len(points), len(vertices))
    assert relative_difference(kernel, reference) <= TOLERANCE


def test_linear_collocation_rows_sum_to_two_pi_minus_own_triangles(icosphere2):
    # Seen from a point on a closed surface, all triangles except those whose plane contains
    # the point subtend 2 pi in total (up to the point's own triangles, which see it edge-on).
    vertices, faces = mesh_arrays(icosphere2)
    pointer, near_faces = _near_field_lists(vertices, vertices, faces, math.inf)
    rows = _kernels.linear_collocation_kernel(vertices, vertices, faces, *_face_data(icosphere2), pointer, near_faces)
    omega = _kernels.solid_angles_kernel(vertices, vertices, faces)
    np.testing.assert_allclose(rows.sum(axis=1), omega.sum(axis=1), rtol=0, atol=1e-10)
    # A smooth closed surface seen from a point on it subtends 2 pi; a convex polyhedral vertex
    # sees only the interior of its tangent cone, a little less. The missing part (about 1 sr
    # on this coarse mesh) is what the auto-solid-angle correction puts back.
    missing = 2 * math.pi - rows.sum(axis=1)
    assert np.all(missing > 0) and np.all(missing < 1.5)


def test_finite_near_field_lists_contain_own_triangles(icosphere2):
    vertices, faces = mesh_arrays(icosphere2)
    pointer, near_faces = _near_field_lists(vertices, vertices, faces, 3.0)
    mask = near_mask(pointer, near_faces, len(faces))
    for k in range(3):
        assert np.all(mask[faces[:, k], np.arange(len(faces))])


# -- an independent check of the analytic weights -------------------------------------------------


def quadrature_weights(corners: np.ndarray, observer: np.ndarray, depth: int = 3, order: int = 24) -> np.ndarray:
    """int_T phi_k(y) n . (y - x) / |y - x|^3 dS by Gauss-Legendre on collapsed squares of the
    4**depth sub-triangles of T (phi_k the linear basis of corner k)."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    nodes = 0.5 * (nodes + 1.0)
    weights = 0.5 * weights
    s, t = np.meshgrid(nodes, nodes, indexing="ij")
    ws = np.outer(weights, weights)
    # Collapsed square -> reference triangle: barycentric (1 - s, s (1 - t), s t), Jacobian s.
    reference_barycentric = np.stack([1 - s, s * (1 - t), s * t], axis=-1).reshape(-1, 3)
    reference_weights = (ws * s).reshape(-1)

    cross = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    normal = cross / np.linalg.norm(cross)

    # Sub-triangles in barycentric coordinates of T.
    sub = [np.eye(3)]
    for _ in range(depth):
        finer = []
        for b in sub:
            m01, m12, m20 = (b[0] + b[1]) / 2, (b[1] + b[2]) / 2, (b[2] + b[0]) / 2
            finer += [np.array(x) for x in ([b[0], m01, m20], [m01, b[1], m12], [m20, m12, b[2]], [m01, m12, m20])]
        sub = finer
    total = np.zeros(3)
    for b in sub:
        barycentric = reference_barycentric @ b  # (n_nodes, 3), barycentric in T
        y = barycentric @ corners
        d = y - observer
        g = (d @ normal) / np.linalg.norm(d, axis=1) ** 3
        sub_twice_area = np.linalg.norm(np.cross(*(b[1:] - b[0]) @ corners))
        total += sub_twice_area * (reference_weights * g) @ barycentric
    return total


def single_triangle_weights(corners: np.ndarray, observers: np.ndarray) -> np.ndarray:
    mesh = trimesh.Trimesh(corners, [[0, 1, 2]], process=False)
    vertices, faces = mesh_arrays(mesh)
    pointer, near_faces = _near_field_lists(observers, vertices, faces, math.inf)
    return _kernels.linear_collocation_kernel(
        np.ascontiguousarray(observers), vertices, faces, *_face_data(mesh), pointer, near_faces
    )


TRIANGLE = np.array([[0.010, 0.002, 0.001], [0.031, 0.008, -0.004], [0.014, 0.027, 0.006]])


def triangle_observers() -> np.ndarray:
    corners = TRIANGLE
    centroid = corners.mean(axis=0)
    cross = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    normal = cross / np.linalg.norm(cross)
    size = math.sqrt(np.linalg.norm(cross))
    return np.array(
        [
            centroid + 0.5 * size * normal,  # above the middle
            centroid - 0.3 * size * normal,  # below (negative solid angle)
            corners[0] + 0.2 * size * normal,  # above a corner
            (corners[1] + corners[2]) / 2 + 0.15 * size * normal,  # above an edge
            corners[2] + np.array([0.5, -0.3, 0.4]) * size,  # off to the side
            centroid + 3.0 * size * normal + np.array([1.0, 2.0, 0.0]) * size,  # far away
            centroid + 0.1 * size * normal + 0.2 * (corners[1] - centroid),  # close, inside
            corners[0] + 1.3 * (corners[1] - corners[0]) + 0.05 * size * normal,  # past an edge's end
        ]
    )


def test_linear_weights_match_numerical_quadrature():
    observers = triangle_observers()
    analytic = single_triangle_weights(TRIANGLE, observers)
    for observer, weights in zip(observers, analytic):
        numeric = quadrature_weights(TRIANGLE, observer)
        scale = np.max(np.abs(numeric))
        assert scale > 0
        np.testing.assert_allclose(weights, numeric, rtol=0, atol=1e-8 * scale)  # measured: ~1e-13


def test_linear_weights_sum_to_solid_angle():
    observers = triangle_observers()
    analytic = single_triangle_weights(TRIANGLE, observers)
    omega = _kernels.solid_angles_kernel(observers, TRIANGLE, np.array([[0, 1, 2]], dtype=np.int64))[:, 0]
    np.testing.assert_allclose(analytic.sum(axis=1), omega, rtol=1e-12, atol=1e-15)
    # Sign: seen from the side the normal points to, the triangle subtends a negative angle
    # (n . (y - x) < 0 there); from below, a positive one.
    assert omega[0] < 0 < omega[1]


def test_linear_weights_vanish_in_the_plane_of_the_triangle():
    corners = TRIANGLE
    in_plane = np.array([corners[0] + 1.5 * (corners[1] - corners[0]), 0.3 * corners[0] + 0.3 * corners[1] + 0.4 * corners[2]])
    np.testing.assert_allclose(single_triangle_weights(corners, in_plane), 0.0, atol=1e-14)


def test_lumped_weights_approach_analytic_far_away():
    # Far from the triangle the corner lumping A/3 g(y_k) is first-order accurate per corner,
    # and second-order accurate in the sum (the one-point centroid rule is exact for linears).
    corners = TRIANGLE
    cross = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    normal = cross / np.linalg.norm(cross)
    size = math.sqrt(np.linalg.norm(cross))
    observer = corners.mean(axis=0) + 40 * size * (normal + np.array([0.3, 0.1, 0.0]))
    exact = single_triangle_weights(corners, observer[None, :])[0]
    d = corners - observer
    lumped = np.linalg.norm(cross) / 6.0 * (d @ normal) / np.linalg.norm(d, axis=1) ** 3
    np.testing.assert_allclose(lumped, exact, rtol=2e-2)
    np.testing.assert_allclose(lumped.sum(), exact.sum(), rtol=2e-4)
    assert np.max(np.abs(lumped - exact)) > 1e-4 * np.max(np.abs(exact))  # lumping is not exact
