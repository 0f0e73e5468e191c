"""`nnabla-nas specialize`: a trained Once-for-All supernet's best sub-network under a
latency budget, written as a plain network with its inherited weights."""

import csv
import json
import os

import nnabla as nn
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

import nnabla_nas.app.multitrial as multitrial
from nnabla_nas.app.exporting import load_run
from nnabla_nas.app.run import RunFolder
from nnabla_nas.cli import main
from nnabla_nas.contrib.estimator import FLOPsEstimator
from nnabla_nas.contrib.registry import get_space


@pytest.fixture(scope="module")
def ofa_run(tmp_path_factory):
    """A one-epoch OFA search on digits (the largest network only: a trained supernet),
    at an elastic resolution of 6 or 8."""
    out = str(tmp_path_factory.mktemp("ofa") / "search")
    args = ["search", "-c", "ofa-digits-search", "-o", out, "--no-progress", "epochs=1",
            "ofa.phases=[{name: full, epochs: 1}]", "ofa.distill=0",
            "model.resolutions=[6, 8]", "ofa.front=0"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def specialized(ofa_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("spec") / "spec")
    args = ["specialize", ofa_run, "--latency", "100", "-o", out, "--trials", "6",
            "--population", "4", "--calib-batches", "2"]  # fmt: skip
    assert main(args) == 0
    return out


def test_specialize_writes_a_multitrial_run_with_the_best_subnet(specialized, ofa_run):
    run = RunFolder(specialized)
    manifest = run.manifest()
    assert (manifest.command, manifest.kind, manifest.searcher) == (
        "search", "multi-trial", "evolution",
    )  # fmt: skip
    with open(run.file("config")) as f:
        config = yaml.safe_load(f)
    assert config["multitrial"]["supernet"] == ofa_run
    assert config["multitrial"]["evaluator"] == "supernet"
    assert config["multitrial"]["max_latency"] == 100
    with open(run.file("result")) as f:
        result = json.load(f)
    assert 0.0 <= result["subnet_test_accuracy"] <= 1.0
    assert result["best_latency"] <= 100
    with open(run.file("cost_model")) as f:
        assert json.load(f)["predictor"].startswith("calibrated")  # on candidate networks
    with open(run.file("pareto_csv")) as f:
        archs = [line.rsplit(",", 1)[-1] for line in f.read().splitlines()[1:]]
    assert len(archs) == len(set(archs))  # one row per architecture


def test_the_subnet_holds_the_supernets_weights_with_recalibrated_statistics(specialized, ofa_run):
    run, source = RunFolder(specialized), RunFolder(ofa_run)
    trained = load_run(
        arch=run.file("arch"), weights=run.file("subnet_weights"), config=run.file("subnet_config")
    )
    space = get_space("ofa")
    with open(source.file("config")) as f:
        options = {k: v for k, v in yaml.safe_load(f)["model"].items() if k != "name"}
    supernet = space.make_search_net(1, 10, seed=0, options=options)
    supernet.load_parameters(source.file("weights"))
    inherited = space.subnet(supernet, space.read(run.file("arch"))).get_parameters()
    params = trained.model.get_parameters()
    assert sorted(params) == sorted(inherited)
    statistics = [k for k in params if k.endswith(("/_mean", "/_var"))]
    assert statistics
    for key, p in params.items():
        if key in statistics:
            continue
        np.testing.assert_array_equal(p.d, inherited[key].d, err_msg=key)
    assert any(not np.allclose(params[k].d, inherited[k].d) for k in statistics)


def test_the_subnet_exports_to_onnx_as_nnabla_computes_it(specialized, tmp_path):
    run = RunFolder(specialized)
    arch = run.file("arch")
    with open(arch) as f:
        resolution = json.load(f)["resolution"]
    path = str(tmp_path / "subnet.onnx")
    args = ["export", "-c", run.file("subnet_config"), "--arch", arch,
            "--weights", run.file("subnet_weights"), "--format", "onnx", "-o", path]  # fmt: skip
    assert main(args) == 0
    trained = load_run(arch=arch, weights=run.file("subnet_weights"),
                       config=run.file("subnet_config"))  # fmt: skip
    x = np.random.default_rng(0).standard_normal((1, 1, 8, 8)).astype(np.float32)
    with trained.model.modes(training=False):
        y = trained.model(nn.Variable.from_numpy_array(x))
    y.forward()
    # The seed's search picks a sub-network at resolution 6: its graph resizes the input.
    assert resolution == 6
    assert "Resize" in {node.op_type for node in onnx.load(path).graph.node}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    np.testing.assert_allclose(session.run(None, {name: x})[0], y.d, atol=1e-4, rtol=1e-5)


def test_the_subnet_fine_tunes_from_its_inherited_weights(specialized, tmp_path):
    run = RunFolder(specialized)
    out = str(tmp_path / "ft")
    args = ["train", "-c", run.file("subnet_config"), "--arch", run.file("arch"),
            "--init-weights", run.file("subnet_weights"), "-o", out, "--no-progress",
            "epochs=1", "optimizer.lr=1e-30"]  # fmt: skip
    assert main(args) == 0
    with open(os.path.join(out, "result.json")) as f:
        tuned = json.load(f)["test_accuracy"]
    with open(run.file("result")) as f:
        inherited = json.load(f)["subnet_test_accuracy"]
    # No weight moves at this rate; the retraining's own BatchNorm statistics differ.
    assert abs(tuned - inherited) < 0.2 and tuned > 0.15


def test_specialize_refuses_a_budget_no_candidate_meets_before_writing(
    ofa_run, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(multitrial, "BUDGET_DRAWS", 20)
    out = str(tmp_path / "none")
    assert main(["specialize", ofa_run, "--latency", "0.001", "-o", out, "--trials", "4"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the calibration's log
    assert last.startswith("nnabla-nas: error: multitrial.max_latency: none of 20 random "
                           "candidates is within 0.001 ms (the cheapest")  # fmt: skip
    assert not os.path.exists(out)


@pytest.mark.parametrize(
    ("latency", "expected"), [("-1", "--latency must be a positive number"), ("2", "holds a")]
)
def test_specialize_refuses_bad_input(specialized, latency, expected, tmp_path, capsys):
    out = str(tmp_path / "bad")
    # the specialisation run itself is a multi-trial search, not a supernet
    assert main(["specialize", specialized, "--latency", latency, "-o", out]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
    assert not os.path.exists(out)


def test_a_second_budget_reuses_the_first_calibration(specialized, ofa_run, tmp_path):
    first = RunFolder(specialized)
    table = str(tmp_path / "table.json")
    with open(first.file("latency_table")) as f, open(table, "w") as g:
        g.write(f.read())
    out = str(tmp_path / "second")
    args = ["specialize", ofa_run, "--latency", "50", "-o", out, "--trials", "2",
            "--population", "2", "--calib-batches", "1", "--latency-table", table]  # fmt: skip
    assert main(args) == 0
    second = RunFolder(out)
    with open(second.file("log")) as f:
        assert "calibrating" not in f.read()
    with open(first.file("cost_model")) as f, open(second.file("cost_model")) as g:
        assert json.load(f)["predictor"] == json.load(g)["predictor"]


def test_a_flops_budget_bounds_every_feasible_candidate(ofa_run, tmp_path):
    space = get_space("ofa")
    with open(RunFolder(ofa_run).file("config")) as f:
        options = {k: v for k, v in yaml.safe_load(f)["model"].items() if k != "name"}
    supernet = space.make_search_net(1, 10, seed=0, options=options)
    train = {k: v for k, v in options.items() if k in space.options("train")}
    counts = []
    for arch in (supernet.min_arch(), supernet.max_arch()):
        net = space.make_train_net(1, 10, arch, seed=0, options=train)
        with net.modes(training=False):
            counts.append(FLOPsEstimator().cost(net, (1, 1, 8, 8)))
    budget = (counts[0] + counts[1]) / 2
    out = str(tmp_path / "flops")
    args = ["specialize", ofa_run, "--flops", f"{budget:.0f}", "-o", out, "--trials", "6",
            "--population", "3", "--calib-batches", "1"]  # fmt: skip
    assert main(args) == 0
    with open(os.path.join(out, "trials.csv")) as f:
        rows = list(csv.DictReader(f))
    assert rows and all(float(r["flops"]) <= budget for r in rows)  # the prefilter holds
    with open(os.path.join(out, "config.yaml")) as f:
        multitrial = yaml.safe_load(f)["multitrial"]
    assert multitrial["max_flops"] == pytest.approx(budget, rel=1e-6)
    assert multitrial["max_latency"] is None


def test_specialize_needs_a_budget(ofa_run, tmp_path, capsys):
    out = str(tmp_path / "none")
    assert main(["specialize", ofa_run, "-o", out]) == 2
    assert "give --latency MS, --flops N or both" in capsys.readouterr().err
    assert not os.path.exists(out)
