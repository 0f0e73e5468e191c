"""Local search and predictor-guided search from the command line, on the NAS-Bench-201 table."""

import csv
import json

import pytest
import yaml

from nnabla_nas.cli import main
from nnabla_nas.contrib.nb201.table import NB201Table

MAX_LATENCY = 20.0


def config(tmp_path, searcher, trials=30, **section):
    data = {
        "seed": 0,
        "searcher": searcher,
        "model": {"name": "nb201"},
        "multitrial": {"trials": trials, "device": "raspi4", "max_latency": MAX_LATENCY},
    }
    if section:
        data[searcher] = section
    path = tmp_path / f"{searcher}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def archs(folder):
    with open(folder / "trials.csv") as f:
        return [row["arch"] for row in csv.DictReader(f)]


@pytest.mark.parametrize(
    ("searcher", "section"),
    [("local_search", {"move": "best"}), ("bananas", {"initial": 5, "random_candidates": 200})],
)
def test_a_table_search_proposes_new_feasible_architectures(tmp_path, searcher, section):
    out = tmp_path / "run"
    cfg = config(tmp_path, searcher, **section)
    assert main(["search", "-c", cfg, "-o", str(out), "--no-progress"]) == 0
    found = archs(out)
    assert len(found) == len(set(found)) == 30  # never the same architecture twice
    table = NB201Table.load()
    latencies = [table.latency(arch, "raspi4") for arch in found]
    assert max(latencies) <= MAX_LATENCY  # the prefilter let nothing else through
    result = json.loads((out / "result.json").read_text())
    assert result["best_accuracy"] == pytest.approx(max(table.accuracy(a) for a in found))
    assert result["infeasible"] == 0 and result["failed"] == 0
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved[searcher] == {**resolved[searcher], **section}
    assert json.loads((out / "run.json").read_text())["searcher"] == searcher


@pytest.mark.parametrize("searcher", ["local_search", "bananas"])
def test_a_killed_search_resumes_to_the_same_trials(tmp_path, searcher):
    cfg = config(tmp_path, searcher, trials=24)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["search", "-c", cfg, "-o", str(full), "--no-progress"]) == 0
    args = ["--no-progress", "multitrial.trials=14"]
    assert main(["search", "-c", cfg, "-o", str(part), *args]) == 0
    saved = yaml.safe_load((part / "config.yaml").read_text())
    saved["multitrial"]["trials"] = 24
    (part / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    resume = ["search", "-c", str(part / "config.yaml"), "-o", str(part), "--resume"]
    assert main([*resume, "--no-progress"]) == 0
    assert archs(part) == archs(full)


@pytest.mark.parametrize(
    ("searcher", "section", "message"),
    [
        ("bananas", {"kappa": -1.0}, "config.bananas.kappa: must be at least 0"),
        ("bananas", {"parents": 0, "random_candidates": 0}, "nothing to score"),
        ("local_search", {"move": "worst"}, "local_search.move: unknown value 'worst'"),
    ],
)
def test_bad_settings_stop_the_command_before_any_file(
    tmp_path, capsys, searcher, section, message
):
    out = tmp_path / "run"
    assert main(["search", "-c", config(tmp_path, searcher, **section), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
