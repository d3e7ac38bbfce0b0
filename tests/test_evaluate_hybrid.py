"""The Nef-Net protocol's evaluation: cycle scores by their definition, the personal-map and
best-training-map references, patient-grouped folds, training draws and the per-source report."""

from __future__ import annotations

import numpy as np
import pytest

from hybridfield.cycles import CycleSet
from hybridfield.evaluation_splits import (
    draw_training_records,
    patient_folds,
    record_source,
    source_breakdown,
    source_folds,
    source_table,
)
from hybridfield.evaluate_hybrid import (
    _regression_prediction,
    best_training_map_reference,
    personal_map_reference,
    score_cycles,
)


def test_protocol_scores_follow_the_definition() -> None:
    rng = np.random.default_rng(0)
    n, length = 3, 64
    truth = rng.normal(size=(n, 2, length)).astype(np.float32)
    lengths = np.array([64, 50, 40])
    for k, size in enumerate(lengths):
        truth[k, :, size:] = 0
    cycles = CycleSet(
        inputs=truth[:, :1], input_angles=np.zeros((n, 1, 2), np.float32), targets=truth,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=truth, regions=np.zeros((n, length), np.int8),
        lengths=lengths, record=np.arange(n), beat_minimum=np.full(n, -2.0, np.float32),
        beat_maximum=np.full(n, 3.0, np.float32), input_names=("I",), target_names=("V1", "V2"),
        record_names=("a", "b", "c"), source="real",
    )
    offset = 0.05
    prediction = truth + offset * (np.arange(length)[None, None, :] < lengths[:, None, None])
    scores = score_cycles(prediction, cycles)
    np.testing.assert_allclose(scores["rmse"], offset, rtol=1e-5)
    np.testing.assert_allclose(scores["psnr"], 20 * np.log10(5.0 / offset), rtol=1e-5)
    np.testing.assert_allclose(scores["r"], 1.0, atol=1e-6)


def _linear_map_cycles(maps: list[np.ndarray], cycles_per_record: int, seed: int):
    """Real-like cycles whose two targets are each record's own linear map of its two inputs.

    ``maps[r]`` is ``(2, 3)``: two targets from two inputs and an intercept, mV.
    """
    rng = np.random.default_rng(seed)
    n, length = len(maps) * cycles_per_record, 48
    lengths = rng.integers(30, length + 1, size=n)
    record = np.repeat(np.arange(len(maps)), cycles_per_record)
    inputs = np.zeros((n, 2, length), np.float32)
    targets = np.zeros((n, 2, length), np.float32)
    for k in range(n):
        size = lengths[k]
        inputs[k, :, :size] = rng.normal(size=(2, size))
        targets[k, :, :size] = maps[record[k]][:, :2] @ inputs[k, :, :size] + maps[record[k]][:, 2:]
    return CycleSet(
        inputs=inputs, input_angles=np.zeros((n, 2, 2), np.float32), targets=targets,
        target_angles=np.zeros((n, 2, 2), np.float32), physical=np.zeros_like(targets),
        regions=np.zeros((n, length), np.int8), lengths=lengths.astype(np.int64), record=record,
        beat_minimum=np.full(n, -10.0, np.float32), beat_maximum=np.full(n, 10.0, np.float32),
        input_names=("I", "II"), target_names=("V1", "V2"),
        record_names=tuple(f"r{r}" for r in range(len(maps))), source="real",
    )


def test_personal_map_reference_fits_each_record_on_its_other_cycles() -> None:
    rng = np.random.default_rng(1)
    maps = [rng.normal(size=(2, 3)) for _ in range(3)]
    cycles = _linear_map_cycles(maps, cycles_per_record=4, seed=2)
    mask = np.arange(cycles.targets.shape[2])[None, None, :] < cycles.lengths[:, None, None]
    personal = personal_map_reference(cycles, ["V1", "V2"])
    np.testing.assert_allclose(personal, cycles.targets, atol=1e-4)
    assert np.all(personal[~np.broadcast_to(mask, personal.shape)] == 0)
    # one map for everybody cannot do this: the maps differ between records
    pooled = _regression_prediction(cycles, cycles, ["V1", "V2"])
    assert np.abs(pooled - cycles.targets).max() > 0.5
    # the cycle predicted is left out of its own fit: an offset on its truth does not reach its prediction
    shifted = cycles.subset(np.arange(len(cycles)))
    shifted.targets[5, 0, : shifted.lengths[5]] += 0.3
    again = personal_map_reference(shifted, ["V1"])
    np.testing.assert_allclose(again[5, 0], cycles.targets[5, 0], atol=1e-4)
    assert np.abs(again[4, 0] - cycles.targets[4, 0]).max() > 1e-3  # the others do see it
    with pytest.raises(ValueError, match="not query views"):
        personal_map_reference(cycles, ["V3"])


