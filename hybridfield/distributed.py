"""Training the hybrid network from a cycle store, on one or several processes, with checkpoints.

:func:`train_distributed` trains a hybrid :class:`~hybridfield.nefnet.NefNet` on the cycles of a
:class:`~hybridfield.cycle_store.CycleStore`, streamed from disk
(:func:`hybridfield.cycle_dataset.cycle_loader`), with :func:`train_hybrid`'s loss
(:func:`hybridfield.training.hybrid_loss`: scaled MAE + Standin + residual penalty), AdamW and a
one-cycle schedule, gradient clipping at 1. Under ``torchrun`` (or in any initialised
``torch.distributed`` process group) it wraps the network in ``DistributedDataParallel``: each
process trains on a disjoint share of the cycles and the gradients are averaged, so the weights
stay equal on every process (backend ``gloo`` on CPU, ``nccl`` on CUDA devices).

A checkpoint (network, optimiser, schedule position, completed epochs, the store's contract and
the history) is written by rank 0 after every epoch; a later call with the same checkpoint
continues from its epoch and gives the weights an uninterrupted run gives (the batch order, the
random query views and torch's random state derive from the seed, the epoch and the rank).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .cycle_store import CycleStore, open_cycle_store

__all__ = ["train_distributed", "load_checkpoint", "CHECKPOINT_FORMAT"]

#: Format tag of a :func:`train_distributed` checkpoint.
CHECKPOINT_FORMAT = "hybridfield.DistributedCheckpoint/1"


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a :func:`train_distributed` checkpoint (``torch.load(..., weights_only=True)``).

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.

    Returns
    -------
    checkpoint : dict
        ``epoch`` (completed epochs), ``model`` (state dict), ``optimiser``, ``steps`` (schedule
        position), ``config`` (NefNetConfig sizes), ``contract`` and ``store_key`` (the store's),
        ``history`` (list of per-epoch dicts), ``random_seed``, ``world_size``.
    """
    import torch

    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a train_distributed checkpoint (format {CHECKPOINT_FORMAT})")
    state = dict(state)
    state["contract"] = json.loads(state["contract"])
    state["history"] = json.loads(state["history"])
    return state


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    temporary = path.with_name(path.name + ".partial")
    torch.save(state, temporary)
    os.replace(temporary, path)  # atomic: an interrupted save leaves the previous checkpoint


def _default_device() -> Any:
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return torch.device("cpu")


