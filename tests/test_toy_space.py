"""A space defined in the tests (`toy_space.py`: one module, one registry line) runs through
every command with no edit to the package: search, train, report, export, multi-trial."""

import csv
import json
import os

import numpy as np
import onnxruntime
import pytest
import toy_space
import yaml

from nnabla_nas.app.search import search_latency
from nnabla_nas.cli import main
from nnabla_nas.module import read_parameters

BASE = toy_space.CONFIG


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


@pytest.mark.parametrize("searcher", ["spos", "fairnas"])
def test_path_searchers_evolve_within_the_budget_and_redo_the_evolution_on_resume(
    tmp_path, searcher
):
    budget = 10000.0  # FLOPs: no 3x3 convolution fits (one costs about 35k)
    data = {
        **BASE, "searcher": searcher, "cost": {"name": "flops", "mode": "target", "target": budget},
        searcher: {"population": 4, "parents": 2, "generations": 2, "calib_batches": 2},
    }  # fmt: skip
    out = str(tmp_path / searcher)
    args = ["search", "-c", write(tmp_path / "c.yaml", data), "-o", out, "--no-progress"]
    assert main(args) == 0
    with open(os.path.join(out, "evolution.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["generation"] for r in rows] == ["0", "1"]
    assert all(float(r["best_cost"]) <= budget for r in rows)
    with open(os.path.join(out, "arch.json")) as f:
        arch = json.load(f)
    assert "conv3" not in arch["blocks"]
    assert rows[-1]["best_path"] == " ".join(
        f"block_{i}={op}" for i, op in enumerate(arch["blocks"])
    )
    assert not os.path.exists(os.path.join(out, "arch_probs.csv"))  # no alphas are learned
    assert "arch_optimizer" not in yaml.safe_load(open(os.path.join(out, "config.yaml")))
    # A run stopped in the evolution resumes from the last epoch's checkpoint and redoes
    # it: the same path, history and weights.
    weights = read_parameters(os.path.join(out, "weights.h5"))
    for name in ("evolution.csv", "arch.json", "weights.h5"):
        os.remove(os.path.join(out, name))
    assert main([*args, "--resume"]) == 0
    with open(os.path.join(out, "evolution.csv")) as f:
        assert list(csv.DictReader(f)) == rows
    with open(os.path.join(out, "arch.json")) as f:
        assert json.load(f) == arch
    again = read_parameters(os.path.join(out, "weights.h5"))
    assert set(again) == set(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)


def test_multi_trial_search_trains_toy_candidates_and_predicts_their_latency(tmp_path, capsys):
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
    # Without a table, the latency is the estimator's, calibrated on the supernet's paths.
    with open(os.path.join(out, "result.json")) as f:
        predictor = json.load(f)["latency_predictor"]
    assert predictor.startswith("calibrated") and "fitted on 9 paths" in predictor
    assert predictor == search_latency(out).predictor
    # The toy space has no benchmark table: the table evaluator is refused before any work.
    data["multitrial"]["evaluator"] = "table"
    bad = str(tmp_path / "table")
    assert main(["search", "-c", write(tmp_path / "t.yaml", data), "-o", bad]) == 2
    assert "space 'toy' has no benchmark table" in capsys.readouterr().err
    assert not os.path.exists(bad)


def test_a_latency_cost_is_calibrated_before_the_search_and_the_calibration_reused(
    tmp_path, capsys
):
    data = {**BASE, "searcher": "darts", "cost": {"name": "latency", "weight": 0.1}}
    first = str(tmp_path / "first")
    assert (
        main(["search", "-c", write(tmp_path / "a.yaml", data), "-o", first, "--no-progress"]) == 0
    )
    err = capsys.readouterr().err
    assert "calibrating the latency cost: 9 paths measured end to end" in err  # all the toy has
    table = os.path.join(first, "latency_table.json")
    with open(table) as f:
        (record,) = json.load(f)["calibrations"]
    assert record["scope"].startswith("toy ") and record["scope"].endswith("input 1x1x8x8")
    assert record["paths"] == 9 and "calibrated" in open(os.path.join(first, "log.txt")).read()
    with open(os.path.join(first, "cost_model.json")) as f:
        model = json.load(f)
    assert model["predictor"].startswith("calibrated") and model["calibration"] == record
    assert search_latency(first).predictor == model["predictor"]
    assert main(["report", first]) == 0
    with open(os.path.join(first, "report.html")) as f:
        assert "cost is predicted by the calibrated: " in f.read()
    # The costs logged per epoch are the calibrated prediction of the most likely path.
    with open(os.path.join(first, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["cost/latency"]) > 0
    # A later search on that table reuses its calibration; calibrate: 0 takes the raw sum.
    data["cost"]["latency_table"] = table
    second = str(tmp_path / "second")
    assert (
        main(["search", "-c", write(tmp_path / "b.yaml", data), "-o", second, "--no-progress"]) == 0
    )
    err = capsys.readouterr().err
    assert "calibrating" not in err and "latency cost predicted by: calibrated" in err
    data["cost"]["calibrate"] = 0
    raw = str(tmp_path / "raw")
    assert main(["search", "-c", write(tmp_path / "c.yaml", data), "-o", raw, "--no-progress"]) == 0
    assert "predicted by: layer sum (uncalibrated)" in capsys.readouterr().err
    # More paths than the space has: refused before anything is written.
    data["cost"] = {"name": "latency", "weight": 0.1, "calibrate": 10}
    bad = str(tmp_path / "bad")
    assert main(["search", "-c", write(tmp_path / "d.yaml", data), "-o", bad]) == 2
    assert "cost.calibrate: the space has 9 paths; use at most 9" in capsys.readouterr().err
    assert not os.path.exists(bad)


def test_profile_calibrates_a_search_space_and_refuses_a_foreign_table(tmp_path, capsys):
    config = write(tmp_path / "s.yaml", {**BASE, "searcher": "darts"})
    table, out = str(tmp_path / "latency.json"), str(tmp_path / "profile.json")
    args = ["profile", "-c", config, "--runs", "3", "--latency-table", table]
    assert main([*args, "--calibrate", "6", "--json", out]) == 0
    assert "predicted: " in capsys.readouterr().out
    with open(out) as f:
        result = json.load(f)
    assert result["predictor"].startswith("calibrated") and result["calibration"]["paths"] == 6
    weights, intercept = result["calibration"]["weights"], result["calibration"]["intercept"]
    assert result["predicted_ms"] != pytest.approx(result["layer_sum_ms"])
    slope = min(w for k, w in weights.items() if k != "functions")  # of the ms, per layer type
    bound = slope * result["layer_sum_ms"] + intercept  # met with equality when one slope fits
    assert result["predicted_ms"] >= bound or result["predicted_ms"] == pytest.approx(bound)
    with open(table) as f:
        assert [c["scope"] for c in json.load(f)["calibrations"]] == [
            result["calibration"]["scope"]
        ]
    # Profiled again, the stored calibration is used.
    assert main(args) == 0
    assert "by the calibrated: " in capsys.readouterr().out
    # --calibrate needs a search space; a fixed architecture has one path.
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"blocks": ["conv3", "skip"]}))
    train = write(tmp_path / "t.yaml", BASE)
    assert main(["profile", "-c", train, "--arch", str(arch), "--calibrate", "6"]) == 2
    assert "samples paths of a search space" in capsys.readouterr().err
    # A table from another device is refused unless imported.
    with open(table) as f:
        data = json.load(f)
    data["setting"]["device"] = "another board"
    with open(table, "w") as f:
        json.dump(data, f)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "another setting: device 'another board'" in err and err.count("\n") == 1
    assert main([*args, "--import-table"]) == 0
    with open(table) as f:
        assert json.load(f)["imported_from"][0]["device"] == "another board"


