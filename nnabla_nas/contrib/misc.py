"""Modules shared by several search spaces."""

from __future__ import annotations

from typing import Any

from .. import module as Mo
from ..module.module import Module

__all__ = ["AuxiliaryHeadCIFAR"]


def _bn(channels: int) -> Mo.BatchNormalization:
    return Mo.BatchNormalization(channels, 4, axes=[1])


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
            _bn(128),
            Mo.ReLU(),
            Mo.Conv(128, 768, (2, 2), with_bias=False),
            _bn(768),
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
