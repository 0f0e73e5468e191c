"""Where a multi-trial candidate's latency comes from: the space's benchmark table, the
latency estimator calibrated once on the supernet (the prediction of the candidate's
path, one input), or, on request, a measurement of each trained network."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..contrib.estimator import LatencyEstimator
from ..contrib.model import Model
from ..contrib.space import Space
from ..module import find_choices
from ..runner.paths import Path, path_cost, path_of
from .build import calibrate_latency, latency_scope, make_estimator
from .config import SearchConfig

__all__ = ["MEASURED", "TrialLatency", "trial_latency"]

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
) -> TrialLatency:
    """The latency of the candidates of the supernet `net` (built with `options`) on one
    input of `input_shape`: the benchmark table's on ``multitrial.device``; measured on
    each trained network (``multitrial.latency: measured``); else predicted from the
    candidate's path by the latency estimator of the table `table_path` (or
    ``multitrial.latency_table``), calibrated on the supernet first when the table has no
    calibration of it (``multitrial.calibrate``, as ``cost.calibrate``), and with every
    candidate's layers measured before the first trial, so that no trial measures while
    candidates train."""
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
    calibrate_latency(estimator, mt.calibrate, net, one, "multitrial.calibrate")
    choices = find_choices(net)
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
