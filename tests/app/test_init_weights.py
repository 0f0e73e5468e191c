"""``init_weights``: a retraining that starts from given weights (fine-tuning), checked
before anything is written, and ignored by a resume, which continues from its checkpoint."""

import json
import os

import nnabla as nn
import numpy as np
import pytest
import toy_space
import yaml

from nnabla_nas.app.build import make_data
from nnabla_nas.app.config import ConfigError, TrainConfig, check_train, parse_config
from nnabla_nas.app.train import check_init_weights, load_init_weights, make_trainer
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import read_parameters

# The toy space of tests/toy_space.py: two blocks of 4 channels, a second on 8x8 digits.
BASE = toy_space.CONFIG
ARCH = {"blocks": ["conv3", "conv1"]}
OTHER = {"blocks": ["conv1", "conv1"]}  # the first block's kernel is 1x1, not 3x3


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished one-epoch retraining of `ARCH`: its folder, config and arch files."""
    root = tmp_path_factory.mktemp("init_weights")
    space = get_space("toy")
    arch, other = str(root / "arch.json"), str(root / "other.json")
    space.write(arch, ARCH)
    space.write(other, OTHER)
    config = write_yaml(root / "train.yaml", BASE)
    out = str(root / "first")
    assert main(["train", "-c", config, "-o", out, "--arch", arch, "--no-progress"]) == 0
    nn.clear_parameters()
    return {"root": root, "config": config, "arch": arch, "other": other, "run": out,
            "weights": os.path.join(out, "weights.h5")}  # fmt: skip


def train(trained, out, *extra):
    return main(["train", "-c", trained["config"], "-o", str(out), "--no-progress", *extra])


def test_the_network_holds_the_given_weights_once_loaded(trained):
    # Another seed, so that the fresh weights differ from the saved ones.
    cfg = parse_config(TrainConfig, {**BASE, "seed": 1, "init_weights": trained["weights"]})
    space = check_train(cfg)
    data = make_data(cfg.dataset, cfg.seed, search=False)
    model = make_trainer(cfg, space, ARCH, data).model
    saved = read_parameters(trained["weights"])
    fresh = {k: p.d.copy() for k, p in model.get_parameters().items()}
    assert set(fresh) == set(saved)
    assert any(not np.array_equal(fresh[k], saved[k]) for k in saved)
    load_init_weights(model, check_init_weights(cfg, space, ARCH), space)
    for key, p in model.get_parameters().items():
        np.testing.assert_array_equal(p.d, saved[key], err_msg=key)


def test_a_run_from_the_weights_starts_where_they_were(trained, tmp_path):
    # A learning rate too small to move a weight: the run evaluates the given weights.
    out = tmp_path / "tuned"
    assert train(trained, out, "--arch", trained["arch"], "--init-weights",
                 trained["weights"], "--seed", "1", "optimizer.lr=1e-30",
                 "optimizer.weight_decay=0") == 0  # fmt: skip
    first = read_json(os.path.join(trained["run"], "result.json"))
    assert read_json(out / "result.json")["test_accuracy"] == first["test_accuracy"]
    saved, tuned = read_parameters(trained["weights"]), read_parameters(str(out / "weights.h5"))
    for key in saved:
        np.testing.assert_allclose(tuned[key], saved[key], atol=1e-6, err_msg=key)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["init_weights"] == trained["weights"]
    assert f"starting from the weights in '{trained['weights']}'" in (out / "log.txt").read_text()


def test_a_resume_continues_from_its_checkpoint_not_the_weights(trained, tmp_path):
    given = tmp_path / "given.h5"
    given.write_bytes(open(trained["weights"], "rb").read())
    out = tmp_path / "tuned"
    assert train(trained, out, "--arch", trained["arch"], "--init-weights", str(given)) == 0
    given.unlink()  # the checkpoint holds the weights now
    assert main(["train", "-o", str(out), "--arch", trained["arch"], "--resume", "epochs=2",
                 "--no-progress"]) == 0  # fmt: skip
    assert read_json(out / "run.json")["status"] == "finished"


def test_a_missing_file_is_one_line_and_writes_nothing(trained, tmp_path, capsys):
    out, missing = tmp_path / "tuned", str(tmp_path / "missing.h5")
    assert train(trained, out, "--arch", trained["arch"], "--init-weights", missing) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"nnabla-nas: error: init_weights: '{missing}' does not exist; give ")
    assert not os.path.exists(out)


def test_the_weights_of_another_architecture_are_refused(trained, tmp_path, capsys):
    out = tmp_path / "tuned"
    assert train(trained, out, "--arch", trained["other"], "--init-weights",
                 trained["weights"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"init_weights: '{trained['weights']}' holds the weights of another network" in err
    assert not os.path.exists(out)


def test_weights_without_a_fingerprint_are_checked_by_their_parameters(trained, tmp_path):
    # As a network built elsewhere saves them (e.g. a Once-for-All sub-network's).
    space, cfg = get_space("toy"), parse_config(TrainConfig, BASE)
    data = make_data(cfg.dataset, cfg.seed, search=False)
    fits, other = str(tmp_path / "fits.h5"), str(tmp_path / "other.h5")
    make_trainer(cfg, space, ARCH, data).model.save_parameters(fits)
    make_trainer(cfg, space, OTHER, data).model.save_parameters(other)
    model = make_trainer(cfg, space, ARCH, data).model
    cfg.init_weights = fits
    load_init_weights(model, check_init_weights(cfg, space, ARCH), space)
    cfg.init_weights = other
    with pytest.raises(ConfigError, match=r"does not fit the toy network .* has shape"):
        load_init_weights(model, check_init_weights(cfg, space, ARCH), space)
