"""The hybrid panorama: checkpoints, the physics-only projection, the bundled weights' seamless
stitching, input checks and the measured leads' identities kept."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nefnet_batches import random_batch, run_network  # noqa: E402

from hybridfield.leads import default_torso, input_combinations  # noqa: E402
from hybridfield.nefnet import NefNet, NefNetConfig  # noqa: E402
from hybridfield.panorama import HybridPanorama  # noqa: E402
from hybridfield.preparation import prepare_record  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def record():
    from hybridfield import read_wfdb

    return read_wfdb(DATA / "cinc2021" / "E07501")


def test_checkpoint_round_trip_is_exact(tmp_path: Path) -> None:
    torch.manual_seed(4)
    network = NefNet(NefNetConfig(channels=8)).eval()
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.1)
    model = HybridPanorama(network, input_leads=("II", "V2", "V5"))
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = HybridPanorama.load(path)
    assert loaded.input_leads == ("II", "V2", "V5")
    assert loaded.contract["fs"] == 500.0 and loaded.contract["units"] == "mV"
    assert "angle_convention" in loaded.contract
    batch = random_batch(network.config, seed=9)
    with torch.no_grad():
        assert torch.equal(run_network(network, batch), run_network(loaded.network, batch))
    # a file that is not a checkpoint is refused with a clear message
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a HybridPanorama checkpoint"):
        HybridPanorama.load(tmp_path / "other.pt")


def test_physics_only_panorama_is_the_physical_answer_and_the_projection_stays_by_name(record) -> None:
    import forward

    from hybridfield.posterior import physical_answer

    model = HybridPanorama(None)
    views = ["V1", (1.2, 2.0)]
    physical = model.predict(record, views)
    answer, vector = physical_answer(record, views, inputs=["I", "II", "V5"])
    np.testing.assert_allclose(physical.signals, answer, atol=1e-12)
    np.testing.assert_allclose(model.physical(record, views).signals, answer, atol=1e-12)
    assert set(physical.virtual) == set(physical.lead_names)
    assert physical.lead_names[1].startswith("view(")
    assert physical.fs == 500.0
    # the plain projection through the default torso's own lead vectors, for comparisons
    projection = model.projection(record, views)
    lead_vectors = forward.lead_vectors(default_torso(), ["V1", (1.2, 2.0)])
    from hybridfield import default_population_model
    from hybridfield.physics import record_heart_vector

    fitted = record_heart_vector(prepare_record(record), ["I", "II", "V5"], default_population_model())
    expected = np.array(list(lead_vectors.values())) @ fitted
    np.testing.assert_allclose(projection.signals, expected, atol=1e-12)
    assert np.abs(projection.signals - physical.signals).max() > 0.01  # two different physics


def test_pretrained_hybrid_stitches_cycles_without_seams(record) -> None:
    from hybridfield import HybridPanorama

    model = HybridPanorama.pretrained()
    size = (Path(__import__("hybridfield").__file__).parent / "resources" / "hybrid_default.pt").stat().st_size
    assert size < 10e6
    views = ["V1", "V4", (1.6, 2.3)]
    hybrid = model.predict(record, views)
    physical = model.physical(record, views)
    residual = hybrid.signals - physical.signals
    assert np.all(np.isfinite(residual))
    assert np.abs(residual).max() > 1e-4  # the learned part does something
    # one cycle per beat, abutting; the residual is tapered to exactly 0 at every joint
    cycles = model.cycles(prepare_record(record))
    assert cycles.n_cycles >= 5
    np.testing.assert_array_equal(cycles.stop[:-1], cycles.start[1:])
    np.testing.assert_allclose(residual[:, cycles.start[1:]], 0.0, atol=1e-6)
    np.testing.assert_allclose(residual[:, cycles.start[1:] - 1], 0.0, atol=1e-6)
    # the record's ends get the nearest cycle's residual, not nothing
    assert np.abs(residual[:, : cycles.start[0]]).max() > 0 or cycles.start[0] == 0


def test_a_record_without_beats_gets_the_physical_answer_and_a_warning(record) -> None:
    import dataclasses

    from hybridfield import HybridPanorama, RecordQualityWarning
    from hybridfield.phases import phase_bins

    prepared = prepare_record(record)
    none = np.zeros(0, dtype=np.int64)
    segmentation = dataclasses.replace(
        prepared.segmentation, r_peak=none, p_onset=none, p_offset=none, qrs_onset=none, qrs_offset=none,
        t_onset=none, t_offset=none, valid=np.zeros(0, dtype=bool), beat_quality=np.array([], dtype=str),
    )
    beatless = dataclasses.replace(
        prepared, segmentation=segmentation, phase_bins=phase_bins(none, prepared.n_samples, prepared.fs), n_beats=0
    )
    model = HybridPanorama.pretrained()
    with pytest.warns(RecordQualityWarning, match="no beat detected"):
        hybrid = model.predict(beatless, ["V1", "V2"])
    np.testing.assert_allclose(hybrid.signals, model.physical(beatless, ["V1", "V2"]).signals, atol=1e-12)


def test_predict_rejects_bad_views_and_inputs(record) -> None:
    model = HybridPanorama(None)
    with pytest.raises(ValueError, match="non-empty sequence"):
        model.predict(record, "V1")
    with pytest.raises(ValueError, match="theta"):
        model.predict(record, [(4.0, 0.0)])
    with pytest.raises(ValueError, match="unknown lead name"):
        model.predict(record, ["V13"])
    with pytest.raises(ValueError, match="not usable leads"):
        model.predict(record, ["V1"], inputs=["I", "Z"])


def test_physical_projection_keeps_the_lead_identities_exactly(record) -> None:
    """III = II - I, aVR = -(I + II)/2 and an input reproduce the measured leads whatever the fit."""
    coefficients = input_combinations(["III", "aVR", "aVL", "aVF", "I", "V1", (1.0, 1.0)], ["I", "II", "V5"])
    np.testing.assert_allclose(
        coefficients,
        [[-1, 1, 0], [-0.5, -0.5, 0], [1, -0.5, 0], [-0.5, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]],
        atol=1e-12,
    )
    model = HybridPanorama(None)
    prepared = model.prepare(record)
    physical = model.physical(record, ["III", "aVR", "V5", "V1"], inputs=["I", "II", "V5"])
    np.testing.assert_allclose(physical["III"], prepared["II"] - prepared["I"], atol=1e-12)
    np.testing.assert_allclose(physical["aVR"], -(prepared["I"] + prepared["II"]) / 2, atol=1e-12)
    np.testing.assert_allclose(physical["V5"], prepared["V5"], atol=1e-12)
    assert np.abs(physical["V1"] - prepared["V1"]).max() > 0.01  # a precordial is predicted, not copied


def test_one_measured_limb_lead_keeps_einthoven_and_goldberger(record) -> None:
    """Inputs II, V2, V5: the panorama's limb leads obey the identities with the measured II."""
    from hybridfield import HybridPanorama

    limb = ["I", "II", "III", "aVR", "aVL", "aVF"]
    model = HybridPanorama.pretrained()
    measured = model.prepare(record)["II"]
    for residual in (False, True):
        leads = model.predict(record, [*limb, "V1"], inputs=["II", "V2", "V5"], residual=residual)
        lead_i, lead_ii, lead_iii = leads["I"], leads["II"], leads["III"]
        scale = np.abs(measured).max()
        np.testing.assert_allclose(lead_ii, measured, atol=1e-9 * scale)
        np.testing.assert_allclose(lead_i + lead_iii, measured, atol=1e-9 * scale)
        np.testing.assert_allclose(leads["aVR"], -(lead_i + measured) / 2, atol=1e-9 * scale)
        np.testing.assert_allclose(leads["aVL"], lead_i - measured / 2, atol=1e-9 * scale)
        np.testing.assert_allclose(leads["aVF"], measured - lead_i / 2, atol=1e-9 * scale)
    physical = model.physical(record, limb, inputs=["II", "V2", "V5"])
    assert np.abs(leads["I"] - physical["I"]).max() > 1e-3  # the learned residual reaches the limb leads
    # a limb lead's prediction does not depend on which other views were asked for
    alone = model.predict(record, ["aVF"], inputs=["II", "V2", "V5"])
    np.testing.assert_allclose(alone["aVF"], leads["aVF"], atol=1e-6)
