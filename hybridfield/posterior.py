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
import zlib
from collections.abc import Mapping, Sequence
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
from .population import GAIN_PRIOR_SD, LeadStatistics, PopulationModel, default_population_model
from .posterior_leads import PosteriorLeads
from .preparation import PREPROCESSING, PreparedRecord, prepare_record
from .record_model import RecordModel, build_pymc_model, model_data, sufficient_statistics

__all__ = [
    "PosteriorLeads",
    "predict_posterior",
    "physical_answer",
    "physical_answer_of_signals",
    "CENTRE_DRAWS",
    "POSTERIOR_METHODS",
    "CORRELATION_TIME",
    "TAIL_DEGREES_OF_FREEDOM",
]

#: Degrees of freedom of the record-level Student-t scale mixture for virtual leads' lead-vector
#: deviations and residuals (heavy tails: a few records are far off the typical one). Chosen by
#: leave-one-record-out on the 300 usable shared records (Challenge 2021, LUDB, PTB's infarction
#: patients; inputs I, II, V5): 90 % coverage V1-V2-V3-V4-V6 0.886-0.854-0.852-0.900-0.949 at 3,
#: 0.897-0.862-0.860-0.910-0.954 at 2.5 (docs/evaluation.md section 6).
TAIL_DEGREES_OF_FREEDOM = 3.0
#: Correlation time of band-passed ECG samples, s: samples closer than this carry little new
#: information, which the effective sample size of the likelihood accounts for.
CORRELATION_TIME = 0.030


# ----------------------------------------------------------------------------------------------
# The nuisance parameters: Laplace at the mode (numpy) or NUTS (PyMC, the reference)
# ----------------------------------------------------------------------------------------------
#: Ways to draw the nuisance parameters (gains, angle offsets, noise scale): ``"laplace"``, a
#: Gaussian at the posterior mode with the inverse Hessian as covariance (numpy and scipy, no
#: compilation); ``"nuts"``, PyMC's NUTS sampler on the same density (the reference).
POSTERIOR_METHODS = ("laplace", "nuts")

_MODEL_CACHE: dict[int, Any] = {}


def _nuts_nuisance(
    data: Mapping[str, np.ndarray],
    n_leads: int,
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    progressbar: bool,
) -> dict[str, np.ndarray]:
    """NUTS draws of the nuisance parameters, by chain: ``log_gain`` (chains, per_chain, L),
    ``angle_offset`` (chains, per_chain, L, 2), ``log_noise_scale`` (chains, per_chain)."""
    import pymc as pm

    if n_leads not in _MODEL_CACHE:
        model = build_pymc_model(n_leads, data)
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
            trace = pm.sample(
                draws=int(math.ceil(draws / chains)),
                tune=tune,
                chains=chains,
                cores=1,
                step=step,
                random_seed=random_seed,
                progressbar=progressbar,
                compute_convergence_checks=False,
            )
    posterior = trace.posterior
    nuisance = {name: np.asarray(posterior[name].values) for name in ("log_gain", "angle_offset", "log_noise_scale")}
    nuisance["angle_offset"] = nuisance["angle_offset"].reshape(*nuisance["log_gain"].shape, 2)
    return nuisance


