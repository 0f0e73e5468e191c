import copy
import json
import re

import numpy as np
import pytest

from nnabla_nas.contrib.registry import get_space
from nnabla_nas.contrib.zoph.genotype import (
    derive_cell,
    pair_name,
    pair_names,
    parse_pair,
    unused_blocks,
    validate_genotype,
)
from nnabla_nas.contrib.zoph.ops import DEFAULT_CANDIDATES, OPS

from .reference import GENOTYPE, UNUSED


def with_pair(kind, block, pair, value):
    genotype = copy.deepcopy(GENOTYPE)
    genotype[kind][block][pair] = value
    return genotype


def test_the_reference_is_valid_and_normalised_unchanged():
    assert validate_genotype(GENOTYPE) == GENOTYPE
    assert validate_genotype(GENOTYPE, num_blocks=5) == GENOTYPE


def test_validate_normalises_tuples_to_lists_and_orders_keys_in_a_copy():
    given = {
        "reduce": GENOTYPE["reduce"],
        "normal": [tuple(map(tuple, b)) for b in GENOTYPE["normal"]],
    }
    checked = validate_genotype(given)
    assert checked == GENOTYPE and list(checked) == ["normal", "reduce"]
    assert json.loads(json.dumps(checked)) == checked
    checked["normal"][0][0][0] = "conv_3x3"
    assert GENOTYPE["normal"][0][0][0] == "sep_conv_3x3"


@pytest.mark.parametrize(
    "genotype, message",
    [
        ([1, 2], "a genotype is a dict with keys"),
        ({"normal": GENOTYPE["normal"]}, r"missing \['reduce'\]"),
        ({**GENOTYPE, "normal_concat": [3, 4]}, r"unknown \['normal_concat'\]"),
        (with_pair("normal", 3, 1, ["sep_conv_9x9", 3]),
         r"genotype 'normal' block 3 pair 1: unknown op 'sep_conv_9x9'; known ops: identity, "),
        (with_pair("reduce", 0, 0, ["identity", 2]),
         r"genotype 'reduce' block 0 pair 0: bad input index 2; block 0 reads an int in 0\.\.1"),
        (with_pair("normal", 4, 0, ["identity", 7]),
         r"block 4 pair 0: bad input index 7; block 4 reads an int in 0\.\.5"),
        (with_pair("normal", 2, 0, ["identity", -1]), "bad input index -1"),
        (with_pair("normal", 2, 0, ["identity", True]), "bad input index True"),
        (with_pair("normal", 2, 0, ["identity", "1"]), "bad input index '1'"),
        (with_pair("normal", 2, 0, ["identity"]), r"block 2 pair 0: expected \[op, input_index\]"),
        ({**GENOTYPE, "normal": [[["identity", 0]]]}, "'normal' block 0: expected 2 "),
        ({**GENOTYPE, "reduce": []}, "genotype 'reduce' must be a non-empty list of blocks"),
        ({**GENOTYPE, "reduce": GENOTYPE["reduce"][:4]},
         r"wrong block count: both cell types need as many blocks, got \{'normal': 5, "
         r"'reduce': 4\}"),
    ],
)  # fmt: skip
def test_validate_rejects_bad_genotypes_with_one_clear_message(genotype, message):
    with pytest.raises(ValueError, match=message):
        validate_genotype(genotype)


def test_validate_checks_the_block_count_it_is_given():
    with pytest.raises(ValueError, match=r"expected 4 blocks per cell, got \{'normal': 5"):
        validate_genotype(GENOTYPE, num_blocks=4)


def test_the_unused_blocks_are_those_no_block_reads():
    for kind in ("normal", "reduce"):
        assert unused_blocks(GENOTYPE[kind]) == UNUSED[kind]
    chain = [[["identity", 0], ["identity", 1]], [["identity", 2], ["identity", 2]]]
    assert unused_blocks(chain) == [1]


def test_pair_names_list_every_op_on_every_state_in_order():
    names = pair_names(1, ["identity", "max_pool_3x3"])
    assert names == ("identity.in0", "max_pool_3x3.in0", "identity.in1", "max_pool_3x3.in1",
                     "identity.in2", "max_pool_3x3.in2")  # fmt: skip
    assert [parse_pair(n) for n in names[-2:]] == [("identity", 2), ("max_pool_3x3", 2)]
    assert parse_pair(pair_name("conv_1x7_7x1", 12)) == ("conv_1x7_7x1", 12)
    # TensorBoard keeps only these characters of a summary name (the probabilities' tags)
    assert all(re.fullmatch(r"[\w.\-/]+", n) for n in pair_names(4, list(OPS)))
    for bad in ("identity", ".in3", "identity.inx", "identity~1"):
        with pytest.raises(ValueError, match="expected a pair name"):
            parse_pair(bad)


def test_derive_takes_each_pairs_most_probable_candidate():
    candidates = ["identity", "sep_conv_3x3", "max_pool_3x3"]
    # block 0: 2 states x 3 ops, block 1: 3 states x 3 ops; peaks by hand
    peaks = [4, 0, 8, 5]  # sep_conv_3x3~1, identity~0, max_pool_3x3~2, max_pool_3x3~1
    probs = []
    for k, peak in enumerate(peaks):
        p = np.full((k // 2 + 2) * 3, 0.1)
        p[peak] = 0.5
        probs.append(p)
    assert derive_cell(probs, candidates) == [
        [["sep_conv_3x3", 1], ["identity", 0]],
        [["max_pool_3x3", 2], ["max_pool_3x3", 1]],
    ]
    # ties go to the first candidate: the first op on c_{k-2}
    assert derive_cell([np.ones(6), np.ones(6)], candidates) == [[["identity", 0]] * 2]
    with pytest.raises(ValueError, match=r"block 1: expected 9 probabilities \(3 inputs x 3"):
        derive_cell([np.ones(6), np.ones(6), np.ones(6), np.ones(9)], candidates)
    with pytest.raises(ValueError, match="two probability vectors per block"):
        derive_cell([np.ones(6)], candidates)


def test_the_paper_operations_are_registered_and_the_default_is_a_subset():
    assert len(OPS) == 13
    assert set(DEFAULT_CANDIDATES) < set(OPS) and len(DEFAULT_CANDIDATES) == 8


def test_a_genotype_written_and_read_back_is_equal(tmp_path):
    space = get_space("zoph")
    path = str(tmp_path / "arch.json")
    space.write(path, GENOTYPE)
    assert space.read(path) == GENOTYPE
    assert json.load(open(path)) == GENOTYPE
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_pair("reduce", 1, 1, ["conv_9x9", 0])))
    with pytest.raises(ValueError, match=r"'.*bad\.json' \(zoph space\): genotype 'reduce' "
                       r"block 1 pair 1: unknown op 'conv_9x9'"):  # fmt: skip
        space.read(str(bad))
