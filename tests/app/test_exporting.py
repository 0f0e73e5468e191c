"""Exporting a run folder: the retrained network of a train run, as nnabla computes it.

The export functions themselves (every op, ONNX fixes, argument errors) are tested in
tests/test_export.py; here the network is rebuilt from a real run folder and its run.json.
"""

import json
import os
import shutil

import nnabla as nn
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml
from nnabla.utils.nnp_graph import NnpLoader

import nnabla_nas
from nnabla_nas.app.build import FINGERPRINT, make_dataset
from nnabla_nas.app.config import ConfigError, DatasetConfig, TrainConfig, load_config, parse_config
from nnabla_nas.app.exporting import TrainedRun, export_run, load_run
from nnabla_nas.app.run import RunError, RunFolder
from nnabla_nas.app.train import run_train
from nnabla_nas.cli import main
from nnabla_nas.contrib.darts.network import TrainNet as DartsNet
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.export import read_metadata
from nnabla_nas.module import read_parameter_attrs

ATOL, RTOL = 1e-4, 1e-5

# Every DARTS op in both cells (see tests/test_export.py).
GENOTYPE = {
    "normal": [
        ["avg_pool_3x3", 0], ["sep_conv_5x5", 1], ["dil_conv_5x5", 2], ["max_pool_3x3", 1],
        ["skip_connect", 0], ["sep_conv_3x3", 3],
    ],
    "normal_concat": [2, 3, 4],
    "reduce": [
        ["avg_pool_3x3", 0], ["skip_connect", 1], ["dil_conv_3x3", 2], ["sep_conv_3x3", 0],
        ["max_pool_3x3", 1], ["avg_pool_3x3", 3],
    ],
    "reduce_concat": [2, 3, 4],
}  # fmt: skip
MEAN, STD = 0.3, 0.4
TRAIN = {
    "seed": 3,
    "epochs": 1,
    "dataset": {"name": "digits", "batch_size": 128, "mean": [MEAN], "std": [STD]},
    "model": {"name": "darts", "init_channels": 4, "num_cells": 3, "stem_multiplier": 1},
    "drop_path": 0.2,
    "export": ["nnp", "onnx"],
}


def reference(module, x):
    """nnabla's inference output of `module` on `x`."""
    with module.modes(training=False):
        y = module(nn.Variable.from_numpy_array(x))
    y.forward()
    return y.d.copy()


def run_nnp(path, x):
    graph = NnpLoader(path).get_network("network", batch_size=len(x))
    graph.inputs["x"].d = x
    graph.outputs["y"].forward()
    return graph.outputs["y"].d.copy()


def run_onnx(path, x):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x.astype(np.float32)})[0]


def digits_batch(count):
    _, test = make_dataset(DatasetConfig()).load(0)
    return test.images[:count]


def expected_logits(run_dir, x):
    """The logits of the run's weights in a network built here, on normalised inputs."""
    net = DartsNet(1, 4, 3, 10, GENOTYPE, stem_multiplier=1)
    net.load_parameters(os.path.join(run_dir, "weights.h5"), raise_if_missing=True)
    return reference(net, (x - MEAN) / STD)


