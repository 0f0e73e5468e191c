"""Writing tiny image files with Pillow for the image-folder and CSV-list tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, pixels: np.ndarray, **save: object) -> Path:
    """Saves uint8 `pixels` ((H, W) gray or (H, W, 3|4) colour) at `path`, by its ending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, **save)
    return path


def solid(color: tuple[int, int, int], height: int = 4, width: int = 4) -> np.ndarray:
    """An (H, W, 3) uint8 image of one colour."""
    return np.broadcast_to(np.array(color, dtype=np.uint8), (height, width, 3)).copy()
