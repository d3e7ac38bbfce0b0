"""Tests of forward.analytic: infinite-medium and homogeneous-sphere dipole potentials.

The sphere solution is checked against limits and an independent Legendre-series evaluation;
the infinite-medium potential against hand-computed values and its symmetries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from forward import fibonacci_sphere, infinite_medium_lead_field, infinite_medium_potential, sphere_potential

RADIUS = 0.1
SIGMA = 0.2


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=float)
    return vector / np.linalg.norm(vector)


def relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


# -- homogeneous sphere ---------------------------------------------------------------------------


def centred_dipole(points: np.ndarray, moment: np.ndarray, radius: float, sigma: float, center=np.zeros(3)) -> np.ndarray:
    r_hat = (points - center) / radius
    return 3.0 * (r_hat @ moment) / (4 * math.pi * sigma * radius**2)


@pytest.mark.parametrize("center", [(0.0, 0.0, 0.0), (0.02, -0.05, 0.3)])
def test_sphere_centred_dipole_limit(center):
    center = np.asarray(center)
    points = fibonacci_sphere(500, radius=RADIUS, center=center)
    moment = np.array([0.3, -1.2, 0.7])
    expected = centred_dipole(points, moment, RADIUS, SIGMA, center)
    exact = sphere_potential(points, center, moment, radius=RADIUS, sigma=SIGMA, center=center)
    assert relative_difference(exact, expected) <= 1e-12
    # A tiny eccentricity changes the potential by O(eccentricity).
    offset = center + 1e-6 * RADIUS * unit([1.0, 2.0, -0.5])
    nearly = sphere_potential(points, offset, moment, radius=RADIUS, sigma=SIGMA, center=center)
    assert relative_difference(nearly, expected) <= 1e-5


def legendre_and_derivative(x: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """P_l(x) and P_l'(x) for l = 0..degree, shape (degree + 1, n), by the three-term recurrences."""
    p = np.zeros((degree + 1, len(x)))
    dp = np.zeros((degree + 1, len(x)))
    p[0] = 1.0
    p[1] = x
    dp[1] = 1.0
    for l in range(1, degree):
        p[l + 1] = ((2 * l + 1) * x * p[l] - l * p[l - 1]) / (l + 1)
        dp[l + 1] = dp[l - 1] + (2 * l + 1) * p[l]
    return p, dp


def legendre_series_dipole(points, position, moment, radius, sigma, degree=500) -> np.ndarray:
    """Independent evaluation: the surface potential of a unit source at r0 in an insulated sphere
    is G = 1/(4 pi sigma) sum_{l>=1} (2l+1)/l r0^l P_l(cos gamma) / R^(l+1) (the l = 0 term is the
    reference); the dipole potential is p . grad_{r0} G, differentiated analytically:
    grad(r0^l P_l(r_hat . r0_hat)) = l r0^(l-1) P_l r0_hat + r0^(l-1) P_l' (r_hat - cos gamma r0_hat).
    """
    r_hat = points / np.linalg.norm(points, axis=1, keepdims=True)
    r0 = np.linalg.norm(position)
    r0_hat = position / r0
    cos_gamma = np.clip(r_hat @ r0_hat, -1.0, 1.0)
    p, dp = legendre_and_derivative(cos_gamma, degree)
    radial = np.zeros(len(points))  # coefficient of r0_hat . moment
    tangential = np.zeros(len(points))  # coefficient of (r_hat - cos_gamma r0_hat) . moment
    for l in range(1, degree + 1):
        factor = (2 * l + 1) / l * (r0 / radius) ** (l - 1) / radius**2
        radial += factor * l * p[l]
        tangential += factor * dp[l]
    tangent_moment = r_hat @ moment - cos_gamma * (r0_hat @ moment)
    return (radial * (r0_hat @ moment) + tangential * tangent_moment) / (4 * math.pi * sigma)


@pytest.mark.parametrize("eccentricity", [0.1, 0.3, 0.5, 0.7, 0.8, 0.9])
def test_sphere_matches_legendre_series(eccentricity):
    rng = np.random.default_rng(int(eccentricity * 100))
    points = fibonacci_sphere(400, radius=RADIUS)
    for _ in range(3):
        position = eccentricity * RADIUS * unit(rng.normal(size=3))
        moment = rng.normal(size=3)
        closed = sphere_potential(points, position, moment, radius=RADIUS, sigma=SIGMA)
        series = legendre_series_dipole(points, position, moment, RADIUS, SIGMA)
        assert relative_difference(closed, series) <= 1e-9


