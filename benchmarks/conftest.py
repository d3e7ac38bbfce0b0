"""Collect ``bench_*.py`` files in this folder as test modules.

The project's pytest configuration (pyproject.toml) has ``testpaths = ["tests"]`` and the default
``python_files = test_*.py``, so a plain ``pytest`` never runs the benchmarks; naming this folder
(``python -m pytest benchmarks --benchmark-only``) collects the ``bench_*.py`` files through this hook.
"""

from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    # Files named on the command line are collected by pytest itself; don't collect them twice.
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