def _nuisance_mode(model: RecordModel) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode of the nuisance parameters and the Laplace factor of their covariance.

    The mode is found by quasi-Newton ascent from the prior mode on the numpy log density (the
    curvature there by central differences of the analytic gradient, then BFGS updates), each
    step halved until the density rises (a step into a region where the marginal covariance is
    not positive definite counts as a fall). The curvature at the mode, by central differences
    again, gives the covariance.

    Returns
    -------
    mode : (n_parameters,) float
    factor : (n_parameters, n_parameters) float
        ``covariance = factor @ factor.T`` (inverse curvature at the mode).
    """

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a far step: -inf below
                value, gradient = model.log_density_and_gradient(theta)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros_like(theta)
        return (value, gradient) if np.isfinite(value) and np.all(np.isfinite(gradient)) else (-np.inf, np.zeros_like(theta))

    def gradients_at(thetas: np.ndarray) -> np.ndarray:
        """Gradients at several points in one batched evaluation (zero where not finite)."""
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                values, gradients = model.log_density_and_gradient_batch(thetas)
        except np.linalg.LinAlgError:  # a point's covariance is not positive definite: each on its own
            return np.array([evaluate(theta)[1] for theta in thetas])
        bad = ~(np.isfinite(values) & np.all(np.isfinite(gradients), axis=1))
        return np.where(bad[:, None], 0.0, gradients)

    def curvature(theta: np.ndarray) -> np.ndarray:
        """-Hessian of the log density, symmetric positive definite (eigenvalues floored): central
        differences of the analytic gradient, the 2 n_parameters points in one batched evaluation."""
        step = 1e-5
        shifts = step * np.eye(model.n_parameters)
        gradients = gradients_at(np.concatenate([theta - shifts, theta + shifts]))
        matrix = (gradients[: model.n_parameters] - gradients[model.n_parameters :]) / (2 * step)
        eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
        # every parameter has a proper prior, so a flat or rising direction is rounding or a
        # region far from the mode: floor the curvature there
        return eigenvectors, np.maximum(eigenvalues, 1e-6 * max(eigenvalues.max(), 1.0))

    theta = np.zeros(model.n_parameters)  # the prior mode
    value, gradient = evaluate(theta)
    if not np.isfinite(value):
        raise RuntimeError("the record model's log density is not finite at the prior mode")
    # quasi-Newton ascent: the inverse curvature at the start, then BFGS updates; each step is
    # halved until the density rises
    eigenvectors, eigenvalues = curvature(theta)
    inverse = (eigenvectors / eigenvalues) @ eigenvectors.T
    for _ in range(200):
        step = inverse @ gradient
        scale = 1.0
        while scale > 1e-10:
            candidate = theta + scale * step
            new_value, new_gradient = evaluate(candidate)
            if new_value >= value:
                break
            scale *= 0.5
        else:
            break  # no step raises the density: at the mode to rounding
        moved, change = candidate - theta, gradient - new_gradient  # change of -gradient
        theta, improvement, value, gradient = candidate, new_value - value, new_value, new_gradient
        if improvement < 1e-10 * max(1.0, abs(value)) and np.max(np.abs(moved)) < 1e-7:
            break
        curvature_along = float(moved @ change)
        if curvature_along > 1e-12:  # BFGS update of the inverse curvature
            rho = 1.0 / curvature_along
            identity = np.eye(model.n_parameters)
            inverse = (identity - rho * np.outer(moved, change)) @ inverse @ (identity - rho * np.outer(change, moved))
            inverse += rho * np.outer(moved, moved)
    eigenvectors, eigenvalues = curvature(theta)
    return theta, eigenvectors / np.sqrt(eigenvalues)


def _nuisance_arrays(model: RecordModel, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter vectors (draws, n_parameters) as the nuisance arrays, one chain."""
    n, draws = model.n_leads, theta.shape[0]
    return {
        "log_gain": theta[None, :, :n],
        "angle_offset": model.angle_offsets(theta[:, n : 3 * n].reshape(draws, n, 2))[None],
        "log_noise_scale": theta[None, :, -1],
    }


_MODE_CACHE: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_MODE_CACHE_SIZE = 8