def test_legendre_series_checker_is_itself_sensitive():
    # The series check would notice a wrong radial term: drop the reflected part and it fails.
    points = fibonacci_sphere(200, radius=RADIUS)
    position = np.array([0.0, 0.05, 0.0])
    moment = np.array([0.0, 1.0, 0.0])
    series = legendre_series_dipole(points, position, moment, RADIUS, SIGMA)
    infinite = infinite_medium_potential(points, position, moment, sigma=SIGMA)
    assert relative_difference(infinite, series) > 0.1


@pytest.mark.parametrize("eccentricity", [0.0, 0.5, 0.9])
def test_sphere_potential_has_zero_mean(eccentricity):
    points = fibonacci_sphere(20000, radius=RADIUS)
    position = eccentricity * RADIUS * unit([0.6, 0.8, -0.3])
    potential = sphere_potential(points, position, [0.3, -1.0, 0.5], radius=RADIUS, sigma=SIGMA)
    assert abs(potential.mean()) <= 1e-5 * np.max(np.abs(potential))


def test_sphere_linearity_and_superposition():
    rng = np.random.default_rng(7)
    points = fibonacci_sphere(300, radius=RADIUS)
    positions = rng.uniform(-0.04, 0.04, size=(4, 3))
    moments = rng.normal(size=(4, 3))
    one = sphere_potential(points, positions[0], moments[0], radius=RADIUS, sigma=SIGMA)
    scaled = sphere_potential(points, positions[0], -2.5 * moments[0], radius=RADIUS, sigma=SIGMA)
    np.testing.assert_allclose(scaled, -2.5 * one, rtol=1e-12, atol=1e-12 * np.abs(one).max())
    # Moment components add.
    parts = sum(
        sphere_potential(points, positions[0], moments[0][k] * np.eye(3)[k], radius=RADIUS, sigma=SIGMA)
        for k in range(3)
    )
    np.testing.assert_allclose(parts, one, rtol=1e-12, atol=1e-12 * np.abs(one).max())
    # Several dipoles at once are the sum of each.
    together = sphere_potential(points, positions, moments, radius=RADIUS, sigma=SIGMA)
    separate = sum(sphere_potential(points, x, p, radius=RADIUS, sigma=SIGMA) for x, p in zip(positions, moments))
    np.testing.assert_allclose(together, separate, rtol=1e-12, atol=1e-12 * np.abs(separate).max())


def test_sphere_conductivity_and_size_scaling():
    points = fibonacci_sphere(200, radius=RADIUS)
    position = np.array([0.02, -0.03, 0.04])
    moment = np.array([1.0, 0.5, -0.2])
    base = sphere_potential(points, position, moment, radius=RADIUS, sigma=SIGMA)
    thrice = sphere_potential(points, position, moment, radius=RADIUS, sigma=3 * SIGMA)
    np.testing.assert_allclose(thrice, base / 3, rtol=1e-12, atol=1e-13 * np.abs(base).max())
    # Scaling the geometry by s scales a dipole potential by 1 / s^2.
    s = 2.5
    scaled = sphere_potential(s * points, s * position, moment, radius=s * RADIUS, sigma=SIGMA)
    np.testing.assert_allclose(scaled, base / s**2, rtol=1e-10, atol=1e-12 * np.abs(base).max())


def test_sphere_rotation_invariance():
    angle = 0.7
    rotation = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
    points = fibonacci_sphere(200, radius=RADIUS)
    position = np.array([0.05, 0.01, -0.02])
    moment = np.array([0.2, -1.0, 0.4])
    base = sphere_potential(points, position, moment, radius=RADIUS, sigma=SIGMA)
    rotated = sphere_potential(points @ rotation.T, rotation @ position, rotation @ moment, radius=RADIUS, sigma=SIGMA)
    np.testing.assert_allclose(rotated, base, rtol=1e-11, atol=1e-12 * np.abs(base).max())


