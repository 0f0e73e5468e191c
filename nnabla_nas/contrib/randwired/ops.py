"""The operations a randwired node may apply, and their registry.

In the paper every node applies one transformation, a ReLU-convolution-BN triplet whose
convolution is a 3x3 separable one (a 3x3 depthwise then a 1x1 convolution):
``sep_conv_3x3``. The search chooses each node's op among a few such candidates. An op
is built by a function ``(in_channels, out_channels, stride, affine) -> Module``
registered under its name with `register`; `OPS` maps every name to its builder.
Every op ends with a BatchNormalization, so the weighted sums of the nodes that read it
add outputs of one scale whatever the ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import module as Mo
from ...module.module import Module
from ...utils.registry import registrar
from ..blocks import DilConv, batch_norm

__all__ = ["DEFAULT_CANDIDATES", "OPS", "PAPER_OP", "Pool", "register"]

Builder = Callable[[int, int, int, bool], Module]

OPS: dict[str, Builder] = {}

_register = registrar(OPS, "randwired operation")

PAPER_OP = "sep_conv_3x3"
"""The transformation of every node in the paper."""


def register(name: str) -> Callable[[Builder], Builder]:
    """Registers an op builder ``(in_channels, out_channels, stride, affine) -> Module``.

    The module maps ``(N, in_channels, H, W)`` to ``(N, out_channels, H / stride,
    W / stride)`` and should end with a BatchNormalization (affine when `affine`).

    Example:
        >>> from nnabla_nas.contrib.blocks import ReLUConvBN
        >>> @register("conv_3x3_example")
        ... def conv_3x3(in_channels, out_channels, stride, affine):
        ...     return ReLUConvBN(in_channels, out_channels, 3, 1, stride, affine=affine)
        >>> del OPS["conv_3x3_example"]
    """
    return _register(name)


def _separable(kernel: int, dilation: int) -> Builder:
    def build(in_channels: int, out_channels: int, stride: int, affine: bool) -> Module:
        pad = dilation * (kernel // 2)
        return DilConv(in_channels, out_channels, kernel, pad, stride, dilation, affine=affine)

    return build


# One separable convolution per node, as in the paper (DARTS applies two).
register("sep_conv_3x3")(_separable(3, 1))
register("sep_conv_5x5")(_separable(5, 1))
register("dil_conv_3x3")(_separable(3, 2))


class Pool(Module):
    """A 3x3 pool, a 1x1 convolution where the channels change (a node reading the stage
    input of a wider stage), then BatchNormalization."""

    def __init__(
        self, kind: str, in_channels: int, out_channels: int, stride: int, *, affine: bool
    ) -> None:
        pool = Mo.MaxPool if kind == "max" else Mo.AvgPool
        extra: dict[str, Any] = {} if kind == "max" else {"including_pad": False}
        self._pool = pool((3, 3), stride=(stride, stride), pad=(1, 1), **extra)
        self._conv = (
            Mo.Conv(in_channels, out_channels, (1, 1), with_bias=False)
            if in_channels != out_channels
            else Mo.Identity()
        )
        self._bn = batch_norm(out_channels, affine)
        self._kind = kind

    def call(self, input: Any) -> Any:
        return self._bn(self._conv(self._pool(input)))

    def extra_repr(self) -> str:
        return f"kind={self._kind!r}"


@register("max_pool_3x3")
def _max_pool(in_channels: int, out_channels: int, stride: int, affine: bool) -> Module:
    return Pool("max", in_channels, out_channels, stride, affine=affine)


@register("avg_pool_3x3")
def _avg_pool(in_channels: int, out_channels: int, stride: int, affine: bool) -> Module:
    return Pool("avg", in_channels, out_channels, stride, affine=affine)


DEFAULT_CANDIDATES: tuple[str, ...] = (
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "max_pool_3x3", "avg_pool_3x3",
)  # fmt: skip
"""The paper's op and four alternatives of the DARTS candidates that can change the
channels at a stage's input nodes (no identity, no zero)."""
