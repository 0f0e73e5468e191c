"""`OptunaStrategy`: any Optuna sampler behind the ask/tell `Strategy` interface.

How trials reach the in-memory study:

- complete and feasible: ``COMPLETE`` with the objective values, in objective order;
- failed: ``FAIL`` (samplers ignore it, the study continues);
- infeasible, or complete but violating a constraint: ``PRUNED`` with Optuna constraint
  values (``metric - max_value``, and ``infeasible = 1.0`` when no measured metric explains
  it). Constraint-aware samplers (TPE, NSGA-II, GP) then rank it below every feasible trial,
  so TPE learns to stay away from it; as ``PRUNED`` it never becomes an NSGA-II parent and
  needs no objective values, which an infeasible trial may lack;
- a proposal the prefilter rejects: ``PRUNED`` at once with the constraint ``prefilter = 1.0``,
  then the sampler is asked again. Told as ``FAIL``, rejections would be invisible to TPE,
  which then keeps proposing the same infeasible region until the retries run out.

Resuming (`Strategy.replay`): a told trial that this process did not ask enters the study as
an enqueued trial with fixed parameters, so the sampler's hooks run as in the original run (a
genetic sampler records its generation); proposals still pending are then told FAIL. With
the default samplers, or a sampler factory, every attempt of every ask gets a fresh sampler
seeded from the ask's generator, so after `replay` (which asks before each told trial and so
repeats the prefilter rejections too) the strategy proposes exactly what an uninterrupted
sequential one would. A sampler instance keeps one advancing random stream that a replay
cannot restore: the resumed search accounts for every logged trial but may propose
differently.

Optuna is the ``multitrial`` extra: it is imported when a strategy is made, so the rest of
the package (random search and evolution too) works without it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ...utils.extras import require
from ...utils.fields import choice
from .space import Arch, ChoiceSpace
from .strategy import (
    DEFAULT_MAX_RETRIES,
    Constraint,
    Objective,
    Prefilter,
    Strategy,
    StrategyParts,
    Trial,
)

if TYPE_CHECKING:
    import optuna

SamplerFactory = Callable[[int], Any]
SAMPLERS = ("tpe", "nsga2", "random")


def _optuna() -> ModuleType:
    optuna = require("optuna", "the optuna strategy")
    require("optuna.samplers", "the optuna strategy")
    return optuna


@dataclass(frozen=True)
class OptunaSettings:
    """The ``optuna:`` section of a search config."""

    sampler: str = choice("tpe", SAMPLERS)  # nsga2 optimises accuracy and latency together


def named_sampler(name: str) -> SamplerFactory:
    """A factory of the named Optuna sampler from a seed: the strategy seeds a fresh
    sampler per proposal, which makes a resumed search propose what the killed one would."""
    samplers = _optuna().samplers
    factories: dict[str, SamplerFactory] = {
        "tpe": lambda seed: samplers.TPESampler(seed=seed),
        "nsga2": lambda seed: samplers.NSGAIISampler(seed=seed),
        "random": lambda seed: samplers.RandomSampler(seed=seed),
    }
    if name not in factories:
        raise ValueError(f"unknown Optuna sampler {name!r}; use one of {', '.join(SAMPLERS)}")
    return factories[name]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silences Optuna's per-trial INFO lines, restoring the caller's verbosity after."""
    logs = _optuna().logging
    previous = logs.get_verbosity()
    logs.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        logs.set_verbosity(previous)


def _direction(objective: Objective) -> Any:
    directions = _optuna().study.StudyDirection
    return directions.MAXIMIZE if objective.maximize else directions.MINIMIZE


def default_sampler(n_objectives: int) -> SamplerFactory:
    """TPE for one objective, NSGA-II for several, as a factory of seeded samplers."""
    return named_sampler("tpe" if n_objectives == 1 else "nsga2")


