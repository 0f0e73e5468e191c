"""Datasets as objects: what a config's ``dataset.name`` refers to.

A `Dataset` knows the shape of one sample, the number of classes and its default
input normalisation without loading anything, and `load` gives its training and test
data. Each is registered in one line; its constructor's keyword arguments are its own
config keys (``dataset.image_size`` for digits, ``dataset.root`` for CIFAR-10).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..utils.registry import Registry
from .cifar10 import CLASSES as CIFAR10_CLASSES
from .cifar10 import MEAN as CIFAR10_MEAN
from .cifar10 import SHAPE as CIFAR10_SHAPE
from .cifar10 import STD as CIFAR10_STD
from .cifar10 import load_cifar10
from .dataset import ArrayDataset, split_dataset
from .digits import load_digits

__all__ = ["DATASETS", "Cifar10", "Dataset", "Digits", "dataset_options"]


class Dataset(ABC):
    """A dataset: sample shape, classes and default normalisation, then `load`.

    Subclasses set `name` and implement `sample_shape`, `classes` and `load`; their
    constructor's keyword arguments are the dataset's own config keys.
    """

    name: ClassVar[str] = ""
    #: Per-channel normalisation applied when the config gives none (None: inputs in [0, 1]).
    mean: ClassVar[tuple[float, ...] | None] = None
    std: ClassVar[tuple[float, ...] | None] = None

    @property
    @abstractmethod
    def sample_shape(self) -> tuple[int, int, int]:
        """The (C, H, W) shape of one image."""

    @property
    @abstractmethod
    def classes(self) -> int:
        """The number of classes."""

    @abstractmethod
    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        """The (training data, test data); `split_seed` fixes a held-out split where the
        dataset has no test set of its own."""


class Digits(Dataset):
    """scikit-learn's bundled handwritten digits (1797 images, 8x8, 10 classes).

    Args:
        image_size: the side the 8x8 images are resized to (bilinear).
        test_fraction: the stratified share held out as the test set.
    """

    name = "digits"

    def __init__(self, image_size: int = 8, test_fraction: float = 0.2) -> None:
        if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
            raise ValueError(f"dataset.image_size must be a positive int, got {image_size!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"dataset.test_fraction must lie in (0, 1), got {test_fraction}")
        self.image_size, self.test_fraction = image_size, test_fraction

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)

    @property
    def classes(self) -> int:
        return 10

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        full = load_digits(self.image_size)
        fractions = [1 - self.test_fraction, self.test_fraction]
        train, test = split_dataset(full, fractions, seed=split_seed)
        return train, test


class Cifar10(Dataset):
    """CIFAR-10 from its python-pickle batches in a directory you give.

    Args:
        root: the directory of ``cifar-10-batches-py`` (or the one holding it).
    """

    name = "cifar10"
    mean = CIFAR10_MEAN
    std = CIFAR10_STD

    def __init__(self, root: str | None = None) -> None:
        if not root:
            raise ValueError(
                "dataset.root: cifar10 needs the directory of its python batches; download "
                "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
                "extract it and set dataset.root=DIR"
            )
        self.root = root

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return CIFAR10_SHAPE

    @property
    def classes(self) -> int:
        return CIFAR10_CLASSES

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        return load_cifar10(self.root, train=True), load_cifar10(self.root, train=False)


DATASETS: Registry[type[Dataset]] = Registry("dataset")
DATASETS.add(Digits.name, Digits)
DATASETS.add(Cifar10.name, Cifar10)


def dataset_options(cls: type[Dataset]) -> dict[str, Any]:
    """The config keys of a dataset class (its constructor's keywords) with defaults."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return {p.name: p.default for p in params}
