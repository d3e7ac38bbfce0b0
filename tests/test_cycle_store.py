"""The on-disk cycle store: the cycles real_cycles cuts, keyed by the contract, reused, failures listed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridfield import real_cycles, read_wfdb
from hybridfield.cycle_store import (
    CYCLE_FIELDS,
    CycleStore,
    build_cycle_store,
    open_cycle_store,
    population_identity,
    store_contract,
    store_key,
    store_path,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cinc2021"
# the first does not exist (a failure to list); the others give a cycle per beat
RECORDS = [str(DATA / name) for name in ("no-such-record", "E07501", "E07502")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CycleStore]:
    root = tmp_path_factory.mktemp("stores")
    return root, build_cycle_store(RECORDS, root, scheduler="synchronous", batch_size=2, progress=False)


def test_store_holds_what_real_cycles_cuts(built: tuple[Path, CycleStore]) -> None:
    _, store = built
    expected = real_cycles([read_wfdb(path) for path in RECORDS[1:]])
    got = store.read()
    assert len(store) == len(expected) == len(got)
    for name in CYCLE_FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
    assert got.input_names == expected.input_names and got.target_names == expected.target_names
    assert got.record_names == expected.record_names == ("E07501", "E07502")
    assert store.record_paths == RECORDS[1:]


def test_failures_are_listed_not_dropped(built: tuple[Path, CycleStore]) -> None:
    _, store = built
    assert [f["path"] for f in store.failures] == [RECORDS[0]]
    assert "no-such-record" in store.failures[0]["error"]
    assert "1 failed" in repr(store)


def test_second_run_reuses_the_store(built: tuple[Path, CycleStore], capsys: pytest.CaptureFixture[str]) -> None:
    root, store = built
    again = build_cycle_store(RECORDS, root, scheduler="synchronous", batch_size=2, progress=True)
    assert "0 to process" in capsys.readouterr().out
    assert again.path == store.path and again.key == store.key and len(again) == len(store)
    assert again.failures == store.failures


def test_another_contract_is_another_store(built: tuple[Path, CycleStore]) -> None:
    root, store = built
    assert store.path == store_path(root, store.contract) and store.key == store_key(store.contract)
    other_inputs = store_contract(inputs=("II", "V2", "V5"))
    assert store_path(root, other_inputs) != store.path
    from hybridfield import default_population_model

    population = default_population_model()
    changed = dataclasses.replace(population, sigma=population.sigma * 1.1)
    assert population_identity(changed) != population_identity(population)
    assert store_key(store_contract(population=changed)) != store.key


def test_a_store_grows_by_the_records_it_lacks(tmp_path: Path, built: tuple[Path, CycleStore]) -> None:
    first = build_cycle_store(RECORDS[1:2], tmp_path, scheduler="synchronous", progress=False)
    assert first.record_names == ("E07501",)
    grown = build_cycle_store(RECORDS[1:], tmp_path, scheduler="synchronous", progress=False)
    assert grown.record_names == ("E07501", "E07502") and len(grown) == len(built[1])
    np.testing.assert_array_equal(grown.read().physical, built[1].read().physical)


def test_slices_and_selections(built: tuple[Path, CycleStore]) -> None:
    _, store = built
    everything = store.read()
    index = np.array([30, 0, 30, 5, -1])
    picked = store.arrays(index)
    for name in CYCLE_FIELDS:
        np.testing.assert_array_equal(picked[name], getattr(everything, name)[index], err_msg=name)
    np.testing.assert_array_equal(store.arrays(slice(10, 25), fields=("targets",))["targets"], everything.targets[10:25])
    assert len(store.read([3, 4])) == 2 and set(store.arrays([], fields=("lengths",))) == {"lengths"}
    with pytest.raises(IndexError, match="cycles must lie"):
        store.arrays([len(store)])
    with pytest.raises(ValueError, match="fields"):
        store.arrays([0], fields=("nope",))
    assert open_cycle_store(store.path).record_names == store.record_names


def test_bad_input_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        build_cycle_store(RECORDS, tmp_path, batch_size=0)
    with pytest.raises(TypeError, match="records"):
        build_cycle_store(123, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inputs"):
        store_contract(inputs="I")
    with pytest.raises(ValueError, match="length"):
        store_contract(length=0)
    with pytest.raises(FileNotFoundError, match="not a cycle store"):
        open_cycle_store(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no WFDB record"):
        build_cycle_store(str(tmp_path), tmp_path)


def test_command_builds_the_store(tmp_path: Path, built: tuple[Path, CycleStore]) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for suffix in (".hea", ".mat"):
        (folder / f"E07501{suffix}").symlink_to(DATA / f"E07501{suffix}")
    result = subprocess.run(
        [sys.executable, "-m", "hybridfield.build_store", str(folder), "--root", str(tmp_path / "stores"),
         "--scheduler", "synchronous"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    count = int(np.sum(built[1].read().record == 0))  # E07501's cycles: one per beat
    assert f"batch 1/1: 1 records (0 flagged), {count} cycles, 0 failed" in result.stdout
    store = open_cycle_store(result.stdout.strip().splitlines()[-1])
    assert store.key == built[1].key and store.record_names == ("E07501",)
    np.testing.assert_array_equal(store.read().inputs, built[1].read().subset(np.arange(count)).inputs)


def test_records_with_quality_warnings_are_flagged(tmp_path: Path) -> None:
    """White noise still gives cycles, but the store lists it as flagged with the warning's text."""
    from hybridfield import ECG

    clean = read_wfdb(RECORDS[1])
    rng = np.random.default_rng(0)
    ECG.from_array(rng.normal(0, 0.3, (12, 5000)), 500.0, list(clean.lead_names), metadata={"record": "noise"}).to_wfdb(
        "noise", tmp_path
    )
    store = build_cycle_store([RECORDS[1], str(tmp_path / "noise")], tmp_path / "stores", scheduler="synchronous",
                              progress=False)
    assert [r["record"] for r in store.records] == ["E07501", "noise"]
    assert [r["record"] for r in store.flagged] == ["noise"]
    assert any("no trustworthy beats" in m and "'noise'" in m for m in store.flagged[0]["warnings"])
    assert store.records[0]["warnings"] == [] and "1 flagged" in repr(store)
