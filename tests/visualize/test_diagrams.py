import collections
import json
import os
import xml.etree.ElementTree as ET

import pytest
from figure_checks import has_color
from figure_checks import png as check_png
from matplotlib import _pylab_helpers

from nnabla_nas.contrib.darts.genotype import DARTS_V2
from nnabla_nas.contrib.mobilenet.arch import SETTINGS, searchable_blocks
from nnabla_nas.contrib.nb201.arch import EDGES, parse_arch
from nnabla_nas.visualize import diagrams
from nnabla_nas.visualize.diagrams import (
    OP_COLORS,
    architecture_kind,
    draw_architecture,
    draw_darts,
    draw_mobilenet,
    draw_nb201,
    op_color,
)

SVG = "{http://www.w3.org/2000/svg}"

# The cifar10 stages have 16 searchable blocks; 'skip' only where the shape is kept.
MOBILENET = {
    "settings": "cifar10",
    "blocks": [
        "k3_e3", "skip", "k5_e6", "k7_e3", "skip", "k7_e6", "k5_e3", "skip",
        "k3_e6", "k5_e6", "skip", "k3_e6", "k7_e6", "k5_e3", "skip", "k3_e3",
    ],
}  # fmt: skip
MOBILENET_CUSTOM = {
    "settings": "cifar10",
    "blocks": ["k3_e3", "skip", "k3_e3", "skip", "k7_e6", "skip"],
    "stages": [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 2, 2], [6, 64, 2, 2]],
}
NB201 = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"

# Diagrams are large: at least 300x500 pixels and more than 50 colours.
DIAGRAM = ((300, 500), 50)


def svg_root(path):
    return ET.parse(path).getroot()


def svg_texts(path):
    """The text of every <text> element (tspans joined), in document order."""
    return ["".join(t.itertext()) for t in svg_root(path).iter(f"{SVG}text")]


def svg_ids(path):
    return {el.get("id") for el in svg_root(path).iter() if el.get("id")}


def svg_lines(path, gid):
    """The lines of the text of element `gid` (the group ``label-<gid>``)."""
    group = next(el for el in svg_root(path).iter() if el.get("id") == f"label-{gid}")
    return ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]


def svg_style(path, gid):
    group = next(el for el in svg_root(path).iter() if el.get("id") == gid)
    return " ".join(el.get("style", "") for el in group.iter())


def state(index):
    return f"in{index}" if index < 2 else f"n{index - 2}"


def no_temporary_files(folder):
    return not [name for name in os.listdir(folder) if name.startswith(".tmp-")]


def test_darts_writes_both_cells_into_a_new_folder(tmp_path):
    out = tmp_path / "a" / "figures"
    paths = draw_darts(DARTS_V2, str(out), stem="cell")
    names = ["cell_normal.svg", "cell_normal.png", "cell_reduce.svg", "cell_reduce.png"]
    assert paths == [str(out / n) for n in names]
    assert sorted(os.listdir(out)) == sorted(names)
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
        assert op_color(op) in svg_style(svg, gid)
        assert f"label-{gid}" in ids
    for s in DARTS_V2[f"{kind}_concat"]:
        assert f"concat-{state(s)}" in ids
    assert {f"node-n{i}" for i in range(4)} | {"node-in0", "node-in1", "node-out"} <= ids
    ops = collections.Counter(op for op, _ in entries)
    labels = collections.Counter(t for t in svg_texts(svg) if t in OP_COLORS)
    assert labels == ops
    assert ("normal cell" if kind == "normal" else "reduction cell") in svg_texts(svg)

    rgb = check_png(str(darts_v2 / f"arch_{kind}.png"), *DIAGRAM)
    for op in ops:
        assert has_color(rgb, op_color(op)), op
    absent = {"sep_conv_3x3", "max_pool_3x3"} - set(ops)
    for op in absent:
        assert not has_color(rgb, op_color(op), count=1), op


def test_darts_labels_overlap_neither_each_other_nor_nodes():
    for kind in ("normal", "reduce"):
        fig = diagrams._darts_figure(DARTS_V2[kind], DARTS_V2[f"{kind}_concat"], kind)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        labels = [
            t.get_window_extent(renderer) for t in ax.texts if (t.get_gid() or "")[:6] == "label-"
        ]
        nodes = [
            p.get_window_extent(renderer) for p in ax.patches if (p.get_gid() or "")[:5] == "node-"
        ]
        assert len(labels) == len(DARTS_V2[kind]) and len(nodes) == 7
        for i, a in enumerate(labels):
            assert not any(a.overlaps(b) for b in labels[i + 1 :])
            assert not any(a.overlaps(b) for b in nodes)


