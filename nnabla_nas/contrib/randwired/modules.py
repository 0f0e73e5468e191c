"""The parts of a randwired stage: a node's weighted sum, the node, the output's average.

A node aggregates its inputs by a weighted sum whose weights are positive, the sigmoid of
a learned parameter per incoming edge, then transforms the sum by its op (in the paper a
ReLU-separable convolution-BN triplet) and sends the result to every node it feeds. The
stage's output node averages the nodes it reads, unweighted. The sum and the average are
leaf layers with their own FLOPs count, so the estimators price them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import nnabla.functions as F

from ... import module as Mo
from ...module.misc import DropPath
from ...module.module import Module
from ...module.parameter import Parameter
from .arch import StageGraph

__all__ = ["Average", "Node", "Stage", "WeightedSum"]


def _total(inputs: Sequence[Any]) -> Any:
    total = inputs[0]
    for x in inputs[1:]:
        total = F.add2(total, x)
    return total


class WeightedSum(Module):
    """``sum_i sigmoid(w_i) * x_i`` over a node's inputs, one learned `w_i` per edge.

    The weights start at 0 (each input weighed 1/2) and learn with the network's other
    weights.
    """

    def __init__(self, num_inputs: int) -> None:
        if num_inputs < 1:
            raise ValueError(f"WeightedSum needs at least one input, got {num_inputs}")
        self._w = Parameter((num_inputs,), initializer=0.0)

    @property
    def weight(self) -> Parameter:
        """The parameters `w` (the weights are their sigmoid)."""
        return self._w

    def call(self, *inputs: Any) -> Any:
        n = self._w.shape[0]
        if len(inputs) != n:
            raise ValueError(f"WeightedSum of {n} inputs called with {len(inputs)}")
        # Products and sums, not MixedOp's one affine product: the ONNX exporter takes an
        # affine's second operand only as a parameter.
        ones = (1,) * inputs[0].ndim
        weights = F.reshape(F.sigmoid(self._w), (n, *ones))
        scales = F.split(weights, axis=0) if n > 1 else (F.reshape(weights, ones),)
        return _total([F.mul2(x, w) for x, w in zip(inputs, scales, strict=True)])

    def flops(self, input_shapes: Sequence[Sequence[int]]) -> float:
        """A product per input and a sum per input after the first, per output element
        (the sigmoids of the `n` scalar weights are not counted)."""
        return float((2 * len(input_shapes) - 1) * math.prod(input_shapes[0]))

    def extra_repr(self) -> str:
        return f"num_inputs={self._w.shape[0]}"


class Average(Module):
    """The unweighted mean of its inputs (variables of one shape): the output node."""

    def call(self, *inputs: Any) -> Any:
        total = _total(inputs)
        return total if len(inputs) == 1 else F.mul_scalar(total, 1.0 / len(inputs))

    def flops(self, input_shapes: Sequence[Sequence[int]]) -> float:
        """A sum per input after the first and one product, per output element."""
        k = len(input_shapes)
        return float(k * math.prod(input_shapes[0])) if k > 1 else 0.0


class Node(Module):
    """A node: the `WeightedSum` of its inputs, then its op (a module or a `MixedOp`).

    Args:
        num_inputs: the number of incoming edges.
        op: the transformation.
        drop_prob: with more than one input, each input first passes a `DropPath` of this
            probability (retraining), so a training sample may lose some incoming edges;
            None for none.
    """

    def __init__(self, num_inputs: int, op: Module, *, drop_prob: float | None = None) -> None:
        self._drops: Mo.ModuleList | None = None
        if drop_prob is not None and num_inputs > 1:
            self._drops = Mo.ModuleList(DropPath(drop_prob) for _ in range(num_inputs))
        self._sum = WeightedSum(num_inputs)
        self._op = op

    @property
    def op(self) -> Module:
        return self._op

    @property
    def weighted_sum(self) -> WeightedSum:
        return self._sum

    def call(self, *inputs: Any) -> Any:
        if self._drops is not None:
            inputs = tuple(drop(x) for drop, x in zip(self._drops, inputs, strict=True))
        return self._op(self._sum(*inputs))


class Stage(Module):
    """A stage: its nodes wired as `graph` says, run in topological order.

    The nodes reading the stage input get it alone; the output averages `graph.outputs`.
    """

    def __init__(self, graph: StageGraph, nodes: Sequence[Node]) -> None:
        if len(nodes) != graph.num_nodes:
            raise ValueError(f"a stage of {graph.num_nodes} nodes got {len(nodes)} modules")
        self._graph = graph
        self._nodes = Mo.ModuleList(nodes)
        self._average = Average()

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
        return self._average(*[outs[i] for i in self._graph.outputs])

    def extra_repr(self) -> str:
        return f"num_nodes={self._graph.num_nodes}, num_edges={len(self._graph.edges)}"
