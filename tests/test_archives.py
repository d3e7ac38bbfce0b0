"""hybridfield.archives: finding records of archive layouts, reading them by lead name, patient-safe folds.

Each layout is built small in tmp_path: tiny records written with ECG.to_wfdb or wfdb.wrsamp, real
Challenge 2021 and LUDB records copied from the shared data (with their annotations), fake CSVs.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import wfdb

import hybridfield
from hybridfield import ECG, RecordEntry, RecordFailure, assign_folds, find_records, iter_records, read_records

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LEADS12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _signals(n_leads: int, fs: float, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Smooth ECG-like signals of about 1 mV."""
    t = np.arange(int(seconds * fs)) / fs
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, n_leads)[:, np.newaxis]
    return 0.8 * np.sin(2 * np.pi * 1.2 * t + phases) + 0.2 * np.sin(2 * np.pi * 5.0 * t + 2 * phases)


def _write(folder: Path, name: str, *, leads: list[str] | None = None, fs: float = 500.0, scale: float = 1.0) -> Path:
    """A tiny WFDB record (format 16, mV) written through ECG.to_wfdb; returns its path without extension."""
    names = leads or ["I", "II", "V5"]
    ecg = ECG.from_array(scale * _signals(len(names), fs), fs, names, metadata={"record": name})
    return ecg.to_wfdb(name, folder)


