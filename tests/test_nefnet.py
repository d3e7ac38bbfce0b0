"""The Nef-Net residual and the hybrid panorama: ROIAlign algebra, exact physics with the residual
off, overfitting a tiny set, gradients everywhere, exact checkpoints, seamless stitching, the
bundled weights and the protocol scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hybridfield.nefnet import (  # noqa: E402
    NefNet,
    NefNetConfig,
    angular_encoding,
    cycle_taper,
    region_boundaries,
    reverse_roi_align,
    roi_align,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SMALL = NefNetConfig(length=128, channels=8, basic_bins=8, region_bins=6, angle_hidden=16, taper_samples=8)


def _regions(lengths: list[int], length: int, rng: np.random.Generator) -> np.ndarray:
    """Contiguous region codes 0..5 over each cycle's length, 6 on the padding."""
    labels = np.full((len(lengths), length), 6, dtype=np.int64)
    for k, size in enumerate(lengths):
        cuts = np.sort(rng.choice(np.arange(1, size), size=5, replace=False))
        edges = [0, *cuts, size]
        for code in range(6):
            labels[k, edges[code] : edges[code + 1]] = code
    return labels


def _batch(config: NefNetConfig, n: int = 4, n_inputs: int = 3, n_queries: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    length = config.length
    lengths = rng.integers(length // 2, length + 1, size=n)
    t = np.arange(length) / length
    signals = np.zeros((n, n_inputs, length), dtype=np.float32)
    for k in range(n):
        for i in range(n_inputs):
            signals[k, i, : lengths[k]] = (rng.uniform(0.5, 2) * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6)))[: lengths[k]]
    physical = np.zeros((n, n_queries, length), dtype=np.float32)
    for k in range(n):
        physical[k, :, : lengths[k]] = rng.normal(size=(n_queries, 1)) * signals[k, :1, : lengths[k]]
    return {
        "signals": torch.from_numpy(signals),
        "angles": torch.tensor(rng.uniform([0, -math.pi], [math.pi, math.pi], size=(n_inputs, 2)), dtype=torch.float32),
        "query_angles": torch.tensor(rng.uniform([0, -math.pi], [math.pi, math.pi], size=(n_queries, 2)), dtype=torch.float32),
        "regions": torch.from_numpy(_regions(list(lengths), length, rng)),
        "lengths": torch.from_numpy(lengths.astype(np.int64)),
        "physical": torch.from_numpy(physical),
    }


def _run(network: NefNet, batch: dict, **kwargs):
    return network(batch["signals"], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], batch["physical"], **kwargs)


def _with_kept_targets(cycles, values: np.ndarray):
    """``cycles`` with targets replaced by ``values`` inside each cycle on the views that are not
    exact combinations of the inputs (the ones the linear path is fitted on)."""
    import dataclasses

    keep = ~cycles.exact_views
    inside = (np.arange(cycles.targets.shape[2])[None, :] < cycles.lengths[:, None])[:, None, :]
    return dataclasses.replace(cycles, targets=np.where(keep[None, :, None] & inside, values, cycles.targets).astype(np.float32))


def _field_decoder_off(network: NefNet) -> None:
    # zero the convolutional path's output layer, to see the linear path alone
    with torch.no_grad():
        network.output.weight.zero_()
        network.output.bias.zero_()


def _untapered(cycles, network: NefNet) -> np.ndarray:
    """(n_cycles, length) bool: where the residual's taper is 1 (away from the cycle ends)."""
    taper = cycle_taper(torch.from_numpy(cycles.lengths), cycles.targets.shape[2], network.config.taper_samples)
    return taper.numpy() == 1.0


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------
def test_angular_encoding_matches_the_paper() -> None:
    theta, phi = 1.1, -0.4
    code = angular_encoding(torch.tensor([[theta, phi]], dtype=torch.float64))[0].numpy()
    rows = np.array([theta, phi, theta + phi, theta - phi])
    np.testing.assert_allclose(code, np.concatenate([rows, np.sin(rows), np.cos(rows)]), atol=1e-12)
    with pytest.raises(ValueError, match="last axis of size 2"):
        angular_encoding(torch.zeros(3, 3))


def test_region_boundaries_count_the_samples_of_each_region() -> None:
    regions = torch.tensor([[0, 0, 1, 2, 2, 2, 4, 5, 6, 6]])  # ST (3) empty
    np.testing.assert_array_equal(region_boundaries(regions)[0].numpy(), [0, 2, 3, 6, 6, 7, 8, 10])


