"""Nothing lost, nothing silent: each case a careful user tried, with its exact outcome
(the exit code, the error's words, nothing written, the files' bytes unchanged)."""

import copy
import hashlib
import json
import os
import shutil

import pytest
import yaml

from nnabla_nas.app.run import RunFolder
from nnabla_nas.cli import main

TRAIN = {
    "seed": 1,
    "epochs": 1,
    "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
    "model": {"name": "darts", "init_channels": 4, "num_cells": 3, "stem_multiplier": 1},
}
NB201 = {
    "seed": 0,
    "searcher": "random",
    "model": {"name": "nb201"},
    "multitrial": {"trials": 5, "device": "raspi4"},
}


def write(path, data):
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def snapshot(folder):
    """Every file under `folder` with the hash of its bytes."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


def error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_darts_search):
    """A two-epoch tiny search and a one-epoch retraining of what it found."""
    root = tmp_path_factory.mktemp("bad")
    config = write(root / "search.yaml", {**copy.deepcopy(tiny_darts_search), "epochs": 2})
    search = str(root / "search")
    assert main(["search", "-c", config, "-o", search, "--no-progress"]) == 0
    train_config = write(root / "train.yaml", TRAIN)
    train = str(root / "train")
    arch = os.path.join(search, "arch.json")
    assert main(["train", "-c", train_config, "-o", train, "--arch", arch, "--no-progress"]) == 0
    return {"root": root, "search": search, "train": train, "config": config,
            "train_config": train_config, "arch": arch}  # fmt: skip


# -- 1, 4: a refused start writes nothing; one run at a time in a folder ------------------


def test_a_refused_multi_trial_start_leaves_the_run_as_it_was(tmp_path, capsys):
    config = write(tmp_path / "c.yaml", NB201)
    out = str(tmp_path / "run")
    assert main(["search", "-c", config, "-o", out]) == 0
    before = snapshot(out)
    changed = write(tmp_path / "d.yaml", {**NB201, "seed": 3})
    assert main(["search", "-c", changed, "-o", out]) == 2
    assert "already holds a run; pass --resume" in error_line(capsys)
    assert snapshot(out) == before
    # ... and the run still resumes (here: nothing left to do).
    assert main(["search", "-c", config, "-o", out, "--resume"]) == 0


def test_a_second_run_in_a_folder_in_use_is_refused_naming_the_holder(runs, tmp_path, capsys):
    out = str(tmp_path / "busy")
    run = RunFolder(out)
    with run.locked():
        before = snapshot(out)
        assert main(["search", "-c", runs["config"], "-o", out, "--no-progress"]) == 2
        message = error_line(capsys)
        assert f"is in use by another run (PID {os.getpid()} on " in message
        assert snapshot(out) == before
    # The lock of a process that died is free again: its holder file does not block.
    (tmp_path / "busy" / ".lock.json").write_text('{"pid": 999999, "host": "x", "since": "y"}')
    assert main(["search", "-c", runs["config"], "-o", out, "--no-progress", "epochs=1"]) == 0
    assert not (tmp_path / "busy" / ".lock.json").exists()


# -- 2, 3: a resume or an export never replaces what a run made ----------------------------


def test_train_resume_with_another_arch_is_refused_before_any_write(runs, tmp_path, capsys):
    other = tmp_path / "other.json"
    arch = json.loads(open(runs["arch"]).read())
    arch["normal"][0][0] = (
        "max_pool_3x3" if arch["normal"][0][0] != "max_pool_3x3" else "skip_connect"
    )
    other.write_text(json.dumps(arch))
    before = snapshot(runs["train"])
    args = ["train", "-c", runs["train_config"], "-o", runs["train"], "--arch", str(other)]
    assert main([*args, "--resume"]) == 2
    assert "is not the architecture the run in" in error_line(capsys)
    assert snapshot(runs["train"]) == before


def test_report_and_export_never_overwrite_a_runs_own_files(runs, capsys):
    train = runs["train"]
    before = snapshot(train)
    assert main(["report", train, "-o", os.path.join(train, "config.yaml")]) == 2
    assert "is a file of the run" in error_line(capsys)
    for name in ("weights.h5", "run.json", "arch.json"):
        target = os.path.join(train, name)
        assert main(["export", train, "--format", "onnx", "-o", target]) == 2
        assert "is a file of the run" in error_line(capsys)
    assert main(["export", train, "--format", "onnx", "-o", os.path.join(train, "m.nnp")]) == 2
    assert "is named as a .nnp file but the format is onnx" in error_line(capsys)
    assert snapshot(train) == before


# -- 5: resume finds the newest intact checkpoint; nothing to resume is an error ----------


def test_resume_falls_back_to_the_newest_intact_checkpoint(runs, tmp_path, capsys):
    part = str(tmp_path / "part")
    shutil.copytree(runs["search"], part)
    shutil.rmtree(os.path.join(part, "checkpoint", "epoch_0002"))
    assert main(["search", "-o", part, "--resume", "--no-progress"]) == 0  # its own config
    log = capsys.readouterr().err
    assert "missing or incomplete; using" in log and "epoch_0001" in log
    assert json.load(open(f"{part}/arch.json")) == json.load(open(runs["arch"]))
    assert sorted(os.listdir(f"{part}/checkpoint")) == ["epoch_0001", "epoch_0002", "latest.json"]
    resumed = json.load(open(f"{part}/run.json"))["resumed"]
    assert len(resumed) == 1 and resumed[0]["changes"] == {}


def test_resume_where_there_is_nothing_to_resume_is_an_error(tmp_path, capsys):
    config = write(tmp_path / "c.yaml", NB201)
    assert main(["search", "-c", config, "-o", str(tmp_path / "nowhere"), "--resume"]) == 2
    assert "run folder" in error_line(capsys) and not (tmp_path / "nowhere").exists()
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert main(["search", "-c", config, "-o", str(stranger), "--resume"]) == 2
    assert "has no run.json" in error_line(capsys)
    assert os.listdir(stranger) == ["notes.txt"]


def test_resume_on_an_empty_trial_log_says_it_starts_from_the_first(tmp_path, capsys):
    config = write(tmp_path / "c.yaml", NB201)
    out = tmp_path / "run"
    assert main(["search", "-c", config, "-o", str(out)]) == 0
    (out / "trials.csv").write_text("")
    assert main(["search", "-c", config, "-o", str(out), "--resume"]) == 0
    assert "holds no finished trial: starting from the first" in capsys.readouterr().err
    assert len((out / "trials.csv").read_text().splitlines()) == 1 + 5


# -- 6: weights carry the fingerprint of their network --------------------------------------


def test_export_refuses_weights_of_another_architecture_of_the_same_shapes(runs, tmp_path, capsys):
    pools = json.loads(open(runs["arch"]).read())
    for cell in ("normal", "reduce"):
        pools[cell] = [["max_pool_3x3", index] for _, index in pools[cell]]
    trained = str(tmp_path / "pools")
    arch = write(tmp_path / "pools.json", json.dumps(pools))
    args = ["train", "-c", runs["train_config"], "-o", trained, "--arch", arch, "--no-progress"]
    assert main(args) == 0
    # Average pools for max pools: no parameter changes shape, but it is another network.
    for cell in ("normal", "reduce"):
        pools[cell] = [["avg_pool_3x3", index] for _, index in pools[cell]]
    other = write(tmp_path / "avg.json", json.dumps(pools))
    out = str(tmp_path / "m.onnx")
    assert main(["export", trained, "--arch", other, "--format", "onnx", "-o", out]) == 2
    assert "were trained for another network (fingerprint" in error_line(capsys)
    assert not os.path.exists(out)
    assert main(["export", trained, "--format", "onnx", "-o", out]) == 0


# -- 8: a divergence stops the run, and its advice works -------------------------------------


def test_a_diverged_run_says_how_to_continue_and_that_works(runs, tmp_path, capsys):
    out = str(tmp_path / "diverged")
    args = ["train", "-c", runs["train_config"], "-o", out, "--arch", runs["arch"], "--no-progress"]
    assert main([*args, "optimizer.lr=1e30", "optimizer.grad_clip=null"]) == 3
    message = error_line(capsys)
    assert "non-finite loss" in message and "in epoch 1" in message
    assert "--resume optimizer.lr=5e+29" in message
    manifest = json.load(open(f"{out}/run.json"))
    assert manifest["status"] == "failed" and "NonFiniteLossError" in manifest["error"]
    # The advised command, with a sane rate: accepted, recorded, finished.
    advised = ["train", "-o", out, "--arch", runs["arch"], "--resume", "--no-progress"]
    assert main([*advised, "optimizer.lr=0.05", "optimizer.grad_clip=5.0"]) == 0
    manifest = json.load(open(f"{out}/run.json"))
    assert manifest["status"] == "finished"
    assert manifest["resumed"][0]["changes"] == {
        "optimizer.lr": [1e30, 0.05], "optimizer.grad_clip": [None, 5.0]
    }  # fmt: skip
    # A change that would make another run is refused, naming the key.
    assert main([*advised, "model.init_channels=8"]) == 2
    assert "differs from the one the run in" in error_line(capsys)


# -- 9, 10: bad configs and bad files are one line naming the key or file -----------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: -2\n", "config.epochs: must be at least 1, got -2"),
        ("epochs: 2\nepochs: 3\n", "key 'epochs' appears twice"),
        ("dataset:\n  valid_fraction: 1.5\n", "config.dataset.valid_fraction: must be greater"),
        ("optimizer:\n  lr: 0\n", "config.optimizer.lr: must be greater than 0, got 0"),
        ("dataset:\n  batch_size: 0\n", "config.dataset.batch_size: must be at least 1"),
        ("seed: -1\n", "config.seed: must be at least 0"),
        ("pnas: {}\n", "a section of searcher 'pnas', but the searcher is 'darts'"),
        ("- a list\n", "must hold a mapping of keys"),
        ("epochs: !!python/object/apply:os.system ['true']\n", "is not valid YAML"),
    ],
)
def test_bad_config_files(tmp_path, capsys, text, message):
    config = write(tmp_path / "c.yaml", text)
    assert main(["search", "-c", config, "-o", str(tmp_path / "run")]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_yaml_float_forms_people_write_are_accepted(tmp_path):
    from nnabla_nas.app.config import SearchConfig, load_config

    config = write(tmp_path / "c.yaml", "optimizer:\n  lr: 1e-3\n")
    cfg = load_config(SearchConfig, config, ["arch_optimizer.lr=3E-4"])
    assert cfg.optimizer.lr == 1e-3 and cfg.arch_optimizer.lr == 3e-4
    assert load_config(SearchConfig, write(tmp_path / "e.yaml", "")).model.name == "darts"
    only = load_config(SearchConfig, write(tmp_path / "m.yaml", "model: {name: darts}\n"))
    assert only.model.options["num_cells"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["epochs=!!python/name:os.system"], "not a plain YAML value"),
        (["model.num_cells=x"], "config.model.num_cells: expected int, got 'x'"),
        (["multitrial.trials=5"], "multitrial: searcher 'darts' is one-shot"),
    ],
)
def test_bad_overrides(tmp_path, capsys, args, message):
    assert main(["search", "-c", "darts-digits-search", "-o", str(tmp_path / "run"), *args]) == 2
    assert message in error_line(capsys)


def test_unreadable_inputs_are_one_line(runs, tmp_path, capsys):
    binary = tmp_path / "config.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert main(["search", "-c", str(binary), "-o", str(tmp_path / "a")]) == 2
    assert "is not a text (UTF-8) file" in error_line(capsys)
    assert main(["search", "-c", str(tmp_path), "-o", str(tmp_path / "a")]) == 2
    assert "is a directory" in error_line(capsys)
    table = ["searcher=pnas", "cost.name=latency", f"cost.latency_table={tmp_path}"]
    assert main(["search", "-c", runs["config"], "-o", str(tmp_path / "b"), *table]) == 2
    assert f"latency table '{tmp_path}' is a directory" in error_line(capsys)
    # An output inside a file, or that is a file.
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["search", "-c", runs["config"], "-o", str(blocker)]) == 2
    assert "is a file; give a folder" in error_line(capsys)
    assert main(["search", "-c", runs["config"], "-o", str(blocker / "sub")]) == 2
    assert "cannot use" in error_line(capsys)


@pytest.mark.parametrize(
    "content",
    [b"number,state,arch\n0,complete", b"\x00\x01\x02\xff", b"number,state,arch,seconds,error\n"
     b"x,complete,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1,\n"],
)  # fmt: skip
def test_a_damaged_trial_log_is_a_clear_error_on_resume(tmp_path, capsys, content):
    config = write(tmp_path / "c.yaml", NB201)
    out = tmp_path / "run"
    assert main(["search", "-c", config, "-o", str(out)]) == 0
    (out / "trials.csv").write_bytes(content)
    assert main(["search", "-c", config, "-o", str(out), "--resume"]) == 2
    message = error_line(capsys)
    assert f"trial log '{out / 'trials.csv'}' is damaged" in message
    assert (out / "trials.csv").read_bytes() == content


def test_profile_arguments_are_checked(runs, capsys):
    for flag in ("--runs", "--batch"):
        assert main(["profile", runs["train"], flag, "0"]) == 2
        assert "needs --runs and --batch of at least 1" in error_line(capsys)


def test_a_foreign_latency_table_is_noticed(runs, tmp_path, capsys):
    table = tmp_path / "table.json"
    args = ["profile", runs["train"], "--runs", "2", "--latency-table", str(table)]
    assert main(args) == 0
    data = json.loads(table.read_text())
    for entry in data["entries"]:
        entry["ms"] = 1000.0
    table.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(args) == 0
    log = capsys.readouterr().err
    assert f"latency table '{table}' disagrees with fresh measurements" in log


# -- 11: no leftovers ----------------------------------------------------------------------


def test_a_finished_run_leaves_no_temporary_files_and_keep_checkpoints(runs):
    for folder in (runs["search"], runs["train"]):
        names = [n for _, _, files in os.walk(folder) for n in files]
        names += [d for _, dirs, _ in os.walk(folder) for d in dirs]
        assert not [n for n in names if n.startswith(".tmp-")]
        assert not os.path.exists(os.path.join(folder, ".lock.json"))
    checkpoints = sorted(os.listdir(os.path.join(runs["search"], "checkpoint")))
    assert checkpoints == ["epoch_0001", "epoch_0002", "latest.json"]
