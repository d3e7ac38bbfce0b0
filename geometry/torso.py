"""Torso volume-conductor surfaces: a closed triangle mesh, the heart centre and anatomical landmarks.

All lengths are metres. Meshes are expected in the body frame: x anterior, y the subject's left,
z superior. The default torso is built so that the heart's electrical centre is the origin;
a loaded torso keeps its own coordinates and records where the heart centre is
(``Torso.heart_center``), about which every view angle is measured.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh
from trimesh.ray.ray_triangle import RayMeshIntersector
from scipy.interpolate import PchipInterpolator

from .validation import as_finite_array, as_points, as_positive_scalar, as_vector3, broadcast_pair
from .angles import angles_from_positions, direction_from_angles

__all__ = [
    "TORSO_EXTENT_RANGE_M",
    "TorsoSizeWarning",
    "check_torso_size",
    "Torso",
    "TorsoLandmarks",
    "default_torso",
    "load_torso",
    "estimate_landmarks",
]

# Landmark heights as fractions of the distance from the heart centre to the top of the trunk
# (above the heart) or to its bottom (below); taken from the default adult trunk
# (0.222 m above and 0.378 m below the heart, 4th intercostal space at the heart's level).
_ICS_SPACING_FRACTION_OF_UP = 0.108  # 0.024 m on the default torso
_CLAVICLE_FRACTION_OF_UP = 0.47  # 0.104 m
_STERNAL_NOTCH_FRACTION_OF_UP = 0.52  # 0.115 m
_COSTAL_MARGIN_FRACTION_OF_DOWN = 0.42  # 0.159 m below the heart
_ILIAC_CREST_FRACTION_OF_DOWN = 0.79  # 0.299 m below the heart
# Lateral landmarks as fractions of the chest width at the heart's level.
_MIDCLAVICULAR_FRACTION_OF_WIDTH = 0.27  # 0.092 m for a 0.34 m chest
_STERNAL_BORDER_FRACTION_OF_WIDTH = 0.0588  # 0.020 m for a 0.34 m chest
_INTERCOSTAL_SPACES = (1, 2, 3, 4, 5, 6)

#: Range, metres, of the largest bounding-box extent of a human torso surface: from a newborn's
#: trunk (about 0.2 m from neck to hips, 0.1 m across) to an adult trunk with head and pelvis
#: (the default torso is 0.6 m tall; adults' trunks reach about 0.9 m). Outside it
#: :func:`check_torso_size` warns; beyond ten times outside it (under 0.015 m or over 15 m) only a
#: unit mistake explains the size (a 0.2 m sphere given in mm as metres is 400 m across), and it raises.
TORSO_EXTENT_RANGE_M: tuple[float, float] = (0.15, 1.5)
_UNIT_MISTAKE_FACTOR = 10.0


class TorsoSizeWarning(UserWarning):
    """A torso surface's size is outside the human range (see :data:`TORSO_EXTENT_RANGE_M`)."""


def check_torso_size(vertices: Any, *, name: str = "torso") -> float:
    """Check that a torso surface has a human size in metres; warn or raise otherwise.

    Parameters
    ----------
    vertices : (n, 3) float, metres
        Surface vertices.
    name : str
        Label quoted in the message.

    Returns
    -------
    extent : float, metres
        Largest extent of the vertices' axis-aligned bounding box.

    Raises
    ------
    ValueError
        If the extent is more than ten times outside :data:`TORSO_EXTENT_RANGE_M` (under 0.015 m
        or over 15 m): the coordinates are in another unit (give ``units`` to :func:`load_torso`).

    Warns
    -----
    TorsoSizeWarning
        If the extent is outside :data:`TORSO_EXTENT_RANGE_M` but within ten times of it (a
        phantom, an animal, a child's or a cropped torso are possible).
    """
    points = as_points(vertices, "vertices")
    extent = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
    low, high = TORSO_EXTENT_RANGE_M
    if not low / _UNIT_MISTAKE_FACTOR <= extent <= high * _UNIT_MISTAKE_FACTOR:
        raise ValueError(
            f"{name}: the surface is {extent:.4g} m across (largest bounding-box extent), more than ten times outside "
            f"a human torso's {low:g}-{high:g} m: are its coordinates in mm or cm rather than metres? "
            "Pass units='mm' or units='cm' to geometry.load_torso"
        )
    if not low <= extent <= high:
        warnings.warn(
            f"{name}: the surface is {extent:.4g} m across (largest bounding-box extent), outside a human torso's "
            f"{low:g}-{high:g} m; check its units (metres expected)",
            TorsoSizeWarning,
            stacklevel=3,
        )
    return extent


