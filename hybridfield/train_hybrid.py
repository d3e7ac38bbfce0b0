"""Reproduce the bundled hybrid weights (``hybridfield/resources/hybrid_default.pt``).

Data: every record of ../shared/data (35 PhysioNet Challenge 2021 12-lead records and the PTB
record s0010_re; licences and citations in that folder's README), cut into Nef-Net protocol
cycles, for two input sets (I, II, V5 and II, V2, V5) with all 12 standard leads as query views;
plus simulated multi-view cycles from the torso model for each input set (random views on the
whole sphere, perturbed lead vectors). The physics uses the bundled population prior.

Run (a few minutes on 2 cores)::

    python -m hybridfield.train_hybrid --data ../shared/data

The weights are saved with their preprocessing contract (fs, units, band, cycle length, lead
names, angle convention) and the training summary, and load with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main", "INPUT_SETS"]

#: Input sets the bundled model is trained on.
INPUT_SETS = (("I", "II", "V5"), ("II", "V2", "V5"))


def _add_linear_path_arguments(parser: argparse.ArgumentParser) -> None:
    # the linear path's fit options, shared by this CLI and hybridfield.evaluate_hybrid
    from .panorama import HEART_VECTOR_RIDGE, LINEAR_RIDGE, PHYSICS_GAIN_RIDGE, REAL_CYCLE_WEIGHT

    parser.add_argument("--linear-ridge", type=float, default=LINEAR_RIDGE, help="ridge of the linear path's per-pair weights")
    parser.add_argument("--gain-ridge", type=float, default=PHYSICS_GAIN_RIDGE, help="ridge of the linear path's physics gain")
    parser.add_argument("--heart-vector-ridge", type=float, default=HEART_VECTOR_RIDGE, help="ridge of the heart-vector correction")
    parser.add_argument("--real-weight", type=float, default=REAL_CYCLE_WEIGHT, help="weight of real against simulated cycles in the linear path's fit")
    parser.add_argument(
        "--limb-identities", action="store_true",
        help="with one measured limb lead, fit and train the limb leads through the six-lead identity fit (train_hybrid's limb_identities)",
    )


def _linear_path_options(arguments: argparse.Namespace) -> dict[str, float | bool]:
    # those options as keywords of train_hybrid and evaluate_setting (and as the contract records them)
    return {
        "linear_ridge": arguments.linear_ridge,
        "linear_gain_ridge": arguments.gain_ridge,
        "heart_vector_ridge": arguments.heart_vector_ridge,
        "linear_real_weight": arguments.real_weight,
        "limb_identities": arguments.limb_identities,
    }


def main(argv: list[str] | None = None) -> int:
    """Train on the shared records plus simulation and write the bundled weights.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    import torch

    from .evaluate_uncertainty import load_shared_records
    from .nefnet import NefNet, NefNetConfig
    from .panorama import PREPROCESSING, STANDARD_LEADS, HybridPanorama, real_cycles, simulated_cycles, train_hybrid

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--simulated-records", type=int, default=10)
    _add_linear_path_arguments(parser)
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "resources" / "hybrid_default.pt"))
    arguments = parser.parse_args(argv)
    torch.manual_seed(arguments.random_seed)
    started = time.perf_counter()
    records = load_shared_records(arguments.data)
    sets = []
    for k, inputs in enumerate(INPUT_SETS):
        real = real_cycles(records, inputs=inputs, targets=STANDARD_LEADS)
        simulated = simulated_cycles(arguments.simulated_records, inputs=inputs, random_seed=arguments.random_seed + k)
        print(f"inputs {', '.join(inputs)}: {len(real)} real cycles from {len(real.record_names)} records, "
              f"{len(simulated)} simulated cycles", flush=True)
        sets += [real, simulated]
    network = NefNet(NefNetConfig())
    # the residual's linear path is fitted in closed form on all cycles, then kept while the
    # field decoder trains (the recipe measured by hybridfield.evaluate_hybrid)
    history = train_hybrid(
        network, sets, epochs=arguments.epochs, linear_start=sets, freeze_linear=True,
        random_seed=arguments.random_seed, **_linear_path_options(arguments),
    )
    contract = dict(PREPROCESSING)
    contract["training"] = {
        "records": sorted({name for s in sets if s.source == "real" for name in s.record_names}),
        "input_sets": [list(i) for i in INPUT_SETS],
        "query_views": list(STANDARD_LEADS) + ["random views on the sphere (simulated)"],
        "simulated_records_per_input_set": arguments.simulated_records,
        "epochs": arguments.epochs,
        "linear_path": "closed-form start on all training cycles, frozen while the field decoder trains",
        **_linear_path_options(arguments),
        "random_seed": arguments.random_seed,
        "final_train_mae_scaled": history[-1]["train_mae"],
        "command": "python -m hybridfield.train_hybrid",
        "parameters": network.parameter_count(),
    }
    model = HybridPanorama(network, input_leads=INPUT_SETS[0], contract=contract)
    model.save(arguments.output)
    size = Path(arguments.output).stat().st_size
    print(f"wrote {arguments.output} ({size / 1e6:.2f} MB, {network.parameter_count()} parameters) "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
