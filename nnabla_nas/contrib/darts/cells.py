"""DARTS cells: the searchable `SearchCell`, the fixed `TrainCell`, and the cell layout."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import nnabla.functions as F
import numpy as np

from ... import module as Mo
from ...module.misc import DropPath
from ...module.mixedop import MixedOp
from ...module.module import Module
from ...module.parameter import Parameter
from ..blocks import FactorizedReduce, ReLUConvBN, batch_norm
from .modules import CANDIDATES


@dataclass(frozen=True)
class CellSpec:
    """Where a cell sits: its input and working channels, and whether it reduces."""

    index: int
    prev_prev_channels: int
    prev_channels: int
    channels: int
    reduction: bool
    reduction_prev: bool
    out_channels: int


def reduction_indices(num_cells: int) -> tuple[int, int]:
    """The cells that halve the spatial size and double the channels: at 1/3 and 2/3."""
    return (num_cells // 3, 2 * num_cells // 3)


def plan_cells(
    num_cells: int, init_channels: int, stem_channels: int, multipliers: tuple[int, int]
) -> Iterator[CellSpec]:
    """Yields the layout of each cell.

    Args:
        multipliers: the number of states a normal and a reduction cell concatenate.
    """
    c_pp, c_p, c = stem_channels, stem_channels, init_channels
    reduction_prev = False
    for i in range(num_cells):
        reduction = i in reduction_indices(num_cells)
        c = 2 * c if reduction else c
        out = multipliers[int(reduction)] * c
        yield CellSpec(i, c_pp, c_p, c, reduction, reduction_prev, out)
        c_pp, c_p, reduction_prev = c_p, out, reduction


def stem(in_channels: int, out_channels: int) -> Mo.Sequential:
    """The 3x3 convolution and BatchNormalization before the first cell."""
    conv = Mo.Conv(in_channels, out_channels, (3, 3), pad=(1, 1), with_bias=False)
    return Mo.Sequential(conv, batch_norm(out_channels, True))


def edge_stride(spec: CellSpec, input_index: int) -> int:
    """Edges from the two cell inputs of a reduction cell have stride 2."""
    return 2 if spec.reduction and input_index < 2 else 1


class _Cell(Module):
    """Preprocesses the two cell inputs to `spec.channels` and concatenates the output."""

    def _init_inputs(self, spec: CellSpec, affine: bool) -> None:
        c = spec.channels
        if spec.reduction_prev:
            self._pre0: Module = FactorizedReduce(spec.prev_prev_channels, c, affine=affine)
        else:
            self._pre0 = ReLUConvBN(spec.prev_prev_channels, c, 1, 0, 1, affine=affine)
        self._pre1 = ReLUConvBN(spec.prev_channels, c, 1, 0, 1, affine=affine)
        self.reduction = spec.reduction

    def _inputs(self, s0: Any, s1: Any) -> list[Any]:
        return [self._pre0(s0), self._pre1(s1)]


def search_candidate(name: str, channels: int, stride: int) -> Module:
    """A candidate of a search cell: non-affine, and pools followed by a fixed BN."""
    op = CANDIDATES[name](channels, stride, False)
    if isinstance(op, (Mo.MaxPool, Mo.AvgPool)):
        op = Mo.Sequential(op, batch_norm(channels, False))
    return op


class SearchCell(_Cell):
    """A cell whose every edge is a `MixedOp` over the candidates.

    Node ``i`` sums one edge from each earlier state (the two inputs, then nodes
    ``0..i-1``); the output concatenates the last `multiplier` nodes.

    Args:
        alphas: one architecture parameter per edge to share, or None for each edge to
            make its own.
        label: the prefix of the edges' choice labels, ``'<label>/edge_<k>'``.
    """

    def __init__(
        self,
        spec: CellSpec,
        *,
        num_nodes: int,
        multiplier: int,
        candidates: Sequence[str],
        alphas: Sequence[Parameter] | None,
        mode: str,
        rng: np.random.Generator,
        label: str,
    ) -> None:
        self._init_inputs(spec, affine=False)
        self._num_nodes, self._multiplier = num_nodes, multiplier
        edges: list[MixedOp] = []
        for node in range(num_nodes):
            for j in range(node + 2):
                ops = [search_candidate(n, spec.channels, edge_stride(spec, j)) for n in candidates]
                k = len(edges)
                alpha = None if alphas is None else alphas[k]
                edges.append(
                    MixedOp(ops, mode, alpha=alpha, rng=rng, label=f"{label}/edge_{k}",
                            names=candidates)
                )  # fmt: skip
        self._edges = Mo.ModuleList(edges)

    @property
    def edges(self) -> list[MixedOp]:
        """The `MixedOp` of each edge, ordered by node, then by input state."""
        return [e for e in self._edges if isinstance(e, MixedOp)]

    def call(self, s0: Any, s1: Any) -> Any:
        states = self._inputs(s0, s1)
        offset = 0
        for _ in range(self._num_nodes):
            outs = [self._edges[offset + j](h) for j, h in enumerate(states)]
            offset += len(states)
            states.append(F.add_n(*outs) if len(outs) > 1 else outs[0])
        return F.concatenate(*states[-self._multiplier :], axis=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, num_nodes={self._num_nodes}"


class TrainCell(_Cell):
    """A fixed cell built from a genotype's ``[op, input_index]`` entries (2 per node).

    Every op but the identity is followed by a `DropPath` of probability `drop_prob`.
    """

    def __init__(
        self,
        spec: CellSpec,
        *,
        entries: Sequence[Sequence[Any]],
        concat: Sequence[int],
        drop_prob: float = 0.0,
    ) -> None:
        self._init_inputs(spec, affine=True)
        self._indices = [int(index) for _, index in entries]
        self._concat = [int(c) for c in concat]
        ops = []
        for name, index in entries:
            op = CANDIDATES[name](spec.channels, edge_stride(spec, int(index)), True)
            if not isinstance(op, Mo.Identity):
                op = Mo.Sequential(op, DropPath(drop_prob))
            ops.append(op)
        self._ops = Mo.ModuleList(ops)

    def call(self, s0: Any, s1: Any) -> Any:
        states = self._inputs(s0, s1)
        for node in range(len(self._indices) // 2):
            a, b = 2 * node, 2 * node + 1
            left = self._ops[a](states[self._indices[a]])
            right = self._ops[b](states[self._indices[b]])
            states.append(F.add2(left, right))
        return F.concatenate(*[states[c] for c in self._concat], axis=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, concat={self._concat}"
