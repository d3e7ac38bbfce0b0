"""Training the hybrid network on cycles: the closed-form linear path (its recovery of linear
residuals, real-cycle weight, heart-vector map, freezing, limb-lead identity fit), the training
loss and its gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nefnet_batches import SMALL, random_batch, run_network, trained_looking_network  # noqa: E402

from hybridfield.cycles import simulated_cycles  # noqa: E402
from hybridfield.nefnet import NefNet, NefNetConfig, cycle_taper  # noqa: E402
from hybridfield.training import (  # noqa: E402
    _limb_completion,
    _loss,
    _tensors,
    fit_linear_path,
    predict_cycles,
    train_hybrid,
)


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


def test_gradients_reach_every_parameter() -> None:
    network = trained_looking_network(SMALL, seed=2).train()
    batch = random_batch(SMALL, seed=5)
    batch["targets"] = batch["physical"] + 0.1 * torch.randn_like(batch["physical"])
    loss, _ = _loss(network, batch, standin_weight=0.5, residual_weight=0.01)
    loss.backward()
    missing = [name for name, p in network.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, f"no gradient reaches {missing}"


def test_linear_path_start_recovers_a_linear_residual_exactly() -> None:
    """Targets that are physics plus a linear map of the inputs and physics: the closed-form start
    of the linear path reproduces them (inside the taper) and leaves no residual energy."""
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
    # exact to single precision's accumulated rounding over the network's layers
    assert np.abs(after - targets)[inside].max() < 3e-4 * scale
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


def test_heart_vector_correction_is_recovered_and_carries_over_to_untrained_views() -> None:
    """Targets that are physics plus ``u(query) . M x``, a fixed linear correction of the heart
    vector seen along every view direction: with the per-pair weights held at zero by a huge
    ridge, the closed form finds it through the heart-vector map alone, and the map then predicts
    the correction on views it never saw."""
    from geometry.angles import direction_from_angles

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
    torch.manual_seed(4)
    network = NefNet(NefNetConfig(angle_jitter=0.3)).train()
    batch = random_batch(network.config, seed=9)
    with torch.no_grad():
        network.output.weight.zero_()
        network.output.bias.zero_()
        torch.nn.init.normal_(network.linear_weights[-1].weight, std=0.5)
        torch.nn.init.normal_(network.physics_gain[-1].weight, std=0.5)
        torch.nn.init.normal_(network.heart_vector_map[-1].weight, std=0.5)
        first, second = run_network(network, batch), run_network(network, batch)
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
            assert scale > 1e-6  # a fitted layer, not an untouched zero one
            torch.testing.assert_close(through, alone, rtol=0, atol=1e-4 * scale)
