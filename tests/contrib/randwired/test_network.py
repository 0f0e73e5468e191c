"""The randwired networks: a node's weighted sum and a stage against hand computations,
shapes and strides per stage, the choices, derivation, and the retraining network."""

import re

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.estimator import FLOPsEstimator, ParamsEstimator
from nnabla_nas.contrib.randwired.arch import StageGraph
from nnabla_nas.contrib.randwired.graphs import parse_generator, random_graph, stage_seed, to_dag
from nnabla_nas.contrib.randwired.modules import Node, Stage, WeightedSum
from nnabla_nas.contrib.randwired.network import SearchNet, TrainNet, plan_stages
from nnabla_nas.module import MixedOp
from nnabla_nas.module.misc import DropPath

from .test_arch import ARCH

CANDIDATES = ["sep_conv_3x3", "max_pool_3x3", "avg_pool_3x3"]


def search_net(**kwargs):
    args = {"channels": 4, "nodes": 6, "num_stages": 3, "stem": "small", "head_channels": 0,
            "generator": "WS(2, 0.5)", "candidates": CANDIDATES, "rng": 0}  # fmt: skip
    return SearchNet(1, 10, **{**args, **kwargs})


def sigmoid(w):
    return 1.0 / (1.0 + np.exp(-np.asarray(w, dtype=np.float64)))


def test_a_weighted_sum_weighs_each_input_by_the_sigmoid_of_its_parameter(variable):
    xs = [variable(2, 3, 4, 4, need_grad=True) for _ in range(3)]
    node_sum = WeightedSum(3)
    w = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    node_sum.weight.d = w
    y = node_sum(*xs)
    loss = F.sum(y)
    node_sum.weight.grad.zero()
    loss.forward()
    loss.backward()
    expected = sum(s * x.d for s, x in zip(sigmoid(w), xs, strict=True))
    np.testing.assert_allclose(y.d, expected, rtol=1e-5, atol=1e-6)
    # d sum(y) / d w_i = sigmoid'(w_i) * sum(x_i)
    grad = sigmoid(w) * (1 - sigmoid(w)) * np.array([x.d.sum() for x in xs])
    np.testing.assert_allclose(node_sum.weight.g, grad, rtol=1e-4, atol=1e-5)


def test_weights_start_at_one_half_and_a_single_input_is_scaled_too(variable):
    x = variable(1, 2, 3, 3)
    y = WeightedSum(1)(x)
    y.forward()
    np.testing.assert_allclose(y.d, 0.5 * x.d, rtol=1e-6)
    with pytest.raises(ValueError, match="WeightedSum of 1 inputs called with 2"):
        WeightedSum(1)(x, x)


def test_a_stage_of_identity_nodes_computes_the_hand_written_sums(variable):
    # ARCH stage 1: in -> 0, in -> 3, 0 -> 1, 0 -> 2, 3 -> 2, {1, 2} -> out.
    graph = StageGraph.build(4, ARCH["stages"][1]["edges"], "stage 1")
    nodes = [Node(len(graph.parents[i]), Mo.Identity()) for i in range(4)]
    w = [np.array([0.5]), np.array([-1.0]), np.array([2.0, 0.1]), np.array([1.5])]
    for node, values in zip(nodes, w, strict=True):
        node.weighted_sum.weight.d = values
    x = variable(2, 3, 4, 4)
    y = Stage(graph, nodes)(x)
    y.forward()
    s = [sigmoid(v) for v in w]
    n0 = s[0][0] * x.d
    n3 = s[3][0] * x.d
    n1 = s[1][0] * n0
    n2 = s[2][0] * n0 + s[2][1] * n3  # node 2 reads 0 then 3, in edge order
    np.testing.assert_allclose(y.d, (n1 + n2) / 2, rtol=1e-5, atol=1e-6)


def stage_shapes(net, size):
    net(nn.Variable((2, 1, size, size)))
    return [tuple(s.output_shape) for s in net.stages]


def test_channels_double_and_the_size_halves_at_each_stage_after_a_small_stem():
    net = search_net()
    assert stage_shapes(net, 8) == [(2, 4, 8, 8), (2, 8, 4, 4), (2, 16, 2, 2)]
    assert [s.graph.num_nodes for s in net.stages] == [3, 6, 6]
    assert net(nn.Variable((2, 1, 8, 8))).shape == (2, 10)


def test_the_imagenet_stem_quarters_the_size_and_every_stage_halves_it():
    net = search_net(stem="imagenet", head_channels=12)
    assert stage_shapes(net, 32) == [(2, 4, 4, 4), (2, 8, 2, 2), (2, 16, 1, 1)]
    assert [(s.in_channels, s.channels, s.stride) for s in plan_stages(3, 78, "imagenet")] == [
        (78, 78, 2), (78, 156, 2), (156, 312, 2)
    ]  # fmt: skip