def snapshot(folder):
    """Every file under `folder` with its bytes."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    """A finished one-epoch retraining of a tiny DARTS net on 8x8 digits, normalised."""
    folder = tmp_path_factory.mktemp("export_run")
    arch = str(folder / "found.json")
    get_space("darts").write(arch, GENOTYPE)
    out = str(folder / "run")
    run_train(parse_config(TrainConfig, TRAIN), arch, out, progress=False)
    nn.clear_parameters()
    return out


@pytest.fixture(scope="module")
def search_run(tmp_path_factory, tiny_darts_search):
    """A finished one-epoch DARTS search, made by the command line."""
    folder = tmp_path_factory.mktemp("export_search")
    config = folder / "search.yaml"
    config.write_text(yaml.safe_dump({**tiny_darts_search, "epochs": 1}))
    out = str(folder / "search")
    assert main(["search", "-c", str(config), "-o", out, "--no-progress"]) == 0
    nn.clear_parameters()
    return out


def test_the_train_run_is_a_run_folder(train_run):
    manifest = RunFolder(train_run).manifest()
    assert (manifest.command, manifest.kind, manifest.status) == ("train", "train", "finished")
    assert (manifest.space, manifest.dataset, manifest.seed) == ("darts", "digits", 3)


def test_export_run_writes_the_trained_network(train_run, tmp_path):
    x = digits_batch(4)
    expected = expected_logits(train_run, x)
    assert np.ptp(expected) > 0.1
    onnx_path = export_run(train_run, output=str(tmp_path / "model.onnx"), batch_size=4)
    assert onnx_path == str(tmp_path / "model.onnx")
    np.testing.assert_allclose(run_onnx(onnx_path, x), expected, atol=ATOL, rtol=RTOL)
    nnp_path = export_run(train_run, format="nnp", output=str(tmp_path / "m.nnp"), batch_size=4)
    np.testing.assert_allclose(run_nnp(nnp_path, x), expected, atol=ATOL, rtol=RTOL)
    assert sorted(os.listdir(tmp_path)) == ["m.nnp", "model.onnx"]


def test_export_command_writes_the_trained_network(train_run, tmp_path, capsys):
    path = str(tmp_path / "net.bin")
    assert main(["export", train_run, "--format", "onnx", "-o", path, "--batch", "2"]) == 0
    assert capsys.readouterr().out.strip() == path
    x = digits_batch(2)
    np.testing.assert_allclose(run_onnx(path, x), expected_logits(train_run, x), atol=ATOL)


def test_exports_carry_the_runs_metadata(train_run, tmp_path):
    path = export_run(train_run, output=str(tmp_path / "m.onnx"), batch_size=2)
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert (props["space"], props["dataset"], props["output"]) == ("darts", "digits", "logits")
    assert json.loads(props["architecture"]) == GENOTYPE
    assert json.loads(props["model_options"])["init_channels"] == 4
    assert props["fingerprint"] == read_parameter_attrs(f"{train_run}/weights.h5")[FINGERPRINT]
    assert (props["input_layout"], props["normalization"]) == ("NCHW", "in_graph")
    assert json.loads(props["input_mean"]) == [MEAN] and json.loads(props["input_std"]) == [STD]
    assert json.loads(props["input_shape"]) == [2, 1, 8, 8] and props["classes"] == "10"
    assert props["nnabla_nas_version"] == nnabla_nas.__version__
    nnp = export_run(train_run, output=str(tmp_path / "m.nnp"), batch_size=2)
    assert read_metadata(nnp) == props
    # The train run's own exports (its export: key) carry the same, for one input.
    own = {p.key: p.value for p in onnx.load(f"{train_run}/model.onnx").metadata_props}
    assert own == read_metadata(f"{train_run}/model.nnp")
    assert json.loads(own.pop("input_shape")) == [1, 1, 8, 8]
    assert own == {k: v for k, v in props.items() if k != "input_shape"}


def test_export_command_with_a_dynamic_batch(train_run, tmp_path, capsys):
    path = str(tmp_path / "any.onnx")
    assert main(["export", train_run, "--format", "onnx", "-o", path, "--dynamic-batch"]) == 0
    for batch in (1, 3):
        x = digits_batch(batch)
        np.testing.assert_allclose(run_onnx(path, x), expected_logits(train_run, x), atol=ATOL)
    nnp = str(tmp_path / "m.nnp")
    assert main(["export", train_run, "--format", "nnp", "-o", nnp, "--dynamic-batch"]) == 2
    assert "a dynamic batch is an ONNX option" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["any.onnx"]


def test_train_run_exports_on_request(train_run):
    x = digits_batch(1)
    expected = expected_logits(train_run, x)
    np.testing.assert_allclose(run_onnx(f"{train_run}/model.onnx", x), expected, atol=ATOL)
    np.testing.assert_allclose(run_nnp(f"{train_run}/model.nnp", x), expected, atol=ATOL)


def test_export_config_values_are_checked():
    with pytest.raises(ConfigError, match=r"export.*'tflite'.*nnp, onnx"):
        load_config(TrainConfig, None, ["export=[nnp, tflite]"])


def test_load_run_rebuilds_the_network_with_what_it_was_trained_on(train_run):
    run = load_run(train_run)
    assert isinstance(run, TrainedRun)
    assert run.sample_shape == (1, 8, 8) and run.classes == 10
    assert run.sample_shape == make_dataset(run.config.dataset).sample_shape
    assert run.space is get_space("darts") and run.config.model.options["init_channels"] == 4
    assert run.config.drop_path == 0.2 and run.config.seed == 3
    x = digits_batch(3)
    transformed = run.transform(nn.Variable.from_numpy_array(x), training=False)
    transformed.forward()
    np.testing.assert_allclose(transformed.d, (x - MEAN) / STD, rtol=1e-6, atol=1e-6)
    with run.model.modes(training=False):
        y = run.model(nn.Variable.from_numpy_array((x - MEAN) / STD))
    y.forward()
    np.testing.assert_allclose(y.d, expected_logits(train_run, x), atol=1e-5)


def test_export_run_from_separate_files(train_run, tmp_path):
    files = {
        "arch": f"{train_run}/arch.json",
        "weights": f"{train_run}/weights.h5",
        "config": f"{train_run}/config.yaml",
    }
    for name, path in files.items():  # files outside any run folder: no run.json needed
        shutil.copy(path, tmp_path / os.path.basename(path))
        files[name] = str(tmp_path / os.path.basename(path))
    path = export_run(output=str(tmp_path / "m.nnp"), **files)
    x = digits_batch(1)
    np.testing.assert_allclose(run_nnp(path, x), expected_logits(train_run, x), atol=ATOL)


def test_a_search_run_is_refused(search_run, tmp_path, capsys):
    assert RunFolder(search_run).manifest().command == "search"
    output = str(tmp_path / "m.onnx")
    with pytest.raises(RunError, match=r"is a one-shot search.*nnabla-nas train --arch"):
        export_run(search_run, output=output)
    with pytest.raises(RunError, match=r"is a one-shot search, whose weights are a supernet's"):
        load_run(search_run)
    before = snapshot(search_run)
    assert main(["export", search_run, "--format", "onnx", "-o", output]) == 2
    assert "is a one-shot search" in capsys.readouterr().err
    assert os.listdir(tmp_path) == [] and snapshot(search_run) == before


def test_a_folder_without_run_json_is_refused(train_run, tmp_path, capsys):
    copy = tmp_path / "old-run"
    shutil.copytree(train_run, copy)
    os.remove(copy / "run.json")
    output = str(tmp_path / "m.nnp")
    with pytest.raises(RunError, match=r"old-run' has no run\.json, so it is not a run folder"):
        export_run(str(copy), output=output)
    with pytest.raises(RunError, match=r"has no run\.json"):
        load_run(str(copy))
    assert main(["export", str(copy), "--format", "nnp", "-o", output]) == 2
    assert "has no run.json" in capsys.readouterr().err
    assert not os.path.exists(output)


def test_files_of_the_run_are_never_overwritten(train_run, tmp_path, capsys):
    before = snapshot(train_run)
    weights = os.path.join(train_run, "weights.h5")
    assert main(["export", train_run, "--format", "onnx", "-o", weights]) == 2
    assert "is a file of the run" in capsys.readouterr().err
    for role in ("config", "arch", "metrics", "manifest", "checkpoint"):
        with pytest.raises(ValueError, match="is a file of the run; write the export elsewhere"):
            export_run(train_run, format="onnx", output=RunFolder(train_run).file(role))
    # Nor a file given in its place.
    shutil.copy(weights, tmp_path / "w.h5")
    with pytest.raises(ValueError, match="is a file of the run"):
        export_run(
            arch=f"{train_run}/arch.json", weights=str(tmp_path / "w.h5"), format="onnx",
            output=str(tmp_path / "w.h5"),
        )  # fmt: skip
    assert snapshot(train_run) == before and os.listdir(tmp_path) == ["w.h5"]


def test_an_nnp_name_with_the_onnx_format_is_refused(train_run, tmp_path, capsys):
    before = snapshot(train_run)
    for output in (os.path.join(train_run, "model.nnp"), str(tmp_path / "m.nnp")):
        assert main(["export", train_run, "--format", "onnx", "-o", output]) == 2
        assert "is named as a .nnp file but the format is onnx" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"named as a \.onnx file but the format is nnp"):
        export_run(train_run, format="nnp", output=str(tmp_path / "m.onnx"))
    assert snapshot(train_run) == before and os.listdir(tmp_path) == []


def test_export_run_errors(train_run, tmp_path):
    with pytest.raises(RunError, match=r"run folder .*nothing' does not exist"):
        export_run(str(tmp_path / "nothing"), output=str(tmp_path / "m.onnx"))
    with pytest.raises(
        FileNotFoundError, match=r"weights file .*w\.h5' does not exist; the run in .* is finished"
    ):
        export_run(train_run, weights=str(tmp_path / "w.h5"), output=str(tmp_path / "m.nnp"))
    with pytest.raises(ValueError, match="give both the arch file and the weights"):
        export_run(arch=f"{train_run}/arch.json", output=str(tmp_path / "m.nnp"))
    with pytest.raises(ValueError, match="unknown export format"):
        export_run(train_run, format="pb", output=str(tmp_path / "m.pb"))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        export_run(train_run, output=str(tmp_path / "m.nnp"), batch_size=0)
    wide = tmp_path / "wide.yaml"
    wide.write_text(
        open(f"{train_run}/config.yaml").read().replace("init_channels: 4", "init_channels: 8")
    )
    with pytest.raises(ValueError, match=r"were trained for another network \(fingerprint"):
        export_run(train_run, config=str(wide), output=str(tmp_path / "m.nnp"))
    search = tmp_path / "search.yaml"
    search.write_text("searcher: darts\n")
    with pytest.raises(ConfigError, match="unknown key 'searcher'"):
        export_run(train_run, config=str(search), output=str(tmp_path / "m.nnp"))
    assert sorted(os.listdir(tmp_path)) == ["search.yaml", "wide.yaml"]
