"""Building blocks of the NAS-Bench-201 network and the registry of its candidate operations.

A candidate is built by a function ``(channels, affine) -> Module`` registered under its op
name with `register`; every edge of a cell keeps the channels and the spatial size. The
five NAS-Bench-201 candidates (Dong & Yang, ICLR 2020) are registered here under the names
of `arch.OPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nnabla.functions as F

from ... import module as Mo
from ...module.module import Module
from ...utils.registry import registrar
from ..blocks import ReLUConvBN, batch_norm

__all__ = ["CANDIDATES", "ReLUConvBN", "ResidualBlock", "candidate", "register", "stem"]

Candidate = Callable[[int, bool], Module]

CANDIDATES: dict[str, Candidate] = {}


_register = registrar(CANDIDATES, "NAS-Bench-201 candidate")


def register(name: str) -> Callable[[Candidate], Candidate]:
    """Registers a candidate builder ``(channels, affine) -> Module`` under `name`.

    Example:
        >>> @register("nor_conv_5x5_example")
        ... def nor_conv_5x5(channels, affine):
        ...     return ReLUConvBN(channels, channels, 5, 2, 1, affine=affine)
        >>> del CANDIDATES["nor_conv_5x5_example"]
    """
    return _register(name)


def candidate(name: str, channels: int, affine: bool) -> Module:
    """Builds the registered candidate `name` for feature maps of `channels` channels."""
    if name not in CANDIDATES:
        raise ValueError(
            f"unknown NAS-Bench-201 candidate {name!r}; registered: {list(CANDIDATES)}"
        )
    return CANDIDATES[name](channels, affine)


def stem(in_channels: int, out_channels: int) -> Mo.Sequential:
    """The 3x3 convolution (no bias) and BatchNormalization before the first cell."""
    conv = Mo.Conv(in_channels, out_channels, (3, 3), pad=(1, 1), with_bias=False)
    return Mo.Sequential(conv, batch_norm(out_channels, True))


class ResidualBlock(Module):
    """The reduction between stages: a ResNet basic block that halves the spatial size.

    The main path is ReLU-Conv3x3(stride 2)-BN then ReLU-Conv3x3-BN; the shortcut is a 2x2
    average pooling with stride 2 then a 1x1 convolution without bias. Their sum is the
    output. The input's height and width must be even (the two paths would round an odd
    size differently), so network inputs need sizes divisible by 4.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        self._conv_a = ReLUConvBN(in_channels, out_channels, 3, 1, 2)
        self._conv_b = ReLUConvBN(out_channels, out_channels, 3, 1, 1)
        self._shortcut = Mo.Sequential(
            Mo.AvgPool((2, 2), stride=(2, 2)),
            Mo.Conv(in_channels, out_channels, (1, 1), with_bias=False),
        )

    def call(self, input: Any) -> Any:
        size = tuple(input.shape[2:])
        if any(s % 2 for s in size):
            raise ValueError(
                f"ResidualBlock halves even spatial sizes, got {size}; use network inputs "
                "whose height and width are divisible by 4 (e.g. 32x32)"
            )
        return F.add2(self._conv_b(self._conv_a(input)), self._shortcut(input))


@register("none")
def _none(channels: int, affine: bool) -> Module:
    return Mo.Zero()


@register("skip_connect")
def _skip_connect(channels: int, affine: bool) -> Module:
    return Mo.Identity()


@register("nor_conv_1x1")
def _nor_conv_1x1(channels: int, affine: bool) -> Module:
    return ReLUConvBN(channels, channels, 1, 0, 1, affine=affine)


@register("nor_conv_3x3")
def _nor_conv_3x3(channels: int, affine: bool) -> Module:
    return ReLUConvBN(channels, channels, 3, 1, 1, affine=affine)


@register("avg_pool_3x3")
def _avg_pool_3x3(channels: int, affine: bool) -> Module:
    return Mo.AvgPool((3, 3), stride=(1, 1), pad=(1, 1), including_pad=False)
