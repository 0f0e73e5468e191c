"""The checks of a multi-trial search's ``multitrial:`` section against its space and
evaluator: every key that does nothing for the chosen evaluator or space is an error.

The supernet run of the supernet evaluator is checked when the search starts
(`nnabla_nas.app.supernet`), so that a config loads whatever folders exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..contrib.space import Space
from ..runner.searcher import SEARCHERS
from .schema import TRAINING_KEYS, ConfigError, MultiTrialConfig, SearchConfig

__all__ = ["check_multitrial", "either", "path_searchers"]

# What only the supernet evaluator uses, and what only a predicted latency uses, unset.
SUPERNET_KEYS = {"supernet": None, "calib_batches": None, "eval_batches": None}
PREDICTOR_KEYS = {"latency_table": None, "import_table": False, "calibrate": None}


def either(names: list[str]) -> str:
    """``'a, b or c'``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def path_searchers() -> list[str]:
    """The one-shot searchers whose supernets score sub-networks with inherited weights
    (`Searcher.trains_subnets`: SPOS and its kin, Once-for-All)."""
    return [name for name, cls in SEARCHERS.items() if cls.trains_subnets]


def _set(mt: MultiTrialConfig, unset: Mapping[str, Any]) -> list[str]:
    return [key for key, value in unset.items() if getattr(mt, key) != value]


def _check_table(cfg: SearchConfig, space: Space) -> None:
    """The benchmark table's evaluator and latency device, where the space has a table."""
    mt = cfg.multitrial
    assert mt is not None
    table = space.table()
    if table is None:
        if mt.evaluator == "table":
            raise ConfigError(
                f"multitrial.evaluator: space {space.name!r} has no benchmark table; "
                "use evaluator: train or supernet"
            )
        if mt.device is not None:
            raise ConfigError(
                f"multitrial.device: space {space.name!r} has no benchmark table with devices; "
                "latency is predicted on this machine, drop the device"
            )
        return
    devices = table.devices()
    if mt.device is None or mt.device not in devices:
        what = "give" if mt.device is None else f"unknown device {mt.device!r}; use"
        raise ConfigError(
            f"multitrial.device: {what} the latency device of space {space.name!r}'s "
            f"table, one of: {', '.join(devices)}"
        )
    given = [*(["latency"] if mt.latency is not None else []), *_set(mt, PREDICTOR_KEYS)]
    if given:
        raise ConfigError(
            f"multitrial.{given[0]}: the latency of space {space.name!r} is its benchmark "
            f"table's on multitrial.device; drop it"
        )


def _check_latency(cfg: SearchConfig) -> None:
    """A measured latency needs trained networks, and takes no estimator keys."""
    mt = cfg.multitrial
    assert mt is not None
    if mt.latency != "measured":
        return
    if mt.evaluator != "train":
        raise ConfigError(
            f"multitrial.latency: the {mt.evaluator} evaluator trains no network to measure; "
            "drop it (the latency is predicted from the candidate's path)"
        )
    given = _set(mt, PREDICTOR_KEYS)
    if given:
        raise ConfigError(f"multitrial.{given[0]}: the latency is measured, not predicted; drop it")


def check_multitrial(cfg: SearchConfig, space: Space, given: Mapping[str, Any]) -> None:
    """Checks the ``multitrial:`` section against the space and the evaluator.

    Args:
        given: the keys the user wrote (to tell a default from an explicit value).
    """
    mt = cfg.multitrial
    assert mt is not None
    _check_table(cfg, space)
    _check_latency(cfg)
    if mt.max_flops is not None and mt.evaluator == "table":
        raise ConfigError(
            "multitrial.max_flops: the table evaluator looks up accuracy and latency only; "
            "drop it, or bound multitrial.max_latency"
        )
    if mt.evaluator != "supernet":
        extra = _set(mt, SUPERNET_KEYS)
        if extra:
            raise ConfigError(
                f"multitrial.{extra[0]}: only the supernet evaluator uses it; drop it or set "
                "multitrial.evaluator: supernet"
            )
    if mt.evaluator in ("table", "supernet"):
        unused = [k for k in TRAINING_KEYS if k in given]
        if unused:
            alternative = (
                "or use multitrial.evaluator: train" if mt.evaluator == "table"
                else "(candidates inherit the supernet's weights)"
            )  # fmt: skip
            raise ConfigError(
                f"{unused[0]}: the {mt.evaluator} evaluator trains nothing; drop it {alternative}"
            )
        # A resolved config (a run's config.yaml) writes the defaults: only others count.
        default = MultiTrialConfig()
        parallel = [k for k in ("workers", "ray_address") if getattr(mt, k) != getattr(default, k)]
        if parallel:
            raise ConfigError(
                f"multitrial.{parallel[0]}: the {mt.evaluator} evaluator runs in this process "
                "(Ray trains candidates of evaluator: train); drop it"
            )
    if mt.evaluator == "supernet" and mt.supernet is None:
        raise ConfigError(
            "multitrial.supernet: the supernet evaluator needs the folder of a finished "
            f"{either(path_searchers())} search"
        )
