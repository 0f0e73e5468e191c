"""The elastic layers of Once-for-All (Cai et al., "Once-for-All: Train One Network and
Specialize it for Efficient Deployment", ICLR 2020).

Each layer holds its parameters at the largest size and computes with a leading part of
them, so that every sub-network shares the weights of the full one: the kernel size of a
depthwise convolution (`ElasticDepthwiseConv`), the output width of a 1x1 convolution
(`ElasticPointwiseConv`), the widths of batch normalization and squeeze-and-excitation;
`blocks` combines them into stages and inverted residual blocks.
Input widths follow the input a layer receives. The active sizes are plain attributes
(``active_kernel``, ``active_out``, ``active_depth``, ``active_expand_ratio``) read when a
graph is built: after changing one, build the graph again.

`to_static()` returns a plain copy of a layer at its active sizes (`nnabla_nas.module`
layers holding the sliced and transformed weights), the network a sub-network exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np
from nnabla.initializer import UniformInitializer, calc_uniform_lim_glorot

from ... import module as Mo
from ...module.batchnorm import RunningStatistics
from ...module.module import Module
from ...module.parameter import Parameter
from ...module.recompute import recomputed

__all__ = [
    "ElasticBatchNormalization",
    "ElasticDepthwiseConv",
    "ElasticPointwiseConv",
    "ElasticSqueezeExcitation",
    "importance_order",
]


# -- helpers ------------------------------------------------------------------------------


def _check_choice(owner: object, name: str, value: Any, allowed: Sequence[int]) -> int:
    """`value` as an int if it is one of `allowed`; otherwise a ValueError naming them."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value not in allowed:
        if isinstance(allowed, range):
            what = f"an int from {allowed.start} to {allowed.stop - 1}"
        else:
            what = f"one of {tuple(allowed)}"
        raise ValueError(f"{type(owner).__name__}: {name} must be {what}, got {value!r}")
    return int(value)


def _sizes(owner: str, name: str, values: Sequence[int], *, odd: bool = False) -> tuple[int, ...]:
    """The distinct positive ints of `values`, ascending (odd ones when `odd`)."""
    sizes = tuple(sorted({int(v) for v in values}))
    if not sizes or sizes[0] < 1 or (odd and any(v % 2 == 0 for v in sizes)):
        kind = "odd positive ints" if odd else "positive ints"
        raise ValueError(f"{owner}: {name} must be a non-empty list of {kind}, got {values!r}")
    return sizes


def _input_channels(owner: object, x: Any, maximum: int) -> int:
    """The channels of an ``(N, C, H, W)`` input, checked to be at most `maximum`."""
    if x.ndim != 4 or not 1 <= x.shape[1] <= maximum:
        raise ValueError(
            f"{type(owner).__name__} expects input of shape (N, C, H, W) with C at most "
            f"{maximum}, got {tuple(x.shape)}"
        )
    return int(x.shape[1])


def _leading(p: nn.Variable, stop: Sequence[int]) -> nn.Variable:
    """The block ``p[:stop[0], :stop[1], ...]`` as a graph (gradients reach `p`)."""
    if tuple(stop) == tuple(p.shape):
        return p
    return F.slice(p, start=(0,) * len(stop), stop=tuple(stop))


def _value(v: nn.Variable) -> np.ndarray:
    """A copy of the current value of `v`, computing it first if it is a graph's output."""
    if v.parent is not None:
        v.forward()
    return np.array(v.d, dtype=np.float32)


