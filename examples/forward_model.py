"""Forward model on the default torso: 12-lead ECG, Frank VCG and off-standard views.

A simulated heart vector p(t) (mA*m, body frame: x anterior, y left, z superior) is projected
onto leads through explicit lead vectors c (mV per mA*m) computed with the boundary element
method on the default torso: V_lead(t) = c . p(t). For a few views off the standard electrode
sites the physical lead vector (the WCT-referenced surface point seen from the heart centre in
that direction) is compared with Nef-Net's idealisation, the unit direction u(theta, phi) times
the mean Frank lead-vector magnitude.

Run from the repository root::

    python examples/forward_model.py              # 10 s at 500 Hz into examples/output/forward_model/
    python examples/forward_model.py --quick      # 3 s (CI)
    python examples/forward_model.py --duration 3 --output /tmp/figures

Writes ecg_12lead.png, vcg_loops.png, views_physical_vs_unit.png and conditions.png, plus
ecg_12lead_paper.png (the same 12 leads as printed in the clinic) and image_surface.png (the
torso coloured by lead-vector magnitude, with the electrodes and the views' surface points), and
prints the torso, the lead-vector table, the angle between the physical and unit-vector lead of
each view, and the paths written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import forward
import geometry
import hybridfield

#: Off-standard views, degrees (theta from +z, phi from +x towards +y): the three non-standard
#: views of the Electrocardio Panorama review and a V7-like posterior-lateral view.
VIEWS_DEGREES: dict[str, tuple[float, float]] = {
    "review (90, 130)": (90.0, 130.0),
    "review (132, -99)": (132.0, -99.0),
    "review (140, 100)": (140.0, 100.0),
    "V7-like (100, 150)": (100.0, 150.0),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "output" / Path(__file__).stem,
        help="folder for the PNG figures, created if needed (default: examples/output/forward_model/)",
    )
    parser.add_argument("--duration", type=float, default=None, help="signal length, s (default 10, --quick 3)")
    parser.add_argument("--quick", action="store_true", help="3 s of signal (for CI)")
    parser.add_argument("--fs", type=float, default=500.0, help="sampling rate, Hz (default 500)")
    parser.add_argument("--dpi", type=float, default=110.0, help="resolution of the PNG files (default 110)")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.duration < 2.0:
        parser.error(f"--duration must be at least 2 s (two beats at 70 bpm), got {args.duration}")
    if args.fs <= 0:
        parser.error(f"--fs must be positive, got {args.fs}")
    return args


def vector_table(vectors: dict[str, np.ndarray]) -> str:
    """Lead vectors as text: components (mV per mA*m, body frame), magnitude, direction in degrees."""
    lines = [f"{'lead':>6} {'cx (ant)':>9} {'cy (left)':>9} {'cz (sup)':>9} {'|c|':>7} {'theta':>6} {'phi':>6}"]
    for name, vector in vectors.items():
        theta, phi = geometry.angles_from_direction(vector / np.linalg.norm(vector))
        theta_deg, phi_deg = geometry.view_to_degrees(theta, phi)
        lines.append(
            f"{name:>6} {vector[0]:9.1f} {vector[1]:9.1f} {vector[2]:9.1f} {np.linalg.norm(vector):7.1f}"
            f" {float(theta_deg):6.0f} {float(phi_deg):6.0f}"
        )
    return "\n".join(lines)


def save(fig, path: Path, dpi: float) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    fs = args.fs

    # 1. Geometry and lead vectors (BEM on the torso surface, built once and cached).
    torso = geometry.default_torso()
    twelve = forward.lead_vectors(torso, "standard12")
    frank = forward.lead_vectors(torso, "frank")
    print(torso)
    broken = [name for name, vector in {**twelve, **frank}.items() if not np.isfinite(vector).all()]
    if broken:
        raise SystemExit(f"error: the forward model returned non-finite lead vectors for {broken} on {torso}")
    print("\nLead vectors, mV per mA*m, body frame (direction as theta, phi in degrees):")
    print(vector_table({**twelve, **frank}))

    # 2. Heart vector and its projections.
    heart_vector, beats = forward.simulate_heart_vector(
        args.duration, fs, heart_rate=70, condition="normal", random_seed=0, return_annotations=True
    )
    ecg = forward.project_heart_vector(twelve, heart_vector)  # mV
    vcg = np.array(list(forward.project_heart_vector(frank, heart_vector).values()))  # Frank X, Y, Z, mV

    # 3. Off-standard views: physical lead vector versus Nef-Net's unit vector.
    theta, phi = geometry.view_from_degrees(*np.array(list(VIEWS_DEGREES.values())).T)
    physical = forward.view_lead_vectors(torso, theta, phi)  # (n_views, 3)
    gain = float(np.mean([np.linalg.norm(vector) for vector in frank.values()]))
    ideal = gain * np.atleast_2d(geometry.direction_from_angles(theta, phi))  # (n_views, 3)
    angles, ratios = forward.compare_lead_vectors(physical, ideal)
    view_signals = {name: vector @ heart_vector for name, vector in zip(VIEWS_DEGREES, physical)}
    unit_signals = {name: vector @ heart_vector for name, vector in zip(VIEWS_DEGREES, ideal)}
    print(f"\nViews: physical lead vector vs unit vector x {gain:.1f} mV/(mA*m) (mean Frank |c|):")
    print(f"{'view':>20} {'|c| phys':>9} {'angle':>7} {'|c| ratio':>9}")
    for name, vector, angle, ratio in zip(VIEWS_DEGREES, physical, angles, ratios):
        print(f"{name:>20} {np.linalg.norm(vector):9.1f} {angle:6.1f}° {ratio:9.2f}")

    # 4. Figures.
    written = []
    written.append(
        save(
            hybridfield.plot_leads(
                ecg, fs, layout=(6, 2), title="Simulated 12-lead ECG, default torso (BEM), normal conduction, 70 bpm"
            ),
            output / "ecg_12lead.png",
            args.dpi,
        )
    )
    one_beat = None
    if beats.n_beats >= 2:
        one_beat = (beats.p_onset[1] / fs, (beats.p_onset[1] + round(60.0 / 70.0 * fs) - 1) / fs)
    written.append(
        save(
            hybridfield.plot_vector_loops(
                vcg, fs, frame="frank", window=one_beat, title="Frank VCG on the default torso, one beat (mV)"
            ),
            output / "vcg_loops.png",
            args.dpi,
        )
    )
    strip = slice(0, int(round(min(args.duration, 5.0) * fs)))
    written.append(
        save(
            hybridfield.plot_views(
                {name: signal[strip] for name, signal in view_signals.items()},
                fs,
                {name: signal[strip] for name, signal in unit_signals.items()},
                title="Off-standard views: physical lead field vs unit vector (Nef-Net idealisation)",
            ),
            output / "views_physical_vs_unit.png",
            args.dpi,
        )
    )
    # The conduction presets on the leads that tell them apart (I, V1, V6), first 2.5 s.
    n_strip = int(round(2.5 * fs))
    by_condition = {}
    for condition in ("normal", "lbbb", "rbbb"):
        vector = forward.simulate_heart_vector(2.5, fs, heart_rate=70, condition=condition, random_seed=0)
        leads = forward.project_heart_vector({k: twelve[k] for k in ("I", "V1", "V6")}, vector)
        by_condition.update({f"{lead}, {condition if condition == 'normal' else condition.upper()}": signal[:n_strip] for lead, signal in leads.items()})
    written.append(
        save(
            hybridfield.plot_leads(by_condition, fs, layout=(3, 3), title="Conduction presets: normal, LBBB, RBBB"),
            output / "conditions.png",
            args.dpi,
        )
    )

    # The same 12 leads on ECG paper (3 x 4 columns, rhythm strip II, 25 mm/s, 10 mm/mV).
    written.append(
        save(
            hybridfield.plot_ecg(
                hybridfield.ECG.from_array(np.array(list(ecg.values())), fs, list(ecg)),
                title="Simulated 12-lead ECG on ECG paper: default torso (BEM), normal conduction, 70 bpm",
            ),
            output / "ecg_12lead_paper.png",
            args.dpi,
        )
    )
    # Burger's image surface: every surface point's lead vector, here its magnitude; the surface
    # points of the off-standard views are marked.
    written.append(
        save(
            hybridfield.plot_torso(
                torso,
                image_surface=True,
                views=[tuple(view) for view in np.column_stack([np.atleast_1d(theta), np.atleast_1d(phi)])],
                title="Image surface of the default torso: |lead vector| of every surface point (WCT reference)",
            ),
            output / "image_surface.png",
            args.dpi,
        )
    )

    print("\nWritten:")
    for path in written:
        print(f"  {path}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
