"""`Linear`: the affine layer."""

from __future__ import annotations

from typing import Any

import nnabla.functions as F
import numpy as np
from nnabla.initializer import ConstantInitializer, UniformInitializer, calc_uniform_lim_glorot

from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Affine layer ``y = x W + b``, as ``nnabla.parametric_functions.affine``.

    The dimensions from `base_axis` on are flattened into `in_features`.
    Parameters: ``_W`` of shape ``(in_features, out_features)``, ``_b`` of ``(out_features,)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        base_axis: int = 1,
        w_init: Any = None,
        b_init: Any = None,
        rng: np.random.RandomState | None = None,
        bias: bool = True,
    ) -> None:
        self._in_features, self._out_features, self._base_axis = (
            in_features,
            out_features,
            base_axis,
        )
        if w_init is None:
            lim = calc_uniform_lim_glorot(in_features, out_features)
            w_init = UniformInitializer(lim, rng=rng)
        self._W = Parameter((in_features, out_features), initializer=w_init)
        self._b = None
        if bias:
            b_init = ConstantInitializer(0) if b_init is None else b_init
            self._b = Parameter((out_features,), initializer=b_init)

    def call(self, input: Any) -> Any:
        features = int(np.prod(input.shape[self._base_axis :]))
        if input.ndim <= self._base_axis or features != self._in_features:
            raise ValueError(
                f"{self!r} expects the dimensions from axis {self._base_axis} on to hold "
                f"{self._in_features} features, got input of shape {tuple(input.shape)}"
            )
        return F.affine(input, self._W, self._b, base_axis=self._base_axis)

    def extra_repr(self) -> str:
        return (
            f"in_features={self._in_features}, out_features={self._out_features}, "
            f"base_axis={self._base_axis}, bias={self._b is not None}"
        )