def test_sphere_is_larger_than_infinite_medium_near_the_source():
    # The insulating boundary roughly doubles the infinite-medium potential nearest a shallow source
    # (the 2 V_inf term of the boundary equation).
    points = fibonacci_sphere(2000, radius=RADIUS)
    position = np.array([0.0, 0.0, 0.09])
    moment = np.array([0.0, 0.0, 1.0])
    bounded = sphere_potential(points, position, moment, radius=RADIUS, sigma=SIGMA)
    infinite = infinite_medium_potential(points, position, moment, sigma=SIGMA)
    top = np.argmax(points[:, 2])
    assert 1.9 < bounded[top] / infinite[top] < 2.2


# -- infinite medium ------------------------------------------------------------------------------


def test_infinite_medium_closed_form_by_hand():
    sigma = 0.2
    # p = 1 mA*m along x at the origin, seen 10 cm along x: 0.1 / (4 pi 0.2 0.1^3) = 39.7887 mV.
    v = infinite_medium_potential([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], sigma=sigma)
    np.testing.assert_allclose(v, [39.78873577297384], rtol=1e-13)
    # Perpendicular to the moment: zero.
    v = infinite_medium_potential([0.0, 0.1, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], sigma=sigma)
    np.testing.assert_allclose(v, [0.0], atol=1e-15)
    # Off-origin dipole, oblique point: r - r0 = (0.03, -0.04, 0.12), |.| = 0.13,
    # p.(r - r0) = 2*0.03 + 1*(-0.04) + 0.5*0.12 = 0.08, V = 0.08 / (4 pi 0.2 0.13^3).
    v = infinite_medium_potential([0.04, -0.02, 0.13], [0.01, 0.02, 0.01], [2.0, 1.0, 0.5], sigma=sigma)
    np.testing.assert_allclose(v, [0.08 / (4 * math.pi * 0.2 * 0.13**3)], rtol=1e-13)
    assert 14.4 < v[0] < 14.6


def test_infinite_medium_inverse_square_decay_and_sign():
    direction = unit([1.0, 2.0, 2.0])
    moment = np.array([0.3, 0.4, 1.0])
    source = np.array([0.01, -0.01, 0.02])
    distances = np.array([0.05, 0.1, 0.2, 0.4])
    v = infinite_medium_potential(source + distances[:, None] * direction, source, moment, sigma=SIGMA)
    np.testing.assert_allclose(v * distances**2, v[0] * distances[0] ** 2, rtol=1e-13)
    # Odd in the displacement from the source.
    opposite = infinite_medium_potential(source - distances[:, None] * direction, source, moment, sigma=SIGMA)
    np.testing.assert_allclose(opposite, -v, rtol=1e-13)


def test_infinite_medium_swap_of_point_and_source_flips_sign():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 3)) * 0.05
    moment = rng.normal(size=3)
    forward_value = infinite_medium_potential(a, b, moment, sigma=SIGMA)
    swapped = infinite_medium_potential(b, a, moment, sigma=SIGMA)
    np.testing.assert_allclose(swapped, -forward_value, rtol=1e-13)


def test_infinite_medium_linearity_superposition_and_sigma():
    rng = np.random.default_rng(9)
    points = rng.normal(size=(50, 3)) * 0.2
    positions = rng.normal(size=(5, 3)) * 0.02
    moments = rng.normal(size=(5, 3))
    together = infinite_medium_potential(points, positions, moments, sigma=SIGMA)
    separate = sum(infinite_medium_potential(points, x, p, sigma=SIGMA) for x, p in zip(positions, moments))
    np.testing.assert_allclose(together, separate, rtol=1e-12, atol=1e-12 * np.abs(separate).max())
    doubled = infinite_medium_potential(points, positions, 2 * moments, sigma=SIGMA)
    np.testing.assert_allclose(doubled, 2 * together, rtol=1e-13)
    halved = infinite_medium_potential(points, positions, moments, sigma=2 * SIGMA)
    np.testing.assert_allclose(halved, together / 2, rtol=1e-13)
    lead_field = infinite_medium_lead_field(points, positions, sigma=SIGMA)
    assert lead_field.shape == (50, 5, 3)
    np.testing.assert_allclose(np.einsum("pdk,dk->p", lead_field, moments), together, rtol=1e-11, atol=1e-12 * np.abs(together).max())


# -- errors ---------------------------------------------------------------------------------------


GOOD_POINTS = fibonacci_sphere(10, radius=RADIUS)


