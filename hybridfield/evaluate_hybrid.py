"""Leave-records-out evaluation of the hybrid panorama on the shared real records.

Grouped k-fold over records (every cycle of a record is in the same fold; with patient keys,
every record of a patient in the same fold: :mod:`hybridfield.evaluation_splits`), or one fold
per source (leave-one-source-out). In each fold, from the
training records only: the population prior of the physics (:func:`fit_population_model`), the
population linear regression from the input leads (:class:`PopulationRegression`) and the hybrid
residual (pre-trained on simulated multi-view cycles, then trained on the real cycles). Scored
on every beat of every held-out record with beats (one cycle per detected beat,
:func:`hybridfield.beat_cycles.beat_cycles`; the Nef-Net protocol's P-onset cycles, LEADS.md,
would drop the beats without a found P wave and the cycles longer than the window): every
prediction is made in mV and normalised with the true cycle's joint 12-lead min and max; PSNR
per lead = 20 log10(1 / RMSE) over the cycle, averaged over cycles and leads; RMSE in mV and
Pearson r per lead;
regression to the mean from each record's mean peak-to-peak amplitude per lead.

Beside the methods, two references that use the held-out truth and so are not methods: each
record's own linear map from the inputs, fitted on its other cycles (what a perfectly
personalised linear map reaches), and the one training record's map that fits a held-out record
best (what a population method could reach by recognising which training person a new record
resembles). The gap between the regression and these is what the inputs leave to learn about the
person; ``--train-records`` draws fewer training records per fold (whole patients) for learning
curves. Beside the pooled table, the precordial PSNR and variance ratio per source (Georgia,
PTB-XL, Chapman, CPSC, LUDB, PTB) and per rhythm group from the headers (sinus, AF or flutter,
other or unstated); the share of records and samples the learned residual served; and the
hybrid posterior (centred on the hybrid's answer), the physics posterior and the regression's
constant band scored on the whole held-out records.

Two settings:

- ``reconstruction``: inputs I, II, V5; targets the other nine leads.
- ``unseen``: inputs II, V2, V5 (Nef-Net's split); I and V4 are never used as targets in
  training (nor as simulated targets) and are scored apart from the supervised leads.

Run (one process at a time; the 36 bundled records take about 3-5 min per setting on 2 cores)::

    python -m hybridfield.evaluate_hybrid --data ../shared/data --output hybrid_eval.json
    python -m hybridfield.evaluate_hybrid --records bundled   # the 36 records of the earlier figures
    python -m hybridfield.evaluate_hybrid --leave-one-source-out --settings reconstruction
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ecg import ECG
from .metrics import PopulationRegression, regression_to_the_mean, variance_ratio_difference
from .cycles import CycleSet, real_cycles, simulated_cycles
from .evaluation_splits import (
    draw_training_records,
    patient_folds,
    record_rhythm,
    record_source,
    source_breakdown,
    source_folds,
    source_table,
)
from .leads import STANDARD_LEADS
from .training import HEART_VECTOR_RIDGE, LINEAR_RIDGE, PHYSICS_GAIN_RIDGE, REAL_CYCLE_WEIGHT, predict_cycles, train_hybrid

__all__ = [
    "score_cycles",
    "personal_map_reference",
    "best_training_map_reference",
    "evaluate_setting",
    "main",
    "PRECORDIAL",
    "VARIANCE_RATIO_PROBABILITY",
    "SPREAD_SCALES",
]

PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")
#: Scales of the hybrid posterior's spread around its answer whose coverage and interval score
#: are reported (the bundled :data:`hybridfield.panorama.HYBRID_SPREAD_SCALE` is chosen from them).
SPREAD_SCALES = (0.8, 0.85, 0.9, 0.95, 1.0)
#: Central probability of the bootstrap interval of the hybrid's variance ratio minus the regression's.
VARIANCE_RATIO_PROBABILITY = 0.9


def score_cycles(prediction: np.ndarray, cycles: CycleSet) -> dict[str, np.ndarray]:
    """Nef-Net protocol scores of predictions of every query view of every cycle.

    Parameters
    ----------
    prediction : (n_cycles, n_views, length) float, mV
        Predictions of ``cycles.targets``.
    cycles : CycleSet
        Real cycles (with ``beat_minimum``/``beat_maximum``).

    Returns
    -------
    scores : dict of str to (n_cycles, n_views) ndarray
        ``psnr`` (dB, normalised units), ``rmse`` (mV), ``r`` (Pearson), ``amplitude``
        (predicted peak-to-peak, mV) and ``true_amplitude`` (mV).
    """
    truth = cycles.targets.astype(np.float64)
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction must have shape {truth.shape}, got {prediction.shape}")
    mask = (np.arange(truth.shape[2])[None, :] < cycles.lengths[:, None])[:, None, :]
    count = mask.sum(axis=2)
    span = (cycles.beat_maximum - cycles.beat_minimum).astype(np.float64)[:, None]
    if not np.all(np.isfinite(span)) or np.any(span <= 0):
        raise ValueError("cycles need finite 12-lead min and max (real cycles) to be scored")
    error = np.where(mask, prediction - truth, 0.0)
    rmse = np.sqrt((error**2).sum(axis=2) / count)
    psnr = 20.0 * np.log10(span / np.maximum(rmse, 1e-12))  # normalised RMSE = rmse / span
    centred_p = np.where(mask, prediction - (np.where(mask, prediction, 0).sum(axis=2) / count)[..., None], 0.0)
    centred_t = np.where(mask, truth - (np.where(mask, truth, 0).sum(axis=2) / count)[..., None], 0.0)
    denominator = np.sqrt((centred_p**2).sum(axis=2) * (centred_t**2).sum(axis=2))
    r = np.where(denominator > 0, (centred_p * centred_t).sum(axis=2) / np.maximum(denominator, 1e-300), 0.0)
    amplitude = np.where(mask, prediction, -np.inf).max(axis=2) - np.where(mask, prediction, np.inf).min(axis=2)
    true_amplitude = np.where(mask, truth, -np.inf).max(axis=2) - np.where(mask, truth, np.inf).min(axis=2)
    return {"psnr": psnr, "rmse": rmse, "r": r, "amplitude": amplitude, "true_amplitude": true_amplitude}


def _pooled_samples(cycles: CycleSet, index: np.ndarray, leads: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Unpadded samples of the given cycles, pooled: inputs ``(n_inputs, m)`` and the named targets ``(n_leads, m)``, mV."""
    views = [cycles.target_names.index(n) for n in leads]
    inputs = np.concatenate([cycles.inputs[k][:, : cycles.lengths[k]] for k in index], axis=1)
    targets = np.concatenate([cycles.targets[k][views, : cycles.lengths[k]] for k in index], axis=1)
    return inputs, targets


