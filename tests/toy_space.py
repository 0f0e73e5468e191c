"""A search space defined outside the package: one module and one registry line.

Two blocks, each choosing among a 3x3 convolution, a 1x1 convolution and the identity.
The contract tests run it like every built-in space, and `tests/test_toy_space.py` takes
it through search, train, report, export and a multi-trial search by the command line.
"""

from __future__ import annotations

import os
from typing import Any

import nnabla.functions as F

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.contrib.registry import register_space
from nnabla_nas.contrib.space import Space
from nnabla_nas.visualize.diagrams import Edge, Node, draw_dag, op_color, save_figure

OPS = ("conv3", "conv1", "skip")
BLOCKS = 2


def candidate(name: str, channels: int) -> Mo.Module:
    if name == "conv3":
        return Mo.Sequential(Mo.Conv(channels, channels, (3, 3), pad=(1, 1)), Mo.ReLU())
    if name == "conv1":
        return Mo.Sequential(Mo.Conv(channels, channels, (1, 1)), Mo.ReLU())
    return Mo.Identity()


class _Toy(Model):
    def _build(self, in_channels: int, num_classes: int, channels: int, blocks: list[Any]) -> None:
        self._stem = Mo.Conv(in_channels, channels, (3, 3), pad=(1, 1))
        self._blocks = Mo.ModuleList(blocks)
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(channels, num_classes))

    def call(self, x: Any) -> Any:
        x = F.relu(self._stem(x))
        for block in self._blocks:
            x = block(x)
        return self._head(x)


class ToySearchNet(_Toy):
    def __init__(self, in_channels: int, num_classes: int, channels: int, rng: int) -> None:
        blocks = [
            Mo.MixedOp(
                [candidate(n, channels) for n in OPS], rng=rng + i, label=f"block_{i}", names=OPS
            )
            for i in range(BLOCKS)
        ]
        self._build(in_channels, num_classes, channels, blocks)

    def genotype(self) -> dict[str, Any]:
        ops = [m for _, m in self.get_modules() if isinstance(m, Mo.MixedOp)]
        return {"blocks": [OPS[int(op.probs().argmax())] for op in ops]}


class ToyTrainNet(_Toy):
    def __init__(
        self, in_channels: int, num_classes: int, arch: Any, channels: int, drop_path: float
    ) -> None:
        blocks = [Mo.Sequential(candidate(n, channels), Mo.DropPath(drop_path))
                  for n in arch["blocks"]]  # fmt: skip
        self._build(in_channels, num_classes, channels, blocks)


class ToySpace(Space):
    name = "toy"
    quick_options = {"channels": 4}

    def search_net(
        self, in_channels: int, num_classes: int, *, rng: int, channels: int = 4
    ) -> Model:
        """The supernet.

        Args:
            channels: the width of every block.
        """
        return ToySearchNet(in_channels, num_classes, channels, rng)

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        channels: int = 4,
        drop_path: float = 0.0,
    ) -> Model:
        return ToyTrainNet(in_channels, num_classes, arch, channels, drop_path)

    def validate(self, arch: Any) -> Any:
        if not isinstance(arch, dict) or set(arch) != {"blocks"}:
            raise ValueError(f"a toy architecture is {{'blocks': [op, op]}}, got {arch!r}")
        blocks = arch["blocks"]
        if not isinstance(blocks, list) or len(blocks) != BLOCKS:
            raise ValueError(f"'blocks' must list {BLOCKS} ops, got {blocks!r}")
        for i, op in enumerate(blocks):
            if op not in OPS:
                raise ValueError(f"block {i}: unknown op {op!r}; valid ops: {', '.join(OPS)}")
        return {"blocks": list(blocks)}

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        blocks = self.validate(arch)["blocks"]
        nodes = [Node(f"n{i}", (2.5 * i, 0.0), str(i), "#cfe2f3") for i in range(BLOCKS + 1)]
        edges = [Edge(f"n{i}", f"n{i + 1}", op, op_color(op), f"edge-n{i}-n{i + 1}")
                 for i, op in enumerate(blocks)]  # fmt: skip
        fig = draw_dag(nodes, edges, "toy network")
        base = os.path.join(out_dir, stem)
        return save_figure(fig, [f"{base}.svg", f"{base}.png"])


register_space(ToySpace())


# A run of this space: two blocks of 4 channels, one epoch on 8x8 digits.
CONFIG = {
    "seed": 0,
    "epochs": 1,
    "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
    "model": {"name": "toy", "channels": 4},
    "optimizer": {"lr": 0.05},
}