def test_roi_align_reads_samples_exactly_when_bins_equal_region_length() -> None:
    features = torch.randn(2, 3, 40, dtype=torch.float64)
    boundaries = torch.tensor([[0, 5, 12, 20, 26, 33, 40], [0, 6, 12, 18, 24, 30, 40]], dtype=torch.float64)
    codes = roi_align(features, boundaries[:, :2], 5)  # first region of the first cycle: 5 samples
    np.testing.assert_allclose(codes[0, :, 0].numpy(), features[0, :, :5].numpy(), atol=1e-12)
    # and the reverse puts them back
    restored = reverse_roi_align(codes[:1], boundaries[:1, :2], 40)
    np.testing.assert_allclose(restored[0, :, :5].numpy(), features[0, :, :5].numpy(), atol=1e-12)
    assert torch.all(restored[0, :, 5:] == 0)  # outside every region: zero


@pytest.mark.parametrize("bins", [16, 32])
def test_roi_align_round_trip_on_smooth_signals(bins: int) -> None:
    length = 200
    t = torch.arange(length, dtype=torch.float64) / length
    signal = (torch.sin(2 * math.pi * 1.5 * t) + 0.3 * torch.cos(2 * math.pi * 3 * t))[None, None]
    boundaries = torch.tensor([[0, 20, 45, 90, 110, 150, 170, 200]], dtype=torch.float64)
    restored = reverse_roi_align(roi_align(signal, boundaries, bins), boundaries, length)
    error = (restored - signal).abs().max().item()
    # linear interpolation of a band-limited signal: error falls with the bin density
    assert error < (0.05 if bins == 16 else 0.015), error
    assert error > 1e-6  # not trivially exact: it is an interpolation


def test_cycle_taper_is_zero_at_the_ends_and_on_padding() -> None:
    taper = cycle_taper(torch.tensor([100, 64]), 128, 16)
    assert taper.shape == (2, 128)
    assert taper[0, 0] == 0 and taper[0, 99] == 0 and torch.all(taper[0, 100:] == 0)
    assert 0 < taper[0, 1] < 0.05 and 0 < taper[0, 98] < 0.05
    assert torch.all(taper[0, 20:80] == 1)
    assert torch.all(taper[1, 64:] == 0)


def test_config_validates_sizes() -> None:
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        NefNetConfig(channels=0)
    with pytest.raises(ValueError, match="multiple of downsample"):
        NefNetConfig(length=130, downsample=4)
    with pytest.raises(TypeError, match="NefNetConfig"):
        NefNet({"channels": 8})


# ----------------------------------------------------------------------------------------------
# The network
# ----------------------------------------------------------------------------------------------
def test_zero_residual_gives_the_physics() -> None:
    torch.manual_seed(0)
    network = NefNet(SMALL).eval()
    batch = _batch(SMALL)
    for parameter in network.parameters():  # a trained-looking network, not the near-zero start
        torch.nn.init.normal_(parameter, std=0.2)
    with torch.no_grad():
        assert not torch.allclose(_run(network, batch), batch["physical"], atol=1e-3)
        assert torch.equal(_run(network, batch, residual=False), batch["physical"])
        network.zero_residual()
        np.testing.assert_allclose(_run(network, batch).numpy(), batch["physical"].numpy(), atol=1e-6)


def test_network_is_scale_equivariant() -> None:
    torch.manual_seed(1)
    network = NefNet(SMALL).eval()
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    batch = _batch(SMALL, seed=3)
    doubled = dict(batch, signals=2 * batch["signals"], physical=2 * batch["physical"])
    with torch.no_grad():
        np.testing.assert_allclose(_run(network, doubled).numpy(), 2 * _run(network, batch).numpy(), rtol=1e-4, atol=1e-5)


def test_time_major_convolutions_equal_the_channels_first_modules() -> None:
    # forward runs every Conv1d as a channels-last 2-D convolution (for speed); it must be the
    # same function as the nn.Conv1d modules themselves: strided encoder, decoder, grouped layer
    from hybridfield.nefnet import _channels_last, _time_major

    torch.manual_seed(4)
    network = NefNet(NefNetConfig(length=256, channels=6, downsample=4))
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    grouped = torch.nn.Conv1d(14, 14, 3, padding=1, groups=7)
    cases = [
        (network.encoder, torch.randn(5, 1, 256)),
        (network.decoder, torch.randn(5, 13, 64)),
        (network.output, torch.randn(5, 6, 64)),
        (grouped, torch.randn(3, 14, 40)),
    ]
    with torch.no_grad():
        for stack, signals in cases:
            expected = stack(signals)
            got = _time_major(stack, _channels_last(signals)).squeeze(2)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    # the encoder halves the length twice: the strided layers were applied with their stride
    assert cases[0][0](cases[0][1]).shape[-1] == 64