def test_darts_cells_of_any_size_and_repeated_inputs(tmp_path):
    genotype = {
        "normal": [["sep_conv_3x3", 0], ["skip_connect", 0], ["dil_conv_5x5", 2], ["none_ok", 1]],
        "normal_concat": [2, 3],
        "reduce": [["max_pool_3x3", 0], ["avg_pool_3x3", 1]],
        "reduce_concat": [0, 2],
    }
    with pytest.raises(ValueError, match="unknown op 'none_ok'"):
        draw_darts(genotype, str(tmp_path))
    genotype["normal"][3] = ["sep_conv_5x5", 1]
    draw_darts(genotype, str(tmp_path))
    ids = svg_ids(str(tmp_path / "arch_normal.svg"))
    assert {"edge-in0-n0", "edge-in0-n0-2", "edge-n0-n1", "edge-in1-n1"} <= ids
    assert {"concat-n0", "concat-n1"} <= ids and "node-n2" not in ids
    assert {"concat-in0", "concat-n0", "node-n0"} <= svg_ids(str(tmp_path / "arch_reduce.svg"))
    assert not any(i.startswith("node-n1") for i in svg_ids(str(tmp_path / "arch_reduce.svg")))


def test_mobilenet_chain_of_blocks(tmp_path):
    paths = draw_mobilenet(MOBILENET, str(tmp_path), stem="net")
    assert paths == [str(tmp_path / "net.svg"), str(tmp_path / "net.png")]
    svg = paths[0]
    ids = svg_ids(svg)
    assert {f"block-{i}" for i in range(16)} | {"input", "stem", "fixed-0", "head"} <= ids
    blocks = searchable_blocks(SETTINGS["cifar10"].stages)
    for i, (name, block) in enumerate(zip(MOBILENET["blocks"], blocks, strict=True)):
        shape = f"{block.out_channels} ch" + (f", s{block.stride}" if block.stride > 1 else "")
        assert svg_lines(svg, f"block-{i}") == [name, shape]
        dashed = "stroke-dasharray" in svg_style(svg, f"block-{i}")
        assert dashed == (name == "skip")
    assert svg_lines(svg, "fixed-0") == ["k3_e1", "16 ch", "fixed"]
    assert svg_lines(svg, "stem") == ["stem", "conv 3x3", "32 ch"]
    assert svg_lines(svg, "head") == ["head", "conv 1x1", "1280 ch"]
    texts = svg_texts(svg)
    assert "MobileNetV2 (cifar10)" in texts
    assert {"stage 1", "stage 6"} <= set(texts)

    rgb = check_png(paths[1], *DIAGRAM)
    for kernel_face, _ in diagrams._KERNEL_STYLES.values():
        assert has_color(rgb, kernel_face, count=200)


def test_mobilenet_custom_stages_and_errors(tmp_path):
    (svg, _) = draw_mobilenet(MOBILENET_CUSTOM, str(tmp_path))
    texts = svg_texts(svg)
    assert "MobileNetV2 (cifar10, custom stages)" in texts
    assert svg_lines(svg, "block-4") == ["k7_e6", "64 ch, s2"]
    assert {f"block-{i}" for i in range(6)} <= svg_ids(svg) and "block-6" not in svg_ids(svg)
    bad = dict(MOBILENET_CUSTOM, blocks=["skip", *MOBILENET_CUSTOM["blocks"][1:]])
    with pytest.raises(ValueError, match=r"'skip' is not allowed"):
        draw_mobilenet(bad, str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="has 2 blocks"):
        draw_mobilenet({"settings": "cifar10", "blocks": ["k3_e3", "k3_e3"]}, str(tmp_path))
    assert not (tmp_path / "bad").exists()


