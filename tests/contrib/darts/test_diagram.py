import collections
import os

import pytest
from matplotlib import _pylab_helpers
from visualize.figure_checks import (
    DIAGRAM,
    has_color,
    no_temporary_files,
    overlaps,
    svg_ids,
    svg_style,
    svg_texts,
)
from visualize.figure_checks import png as check_png

from nnabla_nas.contrib.darts import diagram
from nnabla_nas.contrib.darts.diagram import COLORS, draw_darts
from nnabla_nas.contrib.darts.genotype import DARTS_V2
from nnabla_nas.contrib.darts.modules import CANDIDATE_NAMES
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize.diagrams import op_color

NAMES = ["arch_normal.svg", "arch_normal.png", "arch_reduce.svg", "arch_reduce.png"]


def state(index):
    return f"in{index}" if index < 2 else f"n{index - 2}"


def test_darts_writes_both_cells_into_a_new_folder(tmp_path):
    out = tmp_path / "a" / "figures"
    paths = draw_darts(DARTS_V2, str(out), stem="cell")
    names = ["cell_normal.svg", "cell_normal.png", "cell_reduce.svg", "cell_reduce.png"]
    assert paths == [str(out / n) for n in names]
    assert sorted(os.listdir(out)) == sorted(names)
    assert no_temporary_files(out)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


@pytest.fixture(scope="module")
def darts_v2(tmp_path_factory):
    """The folder of DARTS_V2's diagrams, drawn once."""
    folder = tmp_path_factory.mktemp("darts_v2")
    draw_darts(DARTS_V2, str(folder))
    return folder


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_darts_cell_shows_every_edge_with_its_op(darts_v2, kind):
    svg = str(darts_v2 / f"arch_{kind}.svg")
    entries = DARTS_V2[kind]
    ids = svg_ids(svg)
    seen = collections.Counter()
    for k, (op, j) in enumerate(entries):
        gid = f"edge-{state(j)}-n{k // 2}"
        seen[gid] += 1
        gid = gid if seen[gid] == 1 else f"{gid}-{seen[gid]}"
        assert gid in ids
        assert COLORS[op] in svg_style(svg, gid)
        assert f"label-{gid}" in ids
    for s in DARTS_V2[f"{kind}_concat"]:
        assert f"concat-{state(s)}" in ids
        assert "stroke-dasharray" in svg_style(svg, f"concat-{state(s)}")
    assert {f"node-n{i}" for i in range(4)} | {"node-in0", "node-in1", "node-out"} <= ids
    ops = collections.Counter(op for op, _ in entries)
    labels = collections.Counter(t for t in svg_texts(svg) if t in COLORS)
    assert labels == ops + collections.Counter(set(ops))  # each label, and once in the legend
    assert ("normal cell" if kind == "normal" else "reduction cell") in svg_texts(svg)
    assert "dashed: concatenated into the output" in svg_texts(svg)

    rgb = check_png(str(darts_v2 / f"arch_{kind}.png"), *DIAGRAM)
    for op in ops:
        assert has_color(rgb, COLORS[op]), op
    absent = {"sep_conv_3x3", "max_pool_3x3"} - set(ops)
    assert absent  # each cell of DARTS_V2 lacks one of them
    for op in absent:
        assert not has_color(rgb, COLORS[op], count=1), op


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_darts_labels_overlap_neither_each_other_nor_nodes(kind):
    fig = diagram._cell_figure(DARTS_V2[kind], DARTS_V2[f"{kind}_concat"], kind)
    labels, nodes, clash = overlaps(fig)
    assert len(labels) == len(DARTS_V2[kind]) and len(nodes) == 7
    assert not clash


def test_darts_cells_of_any_size_and_repeated_inputs(tmp_path):
    genotype = {
        "normal": [["sep_conv_3x3", 0], ["skip_connect", 0], ["dil_conv_5x5", 2], ["none_ok", 1]],
        "normal_concat": [2, 3],
        "reduce": [["max_pool_3x3", 0], ["avg_pool_3x3", 1]],
        "reduce_concat": [0, 2],
    }
    with pytest.raises(ValueError, match="unknown op 'none_ok'"):
        draw_darts(genotype, str(tmp_path))
    assert os.listdir(tmp_path) == []
    genotype["normal"][3] = ["sep_conv_5x5", 1]
    draw_darts(genotype, str(tmp_path))
    ids = svg_ids(str(tmp_path / "arch_normal.svg"))
    assert {"edge-in0-n0", "edge-in0-n0-2", "edge-n0-n1", "edge-in1-n1"} <= ids
    assert {"concat-n0", "concat-n1"} <= ids and "node-n2" not in ids
    assert {"concat-in0", "concat-n0", "node-n0"} <= svg_ids(str(tmp_path / "arch_reduce.svg"))
    assert not any(i.startswith("node-n1") for i in svg_ids(str(tmp_path / "arch_reduce.svg")))


def test_darts_colors_are_fixed_and_distinct():
    assert get_space("darts").colors is COLORS
    assert set(CANDIDATE_NAMES) | {"none"} == set(COLORS)
    for name, color in COLORS.items():
        assert op_color(name, COLORS) == color
    assert len(set(COLORS.values())) == len(COLORS)


def test_space_draw_writes_both_cells(tmp_path):
    space = get_space("darts")
    folder = tmp_path / "figures"
    assert space.draw(DARTS_V2, str(folder)) == [str(folder / n) for n in NAMES]
    assert sorted(os.listdir(folder)) == sorted(NAMES)
    assert no_temporary_files(folder)
    # An architecture file written by the space draws the same cells.
    path = str(tmp_path / "arch.json")
    space.write(path, DARTS_V2)
    paths = space.draw(space.read(path), str(tmp_path / "again"), stem="x")
    assert [os.path.basename(p) for p in paths] == [n.replace("arch", "x") for n in NAMES]
    assert svg_texts(paths[0]) == svg_texts(str(folder / "arch_normal.svg"))
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_space_draw_refuses_what_is_not_a_darts_genotype(tmp_path):
    space = get_space("darts")
    bad = dict(DARTS_V2, normal=[["conv_9x9", 0], *DARTS_V2["normal"][1:]])
    with pytest.raises(ValueError, match=r"genotype 'normal' entry 0: unknown op 'conv_9x9'"):
        space.draw(bad, str(tmp_path))
    without = {k: v for k, v in DARTS_V2.items() if k != "reduce_concat"}
    with pytest.raises(ValueError, match=r"missing \['reduce_concat'\]"):
        space.draw(without, str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown \['settings', 'blocks'\]"):
        space.draw({"settings": "cifar10", "blocks": ["k3_e3"]}, str(tmp_path))
    with pytest.raises(ValueError, match="a genotype is a dict"):
        space.draw([["sep_conv_3x3", 0]], str(tmp_path))
    assert os.listdir(tmp_path) == []
