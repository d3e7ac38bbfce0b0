"""Bring your own torso: load a mesh file, place electrodes, compare lead vectors with the default.

A researcher with a torso segmented from MRI or CT has a closed surface mesh in some file format
and unit. This example goes through the steps with such a file:

1. the mesh: ``--mesh PATH`` (any format trimesh reads: STL, PLY, OBJ, OFF...) with ``--units``
   and ``--heart-center``, in the body frame orientation (x anterior, y left, z superior); without
   ``--mesh``, a stand-in is written first: a broad, deep chest (the default torso's code with
   other proportions), scaled to millimetres and saved as STL in a temporary folder, as a
   segmentation tool would hand it over;
2. ``geometry.load_torso(path, units=..., heart_center=...)``: scaled to metres, checked to be
   watertight, landmarks estimated from its shape;
3. ``geometry.electrode_positions(torso, "standard12")``: electrodes placed by anatomical rules;
4. ``forward.lead_vectors`` on both torsos (boundary elements), and per lead the angle between the
   two lead vectors and the ratio of their magnitudes: how much the 12-lead ECG of the same heart
   vector changes with the body around it.

Run from the repository root::

    python examples/own_torso.py
    python examples/own_torso.py --mesh my_torso.ply --units mm --heart-center 12 40 1150

Writes torso_default.png, torso_own.png, lead_vector_change.png and ecg_own_vs_default.png and
prints the torsos, the electrode positions, the per-lead table and the paths written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import forward
import geometry
import hybridfield

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).stem
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: The stand-in "own" torso: broader and deeper chest, heart further from the sternum, metres.
STAND_IN_PROPORTIONS = {
    "chest_width": 0.40,
    "chest_depth": 0.28,
    "waist_width": 0.37,
    "heart_depth": 0.09,
    "heart_offset_left": 0.035,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    args : argparse.Namespace
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT / "examples" / "output" / EXAMPLE,
        help=f"folder for the PNG figures, created if needed (default: examples/output/{EXAMPLE}/)",
    )
    parser.add_argument("--mesh", type=Path, default=None, help="closed torso mesh file (default: write a stand-in STL)")
    parser.add_argument("--units", choices=("m", "cm", "mm"), default="mm", help="unit of --mesh and --heart-center (default mm)")
    parser.add_argument(
        "--heart-center", type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
        help="heart's electrical centre in the mesh's coordinates and --units (required with --mesh)",
    )
    parser.add_argument("--quick", action="store_true", help="a coarser stand-in mesh and 3 s of ECG (for CI)")
    parser.add_argument("--dpi", type=float, default=110.0, help="resolution of the PNG files (default 110)")
    args = parser.parse_args(argv)
    if args.mesh is not None and args.heart_center is None:
        parser.error("--mesh needs --heart-center X Y Z (in --units): the heart's position cannot be guessed from a surface")
    if args.mesh is not None and not args.mesh.is_file():
        parser.error(f"--mesh {args.mesh} does not exist")
    return args


def save(fig, path: Path, dpi: float) -> Path:
    """Write a figure as PNG and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : Path
    dpi : float

    Returns
    -------
    path : Path
    """
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def write_stand_in_mesh(folder: Path, resolution: int) -> tuple[Path, tuple[float, float, float]]:
    """Write the stand-in torso as an STL file in millimetres, as a segmentation tool would.

    Parameters
    ----------
    folder : Path
        Where to write ``broad_chest_mm.stl``.
    resolution : int
        Vertices per horizontal section of the mesh.

    Returns
    -------
    path : Path
        The STL file.
    heart_center : (float, float, float), mm
        The heart's electrical centre in the file's coordinates.
    """
    built = geometry.default_torso(**STAND_IN_PROPORTIONS, resolution=resolution, name="broad chest")
    mesh = built.mesh.copy()
    mesh.apply_scale(1000.0)  # metres -> millimetres
    path = folder / "broad_chest_mm.stl"
    mesh.export(path)
    return path, tuple(float(v) for v in 1000.0 * built.heart_center)


def lead_change_figure(angles: np.ndarray, ratios: np.ndarray, name: str):
    """Two bar charts: angle between lead vectors, and magnitude ratio, per lead.

    Parameters
    ----------
    angles : (n_leads,) float, degrees
    ratios : (n_leads,) float
        |own| / |default|.
    name : str
        Name of the own torso.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.0, 6.0), sharex=True, layout="constrained")
    positions = np.arange(len(LEADS))
    bars = top.bar(positions, angles, color="tab:blue")
    top.bar_label(bars, fmt="%.1f", fontsize=7)
    top.set_ylabel("angle (degrees)")
    top.set_title(f"Lead vectors on '{name}' vs the default torso, same heart vector and heart centre")
    bars = bottom.bar(positions, ratios, color="tab:orange")
    bottom.bar_label(bars, fmt="%.2f", fontsize=7)
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.set_ylabel("|c own| / |c default|")
    bottom.set_xticks(positions, LEADS)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    return fig


