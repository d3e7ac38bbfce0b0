"""Every public name of geometry, forward and hybridfield carries a numpydoc docstring.

The public API is what each package lists in ``__all__`` (hybridfield's names are resolved through
its lazy ``_LAZY_ATTRIBUTES`` table, which imports the module behind each name) and what each of
their public modules (no leading underscore) lists in its own ``__all__``, so a new module is
covered before it is exported lazily; plus, for classes, the public methods and properties defined
in the project (including those inherited from project base classes). Rules, checked on each of them:

- a docstring, which is not the signature ``dataclasses`` writes when a class has none;
- a callable that takes public parameters (besides ``self``/``cls``; a leading underscore marks a
  private one, e.g. the parameter name to quote in an error message) has a numpydoc ``Parameters`` (or
  ``Other Parameters``) section that documents every one of them (``*args``/``**kwargs`` may be
  written with or without their stars; ``a, b : float`` documents both ``a`` and ``b``) and no
  parameter the signature does not have. A class documents its constructor in the class docstring
  (``Parameters``, or ``Attributes`` for dataclass fields) or in ``__init__``'s own docstring;
- a function or method that returns a value has a ``Returns`` (or ``Yields``) section: required
  when its return annotation is anything but ``None``/``NoReturn``, or, when it has no return
  annotation, when its body returns a value. Properties are exempt (their docstring describes the
  value), and so are classes (calling one returns an instance).

Module-level constants (``STANDARD_LEAD_ANGLES``, ``DEFAULT_SIGMA``...) cannot carry a docstring of
their own and are documented with ``#:`` comments next to their definition; they are not checked.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PACKAGES = ("geometry", "forward", "hybridfield")

#: Names (``module:qualname``) exempt from the checks, each with the reason. Keep it short: a name
#: belongs here only if numpydoc cannot describe it, never because writing the docstring is work.
ALLOWED_OFFENDERS: dict[str, str] = {}

_SECTION_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_PARAMETER_SECTIONS = ("Parameters", "Other Parameters")
_CONSTRUCTOR_SECTIONS = ("Parameters", "Other Parameters", "Attributes")
_RETURN_SECTIONS = ("Returns", "Yields")
_NO_VALUE_ANNOTATIONS = {"None", "NoReturn", "Never", "typing.NoReturn", "typing.Never"}


# --------------------------------------------------------------------------------------------
# A small numpydoc parser
# --------------------------------------------------------------------------------------------
def docstring_sections(doc: str) -> dict[str, list[str]]:
    """Split a cleaned docstring into its numpydoc sections.

    A section is a title line followed by a line of at least three dashes; its body runs to the
    next such title. Returns ``{title: body lines}``; the summary and extended description are
    not a section.
    """
    lines = doc.splitlines()
    sections: dict[str, list[str]] = {}
    title: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        is_title = (
            index + 1 < len(lines)
            and line.strip()
            and _SECTION_UNDERLINE.match(lines[index + 1])
            and len(lines[index + 1].strip()) >= len(line.strip()) // 2
        )
        if is_title:
            title = line.strip()
            sections.setdefault(title, [])
            index += 2
            continue
        if title is not None:
            sections[title].append(line)
        index += 1
    return sections


def documented_names(doc: str, section_titles: tuple[str, ...]) -> set[str] | None:
    """Names documented in the given sections, or None when none of these sections exists.

    A name line starts at the section's own indentation (the least-indented non-blank line) and
    reads ``name``, ``name : type`` or ``a, b : type``; deeper-indented lines are descriptions.
    Stars of ``*args``/``**kwargs`` are dropped.
    """
    sections = docstring_sections(doc)
    found = [sections[title] for title in section_titles if title in sections]
    if not found:
        return None
    names: set[str] = set()
    for body in found:
        content = [line for line in body if line.strip()]
        if not content:
            continue
        indent = min(len(line) - len(line.lstrip()) for line in content)
        for line in content:
            if len(line) - len(line.lstrip()) != indent:
                continue
            head = line.strip().split(" : ", 1)[0].rstrip(":").strip()
            for part in head.split(","):
                name = part.strip().lstrip("*").strip()
                if name.isidentifier():
                    names.add(name)
    return names


# --------------------------------------------------------------------------------------------
# Walking the public API
# --------------------------------------------------------------------------------------------
def _is_project_object(value: Any) -> bool:
    module = getattr(value, "__module__", None) or ""
    return module.partition(".")[0] in PACKAGES


def _public_namespaces() -> Iterator[types.ModuleType]:
    """Each package, then each of its public modules."""
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
            if not module_info.name.startswith("_"):
                yield importlib.import_module(f"{package_name}.{module_info.name}")


def _public_objects() -> Iterator[tuple[str, Any]]:
    """``(label, object)`` for every function, class and module named in an ``__all__``, once each."""
    seen: set[int] = set()
    for namespace in _public_namespaces():
        for name in getattr(namespace, "__all__", ()):
            value = getattr(namespace, name)  # resolves hybridfield's lazy names
            if id(value) in seen:
                continue
            if isinstance(value, types.ModuleType):
                seen.add(id(value))
                yield f"{value.__name__} (module)", value
            elif (inspect.isclass(value) or callable(value)) and _is_project_object(value):
                seen.add(id(value))
                yield f"{namespace.__name__}.{name}", value


def test_every_public_module_declares_all() -> None:
    # Without __all__ a module's public names would escape the walk above.
    missing = [namespace.__name__ for namespace in _public_namespaces() if not hasattr(namespace, "__all__")]
    assert not missing, f"public modules without __all__: {missing}"


def _class_members(cls: type) -> Iterator[tuple[str, Any, type]]:
    """``(name, raw attribute, owner)`` for public methods and properties defined in the project."""
    seen: set[str] = set()
    for owner in cls.__mro__:
        if not _is_project_object(owner):
            continue
        for name, raw in vars(owner).items():
            if name.startswith("_") or name in seen:
                continue
            if isinstance(raw, (property, functools.cached_property, staticmethod, classmethod, types.FunctionType)) or (
                hasattr(raw, "__wrapped__") and callable(raw)
            ):
                seen.add(name)
                yield name, raw, owner


def _returns_value_in_body(function: Callable[..., Any]) -> tuple[bool, bool]:
    """``(returns a value, yields)`` read from the source of ``function``, nested scopes excluded."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return False, False
    tree = ast.parse(source)
    definition = next(
        (node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    if definition is None:
        return False, False
    returns = yields = False
    stack: list[ast.AST] = list(definition.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # another scope
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                returns = True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            yields = True
        stack.extend(ast.iter_child_nodes(node))
    return returns, yields


def _needs_returns(function: Callable[..., Any]) -> bool:
    annotation = inspect.signature(function).return_annotation
    if annotation is not inspect.Signature.empty:
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
        return text not in _NO_VALUE_ANNOTATIONS and annotation is not None and annotation is not type(None)
    returns, yields = _returns_value_in_body(inspect.unwrap(function))
    return returns or yields


def _parameter_names(function: Callable[..., Any]) -> list[str]:
    parameters = list(inspect.signature(function).parameters.values())
    # A leading underscore marks a private parameter (internal plumbing such as the name to use in
    # an error message); like a private function it is not part of the documented API.
    return [parameter.name for parameter in parameters if not parameter.name.startswith("_")]


def _check_parameters(
    doc: str,
    names: list[str],
    section_titles: tuple[str, ...],
    problems: list[str],
    *,
    signature_names: list[str] | None = None,
) -> None:
    """Append to ``problems`` what ``doc`` misses of ``names``, and the names it invents.

    Invented names are looked for in the ``Parameters`` sections only (an ``Attributes`` section
    may describe more than the constructor takes); ``signature_names`` are all the names the
    signature has, private ones included.
    """
    if not names:
        return
    documented = documented_names(doc, section_titles)
    if documented is None:
        problems.append(f"no {' / '.join(section_titles)} section for parameter(s) {', '.join(names)}")
        return
    missing = [name for name in names if name not in documented]
    if missing:
        problems.append(f"parameter(s) not documented: {', '.join(missing)}")
    in_parameters = documented_names(doc, _PARAMETER_SECTIONS) or set()
    unknown = sorted(in_parameters - set(signature_names if signature_names is not None else names))
    if unknown:
        problems.append(f"documents parameter(s) the signature does not have: {', '.join(unknown)}")


def _is_dataclass_signature_doc(cls: type, doc: str | None) -> bool:
    # dataclasses fill a missing class docstring with "Name(field: type, ...)".
    return bool(doc) and dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")


def _function_problems(function: Callable[..., Any], *, is_method: bool) -> list[str]:
    doc = inspect.getdoc(function)
    if not doc or not doc.strip():
        return ["missing docstring"]
    problems: list[str] = []
    try:
        names = _parameter_names(function)
    except (TypeError, ValueError):  # builtins without a signature
        return problems
    if is_method and names and names[0] in ("self", "cls"):
        names = names[1:]
    all_names = list(inspect.signature(function).parameters)
    _check_parameters(doc, names, _PARAMETER_SECTIONS, problems, signature_names=all_names)
    if _needs_returns(function) and not (set(docstring_sections(doc)) & set(_RETURN_SECTIONS)):
        problems.append("returns a value but has no Returns (or Yields) section")
    return problems


def _class_problems(cls: type) -> list[str]:
    doc = cls.__dict__.get("__doc__")
    if not doc or not doc.strip() or _is_dataclass_signature_doc(cls, doc):
        return ["missing class docstring"]
    doc = inspect.cleandoc(doc)
    problems: list[str] = []
    init = cls.__dict__.get("__init__")
    init_doc = inspect.getdoc(init) if isinstance(init, types.FunctionType) and init.__doc__ else None
    try:
        names = _parameter_names(cls)
    except (TypeError, ValueError):
        return problems
    if issubclass(cls, BaseException):
        return problems  # exceptions take a message, which needs no Parameters section
    target = init_doc if init_doc and documented_names(init_doc, _PARAMETER_SECTIONS) is not None else doc
    all_names = list(inspect.signature(cls).parameters)
    _check_parameters(target, names, _CONSTRUCTOR_SECTIONS, problems, signature_names=all_names)
    return problems


def collect_offenders() -> dict[str, list[str]]:
    """``{"module:qualname": [problems]}`` over the whole public API."""
    offenders: dict[str, list[str]] = {}

    def record(owner_module: str, qualname: str, problems: list[str]) -> None:
        key = f"{owner_module}:{qualname}"
        if problems and key not in ALLOWED_OFFENDERS:
            offenders.setdefault(key, []).extend(problems)

    checked_classes: set[type] = set()
    for label, value in _public_objects():
        if isinstance(value, types.ModuleType):
            if not (value.__doc__ or "").strip():
                record(value.__name__, "<module>", ["missing module docstring"])
            continue
        if inspect.isclass(value):
            if value in checked_classes:
                continue
            checked_classes.add(value)
            record(value.__module__, value.__qualname__, _class_problems(value))
            for name, raw, owner in _class_members(value):
                qualname = f"{owner.__qualname__}.{name}"
                if isinstance(raw, (property, functools.cached_property)):
                    if not (inspect.getdoc(raw) or "").strip():
                        record(owner.__module__, qualname, ["missing docstring (property)"])
                    continue
                function = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
                record(owner.__module__, qualname, _function_problems(function, is_method=not isinstance(raw, staticmethod)))
        else:
            module = getattr(value, "__module__", label)
            qualname = getattr(value, "__qualname__", label)
            record(module, qualname, _function_problems(value, is_method=False))
    return offenders


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_public_api_has_numpydoc_docstrings() -> None:
    offenders = collect_offenders()
    report = "\n".join(f"  {key}: {'; '.join(problems)}" for key, problems in sorted(offenders.items()))
    assert not offenders, f"{len(offenders)} public name(s) with docstring problems:\n{report}"


def test_allow_list_names_are_still_public() -> None:
    # A stale exemption would silently cover a future name of the same spelling.
    public = set()
    for _, value in _public_objects():
        if inspect.isclass(value):
            public.add(f"{value.__module__}:{value.__qualname__}")
            public.update(f"{owner.__module__}:{owner.__qualname__}.{name}" for name, _, owner in _class_members(value))
        elif not isinstance(value, types.ModuleType):
            public.add(f"{value.__module__}:{value.__qualname__}")
    assert set(ALLOWED_OFFENDERS) <= public, sorted(set(ALLOWED_OFFENDERS) - public)


# ---- the checker itself must catch what it claims to catch ------------------------------------
def _documented(a: int, b: int, *args: int, scale: float = 1.0, **kwargs: Any) -> float:
    """Sum.

    Parameters
    ----------
    a, b : int
        Terms.
    *args : int
        More terms.
    scale : float, keyword-only
        Factor.
    **kwargs
        Ignored.

    Returns
    -------
    total : float
    """
    return scale * (a + b + sum(args))


def _undocumented_parameter(a: int, b: int) -> int:
    """Sum.

    Parameters
    ----------
    a : int
        Term.

    Returns
    -------
    int
    """
    return a + b


def _no_returns_section(a: int):  # noqa: ANN202 - no annotation on purpose: the body decides
    """Identity.

    Parameters
    ----------
    a : int
    """
    return a


def _no_parameters_section(a: int) -> None:
    """Nothing."""


def _stale_parameter(a: int) -> None:
    """Nothing.

    Parameters
    ----------
    a : int
    gone : float
        Removed long ago.
    """


def _procedure(a: int) -> None:
    """Nothing.

    Parameters
    ----------
    a : int
    """


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (_documented, []),
        (_procedure, []),
        (_undocumented_parameter, ["parameter(s) not documented: b"]),
        (_no_returns_section, ["returns a value but has no Returns (or Yields) section"]),
        (_no_parameters_section, ["no Parameters / Other Parameters section for parameter(s) a"]),
        (_stale_parameter, ["documents parameter(s) the signature does not have: gone"]),
        (lambda a: a, ["missing docstring"]),
    ],
)
def test_checker_flags_what_it_should(function: Callable[..., Any], expected: list[str]) -> None:
    assert _function_problems(function, is_method=False) == expected


def test_checker_reads_sections_and_dataclass_docs() -> None:
    doc = inspect.getdoc(_documented)
    assert documented_names(doc, _PARAMETER_SECTIONS) == {"a", "b", "args", "scale", "kwargs"}
    assert documented_names(doc, ("Attributes",)) is None
    assert set(docstring_sections(doc)) == {"Parameters", "Returns"}

    @dataclasses.dataclass
    class Undocumented:
        value: float

    assert _class_problems(Undocumented) == ["missing class docstring"]
