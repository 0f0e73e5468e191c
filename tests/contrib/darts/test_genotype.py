import copy
import json

import numpy as np
import pytest

from nnabla_nas.contrib.darts.genotype import (
    DARTS_V2,
    derive_cell,
    edge_count,
    load_genotype,
    save_genotype,
    validate_genotype,
)
from nnabla_nas.contrib.darts.modules import CANDIDATE_NAMES


def modified(key, value):
    genotype = copy.deepcopy(DARTS_V2)
    genotype[key] = value
    return genotype


def with_entry(key, index, entry):
    genotype = copy.deepcopy(DARTS_V2)
    genotype[key][index] = entry
    return genotype


def test_darts_v2_is_valid_and_normalised_unchanged():
    assert validate_genotype(DARTS_V2) == DARTS_V2
    assert validate_genotype(DARTS_V2, num_nodes=4) == DARTS_V2


def test_validate_normalises_tuples_to_lists_and_orders_keys():
    genotype = {k: DARTS_V2[k] for k in reversed(list(DARTS_V2))}
    genotype["normal"] = [tuple(e) for e in DARTS_V2["normal"]]
    checked = validate_genotype(genotype)
    assert checked == DARTS_V2
    assert list(checked) == ["normal", "normal_concat", "reduce", "reduce_concat"]
    assert json.loads(json.dumps(checked)) == checked


def test_validate_returns_a_copy():
    checked = validate_genotype(DARTS_V2)
    checked["normal"][0][0] = "max_pool_3x3"
    assert DARTS_V2["normal"][0][0] == "sep_conv_3x3"


@pytest.mark.parametrize(
    "genotype, message",
    [
        ([1, 2], "a genotype is a dict"),
        (
            {k: v for k, v in DARTS_V2.items() if k != "reduce_concat"},
            r"missing \['reduce_concat'\]",
        ),
        ({**DARTS_V2, "extra": 1}, r"unknown \['extra'\]"),
        (
            with_entry("normal", 3, ["sep_conv_9x9", 1]),
            "genotype 'normal' entry 3: unknown op 'sep_conv_9x9'; known ops: sep_conv_3x3",
        ),
        (with_entry("reduce", 0, ["none", 0]), "'reduce' entry 0: op 'none' is not allowed"),
        (with_entry("normal", 2, ["sep_conv_3x3"]), r"entry 2: expected \[op, input_index\]"),
        (with_entry("normal", 2, "sep_conv_3x3"), r"entry 2: expected \[op, input_index\]"),
        (with_entry("normal", 2, [3, 0]), "entry 2: unknown op 3"),
        (with_entry("normal", 1, ["sep_conv_3x3", 2]), r"entry 1 \(node 0\): input index 2"),
        (with_entry("normal", 7, ["sep_conv_3x3", 5]), r"entry 7 \(node 3\): input index 5"),
        (with_entry("normal", 6, ["sep_conv_3x3", -1]), "input index -1"),
        (with_entry("normal", 6, ["sep_conv_3x3", 1.0]), "input index 1.0"),
        (with_entry("normal", 6, ["sep_conv_3x3", True]), "input index True"),
        (modified("normal", DARTS_V2["normal"][:7]), "'normal' has 7 entries.*2 per node"),
        (modified("reduce", []), "'reduce' must be a non-empty list"),
        (modified("normal_concat", [2, 3, 6]), r"'normal_concat': index 6 .*\(0..5\)"),
        (modified("reduce_concat", [2, 2]), "'reduce_concat': repeated index"),
        (modified("reduce_concat", []), "'reduce_concat' must be a non-empty list"),
        (modified("normal_concat", "2345"), "'normal_concat' must be a non-empty list"),
    ],
)
def test_validate_names_the_problem(genotype, message):
    with pytest.raises(ValueError, match=message):
        validate_genotype(genotype)


def test_validate_checks_the_number_of_nodes():
    with pytest.raises(ValueError, match="'normal' has 8 entries; 3 nodes need 6"):
        validate_genotype(DARTS_V2, num_nodes=3)


def test_cells_may_have_different_sizes():
    genotype = modified("reduce", DARTS_V2["reduce"][:4])
    genotype["reduce_concat"] = [2, 3]
    assert validate_genotype(genotype)["reduce"] == DARTS_V2["reduce"][:4]


def test_edge_count():
    assert [edge_count(n) for n in (1, 2, 3, 4)] == [2, 5, 9, 14]


def one_hot_probs(choices, num_nodes, none_wins=()):
    """Edge probabilities where edge ``k`` prefers ``choices[k] = (op, weight)``."""
    probs = np.full((edge_count(num_nodes), len(CANDIDATE_NAMES)), 0.01)
    for edge, (op, weight) in choices.items():
        probs[edge, CANDIDATE_NAMES.index(op)] = weight
    for edge in none_wins:
        probs[edge, CANDIDATE_NAMES.index("none")] = 0.9
    return probs


def test_derive_cell_keeps_the_two_strongest_edges_and_skips_none():
    # Node 0: edges 0, 1; node 1: edges 2, 3, 4 (from states 0, 1, 2).
    choices = {0: ("sep_conv_3x3", 0.3), 1: ("max_pool_3x3", 0.5), 2: ("skip_connect", 0.2)}
    choices.update({3: ("dil_conv_5x5", 0.05), 4: ("avg_pool_3x3", 0.4)})
    probs = one_hot_probs(choices, 2, none_wins=[3])
    assert derive_cell(probs, CANDIDATE_NAMES, 2) == [
        ["max_pool_3x3", 1], ["sep_conv_3x3", 0], ["avg_pool_3x3", 2], ["skip_connect", 0],
    ]  # fmt: skip


def test_derive_cell_checks_the_shape():
    with pytest.raises(ValueError, match=r"shape \(5, 8\)"):
        derive_cell(np.zeros((14, 8)), CANDIDATE_NAMES, 2)


def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / "sub" / "arch.json")
    save_genotype(path, DARTS_V2)
    text = open(path).read()
    assert text.startswith('{\n  "normal"')
    assert load_genotype(path) == DARTS_V2
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["arch.json"]


def test_save_rejects_an_invalid_genotype(tmp_path):
    path = tmp_path / "arch.json"
    with pytest.raises(ValueError, match="unknown op"):
        save_genotype(str(path), with_entry("normal", 0, ["conv_7x7", 0]))
    assert not path.exists()


def test_load_reports_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"genotype file .*nope\.json' does not exist"):
        load_genotype(str(tmp_path / "nope.json"))


def test_load_reports_invalid_json(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text('{"normal": [')
    with pytest.raises(ValueError, match=r"arch\.json' is not valid JSON"):
        load_genotype(str(path))


def test_load_reports_an_invalid_genotype_with_its_path(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(with_entry("reduce", 5, ["sep_conv_9x9", 2])))
    with pytest.raises(ValueError, match=r"arch\.json': genotype 'reduce' entry 5: unknown op"):
        load_genotype(str(path))
