"""Import hygiene and the entry points: light imports, one-way layering, README == CI command."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "pymc", "torch")

MAIN_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . "
    "&& python examples/forward_model.py"
)


def _loaded_after(statement: str) -> list[str]:
    """Heavy top-level modules present in sys.modules after running ``statement`` in a fresh interpreter."""
    code = (
        f"{statement}\n"
        "import sys\n"
        f"print(','.join(sorted({{name.partition('.')[0] for name in sys.modules}} & set({HEAVY!r}))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    output = result.stdout.strip().splitlines()
    return [name for name in (output[-1].split(",") if output else []) if name]


@pytest.mark.parametrize(
    "statement",
    [
        "import hybridfield, geometry, forward",
        "import hybridfield.plots",
        "import hybridfield; hybridfield.plot_leads; hybridfield.plot_vector_loops; hybridfield.plot_views",
        "import hybridfield; hybridfield.plot_ecg; hybridfield.plot_panorama; hybridfield.plot_view_map; hybridfield.plot_torso",
        "import hybridfield; hybridfield.compare_fields; hybridfield.plot_comparison; hybridfield.HybridPanorama",
    ],
)
def test_imports_do_not_load_heavy_dependencies(statement: str) -> None:
    assert _loaded_after(statement) == []


def _imported_top_level(package: str) -> dict[str, set[str]]:
    """Absolute top-level modules imported by each source file of ``package`` (any nesting)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("geometry", {"forward", "hybridfield"}), ("forward", {"hybridfield"})],
)
def test_layering_is_one_way(package: str, forbidden: set[str]) -> None:
    offenders = {path: sorted(names & forbidden) for path, names in _imported_top_level(package).items() if names & forbidden}
    assert not offenders, f"{package} must not import {sorted(forbidden)}: {offenders}"


def test_lazy_exports() -> None:
    import hybridfield

    assert isinstance(hybridfield.__version__, str) and hybridfield.__version__
    for name in hybridfield.__all__:
        assert getattr(hybridfield, name) is not None
        assert name in dir(hybridfield)
    assert set(hybridfield._LAZY_ATTRIBUTES) <= set(hybridfield.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        hybridfield.not_a_function  # noqa: B018


def _readme_lines() -> list[str]:
    return [line.strip() for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()]


def test_readme_test_command_is_what_ci_runs() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^TEST_COMMAND='([^']*)'$", script, flags=re.MULTILINE)
    assert match, ".ci/run must define TEST_COMMAND='...' on a line of its own"
    command = match.group(1)
    assert command in _readme_lines(), "README.md must give the CI test command verbatim, as a line of its own"
    assert re.search(r'^eval "\$TEST_COMMAND"$', script, flags=re.MULTILINE), ".ci/run must run TEST_COMMAND"
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && ")
    assert command.endswith("python -m pytest tests -q")


def test_readme_main_command() -> None:
    assert MAIN_COMMAND in _readme_lines()
    assert (ROOT / "examples" / "forward_model.py").is_file()
