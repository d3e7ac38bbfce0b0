"""Input checks shared by the heart-vector inverse modules.

:mod:`forward.estimators`, :mod:`forward.prior` and :mod:`forward.calibration` validate their lead
signals, lead matrices, noise levels and covariances here, so that the three give the same
messages for the same mistakes. The generic array checks (finite, points, vectors, positive
scalars) are :mod:`geometry.validation`'s; these add what only the inverse needs (leads and
lead matrices that must agree, rank, symmetric positive-definite covariances).

Units: signals and noise in mV, lead vectors in mV per mA*m, heart-vector covariances in
(mA*m)².
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geometry.validation import as_finite_array

__all__ = [
    "RANK_TOLERANCE",
    "cholesky_factor",
    "matrix_rank",
    "noise_std_array",
    "non_negative_scalar",
    "require_rank3",
    "require_saved_keys",
    "set_frozen_fields",
    "signals_and_lead_matrix",
    "symmetric_covariance",
]

RANK_TOLERANCE = 1e-10
"""Singular values below this fraction of the largest count as zero (rank decisions)."""


def signals_and_lead_matrix(signals: Any, lead_matrix: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate lead signals and a lead matrix, and that they describe the same leads.

    Parameters
    ----------
    signals : (n_leads, n_samples) array_like, mV
        Lead signals; a single lead may be given as (n_samples,) when ``lead_matrix`` has one row.
    lead_matrix : (n_leads, 3) array_like, mV per mA*m
        Lead vectors, one row per lead; a single (3,) lead vector becomes (1, 3).

    Returns
    -------
    signals : (n_leads, n_samples) ndarray of float64, mV
    lead_matrix : (n_leads, 3) ndarray of float64, mV per mA*m

    Raises
    ------
    ValueError
        On non-finite values, wrong shapes or a different number of rows.
    """
    lead_array = as_finite_array(lead_matrix, "lead_matrix")
    if lead_array.ndim == 1 and lead_array.shape[0] == 3:
        lead_array = lead_array[np.newaxis, :]
    if lead_array.ndim != 2 or lead_array.shape[1] != 3:
        raise ValueError(f"lead_matrix must have shape (n_leads, 3) (mV per mA*m), got shape {lead_array.shape}")
    signal_array = as_finite_array(signals, "signals")
    if signal_array.ndim == 1 and lead_array.shape[0] == 1:
        signal_array = signal_array[np.newaxis, :]
    if signal_array.ndim != 2:
        raise ValueError(f"signals must have shape (n_leads, n_samples) (mV), got shape {signal_array.shape}")
    if signal_array.shape[0] != lead_array.shape[0]:
        raise ValueError(
            f"signals and lead_matrix must describe the same leads: signals has {signal_array.shape[0]} "
            f"row(s) (shape {signal_array.shape}) but lead_matrix has {lead_array.shape[0]} row(s) "
            f"(shape {lead_array.shape})"
        )
    return signal_array, lead_array


def noise_std_array(noise_std: Any, n_leads: int, n_samples: int, *, allow_time: bool = True) -> np.ndarray:
    """Validate a noise standard deviation per lead (and optionally per sample).

    Parameters
    ----------
    noise_std : float, (n_leads,) or (n_leads, n_samples) array_like, mV
        Positive noise standard deviation.
    n_leads : int
        Number of leads.
    n_samples : int
        Number of samples.
    allow_time : bool, optional
        Accept the time-varying (n_leads, n_samples) form. Default True.

    Returns
    -------
    noise_std : (n_leads, 1) or (n_leads, n_samples) ndarray of float64, mV
        (n_leads, 1) when constant in time.

    Raises
    ------
    ValueError
        On a wrong shape or a value <= 0.
    """
    array = as_finite_array(noise_std, "noise_std")
    allowed = "a scalar, (n_leads,)" + (" or (n_leads, n_samples)" if allow_time else "")
    if array.ndim == 0:
        array = np.full((n_leads, 1), float(array))
    elif array.ndim == 1 and array.shape[0] == n_leads:
        array = array[:, np.newaxis]
    elif allow_time and array.shape == (n_leads, n_samples):
        pass
    else:
        raise ValueError(
            f"noise_std must be {allowed} = ({n_leads}, {n_samples}) in mV, got shape {array.shape}"
        )
    if np.any(array <= 0):
        raise ValueError(f"noise_std must be positive (mV), got minimum {float(array.min()):g}")
    return array


def non_negative_scalar(value: Any, name: str) -> float:
    """Return ``value`` as a finite float >= 0.

    Parameters
    ----------
    value : float
        The input (a weight, a tolerance, an angle...).
    name : str
        Parameter name used in error messages.

    Returns
    -------
    scalar : float

    Raises
    ------
    TypeError
        If ``value`` is not a number.
    ValueError
        If it is negative or not finite.
    """
    try:
        scalar = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a non-negative number, got {value!r}") from error
    if not np.isfinite(scalar) or scalar < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {scalar}")
    return scalar


