"""Lazy package namespaces (PEP 562): a public name imports its module on first use.

Each package of the stack (geometry, forward, hybridfield) lists its public names in a table
``name -> "module:attribute"``; importing the package then costs nothing beyond that table, and
a feature's dependencies (trimesh, Numba, NeuroKit2, torch...) load only when one of its names is
used. The three packages share this helper: geometry is the one every other package may import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_namespace"]


def lazy_namespace(
    package: str, table: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` that resolve ``table`` on demand.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    table : mapping of str to str
        Public name -> ``"dotted.module:attribute"``.
    public : sequence of str
        The package's ``__all__`` (what ``dir()`` lists besides the loaded globals).

    Returns
    -------
    getattr, dir : callables
        Assign them to the package's ``__getattr__`` and ``__dir__``. A resolved name is cached
        in the package's namespace, so later look-ups bypass ``__getattr__``.

    Raises
    ------
    ValueError
        For a table entry that is not ``"module:attribute"``.
    """
    for name, target in table.items():
        module_name, separator, attribute = target.partition(":")
        if not (module_name and separator and attribute):
            raise ValueError(f"{package}: lazy entry {name!r} must be 'module:attribute', got {target!r}")

    def resolve(name: str) -> Any:
        try:
            target = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module_name, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module_name), attribute)
        setattr(sys.modules[package], name, value)
        return value

    def listing() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(public))

    return resolve, listing