def _apply_map(model: PopulationRegression, cycles: CycleSet, index: np.ndarray, out: np.ndarray) -> None:
    """Write ``model``'s prediction of the given cycles into ``out`` (unpadded samples only)."""
    for k in index:
        size = int(cycles.lengths[k])
        out[k, :, :size] = model.predict(cycles.inputs[k][:, :size])


def _regression_prediction(train: CycleSet, test: CycleSet, leads: Sequence[str]) -> np.ndarray:
    """Population linear regression (inputs -> leads) on unpadded training samples, applied per cycle."""
    model = PopulationRegression(*_pooled_samples(train, np.arange(len(train)), leads))
    out = np.zeros((len(test), len(leads), test.inputs.shape[2]), dtype=np.float32)
    _apply_map(model, test, np.arange(len(test)), out)
    return out


def personal_map_reference(cycles: CycleSet, leads: Sequence[str]) -> np.ndarray:
    """Each cycle predicted by its own record's linear map from the inputs, fitted on the record's other cycles.

    An upper reference, not a method: the map (inputs -> leads, with an intercept, least
    squares over unpadded samples) is fitted on the held-out record's own truth, leaving out
    only the cycle it predicts (a record with a single cycle is fitted on that cycle). It
    measures what a perfectly personalised instantaneous linear map of the inputs would reach:
    the distance from a population method to it is what the inputs leave to be learned about the
    person.

    Parameters
    ----------
    cycles : CycleSet
        Real cycles holding ``leads`` among their query views.
    leads : sequence of str
        Leads to predict.

    Returns
    -------
    prediction : (n_cycles, n_leads, length) float32, mV
        Zero on the padding.
    """
    leads = cycles.views(leads).target_names  # checks the names once
    out = np.zeros((len(cycles), len(leads), cycles.inputs.shape[2]), dtype=np.float32)
    for record in np.unique(cycles.record):
        own = np.flatnonzero(cycles.record == record)
        for k in own:
            others = own[own != k] if len(own) > 1 else own
            _apply_map(PopulationRegression(*_pooled_samples(cycles, others, leads)), cycles, np.array([k]), out)
    return out


