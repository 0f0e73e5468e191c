"""Config schema: defaults, overrides, unknown keys, wrong types, unknown names, and options
that the chosen searcher, space or dataset does not use."""

import pytest
import yaml

from nnabla_nas.app.config import (
    ConfigError,
    SearchConfig,
    TrainConfig,
    load_config,
    parse_config,
    to_dict,
)
from nnabla_nas.runner.multitrial import EvolutionSettings
from nnabla_nas.runner.searcher import DartsSettings, PnasSettings


def test_defaults_and_dotted_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\ndataset:\n  batch_size: 16\n")
    cfg = load_config(SearchConfig, str(path), ["optimizer.lr=0.5", "dataset.mean=[0.5]",
                                                "dataset.std=[0.2]"], seed=7)  # fmt: skip
    assert (cfg.epochs, cfg.seed, cfg.dataset.batch_size) == (3, 7, 16)
    assert cfg.optimizer.lr == 0.5 and cfg.dataset.mean == [0.5]
    assert cfg.arch_optimizer.name == "adam" and cfg.arch_optimizer.betas == [0.5, 0.999]
    assert cfg.settings == DartsSettings() and cfg.multitrial is None and cfg.cost is None
    assert to_dict(cfg)["optimizer"]["lr"] == 0.5


def test_the_resolved_config_holds_every_default_and_reads_back_the_same():
    cfg = load_config(SearchConfig, None, ["model.init_channels=4"])
    data = to_dict(cfg)
    # The space's and the dataset's own options, with their defaults, beside the others.
    assert data["model"]["init_channels"] == 4 and data["model"]["num_cells"] == 8
    assert data["model"]["candidates"][0] == "sep_conv_3x3"
    assert data["dataset"]["image_size"] == 8 and data["dataset"]["test_fraction"] == 0.2
    assert data["darts"] == {"unrolled": False, "xi": None, "fd_scale": 0.01,
                             "hessian_iterations": 2, "early_stop": False,
                             "early_stop_window": 3}  # fmt: skip
    assert "multitrial" not in data and "cost" not in data and "pnas" not in data
    again = parse_config(SearchConfig, yaml.safe_load(yaml.safe_dump(data)))
    assert to_dict(again) == data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.bath_size=3"], "config.dataset: unknown key 'bath_size' for dataset 'digits'"),
        (["epochs=ten"], "config.epochs: expected int, got 'ten'"),
        (["seed=true"], "config.seed: expected int, got True"),
        (["optimizer.betas=[1, x]"], "config.optimizer.betas[1]: expected float, got 'x'"),
        (["optimizer.name=adagrad"], "config.optimizer.name: unknown value 'adagrad'; valid"),
        (["context=tpu"], "config.context: unknown value 'tpu'; valid values are: cpu, cudnn"),
        (["dataset=3"], "config.dataset: expected a mapping"),
        (["epochs"], "is not of the form key=value"),
        (["model.name=resnet"], "model.name: unknown search space 'resnet'; registered: darts"),
        (["dataset.name=mnist"], "dataset.name: unknown dataset 'mnist'; registered: cifar10"),
        (
            ["searcher=bohb"],
            # the one-shot searchers, then the multi-trial strategies
            "searcher: unknown 'bohb'; use one of: darts, fairnas, gdas, ofa, pnas, spos, ",
        ),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(SearchConfig, None, overrides)


def test_an_unknown_dataset_key_lists_the_sections_and_the_datasets_keys():
    with pytest.raises(ConfigError) as err:
        load_config(SearchConfig, None, ["dataset.bath_size=3"])
    assert "valid keys are: name, batch_size" in str(err.value)
    assert str(err.value).endswith("image_size, test_fraction")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # A key that belongs to another dataset, space or searcher is an error, not ignored.
        (["dataset.root=/data"], "unknown key 'root' for dataset 'digits'"),
        (["dataset.name=cifar10", "dataset.image_size=32"], "unknown key 'image_size'"),
        (["model.auxiliary=true"], "unknown key 'auxiliary' for the search network of space"),
        (["model.mode=sample"], "unknown key 'mode'"),
        (["pnas.samples=4"], "config.pnas: a section of searcher 'pnas', but the searcher is"),
        (["cost.mode=reward"], "cost.mode: searcher 'darts' takes penalty, target, not 'reward'"),
        (["cost.mode=target", "cost.weight=1"], "the target mode with a weight needs a positive"),
        (["multitrial.trials=5"], "multitrial: searcher 'darts' is one-shot"),
        (["searcher=random", "arch_optimizer.lr=0.1"], "arch_optimizer: searcher 'random' is"),
        (["searcher=pnas", "cost.name=flops", "cost.latency_table=t.json"], "not measured"),
        (["cost.name=params", "cost.calibrate=10"], "cost.calibrate: the params cost is not"),
        (["cost.name=memory", "cost.import_table=true"], "cost.import_table: the memory cost"),
        (["cost.calibrate=-1"], "cost.calibrate"),
        (["searcher=pnas", "cost.mode=reward", "cost.weight=-1"], "needs a positive cost.target"),
        (["dataset.name=cifar10"], "dataset.root: cifar10 needs the directory"),
        (["dataset.normalize=false", "dataset.mean=[0.5]", "dataset.std=[1]"], "normalize"),
        (["dataset.mean=[0.5]"], "give both, or neither"),
    ],
)
def test_options_that_would_do_nothing_are_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(SearchConfig, None, overrides)


