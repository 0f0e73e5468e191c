"""A symbolic batch dimension for a converted ONNX graph.

nnabla-converter writes every shape with the batch size the NNP was built with, also in
the constants of some nodes: the target shape of a ``Reshape`` (the classifier's flatten,
``[N, C]``) and the bounds of a ``Slice`` (FactorizedReduce's shift, ``ends = [N, ...]``).
`make_batch_dynamic` follows the tensors that carry the batch from the input ``x`` node by
node: such constants are rewritten (a Reshape copies the batch with ``0``, a Slice runs to
the end of it), an op that works along the batch axis (or is not known not to) is refused,
and the input's and output's first dimension become the symbol ``batch``. ONNX shape
inference then checks that no node fixes the output's batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metadata import BATCH, INPUT_NAME, OUTPUT_NAME
from .onnx_graph import ONNX_OPSETS, constant_input, get_attribute, ints, producers, set_ints

__all__ = ["make_batch_dynamic"]

# The batch-carrying input must be the first (the data); the others are parameters.
_PER_SAMPLE = {
    "Abs", "AveragePool", "BatchNormalization", "Cast", "Clip", "Conv", "ConvTranspose",
    "Dropout", "Elu", "Erf", "Exp", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
    "HardSwish", "Identity", "InstanceNormalization", "LRN", "LeakyRelu", "Log", "MaxPool",
    "Neg", "Reciprocal", "Relu", "Selu", "Sigmoid", "Softplus", "Softsign", "Sqrt", "Tanh",
}  # fmt: skip
# Any input may carry the batch; the others must broadcast over it.
_ELEMENTWISE = {"Add", "Div", "Max", "Mean", "Min", "Mul", "PRelu", "Pow", "Sub", "Sum", "Where"}
_BROADCAST_FROM_8 = {"Max", "Mean", "Min", "Sum"}  # opset 7 wants operands of one shape
# The default axis of the ops with one (Concat has none); Softmax's moves from 1 to -1 in
# opset 13.
_AXIS_OPS = {"Concat": 0, "Split": 0, "Flatten": 1, "Softmax": 1, "LogSoftmax": 1}
_REDUCE = {
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare",
}  # fmt: skip
_END = int(np.iinfo(np.int64).max)  # a Slice end past any size: "to the end"


class _Refused(ValueError):
    """Why a node cannot take another batch size, and what to do instead."""

    def __init__(self, reason: str, fix: str = "export with a fixed batch size") -> None:
        super().__init__(f"{reason}; {fix}")


@dataclass
class _Graph:
    """A graph being made dynamic, with what its checks look up."""

    graph: Any
    opset: int
    batch: int
    shapes: dict[str, list[int]]  # of the fixed-batch graph
    made_by: dict[str, Any] = field(init=False)
    carrying: set[str] = field(default_factory=lambda: {INPUT_NAME})

    def __post_init__(self) -> None:
        self.made_by = producers(self.graph)

    def ints(self, node: Any, name: str, index: int) -> list[int] | None:
        return ints(node, name, index, self.graph, self.made_by)

    def set_ints(self, node: Any, name: str, index: int, values: list[int]) -> None:
        set_ints(node, name, index, values, self.graph, self.made_by)

    def shape(self, tensor: str) -> list[int]:
        if tensor not in self.shapes:
            raise _Refused(f"ONNX shape inference cannot tell the shape of {tensor!r}")
        return self.shapes[tensor]

    def rank(self, tensor: str) -> int:
        return len(self.shape(tensor))


def _shapes(model: Any) -> dict[str, list[int]]:
    """Every tensor's shape in the fixed-batch graph, by ONNX shape inference."""
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model).graph
    values = [*inferred.input, *inferred.value_info, *inferred.output]
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}
    shapes.update({t.name: list(t.dims) for t in inferred.initializer})
    return shapes


def _axes(values: list[int] | None, rank: int) -> list[int] | None:
    return None if values is None else [v + rank if v < 0 else v for v in values]


def _reshape(node: Any, g: _Graph) -> None:
    shape = constant_input(node, 1, g.graph, g.made_by)
    if shape is None or not shape.size:
        raise _Refused("its target shape is computed, not a constant")
    target = [int(v) for v in shape.reshape(-1)]
    if target[0] != g.batch or g.shape(node.input[0])[0] != g.batch:
        raise _Refused(f"it reshapes across the batch axis (to {target})")
    g.set_ints(node, "shape", 1, [0, *target[1:]])  # 0: the input's size on that axis


def _slice(node: Any, g: _Graph) -> None:
    starts, ends = g.ints(node, "starts", 1), g.ints(node, "ends", 2)
    if starts is None or ends is None:
        raise _Refused("its bounds are computed, not constants")
    axes = _axes(g.ints(node, "axes", 3), g.rank(node.input[0])) or list(range(len(starts)))
    steps = g.ints(node, "steps", 4) or [1] * len(starts)
    for i, axis in enumerate(axes):
        if axis != 0:
            continue
        if starts[i] != 0 or ends[i] < g.batch or steps[i] != 1:
            raise _Refused("it slices the batch axis")
        ends[i] = _END
        g.set_ints(node, "ends", 2, ends)


