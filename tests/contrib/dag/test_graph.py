"""`Graph`: a DAG computes what the same modules wired by hand compute, lists its nodes in
order, derives its choices and builds the fixed graph of them, and a DARTS step learns
its alphas."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.dag import Graph
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import DartsSearcher


def run(output, *arrays, inputs):
    for variable, array in zip(inputs, arrays, strict=True):
        variable.d = array
    output.forward()
    return output.d.copy()


def supernet(rng=0):
    choice = Mo.MixedOp(
        [Mo.Conv(4, 4, (3, 3), pad=(1, 1)), Mo.MaxPool((3, 3), (1, 1), (1, 1)), Mo.Identity()],
        rng=rng, label="cell", names=["conv", "pool", "skip"],
    )  # fmt: skip
    return Graph(
        "x",
        [
            ("stem", Mo.Conv(1, 4, (3, 3), pad=(1, 1)), "x"),
            ("cell", choice, "stem"),
            ("sum", Mo.Merging("add"), ["stem", "cell"]),
            ("head", Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 10)), "sum"),
        ],
        "head",
    )


def test_a_dag_computes_what_the_hand_wired_modules_compute(rng):
    stem = Mo.Conv(2, 4, (3, 3), pad=(1, 1))
    a, b = Mo.Conv(4, 4, (1, 1)), Mo.Conv(4, 4, (3, 3), pad=(1, 1))
    side = Mo.Conv(3, 8, (1, 1))
    head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(8, 5))
    # Given out of order, with two inputs and two outputs.
    graph = Graph(
        ["x", "y"],
        [
            ("head", head, "mix"),
            ("mix", Mo.Merging("add"), ["cat", "side"]),
            ("cat", Mo.Merging("concat"), ["a", "b"]),
            ("side", side, "y"),
            ("a", a, "relu"),
            ("b", b, "relu"),
            ("relu", Mo.ReLU(), "stem"),
            ("stem", stem, "x"),
        ],
        ["head", "cat"],
    )
    # Each node after its parents; among those ready, the one given first.
    assert graph.order == ("side", "stem", "relu", "a", "b", "cat", "mix", "head")
    x_data = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    y_data = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    x, y = nn.Variable(x_data.shape), nn.Variable(y_data.shape)
    logits, cat = graph(x, y)
    h = F.relu(stem(x))
    by_hand_cat = F.concatenate(a(h), b(h), axis=1)
    by_hand = head(by_hand_cat + side(y))
    got = [run(v, x_data, y_data, inputs=[x, y]) for v in (logits, cat)]
    want = [run(v, x_data, y_data, inputs=[x, y]) for v in (by_hand, by_hand_cat)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    assert got[0].shape == (2, 5) and np.abs(got[0]).sum() > 0
    assert graph.node_shapes["cat"] == (2, 8, 6, 6)
    assert list(graph.get_parameters())[:4] == ["side/_W", "side/_b", "stem/_W", "stem/_b"]


def test_a_graph_inside_a_graph_is_a_node():
    inner = Graph("u", [("conv", Mo.Conv(1, 1, (1, 1)), "u")], "conv")
    outer = Graph("x", [("block", inner, "x"), ("sum", Mo.Merging("add"), ["x", "block"])], "sum")
    x = nn.Variable.from_numpy_array(np.ones((1, 1, 2, 2), np.float32))
    out = outer(x)
    out.forward()
    w, bias = inner["conv"]._W.d.item(), inner["conv"]._b.d.item()
    np.testing.assert_allclose(out.d, 1 + w + bias, rtol=1e-6)
    assert list(outer.get_parameters()) == ["block/conv/_W", "block/conv/_b"]


def test_repr_and_summary_list_the_nodes_in_order():
    graph = supernet()
    text = repr(graph)
    assert text.startswith("Graph(inputs=['x'], outputs=['head']\n  (stem <- x): Conv(")
    heads = [line.split(")")[0] for line in text.splitlines() if line.startswith("  (")]
    assert heads == ["  (stem <- x", "  (cell <- stem", "  (sum <- stem, cell", "  (head <- sum"]
    table = graph.summary((2, 1, 8, 8)).splitlines()
    assert table[0].split() == ["node", "parents", "module", "output", "shape", "params"]
    rows = [line.split()[0] for line in table[2:-2]]
    assert rows == ["stem", "cell", "sum", "head"]
    assert "(2, 4, 8, 8)" in table[3] and "(2, 10)" in table[5]
    total = sum(p.size for p in graph.get_parameters().values())
    assert table[-1].split() == ["total", str(total)]


def set_choice(graph, label, name):
    (op,) = [m for _, m in graph.get_modules() if isinstance(m, Mo.MixedOp) and m.label == label]
    logits = np.zeros(len(op.names), np.float32)
    logits[op.names.index(name)] = 5.0
    op.alpha.d = logits


@pytest.mark.parametrize("name", ["conv", "pool", "skip"])
def test_derive_and_the_fixed_graph_give_the_chosen_candidate(name, rng):
    graph = supernet()
    set_choice(graph, "cell", name)
    assert graph.derive() == {"cell": name}
    fixed = graph.fixed(graph.derive())
    assert fixed["cell"] is graph["cell"].operators[["conv", "pool", "skip"].index(name)]
    assert not fixed.get_arch_parameters()
    assert fixed.order == graph.order
    data = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    x = nn.Variable(data.shape)
    with graph.modes(choice="max"):
        want = run(graph(x), data, inputs=[x])
    np.testing.assert_allclose(run(fixed(x), data, inputs=[x]), want, rtol=1e-6)


def test_fixed_refuses_choices_that_are_not_the_graphs():
    graph = supernet()
    with pytest.raises(ValueError, match=r"no candidate given for the choices \['cell'\]"):
        graph.fixed({})
    with pytest.raises(ValueError, match=r"the graph has no choices \['other'\]"):
        graph.fixed({"cell": "conv", "other": "x"})
    with pytest.raises(ValueError, match="choice 'cell' has no candidate 'sep'; its candidates"):
        graph.fixed({"cell": "sep"})


def test_choices_sharing_an_alpha_are_one_choice():
    alpha = Mo.Parameter((2,), initializer=np.array([0.0, 1.0]))

    def choice():
        return Mo.MixedOp([Mo.ReLU(), Mo.Identity()], alpha=alpha, label="act",
                          names=["relu", "skip"])  # fmt: skip

    graph = Graph("x", [("a", choice(), "x"), ("b", choice(), "a")], "b")
    assert graph.derive() == {"act": "skip"}
    assert [type(graph.fixed({"act": "relu"})[n]).__name__ for n in "ab"] == ["ReLU", "ReLU"]
    assert [n["choice"] for n in graph.record()["nodes"]] == ["act", "act"]


def test_a_darts_step_on_the_graph_changes_its_alphas(rng):
    graph = supernet()
    assert list(graph.get_arch_parameters()) == ["cell/_alpha"]
    searcher = DartsSearcher(
        graph,
        Optimizer(graph.get_net_parameters(grad_only=True), "sgd", 0.05),
        Optimizer(graph.get_arch_parameters(grad_only=True), "adam", 0.1),
    )
    searcher.start_epoch(0, np.random.default_rng(0))
    before = graph["cell"].alpha.d.copy()

    def batch():
        return rng.random((8, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, (8, 1))

    for _ in range(3):
        metrics = searcher.train_on_batch({"train": batch(), "valid": batch()})
    assert np.isfinite(metrics["loss"])
    assert np.abs(graph["cell"].alpha.d - before).max() > 1e-3
