"""The torso in 3-D: translucent surface, electrodes, heart centre, the surface points of views
and, optionally, the image surface coloured by lead-vector magnitude (:func:`plot_torso`).

Positions in metres (body frame: x anterior, y left, z superior), views ``(theta, phi)`` in
radians, labelled as :func:`hybridfield.leads.view_label` writes them (``"view(90,130)"``,
degrees). matplotlib is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..leads import parse_view_label, parse_views
from .paper import VIRTUAL_SUFFIX, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_torso"]

_MAX_TORSO_FACES = 8000  # more faces are thinned out: a translucent hull needs no finer mesh


def _resolve_views(views: Any) -> list[tuple[str, float, float]]:
    """Views as (label, theta, phi radians), through :func:`hybridfield.leads.parse_views`.

    Accepts None (no views), one lead name, one ``(theta, phi)`` pair, or a sequence of lead names,
    ``"view(θ,φ)"`` names (degrees, :func:`hybridfield.leads.parse_view_label`) and pairs (radians).
    """
    if views is None:
        return []
    if isinstance(views, str):
        views = [views]
    elif not isinstance(views, Sequence) and not isinstance(views, np.ndarray):
        raise TypeError(f"views must be a sequence of lead names and/or (theta, phi) pairs, got {type(views).__name__}")
    views = list(views)
    if len(views) == 2 and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in views):
        views = [views]  # one (theta, phi) pair given alone
    if not views:
        return []
    items: list[Any] = []
    for item in views:
        if isinstance(item, str):
            name = item.removesuffix(VIRTUAL_SUFFIX)
            angles = parse_view_label(name)
            items.append(name if angles is None else angles)
        else:
            items.append(item)
    names, angles, _ = parse_views(items, parameter="views")
    return [(name, float(theta), float(phi)) for name, (theta, phi) in zip(names, angles)]


def plot_torso(
    torso: Any = None,
    *,
    electrodes: str | Sequence[str] | Mapping[str, Any] | None = "standard12",
    views: Sequence[Any] | None = None,
    image_surface: bool = False,
    elevation: float = 15.0,
    azimuth: float = -20.0,
    title: str | None = None,
) -> "Figure":
    """The torso in 3-D: translucent surface, electrodes, heart centre and the surface points of views.

    Parameters
    ----------
    torso : geometry.Torso, optional
        Default ``geometry.default_torso()``.
    electrodes : str, sequence of str, mapping, or None, optional
        Electrode system(s) to place and label (``geometry.ELECTRODE_SYSTEMS``: "standard12",
        "frank", "posterior", ...), or user positions ``name -> (3,)`` metres (projected onto the
        surface), or None for none. Names are written next to the electrodes when there are at
        most 40 of them.
    views : sequence, optional
        Views to mark where the ray from the heart centre leaves the torso: lead names (their
        Nef-Net views, :func:`hybridfield.leads.lead_view_angles`; a " (virtual)" mark is
        ignored), ``"view(90,130)"`` names in degrees (:func:`hybridfield.leads.view_label`), or
        ``(theta, phi)`` pairs in radians; one pair or one name may be given alone. The ray is
        drawn dashed and labelled with the lead name or ``"view(θ,φ)"`` in degrees.
    image_surface : bool, optional
        Colour the surface by the magnitude of each vertex's WCT-referenced lead vector
        (``forward.image_surface``, boundary elements; mV per mA*m, with a colourbar). Building
        the BEM takes about a second on the default torso.
    elevation, azimuth : float, optional
        Camera angles, degrees (matplotlib's ``view_init``); the default looks at the chest from
        the front right.
    title : str, optional
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Unknown electrode systems or lead names, views out of range or missing the torso.
    TypeError
        A torso that is not a geometry.Torso, or inputs of the wrong kind.
    """
    import geometry

    if torso is None:
        torso = geometry.default_torso()
    if not isinstance(torso, geometry.Torso):
        raise TypeError(f"torso must be a geometry.Torso (or None for the default torso), got {type(torso).__name__}")
    camera = []
    for name, value in (("elevation", elevation), ("azimuth", azimuth)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number of degrees, got {value!r}") from None
        if not np.isfinite(number):
            raise ValueError(f"{name} must be finite degrees, got {number}")
        camera.append(number)
    positions: dict[str, np.ndarray] = {}
    if electrodes is not None:
        if isinstance(electrodes, Mapping):
            systems: list[Any] = [electrodes]
        elif isinstance(electrodes, str):
            systems = [electrodes]
        else:
            systems = list(electrodes)
        for system in systems:
            for name, point in geometry.electrode_positions(torso, system).items():
                positions.setdefault(name, np.asarray(point, dtype=np.float64))
    resolved = _resolve_views(views)
    view_points = [torso.surface_point(theta, phi) for _, theta, phi in resolved]
    magnitudes = None
    if image_surface:
        import forward

        magnitudes = np.linalg.norm(forward.image_surface(torso), axis=1)

    plt = pyplot()
    from matplotlib import cm
    from matplotlib.colors import Normalize
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    vertices, faces = torso.vertices, torso.faces
    if len(faces) > _MAX_TORSO_FACES:
        faces = faces[:: int(np.ceil(len(faces) / _MAX_TORSO_FACES))]
    fig = plt.figure(figsize=(8.0, 8.5))
    ax = fig.add_axes((0.0, 0.03, 0.88 if image_surface else 1.0, 0.9), projection="3d")
    if magnitudes is None:
        surface = Poly3DCollection(vertices[faces], facecolors="#d9b99b", edgecolors="#b08f70", linewidths=0.08, alpha=0.14)
    else:
        norm = Normalize(float(magnitudes.min()), float(magnitudes.max()))
        face_colours = cm.viridis(norm(magnitudes[faces].mean(axis=1)))
        face_colours[:, 3] = 0.45  # translucent, so electrodes behind stay visible
        surface = Poly3DCollection(vertices[faces], facecolors=face_colours, edgecolors="none")
        mappable = cm.ScalarMappable(norm=norm, cmap="viridis")
        colourbar = fig.colorbar(mappable, cax=fig.add_axes((0.84, 0.25, 0.025, 0.5)))
        colourbar.set_label("lead-vector magnitude of the image surface (mV per mA·m)")
    surface.set_gid("torso")
    ax.add_collection3d(surface)

    heart = np.asarray(torso.heart_center, dtype=np.float64)
    ax.scatter(*heart, color="#c0392b", s=60, marker="o", depthshade=False, label="heart centre", zorder=10)
    if positions:
        points = np.array(list(positions.values()))
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], color="black", s=14, depthshade=False, label="electrodes")
        if len(positions) <= 40:
            for name, point in positions.items():
                outward = point - heart
                outward[2] = 0.0  # push labels sideways, away from the trunk's axis
                norm_out = np.linalg.norm(outward) or 1.0
                spot = point + 0.025 * outward / norm_out
                ax.text(spot[0], spot[1], spot[2], name, fontsize=7, color="black", ha="center", va="center", zorder=11)
    for (name, _, _), point in zip(resolved, view_points):
        ax.plot(*np.column_stack([heart, point]), color="#1f4fa3", linestyle="--", linewidth=0.9)
        ax.scatter(*point, color="#1f4fa3", marker="*", s=90, depthshade=False)
        # View labels sit above their point, electrode labels beside theirs, so the two rarely collide.
        ax.text(point[0], point[1], point[2] + 0.02, name, fontsize=8, color="#1f4fa3", fontweight="bold",
                ha="center", va="bottom", zorder=11)
    if resolved:
        ax.plot([], [], color="#1f4fa3", linestyle="--", marker="*", label="views (ray from the heart centre)")

    low, high = vertices.min(axis=0), vertices.max(axis=0)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_zlim(low[2], high[2])
    ax.set_box_aspect(high - low, zoom=0.95)  # equal aspect: one metre is one metre on every axis
    ax.set_xlabel("x, anterior (m)", fontsize=9)
    ax.set_ylabel("y, left (m)", fontsize=9)
    ax.set_zlabel("z, superior (m)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.view_init(elev=camera[0], azim=camera[1])
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title(title if title else repr(torso), fontsize=11 if title else 9)
    return fig
