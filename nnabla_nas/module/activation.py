"""Activations: `ReLU`, `ReLU6`, `LeakyReLU`, `Hsigmoid`, `Hswish`."""

from __future__ import annotations

from typing import Any

import nnabla.functions as F

from .module import Module
from .recompute import recomputed


class ReLU(Module):
    """``max(0, x)``. `inplace` is accepted for nnabla compatibility; nnabla ignores it."""

    def __init__(self, inplace: bool = False) -> None:
        self._inplace = inplace

    def call(self, input: Any) -> Any:
        return recomputed(F.relu(input))

    def extra_repr(self) -> str:
        return f"inplace={self._inplace}"


class ReLU6(Module):
    """``min(max(0, x), 6)``."""

    def call(self, input: Any) -> Any:
        return F.relu6(input)


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``alpha * x``."""

    def __init__(self, alpha: float = 0.1, inplace: bool = False) -> None:
        self._alpha, self._inplace = alpha, inplace

    def call(self, input: Any) -> Any:
        return F.leaky_relu(input, alpha=self._alpha)

    def extra_repr(self) -> str:
        return f"alpha={self._alpha}, inplace={self._inplace}"


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``, MobileNetV3's piecewise-linear sigmoid.

    Not nnabla's ``F.hard_sigmoid``, whose slope is 0.2 (``clip(0.2 x + 0.5, 0, 1)``) where
    this one's is 1/6; built from ReLU6 so that it exports to ONNX as Add, Clip and Mul.
    """
    return F.relu6(x + 3.0) * (1.0 / 6.0)


class Hsigmoid(Module):
    """``relu6(x + 3) / 6`` (Howard et al., "Searching for MobileNetV3", ICCV 2019)."""

    def call(self, input: Any) -> Any:
        return hard_sigmoid(input)


class Hswish(Module):
    """``x * relu6(x + 3) / 6``, MobileNetV3's cheap swish."""

    def call(self, input: Any) -> Any:
        return input * hard_sigmoid(input)
