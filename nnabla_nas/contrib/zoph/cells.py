"""Zoph cells: the layout of the network, the searchable `SearchCell`, the fixed `TrainCell`.

A cell preprocesses its two inputs (the outputs of the two previous cells) to its working
channels, then runs its blocks: each block adds two ``(input, op)`` pairs, the input one of
the cell's two inputs or an earlier block's output. Reduction cells apply stride 2 to
every op that reads a cell input, so all their block outputs have half the input size.
The layout (`plan_cells`, `CellSpec`, `stem`) is the cell spaces' shared one
(`nnabla_nas.contrib.cells`), re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ... import module as Mo
from ...module.misc import DropPath
from ...module.mixedop import MixedOp
from ...module.module import Module
from ...module.parameter import Parameter
from ..cells import (
    CELL_INPUTS,
    CellSpec,
    TwoInputCell,
    edge_stride,
    plan_cells,
    reduction_indices,
    stem,
)
from .genotype import PAIRS_PER_BLOCK, pair_names, unused_blocks
from .ops import OPS, search_op

__all__ = [
    "CellSpec",
    "Pair",
    "SearchCell",
    "StateBundle",
    "TrainCell",
    "op_stride",
    "plan_cells",
    "reduction_indices",
    "stem",
]


op_stride = edge_stride
"""The stride of an op reading state `input_index` of a cell (`edge_stride`)."""


class StateBundle:
    """The states a block's pairs choose from, handed to their `MixedOp`s as one variable.

    A `MixedOp` calls every candidate on one input, and an estimator rebuilds a candidate
    alone on a fresh variable of that input's shape; but a block's candidates read
    different states, of two sizes in a reduction cell. `pack` gives the variable standing
    for the states: their flattened concatenation, of shape ``(N, total)``. `unpack` of
    that very variable returns the state itself, so the cell's graph never computes the
    concatenation (nothing reads it); of another variable of its shape (an estimator's),
    it slices the state out.
    """

    def __init__(self) -> None:
        self._packed: nn.Variable | None = None
        self._states: list[Any] = []

    def pack(self, states: Sequence[Any]) -> nn.Variable:
        n = states[0].shape[0]
        self._states = list(states)
        self._packed = F.concatenate(*[F.reshape(s, (n, -1)) for s in states], axis=1)
        return self._packed

    def unpack(self, packed: Any, index: int) -> Any:
        if not self._states:
            raise RuntimeError("StateBundle.unpack before any pack: build the cell first")
        if packed is self._packed:
            return self._states[index]
        sizes = [math.prod(s.shape[1:]) for s in self._states]
        start = sum(sizes[:index])
        n = packed.shape[0]
        flat = F.slice(packed, (0, start), (n, start + sizes[index]))
        return F.reshape(flat, (n, *self._states[index].shape[1:]))


class Pair(Module):
    """A candidate of a block's pair: `op` applied to state `index` of `bundle`."""

    def __init__(self, bundle: StateBundle, index: int, op: Module) -> None:
        self._bundle, self._index, self._op = bundle, index, op

    @property
    def index(self) -> int:
        return self._index

    @property
    def op(self) -> Module:
        return self._op

    def call(self, packed: Any) -> Any:
        return self._op(self._bundle.unpack(packed, self._index))

    def extra_repr(self) -> str:
        return f"input={self._index}"


class SearchCell(TwoInputCell):
    """A cell whose every pair is one `MixedOp` over all ``(input, op)`` candidates.

    Pair ``s`` of block ``b`` chooses among ``(b + 2) * len(candidates)`` candidates, each
    one op on one state (`pair_names` order); the block adds its two pairs. The output
    concatenates every block, as which blocks end unused is only known once the search
    is done; the network of the derived genotype concatenates the unused ones.

    Args:
        alphas: one architecture parameter per pair (block by block), shared by the cells
            of one type.
        seeds: one seed per pair for its `MixedOp`'s sampling generator; the cells of a
            type get the same seeds, so in ``'sample'`` mode they all draw one candidate,
            as a genotype has one cell per type.
        label: the prefix of the pairs' choice labels, ``'<label>/block_<b>/pair_<s>'``.
    """

    def __init__(
        self,
        spec: CellSpec,
        *,
        num_blocks: int,
        candidates: Sequence[str],
        alphas: Sequence[Parameter],
        seeds: Sequence[int],
        mode: str,
        label: str,
    ) -> None:
        self._init_inputs(spec, affine=False)
        self._num_blocks = num_blocks
        self._bundles = [StateBundle() for _ in range(num_blocks)]
        pairs: list[MixedOp] = []
        for b in range(num_blocks):
            for s in range(PAIRS_PER_BLOCK):
                k = len(pairs)
                ops = [
                    Pair(self._bundles[b], j, search_op(name, spec.channels, op_stride(spec, j)))
                    for j in range(b + CELL_INPUTS)
                    for name in candidates
                ]
                pairs.append(
                    MixedOp(ops, mode, alpha=alphas[k], rng=np.random.default_rng(seeds[k]),
                            label=f"{label}/block_{b}/pair_{s}",
                            names=pair_names(b, candidates))
                )  # fmt: skip
        self._pairs = Mo.ModuleList(pairs)

    @property
    def pairs(self) -> list[MixedOp]:
        """The `MixedOp` of each pair, block by block."""
        return [p for p in self._pairs if isinstance(p, MixedOp)]

    def call(self, s0: Any, s1: Any) -> Any:
        states = self._inputs(s0, s1)
        for b in range(self._num_blocks):
            packed = self._bundles[b].pack(states)
            left, right = (self._pairs[PAIRS_PER_BLOCK * b + s](packed) for s in range(2))
            states.append(F.add2(left, right))
        return F.concatenate(*states[CELL_INPUTS:], axis=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, num_blocks={self._num_blocks}"


class TrainCell(TwoInputCell):
    """A fixed cell built from a genotype's blocks (two ``[op, input_index]`` pairs each).

    Every op but the identity is followed by a `DropPath` of probability `drop_prob`; the
    output concatenates the blocks no block reads.
    """

    def __init__(
        self, spec: CellSpec, *, blocks: Sequence[Sequence[Sequence[Any]]], drop_prob: float = 0.0
    ) -> None:
        self._init_inputs(spec, affine=True)
        self._indices = [int(index) for block in blocks for _, index in block]
        self._concat = unused_blocks(blocks)
        ops = []
        for block in blocks:
            for name, index in block:
                op = OPS[name](spec.channels, op_stride(spec, int(index)), True)
                if not isinstance(op, Mo.Identity):
                    op = Mo.Sequential(op, DropPath(drop_prob))
                ops.append(op)
        self._ops = Mo.ModuleList(ops)

    @property
    def concat(self) -> list[int]:
        """The blocks concatenated into the output."""
        return list(self._concat)

    def call(self, s0: Any, s1: Any) -> Any:
        states = self._inputs(s0, s1)
        for b in range(len(self._indices) // PAIRS_PER_BLOCK):
            a, c = PAIRS_PER_BLOCK * b, PAIRS_PER_BLOCK * b + 1
            left = self._ops[a](states[self._indices[a]])
            right = self._ops[c](states[self._indices[c]])
            states.append(F.add2(left, right))
        outs = [states[CELL_INPUTS + b] for b in self._concat]
        return F.concatenate(*outs, axis=1) if len(outs) > 1 else outs[0]

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, concat={self._concat}"
