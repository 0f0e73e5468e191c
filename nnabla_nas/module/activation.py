"""Activations: `ReLU`, `ReLU6`, `LeakyReLU`."""

from __future__ import annotations

from typing import Any

import nnabla.functions as F

from .module import Module


class ReLU(Module):
    """``max(0, x)``. `inplace` is accepted for nnabla compatibility; nnabla ignores it."""

    def __init__(self, inplace: bool = False) -> None:
        self._inplace = inplace

    def call(self, input: Any) -> Any:
        return F.relu(input)

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
