"""Reproduce the bundled hybrid weights (``hybridfield/resources/hybrid_default.pt``).

Data: every usable record of ../shared/data (``--records all``, the default: PhysioNet Challenge
2021, LUDB and PTB Diagnostic, about 300 records; licences and citations in that folder's README;
``--records bundled`` takes the 36 Challenge and PTB records of the first bundled weights), cut
into one cycle per detected beat (:func:`hybridfield.beat_cycles.beat_cycles`; 297 records, 3506
cycles) for two input sets (I, II, V5 and II, V2, V5) with all 12 standard leads as query views;
plus simulated multi-view cycles from the torso model for each input set (random views on the
whole sphere, perturbed lead vectors). The residual learns to correct the physical answer
(:func:`hybridfield.posterior.physical_answer`) with the bundled population model.

Run (about 13-15 minutes on 2 cores for all records and 10 epochs, the recipe that
``python -m hybridfield.evaluate_hybrid`` measures on all records)::

    python -m hybridfield.train_hybrid --data ../shared/data --epochs 10

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

    from .cli import (
        add_data_argument,
        add_linear_path_arguments,
        add_training_arguments,
        add_records_argument,
        linear_path_options,
        load_selected_records,
    )
    from .cycles import real_cycles, simulated_cycles
    from .leads import STANDARD_LEADS
    from .nefnet import NefNet, NefNetConfig
    from .panorama import HybridPanorama
    from .preparation import PREPROCESSING
    from .training import train_hybrid

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    add_training_arguments(parser)
    add_linear_path_arguments(parser)
    add_records_argument(
        parser, help="every usable shared record (Challenge 2021, LUDB, PTB), or the 36 of the first bundled weights"
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "resources" / "hybrid_default.pt"))
    arguments = parser.parse_args(argv)
    torch.manual_seed(arguments.random_seed)
    started = time.perf_counter()
    records = load_selected_records(arguments.data, arguments.records)[0]
    print(f"{len(records)} records read from {arguments.data}", flush=True)
    sets = []
    for k, inputs in enumerate(INPUT_SETS):
        real = real_cycles(records, inputs=inputs, targets=STANDARD_LEADS)
        simulated = simulated_cycles(arguments.simulated_records, inputs=inputs, random_seed=arguments.random_seed + k)
        print(f"inputs {', '.join(inputs)}: {len(real)} real cycles from {len(real.record_names)} records, "
              f"{len(simulated)} simulated cycles", flush=True)
        sets += [real, simulated]
    network = NefNet(NefNetConfig(channels=arguments.channels))
    # the residual's linear path is fitted in closed form on all cycles, then kept while the
    # field decoder trains (the recipe measured by hybridfield.evaluate_hybrid)
    history = train_hybrid(
        network, sets, epochs=arguments.epochs, linear_start=sets, freeze_linear=True,
        random_seed=arguments.random_seed, **linear_path_options(arguments),
    )
    contract = dict(PREPROCESSING)
    contract["training"] = {
        "records": sorted({name for s in sets if s.source == "real" for name in s.record_names}),
        "record_selection": arguments.records,
        "input_sets": [list(i) for i in INPUT_SETS],
        "query_views": list(STANDARD_LEADS) + ["random views on the sphere (simulated)"],
        "simulated_records_per_input_set": arguments.simulated_records,
        "epochs": arguments.epochs,
        "linear_path": "closed-form start on all training cycles, frozen while the field decoder trains",
        **linear_path_options(arguments),
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
