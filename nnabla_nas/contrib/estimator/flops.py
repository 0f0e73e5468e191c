"""`FLOPsEstimator`: floating-point operations of one inference.

Convention: a multiply-add counts as 2 FLOPs. Per layer, with ``out`` the number of
output elements and ``in`` the number of input elements:

- `Conv`: ``2 * out * (in_channels / group) * prod(kernel)``, plus ``out`` with bias;
  stride, padding and dilation enter through the output shape.
- `DwConv`: ``2 * out * prod(kernel)``, plus ``out`` with bias.
- `Linear`: ``2 * out * in_features``, plus ``out`` with bias.
- `BatchNormalization`: ``2 * in`` (inference: one scale and one shift per element).
- `ReLU`, `ReLU6`, `LeakyReLU`: ``in``.
- `MaxPool`, `AvgPool`: ``out * prod(kernel)``; `GlobalAvgPool`: ``in``.
- `Merging`: ``'add'``: ``out`` per input after the first; ``'concat'``: 0.
- `Zero`, `Identity`, `Dropout` and other parameter-free layers: 0.
- A layer of another type that defines ``flops(input_shapes) -> float`` counts itself,
  so the layers a space defines need no estimator subclass.
"""

from __future__ import annotations

import math

from ...module import (
    AvgPool,
    BatchNormalization,
    Conv,
    DwConv,
    GlobalAvgPool,
    LeakyReLU,
    Linear,
    MaxPool,
    Merging,
    Module,
    ReLU,
    ReLU6,
)
from .base import Estimator, Shape, infer_output_shape

__all__ = ["FLOPsEstimator"]

_ELEMENTWISE = (ReLU, ReLU6, LeakyReLU)


def _size(shape: Shape) -> int:
    return math.prod(shape)


class FLOPsEstimator(Estimator):
    """Counts FLOPs, a multiply-add being 2 FLOPs (see the module docstring for formulas).

    Raises NotImplementedError for a layer type with parameters it has no formula for.
    """

    name = "flops"
    unit = "FLOPs"

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """FLOPs of one inference of a leaf layer on inputs of `input_shapes`."""
        if isinstance(module, (Conv, DwConv, Linear)):
            return float(self._weighted(module, input_shapes))
        if isinstance(module, BatchNormalization):
            return 2.0 * _size(input_shapes[0])
        if isinstance(module, (*_ELEMENTWISE, GlobalAvgPool)):
            return float(_size(input_shapes[0]))
        if isinstance(module, (MaxPool, AvgPool)):
            out = infer_output_shape(module, input_shapes)
            return float(_size(out) * math.prod(module._kernel))
        if isinstance(module, Merging):
            if module._mode == "concat":
                return 0.0
            return float(_size(input_shapes[0]) * (len(input_shapes) - 1))
        own = getattr(module, "flops", None)
        if callable(own):
            return float(own(input_shapes))
        return self.unsupported(module)

    def _weighted(self, module: Conv | DwConv | Linear, input_shapes: list[Shape]) -> int:
        out = _size(infer_output_shape(module, input_shapes))
        if isinstance(module, Conv):
            macs = module._in_channels // module._group * math.prod(module._kernel)
        elif isinstance(module, DwConv):
            macs = math.prod(module._kernel)
        else:
            macs = module._in_features
        bias = out if module._b is not None else 0
        return 2 * out * macs + bias