def _check_order(owner: object, order: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    """`order` as an int array if it is a permutation of ``range(n)``."""
    array = np.asarray(order)
    if array.shape != (n,) or not np.array_equal(np.sort(array), np.arange(n)):
        raise ValueError(
            f"{type(owner).__name__}: order must be a permutation of range({n}), got {order!r}"
        )
    return array.astype(np.int64)


def _permute(p: Parameter | None, order: np.ndarray, axis: int) -> None:
    if p is not None:
        p.d = np.take(p.d, order, axis=axis)


def _load(target: Module, **parts: Module) -> None:
    """Copies each part's parameters into `target`'s child of the same name."""
    params = {
        f"{name}/{key}": p
        for name, part in parts.items()
        for key, p in part.get_parameters().items()
    }
    target.set_parameters(params, raise_if_missing=True)


def _static(module: Module) -> Module:
    to_static = getattr(module, "to_static", None)
    if to_static is None:
        raise TypeError(f"{type(module).__name__} has no to_static(); use elastic blocks")
    result: Module = to_static()
    return result


def importance_order(weight: np.ndarray) -> np.ndarray:
    """The output channels (axis 0 of `weight`) from the largest L1 norm to the smallest.

    Once-for-All keeps the most important channels when it shrinks a width, and takes a
    channel's importance to be the L1 norm of its weights.

    Example:
        >>> importance_order(np.array([[1.0, 0.0], [3.0, -2.0], [0.5, 0.5]])).tolist()
        [1, 0, 2]
    """
    norms = np.abs(weight).reshape(weight.shape[0], -1).sum(axis=1)
    return np.argsort(-norms, kind="stable")


# -- layers -------------------------------------------------------------------------------


class ElasticDepthwiseConv(Module):
    """A depthwise convolution whose kernel size is one of `kernels` ("same" padding).

    The weights ``_W`` are held at the largest kernel. A smaller kernel is made step by step
    from the next larger one, as the paper's kernel transformation: the centre crop of the
    larger kernel, flattened to ``k * k`` values per channel, is multiplied by a learned
    ``(k * k, k * k)`` matrix ``_transform_{k}`` shared by all channels (``crop @ T``),
    which starts as the identity. With kernels (3, 5, 7), the 3x3 kernel is thus the centre
    of the transformed 5x5 kernel, transformed again. The active channels are the first
    ones, as many as the input has; no bias (a batch normalization follows).

    Example:
        >>> import nnabla as nn
        >>> conv = ElasticDepthwiseConv(8, (3, 5, 7))
        >>> conv.active_kernel = 5
        >>> conv(nn.Variable((2, 6, 9, 9))).shape
        (2, 6, 9, 9)
    """

    def __init__(
        self,
        channels: int,
        kernels: Sequence[int] = (3, 5, 7),
        *,
        stride: int = 1,
        rng: np.random.RandomState | None = None,
    ) -> None:
        if channels < 1 or stride < 1:
            raise ValueError(
                f"ElasticDepthwiseConv: channels and stride must be positive, got "
                f"channels={channels}, stride={stride}"
            )
        self._channels, self._stride = channels, stride
        self._kernels = _sizes("ElasticDepthwiseConv", "kernels", kernels, odd=True)
        size = self._kernels[-1]
        lim = calc_uniform_lim_glorot(channels, channels, (size, size))
        self._W = Parameter((channels, size, size), initializer=UniformInitializer(lim, rng=rng))
        for k in reversed(self._kernels[:-1]):  # in the order they apply: 7 -> 5 -> 3
            setattr(self, f"_transform_{k}", Parameter((k * k, k * k), initializer=np.eye(k * k)))
        self._active_kernel = size

    @property
    def kernels(self) -> tuple[int, ...]:
        """The kernel sizes this layer offers, ascending."""
        return self._kernels

    @property
    def active_kernel(self) -> int:
        """The kernel size the next graph is built with."""
        return self._active_kernel

    @active_kernel.setter
    def active_kernel(self, value: int) -> None:
        self._active_kernel = _check_choice(self, "active_kernel", value, self._kernels)

    def transform(self, kernel: int) -> Parameter:
        """The learned matrix that makes the `kernel` weights from the next larger ones."""
        _check_choice(self, "kernel", kernel, self._kernels[:-1])
        matrix: Parameter = getattr(self, f"_transform_{kernel}")
        return matrix

    def weight(self, channels: int | None = None) -> nn.Variable:
        """The active kernel of the first `channels` channels (all when None), as a graph
        of ``_W`` and the transformation matrices, of shape ``(channels, k, k)``."""
        c = self._channels if channels is None else channels
        w = _leading(self._W, (c, *self._W.shape[1:]))
        size = self._kernels[-1]
        for k in reversed(self._kernels[:-1]):
            if k < self._active_kernel:
                break
            start = (size - k) // 2
            crop = F.slice(w, start=(0, start, start), stop=(c, start + k, start + k))
            flat = F.affine(F.reshape(crop, (c, k * k)), self.transform(k))
            w, size = F.reshape(flat, (c, k, k)), k
        return w

    def call(self, input: Any) -> Any:
        c = _input_channels(self, input, self._channels)
        k = self._active_kernel
        return F.depthwise_convolution(
            input, self.weight(c), None, pad=(k // 2, k // 2), stride=(self._stride,) * 2
        )

    def reorder_channels(self, order: Sequence[int] | np.ndarray) -> None:
        """Permutes the channels: channel ``i`` becomes the former channel ``order[i]``."""
        _permute(self._W, _check_order(self, order, self._channels), 0)

    def to_static(self, channels: int | None = None) -> Mo.DwConv:
        """A plain `DwConv` of the first `channels` channels (all when None) holding the
        active kernel."""
        c = self._channels if channels is None else channels
        k = self._active_kernel
        conv = Mo.DwConv(c, (k, k), pad=(k // 2,) * 2, stride=(self._stride,) * 2, with_bias=False)
        conv.set_parameters({"_W": _value(self.weight(c))}, raise_if_missing=True)
        return conv

    def extra_repr(self) -> str:
        return (
            f"channels={self._channels}, kernels={self._kernels}, "
            f"active_kernel={self._active_kernel}, stride={self._stride}"
        )


class ElasticPointwiseConv(Module):
    """A 1x1 convolution of elastic width: the first `active_out` filters, each over as
    many input channels as the input has.

    Parameters at the largest size: ``_W`` of shape ``(out_channels, in_channels, 1, 1)``
    and, with `with_bias`, ``_b``. `reorder_out_channels` and `reorder_in_channels` permute
    them, so that a width can be shrunk to the most important channels (see
    `importance_order`) without changing what the full network computes.

    Example:
        >>> import nnabla as nn
        >>> conv = ElasticPointwiseConv(8, 16)
        >>> conv.active_out = 12
        >>> conv(nn.Variable((2, 6, 4, 4))).shape
        (2, 12, 4, 4)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        with_bias: bool = False,
        rng: np.random.RandomState | None = None,
    ) -> None:
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"ElasticPointwiseConv: channels must be positive, got {in_channels} -> "
                f"{out_channels}"
            )
        self._in_channels, self._out_channels = in_channels, out_channels
        lim = calc_uniform_lim_glorot(in_channels, out_channels)
        w_init = UniformInitializer(lim, rng=rng)
        self._W = Parameter((out_channels, in_channels, 1, 1), initializer=w_init)
        self._b = Parameter((out_channels,), initializer=0.0) if with_bias else None
        self._active_out = out_channels

    @property
    def active_out(self) -> int:
        """The output channels the next graph is built with."""
        return self._active_out

    @active_out.setter
    def active_out(self, value: int) -> None:
        allowed = range(1, self._out_channels + 1)
        self._active_out = _check_choice(self, "active_out", value, allowed)

    def call(self, input: Any) -> Any:
        c = _input_channels(self, input, self._in_channels)
        w = _leading(self._W, (self._active_out, c, 1, 1))
        b = None if self._b is None else _leading(self._b, (self._active_out,))
        return recomputed(F.convolution(input, w, b))  # a matrix product: cheap again

    def importance_order(self) -> np.ndarray:
        """The output channels from the most to the least important (L1 norm of filters)."""
        return importance_order(self._W.d)

    def reorder_out_channels(self, order: Sequence[int] | np.ndarray) -> None:
        """Permutes the filters: output ``i`` becomes the former output ``order[i]``.

        The layers reading this output must get the same permutation of their inputs
        (`reorder_in_channels`, `ElasticBatchNormalization.reorder_channels`, ...).
        Optimizer state kept per parameter element is not permuted: reorder between
        training phases.
        """
        order = _check_order(self, order, self._out_channels)
        _permute(self._W, order, 0)
        _permute(self._b, order, 0)

    def reorder_in_channels(self, order: Sequence[int] | np.ndarray) -> None:
        """Permutes the input channels the filters read, as the layer before was permuted."""
        _permute(self._W, _check_order(self, order, self._in_channels), 1)

    def to_static(self, in_channels: int | None = None) -> Mo.Conv:
        """A plain 1x1 `Conv` from `in_channels` (all when None) to `active_out` channels."""
        c = self._in_channels if in_channels is None else in_channels
        out = self._active_out
        conv = Mo.Conv(c, out, (1, 1), with_bias=self._b is not None)
        params = {"_W": self._W.d[:out, :c]}
        if self._b is not None:
            params["_b"] = self._b.d[:out]
        conv.set_parameters(params, raise_if_missing=True)
        return conv

    def extra_repr(self) -> str:
        return (
            f"in_channels={self._in_channels}, out_channels={self._out_channels}, "
            f"active_out={self._active_out}, with_bias={self._b is not None}"
        )


class _RunningUpdate(RunningStatistics):
    """Passes the batch mean and variance through unchanged; its forward blends them into
    the leading channels of the running statistics (`RunningStatistics.update`), leaving
    the other channels as they are.

    nnabla's batch normalization updates its running-statistics inputs in place, which
    reach no parameter when those inputs are slices; placing the update on the path of
    the statistics makes every forward of the output run it.
    """

    def __init__(self, running: tuple[Parameter, Parameter], decay: float, count: int) -> None:
        super().__init__(running, decay)
        self._count = count

    @property
    def name(self) -> str:
        return "ElasticRunningUpdate"

    def forward_impl(self, inputs: Any, outputs: Any) -> None:
        mean, variance = inputs[0].d.copy(), inputs[1].d.copy()
        outputs[0].d, outputs[1].d = mean, variance
        self.update(mean, variance, self._count)

    def backward_impl(self, inputs: Any, outputs: Any, propagate_down: Any, accum: Any) -> None:
        for k in range(2):
            if propagate_down[k]:
                grad = outputs[k].g.copy()
                inputs[k].g = (inputs[k].g + grad) if accum[k] else grad


class ElasticBatchNormalization(Module):
    """Batch normalization of the first C channels of ``(N, C, H, W)`` maps, C taken from
    the input, with parameters held for `max_channels`.

    Parameters as `BatchNormalization`'s: ``_beta``, ``_gamma``, ``_mean``, ``_var`` of
    shape ``(1, max_channels, 1, 1)``. In training mode the batch statistics normalise the
    input and only the first C running statistics are updated; in inference mode the first
    C running statistics are used. At full width it is nnabla's batch normalization itself.
    """

    def __init__(self, max_channels: int, *, decay_rate: float = 0.9, eps: float = 1e-5) -> None:
        if max_channels < 1:
            raise ValueError(
                f"ElasticBatchNormalization: max_channels must be positive, got {max_channels}"
            )
        self._channels, self._decay_rate, self._eps = max_channels, decay_rate, eps
        shape = (1, max_channels, 1, 1)
        self._beta = Parameter(shape, initializer=0.0)
        self._gamma = Parameter(shape, initializer=1.0)
        self._mean = Parameter(shape, need_grad=False, initializer=0.0)
        self._var = Parameter(shape, need_grad=False, initializer=1.0)

    def call(self, input: Any) -> Any:
        c = _input_channels(self, input, self._channels)
        beta, gamma, mean, var = (
            _leading(p, (1, c, 1, 1)) for p in (self._beta, self._gamma, self._mean, self._var)
        )
        if self.training and c < self._channels:
            return self._partial(input, beta, gamma)
        return F.batch_normalization(
            input, beta, gamma, mean, var, axes=[1], decay_rate=self._decay_rate,
            eps=self._eps, batch_stat=self.training,
        )  # fmt: skip

    def _partial(self, x: Any, beta: Any, gamma: Any) -> Any:
        """Training-mode normalisation of fewer channels than the running statistics hold."""
        axes = (0, 2, 3)
        count = x.shape[0] * x.shape[2] * x.shape[3]
        mean = F.mean(x, axis=axes, keepdims=True)
        variance = F.mean(F.pow_scalar(x - mean, 2.0), axis=axes, keepdims=True)
        update = _RunningUpdate((self._mean, self._var), self._decay_rate, count)
        mean, variance = update(mean, variance)
        return (x - mean) * F.pow_scalar(variance + self._eps, -0.5) * gamma + beta

    def reorder_channels(self, order: Sequence[int] | np.ndarray) -> None:
        """Permutes the channels, as the layer before was permuted."""
        order = _check_order(self, order, self._channels)
        for p in (self._beta, self._gamma, self._mean, self._var):
            _permute(p, order, 1)

    def to_static(self, channels: int | None = None) -> Mo.BatchNormalization:
        """A plain `BatchNormalization` of the first `channels` channels (all when None)."""
        c = self._channels if channels is None else channels
        bn = Mo.BatchNormalization(c, 4, axes=[1], decay_rate=self._decay_rate, eps=self._eps)
        names = ("_beta", "_gamma", "_mean", "_var")
        bn.set_parameters({n: getattr(self, n).d[:, :c] for n in names}, raise_if_missing=True)
        return bn

    def extra_repr(self) -> str:
        return f"max_channels={self._channels}, decay_rate={self._decay_rate}, eps={self._eps}"


class ElasticSqueezeExcitation(Module):
    """`SqueezeExcitation` over the first C channels, C taken from the input.

    The squeezed width follows C as `SqueezeExcitation`'s does
    (``make_divisible(C / reduction, divisor)``); the reduce and expand convolutions use
    the leading part of weights held for `max_channels`.
    """

    def __init__(
        self,
        max_channels: int,
        reduction: float = 4,
        *,
        divisor: int = 8,
        rng: np.random.RandomState | None = None,
    ) -> None:
        if max_channels < 1 or reduction <= 0 or divisor < 1:
            raise ValueError(
                "ElasticSqueezeExcitation: max_channels and divisor must be at least 1 and "
                f"reduction positive, got {max_channels}, {reduction}, {divisor}"
            )
        self._channels, self._reduction, self._divisor = max_channels, reduction, divisor
        squeeze = self.squeeze_channels(max_channels)
        self._pool = Mo.GlobalAvgPool()
        self._reduce = ElasticPointwiseConv(max_channels, squeeze, with_bias=True, rng=rng)
        self._relu = Mo.ReLU()
        self._expand = ElasticPointwiseConv(squeeze, max_channels, with_bias=True, rng=rng)
        self._gate = Mo.Hsigmoid()

    def squeeze_channels(self, channels: int) -> int:
        """The squeezed width for `channels` input channels."""
        return Mo.make_divisible(channels / self._reduction, self._divisor)

    def call(self, input: Any) -> Any:
        c = _input_channels(self, input, self._channels)
        self._reduce.active_out, self._expand.active_out = self.squeeze_channels(c), c
        return input * self._gate(self._expand(self._relu(self._reduce(self._pool(input)))))

    def reorder_channels(self, order: Sequence[int] | np.ndarray) -> None:
        """Permutes the channels, as the layer before was permuted."""
        self._reduce.reorder_in_channels(order)
        self._expand.reorder_out_channels(order)

    def to_static(self, channels: int | None = None) -> Mo.SqueezeExcitation:
        """A plain `SqueezeExcitation` of the first `channels` channels (all when None)."""
        c = self._channels if channels is None else channels
        squeeze = self.squeeze_channels(c)
        self._reduce.active_out, self._expand.active_out = squeeze, c
        se = Mo.SqueezeExcitation(c, self._reduction, divisor=self._divisor)
        _load(se, _reduce=self._reduce.to_static(c), _expand=self._expand.to_static(squeeze))
        return se

    def extra_repr(self) -> str:
        return f"max_channels={self._channels}, reduction={self._reduction}"
