"""Every shipped example config is valid for the current schema."""

import pathlib

import pytest
import yaml

from nnabla_nas.app.config import SearchConfig, TrainConfig, load_config

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_config_loads(path):
    data = yaml.safe_load(path.read_text())
    cls = SearchConfig if "searcher" in data else TrainConfig
    overrides = ["dataset.root=/data/cifar-10-batches-py"] if "cifar10" in path.name else []
    cfg = load_config(cls, str(path), overrides)
    assert cfg.model.name == data["model"]["name"]


def test_there_are_examples():
    assert len(EXAMPLES) >= 9
