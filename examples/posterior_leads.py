"""Posterior leads V7-V9 and high V1/V2 from a real 12-lead record, with 90 % credible bands.

Two questions a clinician asks of a 12-lead ECG that was recorded without the extra electrodes:

- posterior infarction: ST elevation in V7 (left posterior axillary line), V8 (midscapular line)
  and V9 (left paraspinal border), at V6's height; the default record (PTB s0010_re, acute
  infero-lateral infarction) is exactly a case where one would ask;
- Brugada screening: V1 and V2 moved up to the 3rd and 2nd intercostal spaces.

The population model knows only the 12 standard leads by name, so each extra lead is asked for
as a view: the direction of its electrode, placed by anatomical rules on the default torso
(``geometry.electrode_positions(torso, "posterior" / "high")``), seen from the heart centre.
``predict_posterior`` then uses the physical lead vector of the surface point that ray hits,
which is the electrode itself (checked below: 0 degrees from ``forward.lead_vectors`` of the
named lead), with the population's relative lead-vector spread and residual.

Each lead is predicted twice, from I, II and V5 (a three-lead patch) and from the eight
independent leads of the 12-lead ECG (I, II, V1-V6), and the widths of the 90 % bands are
compared. The ST level at J + 60 ms (relative to the PR segment, averaged over the beats) is
summarised from the draws with the probability of exceeding the usual thresholds; it is an
illustration, not a diagnosis: the signals are band-passed 0.5-40 Hz (diagnostic ST work uses
0.05 Hz) and a single dipole cannot carry ST changes that are local to one electrode.

Run from the repository root::

    python examples/posterior_leads.py               # 10 s, 1000 draws per input set
    python examples/posterior_leads.py --quick       # 5 s, 200 draws, one chain (CI)
    python examples/posterior_leads.py --record cinc2021/E07514

Writes posterior_leads_from_8.png, high_leads_from_8.png, the same from 3 leads (``_from_3``)
and band_widths.png, and prints the views, the band widths per lead and input set, the ST
summaries and the paths written.
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
from hybridfield.preparation import prepare_ecg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).stem
#: Shared real records sit beside the repository: ../shared/data.
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_RECORD = "ptbdb/s0010_re"
INPUT_SETS: dict[str, tuple[str, ...]] = {
    "I, II, V5": ("I", "II", "V5"),
    "8 leads": ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6"),
}
#: Electrode systems of geometry.electrode_positions whose leads are synthesised.
EXTRA_SYSTEMS = ("posterior", "high")
#: Measured leads drawn beside the virtual ones, for reference.
REFERENCE_LEADS = ("II", "V1", "V2", "V6")
PROBABILITY = 0.9
#: ST thresholds, mV: posterior infarction (0.5 mm in V7-V9), Brugada type 1 (2 mm in V1/V2).
ST_THRESHOLDS = {"posterior": 0.05, "high": 0.2}


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
    parser.add_argument("--record", default=DEFAULT_RECORD, help=f"record under --data, without suffix (default {DEFAULT_RECORD})")
    parser.add_argument("--quick", action="store_true", help="5 s of signal, 200 draws, one chain (for CI)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of the record to use (default 10, --quick 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampler (default 0)")
    parser.add_argument("--dpi", type=float, default=110.0, help="resolution of the PNG files (default 110)")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 5.0 if args.quick else 10.0
    if args.duration < 3.0:
        parser.error(f"--duration must be at least 3 s (a few beats for the phase bins), got {args.duration}")
    if not (args.data / args.record).with_suffix(".hea").is_file():
        parser.error(f"no record {args.data / args.record}.hea; point --data at the shared data folder")
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


def extra_lead_views(torso: geometry.Torso) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """View (theta, phi) in radians of every extra electrode, seen from the heart centre.

    Parameters
    ----------
    torso : geometry.Torso

    Returns
    -------
    views : dict of str to (theta, phi)
        In the order of ``EXTRA_SYSTEMS``.
    systems : dict of str to str
        The system each lead belongs to.
    """
    views, systems = {}, {}
    for system in EXTRA_SYSTEMS:
        positions = geometry.electrode_positions(torso, system)
        for name in forward.LEAD_SYSTEMS[system]:
            theta, phi = torso.view_angles(positions[name])
            views[name] = (float(theta), float(phi))
            systems[name] = system
    return views, systems


def qrs_limits(signals: np.ndarray, r_peaks: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """QRS onset and offset around each R peak, from the spatial velocity of several leads.

    The QRS is where the multi-lead signal changes fast: the samples within 120 ms of the R peak
    whose spatial velocity exceeds 15 % of that beat's maximum. More robust than delineating
    one lead, whose QRS may start after the others'.

    Parameters
    ----------
    signals : (n_leads, n_samples) float, mV
    r_peaks : (n_beats,) int
        R-peak sample indices (-1 where missing).
    fs : float, Hz

    Returns
    -------
    onsets, offsets : (n_kept,) int
        Beats whose QRS, PR baseline and J + 60 ms lie inside the record.
    """
    velocity = np.linalg.norm(np.diff(signals, axis=1), axis=0)
    reach = round(0.120 * fs)
    onsets, offsets = [], []
    for peak in r_peaks:
        if peak - reach - round(0.040 * fs) < 0 or peak + reach + round(0.060 * fs) >= velocity.size:
            continue
        window = velocity[peak - reach : peak + reach]
        fast = np.flatnonzero(window > 0.15 * window.max())
        onsets.append(peak - reach + fast[0])
        offsets.append(peak - reach + fast[-1] + 1)
    return np.array(onsets, dtype=int), np.array(offsets, dtype=int)


def st_levels(draws: np.ndarray, onsets: np.ndarray, offsets: np.ndarray, fs: float) -> np.ndarray:
    """ST level at J + 60 ms relative to the PR segment, averaged over beats.

    Parameters
    ----------
    draws : (..., n_samples) float, mV
    onsets, offsets : (n_beats,) int
        QRS onset and offset (J point) sample indices.
    fs : float, Hz

    Returns
    -------
    st : (...) float, mV
    """
    baseline_index = onsets[:, None] - np.arange(round(0.010 * fs), round(0.030 * fs) + 1)[None, :]
    baseline = draws[..., baseline_index].mean(axis=(-1, -2))
    return draws[..., offsets + round(0.060 * fs)].mean(axis=-1) - baseline


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

    record = hybridfield.read_wfdb(args.data / args.record)
    n_keep = min(record.n_samples, int(round(args.duration * record.fs)))
    ecg = hybridfield.ECG.from_array(record.signals[:, :n_keep], record.fs, record.lead_names, metadata={"record": record.record})
    print(f"{record}, using the first {n_keep / record.fs:g} s")

    # 1. The extra leads as views from the heart centre, checked against the named leads.
    torso = geometry.default_torso()
    views, systems = extra_lead_views(torso)
    named = forward.lead_vectors(torso, list(views))
    through_view = forward.view_lead_vectors(torso, *np.array(list(views.values())).T)
    angles, ratios = forward.compare_lead_vectors(through_view, np.array(list(named.values())))
    print(f"\nExtra leads on {torso} as views from the heart centre:")
    print(f"{'lead':>8} {'system':>9} {'theta':>6} {'phi':>6} {'|c| mV/(mA*m)':>14} {'view vs electrode':>18}")
    for (name, (theta, phi)), angle, ratio in zip(views.items(), angles, ratios):
        theta_deg, phi_deg = geometry.view_to_degrees(theta, phi)
        print(f"{name:>8} {systems[name]:>9} {float(theta_deg):6.1f} {float(phi_deg):6.1f} "
              f"{np.linalg.norm(named[name]):14.1f} {angle:10.1f} deg, x{ratio:.2f}")

    # 2. Posterior of every extra lead, from each input set.
    posteriors: dict[str, hybridfield.PosteriorLeads] = {}
    for label, inputs in INPUT_SETS.items():
        missing = [name for name in inputs if not ecg.has_lead(name)]
        if missing:
            raise SystemExit(f"error: record {record.record} lacks the input leads {missing}")
        print(f"\nSampling from {label}: {draws} draws, {tune} tuning steps, {chains} chain(s) ...")
        sampling_started = time.perf_counter()
        posteriors[label] = hybridfield.predict_posterior(
            ecg.select(list(inputs)), list(views.values()), inputs=list(inputs), draws=draws, tune=tune,
            chains=chains, random_seed=args.seed, progressbar=False,
        )
        print(f"{posteriors[label]} ({time.perf_counter() - sampling_started:.1f} s)")

    population = hybridfield.default_population_model()
    measured = prepare_ecg(ecg, warn=False)
    fs = measured.fs

    # 3. Band widths: how much the eight leads narrow what three leads leave open.
    widths = {}
    for label, posterior in posteriors.items():
        lower, upper = posterior.interval(PROBABILITY)
        widths[label] = np.mean(upper - lower, axis=1)
    print(f"\nMean width of the {PROBABILITY:.0%} band, mV:")
    print(f"{'lead':>8} " + " ".join(f"{label:>10}" for label in INPUT_SETS) + f" {'ratio':>6}")
    labels = list(INPUT_SETS)
    for index, name in enumerate(views):
        values = [widths[label][index] for label in labels]
        print(f"{name:>8} " + " ".join(f"{value:10.3f}" for value in values) + f" {values[1] / values[0]:6.2f}")

    # 4. ST level at J + 60 ms, from the 8-lead posterior; QRS limits from the measured leads.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_peaks = np.asarray(hybridfield.segment_beats(measured.select(list(INPUT_SETS["8 leads"]))).r_peak)
    onsets, offsets = qrs_limits(np.array([measured[name] for name in INPUT_SETS["8 leads"]]), r_peaks, fs)
    if onsets.size:
        print(f"\nST level at J + 60 ms vs PR segment, {onsets.size} beats, from 8 leads "
              "(illustration: 0.5-40 Hz band, dipole model):")
        print(f"{'lead':>8} {'median mV':>10} {'90 % interval mV':>18} {'P(ST >= threshold)':>20}")
        for name in REFERENCE_LEADS[1:]:
            print(f"{name:>8} {float(st_levels(measured[name], onsets, offsets, fs)):10.3f} {'(measured)':>18}")
        st = st_levels(posteriors["8 leads"].draws, onsets, offsets, fs)  # (n_draws, n_views)
        for index, name in enumerate(views):
            low, median, high = np.quantile(st[:, index], [0.05, 0.5, 0.95])
            threshold = ST_THRESHOLDS[systems[name]]
            print(f"{name:>8} {median:10.3f} {f'[{low:.3f}, {high:.3f}]':>18} "
                  f"{f'{np.mean(st[:, index] >= threshold):.2f} (>= {threshold:g})':>20}")
    else:
        print("\nNo beat with a delineated QRS: ST levels skipped.")

    # 5. Figures: measured reference leads beside the virtual ones, bands shaded, lead II as rhythm
    # strip. Posterior: V6 then V7, V8, V9 around the back at the same height. High: columns
    # V1/V2 in the 4th (measured), 3rd and 2nd intercostal spaces.
    written = []
    names = list(views)
    panels = {
        "posterior": ("V6", "V7", "V8", "V9"),
        "high": ("V1", "V2", "V1_ICS3", "V2_ICS3", "V1_ICS2", "V2_ICS2"),
    }
    for label, inputs in INPUT_SETS.items():
        posterior, suffix = posteriors[label], len(inputs)
        lower, upper = posterior.interval(PROBABILITY)
        virtual = hybridfield.ECG.from_array(posterior.mean, fs, names, virtual=names)
        shown = hybridfield.ECG.concat([measured.select(list(REFERENCE_LEADS)), virtual])
        bands = {name: (lower[i], upper[i]) for i, name in enumerate(names)}
        for system, leads in panels.items():
            question = "posterior infarction" if system == "posterior" else "Brugada screening"
            written.append(save(
                hybridfield.plot_ecg(
                    shown, bands={name: bands[name] for name in leads if name in bands}, probability=PROBABILITY,
                    leads=list(leads), rhythm_lead="II",
                    title=f"{record.record}, {question}: {system} leads from {label} ({PROBABILITY:.0%} band)",
                ),
                output / f"{system}_leads_from_{suffix}.png", args.dpi,
            ))
    written.append(save(band_width_figure(names, widths), output / "band_widths.png", args.dpi))

    print("\nWritten:")
    for path in written:
        print(f"  {path}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


def band_width_figure(names: list[str], widths: dict[str, np.ndarray]):
    """Grouped bars: mean band width per lead, one bar per input set.

    Parameters
    ----------
    names : list of str
        Lead names, in the order of the width arrays.
    widths : dict of str to (n_leads,) float, mV
        Mean band width per input set.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.0, 4.5), layout="constrained")
    step = 0.8 / len(widths)
    positions = np.arange(len(names))
    for k, (label, values) in enumerate(widths.items()):
        bars = ax.bar(positions + (k - (len(widths) - 1) / 2) * step, values, width=step, label=f"from {label}")
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(positions, names)
    ax.set_ylabel(f"mean width of the {PROBABILITY:.0%} band (mV)")
    ax.set_title("How sure: band widths of the virtual posterior and high leads")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return fig


if __name__ == "__main__":
    sys.exit(main())
