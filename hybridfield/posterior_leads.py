"""The posterior of virtual leads for one record, as :func:`hybridfield.predict_posterior` returns it.

:class:`PosteriorLeads` holds the exact draws of the views (mV) and of the heart vector (mA*m),
the nuisance parameters' draws and the metadata (units, record, the preprocessing contract), with
the summaries a user asks for: the mean, equal-tailed intervals (the probability always
explicit), one view's draws by name, ArviZ InferenceData and netCDF export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PosteriorLeads"]


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
