"""Training from a cycle store: the loader's shares, checkpoints that resume, and 2 gloo processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridfield.cycle_dataset import CycleBatch, CycleStoreDataset, collate_cycles, cycle_loader
from hybridfield.cycle_store import CycleStore, build_cycle_store
from hybridfield.distributed import load_checkpoint, train_distributed
from hybridfield.nefnet import NefNet, NefNetConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cinc2021"
RECORDS = [str(DATA / name) for name in ("E07501", "E07502")]  # 19 + 18 cycles


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CycleStore:
    return build_cycle_store(RECORDS, tmp_path_factory.mktemp("stores"), scheduler="synchronous", progress=False)


def tiny_network() -> NefNet:
    torch.manual_seed(0)
    return NefNet(NefNetConfig(channels=8, angle_hidden=8, linear_hidden=8))


def test_loader_shares_are_disjoint_and_batches_are_cycle_sets(store: CycleStore) -> None:
    dataset = CycleStoreDataset(store)
    shares = []
    for rank in range(2):
        loader = cycle_loader(dataset, batch_size=8, rank=rank, world_size=2, random_seed=3)
        loader.sampler.set_epoch(1)
        batches = list(loader)
        assert all(isinstance(b, CycleBatch) and len(b.cycles) == len(b) for b in batches)
        first = batches[0]
        np.testing.assert_array_equal(first.cycles.physical, store.read(first.index).physical)
        shares.append(np.concatenate([b.index for b in batches]))
    assert len(shares[0]) == len(shares[1]) == len(store) // 2
    assert not set(shares[0]) & set(shares[1])
    single = collate_cycles([dataset[0], dataset[5]])
    np.testing.assert_array_equal(single.index, [0, 5])
    assert len(CycleStoreDataset(store.path, cycles=np.arange(4))) == 4


def test_loader_errors_name_the_parameter(store: CycleStore) -> None:
    dataset = CycleStoreDataset(store)
    with pytest.raises(ValueError, match="rank"):
        cycle_loader(dataset, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        cycle_loader(dataset, batch_size=0)
    with pytest.raises(ValueError, match="cycles"):
        CycleStoreDataset(store, cycles=[len(store)])
    with pytest.raises(TypeError, match="dataset"):
        cycle_loader([1, 2])  # type: ignore[arg-type]


def test_resumed_run_continues_from_the_checkpoint(store: CycleStore, tmp_path: Path) -> None:
    straight = tiny_network()
    history = train_distributed(store, straight, epochs=2, batch_size=16, checkpoint=tmp_path / "a.ckpt",
                                linear_start_cycles=12, progress=False)
    stopped = tiny_network()
    train_distributed(store, stopped, epochs=2, batch_size=16, checkpoint=tmp_path / "b.ckpt", epochs_this_run=1,
                      linear_start_cycles=12, progress=False)
    saved = load_checkpoint(tmp_path / "b.ckpt")
    assert saved["epoch"] == 1 and saved["store_key"] == store.key and saved["contract"] == store.contract
    for name, value in stopped.state_dict().items():
        torch.testing.assert_close(saved["model"][name], value, rtol=0, atol=0)
    resumed = tiny_network()
    resumed_history = train_distributed(store, resumed, epochs=2, batch_size=16, checkpoint=tmp_path / "b.ckpt", progress=False)
    assert [h["epoch"] for h in resumed_history] == [1, 2]
    assert [h["train_mae"] for h in resumed_history] == [h["train_mae"] for h in history]
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert load_checkpoint(tmp_path / "b.ckpt")["epoch"] == 2


def test_training_errors_name_the_parameter(store: CycleStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="epochs"):
        train_distributed(store, tiny_network(), epochs=0)
    with pytest.raises(ValueError, match="config.length"):
        train_distributed(store, NefNet(NefNetConfig(length=256, channels=8, angle_hidden=8, linear_hidden=8)), epochs=1)
    with pytest.raises(ValueError, match="hybrid"):
        train_distributed(store, NefNet(NefNetConfig(hybrid=False, channels=8, angle_hidden=8, linear_hidden=8)), epochs=1)
    train_distributed(store, tiny_network(), epochs=1, batch_size=32, checkpoint=tmp_path / "c.ckpt", progress=False)
    with pytest.raises(ValueError, match="other sizes"):
        train_distributed(store, NefNet(NefNetConfig(channels=4, angle_hidden=8, linear_hidden=8)), epochs=2,
                          checkpoint=tmp_path / "c.ckpt")


def test_two_gloo_processes_share_the_cycles_and_average_the_gradients(store: CycleStore, tmp_path: Path) -> None:
    environment = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(ROOT / "tests" / "_distributed_job.py"), str(store.path), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, env=environment, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    for epoch in (1, 2):
        first, second = (np.array(r["seen"][epoch]) for r in ranks)
        assert len(first) == len(second) == len(store) // 2  # equal, disjoint halves
        assert len(set(first)) == len(first) and not set(first) & set(second)
    initial = ranks[0]["initial"]
    assert any(not torch.equal(ranks[0]["straight"][k], initial[k]) for k in initial)  # the steps moved the weights
    for name in initial:  # gradients averaged: the same weights on both processes after every step
        torch.testing.assert_close(ranks[0]["straight"][name], ranks[1]["straight"][name], rtol=0, atol=0)
        torch.testing.assert_close(ranks[0]["resumed"][name], ranks[0]["straight"][name], rtol=0, atol=0)
    assert ranks[0]["epoch_after_stop"] == 1
    assert ranks[0]["resumed_history"] == [dict(h, seconds=r["seconds"], cycles_per_second=r["cycles_per_second"])
                                           for h, r in zip(ranks[0]["history"], ranks[0]["resumed_history"])]
    assert "epoch 2/2" in result.stdout


def test_command_trains_and_saves_weights(store: CycleStore, tmp_path: Path) -> None:
    output = tmp_path / "hybrid.pt"
    result = subprocess.run(
        [sys.executable, "-m", "hybridfield.train_store", "--store", str(store.path), "--epochs", "1",
         "--batch-size", "32", "--views-per-step", "2", "--checkpoint", str(tmp_path / "run.ckpt"), "--output", str(output)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stdout
    from hybridfield import HybridPanorama

    model = HybridPanorama.load(output)
    assert model.input_leads == store.input_names
    assert model.contract["training"]["store_key"] == store.key