def train_distributed(
    store: CycleStore | str | os.PathLike[str],
    network: Any = None,
    *,
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    weight_decay: float = 1e-4,
    standin_weight: float = 0.2,
    residual_weight: float = 0.01,
    views_per_step: int | None = 4,
    limb_identities: bool = False,
    freeze_linear: bool = False,
    linear_start_cycles: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = True,
    epochs_this_run: int | None = None,
    device: Any = None,
    num_workers: int = 0,
    random_seed: int = 0,
    progress: bool = True,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, float]]:
    """Train a hybrid NefNet on a cycle store, on this process or all processes of a group (in place).

    Parameters
    ----------
    store : CycleStore, str or path-like
        The cycles (:func:`hybridfield.cycle_store.build_cycle_store`).
    network : NefNet, optional
        A hybrid network whose ``config.length`` is the store's cycle length (default: a new
        ``NefNet(NefNetConfig(length=...))``, seeded with ``random_seed``).
    epochs : int
        Total passes over the cycles (a resumed run counts the checkpoint's).
    batch_size : int
        Cycles per step on each process (the effective batch is ``world_size`` times larger).
    learning_rate, weight_decay : float
        Peak AdamW learning rate and weight decay.
    standin_weight, residual_weight : float
        Weights of the Standin loss and of the residual penalty (:func:`hybridfield.training.hybrid_loss`).
    views_per_step : int or None
        Query views drawn at random per batch (None: all).
    limb_identities : bool
        Train the limb views through the six-lead identity fit (``train_hybrid``'s option).
    freeze_linear : bool
        Keep the linear residual path fixed.
    linear_start_cycles : int, optional
        Before training (not when resuming), fit the linear path in closed form
        (:func:`hybridfield.fit_linear_path`) on this many cycles drawn with the seed, on rank 0
        (``DistributedDataParallel`` then copies rank 0's weights to every process).
    checkpoint : str or path-like, optional
        File written by rank 0 after every epoch.
    resume : bool
        Continue from ``checkpoint`` when it exists (its store key and network sizes must match).
    epochs_this_run : int, optional
        Stop after this many epochs in this call (a time-limited job; the next call resumes).
    device : str or torch.device, optional
        Default: ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU.
    num_workers : int
        Reader processes per training process (``DataLoader``).
    random_seed : int
        Seed of the weights, batch order, query views and angle jitter.
    progress : bool
        Rank 0 prints one line per epoch (loss, cycles per second).
    callback : callable, optional
        Called after every step with a dict: ``epoch``, ``step``, ``rank``, ``cycles`` (store
        positions of the batch), ``loss``.

    Returns
    -------
    history : list of dict
        Per epoch (all epochs of a resumed run): ``epoch``, ``train_mae`` (mean over all
        processes), ``cycles`` (cycles trained on, all processes), ``seconds`` (of the epoch),
        ``cycles_per_second``.
    """
    import torch
    import torch.distributed as dist

    from .cycle_dataset import CycleStoreDataset, cycle_loader
    from .nefnet import NefNet, NefNetConfig
    from .training import cycle_batch, fit_linear_path, hybrid_loss, limb_completion

    store = store if isinstance(store, CycleStore) else open_cycle_store(store)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if epochs_this_run is not None and (isinstance(epochs_this_run, bool) or not isinstance(epochs_this_run, int) or epochs_this_run < 1):
        raise ValueError(f"epochs_this_run must be a positive integer or None, got {epochs_this_run!r}")
    length = int(store.contract["cycle_length"])
    if network is None:
        torch.manual_seed(random_seed)
        network = NefNet(NefNetConfig(length=length))
    if not getattr(getattr(network, "config", None), "hybrid", False):
        raise ValueError("network must be a hybrid NefNet (NefNetConfig(hybrid=True))")
    if int(network.config.length) != length:
        raise ValueError(f"network.config.length={network.config.length} differs from the store's cycle length {length}")

    # the process group: an existing one, one torchrun describes, or this process alone
    owns_group = False
    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() and device in (None, "cuda") else "gloo")
        owns_group = True
    grouped = dist.is_available() and dist.is_initialized()
    rank, world_size = (dist.get_rank(), dist.get_world_size()) if grouped else (0, 1)
    device = _default_device() if device is None else torch.device(device)

    try:
        checkpoint_path = None if checkpoint is None else Path(checkpoint)
        state = None
        if checkpoint_path is not None and resume and checkpoint_path.is_file():
            state = load_checkpoint(checkpoint_path)
            if state["store_key"] != store.key:
                raise ValueError(f"checkpoint {checkpoint_path} was trained on store {state['store_key'][:16]}, not {store.key[:16]}")
            if state["config"] != network.config.to_dict():
                raise ValueError(f"checkpoint {checkpoint_path} holds a network of other sizes: {state['config']}")
            network.load_state_dict(state["model"])
        elif linear_start_cycles is not None and rank == 0:
            count = min(int(linear_start_cycles), len(store))
            chosen = np.sort(np.random.default_rng(random_seed).choice(len(store), size=count, replace=False))
            left = fit_linear_path(network, store.read(chosen), limb_identities=limb_identities)
            if progress:
                print(f"linear path fitted in closed form on {count} cycles: {left:.3f} of the scaled residual energy left", flush=True)

        network.to(device)
        linear = {id(p) for path in network.linear_path_layers() for p in path.parameters()}
        for parameter in network.parameters():
            if freeze_linear and id(parameter) in linear:
                parameter.requires_grad_(False)
        trained = [p for p in network.parameters() if p.requires_grad]
        model = network
        if grouped:
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
        dataset = CycleStoreDataset(store)
        loader = cycle_loader(dataset, batch_size=batch_size, rank=rank, world_size=world_size,
                              random_seed=random_seed, num_workers=num_workers)
        steps_per_epoch = len(loader)
        optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=weight_decay)
        start_epoch, history, steps_done = 0, [], 0
        if state is not None:
            optimiser.load_state_dict(state["optimiser"])
            start_epoch, history, steps_done = int(state["epoch"]), list(state["history"]), int(state["steps"])
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=learning_rate, total_steps=max(epochs * steps_per_epoch, steps_done + 1), pct_start=0.1,
            last_epoch=steps_done - 1 if steps_done else -1,
        )
        completion = limb_completion(store.read(np.arange(1))) if limb_identities else None
        n_views = len(store.target_names)
        last_epoch = epochs if epochs_this_run is None else min(epochs, start_epoch + epochs_this_run)
        if progress and rank == 0 and start_epoch:
            print(f"resumed from {checkpoint_path} after epoch {start_epoch}", flush=True)

        for epoch in range(start_epoch, last_epoch):
            network.train()
            loader.sampler.set_epoch(epoch)
            torch.manual_seed(int(np.random.SeedSequence([random_seed, epoch, rank]).generate_state(1)[0]))
            rng = np.random.default_rng([random_seed, epoch, rank])
            started = time.perf_counter()
            totals = torch.zeros(2, dtype=torch.float64)  # sum of MAE * cycles, cycles
            for step, batch in enumerate(loader):
                views = None
                if views_per_step is not None and views_per_step < n_views:
                    views = np.sort(rng.choice(n_views, size=views_per_step, replace=False))
                tensors = cycle_batch(batch.cycles, np.arange(len(batch)), views, completion)
                tensors = {k: v.to(device) for k, v in tensors.items()}
                loss, mae = hybrid_loss(model, tensors, standin_weight, residual_weight)
                optimiser.zero_grad()
                loss.backward()  # DistributedDataParallel averages the gradients here
                torch.nn.utils.clip_grad_norm_(trained, 1.0)
                optimiser.step()
                schedule.step()
                steps_done += 1
                totals += torch.tensor([mae * len(batch), len(batch)], dtype=torch.float64)
                if callback is not None:
                    callback({"epoch": epoch + 1, "step": step, "rank": rank, "cycles": batch.index.copy(), "loss": float(loss.detach())})
            if grouped:
                dist.all_reduce(totals)
            seconds = time.perf_counter() - started
            entry = {
                "epoch": epoch + 1, "train_mae": float(totals[0] / totals[1]), "cycles": int(totals[1]),
                "seconds": seconds, "cycles_per_second": float(totals[1]) / seconds,
            }
            history.append(entry)
            if rank == 0:
                if checkpoint_path is not None:
                    _save_checkpoint(checkpoint_path, {
                        "format": CHECKPOINT_FORMAT, "epoch": epoch + 1, "steps": steps_done,
                        "model": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
                        "optimiser": optimiser.state_dict(), "config": network.config.to_dict(),
                        "contract": json.dumps(store.contract), "store_key": store.key, "history": json.dumps(history),
                        "random_seed": random_seed, "world_size": world_size,
                    })
                if progress:
                    print(f"epoch {epoch + 1}/{epochs}: train {entry['train_mae']:.4f} ({entry['cycles']} cycles on "
                          f"{world_size} process{'es' if world_size > 1 else ''}, {entry['cycles_per_second']:.1f} cycles/s, "
                          f"{seconds:.1f} s)", flush=True)
            if grouped:
                dist.barrier()  # the checkpoint is on disk before any process goes on
        network.eval()
        network.to("cpu")
        return history
    finally:
        if owns_group:
            dist.destroy_process_group()
