"""Building blocks of the DARTS cell space and the registry of its candidate operations.

A candidate is built by a function ``(channels, stride, affine) -> Module`` registered under
its name with `register`; `CANDIDATES` maps every name to its builder, and `CANDIDATE_NAMES`
lists the eight DARTS candidates in the order the search space uses.
"""

from __future__ import annotations

from collections.abc import Callable

from ... import module as Mo
from ...module.misc import DropPath
from ...module.mixedop import MixedOp
from ...module.module import Module
from ...utils.registry import registrar
from ..blocks import DilConv, FactorizedReduce, ReLUConvBN, SepConv, batch_norm

__all__ = [
    "CANDIDATES",
    "CANDIDATE_NAMES",
    "DilConv",
    "DropPath",
    "FactorizedReduce",
    "MixedOp",
    "ReLUConvBN",
    "SepConv",
    "batch_norm",
    "register",
]

Candidate = Callable[[int, int, bool], Module]

CANDIDATES: dict[str, Candidate] = {}


_register = registrar(CANDIDATES, "DARTS candidate")


def register(name: str) -> Callable[[Candidate], Candidate]:
    """Registers a candidate builder ``(channels, stride, affine) -> Module`` under `name`.

    Example:
        >>> @register("conv_1x1_example")
        ... def conv_1x1(channels, stride, affine):
        ...     return ReLUConvBN(channels, channels, 1, 0, stride, affine=affine)
        >>> del CANDIDATES["conv_1x1_example"]
    """
    return _register(name)


@register("sep_conv_3x3")
def _sep_conv_3x3(channels: int, stride: int, affine: bool) -> Module:
    return SepConv(channels, channels, 3, 1, stride, affine=affine)


@register("sep_conv_5x5")
def _sep_conv_5x5(channels: int, stride: int, affine: bool) -> Module:
    return SepConv(channels, channels, 5, 2, stride, affine=affine)


@register("dil_conv_3x3")
def _dil_conv_3x3(channels: int, stride: int, affine: bool) -> Module:
    return DilConv(channels, channels, 3, 2, stride, 2, affine=affine)


@register("dil_conv_5x5")
def _dil_conv_5x5(channels: int, stride: int, affine: bool) -> Module:
    return DilConv(channels, channels, 5, 4, stride, 2, affine=affine)


@register("max_pool_3x3")
def _max_pool_3x3(channels: int, stride: int, affine: bool) -> Module:
    return Mo.MaxPool((3, 3), stride=(stride, stride), pad=(1, 1))


@register("avg_pool_3x3")
def _avg_pool_3x3(channels: int, stride: int, affine: bool) -> Module:
    return Mo.AvgPool((3, 3), stride=(stride, stride), pad=(1, 1), including_pad=False)


@register("skip_connect")
def _skip_connect(channels: int, stride: int, affine: bool) -> Module:
    if stride == 1:
        return Mo.Identity()
    return FactorizedReduce(channels, channels, affine=affine)


@register("none")
def _none(channels: int, stride: int, affine: bool) -> Module:
    return Mo.Zero((stride, stride))


CANDIDATE_NAMES: tuple[str, ...] = tuple(CANDIDATES)
