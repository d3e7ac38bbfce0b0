"""Train the hybrid network from a cycle store, on one or several processes: ``python -m hybridfield.train_store``.

Streams the cycles of a store (``python -m hybridfield.build_store``) through a
``DataLoader`` and trains a hybrid NefNet with :func:`hybridfield.train_hybrid`'s loss
(:func:`hybridfield.distributed.train_distributed`). Under ``torchrun`` every process trains on
a disjoint share of the cycles and the gradients are averaged (``DistributedDataParallel``,
gloo on CPU, nccl on CUDA). A checkpoint is written after every epoch and a rerun with the same
``--checkpoint`` resumes from it; ``--output`` saves the trained model as
:class:`hybridfield.HybridPanorama` weights with the preprocessing contract.

Run::

    python -m hybridfield.train_store --store stores/cycles-<key>.zarr --epochs 30 --checkpoint run.ckpt --output hybrid.pt
    torchrun --nproc_per_node 2 -m hybridfield.train_store --store stores/cycles-<key>.zarr --checkpoint run.ckpt
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Train from a cycle store (on every process ``torchrun`` starts).

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    from .cli import command_parser

    parser = command_parser("train_store", __doc__)
    parser.add_argument("--store", required=True, help="cycle store directory (cycles-<key>.zarr)")
    parser.add_argument("--epochs", type=int, default=30, help="total epochs (default: %(default)s)")
    parser.add_argument("--epochs-this-run", type=int, default=None, help="stop after this many epochs (resume later)")
    parser.add_argument("--batch-size", type=int, default=16, help="cycles per step and process (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak AdamW learning rate (default: %(default)s)")
    parser.add_argument("--views-per-step", type=int, default=4, help="query views drawn per batch (0: all; default: %(default)s)")
    parser.add_argument("--linear-start-cycles", type=int, default=None, help="fit the linear path in closed form on this many cycles first")
    parser.add_argument("--freeze-linear", action="store_true", help="keep the linear path fixed")
    parser.add_argument("--limb-identities", action="store_true", help="train limb views through the six-lead identity fit")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file, written after every epoch and resumed from")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if the checkpoint exists")
    parser.add_argument("--device", default=None, help="torch device (default: cuda:LOCAL_RANK if available, else cpu)")
    parser.add_argument("--loader-workers", type=int, default=0, help="DataLoader reader processes per process")
    parser.add_argument("--random-seed", type=int, default=0, help="seed of weights, batch order and views (default: %(default)s)")
    parser.add_argument("--output", default=None, help="HybridPanorama weights to write at the end (.pt, rank 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    arguments = parser.parse_args(argv)

    import torch

    from .cycle_store import open_cycle_store
    from .distributed import train_distributed
    from .nefnet import NefNet, NefNetConfig
    from .panorama import HybridPanorama
    from .preparation import PREPROCESSING

    store = open_cycle_store(arguments.store)
    torch.manual_seed(arguments.random_seed)
    network = NefNet(NefNetConfig(length=int(store.contract["cycle_length"])))
    history = train_distributed(
        store, network, epochs=arguments.epochs, batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
        views_per_step=arguments.views_per_step or None, limb_identities=arguments.limb_identities,
        freeze_linear=arguments.freeze_linear, linear_start_cycles=arguments.linear_start_cycles,
        checkpoint=arguments.checkpoint, resume=not arguments.no_resume, epochs_this_run=arguments.epochs_this_run,
        device=arguments.device, num_workers=arguments.loader_workers, random_seed=arguments.random_seed,
        progress=not arguments.quiet,
    )
    if arguments.output is not None and int(os.environ.get("RANK", "0")) == 0 and history:
        contract = dict(PREPROCESSING)
        contract["training"] = {
            "store": str(store.path), "store_key": store.key, "records": len(store.records), "cycles": len(store),
            "epochs": history[-1]["epoch"], "final_train_mae_scaled": history[-1]["train_mae"],
            "random_seed": arguments.random_seed, "command": "python -m hybridfield.train_store",
            "parameters": network.parameter_count(),
        }
        HybridPanorama(network, input_leads=store.input_names, contract=contract).save(arguments.output)
        print(f"wrote {arguments.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
