"""Small layers: `Dropout`, `Identity`, `Zero`, `Merging`, `Lambda`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nnabla.functions as F

from .module import Module


class Dropout(Module):
    """Zeroes each element with probability `drop_prob` in training mode (and rescales)."""

    def __init__(self, drop_prob: float = 0.5) -> None:
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"Dropout: drop_prob must lie in [0, 1), got {drop_prob}")
        self._drop_prob = drop_prob

    def call(self, input: Any) -> Any:
        if not self.training or self._drop_prob == 0.0:
            return input
        return F.dropout(input, p=self._drop_prob)

    def extra_repr(self) -> str:
        return f"drop_prob={self._drop_prob}"


class Identity(Module):
    """Returns its input."""

    def call(self, input: Any) -> Any:
        return input


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

    def call(self, *inputs: Any) -> Any:
        shapes = [tuple(x.shape) for x in inputs]
        if not inputs:
            raise ValueError("Merging needs at least one input")
        if self._mode == "add":
            if len(set(shapes)) != 1:
                raise ValueError(f"Merging(mode='add') needs inputs of one shape, got {shapes}")
            out = inputs[0]
            for x in inputs[1:]:
                out = F.add2(out, x)
            return out
        ndim = len(shapes[0])
        axis = self._axis % ndim
        others = {s[:axis] + s[axis + 1 :] for s in shapes}
        if len(others) != 1 or any(len(s) != ndim for s in shapes):
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
