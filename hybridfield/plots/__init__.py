"""Figures: ECG prints and lead panels on ECG paper, vector loops, physical versus unit-vector
views, panoramas over view angles, the torso in 3-D, and learned-versus-physical maps.

One module per family of figures:

- :mod:`~hybridfield.plots.ecg`: :func:`plot_ecg`, a record as a clinical 12-lead print (3 x 4 +
  rhythm strip, calibration pulses), with overlays and credible bands, any lead list; and
  :func:`plot_leads`, one ECG-paper panel per lead;
- :mod:`~hybridfield.plots.views`: :func:`plot_views`, physical versus unit-vector (Nef-Net)
  projections, view by view;
- :mod:`~hybridfield.plots.loops`: :func:`plot_vector_loops`, frontal, horizontal and sagittal
  loops, with a posterior cloud;
- :mod:`~hybridfield.plots.panorama`: :func:`plot_panorama`, a theta x phi grid of beats, and
  :func:`plot_view_map`, a metric over views;
- :mod:`~hybridfield.plots.torso`: :func:`plot_torso`, torso, electrodes, heart centre, views'
  surface points, image surface;
- :mod:`~hybridfield.plots.comparison`: :func:`plot_comparison`, maps of
  :func:`hybridfield.compare.compare_fields` over the sphere;
- :mod:`~hybridfield.plots.paper`: the ECG paper (25 mm/s, 10 mm/mV) and the helpers the figures
  share.

matplotlib is imported inside the functions, never at module import, so ``import hybridfield``
stays light. When no display is available (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux and no
``MPLBACKEND`` chosen) the non-interactive Agg backend is selected before pyplot is imported.
Every function returns its :class:`matplotlib.figure.Figure`; save it with ``fig.savefig(path)``
and release it with ``matplotlib.pyplot.close(fig)``.

Units: signals in mV, time in s (from the explicit sampling rate ``fs`` in Hz), heart vectors in
mA*m, views ``(theta, phi)`` in radians, labelled in degrees (``"view(90,130)"``, as
:func:`hybridfield.leads.view_label` writes it).
"""

from __future__ import annotations

from .comparison import plot_comparison
from .ecg import plot_ecg, plot_leads
from .loops import plot_vector_loops
from .panorama import plot_panorama, plot_view_map
from .torso import plot_torso
from .views import plot_views

__all__ = [
    "plot_comparison",
    "plot_ecg",
    "plot_leads",
    "plot_panorama",
    "plot_torso",
    "plot_vector_loops",
    "plot_view_map",
    "plot_views",
]