def _copy_record(source: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.parent.glob(source.name + ".*"):
        shutil.copy(path, folder / path.name)


def _require(path: Path) -> None:
    if not path.with_suffix(".hea").exists():
        pytest.fail(f"record {path} is missing: the shared data must lie beside the repository at {DATA}")


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


def test_cinc2021_flat_and_in_subfolders(tmp_path: Path) -> None:
    for name in ("E07500", "E07501"):
        _require(DATA / "cinc2021" / name)
    _copy_record(DATA / "cinc2021" / "E07500", tmp_path)
    _copy_record(DATA / "cinc2021" / "E07501", tmp_path / "georgia" / "g1")
    entries = find_records(tmp_path)
    assert [(e.record, e.patient, e.layout, e.fold) for e in entries] == [
        ("E07500", "E07500", "cinc2021", None),
        ("E07501", "E07501", "cinc2021", None),
    ]
    assert entries[1].path == str(tmp_path / "georgia" / "g1" / "E07501")
    assert find_records(tmp_path, layout="cinc2021") == entries
    ecgs, failures = read_records(entries, leads=["ii", "V5", "avr"])
    assert failures == []
    assert [ecg.lead_names for ecg in ecgs] == [("II", "V5", "aVR")] * 2
    assert ecgs[0].metadata["age"] == 78 and ecgs[0].metadata["dx"]  # header comments Age/Sex/Dx
    assert (ecgs[0].metadata["patient"], ecgs[0].metadata["layout"]) == ("E07500", "cinc2021")


def test_ptbxl_patients_and_official_folds_come_from_the_csv(tmp_path: Path) -> None:
    rows = [  # ecg_id, patient_id, strat_fold
        (1, "15709.0", 3),
        (2, "13243.0", 2),
        (3, "15709.0", 3),
        (10001, "20372.0", 10),
    ]
    lines = ["ecg_id,patient_id,age,strat_fold,filename_lr,filename_hr"]
    for ecg_id, patient, fold in rows:
        block = f"{(ecg_id // 1000) * 1000:05d}"
        hr = f"records500/{block}/{ecg_id:05d}_hr"
        lr = f"records100/{block}/{ecg_id:05d}_lr"
        if ecg_id != 3:  # record 3 is listed but missing on disk
            _write(tmp_path / Path(hr).parent, Path(hr).name, fs=500.0)
            _write(tmp_path / Path(lr).parent, Path(lr).name, fs=100.0)
        lines.append(f"{ecg_id},{patient},56.0,{fold},{lr},{hr}")
    (tmp_path / "ptbxl_database.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    entries = find_records(tmp_path)
    assert [(e.record, e.patient, e.fold, e.layout) for e in entries] == [
        ("00001_hr", "15709", 3, "ptbxl"),
        ("00002_hr", "13243", 2, "ptbxl"),
        ("00003_hr", "15709", 3, "ptbxl"),
        ("10001_hr", "20372", 10, "ptbxl"),
    ]
    assert entries[3].path == str(tmp_path / "records500" / "10000" / "10001_hr")
    assert assign_folds(entries) == entries  # the official folds are kept
    low = find_records(tmp_path, ptbxl_rate="lr")
    assert [e.record for e in low] == ["00001_lr", "00002_lr", "00003_lr", "10001_lr"]

    ecgs, failures = read_records(entries)
    assert [ecg.record for ecg in ecgs] == ["00001_hr", "00002_hr", "10001_hr"]
    assert [ecg.metadata["fold"] for ecg in ecgs] == [3, 2, 10]
    [missing] = failures
    assert (missing.record, missing.stage, missing.skipped) == ("00003_hr", "read", True)
    assert "FileNotFoundError" in missing.reason and "00003_hr" in missing.reason
    lows, _ = read_records(low[:1])
    assert lows[0].fs == 100.0  # the lowest rate the checks accept


def test_ludb_one_patient_per_record_with_annotations(tmp_path: Path) -> None:
    for name in ("1", "5"):
        _require(DATA / "ludb" / name)
        _copy_record(DATA / "ludb" / name, tmp_path)
    (tmp_path / "ludb.csv").write_text('ID,Sex,Age,Rhythms\n1,"F\n","51\n",Sinus rhythm\n5,M,64,Sinus rhythm\n')
    entries = find_records(tmp_path)
    assert [(e.record, e.patient, e.layout) for e in entries] == [("1", "1", "ludb"), ("5", "5", "ludb")]
    ecgs, failures = read_records(entries, leads=["I", "II", "V5"])
    assert failures == []
    assert all(ecg.lead_names == ("I", "II", "V5") and ecg.fs == 500.0 for ecg in ecgs)
    annotation = wfdb.rdann(str(tmp_path / "1"), "ii")  # the per-lead delineation travels along
    assert set(annotation.symbol) >= {"N", "(", ")"}


def test_ptbdb_patient_from_folder_or_flat_name(tmp_path: Path) -> None:
    _write(tmp_path / "patient001", "s0010_re", leads=LEADS12, fs=1000.0)
    _write(tmp_path / "patient001", "s0014lre", leads=LEADS12, fs=1000.0)
    _write(tmp_path / "patient002", "s0015lre", leads=LEADS12, fs=1000.0)
    flat = tmp_path / "extra"
    for name in ("patient201_s0420_re", "patient201_s0423_re"):
        _require(DATA / "ptb_extra" / name)
        _copy_record(DATA / "ptb_extra" / name, flat)
    entries = find_records(tmp_path)
    assert [(e.record, e.patient, e.layout) for e in entries] == [
        ("patient201_s0420_re", "patient201", "ptbdb"),
        ("patient201_s0423_re", "patient201", "ptbdb"),
        ("s0010_re", "patient001", "ptbdb"),
        ("s0014lre", "patient001", "ptbdb"),
        ("s0015lre", "patient002", "ptbdb"),
    ]
    assert find_records(tmp_path, layout="ptbdb") == entries
    _write(tmp_path, "orphan")
    with pytest.raises(ValueError, match="cannot tell the patient.*orphan"):
        find_records(tmp_path, layout="ptbdb")
    assert find_records(tmp_path)[0] == RecordEntry(str(tmp_path / "orphan"), "orphan", "orphan", "wfdb")


def test_mimic_subject_from_path_or_record_list(tmp_path: Path) -> None:
    studies = [("10000032", "40689238"), ("10000032", "40000001"), ("10010001", "41000000")]
    for subject, study in studies:
        _write(tmp_path / "files" / f"p{subject[:4]}" / f"p{subject}" / f"s{study}", study)
    entries = find_records(tmp_path)
    assert sorted((e.record, e.patient, e.layout) for e in entries) == [
        ("40000001", "10000032", "mimic"),
        ("40689238", "10000032", "mimic"),
        ("41000000", "10010001", "mimic"),
    ]
    assert sorted(find_records(tmp_path / "files"), key=lambda e: e.record) == sorted(entries, key=lambda e: e.record)
    listing = ["subject_id,study_id,file_name,ecg_time,path"] + [
        f"{subject},{study},{study},2180-07-23 08:44:00,files/p{subject[:4]}/p{subject}/s{study}/{study}"
        for subject, study in studies
    ]
    (tmp_path / "record_list.csv").write_text("\n".join(listing) + "\n")
    listed = find_records(tmp_path)
    assert [(e.record, e.patient) for e in listed] == [(study, subject) for subject, study in studies]
    assert {e.path for e in listed} == {e.path for e in entries}
    ecgs, failures = read_records(listed)
    assert failures == [] and [ecg.metadata["patient"] for ecg in ecgs] == ["10000032", "10000032", "10010001"]


def test_find_records_refuses_what_it_cannot_list(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        find_records(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="layout must be"):
        find_records(tmp_path, layout="physionet")
    with pytest.raises(ValueError, match="ptbxl_rate"):
        find_records(tmp_path, ptbxl_rate="500")
    (tmp_path / "ptbxl_database.csv").write_text("ecg_id,filename_hr\n1,records500/00000/00001_hr\n")
    with pytest.raises(ValueError, match="patient_id"):
        find_records(tmp_path)
    assert find_records(tmp_path / "..", layout="wfdb") is not None  # a walk of any folder works


# --------------------------------------------------------------------------------------------
# Folds
# --------------------------------------------------------------------------------------------


def _entries(patient_sizes: dict[str, int], layout: str = "wfdb") -> list[RecordEntry]:
    return [
        RecordEntry(path=f"/x/{patient}_{index}", record=f"{patient}_{index}", patient=patient, layout=layout)
        for patient, size in patient_sizes.items()
        for index in range(size)
    ]


def test_assign_folds_keeps_each_patient_in_one_fold() -> None:
    rng = np.random.default_rng(3)
    entries = _entries({f"p{k}": int(rng.integers(1, 6)) for k in range(60)})
    folded = assign_folds(entries, 5, seed=1)
    assert [e.record for e in folded] == [e.record for e in entries]  # same order, folds set
    folds_of = defaultdict(set)
    for entry in folded:
        folds_of[entry.patient].add(entry.fold)
    assert all(len(folds) == 1 for folds in folds_of.values())
    sizes = np.bincount([e.fold for e in folded])[1:]
    assert sizes.size == 5 and sizes.max() - sizes.min() <= 5  # balanced: at most one patient apart
    assert assign_folds(entries, 5, seed=1) == folded  # seeded
    assert assign_folds(entries, 5, seed=2) != folded
    # the same patient id in two archives is two patients
    mixed = assign_folds(_entries({"1": 1}, "ludb") + _entries({"1": 1}, "ptbxl") + _entries({"2": 1}), 3, seed=0)
    assert len({e.fold for e in mixed}) == 3


def test_assign_folds_official_folds_and_errors() -> None:
    official = [RecordEntry("/a", "a", "7", "ptbxl", 1), RecordEntry("/b", "b", "8", "ptbxl", 2)]
    assert assign_folds(official, 10) == official
    reassigned = assign_folds(official, 2, official=False, seed=0)
    assert sorted(e.fold for e in reassigned) == [1, 2]
    split = official + [RecordEntry("/c", "c", "7", "ptbxl", 2)]
    with pytest.raises(ValueError, match="split patient '7'"):
        assign_folds(split)
    with pytest.raises(ValueError, match="carry an official fold"):
        assign_folds(official + _entries({"q": 1}))
    with pytest.raises(ValueError, match="exceeds the number of patients"):
        assign_folds(_entries({"a": 3}), 2)
    with pytest.raises(ValueError, match="n_folds"):
        assign_folds(_entries({"a": 1, "b": 1}), 1)


# --------------------------------------------------------------------------------------------
# Reading: lead selection and failures
# --------------------------------------------------------------------------------------------


def test_every_unusable_record_is_reported_with_its_reason(tmp_path: Path) -> None:
    _write(tmp_path, "good")
    _write(tmp_path, "limbs", leads=["I", "II"])
    _write(tmp_path, "precordial", leads=["V1", "V2"])
    (tmp_path / "corrupt.hea").write_text("this is not a WFDB header\n")
    _write(tmp_path, "nosignal")
    (tmp_path / "nosignal.dat").unlink()
    wfdb.wrsamp("pressure", fs=500, units=["mmHg"], sig_name=["II"], p_signal=_signals(1, 500.0).T, write_dir=str(tmp_path))
    _write(tmp_path, "microvolts", scale=1000.0)  # microvolts in a header that says mV
    _write(tmp_path, "slow", fs=50.0)
    entries = find_records(tmp_path)
    assert {e.record for e in entries} == {
        "good", "limbs", "precordial", "corrupt", "nosignal", "pressure", "microvolts", "slow",
    }

    ecgs, failures = read_records(entries, leads=["I", "II", "V5"])
    assert [ecg.record for ecg in ecgs] == ["good"]
    reasons = {failure.record: failure for failure in failures}
    assert set(reasons) == {"limbs", "precordial", "corrupt", "nosignal", "pressure", "microvolts", "slow"}
    assert all(isinstance(f, RecordFailure) and f.skipped and f.path.endswith(f.record) for f in failures)
    assert reasons["limbs"].stage == "leads" and "missing requested lead(s) V5" in reasons["limbs"].reason
    assert reasons["precordial"].stage == "leads" and "no requested lead" in reasons["precordial"].reason
    assert reasons["corrupt"].stage == "read"
    assert reasons["nosignal"].stage == "read" and "signal file" in reasons["nosignal"].reason
    assert reasons["pressure"].stage == "read" and "mmHg" in reasons["pressure"].reason
    microvolts = reasons["microvolts"]
    assert microvolts.stage == "plausibility" and "'microvolts'" in microvolts.reason and "20 mV" in microvolts.reason
    assert "microvolts (divide by 1000)" in microvolts.reason
    assert reasons["slow"].stage == "plausibility" and "fs = 50 Hz" in reasons["slow"].reason

    kept, failures = read_records(entries, leads=["i", "ii", "v5"], require_all_leads=False)
    assert {ecg.record: ecg.lead_names for ecg in kept} == {"good": ("I", "II", "V5"), "limbs": ("I", "II")}
    assert "precordial" in {f.record for f in failures} and "limbs" not in {f.record for f in failures}

    unchecked, failures = read_records(entries, check=False)
    assert {ecg.record for ecg in unchecked} == {"good", "limbs", "precordial", "microvolts", "slow"}
    assert {f.record for f in failures} == {"corrupt", "nosignal", "pressure"}

    readable = [entry for entry in entries if entry.record in ("good", "limbs")]
    streamed = list(iter_records(readable, leads=["II"]))
    assert len(streamed) == 2
    assert all(entry.record == ecg.record and failure is None for entry, ecg, failure in streamed)
    with pytest.raises(ValueError, match="string"):
        read_records(entries, leads="II")
    with pytest.raises(TypeError, match="RecordEntry"):
        read_records([str(tmp_path / "good")])  # type: ignore[list-item]


def test_check_beats_flags_noise_but_keeps_it(tmp_path: Path) -> None:
    _require(DATA / "cinc2021" / "E07500")
    _copy_record(DATA / "cinc2021" / "E07500", tmp_path)
    rng = np.random.default_rng(0)
    noise = ECG.from_array(rng.normal(0, 0.3, (12, 5000)), 500.0, LEADS12, metadata={"record": "noise"})
    noise.to_wfdb("noise", tmp_path)
    ecgs, failures = read_records(find_records(tmp_path), check_beats=True)
    assert [ecg.record for ecg in ecgs] == ["E07500", "noise"]
    [flag] = failures
    assert (flag.record, flag.stage, flag.skipped) == ("noise", "quality", False)
    assert "no trustworthy beats" in flag.reason and "'noise'" in flag.reason


def test_archive_names_are_exported() -> None:
    for name in ("find_records", "read_records", "iter_records", "assign_folds", "RecordEntry", "RecordFailure"):
        assert getattr(hybridfield, name) is getattr(hybridfield.archives, name)