def best_training_map_reference(train: CycleSet, test: CycleSet, leads: Sequence[str]) -> np.ndarray:
    """Each held-out record predicted by the one training record's linear map that scores best on it.

    An oracle reference, not a method: every training record's own linear map (inputs -> leads,
    with an intercept) is tried on each held-out record, and the one with the highest mean
    Nef-Net PSNR on that record's truth is kept. The mean runs over the record's cycles and
    those of ``leads`` that are not exact combinations of the inputs
    (:attr:`CycleSet.exact_views`: every map gets III from I and II, and their 60-80 dB of
    rounding must not sway the choice). A population method of instantaneous linear maps that
    could tell from the inputs alone which training person a new record resembles would reach at
    most this; it grows with the number of training records.

    Parameters
    ----------
    train : CycleSet
        Training cycles holding ``leads`` among their query views.
    test : CycleSet
        Held-out real cycles holding ``leads``.
    leads : sequence of str
        Leads to predict.

    Returns
    -------
    prediction : (n_cycles, n_leads, length) float32, mV
        Of ``test``; zero on the padding.
    """
    scored = test.views(leads)  # checks the names once
    leads = train.views(leads).target_names
    maps = [
        PopulationRegression(*_pooled_samples(train, np.flatnonzero(train.record == record), leads))
        for record in np.unique(train.record)
    ]
    chosen_by = ~scored.exact_views if not scored.exact_views.all() else np.ones(len(leads), dtype=bool)
    out = np.zeros((len(test), len(leads), test.inputs.shape[2]), dtype=np.float32)
    for record in np.unique(test.record):
        own = np.flatnonzero(test.record == record)
        subset = scored.subset(own)
        best, best_psnr = None, -np.inf
        for model in maps:
            candidate = np.zeros((len(own), len(leads), test.inputs.shape[2]), dtype=np.float32)
            _apply_map(model, subset, np.arange(len(own)), candidate)
            psnr = float(score_cycles(candidate, subset)["psnr"][:, chosen_by].mean())
            if psnr > best_psnr:
                best, best_psnr = candidate, psnr
        out[own] = best
    return out


def _folds(n_records: int, n_folds: int) -> list[np.ndarray]:
    order = np.arange(n_records)
    return [order[k::n_folds] for k in range(n_folds)]


