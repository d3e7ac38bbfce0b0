"""The virtual-lead posterior: a PyMC model of one record given the population model.

The model of one record, sample by sample (t) in phase bin b(t) (:mod:`hybridfield.phases`):

    y_l(t) = g_l (c_l + beta_l + L_l eta_l) . p(t) + e_l(t),   e_l(t) ~ N(0, s^2 r_{l, b(t)})
    p(t) ~ N(mu_b, Sigma_b)

- ``p(t)`` (mA*m) is the heart vector. Its prior per phase bin (mean and covariance across
  records) is learned from training records (:mod:`hybridfield.population`), so a component the measured leads cannot see
  (with I, II and V5: the anterior-posterior one) falls back to the population instead of being
  invented.
- ``c_l`` is lead l's lead vector on the default torso (forward.lead_vectors); ``beta_l`` and
  ``Sigma_l = L_l L_l^T`` are the mean and covariance, across training records, of the difference
  between each record's own fitted lead vector and ``c_l``: torso shape, heart position and
  electrode placement, learned rather than assumed. ``L_l eta_l``, ``eta_l ~ N(0, I_3)``, is this
  record's deviation (constant over the record).
- The deviation is parametrised as a log gain along the lead vector and two angle offsets
  across it (electrode placement: 1-2 cm at 0.1 m from the heart is about 10-20 degrees), with
  prior spreads from Sigma_l in that basis; the gain prior adds an amplifier and contact spread
  of 3 %.
- ``r_{l,b}`` is the per-bin variance of what a single dipole does not explain (non-dipolar
  content and noise), learned from the training records; ``s ~ LogNormal(0, 0.5)`` rescales it.
- Across records the statistics are heavy-tailed, so they are estimated robustly (minimum
  covariance determinant, medians) and virtual views draw a record-level Student-t scale
  (``TAIL_DEGREES_OF_FREEDOM``) on their lead-vector deviation and residual.
- Virtual views carry their own ``eta_v`` (drawn from its prior: the measured leads say nothing
  about them) and their residual ``r_{v,b}`` (not rescaled by s, which only says how well a
  dipole explains the measured leads); views at arbitrary (theta, phi) use the physical
  lead vector of the ray-cast surface point with the population's relative spread.

Given the nuisance parameters (g, eta, s), p(t) is linear-Gaussian, so it is marginalised
analytically: per bin the likelihood needs only the sample count, the sum and the scatter
matrix of the measured leads, and every matrix operation is 3x3 in heart-vector space
(Woodbury and the matrix determinant lemma). PyMC's NUTS samples the 4 n_leads + 1 nuisance
parameters; p(t) and the virtual leads are then drawn exactly from their Gaussian conditionals.
"""


from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import (
    distinct_views,
    input_combinations,
    limb_plane_coordinates,
    limb_residual_directions,
    project_limb_residuals,
    single_limb_input,
    with_all_limb_leads,
)
from .phases import N_PHASE_BINS
from .population import LeadStatistics, PopulationModel, default_population_model
from .preparation import PREPROCESSING, PreparedRecord, prepare_record

__all__ = [
    "PosteriorLeads",
    "predict_posterior",
    "posterior_from_record",
    "NOISE_SCALE_PRIOR_SD",
    "CORRELATION_TIME",
    "TAIL_DEGREES_OF_FREEDOM",
]

#: Prior standard deviation of the log residual scale s.
NOISE_SCALE_PRIOR_SD = 0.5
#: Degrees of freedom of the record-level Student-t scale mixture for virtual leads' lead-vector
#: deviations and residuals (heavy tails: a few records are far off the typical one).
TAIL_DEGREES_OF_FREEDOM = 4.0
#: Correlation time of band-passed ECG samples, s: samples closer than this carry little new
#: information, which the effective sample size of the likelihood accounts for.
CORRELATION_TIME = 0.030


