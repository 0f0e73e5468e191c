"""Where a multi-trial candidate's latency comes from: the space's benchmark table, the
latency estimator calibrated once on the supernet (the prediction of the candidate's
path, one input), or, on request, a measurement of each trained network."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contrib.estimator import LatencyEstimator
from ..contrib.estimator.latency import MIN_CALIBRATION_PATHS
from ..contrib.model import Model
from ..contrib.space import Space
from ..module import find_choices
from ..runner.paths import Path, path_cost, path_of
from .build import CALIBRATION_PATHS, calibrate_latency, latency_scope, make_estimator
from .config import ConfigError, SearchConfig

__all__ = [
    "MEASURED",
    "TrialLatency",
    "candidate_network",
    "network_latency",
    "network_price",
    "trial_latency",
]

logger = logging.getLogger("nnabla_nas")

MEASURED = "measured end to end on each trained network (one input, 25th percentile of 20 runs)"


@dataclass
class TrialLatency:
    """How the latency (ms, one input) of a multi-trial candidate is known.

    Args:
        predictor: what gives it, for the log and the summary.
        price: the latency of a choice tuple, in this process; None when the evaluation
            itself reports it (a measured latency).
        estimator: the calibrated estimator behind `price`, saved with its table.
    """

    predictor: str
    price: Callable[[Sequence[str]], float] | None = None
    estimator: LatencyEstimator | None = None


def trial_latency(
    cfg: SearchConfig,
    space: Space,
    net: Model,
    options: Mapping[str, Any],
    input_shape: Sequence[int],
    table_path: str,
    classes: int,
) -> TrialLatency:
    """The latency of the candidates of the supernet `net` (built with `options`) on one
    input of `input_shape`: the benchmark table's on ``multitrial.device``; measured on
    each trained network (``multitrial.latency: measured``); else predicted from the
    candidate's path by the latency estimator of the table `table_path` (or
    ``multitrial.latency_table``), calibrated on the supernet first when the table has no
    calibration of it (``multitrial.calibrate``, as ``cost.calibrate``), and with every
    candidate's layers measured before the first trial, so that no trial measures while
    candidates train. A supernet without `MixedOp` choices (Once-for-All's elastic one)
    has no path to price: a candidate's latency is predicted from its own network
    (`network_latency`)."""
    mt = cfg.multitrial
    assert mt is not None
    table = space.table()
    if table is not None:
        assert mt.device is not None
        device = mt.device

        def lookup(choices: Sequence[str]) -> float:
            return float(table.latency(space.from_choices(net, choices), device))

        return TrialLatency(f"benchmark table ({device})", lookup)
    if mt.latency == "measured":
        return TrialLatency(MEASURED)
    one = tuple(int(d) for d in input_shape)
    scope = latency_scope(space.name, options, one)
    estimator = make_estimator(
        "latency", mt.latency_table or table_path, scope=None if mt.calibrate == 0 else scope,
        import_table=mt.import_table,
    )  # fmt: skip
    choices = find_choices(net)
    if not choices:
        return network_latency(cfg, space, net, estimator, one, classes)
    calibrate_latency(estimator, mt.calibrate, net, one, "multitrial.calibrate")
    known: dict[Path, float] = {}

    def predict(names: Sequence[str]) -> float:
        path = path_of(choices, names)
        if path not in known:
            known[path] = path_cost(net, choices, path, estimator, one)
        return known[path]

    sizes = [len(c.names) for c in choices]
    for i in range(max(sizes)):  # every candidate of every choice on some path
        predict([c.names[min(i, n - 1)] for c, n in zip(choices, sizes, strict=True)])
    return TrialLatency(estimator.predictor, predict, estimator)


def candidate_network(
    cfg: SearchConfig, space: Space, net: Model, input_shape: Sequence[int], classes: int
) -> Callable[[Sequence[str]], Model]:
    """The train network of a choice tuple, built with the search's train options (fresh
    weights: what prices a candidate's network does not depend on them)."""
    train_keys = space.options("train")
    options = {k: v for k, v in cfg.model.options.items() if k in train_keys}

    def network(choices: Sequence[str]) -> Model:
        arch = space.from_choices(net, choices)
        return space.make_train_net(input_shape[1], classes, arch, seed=0, options=options)

    return network


def network_price(
    network: Callable[[Sequence[str]], Model], estimator: Any, input_shape: tuple[int, ...]
) -> Callable[[Sequence[str]], float]:
    """The cost `estimator` gives a candidate's network (inference mode, one input of
    `input_shape`), each choice tuple priced once."""
    known: dict[tuple[str, ...], float] = {}

    def price(choices: Sequence[str]) -> float:
        key = tuple(choices)
        if key not in known:
            model = network(key)
            with model.modes(training=False):
                known[key] = float(estimator.cost(model, input_shape))
        return known[key]

    return price


def network_latency(
    cfg: SearchConfig,
    space: Space,
    net: Model,
    estimator: LatencyEstimator,
    input_shape: tuple[int, ...],
    classes: int,
) -> TrialLatency:
    """Prices a candidate by the estimator's prediction of its train network
    (`candidate_network`), calibrated first, when the table holds no calibration of the
    space, on ``multitrial.calibrate`` (default `CALIBRATION_PATHS`) candidates drawn at
    random and measured end to end."""
    mt = cfg.multitrial
    assert mt is not None
    decisions = space.decisions(net)
    network = candidate_network(cfg, space, net, input_shape, classes)
    if estimator.scope is not None and estimator.calibration is None:
        count = CALIBRATION_PATHS if mt.calibrate is None else mt.calibrate
        if count < MIN_CALIBRATION_PATHS:
            raise ConfigError(
                f"multitrial.calibrate: a calibration needs at least {MIN_CALIBRATION_PATHS} "
                f"networks, got {count}; use 0 for the raw layer sum"
            )
        rng = np.random.default_rng(cfg.seed)
        drawn = [[str(rng.choice(d.options)) for d in decisions] for _ in range(count)]
        logger.info(f"calibrating the latency: {count} candidate networks measured end to end")
        models = [network(names) for names in drawn]
        estimator.calibrate_networks(models, input_shape, scope=estimator.scope, seed=cfg.seed)
        logger.info(f"latency predictor: {estimator.predictor}")
    predict = network_price(network, estimator, input_shape)
    for i in range(max(len(d.options) for d in decisions)):  # each option of each decision
        predict([d.options[min(i, len(d.options) - 1)] for d in decisions])
    return TrialLatency(estimator.predictor, predict, estimator)
