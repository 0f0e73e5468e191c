"""The random graph generators of RandWire (Xie et al., ICCV 2019) and their conversion to DAGs.

A generator is named as in the paper with its parameters: ``ER(P)`` (Erdos-Renyi: each
pair of nodes is joined with probability P), ``BA(M)`` (Barabasi-Albert: M nodes, then
each new node joins M existing ones, preferring those of high degree) and ``WS(K, P)``
(Watts-Strogatz: a ring where each node joins its K/2 neighbours on each side, then each
edge rewired with probability P). networkx draws the undirected graphs; `to_dag` directs
each edge from the lower to the higher node index and adds the stage's input and output
node as the paper does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np

__all__ = [
    "GENERATORS",
    "INPUT",
    "OUTPUT",
    "Endpoint",
    "GeneratorSpec",
    "parse_generator",
    "random_graph",
    "stage_seed",
    "to_dag",
]

INPUT, OUTPUT = "in", "out"
"""The stage's input node (sending its input to the nodes without predecessors) and its
output node (averaging the nodes without successors), as edge endpoints."""

Endpoint = int | str
Build = Callable[[int, tuple[float, ...], int], nx.Graph]


def _er(n: int, params: tuple[float, ...], seed: int) -> nx.Graph:
    return nx.erdos_renyi_graph(n, params[0], seed=seed)


def _ba(n: int, params: tuple[float, ...], seed: int) -> nx.Graph:
    m = int(params[0])
    graph = nx.barabasi_albert_graph(n, m, seed=seed)
    # networkx starts from a star whose centre is node 0 and leaves 1..M: the paper's M
    # initial nodes and the first node added, which joins all of them. The first node
    # added takes index M, after the initial ones, as in the paper.
    mapping = {0: m, **{i: i - 1 for i in range(1, m + 1)}}
    return nx.relabel_nodes(graph, mapping)


def _ws(n: int, params: tuple[float, ...], seed: int) -> nx.Graph:
    # networkx indexes the ring clockwise and rewires as the paper does: for i = 1..K/2,
    # the edge from each node to its i-th clockwise neighbour, in node order.
    return nx.watts_strogatz_graph(n, int(params[0]), params[1], seed=seed)


@dataclass(frozen=True)
class _Generator:
    params: tuple[str, ...]  # the paper's names; "P" a probability, the others ints
    build: Build


GENERATORS: dict[str, _Generator] = {
    "ER": _Generator(("P",), _er),
    "BA": _Generator(("M",), _ba),
    "WS": _Generator(("K", "P"), _ws),
}
"""The paper's three generators by name: their parameters and networkx builder."""

_SPEC = re.compile(r"\s*([A-Za-z]+)\s*\((.*)\)\s*")
_FORMS = "ER(P), BA(M) or WS(K, P), e.g. WS(4, 0.75)"


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator and its parameters, e.g. ``WS(4, 0.75)``; `str` gives that text."""

    name: str
    params: tuple[float, ...]

    def __str__(self) -> str:
        names = GENERATORS[self.name].params
        values = [repr(float(v)) if p == "P" else str(int(v))
                  for p, v in zip(names, self.params, strict=True)]  # fmt: skip
        return f"{self.name}({', '.join(values)})"

    def check_nodes(self, n: int) -> None:
        """Raises a ValueError unless a graph of `n` nodes can be drawn."""
        if n < 1:
            raise ValueError(f"a stage needs at least one node, got {n}; raise nodes")
        bound = {"BA": "M", "WS": "K"}.get(self.name)
        if bound is not None and int(self.params[0]) >= n:
            raise ValueError(
                f"generator {self}: {bound} must be below a stage's node count, got a stage "
                f"of {n} nodes; raise nodes or lower {bound}"
            )


def _number(name: str, text: str, spec: str) -> float:
    try:
        value = float(text) if name == "P" else int(text)
    except ValueError:
        kind = "a probability" if name == "P" else "an int"
        raise ValueError(f"generator {spec!r}: {name} must be {kind}, got {text!r}") from None
    if name == "P" and not 0.0 <= value <= 1.0:
        raise ValueError(f"generator {spec!r}: P is a probability in [0, 1], got {value}")
    if name == "M" and value < 1:
        raise ValueError(f"generator {spec!r}: M must be at least 1, got {value}")
    if name == "K" and (value < 2 or value % 2):
        raise ValueError(f"generator {spec!r}: K must be even and at least 2, got {value}")
    return value


def parse_generator(spec: str) -> GeneratorSpec:
    """The generator of a text such as ``'WS(4, 0.75)'`` (names in any case).

    Raises:
        ValueError: not one of the forms ER(P), BA(M), WS(K, P), or a parameter out of
            range (P in [0, 1], M >= 1, K even and >= 2).
    """
    match = _SPEC.fullmatch(spec) if isinstance(spec, str) else None
    if match is None or match.group(1).upper() not in GENERATORS:
        raise ValueError(f"generator: expected {_FORMS}, got {spec!r}")
    name = match.group(1).upper()
    names = GENERATORS[name].params
    texts = [t.strip() for t in match.group(2).split(",")]
    if len(texts) != len(names):
        raise ValueError(
            f"generator {spec!r}: {name} takes {len(names)} parameter(s) "
            f"({', '.join(names)}), got {len(texts)}"
        )
    return GeneratorSpec(
        name, tuple(_number(p, t, spec) for p, t in zip(names, texts, strict=True))
    )


def stage_seed(graph_seed: int, stage: int) -> int:
    """The seed of stage `stage`'s graph: each stage draws its own graph, as in the paper."""
    return int(np.random.SeedSequence([graph_seed, stage]).generate_state(1)[0])


def random_graph(spec: GeneratorSpec, n: int, seed: int) -> nx.Graph:
    """The undirected graph of `n` nodes (labelled 0..n-1) that `spec` draws from `seed`."""
    spec.check_nodes(n)
    return GENERATORS[spec.name].build(n, spec.params, seed)


def to_dag(graph: nx.Graph) -> list[tuple[Endpoint, Endpoint]]:
    """The DAG of an undirected graph on nodes 0..n-1, as the paper converts it: each edge
    goes from its lower to its higher node, the input node feeds the nodes without
    predecessors and the output node reads those without successors.

    Returns:
        The edges ``(source, target)`` sorted, `INPUT`'s first and `OUTPUT`'s last.
    """
    n = graph.number_of_nodes()
    if sorted(graph.nodes) != list(range(n)):
        raise ValueError(f"to_dag needs nodes labelled 0..{n - 1}, got {sorted(graph.nodes)}")
    inner = sorted((min(u, v), max(u, v)) for u, v in graph.edges if u != v)
    has_parent = {v for _, v in inner}
    has_child = {u for u, _ in inner}
    edges: list[tuple[Endpoint, Endpoint]] = [(INPUT, i) for i in range(n) if i not in has_parent]
    edges += inner
    edges += [(i, OUTPUT) for i in range(n) if i not in has_child]
    return edges
