"""Image files decoded with Pillow into square float arrays (image folders, CSV lists).

Each image is converted to RGB (or grayscale), its shorter side resized to the target size
(bilinear, with Pillow's antialiasing when shrinking), and the centre square cropped: the
aspect ratio is kept and nothing is padded, as in the usual ImageNet evaluation transform.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

#: The file name endings read as images (compared in lower case).
EXTENSIONS = (".jpg", ".jpeg", ".png")
#: Pillow's mode for each channel count.
MODES = {1: "L", 3: "RGB"}


def read_image(path: str, size: int, channels: int = 3) -> np.ndarray:
    """The image at `path` as a (channels, size, size) float32 array in [0, 1].

    Args:
        path: a file Pillow can decode (JPEG, PNG, ...).
        size: the side of the returned square.
        channels: 3 for RGB, 1 for grayscale (Pillow's ITU-R 601-2 luma).

    Raises:
        ValueError: the file cannot be decoded; the message names it.
    """
    try:
        with Image.open(path) as image:
            # A JPEG decoder can shrink by 1/2 .. 1/8 while decoding, keeping both sides at
            # least `size`: large photos then cost a fraction of a full decode.
            image.draft(MODES[channels], (size, size))
            square = _center_square(image.convert(MODES[channels]), size)
    except Exception as error:  # Pillow fails on bad files in many ways; name the file
        raise ValueError(
            f"{path}: cannot decode the image ({type(error).__name__}: {error}); "
            "replace or remove the file"
        ) from None
    pixels = np.asarray(square, dtype=np.float32) / 255.0
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def read_images(
    paths: Sequence[str],
    size: int,
    channels: int = 3,
    *,
    sources: Sequence[str] | None = None,
) -> np.ndarray:
    """The images at `paths` as one (N, channels, size, size) float32 array in [0, 1].

    Args:
        sources: where each path was listed (e.g. ``'train.csv line 3'``), put before a
            decoding error's message.
    """
    out = np.empty((len(paths), channels, size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            out[i] = read_image(path, size, channels)
        except ValueError as error:
            if sources is None:
                raise
            raise ValueError(f"{sources[i]}: {error}") from None
    return out


def is_image(name: str) -> bool:
    """Whether the file `name` is read as an image (by its ending)."""
    return name.lower().endswith(EXTENSIONS)


def _center_square(image: Image.Image, size: int) -> Image.Image:
    """`image` with its shorter side resized to `size`, cropped to the centre square."""
    width, height = image.size
    scale = size / min(width, height)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    if new != (width, height):
        image = image.resize(new, Image.Resampling.BILINEAR)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return image.crop((left, top, left + size, top + size))
