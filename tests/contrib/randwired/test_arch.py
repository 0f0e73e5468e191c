"""The randwired architecture format: the wiring of a stage, the JSON round trip, and a
one-line error for every kind of bad file."""

import copy
import json
import re

import pytest

from nnabla_nas.contrib.randwired.arch import StageGraph, validate_arch
from nnabla_nas.contrib.registry import get_space

# Stage 0: in -> 0 -> {1, 2}, 1 -> 2, {2} -> out; stage 1 also reads node 3 from the input.
ARCH = {
    "generator": "WS(2, 0.5)",
    "graph_seed": 0,
    "stages": [
        {
            "nodes": ["sep_conv_3x3", "max_pool_3x3", "dil_conv_3x3"],
            "edges": [["in", 0], [0, 1], [0, 2], [1, 2], [2, "out"]],
        },
        {
            "nodes": ["avg_pool_3x3", "sep_conv_5x5", "sep_conv_3x3", "max_pool_3x3"],
            "edges": [["in", 0], ["in", 3], [0, 1], [0, 2], [1, "out"], [2, "out"], [3, 2]],
        },
    ],
}


def test_a_stage_graph_knows_its_parents_outputs_order_and_depths():
    graph = StageGraph.build(4, ARCH["stages"][1]["edges"], "stage 1")
    assert graph.parents == (("in",), (0,), (0, 3), ("in",))
    assert graph.outputs == (1, 2)
    assert graph.order == (0, 1, 3, 2)
    assert [graph.reads_input(i) for i in range(4)] == [True, False, False, True]
    assert graph.depths() == [1, 2, 2, 1]


def test_validation_sorts_the_edges_and_canonicalises_the_generator():
    shuffled = copy.deepcopy(ARCH)
    shuffled["generator"] = "ws(2,.5)"
    shuffled["stages"][1]["edges"] = list(reversed(ARCH["stages"][1]["edges"]))
    checked = validate_arch(shuffled)
    assert checked["generator"] == "WS(2, 0.5)"
    assert checked["stages"][1]["edges"] == [
        ["in", 0], ["in", 3], [0, 1], [0, 2], [1, "out"], [2, "out"], [3, 2]
    ]  # fmt: skip
    assert validate_arch(checked) == checked


def test_an_architecture_round_trips_through_a_file(tmp_path):
    space = get_space("randwired")
    path = str(tmp_path / "arch.json")
    space.write(path, ARCH)
    assert json.load(open(path)) == validate_arch(ARCH)
    assert space.read(path) == validate_arch(ARCH)


def test_a_hand_written_graph_records_no_generator():
    arch = {**ARCH, "generator": None, "graph_seed": None}
    assert validate_arch(arch) == arch


def with_stage(stage=1, **changes):
    arch = copy.deepcopy(ARCH)
    arch["stages"][stage].update(changes)
    return arch


def with_edges(*edges, stage=1):
    return with_stage(stage, edges=[list(e) for e in edges])


OK_EDGES = [("in", 0), ("in", 3), (0, 1), (0, 2), (1, "out"), (2, "out"), (3, 2)]

BAD = [
    ([1, 2], "a randwired architecture is an object with keys generator, graph_seed, stages, "
             "got list"),
    ({"stages": []}, "architecture keys must be ['generator', 'graph_seed', 'stages']; missing "
                     "['generator', 'graph_seed'], unknown []"),
    ({**ARCH, "generator": "WS(3, 0.5)"}, "generator 'WS(3, 0.5)': K must be even"),
    ({**ARCH, "graph_seed": -1}, "graph_seed must be a non-negative int or null, got -1"),
    ({**ARCH, "graph_seed": "0"}, "graph_seed must be a non-negative int or null, got '0'"),
    ({**ARCH, "stages": []}, "stages must be a non-empty list of stages, got []"),
    ({**ARCH, "stages": [["sep_conv_3x3"]]}, "stage 0: expected an object with keys nodes, "
                                             "edges, got list"),
    (with_stage(0, ops=[]), "stage 0: expected an object with keys nodes, edges, got ['edges', "
                            "'nodes', 'ops']"),
    (with_stage(nodes=[]), "stage 1: nodes must be a non-empty list of op names, got []"),
    (with_stage(nodes=["sep_conv_3x3", "conv", "sep_conv_3x3", "max_pool_3x3"]),
     "stage 1 node 1: unknown op 'conv'; known ops: sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, "
     "max_pool_3x3, avg_pool_3x3"),
    (with_stage(edges={"in": 0}), "stage 1: edges must be a list of [source, target], got "
                                  "{'in': 0}"),
    (with_edges(*OK_EDGES, (0, 1, 2)), "stage 1 edge 7: expected [source, target], got [0, 1, 2]"),
    (with_edges(*OK_EDGES, ("out", 1)), "stage 1 edge 7 ['out', 1]: bad source 'out'; a source "
                                        "is a node index 0..3 or 'in'"),
    (with_edges(*OK_EDGES, (1, "in")), "stage 1 edge 7 [1, 'in']: bad target 'in'; a target is "
                                       "a node index 0..3 or 'out'"),
    (with_edges(*OK_EDGES, (0, 1.0)), "stage 1 edge 7 [0, 1.0]: bad target 1.0"),
    (with_edges(*OK_EDGES, (True, 1)), "stage 1 edge 7 [True, 1]: bad source True"),
    (with_edges(*OK_EDGES, (0, 4)), "stage 1 edge 7 [0, 4]: node index 4 out of range; the stage "
                                    "has nodes 0..3"),
    (with_edges(*OK_EDGES, (-1, 2)), "stage 1 edge 7 [-1, 2]: node index -1 out of range"),
    (with_edges(*OK_EDGES, ("in", "out")), "stage 1 edge 7: ['in', 'out'] skips every node; "
                                           "remove it"),
    (with_edges(*OK_EDGES, (0, 1)), "stage 1: edge [0, 1] appears twice; list each edge once"),
    (with_edges(*OK_EDGES, (2, 2)), "stage 1: edge [2, 2] is a cycle (a node reading itself); "
                                    "remove it"),
    (with_edges(("in", 0), ("in", 3), (0, 1), (0, 2), (1, 3), (2, "out"), (3, "out")),
     "stage 1: node 3 reads the stage input and nodes [1]"),
    (with_edges(("in", 0), (0, 1), (1, 2), (2, 3), (3, 1), (2, "out")),
     "stage 1: the edges form a cycle 1 -> 2 -> 3 -> 1; a stage is acyclic, remove one of them"),
    (with_edges(("in", 0), (0, 1), (0, 2), (1, "out"), (2, "out"), (3, 2)),
     "stage 1: node 3 is unreachable (it reads neither the stage input nor a node); add an edge "
     "['in', 3] or [j, 3] from an earlier node"),
    (with_edges(("in", 0), ("in", 3), (0, 1), (0, 2), (1, "out"), (2, "out")),
     "stage 1: the output of node 3 is never used; add an edge [3, 'out'] or [3, j] to a later "
     "node"),
]  # fmt: skip


@pytest.mark.parametrize(("arch", "message"), BAD, ids=[m.split(":")[0][:40] for _, m in BAD])
def test_bad_architectures_are_one_line_errors_naming_the_fault(arch, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        validate_arch(arch)
    assert "\n" not in str(info.value)


def test_a_bad_file_names_itself_and_the_space(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(with_edges(*OK_EDGES, (2, 2))))
    with pytest.raises(ValueError, match=re.escape(f"architecture file '{path}' (randwired space): "
                                                   "stage 1: edge [2, 2] is a cycle")):  # fmt: skip
        get_space("randwired").read(str(path))
