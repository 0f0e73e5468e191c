"""`DartsSpace`: the DARTS cell space behind the `Space` interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Space
from .diagram import COLORS, draw_darts
from .genotype import validate_genotype
from .modules import CANDIDATE_NAMES
from .network import SearchNet, TrainNet

__all__ = ["DartsSpace"]


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
    ) -> Model:
        """`SearchNet`; see it for the options."""
        return SearchNet(
            in_channels, init_channels, num_cells, num_classes, num_choices, multiplier,
            shared=shared, stem_multiplier=stem_multiplier, candidates=list(candidates),
            rng=rng,
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
