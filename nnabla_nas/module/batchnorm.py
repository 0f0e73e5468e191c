"""`BatchNormalization`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np
from nnabla.function import PythonFunction

from ..utils.distributed import Communicator
from ..utils.scoped import ThreadSetting
from .module import Module
from .parameter import Parameter

_COMM = ThreadSetting(None)


@contextmanager
def synced_statistics(comm: Communicator) -> Iterator[None]:
    """Within the block, training-mode batch normalization of the graphs being built uses
    the statistics of the whole batch over `comm`'s processes (synchronised batch norm),
    so that data parallel over equal shards computes what one process computes."""
    with _COMM.scoped(comm):
        yield


class RunningStatistics(PythonFunction):
    """Base of the functions that carry a batch's two per-channel statistics (two inputs,
    two outputs of the same shapes) and, in their forward, blend a mean and a variance
    into the running statistics `running` as nnabla's batch normalization does: with
    weight `decay` on the old value, the variance made unbiased. Neither backward reads
    data. Used where nnabla's own update cannot run: statistics averaged over processes,
    or running statistics of which only the leading channels are active (`update`)."""

    def __init__(self, running: tuple[Any, Any], decay: float) -> None:
        super().__init__(nn.get_current_context())
        self._running, self._decay = running, decay

    def min_outputs(self) -> int:
        return 2

    def grad_depends_output_data(self, i: int, o: int) -> bool:
        return False

    def grad_depends_input_data(self, i: int, j: int) -> bool:
        return False

    def setup_impl(self, inputs: Any, outputs: Any) -> None:
        for i, o in zip(inputs, outputs, strict=True):
            o.reset_shape(i.shape, True)

    def update(self, mean: np.ndarray, variance: np.ndarray, count: int) -> None:
        """Blends `mean` and `variance` (biased, of `count` values per channel) into the
        leading block of the running statistics of their shape (all of it when the shapes
        are equal)."""
        unbiased = variance * count / max(count - 1, 1)
        block = tuple(slice(0, n) for n in mean.shape)
        for running, batch in zip(self._running, (mean, unbiased), strict=True):
            array = running.d.copy()
            array[block] = self._decay * array[block] + (1 - self._decay) * batch
            running.d = array


class _MeanOverProcesses(RunningStatistics):
    """The mean over the processes of the per-channel batch moments (mean, mean of
    squares); the backward averages the incoming gradients (the mean's own 1/size
    makes each process's input gradient the sum over the processes' losses). Its forward
    also updates the running statistics (`RunningStatistics.update`)."""

    def __init__(self, comm: Communicator, running: tuple[Any, Any], decay: float, n: int):
        super().__init__(running, decay)
        self._comm, self._n = comm, n

    @property
    def name(self) -> str:
        return "MeanOverProcesses"

    def forward_impl(self, inputs: Any, outputs: Any) -> None:
        arrays = [nn.NdArray.from_numpy_array(i.d.copy()) for i in inputs]
        self._comm.allreduce_mean(arrays)
        mean, square = (a.data for a in arrays)
        outputs[0].d, outputs[1].d = mean, square
        self.update(mean, np.maximum(square - mean * mean, 0.0), self._n * self._comm.size)

    def backward_impl(self, inputs: Any, outputs: Any, propagate_down: Any, accum: Any) -> None:
        arrays = [nn.NdArray.from_numpy_array(o.g.copy()) for o in outputs]
        self._comm.allreduce_mean(arrays)
        for k, array in enumerate(arrays):
            if propagate_down[k]:
                inputs[k].g = (inputs[k].g + array.data) if accum[k] else array.data


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
        comm = _COMM.value
        if self.training and comm is not None and comm.size > 1:
            return self._synced(input, comm)
        return F.batch_normalization(
            input, self._beta, self._gamma, self._mean, self._var, axes=self._axes,
            decay_rate=self._decay_rate, eps=self._eps, batch_stat=self.training,
            output_stat=self._output_stat,
        )  # fmt: skip

    def _synced(self, x: Any, comm: Communicator) -> Any:
        axis = self._axes[0]
        reduce = tuple(i for i in range(x.ndim) if i != axis)
        n = int(np.prod([x.shape[i] for i in reduce]))
        local_mean = F.mean(x, axis=reduce, keepdims=True)
        local_square = F.mean(x * x, axis=reduce, keepdims=True)
        sync = _MeanOverProcesses(comm, (self._mean, self._var), self._decay_rate, n)
        mean, square = sync(local_mean, local_square)
        variance = square - mean * mean
        normal = (x - mean) * F.pow_scalar(variance + self._eps, -0.5)
        return normal * self._gamma + self._beta

    def extra_repr(self) -> str:
        return (
            f"n_features={self._n_features}, n_dims={self._n_dims}, axes={self._axes}, "
            f"decay_rate={self._decay_rate}, eps={self._eps}"
        )
