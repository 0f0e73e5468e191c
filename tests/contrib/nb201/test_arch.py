import csv
import gzip
import io
import json
import os

import pytest

from nnabla_nas.contrib.nb201 import arch as A
from nnabla_nas.contrib.nb201.table import DEFAULT_PATH

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    "|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
)
BEST_OPS = (
    "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
)  # fmt: skip


def table_strings():
    with gzip.open(DEFAULT_PATH, "rt", encoding="utf-8") as f:
        return [row["arch_str"] for row in csv.DictReader(io.StringIO(f.read()))]


def test_ops_and_edges():
    assert A.OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert A.EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert A.NUM_ARCHS == 15625
    assert A.choices() == [list(A.OPS)] * 6


def test_parse_known_string():
    assert A.parse_arch(BEST) == BEST_OPS
    assert A.format_arch(BEST_OPS) == BEST


def test_round_trip_every_table_string():
    strings = table_strings()
    assert len(strings) == 15625
    parsed = [A.parse_arch(s) for s in strings]
    assert [A.format_arch(ops) for ops in parsed] == strings
    assert len(set(parsed)) == 15625


def test_index_bijection():
    archs = A.all_archs()
    assert len(archs) == len(set(archs)) == 5**6
    assert [A.arch_index(a) for a in archs] == list(range(5**6))
    assert all(A.arch_from_index(i) == a for i, a in enumerate(archs))
    assert A.arch_index(("none",) * 6) == 0
    assert A.arch_index(("avg_pool_3x3",) * 6) == 5**6 - 1
    assert A.arch_index(("none",) * 5 + ("skip_connect",)) == 1
    assert A.arch_index(("skip_connect",) + ("none",) * 5) == 5**5


@pytest.mark.parametrize("bad", [-1, 15625, 2.0, True, "3"])
def test_arch_from_index_rejects(bad):
    with pytest.raises(ValueError, match=r"an int in 0\.\.15624"):
        A.arch_from_index(bad)


@pytest.mark.parametrize(
    "text, message",
    [
        ("|none~0|+|none~0|none~1|", r"has 2 nodes separated by '\+'; a cell has 3"),
        (BEST + "+|none~0|", r"has 4 nodes"),
        (BEST.replace("nor_conv_1x1", "conv_5x5"), r"node 3: unknown op 'conv_5x5'; valid ops: "
         r"none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
        (BEST.replace("skip_connect~0", "skip_connect~1"),
         r"node 3: edge 'skip_connect~1' has input '1'; edge 0 of a node must come from node 0"),
        (BEST.replace("|nor_conv_3x3~0|nor_conv_3x3~1|", "|nor_conv_3x3~0|"),
         r"node 2: has 1 edges, needs 2 \(one from each of nodes 0\.\.1\)"),
        (BEST.replace("nor_conv_1x1~1|", ""), r"node 3: has 2 edges, needs 3"),
        (BEST.replace("nor_conv_3x3~2", "nor_conv_3x3"), r"'nor_conv_3x3' is not of the form"),
        (BEST[1:], r"node 1: expected edges between '\|'"),
        ("", r"has 1 nodes"),
    ],
)  # fmt: skip
def test_parse_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        A.parse_arch(text)


def test_parse_rejects_non_string():
    with pytest.raises(ValueError, match="must be a str, got tuple"):
        A.parse_arch(BEST_OPS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ops, message",
    [
        (BEST_OPS[:5], r"has 6 edges \(one op each\), got 5 ops"),
        ((*BEST_OPS, "none"), r"got 7 ops"),
        ((*BEST_OPS[:2], "max_pool_3x3", *BEST_OPS[3:]), r"edge 2: unknown op 'max_pool_3x3'"),
        (BEST, r"sequence of 6 op names"),
        (3, r"sequence of 6 op names"),
    ],
)
def test_validate_rejects(ops, message):
    with pytest.raises(ValueError, match=message):
        A.validate_arch(ops)


def test_as_ops_accepts_every_form():
    record = {"arch": BEST, "ops": list(BEST_OPS)}
    forms = [BEST, BEST_OPS, list(BEST_OPS), record, {"arch": BEST}, {"ops": list(BEST_OPS)}]
    assert all(A.as_ops(f) == BEST_OPS for f in forms)
    assert A.arch_record(BEST_OPS) == record


@pytest.mark.parametrize(
    "record, message",
    [
        ({"arch": BEST, "ops": ["none"] * 6}, "disagree"),
        ({"normal": []}, r"holds 'arch' .* and/or 'ops'.*got keys \['normal'\]"),
        ({}, r"got keys \[\]"),
        ({"arch": BEST, "extra": 1}, r"got keys \['arch', 'extra'\]"),
    ],
)
def test_record_rejects(record, message):
    with pytest.raises(ValueError, match=message):
        A.as_ops(record)


def test_save_load_round_trip(tmp_path):
    path = str(tmp_path / "sub" / "arch.json")
    A.save_arch(path, BEST_OPS)
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == {"arch": BEST, "ops": list(BEST_OPS)}
    assert A.load_arch(path) == {"arch": BEST, "ops": list(BEST_OPS)}
    assert A.as_ops(A.load_arch(path)) == BEST_OPS
    assert os.listdir(tmp_path / "sub") == ["arch.json"]


def test_load_accepts_hand_written_string_only(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps({"arch": BEST}))
    assert A.load_arch(str(path))["ops"] == list(BEST_OPS)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"architecture file '.*nope\.json' does not exist"):
        A.load_arch(str(tmp_path / "nope.json"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object with 'arch' and/or 'ops', got list"),
        (
            json.dumps({"arch": BEST.replace("skip_connect", "zero")}),
            r"arch\.json': architecture string",
        ),
        (json.dumps({"ops": ["none"] * 5}), r"arch\.json': an architecture has 6 edges"),
    ],
)
def test_load_rejects(tmp_path, text, message):
    path = tmp_path / "arch.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        A.load_arch(str(path))


def test_save_rejects_invalid(tmp_path):
    with pytest.raises(ValueError, match="unknown op"):
        A.save_arch(str(tmp_path / "a.json"), ["sep_conv_3x3"] * 6)
    assert not os.listdir(tmp_path)
