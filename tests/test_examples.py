"""The user-facing entry points run: the main example writes readable figures, the README quickstart works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _figures import assert_readable_png

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "ecg_12lead.png",
    "vcg_loops.png",
    "views_physical_vs_unit.png",
    "conditions.png",
    "ecg_12lead_paper.png",
    "image_surface.png",
)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    output = tmp_path_factory.mktemp("figures") / "nested"  # the example must create it
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "forward_model.py"), "--duration", "3", "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    return result, output


def test_example_exits_cleanly_and_reports(example_run) -> None:
    result, output = example_run
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "<Torso" in result.stdout
    for lead in ("V1", "V6", "X", "Y", "Z"):
        assert re.search(rf"^\s*{lead}\s", result.stdout, flags=re.MULTILINE), f"lead-vector table lacks {lead}"
    assert "V7-like (100, 150)" in result.stdout
    for name in FIGURES:
        assert str(output / name) in result.stdout


@pytest.mark.parametrize("name", FIGURES)
def test_example_figure_is_readable(example_run, name: str) -> None:
    _, output = example_run
    assert_readable_png(output / name)


def test_readme_quickstart_runs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "README.md has no python quickstart"
    result = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert "degrees apart" in result.stdout


def test_plot_functions_validate_and_return_figures() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    import hybridfield

    fs = 250.0
    t = np.arange(500) / fs
    names, array = ("I", "V7"), np.vstack([np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)])
    figures = [
        hybridfield.plot_leads((names, array), fs, virtual=["V7"], title="leads"),
        hybridfield.plot_leads(dict(zip(names, array)), fs, layout=(1, 2)),
        hybridfield.plot_vector_loops(np.vstack([array, array[:1]]), fs, frame="frank", window=(0.0, 1.0)),
        hybridfield.plot_views({"v": array[0]}, fs, {"v": 0.8 * array[0]}),
    ]
    try:
        assert all(isinstance(figure, Figure) for figure in figures)
        assert "V7 (virtual)" in [text.get_text() for text in figures[0].axes[1].texts]
    finally:
        for figure in figures:
            plt.close(figure)
    with pytest.raises(ValueError, match="virtual names"):
        hybridfield.plot_leads((names, array), fs, virtual=["V8"])
    with pytest.raises(ValueError, match="layout 1x1"):
        hybridfield.plot_leads((names, array), fs, layout=(1, 1))
    with pytest.raises(ValueError, match="fs must be a finite positive"):
        hybridfield.plot_leads((names, array), 0.0)
    with pytest.raises(ValueError, match="frame must be one of"):
        hybridfield.plot_vector_loops(np.zeros((3, 10)), fs, frame="ras")
    with pytest.raises(ValueError, match=r"shape \(3, n\)"):
        hybridfield.plot_vector_loops(array, fs)
    with pytest.raises(ValueError, match="lacks the views"):
        hybridfield.plot_views({"v": array[0]}, fs, {"w": array[0]})
