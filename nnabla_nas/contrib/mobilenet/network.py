"""The MobileNetV2 networks: `SearchNet` (the supernet) and `TrainNet` (one genotype).

The skeleton follows Sandler et al. (2018): a 3x3 convolution stem to 32 channels with BN
and ReLU6, the inverted residual blocks of the stages (`arch.SETTINGS`), a 1x1 convolution
to 1280 channels with BN and ReLU6, global average pooling, dropout and a linear
classifier. `width_mult` scales every channel count (rounded to a multiple of 8) except
the 1280 of the head, which only grows, as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ... import module as Mo
from ...module.misc import DropPath
from ...module.mixedop import MixedOp, check_mode
from ...module.module import Module
from ...module.squeeze import make_divisible
from ..model import Model
from .arch import (
    HEAD_CHANNELS,
    SETTINGS,
    STEM_CHANNELS,
    Block,
    Stage,
    block_choices,
    plan_blocks,
    resolve_stages,
    validate_genotype,
)
from .modules import CANDIDATES, SKIP, InvertedResidual, candidate, conv_bn

__all__ = ["SearchNet", "TrainNet", "make_divisible", "scale_channels"]

# Builds searchable block `index` from its plan and its scaled in and out channels.
MakeBlock = Callable[[int, Block, int, int], Module]


def scale_channels(channels: int, width_mult: float) -> int:
    """The channels of a layer of `channels` in a network of width `width_mult`."""
    return channels if width_mult == 1.0 else make_divisible(channels * width_mult)


def _check_options(in_channels: int, num_classes: int, width_mult: float) -> None:
    for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(width_mult, (int, float)) or width_mult <= 0:
        raise ValueError(f"width_mult must be a positive number, got {width_mult!r}")


def _check_candidates(candidates: Sequence[str] | None) -> tuple[str, ...]:
    names = list(CANDIDATES) if candidates is None else list(candidates)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidates {unknown}; registered: {list(CANDIDATES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"candidates must not repeat a name, got {names}")
    blocks = [n for n in names if n != SKIP]
    if not blocks:
        raise ValueError(
            f"candidates {names} hold no block but 'skip', which blocks with stride 2 cannot "
            "use; add an inverted residual such as 'k3_e6'"
        )
    # 'skip' last, so that the candidates of a block that cannot skip are a prefix.
    return tuple(blocks + [SKIP] * (SKIP in names))


class _MobileNet(Model):
    """The MobileNetV2 skeleton around searchable blocks built by `make_block`."""

    def _build(
        self,
        in_channels: int,
        num_classes: int,
        *,
        settings: str,
        stages: Sequence[Stage],
        width_mult: float,
        dropout: float,
        make_block: MakeBlock,
    ) -> None:
        _check_options(in_channels, num_classes, width_mult)
        stem = scale_channels(STEM_CHANNELS, width_mult)
        self._stem = conv_bn(in_channels, stem, 3, SETTINGS[settings].stem_stride)
        blocks: list[Module] = []
        for block in plan_blocks(stages):
            cin = scale_channels(block.in_channels, width_mult)
            cout = scale_channels(block.out_channels, width_mult)
            if block.searchable:
                blocks.append(make_block(len(blocks) - stages[0].repeats, block, cin, cout))
            else:
                blocks.append(InvertedResidual(cin, cout, 3, block.stride, block.expansion))
        self._blocks = Mo.Sequential(*blocks)
        head = make_divisible(HEAD_CHANNELS * max(1.0, width_mult))
        last = scale_channels(stages[-1].channels, width_mult)
        self._head = Mo.Sequential(conv_bn(last, head, 1), Mo.GlobalAvgPool(), Mo.Dropout(dropout))
        self._classifier = Mo.Linear(head, num_classes)
        self._settings, self._width_mult = settings, width_mult

    def call(self, input: Any) -> Any:
        return self._classifier(self._head(self._blocks(self._stem(input))))

    def extra_repr(self) -> str:
        return f"settings={self._settings!r}, width_mult={self._width_mult}"


class SearchNet(_MobileNet):
    """The MobileNetV2 supernet: each block after the first stage is a `MixedOp`.

    Every searchable block has its own architecture parameter (logits over the candidates
    it offers); all `MixedOp`s draw from one generator made from `rng`. A block offers
    ``'skip'`` only where it keeps the shape, so `candidate_names` lists every candidate
    (``'skip'`` last) and a block that cannot skip offers all of them but the last.

    Args:
        in_channels: channels of the input images.
        num_classes: number of outputs.
        settings: ``'cifar10'`` (stem and second stage with stride 1) or ``'imagenet'``.
        width_mult: scales the channels of every layer but the head's 1280.
        candidates: the candidate names to search over; all registered ones when None.
        mode: the `MixedOp` mode, ``'full'``, ``'sample'`` or ``'max'``.
        rng: seeds the alphas and the sampling; the same seed gives the same alphas.
        stages: ``[t, c, n, s]`` rows replacing the stages of `settings` (e.g. a tiny net).
        dropout: the dropout probability before the classifier.

    Example:
        >>> import nnabla as nn
        >>> net = SearchNet(3, 10, stages=[[1, 8, 1, 1], [6, 8, 2, 2]], rng=0)
        >>> net(nn.Variable((2, 3, 8, 8))).shape, len(net.get_arch_parameters())
        ((2, 10), 2)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        candidates: Sequence[str] | None = None,
        mode: str = "sample",
        rng: np.random.Generator | int | None = None,
        stages: Sequence[Sequence[int]] | None = None,
        dropout: float = 0.0,
    ) -> None:
        check_mode(mode)
        used = resolve_stages(settings, stages)
        self.candidate_names = _check_candidates(candidates)
        self._choices = block_choices(used, self.candidate_names)
        self._stages = None if stages is None else [list(s) for s in used]
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        def make_block(index: int, block: Block, cin: int, cout: int) -> Module:
            names = self._choices[index]
            ops = [candidate(n, cin, cout, block.stride) for n in names]
            return MixedOp(ops, mode, rng=generator, label=f"block_{index}", names=names)

        self._build(
            in_channels, num_classes, settings=settings, stages=used, width_mult=width_mult,
            dropout=dropout, make_block=make_block,
        )  # fmt: skip

    @property
    def mixed_ops(self) -> list[MixedOp]:
        """The `MixedOp` of each searchable block, in network order."""
        return [b for b in self._blocks if isinstance(b, MixedOp)]

    @property
    def block_candidates(self) -> list[tuple[str, ...]]:
        """The candidate names each searchable block offers, in the order of its alpha."""
        return list(self._choices)

    def arch_probs(self) -> dict[str, np.ndarray]:
        """The softmax over the candidates of each searchable block, keyed ``'block_<i>'``."""
        return {f"block_{i}": op.probs() for i, op in enumerate(self.mixed_ops)}

    def genotype(self) -> dict[str, Any]:
        """Derives the architecture: the candidate of largest alpha in each searchable block."""
        blocks = [
            names[int(np.argmax(op.probs()))]
            for names, op in zip(self._choices, self.mixed_ops, strict=True)
        ]
        record: dict[str, Any] = {"settings": self._settings, "blocks": blocks}
        if self._stages is not None:
            record["stages"] = self._stages
        return record


