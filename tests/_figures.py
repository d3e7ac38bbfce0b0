"""Shared check that a PNG written by an example is a readable figure (not blank, not a filled box)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["assert_readable_png"]


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
