"""Single-compartment boundary element model of a bounded homogeneous volume conductor.

The potential V on the closed surface S of a homogeneous conductor (conductivity sigma, insulating
exterior) with current dipoles inside obeys (Geselowitz 1967; Barr et al. 1966)

    V(x) = 2 V_inf(x) + (1 / 2 pi) int_S V(y) dOmega_x(y),

where V_inf is the infinite-medium potential and dOmega_x(y) the solid angle of the surface
element at y seen from x. With V linear on each triangle and collocation at the vertices
(de Munck 1992), this becomes (I - C / 2 pi) v = 2 v_inf. C is assembled by Numba
(:mod:`forward._kernels`); its diagonal gets the auto-solid-angle correction of Hamalainen and
Sarvas (1989) as in MNE-Python (rows sum to 2 pi), and the singular direction (constants) is
removed by deflation, adding 1/n to every entry (Lynn & Timlake 1968).

Potentials of a bounded conductor are defined up to one constant per source; this module returns
them referenced to the mean over the mesh vertices. Differences between points (every lead) are
reference-free.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import trimesh

from geometry.torso import Torso, check_torso_size
from geometry.validation import as_finite_array, as_points, as_positive_scalar
from . import _kernels
from ._solvers import refined_block_gmres

__all__ = ["BoundaryElementModel", "make_bem", "mesh_from", "check_sources_inside"]

#: Triangles whose centroid is nearer than this many circumradii to an observation point are
#: integrated analytically; farther ones are lumped onto their corners. On the sphere test the
#: lumping error partly cancels the discretisation error (icosphere(4), eccentricity 0.8: mean RDM
#: 0.08 % at 3, 0.09 % at 4, 0.12 % at 8, 0.19 % all analytic), so 4 keeps accuracy and speed
#: together.
NEAR_FIELD_RATIO = 4.0

#: Meshes with more vertices than this are solved by block GMRES instead of an LU factorisation.
LU_VERTEX_LIMIT = 3000

_SOLVERS = ("auto", "lu", "gmres")


def mesh_from(torso_or_mesh: Any, name: str = "torso_or_mesh") -> trimesh.Trimesh:
    """Return the watertight, outward-oriented trimesh of a Torso or a trimesh.Trimesh.

    Parameters
    ----------
    torso_or_mesh : geometry.Torso or trimesh.Trimesh
        The conductor surface, metres.
    name : str
        Parameter name for error messages.

    Returns
    -------
    mesh : trimesh.Trimesh
    """
    mesh = getattr(torso_or_mesh, "mesh", torso_or_mesh)
    if not isinstance(mesh, trimesh.Trimesh):
        raise TypeError(f"{name} must be a geometry.Torso or a trimesh.Trimesh, got {type(torso_or_mesh).__name__}")
    if len(mesh.faces) == 0:
        raise ValueError(f"{name} has no faces")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ValueError(f"{name} has NaN or infinite vertex coordinates")
    if not mesh.is_watertight:
        raise ValueError(
            f"{name} must be a closed (watertight) surface; this mesh has "
            f"{len(_boundary_edges(mesh))} boundary edge(s). Repair it (trimesh.repair.fill_holes) first."
        )
    if not mesh.is_winding_consistent or mesh.volume <= 0:
        raise ValueError(
            f"{name} must have consistent, outward-facing triangles (got volume {mesh.volume:.3g}); "
            "load it through geometry.load_torso, which fixes the orientation"
        )
    return mesh


def _boundary_edges(mesh: trimesh.Trimesh) -> np.ndarray:
    edges = np.sort(mesh.edges, axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return unique[counts == 1]


def check_sources_inside(mesh: trimesh.Trimesh, positions: np.ndarray, name: str = "source_positions") -> None:
    """Raise if any position lies outside the closed surface (solid-angle winding number).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed surface, metres.
    positions : (n, 3) float, metres
        Points to check.
    name : str
        Parameter name for error messages.
    """
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    winding = _kernels.total_solid_angle_kernel(np.ascontiguousarray(positions), vertices, faces) / (4 * math.pi)
    outside = np.flatnonzero(winding < 0.5)
    if outside.size:
        first = outside[0]
        raise ValueError(
            f"{name}[{first}] = {np.array2string(positions[first], precision=4)} m lies outside the "
            f"conductor surface ({outside.size} of {len(positions)} outside); sources must be inside the torso"
        )


class BoundaryElementModel:
    """A factorised BEM of one closed homogeneous conductor; build it with :func:`make_bem`.

    The constructor takes an already assembled system (it factorises it when ``solver="lu"``);
    :func:`make_bem` validates the mesh, assembles the system and calls it.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        The closed, outward-oriented conductor surface, vertices in metres.
    sigma : float
        Conductivity inside the surface, S/m.
    system : (n_vertices, n_vertices) float
        The deflated BEM matrix ``I - C / 2 pi + 1/n`` from :func:`assemble_system`
        (dimensionless).
    face_data : tuple of ndarray
        ``(normals, twice_areas, vertex_area_vectors)`` from :func:`assemble_system`: unit face
        normals (n_faces, 3), twice the face areas (n_faces,) in m^2 and vertex area vectors
        (n_vertices, 3) in m^2.
    solver : {"lu", "gmres"}
        LU factorisation once at construction, or block GMRES on demand.
    tolerance : float
        Relative residual at which GMRES stops (unused by "lu").
    near_field_ratio : float
        Triangles nearer than this many circumradii to an observation point are integrated
        analytically when rows are built for new points (:meth:`collocation_rows`).

    Attributes
    ----------
    mesh : trimesh.Trimesh
        The conductor surface, metres.
    sigma : float
        Conductivity, S/m.
    solver : str
        "lu" or "gmres".
    tolerance : float
        GMRES relative residual.
    near_field_ratio : float
        Near-field threshold in circumradii.
    """

    def __init__(
        self,
        mesh: trimesh.Trimesh,
        sigma: float,
        system: np.ndarray,
        face_data: tuple[np.ndarray, np.ndarray, np.ndarray],
        solver: str,
        tolerance: float,
        near_field_ratio: float,
    ):
        self.mesh = mesh
        self.sigma = sigma
        self.solver = solver
        self.tolerance = tolerance
        self.near_field_ratio = near_field_ratio
        self._system = system
        self._face_data = face_data
        self._lu = scipy.linalg.lu_factor(system, check_finite=False) if solver == "lu" else None
        self._system_single = system.astype(np.float32) if solver == "gmres" else None
        self._vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
        self._faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
        corners = self._vertices[self._faces]
        self._centroids = np.ascontiguousarray(corners.mean(axis=1))
        self._circumradii = np.sqrt(((corners - self._centroids[:, None, :]) ** 2).sum(axis=2).max(axis=1))
        self._mean_edge = float(mesh.edges_unique_length.mean())
        self._mean_row: np.ndarray | None = None

    @property
    def n_vertices(self) -> int:
        """Number of mesh vertices (unknowns)."""
        return len(self._vertices)

    def __repr__(self) -> str:
        return (
            f"<BoundaryElementModel | {self.n_vertices} vertices, {len(self.mesh.faces)} faces, "
            f"sigma={self.sigma:g} S/m, solver={self.solver}, reference=vertex mean>"
        )

    # -- linear algebra -------------------------------------------------------------------------
    def solve(self, right_hand_sides: np.ndarray, *, transpose: bool = False) -> np.ndarray:
        """Solve the deflated BEM system (or its transpose) for one or many right-hand sides.

        Parameters
        ----------
        right_hand_sides : (n_vertices,) or (n_vertices, k) float
            Twice the infinite-medium potentials at the vertices (mV) for the forward problem.
        transpose : bool
            Solve with the transposed system (used for transfer matrices).

        Returns
        -------
        solution : ndarray, the shape of ``right_hand_sides``
        """
        rhs = np.asarray(right_hand_sides, dtype=np.float64)
        if rhs.shape[0] != self.n_vertices:
            raise ValueError(f"right_hand_sides must have {self.n_vertices} rows, got shape {rhs.shape}")
        if self._lu is not None:
            return scipy.linalg.lu_solve(self._lu, rhs, trans=1 if transpose else 0, check_finite=False)
        return refined_block_gmres(
            self._system, self._system_single, rhs, transpose=transpose, tolerance=self.tolerance
        )

    def _vertex_mean_row(self) -> np.ndarray:
        # Row m with m @ b = mean of the solution A^-1 b over the vertices: A^T m = 1 / n.
        if self._mean_row is None:
            self._mean_row = self.solve(np.full(self.n_vertices, 1.0 / self.n_vertices), transpose=True)
        return self._mean_row

    # -- points on the surface ------------------------------------------------------------------
    def collocation_rows(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        """Boundary-integral rows of surface points (Nystrom interpolation of the BEM solution).

        At a surface point x the integral equation itself gives the potential from the vertex
        solution v: V(x) = 2 V_inf(x) + (1 / 2 pi) c(x) . v, with c(x) the solid-angle weights
        seen from x, completed to 2 pi on x's own triangle by its barycentric weights. This
        captures the sharp 2 V_inf peak above a shallow source that linear interpolation between
        vertices blurs: on an icosphere of 2562 vertices it brings the error at eccentricity 0.8
        from 1.5 % RDM (linear interpolation, as in MNE-Python) to about 0.2 %.

        Parameters
        ----------
        points : (n_points, 3) float, metres
            Points on or near the surface; each is moved to the nearest surface point.

        Returns
        -------
        rows : (n_points, n_vertices) float
            c(x) / (2 pi) for each projected point.
        projected : (n_points, 3) float, metres
            The surface points used.
        """
        points = as_points(points, "points")
        projected, triangle_ids, barycentric = self.project(points)
        faces = self._faces
        pointer, near = _near_field_lists(projected, self._vertices, faces, self.near_field_ratio)
        rows = _kernels.linear_collocation_kernel(projected, self._vertices, faces, *self._face_data, pointer, near)
        missing = 2 * math.pi - rows.sum(axis=1)
        for k in range(3):
            np.add.at(rows, (np.arange(len(points)), faces[triangle_ids, k]), missing * barycentric[:, k])
        return rows / (2 * math.pi), projected

    def project(self, points: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest surface points, warning when a point was more than 5 mm (or an edge) off.

        Parameters
        ----------
        points : (n_points, 3) float, metres
            Points on or near the surface.

        Returns
        -------
        projected : (n_points, 3) float, metres
            Nearest points on the surface.
        face_index : (n_points,) int
            Triangle of each projected point.
        barycentric : (n_points, 3) float
            Barycentric weights of each projected point on its triangle.
        """
        points = as_points(points, "points")
        projected, face_index, barycentric = _kernels.closest_point_kernel(
            points, self._vertices, self._faces, self._centroids, self._circumradii
        )
        self._warn_displacement(np.linalg.norm(projected - points, axis=1))
        return projected, face_index, barycentric

    def transfer_matrix(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        """Transfer matrix from the infinite-medium vertex potentials to surface points.

        The potential at the (projected) points of any sources is
        ``2 v_inf(projected) + transfer @ (2 v_inf(vertices))`` (mV, vertex-mean reference), so
        the lead field of any source set is one matrix product.

        Parameters
        ----------
        points : (n_points, 3) float, metres
            Electrode positions on (or near) the surface.

        Returns
        -------
        transfer : (n_points, n_vertices) float
        projected : (n_points, 3) float, metres
            The surface points the transfer refers to.
        """
        rows, projected = self.collocation_rows(points)
        if self._mean_row is None:
            # Solve for the vertex-mean row in the same block (one more column, no extra pass).
            right_hand_sides = np.column_stack([rows.T, np.full(self.n_vertices, 1.0 / self.n_vertices)])
            solved = self.solve(right_hand_sides, transpose=True).T
            self._mean_row = solved[-1]
            solved = solved[:-1]
        else:
            solved = self.solve(np.ascontiguousarray(rows.T), transpose=True).T
        return solved - self._mean_row[None, :], projected

    def _warn_displacement(self, displacement: np.ndarray) -> None:
        worst = float(displacement.max()) if displacement.size else 0.0
        if worst > max(0.005, self._mean_edge):
            warnings.warn(
                f"points were up to {worst * 1000:.1f} mm off the surface and were projected onto it",
                stacklevel=3,
            )

    # -- sources --------------------------------------------------------------------------------
    def _source_right_hand_sides(self, source_positions: np.ndarray, name: str = "source_positions") -> np.ndarray:
        check_sources_inside(self.mesh, source_positions, name)
        nearest = _kernels.closest_point_kernel(
            source_positions, self._vertices, self._faces, self._centroids, self._circumradii
        )[0]
        distance = np.linalg.norm(nearest - source_positions, axis=1)
        mean_edge = self._mean_edge
        if np.any(distance < 0.5 * mean_edge):
            warnings.warn(
                f"a source lies {distance.min() * 1000:.1f} mm from the surface, closer than half the mean "
                f"edge length ({mean_edge * 500:.1f} mm): the BEM potential is inaccurate there; refine the mesh",
                stacklevel=3,
            )
        infinite = _kernels.infinite_medium_lead_field_kernel(self._vertices, source_positions, self.sigma)
        return 2.0 * infinite.reshape(self.n_vertices, -1)

    def vertex_lead_field(self, source_positions: Any) -> np.ndarray:
        """Lead field at every mesh vertex, mV per mA*m, vertex-mean reference.

        Parameters
        ----------
        source_positions : (n_sources, 3) float, metres
            Dipole positions inside the surface.

        Returns
        -------
        lead_field : (n_vertices, n_sources, 3) float
            Potential at each vertex of a unit dipole along x, y, z at each source.
        """
        sources = as_points(source_positions, "source_positions")
        solution = self.solve(self._source_right_hand_sides(sources))
        solution -= solution.mean(axis=0, keepdims=True)
        return solution.reshape(self.n_vertices, len(sources), 3)

    def lead_field(self, points: Any, source_positions: Any, *, _source_name: str = "source_positions") -> np.ndarray:
        """Lead field at surface points, mV per mA*m, vertex-mean reference.

        ``lead_field[i, j] . p`` is the potential at ``points[i]`` of a dipole with moment ``p``
        (mA*m) at ``source_positions[j]``. The reference (one constant per source) is the mean
        potential over the mesh vertices; any lead (a difference of potentials) is free of it.
        Points are evaluated by the boundary integral itself (see :meth:`collocation_rows`).

        Parameters
        ----------
        points : (n_points, 3) float, metres
            Points on the surface (projected onto it if slightly off).
        source_positions : (n_sources, 3) float, metres
            Dipole positions inside the surface.

        Returns
        -------
        lead_field : (n_points, n_sources, 3) float
        """
        points = as_points(points, "points")
        sources = as_points(source_positions, "source_positions")
        vertex_rhs = self._source_right_hand_sides(sources, _source_name)
        if 3 * len(sources) <= len(points):
            # Fewer right-hand sides on the forward side: solve for the vertex potentials.
            rows, projected = self.collocation_rows(points)
            vertex_values = self.solve(vertex_rhs)
            surface = rows @ vertex_values - vertex_values.mean(axis=0, keepdims=True)
        else:
            transfer, projected = self.transfer_matrix(points)
            surface = transfer @ vertex_rhs
        direct = 2.0 * _kernels.infinite_medium_lead_field_kernel(projected, sources, self.sigma)
        result = direct + surface.reshape(len(points), len(sources), 3)
        if not np.all(np.isfinite(result)):
            raise RuntimeError("the BEM lead field has non-finite values; please report this mesh and these points")
        return result

    def potentials(self, points: Any, dipole_positions: Any, moments: Any) -> np.ndarray:
        """Potentials at surface points of dipoles, mV (vertex-mean reference).

        Parameters
        ----------
        points : (n_points, 3) float, metres
            Points on the surface.
        dipole_positions : (n_dipoles, 3) float, metres
            Dipole positions inside the surface.
        moments : (n_dipoles, 3) or (n_dipoles, 3, n_times) float, mA*m
            Dipole moments (a time course per dipole if 3-D).

        Returns
        -------
        potentials : (n_points,) or (n_points, n_times) float, mV
        """
        positions = as_points(dipole_positions, "dipole_positions")
        moments_array = as_finite_array(moments, "moments")
        time_course = moments_array.ndim == 3
        if moments_array.shape == (3,) and len(positions) == 1:
            moments_array = moments_array[None, :]
        if moments_array.ndim not in (2, 3) or moments_array.shape[:2] != (len(positions), 3):
            raise ValueError(
                f"moments must have shape ({len(positions)}, 3) or ({len(positions)}, 3, n_times) "
                f"for {len(positions)} dipole(s), got {moments_array.shape}"
            )
        lead_field = self.lead_field(points, positions, _source_name="dipole_positions")
        if time_course:
            return np.einsum("pdk,dkt->pt", lead_field, moments_array)
        return np.einsum("pdk,dk->p", lead_field, moments_array)


def _near_field_lists(
    observation_points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows of the triangles within ``ratio`` circumradii of each observation point."""
    if math.isinf(ratio):
        pointer = np.arange(len(observation_points) + 1, dtype=np.int64) * len(faces)
        return pointer, np.tile(np.arange(len(faces), dtype=np.int64), len(observation_points))
    corners = vertices[faces]
    centroids = np.ascontiguousarray(corners.mean(axis=1))
    circumradius = np.sqrt(((corners - centroids[:, None, :]) ** 2).sum(axis=2).max(axis=1))
    return _kernels.near_faces_kernel(
        np.ascontiguousarray(observation_points, dtype=np.float64), centroids, (ratio * circumradius) ** 2
    )


def _auto_solid_angle_correction(matrix: np.ndarray, faces: np.ndarray) -> None:
    """Complete each row to 2 pi: half of the missing solid angle on the diagonal, the rest
    shared by the neighbours (Hamalainen & Sarvas 1989, as in MNE-Python)."""
    n_vertices = len(matrix)
    missing = 2 * math.pi - matrix.sum(axis=1)
    members = np.bincount(faces.ravel(), minlength=n_vertices)
    matrix[np.arange(n_vertices), np.arange(n_vertices)] += missing / 2.0
    share = missing / (4.0 * members)
    for k in range(3):
        owner = faces[:, k]
        for other in ((k + 1) % 3, (k + 2) % 3):
            np.add.at(matrix, (owner, faces[:, other]), share[owner])


def _face_data(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit normals (n_faces, 3), twice the areas (n_faces,), vertex area vectors (n_vertices, 3)."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    cross = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    twice_areas = np.linalg.norm(cross, axis=1)
    normals = np.ascontiguousarray(cross / twice_areas[:, None])
    vertex_area_vectors = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(vertex_area_vectors, faces[:, k], cross / 6.0)  # A n / 3 with A n = cross / 2
    return normals, twice_areas, vertex_area_vectors


def assemble_system(
    mesh: trimesh.Trimesh, *, near_field_ratio: float = NEAR_FIELD_RATIO
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The deflated BEM matrix I - C / 2 pi + 1/n, (n_vertices, n_vertices).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed, outward-oriented surface, metres.
    near_field_ratio : float
        Analytic integration for triangles nearer than this many circumradii (inf: all).

    Returns
    -------
    system : (n_vertices, n_vertices) float
    face_data : tuple of ndarray
        Unit face normals, twice the face areas and vertex area vectors, for later rows.
    """
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    face_data = _face_data(mesh)
    pointer, near = _near_field_lists(vertices, vertices, faces, near_field_ratio)
    matrix = _kernels.linear_collocation_kernel(vertices, vertices, faces, *face_data, pointer, near)
    _auto_solid_angle_correction(matrix, faces)
    matrix *= -1.0 / (2 * math.pi)
    matrix += 1.0 / len(vertices)
    matrix[np.diag_indices_from(matrix)] += 1.0
    return matrix, face_data


def make_bem(
    torso_or_mesh: Any,
    *,
    sigma: float = 0.2,
    solver: str = "auto",
    near_field_ratio: float = NEAR_FIELD_RATIO,
    tolerance: float = 1e-9,
) -> BoundaryElementModel:
    """Build and factorise the BEM of a homogeneous conductor bounded by a closed surface.

    Parameters
    ----------
    torso_or_mesh : geometry.Torso or trimesh.Trimesh
        Closed, outward-oriented surface in metres.
    sigma : float
        Conductivity inside, S/m (0.2 S/m is a typical homogeneous torso value).
    solver : {"auto", "lu", "gmres"}
        "lu" factorises once (O(n^3)); "gmres" solves by block GMRES on demand (O(n^2) per
        iteration, many right-hand sides at once); "auto" uses LU up to
        ``LU_VERTEX_LIMIT`` vertices.
    near_field_ratio : float
        Triangles nearer than this many circumradii to an observation vertex are integrated
        analytically, farther ones lumped onto their corners; ``math.inf`` integrates all.
    tolerance : float
        Relative residual for the GMRES solver.

    Returns
    -------
    bem : BoundaryElementModel

    Examples
    --------
    >>> import trimesh
    >>> bem = make_bem(trimesh.creation.icosphere(subdivisions=3, radius=0.1), sigma=0.2)
    >>> bem.lead_field([[0, 0, 0.1]], [[0, 0, 0.05]]).shape
    (1, 1, 3)
    """
    mesh = mesh_from(torso_or_mesh)
    if not isinstance(torso_or_mesh, Torso):  # a Torso was checked when it was built
        check_torso_size(mesh.vertices, name="mesh")  # metres: a mesh in mm would make a 1000x torso
    sigma = as_positive_scalar(sigma, "sigma", "S/m")
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    if not (near_field_ratio >= 1.0):
        raise ValueError(f"near_field_ratio must be >= 1 (or math.inf), got {near_field_ratio}")
    if solver == "auto":
        solver = "lu" if len(mesh.vertices) <= LU_VERTEX_LIMIT else "gmres"
    system, face_data = assemble_system(mesh, near_field_ratio=near_field_ratio)
    return BoundaryElementModel(mesh, sigma, system, face_data, solver, tolerance, near_field_ratio)