def test_gradients_reach_every_parameter() -> None:
    from hybridfield.panorama import _loss

    torch.manual_seed(2)
    network = NefNet(SMALL).train()
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    batch = _batch(SMALL, seed=5)
    batch["targets"] = batch["physical"] + 0.1 * torch.randn_like(batch["physical"])
    loss, _ = _loss(network, batch, standin_weight=0.5, residual_weight=0.01)
    loss.backward()
    missing = [name for name, p in network.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, f"no gradient reaches {missing}"


def test_overfits_a_tiny_dataset() -> None:
    """Published (non-hybrid) mode learns two query views of four cycles to a small error."""
    torch.manual_seed(3)
    config = NefNetConfig(length=128, channels=16, basic_bins=16, region_bins=8, angle_hidden=16, angle_jitter=0.0, hybrid=False)
    network = NefNet(config)
    batch = _batch(config, n=4, n_queries=2, seed=7)
    # targets: a smooth nonlinear function of the inputs, different per query
    mask = (torch.arange(config.length)[None, :] < batch["lengths"][:, None]).float()
    x = batch["signals"]
    targets = torch.stack([torch.tanh(x[:, 0] + 0.5 * x[:, 1]), 0.5 * x[:, 2] ** 2 - x[:, 0]], dim=1) * mask[:, None]
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    initial = None
    for _ in range(600):
        prediction = network(x, batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"])
        loss = ((prediction - targets).abs() * mask[:, None]).sum() / (mask.sum() * 2)
        initial = loss.item() if initial is None else initial
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.08 * initial, (initial, loss.item())


def test_forward_rejects_bad_shapes() -> None:
    network = NefNet(SMALL)
    batch = _batch(SMALL)
    with pytest.raises(ValueError, match="signals must have shape"):
        network(batch["signals"][..., :100], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], batch["physical"])
    with pytest.raises(ValueError, match="physical must have shape"):
        network(batch["signals"], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], None)
    with pytest.raises(ValueError, match="query_angles must have shape"):
        network(batch["signals"], batch["angles"], torch.zeros(5, 3), batch["regions"], batch["lengths"], batch["physical"])


# ----------------------------------------------------------------------------------------------
# The hybrid panorama on data
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def record():
    from hybridfield import read_wfdb

    return read_wfdb(DATA / "cinc2021" / "E07501")


def test_checkpoint_round_trip_is_exact(tmp_path: Path) -> None:
    from hybridfield.panorama import HybridPanorama

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
    batch = _batch(network.config, seed=9)
    with torch.no_grad():
        assert torch.equal(_run(network, batch), _run(loaded.network, batch))
    # a file that is not a checkpoint is refused with a clear message
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a HybridPanorama checkpoint"):
        HybridPanorama.load(tmp_path / "other.pt")


def test_physics_only_panorama_is_the_projection_of_the_fitted_heart_vector(record) -> None:
    import forward
    from hybridfield.panorama import HybridPanorama, _default_torso

    model = HybridPanorama(None)
    views = ["V1", (1.2, 2.0)]
    physical = model.predict(record, views)
    vector = model.heart_vector(record)
    lead_vectors = forward.lead_vectors(_default_torso(), ["V1", (1.2, 2.0)])
    expected = np.array(list(lead_vectors.values())) @ vector
    np.testing.assert_allclose(physical.signals, expected, atol=1e-12)
    assert set(physical.virtual) == set(physical.lead_names)
    assert physical.lead_names[1].startswith("view(")
    assert physical.fs == 500.0


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
    # cycles abut at P onsets; the residual is tapered to exactly 0 there: no step at any seam
    from hybridfield.panorama import _cycle_layout, _segment

    prepared = model.prepare(record)
    beats = _cycle_layout(prepared, _segment(prepared), 512)
    assert beats.n_beats >= 5
    np.testing.assert_allclose(residual[:, beats.start], 0.0, atol=1e-6)
    # where two cycles abut, the last sample of the earlier one is 0 as well: the stitched residual
    # passes through 0 at every seam instead of stepping from one cycle's value to the next
    abutting = beats.start[1:][beats.start[1:] == beats.start[:-1] + beats.lengths[:-1]]
    assert abutting.size >= 3
    np.testing.assert_allclose(residual[:, abutting - 1], 0.0, atol=1e-6)


