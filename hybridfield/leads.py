"""Lead names, views and the identities that tie the limb leads together.

One place for what every other module of hybridfield says about leads:

- names: the 12 standard leads in their canonical order (:data:`STANDARD_LEADS`), the limb
  leads, the independent leads, Frank's leads, and :func:`canonical_lead_name` (case and blanks);
- views: a view is a lead name or a ``(theta, phi)`` pair in radians (theta polar from +z, phi
  azimuth from +x towards +y). :func:`parse_views` checks a request and gives names, Nef-Net
  angles and the keys :func:`forward.lead_vectors` takes; :func:`view_label` names an angle
  pair in one format, ``"view(90,130)"`` (degrees), which :func:`parse_view_label` reads back;
- lead vectors of the default torso (BEM, built once per process: :func:`default_torso`,
  :func:`lead_vector_array`);
- limb identities (Einthoven: I + III = II; Goldberger: aVR = -(I + II) / 2 ...):
  :func:`input_combinations`, :func:`identity_weights`, :func:`limb_residual_directions` and
  the helpers that keep predicted limb leads consistent with one measured limb lead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from geometry.validation import as_finite_array

__all__ = [
    "STANDARD_LEADS",
    "LIMB_LEADS",
    "INDEPENDENT_LEADS",
    "FRANK_LEADS",
    "LIMB_IDENTITIES",
    "canonical_lead_name",
    "forward_lead_name",
    "lead_view_angles",
    "view_label",
    "parse_view_label",
    "parse_views",
    "default_torso",
    "lead_vector_array",
    "input_combinations",
    "identity_weights",
    "limb_plane_coordinates",
    "single_limb_input",
    "limb_residual_directions",
    "with_all_limb_leads",
    "distinct_views",
    "project_limb_residuals",
]

#: The standard 12 leads in their canonical spelling and conventional order.
STANDARD_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

#: The six limb leads, all combinations of I and II.
LIMB_LEADS: tuple[str, ...] = STANDARD_LEADS[:6]

#: The eight independent standard leads (the others are identities of I and II).
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

#: The Frank orthogonal leads (Frank frame: X to the subject's left, Y inferior, Z posterior).
FRANK_LEADS: tuple[str, ...] = ("X", "Y", "Z")

#: Limb leads defined from I and II (Einthoven, Goldberger): name -> {lead: weight}.
LIMB_IDENTITIES: dict[str, dict[str, float]] = {
    "III": {"II": 1.0, "I": -1.0},
    "aVR": {"I": -0.5, "II": -0.5},
    "aVL": {"I": 1.0, "II": -0.5},
    "aVF": {"II": 1.0, "I": -0.5},
}

_CANONICAL_BY_LOWER: dict[str, str] = {name.lower(): name for name in STANDARD_LEADS + FRANK_LEADS}
_CANONICAL_BY_LOWER.update({"vx": "X", "vy": "Y", "vz": "Z"})

_VIEW_LABEL = re.compile(r"^\s*view\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)\s*$")


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------
def canonical_lead_name(name: str) -> str:
    """Canonical spelling of a lead name.

    Parameters
    ----------
    name : str
        A lead name in any case, e.g. ``"avr"``, ``"AVR"``, ``" v1 "``, ``"vx"``.

    Returns
    -------
    canonical : str
        ``I, II, III, aVR, aVL, aVF, V1..V6`` for the standard leads, ``X, Y, Z`` for the Frank leads
        (``vx, vy, vz`` included); any other name stripped of surrounding blanks, case kept.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is empty or blank.
    """
    if not isinstance(name, str):
        raise TypeError(f"a lead name must be a str, got {type(name).__name__} {name!r}")
    stripped = name.strip()
    if not stripped:
        raise ValueError(f"a lead name must not be empty or blank, got {name!r}")
    return _CANONICAL_BY_LOWER.get(stripped.lower(), stripped)


def forward_lead_name(name: str) -> str:
    """The forward model's spelling of a lead name (case-insensitive look-up).

    Parameters
    ----------
    name : str
        Lead name, e.g. ``"v7"``, ``"AVR"``.

    Returns
    -------
    name : str
        As in :func:`forward.lead_names`.

    Raises
    ------
    ValueError
        For a name the forward model does not know.
    """
    from forward import lead_names

    lookup = {known.lower(): known for known in lead_names()}
    canonical = lookup.get(name.strip().lower())
    if canonical is None:
        raise ValueError(
            f"unknown lead name {name!r}; known leads: {', '.join(lead_names())} "
            "(or give a view as a (theta, phi) pair in radians)"
        )
    return canonical


def lead_view_angles(name: str) -> tuple[float, float]:
    """View angles of a named lead: Nef-Net's table angle, or its exploring electrode's direction.

    The 12 standard leads take Nef-Net's published angles (geometry.STANDARD_LEAD_ANGLES). Any
    other single-electrode lead referenced to the Wilson central terminal (V7-V9, V3R-V6R, high
    V1/V2, ...) looks from the heart centre towards its exploring electrode on the default torso,
    which is how Nef-Net derived its precordial angles from CT electrode positions.

    Parameters
    ----------
    name : str
        Lead name (case-insensitive).

    Returns
    -------
    theta, phi : float, radians
    """
    from forward import lead_definition
    from geometry import STANDARD_LEAD_ANGLES, electrode_positions

    standard = {key.lower(): key for key in STANDARD_LEAD_ANGLES}
    if name.strip().lower() in standard:
        theta, phi = STANDARD_LEAD_ANGLES[standard[name.strip().lower()]]
        return float(theta), float(phi)
    weights = lead_definition(forward_lead_name(name))
    exploring = [key for key, weight in weights.items() if weight > 0.5]
    others = [weight for key, weight in weights.items() if key not in exploring]
    if len(exploring) != 1 or not np.allclose(others, -1.0 / 3.0):
        raise ValueError(
            f"lead {name!r} is not a single-electrode (WCT-referenced) lead and has no view angle "
            f"(known for {', '.join(STANDARD_LEAD_ANGLES)} and unipolar leads); give its view as a "
            "(theta, phi) pair in radians"
        )
    system, electrode = exploring[0]
    torso = default_torso()
    theta, phi = torso.view_angles(electrode_positions(torso, system)[electrode])
    return float(theta), float(phi)


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------
def view_label(theta: float, phi: float) -> str:
    """The name of a ``(theta, phi)`` view: ``"view(90,130)"``, degrees, as many digits as needed.

    Parameters
    ----------
    theta, phi : float, radians

    Returns
    -------
    label : str
        Read back by :func:`parse_view_label`.
    """
    from geometry import view_to_degrees

    theta_degrees, phi_degrees = view_to_degrees(theta, phi)  # range checks with named errors
    return f"view({float(theta_degrees):g},{float(phi_degrees):g})"


def parse_view_label(label: str) -> tuple[float, float] | None:
    """The ``(theta, phi)`` radians of a label written by :func:`view_label`, or None for any other text.

    Parameters
    ----------
    label : str
        E.g. ``"view(90,130)"`` (degrees).

    Returns
    -------
    view : (float, float) radians, or None
    """
    from geometry import view_from_degrees

    match = _VIEW_LABEL.match(label)
    if match is None:
        return None
    theta, phi = view_from_degrees(float(match.group(1)), float(match.group(2)))
    return float(theta), float(phi)


def parse_views(views: Any, *, parameter: str = "views") -> tuple[list[str], np.ndarray, list[Any]]:
    """Check a request of views and give their names, Nef-Net angles and lead-vector keys.

    Parameters
    ----------
    views : sequence
        Lead names (any lead :func:`forward.lead_names` knows, case-insensitive) and/or
        ``(theta, phi)`` pairs in radians.
    parameter : str
        The caller's name of the argument, used in error messages.

    Returns
    -------
    names : list of str
        The forward model's spelling of each lead, :func:`view_label` of each angle pair.
    angles : (n_views, 2) float, radians
        Nef-Net's view of each: :func:`lead_view_angles` for names, the pair itself otherwise.
    keys : list
        Lead names and ``(theta, phi)`` tuples, as :func:`forward.lead_vectors` takes them.

    Raises
    ------
    ValueError
        For an empty or non-sequence request, an unknown lead name, a pair that is not two finite
        numbers, or angles out of range; the message names ``parameter[index]``.
    """
    if isinstance(views, str) or not isinstance(views, (Sequence, np.ndarray)) or len(views) == 0:
        raise ValueError(
            f"{parameter} must be a non-empty sequence of lead names or (theta, phi) pairs in radians, got {views!r}"
        )
    names: list[str] = []
    angles: list[tuple[float, float]] = []
    keys: list[Any] = []
    for index, view in enumerate(views):
        where = f"{parameter}[{index}]"
        if isinstance(view, str):
            try:
                name = forward_lead_name(view)
                angles.append(lead_view_angles(name))
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
            names.append(name)
            keys.append(name)
            continue
        pair = as_finite_array(view, where)
        if pair.shape != (2,):
            raise ValueError(f"{where} must be a lead name or a (theta, phi) pair in radians, got {view!r}")
        theta, phi = float(pair[0]), float(pair[1])
        try:
            label = view_label(theta, phi)
        except ValueError as error:
            raise ValueError(f"{where} = ({theta!r}, {phi!r}) is out of range: {error}") from None
        names.append(label)
        angles.append((theta, phi))
        keys.append((theta, phi))
    return names, np.array(angles, dtype=np.float64), keys


# ----------------------------------------------------------------------------------------------
# Lead vectors of the default torso
# ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def default_torso() -> Any:
    """:func:`geometry.default_torso`, built once per process (its BEM is cached on it).

    Returns
    -------
    torso : geometry.Torso
    """
    from geometry import default_torso as build_default_torso

    return build_default_torso()


# Lead vectors already computed, (key, sigma) -> (3,) read-only: a BEM lead field costs 20-80 ms
# per call, and records, panoramas and posteriors ask for the same leads and views again and again.
_LEAD_VECTORS: dict[tuple[Any, float | None], np.ndarray] = {}
_MAX_CACHED_LEAD_VECTORS = 4096  # random training views must not grow it without bound


def lead_vector_array(keys: Sequence[Any], *, sigma: float | None = None) -> np.ndarray:
    """Default-torso BEM lead vectors of lead names and ``(theta, phi)`` views, in request order.

    Each distinct key is computed once per process and conductivity, then served from memory.

    Parameters
    ----------
    keys : sequence
        Lead names and/or ``(theta, phi)`` pairs (radians); a key may repeat.
    sigma : float, optional
        Torso conductivity, S/m (default: :data:`forward.leads.DEFAULT_SIGMA`).

    Returns
    -------
    vectors : (n_keys, 3) float, mV per mA*m, body frame
    """
    from forward import lead_vectors

    # lead_vectors answers with a dict, one row per distinct view in order: ask for each once
    unique = list(dict.fromkeys(keys))
    missing = [key for key in unique if (key, sigma) not in _LEAD_VECTORS]
    if missing or not unique:  # no keys at all: the forward model's own error
        options = {} if sigma is None else {"sigma": sigma}
        rows = np.array(list(lead_vectors(default_torso(), missing, **options).values()))
        if len(rows) != len(missing):
            raise ValueError(f"views must name distinct lead vectors, got {list(keys)!r}")
        if len(_LEAD_VECTORS) + len(missing) > _MAX_CACHED_LEAD_VECTORS:
            _LEAD_VECTORS.clear()
        for key, row in zip(missing, rows):
            row.setflags(write=False)
            _LEAD_VECTORS[(key, sigma)] = row
    return np.array([_LEAD_VECTORS[(key, sigma)] for key in keys]).reshape(len(keys), 3)


# ----------------------------------------------------------------------------------------------
# Limb identities
# ----------------------------------------------------------------------------------------------
def input_combinations(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """Coefficients expressing each view *exactly* as a combination of the input leads, if it is one.

    Leads are defined on electrode potentials (forward.lead_definition), so some are identities of
    others whatever the torso: III = II - I, aVR = -(I + II) / 2, aVL = I - II / 2,
    aVF = II - I / 2 (Einthoven, Goldberger), and an input is itself. For those views the
    coefficients are exact; for every other view (precordial leads not among the inputs, arbitrary
    ``(theta, phi)`` views) they are 0.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    coefficients : (n_views, n_inputs) float
    """
    from forward import lead_definition

    definitions = [lead_definition(name) for name in inputs]
    keys = sorted({key for d in definitions for key in d})
    basis = np.array([[d.get(key, 0.0) for key in keys] for d in definitions]).T  # (n_keys, n_inputs)
    out = np.zeros((len(views), len(inputs)))
    for k, view in enumerate(views):
        if not isinstance(view, str):
            continue
        definition = lead_definition(view)
        if any(key not in keys for key in definition):
            continue
        target = np.array([definition.get(key, 0.0) for key in keys])
        coefficients, *_ = np.linalg.lstsq(basis, target, rcond=None)
        if np.linalg.norm(basis @ coefficients - target) < 1e-9:
            out[k] = coefficients
    return out


def limb_plane_coordinates(views: Sequence[Any]) -> np.ndarray:
    """Each view as ``a I + b II`` if it is a limb lead (Einthoven, Goldberger), else ``(0, 0)``.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.

    Returns
    -------
    coordinates : (n_views, 2) float
    """
    return input_combinations(views, ("I", "II"))


def single_limb_input(inputs: Sequence[str]) -> int | None:
    """Index of the only input in the limb plane, or None when the inputs hold none or two or more.

    Parameters
    ----------
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    index : int or None
    """
    in_plane = np.flatnonzero(np.abs(limb_plane_coordinates(inputs)).sum(axis=1) > 0)
    return int(in_plane[0]) if len(in_plane) == 1 else None


def identity_weights(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """Weights with which each view carries the inputs' non-dipolar part in the physical projection.

    The physical projection of a view is ``c_view . p + sum_k w_k (x_k - c_k . p)``: the fitted
    heart vector ``p`` through the view's lead vector, plus these weights times what the fit
    leaves of each measured input ``x_k``. The weights make the lead identities hold with the
    measured leads, whatever the fit:

    - a view that is a combination of the inputs (III = II - I, the augmented leads, an input
      itself) gets that combination (:func:`input_combinations`): it reproduces the measurement;
    - when the inputs hold exactly one limb lead ``m`` (II with V2 and V5, say), every other limb
      lead ``v`` gets ``w_m = c_v . c_m / |c_m|^2``. This is the smallest change of the heart
      vector that makes ``m`` exact (``p + c_m (x_m - c_m . p) / |c_m|^2``), and because the
      torso's lead vectors obey the same identities as the leads (``c_I + c_III = c_II``),
      Einthoven's (I + III = II) and Goldberger's identities then hold with the measured lead;
    - every other view (precordial leads, arbitrary ``(theta, phi)`` views) gets 0: nothing ties
      it to the inputs but the heart vector.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    weights : (n_views, n_inputs) float
    """
    weights = input_combinations(views, inputs)
    measured = single_limb_input(inputs)
    if measured is None:
        return weights
    partial = (np.abs(limb_plane_coordinates(views)).sum(axis=1) > 0) & ~weights.any(axis=1)
    if partial.any():
        view_vectors = lead_vector_array([views[k] for k in np.flatnonzero(partial)])
        measured_vector = lead_vector_array([inputs[measured]])[0]
        weights[partial, measured] = view_vectors @ measured_vector / (measured_vector @ measured_vector)
    return weights


def limb_residual_directions(views: Sequence[Any], inputs: Sequence[str]) -> np.ndarray:
    """How much of the limb plane's unmeasured direction each view holds (0 for most views).

    When the inputs hold exactly one limb lead ``m``, the limb plane (every limb lead is
    ``a I + b II``) has one direction the inputs do not fix, and each limb lead ``v`` is
    ``alpha_v m + beta_v u`` for any second direction ``u``. A residual that keeps the identities
    is ``beta_v rho(t)`` on every limb lead; ``beta_v`` is the 2-D cross product of ``m``'s and
    ``v``'s ``(a, b)`` coordinates (its scale is arbitrary). The measured lead gets 0.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    directions : (n_views,) float
        All 0 when the inputs hold no limb lead (no identity ties the limb leads to the inputs)
        or two (every limb lead is then exact).
    """
    measured = single_limb_input(inputs)
    if measured is None:
        return np.zeros(len(views))
    m = limb_plane_coordinates([inputs[measured]])[0]
    limb = limb_plane_coordinates(views)
    return m[0] * limb[:, 1] - m[1] * limb[:, 0]


def with_all_limb_leads(views: Sequence[Any], inputs: Sequence[str]) -> list[Any]:
    """``views``, followed by the six limb leads when the inputs hold exactly one limb lead, so the
    identity-keeping fit of the limb leads sees all six whichever were asked for.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Input lead names.

    Returns
    -------
    views : list
    """
    views = list(views)
    return [*views, *LIMB_LEADS] if limb_residual_directions(views, inputs).any() else views


def distinct_views(views: Sequence[Any]) -> np.ndarray:
    """The first of each distinct lead name (case-insensitive), so a lead asked for twice counts
    once in the limb fit; ``(theta, phi)`` views are False.

    Parameters
    ----------
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.

    Returns
    -------
    first : (n_views,) bool
    """
    keys = [canonical_lead_name(view) if isinstance(view, str) else None for view in views]
    return np.array([key is not None and keys.index(key) == k for k, key in enumerate(keys)], dtype=bool)


def project_limb_residuals(residual: np.ndarray, directions: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Project residuals onto the identity-keeping ones ``beta_v rho``.

    ``rho`` is the least-squares fit (equal weight per view) to the residuals of the views in
    ``basis`` (a bool mask, default every view with a nonzero direction). True residuals of real
    limb leads are of this form (the measured leads and the physical projection both keep the
    identities), so the projection can only shrink the summed squared error over those views.

    Parameters
    ----------
    residual : (..., n_views, n) float, mV
        Residuals (learned corrections, or draws minus a fit) of the views.
    directions : (n_views,) float
        :func:`limb_residual_directions` of the views.
    basis : (n_views,) bool, optional
        Views whose residuals determine ``rho`` (default: all with a nonzero direction).

    Returns
    -------
    projected : (..., n_views, n) float, mV
        ``residual`` with the limb views replaced by ``beta_v rho``.
    """
    basis = directions != 0 if basis is None else basis & (directions != 0)
    if not basis.any():
        return residual
    used = directions[basis]
    rho = np.einsum("v,...vt->...t", used, residual[..., basis, :]) / (used @ used)
    projected = residual.copy()
    limb = directions != 0
    projected[..., limb, :] = directions[limb, None] * rho[..., None, :]
    return projected
