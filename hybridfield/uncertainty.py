"""Uncertainty-aware virtual leads: a population model learned from records and a PyMC posterior.

The model of one record, sample by sample (t) in phase bin b(t) (:mod:`hybridfield.phases`):

    y_l(t) = g_l (c_l + beta_l + L_l eta_l) . p(t) + e_l(t),   e_l(t) ~ N(0, s^2 r_{l, b(t)})
    p(t) ~ N(mu_b, Sigma_b)

- ``p(t)`` (mA*m) is the heart vector. Its prior per phase bin (mean and covariance across
  records) is learned from training records, so a component the measured leads cannot see
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

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geometry.validation import as_positive_scalar

from .data import ECG, canonical_lead_name
from .phases import N_PHASE_BINS, PHASE_BIN_NAMES, phase_bins

__all__ = [
    "PopulationModel",
    "PosteriorLeads",
    "fit_population_model",
    "default_population_model",
    "predict_posterior",
    "prepare_ecg",
    "record_phase_bins",
    "GAIN_PRIOR_SD",
    "NOISE_SCALE_PRIOR_SD",
    "CORRELATION_TIME",
    "TAIL_DEGREES_OF_FREEDOM",
]

#: Prior standard deviation of log gains (amplifier/contact gain spread of a few percent).
GAIN_PRIOR_SD = 0.03
#: Prior standard deviation of the log residual scale s.
NOISE_SCALE_PRIOR_SD = 0.5
#: Degrees of freedom of the record-level Student-t scale mixture for virtual leads' lead-vector
#: deviations and residuals (heavy tails: a few records are far off the typical one).
TAIL_DEGREES_OF_FREEDOM = 4.0
#: Correlation time of band-passed ECG samples, s: samples closer than this carry little new
#: information, which the effective sample size of the likelihood accounts for.
CORRELATION_TIME = 0.030
#: Leads from which training heart vectors are estimated (the eight independent ones).
_INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
_STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_RESOURCE = Path(__file__).with_name("resources") / "population_default.json"


# ----------------------------------------------------------------------------------------------
# Preprocessing shared by training and prediction
# ----------------------------------------------------------------------------------------------
def prepare_ecg(ecg: ECG, *, fs: float, band: tuple[float, float], warn: bool = True) -> ECG:
    """Resample to ``fs``, band-pass to ``band`` and drop flat or saturated leads.

    Parameters
    ----------
    ecg : ECG
        The record.
    fs : float
        Target sampling rate, Hz.
    band : (float, float)
        Band-pass corner frequencies, Hz.
    warn : bool
        Warn when leads are dropped.

    Returns
    -------
    ecg : ECG
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    prepared = ecg.drop_unusable(warn=warn)
    if abs(prepared.fs - fs) > 1e-9:
        prepared = prepared.resample(fs)
    return prepared.bandpass(band[0], band[1])


def record_phase_bins(ecg: ECG, *, return_beats: bool = False) -> np.ndarray | tuple[np.ndarray, int]:
    """Phase-bin label of every sample of a record, from robustly detected R peaks.

    Parameters
    ----------
    ecg : ECG
        The record (at least one usable lead).
    return_beats : bool
        Also return the number of beats found.

    Returns
    -------
    labels : (n_samples,) int
    n_beats : int
        Only with ``return_beats``.
    """
    from .beats import segment_beats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segmentation = segment_beats(ecg)
    peaks = np.asarray(segmentation.r_peak)
    peaks = np.unique(peaks[peaks >= 0])
    labels = phase_bins(peaks, ecg.n_samples, ecg.fs)
    return (labels, int(peaks.size)) if return_beats else labels


