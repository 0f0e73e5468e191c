"""The randwired networks: `SearchNet` (a node op to choose per node) and `TrainNet`.

Both follow the small regime of the paper (Table 1): a stem, then random-wired stages,
the first of ``nodes // 2`` nodes and ``channels`` channels, each next one of ``nodes``
nodes and twice the channels, then a 1x1 convolution to ``head_channels``, a global
average pool and a linear classifier. A stage halves the size at the nodes reading its
input; the ``'imagenet'`` stem (the paper's two stride-2 3x3 convolutions) halves it
twice before, the ``'small'`` one (a stride-1 3x3 convolution, for 8x8 or 32x32 images)
not at all, and the first stage then keeps the size too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import module as Mo
from ...module.mixedop import MixedOp, check_mode
from ...module.module import Module
from ..blocks import batch_norm
from ..model import Model
from ..options import check_candidates, check_positive
from .arch import StageGraph, stage_graphs, stage_record, validate_arch
from .graphs import parse_generator, random_graph, stage_seed, to_dag
from .modules import Node, Stage
from .ops import DEFAULT_CANDIDATES, OPS

__all__ = ["STEMS", "SearchNet", "StageSpec", "TrainNet", "plan_stages", "stage_label"]

STEMS = ("imagenet", "small")


@dataclass(frozen=True)
class StageSpec:
    """Where a stage sits: its input channels, its channels and its nodes' input stride."""

    in_channels: int
    channels: int
    stride: int


def plan_stages(num_stages: int, channels: int, stem: str) -> list[StageSpec]:
    """The layout of each stage: channels doubling from `channels` (the stem's output)."""
    first = 1 if stem == "small" else 2
    return [StageSpec(channels * 2 ** max(s - 1, 0), channels * 2**s, first if s == 0 else 2)
            for s in range(num_stages)]  # fmt: skip


def stage_label(stage: int, node: int) -> str:
    """The choice label of a node's op: ``'stage_<s>/node_<i>'``."""
    return f"stage_{stage}/node_{node}"


def _stem(in_channels: int, channels: int, kind: str) -> Module:
    if kind not in STEMS:
        raise ValueError(f"stem must be one of {', '.join(STEMS)}, got {kind!r}")
    if kind == "small":
        conv = Mo.Conv(in_channels, channels, (3, 3), pad=(1, 1), with_bias=False)
        return Mo.Sequential(conv, batch_norm(channels, True))
    half = max(channels // 2, 1)
    return Mo.Sequential(
        Mo.Conv(in_channels, half, (3, 3), pad=(1, 1), stride=(2, 2), with_bias=False),
        batch_norm(half, True),
        Mo.ReLU(),
        Mo.Conv(half, channels, (3, 3), pad=(1, 1), stride=(2, 2), with_bias=False),
        batch_norm(channels, True),
    )


class RandWiredNetwork(Model):
    """Stem, stages, head: what both networks share. A subclass sets `_stages` between
    `_init_stem` and `_init_head`."""

    _stages: Mo.ModuleList

    def _init_stem(self, in_channels: int, num_classes: int, channels: int, stem: str) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes, channels=channels)
        self._stem = _stem(in_channels, channels, stem)
        self._stem_kind = stem

    def _init_head(self, last_channels: int, head_channels: int, num_classes: int) -> None:
        if not isinstance(head_channels, int) or head_channels < 0:
            raise ValueError(f"head_channels must be an int >= 0 (0: no 1x1 convolution), "
                             f"got {head_channels!r}")  # fmt: skip
        layers: list[Module] = [Mo.ReLU()]
        if head_channels:
            conv = Mo.Conv(last_channels, head_channels, (1, 1), with_bias=False)
            layers += [conv, batch_norm(head_channels, True), Mo.ReLU()]
        layers.append(Mo.GlobalAvgPool())
        self._head = Mo.Sequential(*layers)
        self._classifier = Mo.Linear(head_channels or last_channels, num_classes)

    @property
    def stages(self) -> list[Stage]:
        return [s for s in self._stages if isinstance(s, Stage)]

    def call(self, input: Any) -> Any:
        x = self._stem(input)
        for stage in self._stages:
            x = stage(x)
        return self._classifier(self._head(x))

    def extra_repr(self) -> str:
        nodes = [s.graph.num_nodes for s in self.stages]
        return f"stem={self._stem_kind!r}, nodes={nodes}"


def _nodes(
    spec: StageSpec,
    graph: StageGraph,
    build: Callable[[int, int, int], Module],
    drop_prob: float | None = None,
) -> list[Node]:
    """The nodes of a stage; `build(i, in_channels, stride)` makes node `i`'s op. The
    nodes reading the stage input take its channels and the stage's stride."""
    nodes = []
    for i in range(graph.num_nodes):
        first = graph.reads_input(i)
        op = build(i, spec.in_channels if first else spec.channels, spec.stride if first else 1)
        nodes.append(Node(len(graph.parents[i]), op, drop_prob=drop_prob))
    return nodes


