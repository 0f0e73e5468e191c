"""Evaluators: what a trial costs to learn about a candidate architecture.

An evaluator is a picklable object with ``evaluate(arch) -> dict[str, float]``; executors
run it in this process or on Ray workers. Raising marks the trial as failed. `arch` is a
space's architecture (what ``Space.from_choices`` returns), not the strategy's choice tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Evaluator(Protocol):
    def evaluate(self, arch: Any) -> dict[str, float]: ...


class Table(Protocol):
    """A benchmark table (``Space.table()``): measured accuracy and latency."""

    def devices(self) -> list[str]: ...
    def accuracy(self, arch: Any) -> float: ...
    def latency(self, arch: Any, device: str) -> float: ...


class TableEvaluator:
    """Looks an architecture up in a benchmark table: accuracy (%) and device latency (ms).

    Instant, so a benchmark of search strategies needs no training.
    """

    def __init__(self, table: Table, device: str) -> None:
        if device not in table.devices():
            raise ValueError(
                f"unknown latency device {device!r}; the table has: {', '.join(table.devices())}"
            )
        self.table, self.device = table, device

    def evaluate(self, arch: Any) -> dict[str, float]:
        return {
            "accuracy": float(self.table.accuracy(arch)),
            "latency": float(self.table.latency(arch, self.device)),
        }


class TrainingEvaluator:
    """Trains a candidate and reports what `train` returns, with its `latency` added.

    Args:
        train: trains the network of an architecture and returns its metrics, at least
            ``accuracy`` (%); a picklable callable to run on other processes.
        latency: the latency (ms) of an architecture, e.g. from a benchmark table or a
            latency estimator; None when `train` reports it.
    """

    def __init__(
        self,
        train: Callable[[Any], dict[str, float]],
        latency: Callable[[Any], float] | None = None,
    ) -> None:
        self.train, self.latency = train, latency

    def evaluate(self, arch: Any) -> dict[str, float]:
        values = dict(self.train(arch))
        if self.latency is not None:
            values["latency"] = float(self.latency(arch))
        return values
