"""Config schema: defaults, overrides, unknown keys, wrong types, unknown names."""

import pytest

from nnabla_nas.config import ConfigError, SearchConfig, TrainConfig, load_config, to_dict


def test_defaults_and_dotted_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\ndataset:\n  batch_size: 16\n")
    cfg = load_config(SearchConfig, str(path), ["optimizer.lr=0.5", "dataset.mean=[0.5]"], seed=7)
    assert (cfg.epochs, cfg.seed, cfg.dataset.batch_size) == (3, 7, 16)
    assert cfg.optimizer.lr == 0.5 and cfg.dataset.mean == [0.5]
    assert cfg.arch_optimizer.name == "adam" and cfg.arch_optimizer.betas == [0.5, 0.999]
    assert to_dict(cfg)["optimizer"]["lr"] == 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.bath_size=3"], "config.dataset: unknown key 'bath_size'; valid keys are: name"),
        (["epochs=ten"], "config.epochs: expected int, got 'ten'"),
        (["seed=true"], "config.seed: expected int, got True"),
        (["optimizer.betas=[1, x]"], "config.optimizer.betas[1]: expected float, got 'x'"),
        (["optimizer.name=adagrad"], "config.optimizer.name: unknown value 'adagrad'; valid"),
        (["context=tpu"], "config.context: unknown value 'tpu'; valid values are: cpu, cudnn"),
        (["dataset=3"], "config.dataset: expected a mapping"),
        (["epochs"], "is not of the form key=value"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(SearchConfig, None, overrides)


def test_search_only_keys_are_rejected_in_train_configs():
    with pytest.raises(ConfigError, match="unknown key 'arch_optimizer'"):
        load_config(TrainConfig, None, ["arch_optimizer.lr=0.1"])


def test_config_files_are_read_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("epochs: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(SearchConfig, str(evil))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SearchConfig, str(tmp_path / "missing.yaml"))