def test_a_derived_architecture_over_the_target_budget_is_warned_about(tmp_path):
    data = {**BASE, "searcher": "darts", "cost": {"name": "flops", "mode": "target",
                                                 "target": 1000.0, "weight": 1.0}}  # fmt: skip
    out = str(tmp_path / "over")
    assert main(["search", "-c", write(tmp_path / "c.yaml", data), "-o", out, "--no-progress"]) == 0
    with open(os.path.join(out, "metrics.csv")) as f:
        flops = float(list(csv.DictReader(f))[-1]["cost/flops"])
    assert flops > 1000.0  # no toy network has so few FLOPs
    with open(os.path.join(out, "log.txt")) as f:
        log = f.read()
    assert "% over cost.target (1000)" in log and "not the most likely architecture's" in log


def test_a_target_cost_derives_the_most_likely_architecture_within_it(tmp_path, capsys):
    from nnabla_nas.app.config import TrainConfig, parse_config
    from nnabla_nas.contrib.estimator import FLOPsEstimator
    from nnabla_nas.contrib.registry import get_space

    # weight 0: the cost steers nothing, so the same alphas are learnt in both runs.
    cost = {"name": "flops", "mode": "target", "weight": 0.0, "target": 1.0e9}
    data = {**BASE, "searcher": "darts", "cost": cost}
    free = str(tmp_path / "free")
    assert main(["search", "-c", write(tmp_path / "a.yaml", data), "-o", free]) == 0
    with open(os.path.join(free, "metrics.csv")) as f:
        argmax_flops = float(list(csv.DictReader(f))[-1]["cost/flops"])
    capsys.readouterr()
    data["cost"] = {**cost, "target": 0.9 * argmax_flops}
    tight = str(tmp_path / "tight")
    assert main(["search", "-c", write(tmp_path / "b.yaml", data), "-o", tight]) == 0
    err = capsys.readouterr().err
    assert "is over cost.target" in err and "derived the most likely within it" in err
    assert "over cost.target" not in err.split("derived the most likely within it")[1]
    space = get_space("toy")
    found, first = space.read(f"{tight}/arch.json"), space.read(f"{free}/arch.json")
    assert found != first
    cfg = parse_config(TrainConfig, {**BASE})
    net = space.make_train_net(1, 10, found, seed=0, options=cfg.model.options)
    assert FLOPsEstimator().cost(net, (1, 1, 8, 8)) <= 0.9 * argmax_flops
    # The option is refused where it does nothing, before anything is written.
    data["cost"] = {**cost, "mode": "penalty", "within_budget": True}
    bad = str(tmp_path / "bad")
    assert main(["search", "-c", write(tmp_path / "c.yaml", data), "-o", bad]) == 2
    assert "cost.within_budget: only a target-mode cost" in capsys.readouterr().err
    assert not os.path.exists(bad)
