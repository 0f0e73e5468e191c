"""The parts of a randwired stage: a node's weighted sum, the node, the stage.

A node aggregates its inputs by a weighted sum whose weights are positive, the sigmoid of
a learned parameter per incoming edge, then transforms the sum by its op (in the paper a
ReLU-separable convolution-BN triplet) and sends the result to every node it feeds. The
stage's output node averages the nodes it reads, unweighted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F

from ... import module as Mo
from ...module.misc import DropPath
from ...module.module import Module
from ...module.parameter import Parameter
from .arch import StageGraph

__all__ = ["Node", "Stage", "WeightedSum", "average"]


class WeightedSum(Module):
    """``sum_i sigmoid(w_i) * x_i`` over a node's inputs, one learned `w_i` per edge.

    The weights start at 0 (each input weighed 1/2) and learn with the network's other
    weights. With `drop_prob` (retraining) and more than one input, each input passes a
    `DropPath` first, so a training sample may lose some of a node's incoming edges.

    Args:
        num_inputs: the number of incoming edges.
        drop_prob: the drop-path probability, or None for no `DropPath`.
    """

    def __init__(self, num_inputs: int, *, drop_prob: float | None = None) -> None:
        if num_inputs < 1:
            raise ValueError(f"WeightedSum needs at least one input, got {num_inputs}")
        self._w = Parameter((num_inputs,), initializer=0.0)
        self._drops: Mo.ModuleList | None = None
        if drop_prob is not None and num_inputs > 1:
            self._drops = Mo.ModuleList(DropPath(drop_prob) for _ in range(num_inputs))

    @property
    def weight(self) -> Parameter:
        """The parameters `w` (the weights are their sigmoid)."""
        return self._w

    def call(self, *inputs: Any) -> Any:
        n = self._w.shape[0]
        if len(inputs) != n:
            raise ValueError(f"WeightedSum of {n} inputs called with {len(inputs)}")
        if self._drops is not None:
            inputs = tuple(drop(x) for drop, x in zip(self._drops, inputs, strict=True))
        # Products and sums, not MixedOp's one affine product: the ONNX exporter takes an
        # affine's second operand only as a parameter.
        ones = (1,) * inputs[0].ndim
        weights = F.reshape(F.sigmoid(self._w), (n, *ones))
        scales = F.split(weights, axis=0) if n > 1 else (F.reshape(weights, ones),)
        return _total([F.mul2(x, w) for x, w in zip(inputs, scales, strict=True)])

    def extra_repr(self) -> str:
        return f"num_inputs={self._w.shape[0]}"


class Node(Module):
    """A node: the `WeightedSum` of its inputs, then its op (a module or a `MixedOp`)."""

    def __init__(self, num_inputs: int, op: Module, *, drop_prob: float | None = None) -> None:
        self._sum = WeightedSum(num_inputs, drop_prob=drop_prob)
        self._op = op

    @property
    def op(self) -> Module:
        return self._op

    def call(self, *inputs: Any) -> Any:
        return self._op(self._sum(*inputs))


def _total(inputs: Sequence[Any]) -> Any:
    total = inputs[0]
    for x in inputs[1:]:
        total = F.add2(total, x)
    return total


def average(inputs: Sequence[Any]) -> Any:
    """The unweighted mean of variables of one shape (the output node)."""
    total = _total(inputs)
    return total if len(inputs) == 1 else F.mul_scalar(total, 1.0 / len(inputs))


class Stage(Module):
    """A stage: its nodes wired as `graph` says, run in topological order.

    The nodes reading the stage input get it alone; the output averages `graph.outputs`.
    """

    def __init__(self, graph: StageGraph, nodes: Sequence[Node]) -> None:
        if len(nodes) != graph.num_nodes:
            raise ValueError(f"a stage of {graph.num_nodes} nodes got {len(nodes)} modules")
        self._graph = graph
        self._nodes = Mo.ModuleList(nodes)

    @property
    def graph(self) -> StageGraph:
        return self._graph

    @property
    def nodes(self) -> list[Node]:
        return [n for n in self._nodes if isinstance(n, Node)]

    def call(self, input: Any) -> Any:
        outs: dict[int, Any] = {}
        for i in self._graph.order:
            parents = self._graph.parents[i]
            inputs = [input] if self._graph.reads_input(i) else [outs[int(p)] for p in parents]
            outs[i] = self._nodes[i](*inputs)
        return average([outs[i] for i in self._graph.outputs])

    def extra_repr(self) -> str:
        return f"num_nodes={self._graph.num_nodes}, num_edges={len(self._graph.edges)}"
