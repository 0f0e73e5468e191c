"""The generic drawing primitives; each space's diagrams are tested with the space
(``tests/contrib/<space>/test_diagram.py``)."""

import collections
import os

import pytest
from figure_checks import (
    DIAGRAM,
    has_color,
    no_temporary_files,
    overlaps,
    svg_ids,
    svg_style,
    svg_texts,
)
from figure_checks import png as check_png
from matplotlib import _pylab_helpers
from matplotlib.figure import Figure

from nnabla_nas.visualize.diagrams import (
    CONCAT_COLOR,
    INPUT_COLOR,
    NODE_COLOR,
    OUTPUT_COLOR,
    PALETTE,
    Edge,
    Node,
    draw_dag,
    new_axes,
    op_color,
    save_figure,
    unique_gid,
)

# Colours of the labelled edges, none of them a node colour.
OPS = {"conv": "#1f77b4", "pool": "#d62728", "skip": "#7f7f7f", "other": "#9467bd"}


def dag():
    """Four nodes, every forward edge labelled, a parallel edge and a dashed one."""
    xy = [(0.0, 0.0), (2.7, 1.35), (5.4, -1.35), (8.1, 0.0)]
    colors = [INPUT_COLOR, NODE_COLOR, NODE_COLOR, OUTPUT_COLOR]
    nodes = [Node(k, xy[i], str(i), colors[i]) for i, k in enumerate("abcd")]
    pairs = [("a", "b", "conv"), ("a", "c", "pool"), ("b", "c", "skip"), ("a", "d", "conv"),
             ("b", "d", "other"), ("c", "d", "pool"), ("a", "b", "pool")]  # fmt: skip
    seen = {}
    edges = [
        Edge(s, t, op, op_color(op, OPS), unique_gid(f"edge-{s}-{t}", seen)) for s, t, op in pairs
    ]
    edges.append(Edge("b", "d", None, CONCAT_COLOR, "concat-b", dashed=True))
    return nodes, edges


def test_draw_dag_gives_every_element_its_id_colour_and_label(tmp_path):
    nodes, edges = dag()
    fig = draw_dag(nodes, edges, "a cell", "dashed: concatenated")
    svg, image = save_figure(fig, [str(tmp_path / "dag.svg"), str(tmp_path / "dag.png")])
    ids = svg_ids(svg)
    assert {"node-a", "node-b", "node-c", "node-d"} <= ids
    gids = [e.gid for e in edges]
    assert gids[-2:] == ["edge-a-b-2", "concat-b"]
    for edge in edges:
        assert edge.gid in ids
        style = svg_style(svg, edge.gid)
        assert edge.color in style
        assert ("stroke-dasharray" in style) == edge.dashed
        assert (f"label-{edge.gid}" in ids) == (edge.label is not None)
    texts = svg_texts(svg)
    labels = collections.Counter(t for t in texts if t in OPS)
    drawn = [e.label for e in edges if e.label]  # each label, and once in the legend
    assert labels == collections.Counter(drawn + sorted(set(drawn)))
    assert {"0", "1", "2", "3", "a cell", "dashed: concatenated"} <= set(texts)

    rgb = check_png(image, *DIAGRAM)
    for color in [*OPS.values(), INPUT_COLOR, NODE_COLOR, OUTPUT_COLOR]:
        assert has_color(rgb, color), color
    assert not has_color(rgb, "#2ca02c", count=1)  # a colour no element has
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_draw_dag_labels_overlap_neither_each_other_nor_nodes():
    nodes, edges = dag()
    labels, circles, clash = overlaps(draw_dag(nodes, edges, "a cell"))
    assert len(labels) == 7 and len(circles) == 4
    assert not clash


def test_draw_dag_without_subtitle(tmp_path):
    nodes, edges = dag()
    (svg,) = save_figure(draw_dag(nodes, edges[:1], "only"), [str(tmp_path / "one.svg")])
    texts = svg_texts(svg)
    assert texts.count("only") == 1 and "dashed: concatenated" not in texts
    assert "edge-a-b" in svg_ids(svg) and "edge-a-c" not in svg_ids(svg)


def test_unique_gid_numbers_repeats():
    seen = {}
    assert [unique_gid(g, seen) for g in ["e-1", "e-2", "e-1", "e-1"]] == [
        "e-1", "e-2", "e-1-2", "e-1-3",
    ]  # fmt: skip