def evaluate_setting(
    records: Sequence[ECG],
    *,
    inputs: Sequence[str],
    held_out_views: Sequence[str] = (),
    n_folds: int = 4,
    simulated_records: int = 40,
    simulated_epochs: int = 6,
    epochs: int = 25,
    linear_start: bool = True,
    linear_ridge: float = LINEAR_RIDGE,
    linear_gain_ridge: float = PHYSICS_GAIN_RIDGE,
    heart_vector_ridge: float = HEART_VECTOR_RIDGE,
    linear_real_weight: float = REAL_CYCLE_WEIGHT,
    limb_identities: bool = False,
    freeze_linear: bool = True,
    max_train_records: int | None = None,
    patients: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    leave_one_source_out: bool = False,
    channels: int = 24,
    posterior_draws: int = 200,
    probability: float = 0.9,
    random_seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Grouped k-fold evaluation of physics-only, regression and hybrid; see the module docstring.

    Parameters
    ----------
    records : sequence of ECG
        Real 12-lead records.
    inputs : sequence of str
        Input leads.
    held_out_views : sequence of str
        Leads never used as training targets (scored apart; the regression cannot predict them).
    n_folds : int
        Folds over records (ignored with ``leave_one_source_out``).
    simulated_records : int
        Simulated records for pre-training (per fold, with the fold's population prior).
    simulated_epochs, epochs : int
        Epochs of simulated pre-training and of real-data training.
    linear_start : bool
        Fit the residual's linear path in closed form on the fold's training cycles (real and
        simulated) before training (:func:`~hybridfield.training.fit_linear_path`).
    linear_ridge, linear_gain_ridge, heart_vector_ridge : float
        Its ridge penalties (relative) for the per-pair weights, the physics gain and the
        heart-vector correction.
    linear_real_weight : float
        Weight of the real cycles against the simulated ones in that fit.
    limb_identities : bool
        Fit and train the limb leads through the six-lead identity fit when the inputs hold one
        limb lead (``limb_identities`` of :func:`~hybridfield.training.train_hybrid`).
    freeze_linear : bool
        Keep that linear path fixed while the field decoder trains.
    max_train_records : int, optional
        Train each fold on at most this many of its training records, whole patients drawn at
        random (:func:`~hybridfield.evaluation_splits.draw_training_records`, seeded by
        ``random_seed`` and the fold); the held-out records stay the same. For learning curves:
        how the methods and the references change with the amount of training data.
    patients : sequence of str, optional
        Patient key of each record: folds keep every patient's records together
        (:func:`~hybridfield.evaluation_splits.patient_folds`, seeded by ``random_seed``).
        Without them, record ``i`` is in fold ``i % n_folds`` and is its own patient.
    sources : sequence of str, optional
        Source of each record for the per-source report (default:
        :func:`~hybridfield.evaluation_splits.record_source` of its name and patient).
    leave_one_source_out : bool
        One fold per source: train on the records of every other source, test on its records.
    channels : int
        Feature channels of each fold's NefNet (:class:`~hybridfield.nefnet.NefNetConfig`; the
        network's size).
    posterior_draws : int
        Draws of the hybrid posterior and the physics posterior scored on every held-out record
        (whole record, supervised precordial leads; 0: not scored).
    probability : float
        Their credible-interval probability (and the regression band's).
    random_seed : int
        Seed.
    progress : bool
        Print progress lines.

    Returns
    -------
    report : dict
        Per method and lead: mean PSNR, RMSE, r; summary PSNRs; regression-to-the-mean figures;
        the same for two references under ``references`` (not methods: they use the held-out
        truth; supervised leads only): ``personal_map`` (:func:`personal_map_reference`) and
        ``best_training_map`` (:func:`best_training_map_reference`);
        ``variance_ratio_difference``: per supervised precordial lead, the hybrid's variance ratio
        minus the regression's with a paired bootstrap interval over records
        (:func:`~hybridfield.metrics.variance_ratio_difference`); ``sources``: precordial PSNR and
        variance ratio per source and method
        (:func:`~hybridfield.evaluation_splits.source_breakdown`); ``rhythms``: the same per
        rhythm group (:func:`~hybridfield.evaluation_splits.record_rhythm`); ``served``: records
        read, records scored (every record with beats and the leads) and the fraction of their
        samples inside a cycle (where the learned residual applies), overall, per source and per
        rhythm; ``posterior``: per lead, coverage and interval score of the hybrid posterior, the
        physics posterior and the regression band on the whole held-out records, and how far the
        hybrid posterior's mean is from ``predict``; ``fold_names`` with ``leave_one_source_out``.
    """
    import torch

    from .nefnet import NefNet, NefNetConfig
    from .population import fit_population_model
    from .preparation import prepare_record

    held_out = tuple(held_out_views)
    targets = tuple(n for n in STANDARD_LEADS if n not in inputs)
    supervised = tuple(n for n in targets if n not in held_out)
    train_targets = tuple(n for n in STANDARD_LEADS if n not in held_out)
    if max_train_records is not None and int(max_train_records) < 1:
        raise ValueError(f"max_train_records must be a positive number of records or None, got {max_train_records}")
    results: dict[str, list[dict[str, np.ndarray]]] = {
        "physics": [], "regression": [], "hybrid": [], "personal_map": [], "best_training_map": []
    }
    references = ("personal_map", "best_training_map")
    supervised_only = ("regression", *references)  # they predict the supervised leads only
    if patients is not None and len(patients) != len(records):
        raise ValueError(f"patients must name the patient of each of the {len(records)} records, got {len(patients)}")
    if sources is not None and len(sources) != len(records):
        raise ValueError(f"sources must name the source of each of the {len(records)} records, got {len(sources)}")
    keys = [str(p) for p in patients] if patients is not None else [f"record:{i}" for i in range(len(records))]
    if sources is None:
        sources = [record_source(str(ecg.record), None if patients is None else key) for ecg, key in zip(records, keys)]
    fold_names: list[str] | None = None
    if leave_one_source_out:
        fold_names, folds = source_folds(sources)
        if len(folds) < 2:
            raise ValueError(f"leave_one_source_out needs records of at least 2 sources, got {fold_names}")
    elif patients is not None:
        folds = patient_folds(keys, n_folds, seed=random_seed)
    else:
        folds = _folds(len(records), n_folds)
    n_folds = len(folds)
    rhythms = [record_rhythm(ecg) for ecg in records]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = [prepare_record(ecg) for ecg in records]  # prepared and segmented once for every fold
    posterior_rows: list[dict[str, Any]] = []
    unserved: list[str] = []  # records whose inputs are not all usable: no method can serve them
    rhythm_of: dict[str, str] = {}
    n_train_records: list[int] = []
    record_names: list[str] = []
    record_sources: list[str] = []
    record_index: list[np.ndarray] = []
    test_samples: list[np.ndarray] = []
    test_served: list[np.ndarray] = []
    started = time.perf_counter()
    for fold, test_index in enumerate(folds):
        held = set(int(i) for i in test_index)
        train_index = [i for i in range(len(records)) if i not in held]
        if max_train_records is not None and len(train_index) > max_train_records:
            chosen = draw_training_records([keys[i] for i in train_index], int(max_train_records), np.random.default_rng(random_seed + fold))
            train_index = [train_index[i] for i in chosen]
        train_records = [records[i] for i in train_index]
        test_records = [records[i] for i in test_index]
        source_of = {str(records[i].ecg.record): str(sources[i]) for i in test_index}
        rhythm_of.update({str(records[i].ecg.record): rhythms[i] for i in test_index})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            population = fit_population_model(train_records)
        train = real_cycles(train_records, inputs=inputs, targets=train_targets, population=population)
        test = real_cycles(test_records, inputs=inputs, targets=targets, population=population)
        simulated = simulated_cycles(
            simulated_records, inputs=inputs, exclude_views=held_out, population=population, random_seed=random_seed + fold
        )
        torch.manual_seed(random_seed + fold)  # the random hidden features of the linear path come from here
        network = NefNet(NefNetConfig(channels=channels))
        if simulated_epochs:
            train_hybrid(
                network, simulated, epochs=simulated_epochs, limb_identities=limb_identities, random_seed=random_seed + fold,
                progress=False,
            )
        train_hybrid(
            network, [train, simulated], epochs=epochs, linear_start=[train, simulated] if linear_start else None,
            linear_ridge=linear_ridge, linear_gain_ridge=linear_gain_ridge, heart_vector_ridge=heart_vector_ridge,
            linear_real_weight=linear_real_weight, limb_identities=limb_identities, freeze_linear=freeze_linear, random_seed=random_seed + fold, progress=False,
        )
        predictions = {
            "physics": test.physical,
            "hybrid": predict_cycles(network, test),
        }
        # the regression and the references predict the supervised leads only (zero elsewhere, never scored)
        supervised_parts = {
            "regression": _regression_prediction(train, test, supervised),
            "personal_map": personal_map_reference(test, supervised),
            "best_training_map": best_training_map_reference(train, test, supervised),
        }
        for method, part in supervised_parts.items():
            prediction = np.zeros_like(test.physical)
            prediction[:, [targets.index(name) for name in supervised]] = part
            predictions[method] = prediction
        for method, prediction in predictions.items():
            results[method].append(score_cycles(prediction, test))
        unserved += [str(records[i].ecg.record) for i in test_index if not all(records[i].ecg.has_lead(n) for n in inputs)]
        if posterior_draws:
            posterior_rows += _posterior_scores(
                network, population, train_records, [records[i] for i in test_index], inputs,
                [n for n in supervised if n in PRECORDIAL], draws=posterior_draws, probability=probability,
                random_seed=random_seed + 1000 * fold,
            )
        n_train_records.append(len(train.record_names))
        test_samples.append(test.record_samples)
        test_served.append(test.served_samples)
        record_index.append(test.record + len(record_names))
        record_names.extend(test.record_names)
        record_sources.extend(source_of[name] for name in test.record_names)
        if progress:
            psnr = {
                m: float(np.mean(results[m][-1]["psnr"][:, [targets.index(n) for n in supervised]]))
                for m in results
                if m not in references
            }
            print(
                f"fold {fold + 1}/{n_folds}" + (f" (test {fold_names[fold]})" if fold_names else "")
                + f": {len(train.record_names)} train records, {len(train)} / {len(test)} train / test cycles; supervised PSNR "
                + ", ".join(f"{m} {v:.2f} dB" for m, v in psnr.items())
                + f" ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    stacked = {m: {k: np.concatenate([fold[k] for fold in folds]) for k in folds[0]} for m, folds in results.items()}
    records_of_cycle = np.concatenate(record_index)
    report: dict[str, Any] = {
        "inputs": list(inputs),
        "targets": list(targets),
        "held_out_views": list(held_out),
        "n_records": len(record_names),
        "n_cycles": int(len(records_of_cycle)),
        "n_folds": n_folds,
        "n_train_records": n_train_records,
        "n_patients": len({keys[i] for fold in folds for i in fold}),
        "fold_names": fold_names,
        "seconds": time.perf_counter() - started,
        "methods": {},
        "references": {},
    }
    precordial = [targets.index(n) for n in supervised if n in PRECORDIAL]
    record_amplitudes: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for method, scores in stacked.items():
        leads = supervised if method in supervised_only else targets
        entry: dict[str, Any] = {"per_lead": {}}
        record_amplitudes[method] = {}
        for name in leads:
            j = targets.index(name)
            amplitude = np.array([scores["amplitude"][records_of_cycle == r, j].mean() for r in np.unique(records_of_cycle)])
            true_amplitude = np.array([scores["true_amplitude"][records_of_cycle == r, j].mean() for r in np.unique(records_of_cycle)])
            record_amplitudes[method][name] = (amplitude, true_amplitude)
            shrinkage = regression_to_the_mean(amplitude, true_amplitude)
            entry["per_lead"][name] = {
                "psnr": float(scores["psnr"][:, j].mean()),
                "rmse_mv": float(scores["rmse"][:, j].mean()),
                "r": float(scores["r"][:, j].mean()),
                "variance_ratio": shrinkage["variance_ratio"],
                "error_correlation": shrinkage["error_correlation"],
            }
        supervised_index = [targets.index(n) for n in supervised]
        entry["psnr_supervised"] = float(scores["psnr"][:, supervised_index].mean())
        entry["psnr_precordial"] = float(scores["psnr"][:, precordial].mean()) if precordial else float("nan")
        if held_out and method not in supervised_only:
            entry["psnr_unseen"] = {n: float(scores["psnr"][:, targets.index(n)].mean()) for n in held_out}
        report["references" if method in references else "methods"][method] = entry
    # regression to the mean, hybrid against regression: is the difference beyond record sampling?
    report["variance_ratio_difference"] = {
        name: variance_ratio_difference(
            record_amplitudes["hybrid"][name][0], record_amplitudes["regression"][name][0], record_amplitudes["hybrid"][name][1],
            probability=VARIANCE_RATIO_PROBABILITY, random_seed=random_seed,
        )
        for name in supervised
        if name in PRECORDIAL
    }
    scored_leads = {m: [n for n in (supervised if m in supervised_only else targets) if n in PRECORDIAL and n not in held_out] for m in stacked}
    report["sources"] = source_breakdown(stacked, records_of_cycle, record_sources, targets, scored_leads)
    record_rhythms = [rhythm_of[name] for name in record_names]
    report["rhythms"] = source_breakdown(stacked, records_of_cycle, record_rhythms, targets, scored_leads)
    report["served"] = _served_report(
        len(records), np.concatenate(test_samples), np.concatenate(test_served), record_sources, record_rhythms
    )
    if posterior_rows:
        report["posterior"] = _posterior_report(posterior_rows, probability)
        report["posterior"]["records_read"] = len(records)
        report["posterior"]["records_without_inputs"] = unserved
    report["seconds"] = time.perf_counter() - started
    report["parameters"] = int(network.parameter_count())
    return report


def _served_report(
    n_read: int, samples: np.ndarray, served: np.ndarray, sources: Sequence[str], rhythms: Sequence[str]
) -> dict[str, Any]:
    """Records read and scored, and the share of the scored records' samples inside a cycle."""

    def share(index: np.ndarray) -> dict[str, Any]:
        return {
            "n_records": int(index.size),
            "samples_served": float(served[index].sum() / max(samples[index].sum(), 1)),
            "worst_record_served": float((served[index] / samples[index]).min()) if index.size else float("nan"),
        }

    everything = np.arange(len(samples))
    report: dict[str, Any] = {"records_read": int(n_read), "records_scored": int(len(samples)), **share(everything)}
    for key, labels in (("per_source", np.asarray(sources)), ("per_rhythm", np.asarray(rhythms))):
        report[key] = {label: share(np.flatnonzero(labels == label)) for label in dict.fromkeys(labels.tolist())}
    return report


def _posterior_scores(
    network: Any,
    population: Any,
    train_records: Sequence[Any],
    test_records: Sequence[Any],
    inputs: Sequence[str],
    leads: Sequence[str],
    *,
    draws: int,
    probability: float,
    random_seed: int,
) -> list[dict[str, Any]]:
    """Whole held-out records, every sample, per lead: the accuracy (RMSE, PSNR against the record's
    12-lead range) of the hybrid, the physical answer, the physics posterior mean and the regression,
    and the bands of the hybrid posterior, the physics posterior and the regression. Every record
    whose inputs are usable is scored on each target lead it has."""
    from .metrics import coverage, interval_score
    from .panorama import HybridPanorama
    from .posterior import predict_posterior

    if not leads:
        return []
    model = HybridPanorama(network, population=population, input_leads=inputs)
    model.spread_scale = 1.0  # the bands of every scale follow from these: quantiles are affine-equivariant
    complete = [r for r in train_records if all(r.ecg.has_lead(n) for n in (*inputs, *leads))]
    baseline = PopulationRegression(
        np.concatenate([r.signals(list(inputs)) for r in complete], axis=1),
        np.concatenate([r.signals(list(leads)) for r in complete], axis=1),
    )
    rows = []
    for k, record in enumerate(test_records):
        # every record the methods can serve (the inputs usable), each lead whose truth is there
        available = [n for n in leads if record.ecg.has_lead(n)]
        if not all(record.ecg.has_lead(n) for n in inputs) or not available:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hybrid = model.predict_posterior(record, available, inputs=list(inputs), draws=draws, random_seed=random_seed + k, progressbar=False)
            answer = model.predict(record, available, inputs=list(inputs)).signals
            physical = model.physical(record, available, inputs=list(inputs)).signals
            physics = predict_posterior(
                record, available, inputs=list(inputs), draws=draws, random_seed=random_seed + k, progressbar=False, population=population
            )
        truth = record.signals(available)
        signals = record.signals(list(inputs))
        columns = [list(leads).index(n) for n in available]
        regression_lower, regression_upper = baseline.interval(signals, probability)
        bands = {
            "hybrid": hybrid.interval(probability),
            "physics": physics.interval(probability),
            "regression": (regression_lower[columns], regression_upper[columns]),
        }
        answers = {
            "hybrid": answer, "physics": physical, "physics_posterior_mean": physics.mean,
            "regression": baseline.predict(signals)[columns],
        }
        # whole-record PSNR: normalised by the record's 12-lead range, as a cycle is by its own
        span = float(np.ptp(record.signals([n for n in STANDARD_LEADS if record.ecg.has_lead(n)])))
        served = float(model.cycles(record).served().mean())
        for j, lead in enumerate(available):
            row: dict[str, Any] = {
                "record": str(record.ecg.record), "lead": lead, "residual_served": served, "samples": record.n_samples,
            }
            for method, prediction in answers.items():
                error = float(np.sqrt(np.mean((prediction[j] - truth[j]) ** 2)))
                row[f"{method}_rmse"] = error
                row[f"{method}_psnr"] = 20.0 * np.log10(span / max(error, 1e-12))
            for method, (lower, upper) in bands.items():
                row[f"{method}_coverage"] = float(coverage(truth[j], lower[j], upper[j]))
                row[f"{method}_interval_score"] = float(interval_score(truth[j], lower[j], upper[j], probability))
            lower, upper = bands["hybrid"]
            for scale in SPREAD_SCALES:
                low, high = answer[j] + scale * (lower[j] - answer[j]), answer[j] + scale * (upper[j] - answer[j])
                row[f"hybrid_{scale:g}_coverage"] = float(coverage(truth[j], low, high))
                row[f"hybrid_{scale:g}_interval_score"] = float(interval_score(truth[j], low, high, probability))
            row["mean_minus_predict_rms"] = float(np.sqrt(np.mean((hybrid.mean[j] - answer[j]) ** 2)))
            row["predict_rms"] = float(np.sqrt(np.mean(answer[j] ** 2)))
            rows.append(row)
    return rows


def _posterior_report(rows: Sequence[Mapping[str, Any]], probability: float) -> dict[str, Any]:
    """Per lead: mean coverage and interval score of each method, the ratios, the mean-versus-predict
    gap and, where the rows hold them, each method's whole-record RMSE and PSNR; ``psnr`` the
    methods' PSNR averaged over every (record, lead) row."""
    report: dict[str, Any] = {"probability": probability, "n_records": len({row["record"] for row in rows}), "per_lead": {}}
    methods = [key.removesuffix("_psnr") for key in rows[0] if key.endswith("_psnr")] if rows else []
    report["psnr"] = {method: float(np.mean([row[f"{method}_psnr"] for row in rows])) for method in methods}
    if rows and "residual_served" in rows[0]:
        served = {row["record"]: (row["residual_served"] * row["samples"], row["samples"]) for row in rows}
        report["residual_served"] = float(sum(a for a, _ in served.values()) / sum(b for _, b in served.values()))
    for lead in dict.fromkeys(row["lead"] for row in rows):
        mine = [row for row in rows if row["lead"] == lead]
        entry = {key: float(np.mean([row[key] for row in mine])) for key in mine[0] if key not in ("record", "lead", "samples")}
        entry["n_records"] = len(mine)
        entry["hybrid_over_regression"] = entry["hybrid_interval_score"] / entry["regression_interval_score"]
        entry["hybrid_over_physics"] = entry["hybrid_interval_score"] / entry["physics_interval_score"]
        entry["physics_over_regression"] = entry["physics_interval_score"] / entry["regression_interval_score"]
        entry["spread_scales"] = {
            f"{scale:g}": {
                "coverage": entry.pop(f"hybrid_{scale:g}_coverage"),
                "over_regression": entry.pop(f"hybrid_{scale:g}_interval_score") / entry["regression_interval_score"],
            }
            for scale in SPREAD_SCALES
        }
        entry["mean_minus_predict_relative"] = float(
            np.sqrt(np.mean([row["mean_minus_predict_rms"] ** 2 for row in mine]) / np.mean([row["predict_rms"] ** 2 for row in mine]))
        )
        report["per_lead"][lead] = entry
    return report


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"inputs {', '.join(report['inputs'])}; {report['n_records']} records, {report['n_cycles']} cycles, "
        + (
            f"leave-one-source-out ({', '.join(report['fold_names'])})" if report.get("fold_names")
            else f"{report['n_folds']}-fold leave-records-out"
        )
        + " (training records per fold: " + ", ".join(str(n) for n in report["n_train_records"]) + ")",
        "| method | PSNR supervised | PSNR precordial | " + " | ".join(report["targets"]) + " |",
        "|---|---|---|" + "---|" * len(report["targets"]),
    ]
    rows = [(method, entry) for method, entry in report["methods"].items()]
    rows += [(f"{method} (reference: held-out truth)", entry) for method, entry in report["references"].items()]
    for method, entry in rows:
        cells = []
        for name in report["targets"]:
            lead = entry["per_lead"].get(name)
            cells.append("n/a" if lead is None else f"{lead['psnr']:.1f} dB / {lead['rmse_mv']:.3f} mV / r {lead['r']:.2f} / VR {lead['variance_ratio']:.2f}")
        lines.append(f"| {method} | {entry['psnr_supervised']:.2f} | {entry['psnr_precordial']:.2f} | " + " | ".join(cells) + " |")
        if "psnr_unseen" in entry:
            lines.append(f"|   unseen ({method}) | " + ", ".join(f"{k} {v:.2f} dB" for k, v in entry["psnr_unseen"].items()) + " |")
    differences = report.get("variance_ratio_difference", {})
    if differences:
        probability = next(iter(differences.values()))["probability"]
        lines.append(
            f"VR hybrid - VR regression ({probability:.0%} paired bootstrap over records): "
            + ", ".join(f"{k} {d['estimate']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]" for k, d in differences.items())
        )
    served = report.get("served")
    if served:
        lines.append(
            f"learned residual served: {served['records_scored']} of {served['records_read']} records scored (every record "
            f"with beats and the leads), {served['samples_served']:.1%} of their samples inside a cycle (worst record "
            f"{served['worst_record_served']:.1%}); per source: "
            + ", ".join(f"{k} {v['samples_served']:.1%}" for k, v in served["per_source"].items())
            + "; per rhythm: " + ", ".join(f"{k} {v['samples_served']:.1%}" for k, v in served["per_rhythm"].items())
        )
    if report.get("sources"):
        lines.append(source_table(report["sources"]))
    if report.get("rhythms"):
        lines.append(source_table(report["rhythms"]).replace("| source |", "| rhythm |", 1))
    posterior = report.get("posterior")
    if posterior and posterior.get("psnr"):
        lines.append(
            f"whole records, every sample: {posterior['n_records']} of {posterior['records_read']} records scored "
            f"(without a usable input: {', '.join(posterior['records_without_inputs']) or 'none'}), the learned residual "
            f"serving {posterior['residual_served']:.1%} of their samples inside a beat (the rest: the ends, nearest beat's residual); "
            "PSNR against each record's 12-lead range, mean over records and leads: "
            + ", ".join(f"{method} {value:.2f} dB" for method, value in posterior["psnr"].items())
        )
        methods = list(posterior["psnr"])
        lines.append("| lead (records) | " + " | ".join(f"{m} PSNR dB / RMSE mV" for m in methods) + " |")
        for lead, entry in posterior["per_lead"].items():
            lines.append(
                f"| {lead} ({entry['n_records']}) | "
                + " | ".join(f"{entry[f'{m}_psnr']:.2f} / {entry[f'{m}_rmse']:.3f}" for m in methods) + " |"
            )
    if posterior:
        lines.append(
            f"posterior, {posterior['probability']:.0%} bands on {posterior['n_records']} whole held-out records: "
            "| lead | coverage hybrid / physics / regression | interval score hybrid / physics / regression | "
            "hybrid/regression | hybrid/physics | |mean - predict| / |predict| |"
        )
        for lead, entry in posterior["per_lead"].items():
            lines.append(
                f"| {lead} | {entry['hybrid_coverage']:.3f} / {entry['physics_coverage']:.3f} / {entry['regression_coverage']:.3f} | "
                f"{entry['hybrid_interval_score']:.3f} / {entry['physics_interval_score']:.3f} / {entry['regression_interval_score']:.3f} | "
                f"{entry['hybrid_over_regression']:.2f} | {entry['hybrid_over_physics']:.2f} | {entry['mean_minus_predict_relative']:.2e} |"
            )
        lines.append(
            "hybrid coverage / interval score over the regression's, by spread scale: "
            + "; ".join(
                f"{lead} " + ", ".join(f"{k}: {v['coverage']:.3f} / {v['over_regression']:.2f}" for k, v in entry["spread_scales"].items())
                for lead, entry in posterior["per_lead"].items()
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: both settings, a table each, optional JSON.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    from .cli import (
        add_data_argument,
        add_linear_path_arguments,
        add_records_argument,
        add_training_arguments,
        linear_path_options,
        load_selected_records,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--folds", type=int, default=3)
    add_training_arguments(parser)
    parser.add_argument("--simulated-epochs", type=int, default=0)
    add_linear_path_arguments(parser)
    parser.add_argument("--settings", nargs="+", default=["reconstruction", "unseen"], choices=["reconstruction", "unseen"])
    add_records_argument(
        parser,
        help="all: every usable record of the data folder, folds by patient; bundled: the 36 records "
        "of ptbdb/ and cinc2021/, record i in fold i %% folds (the earlier figures)",
    )
    parser.add_argument(
        "--leave-one-source-out", action="store_true",
        help="one fold per source (Georgia, PTB-XL, Chapman, CPSC, LUDB, PTB): train on the others",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds, the training draws and the training")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N records (quick look)")
    parser.add_argument(
        "--train-records", type=int, default=None,
        help="train each fold on at most N of its training records, whole patients drawn at random (learning curves)",
    )
    parser.add_argument(
        "--posterior-draws", type=int, default=200,
        help="draws of the hybrid and physics posteriors scored on every held-out record (0: skip)",
    )
    parser.add_argument("--output", default=None, help="write the reports as JSON here")
    arguments = parser.parse_args(argv)
    records, patients = load_selected_records(arguments.data, arguments.records)
    if arguments.limit:
        records = records[: arguments.limit]
        patients = None if patients is None else patients[: arguments.limit]
    settings = {
        "reconstruction": {"inputs": ("I", "II", "V5"), "held_out_views": ()},
        "unseen": {"inputs": ("II", "V2", "V5"), "held_out_views": ("I", "V4")},
    }
    reports = {}
    for name in arguments.settings:
        print(f"== {name} ==", flush=True)
        reports[name] = evaluate_setting(
            records, n_folds=arguments.folds, epochs=arguments.epochs, simulated_records=arguments.simulated_records,
            simulated_epochs=arguments.simulated_epochs, max_train_records=arguments.train_records, patients=patients,
            channels=arguments.channels, posterior_draws=arguments.posterior_draws,
            leave_one_source_out=arguments.leave_one_source_out, random_seed=arguments.seed,
            **linear_path_options(arguments), **settings[name],
        )
        print(_table(reports[name]), flush=True)
    if arguments.output:
        Path(arguments.output).write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
