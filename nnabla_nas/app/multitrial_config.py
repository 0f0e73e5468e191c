"""The checks of a multi-trial search's ``multitrial:`` section against its space and
evaluator, and of the supernet run the supernet evaluator scores with.

Every key that does nothing for the chosen evaluator or space is an error, as is a
supernet run that cannot score this config's candidates (not a finished spos or fairnas
search, another space, other model options, another split of the data).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..contrib.space import Space
from ..runner.searcher import SEARCHERS, SposSearcher
from .run import RunError, RunFolder
from .schema import (
    TRAINING_KEYS,
    ConfigError,
    DatasetConfig,
    MultiTrialConfig,
    SearchConfig,
    from_dict,
    load_yaml,
    to_dict,
)

__all__ = ["check_multitrial", "path_searchers"]

# What only the supernet evaluator uses, and what only a predicted latency uses, unset.
SUPERNET_KEYS = {"supernet": None, "calib_batches": None, "eval_batches": None}
PREDICTOR_KEYS = {"latency_table": None, "import_table": False, "calibrate": None}


def path_searchers() -> list[str]:
    """The one-shot searchers that train a supernet on single paths (SPOS and its kin)."""
    return [name for name, cls in SEARCHERS.items() if issubclass(cls, SposSearcher)]


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
    """Checks the ``multitrial:`` section against the space and the evaluator; with the
    supernet evaluator, also the supernet run, whose dataset section becomes this one's.

    Args:
        given: the keys the user wrote (to tell a default from an explicit value).
    """
    mt = cfg.multitrial
    assert mt is not None
    _check_table(cfg, space)
    _check_latency(cfg)
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
    if mt.evaluator == "supernet":
        _check_supernet(cfg, given)


def _check_supernet(cfg: SearchConfig, given: Mapping[str, Any]) -> None:
    """The supernet run: a finished path search of this space and model; its dataset
    section replaces this config's, whose given keys must agree with it."""
    mt = cfg.multitrial
    assert mt is not None
    folder = mt.supernet
    searchers = " or ".join(path_searchers())
    if folder is None:
        raise ConfigError(
            f"multitrial.supernet: the supernet evaluator needs the folder of a finished "
            f"{searchers} search"
        )
    if not os.path.isdir(folder):
        raise ConfigError(
            f"multitrial.supernet: '{folder}' does not exist; give the folder of a finished "
            f"{searchers} search"
        )
    run = RunFolder(folder)
    try:
        manifest = run.manifest()
    except RunError as err:
        raise ConfigError(f"multitrial.supernet: {err}") from None
    if manifest.command != "search" or manifest.searcher not in path_searchers():
        what = f"a {manifest.searcher} search" if manifest.command == "search" else "a training"
        raise ConfigError(
            f"multitrial.supernet: '{folder}' holds {what}, not a {searchers} search: only a "
            "supernet trained on single paths scores them"
        )
    if manifest.status != "finished":
        raise ConfigError(
            f"multitrial.supernet: the {manifest.searcher} search in '{folder}' is "
            f"{manifest.status}, not finished; finish it (nnabla-nas search --resume) first"
        )
    if manifest.space != cfg.model.name:
        raise ConfigError(
            f"multitrial.supernet: '{folder}' searched space {manifest.space!r}, not "
            f"{cfg.model.name!r} (model.name)"
        )
    saved = _saved_config(run)
    _same_model(to_dict(cfg.model), saved.get("model"), folder)
    cfg.dataset = _same_dataset(cfg.dataset, saved.get("dataset"), given.get("dataset"), run)
    if not run.has("weights"):
        raise ConfigError(f"multitrial.supernet: '{folder}' has no weights.h5 of its supernet")


def _saved_config(run: RunFolder) -> dict[str, Any]:
    text = run.config_text()
    data = load_yaml(text) if text is not None else None
    if not isinstance(data, dict):
        raise ConfigError(f"multitrial.supernet: '{run.file('config')}' holds no config")
    return data


def _same_model(ours: Mapping[str, Any], theirs: Any, folder: str) -> None:
    theirs = theirs if isinstance(theirs, dict) else {}
    for key in sorted(set(ours) | set(theirs), key=lambda k: (k != "name", k)):
        if ours.get(key) != theirs.get(key):
            raise ConfigError(
                f"model.{key}: {ours.get(key)!r} here, {theirs.get(key)!r} in the supernet of "
                f"'{folder}': its weights fit only its own network; give its model section"
            )


def _same_dataset(ours: DatasetConfig, theirs: Any, given: Any, run: RunFolder) -> DatasetConfig:
    """The supernet run's dataset section, once the keys given here agree with it: its
    split keeps the validation images the supernet never trained on."""
    saved = from_dict(DatasetConfig, theirs, f"{run.file('config')}: dataset")
    mine, its = to_dict(ours), to_dict(saved)
    for key in given if isinstance(given, dict) else {}:
        if mine.get(key) != its.get(key):
            raise ConfigError(
                f"dataset.{key}: {mine.get(key)!r} here, {its.get(key)!r} in the supernet run "
                f"'{run.path}'; the supernet evaluator scores on that run's split (its "
                "validation images were never trained on): drop the key or give the same"
            )
    return saved
