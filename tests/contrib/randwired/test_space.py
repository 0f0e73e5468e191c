"""The randwired space: choice labels, its text, the stage diagrams, and a search and the
retraining of its architecture from the command line."""

import collections
import csv
import json
import os

import pytest
import yaml
from visualize.figure_checks import has_color, svg_ids, svg_style, svg_texts
from visualize.figure_checks import png as check_png

from nnabla_nas.cli import main
from nnabla_nas.contrib.randwired import diagram
from nnabla_nas.contrib.randwired.diagram import COLORS
from nnabla_nas.contrib.randwired.ops import OPS
from nnabla_nas.contrib.registry import get_space

from .test_arch import ARCH


def test_choice_labels_name_the_stage_and_the_node():
    space = get_space("randwired")
    assert space.choice_label("stage_2/node_5") == "stage 2 node 5"
    assert space.choice_label("stage_0/node_12") == "stage 0 node 12"
    for unknown in ("stage_2/node_x", "stage_2", "normal/edge_3", "stage_1/node_2/x"):
        assert space.choice_label(unknown) == unknown


def test_the_one_line_text_counts_each_stages_ops():
    assert get_space("randwired").describe(ARCH) == (
        "WS(2, 0.5), graph seed 0; "
        "stage 0: 3 nodes (1 sep_conv_3x3, 1 max_pool_3x3, 1 dil_conv_3x3); "
        "stage 1: 4 nodes (1 avg_pool_3x3, 1 sep_conv_5x5, 1 sep_conv_3x3, 1 max_pool_3x3)"
    )
    by_hand = {**ARCH, "generator": None, "graph_seed": None}
    assert get_space("randwired").describe(by_hand).startswith("drawn by hand; stage 0: 3 nodes")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("randwired")
    return folder, get_space("randwired").draw(ARCH, str(folder))


def key(endpoint):
    return endpoint if endpoint in ("in", "out") else f"n{endpoint}"


@pytest.mark.parametrize("stage", [0, 1])
def test_the_diagram_of_a_stage_shows_every_edge_and_colours_nodes_by_op(drawn, stage):
    folder, paths = drawn
    assert paths == [str(folder / f"arch_stage{s}.{e}") for s in (0, 1) for e in ("svg", "png")]
    svg = str(folder / f"arch_stage{stage}.svg")
    ids = svg_ids(svg)
    record = ARCH["stages"][stage]
    edges = {i for i in ids if i.startswith("edge-")}
    assert edges == {f"edge-{key(a)}-{key(b)}" for a, b in record["edges"]}
    for i, op in enumerate(record["nodes"]):
        assert COLORS[op] in svg_style(svg, f"node-n{i}")
    assert {"node-in", "node-out"} <= ids
    assert {i[len("legend-") :] for i in ids if i.startswith("legend-")} == set(record["nodes"])
    texts = svg_texts(svg)
    assert f"stage {stage}: {len(record['nodes'])} nodes" in texts
    assert "WS(2, 0.5), graph seed 0; node colour: its op" in texts
    assert collections.Counter(t for t in texts if t in COLORS) == collections.Counter(
        set(record["nodes"])
    )
    rgb = check_png(str(folder / f"arch_stage{stage}.png"), (300, 500), 50)
    for op in record["nodes"]:
        assert has_color(rgb, COLORS[op]), op


def test_every_registered_op_has_its_own_colour():
    assert set(COLORS) == set(OPS) and len(set(COLORS.values())) == len(COLORS)
    assert get_space("randwired").colors is diagram.COLORS


def test_drawing_a_bad_architecture_writes_nothing(tmp_path):
    bad = {**ARCH, "stages": [ARCH["stages"][0], {"nodes": ["x"], "edges": []}]}
    with pytest.raises(ValueError, match="stage 1 node 0: unknown op 'x'"):
        get_space("randwired").draw(bad, str(tmp_path))
    assert os.listdir(tmp_path) == []


QUICK = dict(get_space("randwired").quick_options)
DATASET = {"name": "digits", "batch_size": 128, "test_fraction": 0.5}
TRAIN_KEYS = ("channels", "stem", "head_channels")


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_search_and_the_retraining_of_its_architecture_from_the_command_line(tmp_path):
    search = {"seed": 0, "epochs": 1, "searcher": "gdas", "dataset": DATASET,
              "model": {"name": "randwired", **QUICK}, "optimizer": {"lr": 0.05}}  # fmt: skip
    out = str(tmp_path / "search")
    assert main(["search", "-c", write(tmp_path / "s.yaml", search), "-o", out,
                 "--no-progress"]) == 0  # fmt: skip
    arch = get_space("randwired").read(f"{out}/arch.json")
    assert arch["generator"] == "WS(2, 0.5)" and arch["graph_seed"] == 0
    assert [len(s["nodes"]) for s in arch["stages"]] == [3, 6]
    assert {op for s in arch["stages"] for op in s["nodes"]} <= set(QUICK["candidates"])
    labels = {row["choice"] for row in csv.DictReader(open(f"{out}/arch_probs.csv"))}
    assert labels == {f"stage_{s}/node_{i}" for s, n in ((0, 3), (1, 6)) for i in range(n)}
    assert sorted(f for f in os.listdir(f"{out}/figures") if f.startswith("arch_stage")) == [
        f"arch_stage{s}.{e}" for s in (0, 1) for e in ("png", "svg")
    ]  # fmt: skip
    train = {"seed": 0, "epochs": 1, "drop_path": 0.1, "dataset": DATASET,
             "model": {"name": "randwired", **{k: QUICK[k] for k in TRAIN_KEYS}}}  # fmt: skip
    retrained = str(tmp_path / "train")
    assert main(["train", "-c", write(tmp_path / "t.yaml", train), "-o", retrained,
                 "--arch", f"{out}/arch.json", "--no-progress"]) == 0  # fmt: skip
    result = json.load(open(f"{retrained}/result.json"))
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert json.load(open(f"{retrained}/arch.json")) == arch


def test_retraining_a_cyclic_architecture_is_a_one_line_error(tmp_path, capsys):
    bad = {**ARCH, "stages": [{"nodes": ["sep_conv_3x3"] * 2,
                               "edges": [["in", 0], [0, 1], [1, 0], [1, "out"]]}]}  # fmt: skip
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(bad))
    train = {"seed": 0, "epochs": 1, "dataset": DATASET,
             "model": {"name": "randwired", **{k: QUICK[k] for k in TRAIN_KEYS}}}  # fmt: skip
    out = str(tmp_path / "train")
    assert main(["train", "-c", write(tmp_path / "t.yaml", train), "-o", out, "--arch",
                 str(path), "--no-progress"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stage 0: node 0 reads the stage input and nodes [1]" in err[0]