def test_predict_rejects_bad_views_and_inputs(record) -> None:
    from hybridfield.panorama import HybridPanorama

    model = HybridPanorama(None)
    with pytest.raises(ValueError, match="non-empty sequence"):
        model.predict(record, "V1")
    with pytest.raises(ValueError, match="theta"):
        model.predict(record, [(4.0, 0.0)])
    with pytest.raises(ValueError, match="unknown lead name"):
        model.predict(record, ["V13"])
    with pytest.raises(ValueError, match="not usable leads"):
        model.predict(record, ["V1"], inputs=["I", "Z"])


def test_protocol_scores_follow_the_definition() -> None:
    from hybridfield.evaluate_hybrid import score_cycles
    from hybridfield.panorama import CycleSet

    rng = np.random.default_rng(0)
    n, length = 3, 64
    truth = rng.normal(size=(n, 2, length)).astype(np.float32)
    lengths = np.array([64, 50, 40])
    for k, size in enumerate(lengths):
        truth[k, :, size:] = 0
    cycles = CycleSet(
        inputs=truth[:, :1], input_angles=np.zeros((n, 1, 2), np.float32), targets=truth,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=truth, regions=np.zeros((n, length), np.int8),
        lengths=lengths, record=np.arange(n), beat_minimum=np.full(n, -2.0, np.float32),
        beat_maximum=np.full(n, 3.0, np.float32), input_names=("I",), target_names=("V1", "V2"),
        record_names=("a", "b", "c"), source="real",
    )
    offset = 0.05
    prediction = truth + offset * (np.arange(length)[None, None, :] < lengths[:, None, None])
    scores = score_cycles(prediction, cycles)
    np.testing.assert_allclose(scores["rmse"], offset, rtol=1e-5)
    np.testing.assert_allclose(scores["psnr"], 20 * np.log10(5.0 / offset), rtol=1e-5)
    np.testing.assert_allclose(scores["r"], 1.0, atol=1e-6)


def _linear_map_cycles(maps: list[np.ndarray], cycles_per_record: int, seed: int):
    """Real-like cycles whose two targets are each record's own linear map of its two inputs.

    ``maps[r]`` is ``(2, 3)``: two targets from two inputs and an intercept, mV.
    """
    from hybridfield.panorama import CycleSet

    rng = np.random.default_rng(seed)
    n, length = len(maps) * cycles_per_record, 48
    lengths = rng.integers(30, length + 1, size=n)
    record = np.repeat(np.arange(len(maps)), cycles_per_record)
    inputs = np.zeros((n, 2, length), np.float32)
    targets = np.zeros((n, 2, length), np.float32)
    for k in range(n):
        size = lengths[k]
        inputs[k, :, :size] = rng.normal(size=(2, size))
        targets[k, :, :size] = maps[record[k]][:, :2] @ inputs[k, :, :size] + maps[record[k]][:, 2:]
    return CycleSet(
        inputs=inputs, input_angles=np.zeros((n, 2, 2), np.float32), targets=targets,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=np.zeros_like(targets),
        regions=np.zeros((n, length), np.int8), lengths=lengths.astype(np.int64), record=record,
        beat_minimum=np.full(n, -10.0, np.float32), beat_maximum=np.full(n, 10.0, np.float32),
        input_names=("I", "II"), target_names=("V1", "V2"),
        record_names=tuple(f"r{r}" for r in range(len(maps))), source="real",
    )


def test_personal_map_reference_fits_each_record_on_its_other_cycles() -> None:
    from hybridfield.evaluate_hybrid import _regression_prediction, personal_map_reference

    rng = np.random.default_rng(1)
    maps = [rng.normal(size=(2, 3)) for _ in range(3)]
    cycles = _linear_map_cycles(maps, cycles_per_record=4, seed=2)
    mask = np.arange(cycles.targets.shape[2])[None, None, :] < cycles.lengths[:, None, None]
    personal = personal_map_reference(cycles, ["V1", "V2"])
    np.testing.assert_allclose(personal, cycles.targets, atol=1e-4)
    assert np.all(personal[~np.broadcast_to(mask, personal.shape)] == 0)
    # one map for everybody cannot do this: the maps differ between records
    pooled = _regression_prediction(cycles, cycles, ["V1", "V2"])
    assert np.abs(pooled - cycles.targets).max() > 0.5
    # the cycle predicted is left out of its own fit: an offset on its truth does not reach its prediction
    shifted = cycles.subset(np.arange(len(cycles)))
    shifted.targets[5, 0, : shifted.lengths[5]] += 0.3
    again = personal_map_reference(shifted, ["V1"])
    np.testing.assert_allclose(again[5, 0], cycles.targets[5, 0], atol=1e-4)
    assert np.abs(again[4, 0] - cycles.targets[4, 0]).max() > 1e-3  # the others do see it
    with pytest.raises(ValueError, match="not query views"):
        personal_map_reference(cycles, ["V3"])


