"""The elastic blocks of Once-for-All: a stage of elastic depth (`ElasticStage`) and the
MobileNetV3 inverted residual block of elastic kernel size and expansion ratio
(`ElasticMBConv`), built from the layers of `elastic`; `MBConv` is the plain block
`ElasticMBConv.to_static()` returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nnabla.functions as F
import numpy as np

from ... import module as Mo
from ...module.module import Module
from .elastic import (
    ElasticBatchNormalization,
    ElasticDepthwiseConv,
    ElasticPointwiseConv,
    ElasticSqueezeExcitation,
    _check_choice,
    _sizes,
    _static,
)

__all__ = ["ACTIVATIONS", "ElasticMBConv", "ElasticStage", "MBConv"]

#: The activations of `ElasticMBConv` by name: MobileNetV3 uses both, by stage.
ACTIVATIONS: dict[str, Callable[[], Module]] = {"relu": Mo.ReLU, "hswish": Mo.Hswish}


# -- blocks -------------------------------------------------------------------------------


class ElasticStage(Module):
    """A sequence of blocks of which only the first `active_depth` run (elastic depth).

    Once-for-All skips the last blocks of a stage, never the first (which may change the
    resolution or the width): `depths` lists the allowed depths, all from 1 by default.

    Example:
        >>> from nnabla_nas import module as Mo
        >>> stage = ElasticStage([Mo.ReLU(), Mo.ReLU(), Mo.ReLU()], depths=(2, 3))
        >>> stage.active_depth = 2
    """

    def __init__(self, blocks: Sequence[Module], *, depths: Sequence[int] | None = None) -> None:
        if not blocks:
            raise ValueError("ElasticStage: give at least one block")
        self._blocks = Mo.ModuleList(blocks)
        self._depths = _sizes(
            "ElasticStage", "depths", range(1, len(blocks) + 1) if depths is None else depths
        )
        if self._depths[-1] > len(blocks):
            raise ValueError(
                f"ElasticStage: depths {self._depths} exceed the {len(blocks)} blocks given"
            )
        self._active_depth = self._depths[-1]

    @property
    def depths(self) -> tuple[int, ...]:
        """The depths this stage offers, ascending."""
        return self._depths

    @property
    def active_depth(self) -> int:
        """How many blocks, from the first, the next graph runs."""
        return self._active_depth

    @active_depth.setter
    def active_depth(self, value: int) -> None:
        self._active_depth = _check_choice(self, "active_depth", value, self._depths)

    def call(self, input: Any) -> Any:
        for block in list(self._blocks)[: self._active_depth]:
            input = block(input)
        return input

    def to_static(self) -> Mo.Sequential:
        """A plain `Sequential` of the static copies of the active blocks."""
        return Mo.Sequential(*(_static(b) for b in list(self._blocks)[: self._active_depth]))

    def extra_repr(self) -> str:
        return f"depths={self._depths}, active_depth={self._active_depth}"


class MBConv(Module):
    """A fixed inverted residual block: ``project(depthwise(expand(x)))``, plus `x` when
    `residual`. `ElasticMBConv.to_static` builds it from plain layers."""

    def __init__(self, expand: Module, depthwise: Module, project: Module, *, residual: bool):
        self._expand, self._depthwise, self._project = expand, depthwise, project
        self._residual = residual

    def call(self, input: Any) -> Any:
        x = self._project(self._depthwise(self._expand(input)))
        return F.add2(input, x) if self._residual else x

    def extra_repr(self) -> str:
        return f"residual={self._residual}"


class ElasticMBConv(Module):
    """The MobileNetV3 inverted residual block with elastic kernel size and expansion ratio.

    A 1x1 expansion to ``make_divisible(in_channels * active_expand_ratio, 8)`` channels,
    BN and the activation; an elastic depthwise convolution (`active_kernel`, `stride`), BN
    and the activation; with `use_se`, squeeze-and-excitation; a 1x1 projection to
    `out_channels` and BN. The input is added when ``stride == 1`` and the channels agree.
    No convolution has a bias. Weights are held for the largest kernel and ratio.

    Args:
        activation: ``'relu'`` or ``'hswish'`` (see `ACTIVATIONS`).

    Example:
        >>> import nnabla as nn
        >>> block = ElasticMBConv(16, 16, kernels=(3, 5, 7), expand_ratios=(3, 4, 6))
        >>> block.active_kernel, block.active_expand_ratio = 5, 4
        >>> block.mid_channels, block(nn.Variable((2, 16, 8, 8))).shape
        (64, (2, 16, 8, 8))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernels: Sequence[int] = (3, 5, 7),
        expand_ratios: Sequence[float] = (3, 4, 6),
        stride: int = 1,
        activation: str = "relu",
        use_se: bool = False,
        rng: np.random.RandomState | None = None,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"ElasticMBConv: activation must be one of {list(ACTIVATIONS)}, got {activation!r}"
            )
        ratios = tuple(sorted(set(expand_ratios)))
        if not ratios or ratios[0] <= 0:
            raise ValueError(f"ElasticMBConv: expand_ratios must be positive, got {expand_ratios}")
        self._in_channels, self._out_channels = in_channels, out_channels
        self._ratios, self._activation = ratios, activation
        mid = self._mid(ratios[-1])
        self._expand = ElasticPointwiseConv(in_channels, mid, rng=rng)
        self._expand_bn = ElasticBatchNormalization(mid)
        self._expand_act = ACTIVATIONS[activation]()
        self._depthwise = ElasticDepthwiseConv(mid, kernels, stride=stride, rng=rng)
        self._depthwise_bn = ElasticBatchNormalization(mid)
        self._depthwise_act = ACTIVATIONS[activation]()
        self._se = ElasticSqueezeExcitation(mid, rng=rng) if use_se else None
        self._project = ElasticPointwiseConv(mid, out_channels, rng=rng)
        self._project_bn = ElasticBatchNormalization(out_channels)
        self._residual = stride == 1 and in_channels == out_channels
        self._active_ratio = ratios[-1]

    def _mid(self, ratio: float) -> int:
        return Mo.make_divisible(self._in_channels * ratio, 8)

    @property
    def kernels(self) -> tuple[int, ...]:
        """The kernel sizes this block offers, ascending."""
        return self._depthwise.kernels

    @property
    def expand_ratios(self) -> tuple[float, ...]:
        """The expansion ratios this block offers, ascending."""
        return self._ratios

    @property
    def active_kernel(self) -> int:
        """The depthwise kernel size the next graph is built with."""
        return self._depthwise.active_kernel

    @active_kernel.setter
    def active_kernel(self, value: int) -> None:
        self._depthwise.active_kernel = value

    @property
    def active_expand_ratio(self) -> float:
        """The expansion ratio the next graph is built with."""
        return self._active_ratio

    @active_expand_ratio.setter
    def active_expand_ratio(self, value: float) -> None:
        if value not in self._ratios:
            raise ValueError(
                f"ElasticMBConv: active_expand_ratio must be one of {self._ratios}, got {value!r}"
            )
        self._active_ratio = value
        self._expand.active_out = self._mid(value)

    @property
    def mid_channels(self) -> int:
        """The active width between the expansion and the projection."""
        return self._mid(self._active_ratio)

    @property
    def residual(self) -> bool:
        """Whether the block adds its input to its output."""
        return self._residual

    def call(self, input: Any) -> Any:
        if input.ndim != 4 or input.shape[1] != self._in_channels:
            raise ValueError(
                f"ElasticMBConv expects input of shape (N, {self._in_channels}, H, W), "
                f"got {tuple(input.shape)}"
            )
        x = self._expand_act(self._expand_bn(self._expand(input)))
        x = self._depthwise_act(self._depthwise_bn(self._depthwise(x)))
        if self._se is not None:
            x = self._se(x)
        x = self._project_bn(self._project(x))
        return F.add2(input, x) if self._residual else x

    def sort_channels(self) -> np.ndarray:
        """Orders the expanded channels by importance (L1 norm of the expansion filters),
        the most important first, in every layer that holds them; returns the order.

        The full block computes the same function afterwards, and a smaller expansion
        ratio keeps the most important channels (the paper's elastic width).
        """
        order = self._expand.importance_order()
        self._expand.reorder_out_channels(order)
        self._expand_bn.reorder_channels(order)
        self._depthwise.reorder_channels(order)
        self._depthwise_bn.reorder_channels(order)
        if self._se is not None:
            self._se.reorder_channels(order)
        self._project.reorder_in_channels(order)
        return order

    def to_static(self) -> MBConv:
        """A plain `MBConv` at the active kernel and expansion ratio, holding copies of the
        sliced and transformed weights; its `training` mode is this block's."""
        mid, act = self.mid_channels, ACTIVATIONS[self._activation]
        self._expand.active_out = mid
        expand = Mo.Sequential(self._expand.to_static(), self._expand_bn.to_static(mid), act())
        depthwise = [self._depthwise.to_static(mid), self._depthwise_bn.to_static(mid), act()]
        if self._se is not None:
            depthwise.append(self._se.to_static(mid))
        project = Mo.Sequential(self._project.to_static(mid), self._project_bn.to_static())
        block = MBConv(expand, Mo.Sequential(*depthwise), project, residual=self._residual)
        block.training = self.training
        return block

    def extra_repr(self) -> str:
        return (
            f"in_channels={self._in_channels}, out_channels={self._out_channels}, "
            f"kernels={self.kernels}, expand_ratios={self._ratios}, "
            f"active_kernel={self.active_kernel}, active_expand_ratio={self._active_ratio}, "
            f"activation={self._activation!r}, residual={self._residual}"
        )