@dataclass(frozen=True)
class TorsoLandmarks:
    """Anatomical landmarks used to place electrodes (metres, in the torso mesh's coordinates).

    Parameters
    ----------
    midline_y : float, metres
        y of the sagittal midline (sternum and spine).
    intercostal_z : dict[int, float], metres
        z of the 1st..6th intercostal spaces at the sternal border (keys 1..6, as anatomy
        numbers them; strictly decreasing with the number).
    clavicle_z : float, metres
        z of the clavicles (infraclavicular fossae lie just below).
    sternal_notch_z : float, metres
        z of the suprasternal (jugular) notch, the top of the manubrium.
    costal_margin_z : float, metres
        z of the lowest anterior rib margin.
    iliac_crest_z : float, metres
        z of the iliac crests.
    midclavicular_offset : float, metres
        Distance of the midclavicular lines from the midline (left and right alike), > 0.
    sternal_border_offset : float, metres
        Half-width of the sternum (distance of the sternal borders from the midline), > 0.
    axis_x : float, metres
        x of the trunk's vertical centre axis; with ``midline_y`` the origin of horizontal rays
        cast towards the axillary lines.
    """

    midline_y: float
    intercostal_z: dict[int, float]
    clavicle_z: float
    sternal_notch_z: float
    costal_margin_z: float
    iliac_crest_z: float
    midclavicular_offset: float
    sternal_border_offset: float
    axis_x: float

    def __post_init__(self) -> None:
        for name in ("midline_y", "clavicle_z", "sternal_notch_z", "costal_margin_z", "iliac_crest_z", "axis_x"):
            value = as_finite_array(getattr(self, name), name)
            if value.ndim != 0:
                raise ValueError(f"{name} must be a scalar in metres, got shape {value.shape}")
            object.__setattr__(self, name, float(value))
        for name in ("midclavicular_offset", "sternal_border_offset"):
            object.__setattr__(self, name, as_positive_scalar(getattr(self, name), name, "metres"))
        if not hasattr(self.intercostal_z, "items"):
            raise TypeError(
                f"intercostal_z must be a dict {{space number: z in metres}}, got {type(self.intercostal_z).__name__}"
            )
        spaces = {int(key): float(as_finite_array(value, f"intercostal_z[{key}]")) for key, value in self.intercostal_z.items()}
        if sorted(spaces) != list(_INTERCOSTAL_SPACES):
            raise ValueError(f"intercostal_z must have keys 1..6 (intercostal spaces), got keys {sorted(spaces)}")
        heights = np.array([spaces[k] for k in _INTERCOSTAL_SPACES])
        if np.any(np.diff(heights) >= 0):
            raise ValueError(
                f"intercostal_z must decrease strictly from the 1st to the 6th space, got {heights.round(4).tolist()} m"
            )
        object.__setattr__(self, "intercostal_z", spaces)
        if not self.clavicle_z > spaces[1]:
            raise ValueError(f"clavicle_z ({self.clavicle_z:.4g} m) must lie above intercostal_z[1] ({spaces[1]:.4g} m)")
        if not self.sternal_notch_z > spaces[1]:
            raise ValueError(
                f"sternal_notch_z ({self.sternal_notch_z:.4g} m) must lie above intercostal_z[1] ({spaces[1]:.4g} m)"
            )
        if not spaces[6] > self.costal_margin_z > self.iliac_crest_z:
            raise ValueError(
                "landmarks must satisfy intercostal_z[6] > costal_margin_z > iliac_crest_z, got "
                f"{spaces[6]:.4g} m, {self.costal_margin_z:.4g} m, {self.iliac_crest_z:.4g} m"
            )

    @property
    def intercostal_spacing(self) -> float:
        """Mean distance between neighbouring intercostal spaces, metres."""
        return (self.intercostal_z[1] - self.intercostal_z[6]) / 5.0


def _vertical_landmarks(heart_z: float, up: float, down: float) -> dict[str, Any]:
    """Landmark heights from the heart height and its distances to the top and bottom (metres)."""
    spacing = _ICS_SPACING_FRACTION_OF_UP * up
    intercostal_z = {k: heart_z + (4 - k) * spacing for k in _INTERCOSTAL_SPACES}
    costal_margin_z = min(heart_z - _COSTAL_MARGIN_FRACTION_OF_DOWN * down, intercostal_z[6] - spacing)
    iliac_crest_z = min(heart_z - _ILIAC_CREST_FRACTION_OF_DOWN * down, costal_margin_z - spacing)
    return {
        "intercostal_z": intercostal_z,
        "clavicle_z": heart_z + _CLAVICLE_FRACTION_OF_UP * up,
        "sternal_notch_z": heart_z + _STERNAL_NOTCH_FRACTION_OF_UP * up,
        "costal_margin_z": costal_margin_z,
        "iliac_crest_z": iliac_crest_z,
    }


