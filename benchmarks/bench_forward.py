"""Benchmarks of the forward model: BEM build + electrode transfer, and infinite-medium kernels.

Run with ``python -m pytest benchmarks -q --benchmark-only`` (see README.md). Accuracy and
reference numbers go to ``benchmark.extra_info`` (shown with ``--benchmark-json``); a short summary
is printed with ``-s``.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from forward import fibonacci_sphere, infinite_medium_lead_field, infinite_medium_potential, make_bem, sphere_potential

RADIUS = 0.1
SIGMA = 0.2
N_ELECTRODES = 256

#: MNE-Python's BEM (linear collocation) build + 256-electrode transfer on the same icospheres,
#: seconds, as measured for the issue.
MNE_SECONDS = {642: 0.32, 2562: 4.3, 10242: 98.0}


@pytest.fixture(scope="module", autouse=True)
def warm_up_numba():
    """Load or compile every Numba kernel (and both solver paths) outside the timings."""
    mesh = trimesh.creation.icosphere(subdivisions=1, radius=RADIUS)
    electrodes = fibonacci_sphere(16, radius=RADIUS)
    for solver in ("lu", "gmres"):
        bem = make_bem(mesh, sigma=SIGMA, solver=solver)
        bem.transfer_matrix(electrodes)
        bem.lead_field(electrodes, [[0.0, 0.0, 0.02]])
    infinite_medium_potential(electrodes, [[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]], sigma=SIGMA)
    infinite_medium_lead_field(electrodes, [[0.0, 0.0, 0.0]], sigma=SIGMA)


def sphere_accuracy(bem, transfer: np.ndarray, projected: np.ndarray, electrodes: np.ndarray, eccentricity: float):
    """Mean RDM and MAG of the timed transfer matrix against the analytic sphere, 10 random
    positions x 3 orthogonal moments, both average-referenced over the electrodes."""
    directions = np.random.default_rng(int(eccentricity * 10)).normal(size=(10, 3))
    positions = eccentricity * RADIUS * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    vertex_rhs = 2 * infinite_medium_lead_field(bem.mesh.vertices, positions, sigma=SIGMA).reshape(bem.n_vertices, -1)
    direct = 2 * infinite_medium_lead_field(projected, positions, sigma=SIGMA).reshape(len(projected), -1)
    u = direct + transfer @ vertex_rhs
    v = np.column_stack(
        [sphere_potential(electrodes, x, e, radius=RADIUS, sigma=SIGMA) for x in positions for e in np.eye(3)]
    )
    u = u - u.mean(axis=0)
    v = v - v.mean(axis=0)
    rdm = np.linalg.norm(u / np.linalg.norm(u, axis=0) - v / np.linalg.norm(v, axis=0), axis=0)
    mag = np.linalg.norm(u, axis=0) / np.linalg.norm(v, axis=0)
    return float(rdm.mean()), float(mag.mean())


def median_seconds(benchmark) -> float | None:
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else float(stats.stats.median)


@pytest.mark.parametrize("subdivisions", [3, 4, 5], ids=["642", "2562", "10242"])
def test_bem_build_and_transfer(benchmark, subdivisions):
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=RADIUS)
    electrodes = fibonacci_sphere(N_ELECTRODES, radius=RADIUS)
    n_vertices = len(mesh.vertices)

    def build_and_transfer():
        bem = make_bem(mesh, sigma=SIGMA)
        transfer, projected = bem.transfer_matrix(electrodes)
        return bem, transfer, projected

    bem, transfer, projected = benchmark.pedantic(
        build_and_transfer, rounds=1 if n_vertices > 5000 else 3, iterations=1
    )
    assert transfer.shape == (N_ELECTRODES, n_vertices)
    info = benchmark.extra_info
    info["n_vertices"] = n_vertices
    info["n_electrodes"] = N_ELECTRODES
    info["solver"] = bem.solver
    for eccentricity in (0.5, 0.8):
        rdm, mag = sphere_accuracy(bem, transfer, projected, electrodes, eccentricity)
        info[f"rdm_percent_at_{eccentricity}"] = round(100 * rdm, 4)
        info[f"mag_at_{eccentricity}"] = round(mag, 5)
    info["mne_seconds"] = MNE_SECONDS[n_vertices]
    median = median_seconds(benchmark)
    if median is not None:
        info["speedup_vs_mne"] = round(MNE_SECONDS[n_vertices] / median, 2)
    print(f"\n{n_vertices} vertices: {info}")


def _report_pairs(benchmark, name, pairs):
    """Record the observer-source pairs and pairs per second of a throughput benchmark, and print them."""
    benchmark.extra_info["pairs"] = pairs
    median = median_seconds(benchmark)
    if median is not None:
        benchmark.extra_info["pairs_per_second"] = float(f"{pairs / median:.3g}")
    print(f"\n{name}: {benchmark.extra_info}")


def test_infinite_medium_potential_throughput(benchmark):
    rng = np.random.default_rng(0)
    points = rng.normal(scale=0.2, size=(10_000, 3))
    positions = rng.normal(scale=0.02, size=(10_000, 3))
    moments = rng.normal(size=(10_000, 3))
    result = benchmark.pedantic(
        infinite_medium_potential, args=(points, positions, moments), kwargs={"sigma": SIGMA}, rounds=5, iterations=1
    )
    assert result.shape == (10_000,) and np.all(np.isfinite(result))
    _report_pairs(benchmark, "infinite_medium_potential", len(points) * len(positions))


def test_infinite_medium_lead_field_throughput(benchmark):
    rng = np.random.default_rng(1)
    points = rng.normal(scale=0.2, size=(2_000, 3))
    sources = rng.normal(scale=0.02, size=(5_000, 3))
    result = benchmark.pedantic(
        infinite_medium_lead_field, args=(points, sources), kwargs={"sigma": SIGMA}, rounds=5, iterations=1
    )
    assert result.shape == (2_000, 5_000, 3)
    _report_pairs(benchmark, "infinite_medium_lead_field", len(points) * len(sources))
