"""What training records teach about heart vectors and lead vectors: the population model.

For each training record (prepared once, :func:`hybridfield.preparation.prepare_record`), the
heart vector is estimated by least squares from the independent leads through the default
torso's lead vectors, then each lead's own lead vector by least squares on it. Across records:

- the heart vector's mean and covariance per phase bin (:mod:`hybridfield.phases`): the prior
  that fills in what the measured leads cannot see;
- each lead's lead-vector deviation from the torso's (mean and robust covariance, minimum
  covariance determinant): torso shape, heart position and electrode placement;
- each lead's per-bin residual variance: what a single dipole does not explain.

:class:`LeadStatistics` gives those statistics for a set of leads or views in the gain/angle
parametrisation the virtual-lead posterior samples (:mod:`hybridfield.posterior`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import INDEPENDENT_LEADS, LIMB_LEADS, STANDARD_LEADS, canonical_lead_name, lead_vector_array, view_label
from .phases import N_PHASE_BINS, PHASE_BIN_NAMES
from .preparation import PREPROCESSING, PreparedRecord, prepare_record

__all__ = [
    "PopulationModel",
    "LeadStatistics",
    "fit_population_model",
    "record_statistics",
    "RecordStatistics",
    "default_population_model",
    "GAIN_PRIOR_SD",
    "CORRELATION_SHRINKAGE",
    "BUNDLED_POPULATION_PATH",
]

#: Prior standard deviation of log gains (amplifier/contact gain spread of a few percent).
GAIN_PRIOR_SD = 0.03
#: Default shrinkage of the leads' deviation correlation towards independence.
CORRELATION_SHRINKAGE = 0.2
#: Where the bundled population model lives (rebuilt by ``python -m hybridfield.train_population``).
BUNDLED_POPULATION_PATH = Path(__file__).with_name("resources") / "population_default.json"


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
    deviation_correlation : (3 n_leads, 3 n_leads) float or None
        Correlation across records of the leads' lead-vector deviations, each lead's deviation
        whitened by its own ``lead_covariance`` (rows ``3 i .. 3 i + 2`` are lead ``i``'s), so a
        measured lead informs its neighbours' deviations (V5 of V4 and V6). None: independent.
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
    deviation_correlation: np.ndarray | None = None

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

    @property
    def heart_vector_prior(self) -> Any:
        """The per-phase heart-vector prior as :class:`forward.HeartVectorPrior` (one Gaussian per phase bin).

        Returns
        -------
        prior : forward.HeartVectorPrior
            Means :attr:`prior_mean`, covariances :attr:`prior_covariance`, phases named by
            :data:`hybridfield.phases.PHASE_BIN_NAMES`.
        """
        from forward import HeartVectorPrior

        n_bins = self.prior_mean.shape[0]
        return HeartVectorPrior(
            means=self.prior_mean,
            covariances=self.prior_covariance,
            counts=np.zeros(n_bins, dtype=np.int64),  # not kept by the population model
            shrinkages=np.full(n_bins, float(self.metadata.get("shrinkage", 0.0))),
            phase_names=PHASE_BIN_NAMES,
        )

    def residual_variances(self, names: Sequence[str]) -> np.ndarray:
        """Per-bin residual variances of trained leads.

        Parameters
        ----------
        names : sequence of str
            Lead names (case-insensitive).

        Returns
        -------
        residual_variance : (n_leads, n_bins) float, mV^2
        """
        return np.array([self.lead_statistics(name)[3] for name in names])

    def leads(self, names: Sequence[str]) -> "LeadStatistics":
        """Statistics of trained leads in the gain/angle parametrisation.

        Parameters
        ----------
        names : sequence of str
            Lead names (case-insensitive).

        Returns
        -------
        statistics : LeadStatistics
        """
        keys = [canonical_lead_name(name) for name in names]
        return LeadStatistics.stack(
            keys, [self.lead_statistics(key) for key in keys], [self.lead_names.index(key) for key in keys]
        )

    def views(self, views: Sequence[Any]) -> "LeadStatistics":
        """Statistics of views: trained leads by name, ``(theta, phi)`` views scaled to their lead vector.

        Parameters
        ----------
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs in radians.

        Returns
        -------
        statistics : LeadStatistics
            Named ``"V1 (virtual)"``, ``"view(90,130) (virtual)"`` (:func:`hybridfield.leads.view_label`).
        """
        names: list[str] = []
        statistics = []
        index: list[int] = []
        for view in views:
            if isinstance(view, str):
                key = canonical_lead_name(view)
                statistics.append(self.lead_statistics(key))
                names.append(f"{key} (virtual)")
                index.append(self.lead_names.index(key))
                continue
            if np.ndim(view) != 1 or len(view) != 2:
                raise ValueError(f"views must be lead names or (theta, phi) pairs in radians, got {view!r}")
            theta, phi = (float(v) for v in view)
            nominal = lead_vector_array([(theta, phi)], sigma=self.sigma)[0]
            statistics.append(self.view_statistics(nominal))
            names.append(f"{view_label(theta, phi)} (virtual)")
            index.append(-1)
        return LeadStatistics.stack(names, statistics, index)

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
            **({} if self.deviation_correlation is None else {"deviation_correlation": self.deviation_correlation.tolist()}),
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
            If the format, the phase bins or the preprocessing (``fs``, ``band``) do not match
            this version's (:data:`hybridfield.preparation.PREPROCESSING`).
        """
        if data.get("format") != "hybridfield.PopulationModel/1":
            raise ValueError(f"not a hybridfield population model (format {data.get('format')!r})")
        if list(data["phase_bins"]) != list(PHASE_BIN_NAMES):
            raise ValueError("the population model was trained with other phase bins than this version uses")
        contract = (float(PREPROCESSING["fs"]), [float(v) for v in PREPROCESSING["band_hz"]])
        if (float(data["fs"]), [float(v) for v in data["band"]]) != contract:
            raise ValueError(
                f"the population model was fitted at fs={data['fs']!r} Hz, band={data['band']!r} Hz; this version "
                f"prepares records at fs={contract[0]:g} Hz, band={contract[1]} Hz"
            )
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
            deviation_correlation=(
                None if data.get("deviation_correlation") is None else np.asarray(data["deviation_correlation"], dtype=float)
            ),
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



