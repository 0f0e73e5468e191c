"""Data augmentation inside the static graph, on an `nn.Variable` batch (N, C, H, W).

Each transform is called as ``t(x, training=True)`` and returns a new variable built from
nnabla functions. Random transforms act only when `training` is True and otherwise return
`x` itself (no new graph node); deterministic ones (`Normalize`, `Resize`) always apply.
Every random draw is graph noise, `nnabla_nas.module.noise.uniform`: built inside a
``collect_noise()`` block, the noise is an input the code running the graph fills before
each forward from its own numpy generator (so a run is repeatable from that generator's
seed); built outside one, it is nnabla's ``F.rand``, which ``nn.seed`` sets. The random
transforms are exact selections (crop, flip) or maskings (cutout) of the input values.

Example:
    >>> augment = Compose([RandomCrop((32, 32), pad_width=4), RandomHorizontalFlip(),
    ...                    Normalize(mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26))])
    >>> y = augment(x, training=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ..module.noise import uniform


class Transform:
    """A graph-level transform; subclasses implement `__call__`."""

    def __call__(self, x: Any, training: bool = True) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Compose(Transform):
    """Applies `transforms` in order, passing `training` to each."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, training: bool = True) -> Any:
        for transform in self.transforms:
            x = transform(x, training=training)
        return x


class Normalize(Transform):
    """Per channel ``(x * scale - mean) / std``; `mean` and `std` are scalars or one per channel."""

    def __init__(
        self, mean: float | Sequence[float], std: float | Sequence[float], scale: float = 1.0
    ) -> None:
        self.mean = _per_channel(mean, "mean")
        self.std = _per_channel(std, "std")
        if np.any(self.std == 0):
            raise ValueError(f"std must be non-zero, got {self.std.tolist()}")
        self.scale = float(scale)

    def __call__(self, x: Any, training: bool = True) -> Any:
        channels = {len(self.mean), len(self.std)} - {1}
        if channels and channels != {x.shape[1]}:
            raise ValueError(
                f"Normalize has {sorted(channels)} channel(s) of mean/std but the input "
                f"{tuple(x.shape)} has {x.shape[1]}; give one value per input channel"
            )
        shifted = F.sub2(F.mul_scalar(x, self.scale), _constant(self.mean))
        return F.div2(shifted, _constant(self.std))


class Resize(Transform):
    """Resizes each image to `size` (an int for a square, or (H, W)) by interpolation.

    Args:
        interpolation: ``'linear'`` (bilinear) or ``'nearest'``.
    """

    def __init__(self, size: int | Sequence[int], interpolation: str = "linear") -> None:
        if interpolation not in ("linear", "nearest"):
            raise ValueError(f"interpolation must be 'linear' or 'nearest', got {interpolation!r}")
        self.size = _pair(size, "size")
        self.interpolation = interpolation

    def __call__(self, x: Any, training: bool = True) -> Any:
        return F.interpolate(x, output_size=self.size, mode=self.interpolation)


class RandomCrop(Transform):
    """Zero-pads each image by `pad_width`, then crops a random `shape` window from it.

    The window's offset is uniform over all valid offsets, drawn per sample from graph
    noise ``u = uniform((N, 2, 1, 1))``: the top row is
    ``min(floor(u[n, 0] * (Hp - h + 1)), Hp - h)`` for a padded height `Hp` and window
    height `h`, the left column likewise from ``u[n, 1]``. The crop is two products with
    one-hot selection matrices (rows, then columns), so it copies the input's values exactly
    (for finite inputs) and passes gradients back to the selected pixels.

    Args:
        shape: output (H, W), or (C, H, W) with C the input's channels, or an int side.
        pad_width: an int for all four sides, or (top, bottom, left, right).
    """

    def __init__(self, shape: int | Sequence[int], pad_width: int | Sequence[int] = 0) -> None:
        sizes = [shape] if isinstance(shape, int) else list(shape)
        if not 1 <= len(sizes) <= 3:
            raise ValueError(f"shape must be an int, (H, W) or (C, H, W), got {shape!r}")
        self.channels = sizes[0] if len(sizes) == 3 else None
        self.shape = _pair(sizes[-1] if len(sizes) == 1 else sizes[-2:], "shape")
        self.pad_width = _four(pad_width)

    def __call__(self, x: Any, training: bool = True) -> Any:
        if not training:
            return x
        if self.channels not in (None, x.shape[1]):
            raise ValueError(f"RandomCrop keeps {self.channels} channels, input has {x.shape}")
        if any(self.pad_width):
            x = F.pad(x, self.pad_width)
        n, _, height, width = x.shape
        h, w = self.shape
        if h > height or w > width:
            raise ValueError(f"RandomCrop{self.shape} is larger than the padded input {x.shape}")
        # One draw for both axes, laid out like Cutout's: [:, 0] rows, [:, 1] columns.
        offset = uniform((n, 2, 1, 1))
        if h < height:  # (N, 1, h, Hp) @ (N, C, Hp, Wp): batch dims broadcast over C
            x = F.batch_matmul(_selection(offset[:, 0:1], h, height), x)
        if w < width:  # (N, C, h, Wp) @ (N, 1, w, Wp)^T
            x = F.batch_matmul(x, _selection(offset[:, 1:2], w, width), transpose_b=True)
        return x


