"""Learning-rate schedules: pure functions of the iteration, so a resumed run is exact.

A schedule counts iterations (optimizer steps); each has a ``from_epochs`` constructor that
takes epochs and the steps of one epoch (``len(loader)``) instead, the unit a training run
is planned in.
"""

from __future__ import annotations

import bisect
import itertools
import math
from abc import ABC, abstractmethod
from dataclasses import KW_ONLY, dataclass


def _check_lr(value: float, name: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _steps(epochs: float, steps_per_epoch: int, name: str) -> int:
    """`epochs` of `steps_per_epoch` steps as a whole number of steps."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1 (e.g. len(loader)), got {steps_per_epoch}")
    if not (math.isfinite(epochs) and epochs >= 0):
        raise ValueError(f"{name} must be a number of epochs >= 0, got {epochs!r}")
    return round(epochs * steps_per_epoch)


def _check_iterations(value: int, name: str, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a number of iterations {bound}, got {value!r}")


class Scheduler(ABC):
    """The learning rate as a function of the iteration (0 is the first step).

    Subclasses implement `value`; calling the scheduler checks the iteration first.
    """

    def __call__(self, iteration: int) -> float:
        """Returns the learning rate of the step at `iteration`."""
        if iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration}")
        return self.value(iteration)

    @abstractmethod
    def value(self, iteration: int) -> float:
        """The learning rate at `iteration`, known to be >= 0."""


@dataclass(frozen=True)
class ConstantScheduler(Scheduler):
    """The same learning rate at every iteration."""

    lr: float

    def __post_init__(self) -> None:
        _check_lr(self.lr, "lr")

    def value(self, iteration: int) -> float:
        return self.lr


@dataclass(frozen=True)
class CosineScheduler(Scheduler):
    """Cosine annealing from `lr` at iteration 0 to `min_lr` at `max_iter`; `min_lr` after.

    ``lr(t) = min_lr + (lr - min_lr) * (1 + cos(pi * t / max_iter)) / 2`` for ``t < max_iter``.
    """

    lr: float
    max_iter: int
    _: KW_ONLY
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        _check_lr(self.lr, "lr")
        _check_lr(self.min_lr, "min_lr")
        _check_iterations(self.max_iter, "max_iter")

    @classmethod
    def from_epochs(
        cls, lr: float, epochs: float, steps_per_epoch: int, *, min_lr: float = 0.0
    ) -> CosineScheduler:
        """Anneals from `lr` to `min_lr` over `epochs` epochs of `steps_per_epoch` steps.

        Example:
            >>> from nnabla_nas.optimizer import CosineScheduler
            >>> sched = CosineScheduler.from_epochs(0.05, epochs=10, steps_per_epoch=12)
            >>> sched.max_iter, round(sched(60), 6)  # halfway: half the rate
            (120, 0.025)
        """
        return cls(lr, max(_steps(epochs, steps_per_epoch, "epochs"), 1), min_lr=min_lr)

    def value(self, iteration: int) -> float:
        if iteration >= self.max_iter:
            return self.min_lr
        cosine = (1.0 + math.cos(math.pi * iteration / self.max_iter)) / 2.0
        return self.min_lr + (self.lr - self.min_lr) * cosine


@dataclass(frozen=True)
class StepScheduler(Scheduler):
    """Multiplies `lr` by `gamma` every `step_size` iterations.

    ``lr(t) = lr * gamma ** (t // step_size)``.
    """

    lr: float
    step_size: int
    _: KW_ONLY
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _check_lr(self.lr, "lr")
        _check_lr(self.gamma, "gamma")
        _check_iterations(self.step_size, "step_size")

    @classmethod
    def from_epochs(
        cls, lr: float, step_epochs: float, steps_per_epoch: int, *, gamma: float = 0.1
    ) -> StepScheduler:
        """Multiplies `lr` by `gamma` every `step_epochs` epochs of `steps_per_epoch` steps."""
        step = _steps(step_epochs, steps_per_epoch, "step_epochs")
        return cls(lr, max(step, 1), gamma=gamma)

    def value(self, iteration: int) -> float:
        return self.lr * self.gamma ** (iteration // self.step_size)


@dataclass(frozen=True)
class LinearWarmup(Scheduler):
    """Scales `scheduler` by a factor rising linearly from `start_factor` to 1.

    ``lr(t) = scheduler(t) * (start_factor + (1 - start_factor) * t / warmup_iter)`` for
    ``t < warmup_iter``, and ``scheduler(t)`` after, so a constant `lr` warms up linearly from
    ``start_factor * lr`` to ``lr``. The wrapped schedule keeps its own time axis.

    Example:
        >>> from nnabla_nas.optimizer import CosineScheduler, LinearWarmup
        >>> sched = LinearWarmup(CosineScheduler(0.1, max_iter=100), warmup_iter=5)
        >>> sched(0), sched(100)
        (0.0, 0.0)
    """

    scheduler: Scheduler
    warmup_iter: int
    _: KW_ONLY
    start_factor: float = 0.0

    def __post_init__(self) -> None:
        _check_iterations(self.warmup_iter, "warmup_iter", allow_zero=True)
        if not 0.0 <= self.start_factor <= 1.0:
            raise ValueError(f"start_factor must be in [0, 1], got {self.start_factor!r}")

    @classmethod
    def from_epochs(
        cls,
        scheduler: Scheduler,
        warmup_epochs: float,
        steps_per_epoch: int,
        *,
        start_factor: float = 0.0,
    ) -> LinearWarmup:
        """Warms `scheduler` up over `warmup_epochs` epochs of `steps_per_epoch` steps."""
        warmup = _steps(warmup_epochs, steps_per_epoch, "warmup_epochs")
        return cls(scheduler, warmup, start_factor=start_factor)

    def value(self, iteration: int) -> float:
        base = self.scheduler(iteration)
        if iteration >= self.warmup_iter:
            return base
        progress = iteration / self.warmup_iter
        return base * (self.start_factor + (1.0 - self.start_factor) * progress)


@dataclass(frozen=True)
class Restarts(Scheduler):
    """Schedules one after another: from iteration ``starts[k]`` on, ``schedules[k]`` with
    its own time axis starting at 0 there (a warm restart per training phase, as
    Once-for-All's progressive shrinking restarts its cosine schedule per phase).

    Example:
        >>> from nnabla_nas.optimizer import CosineScheduler, Restarts
        >>> sched = Restarts((0, 10), (CosineScheduler(0.1, 10), CosineScheduler(0.01, 5)))
        >>> round(sched(5), 4), sched(10), round(sched(14), 6)
        (0.05, 0.01, 0.000955)
    """

    starts: tuple[int, ...]
    schedules: tuple[Scheduler, ...]

    def __post_init__(self) -> None:
        if not self.starts or len(self.starts) != len(self.schedules):
            raise ValueError(
                f"Restarts needs one start per schedule, got {len(self.starts)} starts and "
                f"{len(self.schedules)} schedules"
            )
        if self.starts[0] != 0 or any(b <= a for a, b in itertools.pairwise(self.starts)):
            raise ValueError(f"starts must begin at 0 and increase, got {list(self.starts)}")

    def value(self, iteration: int) -> float:
        k = bisect.bisect_right(self.starts, iteration) - 1
        return self.schedules[k](iteration - self.starts[k])


SCHEDULERS: dict[str, type[Scheduler]] = {
    "constant": ConstantScheduler,
    "cosine": CosineScheduler,
    "step": StepScheduler,
}
