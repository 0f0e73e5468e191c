"""The diagram of a `Graph`: SVG and PNG files, one box per node, each choice with its
candidates and, after a search, the chosen one filled."""

import re

import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.dag import Graph

from .test_graph import set_choice, supernet


def test_the_graph_draws_its_nodes_edges_and_candidates(tmp_path):
    graph = supernet()
    paths = graph.draw(str(tmp_path), "super")
    assert paths == [str(tmp_path / "super.svg"), str(tmp_path / "super.png")]
    assert (tmp_path / "super.png").read_bytes().startswith(b"\x89PNG")
    svg = (tmp_path / "super.svg").read_text()
    ids = set(re.findall(r'id="([^"]+)"', svg))
    assert {"node-x", "node-stem", "node-cell", "node-sum", "node-head"} <= ids
    assert {"edge-x-stem", "edge-stem-cell", "edge-stem-sum", "edge-cell-sum"} <= ids
    assert {"candidate-cell-conv", "candidate-cell-pool", "candidate-cell-skip"} <= ids
    assert "each choice lists its candidates" in svg and "cell: choice" in svg


def test_after_a_search_the_chosen_candidate_is_filled(tmp_path):
    graph = supernet()
    set_choice(graph, "cell", "pool")
    graph.draw(str(tmp_path), "found", chosen=graph.derive())
    svg = (tmp_path / "found.svg").read_text()
    assert "chosen: cell=pool" in svg

    def style(candidate):
        block = re.search(rf'<g id="candidate-cell-{candidate}">(.*?)</g>', svg, re.S)
        assert block is not None
        return block.group(1)

    assert "stroke-dasharray" not in style("pool")  # filled, solid
    assert "stroke-dasharray" in style("conv") and "stroke-dasharray" in style("skip")


def test_a_chosen_candidate_the_graph_lacks_is_refused(tmp_path):
    with pytest.raises(ValueError, match="chosen: choice 'cell' has no candidate 'sep'"):
        supernet().draw(str(tmp_path), chosen={"cell": "sep"})


def test_edges_that_skip_columns_are_drawn_too(tmp_path):
    nodes = [("n0", Mo.ReLU(), "x")]
    nodes += [(f"n{i}", Mo.Merging("add"), [f"n{i - 1}", "x"]) for i in range(1, 6)]
    Graph("x", nodes, "n5").draw(str(tmp_path))
    ids = set(re.findall(r'id="([^"]+)"', (tmp_path / "graph.svg").read_text()))
    assert {f"edge-x-n{i}" for i in range(6)} | {f"edge-n{i}-n{i + 1}" for i in range(5)} <= ids
