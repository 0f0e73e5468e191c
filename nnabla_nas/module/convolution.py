"""Convolutions: `Conv` and `DwConv` (depthwise)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F
import numpy as np
from nnabla.initializer import (
    ConstantInitializer,
    UniformInitializer,
    calc_uniform_lim_glorot,
)

from .checks import check_input
from .layout import move_axis, native_channel_last
from .module import Module
from .parameter import Parameter
from .recompute import recomputed


def _tuple(value: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)


def _layout(channels: int, base_axis: int, spatial: int, channel_last: bool) -> str:
    dims = ["N"] * base_axis + [f"D{i}" for i in range(spatial)]
    dims.insert(len(dims) if channel_last else base_axis, str(channels))
    return "(" + ", ".join(dims) + ")"


class Conv(Module):
    """N-D convolution, as ``nnabla.parametric_functions.convolution``.

    Parameters: ``_W`` of shape ``(out_channels, in_channels // group, *kernel)``
    (channels last when ``channel_last``) and ``_b`` of shape ``(out_channels,)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Sequence[int],
        pad: Sequence[int] | None = None,
        stride: Sequence[int] | None = None,
        dilation: Sequence[int] | None = None,
        group: int = 1,
        w_init: Any = None,
        b_init: Any = None,
        base_axis: int = 1,
        fix_parameters: bool = False,
        rng: np.random.RandomState | None = None,
        with_bias: bool = True,
        channel_last: bool = False,
    ) -> None:
        if in_channels % group or out_channels % group:
            raise ValueError(
                f"Conv: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by group ({group})"
            )
        self._in_channels, self._out_channels = in_channels, out_channels
        self._kernel = tuple(int(k) for k in kernel)
        self._pad, self._stride, self._dilation = _tuple(pad), _tuple(stride), _tuple(dilation)
        self._group, self._base_axis, self._channel_last = group, base_axis, channel_last
        if w_init is None:
            fan_in = in_channels * int(np.prod(self._kernel)) // group
            fan_out = out_channels * int(np.prod(self._kernel)) // group
            lim = calc_uniform_lim_glorot(fan_in, fan_out)
            w_init = UniformInitializer(lim, rng=rng)
        w_shape = (out_channels, in_channels // group, *self._kernel)
        if channel_last:
            w_shape = (out_channels, *self._kernel, in_channels // group)
        self._W = Parameter(w_shape, need_grad=not fix_parameters, initializer=w_init)
        self._b = None
        if with_bias:
            b_init = ConstantInitializer(0) if b_init is None else b_init
            self._b = Parameter((out_channels,), need_grad=not fix_parameters, initializer=b_init)

    def call(self, input: Any) -> Any:
        spatial = len(self._kernel)
        axis = -1 if self._channel_last else self._base_axis
        layout = _layout(self._in_channels, self._base_axis, spatial, self._channel_last)
        check_input(self, input, self._base_axis + 1 + spatial, axis, self._in_channels, layout)
        if self._channel_last and not native_channel_last():
            out = self._channel_first_call(input)
        else:
            out = self._convolution(input, self._W, self._channel_last)
        # A pointwise convolution is one matrix product (half a depthwise 3x3's time on CPU)
        # from an input the backward keeps anyway: cheap to recompute.
        return recomputed(out) if all(k == 1 for k in self._kernel) else out

    def _convolution(self, input: Any, weight: Any, channel_last: bool) -> Any:
        return F.convolution(
            input, weight, self._b, base_axis=self._base_axis, pad=self._pad,
            stride=self._stride, dilation=self._dilation, group=self._group,
            channel_last=channel_last,
        )  # fmt: skip

    def _channel_first_call(self, input: Any) -> Any:
        """The channel-last convolution computed in channel-first layout (CPU)."""
        x = move_axis(input, -1, self._base_axis)
        out = self._convolution(x, move_axis(self._W, -1, 1), False)
        return move_axis(out, self._base_axis, -1)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self._in_channels}, out_channels={self._out_channels}, "
            f"kernel={self._kernel}, stride={self._stride}, pad={self._pad}, "
            f"dilation={self._dilation}, group={self._group}, with_bias={self._b is not None}"
        )


class DwConv(Module):
    """Depthwise convolution, as ``nnabla.parametric_functions.depthwise_convolution``.

    Parameters: ``_W`` of shape ``(in_channels * multiplier, *kernel)`` and ``_b`` of
    shape ``(in_channels * multiplier,)``.
    """

    def __init__(
        self,
        in_channels: int,
        kernel: Sequence[int],
        pad: Sequence[int] | None = None,
        stride: Sequence[int] | None = None,
        dilation: Sequence[int] | None = None,
        multiplier: int = 1,
        w_init: Any = None,
        b_init: Any = None,
        base_axis: int = 1,
        fix_parameters: bool = False,
        rng: np.random.RandomState | None = None,
        with_bias: bool = True,
    ) -> None:
        self._in_channels, self._multiplier = in_channels, multiplier
        self._kernel = tuple(int(k) for k in kernel)
        self._pad, self._stride, self._dilation = _tuple(pad), _tuple(stride), _tuple(dilation)
        self._base_axis = base_axis
        out_channels = in_channels * multiplier
        if w_init is None:
            lim = calc_uniform_lim_glorot(in_channels, out_channels, self._kernel)
            w_init = UniformInitializer(lim, rng=rng)
        self._W = Parameter(
            (out_channels, *self._kernel), need_grad=not fix_parameters, initializer=w_init
        )
        self._b = None
        if with_bias:
            b_init = ConstantInitializer(0) if b_init is None else b_init
            self._b = Parameter((out_channels,), need_grad=not fix_parameters, initializer=b_init)

    def call(self, input: Any) -> Any:
        spatial = len(self._kernel)
        layout = _layout(self._in_channels, self._base_axis, spatial, False)
        ndim = self._base_axis + 1 + spatial
        check_input(self, input, ndim, self._base_axis, self._in_channels, layout)
        out = F.depthwise_convolution(
            input, self._W, self._b, base_axis=self._base_axis, pad=self._pad,
            stride=self._stride, dilation=self._dilation, multiplier=self._multiplier,
        )  # fmt: skip
        return out

    def extra_repr(self) -> str:
        return (
            f"in_channels={self._in_channels}, kernel={self._kernel}, stride={self._stride}, "
            f"pad={self._pad}, dilation={self._dilation}, multiplier={self._multiplier}, "
            f"with_bias={self._b is not None}"
        )
