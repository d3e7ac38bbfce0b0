"""Virtual leads of a whole folder: the pretrained hybrid's prediction per record, NaN-padded, failures listed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hybridfield import ECG, HybridPanorama, read_wfdb
from hybridfield.archive_prediction import _record_seed, predict_folder, prepared_length

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
VIEWS = ["V1", "V4", (1.2, 2.0)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two Challenge records (10 s at 500 Hz), the PTB record (1 kHz, longer), a broken header, white
    noise (to be flagged) and a Challenge record in microvolts written as mV (to fail)."""
    folder = tmp_path_factory.mktemp("archive")
    (folder / "cinc").mkdir()
    for name in ("E07501", "E07502"):
        for suffix in (".hea", ".mat"):
            (folder / "cinc" / f"{name}{suffix}").symlink_to(SHARED / "cinc2021" / f"{name}{suffix}")
    ptb = sorted((SHARED / "ptbdb").glob("*.hea"))[0].with_suffix("")
    for path in ptb.parent.glob(ptb.name + ".*"):
        (folder / path.name).symlink_to(path)
    (folder / "broken.hea").write_text("this is not a header\n")
    leads = list(read_wfdb(SHARED / "cinc2021" / "E07501").lead_names)
    rng = np.random.default_rng(0)
    ECG.from_array(rng.normal(0, 0.3, (12, 5000)), 500.0, leads, metadata={"record": "noise"}).to_wfdb("noise", folder)
    real = read_wfdb(SHARED / "cinc2021" / "E07502")
    ECG.from_array(real.signals * 1000.0, real.fs, leads, metadata={"record": "microvolts"}).to_wfdb("microvolts", folder)
    return folder