def _intersector(mesh: trimesh.Trimesh) -> RayMeshIntersector:
    """trimesh's float64 ray-triangle intersector (never the float32 Embree one), cached on the mesh."""
    cache = mesh.__dict__.setdefault("_hybridfield_ray_cache", {})
    key = mesh.__hash__()  # changes whenever vertices or faces change
    if key not in cache:
        cache.clear()
        cache[key] = RayMeshIntersector(mesh)
    return cache[key]


def _format_metres(value: float) -> str:
    return f"{float(value) + 0.0:.3g}"


class Torso:
    """A closed torso surface with its heart centre and landmarks.

    Build one with :func:`default_torso` or :func:`load_torso`.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Watertight triangle mesh with outward normals, metres.
    heart_center : (3,) array_like, metres
        The heart's electrical centre, in the mesh's coordinates; must lie inside the mesh.
    landmarks : TorsoLandmarks
        Anatomical landmarks (metres, mesh coordinates).
    name : str
        A label shown in the repr.

    Attributes
    ----------
    mesh : trimesh.Trimesh
    heart_center : (3,) ndarray of float64, metres
    landmarks : TorsoLandmarks
    name : str

    Raises
    ------
    ValueError
        For a mesh that is open, inside out, of a size only a unit mistake explains
        (:func:`check_torso_size`: under 0.015 m or over 15 m across), or a heart centre outside it.

    Warns
    -----
    TorsoSizeWarning
        If the mesh is outside the human range of :data:`TORSO_EXTENT_RANGE_M` (0.15-1.5 m across).
    """

    def __init__(self, mesh: trimesh.Trimesh, heart_center: Any, landmarks: TorsoLandmarks, name: str = "torso") -> None:
        if not isinstance(mesh, trimesh.Trimesh):
            raise TypeError(f"mesh must be a trimesh.Trimesh, got {type(mesh).__name__}")
        if not mesh.is_watertight:
            raise ValueError("mesh must be watertight (closed); use load_torso, which reports and repairs what it can")
        if not mesh.volume > 0:
            raise ValueError(f"mesh must have outward normals (positive volume), got volume {mesh.volume:.4g} m^3")
        if not isinstance(landmarks, TorsoLandmarks):
            raise TypeError(f"landmarks must be a TorsoLandmarks, got {type(landmarks).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
        check_torso_size(mesh.vertices, name=f"Torso {name!r}")
        center = as_vector3(heart_center, "heart_center").copy()
        if not bool(mesh.contains(center[np.newaxis, :])[0]):
            raise ValueError(f"heart_center must lie inside the torso mesh, got {center.tolist()} m")
        center.setflags(write=False)
        self.mesh = mesh
        self.heart_center = center
        self.landmarks = landmarks
        self.name = name

    # ------------------------------------------------------------------ arrays
    @property
    def vertices(self) -> np.ndarray:
        """(n, 3) float, metres: mesh vertices."""
        return np.asarray(self.mesh.vertices)

    @property
    def faces(self) -> np.ndarray:
        """(m, 3) int: vertex indices of each triangle, counter-clockwise seen from outside."""
        return np.asarray(self.mesh.faces)

    @property
    def vertex_normals(self) -> np.ndarray:
        """(n, 3) float: outward unit normals at the vertices."""
        return np.asarray(self.mesh.vertex_normals)

    def __repr__(self) -> str:
        state = "watertight" if self.mesh.is_watertight else "NOT watertight"
        heart = ", ".join(_format_metres(v) for v in self.heart_center)
        return f"<Torso {self.name!r} | {len(self.mesh.faces)} faces, {state}, heart at ({heart}) m>"

    # ------------------------------------------------------------------ rays
    def cast_rays(self, origins: Any, directions: Any) -> tuple[np.ndarray, np.ndarray]:
        """First intersection of each ray with the surface (trimesh ray intersector).

        Parameters
        ----------
        origins : (n, 3) or (3,) array_like, metres
            Ray origins.
        directions : (n, 3) or (3,) array_like
            Ray directions (normalised here); broadcast against ``origins``.

        Returns
        -------
        points : (n, 3) ndarray of float64, metres
            The hit nearest each origin (strictly in front of it); NaN where the ray misses.
        hit : (n,) ndarray of bool
            Whether each ray hit the surface.
        """
        origin_points = as_points(origins, "origins")
        direction_vectors = as_points(directions, "directions")
        origin_points, direction_vectors = broadcast_pair(
            origin_points, direction_vectors, "origins and directions must have the same number of rows, got {} and {}"
        )
        lengths = np.linalg.norm(direction_vectors, axis=1)
        if np.any(lengths <= 0):
            raise ValueError("directions must be non-zero vectors")
        direction_vectors = direction_vectors / lengths[:, np.newaxis]
        origin_points = np.ascontiguousarray(origin_points)
        locations, index_ray, _ = _intersector(self.mesh).intersects_location(
            origin_points, direction_vectors, multiple_hits=True
        )
        count = len(origin_points)
        points = np.full((count, 3), np.nan)
        hit = np.zeros(count, dtype=bool)
        if len(index_ray):
            distance = np.einsum("ij,ij->i", locations - origin_points[index_ray], direction_vectors[index_ray])
            forward = distance > 1e-9
            locations, index_ray, distance = locations[forward], index_ray[forward], distance[forward]
            order = np.lexsort((distance, index_ray))
            first = order[np.r_[True, np.diff(index_ray[order]) != 0]] if len(order) else order
            points[index_ray[first]] = locations[first]
            hit[index_ray[first]] = True
        return points, hit

    def surface_point(self, theta: Any, phi: Any) -> np.ndarray:
        """Where the ray from the heart centre in view direction (theta, phi) meets the surface.

        Parameters
        ----------
        theta : float or array_like, radians
            Polar angle from +z, in [0, pi].
        phi : float or array_like, radians
            Azimuth from +x towards +y, in [-pi, pi]; broadcast against ``theta``.

        Returns
        -------
        points : (3,) or (..., 3) ndarray of float64, metres
            The intersection nearest the heart centre: (3,) for scalar angles, else the broadcast
            shape of the angles followed by 3 (``(n, 3)`` for ``(n,)`` arrays).

        Raises
        ------
        ValueError
            If an angle is invalid or a ray misses the surface.
        """
        directions = direction_from_angles(theta, phi)
        shape = directions.shape[:-1]
        flat = directions.reshape(-1, 3)
        points, hit = self.cast_rays(np.broadcast_to(self.heart_center, flat.shape), flat)
        if not np.all(hit):
            index = int(np.flatnonzero(~hit)[0])
            miss_theta, miss_phi = angles_from_positions(self.heart_center + flat[index], self.heart_center)
            raise ValueError(
                f"the ray from heart_center at theta={miss_theta:.6g}, phi={miss_phi:.6g} rad misses the "
                f"surface of torso {self.name!r} ({int(np.count_nonzero(~hit))} ray(s) missed)"
            )
        return points.reshape(shape + (3,))

    def contains(self, points: Any) -> np.ndarray:
        """Whether points lie inside the closed surface.

        Parameters
        ----------
        points : (n, 3) or (3,) array_like, metres

        Returns
        -------
        inside : (n,) ndarray of bool
        """
        return np.asarray(self.mesh.contains(as_points(points, "points")), dtype=bool)

    def project(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        """Nearest surface points.

        Parameters
        ----------
        points : (n, 3) or (3,) array_like, metres

        Returns
        -------
        projected : (n, 3) ndarray of float64, metres
            The closest point of the surface to each point.
        displacement : (n,) ndarray of float64, metres
            Distance from each point to its projection.
        """
        query = as_points(points, "points")
        projected, displacement, _ = trimesh.proximity.closest_point(self.mesh, query)
        return np.asarray(projected, dtype=np.float64), np.asarray(displacement, dtype=np.float64)

    def view_angles(self, points: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
        """View angles of points about the heart centre.

        Parameters
        ----------
        points : (n, 3) or (3,) array_like, metres

        Returns
        -------
        theta, phi : float or (n,) ndarray, radians
            phi = 0 on the poles by convention.
        """
        return angles_from_positions(points, self.heart_center)


# ---------------------------------------------------------------------- default torso
def _section(alpha: np.ndarray, half_width: float, half_depth: float, front_exponent: float, back_exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """Superellipse cross-section offsets (x, y) from the trunk axis at angles ``alpha``."""
    cos_a, sin_a = np.cos(alpha), np.sin(alpha)
    exponent = np.where(cos_a >= 0, front_exponent, back_exponent)
    x = half_depth * np.sign(cos_a) * np.abs(cos_a) ** (2.0 / exponent)
    y = half_width * np.sign(sin_a) * np.abs(sin_a) ** (2.0 / exponent)
    return x, y


_FRONT_EXPONENT = 2.4  # rounded front
_BACK_EXPONENT = 3.2  # flatter back
_TOP_CAP_EXPONENT = 2.6  # rounded, fairly square shoulders
_BOTTOM_CAP_EXPONENT = 3.0
_TOP_RIM_FRACTION_OF_UP = 0.66  # shoulders start to round off here
_BOTTOM_RIM_FRACTION_OF_DOWN = 0.90


def default_torso(
    *,
    height: float = 0.60,
    chest_width: float = 0.34,
    chest_depth: float = 0.22,
    waist_width: float = 0.30,
    heart_offset_left: float = 0.03,
    heart_depth: float = 0.07,
    heart_level: float = 0.63,
    resolution: int = 48,
    name: str = "default",
) -> Torso:
    """An adult trunk built by code, with the heart's electrical centre at the origin.

    Horizontal sections are superellipses (rounded front, flatter back) whose width and depth
    follow a smooth profile: widest at the shoulders, narrowing to the waist, slightly wider again
    at the hips; the shoulders/top and the bottom are closed by rounded caps, so the mesh is
    watertight with outward normals. Landmarks are placed at fixed fractions of the distance from
    the heart to the top (ribs, clavicle, sternal notch) or to the bottom (costal margin, iliac
    crest), with the 4th intercostal space at the heart's level; the intercostal spacing is
    0.024 m for the default proportions.

    Parameters
    ----------
    height : float, metres
        Trunk height, bottom to top of the shoulders.
    chest_width : float, metres
        Left-right width of the chest at the heart's level.
    chest_depth : float, metres
        Antero-posterior depth of the chest at the heart's level.
    waist_width : float, metres
        Left-right width at the waist.
    heart_offset_left : float, metres
        Distance of the heart centre to the left of the midline (so ``midline_y = -heart_offset_left``);
        may be 0 or negative, but within the chest.
    heart_depth : float, metres
        Distance of the heart centre behind the anterior chest wall (the sternum); the sternal
        surface at the heart's level is at ``x = heart_depth``. Must be < ``chest_depth``.
    heart_level : float
        Height of the heart centre above the bottom of the trunk, as a fraction of ``height``,
        in [0.5, 0.75] (0.63: 0.222 m of trunk above the heart and 0.378 m below for 0.60 m).
    resolution : int
        Vertices around each horizontal section (>= 8); rings are spaced to match, so the face
        count grows about as ``resolution**2`` (48 gives about 4000 faces).
    name : str
        Label of the torso.

    Returns
    -------
    torso : Torso
        Heart centre exactly (0, 0, 0); mesh in metres, body frame.

    Raises
    ------
    ValueError
        If a parameter is not finite and positive, or the heart would not lie inside the trunk.
    """
    height = as_positive_scalar(height, "height", "metres")
    chest_width = as_positive_scalar(chest_width, "chest_width", "metres")
    chest_depth = as_positive_scalar(chest_depth, "chest_depth", "metres")
    waist_width = as_positive_scalar(waist_width, "waist_width", "metres")
    heart_depth = as_positive_scalar(heart_depth, "heart_depth", "metres")
    offset = as_finite_array(heart_offset_left, "heart_offset_left")
    if offset.ndim != 0:
        raise ValueError(f"heart_offset_left must be a scalar in metres, got shape {offset.shape}")
    heart_offset_left = float(offset)
    level = as_finite_array(heart_level, "heart_level")
    if level.ndim != 0 or not 0.5 <= float(level) <= 0.75:
        raise ValueError(f"heart_level must be a fraction of height in [0.5, 0.75], got {heart_level!r}")
    heart_level = float(level)
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 8:
        raise ValueError(f"resolution must be an integer >= 8 (vertices per section), got {resolution!r}")
    resolution = int(resolution)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if heart_depth >= chest_depth:
        raise ValueError(
            f"heart_depth must be smaller than chest_depth ({chest_depth:g} m) for the heart to lie inside "
            f"the chest, got {heart_depth:g} m"
        )
    if abs(heart_offset_left) >= 0.5 * chest_width:
        raise ValueError(
            f"heart_offset_left must be smaller in magnitude than half the chest width ({0.5 * chest_width:g} m), "
            f"got {heart_offset_left:g} m"
        )

    up = (1.0 - heart_level) * height
    down = heart_level * height
    midline_y = -heart_offset_left
    axis_x = heart_depth - 0.5 * chest_depth
    chest_half_width = 0.5 * chest_width
    waist_half_width = 0.5 * waist_width
    chest_half_depth = 0.5 * chest_depth

    # Profile nodes: (z, half-width, half-depth), smooth monotone-cubic interpolation in z.
    z_top_rim = _TOP_RIM_FRACTION_OF_UP * up
    z_bottom_rim = -_BOTTOM_RIM_FRACTION_OF_DOWN * down
    nodes = np.array(
        [
            (z_bottom_rim, 1.08 * waist_half_width, 0.97 * chest_half_depth),  # hips
            (-0.79 * down, 1.07 * waist_half_width, 0.93 * chest_half_depth),  # iliac crests
            (-0.60 * down, waist_half_width, 0.88 * chest_half_depth),  # waist
            (-0.35 * down, 0.25 * waist_half_width + 0.75 * chest_half_width, 0.95 * chest_half_depth),  # lower ribs
            (0.0, chest_half_width, chest_half_depth),  # heart level
            (0.40 * up, 1.03 * chest_half_width, 0.96 * chest_half_depth),  # upper chest
            (z_top_rim, 1.05 * chest_half_width, 0.86 * chest_half_depth),  # shoulders
        ]
    )
    half_width_of = PchipInterpolator(nodes[:, 0], nodes[:, 1])
    half_depth_of = PchipInterpolator(nodes[:, 0], nodes[:, 2])

    alpha = 2.0 * np.pi * np.arange(resolution) / resolution
    fine = np.linspace(0.0, 2.0 * np.pi, 721)
    fine_x, fine_y = _section(fine, chest_half_width, chest_half_depth, _FRONT_EXPONENT, _BACK_EXPONENT)
    perimeter = float(np.sum(np.hypot(np.diff(fine_x), np.diff(fine_y))))
    edge = perimeter / resolution

    # Ring heights: body rings with one exactly at the heart's level, then rounded caps.
    n_below = max(2, math.ceil(-z_bottom_rim / edge))
    n_above = max(2, math.ceil(z_top_rim / edge))
    body_z = np.concatenate([np.linspace(z_bottom_rim, 0.0, n_below + 1), np.linspace(0.0, z_top_rim, n_above + 1)[1:]])
    rings: list[tuple[float, float, float]] = [(float(z), float(half_width_of(z)), float(half_depth_of(z))) for z in body_z]

    def cap_rings(rim_z: float, cap_height: float, exponent: float, sign: float) -> list[tuple[float, float, float]]:
        rim_width, rim_depth = float(half_width_of(rim_z)), float(half_depth_of(rim_z))
        semi = 0.5 * (rim_width + rim_depth)
        arc = 0.25 * math.pi * (3 * (semi + cap_height) - math.sqrt((3 * semi + cap_height) * (semi + 3 * cap_height)))
        count = max(3, math.ceil(arc / edge))
        result = []
        for k in range(1, count):
            beta = 0.5 * math.pi * k / count
            radial = math.cos(beta) ** (2.0 / exponent)
            rise = math.sin(beta) ** (2.0 / exponent)
            result.append((rim_z + sign * cap_height * rise, radial * rim_width, radial * rim_depth))
        return result

    top_rings = cap_rings(z_top_rim, up - z_top_rim, _TOP_CAP_EXPONENT, +1.0)
    bottom_rings = cap_rings(z_bottom_rim, down + z_bottom_rim, _BOTTOM_CAP_EXPONENT, -1.0)
    rings = bottom_rings[::-1] + rings + top_rings

    ring_vertices = []
    for z, half_width, half_depth in rings:
        x, y = _section(alpha, half_width, half_depth, _FRONT_EXPONENT, _BACK_EXPONENT)
        ring_vertices.append(np.column_stack([axis_x + x, midline_y + y, np.full(resolution, z)]))
    bottom_pole = np.array([[axis_x, midline_y, -down]])
    top_pole = np.array([[axis_x, midline_y, up]])
    vertices = np.vstack([bottom_pole, *ring_vertices, top_pole])

    n_rings = len(rings)
    ring_start = 1 + resolution * np.arange(n_rings)
    j = np.arange(resolution)
    j_next = (j + 1) % resolution
    faces = []
    for i in range(n_rings - 1):
        a, b = ring_start[i] + j, ring_start[i] + j_next
        c, d = ring_start[i + 1] + j_next, ring_start[i + 1] + j
        faces.append(np.column_stack([a, b, c]))
        faces.append(np.column_stack([a, c, d]))
    bottom_index, top_index = 0, len(vertices) - 1
    faces.append(np.column_stack([np.full(resolution, bottom_index), ring_start[0] + j_next, ring_start[0] + j]))
    last = ring_start[-1]
    faces.append(np.column_stack([last + j, last + j_next, np.full(resolution, top_index)]))
    mesh = trimesh.Trimesh(vertices=vertices, faces=np.vstack(faces), process=False)
    if not (mesh.is_winding_consistent and mesh.volume > 0):
        trimesh.repair.fix_normals(mesh)
    if not (mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0):
        raise RuntimeError("internal error: the generated torso mesh is not a closed outward-oriented surface")

    landmarks = TorsoLandmarks(
        midline_y=midline_y,
        axis_x=axis_x,
        midclavicular_offset=_MIDCLAVICULAR_FRACTION_OF_WIDTH * chest_width,
        sternal_border_offset=_STERNAL_BORDER_FRACTION_OF_WIDTH * chest_width,
        **_vertical_landmarks(0.0, up, down),
    )
    heart_center = np.zeros(3)
    if not bool(mesh.contains(heart_center[np.newaxis, :])[0]):
        raise ValueError(
            "the heart centre falls outside the generated trunk: reduce heart_offset_left "
            f"({heart_offset_left:g} m) or heart_depth ({heart_depth:g} m)"
        )
    return Torso(mesh, heart_center, landmarks, name)


# ---------------------------------------------------------------------- loading
_UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001}


def _boundary_edge_count(mesh: trimesh.Trimesh) -> int:
    return int(len(trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)))


def _first_hit_or(torso_mesh: trimesh.Trimesh, origin: np.ndarray, direction: np.ndarray) -> np.ndarray | None:
    locations, index_ray, _ = _intersector(torso_mesh).intersects_location(origin[np.newaxis], direction[np.newaxis], multiple_hits=True)
    if len(locations) == 0:
        return None
    distance = (locations - origin) @ direction
    forward = distance > 1e-9
    if not np.any(forward):
        return None
    return locations[forward][np.argmin(distance[forward])]


def estimate_landmarks(mesh: trimesh.Trimesh, heart_center: Any) -> TorsoLandmarks:
    """Estimate anatomical landmarks of a body-frame torso mesh from its shape and heart centre.

    Rule (metres, mesh coordinates; the mesh must be oriented x anterior, y left, z superior):

    - the chest section at the heart's height is measured by horizontal rays from the heart centre:
      ``midline_y`` is the midpoint of its left-right extent and ``axis_x`` the midpoint of its
      front-back extent (each falls back on the bounding-box centre if a ray misses);
    - heights are placed at the default torso's fractions of the distance from the heart centre
      to the top of the mesh (above the heart: intercostal spacing 0.108, clavicle 0.47, sternal
      notch 0.52) or to its bottom (below: costal margin 0.42, iliac crest 0.79), with the 4th
      intercostal space at the heart's height;
    - ``midclavicular_offset`` = 0.27 and ``sternal_border_offset`` = 0.0588 of the chest width
      at the heart's height.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed torso surface, metres.
    heart_center : (3,) array_like, metres
        Heart centre inside the mesh.

    Returns
    -------
    landmarks : TorsoLandmarks
        Exactly the analytic landmarks for the z values of :func:`default_torso`.
    """
    center = as_vector3(heart_center, "heart_center")
    (low, high) = np.asarray(mesh.bounds, dtype=np.float64)
    x_axis, y_axis = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])

    def extent(origin: np.ndarray, axis: np.ndarray, index: int) -> tuple[float, float]:
        plus, minus = _first_hit_or(mesh, origin, axis), _first_hit_or(mesh, origin, -axis)
        if plus is None or minus is None:
            return float(low[index]), float(high[index])
        return float(minus[index]), float(plus[index])

    y_low, y_high = extent(center, y_axis, 1)
    midline_y = 0.5 * (y_low + y_high)
    section_origin = np.array([center[0], midline_y, center[2]])
    if not bool(mesh.contains(section_origin[np.newaxis])[0]):
        section_origin = center
    x_low, x_high = extent(section_origin, x_axis, 0)
    axis_x = 0.5 * (x_low + x_high)
    axis_origin = np.array([axis_x, midline_y, center[2]])
    if bool(mesh.contains(axis_origin[np.newaxis])[0]):
        y_low, y_high = extent(axis_origin, y_axis, 1)
    width = y_high - y_low
    up = float(high[2] - center[2])
    down = float(center[2] - low[2])
    return TorsoLandmarks(
        midline_y=midline_y,
        axis_x=axis_x,
        midclavicular_offset=_MIDCLAVICULAR_FRACTION_OF_WIDTH * width,
        sternal_border_offset=_STERNAL_BORDER_FRACTION_OF_WIDTH * width,
        **_vertical_landmarks(float(center[2]), up, down),
    )