def test_only_the_nodes_reading_the_stage_input_change_the_size_and_channels():
    net = search_net()
    net(nn.Variable((2, 1, 8, 8)))
    for s, stage in enumerate(net.stages):
        for i, node in enumerate(stage.nodes):
            for op in node.op.operators:
                reads = stage.graph.reads_input(i)
                (shape,) = op.input_shapes
                assert shape[1] == (4 * 2 ** max(s - 1, 0) if reads else 4 * 2**s)
                assert shape[2] == (8 // 2 ** max(s - 1, 0) if reads else 8 // 2**s)


def test_one_labelled_choice_per_node_whose_alpha_gets_a_gradient(variable):
    net = search_net()
    y = net(variable(2, 1, 8, 8))
    loss = F.mean(F.pow_scalar(y, 2.0))
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    ops = [m for _, m in net.get_modules() if isinstance(m, MixedOp)]
    assert [op.label for op in ops] == [f"stage_{s}/node_{i}" for s, n in enumerate((3, 6, 6))
                                        for i in range(n)]  # fmt: skip
    assert all(op.names == tuple(CANDIDATES) for op in ops)
    alphas = net.get_arch_parameters()
    assert len(alphas) == 15 and len({id(a) for a in alphas.values()}) == 15
    assert all(np.abs(a.g).sum() > 0 for a in alphas.values())
    sums = [p for k, p in net.get_net_parameters().items() if k.endswith("_sum/_w")]
    assert len(sums) == 15 and all(np.abs(p.g).sum() > 0 for p in sums)


def test_the_genotype_records_the_drawn_graphs_and_each_nodes_most_likely_op():
    net = search_net(generator="BA(1)", graph_seed=3)
    ops = [m for _, m in net.get_modules() if isinstance(m, MixedOp)]
    picks = [k % 3 for k in range(len(ops))]
    for op, k in zip(ops, picks, strict=True):
        op.alpha.d = np.eye(3)[k]
    arch = net.genotype()
    assert arch["generator"] == "BA(1)" and arch["graph_seed"] == 3
    flat = [op for stage in arch["stages"] for op in stage["nodes"]]
    assert flat == [CANDIDATES[k] for k in picks]
    spec = parse_generator("BA(1)")
    for s, (stage, n) in enumerate(zip(arch["stages"], (3, 6, 6), strict=True)):
        expected = to_dag(random_graph(spec, n, stage_seed(3, s)))
        assert stage["edges"] == [list(e) for e in expected]


def edges(net):
    return [stage["edges"] for stage in net.genotype()["stages"]]


def test_the_graph_seed_alone_decides_the_graphs():
    first = search_net(nodes=10, generator="WS(4, 0.75)")
    assert edges(first) == edges(search_net(nodes=10, generator="WS(4, 0.75)", rng=1))
    assert edges(first) != edges(search_net(nodes=10, generator="WS(4, 0.75)", graph_seed=1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nodes": 6, "generator": "WS(4, 0.5)"},
         "generator WS(4, 0.5): K must be below a stage's node count, got a stage of 3 nodes"),
        ({"stem": "cifar"}, "stem must be one of imagenet, small, got 'cifar'"),
        ({"candidates": ["sep_conv_3x3", "identity"]}, "candidates must be distinct registered "
                                                       "ops, got ['sep_conv_3x3', 'identity']"),
        ({"graph_seed": -1}, "graph_seed must be a non-negative int, got -1"),
        ({"head_channels": -1}, "head_channels must be an int >= 0 (0: no 1x1 convolution)"),
        ({"num_stages": 0}, "num_stages must be a positive int, got 0"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        search_net(**options)


def test_the_train_net_builds_each_nodes_op_and_drops_paths_on_joins(variable):
    net = TrainNet(1, 10, ARCH, channels=4, stem="small", head_channels=8, drop_path=0.3)
    assert net.genotype() == ARCH
    ops = [type(n.op).__name__ for stage in net.stages for n in stage.nodes]
    assert ops == ["DilConv", "Pool", "DilConv", "Pool", "DilConv", "DilConv", "Pool"]
    # Node 2 of both stages joins two inputs: four DropPaths in all.
    assert sum(isinstance(m, DropPath) for _, m in net.get_modules()) == 4
    assert not net.get_arch_parameters()
    x = variable(8, 1, 8, 8)
    with net.modes(training=False):
        y = net(x)
    y.forward()
    again = y.d.copy()
    y.forward()
    np.testing.assert_array_equal(y.d, again)
    with net.modes(training=True):
        noisy = net(x)
    noisy.forward()
    assert noisy.shape == (8, 10) and not np.allclose(noisy.d, y.d)


def test_without_drop_path_the_train_net_holds_no_drop_path():
    net = TrainNet(1, 10, ARCH, channels=4, stem="small", head_channels=0)
    assert not any(isinstance(m, DropPath) for _, m in net.get_modules())


def test_the_estimators_price_the_sums_and_the_average():
    graph = StageGraph.build(4, ARCH["stages"][1]["edges"], "stage 1")
    stage = Stage(graph, [Node(len(graph.parents[i]), Mo.Identity()) for i in range(4)])
    stage(nn.Variable((2, 3, 4, 4)))
    rows = FLOPsEstimator().table(stage)
    # 96 elements: a product per node input, a sum per extra input; the average of two
    # nodes adds once and scales once.
    assert [row for row in rows if row[1] != "Identity"] == [
        ("_nodes/0/_sum", "WeightedSum", 96.0),
        ("_nodes/1/_sum", "WeightedSum", 96.0),
        ("_nodes/2/_sum", "WeightedSum", 3 * 96.0),
        ("_nodes/3/_sum", "WeightedSum", 96.0),
        ("_average", "Average", 2 * 96.0),
    ]
    # One weight per edge into a node: 1 + 1 + 2 + 1.
    assert ParamsEstimator().cost(stage) == 5
