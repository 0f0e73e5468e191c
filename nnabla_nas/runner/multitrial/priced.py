"""`PricedExecutor`: values known before an evaluation (a predicted or looked-up latency),
computed in this process and added to what the evaluation gives."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .driver import Executor
from .executors import Outcome


class PricedExecutor:
    """Runs evaluations on `executor` and adds the values `price` gives each candidate.

    It receives what the strategy proposes (a choice tuple), prices it here (for example
    with a latency estimator holding the supernet, which cannot go to other processes)
    and submits ``decode(choices)`` to `executor`. A candidate whose pricing raises is a
    failed trial with that error, and is not evaluated; a failed evaluation gets no price.

    Args:
        executor: evaluates the decoded candidates, here or on workers.
        price: the values of a candidate, e.g. ``{"latency": ms}``.
        decode: what the evaluator receives of a choice tuple (e.g. the space's
            architecture); the tuple itself by default.
    """

    def __init__(
        self,
        executor: Executor,
        price: Callable[[Any], dict[str, float]],
        decode: Callable[[Any], Any] = tuple,
    ) -> None:
        self.executor, self.price, self.decode = executor, price, decode
        self.capacity = executor.capacity
        self._prices: dict[int, dict[str, float]] = {}
        self._refused: deque[Outcome] = deque()

    def submit(self, number: int, arch: Any) -> None:
        try:
            self._prices[number] = self.price(arch)
        except Exception as err:  # a failed trial is recorded, never dropped
            self._refused.append(Outcome(number, {}, f"{type(err).__name__}: {err}", 0.0))
            return
        self.executor.submit(number, self.decode(arch))

    def next_result(self) -> Outcome:
        if self._refused:
            return self._refused.popleft()
        outcome = self.executor.next_result()
        price = self._prices.pop(outcome.number, {})
        if outcome.values and not outcome.error:
            outcome.values = {**outcome.values, **price}
        return outcome

    def close(self) -> None:
        self._prices.clear()
        self._refused.clear()
        self.executor.close()
