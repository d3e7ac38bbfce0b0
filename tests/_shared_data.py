"""The shared records beside the repository (``../shared/data``) as the record tests read them:
paths, a check that a record is there, the PTB record, and the delineation records with their
beat segmentations (NeuroKit2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridfield.beats import BeatSegmentation, segment_beats
from hybridfield.ecg import ECG
from hybridfield.io import read_wfdb

__all__ = [
    "CINC",
    "DATA",
    "DELINEATION_RECORDS",
    "PTB_RECORD",
    "ecgs",
    "flat_lead_examples",
    "nk",
    "ptb",
    "require_record",
    "segmentations",
]

#: The shared data folder.
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: The PTB record s0010_re.
PTB_RECORD = DATA / "ptbdb" / "s0010_re"
#: The PhysioNet Challenge 2021 records.
CINC = DATA / "cinc2021"
#: Records the beat and cycle tests segment: name -> path.
DELINEATION_RECORDS = {
    "s0010_re": DATA / "ptbdb" / "s0010_re",  # 1000 Hz, 38.4 s, 15 leads
    "E07500": DATA / "cinc2021" / "E07500",  # 500 Hz, 10 s, slow (57 bpm)
    "HR06000": DATA / "cinc2021" / "HR06000",
    "JS20000": DATA / "cinc2021" / "JS20000",  # tachycardia
}


def require_record(record: Path) -> Path:
    """``record``, failing the test when its header is missing."""
    if not record.with_suffix(".hea").exists():
        pytest.fail(f"record {record} is missing: the shared data must lie beside the repository at {DATA}")
    return record


@pytest.fixture(scope="module")
def ptb() -> ECG:
    return read_wfdb(require_record(PTB_RECORD))


@pytest.fixture(scope="module")
def nk():
    # NeuroKit2 does the delineation; it must be installed for these tests to mean anything.
    return pytest.importorskip("neurokit2", reason="segment_beats needs neurokit2")


@pytest.fixture(scope="module")
def ecgs() -> dict[str, ECG]:
    return {name: read_wfdb(require_record(path)) for name, path in DELINEATION_RECORDS.items()}


@pytest.fixture(scope="module")
def segmentations(nk, ecgs) -> dict[str, BeatSegmentation]:
    return {name: segment_beats(ecg) for name, ecg in ecgs.items()}


def flat_lead_examples() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A normal-amplitude noise lead and three flat ones (5000 samples each): 1 uV noise, zeros
    with two spikes, and the first with a value held over 70 % of the record."""
    rng = np.random.default_rng(2)
    signal = rng.normal(0, 0.3, 5000)
    tiny = rng.normal(0, 0.001, 5000)  # 1 uV noise: dead channel
    spiky = np.zeros(5000)
    spiky[[100, 2000]] = 3.0  # dead channel with two spikes
    held = signal.copy()
    held[1000:4500] = 0.2  # a value held over 70 % of the record
    return signal, tiny, spiky, held
