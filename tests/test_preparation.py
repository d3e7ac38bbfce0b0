"""Tests of hybridfield.preparation: the one preprocessing contract and the record prepared once per call."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import hybridfield
from hybridfield import ECG, preparation, read_wfdb
from hybridfield.phases import phase_bins
from hybridfield.preparation import PREPROCESSING, PreparedRecord, prepare_ecg, prepare_record

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
E07501 = DATA / "cinc2021" / "E07501"
PTB = DATA / "ptbdb" / "s0010_re"


@pytest.fixture(scope="module")
def ptb_10s() -> ECG:
    record = read_wfdb(PTB)
    return ECG.from_array(record.signals[:, :10_000], record.fs, record.lead_names, metadata={"record": "s0010_re"})


def test_prepare_ecg_applies_the_contract(ptb_10s: ECG) -> None:
    prepared = prepare_ecg(ptb_10s, warn=False)
    assert prepared.fs == PREPROCESSING["fs"] == 500.0
    assert prepared.n_samples == 5000
    # band-passed 0.5-40 Hz: no DC left, and a 100 Hz tone added to the leads is removed (0.35 mV rms before)
    assert abs(float(np.mean(prepared["V2"]))) < 0.02
    time = np.arange(ptb_10s.n_samples) / ptb_10s.fs
    tone = ECG.from_array(ptb_10s.signals + 0.5 * np.sin(2 * np.pi * 100.0 * time), ptb_10s.fs, ptb_10s.lead_names)
    difference = prepare_ecg(tone, warn=False)["V2"] - prepared["V2"]
    assert np.std(difference[500:-500]) < 0.05  # at least 7x weaker
    with pytest.raises(TypeError, match="hybridfield.ECG"):
        prepare_ecg(np.zeros((3, 100)))  # type: ignore[arg-type]


def test_prepared_record_holds_one_segmentation_and_its_phase_bins(ptb_10s: ECG) -> None:
    record = prepare_record(ptb_10s)
    assert isinstance(record, PreparedRecord)
    assert record.fs == 500.0 and record.n_samples == record.ecg.n_samples == record.phase_bins.shape[0]
    peaks = np.unique(record.segmentation.r_peak[record.segmentation.r_peak >= 0])
    assert record.n_beats == peaks.size >= 8  # 10 s of sinus rhythm
    np.testing.assert_array_equal(record.phase_bins, phase_bins(peaks, record.n_samples, record.fs))
    np.testing.assert_array_equal(record.signals(["I", "V5"]), np.array([record.ecg["I"], record.ecg["V5"]]))
    assert record.input_leads(["i", "v5"], ()) == ["I", "V5"]
    assert record.input_leads(None, ("II",)) == ["II"]
    with pytest.raises(ValueError, match="not usable leads"):
        record.input_leads(["V9"], ())
    with pytest.raises(ValueError, match="string"):
        record.input_leads("I", ())
    with pytest.raises(ValueError, match="at least one"):
        record.input_leads([], ())


def test_predict_posterior_prepares_and_segments_the_record_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """HybridPanorama.predict_posterior (the posterior plus the learned residual) prepares and
    segments its record once, and the module-level predict_posterior does too."""
    import hybridfield.beats

    calls = {"prepare": 0, "segment": 0}
    real_prepare, real_segment = preparation.prepare_ecg, hybridfield.beats.segment_beats

    def counting_prepare(*args, **kwargs):
        calls["prepare"] += 1
        return real_prepare(*args, **kwargs)

    def counting_segment(*args, **kwargs):
        calls["segment"] += 1
        return real_segment(*args, **kwargs)

    monkeypatch.setattr(preparation, "prepare_ecg", counting_prepare)
    monkeypatch.setattr(hybridfield.beats, "segment_beats", counting_segment)
    ecg = read_wfdb(E07501)
    model = hybridfield.HybridPanorama.pretrained()
    options = dict(inputs=["I", "II", "V5"], draws=10, tune=10, chains=1, random_seed=0, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        posterior = model.predict_posterior(ecg, ["V1", (1.571, 2.269)], **options)
        assert calls == {"prepare": 1, "segment": 1}
        hybridfield.predict_posterior(ecg, ["V1"], **options)
    assert calls == {"prepare": 2, "segment": 2}
    assert posterior.draws.shape == (10, 2, 5000)
    assert np.all(np.isfinite(posterior.draws))


def test_model_methods_take_a_record_prepared_once() -> None:
    """Passing the PreparedRecord gives what passing the ECG gives."""
    ecg = read_wfdb(E07501)
    record = prepare_record(ecg)
    model = hybridfield.HybridPanorama.pretrained()
    views = ["V1", "III", (2.0, -1.0)]
    np.testing.assert_array_equal(model.predict(record, views).signals, model.predict(ecg, views).signals)
    np.testing.assert_array_equal(model.heart_vector(record), model.heart_vector(ecg))


# --------------------------------------------------------------------------------------------
# Plausibility: wrong units and junk warn or raise, naming the record and the value
# --------------------------------------------------------------------------------------------
LEADS12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _white_noise(name: str = "noise01") -> ECG:
    rng = np.random.default_rng(0)
    return ECG.from_array(rng.normal(0, 0.3, (12, 5000)), 500.0, LEADS12, metadata={"record": name})


def test_microvolts_passed_as_millivolts_raise_naming_record_and_value() -> None:
    ecg = read_wfdb(E07501)
    microvolts = ECG.from_array(ecg.signals * 1000.0, ecg.fs, ecg.lead_names, metadata={"record": "E07501"})
    largest = hybridfield.quality.robust_amplitudes(microvolts.signals).max()
    for prepare in (prepare_ecg, prepare_record):
        with pytest.raises(ValueError, match=r"record 'E07501'.*robust peak-to-peak amplitude above 20 mV") as info:
            prepare(microvolts)
        assert f"{largest:.4g} mV" in str(info.value)


def test_a_rate_too_low_for_the_qrs_raises_naming_record_and_value() -> None:
    ecg = read_wfdb(E07501)
    slow = ECG.from_array(ecg.signals[:, ::10], 50.0, ecg.lead_names, metadata={"record": "E07501_50Hz"})
    for prepare in (prepare_ecg, prepare_record):
        with pytest.raises(ValueError, match=r"record 'E07501_50Hz': sampling rate fs = 50 Hz is below 100 Hz"):
            prepare(slow)


def test_white_noise_warns_no_trustworthy_beats() -> None:
    with pytest.warns(hybridfield.RecordQualityWarning, match=r"record 'noise01': no trustworthy beats.*consistency 0\.\d\d"):
        record = prepare_record(_white_noise(), warn=False)
    assert record.n_beats >= 2  # beats are "found" in noise: their shapes give it away


def test_white_noise_warns_from_the_models() -> None:
    model = hybridfield.HybridPanorama(None)
    with pytest.warns(hybridfield.RecordQualityWarning, match="'noise02'"):
        model.predict(_white_noise("noise02"), ["V1"], inputs=["I", "II", "V5"])
    for predict in (model.predict_posterior, hybridfield.predict_posterior):
        with pytest.warns(hybridfield.RecordQualityWarning, match="'noise03'"):
            predict(_white_noise("noise03"), ["V1"], inputs=["I", "II", "V5"], draws=10, random_seed=0, progressbar=False)


def test_a_normal_shared_record_passes_without_warning() -> None:
    ecg = read_wfdb(E07501)
    with warnings.catch_warnings():
        warnings.simplefilter("error", hybridfield.RecordQualityWarning)
        record = prepare_record(ecg, warn=True)
        hybridfield.quality.check_plausibility(ecg.signals, ecg.fs, ecg.lead_names, record=ecg.record)
    assert record.n_beats >= 8
