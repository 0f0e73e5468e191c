"""The registry of search spaces: how a config names a space and what the CLI builds."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Model


@dataclass(frozen=True)
class Space:
    """A search space: its supernet, the fixed net built from an architecture, and
    how an architecture file is read (and validated against the space)."""

    search_net: Callable[..., Model]
    train_net: Callable[..., Model]
    load_arch: Callable[[str], Any]
    save_arch: Callable[[str, Any], None]
    # Multi-trial search: the decisions (one list of options each) of a discrete space,
    # how an architecture (a tuple of options) is written and read in trial logs, and
    # whether a measured table (accuracy, latency) covers every architecture.
    choices: Callable[[], Sequence[Sequence[str]]] | None = None
    format_arch: Callable[[tuple[str, ...]], str] | None = None
    parse_arch: Callable[[str], tuple[str, ...]] | None = None
    has_table: bool = False

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


def _nb201() -> Space:
    from .nb201 import arch, network

    return Space(
        network.SearchNet, network.TrainNet, arch.load_arch, arch.save_arch,
        choices=arch.choices, format_arch=arch.format_arch, parse_arch=arch.parse_arch,
        has_table=True,
    )  # fmt: skip


def _pnas() -> Space:
    from . import pnas

    return Space(pnas.SearchNet, pnas.TrainNet, pnas.load_genotype, pnas.save_genotype)


def _mobilenet() -> Space:
    from .mobilenet import arch, network

    return Space(network.SearchNet, network.TrainNet, arch.load_arch, arch.save_arch)


SPACES: dict[str, Callable[[], Space]] = {
    "darts": _darts,
    "nb201": _nb201,
    "pnas": _pnas,
    "mobilenet": _mobilenet,
}


def get_space(name: str) -> Space:
    """Returns the space registered as `name`, or raises a ValueError listing them."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; registered spaces: {sorted(SPACES)}")
    return SPACES[name]()
