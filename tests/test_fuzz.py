"""Fuzzing the inputs a user may hand over: configs, architecture files, trial logs and
checkpoint state. Every failure is one line naming the problem, with exit code 2."""

import copy
import json
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnabla_nas.app.config import ConfigError, SearchConfig, parse_config, to_dict
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.utils.checkpoint import Checkpointer, CheckpointError

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
BASE = to_dict(parse_config(SearchConfig, {"model": {"name": "darts", "num_cells": 3}}))
KEYS = [
    (section, key) if isinstance(value, dict) else (key,)
    for section, items in BASE.items()
    for key, value in (items.items() if isinstance(items, dict) else [(section, items)])
]

values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=3),
    max_leaves=6,
)  # fmt: skip


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.startswith("nnabla-nas: error: ")
    assert "\n" not in err, err
    return err


def mutate(data, path, value):
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[path[-1]] = value
    return data


@FUZZ
@given(path=st.sampled_from(KEYS), value=values, extra=st.booleans())
def test_a_mutated_config_is_valid_or_one_line_with_exit_2(tmp_path, capsys, path, value, extra):
    data = mutate(copy.deepcopy(BASE), path, value)
    if extra:
        data["bogus_key"] = value
    try:
        parse_config(SearchConfig, copy.deepcopy(data))
    except ConfigError:
        pass
    else:
        return  # a valid config: starting it would be a real search, not this test's business
    config = tmp_path / "fuzz.yaml"
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["search", "-c", str(config), "-o", str(out)]) == 2
    one_line_error(capsys)
    assert not out.exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=5),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(arch=json_values | st.fixed_dictionaries({"normal": json_values, "reduce": json_values}))
def test_a_random_architecture_file_is_one_line_with_exit_2(tmp_path, capsys, arch):
    try:
        get_space("darts").validate(arch)
    except ValueError:
        pass
    else:
        return
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(arch))
    config = tmp_path / "train.yaml"
    config.write_text("model: {name: darts, init_channels: 4, num_cells: 3}\n")
    out = tmp_path / "out"
    assert main(["train", "-c", str(config), "--arch", str(path), "-o", str(out)]) == 2
    assert str(path) in one_line_error(capsys)
    assert not out.exists()


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    config = root / "c.yaml"
    config.write_text(yaml.safe_dump({
        "searcher": "random", "model": {"name": "nb201"},
        "multitrial": {"trials": 3, "device": "raspi4"},
    }))  # fmt: skip
    out = root / "run"
    assert main(["search", "-c", str(config), "-o", str(out)]) == 0
    return str(config), out, (out / "trials.csv").read_bytes()


@FUZZ
@given(
    content=st.binary(max_size=200)
    | st.lists(st.lists(st.text(max_size=10), max_size=7), max_size=4).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode()
    )
)
def test_a_damaged_trial_log_resumes_or_is_one_line_with_exit_2(table_run, capsys, content):
    config, out, original = table_run
    log = out / "trials.csv"
    header = original.splitlines()[0] + b"\n"
    for damaged in (content, header + content):
        log.write_bytes(damaged)
        status = main(["search", "-c", config, "-o", str(out), "--resume"])
        if status == 2:
            assert "trials.csv" in one_line_error(capsys)
        else:
            assert status == 0
            capsys.readouterr()
    log.write_bytes(original)


@FUZZ
@given(state=json_values, pointer=json_values)
def test_damaged_checkpoint_state_never_escapes_as_another_error(tmp_path, state, pointer):
    folder = tmp_path / f"ck{os.getpid()}"
    ck = Checkpointer(str(folder))
    ck.save(0, lambda _: None, {})
    ck.save(1, lambda _: None, {})
    (folder / "epoch_0001" / "state.json").write_text(json.dumps(state))
    (folder / "latest.json").write_text(json.dumps(pointer))
    latest = ck.latest()  # never raises: the newest intact one, or None
    assert latest is None or latest.endswith(("epoch_0000", "epoch_0001"))
    try:
        Checkpointer.read_state(str(folder / "epoch_0001"))
    except CheckpointError as err:
        assert "\n" not in str(err) and "delete the folder" in str(err)
