"""`ZophSpace`: the NASNet cell space (Zoph et al., CVPR 2018) behind the `Space` interface."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Space
from .diagram import COLORS, draw_zoph
from .genotype import CELL_INPUTS, CELL_TYPES, state_name, validate_genotype
from .network import SearchNet, TrainNet
from .ops import DEFAULT_CANDIDATES

__all__ = ["ZophSpace"]

_PAIR = re.compile(rf"({'|'.join(CELL_TYPES)})/block_(\d+)/pair_(\d+)")


class ZophSpace(Space):
    """The NASNet cells: blocks of two ``(input, op)`` pairs added, a supernet with one
    `MixedOp` per pair over every ``(input, op)`` combination, a genotype of two
    ``[op, input]`` pairs per block, and the network of a genotype.

    The search defaults are DARTS's CIFAR-10 sizes (8 cells of 16 channels) with the
    paper's 5 blocks; retraining uses 20 cells of 32 channels (NASNet-A's N = 6 on
    CIFAR-10).
    """

    name = "zoph"
    quick_options = {
        "init_channels": 4, "num_cells": 3, "num_blocks": 2, "stem_multiplier": 1,
        "candidates": ["identity", "sep_conv_3x3", "max_pool_3x3"],
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
        num_blocks: int = 5,
        stem_multiplier: int = 3,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
    ) -> Model:
        """`SearchNet`; see it for the options."""
        return SearchNet(
            in_channels, num_classes, init_channels=init_channels, num_cells=num_cells,
            num_blocks=num_blocks, stem_multiplier=stem_multiplier, candidates=list(candidates),
            rng=rng,
        )  # fmt: skip

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        init_channels: int = 32,
        num_cells: int = 20,
        auxiliary: bool = False,
        stem_multiplier: int = 3,
        drop_path: float = 0.0,
    ) -> Model:
        """`TrainNet` of the genotype `arch`; see it for the options."""
        return TrainNet(
            in_channels, num_classes, arch, init_channels=init_channels, num_cells=num_cells,
            auxiliary=auxiliary, drop_path=drop_path, stem_multiplier=stem_multiplier,
        )  # fmt: skip

    def has_auxiliary_head(self, options: Mapping[str, Any]) -> bool:
        return bool(options.get("auxiliary", False))

    def validate(self, arch: Any) -> Any:
        return validate_genotype(arch)

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_zoph(arch, out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'<cell> b<i> pair <s> <- {<states>}'``: the cell type, the block, which of its
        two pairs, and the states it chooses from; e.g. ``'normal/block_1/pair_0'`` is
        ``'normal b1 pair 0 <- {c_{k-2}, c_{k-1}, b0}'``."""
        match = _PAIR.fullmatch(choice)
        if match is None or int(match.group(3)) > 1:
            return choice
        block = int(match.group(2))
        states = ", ".join(state_name(j) for j in range(block + CELL_INPUTS))
        return f"{match.group(1)} b{block} pair {match.group(3)} <- {{{states}}}"
