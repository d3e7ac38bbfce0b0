"""Tests of forward.calibration: per-lead gains and electrode-displacement corrections fitted
with a reference heart vector, blind with three reference leads, and blind with one.

Units: signals mV, lead vectors mV per mA*m, heart vectors mA*m (body frame), angles degrees.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import forward
from _heart_vectors import FS, heart, leads, rows, signals_and_a_nan  # noqa: F401 (fixtures)
from forward.calibration import LeadCalibration, calibrate_leads


def test_calibration_names_are_forward_top_level_names():
    assert forward.calibrate_leads is calibrate_leads
    assert forward.LeadCalibration is LeadCalibration


# ------------------------------------------------------------------ lead calibration


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def perturbed_leads(lead, fixed, seed):
    """Gains 0.85-1.15 on every lead not in ``fixed``; every other free lead rotated by 5-10 deg."""
    rng = np.random.default_rng(seed)
    gains = rng.uniform(0.85, 1.15, lead.shape[0])
    gains[fixed] = 1.0
    rotated = lead.copy()
    angles = np.zeros(lead.shape[0])
    free = [i for i in range(lead.shape[0]) if i not in fixed]
    for i in free[::2]:
        angles[i] = rng.uniform(5.0, 10.0)
        axis = np.cross(lead[i], rng.standard_normal(3))
        rotated[i] = rotation(axis, math.radians(angles[i])) @ lead[i]
    return gains, gains[:, None] * rotated, angles


def held_out_error(matrix, true_matrix, p, inputs, targets):
    """RMSE (mV) of leads ``targets`` predicted from leads ``inputs`` through a lead matrix."""
    clean = true_matrix @ p
    estimate = np.linalg.lstsq(matrix[inputs], clean[inputs], rcond=None)[0]
    return float(np.sqrt(np.mean((matrix[targets] @ estimate - clean[targets]) ** 2)))


def test_calibrate_leads_with_reference_heart_vector(leads, heart):
    names, lead = leads
    p, _ = heart
    gains, true_matrix, angles = perturbed_leads(lead, [0], seed=100)
    signals = true_matrix @ p + 0.01 * np.random.default_rng(101).standard_normal((12, p.shape[1]))
    calibration = calibrate_leads(
        signals, lead, reference_heart_vector=p, segment=(0, 2500), noise_std=0.01, lead_names=names
    )
    assert calibration.n_iterations == 1
    # 10 seeds: worst gain error 2.1 %, worst angle error 1.1 deg (limited by the weakest
    # direction of the heart vector over the segment, see calibrate_leads)
    assert np.max(np.abs(calibration.gains / gains - 1)) < 0.03
    assert np.max(np.abs(calibration.angle_offsets - angles)) < 2.0
    assert np.allclose(calibration.calibrated_lead_matrix(), true_matrix, rtol=0, atol=0.04 * np.abs(lead).max())


def test_calibrate_leads_blind(leads, heart):
    names, lead = leads
    p, _ = heart
    reference = rows(names, ("I", "aVF", "V2"))  # lead vectors spanning 3-D: gauge fully fixed
    gains, true_matrix, angles = perturbed_leads(lead, reference, seed=102)
    noise = np.random.default_rng(103).standard_normal((12, p.shape[1]))
    signals = true_matrix @ p + 0.01 * noise
    calibration = calibrate_leads(
        signals, lead, segment=(0, 2500), noise_std=0.01, reference_leads=("I", "aVF", "V2"), lead_names=names
    )
    assert calibration.reference_leads == ("I", "aVF", "V2")
    assert np.all(calibration.gains[reference] == 1.0)
    assert np.array_equal(calibration.lead_matrix[reference], lead[reference])
    # 10 seeds: worst gain error 2.7 %, worst angle error 1.8 deg
    assert np.max(np.abs(calibration.gains / gains - 1)) < 0.035
    assert np.max(np.abs(calibration.angle_offsets - angles)) < 2.5
    # held-out segment: the other nine leads predicted from I, II, V2
    inputs, targets = rows(names, ("I", "II", "V2")), [i for i in range(12) if names[i] not in ("I", "II", "V2")]
    later = p[:, 2500:]
    nominal_error = held_out_error(lead, true_matrix, later, inputs, targets)
    calibrated_error = held_out_error(calibration.calibrated_lead_matrix(), true_matrix, later, inputs, targets)
    assert calibrated_error < 0.5 * nominal_error
    # apply() removes the gains so that the rotated lead_matrix explains the signals
    corrected = calibration.apply(true_matrix @ later)
    assert np.allclose(corrected, calibration.lead_matrix @ later, atol=0.05 * np.abs(corrected).max())
    restored = LeadCalibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert np.array_equal(restored.gains, calibration.gains)
    assert np.array_equal(restored.lead_matrix, calibration.lead_matrix)
    assert restored.segment == (0, 2500) and restored.reference_leads == calibration.reference_leads


def test_calibrate_leads_single_reference_keeps_gain_one_and_predicts_better(leads, heart):
    names, lead = leads
    p, _ = heart
    gains, true_matrix, _ = perturbed_leads(lead, [0], seed=104)
    signals = true_matrix @ p + 0.02 * np.random.default_rng(105).standard_normal((12, p.shape[1]))
    calibration = calibrate_leads(signals, lead, segment=(0, 2500), noise_std=0.02, lead_names=names)
    assert calibration.reference_leads == ("I",)
    assert calibration.gains[0] == 1.0 and np.array_equal(calibration.lead_matrix[0], lead[0])
    assert np.all(calibration.angle_offsets <= 20.0 + 1.0)
    inputs, targets = rows(names, ("I", "II", "V2")), [i for i in range(12) if names[i] not in ("I", "II", "V2")]
    later = p[:, 2500:]
    nominal_error = held_out_error(lead, true_matrix, later, inputs, targets)
    calibrated_error = held_out_error(calibration.calibrated_lead_matrix(), true_matrix, later, inputs, targets)
    assert calibrated_error < 0.5 * nominal_error
    assert np.all(calibration.residual_std < 0.025)  # the fit reaches the noise level (0.02 mV)


# ------------------------------------------------------------------ bad input


def test_bad_calibration_input_is_refused(signals_and_a_nan):
    lead, signals, bad = signals_and_a_nan
    with pytest.raises(ValueError, match="signals contains"):
        calibrate_leads(bad, lead)
    with pytest.raises(ValueError, match="smoothness must be a finite non-negative"):
        calibrate_leads(signals, lead, smoothness=-1.0)
    with pytest.raises(ValueError, match="gain_bounds"):
        calibrate_leads(signals, lead, gain_bounds=(1.2, 1.4))
    with pytest.raises(ValueError, match="reference_leads"):
        calibrate_leads(signals, lead, reference_leads="V9")
    with pytest.raises(ValueError, match="segment"):
        calibrate_leads(signals, lead, segment=(50, 500))
