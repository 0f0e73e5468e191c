"""Datasets by the name a config gives them."""

from __future__ import annotations

from collections.abc import Callable

from .cifar10 import load_cifar10
from .dataset import ArrayDataset
from .digits import load_digits

DATASETS: dict[str, Callable[..., ArrayDataset]] = {
    "digits": load_digits,
    "cifar10": load_cifar10,
}