def test_best_training_map_reference_recognises_the_matching_training_record() -> None:
    from hybridfield.evaluate_hybrid import best_training_map_reference, score_cycles

    rng = np.random.default_rng(3)
    maps = [rng.normal(size=(2, 3)) for _ in range(4)]
    train = _linear_map_cycles(maps, cycles_per_record=3, seed=4)
    test = _linear_map_cycles([maps[2], maps[0]], cycles_per_record=2, seed=5)
    np.testing.assert_allclose(best_training_map_reference(train, test, ["V1", "V2"]), test.targets, atol=1e-4)
    # a record matching no training map gets the training map that scores best on it
    stranger = _linear_map_cycles([rng.normal(size=(2, 3))], cycles_per_record=2, seed=6)
    chosen = score_cycles(best_training_map_reference(train, stranger, ["V1", "V2"]), stranger)["psnr"].mean()
    candidates = [
        score_cycles(best_training_map_reference(train.subset(train.record == r), stranger, ["V1", "V2"]), stranger)["psnr"].mean()
        for r in range(4)
    ]
    assert chosen == pytest.approx(max(candidates), abs=1e-9)
    assert chosen > min(candidates) + 1.0


def test_physical_projection_keeps_the_lead_identities_exactly(record) -> None:
    """III = II - I, aVR = -(I + II)/2 and an input reproduce the measured leads whatever the fit."""
    from hybridfield.panorama import HybridPanorama, input_combinations

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


def test_identity_weights_are_the_minimum_norm_correction_with_one_limb_lead() -> None:
    from hybridfield.panorama import _lead_vector_array, identity_weights, input_combinations

    views = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V4", (1.0, 2.0)]
    # two limb leads among the inputs: every limb lead is exact, the weights are the identities
    np.testing.assert_array_equal(identity_weights(views, ["I", "II", "V5"]), input_combinations(views, ["I", "II", "V5"]))
    # one limb lead (II): the other limb leads carry c_v . c_II / |c_II|^2 of its misfit, nothing else
    weights = identity_weights(views, ["II", "V2", "V5"])
    vectors = _lead_vector_array(["I", "II", "III", "aVR", "aVL", "aVF"])
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
    from hybridfield.panorama import _project_limb_residuals, limb_residual_directions

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
        projected = _project_limb_residuals(learned, directions)
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
    np.testing.assert_allclose(_project_limb_residuals(learned, -3 * directions), projected, atol=1e-12)


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


def test_simulated_cycles_have_consistent_ground_truth() -> None:
    from hybridfield.panorama import simulated_cycles

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


def test_linear_path_start_recovers_a_linear_residual_exactly() -> None:
    """Targets that are physics plus a linear map of the inputs and physics: the closed-form start
    of the linear path reproduces them (inside the taper) and leaves no residual energy."""
    from hybridfield.panorama import fit_linear_path, predict_cycles, simulated_cycles

    cycles = simulated_cycles(2, n_random_views=3, noise_mv=0.0, duration=4.0, random_seed=3)
    keep = ~cycles.exact_views
    # a view-independent correction: 0.4 x physics + 0.25 x first input (biases of the last layers)
    linear = 0.4 * cycles.physical + 0.25 * cycles.inputs[:, :1]
    shifted = _with_kept_targets(cycles, cycles.physical + linear)
    targets = shifted.targets
    torch.manual_seed(0)
    network = NefNet(NefNetConfig())
    before = predict_cycles(network, shifted)
    left = fit_linear_path(network, shifted, ridge=1e-10, gain_ridge=1e-10, heart_vector_ridge=1e-10)
    assert left < 1e-3  # only the taper's ramps, where the residual fades out, are left
    _field_decoder_off(network)
    after = predict_cycles(network, shifted)
    inside = _untapered(cycles, network)[:, None, :] & keep[None, :, None]
    scale = np.abs(targets).max()
    assert np.abs(after - targets)[inside].max() < 1e-4 * scale
    assert np.abs(before - targets)[inside].max() > 0.1 * scale  # the start moved the network
    np.testing.assert_array_equal(after[:, ~keep], cycles.physical[:, ~keep])  # exact views untouched
    with pytest.raises(ValueError, match="ridge must be"):
        fit_linear_path(network, shifted, ridge=-1.0)
    with pytest.raises(ValueError, match="hybrid NefNet"):
        fit_linear_path(NefNet(NefNetConfig(hybrid=False)), shifted)