def matrix_rank(matrix: np.ndarray) -> int:
    """Numerical rank: singular values above :data:`RANK_TOLERANCE` times the largest.

    Parameters
    ----------
    matrix : (m, n) ndarray
        Any matrix (e.g. a lead matrix, mV per mA*m).

    Returns
    -------
    rank : int
        0 for an empty or all-zero matrix.
    """
    singular = np.linalg.svd(matrix, compute_uv=False)
    if singular.size == 0 or singular[0] == 0:
        return 0
    return int(np.count_nonzero(singular > RANK_TOLERANCE * singular[0]))


def require_rank3(lead_matrix: np.ndarray, remedy: str) -> None:
    """Refuse a lead matrix whose lead vectors do not span 3-D.

    Parameters
    ----------
    lead_matrix : (n_leads, 3) ndarray, mV per mA*m
        Validated lead matrix.
    remedy : str
        What the caller can do instead, appended to the error message.

    Raises
    ------
    ValueError
        If the rank is below 3 (the heart vector is then not determined by the leads).
    """
    rank = matrix_rank(lead_matrix)
    if rank < 3:
        n = lead_matrix.shape[0]
        raise ValueError(
            f"lead_matrix has {n} lead(s) with rank {rank}: the heart vector is not determined "
            f"(3 components need lead vectors spanning 3-D); {remedy}"
        )


def symmetric_covariance(value: Any, n_samples: int, name: str) -> np.ndarray:
    """Validate a heart-vector covariance, shared or one per sample: finite and symmetric.

    Parameters
    ----------
    value : (3, 3) or (n_samples, 3, 3) array_like, (mA*m)²
        Covariance.
    n_samples : int
        Number of samples (or phases) of the per-sample form.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    covariance : (3, 3) or (n_samples, 3, 3) ndarray of float64, (mA*m)²
        Exactly symmetric (the mean of the input and its transpose).

    Raises
    ------
    ValueError
        On a wrong shape, non-finite values or an asymmetry above 1e-8 of the largest entry.
    """
    array = as_finite_array(value, name)
    if array.shape != (3, 3) and array.shape != (n_samples, 3, 3):
        raise ValueError(f"{name} must have shape (3, 3) or ({n_samples}, 3, 3) ((mA*m)²), got shape {array.shape}")
    transposed = np.swapaxes(array, -1, -2)
    scale = max(float(np.max(np.abs(array))), np.finfo(float).tiny)
    if np.max(np.abs(array - transposed)) > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric; the largest asymmetry is {np.max(np.abs(array - transposed)):g}")
    return 0.5 * (array + transposed)


def cholesky_factor(covariance: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factor(s) ``C`` with ``C Cᵀ = covariance``, refusing non-positive-definite input.

    Parameters
    ----------
    covariance : (3, 3) or (n, 3, 3) ndarray, (mA*m)²
        Symmetric covariance(s), e.g. from :func:`symmetric_covariance`.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    factor : (3, 3) or (n, 3, 3) ndarray of float64, mA*m
        Lower triangular.

    Raises
    ------
    ValueError
        If a covariance is not positive definite (the message gives its smallest eigenvalue).
    """
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError as error:
        eigenvalues = np.linalg.eigvalsh(covariance)
        raise ValueError(
            f"{name} must be positive definite; its smallest eigenvalue is {float(eigenvalues.min()):g} (mA*m)²"
        ) from error


def require_saved_keys(data: Any, keys: Sequence[str], owner: str) -> None:
    """Check that ``data`` is a mapping holding ``keys``, as ``<owner>.to_dict`` writes it.

    Parameters
    ----------
    data : mapping
        What ``from_dict`` was given.
    keys : sequence of str
        The required keys.
    owner : str
        The class name, for the messages.

    Raises
    ------
    TypeError
        If ``data`` is not a mapping.
    ValueError
        If a required key is missing.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a mapping from {owner}.to_dict, got {type(data).__name__}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ValueError(f"data is missing the key(s) {missing}; expected the output of {owner}.to_dict")


def set_frozen_fields(instance: Any, **values: Any) -> None:
    """Set the fields of a frozen dataclass from its ``__post_init__``, arrays made read-only.

    Parameters
    ----------
    instance : dataclass instance
        The object being initialised.
    **values
        Field name -> checked value, set in this order; every ndarray among them is made
        read-only first.
    """
    for value in values.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    for name, value in values.items():
        object.__setattr__(instance, name, value)
