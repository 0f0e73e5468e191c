"""CIFAR-10 from the official python-pickle batches in a user-given directory."""

from __future__ import annotations

import os

import numpy as np

from .cifar import SHAPE, CifarArchive, to_images
from .dataset import ArrayDataset

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
ARCHIVE = CifarArchive("CIFAR-10", "cifar-10-python.tar.gz", "cifar-10-batches-py")
CLASSES = 10
# The per-channel mean and standard deviation of the training images in [0, 1].
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

__all__ = ["ARCHIVE", "CLASSES", "MEAN", "SHAPE", "STD", "find_batches", "load_cifar10"]


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
    paths = [os.path.join(folder, name) for name in names]
    batches = [ARCHIVE.images(path, ARCHIVE.read(path), b"labels", CLASSES) for path in paths]
    data = np.concatenate([data for data, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    return ArrayDataset(to_images(data), labels, CLASSES)


def find_batches(root: str, names: tuple[str, ...]) -> str:
    """The directory, `root` or ``root/cifar-10-batches-py``, that holds all `names`."""
    return ARCHIVE.find(root, names)
