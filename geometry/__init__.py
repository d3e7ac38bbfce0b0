"""Torso meshes, heart centre, electrode placement and view angles.

Units and frame (no exceptions): lengths in metres; body frame with origin at the heart's
electrical centre, x anterior, y the subject's left, z superior. A view ``(theta, phi)`` is in
radians: ``theta`` the polar angle from +z, ``phi`` the azimuth from +x towards +y, with unit
direction ``u = (sin theta cos phi, sin theta sin phi, cos theta)``. Degrees appear only in names
that say so (``PANOBENCH_ANGLES_DEGREES``, ``view_from_degrees``...).

This package depends on numpy, scipy and trimesh only. Its names are resolved lazily from
:data:`_LAZY_ATTRIBUTES` (``name -> "module:attribute"``): ``import geometry`` loads no trimesh
until a torso is used.
"""

from ._lazy import lazy_namespace

_LAZY_ATTRIBUTES: dict[str, str] = {
    "PANOBENCH_ANGLES_DEGREES": "geometry.angles:PANOBENCH_ANGLES_DEGREES",
    "REVIEW_VIEWS_DEGREES": "geometry.angles:REVIEW_VIEWS_DEGREES",
    "STANDARD_LEAD_ANGLES": "geometry.angles:STANDARD_LEAD_ANGLES",
    "angles_from_direction": "geometry.angles:angles_from_direction",
    "angles_from_positions": "geometry.angles:angles_from_positions",
    "direction_from_angles": "geometry.angles:direction_from_angles",
    "lead_view": "geometry.angles:lead_view",
    "view_from_degrees": "geometry.angles:view_from_degrees",
    "view_to_degrees": "geometry.angles:view_to_degrees",
    "ELECTRODE_SYSTEMS": "geometry.electrodes:ELECTRODE_SYSTEMS",
    "ElectrodePositions": "geometry.electrodes:ElectrodePositions",
    "electrode_positions": "geometry.electrodes:electrode_positions",
    "project_to_surface": "geometry.electrodes:project_to_surface",
    "TORSO_EXTENT_RANGE_M": "geometry.torso:TORSO_EXTENT_RANGE_M",
    "Torso": "geometry.torso:Torso",
    "TorsoLandmarks": "geometry.torso:TorsoLandmarks",
    "TorsoSizeWarning": "geometry.torso:TorsoSizeWarning",
    "check_torso_size": "geometry.torso:check_torso_size",
    "default_torso": "geometry.torso:default_torso",
    "estimate_landmarks": "geometry.torso:estimate_landmarks",
    "load_torso": "geometry.torso:load_torso",
}

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

__getattr__, __dir__ = lazy_namespace(__name__, _LAZY_ATTRIBUTES, __all__)
del lazy_namespace
