"""The NAS-Bench-201 networks: `SearchNet` (the supernet) and `TrainNet` (one architecture).

The macro skeleton follows Dong & Yang (ICLR 2020): a 3x3 convolution stem with BN, three
stages of `num_cells` cells with C, 2C and 4C channels, a residual reduction block between
stages, then BN, ReLU, global average pooling and a linear classifier. Inside a cell,
node 0 is the input, node ``j`` sums the edges from nodes ``0..j-1`` and node 3 is the output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nnabla.functions as F
import numpy as np

from ... import module as Mo
from ...module.mixedop import MixedOp, check_mode, softmax
from ...module.module import Module
from ...module.parameter import Parameter
from ..blocks import batch_norm
from ..model import Model
from ..options import check_positive
from .arch import EDGES, NUM_EDGES, NUM_NODES, OPS, ArchLike, arch_record, as_ops
from .modules import ResidualBlock, candidate, stem

__all__ = ["SearchCell", "SearchNet", "TrainCell", "TrainNet", "stage_channels"]

NUM_STAGES = 3


def stage_channels(init_channels: int) -> tuple[int, ...]:
    """The channels of the cells of each stage: C, 2C, 4C."""
    return tuple(init_channels * 2**s for s in range(NUM_STAGES))


class _Cell(Module):
    """Sums, at each node, the edges from every earlier node; outputs the last node."""

    _edges: Mo.ModuleList

    def call(self, input: Any) -> Any:
        nodes = [input]
        for j in range(1, NUM_NODES):
            outs = [self._edges[k](nodes[i]) for k, (i, t) in enumerate(EDGES) if t == j]
            total = outs[0]
            for out in outs[1:]:  # pairwise: ONNX export has no n-ary add (AddN)
                total = F.add2(total, out)
            nodes.append(total)
        return nodes[-1]


class SearchCell(_Cell):
    """A cell whose edges are `MixedOp`s over `OPS` with the given (shared) alphas.

    Args:
        seeds: one seed per edge for the `MixedOp` sampling generator. Giving every cell the
            same seeds makes all cells draw the same op on an edge in ``'sample'`` mode, as
            an NB201 architecture has one op per edge for the whole network.
    """

    def __init__(
        self,
        channels: int,
        *,
        alphas: Sequence[Parameter],
        seeds: Sequence[int],
        mode: str,
        affine: bool = False,
    ) -> None:
        self._edges = Mo.ModuleList(
            MixedOp(
                [candidate(op, channels, affine) for op in OPS],
                mode,
                alpha=alphas[k],
                rng=np.random.default_rng(seeds[k]),
                label=f"cell/edge_{k}",
                names=OPS,
            )
            for k in range(NUM_EDGES)
        )

    @property
    def edges(self) -> list[MixedOp]:
        """The `MixedOp` of each edge, in the order of `arch.EDGES`."""
        return [e for e in self._edges if isinstance(e, MixedOp)]


class TrainCell(_Cell):
    """A fixed cell: edge ``k`` applies op ``ops[k]`` (affine BN in the convolutions)."""

    def __init__(self, channels: int, ops: Sequence[str]) -> None:
        self._edges = Mo.ModuleList(candidate(op, channels, True) for op in as_ops(ops))


class _Network(Model):
    """The NAS-Bench-201 skeleton around cells built by `make_cell(channels)`."""

    def _build(
        self,
        in_channels: int,
        num_classes: int,
        init_channels: int,
        num_cells: int,
        make_cell: Callable[[int], Module],
    ) -> None:
        check_positive(
            in_channels=in_channels, num_classes=num_classes,
            init_channels=init_channels, num_cells=num_cells,
        )  # fmt: skip
        channels = stage_channels(init_channels)
        layers: list[Module] = [stem(in_channels, channels[0])]
        for s, c in enumerate(channels):
            if s > 0:
                layers.append(ResidualBlock(channels[s - 1], c))
            layers.extend(make_cell(c) for _ in range(num_cells))
        self._features = Mo.Sequential(*layers)
        self._head = Mo.Sequential(batch_norm(channels[-1], True), Mo.ReLU(), Mo.GlobalAvgPool())
        self._classifier = Mo.Linear(channels[-1], num_classes)
        self._num_cells = num_cells

    def call(self, input: Any) -> Any:
        return self._classifier(self._head(self._features(input)))

    def extra_repr(self) -> str:
        return f"num_cells={self._num_cells}"


class SearchNet(_Network):
    """The NAS-Bench-201 supernet: every edge a `MixedOp` over `OPS`, alphas shared by all cells.

    There are 6 architecture parameters (one per edge, logits over `OPS`), as an NB201
    architecture is one cell repeated. Candidates use BN without learned scale and shift,
    as in DARTS search cells.

    Args:
        in_channels: channels of the input images (height and width divisible by 4).
        num_classes: number of outputs.
        init_channels: channels of the first stage (doubled at each reduction).
        num_cells: cells per stage.
        mode: the `MixedOp` mode, ``'full'``, ``'sample'`` or ``'max'``.
        rng: seeds the alphas and the sampling; the same seed gives the same alphas.

    Example:
        >>> import nnabla as nn
        >>> net = SearchNet(3, 10, init_channels=4, num_cells=1, rng=0)
        >>> net(nn.Variable((2, 3, 8, 8))).shape
        (2, 10)
        >>> len(net.get_arch_parameters())
        6
    """

    candidate_names: tuple[str, ...] = OPS

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        init_channels: int = 16,
        num_cells: int = 5,
        mode: str = "full",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        check_mode(mode)
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        n = len(OPS)
        # DARTS initialises the logits with small Gaussian noise.
        self._alphas = Mo.ParameterList(
            Parameter((n,), initializer=1e-3 * generator.standard_normal(n))
            for _ in range(NUM_EDGES)
        )
        alphas = list(self._alphas)
        seeds = [int(s) for s in generator.integers(2**63, size=NUM_EDGES)]

        def make_cell(channels: int) -> Module:
            return SearchCell(channels, alphas=alphas, seeds=seeds, mode=mode)

        self._build(in_channels, num_classes, init_channels, num_cells, make_cell)

    @property
    def alphas(self) -> list[Parameter]:
        """The 6 architecture parameters, in the order of `arch.EDGES`."""
        return list(self._alphas)

    def arch_probs(self) -> dict[str, np.ndarray]:
        """The softmax over `candidate_names` of each edge, keyed ``'cell/edge_0'`` .. ``_5``."""
        return {f"cell/edge_{k}": softmax(a.d.reshape(-1)) for k, a in enumerate(self._alphas)}

    def genotype(self) -> dict[str, Any]:
        """Derives the architecture: the op of largest alpha on each edge (``'none'`` included).

        Returns the JSON record ``{"arch": "|...|", "ops": [...]}`` of `arch.arch_record`,
        which `TrainNet`, `arch.save_arch` and `NB201Table` accept.
        """
        ops = [OPS[int(np.argmax(a.d.reshape(-1)))] for a in self._alphas]
        return arch_record(ops)


class TrainNet(_Network):
    """The network of one NAS-Bench-201 architecture, trained from scratch.

    Args:
        genotype: the architecture: a string, a sequence of 6 ops, or a record from
            `SearchNet.genotype()` / `arch.load_arch` (validated here).

    Example:
        >>> import nnabla as nn
        >>> net = TrainNet(3, 10, "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+"
        ...                "|skip_connect~0|none~1|nor_conv_3x3~2|", init_channels=4, num_cells=1)
        >>> net(nn.Variable((2, 3, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        genotype: ArchLike,
        *,
        init_channels: int = 16,
        num_cells: int = 5,
    ) -> None:
        self._ops = as_ops(genotype)
        ops = self._ops

        def make_cell(channels: int) -> Module:
            return TrainCell(channels, ops)

        self._build(in_channels, num_classes, init_channels, num_cells, make_cell)

    @property
    def arch(self) -> tuple[str, ...]:
        """The 6 edge ops of this network."""
        return self._ops

    def genotype(self) -> dict[str, Any]:
        """Returns the record of the architecture this network was built from."""
        return arch_record(self._ops)

    def extra_repr(self) -> str:
        return f"num_cells={self._num_cells}, arch={arch_record(self._ops)['arch']!r}"
