"""The nnabla graph in TensorBoard: written with a real SummaryWriter, read back from disk."""

import nnabla as nn
import nnabla.functions as F
from tensorboardX import SummaryWriter
from tensorboardX.proto.graph_pb2 import GraphDef

from nnabla_nas import module as Mo
from nnabla_nas.utils.tbgraph import add_nnabla_graph, nnabla_graph_def


class Net(Mo.Module):
    def __init__(self):
        self.features = Mo.Sequential(
            Mo.Conv(1, 4, (3, 3), pad=(1, 1)), Mo.BatchNormalization(4, 4), Mo.ReLU()
        )
        self.classifier = Mo.Linear(4 * 8 * 8, 10)

    def call(self, x):
        return self.classifier(self.features(x))


def shapes(node):
    return [tuple(d.size for d in s.dim) for s in node.attr["_output_shapes"].list.shape]


def test_graph_written_to_the_event_file(tmp_path, read_events):
    net = Net()
    x = nn.Variable((2, 1, 8, 8))
    y = net(x)
    params = net.get_parameters()
    functions = []
    y.visit(functions.append)

    writer = SummaryWriter(str(tmp_path))
    add_nnabla_graph(writer, y, name_of=params)
    writer.close()

    graphs = [e.graph_def for e in read_events(tmp_path) if e.HasField("graph_def")]
    assert len(graphs) == 1
    graph = GraphDef.FromString(graphs[0])
    nodes = {n.name: n for n in graph.node}
    assert len(graph.node) == len(nodes) == len(functions) + len(params) + 1 == 4 + 8 + 1

    assert nodes["input"].op == "input" and shapes(nodes["input"]) == [(2, 1, 8, 8)]
    for name, param in params.items():
        assert nodes[name].op == "Parameter" and shapes(nodes[name]) == [param.shape]

    conv = nodes["features/0/Convolution_0"]
    assert conv.op == "Convolution"
    assert list(conv.input) == ["input", "features/0/_W", "features/0/_b"]
    assert shapes(conv) == [(2, 4, 8, 8)]
    assert conv.attr["pad"].s == b"(1, 1)" and conv.attr["group"].s == b"1"

    bn = nodes["features/1/BatchNormalization_0"]
    bn_params = ["features/1/_beta", "features/1/_gamma", "features/1/_mean", "features/1/_var"]
    assert list(bn.input) == ["features/0/Convolution_0", *bn_params]
    assert bn.attr["decay_rate"].s == b"0.9" and bn.attr["batch_stat"].s == b"True"

    relu = nodes["features/1/ReLU_0"]  # no parameters: the scope of its producer
    assert list(relu.input) == ["features/1/BatchNormalization_0"]
    assert shapes(relu) == [(2, 4, 8, 8)]

    affine = nodes["classifier/Affine_0"]
    assert list(affine.input) == ["features/1/ReLU_0", "classifier/_W", "classifier/_b"]
    assert shapes(affine) == [(2, 10)]

    # every edge names a node that comes earlier (forward order)
    seen = set()
    for node in graph.node:
        assert all(name.split(":")[0] in seen for name in node.input), node.name
        seen.add(node.name)


def test_multiple_outputs_inputs_and_the_global_scope():
    a, b = nn.Variable((2, 4)), nn.Variable((2, 4))
    with nn.parameter_scope("head"):
        w = nn.parameter.get_parameter_or_create("W", (2, 3))
    left, right = F.split(F.add2(a, b), axis=1)[:2]
    y = F.affine(F.stack(left, right, axis=1), w)
    graph = nnabla_graph_def(y)  # names from nnabla's global parameter scope
    nodes = {n.name: n for n in graph.node}
    assert nodes["input"].op == nodes["input_1"].op == "input"
    assert list(nodes["Add2_0"].input) == ["input", "input_1"]
    assert shapes(nodes["Split_0"]) == [(2,)] * 4
    assert list(nodes["Stack_0"].input) == ["Split_0", "Split_0:1"]
    assert nodes["head/W"].op == "Parameter"
    assert list(nodes["head/Affine_0"].input) == ["Stack_0", "head/W"]
    assert shapes(nodes["head/Affine_0"]) == [(2, 3)]


def test_functions_without_parameters_follow_their_largest_inputs():
    x = nn.Variable((2, 4))
    with nn.parameter_scope("block"):
        w = nn.parameter.get_parameter_or_create("W", (4, 4))
    with nn.parameter_scope("alpha"):
        alpha = nn.parameter.get_parameter_or_create("0", (1, 1))
    h = F.affine(x, w)
    y = F.add2(F.mul2(h, F.softmax(alpha, axis=0)), h)  # x * weight stays with x
    nodes = {n.name: n for n in nnabla_graph_def(y).node}
    assert list(nodes["alpha/Softmax_0"].input) == ["alpha/0"]
    assert list(nodes["block/Mul2_0"].input) == ["block/Affine_0", "alpha/Softmax_0"]
    assert list(nodes["block/Add2_0"].input) == ["block/Mul2_0", "block/Affine_0"]
