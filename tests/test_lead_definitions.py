"""Tests of forward.lead_definitions: lead names, systems and electrode weights (no conductor)."""

from __future__ import annotations

import pytest

from forward.lead_definitions import LEAD_SYSTEMS, canonical_name, lead_definition, lead_names, unipolar_definition


def _combine(*terms: tuple[float, str]) -> dict[tuple[str, str], float]:
    """Electrode weights of sum(coefficient * lead), zeros dropped."""
    total: dict[tuple[str, str], float] = {}
    for coefficient, name in terms:
        for electrode, weight in lead_definition(name).items():
            total[electrode] = total.get(electrode, 0.0) + coefficient * weight
    return {electrode: weight for electrode, weight in total.items() if abs(weight) > 1e-12}


def test_every_system_lead_is_defined_and_every_lead_is_reference_free() -> None:
    names = set(lead_names())
    for system, leads in LEAD_SYSTEMS.items():
        assert set(leads) <= names, system
    for name in names:
        # a lead is a difference of potentials: adding a constant to every electrode changes nothing
        assert abs(sum(lead_definition(name).values())) < 1e-12, name


def test_einthoven_and_goldberger_at_the_electrodes() -> None:
    assert _combine((1.0, "I"), (1.0, "III"), (-1.0, "II")) == {}
    assert _combine((1.0, "aVR"), (1.0, "aVL"), (1.0, "aVF")) == {}
    assert _combine((1.0, "aVR"), (0.5, "I"), (0.5, "II")) == {}
    # the chest leads differ only in their exploring electrode: V1 - V2 has no WCT left
    assert _combine((1.0, "V1"), (-1.0, "V2")) == {("standard12", "V1"): 1.0, ("standard12", "V2"): -1.0}


def test_unipolar_definition_is_the_electrode_minus_wilsons_terminal() -> None:
    weights = unipolar_definition("view", "0")
    assert weights == {
        ("view", "0"): 1.0,
        ("standard12", "RA"): -1.0 / 3.0,
        ("standard12", "LA"): -1.0 / 3.0,
        ("standard12", "LL"): -1.0 / 3.0,
    }
    assert unipolar_definition("standard12", "V4") == lead_definition("V4")


def test_names_are_case_insensitive_and_unknown_names_are_refused() -> None:
    assert canonical_name("avr") == canonical_name("AVR") == "aVR"
    assert canonical_name("v3r") == "V3R"
    with pytest.raises(ValueError, match="unknown lead name 'V10'.*known leads: I, II"):
        canonical_name("V10")
    with pytest.raises(TypeError, match="lead names must be strings, got int 4"):
        canonical_name(4)  # type: ignore[arg-type]


def test_definitions_are_copies() -> None:
    weights = lead_definition("II")
    weights[("standard12", "LL")] = 99.0
    assert lead_definition("II")[("standard12", "LL")] == 1.0
