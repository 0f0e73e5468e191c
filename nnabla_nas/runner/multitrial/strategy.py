"""Multi-trial strategies: propose architectures (`ask`), receive finished trials (`tell`).

A strategy only decides what to evaluate next. Evaluators (a table lookup, a training run)
and cost models are separate; the driver asks, evaluates, and tells a `Trial` back.

Resuming is by `replay`: a fresh strategy with the same seed, asked and told the logged trials
in order, proposes what the killed one would have. Each ask draws from its own generator,
``np.random.default_rng([seed, k])`` for the ``k``-th ask, so no RNG state needs saving. A
told trial's `number` (the index of the ask that proposed it) also advances ``k``, so telling
without asking keeps random search and evolution exact as well.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...utils.fields import NoSettings
from .pareto import hypervolume, pareto_front
from .space import Arch, ChoiceSpace

Prefilter = Callable[[Arch], bool]
#: Architectures to a numeric code, one row each (`ChoiceSpace.one_hot`, a space's own).
Encoder = Callable[[Sequence[Arch]], np.ndarray]

TRIAL_STATES: tuple[str, ...] = ("complete", "failed", "infeasible")
DEFAULT_MAX_RETRIES = 1000


@dataclass
class Trial:
    """One evaluated architecture.

    Args:
        number: the index of the ask that proposed `arch` (0, 1, ...).
        arch: one choice per decision of the space.
        state: ``'complete'`` (values hold every objective), ``'failed'`` (the evaluation
            raised; `error` says why) or ``'infeasible'`` (a constraint is violated).
        values: metrics by name, e.g. ``{'accuracy': 93.1, 'latency': 12.0}``.
        error: why a failed trial failed.
    """

    number: int
    arch: Arch
    state: str
    values: dict[str, float] = field(default_factory=dict)
    error: str = ""

    def __post_init__(self) -> None:
        self.arch = tuple(self.arch)
        if self.state not in TRIAL_STATES:
            raise ValueError(f"trial state must be one of {TRIAL_STATES}, got {self.state!r}")
        if self.number < 0:
            raise ValueError(f"trial numbers start at 0, got {self.number}")


@dataclass(frozen=True)
class Objective:
    """A metric to optimize, in a direction."""

    name: str
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(
                f"objective {self.name!r}: direction must be 'maximize' or 'minimize', "
                f"got {self.direction!r}"
            )

    @property
    def maximize(self) -> bool:
        """Whether larger values are better."""
        return self.direction == "maximize"

    def score(self, values: Mapping[str, float]) -> float:
        """The objective's value signed so that larger is better."""
        value = values[self.name]
        return value if self.maximize else -value


@dataclass(frozen=True)
class Constraint:
    """An upper bound on a metric, e.g. ``Constraint('latency', 20.0)`` for <= 20 ms."""

    name: str
    max_value: float

    def satisfied(self, values: Mapping[str, float]) -> bool:
        """Whether `values` holds this metric and it is within the bound (NaN is not)."""
        return self.name in values and values[self.name] <= self.max_value

    def violation(self, values: Mapping[str, float]) -> float:
        """How far the metric exceeds the bound (<= 0 when satisfied)."""
        return values[self.name] - self.max_value


@dataclass(frozen=True)
class StrategyParts:
    """What every strategy is built from, besides its own settings."""

    space: ChoiceSpace
    objectives: Sequence[Objective]
    constraints: Sequence[Constraint] = ()
    seed: int = 0
    prefilter: Prefilter | None = None
    budget: int = 100  # the trials the search will run
    encode: Encoder | None = None  # the space's code for predictors (`Space.choice_encoding`)

    def arguments(self) -> dict[str, Any]:
        """The arguments of `Strategy.__init__`."""
        return {
            "space": self.space, "objectives": self.objectives, "constraints": self.constraints,
            "seed": self.seed, "prefilter": self.prefilter,
        }  # fmt: skip


