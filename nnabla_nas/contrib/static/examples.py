"""A small graph to try the static space on (the space's `quick_options` builder)."""

from __future__ import annotations

from ... import module as Mo
from ..dag import Graph

__all__ = ["tiny"]


def _conv(channels: int, kernel: int) -> Mo.Module:
    pad = (kernel // 2, kernel // 2)
    return Mo.Sequential(Mo.Conv(channels, channels, (kernel, kernel), pad=pad), Mo.ReLU())


def tiny(in_channels: int, num_classes: int, *, rng: int, channels: int = 8) -> Graph:
    """A stem, two parallel choices concatenated, and a classifier.

    ``left`` chooses among a 3x3 convolution, a 1x1 convolution and the identity,
    ``right`` among a 3x3 convolution, a 3x3 max pooling and the identity; their outputs
    are concatenated (``2 * channels`` channels) before the pooled linear head.

    Example:
        >>> graph = tiny(1, 10, rng=0, channels=4)
        >>> graph.order
        ('stem', 'left', 'right', 'join', 'head')
    """
    left = Mo.MixedOp(
        [_conv(channels, 3), _conv(channels, 1), Mo.Identity()],
        rng=rng, label="left", names=["conv3", "conv1", "skip"],
    )  # fmt: skip
    right = Mo.MixedOp(
        [_conv(channels, 3), Mo.MaxPool((3, 3), (1, 1), (1, 1)), Mo.Identity()],
        rng=rng + 1, label="right", names=["conv3", "max_pool", "skip"],
    )  # fmt: skip
    stem = Mo.Sequential(Mo.Conv(in_channels, channels, (3, 3), pad=(1, 1)), Mo.ReLU())
    head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(2 * channels, num_classes))
    return Graph(
        "x",
        [
            ("stem", stem, "x"),
            ("left", left, "stem"),
            ("right", right, "stem"),
            ("join", Mo.Merging("concat"), ["left", "right"]),
            ("head", head, "join"),
        ],
        "head",
    )
