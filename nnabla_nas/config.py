"""Run configuration: YAML files checked against a schema before any work starts.

The schema is a set of dataclasses; their defaults are the one place defaults live.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .contrib.estimator import ESTIMATORS
from .dataset import DATASETS
from .optimizer import SCHEDULERS, SOLVERS

CONTEXTS = ("cpu", "cudnn")
SEARCHERS = ("darts", "pnas", "random", "evolution", "optuna")
ONE_SHOT = ("darts", "pnas")
EVALUATORS = ("table", "train")
OPTUNA_SAMPLERS = ("tpe", "nsga2", "random")


def choice(default: str | None, choices: Iterable[str]) -> Any:
    """A string field whose value must be one of `choices` (or None where the type allows
    it; checked by `from_dict`). A list field with ``choices`` metadata is checked per item."""
    return field(default=default, metadata={"choices": tuple(choices)})


class ConfigError(ValueError):
    """A config key is unknown or a value has the wrong type; says which and what is valid."""


@dataclass
class DatasetConfig:
    name: str = choice("digits", DATASETS)
    root: str | None = None  # the directory of a dataset read from disk (cifar10)
    image_size: int = 8  # digits only: side the 8x8 images are resized to
    test_fraction: float = 0.2  # digits only: the held-out test share
    valid_fraction: float = 0.5  # search: share of the training data for architecture steps
    split_seed: int = 0  # fixed apart from the run seed, so search and retrain share a test set
    batch_size: int = 64
    eval_batch_size: int = 256
    augment: bool = False  # random crop (padding image_size/8) and horizontal flip
    cutout: int = 0  # side of the Cutout square; 0 disables it
    mean: list[float] | None = None  # per-channel normalisation; None leaves inputs in [0, 1]
    std: list[float] | None = None


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
class RunConfig:
    """Keys shared by every command."""

    seed: int = 0
    context: str = choice("cpu", CONTEXTS)
    device_id: int = 0
    epochs: int = 10
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"name": "darts"})
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


@dataclass
class MultiTrialConfig:
    """Multi-trial search (``searcher: random | evolution | optuna``)."""

    trials: int = 100  # the budget: finished evaluations, failed ones included
    evaluator: str = choice("table", EVALUATORS)  # table lookup, or training each candidate
    device: str = "raspi4"  # the NAS-Bench-201 device whose latency is the cost
    max_latency: float | None = None  # ms; candidates above it are infeasible
    # Evolution. On NAS-Bench-201 with 300 trials, a population of half the budget and a
    # tournament of a fifth of it found better architectures than Real et al.'s 100/25
    # scaled down (benchmarks/nb201_search.py); None applies those ratios.
    population_size: int | None = None
    sample_size: int | None = None
    sampler: str = choice("tpe", OPTUNA_SAMPLERS)  # optuna; nsga2 optimises both objectives
    workers: int = 2  # candidate trainings in parallel (Ray)
    ray_address: str | None = None  # an existing Ray cluster; None starts local workers


@dataclass
class PnasConfig:
    """ProxylessNAS-style search (``searcher: pnas``): sampled paths, REINFORCE."""

    warmup_epochs: int = 0  # weights only, on paths from the initial (uniform) distribution
    gradient: str = choice("reinforce", ("reinforce", "binary_gate"))
    samples: int = 2  # paths evaluated per architecture step
    baseline_decay: float = 0.9  # moving-average reward baseline
    cost: str | None = choice(None, ESTIMATORS)  # latency | memory | flops | params
    cost_mode: str = choice("reward", ("reward", "penalty"))
    cost_weight: float = 0.0  # reward: exponent w of (cost / target) ** w, e.g. -0.07
    cost_target: float | None = None  # reward: the cost the exponent is relative to
    latency_table: str | None = None  # reuse measured layer latencies (a JSON table)


@dataclass
class SearchConfig(RunConfig):
    """``nnabla-nas search``."""

    searcher: str = choice("darts", SEARCHERS)
    unrolled: bool = False  # DARTS second-order approximation
    arch_optimizer: OptimizerConfig = field(default_factory=_arch_optimizer)
    pnas: PnasConfig = field(default_factory=PnasConfig)
    multitrial: MultiTrialConfig = field(default_factory=MultiTrialConfig)


@dataclass
class TrainConfig(RunConfig):
    """``nnabla-nas train``."""

    aux_weight: float = 0.0  # weight of the auxiliary head's loss
    drop_path: float = 0.0  # final drop-path probability, reached linearly
    # Files the finished run also writes: model.nnp and/or model.onnx (inference, batch 1).
    export: list[str] = field(default_factory=list, metadata={"choices": ("nnp", "onnx")})


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
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is Any or (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        return value
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def from_dict(cls: type, data: Any, where: str = "config") -> Any:
    """Builds dataclass `cls` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; valid keys are: {', '.join(names)}"
        )
    values = {k: _check(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    for f in dataclasses.fields(cls):
        choices = f.metadata.get("choices")
        value = values.get(f.name)
        for item in value if isinstance(value, list) else [value]:
            if choices and item is not None and item not in choices:
                raise ConfigError(
                    f"{where}.{f.name}: unknown value {item!r}; "
                    f"valid values are: {', '.join(choices)}"
                )
    return cls(**values)


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


def load_config(
    cls: type, path: str | None, overrides: Sequence[str] = (), *, seed: int | None = None
) -> Any:
    """Reads a YAML config (safe loading), applies overrides and checks it against `cls`."""
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
    if seed is not None:
        data["seed"] = seed
    return from_dict(cls, data)


def to_dict(config: Any) -> dict[str, Any]:
    """The fully resolved config as plain data, ready for ``config.yaml``."""
    return dataclasses.asdict(config)
