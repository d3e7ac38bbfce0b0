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

__all__ = ["FS", "heart", "leads", "prior", "rows"]

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
