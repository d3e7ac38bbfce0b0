"""Tests of forward.bem: the single-compartment BEM against the analytic sphere, and its
internal consistency (solvers, reciprocity, near-field lumping, linearity, reference, symmetry,
scaling) and input checks.

RDM = || u/|u| - v/|v| ||, MAG = |u| / |v| with u the BEM and v the analytic potentials, both
average-referenced over the electrodes (the measures used by MNE-Python's BEM tests).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import trimesh

from forward import BoundaryElementModel, fibonacci_sphere, make_bem, sphere_potential

RADIUS = 0.1
SIGMA = 0.2


def rdm_mag(bem_potentials: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise RDM and MAG of (n_electrodes, k) arrays, after average referencing."""
    u = bem_potentials - bem_potentials.mean(axis=0, keepdims=True)
    v = exact - exact.mean(axis=0, keepdims=True)
    norm_u = np.linalg.norm(u, axis=0)
    norm_v = np.linalg.norm(v, axis=0)
    return np.linalg.norm(u / norm_u - v / norm_v, axis=0), norm_u / norm_v


def random_directions(n: int, seed: int) -> np.ndarray:
    directions = np.random.default_rng(seed).normal(size=(n, 3))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="module")
def sphere4() -> BoundaryElementModel:
    return make_bem(trimesh.creation.icosphere(subdivisions=4, radius=RADIUS), sigma=SIGMA)


@pytest.fixture(scope="module")
def sphere3_mesh() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=3, radius=RADIUS)


@pytest.fixture(scope="module")
def sphere3(sphere3_mesh) -> BoundaryElementModel:
    return make_bem(sphere3_mesh, sigma=SIGMA, solver="lu")


@pytest.fixture(scope="module")
def electrodes() -> np.ndarray:
    return fibonacci_sphere(256, radius=RADIUS)


@pytest.fixture(scope="module")
def sources() -> np.ndarray:
    """12 sources at eccentricities 0.2 to 0.7, fixed seed."""
    eccentricity = np.linspace(0.2, 0.7, 12)[:, None]
    return eccentricity * RADIUS * random_directions(12, seed=11)


# -- the sphere test ------------------------------------------------------------------------------


@pytest.mark.parametrize("eccentricity, max_mean_rdm", [(0.5, 0.003), (0.8, 0.015)])
def test_sphere_against_analytic(sphere4, electrodes, eccentricity, max_mean_rdm):
    """icosphere(subdivisions=4, radius=0.1 m), 2562 vertices; 256 Fibonacci electrodes (not at
    vertices); 10 random dipole positions at the given eccentricity, three orthogonal moments each.
    MNE-Python's linear-collocation BEM reaches mean RDM 0.18 % (0.5) and 1.5 % (0.8) here."""
    assert sphere4.n_vertices == 2562
    positions = eccentricity * RADIUS * random_directions(10, seed=int(eccentricity * 10))
    lead_field = sphere4.lead_field(electrodes, positions)
    assert lead_field.shape == (256, 10, 3)
    exact = np.stack(
        [
            np.stack([sphere_potential(electrodes, x, e, radius=RADIUS, sigma=SIGMA) for e in np.eye(3)], axis=1)
            for x in positions
        ],
        axis=1,
    )
    rdm, mag = rdm_mag(lead_field.reshape(256, -1), exact.reshape(256, -1))
    print(
        f"\neccentricity {eccentricity}: RDM mean {100 * rdm.mean():.3f} % (max {100 * rdm.max():.3f} %), "
        f"MAG mean {mag.mean():.4f} (range {mag.min():.4f}-{mag.max():.4f})"
    )
    assert rdm.mean() <= max_mean_rdm
    assert abs(mag.mean() - 1.0) <= 0.02
    assert np.all(np.abs(mag - 1.0) <= 0.02)


def test_centred_source_lead_field(sphere4, electrodes):
    # A dipole at the centre of a sphere: V = 3 p . r_hat / (4 pi sigma R^2) (zero-mean already).
    lead_field = sphere4.lead_field(electrodes, [0.0, 0.0, 0.0])[:, 0, :]
    expected = 3.0 * (electrodes / RADIUS) / (4 * math.pi * SIGMA * RADIUS**2)
    assert relative_difference(lead_field, expected) <= 0.01


