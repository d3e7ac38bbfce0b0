"""Shared fixtures of the forward-model tests (calibration, estimators, prior): the BEM lead
vectors of the default torso, a simulated heart vector and a prior fitted to three others.

Units: lead vectors mV per mA*m, heart vectors mA*m (body frame); sampling rate :data:`FS`.
"""

from __future__ import annotations

import numpy as np
import pytest

import forward
from forward.prior import HeartVectorPrior, fit_heart_vector_prior, phase_labels_from_annotations
from geometry import default_torso

__all__ = ["FS", "heart", "leads", "noisy_signals", "prior", "rows", "signals_and_a_nan"]

#: Sampling rate of the simulated heart vectors, Hz.
FS = 500.0


@pytest.fixture(scope="module")
def leads() -> tuple[tuple[str, ...], np.ndarray]:
    names, matrix = forward.lead_matrix(default_torso(), "standard12")
    return names, matrix


@pytest.fixture(scope="module")
def heart() -> tuple[np.ndarray, object]:
    return forward.simulate_heart_vector(10.0, FS, random_seed=3, return_annotations=True)


@pytest.fixture(scope="module")
def prior() -> HeartVectorPrior:
    vectors, labels = [], []
    for seed in (10, 11, 12):
        p, notes = forward.simulate_heart_vector(10.0, FS, random_seed=seed, return_annotations=True)
        vectors.append(p)
        labels.append(phase_labels_from_annotations(notes, p.shape[1]))
    return fit_heart_vector_prior(vectors, labels)


def rows(names: tuple[str, ...], wanted: tuple[str, ...]) -> list[int]:
    """Row index of each ``wanted`` lead in ``names``."""
    return [names.index(name) for name in wanted]


def noisy_signals(lead: np.ndarray, p: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 12 leads of heart vector ``p`` plus Gaussian noise, 0.03 to 0.08 mV by lead:
    ``(sigma, signals)``."""
    rng = np.random.default_rng(seed)
    sigma = np.linspace(0.03, 0.08, 12)  # mV, per lead
    return sigma, lead @ p + sigma[:, None] * rng.standard_normal((12, p.shape[1]))


@pytest.fixture(scope="module")
def signals_and_a_nan(leads, heart) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lead matrix, the leads of the first 100 samples of the heart vector, and a copy of
    those with one NaN (row 3, sample 7)."""
    _, lead = leads
    p, _ = heart
    signals = lead @ p[:, :100]
    bad = signals.copy()
    bad[3, 7] = np.nan
    return lead, signals, bad
