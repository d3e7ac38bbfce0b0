"""Leads as linear combinations of electrode potentials: names, systems and electrode weights.

Pure data, no volume conductor: what :mod:`forward.leads` turns into lead vectors, and what any
code that only needs to know or spell a lead name can import without loading the BEM, Numba or
trimesh.

Definitions (LEADS.md): WCT = (RA + LA + LL) / 3; I = LA - RA, II = LL - RA, III = LL - LA;
aVR = RA - (LA + LL) / 2 and cyclically; Vk = phi(Vk) - WCT (also V7..V9, V3R..V6R and the high
V1/V2); Frank (1956) X = 0.610 A + 0.171 C - 0.781 I, Y = 0.655 F + 0.345 M - 1.000 H,
Z = 0.133 A + 0.736 M - 0.264 I - 0.374 E - 0.231 C (Frank's frame: X left, Y inferior,
Z posterior); EASI (Dower 1988) ES = E - S, AS = A - S, AI = A - I.
"""

from __future__ import annotations

__all__ = ["LEAD_SYSTEMS", "canonical_name", "lead_definition", "lead_names", "unipolar_definition"]

LEAD_SYSTEMS: dict[str, tuple[str, ...]] = {
    "standard12": ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"),
    "frank": ("X", "Y", "Z"),
    "posterior": ("V7", "V8", "V9"),
    "right": ("V3R", "V4R", "V5R", "V6R"),
    "high": ("V1_ICS2", "V2_ICS2", "V1_ICS3", "V2_ICS3"),
    "easi": ("ES", "AS", "AI"),
}
"""Named lead systems and the leads each one yields."""

_WCT = {("standard12", "RA"): -1.0 / 3.0, ("standard12", "LA"): -1.0 / 3.0, ("standard12", "LL"): -1.0 / 3.0}


def unipolar_definition(system: str, electrode: str) -> dict[tuple[str, str], float]:
    """Electrode weights of a unipolar lead: one electrode minus Wilson's central terminal.

    Parameters
    ----------
    system : str
        Electrode system of the exploring electrode (``"standard12"``, ``"posterior"``... or any
        label the caller uses for a point of its own, such as a view's surface point).
    electrode : str
        Its name in that system.

    Returns
    -------
    weights : dict[(system, electrode), float]
        ``+1`` on the electrode, ``-1/3`` on each of RA, LA and LL of the standard system.
    """
    weights = dict(_WCT)
    weights[(system, electrode)] = weights.get((system, electrode), 0.0) + 1.0
    return weights


def _build_definitions() -> dict[str, dict[tuple[str, str], float]]:
    s = "standard12"
    definitions: dict[str, dict[tuple[str, str], float]] = {
        "I": {(s, "LA"): 1.0, (s, "RA"): -1.0},
        "II": {(s, "LL"): 1.0, (s, "RA"): -1.0},
        "III": {(s, "LL"): 1.0, (s, "LA"): -1.0},
        "aVR": {(s, "RA"): 1.0, (s, "LA"): -0.5, (s, "LL"): -0.5},
        "aVL": {(s, "LA"): 1.0, (s, "RA"): -0.5, (s, "LL"): -0.5},
        "aVF": {(s, "LL"): 1.0, (s, "RA"): -0.5, (s, "LA"): -0.5},
        "X": {("frank", "A"): 0.610, ("frank", "C"): 0.171, ("frank", "I"): -0.781},
        "Y": {("frank", "F"): 0.655, ("frank", "M"): 0.345, ("frank", "H"): -1.000},
        "Z": {
            ("frank", "A"): 0.133,
            ("frank", "M"): 0.736,
            ("frank", "I"): -0.264,
            ("frank", "E"): -0.374,
            ("frank", "C"): -0.231,
        },
        "ES": {("easi", "E"): 1.0, ("easi", "S"): -1.0},
        "AS": {("easi", "A"): 1.0, ("easi", "S"): -1.0},
        "AI": {("easi", "A"): 1.0, ("easi", "I"): -1.0},
    }
    for name in ("V1", "V2", "V3", "V4", "V5", "V6"):
        definitions[name] = unipolar_definition(s, name)
    for system in ("posterior", "right", "high"):
        for name in LEAD_SYSTEMS[system]:
            definitions[name] = unipolar_definition(system, name)
    return definitions


_DEFINITIONS = _build_definitions()
_CANONICAL = {name.lower(): name for name in _DEFINITIONS}


def lead_names() -> tuple[str, ...]:
    """All lead names that :func:`lead_definition` knows.

    Returns
    -------
    names : tuple of str
    """
    return tuple(_DEFINITIONS)


def canonical_name(name: str) -> str:
    """The spelling :func:`lead_names` uses for a lead name (case-insensitive look-up).

    Parameters
    ----------
    name : str
        Lead name, any case (aVR, AVR and avr alike).

    Returns
    -------
    name : str

    Raises
    ------
    TypeError
        For a name that is not a string.
    ValueError
        For a name no lead system defines; the message lists the known leads.
    """
    if not isinstance(name, str):
        raise TypeError(f"lead names must be strings, got {type(name).__name__} {name!r}")
    try:
        return _CANONICAL[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown lead name {name!r}; known leads: {', '.join(_DEFINITIONS)} "
            "(or a view given as a (theta, phi) pair in radians)"
        ) from None


def lead_definition(name: str) -> dict[tuple[str, str], float]:
    """Electrode weights of a named lead.

    Parameters
    ----------
    name : str
        Lead name, case-insensitive (aVR, AVR and avr alike).

    Returns
    -------
    weights : dict[(system, electrode), float]
        The lead is sum(weight * potential(electrode of system)).
    """
    return dict(_DEFINITIONS[canonical_name(name)])
