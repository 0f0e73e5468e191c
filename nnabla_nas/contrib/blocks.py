"""Building blocks shared by several search spaces.

`batch_norm` and `ReLUConvBN` serve the DARTS and NAS-Bench-201 cells, `DilConv`,
`SepConv` and `FactorizedReduce` the DARTS candidates, `AuxiliaryHeadCIFAR` the DARTS
retraining network. A space's own candidates and skeleton stay in its folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F

from .. import module as Mo
from ..module.module import Module

__all__ = [
    "AuxiliaryHeadCIFAR",
    "DilConv",
    "FactorizedReduce",
    "ReLUConvBN",
    "SepConv",
    "batch_norm",
]

Size = int | Sequence[int]


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


class AuxiliaryHeadCIFAR(Module):
    """The auxiliary classifier of DARTS for CIFAR-sized feature maps.

    ReLU, 5x5 average pooling with stride 3, a 1x1 convolution to 128 channels, a 2x2
    convolution to 768 channels (each followed by BN and ReLU), a global average pool,
    then a linear layer. On the 8x8 maps of a 32x32 CIFAR network the 2x2 convolution
    already gives 1x1 maps, so the global pool changes nothing there; it lets larger
    maps work too.

    Args:
        channels: the channels of the input feature maps.
        num_classes: the number of outputs.

    Example:
        >>> import nnabla as nn
        >>> head = AuxiliaryHeadCIFAR(16, 10)
        >>> head(nn.Variable((2, 16, 8, 8))).shape
        (2, 10)
    """

    # The 5x5 pool (stride 3) then the 2x2 convolution need at least 8x8 input maps.
    MIN_SIZE = 8

    def __init__(self, channels: int, num_classes: int) -> None:
        self._channels = channels
        self._features = Mo.Sequential(
            Mo.ReLU(),
            Mo.AvgPool((5, 5), stride=(3, 3), pad=(0, 0), including_pad=False),
            Mo.Conv(channels, 128, (1, 1), with_bias=False),
            batch_norm(128, True),
            Mo.ReLU(),
            Mo.Conv(128, 768, (2, 2), with_bias=False),
            batch_norm(768, True),
            Mo.ReLU(),
            Mo.GlobalAvgPool(),
        )
        self._classifier = Mo.Linear(768, num_classes)

    def call(self, input: Any) -> Any:
        shape = tuple(input.shape)
        if len(shape) != 4 or shape[1] != self._channels:
            raise ValueError(
                f"AuxiliaryHeadCIFAR expects input of shape (N, {self._channels}, H, W), "
                f"got {shape}"
            )
        if min(shape[2:]) < self.MIN_SIZE:
            raise ValueError(
                f"AuxiliaryHeadCIFAR needs feature maps of at least {self.MIN_SIZE}x"
                f"{self.MIN_SIZE} (a 5x5 pool with stride 3, then a 2x2 convolution), got "
                f"{shape[2]}x{shape[3]}; use larger inputs or no auxiliary head"
            )
        return self._classifier(self._features(input))

    def extra_repr(self) -> str:
        return f"channels={self._channels}"
