"""`run_trials`: the multi-trial loop. Ask the strategy, evaluate, tell, log; resume by replay."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .executors import Outcome
from .strategy import Constraint, Strategy, Trial
from .trials import TrialLog


class Executor(Protocol):
    capacity: int

    def submit(self, number: int, arch: Any) -> None: ...
    def next_result(self) -> Outcome: ...
    def close(self) -> None: ...


def trial_state(outcome: Outcome, constraints: Sequence[Constraint]) -> str:
    """'failed' without values, 'infeasible' when a constraint is violated, else 'complete'."""
    if outcome.error or not outcome.values:
        return "failed"
    return "complete" if all(c.satisfied(outcome.values) for c in constraints) else "infeasible"


def run_trials(
    strategy: Strategy,
    executor: Executor,
    log: TrialLog,
    *,
    budget: int,
    decode: Callable[[tuple[str, ...]], Any] = tuple,
    on_trial: Callable[[Trial], Any] | None = None,
    logger: logging.Logger | None = None,
) -> list[Trial]:
    """Runs trials until `budget` of them have finished (earlier runs' trials included).

    The executor evaluates ``decode(choices)`` of each proposal, e.g. the space's
    architecture of the strategy's choice tuple. Keeps up to ``executor.capacity``
    evaluations in flight. Each finished trial is told to
    the strategy, appended to the log and passed to `on_trial`. With an existing log, its
    trials are replayed first: a killed search continues where it stopped.
    """
    logger = logger or logging.getLogger("nnabla_nas")
    done = log.load()
    if done:
        strategy.replay(done)
        logger.info(f"resumed after {len(done)} finished trials")
    pending: dict[int, tuple[str, ...]] = {}
    # After a parallel run, trials lost in flight leave gaps: number past the last ask.
    number = strategy.n_asked
    try:
        while len(log.trials) + len(pending) < budget or pending:
            while len(log.trials) + len(pending) < budget and len(pending) < executor.capacity:
                pending[number] = strategy.ask()
                executor.submit(number, decode(pending[number]))
                number += 1
            outcome = executor.next_result()
            trial = Trial(
                number=outcome.number,
                arch=pending.pop(outcome.number),
                state=trial_state(outcome, strategy.constraints),
                values=outcome.values,
                error=outcome.error,
            )
            strategy.tell(trial)
            log.append(trial, outcome.seconds)
            if trial.state == "failed":
                logger.warning(f"trial {trial.number} failed: {trial.error}")
            if on_trial is not None:
                on_trial(trial)
    finally:
        executor.close()
    return list(log.trials)
