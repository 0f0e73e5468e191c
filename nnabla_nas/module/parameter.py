"""`Parameter`: an `nn.Variable` that a `Module` owns and registers."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import nnabla as nn
import numpy as np

Initializer = None | float | np.ndarray | Callable[[tuple[int, ...]], np.ndarray]


def initial_value(shape: tuple[int, ...], initializer: Any) -> np.ndarray:
    """Returns the array a parameter of `shape` starts from.

    `initializer` is None (zeros), a number (filled), an array (or nested list) of exactly
    `shape`, or a callable taking the shape (every `nnabla.initializer` is one).
    """
    if initializer is None:
        return np.zeros(shape, dtype=np.float32)
    if isinstance(initializer, numbers.Real):  # also numpy scalars such as np.float32(1)
        return np.full(shape, initializer, dtype=np.float32)
    value = initializer(shape) if callable(initializer) else initializer
    value = np.asarray(value, dtype=np.float32)
    if value.shape != shape:
        raise ValueError(
            f"initializer gives an array of shape {value.shape}, but the parameter has shape "
            f"{shape}; pass an array of shape {shape} or an nnabla initializer"
        )
    return value


class Parameter(nn.Variable):
    """A learnable (or, with ``need_grad=False``, a stateful) array of a module.

    Assigning a `Parameter` as an attribute of a `Module` registers it; a plain
    `nn.Variable` attribute is not a parameter.

    Example:
        >>> p = Parameter((2, 3), initializer=1.0)
        >>> p.d.sum()
        6.0
    """

    def __new__(
        cls, shape: Sequence[int], need_grad: bool = True, initializer: Initializer = None
    ) -> Parameter:
        return super().__new__(cls, tuple(int(s) for s in shape), need_grad=need_grad)

    def __init__(
        self, shape: Sequence[int], need_grad: bool = True, initializer: Initializer = None
    ) -> None:
        self.d = initial_value(tuple(int(s) for s in shape), initializer)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, need_grad={self.need_grad})"
