"""What a deployer reads in an exported file, read back from disk: nodes named after their
modules, the metadata, and a batch dimension that takes any size. Numbers are nnabla's."""

import json
import zipfile

import nnabla as nn
import nnabla.functions as F
import numpy as np
import onnx
import pytest
from nnabla.utils.nnp_graph import NnpLoader
from test_export import GENOTYPE, MOBILENET, images, randomise, reference, run_nnp, run_onnx

import nnabla_nas
from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts.network import TrainNet as DartsNet
from nnabla_nas.contrib.mobilenet.network import TrainNet as MobileNet
from nnabla_nas.export import BATCH, export, export_nnp, export_onnx, read_metadata
from nnabla_nas.utils.tbgraph import nnabla_graph_def

ATOL, RTOL = 1e-4, 1e-5


@pytest.fixture(scope="module")
def darts():
    # Both cells' ops; the reduction cell's FactorizedReduce holds the batch in a Slice.
    return randomise(DartsNet(3, 4, 3, 10, GENOTYPE, auxiliary=True), np.random.default_rng(1))


@pytest.fixture(scope="module")
def mobilenet():
    return randomise(MobileNet(3, 10, MOBILENET, dropout=0.2), np.random.default_rng(2))


def nnp_function_names(path):
    from google.protobuf import text_format
    from nnabla.utils import nnabla_pb2

    with zipfile.ZipFile(path) as archive:
        proto = text_format.Parse(archive.read("network.nntxt"), nnabla_pb2.NNablaProtoBuf())
    return [f.name for f in proto.network[0].function]


def parameter_nodes(graph):
    """Each node that reads a parameter (an initializer named by its path), with it."""
    params = {t.name for t in graph.initializer if "/" in t.name}
    return [(n, i) for n in graph.node for i in n.input[1:] if i in params]


# -- names --------------------------------------------------------------------------------
DARTS_NAMES = [
    "_stem/0/Convolution_0", "_cells/1/_ops/3/0/_first/_dw/DepthwiseConvolution_0",
    "_cells/2/_ops/1/0/_conv1/Convolution_0", "_cells/2/_pre0/_conv2/Convolution_0",
    "_classifier/Affine_0/Gemm",
]  # fmt: skip
MOBILENET_NAMES = [
    "_stem/0/Convolution_0", "_stem/1/BatchNormalization_0", "_stem/1/ReLU6_0/Min",
    "_blocks/1/_expand/0/Convolution_0", "_blocks/3/_depthwise/0/DepthwiseConvolution_0",
    "_classifier/Affine_0/Gemm",
]  # fmt: skip


@pytest.mark.parametrize(
    ("net", "expected"), [("darts", DARTS_NAMES), ("mobilenet", MOBILENET_NAMES)]
)
def test_every_node_is_named_after_its_module(net, expected, request, tmp_path):
    model = request.getfixturevalue(net)
    graph = onnx.load(export_onnx(model, (1, 3, 8, 8), str(tmp_path / "m.onnx"))).graph
    names = [n.name for n in graph.node]
    assert "" not in names and len(set(names)) == len(names) > 40
    assert set(expected) <= set(names)
    # A node that reads a parameter is named under that parameter's module.
    reading = parameter_nodes(graph)
    assert len(reading) >= 20
    for node, param in reading:
        assert node.name.startswith(param.rpartition("/")[0] + "/"), (node.name, param)


def test_names_are_the_nnp_functions_and_tensorboards_and_stay_the_same(darts, tmp_path):
    nnp = export_nnp(darts, (1, 3, 8, 8), str(tmp_path / "m.nnp"))
    functions = nnp_function_names(nnp)
    with darts.modes(training=False):
        y = darts(nn.Variable((1, 3, 8, 8)))
    board = {n.name for n in nnabla_graph_def(y, name_of=darts.get_parameters()).node}
    assert set(functions) <= board and len(set(functions)) == len(functions)
    first = onnx.load(export_onnx(darts, (1, 3, 8, 8), str(tmp_path / "a.onnx"))).graph.node
    # Each node is its function's, alone or with its op type.
    assert all(n.name in functions or n.name.rpartition("/")[0] in functions for n in first)
    again = onnx.load(export_onnx(darts, (1, 3, 8, 8), str(tmp_path / "b.onnx"))).graph.node
    assert [n.name for n in again] == [n.name for n in first]  # not numbered per process


# -- metadata -----------------------------------------------------------------------------
def test_metadata_is_read_back_from_onnx_and_nnp(mobilenet, tmp_path):
    arch = {"blocks": MOBILENET["blocks"]}
    given = {"architecture": json.dumps(arch), "space": "mobilenet", "input_mean": [0.5, 0.4]}
    path = export_onnx(mobilenet, (2, 3, 8, 8), str(tmp_path / "m.onnx"), metadata=given)
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(props["architecture"]) == arch and props["space"] == "mobilenet"
    assert json.loads(props["input_mean"]) == [0.5, 0.4]
    assert props["nnabla_nas_version"] == nnabla_nas.__version__
    assert props["nnabla_version"] == nn.__version__
    assert json.loads(props["input_shape"]) == [2, 3, 8, 8]
    assert (props["input_name"], props["output_name"]) == ("x", "y")
    assert read_metadata(path) == props
    nnp = export_nnp(mobilenet, (2, 3, 8, 8), str(tmp_path / "m.nnp"), metadata=given)
    with zipfile.ZipFile(nnp) as archive:
        assert json.loads(archive.read("metadata.json")) == props == read_metadata(nnp)
    x = images(np.random.default_rng(0), 2, 3, 8, 8)  # nnabla's loader skips the member
    np.testing.assert_allclose(run_nnp(nnp, x), reference(mobilenet, x), atol=ATOL, rtol=RTOL)
    assert NnpLoader(nnp).get_network_names() == ["network"]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"input_shape": "[1]"}, "'input_shape' is written by the export itself"),
        (
            {"weights": np.zeros(2)},
            r"metadata\['weights'\] = .* neither a str nor JSON data; pass a str",
        ),
        ({3: "three"}, "keys must be non-empty strings"),
        (["space"], "must be a mapping"),
    ],
)
def test_bad_metadata_is_a_clear_error(metadata, message, tmp_path):
    for fmt in ("nnp", "onnx"):
        with pytest.raises(ValueError, match=message):
            export(Mo.ReLU(), (1, 2), str(tmp_path / f"m.{fmt}"), metadata=metadata)
    assert list(tmp_path.iterdir()) == []


