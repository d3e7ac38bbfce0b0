"""Benchmarks of import time: ``python -c "import <package>"`` in a fresh interpreter.

Each statement runs in a new subprocess (nothing cached in ``sys.modules``; the bytecode caches are
warm after the first, untimed, round), timed over 7 rounds. ``python -c "pass"`` is timed the same
way: subtract its median to get what the import itself costs. ``extra_info`` holds that difference,
the heavy optional dependencies the import loaded (must be none) and, from ``-X importtime``, the
import's self time summed per top-level package (where the time goes: trimesh, scipy, numba...). Run with
``python -m pytest benchmarks/bench_import.py -q -s --benchmark-only``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "pymc", "torch")

STATEMENTS = {
    "interpreter": "pass",
    "geometry": "import geometry",
    "forward": "import forward",
    "hybridfield": "import hybridfield",
}

_BASELINE_SECONDS: dict[str, float] = {}


def run_python(statement: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``python <options> -c statement`` from the repository root; fail on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, *options, "-c", statement], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def heavy_modules_loaded(statement: str) -> list[str]:
    """Heavy optional dependencies present in ``sys.modules`` after ``statement``."""
    probe = (
        f"{statement}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    return json.loads(run_python(probe).stdout.strip().splitlines()[-1])


def import_time_by_package(package: str, count: int = 6) -> list[str]:
    """Where ``import package`` spends its time: self time summed per top-level package, ms.

    ``-X importtime`` prints one line per module (self and cumulative microseconds) after the lines
    of its own imports, nested two spaces per level; the subtree of ``package`` is every line after
    the previous depth-0 line (the interpreter's start-up imports) up to its own depth-0 line.
    """
    stderr = run_python(f"import {package}", "-X", "importtime").stderr
    subtree: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_time, _, raw_name = line.removeprefix("import time:").split("|")
        depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
        subtree.append((int(self_time), raw_name.strip()))
        if depth == 0:
            if raw_name.strip() == package:
                break
            subtree = []
    totals: dict[str, int] = {}
    for microseconds, name in subtree:
        top_level = name.partition(".")[0]
        totals[top_level] = totals.get(top_level, 0) + microseconds
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return [f"{name}: {microseconds / 1000:.0f} ms" for name, microseconds in ranked[:count]]


def median_seconds(benchmark) -> float | None:
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else float(stats.stats.median)


@pytest.mark.parametrize("package", list(STATEMENTS))
def test_import_time(benchmark, package):
    statement = STATEMENTS[package]
    result = benchmark.pedantic(run_python, args=(statement,), rounds=7, iterations=1, warmup_rounds=1)
    assert result.returncode == 0
    info = benchmark.extra_info
    info["statement"] = statement
    median = median_seconds(benchmark)
    if package == "interpreter":
        if median is not None:
            _BASELINE_SECONDS["median"] = median
    else:
        loaded = heavy_modules_loaded(statement)
        assert loaded == [], f"{statement!r} loaded heavy optional dependencies {loaded}"
        info["heavy_modules_loaded"] = loaded
        info["self_time_by_package"] = import_time_by_package(package)
        if median is not None and "median" in _BASELINE_SECONDS:
            info["import_only_ms"] = round(1000 * (median - _BASELINE_SECONDS["median"]), 1)
    print(f"\n{statement!r}: median {median if median is None else round(1000 * median, 1)} ms, {info}")
