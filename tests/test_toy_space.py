"""A space defined in the tests (`toy_space.py`: one module, one registry line) runs through
every command with no edit to the package: search, train, report, export, multi-trial."""

import csv
import json
import os

import numpy as np
import onnxruntime
import pytest
import yaml

from nnabla_nas.cli import main

BASE = {
    "seed": 0,
    "epochs": 1,
    "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
    "model": {"name": "toy", "channels": 4},
    "optimizer": {"lr": 0.05},
}


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def manifest(folder):
    with open(os.path.join(folder, "run.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    search, train = str(root / "search"), str(root / "train")
    config = write(root / "search.yaml", {**BASE, "searcher": "darts"})
    assert main(["search", "-c", config, "-o", search, "--no-progress"]) == 0
    train_cfg = write(root / "train.yaml", {**BASE, "drop_path": 0.1})
    arch = os.path.join(search, "arch.json")
    assert main(["train", "-c", train_cfg, "-o", train, "--arch", arch, "--no-progress"]) == 0
    return root, search, train


def test_search_finds_a_toy_architecture(runs):
    _, search, _ = runs
    with open(os.path.join(search, "arch.json")) as f:
        arch = json.load(f)
    assert set(arch) == {"blocks"} and len(arch["blocks"]) == 2
    m = manifest(search)
    assert (m["command"], m["kind"], m["searcher"], m["space"], m["status"]) == (
        "search", "one-shot", "darts", "toy", "finished"
    )  # fmt: skip
    with open(os.path.join(search, "arch_probs.csv")) as f:
        rows = list(csv.DictReader(f))
    assert {r["choice"] for r in rows} == {"block_0", "block_1"}
    assert {r["candidate"] for r in rows} == {"conv3", "conv1", "skip"}
    assert {"arch.svg", "arch.png", "probs.png"} <= set(os.listdir(os.path.join(search, "figures")))


def test_train_report_and_export_of_the_toy_network(runs):
    root, search, train = runs
    with open(os.path.join(train, "result.json")) as f:
        assert 0.0 <= json.load(f)["test_accuracy"] <= 1.0
    for folder in (search, train):
        assert main(["report", folder]) == 0
        with open(os.path.join(folder, "report.html")) as f:
            page = f.read()
        assert "of the toy space on digits" in page
    onnx_path = str(root / "toy.onnx")
    assert main(["export", train, "--format", "onnx", "-o", onnx_path]) == 0
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    (logits,) = session.run(None, {"x": x})
    assert logits.shape == (1, 10) and np.isfinite(logits).all()


def test_pnas_searches_the_toy_space_too(tmp_path):
    config = write(tmp_path / "c.yaml", {**BASE, "searcher": "pnas", "cost": {"name": "flops"}})
    out = str(tmp_path / "pnas")
    assert main(["search", "-c", config, "-o", out, "--no-progress"]) == 0
    with open(os.path.join(out, "metrics.csv")) as f:
        header = next(csv.reader(f))
    assert "train/arch_reward" in header and "cost/flops" in header


def test_multi_trial_search_trains_toy_candidates_and_measures_their_latency(tmp_path, capsys):
    data = {
        **BASE,
        "searcher": "random",
        "multitrial": {"trials": 3, "evaluator": "train", "workers": 1},
    }
    out = str(tmp_path / "trials")
    assert main(["search", "-c", write(tmp_path / "m.yaml", data), "-o", out]) == 0
    with open(os.path.join(out, "trials.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(r["state"] == "complete" for r in rows)
    assert all(0.0 <= float(r["accuracy"]) <= 100.0 and float(r["latency"]) > 0 for r in rows)
    assert [len(json.loads(r["arch"])) for r in rows] == [2, 2, 2]
    with open(os.path.join(out, "arch.json")) as f:
        assert len(json.load(f)["blocks"]) == 2
    assert manifest(out)["kind"] == "multi-trial"
    # The toy space has no benchmark table: the table evaluator is refused before any work.
    data["multitrial"]["evaluator"] = "table"
    bad = str(tmp_path / "table")
    assert main(["search", "-c", write(tmp_path / "t.yaml", data), "-o", bad]) == 2
    assert "space 'toy' has no benchmark table" in capsys.readouterr().err
    assert not os.path.exists(bad)
