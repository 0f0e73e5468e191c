"""Optimizers over nnabla solvers and learning-rate schedules."""

from .optimizer import SOLVERS, Optimizer, SolverFactory
from .schedulers import (
    SCHEDULERS,
    ConstantScheduler,
    CosineScheduler,
    LinearWarmup,
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
    "Scheduler",
    "SolverFactory",
    "StepScheduler",
]