# -- dynamic batch ------------------------------------------------------------------------
@pytest.mark.parametrize(("net", "opset"), [("darts", 11), ("darts", 7), ("mobilenet", 13)])
def test_a_dynamic_batch_runs_any_batch_size_as_nnabla(net, opset, request, tmp_path):
    model = request.getfixturevalue(net)
    path = export_onnx(model, (1, 3, 8, 8), str(tmp_path / "m.onnx"), opset=opset,
                       dynamic_batch=True)  # fmt: skip
    graph = onnx.load(path).graph
    for value in (graph.input[0], graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_param == BATCH
    assert json.loads(read_metadata(path)["input_shape"]) == [BATCH, 3, 8, 8]
    for batch in (2, 5):
        x = images(np.random.default_rng(batch), batch, 3, 8, 8)
        expected = reference(model, x)
        assert np.ptp(expected) > 0.1
        np.testing.assert_allclose(run_onnx(path, x), expected, atol=ATOL, rtol=RTOL)


def test_the_batch_held_in_reshapes_and_slices_is_rewritten(darts, tmp_path):
    fixed = onnx.load(export_onnx(darts, (3, 3, 8, 8), str(tmp_path / "f.onnx"))).graph
    path = export_onnx(darts, (3, 3, 8, 8), str(tmp_path / "d.onnx"), dynamic_batch=True)
    dynamic = onnx.load(path).graph

    def first_values(graph, op, index):
        constants = {n.output[0]: n.attribute[0].t for n in graph.node if n.op_type == "Constant"}
        constants.update({t.name: t for t in graph.initializer})
        nodes = [n for n in graph.node if n.op_type == op]
        return [int(onnx.numpy_helper.to_array(constants[n.input[index]])[0]) for n in nodes]

    assert first_values(fixed, "Reshape", 1) == [3] and first_values(dynamic, "Reshape", 1) == [0]
    assert first_values(fixed, "Slice", 2) == [3] * 3
    assert first_values(dynamic, "Slice", 2) == [np.iinfo(np.int64).max] * 3
    x = images(np.random.default_rng(3), 4, 3, 8, 8)
    np.testing.assert_allclose(run_onnx(path, x), reference(darts, x), atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: F.reshape(x, (1, -1)), r"'Reshape_0/Reshape' \(Reshape\) .* reshapes across "
         r"the batch axis \(to \[1, 12\]\); export with a fixed batch size"),
        (lambda x: F.sum(x, axis=0), r"'Sum_0' \(ReduceSum\) .* works along the batch"),
        (lambda x: F.concatenate(x, x, axis=0), r"'Concatenate_0' \(Concat\) .* works along"),
        (lambda x: F.slice(x, (1, 0), (2, 6)), r"'Slice_0/Slice' \(Slice\) .* slices the batch"),
    ],
)  # fmt: skip
def test_ops_that_fix_the_batch_are_refused_by_name(call, message, tmp_path):
    module = Mo.Lambda(call)
    with pytest.raises(ValueError, match=rf"ONNX export with a dynamic batch: node {message}"):
        export_onnx(module, (2, 6), str(tmp_path / "m.onnx"), dynamic_batch=True)
    assert export_onnx(module, (2, 6), str(tmp_path / "m.onnx"))  # a fixed batch is fine


def test_dynamic_batch_errors(mobilenet, tmp_path):
    with pytest.raises(ValueError, match=r"'_stem/1/ReLU6_0/Min' \(Min\) .* export at opset 9"):
        export_onnx(mobilenet, (1, 3, 8, 8), str(tmp_path / "m.onnx"), opset=7,
                    dynamic_batch=True)  # fmt: skip
    with pytest.raises(ValueError, match="a dynamic batch is an ONNX option"):
        export(mobilenet, (1, 3, 8, 8), str(tmp_path / "m.nnp"), dynamic_batch=True)
    with pytest.raises(ValueError, match="dynamic_batch must be True or False"):
        export_onnx(mobilenet, (1, 3, 8, 8), str(tmp_path / "m.onnx"), dynamic_batch="yes")
    assert list(tmp_path.iterdir()) == []


def test_shape_inference_catches_a_batch_size_left_in_the_graph(darts, tmp_path, monkeypatch):
    from nnabla_nas.export import batch

    monkeypatch.setattr(batch, "_reshape", lambda node, graph: None)  # the flatten keeps [1, C]
    with pytest.raises(ValueError, match="a node still fixes the output's batch size to 1"):
        export_onnx(darts, (1, 3, 8, 8), str(tmp_path / "m.onnx"), dynamic_batch=True)
    assert list(tmp_path.iterdir()) == []
