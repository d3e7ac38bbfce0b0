"""The hybrid panorama: the physical answer + a Nef-Net residual, and its weights.

``prediction(view) = physical answer(view) + residual(view)`` (DESIGN.md):

- the **physical answer** (:func:`hybridfield.posterior.physical_answer`) is the centre of the
  record model that :func:`hybridfield.predict_posterior` draws from: the heart vector ``p(t)``
  (mA*m) with the population's per-phase prior, fitted through the population's lead vectors of
  the inputs, projected through the population's lead vector of each view, keeping the lead
  identities with the measured leads. The plain projection through the default torso's own lead
  vectors stays available as :meth:`HybridPanorama.projection`, for comparisons;
- the **residual** is a small :class:`~hybridfield.nefnet.NefNet` that sees the input cycles,
  their Nef-Net view angles, the query angle and the physical answer, cycle by cycle; with a
  single measured limb lead, the limb leads' residuals are projected onto the ones that keep the
  identities with it (:func:`hybridfield.leads.limb_residual_directions`).

Whole recordings are processed cycle by cycle, one cycle per detected beat
(:func:`hybridfield.beat_cycles.beat_cycles`: from the P onset where delineation finds it, from a
fixed fraction of the RR interval before the R peak where it does not); the residual is tapered
to zero at each cycle's ends, so the stitched record has no seams, and the record's ends get the
nearest beat's residual. Each call prepares and segments its record once
(:func:`hybridfield.preparation.prepare_record`); every method also takes that
:class:`~hybridfield.preparation.PreparedRecord` instead of an ECG, so a caller asking several
questions of one record prepares it once. Weights are trained by ``python -m
hybridfield.train_hybrid`` (:mod:`hybridfield.training`), saved with their preprocessing contract
and loaded with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .ecg import ECG
from .leads import (
    canonical_lead_name,
    distinct_views,
    identity_weights,
    input_combinations,
    lead_vector_array,
    limb_residual_directions,
    parse_views,
    project_limb_residuals,
    with_all_limb_leads,
)
from .physics import physical_projection, record_heart_vector
from .preparation import PREPROCESSING, PreparedRecord, prepare_ecg, prepare_record

__all__ = ["HybridPanorama", "HYBRID_SPREAD_SCALE"]

#: Scale of the physics posterior's spread around the hybrid's answer in
#: :meth:`HybridPanorama.predict_posterior`. The learned residual moves the centre closer to the
#: truth than the physical answer, so the physics' spread over-covers; this factor is chosen by
#: leave-records-out on the shared records (``python -m hybridfield.evaluate_hybrid`` reports the
#: coverage of every scale in :data:`hybridfield.evaluate_hybrid.SPREAD_SCALES`;
#: docs/evaluation.md section 2): at 0.9 the 90 % bands of V1-V4, V6 from I, II, V5 cover
#: 0.915 / 0.902 / 0.891 / 0.904 / 0.942 on 297 records (0.931 / 0.919 / 0.909 / 0.920 / 0.952 at 1).
HYBRID_SPREAD_SCALE = 0.9

_WEIGHTS_RESOURCE = "hybrid_default.pt"


class HybridPanorama:
    """Virtual leads at any view: physical projection on the torso plus a learned Nef-Net residual.

    Parameters
    ----------
    network : NefNet, optional
        Hybrid residual network; None gives the physics alone (a zero residual).
    population : PopulationModel, optional
        Heart-vector prior of the physical fit (default: the bundled one).
    input_leads : sequence of str
        Default input leads.
    contract : mapping, optional
        Preprocessing contract and training summary stored with the weights.

    Examples
    --------
    >>> model = HybridPanorama.pretrained()                      # doctest: +SKIP
    >>> virtual = model.predict(ecg, ["V1", (1.57, 2.27)])      # doctest: +SKIP
    """

    input_leads_default: tuple[str, ...] = ("I", "II", "V5")

    def __init__(
        self,
        network: Any = None,
        *,
        population: Any = None,
        input_leads: Sequence[str] = ("I", "II", "V5"),
        contract: Mapping[str, Any] | None = None,
    ):
        from .population import default_population_model

        if network is not None and not getattr(getattr(network, "config", None), "hybrid", False):
            raise TypeError(f"network must be a hybrid NefNet or None, got {type(network).__name__}")
        self.network = network
        self.population = default_population_model() if population is None else population
        self.input_leads = tuple(canonical_lead_name(n) for n in input_leads)
        self.contract = dict(PREPROCESSING if contract is None else contract)
        #: Scale of the posterior's spread around the hybrid's answer (:data:`HYBRID_SPREAD_SCALE`).
        self.spread_scale = float(HYBRID_SPREAD_SCALE)

    # -- persistence ---------------------------------------------------------------------------
    @classmethod
    def pretrained(cls) -> "HybridPanorama":
        """The bundled model (weights under ``hybridfield/resources``), offline.

        Returns
        -------
        model : HybridPanorama
            Trained by ``python -m hybridfield.train_hybrid`` (see its docstring for the data).
        """
        return _pretrained()

    def save(self, path: str | Path) -> None:
        """Save weights with the preprocessing contract (a torch file of tensors and plain data).

        Parameters
        ----------
        path : str or Path
            File to write (``.pt``).
        """
        import torch

        if self.network is None:
            raise ValueError("a physics-only HybridPanorama has no weights to save")
        state = {
            "format": "hybridfield.HybridPanorama/1",
            "config": self.network.config.to_dict(),
            "state_dict": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
            "input_leads": list(self.input_leads),
            "contract": json.dumps(self.contract),
        }
        torch.save(state, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, population: Any = None) -> "HybridPanorama":
        """Load a model saved by :meth:`save` (``torch.load(..., weights_only=True)``).

        Parameters
        ----------
        path : str or Path
            The ``.pt`` file.
        population : PopulationModel, optional
            Heart-vector prior (default: the bundled one).

        Returns
        -------
        model : HybridPanorama
        """
        import torch

        from .nefnet import NefNet, NefNetConfig

        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != "hybridfield.HybridPanorama/1":
            raise ValueError(f"{path} is not a HybridPanorama checkpoint (format hybridfield.HybridPanorama/1)")
        contract = json.loads(state["contract"])
        for key in ("fs", "units", "band_hz", "cycle_length", "cycles", "heart_vector"):
            if contract.get(key) != PREPROCESSING[key]:
                raise ValueError(
                    f"checkpoint {path} was trained with {key}={contract.get(key)!r}; this version prepares "
                    f"records with {key}={PREPROCESSING[key]!r}"
                )
        sizes = dict(state["config"])
        # checkpoints written before the linear path had its own width used the angle MLPs' width
        sizes.setdefault("linear_hidden", sizes.get("angle_hidden", NefNetConfig.angle_hidden))
        # and before the heart-vector correction existed, the linear path had none
        sizes.setdefault("heart_vector_path", False)
        network = NefNet(NefNetConfig(**sizes))
        network.load_state_dict(state["state_dict"])
        network.eval()
        return cls(network, population=population, input_leads=state["input_leads"], contract=contract)

    # -- the panorama --------------------------------------------------------------------------
    def prepare(self, ecg: ECG) -> ECG:
        """Resample to 500 Hz, band-pass 0.5-40 Hz and drop flat or saturated leads.

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).

        Returns
        -------
        prepared : ECG
        """
        return prepare_ecg(ecg, warn=False)

    @staticmethod
    def _record(ecg: ECG | PreparedRecord, *, warn: bool = False) -> PreparedRecord:
        return ecg if isinstance(ecg, PreparedRecord) else prepare_record(ecg, warn=warn)

    def _fit(self, record: PreparedRecord, inputs: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
        """Input names and the heart vector (3, n) mA*m fitted to them."""
        names = record.input_leads(inputs, self.input_leads)
        return names, record_heart_vector(record, names, self.population)

    def heart_vector(self, ecg: ECG | PreparedRecord, *, inputs: Sequence[str] | None = None) -> np.ndarray:
        """The physical answer's heart vector (the physics' source): the record model's posterior mean.

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or the record prepared once by :func:`hybridfield.preparation.prepare_record`).
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        heart_vector : (3, n_samples) float, mA*m
            Body frame, on :meth:`prepare`'s time base (500 Hz)
            (:func:`hybridfield.posterior.physical_answer`).
        """
        from .posterior import physical_answer

        record = self._record(ecg)
        names = record.input_leads(inputs, self.input_leads)
        return physical_answer(record, names[:1], inputs=names, population=self.population)[1]

    def lead_vectors(self, views: Sequence[Any]) -> np.ndarray:
        """Lead vectors the physical answer projects through: the population's for each view.

        The default torso's BEM lead vector plus the population's mean deviation of real records
        from it (:attr:`hybridfield.population.LeadStatistics.centre`); a ``(theta, phi)`` view
        has no training data of its own and keeps its torso lead vector.

        Parameters
        ----------
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.

        Returns
        -------
        vectors : (n_views, 3) float, mV per mA*m, body frame
        """
        _, _, keys = parse_views(views)
        return self.population.views(keys).centre

    def physical(self, ecg: ECG | PreparedRecord, views: Sequence[Any], *, inputs: Sequence[str] | None = None) -> ECG:
        """Physics-only virtual leads (the residual switched off).

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        virtual : ECG
            One lead per view at 500 Hz, each marked virtual.
        """
        return self.predict(ecg, views, inputs=inputs, residual=False)

    def predict(
        self, ecg: ECG | PreparedRecord, views: Sequence[Any], *, inputs: Sequence[str] | None = None, residual: bool = True
    ) -> ECG:
        """Virtual leads at any views: physical projection plus the learned residual.

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV, any length (processed cycle by cycle and stitched).
        views : sequence
            Lead names (with a Nef-Net angle: the 12 standard leads) and/or ``(theta, phi)``
            pairs in radians.
        inputs : sequence of str, optional
            Measured leads to use (default :attr:`input_leads`).
        residual : bool
            False: physics only.

        Returns
        -------
        virtual : ECG
            On :meth:`prepare`'s time base (500 Hz), one lead per view, named like the view
            (``"view(90,130)"`` in degrees for angle pairs), all marked virtual. Every detected
            beat gets the residual (:meth:`cycles`); the record's ends the nearest beat's,
            tapered; a record without beats gets the physical answer alone (and
            :class:`~hybridfield.RecordQualityWarning`).
        """
        record = self._record(ecg)
        names, angles, physical, learned, input_names = self._prediction(record, views, inputs, residual=residual)
        source = "hybrid panorama (physical answer + Nef-Net residual)" if residual and self.network is not None else "physical answer"
        return self._virtual_ecg(record, names, angles, physical + learned, input_names, source)

    def _prediction(
        self, record: PreparedRecord, views: Sequence[Any], inputs: Sequence[str] | None, *, residual: bool
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """One pass: view names and angles, physical answer and learned residual (n_views, n), mV."""
        from .posterior import physical_answer

        names, angles, keys = parse_views(views)
        input_names = record.input_leads(inputs, self.input_leads)
        if residual and self.network is not None:
            # one measured limb lead: the limb leads' residual is fitted over all six of them,
            # whichever were asked for, so a view's prediction does not depend on the request
            from geometry import STANDARD_LEAD_ANGLES

            keys = with_all_limb_leads(keys, input_names)
            added = [STANDARD_LEAD_ANGLES[name] for name in keys[len(names):]]
            angles = np.vstack([angles, np.reshape(added, (-1, 2))])
        physical = physical_answer(record, keys, inputs=input_names, population=self.population)[0]
        learned = np.zeros_like(physical)
        if residual and self.network is not None:
            exact = input_combinations(keys, input_names).any(axis=1)  # identities of the inputs need no learned correction
            learned = self._residual(record, input_names, angles, physical, exact)
            directions = limb_residual_directions(keys, input_names)
            learned = project_limb_residuals(learned, directions, distinct_views(keys))
        count = len(names)
        return names, angles[:count], physical[:count], learned[:count], input_names

    def projection(self, ecg: ECG | PreparedRecord, views: Sequence[Any], *, inputs: Sequence[str] | None = None) -> ECG:
        """The plain projection, for comparisons: not the physical answer, nor what the residual corrects.

        The heart vector fitted through the default torso's own lead vectors (Tikhonov with the
        population's prior, :func:`hybridfield.physics.record_heart_vector`) and projected through
        each view's default-torso lead vector, keeping the lead identities with the inputs
        (:func:`hybridfield.physics.physical_projection`). Unlike :meth:`physical`, it ignores what
        the population teaches about real lead vectors, so with I, II and V5 the
        anterior-posterior component, which they barely see, can swing far.

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        projected : ECG
            One lead per view at 500 Hz, each marked virtual.
        """
        record = self._record(ecg)
        names, angles, keys = parse_views(views)
        input_names, vector = self._fit(record, inputs)
        signals = physical_projection(
            lead_vector_array(keys), identity_weights(keys, input_names), vector, record.signals(input_names),
            lead_vector_array(input_names),
        )
        return self._virtual_ecg(record, names, angles, signals, input_names, "plain projection (default-torso lead vectors)")

    def _virtual_ecg(
        self, record: PreparedRecord, names: Sequence[str], angles: np.ndarray, signals: np.ndarray, inputs: Sequence[str], source: str
    ) -> ECG:
        prepared = record.ecg
        return ECG(
            signals,
            prepared.fs,
            list(names),
            electrode_angles={name: (float(a[0]), float(a[1])) for name, a in zip(names, angles)},
            virtual=list(names),
            metadata={"record": prepared.record, "source": source, "inputs": list(inputs), "units": "mV"},
        )

    def cycles(self, ecg: ECG | PreparedRecord) -> Any:
        """The cycles the learned residual is applied on: one per detected beat (:func:`hybridfield.beat_cycles.beat_cycles`).

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).

        Returns
        -------
        cycles : BeatCycles
            ``served()`` marks the samples the residual covers.
        """
        from .beat_cycles import beat_cycles

        record = self._record(ecg)
        length = int(self.network.config.length) if self.network is not None else int(PREPROCESSING["cycle_length"])
        return beat_cycles(record.segmentation, record.ecg.n_samples, record.fs, length)

    def _residual(
        self,
        record: PreparedRecord,
        input_names: Sequence[str],
        angles: np.ndarray,
        physical: np.ndarray,
        exact: np.ndarray,
    ) -> np.ndarray:
        import torch

        from geometry import STANDARD_LEAD_ANGLES

        from .beat_cycles import cut_beat_cycles, stitch_cycles

        cycles = self.cycles(record)
        if cycles.n_cycles == 0:
            import warnings

            from .quality import RecordQualityWarning

            warnings.warn(
                f"record {record.ecg.record!r}: no beat detected, so no learned residual; the prediction is the physical answer alone",
                RecordQualityWarning, stacklevel=4,
            )
            return np.zeros_like(physical)
        inputs = cut_beat_cycles(record.signals(input_names), cycles)
        physical_cycles = cut_beat_cycles(physical, cycles)
        input_angles = torch.tensor([STANDARD_LEAD_ANGLES[n] for n in input_names], dtype=torch.float32)
        self.network.eval()
        with torch.no_grad():
            hybrid = self.network(
                torch.from_numpy(inputs), input_angles, torch.tensor(angles, dtype=torch.float32),
                torch.from_numpy(cycles.regions.astype(np.int64)), torch.from_numpy(cycles.lengths),
                torch.from_numpy(physical_cycles),
                exact=torch.from_numpy(exact),
            ).numpy()
        # the network tapers its residual to 0 at both ends of every cycle: abutting cycles join continuously
        return stitch_cycles(hybrid - physical_cycles, cycles)

    def predict_posterior(
        self,
        ecg: ECG | PreparedRecord,
        views: Sequence[Any],
        *,
        inputs: Sequence[str] | None = None,
        draws: int = 500,
        tune: int = 300,
        chains: int = 2,
        random_seed: int | None = None,
        progressbar: bool = True,
        method: str = "laplace",
    ) -> Any:
        """Posterior of virtual leads with the learned residual included, centred on :meth:`predict`.

        The uncertainty model (:func:`hybridfield.predict_posterior`) scatters its draws around the
        physical answer (:func:`hybridfield.posterior.physical_answer`, the same physics
        :meth:`predict` corrects). Each draw's departure from the draws' mean is added to
        :meth:`predict`'s answer, scaled by :attr:`spread_scale` (:data:`HYBRID_SPREAD_SCALE`), so
        the mean equals :meth:`predict` (the sample mean is replaced by the exact centre: a control
        variate) and the bands keep the physics' shape around the learned correction. Views that are combinations of the inputs are drawn as that
        combination (no spread); with a single measured limb lead every draw keeps Einthoven's
        and Goldberger's identities with it, as :meth:`predict` does.

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or prepared once: :func:`hybridfield.preparation.prepare_record`).
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.
        inputs : sequence of str, optional
            Measured leads (default :attr:`input_leads`).
        draws, tune, chains : int
            Draws (total); NUTS tuning steps per chain and chains (``method="nuts"`` only).
        random_seed : int, optional
            Seed.
        progressbar : bool
            Show PyMC's progress bar (NUTS only).
        method : {"laplace", "nuts"}
            How the nuisance parameters are drawn (:func:`hybridfield.predict_posterior`).

        Returns
        -------
        posterior : PosteriorLeads
            ``metadata["residual"]`` says how the learned residual entered.
        """
        from dataclasses import replace

        from .posterior import predict_posterior

        record = self._record(ecg, warn=True)  # prepared and segmented once for both answers
        input_names = record.input_leads(inputs, self.input_leads)
        posterior = predict_posterior(
            record, list(views), inputs=input_names, draws=draws, tune=tune, chains=chains,
            random_seed=random_seed, progressbar=progressbar, population=self.population, method=method,
        )
        if self.network is None:
            return posterior
        _, _, physical, learned, _ = self._prediction(record, views, input_names, residual=True)
        answer = physical + learned
        if answer.shape != posterior.draws.shape[1:]:
            raise RuntimeError(f"posterior and hybrid time bases differ: {posterior.draws.shape[1:]} vs {answer.shape}")
        draws_array = posterior.draws - posterior.draws.mean(axis=0, keepdims=True)
        draws_array *= self.spread_scale
        draws_array += answer[None]
        metadata = dict(posterior.metadata)
        metadata["residual"] = (
            "HybridPanorama: draws are the physics posterior's departures from its mean around the hybrid's answer "
            "(physical answer + learned Nef-Net residual)"
        )
        return replace(posterior, draws=draws_array, metadata=metadata)

    def __repr__(self) -> str:
        size = "physics only" if self.network is None else f"NefNet {self.network.parameter_count()} parameters"
        return f"<HybridPanorama | {size}, inputs {', '.join(self.input_leads)}>"


@lru_cache(maxsize=1)
def _pretrained() -> HybridPanorama:
    path = resources.files("hybridfield") / "resources" / _WEIGHTS_RESOURCE
    with resources.as_file(path) as file:
        if not Path(file).is_file():
            raise FileNotFoundError(
                f"bundled weights {_WEIGHTS_RESOURCE} are missing from the installation; "
                "reproduce them with `python -m hybridfield.train_hybrid`"
            )
        return HybridPanorama.load(file)

