"""Leave-one-record-out evaluation of uncertainty-aware virtual leads on real records.

For every record: learn the population model from all the other records, predict the target
leads from the input leads with :func:`hybridfield.predict_posterior`, and compare with the
measured targets; the baseline is a population linear regression from the same inputs with a
constant Gaussian band, fitted on the same training records. Reported per target lead: 90 %
coverage, mean interval width, interval score (and its ratio to the baseline's), RMSE of the
posterior mean, and regression-to-the-mean figures of the posterior mean and of single draws.

Run::

    python -m hybridfield.evaluate_uncertainty --data ../shared/data --output loro.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .cli import add_data_argument, add_records_argument, load_selected_records
from .evaluation_splits import record_rhythm, record_source
from .ecg import ECG
from .metrics import PopulationRegression, coverage, interval_score, regression_to_the_mean, rmse
from .population import CORRELATION_SHRINKAGE, fit_population_model, record_statistics
from .posterior import POSTERIOR_METHODS, predict_posterior
from .preparation import prepare_record

__all__ = ["leave_one_record_out", "main"]


def leave_one_record_out(
    records: list[ECG],
    *,
    patients: list[str] | None = None,
    inputs: tuple[str, ...] = ("I", "II", "V5"),
    targets: tuple[str, ...] = ("V1", "V2", "V3", "V4", "V6"),
    probability: float = 0.9,
    draws: int = 400,
    tune: int = 400,
    method: str = "laplace",
    correlation_shrinkage: float = CORRELATION_SHRINKAGE,
    test_every: int = 1,
    random_seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Leave-one-record-out evaluation (patients kept whole); see the module docstring.

    Every record is prepared once (:func:`hybridfield.preparation.prepare_record`) and its
    population statistics computed once (:func:`hybridfield.population.record_statistics`); each
    fold then combines the statistics of the records of the other patients.

    Parameters
    ----------
    records : list of ECG
        Real 12-lead records.
    patients : list of str, optional
        Patient of each record: a record is predicted by a model that saw no record of its
        patient (default: every record its own patient).
    inputs, targets : tuple of str
        Measured and held-out leads.
    probability : float
        Credible-interval probability.
    draws, tune : int
        Posterior draws (total) and NUTS tuning steps per chain.
    method : {"laplace", "nuts"}
        How the posterior draws its nuisance parameters (:func:`hybridfield.predict_posterior`).
    correlation_shrinkage : float
        Of the leads' deviation correlation (:func:`hybridfield.fit_population_model`; 1: independent).
    test_every : int
        Predict every ``test_every``-th usable record only (each still from all other patients):
        a quicker look spread over the sources.
    random_seed : int
        Seed.
    progress : bool
        Print one line per record.

    Returns
    -------
    report : dict
        Per-lead figures for the model and the baseline, and per-record details.
    """
    patients = [str(k) for k in range(len(records))] if patients is None else [str(p) for p in patients]
    rhythms = [record_rhythm(ecg) for ecg in records]
    if len(patients) != len(records):
        raise ValueError(f"patients must name the patient of each of the {len(records)} records, got {len(patients)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared_records = [prepare_record(ecg) for ecg in records]
        statistics = [record_statistics(record) for record in prepared_records]
    prepared = [record.ecg for record in prepared_records]
    # every record with beats and the inputs is scored, over the whole record
    usable = [i for i, ecg in enumerate(prepared) if all(ecg.has_lead(name) for name in inputs) and prepared_records[i].n_beats > 0]
    complete = [i for i in usable if all(prepared[i].has_lead(t) for t in targets)]
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
    amplitudes: dict[str, dict[str, list[float]]] = {name: {"true": [], "mean": [], "draw": [], "baseline": []} for name in targets}
    tested: list[str] = []
    started = time.perf_counter()
    for position, test in enumerate(usable):
        if position % test_every:
            continue
        training = [i for i in range(len(records)) if patients[i] != patients[test] and statistics[i] is not None]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            population = fit_population_model([statistics[i] for i in training], correlation_shrinkage=correlation_shrinkage)
        regression_records = [i for i in complete if patients[i] != patients[test]]
        train_inputs = np.concatenate([np.array([prepared[i][n] for n in inputs]) for i in regression_records], axis=1)
        train_targets = np.concatenate([np.array([prepared[i][n] for n in targets]) for i in regression_records], axis=1)
        baseline = PopulationRegression(train_inputs, train_targets)
        ecg = prepared[test]
        available = [name for name in targets if ecg.has_lead(name)]
        if not available:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            posterior = predict_posterior(
                prepared_records[test], list(available), inputs=list(inputs), draws=draws, tune=tune,
                random_seed=random_seed + position, progressbar=False, population=population, method=method,
            )
        tested.append(str(ecg.record))
        lower, upper = posterior.interval(probability)
        base_mean = baseline.predict(np.array([ecg[n] for n in inputs]))
        base_lower, base_upper = baseline.interval(np.array([ecg[n] for n in inputs]), probability)
        for k, name in enumerate(available):
            truth = ecg[name]
            j = targets.index(name)
            figures = {
                "coverage": coverage(truth, lower[k], upper[k]),
                "width": float(np.mean(upper[k] - lower[k])),
                "interval_score": interval_score(truth, lower[k], upper[k], probability),
                "rmse": rmse(posterior.mean[k], truth),
                "baseline_coverage": coverage(truth, base_lower[j], base_upper[j]),
                "baseline_width": float(np.mean(base_upper[j] - base_lower[j])),
                "baseline_interval_score": interval_score(truth, base_lower[j], base_upper[j], probability),
                "baseline_rmse": rmse(base_mean[j], truth),
            }
            for key, value in figures.items():
                rows[name].setdefault(key, []).append(float(value))
            rows[name].setdefault("record", []).append(str(ecg.record))
            rows[name].setdefault("source", []).append(record_source(str(ecg.record), patients[test]))
            rows[name].setdefault("rhythm", []).append(rhythms[test])
            amplitudes[name]["true"].append(float(np.ptp(truth)))
            amplitudes[name]["mean"].append(float(np.ptp(posterior.mean[k])))
            amplitudes[name]["draw"].append(float(np.ptp(posterior.draws[0, k])))
            amplitudes[name]["baseline"].append(float(np.ptp(base_mean[j])))
        if progress:
            print(
                f"[{position + 1}/{len(usable)}] {ecg.record}: coverage "
                + " ".join(f"{name} {rows[name]['coverage'][-1]:.2f}" for name in available)
                + f" ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    summary: dict[str, Any] = {}
    for name in targets:
        entry = {key: float(np.mean(values)) for key, values in rows[name].items() if key not in ("record", "source", "rhythm")}
        entry["interval_score_ratio"] = entry["interval_score"] / entry["baseline_interval_score"]
        entry["n_records"] = len(rows[name]["coverage"])
        for kind in ("mean", "draw", "baseline"):
            figures = regression_to_the_mean(amplitudes[name][kind], amplitudes[name]["true"])
            entry[f"{kind}_variance_ratio"] = figures["variance_ratio"]
            entry[f"{kind}_error_correlation"] = figures["error_correlation"]
        summary[name] = entry
    return {
        "inputs": list(inputs),
        "targets": list(targets),
        "probability": probability,
        "method": method,
        "correlation_shrinkage": correlation_shrinkage,
        "records": tested,
        "n_patients": len({patients[i] for i in usable}),
        "records_read": len(records),
        "records_with_beats": sum(1 for record in prepared_records if record.n_beats > 0),
        "samples_scored": "every sample of every scored record",
        "per_lead": summary,
        "per_source": _per_group(rows, "source"),
        "per_rhythm": _per_group(rows, "rhythm"),
        "per_record": rows,
        "seconds": time.perf_counter() - started,
    }


def _per_group(rows: dict[str, dict[str, list[Any]]], key: str) -> dict[str, dict[str, dict[str, float]]]:
    """Group (source or rhythm) -> lead -> coverage, interval-score ratio and records, from the per-record rows."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, columns in rows.items():
        sources = np.array(columns.get(key, []), dtype=str)
        for source in sorted(set(sources)):
            chosen = sources == source
            model = float(np.mean(np.array(columns["interval_score"])[chosen]))
            baseline = float(np.mean(np.array(columns["baseline_interval_score"])[chosen]))
            out.setdefault(source, {})[name] = {
                "coverage": float(np.mean(np.array(columns["coverage"])[chosen])),
                "interval_score_ratio": model / baseline,
                "n_records": int(chosen.sum()),
            }
    return out


def _source_table(report: dict[str, Any], key: str = "source") -> str:
    """Coverage / interval-score ratio per source (or rhythm) and lead (markdown)."""
    targets = list(report["targets"])
    lines = [f"| {key} (records) | " + " | ".join(f"{name} coverage / ratio" for name in targets) + " |",
             "|---|" + "---|" * len(targets)]
    for source, leads in report[f"per_{key}"].items():
        count = max(entry["n_records"] for entry in leads.values())
        cells = [f"{leads[n]['coverage']:.2f} / {leads[n]['interval_score_ratio']:.2f}" if n in leads else "-" for n in targets]
        lines.append(f"| {source} ({count}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table(report: dict[str, Any]) -> str:
    header = (
        "| lead | coverage | width mV | interval score (baseline) | ratio | RMSE mV (baseline) | "
        "var ratio mean / draw / baseline | error corr mean / draw / baseline |"
    )
    lines = [header, "|" + "---|" * 8]
    for name, e in report["per_lead"].items():
        lines.append(
            f"| {name} | {e['coverage']:.3f} | {e['width']:.3f} | {e['interval_score']:.3f} ({e['baseline_interval_score']:.3f}) | "
            f"{e['interval_score_ratio']:.2f} | {e['rmse']:.3f} ({e['baseline_rmse']:.3f}) | "
            f"{e['mean_variance_ratio']:.2f} / {e['draw_variance_ratio']:.2f} / {e['baseline_variance_ratio']:.2f} | "
            f"{e['mean_error_correlation']:.2f} / {e['draw_error_correlation']:.2f} / {e['baseline_error_correlation']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run the leave-one-record-out evaluation and print its table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments without the program name (``--data``, ``--inputs``, ``--targets``,
        ``--draws``, ``--tune``, ``--limit``, ``--output``); None reads ``sys.argv``.

    Returns
    -------
    status : int
        Process exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--inputs", nargs="+", default=["I", "II", "V5"])
    parser.add_argument("--targets", nargs="+", default=["V1", "V2", "V3", "V4", "V6"])
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--tune", type=int, default=400)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N records (quick look)")
    parser.add_argument("--method", choices=POSTERIOR_METHODS, default="laplace", help="how the posterior draws its nuisance parameters")
    add_records_argument(
        parser,
        help="all usable shared records (Challenge 2021, LUDB, PTB; patients kept whole) or the 36 the bundled model was first fitted on",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-every", type=int, default=1, help="predict every K-th record only (trained on all others)")
    parser.add_argument(
        "--correlation-shrinkage", type=float, default=CORRELATION_SHRINKAGE,
        help="shrinkage of the leads' deviation correlation towards independence (1: independent leads)",
    )
    parser.add_argument("--output", default=None, help="write the report as JSON here")
    arguments = parser.parse_args(argv)
    records, patients = load_selected_records(arguments.data, arguments.records)
    if patients is None:
        patients = [str(ecg.record) for ecg in records]
    if arguments.limit:
        records, patients = records[: arguments.limit], patients[: arguments.limit]
    report = leave_one_record_out(
        records, patients=patients, inputs=tuple(arguments.inputs), targets=tuple(arguments.targets),
        draws=arguments.draws, tune=arguments.tune, method=arguments.method, random_seed=arguments.seed,
        correlation_shrinkage=arguments.correlation_shrinkage, test_every=arguments.test_every,
    )
    print(
        f"{len(report['records'])} records scored, every sample (of {report['records_read']} read, "
        f"{report['records_with_beats']} with beats); physics alone, no learned residual"
    )
    print(_table(report))
    print(_source_table(report))
    print(_source_table(report, "rhythm"))
    if arguments.output:
        Path(arguments.output).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