def test_sphere_error_shrinks_with_refinement(sphere3, sphere4, electrodes):
    positions = 0.6 * RADIUS * random_directions(4, seed=3)
    exact = np.stack(
        [sphere_potential(electrodes, x, e, radius=RADIUS, sigma=SIGMA) for x in positions for e in np.eye(3)], axis=1
    )
    coarse, _ = rdm_mag(sphere3.lead_field(electrodes, positions).reshape(256, -1), exact)
    fine, _ = rdm_mag(sphere4.lead_field(electrodes, positions).reshape(256, -1), exact)
    assert fine.mean() < 0.5 * coarse.mean()


# -- internal consistency -------------------------------------------------------------------------


def test_lu_and_gmres_agree(sphere3_mesh, sphere3, electrodes, sources):
    gmres = make_bem(sphere3_mesh, sigma=SIGMA, solver="gmres")
    assert gmres.solver == "gmres" and "gmres" in repr(gmres)
    # Forward path (3 * 12 sources <= 256 points) and transfer (transposed) path.
    for points in (electrodes, electrodes[:5]):
        lu_field = sphere3.lead_field(points, sources)
        gmres_field = gmres.lead_field(points, sources)
        assert relative_difference(gmres_field, lu_field) <= 1e-7
    np.testing.assert_allclose(gmres.vertex_lead_field(sources), sphere3.vertex_lead_field(sources), rtol=0,
                               atol=1e-7 * np.abs(sphere3.vertex_lead_field(sources)).max())


def test_forward_and_transfer_paths_agree(sphere3, electrodes, sources, monkeypatch):
    """Reciprocity: solving for the vertex potentials of each source (forward) and solving the
    transposed system for each electrode's transfer row (adjoint) give the same lead field."""
    points = electrodes[:40]
    calls = []
    original = sphere3.transfer_matrix

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sphere3, "transfer_matrix", spy)
    few_sources = sphere3.lead_field(points, sources[:3])  # 9 right-hand sides <= 40 points
    assert not calls
    few_points = sphere3.lead_field(points[:3], sources)  # 36 > 3 points: transfer path
    assert calls
    np.testing.assert_allclose(few_points[:, :3], few_sources[:3], rtol=0, atol=1e-9 * np.abs(few_sources).max())
    # And the transfer matrix reproduces the lead field as documented:
    # V = 2 v_inf(projected) + transfer @ (2 v_inf(vertices)).
    from forward import infinite_medium_lead_field

    transfer, projected = original(points[:3])
    vertex_rhs = 2 * infinite_medium_lead_field(sphere3.mesh.vertices, sources, sigma=SIGMA).reshape(sphere3.n_vertices, -1)
    direct = 2 * infinite_medium_lead_field(projected, sources, sigma=SIGMA).reshape(3, -1)
    np.testing.assert_allclose((direct + transfer @ vertex_rhs).reshape(3, -1, 3), few_points, rtol=1e-10,
                               atol=1e-10 * np.abs(few_points).max())


def test_all_analytic_near_field_agrees_with_default(sphere3_mesh, sphere3, electrodes, sources):
    analytic = make_bem(sphere3_mesh, sigma=SIGMA, near_field_ratio=math.inf)
    assert math.isinf(analytic.near_field_ratio)
    default = sphere3.lead_field(electrodes, sources).reshape(256, -1)
    everything = analytic.lead_field(electrodes, sources).reshape(256, -1)
    rdm, mag = rdm_mag(everything, default)
    assert rdm.max() <= 0.005
    assert np.all(np.abs(mag - 1) <= 0.01)
    assert rdm.max() > 1e-8  # the two really differ (lumping is an approximation)


