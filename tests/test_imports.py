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


def _loaded_after(statement: str, candidates: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``candidates`` (top-level modules) are in sys.modules after ``statement`` in a fresh interpreter."""
    code = (
        f"{statement}\n"
        "import sys\n"
        f"print(','.join(sorted({{name.partition('.')[0] for name in sys.modules}} & set({candidates!r}))))"
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


PACKAGES = ("geometry", "forward", "hybridfield")
MAX_MODULE_LINES = 900


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the three packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _module_imports(modules: dict[str, Path]) -> dict[str, set[tuple[str, str | None]]]:
    """Per module, every (imported module, imported name or None) of the project, at any nesting
    (imports inside functions count: they close circles just the same)."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for module, path in modules.items():
        edges: set[tuple[str, str | None]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                edges.update((alias.name, None) for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: None if path.name == "__init__.py" else -1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in modules:
                        edges.add((submodule, None))  # a module imported by name
                    elif target in modules:
                        edges.add((target, alias.name))
        found[module] = {(target, name) for target, name in edges if target != module}
    return found


def test_no_import_circle_even_inside_functions() -> None:
    modules = _modules()
    graph = {module: {target for target, _ in edges} for module, edges in _module_imports(modules).items()}
    # a package's __init__ re-exports its submodules: an edge from a submodule to its own package
    # is a circle only if the package imports the submodule eagerly, which __init__ files do
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for target in graph[node]:
                if target == start and len(path) > 1:
                    circles.append(" -> ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles)))


def test_no_module_imports_another_modules_private_names() -> None:
    modules = _modules()
    offenders = sorted(
        f"{module} imports {target}.{name}"
        for module, edges in _module_imports(modules).items()
        for target, name in edges
        if name is not None and name.startswith("_") and not name.startswith("__")
    )
    assert not offenders, "\n".join(offenders)


def test_modules_hold_one_concept_each() -> None:
    sizes = {module: len(path.read_text(encoding="utf-8").splitlines()) for module, path in _modules().items()}
    too_long = {module: size for module, size in sizes.items() if size > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them along their concepts): {too_long}"


@pytest.mark.parametrize("package_name", PACKAGES)
def test_lazy_exports(package_name: str) -> None:
    import importlib

    package = importlib.import_module(package_name)
    for name in package.__all__:
        assert getattr(package, name) is not None
        assert name in dir(package)
    assert set(package._LAZY_ATTRIBUTES) <= set(package.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        package.not_a_function  # noqa: B018
    if package_name == "hybridfield":
        assert isinstance(package.__version__, str) and package.__version__


def test_lazy_namespace_rejects_a_malformed_entry() -> None:
    from geometry._lazy import lazy_namespace

    with pytest.raises(ValueError, match="'broken' must be 'module:attribute'"):
        lazy_namespace("geometry", {"broken": "geometry.torso.Torso"}, ["broken"])


@pytest.mark.parametrize(
    "statement",
    [
        "import geometry, forward",
        "from forward import lead_names, lead_definition, LEAD_SYSTEMS; lead_names()",
        "from hybridfield.posterior import predict_posterior; from hybridfield.io import read_wfdb",
    ],
)
def test_data_and_posterior_paths_do_not_load_the_volume_conductor(statement: str) -> None:
    """Reading records and the posterior of named leads need no torso mesh and no Numba kernel."""
    assert _loaded_after(statement, ("trimesh", "numba", "neurokit2")) == []


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
