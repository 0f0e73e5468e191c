"""Optimizers over nnabla solvers and learning-rate schedules."""

from .optimizer import SOLVERS, Optimizer, SolverFactory
from .schedulers import (
    SCHEDULERS,
    ConstantScheduler,
    CosineScheduler,
    LinearWarmup,
    Restarts,
    Scheduler,
    StepScheduler,
)

__all__ = [
    "SCHEDULERS",
    "SOLVERS",
    "ConstantScheduler",
    "CosineScheduler",
    "LinearWarmup",
    "Optimizer",
    "Restarts",
    "Scheduler",
    "SolverFactory",
    "StepScheduler",
]
