"""Run configuration: YAML files checked against a schema before any work starts.

The schema is a set of dataclasses; their defaults are the one place defaults live. What
depends on a choice is checked against that choice's own definition, through the
registries: the ``model:`` keys against the space's network signature, the dataset's own
keys (``dataset.image_size``, ``dataset.root``) against the dataset class, and a searcher's
section (``darts:``, ``pnas:``, ``evolution:``, ...) against its ``Settings``. An option
the chosen searcher, space or dataset does not use is an error, as is a section of a
searcher that was not chosen.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..contrib.estimator import ESTIMATORS
from ..contrib.registry import get_space
from ..contrib.space import Space
from ..dataset import DATASETS, dataset_options
from ..optimizer import SCHEDULERS, SOLVERS
from ..runner.multitrial import STRATEGIES
from ..runner.searcher import SEARCHERS
from ..utils.fields import choice

CONTEXTS = ("cpu", "cudnn")
EVALUATORS = ("table", "train")
# What only training uses: a multi-trial search with the table evaluator has none of them.
TRAINING_KEYS = ("epochs", "optimizer")
COST_MODES = ("penalty", "reward")

# Keys of earlier versions, and where they went.
MOVED = {
    "config.unrolled": "darts.unrolled",
    "config.pnas.cost": "cost.name",
    "config.pnas.cost_mode": "cost.mode",
    "config.pnas.cost_weight": "cost.weight",
    "config.pnas.cost_target": "cost.target",
    "config.pnas.latency_table": "cost.latency_table",
    "config.multitrial.population_size": "evolution.population_size",
    "config.multitrial.sample_size": "evolution.sample_size",
    "config.multitrial.sampler": "optuna.sampler",
}


class ConfigError(ValueError):
    """A config key is unknown or a value has the wrong type; says which and what is valid."""


@dataclass
class DatasetConfig:
    """``dataset:``. Keys other than these are the dataset's own (its class's arguments)."""

    name: str = "digits"
    batch_size: int = 64
    eval_batch_size: int = 256
    valid_fraction: float = 0.5  # search: share of the training data for architecture steps
    split_seed: int = 0  # fixed apart from the run seed, so search and retrain share splits
    augment: bool = False  # random crop (padding a side / 8) and horizontal flip
    cutout: int = 0  # side of the Cutout square; 0 disables it
    normalize: bool = True  # per-channel (x - mean) / std of mean/std or the dataset's own
    mean: list[float] | None = None  # None: the dataset's default normalisation, if any
    std: list[float] | None = None
    options: dict[str, Any] = field(default_factory=dict, metadata={"extra": True})


@dataclass
class OptimizerConfig:
    name: str = choice("momentum", SOLVERS)
    lr: float = 0.025
    scheduler: str = choice("cosine", SCHEDULERS)
    min_lr: float = 0.0  # cosine: the final learning rate
    step_epochs: int = 30  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    warmup_epochs: int = 0  # linear warm-up before the schedule
    momentum: float = 0.9
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 3e-4
    grad_clip: float | None = 5.0  # global gradient-norm clipping; None disables it


def _arch_optimizer() -> OptimizerConfig:
    # DARTS: Adam with lr 3e-4, betas (0.5, 0.999), weight decay 1e-3, no schedule.
    return OptimizerConfig(
        name="adam",
        lr=3e-4,
        scheduler="constant",
        betas=[0.5, 0.999],
        weight_decay=1e-3,
        grad_clip=None,
    )


@dataclass
class ModelConfig:
    """``model:``: the space's name; every other key is an option of its network."""

    name: str = "darts"
    options: dict[str, Any] = field(default_factory=dict, metadata={"extra": True})


@dataclass
class RunConfig:
    """Keys shared by every command."""

    seed: int = 0
    context: str = choice("cpu", CONTEXTS)
    device_id: int = 0
    epochs: int = 10
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


@dataclass
class CostConfig:
    """``cost:``: a hardware cost in a one-shot search (searchers that take one).

    Every cost is of one input (batch 1), in the estimator's unit (ms, bytes, FLOPs,
    parameters), as reports show it.
    """

    name: str = choice("latency", ESTIMATORS)
    mode: str = choice("penalty", COST_MODES)  # penalty: + weight * E[cost]; reward: x factor
    weight: float = 0.0  # penalty coefficient, or the reward exponent (e.g. -0.07)
    target: float | None = None  # reward: the cost the exponent is relative to
    latency_table: str | None = None  # latency: reuse and extend this layer table (JSON)


@dataclass
class MultiTrialConfig:
    """``multitrial:``: multi-trial search (a strategy of `STRATEGIES` as ``searcher``)."""

    trials: int = 100  # the budget: finished evaluations, failed ones included
    evaluator: str = choice("table", EVALUATORS)  # the space's benchmark table, or training
    device: str | None = None  # the table's latency device (e.g. raspi4), when it has one
    max_latency: float | None = None  # ms; candidates above it are infeasible
    workers: int = 2  # candidate trainings in parallel (Ray)
    ray_address: str | None = None  # an existing Ray cluster; None starts local workers


