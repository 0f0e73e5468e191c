"""`RandWiredSpace`: randomly wired networks (Xie et al., ICCV 2019) as a `Space`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Space
from .arch import source_text, validate_arch
from .diagram import COLORS, draw_randwired
from .network import SearchNet, TrainNet
from .ops import DEFAULT_CANDIDATES

__all__ = ["RandWiredSpace"]

_NODE = re.compile(r"stage_(\d+)/node_(\d+)")


class RandWiredSpace(Space):
    """Random-wired stages whose graphs a generator draws (``ER(P)``, ``BA(M)``,
    ``WS(K, P)``); the search chooses each node's op. An architecture records the graphs
    and the ops (`arch`), so its network never depends on drawing a graph again.

    The defaults are the paper's small regime (C = 78, N = 32, the ImageNet stem, WS(4,
    0.75), its best generator); a digits network takes a few channels and nodes and the
    small stem.
    """

    name = "randwired"
    quick_options = {
        "channels": 4, "nodes": 6, "num_stages": 2, "stem": "small", "head_channels": 0,
        "generator": "WS(2, 0.5)", "candidates": ["sep_conv_3x3", "max_pool_3x3"],
    }  # fmt: skip
    colors = COLORS

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        channels: int = 78,
        nodes: int = 32,
        num_stages: int = 3,
        stem: str = "imagenet",
        head_channels: int = 1280,
        generator: str = "WS(4, 0.75)",
        graph_seed: int = 0,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
    ) -> Model:
        """`SearchNet`; see it for the options."""
        return SearchNet(
            in_channels, num_classes, channels=channels, nodes=nodes, num_stages=num_stages,
            stem=stem, head_channels=head_channels, generator=generator, graph_seed=graph_seed,
            candidates=list(candidates), rng=rng,
        )  # fmt: skip

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        channels: int = 78,
        stem: str = "imagenet",
        head_channels: int = 1280,
        drop_path: float = 0.0,
    ) -> Model:
        """`TrainNet` of `arch`; see it for the options."""
        return TrainNet(
            in_channels, num_classes, arch, channels=channels, stem=stem,
            head_channels=head_channels, drop_path=drop_path,
        )  # fmt: skip

    def validate(self, arch: Any) -> Any:
        return validate_arch(arch)

    def describe(self, arch: Any) -> str:
        """The generator, then each stage's node count and ops by how many nodes use them."""
        checked = validate_arch(arch)
        stages = []
        for s, stage in enumerate(checked["stages"]):
            counts = {op: stage["nodes"].count(op) for op in dict.fromkeys(stage["nodes"])}
            ops = ", ".join(f"{n} {op}" for op, n in counts.items())
            stages.append(f"stage {s}: {len(stage['nodes'])} nodes ({ops})")
        return f"{source_text(checked)}; " + "; ".join(stages)

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_randwired(arch, out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'stage <s> node <i>'`` for the op of node ``i`` of stage ``s`` (the numbers
        of the architecture file and the diagrams); e.g. ``'stage_2/node_5'`` is
        ``'stage 2 node 5'``."""
        match = _NODE.fullmatch(choice)
        if match is None:
            return choice
        return f"stage {int(match.group(1))} node {int(match.group(2))}"
