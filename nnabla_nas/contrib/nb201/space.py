"""`NB201Space`: the NAS-Bench-201 cell space behind the `Space` interface."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..model import Model
from ..space import Space
from .arch import EDGES, NUM_EDGES, arch_record, format_arch, parse_arch
from .diagram import COLORS, draw_nb201
from .encoding import path_encoding
from .network import SearchNet, TrainNet
from .table import NB201Table

__all__ = ["NB201Space"]

_EDGE = re.compile(r"cell/edge_(\d+)")


class NB201Space(Space):
    """The NAS-Bench-201 cell (Dong & Yang, 2020): 6 edges of 5 ops, one cell repeated.

    An architecture is the record ``{"arch": "|...|", "ops": [...]}``; its decisions are
    the 6 edges, whose options are the ops, so a choice tuple is the op tuple and trial
    logs hold the official string. The shipped table gives the CIFAR-10 accuracy and the
    latency on 27 devices of all 15,625 architectures.
    """

    name = "nb201"
    quick_options = {"init_channels": 4, "num_cells": 1}
    colors = COLORS

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        init_channels: int = 16,
        num_cells: int = 5,
    ) -> Model:
        """`SearchNet`; see it for the options."""
        return SearchNet(
            in_channels, num_classes, init_channels=init_channels, num_cells=num_cells, rng=rng
        )

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        init_channels: int = 16,
        num_cells: int = 5,
    ) -> Model:
        """`TrainNet` of `arch`; NAS-Bench-201 networks train without drop path."""
        return TrainNet(
            in_channels, num_classes, arch, init_channels=init_channels, num_cells=num_cells
        )

    def validate(self, arch: Any) -> Any:
        return arch_record(arch)

    def describe(self, arch: Any) -> str:
        return str(arch_record(arch)["arch"])

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_nb201(arch, out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'n<j> <- n<i>'`` for the edge from node ``i`` to node ``j`` (`arch.EDGES`);
        e.g. ``'cell/edge_2'`` is ``'n2 <- n1'``."""
        match = _EDGE.fullmatch(choice)
        if match is None or int(match.group(1)) >= NUM_EDGES:
            return choice
        source, target = EDGES[int(match.group(1))]
        return f"n{target} <- n{source}"

    def table(self) -> NB201Table:
        return NB201Table.load()

    def choice_encoding(self) -> Callable[[Sequence[Sequence[str]]], np.ndarray]:
        """The path encoding (`encoding.path_encoding`): on the shipped table it ranks
        architectures better than one-hot edges (benchmarks/README.md)."""
        return path_encoding

    def from_choices(self, net: Model, choices: Sequence[str]) -> Any:
        if len(choices) != NUM_EDGES:
            raise ValueError(f"expected {NUM_EDGES} choices, one per decision, got {len(choices)}")
        return arch_record(choices)

    def format_choices(self, choices: Sequence[str]) -> str:
        return format_arch(choices)

    def parse_choices(self, text: str) -> tuple[str, ...]:
        return parse_arch(text)