class SearchNet(RandWiredNetwork):
    """The randwired supernet: the graphs a generator draws, one `MixedOp` per node.

    The wiring is fixed by the options (`generator`, `graph_seed`); what is searched is
    each node's op, among `candidates` (one alpha per node, label
    ``'stage_<s>/node_<i>'``). `genotype()` records the graphs and each node's most
    probable op.

    Args:
        in_channels: channels of the input images.
        num_classes: number of outputs.
        channels: the first stage's channels (C; 78 in the paper's small regime).
        nodes: nodes of every stage but the first, which has ``nodes // 2`` (N; 32).
        num_stages: the random-wired stages (3 in the paper).
        stem: ``'imagenet'`` or ``'small'`` (see the module docstring).
        head_channels: the 1x1 convolution before the pool (1280; 0 for none).
        generator: the graph generator, ``'ER(P)'``, ``'BA(M)'`` or ``'WS(K, P)'``.
        graph_seed: seeds the graphs (each stage draws its own, `graphs.stage_seed`).
        candidates: the registered ops each node chooses among (`ops.OPS`).
        mode: the `MixedOp` mode when no searcher sets one.
        rng: seeds the alphas and the sampling.

    Example:
        >>> import nnabla as nn
        >>> net = SearchNet(1, 10, channels=4, nodes=6, num_stages=2, stem="small",
        ...                 head_channels=0, generator="WS(2, 0.5)", rng=0)
        >>> net(nn.Variable((2, 1, 8, 8))).shape
        (2, 10)
        >>> len(net.get_arch_parameters())
        9
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        channels: int = 78,
        nodes: int = 32,
        num_stages: int = 3,
        stem: str = "imagenet",
        head_channels: int = 1280,
        generator: str = "WS(4, 0.75)",
        graph_seed: int = 0,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        mode: str = "full",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        check_positive(nodes=nodes, num_stages=num_stages)
        if not isinstance(graph_seed, int) or isinstance(graph_seed, bool) or graph_seed < 0:
            raise ValueError(f"graph_seed must be a non-negative int, got {graph_seed!r}")
        check_mode(mode)
        self.candidate_names = check_candidates(candidates, OPS)
        spec = parse_generator(generator)
        self._generator, self._graph_seed = str(spec), graph_seed
        counts = [max(nodes // 2, 1) if s == 0 else nodes for s in range(num_stages)]
        graphs = []
        for s, n in enumerate(counts):
            graph = random_graph(spec, n, stage_seed(graph_seed, s))
            graphs.append(StageGraph.build(n, to_dag(graph), f"stage {s}"))
        generator_rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._init_stem(in_channels, num_classes, channels, stem)
        specs = plan_stages(num_stages, channels, stem)
        self._stages = Mo.ModuleList(
            self._stage(s, spec_s, graph, mode, generator_rng)
            for s, (spec_s, graph) in enumerate(zip(specs, graphs, strict=True))
        )
        self._init_head(specs[-1].channels, head_channels, num_classes)

    def _stage(
        self, s: int, spec: StageSpec, graph: StageGraph, mode: str, rng: np.random.Generator
    ) -> Stage:
        def build(i: int, in_channels: int, stride: int) -> MixedOp:
            ops = [OPS[name](in_channels, spec.channels, stride, False)
                   for name in self.candidate_names]  # fmt: skip
            seed = int(rng.integers(2**63))
            return MixedOp(ops, mode, rng=np.random.default_rng(seed), label=stage_label(s, i),
                           names=self.candidate_names)  # fmt: skip

        return Stage(graph, _nodes(spec, graph, build))

    def node_probs(self) -> list[list[np.ndarray]]:
        """softmax(alpha) of each node of each stage, over `candidate_names`."""
        return [[op.probs() for op in _choices(stage)] for stage in self.stages]

    def genotype(self) -> dict[str, Any]:
        """The architecture: the graphs, and each node's most probable op (ties to the
        earlier candidate)."""
        stages = [
            stage_record([self.candidate_names[int(np.argmax(p))] for p in probs], stage.graph)
            for probs, stage in zip(self.node_probs(), self.stages, strict=True)
        ]
        return {"generator": self._generator, "graph_seed": self._graph_seed, "stages": stages}


def _choices(stage: Stage) -> list[MixedOp]:
    return [n.op for n in stage.nodes if isinstance(n.op, MixedOp)]


def _fixed_op(ops: Sequence[str], channels: int) -> Callable[[int, int, int], Module]:
    def build(i: int, in_channels: int, stride: int) -> Module:
        return OPS[ops[i]](in_channels, channels, stride, True)

    return build


class TrainNet(RandWiredNetwork):
    """The network of a randwired architecture (its graphs and node ops), from scratch.

    The number of stages and their nodes come from `arch`; the channels double from
    `channels` at each stage as in `SearchNet`.

    Args:
        arch: an architecture (validated here).
        channels: as in `SearchNet`.
        stem: as in `SearchNet`.
        head_channels: as in `SearchNet`.
        drop_path: the drop-path probability of every incoming edge of a node with more
            than one; 0 builds no `DropPath` at all.

    Example:
        >>> import nnabla as nn
        >>> stage = {"nodes": ["sep_conv_3x3", "max_pool_3x3"],
        ...          "edges": [["in", 0], [0, 1], [1, "out"]]}
        >>> arch = {"generator": None, "graph_seed": None, "stages": [stage, stage]}
        >>> net = TrainNet(1, 10, arch, channels=4, stem="small", head_channels=0)
        >>> net(nn.Variable((2, 1, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        arch: Mapping[str, Any],
        *,
        channels: int = 78,
        stem: str = "imagenet",
        head_channels: int = 1280,
        drop_path: float = 0.0,
    ) -> None:
        self._arch = validate_arch(arch)
        stages = stage_graphs(self._arch)
        self._init_stem(in_channels, num_classes, channels, stem)
        specs = plan_stages(len(stages), channels, stem)
        built = [
            Stage(graph, _nodes(spec, graph, _fixed_op(ops, spec.channels), drop_path or None))
            for spec, (ops, graph) in zip(specs, stages, strict=True)
        ]
        self._stages = Mo.ModuleList(built)
        self._init_head(specs[-1].channels, head_channels, num_classes)

    def genotype(self) -> dict[str, Any]:
        """The (validated) architecture this network was built from."""
        return validate_arch(self._arch)
