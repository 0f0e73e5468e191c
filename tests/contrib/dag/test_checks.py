"""Every wiring and shape mistake of a `Graph` is one ValueError line naming the nodes
(and shapes) at fault and the fix; a graph record is checked the same way."""

import re

import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.dag import Graph, validate_record


def relu():
    return Mo.ReLU()


WIRING = {
    "duplicate": (
        ["x"], [("a", relu(), "x"), ("a", relu(), "x")], ["a"],
        "duplicate names 'a': inputs and nodes share one namespace; give each its own name",
    ),
    "input_named_as_node": (
        ["x"], [("x", relu(), "x")], ["x"], "duplicate names 'x'",
    ),
    "unknown_parent": (
        ["x"], [("a", relu(), "x"), ("b", relu(), "c")], ["b"],
        "unknown parents 'c' of node 'b'; a parent is an input or a node (known: 'x', 'a', 'b')",
    ),
    "cycle": (
        ["x"], [("a", Mo.Merging("add"), ["x", "c"]), ("b", relu(), "a"), ("c", relu(), "b"),
                ("out", relu(), "c")], ["out"],
        "the nodes 'a' -> 'b' -> 'c' -> 'a' form a cycle (each is a parent of the next); "
        "remove one of these parents",
    ),
    "self_loop": (
        ["x"], [("a", Mo.Merging("add"), ["x", "a"])], ["a"], "the nodes 'a' -> 'a' form a cycle",
    ),
    "dead_node": (
        ["x"], [("a", relu(), "x"), ("dead", relu(), "a"), ("out", relu(), "a")], ["out"],
        "nodes 'dead' lead to no output; remove them, use them as parents or list them in outputs",
    ),
    "unread_input": (
        ["x", "y"], [("a", relu(), "x")], ["a"],
        "inputs 'y' are read by no node; remove them from inputs",
    ),
    "unknown_output": (
        ["x"], [("a", relu(), "x")], ["b"], "outputs 'b' are no nodes; an output is one of the",
    ),
    "orphan": (["x"], [("a", relu(), [])], ["a"], "nodes 'a' have no parents"),
    "too_many_parents": (
        ["x", "y"], [("a", relu(), ["x", "y"])], ["a"],
        "node 'a' (ReLU) takes 1 parent(s), got 2 ('x', 'y'); join them first with a Merging node",
    ),
    "join_of_one": (
        ["x"], [("a", Mo.Merging("concat"), ["x"])], ["a"],
        "node 'a' (Merging) takes at least 2 parent(s), got 1 ('x'); give it more parents",
    ),
    "choice_of_two": (
        ["x", "y"], [("a", Mo.MixedOp([relu(), Mo.Identity()], rng=0), ["x", "y"])], ["a"],
        "node 'a' (MixedOp) takes 1 parent(s), got 2",
    ),
    "bad_name": (["x"], [("a/b", relu(), "x")], ["a/b"], "a name is a non-empty string"),
    "nested_choice": (
        ["x"], [("a", Mo.Sequential(relu(), Mo.MixedOp([relu(), Mo.Identity()], rng=0)), "x")],
        ["a"], "node 'a' holds a MixedOp at 'a/1'; a choice must be a node of its own",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(WIRING))
def test_a_wiring_mistake_is_one_line_naming_the_nodes(case):
    inputs, nodes, outputs, message = WIRING[case]
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        Graph(inputs, nodes, outputs)
    assert "\n" not in str(info.value)


def test_a_cycle_is_named_in_the_order_of_the_data():
    nodes = [("in", relu(), "x"), ("p", Mo.Merging("add"), ["in", "r"]), ("q", relu(), "p"),
             ("r", relu(), "q"), ("out", relu(), "r")]  # fmt: skip
    with pytest.raises(ValueError, match="'p' -> 'q' -> 'r' -> 'p' form a cycle"):
        Graph("x", nodes, "out")


def conv(cin, cout, stride=1):
    return Mo.Conv(cin, cout, (3, 3), pad=(1, 1), stride=(stride, stride))


SHAPES = {
    "add_of_channels": (
        [("a", conv(1, 4), "x"), ("b", conv(1, 8), "x"), ("j", Mo.Merging("add"), ["a", "b"])],
        "node 'j' adds parents of different shapes ('a' (2, 4, 8, 8), 'b' (2, 8, 8, 8)); give "
        "them one shape (e.g. a 1x1 Conv or a pooling on a parent) or join with "
        "Merging('concat')",
    ),
    "concat_of_sizes": (
        [("a", conv(1, 4), "x"), ("b", conv(1, 4, 2), "x"),
         ("j", Mo.Merging("concat"), ["a", "b"])],
        "node 'j' concatenates on axis 1 parents whose other dimensions differ ('a' (2, 4, 8, "
        "8), 'b' (2, 4, 4, 4)); give them equal batch and spatial shapes",
    ),
    "layer_input": (
        [("a", conv(1, 4), "x"), ("j", conv(3, 4), "a")],
        "node 'j' on 'a' (2, 4, 8, 8): Conv(in_channels=3",
    ),
    "candidates": (
        [("j", Mo.MixedOp([conv(1, 4), conv(1, 4, 2)], rng=0), "x")],
        "node 'j' on 'x' (2, 1, 8, 8): MixedOp candidates give outputs of different shapes",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_parents_whose_shapes_do_not_fit_name_the_node_and_the_shapes(case):
    nodes, message = SHAPES[case]
    graph = Graph("x", nodes, nodes[-1][0])  # the wiring is fine
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        graph.check((2, 1, 8, 8))
    assert "\n" not in str(info.value)


def test_concat_takes_parents_that_differ_only_in_channels():
    nodes = [
        ("a", conv(1, 4), "x"),
        ("b", conv(1, 2), "x"),
        ("j", Mo.Merging("concat"), ["a", "b"]),
    ]
    shapes = Graph("x", nodes, "j").check((2, 1, 8, 8))
    assert shapes == {"a": (2, 4, 8, 8), "b": (2, 2, 8, 8), "j": (2, 6, 8, 8)}


def test_the_number_of_inputs_is_checked_at_a_build():
    graph = Graph(["x", "y"], [("j", Mo.Merging("add"), ["x", "y"])], "j")
    with pytest.raises(ValueError, match=r"the graph takes 2 inputs \(x, y\), got 1"):
        graph.check((1, 2))


def record():
    choice = Mo.MixedOp([relu(), Mo.Identity()], rng=0, label="act", names=["relu", "skip"])
    return Graph("x", [("a", choice, "x"), ("b", relu(), "a")], "b").record()


def test_a_record_round_trips_and_its_mistakes_are_the_graphs():
    good = record()
    assert validate_record(good) == good
    cyclic = record()
    cyclic["nodes"][0]["parents"] = ["b"]
    with pytest.raises(ValueError, match="'a' -> 'b' -> 'a' form a cycle"):
        validate_record(cyclic)
    unknown = record()
    unknown["nodes"][1]["parents"] = ["zz"]
    with pytest.raises(ValueError, match="unknown parents 'zz' of node 'b'"):
        validate_record(unknown)
    partial = record()
    del partial["nodes"][0]["candidates"]
    with pytest.raises(ValueError, match="graph node 0: the keys are name, parents, op"):
        validate_record(partial)
    with pytest.raises(ValueError, match="a graph record has the keys inputs, outputs and nodes"):
        validate_record({"bogus": 1})
