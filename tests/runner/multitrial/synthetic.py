"""A synthetic search problem: 6 decisions x 5 ops, additive accuracy and latency tables."""

from __future__ import annotations

import numpy as np

from nnabla_nas.runner.multitrial import (
    ChoiceSpace,
    Constraint,
    Objective,
    Strategy,
    Trial,
)

OPS = ("none", "skip", "conv1", "conv3", "pool")
SPACE = ChoiceSpace([OPS] * 6, names=[f"edge_{i}" for i in range(6)])
_tables = np.random.default_rng(2024)
SCORE = _tables.uniform(0.0, 10.0, size=(6, 5))
COST = _tables.uniform(0.0, 5.0, size=(6, 5))
ACCURACY = Objective("accuracy", "maximize")
LATENCY = Objective("latency", "minimize")
BUDGET = 12.0


def accuracy(arch: tuple[str, ...]) -> float:
    return float(sum(SCORE[d, j] for d, j in enumerate(SPACE.indices(arch))))


def latency(arch: tuple[str, ...]) -> float:
    return float(sum(COST[d, j] for d, j in enumerate(SPACE.indices(arch))))


def under_budget(arch: tuple[str, ...]) -> bool:
    return latency(arch) <= BUDGET


def best_accuracy(*, budget: float = np.inf) -> float:
    """The optimum by enumeration of the space."""
    grid = np.stack(np.meshgrid(*[np.arange(5)] * 6, indexing="ij"), -1).reshape(-1, 6)
    acc = SCORE[np.arange(6), grid].sum(1)
    cost = COST[np.arange(6), grid].sum(1)
    return float(acc[cost <= budget].max())


def evaluate(number: int, arch: tuple[str, ...], *, budget: float | None = None) -> Trial:
    values = {"accuracy": accuracy(arch), "latency": latency(arch)}
    state = "infeasible" if budget is not None and values["latency"] > budget else "complete"
    return Trial(number, arch, state, values)


def run(strategy: Strategy, n: int, *, budget: float | None = None) -> list[Trial]:
    """Asks and tells `n` trials sequentially; returns them."""
    trials = []
    for _ in range(n):
        trial = evaluate(strategy.n_asked, strategy.ask(), budget=budget)
        strategy.tell(trial)
        trials.append(trial)
    return trials


def budget_constraint() -> Constraint:
    return Constraint("latency", BUDGET)
