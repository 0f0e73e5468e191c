"""Datasets, splits, mini-batch loading and graph-level augmentation.

Example:
    >>> from nnabla_nas.dataset import DataLoader, load_digits, split_dataset
    >>> train, valid = split_dataset(load_digits(size=16), [0.5, 0.5], seed=0)
    >>> loader = DataLoader(train, 32, shuffle=True, seed=0)
"""

from .cifar10 import load_cifar10
from .cifar100 import load_cifar100
from .csvlist import read_csv_list
from .dataset import ArrayDataset, split_dataset, split_indices
from .digits import load_digits
from .folders import load_image_folder
from .images import read_image
from .loader import DataLoader
from .mnist import load_mnist5k
from .registry import (
    DATASETS,
    Cifar10,
    Cifar100,
    CsvList,
    Dataset,
    Digits,
    ImageFolder,
    Mnist5k,
    dataset_options,
)

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Cifar10",
    "Cifar100",
    "CsvList",
    "DataLoader",
    "Dataset",
    "Digits",
    "ImageFolder",
    "Mnist5k",
    "dataset_options",
    "load_cifar10",
    "load_cifar100",
    "load_digits",
    "load_image_folder",
    "load_mnist5k",
    "read_csv_list",
    "read_image",
    "split_dataset",
    "split_indices",
]
