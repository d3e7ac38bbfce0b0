"""Exports: ECG -> WFDB / xarray / netCDF and PosteriorLeads -> netCDF, read back and compared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb
import xarray as xr

from hybridfield.ecg import ECG
from hybridfield.io import read_wfdb
from hybridfield.posterior import PosteriorLeads

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CINC_RECORD = DATA / "cinc2021" / "E07500"

FS = 360.0


@pytest.fixture(scope="module")
def ecg() -> ECG:
    """Three measured leads of different amplitudes plus a virtual one, 2 s at 360 Hz."""
    rng = np.random.default_rng(7)
    t = np.arange(int(2 * FS)) / FS
    measured = np.vstack(
        [
            1.2 * np.sin(2 * np.pi * 1.1 * t) + 0.05 * rng.normal(size=t.size),
            -0.3 * np.cos(2 * np.pi * 0.7 * t) + 0.02 * rng.normal(size=t.size),
            2.5 * np.sin(2 * np.pi * 3.0 * t) ** 3,
        ]
    )
    base = ECG.from_array(measured, FS, ["I", "avr", "V2"], metadata={"record": "synthetic01"})
    return base.with_virtual("V5", 0.8 * np.sin(2 * np.pi * 1.3 * t + 0.4), source="test")


# --------------------------------------------------------------------------------------------
# WFDB
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["16", "212", "80", "24", "32"])
def test_to_wfdb_round_trip_to_the_format_resolution(ecg: ECG, tmp_path: Path, fmt: str) -> None:
    path = ecg.to_wfdb("synthetic01", tmp_path / "out", fmt=fmt)
    assert path == tmp_path / "out" / "synthetic01"
    assert path.with_suffix(".hea").is_file() and path.with_suffix(".dat").is_file()

    header = wfdb.rdheader(str(path))
    assert header.fmt == [fmt] * ecg.n_leads
    assert header.units == ["mV"] * ecg.n_leads
    gains = np.asarray(header.adc_gain, dtype=float)  # digital steps per mV

    back = read_wfdb(path)
    assert back.lead_names == ecg.lead_names == ("I", "aVR", "V2", "V5")
    assert back.fs == ecg.fs
    assert back.n_samples == ecg.n_samples
    assert back.virtual == ecg.virtual == frozenset({"V5"})
    # Each sample is rounded to the nearest digital step of its lead: 1 / gain mV.
    error = np.abs(back.signals - ecg.signals).max(axis=1)
    assert np.all(error <= 0.5 / gains * (1 + 1e-6)), (error, 0.5 / gains)
    # ... and the step is fine enough for the format: wfdb spreads each lead over its digital range.
    bits = {"80": 8, "212": 12, "16": 16, "24": 24, "32": 32}[fmt]
    ranges = np.ptp(ecg.signals, axis=1)
    assert np.all(1.0 / gains <= ranges / 2 ** (bits - 2))


def test_to_wfdb_keeps_header_comments_of_a_real_record(tmp_path: Path) -> None:
    if not CINC_RECORD.with_suffix(".hea").exists():
        pytest.fail(f"record {CINC_RECORD} is missing: the shared data must lie beside the repository at {DATA}")
    original = read_wfdb(CINC_RECORD)
    path = original.to_wfdb("E07500_copy", tmp_path)
    back = read_wfdb(path)
    assert back.lead_names == original.lead_names
    assert back.fs == original.fs == 500.0
    assert back.virtual == frozenset()
    assert (back.metadata["age"], back.metadata["sex"], back.metadata["dx"]) == (
        original.metadata["age"],
        original.metadata["sex"],
        original.metadata["dx"],
    )
    assert back.metadata["comments"][:-1] == original.metadata["comments"]
    assert back.metadata["comments"][-1] == "virtual_leads: []"
    gains = np.asarray(wfdb.rdheader(str(path)).adc_gain, dtype=float)
    assert np.all(np.abs(back.signals - original.signals).max(axis=1) <= 0.5 / gains * (1 + 1e-6))


def test_to_wfdb_does_not_repeat_the_virtual_comment(ecg: ECG, tmp_path: Path) -> None:
    once = read_wfdb(ecg.to_wfdb("first", tmp_path))
    twice = read_wfdb(once.to_wfdb("second", tmp_path))
    lines = [line for line in twice.metadata["comments"] if line.startswith("virtual_leads")]
    assert lines == ['virtual_leads: ["V5"]']
    assert twice.virtual == frozenset({"V5"})


@pytest.mark.parametrize(
    ("record_name", "fmt", "error", "match"),
    [
        ("bad.name", "16", ValueError, "record_name"),
        ("has space", "16", ValueError, "record_name"),
        (12, "16", TypeError, "record_name"),
        ("ok", "8", ValueError, "fmt"),
        ("ok", 16, TypeError, "fmt"),
    ],
)
def test_to_wfdb_rejects_bad_arguments(ecg: ECG, tmp_path: Path, record_name, fmt, error, match) -> None:
    with pytest.raises(error, match=match):
        ecg.to_wfdb(record_name, tmp_path, fmt=fmt)
    assert not list(tmp_path.iterdir())


def test_read_wfdb_ignores_a_malformed_virtual_comment(tmp_path: Path) -> None:
    signal = np.linspace(-1.0, 1.0, 200)[:, np.newaxis]
    for name, comment, expected in [
        ("garbled", "virtual_leads: V1 and V2", frozenset()),
        ("unknown", 'virtual_leads: ["I", "V9"]', frozenset({"I"})),
    ]:
        wfdb.wrsamp(name, fs=100, units=["mV"], sig_name=["I"], p_signal=signal, fmt=["16"], comments=[comment], write_dir=str(tmp_path))
        with pytest.warns(UserWarning, match="virtual"):
            back = read_wfdb(tmp_path / name)
        assert back.virtual == expected


# --------------------------------------------------------------------------------------------
# xarray / netCDF
# --------------------------------------------------------------------------------------------
def test_to_xarray_labels(ecg: ECG) -> None:
    array = ecg.to_xarray()
    assert array.dims == ("lead", "time")
    assert array.shape == (4, ecg.n_samples)
    assert list(array["lead"].values) == ["I", "aVR", "V2", "V5"]
    np.testing.assert_allclose(array["time"].values, np.arange(ecg.n_samples) / FS)
    assert array["time"].attrs["units"] == "s"
    assert list(array["virtual"].values) == [False, False, False, True]
    assert array.attrs["units"] == "mV"
    assert array.attrs["fs"] == FS
    assert array.attrs["record"] == "synthetic01"
    assert json.loads(array.attrs["virtual_leads"]) == ["V5"]
    np.testing.assert_array_equal(array.sel(lead="aVR").values, ecg["aVR"])
    array[0, 0] = 99.0  # a copy: the ECG stays as it was
    assert ecg.signals[0, 0] != 99.0


def test_to_xarray_without_record_has_no_record_attribute() -> None:
    plain = ECG.from_array(np.zeros((1, 10)), 100.0, ["II"])
    assert "record" not in plain.to_xarray().attrs
    assert json.loads(plain.to_xarray().attrs["virtual_leads"]) == []


@pytest.mark.parametrize("engine", [None, "h5netcdf", "scipy"])
def test_to_netcdf_round_trip(ecg: ECG, tmp_path: Path, engine: str | None) -> None:
    if engine is not None:
        pytest.importorskip(engine)
    path = ecg.to_netcdf(tmp_path / "ecg.nc", engine=engine)
    assert path == tmp_path / "ecg.nc" and path.is_file()
    with xr.open_dataarray(path) as loaded:
        loaded = loaded.load()
    xr.testing.assert_identical(loaded, ecg.to_xarray())
    assert loaded["virtual"].dtype == bool


# --------------------------------------------------------------------------------------------
# Posterior
# --------------------------------------------------------------------------------------------
def test_posterior_to_netcdf_round_trip(tmp_path: Path) -> None:
    import arviz
    rng = np.random.default_rng(3)
    chains, per_chain, n_views, n_samples = 2, 3, 2, 40
    draws = rng.normal(size=(chains * per_chain, n_views, n_samples))
    posterior = PosteriorLeads(
        names=("V1 (virtual)", "view(90,130) (virtual)"),
        fs=250.0,
        draws=draws,
        heart_vector_draws=rng.normal(size=(chains * per_chain, 3, n_samples)),
        input_leads=("I", "II"),
        nuisance={"log_gain": rng.normal(size=(chains, per_chain, 2))},
        metadata={"units": "mV", "virtual": True, "record": "synthetic01", "chains": chains},
    )
    path = posterior.to_netcdf(tmp_path / "posterior.nc")
    assert path == tmp_path / "posterior.nc" and path.is_file()

    idata = arviz.from_netcdf(path)
    lead = idata.posterior["lead"]
    assert lead.dims == ("chain", "draw", "view", "time")
    assert list(lead["view"].values) == list(posterior.names)
    assert lead.attrs["units"] == "mV"
    np.testing.assert_array_equal(lead.values.reshape(-1, n_views, n_samples), draws)
    np.testing.assert_allclose(lead["time"].values, np.arange(n_samples) / 250.0)
    np.testing.assert_array_equal(idata.posterior["log_gain"].values, posterior.nuisance["log_gain"])
    assert idata.posterior.attrs["record"] == "synthetic01"
