"""scikit-learn's bundled 8x8 handwritten digits: real images with no download."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn import datasets

from .dataset import ArrayDataset

_NATIVE_SIZE = 8
# The raw pixel values are counts of set bits in 4x4 blocks: 0..16.
_MAX_VALUE = 16.0


def load_digits(size: int = _NATIVE_SIZE) -> ArrayDataset:
    """The 1797 digits as a (1797, 1, size, size) dataset in [0, 1], 10 classes.

    Args:
        size: side of the returned images; other than 8, the images are resized with
            bilinear interpolation (e.g. 32 to feed a CIFAR-sized network).

    Example:
        >>> data = load_digits(size=16)
        >>> data.images.shape
        (1797, 1, 16, 16)
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    raw = datasets.load_digits()
    images = (raw.images / _MAX_VALUE).astype(np.float32)[:, None]
    if size != _NATIVE_SIZE:
        images = resize_images(images, size)
    return ArrayDataset(images, raw.target.astype(np.int32), 10)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a (N, C, H, W) batch to (N, C, size, size), kept in [0, 1]."""
    _, _, h, w = images.shape
    zoomed = ndimage.zoom(
        images, (1, 1, size / h, size / w), order=1, grid_mode=True, mode="nearest"
    )
    return np.clip(zoomed, 0.0, 1.0)
