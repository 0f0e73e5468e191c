"""The network graph in TensorBoard: an nnabla computation graph as a TensorFlow `GraphDef`.

tensorboardX draws graphs from a ``GraphDef`` protocol buffer (its own ``add_graph``
traces PyTorch models). `nnabla_graph_def` walks an nnabla graph back from its output
and names every node by module path, so that TensorBoard folds each module into one box:

- a parameter is the node ``<path>`` (e.g. ``cells/0/_ops/1/_W``), op ``Parameter``;
- a function is ``<scope>/<FunctionType>_<n>`` as `nnabla_nas.utils.graph_names` names it
  (its scope: the module path of its parameters, or of its data inputs' producers), the
  same name as its node in an ONNX export;
- any other leaf variable is an ``input`` node (``input``, ``input_1``, ...).

Every node carries the shapes of its outputs (``_output_shapes``); functions also carry
their arguments as string attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import nnabla as nn
from tensorboardX.proto.attr_value_pb2 import AttrValue
from tensorboardX.proto.graph_pb2 import GraphDef
from tensorboardX.proto.node_def_pb2 import NodeDef
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.proto.versions_pb2 import VersionDef

from .graph_names import UniqueNames, name_functions


def _shapes(shapes: Sequence[Sequence[int]]) -> AttrValue:
    protos = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in s]) for s in shapes]
    return AttrValue(list=AttrValue.ListValue(shape=protos))


def _format_arg(value: Any) -> str:
    """An argument as text; floats with float32 precision (``0.9``, not ``0.8999999761``)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.7g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format_arg(v) for v in value) + ")"
    return str(value)


def nnabla_graph_def(
    output: nn.Variable, *, name_of: Mapping[str, nn.Variable] | None = None
) -> GraphDef:
    """Returns the graph that computes `output` as a ``GraphDef``.

    Args:
        output: the variable the graph ends in, e.g. a model's logits.
        name_of: the graph's parameters by name, typically ``model.get_parameters()``;
            by default nnabla's global parameter scope (``nn.get_parameters()``).

    Returns:
        A ``tensorboardX.proto.graph_pb2.GraphDef`` with one node per parameter, other
        leaf variable and function, in forward order.
    """
    if name_of is None:
        name_of = nn.get_parameters(grad_only=False)
    # nnabla variables compare and hash by the graph node they wrap, not the Python object.
    param_names: dict[nn.Variable, str] = {}
    for name, variable in name_of.items():
        param_names.setdefault(variable, name)

    namer = UniqueNames()
    named = name_functions(output, param_names, namer)
    function_names = {f.function: f.name for f in named}
    nodes: list[NodeDef] = []
    leaf_names: dict[nn.Variable, str] = {}
    inputs: list[nn.Variable] = []

    def leaf(variable: nn.Variable) -> str:
        if variable in leaf_names:
            return leaf_names[variable]
        if variable in param_names:
            name, op = namer.reserve(param_names[variable]), "Parameter"
        else:
            name = namer.numbered("input") if inputs else namer.reserve("input")
            op = "input"
            inputs.append(variable)
        leaf_names[variable] = name
        nodes.append(NodeDef(name=name, op=op, attr={"_output_shapes": _shapes([variable.shape])}))
        return name

    def reference(variable: nn.Variable) -> str:
        producer = variable.parent
        if producer is None:
            return leaf(variable)
        index = next(i for i, v in enumerate(producer.outputs) if v == variable)
        name = function_names[producer]
        return name if index == 0 else f"{name}:{index}"

    if output.parent is None:
        leaf(output)
    for named_function in named:
        function = named_function.function
        edges = [reference(v) for v in function.inputs]
        attr = {k: AttrValue(s=_format_arg(v).encode()) for k, v in function.info.args.items()}
        attr["_output_shapes"] = _shapes([v.shape for v in function.outputs])
        nodes.append(
            NodeDef(name=named_function.name, op=named_function.kind, input=edges, attr=attr)
        )
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


def add_nnabla_graph(
    writer: Any, output: nn.Variable, *, name_of: Mapping[str, nn.Variable] | None = None
) -> GraphDef:
    """Writes the graph that computes `output` to a ``tensorboardX.SummaryWriter``.

    It appears in TensorBoard's Graphs tab. See `nnabla_graph_def` for the arguments.

    Example::

        writer = SummaryWriter(log_dir)
        logits = model(nn.Variable((1, 3, 32, 32)))
        add_nnabla_graph(writer, logits, name_of=model.get_parameters())
    """
    graph = nnabla_graph_def(output, name_of=name_of)
    # The file writer's call for a ready-made GraphDef (the ONNX and OpenVINO paths use it).
    writer._get_file_writer().add_onnx_graph(graph)
    writer.flush()
    return graph