def test_nb201_cell_leaves_out_none_edges(tmp_path):
    svg, image = draw_nb201(NB201, str(tmp_path))
    ops = parse_arch(NB201)
    ids = svg_ids(svg)
    for (i, j), op in zip(EDGES, ops, strict=True):
        assert (f"edge-n{i}-n{j}" in ids) == (op != "none")
    texts = svg_texts(svg)
    assert collections.Counter(t for t in texts if t in OP_COLORS) == collections.Counter(
        op for op in ops if op != "none"
    )
    assert NB201 in texts and "NAS-Bench-201 cell" in texts
    check_png(image, *DIAGRAM)
    record = {"arch": NB201, "ops": list(ops)}
    assert draw_nb201(record, str(tmp_path), stem="r") == [
        str(tmp_path / "r.svg"),
        str(tmp_path / "r.png"),
    ]


def test_draw_architecture_detects_the_format(tmp_path):
    darts = ["arch_normal.svg", "arch_normal.png", "arch_reduce.svg", "arch_reduce.png"]
    cases = {
        "darts": (DARTS_V2, darts, "file"),
        "mobilenet": (MOBILENET_CUSTOM, ["arch.svg", "arch.png"], "file"),
        "nb201": ({"arch": NB201}, ["arch.svg", "arch.png"], "dict"),
    }
    for kind, (arch, names, given) in cases.items():
        assert architecture_kind(arch) == kind
        folder = tmp_path / kind
        if given == "file":
            path = tmp_path / f"{kind}.json"
            path.write_text(json.dumps(arch))
            arch = str(path)
        assert draw_architecture(arch, str(folder)) == [str(folder / n) for n in names]
        assert sorted(os.listdir(folder)) == sorted(names)
        assert no_temporary_files(folder)
    assert architecture_kind(NB201) == "nb201"
    assert draw_architecture(NB201, str(tmp_path / "s"), stem="x")[0].endswith("x.svg")
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_draw_architecture_errors_name_the_formats(tmp_path):
    expected = r"expected a DARTS genotype .*a MobileNetV2 genotype .*a NAS-Bench-201 record"
    with pytest.raises(ValueError, match=r"keys \['cells', 'ops2'\]; " + expected):
        draw_architecture({"cells": 1, "ops2": 2}, str(tmp_path))
    with pytest.raises(ValueError, match="of type list; " + expected):
        draw_architecture([["sep_conv_3x3", 0]], str(tmp_path))
    with pytest.raises(ValueError, match=expected):
        draw_architecture({}, str(tmp_path))
    bad_darts = dict(DARTS_V2, normal=[["conv_9x9", 0], *DARTS_V2["normal"][1:]])
    with pytest.raises(ValueError, match=r"invalid DARTS genotype: .*unknown op 'conv_9x9'"):
        draw_architecture(bad_darts, str(tmp_path))
    with pytest.raises(ValueError, match=r"invalid DARTS genotype: .*missing \['reduce_concat'\]"):
        draw_architecture(
            {k: v for k, v in DARTS_V2.items() if k != "reduce_concat"}, str(tmp_path)
        )
    with pytest.raises(
        ValueError, match=r"invalid MobileNetV2 genotype: unknown MobileNetV2 settings"
    ):
        draw_architecture({"settings": "mnist", "blocks": []}, str(tmp_path))
    with pytest.raises(
        ValueError, match=r"invalid NAS-Bench-201 architecture: .*unknown op 'conv'"
    ):
        draw_architecture("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", str(tmp_path))

    with pytest.raises(FileNotFoundError, match=r"architecture file '.*missing\.json' does not"):
        draw_architecture(str(tmp_path / "missing.json"), str(tmp_path))
    path = tmp_path / "arch.json"
    path.write_text("{oops")
    with pytest.raises(ValueError, match="is not valid JSON"):
        draw_architecture(str(path), str(tmp_path))
    path.write_text('{"blocks": ["k3_e3"], "width": 2}')
    with pytest.raises(ValueError, match=rf"architecture file '{path}': cannot draw .*'width'"):
        draw_architecture(str(path), str(tmp_path))
    assert os.listdir(tmp_path) == ["arch.json"]


def test_op_colors_are_fixed_and_distinct():
    assert op_color("sep_conv_3x3") == OP_COLORS["sep_conv_3x3"]
    assert op_color("my_op") == op_color("my_op") and op_color("my_op").startswith("#")
    darts = ["sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3",
             "avg_pool_3x3", "skip_connect", "none"]  # fmt: skip
    assert len({op_color(n) for n in darts}) == len(darts)