@dataclass
class SearchConfig(RunConfig):
    """``nnabla-nas search``. The searcher's own section is `settings`, written under the
    searcher's name (``darts:``); `arch_optimizer` and `cost` belong to one-shot searchers,
    `multitrial` to multi-trial strategies (each None where it does not apply)."""

    searcher: str = "darts"
    arch_optimizer: OptimizerConfig | None = None
    cost: CostConfig | None = None
    multitrial: MultiTrialConfig | None = None
    settings: Any = None

    @property
    def multi_trial(self) -> bool:
        """Whether `searcher` is a multi-trial strategy."""
        return self.searcher in STRATEGIES


@dataclass
class TrainConfig(RunConfig):
    """``nnabla-nas train``."""

    aux_weight: float = 0.0  # weight of the auxiliary head's loss
    drop_path: float = 0.0  # final drop-path probability, reached linearly
    # Files the finished run also writes: model.nnp and/or model.onnx (inference, batch 1).
    export: list[str] = field(default_factory=list, metadata={"choices": ("nnp", "onnx")})


# -- reading a mapping into dataclasses ---------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _check(value: Any, tp: Any, where: str) -> Any:
    """Returns `value` converted to `tp`, or raises ConfigError naming `where`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(value, inner[0], where)
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is Any or (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        return value
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def _unknown(where: str, key: str, names: Sequence[str]) -> ConfigError:
    moved = MOVED.get(f"{where}.{key}")
    if moved:
        return ConfigError(f"{where}.{key} has moved to {moved}; write it there")
    valid = ", ".join(names) if names else "none (this section takes no keys)"
    return ConfigError(f"{where}: unknown key {key!r}; valid keys are: {valid}")


def from_dict(cls: type, data: Any, where: str = "config") -> Any:
    """Builds dataclass `cls` from a mapping, rejecting unknown keys and wrong types.

    A field with ``extra`` metadata collects the keys of no other field (checked later,
    against the component they configure).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    extra = next((f.name for f in fields if f.metadata.get("extra")), None)
    names = [f.name for f in fields if f.init and f.name != extra]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in names:
            values[key] = _check(value, hints[key], f"{where}.{key}")
        elif extra is not None:
            values.setdefault(extra, {})[key] = value
        else:
            raise _unknown(where, str(key), names)
    for f in fields:
        choices = f.metadata.get("choices")
        value = values.get(f.name)
        for item in value if isinstance(value, list) else [value]:
            if choices and item is not None and item not in choices:
                raise ConfigError(
                    f"{where}.{f.name}: unknown value {item!r}; "
                    f"valid values are: {', '.join(choices)}"
                )
    return cls(**values)


# -- the component each section configures --------------------------------------------------


