"""The operations of the NASNet search space (Zoph et al., CVPR 2018) and their registry.

An operation is built by a function ``(channels, stride, affine) -> Module`` registered under
its name with `register`; `OPS` maps every name to its builder. The paper's list of 13 is
registered; `DEFAULT_CANDIDATES` is the subset a search uses unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import module as Mo
from ...module.module import Module
from ...utils.registry import registrar
from ..blocks import DilConv, FactorizedReduce, ReLUConvBN, SepConv, batch_norm

__all__ = [
    "DEFAULT_CANDIDATES",
    "OPS",
    "SpatiallySeparableConv",
    "register",
    "search_op",
]

Builder = Callable[[int, int, bool], Module]

OPS: dict[str, Builder] = {}

_register = registrar(OPS, "NASNet operation")


def register(name: str) -> Callable[[Builder], Builder]:
    """Registers an operation builder ``(channels, stride, affine) -> Module`` under `name`.

    The module maps ``(N, channels, H, W)`` to ``(N, channels, H / stride, W / stride)``.

    Example:
        >>> @register("conv_5x5_example")
        ... def conv_5x5(channels, stride, affine):
        ...     return ReLUConvBN(channels, channels, 5, 2, stride, affine=affine)
        >>> del OPS["conv_5x5_example"]
    """
    return _register(name)


class SpatiallySeparableConv(Module):
    """ReLU, a ``1 x k`` then a ``k x 1`` convolution, then BatchNormalization.

    The stride is split as the kernel is: the first convolution strides the width, the
    second the height.
    """

    def __init__(self, channels: int, kernel: int, stride: int, *, affine: bool = True) -> None:
        pad = kernel // 2
        self._relu = Mo.ReLU()
        self._row = Mo.Conv(channels, channels, (1, kernel), pad=(0, pad), stride=(1, stride),
                            with_bias=False)  # fmt: skip
        self._column = Mo.Conv(channels, channels, (kernel, 1), pad=(pad, 0),
                               stride=(stride, 1), with_bias=False)  # fmt: skip
        self._bn = batch_norm(channels, affine)
        self._kernel = kernel

    def call(self, input: Any) -> Any:
        return self._bn(self._column(self._row(self._relu(input))))

    def extra_repr(self) -> str:
        return f"kernel=1x{self._kernel},{self._kernel}x1"


@register("identity")
def _identity(channels: int, stride: int, affine: bool) -> Module:
    # On a reduction cell's inputs, the identity halves the size as DARTS's skip does.
    if stride == 1:
        return Mo.Identity()
    return FactorizedReduce(channels, channels, affine=affine)


@register("conv_1x3_3x1")
def _conv_1x3_3x1(channels: int, stride: int, affine: bool) -> Module:
    return SpatiallySeparableConv(channels, 3, stride, affine=affine)


@register("conv_1x7_7x1")
def _conv_1x7_7x1(channels: int, stride: int, affine: bool) -> Module:
    return SpatiallySeparableConv(channels, 7, stride, affine=affine)


@register("dil_conv_3x3")
def _dil_conv_3x3(channels: int, stride: int, affine: bool) -> Module:
    # The paper's "3x3 dilated convolution", in the separable form DARTS uses (dilation 2).
    return DilConv(channels, channels, 3, 2, stride, 2, affine=affine)


@register("avg_pool_3x3")
def _avg_pool_3x3(channels: int, stride: int, affine: bool) -> Module:
    return Mo.AvgPool((3, 3), stride=(stride, stride), pad=(1, 1), including_pad=False)


def _max_pool(kernel: int) -> Builder:
    def build(channels: int, stride: int, affine: bool) -> Module:
        pad = kernel // 2
        return Mo.MaxPool((kernel, kernel), stride=(stride, stride), pad=(pad, pad))

    return build


register("max_pool_3x3")(_max_pool(3))
register("max_pool_5x5")(_max_pool(5))
register("max_pool_7x7")(_max_pool(7))


@register("conv_1x1")
def _conv_1x1(channels: int, stride: int, affine: bool) -> Module:
    return ReLUConvBN(channels, channels, 1, 0, stride, affine=affine)


@register("conv_3x3")
def _conv_3x3(channels: int, stride: int, affine: bool) -> Module:
    return ReLUConvBN(channels, channels, 3, 1, stride, affine=affine)


def _sep_conv(kernel: int) -> Builder:
    # NASNet applies a depthwise-separable convolution twice, as DARTS's SepConv does.
    def build(channels: int, stride: int, affine: bool) -> Module:
        return SepConv(channels, channels, kernel, kernel // 2, stride, affine=affine)

    return build


register("sep_conv_3x3")(_sep_conv(3))
register("sep_conv_5x5")(_sep_conv(5))
register("sep_conv_7x7")(_sep_conv(7))

#: The eight operations PNAS (Liu et al., ECCV 2018) kept from this list for its search of
#: the same cells: separable convolutions, the 1x7-7x1 pair, the dilated convolution, the
#: identity and the 3x3 pools. The plain 1x1 and 3x3 convolutions, the 1x3-3x1 pair and
#: the larger max pools stay registered for a ``candidates:`` list.
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "identity", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3",
    "conv_1x7_7x1", "avg_pool_3x3", "max_pool_3x3",
)  # fmt: skip


def search_op(name: str, channels: int, stride: int) -> Module:
    """An operation of a search cell: non-affine BatchNormalization, and pools followed by
    a fixed BatchNormalization, as in the DARTS search cells (so that a mixture of pools and
    convolutions sums outputs of one scale)."""
    op = OPS[name](channels, stride, False)
    if isinstance(op, (Mo.MaxPool, Mo.AvgPool)):
        op = Mo.Sequential(op, batch_norm(channels, False))
    return op