@dataclass(frozen=True)
class RecordStatistics:
    """What one training record contributes to the population model (computed once per record).

    Attributes
    ----------
    record : str
        Record name.
    sigma : float
        Torso conductivity of the nominal lead vectors, S/m.
    count : (n_bins,) float
        Samples per phase bin.
    heart_vector_sum : (n_bins, 3) float, mA*m
        Sum of the record's least-squares heart vector over the samples of each bin.
    heart_vector_outer : (n_bins, 3, 3) float, (mA*m)^2
        Sum of its outer products per bin.
    deviation : (n_leads, 3) float, mV per mA*m
        Each standard lead's own fitted lead vector minus the nominal one (NaN for a lead the
        record lacks), in :data:`hybridfield.leads.STANDARD_LEADS` order.
    residual_variance : (n_leads, n_bins) float, mV^2
        Per-bin mean square of what the single dipole leaves of each lead (NaN where a lead is
        missing or a bin has fewer than 5 samples).
    """

    record: str
    sigma: float
    count: np.ndarray
    heart_vector_sum: np.ndarray
    heart_vector_outer: np.ndarray
    deviation: np.ndarray
    residual_variance: np.ndarray


def record_statistics(record: ECG | PreparedRecord, *, sigma: float = 0.2) -> RecordStatistics | None:
    """A training record's contribution to the population model.

    The heart vector is estimated by least squares from the independent leads available
    (I, II, V1..V6) through the default torso's lead vectors; then every lead's own lead vector
    by least squares on it.

    Parameters
    ----------
    record : ECG or PreparedRecord
        A 12-lead record (prepared once if an ECG is given).
    sigma : float
        Torso conductivity for the nominal lead vectors, S/m.

    Returns
    -------
    statistics : RecordStatistics or None
        None when fewer than 3 independent leads are usable.
    """
    if not isinstance(record, PreparedRecord):
        record = prepare_record(record, warn=False)
    prepared = record.ecg
    names = STANDARD_LEADS
    available = [name for name in INDEPENDENT_LEADS if prepared.has_lead(name)]
    if len(available) < 3:
        return None
    nominal = lead_vector_array(names, sigma=sigma)
    bins = record.phase_bins
    signals = record.signals(available)
    heart_vector = np.linalg.lstsq(nominal[[names.index(name) for name in available]], signals, rcond=None)[0]  # (3, n)
    count = np.bincount(bins, minlength=N_PHASE_BINS).astype(float)
    vector_sum = np.zeros((N_PHASE_BINS, 3))
    vector_outer = np.zeros((N_PHASE_BINS, 3, 3))
    for b in np.unique(bins):
        members = heart_vector[:, bins == b]
        vector_sum[b] = members.sum(axis=1)
        vector_outer[b] = members @ members.T
    deviation = np.full((len(names), 3), np.nan)
    residual_variance = np.full((len(names), N_PHASE_BINS), np.nan)
    for i, name in enumerate(names):
        if not prepared.has_lead(name):
            continue
        signal = prepared[name]
        own = np.linalg.lstsq(heart_vector.T, signal, rcond=None)[0]
        deviation[i] = own - nominal[i]
        sums = np.bincount(bins, weights=(signal - own @ heart_vector) ** 2, minlength=N_PHASE_BINS)
        residual_variance[i] = np.where(count >= 5, sums / np.maximum(count, 1), np.nan)
    return RecordStatistics(
        record=str(prepared.record or "record"),
        sigma=float(sigma),
        count=count,
        heart_vector_sum=vector_sum,
        heart_vector_outer=vector_outer,
        deviation=deviation,
        residual_variance=residual_variance,
    )


