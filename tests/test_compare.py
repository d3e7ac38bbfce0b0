"""Tests of hybridfield.compare: physical vs unit-vector (Nef-Net) vs learned lead fields.

The model is a stand-in with the HybridPanorama interface whose physics is the default torso's
BEM lead vectors (forward.lead_vectors / forward.view_lead_vectors) and whose heart vector is
fitted exactly from three input leads, so every expected value has an independent closed form:
the physical field is a pure dipole projection (dipolar fraction 1, effective lead vector = the
physical one), the unit-vector field's effective lead vector is g u(theta, phi), and a learned
output of "physical + a residual orthogonal to the heart vector" has the dipolar fraction
||s_c||^2 / (||s_c||^2 + ||q||^2) and r = sqrt of it.

Units: signals mV, heart vectors mA*m (body frame: x anterior, y left, z superior), lead vectors
mV per mA*m, views (theta, phi) in radians.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import forward
from geometry import STANDARD_LEAD_ANGLES, default_torso, direction_from_angles
from hybridfield import ECG
from hybridfield.leads import view_label
from hybridfield.compare import (
    COMPARISON_METRICS,
    FIELDS,
    compare_fields,
    dipolar_fraction,
    effective_lead_vectors,
    sphere_view_grid,
)

FS = 500.0
INPUTS = ("I", "II", "V5")
TORSO = default_torso()  # one torso object: the BEM is cached per torso


class StandInPanorama:
    """HybridPanorama's interface with physics only: predict = physical + an optional residual.

    Parameters
    ----------
    residual : callable, optional
        ``residual(theta, phi, n_samples) -> (n_samples,)`` mV added to the physical signal of a
        view by :meth:`predict`; named leads use their Nef-Net angles.
    """

    input_leads_default = INPUTS

    def __init__(self, residual=None):
        self.residual = residual
        self._cache: dict = {}
        self.calls: list[str] = []

    def _vector(self, view):
        key = view if isinstance(view, str) else (float(view[0]), float(view[1]))
        if key not in self._cache:
            if isinstance(key, str):
                self._cache[key] = forward.lead_vectors(TORSO, [key])[key]
            else:
                self._cache[key] = forward.view_lead_vectors(TORSO, key[0], key[1])
        return self._cache[key]

    def lead_vectors(self, views):
        missing = [view for view in views if not isinstance(view, str)]
        missing = [v for v in missing if (float(v[0]), float(v[1])) not in self._cache]
        if missing:  # one BEM evaluation for all new views
            vectors = forward.view_lead_vectors(TORSO, [v[0] for v in missing], [v[1] for v in missing])
            for view, vector in zip(missing, vectors):
                self._cache[(float(view[0]), float(view[1]))] = vector
        return np.array([self._vector(view) for view in views])

    def prepare(self, ecg):
        return ecg

    def heart_vector(self, ecg, *, inputs=None):
        names = list(inputs or self.input_leads_default)
        matrix = self.lead_vectors(names)
        return np.linalg.lstsq(matrix, ecg.select(names).signals, rcond=None)[0]

    def _names(self, views):
        return [view if isinstance(view, str) else view_label(view[0], view[1]) for view in views]

    def physical(self, ecg, views, *, inputs=None):
        self.calls.append("physical")
        signals = self.lead_vectors(views) @ self.heart_vector(ecg, inputs=inputs)
        names = self._names(views)
        return ECG(signals, ecg.fs, names, virtual=names)

    def predict(self, ecg, views, *, inputs=None, residual=True):
        self.calls.append("predict")
        base = self.physical(ecg, views, inputs=inputs)
        self.calls.pop()
        signals = np.array(base.signals)
        if residual and self.residual is not None:
            for row, view in enumerate(views):
                theta, phi = STANDARD_LEAD_ANGLES[view] if isinstance(view, str) else view
                signals[row] += self.residual(theta, phi, signals.shape[1])
        return ECG(signals, ecg.fs, base.lead_names, virtual=base.lead_names)


@pytest.fixture(scope="module")
def heart_vector() -> np.ndarray:
    return forward.simulate_heart_vector(3.0, FS, random_seed=7)


@pytest.fixture(scope="module")
def ecg(heart_vector) -> ECG:
    names, matrix = forward.lead_matrix(TORSO, "standard12")
    return ECG.from_array(matrix @ heart_vector, FS, names)


@pytest.fixture(scope="module")
def model() -> StandInPanorama:
    return StandInPanorama()


@pytest.fixture(scope="module")
def grid(ecg, model):
    return compare_fields(ecg, model=model, n_theta=5, n_phi=8)


def _orthogonal_noise(heart_vector: np.ndarray, seed: int) -> np.ndarray:
    """A zero-mean signal orthogonal to every centred heart-vector component."""
    noise = np.random.default_rng(seed).standard_normal(heart_vector.shape[1])
    centred = heart_vector - heart_vector.mean(axis=1, keepdims=True)
    noise -= noise.mean()
    noise -= centred.T @ np.linalg.solve(centred @ centred.T, centred @ noise)
    return noise


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_sphere_view_grid_covers_the_sphere_without_poles():
    theta, phi = sphere_view_grid(7, 12)
    assert theta.shape == (7,) and phi.shape == (12,)
    np.testing.assert_allclose(np.diff(theta), math.pi / 7)
    assert theta[0] > 0 and theta[-1] < math.pi
    np.testing.assert_allclose(theta[0] + theta[-1], math.pi)  # symmetric about the equator
    assert phi[0] == -math.pi and phi[-1] < math.pi
    np.testing.assert_allclose(np.diff(phi), 2 * math.pi / 12)
    assert np.any(np.isclose(phi, 0.0)) and np.any(np.isclose(theta, math.pi / 2))


@pytest.mark.parametrize(
    "n_theta, n_phi, error", [(1, 12, ValueError), (7, 1, ValueError), (7.0, 12, TypeError), (True, 12, TypeError)]
)
def test_sphere_view_grid_rejects_bad_sizes(n_theta, n_phi, error):
    with pytest.raises(error, match="n_theta|n_phi"):
        sphere_view_grid(n_theta, n_phi)


def test_effective_lead_vectors_and_dipolar_fraction_recover_a_dipole(heart_vector):
    vectors = np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7]])
    offset = np.array([[0.05], [-0.2]])  # baseline offsets are not a dipole feature
    signals = vectors @ heart_vector + offset
    np.testing.assert_allclose(effective_lead_vectors(signals, heart_vector), vectors, rtol=1e-9)
    np.testing.assert_allclose(effective_lead_vectors(signals[0], heart_vector), vectors[0], rtol=1e-9)
    np.testing.assert_allclose(dipolar_fraction(signals, heart_vector), 1.0, atol=1e-12)
    centred = signals[0] - signals[0].mean()
    noise = _orthogonal_noise(heart_vector, 3)
    noise *= 0.8 * np.linalg.norm(centred) / np.linalg.norm(noise)
    single = signals[0] + noise
    expected = centred @ centred / (centred @ centred + noise @ noise)
    assert 0.05 < expected < 0.95
    assert dipolar_fraction(single, heart_vector) == pytest.approx(expected, rel=1e-10)


def test_dipolar_fraction_rejects_constant_signals_and_flat_heart_vectors(heart_vector):
    with pytest.raises(ValueError, match="constant"):
        dipolar_fraction(np.ones(heart_vector.shape[1]), heart_vector)
    flat = heart_vector.copy()
    flat[2] = 0.5 * flat[0] - flat[1]  # the loop lies in a plane
    with pytest.raises(ValueError, match="three dimensions"):
        effective_lead_vectors(heart_vector[0], flat)
    with pytest.raises(ValueError, match="same number of samples"):
        dipolar_fraction(heart_vector[0, :-1], heart_vector)
    with pytest.raises(ValueError, match=r"\(3, n_samples\)"):
        dipolar_fraction(heart_vector[0], heart_vector[:2])


# --------------------------------------------------------------------------------------------
# compare_fields on the grid
# --------------------------------------------------------------------------------------------


def test_grid_dataset_layout_and_units(grid, ecg):
    theta, phi = sphere_view_grid(5, 8)
    assert grid.sizes["field"] == 3 and grid.sizes["theta"] == 5 and grid.sizes["phi"] == 8
    assert grid.sizes["axis"] == 3 and grid.sizes["time"] == ecg.n_samples
    assert list(grid["field"].values) == list(FIELDS)
    assert list(grid["axis"].values) == ["x", "y", "z"]
    np.testing.assert_allclose(grid["theta"].values, theta)
    np.testing.assert_allclose(grid["phi"].values, phi)
    np.testing.assert_allclose(grid["theta_degrees"].values, np.degrees(theta))
    np.testing.assert_allclose(grid["time"].values, np.arange(ecg.n_samples) / FS)
    assert grid["theta"].attrs["units"] == "rad" and grid["phi_degrees"].attrs["units"] == "degree"
    for name in COMPARISON_METRICS:
        assert grid[name].dims == ("field", "theta", "phi")
        assert np.all(np.isfinite(grid[name].values)), name
    assert grid["effective_lead_vector"].dims == ("field", "theta", "phi", "axis")
    assert grid["signal"].dims == ("field", "theta", "phi", "time")
    assert grid["rmse"].attrs["units"] == "mV"
    assert grid["lead_vector_angle"].attrs["units"] == "degree"
    assert grid["signal"].attrs["units"] == "mV" and grid["heart_vector"].attrs["units"] == "mA*m"
    assert grid["lead_vector"].attrs["units"] == "mV/(mA*m)"
    assert grid.attrs["fs"] == FS and grid.attrs["inputs"] == "I, II, V5"


def test_learned_equals_physical_when_the_model_has_no_residual(grid, heart_vector):
    physical, learned = grid.sel(field="physical"), grid.sel(field="learned")
    np.testing.assert_allclose(learned["rmse"], 0.0, atol=1e-12)
    np.testing.assert_allclose(learned["r"], 1.0, atol=1e-12)
    np.testing.assert_allclose(learned["amplitude_ratio"], 1.0, atol=1e-12)
    np.testing.assert_allclose(learned["lead_vector_angle"], 0.0, atol=1e-5)
    for name in COMPARISON_METRICS:
        np.testing.assert_allclose(learned[name], physical[name], atol=1e-5)
    # The physical signal is the lead vector applied to the heart vector, and the heart vector
    # came back exactly from the three input leads.
    np.testing.assert_allclose(grid["heart_vector"], heart_vector, atol=1e-9 * np.abs(heart_vector).max())
    expected = np.einsum("tpa,an->tpn", grid["lead_vector"].values, heart_vector)
    np.testing.assert_allclose(physical["signal"], expected, atol=1e-9 * np.abs(expected).max())


def test_physical_field_is_a_pure_dipole_with_its_own_lead_vector(grid):
    physical = grid.sel(field="physical")
    np.testing.assert_allclose(physical["dipolar_fraction"], 1.0, atol=1e-9)
    np.testing.assert_allclose(physical["effective_lead_vector"], grid["lead_vector"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(physical["lead_vector_norm_ratio"], 1.0, atol=1e-9)
    # The reference lead vectors are the torso's, computed here independently.
    theta, phi = np.meshgrid(grid["theta"].values, grid["phi"].values, indexing="ij")
    independent = forward.view_lead_vectors(TORSO, theta.ravel(), phi.ravel()).reshape(theta.shape + (3,))
    np.testing.assert_allclose(grid["lead_vector"], independent, rtol=1e-12)


def test_unit_vector_field_is_parallel_to_the_view_direction(grid, ecg):
    unit = grid.sel(field="unit_vector")
    theta, phi = np.meshgrid(grid["theta"].values, grid["phi"].values, indexing="ij")
    u = direction_from_angles(theta, phi)
    np.testing.assert_allclose(grid["direction"], u, atol=1e-15)
    effective = unit["effective_lead_vector"].values
    gain = grid.attrs["unit_vector_gain"]
    np.testing.assert_allclose(effective, gain * u, rtol=1e-7, atol=1e-9 * gain)
    np.testing.assert_allclose(unit["dipolar_fraction"], 1.0, atol=1e-9)
    # Angle to the physical lead vector == angle between u and the torso lead vector.
    physical_vectors = forward.view_lead_vectors(TORSO, theta.ravel(), phi.ravel()).reshape(theta.shape + (3,))
    cosine = np.einsum("tpa,tpa->tp", u, physical_vectors) / np.linalg.norm(physical_vectors, axis=-1)
    np.testing.assert_allclose(unit["lead_vector_angle"], np.degrees(np.arccos(cosine)), atol=1e-5)
    assert float(unit["lead_vector_angle"].max()) > 5.0  # the torso is not a sphere: a real difference
    # The gain is the least-squares gain of g u(view of input) . p against the measured inputs.
    p = grid["heart_vector"].values
    views = np.array([STANDARD_LEAD_ANGLES[name] for name in INPUTS])
    ideal = direction_from_angles(views[:, 0], views[:, 1]) @ p
    ideal -= ideal.mean(axis=1, keepdims=True)
    measured = ecg.select(list(INPUTS)).signals
    measured = measured - measured.mean(axis=1, keepdims=True)
    assert gain == pytest.approx(np.sum(ideal * measured) / np.sum(ideal * ideal), rel=1e-10)
    # Its metrics against the physical signal, by hand at one view.
    signal = unit["signal"].values[1, 3]
    reference = grid.sel(field="physical")["signal"].values[1, 3]
    assert float(unit["rmse"][1, 3]) == pytest.approx(np.sqrt(np.mean((signal - reference) ** 2)), rel=1e-12)
    assert float(unit["r"][1, 3]) == pytest.approx(np.corrcoef(signal, reference)[0, 1], rel=1e-10)
    assert float(unit["amplitude_ratio"][1, 3]) == pytest.approx(np.ptp(signal) / np.ptp(reference), rel=1e-12)


def test_explicit_unit_vector_gain_scales_amplitudes_not_angles(grid, ecg, model):
    doubled = compare_fields(
        ecg, model=model, n_theta=5, n_phi=8, unit_vector_gain=2.0 * grid.attrs["unit_vector_gain"], keep_signals=False
    )
    assert "signal" not in doubled and doubled.attrs["unit_vector_gain_source"] == "given"
    one, two = grid.sel(field="unit_vector"), doubled.sel(field="unit_vector")
    np.testing.assert_allclose(two["amplitude_ratio"], 2.0 * one["amplitude_ratio"], rtol=1e-10)
    np.testing.assert_allclose(two["lead_vector_angle"], one["lead_vector_angle"], atol=1e-6)
    np.testing.assert_allclose(two["r"], one["r"], atol=1e-12)


def test_non_dipolar_learned_residual_lowers_the_dipolar_fraction(ecg, heart_vector):
    noise = _orthogonal_noise(heart_vector, 11)

    def residual(theta, phi, n_samples):
        return (0.2 + 0.1 * math.cos(phi)) * noise * (1.0 + theta)

    model = StandInPanorama(residual=residual)
    result = compare_fields(ecg, model=model, n_theta=3, n_phi=4)
    learned, physical = result.sel(field="learned"), result.sel(field="physical")
    # Hand computation: the residual is orthogonal to the centred heart vector, so the
    # least-squares lead vector is still the physical one and R^2 = ||s_c||^2 / (||s_c||^2 + ||q||^2).
    for i, theta in enumerate(result["theta"].values):
        for j, phi in enumerate(result["phi"].values):
            s = physical["signal"].values[i, j]
            s_c = s - s.mean()
            q = residual(theta, phi, s.size)
            expected = s_c @ s_c / (s_c @ s_c + q @ q)
            assert float(learned["dipolar_fraction"][i, j]) == pytest.approx(expected, rel=1e-9)
            assert float(learned["r"][i, j]) == pytest.approx(math.sqrt(expected), rel=1e-9)
            assert float(learned["rmse"][i, j]) == pytest.approx(np.sqrt(np.mean(q**2)), rel=1e-9)
    assert float(learned["dipolar_fraction"].max()) < 0.999
    assert float(learned["dipolar_fraction"].min()) > 0.0
    np.testing.assert_allclose(learned["lead_vector_angle"], 0.0, atol=1e-5)
    np.testing.assert_allclose(learned["effective_lead_vector"], result["lead_vector"], rtol=1e-7, atol=1e-9)


def test_model_is_called_once_per_output_for_all_views(ecg):
    model = StandInPanorama()
    compare_fields(ecg, model=model, n_theta=2, n_phi=3, keep_signals=False)
    assert model.calls == ["physical", "predict"]


# --------------------------------------------------------------------------------------------
# compare_fields on named leads and given views
# --------------------------------------------------------------------------------------------


def test_named_leads_and_views_give_a_view_dimension(ecg, model):
    views = ["v1", "V7", (2.3, 1.75)]
    result = compare_fields(ecg, views, model=model)
    assert result["rmse"].dims == ("field", "view")
    assert list(result["view"].values) == ["V1", "V7", "view(131.78,100.268)"]  # leads.view_label
    np.testing.assert_allclose(result["theta"].values[0], STANDARD_LEAD_ANGLES["V1"][0])
    np.testing.assert_allclose(result["phi"].values[2], 1.75)
    # V7 is not in Nef-Net's table: its unit vector points at its electrode on the torso.
    from geometry import electrode_positions

    expected_direction = electrode_positions(TORSO, "posterior")["V7"] - TORSO.heart_center
    expected_direction /= np.linalg.norm(expected_direction)
    np.testing.assert_allclose(result["direction"].values[1], expected_direction, atol=1e-9)
    # The named leads' physical lead vectors are the torso's own.
    torso_vectors = forward.lead_vectors(TORSO, ["V1", "V7"])
    np.testing.assert_allclose(result["lead_vector"].values[:2], np.array(list(torso_vectors.values())), rtol=1e-12)
    np.testing.assert_allclose(result.sel(field="physical")["dipolar_fraction"], 1.0, atol=1e-9)
    np.testing.assert_allclose(result.sel(field="learned")["rmse"], 0.0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "views, kwargs, error, match",
    [
        ([(4.0, 0.0)], {}, ValueError, r"views\[0\].*out of range"),
        ([(1.0, 3.5)], {}, ValueError, r"views\[0\].*out of range"),
        ([(1.0, 0.2, 0.3)], {}, ValueError, r"views\[0\].*\(theta, phi\)"),
        (["V1", "nope"], {}, ValueError, r"views\[1\].*unknown lead"),
        (["X"], {}, ValueError, r"views\[0\].*has no view angle"),
        (["V1", "v1"], {}, ValueError, "unique"),
        ([], {}, ValueError, "empty"),
        (None, {"n_theta": 1}, ValueError, "n_theta"),
        (None, {"n_phi": 0}, ValueError, "n_phi"),
        (None, {"inputs": ["I", "V9"]}, ValueError, "V9 not in ecg"),
        (None, {"unit_vector_gain": -1.0}, ValueError, "unit_vector_gain"),
        (["V1"], {"model": object()}, TypeError, "HybridPanorama interface"),
    ],
)
def test_bad_input_raises(ecg, model, views, kwargs, error, match):
    arguments = {"model": model, "n_theta": 2, "n_phi": 2, **kwargs}
    with pytest.raises(error, match=match):
        compare_fields(ecg, views, **arguments)


def test_bad_ecg_and_missing_default_inputs_raise(ecg, model):
    with pytest.raises(TypeError, match="ecg must be a hybridfield.ECG"):
        compare_fields(ecg.signals, model=model)
    with pytest.raises(ValueError, match="V5 not in ecg"):
        compare_fields(ecg.drop_leads("V5"), ["V1"], model=model)


def test_model_breaking_the_contract_is_reported(ecg):
    class ShortPredict(StandInPanorama):
        def predict(self, ecg, views, *, inputs=None, residual=True):
            out = super().predict(ecg, views, inputs=inputs, residual=residual)
            return out.select(list(out.lead_names)[::-1])

    with pytest.raises(ValueError, match="model.predict returned lead 'V2' where view 'V1'"):
        compare_fields(ecg, ["V1", "V2"], model=ShortPredict())


def test_constant_learned_output_gives_nan_with_a_warning(ecg, heart_vector):
    class FlatPredict(StandInPanorama):
        def predict(self, ecg, views, *, inputs=None, residual=True):
            out = super().predict(ecg, views, inputs=inputs, residual=residual)
            signals = np.array(out.signals)
            signals[0] = 0.1
            return ECG(signals, out.fs, out.lead_names)

    with pytest.warns(UserWarning, match="learned at V1"):
        result = compare_fields(ecg, ["V1", "V2"], model=FlatPredict())
    learned = result.sel(field="learned")
    assert np.isnan(learned["r"].values[0]) and np.isnan(learned["dipolar_fraction"].values[0])
    assert np.isfinite(learned["r"].values[1]) and np.isfinite(learned["rmse"].values[0])