def test_linear_path_real_weight_is_repetition_and_settles_between_disagreeing_sources() -> None:
    """The same cycles labelled real (targets 1.4 x physics) and simulated (targets = physics):
    with the gain alone free, the closed form settles on the weighted mean 0.4 k / (k + 1) of the
    two corrections, and ``real_weight=k`` equals repeating the real set k times."""
    import dataclasses

    from hybridfield.panorama import fit_linear_path, predict_cycles, simulated_cycles

    cycles = simulated_cycles(2, n_random_views=3, noise_mv=0.0, duration=4.0, random_seed=3)
    keep = ~cycles.exact_views
    simulated = _with_kept_targets(cycles, cycles.physical)
    real = dataclasses.replace(_with_kept_targets(cycles, 1.4 * cycles.physical), source="real")
    free_gain = {"ridge": 1e8, "gain_ridge": 1e-10, "heart_vector_ridge": 1e8}
    torch.manual_seed(0)
    network = NefNet(NefNetConfig())
    start = {k: v.clone() for k, v in network.state_dict().items()}
    fit_linear_path(network, [real, simulated], real_weight=3.0, **free_gain)
    _field_decoder_off(network)
    correction = predict_cycles(network, cycles) - cycles.physical
    inside = _untapered(cycles, network)[:, None, :] & keep[None, :, None]
    expected = 0.3 * cycles.physical  # 0.4 x 3 / (3 + 1)
    assert np.abs(correction - expected)[inside].max() < 1e-3 * np.abs(cycles.physical).max()
    # equal weight would have settled at 0.2: the weight is what moved it
    assert np.abs(0.2 * cycles.physical - expected)[inside].max() > 0.05 * np.abs(cycles.physical).max()
    repeated = NefNet(NefNetConfig())
    repeated.load_state_dict(start)
    fit_linear_path(repeated, [real, real, real, simulated], real_weight=1.0, **free_gain)
    for name in ("linear_weights", "physics_gain", "heart_vector_map"):
        for weighted, copies in zip(getattr(network, name)[-1].parameters(), getattr(repeated, name)[-1].parameters()):
            torch.testing.assert_close(weighted, copies, rtol=1e-5, atol=1e-7)
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="real_weight must be"):
            fit_linear_path(network, [real, simulated], real_weight=bad)


def test_view_directions_match_the_geometry() -> None:
    from geometry.angles import direction_from_angles

    from hybridfield.nefnet import view_directions

    rng = np.random.default_rng(2)
    theta, phi = rng.uniform(0, np.pi, 50), rng.uniform(-np.pi, np.pi, 50)
    angles = torch.from_numpy(np.stack([theta, phi], axis=-1))
    np.testing.assert_allclose(view_directions(angles).numpy(), direction_from_angles(theta, phi), atol=1e-12)


