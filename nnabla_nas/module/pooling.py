"""Pooling: `MaxPool`, `AvgPool`, `GlobalAvgPool`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F

from .layout import move_axis, native_channel_last
from .module import Module


class _Pool(Module):
    def __init__(
        self,
        kernel: Sequence[int],
        stride: Sequence[int] | None = None,
        pad: Sequence[int] | None = None,
        channel_last: bool = False,
    ) -> None:
        self._kernel = tuple(int(k) for k in kernel)
        # nnabla's default stride is the kernel size.
        self._stride = self._kernel if stride is None else tuple(int(s) for s in stride)
        self._pad = (0,) * len(self._kernel) if pad is None else tuple(int(p) for p in pad)
        self._channel_last = channel_last

    def _check(self, input: Any) -> None:
        if input.ndim < len(self._kernel) + 1:
            raise ValueError(
                f"{self!r} pools the last {len(self._kernel)} dims of a batch of feature "
                f"maps, got input of shape {tuple(input.shape)}"
            )

    def _pool(self, input: Any, channel_last: bool) -> Any:
        raise NotImplementedError

    def call(self, input: Any) -> Any:
        self._check(input)
        if not self._channel_last or native_channel_last():
            return self._pool(input, self._channel_last)
        # CPU pooling is channel-first only: move the channels in front of the pooled dims.
        axis = input.ndim - 1 - len(self._kernel)
        out = self._pool(move_axis(input, -1, axis), False)
        return move_axis(out, axis, -1)

    def extra_repr(self) -> str:
        layout = ", channel_last=True" if self._channel_last else ""
        return f"kernel={self._kernel}, stride={self._stride}, pad={self._pad}{layout}"


class MaxPool(_Pool):
    """Max pooling, as ``F.max_pooling`` (borders ignored)."""

    def _pool(self, input: Any, channel_last: bool) -> Any:
        return F.max_pooling(
            input, self._kernel, self._stride, True, self._pad, channel_last=channel_last
        )


class AvgPool(_Pool):
    """Average pooling, as ``F.average_pooling``.

    Args:
        including_pad: count padded positions in the average (nnabla's default). DARTS
            averages over the valid positions only (``including_pad=False``).
    """

    def __init__(
        self,
        kernel: Sequence[int],
        stride: Sequence[int] | None = None,
        pad: Sequence[int] | None = None,
        channel_last: bool = False,
        *,
        including_pad: bool = True,
    ) -> None:
        super().__init__(kernel, stride, pad, channel_last)
        self._including_pad = including_pad

    def _pool(self, input: Any, channel_last: bool) -> Any:
        return F.average_pooling(
            input, self._kernel, self._stride, True, self._pad,
            channel_last=channel_last, including_pad=self._including_pad,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return super().extra_repr() + f", including_pad={self._including_pad}"


class GlobalAvgPool(Module):
    """Averages each feature map to one value: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    def call(self, input: Any) -> Any:
        if input.ndim < 3:
            raise ValueError(
                f"GlobalAvgPool expects (N, C, spatial...) input, got {tuple(input.shape)}"
            )
        return F.global_average_pooling(input)