# ----------------------------------------------------------------------------------------------
# Population model
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PopulationModel:
    """What training records teach about heart vectors and lead vectors.

    Attributes
    ----------
    lead_names : tuple of str
        Leads with learned statistics.
    nominal_lead_vectors : (n_leads, 3) float, mV per mA*m
        Lead vectors on the default torso, body frame.
    lead_bias : (n_leads, 3) float, mV per mA*m
        Mean of (record's fitted lead vector - nominal) over training records.
    lead_covariance : (n_leads, 3, 3) float, (mV per mA*m)^2
        Covariance of that difference across records.
    residual_variance : (n_leads, n_bins) float, mV^2
        Per-bin variance that a single dipole does not explain.
    prior_mean : (n_bins, 3) float, mA*m
        Heart-vector mean per phase bin.
    prior_covariance : (n_bins, 3, 3) float, (mA*m)^2
        Heart-vector covariance per phase bin.
    fs : float
        Sampling rate the model works at, Hz.
    band : (float, float)
        Band-pass applied before everything, Hz.
    training_records : tuple of str
        Record names used for training.
    sigma : float
        Torso conductivity used for the nominal lead vectors, S/m.
    metadata : mapping
        Free, JSON-serialisable information about the fit (torso used, shrinkage...).
    """

    lead_names: tuple[str, ...]
    nominal_lead_vectors: np.ndarray
    lead_bias: np.ndarray
    lead_covariance: np.ndarray
    residual_variance: np.ndarray
    prior_mean: np.ndarray
    prior_covariance: np.ndarray
    fs: float
    band: tuple[float, float]
    training_records: tuple[str, ...] = ()
    sigma: float = 0.2
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<PopulationModel | {len(self.lead_names)} leads, {self.prior_mean.shape[0]} phase bins, "
            f"{len(self.training_records)} training records, {self.fs:g} Hz, band {self.band[0]:g}-{self.band[1]:g} Hz>"
        )

    # Generic statistics for views without training data: relative to the nominal magnitude.
    def _relative_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        magnitude_squared = np.sum(self.nominal_lead_vectors**2, axis=1)
        precordial = [i for i, name in enumerate(self.lead_names) if name.startswith("V")]
        index = precordial or list(range(len(self.lead_names)))
        relative_covariance = np.mean(self.lead_covariance[index] / magnitude_squared[index, None, None], axis=0)
        relative_residual = np.mean(self.residual_variance[index] / magnitude_squared[index, None], axis=0)
        return relative_covariance, relative_residual

    def lead_statistics(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Nominal lead vector, bias, covariance and residual variance of a trained lead.

        Parameters
        ----------
        name : str
            Lead name (case-insensitive).

        Returns
        -------
        nominal : (3,) float
        bias : (3,) float
        covariance : (3, 3) float
        residual_variance : (n_bins,) float
        """
        key = canonical_lead_name(name)
        if key not in self.lead_names:
            raise ValueError(f"lead {name!r} has no population statistics; known: {', '.join(self.lead_names)}")
        i = self.lead_names.index(key)
        return self.nominal_lead_vectors[i], self.lead_bias[i], self.lead_covariance[i], self.residual_variance[i]

    def view_statistics(self, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Statistics for a view with no training data, scaled to its nominal lead vector.

        Parameters
        ----------
        nominal : (3,) float, mV per mA*m
            The view's physical lead vector.

        Returns
        -------
        nominal, bias, covariance, residual_variance
            As :meth:`lead_statistics`, with zero bias.
        """
        relative_covariance, relative_residual = self._relative_statistics()
        magnitude_squared = float(np.sum(nominal**2))
        return nominal, np.zeros(3), relative_covariance * magnitude_squared, relative_residual * magnitude_squared

    # -- persistence (plain JSON: no pickles) ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with the preprocessing contract (fs, band, units, frame).

        Returns
        -------
        data : dict
            ``format`` ("hybridfield.PopulationModel/1"), ``units``, ``frame``,
            ``angle_convention``, ``phase_bins`` and every attribute as plain lists and numbers
            (lead vectors in mV per mA*m, heart-vector statistics in mA*m and (mA*m)^2, residual
            variances in mV^2, ``fs`` and ``band`` in Hz, ``sigma`` in S/m); :meth:`from_dict`
            restores the model.
        """
        return {
            "format": "hybridfield.PopulationModel/1",
            "units": {"signals": "mV", "heart_vector": "mA*m", "lead_vectors": "mV per mA*m", "fs": "Hz"},
            "frame": "body: x anterior, y left, z superior; origin at the heart's electrical centre",
            "angle_convention": "theta polar from +z, phi azimuth from +x towards +y, radians",
            "phase_bins": list(PHASE_BIN_NAMES),
            "lead_names": list(self.lead_names),
            "nominal_lead_vectors": self.nominal_lead_vectors.tolist(),
            "lead_bias": self.lead_bias.tolist(),
            "lead_covariance": self.lead_covariance.tolist(),
            "residual_variance": self.residual_variance.tolist(),
            "prior_mean": self.prior_mean.tolist(),
            "prior_covariance": self.prior_covariance.tolist(),
            "fs": self.fs,
            "band": list(self.band),
            "training_records": list(self.training_records),
            "sigma": self.sigma,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PopulationModel":
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict` (or the same structure read back from JSON); its
            ``format`` must be "hybridfield.PopulationModel/1" and its ``phase_bins`` those of this
            version (:data:`hybridfield.phases.PHASE_BIN_NAMES`).

        Returns
        -------
        model : PopulationModel

        Raises
        ------
        ValueError
            If the format or the phase bins do not match.
        """
        if data.get("format") != "hybridfield.PopulationModel/1":
            raise ValueError(f"not a hybridfield population model (format {data.get('format')!r})")
        if list(data["phase_bins"]) != list(PHASE_BIN_NAMES):
            raise ValueError("the population model was trained with other phase bins than this version uses")
        return cls(
            lead_names=tuple(data["lead_names"]),
            nominal_lead_vectors=np.asarray(data["nominal_lead_vectors"], dtype=float),
            lead_bias=np.asarray(data["lead_bias"], dtype=float),
            lead_covariance=np.asarray(data["lead_covariance"], dtype=float),
            residual_variance=np.asarray(data["residual_variance"], dtype=float),
            prior_mean=np.asarray(data["prior_mean"], dtype=float),
            prior_covariance=np.asarray(data["prior_covariance"], dtype=float),
            fs=float(data["fs"]),
            band=(float(data["band"][0]), float(data["band"][1])),
            training_records=tuple(data.get("training_records", ())),
            sigma=float(data.get("sigma", 0.2)),
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: str | Path) -> None:
        """Write the model as JSON.

        Parameters
        ----------
        path : str or Path
            Output file.
        """
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> "PopulationModel":
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            JSON file.

        Returns
        -------
        model : PopulationModel
        """
        return cls.from_dict(json.loads(Path(path).read_text()))


def _nominal_lead_vectors(names: Sequence[str], sigma: float) -> np.ndarray:
    from forward import lead_vectors

    vectors = lead_vectors(_default_torso_cached(), list(names), sigma=sigma)
    return np.array([vectors[name] for name in names])


_TORSO: list[Any] = []


def _default_torso_cached() -> Any:
    from geometry import default_torso

    if not _TORSO:
        _TORSO.append(default_torso())
    return _TORSO[0]


def fit_population_model(
    ecgs: Sequence[ECG],
    *,
    fs: float = 500.0,
    band: tuple[float, float] = (0.5, 40.0),
    sigma: float = 0.2,
    shrinkage: float = 0.1,
) -> PopulationModel:
    """Learn heart-vector priors and lead-vector variability from 12-lead records.

    For each record: preprocess (:func:`prepare_ecg`), label phase bins from the R peaks,
    estimate the heart vector by least squares from the independent leads available
    (I, II, V1..V6) through the default torso's lead vectors, then fit that record's own lead
    vector for every lead (least squares of the lead on the heart vector). Across records:
    per-bin heart-vector mean and covariance, per-lead mean and covariance of the lead-vector
    difference, and per-bin residual variance.

    Parameters
    ----------
    ecgs : sequence of ECG
        Training records with standard leads (at least 3 usable independent ones each).
    fs : float
        Working sampling rate, Hz.
    band : (float, float)
        Band-pass, Hz.
    sigma : float
        Torso conductivity for the nominal lead vectors, S/m.
    shrinkage : float
        Weight of the pooled covariance mixed into each bin's heart-vector covariance (0..1),
        which keeps sparse bins positive definite.

    Returns
    -------
    model : PopulationModel
    """
    fs = as_positive_scalar(fs, "fs", "Hz")
    if len(ecgs) < 3:
        raise ValueError(f"ecgs must hold at least 3 records to learn population statistics, got {len(ecgs)}")
    names = _STANDARD_LEADS
    nominal = _nominal_lead_vectors(names, sigma)
    heart_vectors: list[np.ndarray] = []
    bins_all: list[np.ndarray] = []
    deviations: dict[str, list[np.ndarray]] = {name: [] for name in names}
    residual_per_record: list[list[np.ndarray]] = [[] for _ in names]  # per lead: (B,) arrays
    records = []
    for ecg in ecgs:
        prepared = prepare_ecg(ecg, fs=fs, band=band, warn=False)
        available = [name for name in _INDEPENDENT_LEADS if prepared.has_lead(name)]
        if len(available) < 3:
            continue
        bins = record_phase_bins(prepared)
        lead_index = [names.index(name) for name in available]
        signals = np.array([prepared[name] for name in available])
        heart_vector = np.linalg.lstsq(nominal[lead_index], signals, rcond=None)[0]  # (3, n)
        heart_vectors.append(heart_vector)
        bins_all.append(bins)
        records.append(str(prepared.record or f"record{len(records)}"))
        for i, name in enumerate(names):
            if not prepared.has_lead(name):
                continue
            signal = prepared[name]
            own = np.linalg.lstsq(heart_vector.T, signal, rcond=None)[0]
            deviations[name].append(own - nominal[i])
            residual = signal - own @ heart_vector
            counts = np.bincount(bins, minlength=N_PHASE_BINS)
            sums = np.bincount(bins, weights=residual**2, minlength=N_PHASE_BINS)
            residual_per_record[i].append(np.where(counts >= 5, sums / np.maximum(counts, 1), np.nan))
    if len(records) < 3:
        raise ValueError("fewer than 3 records had 3 usable independent leads; cannot learn population statistics")
    # Heart-vector prior per bin, shrunk towards the pooled covariance.
    stacked = np.concatenate(heart_vectors, axis=1)
    labels = np.concatenate(bins_all)
    pooled = np.cov(stacked)
    prior_mean = np.zeros((N_PHASE_BINS, 3))
    prior_covariance = np.zeros((N_PHASE_BINS, 3, 3))
    for b in range(N_PHASE_BINS):
        members = stacked[:, labels == b]
        if members.shape[1] < 10:
            prior_mean[b] = stacked.mean(axis=1)
            prior_covariance[b] = pooled
            continue
        prior_mean[b] = members.mean(axis=1)
        prior_covariance[b] = (1 - shrinkage) * np.cov(members) + shrinkage * np.trace(np.cov(members)) / 3 * np.eye(3)
    # Records differ in heavy-tailed ways (a few have lead vectors several times off the torso's):
    # robust location and scatter (minimum covariance determinant) describe the typical record,
    # and prediction draws record-level Student-t scale factors for the tails.
    lead_bias = np.zeros((len(names), 3))
    lead_covariance = np.zeros((len(names), 3, 3))
    for i, name in enumerate(names):
        values = np.array(deviations[name])
        location, spread = _robust_location_scatter(values, nominal[i])
        lead_bias[i] = location
        lead_covariance[i] = (1 - shrinkage) * spread + shrinkage * np.trace(spread) / 3 * np.eye(3)
    residual_variance = np.zeros((len(names), N_PHASE_BINS))
    for i in range(len(names)):
        per_record = np.array(residual_per_record[i])  # (records, B), NaN where a bin was empty
        typical = np.nanmedian(per_record, axis=0)
        fallback = np.nanmedian(per_record)
        residual_variance[i] = np.where(np.isfinite(typical), typical, fallback)
    residual_variance = np.maximum(residual_variance, 1e-8)
    return PopulationModel(
        lead_names=names,
        nominal_lead_vectors=nominal,
        lead_bias=lead_bias,
        lead_covariance=lead_covariance,
        residual_variance=residual_variance,
        prior_mean=prior_mean,
        prior_covariance=prior_covariance,
        fs=fs,
        band=(float(band[0]), float(band[1])),
        training_records=tuple(records),
        sigma=sigma,
        metadata={"torso": "geometry.default_torso()", "shrinkage": shrinkage},
    )


def _robust_location_scatter(values: np.ndarray, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-covariance-determinant location and scatter of (n_records, 3) deviations."""
    if len(values) < 8:
        return values.mean(axis=0) if len(values) else np.zeros(3), np.eye(3) * np.sum(nominal**2) * 0.04
    from sklearn.covariance import MinCovDet

    estimate = MinCovDet(random_state=0).fit(values)
    return estimate.location_, estimate.covariance_


def default_population_model() -> PopulationModel:
    """The population model bundled with the package (trained on the shared PTB and
    PhysioNet Challenge 2021 records; reproduce with ``python -m hybridfield.train_population``).

    Returns
    -------
    model : PopulationModel
    """
    if not _RESOURCE.exists():
        raise FileNotFoundError(
            f"the bundled population model {_RESOURCE} is missing; rebuild it with "
            "`python -m hybridfield.train_population`"
        )
    return PopulationModel.load(_RESOURCE)


# ----------------------------------------------------------------------------------------------
# The record model: sufficient statistics, PyMC likelihood, exact conditional draws
# ----------------------------------------------------------------------------------------------
@dataclass
class _LeadSet:
    """Leads with their learned statistics, in the gain/angle parametrisation.

    A lead vector is ``exp(log_gain) |c| u + |c| (a_1 v_1 + a_2 v_2)`` with ``c`` the centre
    (nominal + bias), ``u`` its direction and ``v_1, v_2`` orthonormal to it: the gain scales it,
    the angle offsets ``a`` (radians, small-angle) turn it. Their prior spreads come from the
    population covariance of the lead vector in that basis plus the amplifier gain spread.
    """

    names: tuple[str, ...]
    nominal: np.ndarray  # (L, 3)
    bias: np.ndarray  # (L, 3)
    covariance: np.ndarray  # (L, 3, 3)
    residual: np.ndarray  # (L, B)

    @property
    def centre(self) -> np.ndarray:
        return self.nominal + self.bias

    @property
    def magnitude(self) -> np.ndarray:
        return np.linalg.norm(self.centre, axis=1)

    @property
    def basis(self) -> np.ndarray:
        """(L, 3, 3): rows u, v_1, v_2 per lead."""
        bases = []
        for centre in self.centre:
            direction = centre / np.linalg.norm(centre)
            helper = np.eye(3)[np.argmin(np.abs(direction))]
            first = np.cross(direction, helper)
            first /= np.linalg.norm(first)
            bases.append(np.array([direction, first, np.cross(direction, first)]))
        return np.array(bases)

    @property
    def gain_sd(self) -> np.ndarray:
        along = np.einsum("li,lij,lj->l", self.basis[:, 0], self.covariance, self.basis[:, 0])
        return np.sqrt(GAIN_PRIOR_SD**2 + along / self.magnitude**2)

    @property
    def angle_cholesky(self) -> np.ndarray:
        """(L, 2, 2) Cholesky factor of the angle-offset prior covariance, radians."""
        perpendicular = self.basis[:, 1:]  # (L, 2, 3)
        block = np.einsum("lai,lij,lbj->lab", perpendicular, self.covariance, perpendicular)
        block /= self.magnitude[:, None, None] ** 2
        return np.linalg.cholesky(block + 1e-10 * np.eye(2))

    def lead_matrix(self, log_gain: np.ndarray, angle_offset: np.ndarray) -> np.ndarray:
        """(L, 3) lead vectors for given log gains (L,) and angle offsets (L, 2)."""
        basis = self.basis
        return self.magnitude[:, None] * (
            np.exp(log_gain)[:, None] * basis[:, 0] + np.einsum("la,lai->li", angle_offset, basis[:, 1:])
        )

    def sample_lead_matrix(self, rng: np.random.Generator) -> np.ndarray:
        """(L, 3) lead vectors drawn from the prior."""
        log_gain = self.gain_sd * rng.standard_normal(len(self.names))
        angles = np.einsum("lab,lb->la", self.angle_cholesky, rng.standard_normal((len(self.names), 2)))
        return self.lead_matrix(log_gain, angles)


def _lead_set(population: PopulationModel, names: Sequence[str]) -> _LeadSet:
    statistics = [population.lead_statistics(name) for name in names]
    return _LeadSet(
        names=tuple(canonical_lead_name(name) for name in names),
        nominal=np.array([s[0] for s in statistics]),
        bias=np.array([s[1] for s in statistics]),
        covariance=np.array([s[2] for s in statistics]),
        residual=np.array([s[3] for s in statistics]),
    )


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
    lead_set: _LeadSet, population: PopulationModel, statistics: tuple[np.ndarray, ...], likelihood_weight: float
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
    lead_set: _LeadSet,
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
# Prediction
# ----------------------------------------------------------------------------------------------
def _view_statistics(population: PopulationModel, views: Sequence[Any]) -> tuple[list[str], _LeadSet]:
    from forward import view_lead_vectors
    from geometry.angles import view_to_degrees

    names: list[str] = []
    statistics = []
    for view in views:
        if isinstance(view, str):
            key = canonical_lead_name(view)
            statistics.append(population.lead_statistics(key))
            names.append(f"{key} (virtual)")
            continue
        if np.ndim(view) != 1 or len(view) != 2:
            raise ValueError(f"views must be lead names or (theta, phi) pairs in radians, got {view!r}")
        theta, phi = (float(v) for v in view)
        nominal = view_lead_vectors(_default_torso_cached(), theta, phi, sigma=population.sigma)
        statistics.append(population.view_statistics(nominal))
        theta_degrees, phi_degrees = view_to_degrees(theta, phi)
        names.append(f"view({float(theta_degrees):g},{float(phi_degrees):g}) (virtual)")
    lead_set = _LeadSet(
        names=tuple(names),
        nominal=np.array([s[0] for s in statistics]),
        bias=np.array([s[1] for s in statistics]),
        covariance=np.array([s[2] for s in statistics]),
        residual=np.array([s[3] for s in statistics]),
    )
    return names, lead_set


def _conditional_draws(
    signals: np.ndarray,
    bins: np.ndarray,
    inputs: _LeadSet,
    outputs: _LeadSet,
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
    from .panorama import (
        _distinct_views,
        _limb_plane_coordinates,
        _project_limb_residuals,
        _single_limb_input,
        input_combinations,
        limb_residual_directions,
    )

    combinations = input_combinations(list(views), inputs)
    known = combinations.any(axis=1)
    if known.any():
        lead_draws = lead_draws.copy()
        lead_draws[:, known] = (combinations[known] @ signals)[None]
    measured = _single_limb_input(inputs)
    directions = limb_residual_directions(list(views), inputs)
    if measured is None or not directions.any():
        return lead_draws
    direction = _limb_plane_coordinates([inputs[measured]])[0]
    along = _limb_plane_coordinates(list(views)) @ direction / (direction @ direction)  # alpha_v (0 off the plane)
    part = along[None, :, None] * signals[measured][None, None, :]
    return part + _project_limb_residuals(lead_draws - part, directions, _distinct_views(views))


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
        Learned statistics (default: :func:`default_population_model`).

    Returns
    -------
    posterior : PosteriorLeads
        Signals at the population model's sampling rate (``population.fs``, 500 Hz by default),
        band-passed to its band.

    Notes
    -----
    With a single input lead the heart vector is mostly prior: the bands say so. A view that is a
    combination of the inputs by definition (an input itself; III, aVR, aVL, aVF when I and II are
    both measured) has no uncertainty: every draw is that combination of the measured signals. With
    a single measured limb lead (II with V2 and V5, say), all six limb leads are drawn and each
    draw is replaced by its least-squares fit that keeps Einthoven's and Goldberger's identities
    with the measurement, so in every draw I + III equals the measured II.
    """
    population = default_population_model() if population is None else population
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be a hybridfield.ECG, got {type(ecg).__name__}")
    if isinstance(views, str) or not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a non-empty sequence of lead names or (theta, phi) pairs, got {views!r}")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    prepared = prepare_ecg(ecg, fs=population.fs, band=population.band)
    if inputs is None:
        inputs = [name for name in population.lead_names if prepared.has_lead(name)]
    else:
        inputs = [canonical_lead_name(name) for name in inputs]
        missing = [name for name in inputs if not prepared.has_lead(name)]
        if missing:
            raise ValueError(
                f"inputs {missing} are not usable leads of this record (usable: {', '.join(prepared.lead_names)})"
            )
    if not inputs:
        raise ValueError("no usable input lead: every lead of the record is flat, saturated or unknown")
    input_set = _lead_set(population, inputs)
    from .panorama import _with_all_limb_leads

    requested = list(views)
    # with a single measured limb lead, every limb lead is drawn (and the draws made to keep the
    # identities with it, below), whichever were asked for
    drawn = _with_all_limb_leads(requested, inputs)
    names, output_set = _view_statistics(population, drawn)
    signals = np.array([prepared[name] for name in inputs])
    bins, n_beats = record_phase_bins(prepared, return_beats=True)
    statistics = _sufficient_statistics(signals, bins)
    likelihood_weight = 1.0 / (max(n_beats, 1) * max(1.0, CORRELATION_TIME * population.fs))
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
        fs=population.fs,
        draws=lead_draws,
        heart_vector_draws=vector_draws,
        input_leads=tuple(inputs),
        nuisance=nuisance,
        metadata={
            "units": "mV",
            "virtual": True,
            "record": prepared.record,
            "fs": population.fs,
            "band": population.band,
            "chains": int(posterior.sizes["chain"]),
            "angle_convention": "theta polar from +z, phi azimuth from +x towards +y, radians",
        },
    )
