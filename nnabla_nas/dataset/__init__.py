"""Datasets, splits, mini-batch loading and graph-level augmentation.

Example:
    >>> from nnabla_nas.dataset import DataLoader, load_digits, split_dataset
    >>> train, valid = split_dataset(load_digits(size=16), [0.5, 0.5], seed=0)
    >>> loader = DataLoader(train, 32, shuffle=True, seed=0)
"""

from .cifar10 import load_cifar10
from .dataset import ArrayDataset, split_dataset, split_indices
from .digits import load_digits
from .loader import DataLoader
from .registry import DATASETS, Cifar10, Dataset, Digits, dataset_options

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Cifar10",
    "DataLoader",
    "Dataset",
    "Digits",
    "dataset_options",
    "load_cifar10",
    "load_digits",
    "split_dataset",
    "split_indices",
]
