"""Export of a network for deployment: nnabla's NNP format and ONNX.

`export_nnp` saves the inference graph of a `Module` (BN with its running statistics, no
dropout or drop path) with its parameters as an ``.nnp`` file that
``nnabla.utils.nnp_graph.NnpLoader`` reads; `export_onnx` converts that NNP with
nnabla-converter and corrects the padded average poolings it gets wrong (see
`fix_average_pools`). A network in, a file out: rebuilding the network of a run folder is
the application's (`nnabla_nas.app.export_run`).

The graph takes one input named ``x`` of a fixed shape (batch included) and returns one
output named ``y``. ONNX export needs the ``export`` extra and nnabla-converter, which is
installed without its dependencies (they are TensorFlow's, which the ONNX path never
imports)::

    pip install 'nnabla-nas[export]'
    pip install --no-deps nnabla-converter==1.39.0

Example:
    >>> from nnabla_nas.contrib.darts.genotype import DARTS_V2
    >>> from nnabla_nas.contrib.darts.network import TrainNet
    >>> net = TrainNet(1, 4, 3, 10, DARTS_V2)
    >>> export_onnx(net, (1, 1, 8, 8), "model.onnx")
    'model.onnx'
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np
from nnabla.utils.save import save

from .module.graph import graph_leaves, used_parameters
from .module.module import Module
from .utils.io import atomic_path

__all__ = [
    "DEFAULT_OPSET",
    "FORMATS",
    "INPUT_NAME",
    "ONNX_OPSETS",
    "OUTPUT_NAME",
    "export",
    "export_nnp",
    "export_onnx",
    "fix_average_pools",
    "infer_format",
    "onnx_converter",
]

FORMATS = ("nnp", "onnx")
INPUT_NAME = "x"
OUTPUT_NAME = "y"
# The opsets nnabla-converter writes; 6 is left out because its AveragePool cannot
# exclude the padding from the average.
ONNX_OPSETS = (7, 9, 10, 11, 13)
DEFAULT_OPSET = 11
INSTALL_HINT = (
    "pip install 'nnabla-nas[export]' and then pip install --no-deps nnabla-converter==1.39.0"
)
Transform = Callable[..., Any]


# -- NNP ----------------------------------------------------------------------
def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
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
    x = nn.Variable(_check_shape(input_shape))
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


def export_nnp(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    name: str = "network",
    transform: Transform | None = None,
) -> str:
    """Saves the inference graph of `model` and its parameters as an NNP file, atomically.

    The network `name` has the input ``x`` of `input_shape` and the output ``y``; the
    executor ``runtime`` runs it. BN uses its running statistics; dropout and drop path
    are left out. The model's training mode is unchanged afterwards.

    Args:
        model: the network; a `Module` returning one variable in inference mode.
        input_shape: the input's shape, batch first, e.g. ``(1, 3, 32, 32)``.
        path: the file to write, named ``*.nnp``.
        name: the network's name inside the file.
        transform: an input transform built into the graph, called as
            ``transform(x, training=False)`` (e.g. the run's normalisation).

    Returns:
        `path`.

    Example:
        >>> from nnabla.utils.nnp_graph import NnpLoader
        >>> path = export_nnp(net, (1, 3, 32, 32), "model.nnp")
        >>> graph = NnpLoader("model.nnp").get_network("network")
        >>> graph.inputs["x"].d = images
        >>> graph.outputs["y"].forward()
    """
    _check_path(path)
    if os.path.splitext(path)[1] != ".nnp":
        raise ValueError(
            f"an NNP file must be named *.nnp, got '{path}'; nnabla's loaders go by the extension"
        )
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
    with _scope(params), atomic_path(path) as tmp, open(tmp, "wb") as f:
        # A fixed batch size: some functions (e.g. slices) hold the batch size they were
        # built with, so another size at load time would not fit them.
        save(f, contents, variable_batch_size=False, extension=".nnp", parameters=params)
    return path


# -- ONNX -----------------------------------------------------------------------
def _import(name: str, what: str) -> Any:
    """An optional module of ONNX export, or an ImportError saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"ONNX export needs {what} ({err}); {INSTALL_HINT}") from None


