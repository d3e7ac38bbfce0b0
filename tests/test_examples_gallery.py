"""The gallery examples run offline with --quick, print sensible numbers and write readable figures.

Each example runs once per module in a subprocess (as a user would run it) into a temporary,
not yet existing folder. forward_model.py is covered by test_examples.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _figures import assert_readable_png

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
NUMBER = r"(-?\d+(?:\.\d+)?)"

FIGURES = {
    "virtual_leads_ptb": ("virtual_v1_v6.png", "nonstandard_views.png", "vector_loops_posterior.png", "vcg_measured.png"),
    "posterior_leads": (
        "posterior_leads_from_8.png",
        "high_leads_from_8.png",
        "posterior_leads_from_3.png",
        "high_leads_from_3.png",
        "band_widths.png",
    ),
    "own_torso": ("torso_default.png", "torso_own.png", "lead_vector_change.png", "ecg_own_vs_default.png"),
    "learned_vs_physical": (
        "E07501_lead_vector_angle.png",
        "E07501_dipolar_fraction.png",
        "E07501_r.png",
        "E07501_panorama.png",
    ),
    "train_on_folder": ("training_curve.png", "test_record.png"),
}


def run_example(name: str, output: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run ``examples/<name>.py --quick --output <output> *extra`` from the repository root."""
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--quick", "--output", str(output), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )


