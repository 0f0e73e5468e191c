"""`Space.choice_label`: the readable names of the choices in figures and reports, checked
against the structures the spaces build (the edge order of the cells, the official
NAS-Bench-201 string, the MobileNetV2 stages)."""

import numpy as np
import pytest

from nnabla_nas.contrib.darts.cells import CellSpec, SearchCell
from nnabla_nas.contrib.darts.genotype import derive_cell, edge_count
from nnabla_nas.contrib.darts.modules import CANDIDATE_NAMES
from nnabla_nas.contrib.nb201.arch import NUM_EDGES, format_arch
from nnabla_nas.contrib.registry import SPACES, get_space
from nnabla_nas.contrib.space import Space
from nnabla_nas.module import find_choices
from nnabla_nas.module.pooling import MaxPool

CELL_INPUTS = ("c_{k-2}", "c_{k-1}")


def quick_net(space, **options):
    valid = space.options("search")
    options = {**{k: v for k, v in space.quick_options.items() if k in valid}, **options}
    return space.make_search_net(1, 10, seed=0, options=options), options


@pytest.mark.parametrize("name", SPACES.names())
def test_every_space_names_its_choices_distinctly_and_keeps_unknown_names(name):
    space = get_space(name)
    net, options = quick_net(space)
    choices = [c.label for c in find_choices(net)]
    labels = [space.choice_label(c, options=options) for c in choices]
    assert all(isinstance(label, str) and label for label in labels)
    assert len(set(labels)) == len(choices)
    for unknown in ("no/such_choice", "edge_3", "normal/edge_x", ""):
        assert space.choice_label(unknown) == unknown


def test_the_default_label_is_the_choice_itself():
    toy = get_space("toy")
    assert type(toy).choice_label is Space.choice_label
    assert [toy.choice_label(f"block_{i}") for i in range(2)] == ["block_0", "block_1"]


def test_darts_labels_by_hand():
    darts = get_space("darts")
    expected = {
        "normal/edge_0": "normal n0 <- c_{k-2}",
        "normal/edge_1": "normal n0 <- c_{k-1}",
        "normal/edge_2": "normal n1 <- c_{k-2}",
        "normal/edge_4": "normal n1 <- n0",
        "normal/edge_5": "normal n2 <- c_{k-2}",
        "normal/edge_8": "normal n2 <- n1",
        "reduce/edge_9": "reduce n3 <- c_{k-2}",
        "reduce/edge_11": "reduce n3 <- n0",
        "reduce/edge_13": "reduce n3 <- n2",
    }
    assert {choice: darts.choice_label(choice) for choice in expected} == expected
    assert darts.choice_label("cell/edge_0") == "cell/edge_0"


def parse(label):
    """``'<cell> n<i> <- <state>'`` as (cell, node, input index of the genotype)."""
    kind, node, arrow, source = label.split()
    assert arrow == "<-" and node.startswith("n")
    index = CELL_INPUTS.index(source) if source in CELL_INPUTS else int(source[1:]) + 2
    return kind, int(node[1:]), index


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_darts_labels_follow_the_edges_a_genotype_is_derived_from(kind):
    # One edge of the cell strongly prefers sep_conv_3x3, every other edge mildly
    # skip_connect: the genotype's sep_conv_3x3 entry sits at the node and input of that
    # edge, in the edge order derive_cell reads.
    darts, nodes = get_space("darts"), 4
    sep, skip = CANDIDATE_NAMES.index("sep_conv_3x3"), CANDIDATE_NAMES.index("skip_connect")
    for k in range(edge_count(nodes)):
        probs = np.full((edge_count(nodes), len(CANDIDATE_NAMES)), 0.1)
        probs[:, skip] = 0.2
        probs[k, sep] = 0.9
        entries = derive_cell(probs, CANDIDATE_NAMES, nodes)
        (where,) = [i for i, (op, _) in enumerate(entries) if op == "sep_conv_3x3"]
        assert parse(darts.choice_label(f"{kind}/edge_{k}")) == (
            kind,
            where // 2,
            entries[where][1],
        )


def test_darts_labels_name_the_cell_inputs_where_a_reduction_cell_has_stride_2():
    # In a reduction cell the edges leaving the two cell inputs halve the size.
    spec = CellSpec(0, 4, 4, 4, True, False, 16)
    rng = np.random.default_rng(0)
    cell = SearchCell(spec, num_nodes=4, multiplier=4, candidates=["max_pool_3x3"],
                      alphas=None, mode="full", rng=rng, label="reduce")  # fmt: skip
    darts = get_space("darts")
    assert len(cell.edges) == 14
    for edge in cell.edges:
        (pool,) = [m for _, m in edge.get_modules() if isinstance(m, MaxPool)]
        from_input = darts.choice_label(edge.label).endswith(CELL_INPUTS)
        assert pool._stride == ((2, 2) if from_input else (1, 1)), edge.label


def test_nb201_labels_follow_the_official_string():
    nb201 = get_space("nb201")
    assert [nb201.choice_label(f"cell/edge_{k}") for k in (0, 1, 2, 5)] == [
        "n1 <- n0", "n2 <- n0", "n2 <- n1", "n3 <- n2",
    ]  # fmt: skip
    for k in range(NUM_EDGES):
        ops = ["none"] * NUM_EDGES
        ops[k] = "nor_conv_3x3"
        groups = format_arch(ops).split("+")  # node j = group j - 1, '|op~i|' from node i
        (target,) = [j + 1 for j, group in enumerate(groups) if "nor_conv_3x3" in group]
        source = groups[target - 1].split("nor_conv_3x3~")[1][0]
        assert nb201.choice_label(f"cell/edge_{k}") == f"n{target} <- n{source}"
    assert nb201.choice_label(f"cell/edge_{NUM_EDGES}") == f"cell/edge_{NUM_EDGES}"
    assert nb201.choice_label("normal/edge_0") == "normal/edge_0"


def test_mobilenet_labels_follow_the_stages():
    mobilenet = get_space("mobilenet")
    # The default stages (1, 2, 3, 4, 3, 3, 1 blocks; the first stage is fixed), for both
    # settings.
    expected = {
        "block_0": "stage 1 block 0",
        "block_1": "stage 1 block 1",
        "block_2": "stage 2 block 0",
        "block_4": "stage 2 block 2",
        "block_5": "stage 3 block 0",
        "block_9": "stage 4 block 0",
        "block_15": "stage 6 block 0",
        "block_16": "block_16",
    }
    for options in (None, {}, {"settings": "imagenet"}, {"width_mult": 0.5}):
        labels = {c: mobilenet.choice_label(c, options=options) for c in expected}
        assert labels == expected
    # Custom stages: a block of stage 1, three of stage 2.
    stages = [[1, 8, 1, 1], [6, 8, 1, 2], [6, 16, 3, 1]]
    net, options = quick_net(mobilenet, stages=stages)
    choices = [c.label for c in find_choices(net)]
    assert choices == [f"block_{i}" for i in range(4)]
    assert [mobilenet.choice_label(c, options=options) for c in choices] == [
        "stage 1 block 0", "stage 2 block 0", "stage 2 block 1", "stage 2 block 2",
    ]  # fmt: skip
    assert mobilenet.choice_label("block_4", options=options) == "block_4"
    # Options that give no stages leave the names as they are.
    for bad in ({"stages": "tiny"}, {"stages": [[1, 8, 1]]}, {"settings": "cifar100"}):
        assert mobilenet.choice_label("block_1", options=bad) == "block_1"
    assert mobilenet.choice_label("cell/edge_0") == "cell/edge_0"
