import itertools
import json
import os

import pytest

from nnabla_nas.contrib.mobilenet.arch import (
    SETTINGS,
    Stage,
    block_choices,
    check_stages,
    load_arch,
    plan_blocks,
    save_arch,
    searchable_blocks,
    validate_genotype,
)
from nnabla_nas.contrib.mobilenet.modules import CANDIDATE_NAMES

TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
TINY = [[1, 8, 1, 1], [3, 8, 2, 2], [3, 16, 1, 1]]


def test_settings_follow_the_mobilenet_v2_table():
    imagenet, cifar = SETTINGS["imagenet"], SETTINGS["cifar10"]
    assert [tuple(s) for s in imagenet.stages] == TABLE
    assert imagenet.stem_stride == 2 and cifar.stem_stride == 1
    assert [s.stride for s in cifar.stages] == [1, 1, 2, 2, 1, 2, 1]
    assert [s[:3] for s in cifar.stages] == [s[:3] for s in imagenet.stages]


def test_plan_chains_the_channels():
    blocks = plan_blocks(SETTINGS["imagenet"].stages)
    assert len(blocks) == 17 and len(searchable_blocks(SETTINGS["imagenet"].stages)) == 16
    assert blocks[0].in_channels == 32 and blocks[-1].out_channels == 320
    for before, after in itertools.pairwise(blocks):
        assert after.in_channels == before.out_channels
    assert [b.stride for b in blocks[:4]] == [1, 2, 1, 2]


@pytest.mark.parametrize("settings", ["imagenet", "cifar10"])
def test_skip_is_offered_on_repeated_blocks_only(settings):
    choices = block_choices(SETTINGS[settings].stages, CANDIDATE_NAMES)
    blocks = searchable_blocks(SETTINGS[settings].stages)
    assert sum("skip" in c for c in choices) == 10
    for block, names in zip(blocks, choices, strict=True):
        assert ("skip" in names) == (block.repeat > 0)
        assert names[:6] == CANDIDATE_NAMES[:6]


def test_validate_returns_a_clean_copy():
    genotype = {"settings": "cifar10", "blocks": ["k3_e6", "skip", "k7_e3"], "stages": TINY}
    record = validate_genotype(genotype)
    assert record == genotype and record is not genotype
    bare = {"settings": "cifar10", "blocks": genotype["blocks"]}
    assert validate_genotype(bare, stages=[tuple(s) for s in TINY]) == genotype


@pytest.mark.parametrize(
    "genotype, message",
    [
        (["k3_e6"], "is an object .* got list"),
        ({"settings": "cifar10"}, r"missing keys \['blocks'\]"),
        ({"settings": "cifar10", "blocks": [], "depth": 3}, r"unknown keys \['depth'\]"),
        ({"settings": "svhn", "blocks": []}, "unknown MobileNetV2 settings 'svhn'"),
        ({"settings": "cifar10", "blocks": "k3_e6"}, "must be a list of candidate names"),
        ({"settings": "cifar10", "blocks": ["k3_e6"] * 15}, "has 15 blocks but .* have 16"),
        ({"settings": "cifar10", "blocks": [], "stages": [[1, 8, 1]]}, r"stages\[0\]: expected"),
        ({"settings": "cifar10", "blocks": [], "stages": [[1, 8, 1, 0]] * 2}, "positive ints"),
        (
            {"settings": "imagenet", "blocks": ["k3_e6"] * 15 + [7]},
            r"block 15 \(stage 6, repeat 0\): unknown op 7",
        ),
    ],
)
def test_validate_names_the_problem(genotype, message):
    with pytest.raises(ValueError, match=message):
        validate_genotype(genotype)


def test_check_stages():
    assert check_stages(TINY) == (Stage(1, 8, 1, 1), Stage(3, 8, 2, 2), Stage(3, 16, 1, 1))
    with pytest.raises(ValueError, match="list of"):
        check_stages("1,8,1,1")
    with pytest.raises(ValueError, match="positive ints"):
        check_stages([[1, 8, 1, True], [1, 8, 1, 1]])


def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / "out" / "arch.json")
    genotype = {"settings": "cifar10", "blocks": ["k5_e3", "k3_e3", "k7_e6"], "stages": TINY}
    save_arch(path, genotype)
    assert json.loads(open(path).read()) == genotype
    assert load_arch(path) == genotype


def test_save_refuses_an_invalid_genotype_and_writes_nothing(tmp_path):
    path = str(tmp_path / "arch.json")
    with pytest.raises(ValueError, match="'skip' is not allowed"):
        save_arch(
            path, {"settings": "cifar10", "blocks": ["skip", "k3_e3", "k3_e3"], "stages": TINY}
        )
    assert os.listdir(tmp_path) == []


def test_load_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_arch(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json' is not valid JSON"):
        load_arch(str(bad))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"settings": "cifar10", "blocks": ["k3_e3"]}))
    with pytest.raises(ValueError, match=r"wrong\.json': the genotype has 1 blocks"):
        load_arch(str(wrong))
