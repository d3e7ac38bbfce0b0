"""hybridfield.leads: the lead identities kept by the physics and the network (minimum-norm
identity weights with one limb lead, projection of limb residuals onto the identities)."""

from __future__ import annotations

import numpy as np
import pytest

from hybridfield.leads import (
    identity_weights,
    input_combinations,
    lead_vector_array,
    limb_residual_directions,
    project_limb_residuals,
)


def test_identity_weights_are_the_minimum_norm_correction_with_one_limb_lead() -> None:
    views = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V4", (1.0, 2.0)]
    # two limb leads among the inputs: every limb lead is exact, the weights are the identities
    np.testing.assert_array_equal(identity_weights(views, ["I", "II", "V5"]), input_combinations(views, ["I", "II", "V5"]))
    # one limb lead (II): the other limb leads carry c_v . c_II / |c_II|^2 of its misfit, nothing else
    weights = identity_weights(views, ["II", "V2", "V5"])
    vectors = lead_vector_array(["I", "II", "III", "aVR", "aVL", "aVF"])
    expected = vectors @ vectors[1] / (vectors[1] @ vectors[1])
    np.testing.assert_allclose(weights[:6, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(weights[:6, 1:], 0.0, atol=1e-12)
    np.testing.assert_allclose(weights[6:], 0.0, atol=1e-12)  # precordial and angle views: no identity
    # the weights obey the identities themselves: I + III = II, aVR = -(I + II)/2
    assert weights[0, 0] + weights[2, 0] == pytest.approx(1.0, abs=1e-12)
    assert weights[3, 0] == pytest.approx(-(weights[0, 0] + 1.0) / 2, abs=1e-12)
    assert 0.05 < weights[0, 0] < 0.95  # a real split between I and III, not all on one lead
    # no limb lead among the inputs: nothing ties the limb leads to them
    chest_only = identity_weights(views, ["V1", "V2", "V5"])
    np.testing.assert_allclose(chest_only[:6], 0.0, atol=1e-12)
    np.testing.assert_allclose(chest_only[6], [1.0, 0.0, 0.0], atol=1e-12)  # V1 is an input itself


def test_limb_residual_projection_keeps_identities_and_never_adds_error() -> None:
    views = ["I", "II", "III", "aVR", "aVL", "aVF", "V1"]
    directions = limb_residual_directions(views, ["II", "V2", "V5"])
    assert directions[1] == 0 and directions[6] == 0 and np.all(directions[[0, 2, 3, 4, 5]] != 0)
    np.testing.assert_allclose(limb_residual_directions(views, ["I", "II", "V5"]), 0.0)
    rng = np.random.default_rng(7)
    # in (I, II) coordinates: I = (1, 0), II = (0, 1), III = (-1, 1), aVR = (-1/2, -1/2), ...
    coordinates = np.array([[1, 0], [0, 1], [-1, 1], [-0.5, -0.5], [1, -0.5], [-0.5, 1]])
    for _ in range(50):
        # a true residual that keeps the identities with II measured (0 on II), plus network error
        truth = np.zeros((3, 7, 40))
        truth[:, :6] = coordinates[None, :, 0, None] * rng.normal(size=(3, 1, 40))
        learned = truth + rng.normal(scale=rng.uniform(0.1, 2.0), size=truth.shape)
        learned[:, 1] = 0.0  # the measured lead has no residual (exact)
        projected = project_limb_residuals(learned, directions)
        # Einthoven (I + III = II, here in residuals: 0) and Goldberger hold exactly
        np.testing.assert_allclose(projected[:, 0] + projected[:, 2], 0.0, atol=1e-12)
        np.testing.assert_allclose(projected[:, 3], -projected[:, 0] / 2, atol=1e-12)
        np.testing.assert_allclose(projected[:, 4], projected[:, 0], atol=1e-12)
        np.testing.assert_allclose(projected[:, 5], -projected[:, 0] / 2, atol=1e-12)
        np.testing.assert_array_equal(projected[:, 6], learned[:, 6])  # V1 untouched
        limb = slice(0, 6)
        before = np.sum((learned[:, limb] - truth[:, limb]) ** 2)
        after = np.sum((projected[:, limb] - truth[:, limb]) ** 2)
        assert after <= before + 1e-9
    # the scale of the directions is arbitrary
    np.testing.assert_allclose(project_limb_residuals(learned, -3 * directions), projected, atol=1e-12)
