"""The config schema: dataclasses whose defaults are the one place defaults live, and the
reading of YAML into them (unknown keys and wrong types are errors naming the key).

What depends on a choice (a space's options, a dataset's, a searcher's section) is checked
against that choice in `nnabla_nas.app.config`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..contrib.estimator import ESTIMATORS
from ..optimizer import SCHEDULERS, SOLVERS
from ..runner.multitrial import STRATEGIES
from ..utils.fields import choice, limit_violation, limited
from .builtin_configs import builtin_name_for, config_file

CONTEXTS = ("cpu", "cudnn")
EVALUATORS = ("table", "train", "supernet")
# What only training uses: a multi-trial search with the table or supernet evaluator has
# none of them.
TRAINING_KEYS = ("epochs", "optimizer")
# Where a multi-trial candidate's latency comes from on a space without a benchmark table.
TRIAL_LATENCIES = ("predicted", "measured")
COST_MODES = ("penalty", "target", "reward")

# What a resume may change (`nnabla-nas search -o RUN --resume optimizer.lr=0.01`): the
# budget, the learning rates and their guards, where the run computes; every change is
# recorded in run.json. Any other change makes another run and is refused.
RESUMABLE = (
    "epochs",
    "context", "device_id",
    "optimizer.lr", "optimizer.min_lr", "optimizer.grad_clip", "optimizer.weight_decay",
    "arch_optimizer.lr", "arch_optimizer.grad_clip", "arch_optimizer.weight_decay",
    "multitrial.trials", "multitrial.workers", "multitrial.ray_address",
)  # fmt: skip

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

    name: str = "digits"  # the dataset, by its registered name (DATASETS)
    batch_size: int = limited(64, minimum=1)  # the training batches' size
    eval_batch_size: int = limited(256, minimum=1)  # the evaluation batches' (valid, test)
    # search: the share of the training data for architecture steps
    valid_fraction: float = limited(0.5, above=0.0, below=1.0)
    # seeds the held-out and search splits, apart from the run seed: runs share splits
    split_seed: int = limited(0, minimum=0)
    augment: bool = False  # random crop (padding a side / 8) and horizontal flip
    cutout: int = limited(0, minimum=0)  # side of the Cutout square; 0 disables it
    normalize: bool = True  # per-channel (x - mean) / std of mean/std or the dataset's own
    mean: list[float] | None = None  # per channel; None: the dataset's own, if it has one
    std: list[float] | None = None  # per channel, given with mean
    options: dict[str, Any] = field(default_factory=dict, metadata={"extra": True})


@dataclass
class OptimizerConfig:
    name: str = choice("momentum", SOLVERS)  # the nnabla solver
    lr: float = limited(0.025, above=0.0)  # the learning rate the schedule starts from
    scheduler: str = choice("cosine", SCHEDULERS)  # the learning rate over the epochs
    min_lr: float = limited(0.0, minimum=0.0)  # cosine: the final learning rate
    step_epochs: int = limited(30, minimum=1)  # step: epochs between decays
    gamma: float = limited(0.1, above=0.0)  # step: decay factor
    warmup_epochs: int = limited(0, minimum=0)  # linear warm-up before the schedule
    momentum: float = limited(0.9, minimum=0.0, below=1.0)  # momentum and nesterov
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # adam: beta1, beta2
    weight_decay: float = limited(3e-4, minimum=0.0)  # L2, added to the gradients
    # global gradient-norm clipping; None disables it
    grad_clip: float | None = limited(5.0, above=0.0)


def arch_optimizer() -> OptimizerConfig:
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

    name: str = "darts"  # the search space, by its registered name (SPACES)
    options: dict[str, Any] = field(default_factory=dict, metadata={"extra": True})


@dataclass
class RunConfig:
    """Keys shared by every command."""

    seed: int = limited(0, minimum=0)  # seeds the weights, the data order and every draw
    context: str = choice("cpu", CONTEXTS)  # cudnn needs nnabla's CUDA extension
    device_id: int = limited(0, minimum=0)  # the GPU of the cudnn context
    # under mpiexec: batch normalization by the whole batch's statistics (one allreduce a
    # layer; the processes compute what one computes) or, false, by each process's shard
    sync_batch_norm: bool = False
    # recompute cheap activations (ReLU, pointwise convolutions) in the backward instead
    # of keeping them: a DARTS step in about 0.63x the memory (README, Memory)
    recompute: bool = False
    epochs: int = limited(10, minimum=1)  # passes over the training data
    dataset: DatasetConfig = field(default_factory=DatasetConfig)  # the data and its loading
    model: ModelConfig = field(default_factory=ModelConfig)  # the space and its network
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)  # of the weights


@dataclass
class CostConfig:
    """``cost:``: a hardware cost in a one-shot search (searchers that take one).

    Every cost is of one input (batch 1), in the estimator's unit (ms, bytes, FLOPs,
    parameters), as reports show it.
    """

    name: str = choice("latency", ESTIMATORS)  # the estimator, which sets the unit
    # penalty: + weight * E[cost]; target: + weight * |E[cost] / target - 1|;
    # reward (REINFORCE): the reward times (cost / target) ** weight
    mode: str = choice("penalty", COST_MODES)
    weight: float = 0.0  # the term's coefficient, or the reward exponent (e.g. -0.07)
    target: float | None = limited(None, above=0.0)  # the budget, in the cost's unit
    latency_table: str | None = None  # latency: reuse and extend this layer table (JSON)
    # latency: accept a table measured in another setting (device, threads, versions)
    import_table: bool = False
    # latency: paths measured end to end to calibrate the layer sum before the search when
    # the table has no calibration of this network (default 20); 0: the raw layer sum
    calibrate: int | None = limited(None, minimum=0)
    # target mode of a searcher that learns alphas: when the most likely architecture's
    # cost is over cost.target, derive the most likely one within it (None: true there)
    within_budget: bool | None = None


@dataclass
class MultiTrialConfig:
    """``multitrial:``: multi-trial search (a strategy of `STRATEGIES` as ``searcher``)."""

    trials: int = limited(100, minimum=1)  # the budget: finished evaluations, failed ones too
    evaluator: str = choice("table", EVALUATORS)  # the space's benchmark table, or training
    device: str | None = None  # the table's latency device (e.g. raspi4), when it has one
    max_latency: float | None = limited(None, above=0.0)  # ms; candidates above: infeasible
    # FLOPs of one input, counted on the candidate's network; candidates above: infeasible
    max_flops: float | None = limited(None, above=0.0)
    workers: int = limited(2, minimum=1)  # candidate trainings in parallel (Ray)
    ray_address: str | None = None  # an existing Ray cluster; None starts local workers
    # evaluator supernet: the folder of a finished spos, fairnas or ofa search, whose supernet
    # weights score the candidates, and the batches of SPOS's protocol (None: the run's)
    supernet: str | None = None
    calib_batches: int | None = limited(None, minimum=1)  # recalibrating BN per candidate
    eval_batches: int | None = limited(None, minimum=1)  # validation batches scored
    # A space without a table: 'predicted' by the latency estimator from the candidate's
    # path (calibrated once on the supernet), or 'measured' end to end on each trained
    # network (evaluator train); None: predicted. With a table: the table's.
    latency: str | None = choice(None, TRIAL_LATENCIES)
    latency_table: str | None = None  # predicted: reuse and extend this layer table (JSON)
    import_table: bool = False  # predicted: accept a table measured in another setting
    # predicted: paths measured end to end to calibrate the estimator when the table has
    # no calibration of the supernet (default 20 or all); 0: the raw layer sum
    calibrate: int | None = limited(None, minimum=0)


@dataclass
class SearchConfig(RunConfig):
    """``nnabla-nas search``. The searcher's own section is `settings`, written under the
    searcher's name (``darts:``); `arch_optimizer` and `cost` belong to one-shot searchers,
    `multitrial` to multi-trial strategies (each None where it does not apply)."""

    searcher: str = "darts"  # a one-shot searcher or a multi-trial strategy, by name
    # of the architecture parameters, for a searcher that learns them (None: DARTS's)
    arch_optimizer: OptimizerConfig | None = None
    cost: CostConfig | None = None  # a hardware cost, for a one-shot searcher that takes one
    multitrial: MultiTrialConfig | None = None  # a multi-trial strategy's budget and evaluator
    settings: Any = None  # the searcher's own section, written under its name

    @property
    def multi_trial(self) -> bool:
        """Whether `searcher` is a multi-trial strategy."""
        return self.searcher in STRATEGIES


@dataclass
class TrainConfig(RunConfig):
    """``nnabla-nas train``."""

    aux_weight: float = limited(0.0, minimum=0.0)  # weight of the auxiliary head's loss
    # the final drop-path probability, reached linearly
    drop_path: float = limited(0.0, minimum=0.0, below=1.0)
    # Files the finished run also writes: model.nnp and/or model.onnx (inference, batch 1).
    export: list[str] = field(default_factory=list, metadata={"choices": ("nnp", "onnx")})
    # an .h5 of this network's weights to start from (fine-tuning); None: fresh weights
    init_weights: str | None = None


# -- reading a mapping into dataclasses ---------------------------------------------------


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class _Loader(yaml.SafeLoader):
    """Safe YAML loading that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: Any) -> Any:
    """Safe YAML of `text` (or a stream): no tags that build objects, no repeated keys."""
    return yaml.load(text, Loader=_Loader)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_value(value: Any, tp: Any, where: str) -> Any:
    """Returns `value` converted to `tp`, or raises ConfigError naming `where`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return check_value(value, inner[0], where)
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return [check_value(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
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
            values[key] = check_value(value, hints[key], f"{where}.{key}")
        elif extra is not None:
            values.setdefault(extra, {})[key] = value
        else:
            raise _unknown(where, str(key), names)
    for f in fields:
        limits = f.metadata.get("limits")
        problem = limit_violation(values.get(f.name), limits) if limits else None
        if problem:
            raise ConfigError(f"{where}.{f.name}: {problem}")
        choices = f.metadata.get("choices")
        value = values.get(f.name)
        for item in value if isinstance(value, list) else [value]:
            if choices and item is not None and item not in choices:
                raise ConfigError(
                    f"{where}.{f.name}: unknown value {item!r}; "
                    f"valid values are: {', '.join(choices)}"
                )
    try:
        return cls(**values)
    except ValueError as err:  # a check across fields, in the dataclass's __post_init__
        raise ConfigError(f"{where}: {err}") from None


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
    try:
        node[last] = load_yaml(text)
    except yaml.YAMLError as err:
        problem = str(err).splitlines()[0]
        raise ConfigError(f"override {assignment!r}: not a plain YAML value ({problem})") from None


def _builtin_hint(path: str) -> str:
    name = builtin_name_for(path)
    return f"; the example configs are built in: -c {name}" if name else ""


def read_config(path: str | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The mapping of a YAML config (safe loading) with overrides applied.

    Args:
        path: a YAML file, or the name of a built-in config (``darts-digits-search``).
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            path = config_file(path)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        try:
            with open(path, encoding="utf-8") as f:
                data = load_yaml(f) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}' does not exist{_builtin_hint(path)}") from None
        except IsADirectoryError:
            raise ConfigError(f"config file '{path}' is a directory; give a YAML file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file '{path}' is not a text (UTF-8) file") from None
        except yaml.YAMLError as err:
            where = " ".join(str(err).split())
            raise ConfigError(f"config file '{path}' is not valid YAML: {where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys")
    for assignment in overrides:
        set_dotted(data, assignment)
    return data


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
        if config.multitrial is not None and config.multitrial.evaluator != "train":
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
