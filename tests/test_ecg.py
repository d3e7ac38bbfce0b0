"""hybridfield.ecg: the ECG container, filters and lead-quality checks, on real and synthetic records."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from _shared_data import CINC, PTB_RECORD, flat_lead_examples, ptb  # noqa: F401 (fixtures)
from geometry import STANDARD_LEAD_ANGLES
from hybridfield import filters
from hybridfield.ecg import ECG, LeadNotFoundError
from hybridfield.io import read_wfdb, read_wfdb_folder
from hybridfield.leads import STANDARD_LEADS, canonical_lead_name

def _synthetic(n_leads: int = 3, n_samples: int = 2000, fs: float = 500.0) -> ECG:
    rng = np.random.default_rng(0)
    names = list(STANDARD_LEADS[:n_leads])
    return ECG.from_array(rng.normal(0.0, 0.2, (n_leads, n_samples)), fs, names, metadata={"record": "synthetic"})


# ------------------------------------------------------------------ flat and saturated leads


@pytest.mark.parametrize("record", ["JS20004", "JS20008"])
def test_dead_leads_are_found_and_dropped(record: str) -> None:
    ecg = read_wfdb(CINC / record)
    assert ecg.flat_leads() == ("V2", "V4", "V6")
    assert ecg.saturated_leads() == ()
    with pytest.warns(UserWarning, match=r"V2 \(flat\), V4 \(flat\), V6 \(flat\)"):
        usable = ecg.drop_unusable()
    assert usable.lead_names == ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V3", "V5")
    assert dict(usable.metadata["dropped_leads"]) == {"V2": "flat", "V4": "flat", "V6": "flat"}
    np.testing.assert_array_equal(usable["V5"], ecg["V5"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert usable.drop_unusable(warn=True) is usable  # nothing left to drop: no warning


def test_no_false_alarms_on_the_shared_records() -> None:
    flagged = {}
    for ecg in read_wfdb_folder(CINC) + [read_wfdb(PTB_RECORD)]:
        if ecg.flat_leads() or ecg.saturated_leads():
            flagged[ecg.record] = (ecg.flat_leads(), ecg.saturated_leads())
    assert flagged == {"JS20004": (("V2", "V4", "V6"), ()), "JS20008": (("V2", "V4", "V6"), ())}


def test_saturated_lead_is_detected() -> None:
    fs = 500.0
    t = np.arange(5000) / fs
    rng = np.random.default_rng(1)
    clean = 1.5 * np.sin(2 * np.pi * 1.2 * t) + 0.3 * np.sin(2 * np.pi * 7.0 * t) + rng.normal(0, 0.01, t.size)
    clipped = np.clip(clean, -10.0, 1.0)  # amplifier rail at +1 mV: every positive peak clipped
    stuck = clean.copy()
    stuck[2000:2040] = stuck.max() + 0.5  # one 80 ms run stuck at the top
    edge = clean.copy()
    edge[-60:] = edge.min() - 0.1  # constant tail at the minimum: padding, not clipping
    ecg = ECG.from_array(np.stack([clean, clipped, stuck, edge]), fs, ["I", "II", "V1", "V2"])
    assert ecg.saturated_leads() == ("II", "V1")
    assert ecg.flat_leads() == ()
    with pytest.warns(UserWarning, match=r"II \(saturated\), V1 \(saturated\)"):
        assert ecg.drop_unusable().lead_names == ("I", "V2")


def test_flat_leads_threshold_and_constant_runs() -> None:
    fs = 500.0
    signal, tiny, spiky, held = flat_lead_examples()
    ecg = ECG.from_array(np.stack([signal, tiny, spiky, held]), fs, ["I", "II", "III", "aVF"])
    assert ecg.flat_leads() == ("II", "III", "aVF")
    assert ecg.flat_leads(threshold_mv=1e-4, max_constant_fraction=0.8) == ("III",)
    only_flat = ECG.from_array(np.zeros((2, 1000)), fs, ["I", "II"])
    with pytest.raises(ValueError, match="no usable lead left"):
        only_flat.drop_unusable()


# ------------------------------------------------------------------ names and selection


def test_lead_names_are_case_insensitive(ptb: ECG) -> None:
    for spelling in ("aVR", "AVR", "avr", " avR "):
        np.testing.assert_array_equal(ptb[spelling], ptb.signals[3])
    assert ptb.has_lead("avf") and "V6" in ptb and "v7" not in ptb
    selected = ptb.select(["v1", "AVL", "vx"])
    assert selected.lead_names == ("V1", "aVL", "X")
    np.testing.assert_array_equal(selected["x"], ptb["X"])
    assert ptb.select("ii").lead_names == ("II",)
    assert (
        canonical_lead_name("vz") == "Z" and canonical_lead_name("mlii") == "mlii" and canonical_lead_name("V3") == "V3"
    )
    assert ptb.drop_leads(["x", "Y", "z"]).lead_names == STANDARD_LEADS


def test_unknown_lead_lists_the_available_ones(ptb: ECG) -> None:
    with pytest.raises(LeadNotFoundError, match=r"'V7'.*available leads: I, II, III, aVR"):
        ptb.select(["V1", "V7"])
    with pytest.raises(KeyError):
        ptb["V7"]
    with pytest.raises(TypeError, match="by name"):
        ptb[0]
    with pytest.raises(LeadNotFoundError):
        ptb.drop_leads("V9")


def test_ecg_is_immutable(ptb: ECG) -> None:
    with pytest.raises(ValueError):
        ptb.signals[0, 0] = 1.0
    with pytest.raises(ValueError):
        ptb["I"][0] = 1.0
    with pytest.raises(TypeError):
        ptb.metadata["age"] = 3  # type: ignore[index]
    source = np.ones((2, 100))
    ecg = ECG(source, 100.0, ["I", "II"])
    source[0, 0] = 5.0
    assert ecg["I"][0] == 1.0  # copied on construction


def test_virtual_leads_and_angles() -> None:
    ecg = _synthetic(3)
    derived = ecg.with_virtual("v4", ecg["I"] + ecg["II"], angles=(1.0, 0.5), source="test sum")
    assert derived.lead_names == ("I", "II", "III", "V4")
    assert derived.virtual == frozenset({"V4"}) and ecg.virtual == frozenset()
    assert derived.metadata["virtual_sources"]["V4"] == "test sum"
    assert derived.electrode_angles["V4"] == (1.0, 0.5)
    assert "(1 virtual: V4)" in repr(derived)
    assert derived.select(["I", "II"]).virtual == frozenset()
    with pytest.raises(ValueError, match="already a lead"):
        derived.with_virtual("V4", ecg["I"])
    with pytest.raises(ValueError, match="2000 samples"):
        ecg.with_virtual("V5", np.zeros(10))
    standard = ecg.with_standard_angles()
    assert standard.electrode_angles["II"] == STANDARD_LEAD_ANGLES["II"]
    with pytest.raises(ValueError, match="theta"):
        ECG(ecg.signals, ecg.fs, ecg.lead_names, electrode_angles={"I": (4.0, 0.0)})
    combined = ECG.concat([ecg, ECG(np.zeros((1, 2000)), 500.0, ["V6"], virtual=["V6"])])
    assert combined.lead_names == ("I", "II", "III", "V6") and combined.virtual == frozenset({"V6"})
    with pytest.raises(ValueError, match="share fs and length"):
        ECG.concat([ecg, ECG(np.zeros((1, 1000)), 500.0, ["V6"])])


# ------------------------------------------------------------------ filters and resampling


def test_filters_record_their_step_and_leave_the_original() -> None:
    # the filtering itself is tested on arrays in test_filters.py
    fs = 500.0
    t = np.arange(int(20 * fs)) / fs
    drift, mains = np.sin(2 * np.pi * 0.1 * t), np.sin(2 * np.pi * 50.0 * t)
    ecg = ECG.from_array(np.stack([drift + mains, drift]), fs, ["I", "II"], metadata={"record": "r1"})
    x = ecg.signals
    steps = {
        "bandpass 0.5-40 Hz (Butterworth order 2, zero-phase)": (ecg.bandpass(0.5, 40), filters.bandpass(x, fs)),
        "highpass 0.5 Hz (Butterworth order 2, zero-phase)": (ecg.highpass(0.5), filters.highpass(x, fs)),
        "lowpass 40 Hz (Butterworth order 3, zero-phase)": (ecg.lowpass(40, order=3), filters.lowpass(x, fs, order=3)),
        "notch 50 Hz (Q 30, zero-phase)": (ecg.notch(50), filters.notch(x, fs, 50.0)),
    }
    for step, (filtered, expected) in steps.items():
        assert filtered.metadata["processing"] == (step,)
        assert filtered.lead_names == ("I", "II") and filtered.fs == fs and filtered.record == "r1"
        np.testing.assert_array_equal(filtered.signals, expected)
    np.testing.assert_array_equal(ecg["II"], drift)  # the original is untouched
    assert "processing" not in ecg.metadata


def test_invalid_band_is_refused() -> None:
    ecg = _synthetic()
    with pytest.raises(ValueError, match="low must be below high"):
        ecg.bandpass(40.0, 0.5)
    with pytest.raises(ValueError, match=r"high must be below the Nyquist frequency fs/2 = 250 Hz, got 300 Hz"):
        ecg.bandpass(0.5, 300.0)
    with pytest.raises(ValueError, match="low must be a finite positive number"):
        ecg.bandpass(0.0, 40.0)
    with pytest.raises(ValueError, match="order"):
        ecg.bandpass(order=0)
    with pytest.raises(ValueError, match="frequency"):
        ecg.notch(250.0)


def test_resample_sets_the_rate_reached() -> None:
    # the resampling itself is tested on arrays in test_filters.py
    fs = 1000.0
    t = np.arange(10000) / fs
    ecg = ECG.from_array(np.stack([np.sin(2 * np.pi * 5.0 * t), np.cos(2 * np.pi * 5.0 * t)]), fs, ["I", "II"])
    odd = ecg.resample(360.0)  # ratio 9/25
    assert odd.fs == 360.0 and odd.n_samples == 3600 and odd.lead_names == ("I", "II")
    assert odd.metadata["processing"] == ("resample 1000 -> 360 Hz (polyphase 9/25)",)
    np.testing.assert_array_equal(odd.signals, filters.resample(ecg.signals, fs, 360.0)[0])
    same = ecg.resample(1000.0)
    assert same.n_samples == 10000 and "processing" not in same.metadata
    with pytest.warns(UserWarning, match=r"resampling to 333.333 Hz \(ratio 1/3\)") as caught:
        assert ecg.resample(333.0, max_denominator=5).fs == pytest.approx(1000.0 / 3.0)
    assert caught[0].filename == __file__  # the warning points at the caller
    with pytest.raises(ValueError, match="fs=0.1 Hz is too low"):
        ecg.resample(0.1, max_denominator=10)


# ------------------------------------------------------------------ bad input


def test_non_finite_samples_name_the_lead() -> None:
    signals = np.zeros((3, 500))
    signals[1, 10:13] = np.nan
    signals[2, 7] = np.inf
    with pytest.raises(
        ValueError, match=r"lead II: 3 of 500 samples; lead III: 1 of 500 samples.*nan_policy='interpolate'"
    ):
        ECG(signals, 500.0, ["I", "II", "III"])
    with pytest.raises(ValueError, match="lead II"):
        ECG.from_array(signals, 500.0, ["I", "II", "III"])
    ramp = np.vstack([np.linspace(0, 1, 500)] * 3)
    ramp[1, 10:13] = np.nan
    repaired = ECG.from_array(ramp, 500.0, ["I", "II", "III"], nan_policy="interpolate")
    np.testing.assert_allclose(repaired["II"], np.linspace(0, 1, 500))
    assert repaired.metadata["interpolated_samples"] == {"II": 3}
    with pytest.warns(UserWarning, match="lead II"):
        dropped = ECG.from_array(ramp, 500.0, ["I", "II", "III"], nan_policy="drop")
    assert dropped.lead_names == ("I", "III")
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        ECG.from_array(ramp, 500.0, ["I", "II", "III"], nan_policy="ignore")


def test_bad_shapes_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"2-D \(n_leads, n_samples\).*got shape \(500,\).*np.newaxis"):
        ECG(np.zeros(500), 500.0, ["I"])
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 4\)"):
        ECG(np.zeros((2, 3, 4)), 500.0, ["I", "II"])
    with pytest.raises(ValueError, match="must not be empty"):
        ECG(np.zeros((2, 0)), 500.0, ["I", "II"])
    with pytest.raises(ValueError, match=r"signals has 2 lead\(s\).*lead_names has 3"):
        ECG(np.zeros((2, 10)), 500.0, ["I", "II", "III"])
    with pytest.raises(ValueError, match=r"unique.*duplicate\(s\) aVR"):
        ECG(np.zeros((2, 10)), 500.0, ["AVR", "avr"])
    with pytest.raises(TypeError, match="lead_names"):
        ECG(np.zeros((2, 10)), 500.0, "I II")
    with pytest.raises(TypeError, match="numeric"):
        ECG([["a", "b"]], 500.0, ["I"])


@pytest.mark.parametrize(
    ("fs", "error", "message"),
    [
        (0.0, ValueError, "fs must be a finite positive number in Hz, got 0.0"),
        (-500.0, ValueError, "fs must be a finite positive number in Hz"),
        (float("nan"), ValueError, "fs must be a finite positive number in Hz, got nan"),
        (None, TypeError, "fs must be a positive number in Hz"),
        ("fast", TypeError, "fs must be a positive number in Hz"),
    ],
)


def test_bad_sampling_rate_is_refused(fs: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ECG(np.zeros((1, 10)), fs, ["I"])  # type: ignore[arg-type]


def test_sampling_rate_is_required() -> None:
    with pytest.raises(TypeError, match="fs"):
        ECG.from_array(np.zeros((1, 10)), lead_names=["I"])  # type: ignore[call-arg]