def test_best_training_map_reference_recognises_the_matching_training_record() -> None:
    rng = np.random.default_rng(3)
    maps = [rng.normal(size=(2, 3)) for _ in range(4)]
    train = _linear_map_cycles(maps, cycles_per_record=3, seed=4)
    test = _linear_map_cycles([maps[2], maps[0]], cycles_per_record=2, seed=5)
    np.testing.assert_allclose(best_training_map_reference(train, test, ["V1", "V2"]), test.targets, atol=1e-4)
    # a record matching no training map gets the training map that scores best on it
    stranger = _linear_map_cycles([rng.normal(size=(2, 3))], cycles_per_record=2, seed=6)
    chosen = score_cycles(best_training_map_reference(train, stranger, ["V1", "V2"]), stranger)["psnr"].mean()
    candidates = [
        score_cycles(best_training_map_reference(train.subset(train.record == r), stranger, ["V1", "V2"]), stranger)["psnr"].mean()
        for r in range(4)
    ]
    assert chosen == pytest.approx(max(candidates), abs=1e-9)
    assert chosen > min(candidates) + 1.0


def _patients(seed: int) -> list[str]:
    """Patient keys of 51 records: 30 single-record patients and 8 with 1-5 records, shuffled."""
    rng = np.random.default_rng(seed)
    keys = [f"cinc2021:E{k:05d}" for k in range(30)]
    keys += [f"ptbdb:patient{200 + k}" for k in range(8) for _ in range(1 + k % 5)]
    return [keys[i] for i in rng.permutation(len(keys))]


def test_patient_folds_keep_each_patient_in_one_fold_and_are_seeded() -> None:
    patients = _patients(0)
    folds = patient_folds(patients, 3, seed=7)
    assert len(folds) == 3
    together = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(together, np.arange(len(patients)))  # every record once
    fold_of = {}
    for fold, index in enumerate(folds):
        for i in index:
            assert fold_of.setdefault(patients[i], fold) == fold, f"patient {patients[i]} in two folds"
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 5  # near-equal: at most one patient's records apart
    again = patient_folds(patients, 3, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))
    other = patient_folds(patients, 3, seed=8)
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other))
    with pytest.raises(ValueError, match="exceeds the number of patients"):
        patient_folds(["a", "a", "b"], 3)


def test_training_draw_takes_whole_patients() -> None:
    patients = _patients(1)
    for size in (1, 5, 20, 45):
        chosen = draw_training_records(patients, size, np.random.default_rng(size))
        assert 0 < len(chosen) <= size
        drawn = {patients[i] for i in chosen}
        assert sorted(chosen) == [i for i, p in enumerate(patients) if p in drawn]  # whole patients only
        np.testing.assert_array_equal(chosen, draw_training_records(patients, size, np.random.default_rng(size)))
    np.testing.assert_array_equal(draw_training_records(patients, 100, np.random.default_rng(0)), np.arange(len(patients)))
    # one record per patient: the draw of single records the earlier learning curves used
    singles = [f"record:{i}" for i in range(24)]
    expected = np.sort(np.random.default_rng(3).choice(24, 7, replace=False))
    np.testing.assert_array_equal(draw_training_records(singles, 7, np.random.default_rng(3)), expected)


def test_record_source_names_the_sub_database() -> None:
    cases = {
        ("E07500", "cinc2021:E07500"): "Georgia",
        ("HR06001", "cinc2021:HR06001"): "PTB-XL",
        ("JS20004", "cinc2021:JS20004"): "Chapman",
        ("A0689", "cinc2021:A0689"): "CPSC",
        ("12", "wfdb:12"): "LUDB",
        ("s0010_re", "wfdb:s0010_re"): "PTB",
        ("patient204_s0405_re", "ptbdb:patient204"): "PTB",
        ("mystery", None): "other",
    }
    for (record, patient), source in cases.items():
        assert record_source(record, patient) == source
    names, folds = source_folds(["LUDB", "Georgia", "LUDB", "PTB", "Georgia"])
    assert names == ["Georgia", "LUDB", "PTB"]
    assert [f.tolist() for f in folds] == [[1, 4], [0, 2], [3]]