def load_torso(
    mesh_or_path: trimesh.Trimesh | str | os.PathLike,
    *,
    units: str = "m",
    heart_center: Any,
    name: str | None = None,
    landmarks: TorsoLandmarks | None = None,
) -> Torso:
    """Make a :class:`Torso` from a trimesh mesh or any mesh file trimesh reads.

    Parameters
    ----------
    mesh_or_path : trimesh.Trimesh or str or os.PathLike
        The closed torso surface, in the body frame orientation (x anterior, y left, z superior).
        A mesh is copied, never modified.
    units : {"m", "cm", "mm"}
        Length unit of the mesh coordinates and of ``heart_center``; both are scaled to metres.
    heart_center : (3,) array_like, in ``units``
        The heart's electrical centre in the mesh's own coordinates (the mesh is not moved).
    name : str, optional
        Label; defaults to the file stem or ``"loaded"``.
    landmarks : TorsoLandmarks, optional
        Landmarks in metres (after scaling); estimated by :func:`estimate_landmarks` if omitted.

    Returns
    -------
    torso : Torso
        Mesh in metres, watertight, with outward normals (inverted or inconsistent winding is
        repaired with ``trimesh.repair.fix_normals``).

    Raises
    ------
    ValueError
        For an unknown unit, a size that only a unit mistake explains (:func:`check_torso_size`;
        outside the human range it warns), a mesh that is not watertight (with its number of boundary edges),
        a mesh whose volume stays non-positive after repair, or a heart centre outside the mesh.
    TypeError
        If ``mesh_or_path`` is neither a mesh nor a path.
    """
    if units not in _UNIT_SCALE:
        raise ValueError(f"units must be one of {', '.join(map(repr, _UNIT_SCALE))}, got {units!r}")
    scale = _UNIT_SCALE[units]
    if isinstance(mesh_or_path, trimesh.Trimesh):
        mesh = mesh_or_path.copy()
        default_name = "loaded"
    elif isinstance(mesh_or_path, (str, os.PathLike)):
        path = os.fspath(mesh_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"mesh_or_path: no such mesh file {path!r}")
        loaded = trimesh.load(path, force="mesh")
        if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
            raise ValueError(f"mesh_or_path: {path!r} holds no triangle mesh (got {type(loaded).__name__})")
        mesh = loaded
        default_name = os.path.splitext(os.path.basename(path))[0]
    else:
        raise TypeError(f"mesh_or_path must be a trimesh.Trimesh or a file path, got {type(mesh_or_path).__name__}")
    center = as_vector3(heart_center, "heart_center") * scale
    if scale != 1.0:
        mesh.apply_scale(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TorsoSizeWarning)  # the Torso warns once, below
        check_torso_size(mesh.vertices, name=f"mesh_or_path (units={units!r})")
    mesh.merge_vertices()
    if not mesh.is_watertight:
        boundary = _boundary_edge_count(mesh)
        raise ValueError(
            f"mesh_or_path must be a watertight (closed) surface, got a mesh with {boundary} boundary edge(s) "
            f"(edges used by one face only) among {len(mesh.faces)} faces; repair it first, e.g. "
            "trimesh.repair.fill_holes(mesh) for small holes, or remesh it"
        )
    if not (mesh.is_winding_consistent and mesh.volume > 0):
        trimesh.repair.fix_normals(mesh)
    if not (mesh.is_winding_consistent and mesh.volume > 0):
        raise ValueError(
            f"mesh_or_path: could not orient the mesh outwards (volume {mesh.volume:.4g} m^3 after repair); "
            "check it for self-intersections"
        )
    if not bool(mesh.contains(center[np.newaxis])[0]):
        raise ValueError(
            f"heart_center must lie inside the torso mesh, got {(center / scale).tolist()} {units} "
            f"(mesh bounds {(mesh.bounds / scale).round(4).tolist()} {units})"
        )
    if landmarks is None:
        landmarks = estimate_landmarks(mesh, center)
    elif not isinstance(landmarks, TorsoLandmarks):
        raise TypeError(f"landmarks must be a TorsoLandmarks or None, got {type(landmarks).__name__}")
    return Torso(mesh, center, landmarks, default_name if name is None else name)
