"""The skeleton shared by the cell spaces (DARTS, Zoph): cell layout, stem, two-input cells.

A cell network is a stem, then cells each reading the outputs of the two cells before it,
the ones at 1/3 and 2/3 of the depth halving the size and doubling the channels, then a
global pool and a linear classifier; a retraining network may add an auxiliary head on the
cell at 2/3. A space's own cells, genotype and candidates stay in its folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import module as Mo
from ..module.misc import DropPath
from ..module.module import Module
from .blocks import AuxiliaryHeadCIFAR, FactorizedReduce, ReLUConvBN, batch_norm
from .model import Model

__all__ = [
    "CELL_INPUTS",
    "CELL_TYPES",
    "CellNetwork",
    "CellSpec",
    "CellTrainNetwork",
    "TwoInputCell",
    "check_genotype_keys",
    "check_num_cells",
    "edge_stride",
    "plan_cells",
    "reduction_indices",
    "stem",
]

CELL_TYPES = ("normal", "reduce")
CELL_INPUTS = 2  # c_{k-2} and c_{k-1}, the states 0 and 1 of every cell


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

    @property
    def kind(self) -> str:
        """``'normal'`` or ``'reduce'``."""
        return CELL_TYPES[int(self.reduction)]


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
    """Ops reading a cell input of a reduction cell have stride 2."""
    return 2 if spec.reduction and input_index < CELL_INPUTS else 1


def check_num_cells(num_cells: int) -> None:
    """Raises a ValueError unless the network has both normal and reduction cells."""
    if num_cells < 3:
        raise ValueError(
            f"num_cells must be at least 3 so that the network has both normal and reduction "
            f"cells (reductions sit at 1/3 and 2/3), got {num_cells}"
        )


def check_genotype_keys(genotype: Any, keys: Sequence[str]) -> None:
    """Raises a ValueError unless `genotype` is a mapping with exactly `keys`."""
    if not isinstance(genotype, Mapping):
        raise ValueError(f"a genotype is a dict with keys {keys}, got {type(genotype)}")
    missing = [k for k in keys if k not in genotype]
    unknown = [k for k in genotype if k not in keys]
    if missing or unknown:
        raise ValueError(
            f"genotype keys must be {list(keys)}; missing {missing}, unknown {unknown}"
        )


class TwoInputCell(Module):
    """Preprocesses the two cell inputs to `spec.channels` (a factorized reduction of
    ``c_{k-2}`` after a reduction cell, so that both inputs have one size)."""

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


class CellNetwork(Model):
    """Runs `_stem`, then `_cells` on the two previous outputs, then `_pool` and
    `_classifier`; in training mode with an auxiliary head, returns ``(logits, aux_logits)``.

    A subclass assigns `_stem` and `_cells`, then calls `_init_head`.
    """

    _stem: Module
    _cells: Mo.ModuleList
    _aux_index: int | None = None
    _aux_head: AuxiliaryHeadCIFAR | None = None

    def _init_head(
        self, specs: Sequence[CellSpec], num_classes: int, *, auxiliary: bool = False
    ) -> None:
        """Adds the auxiliary head on the cell at 2/3 (with `auxiliary`), the pool and the
        classifier."""
        if auxiliary:
            self._aux_index = 2 * len(specs) // 3
            self._aux_head = AuxiliaryHeadCIFAR(specs[self._aux_index].out_channels, num_classes)
        self._pool = Mo.GlobalAvgPool()
        self._classifier = Mo.Linear(specs[-1].out_channels, num_classes)

    def call(self, input: Any) -> Any:
        s0 = s1 = self._stem(input)
        aux = None
        for i, cell in enumerate(self._cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self._aux_index and self._aux_head is not None and self.training:
                aux = self._aux_head(s1)
        logits = self._classifier(self._pool(s1))
        return logits if aux is None else (logits, aux)


class CellTrainNetwork(CellNetwork):
    """A `CellNetwork` of a fixed genotype whose ops are followed by `DropPath`s."""

    def _drop_paths(self) -> list[DropPath]:
        return [m for _, m in self.get_modules() if isinstance(m, DropPath)]

    @property
    def drop_prob(self) -> float:
        """The drop-path probability of every `DropPath`; set it e.g. once per epoch."""
        paths = self._drop_paths()
        return paths[0].drop_prob if paths else 0.0

    @drop_prob.setter
    def drop_prob(self, value: float) -> None:
        for path in self._drop_paths():
            path.drop_prob = value

    def extra_repr(self) -> str:
        return f"num_cells={len(self._cells)}, auxiliary={self._aux_head is not None}"
