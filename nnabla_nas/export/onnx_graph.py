"""The opsets of the ONNX export; reading and editing the constants and attributes of the
nodes of a converted graph.

nnabla-converter writes a node's constant operands (pads, shapes, slice bounds) either as
attributes (older opsets) or as inputs fed by ``Constant`` nodes or initializers (newer
ones); these helpers read and rewrite both forms alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_OPSET",
    "ONNX_OPSETS",
    "constant_input",
    "get_attribute",
    "ints",
    "producers",
    "set_attribute",
    "set_constant_input",
    "set_ints",
]

# The opsets nnabla-converter writes; 6 is left out because its AveragePool cannot
# exclude the padding from the average.
ONNX_OPSETS = (7, 9, 10, 11, 13)
DEFAULT_OPSET = 11


def producers(graph: Any) -> dict[str, Any]:
    """The node that computes each tensor, by tensor name."""
    return {out: node for node in graph.node for out in node.output}


def get_attribute(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def set_attribute(node: Any, name: str, value: Any) -> None:
    from onnx import helper

    for attribute in list(node.attribute):
        if attribute.name == name:
            node.attribute.remove(attribute)
    node.attribute.append(helper.make_attribute(name, value))


def _tensor(name: str, graph: Any, producers: dict[str, Any]) -> Any:
    """The tensor proto of a constant: a Constant node's value or an initializer."""
    node = producers.get(name)
    if node is not None and node.op_type == "Constant":
        return next(a.t for a in node.attribute if a.name == "value")
    return next((t for t in graph.initializer if t.name == name), None)


def constant_input(node: Any, index: int, graph: Any, producers: dict[str, Any]) -> Any:
    """The value of the `index`-th input of `node` if it is a constant, else None."""
    from onnx import numpy_helper

    if index >= len(node.input) or not node.input[index]:
        return None
    tensor = _tensor(node.input[index], graph, producers)
    return None if tensor is None else numpy_helper.to_array(tensor)


def set_constant_input(
    node: Any, index: int, value: np.ndarray, graph: Any, producers: dict[str, Any]
) -> None:
    """Rewrites the constant `index`-th input of `node` in place; it must feed `node` only,
    so that no other node sees the change."""
    from onnx import numpy_helper

    name = node.input[index]
    tensor = _tensor(name, graph, producers)
    readers = [n for n in graph.node if name in n.input]
    if tensor is None or readers != [node]:
        raise ValueError(
            f"ONNX export: input {name!r} of node {node.name!r} is not its own constant"
        )
    dtype = numpy_helper.to_array(tensor).dtype
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(value, dtype=dtype), tensor.name))


def ints(
    node: Any, name: str, index: int, graph: Any, producers: dict[str, Any]
) -> list[int] | None:
    """An int list operand: the attribute `name`, or else the constant input `index`."""
    value = get_attribute(node, name)
    if value is None:
        value = constant_input(node, index, graph, producers)
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def set_ints(
    node: Any, name: str, index: int, values: list[int], graph: Any, producers: dict[str, Any]
) -> None:
    """Rewrites the int list operand that `ints` reads, in the form it has."""
    if get_attribute(node, name) is not None:
        set_attribute(node, name, values)
    else:
        set_constant_input(node, index, np.asarray(values, dtype=np.int64), graph, producers)
