"""Multi-trial search from the command line: NAS-Bench-201 table and trained candidates."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from nnabla_nas.cli import main
from nnabla_nas.contrib.nb201.table import NB201Table


def config(tmp_path, searcher="evolution", **multitrial):
    data = {
        "seed": 0,
        "searcher": searcher,
        "model": {"name": "nb201"},
        "multitrial": {"trials": 60, "device": "raspi4", "max_latency": 20.0, **multitrial},
    }
    if searcher == "evolution":
        data["evolution"] = {"population_size": 10, "sample_size": 3}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def read_trials(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("searcher", ["random", "evolution", "optuna"])
def test_table_search_writes_trials_front_and_best(tmp_path, searcher):
    out = tmp_path / "run"
    assert main(["search", "-c", config(tmp_path, searcher), "-o", str(out), "--no-progress"]) == 0
    rows = read_trials(out / "trials.csv")
    assert len(rows) == 60 and {r["state"] for r in rows} <= {"complete", "infeasible"}
    table = NB201Table.load()
    for row in rows[:5]:  # the values are the table's
        assert float(row["accuracy"]) == pytest.approx(table.accuracy(row["arch"]))
        assert float(row["latency"]) == pytest.approx(table.latency(row["arch"], "raspi4"))
    result = json.loads((out / "result.json").read_text())
    feasible = [float(r["accuracy"]) for r in rows if float(r["latency"]) <= 20.0]
    assert result["best_accuracy"] == pytest.approx(max(feasible))
    assert result["best_latency"] <= 20.0 and result["hypervolume"] > 0
    assert json.loads((out / "arch.json").read_text())["arch"] == result["best_arch"]
    front = read_trials(out / "pareto.csv")
    assert len(front) == result["front_size"]
    lat = [float(r["latency"]) for r in front]
    acc = [float(r["accuracy"]) for r in front]
    assert lat == sorted(lat) and np.all(np.diff(acc) >= 0)  # cheaper is worse on a front
    for a_i, l_i in zip(acc, lat, strict=True):  # and no member dominates another
        assert not any(
            a >= a_i and la <= l_i and (a > a_i or la < l_i) for a, la in zip(acc, lat, strict=True)
        )
    assert (out / "pareto.png").stat().st_size > 1000
    assert list(out.glob("events.out.tfevents.*"))
    manifest = json.loads((out / "run.json").read_text())
    assert (manifest["kind"], manifest["searcher"], manifest["space"]) == (
        "multi-trial", searcher, "nb201"
    )  # fmt: skip
    assert manifest["status"] == "finished"


def test_table_search_resumes_from_its_trial_log(tmp_path):
    cfg = config(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["search", "-c", cfg, "-o", str(full)]) == 0
    assert main(["search", "-c", cfg, "-o", str(part), "multitrial.trials=25"]) == 0
    # Resuming needs the same config: raise the budget in the saved one, as a user would.
    saved = yaml.safe_load((part / "config.yaml").read_text())
    saved["multitrial"]["trials"] = 60
    (part / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    assert main(["search", "-c", str(part / "config.yaml"), "-o", str(part), "--resume"]) == 0
    assert [r["arch"] for r in read_trials(part / "trials.csv")] == [
        r["arch"] for r in read_trials(full / "trials.csv")
    ]


def test_existing_trials_need_resume(tmp_path):
    cfg = config(tmp_path, trials=5)
    assert main(["search", "-c", cfg, "-o", str(tmp_path / "r")]) == 0
    assert main(["search", "-c", cfg, "-o", str(tmp_path / "r")]) == 2


def test_unknown_device_is_a_clear_error(tmp_path, capsys):
    assert (
        main(["search", "-c", config(tmp_path, device="toaster"), "-o", str(tmp_path / "r")]) == 2
    )
    assert "multitrial.device: unknown device 'toaster'" in capsys.readouterr().err


def test_a_flops_budget_on_the_table_evaluator_is_a_clear_error(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert main(["search", "-c", config(tmp_path), "-o", out, "multitrial.max_flops=1e6"]) == 2
    assert "multitrial.max_flops: the table evaluator looks up accuracy and latency only" in (
        capsys.readouterr().err
    )
    assert not os.path.exists(out)


def test_trained_candidates_run_on_ray_and_failures_are_recorded(tmp_path):
    data = {
        "seed": 0,
        "searcher": "random",
        "epochs": 1,
        "model": {"name": "nb201", "init_channels": 4, "num_cells": 1},
        "dataset": {"name": "digits", "batch_size": 128},
        "multitrial": {"trials": 3, "evaluator": "train", "device": "raspi4", "workers": 2},
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    assert main(["search", "-c", str(path), "-o", str(out)]) == 0
    rows = read_trials(out / "trials.csv")
    assert len(rows) == 3 and all(r["state"] == "complete" for r in rows)
    assert all(0.0 <= float(r["accuracy"]) <= 100.0 and float(r["params"]) > 0 for r in rows)
    # Data that is not there is refused before the first trial, and nothing is written.
    missing = tmp_path / "missing"
    args = ["dataset.name=cifar10", f"dataset.root={tmp_path}", "multitrial.trials=2"]
    assert main(["search", "-c", str(path), "-o", str(missing), *args]) == 2
    assert not missing.exists()
    # A candidate that cannot be trained is a failed trial, not a crash; a search whose
    # every trial failed ends with an error (exit 1) naming the first failure.
    bad = tmp_path / "bad"
    args = ["dataset.image_size=6", "multitrial.trials=2", "multitrial.workers=1"]
    assert main(["search", "-c", str(path), "-o", str(bad), *args]) == 1
    rows = read_trials(bad / "trials.csv")
    assert [r["state"] for r in rows] == ["failed", "failed"]
    assert all("ResidualBlock halves even spatial sizes" in r["error"] for r in rows)
    assert not (bad / "arch.json").exists()
    manifest = json.loads((bad / "run.json").read_text())
    assert (
        manifest["status"] == "failed"
        and "no feasible architecture in 2 trials" in (manifest["error"])
    )


def test_random_search_and_evolution_need_no_optuna(tmp_path):
    """With optuna not importable, random search and evolution run; optuna is one clear line."""
    script = (
        "import sys; sys.modules['optuna'] = None\n"
        "from nnabla_nas.cli import main\n"
        "args = ['search', '-c', sys.argv[1], '-o', sys.argv[2], 'multitrial.trials=5']\n"
        "sys.exit(main(args + sys.argv[3:]))\n"
    )
    for searcher in ("random", "evolution"):
        out = str(tmp_path / searcher)
        done = subprocess.run(
            [sys.executable, "-c", script, config(tmp_path, searcher), out],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(read_trials(f"{out}/trials.csv")) == 5
    done = subprocess.run(
        [sys.executable, "-c", script, config(tmp_path, "optuna"), str(tmp_path / "o")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pip install 'nnabla-nas[multitrial]'" in done.stderr
    assert not (tmp_path / "o").exists()
