"""Learned versus physical lead fields, view by view over the sphere.

For one input ECG, three answers to "what would a lead at view (theta, phi) record?" are set side
by side:

``physical``
    The physics-only projection ``c(theta, phi) . p(t)``: the lead vector ``c`` of the torso
    surface point seen from the heart centre in that direction (the BEM image surface, WCT
    referenced) applied to the fitted heart vector ``p`` (mA*m). This is the reference.
``unit_vector``
    Nef-Net's idealisation ``g u(theta, phi) . p(t)``: the unit view direction ``u`` with one
    scalar gain ``g`` (mV per mA*m) for all views. By default ``g`` is the least-squares gain that
    makes the unit-vector projection of the input leads (at their Nef-Net angles) match the
    measured input leads, which is what a model that assumes unit vectors must do to reproduce
    its inputs; the gain only scales amplitudes (RMSE, amplitude ratio, lead-vector norm), never
    angles, correlations or dipolar fractions.
``learned``
    The hybrid model's output (physical projection plus the learned residual).

Per view and per field, against the physical signal: RMSE (mV), Pearson r, peak-to-peak
amplitude ratio, and two lead-field figures that need no reference signal:

effective lead vector
    The 3-vector ``c_eff`` (mV per mA*m) that best explains the signal from the heart vector,
    ``s(t) - mean(s) ~ c_eff . (p(t) - mean(p))`` by least squares. For the physical field it
    is the physical lead vector itself, for the unit-vector field ``g u``; for the learned field
    it is the lead vector the network behaves as if it used, so learned and physical lead fields
    can be compared on the sphere (angle between them in degrees, norm ratio).
dipolar fraction
    The share of the signal's variance explained by that single fixed dipole projection,
    ``1 - ||s_c - c_eff . p_c||^2 / ||s_c||^2`` with ``s_c``, ``p_c`` the signals minus their
    means: the R^2 of the least-squares fit with an intercept, in [0, 1] by construction (it is
    clipped to [0, 1] only to remove rounding). 1 means the signal is a pure dipole projection
    (the physical and unit-vector fields are, exactly); less than 1 is what the learned
    residual adds that no lead vector applied to this heart vector can produce.

Views are ``(theta, phi)`` pairs in radians (theta from +z in [0, pi], phi from +x towards +y in
[-pi, pi]) or lead names, checked and named by :func:`hybridfield.leads.parse_views` (a pair is
labelled ``"view(90,130)"``, in degrees, by :func:`hybridfield.leads.view_label`). The default
grid covers the sphere with ``n_theta`` polar rings at the centres of equal bands (the poles,
where phi has no meaning, are left out) and ``n_phi`` azimuths from -pi in equal steps.

The figure of a grid comparison is :func:`hybridfield.plots.plot_comparison`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from geometry.validation import as_finite_array
from geometry.angles import direction_from_angles, view_to_degrees

from .leads import forward_lead_name, lead_view_angles, parse_views, view_label
from .metrics import pearson_r, rmse

if TYPE_CHECKING:  # pragma: no cover
    import xarray

    from .ecg import ECG

__all__ = [
    "FIELDS",
    "COMPARISON_METRICS",
    "compare_fields",
    "effective_lead_vectors",
    "dipolar_fraction",
    "sphere_view_grid",
]

#: The three lead fields compared, in the order of the ``field`` dimension.
FIELDS: tuple[str, ...] = ("physical", "unit_vector", "learned")

#: Scalar per-view metrics of :func:`compare_fields` (data variables over field and view).
COMPARISON_METRICS: tuple[str, ...] = (
    "rmse",
    "r",
    "amplitude_ratio",
    "lead_vector_angle",
    "lead_vector_norm_ratio",
    "dipolar_fraction",
)

_AXES = ("x", "y", "z")
# Smallest singular value of the centred heart vector relative to the largest below which the
# three lead-vector components cannot be told apart (a planar or linear heart-vector loop).
_RANK_TOLERANCE = 1e-9

_METRIC_ATTRS: dict[str, dict[str, str]] = {
    "rmse": {
        "long_name": "RMSE against the physical projection",
        "units": "mV",
        "description": "root-mean-square difference of the field's signal and the physical signal",
    },
    "r": {
        "long_name": "Pearson r with the physical projection",
        "units": "1",
        "description": "Pearson correlation of the field's signal with the physical signal over time",
    },
    "amplitude_ratio": {
        "long_name": "peak-to-peak amplitude ratio (field / physical)",
        "units": "1",
        "description": "peak-to-peak amplitude of the field's signal divided by that of the physical signal",
    },
    "lead_vector_angle": {
        "long_name": "angle between effective and physical lead vectors",
        "units": "degree",
        "description": "angle, in [0, 180] degrees, between the field's effective lead vector and the "
        "physical lead vector of the view",
    },
    "lead_vector_norm_ratio": {
        "long_name": "effective / physical lead-vector norm",
        "units": "1",
        "description": "norm of the field's effective lead vector divided by the physical lead vector's norm",
    },
    "dipolar_fraction": {
        "long_name": "dipolar fraction",
        "units": "1",
        "description": "share of the signal's variance explained by one fixed lead vector applied to the "
        "heart vector (R^2 of the least-squares fit with intercept), in [0, 1]",
    },
}


# --------------------------------------------------------------------------------------------
# Public array helpers
# --------------------------------------------------------------------------------------------


def _count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def sphere_view_grid(n_theta: int = 7, n_phi: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A theta x phi grid of views covering the sphere, poles left out.

    ``theta_k = (k + 1/2) pi / n_theta`` (the centres of ``n_theta`` equal polar bands, so no
    view sits on a pole, where phi has no meaning) and ``phi_j = -pi + 2 pi j / n_phi`` (the
    sternal midline phi = 0 is included when ``n_phi`` is even, and theta = pi/2 when
    ``n_theta`` is odd).

    Parameters
    ----------
    n_theta : int
        Number of polar angles, >= 2.
    n_phi : int
        Number of azimuths, >= 2.

    Returns
    -------
    theta : (n_theta,) float, radians
        Increasing, in (0, pi).
    phi : (n_phi,) float, radians
        Increasing, in [-pi, pi).
    """
    n_theta = _count(n_theta, "n_theta", 2)
    n_phi = _count(n_phi, "n_phi", 2)
    theta = (np.arange(n_theta) + 0.5) * (math.pi / n_theta)
    phi = -math.pi + np.arange(n_phi) * (2.0 * math.pi / n_phi)
    return theta, phi


