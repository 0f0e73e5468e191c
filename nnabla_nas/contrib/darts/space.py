"""`DartsSpace`: the DARTS cell space behind the `Space` interface."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Space
from .diagram import COLORS, draw_darts
from .genotype import CELL_TYPES, validate_genotype
from .modules import CANDIDATE_NAMES
from .network import SearchNet, TrainNet

__all__ = ["DartsSpace"]

_EDGE = re.compile(rf"({'|'.join(CELL_TYPES)})/edge_(\d+)")


def _edge_ends(edge: int) -> tuple[int, int]:
    """The intermediate node of a cell's edge `edge` and the state it comes from: edges
    are ordered by node, node ``i`` taking one from each of its ``i + 2`` earlier states
    (the two cell inputs, then nodes ``0..i-1``), as in `SearchCell`."""
    node = 0
    while edge >= node + 2:
        edge -= node + 2
        node += 1
    return node, edge


class DartsSpace(Space):
    """The DARTS cells (Liu et al., 2019): a supernet of `MixedOp` edges, a genotype of two
    ``[op, input]`` entries per node, and the network of a genotype.

    The defaults are the paper's CIFAR-10 settings: 8 cells of 16 channels to search,
    20 cells of 36 channels to retrain.
    """

    name = "darts"
    quick_options = {
        "init_channels": 4, "num_cells": 3, "num_choices": 2, "multiplier": 2,
        "stem_multiplier": 1,
    }  # fmt: skip
    colors = COLORS

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        init_channels: int = 16,
        num_cells: int = 8,
        num_choices: int = 4,
        multiplier: int = 4,
        shared: bool = True,
        stem_multiplier: int = 3,
        candidates: Sequence[str] = CANDIDATE_NAMES,
        partial_channels: int = 1,
        edge_normalization: bool = False,
    ) -> Model:
        """`SearchNet`; see it for the options (`partial_channels` and
        `edge_normalization` are PC-DARTS's)."""
        return SearchNet(
            in_channels, init_channels, num_cells, num_classes, num_choices, multiplier,
            shared=shared, stem_multiplier=stem_multiplier, candidates=list(candidates),
            rng=rng, partial_channels=partial_channels, edge_normalization=edge_normalization,
        )  # fmt: skip

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        init_channels: int = 36,
        num_cells: int = 20,
        auxiliary: bool = False,
        stem_multiplier: int = 3,
        drop_path: float = 0.0,
    ) -> Model:
        """`TrainNet` of the genotype `arch`; see it for the options."""
        return TrainNet(
            in_channels, init_channels, num_cells, num_classes, arch, auxiliary=auxiliary,
            drop_path=drop_path, stem_multiplier=stem_multiplier,
        )  # fmt: skip

    def has_auxiliary_head(self, options: Mapping[str, Any]) -> bool:
        return bool(options.get("auxiliary", False))

    def validate(self, arch: Any) -> Any:
        return validate_genotype(arch)

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_darts(arch, out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'<cell> n<i> <- <state>'``: the cell type, the intermediate node the edge
        enters and the state it leaves, ``c_{k-2}``, ``c_{k-1}`` (the cell inputs) or
        ``n<j>``; e.g. ``'normal/edge_4'`` is ``'normal n1 <- n0'``."""
        match = _EDGE.fullmatch(choice)
        if match is None:
            return choice
        node, state = _edge_ends(int(match.group(2)))
        source = ("c_{k-2}", "c_{k-1}")[state] if state < 2 else f"n{state - 2}"
        return f"{match.group(1)} n{node} <- {source}"
