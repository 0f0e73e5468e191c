"""DARTS cells: the searchable `SearchCell` and the fixed `TrainCell`.

The cell layout (`plan_cells`, `CellSpec`, `stem`, `edge_stride`) is the cell spaces' shared
one (`nnabla_nas.contrib.cells`), re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F
import numpy as np

from ... import module as Mo
from ...module.misc import DropPath
from ...module.mixedop import MixedOp, softmax, weighted_sum
from ...module.module import Module
from ...module.parameter import Parameter
from ..blocks import batch_norm
from ..cells import CellSpec, TwoInputCell, edge_stride, plan_cells, reduction_indices, stem
from .modules import CANDIDATES

__all__ = [
    "CellSpec",
    "PartialChannels",
    "SearchCell",
    "TrainCell",
    "channel_shuffle",
    "edge_stride",
    "plan_cells",
    "reduction_indices",
    "search_candidate",
    "stem",
]


def search_candidate(name: str, channels: int, stride: int) -> Module:
    """A candidate of a search cell: non-affine, and pools followed by a fixed BN."""
    op = CANDIDATES[name](channels, stride, False)
    if isinstance(op, (Mo.MaxPool, Mo.AvgPool)):
        op = Mo.Sequential(op, batch_norm(channels, False))
    return op


def channel_shuffle(x: Any, groups: int) -> Any:
    """Interleaves the channels of `x` (N, C, H, W) from `groups` groups: channel
    ``g * (C / groups) + i`` moves to ``i * groups + g``."""
    n, c, h, w = x.shape
    grouped = F.reshape(x, (n, groups, c // groups, h, w))
    return F.reshape(F.transpose(grouped, (0, 2, 1, 3, 4)), (n, c, h, w))


class PartialChannels(Module):
    """A PC-DARTS edge (Xu et al., ICLR 2020): the first ``1/k`` of the channels go
    through the `MixedOp` (its candidates built for ``channels / k`` channels), the rest
    bypass it (max pooled 3x3/2 on a reducing edge, which gives the candidates' output size
    for any input size), and the two are concatenated and channel-shuffled in `k` groups,
    so that each step's edge sees other channels of the previous states. The candidates'
    activations, and the memory of the edge, shrink by about ``k``."""

    def __init__(self, op: MixedOp, channels: int, k: int, stride: int) -> None:
        self._op, self._k, self._part = op, k, channels // k
        self._bypass: Module = Mo.MaxPool((3, 3), (2, 2), (1, 1)) if stride == 2 else Mo.Identity()

    @property
    def op(self) -> MixedOp:
        return self._op

    def call(self, input: Any) -> Any:
        c = input.shape[1]
        through = F.slice(input, (0, 0, 0, 0), (input.shape[0], self._part, *input.shape[2:]))
        rest = F.slice(input, (0, self._part, 0, 0), (input.shape[0], c, *input.shape[2:]))
        joined = F.concatenate(self._op(through), self._bypass(rest), axis=1)
        return channel_shuffle(joined, self._k)

    def extra_repr(self) -> str:
        return f"k={self._k}"


class SearchCell(TwoInputCell):
    """A cell whose every edge is a `MixedOp` over the candidates.

    Node ``i`` sums one edge from each earlier state (the two inputs, then nodes
    ``0..i-1``); the output concatenates the last `multiplier` nodes.

    Args:
        alphas: one architecture parameter per edge to share, or None for each edge to
            make its own.
        label: the prefix of the edges' choice labels, ``'<label>/edge_<k>'``.
        partial_channels: k > 1 makes each edge a `PartialChannels` edge of PC-DARTS
            (``1/k`` of the channels through the candidates); the channels must divide.
        betas: PC-DARTS's edge normalisation: one parameter per node of one logit per
            incoming edge; the node sums its edges weighted by their softmax.
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
        partial_channels: int = 1,
        betas: Sequence[Parameter] | None = None,
    ) -> None:
        self._init_inputs(spec, affine=False)
        self._num_nodes, self._multiplier = num_nodes, multiplier
        k_part = partial_channels
        if k_part < 1 or spec.channels % k_part:
            raise ValueError(
                f"partial_channels ({k_part}) must divide the cells' channels ({spec.channels}, "
                "init_channels doubled at each reduction)"
            )
        edges: list[Module] = []
        for node in range(num_nodes):
            for j in range(node + 2):
                stride = edge_stride(spec, j)
                channels = spec.channels // k_part
                ops = [search_candidate(n, channels, stride) for n in candidates]
                k = len(edges)
                alpha = None if alphas is None else alphas[k]
                op = MixedOp(ops, mode, alpha=alpha, rng=rng, label=f"{label}/edge_{k}",
                             names=candidates)  # fmt: skip
                edges.append(
                    op if k_part == 1 else PartialChannels(op, spec.channels, k_part, stride)
                )
        self._edges = Mo.ModuleList(edges)
        if betas is not None and [b.size for b in betas] != [n + 2 for n in range(num_nodes)]:
            raise ValueError(f"betas: one parameter of i + 2 logits per node i, got {betas}")
        self._betas = None if betas is None else Mo.ParameterList(betas)

    @property
    def edges(self) -> list[MixedOp]:
        """The `MixedOp` of each edge, ordered by node, then by input state."""
        ops = [e.op if isinstance(e, PartialChannels) else e for e in self._edges]
        return [op for op in ops if isinstance(op, MixedOp)]

    @property
    def betas(self) -> list[Parameter]:
        """The edge normalisation parameters, one per node (none without)."""
        return [] if self._betas is None else list(self._betas)

    def edge_weights(self) -> np.ndarray:
        """The weight of each edge in its node's sum: softmax(beta) of its node (1 without
        edge normalisation), edges ordered as `edges`."""
        if self._betas is None:
            return np.ones(len(self._edges))
        return np.concatenate([softmax(b.d.reshape(-1).astype(np.float64)) for b in self._betas])

    def call(self, s0: Any, s1: Any) -> Any:
        states = self._inputs(s0, s1)
        offset = 0
        for node in range(self._num_nodes):
            outs = [self._edges[offset + j](h) for j, h in enumerate(states)]
            offset += len(states)
            if self._betas is not None:
                beta = self._betas[node]
                logits = F.reshape(beta, (beta.size,)) if beta.ndim != 1 else beta
                weights = F.reshape(F.softmax(logits, axis=0), (1, len(outs)))
                states.append(weighted_sum(outs, weights))
            else:
                states.append(F.add_n(*outs) if len(outs) > 1 else outs[0])
        return F.concatenate(*states[-self._multiplier :], axis=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, num_nodes={self._num_nodes}"


class TrainCell(TwoInputCell):
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