def onnx_converter() -> tuple[Any, Any, Any]:
    """The onnx package, nnabla-converter's NNP importer and ONNX exporter."""
    onnx = _import("onnx", "the onnx package")
    importer = _import("nnabla.utils.converter.nnabla", "nnabla-converter").NnpImporter
    exporter = _import("nnabla.utils.converter.onnx", "nnabla-converter").OnnxExporter
    return onnx, importer, exporter


def _constant_pads(name: str, graph: Any, producers: dict[str, Any]) -> Any:
    """The tensor proto of a Pad node's pads: a Constant node's value or an initializer."""
    node = producers.get(name)
    if node is not None and node.op_type == "Constant":
        return next(a.t for a in node.attribute if a.name == "value")
    tensor = next((t for t in graph.initializer if t.name == name), None)
    if tensor is None:
        raise ValueError(f"ONNX export: the pads {name!r} of a Pad node are not a constant")
    return tensor


def _get_pads(pad: Any, graph: Any, producers: dict[str, Any]) -> list[int]:
    """The ``[begin..., end...]`` pads of a Pad node (an attribute before opset 11)."""
    from onnx import numpy_helper

    for attribute in pad.attribute:
        if attribute.name == "pads":
            return list(attribute.ints)
    tensor = _constant_pads(pad.input[1], graph, producers)
    return [int(v) for v in numpy_helper.to_array(tensor).reshape(-1)]


def _set_pads(pad: Any, pads: list[int], graph: Any, producers: dict[str, Any]) -> None:
    from onnx import numpy_helper

    if any(a.name == "pads" for a in pad.attribute):
        _set_attribute(pad, "pads", pads)
        return
    tensor = _constant_pads(pad.input[1], graph, producers)
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(pads, dtype=np.int64), tensor.name))


def _set_attribute(node: Any, name: str, value: Any) -> None:
    import onnx

    for attribute in list(node.attribute):
        if attribute.name == name:
            node.attribute.remove(attribute)
    node.attribute.append(onnx.helper.make_attribute(name, value))


def _remove_unused(graph: Any, node: Any) -> None:
    """Removes `node`, then the Constant nodes that fed only it."""
    graph.node.remove(node)
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    for other in list(graph.node):
        feeds = other.output[0] in node.input and other.output[0] not in used
        if other.op_type == "Constant" and feeds:
            graph.node.remove(other)


def fix_average_pools(model: Any, network: Any) -> int:
    """Corrects the ONNX form of nnabla's padded average poolings, in place.

    nnabla-converter 1.39.0 writes a padded ``F.average_pooling`` as a ``Pad`` node
    followed by an unpadded ``AveragePool``, so every padded position is counted in the
    average. That is right only where nnabla counts it too:

    - ``including_pad=False`` (DARTS' ``avg_pool_3x3``) averages each window over the input
      positions it covers only; the converter pads with ``mode='edge'``, replicating the
      border rows and columns into the padding, so every output whose window reaches the
      padding is wrong (the interior is right).
    - ``ignore_border=False`` with ``including_pad=True`` counts the padding of `pad` but
      not the extra end padding that completes the last window; the converter counts
      that too.

    Each such pair is rewritten so that the ``Pad`` node adds (zeros) only what nnabla
    counts, and the rest becomes the ``pads`` of the ``AveragePool`` with
    ``count_include_pad=0``, which leaves it out of the average; a ``Pad`` node left with
    nothing to add is removed.

    Args:
        model: the converted ``onnx.ModelProto``.
        network: the NNP network (protobuf) it was converted from, which holds the
            poolings' parameters.

    Returns:
        The number of poolings rewritten.
    """
    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    fixed = 0
    for function in network.function:
        if function.type != "AveragePooling":
            continue
        param = function.average_pooling_param
        output = function.output[0]
        pool = producers.get(output)
        if pool is not None and pool.op_type == "Reshape":  # pooling of the last dims only
            pool = producers.get(pool.input[0])
        if pool is None or pool.op_type != "AveragePool":
            raise ValueError(f"ONNX export: no AveragePool node computes {output!r}")
        pad = producers.get(pool.input[0])
        if pad is None or pad.op_type != "Pad":
            continue  # no padding: nothing is miscounted
        pads = _get_pads(pad, graph, producers)
        rank, spatial = len(pads) // 2, len(param.kernel.dim)
        if any(pads[: rank - spatial]) or any(pads[rank : 2 * rank - spatial]):
            raise ValueError(f"ONNX export: the padding before {output!r} pads non-pooled axes")
        begin, end = pads[rank - spatial : rank], pads[2 * rank - spatial :]
        # What nnabla counts in the average, on each side of each pooled axis.
        counted = list(param.pad.dim) if param.including_pad else [0] * spatial
        keep_begin = [min(b, c) for b, c in zip(begin, counted, strict=True)]
        keep_end = [min(e, c) for e, c in zip(end, counted, strict=True)]
        excluded = [p - k for p, k in zip(begin + end, keep_begin + keep_end, strict=True)]
        if not any(excluded):
            continue
        if any(keep_begin + keep_end):
            zeros = [0] * (rank - spatial)
            _set_pads(pad, zeros + keep_begin + zeros + keep_end, graph, producers)
            _set_attribute(pad, "mode", "constant")
        else:
            pool.input[0] = pad.input[0]
            _remove_unused(graph, pad)
        _set_attribute(pool, "pads", excluded)
        _set_attribute(pool, "count_include_pad", 0)
        fixed += 1
    return fixed


