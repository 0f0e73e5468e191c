import doctest
import json

import numpy as np
import pytest
import yaml

from nnabla_nas.cli import main
from nnabla_nas.contrib.ofa import OFANet, OFASupernet, space
from nnabla_nas.contrib.registry import get_space

OPTIONS = {"settings": "digits"}


@pytest.fixture(scope="module")
def ofa():
    return get_space("ofa")


@pytest.fixture(scope="module")
def supernet(ofa):
    return ofa.make_search_net(1, 10, seed=0, options=OPTIONS)


def test_the_docstring_examples_run():
    doctest.testmod(space, raise_on_error=True)


def test_the_space_is_registered_with_its_networks(ofa, supernet):
    assert ofa.name == "ofa" and isinstance(supernet, OFASupernet)
    assert not supernet.get_arch_parameters()  # searched by sampling, not by alphas
    assert set(ofa.options("search")) >= {"settings", "width_mult", "kernels", "depths"}
    train = ofa.make_train_net(1, 10, supernet.min_arch(), seed=0, options=OPTIONS)
    assert isinstance(train, OFANet) and train.arch() == supernet.min_arch()


def test_derive_is_the_active_architecture(ofa, supernet):
    chosen = supernet.sample_active(4)
    assert ofa.derive(supernet) == chosen
    supernet.set_active(supernet.max_arch())
    with pytest.raises(TypeError, match="OFASupernet"):
        ofa.derive(OFANet(1, 10, chosen, settings="digits"))


def test_read_and_write_round_trip(ofa, supernet, tmp_path):
    chosen = supernet.sample_active(2)
    path = str(tmp_path / "arch.json")
    ofa.write(path, chosen)
    assert ofa.read(path) == chosen
    chosen["stages"][0]["blocks"][0]["kernel"] = 4
    (tmp_path / "bad.json").write_text(json.dumps(chosen))
    with pytest.raises(ValueError, match=r"\(ofa space\): stages\[0\]\.blocks\[0\]\.kernel: 4"):
        ofa.read(str(tmp_path / "bad.json"))
    supernet.set_active(supernet.max_arch())


def test_the_decisions_are_kernel_and_expansion_per_block_and_depth_per_stage(ofa, supernet):
    decisions = ofa.decisions(supernet)
    assert len(decisions) == 5 * 4 * 2 + 5
    labels = [d.label for d in decisions]
    assert labels[:3] == ["stage1.depth", "stage1.block1.kernel", "stage1.block1.expand"]
    assert "stage5.block4.expand" in labels
    by_label = {d.label: d.options for d in decisions}
    assert by_label["stage2.block3.kernel"] == ("3", "5", "7")
    assert by_label["stage2.block3.expand"] == ("3", "4", "6")
    assert by_label["stage4.depth"] == ("2", "3", "4")
    assert ofa.choice_label("stage1.block2.kernel") == "stage 1 block 2 kernel"
    assert ofa.choice_label("stage3.depth") == "stage 3 depth"
    assert ofa.choice_label("stage9.depth") == "stage9.depth"


def test_from_choices_and_the_decisions_round_trip(ofa, supernet):
    decisions = ofa.decisions(supernet)
    before = ofa.derive(supernet)
    rng = np.random.default_rng(0)
    for _ in range(10):
        choices = [d.options[rng.integers(len(d.options))] for d in decisions]
        chosen = ofa.from_choices(supernet, choices)
        value = dict(zip([d.label for d in decisions], map(int, choices), strict=True))
        for s, stage in enumerate(chosen["stages"], start=1):
            assert stage["depth"] == value[f"stage{s}.depth"]
            for b, block in enumerate(stage["blocks"], start=1):
                assert block == {"kernel": value[f"stage{s}.block{b}.kernel"],
                                 "expand": value[f"stage{s}.block{b}.expand"]}  # fmt: skip
        supernet.set_active(chosen)
        assert ofa.derive(supernet) == chosen
    supernet.set_active(before)
    assert ofa.derive(supernet) == before
    with pytest.raises(ValueError, match=r"'stage1\.depth' has no option '5'"):
        ofa.from_choices(supernet, ["5"] + [d.options[0] for d in decisions[1:]])
    with pytest.raises(ValueError, match="expected 45 choices, one per decision, got 0"):
        ofa.from_choices(supernet, [])


def test_a_resolution_choice_is_a_decision(ofa):
    net = ofa.make_search_net(1, 10, seed=0, options={**OPTIONS, "resolutions": [6, 8]})
    decisions = ofa.decisions(net)
    assert decisions[-1].label == "resolution" and decisions[-1].options == ("6", "8")
    chosen = ofa.from_choices(net, [d.options[0] for d in decisions])
    assert chosen["resolution"] == 6 and chosen == net.min_arch()


def test_the_train_net_has_the_parameter_count_of_the_static_subnet(ofa, supernet):
    chosen = supernet.sample_active(9)
    static = supernet.to_static()
    train = ofa.make_train_net(1, 10, chosen, seed=1, options=OPTIONS)
    assert train.count_parameters() == static.count_parameters()
    assert list(train.get_parameters()) == list(static.get_parameters())
    supernet.set_active(supernet.max_arch())


def test_describe_and_draw(ofa, supernet, tmp_path):
    chosen = supernet.min_arch()
    assert ofa.describe(chosen) == " | ".join(["d2 k3e3 k3e3"] * 5)
    paths = ofa.draw(chosen, str(tmp_path))
    svg = open(paths[0], encoding="utf-8").read()
    assert 'id="stage1-block2"' in svg and 'id="stage1-unused3"' in svg
    assert 'id="stage1-block3"' not in svg


@pytest.mark.parametrize("searcher", ["darts", "spos"])
def test_a_one_shot_searcher_on_ofa_is_one_line_naming_the_strategies(tmp_path, capsys, searcher):
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "searcher": searcher,
                "epochs": 1,
                "dataset": {"name": "digits", "batch_size": 64},
                "model": {"name": "ofa", "settings": "digits"},
            }
        )
    )
    out = tmp_path / "run"
    assert main(["search", "-c", str(config), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"searcher {searcher!r}: the ofa space" in err
    assert "multitrial.evaluator: train" in err and "evolution" in err
    assert not out.exists()


def test_canonical_choices_keep_the_architecture_and_fix_the_unused_decisions(ofa, supernet):
    decisions = ofa.decisions(supernet)
    rng = np.random.default_rng(1)
    seen: dict[str, set[tuple[str, ...]]] = {}
    for _ in range(30):
        choices = [d.options[rng.integers(len(d.options))] for d in decisions]
        canonical = ofa.canonical_choices(supernet, choices)
        arch = ofa.from_choices(supernet, choices)
        assert ofa.from_choices(supernet, canonical) == arch
        assert ofa.canonical_choices(supernet, canonical) == canonical
        value = dict(zip([d.label for d in decisions], canonical, strict=True))
        for d in decisions:
            stage, _, rest = d.label.partition(".")
            if rest.startswith("block") and int(rest[5]) > int(value[f"{stage}.depth"]):
                assert value[d.label] == d.options[0]
        seen.setdefault(json.dumps(arch, sort_keys=True), set()).add(canonical)
    assert all(len(tuples) == 1 for tuples in seen.values())