def test_potentials_are_linear_in_the_moments(sphere3, electrodes, sources):
    rng = np.random.default_rng(12)
    positions = sources[:2]
    moments = rng.normal(size=(2, 3))
    lead_field = sphere3.lead_field(electrodes, positions)
    both = sphere3.potentials(electrodes, positions, moments)
    assert both.shape == (256,)
    np.testing.assert_allclose(both, np.einsum("pdk,dk->p", lead_field, moments), rtol=1e-12,
                               atol=1e-12 * np.abs(both).max())
    first = sphere3.potentials(electrodes, positions[0], moments[0])
    second = sphere3.potentials(electrodes, positions[1:], moments[1:])
    np.testing.assert_allclose(both, first + second, rtol=0, atol=1e-10 * np.abs(both).max())
    np.testing.assert_allclose(sphere3.potentials(electrodes, positions, -3 * moments), -3 * both, rtol=1e-12,
                               atol=1e-12 * np.abs(both).max())
    # A time course: (n_dipoles, 3, n_times) -> (n_points, n_times), column t linear in p(t).
    course = moments[:, :, None] * np.array([0.0, 0.5, 1.0, -2.0])
    over_time = sphere3.potentials(electrodes, positions, course)
    assert over_time.shape == (256, 4)
    np.testing.assert_allclose(over_time, both[:, None] * np.array([0.0, 0.5, 1.0, -2.0]), rtol=1e-12,
                               atol=1e-12 * np.abs(both).max())


def test_vertex_lead_field_has_zero_vertex_mean(sphere3, sources):
    vertex_field = sphere3.vertex_lead_field(sources)
    assert vertex_field.shape == (sphere3.n_vertices, len(sources), 3)
    scale = np.abs(vertex_field).max()
    np.testing.assert_allclose(vertex_field.mean(axis=0), 0.0, atol=1e-12 * scale)


def test_reference_does_not_depend_on_the_points_requested(sphere3, electrodes, sources):
    # The reference is the vertex mean, not the mean over the requested points: a point's lead
    # field is the same whichever other points are requested with it, and differences between
    # points (leads) are the same too.
    full = sphere3.lead_field(electrodes, sources)
    order = np.random.default_rng(13).permutation(256)[:50]
    subset = sphere3.lead_field(electrodes[order], sources)
    np.testing.assert_allclose(subset, full[order], rtol=0, atol=1e-10 * np.abs(full).max())
    # At the vertices, the Nystrom rows agree with the collocation solution up to the
    # discretisation (the auto-solid-angle completion differs), and leads agree the same way.
    vertices = sphere3.mesh.vertices
    at_vertices = sphere3.lead_field(vertices, sources[:4])
    vertex_field = sphere3.vertex_lead_field(sources[:4])
    assert relative_difference(at_vertices, vertex_field) <= 0.02
    lead = at_vertices[10] - at_vertices[500]
    np.testing.assert_allclose(lead, vertex_field[10] - vertex_field[500], rtol=0, atol=0.02 * np.abs(lead).max())


# -- a non-spherical conductor --------------------------------------------------------------------

AXES = np.array([0.15, 0.11, 0.08])


@pytest.fixture(scope="module")
def ellipsoid() -> BoundaryElementModel:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    mesh.vertices = mesh.vertices * AXES  # symmetric under x, y and z mirroring (so is the icosphere)
    return make_bem(mesh, sigma=SIGMA)


def surface_points(mesh: trimesh.Trimesh, n: int, seed: int) -> np.ndarray:
    raw = random_directions(n, seed) * AXES
    return trimesh.proximity.closest_point(mesh, raw)[0]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_ellipsoid_mirror_symmetry(ellipsoid, axis):
    mirror = np.ones(3)
    mirror[axis] = -1.0
    points = surface_points(ellipsoid.mesh, 60, seed=20 + axis)
    positions = np.array([[0.05, 0.02, -0.01], [-0.03, 0.04, 0.03]])
    moment = np.array([[0.3, -0.7, 0.5], [1.0, 0.2, -0.4]])
    original = ellipsoid.potentials(points, positions, moment)
    # A current dipole is a polar vector: mirrored position, mirrored moment, mirrored points.
    mirrored = ellipsoid.potentials(points * mirror, positions * mirror, moment * mirror)
    np.testing.assert_allclose(mirrored, original, rtol=0, atol=1e-9 * np.abs(original).max())
    # A dipole in the mirror plane pointing across it gives a potential odd under the mirror.
    in_plane = np.array([0.04, -0.03, 0.02]) * np.where(mirror < 0, 0.0, 1.0)
    across = np.eye(3)[axis]
    odd = ellipsoid.potentials(points, in_plane, across)
    odd_mirrored = ellipsoid.potentials(points * mirror, in_plane, across)
    np.testing.assert_allclose(odd_mirrored, -odd, rtol=0, atol=1e-9 * np.abs(odd).max())
    assert np.abs(odd).max() > 1.0  # not trivially zero (mV per mA*m)


