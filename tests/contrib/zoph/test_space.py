import collections
import csv
import json
import os

import pytest
import yaml
from visualize.figure_checks import DIAGRAM, has_color, svg_ids, svg_style, svg_texts
from visualize.figure_checks import png as check_png

from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.contrib.zoph import diagram
from nnabla_nas.contrib.zoph.diagram import COLORS
from nnabla_nas.contrib.zoph.ops import OPS

from .reference import GENOTYPE, UNUSED


def test_choice_labels_name_the_block_the_pair_and_its_states():
    space = get_space("zoph")
    assert space.choice_label("normal/block_0/pair_1") == "normal b0 pair 1 <- {c_{k-2}, c_{k-1}}"
    assert space.choice_label("reduce/block_2/pair_0") == (
        "reduce b2 pair 0 <- {c_{k-2}, c_{k-1}, b0, b1}"
    )
    for unknown in ("normal/block_0/pair_2", "cell/block_0/pair_0", "normal/edge_3"):
        assert space.choice_label(unknown) == unknown


def state(index):
    return f"in{index}" if index < 2 else f"b{index - 2}"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoph")
    paths = get_space("zoph").draw(GENOTYPE, str(folder))
    return folder, paths


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_the_diagram_shows_every_pair_with_its_op_and_the_unused_blocks(drawn, kind):
    folder, paths = drawn
    assert paths == [str(folder / f"arch_{k}.{e}") for k in ("normal", "reduce")
                     for e in ("svg", "png")]  # fmt: skip
    svg = str(folder / f"arch_{kind}.svg")
    ids = svg_ids(svg)
    seen = collections.Counter()
    for b, block in enumerate(GENOTYPE[kind]):
        for op, j in block:
            gid = f"edge-{state(j)}-b{b}"
            seen[gid] += 1
            gid = gid if seen[gid] == 1 else f"{gid}-{seen[gid]}"
            assert gid in ids and COLORS[op] in svg_style(svg, gid)
    concat = {i[len("concat-b") :] for i in ids if i.startswith("concat-")}
    assert concat == {str(b) for b in UNUSED[kind]}
    ops = collections.Counter(op for block in GENOTYPE[kind] for op, _ in block)
    # Each label, and once in the legend.
    assert collections.Counter(
        t for t in svg_texts(svg) if t in COLORS
    ) == ops + collections.Counter(set(ops))
    rgb = check_png(str(folder / f"arch_{kind}.png"), *DIAGRAM)
    for op in ops:
        assert has_color(rgb, COLORS[op]), op


def test_every_registered_op_has_its_own_colour():
    assert set(COLORS) == set(OPS) and len(set(COLORS.values())) == len(COLORS)
    assert get_space("zoph").colors is diagram.COLORS


def test_drawing_a_bad_genotype_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="unknown op"):
        get_space("zoph").draw({**GENOTYPE, "normal": [[["x", 0], ["identity", 1]]] * 5},
                               str(tmp_path))  # fmt: skip
    assert os.listdir(tmp_path) == []


QUICK = dict(get_space("zoph").quick_options)
DATASET = {"name": "digits", "batch_size": 128, "test_fraction": 0.5}


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_search_and_the_retraining_of_its_architecture_from_the_command_line(tmp_path):
    search = {"seed": 0, "epochs": 1, "searcher": "darts", "dataset": DATASET,
              "model": {"name": "zoph", **QUICK}, "optimizer": {"lr": 0.05}}  # fmt: skip
    out = str(tmp_path / "search")
    assert main(["search", "-c", write(tmp_path / "s.yaml", search), "-o", out,
                 "--no-progress"]) == 0  # fmt: skip
    arch = get_space("zoph").read(f"{out}/arch.json")
    assert len(arch["normal"]) == len(arch["reduce"]) == QUICK["num_blocks"]
    assert {op for kind in arch.values() for block in kind for op, _ in block} <= set(
        QUICK["candidates"]
    )
    probs = list(csv.DictReader(open(f"{out}/arch_probs.csv")))
    assert probs
    train = {"seed": 0, "epochs": 1, "drop_path": 0.1, "dataset": DATASET,
             "model": {"name": "zoph", "init_channels": 4, "num_cells": 3}}  # fmt: skip
    retrained = str(tmp_path / "train")
    assert main(["train", "-c", write(tmp_path / "t.yaml", train), "-o", retrained,
                 "--arch", f"{out}/arch.json", "--no-progress"]) == 0  # fmt: skip
    result = json.load(open(f"{retrained}/result.json"))
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert json.load(open(f"{retrained}/arch.json")) == arch
