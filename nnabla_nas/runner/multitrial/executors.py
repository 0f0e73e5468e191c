"""Executors: run evaluations here (`SerialExecutor`) or in parallel on Ray (`RayExecutor`)."""

from __future__ import annotations

import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any

from ...utils.extras import require
from .evaluators import Evaluator


@dataclass
class Outcome:
    """What an evaluation gave: values, or the error that made the trial fail."""

    number: int
    values: dict[str, float]
    error: str
    seconds: float


def run_evaluation(evaluator: Evaluator, number: int, arch: Any) -> Outcome:
    """Evaluates one architecture; an exception becomes the outcome's error, not a crash."""
    start = time.perf_counter()
    try:
        values = evaluator.evaluate(arch)
        error = ""
    except Exception as err:  # a failed trial is recorded, never dropped
        values, error = {}, f"{type(err).__name__}: {err}"
        last = traceback.extract_tb(err.__traceback__)[-1:]
        if last:
            error += f" (at {last[0].filename}:{last[0].lineno})"
    return Outcome(number, values, error, time.perf_counter() - start)


class SerialExecutor:
    """Evaluates one architecture at a time in this process."""

    capacity = 1

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self._queue: deque[tuple[int, Any]] = deque()

    def submit(self, number: int, arch: Any) -> None:
        self._queue.append((number, arch))

    def next_result(self) -> Outcome:
        number, arch = self._queue.popleft()
        return run_evaluation(self.evaluator, number, arch)

    def close(self) -> None:
        self._queue.clear()


class RayExecutor:
    """Evaluates up to `workers` architectures at once as Ray tasks.

    Without `address`, Ray starts local worker processes on this machine; with an address
    (``ray://host:10001`` or ``auto``) the tasks go to that existing cluster.
    """

    def __init__(self, evaluator: Evaluator, *, workers: int = 2, address: str | None = None):
        ray = require("ray", "multi-trial search on Ray workers")
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                options["num_cpus"] = workers
            ray.init(address=address, **options)
        self.capacity = workers
        self._task = ray.remote(run_evaluation)
        self._evaluator = ray.put(evaluator)
        self._pending: dict[Any, int] = {}

    def submit(self, number: int, arch: Any) -> None:
        self._pending[self._task.remote(self._evaluator, number, arch)] = number

    def next_result(self) -> Outcome:
        done, _ = self._ray.wait(list(self._pending), num_returns=1)
        number = self._pending.pop(done[0])
        try:
            return self._ray.get(done[0])
        except Exception as err:  # the worker itself died: still a failed trial
            return Outcome(number, {}, f"{type(err).__name__}: {err}", 0.0)

    def close(self) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending.clear()
        if self._owns:
            self._ray.shutdown()
