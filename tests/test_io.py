"""hybridfield.io: reading WFDB records (PTB, Challenge 2021), units, header comments, folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from _shared_data import CINC, PTB_RECORD, ptb, require_record  # noqa: F401 (fixtures)
from hybridfield.ecg import ECG
from hybridfield.io import read_wfdb, read_wfdb_folder
from hybridfield.leads import STANDARD_LEADS

# ------------------------------------------------------------------ reading real records


def test_read_ptb_record(ptb: ECG) -> None:
    assert ptb.n_leads == len(ptb) == 15
    assert ptb.fs == 1000.0
    assert ptb.n_samples == 38400
    record_seconds = ptb.duration
    assert record_seconds == pytest.approx(38.4)
    assert ptb.lead_names == STANDARD_LEADS + ("X", "Y", "Z")
    assert ptb.metadata["units"] == "mV"
    assert set(ptb.metadata["original_units"]) == {"mV"}
    assert ptb.metadata["record"] == "s0010_re" and ptb.record == "s0010_re"
    assert ptb.metadata["age"] == 81 and ptb.metadata["sex"] == "female"
    assert ptb.signals.shape == (15, 38400) and ptb.signals.dtype == np.float64
    assert ptb.time[1] == pytest.approx(1e-3) and ptb.time.shape == (38400,)
    assert repr(ptb) == "<ECG | 15 leads x 38400 samples at 1000 Hz (38.4 s), mV, record s0010_re>"


def test_ptb_raw_data_obey_einthoven_and_goldberger(ptb: ECG) -> None:
    amplitude = np.ptp(ptb["II"])
    assert amplitude > 0.5  # mV: a real QRS, so the tolerance below is meaningful
    # Raw (unfiltered) data: only the 1 uV quantisation separates I + III from II.
    assert np.max(np.abs(ptb["I"] + ptb["III"] - ptb["II"])) < 0.005 * amplitude
    assert np.max(np.abs(ptb["aVR"] + ptb["aVL"] + ptb["aVF"])) < 0.005 * amplitude
    # ... and the relation is not trivially satisfied by any lead triple
    assert np.max(np.abs(ptb["I"] + ptb["II"] - ptb["III"])) > 0.2 * amplitude


@pytest.mark.parametrize("record", ["E07500", "E07509", "HR06000", "JS20000"])
def test_read_challenge_records(record: str) -> None:
    ecg = read_wfdb(require_record(CINC / record))
    assert ecg.lead_names == STANDARD_LEADS
    record_seconds = ecg.duration
    assert ecg.fs == 500.0 and ecg.n_samples == 5000 and record_seconds == pytest.approx(10.0)
    assert ecg.metadata["units"] == "mV"
    assert ecg.metadata["record"] == record
    dx = ecg.metadata["dx"]
    assert isinstance(dx, tuple) and dx and all(code.isdigit() for code in dx)
    assert isinstance(ecg.metadata["age"], int) and 0 < ecg.metadata["age"] < 110
    assert ecg.metadata["sex"] in {"male", "female"}
    # signals are mV: a QRS of a fraction of a mV to a few mV in the largest lead
    assert 0.3 < np.ptp(ecg.signals, axis=1).max() < 10.0


def test_challenge_diagnosis_codes() -> None:
    assert "59118001" in read_wfdb(CINC / "E07509").metadata["dx"]  # RBBB
    assert read_wfdb(CINC / "HR06004").metadata["dx"] == ("426783006",)  # sinus rhythm
    assert "59118001" not in read_wfdb(CINC / "HR06000").metadata["dx"]


def test_units_are_converted_to_millivolts(tmp_path: Path) -> None:
    wfdb = pytest.importorskip("wfdb")
    fs = 250.0
    t = np.arange(1000) / fs
    expected = np.stack([np.sin(2 * np.pi * 1.5 * t), 0.8 * np.cos(2 * np.pi * 2.0 * t)])  # mV
    physical = np.column_stack([expected[0] * 1000.0, expected[1] * 1e-3])  # uV and V
    wfdb.wrsamp(
        "units",
        fs=fs,
        units=["uV", "V"],
        sig_name=["ii", "V1"],
        p_signal=physical,
        fmt=["16", "16"],
        adc_gain=[10.0, 2e6],
        baseline=[0, 0],
        comments=["Age: 40", "Sex: F", "Dx: 1,22"],
        write_dir=str(tmp_path),
    )
    ecg = read_wfdb(tmp_path / "units")
    assert ecg.lead_names == ("II", "V1")
    assert ecg.metadata["original_units"] == ("uV", "V")
    assert np.max(np.abs(ecg.signals - expected)) < 1e-3  # mV, quantisation only
    assert ecg.metadata["sex"] == "female" and ecg.metadata["dx"] == ("1", "22") and ecg.metadata["age"] == 40

    wfdb.wrsamp(
        "pressure",
        fs=fs,
        units=["mmHg", "mV"],
        sig_name=["II", "V1"],
        p_signal=expected.T,
        fmt=["16", "16"],
        write_dir=str(tmp_path),
    )
    with pytest.raises(ValueError, match=r"lead II: unknown physical units 'mmHg'"):
        read_wfdb(tmp_path / "pressure")


def test_missing_record_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no_such_record"):
        read_wfdb(tmp_path / "no_such_record")
    # a header whose signal file is missing
    shutil.copy(CINC / "E07500.hea", tmp_path / "E07500.hea")
    with pytest.raises(FileNotFoundError, match="E07500"):
        read_wfdb(tmp_path / "E07500")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        read_wfdb_folder(tmp_path / "missing_folder")


def test_read_folder_sorted_by_name() -> None:
    ecgs = read_wfdb_folder(CINC, pattern="E0750*.hea")
    names = [ecg.record for ecg in ecgs]
    assert names == sorted(names) and names[0] == "E07500" and len(names) == 10  # E07500..E07509
    assert all(ecg.fs == 500.0 for ecg in ecgs)
