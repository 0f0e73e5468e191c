"""CIFAR-100 from the official python-pickle files in a user-given directory."""

from __future__ import annotations

import os

from .cifar import SHAPE, CifarArchive, to_images
from .dataset import ArrayDataset

ARCHIVE = CifarArchive("CIFAR-100", "cifar-100-python.tar.gz", "cifar-100-python")
META_FILE = "meta"
# The label kinds of each image: 100 fine classes grouped into 20 coarse superclasses.
CLASSES = {"fine": 100, "coarse": 20}
# The per-channel mean and standard deviation of the training images in [0, 1].
MEAN = (0.5071, 0.4865, 0.4409)
STD = (0.2673, 0.2564, 0.2762)

__all__ = [
    "ARCHIVE",
    "CLASSES",
    "MEAN",
    "SHAPE",
    "STD",
    "cifar100_names",
    "label_classes",
    "load_cifar100",
]


def load_cifar100(root: str, train: bool = True, labels: str = "fine") -> ArrayDataset:
    """The CIFAR-100 training (50000) or test (10000) images as (N, 3, 32, 32) in [0, 1].

    The files are Python pickles, read as CIFAR-10's are: only the expected names, with an
    unpickler that builds nothing but plain containers and numpy arrays.

    Args:
        root: the directory holding ``train``, ``test`` and ``meta``, or the one into which
            ``cifar-100-python.tar.gz`` was extracted (holding ``cifar-100-python/``).
        train: the ``train`` file if True, else ``test``.
        labels: ``'fine'`` (100 classes) or ``'coarse'`` (20 superclasses).

    Raises:
        FileNotFoundError: the files are not there; the message says what to download.
    """
    classes = label_classes(labels)
    name = "train" if train else "test"
    path = os.path.join(ARCHIVE.find(root, (name, META_FILE)), name)
    data, targets = ARCHIVE.images(path, ARCHIVE.read(path), f"{labels}_labels".encode(), classes)
    return ArrayDataset(to_images(data), targets, classes)


def cifar100_names(root: str, labels: str = "fine") -> list[str]:
    """The class names of `labels` from the ``meta`` file, in label order."""
    classes = label_classes(labels)
    path = os.path.join(ARCHIVE.find(root, (META_FILE,)), META_FILE)
    key = f"{labels}_label_names".encode()
    names = ARCHIVE.read(path).get(key)
    if not isinstance(names, list) or len(names) != classes:
        raise ValueError(f"{path}: expected {classes} names under {key!r}")
    if not all(isinstance(n, bytes) for n in names):
        raise ValueError(f"{path}: the names under {key!r} must be strings")
    return [n.decode("ascii", errors="replace") for n in names]


def label_classes(labels: str) -> int:
    """The number of classes of the label kind `labels` (checked: fine or coarse)."""
    if labels not in CLASSES:
        raise ValueError(f"dataset.labels must be 'fine' or 'coarse', got {labels!r}")
    return CLASSES[labels]
