"""Small layers: `Dropout`, `DropPath`, `Identity`, `Zero`, `Merging`, `Lambda`, `Resize`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F

from .module import Module
from .noise import uniform


def _check_prob(owner: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: drop_prob must lie in [0, 1), got {value}")
    return float(value)


class Dropout(Module):
    """Zeroes each element with probability `drop_prob` in training mode (and rescales).

    Kept elements are scaled by ``1 / (1 - drop_prob)``; the draw is graph noise (see
    `nnabla_nas.module.noise`). In inference mode the module is the identity.
    """

    def __init__(self, drop_prob: float = 0.5) -> None:
        self._drop_prob = _check_prob("Dropout", drop_prob)

    def call(self, input: Any) -> Any:
        if not self.training or self._drop_prob == 0.0:
            return input
        keep = F.greater_equal_scalar(uniform(input.shape), self._drop_prob)
        return F.mul_scalar(input * keep, 1.0 / (1.0 - self._drop_prob))

    def extra_repr(self) -> str:
        return f"drop_prob={self._drop_prob}"


class DropPath(Module):
    """Drops the whole input of a sample with probability `drop_prob` in training mode.

    Kept samples are scaled by ``1 / (1 - drop_prob)``. The probability lives in an
    ``nn.Variable`` read at every forward, so setting `drop_prob` (e.g. once per epoch)
    changes a graph that is already built. A graph built while the probability has never
    been above 0 holds no mask at all (no cost); build the training graph after setting the
    largest probability of a schedule, or construct the module with it. The per-sample draw
    is graph noise (see `nnabla_nas.module.noise`). In inference mode the module is the
    identity.
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
        self._drop_prob = _check_prob("DropPath", value)
        self._prob.d = value
        self._active = self._active or value > 0.0

    def call(self, input: Any) -> Any:
        if not self.training or not self._active:
            return input
        ones = (1,) * (input.ndim - 1)
        prob = F.reshape(self._prob, (1, *ones))
        keep = F.greater_equal(uniform((input.shape[0], *ones)), prob)
        return input * (keep / F.r_sub_scalar(prob, 1.0))

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class Identity(Module):
    """Returns its input."""

    def call(self, input: Any) -> Any:
        return input


class Resize(Module):
    """Resizes a batch of images (N, C, H, W) to `size` x `size` by interpolation; the
    identity for an input of that side already, or while `size` is None.

    `size` may be set after construction (an elastic input resolution); build the graph
    again afterwards. Bilinear interpolation samples pixel centres (``align_corners``
    false, half-pixel offsets), as ONNX's ``Resize`` does with ``pytorch_half_pixel``, so
    an exported network computes the same.

    Args:
        size: the output side, or None for the identity.
        mode: ``'linear'`` (bilinear) or ``'nearest'``.
    """

    MODES = ("linear", "nearest")

    def __init__(self, size: int | None = None, mode: str = "linear") -> None:
        if mode not in self.MODES:
            raise ValueError(f"Resize: unknown mode {mode!r}; use one of {self.MODES}")
        self._mode = mode
        self.size = size

    @property
    def size(self) -> int | None:
        """The output side (None: the identity)."""
        return self._size

    @size.setter
    def size(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):  # fmt: skip
            raise ValueError(f"Resize: size must be a positive int or None, got {value!r}")
        self._size = value

    def resizes(self, shape: Sequence[int]) -> bool:
        """Whether an input of `shape` (N, C, H, W) is resized (not passed through)."""
        return self._size is not None and tuple(shape[-2:]) != (self._size, self._size)

    def call(self, input: Any) -> Any:
        if input.ndim != 4:
            raise ValueError(f"Resize takes images (N, C, H, W), got shape {tuple(input.shape)}")
        if not self.resizes(input.shape):
            return input
        linear = self._mode == "linear"
        return F.interpolate(
            input, output_size=(self._size, self._size), mode=self._mode,
            align_corners=False, half_pixel=linear, half_pixel_for_nn=not linear,
        )  # fmt: skip

    def flops(self, input_shapes: Sequence[Sequence[int]]) -> float:
        """FLOPs of one inference: a bilinear output is a weighted sum of 4 pixels (4
        multiplications and 3 additions); nearest and the identity copy."""
        shape = input_shapes[0]
        if not self.resizes(shape) or self._mode == "nearest":
            return 0.0
        return 7.0 * shape[0] * shape[1] * self._size**2  # type: ignore[operator]

    def extra_repr(self) -> str:
        return f"size={self._size}, mode={self._mode!r}"


class Zero(Module):
    """Returns zeros shaped like the input subsampled by `stride` (DARTS' ``none`` op)."""

    def __init__(self, stride: Sequence[int] = (1, 1)) -> None:
        self._stride = tuple(int(s) for s in stride)

    def call(self, input: Any) -> Any:
        if any(s != 1 for s in self._stride):
            spatial = len(self._stride)
            index = (slice(None),) * (input.ndim - spatial)
            input = input[index + tuple(slice(None, None, s) for s in self._stride)]
        return F.mul_scalar(input, 0.0)

    def extra_repr(self) -> str:
        return f"stride={self._stride}"


class Merging(Module):
    """Merges several inputs: ``'concat'`` along `axis`, or ``'add'`` element-wise."""

    MODES = ("concat", "add")

    def __init__(self, mode: str = "concat", axis: int = 1) -> None:
        if mode not in self.MODES:
            raise ValueError(f"Merging: unknown mode {mode!r}; use one of {self.MODES}")
        self._mode, self._axis = mode, axis

    @property
    def mode(self) -> str:
        """``'concat'`` or ``'add'``."""
        return self._mode

    @property
    def axis(self) -> int:
        """The axis of ``'concat'``."""
        return self._axis

    def fits(self, shapes: Sequence[Sequence[int]]) -> bool:
        """Whether inputs of `shapes` can be merged: one shape to add; to concatenate,
        shapes of one rank that differ only on `axis`."""
        given = [tuple(s) for s in shapes]
        if self._mode == "add":
            return len(set(given)) == 1
        ndim = len(given[0])
        axis = self._axis % ndim
        others = {s[:axis] + s[axis + 1 :] for s in given}
        return len(others) == 1 and all(len(s) == ndim for s in given)

    def call(self, *inputs: Any) -> Any:
        shapes = [tuple(x.shape) for x in inputs]
        if not inputs:
            raise ValueError("Merging needs at least one input")
        if self._mode == "add":
            if not self.fits(shapes):
                raise ValueError(f"Merging(mode='add') needs inputs of one shape, got {shapes}")
            out = inputs[0]
            for x in inputs[1:]:
                out = F.add2(out, x)
            return out
        if not self.fits(shapes):
            raise ValueError(
                f"Merging(mode='concat', axis={self._axis}) needs inputs that differ only on "
                f"axis {self._axis}, got {shapes}"
            )
        return F.concatenate(*inputs, axis=self._axis)

    def extra_repr(self) -> str:
        return f"mode={self._mode!r}, axis={self._axis}"


class Lambda(Module):
    """Wraps a function of nnabla variables as a module, e.g. ``Lambda(F.tanh)``."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func

    def call(self, *inputs: Any) -> Any:
        return self._func(*inputs)

    def extra_repr(self) -> str:
        return getattr(self._func, "__name__", repr(self._func))