@pytest.mark.parametrize(
    "kwargs, exception, name",
    [
        (dict(points=np.full((4, 3), np.nan)), ValueError, "points"),
        (dict(moment=[np.nan, 0.0, 1.0]), ValueError, "moment"),
        (dict(dipole_position=[0.0, np.inf, 0.0]), ValueError, "dipole_position"),
        (dict(points=np.zeros((4, 2))), ValueError, "points"),
        (dict(moment=np.zeros((2, 3))), ValueError, "moment"),
        (dict(dipole_position=np.zeros((2, 4))), ValueError, "dipole_position"),
        (dict(moment="abc"), TypeError, "moment"),
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(sigma=-0.2), ValueError, "sigma"),
        (dict(sigma=math.nan), ValueError, "sigma"),
        (dict(sigma="x"), TypeError, "sigma"),
        (dict(radius=-0.1), ValueError, "radius"),
        (dict(dipole_position=[0.0, 0.0, 0.1]), ValueError, "dipole_position"),  # on the surface
        (dict(dipole_position=[0.0, 0.2, 0.0]), ValueError, "dipole_position"),  # outside
        (dict(points=GOOD_POINTS * 1.01), ValueError, "points"),  # off the sphere
        (dict(center=[0.0, 0.0]), ValueError, "center"),
    ],
)
def test_sphere_potential_errors_name_the_parameter(kwargs, exception, name):
    arguments = dict(points=GOOD_POINTS, dipole_position=[0.0, 0.0, 0.02], moment=[1.0, 0.0, 0.0], radius=RADIUS, sigma=SIGMA)
    arguments.update(kwargs)
    points = arguments.pop("points")
    position = arguments.pop("dipole_position")
    moment = arguments.pop("moment")
    with pytest.raises(exception, match=name):
        sphere_potential(points, position, moment, **arguments)


@pytest.mark.parametrize(
    "args, sigma, exception, name",
    [
        (([[np.nan, 0.0, 0.0]], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]), SIGMA, ValueError, "points"),
        (([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, np.nan, 0.0]), SIGMA, ValueError, "moment"),
        (([0.1, 0.0, 0.0], [0.0, 0.0], [1.0, 0.0, 0.0]), SIGMA, ValueError, "dipole_position"),
        ((np.zeros((3, 2)), [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]), SIGMA, ValueError, "points"),
        (([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [[1.0, 0.0, 0.0]] * 2), SIGMA, ValueError, "moment"),
        (([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]), 0.0, ValueError, "sigma"),
        (([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]), -1.0, ValueError, "sigma"),
        (([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]), math.nan, ValueError, "sigma"),
        (([0.1, 0.0, 0.0], [0.1, 0.0, 0.0], [1.0, 0.0, 0.0]), SIGMA, ValueError, "points"),  # singular
    ],
)
def test_infinite_medium_errors_name_the_parameter(args, sigma, exception, name):
    with pytest.raises(exception, match=name):
        infinite_medium_potential(*args, sigma=sigma)


@pytest.mark.parametrize(
    "points, sources, sigma, name",
    [
        ([[np.nan, 0.0, 0.0]], [[0.0, 0.0, 0.0]], SIGMA, "points"),
        ([[0.1, 0.0, 0.0]], [[0.0, np.nan, 0.0]], SIGMA, "source_positions"),
        ([[0.1, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]], SIGMA, "source_positions"),
        ([[0.1, 0.0, 0.0]], [[0.0, 0.0, 0.0]], -0.1, "sigma"),
    ],
)
def test_infinite_medium_lead_field_errors_name_the_parameter(points, sources, sigma, name):
    with pytest.raises(ValueError, match=name):
        infinite_medium_lead_field(points, sources, sigma=sigma)


def test_fibonacci_sphere_points_lie_on_the_sphere_and_spread_evenly():
    center = np.array([0.01, 0.02, -0.03])
    points = fibonacci_sphere(1000, radius=0.12, center=center)
    np.testing.assert_allclose(np.linalg.norm(points - center, axis=1), 0.12, rtol=1e-14)
    np.testing.assert_allclose((points - center).mean(axis=0), 0.0, atol=1e-3 * 0.12)
    with pytest.raises(ValueError, match="n_points"):
        fibonacci_sphere(0)
