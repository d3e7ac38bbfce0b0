"""Electrode placement on a torso surface by anatomical rules or from user positions.

Positions are metres in the torso mesh's coordinates (the body frame for the default torso:
x anterior, y the subject's left, z superior). Every rule places an electrode by casting a ray
against the mesh or projecting onto it, guided by ``torso.landmarks``, so the same rules work on
loaded meshes with estimated landmarks. Every returned position lies on the surface.

Ray rules used below (landmark names from :class:`~geometry.torso.TorsoLandmarks`):

- *anterior point at (y, z)*: a ray from far in front travelling in -x; its first hit;
- *posterior point at (y, z)*: a ray from far behind travelling in +x; its first hit;
- *azimuthal point at (azimuth, z)*: a horizontal ray from the trunk axis
  ``(axis_x, midline_y, z)`` at the azimuth (from +x towards +y) where it leaves the surface.
  Lines: anterior axillary 60 deg, midaxillary 90 deg, posterior axillary 120 deg (negated on
  the right).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .validation import as_vector3
from .torso import Torso

__all__ = [
    "ELECTRODE_SYSTEMS",
    "ElectrodePositions",
    "electrode_positions",
    "project_to_surface",
]

#: Electrode systems placed by :func:`electrode_positions`.
ELECTRODE_SYSTEMS: tuple[str, ...] = ("standard12", "frank", "posterior", "right", "high", "easi", "grid")

_ANTERIOR_AXILLARY_AZIMUTH = math.radians(60.0)
_MIDAXILLARY_AZIMUTH = math.radians(90.0)
_POSTERIOR_AXILLARY_AZIMUTH = math.radians(120.0)
_FRANK_C_AZIMUTH = math.radians(45.0)
_LIMB_ELECTRODE_LATERAL_FACTOR = 1.2  # Mason-Likar RA/LA: slightly lateral of the midclavicular line
_MIDSCAPULAR_LATERAL_FACTOR = 1.0  # V8: midscapular line, as far from the spine as the midclavicular line
_PARASPINAL_LATERAL_FACTOR = 0.4  # V9: left paraspinal border, about 0.037 m from the spine
_WARN_DISPLACEMENT = 0.02  # metres
_MAX_LISTED = 12


class ElectrodePositions(dict):
    """Electrode name -> (3,) position on the torso surface, metres.

    Parameters
    ----------
    positions : Mapping[str, (3,) array_like], metres
        Electrode positions.
    system : str
        The placement system (one of ``ELECTRODE_SYSTEMS`` or ``"custom"``).
    displacement : Mapping[str, float], metres, optional
        How far each electrode was moved onto the surface (0 for rule-placed electrodes; the
        projection distance for user positions). Missing names count as 0.

    Attributes
    ----------
    system : str
    displacement : dict[str, float], metres
    """

    def __init__(self, positions: Mapping[str, Any], *, system: str, displacement: Mapping[str, float] | None = None) -> None:
        super().__init__()
        if not isinstance(system, str):
            raise TypeError(f"system must be a str, got {type(system).__name__} {system!r}")
        for name, position in positions.items():
            if not isinstance(name, str):
                raise TypeError(f"electrode names must be str, got {type(name).__name__} {name!r}")
            self[name] = as_vector3(position, f"positions[{name!r}]").copy()
        displacement = {} if displacement is None else dict(displacement)
        unknown = set(displacement) - set(self)
        if unknown:
            raise ValueError(f"displacement names electrodes that are not placed: {sorted(unknown)}")
        self.system = system
        self.displacement = {name: float(displacement.get(name, 0.0)) for name in self}

    @property
    def names(self) -> list[str]:
        """Electrode names in placement order."""
        return list(self)

    def as_array(self, names: Iterable[str] | None = None) -> np.ndarray:
        """Positions stacked in the order of ``names``.

        Parameters
        ----------
        names : iterable of str, optional
            Electrodes to stack (default: all, in placement order).

        Returns
        -------
        positions : (n, 3) ndarray of float64, metres
        """
        selected = list(self) if names is None else list(names)
        missing = [name for name in selected if name not in self]
        if missing:
            raise KeyError(f"names contains electrode(s) {missing} not in this set; known: {', '.join(self)}")
        if not selected:
            return np.zeros((0, 3))
        return np.stack([self[name] for name in selected])

    def __repr__(self) -> str:
        largest = max(self.displacement.values(), default=0.0)
        lines = [f"<ElectrodePositions {self.system!r} | {len(self)} electrodes, metres, max displacement {largest:.3g} m"]
        width = max((len(name) for name in self), default=0)
        for index, (name, position) in enumerate(self.items()):
            if index == _MAX_LISTED:
                lines.append(f"  ... {len(self) - _MAX_LISTED} more")
                break
            x, y, z = (float(v) + 0.0 for v in position)
            lines.append(f"  {name:<{width}}  ({x:+.4f}, {y:+.4f}, {z:+.4f})")
        return "\n".join(lines) + ">"


class _Placer:
    """Ray-cast placements on one torso, naming the electrode in any error."""

    def __init__(self, torso: Torso) -> None:
        self.torso = torso
        self.landmarks = torso.landmarks
        low, high = np.asarray(torso.mesh.bounds, dtype=np.float64)
        self.margin = float(np.max(high - low)) + 0.1
        self.low, self.high = low, high

    def ray(self, name: str, origin: Any, direction: Any, rule: str) -> np.ndarray:
        points, hit = self.torso.cast_rays(np.asarray(origin, dtype=np.float64), np.asarray(direction, dtype=np.float64))
        if not hit[0]:
            raise ValueError(
                f"cannot place electrode {name!r} ({rule}) on torso {self.torso.name!r}: the ray from "
                f"{np.round(origin, 4).tolist()} m along {np.round(direction, 4).tolist()} misses the surface; "
                "the torso's landmarks may not fit this mesh (pass landmarks= to load_torso)"
            )
        return points[0]

    def anterior(self, name: str, y: float, z: float) -> np.ndarray:
        origin = (self.high[0] + self.margin, y, z)
        return self.ray(name, origin, (-1.0, 0.0, 0.0), f"anterior surface at y={y:.4f}, z={z:.4f} m")

    def posterior(self, name: str, y: float, z: float) -> np.ndarray:
        origin = (self.low[0] - self.margin, y, z)
        return self.ray(name, origin, (1.0, 0.0, 0.0), f"posterior surface at y={y:.4f}, z={z:.4f} m")

    def azimuthal(self, name: str, azimuth: float, z: float) -> np.ndarray:
        origin = (self.landmarks.axis_x, self.landmarks.midline_y, z)
        direction = (math.cos(azimuth), math.sin(azimuth), 0.0)
        return self.ray(name, origin, direction, f"azimuth {math.degrees(azimuth):.0f} deg from the trunk axis at z={z:.4f} m")

    def closest(self, point: np.ndarray) -> np.ndarray:
        projected, _ = self.torso.project(point)
        return projected[0]


def _standard12(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    mid, spacing = marks.midline_y, marks.intercostal_spacing
    arm_z = marks.clavicle_z - spacing
    arm_y = _LIMB_ELECTRODE_LATERAL_FACTOR * marks.midclavicular_offset
    leg_z = 0.5 * (marks.costal_margin_z + marks.iliac_crest_z)
    ics4, ics5 = marks.intercostal_z[4], marks.intercostal_z[5]
    v2 = place.anterior("V2", mid + marks.sternal_border_offset, ics4)
    v4 = place.anterior("V4", mid + marks.midclavicular_offset, ics5)
    return {
        "RA": place.anterior("RA", mid - arm_y, arm_z),
        "LA": place.anterior("LA", mid + arm_y, arm_z),
        "LL": place.azimuthal("LL", _ANTERIOR_AXILLARY_AZIMUTH, leg_z),
        "RL": place.azimuthal("RL", -_ANTERIOR_AXILLARY_AZIMUTH, leg_z),
        "V1": place.anterior("V1", mid - marks.sternal_border_offset, ics4),
        "V2": v2,
        "V3": place.closest(0.5 * (v2 + v4)),
        "V4": v4,
        "V5": place.azimuthal("V5", _ANTERIOR_AXILLARY_AZIMUTH, v4[2]),
        "V6": place.azimuthal("V6", _MIDAXILLARY_AZIMUTH, v4[2]),
    }


def _frank(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    z = marks.intercostal_z[5]
    diagonal = math.sqrt(0.5)
    neck_origin = (marks.axis_x, marks.midline_y, marks.sternal_notch_z)
    hip_z = marks.iliac_crest_z + (2.0 / 3.0) * (place.low[2] - marks.iliac_crest_z)
    return {
        "A": place.azimuthal("A", _MIDAXILLARY_AZIMUTH, z),
        "C": place.azimuthal("C", _FRANK_C_AZIMUTH, z),
        "E": place.anterior("E", marks.midline_y, z),
        "I": place.azimuthal("I", -_MIDAXILLARY_AZIMUTH, z),
        "M": place.posterior("M", marks.midline_y, z),
        "H": place.ray("H", neck_origin, (-diagonal, 0.0, diagonal), "back of the neck"),
        "F": place.azimuthal("F", _ANTERIOR_AXILLARY_AZIMUTH, hip_z),
    }


def _posterior(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    z = marks.intercostal_z[5]  # V6's level (V4's: 5th intercostal space)
    return {
        "V7": place.azimuthal("V7", _POSTERIOR_AXILLARY_AZIMUTH, z),
        "V8": place.posterior("V8", marks.midline_y + _MIDSCAPULAR_LATERAL_FACTOR * marks.midclavicular_offset, z),
        "V9": place.posterior("V9", marks.midline_y + _PARASPINAL_LATERAL_FACTOR * marks.midclavicular_offset, z),
    }


def _right(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    mid = marks.midline_y
    v2_mirror = place.anterior("V3R", mid - marks.sternal_border_offset, marks.intercostal_z[4])
    v4r = place.anterior("V4R", mid - marks.midclavicular_offset, marks.intercostal_z[5])
    return {
        "V3R": place.closest(0.5 * (v2_mirror + v4r)),
        "V4R": v4r,
        "V5R": place.azimuthal("V5R", -_ANTERIOR_AXILLARY_AZIMUTH, v4r[2]),
        "V6R": place.azimuthal("V6R", -_MIDAXILLARY_AZIMUTH, v4r[2]),
    }


def _high(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    mid, border = marks.midline_y, marks.sternal_border_offset
    positions = {}
    for space in (2, 3):
        z = marks.intercostal_z[space]
        positions[f"V1_ICS{space}"] = place.anterior(f"V1_ICS{space}", mid - border, z)
        positions[f"V2_ICS{space}"] = place.anterior(f"V2_ICS{space}", mid + border, z)
    return positions


def _easi(place: _Placer) -> dict[str, np.ndarray]:
    marks = place.landmarks
    e = place.anterior("E", marks.midline_y, marks.intercostal_z[5])
    manubrium_z = 0.5 * (marks.sternal_notch_z + marks.intercostal_z[1])
    return {
        "E": e,
        "A": place.azimuthal("A", _MIDAXILLARY_AZIMUTH, e[2]),
        "S": place.anterior("S", marks.midline_y, manubrium_z),
        "I": place.azimuthal("I", -_MIDAXILLARY_AZIMUTH, e[2]),
    }


def _count_option(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _grid(place: _Placer, rows: int, columns: int) -> dict[str, np.ndarray]:
    marks = place.landmarks
    heights = np.linspace(marks.clavicle_z, marks.costal_margin_z, rows) if rows > 1 else np.array(
        [0.5 * (marks.clavicle_z + marks.costal_margin_z)]
    )
    azimuths = np.angle(np.exp(2j * np.pi * np.arange(columns) / columns))
    row_index, column_index = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
    row_index, column_index = row_index.ravel(), column_index.ravel()
    origins = np.column_stack([
        np.full(row_index.size, marks.axis_x), np.full(row_index.size, marks.midline_y), heights[row_index]
    ])
    directions = np.column_stack([np.cos(azimuths[column_index]), np.sin(azimuths[column_index]), np.zeros(row_index.size)])
    points, hit = place.torso.cast_rays(origins, directions)
    names = [f"G{r:02d}_{c:02d}" for r, c in zip(row_index, column_index)]
    if not np.all(hit):
        missed = [name for name, ok in zip(names, hit) if not ok]
        raise ValueError(
            f"cannot place grid electrode(s) {missed[:5]}{'...' if len(missed) > 5 else ''} on torso "
            f"{place.torso.name!r}: horizontal rays from the trunk axis miss the surface"
        )
    return dict(zip(names, points))


_RULES = {
    "standard12": _standard12,
    "frank": _frank,
    "posterior": _posterior,
    "right": _right,
    "high": _high,
    "easi": _easi,
}


def electrode_positions(torso: Torso, system: str | Mapping[str, Any], **options: Any) -> ElectrodePositions:
    """Place an electrode system on a torso surface.

    Parameters
    ----------
    torso : Torso
        The torso; its ``landmarks`` guide the rules.
    system : str or Mapping[str, (3,) array_like]
        One of ``ELECTRODE_SYSTEMS``, or user positions ``name -> (3,) point`` (metres, mesh
        coordinates), which are projected onto the surface (system ``"custom"``); a
        ``UserWarning`` names those moved by more than 0.02 m.

        - ``"standard12"``: RA, LA (Mason-Likar: infraclavicular fossae, one intercostal spacing
          below the clavicle, 1.2 x the midclavicular offset from the midline); LL, RL
          (Mason-Likar: anterior axillary lines midway between costal margin and iliac crest);
          V1, V2 (4th intercostal space, right/left sternal border); V4 (5th space, left
          midclavicular line); V3 (midpoint of V2 and V4 projected onto the surface); V5, V6
          (anterior axillary and midaxillary lines at V4's height).
        - ``"frank"``: A, C (45 deg between E and A), E (sternal midline), I, M (spine) at the
          5th intercostal space; H (back of the neck: where a ray from the trunk axis at the
          sternal notch rising at 45 deg towards the back leaves the surface); F (left hip: the
          left anterior axillary azimuth, two thirds of the way from the iliac crest down to the
          bottom of the mesh).
        - ``"posterior"``: V7 (left posterior axillary line), V8 (left midscapular line, as far
          from the spine as the midclavicular line), V9 (left paraspinal border, 0.4 x that
          distance) at V6's height, the last two by rays from behind.
        - ``"right"``: V3R..V6R, the rules of V3..V6 mirrored about the midline.
        - ``"high"``: V1_ICS2, V2_ICS2, V1_ICS3, V2_ICS3 (V1/V2 rules in the 2nd/3rd spaces).
        - ``"easi"``: E (sternum, 5th space), A, I (left/right midaxillary at E's height),
          S (manubrium: midway between sternal notch and 1st intercostal space).
        - ``"grid"``: ``rows`` x ``columns`` electrodes ``"G{row:02d}_{col:02d}"``; rows equally
          spaced from the clavicle (row 0) down to the costal margin, columns at equal azimuths
          around the trunk axis starting at the anterior midline (column 0) towards the left.
    **options
        Only for ``"grid"``: ``rows`` (int, default 8) and ``columns`` (int, default 16).

    Returns
    -------
    positions : ElectrodePositions
        Name -> (3,) surface point, metres, with ``system`` and ``displacement`` (metres).

    Raises
    ------
    ValueError
        For an unknown system (the message lists the valid ones), bad user positions, or a rule
        whose ray misses the mesh (the message names the electrode).
    TypeError
        For options a system does not take.
    """
    if not isinstance(torso, Torso):
        raise TypeError(f"torso must be a Torso (see default_torso, load_torso), got {type(torso).__name__}")
    if isinstance(system, Mapping):
        if options:
            raise TypeError(f"electrode_positions takes no options for user positions, got {sorted(options)}")
        return _user_positions(torso, system)
    if not isinstance(system, str) or system not in ELECTRODE_SYSTEMS:
        raise ValueError(
            f"system must be one of {', '.join(ELECTRODE_SYSTEMS)} or a mapping name -> (3,) position in metres, got {system!r}"
        )
    place = _Placer(torso)
    if system == "grid":
        unknown = set(options) - {"rows", "columns"}
        if unknown:
            raise TypeError(f"system 'grid' takes options rows and columns, got unexpected {sorted(unknown)}")
        rows = _count_option(options.get("rows", 8), "rows")
        columns = _count_option(options.get("columns", 16), "columns")
        positions = _grid(place, rows, columns)
    else:
        if options:
            raise TypeError(f"system {system!r} takes no options, got {sorted(options)} (only 'grid' takes rows, columns)")
        positions = _RULES[system](place)
    return ElectrodePositions(positions, system=system)


def _user_positions(torso: Torso, system: Mapping[str, Any]) -> ElectrodePositions:
    if not system:
        raise ValueError("system must name at least one electrode when given as a mapping, got an empty mapping")
    names = list(system)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"system keys must be electrode names (str), got {type(name).__name__} {name!r}")
    points = np.stack([as_vector3(system[name], f"system[{name!r}]") for name in names])
    projected, displacement = torso.project(points)
    far = {name: float(d) for name, d in zip(names, displacement) if d > _WARN_DISPLACEMENT}
    if far:
        listed = ", ".join(f"{name} {d * 1000:.1f} mm" for name, d in far.items())
        warnings.warn(
            f"{len(far)} electrode position(s) were more than {_WARN_DISPLACEMENT * 1000:.0f} mm off the surface of "
            f"torso {torso.name!r} and were projected onto it: {listed}",
            UserWarning,
            stacklevel=3,
        )
    return ElectrodePositions(
        dict(zip(names, projected)), system="custom", displacement=dict(zip(names, displacement.tolist()))
    )


def project_to_surface(torso: Torso, positions: Any) -> tuple[np.ndarray, np.ndarray]:
    """Project points onto the torso surface (nearest surface points).

    Parameters
    ----------
    torso : Torso
    positions : (n, 3) or (3,) array_like, metres

    Returns
    -------
    projected : (n, 3) ndarray of float64, metres
    displacement : (n,) ndarray of float64, metres
        Distance each point moved.
    """
    if not isinstance(torso, Torso):
        raise TypeError(f"torso must be a Torso, got {type(torso).__name__}")
    return torso.project(positions)