def test_op_color_takes_the_given_colour_else_a_fixed_palette_one():
    assert op_color("conv", OPS) == "#1f77b4" and op_color("pool", OPS) == "#d62728"
    # Without a mapping, or for a name it lacks, the colour depends on the name only.
    for name in ["sep_conv_3x3", "my_op", "none"]:
        assert op_color(name) in PALETTE
        assert op_color(name) == op_color(name) == op_color(name, {}) == op_color(name, OPS)
    assert op_color("conv", {"conv": "#000000"}) == "#000000" != op_color("conv")
    names = [f"op_{k}" for k in range(40)]
    assert len({op_color(n) for n in names}) > 5  # spread over the palette


def test_save_figure_writes_atomically_and_reproducibly(tmp_path):
    fig, ax = new_axes((0.0, 4.0, 0.0, 3.0), 0.72)
    ax.text(2.0, 1.5, "kept as text", ha="center")
    ax.plot([0, 4], [0, 3], color="#d62728", lw=4)
    out = tmp_path / "new" / "folder"
    paths = [str(out / "f.svg"), str(out / "f.png")]
    assert save_figure(fig, paths) == paths
    assert sorted(os.listdir(out)) == ["f.png", "f.svg"]
    assert no_temporary_files(out)
    assert "kept as text" in svg_texts(paths[0])
    first = open(paths[0], "rb").read()
    assert b"<dc:date>" not in first
    save_figure(fig, [paths[0]])
    assert open(paths[0], "rb").read() == first
    rgb = check_png(paths[1], min_size=(300, 400), min_colors=2)  # 4x3 units, 0.72 in, 150 dpi
    assert rgb.shape == (324, 432)
    assert has_color(rgb, "#d62728", count=200)
    save_figure(fig, [str(out / "low.png")], dpi=50)
    assert check_png(str(out / "low.png"), min_size=(100, 100), min_colors=2).shape == (108, 144)
    assert isinstance(fig, Figure) and _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_save_figure_leaves_nothing_behind_on_failure(tmp_path):
    fig, _ = new_axes((0.0, 1.0, 0.0, 1.0), 1.0)
    with pytest.raises(ValueError, match="not supported"):
        save_figure(fig, [str(tmp_path / "f.nope")])
    assert os.listdir(tmp_path) == []


def test_diagram_options_write_other_formats_at_a_paper_s_width(tmp_path):
    from nnabla_nas.visualize.diagrams import diagram_options

    nodes, edges = dag()
    fig = draw_dag(nodes, edges, "a cell")
    natural = fig.get_figwidth()
    asked = [str(tmp_path / "d.svg"), str(tmp_path / "d.png")]
    with diagram_options(formats=["svg", "pdf", "dot", "png"], width=3.3):
        paths = save_figure(fig, asked, dpi=100)
    assert [os.path.basename(p) for p in paths] == ["d.svg", "d.pdf", "d.dot", "d.png"]
    # The whole drawing at 3.3 inches: 330 pixels at 100 dpi, 237.6 pt in the SVG.
    assert natural > 6 and check_png(paths[3], (50, 300)).shape[1] == 330
    assert 'width="237.6pt"' in open(paths[0]).read()
    assert open(paths[1], "rb").read(5) == b"%PDF-"
    # Outside the block, what was asked for.
    assert save_figure(draw_dag(nodes, edges, "x"), asked) == asked


def test_a_dag_s_dot_holds_its_nodes_and_edges(tmp_path):
    from nnabla_nas.visualize.diagrams import diagram_options

    nodes, edges = dag()
    with diagram_options(formats=["dot"]):
        (path,) = save_figure(draw_dag(nodes, edges, 'a "cell"'), [str(tmp_path / "g.svg")])
    lines = open(path).read().splitlines()
    assert lines[0] == 'digraph "a \\"cell\\"" {' and lines[-1] == "}"
    assert f'  "a" [label="0", fillcolor="{INPUT_COLOR}"];' in lines
    arrows = [line for line in lines if " -> " in line]
    assert len(arrows) == len(edges)
    assert f'  "a" -> "b" [color="{OPS["conv"]}", label="conv"];' in arrows
    assert f'  "b" -> "d" [color="{CONCAT_COLOR}", style=dashed];' in arrows


def test_diagram_options_refuse_what_they_cannot_do(tmp_path):
    from nnabla_nas.visualize.diagrams import diagram_options

    formats = pytest.raises(ValueError, match="diagram formats are svg, png, pdf, dot; got")
    with formats, diagram_options(formats=["jpg"]):
        pass
    width = pytest.raises(ValueError, match="positive number of inches, got 0")
    with width, diagram_options(width=0):
        pass
    fig, _ = new_axes((0, 1, 0, 1), 1.0)
    with diagram_options(formats=["dot"]), pytest.raises(ValueError, match="no graph, so"):
        save_figure(fig, [str(tmp_path / "chain.svg")])
    assert not os.path.exists(tmp_path / "chain.dot")