def fit_population_model(
    ecgs: Sequence[ECG | PreparedRecord | RecordStatistics],
    *,
    sigma: float = 0.2,
    shrinkage: float = 0.1,
    correlation_shrinkage: float = CORRELATION_SHRINKAGE,
) -> PopulationModel:
    """Learn heart-vector priors and lead-vector variability from 12-lead records.

    For each record, :func:`record_statistics` (prepared once: 500 Hz, 0.5-40 Hz, phase bins from
    the R peaks; least-squares heart vector; each lead's own lead vector). Across records:
    per-bin heart-vector mean and covariance, per-lead robust location and scatter of the
    lead-vector difference, and per-bin residual variance (median over records).

    Parameters
    ----------
    ecgs : sequence of ECG, PreparedRecord or RecordStatistics
        Training records with standard leads (at least 3 usable independent ones each); records
        already prepared, or their statistics, are used as they are (evaluations that refit the
        model per fold compute :func:`record_statistics` once per record).
    sigma : float
        Torso conductivity for the nominal lead vectors, S/m.
    shrinkage : float
        Weight of the pooled covariance mixed into each bin's heart-vector covariance (0..1),
        which keeps sparse bins positive definite.
    correlation_shrinkage : float
        Weight of the identity mixed into the correlation of the leads' whitened deviations
        (0..1; 1 makes the leads independent); see :func:`_deviation_correlation`.

    Returns
    -------
    model : PopulationModel
    """
    if not 0.0 <= correlation_shrinkage <= 1.0:
        raise ValueError(f"correlation_shrinkage must be in [0, 1], got {correlation_shrinkage!r}")
    if len(ecgs) < 3:
        raise ValueError(f"ecgs must hold at least 3 records to learn population statistics, got {len(ecgs)}")
    statistics = []
    for item in ecgs:
        entry = item if isinstance(item, RecordStatistics) else record_statistics(item, sigma=sigma)
        if entry is None:
            continue
        if entry.sigma != sigma:
            raise ValueError(f"record statistics of {entry.record} were computed with sigma={entry.sigma}, not {sigma}")
        statistics.append(entry)
    if len(statistics) < 3:
        raise ValueError("fewer than 3 records had 3 usable independent leads; cannot learn population statistics")
    names = STANDARD_LEADS
    nominal = lead_vector_array(names, sigma=sigma)
    # Heart-vector prior per bin (pooled over the records' samples), shrunk towards the pooled covariance.
    count = np.sum([entry.count for entry in statistics], axis=0)
    vector_sum = np.sum([entry.heart_vector_sum for entry in statistics], axis=0)
    vector_outer = np.sum([entry.heart_vector_outer for entry in statistics], axis=0)
    total = count.sum()
    pooled_mean = vector_sum.sum(axis=0) / total
    pooled = (vector_outer.sum(axis=0) - total * np.outer(pooled_mean, pooled_mean)) / (total - 1)
    prior_mean = np.zeros((N_PHASE_BINS, 3))
    prior_covariance = np.zeros((N_PHASE_BINS, 3, 3))
    for b in range(N_PHASE_BINS):
        if count[b] < 10:
            prior_mean[b] = pooled_mean
            prior_covariance[b] = pooled
            continue
        prior_mean[b] = vector_sum[b] / count[b]
        covariance = (vector_outer[b] - count[b] * np.outer(prior_mean[b], prior_mean[b])) / (count[b] - 1)
        prior_covariance[b] = (1 - shrinkage) * covariance + shrinkage * np.trace(covariance) / 3 * np.eye(3)
    # Records differ in heavy-tailed ways (a few have lead vectors several times off the torso's):
    # robust location and scatter (minimum covariance determinant) describe the typical record,
    # and prediction draws record-level Student-t scale factors for the tails.
    deviations = np.array([entry.deviation for entry in statistics])  # (records, leads, 3)
    lead_bias = np.zeros((len(names), 3))
    lead_covariance = np.zeros((len(names), 3, 3))
    for i in range(len(names)):
        values = deviations[:, i][np.all(np.isfinite(deviations[:, i]), axis=1)]
        location, spread = _robust_location_scatter(values, nominal[i])
        lead_bias[i] = location
        lead_covariance[i] = (1 - shrinkage) * spread + shrinkage * np.trace(spread) / 3 * np.eye(3)
    residual_variance = np.zeros((len(names), N_PHASE_BINS))
    per_record = np.array([entry.residual_variance for entry in statistics])  # (records, leads, B)
    for i in range(len(names)):
        typical = np.nanmedian(per_record[:, i], axis=0)
        fallback = np.nanmedian(per_record[:, i])
        residual_variance[i] = np.where(np.isfinite(typical), typical, fallback)
    residual_variance = np.maximum(residual_variance, 1e-8)
    correlation = _deviation_correlation(deviations, lead_bias, lead_covariance, correlation_shrinkage)
    return PopulationModel(
        lead_names=names,
        nominal_lead_vectors=nominal,
        lead_bias=lead_bias,
        lead_covariance=lead_covariance,
        residual_variance=residual_variance,
        prior_mean=prior_mean,
        prior_covariance=prior_covariance,
        fs=float(PREPROCESSING["fs"]),
        band=(float(PREPROCESSING["band_hz"][0]), float(PREPROCESSING["band_hz"][1])),
        training_records=tuple(entry.record for entry in statistics),
        sigma=sigma,
        metadata={"torso": "geometry.default_torso()", "shrinkage": shrinkage, "correlation_shrinkage": correlation_shrinkage},
        deviation_correlation=correlation,
    )