def _signals_and_heart_vector(signals: Any, heart_vector: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    array = as_finite_array(signals, "signals")
    single = array.ndim == 1
    array = array[np.newaxis] if single else array
    if array.ndim != 2:
        raise ValueError(f"signals must have shape (n_samples,) or (n_signals, n_samples), got {array.shape}")
    heart = as_finite_array(heart_vector, "heart_vector", ndim=2)
    if heart.shape[0] != 3:
        raise ValueError(f"heart_vector must have shape (3, n_samples) in mA*m, got {heart.shape}")
    if heart.shape[1] != array.shape[1]:
        raise ValueError(
            f"signals and heart_vector must have the same number of samples, got {array.shape[1]} and {heart.shape[1]}"
        )
    if heart.shape[1] < 4:
        raise ValueError(f"need at least 4 samples to fit a 3-vector with an intercept, got {heart.shape[1]}")
    return array, heart, single


def _dipole_fit(signals: np.ndarray, heart_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lead vectors (m, 3) and dipolar fractions (m,) of (m, n) signals.

    A constant signal gets a zero lead vector and a NaN fraction (callers decide what to say).
    """
    heart_centred = heart_vector - heart_vector.mean(axis=1, keepdims=True)
    singular = np.linalg.svd(heart_centred, compute_uv=False)
    if not singular[0] > 0 or singular[-1] <= _RANK_TOLERANCE * singular[0]:
        raise ValueError(
            "heart_vector does not span three dimensions (its loop is flat or a line: singular values "
            f"{', '.join(f'{value:.3g}' for value in singular)} mA*m), so a lead vector cannot be "
            "identified from it; use a longer stretch of signal"
        )
    centred = signals - signals.mean(axis=1, keepdims=True)
    vectors = np.linalg.lstsq(heart_centred.T, centred.T, rcond=None)[0].T  # (m, 3)
    residual = centred - vectors @ heart_centred
    total = np.einsum("ij,ij->i", centred, centred)
    constant = np.ptp(signals, axis=1) == 0  # ptp, not total: the mean's rounding leaves dust
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = 1.0 - np.einsum("ij,ij->i", residual, residual) / total
    fraction = np.where(constant, np.nan, np.clip(fraction, 0.0, 1.0))
    vectors[constant] = 0.0
    return vectors, fraction


def effective_lead_vectors(signals: Any, heart_vector: Any) -> np.ndarray:
    """The lead vectors that best explain signals from a heart vector (least squares).

    Solves ``s(t) - mean(s) ~ c . (p(t) - mean(p))`` for ``c``: the intercept absorbs a baseline
    offset, which no dipole at the heart centre produces in a band-passed record.

    Parameters
    ----------
    signals : (n_samples,) or (n_signals, n_samples) float, mV
        Lead signals on the heart vector's time base.
    heart_vector : (3, n_samples) float, mA*m
        Heart vector in the body frame; its centred loop must span three dimensions.

    Returns
    -------
    vectors : (3,) or (n_signals, 3) float, mV per mA*m, body frame
        Zero for a constant signal.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf values, fewer than 4 samples, or a flat (rank < 3) heart vector.
    """
    array, heart, single = _signals_and_heart_vector(signals, heart_vector)
    vectors, _ = _dipole_fit(array, heart)
    return vectors[0] if single else vectors


def dipolar_fraction(signals: Any, heart_vector: Any) -> float | np.ndarray:
    """Share of each signal's variance explained by one fixed dipole projection.

    ``1 - ||s_c - c_eff . p_c||^2 / ||s_c||^2`` with ``s_c = s - mean(s)``,
    ``p_c = p - mean(p)`` and ``c_eff`` from :func:`effective_lead_vectors`: the R^2 of the
    least-squares fit with intercept, in [0, 1] by construction (clipped only against
    rounding). 1 for any lead of a single fixed dipole, lower for whatever a signal holds that no
    lead vector applied to this heart vector produces.

    Parameters
    ----------
    signals : (n_samples,) or (n_signals, n_samples) float, mV
        Lead signals on the heart vector's time base; none may be constant.
    heart_vector : (3, n_samples) float, mA*m
        Heart vector in the body frame; its centred loop must span three dimensions.

    Returns
    -------
    fraction : float or (n_signals,) float, in [0, 1]

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf values, a constant signal (the fraction is undefined), or a flat
        heart vector.
    """
    array, heart, single = _signals_and_heart_vector(signals, heart_vector)
    _, fraction = _dipole_fit(array, heart)
    if np.isnan(fraction).any():
        rows = np.flatnonzero(np.isnan(fraction)).tolist()
        raise ValueError(f"dipolar_fraction is undefined for a constant signal (signal row(s) {rows})")
    return float(fraction[0]) if single else fraction


# --------------------------------------------------------------------------------------------
# Views and inputs
# --------------------------------------------------------------------------------------------


def _resolve_views(views: Any) -> tuple[list[Any], list[str], np.ndarray]:
    """Views for the model, their labels and their (n, 2) unit-vector (Nef-Net) angles.

    A single string is one view; the views are checked by :func:`hybridfield.leads.parse_views`
    and must be unique.
    """
    if isinstance(views, str):
        views = [views]
    try:
        items = list(views)
    except TypeError:
        raise TypeError(
            f"views must be None (a grid over the sphere) or a sequence of lead names and/or (theta, phi) "
            f"pairs in radians, got {type(views).__name__}"
        ) from None
    if not items:
        raise ValueError("views must not be empty (None gives a grid over the sphere)")
    labels, angles, request = parse_views(items, parameter="views")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"views must be unique, got duplicate(s) {', '.join(duplicates)}")
    return request, labels, angles


def _resolve_inputs(ecg: ECG, model: Any, inputs: Any) -> list[str]:
    from .leads import canonical_lead_name

    if inputs is None:
        names = list(getattr(model, "input_leads_default", ()))
        if not names:
            raise ValueError("inputs is None and the model has no input_leads_default; name the input leads")
    elif isinstance(inputs, str):
        names = [inputs]
    else:
        try:
            names = list(inputs)
        except TypeError:
            raise TypeError(f"inputs must be None or a sequence of lead names, got {type(inputs).__name__}") from None
        if not names:
            raise ValueError("inputs must name at least one lead, got an empty sequence")
    names = [canonical_lead_name(name) for name in names]
    missing = [name for name in names if not ecg.has_lead(name)]
    if missing:
        raise ValueError(
            f"input lead(s) {', '.join(missing)} not in ecg; it has {', '.join(ecg.lead_names)} "
            "(pass inputs=[...] naming leads it has)"
        )
    return names


def _model_signals(result: Any, request: list[Any], labels: list[str], n_samples: int, source: str) -> np.ndarray:
    """(n_views, n_samples) signals of a model's output ECG, checked against the contract."""
    signals = np.asarray(getattr(result, "signals", None), dtype=np.float64)
    expected = (len(request), n_samples)
    if signals.shape != expected:
        raise ValueError(
            f"{source} returned signals of shape {signals.shape}, expected {expected} "
            "(one lead per view, on the heart vector's time base)"
        )
    names = [str(name) for name in getattr(result, "lead_names", labels)]
    for index, (item, label) in enumerate(zip(request, labels)):
        if isinstance(item, str) and names[index].lower() != label.lower():  # views must come back in order
            raise ValueError(f"{source} returned lead {names[index]!r} where view {label!r} was expected")
    if not np.all(np.isfinite(signals)):
        raise ValueError(f"{source} returned NaN or infinite samples")
    return signals


def _unit_vector_gain(
    model: Any, ecg: ECG, input_names: list[str], heart_vector: np.ndarray
) -> float:
    """Least-squares gain g (mV per mA*m) of g u(input view) . p against the measured inputs."""
    from .ecg import LeadNotFoundError

    usable = []
    for name in input_names:
        try:
            usable.append((name, lead_view_angles(forward_lead_name(name))))
        except ValueError:
            continue  # e.g. Frank or EASI leads: no view direction to idealise
    if not usable:
        raise ValueError(
            f"none of the input leads {', '.join(input_names)} has a Nef-Net view angle, so the unit-vector "
            "gain cannot be fitted to them; pass unit_vector_gain (mV per mA*m) explicitly"
        )
    prepared = model.prepare(ecg)
    try:
        measured = prepared.select([name for name, _ in usable]).signals
    except LeadNotFoundError as error:
        raise ValueError(f"input lead(s) were dropped by model.prepare as unusable: {error}") from None
    if measured.shape[1] != heart_vector.shape[1]:
        raise ValueError(
            f"model.prepare(ecg) has {measured.shape[1]} samples but model.heart_vector has "
            f"{heart_vector.shape[1]}; they must share a time base"
        )
    angles = np.array([angle for _, angle in usable])
    ideal = direction_from_angles(angles[:, 0], angles[:, 1]) @ heart_vector
    ideal = ideal - ideal.mean(axis=1, keepdims=True)
    measured = measured - measured.mean(axis=1, keepdims=True)
    denominator = float(np.sum(ideal * ideal))
    gain = float(np.sum(ideal * measured)) / denominator if denominator > 0 else 0.0
    if not gain > 0:
        raise ValueError(
            f"the least-squares unit-vector gain against the inputs {', '.join(name for name, _ in usable)} is "
            f"{gain:.3g} mV per mA*m, not positive; pass unit_vector_gain explicitly"
        )
    return gain


def _angle_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between rows of a (..., 3) and b (..., 3); NaN where a row is zero."""
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.einsum("...i,...i->...", a, b) / norm
    return np.where(norm > 0, np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), np.nan)


def _check_model(model: Any) -> None:
    needed = ("prepare", "heart_vector", "physical", "predict", "lead_vectors")
    missing = [name for name in needed if not callable(getattr(model, name, None))]
    if missing:
        raise TypeError(
            f"model must follow the HybridPanorama interface (methods {', '.join(needed)}); "
            f"{type(model).__name__} lacks {', '.join(missing)}"
        )


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


def compare_fields(
    ecg: ECG,
    views: Sequence[Any] | None = None,
    *,
    model: Any = None,
    inputs: Sequence[str] | None = None,
    n_theta: int = 7,
    n_phi: int = 12,
    unit_vector_gain: float | None = None,
    keep_signals: bool = True,
) -> xarray.Dataset:
    """Physical, unit-vector (Nef-Net) and learned projections of one ECG, compared view by view.

    The model is called once for all views (``model.physical`` and ``model.predict``), and its
    fitted heart vector ``p`` (``model.heart_vector``) drives the unit-vector projection and
    the effective-lead-vector fits. See the module docstring for the definitions.

    Parameters
    ----------
    ecg : ECG
        The input record, mV (any sampling rate the model accepts).
    views : None or sequence of str / (theta, phi)
        None (default): the grid :func:`sphere_view_grid` ``(n_theta, n_phi)``; the result then
        has dimensions ``theta`` and ``phi``. Otherwise lead names (``"V1"``, ``"V7"``...) and/or
        ``(theta, phi)`` pairs in radians; the result then has one dimension ``view``. A named
        lead's unit vector points along its Nef-Net angle (``geometry.STANDARD_LEAD_ANGLES``), or
        for other single-electrode leads (V7-V9, V3R-V6R, high V1/V2) towards its electrode on
        the default torso; leads with no single direction (Frank, EASI) must be given as angles.
    model : HybridPanorama-like, optional
        Anything with ``prepare``, ``heart_vector``, ``physical``, ``predict`` and
        ``lead_vectors`` as in ``HybridPanorama``; default ``HybridPanorama.pretrained()``.
    inputs : sequence of str, optional
        Input leads passed on to the model; None uses the model's ``input_leads_default``. Every
        input lead must be in ``ecg``.
    n_theta, n_phi : int
        Grid size (each >= 2) when ``views`` is None.
    unit_vector_gain : float, optional
        The unit-vector gain ``g``, mV per mA*m. None (default): fitted by least squares so that
        ``g u . p`` matches the input leads that have a view angle (after ``model.prepare``).
    keep_signals : bool
        Also return the signals of every field and view (``signal`` variable), default True.

    Returns
    -------
    comparison : xarray.Dataset
        Dimensions ``field`` (``FIELDS``: "physical", "unit_vector", "learned"), ``theta`` and
        ``phi`` (grid) or ``view`` (given views), ``axis`` ("x", "y", "z", body frame) and
        ``time`` (s). Coordinates ``theta``, ``phi`` in radians with ``theta_degrees``,
        ``phi_degrees`` beside them. Data variables (each with ``units`` and ``long_name``):

        - ``rmse`` (mV), ``r``, ``amplitude_ratio``: each field's signal against the physical one;
        - ``effective_lead_vector`` (mV per mA*m, with ``axis``);
        - ``lead_vector_angle`` (degrees) and ``lead_vector_norm_ratio``: the effective lead vector
          against the physical lead vector ``model.lead_vectors(view)``;
        - ``dipolar_fraction``;
        - ``lead_vector`` (physical, mV per mA*m) and ``direction`` (unit ``u``), per view;
        - ``heart_vector`` (mA*m, ``axis`` x ``time``); ``signal`` (mV) when ``keep_signals``.

        Attributes: ``fs`` (Hz), ``inputs``, ``unit_vector_gain`` (mV per mA*m) and
        ``unit_vector_gain_source``. A metric that is undefined at a view (a constant learned
        signal has no correlation, direction or dipolar fraction) is NaN, with a warning naming
        the views.

    Raises
    ------
    TypeError
        ``ecg`` is not an ECG, ``model`` lacks a method, a grid size is not an integer.
    ValueError
        Views out of range, unknown or duplicated; grid sizes < 2; input leads missing from
        ``ecg``; model outputs that break the contract (shape, order, time base); a flat heart
        vector; a non-positive unit-vector gain.

    Examples
    --------
    >>> comparison = compare_fields(ecg)                                  # doctest: +SKIP
    >>> comparison.lead_vector_angle.sel(field="learned")                 # doctest: +SKIP
    >>> compare_fields(ecg, ["V1", "V7", (2.3, 1.75)]).dipolar_fraction   # doctest: +SKIP
    """
    import xarray as xr

    from .ecg import ECG

    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    grid = views is None
    if grid:
        theta_grid, phi_grid = sphere_view_grid(n_theta, n_phi)
        theta_all, phi_all = (array.ravel() for array in np.meshgrid(theta_grid, phi_grid, indexing="ij"))
        request: list[Any] = [(float(t), float(p)) for t, p in zip(theta_all, phi_all)]
        labels = [view_label(t, p) for t, p in request]
        unit_angles = np.column_stack([theta_all, phi_all])
    else:
        request, labels, unit_angles = _resolve_views(views)
    if unit_vector_gain is not None:
        gain = float(as_finite_array(unit_vector_gain, "unit_vector_gain"))
        if not gain > 0:
            raise ValueError(f"unit_vector_gain must be a positive number in mV per mA*m, got {gain}")
    if model is None:
        from .panorama import HybridPanorama

        model = HybridPanorama.pretrained()
    _check_model(model)
    input_names = _resolve_inputs(ecg, model, inputs)

    heart = as_finite_array(model.heart_vector(ecg, inputs=inputs), "model.heart_vector(ecg)", ndim=2)
    if heart.shape[0] != 3:
        raise ValueError(f"model.heart_vector returned shape {heart.shape}, expected (3, n_samples) mA*m")
    n_samples = heart.shape[1]
    physical_ecg = model.physical(ecg, request, inputs=inputs)
    physical = _model_signals(physical_ecg, request, labels, n_samples, "model.physical")
    learned = _model_signals(model.predict(ecg, request, inputs=inputs), request, labels, n_samples, "model.predict")
    lead_vectors = as_finite_array(model.lead_vectors(request), "model.lead_vectors(views)")
    if lead_vectors.shape != (len(request), 3):
        raise ValueError(f"model.lead_vectors returned shape {lead_vectors.shape}, expected ({len(request)}, 3)")
    if np.any(np.linalg.norm(lead_vectors, axis=1) == 0):
        raise ValueError("model.lead_vectors returned a zero lead vector")

    if unit_vector_gain is None:
        gain = _unit_vector_gain(model, ecg, input_names, heart)
        gain_source = f"least squares against the input leads {', '.join(input_names)}"
    else:
        gain_source = "given"
    directions = direction_from_angles(unit_angles[:, 0], unit_angles[:, 1])  # (n_views, 3)
    unit_vector = gain * (directions @ heart)

    signals = np.stack([physical, unit_vector, learned])  # (field, view, time)
    n_fields, n_views = signals.shape[:2]
    reference = np.broadcast_to(physical, signals.shape)
    error = rmse(signals, reference)
    spread = np.ptp(signals, axis=-1)
    defined = (spread > 0) & (np.ptp(reference, axis=-1) > 0)
    correlation = np.full((n_fields, n_views), np.nan)
    if defined.any():
        correlation[defined] = pearson_r(signals[defined], reference[defined])
    with np.errstate(divide="ignore", invalid="ignore"):
        amplitude_ratio = np.where(defined, spread / np.ptp(reference, axis=-1), np.nan)
    vectors, fraction = _dipole_fit(signals.reshape(n_fields * n_views, n_samples), heart)
    vectors = vectors.reshape(n_fields, n_views, 3)
    fraction = fraction.reshape(n_fields, n_views)
    angle = _angle_degrees(vectors, lead_vectors[np.newaxis])
    norm_ratio = np.linalg.norm(vectors, axis=-1) / np.linalg.norm(lead_vectors, axis=-1)[np.newaxis]
    norm_ratio = np.where(defined, norm_ratio, np.nan)

    undefined = ~defined
    if undefined.any():
        where = [f"{FIELDS[f]} at {labels[v]}" for f, v in zip(*np.nonzero(undefined))]
        warnings.warn(
            "constant signal(s), so r, amplitude_ratio, lead_vector_angle, lead_vector_norm_ratio and "
            f"dipolar_fraction are NaN for: {', '.join(where[:10])}" + (" ..." if len(where) > 10 else ""),
            UserWarning,
            stacklevel=2,
        )

    fs = float(getattr(physical_ecg, "fs"))
    if grid:
        shape = (len(theta_grid), len(phi_grid))
        view_dims: tuple[str, ...] = ("theta", "phi")
        theta_degrees, phi_degrees = view_to_degrees(theta_grid, phi_grid)
        coords: dict[str, Any] = {
            "theta": ("theta", theta_grid, {"units": "rad", "long_name": "polar angle from +z (superior)"}),
            "phi": ("phi", phi_grid, {"units": "rad", "long_name": "azimuth from +x (anterior) towards +y (left)"}),
            "theta_degrees": ("theta", np.asarray(theta_degrees), {"units": "degree"}),
            "phi_degrees": ("phi", np.asarray(phi_degrees), {"units": "degree"}),
        }
    else:
        shape = (n_views,)
        view_dims = ("view",)
        theta_degrees, phi_degrees = view_to_degrees(unit_angles[:, 0], unit_angles[:, 1])
        coords = {
            "view": ("view", np.array(labels, dtype=object), {"long_name": "lead name or view(theta, phi) in degrees"}),
            "theta": (
                "view",
                unit_angles[:, 0],
                {"units": "rad", "long_name": "polar angle from +z (Nef-Net angle of a named lead)"},
            ),
            "phi": (
                "view",
                unit_angles[:, 1],
                {"units": "rad", "long_name": "azimuth from +x towards +y (Nef-Net angle of a named lead)"},
            ),
            "theta_degrees": ("view", np.asarray(theta_degrees), {"units": "degree"}),
            "phi_degrees": ("view", np.asarray(phi_degrees), {"units": "degree"}),
        }
    coords["field"] = ("field", list(FIELDS))
    coords["axis"] = ("axis", list(_AXES), {"long_name": "body frame: x anterior, y left, z superior"})
    coords["time"] = ("time", np.arange(n_samples) / fs, {"units": "s"})

    def per_view(array: np.ndarray, leading: tuple[str, ...] = ("field",), trailing: tuple[str, ...] = ()) -> tuple:
        n_leading = len(leading)
        reshaped = array.reshape(array.shape[:n_leading] + shape + array.shape[n_leading + 1 :])
        return leading + view_dims + trailing, reshaped

    lead_field_units = "mV/(mA*m)"
    data_vars: dict[str, Any] = {}
    for name, values in (
        ("rmse", error),
        ("r", correlation),
        ("amplitude_ratio", amplitude_ratio),
        ("lead_vector_angle", angle),
        ("lead_vector_norm_ratio", norm_ratio),
        ("dipolar_fraction", fraction),
    ):
        data_vars[name] = (*per_view(values), dict(_METRIC_ATTRS[name]))
    data_vars["effective_lead_vector"] = (
        *per_view(vectors, trailing=("axis",)),
        {"units": lead_field_units, "long_name": "effective lead vector (least squares from the heart vector)"},
    )
    data_vars["lead_vector"] = (
        *per_view(lead_vectors, leading=(), trailing=("axis",)),
        {"units": lead_field_units, "long_name": "physical lead vector (torso BEM, WCT referenced)"},
    )
    data_vars["direction"] = (
        *per_view(directions, leading=(), trailing=("axis",)),
        {"units": "1", "long_name": "unit view direction u(theta, phi)"},
    )
    data_vars["heart_vector"] = (("axis", "time"), heart, {"units": "mA*m", "long_name": "fitted heart vector"})
    if keep_signals:
        data_vars["signal"] = (*per_view(signals, trailing=("time",)), {"units": "mV", "long_name": "lead signal"})

    attrs = {
        "title": "physical vs unit-vector (Nef-Net) vs learned lead fields",
        "reference_field": "physical",
        "fs": fs,
        "fs_units": "Hz",
        "inputs": ", ".join(input_names),
        "unit_vector_gain": gain,
        "unit_vector_gain_units": lead_field_units,
        "unit_vector_gain_source": gain_source,
        "conventions": "body frame x anterior, y left, z superior; theta from +z, phi from +x towards +y",
    }
    if grid:
        attrs["grid"] = "theta at the centres of equal polar bands (poles excluded), phi from -pi in equal steps"
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