def _cached_mode(model: RecordModel) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_nuisance_mode`, remembered for the last few model data (the hybrid's posterior and
    its physical answer ask for the same record's mode one after the other)."""
    import hashlib

    digest = hashlib.sha1()
    for name in sorted(model.data):
        value = np.ascontiguousarray(model.data[name])
        digest.update(name.encode())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    key = digest.digest()
    if key not in _MODE_CACHE:
        if len(_MODE_CACHE) >= _MODE_CACHE_SIZE:
            _MODE_CACHE.pop(next(iter(_MODE_CACHE)))
        _MODE_CACHE[key] = _nuisance_mode(model)
    theta, factor = _MODE_CACHE[key]
    return theta.copy(), factor.copy()


def _laplace_nuisance(model: RecordModel, *, draws: int, random_seed: int | None) -> dict[str, np.ndarray]:
    """Draws of the nuisance parameters from the Laplace approximation at the posterior mode
    (:func:`_nuisance_mode`). Shapes as :func:`_nuts_nuisance` with one chain."""
    theta, factor = _cached_mode(model)
    rng = np.random.default_rng(random_seed)
    return _nuisance_arrays(model, theta + rng.standard_normal((draws, model.n_parameters)) @ factor.T)


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------
def _heart_vector_conditionals(
    inputs: LeadStatistics, population: PopulationModel, nuisance: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per nuisance draw ``k`` and phase bin ``b``, what the heart vector's Gaussian conditional needs.

    Returns
    -------
    lead_matrix : (K, L, 3) float
        The inputs' lead vectors of each draw, mV per mA*m.
    data_information : (K, B, 3, L) float
        ``C_k^T W_kb``: maps the measured leads to heart-vector information.
    covariance : (K, B, 3, 3) float
        ``(Sigma_b^-1 + C_k^T W_kb C_k)^-1``, (mA*m)^2.
    prior_information_mean : (B, 3) float
        ``Sigma_b^-1 mu_b``.
    """
    n_inputs = len(inputs.names)
    log_gain = nuisance["log_gain"].reshape(-1, n_inputs)
    angle_offset = nuisance["angle_offset"].reshape(-1, n_inputs, 2)
    log_noise = nuisance["log_noise_scale"].reshape(-1)
    prior_precision = np.linalg.inv(population.prior_covariance)  # (B, 3, 3)
    prior_information_mean = np.einsum("bij,bj->bi", prior_precision, population.prior_mean)
    lead_matrix = inputs.lead_matrix(log_gain, angle_offset)  # (K, L, 3)
    weights = np.exp(-2.0 * log_noise)[:, None, None] / inputs.residual.T[None]  # (K, B, L)
    data_information = np.einsum("kli,kbl->kbil", lead_matrix, weights)  # (K, B, 3, L)
    covariance = np.linalg.inv(prior_precision[None] + data_information @ lead_matrix[:, None])  # (K, B, 3, 3)
    return lead_matrix, data_information, covariance, prior_information_mean


#: Nuisance draws (Laplace, a fixed seed) over which the physical answer averages the heart
#: vector's conditional mean and the views' lead vectors: the posterior's centre without its
#: Gaussian spread, the same on every call.
CENTRE_DRAWS = 256
_CENTRE_SEED = 20261206


def _one_view(outputs: LeadStatistics, index: int) -> LeadStatistics:
    """The statistics of one view of a set."""
    part = slice(index, index + 1)
    return LeadStatistics(
        names=outputs.names[part], nominal=outputs.nominal[part], bias=outputs.bias[part], covariance=outputs.covariance[part],
        residual=outputs.residual[part], population_index=tuple(outputs.population_index[part]),
    )


def _conditional_centre(
    signals: np.ndarray,
    bins: np.ndarray,
    inputs: LeadStatistics,
    outputs: LeadStatistics,
    population: PopulationModel,
    nuisance: Mapping[str, np.ndarray],
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean of the views and the heart vector, Rao-Blackwellised over the Gaussian parts.

    Per nuisance draw ``k`` the heart vector's conditional mean ``(Sigma_b^-1 + C_k^T W_kb
    C_k)^-1 (C_k^T W_kb x(t) + Sigma_b^-1 mu_b)`` is exact, and so is the zero mean of the views'
    own residual; only the nuisance parameters and the views' lead vectors (with their Student-t
    scale) are averaged over draws. The draws of :func:`_conditional_draws` scatter around this.

    Returns
    -------
    leads : (n_views, n_samples) float, mV
    heart_vector : (3, n_samples) float, mA*m
    """
    lead_matrix, data_information, covariance, prior_information_mean = _heart_vector_conditionals(inputs, population, nuisance)
    n_draws = lead_matrix.shape[0]
    # each view's lead vectors from its own random stream, so a view's answer does not depend on
    # which other views were asked for (the centre needs each view's marginal only)
    output_matrix = np.empty((n_draws, len(outputs.names), 3))
    for v, name in enumerate(outputs.names):
        view_rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        tail = np.sqrt(TAIL_DEGREES_OF_FREEDOM / view_rng.chisquare(TAIL_DEGREES_OF_FREEDOM, size=n_draws))
        view = _one_view(outputs, v)
        output_matrix[:, v] = view.centre[0] + tail[:, None] * _output_deviations(inputs, view, population, lead_matrix, view_rng)[:, 0]
    # p_k(t) = A_kb x(t) + c_kb in bin b, so mean_k M_k p_k(t) = (mean_k M_k A_kb) x(t) + mean_k M_k c_kb:
    # the average over draws is taken on the small matrices, never on (K, 3, T) signals
    gain = covariance @ data_information  # A_kb, (K, B, 3, L)
    offset = covariance @ prior_information_mean[None, :, :, None]  # c_kb, (K, B, 3, 1)
    view_gain = np.einsum("kvi,kbil->bvl", output_matrix, gain) / n_draws  # (B, V, L)
    view_offset = np.einsum("kvi,kbi->bv", output_matrix, offset[..., 0]) / n_draws  # (B, V)
    vector_gain, vector_offset = gain.mean(axis=0), offset[..., 0].mean(axis=0)  # (B, 3, L), (B, 3)
    leads = np.empty((len(outputs.names), signals.shape[1]))
    vector = np.empty((3, signals.shape[1]))
    for b in np.unique(bins):
        samples = np.flatnonzero(bins == b)
        leads[:, samples] = view_gain[b] @ signals[:, samples] + view_offset[b][:, None]
        vector[:, samples] = vector_gain[b] @ signals[:, samples] + vector_offset[b][:, None]
    return leads, vector


def _conditional_draws(
    signals: np.ndarray,
    bins: np.ndarray,
    inputs: LeadStatistics,
    outputs: LeadStatistics,
    population: PopulationModel,
    nuisance: Mapping[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact draws of p(t) and the virtual leads given each nuisance draw, all draws at once.

    Per draw ``k`` and phase bin ``b`` the heart vector's conditional is Gaussian with information
    ``Sigma_b^-1 + C_k^T W_kb C_k`` (3 x 3); samples are grouped by bin so every product is a
    batched matrix product over the draws.
    """
    n_inputs = len(inputs.names)
    n_draws, n_samples = nuisance["log_noise_scale"].size, signals.shape[1]
    lead_matrix, data_information, covariance, prior_information_mean = _heart_vector_conditionals(inputs, population, nuisance)
    cholesky = np.linalg.cholesky(covariance)
    # samples sorted by bin, so each bin is one contiguous block: one matrix product over all
    # draws per bin, (K * 3, L) @ (L, n_b), then batched 3 x 3 products scattered into place
    order = np.argsort(bins, kind="stable")
    edges = np.searchsorted(bins[order], np.arange(len(prior_information_mean) + 1))
    # single precision for the standard normals: they are most of the cost, and 7 digits suffice
    standard = rng.standard_normal((n_draws, 3, n_samples), dtype=np.float32)
    vector_draws = np.empty((n_draws, 3, n_samples))
    for b, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        if high == low:
            continue
        samples = order[low:high]
        information = (data_information[:, b].reshape(-1, n_inputs) @ signals[:, samples]).reshape(n_draws, 3, -1)
        information += prior_information_mean[b][None, :, None]
        block = covariance[:, b] @ information  # conditional mean
        block += cholesky[:, b] @ standard[:, :, low:high]  # plus its Gaussian spread
        vector_draws[:, :, samples] = block
    del standard
    # Record-level Student-t scale: a normal record most of the time, occasionally an odd one.
    tail = np.sqrt(TAIL_DEGREES_OF_FREEDOM / rng.chisquare(TAIL_DEGREES_OF_FREEDOM, size=n_draws))
    output_matrix = outputs.centre + tail[:, None, None] * _output_deviations(inputs, outputs, population, lead_matrix, rng)
    lead_draws = output_matrix @ vector_draws  # (K, V, 3) @ (K, 3, T)
    # The views' own non-dipolar residual: the population's, not rescaled by the input fit.
    noise = rng.standard_normal((n_draws, len(outputs.names), n_samples), dtype=np.float32)
    noise *= np.sqrt(outputs.residual[:, bins]).astype(np.float32)[None]
    noise *= tail.astype(np.float32)[:, None, None]
    lead_draws += noise
    return lead_draws, vector_draws


def _output_deviations(
    inputs: LeadStatistics,
    outputs: LeadStatistics,
    population: PopulationModel,
    input_matrix: np.ndarray,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Draws (K, V, 3) of the views' lead-vector deviations from their population centre.

    Independent of the inputs without a learned correlation (or for ``(theta, phi)`` views);
    otherwise, for named views, drawn from their Gaussian conditional given the inputs' deviations
    of each draw (``input_matrix`` (K, L, 3) minus the inputs' centre), both whitened by the
    leads' own population scatter: ``e_out | e_in ~ N(R_oi R_ii^-1 e_in, R_oo - R_oi R_ii^-1 R_io)``
    with ``R`` :attr:`PopulationModel.deviation_correlation`, times an amplifier gain spread of
    :data:`hybridfield.population.GAIN_PRIOR_SD`. Without ``rng``, the conditional mean: zero
    for views without a learned correlation, ``R_oi R_ii^-1 e_in`` (unwhitened) for the others.
    """
    n_draws = input_matrix.shape[0]
    if rng is None:
        deviation = np.zeros((n_draws, len(outputs.names), 3))
    else:
        deviation = outputs.sample_lead_matrix(rng, n_draws) - outputs.centre
    correlation = population.deviation_correlation
    index = np.asarray(outputs.population_index, dtype=int)
    named = np.flatnonzero(index >= 0) if index.size else np.array([], dtype=int)
    if correlation is None or named.size == 0 or not inputs.population_index:
        return deviation
    blocks = correlation.reshape(len(population.lead_names), 3, len(population.lead_names), 3)
    given = list(inputs.population_index)
    wanted = list(index[named])

    def block(rows: list[int], columns: list[int]) -> np.ndarray:
        return blocks[np.ix_(rows, range(3), columns, range(3))].reshape(3 * len(rows), 3 * len(columns))

    factors = np.linalg.cholesky(population.lead_covariance)
    whitened = np.linalg.solve(factors[given][None], (input_matrix - inputs.centre)[..., None])[..., 0].reshape(n_draws, -1)
    regression = np.linalg.solve(block(given, given), block(given, wanted)).T  # R_oi R_ii^-1
    remaining = block(wanted, wanted) - regression @ block(given, wanted)
    spread = np.linalg.cholesky(0.5 * (remaining + remaining.T) + 1e-9 * np.eye(len(remaining)))
    drawn = whitened @ regression.T
    if rng is not None:
        drawn = drawn + rng.standard_normal((n_draws, len(remaining))) @ spread.T
    conditional = np.einsum("vij,kvj->kvi", factors[wanted], drawn.reshape(n_draws, len(wanted), 3))
    if rng is None:
        deviation[:, named] = conditional
        return deviation
    amplifier = np.exp(GAIN_PRIOR_SD * rng.standard_normal((n_draws, len(wanted))))[..., None]
    centre = outputs.centre[named]
    deviation[:, named] = (centre + conditional) * amplifier - centre
    return deviation


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
    ecg: ECG | PreparedRecord,
    views: Sequence[Any],
    *,
    inputs: Sequence[str] | None = None,
    draws: int = 500,
    tune: int = 300,
    chains: int = 2,
    random_seed: int | None = None,
    progressbar: bool = True,
    population: PopulationModel | None = None,
    method: str = "laplace",
) -> PosteriorLeads:
    """Posterior of any views (virtual leads) given the measured leads of a record.

    Parameters
    ----------
    ecg : ECG or PreparedRecord
        The record, mV; its leads named (any subset of the standard 12). A record prepared once
        (:func:`hybridfield.preparation.prepare_record`) is used as it is, so a caller that asks
        several questions of one record prepares and segments it once.
    views : sequence
        Views to synthesise: lead names (``"V1"``) or ``(theta, phi)`` pairs in radians.
    inputs : sequence of str, optional
        Measured leads to condition on (default: every usable standard lead of ``ecg``).
    draws : int
        Posterior draws in total (over all chains).
    tune : int
        NUTS tuning steps per chain (``method="nuts"`` only).
    chains : int
        Chains, run one after the other (``method="nuts"`` only; the Laplace draws are one chain).
    random_seed : int, optional
        Seed for the nuisance draws and the exact conditional draws.
    progressbar : bool
        Show PyMC's progress bar (``method="nuts"`` only).
    population : PopulationModel, optional
        Learned statistics (default: :func:`hybridfield.default_population_model`).
    method : {"laplace", "nuts"}
        How the nuisance parameters (input gains, angle offsets, noise scale) are drawn:
        ``"laplace"`` (default), a Gaussian at their posterior mode with the inverse Hessian of the
        log density as covariance (numpy, no compilation, a fraction of a second); ``"nuts"``,
        PyMC's NUTS sampler on the same density (the reference; seconds, a compilation per number
        of input leads). The heart vector and the virtual leads are drawn exactly given them
        either way; docs/evaluation.md compares the two modes' calibration.

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
    if not isinstance(ecg, (ECG, PreparedRecord)):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    _check_request(views, draws, tune, chains, method)
    population = default_population_model() if population is None else population
    record = ecg if isinstance(ecg, PreparedRecord) else prepare_record(ecg, warn=True)
    return _posterior(record, views, inputs, population, draws, tune, chains, random_seed, progressbar, method)


def _check_request(views: Sequence[Any], draws: int, tune: int, chains: int, method: str) -> None:
    if isinstance(views, str) or not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a non-empty sequence of lead names or (theta, phi) pairs, got {views!r}")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if method not in POSTERIOR_METHODS:
        raise ValueError(f"method must be one of {POSTERIOR_METHODS}, got {method!r}")


def _check_population(population: PopulationModel) -> None:
    if (float(population.fs), tuple(population.band)) != (float(PREPROCESSING["fs"]), tuple(PREPROCESSING["band_hz"])):
        raise ValueError(
            f"population was fitted at {population.fs:g} Hz, band {population.band}; records are prepared at "
            f"{PREPROCESSING['fs']:g} Hz, band {tuple(PREPROCESSING['band_hz'])}"
        )


def _record_setup(record: PreparedRecord, views: Sequence[Any], inputs: Sequence[str] | None, population: PopulationModel) -> tuple:
    """Inputs, their and the drawn views' statistics, the input signals, phase bins and model data."""
    _check_population(population)
    prepared = record.ecg
    if inputs is None:
        inputs = [name for name in population.lead_names if prepared.has_lead(name)]
        if not inputs:
            raise ValueError("no usable input lead: every lead of the record is flat, saturated or unknown")
    inputs = record.input_leads(inputs, ())
    # with a single measured limb lead, every limb lead is drawn (and the draws made to keep the
    # identities with it), whichever were asked for
    drawn = with_all_limb_leads(list(views), inputs)
    signals = record.signals(inputs)
    input_set, output_set, data = _model_inputs(signals, inputs, drawn, record.phase_bins, record.n_beats, record.fs, population)
    return inputs, input_set, drawn, output_set, signals, record.phase_bins, data


def _model_inputs(
    signals: np.ndarray, inputs: Sequence[str], views: Sequence[Any], bins: np.ndarray, n_beats: int, fs: float,
    population: PopulationModel,
) -> tuple[LeadStatistics, LeadStatistics, dict[str, np.ndarray]]:
    input_set = population.leads(inputs)
    output_set = population.views(list(views))
    statistics = sufficient_statistics(signals, bins)
    likelihood_weight = 1.0 / (max(n_beats, 1) * max(1.0, CORRELATION_TIME * fs))
    return input_set, output_set, model_data(input_set, population, statistics, likelihood_weight)


def physical_answer_of_signals(
    signals: np.ndarray,
    inputs: Sequence[str],
    views: Sequence[Any],
    phase_bins: np.ndarray,
    n_beats: int,
    fs: float,
    population: PopulationModel,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`physical_answer` from the measured signals and phase bins (simulated records).

    Parameters
    ----------
    signals : (n_inputs, n_samples) float, mV
        Measured leads, prepared (500 Hz, 0.5-40 Hz).
    inputs : sequence of str
        Their names.
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs, radians.
    phase_bins : (n_samples,) int
        :func:`hybridfield.phases.phase_bins` of the record.
    n_beats : int
        Beats in the record (the likelihood's effective sample size).
    fs : float
        Sampling rate, Hz.
    population : PopulationModel

    Returns
    -------
    leads : (n_views, n_samples) float, mV
    heart_vector : (3, n_samples) float, mA*m
    """
    _check_population(population)
    signals = np.asarray(signals, dtype=np.float64)
    inputs = list(inputs)
    drawn = with_all_limb_leads(list(views), inputs)
    input_set, output_set, data = _model_inputs(signals, inputs, drawn, phase_bins, n_beats, fs, population)
    return _answer_at_mode(signals, inputs, drawn, input_set, output_set, phase_bins, data, population, len(views))


def _answer_at_mode(signals, inputs, drawn, input_set, output_set, bins, data, population, n_requested):
    """The posterior's centre (:func:`_conditional_centre`) over :data:`CENTRE_DRAWS` Laplace draws, a fixed seed."""
    nuisance = _laplace_nuisance(RecordModel(data), draws=CENTRE_DRAWS, random_seed=_CENTRE_SEED)
    flat = {name: value.reshape(-1, *value.shape[2:]) for name, value in nuisance.items()}
    leads, vector = _conditional_centre(signals, bins, input_set, output_set, population, flat, _CENTRE_SEED + 1)
    leads = _keep_lead_identities(leads[None], drawn, inputs, signals)[0, :n_requested]
    return leads, vector


def physical_answer(
    ecg: ECG | PreparedRecord,
    views: Sequence[Any],
    *,
    inputs: Sequence[str] | None = None,
    population: PopulationModel | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The physical answer: the posterior mean of the record model's heart vector and views.

    The same model as :func:`predict_posterior` (population prior per phase bin, the population's
    lead vectors of the inputs and views, this record's gains and angle offsets), evaluated at
    its centre instead of drawn: per draw of the nuisance parameters (:data:`CENTRE_DRAWS`
    Laplace draws from a fixed seed, so every call gives the same answer) the heart vector's
    conditional mean, projected through each view's lead vector drawn from the population;
    averaged over the draws. Views that are combinations of the inputs are that combination; with a
    single measured limb lead the limb leads keep Einthoven's and Goldberger's identities with it.
    This is what :meth:`hybridfield.HybridPanorama.physical` returns and what the learned residual
    corrects; the posterior's draws scatter around it.

    Parameters
    ----------
    ecg : ECG or PreparedRecord
        The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).
    views : sequence
        Lead names and/or ``(theta, phi)`` pairs, radians.
    inputs : sequence of str, optional
        Measured leads (default: every usable standard lead).
    population : PopulationModel, optional
        Default: :func:`hybridfield.default_population_model`.

    Returns
    -------
    leads : (n_views, n_samples) float, mV
        On the prepared record's time base (500 Hz).
    heart_vector : (3, n_samples) float, mA*m
        Body frame.
    """
    if not isinstance(ecg, (ECG, PreparedRecord)):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    if isinstance(views, str) or not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a non-empty sequence of lead names or (theta, phi) pairs, got {views!r}")
    population = default_population_model() if population is None else population
    record = ecg if isinstance(ecg, PreparedRecord) else prepare_record(ecg, warn=True)
    inputs, input_set, drawn, output_set, signals, bins, data = _record_setup(record, views, inputs, population)
    return _answer_at_mode(signals, inputs, drawn, input_set, output_set, bins, data, population, len(views))


def _posterior(
    record: PreparedRecord,
    views: Sequence[Any],
    inputs: Sequence[str] | None,
    population: PopulationModel,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    progressbar: bool,
    method: str,
) -> PosteriorLeads:
    """The posterior of a prepared record (the body of :func:`predict_posterior`)."""
    prepared = record.ecg
    inputs, input_set, drawn, output_set, signals, bins, data = _record_setup(record, views, inputs, population)
    requested = list(views)
    names = list(output_set.names)
    if method == "nuts":
        nuisance = _nuts_nuisance(
            data, len(inputs), draws=draws, tune=tune, chains=chains, random_seed=random_seed, progressbar=progressbar
        )
    else:
        nuisance = _laplace_nuisance(RecordModel(data), draws=draws, random_seed=random_seed)
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
            "chains": int(nuisance["log_noise_scale"].shape[0]),
            "method": method,
            "angle_convention": "theta polar from +z, phi azimuth from +x towards +y, radians",
        },
    )
