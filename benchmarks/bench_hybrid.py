"""Benchmarks of the Nef-Net residual: inference throughput, training time per epoch, model size.

- Inference: the default-size hybrid NefNet on 256 cycles x 12 query views (3 inputs, 512
  samples), in eval mode without gradients; throughput in beat-views per second is printed
  (aim: 5,000 on this 2-core machine).
- Training: one epoch of :func:`hybridfield.training.train_hybrid` over 256 synthetic cycles
  (12 views, 4 drawn per step, batch 16: the defaults); cycles per second printed.
- Size: parameters and bytes of the bundled checkpoint (Nef-Net reports 7.18 MB).

Run with ``python -m pytest benchmarks/bench_hybrid.py -q -s --benchmark-only``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hybridfield.nefnet import NefNet, NefNetConfig  # noqa: E402
from hybridfield.cycles import CycleSet  # noqa: E402
from hybridfield.training import train_hybrid  # noqa: E402

N_CYCLES, N_INPUTS, N_VIEWS, LENGTH = 256, 3, 12, 512


def _synthetic_cycles(seed: int = 0) -> CycleSet:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(350, LENGTH + 1, size=N_CYCLES)
    regions = np.full((N_CYCLES, LENGTH), 6, dtype=np.int8)
    for k, size in enumerate(lengths):
        edges = np.linspace(0, size, 7).astype(int)
        for code in range(6):
            regions[k, edges[code] : edges[code + 1]] = code
    mask = np.arange(LENGTH)[None, :] < lengths[:, None]
    inputs = (rng.normal(size=(N_CYCLES, N_INPUTS, LENGTH)) * mask[:, None]).astype(np.float32)
    physical = (rng.normal(size=(N_CYCLES, N_VIEWS, LENGTH)) * mask[:, None]).astype(np.float32)
    angles = rng.uniform([0, -np.pi], [np.pi, np.pi], size=(N_CYCLES, N_VIEWS, 2)).astype(np.float32)
    return CycleSet(
        inputs=inputs, input_angles=angles[:, :N_INPUTS].copy(), targets=physical * 1.1, target_angles=angles,
        physical=physical, regions=regions, lengths=lengths.astype(np.int64), record=np.arange(N_CYCLES),
        beat_minimum=np.full(N_CYCLES, -1, np.float32), beat_maximum=np.full(N_CYCLES, 1, np.float32),
        input_names=("I", "II", "V5"), target_names=("sim",) * N_VIEWS, record_names=tuple(map(str, range(N_CYCLES))),
        source="simulated",
    )


@pytest.fixture(scope="module")
def cycles() -> CycleSet:
    return _synthetic_cycles()


def test_inference_throughput(benchmark, cycles: CycleSet) -> None:
    network = NefNet(NefNetConfig()).eval()
    tensors = [torch.from_numpy(a) for a in (cycles.inputs, cycles.input_angles, cycles.target_angles)]
    regions = torch.from_numpy(cycles.regions.astype(np.int64))
    lengths = torch.from_numpy(cycles.lengths)
    physical = torch.from_numpy(cycles.physical)

    def run() -> None:
        with torch.no_grad():
            network(tensors[0], tensors[1], tensors[2], regions, lengths, physical)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    rate = N_CYCLES * N_VIEWS / benchmark.stats.stats.median
    print(f"\ninference: {rate:,.0f} beat-views/s ({network.parameter_count()} parameters, {torch.get_num_threads()} threads)")


def test_training_epoch(benchmark, cycles: CycleSet) -> None:
    network = NefNet(NefNetConfig())

    def run() -> None:
        train_hybrid(network, cycles, epochs=1, progress=False)

    benchmark.pedantic(run, rounds=2, warmup_rounds=0)
    print(f"\ntraining: {benchmark.stats.stats.median:.1f} s per epoch of {N_CYCLES} cycles "
          f"({N_CYCLES / benchmark.stats.stats.median:.0f} cycles/s, 4 of {N_VIEWS} views per step)")


def test_model_size(benchmark) -> None:
    path = Path(__file__).resolve().parents[1] / "hybridfield" / "resources" / "hybrid_default.pt"
    network = NefNet(NefNetConfig())
    benchmark.pedantic(lambda: network.parameter_count(), rounds=1)
    size = path.stat().st_size if path.is_file() else float("nan")
    print(f"\nmodel: {network.parameter_count()} parameters, bundled checkpoint {size / 1e6:.3f} MB (Nef-Net: 7.18 MB)")