@pytest.mark.parametrize(
    ("overrides", "moved"),
    [
        (["unrolled=true"], "config.unrolled has moved to darts.unrolled"),
        (["searcher=pnas", "pnas.cost=latency"], "config.pnas.cost has moved to cost.name"),
        (["searcher=evolution", "model.name=nb201", "multitrial.device=raspi4",
          "multitrial.population_size=4"], "moved to evolution.population_size"),
    ],
)  # fmt: skip
def test_keys_of_the_old_layout_say_where_they_went(overrides, moved):
    with pytest.raises(ConfigError, match=moved):
        load_config(SearchConfig, None, overrides)


def test_each_searcher_reads_its_own_section():
    cfg = load_config(SearchConfig, None, ["searcher=pnas", "pnas.samples=4", "cost.name=flops"])
    assert cfg.settings == PnasSettings(samples=4) and cfg.cost.name == "flops"
    assert to_dict(cfg)["pnas"]["samples"] == 4
    cfg = load_config(
        SearchConfig, None,
        ["searcher=evolution", "model.name=nb201", "multitrial.device=raspi4",
         "evolution.population_size=6"],
    )  # fmt: skip
    assert cfg.settings == EvolutionSettings(population_size=6)
    assert cfg.arch_optimizer is None and cfg.multitrial.device == "raspi4"
    with pytest.raises(ConfigError, match=r"config.darts: unknown key 'unroled'"):
        load_config(SearchConfig, None, ["darts.unroled=true"])


def test_multi_trial_options_are_checked_against_the_space():
    base = ["searcher=random", "model.name=nb201"]
    with pytest.raises(ConfigError, match="give the latency device of space 'nb201'"):
        load_config(SearchConfig, None, base)
    with pytest.raises(ConfigError, match="unknown device 'pi'"):
        load_config(SearchConfig, None, [*base, "multitrial.device=pi"])
    with pytest.raises(ConfigError, match="epochs: the table evaluator trains nothing"):
        load_config(SearchConfig, None, [*base, "multitrial.device=raspi4", "epochs=3"])
    for key in ("multitrial.workers=4", "multitrial.ray_address=auto"):  # not the defaults
        with pytest.raises(ConfigError, match=r"multitrial\.\w+: the table evaluator runs in"):
            load_config(SearchConfig, None, [*base, "multitrial.device=raspi4", key])
    with pytest.raises(ConfigError, match="space 'darts' has no benchmark table"):
        load_config(SearchConfig, None, ["searcher=random"])
    with pytest.raises(ConfigError, match="drop the device"):
        load_config(SearchConfig, None, ["searcher=random", "multitrial.evaluator=train",
                                         "multitrial.device=raspi4"])  # fmt: skip


@pytest.mark.parametrize(
    "args, message",
    [
        (["model.name=nb201", "multitrial.device=raspi4", "multitrial.latency=predicted"],
         "multitrial.latency: the latency of space 'nb201' is its benchmark table's"),
        (["model.name=nb201", "multitrial.device=raspi4", "multitrial.calibrate=5"],
         "multitrial.calibrate: the latency of space 'nb201' is its benchmark table's"),
        (["multitrial.latency=measured", "multitrial.latency_table=t.json"],
         "multitrial.latency_table: the latency is measured, not predicted"),
        (["multitrial.latency=fast"], "multitrial.latency: unknown value 'fast'"),
        (["multitrial.calib_batches=3"], "multitrial.calib_batches: only the supernet evaluator"),
    ],
)  # fmt: skip
def test_multi_trial_latency_and_supernet_keys_that_do_nothing_are_errors(args, message):
    table = "model.name=nb201" in args  # nb201 has a table; darts trains its candidates
    base = ["searcher=random", *([] if table else ["multitrial.evaluator=train"])]
    with pytest.raises(ConfigError, match=message):
        load_config(SearchConfig, None, [*base, *args])
    train = ["searcher=random", "multitrial.evaluator=train", "multitrial.latency=measured"]
    assert load_config(SearchConfig, None, train).multitrial.latency == "measured"


def test_search_only_keys_are_rejected_in_train_configs():
    with pytest.raises(ConfigError, match="unknown key 'arch_optimizer'"):
        load_config(TrainConfig, None, ["arch_optimizer.lr=0.1"])
    with pytest.raises(ConfigError, match="unknown key 'num_choices' for the train network"):
        load_config(TrainConfig, None, ["model.num_choices=2"])


def test_train_options_the_network_cannot_use_are_errors():
    with pytest.raises(ConfigError, match="aux_weight: the darts network as configured has no"):
        load_config(TrainConfig, None, ["aux_weight=0.4"])
    assert load_config(TrainConfig, None, ["aux_weight=0.4", "model.auxiliary=true"])
    with pytest.raises(ConfigError, match="space 'nb201' have no drop path"):
        load_config(TrainConfig, None, ["model.name=nb201", "drop_path=0.1"])


def test_config_files_are_read_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("epochs: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(SearchConfig, str(evil))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SearchConfig, str(tmp_path / "missing.yaml"))
