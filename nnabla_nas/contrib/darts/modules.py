"""Building blocks of the DARTS cell space and the registry of its candidate operations.

A candidate is built by a function ``(channels, stride, affine) -> Module`` registered under
its name with `register`; `CANDIDATES` maps every name to its builder, and `CANDIDATE_NAMES`
lists the eight DARTS candidates in the order the search space uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F

from ... import module as Mo
from ...module.mixedop import MixedOp
from ...module.module import Module
from ...utils.registry import registrar

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

Size = int | Sequence[int]
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


def _pair(value: Size) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {value!r}")
    return (pair[0], pair[1])


def batch_norm(channels: int, affine: bool) -> Mo.BatchNormalization:
    """BatchNormalization over the channels of NCHW maps; ``affine=False`` fixes beta and gamma."""
    return Mo.BatchNormalization(channels, 4, axes=[1], fix_parameters=not affine)


class ReLUConvBN(Module):
    """ReLU, then a convolution without bias, then BatchNormalization."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Size,
        pad: Size | None = None,
        stride: Size | None = None,
        *,
        affine: bool = True,
    ) -> None:
        self._relu = Mo.ReLU()
        self._conv = Mo.Conv(
            in_channels, out_channels, _pair(kernel),
            pad=None if pad is None else _pair(pad),
            stride=None if stride is None else _pair(stride), with_bias=False,
        )  # fmt: skip
        self._bn = batch_norm(out_channels, affine)

    def call(self, input: Any) -> Any:
        return self._bn(self._conv(self._relu(input)))


class DilConv(Module):
    """ReLU, a dilated depthwise convolution, a 1x1 convolution, then BatchNormalization."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Size,
        pad: Size,
        stride: Size,
        dilation: Size,
        *,
        affine: bool = True,
    ) -> None:
        self._relu = Mo.ReLU()
        self._dw = Mo.DwConv(
            in_channels, _pair(kernel), pad=_pair(pad), stride=_pair(stride),
            dilation=_pair(dilation), with_bias=False,
        )  # fmt: skip
        self._pw = Mo.Conv(in_channels, out_channels, (1, 1), with_bias=False)
        self._bn = batch_norm(out_channels, affine)

    def call(self, input: Any) -> Any:
        return self._bn(self._pw(self._dw(self._relu(input))))


class SepConv(Module):
    """Two separable convolutions (ReLU, depthwise, 1x1, BN); the first carries the stride."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Size,
        pad: Size,
        stride: Size,
        *,
        affine: bool = True,
    ) -> None:
        self._first = DilConv(in_channels, in_channels, kernel, pad, stride, 1, affine=affine)
        self._second = DilConv(in_channels, out_channels, kernel, pad, 1, 1, affine=affine)

    def call(self, input: Any) -> Any:
        return self._second(self._first(input))


class FactorizedReduce(Module):
    """Halves the spatial size: two 1x1 stride-2 convolutions, the second on the input
    shifted by one pixel, concatenated along the channels, then BatchNormalization.

    The shifted input is zero-padded at its far border so that odd sizes work too; for even
    sizes the padding is never read.
    """

    def __init__(self, in_channels: int, out_channels: int, *, affine: bool = True) -> None:
        if out_channels % 2:
            raise ValueError(
                f"FactorizedReduce: out_channels must be even (two halves are concatenated), "
                f"got {out_channels}"
            )
        half = out_channels // 2
        self._relu = Mo.ReLU()
        self._conv1 = Mo.Conv(in_channels, half, (1, 1), stride=(2, 2), with_bias=False)
        self._conv2 = Mo.Conv(in_channels, half, (1, 1), stride=(2, 2), with_bias=False)
        self._bn = batch_norm(out_channels, affine)

    def call(self, input: Any) -> Any:
        x = self._relu(input)
        shape = tuple(x.shape)
        start = (0,) * (len(shape) - 2) + (1, 1)
        shifted = F.slice(x, start=start, stop=shape, step=(1,) * len(shape))
        shifted = F.pad(shifted, (0, 1, 0, 1))
        return self._bn(F.concatenate(self._conv1(x), self._conv2(shifted), axis=1))


class DropPath(Module):
    """Drops the whole input of a sample with probability `drop_prob` in training mode.

    Kept samples are scaled by ``1 / (1 - drop_prob)``. The probability lives in an
    ``nn.Variable`` read at every forward, so setting `drop_prob` (e.g. once per epoch)
    changes a graph that is already built. A graph built while the probability has never
    been above 0 holds no mask at all (no cost); build the training graph after setting the
    largest probability of a schedule, or construct the module with it. The random draw
    uses ``F.rand`` with the global seed, so ``nn.seed`` makes it reproducible.
    In inference mode the module is the identity.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        self._prob = nn.Variable((1,), need_grad=False)
        self._active = False
        self.drop_prob = drop_prob

    @property
    def drop_prob(self) -> float:
        """The probability of dropping a sample, in ``[0, 1)``."""
        return self._drop_prob

    @drop_prob.setter
    def drop_prob(self, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"DropPath: drop_prob must lie in [0, 1), got {value}")
        self._drop_prob = float(value)
        self._prob.d = value
        self._active = self._active or value > 0.0

    def call(self, input: Any) -> Any:
        if not self.training or not self._active:
            return input
        ones = (1,) * (input.ndim - 1)
        prob = F.reshape(self._prob, (1, *ones))
        keep = F.greater_equal(F.rand(shape=(input.shape[0], *ones)), prob)
        return input * (keep / F.r_sub_scalar(prob, 1.0))

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


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