def _deviation_correlation(
    deviations: np.ndarray, bias: np.ndarray, covariance: np.ndarray, shrinkage: float
) -> np.ndarray | None:
    """Correlation (3 L, 3 L) of the leads' deviations, each whitened by its own robust scatter.

    Only neighbouring leads correlate (:func:`_neighbour_mask`); records with every lead are used; each record's whitened deviation of a lead is
    Huber-clipped at the 99th percentile radius of a 3-D standard normal (3.37), so the
    heavy-tailed records that the robust scatter sets aside do not set the correlations either.
    The sample correlation is shrunk towards the identity by ``shrinkage``. None with fewer than
    ``3 L + 2`` complete records.
    """
    complete = deviations[np.all(np.isfinite(deviations), axis=(1, 2))]  # (R, L, 3)
    n_leads = deviations.shape[1]
    if len(complete) < 3 * n_leads + 2:
        return None
    factors = np.linalg.cholesky(covariance)  # (L, 3, 3)
    whitened = np.linalg.solve(factors[None], (complete - bias[None])[..., None])[..., 0]  # (R, L, 3)
    radius = np.linalg.norm(whitened, axis=2, keepdims=True)
    whitened = whitened * np.minimum(1.0, 3.37 / np.maximum(radius, 1e-12))
    correlation = np.corrcoef(whitened.reshape(len(complete), -1), rowvar=False)
    # only neighbours share deviations: the limb leads among themselves (one set of limb
    # electrodes) and each chest lead with the next (electrodes a few cm apart, one torso region)
    neighbours = np.kron(_neighbour_mask(n_leads), np.ones((3, 3)))
    correlation = np.where(neighbours, correlation, 0.0)
    # masking can leave a matrix that is not positive semi-definite: clip its spectrum, back to unit diagonal
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    correlation = (eigenvectors * np.maximum(eigenvalues, 1e-3)) @ eigenvectors.T
    scale = np.sqrt(np.diag(correlation))
    correlation = correlation / np.outer(scale, scale)
    return (1.0 - shrinkage) * correlation + shrinkage * np.eye(3 * n_leads)


