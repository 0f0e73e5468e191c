import collections
import json
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

from nnabla_nas.contrib.darts.diagram import COLORS as DARTS_COLORS
from nnabla_nas.contrib.nb201 import diagram
from nnabla_nas.contrib.nb201.arch import EDGES, OPS, parse_arch
from nnabla_nas.contrib.nb201.diagram import COLORS, draw_nb201
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize.diagrams import op_color

NB201 = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"
FULL = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
    "|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
)


def test_nb201_cell_leaves_out_none_edges(tmp_path):
    svg, image = draw_nb201(NB201, str(tmp_path))
    assert [svg, image] == [str(tmp_path / "arch.svg"), str(tmp_path / "arch.png")]
    ops = parse_arch(NB201)
    ids = svg_ids(svg)
    assert {f"node-n{i}" for i in range(4)} <= ids
    for (i, j), op in zip(EDGES, ops, strict=True):
        gid = f"edge-n{i}-n{j}"
        assert (gid in ids) == (op != "none")
        assert (f"label-{gid}" in ids) == (op != "none")
        if op != "none":
            assert COLORS[op] in svg_style(svg, gid)
    texts = svg_texts(svg)
    drawn = [op for op in ops if op != "none"]  # each label, and once in the legend
    assert collections.Counter(t for t in texts if t in COLORS) == collections.Counter(
        drawn + sorted(set(drawn))
    )
    assert NB201 in texts and "NAS-Bench-201 cell" in texts
    rgb = check_png(image, *DIAGRAM)
    for op in set(ops) - {"none"}:
        assert has_color(rgb, COLORS[op]), op
    assert not has_color(rgb, COLORS["none"], count=1)
    record = {"arch": NB201, "ops": list(ops)}
    assert draw_nb201(record, str(tmp_path), stem="r") == [
        str(tmp_path / "r.svg"),
        str(tmp_path / "r.png"),
    ]
    # The same cell however it is given: string, record or op list.
    assert svg_texts(str(tmp_path / "r.svg")) == texts
    draw_nb201(list(ops), str(tmp_path), stem="l")
    assert svg_texts(str(tmp_path / "l.svg")) == texts
    assert no_temporary_files(tmp_path)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_nb201_labels_overlap_neither_each_other_nor_nodes(tmp_path, monkeypatch):
    # Every edge drawn (no 'none'): catch the figure draw_nb201 saves.
    figures = []
    monkeypatch.setattr(diagram, "save_figure", lambda fig, paths: figures.append(fig) or paths)
    diagram.draw_nb201(FULL, str(tmp_path))
    labels, nodes, clash = overlaps(figures[0])
    assert len(labels) == 6 and len(nodes) == 4
    assert not clash


def test_nb201_colors_cover_the_ops_and_match_darts_for_shared_names():
    assert get_space("nb201").colors is COLORS
    assert set(COLORS) == set(OPS)
    assert len(set(COLORS.values())) == len(COLORS)
    for name, color in COLORS.items():
        assert op_color(name, COLORS) == color
    shared = set(COLORS) & set(DARTS_COLORS)
    assert shared == {"none", "skip_connect", "avg_pool_3x3"}
    for name in shared:
        assert COLORS[name] == DARTS_COLORS[name], name


def test_space_draw_takes_a_string_or_a_record(tmp_path):
    space = get_space("nb201")
    names = ["arch.svg", "arch.png"]
    folder = tmp_path / "record"
    assert space.draw({"arch": NB201}, str(folder)) == [str(folder / n) for n in names]
    assert sorted(os.listdir(folder)) == sorted(names)
    paths = space.draw(NB201, str(tmp_path / "s"), stem="x")
    assert [os.path.basename(p) for p in paths] == ["x.svg", "x.png"]
    path = str(tmp_path / "arch.json")
    space.write(path, NB201)
    assert json.load(open(path)) == {"arch": NB201, "ops": list(parse_arch(NB201))}
    (svg, _) = space.draw(space.read(path), str(tmp_path / "read"))
    assert svg_texts(svg) == svg_texts(str(folder / "arch.svg"))
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_space_draw_refuses_what_is_not_an_nb201_architecture(tmp_path):
    space = get_space("nb201")
    with pytest.raises(ValueError, match=r"node 1: unknown op 'conv'"):
        space.draw("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", str(tmp_path))
    with pytest.raises(ValueError, match=r"got keys \['normal', 'normal_concat'"):
        space.draw({"normal": [], "normal_concat": []}, str(tmp_path))
    with pytest.raises(ValueError, match="a sequence of 6 op names, got 3"):
        space.draw(3, str(tmp_path))
    assert os.listdir(tmp_path) == []
