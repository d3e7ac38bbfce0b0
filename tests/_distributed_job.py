"""A 2-process job for tests/test_distributed.py, started by torchrun (gloo on the CPU).

Each process: a straight 2-epoch run (checkpoint a), then a run stopped after epoch 1
(checkpoint b) and resumed to epoch 2; it saves the store positions it trained on per epoch and
its final weights of both runs to ``OUT/rank<r>.pt``.

Usage: torchrun --nproc_per_node 2 tests/_distributed_job.py STORE OUT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from hybridfield.distributed import train_distributed
from hybridfield.nefnet import NefNet, NefNetConfig


def tiny_network() -> NefNet:
    """The same small hybrid network on every process (seeded)."""
    torch.manual_seed(0)
    return NefNet(NefNetConfig(channels=8, angle_hidden=8, linear_hidden=8))


def main() -> None:
    store, out = sys.argv[1], Path(sys.argv[2])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    seen: dict[int, list[int]] = {}
    initial = {k: v.clone() for k, v in tiny_network().state_dict().items()}

    def record(step: dict) -> None:
        seen.setdefault(step["epoch"], []).extend(int(i) for i in step["cycles"])

    straight = tiny_network()
    history = train_distributed(store, straight, epochs=2, batch_size=8, checkpoint=out / "a.ckpt",
                                progress=rank == 0, callback=record, device="cpu")
    interrupted = tiny_network()
    train_distributed(store, interrupted, epochs=2, batch_size=8, checkpoint=out / "b.ckpt", epochs_this_run=1,
                      progress=False, device="cpu")
    epoch_after_stop = torch.load(out / "b.ckpt", weights_only=True)["epoch"]
    resumed = tiny_network()
    resumed_history = train_distributed(store, resumed, epochs=2, batch_size=8, checkpoint=out / "b.ckpt",
                                        progress=False, device="cpu")
    torch.save({
        "seen": seen, "initial": initial, "straight": straight.state_dict(), "resumed": resumed.state_dict(),
        "history": history, "resumed_history": resumed_history, "epoch_after_stop": epoch_after_stop,
        "world_size": dist.get_world_size(),
    }, out / f"rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
