"""Input checks that turn a shape mistake into an error naming the module."""

from __future__ import annotations

from typing import Any


def check_input(module: Any, x: Any, ndim: int, axis: int, channels: int, layout: str) -> None:
    """Raises ValueError unless `x` has `ndim` dims and `channels` entries on `axis`.

    `layout` describes the expected shape for the message, e.g. ``"(N, 3, H, W)"``.
    """
    shape = tuple(x.shape)
    if len(shape) != ndim or shape[axis] != channels:
        raise ValueError(f"{module!r} expects input of shape {layout}, got {shape}")