class RandomHorizontalFlip(Transform):
    """Mirrors each image left-right with probability 1/2.

    Sample `n` is mirrored when its graph noise ``uniform((N, 1, 1, 1))[n] < 0.5``; the
    output is a per-sample choice between the image and its mirror, so values are exact.
    """

    _axis = 3

    def __call__(self, x: Any, training: bool = True) -> Any:
        if not training:
            return x
        n = x.shape[0]
        # F.where takes a condition shaped like the leading axes of its operands.
        mirror = F.less_scalar(F.reshape(uniform((n, 1, 1, 1)), (n,)), 0.5)
        return F.where(mirror, F.flip(x, axes=[self._axis]), x)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirrors each image top-bottom with probability 1/2 (noise as `RandomHorizontalFlip`)."""

    _axis = 2


class Cutout(Transform):
    """Zeroes one `length` x `length` square per image, clipped at the borders.

    The square's centre is uniform over the pixels, as in DeVries & Taylor (2017); it covers
    rows ``[cy - length // 2, cy - length // 2 + length)`` and likewise columns, in all
    channels. The centre comes from graph noise ``u = uniform((N, 2, 1, 1))``:
    ``cy = min(floor(u[n, 0] * H), H - 1)`` and ``cx`` likewise from ``u[n, 1]``.
    """

    def __init__(self, length: int) -> None:
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.length = int(length)

    def __call__(self, x: Any, training: bool = True) -> Any:
        if not training:
            return x
        n, _, h, w = x.shape
        centre = uniform((n, 2, 1, 1))
        rows = self._band(centre[:, 0:1], h, axis=2)
        cols = self._band(centre[:, 1:2], w, axis=3)
        return F.mul2(x, F.r_sub_scalar(F.mul2(rows, cols), 1.0))

    def _band(self, draw: Any, size: int, axis: int) -> Any:
        """1 where a position along `axis` lies in the square, else 0."""
        shape = [1, 1, 1, 1]
        shape[axis] = size
        position = F.reshape(F.arange(0, size), shape)
        centre = _index(draw, size)
        start = F.add_scalar(centre, -(self.length // 2))
        inside = F.greater_equal(position, start)
        return F.mul2(inside, F.less(position, F.add_scalar(start, self.length)))


def _index(draw: Any, count: int) -> Any:
    """``floor(draw * count)`` as a float index in ``[0, count)``.

    The clip keeps the index in range should the product round up to `count` (or
    ``F.rand`` return 1).
    """
    return F.minimum_scalar(F.floor(F.mul_scalar(draw, count)), count - 1)


def _selection(draw: Any, size: int, full: int) -> Any:
    """A (N, 1, size, full) one-hot matrix picking `size` consecutive positions of `full`.

    Row ``i`` of sample ``n`` is 1 at column ``start + i``, with ``start`` uniform over the
    ``full - size + 1`` valid starts, taken from the noise `draw` (N, 1, 1, 1).
    """
    start = _index(draw, full - size + 1)
    wanted = F.add2(start, F.reshape(F.arange(0, size), (1, 1, size, 1)))
    return F.equal(F.reshape(F.arange(0, full), (1, 1, 1, full)), wanted)


def _per_channel(value: float | Sequence[float], name: str) -> np.ndarray:
    array = np.atleast_1d(np.asarray(value, dtype=np.float32))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a number or a flat list, one per channel, got {value}")
    return array


def _constant(values: np.ndarray) -> Any:
    """A (1, C, 1, 1) variable broadcasting `values` over a batch."""
    return nn.Variable.from_numpy_array(values.reshape(1, -1, 1, 1), need_grad=False)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or (H, W), got {value!r}")
    return int(pair[0]), int(pair[1])


def _four(pad_width: int | Sequence[int]) -> tuple[int, int, int, int]:
    pads = (pad_width,) * 4 if isinstance(pad_width, int) else tuple(pad_width)
    if len(pads) != 4 or any(int(p) != p or p < 0 for p in pads):
        raise ValueError(
            f"pad_width must be a non-negative int or (top, bottom, left, right), got {pad_width!r}"
        )
    return int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
