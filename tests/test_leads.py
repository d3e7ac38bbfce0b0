"""Tests of forward.leads: lead vectors on the default torso (BEM) and in the infinite medium.

Units: metres, S/m, mA*m, mV; lead vectors in mV per mA*m. Body frame: x anterior, y left,
z superior. Frank frame (Dower's matrix): X left, Y inferior, Z posterior.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

import forward
from forward import (
    DEFAULT_SIGMA,
    DOWER,
    VCG_TRANSFORM_LEADS,
    compare_lead_vectors,
    frank_to_body,
    image_surface,
    lead_definition,
    lead_matrix,
    lead_vectors,
    model_dower,
    project_heart_vector,
    view_lead_vectors,
)
from geometry import default_torso, electrode_positions

STANDARD12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def torso():
    return default_torso()


@pytest.fixture(scope="module")
def electrodes(torso):
    return electrode_positions(torso, "standard12")


@pytest.fixture(scope="module")
def bem_vectors(torso):
    """Lead vectors of the 12 standard leads and Frank X, Y, Z on the default torso (BEM)."""
    vectors = dict(lead_vectors(torso, "standard12", "bem"))
    vectors.update(lead_vectors(torso, "frank", "bem"))
    return vectors


@pytest.fixture(scope="module")
def infinite_vectors(torso):
    return lead_vectors(torso, "standard12", "infinite")


@pytest.fixture(scope="module")
def surface_image(torso):
    return image_surface(torso, "bem")


def _angle_degrees(a, b) -> float:
    cosine = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return math.degrees(math.acos(np.clip(cosine, -1.0, 1.0)))


def _infinite_lead_field(points, source, sigma=DEFAULT_SIGMA) -> np.ndarray:
    """By hand: V(r) = p . (r - r0) / (4 pi sigma |r - r0|^3), so the lead field is (r - r0) / (4 pi sigma |r - r0|^3)."""
    offset = np.atleast_2d(points) - np.asarray(source)[None, :]
    return offset / (4.0 * math.pi * sigma * np.linalg.norm(offset, axis=1, keepdims=True) ** 3)


# ------------------------------------------------------------------ lead algebra


@pytest.mark.parametrize("conductor", ["bem", "infinite"])
def test_einthoven_and_goldberger(conductor, bem_vectors, infinite_vectors):
    c = bem_vectors if conductor == "bem" else infinite_vectors
    assert tuple(c)[:12] == STANDARD12
    scale = np.linalg.norm(c["II"])
    assert scale > 1.0  # mV per mA*m: a real, non-degenerate lead field
    assert np.abs(c["I"] + c["III"] - c["II"]).max() < 1e-10 * scale
    assert np.abs(c["aVR"] + c["aVL"] + c["aVF"]).max() < 1e-10 * scale
    assert np.abs(c["aVR"] + (c["I"] + c["II"]) / 2).max() < 1e-10 * scale
    assert np.abs(c["aVL"] - (c["I"] - c["II"] / 2)).max() < 1e-10 * scale
    assert np.abs(c["aVF"] - (c["II"] - c["I"] / 2)).max() < 1e-10 * scale
    # Precordial leads are WCT-referenced: their electrode weights sum to zero, like every lead.
    for name in STANDARD12:
        assert abs(sum(lead_definition(name).values())) < 1e-12, name


def test_lead_matrix_rows_are_the_lead_vectors(torso, bem_vectors):
    names, matrix = lead_matrix(torso, ["V1", "I", "aVF"])
    assert names == ("V1", "I", "aVF")
    assert matrix.shape == (3, 3)
    for row, name in zip(matrix, names):
        np.testing.assert_allclose(row, bem_vectors[name], rtol=1e-12, atol=0)


# ------------------------------------------------------------------ linearity


def test_projection_is_linear(bem_vectors):
    rng = np.random.default_rng(4)
    p1 = 0.02 * rng.standard_normal((3, 50))
    p2 = 0.02 * rng.standard_normal((3, 50))
    s1 = project_heart_vector(bem_vectors, p1)
    s2 = project_heart_vector(bem_vectors, p2)
    s12 = project_heart_vector(bem_vectors, p1 + p2)
    scaled = project_heart_vector(bem_vectors, -2.5 * p1)
    assert list(s12) == list(bem_vectors)
    for name in bem_vectors:
        assert s12[name].shape == (50,)
        np.testing.assert_allclose(s12[name], s1[name] + s2[name], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(scaled[name], -2.5 * s1[name], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s1[name], bem_vectors[name] @ p1, rtol=1e-12, atol=1e-12)
    # Einthoven holds for the signals too.
    np.testing.assert_allclose(s1["I"] + s1["III"], s1["II"], rtol=0, atol=1e-12)


def test_leads_from_bem_electrode_potentials_match_lead_vectors(torso, electrodes, bem_vectors):
    """Independent path: BEM potentials of the dipole at the electrodes, combined by the lead weights.

    All 10 electrodes at once go through the BEM's forward solve; lead I's two electrodes alone
    (fewer points than dipole components) through its transfer-matrix (transposed) branch.
    """
    bem = forward.torso_bem(torso)
    assert forward.torso_bem(torso) is bem  # cached per torso
    rng = np.random.default_rng(7)
    moments = 0.025 * rng.standard_normal((1, 3, 40))  # mA*m
    heart = np.asarray(torso.heart_center)[None, :]
    names = list(electrodes)
    potentials = bem.potentials(electrodes.as_array(names), heart, moments)
    assert potentials.shape == (len(names), 40)
    for name in STANDARD12:
        signal = sum(w * potentials[names.index(e)] for (_, e), w in lead_definition(name).items())
        expected = bem_vectors[name] @ moments[0]
        np.testing.assert_allclose(signal, expected, rtol=1e-7, atol=1e-9 * np.abs(expected).max())

    pair = bem.potentials(electrodes.as_array(["LA", "RA"]), heart, moments)
    expected = bem_vectors["I"] @ moments[0]
    np.testing.assert_allclose(pair[0] - pair[1], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


# ------------------------------------------------------------------ views and the image surface


def test_view_at_an_electrode_equals_its_lead(torso, electrodes, bem_vectors):
    theta, phi = torso.view_angles(electrodes["V2"])
    np.testing.assert_allclose(torso.surface_point(theta, phi), electrodes["V2"], atol=1e-9)
    view = view_lead_vectors(torso, theta, phi)
    assert view.shape == (3,)
    np.testing.assert_allclose(view, bem_vectors["V2"], rtol=1e-6, atol=1e-6 * np.linalg.norm(bem_vectors["V2"]))
    # Arrays of views, and views mixed with names in lead_vectors, give the same vectors.
    theta4, phi4 = torso.view_angles(electrodes["V4"])
    both = view_lead_vectors(torso, [theta, theta4], [phi, phi4])
    assert both.shape == (2, 3)
    np.testing.assert_allclose(both[1], bem_vectors["V4"], rtol=1e-6, atol=1e-6 * np.linalg.norm(bem_vectors["V4"]))
    mixed = lead_vectors(torso, ["V6", (theta, phi)])
    assert list(mixed)[0] == "V6" and list(mixed)[1].startswith("view(90,")
    np.testing.assert_allclose(list(mixed.values())[1], view, rtol=1e-10)


def test_image_surface_shape_and_value_near_v4(torso, electrodes, bem_vectors, surface_image):
    assert surface_image.shape == (len(torso.vertices), 3) == (2018, 3)
    assert np.all(np.isfinite(surface_image))
    nearest = int(np.argmin(np.linalg.norm(torso.vertices - electrodes["V4"], axis=1)))
    assert np.linalg.norm(torso.vertices[nearest] - electrodes["V4"]) < 0.015  # m: within one edge
    error = np.linalg.norm(surface_image[nearest] - bem_vectors["V4"]) / np.linalg.norm(bem_vectors["V4"])
    assert error < 0.15, error


def test_image_surface_is_wct_referenced(torso, electrodes, surface_image):
    """The image-surface vectors interpolated at RA, LA and LL average to zero (that is the WCT)."""
    points = np.array([electrodes[name] for name in ("RA", "LA", "LL")])
    closest, _, triangle = trimesh.proximity.closest_point(torso.mesh, points)
    barycentric = trimesh.triangles.points_to_barycentric(torso.mesh.triangles[triangle], closest)
    limbs = np.einsum("nk,nkj->nj", barycentric, surface_image[np.asarray(torso.faces)[triangle]])
    typical = np.linalg.norm(surface_image, axis=1).mean()
    assert np.linalg.norm(limbs.mean(axis=0)) < 0.02 * typical
    # ...while each limb on its own is far from zero.
    assert np.all(np.linalg.norm(limbs, axis=1) > 0.3 * typical)


def test_image_surface_infinite_is_lead_field_minus_wct(torso, electrodes):
    image = image_surface(torso, "infinite")
    limbs = np.array([electrodes[name] for name in ("RA", "LA", "LL")])
    heart = np.asarray(torso.heart_center)
    expected = _infinite_lead_field(torso.vertices, heart) - _infinite_lead_field(limbs, heart).mean(axis=0)
    np.testing.assert_allclose(image, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


# ------------------------------------------------------------------ infinite medium, by hand


def test_infinite_medium_lead_vectors_by_hand(torso, electrodes, infinite_vectors):
    heart = np.asarray(torso.heart_center)
    limbs = np.array([electrodes[name] for name in ("RA", "LA", "LL")])
    wct = _infinite_lead_field(limbs, heart).mean(axis=0)
    for name in ("V1", "V2", "V3", "V4", "V5", "V6"):
        expected = _infinite_lead_field(electrodes[name], heart)[0] - wct
        np.testing.assert_allclose(infinite_vectors[name], expected, rtol=1e-10, atol=0)
    expected_i = _infinite_lead_field(electrodes["LA"], heart)[0] - _infinite_lead_field(electrodes["RA"], heart)[0]
    np.testing.assert_allclose(infinite_vectors["I"], expected_i, rtol=1e-10, atol=0)

    views = [(math.pi / 2, math.pi / 18), (11 * math.pi / 20, math.pi / 6), (2.0, -2.5)]
    for theta, phi in views:
        point = torso.surface_point(theta, phi)
        vector = view_lead_vectors(torso, theta, phi, "infinite")
        unipolar = _infinite_lead_field(point, heart)[0]
        np.testing.assert_allclose(vector, unipolar - wct, rtol=1e-10, atol=0)
        # The WCT term is small: the vector points roughly along (r - heart).
        assert _angle_degrees(vector, point - heart) < 20.0


def test_infinite_medium_scales_as_one_over_sigma(torso, infinite_vectors):
    doubled = lead_vectors(torso, "standard12", "infinite", sigma=2 * DEFAULT_SIGMA)
    for name in STANDARD12:
        np.testing.assert_allclose(doubled[name], infinite_vectors[name] / 2, rtol=1e-12)


# ------------------------------------------------------------------ against Dower and Frank


def test_default_torso_versus_dower(bem_vectors):
    l8 = np.array([bem_vectors[name] for name in VCG_TRANSFORM_LEADS])
    lf = np.array([bem_vectors[name] for name in ("X", "Y", "Z")])
    model = model_dower(l8, lf)  # Frank frame, mV per mV, the model's analogue of Dower's matrix
    angle, ratio = compare_lead_vectors(model, DOWER)

    frank_gain = np.linalg.norm(lf, axis=1).mean()  # mV per mA*m
    dower_body = frank_gain * frank_to_body(DOWER)  # Dower's rows as body-frame lead vectors
    raw_angle, raw_ratio = compare_lead_vectors(l8, dower_body)

    print(f"\nDefault torso vs Dower (model_dower rows, Frank frame | raw body-frame lead vectors vs "
          f"{frank_gain:.1f} mV/(mA*m) x Dower)")
    print(f"{'lead':>5} {'angle':>7} {'|m|/|D|':>8} | {'raw angle':>9} {'|c|/|kD|':>9}")
    for k, name in enumerate(VCG_TRANSFORM_LEADS):
        print(f"{name:>5} {angle[k]:7.1f} {ratio[k]:8.2f} | {raw_angle[k]:9.1f} {raw_ratio[k]:9.2f}")

    assert np.all(angle < 35.0), dict(zip(VCG_TRANSFORM_LEADS, np.round(angle, 1)))
    assert np.all((ratio > 0.5) & (ratio < 2.0)), dict(zip(VCG_TRANSFORM_LEADS, np.round(ratio, 2)))


def test_frank_leads_on_the_default_torso(bem_vectors):
    # Ideal Frank: X = k (0, 1, 0) (left), Y = k (0, 0, -1) (inferior), Z = k (-1, 0, 0) (posterior).
    ideal = {"X": (0.0, 1.0, 0.0), "Y": (0.0, 0.0, -1.0), "Z": (-1.0, 0.0, 0.0)}
    for name, direction in ideal.items():
        assert _angle_degrees(bem_vectors[name], direction) < 25.0, name
    magnitudes = [np.linalg.norm(bem_vectors[name]) for name in ideal]
    assert max(magnitudes) / min(magnitudes) < 1.5, magnitudes
    assert 20.0 < np.mean(magnitudes) < 200.0  # mV per mA*m: adult-torso order of magnitude


# ------------------------------------------------------------------ bad input


def test_unknown_lead_names_the_lead_and_lists_known_ones(torso):
    with pytest.raises(ValueError, match=r"'V7x'.*known leads: I, II, III, aVR"):
        lead_vectors(torso, ["I", "V7x"])
    with pytest.raises(ValueError, match=r"'V7x'.*known leads"):
        lead_definition("V7x")


def test_lead_names_are_case_insensitive(torso, bem_vectors):
    lower = lead_vectors(torso, ["avr", "AVR", "v1"])
    assert list(lower) == ["aVR", "V1"]  # canonical names (duplicates collapse to one key)
    np.testing.assert_allclose(lower["aVR"], bem_vectors["aVR"], rtol=1e-12)
    np.testing.assert_allclose(lead_vectors(torso, "AvR")["aVR"], bem_vectors["aVR"], rtol=1e-12)
    assert lead_definition("avr") == lead_definition("AVR") == lead_definition("aVR")
    frank = lead_vectors(torso, "Frank")  # system names too
    assert list(frank) == ["X", "Y", "Z"]
    np.testing.assert_allclose(frank["Z"], bem_vectors["Z"], rtol=1e-12)


def test_bad_conductor_system_and_empty(torso):
    with pytest.raises(ValueError, match=r"conductor.*bem.*infinite.*'fem'"):
        lead_vectors(torso, "standard12", "fem")
    with pytest.raises(ValueError, match=r"conductor.*'fem'"):
        image_surface(torso, "fem")
    with pytest.raises(ValueError, match=r"standard12.*frank.*'standard13'"):
        lead_vectors(torso, "standard13")
    with pytest.raises(ValueError, match="leads must not be empty"):
        lead_vectors(torso, [])
    with pytest.raises(ValueError, match="sigma"):
        lead_vectors(torso, "frank", sigma=-1.0)


def test_bad_views(torso):
    with pytest.raises(ValueError, match="theta"):
        view_lead_vectors(torso, 4.0, 0.0)
    with pytest.raises(ValueError, match="theta"):
        lead_vectors(torso, [(4.0, 0.0)])
    with pytest.raises(ValueError, match="phi"):
        view_lead_vectors(torso, 1.0, 3.5)
    with pytest.raises(ValueError, match="theta.*NaN"):
        view_lead_vectors(torso, float("nan"), 0.0)
    with pytest.raises(ValueError, match="phi.*NaN"):
        lead_vectors(torso, [(1.0, float("nan"))])
    with pytest.raises(ValueError, match="same shape"):
        view_lead_vectors(torso, [1.0, 1.2], [0.0])


def test_non_torso_is_refused(torso):
    for call in (
        lambda: lead_vectors(torso.mesh, "standard12"),
        lambda: lead_vectors("default", "frank"),
        lambda: image_surface(None),
        lambda: view_lead_vectors(torso.mesh, 1.0, 0.0),
    ):
        with pytest.raises(TypeError, match="torso must be a geometry.Torso"):
            call()


def test_project_heart_vector_bad_shapes(bem_vectors):
    with pytest.raises(ValueError, match=r"heart_vector.*\(3, n_samples\)"):
        project_heart_vector(bem_vectors, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="heart_vector"):
        project_heart_vector(bem_vectors, np.zeros(3))
    with pytest.raises(ValueError, match="heart_vector"):
        project_heart_vector(bem_vectors, np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match=r"lead_vectors_by_name\['bad'\].*\(3,\)"):
        project_heart_vector({"bad": np.ones(4)}, np.zeros((3, 5)))
