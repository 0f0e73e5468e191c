"""The DARTS networks: `SearchNet` (the supernet) and `TrainNet` (a derived architecture)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ... import module as Mo
from ...module.mixedop import check_mode
from ...module.parameter import Parameter
from ..cells import CellNetwork, CellSpec, CellTrainNetwork, check_num_cells, plan_cells, stem
from ..options import check_candidates, check_positive
from .cells import SearchCell, TrainCell
from .genotype import CELL_TYPES, derive_genotype, edge_count, validate_genotype
from .modules import CANDIDATE_NAMES, CANDIDATES

__all__ = ["SearchNet", "TrainNet"]


def _check_candidates(candidates: Sequence[str]) -> tuple[str, ...]:
    names = check_candidates(candidates, CANDIDATES)
    if all(n == "none" for n in names):
        raise ValueError("candidates need at least one op other than 'none'")
    return names


class SearchNet(CellNetwork):
    """The DARTS supernet: a stem, cells whose edges are `MixedOp`s, and a classifier.

    Cells at 1/3 and 2/3 of the depth are reduction cells. With `shared`, all normal cells
    use one alpha per edge position, and so do all reduction cells (``2 * 14`` alphas for
    4 nodes); otherwise every edge of every cell has its own.

    Args:
        in_channels: channels of the input images.
        init_channels: working channels of the first cells (doubled at each reduction).
        num_cells: number of cells, at least 3.
        num_classes: number of outputs.
        num_choices: intermediate nodes per cell.
        multiplier: how many of the last nodes the cell output concatenates.
        mode: the `MixedOp` mode, ``'full'``, ``'sample'`` or ``'max'``.
        shared: share the alphas among the cells of one type.
        stem_multiplier: the stem outputs ``stem_multiplier * init_channels`` channels.
        candidates: the registered candidate names of every edge, in alpha order.
        rng: seeds the alphas and `MixedOp` sampling; the same seed gives the same alphas.
        partial_channels: PC-DARTS's K (Xu et al., 2020): 1/K of each edge's channels go
            through its candidates, the rest bypass them (`PartialChannels`); 1: off. K
            must divide `init_channels`.
        edge_normalization: PC-DARTS's edge normalisation: each node weights its incoming
            edges by the softmax of its own architecture parameters (shared like the
            alphas; `edge_weights`), and the derivation ranks an edge by its best op's
            weight times its edge weight.

    Example:
        >>> import nnabla as nn
        >>> net = SearchNet(3, 4, 3, 10, rng=0)
        >>> net(nn.Variable((2, 3, 8, 8))).shape
        (2, 10)
        >>> len(net.get_arch_parameters())
        28
    """

    def __init__(
        self,
        in_channels: int,
        init_channels: int,
        num_cells: int,
        num_classes: int,
        num_choices: int = 4,
        multiplier: int = 4,
        mode: str = "full",
        shared: bool = True,
        stem_multiplier: int = 3,
        *,
        candidates: Sequence[str] = CANDIDATE_NAMES,
        rng: np.random.Generator | int | None = None,
        partial_channels: int = 1,
        edge_normalization: bool = False,
    ) -> None:
        check_positive(
            in_channels=in_channels, init_channels=init_channels, num_cells=num_cells,
            num_classes=num_classes, num_choices=num_choices, multiplier=multiplier,
            stem_multiplier=stem_multiplier, partial_channels=partial_channels,
        )  # fmt: skip
        if init_channels % partial_channels:
            raise ValueError(
                f"partial_channels ({partial_channels}) must divide init_channels ({init_channels})"
            )
        check_num_cells(num_cells)
        if multiplier > num_choices:
            raise ValueError(f"multiplier ({multiplier}) exceeds num_choices ({num_choices})")
        check_mode(mode)
        self.candidate_names = _check_candidates(candidates)
        self._num_nodes, self._multiplier, self._shared = num_choices, multiplier, shared
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        stem_channels = stem_multiplier * init_channels
        self._stem = stem(in_channels, stem_channels)
        if shared:
            self._alpha_normal = self._new_alphas(generator)
            self._alpha_reduce = self._new_alphas(generator)
        self._partial, self._edge_normalization = partial_channels, edge_normalization
        if edge_normalization and shared:
            self._beta_normal, self._beta_reduce = self._new_betas(), self._new_betas()
        specs = list(plan_cells(num_cells, init_channels, stem_channels, (multiplier,) * 2))
        self._cells = Mo.ModuleList(
            SearchCell(
                spec, num_nodes=num_choices, multiplier=multiplier,
                candidates=self.candidate_names, alphas=self._shared_alphas(spec.reduction),
                mode=mode, rng=generator, label=self._label(spec),
                partial_channels=partial_channels, betas=self._cell_betas(spec.reduction),
            )
            for spec in specs
        )  # fmt: skip
        self._init_head(specs, num_classes)

    def _new_alphas(self, rng: np.random.Generator) -> Mo.ParameterList:
        n = len(self.candidate_names)
        count = edge_count(self._num_nodes)
        # DARTS initialises the logits with small Gaussian noise.
        return Mo.ParameterList(
            Parameter((n,), initializer=1e-3 * rng.standard_normal(n)) for _ in range(count)
        )

    def _new_betas(self) -> Mo.ParameterList:
        # PC-DARTS starts the edge weights uniform (zero logits), scaled like the alphas.
        return Mo.ParameterList(
            Parameter((node + 2,), initializer=np.zeros(node + 2))
            for node in range(self._num_nodes)
        )

    def _cell_betas(self, reduction: bool) -> list[Parameter] | None:
        if not self._edge_normalization:
            return None
        if not self._shared:
            return list(self._new_betas())
        return list(self._beta_reduce if reduction else self._beta_normal)

    def edge_weights(self) -> list[Parameter]:
        """The edge normalisation parameters (PC-DARTS), each once; none without."""
        found: dict[int, Parameter] = {}
        for cell in self._cells:
            if isinstance(cell, SearchCell):
                found.update((id(b), b) for b in cell.betas)
        return list(found.values())

    def _label(self, spec: CellSpec) -> str:
        kind = CELL_TYPES[int(spec.reduction)]
        return kind if self._shared else f"{kind}_{spec.index}"

    def _shared_alphas(self, reduction: bool) -> list[Parameter] | None:
        if not self._shared:
            return None
        return list(self._alpha_reduce if reduction else self._alpha_normal)

    def _cells_of(self, kind: str) -> list[SearchCell]:
        reduction = kind == "reduce"
        return [c for c in self._cells if isinstance(c, SearchCell) and c.reduction == reduction]

    def cell_probs(self, kind: str) -> np.ndarray:
        """The ``(edges, candidates)`` softmax weights of the cells of `kind`.

        `kind` is ``'normal'`` or ``'reduce'``. Without sharing, this is the mean over
        the cells of that kind of each cell's softmax weights.
        """
        if kind not in CELL_TYPES:
            raise ValueError(f"kind must be one of {CELL_TYPES}, got {kind!r}")
        per_cell = [[op.probs() for op in c.edges] for c in self._cells_of(kind)]
        return np.asarray(per_cell, dtype=np.float64).mean(axis=0)

    def cell_edge_weights(self, kind: str) -> np.ndarray:
        """Each edge's weight in its node's sum in the cells of `kind` (softmax of the
        node's edge normalisation parameters, averaged over cells; all 1 without)."""
        if kind not in CELL_TYPES:
            raise ValueError(f"kind must be one of {CELL_TYPES}, got {kind!r}")
        per_cell = [c.edge_weights() for c in self._cells_of(kind)]
        return np.asarray(per_cell, dtype=np.float64).mean(axis=0)

    def arch_probs(self) -> dict[str, np.ndarray]:
        """The softmax over `candidate_names` of each edge, keyed e.g. ``'normal/edge_3'``.

        Edges are numbered by node, then by input state (node 0: edges 0-1 from the two
        cell inputs; node 1: edges 2-4; ...).
        """
        return {
            f"{kind}/edge_{k}": probs
            for kind in CELL_TYPES
            for k, probs in enumerate(self.cell_probs(kind))
        }

    def genotype(self) -> dict[str, Any]:
        """Derives the architecture: per node, the two strongest edges and their best ops.

        An edge's strength is its largest softmax weight other than ``'none'``'s; ``'none'``
        is never chosen. Without sharing, the weights are averaged over the cells of a type
        (see `cell_probs`). Returns a JSON-serialisable genotype (see `genotype.py`).
        """
        weights = None
        if self._edge_normalization:
            weights = (self.cell_edge_weights("normal"), self.cell_edge_weights("reduce"))
        return derive_genotype(
            self.cell_probs("normal"), self.cell_probs("reduce"),
            candidates=self.candidate_names, num_nodes=self._num_nodes,
            multiplier=self._multiplier, edge_weights=weights,
        )  # fmt: skip

    def extra_repr(self) -> str:
        extra = f", partial_channels={self._partial}" if self._partial > 1 else ""
        extra += ", edge_normalization=True" if self._edge_normalization else ""
        return (
            f"num_cells={len(self._cells)}, num_nodes={self._num_nodes}, "
            f"multiplier={self._multiplier}, shared={self._shared}{extra}"
        )


class TrainNet(CellTrainNetwork):
    """The network of a fixed genotype, trained from scratch (affine BN, drop path).

    Reduction cells sit at 1/3 and 2/3 of the depth. With `auxiliary`, an
    `AuxiliaryHeadCIFAR` reads the output of the cell at 2/3 and, in training mode, the
    call returns ``(logits, aux_logits)``; otherwise it returns the logits.

    Args:
        genotype: a genotype dict (validated here).
        auxiliary: add the auxiliary head (its input maps must be at least 8x8).
        drop_path: the drop-path probability after each non-identity op. A training graph
            holds the drop-path masks only if this, or a `drop_prob` set before building
            the graph, is above 0; the trainer then changes `drop_prob` freely.
        stem_multiplier: the stem outputs ``stem_multiplier * init_channels`` channels.

    Example:
        >>> import nnabla as nn
        >>> from nnabla_nas.contrib.darts.genotype import DARTS_V2
        >>> net = TrainNet(3, 4, 3, 10, DARTS_V2)
        >>> net(nn.Variable((2, 3, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        init_channels: int,
        num_cells: int,
        num_classes: int,
        genotype: Mapping[str, Any],
        auxiliary: bool = False,
        drop_path: float = 0.0,
        *,
        stem_multiplier: int = 3,
    ) -> None:
        check_positive(
            in_channels=in_channels, init_channels=init_channels, num_cells=num_cells,
            num_classes=num_classes, stem_multiplier=stem_multiplier,
        )  # fmt: skip
        check_num_cells(num_cells)
        self._genotype = validate_genotype(genotype)
        g = self._genotype
        stem_channels = stem_multiplier * init_channels
        self._stem = stem(in_channels, stem_channels)
        multipliers = (len(g["normal_concat"]), len(g["reduce_concat"]))
        specs = list(plan_cells(num_cells, init_channels, stem_channels, multipliers))
        self._cells = Mo.ModuleList(self._cell(spec, drop_path) for spec in specs)
        self._init_head(specs, num_classes, auxiliary=auxiliary)

    def _cell(self, spec: CellSpec, drop_prob: float) -> TrainCell:
        kind = "reduce" if spec.reduction else "normal"
        entries, concat = self._genotype[kind], self._genotype[f"{kind}_concat"]
        return TrainCell(spec, entries=entries, concat=concat, drop_prob=drop_prob)

    def genotype(self) -> dict[str, Any]:
        """Returns the (validated) genotype this network was built from."""
        return validate_genotype(self._genotype)
