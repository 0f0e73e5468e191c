"""The registry of search spaces: how a config names a space and what the CLI builds."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Model


@dataclass(frozen=True)
class Space:
    """A search space: its supernet, the fixed net built from an architecture, and
    how an architecture file is read (and validated against the space)."""

    search_net: Callable[..., Model]
    train_net: Callable[..., Model]
    load_arch: Callable[[str], dict[str, Any]]
    save_arch: Callable[[str, dict[str, Any]], None]

    # Arguments the CLI fills in from the data and the run, never from the config.
    RESERVED = ("in_channels", "num_classes", "genotype", "rng", "drop_path")

    def options(self, which: str) -> list[str]:
        """The config keys that `which` ('search' or 'train') accepts under ``model:``."""
        builder = self.search_net if which == "search" else self.train_net
        params = inspect.signature(builder).parameters
        return [name for name in params if name not in self.RESERVED]


def _darts() -> Space:
    from .darts import genotype, network

    return Space(
        network.SearchNet, network.TrainNet, genotype.load_genotype, genotype.save_genotype
    )


SPACES: dict[str, Callable[[], Space]] = {"darts": _darts}


def get_space(name: str) -> Space:
    """Returns the space registered as `name`, or raises a ValueError listing them."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; registered spaces: {sorted(SPACES)}")
    return SPACES[name]()
