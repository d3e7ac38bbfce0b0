"""The Nef-Net residual network: ROIAlign algebra, exact physics with the residual off,
overfitting a tiny set, scale equivariance, shape checks and view directions."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nefnet_batches import SMALL, random_batch, run_network, trained_looking_network  # noqa: E402

from hybridfield.nefnet import (  # noqa: E402
    NefNet,
    NefNetConfig,
    angular_encoding,
    cycle_taper,
    region_boundaries,
    reverse_roi_align,
    roi_align,
)


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
    batch = random_batch(SMALL)
    for parameter in network.parameters():  # a trained-looking network, not the near-zero start
        torch.nn.init.normal_(parameter, std=0.2)
    with torch.no_grad():
        assert not torch.allclose(run_network(network, batch), batch["physical"], atol=1e-3)
        assert torch.equal(run_network(network, batch, residual=False), batch["physical"])
        network.zero_residual()
        np.testing.assert_allclose(run_network(network, batch).numpy(), batch["physical"].numpy(), atol=1e-6)


def test_network_is_scale_equivariant() -> None:
    network = trained_looking_network(SMALL, seed=1).eval()
    batch = random_batch(SMALL, seed=3)
    doubled = dict(batch, signals=2 * batch["signals"], physical=2 * batch["physical"])
    with torch.no_grad():
        np.testing.assert_allclose(run_network(network, doubled).numpy(), 2 * run_network(network, batch).numpy(), rtol=1e-4, atol=1e-5)


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


def test_overfits_a_tiny_dataset() -> None:
    """Published (non-hybrid) mode learns two query views of four cycles to a small error."""
    torch.manual_seed(3)
    config = NefNetConfig(length=128, channels=16, basic_bins=16, region_bins=8, angle_hidden=16, angle_jitter=0.0, hybrid=False)
    network = NefNet(config)
    batch = random_batch(config, n=4, n_queries=2, seed=7)
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
    batch = random_batch(SMALL)
    with pytest.raises(ValueError, match="signals must have shape"):
        network(batch["signals"][..., :100], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], batch["physical"])
    with pytest.raises(ValueError, match="physical must have shape"):
        network(batch["signals"], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], None)
    with pytest.raises(ValueError, match="query_angles must have shape"):
        network(batch["signals"], batch["angles"], torch.zeros(5, 3), batch["regions"], batch["lengths"], batch["physical"])


def test_view_directions_match_the_geometry() -> None:
    from geometry.angles import direction_from_angles

    from hybridfield.nefnet import view_directions

    rng = np.random.default_rng(2)
    theta, phi = rng.uniform(0, np.pi, 50), rng.uniform(-np.pi, np.pi, 50)
    angles = torch.from_numpy(np.stack([theta, phi], axis=-1))
    np.testing.assert_allclose(view_directions(angles).numpy(), direction_from_angles(theta, phi), atol=1e-12)
