"""Cycle sets: simulated cycles with known ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from hybridfield.cycles import simulated_cycles


def test_simulated_cycles_have_consistent_ground_truth() -> None:
    cycles = simulated_cycles(2, n_random_views=3, noise_mv=0.0, duration=4.0, random_seed=0)
    names = cycles.target_names
    assert names[:12] == ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    assert names[12:] == ("sim",) * 3 and len(cycles) >= 4
    truth = cycles.targets
    lead = {name: truth[:, k] for k, name in enumerate(names[:12])}
    np.testing.assert_allclose(lead["III"], lead["II"] - lead["I"], atol=1e-5)  # the person keeps Einthoven
    np.testing.assert_allclose(lead["aVF"], lead["II"] - lead["I"] / 2, atol=1e-5)
    for k, name in enumerate(cycles.input_names):  # inputs are the true views themselves
        np.testing.assert_allclose(cycles.inputs[:, k], lead[name], atol=1e-6)
        np.testing.assert_allclose(cycles.physical[:, names.index(name)], lead[name], atol=1e-5)
    # the person is not the default torso: the physics misses some of every precordial
    assert np.abs(cycles.physical[:, names.index("V2")] - lead["V2"]).max() > 1e-3
    held_out = simulated_cycles(1, exclude_views=("I", "V4"), n_random_views=2, duration=4.0, random_seed=1)
    assert "I" not in held_out.target_names and "V4" not in held_out.target_names
    with pytest.raises(ValueError, match="n_records must be a positive integer"):
        simulated_cycles(0)