def _keeps_batch_axis(node: Any, g: _Graph) -> bool:
    """Whether an op with an axis-like operand leaves the batch axis alone."""
    op, rank = node.op_type, g.rank(node.input[0])
    if op in _AXIS_OPS:
        default = -1 if op.endswith("Softmax") and g.opset >= 13 else _AXIS_OPS[op]
        return _axes([get_attribute(node, "axis", default)], rank) != [0]
    if op == "Transpose":
        perm = get_attribute(node, "perm")
        return perm is not None and perm[0] == 0
    if op == "Pad":
        pads = g.ints(node, "pads", 1)
        return pads is not None and pads[0] == pads[rank] == 0
    if op in ("Squeeze", "Unsqueeze") or op in _REDUCE:
        out_rank = g.rank(node.output[0]) if op == "Unsqueeze" else rank
        axes = _axes(g.ints(node, "axes", 1), out_rank)
        return axes is not None and 0 not in axes  # no axes: every axis, the batch too
    raise _Refused("it is not known to keep the batch axis")


def _check_broadcast(node: Any, g: _Graph) -> None:
    """Checks that the operands which do not carry the batch broadcast over it."""
    others = [name for name in node.input if name and name not in g.carrying]
    if others and g.opset < 8 and node.op_type in _BROADCAST_FROM_8:
        raise _Refused(
            f"{node.op_type} broadcasts a constant over the batch from opset 8 on",
            fix=f"export at opset {min(o for o in ONNX_OPSETS if o >= 8)} or later",
        )
    rank = g.rank(node.output[0])
    shapes = [g.shapes.get(name) for name in others]
    if not all(s is not None and (len(s) < rank or s[0] == 1) for s in shapes):
        raise _Refused("a constant operand has the batch size of the export")


def _adapt(node: Any, g: _Graph) -> None:
    """Checks (and, for a Reshape or a Slice, rewrites) a node that reads the batch."""
    op = node.op_type
    if op in _ELEMENTWISE:
        _check_broadcast(node, g)
        return
    batched = [i for i, name in enumerate(node.input) if name in g.carrying]
    data = list(range(len(node.input))) if op == "Concat" else [0]  # Concat: all are data
    if batched != data:
        raise _Refused("the batch reaches an operand other than its data, or not all of them")
    if op == "Reshape":
        _reshape(node, g)
    elif op == "Slice":
        _slice(node, g)
    elif op == "Gemm":
        if get_attribute(node, "transA", 0):
            raise _Refused("it transposes the batch axis")
    elif op not in _PER_SAMPLE and not _keeps_batch_axis(node, g):
        raise _Refused("it works along the batch axis")


def make_batch_dynamic(model: Any, batch: int) -> None:
    """Makes the first dimension of the graph's input and output the symbol ``batch``.

    Args:
        model: an ``onnx.ModelProto`` converted with the fixed batch size `batch`; changed
            in place.

    Raises:
        ValueError: a node holds the batch size in a way that no rewrite fixes, naming it.
    """
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    g = _Graph(model.graph, opset, batch, _shapes(model))
    for node in g.graph.node:  # in topological order, as ONNX requires
        if not any(name in g.carrying for name in node.input):
            continue
        try:
            _adapt(node, g)
        except _Refused as err:
            raise ValueError(
                f"ONNX export with a dynamic batch: node {node.name!r} ({node.op_type}) "
                f"cannot take another batch size: {err}"
            ) from None
        g.carrying.update(node.output)
    if OUTPUT_NAME not in g.carrying:
        raise ValueError("ONNX export with a dynamic batch: the output y does not depend on x")
    for value in (*g.graph.input, *g.graph.output):
        if value.name in (INPUT_NAME, OUTPUT_NAME):
            dim = value.type.tensor_type.shape.dim[0]
            dim.ClearField("dim_value")
            dim.dim_param = BATCH
    _check_output(model)


def _check_output(model: Any) -> None:
    """Refuses a graph in which shape inference still finds a fixed batch size for ``y``."""
    from onnx import shape_inference

    cleared = type(model)()
    cleared.CopyFrom(model)
    for value in cleared.graph.output:  # inferred afresh, not taken from the declaration
        value.type.tensor_type.shape.dim[0].ClearField("dim_param")
    inferred = shape_inference.infer_shapes(cleared).graph.output
    first = next(v for v in inferred if v.name == OUTPUT_NAME).type.tensor_type.shape.dim[0]
    if first.HasField("dim_value"):
        raise ValueError(
            f"ONNX export with a dynamic batch: a node still fixes the output's batch size "
            f"to {first.dim_value}; export with a fixed batch size"
        )
