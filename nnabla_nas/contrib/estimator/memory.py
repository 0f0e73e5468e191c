"""`MemoryEstimator`: parameter and peak activation memory of one inference.

Memory model: every value is float32 (4 bytes). Parameters stay resident. An activation
(the graph input or a function's output) lives from the function producing it to the last
function reading it (the network output to the end); functions run one at a time in
forward (topological) order, and the peak is the largest total of live activations at any
step (the current function's inputs and outputs plus everything read later). Each variable
is taken to own its buffer, so buffers nnabla shares (in-place reshapes) make this an
upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import nnabla as nn

from ...module import Module
from .base import Estimator, Shape, build, recorded_shapes

__all__ = ["BYTES_PER_ELEMENT", "MemoryEstimator", "graph_peak_bytes"]

BYTES_PER_ELEMENT = 4
"""float32."""


def _bytes(shape: Sequence[int]) -> int:
    return BYTES_PER_ELEMENT * math.prod(shape)


def graph_peak_bytes(output: nn.Variable, params: Sequence[nn.Variable] = ()) -> int:
    """Peak bytes of live activations while computing `output`, by liveness over its graph.

    Args:
        output: the output variable of a built graph.
        params: the parameters (resident memory, not activations); other variables without
            a parent function count as graph inputs.
    """
    functions: list[Any] = []
    output.visit(functions.append)
    excluded = {hash(p) for p in params}
    birth: dict[int, int] = {}
    death: dict[int, int] = {}
    size: dict[int, int] = {}
    for step, f in enumerate(functions):
        for v in f.inputs:
            key = hash(v)
            if key in excluded:
                continue
            size[key] = _bytes(v.shape)
            birth.setdefault(key, 0)
            death[key] = step
        for v in f.outputs:
            key = hash(v)
            size[key], birth[key], death[key] = _bytes(v.shape), step, step
    last = len(functions) - 1
    death[hash(output)] = last
    size.setdefault(hash(output), _bytes(output.shape))
    birth.setdefault(hash(output), 0)
    steps = range(max(last, 0) + 1)
    return max(sum(size[k] for k in size if birth[k] <= i <= death[k]) for i in steps)


class MemoryEstimator(Estimator):
    """Memory of one inference in bytes: resident parameters plus peak activations.

    `cost` is `peak_activation_bytes` plus `parameter_bytes`. `layer_cost` is a layer's
    output bytes, so `expected` (a sum of layer outputs weighted by the architecture
    probabilities) is a differentiable proxy for activation memory, not the peak.
    """

    name = "memory"
    unit = "bytes"

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """Bytes of the layer's inference output (0 for a layer that returns its input)."""
        with nn.auto_forward(False), module.modes(training=False):
            inputs = [nn.Variable(tuple(s)) for s in input_shapes]
            out = module.call(*inputs)
        if any(out is x for x in inputs):
            return 0.0
        return float(_bytes(out.shape))

    def parameter_bytes(self, model: Module, input_shape: Sequence[int] | None = None) -> float:
        """Bytes of all parameters (running statistics too) of the layers of the last build.

        For a fixed network this is 4 bytes per entry of ``get_parameters()``, architecture
        parameters aside; under a `MixedOp` in ``'full'`` mode it is the expectation.
        """
        self._prepare(model, input_shape)
        return float(
            sum(
                weight * sum(_bytes(p.shape) for _, p in layer.named_local_parameters())
                for _, layer, weight in self.active_layers(model)
            )
        )

    def peak_activation_bytes(self, model: Module, input_shape: Sequence[int]) -> int:
        """Peak live activation bytes of one inference on an input of `input_shape`.

        Builds the inference graph (modes restored after); a `MixedOp` in ``'sample'``
        mode draws anew, so use ``'max'`` mode, or `graph_peak_bytes` on a built graph.
        """
        with model.modes(training=False):
            output = build(model, input_shape)
        return graph_peak_bytes(output, list(model.get_parameters().values()))

    def cost(self, model: Module, input_shape: Sequence[int] | None = None) -> float:
        """`peak_activation_bytes` plus `parameter_bytes`, on `input_shape` or the last input."""
        shapes = recorded_shapes(model) if input_shape is None else [tuple(input_shape)]
        if not shapes:
            raise RuntimeError(
                f"{type(model).__name__} has no recorded input shape; call model(x) once or "
                f"pass input_shape= to the estimator"
            )
        peak = self.peak_activation_bytes(model, shapes[0])
        return float(peak) + self.parameter_bytes(model)