def export_onnx(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    opset: int = DEFAULT_OPSET,
    name: str = "network",
    transform: Transform | None = None,
) -> str:
    """Saves the inference graph of `model` as an ONNX file, atomically.

    The graph is saved as NNP (see `export_nnp`), converted by nnabla-converter, corrected
    by `fix_average_pools` and checked with ``onnx.checker``. Its input ``x``
    has exactly `input_shape` (the batch size is fixed) and its output is ``y``.

    Args:
        model: the network; a `Module` returning one variable in inference mode.
        input_shape: the input's shape, batch first.
        path: the file to write.
        opset: the ONNX opset, one of `ONNX_OPSETS`.
        name: the graph's name.
        transform: an input transform built into the graph (see `export_nnp`).

    Returns:
        `path`.

    Raises:
        ImportError: onnx or nnabla-converter is not installed; says what to install.
        ValueError: a bad opset or path, or a function the converter does not support.
    """
    if opset not in ONNX_OPSETS:
        raise ValueError(f"ONNX opset {opset!r} is not supported; use one of {ONNX_OPSETS}")
    _check_path(path)
    onnx, importer, exporter = onnx_converter()
    shape = _check_shape(input_shape)
    with tempfile.TemporaryDirectory() as folder:
        nnp_path = os.path.join(folder, "network.nnp")
        export_nnp(model, shape, nnp_path, name=name, transform=transform)
        with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its steps
            nnp = importer(nnp_path, expand_network=True, executor_index=0).execute()
            converter = exporter(nnp, shape[0], -1, opset=str(opset))
            _check_supported(nnp.protobuf.network[0], converter, opset)
            proto = converter.export_model_proto()
    fix_average_pools(proto, nnp.protobuf.network[0])
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(proto.SerializeToString())
    return path


def _check_supported(network: Any, converter: Any, opset: int) -> None:
    table = converter.nnabla_function_type_to_onnx_optype
    missing = sorted({f.type for f in network.function if f.type not in table})
    if missing:
        raise ValueError(
            f"ONNX export: nnabla-converter cannot convert the function(s) {missing} at "
            f"opset {opset}; try another opset or export NNP"
        )


# -- dispatch -----------------------------------------------------------------------
def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path:
        raise ValueError(f"output path must be a file name, got {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"output path '{path}' is a directory; give a file such as {path}/model")


def infer_format(path: str, format: str | None = None) -> str:
    """Returns `format`, checked, or the one named by the extension of `path`.

    An NNP file must end in ``.nnp``; an ONNX file may have any name but ``.nnp``.
    """
    if format is None:
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in FORMATS:
            raise ValueError(
                f"cannot tell the export format from '{path}'; name the file *.nnp or "
                f"*.onnx, or give the format ({', '.join(FORMATS)})"
            )
        return ext
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; use one of: {', '.join(FORMATS)}")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in FORMATS and ext != format:
        raise ValueError(
            f"'{path}' is named as a .{ext} file but the format is {format}; name it *.{format}"
        )
    return format


def export(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    format: str | None = None,
    opset: int = DEFAULT_OPSET,
    transform: Transform | None = None,
) -> str:
    """Exports `model` as ``'nnp'`` or ``'onnx'`` (by default, by the extension of `path`)."""
    if infer_format(path, format) == "nnp":
        return export_nnp(model, input_shape, path, transform=transform)
    return export_onnx(model, input_shape, path, opset=opset, transform=transform)
