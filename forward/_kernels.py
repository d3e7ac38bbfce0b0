"""Numba kernels of the forward model.

Each kernel has a plain numpy reference in :mod:`forward._reference`; the tests require the two to
agree to 1e-10 relative. The kernels take contiguous float64 arrays and do no validation: the
public functions in :mod:`forward.analytic` and :mod:`forward.bem` validate first.

Kernels
-------
- infinite-medium potential and lead field of current dipoles,
  V(r) = p . (r - r0) / (4 pi sigma |r - r0|^3)  (Malmivuo & Plonsey 1995, eq. 8.19);
- solid angle of a triangle seen from a point, van Oosterom & Strackee (1983),
  tan(Omega / 2) = r1 . (r2 x r3) / (r1 r2 r3 + (r1.r2) r3 + (r1.r3) r2 + (r2.r3) r1);
- nearest point on a triangle mesh (Ericson 2005, Real-Time Collision Detection, 5.1.5);
  its reference is ``trimesh.proximity.closest_point``;
- BEM matrix of the potential integral equation with linear collocation: the solid angle of a
  triangle weighted by each vertex's linear basis function, integrated analytically
  (de Munck 1992, IEEE TBME 39:986; the formulation used by MNE-Python's ``_lin_pot_coeff``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "infinite_medium_potential_kernel",
    "infinite_medium_lead_field_kernel",
    "solid_angles_kernel",
    "total_solid_angle_kernel",
    "linear_collocation_kernel",
    "closest_point_kernel",
    "near_faces_kernel",
]

_FOUR_PI = 4.0 * math.pi


# Reassociation and contraction (FMA) let LLVM vectorise the reduction over dipoles (4 doubles per
# AVX2 instruction); no approximate functions or reciprocals, so results stay within ~1e-15.
_VECTORISE = {"reassoc", "contract", "nsz"}


@numba.njit(parallel=True, fastmath=_VECTORISE, cache=True)
def infinite_medium_potential_kernel(points, dipole_positions, moments, sigma):
    """Summed potential (n_points,) of dipoles (n_dipoles, 3) at points (n_points, 3), mV."""
    n_points = points.shape[0]
    n_dipoles = dipole_positions.shape[0]
    scale = 1.0 / (_FOUR_PI * sigma)
    # Structure-of-arrays copies so the inner loop over dipoles vectorises.
    source_x = np.ascontiguousarray(dipole_positions[:, 0])
    source_y = np.ascontiguousarray(dipole_positions[:, 1])
    source_z = np.ascontiguousarray(dipole_positions[:, 2])
    moment_x = np.ascontiguousarray(moments[:, 0])
    moment_y = np.ascontiguousarray(moments[:, 1])
    moment_z = np.ascontiguousarray(moments[:, 2])
    out = np.empty(n_points)
    for i in numba.prange(n_points):
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        total = 0.0
        for j in range(n_dipoles):
            dx = px - source_x[j]
            dy = py - source_y[j]
            dz = pz - source_z[j]
            distance_squared = dx * dx + dy * dy + dz * dz
            inverse_cube = 1.0 / (distance_squared * math.sqrt(distance_squared))
            total += (moment_x[j] * dx + moment_y[j] * dy + moment_z[j] * dz) * inverse_cube
        out[i] = total * scale
    return out


@numba.njit(parallel=True, fastmath=_VECTORISE, cache=True)
def infinite_medium_lead_field_kernel(points, source_positions, sigma):
    """Lead field (n_points, n_sources, 3) of unit dipoles along x, y, z, mV per mA*m."""
    n_points = points.shape[0]
    n_sources = source_positions.shape[0]
    scale = 1.0 / (_FOUR_PI * sigma)
    out = np.empty((n_points, n_sources, 3))
    for i in numba.prange(n_points):
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        for j in range(n_sources):
            dx = px - source_positions[j, 0]
            dy = py - source_positions[j, 1]
            dz = pz - source_positions[j, 2]
            distance_squared = dx * dx + dy * dy + dz * dz
            factor = scale / (distance_squared * math.sqrt(distance_squared))
            out[i, j, 0] = dx * factor
            out[i, j, 1] = dy * factor
            out[i, j, 2] = dz * factor
    return out


@numba.njit(inline="always")
def _triangle_solid_angle(x1, y1, z1, x2, y2, z2, x3, y3, z3):
    # van Oosterom & Strackee (1983); vectors are triangle corners relative to the observer.
    length1 = math.sqrt(x1 * x1 + y1 * y1 + z1 * z1)
    length2 = math.sqrt(x2 * x2 + y2 * y2 + z2 * z2)
    length3 = math.sqrt(x3 * x3 + y3 * y3 + z3 * z3)
    triple = x1 * (y2 * z3 - z2 * y3) - y1 * (x2 * z3 - z2 * x3) + z1 * (x2 * y3 - y2 * x3)
    denominator = (
        length1 * length2 * length3
        + (x1 * x2 + y1 * y2 + z1 * z2) * length3
        + (x1 * x3 + y1 * y3 + z1 * z3) * length2
        + (x2 * x3 + y2 * y3 + z2 * z3) * length1
    )
    return 2.0 * math.atan2(triple, denominator)


@numba.njit(inline="always")
def _face_solid_angle(vertices, faces, t, px, py, pz):
    # solid angle of mesh face t seen from the observer (px, py, pz)
    a = faces[t, 0]
    b = faces[t, 1]
    c = faces[t, 2]
    return _triangle_solid_angle(
        vertices[a, 0] - px, vertices[a, 1] - py, vertices[a, 2] - pz,
        vertices[b, 0] - px, vertices[b, 1] - py, vertices[b, 2] - pz,
        vertices[c, 0] - px, vertices[c, 1] - py, vertices[c, 2] - pz,
    )


@numba.njit(parallel=True, cache=True)
def solid_angles_kernel(points, vertices, faces):
    """Solid angle (n_points, n_faces) of each triangle seen from each point, steradians."""
    n_points = points.shape[0]
    n_faces = faces.shape[0]
    out = np.empty((n_points, n_faces))
    for i in numba.prange(n_points):
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        for t in range(n_faces):
            out[i, t] = _face_solid_angle(vertices, faces, t, px, py, pz)
    return out


@numba.njit(parallel=True, cache=True)
def total_solid_angle_kernel(points, vertices, faces):
    """Total solid angle (n_points,) of a closed surface: 4 pi inside, 0 outside (winding)."""
    n_points = points.shape[0]
    n_faces = faces.shape[0]
    out = np.empty(n_points)
    for i in numba.prange(n_points):
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        total = 0.0
        for t in range(n_faces):
            total += _face_solid_angle(vertices, faces, t, px, py, pz)
        out[i] = total
    return out


@numba.njit(inline="always")
def _edge_log_integral(ax, ay, az, bx, by, bz):
    """Integral of 1/|rho| along the segment from a to b (observer at the origin).

    ln[(|b| + b.e) / (|a| + a.e)] with e the unit edge direction; each bracket is evaluated in
    the form that avoids cancellation when the observer lies behind that end of the edge.
    """
    ex = bx - ax
    ey = by - ay
    ez = bz - az
    edge_length = math.sqrt(ex * ex + ey * ey + ez * ez)
    ex /= edge_length
    ey /= edge_length
    ez /= edge_length
    length_a = math.sqrt(ax * ax + ay * ay + az * az)
    length_b = math.sqrt(bx * bx + by * by + bz * bz)
    projection_a = ax * ex + ay * ey + az * ez
    projection_b = bx * ex + by * ey + bz * ez
    # Behind an end, |r| + r.e = |r x e|^2 / (|r| - r.e): the cross product has no cancellation.
    if projection_a >= 0.0:
        term_a = length_a + projection_a
    else:
        perpendicular_a = (ay * ez - az * ey) ** 2 + (az * ex - ax * ez) ** 2 + (ax * ey - ay * ex) ** 2
        term_a = max(perpendicular_a / (length_a - projection_a), 1e-300)
    if projection_b >= 0.0:
        term_b = length_b + projection_b
    else:
        perpendicular_b = (by * ez - bz * ey) ** 2 + (bz * ex - bx * ez) ** 2 + (bx * ey - by * ex) ** 2
        term_b = max(perpendicular_b / (length_b - projection_b), 1e-300)
    return math.log(term_b / term_a), ex, ey, ez


@numba.njit(inline="always")
def _vertex_weight(r, k, k1, k2, nx, ny, nz, omega, height, gx, gy, gz, twice_area):
    cross_x = r[k1, 1] * r[k2, 2] - r[k1, 2] * r[k2, 1]
    cross_y = r[k1, 2] * r[k2, 0] - r[k1, 0] * r[k2, 2]
    cross_z = r[k1, 0] * r[k2, 1] - r[k1, 1] * r[k2, 0]
    dx = r[k1, 0] - r[k2, 0]
    dy = r[k1, 1] - r[k2, 1]
    dz = r[k1, 2] - r[k2, 2]
    # (d x n) . g
    in_plane = (dy * nz - dz * ny) * gx + (dz * nx - dx * nz) * gy + (dx * ny - dy * nx) * gz
    return ((nx * cross_x + ny * cross_y + nz * cross_z) * omega + height * in_plane) / twice_area


@numba.njit(inline="always")
def _linear_weights(r, normal, twice_area):
    """The three linear-collocation coefficients of one triangle seen from the origin.

    w_k = [n.(r_{k+1} x r_{k+2}) Omega + h ((r_{k+1} - r_{k+2}) x n) . g] / (2A), with
    h = n.r_1 the signed distance to the triangle's plane and
    g = int rho_parallel / |rho|^3 dS = -sum_edges (int 1/|rho| dl) (e_hat x n)
    (divergence theorem in the plane). See the module docstring for the reference.
    """
    omega = _triangle_solid_angle(
        r[0, 0], r[0, 1], r[0, 2], r[1, 0], r[1, 1], r[1, 2], r[2, 0], r[2, 1], r[2, 2]
    )
    nx = normal[0]
    ny = normal[1]
    nz = normal[2]
    height = nx * r[0, 0] + ny * r[0, 1] + nz * r[0, 2]
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for edge in range(3):
        a = edge
        b = (edge + 1) % 3
        integral, ex, ey, ez = _edge_log_integral(
            r[a, 0], r[a, 1], r[a, 2], r[b, 0], r[b, 1], r[b, 2]
        )
        # e_hat x n is the in-plane outward normal of the edge (counter-clockwise triangle).
        gx -= integral * (ey * nz - ez * ny)
        gy -= integral * (ez * nx - ex * nz)
        gz -= integral * (ex * ny - ey * nx)
    return (
        _vertex_weight(r, 0, 1, 2, nx, ny, nz, omega, height, gx, gy, gz, twice_area),
        _vertex_weight(r, 1, 2, 0, nx, ny, nz, omega, height, gx, gy, gz, twice_area),
        _vertex_weight(r, 2, 0, 1, nx, ny, nz, omega, height, gx, gy, gz, twice_area),
    )


@numba.njit(parallel=True, cache=True)
def linear_collocation_kernel(
    observation_points, vertices, faces, face_normals, twice_areas, vertex_area_vectors, near_pointer, near_faces
):
    """Solid-angle rows C (n_observation, n_vertices) of linear collocation.

    C[i, j] = sum over triangles t containing j of the integral over t of the linear basis of j
    times the solid-angle element seen from observation point i (a mesh vertex for the system
    matrix, an electrode on the surface for a transfer row). Triangles whose plane contains the
    observer (its own triangles) contribute nothing; the auto-element correction that completes
    each row to 2 pi is applied afterwards in numpy.

    Far triangles, where the integrand is smooth, are lumped onto their corners
    (int phi_k g dS ~ A/3 g(y_k), g = n . (y - x) / |y - x|^3), which sums to
    C[i, j] ~ a_j . (y_j - x_i) / |y_j - x_i|^3 with the vertex area vector a_j = sum A_t n_t / 3:
    one vectorisable pass over the vertices per row. Triangles listed for row i in
    ``near_faces[near_pointer[i]:near_pointer[i + 1]]`` (compressed rows; they must include the
    observer's own triangles) have their lumped part replaced by the analytic integral.
    """
    n_observation = observation_points.shape[0]
    n_vertices = vertices.shape[0]
    out = np.empty((n_observation, n_vertices))
    for i in numba.prange(n_observation):
        relative = np.empty((3, 3))
        px = observation_points[i, 0]
        py = observation_points[i, 1]
        pz = observation_points[i, 2]
        for j in range(n_vertices):
            dx = vertices[j, 0] - px
            dy = vertices[j, 1] - py
            dz = vertices[j, 2] - pz
            distance_squared = dx * dx + dy * dy + dz * dz
            if distance_squared > 0.0:
                inverse_cube = 1.0 / (distance_squared * math.sqrt(distance_squared))
            else:
                inverse_cube = 0.0
            out[i, j] = (
                vertex_area_vectors[j, 0] * dx
                + vertex_area_vectors[j, 1] * dy
                + vertex_area_vectors[j, 2] * dz
            ) * inverse_cube
        for position in range(near_pointer[i], near_pointer[i + 1]):
            t = near_faces[position]
            nx = face_normals[t, 0]
            ny = face_normals[t, 1]
            nz = face_normals[t, 2]
            third_area = twice_areas[t] / 6.0
            for k in range(3):
                v = faces[t, k]
                relative[k, 0] = vertices[v, 0] - px
                relative[k, 1] = vertices[v, 1] - py
                relative[k, 2] = vertices[v, 2] - pz
                distance_squared = (
                    relative[k, 0] * relative[k, 0]
                    + relative[k, 1] * relative[k, 1]
                    + relative[k, 2] * relative[k, 2]
                )
                if distance_squared > 0.0:
                    out[i, v] -= third_area * (
                        nx * relative[k, 0] + ny * relative[k, 1] + nz * relative[k, 2]
                    ) / (distance_squared * math.sqrt(distance_squared))
            height = nx * relative[0, 0] + ny * relative[0, 1] + nz * relative[0, 2]
            # An observer in the triangle's plane (to 1e-9 of its size) sees zero solid angle; the
            # analytic terms would be 0 * log(0) there, and the true contribution is O(h log h).
            if abs(height) < 1e-9 * math.sqrt(twice_areas[t]):
                continue
            weight_a, weight_b, weight_c = _linear_weights(
                relative, face_normals[t], twice_areas[t]
            )
            out[i, faces[t, 0]] += weight_a
            out[i, faces[t, 1]] += weight_b
            out[i, faces[t, 2]] += weight_c
    return out


@numba.njit(inline="always")
def _edge_projections(abx, aby, abz, acx, acy, acz, qx, qy, qz):
    """Dot products of q (a point relative to a vertex) with the triangle edges ab and ac."""
    return abx * qx + aby * qy + abz * qz, acx * qx + acy * qy + acz * qz


@numba.njit(inline="always")
def _closest_on_triangle(px, py, pz, a, b, c):
    """Closest point of triangle abc to p and its barycentric weights (Ericson 2005, 5.1.5)."""
    abx = b[0] - a[0]
    aby = b[1] - a[1]
    abz = b[2] - a[2]
    acx = c[0] - a[0]
    acy = c[1] - a[1]
    acz = c[2] - a[2]
    d1, d2 = _edge_projections(abx, aby, abz, acx, acy, acz, px - a[0], py - a[1], pz - a[2])
    if d1 <= 0.0 and d2 <= 0.0:
        return 1.0, 0.0, 0.0
    d3, d4 = _edge_projections(abx, aby, abz, acx, acy, acz, px - b[0], py - b[1], pz - b[2])
    if d3 >= 0.0 and d4 <= d3:
        return 0.0, 1.0, 0.0
    vc = d1 * d4 - d3 * d2
    if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        v = d1 / (d1 - d3)
        return 1.0 - v, v, 0.0
    d5, d6 = _edge_projections(abx, aby, abz, acx, acy, acz, px - c[0], py - c[1], pz - c[2])
    if d6 >= 0.0 and d5 <= d6:
        return 0.0, 0.0, 1.0
    vb = d5 * d2 - d1 * d6
    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        w = d2 / (d2 - d6)
        return 1.0 - w, 0.0, w
    va = d3 * d6 - d5 * d4
    if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        return 0.0, 1.0 - w, w
    denominator = 1.0 / (va + vb + vc)
    v = vb * denominator
    w = vc * denominator
    return 1.0 - v - w, v, w


@numba.njit(parallel=True, cache=True)
def closest_point_kernel(points, vertices, faces, centroids, circumradii):
    """Nearest surface point of each point: (closest (n, 3), face (n,), barycentric (n, 3)).

    Exhaustive over the triangles, with a bounding-sphere test that skips every triangle whose
    circumscribed sphere is farther than the best distance found so far.
    """
    n_points = points.shape[0]
    n_faces = faces.shape[0]
    closest = np.empty((n_points, 3))
    face_index = np.empty(n_points, dtype=np.int64)
    barycentric = np.empty((n_points, 3))
    for i in numba.prange(n_points):
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        best = np.inf
        for t in range(n_faces):
            cx = centroids[t, 0] - px
            cy = centroids[t, 1] - py
            cz = centroids[t, 2] - pz
            reach = math.sqrt(cx * cx + cy * cy + cz * cz) - circumradii[t]
            if reach > 0.0 and reach * reach >= best:
                continue
            a = vertices[faces[t, 0]]
            b = vertices[faces[t, 1]]
            c = vertices[faces[t, 2]]
            u, v, w = _closest_on_triangle(px, py, pz, a, b, c)
            qx = u * a[0] + v * b[0] + w * c[0]
            qy = u * a[1] + v * b[1] + w * c[1]
            qz = u * a[2] + v * b[2] + w * c[2]
            distance_squared = (qx - px) ** 2 + (qy - py) ** 2 + (qz - pz) ** 2
            if distance_squared < best:
                best = distance_squared
                closest[i, 0] = qx
                closest[i, 1] = qy
                closest[i, 2] = qz
                face_index[i] = t
                barycentric[i, 0] = u
                barycentric[i, 1] = v
                barycentric[i, 2] = w
    return closest, face_index, barycentric


@numba.njit(parallel=True, cache=True)
def near_faces_kernel(points, centroids, reach_squared):
    """Compressed rows of the faces whose centroid lies within sqrt(reach_squared[t]) of each point.

    Returns ``(pointer (n_points + 1,), faces (pointer[-1],))``: the faces near point i are
    ``faces[pointer[i]:pointer[i + 1]]``, in increasing order. Two passes (count, then fill),
    both parallel over the points.
    """
    n_points = points.shape[0]
    n_faces = centroids.shape[0]
    counts = np.zeros(n_points, dtype=np.int64)
    for i in numba.prange(n_points):
        count = 0
        for t in range(n_faces):
            dx = centroids[t, 0] - points[i, 0]
            dy = centroids[t, 1] - points[i, 1]
            dz = centroids[t, 2] - points[i, 2]
            if dx * dx + dy * dy + dz * dz < reach_squared[t]:
                count += 1
        counts[i] = count
    pointer = np.zeros(n_points + 1, dtype=np.int64)
    for i in range(n_points):
        pointer[i + 1] = pointer[i] + counts[i]
    faces = np.empty(pointer[n_points], dtype=np.int64)
    for i in numba.prange(n_points):
        position = pointer[i]
        for t in range(n_faces):
            dx = centroids[t, 0] - points[i, 0]
            dy = centroids[t, 1] - points[i, 1]
            dz = centroids[t, 2] - points[i, 2]
            if dx * dx + dy * dy + dz * dz < reach_squared[t]:
                faces[position] = t
                position += 1
    return pointer, faces