class Strategy(ABC):
    """Proposes architectures of `space` and learns from the trials it is told.

    Subclasses implement `propose`; callers use `ask` and `tell`. A strategy class is
    registered under a name (`nnabla_nas.runner.multitrial.STRATEGIES`) with its
    `Settings` (its config section), and `create` builds it for a search.

    Args:
        space: the decisions to search.
        objectives: what to optimize; the first one ranks `best` (and selection in
            single-objective strategies).
        constraints: bounds a trial must meet to count for `best` and `front`.
        seed: with the ask index, seeds each proposal (non-negative).
        prefilter: a cheap test of whether an architecture can be feasible (e.g. its table
            latency is under budget); `ask` only returns architectures passing it.
        max_retries: how many candidates one ask may draw before giving up.

    Example:
        >>> from nnabla_nas.runner.multitrial import ChoiceSpace, Objective, RandomSearch, Trial
        >>> space = ChoiceSpace([['a', 'b']] * 3)
        >>> search = RandomSearch(space, [Objective('score')], seed=0)
        >>> for number in range(5):
        ...     arch = search.ask()
        ...     search.tell(Trial(number, arch, 'complete', {'score': arch.count('b')}))
        >>> len(search.trials), search.best().values['score'] >= 2
        (5, True)
    """

    #: The dataclass of this strategy's own options (its config section).
    Settings: ClassVar[type] = NoSettings

    @classmethod
    def create(cls, parts: StrategyParts, settings: Any) -> Strategy:
        """The strategy of a search, from the common parts and its own `settings`."""
        return cls(**parts.arguments())

    def __init__(
        self,
        space: ChoiceSpace,
        objectives: Sequence[Objective],
        *,
        constraints: Sequence[Constraint] = (),
        seed: int = 0,
        prefilter: Prefilter | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ):
        names = [o.name for o in objectives]
        if not names:
            raise ValueError("a strategy needs at least one objective")
        if len(set(names)) != len(names):
            raise ValueError(f"objective names must be unique, got {names}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if max_retries < 1:
            raise ValueError(f"max_retries must be at least 1, got {max_retries}")
        self.space = space
        self.objectives = tuple(objectives)
        self.constraints = tuple(constraints)
        self.seed = seed
        self.prefilter = prefilter
        self.max_retries = max_retries
        self.trials: list[Trial] = []
        self.n_asked = 0
        # Proposals not told yet, by ask number: several are in flight on parallel workers.
        self.pending: dict[int, Arch] = {}

    def ask(self) -> Arch:
        """Proposes the next architecture to evaluate."""
        rng = np.random.default_rng([self.seed, self.n_asked])
        arch = self.space.validate(self.propose(rng))
        self.pending[self.n_asked] = arch
        self.n_asked += 1
        return arch

    @abstractmethod
    def propose(self, rng: np.random.Generator) -> Arch:
        """The next architecture, drawing randomness only from `rng` (override this)."""

    def tell(self, trial: Trial) -> None:
        """Receives a finished trial of any state; subclasses extend this and call it."""
        self.space.validate(trial.arch)
        if trial.state == "complete":
            self._check_values(trial)
        self.trials.append(trial)
        self.pending.pop(trial.number, None)
        self.n_asked = max(self.n_asked, trial.number + 1)

    def replay(self, trials: Iterable[Trial]) -> None:
        """Brings a fresh strategy to where a killed one stood after the logged `trials`.

        Asks once before telling each trial, in log order, as a sequential search did; the
        proposals are discarded (the logged architectures are told).
        """
        for trial in trials:
            self.ask()
            self.tell(trial)

    def _check_values(self, trial: Trial) -> None:
        for objective in self.objectives:
            value = trial.values.get(objective.name)
            if value is None or not math.isfinite(value):
                raise ValueError(
                    f"complete trial {trial.number} needs a finite {objective.name!r}, got "
                    f"{value!r}; tell a trial without a usable result as 'failed'"
                )

    def feasible(self, trial: Trial) -> bool:
        """Whether `trial` is complete and satisfies every constraint."""
        return trial.state == "complete" and all(
            c.satisfied(trial.values) for c in self.constraints
        )

    def best(self) -> Trial | None:
        """The feasible trial best on the first objective (the earliest among ties)."""
        candidates = [t for t in self.trials if self.feasible(t)]
        if not candidates:
            return None
        return max(candidates, key=lambda t: self.objectives[0].score(t.values))

    def front(self) -> list[Trial]:
        """The Pareto front of feasible trials over all objectives, best first objective first.

        Trials with equal values are all kept.
        """
        candidates = [t for t in self.trials if self.feasible(t)]
        if not candidates:
            return []
        keep = pareto_front(self._matrix(candidates), self._maximize())
        front = [candidates[i] for i in keep]
        return sorted(front, key=lambda t: -self.objectives[0].score(t.values))

    def hypervolume(self, reference: Sequence[float]) -> float:
        """The hypervolume of `front` relative to `reference` (one value per objective)."""
        front = self.front()
        if not front:
            return 0.0
        return hypervolume(self._matrix(front), reference, self._maximize())

    def _matrix(self, trials: Sequence[Trial]) -> np.ndarray:
        return np.array([[t.values[o.name] for o in self.objectives] for t in trials], float)

    def _maximize(self) -> list[bool]:
        return [o.maximize for o in self.objectives]

    def taken(self) -> set[Arch]:
        """The architectures told, and those proposed and still being evaluated."""
        return {t.arch for t in self.trials} | set(self.pending.values())

    def passes(self, arch: Arch) -> bool:
        """Whether `arch` passes the prefilter (always, without one)."""
        return self.prefilter is None or bool(self.prefilter(arch))

    def draw(self, candidate: Callable[[], Arch], *, avoid: Container[Arch] = ()) -> Arch:
        """Calls `candidate` until it returns an architecture passing the prefilter and not
        in `avoid` (at most `max_retries` times); falls back to the first one that passed."""
        fallback = None
        for _ in range(self.max_retries):
            arch = candidate()
            if not self.passes(arch):
                continue
            if arch not in avoid:
                return arch
            fallback = fallback or arch
        if fallback is None:
            raise self.unsatisfiable()
        return fallback

    def unsatisfiable(self) -> RuntimeError:
        """The error of an ask that found no candidate passing the prefilter."""
        return RuntimeError(
            f"{type(self).__name__}: no candidate out of {self.max_retries} passed the "
            f"prefilter; the constraint may be unsatisfiable in this space"
        )


class RandomSearch(Strategy):
    """Uniform samples of the space, avoiding architectures already told or in flight.

    When `max_retries` draws find nothing new (a nearly exhausted space), a repeat is proposed.
    """

    def propose(self, rng: np.random.Generator) -> Arch:
        """A uniform sample passing the prefilter, new if one is found."""
        return self.draw(lambda: self.space.sample(rng), avoid=self.taken())
