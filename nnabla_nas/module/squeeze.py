"""Squeeze-and-excitation: `SqueezeExcitation`, and the channel rounding it shares with
MobileNet (`make_divisible`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .activation import Hsigmoid, ReLU
from .convolution import Conv
from .module import Module
from .pooling import GlobalAvgPool


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds to the nearest multiple of `divisor`, never below 90% of `value` (MobileNetV2)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class SqueezeExcitation(Module):
    """Rescales each channel by a gate computed from the global average of all channels.

    ``x * gate(expand(relu(reduce(mean_hw(x)))))`` with 1x1 convolutions (Hu et al.,
    "Squeeze-and-Excitation Networks", CVPR 2018). The defaults are MobileNetV3's: the
    squeezed width is a quarter of the channels rounded by `make_divisible`, and the gate
    is the hard sigmoid.

    Args:
        channels: the input (and output) channels.
        reduction: the squeezed width is ``make_divisible(channels / reduction, divisor)``.
        divisor: the multiple the squeezed width is rounded to (1: no rounding).
        gate: the gating module; `Hsigmoid` when None (pass e.g. a `Lambda` of
            ``F.sigmoid`` for the original paper's gate).

    Example:
        >>> from nnabla_nas import module as Mo
        >>> se = Mo.SqueezeExcitation(32)
        >>> se.squeeze_channels
        8
    """

    def __init__(
        self,
        channels: int,
        reduction: float = 4,
        *,
        divisor: int = 8,
        gate: Module | None = None,
        rng: np.random.RandomState | None = None,
    ) -> None:
        if channels < 1 or reduction <= 0 or divisor < 1:
            raise ValueError(
                "SqueezeExcitation: channels and divisor must be at least 1 and reduction "
                f"positive, got channels={channels}, reduction={reduction}, divisor={divisor}"
            )
        self.squeeze_channels = make_divisible(channels / reduction, divisor)
        self._pool = GlobalAvgPool()
        self._reduce = Conv(channels, self.squeeze_channels, (1, 1), rng=rng)
        self._relu = ReLU()
        self._expand = Conv(self.squeeze_channels, channels, (1, 1), rng=rng)
        self._gate = Hsigmoid() if gate is None else gate

    def call(self, input: Any) -> Any:
        scale = self._gate(self._expand(self._relu(self._reduce(self._pool(input)))))
        return input * scale
