"""Tests of forward.vcg: published matrices, frames, transforms and model-derived transforms."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from forward.vcg import (
    DOWER,
    FRANK_LEADS,
    INVERSE_DOWER,
    KORS,
    VCG_TRANSFORM_LEADS,
    body_to_frank,
    compare_lead_vectors,
    derive_limb_and_augmented,
    frank_to_body,
    model_dower,
    model_transform,
    twelve_lead_to_vcg,
    vcg_to_twelve_lead,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"  # ../shared next to the repository
PTB_RECORD = SHARED / "data" / "ptbdb" / "s0010_re"
LEADS_MD = SHARED / "reference" / "LEADS.md"


# ------------------------------------------------------------------ published matrices


def test_lead_orders():
    assert VCG_TRANSFORM_LEADS == ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    assert FRANK_LEADS == ("X", "Y", "Z")


def test_matrix_shapes_and_read_only():
    assert DOWER.shape == (8, 3)
    assert INVERSE_DOWER.shape == (3, 8)
    assert KORS.shape == (3, 8)
    for matrix in (DOWER, INVERSE_DOWER, KORS):
        assert matrix.dtype == np.float64
        with pytest.raises(ValueError):
            matrix[0, 0] = 1.0


@pytest.mark.parametrize(
    ("matrix_name", "row", "column", "value"),
    [
        # Dower (the entries public copies get wrong are included: V1 Z, V2 Z, V3 X, V6 Z)
        ("DOWER", 0, 0, 0.632),
        ("DOWER", 1, 1, 1.066),
        ("DOWER", 2, 2, -0.917),
        ("DOWER", 3, 2, -1.387),
        ("DOWER", 4, 0, 0.882),
        ("DOWER", 5, 0, 1.213),
        ("DOWER", 7, 2, 0.230),
        ("DOWER", 2, 0, -0.515),
        # inverse Dower
        ("INVERSE_DOWER", 0, 0, 0.156),
        ("INVERSE_DOWER", 0, 6, 0.239),
        ("INVERSE_DOWER", 1, 1, 0.887),
        ("INVERSE_DOWER", 1, 0, -0.227),
        ("INVERSE_DOWER", 2, 3, -0.310),
        ("INVERSE_DOWER", 2, 7, 0.108),
        # Kors
        ("KORS", 0, 0, 0.38),
        ("KORS", 0, 7, 0.54),
        ("KORS", 1, 1, 0.93),
        ("KORS", 1, 6, -0.17),
        ("KORS", 2, 2, -0.43),
        ("KORS", 2, 7, 0.31),
    ],
)
def test_matrix_entries_match_leads_md(matrix_name, row, column, value):
    matrix = {"DOWER": DOWER, "INVERSE_DOWER": INVERSE_DOWER, "KORS": KORS}[matrix_name]
    assert matrix[row, column] == pytest.approx(value, abs=1e-12)


def test_matrix_sums_match_leads_md():
    # Whole-matrix checksums of the LEADS.md numbers catch a typo anywhere.
    assert DOWER.sum() == pytest.approx(1.916, abs=1e-9)
    assert np.abs(DOWER).sum() == pytest.approx(12.216, abs=1e-9)
    assert INVERSE_DOWER.sum() == pytest.approx(0.784, abs=1e-9)
    assert np.abs(INVERSE_DOWER).sum() == pytest.approx(3.74, abs=1e-9)
    assert KORS.sum() == pytest.approx(1.08, abs=1e-9)
    assert np.abs(KORS).sum() == pytest.approx(4.46, abs=1e-9)


def test_matrices_equal_the_tables_in_leads_md():
    if not LEADS_MD.exists():
        pytest.skip(f"{LEADS_MD} not available")
    blocks = re.findall(r"```\n(.*?)```", LEADS_MD.read_text(), re.S)
    tables = []
    for block in blocks:
        rows = [line.split() for line in block.strip().splitlines()]
        tables.append(([row[0] for row in rows], np.array([[float(v) for v in row[1:]] for row in rows])))
    assert len(tables) == 3
    (dower_rows, dower), (inverse_rows, inverse), (kors_rows, kors) = tables
    assert tuple(dower_rows) == VCG_TRANSFORM_LEADS
    assert tuple(inverse_rows) == tuple(kors_rows) == FRANK_LEADS
    assert np.array_equal(DOWER, dower)
    assert np.array_equal(INVERSE_DOWER, inverse)
    assert np.array_equal(KORS, kors)


def test_inverse_dower_inverts_dower_on_3d_subspace():
    assert np.allclose(INVERSE_DOWER @ DOWER, np.eye(3), atol=0.05)
    # ... which makes inverse Dower composed with Dower the identity for any VCG, within 5 %.
    vcg = np.random.default_rng(0).standard_normal((3, 200))
    recovered = twelve_lead_to_vcg(vcg_to_twelve_lead(vcg, "dower"), "inverse_dower")
    assert np.linalg.norm(recovered - vcg) / np.linalg.norm(vcg) < 0.05
    # Kors is an independent regression: clearly not an inverse of Dower.
    assert not np.allclose(KORS @ DOWER, np.eye(3), atol=0.05)


# ------------------------------------------------------------------ frames


def test_frank_unit_axes_map_to_body_axes():
    assert np.array_equal(frank_to_body([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0])  # X left -> +y
    assert np.array_equal(frank_to_body([0.0, 1.0, 0.0]), [0.0, 0.0, -1.0])  # Y inferior -> -z
    assert np.array_equal(frank_to_body([0.0, 0.0, 1.0]), [-1.0, 0.0, 0.0])  # Z posterior -> -x
    assert np.array_equal(body_to_frank([1.0, 0.0, 0.0]), [0.0, 0.0, -1.0])  # anterior -> -Z


def test_frame_round_trip_and_axis_argument():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((4, 5, 3))
    assert np.allclose(body_to_frank(frank_to_body(vectors)), vectors, atol=0, rtol=0)
    assert np.allclose(frank_to_body(body_to_frank(vectors)), vectors, atol=0, rtol=0)
    series = rng.standard_normal((3, 50))
    assert np.array_equal(frank_to_body(series, axis=0), frank_to_body(series.T).T)
    assert np.array_equal(body_to_frank(frank_to_body(series, axis=0), axis=0), series)
    # Rotation, not a reflection: lengths and handedness are kept.
    assert np.allclose(np.linalg.norm(frank_to_body(vectors), axis=-1), np.linalg.norm(vectors, axis=-1))
    assert np.allclose(np.cross(frank_to_body([1.0, 0, 0]), frank_to_body([0, 1.0, 0])), frank_to_body([0, 0, 1.0]))


def test_frame_conversion_rejects_wrong_shape():
    with pytest.raises(ValueError, match="vectors"):
        frank_to_body(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="vectors"):
        body_to_frank(np.zeros((4, 3)), axis=0)


# ------------------------------------------------------------------ transforms


def test_twelve_lead_to_vcg_shapes_and_named_input():
    rng = np.random.default_rng(2)
    ecg8 = rng.standard_normal((8, 100))
    assert twelve_lead_to_vcg(ecg8).shape == (3, 100)
    assert np.allclose(twelve_lead_to_vcg(ecg8, "kors"), KORS @ ecg8)
    assert np.allclose(twelve_lead_to_vcg(ecg8, "inverse_dower"), INVERSE_DOWER @ ecg8)
    assert np.allclose(twelve_lead_to_vcg(ecg8, 2.0 * KORS), 2.0 * KORS @ ecg8)
    # By name, in any order, with extra leads ignored.
    named = {lead.lower(): ecg8[k] for k, lead in reversed(list(enumerate(VCG_TRANSFORM_LEADS)))}
    named["aVR"] = np.zeros(100)
    assert np.allclose(twelve_lead_to_vcg(named), KORS @ ecg8)
    assert vcg_to_twelve_lead(rng.standard_normal(3)).shape == (8,)


def test_transform_bad_input_names_parameter():
    with pytest.raises(ValueError, match="transform"):
        twelve_lead_to_vcg(np.zeros((8, 10)), "dower")
    with pytest.raises(ValueError, match="transform"):
        twelve_lead_to_vcg(np.zeros((8, 10)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match="ecg8"):
        twelve_lead_to_vcg(np.zeros((12, 10)))
    with pytest.raises(ValueError, match="ecg8"):
        twelve_lead_to_vcg({"I": np.zeros(10), "II": np.zeros(10)})
    with pytest.raises(ValueError, match="ecg8"):
        twelve_lead_to_vcg(np.full((8, 10), np.nan))
    with pytest.raises(ValueError, match="vcg"):
        vcg_to_twelve_lead(np.zeros((2, 10)))


def test_derive_limb_and_augmented():
    lead_i = np.array([1.0, 0.5, -0.2])
    lead_ii = np.array([0.4, 1.5, 0.3])
    leads = derive_limb_and_augmented(lead_i, lead_ii)
    assert np.allclose(leads.III, lead_ii - lead_i)  # Einthoven: I + III = II
    assert np.allclose(lead_i + leads.III, lead_ii)
    assert np.allclose(leads.aVR + leads.aVL + leads.aVF, 0.0)  # Goldberger
    assert np.allclose(leads.aVR, -(lead_i + lead_ii) / 2)
    assert np.allclose(leads.aVL, lead_i - lead_ii / 2)
    assert np.allclose(leads.aVF, lead_ii - lead_i / 2)
    iii, avr, avl, avf = leads
    assert np.array_equal(avf, leads.aVF)
    with pytest.raises(ValueError, match="i and ii"):
        derive_limb_and_augmented(np.zeros(3), np.zeros(4))


# ------------------------------------------------------------------ model-derived transforms


def _random_lead_vectors(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 60.0 * rng.standard_normal((8, 3)), 60.0 * rng.standard_normal((3, 3))


def test_model_transform_recovers_frank_leads_of_a_dipole_exactly():
    lead_matrix, frank_matrix = _random_lead_vectors(3)
    heart_vector = 0.02 * np.random.default_rng(4).standard_normal((3, 300))  # mA*m
    ecg8 = lead_matrix @ heart_vector
    xyz = frank_matrix @ heart_vector
    transform = model_transform(lead_matrix, frank_matrix)
    assert transform.shape == (3, 8)
    assert np.allclose(transform @ ecg8, xyz, rtol=0, atol=1e-10)
    # Weights change the estimator but not the exact recovery of noise-free data ...
    weighted = model_transform(lead_matrix, frank_matrix, weights=np.arange(1.0, 9.0))
    assert np.allclose(weighted @ ecg8, xyz, rtol=0, atol=1e-10)
    assert not np.allclose(weighted, transform)
    # ... while a ridge shrinks towards zero.
    ridged = model_transform(lead_matrix, frank_matrix, ridge=1e5)
    assert np.linalg.norm(ridged @ ecg8) < np.linalg.norm(xyz)


def test_model_transform_accepts_mappings_and_matches_pinv():
    lead_matrix, frank_matrix = _random_lead_vectors(5)
    by_name = {lead: lead_matrix[k] for k, lead in enumerate(VCG_TRANSFORM_LEADS)}
    frank_by_name = {lead: frank_matrix[k] for k, lead in enumerate(FRANK_LEADS)}
    expected = frank_matrix @ np.linalg.pinv(lead_matrix)
    assert np.allclose(model_transform(by_name, frank_by_name), expected)


def test_model_transform_weights_downweight_a_noisy_lead():
    lead_matrix, frank_matrix = _random_lead_vectors(6)
    rng = np.random.default_rng(7)
    heart_vector = 0.02 * rng.standard_normal((3, 2000))
    noise_std = np.array([0.01, 0.01, 1.0, 0.01, 0.01, 0.01, 0.01, 0.01])  # V1 very noisy
    ecg8 = lead_matrix @ heart_vector + noise_std[:, None] * rng.standard_normal((8, 2000))
    xyz = frank_matrix @ heart_vector
    plain_error = np.linalg.norm(model_transform(lead_matrix, frank_matrix) @ ecg8 - xyz)
    weighted_error = np.linalg.norm(model_transform(lead_matrix, frank_matrix, weights=1 / noise_std) @ ecg8 - xyz)
    assert weighted_error < 0.5 * plain_error


def test_model_dower_reproduces_dower():
    lead_matrix = frank_to_body(DOWER)  # Dower rows as body-frame lead vectors
    frank_matrix = frank_to_body(np.eye(3))  # ideal Frank leads: X = y, Y = -z, Z = -x
    assert np.allclose(model_dower(lead_matrix, frank_matrix), DOWER, atol=1e-12)
    # and model_transform is then the pseudo-inverse of Dower
    assert np.allclose(model_transform(lead_matrix, frank_matrix), np.linalg.pinv(DOWER), atol=1e-10)


def test_model_transform_bad_input_names_parameter():
    lead_matrix, frank_matrix = _random_lead_vectors(8)
    with pytest.raises(ValueError, match="lead_vectors_12"):
        model_transform(lead_matrix[:6], frank_matrix)
    with pytest.raises(ValueError, match="lead_vectors_frank"):
        model_transform(lead_matrix, frank_matrix[:, :2])
    with pytest.raises(ValueError, match="weights"):
        model_transform(lead_matrix, frank_matrix, weights=-np.ones(8))
    with pytest.raises(ValueError, match="ridge"):
        model_transform(lead_matrix, frank_matrix, ridge=-1.0)
    with pytest.raises(ValueError, match="lead_vectors_12"):
        model_transform(np.outer(np.ones(8), [1.0, 0.0, 0.0]), frank_matrix)  # rank 1
    with pytest.raises(ValueError, match="lead_vectors_frank"):
        model_dower(lead_matrix, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="lead_vectors_12"):
        model_dower({"I": [1.0, 0.0, 0.0]}, frank_matrix)


# ------------------------------------------------------------------ comparison


def test_compare_lead_vectors_known_angles():
    a = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, -3.0]])
    b = np.array([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    angle, ratio = compare_lead_vectors(a, b)
    assert np.allclose(angle, [0.0, 90.0, 45.0, 180.0])
    assert np.allclose(ratio, [0.5, 2.0, np.sqrt(2.0), 3.0])
    single_angle, single_ratio = compare_lead_vectors([0.0, 1.0, 0.0], [0.0, 1.0, 1.0])
    assert single_angle.shape == (1,)
    assert single_angle[0] == pytest.approx(45.0)
    assert single_ratio[0] == pytest.approx(1 / np.sqrt(2.0))
    with pytest.raises(ValueError, match="same shape"):
        compare_lead_vectors(a, b[:2])
    with pytest.raises(ValueError, match="b"):
        compare_lead_vectors(a, np.zeros((4, 3)))


# ------------------------------------------------------------------ real data (PTB)


@pytest.fixture(scope="module")
def ptb_filtered():
    wfdb = pytest.importorskip("wfdb")
    from scipy.signal import butter, sosfiltfilt

    if not PTB_RECORD.with_suffix(".hea").exists():
        pytest.skip(f"PTB record {PTB_RECORD} not available")
    record = wfdb.rdrecord(str(PTB_RECORD))
    names = [name.lower() for name in record.sig_name]
    assert record.fs == 1000
    sos = butter(2, [0.5, 40.0], btype="bandpass", fs=record.fs, output="sos")
    filtered = sosfiltfilt(sos, record.p_signal, axis=0)
    ecg8 = np.stack([filtered[:, names.index(lead.lower())] for lead in VCG_TRANSFORM_LEADS])
    measured = np.stack([filtered[:, names.index(lead)] for lead in ("vx", "vy", "vz")])
    return ecg8, measured


@pytest.mark.parametrize(
    ("transform", "expected_r"),
    [("inverse_dower", (0.956, 0.980, 0.351)), ("kors", (0.984, 0.953, 0.722))],
)
def test_ptb_vcg_reconstruction_matches_leads_md(ptb_filtered, transform, expected_r):
    ecg8, measured = ptb_filtered
    estimated = twelve_lead_to_vcg(ecg8, transform)
    r = [np.corrcoef(estimated[axis], measured[axis])[0, 1] for axis in range(3)]
    assert np.allclose(r, expected_r, atol=0.02), f"{transform}: r = {np.round(r, 3)}"
