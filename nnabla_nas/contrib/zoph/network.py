"""The Zoph (NASNet) networks: `SearchNet` (the supernet) and `TrainNet` (one genotype)."""

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
from .genotype import (
    CELL_INPUTS,
    CELL_TYPES,
    PAIRS_PER_BLOCK,
    derive_cell,
    unused_blocks,
    validate_genotype,
)
from .ops import DEFAULT_CANDIDATES, OPS

__all__ = ["SearchNet", "TrainNet"]


class SearchNet(CellNetwork):
    """The NASNet supernet: a stem, cells whose block pairs are `MixedOp`s, a classifier.

    How the choices map to `MixedOp`s: each pair of a block (the paper's "select a hidden
    state, then an operation on it") is one `MixedOp` whose candidates are all the
    ``(input, op)`` combinations, named ``'<op>.in<input>'`` (`genotype.pair_names`). One
    choice per pair, rather than one over inputs and one over ops, keeps every searcher's
    semantics exact: a sampled path computes just the chosen op on the chosen input (a
    choice of input made after computing an op on every input would train off-path
    weights), every `MixedOp` is built at every step, and the derived pair is the argmax
    of the pair's alpha. A factorised distribution is one special case of the joint one.

    Cells at 1/3 and 2/3 of the depth are reduction cells. All normal cells share one alpha
    per pair, and so do all reduction cells (``2 * 2 * num_blocks`` alphas), as a NASNet
    architecture is one normal and one reduction cell repeated.

    Args:
        in_channels: channels of the input images.
        num_classes: number of outputs.
        init_channels: working channels of the first cells (doubled at each reduction).
        num_cells: number of cells, at least 3.
        num_blocks: blocks per cell (B, 5 in the paper).
        stem_multiplier: the stem outputs ``stem_multiplier * init_channels`` channels.
        candidates: the registered ops each pair chooses among (`ops.OPS`).
        mode: the `MixedOp` mode when no searcher sets one.
        rng: seeds the alphas and the sampling; the same seed gives the same alphas.

    Example:
        >>> import nnabla as nn
        >>> net = SearchNet(1, 10, init_channels=4, num_cells=3, num_blocks=2, rng=0)
        >>> net(nn.Variable((2, 1, 8, 8))).shape
        (2, 10)
        >>> len(net.get_arch_parameters())
        8
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        init_channels: int = 16,
        num_cells: int = 8,
        num_blocks: int = 5,
        stem_multiplier: int = 3,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        mode: str = "full",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        check_positive(
            in_channels=in_channels, num_classes=num_classes, init_channels=init_channels,
            num_cells=num_cells, num_blocks=num_blocks, stem_multiplier=stem_multiplier,
        )  # fmt: skip
        check_num_cells(num_cells)
        check_mode(mode)
        self.candidate_names = check_candidates(candidates, OPS)
        self._num_blocks = num_blocks
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._alpha_normal = self._new_alphas(generator)
        self._alpha_reduce = self._new_alphas(generator)
        count = PAIRS_PER_BLOCK * num_blocks
        seeds = {kind: [int(s) for s in generator.integers(2**63, size=count)]
                 for kind in CELL_TYPES}  # fmt: skip
        stem_channels = stem_multiplier * init_channels
        self._stem = stem(in_channels, stem_channels)
        specs = list(plan_cells(num_cells, init_channels, stem_channels, (num_blocks,) * 2))
        self._cells = Mo.ModuleList(
            SearchCell(
                spec, num_blocks=num_blocks, candidates=self.candidate_names,
                alphas=self._alphas_of(spec), seeds=seeds[spec.kind], mode=mode,
                label=spec.kind,
            )
            for spec in specs
        )  # fmt: skip
        self._init_head(specs, num_classes)

    def _new_alphas(self, rng: np.random.Generator) -> Mo.ParameterList:
        n = len(self.candidate_names)
        sizes = [(b + CELL_INPUTS) * n for b in range(self._num_blocks) for _ in range(2)]
        # DARTS initialises the logits with small Gaussian noise.
        return Mo.ParameterList(
            Parameter((size,), initializer=1e-3 * rng.standard_normal(size)) for size in sizes
        )

    def _alphas_of(self, spec: CellSpec) -> list[Parameter]:
        return list(self._alpha_reduce if spec.reduction else self._alpha_normal)

    def _first_cell(self, kind: str) -> SearchCell:
        reduction = kind == "reduce"
        return next(c for c in self._cells if isinstance(c, SearchCell)
                    and c.reduction == reduction)  # fmt: skip

    def cell_probs(self, kind: str) -> list[np.ndarray]:
        """The softmax of each pair of the cells of `kind` (``'normal'`` or ``'reduce'``),
        block by block, over `genotype.pair_names` of its block."""
        if kind not in CELL_TYPES:
            raise ValueError(f"kind must be one of {CELL_TYPES}, got {kind!r}")
        return [op.probs() for op in self._first_cell(kind).pairs]

    def genotype(self) -> dict[str, Any]:
        """Derives the architecture: each pair's most probable ``(op, input)`` candidate
        (its alpha's argmax), for both cell types; see `genotype.derive_cell`."""
        return {kind: derive_cell(self.cell_probs(kind), self.candidate_names)
                for kind in CELL_TYPES}  # fmt: skip

    def extra_repr(self) -> str:
        return f"num_cells={len(self._cells)}, num_blocks={self._num_blocks}"


class TrainNet(CellTrainNetwork):
    """The network of a fixed genotype, trained from scratch (affine BN, drop path).

    Reduction cells sit at 1/3 and 2/3 of the depth. Each cell concatenates its unused
    blocks, so a cell outputs ``len(unused_blocks) * channels`` channels. With `auxiliary`,
    an `AuxiliaryHeadCIFAR` reads the output of the cell at 2/3 and, in training mode, the
    call returns ``(logits, aux_logits)``; otherwise it returns the logits.

    Args:
        genotype: a genotype dict (validated here).
        init_channels: working channels of the first cells (doubled at each reduction).
        num_cells: number of cells, at least 3.
        auxiliary: add the auxiliary head (its input maps must be at least 8x8).
        drop_path: the drop-path probability after each non-identity op (see the DARTS
            `TrainNet`: a graph holds the masks only if it was built with a probability
            above 0).
        stem_multiplier: the stem outputs ``stem_multiplier * init_channels`` channels.

    Example:
        >>> import nnabla as nn
        >>> cell = [[["sep_conv_3x3", 0], ["identity", 1]], [["max_pool_3x3", 2], ["identity", 0]]]
        >>> net = TrainNet(1, 10, {"normal": cell, "reduce": cell}, init_channels=4, num_cells=3)
        >>> net(nn.Variable((2, 1, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        genotype: Mapping[str, Any],
        *,
        init_channels: int = 32,
        num_cells: int = 20,
        auxiliary: bool = False,
        drop_path: float = 0.0,
        stem_multiplier: int = 3,
    ) -> None:
        check_positive(
            in_channels=in_channels, num_classes=num_classes, init_channels=init_channels,
            num_cells=num_cells, stem_multiplier=stem_multiplier,
        )  # fmt: skip
        check_num_cells(num_cells)
        self._genotype = validate_genotype(genotype)
        g = self._genotype
        stem_channels = stem_multiplier * init_channels
        self._stem = stem(in_channels, stem_channels)
        outputs = (len(unused_blocks(g["normal"])), len(unused_blocks(g["reduce"])))
        specs = list(plan_cells(num_cells, init_channels, stem_channels, outputs))
        self._cells = Mo.ModuleList(
            TrainCell(spec, blocks=g[spec.kind], drop_prob=drop_path) for spec in specs
        )
        self._init_head(specs, num_classes, auxiliary=auxiliary)

    def genotype(self) -> dict[str, Any]:
        """Returns the (validated) genotype this network was built from."""
        return validate_genotype(self._genotype)