def main(argv: list[str] | None = None) -> int:
    """Run the example.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    status : int
        0 on success.
    """
    args = parse_args(argv)
    started = time.perf_counter()
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)

    # 1-2. The mesh file and the torso loaded from it (metres, landmarks estimated).
    default = geometry.default_torso()
    with tempfile.TemporaryDirectory() as folder:
        if args.mesh is None:
            path, heart_center = write_stand_in_mesh(Path(folder), resolution=32 if args.quick else 48)
            units = "mm"
            print(f"No --mesh given: wrote a stand-in torso ({', '.join(f'{k}={v:g} m' for k, v in STAND_IN_PROPORTIONS.items())}) "
                  f"to {path.name} in mm")
        else:
            path, heart_center, units = args.mesh, tuple(args.heart_center), args.units
        own = geometry.load_torso(path, units=units, heart_center=heart_center)
    print(f"Default: {default}")
    print(f"Own:     {own}")
    for label, torso in (("default", default), ("own", own)):
        low, high = np.asarray(torso.mesh.bounds)
        size = (high - low) * 100.0
        print(f"  {label:>7}: {size[0]:.1f} cm deep x {size[1]:.1f} cm wide x {size[2]:.1f} cm tall, "
              f"heart at {np.round(torso.heart_center, 3).tolist()} m")

    # 3. Electrodes by anatomical rules.
    electrodes = {label: geometry.electrode_positions(torso, "standard12") for label, torso in (("default", default), ("own", own))}
    print("\nPrecordial electrodes (body frame, cm from the heart centre):")
    for name in ("V1", "V2", "V4", "V6"):
        cells = [
            f"{label} ({', '.join(f'{v:+.1f}' for v in 100.0 * (electrodes[label][name] - torso.heart_center))})"
            for label, torso in (("default", default), ("own", own))
        ]
        print(f"  {name}: {'   '.join(cells)}")

    # 4. Lead vectors (BEM) on both, compared lead by lead.
    default_vectors = forward.lead_vectors(default, list(LEADS))
    own_vectors = forward.lead_vectors(own, list(LEADS))
    own_matrix = np.array([own_vectors[name] for name in LEADS])
    default_matrix = np.array([default_vectors[name] for name in LEADS])
    if not np.isfinite(own_matrix).all():
        raise SystemExit(f"error: non-finite lead vectors on {own}")
    angles, ratios = forward.compare_lead_vectors(own_matrix, default_matrix)
    print("\nLead vectors, mV per mA*m (own torso vs default):")
    print(f"{'lead':>5} {'|c| default':>12} {'|c| own':>8} {'ratio':>6} {'angle':>7}")
    for name, angle, ratio in zip(LEADS, angles, ratios):
        print(f"{name:>5} {np.linalg.norm(default_vectors[name]):12.1f} {np.linalg.norm(own_vectors[name]):8.1f} {ratio:6.2f} {angle:6.1f}°")
    print(f"Median angle {np.median(angles):.1f} degrees, median magnitude ratio {np.median(ratios):.2f}")

    # The same simulated heart vector seen through both torsos.
    fs, duration = 500.0, 3.0 if args.quick else 10.0
    heart_vector = forward.simulate_heart_vector(duration, fs, heart_rate=70, condition="normal", random_seed=0)
    ecg_default = hybridfield.ECG.from_array(default_matrix @ heart_vector, fs, list(LEADS))
    ecg_own = hybridfield.ECG.from_array(own_matrix @ heart_vector, fs, list(LEADS))

    written = [
        save(hybridfield.plot_torso(default, title=f"Default torso: {default.name}, standard 12-lead electrodes"),
             output / "torso_default.png", args.dpi),
        save(hybridfield.plot_torso(own, title=f"Own torso (loaded from {path.name}): electrodes placed by rule"),
             output / "torso_own.png", args.dpi),
        save(lead_change_figure(angles, ratios, own.name), output / "lead_vector_change.png", args.dpi),
        save(
            hybridfield.plot_ecg(
                ecg_default, overlays={f"own torso ({own.name})": ecg_own},
                title="Same simulated heart vector: default torso (black) vs own torso",
            ),
            output / "ecg_own_vs_default.png", args.dpi,
        ),
    ]
    print("\nWritten:")
    for written_path in written:
        print(f"  {written_path}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