# ----------------------------------------------------------------------------------------------
# The record model: sufficient statistics, PyMC likelihood, exact conditional draws
# ----------------------------------------------------------------------------------------------
def _sufficient_statistics(signals: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin: count (B,), sum (B, L), sum of outer products (B, L, L)."""
    n_leads = signals.shape[0]
    counts = np.bincount(bins, minlength=N_PHASE_BINS).astype(float)
    sums = np.zeros((N_PHASE_BINS, n_leads))
    outer = np.zeros((N_PHASE_BINS, n_leads, n_leads))
    for b in range(N_PHASE_BINS):
        members = signals[:, bins == b]
        sums[b] = members.sum(axis=1)
        outer[b] = members @ members.T
    return counts, sums, outer


def _det3(a: Any) -> Any:
    return (
        a[..., 0, 0] * (a[..., 1, 1] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 1])
        - a[..., 0, 1] * (a[..., 1, 0] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 0])
        + a[..., 0, 2] * (a[..., 1, 0] * a[..., 2, 1] - a[..., 1, 1] * a[..., 2, 0])
    )


def _adjugate3(a: Any, stack: Any) -> Any:
    cofactor = [
        [
            a[..., (i + 1) % 3, (j + 1) % 3] * a[..., (i + 2) % 3, (j + 2) % 3]
            - a[..., (i + 1) % 3, (j + 2) % 3] * a[..., (i + 2) % 3, (j + 1) % 3]
            for j in range(3)
        ]
        for i in range(3)
    ]
    # adjugate = transpose of the cofactor matrix
    return stack([stack([cofactor[j][i] for j in range(3)], axis=-1) for i in range(3)], axis=-2)


def _model_data(
    lead_set: LeadStatistics, population: PopulationModel, statistics: tuple[np.ndarray, ...], likelihood_weight: float
) -> dict[str, np.ndarray]:
    """Every array the PyMC model reads, so one compiled model serves any record and population
    with the same number of input leads."""
    counts, sums, outer = statistics
    basis = lead_set.basis
    return {
        "likelihood_weight": np.asarray(likelihood_weight, dtype=float),
        "bin_count": counts,
        "bin_sum": sums,
        "bin_outer": outer,
        "prior_precision": np.linalg.inv(population.prior_covariance),
        "prior_logdet": np.linalg.slogdet(population.prior_covariance)[1],
        "prior_mean": population.prior_mean,
        "lead_direction": lead_set.magnitude[:, None] * basis[:, 0],
        "lead_perpendicular": lead_set.magnitude[:, None, None] * basis[:, 1:],
        "gain_sd": lead_set.gain_sd,
        "angle_cholesky": lead_set.angle_cholesky,
        "inverse_residual": 1.0 / lead_set.residual.T,
    }


def _build_pymc_model(n_leads: int, data: Mapping[str, np.ndarray]) -> Any:
    """The collapsed record model (heart vector marginalised), see the module docstring."""
    import pymc as pm
    import pytensor.tensor as pt

    coords = {"input_lead": [f"lead{i}" for i in range(n_leads)], "angle": ["first", "second"]}
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in data.items()}
        log_gain = pm.Normal("log_gain", 0.0, d["gain_sd"], dims="input_lead")
        standard_angle = pm.Normal("standard_angle_offset", 0.0, 1.0, dims=("input_lead", "angle"))
        angle_offset = pm.Deterministic(
            "angle_offset", (d["angle_cholesky"] * standard_angle[:, None, :]).sum(axis=2), dims=("input_lead", "angle")
        )
        log_noise_scale = pm.Normal("log_noise_scale", 0.0, NOISE_SCALE_PRIOR_SD)
        # Lead matrix of this record, (L, 3): gain along the lead vector, angle offsets across it.
        lead_matrix = pt.exp(log_gain)[:, None] * d["lead_direction"] + (
            angle_offset[:, :, None] * d["lead_perpendicular"]
        ).sum(axis=1)
        weights = pt.exp(-2.0 * log_noise_scale) * d["inverse_residual"]  # (B, L) noise precisions
        weighted = weights[:, :, None] * lead_matrix[None, :, :]  # (B, L, 3) = W C
        # Posterior information of p per bin: Sigma_b^-1 + C^T W_b C (3x3, inverted in closed form).
        information = d["prior_precision"] + (lead_matrix[None, :, :, None] * weighted[:, :, None, :]).sum(axis=1)
        determinant = _det3(information)
        inverse = _adjugate3(information, pt.stack) / determinant[:, None, None]
        mean_leads = (lead_matrix[None, :, :] * d["prior_mean"][:, None, :]).sum(axis=2)  # (B, L)
        # Scatter of the residuals about the prior prediction, from the sufficient statistics.
        scatter = (
            d["bin_outer"]
            - mean_leads[:, :, None] * d["bin_sum"][:, None, :]
            - d["bin_sum"][:, :, None] * mean_leads[:, None, :]
            + d["bin_count"][:, None, None] * mean_leads[:, :, None] * mean_leads[:, None, :]
        )
        diagonal = pt.stack([scatter[:, i, i] for i in range(n_leads)], axis=1)
        plain = (weights * diagonal).sum(axis=1)
        projected = (weighted[:, :, :, None] * scatter[:, :, None, :]).sum(axis=1)  # (B, 3, L)
        projected = (projected[:, :, :, None] * weighted[:, None, :, :]).sum(axis=2)  # (B, 3, 3)
        # Woodbury: e^T (C S C^T + W^-1)^-1 e = e^T W e - (C^T W e)^T A^-1 (C^T W e);
        # determinant lemma: log|C S C^T + W^-1| = -log|W| + log|S| + log|A|.
        correction = (inverse * projected.transpose(0, 2, 1)).sum(axis=(1, 2))
        log_determinant = -pt.log(weights).sum(axis=1) + d["prior_logdet"] + pt.log(determinant)
        # Power likelihood: the per-bin Gaussian treats samples as independent, but within a bin
        # they repeat one waveform beat after beat and are correlated over ~CORRELATION_TIME;
        # the weight brings the evidence down to the effective number of samples.
        pm.Potential(
            "marginal_likelihood",
            -0.5
            * d["likelihood_weight"]
            * (d["bin_count"] * (log_determinant + n_leads * math.log(2 * math.pi)) + plain - correction).sum(),
        )
    return model


_MODEL_CACHE: dict[int, Any] = {}


def _sample_nuisance(
    lead_set: LeadStatistics,
    population: PopulationModel,
    statistics: tuple[np.ndarray, np.ndarray, np.ndarray],
    likelihood_weight: float,
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    progressbar: bool,
) -> Any:
    import pymc as pm

    n_leads = len(lead_set.names)
    data = _model_data(lead_set, population, statistics, likelihood_weight)
    if n_leads not in _MODEL_CACHE:
        model = _build_pymc_model(n_leads, data)
        with model:
            # Compile the sampler once: the record's arrays are pm.Data (shared) variables, so
            # the same compiled logp and gradient serve every later record.
            step = pm.NUTS()
        _MODEL_CACHE[n_leads] = (model, step)
    model, step = _MODEL_CACHE[n_leads]
    with model:
        pm.set_data(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return pm.sample(
                draws=int(math.ceil(draws / chains)),
                tune=tune,
                chains=chains,
                cores=1,
                step=step,
                random_seed=random_seed,
                progressbar=progressbar,
                compute_convergence_checks=False,
            )


# ----------------------------------------------------------------------------------------------
# Result container
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PosteriorLeads:
    """Posterior of virtual leads (and of the heart vector) for one record.

    Attributes
    ----------
    names : tuple of str
        Requested views, each marked virtual (``"V1 (virtual)"``; views as
        ``"view(90,130) (virtual)"`` in degrees).
    fs : float
        Sampling rate, Hz.
    draws : (n_draws, n_views, n_samples) float, mV
        Exact posterior draws of the lead signals.
    heart_vector_draws : (n_draws, 3, n_samples) float, mA*m
        The matching heart-vector draws, body frame.
    input_leads : tuple of str
        Measured leads used.
    nuisance : dict of str to ndarray
        Posterior samples of the nuisance parameters (by chain and draw).
    metadata : dict
        Units, virtual flags, record name, the model's preprocessing contract.
    """

    names: tuple[str, ...]
    fs: float
    draws: np.ndarray
    heart_vector_draws: np.ndarray
    input_leads: tuple[str, ...]
    nuisance: Mapping[str, np.ndarray]
    metadata: Mapping[str, Any]

    @property
    def mean(self) -> np.ndarray:
        """(n_views, n_samples) posterior mean, mV."""
        return self.draws.mean(axis=0)

    @property
    def heart_vector_mean(self) -> np.ndarray:
        """(3, n_samples) posterior mean heart vector, mA*m."""
        return self.heart_vector_draws.mean(axis=0)

    @property
    def time(self) -> np.ndarray:
        """(n_samples,) time, s."""
        return np.arange(self.draws.shape[2]) / self.fs

    def interval(self, probability: float) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed credible interval of every view and sample.

        Parameters
        ----------
        probability : float
            Interval probability in (0, 1), e.g. 0.9 (always explicit).

        Returns
        -------
        lower, upper : (n_views, n_samples) float, mV
        """
        probability = float(probability)
        if not 0.0 < probability < 1.0:
            raise ValueError(f"probability must be in (0, 1), got {probability}")
        tail = (1.0 - probability) / 2.0
        lower, upper = np.quantile(self.draws, [tail, 1.0 - tail], axis=0)
        return lower, upper

    def lead(self, name: str) -> np.ndarray:
        """Posterior draws of one view, by name with or without the virtual mark.

        Parameters
        ----------
        name : str
            A view name as in :attr:`names` (``"V1 (virtual)"``), or without the mark (``"V1"``,
            any case).

        Returns
        -------
        draws : (n_draws, n_samples) float, mV
            A view of :attr:`draws` (not a copy).

        Raises
        ------
        ValueError
            If no view has that name; the message lists the views.
        """
        for index, full in enumerate(self.names):
            if name in (full, full.removesuffix(" (virtual)")) or name.lower() == full.removesuffix(" (virtual)").lower():
                return self.draws[:, index]
        raise ValueError(f"no view {name!r} in this posterior; views: {', '.join(self.names)}")

    def to_arviz(self) -> Any:
        """The posterior as ArviZ InferenceData with named coords and dims.

        Returns
        -------
        idata : arviz.InferenceData
            ``posterior`` holds ``lead`` (chain, draw, view, time) in mV, ``heart_vector``
            (chain, draw, axis, time) in mA*m and the nuisance parameters.
        """
        import arviz as az
        import xarray as xr

        n_draws = self.draws.shape[0]
        chains = int(self.metadata.get("chains", 1))
        per_chain = n_draws // chains
        time = self.time
        leads = self.draws[: chains * per_chain].reshape(chains, per_chain, *self.draws.shape[1:])
        vectors = self.heart_vector_draws[: chains * per_chain].reshape(chains, per_chain, *self.heart_vector_draws.shape[1:])
        data = {
            "lead": xr.DataArray(
                leads,
                dims=("chain", "draw", "view", "time"),
                coords={"view": list(self.names), "time": time},
                attrs={"units": "mV", "virtual": "all views are virtual (synthesised)"},
            ),
            "heart_vector": xr.DataArray(
                vectors,
                dims=("chain", "draw", "axis", "time"),
                coords={"axis": ["x", "y", "z"], "time": time},
                attrs={"units": "mA*m", "frame": "body: x anterior, y left, z superior"},
            ),
        }
        for name, values in self.nuisance.items():
            values = np.asarray(values)
            extra_dims = tuple(f"{name}_dim_{k}" for k in range(values.ndim - 2))
            data[name] = xr.DataArray(values[:chains, :per_chain], dims=("chain", "draw", *extra_dims))
        dataset = xr.Dataset(data, attrs={key: str(value) for key, value in self.metadata.items()})
        return az.InferenceData(posterior=dataset)

    def to_netcdf(self, path: str | Path) -> Path:
        """Write :meth:`to_arviz` to a netCDF-4 file (``InferenceData.to_netcdf``, h5netcdf engine).

        Read it back with ``arviz.from_netcdf(path)``: group ``posterior`` holds ``lead`` (chain,
        draw, view, time) in mV, ``heart_vector`` (chain, draw, axis, time) in mA*m and the
        nuisance parameters; :attr:`metadata` is kept as string attributes.

        Parameters
        ----------
        path : str or Path
            Output file (``.nc``); overwritten if it exists.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        target = Path(path)
        self.to_arviz().to_netcdf(str(target))
        return target

    def __repr__(self) -> str:
        return (
            f"<PosteriorLeads | {len(self.names)} virtual view(s) from {', '.join(self.input_leads)}, "
            f"{self.draws.shape[0]} draws x {self.draws.shape[2]} samples at {self.fs:g} Hz, mV>"
        )


# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------
def _conditional_draws(
    signals: np.ndarray,
    bins: np.ndarray,
    inputs: LeadStatistics,
    outputs: LeadStatistics,
    population: PopulationModel,
    nuisance: Mapping[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact draws of p(t) and the virtual leads given each nuisance draw."""
    log_gain = nuisance["log_gain"].reshape(-1, len(inputs.names))
    angle_offset = nuisance["angle_offset"].reshape(-1, len(inputs.names), 2)
    log_noise = nuisance["log_noise_scale"].reshape(-1)
    n_draws = len(log_noise)
    n_samples = signals.shape[1]
    prior_precision = np.linalg.inv(population.prior_covariance)
    prior_information_mean = np.einsum("bij,bj->bi", prior_precision, population.prior_mean)
    lead_draws = np.empty((n_draws, len(outputs.names), n_samples))
    vector_draws = np.empty((n_draws, 3, n_samples))
    for k in range(n_draws):
        lead_matrix = inputs.lead_matrix(log_gain[k], angle_offset[k])
        weights = np.exp(-2.0 * log_noise[k]) / inputs.residual.T  # (B, L)
        information = prior_precision + np.einsum("li,bl,lj->bij", lead_matrix, weights, lead_matrix)
        covariance = np.linalg.inv(information)  # (B, 3, 3)
        cholesky = np.linalg.cholesky(covariance)
        data_information = np.einsum("li,bl->bil", lead_matrix, weights)  # (B, 3, L)
        mean = np.einsum(
            "tij,tj->ti", covariance[bins], prior_information_mean[bins] + np.einsum("til,lt->ti", data_information[bins], signals)
        )
        vector = mean + np.einsum("tij,tj->ti", cholesky[bins], rng.standard_normal((n_samples, 3)))
        vector_draws[k] = vector.T
        # Record-level Student-t scale: a normal record most of the time, occasionally an odd one.
        tail = np.sqrt(TAIL_DEGREES_OF_FREEDOM / rng.chisquare(TAIL_DEGREES_OF_FREEDOM))
        output_matrix = outputs.centre + tail * (outputs.sample_lead_matrix(rng) - outputs.centre)
        # The views' own non-dipolar residual: the population's, not rescaled by the input fit.
        noise = tail * np.sqrt(outputs.residual[:, bins]) * rng.standard_normal((len(outputs.names), n_samples))
        lead_draws[k] = output_matrix @ vector.T + noise
    return lead_draws, vector_draws


def _keep_lead_identities(lead_draws: np.ndarray, views: Sequence[Any], inputs: Sequence[str], signals: np.ndarray) -> np.ndarray:
    """Make every draw keep the lead identities with the measured leads.

    - A view that is a combination of the inputs by definition (an input itself; III, aVR, aVL,
      aVF with I and II) is known, not inferred: every draw is that combination.
    - With a single measured limb lead ``m``, each limb lead ``v`` is ``alpha_v m + beta_v u``
      (``u`` any second direction of the limb plane). Each draw's limb leads are replaced by
      their least-squares fit of that form, with ``m`` the measurement and one ``u(t)`` per draw
      fitted over the distinct limb leads among ``views`` (the caller draws all six). The result
      does not depend on the choice of ``u``.

    Parameters
    ----------
    lead_draws : (n_draws, n_views, n_samples) float, mV
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs.
    inputs : sequence of str
        Measured leads.
    signals : (n_inputs, n_samples) float, mV
        Their signals.

    Returns
    -------
    lead_draws : (n_draws, n_views, n_samples) float, mV
    """
    combinations = input_combinations(list(views), inputs)
    known = combinations.any(axis=1)
    if known.any():
        lead_draws = lead_draws.copy()
        lead_draws[:, known] = (combinations[known] @ signals)[None]
    measured = single_limb_input(inputs)
    directions = limb_residual_directions(list(views), inputs)
    if measured is None or not directions.any():
        return lead_draws
    direction = limb_plane_coordinates([inputs[measured]])[0]
    along = limb_plane_coordinates(list(views)) @ direction / (direction @ direction)  # alpha_v (0 off the plane)
    part = along[None, :, None] * signals[measured][None, None, :]
    return part + project_limb_residuals(lead_draws - part, directions, distinct_views(views))


def predict_posterior(
    ecg: ECG,
    views: Sequence[Any],
    *,
    inputs: Sequence[str] | None = None,
    draws: int = 500,
    tune: int = 300,
    chains: int = 2,
    random_seed: int | None = None,
    progressbar: bool = True,
    population: PopulationModel | None = None,
) -> PosteriorLeads:
    """Posterior of any views (virtual leads) given the measured leads of a record.

    Parameters
    ----------
    ecg : ECG
        The record, mV; its leads named (any subset of the standard 12).
    views : sequence
        Views to synthesise: lead names (``"V1"``) or ``(theta, phi)`` pairs in radians.
    inputs : sequence of str, optional
        Measured leads to condition on (default: every usable standard lead of ``ecg``).
    draws : int
        Posterior draws in total (over all chains).
    tune : int
        NUTS tuning steps per chain.
    chains : int
        Chains (run one after the other).
    random_seed : int, optional
        Seed for NUTS and the exact conditional draws.
    progressbar : bool
        Show PyMC's progress bar.
    population : PopulationModel, optional
        Learned statistics (default: :func:`hybridfield.default_population_model`).

    Returns
    -------
    posterior : PosteriorLeads
        Signals on the prepared record's time base (:data:`hybridfield.preparation.PREPROCESSING`:
        500 Hz, band-passed 0.5-40 Hz).

    Notes
    -----
    With a single input lead the heart vector is mostly prior: the bands say so. A view that is a
    combination of the inputs by definition (an input itself; III, aVR, aVL, aVF when I and II are
    both measured) has no uncertainty: every draw is that combination of the measured signals. With
    a single measured limb lead (II with V2 and V5, say), all six limb leads are drawn and each
    draw is replaced by its least-squares fit that keeps Einthoven's and Goldberger's identities
    with the measurement, so in every draw I + III equals the measured II.
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    _check_request(views, draws, tune, chains)
    record = prepare_record(ecg, warn=True)
    return posterior_from_record(
        record, views, inputs=inputs, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
        progressbar=progressbar, population=population,
    )


def _check_request(views: Sequence[Any], draws: int, tune: int, chains: int) -> None:
    if isinstance(views, str) or not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a non-empty sequence of lead names or (theta, phi) pairs, got {views!r}")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def posterior_from_record(
    record: PreparedRecord,
    views: Sequence[Any],
    *,
    inputs: Sequence[str] | None = None,
    draws: int = 500,
    tune: int = 300,
    chains: int = 2,
    random_seed: int | None = None,
    progressbar: bool = True,
    population: PopulationModel | None = None,
) -> PosteriorLeads:
    """:func:`predict_posterior` of a record prepared once (:func:`hybridfield.preparation.prepare_record`).

    Parameters
    ----------
    record : PreparedRecord
        The prepared, segmented record.
    views, inputs, draws, tune, chains, random_seed, progressbar, population
        As :func:`predict_posterior`.

    Returns
    -------
    posterior : PosteriorLeads
    """
    population = default_population_model() if population is None else population
    _check_request(views, draws, tune, chains)
    if (float(population.fs), tuple(population.band)) != (float(PREPROCESSING["fs"]), tuple(PREPROCESSING["band_hz"])):
        raise ValueError(
            f"population was fitted at {population.fs:g} Hz, band {population.band}; records are prepared at "
            f"{PREPROCESSING['fs']:g} Hz, band {tuple(PREPROCESSING['band_hz'])}"
        )
    prepared = record.ecg
    if inputs is None:
        inputs = [name for name in population.lead_names if prepared.has_lead(name)]
        if not inputs:
            raise ValueError("no usable input lead: every lead of the record is flat, saturated or unknown")
    inputs = record.input_leads(inputs, ())
    input_set = population.leads(inputs)
    requested = list(views)
    # with a single measured limb lead, every limb lead is drawn (and the draws made to keep the
    # identities with it, below), whichever were asked for
    drawn = with_all_limb_leads(requested, inputs)
    output_set = population.views(drawn)
    names = list(output_set.names)
    signals = record.signals(inputs)
    bins, n_beats = record.phase_bins, record.n_beats
    statistics = _sufficient_statistics(signals, bins)
    likelihood_weight = 1.0 / (max(n_beats, 1) * max(1.0, CORRELATION_TIME * record.fs))
    trace = _sample_nuisance(
        input_set,
        population,
        statistics,
        likelihood_weight,
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=random_seed,
        progressbar=progressbar,
    )
    posterior = trace.posterior
    nuisance = {name: np.asarray(posterior[name].values) for name in ("log_gain", "angle_offset", "log_noise_scale")}
    if nuisance["angle_offset"].ndim == 3:  # a single input lead: restore the lead axis
        nuisance["angle_offset"] = nuisance["angle_offset"][:, :, None, :]
    rng = np.random.default_rng(random_seed)
    flat = {name: value.reshape(-1, *value.shape[2:]) for name, value in nuisance.items()}
    lead_draws, vector_draws = _conditional_draws(signals, bins, input_set, output_set, population, flat, rng)
    lead_draws = _keep_lead_identities(lead_draws, drawn, inputs, signals)[:, : len(requested)]
    return PosteriorLeads(
        names=tuple(names[: len(requested)]),
        fs=record.fs,
        draws=lead_draws,
        heart_vector_draws=vector_draws,
        input_leads=tuple(inputs),
        nuisance=nuisance,
        metadata={
            "units": "mV",
            "virtual": True,
            "record": prepared.record,
            "fs": record.fs,
            "band": population.band,
            "chains": int(posterior.sizes["chain"]),
            "angle_convention": "theta polar from +z, phi azimuth from +x towards +y, radians",
        },
    )