def test_ellipsoid_rotation_covariance(ellipsoid):
    rotation = trimesh.transformations.rotation_matrix(0.9, [1.0, -2.0, 0.5])
    rotated_mesh = ellipsoid.mesh.copy().apply_transform(rotation)
    rotated = make_bem(rotated_mesh, sigma=SIGMA)
    matrix = rotation[:3, :3]
    points = surface_points(ellipsoid.mesh, 40, seed=30)
    positions = np.array([[0.05, 0.02, -0.01], [-0.06, -0.03, 0.02]])
    field = ellipsoid.lead_field(points, positions)
    rotated_field = rotated.lead_field(points @ matrix.T, positions @ matrix.T)
    np.testing.assert_allclose(rotated_field, field @ matrix.T, rtol=0, atol=1e-8 * np.abs(field).max())


def test_ellipsoid_differs_from_sphere_and_from_infinite_medium(ellipsoid):
    # The shape matters: along the long axis the same dipole gives a different potential than
    # along the short one, scaled beyond the infinite-medium 1/r^2 ratio. (Guards against a BEM
    # that ignores the boundary.)
    from forward import infinite_medium_potential

    tips = np.array([[AXES[0], 0, 0], [-AXES[0], 0, 0]])
    field = ellipsoid.lead_field(tips, [0.0, 0.0, 0.0])[:, 0, 0]
    lead = field[0] - field[1]
    infinite = infinite_medium_potential(tips, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], sigma=SIGMA)
    assert lead > 1.2 * (infinite[0] - infinite[1])


# -- scaling --------------------------------------------------------------------------------------


def test_conductivity_scaling(sphere3_mesh, sphere3, electrodes, sources):
    doubled = make_bem(sphere3_mesh, sigma=2 * SIGMA)
    base = sphere3.lead_field(electrodes[:20], sources)
    np.testing.assert_allclose(doubled.lead_field(electrodes[:20], sources), base / 2, rtol=1e-10,
                               atol=1e-12 * np.abs(base).max())


def test_geometry_scaling(ellipsoid):
    s = 1.7
    scaled = make_bem(ellipsoid.mesh.copy().apply_scale(s), sigma=SIGMA)
    points = surface_points(ellipsoid.mesh, 30, seed=40)
    positions = np.array([[0.05, 0.02, -0.01], [-0.06, -0.03, 0.02], [0.0, 0.0, 0.0]])
    base = ellipsoid.lead_field(points, positions)
    np.testing.assert_allclose(scaled.lead_field(s * points, s * positions), base / s**2, rtol=0,
                               atol=1e-9 * np.abs(base).max())


# -- bad input ------------------------------------------------------------------------------------


def test_open_mesh_is_refused(sphere3_mesh):
    holed = trimesh.Trimesh(sphere3_mesh.vertices, sphere3_mesh.faces[1:], process=False)
    with pytest.raises(ValueError, match="watertight"):
        make_bem(holed)


def test_inverted_mesh_is_refused(sphere3_mesh):
    inverted = trimesh.Trimesh(sphere3_mesh.vertices, sphere3_mesh.faces[:, ::-1], process=False)
    with pytest.raises(ValueError, match="outward"):
        make_bem(inverted)


def test_inconsistent_winding_is_refused(sphere3_mesh):
    faces = sphere3_mesh.faces.copy()
    faces[0] = faces[0, ::-1]
    with pytest.raises(ValueError, match="consistent"):
        make_bem(trimesh.Trimesh(sphere3_mesh.vertices, faces, process=False))