def _plain(value: Any) -> Any:
    """A default as YAML writes it: tuples as lists."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _typed(given: Mapping[str, Any], builders: Sequence[Any], where: str) -> dict[str, Any]:
    """`given` with each value checked against the annotation of its parameter in the
    first of `builders` (functions or classes) that has one."""
    hints: dict[str, Any] = {}
    for builder in reversed(builders):
        function = getattr(builder, "__init__") if isinstance(builder, type) else builder  # noqa: B009
        hints.update(typing.get_type_hints(function))
    return {k: _check(v, hints.get(k, Any), f"{where}.{k}") for k, v in given.items()}


def _resolve_options(
    given: Mapping[str, Any],
    valid: Mapping[str, Any],
    where: str,
    owner: str,
    section: type,
) -> dict[str, Any]:
    """`given` (the keys of `section` that are none of its fields) checked against `valid`
    (name -> default) and completed with the defaults."""
    for key in given:
        if key not in valid:
            moved = MOVED.get(f"{where}.{key}")
            if moved:
                raise ConfigError(f"{where}.{key} has moved to {moved}; write it there")
            own = [f.name for f in dataclasses.fields(section) if not f.metadata.get("extra")]
            names = ", ".join([*own, *valid])
            raise ConfigError(f"{where}: unknown key {key!r} for {owner}; valid keys are: {names}")
    missing = [
        k for k, v in valid.items() if v is dataclasses.MISSING or v is inspect.Parameter.empty
    ]
    missing = [k for k in missing if k not in given]
    if missing:
        raise ConfigError(f"{where}: {owner} needs {', '.join(missing)}")
    return {k: given[k] if k in given else _plain(v) for k, v in valid.items()}


def space_of(cfg: RunConfig) -> Space:
    """The configured search space."""
    try:
        return get_space(cfg.model.name)
    except ValueError as err:
        raise ConfigError(f"model.name: {err}") from None


def _check_dataset(cfg: DatasetConfig) -> None:
    try:
        cls = DATASETS[cfg.name]
    except ValueError as err:
        raise ConfigError(f"dataset.name: {err}") from None
    cfg.options = _resolve_options(
        cfg.options, dataset_options(cls), "config.dataset", f"dataset {cfg.name!r}", DatasetConfig
    )
    cfg.options = _typed(cfg.options, [cls], "config.dataset")
    try:
        cls(**cfg.options)  # its own checks (nothing is loaded)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if not cfg.normalize and (cfg.mean is not None or cfg.std is not None):
        raise ConfigError("dataset.mean/std are given but dataset.normalize is false; drop one")
    if (cfg.mean is None) != (cfg.std is None):
        raise ConfigError("dataset.mean and dataset.std: give both, or neither")
    if not 0.0 < cfg.valid_fraction < 1.0:
        raise ConfigError(f"dataset.valid_fraction must lie in (0, 1), got {cfg.valid_fraction}")


def _check_model(cfg: RunConfig, which: str) -> Space:
    """Completes the model options of the `which` network (``'search'``, ``'train'``, or
    ``'both'`` for a multi-trial search, which builds the supernet for its decisions and
    trains the networks of candidates)."""
    space = space_of(cfg)
    if which == "both":
        valid = {**space.options("search"), **space.options("train")}
        owner = f"the networks of space {space.name!r}"
    else:
        valid = space.options(which)
        owner = f"the {which} network of space {space.name!r}"
    cfg.model.options = _resolve_options(
        cfg.model.options, valid, "config.model", owner, ModelConfig
    )
    builders = [space.train_net] if which == "train" else [space.search_net]
    if which == "both":
        builders.append(space.train_net)
    cfg.model.options = _typed(cfg.model.options, builders, "config.model")
    return space


def _settings(name: str, cls: type, data: Any) -> Any:
    return from_dict(cls, data, f"config.{name}")


def _check_cost(cfg: SearchConfig) -> None:
    cost = cfg.cost
    if cost is None:
        return
    searcher = SEARCHERS[cfg.searcher]
    if not searcher.takes_cost:
        takes = [n for n, s in SEARCHERS.items() if s.takes_cost]
        raise ConfigError(
            f"cost: searcher {cfg.searcher!r} takes no hardware cost; remove the cost "
            f"section or use one of: {', '.join(takes)}"
        )
    if cost.latency_table is not None and cost.name != "latency":
        raise ConfigError(f"cost.latency_table: the {cost.name} cost is not measured; drop it")
    if cost.mode == "reward" and cost.weight and not cost.target:
        raise ConfigError("cost: the reward mode with a weight needs a positive cost.target")


def _check_multitrial(cfg: SearchConfig, space: Space, given: Mapping[str, Any]) -> None:
    mt = cfg.multitrial
    assert mt is not None
    table = space.table()
    if mt.trials < 1:
        raise ConfigError(f"multitrial.trials must be at least 1, got {mt.trials}")
    if table is None:
        if mt.evaluator == "table":
            raise ConfigError(
                f"multitrial.evaluator: space {space.name!r} has no benchmark table; "
                "use evaluator: train"
            )
        if mt.device is not None:
            raise ConfigError(
                f"multitrial.device: space {space.name!r} has no benchmark table with devices; "
                "latency is measured on this machine, drop the device"
            )
    else:
        devices = table.devices()
        if mt.device is None or mt.device not in devices:
            what = "give" if mt.device is None else f"unknown device {mt.device!r}; use"
            raise ConfigError(
                f"multitrial.device: {what} the latency device of space {space.name!r}'s "
                f"table, one of: {', '.join(devices)}"
            )
    if mt.evaluator == "table":
        unused = [k for k in TRAINING_KEYS if k in given]
        if unused:
            raise ConfigError(
                f"{unused[0]}: the table evaluator trains nothing; drop it or use "
                "multitrial.evaluator: train"
            )


def check_search(cfg: SearchConfig, given: Mapping[str, Any] | None = None) -> Space:
    """Checks the parts of a search config that depend on its choices; completes the
    searcher's settings and the dataset's and space's options. Returns the space.

    Args:
        given: the keys the user wrote (to tell a default from an explicit value).
    """
    given = {} if given is None else given
    _check_dataset(cfg.dataset)
    if cfg.searcher in SEARCHERS:
        component: Any = SEARCHERS[cfg.searcher]
        if cfg.multitrial is not None:
            raise ConfigError(
                f"multitrial: searcher {cfg.searcher!r} is one-shot; the multitrial section "
                f"is for {', '.join(STRATEGIES.names())}"
            )
        cfg.arch_optimizer = cfg.arch_optimizer or _arch_optimizer()
        _check_cost(cfg)
        space = _check_model(cfg, "search")
    elif cfg.searcher in STRATEGIES:
        component = STRATEGIES[cfg.searcher]
        for key in ("arch_optimizer", "cost"):
            if getattr(cfg, key) is not None:
                raise ConfigError(
                    f"{key}: searcher {cfg.searcher!r} is multi-trial and has no {key}; drop it"
                )
        cfg.multitrial = cfg.multitrial or MultiTrialConfig()
        space = _check_model(cfg, "both")
        _check_multitrial(cfg, space, given)
    else:
        names = [*SEARCHERS.names(), *STRATEGIES.names()]
        raise ConfigError(f"searcher: unknown {cfg.searcher!r}; use one of: {', '.join(names)}")
    if cfg.settings is None or isinstance(cfg.settings, dict):
        cfg.settings = _settings(cfg.searcher, component.Settings, cfg.settings)
    elif not isinstance(cfg.settings, component.Settings):
        raise ConfigError(f"{cfg.searcher}: expected {component.Settings.__name__} settings")
    return space


def check_train(cfg: TrainConfig) -> Space:
    """Checks the parts of a train config that depend on its space and dataset."""
    _check_dataset(cfg.dataset)
    space = _check_model(cfg, "train")
    if cfg.aux_weight and not space.has_auxiliary_head(cfg.model.options):
        raise ConfigError(
            f"aux_weight: the {space.name} network as configured has no auxiliary head; "
            "set aux_weight: 0, or enable the space's auxiliary head"
        )
    if cfg.drop_path and not space.supports_drop_path():
        raise ConfigError(
            f"drop_path: the networks of space {space.name!r} have no drop path; set drop_path: 0"
        )
    if not 0.0 <= cfg.drop_path < 1.0:
        raise ConfigError(f"drop_path must lie in [0, 1), got {cfg.drop_path}")
    return space


def _search_from(data: dict[str, Any]) -> SearchConfig:
    searcher = data.get("searcher", "darts")
    sections = set(SEARCHERS.names()) | set(STRATEGIES.names())
    own = data.pop(searcher, None) if isinstance(searcher, str) else None
    for name in sorted(sections & set(data)):
        raise ConfigError(
            f"config.{name}: a section of searcher {name!r}, but the searcher is "
            f"{searcher!r}; remove it or set searcher: {name}"
        )
    cfg = from_dict(SearchConfig, data)
    cfg.settings = {} if own is None else own
    check_search(cfg, data)
    return cfg


def set_dotted(data: dict[str, Any], assignment: str) -> None:
    """Applies a ``key.sub=value`` override; the value is parsed as YAML (``lr=0.1``)."""
    if "=" not in assignment:
        raise ConfigError(f"override {assignment!r} is not of the form key=value")
    key, text = assignment.split("=", 1)
    *parents, last = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {assignment!r}: {part!r} is not a section")
    node[last] = yaml.safe_load(text)


def read_config(path: str | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The mapping of a YAML config (safe loading) with overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}' does not exist") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"config file '{path}' is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys")
    for assignment in overrides:
        set_dotted(data, assignment)
    return data


def parse_config(cls: type, data: Mapping[str, Any]) -> Any:
    """A checked, complete `SearchConfig` or `TrainConfig` of a mapping."""
    plain = dict(data)
    if cls is SearchConfig:
        return _search_from(plain)
    cfg = from_dict(cls, plain)
    if isinstance(cfg, TrainConfig):
        check_train(cfg)
    return cfg


def load_config(
    cls: type, path: str | None, overrides: Sequence[str] = (), *, seed: int | None = None
) -> Any:
    """Reads a YAML config (safe loading), applies overrides and checks it against `cls`."""
    data = read_config(path, overrides)
    if seed is not None:
        data["seed"] = seed
    return parse_config(cls, data)


def to_dict(config: Any) -> dict[str, Any]:
    """The fully resolved config as plain data, ready for ``config.yaml``: the extra
    keys of a section written beside its own, the searcher's settings under its name, and
    sections that do not apply left out."""
    data = _plain_dataclass(config)
    if isinstance(config, SearchConfig):
        settings = data.pop("settings")
        data[config.searcher] = settings if settings is not None else {}
        for key in ("arch_optimizer", "cost", "multitrial"):
            if data.get(key) is None:
                data.pop(key, None)
        if config.multitrial is not None and config.multitrial.evaluator == "table":
            for key in TRAINING_KEYS:
                data.pop(key)
    return data


def _plain_dataclass(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = _plain_dataclass(getattr(value, f.name))
            if f.metadata.get("extra"):
                out.update(item)
            else:
                out[f.name] = item
        return out
    if isinstance(value, dict):
        return {k: _plain_dataclass(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_dataclass(v) for v in value]
    return value
