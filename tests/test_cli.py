"""The command line: config errors, complete run folders, determinism and resume."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from nnabla_nas.cli import main
from nnabla_nas.module import read_parameters

TRAIN = {
    "seed": 1,
    "epochs": 2,
    "dataset": {"name": "digits", "batch_size": 64},
    "model": {"name": "darts", "init_channels": 4, "num_cells": 3},
}


def write_config(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def search_config(tmp_path_factory, tiny_darts_search):
    return write_config(tmp_path_factory.mktemp("cfg") / "search.yaml", tiny_darts_search)


@pytest.fixture(scope="module")
def search_run(tmp_path_factory, search_config):
    out = str(tmp_path_factory.mktemp("runs") / "search")
    assert main(["search", "-c", search_config, "-o", out, "--no-progress"]) == 0
    return out


def read_arch(folder):
    with open(os.path.join(folder, "arch.json")) as f:
        return json.load(f)


def test_search_writes_the_run_folder(search_run):
    names = set(os.listdir(search_run))
    assert {
        "config.yaml",
        "log.txt",
        "metrics.csv",
        "arch.json",
        "weights.h5",
        "checkpoint",
    } <= names
    # The event files sit in the run folder: `tensorboard --logdir runs` names the run by it.
    assert any(n.startswith("events.out.tfevents") for n in names)
    lines = open(f"{search_run}/metrics.csv").read().splitlines()
    assert lines[0].startswith("epoch,") and "valid/error" in lines[0] and len(lines) == 4
    config = yaml.safe_load(open(f"{search_run}/config.yaml"))
    assert config["model"]["init_channels"] == 4 and config["arch_optimizer"]["name"] == "adam"
    arch = read_arch(search_run)
    assert len(arch["normal"]) == 2 * 2 and len(arch["reduce"]) == 2 * 2
    weights = read_parameters(f"{search_run}/weights.h5")
    assert any("alpha" in k for k in weights)


def test_same_seed_gives_the_same_architecture_and_weights(tmp_path, search_config, search_run):
    out = str(tmp_path / "again")
    assert main(["search", "-c", search_config, "-o", out, "--no-progress"]) == 0
    assert read_arch(out) == read_arch(search_run)
    a, b = read_parameters(f"{out}/weights.h5"), read_parameters(f"{search_run}/weights.h5")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_killed_search_resumes_to_the_same_result(tmp_path, search_config, search_run):
    out = str(tmp_path / "killed")
    cmd = [
        sys.executable,
        "-m",
        "nnabla_nas.cli",
        "search",
        "-c",
        search_config,
        "-o",
        out,
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = os.path.join(out, "checkpoint", "latest.json")
    deadline = time.time() + 120
    while not os.path.exists(pointer) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.load(open(pointer))["latest"] != "epoch_0003", "the run ended before the kill"
    assert main(["search", "-c", search_config, "-o", out, "--resume", "--no-progress"]) == 0
    assert read_arch(out) == read_arch(search_run)
    a, b = read_parameters(f"{out}/weights.h5"), read_parameters(f"{search_run}/weights.h5")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for name in ("metrics.csv", "arch_probs.csv"):
        rows = open(f"{out}/{name}").read().splitlines()
        assert rows == open(f"{search_run}/{name}").read().splitlines(), name


def test_existing_run_needs_resume(search_config, search_run, capsys):
    assert main(["search", "-c", search_config, "-o", search_run, "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_train_retrains_the_found_architecture(tmp_path, search_run):
    config = write_config(tmp_path / "train.yaml", TRAIN)
    out = str(tmp_path / "train")
    arch = f"{search_run}/arch.json"
    assert main(["train", "-c", config, "-o", out, "--arch", arch, "--no-progress"]) == 0
    result = json.load(open(f"{out}/result.json"))
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert read_arch(out) == read_arch(search_run)
    assert not any("alpha" in k for k in read_parameters(f"{out}/weights.h5"))
    # The retrained network leaves the framework: ONNX, run in onnxruntime, gives nnabla's
    # test predictions (the export tests check every op to 1e-4).
    onnx_path = str(tmp_path / "net.onnx")
    assert main(["export", out, "--format", "onnx", "-o", onnx_path]) == 0
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    assert logits.shape == (1, 10) and np.isfinite(logits).all()
    assert main(["export", "--arch", arch, "--format", "nnp", "-o", str(tmp_path / "a.nnp")]) == 2


def test_report_embeds_the_run(search_run, tmp_path, capsys):
    import base64
    import re

    path = str(tmp_path / "report.html")
    assert main(["report", search_run, "-o", path]) == 0
    assert capsys.readouterr().out.strip() == path
    page = open(path, encoding="utf-8").read()
    sources = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    pngs = {open(f"{search_run}/figures/{n}", "rb").read() for n in ("probs.png", "curves.png")}
    assert pngs <= {base64.b64decode(s) for s in sources}
    assert "http://" not in page and "https://" not in page
    assert main(["report", str(tmp_path / "nowhere")]) == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("dataset.bath_size=3", "unknown key 'bath_size' for dataset 'digits'; valid keys are"),
        ("epochs=ten", "config.epochs: expected int, got 'ten'"),
        ("model.init_chanels=4", "model: unknown key 'init_chanels' for the search network"),
        ("model.name=resnet", "unknown search space 'resnet'"),
        ("optimizer.name=adagrad", "adagrad"),
        # The tiny config's digits test_fraction would do nothing for CIFAR-10.
        ("dataset.name=cifar10", "unknown key 'test_fraction' for dataset 'cifar10'"),
        ("dataset.test_fraction=null", "config.dataset.test_fraction: expected float, got None"),
        ("model.num_cells=3.5", "config.model.num_cells: expected int, got 3.5"),
    ],
)
def test_bad_config_is_one_clear_error_before_any_work(
    tmp_path, search_config, override, message, capsys
):
    out = tmp_path / "run"
    assert main(["search", "-c", search_config, "-o", str(out), override]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # nothing is written before every check has passed


def test_early_stop_without_the_eigenvalue_is_refused(tmp_path, search_config, capsys):
    out = tmp_path / "run"
    args = ["darts.early_stop=true", "darts.hessian_iterations=0"]
    assert main(["search", "-c", search_config, "-o", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert "set darts.hessian_iterations > 0" in err and "Traceback" not in err
    assert not out.exists()


def test_missing_cifar10_directory_names_the_download(tmp_path, tiny_darts_search, capsys):
    cifar = {"name": "cifar10", "root": str(tmp_path / "nowhere")}
    config = write_config(tmp_path / "cifar.yaml", {**tiny_darts_search, "dataset": cifar})
    assert main(["search", "-c", config, "-o", str(tmp_path / "run")]) == 2
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_arch_file_is_validated(tmp_path, capsys):
    bad = tmp_path / "arch.json"
    bad.write_text(json.dumps({"normal": [["sep_conv_9x9", 0]]}))
    config = write_config(tmp_path / "train.yaml", TRAIN)
    assert main(["train", "-c", config, "-o", str(tmp_path / "t"), "--arch", str(bad)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_flags_become_config_overrides():
    from nnabla_nas.cli import _overrides, build_parser

    args = build_parser().parse_args(
        [
            "search",
            "-o",
            "x",
            "--context",
            "cudnn",
            "--device-id",
            "1",
            "--ray-address",
            "ray://head:10001",
            "epochs=2",
        ]
    )
    assert _overrides(args) == [
        "epochs=2",
        "context=cudnn",
        "device_id=1",
        "multitrial.ray_address=ray://head:10001",
    ]


def test_pnas_search_samples_paths_and_resumes_exactly(tmp_path, search_config):
    args = ["searcher=pnas", "epochs=2", "pnas.warmup_epochs=1"]
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    assert main(["search", "-c", search_config, "-o", full, "--no-progress", *args]) == 0
    header = open(f"{full}/metrics.csv").read().splitlines()[0]
    assert "train/arch_reward" in header and "valid/error" in header
    # Stop after the first epoch (a fresh process would be killed; here the budget ends),
    # then resume with the full config: same architecture and weights.
    assert main(["search", "-c", search_config, "-o", part, "--no-progress", *args]) == 0
    import shutil

    shutil.rmtree(f"{part}/checkpoint/epoch_0002")
    with open(f"{part}/checkpoint/latest.json", "w") as f:
        json.dump({"latest": "epoch_0001"}, f)
    assert (
        main(["search", "-c", search_config, "-o", part, "--resume", "--no-progress", *args]) == 0
    )
    assert read_arch(part) == read_arch(full)
    a, b = read_parameters(f"{part}/weights.h5"), read_parameters(f"{full}/weights.h5")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_gdas_search_builds_sampled_paths_anneals_and_resumes_exactly(tmp_path, search_config):
    args = ["searcher=gdas", "epochs=2", "gdas.tau_max=4", "gdas.tau_min=1"]
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    assert main(["search", "-c", search_config, "-o", full, "--no-progress", *args]) == 0
    with open(f"{full}/metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["train/tau"]) for r in rows] == [4.0, 1.0]
    assert "train/arch_loss" in rows[0] and "valid/error" in rows[0]
    assert main(["search", "-c", search_config, "-o", part, "--no-progress", *args]) == 0
    shutil.rmtree(f"{part}/checkpoint/epoch_0002")
    with open(f"{part}/checkpoint/latest.json", "w") as f:
        json.dump({"latest": "epoch_0001"}, f)
    resumed = ["search", "-c", search_config, "-o", part, "--resume", "--no-progress", *args]
    assert main(resumed) == 0
    assert read_arch(part) == read_arch(full)
    a, b = read_parameters(f"{part}/weights.h5"), read_parameters(f"{full}/weights.h5")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_profile_prints_measurement_and_estimates(tmp_path, search_run, capsys):
    out_json, table = str(tmp_path / "profile.json"), str(tmp_path / "latency.json")
    config = write_config(tmp_path / "train.yaml", TRAIN)
    args = [
        "profile",
        "-c",
        config,
        "--arch",
        f"{search_run}/arch.json",
        "--runs",
        "5",
        "--latency-table",
        table,
        "--json",
        out_json,
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "measured end to end: " in text and "by the layer sum (uncalibrated)" in text
    result = json.load(open(out_json))
    assert result["input_shape"] == [1, 1, 8, 8]
    assert (
        0
        < result["measured_ms"]["min"]
        <= result["measured_ms"]["latency"]
        <= result["measured_ms"]["median"]
    )
    layers = result["layers"]
    assert sum(r.get("flops", 0.0) for r in layers) == pytest.approx(result["flops"])
    assert sum(r.get("params", 0.0) for r in layers) == pytest.approx(result["params"])
    assert sum(r.get("ms", 0.0) for r in layers) == pytest.approx(result["predicted_ms"])
    entries = json.load(open(table))["entries"]
    assert entries and all(e["ms"] > 0 for e in entries if "ms" in e)


def test_search_logs_the_costs_of_the_most_likely_path(search_run, tiny_darts_search):
    import csv

    from nnabla_nas.contrib.estimator import FLOPsEstimator, ParamsEstimator
    from nnabla_nas.contrib.registry import get_space
    from nnabla_nas.module import most_likely

    rows = list(csv.DictReader(open(f"{search_run}/metrics.csv")))
    assert {"cost/flops", "cost/params", "cost/memory"} <= set(rows[0])
    options = {k: v for k, v in tiny_darts_search["model"].items() if k != "name"}
    model = get_space("darts").search_net(1, num_classes=10, rng=0, **options)
    model.set_parameters(read_parameters(f"{search_run}/weights.h5"))
    with most_likely(model):
        flops = FLOPsEstimator().cost(model, (1, 1, 8, 8))
        params = ParamsEstimator().cost(model, (1, 1, 8, 8))
    # The last epoch's costs are those of the final alphas' argmax path.
    assert float(rows[-1]["cost/flops"]) == pytest.approx(flops)
    assert float(rows[-1]["cost/params"]) == pytest.approx(params)
    assert all(float(r["cost/memory"]) > 0 for r in rows)


def test_search_tensorboard_holds_the_supernet_graph(search_run, read_events):
    from tensorboardX.proto.graph_pb2 import GraphDef

    events = read_events(search_run)
    graphs = [GraphDef.FromString(e.graph_def) for e in events if e.HasField("graph_def")]
    assert len(graphs) == 1
    names = [node.name for node in graphs[0].node]
    # The DARTS supernet in full mode: every candidate of every edge is in the graph.
    assert any(n.startswith("_cells/0/") and "Convolution" in n for n in names)
    assert any("MaxPooling" in n for n in names) and any("Softmax" in n for n in names)
    tags = {v.tag for e in events for v in e.summary.value}
    assert {"train/loss", "valid/error", "cost/flops"} <= tags


def test_search_tensorboard_has_layout_config_arch_and_hparams(search_run, read_events):
    from tensorboardX.proto.layout_pb2 import Layout
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    events = read_events(search_run)
    values = [(v, e.step) for e in events for v in e.summary.value]
    plugins = {v.metadata.plugin_data.plugin_name for v, _ in values}
    assert {"custom_scalars", "text", "hparams"} <= plugins
    (layout,) = [Layout.FromString(v.tensor.string_val[0]) for v, _ in values
                 if v.metadata.plugin_data.plugin_name == "custom_scalars"]  # fmt: skip
    charts = {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}
    # One chart per edge (2 cell kinds x 5 edges) and one per metric kind.
    assert charts["normal/edge_0"] == ["^arch/normal/edge_0/[^/]+$"]
    assert len([t for t in charts if "/edge_" in t]) == 10 and "loss" in charts
    texts = {(v.tag, step): v.tensor.string_val[0].decode() for v, step in values
             if v.metadata.plugin_data.plugin_name == "text"}  # fmt: skip
    config = yaml.safe_load(open(f"{search_run}/config.yaml"))
    assert "init_channels: 4" in texts[("config/text_summary", 0)]
    arch = json.load(open(f"{search_run}/arch.json"))
    assert json.loads(texts[("architecture/text_summary", 3)].strip()) == arch
    data = [HParamsPluginData.FromString(v.metadata.plugin_data.content) for v, _ in values
            if v.metadata.plugin_data.plugin_name == "hparams"]  # fmt: skip
    info = next(d.session_start_info for d in data if d.HasField("session_start_info"))
    assert info.hparams["optimizer.lr"].number_value == config["optimizer"]["lr"]
    assert info.hparams["model.name"].string_value == "darts"
    experiment = next(d.experiment for d in data if d.HasField("experiment"))
    assert "valid/error" in {m.name.tag for m in experiment.metric_infos}


def test_search_draws_its_figures_and_logs_them(search_run, read_events):
    import csv

    from matplotlib.image import imread

    rows = list(csv.DictReader(open(f"{search_run}/arch_probs.csv")))
    # 3 epochs x 2 cell kinds x 5 edges (2 nodes) x 8 candidates, summing to 1 per edge.
    assert len(rows) == 3 * 2 * 5 * 8
    assert {r["epoch"] for r in rows} == {"1", "2", "3"}  # epochs numbered from 1
    last = [float(r["probability"]) for r in rows if r["epoch"] == "3"]
    assert sum(last) == pytest.approx(2 * 5, rel=1e-5)
    figures = set(os.listdir(f"{search_run}/figures"))
    expected = {"probs.png", "decision.png", "curves.png", "costs.png", "tradeoff.png"}
    expected |= {"arch_normal.svg", "arch_reduce.png"}
    assert expected <= figures
    assert imread(f"{search_run}/figures/curves.png").shape[2] in (3, 4)
    events = read_events(search_run)
    images = {(v.tag, e.step) for e in events for v in e.summary.value if v.HasField("image")}
    assert {("figures/probs", 3), ("figures/arch_normal", 1)} <= images
    assert {("figures/decision", 3), ("figures/tradeoff", 3)} <= images


def test_profile_reads_what_a_run_folder_holds_from_its_manifest(search_run, tmp_path, capsys):
    out_json = str(tmp_path / "search_profile.json")
    assert main(["profile", search_run, "--runs", "3", "--json", out_json]) == 0
    assert "measured end to end: " in capsys.readouterr().out
    profiled = json.load(open(out_json))
    # A one-shot search: its supernet's most likely path, one input.
    assert profiled["input_shape"] == [1, 1, 8, 8] and profiled["params"] > 0
    chosen = {}
    for row in profiled["layers"]:
        match = re.match(r"(.*/_edges/\d+)/_ops/(\d+)", row["layer"])
        if match:
            chosen.setdefault(match[1], set()).add(match[2])
    assert chosen and all(len(ops) == 1 for ops in chosen.values())  # one candidate an edge
    assert main(["profile", str(tmp_path)]) == 2
    assert "has no run.json" in capsys.readouterr().err
    assert main(["profile", search_run, "-c", "x.yaml"]) == 2
