"""Torso meshes, heart centre, electrode placement and view angles.

Units and frame (no exceptions): lengths in metres; body frame with origin at the heart's
electrical centre, x anterior, y the subject's left, z superior. A view ``(theta, phi)`` is in
radians: ``theta`` the polar angle from +z, ``phi`` the azimuth from +x towards +y, with unit
direction ``u = (sin theta cos phi, sin theta sin phi, cos theta)``. Degrees appear only in names
that say so (``PANOBENCH_ANGLES_DEGREES``, ``view_from_degrees``...).

This package depends on numpy, scipy and trimesh only.
"""

from .angles import (
    PANOBENCH_ANGLES_DEGREES,
    REVIEW_VIEWS_DEGREES,
    STANDARD_LEAD_ANGLES,
    angles_from_direction,
    angles_from_positions,
    direction_from_angles,
    lead_view,
    view_from_degrees,
    view_to_degrees,
)
from .electrodes import ELECTRODE_SYSTEMS, ElectrodePositions, electrode_positions, project_to_surface
from .torso import TORSO_EXTENT_RANGE_M, Torso, TorsoLandmarks, TorsoSizeWarning, check_torso_size, default_torso, estimate_landmarks, load_torso

__all__ = [
    "Torso",
    "TorsoLandmarks",
    "default_torso",
    "load_torso",
    "estimate_landmarks",
    "check_torso_size",
    "TorsoSizeWarning",
    "TORSO_EXTENT_RANGE_M",
    "electrode_positions",
    "ElectrodePositions",
    "ELECTRODE_SYSTEMS",
    "project_to_surface",
    "STANDARD_LEAD_ANGLES",
    "PANOBENCH_ANGLES_DEGREES",
    "REVIEW_VIEWS_DEGREES",
    "direction_from_angles",
    "angles_from_direction",
    "angles_from_positions",
    "view_from_degrees",
    "view_to_degrees",
    "lead_view",
]