def rows(stdout: str, first: str, count: int) -> dict[str, list[float]]:
    """Table rows that start with a name matching ``first`` followed by ``count`` numbers."""
    pattern = rf"^\s*({first})\s+" + r"\s+".join([NUMBER] * count) + r"\b"
    return {m.group(1): [float(v) for v in m.groups()[1:]] for m in re.finditer(pattern, stdout, flags=re.MULTILINE)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    if not (DATA / "ptbdb" / "s0010_re.hea").is_file():
        pytest.skip(f"shared records not found at {DATA}")
    results = {}
    for name in FIGURES:
        output = tmp_path_factory.mktemp(name) / "figures"  # the example must create it
        results[name] = (run_example(name, output), output)
    return results


@pytest.mark.parametrize("name", list(FIGURES))
def test_example_exits_cleanly_and_lists_its_figures(runs, name: str) -> None:
    result, output = runs[name]
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    for figure in FIGURES[name]:
        assert str(output / figure) in result.stdout, f"{figure} not reported"
    assert not re.search(r"\b(nan|inf)\b", result.stdout, flags=re.IGNORECASE), result.stdout


@pytest.mark.parametrize(("name", "figure"), [(name, figure) for name, figures in FIGURES.items() for figure in figures])
def test_example_figure_is_readable(runs, name: str, figure: str) -> None:
    _, output = runs[name]
    assert_readable_png(output / figure)


def test_virtual_leads_numbers_are_sensible(runs) -> None:
    result, _ = runs["virtual_leads_ptb"]
    assert "out of sample" in result.stdout
    checked = rows(result.stdout, "V1|V6", 6)  # coverage, width, RMSE, r, physical answer RMSE, plain solve RMSE
    assert set(checked) == {"V1", "V6"}, result.stdout
    for lead, (coverage, width, rmse, r, answer_rmse, solve_rmse) in checked.items():
        assert 0.3 < coverage <= 1.0, f"{lead}: coverage {coverage}"
        assert 0.0 < width < 5.0 and 0.0 < rmse < 2.0, f"{lead}: width {width} mV, RMSE {rmse} mV"
        assert -1.0 <= r <= 1.0
        # The population model must beat the bare 3x3 solve through the default torso, and the
        # physical answer is the posterior's centre: as close to the truth as the mean of its draws
        assert rmse < solve_rmse and answer_rmse < solve_rmse, f"{lead}: {rmse}, {answer_rmse} against the plain solve {solve_rmse}"
        assert abs(answer_rmse - rmse) < 0.25 * rmse, f"{lead}: physical answer {answer_rmse} against posterior mean {rmse}"
    views = rows(result.stdout, r"view\(\S+\)", 2)
    assert set(views) == {"view(90,130)", "view(132,-99)", "view(140,100)"}, result.stdout
    assert all(0.0 < width < 5.0 and 0.0 < span < 10.0 for width, span in views.values())
    # Frame check: the posterior heart vector's left and superior components follow the measured VCG.
    correlations = rows(result.stdout, r"[xyz] \(\w+\)", 1)
    assert len(correlations) == 3, result.stdout
    assert correlations["y (left)"][0] > 0.5 and correlations["z (superior)"][0] > 0.5, correlations


def test_posterior_leads_numbers_are_sensible(runs) -> None:
    result, _ = runs["posterior_leads"]
    names = ("V7", "V8", "V9", "V1_ICS2", "V2_ICS2", "V1_ICS3", "V2_ICS3")
    lead_pattern = "|".join(names)
    # The view of each electrode reaches the electrode: 0 degrees from the named lead's vector.
    geometry_rows = re.findall(rf"^\s*({lead_pattern})\s+\w+\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} deg", result.stdout, flags=re.MULTILINE)
    assert [row[0] for row in geometry_rows] == list(names), result.stdout
    for name, theta, phi, magnitude, angle in geometry_rows:
        assert 0.0 <= float(theta) <= 180.0 and -180.0 <= float(phi) <= 180.0
        assert float(magnitude) > 0.0 and float(angle) < 1.0, f"{name}: view misses its electrode by {angle} deg"
    widths = rows(result.stdout, lead_pattern, 3)  # width from 3 leads, from 8 leads, ratio
    assert set(widths) == set(names), result.stdout
    for name, (from_three, from_eight, ratio) in widths.items():
        assert 0.0 < from_three < 5.0 and 0.0 < from_eight < 5.0, f"{name}: widths {from_three}, {from_eight} mV"
        assert ratio == pytest.approx(from_eight / from_three, abs=0.02)
    # ST summaries: ordered interval around the median, probabilities in [0, 1].
    st_rows = re.findall(
        rf"^\s*({lead_pattern})\s+{NUMBER}\s+\[{NUMBER}, {NUMBER}\]\s+{NUMBER} \(>=", result.stdout, flags=re.MULTILINE
    )
    assert len(st_rows) == len(names), result.stdout
    for name, median, low, high, probability in st_rows:
        assert float(low) <= float(median) <= float(high), name
        assert 0.0 <= float(probability) <= 1.0, name


def test_own_torso_numbers_are_sensible(runs) -> None:
    result, _ = runs["own_torso"]
    table = rows(result.stdout, "I|II|III|aVR|aVL|aVF|V[1-6]", 3)  # |c| default, |c| own, ratio (angle follows)
    assert len(table) == 12, result.stdout
    ratios = np.array([ratio for _, _, ratio in table.values()])
    assert np.all(np.isfinite(ratios)) and np.all(ratios > 0)
    for lead, (default, own, ratio) in table.items():
        assert ratio == pytest.approx(own / default, abs=0.01), lead
    # The stand-in chest is broader and deeper: electrodes further from the heart, smaller leads.
    assert np.median(ratios) < 1.0
    angles = [float(a) for a in re.findall(rf"^\s*(?:I|II|III|aVR|aVL|aVF|V[1-6])\s+.*\s{NUMBER}°$", result.stdout, flags=re.MULTILINE)]
    assert len(angles) == 12 and all(0.0 <= a < 45.0 for a in angles), angles


def test_own_torso_takes_a_user_mesh_in_centimetres(tmp_path: Path) -> None:
    import geometry

    # A user's mesh: the default torso in cm, moved so the heart is not at the file's origin.
    mesh = geometry.default_torso(resolution=24).mesh.copy()
    mesh.apply_scale(100.0)
    mesh.apply_translation((3.0, -2.0, 110.0))
    path = tmp_path / "user torso.ply"
    mesh.export(path)
    result = run_example("own_torso", tmp_path / "out", "--mesh", str(path), "--units", "cm", "--heart-center", "3", "-2", "110")
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    ratios = np.array([ratio for _, _, ratio in rows(result.stdout, "I|II|III|aVR|aVL|aVF|V[1-6]", 3).values()])
    # The same shape at another resolution: lead vectors within a few percent of the default's.
    assert len(ratios) == 12 and np.all(np.abs(ratios - 1.0) < 0.1), result.stdout
    missing = run_example("own_torso", tmp_path / "out2", "--mesh", str(path))
    assert missing.returncode == 2 and "--heart-center" in missing.stderr


def test_learned_vs_physical_numbers_are_sensible(runs) -> None:
    result, _ = runs["learned_vs_physical"]
    found = re.findall(
        r"^\s+(unit_vector|learned)\s+angle to physical lead vector: median\s+" + NUMBER + r" deg, max\s+" + NUMBER
        + r" deg; dipolar fraction median " + NUMBER + r"; r median " + NUMBER,
        result.stdout,
        flags=re.MULTILINE,
    )
    assert {row[0] for row in found} == {"unit_vector", "learned"}, result.stdout
    for _, median, largest, fraction, r in found:
        assert 0.0 <= float(median) <= float(largest) <= 180.0
        assert 0.0 <= float(fraction) <= 1.0
        assert -1.0 <= float(r) <= 1.0
    unit = next(row for row in found if row[0] == "unit_vector")
    assert float(unit[3]) > 0.999  # a unit-vector projection of one heart vector is purely dipolar


def test_train_on_folder_trains_saves_and_scores(runs) -> None:
    result, output = runs["train_on_folder"]
    assert (output / "hybrid_small.pt").is_file()
    scores = dict(re.findall(r"^(physics|hybrid)\s+precordial PSNR\s+" + NUMBER + " dB", result.stdout, flags=re.MULTILINE))
    assert set(scores) == {"physics", "hybrid"}, result.stdout
    assert all(10.0 < float(v) < 60.0 for v in scores.values())
