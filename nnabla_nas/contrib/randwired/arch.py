"""Randwired architectures: the JSON format, its validation and the wiring of a stage.

An architecture holds the graph of every stage, so loading one never draws a graph again::

    {"generator": "WS(4, 0.75)", "graph_seed": 0,
     "stages": [{"nodes": ["sep_conv_3x3", ...],
                 "edges": [["in", 0], ["in", 1], [0, 2], ..., [7, "out"]]}, ...]}

``nodes`` names the op of each node (its index is its place in the list); ``edges``
lists the DAG's ``[source, target]`` pairs, where ``"in"`` is the stage input and
``"out"`` the stage output. ``generator`` and ``graph_seed`` record what drew the graphs
(null for a graph written by hand). A node reading ``"in"`` reads nothing else (the stage
input has the previous stage's size); every node reads something and is read by
something, so every node lies on a path from the input to the output.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .graphs import INPUT, OUTPUT, Endpoint, parse_generator
from .ops import OPS

__all__ = ["KEYS", "StageGraph", "source_text", "stage_graphs", "stage_record", "validate_arch"]

KEYS = ("generator", "graph_seed", "stages")
_STAGE_KEYS = ("nodes", "edges")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class StageGraph:
    """The wiring of one stage: `num_nodes` nodes and the DAG's `edges` (validated).

    Attributes:
        parents: the sources of each node's incoming edges, in edge order (``("in",)``
            for a node reading the stage input).
        outputs: the nodes the output averages.
        order: the nodes in a topological order, the lowest index first among the ready.
    """

    num_nodes: int
    edges: tuple[tuple[Endpoint, Endpoint], ...]
    parents: tuple[tuple[Endpoint, ...], ...]
    outputs: tuple[int, ...]
    order: tuple[int, ...]

    @classmethod
    def build(cls, num_nodes: int, edges: Sequence[Sequence[Any]], where: str) -> StageGraph:
        """Checks `edges` on `num_nodes` nodes; `where` starts every error message.

        Raises:
            ValueError: a malformed or repeated edge, a bad node index, a cycle, a node
                that reads nothing or that nothing reads, or a node reading the stage
                input and other nodes.
        """
        pairs = sorted((_check_edge(e, k, num_nodes, where) for k, e in enumerate(edges)),
                       key=lambda e: (_rank(e[0], num_nodes), _rank(e[1], num_nodes)))  # fmt: skip
        for a, b in itertools.pairwise(pairs):
            if a == b:
                raise ValueError(f"{where}: edge {list(a)} appears twice; list each edge once")
        parents: list[list[Endpoint]] = [[] for _ in range(num_nodes)]
        children: list[list[Endpoint]] = [[] for _ in range(num_nodes)]
        for source, target in pairs:
            if isinstance(target, int):
                parents[target].append(source)
            if isinstance(source, int):
                children[source].append(target)
        _check_nodes(parents, children, where)
        order = _topological_order(parents, where)
        outputs = tuple(i for i in range(num_nodes) if OUTPUT in children[i])
        return cls(num_nodes, tuple(pairs), tuple(tuple(p) for p in parents), outputs, order)

    def reads_input(self, node: int) -> bool:
        """Whether `node` reads the stage input (and so carries the stage's stride)."""
        return self.parents[node] == (INPUT,)

    def depths(self) -> list[int]:
        """The longest path from the input to each node, in edges (1 for an input node)."""
        depth = [0] * self.num_nodes
        for i in self.order:
            depth[i] = 1 + max((depth[p] for p in self.parents[i] if isinstance(p, int)),
                               default=0)  # fmt: skip
        return depth

    def edge_list(self) -> list[list[Endpoint]]:
        """The edges as JSON lists."""
        return [list(e) for e in self.edges]


def _rank(endpoint: Endpoint, num_nodes: int) -> int:
    return -1 if endpoint == INPUT else num_nodes if endpoint == OUTPUT else int(endpoint)


def _check_edge(edge: Any, k: int, num_nodes: int, where: str) -> tuple[Endpoint, Endpoint]:
    if not isinstance(edge, (list, tuple)) or len(edge) != 2:
        raise ValueError(f"{where} edge {k}: expected [source, target], got {edge!r}")
    last = num_nodes - 1
    for endpoint, end, role in ((edge[0], INPUT, "source"), (edge[1], OUTPUT, "target")):
        if endpoint == end:
            continue
        if not _is_int(endpoint):
            raise ValueError(
                f"{where} edge {k} {list(edge)!r}: bad {role} {endpoint!r}; a {role} is a "
                f"node index 0..{last} or {end!r}"
            )
        if not 0 <= endpoint <= last:
            raise ValueError(
                f"{where} edge {k} {list(edge)!r}: node index {endpoint} out of range; the "
                f"stage has nodes 0..{last}"
            )
    if edge[0] == INPUT and edge[1] == OUTPUT:
        raise ValueError(f"{where} edge {k}: ['in', 'out'] skips every node; remove it")
    if edge[0] == edge[1]:
        raise ValueError(
            f"{where}: edge {list(edge)} is a cycle (a node reading itself); remove it"
        )
    return (edge[0], edge[1])


def _check_nodes(
    parents: Sequence[Sequence[Endpoint]], children: Sequence[Sequence[Endpoint]], where: str
) -> None:
    for i, (ins, outs) in enumerate(zip(parents, children, strict=True)):
        if not ins:
            raise ValueError(
                f"{where}: node {i} is unreachable (it reads neither the stage input nor a "
                f"node); add an edge ['in', {i}] or [j, {i}] from an earlier node"
            )
        if INPUT in ins and len(ins) > 1:
            others = [p for p in ins if p != INPUT]
            raise ValueError(
                f"{where}: node {i} reads the stage input and nodes {others}; a node reading "
                f"the input reads nothing else (the input has the previous stage's size), "
                "remove one of these edges"
            )
        if not outs:
            raise ValueError(
                f"{where}: the output of node {i} is never used; add an edge [{i}, 'out'] "
                f"or [{i}, j] to a later node"
            )


def _topological_order(parents: Sequence[Sequence[Endpoint]], where: str) -> tuple[int, ...]:
    n = len(parents)
    waiting = [sum(isinstance(p, int) for p in ps) for ps in parents]
    children: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(parents):
        for p in ps:
            if isinstance(p, int):
                children[p].append(i)
    ready = [i for i in range(n) if not waiting[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in children[i]:
            waiting[c] -= 1
            if not waiting[c]:
                heapq.heappush(ready, c)
    if len(order) < n:
        raise ValueError(f"{where}: the edges form {_cycle(parents, set(order))}; a stage is "
                         "acyclic, remove one of them")  # fmt: skip
    return tuple(order)


def _cycle(parents: Sequence[Sequence[Endpoint]], done: set[int]) -> str:
    """A cycle among the nodes not in `done` (each has a parent among them), as text."""
    node = min(i for i in range(len(parents)) if i not in done)
    path: list[int] = []
    while node not in path:
        path.append(node)
        node = min(p for p in parents[node] if isinstance(p, int) and p not in done)
    loop = [*path[path.index(node) :], node][::-1]
    return "a cycle " + " -> ".join(str(i) for i in loop)


def _check_stage(stage: Any, s: int) -> tuple[list[str], StageGraph]:
    where = f"stage {s}"
    if not isinstance(stage, Mapping) or sorted(stage) != sorted(_STAGE_KEYS):
        got = sorted(stage) if isinstance(stage, Mapping) else type(stage).__name__
        raise ValueError(f"{where}: expected an object with keys nodes, edges, got {got}")
    nodes, edges = stage["nodes"], stage["edges"]
    if not isinstance(nodes, list) or not nodes:
        raise ValueError(f"{where}: nodes must be a non-empty list of op names, got {nodes!r}")
    for i, op in enumerate(nodes):
        if not isinstance(op, str) or op not in OPS:
            raise ValueError(f"{where} node {i}: unknown op {op!r}; known ops: {', '.join(OPS)}")
    if not isinstance(edges, list):
        raise ValueError(f"{where}: edges must be a list of [source, target], got {edges!r}")
    return list(nodes), StageGraph.build(len(nodes), edges, where)


def stage_record(ops: Sequence[str], graph: StageGraph) -> dict[str, Any]:
    """The JSON object of a stage."""
    return {"nodes": list(ops), "edges": graph.edge_list()}


def validate_arch(arch: Any) -> dict[str, Any]:
    """Checks a randwired architecture and returns a normalised copy (edges sorted, the
    generator's text canonical).

    Raises:
        ValueError: naming the key, the stage, the node or the edge at fault.
    """
    if not isinstance(arch, Mapping):
        raise ValueError(
            f"a randwired architecture is an object with keys {', '.join(KEYS)}, got "
            f"{type(arch).__name__}"
        )
    missing = [k for k in KEYS if k not in arch]
    unknown = [k for k in arch if k not in KEYS]
    if missing or unknown:
        raise ValueError(f"architecture keys must be {list(KEYS)}; missing {missing}, "
                         f"unknown {unknown}")  # fmt: skip
    generator, seed, stages = arch["generator"], arch["graph_seed"], arch["stages"]
    if generator is not None:
        generator = str(parse_generator(generator))
    if seed is not None and not (_is_int(seed) and seed >= 0):
        raise ValueError(f"graph_seed must be a non-negative int or null, got {seed!r}")
    if not isinstance(stages, list) or not stages:
        raise ValueError(f"stages must be a non-empty list of stages, got {stages!r}")
    checked = [_check_stage(stage, s) for s, stage in enumerate(stages)]
    return {
        "generator": generator,
        "graph_seed": seed,
        "stages": [stage_record(ops, graph) for ops, graph in checked],
    }


def source_text(arch: Mapping[str, Any]) -> str:
    """What drew the graphs of a validated architecture, e.g. ``'WS(4, 0.75), graph seed 0'``
    or ``'drawn by hand'``."""
    if arch["generator"] is None:
        return "drawn by hand"
    seed = arch["graph_seed"]
    return arch["generator"] if seed is None else f"{arch['generator']}, graph seed {seed}"


def stage_graphs(arch: Mapping[str, Any]) -> list[tuple[list[str], StageGraph]]:
    """The ops and wiring of each stage of a validated architecture."""
    return [_check_stage(stage, s) for s, stage in enumerate(arch["stages"])]
