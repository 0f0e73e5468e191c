"""`BatchNormalization`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla.functions as F

from .module import Module
from .parameter import Parameter


class BatchNormalization(Module):
    """Batch normalization, as ``nnabla.parametric_functions.batch_normalization``.

    Uses batch statistics (and updates the running ones) in training mode and the running
    statistics in inference mode. Parameters: ``_beta``, ``_gamma`` (learned unless
    `fix_parameters`) and ``_mean``, ``_var`` (running statistics, never learned), each of
    shape ``(1, n_features, 1, ...)`` with `n_dims` dims.

    Args:
        param_init: optional dict with initializers for ``'beta'``, ``'gamma'``,
            ``'mean'`` and ``'var'``.
    """

    def __init__(
        self,
        n_features: int,
        n_dims: int,
        axes: Sequence[int] = (1,),
        decay_rate: float = 0.9,
        eps: float = 1e-5,
        output_stat: bool = False,
        fix_parameters: bool = False,
        param_init: dict[str, Any] | None = None,
    ) -> None:
        axes = list(axes)
        if len(axes) != 1 or not 0 <= axes[0] < n_dims:
            raise ValueError(f"BatchNormalization: axes must name one of {n_dims} dims, got {axes}")
        self._n_features, self._n_dims, self._axes = n_features, n_dims, axes
        self._decay_rate, self._eps, self._output_stat = decay_rate, eps, output_stat
        shape = [1] * n_dims
        shape[axes[0]] = n_features
        init = {"beta": 0.0, "gamma": 1.0, "mean": 0.0, "var": 1.0, **(param_init or {})}
        self._beta = Parameter(shape, need_grad=not fix_parameters, initializer=init["beta"])
        self._gamma = Parameter(shape, need_grad=not fix_parameters, initializer=init["gamma"])
        self._mean = Parameter(shape, need_grad=False, initializer=init["mean"])
        self._var = Parameter(shape, need_grad=False, initializer=init["var"])

    @property
    def decay_rate(self) -> float:
        """The weight of the old running statistics in each training forward; a graph
        built afterwards uses the new value (0: each forward stores its batch's statistics)."""
        return float(self._decay_rate)

    @decay_rate.setter
    def decay_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"BatchNormalization: decay_rate must lie in [0, 1], got {value}")
        self._decay_rate = float(value)

    def call(self, input: Any) -> Any:
        axis = self._axes[0]
        if input.ndim != self._n_dims or input.shape[axis] != self._n_features:
            raise ValueError(
                f"{self!r} expects a {self._n_dims}-D input with {self._n_features} features "
                f"on axis {axis}, got shape {tuple(input.shape)}"
            )
        return F.batch_normalization(
            input, self._beta, self._gamma, self._mean, self._var, axes=self._axes,
            decay_rate=self._decay_rate, eps=self._eps, batch_stat=self.training,
            output_stat=self._output_stat,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"n_features={self._n_features}, n_dims={self._n_dims}, axes={self._axes}, "
            f"decay_rate={self._decay_rate}, eps={self._eps}"
        )
