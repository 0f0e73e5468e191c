"""The static space: the builder a config names, its clear errors, the architecture
record, and a search and retraining by the command line."""

import json
import os
import re

import pytest
import yaml

from nnabla_nas import module as Mo
from nnabla_nas.cli import main
from nnabla_nas.contrib.dag import Graph
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.contrib.static import build_graph

HERE = __name__


def build(in_channels, num_classes, *, rng, width=4):
    """The graph the tests search: a stem, a choice added to a 1x1 branch, a head."""
    choice = Mo.MixedOp(
        [Mo.Conv(width, width, (3, 3), pad=(1, 1)), Mo.Identity()], rng=rng, label="block",
        names=["conv3", "skip"],
    )  # fmt: skip
    return Graph(
        "x",
        [
            ("stem", Mo.Conv(in_channels, width, (3, 3), pad=(1, 1)), "x"),
            ("block", choice, "stem"),
            ("branch", Mo.Conv(width, width, (1, 1)), "stem"),
            ("sum", Mo.Merging("add"), ["block", "branch"]),
            ("head", Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(width, num_classes)), "sum"),
        ],
        "head",
    )


def not_a_graph(in_channels, num_classes, *, rng):
    return Mo.ReLU()


def positional_only(in_channels, num_classes):
    return build(in_channels, num_classes, rng=0)


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("mypkg.nets", {}, "model.builder: expected 'package.module:function', got 'mypkg.nets'"),
        ("no_such_pkg.nets:build", {}, "cannot import module 'no_such_pkg.nets' (No module named"),
        (f"{HERE}:missing", {}, f"module '{HERE}' has no function 'missing'; its functions are: "),
        (f"{HERE}:HERE", {}, "has a non-callable 'HERE'"),
        (f"{HERE}:not_a_graph", {}, "returned a ReLU; it must return a nnabla_nas.contrib.dag."),
        (f"{HERE}:positional_only", {}, "is called as (in_channels, num_classes, *, rng, **kw"),
        (f"{HERE}:build", {"depth": 2}, "with model.kwargs ['depth'], which it does not take"),
    ],
)
def test_a_builder_that_cannot_be_used_is_a_clear_error(spec, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_graph(spec, 1, 10, rng=0, kwargs=kwargs)


OPTIONS = {"builder": f"{HERE}:build", "kwargs": {"width": 4}}


def test_the_architecture_records_choices_and_wiring_and_retrains_its_graph():
    space = get_space("static")
    net = space.make_search_net(1, 10, seed=0, options=OPTIONS)
    arch = space.derive(net)
    assert set(arch["choices"]) == {"block"} and arch["graph"] == net.record()
    assert json.loads(json.dumps(arch)) == arch
    chosen = {**arch, "choices": {"block": "conv3"}}
    train = space.make_train_net(1, 10, chosen, seed=0, options=OPTIONS)
    assert type(train["block"]).__name__ == "Conv" and not train.get_arch_parameters()
    assert space.describe(chosen) == "block=conv3"
    with pytest.raises(ValueError, match="choice 'block': unknown candidate 'pool'"):
        space.validate({**arch, "choices": {"block": "pool"}})
    with pytest.raises(
        ValueError, match=r"one candidate for each of the graph's choices \['block'\]"
    ):
        space.validate({**arch, "choices": {}})


def test_an_architecture_of_another_graph_is_refused_at_retraining():
    space = get_space("static")
    arch = space.derive(space.make_search_net(1, 10, seed=0, options=OPTIONS))
    other = {"builder": "nnabla_nas.contrib.static.examples:tiny", "kwargs": {"channels": 4}}
    with pytest.raises(ValueError, match=r"retrain with the model\.builder and model\.kwargs of"):
        space.make_train_net(1, 10, arch, seed=0, options=other)


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_search_and_train_by_the_command_line(tmp_path):
    base = {
        "seed": 0,
        "epochs": 1,
        "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
        "model": {"name": "static", **OPTIONS},
        "optimizer": {"lr": 0.05},
    }
    search, train = str(tmp_path / "search"), str(tmp_path / "train")
    config = write(tmp_path / "search.yaml", {**base, "searcher": "darts"})
    assert main(["search", "-c", config, "-o", search, "--no-progress"]) == 0
    with open(os.path.join(search, "arch.json")) as f:
        arch = json.load(f)
    assert set(arch["choices"]) == {"block"} and arch["choices"]["block"] in ("conv3", "skip")
    assert [n["name"] for n in arch["graph"]["nodes"]] == ["stem", "block", "branch", "sum", "head"]
    figures = set(os.listdir(os.path.join(search, "figures")))
    assert {"arch.svg", "arch.png", "probs.png"} <= figures
    with open(os.path.join(search, "figures", "arch.svg")) as f:
        assert f"chosen: block={arch['choices']['block']}" in f.read()
    train_cfg = write(tmp_path / "train.yaml", base)
    arch_path = os.path.join(search, "arch.json")
    assert main(["train", "-c", train_cfg, "-o", train, "--arch", arch_path, "--no-progress"]) == 0
    with open(os.path.join(train, "result.json")) as f:
        assert 0.0 <= json.load(f)["test_accuracy"] <= 1.0


def test_a_config_without_a_builder_is_refused(tmp_path, capsys):
    data = {"epochs": 1, "dataset": {"name": "digits"}, "model": {"name": "static"}}
    assert main(["search", "-c", write(tmp_path / "c.yaml", data), "-o", str(tmp_path / "o")]) != 0
    assert "the search network of space 'static' needs builder" in capsys.readouterr().err