def test_source_breakdown_scores_each_source_apart() -> None:
    rng = np.random.default_rng(5)
    targets = ("III", "V1", "V2")
    record_sources = ["LUDB", "LUDB", "LUDB", "PTB", "PTB", "PTB", "PTB", "CPSC"]
    cycle_record = np.repeat(np.arange(8), 3)
    true_amplitude = np.repeat(rng.uniform(0.5, 3.0, size=(8, 3)), 3, axis=0)
    psnr = np.where(np.isin(cycle_record, [0, 1, 2]), 20.0, 30.0)[:, None] + np.array([50.0, 0.0, 2.0])
    perfect = {"psnr": psnr, "amplitude": true_amplitude, "true_amplitude": true_amplitude}
    flat = {"psnr": psnr - 5.0, "amplitude": np.full_like(true_amplitude, 1.0) + 0.5 * (true_amplitude - 1.0), "true_amplitude": true_amplitude}
    report = source_breakdown(
        {"hybrid": perfect, "regression": flat}, cycle_record, record_sources, targets,
        {"hybrid": ["V1", "V2"], "regression": ["V1", "V2"]},
    )
    assert list(report) == ["CPSC", "LUDB", "PTB"]  # SOURCES order
    assert report["LUDB"]["n_records"] == 3 and report["PTB"]["n_cycles"] == 12
    assert report["LUDB"]["methods"]["hybrid"]["psnr_precordial"] == pytest.approx(21.0)  # III not precordial
    assert report["PTB"]["methods"]["regression"]["per_lead"]["V2"]["psnr"] == pytest.approx(27.0)
    assert report["PTB"]["methods"]["hybrid"]["per_lead"]["V1"]["variance_ratio"] == pytest.approx(1.0)
    assert report["LUDB"]["methods"]["regression"]["per_lead"]["V2"]["variance_ratio"] == pytest.approx(0.25)
    assert np.isnan(report["CPSC"]["methods"]["hybrid"]["per_lead"]["V1"]["variance_ratio"])  # one record: undefined
    table = source_table(report)
    assert "| PTB (4 rec, 12 cyc) | hybrid | 31.00 |" in table
    assert table.count("\n") == 2 + 3 * 2 - 1


def test_record_rhythm_reads_the_headers() -> None:
    """Challenge SNOMED codes and LUDB's rhythm line; PTB states none."""
    from pathlib import Path

    from hybridfield import read_wfdb
    from hybridfield.evaluation_splits import RHYTHMS, record_rhythm

    data = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    cases = {
        data / "ludb" / "35": "AF or flutter",  # "Rhythm: Atrial fibrillation."
        data / "cinc2021_extra" / "JS14622": "AF or flutter",  # Dx 164889003
        data / "ludb" / "1": "sinus",
        data / "cinc2021" / "E07500": "sinus",  # Dx 426177001, sinus bradycardia
        data / "ptbdb" / "s0010_re": "other or unstated",
    }
    for path, rhythm in cases.items():
        assert record_rhythm(read_wfdb(path)) == rhythm, path
    assert set(cases.values()) == set(RHYTHMS)
    assert record_rhythm(object()) == "other or unstated"  # no metadata at all


def test_served_and_posterior_reports_add_up() -> None:
    from hybridfield.evaluate_hybrid import SPREAD_SCALES, _posterior_report, _served_report

    served = _served_report(5, np.array([100, 200, 300]), np.array([90, 200, 150]), ["A", "B", "A"], ["sinus", "sinus", "AF"])
    assert served["records_read"] == 5 and served["records_scored"] == 3
    assert served["samples_served"] == pytest.approx(440 / 600)
    assert served["worst_record_served"] == pytest.approx(0.5)
    assert served["per_source"]["A"]["samples_served"] == pytest.approx(240 / 400)
    assert served["per_rhythm"]["AF"]["n_records"] == 1
    rows = []
    for record, (hybrid, physics, regression) in enumerate([(1.0, 2.0, 4.0), (3.0, 2.0, 4.0)]):
        row = {"record": str(record), "lead": "V1", "mean_minus_predict_rms": 0.0, "predict_rms": 1.0}
        for method, score in (("hybrid", hybrid), ("physics", physics), ("regression", regression)):
            row[f"{method}_coverage"], row[f"{method}_interval_score"] = 0.9, score
        for scale in SPREAD_SCALES:
            row[f"hybrid_{scale:g}_coverage"], row[f"hybrid_{scale:g}_interval_score"] = scale, 2.0 * scale
        rows.append(row)
    report = _posterior_report(rows, 0.9)["per_lead"]["V1"]
    assert report["hybrid_over_regression"] == pytest.approx(0.5)  # mean 2 over mean 4
    assert report["hybrid_over_physics"] == pytest.approx(1.0)
    assert report["spread_scales"]["0.9"] == {"coverage": pytest.approx(0.9), "over_regression": pytest.approx(0.45)}