def _neighbour_mask(n_leads: int) -> np.ndarray:
    """(L, L) bool: leads of :data:`STANDARD_LEADS` whose deviations may correlate."""
    names = STANDARD_LEADS[:n_leads]
    limb = np.array([name in LIMB_LEADS for name in names])
    chest = [int(name[1:]) if name.startswith("V") else None for name in names]
    mask = np.outer(limb, limb)
    for i, a in enumerate(chest):
        for j, b in enumerate(chest):
            if a is not None and b is not None and abs(a - b) <= 1:
                mask[i, j] = True
    return mask


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
    if not BUNDLED_POPULATION_PATH.exists():
        raise FileNotFoundError(
            f"the bundled population model {BUNDLED_POPULATION_PATH} is missing; rebuild it with "
            "`python -m hybridfield.train_population`"
        )
    return PopulationModel.load(BUNDLED_POPULATION_PATH)


@dataclass
@dataclass
class LeadStatistics:
    """Leads with their learned statistics, in the gain/angle parametrisation.

    A lead vector is ``exp(log_gain) |c| u + |c| (a_1 v_1 + a_2 v_2)`` with ``c`` the centre
    (nominal + bias), ``u`` its direction and ``v_1, v_2`` orthonormal to it: the gain scales it,
    the angle offsets ``a`` (radians, small-angle) turn it. Their prior spreads come from the
    population covariance of the lead vector in that basis plus the amplifier gain spread.

    Attributes
    ----------
    names : tuple of str
        Lead or view names.
    nominal : (n_leads, 3) float, mV per mA*m
        Default-torso lead vectors.
    bias : (n_leads, 3) float, mV per mA*m
        Population mean of the deviation from ``nominal``.
    covariance : (n_leads, 3, 3) float, (mV per mA*m)^2
        Population covariance of that deviation.
    residual : (n_leads, n_bins) float, mV^2
        Per-bin residual variance.
    population_index : tuple of int
        Each lead's row in the population model (``-1`` for a ``(theta, phi)`` view without
        training data; empty when unknown).
    """

    names: tuple[str, ...]
    nominal: np.ndarray
    bias: np.ndarray
    covariance: np.ndarray
    residual: np.ndarray
    population_index: tuple[int, ...] = ()

    @classmethod
    def stack(
        cls, names: Sequence[str], statistics: Sequence[tuple[np.ndarray, ...]], population_index: Sequence[int] = ()
    ) -> "LeadStatistics":
        """Statistics of several leads from one ``(nominal, bias, covariance, residual)`` tuple each.

        Parameters
        ----------
        names : sequence of str
            Lead or view names.
        statistics : sequence of tuple
            As :meth:`PopulationModel.lead_statistics` returns them, one per name.
        population_index : sequence of int
            Each name's row in the population model, ``-1`` for views without one.

        Returns
        -------
        statistics : LeadStatistics
        """
        nominal, bias, covariance, residual = (np.array(part) for part in zip(*statistics))
        return cls(
            names=tuple(names), nominal=nominal, bias=bias, covariance=covariance, residual=residual,
            population_index=tuple(int(k) for k in population_index),
        )

    @property
    def centre(self) -> np.ndarray:
        """(n_leads, 3) float, mV per mA*m: the typical record's lead vector, ``nominal + bias``."""
        return self.nominal + self.bias

    @property
    def magnitude(self) -> np.ndarray:
        """(n_leads,) float, mV per mA*m: length of :attr:`centre`."""
        return np.linalg.norm(self.centre, axis=1)

    @cached_property
    def basis(self) -> np.ndarray:
        """(n_leads, 3, 3) float: rows ``u, v_1, v_2`` per lead, ``u`` along :attr:`centre`, orthonormal."""
        bases = []
        for centre in self.centre:
            direction = centre / np.linalg.norm(centre)
            helper = np.eye(3)[np.argmin(np.abs(direction))]
            first = np.cross(direction, helper)
            first /= np.linalg.norm(first)
            bases.append(np.array([direction, first, np.cross(direction, first)]))
        return np.array(bases)

    @cached_property
    def gain_sd(self) -> np.ndarray:
        """(n_leads,) float: prior standard deviation of the log gain (population spread along the
        lead vector plus :data:`GAIN_PRIOR_SD`)."""
        along = np.einsum("li,lij,lj->l", self.basis[:, 0], self.covariance, self.basis[:, 0])
        return np.sqrt(GAIN_PRIOR_SD**2 + along / self.magnitude**2)

    @cached_property
    def angle_cholesky(self) -> np.ndarray:
        """(n_leads, 2, 2) float, radians: Cholesky factor of the angle-offset prior covariance."""
        perpendicular = self.basis[:, 1:]  # (L, 2, 3)
        block = np.einsum("lai,lij,lbj->lab", perpendicular, self.covariance, perpendicular)
        block /= self.magnitude[:, None, None] ** 2
        return np.linalg.cholesky(block + 1e-10 * np.eye(2))

    def lead_matrix(self, log_gain: np.ndarray, angle_offset: np.ndarray) -> np.ndarray:
        """Lead vectors for given log gains and angle offsets (any leading batch shape).

        Parameters
        ----------
        log_gain : (..., n_leads) float
        angle_offset : (..., n_leads, 2) float, radians

        Returns
        -------
        lead_matrix : (..., n_leads, 3) float, mV per mA*m
        """
        basis = self.basis
        return self.magnitude[:, None] * (
            np.exp(log_gain)[..., None] * basis[:, 0] + np.einsum("...la,lai->...li", angle_offset, basis[:, 1:])
        )

    def sample_lead_matrix(self, rng: np.random.Generator, n_draws: int | None = None) -> np.ndarray:
        """Lead vectors drawn from the prior.

        Parameters
        ----------
        rng : numpy.random.Generator
        n_draws : int, optional
            Draws; None gives one without the leading axis.

        Returns
        -------
        lead_matrix : (n_draws, n_leads, 3) or (n_leads, 3) float, mV per mA*m
        """
        shape = () if n_draws is None else (int(n_draws),)
        log_gain = self.gain_sd * rng.standard_normal((*shape, len(self.names)))
        angles = np.einsum("lab,...lb->...la", self.angle_cholesky, rng.standard_normal((*shape, len(self.names), 2)))
        return self.lead_matrix(log_gain, angles)