class OptunaStrategy(Strategy):
    """Proposes architectures with an Optuna sampler; one categorical parameter per decision.

    Args:
        sampler: an Optuna sampler, or a factory ``seed -> sampler`` (exact replay, see the
            module docstring); default TPE for one objective, NSGA-II for several.

    The other arguments are those of `Strategy`. The study is `self.study`, for Optuna's
    own analysis and plots. Without the ``multitrial`` extra, creating one raises an
    ImportError naming it.

    Example:
        >>> import optuna
        >>> from nnabla_nas.runner.multitrial import ChoiceSpace, Objective, OptunaStrategy
        >>> space = ChoiceSpace([['a', 'b', 'c']] * 2)
        >>> search = OptunaStrategy(
        ...     space, [Objective('acc')], sampler=lambda s: optuna.samplers.RandomSampler(s)
        ... )
        >>> search.space.validate(search.ask())[0] in 'abc'
        True
    """

    def __init__(
        self,
        space: ChoiceSpace,
        objectives: Sequence[Objective],
        *,
        constraints: Sequence[Constraint] = (),
        seed: int = 0,
        prefilter: Prefilter | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sampler: Any = None,
    ):
        lib = _optuna()
        super().__init__(
            space,
            objectives,
            constraints=constraints,
            seed=seed,
            prefilter=prefilter,
            max_retries=max_retries,
        )
        if sampler is None:
            sampler = default_sampler(len(self.objectives))
        instance = isinstance(sampler, lib.samplers.BaseSampler)
        self._factory = None if instance else sampler
        initial = sampler if instance else sampler(seed)
        with _quiet():
            self.study = lib.create_study(
                directions=[_direction(o) for o in self.objectives], sampler=initial
            )
        self._distributions = {
            name: lib.distributions.CategoricalDistribution(choices)
            for name, choices in zip(space.names, space.choices, strict=True)
        }
        self._pending: dict[Arch, list[optuna.trial.Trial]] = {}
        self._states = lib.trial.TrialState

    Settings = OptunaSettings

    @classmethod
    def create(cls, parts: StrategyParts, settings: Any) -> OptunaStrategy:
        return cls(**parts.arguments(), sampler=named_sampler(settings.sampler))

    def propose(self, rng: np.random.Generator) -> Arch:
        """The sampler's next architecture passing the prefilter (rejections told infeasible)."""
        for _ in range(self.max_retries):
            if self._factory is not None:
                self.study.sampler = self._factory(int(rng.integers(2**31 - 1)))
            with _quiet():
                trial = self.study.ask()
                arch = self._suggest(trial)
                if self.passes(arch):
                    self._pending.setdefault(arch, []).append(trial)
                    return arch
                trial.set_constraint("prefilter", 1.0)
                self.study.tell(trial, state=self._states.PRUNED)
        raise self.unsatisfiable()

    def _suggest(self, trial: optuna.trial.Trial) -> Arch:
        return tuple(
            str(trial.suggest_categorical(name, dist.choices))
            for name, dist in self._distributions.items()
        )

    def tell(self, trial: Trial) -> None:
        """Records `trial` and tells the study (see the module docstring for the mapping)."""
        super().tell(trial)
        with _quiet():
            optuna_trial = self._take_pending(trial.arch) or self._replayed(trial.arch)
            if trial.state == "failed":
                self.study.tell(optuna_trial, state=self._states.FAIL)
            elif self.feasible(trial):
                self._set_constraints(optuna_trial, trial)
                values = [trial.values[o.name] for o in self.objectives]
                self.study.tell(optuna_trial, values)
            else:
                self._set_constraints(optuna_trial, trial, infeasible=True)
                self.study.tell(optuna_trial, state=self._states.PRUNED)

    def _take_pending(self, arch: Arch) -> optuna.trial.Trial | None:
        """The oldest trial this process asked for `arch` and has not told yet."""
        waiting = self._pending.get(arch)
        if not waiting:
            return None
        trial = waiting.pop(0)
        if not waiting:
            del self._pending[arch]
        return trial

    def _replayed(self, arch: Arch) -> optuna.trial.Trial:
        """A study trial for `arch`, asked elsewhere (e.g. before a restart).

        Proposals still pending are abandoned (told FAIL): a driver that asks while replaying
        discards them. A result that arrives for one later is replayed like any other.
        """
        for waiting in self._pending.values():
            for abandoned in waiting:
                self.study.tell(abandoned, state=self._states.FAIL)
        self._pending.clear()
        self.study.enqueue_trial(self.space.to_dict(arch))
        trial = self.study.ask()
        self._suggest(trial)
        sampler = self.study.sampler
        if isinstance(sampler, _optuna().samplers.BaseGASampler):
            trials = self.study.get_trials(deepcopy=False)
            frozen = next(t for t in reversed(trials) if t.number == trial.number)
            sampler.get_trial_generation(self.study, frozen)
        return trial

    def _set_constraints(
        self, optuna_trial: optuna.trial.Trial, trial: Trial, *, infeasible: bool = False
    ) -> None:
        """Optuna constraint values (feasible when <= 0) of the measured constrained metrics."""
        violations = {
            c.name: c.violation(trial.values)
            for c in self.constraints
            if c.name in trial.values and np.isfinite(trial.values[c.name])
        }
        if infeasible and not any(v > 0 for v in violations.values()):
            violations["infeasible"] = 1.0
        for name, value in violations.items():
            optuna_trial.set_constraint(name, value)
