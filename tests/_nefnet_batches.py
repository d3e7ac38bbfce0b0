"""Random Nef-Net batches (inputs, angles, regions, physics) and a small configuration, shared by
the network, training and panorama tests."""

from __future__ import annotations

import math

import numpy as np
import torch

from hybridfield.nefnet import NefNet, NefNetConfig

SMALL = NefNetConfig(length=128, channels=8, basic_bins=8, region_bins=6, angle_hidden=16, taper_samples=8)


def regions(lengths: list[int], length: int, rng: np.random.Generator) -> np.ndarray:
    """Contiguous region codes 0..5 over each cycle's length, 6 on the padding."""
    labels = np.full((len(lengths), length), 6, dtype=np.int64)
    for k, size in enumerate(lengths):
        cuts = np.sort(rng.choice(np.arange(1, size), size=5, replace=False))
        edges = [0, *cuts, size]
        for code in range(6):
            labels[k, edges[code] : edges[code + 1]] = code
    return labels


def random_batch(config: NefNetConfig, n: int = 4, n_inputs: int = 3, n_queries: int = 5, seed: int = 0) -> dict:
    """Random cycles of ``config.length`` samples with random view angles and a physics part."""
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
        "regions": torch.from_numpy(regions(list(lengths), length, rng)),
        "lengths": torch.from_numpy(lengths.astype(np.int64)),
        "physical": torch.from_numpy(physical),
    }


def run_network(network: NefNet, batch: dict, **kwargs):
    """The network on a batch of :func:`random_batch`."""
    return network(batch["signals"], batch["angles"], batch["query_angles"], batch["regions"], batch["lengths"], batch["physical"], **kwargs)


def trained_looking_network(config: NefNetConfig, seed: int) -> NefNet:
    """A NefNet with every parameter drawn from N(0, 0.2²) after ``torch.manual_seed(seed)``:
    trained-looking, not the near-zero start."""
    torch.manual_seed(seed)
    network = NefNet(config)
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    return network
