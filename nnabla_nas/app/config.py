"""Run configuration: YAML files checked against a schema before any work starts.

The schema (`nnabla_nas.app.schema`, re-exported here) is a set of dataclasses whose
defaults are the one place defaults live. What depends on a choice is checked here against
that choice's own definition, through the registries: the ``model:`` keys against the
space's network signature, the dataset's own keys (``dataset.image_size``, ``dataset.root``)
against the dataset class, and a searcher's section (``darts:``, ``pnas:``, ``evolution:``,
...) against its ``Settings``. An option the chosen searcher, space or dataset does not use
is an error, as is a section of a searcher that was not chosen.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ..contrib.registry import get_space
from ..contrib.space import Space
from ..dataset import DATASETS, dataset_options
from ..runner.multitrial import STRATEGIES
from ..runner.searcher import SEARCHERS
from .multitrial_config import check_multitrial
from .schema import (
    MOVED,
    RESUMABLE,
    ConfigError,
    CostConfig,
    DatasetConfig,
    ModelConfig,
    MultiTrialConfig,
    OptimizerConfig,
    RunConfig,
    SearchConfig,
    TrainConfig,
    arch_optimizer,
    check_value,
    from_dict,
    read_config,
    set_dotted,
    to_dict,
)

__all__ = [
    "RESUMABLE",
    "ConfigError",
    "CostConfig",
    "DatasetConfig",
    "ModelConfig",
    "MultiTrialConfig",
    "OptimizerConfig",
    "RunConfig",
    "SearchConfig",
    "TrainConfig",
    "check_search",
    "check_train",
    "from_dict",
    "load_config",
    "parse_config",
    "read_config",
    "set_dotted",
    "space_of",
    "to_dict",
]

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
    return {k: check_value(v, hints.get(k, Any), f"{where}.{k}") for k, v in given.items()}


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
    return from_dict(cls, data, f"config.{name}")  # a __post_init__ error is a ConfigError too


def _check_cost(cfg: SearchConfig) -> None:
    cost = cfg.cost
    if cost is None:
        return
    modes = SEARCHERS[cfg.searcher].cost_modes
    if not modes:
        takes = [n for n, s in SEARCHERS.items() if s.cost_modes]
        raise ConfigError(
            f"cost: searcher {cfg.searcher!r} takes no hardware cost; remove the cost "
            f"section or use one of: {', '.join(takes)}"
        )
    if cost.mode not in modes:
        raise ConfigError(
            f"cost.mode: searcher {cfg.searcher!r} takes {', '.join(modes)}, not {cost.mode!r}"
        )
    if cost.name != "latency":
        for key, unset in (("latency_table", None), ("import_table", False), ("calibrate", None)):
            if getattr(cost, key) != unset:
                raise ConfigError(f"cost.{key}: the {cost.name} cost is not measured; drop it")
    if cost.mode in ("reward", "target") and cost.weight and not cost.target:
        raise ConfigError(f"cost: the {cost.mode} mode with a weight needs a positive cost.target")
    learns = SEARCHERS[cfg.searcher].learns_alphas
    if cost.within_budget is not None and (cost.mode != "target" or not learns):
        raise ConfigError(
            "cost.within_budget: only a target-mode cost of a searcher that learns alphas "
            "derives within the budget (spos and fairnas never score a path over it); drop it"
        )
    problem = SEARCHERS[cfg.searcher].cost_problem(cost.mode, cost.weight, cost.target)
    if problem:
        raise ConfigError(f"cost: searcher {cfg.searcher!r}: {problem}")


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
        if component.learns_alphas:
            cfg.arch_optimizer = cfg.arch_optimizer or arch_optimizer()
        elif cfg.arch_optimizer is not None:
            raise ConfigError(
                f"arch_optimizer: searcher {cfg.searcher!r} learns no architecture parameters; "
                "drop the section"
            )
        _check_cost(cfg)
        space = _check_model(cfg, "search")
        if component.spaces and space.name not in component.spaces:
            raise ConfigError(
                f"model.name: searcher {cfg.searcher!r} trains the "
                f"{' or '.join(component.spaces)} space only, not {space.name!r}; set "
                f"model.name: {component.spaces[0]}"
            )
    elif cfg.searcher in STRATEGIES:
        component = STRATEGIES[cfg.searcher]
        for key in ("arch_optimizer", "cost"):
            if getattr(cfg, key) is not None:
                raise ConfigError(
                    f"{key}: searcher {cfg.searcher!r} is multi-trial and has no {key}; drop it"
                )
        if cfg.recompute:
            raise ConfigError(
                f"recompute: searcher {cfg.searcher!r} is multi-trial and builds no graph of its "
                f"own to recompute; drop it"
            )
        cfg.multitrial = cfg.multitrial or MultiTrialConfig()
        # The supernet evaluator builds the supernet only; the others train candidates.
        space = _check_model(cfg, "search" if cfg.multitrial.evaluator == "supernet" else "both")
        check_multitrial(cfg, space, given)
    else:
        names = [*SEARCHERS.names(), *STRATEGIES.names()]
        raise ConfigError(f"searcher: unknown {cfg.searcher!r}; use one of: {', '.join(names)}")
    if cfg.settings is None or isinstance(cfg.settings, dict):
        cfg.settings = _settings(cfg.searcher, component.Settings, cfg.settings)
    elif not isinstance(cfg.settings, component.Settings):
        raise ConfigError(f"{cfg.searcher}: expected {component.Settings.__name__} settings")
    if cfg.searcher in SEARCHERS:
        problem = component.config_problem(
            cfg.settings, epochs=cfg.epochs, options=cfg.model.options
        )
        if problem:
            raise ConfigError(f"config.{cfg.searcher}: {problem}")
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
    return space


def _search_from(data: dict[str, Any]) -> SearchConfig:
    searcher = data.get("searcher", SearchConfig.searcher)  # the default searcher
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
