"""View angles of the Electrocardio Panorama: tables and conversions.

Frame and convention (see ``shared/reference/LEADS.md``): body frame with origin at the heart's
electrical centre, x anterior, y the subject's left, z superior. A view is ``(theta, phi)`` in
radians: ``theta`` is the polar angle from +z (0 at the head, pi at the feet) and ``phi`` the
azimuth from +x towards +y (0 at the sternal midline, negative to the subject's right). Its unit
direction is ``u = (sin(theta) cos(phi), sin(theta) sin(phi), cos(theta))``.

Degrees appear only in the tables and helpers whose names say so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .validation import as_finite_array, as_points, as_vector3, broadcast_pair

__all__ = [
    "STANDARD_LEAD_ANGLES",
    "PANOBENCH_ANGLES_DEGREES",
    "REVIEW_VIEWS_DEGREES",
    "direction_from_angles",
    "angles_from_direction",
    "angles_from_positions",
    "view_from_degrees",
    "view_to_degrees",
    "lead_view",
    "UnknownLeadError",
]

_PI = math.pi
_ANGLE_TOLERANCE = 1e-12  # radians tolerated outside [0, pi] and [-pi, pi]
_ZERO_LENGTH = 1e-15  # metres (or direction units): shorter vectors have no direction

#: Standard 12-lead view angles used by Nef-Net (Chen et al., IJCAI 2021), radians,
#: ``name -> (theta, phi)``. aVF sits on the pole (theta = pi), where phi has no meaning.
STANDARD_LEAD_ANGLES: dict[str, tuple[float, float]] = {
    "I": (_PI / 2, _PI / 2),
    "II": (5 * _PI / 6, _PI / 2),
    "III": (5 * _PI / 6, -_PI / 2),
    "aVR": (_PI / 3, -_PI / 2),
    "aVL": (_PI / 3, _PI / 2),
    "aVF": (_PI, _PI / 2),
    "V1": (_PI / 2, -_PI / 18),
    "V2": (_PI / 2, _PI / 18),
    "V3": (19 * _PI / 36, _PI / 12),
    "V4": (11 * _PI / 20, _PI / 6),
    "V5": (8 * _PI / 15, _PI / 3),
    "V6": (8 * _PI / 15, _PI / 2),
}

#: Panobench (Nef-Net+, Zhan et al. 2025) 42 body-surface electrode views, degrees,
#: ``electrode number -> (theta_degrees, phi_degrees)``.
PANOBENCH_ANGLES_DEGREES: dict[int, tuple[float, float]] = {
    1: (106.0, -102.0), 2: (121.0, -101.0), 3: (132.0, -99.0), 4: (52.0, -83.0),
    5: (68.0, -78.0), 6: (90.0, -74.0), 7: (109.0, -75.0), 8: (125.0, -77.0),
    9: (137.0, -81.0), 10: (43.0, -74.0), 11: (63.0, -61.0), 12: (90.0, -54.0),
    13: (113.0, -55.0), 14: (131.0, -62.0), 15: (144.0, -70.0), 16: (30.0, -73.0),
    17: (54.0, -51.0), 18: (90.0, -33.0), 19: (118.0, -40.0), 20: (137.0, -54.0),
    21: (149.0, -64.0), 22: (20.0, 70.0), 23: (48.0, 42.0), 24: (90.0, 11.0),
    25: (122.0, 32.0), 26: (141.0, 51.0), 27: (153.0, 63.0), 28: (30.0, 69.0),
    29: (54.0, 48.0), 30: (90.0, 32.0), 31: (119.0, 41.0), 32: (139.0, 55.0),
    33: (152.0, 67.0), 34: (40.0, 80.0), 35: (60.0, 71.0), 36: (90.0, 65.0),
    37: (117.0, 66.0), 38: (135.0, 69.0), 39: (147.0, 77.0), 40: (112.0, 105.0),
    41: (129.0, 103.0), 42: (140.0, 100.0),
}

#: Views named in the clinical Electrocardio Panorama review (Zhan, Chen, Chen 2025), degrees,
#: ``name -> (theta_degrees, phi_degrees)``.
REVIEW_VIEWS_DEGREES: dict[str, tuple[float, float]] = {
    "V1_LBBB": (90.0, -10.0),
    "V1_RBBB": (90.0, 10.0),
    "V6_review": (96.0, 0.0),
    "nonstandard_1": (90.0, 130.0),
    "nonstandard_2": (132.0, -99.0),
    "nonstandard_3": (140.0, 100.0),
}


def _first_offender(array: np.ndarray, bad: np.ndarray) -> float:
    return float(np.asarray(array)[bad].ravel()[0])


def _checked_angle(value: Any, name: str, low: float, high: float, unit: str) -> np.ndarray:
    """Return ``value`` as a finite float array within [low, high] (tolerance 1e-12), clipped."""
    array = as_finite_array(value, name)
    tolerance = _ANGLE_TOLERANCE if unit == "radians" else math.degrees(_ANGLE_TOLERANCE)
    bad = (array < low - tolerance) | (array > high + tolerance)
    if np.any(bad):
        labels = {0.0: "0", _PI: "pi", -_PI: "-pi"} if unit == "radians" else {}
        interval = f"[{labels.get(low, f'{low:g}')}, {labels.get(high, f'{high:g}')}]"
        raise ValueError(
            f"{name} must lie in {interval} {unit}, got {_first_offender(array, bad)!r}"
            + (f" ({int(np.count_nonzero(bad))} value(s) out of range)" if array.size > 1 else "")
        )
    return np.clip(array, low, high)


def _scalar_or_array(array: np.ndarray) -> float | np.ndarray:
    return float(array) if array.ndim == 0 else array


def direction_from_angles(theta: Any, phi: Any) -> np.ndarray:
    """Unit view directions ``u(theta, phi)``.

    Parameters
    ----------
    theta : float or array_like, radians
        Polar angle from +z, in [0, pi].
    phi : float or array_like, radians
        Azimuth from +x towards +y, in [-pi, pi]. Broadcast against ``theta``.

    Returns
    -------
    directions : (..., 3) ndarray of float64
        ``(sin theta cos phi, sin theta sin phi, cos theta)``; shape ``(3,)`` for scalar inputs,
        otherwise the broadcast shape of ``theta`` and ``phi`` followed by 3.

    Raises
    ------
    ValueError
        If an angle is NaN/infinite or out of range (the message names the parameter and value),
        or the shapes do not broadcast.
    """
    theta_array = _checked_angle(theta, "theta", 0.0, _PI, "radians")
    phi_array = _checked_angle(phi, "phi", -_PI, _PI, "radians")
    theta_array, phi_array = broadcast_pair(
        theta_array, phi_array, "theta and phi must broadcast together, got shapes {} and {}"
    )
    sin_theta = np.sin(theta_array)
    return np.stack(
        [sin_theta * np.cos(phi_array), sin_theta * np.sin(phi_array), np.cos(theta_array)], axis=-1
    )


def angles_from_direction(directions: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    """View angles of direction vectors (any length, normalised here).

    Parameters
    ----------
    directions : (n, 3) or (3,) array_like
        Direction vectors in the body frame.

    Returns
    -------
    theta : float or (n,) ndarray, radians
        Polar angle from +z, in [0, pi].
    phi : float or (n,) ndarray, radians
        Azimuth from +x towards +y, in [-pi, pi]. On the poles (a direction along +z or -z, to
        1e-12 relative), phi is undefined and returned as 0 by convention.

    Raises
    ------
    ValueError
        If a direction is NaN/infinite, has the wrong shape, or is (nearly, < 1e-15) zero.
    """
    array = as_finite_array(directions, "directions")
    single = array.ndim == 1
    vectors = as_points(array, "directions")
    length = np.linalg.norm(vectors, axis=1)
    zero = length <= _ZERO_LENGTH
    if np.any(zero):
        index = int(np.flatnonzero(zero)[0])
        raise ValueError(
            f"directions must be non-zero vectors, got {vectors[index].tolist()} at index {index}"
        )
    horizontal = np.hypot(vectors[:, 0], vectors[:, 1])
    theta = np.arctan2(horizontal, vectors[:, 2])
    phi = np.arctan2(vectors[:, 1], vectors[:, 0])
    phi = np.where(horizontal <= 1e-12 * length, 0.0, phi)
    if single:
        return float(theta[0]), float(phi[0])
    return theta, phi


def angles_from_positions(positions: Any, center: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    """View angles of positions seen from a centre (normally the heart's electrical centre).

    Parameters
    ----------
    positions : (n, 3) or (3,) array_like, metres
        Points in the body frame.
    center : (3,) array_like, metres
        The centre the angles are measured about.

    Returns
    -------
    theta, phi : float or (n,) ndarray, radians
        As :func:`angles_from_direction` of ``positions - center`` (phi = 0 on the poles).
    """
    array = as_finite_array(positions, "positions")
    points = as_points(array, "positions")
    origin = as_vector3(center, "center")
    offsets = points - origin
    length = np.linalg.norm(offsets, axis=1)
    if np.any(length <= _ZERO_LENGTH):
        index = int(np.flatnonzero(length <= _ZERO_LENGTH)[0])
        raise ValueError(
            f"positions must differ from center {origin.tolist()}, got {points[index].tolist()} at index {index}"
        )
    return angles_from_direction(offsets[0] if array.ndim == 1 else offsets)


def view_from_degrees(theta_degrees: Any, phi_degrees: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Convert a view from degrees to radians.

    Parameters
    ----------
    theta_degrees : float or array_like, degrees
        Polar angle from +z, in [0, 180].
    phi_degrees : float or array_like, degrees
        Azimuth from +x towards +y, in [-180, 180].

    Returns
    -------
    theta, phi : float or ndarray, radians
    """
    theta = _checked_angle(theta_degrees, "theta_degrees", 0.0, 180.0, "degrees")
    phi = _checked_angle(phi_degrees, "phi_degrees", -180.0, 180.0, "degrees")
    return _scalar_or_array(np.radians(theta)), _scalar_or_array(np.radians(phi))


def view_to_degrees(theta: Any, phi: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Convert a view from radians to degrees.

    Parameters
    ----------
    theta : float or array_like, radians
        Polar angle from +z, in [0, pi].
    phi : float or array_like, radians
        Azimuth from +x towards +y, in [-pi, pi].

    Returns
    -------
    theta_degrees, phi_degrees : float or ndarray, degrees
    """
    theta_array = _checked_angle(theta, "theta", 0.0, _PI, "radians")
    phi_array = _checked_angle(phi, "phi", -_PI, _PI, "radians")
    return _scalar_or_array(np.degrees(theta_array)), _scalar_or_array(np.degrees(phi_array))


def lead_view(name: str) -> tuple[float, float]:
    """Nef-Net view angles of a standard lead, looked up case-insensitively.

    Parameters
    ----------
    name : str
        Lead name, e.g. ``"V1"``, ``"aVR"`` (``"AVR"`` and ``"avr"`` alike).

    Returns
    -------
    theta, phi : float, radians
        From :data:`STANDARD_LEAD_ANGLES`.

    Raises
    ------
    ValueError
        (a subclass of KeyError too) if the name is not a standard lead; the message lists them.
    TypeError
        If ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a lead name (str), got {type(name).__name__} {name!r}")
    lookup = {key.lower(): key for key in STANDARD_LEAD_ANGLES}
    key = lookup.get(name.strip().lower())
    if key is None:
        raise UnknownLeadError(
            f"name must be one of {', '.join(STANDARD_LEAD_ANGLES)} (case-insensitive), got {name!r}"
        )
    return STANDARD_LEAD_ANGLES[key]


class UnknownLeadError(ValueError, KeyError):
    """Raised by :func:`lead_view` for a name that is not a standard lead (a ValueError and a KeyError)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
