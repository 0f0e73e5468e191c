"""The inference graph of a `Module` as an NNP file, its functions named after the modules."""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
from nnabla.utils.get_file_handle import FileHandlerContext, get_default_file_savers, save_files
from nnabla.utils.save import create_proto

from ..module.graph import graph_leaves, used_parameters
from ..module.module import Module
from ..utils.graph_names import NamedFunction, UniqueNames, name_functions
from ..utils.io import atomic_path
from .metadata import INPUT_NAME, OUTPUT_NAME, file_metadata, write_nnp_metadata

__all__ = ["Transform", "check_path", "check_shape", "export_nnp"]

Transform = Callable[..., Any]


def check_path(path: str) -> None:
    if not isinstance(path, str) or not path:
        raise ValueError(f"output path must be a file name, got {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"output path '{path}' is a directory; give a file such as {path}/model")


def check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise ValueError(f"input_shape must be a (batch, ...) tuple of ints, got {input_shape!r}")
    if min(shape) < 1:
        raise ValueError(f"input_shape must be positive, got {input_shape!r}")
    return shape


def _inference_graph(
    model: Module, input_shape: Sequence[int], transform: Transform | None
) -> tuple[nn.Variable, nn.Variable]:
    """Builds the model's inference graph on a new input; every module's mode is restored."""
    x = nn.Variable(check_shape(input_shape))
    with model.modes(training=False):
        y = model(transform(x, training=False) if transform else x)
    if not isinstance(y, nn.Variable):
        raise ValueError(
            f"{type(model).__name__} returns {type(y).__name__} in inference mode; "
            "only a network with a single output can be exported"
        )
    if y.data == x.data:  # the identity: the output needs a variable of its own
        y = F.identity(x)
    return x, y


def _graph_parameters(
    model: Module, x: nn.Variable, y: nn.Variable
) -> OrderedDict[str, nn.Variable]:
    """The model's parameters that the graph reads, by path, then every other constant it
    reads (e.g. the mean and std of an input normalisation) as ``constant_<i>``."""
    params: OrderedDict[str, nn.Variable] = OrderedDict(used_parameters(model, y))
    known = {p.data for p in params.values()} | {x.data}
    others = [v for v in graph_leaves(y) if v.data not in known]
    for i, v in enumerate(others):
        params[f"constant_{i}"] = v
    return params


@contextlib.contextmanager
def _scope(params: OrderedDict[str, nn.Variable]) -> Iterator[None]:
    """Makes `params` nnabla's current parameter scope, leaving the global one untouched."""
    scope: OrderedDict[str, Any] = OrderedDict()
    with nn.parameter_scope("", scope):
        for key, value in params.items():
            nn.parameter.set_parameter(key, value)
        yield


def _named_proto(contents: dict[str, Any], params: OrderedDict[str, nn.Variable]) -> Any:
    """nnabla's NNP protobuf of `contents`, each function named after its module.

    nnabla names the functions by type only (``@network/Convolution_3``); the ONNX export
    names its nodes after these names, so they are set here, where the module paths of
    the parameters are known (`nnabla_nas.utils.graph_names`, as TensorBoard's graph).
    """
    (network,) = contents["networks"]
    y = network["outputs"][OUTPUT_NAME]
    taken = UniqueNames([*params, INPUT_NAME, OUTPUT_NAME])
    named: list[NamedFunction] = name_functions(y, {v: k for k, v in params.items()}, taken)
    with _scope(params):
        # A fixed batch size: some functions (e.g. slices) hold the batch size they were
        # built with, so another size at load time would not fit them.
        proto = create_proto(contents, include_params=False, variable_batch_size=False)
    functions = proto.network[0].function
    # Both lists come from the same walk of the graph (``y.visit``), in the same order.
    if [f.type for f in functions] != [n.kind for n in named]:
        raise RuntimeError("NNP export: nnabla lists the graph's functions in another order")
    for function, named_function in zip(functions, named, strict=True):
        function.name = named_function.name
    return proto


def export_nnp(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    name: str = "network",
    transform: Transform | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Saves the inference graph of `model` and its parameters as an NNP file, atomically.

    The network `name` has the input ``x`` of `input_shape` and the output ``y``; the
    executor ``runtime`` runs it. BN uses its running statistics; dropout and drop path
    are left out. The model's training mode is unchanged afterwards. Each function is
    named after its module (``_cells/0/_ops/2/_conv/Convolution_0``).

    Args:
        model: the network; a `Module` returning one variable in inference mode.
        input_shape: the input's shape, batch first, e.g. ``(1, 3, 32, 32)``.
        path: the file to write, named ``*.nnp``.
        name: the network's name inside the file.
        transform: an input transform built into the graph, called as
            ``transform(x, training=False)`` (e.g. the run's normalisation).
        metadata: facts to store with the network (see `file_metadata`); with the export's
            own, they are the ``metadata.json`` member of the file (`read_metadata`).

    Returns:
        `path`.

    Example:
        >>> from nnabla.utils.nnp_graph import NnpLoader
        >>> path = export_nnp(net, (1, 3, 32, 32), "model.nnp")
        >>> graph = NnpLoader("model.nnp").get_network("network")
        >>> graph.inputs["x"].d = images
        >>> graph.outputs["y"].forward()
    """
    check_path(path)
    if os.path.splitext(path)[1] != ".nnp":
        raise ValueError(
            f"an NNP file must be named *.nnp, got '{path}'; nnabla's loaders go by the extension"
        )
    props = file_metadata(check_shape(input_shape), extra=metadata)
    x, y = _inference_graph(model, input_shape, transform)
    params = _graph_parameters(model, x, y)
    contents = {
        "networks": [
            {
                "name": name,
                "batch_size": x.shape[0],
                "outputs": {OUTPUT_NAME: y},
                "names": {INPUT_NAME: x},
            }
        ],
        "executors": [
            {"name": "runtime", "network": name, "data": [INPUT_NAME], "output": [OUTPUT_NAME]}
        ],
    }
    context = FileHandlerContext()
    context.proto = _named_proto(contents, params)
    context.parameters = params
    with atomic_path(path) as tmp:
        # What nnabla's `save` does after building the protobuf.
        save_files(context, get_default_file_savers(parameter_format=".h5"), tmp, ".nnp")
        write_nnp_metadata(tmp, props)
    return path