def test_heart_vector_correction_is_recovered_and_carries_over_to_untrained_views() -> None:
    """Targets that are physics plus ``u(query) . M x``, a fixed linear correction of the heart
    vector seen along every view direction: with the per-pair weights held at zero by a huge
    ridge, the closed form finds it through the heart-vector map alone, and the map then predicts
    the correction on views it never saw."""
    from geometry.angles import direction_from_angles

    from hybridfield.panorama import fit_linear_path, predict_cycles, simulated_cycles

    correction = np.array([[0.3, -0.2, 0.1], [0.0, 0.25, -0.15], [-0.1, 0.05, 0.2]])  # (direction, input)

    def corrected(cycles):
        angles = cycles.target_angles.astype(np.float64)  # float32 pi may round just above pi
        directions = direction_from_angles(np.clip(angles[..., 0], 0, np.pi), np.clip(angles[..., 1], -np.pi, np.pi))
        linear = np.einsum("nqa,av,nvt->nqt", directions, correction, cycles.inputs)
        return _with_kept_targets(cycles, cycles.physical + linear)

    trained = corrected(simulated_cycles(2, n_random_views=4, noise_mv=0.0, duration=4.0, random_seed=3))
    untrained = corrected(simulated_cycles(1, n_random_views=6, noise_mv=0.0, duration=4.0, random_seed=11))
    torch.manual_seed(0)
    network = NefNet(NefNetConfig())
    left = fit_linear_path(network, trained, ridge=1e6, gain_ridge=1e6, heart_vector_ridge=1e-10)
    assert left < 1e-3
    assert torch.abs(network.linear_weights[-1].weight).max() < 1e-4  # the pair weights did not take part
    _field_decoder_off(network)
    new_views = [k for k, name in enumerate(untrained.target_names) if name == "sim"]
    after = predict_cycles(network, untrained)[:, new_views]
    inside = np.broadcast_to(_untapered(untrained, network)[:, None, :], after.shape)
    truth = untrained.targets[:, new_views]
    assert np.abs(after - truth)[inside].max() < 1e-3 * np.abs(truth).max()
    # and without the map (the same fit with it held at zero) those views keep the physics' error
    network = NefNet(NefNetConfig())
    fit_linear_path(network, trained, ridge=1e6, gain_ridge=1e6, heart_vector_ridge=1e6)
    _field_decoder_off(network)
    without = predict_cycles(network, untrained)[:, new_views]
    assert np.abs(without - truth)[inside].max() > 0.05 * np.abs(truth).max()
    with pytest.raises(ValueError, match="heart_vector_ridge must be"):
        fit_linear_path(network, trained, heart_vector_ridge=float("nan"))


def test_linear_path_ignores_angle_jitter_and_can_be_frozen() -> None:
    """Jitter perturbs only the field encoder and decoder; a frozen linear path keeps its
    closed-form start through training while the field decoder learns."""
    from hybridfield.panorama import fit_linear_path, simulated_cycles, train_hybrid

    torch.manual_seed(4)
    network = NefNet(NefNetConfig(angle_jitter=0.3)).train()
    batch = _batch(network.config, seed=9)
    with torch.no_grad():
        network.output.weight.zero_()
        network.output.bias.zero_()
        torch.nn.init.normal_(network.linear_weights[-1].weight, std=0.5)
        torch.nn.init.normal_(network.physics_gain[-1].weight, std=0.5)
        torch.nn.init.normal_(network.heart_vector_map[-1].weight, std=0.5)
        first, second = _run(network, batch), _run(network, batch)
    torch.testing.assert_close(first, second, rtol=0, atol=0)  # no jitter reached the linear path
    assert torch.abs(first - batch["physical"]).max() > 1e-3  # and the path is not idle

    cycles = simulated_cycles(2, n_random_views=2, duration=4.0, random_seed=5)
    config = NefNetConfig(channels=8, angle_hidden=16)
    torch.manual_seed(0)
    network = NefNet(config)
    reference = NefNet(config)
    reference.load_state_dict(network.state_dict())
    fit_linear_path(reference, cycles)  # the closed form the training should start from and keep
    train_hybrid(network, cycles, epochs=1, linear_start=cycles, freeze_linear=True, views_per_step=None, progress=False)
    for name in ("linear_weights", "physics_gain", "heart_vector_map"):
        for kept, start in zip(getattr(network, name).parameters(), getattr(reference, name).parameters()):
            torch.testing.assert_close(kept, start, rtol=0, atol=0)
    assert not torch.equal(network.output.weight, reference.output.weight)  # the field decoder learned