def test_non_mesh_is_refused():
    with pytest.raises(TypeError, match="torso_or_mesh"):
        make_bem(np.zeros((4, 3)))


@pytest.mark.parametrize("sigma, exception", [(0.0, ValueError), (-0.2, ValueError), (math.nan, ValueError),
                                              (math.inf, ValueError), ("a", TypeError)])
def test_bad_sigma_is_refused(sphere3_mesh, sigma, exception):
    with pytest.raises(exception, match="sigma"):
        make_bem(sphere3_mesh, sigma=sigma)


def test_bad_solver_and_near_field_ratio_are_refused(sphere3_mesh):
    with pytest.raises(ValueError, match="solver"):
        make_bem(sphere3_mesh, solver="cholesky")
    with pytest.raises(ValueError, match="near_field_ratio"):
        make_bem(sphere3_mesh, near_field_ratio=0.5)
    with pytest.raises(ValueError, match="near_field_ratio"):
        make_bem(sphere3_mesh, near_field_ratio=math.nan)


def test_sources_outside_are_refused(sphere3, electrodes):
    outside = [[0.0, 0.0, 0.01], [0.0, 0.0, 0.15]]
    with pytest.raises(ValueError, match=r"source_positions\[1\]"):
        sphere3.lead_field(electrodes, outside)
    with pytest.raises(ValueError, match="source_positions"):
        sphere3.vertex_lead_field(outside)
    with pytest.raises(ValueError, match="source_positions"):
        sphere3.lead_field(electrodes, [[0.0, np.nan, 0.0]])


def test_bad_points_are_refused(sphere3):
    with pytest.raises(ValueError, match="points"):
        sphere3.lead_field([[0.1, 0.0, np.nan]], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="points"):
        sphere3.lead_field(np.zeros((5, 2)), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="points"):
        sphere3.transfer_matrix(np.zeros((5, 2)))


def test_bad_moments_are_refused(sphere3, electrodes):
    with pytest.raises(ValueError, match="moments"):
        sphere3.potentials(electrodes, [[0.0, 0.0, 0.0]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="moments"):
        sphere3.potentials(electrodes, [[0.0, 0.0, 0.0]], [[1.0, np.nan, 0.0]])


def test_single_moment_for_several_dipoles_is_refused(sphere3, electrodes):
    with pytest.raises(ValueError, match="moments"):
        sphere3.potentials(electrodes, [[0.0, 0.0, 0.0], [0.01, 0.0, 0.0]], [1.0, 0.0, 0.0])


def test_warnings_for_shallow_sources_and_far_points(sphere3, electrodes):
    with pytest.warns(UserWarning, match="mm from the surface"):
        sphere3.lead_field(electrodes, [0.0, 0.0, 0.0995])
    with pytest.warns(UserWarning, match="projected"):
        sphere3.lead_field([[0.0, 0.0, 0.15]], [0.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sphere3.lead_field(electrodes, [0.0, 0.0, 0.05])  # no warning for ordinary input


def test_points_on_edges_and_vertices_give_finite_smooth_values(sphere3):
    """Electrodes exactly on a triangle edge or vertex (regression: NaN from log(0) in the edge
    integral of the neighbouring triangle)."""
    bem = sphere3
    mesh = bem.mesh
    edge = mesh.edges_unique[0]
    on_edge = mesh.vertices[edge].mean(axis=0)
    on_vertex = mesh.vertices[edge[0]]
    nearby = on_edge + 1e-4 * (mesh.vertices[edge[1]] - mesh.vertices[edge[0]])
    field = bem.lead_field(np.array([on_edge, on_vertex, nearby]), np.array([[0.0, 0.0, 0.02]]))
    assert np.all(np.isfinite(field))
    assert np.allclose(field[0], field[2], rtol=1e-2, atol=1e-6 * np.abs(field).max())


def test_make_bem_rejects_a_mesh_in_millimetres_given_as_metres() -> None:
    """A 0.2 m sphere given in mm as metres (200 m radius) is no torso: a clear error, not a BEM."""
    with pytest.raises(ValueError, match="400 m across"):
        make_bem(trimesh.creation.icosphere(subdivisions=2, radius=200.0))
