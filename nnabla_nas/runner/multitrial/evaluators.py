"""Evaluators: what a trial costs to learn about a candidate architecture.

An evaluator is a picklable object with ``evaluate(arch) -> dict[str, float]``; executors
run it in this process or on Ray workers. Raising marks the trial as failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Arch = tuple[str, ...]


class Evaluator(Protocol):
    def evaluate(self, arch: Arch) -> dict[str, float]: ...


class TableEvaluator:
    """Looks a NAS-Bench-201 architecture up: measured accuracy (%) and device latency (ms).

    Instant, so a benchmark of search strategies needs no training.
    """

    def __init__(self, device: str) -> None:
        from ...contrib.nb201.table import NB201Table

        self.table = NB201Table.load()
        if device not in self.table.devices():
            raise ValueError(
                f"unknown latency device {device!r}; "
                f"the table has: {', '.join(self.table.devices())}"
            )
        self.device = device

    def evaluate(self, arch: Arch) -> dict[str, float]:
        return {
            "accuracy": float(self.table.accuracy(arch)),
            "latency": float(self.table.latency(arch, self.device)),
        }


class TrainingEvaluator:
    """Trains a candidate's `TrainNet` from scratch for a few epochs; reports its accuracy.

    Runs entirely from plain data (a train config as a dict), so it can be shipped to
    another process. The validation split is the search's architecture split, so the
    test set stays unseen. With `device`, the table latency of the architecture is added.

    Args:
        config: a `TrainConfig` as a dict (``dataclasses.asdict``).
        device: a NAS-Bench-201 latency device, or None.
    """

    def __init__(self, config: Mapping[str, Any], *, device: str | None = None) -> None:
        self.config = dict(config)
        self.device = device

    def evaluate(self, arch: Arch) -> dict[str, float]:
        from ... import experiment
        from ...config import TrainConfig, from_dict

        cfg = from_dict(TrainConfig, self.config)
        values = experiment.train_candidate(cfg, arch)
        if self.device is not None:
            values["latency"] = TableEvaluator(self.device).evaluate(arch)["latency"]
        return values
