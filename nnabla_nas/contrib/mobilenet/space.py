"""`MobileNetSpace`: the MobileNetV2 block space behind the `Space` interface."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Space
from .arch import resolve_stages, searchable_blocks, validate_genotype
from .diagram import COLORS, draw_mobilenet
from .network import SearchNet, TrainNet

__all__ = ["MobileNetSpace"]

_BLOCK = re.compile(r"block_(\d+)")


class MobileNetSpace(Space):
    """MobileNetV2 (Sandler et al., 2018) with a choice per block after the first stage
    (ProxylessNAS, Cai et al., 2019): inverted residuals {k3, 5, 7} x {e3, 6} and skip."""

    name = "mobilenet"
    quick_options = {"stages": [[1, 8, 1, 1], [6, 8, 2, 2]]}
    colors = COLORS

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        candidates: Sequence[str] | None = None,
        stages: Sequence[Sequence[int]] | None = None,
        dropout: float = 0.0,
    ) -> Model:
        """`SearchNet`; see it for the options."""
        return SearchNet(
            in_channels, num_classes, settings=settings, width_mult=width_mult,
            candidates=candidates, stages=stages, dropout=dropout, rng=rng,
        )  # fmt: skip

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        width_mult: float = 1.0,
        stages: Sequence[Sequence[int]] | None = None,
        dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> Model:
        """`TrainNet` of the genotype `arch`; see it for the options."""
        return TrainNet(
            in_channels, num_classes, arch, width_mult=width_mult, stages=stages,
            dropout=dropout, drop_path=drop_path,
        )  # fmt: skip

    def validate(self, arch: Any) -> Any:
        return validate_genotype(arch)

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_mobilenet(arch, out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'stage <s> block <r>'``: the stage of the searchable block and its place in
        the stage, both from 0 as in the diagram (stage 0 is fixed), from the ``settings``
        and ``stages`` of `options`; e.g. ``'block_2'`` of the default stages is
        ``'stage 2 block 0'``. The name itself when the stages are not valid."""
        match = _BLOCK.fullmatch(choice)
        if match is None:
            return choice
        given = {**self.options("search"), **(options or {})}
        try:
            blocks = searchable_blocks(resolve_stages(given["settings"], given["stages"]))
        except ValueError:
            return choice
        index = int(match.group(1))
        if index >= len(blocks):
            return choice
        return f"stage {blocks[index].stage} block {blocks[index].repeat}"
