"""ONNX export: the NNP of a network converted by nnabla-converter, then corrected, its nodes
named, its metadata set and, on request, its batch dimension made symbolic."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from ..module.module import Module
from ..utils.extras import MissingExtraError, onnx_export_problem
from ..utils.graph_names import UniqueNames
from ..utils.io import atomic_path
from .batch import make_batch_dynamic
from .metadata import file_metadata
from .nnp import Transform, check_path, check_shape, export_nnp
from .onnx_graph import DEFAULT_OPSET, ONNX_OPSETS
from .pools import fix_average_pools

__all__ = ["DEFAULT_OPSET", "ONNX_OPSETS", "export_onnx", "onnx_converter"]


def _import(name: str, what: str) -> Any:
    """An optional module of ONNX export, or an ImportError with the one command that
    installs what is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingExtraError(
            onnx_export_problem() or f"ONNX export needs {what}: {err}"
        ) from None


def onnx_converter() -> tuple[Any, Any, Any]:
    """The onnx package, nnabla-converter's NNP importer and ONNX exporter."""
    onnx = _import("onnx", "the onnx package")
    importer = _import("nnabla.utils.converter.nnabla", "nnabla-converter").NnpImporter
    exporter = _import("nnabla.utils.converter.onnx", "nnabla-converter").OnnxExporter
    return onnx, importer, exporter


def _check_supported(network: Any, converter: Any, opset: int) -> None:
    table = converter.nnabla_function_type_to_onnx_optype
    types = {f.type for f in network.function}
    missing = sorted(t for t in types if t not in table)
    if "Interpolate" in types and opset < 11:
        # The converter maps it before opset 11 only without pixel-centre sampling, which
        # `Mo.Resize` (an input resolution) uses.
        raise ValueError(
            f"ONNX export: a resize sampling pixel centres (Interpolate) needs opset 11 or "
            f"later, not {opset}; export at opset 11 (the default) or 13"
        )
    if missing:
        raise ValueError(
            f"ONNX export: nnabla-converter cannot convert the function(s) {missing} at "
            f"opset {opset}; try another opset or export NNP"
        )


def _name_nodes(converter: Any) -> None:
    """Makes the converter name each node after the NNP function it comes from.

    The converter turns one function into one or more nodes in ``set_nodes`` and names
    few of them (``Relu_0017``, numbered across the process). A function's single node
    takes the function's name (``_stem/0/Convolution_0``); several nodes take it with
    their op type (``_cells/1/_ops/0/AveragePooling_0/Pad``), unique in the graph.
    """
    convert = converter.set_nodes
    names = UniqueNames()

    def set_nodes(function: Any) -> list[Any]:
        nodes = convert(function)
        for node in nodes:  # named before the converter copies them into the graph
            base = function.name if len(nodes) == 1 else f"{function.name}/{node.op_type}"
            node.name = names.reserve(base)
        return nodes

    converter.set_nodes = set_nodes


def export_onnx(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    opset: int = DEFAULT_OPSET,
    name: str = "network",
    transform: Transform | None = None,
    metadata: Mapping[str, Any] | None = None,
    dynamic_batch: bool = False,
) -> str:
    """Saves the inference graph of `model` as an ONNX file, atomically.

    The graph is saved as NNP (see `export_nnp`), converted by nnabla-converter, corrected
    by `fix_average_pools` and checked with ``onnx.checker``. Its input is ``x``, its
    output ``y``; each node is named after the module that made it (its NNP function's
    name, ``_cells/0/_ops/2/_conv/Convolution_0``).

    Args:
        model: the network; a `Module` returning one variable in inference mode.
        input_shape: the input's shape, batch first.
        path: the file to write.
        opset: the ONNX opset, one of `ONNX_OPSETS`.
        name: the graph's name.
        transform: an input transform built into the graph (see `export_nnp`).
        metadata: facts to store in the model's ``metadata_props`` beside the export's own
            (versions, input name and shape); a non-str value is stored as JSON.
        dynamic_batch: make the first dimension of ``x`` and ``y`` the symbol ``batch``
            (see `make_batch_dynamic`); otherwise it is ``input_shape[0]``.

    Returns:
        `path`.

    Raises:
        ImportError: onnx or nnabla-converter is not installed; says what to install.
        ValueError: a bad opset, path or metadata, a function the converter does not
            support, or (with `dynamic_batch`) a node that fixes the batch size.

    Example:
        >>> export_onnx(net, (1, 3, 32, 32), "m.onnx", dynamic_batch=True,
        ...             metadata={"classes": 10})
        'm.onnx'
    """
    if opset not in ONNX_OPSETS:
        raise ValueError(f"ONNX opset {opset!r} is not supported; use one of {ONNX_OPSETS}")
    if not isinstance(dynamic_batch, bool):
        raise ValueError(f"dynamic_batch must be True or False, got {dynamic_batch!r}")
    check_path(path)
    onnx, importer, exporter = onnx_converter()
    shape = check_shape(input_shape)
    props = file_metadata(shape, dynamic_batch=dynamic_batch, extra=metadata)
    with tempfile.TemporaryDirectory() as folder:
        nnp_path = os.path.join(folder, "network.nnp")
        export_nnp(model, shape, nnp_path, name=name, transform=transform)
        with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its steps
            nnp = importer(nnp_path, expand_network=True, executor_index=0).execute()
            converter = exporter(nnp, shape[0], -1, opset=str(opset))
            _check_supported(nnp.protobuf.network[0], converter, opset)
            _name_nodes(converter)
            proto = converter.export_model_proto()
    fix_average_pools(proto, nnp.protobuf.network[0])
    if dynamic_batch:
        make_batch_dynamic(proto, shape[0])
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(proto.SerializeToString())
    return path
