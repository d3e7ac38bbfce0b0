"""Cycles from a store as a torch ``Dataset`` and ``DataLoader``, one or several processes.

:class:`CycleStoreDataset` reads cycles from a :class:`~hybridfield.cycle_store.CycleStore`
batch by batch (``__getitems__``: one read per zarr chunk, not one per cycle), so an archive's
cycles stream from disk instead of being held in memory. :func:`cycle_loader` wraps it in a
``DataLoader`` with a ``DistributedSampler``: each of ``world_size`` processes draws a disjoint
share of the cycles each epoch (reshuffled per epoch with the seed), and every batch comes out
as a :class:`CycleBatch` (the store indices and a :class:`~hybridfield.CycleSet` of the cycles),
ready for :func:`hybridfield.training.cycle_batch`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .cycle_store import CycleStore, open_cycle_store
from .cycles import CycleSet

__all__ = ["CycleBatch", "CycleStoreDataset", "collate_cycles", "cycle_loader"]


@dataclass(frozen=True)
class CycleBatch:
    """A batch of stored cycles.

    Attributes
    ----------
    index : (n,) int64
        The cycles' positions in the store.
    cycles : CycleSet
        The cycles themselves (``record`` indexes the store's records).
    """

    index: np.ndarray
    cycles: CycleSet

    def __len__(self) -> int:
        return int(self.index.size)


class CycleStoreDataset(Dataset):
    """The cycles of a store, read on demand.

    Parameters
    ----------
    store : CycleStore, str or path-like
        The store, or its directory.
    cycles : (k,) int array_like, optional
        Store positions of the cycles to serve (a training split); default all.

    Attributes
    ----------
    store : CycleStore
        The store.
    positions : (k,) int64
        Store positions served, item ``i`` being cycle ``positions[i]``.
    """

    def __init__(self, store: CycleStore | str | os.PathLike[str], cycles: Any = None):
        self.store = store if isinstance(store, CycleStore) else open_cycle_store(store)
        n = len(self.store)
        if cycles is None:
            self.positions = np.arange(n, dtype=np.int64)
        else:
            positions = np.asarray(cycles)
            if positions.ndim != 1 or not np.issubdtype(positions.dtype, np.integer) or positions.dtype == bool:
                raise ValueError(f"cycles must be a 1-d array of integer store positions, got {positions.dtype} {positions.shape}")
            if positions.size and (positions.min() < 0 or positions.max() >= n):
                raise ValueError(f"cycles must lie in [0, {n}) for a store of {n} cycles")
            self.positions = positions.astype(np.int64)
        if self.positions.size == 0:
            raise ValueError(f"no cycle to serve: the store {str(self.store.path)!r} holds {n} cycles and none was chosen")

    def __len__(self) -> int:
        return int(self.positions.size)

    def __getitem__(self, item: int) -> CycleBatch:
        return self.__getitems__([item])

    def __getitems__(self, items: Sequence[int]) -> CycleBatch:
        """Several cycles in one read.

        Parameters
        ----------
        items : sequence of int
            Dataset items.

        Returns
        -------
        batch : CycleBatch
        """
        index = self.positions[np.asarray(items, dtype=np.int64)]
        store = self.store
        cycles = CycleSet(
            **store.arrays(index), input_names=store.input_names, target_names=store.target_names,
            record_names=store.record_names, source="real",
        )
        return CycleBatch(index=index, cycles=cycles)


def collate_cycles(items: CycleBatch | Sequence[CycleBatch]) -> CycleBatch:
    """One :class:`CycleBatch` from a batch read at once or from single cycles.

    Parameters
    ----------
    items : CycleBatch or sequence of CycleBatch
        What the dataset gave (``__getitems__`` or one ``__getitem__`` per cycle).

    Returns
    -------
    batch : CycleBatch
    """
    if isinstance(items, CycleBatch):
        return items
    items = list(items)
    if not items or not all(isinstance(b, CycleBatch) for b in items):
        raise TypeError("items must be a CycleBatch or a non-empty sequence of CycleBatch")
    first = items[0].cycles
    arrays = {
        name: np.concatenate([getattr(b.cycles, name) for b in items])
        for name in ("inputs", "input_angles", "targets", "target_angles", "physical", "regions", "lengths",
                     "record", "beat_minimum", "beat_maximum")
    }
    cycles = CycleSet(**arrays, input_names=first.input_names, target_names=first.target_names,
                      record_names=first.record_names, source=first.source)
    return CycleBatch(index=np.concatenate([b.index for b in items]), cycles=cycles)


def cycle_loader(
    dataset: CycleStoreDataset,
    *,
    batch_size: int = 16,
    rank: int = 0,
    world_size: int = 1,
    shuffle: bool = True,
    random_seed: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """A ``DataLoader`` of :class:`CycleBatch` es: this process's share of the cycles.

    Parameters
    ----------
    dataset : CycleStoreDataset
        The cycles.
    batch_size : int
        Cycles per batch (per process).
    rank, world_size : int
        This process and the number of processes: each takes a disjoint ``1 / world_size`` of
        the cycles per epoch (``DistributedSampler`` with ``drop_last``: up to ``world_size - 1``
        cycles, different each epoch, are left out so that the shares stay disjoint and equal).
    shuffle : bool
        Reshuffle every epoch (call ``loader.sampler.set_epoch(epoch)``).
    random_seed : int
        Seed of the shuffling (the same on every process).
    num_workers : int
        Reader processes of the loader (0: read in this process).

    Returns
    -------
    loader : torch.utils.data.DataLoader
        ``loader.sampler`` is the ``DistributedSampler``.
    """
    if not isinstance(dataset, CycleStoreDataset):
        raise TypeError(f"dataset must be a CycleStoreDataset, got {type(dataset).__name__}")
    for name, value, low in (("batch_size", batch_size, 1), ("world_size", world_size, 1), ("num_workers", num_workers, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < world_size:
        raise ValueError(f"rank must be an integer in [0, world_size={world_size}), got {rank!r}")
    if len(dataset) < world_size:
        raise ValueError(f"the dataset's {len(dataset)} cycles cannot be shared among world_size={world_size} processes")
    sampler = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=random_seed, drop_last=True
    )
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_cycles, num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
