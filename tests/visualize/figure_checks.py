"""Checks on rendered figures shared by the diagram and plot tests."""

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread


def png(path, min_size=(200, 300), min_colors=20):
    """Reads a PNG as packed 0xRRGGBB pixels; asserts its size and that it is not blank."""
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image.shape[0] >= min_size[0] and image.shape[1] >= min_size[1]
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert len(np.unique(packed)) > min_colors
    return packed


def has_color(packed, color, count=20):
    """Whether at least `count` pixels have exactly `color`."""
    r, g, b = (round(c * 255) for c in to_rgb(color))
    return int(np.count_nonzero(packed == (r << 16) | (g << 8) | b)) >= count
