"""Shared helpers of the figure tests: synthetic beats, panel labels, rendering to PNG, and the
check that a PNG written by an example is a readable figure (not blank, not a filled box)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

__all__ = ["agg_pyplot", "assert_readable_png", "beats", "close_figures", "panel_labels", "render_png", "dark_fraction"]


def agg_pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; skips the calling test module without matplotlib.

    Returns
    -------
    plt : module
    """
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure after each test of a module that imports this fixture."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def beats(n_samples: int, fs: float, scale: float, shift: float = 0.0) -> np.ndarray:
    """A train of Gaussian 'QRS' spikes and 'T' waves at 72 bpm.

    Parameters
    ----------
    n_samples : int
        Length of the signal.
    fs : float
        Sampling rate, Hz.
    scale : float
        Height of the spikes, mV.
    shift : float, optional
        Time shift of the train, s.

    Returns
    -------
    signal : (n_samples,) float, mV
    """
    t = np.arange(n_samples) / fs
    phase = (t + shift) % (60.0 / 72.0)
    return scale * (np.exp(-((phase - 0.2) / 0.015) ** 2) + 0.3 * np.exp(-((phase - 0.5) / 0.05) ** 2))


def panel_labels(ax: Any) -> list[str]:
    """The texts written on a matplotlib Axes, in drawing order."""
    return [text.get_text() for text in ax.texts]


def render_png(fig: Any, tmp_path: Path, name: str) -> np.ndarray:
    """Render a figure to ``tmp_path / name.png`` at 50 dpi and read it back: (h, w, 4) floats in [0, 1]."""
    import matplotlib.pyplot as plt

    path = Path(tmp_path) / f"{name}.png"
    fig.savefig(path, dpi=50)
    return plt.imread(path)


def dark_fraction(image: np.ndarray) -> float:
    """Share of the pixels of an (h, w, 3 or 4) image in [0, 1] that are dark (traces and text)."""
    return float(np.mean(image[..., :3].max(axis=-1) < 0.35))


def assert_readable_png(path: Path, *, min_width: int = 400, min_height: int = 300) -> None:
    """Fail unless ``path`` is a PNG of a real figure.

    Checks: the file exists; it is larger than ``min_width`` x ``min_height`` pixels; its pixels
    vary (standard deviation over 10 of 255) with more than 20 distinct colours; and between
    0.1 % and 50 % of the pixels are dark (traces and text expected, not an empty canvas or a
    filled box).

    Parameters
    ----------
    path : Path
        The PNG file.
    min_width, min_height : int
        Smallest acceptable size, pixels (exclusive).
    """
    import matplotlib.image

    name = Path(path).name
    assert Path(path).is_file(), f"{path} was not written"
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width > min_width and height > min_height, f"{name} is only {width}x{height} px"
    rgb = np.round(image[..., :3] * 255).astype(np.uint8)
    assert rgb.std() > 10, f"{name} looks blank (pixel std {rgb.std():.1f})"
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    colours = np.unique(packed).size  # one integer per colour: far faster than unique rows
    assert colours > 20, f"{name} has only {colours} distinct colours"
    dark = (rgb.max(axis=-1) < 80).mean()
    assert 0.001 < dark < 0.5, f"{name}: {dark:.1%} of pixels are dark (traces and text expected, not a filled box)"
