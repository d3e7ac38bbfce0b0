"""Input checks shared by all three packages.

Every public function validates its arrays here so that bad input fails early with a message
that names the parameter, what was expected and what came, instead of propagating NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "as_points",
    "as_vector3",
    "as_finite_array",
    "as_positive_scalar",
    "broadcast_pair",
]


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def as_finite_array(value: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, refusing NaN/inf and (optionally) a wrong ndim.

    Parameters
    ----------
    value : array_like
        The input.
    name : str
        Parameter name used in error messages.
    ndim : int, optional
        Required number of dimensions.

    Returns
    -------
    array : ndarray of float64
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numeric, got {_describe(value)}") from error
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all values must be finite")
    return array


def as_points(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a finite (n, 3) float64 array; a single (3,) point becomes (1, 3).

    Parameters
    ----------
    value : (n, 3) or (3,) array_like, metres
        Points.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    points : (n, 3) ndarray of float64
    """
    array = as_finite_array(value, name)
    if array.ndim == 1 and array.shape[0] == 3:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3) or (3,), got shape {array.shape}")
    return np.ascontiguousarray(array)


def as_vector3(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a finite (3,) float64 vector.

    Parameters
    ----------
    value : (3,) array_like
        A vector.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    vector : (3,) ndarray of float64
    """
    array = as_finite_array(value, name)
    if array.shape != (3,):
        raise ValueError(f"{name} must have shape (3,), got shape {array.shape}")
    return array


def as_positive_scalar(value: Any, name: str, unit: str = "") -> float:
    """Return ``value`` as a finite positive float.

    Parameters
    ----------
    value : float
        The input.
    name : str
        Parameter name used in error messages.
    unit : str, optional
        Unit shown in the error message.

    Returns
    -------
    scalar : float
    """
    try:
        scalar = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a positive number{(' in ' + unit) if unit else ''}, got {_describe(value)}") from error
    if not np.isfinite(scalar) or scalar <= 0:
        raise ValueError(f"{name} must be a finite positive number{(' in ' + unit) if unit else ''}, got {scalar}")
    return scalar


def broadcast_pair(first: np.ndarray, second: np.ndarray, message: str) -> tuple[np.ndarray, np.ndarray]:
    """``first`` and ``second`` broadcast against each other (``numpy.broadcast_arrays``).

    Parameters
    ----------
    first, second : ndarray
        The arrays.
    message : str
        The error message, with ``{}`` placeholders for the two shapes.

    Returns
    -------
    first, second : ndarray
        Broadcast views.

    Raises
    ------
    ValueError
        ``message`` with the shapes, if the arrays do not broadcast.
    """
    try:
        broadcast = np.broadcast_arrays(first, second)
    except ValueError as error:
        raise ValueError(message.format(first.shape, second.shape)) from error
    return broadcast[0], broadcast[1]
