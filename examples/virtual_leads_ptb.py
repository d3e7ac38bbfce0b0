"""Virtual V1 and V6 from I, II and V5 on a real PTB record, with 90 % credible bands.

A clinician's three-lead question: given only leads I, II and V5 of a real recording (PTB
Diagnostic ECG Database, record s0010_re: an 81-year-old woman with an acute infero-lateral
myocardial infarction), what do V1 and V6 look like, and how sure can we be? The record also has
the measured V1, V6 and Frank leads, never shown to the model, so the answer can be checked:

- ``hybridfield.predict_posterior`` samples the few nonlinear unknowns (per-lead gains,
  electrode-placement angle offsets, noise scale) with NUTS; the heart vector and the virtual
  leads are drawn exactly given each draw. The 90 % band is the equal-tailed interval of the
  draws (the probability is always explicit).
- By default the population model (heart-vector prior, lead-vector spread, non-dipolar
  residual) is refitted on the 35 PhysioNet Challenge 2021 records only, so this PTB record is
  out of sample; ``--in-sample`` uses the bundled model, which was trained on it too.
- Three views that no electrode records, (theta, phi) = (90, 130), (132, -99) and (140, 100)
  degrees (the non-standard views of the Electrocardio Panorama review), are synthesised with
  bands as well.
- The posterior heart vector is compared with the measured Frank VCG (converted to the body
  frame): the correlation per axis says how well three leads pin down each component (the
  anterior-posterior one is the hard one with I, II and V5).

Run from the repository root::

    python examples/virtual_leads_ptb.py             # 10 s of signal, 1000 draws: about a minute
    python examples/virtual_leads_ptb.py --quick     # 5 s, 200 draws, one chain (CI)

Prints, per measured-and-predicted lead, the coverage of the 90 % band, its mean width, the RMSE
and Pearson r of the posterior mean against the measured lead and the RMSE of the physical
answer and of the plain projection; the band widths of the three views; the heart-vector/VCG correlations; and the
figures written: virtual_v1_v6.png, nonstandard_views.png, vector_loops_posterior.png,
vcg_measured.png.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import forward
import geometry
import hybridfield
from hybridfield.metrics import pearson_r
from hybridfield.posterior import physical_answer
from hybridfield.preparation import prepare_ecg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).stem
#: Shared real records sit beside the repository: ../shared/data.
DEFAULT_DATA = ROOT.parent / "shared" / "data"
RECORD = "ptbdb/s0010_re"
INPUTS = ("I", "II", "V5")
CHECKED_LEADS = ("V1", "V6")
#: Views no electrode records, degrees (theta from +z, phi from +x towards +y).
VIEWS_DEGREES = ((90.0, 130.0), (132.0, -99.0), (140.0, 100.0))
PROBABILITY = 0.9


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
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the shared records (default: ../shared/data)")
    parser.add_argument("--quick", action="store_true", help="5 s of signal, 200 draws, one chain (for CI)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of the record to use (default 10, --quick 5)")
    parser.add_argument("--in-sample", action="store_true", help="use the bundled population model (trained on this record too)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampler (default 0)")
    parser.add_argument("--dpi", type=float, default=110.0, help="resolution of the PNG files (default 110)")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 5.0 if args.quick else 10.0
    if args.duration < 3.0:
        parser.error(f"--duration must be at least 3 s (a few beats for the phase bins), got {args.duration}")
    record = args.data / RECORD
    if not record.with_suffix(".hea").is_file():
        parser.error(f"the PTB record {record}.hea is missing; point --data at the shared data folder")
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


def one_beat_window(ecg: hybridfield.ECG) -> tuple[float, float]:
    """Time window of one beat: 0.25 s before the second detected R peak to 0.45 s after.

    Parameters
    ----------
    ecg : hybridfield.ECG
        The (preprocessed) record.

    Returns
    -------
    start, stop : float, s
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peaks = np.asarray(hybridfield.segment_beats(ecg).r_peak)
    peaks = peaks[peaks >= 0] / ecg.fs
    peaks = peaks[(peaks > 0.3) & (peaks < ecg.duration - 0.5)]
    centre = float(peaks[1] if peaks.size > 1 else peaks[0] if peaks.size else ecg.duration / 2)
    return centre - 0.25, centre + 0.45


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
    draws, tune, chains = (200, 200, 1) if args.quick else (1000, 300, 2)

    # 1. The record, cut to the first seconds. The model sees only the input leads.
    record = hybridfield.read_wfdb(args.data / RECORD)
    n_keep = int(round(args.duration * record.fs))
    if n_keep > record.n_samples:
        raise SystemExit(f"error: --duration {args.duration} s is longer than the record ({record.duration:.1f} s)")
    ecg = hybridfield.ECG.from_array(record.signals[:, :n_keep], record.fs, record.lead_names, metadata={"record": record.record})
    print(f"{record}, using the first {args.duration:g} s")
    print(f"Diagnosis (header): {record.metadata['header'].get('Reason for admission', '?')}, "
          f"acute infarction {record.metadata['header'].get('Acute infarction (localization)', '?')}")

    # 2. Population model: refitted without this record unless --in-sample.
    if args.in_sample:
        population = hybridfield.default_population_model()
        print(f"Population model: bundled, {len(population.training_records)} records (this one included: in sample)")
    else:
        training = hybridfield.read_wfdb_folder(args.data / "cinc2021")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            population = hybridfield.fit_population_model(training)
        print(f"Population model: refitted on {len(population.training_records)} CinC 2021 records, "
              f"without {record.record} (out of sample)")

    # 3. Posterior of V1, V6 and three off-standard views from I, II, V5 only.
    thetas, phis = geometry.view_from_degrees(*np.array(VIEWS_DEGREES).T)
    views = [*CHECKED_LEADS, *zip(np.atleast_1d(thetas).tolist(), np.atleast_1d(phis).tolist())]
    print(f"\nSampling: {draws} draws, {tune} tuning steps, {chains} chain(s), inputs {', '.join(INPUTS)} ...")
    sampling_started = time.perf_counter()
    posterior = hybridfield.predict_posterior(
        ecg.select(list(INPUTS)), views, inputs=list(INPUTS), draws=draws, tune=tune, chains=chains,
        random_seed=args.seed, progressbar=False, population=population,
    )
    print(f"{posterior} ({time.perf_counter() - sampling_started:.1f} s)")
    lower, upper = posterior.interval(PROBABILITY)
    mean = posterior.mean
    fs = posterior.fs

    # 4. Against the measured leads, preprocessed exactly as the model's inputs were.
    measured = prepare_ecg(ecg, warn=False)
    # The physical answer (the posterior's centre, no draws) and, for comparison, the plain solve:
    # the heart vector solved from I, II, V5 through the default torso's own lead vectors.
    answer = physical_answer(ecg.select(list(INPUTS)), list(CHECKED_LEADS), inputs=list(INPUTS), population=population)[0]
    nominal = dict(zip(population.lead_names, population.nominal_lead_vectors))
    solved = np.linalg.solve(np.array([nominal[name] for name in INPUTS]), np.array([measured[name] for name in INPUTS]))
    print(f"\nMeasured vs predicted (band = {PROBABILITY:.0%} credible interval; the model never saw these leads):")
    print(f"{'lead':>5} {'coverage':>9} {'width mV':>9} {'RMSE mV':>8} {'r':>6} {'physical answer RMSE mV':>24} {'plain solve RMSE mV':>20}")
    for index, name in enumerate(CHECKED_LEADS):
        truth = measured[name]
        covered = float(hybridfield.coverage(truth, lower[index], upper[index]))
        width = float(np.mean(upper[index] - lower[index]))
        rmse = float(np.sqrt(np.mean((truth - mean[index]) ** 2)))
        answer_rmse = float(np.sqrt(np.mean((truth - answer[index]) ** 2)))
        solve_rmse = float(np.sqrt(np.mean((truth - nominal[name] @ solved) ** 2)))
        print(
            f"{name:>5} {covered:9.3f} {width:9.3f} {rmse:8.3f} {float(pearson_r(mean[index], truth)):6.2f} "
            f"{answer_rmse:24.3f} {solve_rmse:20.3f}"
        )

    view_names = [name.removesuffix(" (virtual)") for name in posterior.names[len(CHECKED_LEADS):]]
    print(f"\nViews no electrode records ({PROBABILITY:.0%} band):")
    print(f"{'view':>16} {'width mV':>9} {'peak-to-peak of mean mV':>24}")
    for offset, name in enumerate(view_names):
        index = len(CHECKED_LEADS) + offset
        print(f"{name:>16} {np.mean(upper[index] - lower[index]):9.3f} {np.ptp(mean[index]):24.3f}")

    # The posterior heart vector against the measured Frank VCG (a different unit: compare shapes).
    vcg = forward.frank_to_body(np.array([measured[name] for name in ("X", "Y", "Z")]), axis=0)
    heart_vector = posterior.heart_vector_mean
    print("\nPosterior heart vector vs measured Frank VCG (body frame), Pearson r per axis:")
    for axis, label in enumerate(("x (anterior)", "y (left)", "z (superior)")):
        print(f"{label:>14} {float(pearson_r(heart_vector[axis], vcg[axis])):6.2f}")

    # 5. Figures.
    written = []
    # Inputs I and V5, then the checked V1 and V6 (one continuous strip), lead II as rhythm strip.
    shown = measured.select(["I", "V5", *CHECKED_LEADS, "II"])
    predicted = hybridfield.ECG.from_array(mean[: len(CHECKED_LEADS)], fs, list(CHECKED_LEADS), virtual=list(CHECKED_LEADS))
    bands = {name: (lower[i], upper[i]) for i, name in enumerate(CHECKED_LEADS)}
    written.append(save(
        hybridfield.plot_ecg(
            shown, overlays={"posterior mean (from I, II, V5)": predicted}, bands=bands, probability=PROBABILITY,
            leads=["I", "V5", *CHECKED_LEADS], rhythm_lead="II",
            title=f"{record.record}: measured V1, V6 (black) vs virtual from I, II, V5 only ({PROBABILITY:.0%} band)",
        ),
        output / "virtual_v1_v6.png", args.dpi,
    ))
    views_ecg = hybridfield.ECG.concat([
        hybridfield.ECG.from_array(mean[len(CHECKED_LEADS):], fs, view_names, virtual=view_names), measured.select(["II"]),
    ])
    view_bands = {name: (lower[len(CHECKED_LEADS) + i], upper[len(CHECKED_LEADS) + i]) for i, name in enumerate(view_names)}
    written.append(save(
        hybridfield.plot_ecg(
            views_ecg, bands=view_bands, probability=PROBABILITY, leads=view_names, rhythm_lead="II",
            title=f"{record.record}: views (theta, phi in degrees) no electrode records, from I, II, V5 ({PROBABILITY:.0%} band)",
        ),
        output / "nonstandard_views.png", args.dpi,
    ))
    window = one_beat_window(measured)
    written.append(save(
        hybridfield.plot_vector_loops(
            heart_vector, fs, window=window, spread=posterior.heart_vector_draws,
            title=f"{record.record}: posterior heart vector from I, II, V5, one beat (mean and draws)",
        ),
        output / "vector_loops_posterior.png", args.dpi,
    ))
    written.append(save(
        hybridfield.plot_vector_loops(
            np.array([measured[name] for name in ("X", "Y", "Z")]), fs, frame="frank", window=window,
            title=f"{record.record}: measured Frank VCG, same beat (never seen by the model)",
        ),
        output / "vcg_measured.png", args.dpi,
    ))

    print("\nWritten:")
    for path in written:
        print(f"  {path}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
