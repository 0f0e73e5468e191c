"""Every built-in config is valid for the current schema, and reachable by its name."""

import pathlib

import pytest
import yaml

from nnabla_nas.app.builtin_configs import builtin_configs, config_summary
from nnabla_nas.app.config import SearchConfig, TrainConfig, load_config

ROOT = pathlib.Path(__file__).parent.parent
CONFIGS = builtin_configs()


@pytest.mark.parametrize("name", CONFIGS)
def test_builtin_config_loads_by_name(name):
    data = yaml.safe_load(pathlib.Path(CONFIGS[name]).read_text())
    cls = SearchConfig if "searcher" in data else TrainConfig
    overrides = ["dataset.root=/data/cifar-10-batches-py"] if "cifar10" in name else []
    cfg = load_config(cls, name, overrides)
    assert cfg.model.name == data["model"]["name"]


@pytest.mark.parametrize("name", CONFIGS)
def test_builtin_config_says_what_it_is_in_its_first_line(name):
    """`nnabla-nas configs` shows the first comment line: a whole sentence."""
    summary = config_summary(CONFIGS[name])
    assert summary.endswith("."), summary
    assert len(summary) <= 100


def test_there_are_builtin_configs():
    assert len(CONFIGS) >= 15
    assert all(pathlib.Path(p).parent == ROOT / "nnabla_nas" / "configs" for p in CONFIGS.values())


def test_examples_folder_holds_no_second_copy_of_the_configs():
    """The configs live once, in the package; examples/ keeps the Python examples (a link
    to a packaged config is no copy that could drift)."""
    copies = [p.name for p in (ROOT / "examples").glob("*.y*ml") if not p.is_symlink()]
    assert copies == []
