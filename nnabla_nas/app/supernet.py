"""The supernet evaluator of a multi-trial search, from the folder of a finished spos,
fairnas or ofa search: its supernet with its final weights, its data split and its protocol.

The folder is checked when the search starts, before anything is written: a finished
search of a path searcher (`path_searchers`), of this config's space, model options and
dataset section (the split whose validation images the supernet never trained on).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

import nnabla as nn
import numpy as np

from ..contrib.model import Model
from ..contrib.space import Space
from ..module import mismatch_text, read_parameter_attrs
from ..runner.algorithm import Algorithm
from ..runner.loop import epoch_rng
from ..runner.multitrial.supernet import SubnetEvaluator, SupernetEvaluator
from .build import FINGERPRINT, fingerprint, make_data, make_transform, nnabla_context
from .config import ConfigError, SearchConfig, load_config, to_dict
from .multitrial_config import either, path_searchers
from .run import RunError, RunFolder

__all__ = ["CALIB_BATCHES", "supernet_evaluator", "supernet_run"]

CALIB_BATCHES = 5  # training batches recalibrating BN, for a run whose searcher sets none


def supernet_run(cfg: SearchConfig) -> tuple[RunFolder, SearchConfig]:
    """The run folder of ``multitrial.supernet`` and its config, once checked against `cfg`.

    Raises:
        ConfigError: the folder is missing, is not a finished spos, fairnas or ofa search (the
            error names what it is), or searched another space, another network (model
            options) or other data (dataset section) than `cfg`.
    """
    mt = cfg.multitrial
    assert mt is not None and mt.supernet is not None
    folder, searchers = mt.supernet, either(path_searchers())
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
    if manifest.status != "finished" or not run.has("weights"):
        raise ConfigError(
            f"multitrial.supernet: the {manifest.searcher} search in '{folder}' is "
            f"{manifest.status}, not finished; finish it (nnabla-nas search --resume) first"
        )
    if manifest.space != cfg.model.name:
        raise ConfigError(
            f"multitrial.supernet: '{folder}' searched space {manifest.space!r}, not "
            f"{cfg.model.name!r} (model.name)"
        )
    try:
        source = load_config(SearchConfig, run.file("config"))
    except ConfigError as err:
        raise ConfigError(f"multitrial.supernet: '{run.file('config')}': {err}") from None
    why = "its weights fit only its own network: give its model section"
    _same("model", to_dict(cfg.model), to_dict(source.model), folder, why)
    why = (
        "the candidates are scored on its split of the data, whose validation images it "
        "never trained on: give its dataset section"
    )
    _same("dataset", to_dict(cfg.dataset), to_dict(source.dataset), folder, why)
    return run, source


def _same(section: str, ours: Mapping[str, Any], theirs: Mapping[str, Any], folder: str,
          why: str) -> None:  # fmt: skip
    for key in sorted(set(ours) | set(theirs), key=lambda k: (k != "name", k)):
        if ours.get(key) != theirs.get(key):
            raise ConfigError(
                f"{section}.{key}: {ours.get(key)!r} here, {theirs.get(key)!r} in the supernet "
                f"run '{folder}'; {why}"
            )


def supernet_evaluator(cfg: SearchConfig, space: Space) -> SupernetEvaluator | SubnetEvaluator:
    """Scores candidates as the search in ``multitrial.supernet`` scored its paths.

    The run's search net is built from its own ``config.yaml`` and loads its final
    ``weights.h5``; a candidate's BatchNorm statistics are recalibrated on the first
    `calib_batches` batches of the run's weight split in the order of the epoch after its
    last, and its accuracy is measured on the first `eval_batches` batches of the run's
    validation split (the multi-trial section's numbers, else the run's own ``spos:`` /
    ``fairnas:`` settings): the batches of the run's evolution, so that without graph
    noise (augmentation, dropout) a path scores what it scored there. The folder is
    checked first (`supernet_run`). A space of elastic supernets (`Space.has_subnets`,
    Once-for-All's) scores each candidate's own network with the weights it inherits
    (`SubnetEvaluator`; the run's searcher setting no batches, `CALIB_BATCHES` recalibrate).

    Raises:
        ConfigError: the folder does not pass `supernet_run`, or its weights do not fit
            its supernet.
    """
    mt = cfg.multitrial
    assert mt is not None
    run, source = supernet_run(cfg)
    data = make_data(source.dataset, source.seed, search=True)
    context = nnabla_context(cfg)
    with nn.context_scope(context):
        net = space.make_search_net(
            data.sample_shape[0], data.classes, seed=source.seed, options=source.model.options
        )
    weights = run.file("weights")
    mark = read_parameter_attrs(weights).get(FINGERPRINT)
    if mark is not None and mark != fingerprint(space.name, source.model.options):
        raise ConfigError(
            f"multitrial.supernet: '{weights}' was trained for another network than the one "
            f"of '{run.file('config')}'"
        )
    try:
        net.load_parameters(weights, raise_if_missing=True)
    except (KeyError, ValueError) as err:
        raise ConfigError(
            f"multitrial.supernet: '{weights}' does not fit its supernet: {mismatch_text(err)}"
        ) from None
    settings = source.settings
    calib_batches = mt.calib_batches or getattr(settings, "calib_batches", CALIB_BATCHES)
    eval_batches = mt.eval_batches or getattr(settings, "eval_batches", None)
    weights_split = data.train["train"]
    weights_split.set_epoch(source.epochs)  # as the run's evolution read it
    calib = list(islice(weights_split, calib_batches))
    valid = list(data.eval if eval_batches is None else islice(data.eval, eval_batches))
    transform = make_transform(source.dataset)

    def noise() -> np.random.Generator:
        return epoch_rng(source.seed, source.epochs)

    if space.has_subnets:

        def subnet(arch: Any) -> Model:
            with nn.context_scope(context):
                return space.subnet(net, arch)

        def algorithm_of(model: Model) -> Algorithm:
            return Algorithm(model, {}, transform=transform, context=context)

        def decode(choices: Sequence[str]) -> Any:
            return space.from_choices(net, choices)

        return SubnetEvaluator(
            decode, subnet, algorithm_of, calib, valid, noise, space.describe, list(data.test)
        )
    algorithm = Algorithm(net, {}, transform=transform, context=context)
    return SupernetEvaluator(algorithm, calib, valid, noise=noise)