def test_limb_leads_are_fitted_and_predicted_through_the_six_lead_identity_fit() -> None:
    """Inputs II, V2, V5 with I held out (Nef-Net's synthesis group): the limb residual is fitted
    over all six limb leads whichever the set holds, so (a) the physical projection of the missing
    I is recovered from the set's views, (b) the set's limb leads are predicted as with I present,
    (c) with ``limb_identities`` the closed-form linear path is fitted on the limb leads as they
    are predicted (the residual energy it reports is that of the projected prediction), and (d)
    the training loss scores the prediction as made."""
    from hybridfield.nefnet import SCALE_FLOOR_MV
    from hybridfield.panorama import _limb_completion, _loss, _tensors, fit_linear_path, predict_cycles, simulated_cycles

    inputs = ("II", "V2", "V5")
    full = simulated_cycles(2, inputs=inputs, n_random_views=2, duration=4.0, random_seed=7)
    held_out = simulated_cycles(2, inputs=inputs, exclude_views=("I",), n_random_views=2, duration=4.0, random_seed=7)
    assert "I" not in held_out.target_names
    completion = _limb_completion(held_out)
    limb_physical = np.einsum("uv,nvt->nut", completion.from_views, held_out.physical) + np.einsum(
        "uk,nkt->nut", completion.from_inputs, held_out.inputs
    )
    limb = [full.target_names.index(name) for name in ("I", "II", "III", "aVR", "aVL", "aVF")]
    scale = np.abs(full.physical).max()
    np.testing.assert_allclose(limb_physical, full.physical[:, limb], atol=1e-5 * scale)
    assert np.abs(full.physical[:, limb[0]]).max() > 0.1 * scale  # I is not trivially zero

    torch.manual_seed(0)
    network = NefNet(NefNetConfig())
    left = fit_linear_path(network, held_out, limb_identities=True)
    with_i = predict_cycles(network, full)
    without_i = predict_cycles(network, held_out)
    common = [k for k, name in enumerate(full.target_names) if name != "I"]  # the same views, same order
    np.testing.assert_allclose(without_i, with_i[:, common], atol=1e-5 * scale)
    # Einthoven with the measured II in the prediction, although I was never a target
    np.testing.assert_allclose(with_i[:, limb[0]] + with_i[:, limb[2]], full.inputs[:, 0], atol=1e-5 * scale)

    _field_decoder_off(network)
    prediction = predict_cycles(network, held_out).astype(np.float64)
    keep = (~held_out.exact_views)[None, :, None]
    inside = (np.arange(held_out.targets.shape[2])[None, :] < held_out.lengths[:, None])[:, None, :]
    per_cycle = np.maximum(np.abs(held_out.inputs).max(axis=(1, 2)), SCALE_FLOOR_MV)[:, None, None]
    energy = (((held_out.targets - held_out.physical) * keep * inside / per_cycle) ** 2).sum()
    remaining = (((held_out.targets - prediction) * keep * inside / per_cycle) ** 2).sum()
    assert 0.01 < left < 0.99  # a fit with something left to compare
    np.testing.assert_allclose(remaining / energy, left, rtol=1e-4)

    network.eval()  # no angle jitter: the loss's MAE is the prediction's
    index = np.arange(len(held_out))
    _, mae = _loss(network, _tensors(held_out, index, completion=completion), standin_weight=0.0, residual_weight=0.0)
    inside_counted = np.broadcast_to(inside, prediction.shape)
    expected = (np.abs(prediction - held_out.targets) / per_cycle)[inside_counted].sum() / inside_counted.sum()
    np.testing.assert_allclose(mae, expected, rtol=1e-5)


def test_identity_fit_with_every_limb_lead_equals_the_per_view_linear_fit() -> None:
    """The limb views' rows fitted as predicted (``beta_v rho``) plus the rows holding what the
    identity fit removes at 0 are, when the set holds all six limb leads and the true residuals
    keep the identities (noise-free simulation), the per-view least squares (Pythagoras over the
    views): the closed form must equal the fit that treats each limb view on its own."""
    import dataclasses

    from hybridfield.panorama import _limb_completion, fit_linear_path, simulated_cycles

    full = simulated_cycles(2, inputs=("II", "V2", "V5"), n_random_views=2, noise_mv=0.0, duration=4.0, random_seed=7)
    assert _limb_completion(full) is not None
    # the same cycles with the non-measured limb leads renamed to plain views: fitted one by one
    plain = dataclasses.replace(
        full, target_names=tuple("sim" if name in ("I", "III", "aVR", "aVL", "aVF") else name for name in full.target_names)
    )
    assert _limb_completion(plain) is None
    np.testing.assert_array_equal(plain.exact_views, full.exact_views)
    fitted = []
    for cycles in (full, plain):
        torch.manual_seed(0)
        network = NefNet(NefNetConfig())
        fit_linear_path(network, cycles, limb_identities=True)
        fitted.append(network)
    for name in ("linear_weights", "physics_gain", "heart_vector_map"):
        for through, alone in zip(getattr(fitted[0], name)[-1].parameters(), getattr(fitted[1], name)[-1].parameters()):
            scale = float(alone.detach().abs().max())
            assert scale > 1e-4
            torch.testing.assert_close(through, alone, rtol=0, atol=1e-4 * scale)