@pytest.fixture(scope="module")
def predicted(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    output = tmp_path_factory.mktemp("out") / "virtual.zarr"
    predict_folder(folder, VIEWS, output=output, scheduler="synchronous", batch_size=2, progress=False)
    return xr.open_zarr(output)


def test_each_record_is_the_pretrained_prediction(folder: Path, predicted: xr.Dataset) -> None:
    model = HybridPanorama.pretrained()
    assert list(predicted.view.values) == ["V1", "V4", "view(68.7549,114.592)"]
    assert predicted.virtual.dims == ("record", "view", "time")
    for record in predicted.record.values:
        if record in ("broken", "microvolts"):
            continue
        expected = model.predict(read_wfdb(str(predicted.path.sel(record=record).values)), VIEWS)
        values = predicted.virtual.sel(record=record).values
        length = int(predicted.length.sel(record=record))
        assert length == expected.n_samples
        np.testing.assert_allclose(values[:, :length], expected.signals, rtol=0, atol=1e-6)
        assert np.isnan(values[:, length:]).all()
    np.testing.assert_allclose(predicted.time.values[:3], [0.0, 0.002, 0.004])
    assert predicted.attrs["fs"] == 500.0 and predicted.attrs["inputs"] == ["I", "II", "V5"]


def test_failures_are_listed_and_stay_nan(predicted: xr.Dataset) -> None:
    assert set(predicted.record.values) >= {"cinc/E07501", "cinc/E07502", "broken", "microvolts", "noise"}
    failures = predicted.attrs["failures"]
    assert [f["record"] for f in failures] == ["broken", "microvolts"] and predicted.attrs["n_failures"] == 2
    # the microvolt record fails naming itself and its amplitude
    assert "'microvolts'" in failures[1]["error"] and "microvolts (divide by 1000)" in failures[1]["error"]
    for record in ("broken", "microvolts"):
        assert int(predicted.length.sel(record=record)) == 0
        assert np.isnan(predicted.virtual.sel(record=record).values).all()
    # the time axis is the longest record's: the PTB record at 1 kHz, resampled to 500 Hz
    assert predicted.sizes["time"] == int(predicted.length.max()) > 5000


def test_noise_is_predicted_but_flagged(predicted: xr.Dataset) -> None:
    """A record of white noise has no trustworthy beats: its values are written, and it is flagged."""
    assert predicted.flagged.dtype == bool
    assert list(predicted.record.values[predicted.flagged.values]) == ["noise"]
    assert predicted.attrs["n_flagged"] == 1
    (flag,) = predicted.attrs["flags"]
    assert flag["record"] == "noise" and any("no trustworthy beats" in m and "'noise'" in m for m in flag["warnings"])
    assert int(predicted.length.sel(record="noise")) == 5000
    assert not predicted.flagged.sel(record="cinc/E07501") and predicted.attrs["bands"] is None
    assert "lower" not in predicted


def test_posterior_bands_are_the_models_posterior(folder: Path, tmp_path: Path) -> None:
    """``bands``: each record's lower/upper are its own posterior's interval, seeded by its index."""
    paths = [folder / "cinc" / "E07501", folder / "cinc" / "E07502"]
    written = predict_folder(paths, VIEWS, output=tmp_path / "bands.zarr", scheduler="synchronous", batch_size=1,
                             bands=0.9, band_draws=40, random_seed=3, progress=False)
    model = HybridPanorama.pretrained()
    assert written.attrs["bands"] == {"probability": 0.9, "draws": 40, "random_seed": 3, "method": "laplace"}
    for index, path in enumerate(paths):
        posterior = model.predict_posterior(read_wfdb(path), VIEWS, draws=40, random_seed=_record_seed(3, index),
                                            progressbar=False)
        lower, upper = posterior.interval(0.9)
        record = written.sel(record=path.name)
        np.testing.assert_allclose(record.lower.values, lower, rtol=0, atol=1e-5)
        np.testing.assert_allclose(record.upper.values, upper, rtol=0, atol=1e-5)
        assert (record.upper.values > record.lower.values).mean() > 0.99
    with pytest.raises(ValueError, match="bands"):
        predict_folder(paths, VIEWS, output=tmp_path / "x.zarr", bands=90)
    with pytest.raises(ValueError, match="band_draws"):
        predict_folder(paths, VIEWS, output=tmp_path / "x.zarr", bands=0.9, band_draws=1)


def test_dask_client_and_a_common_duration(folder: Path, predicted: xr.Dataset, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    paths = [folder / "cinc" / "E07501", folder / "cinc" / "E07502"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        cut = predict_folder(paths, VIEWS, output=tmp_path / "cut.zarr", scheduler=client, batch_size=1,
                             duration=4.0, progress=False)
        client.cluster.scale(2)  # two workers in one process: concurrent threads, which the physics cannot take
        client.wait_for_workers(2)
        with pytest.raises(ValueError, match="scheduler: this work needs single-threaded worker processes"):
            predict_folder(paths, VIEWS, output=tmp_path / "refused.zarr", scheduler=client, progress=False)
    assert cut.sizes["time"] == 2000 and (cut.length.values == 2000).all()
    for record in ("E07501", "E07502"):
        np.testing.assert_array_equal(cut.virtual.sel(record=record).values,
                                      predicted.virtual.sel(record=f"cinc/{record}").values[:, :2000])


def test_prepared_length() -> None:
    assert prepared_length(5000, 500.0) == 5000
    assert prepared_length(38400, 1000.0) == 19200
    assert prepared_length(1001, 257.0) == int(np.ceil(1001 * 500 / 257))


def test_bad_input_names_the_parameter(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="views"):
        predict_folder(folder, ["not a lead"], output=tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="batch_size"):
        predict_folder(folder, VIEWS, output=tmp_path / "x.zarr", batch_size=0)
    with pytest.raises(ValueError, match="duration"):
        predict_folder(folder, VIEWS, output=tmp_path / "x.zarr", duration=-1.0)
    with pytest.raises(ValueError, match="inputs"):
        predict_folder(folder, VIEWS, output=tmp_path / "x.zarr", inputs="I")
    with pytest.raises(TypeError, match="folder"):
        predict_folder(3, VIEWS, output=tmp_path / "x.zarr")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="output"):
        predict_folder(folder, VIEWS, output=None)  # type: ignore[arg-type]


def test_command_writes_the_dataset(folder: Path, predicted: xr.Dataset, tmp_path: Path) -> None:
    output = tmp_path / "cli.zarr"
    result = subprocess.run(
        [sys.executable, "-m", "hybridfield.predict_archive", str(folder / "cinc"), "--views", "V1", "V4", "1.2,2.0",
         "--output", str(output), "--scheduler", "synchronous"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "2 records x 3 views x 5000 samples, 0 failed" in result.stdout
    written = xr.open_zarr(output)
    np.testing.assert_array_equal(written.virtual.sel(record="E07501").values,
                                  predicted.virtual.sel(record="cinc/E07501").values[:, :5000])
