"""Simulated 12-lead records with known truth, shared by the population and posterior tests."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

import forward
from geometry import default_torso
from hybridfield import ECG

FS = 500.0
STANDARD = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_NOMINAL = {}


def _nominal_lead_vectors() -> dict[str, np.ndarray]:
    if not _NOMINAL:
        _NOMINAL.update(forward.lead_vectors(default_torso(), "standard12"))
    return _NOMINAL


def _random_rotation(rng: np.random.Generator, rms_degrees: float) -> np.ndarray:
    """Rotation about a random axis with an rms angle of ``rms_degrees``."""
    return Rotation.from_rotvec(rng.normal(0.0, np.deg2rad(rms_degrees) / math.sqrt(3.0), 3)).as_matrix()


def simulate_record(seed: int) -> tuple[ECG, ECG]:
    """A 10 s 12-lead record at 500 Hz with known truth: (noisy record, noise-free record).

    - Heart vector: forward.simulate_heart_vector (condition normal/LBBB/RBBB, 55-100 bpm).
    - Electrode-level lead fields from the default torso's lead vectors: the limb electrodes'
      WCT-referenced vectors r = -(I + II) / 3, a = I + r, l = II + r, the precordial ones V1..V6.
      Per record: a common rotation (heart orientation, 10 deg rms), a gain LogNormal(0, 0.05)
      per electrode and an independent rotation (8 deg rms) per precordial electrode. Leads are
      then formed from the electrode potentials (Einthoven, Goldberger, Wilson), so I + III = II
      and the augmented leads hold exactly.
    - Non-dipolar content: every electrode also sees the heart vector delayed by 16 ms through its
      own random vector (5 % of its lead vector's magnitude): phase-locked, not a single dipole.
    - White noise 0.02 mV per lead.
    """
    rng = np.random.default_rng(10_000 + seed)
    condition = ("normal", "lbbb", "rbbb")[int(rng.integers(3))]
    heart_rate = float(rng.uniform(55.0, 100.0))
    p = forward.simulate_heart_vector(10.0, FS, condition=condition, heart_rate=heart_rate, random_seed=seed)
    nominal = _nominal_lead_vectors()
    right = -(nominal["I"] + nominal["II"]) / 3.0
    electrodes = {"RA": right, "LA": nominal["I"] + right, "LL": nominal["II"] + right}
    electrodes.update({f"V{k}": nominal[f"V{k}"] for k in range(1, 7)})
    orientation = _random_rotation(rng, 10.0)
    delayed = np.roll(p, int(round(0.016 * FS)), axis=1)
    potential = {}
    for name, vector in electrodes.items():
        gain = math.exp(rng.normal(0.0, 0.05))
        turn = _random_rotation(rng, 8.0) if name.startswith("V") else np.eye(3)
        non_dipolar = rng.normal(0.0, 0.05 * np.linalg.norm(vector) / math.sqrt(3.0), 3)
        potential[name] = (gain * turn @ orientation @ vector) @ p + non_dipolar @ delayed
    wct = (potential["RA"] + potential["LA"] + potential["LL"]) / 3.0
    leads = {
        "I": potential["LA"] - potential["RA"],
        "II": potential["LL"] - potential["RA"],
        "III": potential["LL"] - potential["LA"],
        "aVR": potential["RA"] - (potential["LA"] + potential["LL"]) / 2.0,
        "aVL": potential["LA"] - (potential["RA"] + potential["LL"]) / 2.0,
        "aVF": potential["LL"] - (potential["RA"] + potential["LA"]) / 2.0,
        **{f"V{k}": potential[f"V{k}"] - wct for k in range(1, 7)},
    }
    clean = np.array([leads[name] for name in STANDARD])
    noisy = clean + rng.normal(0.0, 0.02, clean.shape)
    metadata = {"record": f"simulated{seed}", "condition": condition, "heart_rate": heart_rate}
    return ECG.from_array(noisy, FS, STANDARD, metadata=metadata), ECG.from_array(clean, FS, STANDARD)
