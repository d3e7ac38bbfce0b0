"""Learned versus physical fields on real records: comparison maps over the whole sphere.

For a real 12-lead record (default: PhysioNet Challenge 2021 E07501 and the PTB record s0010_re),
inputs I, II, V5:

1. the physical answer (``HybridPanorama.physical``: the record model's posterior centre, the
   population's lead vector of each view on the default torso), Nef-Net's idealised unit-vector
   projection, and the learned hybrid (bundled weights,
   ``HybridPanorama.pretrained()``) on a theta x phi grid of views covering the sphere
   (``hybridfield.compare_fields``);
2. maps of the angle between each field's effective lead vector and the physical one, of the
   dipolar fraction (the share of each signal a single dipole explains) and of the correlation
   with the physical signal;
3. the panorama itself: one cycle of the learned field at every view, with the physical one
   overlaid.

Run from the repository root::

    python examples/learned_vs_physical.py [--quick] [--output DIR]

Prints per record the median angles and dipolar fractions, and the paths of the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import hybridfield

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).stem
RECORDS = ("cinc2021/E07501", "ptbdb/s0010_re")


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
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--output", default=str(ROOT / "examples" / "output" / EXAMPLE))
    parser.add_argument("--quick", action="store_true", help="one record, a coarser grid (CI)")
    arguments = parser.parse_args(argv)
    output = Path(arguments.output)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = hybridfield.HybridPanorama.pretrained()
    print(model)
    records = RECORDS[:1] if arguments.quick else RECORDS
    n_theta, n_phi = (5, 8) if arguments.quick else (7, 12)
    for name in records:
        ecg = hybridfield.read_wfdb(Path(arguments.data) / name)
        comparison = hybridfield.compare_fields(ecg, model=model, inputs=["I", "II", "V5"], n_theta=n_theta, n_phi=n_phi)
        stem = Path(name).name
        angle = comparison["lead_vector_angle"]
        fraction = comparison["dipolar_fraction"]
        print(f"{stem}: {n_theta} x {n_phi} views")
        for field in ("unit_vector", "learned"):
            print(
                f"  {field:12s} angle to physical lead vector: median {float(np.nanmedian(angle.sel(field=field))):5.1f} deg, "
                f"max {float(np.nanmax(angle.sel(field=field))):5.1f} deg; dipolar fraction median "
                f"{float(np.nanmedian(fraction.sel(field=field))):.3f}; r median {float(np.nanmedian(comparison['r'].sel(field=field))):.3f}"
            )
        for metric in ("lead_vector_angle", "dipolar_fraction", "r"):
            figure = hybridfield.plot_comparison(comparison, metric=metric, field=("unit_vector", "learned"), title=f"{stem}: {metric.replace('_', ' ')}")
            path = output / f"{stem}_{metric}.png"
            figure.savefig(path, dpi=100)
            plt.close(figure)
            print(f"wrote {path}")
        # one cycle of the panorama: 0.9 s from 0.3 s before the first R peak after 1 s
        signal = comparison["signal"]
        fs = float(comparison.attrs["fs"])
        physical = signal.sel(field="physical").values
        energy = np.sum(physical.reshape(-1, physical.shape[-1]) ** 2, axis=0)
        start_search = int(1.0 * fs)
        peak = start_search + int(np.argmax(energy[start_search : start_search + int(1.2 * fs)]))
        window = slice(max(peak - int(0.3 * fs), 0), peak + int(0.6 * fs))
        figure = hybridfield.plot_panorama(
            signal.sel(field="learned").values[..., window],
            comparison["theta"].values,
            comparison["phi"].values,
            fs=fs,
            overlay=physical[..., window],
            label="learned (hybrid)",
            overlay_label="physical",
            title=f"{stem}: Electrocardio Panorama from I, II, V5",
        )
        path = output / f"{stem}_panorama.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
