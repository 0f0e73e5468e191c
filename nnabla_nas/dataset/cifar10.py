"""CIFAR-10 from the official python-pickle batches in a user-given directory."""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from .dataset import ArrayDataset

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
ARCHIVE_DIR = "cifar-10-batches-py"
SHAPE = (3, 32, 32)
CLASSES = 10
# The per-channel mean and standard deviation of the training images in [0, 1].
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

# The only globals a CIFAR-10 batch refers to: a dict of bytes, lists and one uint8 array.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def load_cifar10(root: str, train: bool = True) -> ArrayDataset:
    """The CIFAR-10 training (50000) or test (10000) images as (N, 3, 32, 32) in [0, 1].

    Point `root` only at the official "CIFAR-10 python version" files: they are Python
    pickles. Only the expected file names are opened, and they are read with an unpickler
    that refuses everything but plain containers and numpy arrays, but a pickle from an
    untrusted source should still not be loaded.

    Args:
        root: the directory holding ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``,
            or the directory into which ``cifar-10-python.tar.gz`` was extracted (holding
            ``cifar-10-batches-py/``).
        train: the five training batches if True, else the test batch.

    Raises:
        FileNotFoundError: the batches are not there; the message says what to download.
    """
    names = TRAIN_FILES if train else TEST_FILES
    folder = find_batches(root, names)
    batches = [_read_batch(os.path.join(folder, name)) for name in names]
    data = np.concatenate([data for data, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    images = data.reshape((-1, *SHAPE)).astype(np.float32) / 255.0
    return ArrayDataset(images, labels, CLASSES)


def find_batches(root: str, names: tuple[str, ...]) -> str:
    """The directory, `root` or ``root/cifar-10-batches-py``, that holds all `names`."""
    for folder in (os.path.join(root, ARCHIVE_DIR), root):
        if all(os.path.isfile(os.path.join(folder, name)) for name in names):
            return folder
    raise FileNotFoundError(_missing_message(root, names))


def _missing_message(root: str, names: tuple[str, ...]) -> str:
    return (
        f"CIFAR-10 batches {', '.join(names)} not found in {root!r} nor in "
        f"{os.path.join(root, ARCHIVE_DIR)!r}. Download the CIFAR-10 python version, "
        "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it "
        f"with `tar -xzf cifar-10-python.tar.gz -C DIR`, and pass DIR (or "
        f"DIR/{ARCHIVE_DIR}) as the dataset root."
    )


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy names a CIFAR-10 batch needs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not part of a CIFAR-10 batch; refusing to load it"
            )
        return super().find_class(module, name)


def _read_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 3072) uint8 pixels and (N,) labels of one batch file."""
    with open(path, "rb") as f:
        try:
            batch = _BatchUnpickler(f, encoding="bytes").load()
        except Exception as error:  # a damaged file fails in many ways; none may escape
            raise ValueError(
                f"{path} is not a CIFAR-10 python batch ({type(error).__name__}: {error}); "
                "download and extract cifar-10-python.tar.gz again"
            ) from None
    return _check_batch(path, batch)


def _check_batch(path: str, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    """The pixels and labels of a loaded batch, after checking its layout."""
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: no b'data' and b'labels'")
    data = batch[b"data"]
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    size = int(np.prod(SHAPE))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise ValueError(f"{path}: b'data' must be a 2-D uint8 array")
    if data.shape[1] != size or labels.shape != (len(data),):
        raise ValueError(
            f"{path}: expected {size} pixels per image and one label per image, got data "
            f"{data.shape} and labels {labels.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= CLASSES):
        raise ValueError(f"{path}: labels must lie in [0, {CLASSES})")
    return data, labels.astype(np.int32)
