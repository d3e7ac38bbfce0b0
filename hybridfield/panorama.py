"""The hybrid panorama: physical projection + Nef-Net residual, and its weights.

``prediction(view) = physical projection(view) + residual(view)`` (DESIGN.md):

- the **physical projection** fits the heart vector ``p(t)`` (mA*m) to the input leads
  (:func:`hybridfield.physics.record_heart_vector`: default-torso BEM lead vectors, the
  population's per-phase prior) and projects it through the lead vector of the query view on the
  same torso, keeping the lead identities with the measured leads
  (:func:`hybridfield.leads.identity_weights`, :func:`hybridfield.physics.physical_projection`);
- the **residual** is a small :class:`~hybridfield.nefnet.NefNet` that sees the input cycles,
  their Nef-Net view angles, the query angle and the physical prediction, cycle by cycle; with a
  single measured limb lead, the limb leads' residuals are projected onto the ones that keep the
  identities with it (:func:`hybridfield.leads.limb_residual_directions`).

Whole recordings are processed cycle by cycle (Nef-Net protocol cycles: one P onset to the next,
:func:`hybridfield.nefnet_beats`); the residual is tapered to zero at each cycle's ends, so the
stitched record has no seams. Samples outside any usable cycle keep the physical projection.
Each call prepares and segments its record once (:func:`hybridfield.preparation.prepare_record`);
every method also takes that :class:`~hybridfield.preparation.PreparedRecord` instead of an ECG,
so a caller asking several questions of one record prepares it once. Weights are trained by
``python -m hybridfield.train_hybrid`` (:mod:`hybridfield.training`), saved with their
preprocessing contract and loaded with ``torch.load(..., weights_only=True)``.
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

__all__ = ["HybridPanorama"]

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
        for key in ("fs", "units", "band_hz", "cycle_length"):
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
        """Heart vector fitted to the input leads (the physics' source).

        Parameters
        ----------
        ecg : ECG or PreparedRecord
            The record, mV (or the record prepared once by :func:`hybridfield.preparation.prepare_record`).
        inputs : sequence of str, optional
            Input leads (default :attr:`input_leads`).

        Returns
        -------
        heart_vector : (3, n_samples) float, mA*m
            Body frame, on :meth:`prepare`'s time base (500 Hz).
        """
        return self._fit(self._record(ecg), inputs)[1]

    def lead_vectors(self, views: Sequence[Any]) -> np.ndarray:
        """Physical lead vectors of views on the default torso (BEM).

        Parameters
        ----------
        views : sequence
            Lead names and/or ``(theta, phi)`` pairs, radians.

        Returns
        -------
        vectors : (n_views, 3) float, mV per mA*m, body frame
        """
        _, _, keys = parse_views(views)
        return lead_vector_array(keys)

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
            (``"view(90,130)"`` in degrees for angle pairs), all marked virtual. Samples outside
            every usable cycle (the record's ends, undelineated beats) carry the physics alone.
        """
        record = self._record(ecg)
        names, angles, physical, learned, input_names = self._prediction(record, views, inputs, residual=residual)
        prepared = record.ecg
        output = physical + learned
        source = "hybrid panorama (physics + Nef-Net residual)" if residual and self.network is not None else "physical projection"
        return ECG(
            output,
            prepared.fs,
            names,
            electrode_angles={name: (float(a[0]), float(a[1])) for name, a in zip(names, angles)},
            virtual=names,
            metadata={"record": prepared.record, "source": source, "inputs": list(input_names), "units": "mV"},
        )

    def _prediction(
        self, record: PreparedRecord, views: Sequence[Any], inputs: Sequence[str] | None, *, residual: bool
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """One pass: view names and angles, physical projection and learned residual (n_views, n), mV."""
        names, angles, keys = parse_views(views)
        input_names, vector = self._fit(record, inputs)
        input_signals = record.signals(input_names)
        if residual and self.network is not None:
            # one measured limb lead: the limb leads' residual is fitted over all six of them,
            # whichever were asked for, so a view's prediction does not depend on the request
            from geometry import STANDARD_LEAD_ANGLES

            keys = with_all_limb_leads(keys, input_names)
            added = [STANDARD_LEAD_ANGLES[name] for name in keys[len(names):]]
            angles = np.vstack([angles, np.reshape(added, (-1, 2))])
        physical = physical_projection(
            lead_vector_array(keys), identity_weights(keys, input_names), vector, input_signals,
            lead_vector_array(input_names),
        )
        learned = np.zeros_like(physical)
        if residual and self.network is not None:
            exact = input_combinations(keys, input_names).any(axis=1)  # identities of the inputs need no learned correction
            learned = self._residual(record, input_names, angles, physical, exact)
            directions = limb_residual_directions(keys, input_names)
            learned = project_limb_residuals(learned, directions, distinct_views(keys))
        count = len(names)
        return names, angles[:count], physical[:count], learned[:count], input_names

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

        from .cycles import cut_cycles, cycle_layout

        length = int(self.network.config.length)
        beats = cycle_layout(record.ecg, record.segmentation, length)
        residual = np.zeros_like(physical)
        if beats.n_beats == 0:
            return residual
        inputs = cut_cycles(record.signals(input_names), beats.start, beats.lengths, length)
        physical_cycles = cut_cycles(physical, beats.start, beats.lengths, length)
        input_angles = torch.tensor([STANDARD_LEAD_ANGLES[n] for n in input_names], dtype=torch.float32)
        self.network.eval()
        with torch.no_grad():
            hybrid = self.network(
                torch.from_numpy(inputs), input_angles, torch.tensor(angles, dtype=torch.float32),
                torch.from_numpy(np.array(beats.regions, dtype=np.int64)), torch.from_numpy(np.array(beats.lengths, dtype=np.int64)),
                torch.from_numpy(physical_cycles),
                exact=torch.from_numpy(exact),
            ).numpy()
        for k, (start, size) in enumerate(zip(beats.start, beats.lengths)):
            # cycles abut (P onset to next P onset) and the residual is tapered to 0 at both ends
            residual[:, start : start + size] += hybrid[k, :, :size] - physical_cycles[k, :, :size]
        return residual

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
        """Posterior of virtual leads with the learned residual included.

        The uncertainty model (:func:`hybridfield.predict_posterior`) gives exact draws of the
        physical leads; the hybrid's residual (deterministic given the inputs) is added to every
        draw, so the bands move with the learned correction and keep the physics' width. Views
        that are combinations of the inputs are drawn as that combination (no spread); with a
        single measured limb lead every draw keeps Einthoven's and Goldberger's identities with
        it, as :meth:`predict` does.

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
            ``metadata["residual"]`` says the learned residual was added.
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
        shift = self._prediction(record, views, input_names, residual=True)[3]  # the learned residual, mV
        if shift.shape != posterior.draws.shape[1:]:
            raise RuntimeError(f"posterior and hybrid time bases differ: {posterior.draws.shape[1:]} vs {shift.shape}")
        metadata = dict(posterior.metadata)
        metadata["residual"] = "learned Nef-Net residual added to every draw (HybridPanorama)"
        return replace(posterior, draws=posterior.draws + shift[None], metadata=metadata)

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

