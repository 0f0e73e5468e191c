"""Multi-trial search over a trained SPOS supernet (evaluator supernet) and the latency
predicted by the estimator calibrated on the supernet, from the command line."""

import csv
import json
import os
import shutil
from itertools import islice

import pytest
import yaml

from nnabla_nas.app.build import make_data, make_transform
from nnabla_nas.app.config import SearchConfig, load_config
from nnabla_nas.app.multitrial_config import path_searchers
from nnabla_nas.app.search import search_latency
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import find_choices
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import paths
from nnabla_nas.runner.searcher import SposSearcher

# Two MobileNetV2 blocks with BatchNorm, of 2 and 3 candidates: 6 paths on 8x8 digits.
MODEL = {
    "name": "mobilenet",
    "stages": [[1, 8, 1, 1], [6, 8, 2, 2]],
    "candidates": ["k3_e3", "k5_e3", "skip"],
}
DATASET = {"name": "digits", "batch_size": 64, "test_fraction": 0.5}


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def read_trials(folder):
    with open(os.path.join(folder, "trials.csv")) as f:
        return list(csv.DictReader(f))


def read_json(folder, name):
    with open(os.path.join(folder, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def spos_run(tmp_path_factory):
    """A tiny finished SPOS search: one epoch, an evolution of 6 paths."""
    root = tmp_path_factory.mktemp("supernet")
    data = {
        "seed": 0, "epochs": 1, "searcher": "spos", "dataset": DATASET, "model": MODEL,
        "optimizer": {"lr": 0.05},
        "spos": {"population": 4, "parents": 2, "generations": 2, "calib_batches": 2,
                 "eval_batches": 2},
    }  # fmt: skip
    out = str(root / "spos")
    assert main(["search", "-c", write(root / "spos.yaml", data), "-o", out, "--no-progress"]) == 0
    return out


def multitrial(tmp_path, supernet, **section):
    data = {
        "seed": 0, "searcher": "evolution", "model": MODEL, "dataset": DATASET,
        "evolution": {"population_size": 4, "sample_size": 2},
        "multitrial": {"trials": 6, "evaluator": "supernet", "supernet": supernet, **section},
    }  # fmt: skip
    return write(tmp_path / "mt.yaml", data)


def spos_scorer(run):
    """The run's supernet as SposSearcher rebuilds it, with the batches of its evolution."""
    cfg = load_config(SearchConfig, os.path.join(run, "config.yaml"))
    data = make_data(cfg.dataset, cfg.seed, search=True)
    net = get_space("mobilenet").make_search_net(1, 10, seed=0, options=cfg.model.options)
    net.load_parameters(os.path.join(run, "weights.h5"))
    optimizer = Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.1)
    searcher = SposSearcher(net, optimizer, transform=make_transform(cfg.dataset))
    weights_split = data.train["train"]
    weights_split.set_epoch(cfg.epochs)
    calib = list(islice(weights_split, cfg.settings.calib_batches))
    return searcher, calib, list(islice(data.eval, cfg.settings.eval_batches))


def test_trials_score_what_spos_scores_and_latency_is_the_calibrated_prediction(spos_run, tmp_path):
    out = str(tmp_path / "trials")
    assert main(["search", "-c", multitrial(tmp_path, spos_run), "-o", out]) == 0
    rows = read_trials(out)
    assert len(rows) == 6 and all(r["state"] == "complete" for r in rows)
    searcher, calib, valid = spos_scorer(spos_run)
    estimator = search_latency(out)  # the run's table with its calibration (cost_model.json)
    choices = find_choices(searcher.model)
    for row in rows:
        path = paths.path_of(choices, json.loads(row["arch"]))
        score = searcher.score_path(path, calib, valid)
        assert float(row["accuracy"]) == pytest.approx(100.0 * score, abs=1e-9)
        predicted = paths.path_cost(searcher.model, choices, path, estimator, (1, 1, 8, 8))
        assert float(row["latency"]) == pytest.approx(predicted, rel=1e-9)
    # The path SPOS's own evolution found scores here what it scored there.
    with open(os.path.join(spos_run, "evolution.csv")) as f:
        last = list(csv.DictReader(f))[-1]
    found = [c.split("=")[1] for c in last["best_path"].split()]
    same = [float(r["accuracy"]) for r in rows if json.loads(r["arch"]) == found]
    assert same and same == pytest.approx([100 * float(last["best_score"])] * len(same), abs=1e-9)
    result = read_json(out, "result.json")
    assert result["best_accuracy"] == max(float(r["accuracy"]) for r in rows)
    best_row = next(r for r in rows if int(r["number"]) == result["best_number"])
    blocks = json.loads(best_row["arch"])
    assert read_json(out, "arch.json")["blocks"] == blocks
    model = read_json(out, "cost_model.json")
    assert model["predictor"].startswith("calibrated") and model["calibration"]["paths"] == 6
    assert result["latency_predictor"] == model["predictor"] == estimator.predictor
    config = yaml.safe_load(open(os.path.join(out, "config.yaml")))
    assert "epochs" not in config and "optimizer" not in config
    assert config["dataset"] == yaml.safe_load(open(f"{spos_run}/config.yaml"))["dataset"]


def test_a_second_search_reuses_the_calibration(spos_run, tmp_path, capsys):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    cfg = multitrial(tmp_path, spos_run, trials=3)
    assert main(["search", "-c", cfg, "-o", first]) == 0
    assert "calibrating the latency cost: 6 paths" in capsys.readouterr().err
    table = os.path.join(first, "latency_table.json")
    before = read_json(first, "latency_table.json")
    assert main(["search", "-c", cfg, "-o", second, f"multitrial.latency_table={table}"]) == 0
    err = capsys.readouterr().err
    assert "calibrating" not in err and "predicted by: calibrated" in err
    after = read_json(first, "latency_table.json")
    assert after["entries"] == before["entries"]  # no layer measured again
    assert after["calibrations"] == before["calibrations"]
    model = read_json(second, "cost_model.json")
    assert model["calibration"] == before["calibrations"][0] and model["table"] == table
    assert [r["latency"] for r in read_trials(second)] == [r["latency"] for r in read_trials(first)]


def forged(tmp_path, spos_run, **manifest):
    """A copy of the SPOS run with its run.json changed."""
    copy = str(tmp_path / "forged")
    shutil.copytree(spos_run, copy)
    data = {**read_json(copy, "run.json"), **manifest}
    with open(os.path.join(copy, "run.json"), "w") as f:
        json.dump(data, f)
    return copy


@pytest.mark.parametrize(
    "supernet, overrides, message",
    [
        ("missing", [], "multitrial.supernet: '{missing}' does not exist; give the folder of a "
         "finished fairnas, ofa or spos search"),
        ({"searcher": "darts"}, [], "multitrial.supernet: '{forged}' holds a darts search, not a "
         "fairnas, ofa or spos search"),
        ({"command": "train", "kind": "train", "searcher": None}, [], "'{forged}' holds a "
         "training, not a fairnas, ofa or spos search"),
        ({"status": "interrupted"}, [], "the spos search in '{forged}' is interrupted, not "
         "finished"),
        (None, ["~toy"], "multitrial.supernet: '{run}' searched space 'mobilenet', not 'toy' "
         "(model.name)"),
        (None, ["model.width_mult=0.5"], "model.width_mult: 0.5 here, 1.0 in the supernet run "
         "'{run}'; its weights fit only its own network"),
        (None, ["~dataset"], "dataset.test_fraction: 0.2 here, 0.5 in the supernet run "
         "'{run}'; the candidates are scored on its split of the data, whose validation "
         "images it never trained on: give its dataset section"),
        (None, ["epochs=3"], "epochs: the supernet evaluator trains nothing"),
        (None, ["optimizer.lr=0.1"], "optimizer: the supernet evaluator trains nothing"),
        (None, ["dataset.batch_size=32"], "dataset.batch_size: 32 here, 64 in the supernet run "
         "'{run}'; the candidates are scored on its split"),
        (None, ["multitrial.latency=measured"], "multitrial.latency: the supernet evaluator "
         "trains no network to measure"),
        (None, ["multitrial.evaluator=train"], "multitrial.supernet: only the supernet "
         "evaluator uses it"),
        (None, ["multitrial.supernet=null"], "multitrial.supernet: the supernet evaluator "
         "needs the folder of a finished fairnas, ofa or spos search"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key_and_write_nothing(
    spos_run, tmp_path, capsys, supernet, overrides, message
):
    folder = {"run": spos_run, "missing": str(tmp_path / "missing")}
    if isinstance(supernet, dict):
        folder["forged"] = forged(tmp_path, spos_run, **supernet)
    given = folder.get("forged") or folder["missing" if supernet == "missing" else "run"]
    cfg = multitrial(tmp_path, given)
    data = yaml.safe_load(open(cfg))
    if overrides == ["~toy"]:  # another space, with its own model section
        data["model"] = {"name": "toy", "channels": 4}
    if overrides == ["~dataset"]:  # the default dataset section
        del data["dataset"]
    if overrides[:1] in (["~toy"], ["~dataset"]):
        cfg, overrides = write(tmp_path / "mt.yaml", data), []
    out = tmp_path / "out"
    assert main(["search", "-c", cfg, "-o", str(out), *overrides]) == 2
    err = capsys.readouterr().err
    assert message.format(**folder) in err and err.count("\n") == 1, err
    assert not out.exists()


def test_spos_and_fairnas_train_the_supernets_it_scores_and_configs_load_without_them():
    assert path_searchers() == ["fairnas", "ofa", "spos"]
    args = ["searcher=random", "multitrial.evaluator=supernet", "multitrial.supernet=nowhere"]
    assert load_config(SearchConfig, None, args).multitrial.supernet == "nowhere"


def test_trained_candidates_get_the_predicted_latency_unless_measuring_is_asked(tmp_path):
    data = {
        "seed": 0, "epochs": 1, "searcher": "random", "dataset": DATASET, "model": MODEL,
        "multitrial": {"trials": 2, "evaluator": "train", "workers": 1},
    }  # fmt: skip
    predicted, measured = str(tmp_path / "predicted"), str(tmp_path / "measured")
    assert main(["search", "-c", write(tmp_path / "t.yaml", data), "-o", predicted]) == 0
    estimator = search_latency(predicted)
    options = {k: v for k, v in MODEL.items() if k != "name"}
    net = get_space("mobilenet").make_search_net(1, 10, seed=0, options=options)
    choices = find_choices(net)
    for row in read_trials(predicted):
        path = paths.path_of(choices, json.loads(row["arch"]))
        expected = paths.path_cost(net, choices, path, estimator, (1, 1, 8, 8))
        assert float(row["latency"]) == pytest.approx(expected, rel=1e-9)
    args = ["multitrial.latency=measured"]
    assert main(["search", "-c", str(tmp_path / "t.yaml"), "-o", measured, *args]) == 0
    assert read_json(measured, "result.json")["latency_predictor"].startswith("measured end to")
    assert not os.path.exists(os.path.join(measured, "cost_model.json"))
    assert all(float(r["latency"]) > 0 for r in read_trials(measured))