class TrainNet(_MobileNet):
    """The network of one MobileNetV2 genotype, trained from scratch.

    Args:
        genotype: ``{"settings": ..., "blocks": [...]}`` from `SearchNet.genotype()` or
            `arch.load_arch` (validated here, with its optional ``"stages"``).
        width_mult: scales the channels of every layer but the head's 1280.
        drop_path: the probability of dropping the residual branch of each block with a
            residual connection (per sample, training mode only). The graph holds the
            masks only if this, or a `drop_prob` set before building it, is above 0.
        stages: the stages the genotype was searched on, if it does not record them.
        dropout: the dropout probability before the classifier.

    Example:
        >>> import nnabla as nn
        >>> net = TrainNet(3, 10, {"settings": "cifar10", "blocks": ["k3_e6", "skip"],
        ...                        "stages": [[1, 8, 1, 1], [6, 8, 2, 1]]})
        >>> net(nn.Variable((2, 3, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        genotype: Mapping[str, Any],
        *,
        width_mult: float = 1.0,
        drop_path: float = 0.0,
        stages: Sequence[Sequence[int]] | None = None,
        dropout: float = 0.0,
    ) -> None:
        self._genotype = validate_genotype(genotype, stages=stages)
        settings, names = self._genotype["settings"], self._genotype["blocks"]

        def make_block(index: int, block: Block, cin: int, cout: int) -> Module:
            return candidate(names[index], cin, cout, block.stride)

        self._build(
            in_channels, num_classes, settings=settings, width_mult=width_mult, dropout=dropout,
            stages=resolve_stages(settings, self._genotype.get("stages")), make_block=make_block,
        )  # fmt: skip
        self.drop_prob = drop_path

    def genotype(self) -> dict[str, Any]:
        """Returns the (validated) genotype this network was built from."""
        return dict(self._genotype)

    def _drop_paths(self) -> list[DropPath]:
        return [m for _, m in self.get_modules() if isinstance(m, DropPath)]

    @property
    def drop_prob(self) -> float:
        """The drop-path probability of every residual branch; set it e.g. once per epoch."""
        paths = self._drop_paths()
        return paths[0].drop_prob if paths else 0.0

    @drop_prob.setter
    def drop_prob(self, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"drop_path must lie in [0, 1), got {value}")
        for path in self._drop_paths():
            path.drop_prob = value
