"""Training the hybrid residual on a folder of wfdb records (small settings).

1. ``hybridfield.read_wfdb_folder``: every 12-lead record of a folder (default: the 35 PhysioNet
   Challenge 2021 records of ../shared/data/cinc2021);
2. records split into training and test records (never cycles of one record on both sides);
3. one cycle per beat with the physical answer of each view (``hybridfield.real_cycles``, inputs
   I, II, V5), plus simulated multi-view cycles from the torso model
   (``hybridfield.simulated_cycles``);
4. ``hybridfield.train_hybrid`` with a fixed seed and one progress line per epoch; the model is
   saved with its preprocessing contract and loaded back (``weights_only=True``);
5. the test records scored by the Nef-Net protocol (PSNR, RMSE) for the physics alone and the
   hybrid, and one test record drawn: measured, physical and learned precordial leads.

Run from the repository root::

    python examples/train_on_folder.py [--quick] [--folder DIR] [--epochs N] [--output DIR]

This is the small version of ``python -m hybridfield.train_hybrid`` (which makes the bundled
weights) and of ``python -m hybridfield.evaluate_hybrid`` (the leave-records-out evaluation).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import hybridfield
from hybridfield.evaluate_hybrid import score_cycles
from hybridfield.training import predict_cycles

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).stem
INPUTS = ("I", "II", "V5")
PRECORDIAL = ("V1", "V2", "V3", "V4", "V6")


def main(argv: list[str] | None = None) -> int:
    """Run the example.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(ROOT.parent / "shared" / "data" / "cinc2021"))
    parser.add_argument("--output", default=str(ROOT / "examples" / "output" / EXAMPLE))
    parser.add_argument("--records", type=int, default=16, help="records read from the folder")
    parser.add_argument("--test-records", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="8 records, 1 epoch (CI)")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.records, arguments.test_records, arguments.epochs = 8, 2, 1
    output = Path(arguments.output)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    records = hybridfield.read_wfdb_folder(arguments.folder)[: arguments.records]
    train_records, test_records = records[: -arguments.test_records], records[-arguments.test_records :]
    print(f"{len(train_records)} training records, {len(test_records)} test records from {arguments.folder}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        population = hybridfield.fit_population_model(train_records)  # the physics' prior: training records only
    train = hybridfield.real_cycles(train_records, inputs=INPUTS, population=population)
    test = hybridfield.real_cycles(test_records, inputs=INPUTS, population=population)
    simulated = hybridfield.simulated_cycles(4, inputs=INPUTS, population=population, random_seed=0)
    print(f"cycles: {len(train)} training, {len(test)} test, {len(simulated)} simulated")
    network = hybridfield.NefNet()
    history = hybridfield.train_hybrid(network, [train, simulated], epochs=arguments.epochs, random_seed=0)
    model = hybridfield.HybridPanorama(network, population=population, input_leads=INPUTS)
    checkpoint = output / "hybrid_small.pt"
    model.save(checkpoint)
    model = hybridfield.HybridPanorama.load(checkpoint, population=population)
    print(f"wrote {checkpoint} ({checkpoint.stat().st_size / 1e3:.0f} kB); reloaded: {model}")
    test = test.views(PRECORDIAL)
    for label, prediction in (("physics", test.physical), ("hybrid", predict_cycles(model.network, test))):
        scores = score_cycles(prediction, test)
        print(f"{label:8s} precordial PSNR {scores['psnr'].mean():6.2f} dB, RMSE {scores['rmse'].mean():.3f} mV")
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot([h["epoch"] for h in history], [h["train_mae"] for h in history], marker="o")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training MAE (scaled)")
    axis.set_title("Training the residual")
    figure.tight_layout()
    path = output / "training_curve.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path}")
    ecg = test_records[0]
    measured = model.prepare(ecg).select(list(PRECORDIAL))
    figure = hybridfield.plot_ecg(
        measured,
        overlays={"physical": model.physical(ecg, list(PRECORDIAL)), "learned": model.predict(ecg, list(PRECORDIAL))},
        title=f"{ecg.record}: measured vs physical vs learned (inputs {', '.join(INPUTS)})",
    )
    path = output / "test_record.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
